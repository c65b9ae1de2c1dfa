//! An independent oracle for strict HTTP/1 framing, for the tests: a byte-level state machine
//! that reads a client's byte stream and names the first request that breaks RFC 9112 framing
//! as the gateway enforces it (docs/inputs.md, "What is refused"). It was the gateway's own
//! wire check until the HTTP/1.1 server took those checks into its head parser and body
//! decoder; it stays here as a second implementation the server is compared against (the
//! smuggling corpus test checks every request the upstream received, and the `h1_request`
//! fuzz target includes this file with `#[path]`).

use portcullis::listener::wire::Violation;

/// Longest framing header value kept for checking (longer is a violation).
const VALUE_CAP: usize = 64;
/// Longest chunk extension list on one chunk line.
const EXT_CAP: u32 = 1024;
/// Most hex digits in a chunk size (16 fill a u64).
const SIZE_DIGITS: u8 = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    /// Before a request line: empty lines (CRLF) are skipped.
    Start,
    StartCr,
    Method,
    Target,
    Version,
    RequestLineCr,
    /// At the start of a field line (or the empty line ending the section).
    LineStart,
    Name,
    Value,
    ValueCr,
    EndCr,
    ChunkSize,
    ChunkSizeWs,
    ChunkExt,
    ChunkSizeCr,
    ChunkData,
    ChunkDataCr,
    ChunkDataLf,
    Fixed,
    /// HTTP/2 prior knowledge, or after the first violation: bytes are not looked at.
    Done,
}

/// Which framing header the current field line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Other,
    ContentLength,
    TransferEncoding,
}

/// The byte-level state machine. Feed it every byte the client sends, in order.
#[derive(Debug)]
pub struct Scanner {
    st: St,
    /// Complete request heads seen.
    heads: u64,
    /// Bytes of the current token (method, version, name) seen so far.
    tok_len: u16,
    /// The first bytes of the request line's method and version.
    tok: [u8; 8],
    http10: bool,
    /// Lower-cased field name prefix, for recognising framing headers.
    name: [u8; 17],
    field: Field,
    value: [u8; VALUE_CAP],
    value_len: usize,
    in_trailer: bool,
    cl_count: u8,
    te_count: u8,
    content_length: u64,
    chunked: bool,
    chunk_digits: u8,
    ext_len: u32,
    remaining: u64,
    /// What the scanner found, once it found something.
    pub found: Option<(u64, Violation)>,
}

impl Default for Scanner {
    fn default() -> Self {
        Self {
            st: St::Start,
            heads: 0,
            tok_len: 0,
            tok: [0; 8],
            http10: false,
            name: [0; 17],
            field: Field::Other,
            value: [0; VALUE_CAP],
            value_len: 0,
            in_trailer: false,
            cl_count: 0,
            te_count: 0,
            content_length: 0,
            chunked: false,
            chunk_digits: 0,
            ext_len: 0,
            remaining: 0,
            found: None,
        }
    }
}

/// RFC 9110 token characters, as a table.
const TCHAR: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        i += 1;
    }
    t
};

fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

fn is_value_byte(b: u8) -> bool {
    b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80
}

impl Scanner {
    /// Index of the request the next byte belongs to.
    fn current(&self) -> u64 {
        match self.st {
            St::ChunkSize
            | St::ChunkSizeWs
            | St::ChunkExt
            | St::ChunkSizeCr
            | St::ChunkData
            | St::ChunkDataCr
            | St::ChunkDataLf
            | St::Fixed => self.heads.saturating_sub(1),
            St::LineStart | St::Name | St::Value | St::ValueCr | St::EndCr if self.in_trailer => {
                self.heads.saturating_sub(1)
            }
            _ => self.heads,
        }
    }

    fn fail(&mut self, v: Violation) {
        self.found = Some((self.current(), v));
        self.st = St::Done;
    }

