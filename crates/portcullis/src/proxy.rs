//! One request end to end: pin the snapshot, build the context, route, run the route's stage
//! chain, forward (with retries) or answer locally, run response stages, and log.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::uri::PathAndQuery;
use http::{Method, Request, Response, StatusCode, Uri, Version};
use http_body_util::BodyExt;
use tokio::time::Instant;

use crate::body::{Body, BodyMeter, Limited, Observed, empty, full};
use crate::listener::{ConnInfo, ListenerRuntime};
use crate::observe::access_log::AccessRecord;
use crate::observe::events::SecurityEvent;
use crate::observe::redact;
use crate::policy::headers::{
    X_POWERED_BY, X_REAL_IP, X_REQUEST_ID, real_client_ip, set_forwarded, strip_connection_listed,
    strip_hop_by_hop, strip_identity_headers, strip_spoofable,
};
use crate::policy::{
    BodyReadError, Deny, Larger, RequestBody, RequestCtx, body_read_deny, run_request_chain,
};
use crate::reply::{Problem, problem, problem_with_errors};
use crate::router::{Action, Route, RouteResult, rewrite_path};
use crate::server::Shared;
use crate::snapshot::Snapshot;
use crate::state::bans::Offence;
use crate::upstream::client::Protocol;
use crate::upstream::h1;
use crate::upstream::{Outcome, Upstream};

/// Handles one request from a client connection. Never fails: every error becomes a response.
pub async fn handle(
    req: Request<Body>,
    conn: &Arc<ConnInfo>,
    shared: &Arc<Shared>,
) -> Response<Body> {
    let snap = shared.snapshot.load_full();
    let started = Instant::now();
    let client_ip = real_client_ip(conn.peer.ip(), req.headers(), &snap.trusted_proxies);
    let request_id_value = request_id(req.headers());
    let wire = match req.version() {
        Version::HTTP_10 | Version::HTTP_11 => conn.wire.as_ref().map(|w| (w.clone(), w.current())),
        _ => None,
    };
    let mut ctx = RequestCtx {
        request_id_value,
        peer: conn.peer,
        peer_text: conn.peer_text.clone(),
        client_ip,
        listener: conn.listener.clone(),
        scheme: if conn.tls { "https" } else { "http" },
        client_cert: conn.client_cert.clone(),
        route: None,
        path_params: Vec::new(),
        identity: None,
        decisions: Default::default(),
        operation: None,
        operation_found: None,
        response_check: None,
        operation_metrics: None,
        upstream_target: None,
        rate_limit: Default::default(),
        permits: Vec::new(),
        wire,
        refused_method: None,
        started,
    };
    let method = req.method().clone();
    let version = req.version();
    let host = host_of(req.uri(), req.headers());
    // What only the access log needs is copied only when it is written.
    let logging = !snap.access_log.disabled && shared.access_log.load().enabled();
    let path = if logging {
        req.uri().path().to_owned()
    } else {
        String::new()
    };
    let logged_headers = if logging {
        selected_headers(&req, &snap)
    } else {
        Vec::new()
    };
    // Made by `process` only for a request with a body.
    let mut meter: Option<Arc<BodyMeter>> = None;
    let listener = snap.listeners.get(&*conn.listener).cloned();

    let (mut resp, reason, route) = match &listener {
        None => (
            problem(Problem::Unavailable, ctx.request_id(), None),
            Some(Problem::Unavailable.as_str()),
            None,
        ),
        Some(lr) => {
            let host = host.as_ref().and_then(|h| h.to_str().ok());
            process(req, lr, &snap, &mut ctx, shared, &mut meter, host).await
        }
    };

    finish_headers(
        &mut resp,
        &snap,
        listener.as_deref(),
        route.as_deref(),
        &mut ctx,
    );
    let status = resp.status().as_u16();
    let seconds = started.elapsed().as_secs_f64();
    shared.metrics.decisions(&ctx.decisions);
    if !snap.bans.is_empty()
        && let Some(offence) = Offence::of(&ctx.decisions, status, reason.is_some())
    {
        crate::state::bans::report(
            &snap.bans,
            &shared.registry.state,
            offence,
            ctx.refused_method,
            ctx.client_ip,
            ctx.identity.as_ref().map(|i| &*i.consumer),
        );
    }
    // In-flight places are held until the response body is sent.
    let permits = std::mem::take(&mut ctx.permits);
    if !permits.is_empty() {
        let (parts, body) = resp.into_parts();
        let body = Observed::new(body, move |_, _| drop(permits));
        resp = Response::from_parts(parts, body.boxed());
    }
    match &route {
        Some(r) => r
            .metrics
            .get_or_init(|| shared.metrics.route_metrics(&r.name))
            .observe(&shared.metrics, status, seconds),
        None => shared
            .metrics
            .request(ctx.route.as_deref().unwrap_or("-"), status, seconds),
    }
    // An OpenAPI operation is counted under its own name too, whatever stage answered.
    if let (Some(r), Some((ops, i))) = (&route, &ctx.operation_metrics)
        && let Some(op) = ops.get(*i)
    {
        op.metrics
            .get_or_init(|| shared.metrics.operation_metrics(&r.name, &op.id))
            .observe(&shared.metrics, status, seconds);
    }

    if !logging {
        return resp;
    }
    let log = shared.access_log.load();
    if !log.enabled() {
        return resp;
    }
    let log = arc_swap::Guard::into_inner(log);
    let rec = AccessRecord {
        // When the request started, by the wall clock (read only for a logged request).
        time: {
            let now = SystemTime::now();
            humantime::format_rfc3339_millis(
                now.checked_sub(Duration::from_secs_f64(seconds))
                    .unwrap_or(now),
            )
            .to_string()
        },
        request_id: ctx.request_id().to_owned(),
        client_ip: ctx.client_ip.to_string(),
        listener: ctx.listener.to_string(),
        method: method.to_string(),
        host: host
            .as_ref()
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        path,
        protocol: format!("{version:?}"),
        route: ctx.route.as_deref().map(str::to_owned),
        status,
        reason,
        upstream: ctx.upstream_target.clone(),
        bytes_in: 0,
        bytes_out: 0,
        complete: false,
        duration_ms: 0.0,
        decisions: ctx
            .decisions
            .iter()
            .map(|(s, o)| format!("{s}:{o}"))
            .collect(),
        headers: logged_headers,
        client_cert: ctx.client_cert.as_ref().map(|c| c.subject.clone()),
        consumer: ctx.identity.as_ref().map(|i| i.consumer.to_string()),
        operation: ctx.operation.as_deref().map(str::to_owned),
    };
    let shared2 = shared.clone();
    let (parts, body) = resp.into_parts();
    let body = Observed::new(body, move |bytes_out, complete| {
        let mut rec = rec;
        rec.bytes_out = bytes_out;
        rec.complete = complete;
        rec.bytes_in = meter
            .as_ref()
            .map_or(0, |m| m.bytes.load(Ordering::Relaxed));
        rec.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        if !log.send(&rec) {
            shared2.metrics.access_log_dropped.inc();
        }
    });
    Response::from_parts(parts, body.boxed())
}

