//! The config file as written: serde types with `deny_unknown_fields` and a doc on every field.
//! These docs become `docs/config.schema.json` and the config reference. Nothing here is
//! validated beyond its shape; `compile()` turns it into runtime types that cannot be invalid.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::expand::ExpandedString as Str;
use super::units::{ByteSize, HumanDuration};

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Listeners that accept client traffic. At least one is required.
    pub listeners: Vec<ListenerConfig>,
    /// The admin listener (`/metrics`, `/healthz`, `/readyz`). Default: bound to 127.0.0.1:9901.
    #[serde(default)]
    pub admin: AdminConfig,
    /// Identity settings shared by all routes (the API-key pepper).
    #[serde(default)]
    pub identity: IdentityConfig,
    /// Consumers: named identities with roles and credentials.
    #[serde(default)]
    pub consumers: Vec<ConsumerConfig>,
    /// Role grants: what each role may do on routes and route groups (by method). Routes
    /// covered by a grant need no `authorize` of their own.
    #[serde(default)]
    pub roles: BTreeMap<String, RoleConfig>,
    /// Named upstream pools that routes forward to.
    #[serde(default)]
    pub upstreams: BTreeMap<String, UpstreamConfig>,
    /// Routes, matched by the precedence described in `docs/config-reference.md`.
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
    /// Client addresses (CIDRs) of proxies whose `X-Forwarded-For` is trusted to name the real
    /// client. Default: none, so the TCP peer is the client.
    #[serde(default)]
    pub trusted_proxies: Vec<Str>,
    /// Response headers added to every answer (proxied or local) unless already set.
    /// Default: `x-content-type-options: nosniff`, `x-frame-options: DENY`,
    /// `referrer-policy: no-referrer`.
    #[serde(default)]
    pub security_headers: Option<BTreeMap<String, Str>>,
    /// Access log settings.
    #[serde(default)]
    pub access_log: AccessLogConfig,
    /// Hot-reload settings.
    #[serde(default)]
    pub reload: ReloadConfig,
    /// How long a graceful shutdown (SIGTERM/SIGINT) waits for in-flight requests. Default 30s.
    #[serde(default)]
    pub shutdown_timeout: Option<HumanDuration>,
    /// Where rate-limit, quota and ban state lives: in this process (default) or in Redis,
    /// shared by every gateway that points at it.
    #[serde(default)]
    pub state: StateConfig,
    /// Rate limits applied to every route (before the route's own). Limits keyed by
    /// `consumer` apply on routes that authenticate.
    #[serde(default)]
    pub rate_limits: Vec<RateLimitConfig>,
    /// Automatic bans: offences (authentication failures, WAF blocks, 404s, ...) from one IP
    /// or consumer within a time trigger a ban (403 on every route but the excepted ones).
    #[serde(default)]
    pub auto_ban: Vec<AutoBanConfig>,
}

/// Shared state settings.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StateConfig {
    /// Default store of limits, quotas and bans: `memory` (this process) or `redis`.
    /// Default `memory`.
    #[serde(default)]
    pub store: Option<Str>,
    /// The Redis server, required when any limit uses `redis`.
    #[serde(default)]
    pub redis: Option<RedisConfig>,
    /// Default for every rate limit and quota: what to do when Redis does not answer in time:
    /// `deny` (503), `allow`, or `local` (this gateway's own counters). Default `local`.
    /// (Ban rules always count locally while Redis is unreachable.)
    #[serde(default)]
    pub on_store_error: Option<Str>,
}

/// A Redis server.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port[/db]`, `rediss://` for TLS. Put the password in
    /// `${env:...}` or `${file:...}`; logs and metrics show it as `***`.
    pub url: Str,
    /// Bound on every call. Default `50ms`.
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    /// Prefix of every key. Default `portcullis`.
    #[serde(default)]
    pub prefix: Option<Str>,
    /// How often bans issued by other gateways are copied in. Default `1s`.
    #[serde(default)]
    pub sync_interval: Option<HumanDuration>,
}

/// One automatic-ban rule.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoBanConfig {
    /// Name (letters, digits, `-`, `_`), in metrics, logs and store keys.
    pub name: Str,
    /// Offences that count: `authn_failure` (a presented credential refused), `authz_denied`,
    /// `rate_limited`, `not_found`, `waf_block`.
    pub on: Vec<Str>,
    /// For `authn_failure`: only failures of these methods count (`api_key`, `jwt`,
    /// `introspection`, `mtls`, `basic`). Default: all.
    #[serde(default)]
    pub methods: Vec<Str>,
    /// Who is counted and banned: `ip` (real client IP) or `consumer`. Default `ip`.
    #[serde(default)]
    pub key: Option<Str>,
    /// Offences that trigger a ban.
    pub threshold: u32,
    /// Within this time (a window sliding in eight steps).
    pub within: HumanDuration,
    /// Ban length.
    pub ban_for: HumanDuration,
    /// Routes where the ban is not enforced.
    #[serde(default)]
    pub except_routes: Vec<Str>,
    /// `memory` or `redis`. Default: `state.store`.
    #[serde(default)]
    pub store: Option<Str>,
}

/// One listening socket.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListenerConfig {
    /// Unique name, used in logs, metrics and `routes[].listeners`.
    pub name: Str,
    /// Address and port to bind, such as `0.0.0.0:8443` or `[::]:80`.
    pub bind: Str,
    /// TLS settings; without them the listener speaks plain HTTP (HTTP/1.1 and h2c).
    #[serde(default)]
    pub tls: Option<TlsListenerConfig>,
    /// When set, this plain listener answers every request with a 308 redirect to HTTPS on this
    /// port (the host is taken from the request).
    #[serde(default)]
    pub redirect_https_port: Option<u16>,
    /// Peer IP allow and deny lists, checked when a connection is accepted (refused
    /// connections are closed before anything is read). The TCP peer counts here, not
    /// `X-Forwarded-For`.
    #[serde(default)]
    pub ip_filter: Option<IpFilterConfig>,
    /// Connection and request limits (slowloris and oversize protection).
    #[serde(default)]
    pub limits: ListenerLimits,
    /// Check HTTP/1 framing strictly on the raw bytes (RFC 9112): bare LF or CR, obs-fold,
    /// whitespace before a colon, invalid bytes, `Transfer-Encoding` other than one final
    /// `chunked`, `Transfer-Encoding` with `Content-Length`, repeated or malformed
    /// `Content-Length` and malformed chunks get 400 and the connection is closed; nothing
    /// from that request on is forwarded. Default true; turn off only behind a proxy that
    /// already does this.
    #[serde(default)]
    pub strict_http: Option<bool>,
}

