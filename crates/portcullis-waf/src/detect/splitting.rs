//! Protocol attacks carried in inputs: header and response splitting (CR/LF in header values and
//! paths, CR/LF in arguments followed by a header line or a request/status line), request lines
//! smuggled into values, mod_proxy `unix:` tricks, and LDAP and XPath injection.

use super::{Patterns, Sink};
use crate::extract::{Input, Kind};
use crate::normalise::Variants;
use crate::rules::*;
use crate::settings::WafError;

/// Header names an attacker injects to split a response or a request.
const HEADERS: &str = "content-type|content-length|content-disposition|content-encoding|set-cookie|set-cookie2|cookie|location|refresh|transfer-encoding|host|connection|cache-control|expires|last-modified|etag|x-[a-z0-9-]+|access-control-[a-z-]+|www-authenticate|authorization|proxy-[a-z-]+|upgrade|keep-alive|te|trailer|vary|link|server|status|http-equiv|referer|user-agent|origin|forwarded|content-security-policy|strict-transport-security|p3p|pragma|age|via|expect|range|if-[a-z-]+";

pub(crate) struct Splitting {
    patterns: Patterns,
    /// [`Splitting::patterns`] for an iCalendar or vCard document, whose property lines
    /// (`LOCATION:Room 4`) look like headers.
    calendar_patterns: Patterns,
    always: Patterns,
    /// Any header-like line: only for query strings, names and cookies, where multi-line text
    /// has no business.
    generic_header: Patterns,
    /// LDAP filter breakout: only for values that close a filter they did not open, or glue
    /// a wildcard to a filter.
    ldap: Patterns,
    /// XPath injection: only for values with an axis (`::`), a predicate's `]`, `/*` or a
    /// function over a root path (`(//`).
    xpath: Patterns,
}

