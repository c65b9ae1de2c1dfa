//! Traffic stages: rate limits (GCRA per key: client IP, consumer, route, a header, or a
//! combination; optionally throttling by delay), quotas per calendar day or month, in-flight
//! (concurrency) limits and automatic bans. Limits answer with the IETF `RateLimit-Policy` /
//! `RateLimit` headers on every answer of a limited route and 429 problem+json with
//! `Retry-After` when spent. Stages keyed by consumer run after authorization (they need the
//! identity); the others run before authentication, so floods are turned away before any
//! credential is checked.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::request::Parts;
use http::{HeaderName, HeaderValue};

use super::{Decision, Deny, RequestCtx};
use crate::observe::events::SecurityEvent;
use crate::observe::metrics::StateMetrics;
use crate::reply::Problem;
pub use crate::state::QuotaPeriod;
use crate::state::bans::BanRule;
use crate::state::{Answer, Backend, Gcra, InFlight};

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

/// `namespace` followed by the key parts of this request, `|`-separated. Header values are
/// hashed, so store keys never hold a credential.
fn key_of(namespace: &str, parts: &[KeyPart], ctx: &RequestCtx, req: &Parts) -> String {
    let mut k = String::with_capacity(namespace.len() + 48);
    push_key(&mut k, namespace, parts, ctx, req);
    k
}

/// Where a limit's key goes: written out as text ([`key_of`], for Redis and logs), or fed
/// straight into the in-process store's keyed hash ([`Limit::decide_now`]), which needs no text.
trait KeySink {
    fn text(&mut self, s: &str);
    fn ip(&mut self, ip: std::net::IpAddr);
    /// A header value, which may be a credential.
    fn secret(&mut self, v: &[u8]);
}

impl KeySink for String {
    fn text(&mut self, s: &str) {
        self.push_str(s);
    }
    fn ip(&mut self, ip: std::net::IpAddr) {
        push_ip(self, ip);
    }
    fn secret(&mut self, v: &[u8]) {
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, v);
        self.push_str(&hex::encode(&d.as_ref()[..16]));
    }
}

/// Feeds a keyed hasher; the store keeps only the 64-bit result. Text pieces end with `0xff`
/// (never in UTF-8), addresses with `0xfe` and header values are preceded by their length, so
/// the parts of one limit's key cannot run into each other; an accidental collision would
/// only make two clients share a budget.
struct HashSink<H>(H);

impl<H: std::hash::Hasher> KeySink for HashSink<H> {
    fn text(&mut self, s: &str) {
        self.0.write(s.as_bytes());
        self.0.write_u8(0xff);
    }
    fn ip(&mut self, ip: std::net::IpAddr) {
        match ip {
            std::net::IpAddr::V4(v4) => self.0.write(&v4.octets()),
            std::net::IpAddr::V6(v6) => self.0.write(&v6.octets()),
        }
        self.0.write_u8(0xfe);
    }
    fn secret(&mut self, v: &[u8]) {
        self.0.write_usize(v.len());
        self.0.write(v);
    }
}

/// Writes `namespace` and this request's key parts, `|`-separated, into `k`.
fn push_key(
    k: &mut impl KeySink,
    namespace: &str,
    parts: &[KeyPart],
    ctx: &RequestCtx,
    req: &Parts,
) {
    k.text(namespace);
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            k.text("|");
        }
        match part {
            KeyPart::Ip => k.ip(ctx.client_ip),
            KeyPart::Consumer => k.text(ctx.identity.as_ref().map_or("-", |i| &*i.consumer)),
            KeyPart::Route => k.text(ctx.route.as_deref().unwrap_or("-")),
            KeyPart::Header(h) => match req.headers.get(h) {
                Some(v) => k.secret(v.as_bytes()),
                None => k.text("-"),
            },
        }
    }
}

/// The `RateLimit-Policy` and `RateLimit` fields of one answer. Both are structured-field
/// lists, so every limit and quota that ran adds one item to the same two headers. The policy
/// items are fixed per limit: when every limit and quota of the route ran (nearly always), the
/// route's precomputed field is used as it is ([`route_policy`]); otherwise the items that ran
/// are joined. The state is written straight into the buffer that becomes the header value.
#[derive(Debug, Default)]
pub struct RateLimitHeaders {
    policies: smallvec::SmallVec<[Arc<str>; 4]>,
    state: bytes::BytesMut,
}