/// Limits enforced at the listener, before any route is chosen.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListenerLimits {
    /// Concurrent connections; further connections are closed at accept. Default 10000.
    pub max_connections: Option<usize>,
    /// Time allowed for a client to send complete request headers (and the TLS handshake).
    /// Default 10s.
    pub header_read_timeout: Option<HumanDuration>,
    /// A connection with no request in flight for this long is closed. Default 60s.
    pub idle_timeout: Option<HumanDuration>,
    /// Total bytes of request line plus headers. Default 16KiB.
    pub max_header_bytes: Option<ByteSize>,
    /// Number of request headers. Default 100.
    pub max_headers: Option<usize>,
    /// Length of the request target in bytes. Default 8KiB.
    pub max_uri_length: Option<ByteSize>,
    /// Request body size; larger bodies get 413, also when discovered while streaming.
    /// Default 10MiB; a route may lower or raise it.
    pub max_body_bytes: Option<ByteSize>,
}

/// TLS termination on a listener.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsListenerConfig {
    /// Certificates; the one whose names match the client's SNI is used, the first one when
    /// nothing matches or no SNI is sent.
    pub certificates: Vec<CertificateConfig>,
    /// Lowest TLS version: `1.2` (default) or `1.3`.
    #[serde(default)]
    pub min_version: Option<Str>,
    /// Verify client certificates (mTLS) against these CAs.
    #[serde(default)]
    pub client_auth: Option<ClientAuthConfig>,
    /// Send `Strict-Transport-Security` on every answer from this listener.
    #[serde(default)]
    pub hsts: Option<HstsConfig>,
}

/// One certificate chain and its key, in PEM.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateConfig {
    /// PEM file with the certificate chain, leaf first. Relative to the config file.
    pub cert: Str,
    /// PEM file with the private key. Relative to the config file.
    pub key: Str,
    /// SNI names this certificate serves (`api.example.com`, `*.example.com`). Default: the DNS
    /// names in the certificate.
    #[serde(default)]
    pub server_names: Vec<Str>,
}

/// Client-certificate verification.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientAuthConfig {
    /// PEM bundle of CAs that may issue client certificates.
    pub ca: Str,
    /// Reject the handshake without a valid client certificate. Default true; when false a
    /// client may connect without one, and routes decide.
    #[serde(default)]
    pub required: Option<bool>,
    /// PEM files of certificate revocation lists (RFC 5280) from the client CAs. A client
    /// certificate revoked by one of them is refused in the handshake. Re-read on every
    /// reload, so publishing a new CRL is a file change and a reload. Default: none (no
    /// revocation checking).
    #[serde(default)]
    pub crls: Vec<Str>,
    /// Which certificates of a client's chain are checked against the CRLs: `chain` (every
    /// certificate, the default) or `leaf` (only the client's own).
    #[serde(default)]
    pub crl_scope: CrlScope,
    /// A certificate whose issuer has no CRL among `crls`: `deny` (the default: refuse it,
    /// since its revocation cannot be known) or `allow`.
    #[serde(default)]
    pub unknown_revocation: UnknownRevocation,
    /// A CRL past its `nextUpdate`: `enforce` (the default, as OpenSSL and nginx do: refuse
    /// the certificates it covers until a fresh CRL is loaded) or `ignore`.
    #[serde(default)]
    pub crl_expiry: CrlExpiry,
}

/// Which certificates of a client chain are checked for revocation.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CrlScope {
    /// Every certificate of the chain.
    #[default]
    Chain,
    /// Only the end-entity (client) certificate.
    Leaf,
}

/// What to do with a certificate whose revocation status is unknown (no CRL from its issuer).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnknownRevocation {
    /// Refuse the certificate.
    #[default]
    Deny,
    /// Accept it.
    Allow,
}

/// What to do with a CRL past its `nextUpdate` time.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CrlExpiry {
    /// Refuse the certificates it covers.
    #[default]
    Enforce,
    /// Use it anyway.
    Ignore,
}

/// HTTP Strict Transport Security.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HstsConfig {
    /// `max-age`. Default 365 days.
    #[serde(default)]
    pub max_age: Option<HumanDuration>,
    /// Add `includeSubDomains`. Default false.
    #[serde(default)]
    pub include_subdomains: bool,
    /// Add `preload`. Default false.
    #[serde(default)]
    pub preload: bool,
}

/// The admin listener.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Address to bind. Default `127.0.0.1:9901`. Anything but loopback is a posture warning.
    pub bind: Option<Str>,
}

/// Access log.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessLogConfig {
    /// Turn the access log off. Default false.
    #[serde(default)]
    pub disabled: bool,
    /// Where to write JSON lines: `stdout` (default) or a file path.
    pub path: Option<Str>,
    /// Request headers to include in each record. `authorization`, `cookie`, `set-cookie`,
    /// `proxy-authorization`, `x-api-key`, `x-auth-token` and the `redact` list are always
    /// written as `[redacted]`.
    #[serde(default)]
    pub headers: Vec<Str>,
    /// More header names whose values are never logged.
    #[serde(default)]
    pub redact: Vec<Str>,
    /// Records waiting to be written; when full, records are dropped and counted. Default 8192.
    pub buffer: Option<usize>,
}

/// Hot reload.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReloadConfig {
    /// Watch the config file and reload when it changes. Default true (SIGHUP always works).
    pub watch: Option<bool>,
    /// How often the file is checked for changes. Default 2s.
    pub interval: Option<HumanDuration>,
}

/// A named pool of upstream targets.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// Targets as `host:port`.
    pub targets: Vec<TargetConfig>,
    /// Load-balancing policy. Default `round_robin`.
    #[serde(default)]
    pub balance: Option<BalanceConfig>,
    /// Protocol to the targets: `http1` (default), `h2c` (HTTP/2 cleartext, for gRPC), or `h2`
    /// (HTTP/2 over TLS; needs `tls`).
    #[serde(default)]
    pub protocol: Option<Str>,
    /// TLS to the targets.
    #[serde(default)]
    pub tls: Option<UpstreamTlsConfig>,
    /// Timeouts.
    #[serde(default)]
    pub timeouts: UpstreamTimeouts,
    /// Active health checks.
    #[serde(default)]
    pub health_check: Option<HealthCheckConfig>,
    /// Passive ejection of failing targets.
    #[serde(default)]
    pub passive: Option<PassiveConfig>,
    /// Retries of idempotent requests.
    #[serde(default)]
    pub retries: Option<RetryConfig>,
    /// Circuit breaker per target.
    #[serde(default)]
    pub circuit_breaker: Option<CircuitBreakerConfig>,
    /// Idle keep-alive connections kept per target. Default 64.
    #[serde(default)]
    pub max_idle_per_target: Option<usize>,
}

/// One upstream target.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, untagged)]
pub enum TargetConfig {
    /// Just `host:port`, weight 1.
    Address(Str),
    /// `host:port` with a weight.
    Weighted {
        /// `host:port`.
        address: Str,
        /// Relative share of requests (1 to 1000). Default 1.
        #[serde(default)]
        weight: Option<u32>,
    },
}

