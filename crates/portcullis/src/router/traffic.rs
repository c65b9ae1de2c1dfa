//! Traffic-control config → stages: the state store, global and per-route rate limits,
//! quotas, concurrency limits and auto-ban rules.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderName;

use crate::config::error::Collector;
use crate::config::expand::ExpandedString;
use crate::config::raw::{AutoBanConfig, RateLimitConfig, RawConfig, RouteConfig};
use crate::policy::ratelimit::{Concurrency, KeyPart, Limit, LimitSpec, Quota, QuotaPeriod};
use crate::state::bans::{BanKey, BanRule, BanStore, Offence};
use crate::state::redis::RedisStore;
use crate::state::{Backend, OnStoreError, StateRegistry};

/// Default bound on one Redis call.
const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_millis(50);
/// Default ban sync interval.
const DEFAULT_SYNC_INTERVAL: Duration = Duration::from_secs(1);
/// Default throttling queue.
const DEFAULT_QUEUE: u32 = 1000;

/// The compiled traffic settings every route draws on.
#[derive(Debug)]
pub struct Traffic<'a> {
    /// The process's state.
    pub registry: &'a StateRegistry,
    /// The configured Redis store.
    pub redis: Option<Arc<RedisStore>>,
    /// `state.store` is `redis`.
    pub default_redis: bool,
    /// `state.on_store_error`.
    pub on_error: OnStoreError,
    /// Global limits (keyed without the identity), run first on every route.
    pub global_before: Vec<Arc<Limit>>,
    /// Global limits keyed by consumer, run after authorization on routes that authenticate.
    pub global_after: Vec<Arc<Limit>>,
    /// Auto-ban rules.
    pub bans: Vec<Arc<BanRule>>,
    /// How often bans are copied from Redis.
    pub sync_interval: Duration,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn parse_on_error(s: &str) -> Option<OnStoreError> {
    match s {
        "deny" => Some(OnStoreError::Deny),
        "allow" => Some(OnStoreError::Allow),
        "local" => Some(OnStoreError::Local),
        _ => None,
    }
}

/// `state`, global `rate_limits` and `auto_ban`.
pub fn compile_traffic<'a>(
    raw: &RawConfig,
    registry: &'a StateRegistry,
    errs: &mut Collector,
) -> Traffic<'a> {
    let st = &raw.state;
    let default_redis = match st.store.as_deref() {
        None | Some("memory") => false,
        Some("redis") => true,
        Some(_) => {
            errs.push("state.store", "one of `memory`, `redis`");
            false
        }
    };
    let on_error = match st.on_store_error.as_deref() {
        None => OnStoreError::Local,
        Some(s) => parse_on_error(s).unwrap_or_else(|| {
            errs.push("state.on_store_error", "one of `deny`, `allow`, `local`");
            OnStoreError::Local
        }),
    };
    let mut sync_interval = DEFAULT_SYNC_INTERVAL;
    let redis = st.redis.as_ref().and_then(|r| {
        let timeout = r.timeout.map_or(DEFAULT_REDIS_TIMEOUT, |t| t.0);
        if timeout.is_zero() || timeout > Duration::from_secs(5) {
            errs.push("state.redis.timeout", "between 1ms and 5s");
        }
        if let Some(s) = r.sync_interval {
            if s.0 < Duration::from_millis(100) || s.0 > Duration::from_secs(60) {
                errs.push("state.redis.sync_interval", "between 100ms and 60s");
            }
            sync_interval = s.0;
        }
        let prefix = r.prefix.as_deref().unwrap_or("portcullis");
        if !valid_name(prefix) {
            errs.push("state.redis.prefix", "1-64 of A-Z a-z 0-9 - _");
            return None;
        }
        match registry.redis(&r.url, prefix, timeout) {
            Ok(s) => Some(s),
            Err(e) => {
                errs.push("state.redis.url", e);
                None
            }
        }
    });
    if default_redis && st.redis.is_none() {
        errs.push(
            "state.redis",
            "`state.store: redis` needs `state.redis.url`",
        );
    }
    let mut t = Traffic {
        registry,
        redis,
        default_redis,
        on_error,
        global_before: Vec::new(),
        global_after: Vec::new(),
        bans: Vec::new(),
        sync_interval,
    };
    let global = compile_limits(&raw.rate_limits, "rate_limits", "*", true, &t, errs);
    (t.global_after, t.global_before) = global.into_iter().partition(|l| l.needs_identity());
    t.bans = compile_bans(&raw.auto_ban, &t, errs);
    t
}

