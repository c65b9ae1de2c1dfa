//! The `validate` stage: strict HTTP rules on the parsed request, before routing.
//!
//! On a listener with `strict_http`, the HTTP/1.1 server checks the framing of each request as
//! it reads it ([`crate::listener::wire`]), and its verdict is answered first. This stage then
//! checks what is visible in the parsed head, for both HTTP/1 and HTTP/2: exactly one valid
//! `Host` (HTTP/1.1), and an absolute-form target that agrees with `Host`; for HTTP/2, no
//! connection-specific fields and no field values with leading or trailing whitespace
//! (RFC 9113 §8.2); for an HTTP/1 request whose framing the server did not check, a
//! `Transfer-Encoding` that is one final `chunked` and never next to `Content-Length`, and one
//! valid `Content-Length`. Every refusal is a 400 problem with a short detail.

use http::header::{self, HeaderMap, HeaderName};
use http::{Request, Version};

/// Checks one request head. `Err` carries the log outcome and the client-safe detail.
/// `framing_checked`: the HTTP/1.1 server already checked this request's framing fields
/// (`Transfer-Encoding`, `Content-Length`) as it parsed the head, on a listener with
/// `strict_http`, so they are not looked up again here.
pub fn check<B>(
    req: &Request<B>,
    framing_checked: bool,
) -> Result<(), (&'static str, &'static str)> {
    let h = req.headers();
    let h2 = req.version() == Version::HTTP_2;
    let mut hosts = h.get_all(header::HOST).iter();
    let host = hosts.next();
    if hosts.next().is_some() {
        return Err(("multiple_host", "more than one Host field"));
    }
    if let Some(v) = host
        && !valid_authority(v.as_bytes())
    {
        return Err(("invalid_host", "invalid Host field"));
    }
    let authority = req.uri().authority();
    if let Some(a) = authority
        && !valid_authority(a.as_str().as_bytes())
    {
        return Err(("invalid_host", "invalid authority in the request target"));
    }
    match (host, authority) {
        (None, None) if req.version() == Version::HTTP_11 => {
            return Err(("missing_host", "HTTP/1.1 request without Host"));
        }
        (Some(h), Some(a)) if !same_authority(h.as_bytes(), a.as_str().as_bytes()) => {
            return Err((
                "host_mismatch",
                "Host does not match the authority of the request target",
            ));
        }
        _ => {}
    }
    if h2 {
        return check_h2(h);
    }
    if framing_checked {
        return Ok(());
    }
    let mut te = h.get_all(header::TRANSFER_ENCODING).iter();
    if let Some(v) = te.next() {
        if te.next().is_some() || !v.as_bytes().trim_ascii().eq_ignore_ascii_case(b"chunked") {
            return Err((
                "transfer_encoding",
                "Transfer-Encoding must be exactly one final chunked",
            ));
        }
        if h.contains_key(header::CONTENT_LENGTH) {
            return Err(("te_and_cl", "both Transfer-Encoding and Content-Length"));
        }
        if req.version() == Version::HTTP_10 {
            return Err(("te_in_http10", "Transfer-Encoding in an HTTP/1.0 request"));
        }
    }
    let mut cl = h.get_all(header::CONTENT_LENGTH).iter();
    if let Some(v) = cl.next() {
        let b = v.as_bytes();
        if cl.next().is_some() || content_length(b).is_none() {
            return Err(("content_length", "invalid or repeated Content-Length"));
        }
    }
    Ok(())
}

/// One `Content-Length` value as every HTTP/1 reader here takes it (the server's framing, this
/// stage, and each element of the upstream client's list): 1 to 19 decimal digits.
pub fn content_length(raw: &[u8]) -> Option<u64> {
    if raw.is_empty() || raw.len() > 19 || !raw.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        raw.iter()
            .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0')),
    )
}

/// HTTP/2 field rules hyper's h2 codec leaves to the application.
fn check_h2(h: &HeaderMap) -> Result<(), (&'static str, &'static str)> {
    const CONNECTION_SPECIFIC: [HeaderName; 4] = [
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        HeaderName::from_static("keep-alive"),
    ];
    for name in &CONNECTION_SPECIFIC {
        if h.contains_key(name) {
            return Err((
                "connection_specific",
                "connection-specific field in an HTTP/2 request",
            ));
        }
    }
    if h.contains_key("proxy-connection")
        || h.get_all(header::TE)
            .iter()
            .any(|v| !v.as_bytes().eq_ignore_ascii_case(b"trailers"))
    {
        return Err((
            "connection_specific",
            "connection-specific field in an HTTP/2 request",
        ));
    }
    for v in h.values() {
        let b = v.as_bytes();
        if b.first().is_some_and(|c| matches!(c, b' ' | b'\t'))
            || b.last().is_some_and(|c| matches!(c, b' ' | b'\t'))
        {
            return Err((
                "field_whitespace",
                "field value with leading or trailing whitespace",
            ));
        }
    }
    Ok(())
}

