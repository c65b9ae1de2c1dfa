//! Authorization: decides what an authenticated caller may do on a route. Deny by default: a
//! route that authenticates must say who is allowed, through its own `authorize` rules or
//! through role grants (`roles:` at the top level, on routes and route groups); an identity
//! that no rule admits gets 403. Scopes and claim conditions then must all hold as well.

use http::Method;
use serde_json::Value;

use super::authn::jwt::{claim_at, claim_text, string_list};
use super::{Deny, RequestCtx};
use crate::reply::Problem;

/// A route's compiled authorization.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Who is admitted.
    pub who: Who,
    /// Scopes the identity must all hold.
    pub scopes: Vec<String>,
    /// Claim conditions that must all hold.
    pub claims: Vec<ClaimCondition>,
}

/// Who a route admits.
#[derive(Debug, Clone)]
pub enum Who {
    /// Any authenticated caller (said explicitly in the config).
    AnyAuthenticated,
    /// Callers holding a role of one of these rules, for the rule's methods.
    Rules(Vec<RoleRule>),
}

/// Roles admitted for some methods.
#[derive(Debug, Clone)]
pub struct RoleRule {
    /// Any of these roles.
    pub roles: Vec<String>,
    /// Only these methods (`None`: all).
    pub methods: Option<Vec<Method>>,
    /// Where the rule comes from: `role` (the route's `authorize`) or `grant` (a role grant).
    pub origin: &'static str,
}

/// A condition on one claim of a token.
#[derive(Debug, Clone)]
pub struct ClaimCondition {
    /// Dot-separated path.
    pub path: Vec<String>,
    /// The test.
    pub test: ClaimTest,
}

/// What a claim must be.
#[derive(Debug, Clone)]
pub enum ClaimTest {
    /// Equal to the value (strings as they are; numbers and booleans as written in JSON).
    Equals(String),
    /// Equal to one of the values.
    OneOf(Vec<String>),
    /// An array (or space-separated string) containing the value.
    Contains(String),
}

impl ClaimCondition {
    fn holds(&self, claims: Option<&serde_json::Map<String, Value>>) -> bool {
        let Some(v) = claims.and_then(|c| claim_at(c, &self.path)) else {
            return false;
        };
        let scalar = claim_text(v);
        match &self.test {
            ClaimTest::Equals(want) => scalar.as_deref() == Some(want.as_str()),
            ClaimTest::OneOf(list) => scalar.is_some_and(|s| list.contains(&s)),
            ClaimTest::Contains(want) => match v {
                Value::Array(items) => items
                    .iter()
                    .any(|i| !i.is_boolean() && claim_text(i).as_deref() == Some(want.as_str())),
                Value::String(_) => string_list(Some(v)).any(|s| s == *want),
                _ => false,
            },
        }
    }
}

impl Policy {
    /// Decides for the identity on `ctx` and the request `method`; returns the rule that
    /// decided (`any_authenticated`, `role`, `grant`).
    pub fn decide(&self, ctx: &RequestCtx, method: &Method) -> Result<&'static str, Deny> {
        let Some(id) = &ctx.identity else {
            return Err(Deny::new(Problem::Unauthenticated));
        };
        let rule = match &self.who {
            Who::AnyAuthenticated => "any_authenticated",
            Who::Rules(rules) => rules
                .iter()
                .find(|r| {
                    r.methods.as_ref().is_none_or(|m| m.contains(method))
                        && id.roles.iter().any(|have| r.roles.contains(have))
                })
                .map(|r| r.origin)
                .ok_or_else(|| Deny::new(Problem::Forbidden))?,
        };
        if !self.scopes.iter().all(|s| id.scopes.contains(s)) {
            let mut d = Deny::new(Problem::Forbidden);
            d.outcome = "insufficient_scope";
            return Err(d);
        }
        let claims = id.claims.as_deref();
        if !self.claims.iter().all(|c| c.holds(claims)) {
            let mut d = Deny::new(Problem::Forbidden);
            d.outcome = "claim_condition";
            return Err(d);
        }
        Ok(rule)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::policy::Identity;

