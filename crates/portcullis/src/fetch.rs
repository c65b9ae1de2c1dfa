//! Outbound HTTP for the control plane: JWKS documents and token introspection. It reuses the
//! hyper client and rustls stack the upstream path already carries (no second HTTP stack in the
//! binary), adds a whole-exchange timeout and a cap on the answer's size, and never follows
//! redirects.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, StatusCode, Uri, header};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::body::{Body, empty, full};

type Inner = Client<hyper_rustls::HttpsConnector<HttpConnector>, Body>;

/// A client for one kind of control-plane call.
#[derive(Clone)]
pub struct Fetcher {
    client: Inner,
    timeout: Duration,
    max_bytes: usize,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("timeout", &self.timeout)
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

/// Why a fetch failed; the text is for logs.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// No answer within the timeout.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// Connection or protocol failure.
    #[error("request failed: {0}")]
    Transport(String),
    /// An answer other than 200.
    #[error("answered {0}")]
    Status(StatusCode),
    /// The answer was larger than allowed.
    #[error("answer larger than {0} bytes")]
    TooLarge(usize),
}

impl Fetcher {
    /// A client trusting the CA bundle at `ca` (PEM), or the system roots without one.
    pub fn new(ca: Option<&Path>, timeout: Duration, max_bytes: usize) -> Result<Self, String> {
        let roots = match ca {
            Some(path) => crate::upstream::load_ca_roots(path)?,
            None => {
                let mut roots = rustls::RootCertStore::empty();
                // A missing or partly unreadable system store leaves fewer roots; fetches from
                // servers it does not cover then fail with a certificate error in the log.
                let native = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(native.certs);
                roots
            }
        };
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let mut b = Client::builder(TokioExecutor::new());
        b.timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(2);
        Ok(Self {
            client: b.build(connector),
            timeout,
            max_bytes,
        })
    }

    /// `GET uri` expecting JSON; the body of a 200 answer.
    pub async fn get_json(&self, uri: &Uri) -> Result<Bytes, FetchError> {
        self.get_json_with_freshness(uri).await.map(|(b, _)| b)
    }

    /// `GET uri` expecting JSON; the body of a 200 answer and how long the server says it
    /// stays fresh by its caching headers (see [`freshness`]).
    pub async fn get_json_with_freshness(
        &self,
        uri: &Uri,
    ) -> Result<(Bytes, Option<Duration>), FetchError> {
        let req = Request::get(uri.clone())
            .header(header::ACCEPT, "application/json")
            .header(
                header::USER_AGENT,
                concat!("portcullis/", env!("CARGO_PKG_VERSION")),
            )
            .body(empty())
            .map_err(|e| FetchError::Transport(e.to_string()))?;
        self.send(req).await
    }

    /// `POST uri` with a form body and an `Authorization` header; the body of a 200 answer.
    pub async fn post_form(
        &self,
        uri: &Uri,
        authorization: Option<&HeaderValue>,
        form: String,
    ) -> Result<Bytes, FetchError> {
        let mut b = Request::post(uri.clone())
            .header(header::ACCEPT, "application/json")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(
                header::USER_AGENT,
                concat!("portcullis/", env!("CARGO_PKG_VERSION")),
            );
        if let Some(a) = authorization {
            b = b.header(header::AUTHORIZATION, a.clone());
        }
        let req = b
            .body(full(form))
            .map_err(|e| FetchError::Transport(e.to_string()))?;
        self.send(req).await.map(|(b, _)| b)
    }

    async fn send(&self, req: Request<Body>) -> Result<(Bytes, Option<Duration>), FetchError> {
        let exchange = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| FetchError::Transport(crate::proxy::error_chain(&e)))?;
            if resp.status() != StatusCode::OK {
                return Err(FetchError::Status(resp.status()));
            }
            let fresh_for = freshness(resp.headers());
            match crate::body::read_capped(resp.into_body(), self.max_bytes).await {
                Ok(body) => Ok((body, fresh_for)),
                Err(crate::body::ReadError::TooLarge) => Err(FetchError::TooLarge(self.max_bytes)),
                Err(crate::body::ReadError::Body(e)) => {
                    Err(FetchError::Transport(crate::proxy::error_chain(&e)))
                }
            }
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| FetchError::Timeout(self.timeout))?
    }
}

/// How long an answer stays fresh (RFC 9111, section 4.2): its `Cache-Control` `max-age`
/// (zero for `no-store` and `no-cache`), or failing that its `Expires` less its `Date` (less
/// now when it has no `Date`; an `Expires` that is not a date, such as `0`, has already
/// passed), minus its age: the larger of its `Age` header and the time since its `Date`.
/// `None` when it says none of these.
pub fn freshness(headers: &http::HeaderMap) -> Option<Duration> {
    let lifetime = max_age(headers).or_else(|| expires(headers))?;
    // An `Age` too large for the integer type counts as the largest age (RFC 9111, 5.1).
    let age_header = headers
        .get(header::AGE)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .map_or(Duration::ZERO, |s| {
            Duration::from_secs(s.parse::<u64>().unwrap_or(u64::MAX))
        });
    let apparent = http_date(headers, &header::DATE)
        .and_then(|d| std::time::SystemTime::now().duration_since(d).ok())
        .unwrap_or(Duration::ZERO);
    Some(lifetime.saturating_sub(age_header.max(apparent)))
}