/// The access-log line, metrics, security event and ban offence of a request head the HTTP/1.1
/// server refused before any stage ran (malformed, or over the head limits): it has no method,
/// host, path or route that could be trusted, only the connection's peer and the rule.
pub(crate) fn record_refused_head(
    shared: &Shared,
    conn: &ConnInfo,
    request_id: &str,
    status: u16,
    problem: Problem,
    outcome: &'static str,
) {
    shared.metrics.request("-", status, 0.0);
    shared.metrics.decisions(&[("validate", outcome)]);
    SecurityEvent::input_refused("validate", outcome).emit_for(
        None,
        conn.peer.ip(),
        None,
        request_id,
    );
    let snap = shared.snapshot.load();
    // A strict-HTTP refusal, as when the `validate` stage makes it.
    if !snap.bans.is_empty() {
        crate::state::bans::report(
            &snap.bans,
            &shared.registry.state,
            Offence::WafBlock,
            None,
            conn.peer.ip(),
            None,
        );
    }
    let log = shared.access_log.load();
    if snap.access_log.disabled || !log.enabled() {
        return;
    }
    let rec = AccessRecord {
        time: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        request_id: request_id.to_owned(),
        client_ip: conn.peer.ip().to_string(),
        listener: conn.listener.to_string(),
        method: "-".to_owned(),
        protocol: "HTTP/1.1".to_owned(),
        status,
        reason: Some(problem.as_str()),
        complete: true,
        decisions: vec![format!("validate:{outcome}")],
        client_cert: conn.client_cert.as_ref().map(|c| c.subject.clone()),
        ..AccessRecord::default()
    };
    if !log.send(&rec) {
        shared.metrics.access_log_dropped.inc();
    }
}