impl Splitting {
    pub(crate) fn new() -> Result<Self, WafError> {
        let patterns = Self::line_patterns(HEADERS)?;
        // Without the names that are also iCalendar and vCard properties (`LOCATION`,
        // `STATUS`, `X-...`).
        let calendar: Vec<&str> = HEADERS
            .split('|')
            .filter(|h| !matches!(*h, "location" | "status" | "x-[a-z0-9-]+"))
            .collect();
        let calendar_patterns = Self::line_patterns(&calendar.join("|"))?;
        let always = Patterns::new(&[
            (
                HS_ARG_REQUEST_SMUGGLING,
                r"\b(?:get|post|put|delete|head|options|patch|connect|trace|propfind)\s+[^\s]+\s+http/[0-9]\.[0-9]",
            ),
            (HS_ARG_REQUEST_SMUGGLING, r"\bunix:[^|]*\|"),
        ])?;
        let ldap = Patterns::new(&[
            (
                PROTO_LDAP,
                r"\)\s*!?\s*\(\s*(?:[&|!]|[a-z][a-z0-9-]{0,40}\s*[~<>]?=)",
            ),
            (PROTO_LDAP, r"\*\s*\)\s*[(!|&]"),
            // `val)&(cn=admin`: a value closes the filter and ANDs or ORs in a new one.
            (
                PROTO_LDAP,
                r"\)\s*[&|]\s*\(\s*[a-z][a-z0-9-]{0,40}\s*[~<>]?=",
            ),
            // `*(|(mail=*))`: a wildcard glued to a filter of the value's own, which only
            // makes sense spliced into another filter. A whole filter (`(&(cn=x))`) is what
            // directory search APIs take.
            (
                PROTO_LDAP,
                r"\*\s*\(\s*[&|!]\s*\(\s*[a-z][a-z0-9-]{0,40}\s*[~<>]?=",
            ),
        ])?;
        let xpath = Patterns::new(&[
            // XPath 2.0 and XSLT functions that fetch a document by URL (`1'[doc('http://…')]`):
            // out-of-band extraction, and a request from the server to any host.
            (
                PROTO_XPATH,
                r#"\b(?:doc|document|doc-available|unparsed-text|unparsed-text-lines|collection)\s*\(\s*['"](?:https?|ftp|file|gopher)://"#,
            ),
            // An axis with a node test: the probes of blind XPath injection
            // (`count(/child::node())`). A stylesheet's `ancestor::ds:Signature` names an element.
            (
                PROTO_XPATH,
                r"\b(?:ancestor|ancestor-or-self|attribute|child|descendant|descendant-or-self|following|following-sibling|namespace|parent|preceding|preceding-sibling|self)\s*::\s*(?:node|text|comment|processing-instruction)\s*\(",
            ),
            // A quoted value that closes its predicate and joins another path to the result
            // (`x'] | //*[x='`).
            (PROTO_XPATH, r#"['"]\s*\)?\s*\]\s*\|\s*/"#),
            // A quoted value closed and joined to a path searched from the root
            // (`x' or //*[contains(local-name(),'pass')] or 'a'='b`).
            (
                PROTO_XPATH,
                r#"['"]\s*(?:or|and|\|)\s+(?:/\*\[|//(?:\*|@?[a-z_][a-z0-9_.:-]*)\s*(?:\[|/|!?=|\)))"#,
            ),
            // A string function over a path from the document's root, as a blind probe
            // tests a node's text (`') or contains(//user/password,'a') or ('`).
            (
                PROTO_XPATH,
                r"\b(?:contains|starts-with|string-length|substring|normalize-space|translate)\s*\(\s*//[a-z_*@]",
            ),
            // What blind extraction reads: the count and the names of any elements under the
            // root (`count(/*)`, `string-length(name(/*[1]))`, `substring(name(/*),1,1)`). A
            // mapping's `count(//E1EDP01)` names what it counts.
            (
                PROTO_XPATH,
                r"\b(?:count|name|local-name|namespace-uri|string-length|substring)\s*\(\s*(?:/{1,2}\*|(?:local-)?name\s*\(\s*/{1,2}\*)",
            ),
            // A quoted value closed and joined to a test of the context node's name that only
            // XPath has (`alice' or name()='users`); `position()` and `last()` are every
            // stylesheet's predicates.
            (
                PROTO_XPATH,
                r#"['"]\s*\]?\s*(?:or|and)\s+(?:not\s*\(\s*)?(?:name|local-name|namespace-uri)\s*\(\s*\)"#,
            ),
        ])?;
        let generic_header = Patterns::new(&[(
            HS_ARG_HEADER_INJECTION,
            r"[\r\n][a-z][a-z0-9_-]{1,40}[\r\n\s]*:",
        )])?;
        Ok(Self {
            patterns,
            calendar_patterns,
            always,
            generic_header,
            ldap,
            xpath,
        })
    }

    /// What a line of a value must not start with: a header of `headers` (or a mail header
    /// an application sends the value in: `Bcc`, or any header after a value that is an
    /// e-mail address), markup, a request or a status line.
    fn line_patterns(headers: &str) -> Result<Patterns, WafError> {
        let header = format!(r"[\r\n]\s*(?:{headers}|bcc)\s*:");
        Patterns::new(&[
            (HS_ARG_HEADER_INJECTION, header.as_str()),
            (
                HS_ARG_HEADER_INJECTION,
                r"^\s*[^\s@]+@[^\s@]+\s*[\r\n]+\s*[a-z][a-z0-9-]{0,30}\s*:",
            ),
            // A body after the blank line that ends a header block (`%0d%0a%0d%0a<html>`);
            // markup on the next line of a multi-line text is no response of its own.
            (
                HS_ARG_HEADER_INJECTION,
                r"(?:\r\n|\n)[ \t]*(?:\r\n|\n)\s*<\s*(?:html|script|body|meta)\b",
            ),
            (
                HS_ARG_REQUEST_SMUGGLING,
                r"[\r\n]\s*(?:get|post|put|delete|head|options|patch|connect|trace|propfind|proppatch|mkcol|copy|move|lock|unlock)\s+[^\s]+\s+http/[0-9]",
            ),
            (
                HS_ARG_REQUEST_SMUGGLING,
                r"(?:^|[\r\n])\s*http/[0-9](?:\.[0-9])?\s+[1-5][0-9]{2}\b",
            ),
            // A one-word value (a name) whose next line is a mail header: an application
            // that puts it in a message's header block gains a `Reply-To` or a recipient.
            (
                HS_ARG_HEADER_INJECTION,
                r"^\s*[^\s]{1,64}\s*[\r\n]+\s*(?:reply-to|cc|to|from|sender|subject|return-path|mime-version)\s*:\s*\S",
            ),
            // A mail protocol's command on a line of its own: a tagged IMAP command (a tag of
            // letters then digits, as clients number them) after a mailbox name or a search
            // (`INBOX\r\nA1 DELETE Sent`), and SMTP smuggling (a
            // line with a lone `.` that ends the data, then `MAIL FROM:`).
            (
                HS_ARG_REQUEST_SMUGGLING,
                r"[\r\n]\s*[a-z]{1,4}[0-9]{1,6}\s+(?:login|select|examine|create|delete|rename|subscribe|unsubscribe|list|lsub|status|append|expunge|search|fetch|store|copy|move|uid|authenticate|logout)\s+\S|(?:^|[\r\n])\.[\r\n]+\s*(?:mail\s+from|rcpt\s+to|helo|ehlo)\b",
            ),
            // A request line without a version ends its line: `POST /v1/customers with …` is
            // a sentence.
            (
                HS_ARG_REQUEST_SMUGGLING,
                r"[\r\n]\s*(?:get|post|put|delete|head|options|patch)\s+/[^\s]*[ \t]*(?:[\r\n]|$)",
            ),
            // A one-word value (a user name, an id) whose next line is a log entry of its
            // own: a timestamp (`2024-06-01T10:00`, `2024/05/01 12:00`) and a level (`INFO`,
            // or Gitea's and Gogs' `[I]`), written into the log as a line the application
            // never logged.
            (
                HS_LOG_FORGING,
                r"^\s*[^\s]{1,64}\s*[\r\n]+\s*\[?[0-9]{4}[-/.][0-9]{2}[-/.][0-9]{2}[t ][0-9]{2}:[0-9]{2}[^\r\n]{0,24}(?:\b(?:info|warn|warning|error|debug|trace|fatal|notice|crit|critical)\b|\[[iwedtf]\])",
            ),
        ])
    }

    fn patterns_for(&self, lower: &str) -> &Patterns {
        if lower.contains("begin:vcalendar") || lower.contains("begin:vcard") {
            &self.calendar_patterns
        } else {
            &self.patterns
        }
    }

    pub(crate) fn scan(&self, input: &Input, v: &Variants, sink: &mut Sink<'_>) {
        if input.kind != Kind::FileContent
            && let Some(at) = terminal_control(v.norm())
        {
            sink.hit(HS_LOG_FORGING, v.norm(), at);
        }
        let raw_newline = input.value.iter().any(|&b| b == b'\r' || b == b'\n');
        let any_newline = raw_newline || v.norm().contains(['\r', '\n']);
        let newline_rule = match input.kind {
            Kind::OtherHeader | Kind::TextHeader | Kind::HeaderValue if raw_newline => {
                Some(HS_HEADER_CRLF)
            }
            Kind::Path | Kind::HeaderPath if any_newline => Some(HS_PATH_NEWLINE),
            Kind::Name | Kind::CookieName | Kind::CookieValue if any_newline => {
                Some(HS_ARG_NEWLINE)
            }
            Kind::Value if input.from_query && any_newline => Some(HS_ARG_NEWLINE),
            _ => None,
        };
        if any_newline
            && input.kind == Kind::Value
            && sink.wants(HS_ARG_ASSIGNMENT)
            && ["query:", "form:", "multipart:"]
                .iter()
                .any(|p| input.label.starts_with(p))
            && let Some(at) = assignment_after_word(v.norm())
        {
            sink.hit(HS_ARG_ASSIGNMENT, v.norm(), at);
        }
        if let Some(rule) = newline_rule {
            let text = if rule == HS_HEADER_CRLF {
                v.raw.as_str()
            } else {
                v.norm()
            };
            sink.hit(rule, text, text.find(['\r', '\n']).unwrap_or(0));
        }
        if matches!(input.kind, Kind::OtherHeader | Kind::TextHeader) {
            // A header that an application decodes and writes into a header of its own (a
            // redirect back to the Referer, a correlation id echoed back) splits it with an
            // encoded CR LF.
            if any_newline {
                self.patterns_for(v.lower()).scan(v.lower(), sink);
            }
            return;
        }
        // A server that writes header values as Latin-1 keeps each character's low byte:
        // `嘊嘍` (U+560A U+560D) reaches the wire as LF CR.
        let lossy = |c: char| c as u32 > 0xFF && matches!(c as u32 & 0xFF, 0x0A | 0x0D);
        if !v.lower().is_ascii() && v.lower().chars().any(lossy) {
            let cut: String = v
                .lower()
                .chars()
                .map(|c| {
                    if lossy(c) {
                        char::from((c as u32 & 0xFF) as u8)
                    } else {
                        c
                    }
                })
                .collect();
            self.patterns_for(v.lower()).scan(&cut, sink);
        }
        if any_newline {
            self.patterns_for(v.lower()).scan(v.lower(), sink);
            if input.from_query
                || matches!(
                    input.kind,
                    Kind::Name
                        | Kind::CookieName
                        | Kind::CookieValue
                        | Kind::Path
                        | Kind::HeaderPath
                )
            {
                self.generic_header.scan(v.lower(), sink);
            }
        }
        if matches!(
            input.kind,
            Kind::Value
                | Kind::CookieValue
                | Kind::Body
                | Kind::FileContent
                | Kind::Name
                | Kind::HeaderValue
        ) {
            self.always.scan(v.lower(), sink);
            let lower = v.lower();
            if lower.bytes().find(|&b| b == b'(' || b == b')') == Some(b')') || lower.contains("*(")
            {
                self.ldap.scan(lower, sink);
            }
            self.scan_xpath(lower, sink);
        } else if input.kind == Kind::Path {
            // A path segment used as a key in an XPath query (`/products/']|//card|/a['`).
            self.scan_xpath(v.lower(), sink);
        }
    }

    fn scan_xpath(&self, lower: &str, sink: &mut Sink<'_>) {
        // Every pattern but the context-node tests needs a `:`, `]` or `/`: one pass rules
        // out most values; those tests need a quote and `()`.
        let quoted = || lower.contains(['\'', '"']);
        if (memchr::memchr3(b':', b']', b'/', lower.as_bytes()).is_some()
            && (lower.contains("::")
                || lower.contains(']')
                || lower.contains("/*")
                || lower.contains("(//")
                || lower.contains("( //")
                || (lower.contains(" //") && quoted())))
            || (lower.contains("()") && quoted())
        {
            self.xpath.scan(lower, sink);
        }
    }
}

/// Where `text` holds a terminal control sequence that rewrites what an operator tailing a log
/// sees: clearing the screen or moving the cursor (CSI ending in `J`, `H` or `f`), or an
/// operating-system command (OSC: the window title, the clipboard, hyperlinks). Colours
/// (`ESC[32m`), which build logs carry, are not one.
fn terminal_control(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    let mut from = 0;
    while let Some(i) = memchr::memchr(0x1b, &b[from..]).map(|i| from + i) {
        match b.get(i + 1) {
            Some(b']') => return Some(i),
            Some(b'[') => {
                let params = b[i + 2..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit() || matches!(c, b';' | b'?'))
                    .count();
                if matches!(b.get(i + 2 + params), Some(b'J' | b'H' | b'f')) {
                    return Some(i);
                }
            }
            _ => {}
        }
        from = i + 1;
    }
    None
}

/// Where a value of one word (a name, an id, a host) goes on, after a line break, with an
/// assignment (`DEVICE.ACCOUNT%0aAUTHORIZED_GROUP=1`): an application that writes the value
/// into a line-based file (a device's runtime config, an environment file, a shell script)
/// sets a variable of the caller's choosing. The offset of the assignment.
fn assignment_after_word(text: &str) -> Option<usize> {
    let (first, rest) = text.split_once('\n')?;
    let first = first.strip_suffix('\r').unwrap_or(first);
    let word = |c: char| c.is_ascii_alphanumeric() || "._-:/@".contains(c);
    if !first.chars().all(word) {
        return None;
    }
    // The next line that says something: blank space opens lines the shell and systemd
    // read alike, and comment lines are skipped.
    let mut offset = text.len() - rest.len();
    let (at, line) = rest.split('\n').find_map(|l| {
        let start = offset + (l.len() - l.trim_start().len());
        offset += l.len() + 1;
        let l = l.trim();
        (!l.is_empty() && !l.starts_with('#')).then_some((start, l))
    })?;
    let (name, value) = line.split_once('=')?;
    // A value follows: base64 wrapped over two lines ends in padding alone.
    let ident = name.len() >= 3
        && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && !value.is_empty()
        && !value.starts_with('=');
    ident.then_some(at)
}

#[cfg(test)]
mod tests {
    use crate::detect::testing::{hits, rule};
    use crate::extract::Kind;
    use crate::rules::*;

