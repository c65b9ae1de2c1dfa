//! Detectors: one module per attack family, all compiled once in [`Detectors::new`].
//!
//! Called by the engine for every extracted input with its normalised [`Variants`]; each
//! detector reports rule ids to a [`Sink`], which already knows which rules are enabled for the
//! input's location (paranoia level and exclusions), so disabled checks are skipped up front.
//! Pattern checks use `regex::bytes` (linear time, no backtracking) and Aho-Corasick automata.

mod java;
mod lfi;
mod php;
mod protocol;
mod rce;
mod splitting;
pub(crate) mod sqli;
mod url;
mod xss;

use regex::bytes::{Regex, RegexSet, RegexSetBuilder};

use crate::extract::{Input, Kind};
use crate::normalise::Variants;
use crate::settings::WafError;

pub(crate) use protocol::request_checks;

/// Longest excerpt kept per match.
pub(crate) const EXCERPT_CHARS: usize = 24;

/// Collects matches for one input; asks the engine's filter before a detector does work.
pub(crate) struct Sink<'a> {
    enabled: &'a dyn Fn(u32) -> bool,
    pub(crate) hits: Vec<(u32, String)>,
}

impl<'a> Sink<'a> {
    pub(crate) fn new(enabled: &'a dyn Fn(u32) -> bool) -> Self {
        Self {
            enabled,
            hits: Vec::new(),
        }
    }

    /// Whether `rule` runs for this input.
    pub(crate) fn wants(&self, rule: u32) -> bool {
        (self.enabled)(rule) && !self.hits.iter().any(|(r, _)| *r == rule)
    }

    /// Records `rule`, with an excerpt of `text` starting at byte `at`.
    pub(crate) fn hit(&mut self, rule: u32, text: &str, at: usize) {
        if self.wants(rule) {
            self.hits.push((rule, excerpt(text, at)));
        }
    }
}

/// At most [`EXCERPT_CHARS`] printable characters of `text` from byte `at` (clamped to a char
/// boundary), so logs show what matched without carrying the whole payload.
pub(crate) fn excerpt(text: &str, at: usize) -> String {
    let mut start = at.min(text.len());
    while start > 0 && !text.is_char_boundary(start) {
        start -= 1;
    }
    text[start..]
        .chars()
        .take(EXCERPT_CHARS)
        .map(|c| if c.is_control() { '.' } else { c })
        .collect()
}

/// A group of rule patterns run together: a [`RegexSet`] answers "which", and the single regex
/// of each hit then finds "where" for the excerpt.
pub(crate) struct Patterns {
    set: RegexSet,
    each: Vec<(u32, Regex)>,
}