type Processed = (Response<Body>, Option<&'static str>, Option<Arc<Route>>);

async fn process(
    req: Request<Body>,
    lr: &Arc<ListenerRuntime>,
    snap: &Arc<Snapshot>,
    ctx: &mut RequestCtx,
    shared: &Arc<Shared>,
    meter: &mut Option<Arc<BodyMeter>>,
    host: Option<&str>,
) -> Processed {
    let deny = |ctx: &RequestCtx, d: Deny| -> Processed {
        (
            render_deny(&d, ctx.request_id()),
            Some(d.problem.as_str()),
            None,
        )
    };
    if let Err((outcome, text)) = validate(&req, ctx) {
        ctx.refuse_input("validate", outcome);
        let mut d = detail(Problem::BadRequest, text);
        if req.version() != Version::HTTP_2 {
            // The framing of what follows on this connection cannot be trusted.
            d.headers
                .push((header::CONNECTION, HeaderValue::from_static("close")));
        }
        return deny(ctx, d);
    }
    if let Some(port) = lr.redirect_https_port {
        return (https_redirect(&req, port, ctx.request_id()), None, None);
    }
    let target_len = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().len())
        .unwrap_or(0);
    if target_len > lr.limits.max_uri_length {
        return deny(ctx, Deny::new(Problem::UriTooLong));
    }
    let Some(path) = normalise_path(req.uri().path()) else {
        return deny(ctx, detail(Problem::BadRequest, "invalid request path"));
    };
    let route = match snap.router.route(
        &ctx.listener,
        host,
        req.method(),
        &path,
        req.uri(),
        req.headers(),
    ) {
        RouteResult::Matched(r, params, located) => {
            ctx.path_params = params;
            (r, located)
        }
        RouteResult::MethodNotAllowed(allow) => {
            ctx.decisions.push(("router", "method_not_allowed"));
            let mut d = Deny::new(Problem::MethodNotAllowed);
            let names: Vec<&str> = allow.iter().map(Method::as_str).collect();
            if let Ok(v) = HeaderValue::from_str(&names.join(", ")) {
                d.headers.push((header::ALLOW, v));
            }
            return deny(ctx, d);
        }
        RouteResult::NotFound => {
            ctx.decisions.push(("router", "not_found"));
            return deny(ctx, Deny::new(Problem::RouteNotFound));
        }
    };
    // On an OpenAPI route the operation is found here, once: the `openapi` stage checks it,
    // and one with settings of its own runs with its route.
    let (route, located) = route;
    let route = match &route.operations {
        Some(ops) => {
            // A route matching only the document's operations found it while routing.
            let located = located.unwrap_or_else(|| ops.api.locate(req.method(), &path));
            let own = ops.own_route(&located);
            // Named from here on, so refusals before the `openapi` stage log it too.
            ctx.operation = located.operation().map(|op| Arc::clone(&op.id));
            ctx.operation_metrics = located.index().map(|i| (Arc::clone(&ops.metrics), i));
            ctx.operation_found = Some(located);
            own.unwrap_or(route)
        }
        None => route,
    };
    ctx.route = Some(route.name.clone());

    let (mut parts, incoming) = req.into_parts();
    strip_identity_headers(&mut parts.headers);
    strip_connection_listed(&mut parts.headers);
    strip_spoofable(&mut parts.headers, ctx.peer.ip(), &snap.trusted_proxies);
    let limit = route.max_body_bytes.unwrap_or(lr.limits.max_body_bytes);
    let mut body = if http_body::Body::is_end_stream(&incoming) {
        RequestBody::Empty
    } else {
        let m = Arc::clone(meter.insert(Arc::default()));
        RequestBody::Stream(Limited::new(incoming, limit, m).boxed())
    };
    // A request without a body never goes past its limit.
    static NEVER: AtomicBool = AtomicBool::new(false);
    let tripped = meter.as_deref().map_or(&NEVER, |m| &m.tripped);
    if let Err(d) =
        run_request_chain(&route.chain, ctx, &mut parts, &mut body, route.inspection).await
    {
        let reason = d.problem.as_str();
        return (render_deny(&d, ctx.request_id()), Some(reason), Some(route));
    }

    let resp = match &route.action {
        Action::Direct {
            status,
            headers,
            body: text,
        } => {
            let mut r = Response::new(if parts.method == Method::HEAD {
                empty()
            } else {
                full(text.clone())
            });
            *r.status_mut() = *status;
            for (n, v) in headers {
                r.headers_mut().append(n.clone(), v.clone());
            }
            r
        }
        Action::Redirect {
            status,
            location,
            keep_query,
        } => {
            let mut loc = location.clone();
            if *keep_query && let Some(q) = parts.uri.query() {
                loc.push(if loc.contains('?') { '&' } else { '?' });
                loc.push_str(q);
            }
            let mut r = Response::new(empty());
            *r.status_mut() = *status;
            if let Ok(v) = HeaderValue::from_str(&loc) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        }
        Action::Proxy(up) => {
            // The method, for the response check (a HEAD answer has no body to check).
            let method = ctx.response_check.is_some().then(|| parts.method.clone());
            let answer = forward(
                parts, body, &path, &route, up, snap, ctx, shared, limit, tripped,
            )
            .await;
            let answer = match (answer, ctx.response_check.take(), method) {
                (Ok(r), Some((api, index)), Some(method)) => {
                    let timeout = route.timeout.unwrap_or(up.request_timeout);
                    check_response(r, &api, index, &method, route.inspection, timeout, ctx).await
                }
                (answer, _, _) => answer,
            };
            match answer {
                Ok(r) => r,
                Err(d) => {
                    let reason = d.problem.as_str();
                    return (render_deny(&d, ctx.request_id()), Some(reason), Some(route));
                }
            }
        }
    };
    (resp, None, Some(route))
}

/// Holds the upstream's answer against its OpenAPI description (`openapi.responses`): the
/// decision goes in the access log (`openapi_response`), a mismatch is a security event, and
/// in `block` mode it is answered with 502 `invalid_response` instead, as is a body that could
/// not be read (compressed, or over the inspection cap) unless the route forwards such bodies
/// (`body_inspection.larger: skip`). An upstream body that fails, or is not read within
/// `timeout`, is a 502 too.
async fn check_response(
    resp: Response<Body>,
    api: &crate::policy::openapi::Api,
    index: usize,
    method: &Method,
    inspection: crate::policy::BodyInspection,
    timeout: std::time::Duration,
    ctx: &mut RequestCtx,
) -> Result<Response<Body>, Deny> {
    use crate::policy::openapi::Verdict;
    let block = api.response_check() == Some(true);
    let cap = inspection.max_bytes;
    let checked = tokio::time::timeout(timeout, api.check_response(index, method, resp, cap));
    let (resp, verdict) = match checked.await {
        Ok(Ok(done)) => done,
        Ok(Err(_)) | Err(_) => {
            ctx.decisions.push(("openapi_response", "upstream_failed"));
            return Err(Deny::new(Problem::BadGateway));
        }
    };
    match verdict {
        Verdict::Valid => ctx.decisions.push(("openapi_response", "valid")),
        Verdict::Unchecked(why @ ("encoded" | "too_large")) if block && !inspection.skip_larger => {
            ctx.decisions.push(("openapi_response", why));
            let unread = vec![("body".to_owned(), why.to_owned())];
            crate::observe::events::SecurityEvent::invalid_response("invalid_response", unread)
                .emit(ctx);
            return Err(Deny::new(Problem::InvalidResponse));
        }
        Verdict::Unchecked(why) => ctx.decisions.push(("openapi_response", why)),
        Verdict::Invalid(errors) => {
            let outcome = if block {
                "invalid_response"
            } else {
                "would_block"
            };
            ctx.decisions.push(("openapi_response", outcome));
            crate::observe::events::SecurityEvent::invalid_response(outcome, errors).emit(ctx);
            if block {
                return Err(Deny::new(Problem::InvalidResponse));
            }
        }
    }
    Ok(resp)
}

/// The `validate` stage: the wire check's verdict on this request, then the head rules.
fn validate<B>(req: &Request<B>, ctx: &RequestCtx) -> Result<(), (&'static str, &'static str)> {
    if let Some(v) = ctx.wire_violation() {
        return Err((v.outcome(), v.detail()));
    }
    crate::policy::validate::check(req, ctx.wire.is_some())
}

fn detail(p: Problem, d: &str) -> Deny {
    let mut deny = Deny::new(p);
    deny.detail = Some(d.to_owned());
    deny
}