    #[test]
    fn assignments_after_a_one_word_value() {
        rule(
            HS_ARG_ASSIGNMENT,
            true,
            Kind::Value,
            "form:SERVICES",
            1,
            &[
                "DEVICE.ACCOUNT%0aAUTHORIZED_GROUP=1",
                "eth0\r\nPATH=/tmp",
                "eth0%0a%20AUTHORIZED_GROUP=1",
                "%0aAUTHORIZED_GROUP=1",
                "x%0a#%0aFOO=1",
            ],
        );
        rule(
            HS_ARG_ASSIGNMENT,
            false,
            Kind::Value,
            "form:notes",
            1,
            &[
                "Thanks for the help\nprice=5",
                "KEY=1\nOTHER=2",
                "eth0\nup",
                "a\nb = c d",
                "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo\nYWJjZGVmZ2hpams=",
            ],
        );
        assert!(
            !hits(
                Kind::Value,
                "json:/service",
                "DEVICE.ACCOUNT\nAUTHORIZED_GROUP=1",
                1
            )
            .contains(&HS_ARG_ASSIGNMENT)
        );
    }

    #[test]
    fn forged_log_lines() {
        rule(
            HS_LOG_FORGING,
            true,
            Kind::Value,
            "form:username",
            1,
            &[
                "guest\r\n2024-06-01T10:00:00Z INFO auth: user=admin login succeeded",
                "bob\n[2025-01-02 03:04:05] ERROR payment refunded",
                "ghost\n2024/05/01 12:00:00 [I] Successful login: root from 10.0.0.1",
            ],
        );
        rule(
            HS_LOG_FORGING,
            false,
            Kind::Value,
            "json:/notes",
            1,
            &[
                "Agenda\n2024-06-01 10:00 call with the supplier",
                "Thanks for the update.\n2024-06-01T10:00:00Z INFO line from our logs",
            ],
        );
    }

