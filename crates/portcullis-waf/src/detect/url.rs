//! Remote file inclusion and SSRF: finds URLs in argument values, parses scheme and host, and
//! classifies the host (IP literal in any notation, loopback, private, link-local, cloud
//! metadata, `localhost` names) and the shape (`?` at the end, stream-wrapper schemes).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use regex::bytes::Regex;

use super::Sink;
use crate::extract::Input;
use crate::normalise::Variants;
use crate::rules::*;
use crate::settings::WafError;

/// Names of parameters that include files in common applications.
const INCLUDE_PARAMS: &[&str] = &[
    "file",
    "include",
    "inc",
    "page",
    "path",
    "require",
    "template",
    "load",
    "doc",
    "document",
    "folder",
    "dir",
    "mod",
    "module",
    "conf",
    "config",
    "lang",
    "language",
    "locale",
    "theme",
    "skin",
    "layout",
    "view",
    "abspath",
    "basepath",
    "base_path",
    "root_path",
    "content",
];

/// Parameters of known remote-file-inclusion exploits (PHP applications that built an
/// `include` path from them).
const VULNERABLE_PARAMS: &[&str] = &[
    "_conf[path]",
    "_server[document_root]",
    "appserv_root",
    "config[root_dir]",
    "gallery_basedir",
    "mosconfig_absolute_path",
    "path[docroot]",
];

/// Whether a parameter named `param` (lower case) is one an application may build an include
/// path from: a name of [`INCLUDE_PARAMS`], a known exploited one, or a PHP array key such as
/// `_CONF[path]` whose last key is one.
fn include_param(label: &str, param: &str) -> bool {
    // XSLT's `xsl:include`/`xsl:import`, XInclude's `xi:include` and the
    // `<?xml-stylesheet?>` instruction fetch what `href` names.
    if label.starts_with("xml:")
        && (param.ends_with("include@href")
            || param.ends_with("import@href")
            || param == "?xml-stylesheet@href")
    {
        return true;
    }
    // PHP includes by a request variable (`$_GET`, `$_POST`, `$_COOKIE`, `$_REQUEST`); a
    // JSON or XML document's `page` field is data (a beacon's page URL), not such a variable.
    if label.starts_with("json:") || label.starts_with("xml:") {
        return false;
    }
    if INCLUDE_PARAMS.contains(&param) || VULNERABLE_PARAMS.contains(&param) {
        return true;
    }
    // A root or base folder an application was configured with and a request may override
    // (`dolibarr_main_document_root`, `phpbb_root_path`, `mosConfig_absolute_path`); an API's
    // `api_root` or an `output_dir` is a URL by design.
    if [
        "document_root",
        "root_dir",
        "basedir",
        "root_path",
        "absolute_path",
        "include_path",
    ]
    .iter()
    .any(|s| param.ends_with(s))
    {
        return true;
    }
    param
        .strip_suffix(']')
        .and_then(|p| p.rsplit_once('['))
        .is_some_and(|(_, key)| {
            INCLUDE_PARAMS.contains(&key) || matches!(key, "docroot" | "root_dir" | "basedir")
        })
}

/// Names of JSON and XML fields (and of XML elements) that name code an application loads:
/// a theme, a layout, a module or plugin, a template, sorted.
const CODE_FIELDS: &[&str] = &[
    "inc", "include", "layout", "load", "mod", "module", "plugin", "require", "skin", "template",
    "theme",
];

/// A JSON field or XML attribute named for code the application loads ([`CODE_FIELDS`]:
/// `{"layout": …}`, `<module src=…>`), or a query or form parameter named for where such code
/// is ([`code_location`]: `lang_file`, `template_url`), whose URL is a script on another host
/// (`x.php`) or a paste site's raw text ([`raw_paste`]). Query and form parameters named as
/// [`include_param`]'s are taken with any URL; in a document, where a `page` or `file` is
/// data, and under a longer name, only those two shapes are code to fetch. `param` is lower
/// case; `path` is what follows the host.
fn loads_code(label: &str, param: &str, host: &str, path: &str) -> bool {
    if !(label.starts_with("json:") || label.starts_with("xml:")) {
        return code_location(param) && (names_script(path) || raw_paste(host, path));
    }
    let code = |name: &str| super::in_list(CODE_FIELDS, name.rsplit(':').next().unwrap_or(name));
    // An XML attribute's name is `element@attribute`: the attribute says what it loads
    // (`<page layout=…>`), or the element does and the attribute is where from
    // (`<module src=…>`).
    let named = match param.split_once('@').filter(|_| label.starts_with("xml:")) {
        Some((element, attribute)) => {
            code(attribute)
                || (code(element)
                    && matches!(
                        attribute,
                        "src" | "href" | "url" | "uri" | "location" | "file"
                    ))
        }
        None => code(param),
    };
    named && (names_script(path) || raw_paste(host, path))
}

/// Whether a lower-case parameter name is a [`CODE_FIELDS`] word or a language's (`lang`,
/// `language`, `locale`) followed by `file`, `url`, `uri`, `path` or `src`, with or without
/// `_` or `-` between (`lang_file`, `templateurl`, `skin-path`).
fn code_location(param: &str) -> bool {
    let folded: String = param.chars().filter(|c| !matches!(c, '_' | '-')).collect();
    ["file", "url", "uri", "path", "src"].iter().any(|end| {
        folded.strip_suffix(end).is_some_and(|base| {
            super::in_list(CODE_FIELDS, base) || matches!(base, "lang" | "language" | "locale")
        })
    })
}

/// A paste site's address for a paste's raw text, which a server fetching it gets as plain
/// code (`https://pastebin.com/raw/Xk2b`, `https://gist.githubusercontent.com/u/…/raw/x`).
/// `host` and `path` are lower case.
fn raw_paste(host: &str, path: &str) -> bool {
    let host = host.strip_prefix("www.").unwrap_or(host);
    let raw = path.starts_with("/r/") || path.contains("/raw");
    match host {
        "gist.githubusercontent.com" | "termbin.com" | "ix.io" | "sprunge.us" | "0x0.st" => true,
        "pastebin.com" | "paste.ee" | "hastebin.com" | "hastebin.skyra.pw" | "rentry.co"
        | "rentry.org" | "dpaste.com" | "dpaste.org" | "ghostbin.com" | "paste.rs"
        | "pastie.io" | "controlc.com" => raw,
        _ => false,
    }
}

/// Host names that reach the local machine or a cloud metadata service.
const METADATA_HOSTS: &[&str] = &[
    "metadata.google.internal",
    "metadata",
    "instance-data",
    "metadata.azure.com",
    "metadata.tencentyun.com",
    "metadata.packet.net",
];

pub(crate) struct UrlChecks {
    url: Regex,
    bare_host: Regex,
}

impl UrlChecks {
    pub(crate) fn new() -> Result<Self, WafError> {
        let url = Regex::new(r"(?-u)\b([a-z][a-z0-9+.-]{1,20}):(?:[/\\]{2}|/)?([^\s/?#\\]{0,255}(?:\\[^\s/?#]{0,255})*)")
            .map_err(|e| WafError::Pattern(e.to_string()))?;
        let bare_host = Regex::new(r"(?-u)^\s*(?:[a-z0-9.-]*@)?(localhost(?:\.localdomain)?|127(?:\.[0-9]{1,3}){3}|169\.254\.169\.254|\[::1?\]|0\.0\.0\.0|metadata\.google\.internal)(?::[0-9]{1,5})?(?:[/?#]|$)")
            .map_err(|e| WafError::Pattern(e.to_string()))?;
        Ok(Self { url, bare_host })
    }

    /// `X-Forwarded-Host` and its kin name the host an application believes it serves: it
    /// builds absolute links (password-reset mails), redirects and server-side calls from it.
    /// A client that sets one to a loopback or metadata address aims those at the inside.
    pub(crate) fn scan_host_override(&self, input: &Input, v: &Variants, sink: &mut Sink<'_>) {
        let Some(name) = input.label.strip_prefix("header:") else {
            return;
        };
        if !super::protocol::host_override_header(name) || !sink.wants(SSRF_HOST_OVERRIDE) {
            return;
        }
        let text = v.lower();
        let mut at = 0;
        for entry in text.split(',') {
            if self.bare_host.is_match(entry.trim().as_bytes()) {
                sink.hit(SSRF_HOST_OVERRIDE, text, at);
                return;
            }
            at += entry.len() + 1;
        }
    }