fn render_deny(d: &Deny, request_id: &str) -> Response<Body> {
    let mut r = problem_with_errors(d.problem, request_id, d.detail.as_deref(), &d.errors);
    for (n, v) in &d.headers {
        r.headers_mut().append(n.clone(), v.clone());
    }
    r
}

/// Methods whose requests carry content by definition (an empty one is sent with
/// `Content-Length: 0`).
fn method_has_body(m: &Method) -> bool {
    matches!(*m, Method::POST | Method::PUT | Method::PATCH)
}

fn is_idempotent(m: &Method) -> bool {
    matches!(
        *m,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

/// The client's side of a WebSocket upgrade: the HTTP/1.1 server marks a request it can hand
/// over (HTTP/1.1, `Connection: upgrade`, an `Upgrade` field, no body) with [`OnUpgrade`],
/// so only those are looked at further (every other request pays one empty-map lookup).
///
/// [`OnUpgrade`]: crate::listener::http1::OnUpgrade
fn websocket_upgrade(
    parts: &mut http::request::Parts,
) -> Option<crate::listener::http1::OnUpgrade> {
    parts
        .extensions
        .get::<crate::listener::http1::OnUpgrade>()?;
    let websocket = parts
        .headers
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    if websocket {
        parts.extensions.remove()
    } else {
        None
    }
}

#[allow(clippy::too_many_arguments)]
async fn forward(
    mut parts: http::request::Parts,
    body: RequestBody,
    path: &str,
    route: &Arc<Route>,
    up: &Arc<Upstream>,
    snap: &Snapshot,
    ctx: &mut RequestCtx,
    shared: &Arc<Shared>,
    limit: u64,
    tripped: &AtomicBool,
) -> Result<Response<Body>, Deny> {
    // Framing is re-serialised (the length comes from the body, or it is chunked): the
    // client's `Content-Length` is taken out here, and read.
    let declared = parts
        .headers
        .remove(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok().and_then(|v| v.parse::<u64>().ok()));
    // Declared size over the limit: refuse before reading anything.
    if declared.is_some_and(|len| len > limit) {
        return Err(Deny::new(Problem::PayloadTooLarge));
    }
    let client_upgrade = websocket_upgrade(&mut parts);
    let upgrade = client_upgrade.is_some();
    let h2_upstream = matches!(up.protocol, Protocol::H2 | Protocol::H2c);
    let chunked = parts.headers.contains_key(header::TRANSFER_ENCODING);
    // The `Host` field goes on untouched only when it is where the host came from.
    let host_in_field = parts.uri.authority().is_none() && parts.headers.contains_key(header::HOST);
    let host = host_of(&parts.uri, &parts.headers);
    strip_hop_by_hop(&mut parts.headers, upgrade, h2_upstream);
    // An answer whose body is checked must come uncompressed, or it could not be read.
    if let Some((api, index)) = &ctx.response_check
        && parts.method != Method::HEAD
        && api.reads_response_bodies(*index)
    {
        parts.headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("identity"),
        );
    }
    if upgrade {
        // `Connection` is hop-by-hop, so it was removed; an upgrade needs it on this hop too.
        parts
            .headers
            .insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    }
    // Room for the forwarding headers below, so the map grows at most once.
    parts.headers.reserve(6);
    let peer_text = ctx.peer_text.clone();
    set_forwarded(
        &mut parts.headers,
        ctx.peer.ip(),
        &peer_text,
        ctx.scheme,
        host.as_ref(),
        &snap.trusted_proxies,
    );
    parts
        .headers
        .insert(X_REQUEST_ID, ctx.request_id_value.clone());
    let real_ip = if ctx.client_ip == ctx.peer.ip() {
        peer_text
    } else {
        ip_header_value(ctx.client_ip)
    };
    parts.headers.insert(X_REAL_IP, real_ip);
    let host_header = route.upstream_host.clone().or(host);
    // A `Host` field that stays as the client sent it is not written again.
    let host_unchanged = route.upstream_host.is_none() && host_in_field;
    // HTTP/2 has no Host header: the host goes upstream as `:authority`, which is the request
    // URI's authority (the per-target h2 clients connect to their target whatever it says).
    let h2_authority = host_header
        .as_ref()
        .filter(|_| h2_upstream)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse::<http::uri::Authority>().ok());
    match (&host_header, h2_upstream) {
        (Some(_), false) if host_unchanged => {}
        (Some(h), false) => {
            parts.headers.insert(header::HOST, h.clone());
        }
        _ => {
            parts.headers.remove(header::HOST);
        }
    }
    let rewritten;
    let new_path = if route.rewrite.is_none() {
        path
    } else {
        rewritten = rewrite_path(&route.rewrite, path, &ctx.path_params);
        rewritten.as_str()
    };
    let pq = match parts.uri.path_and_query() {
        // The usual case, a path that neither normalisation nor a rewrite changed: the
        // client's target goes on as it is, without a copy or a second check of its bytes.
        Some(pq) if new_path == pq.path() && pq.as_str().starts_with(['/', '*']) => pq.clone(),
        _ => {
            let query = parts.uri.query();
            let mut text = String::with_capacity(new_path.len() + 1 + query.map_or(0, str::len));
            text.push_str(new_path);
            if let Some(q) = query {
                text.push(if new_path.contains('?') { '&' } else { '?' });
                text.push_str(q);
            }
            PathAndQuery::try_from(text)
                .map_err(|_| detail(Problem::BadRequest, "invalid request target"))?
        }
    };
    parts.version = if h2_upstream {
        Version::HTTP_2
    } else {
        Version::HTTP_11
    };

    // The body is read into memory first, up to a cap, when it may be replayed for a retry
    // (idempotent, declared small enough) or when it is chunked on a strictly checked
    // connection: a chunk that breaks the framing is then refused before anything reaches the
    // upstream. Bodies longer than the cap stream on after the part already read.
    let idempotent = is_idempotent(&parts.method) && !upgrade;
    let retry_cap = match &up.retry {
        Some(r) if idempotent && declared.is_some_and(|n| n <= r.max_body_bytes) => {
            r.max_body_bytes
        }
        _ => 0,
    };
    let framing_cap = if chunked && ctx.wire.is_some() && !upgrade {
        FRAMING_BUFFER
    } else {
        0
    };
    // A small body of declared length is read whole, so the request can take the HTTP/1.1
    // client (which writes head and body at once) on a cleartext HTTP/1.1 upstream.
    let h1_cap = match declared {
        Some(n) if n <= h1::MAX_BODY && !upgrade && up.cleartext_h1 => n,
        _ => 0,
    };
    let cap = retry_cap.max(framing_cap).max(h1_cap).min(limit);
    // A body left partly read by the inspecting stages reads on from where they stopped.
    let mut body = match body {
        RequestBody::Uninspected(b) => RequestBody::Stream(b),
        other => other,
    };
    if cap > 0
        && let Err(e) = body
            .buffer(usize::try_from(cap).unwrap_or(usize::MAX), Larger::Stream)
            .await
    {
        return Err(body_failure(e, ctx));
    }
    let (bodiless, replay, body) = match body {
        RequestBody::Empty => (true, None, None),
        RequestBody::Buffered(b) => (b.is_empty(), Some(b), None),
        RequestBody::Stream(b) | RequestBody::Uninspected(b) => (false, None, Some(b)),
        RequestBody::Failed => return Err(body_failure(BodyReadError::Failed, ctx)),
    };
    let mut body = body;
    // A body is replayed only within the retry policy: declared small enough (a body read
    // for inspection or framing is not retried beyond that).
    let retry_ok = up.retry.as_ref().is_some_and(|r| {
        idempotent
            && (bodiless || (replay.is_some() && declared.is_some_and(|n| n <= r.max_body_bytes)))
    });
    // Framing upstream: hyper derives `Content-Length` from a body of known size. It sends
    // nothing for an empty body and drops a GET's body of unknown size, so say it here.
    match (&replay, &body) {
        (Some(b), _) if b.is_empty() && method_has_body(&parts.method) => {
            parts
                .headers
                .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        }
        (None, None) if method_has_body(&parts.method) => {
            parts
                .headers
                .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        }
        (None, Some(b)) if !h2_upstream && http_body::Body::size_hint(b).exact().is_none() => {
            parts.headers.insert(
                header::TRANSFER_ENCODING,
                HeaderValue::from_static("chunked"),
            );
        }
        _ => {}
    }
    let max_attempts = if retry_ok {
        1 + up.retry.as_ref().map_or(0, |r| r.attempts)
    } else {
        1
    };
    // The budget is read only to allow a retry, so it counts requests only on upstreams that
    // retry.
    if up.retry.is_some() {
        up.budget.record_request();
    }
    let hash = up.hash_key(&parts.headers, ctx.client_ip);
    let timeout = route.timeout.unwrap_or(up.request_timeout);
    let mut tried: smallvec::SmallVec<[usize; 4]> = smallvec::SmallVec::new();
    let mut parts_slot = Some(parts);
    let mut budget_taken = false;
    let mut last_err = Problem::NoHealthyUpstream;
    for attempt in 0..max_attempts {
        if attempt > 0 {
            let (pct, min) = up
                .retry
                .as_ref()
                .map_or((0, 0), |r| (r.budget_percent, r.min_retries));
            if !std::mem::take(&mut budget_taken) && !up.budget.try_retry(pct, min) {
                shared.metrics.retry_refused(&route.name);
                ctx.decisions.push(("upstream", "retry_refused"));
                break;
            }
            shared.metrics.retry(&route.name);
            ctx.decisions.push(("upstream", "retry"));
        }
        let Some((i, is_trial)) = up.select(hash, &tried) else {
            last_err = Problem::NoHealthyUpstream;
            break;
        };
        tried.push(i);
        let target = &up.targets[i];
        ctx.upstream_target = Some(target.addr.clone());
        let mut trial = crate::upstream::TrialGuard::new(&target.state, is_trial);
        // The HTTP/1.1 client takes what it can send in one piece: no upgrade, and a body that
        // is absent or already in memory. It borrows the parts, so nothing is cloned per try.
        let h1_pool = target
            .h1
            .as_ref()
            .filter(|_| !upgrade && (bodiless || replay.is_some()));
        let res = if let (Some(pool), Some(p)) = (h1_pool, parts_slot.as_ref()) {
            let no_body = Bytes::new();
            let res = {
                let _in_flight = crate::upstream::InFlight::enter(&target.state.in_flight);
                // The client keeps the timeout on the connection's own timer.
                pool.send(
                    &p.method,
                    pq.as_str(),
                    &p.headers,
                    replay.as_ref().unwrap_or(&no_body),
                    idempotent,
                    timeout,
                )
                .await
            };
            match res {
                Err(h1::Error::Timeout(_)) => Err(TimedOut),
                r => Ok(r.map(|resp| (resp, None)).map_err(AttemptError::H1)),
            }
        } else {
            let (client, authority) = match (&target.h2, &h2_authority) {
                (Some(c), Some(a)) => (c, a.as_str()),
                (Some(c), None) => (c, target.addr.as_str()),
                (None, _) => (&up.client, target.addr.as_str()),
            };
            let uri = Uri::builder()
                .scheme(up.scheme)
                .authority(authority)
                .path_and_query(pq.clone())
                .build();
            let Ok(uri) = uri else {
                return Err(Deny::new(Problem::BadGateway));
            };
            let b = match (&replay, body.take()) {
                (Some(bytes), _) => full(bytes.clone()),
                (None, Some(b)) => b,
                (None, None) => empty(),
            };
            // Only the last possible attempt may take the parts; earlier ones clone them.
            let p = if attempt + 1 == max_attempts {
                match parts_slot.take() {
                    Some(p) => p,
                    None => break,
                }
            } else {
                match parts_slot.as_ref() {
                    Some(p) => p.clone_without_body(),
                    None => break,
                }
            };
            let mut req = Request::from_parts(p, b);
            *req.uri_mut() = uri;
            let res = {
                let _in_flight = crate::upstream::InFlight::enter(&target.state.in_flight);
                tokio::time::timeout(timeout, client.request(req)).await
            };
            res.map_err(|_| TimedOut).map(|r| {
                r.map(|resp| {
                    let (mut parts, body) = resp.into_parts();
                    let upstream_on = parts.extensions.remove::<hyper::upgrade::OnUpgrade>();
                    (
                        Response::from_parts(parts, body.map_err(Into::into).boxed()),
                        upstream_on,
                    )
                })
                .map_err(AttemptError::Pooled)
            })
        };
        trial.disarm();
        match settle(
            res,
            i,
            attempt,
            max_attempts,
            retry_ok,
            up,
            target,
            shared,
            ctx,
            tripped,
        ) {
            Settled::Answer(resp, upstream_on) => {
                return Ok(finish_upstream_response(resp, upstream_on, client_upgrade));
            }
            Settled::Deny(d) => return Err(d),
            Settled::Retry(e, taken) => {
                last_err = e;
                budget_taken = taken;
            }
        }
        if !retry_ok {
            break;
        }
    }
    Err(Deny::new(last_err))
}