    #[test]
    fn detects_injected_headers_and_requests() {
        let h = hits(Kind::Value, "query:q", "foobar\r\nContent-Length: 0", 1);
        assert!(h.contains(&HS_ARG_HEADER_INJECTION), "{h:?}");
        let h = hits(Kind::Value, "form:var", "aaa\nGET / HTTP/1.1", 1);
        assert!(h.contains(&HS_ARG_REQUEST_SMUGGLING), "{h:?}");
        let h = hits(
            Kind::Value,
            "query:lang",
            "en\u{560A}\u{560D}Set-Cookie:x=1",
            1,
        );
        assert!(h.contains(&HS_ARG_HEADER_INJECTION), "{h:?}");
        let h = hits(Kind::Value, "query:q", "\u{560A}\u{560D} 你好", 1);
        assert!(!h.contains(&HS_ARG_HEADER_INJECTION), "{h:?}");
        let h = hits(
            Kind::TextHeader,
            "header:referer",
            "https://example.com/%0d%0aSet-Cookie:%20t=1",
            1,
        );
        assert!(h.contains(&HS_ARG_HEADER_INJECTION), "{h:?}");
        let h = hits(Kind::Value, "query:q", "x%0d%0aSet-Cookie:%20a=b", 1);
        assert!(h.contains(&HS_ARG_HEADER_INJECTION), "{h:?}");
        assert!(hits(Kind::Path, "path", "/foo\nbar", 1).contains(&HS_PATH_NEWLINE));
        assert!(hits(Kind::OtherHeader, "header:x-a", "a\r\nb", 1).contains(&HS_HEADER_CRLF));
        assert!(hits(Kind::HeaderValue, "header:x-a", "a\rb: c", 1).contains(&HS_HEADER_CRLF));
        let encoded = hits(
            Kind::OtherHeader,
            "header:x-correlation-id",
            "a%0d%0aSet-Cookie:%20s=1",
            1,
        );
        assert!(!encoded.is_empty(), "{encoded:?}");
        assert!(
            hits(
                Kind::Name,
                "query:\r\nremote-addr",
                "\r\nremote-addr\r\r: x",
                1
            )
            .contains(&HS_ARG_HEADER_INJECTION)
        );
        assert!(
            hits(Kind::Value, "query:a", "GET http://x HTTP/1.2", 1)
                .contains(&HS_ARG_REQUEST_SMUGGLING)
        );
    }