impl Traffic<'_> {
    /// The backend chosen by a `store` / `on_store_error` pair at `at`.
    fn backend(
        &self,
        store: Option<&ExpandedString>,
        on_error: Option<&ExpandedString>,
        at: &str,
        errs: &mut Collector,
    ) -> Backend {
        let redis = match store.map(|s| s.as_str()) {
            None => self.default_redis,
            Some("memory") => false,
            Some("redis") => true,
            Some(_) => {
                errs.push(format!("{at}.store"), "one of `memory`, `redis`");
                false
            }
        };
        let on_error = match on_error {
            None => self.on_error,
            Some(s) => parse_on_error(s).unwrap_or_else(|| {
                errs.push(
                    format!("{at}.on_store_error"),
                    "one of `deny`, `allow`, `local`",
                );
                self.on_error
            }),
        };
        match (&self.redis, redis) {
            (Some(r), true) => Backend::Redis {
                redis: r.clone(),
                on_error,
                local: self.registry.memory.clone(),
                metrics: self.registry.metrics.clone(),
            },
            (None, true) => {
                if !self.default_redis {
                    // (Reported once at `state.redis` when it is the default.)
                    errs.push(format!("{at}.store"), "`redis` needs `state.redis.url`");
                }
                Backend::Memory(self.registry.memory.clone())
            }
            _ => Backend::Memory(self.registry.memory.clone()),
        }
    }

    /// The stages of a route, in chain order: (first: bans and limits that need no identity,
    /// after authorization: the rest, concurrency last).
    pub fn route_stages(
        &self,
        r: &RouteConfig,
        at: &str,
        authenticates: bool,
        counters: &Counters<'_>,
        errs: &mut Collector,
    ) -> (Vec<crate::policy::Stage>, Vec<crate::policy::Stage>) {
        use crate::policy::Stage;
        let mut before = Vec::new();
        let mut after = Vec::new();
        for b in &self.bans {
            if !b.applies_to(&r.name) {
                continue;
            }
            match b.key {
                BanKey::Ip => before.push(Stage::Ban(b.clone())),
                BanKey::Consumer if authenticates => after.push(Stage::Ban(b.clone())),
                BanKey::Consumer => {}
            }
        }
        before.extend(self.global_before.iter().cloned().map(Stage::RateLimit));
        if authenticates {
            after.extend(self.global_after.iter().cloned().map(Stage::RateLimit));
        }
        let limits = compile_limits(
            &r.rate_limits,
            &format!("{at}.rate_limits"),
            counters.limits,
            authenticates,
            self,
            errs,
        );
        for l in limits {
            if l.needs_identity() {
                after.push(Stage::RateLimit(l));
            } else {
                before.push(Stage::RateLimit(l));
            }
        }
        for q in compile_quotas(r, at, counters.quotas, authenticates, self, errs) {
            if q.needs_identity() {
                after.push(Stage::Quota(q));
            } else {
                before.push(Stage::Quota(q));
            }
        }
        if let Some(c) = &r.concurrency {
            let cat = format!("{at}.concurrency");
            let status_429 = match c.status {
                None | Some(503) => false,
                Some(429) => true,
                Some(_) => {
                    errs.push(format!("{cat}.status"), "429 or 503");
                    false
                }
            };
            if c.max == Some(0) || c.per_consumer == Some(0) {
                errs.push(cat.clone(), "limits must be at least 1");
            }
            if c.max.is_none() && c.per_consumer.is_none() {
                errs.push(cat.clone(), "set `max`, `per_consumer` or both");
            }
            if c.per_consumer.is_some() && !authenticates {
                errs.push(
                    format!("{cat}.per_consumer"),
                    "needs a route that authenticates (`auth.methods`)",
                );
            }
            let stage = Stage::Concurrency(Arc::new(Concurrency {
                max: c.max.map(|n| n as usize),
                per_consumer: c.per_consumer.map(|n| n as usize),
                too_many_requests: status_429,
                inflight: self.registry.inflight(counters.concurrency),
                label: counters.concurrency.to_owned(),
                metrics: self.registry.metrics.clone(),
            }));
            after.push(stage);
        }
        (before, after)
    }
}