/// Load-balancing policy.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum BalanceConfig {
    /// Smooth weighted round robin.
    RoundRobin,
    /// Least outstanding requests between two random targets (power of two choices), weighted.
    LeastRequest,
    /// Consistent hashing on a request key, so one key keeps reaching one target.
    ConsistentHash(HashKeyConfig),
}

/// What a consistent hash is computed over; falls back to the client IP when missing.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum HashKeyConfig {
    /// A request header's value.
    Header(Str),
    /// A cookie's value.
    Cookie(Str),
    /// The real client IP.
    ClientIp,
}

/// TLS to upstream targets.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpstreamTlsConfig {
    /// PEM bundle of CAs that may sign the targets' certificates. Required: targets are verified
    /// against exactly the CAs you name.
    pub ca: Option<Str>,
    /// Name sent as SNI and verified in the target's certificate. Default: the target host.
    pub server_name: Option<Str>,
    /// Client certificate (PEM chain) for mTLS to the target.
    pub client_cert: Option<Str>,
    /// Private key for `client_cert`.
    pub client_key: Option<Str>,
}

/// Upstream timeouts.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpstreamTimeouts {
    /// TCP connect. Default 5s. (The TLS handshake counts against `request`.)
    pub connect: Option<HumanDuration>,
    /// Whole request until response headers, per attempt. Default 60s.
    pub request: Option<HumanDuration>,
    /// Idle pooled connections are closed after this. Default 90s.
    pub idle: Option<HumanDuration>,
}

/// Active HTTP health checks.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthCheckConfig {
    /// Path to GET. Default `/healthz`.
    pub path: Option<Str>,
    /// Time between checks. Default 5s.
    pub interval: Option<HumanDuration>,
    /// Timeout of one check. Default 2s.
    pub timeout: Option<HumanDuration>,
    /// Consecutive successes that mark a target healthy again. Default 2.
    pub healthy_threshold: Option<u32>,
    /// Consecutive failures that mark a target unhealthy. Default 3.
    pub unhealthy_threshold: Option<u32>,
    /// Statuses that count as healthy. Default 200-399.
    #[serde(default)]
    pub expected_statuses: Vec<u16>,
}

/// Passive ejection: targets failing live traffic are taken out for a while.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PassiveConfig {
    /// Consecutive connect errors or 5xx answers that eject a target. Default 3.
    pub consecutive_failures: Option<u32>,
    /// How long an ejected target stays out. Default 30s.
    pub ejection_time: Option<HumanDuration>,
}

/// Retries.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// Extra attempts after the first (each on another target where possible). Default 2.
    pub attempts: Option<u32>,
    /// Retries allowed as a share of requests over the last 10 s, in percent. Default 20.
    pub budget_percent: Option<u32>,
    /// Retries always allowed per 10 s regardless of the budget. Default 10.
    pub min_retries: Option<u32>,
    /// Also retry on these response statuses (only for idempotent requests). Default 502, 503, 504.
    #[serde(default)]
    pub on_statuses: Option<Vec<u16>>,
    /// Idempotent requests (PUT, DELETE, ...) whose declared `Content-Length` is at most this
    /// are read into memory first so they can be retried; larger or chunked bodies are
    /// streamed and not retried. `0` turns it off. Default 64KiB, at most 1MiB.
    #[serde(default)]
    pub max_body_bytes: Option<ByteSize>,
}

/// Circuit breaker per target.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CircuitBreakerConfig {
    /// Consecutive failures that open the circuit. Default 5.
    pub failure_threshold: Option<u32>,
    /// How long the circuit stays open before one trial request. Default 10s.
    pub open_for: Option<HumanDuration>,
    /// Requests in flight to one target beyond which new ones go elsewhere. Default unlimited.
    pub max_in_flight: Option<usize>,
}

/// A route: what it matches and what it does.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Unique name, used in logs and metrics.
    pub name: Str,
    /// Only on these listeners. Default: every listener.
    #[serde(default)]
    pub listeners: Vec<Str>,
    /// What the request must look like.
    #[serde(rename = "match", default)]
    pub matches: MatchConfig,
    /// Authentication. Leaving it out means authentication is required; write `none` for a
    /// public route.
    #[serde(default)]
    pub auth: Option<AuthConfig>,
    /// Who may use the route once authenticated; required when `auth` lists methods, unless
    /// a role grant covers the route.
    #[serde(default)]
    pub authorize: Option<AuthorizeConfig>,
    /// Route group, for role grants.
    #[serde(default)]
    pub group: Option<Str>,
    /// Rate limits, all applied (GCRA; 429 with `Retry-After` and `RateLimit` headers).
    #[serde(default)]
    pub rate_limits: Vec<RateLimitConfig>,
    /// Quotas per day or month (429 when spent; `RateLimit` headers show what is left).
    #[serde(default)]
    pub quotas: Vec<QuotaConfig>,
    /// In-flight request limits of this route.
    #[serde(default)]
    pub concurrency: Option<ConcurrencyConfig>,
    /// Client IP allow and deny lists for this route (real client IP; 403 when refused).
    #[serde(default)]
    pub ip_filter: Option<IpFilterConfig>,
    /// Upstream to forward to. Exactly one of `upstream`, `direct` and `redirect` is required.
    #[serde(default)]
    pub upstream: Option<Str>,
    /// Answer directly without an upstream.
    #[serde(default)]
    pub direct: Option<DirectConfig>,
    /// Answer with a redirect.
    #[serde(default)]
    pub redirect: Option<RedirectConfig>,
    /// Remove the matched path prefix before forwarding (`/api/users` on prefix `/api` → `/users`).
    #[serde(default)]
    pub strip_prefix: bool,
    /// Replace the path before forwarding. `{name}` inserts a template parameter.
    #[serde(default)]
    pub rewrite_path: Option<Str>,
    /// Host header sent upstream. Default: the client's.
    #[serde(default)]
    pub upstream_host: Option<Str>,
    /// Header edits on the request sent upstream.
    #[serde(default)]
    pub request_headers: HeaderEditsConfig,
    /// Header edits on the response sent to the client.
    #[serde(default)]
    pub response_headers: HeaderEditsConfig,
    /// Body size limit for this route, overriding the listener's.
    #[serde(default)]
    pub max_body_bytes: Option<ByteSize>,
    /// Mark the route deprecated: adds `Deprecation`, `Sunset` and `Link` headers.
    #[serde(default)]
    pub deprecation: Option<DeprecationConfig>,
    /// Mark the route retired: answers 410 with a `Link` to the successor.
    #[serde(default)]
    pub retired: Option<RetiredConfig>,
    /// Content rules: allowed media types, query parameter count, JSON and multipart limits.
    #[serde(default)]
    pub content: Option<ContentConfig>,
    /// JSON Schema the request body must match (drafts 7 and 2020-12).
    #[serde(default)]
    pub schema: Option<SchemaConfig>,
    /// Validate requests against an OpenAPI 3.0 or 3.1 document: operations, parameters and
    /// JSON bodies; undescribed operations refused by default.
    #[serde(default)]
    pub openapi: Option<OpenApiConfig>,
    /// The WAF: decode every input, run the attack detectors, score, block or log.
    #[serde(default)]
    pub waf: Option<WafConfig>,
    /// How much of a request body the content, schema and WAF stages read into memory.
    #[serde(default)]
    pub body_inspection: Option<BodyInspectionConfig>,
    /// Per-try timeout overriding the upstream's request timeout.
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
}

