//! The one body type used on both sides of the proxy, and the body wrappers that enforce the
//! request size limit and count response bytes for the access log.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;

/// Boxed error carried by bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body type of every request and response the gateway handles.
pub type Body = BoxBody<Bytes, BoxError>;

/// Why [`read_capped`] stopped.
#[derive(Debug)]
pub enum ReadError<E> {
    /// The body is longer than the cap.
    TooLarge,
    /// The body failed.
    Body(E),
}

/// Reads `body` into memory, at most `cap` bytes. Frame by frame rather than `Limited` +
/// `collect`: that future is not `Send` inside the proxy's and fetcher's tasks, because its
/// boxed error type is higher-ranked.
pub async fn read_capped<B>(mut body: B, cap: usize) -> Result<Bytes, ReadError<B::Error>>
where
    B: http_body::Body<Data = Bytes> + Unpin,
{
    let mut buf = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.map_err(ReadError::Body)?.into_data() {
            if buf.len() + data.len() > cap {
                return Err(ReadError::TooLarge);
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}

/// A complete body from bytes.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    http_body_util::Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// An empty body.
pub fn empty() -> Body {
    http_body_util::Empty::new()
        .map_err(|never| match never {})
        .boxed()
}

/// The body grew past its limit while streaming.
#[derive(Debug, thiserror::Error)]
#[error("request body exceeds the limit of {0} bytes")]
pub struct BodyTooLarge(pub u64);

/// What a streamed request body did, for the proxy and the access log: the bytes read, and
/// whether it crossed its limit (so the proxy answers 413 instead of 502). One allocation, made
/// only for a request that has a body.
#[derive(Debug, Default)]
pub struct BodyMeter {
    /// Bytes read so far.
    pub bytes: AtomicU64,
    /// The body went past its limit.
    pub tripped: AtomicBool,
}

pin_project_lite::pin_project! {
    /// Streams a request body and fails once more than `limit` bytes went through, recording
    /// both in its [`BodyMeter`].
    pub struct Limited<B> {
        #[pin]
        inner: B,
        seen: u64,
        limit: u64,
        meter: Arc<BodyMeter>,
    }
}

/// The strict-framing verdict of the connection a request arrives on, and the request's
/// index on it.
pub type WireCheck = (Arc<crate::listener::wire::WireState>, u64);

impl<B> Limited<B> {
    /// Wraps `inner` with `limit`, counting into `meter`.
    pub fn new(inner: B, limit: u64, meter: Arc<BodyMeter>) -> Self {
        Self {
            inner,
            seen: 0,
            limit,
            meter,
        }
    }
}

impl<B> http_body::Body for Limited<B>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        match this.inner.poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    *this.seen += data.len() as u64;
                    this.meter
                        .bytes
                        .fetch_add(data.len() as u64, Ordering::Relaxed);
                    if *this.seen > *this.limit {
                        this.meter.tripped.store(true, Ordering::Relaxed);
                        return Poll::Ready(Some(Err(Box::new(BodyTooLarge(*this.limit)))));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project_lite::pin_project! {
    /// Counts response bytes and runs `on_done` once when the body ends or is dropped (the
    /// client went away), so the access-log record has the real size and duration.
    pub struct Observed<B: http_body::Body, F: FnOnce(u64, bool)> {
        #[pin]
        inner: B,
        bytes: u64,
        on_done: Option<F>,
        complete: bool,
    }

    impl<B: http_body::Body, F: FnOnce(u64, bool)> PinnedDrop for Observed<B, F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(f) = this.on_done.take() {
                // hyper stops polling once `is_end_stream()` is true, so ask the body too.
                let done = *this.complete || this.inner.as_ref().get_ref().is_end_stream();
                f(*this.bytes, done);
            }
        }
    }
}

impl<B: http_body::Body, F: FnOnce(u64, bool)> Observed<B, F> {
    /// Wraps `inner`; `on_done(bytes, completed)` runs exactly once.
    pub fn new(inner: B, on_done: F) -> Self {
        Self {
            inner,
            bytes: 0,
            on_done: Some(on_done),
            complete: false,
        }
    }
}

impl<B, F> http_body::Body for Observed<B, F>
where
    B: http_body::Body<Data = Bytes>,
    F: FnOnce(u64, bool),
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.project();
        let res = this.inner.poll_frame(cx);
        match &res {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(d) = frame.data_ref() {
                    *this.bytes += d.len() as u64;
                }
            }
            Poll::Ready(None) => *this.complete = true,
            _ => {}
        }
        res
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// What [`read_prefix`] read.
pub enum Prefix {
    /// The whole body, which fit within the cap.
    Complete(Bytes),
    /// The first bytes (a little over the cap) and the unread rest.
    Partial(Bytes, Body),
}

/// Reads `body` until it ends or more than `cap` bytes are in memory. Trailers are dropped.
/// On an error the body comes back too, for [`linger`].
pub async fn read_prefix(mut body: Body, cap: usize) -> Result<Prefix, (BoxError, Body)> {
    let mut buf = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(f) => f,
            Err(e) => return Err((e, body)),
        };
        if let Ok(data) = frame.into_data() {
            buf.extend_from_slice(&data);
            if buf.len() > cap {
                return Ok(Prefix::Partial(buf.freeze(), body));
            }
        }
    }
    Ok(Prefix::Complete(buf.freeze()))
}

/// Reads and discards what is left of a refused request body for a little while (at most
/// 1 MiB or 2 s), so the client, still sending, reads the answer instead of a connection reset
/// (the "lingering close" of other servers).
pub fn linger(mut body: Body) {
    tokio::spawn(async move {
        let mut left: usize = 1024 * 1024;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
        while left > 0 {
            match tokio::time::timeout_at(deadline, body.frame()).await {
                Ok(Some(Ok(f))) => {
                    left = left.saturating_sub(f.data_ref().map_or(0, Bytes::len));
                }
                // A limit error still lets the rest be read; anything else ends it.
                Ok(Some(Err(e))) if e.is::<BodyTooLarge>() => left = left.saturating_sub(16 * 1024),
                _ => break,
            }
        }
    });
}

/// A body that yields `head` and then the rest of `inner` (for a body partly read into memory).
pub fn prefixed(head: Bytes, inner: Body) -> Body {
    Prefixed {
        head: Some(head),
        inner,
    }
    .boxed()
}

struct Prefixed {
    head: Option<Bytes>,
    inner: Body,
}

impl http_body::Body for Prefixed {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(h) = self.head.take() {
            return Poll::Ready(Some(Ok(Frame::data(h))));
        }
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.head.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let inner = self.inner.size_hint();
        let n = self.head.as_ref().map_or(0, |b| b.len() as u64);
        match inner.exact() {
            Some(e) => SizeHint::with_exact(e + n),
            None => {
                let mut h = SizeHint::new();
                h.set_lower(inner.lower() + n);
                h
            }
        }
    }
}