impl RateLimitHeaders {
    /// Adds one limit's items: its policy and `"name";r=<remaining>;t=<reset secs>`.
    fn push(&mut self, policy: &Arc<str>, name: &str, remaining: u64, reset: u64) {
        if self.policies.is_empty() {
            self.state.reserve(64);
        } else {
            self.state.extend_from_slice(b", ");
        }
        self.policies.push(Arc::clone(policy));
        let mut digits = itoa::Buffer::new();
        self.state.extend_from_slice(b"\"");
        self.state.extend_from_slice(name.as_bytes());
        self.state.extend_from_slice(b"\";r=");
        self.state
            .extend_from_slice(digits.format(remaining).as_bytes());
        self.state.extend_from_slice(b";t=");
        self.state
            .extend_from_slice(digits.format(reset).as_bytes());
    }

    /// Writes both headers onto a response (nothing when no limit ran). `all` is the route's
    /// [`route_policy`].
    pub fn apply(&mut self, h: &mut http::HeaderMap, all: Option<&(usize, HeaderValue)>) {
        if self.policies.is_empty() {
            return;
        }
        let policy = match all {
            Some((n, v)) if *n == self.policies.len() => Ok(v.clone()),
            _ => HeaderValue::from_str(&join(&self.policies)),
        };
        if let (Ok(p), Ok(s)) = (
            policy,
            HeaderValue::from_maybe_shared(self.state.split().freeze()),
        ) {
            h.insert(RATELIMIT_POLICY, p);
            h.insert(RATELIMIT, s);
        }
    }
}

fn join(items: &[Arc<str>]) -> String {
    let mut out = String::with_capacity(items.iter().map(|p| p.len() + 2).sum());
    for (i, p) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(p);
    }
    out
}

/// The `RateLimit-Policy` field of a route when every limit and quota of `chain` ran, with
/// their number; `None` for a chain without any. Each limit and quota adds its item at most
/// once per request, in chain order, so the same number means the same field.
pub fn route_policy(chain: &[super::Stage]) -> Option<(usize, HeaderValue)> {
    let items: Vec<Arc<str>> = chain
        .iter()
        .filter_map(|s| match s {
            super::Stage::RateLimit(l) => Some(Arc::clone(&l.policy)),
            super::Stage::Quota(q) => Some(Arc::clone(&q.policy)),
            _ => None,
        })
        .collect();
    if items.is_empty() {
        return None;
    }
    HeaderValue::from_str(&join(&items))
        .ok()
        .map(|v| (items.len(), v))
}

/// A client IP as text: IPv4 written digit by digit, IPv6 through `Display`.
fn push_ip(s: &mut String, ip: std::net::IpAddr) {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let mut digits = itoa::Buffer::new();
            for (i, o) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    s.push('.');
                }
                s.push_str(digits.format(o));
            }
        }
        std::net::IpAddr::V6(_) => {
            let _ = write!(s, "{ip}");
        }
    }
}

/// Whole seconds, rounded up.
fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn store_unavailable() -> Decision {
    let mut d = Deny::new(Problem::Unavailable);
    d.outcome = "store_unavailable";
    d.detail = Some("the rate-limit store is unavailable".into());
    d.headers
        .push((http::header::RETRY_AFTER, HeaderValue::from_static("1")));
    Decision::Deny(d)
}

/// One compiled rate limit.
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
    /// Key prefix in the store: `rl:<route>:<limit>:` (`rl:*:<limit>:` for global limits).
    pub namespace: String,
    /// Where counters live.
    pub backend: Backend,
    /// Throttling: the longest an admitted request may be held.
    pub max_delay: Duration,
    /// Throttling: requests held at once at most.
    pub queue: usize,
    waiting: AtomicUsize,
    metrics: StateMetrics,
    /// This limit's `RateLimit-Policy` item.
    policy: Arc<str>,
}

