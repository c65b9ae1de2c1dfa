//! The policy pipeline: the per-route, ordered chain of stages compiled from config.
//!
//! Every stage has one contract: read the request and the per-request context, and return a
//! [`Decision`]. Stages never write to the request directly; a `Modify` carries the edit and the
//! chain runner applies it, so the order of effects is the order of the chain. Dispatch is a
//! closed `enum` and `match` (no trait objects), which keeps the hot path monomorphic and the
//! full list of stages visible in one place.
//!
//! Request order (DESIGN.md): wire check (strict HTTP/1 framing, read by the listener's server) →
//! validate → router → ipfilter → ban → ratelimit(ip) → authn → authz → ratelimit(consumer) →
//! quota → concurrency → content → openapi → schema → waf → header edits → upstream. Bans are
//! checked first on a route (after the IP lists) and concurrency limits after the other limits,
//! so a refused request holds no place. The body stages (content, openapi, schema, waf) read
//! the body into memory, bounded by the route's `body_inspection`, only when they need it.
//! Response stages run in reverse.

pub mod authn;
pub mod authz;
pub mod content;
pub mod headers;
pub mod ipfilter;
pub mod multipart;
pub mod openapi;
pub mod ratelimit;
pub mod schema;
pub mod validate;
pub mod waf;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue};
use tokio::time::Instant;

use crate::listener::tls::ClientCertIdentity;
use crate::observe::events::SecurityEvent;
use crate::reply::Problem;
use headers::HeaderEdits;

