//! Every local reply: `application/problem+json` (RFC 9457) with a stable `type`, the status, a
//! short title and the request id. Internals (upstream addresses, error chains) never reach the
//! client; they go to the log instead.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

use crate::body::{Body, full};

/// Why a request was answered locally. The slug is the stable `type` suffix and the
/// low-cardinality reason in logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// No route matched.
    RouteNotFound,
    /// The route needs authentication and none was accepted.
    Unauthenticated,
    /// Authenticated, but not allowed.
    Forbidden,
    /// The route exists but not for this method.
    MethodNotAllowed,
    /// Request body over the limit.
    PayloadTooLarge,
    /// Request target longer than the limit.
    UriTooLong,
    /// Request head over the size or field-count limit.
    HeadersTooLarge,
    /// Malformed request.
    BadRequest,
    /// The route has been retired.
    Gone,
    /// No healthy target, or the circuit is open.
    NoHealthyUpstream,
    /// The upstream failed (connect error, reset, bad answer).
    BadGateway,
    /// The upstream did not answer in time.
    GatewayTimeout,
    /// The gateway is shutting down or overloaded.
    Unavailable,
    /// A rate limit is spent.
    TooManyRequests,
    /// A quota is spent until its window ends.
    QuotaExceeded,
    /// The client is banned for repeated offences.
    Banned,
    /// Too many requests in flight (a concurrency limit answering 503).
    ConcurrencyLimited,
    /// The WAF refused the request.
    RequestBlocked,
    /// The body's media type is not accepted by the route.
    UnsupportedMediaType,
    /// The body does not match the route's schema (422).
    SchemaViolation,
    /// The upstream's response does not match the OpenAPI description (502).
    InvalidResponse,
}

impl Problem {
    /// HTTP status for this problem.
    pub fn status(self) -> StatusCode {
        match self {
            Self::RouteNotFound => StatusCode::NOT_FOUND,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UriTooLong => StatusCode::URI_TOO_LONG,
            Self::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::Gone => StatusCode::GONE,
            Self::NoHealthyUpstream | Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::BadGateway => StatusCode::BAD_GATEWAY,
            Self::GatewayTimeout => StatusCode::GATEWAY_TIMEOUT,
            Self::TooManyRequests | Self::QuotaExceeded => StatusCode::TOO_MANY_REQUESTS,
            Self::Banned => StatusCode::FORBIDDEN,
            Self::ConcurrencyLimited => StatusCode::SERVICE_UNAVAILABLE,
            Self::RequestBlocked => StatusCode::FORBIDDEN,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::SchemaViolation => StatusCode::UNPROCESSABLE_ENTITY,
            Self::InvalidResponse => StatusCode::BAD_GATEWAY,
        }
    }

    /// Stable machine-readable reason, used in the `type` URI, logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RouteNotFound => "route_not_found",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UriTooLong => "uri_too_long",
            Self::HeadersTooLarge => "headers_too_large",
            Self::BadRequest => "bad_request",
            Self::Gone => "gone",
            Self::NoHealthyUpstream => "no_healthy_upstream",
            Self::BadGateway => "bad_gateway",
            Self::GatewayTimeout => "gateway_timeout",
            Self::Unavailable => "unavailable",
            Self::TooManyRequests => "rate_limited",
            Self::QuotaExceeded => "quota_exceeded",
            Self::Banned => "banned",
            Self::ConcurrencyLimited => "concurrency_limited",
            Self::RequestBlocked => "request_blocked",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::SchemaViolation => "schema_violation",
            Self::InvalidResponse => "invalid_response",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Self::RouteNotFound => "No route matches this request",
            Self::Unauthenticated => "Authentication required",
            Self::Forbidden => "Access denied",
            Self::MethodNotAllowed => "Method not allowed",
            Self::PayloadTooLarge => "Request body too large",
            Self::UriTooLong => "Request target too long",
            Self::HeadersTooLarge => "Request header fields too large",
            Self::BadRequest => "Malformed request",
            Self::Gone => "This API has been retired",
            Self::NoHealthyUpstream => "No healthy upstream",
            Self::BadGateway => "Upstream failed",
            Self::GatewayTimeout => "Upstream timed out",
            Self::Unavailable => "Service unavailable",
            Self::TooManyRequests => "Too many requests",
            Self::QuotaExceeded => "Quota exceeded",
            Self::Banned => "Client banned after repeated offences",
            Self::ConcurrencyLimited => "Too many requests in flight",
            Self::RequestBlocked => "Request blocked by the web application firewall",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::SchemaViolation => "Request body does not match the schema",
            Self::InvalidResponse => "Upstream response does not match the API description",
        }
    }
}