/// IP allow and deny lists. A deny entry always wins; with any allow entry, only listed
/// addresses pass.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IpFilterConfig {
    /// Networks (CIDR) or addresses allowed.
    #[serde(default)]
    pub allow: Vec<Str>,
    /// Networks (CIDR) or addresses refused.
    #[serde(default)]
    pub deny: Vec<Str>,
    /// Files of allowed entries, one a line (`#` starts a comment), read at every reload.
    #[serde(default)]
    pub allow_files: Vec<Str>,
    /// Files of refused entries, one a line, read at every reload.
    #[serde(default)]
    pub deny_files: Vec<Str>,
}

/// One rate limit of a route.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Name in the `RateLimit` headers (letters, digits, `-`, `_`). Default `limit<N>` by
    /// position.
    #[serde(default)]
    pub name: Option<Str>,
    /// What counts as one client, combined: `ip` (real client IP), `consumer`, `route`,
    /// `header:<name>` (the value is hashed). Default `[ip]`.
    #[serde(default)]
    pub key: Vec<Str>,
    /// Requests admitted per `per`.
    pub requests: u32,
    /// The period, such as `10s` or `1m`.
    pub per: HumanDuration,
    /// Requests admitted at once. Default: `requests` (the whole period's worth).
    #[serde(default)]
    pub burst: Option<u32>,
    /// Throttling: instead of refusing, hold an excess request up to this long until its
    /// slot comes (429 beyond it). Default `0s` (refuse at once).
    #[serde(default)]
    pub delay: Option<HumanDuration>,
    /// With `delay`: requests held at once at most (429 beyond). Default 1000.
    #[serde(default)]
    pub queue: Option<u32>,
    /// `memory` or `redis`. Default: `state.store`.
    #[serde(default)]
    pub store: Option<Str>,
    /// With `redis`: `deny`, `allow` or `local` when the store fails. Default:
    /// `state.on_store_error`.
    #[serde(default)]
    pub on_store_error: Option<Str>,
}

/// A quota: requests per calendar day or month (UTC).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaConfig {
    /// Name in the `RateLimit` headers. Default `quota<N>`.
    #[serde(default)]
    pub name: Option<Str>,
    /// Key parts, as for rate limits. Default `[consumer]`.
    #[serde(default)]
    pub key: Vec<Str>,
    /// Requests per window.
    pub limit: u64,
    /// `day` or `month` (UTC calendar windows).
    pub per: Str,
    /// `memory` or `redis`. Default: `state.store`.
    #[serde(default)]
    pub store: Option<Str>,
    /// With `redis`: `deny`, `allow` or `local`. Default: `state.on_store_error`.
    #[serde(default)]
    pub on_store_error: Option<Str>,
}

/// In-flight request limits (held until the response body is sent).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConcurrencyConfig {
    /// Requests in flight on the route at most (on this gateway).
    #[serde(default)]
    pub max: Option<u32>,
    /// Requests in flight per consumer at most (on this gateway).
    #[serde(default)]
    pub per_consumer: Option<u32>,
    /// Status over the limit: 503 (default) or 429.
    #[serde(default)]
    pub status: Option<u16>,
}

/// Authentication on a route: `none` (public, written explicitly) or the methods it accepts.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum AuthConfig {
    /// `none`: the route is public.
    Keyword(AuthKeyword),
    /// Methods the route accepts.
    Methods(AuthMethodsConfig),
}

/// The one keyword form of `auth`.
#[derive(Debug, Clone, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AuthKeyword {
    /// No authentication: the route is public.
    None,
}

/// Authentication methods of a route, tried in order; the first credential present decides.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthMethodsConfig {
    /// Methods in order: `api_key`, `jwt`, `introspection`, `mtls`, `basic`.
    pub methods: Vec<Str>,
    /// Where API keys are read from. Default: header `x-api-key`.
    #[serde(default)]
    pub api_key: Option<ApiKeySourceConfig>,
    /// JWT settings of the route. Default: bearer tokens from every configured issuer.
    #[serde(default)]
    pub jwt: Option<JwtRouteConfig>,
    /// Introspection endpoint (a name under `identity.introspection`) for the
    /// `introspection` method. Default: the only one configured.
    #[serde(default)]
    pub introspection: Option<Str>,
    /// Remove the credential before forwarding. Default true.
    #[serde(default)]
    pub hide_credentials: Option<bool>,
    /// Send `x-portcullis-consumer`, `x-portcullis-roles` and `x-portcullis-auth-method`
    /// upstream (always stripped from the client's request first). Default true.
    #[serde(default)]
    pub forward_identity: Option<bool>,
    /// Token claims sent upstream as headers (JWT and introspection identities): header name
    /// (starting with `x-portcullis-claim-`) → claim path (dot-separated). Strings, numbers and
    /// booleans are sent as they are, arrays of them comma-separated; other values and
    /// missing claims send nothing.
    #[serde(default)]
    pub forward_claims: BTreeMap<String, Str>,
}

/// Where a route reads API keys from; several may be given, checked in this order.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeySourceConfig {
    /// Header name. Default `x-api-key` when nothing else is given.
    #[serde(default)]
    pub header: Option<Str>,
    /// Accept `Authorization: Bearer <key>`. Default false.
    #[serde(default)]
    pub bearer: bool,
    /// Query parameter name (keys in URLs end up in logs elsewhere; prefer a header).
    #[serde(default)]
    pub query: Option<Str>,
}

/// JWT settings of one route.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JwtRouteConfig {
    /// Issuers (names under `identity.jwt`) whose tokens the route accepts. Default: all.
    #[serde(default)]
    pub issuers: Vec<Str>,
    /// Read the token from this header instead of `Authorization: Bearer`.
    #[serde(default)]
    pub header: Option<Str>,
}

/// Who may use a route once authenticated. Required on every route that authenticates.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeConfig {
    /// Consumers holding any of these roles are allowed (every method).
    #[serde(default)]
    pub roles: Vec<Str>,
    /// Role rules limited to methods, such as readers for GET and writers for POST.
    #[serde(default)]
    pub rules: Vec<AuthorizeRuleConfig>,
    /// Allow every authenticated consumer (must be said explicitly). Default false.
    #[serde(default)]
    pub any_authenticated: bool,
    /// Scopes (a token's `scope` / `scp`) that must all be present; 403 with
    /// `error="insufficient_scope"` otherwise.
    #[serde(default)]
    pub scopes: Vec<Str>,
    /// Conditions on token claims that must all hold.
    #[serde(default)]
    pub claims: Vec<ClaimConditionConfig>,
}

