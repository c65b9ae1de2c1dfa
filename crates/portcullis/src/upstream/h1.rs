//! The HTTP/1.1 client for cleartext upstreams: one pool of idle keep-alive connections per
//! target, and requests written and responses read in the task that serves the client.
//!
//! Why not hyper-util's pooled client here: measured with callgrind on the plain-proxy bench
//! route, its pool (SipHash of the pool key on every checkout and return, a oneshot and an
//! mpsc hop to a per-connection task, a second task wakeup per request) took about 24,000 of
//! the gateway's 55,000 instructions per request. This client does the same work in the
//! request's own task: a pop from a per-target vector under an uncontended lock, one write,
//! one read, `httparse` for the head. hyper-util still carries HTTP/2, TLS targets, upgrades,
//! health checks and request bodies that stream (see `proxy::forward`).
//!
//! Responses are read strictly, because a connection that goes back to the pool out of step
//! with the upstream would hand one client's response to another:
//! - `Content-Length` must be one number (a list of equal numbers is accepted), and
//!   `Transfer-Encoding` with `Content-Length`, or any coding other than a final `chunked`, is
//!   refused (502), as nginx does;
//! - chunk lines are hex sizes of at most 16 digits with optional extensions, each line ended
//!   by CRLF; trailers are read as header fields and passed on;
//! - a connection is reused only when the response ended exactly where its framing says, no
//!   byte beyond it was received, and neither side asked to close. A response without a
//!   length runs to the end of the connection, which is then closed.
//!
//! An idle connection that the upstream closed (or that received anything) while in the pool is
//! noticed when it is taken out: its socket is readable, so it is dropped and the next one is
//! tried. If an idempotent request still fails on a reused connection before any byte of the
//! response arrived (the upstream closed it at the same moment), it is sent once more on a new
//! connection, as nginx and hyper-util do. Memory is bounded: at most `max_idle` idle
//! connections per target, response heads of at most 64 KiB, chunk lines of at most 4 KiB.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Response, StatusCode, Version};
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::state::lock;
use crate::body::{Body, BoxError, empty, full};
use crate::listener::wire::Violation;
use crate::timer::LazyTimer;

/// Largest response head (status line and fields), and largest trailer section.
const MAX_HEAD: usize = 64 * 1024;
/// Most header fields in a response head.
const MAX_HEADERS: usize = 128;
/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 8 * 1024;
/// Longest chunk-size line, extensions included.
const MAX_CHUNK_LINE: usize = 4 * 1024;
/// Longest chunk extension list after its `;`.
const MAX_CHUNK_EXT: usize = 1024;
/// Request bodies up to this size go out in the same write as the head.
const INLINE_BODY: usize = 16 * 1024;
/// Request bodies up to this size take this client (the proxy reads them whole first); longer
/// ones stream through hyper-util's client.
pub const MAX_BODY: u64 = 64 * 1024;
/// A read buffer larger than this is not kept with an idle connection.
const KEEP_BUFFER: usize = 64 * 1024;

