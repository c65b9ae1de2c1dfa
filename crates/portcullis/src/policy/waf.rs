//! The `waf` stage: the request as the WAF engine sees it, the verdict, and what the gateway
//! does with it (refuse, or only record in `detect` mode).
//!
//! The engine (`crates/portcullis-waf`) is pure; this adapter builds its [`RequestView`] from
//! the parsed head and the bounded body buffer, compiles the route's settings, and turns a
//! verdict into a decision and a typed security event. Nothing from the payload is logged
//! beyond each match's short excerpt, which the engine already bounds and the event redacts
//! for inputs whose names say they are secret.

use bytes::Bytes;
use http::request::Parts;
use portcullis_waf::{
    Exclusion, Family, LocationFilter, Mode, RequestView, RuleSelector, Settings, Verdict, Waf,
};

use super::{Decision, Deny, RequestCtx};
use crate::config::error::Collector;
use crate::config::raw::{WafConfig, WafModeConfig};
use crate::observe::events::{SecurityEvent, WafMatch};
use crate::observe::metrics::StateMetrics;
use crate::reply::Problem;

/// A compiled WAF for one route.
#[derive(Debug)]
pub struct WafStage {
    engine: Waf,
    /// The route's name, for the per-rule match counters.
    route: String,
    metrics: StateMetrics,
    /// `portcullis_waf_inputs_total` of this route: inputs inspected, and inputs answered
    /// from the engine's remembered clean inputs.
    inspected: prometheus_client::metrics::counter::Counter,
    remembered: prometheus_client::metrics::counter::Counter,
}

/// Compiles route `route`'s `waf` block; errors go to `errs` under `at`. Matches are counted
/// in `metrics` (`portcullis_waf_rule_matches_total`).
pub fn compile(
    c: &WafConfig,
    at: &str,
    route: &str,
    metrics: &StateMetrics,
    errs: &mut Collector,
) -> Option<WafStage> {
    let before = errs.errors.len();
    let mut s = Settings {
        paranoia: c.paranoia.unwrap_or(1),
        threshold: c.threshold.unwrap_or(5),
        mode: match c.mode {
            Some(WafModeConfig::Detect) => Mode::Detect,
            _ => Mode::Block,
        },
        ..Settings::default()
    };
    if let Some(v) = c.limits.max_inputs {
        s.limits.max_inputs = v;
    }
    if let Some(v) = c.limits.max_value_bytes {
        s.limits.max_value_bytes = usize::try_from(v.0).unwrap_or(usize::MAX);
    }
    if let Some(v) = c.limits.max_json_depth {
        s.limits.max_json_depth = v;
    }
    if let Some(v) = c.limits.max_args {
        s.limits.max_args = v;
    }
    if let Some(v) = c.cache_entries {
        s.cache_entries = v;
    }
    for (i, e) in c.exclusions.iter().enumerate() {
        let at = format!("{at}.exclusions[{i}]");
        let mut selectors: Vec<RuleSelector> =
            e.rules.iter().map(|id| RuleSelector::Id(*id)).collect();
        for f in &e.families {
            match Family::from_name(f) {
                Some(f) => selectors.push(RuleSelector::Family(f)),
                None => errs.push(
                    format!("{at}.families"),
                    format!(
                        "unknown family {:?}; one of {}",
                        f.as_str(),
                        Family::ALL.map(Family::as_str).join(", ")
                    ),
                ),
            }
        }
        if selectors.is_empty() {
            errs.push(at.clone(), "names no `rules` and no `families`");
        }
        let locations: Vec<Option<LocationFilter>> = if e.locations.is_empty() {
            vec![None]
        } else {
            e.locations
                .iter()
                .map(|l| Some(LocationFilter::parse(l)))
                .collect()
        };
        for rules in &selectors {
            for location in &locations {
                s.exclusions.push(Exclusion {
                    rules: rules.clone(),
                    location: location.clone(),
                });
            }
        }
    }
    let engine = match Waf::new(s) {
        Ok(w) => w,
        Err(e) => {
            let key = match e {
                portcullis_waf::WafError::Paranoia(_) => ".paranoia",
                portcullis_waf::WafError::Threshold => ".threshold",
                portcullis_waf::WafError::UnknownRule(_) => ".exclusions",
                portcullis_waf::WafError::Limit(_) => ".limits",
                _ => "",
            };
            errs.push(format!("{at}{key}"), e.to_string());
            return None;
        }
    };
    let (inspected, remembered) = metrics.waf_input_counters(route);
    (errs.errors.len() == before).then(|| WafStage {
        engine,
        route: route.to_owned(),
        metrics: metrics.clone(),
        inspected,
        remembered,
    })
}

impl WafStage {
    /// Inspects the request (head, and the body when there is one) and decides.
    pub fn decide(&self, ctx: &RequestCtx, req: &Parts, body: Option<&Bytes>) -> Decision {
        let target = req
            .uri
            .path_and_query()
            .map_or(req.uri.path(), |pq| pq.as_str());
        let mut view = RequestView::new(req.method.as_str(), target.as_bytes());
        view.headers = req
            .headers
            .iter()
            .map(|(n, v)| (n.as_str().as_bytes(), v.as_bytes()))
            .collect();
        view.body = body.map(|b| &b[..]);
        let verdict = self.engine.inspect(&view);
        self.inspected.inc_by(u64::from(verdict.inputs_inspected));
        self.remembered.inc_by(u64::from(verdict.inputs_remembered));
        if verdict.matches.is_empty() {
            return Decision::Allow("pass");
        }
        let blocked = verdict.blocked;
        let outcome = if blocked {
            "blocked"
        } else if self.engine.settings().mode == Mode::Detect
            && verdict.score >= self.engine.settings().threshold
        {
            // What block mode would have refused.
            "would_block"
        } else {
            "detected"
        };
        for m in &verdict.matches {
            self.metrics
                .waf_match(&self.route, m.rule_id, m.family.as_str(), outcome);
        }
        event(&verdict, outcome).emit(ctx);
        if blocked {
            let mut d = Deny::new(Problem::RequestBlocked);
            d.outcome = "blocked";
            Decision::Deny(d)
        } else {
            Decision::Allow(outcome)
        }
    }
}

/// The security event of a verdict: rule ids, families, locations, score, and each match's
/// short excerpt (redacted where the input's name says it holds a secret).
fn event(v: &Verdict, outcome: &'static str) -> SecurityEvent {
    let mut e = SecurityEvent::waf(outcome, v.score);
    e.waf = v
        .matches
        .iter()
        .take(16)
        .map(|m| WafMatch {
            rule: m.rule_id,
            family: m.family.as_str(),
            location: m.location.clone(),
            excerpt: if sensitive(&m.location) {
                crate::observe::redact::REDACTED.to_owned()
            } else {
                m.excerpt.clone()
            },
        })
        .collect();
    e
}

/// Inputs whose names suggest a secret (`password`, `token`, `authorization`, ...): their
/// excerpts are not logged.
fn sensitive(location: &str) -> bool {
    let l = location.to_ascii_lowercase();
    [
        "pass", "secret", "token", "auth", "key", "session", "cookie", "card", "cvv", "ssn",
    ]
    .iter()
    .any(|w| l.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_locations_are_recognised() {
        assert!(sensitive("form:password"));
        assert!(sensitive("header:authorization"));
        assert!(sensitive("json:/user/apiKey"));
        assert!(!sensitive("query:q"));
    }
}
