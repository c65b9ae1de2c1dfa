//! Portcullis WAF engine: extract → normalise → detect → score.
//!
//! The gateway's `waf` stage fills a [`RequestView`] (method, raw target, headers and the bounded
//! body buffer) and calls [`Waf::inspect`]. The engine is pure: no I/O, no `unsafe`, no panics on
//! any input, and every piece of work is bounded by [`Limits`]. It is compiled once from
//! [`Settings`] by [`Waf::new`] (all regexes and automata are built there) and is cheap to share
//! behind an `Arc`.
//!
//! Pipeline for one request:
//! 1. [`extract`](crate::extract) turns the request into labelled inputs (`query:id`,
//!    `json:/user/name`, `cookie:session`, `header:user-agent`, `path`, …) under input and byte
//!    budgets; overflow is reported as an anomaly, never as unbounded work.
//! 2. [`normalise`](crate::normalise) decodes each value (URL, `%u`, overlong UTF-8, HTML
//!    entities, backslash escapes, NFKC) into variants, keeping the raw form too.
//! 3. Detectors (one module per family under `detect`) emit rule matches; each rule has a stable
//!    numeric id, a [`Family`], a paranoia level and a [`Severity`].
//! 4. The engine drops rules above the paranoia level and excluded rules, sums the anomaly score
//!    and decides [`Verdict::blocked`] against the threshold.
#![forbid(unsafe_code)]

mod detect;
mod engine;
mod extract;
mod normalise;
mod request;
mod rules;
mod settings;

pub use engine::{RuleMatch, Verdict, Waf};
pub use request::RequestView;
pub use rules::{Family, RuleInfo, Severity, rule_catalogue};
pub use settings::{Exclusion, Limits, LocationFilter, Mode, RuleSelector, Settings, WafError};