/// Roles admitted for some methods.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeRuleConfig {
    /// Any of these roles.
    pub roles: Vec<Str>,
    /// Only these methods. Default: all.
    #[serde(default)]
    pub methods: Vec<Str>,
}

/// A condition on one claim: exactly one of `equals`, `one_of`, `contains`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimConditionConfig {
    /// Claim path, dot-separated (`tenant`, `org.plan`).
    pub claim: Str,
    /// The claim equals this (numbers and booleans as written in JSON).
    #[serde(default)]
    pub equals: Option<Str>,
    /// The claim equals one of these.
    #[serde(default)]
    pub one_of: Vec<Str>,
    /// The claim is an array (or space-separated string) containing this.
    #[serde(default)]
    pub contains: Option<Str>,
}

/// What one role may do.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleConfig {
    /// Grants.
    pub allow: Vec<GrantConfig>,
}

/// A permission: methods on routes and route groups.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantConfig {
    /// Route names.
    #[serde(default)]
    pub routes: Vec<Str>,
    /// Route groups (`group` on routes).
    #[serde(default)]
    pub groups: Vec<Str>,
    /// Methods. Default: all.
    #[serde(default)]
    pub methods: Vec<Str>,
}

/// Identity settings.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityConfig {
    /// Secret key (at least 32 bytes) for the HMAC-SHA-256 of API keys. Required when any
    /// consumer has an API key. Use `${env:NAME}` or `${file:PATH}`, never inline text.
    #[serde(default)]
    pub api_key_pepper: Option<Str>,
    /// JWT issuers (OAuth 2.0 authorization servers) whose bearer tokens routes may accept,
    /// by name.
    #[serde(default)]
    pub jwt: BTreeMap<String, JwtIssuerConfig>,
    /// OAuth 2.0 token introspection endpoints (RFC 7662) for opaque bearer tokens, by name.
    #[serde(default)]
    pub introspection: BTreeMap<String, IntrospectionConfig>,
}

/// One introspection endpoint.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IntrospectionConfig {
    /// Endpoint URL (https://).
    pub url: Str,
    /// Refuse (401 `unknown_consumer`) an active token whose subject no consumer lists in
    /// `token_subjects` for this endpoint. Default false.
    #[serde(default)]
    pub require_consumer: bool,
    /// The gateway's client id at the authorization server.
    pub client_id: Str,
    /// The gateway's client secret (`${env:...}` or `${file:...}`).
    pub client_secret: Str,
    /// Required `iss` in answers, when set.
    #[serde(default)]
    pub issuer: Option<Str>,
    /// Accepted audiences (`aud` must contain one), when set.
    #[serde(default)]
    pub audiences: Vec<Str>,
    /// Member naming the consumer. Default: `sub`, else `username`, else `client_id`.
    #[serde(default)]
    pub consumer_claim: Option<Str>,
    /// Member path holding roles. Default `roles`.
    #[serde(default)]
    pub roles_claim: Option<Str>,
    /// Timeout of one call; past it the request gets 503 (fail closed). Default 2s.
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    /// Longest time an active answer is reused (never past the token's `exp`). Default 5m.
    #[serde(default)]
    pub max_ttl: Option<HumanDuration>,
    /// How long an inactive answer is reused. Default 10s.
    #[serde(default)]
    pub negative_ttl: Option<HumanDuration>,
    /// Cached answers kept. Default 10000.
    #[serde(default)]
    pub cache_entries: Option<u64>,
    /// CA bundle (PEM) for the endpoint. Default: the system roots.
    #[serde(default)]
    pub ca: Option<Str>,
    /// Allow an `http://` URL (tests only: the gateway's secret and tokens travel in clear).
    #[serde(default)]
    pub allow_insecure_http: bool,
}

/// One JWT issuer: who signs, for whom, and with which keys. Every key is bound to exactly one
/// algorithm; `none` is never accepted, and the token header's `jku`, `x5u`, `jwk` and `x5c`
/// are never used to find a key.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JwtIssuerConfig {
    /// The exact `iss` value tokens must carry.
    pub issuer: Str,
    /// Refuse (401 `unknown_consumer`) a valid token whose subject no consumer lists in
    /// `token_subjects` for this issuer. Default false.
    #[serde(default)]
    pub require_consumer: bool,
    /// Accepted audiences: the token's `aud` (a string or an array) must contain one of them.
    pub audiences: Vec<Str>,
    /// Keys given in the config.
    #[serde(default)]
    pub keys: Vec<JwtKeyConfig>,
    /// A JSON Web Key Set fetched from a URL (and refreshed) or read from a file.
    #[serde(default)]
    pub jwks: Option<JwksConfig>,
    /// Claims that must be present, besides `iss`, `aud` and `exp` (which always are unless
    /// `require_exp: false`).
    #[serde(default)]
    pub required_claims: Vec<Str>,
    /// Require `exp`. Default true; turning it off accepts tokens that never expire.
    #[serde(default)]
    pub require_exp: Option<bool>,
    /// Clock skew allowed on `exp`, `nbf` and `iat`. Default 30s, at most 5m.
    #[serde(default)]
    pub leeway: Option<HumanDuration>,
    /// Longest token accepted, in bytes. Default 8KiB.
    #[serde(default)]
    pub max_token_bytes: Option<ByteSize>,
    /// Claim that names the caller (the consumer). Default `sub`.
    #[serde(default)]
    pub consumer_claim: Option<Str>,
    /// Claim path (dot-separated, such as `realm_access.roles`) holding roles, as an array or
    /// a space-separated string. Default `roles`.
    #[serde(default)]
    pub roles_claim: Option<Str>,
    /// Verified tokens remembered (by a keyed hash of the token, used for at most 5 minutes and
    /// never past the token's `exp`) so a repeated
    /// token skips signature verification. Default 10000; 0 turns the cache off.
    #[serde(default)]
    pub cache_entries: Option<u64>,
}

/// A key given in the config. Exactly one of `pem`, `pem_file`, `secret`, `secret_file`, `jwk`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JwtKeyConfig {
    /// Key id matched against the token's `kid`. Tokens without `kid` try every key of their
    /// algorithm.
    #[serde(default)]
    pub kid: Option<Str>,
    /// The one algorithm this key verifies: RS256, RS384, RS512, PS256, PS384, PS512, ES256,
    /// ES384, EdDSA, HS256, HS384, HS512.
    pub alg: Str,
    /// Public key PEM text (`${file:...}` works).
    #[serde(default)]
    pub pem: Option<Str>,
    /// Path of a public key PEM file (relative to the config file).
    #[serde(default)]
    pub pem_file: Option<Str>,
    /// HMAC secret text, at least 32 bytes (`${env:...}` or `${file:...}`).
    #[serde(default)]
    pub secret: Option<Str>,
    /// Path of a file holding the HMAC secret (one trailing newline is ignored).
    #[serde(default)]
    pub secret_file: Option<Str>,
    /// A public JWK as JSON text.
    #[serde(default)]
    pub jwk: Option<Str>,
}