    /// A URL in the path info after a script (`/index.php/page/http://evil.example/x.txt?`):
    /// frameworks hand the path info to the script as a parameter, and include what it names.
    pub(crate) fn scan_path_info(&self, v: &Variants, sink: &mut Sink<'_>) {
        let text = v.lower();
        if !sink.wants(RFI_INCLUDE_PARAM) || !text.contains("://") {
            return;
        }
        // A URL in a segment that an encoded `?` or `#` ends
        // (`/theme/http%3A%2F%2Fevil.example%2Fx.txt%3F/header.php`): a rewrite hands the
        // segment to a script that includes it with a suffix of its own, which the `?` turns
        // into the remote server's query (`?a=` into a parameter's value) and the `#` into a
        // fragment. An image proxy's URL keeps its query's parameters after the `?`.
        for scheme in ["http://", "https://", "ftp://"] {
            let Some(at) = text.find(scheme) else {
                continue;
            };
            let url = &text[at..];
            let cut = match url.find(['?', '#']) {
                Some(q) if url.as_bytes()[q] == b'#' => true,
                Some(q) => {
                    let query = &url[q + 1..];
                    let name = query
                        .bytes()
                        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                        .count();
                    let rest = query[name..].strip_prefix('=').unwrap_or(&query[name..]);
                    (name == 0 || query.as_bytes().get(name) == Some(&b'='))
                        && (rest.is_empty() || rest.starts_with('/'))
                }
                None => false,
            };
            if cut {
                sink.hit(RFI_INCLUDE_PARAM, text, at);
                return;
            }
        }
        let after_script = [
            ".php/", ".php5/", ".phtml/", ".asp/", ".aspx/", ".jsp/", ".cgi/", ".pl/",
        ]
        .iter()
        .filter_map(|ext| text.find(ext).map(|i| i + ext.len()))
        .min();
        let Some(start) = after_script else {
            return;
        };
        let info = &text[start..];
        for scheme in [
            "http://",
            "https://",
            "ftp://",
            "php://",
            "file://",
            "phar://",
            "zip://",
            "expect://",
        ] {
            if let Some(at) = info.find(scheme) {
                sink.hit(RFI_INCLUDE_PARAM, text, start + at);
                return;
            }
        }
    }

    /// A cloud metadata address as a host in a path or a name, where a proxy route or an
    /// upstream list takes it (`/proxy/169.254.169.254:80/latest/meta-data/`, Kubernetes'
    /// `/services/http:169.254.169.254:80/proxy/…`, `{"nodes": {"169.254.169.254:80": 1}}`):
    /// after a scheme, before a port, or before the metadata API's own path. An address
    /// looked up by itself (`/ip/169.254.169.254`) is none of these.
    pub(crate) fn scan_metadata_host(&self, v: &Variants, sink: &mut Sink<'_>) {
        if !sink.wants(SSRF_METADATA) {
            return;
        }
        let text = v.lower();
        let mut at = 0;
        let mut segments = text.split(['/', '@', '=', ' ']).peekable();
        while let Some(segment) = segments.next() {
            let start = at;
            at += segment.len() + 1;
            let (scheme, token) = match segment
                .strip_prefix("http:")
                .or_else(|| segment.strip_prefix("https:"))
            {
                Some(rest) => (true, rest),
                None => (false, segment),
            };
            // `host:port`, the port all digits.
            let port = token.rsplit_once(':').is_some_and(|(h, p)| {
                !h.is_empty() && !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())
            });
            let next = segments.peek().copied().unwrap_or("");
            let api = matches!(
                next,
                "latest" | "computemetadata" | "metadata" | "openstack"
            );
            if token.is_empty() || !(scheme || port || api) {
                continue;
            }
            if matches!(classify(host_of(token)), HostClass::Metadata) {
                sink.hit(SSRF_METADATA, text, start);
                return;
            }
        }
    }

    /// A `Referer` naming a cloud metadata address (`http://169.254.169.254/latest/user-data`):
    /// no page a browser came from lives there, and backlink and analytics plugins fetch the
    /// Referer to check it. Loopback and private hosts stay: development front ends send them.
    pub(crate) fn scan_referer(&self, v: &Variants, sink: &mut Sink<'_>) {
        if !sink.wants(SSRF_METADATA) {
            return;
        }
        let text = v.lower();
        if let Some(caps) = self.url.captures(text.as_bytes())
            && let (Some(whole), Some(host)) = (caps.get(0), caps.get(2))
            && let Some(rule) = metadata_target(host.as_bytes(), text.get(whole.end()..))
        {
            sink.hit(rule, text, whole.start());
        }
    }

    pub(crate) fn scan(&self, input: &Input, v: &Variants, sink: &mut Sink<'_>) {
        let text = v.lower();
        if sink.wants(SSRF_OPEN_REDIRECT) {
            open_redirect(&input.label, text, &v.raw, sink);
        }
        if let Some(c) = self.bare_host.captures(text.as_bytes())
            && let (Some(m), Some(host)) = (c.get(0), c.get(1))
            && !cidr_prefix(text.trim())
        {
            let rule = match host.as_bytes() {
                b"169.254.169.254" => SSRF_METADATA,
                b"metadata.google.internal" => {
                    metadata_rule("metadata.google.internal", &text[host.end()..])
                }
                _ => SSRF_BARE_INTERNAL,
            };
            sink.hit(rule, text, m.start());
        }
        // A bare scheme and `?` (`http?`, `file??`): a probe for an include that appends a
        // suffix the `?` turns into a query string.
        let trimmed = text.trim();
        if sink.wants(SSRF_SCHEMELESS_INTERNAL) && schemeless_internal(trimmed) {
            sink.hit(
                SSRF_SCHEMELESS_INTERNAL,
                text,
                text.len() - text.trim_start().len(),
            );
        }
        if let Some(scheme) = trimmed.strip_suffix('?') {
            let scheme = scheme.trim_end_matches('?');
            if matches!(scheme, "file" | "ftp" | "ftps" | "http" | "https") {
                sink.hit(RFI_TRAILING_QUESTION, text, 0);
            }
        }
        // `//host/path` (protocol-relative) and `\\host\share` (UNC): a file from another host.
        if let Some(rest) = trimmed.strip_prefix("//") {
            remote_path(input, text, rest, false, sink);
        } else if let Some(rest) = trimmed.strip_prefix("\\\\") {
            remote_path(input, text, rest, true, sink);
        }
        if !text.contains(':') {
            return;
        }
        let param = super::param_name(&input.label).to_ascii_lowercase();
        // A scheme without slashes followed by a URL (`icon:http://…`, a map marker's;
        // ffmpeg's `concat:http://…`) is a label: the URL after its colon is read on its own.
        let mut pos = 0;
        for _ in 0..16 {
            let Some(caps) = self.url.captures_at(text.as_bytes(), pos) else {
                break;
            };
            let (Some(whole), Some(scheme), Some(host)) = (caps.get(0), caps.get(1), caps.get(2))
            else {
                break;
            };
            let at = whole.start();
            let has_slashes = text
                .as_bytes()
                .get(scheme.end() + 1)
                .is_some_and(|&c| c == b'/' || c == b'\\');
            let after = &text.as_bytes()[scheme.end() + 1..];
            let url_follows = after
                .iter()
                .position(|c| !c.is_ascii_alphabetic())
                .is_some_and(|n| n > 1 && after[n..].starts_with(b"://"));
            pos = if has_slashes || !url_follows {
                whole.end()
            } else {
                scheme.end() + 1
            };
            let scheme = String::from_utf8_lossy(scheme.as_bytes());
            match scheme.as_ref() {
                "http" | "https" | "ftp" | "ftps" | "sftp" | "ws" | "wss" | "gopher" | "dict"
                | "ldap" | "ldaps" | "tftp" | "jar" | "netdoc" | "file" => {}
                "php" | "phar" | "zip" | "zlib" | "compress.zlib" | "compress.bzip2" | "expect"
                | "glob" | "ogg" | "rar" | "ssh2.shell" | "ssh2.exec" => {
                    if has_slashes {
                        sink.hit(RFI_WRAPPER_SCHEME, text, at);
                    }
                    continue;
                }
                "data" if has_slashes => {
                    sink.hit(RFI_WRAPPER_SCHEME, text, at);
                    continue;
                }
                // Any other scheme (`tcp://`, `redis://`, a Docker endpoint's or a
                // database's URL) reaches a service of the host's network, which settings
                // name all day: only a metadata service counts.
                _ => {
                    if has_slashes
                        && let Some(rule) =
                            metadata_target(host.as_bytes(), text.get(whole.end()..))
                    {
                        sink.hit(rule, text, at);
                    }
                    continue;
                }
            }
            if !has_slashes {
                // `jar:http://host/x.jar!/a.class`: Java fetches the archive inside.
                if matches!(scheme.as_ref(), "jar" | "netdoc")
                    && text[whole.start() + scheme.len() + 1..]
                        .split_once(':')
                        .is_some_and(|(inner, _)| {
                            !inner.is_empty() && inner.bytes().all(|c| c.is_ascii_lowercase())
                        })
                {
                    sink.hit(SSRF_INTERNAL, text, at);
                }
                continue;
            }
            if matches!(
                scheme.as_ref(),
                "gopher" | "dict" | "ldap" | "tftp" | "jar" | "netdoc"
            ) {
                // Protocols used to smuggle requests to internal services.
                sink.hit(SSRF_INTERNAL, text, at);
            }
            if scheme == "file" {
                sink.hit(RFI_WRAPPER_SCHEME, text, at);
                continue;
            }
            let host_raw = String::from_utf8_lossy(host.as_bytes()).replace('\\', "");
            let host = host_of(&host_raw);
            match classify(host) {
                HostClass::Metadata => {
                    let rest = text.get(whole.end()..).unwrap_or("");
                    sink.hit(metadata_rule(host, rest), text, at);
                }
                HostClass::Internal { obfuscated } => {
                    let rest = text.get(whole.end()..).unwrap_or("");
                    if obfuscated || !(configured_fetch(text, at) || service_base(host, rest)) {
                        sink.hit(SSRF_INTERNAL, text, at);
                    }
                    if obfuscated {
                        sink.hit(SSRF_OBFUSCATED_IP, text, at);
                    }
                }
                HostClass::PublicIp { obfuscated } => {
                    sink.hit(RFI_IP_URL, text, at);
                    if obfuscated {
                        sink.hit(SSRF_OBFUSCATED_IP, text, at);
                    }
                }
                HostClass::Name => {
                    if host_raw.contains('@')
                        && host_raw.split('@').next().is_some_and(|u| u.contains('.'))
                    {
                        // `http://trusted.com@evil.com`: userinfo made to look like a host.
                        sink.hit(SSRF_OBFUSCATED_IP, text, at);
                    }
                    // `http://trusted.com#@169.254.169.254/`: parsers that disagree on where
                    // the authority ends read the host after the `@`.
                    if let Some(inner) = confused_host(text.get(whole.end()..).unwrap_or("")) {
                        match classify(inner) {
                            HostClass::Metadata | HostClass::Internal { .. } => {
                                sink.hit(SSRF_INTERNAL, text, at);
                                sink.hit(SSRF_OBFUSCATED_IP, text, at);
                            }
                            _ => {}
                        }
                    }
                    let path = text.get(whole.end()..).unwrap_or("");
                    if at == 0
                        && (include_param(&input.label, &param)
                            || loads_code(&input.label, &param, host, path))
                    {
                        sink.hit(RFI_INCLUDE_PARAM, text, at);
                    }
                    if at == 0 && !scheme.starts_with("ws") {
                        sink.hit(RFI_OFFSITE_URL, text, at);
                    }
                }
            }
            // The pattern runs on bytes, so its end may fall inside a character: then there is
            // no tail to look at.
            let Some(rest) = text.get(whole.end()..) else {
                continue;
            };
            if at == 0 && cuts_suffix(rest) {
                sink.hit(RFI_TRAILING_QUESTION, text, at);
            }
        }
    }
}

