//! OAuth 2.0 token introspection (RFC 7662) for opaque bearer tokens.
//!
//! The gateway authenticates to the introspection endpoint as a client (HTTP Basic with the
//! form-encoded client id and secret, RFC 6749 §2.3.1) and posts the token. An active answer
//! is remembered until the token's `exp` or `max_ttl`, whichever is first; an inactive one
//! for `negative_ttl`. Both caches are bounded and keyed by SHA-256 of the token (the token
//! itself is never stored). When the endpoint fails or is slower than the timeout, the request
//! is refused with 503: fail closed, never open.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use http::{HeaderValue, Uri};
use serde_json::{Map, Value};

use super::jwt::{TokenDigest, TokenIdentity, digest, now_secs, string_list};
use crate::fetch::Fetcher;

/// Largest introspection answer read.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// Longest opaque token sent to the endpoint.
pub const MAX_TOKEN_BYTES: usize = 4096;

/// Settings of one introspection endpoint.
#[derive(Debug)]
pub struct Settings {
    /// Config name.
    pub name: String,
    /// Endpoint URL.
    pub url: Uri,
    /// `Authorization` header for the gateway's own client credentials.
    pub authorization: HeaderValue,
    /// Expected `iss`, when set.
    pub issuer: Option<String>,
    /// Accepted audiences, when set.
    pub audiences: Vec<String>,
    /// Claim naming the consumer (default `sub`, then `username`, then `client_id`).
    pub consumer_claim: Option<String>,
    /// Roles claim path.
    pub roles_claim: Vec<String>,
    /// Longest time an active answer is trusted.
    pub max_ttl: Duration,
    /// How long an inactive answer is remembered.
    pub negative_ttl: Duration,
    /// Cache entries.
    pub cache_entries: u64,
}

/// What an active token proves, and until when.
#[derive(Debug)]
pub struct Active {
    /// The caller's identity (the answer's members are its claims).
    pub token: TokenIdentity,
    exp: Option<f64>,
}

/// Why a token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The endpoint says inactive (or the answer does not fit this gateway).
    Inactive,
    /// The endpoint could not be asked: fail closed.
    Unavailable,
}

/// One introspection endpoint with its caches.
pub struct Introspector {
    s: Settings,
    fetcher: Fetcher,
    active: moka::sync::Cache<TokenDigest, Arc<Active>>,
    inactive: moka::sync::Cache<TokenDigest, ()>,
    /// Calls in progress by token digest: concurrent requests with the same uncached token
    /// share one call and its answer (at most one entry per request in flight).
    flights: std::sync::Mutex<std::collections::HashMap<TokenDigest, Flight>>,
}

/// One introspection call that several requests may wait on.
type Flight = Arc<tokio::sync::OnceCell<Result<Arc<Active>, Outcome>>>;

impl std::fmt::Debug for Introspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Introspector")
            .field("name", &self.s.name)
            .field("url", &self.s.url)
            .finish_non_exhaustive()
    }
}

