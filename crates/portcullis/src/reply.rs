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
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::Gone => StatusCode::GONE,
            Self::NoHealthyUpstream | Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::BadGateway => StatusCode::BAD_GATEWAY,
            Self::GatewayTimeout => StatusCode::GATEWAY_TIMEOUT,
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
            Self::BadRequest => "bad_request",
            Self::Gone => "gone",
            Self::NoHealthyUpstream => "no_healthy_upstream",
            Self::BadGateway => "bad_gateway",
            Self::GatewayTimeout => "gateway_timeout",
            Self::Unavailable => "unavailable",
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
            Self::BadRequest => "Malformed request",
            Self::Gone => "This API has been retired",
            Self::NoHealthyUpstream => "No healthy upstream",
            Self::BadGateway => "Upstream failed",
            Self::GatewayTimeout => "Upstream timed out",
            Self::Unavailable => "Service unavailable",
        }
    }
}

/// Renders `problem` as problem+json for `request_id`, with an optional detail that must not
/// contain internals or request data.
pub fn problem(problem: Problem, request_id: &str, detail: Option<&str>) -> Response<Body> {
    let mut doc = serde_json::json!({
        "type": format!("urn:portcullis:problem:{}", problem.as_str()),
        "title": problem.title(),
        "status": problem.status().as_u16(),
        "request_id": request_id,
    });
    if let (Some(d), Some(obj)) = (detail, doc.as_object_mut()) {
        obj.insert("detail".into(), d.into());
    }
    let body = Bytes::from(doc.to_string());
    let mut resp = Response::new(full(body));
    *resp.status_mut() = problem.status();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
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
        let body = crate::proxy::read_bounded(resp.into_body(), 4096)
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["request_id"], "abc123");
        assert_eq!(v["status"], 404);
        assert_eq!(v["type"], "urn:portcullis:problem:route_not_found");
    }
}