impl Patterns {
    pub(crate) fn new(rules: &[(u32, &str)]) -> Result<Self, WafError> {
        let sources: Vec<String> = rules.iter().map(|(_, p)| format!("(?-u){p}")).collect();
        let set = RegexSetBuilder::new(&sources)
            .size_limit(32 << 20)
            .build()
            .map_err(|e| WafError::Pattern(e.to_string()))?;
        let each = rules
            .iter()
            .zip(&sources)
            .map(|((id, _), src)| {
                Regex::new(src)
                    .map(|r| (*id, r))
                    .map_err(|e| WafError::Pattern(e.to_string()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { set, each })
    }

    /// Reports every pattern of the group that matches `text`.
    pub(crate) fn scan(&self, text: &str, sink: &mut Sink<'_>) {
        if text.is_empty() || !self.each.iter().any(|(id, _)| sink.wants(*id)) {
            return;
        }
        // Nearly every input matches nothing: `is_match` may stop early and needs no
        // overlapping search, so the set's full match list is computed only for the few that hit.
        if !self.set.is_match(text.as_bytes()) {
            return;
        }
        for i in self.set.matches(text.as_bytes()).iter() {
            if let Some((id, re)) = self.each.get(i)
                && sink.wants(*id)
            {
                let at = re.find(text.as_bytes()).map_or(0, |m| m.start());
                sink.hit(*id, text, at);
            }
        }
    }
}

/// All detectors, compiled once.
pub(crate) struct Detectors {
    sqli: sqli::Sqli,
    xss: xss::Xss,
    rce: rce::Rce,
    lfi: lfi::Lfi,
    url: url::UrlChecks,
    php: php::Php,
    java: java::Java,
    splitting: splitting::Splitting,
    /// The union of the LFI, XSS, PHP, Java and RCE pattern sets that run over a value's
    /// `lower` form, and of the SQL detector's query-language set: it matches exactly when
    /// one of them would.
    lower_gate: RegexSet,
}

impl Detectors {
    pub(crate) fn new() -> Result<Self, WafError> {
        let (sqli, xss, rce, lfi, php, java) = (
            sqli::Sqli::new()?,
            xss::Xss::new()?,
            rce::Rce::new()?,
            lfi::Lfi::new()?,
            php::Php::new()?,
            java::Java::new()?,
        );
        let union: Vec<&String> = [&xss.patterns, &rce.patterns, &lfi.patterns, &php.patterns]
            .into_iter()
            .chain([&java.patterns, &sqli.query_languages])
            .flat_map(|p| p.set.patterns())
            .collect();
        let lower_gate = RegexSetBuilder::new(union)
            .size_limit(64 << 20)
            .dfa_size_limit(16 << 20)
            .build()
            .map_err(|e| WafError::Pattern(e.to_string()))?;
        Ok(Self {
            sqli,
            xss,
            rce,
            lfi,
            url: url::UrlChecks::new()?,
            php,
            java,
            splitting: splitting::Splitting::new()?,
            lower_gate,
        })
    }

    /// Runs every detector that applies to `input`'s kind.
    pub(crate) fn scan(&self, input: &Input, v: &Variants, sink: &mut Sink<'_>) {
        // One pass of the combined automaton answers for the five families' pattern sets
        // over `lower`; a set is scanned on its own only when the union matched.
        let m = self.lower_gate.is_match(v.lower().as_bytes());
        if input.kind != Kind::Combined {
            protocol::input_checks(input, v, sink);
            self.splitting.scan(input, v, sink);
        }
        // Where the SQL detector runs: every kind but declarations, combined query strings
        // and structured headers.
        if m && !matches!(
            input.kind,
            Kind::Declaration | Kind::Combined | Kind::OtherHeader
        ) {
            self.sqli.query_languages.scan(v.lower(), sink);
        }
        match input.kind {
            Kind::Path | Kind::HeaderPath => {
                if input.kind == Kind::HeaderPath {
                    // `X-Original-URL` may carry a whole URL, which the application fetches.
                    self.url.scan(input, v, sink);
                }
                self.lfi.scan_path(v, sink);
                self.url.scan_path_info(v, sink);
                self.url.scan_metadata_host(v, sink);
                self.php.scan_path(v, sink);
                self.lfi.scan(v, sink, m);
                self.sqli.scan(v, sink);
                self.xss.scan(v, sink, m);
                self.php.scan(v, sink, m);
                self.java.scan(v, sink, m);
                self.rce.scan(v, sink, false, m);
            }
            Kind::Name | Kind::CookieName => {
                self.url.scan_metadata_host(v, sink);
                self.sqli.scan(v, sink);
                self.sqli.scan_name(&input.label, v, sink);
                self.xss.scan(v, sink, m);
                self.lfi.scan(v, sink, m);
                self.php.scan(v, sink, m);
                self.java.scan(v, sink, m);
                self.java.scan_name(v, sink);
                self.rce.scan(v, sink, false, m);
            }
            Kind::Declaration => {
                protocol::xml_entities(v, true, sink);
                self.url.scan(input, v, sink);
            }
            Kind::Value
            | Kind::CookieValue
            | Kind::Body
            | Kind::FileContent
            | Kind::HeaderValue => {
                // A body or a file is a document of its own; any other value is a parameter.
                let document = matches!(input.kind, Kind::Body | Kind::FileContent);
                protocol::xml_entities(v, document, sink);
                self.sqli.scan_value(&input.label, v, sink);
                self.xss.scan(v, sink, m);
                self.lfi.scan(v, sink, m);
                self.url.scan(input, v, sink);
                if input.kind == Kind::FileContent {
                    self.php.scan_upload(v, sink, m);
                } else {
                    self.php.scan(v, sink, m);
                }
                self.java.scan(v, sink, m);
                self.rce.scan(v, sink, true, m);
                if input.kind == Kind::HeaderValue {
                    self.rce.scan_shellshock(v, sink);
                }
                // Names split into concatenated strings (`global['proc'+'ess']`,
                // `('I'+'EX')`): the code detectors read the text again with them joined.
                if let Some(joined) = concatenation_joined(v.lower()) {
                    let j = crate::normalise::variants(joined.as_bytes());
                    let m = self.lower_gate.is_match(j.lower().as_bytes());
                    self.php.scan(&j, sink, m);
                    self.java.scan(&j, sink, m);
                    self.rce.scan(&j, sink, true, m);
                }
            }
            Kind::TextHeader => {
                if input.label == "header:referer" {
                    self.url.scan_referer(v, sink);
                }
                self.sqli.scan(v, sink);
                self.xss.scan(v, sink, m);
                self.lfi.scan(v, sink, m);
                self.php.scan(v, sink, m);
                self.java.scan(v, sink, m);
                self.rce.scan(v, sink, false, m);
            }
            Kind::Combined => self.xss.scan(v, sink, m),
            Kind::Filename => {
                self.lfi.scan(v, sink, m);
                self.php.scan_filename(v, sink);
                self.rce.scan_filename(v, sink);
                self.rce.scan(v, sink, false, m);
                self.xss.scan(v, sink, m);
                self.sqli.scan(v, sink);
            }
            Kind::OtherHeader => {
                self.url.scan_host_override(input, v, sink);
                self.lfi.scan(v, sink, m);
                self.java.scan(v, sink, m);
                self.java.scan_upload_header(&input.label, v, sink);
                self.php.scan_header(input, v, sink);
                self.rce.scan_header(v, sink, m);
            }
        }
    }
}

/// The part of `input`'s label that detectors read, and so the part that a remembered
/// detection ([`crate::cache`]) must be keyed by besides the value: the parameter name for
/// values (RFI checks know the parameters of published exploits, filter-language parameters
/// skip two SQL rules), the whole label for headers
/// (upload-name headers, scanner agents in `User-Agent` only, charsets in `Accept`); nothing
/// for other kinds, except names that may be NoSQL operators (with a `$`, or a `%` that may
/// decode to one): whether an operator counts depends on the key it applies to and on where
/// it stands ([`sqli::Sqli::scan_name`]), so those are keyed by the whole label. A detector
/// that starts reading more of the label must say so here.
pub(crate) fn context_of<'a>(kind: Kind, label: &'a str, value: &[u8]) -> &'a str {
    match kind {
        Kind::Value | Kind::CookieValue | Kind::Body | Kind::FileContent => param_name(label),
        // Which header it is decides the checks (`input_checks`, upload names, URL checks
        // by parameter name).
        Kind::OtherHeader | Kind::TextHeader | Kind::HeaderValue | Kind::HeaderPath => label,
        Kind::Name | Kind::CookieName if memchr::memchr2(b'$', b'%', value).is_some() => label,
        Kind::Path
        | Kind::Name
        | Kind::Filename
        | Kind::CookieName
        | Kind::Combined
        | Kind::Declaration => "",
    }
}

/// The first 256 runs of base64 characters (standard or URL-safe alphabet) in `text`, each
/// with its byte offset: where serialised objects hide in cookies and hidden fields.
pub(super) fn base64_tokens(text: &str) -> impl Iterator<Item = (usize, &[u8])> {
    let b64 = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'-' | b'_');
    let mut at = 0;
    text.as_bytes()
        .split(move |c| !b64(c))
        .take(256)
        .map(move |token| {
            let start = at;
            at += token.len() + 1;
            (start, token)
        })
}