/// Where a JWKS comes from: exactly one of `url` and `file`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JwksConfig {
    /// HTTPS URL of the key set. Fetched at start (`/readyz` waits for it), refreshed on a
    /// schedule and when a token names an unknown `kid`.
    #[serde(default)]
    pub url: Option<Str>,
    /// Path of a JWKS file (relative to the config file), read when the config loads.
    #[serde(default)]
    pub file: Option<Str>,
    /// Time between scheduled refreshes. Default 5m.
    #[serde(default)]
    pub refresh_interval: Option<HumanDuration>,
    /// Least time between two fetches caused by unknown `kid`s. Default 30s.
    #[serde(default)]
    pub min_refresh_interval: Option<HumanDuration>,
    /// Timeout of one fetch. Default 5s.
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    /// CA bundle (PEM) that signs the JWKS server's certificate. Default: the system roots.
    #[serde(default)]
    pub ca: Option<Str>,
    /// Allow an `http://` URL. For tests only; a key set fetched in clear can be replaced
    /// by anyone on the path. Default false.
    #[serde(default)]
    pub allow_insecure_http: bool,
}

/// A consumer.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsumerConfig {
    /// Unique name (sent upstream as `x-portcullis-consumer`).
    pub name: Str,
    /// Roles.
    #[serde(default)]
    pub roles: Vec<Str>,
    /// Groups.
    #[serde(default)]
    pub groups: Vec<Str>,
    /// Free-form metadata.
    #[serde(default)]
    pub metadata: BTreeMap<String, Str>,
    /// API keys, stored as hashes (`portcullis keys generate` prints an entry).
    #[serde(default)]
    pub api_keys: Vec<ApiKeyConfig>,
    /// Client certificates (verified by a listener's `tls.client_auth`) that identify this
    /// consumer, for routes with the `mtls` method.
    #[serde(default)]
    pub mtls: Vec<MtlsIdentityConfig>,
    /// Username and Argon2id password hash for routes with the `basic` method
    /// (`portcullis keys hash-password` prints the hash).
    #[serde(default)]
    pub basic_auth: Option<BasicAuthConfig>,
    /// Token subjects that are this consumer: a JWT or introspected token from `issuer` whose
    /// subject is `subject` identifies this consumer (its name, and its roles added to the
    /// token's), so consumer-keyed limits, quotas and bans apply to it.
    #[serde(default)]
    pub token_subjects: Vec<TokenSubjectConfig>,
}

/// One token subject mapped to a consumer.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenSubjectConfig {
    /// A name under `identity.jwt` or `identity.introspection`.
    pub issuer: Str,
    /// The token's subject (the issuer's subject claim).
    pub subject: Str,
}

/// A consumer's basic-auth credential.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BasicAuthConfig {
    /// Username (unique across consumers).
    pub username: Str,
    /// Argon2id PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
    pub password_hash: Str,
}

/// One way to recognise a consumer's client certificate; exactly one field is given.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MtlsIdentityConfig {
    /// Exact subject, written exactly as the access log's `client_cert` field shows it (the
    /// certificate's own order of name parts, e.g. `C=DE, O=Example, CN=billing`). Prefer `san`
    /// or `fingerprint`: subjects are not escaped, so a CA that lets clients pick their CN can
    /// make one look like another.
    #[serde(default)]
    pub subject: Option<Str>,
    /// A subject alternative name: a DNS name, email, IP, or URI such as a SPIFFE ID
    /// (`spiffe://example.org/ns/prod/sa/billing`).
    #[serde(default)]
    pub san: Option<Str>,
    /// SHA-256 fingerprint of the certificate (hex, colons allowed).
    #[serde(default)]
    pub fingerprint: Option<Str>,
}

/// A stored API key.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    /// The first 12 characters of the key (not secret; used for lookup).
    pub prefix: Str,
    /// Hex HMAC-SHA-256 of the whole key under `identity.api_key_pepper`.
    pub hash: Str,
    /// Not valid after this RFC 3339 time.
    #[serde(default)]
    pub expires_at: Option<Str>,
    /// Refuse this key. Default false.
    #[serde(default)]
    pub revoked: bool,
    /// Label for logs.
    #[serde(default)]
    pub label: Option<Str>,
}

/// Request predicates; all given ones must hold.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchConfig {
    /// Host names (`api.example.com`, `*.example.com`); the port is ignored. Default: any.
    #[serde(default)]
    pub hosts: Vec<Str>,
    /// Path equal to this.
    #[serde(default)]
    pub path: Option<Str>,
    /// Path starting with this, at a segment boundary: `/api` matches `/api` and `/api/x` but
    /// not `/apix`; `/api/` matches `/api/x` but not `/api`.
    #[serde(default)]
    pub path_prefix: Option<Str>,
    /// Path template such as `/users/{id}/orders/{order}`; each `{name}` is one segment.
    #[serde(default)]
    pub path_template: Option<Str>,
    /// Methods. Default: any.
    #[serde(default)]
    pub methods: Vec<Str>,
    /// Header predicates.
    #[serde(default)]
    pub headers: Vec<ValueMatchConfig>,
    /// Query-parameter predicates.
    #[serde(default)]
    pub query: Vec<ValueMatchConfig>,
    /// API version the request must ask for.
    #[serde(default)]
    pub api_version: Option<ApiVersionConfig>,
    /// Match only the operations of the route's `openapi` document: a path it describes
    /// (under its base path) with a method it gives that path. Any other request goes on to
    /// the next route; a described path asked with another method gets 405 with `Allow`.
    /// Without `path`, `path_prefix` or `path_template`, the route is ranked as a prefix
    /// route on the document's base path. Default false.
    #[serde(default)]
    pub openapi_operations: bool,
}

/// A header or query predicate.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValueMatchConfig {
    /// Header or parameter name.
    pub name: Str,
    /// Exact value. Without `value` or `regex`, the name being present is enough.
    #[serde(default)]
    pub value: Option<Str>,
    /// Regular expression the whole value must match.
    #[serde(default)]
    pub regex: Option<Str>,
    /// Invert: the request must NOT match. Default false.
    #[serde(default)]
    pub absent: bool,
}

/// API version selection.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiVersionConfig {
    /// The version, such as `v2` or `2024-05-01`.
    pub version: Str,
    /// Where the client states it: `path` (first path segment, removed before forwarding),
    /// `header` (default, `API-Version`) or `query` (`version`).
    #[serde(default)]
    pub source: Option<Str>,
    /// Header or query parameter name. Defaults `API-Version` / `version`.
    #[serde(default)]
    pub name: Option<Str>,
}

/// Header edits.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeaderEditsConfig {
    /// Set (replace) these headers.
    #[serde(default)]
    pub set: BTreeMap<String, Str>,
    /// Append these headers.
    #[serde(default)]
    pub add: BTreeMap<String, Str>,
    /// Remove these headers.
    #[serde(default)]
    pub remove: Vec<Str>,
}