/// A header holding an HTTP date.
fn http_date(
    headers: &http::HeaderMap,
    name: &header::HeaderName,
) -> Option<std::time::SystemTime> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| httpdate::parse_http_date(s.trim()).ok())
}

/// The `Expires` lifetime: `Expires` minus `Date` (or now).
fn expires(headers: &http::HeaderMap) -> Option<Duration> {
    headers.get(header::EXPIRES)?;
    let Some(at) = http_date(headers, &header::EXPIRES) else {
        return Some(Duration::ZERO);
    };
    let now = http_date(headers, &header::DATE).unwrap_or_else(std::time::SystemTime::now);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// How long an answer stays fresh by its `Cache-Control`: `max-age=N`, or zero for `no-store`
/// and `no-cache`; `None` when it says neither.
pub fn max_age(headers: &http::HeaderMap) -> Option<Duration> {
    let mut found = None;
    for v in headers.get_all(header::CACHE_CONTROL) {
        let Ok(v) = v.to_str() else { continue };
        for directive in v.split(',') {
            let d = directive.trim().to_ascii_lowercase();
            if d == "no-store" || d == "no-cache" {
                return Some(Duration::ZERO);
            }
            // The first `max-age` counts (a repeated one is the sender's error).
            if found.is_none()
                && let Some(n) = d.strip_prefix("max-age=")
                && let Ok(secs) = n.trim_matches('"').parse::<u64>()
            {
                found = Some(Duration::from_secs(secs));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_max_age_and_no_store() {
        let mut h = http::HeaderMap::new();
        assert_eq!(max_age(&h), None);
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300"),
        );
        assert_eq!(max_age(&h), Some(Duration::from_secs(300)));
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("Max-Age=\"60\", must-revalidate"),
        );
        assert_eq!(max_age(&h), Some(Duration::from_secs(60)));
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("max-age=300, no-store"),
        );
        assert_eq!(max_age(&h), Some(Duration::ZERO));
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("max-age=soon"),
        );
        assert_eq!(max_age(&h), None);
    }

    #[test]
    fn reads_expires_against_date_and_subtracts_age() {
        let mut h = http::HeaderMap::new();
        assert_eq!(freshness(&h), None);
        // A `Date` of now (a second ahead, so no apparent age accrues during the test).
        let now = std::time::SystemTime::now() + Duration::from_secs(1);
        let date = |t: std::time::SystemTime| {
            HeaderValue::from_str(&httpdate::fmt_http_date(t)).expect("date")
        };
        h.insert(header::DATE, date(now));
        h.insert(header::EXPIRES, date(now + Duration::from_secs(600)));
        assert_eq!(freshness(&h), Some(Duration::from_secs(600)));
        h.insert(header::AGE, HeaderValue::from_static("120"));
        assert_eq!(freshness(&h), Some(Duration::from_secs(480)));
        h.insert(
            header::AGE,
            HeaderValue::from_static("99999999999999999999999"),
        );
        assert_eq!(
            freshness(&h),
            Some(Duration::ZERO),
            "an age too large is the largest"
        );
        h.insert(header::AGE, HeaderValue::from_static("120"));
        // `max-age` wins over `Expires`; the first `max-age` counts.
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("max-age=60"),
        );
        assert_eq!(freshness(&h), Some(Duration::ZERO));
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("max-age=900, max-age=10"),
        );
        assert_eq!(freshness(&h), Some(Duration::from_secs(780)));
        h.remove(header::CACHE_CONTROL);
        h.remove(header::AGE);
        // An answer dated an hour ago has spent that hour of its lifetime (apparent age).
        let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
        h.insert(header::DATE, date(hour_ago));
        h.insert(header::EXPIRES, date(hour_ago + Duration::from_secs(3900)));
        let left = freshness(&h).expect("fresh");
        assert!(
            left <= Duration::from_secs(301) && left >= Duration::from_secs(290),
            "{left:?}"
        );
        // Already past, or not a date: stale now.
        h.insert(header::DATE, date(now));
        h.insert(header::EXPIRES, date(now - Duration::from_secs(3600)));
        assert_eq!(freshness(&h), Some(Duration::ZERO));
        h.insert(header::EXPIRES, HeaderValue::from_static("0"));
        assert_eq!(freshness(&h), Some(Duration::ZERO));
        // Without `Date`, against now: an `Expires` far ahead is fresh for a long time.
        h.remove(header::DATE);
        h.insert(
            header::EXPIRES,
            HeaderValue::from_static("Sun, 01 Jan 2090 00:00:00 GMT"),
        );
        assert!(freshness(&h).is_some_and(|d| d > Duration::from_secs(86_400 * 365)));
    }
}
