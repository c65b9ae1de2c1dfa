//! WAF settings: paranoia, threshold, mode, exclusions and inspection limits.
//!
//! The gateway's config layer maps its serde types onto [`Settings`]; [`crate::Waf::new`]
//! validates them once, so a running engine never holds an invalid value.

use crate::rules::Family;

/// Why [`crate::Waf::new`] refused a [`Settings`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WafError {
    /// Paranoia must be 1 (default, fewest false positives) to 4 (most aggressive).
    #[error("paranoia level {0} is out of range 1..=4")]
    Paranoia(u8),
    /// A threshold of 0 would block every request.
    #[error("anomaly threshold must be at least 1")]
    Threshold,
    /// An exclusion names a rule id the engine does not have.
    #[error("exclusion names unknown rule id {0}")]
    UnknownRule(u32),
    /// A limit is zero, which would make the engine inspect nothing.
    #[error("inspection limit `{0}` must be greater than zero")]
    Limit(&'static str),
    /// A built-in pattern failed to compile (a bug in this crate, reported instead of a panic).
    #[error("built-in pattern failed to compile: {0}")]
    Pattern(String),
}

/// What the engine does when the anomaly score reaches the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Report `blocked = true` when the score reaches the threshold (default).
    #[default]
    Block,
    /// Never block; matches and score are still reported (for rollout and tuning).
    Detect,
}

/// Which rules an [`Exclusion`] switches off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleSelector {
    /// One rule by its numeric id.
    Id(u32),
    /// Every rule of a family.
    Family(Family),
}

/// Which inspected locations an [`Exclusion`] applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocationFilter {
    /// This label, e.g. `query:q`, and the labels of what is read from inside that input: a
    /// JSON document or base64 text in a query or form parameter, a cookie or a multipart
    /// field (`query:q:/owner`, `cookie:session:b64:/uid`), and the path's segments
    /// (`path:segment`). Nothing else: `query` is not `query:q`, `json:/bio` not the key
    /// `bio:x`, `header:authorization` not the JWT header read from it.
    Exact(String),
    /// Every label starting with this prefix, e.g. `json:/comment`.
    Prefix(String),
    /// Labels made of these literal parts with one path segment (no `/`) between each two,
    /// e.g. `["json:/messages/", "/content"]` for `json:/messages/*/content`; with `prefix`,
    /// the label may go on after the last part.
    Segments {
        /// The literal text between the wildcards, in order.
        parts: Vec<String>,
        /// Whether labels that go on after the pattern match too.
        prefix: bool,
    },
}

impl LocationFilter {
    /// The filter a location pattern asks for: a final `*` matches whatever follows
    /// (`json:/notes/*`); any other `*` matches one path segment (`json:/messages/*/content`);
    /// without a `*`, the label and what is read from inside it ([`LocationFilter::Exact`]).
    pub fn parse(pattern: &str) -> Self {
        let (body, prefix) = match pattern.strip_suffix('*') {
            Some(p) => (p, true),
            None => (pattern, false),
        };
        if !body.contains('*') {
            return if prefix {
                Self::Prefix(body.to_owned())
            } else {
                Self::Exact(body.to_owned())
            };
        }
        Self::Segments {
            parts: body.split('*').map(str::to_owned).collect(),
            prefix,
        }
    }

    pub(crate) fn matches(&self, label: &str) -> bool {
        match self {
            Self::Exact(s) => match label.strip_prefix(s.as_str()) {
                Some("") => true,
                Some(":segment") => s == "path",
                Some(rest) => {
                    ["query:", "form:", "cookie:", "multipart:"]
                        .iter()
                        .any(|c| s.starts_with(c) && s.len() > c.len())
                        && (rest.starts_with(":/") || rest.starts_with(":b64"))
                }
                None => false,
            },
            Self::Prefix(p) => label.starts_with(p.as_str()),
            Self::Segments { parts, prefix } => {
                let Some((first, others)) = parts.split_first() else {
                    return false;
                };
                let Some(mut rest) = label.strip_prefix(first.as_str()) else {
                    return false;
                };
                for part in others {
                    let segment = rest.find('/').unwrap_or(rest.len());
                    if segment == 0 {
                        return false;
                    }
                    match rest[segment..].strip_prefix(part.as_str()) {
                        Some(r) => rest = r,
                        None => return false,
                    }
                }
                *prefix || rest.is_empty()
            }
        }
    }
}