/// What a stage decided about a request. The `&'static str` is the low-cardinality outcome
/// recorded as `stage:outcome` in the access log (`authn:success`, `authz:role`, ...).
#[derive(Debug)]
pub enum Decision {
    /// Go on to the next stage.
    Allow(&'static str),
    /// Go on, after applying this edit to the request.
    Modify(Patch, &'static str),
    /// Stop and answer locally.
    Deny(Deny),
}

/// An edit a stage asks for.
#[derive(Debug)]
pub enum Patch {
    /// Configured header edits on the upstream request.
    Headers(Arc<HeaderEdits>),
    /// Credential hiding and identity headers from authentication.
    Credentials(Vec<authn::Edit>),
}

/// A local answer with the reason that caused it.
#[derive(Debug)]
pub struct Deny {
    /// The problem, which fixes the status and the `type`.
    pub problem: Problem,
    /// Outcome recorded in the access log; the problem's reason unless a stage says more
    /// (`invalid_credential`, `denied`).
    pub outcome: &'static str,
    /// A client-safe detail.
    pub detail: Option<String>,
    /// Extra response headers (`WWW-Authenticate`, `Link`, `Retry-After`).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Body violations as (JSON Pointer, keyword), for a schema refusal.
    pub errors: Vec<(String, String)>,
}

impl Deny {
    /// A deny with no detail and no extra headers.
    pub fn new(problem: Problem) -> Self {
        Self {
            problem,
            outcome: problem.as_str(),
            detail: None,
            headers: Vec::new(),
            errors: Vec::new(),
        }
    }
}

/// Who the caller is, once a stage proved it. Filled by authentication stages. The parts are
/// shared with the consumer or cached token they come from, so making one copies nothing.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Consumer name.
    pub consumer: Arc<str>,
    /// How it was proven (`api_key`, `jwt`, `introspection`, `mtls`, `basic`).
    pub method: &'static str,
    /// Roles.
    pub roles: Arc<[String]>,
    /// Scopes (from a token's `scope` / `scp`).
    pub scopes: Arc<[String]>,
    /// A token's claims, for claim conditions.
    pub claims: Option<Arc<serde_json::Map<String, serde_json::Value>>>,
}

/// The decisions of one request (see [`RequestCtx::decisions`]).
pub type Decisions = smallvec::SmallVec<[(&'static str, &'static str); 8]>;

/// Per-request state shared by all stages. Lives for one request only.
#[derive(Debug)]
pub struct RequestCtx {
    /// Request id (propagated from a valid incoming `X-Request-Id` or generated), as the
    /// header value that goes upstream and on the response; [`RequestCtx::request_id`] reads
    /// it as text.
    pub request_id_value: http::HeaderValue,
    /// TCP peer.
    pub peer: SocketAddr,
    /// The peer's IP address as header text.
    pub peer_text: http::HeaderValue,
    /// Real client IP after trusted proxies.
    pub client_ip: IpAddr,
    /// Listener name.
    pub listener: Arc<str>,
    /// `https` or `http`.
    pub scheme: &'static str,
    /// Verified client certificate (mTLS), when the listener asked for one.
    pub client_cert: Option<Arc<ClientCertIdentity>>,
    /// Matched route name.
    pub route: Option<Arc<str>>,
    /// Values bound by a path template.
    pub path_params: Vec<(String, String)>,
    /// Proven identity.
    pub identity: Option<Identity>,
    /// Stage decisions in order, as `stage:outcome`. Held inline up to eight (a route's whole
    /// chain, usually), so recording them allocates nothing.
    pub decisions: Decisions,
    /// The OpenAPI operation the request matched (its `operationId`, or `METHOD /template`).
    pub operation: Option<Arc<str>>,
    /// What the route's OpenAPI document says of the request, found right after routing on
    /// every route with an `openapi` stage, for the stage to use without searching again.
    pub operation_found: Option<openapi::Located>,
    /// The document and operation the upstream's response is checked against, set by the
    /// `openapi` stage when its route checks responses.
    pub response_check: Option<(Arc<openapi::Api>, usize)>,
    /// The metric handles of the operations of the route's document, and the index of the
    /// request's operation among them, when it is one (set right after routing).
    pub operation_metrics: Option<(Arc<[crate::router::OperationMetrics]>, usize)>,
    /// Upstream target that served the request (`host:port`).
    pub upstream_target: Option<String>,
    /// `RateLimit-Policy` and `RateLimit` items of every limit and quota that ran, each
    /// written as one list-valued header.
    pub rate_limit: ratelimit::RateLimitHeaders,
    /// The authentication method that refused a presented credential (for auto-ban rules).
    pub refused_method: Option<&'static str>,
    /// In-flight places held until the response body is sent.
    pub permits: Vec<crate::state::InFlightPermit>,
    /// The strict HTTP/1 framing check of the connection and this request's index on it.
    pub wire: Option<crate::body::WireCheck>,
    /// When the request started.
    pub started: Instant,
}

impl RequestCtx {
    /// The request id as text (always visible ASCII: generated as hex, or propagated only
    /// when made of `[A-Za-z0-9._-]`).
    pub fn request_id(&self) -> &str {
        self.request_id_value.to_str().unwrap_or("-")
    }

    /// The framing violation the wire check found in this request, if any.
    pub fn wire_violation(&self) -> Option<crate::listener::wire::Violation> {
        self.wire.as_ref().and_then(|(w, i)| w.violation(*i))
    }

    /// Records a refusal by an input stage (`validate`, `content`, `openapi`, `schema`): its
    /// decision, and the security event.
    pub fn refuse_input(&mut self, stage: &'static str, outcome: &'static str) {
        self.decisions.push((stage, outcome));
        SecurityEvent::input_refused(stage, outcome).emit(self);
    }

