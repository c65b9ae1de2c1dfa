//! The HTTP/1.1 server side of every listener: request heads parsed with `httparse`, request
//! bodies read and responses written in the connection's own task.
//!
//! Why not hyper's server (ADR 0006): counted with callgrind on the plain-proxy bench route,
//! hyper's HTTP/1 connection took about 12,000 of the gateway's 33,000 instructions per
//! request outside the proxy itself: a dispatcher between the connection and the service, a
//! timer armed and cancelled per request for the header-read timeout, the head parsed into a
//! map that was sized for it alone, and a second pass to encode the response head. This
//! server does the same work with a header map sized once for what the gateway adds, one
//! timer per connection that is moved only when it would fire too late, and the head and a
//! small body written in one `write`.
//!
//! What it keeps from the protocol (RFC 9112):
//! - keep-alive by version and `Connection`, pipelined requests answered in order;
//! - request bodies by `Content-Length` or a final `chunked`, decoded with the upstream
//!   client's strict decoder; a request with any other framing is never read past its head,
//!   and its connection is closed after the answer (the `validate` stage refuses it);
//! - `Expect: 100-continue` answered when the body is first read, not before;
//! - responses framed by the body's exact length, else chunked (HTTP/1.1) or to the end of
//!   the connection (HTTP/1.0); trailers only to a client that sent `TE: trailers`;
//! - WebSocket upgrades: after a 101 the connection, with any bytes already read, is handed to
//!   the proxy through [`OnUpgrade`];
//! - the HTTP/2 preface on a fresh connection hands it to hyper's HTTP/2 server (h2c with
//!   prior knowledge).
//!
//! Limits, all kept with one [`crate::timer::LazyTimer`] per connection: the head may take
//! `header_read_timeout` from its first byte (from the accept for the first request), a
//! kept-alive connection may wait `idle_timeout` for the next head, a write may make no
//! progress for `idle_timeout`, the head is at most `max_header_bytes` and `max_headers` fields
//! (431 otherwise, as problem+json), and a request body that is being read fails when the
//! client sends nothing for `idle_timeout`. A body the handler left unread is drained after the
//! answer up to 64 KiB to keep the connection; past that it is closed. A client that closes its
//! connection while its request is handled (without a body in flight) abandons the request.
//!
//! Not supported, as in nginx by default: a response that starts while the request body is
//! still being sent. When the answer is ready, a body still being read fails, so an upstream
//! that answered early sees it break off rather than end.

use std::future::poll_fn;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime};

use bytes::{Buf, Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri, Version};
use http_body::{Body as _, Frame, SizeHint};
use http_body_util::BodyExt;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use super::wire::Violation;
use super::{ConnInfo, Limits, ListenerRuntime};
use crate::body::{Body, BoxError};
use crate::policy::headers::has_token;
use crate::policy::validate::content_length;
use crate::reply::{Problem, problem};
use crate::server::Shared;
use crate::timer::{LazyTimer as Timer, deadline};
use crate::upstream::h1::{Decoder, Framing, Step, TRUNCATED, push_field};
use crate::upstream::state::lock;

/// Anything a connection runs on (TCP, TLS, either behind the wire check).
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

/// Most header fields the parser has room for (its slots live on the stack, uninitialised);
/// the config refuses a higher `max_headers`.
pub const MAX_HEADER_SLOTS: usize = 1000;
/// The HTTP/2 connection preface.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const READ_CHUNK: usize = 8 * 1024;
/// Body bytes copied behind the head into one write; larger frames are written on their own.
const INLINE_BODY: usize = 16 * 1024;
/// Unread request body drained after the answer to keep the connection.
const DRAIN_CAP: usize = 64 * 1024;
/// How long a closing connection keeps reading what the client still sends, so the answer is
/// not lost to a reset.
const LINGER: Duration = Duration::from_secs(1);
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// One connection's socket and what was read from it but not yet used.
struct Conn<I> {
    io: I,
    buf: BytesMut,
}