/// Parameters that name where to send the client after an action, lower case with `_` and
/// `-` removed: any name holding `redir`, these, and names ending in [`REDIRECT_ENDS`].
const REDIRECT_PARAMS: &[&str] = &[
    "back",
    "deeplink",
    "dest",
    "destination",
    "forward",
    "goto",
    "next",
    // CAS sends the ticket to its `service`.
    "service",
];

/// Ends of redirect parameters' names, once a last `url`, `uri`, `path`, `to`, `link` or
/// `page` is taken off (`post_login_return_to`, `af_fallback_url`, `success_uri`).
const REDIRECT_ENDS: &[&str] = &[
    "back", "callback", "cancel", "continue", "error", "failure", "fallback", "forward", "next",
    "return", "success",
];

/// Ends of [`REDIRECT_ENDS`] that name a redirect with no link word after them.
const BARE_REDIRECT_ENDS: &[&str] = &["return", "fallback", "continue"];

/// What [`REDIRECT_ENDS`] are read after.
const LINK_WORDS: &[&str] = &["link", "page", "path", "to", "uri", "url"];

/// Names that often hold where to go, among other things.
const LINK_PARAMS: &[&str] = &[
    "afr",
    "href",
    "link",
    "location",
    "r",
    "target",
    "targeturl",
    "to",
    "u",
    "uri",
    "url",
];

/// An open redirect in disguise: a redirect parameter ([`REDIRECT_PARAMS`]; the URL checks
/// also in [`LINK_PARAMS`]) holding what a browser reads as another site but a check of the
/// site's own paths or host may pass: `//evil.example` or `/\evil.example` (a path to the
/// application, another host to the browser), a web scheme without its two slashes
/// (`https:/\evil.example`, `https:evil.example`), and an authority with a user part or a
/// backslash (`https://app.example@evil.example`, `com.app://oauth@evil.example/cb`; a user
/// part in a link parameter only with a web scheme), or a host made to look like another
/// (see [`lookalike_host`]; `raw` is the value before folding, which still has a full stop
/// that is not ASCII's). Tabs and line breaks are dropped first, as browsers drop them from
/// URLs. A URL to another host written plainly is a client's (an OAuth client's
/// `redirect_uri` names its own site); one that holds the site's own name, or whose letters
/// are percent-encoded, is [`disguised_redirect`]'s, which reads the request as sent.
fn open_redirect(label: &str, text: &str, raw: &str, sink: &mut Sink<'_>) {
    let t = text.trim_start_matches(|c: char| c.is_ascii_whitespace() || c.is_ascii_control());
    let first = t.as_bytes().first();
    if !matches!(first, Some(b'/' | b'\\')) && !t.contains(':') {
        return;
    }
    let Some(named) = redirect_name(super::param_name(label)) else {
        return;
    };
    let t: String = t
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let b = t.as_bytes();
    let slashes = b.iter().take_while(|c| matches!(c, b'/' | b'\\')).count();
    // `//evil.example`, `//@evil.example`, `//[2001:db8::1]/`: anything but a path's end; in
    // a link parameter too when a backslash is among the slashes (`/\evil.example`), which
    // no path of the site's own has.
    let mixed = || b[..slashes].contains(&b'\\') && b[..slashes].contains(&b'/');
    // `\\evil.example/x`: a host with a dot and then a path, not a share's `\\server\share`.
    let unc_like = || {
        let host = &b[slashes..];
        let end = host
            .iter()
            .position(|c| matches!(c, b'/' | b'\\'))
            .unwrap_or(host.len());
        b[..slashes].iter().all(|c| *c == b'\\')
            && host[..end].contains(&b'.')
            && host.get(end) != Some(&b'\\')
    };
    if slashes >= 2
        && (named || mixed() || unc_like())
        && b.get(slashes)
            .is_some_and(|c| !c.is_ascii_whitespace() && !matches!(c, b'/' | b'\\'))
    {
        sink.hit(SSRF_OPEN_REDIRECT, text, 0);
        return;
    }
    let Some((scheme, rest)) = t.split_once(':') else {
        return;
    };
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'.' | b'-'))
    {
        return;
    }
    let lead = rest
        .bytes()
        .take_while(|c| matches!(c, b'/' | b'\\'))
        .count();
    let web = matches!(scheme, "http" | "https");
    let disguised = if &rest.as_bytes()[..lead] == b"//" {
        let authority = &rest[2..rest[2..]
            .find(['/', '?', '#'])
            .map_or(rest.len(), |e| e + 2)];
        // A user part is a Git or SSH address's (`ssh://git@host`) in a link parameter. An
        // `@` right after a `#` or `?` before any path (`https://evil.example#@app.example/`)
        // is the host to a parser that ends the authority only at `/`.
        let token = &rest[2..rest[2..].find('/').map_or(rest.len(), |e| e + 2)];
        authority.contains('\\')
            || lookalike_host(authority, raw, named)
            || ((web || named) && authority.contains('@'))
            || (named
                && (token.split_once('#').is_some_and(|(_, f)| f.contains('@'))
                    || token.contains("?@")))
    } else {
        // `https:/\host`, `https:\\host`, `https:host`, `https:@host`: a web scheme without
        // its slashes, which browsers complete.
        web && rest[lead..]
            .bytes()
            .next()
            .is_some_and(|c| !c.is_ascii_whitespace())
    };
    if disguised {
        sink.hit(SSRF_OPEN_REDIRECT, text, 0);
    }
}

/// A redirect or link parameter among `pairs` (a raw query string or form body, still
/// encoded; its labels start with `prefix`) whose URL is disguised in a way only the whole
/// request shows: its letters and digits percent-encoded, four or more of them
/// (`next=%68%74%74%70%73%3a%2f%2f%65%76%69%6c%2e…`: no browser or HTTP library encodes them,
/// and a check that compares the text as sent with the site's own URLs sees none), or a host
/// that holds the site's own name ([`lookalike_of_host`], with the request's `Host`). Read
/// from the request itself, so no remembered input or container hides it. Its label and
/// decoded value.
pub(crate) fn disguised_redirect(
    pairs: &[u8],
    prefix: &str,
    host: Option<&[u8]>,
) -> Option<(String, Vec<u8>)> {
    // Neither shape without a `%` or a `:` (most query strings: one pass, and done).
    memchr::memchr2(b'%', b':', pairs)?;
    let hex = |c: u8| (c as char).to_digit(16);
    for pair in pairs.split(|&b| b == b'&').take(256) {
        let mut parts = pair.splitn(2, |&b| b == b'=');
        let (Some(name), Some(value)) = (parts.next(), parts.next()) else {
            continue;
        };
        if memchr::memchr2(b'%', b':', value).is_none() {
            continue;
        }
        let name = crate::normalise::percent_decode_cow(name, true).0;
        let name = String::from_utf8_lossy(&name);
        if redirect_name(&name).is_none() {
            continue;
        }
        let decoded = crate::normalise::percent_decode(value, true).0;
        let encoded = memchr::memchr_iter(b'%', value)
            .filter(|&i| {
                matches!(
                    (
                        value.get(i + 1).copied().and_then(hex),
                        value.get(i + 2).copied().and_then(hex)
                    ),
                    (Some(h), Some(l)) if char::from((h * 16 + l) as u8).is_ascii_alphanumeric()
                )
            })
            .count();
        let d = decoded.trim_ascii_start();
        let over_encoded = encoded >= 4
            && (d.starts_with(b"//") || d.starts_with(b"\\\\") || url_scheme(d).is_some());
        if over_encoded || host.is_some_and(|h| lookalike_of_host(h, d)) {
            return Some((format!("{prefix}:{name}"), decoded));
        }
    }
    None
}

/// Where `://` ends a URL's scheme at the start of `value` (`https://…`), if it does.
fn url_scheme(value: &[u8]) -> Option<usize> {
    memchr::memmem::find(value, b"://").filter(|&at| {
        at > 0
            && value[..at]
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'.' | b'-'))
    })
}