/// A direct answer.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectConfig {
    /// Status code. Default 200.
    #[serde(default)]
    pub status: Option<u16>,
    /// Response headers.
    #[serde(default)]
    pub headers: BTreeMap<String, Str>,
    /// Body text. Default empty.
    #[serde(default)]
    pub body: Option<Str>,
    /// `content-type` of the body. Default `text/plain; charset=utf-8`.
    #[serde(default)]
    pub content_type: Option<Str>,
}

/// A redirect.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedirectConfig {
    /// Target URL or path.
    pub location: Str,
    /// 301, 302, 303, 307 or 308. Default 302.
    #[serde(default)]
    pub status: Option<u16>,
    /// Append the original query string. Default false.
    #[serde(default)]
    pub keep_query: bool,
}

/// Deprecation headers (RFC 9745 `Deprecation`, RFC 8594 `Sunset`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeprecationConfig {
    /// When the route was deprecated, RFC 3339 (`2026-01-01T00:00:00Z`).
    pub since: Str,
    /// When it will stop working, RFC 3339.
    #[serde(default)]
    pub sunset: Option<Str>,
    /// URL of the successor (sent as `Link: <url>; rel="successor-version"`).
    #[serde(default)]
    pub successor: Option<Str>,
}

/// A retired route.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetiredConfig {
    /// URL of the successor.
    #[serde(default)]
    pub successor: Option<Str>,
}

/// Content rules of a route (415 for a refused media type, 400 for a broken limit).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContentConfig {
    /// Media types a request body may have: `application/json`, `multipart/form-data`,
    /// `text/*`, `*/*`. Parameters (`; charset=...`) are ignored. A body without a
    /// `Content-Type` is refused when this list is set. Default: any.
    #[serde(default)]
    pub content_types: Vec<Str>,
    /// Most query parameters (`a=1&b=2` is two).
    #[serde(default)]
    pub max_query_params: Option<usize>,
    /// Limits on JSON bodies (checked on bodies whose media type is JSON).
    #[serde(default)]
    pub json: Option<JsonLimitsConfig>,
    /// Most parts in a `multipart/form-data` body.
    #[serde(default)]
    pub max_multipart_parts: Option<usize>,
}

/// Limits on the shape of a JSON body.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonLimitsConfig {
    /// Deepest nesting of objects and arrays. Default 32.
    #[serde(default)]
    pub max_depth: Option<usize>,
    /// Most object keys in the whole document. Default 1000.
    #[serde(default)]
    pub max_keys: Option<usize>,
    /// Longest string (key or value), in bytes as sent. Default 64KiB.
    #[serde(default)]
    pub max_string_length: Option<ByteSize>,
}

/// JSON Schema validation of the request body.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SchemaConfig {
    /// Schema file (JSON or YAML), relative to the config file. Exactly one of `file` and
    /// `inline`. `$ref`s are resolved only inside the document: never from the network or
    /// other files.
    #[serde(default)]
    pub file: Option<Str>,
    /// The schema written in the config.
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")]
    pub inline: Option<serde_json::Value>,
    /// Status when the body does not match: 422 (default) or 400.
    #[serde(default)]
    pub status: Option<u16>,
    /// Also require a body: an empty body fails the schema. Default true.
    #[serde(default)]
    pub require_body: Option<bool>,
}

/// The WAF on a route.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WafConfig {
    /// `block` (default): refuse with 403 when the anomaly score reaches the threshold.
    /// `detect`: never refuse; matches are logged and recorded as the block would be.
    #[serde(default)]
    pub mode: Option<WafModeConfig>,
    /// Paranoia level: 1 (default, fewest false positives) to 4 (most rules).
    #[serde(default)]
    pub paranoia: Option<u8>,
    /// Anomaly score at which a request is refused; one critical match scores 5. Default 5.
    #[serde(default)]
    pub threshold: Option<u32>,
    /// Rules switched off, everywhere or only at some inputs.
    #[serde(default)]
    pub exclusions: Vec<WafExclusionConfig>,
    /// Inspection budgets; going over one is itself reported as a protocol anomaly.
    #[serde(default)]
    pub limits: WafLimitsConfig,
    /// Most distinct clean inputs this route's WAF remembers, so a repeated header, path,
    /// JSON key or value is not inspected again. Kept as a keyed hash: no request data is
    /// kept. About 70 bytes an entry; 0 switches remembering off. Default 10000.
    #[serde(default)]
    pub cache_entries: Option<u64>,
}

/// WAF mode.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum WafModeConfig {
    /// Refuse requests that reach the threshold.
    Block,
    /// Only log and record.
    Detect,
}

/// Rules switched off by a WAF exclusion.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WafExclusionConfig {
    /// Rule ids (`portcullis waf-rules` lists them).
    #[serde(default)]
    pub rules: Vec<u32>,
    /// Whole families: `sqli`, `xss`, `rce`, `lfi`, `rfi`, `php`, `java`, `node`, `ssrf`,
    /// `protocol`, `header_splitting`.
    #[serde(default)]
    pub families: Vec<Str>,
    /// Inputs it applies to, as the WAF labels them: exact (`query:q`, `json:/comment`,
    /// `header:user-agent`, `cookie:session`, `path`; a parameter, cookie or field also
    /// covers the JSON or base64 read from inside it, such as `query:q:/a`, and `path` the
    /// path's segments), a prefix ending in `*`
    /// (`json:/notes/*`), or with `*` standing for one path segment
    /// (`json:/messages/*/content`). Default: every input.
    #[serde(default)]
    pub locations: Vec<Str>,
}

/// WAF inspection budgets.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WafLimitsConfig {
    /// Most inputs (names and values) inspected per request. Default 1024.
    #[serde(default)]
    pub max_inputs: Option<usize>,
    /// Most bytes of one value inspected. Default 64KiB.
    #[serde(default)]
    pub max_value_bytes: Option<ByteSize>,
    /// Deepest JSON nesting walked. Default 32.
    #[serde(default)]
    pub max_json_depth: Option<usize>,
    /// Query or form arguments before the "too many arguments" anomaly. Default 255.
    #[serde(default)]
    pub max_args: Option<usize>,
}

/// How much of a body the inspecting stages read.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BodyInspectionConfig {
    /// Most body bytes read into memory for inspection (of requests, and of answers on a route
    /// with `openapi.responses`). Default 1MiB.
    #[serde(default)]
    pub max_bytes: Option<ByteSize>,
    /// A longer body is refused with 413 (`reject`, default) or forwarded without body
    /// inspection (`skip`; the head is still inspected). An answer that `openapi.responses:
    /// block` cannot read is refused with 502 under `reject`, passed under `skip`.
    #[serde(default)]
    pub larger: Option<LargerBodyConfig>,
}

/// What happens to a body longer than `body_inspection.max_bytes`.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LargerBodyConfig {
    /// 413.
    Reject,
    /// Forward it uninspected.
    Skip,
}