/// Serves HTTP/1.1 on `io` until the client or a limit ends the connection, or hands it to
/// the HTTP/2 server when it opens with the HTTP/2 preface.
pub(super) async fn serve<I: Io>(
    io: I,
    info: Arc<ConnInfo>,
    lr: Arc<ListenerRuntime>,
    shared: Arc<Shared>,
) {
    let accepted = Instant::now();
    let limits = lr.limits.clone();
    let mut conn = Conn {
        io,
        buf: BytesMut::with_capacity(READ_CHUNK),
    };
    let mut timer = Timer::new(deadline(accepted, limits.header_read_timeout));
    let mut shutdown = shared.shutdown.subscribe();
    let mut out = Vec::with_capacity(1024);
    let mut first = true;
    let mut idle_since = accepted;
    // Strict framing (the listener's `strict_http`): verdicts go here, per request.
    let wire = info.wire.clone();
    let mut heads = HeadReader {
        spans: Vec::new(),
        strict: wire.is_some(),
    };
    loop {
        let next = next_head(
            &mut conn,
            &mut timer,
            &mut shutdown,
            &limits,
            first,
            idle_since,
            &mut heads,
        )
        .await;
        let head = match next {
            Next::Request(h) => h,
            Next::End => return,
            Next::H2 => {
                let io = Prefixed {
                    io: conn.io,
                    pre: conn.buf.freeze(),
                };
                super::serve_h2(io, info, lr, shared).await;
                return;
            }
            Next::Refuse(r) => {
                refuse(&mut conn, &mut timer, &mut out, &shared, &info, &limits, r).await;
                return;
            }
        };
        first = false;
        let Head {
            mut request,
            framing,
            violation,
            keep_alive,
            expect_continue,
            te_trailers,
            upgrade,
        } = head;
        let meta = Meta {
            head_request: request.method() == Method::HEAD,
            version: request.version(),
            te_trailers,
        };
        // The index the proxy finds this request's verdict under.
        let index = wire.as_ref().map(|w| {
            let index = w.next_request();
            if let Some(v) = violation {
                w.record(index, v);
            }
            index
        });
        let mut keep = keep_alive && framing.is_some() && request.method() != Method::CONNECT;
        let upgrade_tx = upgrade.then(|| {
            let (tx, rx) = oneshot::channel();
            request
                .extensions_mut()
                .insert(OnUpgrade(Arc::new(Mutex::new(Some(rx)))));
            tx
        });
        // A body is lent the connection while the request is handled.
        let (lent, kept) = match framing {
            Some(f @ (Framing::Length(1..) | Framing::Chunked)) => {
                let lent = Arc::new(Mutex::new(Lent {
                    conn: Some(conn),
                    dec: Decoder::new(f),
                    cont: if expect_continue { 0 } else { CONTINUE.len() },
                    cont_flushed: !expect_continue,
                    failed: false,
                    stall: None,
                    stall_at: accepted,
                    stall_limit: limits.idle_timeout,
                    progressed: false,
                    wire: wire.clone().zip(index),
                }));
                (Some(lent), None)
            }
            _ => (None, Some(conn)),
        };
        let request = request.map(|()| match &lent {
            Some(l) => ConnBody { lent: l.clone() }.boxed(),
            None => crate::body::empty(),
        });
        let mut kept = kept;
        // `ConnInfo::in_flight` and `last_active` serve the HTTP/2 idle check only.
        let resp = {
            // Pinned here, so the (large) future is not moved again.
            let mut handler = std::pin::pin!(crate::proxy::handle(request, &info, &shared));
            match kept.as_mut() {
                Some(c) => match watch_client(c, handler.as_mut(), limits.max_header_bytes).await {
                    Some(r) => r,
                    // The client went away: the request is abandoned, as hyper did.
                    None => return,
                },
                None => handler.await,
            }
        };
        let mut unread = None;
        conn = match (kept, lent) {
            (Some(c), _) => c,
            (None, None) => return,
            (None, Some(l)) => {
                let mut g = lock(&l);
                let Some(c) = g.conn.take() else { return };
                if g.cont > 0 && g.cont < CONTINUE.len() {
                    // Half of `100 Continue` is on the wire: nothing can follow it.
                    return;
                }
                if !g.dec.done() {
                    // A failed body, or one the client was never told to send, is not
                    // drained: the connection closes. Whoever still reads the body gets an
                    // error from now on, never a clean end (an upstream that answered before
                    // reading all of it sees the request body break off).
                    if g.failed || g.cont < CONTINUE.len() {
                        keep = false;
                    }
                    g.failed = true;
                    unread = Some(std::mem::replace(&mut g.dec, Decoder::new(Framing::None)));
                }
                c
            }
        };
        if *shutdown.borrow() {
            keep = false;
        }
        let switching = resp.status() == StatusCode::SWITCHING_PROTOCOLS;
        let written = write_response(
            &mut conn,
            &mut timer,
            &mut out,
            resp,
            &meta,
            keep && !switching,
            limits.idle_timeout,
        )
        .await;
        match written {
            Err(()) => return,
            Ok(_) if switching => {
                // The client's side of the upgrade goes to the proxy, with what was read.
                if let Some(tx) = upgrade_tx {
                    let _ = tx.send(Prefixed {
                        io: Box::new(conn.io) as Box<dyn ErasedIo>,
                        pre: conn.buf.freeze(),
                    });
                }
                return;
            }
            Ok(k) => keep = k,
        }
        if keep && let Some(dec) = unread {
            keep = drain(&mut conn, dec, &mut timer, limits.header_read_timeout).await;
        }
        if !keep {
            // The client may still be sending (an unread body, pipelined requests): its bytes
            // are read and dropped for a moment, so the answer is not lost to a reset.
            close(&mut conn, &mut timer).await;
            return;
        }
        idle_since = Instant::now();
    }
}

/// Runs `handler` while watching the client's connection: if the client closes it (or it
/// fails) before the answer, the handler is dropped and `None` returned. Bytes that arrive
/// meanwhile (pipelined requests) are kept, up to about `cap`, after which the connection is
/// no longer read until the answer is out.
async fn watch_client<I: Io, F>(
    conn: &mut Conn<I>,
    mut handler: Pin<&mut F>,
    cap: usize,
) -> Option<F::Output>
where
    F: std::future::Future,
{
    let mut watching = true;
    loop {
        if watching {
            conn.buf.reserve(1024);
        }
        tokio::select! {
            biased;
            r = handler.as_mut() => return Some(r),
            r = poll_fn(|cx| tokio_util::io::poll_read_buf(Pin::new(&mut conn.io), cx, &mut conn.buf)), if watching => {
                match r {
                    Ok(0) | Err(_) => return None,
                    Ok(_) => watching = conn.buf.len() < cap.max(READ_CHUNK),
                }
            }
        }
    }
}

/// What the head reader found. Returned by value once per request; boxing the head would
/// cost an allocation each time.
#[allow(clippy::large_enum_variant)]
enum Next {
    Request(Head),
    /// Closed, timed out, or shutting down while idle.
    End,
    /// The HTTP/2 preface.
    H2,
    /// A head that cannot be served: answered and closed.
    Refuse(Refusal),
}

/// A parsed request head and what the connection needs to know about it.
struct Head {
    request: Request<()>,
    /// `None`: the framing is invalid, so no byte after the head can be trusted.
    framing: Option<Framing>,
    /// What strict framing refuses in this head (only when the listener checks it).
    violation: Option<Violation>,
    keep_alive: bool,
    expect_continue: bool,
    te_trailers: bool,
    upgrade: bool,
}

/// What the response writer needs from the request.
struct Meta {
    head_request: bool,
    version: Version,
    te_trailers: bool,
}

