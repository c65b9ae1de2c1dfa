//! Cross-site scripting: libinjection's HTML5 tokenizer on the raw and decoded text, plus checks
//! for script tags, event handlers, script URIs, dangerous elements, data: URIs, CSS expressions
//! and JavaScript obfuscation over the HTML-decoded, lower-cased text.

use std::borrow::Cow;

use super::{Patterns, Sink};
use crate::normalise::Variants;
use crate::rules::*;
use crate::settings::WafError;

pub(crate) struct Xss {
    pub(super) patterns: Patterns,
    /// Patterns run on the text with whitespace and control characters removed, which browsers
    /// ignore inside a URL scheme (`java\tscript:`).
    squeezed: Patterns,
}

/// Event handler names browsers fire (prefix `on`).
const EVENTS: &str = "abort|activate|after[a-z]+|animation[a-z]+|auxclick|before[a-z]+|begin|blur|bounce|can[a-z]+|change|click|close|content[a-z]+|context[a-z]+|copy|cuechange|cut|dblclick|drag[a-z]*|drop|durationchange|emptied|end[a-z]*|error|finish|focus[a-z]*|formdata|fullscreen[a-z]+|gotpointercapture|hashchange|input|invalid|key[a-z]+|load[a-z]*|lostpointercapture|message[a-z]*|mouse[a-z]+|move[a-z]*|offline|online|page[a-z]+|paste|pause|play[a-z]*|pointer[a-z]+|popstate|progress|propertychange|ratechange|readystatechange|repeat|reset|resize|scroll[a-z]*|search|seek[a-z]+|select[a-z]*|show|stalled|start|storage|submit|suspend|timeupdate|toggle|touch[a-z]+|transition[a-z]+|unload|volumechange|waiting|wheel|zoom";