    /// Feeds bytes; returns the violation found in them, if this call found one.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Option<(u64, Violation)> {
        while !bytes.is_empty() {
            match self.st {
                St::Done => return None,
                St::Fixed | St::ChunkData => {
                    // Body bytes are skipped in bulk.
                    let n = usize::try_from(self.remaining)
                        .unwrap_or(usize::MAX)
                        .min(bytes.len());
                    self.remaining -= n as u64;
                    bytes = &bytes[n..];
                    if self.remaining == 0 {
                        self.st = if self.st == St::Fixed {
                            St::Start
                        } else {
                            St::ChunkDataCr
                        };
                    }
                }
                // Ordinary field values and targets are skipped in bulk too: only the byte that
                // ends them goes through the state machine below.
                St::Value if self.field == Field::Other && is_value_byte(bytes[0]) => {
                    let n = bytes.iter().take_while(|b| is_value_byte(**b)).count();
                    bytes = &bytes[n..];
                }
                // Field names too: only the first bytes are kept, to recognise the framing
                // fields.
                St::Name if is_tchar(bytes[0]) => {
                    let n = bytes.iter().take_while(|b| is_tchar(**b)).count();
                    let at = usize::from(self.tok_len).min(self.name.len());
                    let room = (self.name.len() - at).min(n);
                    for (slot, b) in self.name[at..at + room].iter_mut().zip(bytes) {
                        *slot = b.to_ascii_lowercase();
                    }
                    self.tok_len = self
                        .tok_len
                        .saturating_add(u16::try_from(n).unwrap_or(u16::MAX));
                    bytes = &bytes[n..];
                }
                St::Target if self.tok_len > 0 && (0x21..=0x7e).contains(&bytes[0]) => {
                    let n = bytes
                        .iter()
                        .take_while(|b| (0x21..=0x7e).contains(*b))
                        .count();
                    self.tok_len = self
                        .tok_len
                        .saturating_add(u16::try_from(n).unwrap_or(u16::MAX));
                    bytes = &bytes[n..];
                }
                _ => {
                    let b = bytes[0];
                    bytes = &bytes[1..];
                    self.step(b);
                    if let Some(f) = self.found.filter(|_| self.st == St::Done) {
                        return Some(f);
                    }
                }
            }
        }
        None
    }

    fn step(&mut self, b: u8) {
        match self.st {
            St::Start => match b {
                b'\r' => self.st = St::StartCr,
                b'\n' => self.fail(Violation::BareLf),
                b if is_tchar(b) => self.begin_request(b),
                _ => self.fail(Violation::RequestLine),
            },
            St::StartCr => match b {
                b'\n' => self.st = St::Start,
                _ => self.fail(Violation::BareCr),
            },
            St::Method => match b {
                b' ' => {
                    self.tok_len = 0;
                    self.st = St::Target;
                }
                b if is_tchar(b) => self.push_tok(b),
                _ => self.fail(Violation::RequestLine),
            },
            St::Target => match b {
                b' ' if self.tok_len > 0 => {
                    self.tok_len = 0;
                    self.st = St::Version;
                }
                0x21..=0x7e => self.tok_len = self.tok_len.saturating_add(1),
                _ => self.fail(Violation::RequestLine),
            },
            St::Version => match b {
                b'\r' => self.st = St::RequestLineCr,
                b'\n' => self.fail(Violation::BareLf),
                _ => self.push_tok(b),
            },
            St::RequestLineCr => {
                if b != b'\n' {
                    return self.fail(Violation::BareCr);
                }
                match (&self.tok[..], self.tok_len) {
                    (b"HTTP/1.1", 8) => self.http10 = false,
                    (b"HTTP/1.0", 8) => self.http10 = true,
                    // HTTP/2 with prior knowledge: the h2 codec checks its own framing.
                    (b"HTTP/2.0", 8) if self.heads == 0 => {
                        self.st = St::Done;
                        return;
                    }
                    _ => return self.fail(Violation::RequestLine),
                }
                self.st = St::LineStart;
            }
            St::LineStart => match b {
                b'\r' => self.st = St::EndCr,
                b'\n' => self.fail(Violation::BareLf),
                b' ' | b'\t' => self.fail(Violation::ObsFold),
                b if is_tchar(b) => {
                    self.tok_len = 0;
                    self.field = Field::Other;
                    self.push_name(b);
                    self.st = St::Name;
                }
                _ => self.fail(Violation::FieldName),
            },
            St::Name => match b {
                b':' => {
                    self.field = self.classify();
                    self.value_len = 0;
                    self.st = St::Value;
                }
                b if is_tchar(b) => self.push_name(b),
                _ => self.fail(Violation::FieldName),
            },
            St::Value => match b {
                b'\r' => self.st = St::ValueCr,
                b'\n' => self.fail(Violation::BareLf),
                b if is_value_byte(b) => {
                    if self.field != Field::Other {
                        if self.value_len == VALUE_CAP {
                            return self.fail(self.field_violation());
                        }
                        self.value[self.value_len] = b;
                        self.value_len += 1;
                    }
                }
                _ => self.fail(Violation::FieldValue),
            },
            St::ValueCr => {
                if b != b'\n' {
                    return self.fail(Violation::BareCr);
                }
                self.end_field();
                if self.st != St::Done {
                    self.st = St::LineStart;
                }
            }
            St::EndCr => {
                if b != b'\n' {
                    return self.fail(Violation::BareCr);
                }
                self.end_section();
            }
            St::ChunkSize => match b {
                b if b.is_ascii_hexdigit() => {
                    if self.chunk_digits == SIZE_DIGITS {
                        return self.fail(Violation::ChunkSize);
                    }
                    self.chunk_digits += 1;
                    let d = (b as char).to_digit(16).unwrap_or(0);
                    self.remaining = (self.remaining << 4) | u64::from(d);
                }
                _ if self.chunk_digits == 0 => self.fail(Violation::ChunkSize),
                b'\r' => self.st = St::ChunkSizeCr,
                b';' => {
                    self.ext_len = 0;
                    self.st = St::ChunkExt;
                }
                b' ' | b'\t' => self.st = St::ChunkSizeWs,
                b'\n' => self.fail(Violation::BareLf),
                _ => self.fail(Violation::ChunkSize),
            },
            St::ChunkSizeWs => match b {
                b' ' | b'\t' => {}
                b';' => {
                    self.ext_len = 0;
                    self.st = St::ChunkExt;
                }
                _ => self.fail(Violation::ChunkSize),
            },
            St::ChunkExt => match b {
                b'\r' => self.st = St::ChunkSizeCr,
                b'\n' => self.fail(Violation::BareLf),
                b if is_value_byte(b) => {
                    self.ext_len += 1;
                    if self.ext_len > EXT_CAP {
                        self.fail(Violation::ChunkExtension);
                    }
                }
                _ => self.fail(Violation::ChunkExtension),
            },
            St::ChunkSizeCr => {
                if b != b'\n' {
                    return self.fail(Violation::BareCr);
                }
                if self.remaining == 0 {
                    self.in_trailer = true;
                    self.st = St::LineStart;
                } else {
                    self.st = St::ChunkData;
                }
            }
            St::ChunkDataCr => match b {
                b'\r' => self.st = St::ChunkDataLf,
                _ => self.fail(Violation::ChunkData),
            },
            St::ChunkDataLf => match b {
                b'\n' => self.begin_chunk(),
                _ => self.fail(Violation::ChunkData),
            },
            St::Fixed | St::ChunkData | St::Done => {}
        }
    }

    fn begin_request(&mut self, first: u8) {
        self.tok_len = 0;
        self.tok = [0; 8];
        self.push_tok(first);
        self.cl_count = 0;
        self.te_count = 0;
        self.content_length = 0;
        self.chunked = false;
        self.in_trailer = false;
        self.st = St::Method;
    }

    fn begin_chunk(&mut self) {
        self.chunk_digits = 0;
        self.remaining = 0;
        self.st = St::ChunkSize;
    }

    /// Keeps the first 8 bytes of the method or version (the version is compared whole).
    fn push_tok(&mut self, b: u8) {
        if let Some(slot) = self.tok.get_mut(usize::from(self.tok_len)) {
            *slot = b;
        }
        self.tok_len = self.tok_len.saturating_add(1);
        if self.st == St::Version && self.tok_len > 8 {
            self.fail(Violation::RequestLine);
        }
    }

    fn push_name(&mut self, b: u8) {
        if let Some(slot) = self.name.get_mut(usize::from(self.tok_len)) {
            *slot = b.to_ascii_lowercase();
        }
        self.tok_len = self.tok_len.saturating_add(1);
    }

    fn classify(&self) -> Field {
        match (&self.name[..], self.tok_len) {
            (n, 14) if &n[..14] == b"content-length" => Field::ContentLength,
            (n, 17) if n == b"transfer-encoding" => Field::TransferEncoding,
            _ => Field::Other,
        }
    }

    fn field_violation(&self) -> Violation {
        match self.field {
            Field::TransferEncoding => Violation::TransferEncoding,
            _ => Violation::ContentLength,
        }
    }

    fn end_field(&mut self) {
        if self.in_trailer {
            // Framing fields in a trailer section mean nothing and are dropped by hyper, but
            // a sender that puts them there is probing for a parser that honours them.
            if self.field != Field::Other {
                self.fail(self.field_violation());
            }
            return;
        }
        let v = self.value[..self.value_len].trim_ascii();
        match self.field {
            Field::Other => {}
            Field::ContentLength => {
                self.cl_count += 1;
                let ok = !v.is_empty() && v.len() <= 19 && v.iter().all(u8::is_ascii_digit);
                if !ok || self.cl_count > 1 {
                    return self.fail(Violation::ContentLength);
                }
                self.content_length = v.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
            }
            Field::TransferEncoding => {
                self.te_count += 1;
                if self.te_count > 1 || !v.eq_ignore_ascii_case(b"chunked") {
                    return self.fail(Violation::TransferEncoding);
                }
                self.chunked = true;
            }
        }
    }

    fn end_section(&mut self) {
        if self.in_trailer {
            self.in_trailer = false;
            self.st = St::Start;
            return;
        }
        if self.chunked && self.cl_count > 0 {
            return self.fail(Violation::TeAndCl);
        }
        if self.chunked && self.http10 {
            return self.fail(Violation::TeInHttp10);
        }
        self.heads += 1;
        if self.chunked {
            self.begin_chunk();
        } else if self.content_length > 0 {
            self.remaining = self.content_length;
            self.st = St::Fixed;
        } else {
            self.st = St::Start;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(raw: &[u8]) -> Option<(u64, Violation)> {
        let mut s = Scanner::default();
        s.feed(raw)
    }

    /// Same result whether the bytes come at once or one at a time.
    fn scan_both(raw: &[u8]) -> Option<(u64, Violation)> {
        let whole = scan(raw);
        let mut s = Scanner::default();
        let mut bytewise = None;
        for b in raw {
            if let Some(f) = s.feed(std::slice::from_ref(b)) {
                bytewise = Some(f);
            }
        }
        assert_eq!(whole, bytewise, "{}", String::from_utf8_lossy(raw));
        whole
    }

    #[test]
    fn accepts_clean_requests_and_pipelines() {
        let ok: &[&[u8]] = &[
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
            b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
            b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: a\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked \r\n\r\n5;a=b\r\nhello\r\n0\r\nX: y\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 010\r\n\r\n0123456789",
            b"GET / HTTP/1.0\r\n\r\n",
            b"GET /login HTTP/1.1\r\nHost: a\r\nUser: \x85admin\xa0\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer_Encoding: chunked\r\nContent-Length: 1\r\n\r\nx",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04",
        ];
        for raw in ok {
            assert_eq!(scan_both(raw), None, "{}", String::from_utf8_lossy(raw));
        }
    }

    #[test]
    fn rejects_framing_ambiguities_and_names_the_request() {
        let bad: &[(&[u8], u64, Violation)] = &[
            (b"GET / HTTP/1.1\nHost: a\r\n\r\n", 0, Violation::BareLf),
            (b"GET / HTTP/1.1\r\n\nHost: a\r\n\r\n", 0, Violation::BareLf),
            (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 0, Violation::BareCr),
            (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 0, Violation::ObsFold),
            (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 0, Violation::FieldName),
            (b"GET / HTTP/1.1\r\nX: a\x00\r\n\r\n", 0, Violation::FieldValue),
            (b"GET  / HTTP/1.1\r\n\r\n", 0, Violation::RequestLine),
            (b"GET\t/ HTTP/1.1\r\n\r\n", 0, Violation::RequestLine),
            (b"GET / HTTP/1.2\r\n\r\n", 0, Violation::RequestLine),
            (b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 0, Violation::ContentLength),
            (b"GET / HTTP/1.1\r\nContent-Length: +1\r\n\r\nx", 0, Violation::ContentLength),
            (b"GET / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\nx", 0, Violation::ContentLength),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 0, Violation::TransferEncoding),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 0, Violation::TransferEncoding),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: ,chunked\r\n\r\n", 0, Violation::TransferEncoding),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 0, Violation::TeAndCl),
            (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 0, Violation::TeInHttp10),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0_2e\r\n\r\n", 0, Violation::ChunkSize),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\r\n0\r\n\r\n", 0, Violation::ChunkSize),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n11111111111111111\r\n", 0, Violation::ChunkSize),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nXY0\r\n\r\n", 0, Violation::ChunkData),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\n0\r\n\r\n", 0, Violation::ChunkData),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 5\r\n\r\n", 0, Violation::ContentLength),
            (b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nInvalid\r\n\r\n", 1, Violation::RequestLine),
            (b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nX: \x01\r\n\r\n", 1, Violation::FieldValue),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nz\r\n", 0, Violation::ChunkSize),
        ];
        for (raw, index, v) in bad {
            assert_eq!(
                scan_both(raw),
                Some((*index, *v)),
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
    }
}