/// Why one attempt at an upstream failed, from either client.
#[derive(Debug, thiserror::Error)]
enum AttemptError {
    /// hyper-util's pooled client (HTTP/2, TLS, upgrades, streamed bodies).
    #[error(transparent)]
    Pooled(hyper_util::client::legacy::Error),
    /// The HTTP/1.1 client of cleartext upstreams.
    #[error(transparent)]
    H1(crate::upstream::h1::Error),
}

impl AttemptError {
    fn is_connect(&self) -> bool {
        match self {
            Self::Pooled(e) => e.is_connect(),
            Self::H1(e) => e.is_connect(),
        }
    }
}

/// An attempt got no response head within the route's or upstream's timeout.
struct TimedOut;

/// An upstream's response and, for a 101, its side of the upgrade.
type Answered = (Response<Body>, Option<hyper::upgrade::OnUpgrade>);

/// What the retry loop does after one attempt.
enum Settled {
    /// Hand this response (and the upstream's side of an upgrade) to the client.
    Answer(Response<Body>, Option<hyper::upgrade::OnUpgrade>),
    /// Answer locally.
    Deny(Deny),
    /// Try again if the policy allows; the problem to answer otherwise, and whether a retry
    /// was already taken from the budget.
    Retry(Problem, bool),
}