impl Xss {
    pub(crate) fn new() -> Result<Self, WafError> {
        let handler_in_tag = format!(r"<[a-z][^>]*[\s/'\x22](?:on(?:{EVENTS}))\s*=");
        let handler_breakout = format!(r#"(?:^|['"`\s/;,(])on(?:{EVENTS})\s*=(?:\s*[^\s=]|\s*$)"#);
        let handler_generic =
            r#"(?:^|['"`\s;,(])on[a-z]{3,25}\s*=\s*(?:$|['"`]|[a-z_$][a-z0-9_$.]*\s*[(`])"#;
        let rules: Vec<(u32, String)> = vec![
            (XSS_SCRIPT_TAG, r"<\s*/?\s*script\b".to_owned()),
            (XSS_EVENT_HANDLER, handler_in_tag),
            (XSS_EVENT_HANDLER, handler_breakout),
            (XSS_EVENT_HANDLER, handler_generic.to_owned()),
            (
                XSS_DANGEROUS_TAG,
                r"</?(?:iframe|frame|frameset|object|embed|applet|svg|math|base|meta|link|style|form|isindex|xss|xml|import|portal|noscript|template|marquee|plaintext|xmp|bgsound|layer|ilayer|animate|animatetransform|set|handler|listener|[a-z]*:?vmlframe|[a-z]*:?imagedata)(?:[^\w-]|$)|<\??import\s*implementation".to_owned(),
            ),
            (XSS_DANGEROUS_TAG, r"<[a-z][^>]*\bsrcdoc\s*=".to_owned()),
            (XSS_DANGEROUS_TAG, r#"<[a-z][^>]*\b(?:src|href|action|formaction|data|xlink:href|background|poster|lowsrc|dynsrc)\s*=\s*['"`]?\s*(?:javascript|vbscript|data|livescript|mocha):"#.to_owned()),
            (XSS_DATA_URI, r"\bdata:\s*(?:text/html|text/xml|image/svg\+xml|application/(?:x-)?javascript|text/javascript|application/xhtml\+xml|text/x-scriptlet)\b".to_owned()),
            (
                XSS_CSS_EXPRESSION,
                r#"(?::\s*expression\s*\(|-moz-binding\s*:|\bbehavior\s*:\s*url|@import\b|url\s*\(\s*['"]?\s*(?:javascript|vbscript)\b)"#.to_owned(),
            ),
            (
                XSS_JS_SINK,
                r#"(?:\bdocument\s*\.\s*(?:cookie|domain|write|location|body|createelement|queryselector(?:all)?|getelementsby[a-z]+|getelementbyid|forms)\b|\bwindow\s*\.\s*(?:location|open|name)|\.innerhtml\b|\bfromcharcode\s*\(|\b(?:settimeout|setinterval|execscript)\s*\(|\beval\s*\(|\batob\s*\(|\btop\s*\[|\bself\s*\[|\b(?:alert|prompt|confirm)\s*(?:\(|`)|\bconstructor\s*\(\s*['"`]|\blocation\s*(?:\.\s*href\s*)?=|\bimport\s*\(\s*['"`])"#.to_owned(),
            ),
            (
                XSS_JS_SINK,
                r#"(?:^|['"`;)]\s*)[a-z_$][a-z0-9_$.]*\s*(?:=|\|\||&&|\+|-)\s*[a-z_$][a-z0-9_$.]*\s*\("#.to_owned(),
            ),
            (XSS_JSFUCK, r"\(\s*!\s*!?\s*\[\s*\]\s*[+ ]\s*\[\s*\]\s*\)|!\s*!\s*\[\s*\]|\(\s*!\s*\[\s*\]|\[\s*\]\s*\[\s*\(|(?:\[\s*\]\s*\[\s*(?:\(|!|\+)[^\]]{0,40}){2}".to_owned()),
            (XSS_ENCODED_MARKUP, r"\+ad[w4]-|\+adw-\s*[a-z/!]".to_owned()),
            // DOM reads and writes that exfiltrate or navigate count alone; a DOM query counts
            // with a selector argument or a member written after it, so a pasted console error
            // (`document.getElementById(...) is null`) does not.
            (
                XSS_JS_STRONG,
                r#"\b(?:string\s*\.\s*fromcharcode|(?:window|document)\s*\.\s*(?:location|cookie|domain|write(?:ln)?|referrer|url|documenturi|baseuri|implementation|defaultview)\b|document\s*\.\s*(?:body|forms)\s*\.\s*[a-z]+\s*[(=\[]|document\s*\.\s*(?:createelement|queryselector(?:all)?|getelementsby[a-z]+|getelementbyid)\s*\(\s*['"`a-z])"#.to_owned(),
            ),
            (XSS_JS_STRONG, r#"(?:\b(?:alert|prompt|confirm)\s*(?:\(\s*(?:[0-9'"`/)]|document|window|this)|`)|\b(?:atob|btoa)\s*\()"#.to_owned()),
            (XSS_JS_STRONG, r#"\.(?:call|apply|bind)\s*`|\$\{\s*(?:alert|prompt|confirm|eval|navigation|location|document)\b|\(\s*document\s*\)\s*\["#.to_owned()),
            (
                XSS_JS_STRONG,
                r#"\b(?:settimeout|setinterval|execscript)\s*\(\s*['"`a-z]|\beval\s*\(\s*(?:['"`]|atob|unescape|decodeuri|string|location|name)|\b(?:window|self|top|parent|frames|globalthis|this|document)\s*\)?\s*\[\s*['"`](?:[a-z]|\\x)|\.(?:call|apply|bind)\s*\(\s*(?:null|window|this|self)?\s*,?\s*(?:alert|prompt|confirm|eval)\b|\b(?:alert|prompt|confirm|eval)\s*;\s*throw\b|=\s*(?:alert|prompt|confirm|eval)\s*;|\bdocument\s*\.\s*write(?:ln)?\s*\(|\blocation\s*(?:\.\s*(?:href|hash|search)\s*)?=\s*['"`]?\s*(?:javascript|data):"#.to_owned(),
            ),
            (XSS_ANY_TAG, r"<\s*/?\s*[a-z][a-z0-9-]*[\s/>]".to_owned()),
            (XSS_ATTRIBUTE_BREAKOUT, r#"['"`]\s*/?>\s*<|['"`]\s*(?:on[a-z]{3,}|style|src|href)\s*="#.to_owned()),
        ];
        let refs: Vec<(u32, &str)> = rules.iter().map(|(id, p)| (*id, p.as_str())).collect();
        let squeezed = Patterns::new(&[
            (
                XSS_JS_URI,
                r#"(?:^|[=("'`>\[,:]|&colon;)(?:java|vb|live)script:"#,
            ),
            (XSS_JS_URI, r"(?:java|vb|live)script:[^\n]{0,200}[(`=]"),
        ])?;
        Ok(Self {
            patterns: Patterns::new(&refs)?,
            squeezed,
        })
    }

    pub(crate) fn scan(&self, v: &Variants, sink: &mut Sink<'_>, lower_may_match: bool) {
        // Blanking processing instructions out adds neither `<` nor `=`: text with neither
        // cannot be flagged (see `libinjection`), so it is not searched for them either.
        let markup = |s: &str| s.bytes().any(|b| b == b'<' || b == b'=');
        if sink.wants(XSS_LIBINJECTION) && (markup(&v.raw) || markup(v.norm())) {
            // XML declarations and other processing instructions are bogus comments to an HTML
            // parser, and the XHTML namespace declaration is what an HTML parser assumes
            // anyway (FHIR narratives, XHTML e-mail); libinjection flags both (it reads any
            // `xmlns` as dangerous), so they are blanked out first.
            let raw = without_inert_markup(&v.raw);
            let norm = without_inert_markup(v.norm());
            let flagged =
                flagged_beyond_styles(&raw) || (norm != raw && flagged_beyond_styles(&norm));
            if flagged {
                sink.hit(XSS_LIBINJECTION, v.norm(), 0);
            }
        }
        if lower_may_match {
            self.patterns.scan(v.lower(), sink);
        }
        if v.compact().len() != v.lower().len() && v.lower().contains("/*") {
            // JavaScript comments split identifiers just like SQL ones: `document/**/.cookie`.
            self.patterns.scan(v.compact(), sink);
        }
        if sink.wants(XSS_JS_URI) && v.lower().contains(':') {
            let squeezed: String = v
                .lower()
                .chars()
                .filter(|c| !c.is_whitespace() && !c.is_control())
                .collect();
            self.squeezed.scan(&squeezed, sink);
        }
    }
}

/// Namespaces in which markup can run script or fetch it: XHTML, SVG, XLink, XSLT, MathML,
/// XInclude and XML Events.
const SCRIPT_NAMESPACES: [&str; 7] = [
    "http://www.w3.org/1999/xhtml",
    "http://www.w3.org/2000/svg",
    "http://www.w3.org/1999/xlink",
    "http://www.w3.org/1999/xsl/transform",
    "http://www.w3.org/1998/math/mathml",
    "http://www.w3.org/2001/xinclude",
    "http://www.w3.org/2001/xml-events",
];

/// [`without_processing_instructions`], and each inert namespace declaration replaced with a
/// space: libinjection flags any `xmlns` attribute, because one can put an element into a
/// namespace where it runs script (`<x:script xmlns:x="http://www.w3.org/1999/xhtml">`) or
/// that loads code (Internet Explorer's `x-schema:`). A declaration of an `http`, `https` or
/// `urn` namespace other than those (`xmlns="urn:oasis:…:Invoice-2"`, SOAP's envelope,
/// `xmlns:xsi`), or of XMP's `adobe:ns:meta/`, is data, as is the default namespace being
/// XHTML, which is what an HTML parser assumes anyway (FHIR narratives, XHTML e-mail). A value
/// with anything but letters, digits and `:/._#-` (an entity, an escape) is left for
/// libinjection, and so is every declaration in a text that names a schema location (the
/// parser fetches the schema).
fn without_inert_markup(s: &str) -> Cow<'_, str> {
    let s = without_processing_instructions(s);
    let s = match without_plain_doctypes(&s) {
        Cow::Owned(o) => Cow::Owned(o),
        Cow::Borrowed(_) => s,
    };
    if find_ascii_ci(s.as_bytes(), b"schemalocation").is_some() {
        return s;
    }
    without_attributes(s, b"xmlns", true, 256, data_namespace)
}

/// A namespace declaration's value that is data (see [`without_inert_markup`]); `prefixed`
/// when it declares a prefix (`xmlns:x=`) rather than the default namespace.
fn data_namespace(prefixed: bool, value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    let plain = value
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || b":/._#-".contains(&c))
        && (["http://", "https://", "urn:"]
            .iter()
            .any(|scheme| lower.starts_with(scheme))
            || lower == "adobe:ns:meta/");
    let scripted = SCRIPT_NAMESPACES.contains(&lower.trim_end_matches('/'));
    let default_xhtml = !prefixed && lower == SCRIPT_NAMESPACES[0];
    plain && (!scripted || default_xhtml)
}

/// `s` with each attribute `name` (ASCII case ignored; with `prefixed`, also `name:p`) that
/// follows whitespace and has a quoted value of at most `max` bytes for which
/// `inert(prefixed, value)` holds replaced with a space.
fn without_attributes<'a>(
    s: Cow<'a, str>,
    name: &[u8],
    prefixed: bool,
    max: usize,
    inert: impl Fn(bool, &str) -> bool,
) -> Cow<'a, str> {
    let b = s.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while let Some(at) = find_ascii_ci(&b[i..], name).map(|p| p + i) {
        i = at + name.len();
        if !at
            .checked_sub(1)
            .is_some_and(|p| b[p].is_ascii_whitespace())
        {
            continue;
        }
        let prefix = b[i..]
            .strip_prefix(b":")
            .filter(|_| prefixed)
            .map_or(0, |r| {
                1 + r
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
                    .count()
            });
        let (Some(b'='), Some(&quote)) = (b.get(i + prefix), b.get(i + prefix + 1)) else {
            continue;
        };
        if !matches!(quote, b'"' | b'\'') {
            continue;
        }
        let value_start = i + prefix + 2;
        let Some(len) = b[value_start..].iter().take(max).position(|&c| c == quote) else {
            continue;
        };
        if !inert(prefix > 0, &s[value_start..value_start + len]) {
            continue;
        }
        let end = value_start + len + 1;
        let o = out.get_or_insert_with(|| String::with_capacity(s.len()));
        o.push_str(&s[copied..at]);
        o.push(' ');
        copied = end;
        i = end;
    }
    match out {
        Some(mut o) => {
            o.push_str(&s[copied..]);
            Cow::Owned(o)
        }
        None => s,
    }
}

/// libinjection flags `s`, and still does with its inert `style` attributes taken out.
/// libinjection flags every `style` attribute, whatever it holds; CSS runs script only
/// through `expression(`, `url(`, `behavior`, `-moz-binding` or an import, and hides them
/// only behind escapes and comments, so a declaration list without any of those (`color:#666;
/// font-size:12px`, as every HTML e-mail has) is blanked out before asking again.
fn flagged_beyond_styles(s: &str) -> bool {
    libinjection(s.as_bytes()) && {
        let bare = without_inert_styles(s);
        matches!(bare, Cow::Borrowed(_)) || libinjection(bare.as_bytes())
    }
}

/// `s` with each attribute `style="…"` or `style='…'` whose value is inert CSS (see
/// [`flagged_beyond_styles`]) replaced with a space.
fn without_inert_styles(s: &str) -> Cow<'_, str> {
    without_attributes(Cow::Borrowed(s), b"style", false, 512, |_, v| inert_css(v))
}