    #[test]
    fn detects_ldap_injection() {
        rule(
            PROTO_LDAP,
            true,
            Kind::Value,
            "form:foo",
            1,
            &[
                "bar)(&)",
                "printer)(uid=*)",
                "*)!(sn=*",
                "void)(objectClass=users))(&(objectClass=void)",
                "val)&(cn=admin",
                "val) | (uid=*",
                "*(|(mail=*))",
                "*(|(objectclass=*))",
            ],
        );
        rule(
            PROTO_LDAP,
            false,
            Kind::Value,
            "form:foo",
            1,
            &[
                "(see above) and more",
                "f(x) = (a+b)",
                "(uac:1.2.3:=6)(&(objectCategory=group))",
                "(&(objectClass=person)(|(cn=ann*)(mail=ann*)))",
                "price: 3*(4+5)",
            ],
        );
    }

    #[test]
    fn detects_xpath_injection() {
        rule(
            PROTO_XPATH,
            true,
            Kind::Value,
            "query:user",
            1,
            &[
                "count(/child::node())",
                "x' or count(/*)=1 or 'a'='b",
                "admin' and string-length(name(/*[1]))=5 and '1'='1",
                "1 and substring(name(/*),1,1)='u'",
                "x'] | //user/*[contains(*,'",
                "x' or count( /*)=1 or 'a'='b",
                "0') or contains(//user/password,'a') or ('",
                "')] | //password | a[('",
                "x' or //*[contains(local-name(),'pass')] or 'a'='b",
                "x\" and /*[1]/*[2] and \"",
                "acme' or //secret/text()!='' or '",
                "/mailboxes/mailbox[@owner='alice' or name()='users']",
                "a\" or not(local-name())",
            ],
        );
        rule(
            PROTO_XPATH,
            false,
            Kind::Value,
            "query:user",
            1,
            &[
                "not(ancestor-or-self::ds:Signature)",
                "std::vector<int> v; v.size()",
                "list[0] | sort",
                "see [1] | [2]",
                "count (items) = 3",
                "regex match(/a+/)",
                "count(//E1EDP01)",
                "use 'npm' or /usr/bin/node",
                "'draft' or //TODO marks",
                "fields 'first' and name (the user's)",
                "'x' or last (week)",
                "@type='a' and position()=1",
            ],
        );
    }