/// `uri-host [ ":" port ]`: a reg-name, IPv4 or bracketed IPv6 literal, and digits.
fn valid_authority(b: &[u8]) -> bool {
    if b.is_empty() || b.len() > 255 + 6 {
        return false;
    }
    let (host, port) = if b[0] == b'[' {
        let Some(end) = b.iter().position(|c| *c == b']') else {
            return false;
        };
        let inner = &b[1..end];
        if inner.is_empty()
            || !inner
                .iter()
                .all(|c| c.is_ascii_hexdigit() || matches!(c, b':' | b'.'))
        {
            return false;
        }
        match &b[end + 1..] {
            [] => (&b[..=end], None),
            [b':', port @ ..] => (&b[..=end], Some(port)),
            _ => return false,
        }
    } else {
        match b.iter().rposition(|c| *c == b':') {
            Some(i) => (&b[..i], Some(&b[i + 1..])),
            None => (b, None),
        }
    };
    if host.is_empty() || port.is_some_and(|p| p.len() > 5 || !p.iter().all(u8::is_ascii_digit)) {
        return false;
    }
    host[0] == b'[' || host.iter().all(|&c| REG_NAME[usize::from(c)])
}

/// The bytes of a reg-name: unreserved, pct-encoded and sub-delims; `@` (userinfo) is not one.
const REG_NAME: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        table[i] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'%'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
            );
        i += 1;
    }
    table
};

/// Authorities compare case-insensitively, ignoring an empty port.
fn same_authority(a: &[u8], b: &[u8]) -> bool {
    fn trim(x: &[u8]) -> &[u8] {
        x.strip_suffix(b":").unwrap_or(x)
    }
    trim(a).eq_ignore_ascii_case(trim(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(version: Version, uri: &str, headers: &[(&str, &str)]) -> Request<()> {
        let mut b = Request::builder().version(version).uri(uri);
        for (n, v) in headers {
            b = b.header(*n, *v);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn host_rules() {
        let v11 = Version::HTTP_11;
        let cases: &[(Request<()>, Option<&str>)] = &[
            (req(v11, "/", &[("host", "a.example:8080")]), None),
            (req(v11, "/", &[("host", "[::1]:80")]), None),
            (req(v11, "/", &[]), Some("missing_host")),
            (req(Version::HTTP_10, "/", &[]), None),
            (
                req(v11, "/", &[("host", "a"), ("host", "b")]),
                Some("multiple_host"),
            ),
            (
                req(v11, "/", &[("host", "local host")]),
                Some("invalid_host"),
            ),
            (req(v11, "/", &[("host", "a@b")]), Some("invalid_host")),
            (req(v11, "/", &[("host", "a:80x")]), Some("invalid_host")),
            (
                req(v11, "http://localhost/x", &[("host", "evil.example")]),
                Some("host_mismatch"),
            ),
            (
                req(v11, "http://LOCALHOST/x", &[("host", "localhost")]),
                None,
            ),
        ];
        for (r, want) in cases {
            assert_eq!(check(r, false).err().map(|e| e.0), *want, "{r:?}");
        }
    }

    #[test]
    fn framing_rules() {
        let v11 = Version::HTTP_11;
        let h = ("host", "a");
        let cases: &[(Request<()>, Option<&str>)] = &[
            (req(v11, "/", &[h, ("transfer-encoding", "chunked")]), None),
            (
                req(v11, "/", &[h, ("transfer-encoding", "gzip, chunked")]),
                Some("transfer_encoding"),
            ),
            (
                req(
                    v11,
                    "/",
                    &[h, ("transfer-encoding", "chunked"), ("content-length", "3")],
                ),
                Some("te_and_cl"),
            ),
            (
                req(
                    v11,
                    "/",
                    &[h, ("content-length", "1"), ("content-length", "1")],
                ),
                Some("content_length"),
            ),
            (
                req(v11, "/", &[h, ("content-length", "00000000000000000005")]),
                Some("content_length"),
            ),
            (
                req(v11, "/", &[h, ("content-length", "0000000000000000005")]),
                None,
            ),
        ];
        for (r, want) in cases {
            assert_eq!(check(r, false).err().map(|e| e.0), *want, "{r:?}");
            // Framing the server checked is not looked at again; the Host rules still apply.
            assert_eq!(check(r, true), Ok(()), "{r:?}");
        }
        let no_host = req(
            v11,
            "/",
            &[("content-length", "1"), ("content-length", "1")],
        );
        assert_eq!(
            check(&no_host, true).err().map(|e| e.0),
            Some("missing_host")
        );
    }

    #[test]
    fn http2_rules() {
        let v2 = Version::HTTP_2;
        let a = "https://a.example/x";
        let cases: &[(Request<()>, Option<&str>)] = &[
            (req(v2, a, &[("te", "trailers")]), None),
            (
                req(v2, a, &[("connection", "close")]),
                Some("connection_specific"),
            ),
            (req(v2, a, &[("te", "gzip")]), Some("connection_specific")),
            (req(v2, a, &[("x", "\ta\t")]), Some("field_whitespace")),
            (req(v2, a, &[("host", "b.example")]), Some("host_mismatch")),
        ];
        for (r, want) in cases {
            assert_eq!(check(r, false).err().map(|e| e.0), *want, "{r:?}");
        }
    }
}
