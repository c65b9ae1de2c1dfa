//! Typed security events: every authentication attempt and authorization denial. Today they are
//! written as structured log lines (target `portcullis::security`) and summarised in the access
//! log; the audit trail, auto-ban and anomaly detection will consume them from here.

use crate::policy::RequestCtx;
use crate::policy::authn::AuthnEvent;

/// Emits one authentication attempt.
pub fn emit_authn(ctx: &RequestCtx, e: &AuthnEvent) {
    tracing::info!(
        target: "portcullis::security",
        event = "authn",
        outcome = e.outcome,
        method = e.method,
        consumer = e.consumer.as_deref().unwrap_or("-"),
        credential = e.label.as_deref().unwrap_or("-"),
        client_ip = %ctx.client_ip,
        route = ctx.route.as_deref().unwrap_or("-"),
        request_id = %ctx.request_id,
        "authentication attempt"
    );
}

/// Emits a refusal by deny-by-default: the route has no `auth` block.
pub fn emit_unconfigured(ctx: &RequestCtx) {
    tracing::info!(
        target: "portcullis::security",
        event = "authn",
        outcome = "no_auth_configured",
        method = "none",
        client_ip = %ctx.client_ip,
        route = ctx.route.as_deref().unwrap_or("-"),
        request_id = %ctx.request_id,
        "request refused: the route has no auth block (deny by default)"
    );
}

/// Emits an authorization denial.
pub fn emit_authz_denied(ctx: &RequestCtx) {
    tracing::info!(
        target: "portcullis::security",
        event = "authz",
        outcome = "denied",
        method = ctx.identity.as_ref().map_or("-", |i| i.method),
        consumer = ctx.identity.as_ref().map_or("-", |i| i.consumer.as_str()),
        client_ip = %ctx.client_ip,
        route = ctx.route.as_deref().unwrap_or("-"),
        request_id = %ctx.request_id,
        "authorization denied"
    );
}