/// `Authorization: Basic` for client credentials, each part form-encoded first (RFC 6749
/// §2.3.1).
pub fn client_authorization(id: &str, secret: &str) -> Option<HeaderValue> {
    let enc = |s: &str| form_urlencoded_component(s);
    let raw = format!("{}:{}", enc(id), enc(secret));
    let mut v = HeaderValue::from_str(&format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    ))
    .ok()?;
    v.set_sensitive(true);
    Some(v)
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn form_urlencoded_component(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl Introspector {
    /// An endpoint client.
    pub fn new(s: Settings, fetcher: Fetcher) -> Self {
        let active = moka::sync::Cache::builder()
            .max_capacity(s.cache_entries)
            .time_to_live(s.max_ttl)
            .build();
        let inactive = moka::sync::Cache::builder()
            .max_capacity(s.cache_entries)
            .time_to_live(s.negative_ttl)
            .build();
        Self {
            s,
            fetcher,
            active,
            inactive,
            flights: std::sync::Mutex::default(),
        }
    }

    /// Config name.
    pub fn name(&self) -> &str {
        &self.s.name
    }

    /// Introspects `token` (from the cache when possible).
    pub async fn check(&self, token: &str) -> Result<Arc<Active>, Outcome> {
        if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
            return Err(Outcome::Inactive);
        }
        let key = digest(token);
        let now = now_secs();
        if let Some(a) = self.active.get(&key) {
            if a.exp.is_none_or(|e| now < e) {
                return Ok(a);
            }
            self.active.invalidate(&key);
            return Err(Outcome::Inactive);
        }
        if self.inactive.contains_key(&key) {
            return Err(Outcome::Inactive);
        }
        let lock = || {
            self.flights
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        let flight: Flight = lock().entry(key).or_default().clone();
        let result = flight
            .get_or_init(|| self.ask(token, key, now))
            .await
            .clone();
        {
            let mut flights = lock();
            if flights.get(&key).is_some_and(|f| Arc::ptr_eq(f, &flight)) {
                flights.remove(&key);
            }
        }
        result
    }

    /// One call to the endpoint; caches the answer.
    async fn ask(&self, token: &str, key: TokenDigest, now: f64) -> Result<Arc<Active>, Outcome> {
        let form = format!(
            "token={}&token_type_hint=access_token",
            form_urlencoded_component(token)
        );
        let body = match self
            .fetcher
            .post_form(&self.s.url, Some(&self.s.authorization), form)
            .await
        {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(endpoint = %self.s.name, error = %e, "token introspection failed; refusing (fail closed)");
                return Err(Outcome::Unavailable);
            }
        };
        let Ok(Value::Object(answer)) = serde_json::from_slice::<Value>(&body) else {
            tracing::warn!(endpoint = %self.s.name, "token introspection answered something other than a JSON object; refusing");
            return Err(Outcome::Unavailable);
        };
        match self.judge(answer, now) {
            Some(a) => {
                let a = Arc::new(a);
                self.active.insert(key, a.clone());
                Ok(a)
            }
            None => {
                self.inactive.insert(key, ());
                Err(Outcome::Inactive)
            }
        }
    }

    /// An answer → an identity, if the token is active and fits this gateway.
    fn judge(&self, answer: Map<String, Value>, now: f64) -> Option<Active> {
        if answer.get("active") != Some(&Value::Bool(true)) {
            return None;
        }
        let num = |k: &str| answer.get(k).and_then(Value::as_f64);
        if num("exp").is_some_and(|e| now >= e) || num("nbf").is_some_and(|n| now < n) {
            return None;
        }
        if let Some(iss) = &self.s.issuer
            && answer.get("iss").and_then(Value::as_str) != Some(iss.as_str())
        {
            return None;
        }
        if !self.s.audiences.is_empty() {
            let aud: Vec<String> = string_list(answer.get("aud")).collect();
            if !aud.iter().any(|a| self.s.audiences.contains(a)) {
                return None;
            }
        }
        let names: Vec<&str> = match &self.s.consumer_claim {
            Some(c) => vec![c.as_str()],
            None => vec!["sub", "username", "client_id"],
        };
        let exp = num("exp");
        Some(Active {
            token: TokenIdentity::from_claims(answer, &names, &self.s.roles_claim).ok()?,
            exp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_credentials_are_form_encoded_then_basic() {
        let v = client_authorization("gate way", "s3:cr&t").expect("value");
        let b64 = v
            .to_str()
            .expect("text")
            .strip_prefix("Basic ")
            .expect("basic");
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("b64");
        assert_eq!(raw, b"gate+way:s3%3Acr%26t");
        assert!(v.is_sensitive());
    }

    #[test]
    fn judges_answers() {
        let fetcher = Fetcher::new(None, Duration::from_secs(1), 1024).expect("fetcher");
        let i = Introspector::new(
            Settings {
                name: "as".into(),
                url: "https://as.test/introspect".parse().expect("uri"),
                authorization: HeaderValue::from_static("Basic x"),
                issuer: Some("https://as.test".into()),
                audiences: vec!["api".into()],
                consumer_claim: None,
                roles_claim: vec!["roles".into()],
                max_ttl: Duration::from_secs(60),
                negative_ttl: Duration::from_secs(5),
                cache_entries: 10,
            },
            fetcher,
        );
        let now = 1_000.0;
        let ok = serde_json::json!({"active": true, "iss": "https://as.test", "aud": ["api"],
            "client_id": "svc", "scope": "a b", "roles": ["reader"], "exp": 2000});
        let a = i
            .judge(ok.as_object().cloned().expect("obj"), now)
            .expect("active");
        assert_eq!((&*a.token.subject, a.token.scopes.len()), ("svc", 2));
        for (k, v) in [
            ("active", serde_json::json!(false)),
            ("active", serde_json::json!("true")),
            ("exp", serde_json::json!(999)),
            ("iss", serde_json::json!("https://evil.test")),
            ("aud", serde_json::json!("other")),
            ("client_id", serde_json::json!("")),
        ] {
            let mut x = ok.clone();
            x[k] = v.clone();
            assert!(
                i.judge(x.as_object().cloned().expect("obj"), now).is_none(),
                "{k}={v}"
            );
        }
    }
}