    /// A body that broke off: when the wire check found a framing violation in this request,
    /// records it as the `validate` stage's refusal.
    pub fn refuse_broken_framing(&mut self) {
        if let Some(v) = self.wire_violation() {
            self.refuse_input("validate", v.outcome());
        }
    }
}

/// One request-phase stage.
#[derive(Debug)]
pub enum Stage {
    /// Deny by default: the route has no `auth: none` and no authentication method accepted
    /// the request.
    RequireAuthentication,
    /// The route is retired: 410 with a `Link` to the successor.
    Retired {
        /// `Link` header value, when a successor is known.
        link: Option<HeaderValue>,
    },
    /// Authentication by the route's methods, in order.
    Authenticate(Arc<authn::Authenticator>),
    /// Authorization of the proven identity.
    Authorize(authz::Policy),
    /// Edits on the upstream request headers.
    RequestHeaders(Arc<HeaderEdits>),
    /// A rate limit.
    RateLimit(Arc<ratelimit::Limit>),
    /// Client IP allow and deny lists.
    IpFilter(Arc<ipfilter::IpFilter>),
    /// A quota.
    Quota(Arc<ratelimit::Quota>),
    /// In-flight limits.
    Concurrency(Arc<ratelimit::Concurrency>),
    /// The ban check of an auto-ban rule.
    Ban(Arc<crate::state::bans::BanRule>),
    /// Media types, query parameter count, JSON and multipart shape.
    Content(Arc<content::ContentRules>),
    /// JSON Schema of the body.
    Schema(Arc<schema::BodySchema>),
    /// An OpenAPI description: operation, parameters, body.
    OpenApi(Arc<openapi::Api>),
    /// The WAF.
    Waf(Arc<waf::WafStage>),
}

impl Stage {
    /// Stable name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::RequireAuthentication => "authn",
            Self::Retired { .. } => "retired",
            Self::Authenticate(_) => "authn",
            Self::Authorize(_) => "authz",
            Self::RequestHeaders(_) => "headers",
            Self::RateLimit(_) => "ratelimit",
            Self::IpFilter(_) => "ipfilter",
            Self::Quota(_) => "quota",
            Self::Concurrency(_) => "concurrency",
            Self::Ban(_) => "ban",
            Self::Content(_) => "content",
            Self::Schema(_) => "schema",
            Self::OpenApi(_) => "openapi",
            Self::Waf(_) => "waf",
        }
    }

    /// Whether the stage validates the request's input (its refusals are input events; the
    /// WAF writes its own).
    fn checks_input(&self) -> bool {
        matches!(self, Self::Content(_) | Self::Schema(_) | Self::OpenApi(_))
    }

    /// Decides without waiting, for every stage that never waits; `None` (with nothing done)
    /// for the ones that may: authentication, and limits on Redis or throttling by delay. The
    /// chain runner calls this first, so the common path never builds an async state machine.
    pub fn decide_now(&self, ctx: &mut RequestCtx, req: &Parts) -> Option<Decision> {
        Some(match self {
            Self::RequireAuthentication => {
                if ctx.identity.is_some() {
                    return Some(Decision::Allow("identified"));
                }
                SecurityEvent::authn("none", "no_auth_configured").emit(ctx);
                let mut d = Deny::new(Problem::Unauthenticated);
                d.headers.push((
                    http::header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"portcullis\""),
                ));
                Decision::Deny(d)
            }
            Self::Retired { link } => {
                let mut d = Deny::new(Problem::Gone);
                if let Some(l) = link {
                    d.headers.push((http::header::LINK, l.clone()));
                }
                Decision::Deny(d)
            }
            Self::Authenticate(_)
            | Self::Quota(_)
            | Self::Content(_)
            | Self::Schema(_)
            | Self::OpenApi(_)
            | Self::Waf(_) => return None,
            Self::Authorize(policy) => authorize(policy, ctx, &req.method),
            Self::RateLimit(limit) => return limit.decide_now(ctx, req),
            Self::IpFilter(f) => f.on_request(ctx),
            Self::Concurrency(c) => c.on_request(ctx),
            Self::Ban(rule) => ratelimit::check_ban(rule, ctx),
            Self::RequestHeaders(edits) => {
                Decision::Modify(Patch::Headers(edits.clone()), "modify")
            }
        })
    }

    /// Decides for a stage that may wait (after [`Stage::decide_now`] gave `None`). Stages
    /// read the request and write only to `ctx`.
    async fn decide_later(&self, ctx: &mut RequestCtx, req: &Parts) -> Decision {
        match self {
            Self::Authenticate(a) => a.on_request(ctx, req).await,
            Self::RateLimit(limit) => limit.decide_later(ctx, req).await,
            Self::Quota(q) => q.on_request(ctx, req).await,
            // Every other stage always decides now.
            _ => Decision::Allow("allowed"),
        }
    }
}