/// Whether a parameter's name is a redirect parameter's (`Some(true)`: [`REDIRECT_PARAMS`],
/// any name holding `redir`, names ending in [`REDIRECT_ENDS`]) or a link parameter's
/// (`Some(false)`: [`LINK_PARAMS`]).
fn redirect_name(param: &str) -> Option<bool> {
    // The name folded into a buffer on the stack (its first 48 bytes).
    let mut buf = [0u8; 48];
    let mut len = 0;
    for c in param.bytes() {
        if len == buf.len() {
            break;
        }
        if !matches!(c, b'_' | b'-') {
            buf[len] = c.to_ascii_lowercase();
            len += 1;
        }
    }
    let name = &buf[..len];
    // Without its last link words (`return_to_url`: `returnto`, then `return`).
    let mut base = name;
    for _ in 0..2 {
        if let Some(w) = LINK_WORDS
            .iter()
            .find(|w| base.len() > w.len() && base.ends_with(w.as_bytes()))
        {
            base = &base[..base.len() - w.len()];
        }
    }
    // A bare end names a redirect only for these (`error` and `next` alone are other things).
    let bare = BARE_REDIRECT_ENDS
        .iter()
        .any(|e| name.ends_with(e.as_bytes()));
    let named = memchr::memmem::find(name, b"redir").is_some()
        || REDIRECT_PARAMS.iter().any(|p| p.as_bytes() == name)
        || ((base.len() < name.len() || bare)
            && REDIRECT_ENDS.iter().any(|e| base.ends_with(e.as_bytes())));
    (named || LINK_PARAMS.iter().any(|p| p.as_bytes() == name)).then_some(named)
}