    fn ctx(roles: &[&str], scopes: &[&str], claims: Value) -> RequestCtx {
        RequestCtx {
            request_id_value: http::HeaderValue::from_static("r"),
            peer: "127.0.0.1:1".parse().expect("addr"),
            peer_text: http::HeaderValue::from_static("127.0.0.1"),
            client_ip: "127.0.0.1".parse().expect("ip"),
            listener: Arc::from("l"),
            scheme: "http",
            client_cert: None,
            route: None,
            path_params: Vec::new(),
            identity: Some(Identity {
                consumer: Arc::from("c"),
                method: "jwt",
                roles: roles.iter().map(|s| (*s).to_owned()).collect(),
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
                claims: claims.as_object().cloned().map(Arc::new),
            }),
            decisions: Default::default(),
            operation: None,
            operation_found: None,
            response_check: None,
            operation_metrics: None,
            upstream_target: None,
            rate_limit: Default::default(),
            permits: Vec::new(),
            wire: None,
            refused_method: None,
            started: tokio::time::Instant::now(),
        }
    }

    fn rules(list: &[(&[&str], Option<&[Method]>)]) -> Who {
        Who::Rules(
            list.iter()
                .map(|(roles, methods)| RoleRule {
                    roles: roles.iter().map(|s| (*s).to_owned()).collect(),
                    methods: methods.map(<[Method]>::to_vec),
                    origin: "role",
                })
                .collect(),
        )
    }

    #[test]
    fn roles_methods_scopes_and_claims_all_decide() {
        let cond = |path: &str, test: ClaimTest| ClaimCondition {
            path: path.split('.').map(str::to_owned).collect(),
            test,
        };
        let policy = Policy {
            who: rules(&[
                (&["reader"], Some(&[Method::GET, Method::HEAD])),
                (&["writer"], None),
            ]),
            scopes: vec!["orders".into()],
            claims: vec![
                cond("tenant", ClaimTest::Equals("acme".into())),
                cond(
                    "org.plan",
                    ClaimTest::OneOf(vec!["gold".into(), "silver".into()]),
                ),
                cond("groups", ClaimTest::Contains("ops".into())),
            ],
        };
        let good = serde_json::json!({"tenant": "acme", "org": {"plan": "gold"}, "groups": ["ops", "dev"]});
        let outcome = |roles: &[&str], scopes: &[&str], claims: Value, m: Method| {
            policy
                .decide(&ctx(roles, scopes, claims), &m)
                .map_err(|d| d.outcome)
        };
        type Row<'a> = (
            &'a [&'a str],
            &'a [&'a str],
            Value,
            Method,
            Result<&'a str, &'a str>,
        );
        let table: Vec<Row<'_>> = vec![
            (
                &["reader"],
                &["orders"],
                good.clone(),
                Method::GET,
                Ok("role"),
            ),
            (
                &["reader"],
                &["orders"],
                good.clone(),
                Method::POST,
                Err("forbidden"),
            ),
            (
                &["writer"],
                &["orders"],
                good.clone(),
                Method::POST,
                Ok("role"),
            ),
            (
                &["guest"],
                &["orders"],
                good.clone(),
                Method::GET,
                Err("forbidden"),
            ),
            (
                &["reader"],
                &[],
                good.clone(),
                Method::GET,
                Err("insufficient_scope"),
            ),
            (
                &["reader"],
                &["orders"],
                serde_json::json!({"tenant": "other", "org": {"plan": "gold"}, "groups": ["ops"]}),
                Method::GET,
                Err("claim_condition"),
            ),
            (
                &["reader"],
                &["orders"],
                serde_json::json!({"tenant": "acme", "org": {"plan": "free"}, "groups": "ops dev"}),
                Method::GET,
                Err("claim_condition"),
            ),
            (
                &["reader"],
                &["orders"],
                serde_json::json!({"tenant": "acme", "org": {"plan": "silver"}, "groups": "ops dev"}),
                Method::GET,
                Ok("role"),
            ),
            (
                &["reader"],
                &["orders"],
                Value::Null,
                Method::GET,
                Err("claim_condition"),
            ),
        ];
        for (roles, scopes, claims, m, want) in table {
            assert_eq!(
                outcome(roles, scopes, claims.clone(), m.clone()),
                want,
                "{roles:?} {scopes:?} {claims} {m}"
            );
        }
    }
}