/// Reads until a complete head is buffered.
async fn next_head<I: Io>(
    conn: &mut Conn<I>,
    timer: &mut Timer,
    shutdown: &mut watch::Receiver<bool>,
    limits: &Limits,
    first: bool,
    idle_since: Instant,
    heads: &mut HeadReader,
) -> Next {
    // The first head counts from the accept (slowloris); later ones from their first byte.
    let mut started = first.then_some(idle_since);
    loop {
        if !conn.buf.is_empty() {
            if first && PREFACE.starts_with(&conn.buf[..conn.buf.len().min(PREFACE.len())]) {
                if conn.buf.len() >= PREFACE.len() {
                    return Next::H2;
                }
            } else {
                match parse_head(&mut conn.buf, limits, &mut heads.spans, heads.strict) {
                    Ok(Some(h)) => return Next::Request(h),
                    Ok(None) => {}
                    Err(r) => return Next::Refuse(r),
                }
            }
            if started.is_none() {
                started = Some(Instant::now());
            }
        }
        let idle = started.is_none();
        let deadline = match started {
            Some(t) => deadline(t, limits.header_read_timeout),
            None => deadline(idle_since, limits.idle_timeout),
        };
        if idle && *shutdown.borrow() {
            return Next::End;
        }
        conn.buf.reserve(READ_CHUNK);
        let read = tokio::select! {
            biased;
            r = poll_fn(|cx| tokio_util::io::poll_read_buf(Pin::new(&mut conn.io), cx, &mut conn.buf)) => r,
            () = timer.until(deadline) => return Next::End,
            _ = shutdown.changed(), if idle => return Next::End,
        };
        match read {
            Ok(0) | Err(_) => return Next::End,
            Ok(_) => {}
        }
    }
}

/// A head answered without running any stage: the problem, its `detail`, and the rule's
/// outcome (`validate:<outcome>` in the access log and the security event).
type Refusal = (Problem, &'static str, &'static str);

/// The refusal of a head that breaks strict framing in a way httparse itself refuses.
fn refusal(v: Violation) -> Refusal {
    (Problem::BadRequest, v.detail(), v.outcome())
}

/// Offsets of one field's name and value in the head.
type Span = (usize, usize, usize, usize);

/// What the head parser keeps between the requests of a connection.
struct HeadReader {
    /// Room for the field offsets, reused.
    spans: Vec<Span>,
    /// Whether strict framing is checked (the listener's `strict_http`).
    strict: bool,
}

/// Parses a request head at the start of `buf`, removing it from `buf` when complete.
fn parse_head(
    buf: &mut BytesMut,
    limits: &Limits,
    spans: &mut Vec<Span>,
    strict: bool,
) -> Result<Option<Head>, Refusal> {
    const BAD: Problem = Problem::BadRequest;
    // Left uninitialised: filling the slots on every parse would cost more than the parse.
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADER_SLOTS];
    let slots = &mut slots[..limits.max_headers.clamp(1, MAX_HEADER_SLOTS)];
    let mut req = httparse::Request::new(&mut []);
    let parsed =
        httparse::ParserConfig::default().parse_request_with_uninit_headers(&mut req, buf, slots);
    let len = match parsed {
        Ok(httparse::Status::Complete(n)) if n > limits.max_header_bytes => {
            return Err((
                Problem::HeadersTooLarge,
                "request head too large",
                "head_too_large",
            ));
        }
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() > limits.max_header_bytes => {
            return Err((
                Problem::HeadersTooLarge,
                "request head too large",
                "head_too_large",
            ));
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err((
                Problem::HeadersTooLarge,
                "too many header fields",
                "too_many_headers",
            ));
        }
        Err(httparse::Error::HeaderName) => return Err(refusal(Violation::FieldName)),
        Err(httparse::Error::HeaderValue) => {
            return Err(refusal(Violation::FieldValue));
        }
        Err(httparse::Error::Version) => {
            return Err((BAD, "unsupported HTTP version", "request_line"));
        }
        Err(httparse::Error::NewLine) => return Err((BAD, "malformed line ending", "line_ending")),
        Err(_) => return Err(refusal(Violation::RequestLine)),
    };
    let (Some(method), Some(path)) = (req.method, req.path) else {
        return Err(refusal(Violation::RequestLine));
    };
    let method = Method::from_bytes(method.as_bytes())
        .map_err(|_| (BAD, "invalid method", "request_line"))?;
    let version = if req.version == Some(0) {
        Version::HTTP_10
    } else {
        Version::HTTP_11
    };
    // Offsets, so the target and the values can share the frozen head.
    let base = buf.as_ptr() as usize;
    let target = (path.as_ptr() as usize - base, path.len());
    spans.clear();
    spans.extend(req.headers.iter().map(|h| {
        (
            h.name.as_ptr() as usize - base,
            h.name.len(),
            h.value.as_ptr() as usize - base,
            h.value.len(),
        )
    }));
    let head = buf.split_to(len).freeze();
    // What httparse lets through and strict framing does not (the framing fields follow).
    let mut violation = if !strict {
        None
    } else if !head[target.0..target.0 + target.1].is_ascii() {
        // httparse and `Uri` take bytes over 0x7f in the target; RFC 9112 does not.
        Some(Violation::RequestLine)
    } else {
        super::wire::line_endings(&head)
    };
    let uri = Uri::from_maybe_shared(head.slice(target.0..target.0 + target.1))
        .map_err(|_| (BAD, "invalid request target", "request_line"))?;
    // Room for what the proxy adds (forwarding headers, request id), so the map never grows.
    let mut headers = HeaderMap::with_capacity(spans.len() + 8);
    let mut lengths = 0usize;
    let mut length: Option<u64> = None;
    let mut codings = 0usize;
    let mut chunked = false;
    let mut close = false;
    let mut keep_alive_token = false;
    let mut upgrade_token = false;
    let mut expect_continue = false;
    let mut te_trailers = false;
    for &(no, nl, vo, vl) in spans.iter() {
        let name =
            crate::names::parse(&head[no..no + nl]).map_err(|_| refusal(Violation::FieldName))?;
        let raw = &head[vo..vo + vl];
        if name == header::CONTENT_LENGTH {
            lengths += 1;
            length = content_length(raw);
            if lengths > 1 || length.is_none() {
                violation = violation.or(Some(Violation::ContentLength));
            }
        } else if name == header::TRANSFER_ENCODING {
            codings += 1;
            chunked = raw.trim_ascii().eq_ignore_ascii_case(b"chunked");
            if codings > 1 || !chunked {
                violation = violation.or(Some(Violation::TransferEncoding));
            }
        } else if name == header::CONNECTION {
            for token in raw.split(|b| *b == b',').map(<[u8]>::trim_ascii) {
                if token.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    keep_alive_token = true;
                } else if token.eq_ignore_ascii_case(b"upgrade") {
                    upgrade_token = true;
                }
            }
        } else if name == header::EXPECT {
            expect_continue = raw.trim_ascii().eq_ignore_ascii_case(b"100-continue");
        } else if name == header::TE {
            te_trailers |= has_token(raw, b"trailers");
        }
        let value = HeaderValue::from_maybe_shared(head.slice(vo..vo + vl))
            .map_err(|_| refusal(Violation::FieldValue))?;
        headers.append(name, value);
    }
    let http11 = version == Version::HTTP_11;
    let framing = match (codings, lengths) {
        (0, 0) => Some(Framing::None),
        (0, 1) => length.map(Framing::Length),
        (1, 0) if chunked && http11 => Some(Framing::Chunked),
        (1, 0) if chunked => {
            violation = violation.or(Some(Violation::TeInHttp10));
            None
        }
        (1.., 1..) => {
            violation = violation.or(Some(Violation::TeAndCl));
            None
        }
        _ => None,
    };
    // A request with a body is not upgraded: what followed the body would be tunnel bytes.
    let upgrade = http11
        && upgrade_token
        && headers.contains_key(header::UPGRADE)
        && matches!(framing, Some(Framing::None | Framing::Length(0)));
    let mut request = Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = version;
    *request.headers_mut() = headers;
    Ok(Some(Head {
        request,
        framing,
        violation: violation.filter(|_| strict),
        keep_alive: !close && (http11 || keep_alive_token),
        expect_continue: expect_continue && http11,
        te_trailers,
        upgrade,
    }))
}

