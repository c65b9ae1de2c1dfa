//! Typed security events: every authentication attempt, every refusal by an authorization,
//! traffic or input stage, and every WAF match, as one struct emitted in one place. Today
//! they are written as structured log lines (target `portcullis::security`) and summarised in
//! the access log; the audit trail, auto-ban and anomaly detection will consume them from here.

use std::sync::Arc;

use crate::policy::RequestCtx;

/// Most bytes of a pointer written in an `openapi_response` event.
const POINTER_LOGGED: usize = 48;

/// One security event.
#[derive(Debug, Clone)]
pub struct SecurityEvent {
    /// The stage that decided: `authn`, `authz`, `ratelimit`, `ipfilter`, `ban`, `waf`, an
    /// input stage that refused the request (`validate`, `content`, `openapi`, `schema`), or
    /// `openapi_response` for an upstream response that does not match its description.
    pub event: &'static str,
    /// `success` or a reason (`missing_credential`, `invalid_credential`, `denied`, ...).
    pub outcome: &'static str,
    /// Authentication method (`api_key`, `jwt`, `introspection`, `mtls`, `basic`, `none`).
    pub method: &'static str,
    /// Consumer, when known (falls back to the identity on the context).
    pub consumer: Option<Arc<str>>,
    /// Label of the credential that matched, when it has one. Never the credential itself.
    pub credential: Option<String>,
    /// WAF anomaly score (WAF events only).
    pub score: u32,
    /// WAF matches (WAF events only).
    pub waf: Vec<WafMatch>,
    /// What an upstream response broke, as (pointer, keyword) (`openapi_response` events
    /// only). Never a value.
    pub violations: Vec<(String, String)>,
}

/// One WAF rule that matched one input, as recorded in an event.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WafMatch {
    /// Rule id.
    pub rule: u32,
    /// Rule family.
    pub family: &'static str,
    /// Input label (`query:q`, `json:/a/b`, `header:user-agent`, `path`).
    pub location: String,
    /// At most 24 characters of the decoded input from where the match starts, or
    /// `[redacted]` for inputs named like secrets.
    pub excerpt: String,
}

impl SecurityEvent {
    fn new(event: &'static str, outcome: &'static str, method: &'static str) -> Self {
        Self {
            event,
            outcome,
            method,
            consumer: None,
            credential: None,
            score: 0,
            waf: Vec::new(),
            violations: Vec::new(),
        }
    }

    /// An authentication attempt by `method` that ended in `outcome`.
    pub fn authn(method: &'static str, outcome: &'static str) -> Self {
        Self::new("authn", outcome, method)
    }

    /// An authorization denial for `reason` (`denied`, `insufficient_scope`,
    /// `claim_condition`).
    pub fn authz_denied(reason: &'static str) -> Self {
        Self::new("authz", reason, "-")
    }

    /// A request refused by a rate limit.
    pub fn rate_limited() -> Self {
        Self::new("ratelimit", "rate_limited", "-")
    }

    /// A request refused by an IP list.
    pub fn ip_denied() -> Self {
        Self::new("ipfilter", "ip_denied", "-")
    }

    /// A request refused by an input stage (`validate`, `content`, `openapi`, `schema`) for
    /// `outcome` (the rule, as in the access log's `decisions`).
    pub fn input_refused(stage: &'static str, outcome: &'static str) -> Self {
        Self::new(stage, outcome, "-")
    }

    /// A WAF verdict with matches: `blocked`, `would_block` (detect mode) or `detected`.
    pub fn waf(outcome: &'static str, score: u32) -> Self {
        Self {
            score,
            ..Self::new("waf", outcome, "-")
        }
    }

    /// An upstream response that does not match its OpenAPI description: `invalid_response`
    /// (replaced) or `would_block` (detect mode), with what is wrong.
    pub fn invalid_response(outcome: &'static str, violations: Vec<(String, String)>) -> Self {
        Self {
            violations,
            ..Self::new("openapi_response", outcome, "-")
        }
    }

    /// Writes the event with the request's client IP, route and request id.
    pub fn emit(&self, ctx: &RequestCtx) {
        let consumer = self
            .consumer
            .as_deref()
            .or(ctx.identity.as_ref().map(|i| &*i.consumer));
        self.emit_for(
            consumer,
            ctx.client_ip,
            ctx.route.as_deref(),
            ctx.request_id(),
        );
    }

    /// Writes the event for a request known only by these (one refused before any stage ran,
    /// for instance).
    pub fn emit_for(
        &self,
        consumer: Option<&str>,
        client_ip: std::net::IpAddr,
        route: Option<&str>,
        request_id: &str,
    ) {
        let consumer = consumer.unwrap_or("-");
        let route = route.unwrap_or("-");
        if self.event == "waf" {
            let matches = serde_json::to_string(&self.waf).unwrap_or_default();
            let rules: Vec<String> = self.waf.iter().map(|m| m.rule.to_string()).collect();
            tracing::warn!(
                target: "portcullis::security",
                event = self.event,
                outcome = self.outcome,
                consumer,
                score = self.score,
                rules = %rules.join(","),
                matches = %matches,
                client_ip = %client_ip,
                route,
                request_id,
                "WAF match"
            );
            return;
        }
        if self.event == "openapi_response" {
            // Pointers name the answer's own keys, which may be data (a map keyed by email):
            // each is cut short, and the list is written as JSON.
            let cut: Vec<(&str, &str)> = self
                .violations
                .iter()
                .take(8)
                .map(|(pointer, keyword)| {
                    let end = pointer.floor_char_boundary(POINTER_LOGGED);
                    (&pointer[..end], keyword.as_str())
                })
                .collect();
            let violations = serde_json::to_string(&cut).unwrap_or_default();
            tracing::warn!(
                target: "portcullis::security",
                event = self.event,
                outcome = self.outcome,
                consumer,
                violations = %violations,
                client_ip = %client_ip,
                route,
                request_id,
                "upstream response does not match the API description"
            );
            return;
        }
        tracing::info!(
            target: "portcullis::security",
            event = self.event,
            outcome = self.outcome,
            method = self.method,
            consumer,
            credential = self.credential.as_deref().unwrap_or("-"),
            client_ip = %client_ip,
            route,
            request_id,
            "{}",
            match self.event {
                "authz" => "authorization denied",
                "ratelimit" => "rate limited",
                "ipfilter" => "address refused",
                "ban" => "banned client refused",
                "validate" | "content" | "openapi" | "schema" => "request input refused",
                _ => "authentication attempt",
            }
        );
    }
}