/// Renders `problem` as problem+json for `request_id`, with an optional detail that must not
/// contain internals or request data.
pub fn problem(problem: Problem, request_id: &str, detail: Option<&str>) -> Response<Body> {
    problem_with_errors(problem, request_id, detail, &[])
}

/// [`problem`] with an `errors` member: each a JSON Pointer into the request body and the
/// rule it broke (`[{"pointer":"/qty","keyword":"minimum"}]`), never a value.
pub fn problem_with_errors(
    problem: Problem,
    request_id: &str,
    detail: Option<&str>,
    errors: &[(String, String)],
) -> Response<Body> {
    // Written directly rather than through a `serde_json::Value`: this is the whole cost of
    // turning a request away, and building and serialising a value tree was about a quarter of
    // the instructions of a rejected request. Every string goes through `push_json_str`.
    let mut out = String::with_capacity(160 + request_id.len());
    out.push_str("{\"type\":\"urn:portcullis:problem:");
    out.push_str(problem.as_str());
    out.push_str("\",\"title\":");
    push_json_str(&mut out, problem.title());
    out.push_str(",\"status\":");
    out.push_str(itoa_status(problem.status().as_u16()).as_str());
    out.push_str(",\"request_id\":");
    push_json_str(&mut out, request_id);
    if let Some(d) = detail {
        out.push_str(",\"detail\":");
        push_json_str(&mut out, d);
    }
    if !errors.is_empty() {
        out.push_str(",\"errors\":[");
        for (i, (pointer, keyword)) in errors.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"pointer\":");
            push_json_str(&mut out, pointer);
            out.push_str(",\"keyword\":");
            push_json_str(&mut out, keyword);
            out.push('}');
        }
        out.push(']');
    }
    out.push('}');
    let body = Bytes::from(out);
    let mut resp = Response::new(full(body));
    *resp.status_mut() = problem.status();
    // Room for the headers every answer gets later (security headers, request id, a
    // challenge), so the map does not grow several times.
    *resp.headers_mut() = http::HeaderMap::with_capacity(12);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// Appends `s` as a JSON string literal (RFC 8259 escaping).
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    // Most strings (titles, request ids, details) need no escape at all: one pass without an
    // early exit, which the compiler turns into vector compares, then one copy.
    let plain = !s.bytes().fold(false, |any, b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if plain {
        out.push_str(s);
        out.push('"');
        return;
    }
    // Runs of characters that need no escape are copied whole.
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            b if b < 0x20 => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// A status code as text without the formatting machinery.
fn itoa_status(code: u16) -> StatusText {
    let mut b = [b'0'; 3];
    b[0] += (code / 100 % 10) as u8;
    b[1] += (code / 10 % 10) as u8;
    b[2] += (code % 10) as u8;
    StatusText(b)
}

struct StatusText([u8; 3]);

impl StatusText {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("500")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn renders_problem_json_with_request_id() {
        let resp = problem(Problem::RouteNotFound, "abc123", None);
        assert_eq!(resp.status(), 404);
        assert_eq!(
            resp.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let body = crate::body::read_capped(resp.into_body(), 4096)
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["request_id"], "abc123");
        assert_eq!(v["status"], 404);
        assert_eq!(v["type"], "urn:portcullis:problem:route_not_found");
    }

    #[tokio::test]
    async fn escapes_details_as_json() {
        let detail = "quote \" backslash \\ newline \n tab \t bell \u{7}";
        let resp = problem(Problem::BadRequest, "id-1", Some(detail));
        let body = crate::body::read_capped(resp.into_body(), 4096)
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["detail"], detail);
        assert_eq!(v["status"], 400);
        assert_eq!(v["title"], "Malformed request");
    }

    #[test]
    fn json_strings_match_serde_json() {
        for text in [
            "",
            "plain",
            "\"",
            "a\\b",
            "caf\u{e9} \u{1F600} \u{7f}",
            "\u{0}\u{1f}\r\n\t\u{8}\u{c}",
            "end\\",
            "\"start",
            "mixed \u{2028} and \u{1} and \"q\"",
        ] {
            let mut out = String::new();
            push_json_str(&mut out, text);
            let back: String = serde_json::from_str(&out).unwrap();
            assert_eq!(back, text, "{out}");
        }
    }
}