/// A URL (at the start of `value`) whose host holds the site's own name (the `Host`
/// field's last two labels, three under a short second-level label such as `co.uk`)
/// followed by more labels: `https://preprint-hub.example.attacker-site.com/cb` sent to
/// `login.preprint-hub.example`, which a check that the URL starts with the site's name
/// passes. The site's own hosts (the name itself, or ending in it) are not look-alikes.
fn lookalike_of_host(host: &[u8], value: &[u8]) -> bool {
    let Some(at) = url_scheme(value) else {
        return false;
    };
    let host = String::from_utf8_lossy(host).to_ascii_lowercase();
    let host = host.trim().trim_end_matches('.');
    let host = host.rsplit_once(':').map_or(host, |(h, port)| {
        if port.bytes().all(|c| c.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    let labels: Vec<&str> = host.split('.').collect();
    let keep = match labels.as_slice() {
        [.., second, _] if second.len() <= 3 => 3,
        _ => 2,
    };
    if labels.len() < keep
        || labels.iter().any(|l| l.is_empty())
        || !labels[labels.len() - keep]
            .bytes()
            .any(|c| c.is_ascii_alphabetic())
    {
        return false;
    }
    let own = labels[labels.len() - keep..].join(".");
    let target = String::from_utf8_lossy(&value[at + 3..]).to_ascii_lowercase();
    let authority = target.split(['/', '\\', '?', '#']).next().unwrap_or("");
    let target_host = authority.rsplit('@').next().unwrap_or(authority);
    let target_host = target_host.split(':').next().unwrap_or(target_host);
    if target_host == own || target_host.ends_with(&format!(".{own}")) {
        return false;
    }
    target_host.match_indices(own.as_str()).any(|(i, _)| {
        (i == 0 || target_host.as_bytes()[i - 1] == b'.')
            && target_host.as_bytes().get(i + own.len()) == Some(&b'.')
    })
}

/// Whether the host of `authority` is made to look like another: a dot that is not ASCII's
/// in the authority of `raw`, the value before folding turned it into `.`
/// (`ev-roaming.example。evil-auth.net`, which a check of the text before the dot passes and
/// browsers read as `ev-roaming.example.evil-auth.net`), or, in a redirect parameter
/// (`named`), a common top-level domain followed by two more labels
/// (`login.pixelarena.io.evil.example`: the site's own name inside an attacker's domain).
fn lookalike_host(authority: &str, raw: &str, named: bool) -> bool {
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = host.split(':').next().unwrap_or(host);
    let raw_authority = raw.split_once("//").map_or("", |(_, r)| {
        r.split(['/', '\\', '?', '#']).next().unwrap_or(r)
    });
    if raw_authority.contains(['\u{3002}', '\u{ff0e}', '\u{ff61}']) {
        return true;
    }
    let labels = host.split('.').count();
    named
        && labels >= 4
        && host
            .split('.')
            .take(labels - 2)
            .skip(1)
            .any(|l| matches!(l, "com" | "net" | "org" | "io" | "gov" | "edu"))
}

/// A URL at `at` that a command on its line fetches (a health check's
/// `curl -fsS http://127.0.0.1:8080/live`, `wget -qO- http://localhost/`) or that an nginx
/// block proxies to (`proxy_pass http://127.0.0.1:9000/;`): what the host runs on itself,
/// not an address handed to the application to fetch. The command has to stand where a
/// command starts (a line's start, after `;`, `&`, `|`, a quote, a bracket or a Dockerfile's
/// `CMD` or `RUN`), with options only between it and the URL. A URL that is the whole value
/// always counts.
fn configured_fetch(text: &str, at: usize) -> bool {
    let before = &text.as_bytes()[..at];
    let line = match memchr::memrchr(b'\n', before) {
        Some(i) => &before[i + 1..],
        None => before,
    };
    if line.trim_ascii().is_empty() {
        return false;
    }
    // The words before the URL, last first: options, then the command.
    let mut words = line
        .trim_ascii_end()
        .rsplit(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty());
    let command = loop {
        match words.next() {
            Some(w) if w.starts_with(b"-") => continue,
            other => break other,
        }
    };
    let Some(command) = command else {
        return false;
    };
    if command == b"proxy_pass" {
        return true;
    }
    let glue = command
        .iter()
        .take_while(|b| matches!(b, b';' | b'&' | b'|' | b'"' | b'\'' | b'[' | b'(' | b','))
        .count();
    let name = &command[glue..];
    if name != b"curl" && name != b"wget" {
        return false;
    }
    // Glued to a separator, or the line's first word, or after a separator word, or a
    // Dockerfile's `RUN` or `CMD` that opens the line (`HEALTHCHECK [options] CMD`).
    glue > 0
        || match words.next() {
            None => true,
            Some(w) if w == b"run" || w == b"cmd" => {
                let mut rest = words.filter(|w| !w.starts_with(b"--"));
                match rest.next() {
                    None => true,
                    Some(w) => w == b"healthcheck" && rest.next().is_none(),
                }
            }
            Some(w) => w.ends_with(b";") || w.ends_with(b"&&") || w.ends_with(b"|"),
        }
}

/// A Kubernetes service's base URL (`http://prometheus-operated.monitoring.svc:9090`,
/// `https://kubernetes.default.svc`) with no path: the endpoint a dashboard's data source, a
/// gateway's service or a deployment tool's cluster is set to. What an SSRF reads through
/// such a service has a path (`/api/v1/namespaces/kube-system/secrets`).
fn service_base(host: &str, rest: &str) -> bool {
    (host.ends_with(".svc") || host.ends_with(".svc.cluster.local"))
        && rest.trim_end().trim_end_matches('/').is_empty()
}

/// The host of a Windows WebDAV name's server part (`host@SSL`, `host@8080`,
/// `host@SSL@443`), when it is one.
fn webdav_host(server: &str) -> Option<&str> {
    let (host, transport) = server.split_once('@')?;
    let transport = transport.to_ascii_lowercase();
    let transport = transport.strip_prefix("ssl").unwrap_or(&transport);
    let port = transport.strip_prefix('@').unwrap_or(transport);
    port.bytes().all(|b| b.is_ascii_digit()).then_some(host)
}

/// The metadata rule for a URL's host as matched (backslashes removed, userinfo and port
/// cut) and what follows it, when the host is a cloud metadata service.
fn metadata_target(host: &[u8], rest: Option<&str>) -> Option<u32> {
    let host_raw = String::from_utf8_lossy(host).replace('\\', "");
    let host = host_of(&host_raw);
    matches!(classify(host), HostClass::Metadata).then(|| metadata_rule(host, rest.unwrap_or("")))
}

/// The rule for a metadata `host` followed by `rest` (its port, path and the rest of the
/// value). A service that answers only requests carrying its own header (Google's
/// `Metadata-Flavor: Google`, which a URL alone cannot add) named without a path is a probe,
/// not a read: rule 1405, from paranoia 2. Anything else is 1401.
fn metadata_rule(host: &str, rest: &str) -> u32 {
    let header_gated = matches!(host, "metadata.google.internal" | "metadata");
    let rest = rest
        .strip_prefix(':')
        .map_or(rest, |r| r.trim_start_matches(|c: char| c.is_ascii_digit()));
    let path = rest
        .split(|c: char| c.is_whitespace() || c == '?' || c == '#')
        .next()
        .unwrap_or("");
    if header_gated && (path.is_empty() || path == "/") {
        SSRF_METADATA_ROOT
    } else {
        SSRF_METADATA
    }
}

/// Loopback names of `/etc/hosts` files that [`classify`] does not know by their suffix.
const LOOPBACK_NAMES: &[&str] = &[
    "ip6-localhost",
    "ip6-loopback",
    "ipv6-localhost",
    "ipv6-loopback",
    "localhost4",
    "localhost4.localdomain4",
    "localhost6",
    "localhost6.localdomain6",
];

/// A URL without its scheme (`localhost/admin`, `host.docker.internal:8080/`,
/// `kubernetes.default.svc.cluster.local/`) to a loopback, private or metadata host: an
/// application that completes it with `http://` fetches from its own network. The host is a
/// name with a letter, a dotted IPv4 address of four parts or a bracketed IPv6 address (so
/// that `0/5` and `1/2` are numbers), and a `/` follows it; a CIDR block is no URL.
fn schemeless_internal(t: &str) -> bool {
    // Most values with a `/` are paths, dates or URLs with their scheme: a look at the
    // characters before it, with nothing copied, turns them away.
    let Some((authority, _)) = t.split_once('/') else {
        return false;
    };
    if authority.is_empty()
        || authority.len() > 255
        || !authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:@[]_".contains(&b))
    {
        return false;
    }
    let ipv6 = authority
        .rsplit('@')
        .next()
        .is_some_and(|a| a.starts_with('['));
    let host = host_of(authority);
    let ipv4 =
        host.split('.').count() == 4 && host.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let name = host.bytes().any(|b| b.is_ascii_lowercase())
        && host
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if !(ipv4 || ipv6 || name) || ((ipv4 || ipv6) && cidr_prefix(t)) {
        return false;
    }
    LOOPBACK_NAMES.contains(&host)
        || matches!(
            classify(host),
            HostClass::Metadata | HostClass::Internal { .. }
        )
}

/// Whether `t` opens with a network in CIDR notation that ends there or goes on with a list
/// or options (`10.6.0.7/32, fd42::7/128`, an NFS export's `10.42.0.0/16(rw,sync)`), not with
/// a path.
fn cidr_prefix(t: &str) -> bool {
    let Some((ip, rest)) = t.split_once('/') else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (Ok(ip), Ok(bits)) = (ip.parse::<std::net::IpAddr>(), rest[..digits].parse::<u8>()) else {
        return false;
    };
    rest.as_bytes()
        .get(digits)
        .is_none_or(|c| matches!(c, b',' | b'('))
        && bits <= if ip.is_ipv4() { 32 } else { 128 }
}

/// The URL at the start of `rest` (up to whitespace) is cut so that a suffix the application
/// appends (`.php`) falls off: it ends in `?` and has no query, or its query is a script's
/// name (`?.php`, `?x.php`, for a check that the URL ends in `.php`), or it names a script
/// or text file and ends in `#` or in one empty parameter (`shell.txt#`, `evil.php?x=`),
/// which make the suffix a fragment or a parameter's value.
fn cuts_suffix(rest: &str) -> bool {
    let url = &rest[..rest.find(char::is_whitespace).unwrap_or(rest.len())];
    if url.ends_with('?') && !url.contains('=') {
        return true;
    }
    if let Some((_, q)) = url.split_once('?')
        && q.len() <= 16
        && !q.contains(['&', '=', '#', '/'])
        && q.rsplit_once('.')
            .is_some_and(|(_, ext)| super::in_list(INCLUDED_EXTENSIONS, ext))
    {
        return true;
    }
    let (path, cut) = if let Some(p) = url.strip_suffix('#') {
        (p, !p.contains(['#', '?']))
    } else if let Some((p, q)) = url.strip_suffix('=').and_then(|u| u.split_once('?')) {
        (
            p,
            !q.is_empty() && q.len() <= 16 && !q.contains(['&', '=', '#']),
        )
    } else {
        return false;
    };
    // `text` is the value's lower-case form.
    cut && path
        .rsplit('/')
        .next()
        .and_then(|last| last.rsplit_once('.'))
        .is_some_and(|(stem, ext)| !stem.is_empty() && super::in_list(INCLUDED_EXTENSIONS, ext))
}

/// Extensions of files an include runs or reads as code, sorted for [`super::in_list`].
const INCLUDED_EXTENSIONS: &[&str] = &[
    "asp", "aspx", "cgi", "inc", "jsp", "phar", "php", "php3", "php4", "php5", "phtml", "pl", "py",
    "sh", "txt",
];

/// A value that starts with `//host/` or `\\host\` (`unc`): `rest` is what follows the two
/// slashes. Judged like a URL with a scheme when the host has a dot and a path follows.
fn remote_path(input: &Input, text: &str, rest: &str, unc: bool, sink: &mut Sink<'_>) {
    let Some(end) = rest.find(['/', '\\', '?', '#']) else {
        return;
    };
    let raw = &rest[..end];
    if raw.is_empty() || raw.contains(char::is_whitespace) {
        return;
    }
    // Windows names a WebDAV share `\\host@SSL@443\DavWWWRoot\...`: the suffixes after
    // the host are its transport, not a user before it.
    let webdav = webdav_host(raw);
    let raw = webdav.unwrap_or(raw);
    let host = host_of(raw);
    if !host.contains('.') {
        return;
    }
    match classify(host) {
        HostClass::Metadata => sink.hit(metadata_rule(host, &rest[end..]), text, 0),
        HostClass::Internal { .. } => sink.hit(SSRF_INTERNAL, text, 0),
        HostClass::PublicIp { .. } => sink.hit(RFI_IP_URL, text, 0),
        HostClass::Name => {
            let param = super::param_name(&input.label).to_ascii_lowercase();
            // PHP on Windows includes through SMB and WebDAV: a share on a named host that
            // names its transport (`\\evil.example@SSL\DavWWWRoot\`) or holds a script
            // (`\\evil.example\s\x.php`) is a remote include whatever the parameter is called.
            let remote_script = unc && (webdav.is_some() || names_script(&rest[end..]));
            if remote_script
                || include_param(&input.label, &param)
                || loads_code(&input.label, &param, host, &rest[end..])
            {
                sink.hit(RFI_INCLUDE_PARAM, text, 0);
            }
            if cuts_suffix(rest) {
                sink.hit(RFI_TRAILING_QUESTION, text, 0);
            }
        }
    }
}

/// Whether the file a path names (before any query) has an extension an include runs as
/// code (of [`INCLUDED_EXTENSIONS`], text files aside).
fn names_script(path: &str) -> bool {
    path.split(['?', '#'])
        .next()
        .and_then(|p| p.rsplit(['/', '\\']).next())
        .and_then(|file| file.rsplit_once('.'))
        .is_some_and(|(stem, ext)| {
            !stem.is_empty()
                && !ext.eq_ignore_ascii_case("txt")
                && super::in_list(INCLUDED_EXTENSIONS, &ext.to_ascii_lowercase())
        })
}

/// The host after an `@` that follows a URL's host in the same token, behind a `#`, `?` or
/// `\\` (`#@169.254.169.254/`): what a parser that ends the authority at the `@` reads.
fn confused_host(after_host: &str) -> Option<&str> {
    let token = &after_host[..after_host
        .find(char::is_whitespace)
        .unwrap_or(after_host.len())];
    let before = &token[..token.find('@')?];
    if !before.contains(['#', '?', '\\']) || before.contains('/') {
        return None;
    }
    let rest = &token[before.len() + 1..];
    let authority = &rest[..rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len())];
    Some(host_of(authority)).filter(|h| !h.is_empty())
}

/// The host part of an authority: userinfo, port and IPv6 brackets removed.
fn host_of(authority: &str) -> &str {
    let after_user = authority.rsplit('@').next().unwrap_or(authority);
    if let Some(rest) = after_user.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    let host = match after_user.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => after_user,
    };
    host.trim_end_matches('.')
}

#[derive(Debug, PartialEq, Eq)]
enum HostClass {
    Metadata,
    Internal { obfuscated: bool },
    PublicIp { obfuscated: bool },
    Name,
}

fn classify(host: &str) -> HostClass {
    if METADATA_HOSTS.contains(&host) {
        return HostClass::Metadata;
    }
    if host == "localhost"
        || host.ends_with(".localhost")
        || host == "localhost.localdomain"
        || host.ends_with(".internal")
        || host.ends_with(".local")
        || host.ends_with(".localdomain")
        || host.ends_with(".home.arpa")
        // Kubernetes service names (`kubernetes.default.svc`, `redis.cache.svc`; the long form
        // `...svc.cluster.local` ends in `.local`, above).
        || host.ends_with(".svc")
        || host == "kubernetes.default"
        // Consul's service discovery (`vault.service.consul`, `consul.service.consul`).
        || host.ends_with(".consul")
        || host == "0"
        // Public names whose every subdomain resolves to 127.0.0.1.
        || ["localtest.me", "lvh.me", "vcap.me", "localh.st"]
            .iter()
            .any(|d| host.strip_suffix(d).is_some_and(|r| r.is_empty() || r.ends_with('.')))
    {
        return HostClass::Internal { obfuscated: false };
    }
    // DNS rebinding services: `7f000001.c0a80001.rbndr.us` answers with either address, in
    // turn, each written as eight hex digits.
    if let Some(inner) = host.strip_suffix(".rbndr.us") {
        let internal = inner.split('.').any(|part| {
            part.len() == 8
                && u32::from_str_radix(part, 16)
                    .is_ok_and(|ip| is_internal(IpAddr::V4(Ipv4Addr::from(ip))))
        });
        return if internal {
            HostClass::Internal { obfuscated: true }
        } else {
            HostClass::Name
        };
    }
    // Wildcard DNS services that resolve an embedded IP (`127.0.0.1.nip.io`).
    for suffix in [".nip.io", ".xip.io", ".sslip.io", ".localtest.me"] {
        if let Some(inner) = host.strip_suffix(suffix) {
            let ip = inner
                .rsplit('.')
                .take(4)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join(".");
            return match parse_ipv4_any(&ip) {
                Some((ip, _)) if is_internal(IpAddr::V4(ip)) => {
                    HostClass::Internal { obfuscated: true }
                }
                _ => HostClass::Name,
            };
        }
    }
    let parsed = if host.contains(':') {
        host.split('%')
            .next()
            .and_then(|h| h.parse::<Ipv6Addr>().ok())
            .map(|ip| (IpAddr::V6(ip), false))
    } else {
        parse_ipv4_any(host).map(|(ip, obf)| (IpAddr::V4(ip), obf))
    };
    match parsed {
        Some((ip, obfuscated)) => {
            let v4 = match ip {
                IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
                v4 => v4,
            };
            if v4 == IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254))
                || v4 == IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200))
                || ip.to_string() == "fd00:ec2::254"
            {
                HostClass::Metadata
            } else if is_internal(v4) {
                HostClass::Internal { obfuscated }
            } else {
                HostClass::PublicIp { obfuscated }
            }
        }
        None => HostClass::Name,
    }
}

fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.octets()[0] == 0
                || (v4.octets()[0] == 100 && (64..128).contains(&v4.octets()[1]))
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// Parses IPv4 in every notation `inet_aton` accepts: 1 to 4 parts, each decimal, octal
/// (leading 0) or hex (0x). Returns the address and whether the notation was unusual.
fn parse_ipv4_any(host: &str) -> Option<(Ipv4Addr, bool)> {
    if host.is_empty() || host.len() > 64 {
        return None;
    }
    let parts: Vec<&str> = host.split('.').collect();
    if parts.len() > 4 || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let mut nums = Vec::with_capacity(4);
    let mut unusual = parts.len() != 4;
    for p in &parts {
        let (digits, radix) = if let Some(h) = p.strip_prefix("0x") {
            unusual = true;
            (h, 16)
        } else if p.len() > 1 && p.starts_with('0') {
            unusual = true;
            (&p[1..], 8)
        } else {
            (*p, 10)
        };
        let n = if digits.is_empty() {
            0
        } else {
            u64::from_str_radix(digits, radix).ok()?
        };
        nums.push(n);
    }
    let (last, init) = nums.split_last()?;
    let mut value: u64 = 0;
    for (i, n) in init.iter().enumerate() {
        if *n > 255 {
            return None;
        }
        value |= n << (24 - 8 * i);
    }
    let room = 32 - 8 * init.len() as u32;
    if *last >= 1u64 << room {
        return None;
    }
    value |= last;
    Some((Ipv4Addr::from(u32::try_from(value).ok()?), unusual))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::testing::{families, hits, rule};
    use crate::extract::Kind;

    #[test]
    fn configured_roots_are_include_parameters() {
        for param in [
            "dolibarr_main_document_root",
            "phpbb_root_path",
            "app_root_dir",
            "basedir",
        ] {
            let label = format!("query:{param}");
            assert!(
                hits(Kind::Value, &label, "ftp://c2.example.net/pub/x", 1)
                    .contains(&RFI_INCLUDE_PARAM),
                "{param}"
            );
        }
        for (param, url) in [
            ("return_path", "https://app.example.com/home"),
            ("api_root", "https://api.example.com/"),
            ("output_dir", "s3://ml-artifacts/run-42"),
        ] {
            let label = format!("query:{param}");
            assert!(
                !hits(Kind::Value, &label, url, 1).contains(&RFI_INCLUDE_PARAM),
                "{param}"
            );
        }
    }

    #[test]
    fn parses_ip_notations() {
        assert_eq!(
            parse_ipv4_any("127.0.0.1"),
            Some((Ipv4Addr::new(127, 0, 0, 1), false))
        );
        assert_eq!(
            parse_ipv4_any("2130706433"),
            Some((Ipv4Addr::new(127, 0, 0, 1), true))
        );
        assert_eq!(
            parse_ipv4_any("0x7f000001"),
            Some((Ipv4Addr::new(127, 0, 0, 1), true))
        );
        assert_eq!(
            parse_ipv4_any("0251.00376.000251.0000376"),
            Some((Ipv4Addr::new(169, 254, 169, 254), true))
        );
        assert_eq!(
            parse_ipv4_any("127.1"),
            Some((Ipv4Addr::new(127, 0, 0, 1), true))
        );
        assert_eq!(parse_ipv4_any("example.com"), None);
        assert_eq!(parse_ipv4_any("256.1.1.1"), None);
    }

    #[test]
    fn detects_rfi_and_ssrf() {
        for (p, fam) in [
            ("http://169.254.169.254/latest/meta-data/", "ssrf"),
            ("http://[::ffff:a9fe:a9fe]/", "ssrf"),
            ("http://0251.00376.000251.0000376/", "ssrf"),
            ("http://\\l\\o\\c\\a\\l\\h\\o\\s\\t/", "ssrf"),
            ("gopher://127.0.0.1:6379/_INFO", "ssrf"),
            (
                "http://metadata.google.internal/computeMetadata/v1/",
                "ssrf",
            ),
            ("http://127.0.0.1.nip.io/", "ssrf"),
            ("http://93.184.216.34/shell.txt", "rfi"),
            ("http://evil.example/shell.txt?", "rfi"),
            ("php://filter/convert.base64-encode/resource=index", "rfi"),
            ("169.254.169.254/latest", "ssrf"),
            ("jar:http://203.0.113.5/x.jar!/a.class", "ssrf"),
            ("//evil.example/s.txt?", "rfi"),
            ("169.254.169.254/80", "ssrf"),
            ("https://paste.example/raw/Xy12?.php", "rfi"),
            ("\\\\198.51.100.7\\share\\x.php", "rfi"),
            ("//169.254.169.254/latest/meta-data/", "ssrf"),
            ("http://7f000001.c0a80001.rbndr.us/", "ssrf"),
            ("http://localtest.me:8080/actuator/env", "ssrf"),
            ("http://admin.lvh.me/", "ssrf"),
            (
                "http://kubernetes.default.svc/api/v1/namespaces/kube-system/secrets",
                "ssrf",
            ),
        ] {
            assert!(families(p).contains(&fam), "{p}: {:?}", families(p));
        }
        assert!(
            hits(Kind::Value, "query:file", "http://evil.example/x.txt", 1)
                .contains(&RFI_INCLUDE_PARAM)
        );
        assert!(
            hits(Kind::Value, "query:page", "//evil.example/x.txt", 1).contains(&RFI_INCLUDE_PARAM)
        );
        // WebDAV share names: the transport after `@` is not a user.
        rule(
            RFI_INCLUDE_PARAM,
            true,
            Kind::Value,
            "query:file",
            1,
            &[
                "\\\\evil.example@SSL\\DavWWWRoot\\x.php",
                "\\\\evil.example@8080\\DavWWWRoot\\x.php",
                "\\\\evil.example@SSL@443\\DavWWWRoot\\x.php",
            ],
        );
        // Any parameter, for a share that names WebDAV or holds a script.
        rule(
            RFI_INCLUDE_PARAM,
            true,
            Kind::Value,
            "query:p",
            1,
            &[
                "\\\\evil-webdav.ngrok.app@SSL\\DavWWWRoot\\shell.php",
                "\\\\evil.example@SSL\\DavWWWRoot\\",
                "\\\\files.evil.example\\s\\x.PHP",
            ],
        );
        rule(
            RFI_INCLUDE_PARAM,
            false,
            Kind::Value,
            "query:p",
            1,
            &[
                "\\\\files.corp.example\\share\\q3.xlsx",
                "\\\\files.corp.example\\share\\notes.txt",
                "//cdn.example.com/lib/x.php",
            ],
        );
        assert_eq!(
            super::webdav_host("files.example@SSL@443"),
            Some("files.example")
        );
        assert_eq!(super::webdav_host("user@files.example"), None);
        let mut sorted = INCLUDED_EXTENSIONS.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, INCLUDED_EXTENSIONS);
        // A JSON document's field is data, not a request variable PHP includes by.
        let beacon = "https://app.example.com/login?next=%2Fsettings";
        assert!(!hits(Kind::Value, "json:/page", beacon, 1).contains(&RFI_INCLUDE_PARAM));
        assert!(hits(Kind::Value, "form:page", beacon, 1).contains(&RFI_INCLUDE_PARAM));
        // A document's field named for code it loads, given a script on another host or a
        // paste's raw text; its stylesheet, image or page stays data.
        for (label, url) in [
            ("json:/layout", "https://evil-cdn.example/layouts/x.php"),
            ("json:/theme", "https://pastebin.com/raw/Xk2bQ9mF"),
            ("json:/site/plugin", "//evil.example/p/shell.phtml"),
            ("xml:/config/module@src", "http://evil.example.net/m.php"),
            (
                "json:/template",
                "https://gist.githubusercontent.com/u/1/raw/t",
            ),
            // A query or form parameter named for where such code is.
            ("query:lang_file", "https://pastebin.com/raw/Xk29fQpL"),
            ("form:template_url", "https://x.ngrok-free.app/tpl/evil.php"),
            ("query:skinPath", "http://evil.example/s.phtml"),
        ] {
            assert!(
                hits(Kind::Value, label, url, 1).contains(&RFI_INCLUDE_PARAM),
                "{label} {url}"
            );
        }
        for (label, url) in [
            ("json:/theme", "https://cdn.example.com/themes/dark.css"),
            ("json:/page", "https://forum.example.com/viewtopic.php?t=1"),
            ("json:/layout", "https://pastebin.com/u/someone"),
            (
                "xml:/config/module@doc",
                "https://docs.example.com/index.php",
            ),
            (
                "json:/template",
                "https://example.com/templates/invoice.html",
            ),
            (
                "query:template_url",
                "https://cdn.example.com/tpl/card.html",
            ),
            ("query:theme_url", "https://cdn.example.com/themes/dark.css"),
            ("query:page_url", "https://shop.example.com/cart.php"),
        ] {
            assert!(
                !hits(Kind::Value, label, url, 1).contains(&RFI_INCLUDE_PARAM),
                "{label} {url}"
            );
        }
    }

    #[test]
    fn hosts_hidden_behind_a_fragment_or_query() {
        rule(
            SSRF_INTERNAL,
            true,
            Kind::Value,
            "query:url",
            1,
            &[
                "http://cdn.partner-assets.com#@169.254.169.254/latest/meta-data/",
                "http://trusted.example?@127.0.0.1:8080/admin",
                "https://trusted.example\\@localhost/",
            ],
        );
        rule(
            SSRF_INTERNAL,
            false,
            Kind::Value,
            "query:url",
            1,
            &[
                "https://example.com/contact#@localhost",
                "https://example.com/?to=me@example.org",
                "https://example.com#top then mail admin@localhost",
            ],
        );
    }

    #[test]
    fn urls_without_their_scheme_to_the_inside() {
        rule(
            SSRF_SCHEMELESS_INTERNAL,
            true,
            Kind::Value,
            "query:url",
            1,
            &[
                "localhost/",
                "localhost:8080/admin",
                "localhost4.localdomain4/",
                "ip6-loopback/",
                "gateway.docker.internal/",
                "kubernetes.default.svc.cluster.local/api",
                "admin.localtest.me/",
                "127.0.0.1/server-status",
                "[::1]/",
                "user@10.0.0.5:9200/_cat/indices",
                "169.254.169.254/latest/meta-data/",
                "127.0.0.1/16x",
                "10.0.0.1/8/admin",
            ],
        );
        rule(
            SSRF_SCHEMELESS_INTERNAL,
            false,
            Kind::Value,
            "query:url",
            1,
            &[
                // A host alone is a setting, not a fetch (1403 from paranoia 2).
                "localhost",
                "mylocalhost/",
                "www.example.com/path",
                // Numbers, fractions and network blocks.
                "0/5",
                "1/2",
                "10.0.0.0/8",
                "10.6.0.7/32, fd42:42:42::7/128",
                "10.42.0.0/16(rw,sync,no_root_squash)",
                "127.0.0.1/32",
                "2024.01.02/report",
                // A host further on in text is prose, and a URL with its scheme is read as one.
                "see localhost/ for details",
                "docs/localhost/",
            ],
        );
    }

    #[test]
    fn urls_after_a_label() {
        use crate::detect::testing::hits;
        let marker = "icon:http://169.254.169.254/latest/meta-data/|51.5,-0.12";
        assert!(hits(Kind::Value, "query:markers", marker, 1).contains(&SSRF_METADATA));
        // A namespace prefix before markup is no label of a URL.
        let token = "<wsa:Address>https://localhost/sts</wsa:Address>";
        assert!(!hits(Kind::Value, "form:wresult", token, 1).contains(&SSRF_INTERNAL));
    }

    #[test]
    fn over_encoded_redirects() {
        let o = |pairs: &[u8]| super::disguised_redirect(pairs, "query", None);
        let hit =
            o(b"order=1&continue=%68%74%74%70%73%3a%2f%2f%65%76%69%6c%2e%65%78%61%6d%70%6c%65");
        assert_eq!(hit.map(|(l, _)| l).as_deref(), Some("query:continue"));
        assert!(o(b"next=%2F%2F%65%76%69%6c%2e%65%78%61%6d%70%6c%65").is_some());
        // Encoded as clients encode (reserved characters only), another parameter, no URL.
        assert!(o(b"next=https%3A%2F%2Fapp.example.com%2Fhome").is_none());
        assert!(o(b"title=%68%74%74%70%73%3a%2f%2f%65%76%69%6c").is_none());
        assert!(o(b"next=%6d%79%2d%61%63%63%6f%75%6e%74").is_none());
    }

    #[test]
    fn redirects_to_hosts_named_like_the_site() {
        let host = "login.preprint-hub.example";
        let cases = [
            (
                host,
                "query:redirect_uri",
                "https://preprint-hub.example.attacker-site.com/cb",
                true,
            ),
            (
                "cas.state-uni.example",
                "query:service",
                "https://state-uni.example.ticket-check.info/v",
                true,
            ),
            (
                "cas.state-uni.example",
                "query:next",
                "https%3A%2F%2Fstate-uni.example.ticket-check.info%2Fv",
                true,
            ),
            (
                "www.shop.co.uk:443",
                "form:return_url",
                "https://shop.co.uk.evil.net/",
                true,
            ),
            // The site's own hosts, other sites, other parameters, no URL.
            (
                host,
                "query:redirect_uri",
                "https://app.preprint-hub.example/cb",
                false,
            ),
            (
                host,
                "query:redirect_uri",
                "https://preprint-hub.example/cb",
                false,
            ),
            (host, "query:redirect_uri", "https://zotero.org/cb", false),
            (
                host,
                "query:redirect_uri",
                "https://my-preprint-hub.example.org/cb",
                false,
            ),
            (
                host,
                "query:title",
                "https://preprint-hub.example.attacker-site.com/",
                false,
            ),
            (
                host,
                "query:next",
                "see+preprint-hub.example.attacker-site.com",
                false,
            ),
            ("maps.city.example", "query:service", "WMS", false),
            ("10.0.0.1", "query:next", "https://0.1.evil.example/", false),
        ];
        for (h, label, value, want) in cases {
            let (prefix, name) = label.split_once(':').unwrap_or_default();
            let pairs = format!("a=1&{name}={value}");
            let hit = super::disguised_redirect(pairs.as_bytes(), prefix, Some(h.as_bytes()));
            assert_eq!(hit.is_some(), want, "{label} {value}");
        }
    }

    #[test]
    fn open_redirects_in_disguise() {
        use crate::detect::testing::hits;
        for (label, v) in [
            ("query:fallback", "//evil.example.org"),
            ("query:next", "/\\evil.example.org/login"),
            ("query:returnTo", "\t//evil.example.org"),
            ("query:url", "https:/\\evil.example.net/login"),
            (
                "query:redirect_uri",
                "com.ridenow.app://oauth@evil.example.org/cb",
            ),
            (
                "query:continue",
                "https://app.example.com@evil.example.org/",
            ),
            ("form:return_url", "https:evil.example.org"),
            (
                "json:/postLogoutRedirectUri",
                "https://evil.example.org\\@app.example.com/",
            ),
            ("query:goto", "///evil.example.org"),
            ("query:return_to_url", "//evil.example.org"),
            ("query:success_uri", "//evil.example.org"),
            ("query:u", "/\\evil.example/steal"),
            ("query:to", "\\\\evil.example/fee"),
            ("query:dest", "https://adloop.io\u{3002}evil.example"),
            (
                "query:redirect_uri",
                "https://ev-roaming.example\u{3002}evil-auth.net/cb",
            ),
            ("query:next", "https://app.example\u{ff0e}evil.net/"),
            (
                "query:redirect_uri",
                "https://login.pixelarena.io.evil.example/cb",
            ),
            ("query:next", "//@evil.example.org"),
            ("query:return_to", "//[2001:db8::1]/"),
            ("query:continue", "https:@evil.example.org"),
            (
                "query:redirect_uri",
                "https://evil.example#x@app.example.com/cb",
            ),
            (
                "query:redirect_uri",
                "https://evil.example#@claims.app.example/cb",
            ),
        ] {
            assert!(
                hits(Kind::Value, label, v, 1).contains(&SSRF_OPEN_REDIRECT),
                "{label}={v}"
            );
        }
        for (label, v) in [
            (
                "query:redirect_uri",
                "https://client.example.net/oauth/callback",
            ),
            ("query:redirect_uri", "com.ridenow.app://oauth/callback"),
            ("query:next", "/account/settings?tab=2"),
            (
                "query:return_to",
                "https://app.example.com/login?hint=ada@example.com",
            ),
            ("query:url", "//cdn.example.com/a.png"),
            ("query:next", "12:30"),
            ("query:comment", "//evil.example.org"),
            ("query:continue", "mailto:ada@example.com"),
            (
                "json:/spec/url",
                "ssh://git@github.example.com/org/repo.git",
            ),
            ("query:fallbackImage", "//cdn.example.com/a.png"),
            ("query:redirect_uri", "https://shop.example.com.au/cb"),
            ("query:next", "https://portal.example.co.uk/home"),
            ("query:url", "https://a.b.example.com/x"),
            ("query:redirect_uri", "https://app.dev.example.com/cb"),
            ("query:location", "\\\\fileserver\\share\\Q3.xlsx"),
            ("query:target", "\\\\nas01.corp.local\\backups"),
            ("query:fallback_dsn", "postgres://app@db.internal/x"),
            ("query:next", "// "),
        ] {
            assert!(
                !hits(Kind::Value, label, v, 1).contains(&SSRF_OPEN_REDIRECT),
                "{label}={v}"
            );
        }
    }

    #[test]
    fn leaves_ordinary_urls_alone() {
        for p in [
            "https://www.example.com/search?q=shoes&page=2",
            "https://api.example.org/v1/items",
            "mailto:someone@example.com",
            "Meeting at 10:30: room 4",
            "see http://example.com?",
            "// TODO: fix it",
            "//cdn.example.com/app.js",
            "\\\\fileserver\\share\\q3.xlsx",
            "jar:file-name",
            "169.254.169.254/32",
            "127.0.0.0/8",
            "https://cdn.example.com/lib.js?v=3.php",
        ] {
            let f = families(p);
            assert!(!f.contains(&"rfi"), "{p}: {f:?}");
            assert!(!f.contains(&"ssrf"), "{p}: {f:?}");
        }
    }
}