/// Books one attempt's outcome (target health, breaker, metrics) and decides what follows.
#[allow(clippy::too_many_arguments)]
fn settle(
    res: Result<Result<Answered, AttemptError>, TimedOut>,
    i: usize,
    attempt: u32,
    max_attempts: u32,
    retry_ok: bool,
    up: &Upstream,
    target: &crate::upstream::Target,
    shared: &Shared,
    ctx: &mut RequestCtx,
    tripped: &AtomicBool,
) -> Settled {
    match res {
        Ok(Ok((resp, upstream_on))) => {
            let status = resp.status();
            let failed = status.is_server_error();
            up.record(
                i,
                if failed {
                    Outcome::Failure
                } else {
                    Outcome::Success
                },
            );
            if failed {
                shared
                    .metrics
                    .upstream_attempt(&up.name, &target.addr, "5xx");
            } else {
                target
                    .ok_counter
                    .get_or_init(|| shared.metrics.upstream_ok_counter(&up.name, &target.addr))
                    .inc();
            }
            let retry_status = up
                .retry
                .as_ref()
                .is_some_and(|r| r.on_statuses.contains(&status.as_u16()));
            // Retry only when the budget allows it now; otherwise the client gets the
            // upstream's own answer rather than a gateway error.
            if let Some(r) = up.retry.as_ref()
                && retry_ok
                && retry_status
                && attempt + 1 < max_attempts
            {
                if up.budget.try_retry(r.budget_percent, r.min_retries) {
                    return Settled::Retry(Problem::BadGateway, true);
                }
                shared
                    .metrics
                    .retry_refused(ctx.route.as_deref().unwrap_or("-"));
                ctx.decisions.push(("upstream", "retry_refused"));
            }
            Settled::Answer(resp, upstream_on)
        }
        Ok(Err(e)) => {
            if tripped.load(Ordering::Relaxed) {
                return Settled::Deny(body_failure(BodyReadError::TooLarge, ctx));
            }
            if ctx.wire_violation().is_some() {
                return Settled::Deny(body_failure(BodyReadError::Failed, ctx));
            }
            up.record(i, Outcome::Failure);
            let kind = if e.is_connect() {
                "connect_error"
            } else {
                "error"
            };
            shared
                .metrics
                .upstream_attempt(&up.name, &target.addr, kind);
            tracing::debug!(
                request_id = %ctx.request_id(),
                upstream = %up.name,
                target = %target.addr,
                error = %error_chain(&e),
                "upstream attempt failed"
            );
            Settled::Retry(Problem::BadGateway, false)
        }
        Err(_) => {
            up.record(i, Outcome::Failure);
            shared
                .metrics
                .upstream_attempt(&up.name, &target.addr, "timeout");
            Settled::Retry(Problem::GatewayTimeout, false)
        }
    }
}

/// Bytes of a chunked HTTP/1 body read before forwarding, so bad framing in a small body is
/// refused before the upstream sees the request.
const FRAMING_BUFFER: u64 = 64 * 1024;