/// Why a request to an upstream failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The TCP connection could not be made.
    #[error("connect: {0}")]
    Connect(#[source] io::Error),
    /// The TCP connection was not made in time.
    #[error("connect timed out after {0:?}")]
    ConnectTimeout(Duration),
    /// Writing the request failed.
    #[error("sending the request: {0}")]
    Write(#[source] io::Error),
    /// The connection failed or closed before any byte of the response arrived.
    #[error("connection closed before the response began")]
    Closed(#[source] Option<io::Error>),
    /// Reading the response failed after it began.
    #[error("reading the response: {0}")]
    Read(#[source] io::Error),
    /// The connection closed in the middle of the response head.
    #[error("connection closed in the middle of the response head")]
    Truncated,
    /// The response broke HTTP/1.1 or the client's limits.
    #[error("invalid response: {0}")]
    Invalid(&'static str),
    /// No response head within the request timeout.
    #[error("no response within {0:?}")]
    Timeout(Duration),
}

impl Error {
    /// The connection could not be made (no byte of the request was sent).
    pub fn is_connect(&self) -> bool {
        matches!(self, Self::Connect(_) | Self::ConnectTimeout(_))
    }

    /// How a reused connection fails when the upstream closed it just before the request.
    fn is_stale(&self) -> bool {
        matches!(self, Self::Write(_) | Self::Closed(_))
    }
}

/// The body-side error: the response broke off or broke the framing.
#[derive(Debug, thiserror::Error)]
#[error("upstream response body: {0}")]
struct BodyError(&'static str);

/// Why a body that ended with its connection failed.
pub(crate) const TRUNCATED: &str = "connection closed before the end of the body";

/// Idle keep-alive connections to one target.
#[derive(Debug)]
pub struct Pool {
    addr: Box<str>,
    connect_timeout: Duration,
    idle_timeout: Duration,
    max_idle: usize,
    idle: Mutex<Vec<Idle>>,
    sweeping: AtomicBool,
}

#[derive(Debug)]
struct Idle {
    conn: Conn,
    since: Instant,
}

#[derive(Debug)]
struct Conn {
    io: TcpStream,
    /// Bytes read and not yet used. Empty whenever the connection is idle.
    buf: BytesMut,
    /// The request timeout, one per connection instead of one per request (made on first
    /// use). While the connection is idle it may still hold the waker of the last request's
    /// task, which keeps that finished task's allocation (not its resources) until the next
    /// request; at most `max_idle` of them per target.
    timer: Option<LazyTimer>,
}

impl Conn {
    /// Whether an idle connection can take a request: its socket has nothing to read. A
    /// readable idle socket holds an end of stream, a reset or bytes nobody asked for.
    fn usable(&mut self, cx: &mut Context<'_>) -> bool {
        match self.io.poll_read_ready(cx) {
            Poll::Pending => true,
            Poll::Ready(Err(_)) => false,
            // Readiness can be left over from the last read of the previous response when
            // that read filled the buffer exactly: ask the socket.
            Poll::Ready(Ok(())) => {
                self.buf.reserve(64);
                matches!(self.io.try_read_buf(&mut self.buf),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock)
            }
        }
    }
}

impl Pool {
    /// A pool for the target at `addr` (`host:port`).
    pub fn new(
        addr: &str,
        connect_timeout: Duration,
        idle_timeout: Duration,
        max_idle: usize,
    ) -> Arc<Self> {
        Arc::new(Self {
            addr: addr.into(),
            connect_timeout,
            idle_timeout,
            max_idle,
            idle: Mutex::new(Vec::new()),
            sweeping: AtomicBool::new(false),
        })
    }

    /// Idle connections now (for tests).
    pub fn idle_count(&self) -> usize {
        lock(&self.idle).len()
    }

    /// Sends one request and reads the response head within `timeout`. `body` is the whole
    /// request body; `retry_stale` allows a second try on a new connection when a reused one
    /// turns out to have been closed by the upstream (only for requests that may be repeated).
    pub async fn send(
        self: &Arc<Self>,
        method: &Method,
        path_and_query: &str,
        headers: &HeaderMap,
        body: &Bytes,
        retry_stale: bool,
        timeout: Duration,
    ) -> Result<Response<Body>, Error> {
        let deadline = Instant::now() + timeout;
        let inline = body.len() <= INLINE_BODY;
        let mut out = BytesMut::with_capacity(
            128 + path_and_query.len() + headers.len() * 48 + if inline { body.len() } else { 0 },
        );
        encode_head(method, path_and_query, headers, body.len(), &mut out);
        if inline {
            out.extend_from_slice(body);
        }
        let rest = (!inline).then_some(body);
        let head_request = method == Method::HEAD;
        let mut reuse = true;
        loop {
            let reused = if reuse { self.checkout().await } else { None };
            let is_reused = reused.is_some();
            let mut conn = match reused {
                Some(c) => c,
                None => self.connect(deadline, timeout).await?,
            };
            let exchanged = {
                let Conn { io, buf, timer } = &mut conn;
                let timer = timer.get_or_insert_with(|| LazyTimer::new(deadline));
                tokio::select! {
                    biased;
                    r = exchange(io, buf, &out, rest, head_request) => r,
                    () = timer.until(deadline) => Err(Error::Timeout(timeout)),
                }
            };
            match exchanged {
                Ok(head) => return Ok(self.respond(conn, head)),
                Err(e) if is_reused && retry_stale && e.is_stale() => {
                    tracing::debug!(target = %self.addr, error = %e, "pooled connection was closed; sending on a new one");
                    reuse = false;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Takes the most recently used idle connection that is still good.
    async fn checkout(&self) -> Option<Conn> {
        loop {
            let mut conn = {
                let mut idle = lock(&self.idle);
                loop {
                    let i = idle.pop()?;
                    if i.since.elapsed() < self.idle_timeout {
                        break i.conn;
                    }
                }
            };
            if std::future::poll_fn(|cx| Poll::Ready(conn.usable(cx))).await {
                return Some(conn);
            }
        }
    }

    /// A new connection, within the connect timeout and what is left of the request's.
    async fn connect(&self, deadline: Instant, timeout: Duration) -> Result<Conn, Error> {
        let left = deadline.saturating_duration_since(Instant::now());
        let limit = self.connect_timeout.min(left);
        let io = match tokio::time::timeout(limit, TcpStream::connect(&*self.addr)).await {
            Ok(Ok(io)) => io,
            Ok(Err(e)) => return Err(Error::Connect(e)),
            Err(_) if limit < self.connect_timeout => return Err(Error::Timeout(timeout)),
            Err(_) => return Err(Error::ConnectTimeout(self.connect_timeout)),
        };
        let _ = io.set_nodelay(true);
        let keepalive = socket2::TcpKeepalive::new().with_time(Duration::from_secs(60));
        let _ = socket2::SockRef::from(&io).set_tcp_keepalive(&keepalive);
        Ok(Conn {
            io,
            buf: BytesMut::with_capacity(READ_CHUNK),
            timer: None,
        })
    }

    /// Puts a connection whose last response ended cleanly back in the pool.
    fn put(self: &Arc<Self>, mut conn: Conn) {
        if !conn.buf.is_empty() {
            return;
        }
        if conn.buf.capacity() > KEEP_BUFFER {
            conn.buf = BytesMut::new();
        }
        {
            let mut idle = lock(&self.idle);
            if idle.len() >= self.max_idle {
                return;
            }
            idle.push(Idle {
                conn,
                since: Instant::now(),
            });
        }
        if !self.sweeping.swap(true, Ordering::Relaxed) {
            let period =
                (self.idle_timeout / 2).clamp(Duration::from_secs(1), Duration::from_secs(30));
            tokio::spawn(sweep(Arc::downgrade(self), period));
        }
    }

    /// The response to hand on: small bodies already read whole are returned as bytes and
    /// the connection goes straight back to the pool.
    fn respond(self: &Arc<Self>, mut conn: Conn, head: Head) -> Response<Body> {
        let body = match head.framing {
            Framing::None => {
                if head.keep_alive {
                    self.put(conn);
                }
                empty()
            }
            Framing::Length(n) if conn.buf.len() as u64 >= n => {
                let data = conn.buf.split_to(n as usize).freeze();
                if head.keep_alive {
                    self.put(conn);
                }
                if n == 0 { empty() } else { full(data) }
            }
            framing => ResponseBody {
                conn: Some(conn),
                pool: self.clone(),
                dec: Decoder::new(framing),
                keep_alive: head.keep_alive && !matches!(framing, Framing::ToEof),
            }
            .boxed(),
        };
        let mut resp = Response::new(body);
        *resp.status_mut() = head.status;
        *resp.version_mut() = head.version;
        *resp.headers_mut() = head.headers;
        resp
    }
}

/// Drops idle connections past the idle timeout or closed by the upstream, until the pool
/// itself is gone.
async fn sweep(pool: Weak<Pool>, period: Duration) {
    loop {
        tokio::time::sleep(period).await;
        let Some(pool) = pool.upgrade() else { return };
        let timeout = pool.idle_timeout;
        std::future::poll_fn(|cx| {
            lock(&pool.idle).retain_mut(|i| i.since.elapsed() < timeout && i.conn.usable(cx));
            Poll::Ready(())
        })
        .await;
    }
}

/// Writes the request line and fields. Framing is this function's alone: any
/// `Content-Length` or `Transfer-Encoding` in `headers` is left out, and `Content-Length`
/// is written for a body, or as 0 when `headers` had one (a POST without a body).
fn encode_head(
    method: &Method,
    path_and_query: &str,
    headers: &HeaderMap,
    body_len: usize,
    out: &mut BytesMut,
) {
    out.extend_from_slice(method.as_str().as_bytes());
    out.extend_from_slice(b" ");
    out.extend_from_slice(path_and_query.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let mut had_length = false;
    for (name, value) in headers {
        if name == header::CONTENT_LENGTH {
            had_length = true;
            continue;
        }
        if name == header::TRANSFER_ENCODING {
            continue;
        }
        push_field(out, name, value);
    }
    if body_len > 0 || had_length {
        out.extend_from_slice(b"content-length: ");
        out.extend_from_slice(itoa::Buffer::new().format(body_len).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends one `name: value` field line (the server's response writer uses it too).
pub(crate) fn push_field<B: bytes::BufMut>(out: &mut B, name: &HeaderName, value: &HeaderValue) {
    out.put_slice(name.as_str().as_bytes());
    out.put_slice(b": ");
    out.put_slice(value.as_bytes());
    out.put_slice(b"\r\n");
}

/// How a message body is delimited (the server side reads request bodies with the same
/// decoder).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body (HEAD, 204, 304).
    None,
    /// `Content-Length`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the connection closes.
    ToEof,
}

#[derive(Debug)]
struct Head {
    status: StatusCode,
    version: Version,
    headers: HeaderMap,
    framing: Framing,
    keep_alive: bool,
}

/// Writes the request and reads the final response head.
async fn exchange(
    io: &mut TcpStream,
    buf: &mut BytesMut,
    head: &[u8],
    rest: Option<&Bytes>,
    head_request: bool,
) -> Result<Head, Error> {
    io.write_all(head).await.map_err(Error::Write)?;
    if let Some(body) = rest {
        io.write_all(body).await.map_err(Error::Write)?;
    }
    let mut received = false;
    loop {
        if let Some(h) = final_head(buf, head_request)? {
            return Ok(h);
        }
        buf.reserve(READ_CHUNK);
        match io.read_buf(buf).await {
            Ok(0) if received => return Err(Error::Truncated),
            Ok(0) => return Err(Error::Closed(None)),
            Ok(_) => received = true,
            Err(e) if received => return Err(Error::Read(e)),
            Err(e) => return Err(Error::Closed(Some(e))),
        }
    }
}

/// The final response head at the start of `buf`, once it is all there: interim (1xx)
/// responses before it are consumed, and a head still incomplete at `MAX_HEAD` bytes is
/// refused. `None`: read more.
fn final_head(buf: &mut BytesMut, head_request: bool) -> Result<Option<Head>, Error> {
    while !buf.is_empty() {
        match parse_head(buf, head_request)? {
            Parsed::Final(h) => return Ok(Some(h)),
            Parsed::Interim => {}
            Parsed::Partial if buf.len() >= MAX_HEAD => {
                return Err(Error::Invalid("response head too large"));
            }
            Parsed::Partial => return Ok(None),
        }
    }
    Ok(None)
}

enum Parsed {
    Partial,
    /// A 1xx response, consumed.
    Interim,
    Final(Head),
}

/// Parses a response head at the start of `buf`, removing it from `buf` when complete.
fn parse_head(buf: &mut BytesMut, head_request: bool) -> Result<Parsed, Error> {
    // Left uninitialised: filling 128 empty slots on every parse cost more than the parse.
    let mut slots =
        [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut res = httparse::Response::new(&mut []);
    let len = match httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut res, buf, &mut slots)
    {
        // The same limit whether the head arrived whole or in pieces.
        Ok(httparse::Status::Complete(n)) if n > MAX_HEAD => {
            return Err(Error::Invalid("response head too large"));
        }
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(Parsed::Partial),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Error::Invalid("too many header fields"));
        }
        Err(_) => return Err(Error::Invalid("malformed response head")),
    };
    let code = res.code.unwrap_or(0);
    let status = StatusCode::from_u16(code).map_err(|_| Error::Invalid("status code"))?;
    if status.is_informational() {
        if code == 101 {
            return Err(Error::Invalid("101 to a request that asked for no upgrade"));
        }
        // 100 Continue, 103 Early Hints: no body; the final response follows.
        buf.advance(len);
        return Ok(Parsed::Interim);
    }
    let http10 = res.version == Some(0);
    // Offsets of names and values in `buf`, so the values can share the frozen head.
    let base = buf.as_ptr() as usize;
    let spans: smallvec::SmallVec<[(usize, usize, usize, usize); 24]> = res
        .headers
        .iter()
        .map(|h| {
            (
                h.name.as_ptr() as usize - base,
                h.name.len(),
                h.value.as_ptr() as usize - base,
                h.value.len(),
            )
        })
        .collect();
    let head = buf.split_to(len).freeze();
    // Room for the response headers the gateway adds, so they do not make the map grow.
    let mut headers = HeaderMap::with_capacity(spans.len() + 8);
    let mut length: Option<u64> = None;
    let mut chunked = false;
    let mut codings = false;
    let mut close = false;
    let mut keep_alive_token = false;
    for (no, nl, vo, vl) in spans {
        let name = crate::names::parse(&head[no..no + nl])
            .map_err(|_| Error::Invalid("header field name"))?;
        let raw = &head[vo..vo + vl];
        if name == header::CONTENT_LENGTH {
            let n = parse_length(raw).ok_or(Error::Invalid("Content-Length"))?;
            if length.is_some_and(|l| l != n) {
                return Err(Error::Invalid("conflicting Content-Length"));
            }
            length = Some(n);
        } else if name == header::TRANSFER_ENCODING {
            // Each coding list must leave `chunked` last and only once.
            for coding in raw.split(|b| *b == b',').map(<[u8]>::trim_ascii) {
                if coding.is_empty() {
                    continue;
                }
                if chunked {
                    return Err(Error::Invalid("coding after chunked"));
                }
                codings = true;
                chunked = coding.eq_ignore_ascii_case(b"chunked");
            }
            // Removed: the client's side is framed anew.
            continue;
        } else if name == header::CONNECTION {
            let mut others = false;
            for token in raw.split(|b| *b == b',').map(<[u8]>::trim_ascii) {
                if token.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    keep_alive_token = true;
                } else if !token.is_empty() {
                    others = true;
                }
            }
            // Only kept when it names other fields, which the proxy then strips.
            if !others {
                continue;
            }
        } else if matches!(name.as_str(), "keep-alive" | "server" | "x-powered-by") {
            // The proxy hides the upstream's banner: dropped here rather than stored and
            // removed from the map again (about 400 instructions a response).
            continue;
        }
        let value = HeaderValue::from_maybe_shared(head.slice(vo..vo + vl))
            .map_err(|_| Error::Invalid("header field value"))?;
        headers.append(name, value);
    }
    let framing = if head_request || code == 204 || code == 304 {
        Framing::None
    } else if codings {
        if length.is_some() {
            return Err(Error::Invalid("both Content-Length and Transfer-Encoding"));
        }
        if !chunked {
            return Err(Error::Invalid("transfer coding other than chunked"));
        }
        Framing::Chunked
    } else if let Some(n) = length {
        Framing::Length(n)
    } else {
        Framing::ToEof
    };
    if framing == Framing::Chunked {
        // The body is de-chunked; the length the client sees comes from hyper's framing.
        headers.remove(header::CONTENT_LENGTH);
    }
    Ok(Parsed::Final(Head {
        status,
        version: if http10 {
            Version::HTTP_10
        } else {
            Version::HTTP_11
        },
        headers,
        framing,
        keep_alive: !close && (!http10 || keep_alive_token),
    }))
}

/// `Content-Length`: digits, or a list of equal digit strings (RFC 9110 §8.6).
fn parse_length(raw: &[u8]) -> Option<u64> {
    let mut out: Option<u64> = None;
    for part in raw.split(|b| *b == b',').map(<[u8]>::trim_ascii) {
        let n = crate::policy::validate::content_length(part)?;
        if out.is_some_and(|o| o != n) {
            return None;
        }
        out = Some(n);
    }
    out
}

/// A chunk-size line without its CRLF: 1 to 16 hex digits, then either nothing or optional
/// spaces and tabs and extensions after `;` of at most [`MAX_CHUNK_EXT`] bytes without control
/// bytes but HTAB.
fn parse_chunk_size(line: &[u8]) -> Result<u64, Violation> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > 16 {
        return Err(Violation::ChunkSize);
    }
    let rest = &line[digits..];
    let ws = rest
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count();
    let ext = &rest[ws..];
    match ext.first() {
        None if ws == 0 => {}
        Some(b';') if ext.len() > MAX_CHUNK_EXT + 1 => return Err(Violation::ChunkExtension),
        Some(b';') => {
            if let Some(&b) = ext.iter().find(|&&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
                return Err(if b == b'\r' {
                    Violation::BareCr
                } else {
                    Violation::ChunkExtension
                });
            }
        }
        Some(b'\r') if ws == 0 => return Err(Violation::BareCr),
        _ => return Err(Violation::ChunkSize),
    }
    let mut n = 0u64;
    for &b in &line[..digits] {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => b - b'A' + 10,
        };
        n = (n << 4) | u64::from(d);
    }
    Ok(n)
}

/// One trailer field line (without CRLF) as a name and value; framing fields are refused, as
/// a sender that puts them in a trailer is probing for a parser that honours them.
fn trailer_field(line: &Bytes) -> Result<(HeaderName, HeaderValue), Violation> {
    if matches!(line.first(), Some(b' ' | b'\t')) {
        return Err(Violation::ObsFold);
    }
    let colon = memchr::memchr(b':', line).ok_or(Violation::FieldName)?;
    let name = HeaderName::from_bytes(&line[..colon]).map_err(|_| Violation::FieldName)?;
    // Optional whitespace is spaces and tabs only: a CR before the line's CRLF is a bare CR.
    let raw = &line[colon + 1..];
    let start = raw.iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
    let end = raw.len()
        - raw
            .iter()
            .rev()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
    let raw = &raw[start..end.max(start)];
    let value = HeaderValue::from_maybe_shared(line.slice_ref(raw)).map_err(|_| {
        if raw.contains(&b'\r') {
            Violation::BareCr
        } else {
            Violation::FieldValue
        }
    })?;
    if name == header::CONTENT_LENGTH {
        return Err(Violation::ContentLength);
    }
    if name == header::TRANSFER_ENCODING {
        return Err(Violation::TransferEncoding);
    }
    Ok((name, value))
}

#[derive(Debug, Clone, Copy)]
enum State {
    Length(u64),
    ChunkSize,
    ChunkData(u64),
    ChunkEnd,
    Trailers,
    Eof,
    Done,
}

/// Decodes a response body from a buffer; the caller reads from the socket when it asks for
/// more. No I/O here, so the fuzz target drives exactly the code the client runs.
#[derive(Debug)]
pub(crate) struct Decoder {
    state: State,
    trailers: Option<HeaderMap>,
    trailer_bytes: usize,
}

/// What one step of decoding produced.
pub(crate) enum Step {
    /// The buffer holds no more of the body: read more.
    NeedMore,
    /// Body bytes.
    Data(Bytes),
    /// The trailer section, which ends the body.
    Trailers(HeaderMap),
    /// The body ended.
    End,
    /// The framing is broken.
    Fail(Violation),
    /// The connection ended before the body did.
    Truncated,
}

impl Decoder {
    /// A decoder for a body framed as `framing`.
    pub(crate) fn new(framing: Framing) -> Self {
        Self {
            state: match framing {
                Framing::None => State::Done,
                Framing::Length(n) => State::Length(n),
                Framing::Chunked => State::ChunkSize,
                Framing::ToEof => State::Eof,
            },
            trailers: None,
            trailer_bytes: 0,
        }
    }

    /// Bytes still to come when the length is known.
    pub(crate) fn remaining(&self) -> Option<u64> {
        match self.state {
            State::Length(n) => Some(n),
            State::Done => Some(0),
            _ => None,
        }
    }

    /// Whether the body has ended.
    pub(crate) fn done(&self) -> bool {
        matches!(self.state, State::Done | State::Length(0))
    }

    /// One line (without CRLF) from the buffer, or `None` when more bytes are needed.
    /// `too_long` is the violation for a line over `max` bytes.
    fn take_line(
        buf: &mut BytesMut,
        max: usize,
        too_long: Violation,
    ) -> Result<Option<Bytes>, Violation> {
        match memchr::memchr(b'\n', buf) {
            // The same limit whether the line arrived whole or in pieces.
            Some(i) if i > max => Err(too_long),
            Some(i) => {
                if i == 0 || buf[i - 1] != b'\r' {
                    return Err(Violation::BareLf);
                }
                let line = buf.split_to(i + 1).freeze();
                Ok(Some(line.slice(..i - 1)))
            }
            None if buf.len() > max => Err(too_long),
            None => Ok(None),
        }
    }

    /// The connection reached its end: the end of the body only when it runs to the end.
    pub(crate) fn at_eof(&mut self) -> Step {
        if matches!(self.state, State::Eof) {
            self.state = State::Done;
            Step::End
        } else {
            Step::Truncated
        }
    }

    /// Decodes what the buffer holds, up to one frame.
    pub(crate) fn decode(&mut self, buf: &mut BytesMut) -> Step {
        loop {
            match self.state {
                State::Done | State::Length(0) => {
                    self.state = State::Done;
                    return Step::End;
                }
                State::Length(left) | State::ChunkData(left) if !buf.is_empty() => {
                    let take = left.min(buf.len() as u64);
                    let data = buf.split_to(take as usize).freeze();
                    let left = left - take;
                    self.state = match self.state {
                        State::Length(_) => State::Length(left),
                        _ if left == 0 => State::ChunkEnd,
                        _ => State::ChunkData(left),
                    };
                    return Step::Data(data);
                }
                State::Eof if !buf.is_empty() => return Step::Data(buf.split().freeze()),
                State::Length(_) | State::ChunkData(_) | State::Eof => return Step::NeedMore,
                State::ChunkSize => {
                    match Self::take_line(buf, MAX_CHUNK_LINE, Violation::ChunkExtension) {
                        Err(v) => return Step::Fail(v),
                        Ok(None) => return Step::NeedMore,
                        Ok(Some(line)) => match parse_chunk_size(&line) {
                            Err(v) => return Step::Fail(v),
                            Ok(0) => self.state = State::Trailers,
                            Ok(n) => self.state = State::ChunkData(n),
                        },
                    }
                }
                State::ChunkEnd if buf.len() >= 2 => {
                    if &buf[..2] != b"\r\n" {
                        return Step::Fail(Violation::ChunkData);
                    }
                    buf.advance(2);
                    self.state = State::ChunkSize;
                }
                State::ChunkEnd => return Step::NeedMore,
                State::Trailers => {
                    match Self::take_line(buf, MAX_CHUNK_LINE, Violation::TrailerSection) {
                        Err(v) => return Step::Fail(v),
                        Ok(None) => return Step::NeedMore,
                        Ok(Some(line)) if line.is_empty() => {
                            self.state = State::Done;
                            return match self.trailers.take() {
                                Some(t) => Step::Trailers(t),
                                None => Step::End,
                            };
                        }
                        Ok(Some(line)) => {
                            self.trailer_bytes += line.len() + 2;
                            let map = self.trailers.get_or_insert_with(HeaderMap::new);
                            if self.trailer_bytes > MAX_HEAD || map.len() >= MAX_HEADERS {
                                return Step::Fail(Violation::TrailerSection);
                            }
                            let (name, value) = match trailer_field(&line) {
                                Ok(f) => f,
                                Err(v) => return Step::Fail(v),
                            };
                            map.append(name, value);
                        }
                    }
                }
            }
        }
    }
}

/// A response body still being read from its connection; the connection returns to the
/// pool when the body ends cleanly, and is closed if the body is dropped early or fails.
#[derive(Debug)]
struct ResponseBody {
    conn: Option<Conn>,
    pool: Arc<Pool>,
    dec: Decoder,
    keep_alive: bool,
}

impl ResponseBody {
    /// The body ended cleanly: the connection goes back to the pool if it may.
    fn release(&mut self, conn: Conn) {
        if self.keep_alive {
            self.pool.put(conn);
        }
    }
}

impl http_body::Body for ResponseBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let Some(mut conn) = this.conn.take() else {
            return Poll::Ready(None);
        };
        let step = loop {
            match this.dec.decode(&mut conn.buf) {
                Step::NeedMore => {}
                step => break step,
            }
            conn.buf.reserve(READ_CHUNK);
            match tokio_util::io::poll_read_buf(Pin::new(&mut conn.io), cx, &mut conn.buf) {
                Poll::Pending => {
                    this.conn = Some(conn);
                    return Poll::Pending;
                }
                Poll::Ready(Ok(0)) => {
                    this.keep_alive = false;
                    break this.dec.at_eof();
                }
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(_)) => break Step::Truncated,
            }
        };
        match step {
            Step::NeedMore => Poll::Pending,
            Step::Data(data) => {
                if this.dec.done() {
                    this.release(conn);
                } else {
                    this.conn = Some(conn);
                }
                Poll::Ready(Some(Ok(Frame::data(data))))
            }
            Step::Trailers(t) => {
                this.release(conn);
                Poll::Ready(Some(Ok(Frame::trailers(t))))
            }
            Step::End => {
                this.release(conn);
                Poll::Ready(None)
            }
            Step::Fail(v) => {
                this.dec.state = State::Done;
                Poll::Ready(Some(Err(Box::new(BodyError(v.detail())))))
            }
            Step::Truncated => {
                this.dec.state = State::Done;
                Poll::Ready(Some(Err(Box::new(BodyError(TRUNCATED)))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.dec.done()
    }

    fn size_hint(&self) -> SizeHint {
        match self.dec.state {
            State::Length(n) => SizeHint::with_exact(n),
            State::Done => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}

/// What the client makes of one response's bytes (for the fuzz target and tests).
#[derive(Debug, PartialEq, Eq)]
pub struct Decoded {
    /// Final status.
    pub status: u16,
    /// Header fields handed on.
    pub fields: Vec<(String, Vec<u8>)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
    /// Trailer fields.
    pub trailers: Vec<(String, Vec<u8>)>,
    /// Whether the connection would go back to the pool.
    pub reusable: bool,
}

/// Runs the client's head parser and body decoder over `bytes`, received in pieces ending at
/// the offsets in `cuts`, then the end of the connection. `Err` names the first refusal. The
/// answer must not depend on where the cuts fall.
pub fn decode_response(
    bytes: &[u8],
    cuts: &[usize],
    head_request: bool,
) -> Result<Decoded, String> {
    let mut pieces = cuts
        .iter()
        .copied()
        .filter(|&c| c <= bytes.len())
        .chain(std::iter::once(bytes.len()));
    let mut fed = 0;
    let mut buf = BytesMut::new();
    let mut more = |buf: &mut BytesMut| -> bool {
        for end in pieces.by_ref() {
            if end > fed {
                buf.extend_from_slice(&bytes[fed..end]);
                fed = end;
                return true;
            }
        }
        false
    };
    let head = loop {
        if let Some(h) = final_head(&mut buf, head_request).map_err(|e| e.to_string())? {
            break h;
        }
        if !more(&mut buf) {
            return Err("closed in the head".into());
        }
    };
    let text = |m: &HeaderMap| {
        m.iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
            .collect::<Vec<_>>()
    };
    let mut out = Decoded {
        status: head.status.as_u16(),
        fields: text(&head.headers),
        body: Vec::new(),
        trailers: Vec::new(),
        reusable: head.keep_alive && head.framing != Framing::ToEof,
    };
    let mut dec = Decoder::new(head.framing);
    loop {
        let step = match dec.decode(&mut buf) {
            Step::NeedMore if more(&mut buf) => continue,
            Step::NeedMore => {
                out.reusable = false;
                dec.at_eof()
            }
            step => step,
        };
        match step {
            Step::Data(d) => out.body.extend_from_slice(&d),
            Step::Trailers(t) => {
                out.trailers = text(&t);
                break;
            }
            Step::End | Step::NeedMore => break,
            Step::Fail(v) => return Err(v.detail().to_owned()),
            Step::Truncated => return Err(TRUNCATED.to_owned()),
        }
    }
    // Bytes past the end (received now or later) retire the connection.
    out.reusable &= buf.is_empty() && fed == bytes.len();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncBufReadExt;
    use tokio::net::TcpListener;

    #[test]
    fn chunk_sizes() {
        assert_eq!(parse_chunk_size(b"0"), Ok(0));
        assert_eq!(parse_chunk_size(b"1aF"), Ok(0x1af));
        assert_eq!(parse_chunk_size(b"10;name=value"), Ok(16));
        assert_eq!(parse_chunk_size(b"10 ; name"), Ok(16));
        assert_eq!(parse_chunk_size(b"10\t;name=\"a b\"\t"), Ok(16));
        assert_eq!(parse_chunk_size(b"ffffffffffffffff"), Ok(u64::MAX));
        let long_ext = [b"1;".as_slice(), &[b'a'; MAX_CHUNK_EXT]].concat();
        assert_eq!(parse_chunk_size(&long_ext), Ok(1));
        let too_long = [long_ext.as_slice(), b"a"].concat();
        use Violation::*;
        for (bad, why) in [
            (&b""[..], ChunkSize),
            (b"x", ChunkSize),
            (b"-1", ChunkSize),
            (b"10000000000000000", ChunkSize),
            (b"10 x", ChunkSize),
            (b"10 ", ChunkSize),
            (b"10\t", ChunkSize),
            (b" 10", ChunkSize),
            (b"0x10", ChunkSize),
            (b"0_2e", ChunkSize),
            (b"10;\x00", ChunkExtension),
            (b"10;a\x7f", ChunkExtension),
            (b"10;a\rb", BareCr),
            (b"10\rb", BareCr),
            (too_long.as_slice(), ChunkExtension),
        ] {
            assert_eq!(
                parse_chunk_size(bad),
                Err(why),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn trailer_fields() {
        let ok = trailer_field(&Bytes::from_static(b"Checksum:  abc "));
        assert_eq!(
            ok.map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec())),
            Ok(("checksum".to_owned(), b"abc".to_vec()))
        );
        use Violation::*;
        for (bad, why) in [
            (&b" folded: x"[..], ObsFold),
            (b"\tfolded: x", ObsFold),
            (b"no colon", FieldName),
            (b"Bad Name: x", FieldName),
            (b"X : y", FieldName),
            (b"X: a\x00b", FieldValue),
            (b"X: a\rb", BareCr),
            (b"X: a\r", BareCr),
            (b"X: \ra", BareCr),
            (b"Content-Length: 5", ContentLength),
            (b"transfer-encoding: chunked", TransferEncoding),
        ] {
            assert_eq!(
                trailer_field(&Bytes::from_static(bad)).map(|_| ()),
                Err(why),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn lengths() {
        assert_eq!(parse_length(b"0"), Some(0));
        assert_eq!(parse_length(b"42"), Some(42));
        assert_eq!(parse_length(b"42, 42"), Some(42));
        for bad in [
            &b""[..],
            b"4 2",
            b"-1",
            b"42, 43",
            b"+5",
            b"99999999999999999999",
            b"1,",
        ] {
            assert_eq!(
                parse_length(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    fn head(raw: &str, head_request: bool) -> Result<Head, Error> {
        let mut buf = BytesMut::from(raw.as_bytes());
        loop {
            match parse_head(&mut buf, head_request)? {
                Parsed::Final(h) => return Ok(h),
                Parsed::Interim => {}
                Parsed::Partial => panic!("partial"),
            }
        }
    }

    #[test]
    fn framing_of_responses() {
        let h = head(
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\nX-A: 1\r\n\r\n",
            false,
        )
        .unwrap();
        assert_eq!(h.framing, Framing::Length(5));
        assert!(h.keep_alive);
        assert!(!h.headers.contains_key(header::CONNECTION));
        assert_eq!(h.headers["x-a"], "1");
        assert_eq!(h.headers[header::CONTENT_LENGTH], "5");
        let h = head(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            false,
        )
        .unwrap();
        assert_eq!(h.framing, Framing::Chunked);
        assert!(!h.headers.contains_key(header::TRANSFER_ENCODING));
        let h = head("HTTP/1.1 200 OK\r\n\r\n", false).unwrap();
        assert_eq!(h.framing, Framing::ToEof);
        let h = head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true).unwrap();
        assert_eq!(h.framing, Framing::None);
        let h = head(
            "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
            false,
        )
        .unwrap();
        assert_eq!(h.framing, Framing::None);
        let h = head("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", false).unwrap();
        assert_eq!(h.status, 201);
        assert!(!h.keep_alive);
        let h = head("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false).unwrap();
        assert!(!h.keep_alive);
        let h = head(
            "HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\n",
            false,
        )
        .unwrap();
        assert!(h.keep_alive);
        let h = head(
            "HTTP/1.1 200 OK\r\nConnection: close, x-secret\r\nContent-Length: 0\r\n\r\n",
            false,
        )
        .unwrap();
        assert!(!h.keep_alive);
        assert_eq!(h.headers[header::CONNECTION], "close, x-secret");
        for bad in [
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: five\r\n\r\n",
            "HTTP/1.1 101 Switching Protocols\r\n\r\n",
            "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
            "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n",
            "HTTP/1.1 2000 OK\r\n\r\n",
            "SPDY/3 200 OK\r\n\r\n",
        ] {
            assert!(head(bad, false).is_err(), "{bad:?}");
        }
    }

    /// A server that answers each request on a connection with the next canned reply, and
    /// reports how many connections it accepted.
    async fn canned(replies: Vec<&'static str>) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = accepted.clone();
        let replies = Arc::new(replies);
        tokio::spawn(async move {
            let mut next = 0usize;
            loop {
                let Ok((s, _)) = l.accept().await else { return };
                count.fetch_add(1, Ordering::SeqCst);
                let (r, mut w) = s.into_split();
                let mut r = tokio::io::BufReader::new(r);
                loop {
                    // Read one request head (the tests send no bodies).
                    let mut line = String::new();
                    let mut ended = false;
                    loop {
                        line.clear();
                        match r.read_line(&mut line).await {
                            Ok(0) | Err(_) => break,
                            Ok(_) if line == "\r\n" => {
                                ended = true;
                                break;
                            }
                            Ok(_) => {}
                        }
                    }
                    if !ended {
                        break;
                    }
                    let reply = replies[next % replies.len()];
                    next += 1;
                    if w.write_all(reply.as_bytes()).await.is_err() {
                        break;
                    }
                    let delimited = reply.contains("Content-Length")
                        || reply.contains("Transfer-Encoding")
                        || reply.contains(" 204 ");
                    if reply.contains("Connection: close") || !delimited {
                        break;
                    }
                }
            }
        });
        (addr, accepted)
    }

    async fn get(
        pool: &Arc<Pool>,
    ) -> Result<(StatusCode, HeaderMap, Bytes, Option<HeaderMap>), BoxError> {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("t"));
        let resp = pool
            .send(
                &Method::GET,
                "/x",
                &h,
                &Bytes::new(),
                true,
                Duration::from_secs(5),
            )
            .await?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let mut body = resp.into_body();
        let mut data = BytesMut::new();
        let mut trailers = None;
        while let Some(frame) = body.frame().await {
            match frame?.into_data() {
                Ok(d) => data.extend_from_slice(&d),
                Err(f) => trailers = f.into_trailers().ok(),
            }
        }
        Ok((status, headers, data.freeze(), trailers))
    }

    fn pool(addr: &str) -> Arc<Pool> {
        Pool::new(addr, Duration::from_secs(2), Duration::from_secs(30), 4)
    }

    #[tokio::test]
    async fn reuses_connections_for_complete_responses() {
        let (addr, accepted) = canned(vec![
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 5\r\n\r\n",
            "HTTP/1.1 204 No Content\r\n\r\n",
        ])
        .await;
        let p = pool(&addr);
        let (s, _, b, _) = get(&p).await.unwrap();
        assert_eq!((s.as_u16(), &b[..]), (200, &b"hello"[..]));
        let (s, h, b, t) = get(&p).await.unwrap();
        assert_eq!((s.as_u16(), &b[..]), (200, &b"abcde"[..]));
        assert!(!h.contains_key(header::TRANSFER_ENCODING));
        assert_eq!(t.unwrap()["x-sum"], "5");
        let (s, _, b, _) = get(&p).await.unwrap();
        assert_eq!((s.as_u16(), b.len()), (204, 0));
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
        assert_eq!(p.idle_count(), 1);
    }

    #[tokio::test]
    async fn closes_connections_that_cannot_be_reused() {
        let (addr, accepted) = canned(vec![
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
            "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
        ])
        .await;
        let p = pool(&addr);
        for _ in 0..4 {
            let (s, _, b, _) = get(&p).await.unwrap();
            assert_eq!((s.as_u16(), &b[..]), (200, &b"ok"[..]));
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 4);
        assert_eq!(p.idle_count(), 0);
    }

    #[tokio::test]
    async fn reads_to_the_end_without_a_length() {
        let (addr, _) = canned(vec!["HTTP/1.1 200 OK\r\n\r\nuntil the end"]).await;
        let p = pool(&addr);
        let (_, _, b, _) = get(&p).await.unwrap();
        assert_eq!(&b[..], b"until the end");
        assert_eq!(p.idle_count(), 0);
    }

    #[tokio::test]
    async fn refuses_bad_framing() {
        for reply in [
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nshort",
        ] {
            let (addr, _) = canned(vec![reply]).await;
            let p = pool(&addr);
            assert!(get(&p).await.is_err(), "{reply:?}");
            assert_eq!(p.idle_count(), 0, "{reply:?}");
        }
    }

    #[tokio::test]
    async fn extra_bytes_after_a_response_retire_the_connection() {
        let (addr, accepted) = canned(vec![
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n",
        ])
        .await;
        let p = pool(&addr);
        get(&p).await.unwrap();
        assert_eq!(p.idle_count(), 0);
        get(&p).await.unwrap();
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_connection_closed_while_idle_is_not_used() {
        // The server answers once per connection and then closes it.
        let (addr, accepted) = canned(vec!["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"]).await;
        let p = pool(&addr);
        get(&p).await.unwrap();
        assert_eq!(p.idle_count(), 1);
        // Close every idle connection from the server side by shutting down the canned server's
        // connection: simulate with a second server that closes right after answering.
        let (addr2, accepted2) = {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let a = l.local_addr().unwrap().to_string();
            let n = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let n2 = n.clone();
            tokio::spawn(async move {
                loop {
                    let Ok((mut s, _)) = l.accept().await else {
                        return;
                    };
                    n2.fetch_add(1, Ordering::SeqCst);
                    let mut buf = [0u8; 1024];
                    let _ = s.read(&mut buf).await;
                    let _ = s
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                        .await;
                    // Closes without saying so in the response.
                }
            });
            (a, n)
        };
        let p2 = pool(&addr2);
        for _ in 0..3 {
            let (s, _, b, _) = get(&p2).await.unwrap();
            assert_eq!((s.as_u16(), &b[..]), (200, &b"ok"[..]));
            // Let the close reach the socket before the next request takes it from the pool.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(accepted2.load(Ordering::SeqCst), 3);
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn stale_connection_is_retried_once_for_idempotent_requests() {
        // Closes each connection right after its response, with no pause: the next request
        // may find the pooled connection closed only when it uses it.
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = l.accept().await else {
                    return;
                };
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    .await;
            }
        });
        let p = pool(&addr);
        for _ in 0..20 {
            let (s, _, _, _) = get(&p).await.unwrap();
            assert_eq!(s, 200);
        }
    }

    #[test]
    fn decoding_does_not_depend_on_how_bytes_arrive() {
        let samples: [&[u8]; 6] = [
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;e\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA",
            b"HTTP/1.1 200 OK\r\n\r\nto the end",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX",
            b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort",
        ];
        for bytes in samples {
            let whole = decode_response(bytes, &[], false);
            for cut in 0..bytes.len() {
                assert_eq!(decode_response(bytes, &[cut], false), whole, "cut at {cut}");
            }
            let each: Vec<usize> = (1..bytes.len()).collect();
            assert_eq!(decode_response(bytes, &each, false), whole);
        }
        let ok = decode_response(samples[1], &[], false).unwrap();
        assert_eq!((ok.body.as_slice(), ok.reusable), (&b"abc"[..], true));
        assert_eq!(ok.trailers, vec![("x-t".to_owned(), b"1".to_vec())]);
        assert!(!decode_response(samples[2], &[], false).unwrap().reusable);
        assert!(!decode_response(samples[3], &[], false).unwrap().reusable);
        assert!(decode_response(samples[4], &[], false).is_err());
        assert!(decode_response(samples[5], &[], false).is_err());
        // A chunk line over the limit is refused however it arrives.
        let mut long = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;".to_vec();
        long.extend(std::iter::repeat_n(b'x', MAX_CHUNK_LINE));
        long.extend_from_slice(b"\r\na\r\n0\r\n\r\n");
        assert!(decode_response(&long, &[], false).is_err());
        assert!(decode_response(&long, &[60, 2000], false).is_err());
    }

    #[test]
    fn head_encoding_owns_the_framing() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("api"));
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("999"));
        h.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        h.append("x-two", HeaderValue::from_static("a"));
        h.append("x-two", HeaderValue::from_static("b"));
        let mut out = BytesMut::new();
        encode_head(&Method::POST, "/p?q=1", &h, 3, &mut out);
        assert_eq!(
            &out[..],
            b"POST /p?q=1 HTTP/1.1\r\nhost: api\r\nx-two: a\r\nx-two: b\r\ncontent-length: 3\r\n\r\n"
        );
        let mut out = BytesMut::new();
        encode_head(&Method::POST, "/", &h, 0, &mut out);
        assert!(out.ends_with(b"content-length: 0\r\n\r\n"));
        h.remove(header::CONTENT_LENGTH);
        let mut out = BytesMut::new();
        encode_head(&Method::GET, "/", &h, 0, &mut out);
        assert!(
            !out.windows(14)
                .any(|w| w.eq_ignore_ascii_case(b"content-length"))
        );
    }
}