/// Answers a head that could not be served, and closes.
async fn refuse<I: Io>(
    conn: &mut Conn<I>,
    timer: &mut Timer,
    out: &mut Vec<u8>,
    shared: &Shared,
    info: &ConnInfo,
    limits: &Limits,
    (p, detail, outcome): Refusal,
) {
    let id_value = crate::proxy::new_request_id();
    let id = id_value.to_str().unwrap_or("-");
    let mut resp = problem(p, id, Some(detail));
    tracing::debug!(request_id = %id, reason = p.as_str(), detail, "request head refused");
    crate::proxy::record_refused_head(shared, info, id, resp.status().as_u16(), p, outcome);
    resp.headers_mut()
        .insert(crate::policy::headers::X_REQUEST_ID, id_value);
    let meta = Meta {
        head_request: false,
        version: Version::HTTP_11,
        te_trailers: false,
    };
    if write_response(conn, timer, out, resp, &meta, false, limits.idle_timeout)
        .await
        .is_ok()
    {
        close(conn, timer).await;
    }
}

/// Writes `data`, giving up when a write makes no progress for `limit`.
async fn send<I: Io>(io: &mut I, timer: &mut Timer, data: &[u8], limit: Duration) -> bool {
    let mut data = data;
    while !data.is_empty() {
        let written = tokio::select! {
            biased;
            r = io.write(data) => r,
            () = timer.after(limit) => return false,
        };
        match written {
            Ok(0) | Err(_) => return false,
            Ok(n) => data = &data[n..],
        }
    }
    true
}

async fn flush<I: Io>(io: &mut I, timer: &mut Timer, limit: Duration) -> bool {
    tokio::select! {
        biased;
        r = io.flush() => r.is_ok(),
        () = timer.after(limit) => false,
    }
}

/// The body's next frame if it is ready now.
fn frame_now(body: &mut Body) -> Option<Option<Result<Frame<Bytes>, BoxError>>> {
    let mut cx = Context::from_waker(Waker::noop());
    match Pin::new(body).poll_frame(&mut cx) {
        Poll::Ready(f) => Some(f),
        Poll::Pending => None,
    }
}

/// How the response body is delimited on the wire.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Out {
    None,
    Length(u64),
    Chunked,
    ToClose,
}