/// The answer when reading the request body for forwarding failed; a framing violation is
/// recorded as the `validate` stage's refusal.
fn body_failure(e: BodyReadError, ctx: &mut RequestCtx) -> Deny {
    if matches!(e, BodyReadError::Failed) {
        ctx.refuse_broken_framing();
    }
    body_read_deny(e, ctx, "request body ended early")
}

/// An IP address as a header value (always valid: digits, dots, colons, hex).
pub(crate) fn ip_header_value(ip: std::net::IpAddr) -> HeaderValue {
    HeaderValue::from_str(&ip.to_string()).unwrap_or(HeaderValue::from_static("unknown"))
}

/// `error: cause: cause`, so logs say why (hyper's top-level messages are terse).
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

trait CloneParts {
    fn clone_without_body(&self) -> http::request::Parts;
}

impl CloneParts for http::request::Parts {
    fn clone_without_body(&self) -> http::request::Parts {
        let mut b = Request::builder()
            .method(self.method.clone())
            .uri(self.uri.clone())
            .version(self.version);
        if let Some(h) = b.headers_mut() {
            *h = self.headers.clone();
        }
        let (p, ()) = b
            .body(())
            .map(Request::into_parts)
            .unwrap_or_else(|_| Request::new(()).into_parts());
        p
    }
}

fn finish_upstream_response(
    resp: Response<Body>,
    upstream_on: Option<hyper::upgrade::OnUpgrade>,
    client_upgrade: Option<crate::listener::http1::OnUpgrade>,
) -> Response<Body> {
    let (mut parts, body) = resp.into_parts();
    let switching = parts.status == StatusCode::SWITCHING_PROTOCOLS;
    if switching && let Some(client_on) = client_upgrade {
        tokio::spawn(async move {
            let Some(upstream_on) = upstream_on else {
                return;
            };
            let (Some(mut c), Ok(upstream)) = (client_on.upgraded().await, upstream_on.await)
            else {
                return;
            };
            let mut u = hyper_util::rt::TokioIo::new(upstream);
            let _ = tokio::io::copy_bidirectional(&mut c, &mut u).await;
        });
    }
    strip_connection_listed(&mut parts.headers);
    strip_hop_by_hop(&mut parts.headers, switching, false);
    if switching {
        parts
            .headers
            .insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    }
    // One pass over the (few) names instead of two hash probes that usually find nothing.
    if parts
        .headers
        .keys()
        .any(|k| k == header::SERVER || k == X_POWERED_BY)
    {
        parts.headers.remove(header::SERVER);
        parts.headers.remove(X_POWERED_BY);
    }
    Response::from_parts(parts, body)
}

/// Response stages, security headers, HSTS and the request id on every answer.
fn finish_headers(
    resp: &mut Response<Body>,
    snap: &Snapshot,
    lr: Option<&ListenerRuntime>,
    route: Option<&Route>,
    ctx: &mut RequestCtx,
) {
    if let Some(r) = route {
        for stage in &r.response_chain {
            stage.on_response(resp.headers_mut());
        }
    }
    let h = resp.headers_mut();
    for (n, v) in &snap.security_headers {
        // One probe: set only when the upstream or a stage did not.
        if let header::Entry::Vacant(e) = h.entry(n) {
            e.insert(v.clone());
        }
    }
    if let Some(hsts) = lr.and_then(|l| l.hsts.as_ref()) {
        h.insert(header::STRICT_TRANSPORT_SECURITY, hsts.clone());
    }
    h.insert(X_REQUEST_ID, ctx.request_id_value.clone());
    ctx.rate_limit
        .apply(h, route.and_then(|r| r.rate_limit_policy.as_ref()));
}

fn https_redirect<B>(req: &Request<B>, port: u16, request_id: &str) -> Response<Body> {
    let host = host_of(req.uri(), req.headers());
    let host = host.as_ref().and_then(|h| h.to_str().ok()).unwrap_or("");
    let bare = host
        .rsplit_once(':')
        .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(h, _)| h);
    if bare.is_empty() {
        return problem(Problem::BadRequest, request_id, Some("missing Host"));
    }
    let authority = if port == 443 {
        bare.to_owned()
    } else {
        format!("{bare}:{port}")
    };
    let pq = req.uri().path_and_query().map_or("/", PathAndQuery::as_str);
    let mut r = Response::new(empty());
    *r.status_mut() = StatusCode::PERMANENT_REDIRECT;
    if let Ok(v) = HeaderValue::from_str(&format!("https://{authority}{pq}")) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// The request's host: the target's authority (absolute form, HTTP/2 `:authority`), else
/// `Host` (RFC 9112 section 3.2.2: a request in absolute form is routed, and forwarded, by
/// its target, whatever its `Host` field says). A header value, so the usual case shares the
/// `Host` field's bytes. Routing and forwarding both take the host from here.
fn host_of(uri: &http::Uri, headers: &http::HeaderMap) -> Option<HeaderValue> {
    match uri.authority() {
        Some(a) => HeaderValue::from_str(a.as_str()).ok(),
        None => headers.get(header::HOST).cloned(),
    }
}

/// Propagates a well-formed incoming `X-Request-Id` (1-128 of `[A-Za-z0-9._-]`), or makes one.
fn request_id(headers: &http::HeaderMap) -> HeaderValue {
    if let Some(v) = headers.get(X_REQUEST_ID)
        && !v.is_empty()
        && v.len() <= 128
        && v.as_bytes()
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
    {
        return v.clone();
    }
    new_request_id()
}