/// The authorization stage: the policy's decision and, on an OpenAPI route, the operation's
/// security requirement; the RFC 6750 challenge for a missing scope and a security event for
/// a denial.
fn authorize(policy: &authz::Policy, ctx: &RequestCtx, method: &http::Method) -> Decision {
    let decided = policy
        .decide(ctx, method)
        .map_err(|mut d| {
            if d.outcome == d.problem.as_str() {
                d.outcome = "denied";
            }
            if d.outcome == "insufficient_scope"
                && let Some(v) = scope_challenge(&policy.scopes.join(" "))
            {
                d.headers.push((http::header::WWW_AUTHENTICATE, v));
            }
            d
        })
        // On an OpenAPI route the operation's own security requirement must hold too.
        .and_then(|rule| match &ctx.operation_found {
            Some(found) => found.admits(ctx.identity.as_ref()).map(|()| rule),
            None => Ok(rule),
        });
    match decided {
        Ok(rule) => Decision::Allow(rule),
        Err(d) => {
            let mut event = SecurityEvent::authz_denied(d.outcome);
            event.method = ctx.identity.as_ref().map_or("-", |i| i.method);
            event.emit(ctx);
            Decision::Deny(d)
        }
    }
}

/// The RFC 6750 §3.1 challenge of a token that lacks `scopes` (space-separated).
pub(crate) fn scope_challenge(scopes: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "Bearer realm=\"portcullis\", error=\"insufficient_scope\", scope=\"{scopes}\""
    ))
    .ok()
}

/// One response-phase stage; these run in reverse order of the request chain.
#[derive(Debug)]
pub enum ResponseStage {
    /// Header edits on the response.
    Headers(Arc<HeaderEdits>),
    /// `Deprecation`, `Sunset` and `Link` headers.
    Deprecation(Vec<(HeaderName, HeaderValue)>),
}

impl ResponseStage {
    /// Applies the stage to response headers.
    pub fn on_response(&self, headers: &mut HeaderMap) {
        match self {
            Self::Headers(edits) => edits.apply(headers),
            Self::Deprecation(list) => {
                for (n, v) in list {
                    headers.append(n.clone(), v.clone());
                }
            }
        }
    }
}