/// `token` in the standard base64 alphabet (URL-safe `-` and `_` mapped), appended to `out`.
pub(super) fn standard_base64(token: &[u8], out: &mut Vec<u8>) {
    out.extend(token.iter().map(|&c| match c {
        b'-' => b'+',
        b'_' => b'/',
        c => c,
    }));
}

/// `text` with string literals joined where code concatenates them (`'proc'+'ess'` is
/// `'process'`, PHP's `'sys'.'tem'` is `'system'`), or `None` when it joins none. Code
/// injections split the names a detector knows this way; the text read again with them
/// joined ([`Detectors::scan`]) shows the names. One pass; the result is never longer.
pub(crate) fn concatenation_joined(text: &str) -> Option<String> {
    let b = text.as_bytes();
    if memchr::memchr2(b'+', b'.', b).is_none() || memchr::memchr2(b'\'', b'"', b).is_none() {
        return None;
    }
    let blank = |i: usize| {
        b[i..]
            .iter()
            .position(|c| !matches!(c, b' ' | b'\t'))
            .map_or(b.len(), |p| i + p)
    };
    let mut out = Vec::new();
    let (mut last, mut i) = (0, 0);
    while i < b.len() {
        let q = b[i];
        if matches!(q, b'\'' | b'"') {
            let op = blank(i + 1);
            if matches!(b.get(op), Some(b'+' | b'.')) {
                let open = blank(op + 1);
                if b.get(open) == Some(&q) {
                    out.extend_from_slice(&b[last..i]);
                    last = open + 1;
                    i = open + 1;
                    continue;
                }
            }
        }
        i += 1;
    }
    if last == 0 {
        return None;
    }
    out.extend_from_slice(&b[last..]);
    String::from_utf8(out).ok()
}

/// Whether a class name (`Gem::Requirement`,
/// `ActiveSupport::Deprecation::DeprecatedInstanceVariableProxy`) is one of Ruby's gadget
/// classes ([`java::RUBY_GADGETS`]), whatever its case.
pub(crate) fn ruby_gadget(class: &str) -> bool {
    let class = class.trim().to_ascii_lowercase();
    java::RUBY_GADGETS.iter().any(|g| {
        class
            .as_bytes()
            .strip_suffix(*g)
            .is_some_and(|head| head.is_empty() || head.ends_with(b"::"))
    })
}