/// A route group validated against an OpenAPI document (positive security model).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenApiConfig {
    /// The document (YAML or JSON, OpenAPI 3.0.x or 3.1.x), relative to the config file.
    /// Read when the config loads; `$ref`s are followed only inside the document.
    pub file: Str,
    /// Path prefix the document's paths are under on this route. Default: the path of the
    /// first `servers` URL (`https://api.example.com/v1` → `/v1`), or none.
    #[serde(default)]
    pub base_path: Option<Str>,
    /// Refuse requests the document does not describe: 404 for an unknown path, 405 for an
    /// unknown method. Default true; false only checks the operations it knows.
    #[serde(default)]
    pub reject_unknown: Option<bool>,
    /// Whether the document's `security` requirements are enforced (default `enforce`): an
    /// operation that lists them admits only a caller whose credential meets one of them
    /// (its kind, and the scopes or roles it lists), else 403. `ignore` leaves them to the
    /// route's `authorize`.
    #[serde(default)]
    pub security: Option<OpenApiSecurityConfig>,
    /// Whether upstream responses are checked against the operation's `responses` (default
    /// `off`): the status must be described (exactly, by its class such as `2XX`, or by
    /// `default`), the described headers present when required and matching their schemas,
    /// the media type listed, and a JSON body matching its schema (`writeOnly` properties
    /// must not appear). `detect` logs a response that does not match and passes it on;
    /// `block` answers 502 problem+json (`invalid_response`) in its place. The upstream is
    /// asked for uncompressed answers; bodies are read under the route's
    /// `body_inspection.max_bytes`, and one that cannot be read (longer, or compressed all
    /// the same) is refused in `block` mode unless `body_inspection.larger` is `skip`.
    #[serde(default)]
    pub responses: Option<OpenApiResponsesConfig>,
    /// Settings of single operations, keyed by `operationId` or `METHOD /path` as the
    /// document writes it (`POST /orders/{id}`). A listed operation runs with the route's
    /// settings and these in place of them; a field given here replaces the route's whole
    /// value. Logs and metrics keep the route's name (the access log's `operation` and the
    /// `portcullis_openapi_operation_*` metrics tell the operations apart); limits, quotas and
    /// concurrency given here count apart from the route's, those left out share the route's
    /// counters.
    #[serde(default)]
    pub operations: BTreeMap<String, OperationConfig>,
}

/// What the `openapi` stage does with the document's `security` requirements.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OpenApiSecurityConfig {
    /// Every operation's requirement must be met (the default).
    #[default]
    Enforce,
    /// The requirements are not read.
    Ignore,
}

/// What the `openapi` stage does with upstream responses.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OpenApiResponsesConfig {
    /// Responses are not checked (the default).
    #[default]
    Off,
    /// A response that does not match is logged (a security event) and passed on.
    Detect,
    /// A response that does not match is logged and replaced by 502 problem+json, and so is
    /// one that cannot be read (longer than `body_inspection.max_bytes`, or compressed)
    /// unless `body_inspection.larger` is `skip`.
    Block,
}

/// What one OpenAPI operation sets differently from its route. Every field replaces the
/// route's field of the same name; one left out is the route's.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OperationConfig {
    /// Authentication of this operation (`none` for a public one).
    #[serde(default)]
    pub auth: Option<AuthConfig>,
    /// Who may call this operation.
    #[serde(default)]
    pub authorize: Option<AuthorizeConfig>,
    /// Rate limits of this operation, counted apart from the route's; `[]` for none.
    #[serde(default)]
    pub rate_limits: Option<Vec<RateLimitConfig>>,
    /// Quotas of this operation, counted apart from the route's; `[]` for none.
    #[serde(default)]
    pub quotas: Option<Vec<QuotaConfig>>,
    /// In-flight limits of this operation, counted apart from the route's.
    #[serde(default)]
    pub concurrency: Option<ConcurrencyConfig>,
    /// Client IP allow and deny lists of this operation.
    #[serde(default)]
    pub ip_filter: Option<IpFilterConfig>,
    /// Header edits on the request sent upstream.
    #[serde(default)]
    pub request_headers: Option<HeaderEditsConfig>,
    /// Header edits on the response sent to the client.
    #[serde(default)]
    pub response_headers: Option<HeaderEditsConfig>,
    /// Body size limit of this operation.
    #[serde(default)]
    pub max_body_bytes: Option<ByteSize>,
    /// Mark the operation deprecated (`Deprecation`, `Sunset`, `Link`).
    #[serde(default)]
    pub deprecation: Option<DeprecationConfig>,
    /// Mark the operation retired: 410 with a `Link` to the successor.
    #[serde(default)]
    pub retired: Option<RetiredConfig>,
    /// Content rules of this operation.
    #[serde(default)]
    pub content: Option<ContentConfig>,
    /// The WAF settings of this operation.
    #[serde(default)]
    pub waf: Option<WafConfig>,
    /// How much of this operation's request body is read for inspection.
    #[serde(default)]
    pub body_inspection: Option<BodyInspectionConfig>,
    /// Per-try timeout of this operation.
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
}

impl OperationConfig {
    /// Whether it makes its operation public (`auth: none`).
    pub fn is_public(&self) -> bool {
        matches!(self.auth, Some(AuthConfig::Keyword(AuthKeyword::None)))
    }
}

impl RouteConfig {
    /// Whether it is public (`auth: none`).
    pub fn is_public(&self) -> bool {
        matches!(self.auth, Some(AuthConfig::Keyword(AuthKeyword::None)))
    }

    /// The route an operation runs with: this one with `op`'s fields in place of its own and
    /// no operations of its own. An operation made public (`auth: none`) drops the route's
    /// `authorize` unless it gives one (which is then an error, as on a route).
    pub fn with_operation(&self, op: &OperationConfig) -> RouteConfig {
        let mut r = self.clone();
        if let Some(o) = &mut r.openapi {
            o.operations.clear();
        }
        if op.is_public() {
            r.authorize = None;
        }
        let op = op.clone();
        r.auth = op.auth.or(r.auth);
        r.authorize = op.authorize.or(r.authorize);
        r.rate_limits = op.rate_limits.unwrap_or(r.rate_limits);
        r.quotas = op.quotas.unwrap_or(r.quotas);
        r.concurrency = op.concurrency.or(r.concurrency);
        r.ip_filter = op.ip_filter.or(r.ip_filter);
        r.request_headers = op.request_headers.unwrap_or(r.request_headers);
        r.response_headers = op.response_headers.unwrap_or(r.response_headers);
        r.max_body_bytes = op.max_body_bytes.or(r.max_body_bytes);
        r.deprecation = op.deprecation.or(r.deprecation);
        r.retired = op.retired.or(r.retired);
        r.content = op.content.or(r.content);
        r.waf = op.waf.or(r.waf);
        r.body_inspection = op.body_inspection.or(r.body_inspection);
        r.timeout = op.timeout.or(r.timeout);
        r
    }
}