#[cfg(test)]
mod path_info_tests {
    use crate::detect::testing::rule;
    use crate::extract::Kind;
    use crate::rules::*;

    #[test]
    fn referers_at_the_metadata_address() {
        use crate::detect::testing::hits;
        let h = hits(
            Kind::TextHeader,
            "header:referer",
            "http://169.254.169.254/latest/user-data",
            1,
        );
        assert!(h.contains(&SSRF_METADATA), "{h:?}");
        for dev in ["http://localhost:3000/cart", "http://10.0.0.5/admin/"] {
            assert!(
                hits(Kind::TextHeader, "header:referer", dev, 1).is_empty(),
                "{dev}"
            );
        }
    }

    #[test]
    fn urls_in_the_path_info_of_a_script() {
        rule(
            RFI_INCLUDE_PARAM,
            true,
            Kind::Path,
            "path",
            1,
            &[
                "/index.php/page/http://evil.example/shell.txt?",
                "/app.cgi/x/ftp://10.0.0.1/a",
                "/index.php/php://filter/resource=index",
                "/theme/http%3A%2F%2Fevil.example%2Fx.txt%3F/header.php",
                "/inc/https%3A%2F%2Fevil.example%2Fa.txt%3F",
                "/theme/http%3A%2F%2Fevil%2Fx.txt%23/header.php",
                "/theme/http%3A%2F%2Fevil%2Fx.txt%3Fa%3D/header.php",
            ],
        );
        rule(
            RFI_INCLUDE_PARAM,
            false,
            Kind::Path,
            "path",
            1,
            &[
                "/share/https://example.com/article",
                "/index.php/products/42",
                "/web/2020/https://x.y/",
                "/proxy/https%3A%2F%2Fcdn.example%2Fa.png%3Fw%3D100",
            ],
        );
    }