    #[test]
    fn xpath_in_path_segments() {
        let h = hits(Kind::Path, "path:segment", "']|//credit_card|/a['", 1);
        assert!(h.contains(&PROTO_XPATH), "{h:?}");
        assert!(hits(Kind::Path, "path:segment", "items[2]", 1).is_empty());
        let fetch = hits(
            Kind::Value,
            "query:id",
            "1'[doc('http://evil.example/x')]",
            1,
        );
        assert!(fetch.contains(&PROTO_XPATH), "{fetch:?}");
        assert!(
            hits(
                Kind::Value,
                "query:q",
                "the doc (https://x.example) explains it",
                1
            )
            .is_empty()
        );
    }

    #[test]
    fn terminal_control_sequences() {
        for forged in [
            "\u{1b}[2J\u{1b}[H\u{1b}[32m[INFO] All systems nominal",
            "x\u{1b}]0;owned\u{7}",
            "a\u{1b}[10;1fb",
        ] {
            assert!(hits(Kind::Value, "json:/reason", forged, 1).contains(&HS_LOG_FORGING));
            assert!(
                hits(Kind::TextHeader, "header:user-agent", forged, 1).contains(&HS_LOG_FORGING)
            );
        }
        let build_log =
            "\u{1b}[32mPASS\u{1b}[0m src/a.test.ts\n\u{1b}[1m\u{1b}[31mFAIL\u{1b}[39m\u{1b}[22m";
        assert!(!hits(Kind::Value, "json:/log", build_log, 1).contains(&HS_LOG_FORGING));
    }