/// Settings of one limit besides its name and key.
#[derive(Debug)]
pub struct LimitSpec {
    /// Requests per period.
    pub requests: u32,
    /// The period.
    pub period: Duration,
    /// Requests at once.
    pub burst: u32,
    /// Throttling delay (zero: refuse at once).
    pub max_delay: Duration,
    /// Throttling queue bound.
    pub queue: usize,
}

impl Limit {
    /// A limit; `None` when the parameters make no sense.
    pub fn new(
        name: String,
        key: Vec<KeyPart>,
        spec: &LimitSpec,
        namespace: String,
        backend: Backend,
        metrics: StateMetrics,
    ) -> Option<Self> {
        let gcra = Gcra::new(spec.requests, spec.period, spec.burst)?;
        let period_secs = spec.period.as_secs().max(1);
        let policy = format!("\"{name}\";q={};w={period_secs}", spec.requests);
        HeaderValue::from_str(&policy).ok()?;
        let policy = Arc::from(policy);
        Some(Self {
            name,
            key,
            requests: spec.requests,
            period_secs,
            gcra,
            namespace,
            backend,
            max_delay: spec.max_delay,
            queue: spec.queue,
            waiting: AtomicUsize::new(0),
            metrics,
            policy,
        })
    }

    /// Whether the key needs the identity (so the limit runs after authorization).
    pub fn needs_identity(&self) -> bool {
        self.key.iter().any(|k| matches!(k, KeyPart::Consumer))
    }

    fn refuse(&self, ctx: &mut RequestCtx, retry_after: Duration, reset: Duration) -> Decision {
        ctx.rate_limit
            .push(&self.policy, &self.name, 0, ceil_secs(reset));
        SecurityEvent::rate_limited().emit(ctx);
        let mut d = Deny::new(Problem::TooManyRequests);
        d.headers.push((
            http::header::RETRY_AFTER,
            HeaderValue::from(ceil_secs(retry_after).max(1)),
        ));
        Decision::Deny(d)
    }

    /// Decides without waiting when the limit never waits (in-process counters, no
    /// throttling); `None` otherwise, with nothing done.
    pub fn decide_now(&self, ctx: &mut RequestCtx, req: &Parts) -> Option<Decision> {
        let Backend::Memory(m) = &self.backend else {
            return None;
        };
        if !self.max_delay.is_zero() {
            return None;
        }
        let v = self.check_in_process(m, ctx, req);
        Some(self.verdict(ctx, v))
    }

    /// One decision in the in-process store (which never waits to answer): the key goes
    /// straight into the store's keyed hash, no key text is built.
    fn check_in_process(
        &self,
        m: &crate::state::MemoryStore,
        ctx: &RequestCtx,
        req: &Parts,
    ) -> crate::state::Verdict {
        let mut h = HashSink(m.key_hasher());
        push_key(&mut h, &self.namespace, &self.key, ctx, req);
        // Limits before authentication decide at the request's arrival (one clock reading for
        // all of them); those keyed by consumer run after it, which may have waited on a JWKS
        // fetch or an introspection call, so they read the clock.
        let at = if self.needs_identity() {
            tokio::time::Instant::now()
        } else {
            ctx.started
        };
        m.check_hashed(
            std::hash::Hasher::finish(&h.0),
            self.gcra,
            self.max_delay,
            at,
        )
    }

    /// The answer for a verdict (the headers, or the refusal).
    fn verdict(&self, ctx: &mut RequestCtx, v: crate::state::Verdict) -> Decision {
        if !v.allowed {
            return self.refuse(ctx, v.retry_after, v.reset_after);
        }
        ctx.rate_limit.push(
            &self.policy,
            &self.name,
            u64::from(v.remaining),
            ceil_secs(v.reset_after),
        );
        Decision::Allow("allowed")
    }