impl Patch {
    /// Applies the edit to the upstream request.
    fn apply(self, req: &mut Parts) {
        match self {
            Self::Headers(edits) => edits.apply(&mut req.headers),
            Self::Credentials(edits) => {
                for e in edits {
                    match e {
                        authn::Edit::RemoveHeader(h) => {
                            req.headers.remove(h);
                        }
                        authn::Edit::SetHeader(h, v) => {
                            req.headers.insert(h, v);
                        }
                        authn::Edit::RemoveQuery(q) => {
                            if let Some(u) = authn::remove_query_param(&req.uri, &q) {
                                req.uri = u;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The request body as the chain sees it.
pub enum RequestBody {
    /// The request has no body.
    Empty,
    /// Not read yet (size-limited and framing-checked while it streams).
    Stream(crate::body::Body),
    /// Read whole into memory by an inspecting stage (at most the route's inspection cap).
    Buffered(bytes::Bytes),
    /// Longer than the inspection cap on a route that forwards such bodies uninspected.
    Uninspected(crate::body::Body),
    /// Lost to a read error (the request is refused).
    Failed,
}

impl std::fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Empty => "Empty",
            Self::Stream(_) => "Stream",
            Self::Buffered(_) => "Buffered",
            Self::Uninspected(_) => "Uninspected",
            Self::Failed => "Failed",
        })
    }
}

/// How much of a body the inspecting stages may read.
#[derive(Debug, Clone, Copy)]
pub struct BodyInspection {
    /// Most bytes read into memory.
    pub max_bytes: usize,
    /// Forward longer bodies uninspected instead of answering 413.
    pub skip_larger: bool,
}

impl Default for BodyInspection {
    fn default() -> Self {
        Self {
            max_bytes: 1024 * 1024,
            skip_larger: false,
        }
    }
}

/// Why a body could not be read for inspection.
#[derive(Debug)]
pub enum BodyReadError {
    /// Over the inspection cap (and the route rejects such bodies), or over the size limit.
    TooLarge,
    /// The body failed (framing, early end, client gone).
    Failed,
}

impl RequestBody {
    /// Whether there is a body at all.
    pub fn present(&self) -> bool {
        match self {
            Self::Empty => false,
            Self::Buffered(b) => !b.is_empty(),
            _ => true,
        }
    }

    /// Reads a streaming body into memory, at most `cap` bytes (once: a body already read, or
    /// absent, is left as it is). A longer body is refused ([`Larger::Reject`], 413) or kept
    /// as the part read followed by the unread rest ([`Larger::Stream`]).
    pub async fn buffer(&mut self, cap: usize, larger: Larger) -> Result<(), BodyReadError> {
        if let Self::Stream(_) = self {
            let Self::Stream(b) = std::mem::replace(self, Self::Failed) else {
                return Err(BodyReadError::Failed);
            };
            match crate::body::read_prefix(b, cap).await {
                Ok(crate::body::Prefix::Complete(bytes)) => *self = Self::Buffered(bytes),
                Ok(crate::body::Prefix::Partial(head, rest)) => match larger {
                    Larger::Reject => {
                        crate::body::linger(rest);
                        return Err(BodyReadError::TooLarge);
                    }
                    Larger::Stream => *self = Self::Uninspected(crate::body::prefixed(head, rest)),
                },
                Err((e, rest)) => {
                    if e.is::<crate::body::BodyTooLarge>() {
                        crate::body::linger(rest);
                        return Err(BodyReadError::TooLarge);
                    }
                    return Err(BodyReadError::Failed);
                }
            }
        }
        match self {
            Self::Failed => Err(BodyReadError::Failed),
            _ => Ok(()),
        }
    }

    /// Reads the body for the inspecting stages, bounded by the route's `body_inspection`.
    pub async fn inspect(&mut self, limits: BodyInspection) -> Result<(), BodyReadError> {
        let larger = if limits.skip_larger {
            Larger::Stream
        } else {
            Larger::Reject
        };
        self.buffer(limits.max_bytes, larger).await
    }

    /// The body's bytes when it was read whole and is not empty.
    pub fn bytes(&self) -> Option<&bytes::Bytes> {
        match self {
            Self::Buffered(b) if !b.is_empty() => Some(b),
            _ => None,
        }
    }
}

/// What [`RequestBody::buffer`] does with a body longer than its cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Larger {
    /// 413.
    Reject,
    /// Keep what was read and stream the rest.
    Stream,
}

impl Stage {
    /// The stages that may read the request body (content, openapi, schema, WAF).
    fn reads_body(&self) -> bool {
        matches!(
            self,
            Self::Content(_) | Self::Schema(_) | Self::OpenApi(_) | Self::Waf(_)
        )
    }

    /// Decides a body stage, reading the body when the stage needs it. Only body stages
    /// ([`Stage::reads_body`]) come here.
    async fn decide_with_body(
        &self,
        ctx: &mut RequestCtx,
        req: &Parts,
        body: &mut RequestBody,
        limits: BodyInspection,
    ) -> Result<Decision, BodyReadError> {
        Ok(match self {
            Self::Content(c) => {
                if let Err(d) = c.check_head(req, body.present()) {
                    return Ok(Decision::Deny(d));
                }
                if !c.reads_body(req) {
                    return Ok(Decision::Allow("allowed"));
                }
                body.inspect(limits).await?;
                match body.bytes().map(|b| c.check_body(req, b)) {
                    Some(Err(d)) => Decision::Deny(d),
                    _ => Decision::Allow("allowed"),
                }
            }
            Self::Schema(s) => {
                body.inspect(limits).await?;
                if matches!(body, RequestBody::Uninspected(_)) {
                    return Ok(Decision::Allow("uninspected"));
                }
                match s.check(req, body.bytes()) {
                    Ok(()) => Decision::Allow("valid"),
                    Err(d) => Decision::Deny(d),
                }
            }
            Self::OpenApi(a) => {
                let present = body.present();
                // Found right after routing on every route with this stage (`Operations`);
                // searched here only when it was not.
                // Routing named the operation it found; one searched here is named here.
                let found = match ctx.operation_found.take().and_then(|l| a.resume(l)) {
                    Some(found) => found,
                    None => {
                        let found = a.find(req);
                        if let openapi::Found::Op(op, _) = &found {
                            ctx.operation = Some(Arc::clone(&op.id));
                        }
                        found
                    }
                };
                if present && found.reads_body() {
                    body.inspect(limits).await?;
                }
                let view = match body.bytes() {
                    Some(b) => openapi::BodyView::Read(b),
                    None if present && !matches!(body, RequestBody::Buffered(_)) => {
                        openapi::BodyView::Unread
                    }
                    None => openapi::BodyView::Absent,
                };
                if let openapi::Found::Op(op, _) = &found
                    && a.response_check().is_some()
                {
                    ctx.response_check = Some((Arc::clone(a), op.index()));
                }
                a.decide(found, req, view)
            }
            Self::Waf(w) => {
                body.inspect(limits).await?;
                w.decide(ctx, req, body.bytes())
            }
            // Not a body stage (see `run_request_chain`).
            _ => Decision::Allow("allowed"),
        })
    }
}

/// A body with a `Content-Encoding` other than identity on a route with body stages: it would
/// reach the upstream unread by every inspecting stage.
fn compressed_body(req: &Parts, body: &RequestBody) -> Option<Deny> {
    let encoded = req
        .headers
        .get_all(http::header::CONTENT_ENCODING)
        .iter()
        .any(|v| !v.as_bytes().trim_ascii().eq_ignore_ascii_case(b"identity"));
    (body.present() && encoded).then(|| {
        let mut d = Deny::new(Problem::UnsupportedMediaType);
        d.detail = Some("compressed request bodies cannot be inspected".to_owned());
        d
    })
}

/// The answer to a body that could not be read: 413 over a cap or the size limit; 400 for the
/// framing violation the wire check found (the connection then closes), or `otherwise`.
pub fn body_read_deny(e: BodyReadError, ctx: &RequestCtx, otherwise: &str) -> Deny {
    let mut d = match e {
        BodyReadError::TooLarge => return Deny::new(Problem::PayloadTooLarge),
        BodyReadError::Failed => Deny::new(Problem::BadRequest),
    };
    match ctx.wire_violation() {
        Some(v) => {
            d.detail = Some(v.detail().to_owned());
            d.headers
                .push((http::header::CONNECTION, HeaderValue::from_static("close")));
        }
        None => d.detail = Some(otherwise.to_owned()),
    }
    d
}

/// Runs `chain` in order; returns the first deny. Modifications are applied to `req` as they
/// come. Body stages read `body` (bounded by `limits`) when they need it.
pub async fn run_request_chain(
    chain: &[Stage],
    ctx: &mut RequestCtx,
    req: &mut Parts,
    body: &mut RequestBody,
    limits: BodyInspection,
) -> Result<(), Deny> {
    let mut first_body_stage = true;
    for stage in chain {
        let decision = match stage.decide_now(ctx, req) {
            Some(d) => d,
            None if stage.reads_body() => {
                let compressed = if std::mem::take(&mut first_body_stage) {
                    compressed_body(req, body)
                } else {
                    None
                };
                match compressed {
                    Some(d) => Decision::Deny(d),
                    None => match stage.decide_with_body(ctx, req, body, limits).await {
                        Ok(d) => d,
                        Err(e) => {
                            let d = body_read_deny(e, ctx, "request body could not be read");
                            ctx.decisions.push((stage.name(), "body_unreadable"));
                            ctx.refuse_broken_framing();
                            return Err(d);
                        }
                    },
                }
            }
            None => stage.decide_later(ctx, req).await,
        };
        match decision {
            Decision::Allow(outcome) => ctx.decisions.push((stage.name(), outcome)),
            Decision::Modify(patch, outcome) => {
                patch.apply(req);
                ctx.decisions.push((stage.name(), outcome));
            }
            Decision::Deny(d) => {
                if stage.checks_input() {
                    ctx.refuse_input(stage.name(), d.outcome);
                } else {
                    ctx.decisions.push((stage.name(), d.outcome));
                }
                return Err(d);
            }
        }
    }
    Ok(())
}