/// Writes `resp`. `Ok(keep)`: the response was sent whole and the connection may serve
/// another request when `keep`; `Err`: it must be dropped now.
async fn write_response<I: Io>(
    conn: &mut Conn<I>,
    timer: &mut Timer,
    out: &mut Vec<u8>,
    resp: Response<Body>,
    meta: &Meta,
    mut keep: bool,
    limit: Duration,
) -> Result<bool, ()> {
    let (parts, mut body) = resp.into_parts();
    let status = parts.status;
    let switching = status == StatusCode::SWITCHING_PROTOCOLS;
    let bodiless = meta.head_request
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let framing = if bodiless {
        Out::None
    } else if let Some(n) = body.size_hint().exact() {
        Out::Length(n)
    } else if meta.version == Version::HTTP_11 {
        Out::Chunked
    } else {
        keep = false;
        Out::ToClose
    };
    out.clear();
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    let mut dated = false;
    for (name, value) in &parts.headers {
        // `Connection: close` from the handler closes this connection after the answer.
        if name == header::CONNECTION && has_token(value.as_bytes(), b"close") {
            keep = false;
        }
        if name == header::TRANSFER_ENCODING
            || (name == header::CONNECTION && !switching)
            || name.as_str() == "keep-alive"
            || (name == header::CONTENT_LENGTH && !meta.head_request)
        {
            continue;
        }
        dated |= name == header::DATE;
        push_field(out, name, value);
    }
    if !dated {
        push_date(out);
    }
    match framing {
        Out::Length(n) => {
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        Out::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        Out::None | Out::ToClose => {}
    }
    if !switching {
        if !keep {
            out.extend_from_slice(b"connection: close\r\n");
        } else if meta.version == Version::HTTP_10 {
            out.extend_from_slice(b"connection: keep-alive\r\n");
        }
    }
    out.extend_from_slice(b"\r\n");
    if framing == Out::None {
        drop(body);
        let sent =
            send(&mut conn.io, timer, out, limit).await && flush(&mut conn.io, timer, limit).await;
        return if sent { Ok(keep) } else { Err(()) };
    }
    let mut sent: u64 = 0;
    let mut trailers = None;
    loop {
        if body.is_end_stream() {
            break;
        }
        let frame = match frame_now(&mut body) {
            Some(f) => f,
            None => {
                // Nothing ready: what is waiting goes out first (the head of a stream).
                if !out.is_empty() {
                    if !send(&mut conn.io, timer, out, limit).await {
                        return Err(());
                    }
                    out.clear();
                }
                if !flush(&mut conn.io, timer, limit).await {
                    return Err(());
                }
                body.frame().await
            }
        };
        let frame = match frame {
            None => break,
            Some(Err(e)) => {
                tracing::debug!(error = %e, "response body failed; connection closed");
                return Err(());
            }
            Some(Ok(f)) => f,
        };
        let data = match frame.into_data() {
            Ok(d) => d,
            Err(f) => {
                if let Ok(t) = f.into_trailers() {
                    trailers = Some(t);
                }
                continue;
            }
        };
        if data.is_empty() {
            continue;
        }
        sent += data.len() as u64;
        if let Out::Length(n) = framing
            && sent > n
        {
            return Err(());
        }
        if framing == Out::Chunked {
            push_hex(out, data.len());
        }
        if out.len() + data.len() <= INLINE_BODY {
            out.extend_from_slice(&data);
        } else {
            if !send(&mut conn.io, timer, out, limit).await
                || !send(&mut conn.io, timer, &data, limit).await
            {
                return Err(());
            }
            out.clear();
        }
        if framing == Out::Chunked {
            out.extend_from_slice(b"\r\n");
        }
    }
    if let Out::Length(n) = framing
        && sent != n
    {
        // Shorter than promised: what was sent is all the client gets.
        let _ = send(&mut conn.io, timer, out, limit).await;
        return Err(());
    }
    if framing == Out::Chunked {
        out.extend_from_slice(b"0\r\n");
        if let Some(t) = trailers.filter(|_| meta.te_trailers) {
            for (name, value) in &t {
                push_field(out, name, value);
            }
        }
        out.extend_from_slice(b"\r\n");
    }
    if !out.is_empty() && !send(&mut conn.io, timer, out, limit).await {
        return Err(());
    }
    if !flush(&mut conn.io, timer, limit).await {
        return Err(());
    }
    Ok(keep)
}

fn push_hex(out: &mut Vec<u8>, n: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digits = (usize::BITS - n.leading_zeros()).div_ceil(4).max(1);
    for i in (0..digits).rev() {
        out.push(HEX[(n >> (i * 4)) & 0xf]);
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends the `date` field, formatted once a second per thread.
fn push_date(out: &mut Vec<u8>) {
    thread_local! {
        static DATE: std::cell::RefCell<(u64, String)> = const { std::cell::RefCell::new((u64::MAX, String::new())) };
    }
    let now = SystemTime::now();
    let secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    DATE.with(|d| {
        let mut d = d.borrow_mut();
        if d.0 != secs {
            d.0 = secs;
            d.1 = format!("date: {}\r\n", httpdate::fmt_http_date(now));
        }
        out.extend_from_slice(d.1.as_bytes());
    });
}

/// Reads and drops the rest of a request body the handler did not read, so the connection can
/// serve the next request. `false`: it was longer than [`DRAIN_CAP`], broken, or too slow.
async fn drain<I: Io>(
    conn: &mut Conn<I>,
    mut dec: Decoder,
    timer: &mut Timer,
    limit: Duration,
) -> bool {
    let deadline = deadline(Instant::now(), limit);
    let mut total = 0usize;
    loop {
        loop {
            match dec.decode(&mut conn.buf) {
                Step::NeedMore => break,
                Step::Data(d) => {
                    total += d.len();
                    if total > DRAIN_CAP {
                        return false;
                    }
                }
                Step::Trailers(_) | Step::End => return true,
                Step::Fail(_) | Step::Truncated => return false,
            }
        }
        if dec
            .remaining()
            .is_some_and(|n| n > (DRAIN_CAP - total) as u64)
        {
            return false;
        }
        conn.buf.reserve(READ_CHUNK);
        let read = tokio::select! {
            biased;
            r = poll_fn(|cx| tokio_util::io::poll_read_buf(Pin::new(&mut conn.io), cx, &mut conn.buf)) => r,
            () = timer.until(deadline) => return false,
        };
        match read {
            Ok(0) | Err(_) => return false,
            Ok(_) => {}
        }
    }
}

/// Ends the connection after an answer: the write side is shut, then what the client still
/// sends is read and dropped until it closes, for at most [`LINGER`], so the answer is not lost
/// to a reset.
async fn close<I: Io>(conn: &mut Conn<I>, timer: &mut Timer) {
    let deadline = Instant::now() + LINGER;
    tokio::select! {
        biased;
        _ = conn.io.shutdown() => {}
        () = timer.until(deadline) => return,
    }
    let mut total = 0usize;
    loop {
        conn.buf.clear();
        conn.buf.reserve(READ_CHUNK);
        let read = tokio::select! {
            biased;
            r = poll_fn(|cx| tokio_util::io::poll_read_buf(Pin::new(&mut conn.io), cx, &mut conn.buf)) => r,
            () = timer.until(deadline) => return,
        };
        match read {
            Ok(0) | Err(_) => return,
            Ok(n) => total += n,
        }
        if total > DRAIN_CAP * 16 {
            return;
        }
    }
}

/// The connection as lent to a request body.
struct Lent<I> {
    /// Taken back by the connection when the response is ready.
    conn: Option<Conn<I>>,
    dec: Decoder,
    /// Bytes of `100 Continue` written; `CONTINUE.len()` when none is owed.
    cont: usize,
    cont_flushed: bool,
    /// The body broke, or was cut off when the response went out: it never ends cleanly.
    failed: bool,
    /// Fires when the client sends nothing for `stall_limit` while the body is wanted: made
    /// the first time the body waits, then moved lazily like the connection's own timer.
    stall: Option<Timer>,
    /// When the current silence reaches `stall_limit`.
    stall_at: Instant,
    stall_limit: Duration,
    /// Bytes arrived since the stall deadline was last set.
    progressed: bool,
    /// Where a framing violation in the body is recorded (strict listeners).
    wire: Option<crate::body::WireCheck>,
}

/// A request body read from the client connection.
struct ConnBody<I> {
    lent: Arc<Mutex<Lent<I>>>,
}

/// The request body could not be read.
#[derive(Debug, thiserror::Error)]
#[error("request body: {0}")]
struct BodyError(&'static str);

impl<I> Lent<I> {
    fn fail(&mut self, why: &'static str) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.failed = true;
        Poll::Ready(Some(Err(Box::new(BodyError(why)))))
    }

    /// Called when the client has nothing more for now: sets the stall deadline the first
    /// time and after progress. `true`: the client has been silent for the whole limit.
    fn stalled(&mut self, cx: &mut Context<'_>) -> bool {
        if self.progressed || self.stall.is_none() {
            self.stall_at = deadline(Instant::now(), self.stall_limit);
        }
        self.progressed = false;
        let at = self.stall_at;
        self.stall
            .get_or_insert_with(|| Timer::new(at))
            .poll_until(cx, at)
            .is_ready()
    }
}

impl<I: Io> http_body::Body for ConnBody<I> {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut g = lock(&self.lent);
        let l = &mut *g;
        if l.failed {
            return l.fail("the request body was cut off");
        }
        if l.dec.done() {
            return Poll::Ready(None);
        }
        let Some(mut conn) = l.conn.take() else {
            return l.fail("the response was already sent");
        };
        let res = poll_body(l, &mut conn, cx);
        l.conn = Some(conn);
        res
    }

    fn is_end_stream(&self) -> bool {
        let l = lock(&self.lent);
        l.dec.done() && !l.failed
    }

    fn size_hint(&self) -> SizeHint {
        let l = lock(&self.lent);
        match l.dec.remaining() {
            Some(n) if !l.failed => SizeHint::with_exact(n),
            _ => SizeHint::default(),
        }
    }
}

/// One step of reading a lent body: `100 Continue` first if owed, then the next frame.
fn poll_body<I: Io>(
    l: &mut Lent<I>,
    conn: &mut Conn<I>,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
    while l.cont < CONTINUE.len() {
        match Pin::new(&mut conn.io).poll_write(cx, &CONTINUE[l.cont..]) {
            Poll::Pending if l.stalled(cx) => return l.fail("the client stopped reading"),
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(0) | Err(_)) => return l.fail("write failed"),
            Poll::Ready(Ok(n)) => {
                l.cont += n;
                l.progressed = true;
            }
        }
    }
    if !l.cont_flushed {
        match Pin::new(&mut conn.io).poll_flush(cx) {
            Poll::Pending if l.stalled(cx) => return l.fail("the client stopped reading"),
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(_)) => return l.fail("write failed"),
            Poll::Ready(Ok(())) => l.cont_flushed = true,
        }
    }
    loop {
        match l.dec.decode(&mut conn.buf) {
            Step::NeedMore => {}
            Step::Data(d) => return Poll::Ready(Some(Ok(Frame::data(d)))),
            Step::Trailers(t) => return Poll::Ready(Some(Ok(Frame::trailers(t)))),
            Step::End => return Poll::Ready(None),
            Step::Fail(v) => {
                if let Some((w, index)) = &l.wire {
                    w.record(*index, v);
                }
                return l.fail(v.detail());
            }
            Step::Truncated => return l.fail(TRUNCATED),
        }
        conn.buf.reserve(READ_CHUNK);
        match tokio_util::io::poll_read_buf(Pin::new(&mut conn.io), cx, &mut conn.buf) {
            Poll::Pending if l.stalled(cx) => return l.fail("the client sent nothing in time"),
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(0)) => {
                return match l.dec.at_eof() {
                    Step::Truncated => l.fail(TRUNCATED),
                    _ => Poll::Ready(None),
                };
            }
            Poll::Ready(Ok(_)) => l.progressed = true,
            Poll::Ready(Err(_)) => return l.fail("read failed"),
        }
    }
}