/// Under which name a route's limits, quotas and in-flight requests are counted: the route's,
/// or `<route>/<operation>` for those an OpenAPI operation sets itself
/// ([`crate::config::raw::OpenApiConfig::operations`]).
#[derive(Debug, Clone, Copy)]
pub struct Counters<'a> {
    /// Namespace of `rate_limits`.
    pub limits: &'a str,
    /// Namespace of `quotas`.
    pub quotas: &'a str,
    /// Name of the in-flight count (and its metric label).
    pub concurrency: &'a str,
}

impl<'a> Counters<'a> {
    /// All under the route's own name.
    pub fn route(name: &'a str) -> Self {
        Self {
            limits: name,
            quotas: name,
            concurrency: name,
        }
    }
}

/// Key parts of a limit or quota (`default` when the list is empty).
fn compile_key(
    raw: &[ExpandedString],
    default: &str,
    at: &str,
    authenticates: bool,
    errs: &mut Collector,
) -> Vec<KeyPart> {
    let mut key = Vec::new();
    let parts: Vec<&str> = if raw.is_empty() {
        vec![default]
    } else {
        raw.iter().map(|k| k.as_str()).collect()
    };
    for (j, p) in parts.iter().enumerate() {
        let part = match *p {
            "ip" => Some(KeyPart::Ip),
            "consumer" => Some(KeyPart::Consumer),
            "route" => Some(KeyPart::Route),
            other => other
                .strip_prefix("header:")
                .and_then(|h| HeaderName::from_bytes(h.as_bytes()).ok())
                .map(KeyPart::Header),
        };
        match part {
            Some(k) => key.push(k),
            None => errs.push(
                format!("{at}.key[{j}]"),
                "one of `ip`, `consumer`, `route`, `header:<name>`",
            ),
        }
    }
    if !authenticates && key.iter().any(|k| matches!(k, KeyPart::Consumer)) {
        errs.push(
            format!("{at}.key"),
            "`consumer` needs a route that authenticates (`auth.methods`)",
        );
    }
    key
}

/// A list of `rate_limits` at `at` for route `route` (`*`: global).
fn compile_limits(
    raw: &[RateLimitConfig],
    at: &str,
    route: &str,
    authenticates: bool,
    t: &Traffic<'_>,
    errs: &mut Collector,
) -> Vec<Arc<Limit>> {
    let mut out = Vec::new();
    let mut names = HashSet::new();
    for (i, l) in raw.iter().enumerate() {
        let lat = format!("{at}[{i}]");
        let name = l
            .name
            .as_ref()
            .map_or_else(|| format!("limit{i}"), ToString::to_string);
        if !valid_name(&name) {
            errs.push(format!("{lat}.name"), "1-64 of A-Z a-z 0-9 - _");
            continue;
        }
        if !names.insert(name.clone()) {
            errs.push(format!("{lat}.name"), "two limits here share this name");
        }
        // Global limits may key by consumer: they then apply on routes that authenticate.
        let key = compile_key(&l.key, "ip", &lat, authenticates, errs);
        let max_delay = l.delay.map_or(Duration::ZERO, |d| d.0);
        if max_delay > Duration::from_secs(60) {
            errs.push(format!("{lat}.delay"), "at most 60s");
        }
        if l.queue.is_some() && max_delay.is_zero() {
            errs.push(format!("{lat}.queue"), "only with `delay`");
        }
        if l.queue == Some(0) {
            errs.push(format!("{lat}.queue"), "at least 1");
        }
        let spec = LimitSpec {
            requests: l.requests,
            period: l.per.0,
            burst: l.burst.unwrap_or(l.requests),
            max_delay,
            queue: l.queue.unwrap_or(DEFAULT_QUEUE) as usize,
        };
        let backend = t.backend(l.store.as_ref(), l.on_store_error.as_ref(), &lat, errs);
        match Limit::new(
            name.clone(),
            key,
            &spec,
            format!("rl:{route}:{name}:"),
            backend,
            t.registry.metrics.clone(),
        ) {
            Some(limit) => out.push(Arc::new(limit)),
            None => errs.push(
                lat,
                "`requests` and `burst` must be at least 1 and `per` longer than `requests` nanoseconds",
            ),
        }
    }
    out
}