    #[test]
    fn allows_multiline_text_in_bodies() {
        let text = "Dear team,\nNote: the meeting moved.\nThanks";
        assert!(hits(Kind::Value, "json:/note", text, 1).is_empty());
        assert!(hits(Kind::Value, "form:comment", text, 1).is_empty());
        // Markup on the next line is a document's; after a blank line it is a response body.
        let xliff = "<file original=\"a\">\r\n    <body>\r\n      <trans-unit/>";
        assert!(hits(Kind::FileContent, "file-content:file", xliff, 1).is_empty());
        for split in ["x\r\n\r\n<html>owned", "x\n\n<script>alert(1)</script>"] {
            assert!(
                hits(Kind::Value, "query:next", split, 1).contains(&HS_ARG_HEADER_INJECTION),
                "{split:?}"
            );
        }
    }

    #[test]
    fn mail_headers_and_calendar_documents() {
        let bcc = "bob@example.com\r\nBcc: list1@example.net";
        assert!(hits(Kind::Value, "form:email", bcc, 1).contains(&HS_ARG_HEADER_INJECTION));
        let subject = "Hello\nbcc: a@example.net";
        assert!(hits(Kind::Value, "form:subject", subject, 1).contains(&HS_ARG_HEADER_INJECTION));
        let ics = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:Review\r\nLOCATION:Room 3.14\r\nSTATUS:CONFIRMED\r\nX-MICROSOFT-CDO-BUSYSTATUS:BUSY\r\nEND:VEVENT\r\nEND:VCALENDAR";
        assert!(hits(Kind::Value, "json:/ics", ics, 1).is_empty());
        let smuggled = "BEGIN:VCARD\r\nSet-Cookie: session=x";
        assert!(hits(Kind::Value, "json:/card", smuggled, 1).contains(&HS_ARG_HEADER_INJECTION));
        let reply_to = "Bob\r\nReply-To: attacker@example.net";
        assert!(hits(Kind::Value, "form:name", reply_to, 1).contains(&HS_ARG_HEADER_INJECTION));
        let quoted = "Thanks, see below.\n\nFrom: Ana\nTo: Support\nSubject: printer";
        assert!(!hits(Kind::Value, "form:message", quoted, 1).contains(&HS_ARG_HEADER_INJECTION));
    }

    #[test]
    fn mail_protocol_commands_on_a_line_of_their_own() {
        rule(
            HS_ARG_REQUEST_SMUGGLING,
            true,
            Kind::Value,
            "query:_mbox",
            1,
            &[
                "INBOX\r\nA1 DELETE Sent",
                "INBOX\"\r\nA0003 CREATE \"INBOX.pwn",
                "foo\")\r\na2 FETCH 1:* BODY[]",
                "Hello\n.\r\nMAIL FROM:<ceo@example.com>\r\nRCPT TO:<v@example.net>",
            ],
        );
        rule(
            HS_ARG_REQUEST_SMUGGLING,
            false,
            Kind::Value,
            "json:/text",
            1,
            &[
                "Steps:\n1. open the list\n2. search for the ticket",
                "Done.\nThanks for the help",
                "See you.\n.\nBye",
            ],
        );
    }
}