/// The parameter name at the end of a label: `sku` for `json:/items/0/sku` or `query:sku`.
pub(crate) fn param_name(label: &str) -> &str {
    // Byte searches: `:` and `/` are ASCII, so the cuts fall on character boundaries. This
    // runs for every input, remembered or not.
    let tail = memchr::memrchr(b':', label.as_bytes()).map_or(label, |i| &label[i + 1..]);
    memchr::memrchr(b'/', tail.as_bytes()).map_or(tail, |i| &tail[i + 1..])
}

/// Sorted-slice membership for small static word lists.
/// An uploaded file's name as a server may store it: spaces removed, and trailing dots, colons
/// and an NTFS `::$data` stream dropped (`shell. php.`, `a.jsp::$data`).
pub(crate) fn stored_file_name(v: &Variants) -> String {
    let name: String = v.lower().chars().filter(|c| !c.is_whitespace()).collect();
    name.trim_end_matches(['.', ':', '$'])
        .trim_end_matches("::$data")
        .to_owned()
}

/// Whether `label` is a header that names an uploaded file (`X-Filename` and its spellings).
pub(crate) fn upload_header(label: &str) -> bool {
    matches!(
        label.strip_prefix("header:").unwrap_or(""),
        "x-filename" | "x_filename" | "x.filename" | "x-file-name" | "x-file" | "filename"
    )
}

pub(crate) fn in_list(list: &[&str], word: &str) -> bool {
    list.binary_search(&word).is_ok()
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers for detector unit tests: run one input through everything at a paranoia level.
    use super::*;
    use crate::normalise::variants;
    use crate::rules;

    fn detectors() -> &'static Detectors {
        static DET: std::sync::OnceLock<Detectors> = std::sync::OnceLock::new();
        DET.get_or_init(|| Detectors::new().expect("compile"))
    }

    pub(crate) fn hits(kind: Kind, label: &str, value: &str, paranoia: u8) -> Vec<u32> {
        let det = detectors();
        let input = Input {
            label: label.to_owned(),
            kind,
            value: value.as_bytes().to_vec(),
            bad_escape: false,
            from_query: label.starts_with("query"),
            key: None,
            secret: false,
        };
        let v = variants(&input.value);
        let enabled = |id: u32| rules::lookup(id).is_some_and(|r| r.paranoia <= paranoia);
        let mut sink = Sink::new(&enabled);
        det.scan(&input, &v, &mut sink);
        sink.hits.into_iter().map(|(r, _)| r).collect()
    }

    /// Asserts of each value in `values`, read as an input of `kind` labelled `label` at
    /// `paranoia`, that `rule` fires on it (`fire`) or does not.
    pub(crate) fn rule(
        rule: u32,
        fire: bool,
        kind: Kind,
        label: &str,
        paranoia: u8,
        values: &[&str],
    ) {
        for v in values {
            let h = hits(kind, label, v, paranoia);
            assert_eq!(
                h.contains(&rule),
                fire,
                "rule {rule} on {label}: {v}: {h:?}"
            );
        }
    }

    /// Families hit by a query value at paranoia 1.
    /// Asserts that every value in `values` (a query parameter, PL1) is flagged as `family`.
    pub(crate) fn flags(family: &str, values: &[&str]) {
        for v in values {
            assert!(families(v).contains(&family), "{v}: {:?}", families(v));
        }
    }

    /// Asserts that no value in `values` (a query parameter, PL1) is flagged as `family`.
    pub(crate) fn silent(family: &str, values: &[&str]) {
        for v in values {
            assert!(
                !families(v).contains(&family),
                "{v}: {:?}",
                hits(Kind::Value, "query:q", v, 1)
            );
        }
    }

    pub(crate) fn families(value: &str) -> Vec<&'static str> {
        let mut f: Vec<_> = hits(Kind::Value, "query:q", value, 1)
            .into_iter()
            .filter_map(|id| rules::lookup(id).map(|r| r.family.as_str()))
            .collect();
        f.sort_unstable();
        f.dedup();
        f
    }
}

#[cfg(test)]
mod label_tests {
    use super::param_name;

    #[test]
    fn param_name_is_the_last_segment_after_the_last_colon() {
        for (label, want) in [
            ("json:/items/0/sku", "sku"),
            ("query:page", "page"),
            ("form:a/b", "b"),
            ("path", "path"),
            ("json:/", ""),
            ("json:/caf\u{e9}/n\u{e4}me", "n\u{e4}me"),
            ("a:b:c/d", "d"),
            ("header:x-forwarded-for", "x-forwarded-for"),
            ("", ""),
        ] {
            let old = label
                .rsplit(':')
                .next()
                .unwrap_or("")
                .rsplit('/')
                .next()
                .unwrap_or("");
            assert_eq!(param_name(label), want, "{label}");
            assert_eq!(param_name(label), old, "{label}");
        }
    }
}
