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
//!    An input seen before (same kind, value and the label part detectors read) takes its
//!    matches from a bounded per-engine [`cache`](crate::cache) instead (step 3 is skipped).
//! 3. Detectors (one module per family under `detect`) emit rule matches; each rule has a stable
//!    numeric id, a [`Family`], a paranoia level and a [`Severity`].
//! 4. The engine drops rules above the paranoia level and excluded rules, sums the anomaly score
//!    and decides [`Verdict::blocked`] against the threshold.
#![forbid(unsafe_code)]

mod cache;
mod detect;
mod engine;
mod extract;
mod graphql;
mod normalise;
mod request;
mod rules;
mod settings;

/// The decoders and the normaliser on their own, for the criterion benches
/// (`benches/waf.rs`) and the `waf_decoders` fuzz target. Not a stable API.
#[doc(hidden)]
pub mod internals {
    use crate::normalise;

    /// Every normalised form of one value; returns their total length, so a benchmark keeps
    /// the work.
    pub fn normalise(value: &[u8]) -> usize {
        let v = normalise::variants(value);
        v.raw.len() + v.norm().len() + v.lower().len() + v.compact().len()
    }

    /// One pass of `%XX` / `%uXXXX` decoding.
    pub fn percent_decode(input: &[u8], plus_as_space: bool) -> Vec<u8> {
        normalise::percent_decode(input, plus_as_space).0
    }

    /// Repeated URL decoding, as the normaliser applies it.
    pub fn url_decode_repeated(input: &[u8]) -> Vec<u8> {
        normalise::url_decode_repeated(input).into_owned()
    }

    /// Overlong UTF-8 folding.
    pub fn fold_overlong(input: &[u8]) -> Vec<u8> {
        normalise::fold_overlong(input).into_owned()
    }

    /// HTML entity decoding.
    pub fn html_decode(input: &str) -> String {
        normalise::html_decode(input).into_owned()
    }

    /// JavaScript / C backslash escapes (`\xHH`, `\uHHHH`, `\u{H…}`).
    pub fn backslash_decode(input: &str) -> String {
        normalise::backslash_decode(input).into_owned()
    }

    /// SQL comment removal and whitespace collapsing.
    pub fn compact_sql(input: &str) -> String {
        normalise::compact_sql(input)
    }

    /// Reads `doc` as a GraphQL document; whether it is one.
    pub fn graphql(doc: &[u8]) -> bool {
        crate::graphql::shape(doc).is_some()
    }

    /// Whether the SQL detector skips libinjection on `value` as text it cannot flag, and
    /// whether libinjection flags it.
    pub fn sqli_inert_and_flagged(value: &[u8]) -> (bool, bool) {
        crate::detect::sqli::inert_and_verdict(value)
    }
}

pub use engine::{RuleMatch, Verdict, Waf};
pub use request::RequestView;
pub use rules::{Family, RuleInfo, Severity, rule_catalogue};
pub use settings::{Exclusion, Limits, LocationFilter, Mode, RuleSelector, Settings, WafError};
