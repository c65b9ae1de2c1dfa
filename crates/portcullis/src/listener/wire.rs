//! Strict HTTP/1 framing: what is refused, and where the verdict on each request is kept.
//!
//! httparse, which reads request heads, is lenient where RFC 9112 lets a recipient be (bare LF
//! line endings, empty lines before the request line) and leaves the framing fields to its
//! caller. On a listener with `strict_http`, the HTTP/1.1 server ([`super::http1`]) adds the
//! checks a gateway must make: [`line_endings`] on every head, the framing fields
//! (`Content-Length`, `Transfer-Encoding`) while it reads them, and the body decoder's strict
//! chunked framing on every request body. The first violation on a connection is recorded in
//! its [`WireState`] with the index of the request it belongs to. The proxy asks
//! [`WireState::violation`] for each request: the `validate` stage answers 400 with the
//! violation's outcome and closes the connection, and a body that breaks off for a framing
//! violation is refused the same way, so nothing from that request on reaches an upstream.
//!
//! An independent byte-level oracle of the same rules lives in the end-to-end tests
//! (`tests/e2e/oracle.rs`); the smuggling corpus test and the `h1_request` fuzz target compare
//! the server with it.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

/// What was wrong with the bytes. The discriminant is stored in an atomic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Violation {
    /// Request line not `method SP target SP HTTP/1.x CRLF`.
    RequestLine = 1,
    /// A line ended with LF alone.
    BareLf,
    /// CR not followed by LF.
    BareCr,
    /// A field line starting with whitespace (obs-fold).
    ObsFold,
    /// A field name with whitespace or a non-token byte.
    FieldName,
    /// NUL, another control byte or DEL in a field value.
    FieldValue,
    /// `Content-Length` not one decimal number, or more than one.
    ContentLength,
    /// `Transfer-Encoding` other than one final `chunked`, or more than one.
    TransferEncoding,
    /// Both `Transfer-Encoding` and `Content-Length`.
    TeAndCl,
    /// `Transfer-Encoding` in an HTTP/1.0 request.
    TeInHttp10,
    /// A chunk size that is not 1 to 16 hex digits.
    ChunkSize,
    /// A malformed or oversized chunk extension.
    ChunkExtension,
    /// Chunk data not followed by CRLF.
    ChunkData,
    /// A trailer section over the decoder's size or field limits.
    TrailerSection,
}

impl Violation {
    const ALL: [Violation; 14] = [
        Self::RequestLine,
        Self::BareLf,
        Self::BareCr,
        Self::ObsFold,
        Self::FieldName,
        Self::FieldValue,
        Self::ContentLength,
        Self::TransferEncoding,
        Self::TeAndCl,
        Self::TeInHttp10,
        Self::ChunkSize,
        Self::ChunkExtension,
        Self::ChunkData,
        Self::TrailerSection,
    ];

    /// A client-safe explanation for the problem `detail`.
    pub fn detail(self) -> &'static str {
        match self {
            Self::RequestLine => "malformed request line",
            Self::BareLf => "line ends with LF without CR",
            Self::BareCr => "CR not followed by LF",
            Self::ObsFold => "obsolete line folding or whitespace before a field line",
            Self::FieldName => "invalid header field name",
            Self::FieldValue => "invalid byte in a header field value",
            Self::ContentLength => "invalid or repeated Content-Length",
            Self::TransferEncoding => "Transfer-Encoding must be exactly one final chunked",
            Self::TeAndCl => "both Transfer-Encoding and Content-Length",
            Self::TeInHttp10 => "Transfer-Encoding in an HTTP/1.0 request",
            Self::ChunkSize => "invalid chunk size",
            Self::ChunkExtension => "invalid chunk extension",
            Self::ChunkData => "chunk data not followed by CRLF",
            Self::TrailerSection => "trailer section too large",
        }
    }

    /// The low-cardinality outcome for logs and metrics.
    pub fn outcome(self) -> &'static str {
        match self {
            Self::RequestLine => "request_line",
            Self::BareLf => "bare_lf",
            Self::BareCr => "bare_cr",
            Self::ObsFold => "obs_fold",
            Self::FieldName => "field_name",
            Self::FieldValue => "field_value",
            Self::ContentLength => "content_length",
            Self::TransferEncoding => "transfer_encoding",
            Self::TeAndCl => "te_and_cl",
            Self::TeInHttp10 => "te_in_http10",
            Self::ChunkSize => "chunk_size",
            Self::ChunkExtension => "chunk_extension",
            Self::ChunkData => "chunk_data",
            Self::TrailerSection => "trailer_section",
        }
    }

    fn from_u8(v: u8) -> Option<Self> {
        Self::ALL.iter().copied().find(|x| *x as u8 == v)
    }
}

