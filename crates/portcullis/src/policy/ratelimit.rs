//! Rate limits: GCRA per key (client IP, consumer, route, a header, or a combination), with
//! the IETF `RateLimit-Policy` / `RateLimit` headers on every answer of a limited route and 429
//! problem+json with `Retry-After` when a limit is spent. Limits keyed by consumer run after
//! authorization (they need the identity); the others run before authentication, so floods are
//! turned away before any credential is checked.

use std::sync::Arc;

use http::request::Parts;
use http::{HeaderName, HeaderValue};

use super::{Decision, Deny, RequestCtx};
use crate::observe::events::SecurityEvent;
use crate::reply::Problem;
use crate::state::{Gcra, MemoryStore};

/// `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers).
pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
/// `RateLimit`.
pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

/// One part of a limit's key.
#[derive(Debug, Clone)]
pub enum KeyPart {
    /// The real client IP (after trusted proxies).
    Ip,
    /// The authenticated consumer.
    Consumer,
    /// The route.
    Route,
    /// A request header's value (hashed: it may be a credential).
    Header(HeaderName),
}

/// One compiled limit.
#[derive(Debug)]
pub struct Limit {
    /// Name in the `RateLimit` headers.
    pub name: String,
    /// What the key is made of.
    pub key: Vec<KeyPart>,
    /// Requests per period.
    pub requests: u32,
    /// Period, whole seconds (for `RateLimit-Policy`).
    pub period_secs: u64,
    /// The GCRA parameters.
    pub gcra: Gcra,
    /// Key prefix in the store: `rl:<route>:<limit>:`.
    pub namespace: String,
    /// Where counters live.
    pub store: Arc<MemoryStore>,
    /// `RateLimit-Policy` value.
    policy: HeaderValue,
}

impl Limit {
    /// A limit; `None` when the parameters make no sense.
    pub fn new(
        name: String,
        key: Vec<KeyPart>,
        requests: u32,
        period: std::time::Duration,
        burst: u32,
        namespace: String,
        store: Arc<MemoryStore>,
    ) -> Option<Self> {
        let gcra = Gcra::new(requests, period, burst)?;
        let period_secs = period.as_secs().max(1);
        let policy =
            HeaderValue::from_str(&format!("\"{name}\";q={requests};w={period_secs}")).ok()?;
        Some(Self {
            name,
            key,
            requests,
            period_secs,
            gcra,
            namespace,
            store,
            policy,
        })
    }

    /// Whether the key needs the identity (so the limit runs after authorization).
    pub fn needs_identity(&self) -> bool {
        self.key.iter().any(|k| matches!(k, KeyPart::Consumer))
    }

    fn key_of(&self, ctx: &RequestCtx, req: &Parts) -> String {
        let mut k = self.namespace.clone();
        for (i, part) in self.key.iter().enumerate() {
            if i > 0 {
                k.push('|');
            }
            match part {
                KeyPart::Ip => k.push_str(&ctx.client_ip.to_string()),
                KeyPart::Consumer => {
                    k.push_str(ctx.identity.as_ref().map_or("-", |i| &*i.consumer))
                }
                KeyPart::Route => k.push_str(ctx.route.as_deref().unwrap_or("-")),
                KeyPart::Header(h) => match req.headers.get(h) {
                    // Hashed: the header may carry a credential, and keys never hold secrets.
                    Some(v) => {
                        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, v.as_bytes());
                        k.push_str(&hex::encode(&d.as_ref()[..16]));
                    }
                    None => k.push('-'),
                },
            }
        }
        k
    }

    /// Decides for one request.
    pub fn on_request(&self, ctx: &mut RequestCtx, req: &Parts) -> Decision {
        let key = self.key_of(ctx, req);
        let v = self.store.check(key, self.gcra);
        let reset = v.reset_after.as_secs() + u64::from(v.reset_after.subsec_nanos() > 0);
        let state =
            HeaderValue::from_str(&format!("\"{}\";r={};t={reset}", self.name, v.remaining));
        if v.allowed {
            ctx.response_headers
                .push((RATELIMIT_POLICY, self.policy.clone()));
            if let Ok(s) = state {
                ctx.response_headers.push((RATELIMIT, s));
            }
            return Decision::Allow("allowed");
        }
        SecurityEvent::rate_limited().emit(ctx);
        let mut d = Deny::new(Problem::TooManyRequests);
        let retry = v.retry_after.as_secs() + u64::from(v.retry_after.subsec_nanos() > 0);
        d.headers
            .push((http::header::RETRY_AFTER, HeaderValue::from(retry.max(1))));
        d.headers.push((RATELIMIT_POLICY, self.policy.clone()));
        if let Ok(s) = state {
            d.headers.push((RATELIMIT, s));
        }
        Decision::Deny(d)
    }
}