    #[test]
    fn a_header_gated_metadata_host_alone_waits_for_paranoia_2() {
        let bare = [
            "http://metadata.google.internal",
            "http://metadata.google.internal/",
            "http://metadata.google.internal:80/",
            "http://metadata/?recursive=true",
            "metadata.google.internal",
            "//metadata.google.internal/",
        ];
        rule(SSRF_METADATA, false, Kind::Value, "query:u", 1, &bare);
        rule(SSRF_METADATA_ROOT, false, Kind::Value, "query:u", 1, &bare);
        rule(SSRF_METADATA_ROOT, true, Kind::Value, "query:u", 2, &bare);
        // A path that reads the service, and services that answer without a header, stay
        // paranoia 1.
        rule(
            SSRF_METADATA,
            true,
            Kind::Value,
            "query:u",
            1,
            &[
                "http://metadata.google.internal/computeMetadata/v1/instance/",
                "http://metadata.google.internal:80/computeMetadata/v1/",
                "metadata.google.internal/computeMetadata/v1/",
                "//metadata.google.internal/computeMetadata/v1/",
                "http://metadata/0.1/meta-data/",
                "http://169.254.169.254",
                "http://169.254.169.254/",
                "http://instance-data/",
            ],
        );
    }
}

#[cfg(test)]
mod host_override_tests {
    use crate::detect::testing::{hits, rule};
    use crate::extract::Kind;
    use crate::rules::*;

    #[test]
    fn host_override_headers_may_not_name_the_inside() {
        for (header, value) in [
            ("header:x-forwarded-host", "127.0.0.1:2375"),
            ("header:x-forwarded-host", "shop.example, 169.254.169.254"),
            ("header:x-host", "localhost"),
            ("header:x-original-host", "metadata.google.internal"),
            ("header:x-forwarded-server", "[::1]:8080"),
        ] {
            assert!(
                hits(Kind::OtherHeader, header, value, 1).contains(&SSRF_HOST_OVERRIDE),
                "{header}: {value}"
            );
        }
        for (header, value) in [
            ("header:x-forwarded-host", "shop.example"),
            ("header:x-forwarded-host", "10.0.0.7:8443"),
            ("header:x-forwarded-host", "localhost.example.com"),
            ("header:x-request-id", "127.0.0.1"),
        ] {
            assert!(
                !hits(Kind::OtherHeader, header, value, 1).contains(&SSRF_HOST_OVERRIDE),
                "{header}: {value}"
            );
        }
        // A whole URL in `X-Original-URL` is checked as one.
        assert!(
            hits(
                Kind::HeaderPath,
                "header:x-original-url",
                "http://127.0.0.1:8500/v1/agent/self",
                1
            )
            .iter()
            .any(|r| lookup(*r).is_some_and(|i| i.family == crate::rules::Family::Ssrf))
        );
    }

    #[test]
    fn metadata_hosts_in_paths_names_and_other_schemes() {
        rule(
            SSRF_METADATA,
            true,
            Kind::Path,
            "path",
            1,
            &[
                "/proxy/169.254.169.254:80/latest/meta-data/",
                "/api/v1/namespaces/default/services/http:169.254.169.254:80/proxy/",
                "/avatar/x?d=redirect.example//169.254.169.254/latest/meta-data/",
            ],
        );
        rule(
            SSRF_METADATA,
            false,
            Kind::Path,
            "path",
            1,
            &["/ip/169.254.169.254"],
        );
        assert!(hits(Kind::Name, "json-key", "169.254.169.254:80", 1).contains(&SSRF_METADATA));
        rule(
            SSRF_METADATA,
            true,
            Kind::Value,
            "json:/endpoint",
            1,
            &[
                "rsync://169.254.169.254/latest/meta-data/",
                "redis://169.254.169.254:80/",
            ],
        );
        rule(
            SSRF_INTERNAL,
            false,
            Kind::Value,
            "json:/endpoint",
            1,
            &["redis://127.0.0.1:6379/0", "tcp://10.0.0.5:2375"],
        );
    }

    #[test]
    fn internal_urls_that_configuration_runs_itself() {
        rule(
            SSRF_INTERNAL,
            false,
            Kind::Value,
            "json:/conf",
            1,
            &[
                "curl -fsS http://127.0.0.1:8080/live",
                "wget -qO- http://localhost/ || exit 1",
                "HEALTHCHECK CMD curl -f http://localhost:8000/health || exit 1",
                "until nc -z db 5432; do sleep 1; done && curl -s http://127.0.0.1:9000/ready",
                "sh -c \"curl -s http://127.0.0.1:8080/\"",
                "location /api/ {\n    proxy_pass http://127.0.0.1:9000/;\n}",
                "http://prometheus-operated.monitoring.svc.cluster.local:9090",
                "https://kubernetes.default.svc",
            ],
        );
        rule(
            SSRF_INTERNAL,
            true,
            Kind::Value,
            "json:/conf",
            1,
            &[
                "http://127.0.0.1:8080/live",
                "\nhttp://127.0.0.1:2375/containers/json",
                "Use http_get on http://127.0.0.1:2375/containers/json",
                "Then run curl http://127.0.0.1:2375/containers/json",
                "see\nnotes http://10.0.0.5:8500/v1/agent/self",
                "https://kubernetes.default.svc/api/v1/namespaces/kube-system/secrets",
                // Characters of several bytes before the URL.
                "aéééééééééééééééééééééééé curl http://127.0.0.1/",
            ],
        );
    }

    #[test]
    fn suffix_cuts_and_ideographic_dots() {
        for (label, url) in [
            ("query:lang", "http://attacker.example/shell.txt#"),
            (
                "json:/theme_url",
                "hTTpS://attacker.example/themes/evil.php?x=",
            ),
        ] {
            assert!(
                hits(Kind::Value, label, url, 1).contains(&RFI_TRAILING_QUESTION),
                "{url}"
            );
        }
        rule(
            RFI_TRAILING_QUESTION,
            false,
            Kind::Value,
            "json:/link",
            1,
            &[
                "https://example.com/#",
                "https://example.com/search?q=",
                "https://example.com/a.html#",
            ],
        );
        assert!(
            hits(
                Kind::Value,
                "query:url",
                "http://consul.service.consul:8500/v1/kv/?recurse",
                1
            )
            .contains(&SSRF_INTERNAL)
        );
        let xsl = "xml:/xsl:stylesheet/xsl:include@href";
        assert!(
            hits(Kind::Value, xsl, "http://attacker.example/evil.xsl", 1)
                .contains(&RFI_INCLUDE_PARAM)
        );
        assert!(
            hits(Kind::Value, "query:abspath", "http://attacker.example/", 1)
                .contains(&RFI_INCLUDE_PARAM)
        );
        let idn = "http://\u{246f}\u{2468}\u{3002}\u{2461}\u{2464}\u{2463}\u{3002}\u{246f}\u{2468}\u{3002}\u{2461}\u{2464}\u{2463}/latest/meta-data/";
        assert!(hits(Kind::Value, "json:/url", idn, 1).contains(&SSRF_METADATA));
    }
}
