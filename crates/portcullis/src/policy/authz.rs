//! Authorization: decides what an authenticated caller may do on a route. Deny by default: a
//! route that authenticates must say who is allowed (`roles`, or `any_authenticated`), and an
//! identity without one of the roles gets 403.

use super::{Deny, RequestCtx};
use crate::reply::Problem;

/// A route's compiled `authorize` block.
#[derive(Debug, Clone)]
pub enum Policy {
    /// Any authenticated consumer.
    AnyAuthenticated,
    /// Consumers holding at least one of these roles.
    AnyRole(Vec<String>),
}

impl Policy {
    /// Decides for the identity on `ctx`; returns the rule that decided.
    pub fn decide(&self, ctx: &RequestCtx) -> Result<&'static str, Deny> {
        let Some(id) = &ctx.identity else {
            return Err(Deny::new(Problem::Unauthenticated));
        };
        match self {
            Self::AnyAuthenticated => Ok("any_authenticated"),
            Self::AnyRole(roles) => {
                if id.roles.iter().any(|r| roles.contains(r)) {
                    Ok("role")
                } else {
                    Err(Deny::new(Problem::Forbidden))
                }
            }
        }
    }
}