    /// Decides for a request [`Limit::decide_now`] left (shared store or throttling), and holds
    /// it for its slot when throttling.
    pub async fn decide_later(&self, ctx: &mut RequestCtx, req: &Parts) -> Decision {
        let throttling = !self.max_delay.is_zero();
        if throttling && self.waiting.load(Ordering::Relaxed) >= self.queue {
            // The queue is full: refused before asking the store, so nothing is consumed.
            let interval = Duration::from_nanos(self.gcra.interval_ns);
            return self.refuse(ctx, interval, interval);
        }
        let answer = match &self.backend {
            // Throttled in-process limits count under the same hashed keys as the others.
            Backend::Memory(m) => Answer::Decided(self.check_in_process(m, ctx, req)),
            shared => {
                let key = key_of(&self.namespace, &self.key, ctx, req);
                shared.check(&key, self.gcra, self.max_delay).await
            }
        };
        let v = match answer {
            Answer::Decided(v) => v,
            Answer::Unlimited => return Decision::Allow("store_error_allowed"),
            Answer::Unavailable => return store_unavailable(),
        };
        let delay = v.delay;
        let d = self.verdict(ctx, v);
        if delay.is_zero() || !matches!(d, Decision::Allow(_)) {
            return d;
        }
        self.metrics.throttled(&self.namespace);
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let _leave = Leave(&self.waiting);
        tokio::time::sleep(v.delay).await;
        Decision::Allow("delayed")
    }
}

/// Leaves the throttling queue when dropped (also when the client goes away while waiting).
struct Leave<'a>(&'a AtomicUsize);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One compiled quota.
#[derive(Debug)]
pub struct Quota {
    /// Name in the `RateLimit` headers.
    pub name: String,
    /// Key parts.
    pub key: Vec<KeyPart>,
    /// Requests per window.
    pub limit: u64,
    /// The window.
    pub period: QuotaPeriod,
    /// Key prefix: `q:<route>:<name>:`.
    pub namespace: String,
    /// Where counters live.
    pub backend: Backend,
    policy: Arc<str>,
}

impl Quota {
    /// A quota; `None` when the name makes a bad header.
    pub fn new(
        name: String,
        key: Vec<KeyPart>,
        limit: u64,
        period: QuotaPeriod,
        namespace: String,
        backend: Backend,
    ) -> Option<Self> {
        let policy = format!("\"{name}\";q={limit};w={}", period.nominal_secs());
        HeaderValue::from_str(&policy).ok()?;
        let policy = Arc::from(policy);
        Some(Self {
            name,
            key,
            limit,
            period,
            namespace,
            backend,
            policy,
        })
    }

    /// Whether the key needs the identity.
    pub fn needs_identity(&self) -> bool {
        self.key.iter().any(|k| matches!(k, KeyPart::Consumer))
    }

    /// Counts one request against the quota.
    pub async fn on_request(&self, ctx: &mut RequestCtx, req: &Parts) -> Decision {
        let key = key_of(&self.namespace, &self.key, ctx, req);
        let v = match self.backend.quota(&key, self.limit, self.period).await {
            Answer::Decided(v) => v,
            Answer::Unlimited => return Decision::Allow("store_error_allowed"),
            Answer::Unavailable => return store_unavailable(),
        };
        let reset = v.reset_ms.div_ceil(1000);
        ctx.rate_limit
            .push(&self.policy, &self.name, v.remaining, reset);
        if v.allowed {
            return Decision::Allow("counted");
        }
        let mut e = SecurityEvent::rate_limited();
        e.outcome = "quota_exceeded";
        e.emit(ctx);
        let mut d = Deny::new(Problem::QuotaExceeded);
        d.headers
            .push((http::header::RETRY_AFTER, HeaderValue::from(reset.max(1))));
        Decision::Deny(d)
    }
}

/// In-flight limits of a route.
#[derive(Debug)]
pub struct Concurrency {
    /// Route-wide bound.
    pub max: Option<usize>,
    /// Per-consumer bound.
    pub per_consumer: Option<usize>,
    /// 429 instead of 503.
    pub too_many_requests: bool,
    /// Counts, kept across reloads.
    pub inflight: Arc<InFlight>,
    /// Metric label.
    pub label: String,
    /// Metrics.
    pub metrics: StateMetrics,
}