/// The client's side of a WebSocket upgrade, once the 101 is written (a request extension).
/// Clones share one connection, which only the first to ask gets.
#[derive(Debug, Clone)]
pub struct OnUpgrade(Arc<Mutex<Option<oneshot::Receiver<Upgraded>>>>);

impl OnUpgrade {
    /// The connection, when the 101 went out.
    pub async fn upgraded(self) -> Option<Upgraded> {
        let rx = lock(&self.0).take()?;
        rx.await.ok()
    }
}

/// A connection after `101 Switching Protocols`, with the bytes already read from it first.
pub type Upgraded = Prefixed<Box<dyn ErasedIo>>;

/// The connection types an upgrade can carry, behind one box.
pub trait ErasedIo: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> ErasedIo for T {}

/// A connection with bytes already read from it, which it yields first.
pub struct Prefixed<I> {
    io: I,
    pre: Bytes,
}

impl<I> std::fmt::Debug for Prefixed<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prefixed")
            .field("pre", &self.pre.len())
            .finish_non_exhaustive()
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Prefixed<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if !this.pre.is_empty() {
            let n = this.pre.len().min(buf.remaining());
            buf.put_slice(&this.pre[..n]);
            this.pre.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Prefixed<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// What the server makes of one request's bytes (for the fuzz target and tests).
#[derive(Debug, PartialEq, Eq)]
pub struct DecodedRequest {
    /// Method.
    pub method: String,
    /// Request target as sent.
    pub target: String,
    /// Header fields in order.
    pub fields: Vec<(String, Vec<u8>)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
    /// Whether the connection would serve another request after this one.
    pub keep_alive: bool,
}

/// Runs the server's head parser and body decoder over `bytes`, received in pieces ending at
/// the offsets in `cuts`, with the default listener limits and strict framing. Returns the
/// requests read whole and accepted before the connection would stop, and why it stopped
/// (`None`: the bytes ended between requests).
/// Neither may depend on where the cuts fall.
pub fn decode_requests(bytes: &[u8], cuts: &[usize]) -> (Vec<DecodedRequest>, Option<String>) {
    let limits = Limits {
        max_connections: 1,
        header_read_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(1),
        max_header_bytes: 16 * 1024,
        max_headers: 100,
        max_uri_length: 8 * 1024,
        max_body_bytes: u64::MAX,
    };
    let mut ends: Vec<usize> = cuts.iter().copied().filter(|&c| c < bytes.len()).collect();
    ends.sort_unstable();
    ends.push(bytes.len());
    let mut pieces = ends.into_iter().scan(0, |at, end| {
        let piece = &bytes[(*at).min(end)..end];
        *at = end.max(*at);
        Some(piece)
    });
    let mut buf = BytesMut::new();
    let mut spans = Vec::new();
    let mut out = Vec::new();
    loop {
        let head = loop {
            match parse_head(&mut buf, &limits, &mut spans, true) {
                Err((p, d, _)) => return (out, Some(format!("{}: {d}", p.as_str()))),
                Ok(Some(h)) => break h,
                Ok(None) => match pieces.next() {
                    Some(p) => buf.extend_from_slice(p),
                    None if buf.is_empty() => return (out, None),
                    None => return (out, Some("incomplete head".into())),
                },
            }
        };
        let r = &head.request;
        let mut req = DecodedRequest {
            method: r.method().to_string(),
            target: r.uri().to_string(),
            fields: r
                .headers()
                .iter()
                .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
                .collect(),
            body: Vec::new(),
            keep_alive: head.keep_alive && head.framing.is_some(),
        };
        // A refused request is not one of those read.
        if let Some(v) = head.violation {
            return (out, Some(v.detail().into()));
        }
        let Some(framing) = head.framing else {
            return (out, Some("invalid framing".into()));
        };
        let mut dec = Decoder::new(framing);
        loop {
            match dec.decode(&mut buf) {
                Step::Data(d) => req.body.extend_from_slice(&d),
                Step::Trailers(_) | Step::End => break,
                Step::Fail(v) => return (out, Some(v.detail().into())),
                Step::Truncated => return (out, Some(TRUNCATED.into())),
                Step::NeedMore => match pieces.next() {
                    Some(p) => buf.extend_from_slice(p),
                    None => return (out, Some("incomplete body".into())),
                },
            }
        }
        let keep = req.keep_alive;
        out.push(req);
        if !keep {
            return (out, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_connections: 10,
            header_read_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(1),
            max_header_bytes: 512,
            max_headers: 8,
            max_uri_length: 256,
            max_body_bytes: 1024,
        }
    }

    fn parse(raw: &str) -> Result<Option<Head>, Refusal> {
        let mut buf = BytesMut::from(raw.as_bytes());
        parse_head(&mut buf, &limits(), &mut Vec::new(), true)
    }

    fn head(raw: &str) -> Head {
        match parse(raw) {
            Ok(Some(h)) => h,
            Ok(None) => panic!("incomplete: {raw:?}"),
            Err((p, d, _)) => panic!("refused {p:?} {d}: {raw:?}"),
        }
    }

    #[test]
    fn heads_keep_their_fields_and_the_rest_of_the_buffer() {
        let mut buf =
            BytesMut::from(&b"GET /a?b=1 HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nX-A: 2\r\n\r\nNEXT"[..]);
        let h = parse_head(&mut buf, &limits(), &mut Vec::new(), true)
            .expect("parsed")
            .expect("complete");
        assert_eq!(&buf[..], b"NEXT");
        let r = &h.request;
        assert_eq!(r.method(), Method::GET);
        assert_eq!(r.uri().path(), "/a");
        assert_eq!(r.uri().query(), Some("b=1"));
        assert_eq!(r.version(), Version::HTTP_11);
        assert_eq!(r.headers()["host"], "x");
        let xa: Vec<_> = r.headers().get_all("x-a").iter().collect();
        assert_eq!(xa, ["1", "2"]);
        assert_eq!(h.framing, Some(Framing::None));
        assert!(h.keep_alive && !h.expect_continue && !h.upgrade);
    }

    #[test]
    fn framing_comes_from_one_length_or_one_final_chunked() {
        let f = |extra: &str, version: &str| {
            head(&format!("POST / {version}\r\nHost: x\r\n{extra}\r\n")).framing
        };
        assert_eq!(
            f("Content-Length: 5\r\n", "HTTP/1.1"),
            Some(Framing::Length(5))
        );
        assert_eq!(
            f("Content-Length: 0\r\n", "HTTP/1.1"),
            Some(Framing::Length(0))
        );
        assert_eq!(
            f("Transfer-Encoding: chunked\r\n", "HTTP/1.1"),
            Some(Framing::Chunked)
        );
        assert_eq!(
            f("Transfer-Encoding: Chunked \r\n", "HTTP/1.1"),
            Some(Framing::Chunked)
        );
        // Anything else leaves the body unread and the connection to be closed.
        for bad in [
            "Content-Length: 5\r\nContent-Length: 5\r\n",
            "Content-Length: 5, 5\r\n",
            "Content-Length: +5\r\n",
            "Content-Length: 99999999999999999999\r\n",
            "Transfer-Encoding: gzip, chunked\r\n",
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
            "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n",
        ] {
            assert_eq!(f(bad, "HTTP/1.1"), None, "{bad:?}");
        }
        assert_eq!(f("Transfer-Encoding: chunked\r\n", "HTTP/1.0"), None);
    }

    /// On a strict listener, what httparse accepts but strict framing refuses is carried to
    /// the `validate` stage as a violation; the rest httparse refuses itself (answered 400
    /// before any stage runs). Off a strict listener, nothing is carried.
    #[test]
    fn strict_heads_carry_their_violation() {
        use Violation::*;
        let cases: &[(&str, Option<Violation>)] = &[
            ("GET / HTTP/1.1\r\nHost: a\r\n\r\n", None),
            ("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", None),
            ("GET / HTTP/1.1\nHost: a\r\n\r\n", Some(BareLf)),
            ("GET / HTTP/1.1\r\n\nHost: a\r\n\r\n", Some(BareLf)),
            ("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", Some(BareLf)),
            ("GET / HTTP/1.1\r\nHost: a\n\n", Some(BareLf)),
            (
                "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
                Some(ContentLength),
            ),
            (
                "POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n",
                Some(ContentLength),
            ),
            (
                "POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n",
                Some(ContentLength),
            ),
            (
                "POST / HTTP/1.1\r\nContent-Length: \r\n\r\n",
                Some(ContentLength),
            ),
            (
                "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                Some(TransferEncoding),
            ),
            (
                "POST / HTTP/1.1\r\nTransfer-Encoding: ,chunked\r\n\r\n",
                Some(TransferEncoding),
            ),
            (
                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
                Some(TransferEncoding),
            ),
            (
                "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\n",
                Some(TransferEncoding),
            ),
            (
                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
                Some(TeAndCl),
            ),
            (
                "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
                Some(TeInHttp10),
            ),
            (
                "POST / HTTP/1.1\r\nTransfer_Encoding: chunked\r\nContent-Length: 1\r\n\r\n",
                None,
            ),
            ("POST / HTTP/1.1\r\nContent-Length:  010 \r\n\r\n", None),
            ("GET /\u{e9} HTTP/1.1\r\nHost: a\r\n\r\n", Some(RequestLine)),
        ];
        for (raw, want) in cases {
            assert_eq!(head(raw).violation, *want, "{raw:?}");
            let mut buf = BytesMut::from(raw.as_bytes());
            let lenient = parse_head(&mut buf, &limits(), &mut Vec::new(), false);
            assert!(
                matches!(
                    lenient,
                    Ok(Some(Head {
                        violation: None,
                        ..
                    }))
                ),
                "{raw:?}"
            );
        }
        for refused in [
            "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
            "GET / HTTP/1.1\r\n Host: a\r\n\r\n",
            "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
            "GET / HTTP/1.1\r\nX: a\x00\r\n\r\n",
            "GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n",
            "GET  / HTTP/1.1\r\n\r\n",
            "GET\t/ HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.2\r\n\r\n",
            "GET / HTTP/1.1\r\r\n\r\n",
        ] {
            assert!(parse(refused).is_err(), "{refused:?}");
        }
    }

    #[test]
    fn connection_options_by_version() {
        assert!(!head("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").keep_alive);
        assert!(!head("GET / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
        let h =
            head("PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
        assert!(h.expect_continue);
        assert!(!head("PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").expect_continue);
        let ws = "GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n";
        assert!(head(ws).upgrade);
        assert!(!head("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n").upgrade);
        assert!(head("GET / HTTP/1.1\r\nHost: x\r\nTE: gzip, trailers\r\n\r\n").te_trailers);
    }

    #[test]
    fn heads_wait_for_more_bytes_until_the_limit() {
        assert!(matches!(parse("GET / HTTP/1.1\r\nHost: x\r\n"), Ok(None)));
        assert!(matches!(parse("GE"), Ok(None)));
        let long = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(600));
        assert_eq!(
            parse(&long).err().map(|e| e.0),
            Some(Problem::HeadersTooLarge)
        );
        let done = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(600));
        assert_eq!(
            parse(&done).err().map(|e| e.0),
            Some(Problem::HeadersTooLarge)
        );
        let mut many = String::from("GET / HTTP/1.1\r\n");
        for i in 0..9 {
            many.push_str(&format!("X-{i}: v\r\n"));
        }
        many.push_str("\r\n");
        assert_eq!(
            parse(&many).err().map(|e| e.0),
            Some(Problem::HeadersTooLarge)
        );
    }

    #[test]
    fn malformed_heads_are_bad_requests() {
        for bad in [
            "GET / HTTP/2.0\r\n\r\n",
            "GET / HTTP/1.1\r\nBad Name: v\r\n\r\n",
            "GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n",
            "GET  / HTTP/1.1\r\n\r\n",
            "G(T / HTTP/1.1\r\n\r\n",
            "GET /a b HTTP/1.1\r\n\r\n",
        ] {
            assert_eq!(
                parse(bad).err().map(|e| e.0),
                Some(Problem::BadRequest),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn pipelined_requests_decode_the_same_however_they_arrive() {
        let bytes = b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
            3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nT: 1\r\n\r\n\
            PUT /b HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nwxyz\
            GET /c HTTP/1.0\r\n\r\n";
        let (whole, end) = decode_requests(bytes, &[]);
        assert_eq!(end, None);
        let got: Vec<_> = whole
            .iter()
            .map(|r| {
                (
                    r.method.as_str(),
                    r.target.as_str(),
                    r.body.as_slice(),
                    r.keep_alive,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("POST", "/a", &b"abcde"[..], true),
                ("PUT", "/b", &b"wxyz"[..], true),
                ("GET", "/c", &b""[..], false),
            ]
        );
        let each: Vec<usize> = (1..bytes.len()).collect();
        assert_eq!(decode_requests(bytes, &each), (whole, None));
        let bad = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
        assert_eq!(
            decode_requests(bad, &[]).1.as_deref(),
            Some("invalid chunk size")
        );
    }

    #[test]
    fn chunk_sizes_are_written_in_hex() {
        for (n, text) in [
            (0usize, "0"),
            (1, "1"),
            (15, "f"),
            (16, "10"),
            (4096, "1000"),
        ] {
            let mut out = Vec::new();
            push_hex(&mut out, n);
            assert_eq!(out, format!("{text}\r\n").as_bytes());
        }
    }

    #[test]
    fn the_date_field_is_an_http_date() {
        let mut out = Vec::new();
        push_date(&mut out);
        let text = String::from_utf8(out).expect("ascii");
        let value = text
            .strip_prefix("date: ")
            .and_then(|t| t.strip_suffix("\r\n"))
            .expect("field line");
        assert!(httpdate::parse_http_date(value).is_ok(), "{value}");
    }

    #[tokio::test]
    async fn prefixed_reads_what_was_read_before_the_socket() {
        use tokio::io::AsyncReadExt;
        let (a, mut b) = tokio::io::duplex(64);
        b.write_all(b" world").await.expect("write");
        drop(b);
        let mut p = Prefixed {
            io: a,
            pre: Bytes::from_static(b"hello"),
        };
        let mut out = String::new();
        p.read_to_string(&mut out).await.expect("read");
        assert_eq!(out, "hello world");
    }
}