fn compile_quotas(
    r: &RouteConfig,
    at: &str,
    namespace: &str,
    authenticates: bool,
    t: &Traffic<'_>,
    errs: &mut Collector,
) -> Vec<Arc<Quota>> {
    let mut out = Vec::new();
    let mut names = HashSet::new();
    for (i, q) in r.quotas.iter().enumerate() {
        let qat = format!("{at}.quotas[{i}]");
        let name = q
            .name
            .as_ref()
            .map_or_else(|| format!("quota{i}"), ToString::to_string);
        if !valid_name(&name) {
            errs.push(format!("{qat}.name"), "1-64 of A-Z a-z 0-9 - _");
            continue;
        }
        if !names.insert(name.clone())
            || r.rate_limits
                .iter()
                .any(|l| l.name.as_deref() == Some(&name))
        {
            errs.push(
                format!("{qat}.name"),
                "a limit or quota of this route has this name",
            );
        }
        let period = match q.per.as_str() {
            "day" => QuotaPeriod::Day,
            "month" => QuotaPeriod::Month,
            _ => {
                errs.push(format!("{qat}.per"), "`day` or `month`");
                continue;
            }
        };
        if q.limit == 0 {
            errs.push(format!("{qat}.limit"), "at least 1");
        }
        let key = compile_key(&q.key, "consumer", &qat, authenticates, errs);
        let backend = t.backend(q.store.as_ref(), q.on_store_error.as_ref(), &qat, errs);
        match Quota::new(
            name.clone(),
            key,
            q.limit,
            period,
            format!("q:{namespace}:{name}:"),
            backend,
        ) {
            Some(q) => out.push(Arc::new(q)),
            None => errs.push(format!("{qat}.name"), "not a valid header token"),
        }
    }
    out
}

fn compile_bans(raw: &[AutoBanConfig], t: &Traffic<'_>, errs: &mut Collector) -> Vec<Arc<BanRule>> {
    let mut out = Vec::new();
    let mut names = HashSet::new();
    for (i, b) in raw.iter().enumerate() {
        let at = format!("auto_ban[{i}]");
        if !valid_name(&b.name) {
            errs.push(format!("{at}.name"), "1-64 of A-Z a-z 0-9 - _");
            continue;
        }
        if !names.insert(b.name.to_string()) {
            errs.push(format!("{at}.name"), "two rules share this name");
        }
        let mut on = Vec::new();
        for (j, o) in b.on.iter().enumerate() {
            match Offence::parse(o) {
                Some(o) => on.push(o),
                None => errs.push(
                    format!("{at}.on[{j}]"),
                    "one of `authn_failure`, `authz_denied`, `rate_limited`, `not_found`, `waf_block`",
                ),
            }
        }
        if on.is_empty() {
            errs.push(format!("{at}.on"), "name at least one offence");
        }
        let mut methods = Vec::new();
        for (j, m) in b.methods.iter().enumerate() {
            if crate::policy::authn::names::ALL.contains(&m.as_str()) {
                methods.push(m.to_string());
            } else {
                errs.push(
                    format!("{at}.methods[{j}]"),
                    "one of `api_key`, `jwt`, `introspection`, `mtls`, `basic`",
                );
            }
        }
        let key = match b.key.as_deref() {
            None | Some("ip") => BanKey::Ip,
            Some("consumer") => BanKey::Consumer,
            Some(_) => {
                errs.push(format!("{at}.key"), "`ip` or `consumer`");
                BanKey::Ip
            }
        };
        if b.threshold == 0 {
            errs.push(format!("{at}.threshold"), "at least 1");
        }
        if b.within.0.is_zero() || b.ban_for.0.is_zero() {
            errs.push(at.clone(), "`within` and `ban_for` must be longer than 0s");
        }
        let store = match t.backend(b.store.as_ref(), None, &at, errs) {
            Backend::Redis { redis, .. } => BanStore::Redis(redis),
            Backend::Memory(m) => BanStore::Memory(m),
        };
        out.push(Arc::new(BanRule {
            name: b.name.to_string(),
            on,
            methods,
            key,
            threshold: b.threshold,
            within: b.within.0,
            ban_for: b.ban_for.0,
            except_routes: b.except_routes.iter().map(ToString::to_string).collect(),
            store,
            list: t.registry.bans.list(&b.name),
        }));
    }
    out
}