/// A fresh request id as a header value: 128 random bits as 32 lower-case hex digits.
///
/// A request id must be unique, not secret (a client can choose its own): the bits come from
/// a small fast generator per thread (xoshiro), seeded once from the thread's cryptographic
/// generator. Drawing them from ChaCha took about 300 instructions per request.
pub(crate) fn new_request_id() -> HeaderValue {
    use rand::{RngCore, SeedableRng, rngs::SmallRng};
    use std::cell::RefCell;
    thread_local! {
        static IDS: RefCell<SmallRng> = RefCell::new(SmallRng::from_rng(&mut rand::rng()));
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bits = IDS.with(|g| {
        let mut g = g.borrow_mut();
        (u128::from(g.next_u64()) << 64) | u128::from(g.next_u64())
    });
    let mut digits = [0u8; 32];
    for (pair, byte) in digits.chunks_exact_mut(2).zip(bits.to_be_bytes()) {
        pair[0] = HEX[usize::from(byte >> 4)];
        pair[1] = HEX[usize::from(byte & 0xf)];
    }
    HeaderValue::from_bytes(&digits).unwrap_or(HeaderValue::from_static("-"))
}

fn selected_headers<B>(req: &Request<B>, snap: &Snapshot) -> Vec<(String, String)> {
    let cfg = &snap.access_log;
    let mut out = Vec::new();
    for name in &cfg.headers {
        for v in req.headers().get_all(name.as_str()) {
            let value = if redact::is_sensitive(name, &cfg.redact) {
                redact::REDACTED.to_owned()
            } else {
                String::from_utf8_lossy(v.as_bytes()).into_owned()
            };
            out.push((name.clone(), value));
        }
    }
    out
}

/// Normalises a request path once so routing, policies and the upstream see the same thing:
/// percent-decodes unreserved characters, resolves `.` and `..`, merges duplicate slashes.
/// Returns `None` for paths that cannot be made safe (not starting with `/`, `..` above the
/// root, encoded `/`, `\` or NUL).
pub fn normalise_path(raw: &str) -> Option<String> {
    if raw == "*" {
        return Some("*".into());
    }
    if !raw.starts_with('/') {
        return None;
    }
    let bytes = raw.as_bytes();
    // Most paths need nothing: no escapes, backslashes or NULs, and no segment that is empty
    // or starts with a dot. Those come out of the full pass below unchanged.
    let mut prev = 0u8;
    let plain = bytes.iter().all(|&b| {
        let ok = !(matches!(b, b'%' | b'\\' | 0) || (prev == b'/' && matches!(b, b'/' | b'.')));
        prev = b;
        ok
    });
    if plain {
        return Some(raw.to_owned());
    }
    normalise_full(raw)
}

/// The full pass of [`normalise_path`] for a path starting with `/`.
fn normalise_full(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut decoded: Vec<u8> = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = |c: u8| (c as char).to_digit(16);
            let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            ) else {
                return None;
            };
            let c = (h * 16 + l) as u8;
            if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
                decoded.push(c);
            } else if matches!(c, b'/' | b'\\' | 0) {
                return None;
            } else {
                // Keep reserved and other characters encoded, upper-case hex.
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                decoded.extend_from_slice(&[
                    b'%',
                    HEX[usize::from(c >> 4)],
                    HEX[usize::from(c & 15)],
                ]);
            }
            i += 3;
        } else if b == b'\\' || b == 0 {
            return None;
        } else {
            decoded.push(b);
            i += 1;
        }
    }
    // Only ASCII was decoded and other bytes were copied whole, so this is the input's UTF-8.
    let decoded = String::from_utf8(decoded).ok()?;
    let trailing = decoded.ends_with('/') || decoded.ends_with("/.") || decoded.ends_with("/..");
    let mut segs: Vec<&str> = Vec::new();
    for s in decoded.split('/') {
        match s {
            "" | "." => {}
            ".." => {
                segs.pop()?;
            }
            s => segs.push(s),
        }
    }
    let mut out = String::with_capacity(decoded.len());
    for s in &segs {
        out.push('/');
        out.push_str(s);
    }
    if out.is_empty() || (trailing && !out.ends_with('/')) {
        out.push('/');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_paths() {
        let cases = [
            ("/", Some("/")),
            ("/a//b", Some("/a/b")),
            ("/a/./b/../c", Some("/a/c")),
            ("/a/b/", Some("/a/b/")),
            ("/%61%62c", Some("/abc")),
            ("/a%2fb", None),
            ("/a%5cb", None),
            ("/a%00", None),
            ("/..", None),
            ("/a/..", Some("/")),
            ("/%zz", None),
            ("/a%20b", Some("/a%20b")),
            ("/a%3fb", Some("/a%3Fb")),
            ("relative", None),
            ("/caf\u{e9}/%C3%A9", Some("/caf\u{e9}/%C3%A9")),
        ];
        for (input, want) in cases {
            assert_eq!(normalise_path(input).as_deref(), want, "{input}");
        }
    }

    #[test]
    fn quick_path_check_agrees_with_the_full_pass() {
        // Every path up to seven bytes over an alphabet of the characters that matter.
        let alphabet = ['/', 'a', '.', '%', '2', 'f', '\\', 'Z'];
        let mut paths = vec![String::from("/")];
        let mut checked = 0;
        for _ in 0..6 {
            let mut next = Vec::new();
            for p in &paths {
                for c in alphabet {
                    let mut q = p.clone();
                    q.push(c);
                    assert_eq!(normalise_path(&q), normalise_full(&q), "{q:?}");
                    checked += 1;
                    next.push(q);
                }
            }
            paths = next;
        }
        assert!(checked > 290_000);
    }

    #[test]
    fn propagates_only_wellformed_request_ids() {
        let mut h = http::HeaderMap::new();
        h.insert("x-request-id", "abc-123".parse().unwrap());
        assert_eq!(request_id(&h), "abc-123");
        h.insert("x-request-id", "bad id!".parse().unwrap());
        let id = request_id(&h);
        assert_eq!(id.len(), 32);
        assert!(
            id.as_bytes().iter().all(|b| b.is_ascii_hexdigit()),
            "{id:?}"
        );
    }
}
