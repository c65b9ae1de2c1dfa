//! Prometheus metrics (no global registry): requests by route and status, latency histograms,
//! upstream attempts and target health, connections, reloads and access-log drops.
//! Names follow `portcullis_<subsystem>_<thing>_<unit>`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteStatus {
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationStatus {
    route: String,
    operation: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    route: String,
    operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ListenerLabel {
    listener: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamOutcome {
    upstream: String,
    target: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TargetLabel {
    upstream: String,
    target: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabel {
    stage: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UrlResult {
    url: String,
    result: &'static str,
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

/// Most (stage, outcome) label pairs whose counters are cached ([`Metrics::decisions`]).
const DECISION_CACHE: usize = 256;

/// All metrics of the process.
pub struct Metrics {
    registry: Registry,
    requests: Family<RouteStatus, Counter>,
    latency: Family<RouteLabel, Histogram, fn() -> Histogram>,
    operation_requests: Family<OperationStatus, Counter>,
    operation_latency: Family<OperationLabel, Histogram, fn() -> Histogram>,
    active_connections: Family<ListenerLabel, Gauge>,
    rejected_connections: Family<ListenerLabel, Counter>,
    tls_failures: Family<ListenerLabel, Counter>,
    upstream_attempts: Family<UpstreamOutcome, Counter>,
    target_healthy: Family<TargetLabel, Gauge>,
    reloads: Family<ResultLabel, Counter>,
    retries: Family<RouteLabel, Counter>,
    retries_refused: Family<RouteLabel, Counter>,
    decisions: Family<DecisionLabel, Counter>,
    /// The decision counters by the address of their static labels, so a request does not
    /// hash two strings under the family's lock (about 450 instructions each); at most
    /// [`DECISION_CACHE`] pairs.
    decision_cache: std::sync::Mutex<Vec<(&'static str, &'static str, Counter)>>,
    jwks_fetches: Family<UrlResult, Counter>,
    /// Access-log records dropped because the writer fell behind.
    pub access_log_dropped: Counter<u64, AtomicU64>,
    open: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// Decrements the active-connection gauge (and the process-wide count) when dropped.
pub struct ConnectionMetric(Gauge, Arc<AtomicUsize>);

impl Drop for ConnectionMetric {
    fn drop(&mut self) {
        self.0.dec();
        self.1.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("portcullis");
        let requests = Family::<RouteStatus, Counter>::default();
        registry.register(
            "http_requests",
            "Requests answered, by route and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabel, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from request start to response headers, by route",
            latency.clone(),
        );
        let operation_requests = Family::<OperationStatus, Counter>::default();
        registry.register(
            "openapi_operation_requests",
            "Requests answered on OpenAPI routes, by route, operation and status",
            operation_requests.clone(),
        );
        let operation_latency =
            Family::<OperationLabel, Histogram, fn() -> Histogram>::new_with_constructor(
                latency_histogram,
            );
        registry.register(
            "openapi_operation_request_duration_seconds",
            "Time from request start to response headers on OpenAPI routes, by route and operation",
            operation_latency.clone(),
        );
        let active_connections = Family::<ListenerLabel, Gauge>::default();
        registry.register(
            "listener_active_connections",
            "Open client connections",
            active_connections.clone(),
        );
        let rejected_connections = Family::<ListenerLabel, Counter>::default();
        registry.register(
            "listener_rejected_connections",
            "Connections closed at accept because of max_connections",
            rejected_connections.clone(),
        );
        let tls_failures = Family::<ListenerLabel, Counter>::default();
        registry.register(
            "tls_handshake_failures",
            "Failed or timed-out TLS handshakes",
            tls_failures.clone(),
        );
        let upstream_attempts = Family::<UpstreamOutcome, Counter>::default();
        registry.register(
            "upstream_attempts",
            "Upstream attempts by target and outcome",
            upstream_attempts.clone(),
        );
        let target_healthy = Family::<TargetLabel, Gauge>::default();
        registry.register(
            "upstream_target_healthy",
            "1 when the target passes active health checks",
            target_healthy.clone(),
        );
        let reloads = Family::<ResultLabel, Counter>::default();
        registry.register(
            "config_reloads",
            "Config reloads by result",
            reloads.clone(),
        );
        let retries = Family::<RouteLabel, Counter>::default();
        registry.register(
            "upstream_retries",
            "Retried upstream attempts",
            retries.clone(),
        );
        let retries_refused = Family::<RouteLabel, Counter>::default();
        registry.register(
            "upstream_retries_refused",
            "Retries the upstream's retry budget refused",
            retries_refused.clone(),
        );
        let decisions = Family::<DecisionLabel, Counter>::default();
        registry.register(
            "security_decisions",
            "Security decisions by stage and outcome: authentication and authorization (reason code), the input checks (validate, content, openapi, schema) and the OpenAPI response check (openapi_response)",
            decisions.clone(),
        );
        let jwks_fetches = Family::<UrlResult, Counter>::default();
        registry.register(
            "jwks_fetches",
            "JWKS fetches by key set URL and result",
            jwks_fetches.clone(),
        );
        let access_log_dropped = Counter::default();
        registry.register(
            "access_log_dropped",
            "Access-log records dropped because the writer fell behind",
            access_log_dropped.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            operation_requests,
            operation_latency,
            active_connections,
            rejected_connections,
            tls_failures,
            upstream_attempts,
            target_healthy,
            reloads,
            retries,
            retries_refused,
            decisions,
            decision_cache: std::sync::Mutex::new(Vec::new()),
            jwks_fetches,
            access_log_dropped,
            open: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Registers the traffic-control metrics.
    pub fn register_state(&mut self, m: &StateMetrics) {
        let r = &mut self.registry;
        r.register(
            "state_store_up",
            "1 while the shared state store answers, 0 after a failed call until one succeeds",
            m.up.clone(),
        );
        r.register(
            "state_store_errors",
            "Failed or timed-out state-store calls, by operation",
            m.errors.clone(),
        );
        r.register(
            "state_store_fallbacks",
            "Traffic decisions made without the shared store, by on_store_error mode",
            m.fallbacks.clone(),
        );
        r.register(
            "bans",
            "Bans issued by this gateway, by rule",
            m.bans.clone(),
        );
        r.register(
            "bans_active",
            "Bans in force on this gateway, by rule",
            m.bans_active.clone(),
        );
        r.register(
            "ratelimit_throttled",
            "Requests delayed (not refused) by a throttling limit",
            m.throttled.clone(),
        );
        r.register(
            "concurrency_rejected",
            "Requests refused by a concurrency limit",
            m.concurrency_rejected.clone(),
        );
        r.register(
            "offences_dropped",
            "Offences not counted because the reporting queue was full",
            m.offences_dropped.clone(),
        );
        r.register(
            "waf_rule_matches",
            "WAF rule matches, by route, rule id, family and the request's verdict",
            m.waf_matches.clone(),
        );
        r.register(
            "waf_inputs",
            "WAF inputs by route: inspected, or answered from the remembered clean inputs",
            m.waf_inputs.clone(),
        );
    }

    /// Client connections open on all listeners.
    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Handles for `route`, to be cached by the caller.
    pub fn route_metrics(&self, route: &str) -> RouteMetrics {
        let latency = self.latency.get_or_create(&RouteLabel {
            route: route.to_owned(),
        });
        RouteMetrics::new(MetricKey::Route(route.to_owned()), latency.clone())
    }

    /// Handles for one OpenAPI `operation` (its `operationId`, or `METHOD /template`) of
    /// `route`, to be cached by the caller. Counted besides the route's own series.
    pub fn operation_metrics(&self, route: &str, operation: &str) -> RouteMetrics {
        let latency = self.operation_latency.get_or_create(&OperationLabel {
            route: route.to_owned(),
            operation: operation.to_owned(),
        });
        let key = MetricKey::Operation {
            route: route.to_owned(),
            operation: operation.to_owned(),
        };
        RouteMetrics::new(key, latency.clone())
    }

    /// The counter of successful attempts on a target, to be cached by the caller.
    pub fn upstream_ok_counter(&self, upstream: &str, target: &str) -> Counter {
        self.upstream_attempts
            .get_or_create(&UpstreamOutcome {
                upstream: upstream.to_owned(),
                target: target.to_owned(),
                outcome: "ok",
            })
            .clone()
    }

    /// Counts one answered request (uncached path: requests that matched no route).
    pub fn request(&self, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RouteStatus {
                route: route.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabel {
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    /// Counts an upstream attempt.
    pub fn upstream_attempt(&self, upstream: &str, target: &str, outcome: &'static str) {
        self.upstream_attempts
            .get_or_create(&UpstreamOutcome {
                upstream: upstream.to_owned(),
                target: target.to_owned(),
                outcome,
            })
            .inc();
    }

    /// Counts a retry on `route`.
    pub fn retry(&self, route: &str) {
        self.retries
            .get_or_create(&RouteLabel {
                route: route.to_owned(),
            })
            .inc();
    }

    /// Counts a retry on `route` that the retry budget refused.
    pub fn retry_refused(&self, route: &str) {
        self.retries_refused
            .get_or_create(&RouteLabel {
                route: route.to_owned(),
            })
            .inc();
    }

    /// Sets a target's health gauge.
    pub fn target_health(&self, upstream: &str, target: &str, healthy: bool) {
        self.target_healthy
            .get_or_create(&TargetLabel {
                upstream: upstream.to_owned(),
                target: target.to_owned(),
            })
            .set(i64::from(healthy));
    }

    /// A connection opened; the returned guard closes it in the gauge.
    pub fn connection_opened(&self, listener: &str) -> ConnectionMetric {
        let g = self
            .active_connections
            .get_or_create(&ListenerLabel {
                listener: listener.to_owned(),
            })
            .clone();
        g.inc();
        self.open.fetch_add(1, Ordering::Relaxed);
        ConnectionMetric(g, self.open.clone())
    }

    /// A connection was refused by `max_connections`.
    pub fn connection_rejected(&self, listener: &str) {
        self.rejected_connections
            .get_or_create(&ListenerLabel {
                listener: listener.to_owned(),
            })
            .inc();
    }

    /// A TLS handshake failed.
    pub fn tls_handshake_failed(&self, listener: &str) {
        self.tls_failures
            .get_or_create(&ListenerLabel {
                listener: listener.to_owned(),
            })
            .inc();
    }

    /// Counts a reload by result (`success` or `failure`).
    pub fn reload(&self, ok: bool) {
        self.reloads
            .get_or_create(&ResultLabel {
                result: if ok { "success" } else { "failure" },
            })
            .inc();
    }

    /// Counts the authentication, authorization and input decisions of one request, under one
    /// lock of the counter cache.
    pub fn decisions(&self, decisions: &[(&'static str, &'static str)]) {
        let mut counted = decisions
            .iter()
            .filter(|(stage, _)| {
                matches!(
                    *stage,
                    "authn"
                        | "authz"
                        | "validate"
                        | "content"
                        | "openapi"
                        | "openapi_response"
                        | "schema"
                )
            })
            .peekable();
        if counted.peek().is_none() {
            return;
        }
        let mut cache = crate::upstream::state::lock(&self.decision_cache);
        for &(stage, outcome) in counted {
            let known = cache
                .iter()
                .find(|(s, o, _)| std::ptr::eq(*s, stage) && std::ptr::eq(*o, outcome));
            match known {
                Some((_, _, c)) => {
                    c.inc();
                }
                None => {
                    let c = self
                        .decisions
                        .get_or_create(&DecisionLabel { stage, outcome })
                        .clone();
                    c.inc();
                    if cache.len() < DECISION_CACHE {
                        cache.push((stage, outcome, c));
                    }
                }
            }
        }
    }

    /// The success and failure counters of the JWKS fetches from `url`.
    pub fn jwks_counters(&self, url: &str) -> (Counter, Counter) {
        let c = |result| {
            self.jwks_fetches
                .get_or_create(&UrlResult {
                    url: url.to_owned(),
                    result,
                })
                .clone()
        };
        (c("success"), c("failure"))
    }

    /// Renders the OpenMetrics text.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// Shared handle.
pub type SharedMetrics = Arc<Metrics>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreLabel {
    store: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreOp {
    store: String,
    op: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModeLabel {
    mode: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuleLabel {
    rule: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabel {
    limit: String,
}

/// Traffic-control metrics and the WAF's rule matches. Created with the state registry (before
/// the config is compiled, so stores and stages can hold handles) and registered into
/// [`Metrics`] by [`Metrics::register_state`]. Cloning shares the same series.
#[derive(Clone, Debug, Default)]
pub struct StateMetrics {
    up: Family<StoreLabel, Gauge>,
    errors: Family<StoreOp, Counter>,
    fallbacks: Family<ModeLabel, Counter>,
    bans: Family<RuleLabel, Counter>,
    bans_active: Family<RuleLabel, Gauge>,
    throttled: Family<LimitLabel, Counter>,
    concurrency_rejected: Family<LimitLabel, Counter>,
    offences_dropped: Counter,
    waf_matches: Family<WafRuleLabel, Counter>,
    waf_inputs: Family<WafInputLabel, Counter>,
}

/// A route's WAF inputs by outcome (`inspected`, `remembered`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WafInputLabel {
    route: String,
    outcome: &'static str,
}

/// One WAF rule's matches on a route.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WafRuleLabel {
    route: String,
    rule: u32,
    family: &'static str,
    outcome: &'static str,
}

impl StateMetrics {
    /// The counters of `route`'s WAF inputs: (inspected, remembered). Fetched once when the
    /// route is compiled, so a request only adds to them.
    pub fn waf_input_counters(&self, route: &str) -> (Counter, Counter) {
        let c = |outcome| {
            self.waf_inputs
                .get_or_create(&WafInputLabel {
                    route: route.to_owned(),
                    outcome,
                })
                .clone()
        };
        (c("inspected"), c("remembered"))
    }

    /// Counts one match of WAF `rule` (of `family`) on `route`, with the request's verdict
    /// (`blocked`, `would_block` or `detected`).
    pub fn waf_match(&self, route: &str, rule: u32, family: &'static str, outcome: &'static str) {
        self.waf_matches
            .get_or_create(&WafRuleLabel {
                route: route.to_owned(),
                rule,
                family,
                outcome,
            })
            .inc();
    }

    /// Sets whether `store` answers.
    pub fn set_up(&self, store: &str, up: bool) {
        self.up
            .get_or_create(&StoreLabel {
                store: store.to_owned(),
            })
            .set(i64::from(up));
    }

    /// A failed store call.
    pub fn error(&self, store: &str, op: &'static str) {
        self.errors
            .get_or_create(&StoreOp {
                store: store.to_owned(),
                op,
            })
            .inc();
    }

    /// A decision made without the shared store, by `mode` (`deny`, `allow`, `local`).
    pub fn fallback(&self, mode: &'static str) {
        self.fallbacks.get_or_create(&ModeLabel { mode }).inc();
    }

    /// Bans issued by this gateway under `rule`.
    pub fn banned(&self, rule: &str, n: u64) {
        self.bans
            .get_or_create(&RuleLabel {
                rule: rule.to_owned(),
            })
            .inc_by(n);
    }

    /// Bans in force under `rule`.
    pub fn bans_active(&self, rule: &str, n: usize) {
        self.bans_active
            .get_or_create(&RuleLabel {
                rule: rule.to_owned(),
            })
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// A request delayed by throttling under `limit`.
    pub fn throttled(&self, limit: &str) {
        self.throttled
            .get_or_create(&LimitLabel {
                limit: limit.to_owned(),
            })
            .inc();
    }

    /// A request refused by a concurrency limit.
    pub fn concurrency_rejected(&self, limit: &str) {
        self.concurrency_rejected
            .get_or_create(&LimitLabel {
                limit: limit.to_owned(),
            })
            .inc();
    }

    /// An offence not counted because the reporting queue was full.
    pub fn offence_dropped(&self) {
        self.offences_dropped.inc();
    }
}

/// Metric handles of one route, or of one OpenAPI operation of a route, fetched once from the
/// families and kept on the compiled route, so the request path neither allocates label
/// strings nor hashes them.
#[derive(Debug)]
pub struct RouteMetrics {
    key: MetricKey,
    latency: Histogram,
    by_status: std::sync::RwLock<Vec<(u16, Counter)>>,
}

/// Whose series [`RouteMetrics`] counts.
#[derive(Debug)]
enum MetricKey {
    Route(String),
    Operation { route: String, operation: String },
}

impl RouteMetrics {
    fn new(key: MetricKey, latency: Histogram) -> Self {
        Self {
            key,
            latency,
            by_status: std::sync::RwLock::new(Vec::new()),
        }
    }

    /// Counts one answered request.
    pub fn observe(&self, metrics: &Metrics, status: u16, seconds: f64) {
        self.latency.observe(seconds);
        let found = self
            .by_status
            .read()
            .ok()
            .and_then(|v| v.iter().find(|(s, _)| *s == status).map(|(_, c)| c.clone()));
        let counter = match found {
            Some(c) => c,
            None => {
                let c = match &self.key {
                    MetricKey::Route(route) => metrics
                        .requests
                        .get_or_create(&RouteStatus {
                            route: route.clone(),
                            status,
                        })
                        .clone(),
                    MetricKey::Operation { route, operation } => metrics
                        .operation_requests
                        .get_or_create(&OperationStatus {
                            route: route.clone(),
                            operation: operation.clone(),
                            status,
                        })
                        .clone(),
                };
                if let Ok(mut v) = self.by_status.write() {
                    // Bounded: at most one entry per distinct status code (< 1000).
                    if !v.iter().any(|(s, _)| *s == status) {
                        v.push((status, c.clone()));
                    }
                }
                c
            }
        };
        counter.inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_decision_counters_count_in_the_family() {
        let m = Metrics::new();
        m.decisions(&[("authn", "missing"), ("route", "ignored")]);
        m.decisions(&[("authn", "missing"), ("authz", "denied")]);
        m.decisions(&[("validate", "te_and_cl"), ("waf", "pass")]);
        let text = m.encode();
        let line = |needle: &str| {
            text.lines()
                .find(|l| {
                    l.starts_with("portcullis_security_decisions_total") && l.contains(needle)
                })
                .map(str::to_owned)
        };
        assert!(
            line("outcome=\"missing\"").is_some_and(|l| l.ends_with(" 2")),
            "{text}"
        );
        assert!(
            line("outcome=\"denied\"").is_some_and(|l| l.ends_with(" 1")),
            "{text}"
        );
        assert!(
            line("stage=\"validate\",outcome=\"te_and_cl\"").is_some_and(|l| l.ends_with(" 1")),
            "{text}"
        );
        assert!(line("ignored").is_none(), "{text}");
        assert!(
            line("stage=\"waf\"").is_none(),
            "the WAF has its own: {text}"
        );
    }
}