/// A declaration list that cannot run script: names, numbers, colours and the punctuation of
/// declarations only (no escape, comment, entity, markup, bracket or at-rule), none of the
/// words that load or run code, and round brackets only after a colour function.
fn inert_css(v: &str) -> bool {
    const CODE: [&str; 8] = [
        "behavio",
        "binding",
        "expression",
        "import",
        "javascript",
        "script",
        "url",
        "vbscript",
    ];
    let lower = v.to_ascii_lowercase();
    let declaration = |c: char| c.is_ascii_alphanumeric() || " \t#-_:;,.%!/'\"()".contains(c);
    if !lower.chars().all(declaration) || lower.contains("/*") {
        return false;
    }
    if CODE.iter().any(|w| lower.contains(w)) {
        return false;
    }
    lower.match_indices('(').all(|(at, _)| {
        let name = lower[..at].trim_end();
        ["rgb", "rgba", "hsl", "hsla"]
            .iter()
            .any(|f| name.ends_with(f))
    })
}

/// The first place `needle` (lower-case ASCII) is in `hay`, ignoring ASCII case.
fn find_ascii_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// Replaces each `<?…>` with a space (single pass).
fn without_processing_instructions(s: &str) -> Cow<'_, str> {
    if !s.contains("<?") {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("<?") {
        out.push_str(&rest[..start]);
        out.push(' ');
        rest = match rest[start..].find('>') {
            Some(end) => &rest[start + end + 1..],
            None => "",
        };
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Replaces each document type declaration without an internal subset
/// (`<!DOCTYPE html>`, `<!DOCTYPE score-partwise PUBLIC "-//Recordare//DTD MusicXML 4.0
/// Partwise//EN" "http://www.musicxml.org/dtds/partwise.dtd">`) with a space: a name, public
/// and system identifiers of letters, digits and `-/:._#+,`. libinjection flags any doctype,
/// but one declares what follows and runs nothing (entities, the XML detectors' concern, need
/// the internal subset, `[`).
fn without_plain_doctypes(s: &str) -> Cow<'_, str> {
    let b = s.as_bytes();
    let plain = |decl: &[u8]| {
        let mut quote = None;
        decl.iter().all(|&c| match (quote, c) {
            (None, b'"' | b'\'') => {
                quote = Some(c);
                true
            }
            (Some(q), c) if c == q => {
                quote = None;
                true
            }
            (_, c) => c.is_ascii_alphanumeric() || c == b' ' || b"\t\r\n-/:._#+,".contains(&c),
        }) && quote.is_none()
    };
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while let Some(at) = find_ascii_ci(&b[i..], b"<!doctype").map(|p| p + i) {
        let body = at + 9;
        let Some(end) = memchr::memchr(b'>', &b[body..]).map(|e| body + e) else {
            break;
        };
        i = end + 1;
        if plain(&b[body..end]) {
            let o = out.get_or_insert_with(|| String::with_capacity(s.len()));
            o.push_str(&s[copied..at]);
            o.push(' ');
            copied = end + 1;
        }
    }
    match out {
        Some(mut o) => {
            o.push_str(&s[copied..]);
            Cow::Owned(o)
        }
        None => Cow::Borrowed(s),
    }
}

/// libinjection's HTML5 check flags only a doctype, a tag or comment (all open with `<`) or an
/// attribute value after a dangerous attribute name (which needs `=`), in each of its five
/// contexts; text with neither character cannot be flagged, so it is not tokenised five times.
fn libinjection(s: &[u8]) -> bool {
    s.iter().any(|&b| b == b'<' || b == b'=') && libinjectionrs::detect_xss(s).is_injection()
}

#[cfg(test)]
mod tests {
    use crate::detect::testing::{flags, silent};

    #[test]
    fn custom_elements_are_not_the_tags_they_start_with() {
        silent(
            "xss",
            &[
                "<link-entity name=\"account\" from=\"accountid\"/>",
                "<form-field label=\"Name\"></form-field>",
            ],
        );
        flags(
            "xss",
            &[
                "<link rel=import href=//x.example>",
                "<svg/onload=alert(1)>",
            ],
        );
    }

    #[test]
    fn plain_doctypes_are_not_script() {
        silent(
            "xss",
            &[
                "<!DOCTYPE html>",
                "<!DOCTYPE score-partwise PUBLIC \"-//Recordare//DTD MusicXML 4.0 Partwise//EN\" \"http://www.musicxml.org/dtds/partwise.dtd\">",
            ],
        );
        flags(
            "xss",
            &[
                "<!DOCTYPE html><script>alert(1)</script>",
                "<!DOCTYPE x [<!ENTITY e \"<img src=x onerror=alert(1)>\">]>",
                "<!DOCTYPE html onload=alert(1)>",
            ],
        );
    }

    #[test]
    fn inert_inline_styles_are_not_script() {
        silent(
            "xss",
            &[
                "<p style=\"color:#666;font-size:12px\">Questions? Reply to this email.</p>",
                "<table width=\"600\" style='font-family:Arial,sans-serif'><tr><td>Sale</td></tr></table>",
                "<span style=\"color: rgb(26, 115, 232)\">blue</span>",
            ],
        );
        // Styles that load or run code, or hide what they hold, and script beside a style.
        flags(
            "xss",
            &[
                "<div style=\"width: expression(alert(1))\">",
                "<div style=\"background:url(javascript:alert(1))\">",
                "<div style=\"-moz-binding:url(//evil.example/x.xml#x)\">",
                "<div style=\"behavior: url(x.htc)\">",
                "<div style=\"color:re\\64\">x</div>",
                "<p style=\"color:red\" onmouseover=\"alert(1)\">x</p>",
                "<p style=\"color:red\"><script>alert(1)</script></p>",
            ],
        );
    }

    #[test]
    fn text_without_lt_or_eq_is_never_flagged_by_libinjection() {
        // The gate in `libinjection` skips such text; libinjection itself agrees on it.
        for t in [
            "javascript:alert(1)",
            "\" onmouseover alert(1) x",
            "' autofocus onfocus alert(1) '",
            "` onerror alert(1)",
            "style expression(alert(1))",
            "data:text/html;base64,PHNjcmlwdD4",
            "vbscript:msgbox(1)",
            "> script alert(1) /script",
        ] {
            assert!(!t.contains(['<', '=']));
            assert!(
                !libinjectionrs::detect_xss(t.as_bytes()).is_injection(),
                "{t}"
            );
        }
        assert!(super::libinjection(b"<script>alert(1)</script>"));
        assert!(super::libinjection(b"\" onmouseover=alert(1) x"));
    }

    #[test]
    fn detects_common_vectors() {
        flags(
            "xss",
            &[
                "<script>alert(1)</script>",
                "<img src=x onerror=alert(1)>",
                "\"><svg/onload=alert(1)>",
                "javascript:alert(document.cookie)",
                "java\tscript:alert(1)",
                "&lt;script&gt;alert(1)&lt;/script&gt;",
                "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
                "<iframe srcdoc=\"<script>x</script>\">",
                "<a href=\"data:text/html;base64,PHNjcmlwdD4=\">x</a>",
                "＜script＞alert(1)＜/script＞",
                "' onmouseover=alert(1) '",
                "<div style=\"width: expression(alert(1))\">",
                "<embed src=\"javascript:alert(1)\">",
                "document.querySelector(\"p\").textContent=\"XSS\"",
                "document.body.appendChild(x)",
                "<div xmlns=\"http://www.w3.org/1999/xhtml\"><img src=x onerror=alert(1)></div>",
                "<plaintext>",
                "<xmp><p title=\"</xmp>",
            ],
        );
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        silent(
            "xss",
            &[
                "price < base price",
                "temperature < set point",
                "Tom & Jerry <3",
                "a < b and c > d",
                "I love JavaScript and onions",
                "price=5 > 3; online=yes",
                "O'Brien said \"hello\"",
                "https://example.com/search?q=shoes",
                "mode=on",
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><note>hi</note>",
                "sig=t=1614308115,v1=52/onafe=6yJV",
                "Uncaught TypeError: document.getElementById(...) is null at app.js:12:9",
                "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p><b>Siobhán O'Connor</b></p></div>",
                "<?xml version=\"1.0\"?><Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><ID>1</ID></Invoice>",
                "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><Ping/></soap:Body></soap:Envelope>",
                "<?xpacket begin=\"?\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?><x:xmpmeta xmlns:x=\"adobe:ns:meta/\">",
            ],
        );
        // A namespace where markup runs script is still read as one.
        flags(
            "xss",
            &[
                "<x:script xmlns:x=\"http://www.w3.org/1999/xhtml\">alert(1)</x:script>",
                "<a xmlns:xlink=\"http://www.w3.org/1999/xlink\" xlink:href=\"javascript:alert(1)\">x</a>",
                "<x xmlns=\"&#104;ttp://www.w3.org/1999/xhtml\"><img src=x onerror=alert(1)></x>",
                "<img xmlns=\"x-schema:test.xdr\"/>",
                "<c xmlns=\"http://a.b/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"http://a.b/ http://evil.example/c.xsd\">c</c>",
            ],
        );
    }
}