impl Concurrency {
    /// Takes a place; the permit rides on the context until the response body is sent.
    pub fn on_request(&self, ctx: &mut RequestCtx) -> Decision {
        let per_consumer = self
            .per_consumer
            .zip(ctx.identity.as_ref().map(|i| i.consumer.clone()));
        match self.inflight.acquire(self.max, per_consumer) {
            Some(p) => {
                ctx.permits.push(p);
                Decision::Allow("admitted")
            }
            None => {
                self.metrics.concurrency_rejected(&self.label);
                let mut d = Deny::new(if self.too_many_requests {
                    Problem::TooManyRequests
                } else {
                    Problem::ConcurrencyLimited
                });
                d.outcome = "concurrency_limited";
                d.headers
                    .push((http::header::RETRY_AFTER, HeaderValue::from_static("1")));
                Decision::Deny(d)
            }
        }
    }
}

/// The ban check of one rule on a route.
pub fn check_ban(rule: &BanRule, ctx: &RequestCtx) -> Decision {
    let consumer = ctx.identity.as_ref().map(|i| &*i.consumer);
    let Some(member) = rule.member(ctx.client_ip, consumer) else {
        return Decision::Allow("not_banned");
    };
    match rule.list.banned(&member) {
        None => Decision::Allow("not_banned"),
        Some(left) => {
            let mut e = SecurityEvent::ip_denied();
            e.event = "ban";
            e.outcome = "banned";
            e.emit(ctx);
            let mut d = Deny::new(Problem::Banned);
            d.outcome = "banned";
            d.headers.push((
                http::header::RETRY_AFTER,
                HeaderValue::from(ceil_secs(left).max(1)),
            ));
            Decision::Deny(d)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{DAY_MS, civil_from_days, days_from_civil};

    #[test]
    fn quota_windows_follow_the_utc_calendar() {
        // 2026-11-23T15:00:00Z
        let now = 1_795_446_000_000u64;
        let (s, e) = QuotaPeriod::Day.window(now);
        assert_eq!(s, 1_795_392_000_000, "2026-11-23T00:00Z");
        assert_eq!(e - s, DAY_MS);
        let (s, e) = QuotaPeriod::Month.window(now);
        assert_eq!(s, 1_793_491_200_000, "2026-11-01T00:00Z");
        assert_eq!(e, 1_796_083_200_000, "2026-12-01T00:00Z");
        // December rolls into January; February of a leap year has 29 days.
        let (_, e) = QuotaPeriod::Month.window(1_796_083_200_000 + 1);
        assert_eq!(e, 1_798_761_600_000, "2027-01-01T00:00Z");
        let (s, e) = QuotaPeriod::Month.window(1_709_251_200_000 - 1); // 2024-02-29T23:59:59.999Z
        assert_eq!((e - s) / DAY_MS, 29);
    }

    #[test]
    fn headers_are_one_list_per_field() {
        let (a, b): (Arc<str>, Arc<str>) =
            (Arc::from("\"a\";q=5;w=1"), Arc::from("\"b\";q=100;w=60"));
        let both = "\"a\";q=5;w=1, \"b\";q=100;w=60";
        // The route's precomputed field is used when every limit ran, else the ones that ran.
        let all = (2, HeaderValue::from_static(both));
        for (route, pushes, want) in [
            (None, 2, both),
            (Some(&all), 2, both),
            (Some(&all), 1, "\"a\";q=5;w=1"),
        ] {
            let mut h = RateLimitHeaders::default();
            h.push(&a, "a", 4, 1);
            if pushes == 2 {
                h.push(&b, "b", 0, 3600);
            }
            let mut map = http::HeaderMap::new();
            h.apply(&mut map, route);
            assert_eq!(map["ratelimit-policy"], want);
            let state = if pushes == 2 {
                "\"a\";r=4;t=1, \"b\";r=0;t=3600"
            } else {
                "\"a\";r=4;t=1"
            };
            assert_eq!(map["ratelimit"], state);
        }
        let mut ip = String::new();
        push_ip(&mut ip, "10.0.255.7".parse().expect("ip"));
        assert_eq!(ip, "10.0.255.7");
    }

    #[test]
    fn civil_dates_round_trip() {
        for days in [-1000i64, 0, 59, 365, 11_000, 20_000, 20_415] {
            let (y, m) = civil_from_days(days);
            let first = days_from_civil(y, m);
            assert!(first <= days && days - first < 31, "{days}");
        }
    }
}