/// Switches rules off, everywhere or only for some locations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exclusion {
    /// The rules to switch off.
    pub rules: RuleSelector,
    /// Where; `None` means every location (the rule does not run at all).
    pub location: Option<LocationFilter>,
}

/// Inspection budgets. Overflowing any of them is reported as a protocol anomaly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Most inputs (names and values) inspected per request. Default 1024.
    pub max_inputs: usize,
    /// Most bytes of one value inspected; the rest is skipped and reported. Default 64 KiB.
    pub max_value_bytes: usize,
    /// Most bytes inspected over all inputs of a request. Default 2 MiB.
    pub max_total_bytes: usize,
    /// Most body bytes parsed (the gateway reads a bounded buffer anyway). Default 1 MiB.
    pub max_body_bytes: usize,
    /// Deepest JSON nesting walked. Default 32.
    pub max_json_depth: usize,
    /// Most multipart parts read. Default 64.
    pub max_multipart_parts: usize,
    /// Most query or form arguments before the "too many arguments" anomaly. Default 255.
    pub max_args: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_inputs: 1024,
            max_value_bytes: 64 * 1024,
            max_total_bytes: 2 * 1024 * 1024,
            max_body_bytes: 1024 * 1024,
            max_json_depth: 32,
            max_multipart_parts: 64,
            max_args: 255,
        }
    }
}

/// Everything [`crate::Waf::new`] compiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Paranoia level 1..=4: rules above it do not run. Default 1.
    pub paranoia: u8,
    /// Anomaly score at which a request is blocked. Default 5 (one critical match).
    pub threshold: u32,
    /// Block or only detect. Default [`Mode::Block`].
    pub mode: Mode,
    /// Rules switched off, globally or per location. Default none.
    pub exclusions: Vec<Exclusion>,
    /// Inspection budgets.
    pub limits: Limits,
    /// Most distinct clean inputs the engine remembers (as a keyed hash, never the value), so
    /// a repeated header, path or JSON key is not inspected again; 0 switches remembering off.
    /// Default 10,000.
    pub cache_entries: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            paranoia: 1,
            threshold: 5,
            mode: Mode::Block,
            exclusions: Vec::new(),
            limits: Limits::default(),
            cache_entries: 10_000,
        }
    }
}

impl Settings {
    /// Default settings at the given paranoia level.
    pub fn with_paranoia(paranoia: u8) -> Self {
        Self {
            paranoia,
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LocationFilter;

    #[test]
    fn location_patterns() {
        let cases = [
            ("json:/title", "json:/title", true),
            ("json:/title", "json:/title/x", false),
            ("query:filter", "query:filter:/owner/$gt", true),
            ("query:filter", "query:filters", false),
            ("path", "path:segment", true),
            ("cookie:session", "cookie:session:b64:/uid", true),
            ("query", "query:q", false),
            ("json:/bio", "json:/bio:x", false),
            (
                "header:authorization",
                "header:authorization:jose:/kid",
                false,
            ),
            ("query:q", "query:q:x", false),
            ("json:/notes/*", "json:/notes/0/text", true),
            ("json:/notes/*", "json:/note", false),
            ("json:/messages/*/content", "json:/messages/0/content", true),
            (
                "json:/messages/*/content",
                "json:/messages/12/content",
                true,
            ),
            (
                "json:/messages/*/content",
                "json:/messages/0/content/1",
                false,
            ),
            (
                "json:/messages/*/content",
                "json:/messages/0/tool_calls/0",
                false,
            ),
            ("json:/messages/*/content", "json:/messages//content", false),
            (
                "json:/messages/*/content*",
                "json:/messages/0/content/1/text",
                true,
            ),
            ("json:/a/*/b/*/c", "json:/a/1/b/2/c", true),
            ("json:/a/*/b/*/c", "json:/a/1/x/2/c", false),
        ];
        for (pattern, label, want) in cases {
            assert_eq!(
                LocationFilter::parse(pattern).matches(label),
                want,
                "{pattern} {label}"
            );
        }
        assert_eq!(
            LocationFilter::parse("json:/notes/*"),
            LocationFilter::Prefix("json:/notes/".into())
        );
    }
}