/// What the scanner found, shared between the connection's reader and its requests.
#[derive(Debug)]
pub struct WireState {
    /// Index of the first request that is not clean; `u64::MAX` while every byte was.
    bad_from: AtomicU64,
    /// The [`Violation`] as its discriminant; 0 while none.
    kind: AtomicU8,
    /// Requests handed to the proxy so far on this connection.
    requests: AtomicU64,
}

impl Default for WireState {
    fn default() -> Self {
        Self {
            bad_from: AtomicU64::new(u64::MAX),
            kind: AtomicU8::new(0),
            requests: AtomicU64::new(0),
        }
    }
}

impl WireState {
    /// Takes the next request index: called by the server once per HTTP/1 head, in order.
    pub fn next_request(&self) -> u64 {
        self.requests.fetch_add(1, Ordering::Relaxed)
    }

    /// The index of the request the server handed over last.
    pub fn current(&self) -> u64 {
        self.requests.load(Ordering::Relaxed).saturating_sub(1)
    }

    /// The violation affecting request `index`, if any. The server records a violation in a
    /// head before it hands the request over, and one in a body before the body fails.
    pub fn violation(&self, index: u64) -> Option<Violation> {
        if index < self.bad_from.load(Ordering::Acquire) {
            return None;
        }
        Violation::from_u8(self.kind.load(Ordering::Relaxed))
    }

    /// Records `v` for request `index` and those after it; the first record stands.
    pub fn record(&self, index: u64, v: Violation) {
        if self.bad_from.load(Ordering::Acquire) != u64::MAX {
            return;
        }
        self.kind.store(v as u8, Ordering::Relaxed);
        self.bad_from.store(index, Ordering::Release);
    }
}

/// Line endings of a request head (everything up to and including its empty line): every LF
/// must follow a CR and every CR precede an LF. httparse accepts a bare LF as a line ending.
pub fn line_endings(head: &[u8]) -> Option<Violation> {
    // Branch-free over the whole head (it vectorises): a CR exactly where an LF follows.
    let (Some(&first), Some(&last)) = (head.first(), head.last()) else {
        return None;
    };
    let mismatched = head[1..].iter().zip(head).fold(0u8, |acc, (&b, &before)| {
        acc | (u8::from(b == b'\n') ^ u8::from(before == b'\r'))
    });
    if mismatched == 0 && first != b'\n' && last != b'\r' {
        return None;
    }
    // Position of the LF the last CR promised.
    let mut want_lf = usize::MAX;
    for i in memchr::memchr2_iter(b'\r', b'\n', head) {
        if head[i] == b'\r' {
            if want_lf != usize::MAX {
                return Some(Violation::BareCr);
            }
            want_lf = i + 1;
        } else if want_lf == i {
            want_lf = usize::MAX;
        } else {
            return Some(Violation::BareLf);
        }
    }
    (want_lf != usize::MAX).then_some(Violation::BareCr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_reports_only_from_the_bad_request_on() {
        let st = WireState::default();
        assert_eq!(st.violation(0), None);
        st.record(2, Violation::BareLf);
        st.record(1, Violation::ChunkData);
        assert_eq!(st.violation(1), None);
        assert_eq!(st.violation(2), Some(Violation::BareLf));
        assert_eq!(st.violation(7), Some(Violation::BareLf));
        for v in Violation::ALL {
            assert_eq!(Violation::from_u8(v as u8), Some(v));
        }
    }

    #[test]
    fn heads_end_their_lines_with_crlf() {
        let cases: &[(&[u8], Option<Violation>)] = &[
            (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", None),
            (b"\r\nGET / HTTP/1.1\r\n\r\n", None),
            (b"GET / HTTP/1.1\nHost: a\r\n\r\n", Some(Violation::BareLf)),
            (b"\nGET / HTTP/1.1\r\n\r\n", Some(Violation::BareLf)),
            (b"GET / HTTP/1.1\r\nHost: a\r\n\n", Some(Violation::BareLf)),
            (
                b"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
                Some(Violation::BareCr),
            ),
            (b"GET / HTTP/1.1\r\r\n\r\n", Some(Violation::BareCr)),
            (b"GET / HTTP/1.1\r\n\r", Some(Violation::BareCr)),
        ];
        for (raw, want) in cases {
            assert_eq!(line_endings(raw), *want, "{}", String::from_utf8_lossy(raw));
        }
    }
}
