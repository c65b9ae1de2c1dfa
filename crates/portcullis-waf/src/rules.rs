//! The rule catalogue: every rule's stable id, family, paranoia level, severity and message.
//!
//! Detectors refer to rules by the constants below; the engine looks the metadata up here, so a
//! rule's level or score is changed in one place. Ids are grouped per family in blocks of 100 and
//! never reused.

/// Attack family of a rule. The names from [`Family::as_str`] are stable (logs, config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// SQL injection.
    Sqli,
    /// Cross-site scripting.
    Xss,
    /// Remote command execution (shell) and template injection.
    Rce,
    /// Local file inclusion and path traversal.
    Lfi,
    /// Remote file inclusion.
    Rfi,
    /// PHP code injection.
    Php,
    /// Java: JNDI lookups, expression languages, deserialisation.
    Java,
    /// Node.js / JavaScript: prototype pollution, server-side JS.
    Node,
    /// Server-side request forgery, and URLs that send a client off the site in disguise
    /// (open redirects).
    Ssrf,
    /// Protocol anomalies and inspection limits.
    Protocol,
    /// Header / response splitting and request smuggling through inputs.
    HeaderSplitting,
}

impl Family {
    /// Every family, in catalogue order.
    pub const ALL: [Family; 11] = [
        Family::Sqli,
        Family::Xss,
        Family::Rce,
        Family::Lfi,
        Family::Rfi,
        Family::Php,
        Family::Java,
        Family::Node,
        Family::Ssrf,
        Family::Protocol,
        Family::HeaderSplitting,
    ];

    /// Stable lower-case name: `sqli`, `xss`, `rce`, `lfi`, `rfi`, `php`, `java`, `node`,
    /// `ssrf`, `protocol`, `header_splitting`.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Sqli => "sqli",
            Family::Xss => "xss",
            Family::Rce => "rce",
            Family::Lfi => "lfi",
            Family::Rfi => "rfi",
            Family::Php => "php",
            Family::Java => "java",
            Family::Node => "node",
            Family::Ssrf => "ssrf",
            Family::Protocol => "protocol",
            Family::HeaderSplitting => "header_splitting",
        }
    }

    /// Parses a name from [`Family::as_str`]; `None` for anything else.
    pub fn from_name(name: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Anomaly score a match adds (CRS-style scale).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// 2 points.
    Notice,
    /// 3 points.
    Warning,
    /// 4 points.
    Error,
    /// 5 points: blocks on its own at the default threshold.
    Critical,
}

impl Severity {
    /// Points added to the anomaly score.
    pub fn score(self) -> u32 {
        match self {
            Severity::Notice => 2,
            Severity::Warning => 3,
            Severity::Error => 4,
            Severity::Critical => 5,
        }
    }
}

/// Metadata of one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleInfo {
    /// Stable numeric id.
    pub id: u32,
    /// Attack family.
    pub family: Family,
    /// Lowest paranoia level at which the rule runs (1..=4).
    pub paranoia: u8,
    /// Score added per match.
    pub severity: Severity,
    /// Short description for logs.
    pub message: &'static str,
}

/// The whole catalogue, sorted by id (for docs, config validation and reports).
pub fn rule_catalogue() -> &'static [RuleInfo] {
    CATALOGUE
}

pub(crate) fn lookup(id: u32) -> Option<&'static RuleInfo> {
    CATALOGUE
        .binary_search_by_key(&id, |r| r.id)
        .ok()
        .and_then(|i| CATALOGUE.get(i))
}

// Protocol and limits.
pub(crate) const PROTO_LIMIT: u32 = 1000;
pub(crate) const PROTO_TRUNCATED: u32 = 1001;
pub(crate) const PROTO_TOO_MANY_ARGS: u32 = 1002;
pub(crate) const PROTO_MULTI_CONTENT_TYPE: u32 = 1003;
pub(crate) const PROTO_BODY_NO_CONTENT_TYPE: u32 = 1004;
pub(crate) const PROTO_BODY_MALFORMED: u32 = 1005;
pub(crate) const PROTO_NUL: u32 = 1006;
pub(crate) const PROTO_BAD_ESCAPE: u32 = 1007;
pub(crate) const PROTO_NON_UTF8: u32 = 1008;
pub(crate) const PROTO_MISSING_UA: u32 = 1009;
pub(crate) const PROTO_MULTIPART: u32 = 1010;
pub(crate) const PROTO_CHARSET: u32 = 1011;
pub(crate) const PROTO_CONTENT_LENGTH: u32 = 1012;
pub(crate) const PROTO_CONTROL_CHARS: u32 = 1013;
pub(crate) const PROTO_METHOD_OVERRIDE: u32 = 1014;
pub(crate) const PROTO_RESTRICTED_EXT: u32 = 1015;
pub(crate) const PROTO_CONTENT_TYPE: u32 = 1016;
pub(crate) const PROTO_GET_BODY: u32 = 1017;
pub(crate) const PROTO_HOST: u32 = 1018;
pub(crate) const PROTO_RANGE: u32 = 1019;
pub(crate) const PROTO_RESTRICTED_HEADER: u32 = 1020;
pub(crate) const PROTO_LDAP: u32 = 1021;
pub(crate) const PROTO_SESSION_FIXATION: u32 = 1022;
pub(crate) const PROTO_MULTIPART_LAX: u32 = 1023;
pub(crate) const PROTO_MULTIPART_CHARSET: u32 = 1024;
pub(crate) const PROTO_UNKNOWN_METHOD: u32 = 1025;
pub(crate) const PROTO_FULLWIDTH_ESCAPE: u32 = 1026;
pub(crate) const PROTO_SCANNER_UA: u32 = 1027;
pub(crate) const PROTO_HOST_INVALID: u32 = 1028;
pub(crate) const PROTO_RANGE_INVALID: u32 = 1029;
pub(crate) const PROTO_RANGE_NO_UNIT: u32 = 1030;
pub(crate) const PROTO_FORWARDING_HEADER: u32 = 1031;
pub(crate) const PROTO_H2C_UPGRADE: u32 = 1032;
pub(crate) const PROTO_LOOPBACK_CLIENT: u32 = 1033;
pub(crate) const PROTO_PATH_OVERRIDE: u32 = 1034;
pub(crate) const PROTO_SAFE_METHOD_OVERRIDE: u32 = 1035;
pub(crate) const PROTO_JWT_ALG_NONE: u32 = 1036;
pub(crate) const PROTO_INTERNAL_HEADER: u32 = 1037;
pub(crate) const PROTO_XXE: u32 = 1038;
pub(crate) const PROTO_EXTERNAL_DTD: u32 = 1039;
pub(crate) const PROTO_HOP_BY_HOP: u32 = 1040;
pub(crate) const PROTO_AUTHORIZATION_LIST: u32 = 1041;
pub(crate) const PROTO_METHOD_OVERRIDE_CONFLICT: u32 = 1042;
pub(crate) const PROTO_XPATH: u32 = 1043;
pub(crate) const PROTO_TRACE_METHOD: u32 = 1044;
pub(crate) const PROTO_METHOD_OVERRIDE_SAFE: u32 = 1045;
pub(crate) const PROTO_JSON_DUPLICATE_KEY: u32 = 1046;
pub(crate) const PROTO_FRAMING: u32 = 1047;
pub(crate) const PROTO_GRAPHQL_INTROSPECTION: u32 = 1048;
pub(crate) const PROTO_GRAPHQL_LIMITS: u32 = 1049;
pub(crate) const PROTO_GRAPHQL_URL_MUTATION: u32 = 1050;
pub(crate) const PROTO_BEARER_SYNTAX: u32 = 1051;
pub(crate) const PROTO_DOUBLE_ENCODED: u32 = 1052;
pub(crate) const PROTO_FULLWIDTH_PATH: u32 = 1053;
pub(crate) const PROTO_XMLRPC_LOGINS: u32 = 1054;
pub(crate) const PROTO_SECRET_FIELD: u32 = 1055;
pub(crate) const PROTO_EMPTY_PATH_PARAMETER: u32 = 1056;
pub(crate) const PROTO_REDOS: u32 = 1057;
pub(crate) const PROTO_SAML_WRAPPING: u32 = 1058;

// Header splitting / smuggling through inputs.
pub(crate) const HS_HEADER_CRLF: u32 = 1100;
pub(crate) const HS_ARG_HEADER_INJECTION: u32 = 1101;
pub(crate) const HS_ARG_REQUEST_SMUGGLING: u32 = 1102;
pub(crate) const HS_ARG_NEWLINE: u32 = 1103;
pub(crate) const HS_CT_BOUNDARY: u32 = 1104;
pub(crate) const HS_HEADER_NAME: u32 = 1105;
pub(crate) const HS_PATH_NEWLINE: u32 = 1106;
pub(crate) const HS_LOG_FORGING: u32 = 1107;
pub(crate) const HS_ARG_ASSIGNMENT: u32 = 1108;

// LFI.
pub(crate) const LFI_TRAVERSAL: u32 = 1200;
pub(crate) const LFI_OS_FILE: u32 = 1201;
pub(crate) const LFI_HIDDEN_PATH: u32 = 1202;
pub(crate) const LFI_TRAVERSAL_ENCODED: u32 = 1203;
pub(crate) const LFI_HIDDEN_PATH_LOOSE: u32 = 1204;
pub(crate) const LFI_OS_FILE_MENTION: u32 = 1205;
pub(crate) const LFI_ARCHIVE_ESCAPE: u32 = 1206;

// RFI.
pub(crate) const RFI_IP_URL: u32 = 1300;
pub(crate) const RFI_TRAILING_QUESTION: u32 = 1301;
pub(crate) const RFI_WRAPPER_SCHEME: u32 = 1302;
pub(crate) const RFI_INCLUDE_PARAM: u32 = 1303;
pub(crate) const RFI_OFFSITE_URL: u32 = 1304;

// SSRF.
pub(crate) const SSRF_INTERNAL: u32 = 1400;
pub(crate) const SSRF_METADATA: u32 = 1401;
pub(crate) const SSRF_OBFUSCATED_IP: u32 = 1402;
pub(crate) const SSRF_BARE_INTERNAL: u32 = 1403;
pub(crate) const SSRF_HOST_OVERRIDE: u32 = 1404;
pub(crate) const SSRF_METADATA_ROOT: u32 = 1405;
pub(crate) const SSRF_SCHEMELESS_INTERNAL: u32 = 1406;
pub(crate) const SSRF_TARGET_CONFUSION: u32 = 1407;
pub(crate) const SSRF_OPEN_REDIRECT: u32 = 1408;

// RCE.
pub(crate) const RCE_CHAINED_COMMAND: u32 = 1500;
pub(crate) const RCE_SUBSTITUTION: u32 = 1501;
pub(crate) const RCE_OBFUSCATED_COMMAND: u32 = 1502;
pub(crate) const RCE_SHELLSHOCK: u32 = 1503;
pub(crate) const RCE_GLOB_PATH: u32 = 1504;
pub(crate) const RCE_WINDOWS: u32 = 1505;
pub(crate) const RCE_LEADING_COMMAND: u32 = 1506;
pub(crate) const RCE_SSTI: u32 = 1507;
pub(crate) const RCE_SSTI_LOOSE: u32 = 1508;
pub(crate) const RCE_BRACE_EXPANSION: u32 = 1509;
pub(crate) const RCE_SHELL_VARIABLE: u32 = 1510;
pub(crate) const RCE_UPLOAD_SCRIPT: u32 = 1511;
pub(crate) const RCE_LEADING_LOOSE: u32 = 1512;
pub(crate) const RCE_WINDOWS_BATCH: u32 = 1513;
pub(crate) const RCE_CODE_SPAN_LOOSE: u32 = 1514;
pub(crate) const RCE_ARGUMENT_INJECTION: u32 = 1515;
pub(crate) const RCE_YAML_TAG: u32 = 1516;
pub(crate) const RCE_FORMULA: u32 = 1517;
pub(crate) const RCE_UPLOAD_PROGRAM: u32 = 1518;
pub(crate) const RCE_CONVERTER_COMMAND: u32 = 1519;
pub(crate) const RCE_ALIAS: u32 = 1520;
pub(crate) const RCE_PICKLE: u32 = 1521;
pub(crate) const RCE_UPLOAD_DISGUISED: u32 = 1522;
pub(crate) const RCE_RUBY: u32 = 1523;
pub(crate) const RCE_REDIS: u32 = 1524;
pub(crate) const RCE_TEX_SHELL: u32 = 1525;

// PHP.
pub(crate) const PHP_OPEN_TAG: u32 = 1600;
pub(crate) const PHP_WRAPPER: u32 = 1601;
pub(crate) const PHP_FUNCTION_CALL: u32 = 1602;
pub(crate) const PHP_SUPERGLOBAL: u32 = 1603;
pub(crate) const PHP_OBJECT: u32 = 1604;
pub(crate) const PHP_VARIABLE_CALL: u32 = 1605;
pub(crate) const PHP_UPLOAD: u32 = 1606;
pub(crate) const PHP_FUNCTION_LOOSE: u32 = 1607;
pub(crate) const PHP_CALLBACK_PARAM: u32 = 1608;
pub(crate) const PHP_TYPE_JUGGLING: u32 = 1609;
pub(crate) const PHP_PATH_INFO: u32 = 1610;

// Java.
pub(crate) const JAVA_JNDI: u32 = 1700;
pub(crate) const JAVA_CLASS: u32 = 1701;
pub(crate) const JAVA_DESERIALISATION: u32 = 1702;
pub(crate) const JAVA_EXPRESSION: u32 = 1703;
pub(crate) const JAVA_CLASSLOADER: u32 = 1704;
pub(crate) const JAVA_LOOKUP_LOOSE: u32 = 1705;
pub(crate) const JAVA_BASE64_GADGET: u32 = 1706;
pub(crate) const JAVA_BASE64_KEYWORD: u32 = 1707;
pub(crate) const JAVA_UPLOAD: u32 = 1708;
pub(crate) const JAVA_JDBC: u32 = 1709;

// Node / JS.
pub(crate) const NODE_PROTOTYPE: u32 = 1800;
pub(crate) const NODE_INJECTION: u32 = 1801;

// XSS.
pub(crate) const XSS_LIBINJECTION: u32 = 2000;
pub(crate) const XSS_SCRIPT_TAG: u32 = 2001;
pub(crate) const XSS_EVENT_HANDLER: u32 = 2002;
pub(crate) const XSS_JS_URI: u32 = 2003;
pub(crate) const XSS_DANGEROUS_TAG: u32 = 2004;
pub(crate) const XSS_DATA_URI: u32 = 2005;
pub(crate) const XSS_CSS_EXPRESSION: u32 = 2006;
pub(crate) const XSS_JS_SINK: u32 = 2007;
pub(crate) const XSS_JSFUCK: u32 = 2008;
pub(crate) const XSS_ANY_TAG: u32 = 2009;
pub(crate) const XSS_ATTRIBUTE_BREAKOUT: u32 = 2010;
pub(crate) const XSS_JS_STRONG: u32 = 2011;
pub(crate) const XSS_ENCODED_MARKUP: u32 = 2012;

// SQLi.
pub(crate) const SQLI_LIBINJECTION: u32 = 2100;
pub(crate) const SQLI_UNION: u32 = 2101;
pub(crate) const SQLI_TAUTOLOGY: u32 = 2102;
pub(crate) const SQLI_STACKED: u32 = 2103;
pub(crate) const SQLI_FUNCTION: u32 = 2104;
pub(crate) const SQLI_COMMENT: u32 = 2105;
pub(crate) const SQLI_SCHEMA: u32 = 2106;
pub(crate) const SQLI_OPERATOR: u32 = 2107;
pub(crate) const SQLI_KEYWORD_LOOSE: u32 = 2108;
pub(crate) const SQLI_QUOTE_BREAKOUT: u32 = 2109;
pub(crate) const SQLI_JSON_OPERATOR: u32 = 2110;
pub(crate) const SQLI_NOSQL: u32 = 2111;
pub(crate) const SQLI_STATEMENT: u32 = 2112;
pub(crate) const SQLI_COMMENT_TAIL: u32 = 2113;
pub(crate) const SQLI_NOSQL_LOOSE: u32 = 2114;
pub(crate) const SQLI_EXEC_COMMENT: u32 = 2115;
pub(crate) const SQLI_QUERY_LANGUAGE: u32 = 2116;

const fn r(
    id: u32,
    family: Family,
    paranoia: u8,
    severity: Severity,
    message: &'static str,
) -> RuleInfo {
    RuleInfo {
        id,
        family,
        paranoia,
        severity,
        message,
    }
}

use Family as F;
use Severity as S;

static CATALOGUE: &[RuleInfo] = &[
    r(
        PROTO_LIMIT,
        F::Protocol,
        1,
        S::Critical,
        "inspection budget exceeded: request not fully inspected",
    ),
    r(
        PROTO_TRUNCATED,
        F::Protocol,
        2,
        S::Notice,
        "value longer than the inspection limit",
    ),
    r(
        PROTO_TOO_MANY_ARGS,
        F::Protocol,
        1,
        S::Critical,
        "too many arguments",
    ),
    r(
        PROTO_MULTI_CONTENT_TYPE,
        F::Protocol,
        1,
        S::Critical,
        "multiple Content-Type headers",
    ),
    r(
        PROTO_BODY_NO_CONTENT_TYPE,
        F::Protocol,
        2,
        S::Notice,
        "request body without Content-Type",
    ),
    r(
        PROTO_BODY_MALFORMED,
        F::Protocol,
        1,
        S::Error,
        "request body does not parse as its Content-Type",
    ),
    r(
        PROTO_NUL,
        F::Protocol,
        1,
        S::Critical,
        "NUL byte in an input",
    ),
    r(
        PROTO_BAD_ESCAPE,
        F::Protocol,
        2,
        S::Warning,
        "invalid percent-encoding",
    ),
    r(
        PROTO_NON_UTF8,
        F::Protocol,
        2,
        S::Warning,
        "input is not valid UTF-8",
    ),
    r(
        PROTO_MISSING_UA,
        F::Protocol,
        3,
        S::Notice,
        "missing or empty User-Agent",
    ),
    r(
        PROTO_MULTIPART,
        F::Protocol,
        1,
        S::Critical,
        "malformed or ambiguous multipart body",
    ),
    r(
        PROTO_CHARSET,
        F::Protocol,
        1,
        S::Critical,
        "request charset not allowed",
    ),
    r(
        PROTO_CONTENT_LENGTH,
        F::Protocol,
        1,
        S::Critical,
        "invalid Content-Length",
    ),
    r(
        PROTO_CONTROL_CHARS,
        F::Protocol,
        2,
        S::Warning,
        "control characters in an input",
    ),
    r(
        PROTO_METHOD_OVERRIDE,
        F::Protocol,
        2,
        S::Critical,
        "HTTP method override",
    ),
    r(
        PROTO_RESTRICTED_EXT,
        F::Protocol,
        1,
        S::Critical,
        "request for a backup, source or config file",
    ),
    r(
        PROTO_CONTENT_TYPE,
        F::Protocol,
        1,
        S::Critical,
        "malformed or unexpected Content-Type",
    ),
    r(
        PROTO_GET_BODY,
        F::Protocol,
        1,
        S::Error,
        "GET or HEAD request with a body",
    ),
    r(
        PROTO_HOST,
        F::Protocol,
        2,
        S::Warning,
        "Host header missing, empty or an IP literal",
    ),
    r(
        PROTO_RANGE,
        F::Protocol,
        2,
        S::Critical,
        "abusive Range header",
    ),
    r(
        PROTO_RESTRICTED_HEADER,
        F::Protocol,
        1,
        S::Critical,
        "restricted request header",
    ),
    r(
        PROTO_LDAP,
        F::Protocol,
        1,
        S::Critical,
        "LDAP filter injection",
    ),
    r(
        PROTO_SESSION_FIXATION,
        F::Protocol,
        1,
        S::Critical,
        "session fixation: session id parameter from another site",
    ),
    r(
        PROTO_MULTIPART_LAX,
        F::Protocol,
        1,
        S::Warning,
        "multipart part without headers or closing boundary",
    ),
    r(
        PROTO_MULTIPART_CHARSET,
        F::Protocol,
        1,
        S::Critical,
        "multipart part in an unreadable charset or with Content-Transfer-Encoding",
    ),
    r(
        PROTO_UNKNOWN_METHOD,
        F::Protocol,
        1,
        S::Critical,
        "request method outside HTTP's registered methods",
    ),
    r(
        PROTO_FULLWIDTH_ESCAPE,
        F::Protocol,
        1,
        S::Critical,
        "%u escape of a full-width character in the target (IIS decoding evasion)",
    ),
    r(
        PROTO_SCANNER_UA,
        F::Protocol,
        1,
        S::Critical,
        "User-Agent of a vulnerability scanner or attack tool",
    ),
    r(
        PROTO_HOST_INVALID,
        F::Protocol,
        1,
        S::Critical,
        "Host header that is not a host name, IP literal and port",
    ),
    r(
        PROTO_RANGE_INVALID,
        F::Protocol,
        1,
        S::Critical,
        "Range header with a range that ends before it starts, or is not a byte range",
    ),
    r(
        PROTO_RANGE_NO_UNIT,
        F::Protocol,
        3,
        S::Critical,
        "Range header without a unit",
    ),
    r(
        PROTO_FORWARDING_HEADER,
        F::Protocol,
        1,
        S::Critical,
        "forwarding or Origin header holds more than addresses, hosts or ports",
    ),
    r(
        PROTO_H2C_UPGRADE,
        F::Protocol,
        1,
        S::Critical,
        "request asks to upgrade to cleartext HTTP/2 (h2c smuggling)",
    ),
    r(
        PROTO_LOOPBACK_CLIENT,
        F::Protocol,
        1,
        S::Critical,
        "client address header claims a loopback address",
    ),
    r(
        PROTO_PATH_OVERRIDE,
        F::Protocol,
        1,
        S::Critical,
        "X-Original-URL or X-Rewrite-URL names another path than the request line",
    ),
    r(
        PROTO_SAFE_METHOD_OVERRIDE,
        F::Protocol,
        1,
        S::Critical,
        "GET, HEAD or OPTIONS request overrides its method to another",
    ),
    r(
        PROTO_JWT_ALG_NONE,
        F::Protocol,
        1,
        S::Critical,
        "bearer token is an unsigned JWT (alg none)",
    ),
    r(
        PROTO_INTERNAL_HEADER,
        F::Protocol,
        1,
        S::Critical,
        "a framework's internal header sent by the client (x-middleware-subrequest)",
    ),
    r(
        PROTO_XXE,
        F::Protocol,
        1,
        S::Critical,
        "XML entity declaration, internal DTD or non-HTTP external DTD (XXE)",
    ),
    r(
        PROTO_EXTERNAL_DTD,
        F::Protocol,
        2,
        S::Warning,
        "XML document type loaded from a URL",
    ),
    r(
        PROTO_HOP_BY_HOP,
        F::Protocol,
        1,
        S::Critical,
        "Connection names an end-to-end header for the proxy to drop",
    ),
    r(
        PROTO_AUTHORIZATION_LIST,
        F::Protocol,
        1,
        S::Critical,
        "several credentials in Authorization",
    ),
    r(
        PROTO_METHOD_OVERRIDE_CONFLICT,
        F::Protocol,
        1,
        S::Critical,
        "method overrides that name different methods",
    ),
    r(PROTO_XPATH, F::Protocol, 1, S::Critical, "XPath injection"),
    r(
        PROTO_TRACE_METHOD,
        F::Protocol,
        1,
        S::Critical,
        "TRACE, TRACK or DEBUG method",
    ),
    r(
        PROTO_METHOD_OVERRIDE_SAFE,
        F::Protocol,
        1,
        S::Critical,
        "GET or HEAD request overridden to a method that changes state",
    ),
    r(
        PROTO_JSON_DUPLICATE_KEY,
        F::Protocol,
        1,
        S::Critical,
        "JSON object with a repeated key",
    ),
    r(
        PROTO_FRAMING,
        F::Protocol,
        1,
        S::Critical,
        "Transfer-Encoding on GET or HEAD, or other than one plain chunked",
    ),
    r(
        PROTO_GRAPHQL_INTROSPECTION,
        F::Protocol,
        1,
        S::Critical,
        "GraphQL introspection of the schema (__schema, __type)",
    ),
    r(
        PROTO_GRAPHQL_LIMITS,
        F::Protocol,
        1,
        S::Critical,
        "GraphQL limits: depth, list sizes, aliases, directives, batch, fragments",
    ),
    r(
        PROTO_GRAPHQL_URL_MUTATION,
        F::Protocol,
        1,
        S::Critical,
        "GraphQL mutation in a URL or form body (cross-site request forgery)",
    ),
    r(
        PROTO_BEARER_SYNTAX,
        F::Protocol,
        1,
        S::Critical,
        "bearer token with quotes, brackets or separators (not a b64token)",
    ),
    r(
        PROTO_DOUBLE_ENCODED,
        F::Protocol,
        1,
        S::Critical,
        "letter, digit or -._~ percent-encoded twice in the path",
    ),
    r(
        PROTO_FULLWIDTH_PATH,
        F::Protocol,
        1,
        S::Critical,
        "path segment of Latin letters spelled in full-width forms",
    ),
    r(
        PROTO_XMLRPC_LOGINS,
        F::Protocol,
        1,
        S::Critical,
        "XML-RPC multicall that batches login checks (password guessing)",
    ),
    r(
        PROTO_SECRET_FIELD,
        F::Protocol,
        1,
        S::Critical,
        "request asks for a password hash, a reset token or a session token",
    ),
    r(
        PROTO_EMPTY_PATH_PARAMETER,
        F::Protocol,
        1,
        S::Critical,
        "path parameter that hides a segment or fakes an extension (`;/`, `;.jsp`)",
    ),
    r(
        PROTO_REDOS,
        F::Protocol,
        1,
        S::Critical,
        "regular expression whose quantified group holds a quantifier (ReDoS)",
    ),
    r(
        PROTO_SAML_WRAPPING,
        F::Protocol,
        1,
        S::Critical,
        "SAML message with a second assertion or a comment inside a value",
    ),
    r(
        HS_HEADER_CRLF,
        F::HeaderSplitting,
        1,
        S::Critical,
        "CR or LF in a header value",
    ),
    r(
        HS_ARG_HEADER_INJECTION,
        F::HeaderSplitting,
        1,
        S::Critical,
        "header injection: newline followed by a header",
    ),
    r(
        HS_ARG_REQUEST_SMUGGLING,
        F::HeaderSplitting,
        1,
        S::Critical,
        "request smuggling: newline followed by a request line or mail command",
    ),
    r(
        HS_ARG_NEWLINE,
        F::HeaderSplitting,
        2,
        S::Critical,
        "CR or LF in a name, cookie or path",
    ),
    r(
        HS_CT_BOUNDARY,
        F::HeaderSplitting,
        1,
        S::Critical,
        "boundary or charset smuggled into Content-Type",
    ),
    r(
        HS_HEADER_NAME,
        F::HeaderSplitting,
        1,
        S::Critical,
        "invalid character in a header name",
    ),
    r(
        HS_PATH_NEWLINE,
        F::HeaderSplitting,
        1,
        S::Critical,
        "CR or LF in the request path",
    ),
    r(
        HS_LOG_FORGING,
        F::HeaderSplitting,
        1,
        S::Critical,
        "log forging: a forged log line or a terminal control sequence",
    ),
    r(
        HS_ARG_ASSIGNMENT,
        F::HeaderSplitting,
        1,
        S::Critical,
        "line break and an assignment after a one-word parameter value",
    ),
    r(LFI_TRAVERSAL, F::Lfi, 1, S::Critical, "path traversal"),
    r(
        LFI_OS_FILE,
        F::Lfi,
        1,
        S::Critical,
        "access to a sensitive OS or application file",
    ),
    r(
        LFI_HIDDEN_PATH,
        F::Lfi,
        1,
        S::Critical,
        "request for a dot-file that holds secrets or version-control data",
    ),
    r(
        LFI_TRAVERSAL_ENCODED,
        F::Lfi,
        1,
        S::Critical,
        "encoded path traversal",
    ),
    r(
        LFI_HIDDEN_PATH_LOOSE,
        F::Lfi,
        2,
        S::Critical,
        "request for a hidden file or directory",
    ),
    r(
        LFI_OS_FILE_MENTION,
        F::Lfi,
        2,
        S::Critical,
        "a sensitive OS file named in prose",
    ),
    r(
        LFI_ARCHIVE_ESCAPE,
        F::Lfi,
        1,
        S::Critical,
        "archive member written outside the folder it is unpacked into",
    ),
    r(
        RFI_IP_URL,
        F::Rfi,
        1,
        S::Critical,
        "remote file inclusion: URL with an IP literal host",
    ),
    r(
        RFI_TRAILING_QUESTION,
        F::Rfi,
        1,
        S::Critical,
        "remote file inclusion: URL cut short by '?', '#' or an empty parameter",
    ),
    r(
        RFI_WRAPPER_SCHEME,
        F::Rfi,
        1,
        S::Critical,
        "remote file inclusion: stream wrapper scheme",
    ),
    r(
        RFI_INCLUDE_PARAM,
        F::Rfi,
        1,
        S::Critical,
        "remote file inclusion: URL in an include parameter",
    ),
    r(
        RFI_OFFSITE_URL,
        F::Rfi,
        2,
        S::Critical,
        "URL in a parameter",
    ),
    r(
        SSRF_INTERNAL,
        F::Ssrf,
        1,
        S::Critical,
        "SSRF: URL to a loopback or private address",
    ),
    r(
        SSRF_METADATA,
        F::Ssrf,
        1,
        S::Critical,
        "SSRF: cloud metadata endpoint",
    ),
    r(
        SSRF_OBFUSCATED_IP,
        F::Ssrf,
        1,
        S::Critical,
        "SSRF: obfuscated IP address in a URL",
    ),
    r(
        SSRF_BARE_INTERNAL,
        F::Ssrf,
        2,
        S::Critical,
        "SSRF: loopback or metadata host without scheme",
    ),
    r(
        SSRF_HOST_OVERRIDE,
        F::Ssrf,
        1,
        S::Critical,
        "SSRF: host override header names a loopback or metadata host",
    ),
    r(
        SSRF_METADATA_ROOT,
        F::Ssrf,
        2,
        S::Critical,
        "SSRF: header-gated metadata host named without a path",
    ),
    r(
        SSRF_SCHEMELESS_INTERNAL,
        F::Ssrf,
        1,
        S::Critical,
        "SSRF: URL without its scheme to a loopback or internal host",
    ),
    r(
        SSRF_TARGET_CONFUSION,
        F::Ssrf,
        1,
        S::Critical,
        "SSRF: query string that starts with @host/ (a back end rebuilds the URL)",
    ),
    r(
        SSRF_OPEN_REDIRECT,
        F::Ssrf,
        1,
        S::Critical,
        "open redirect: disguised off-site URL in a redirect parameter",
    ),
    r(
        RCE_CHAINED_COMMAND,
        F::Rce,
        1,
        S::Critical,
        "command injection: separator followed by a command",
    ),
    r(
        RCE_SUBSTITUTION,
        F::Rce,
        1,
        S::Critical,
        "command injection: command substitution",
    ),
    r(
        RCE_OBFUSCATED_COMMAND,
        F::Rce,
        1,
        S::Critical,
        "command injection: obfuscated command word",
    ),
    r(
        RCE_SHELLSHOCK,
        F::Rce,
        1,
        S::Critical,
        "shellshock function definition",
    ),
    r(
        RCE_GLOB_PATH,
        F::Rce,
        1,
        S::Critical,
        "command injection: globbed system path",
    ),
    r(
        RCE_WINDOWS,
        F::Rce,
        1,
        S::Critical,
        "command injection: Windows command",
    ),
    r(
        RCE_LEADING_COMMAND,
        F::Rce,
        1,
        S::Critical,
        "command injection: value is a shell command line",
    ),
    r(
        RCE_SSTI,
        F::Rce,
        1,
        S::Critical,
        "server-side template injection",
    ),
    r(
        RCE_SSTI_LOOSE,
        F::Rce,
        2,
        S::Critical,
        "template expression",
    ),
    r(
        RCE_BRACE_EXPANSION,
        F::Rce,
        1,
        S::Critical,
        "command injection: brace expansion",
    ),
    r(
        RCE_SHELL_VARIABLE,
        F::Rce,
        2,
        S::Critical,
        "shell variable or redirection",
    ),
    r(
        RCE_UPLOAD_SCRIPT,
        F::Rce,
        1,
        S::Critical,
        "upload of a script the web server runs",
    ),
    r(
        RCE_LEADING_LOOSE,
        F::Rce,
        2,
        S::Critical,
        "value starts with a command",
    ),
    r(
        RCE_WINDOWS_BATCH,
        F::Rce,
        1,
        S::Critical,
        "command injection: Windows batch FOR/IF syntax",
    ),
    r(
        RCE_CODE_SPAN_LOOSE,
        F::Rce,
        2,
        S::Critical,
        "command word in backticks within prose",
    ),
    r(
        RCE_ARGUMENT_INJECTION,
        F::Rce,
        1,
        S::Critical,
        "command injection: an option that makes a tool run a command",
    ),
    r(
        RCE_YAML_TAG,
        F::Rce,
        1,
        S::Critical,
        "command injection: YAML tag that builds an object (PyYAML, SnakeYAML, Ruby)",
    ),
    r(
        RCE_FORMULA,
        F::Rce,
        1,
        S::Critical,
        "spreadsheet formula that runs a command (DDE) or sends cells to a URL",
    ),
    r(
        RCE_UPLOAD_PROGRAM,
        F::Rce,
        2,
        S::Warning,
        "upload of a shell script, program or archive to run",
    ),
    r(
        RCE_CONVERTER_COMMAND,
        F::Rce,
        1,
        S::Critical,
        "document or image converter told to run a command",
    ),
    r(
        RCE_ALIAS,
        F::Rce,
        1,
        S::Critical,
        "command injection: shell alias defined to run a command under another name",
    ),
    r(
        RCE_PICKLE,
        F::Rce,
        1,
        S::Critical,
        "code execution: Python pickle that imports a command runner",
    ),
    r(
        RCE_UPLOAD_DISGUISED,
        F::Rce,
        1,
        S::Critical,
        "file name with a right-to-left override that disguises its extension",
    ),
    r(
        RCE_RUBY,
        F::Rce,
        1,
        S::Critical,
        "code execution: Ruby call that runs a command, or a gadget class to load",
    ),
    r(
        RCE_REDIS,
        F::Rce,
        1,
        S::Critical,
        "Redis command that writes files or loads code",
    ),
    r(
        RCE_TEX_SHELL,
        F::Rce,
        1,
        S::Critical,
        "TeX shell escape: \\write18 or \\input of a command",
    ),
    r(PHP_OPEN_TAG, F::Php, 1, S::Critical, "PHP open tag"),
    r(PHP_WRAPPER, F::Php, 1, S::Critical, "PHP stream wrapper"),
    r(
        PHP_FUNCTION_CALL,
        F::Php,
        1,
        S::Critical,
        "PHP dangerous function call",
    ),
    r(
        PHP_SUPERGLOBAL,
        F::Php,
        1,
        S::Critical,
        "PHP superglobal or config directive",
    ),
    r(PHP_OBJECT, F::Php, 1, S::Critical, "PHP serialised object"),
    r(
        PHP_VARIABLE_CALL,
        F::Php,
        1,
        S::Critical,
        "PHP variable function call",
    ),
    r(PHP_UPLOAD, F::Php, 1, S::Critical, "upload of a PHP script"),
    r(
        PHP_FUNCTION_LOOSE,
        F::Php,
        2,
        S::Critical,
        "PHP function call",
    ),
    r(
        PHP_CALLBACK_PARAM,
        F::Php,
        1,
        S::Critical,
        "PHP callback named by a parameter (ThinkPHP, Drupal render array)",
    ),
    r(
        PHP_TYPE_JUGGLING,
        F::Php,
        1,
        S::Critical,
        "password given as true, 0 or an array (loose comparison)",
    ),
    r(
        PHP_PATH_INFO,
        F::Php,
        1,
        S::Critical,
        "PHP script name after an uploaded file's (cgi.fix_pathinfo)",
    ),
    r(
        JAVA_JNDI,
        F::Java,
        1,
        S::Critical,
        "JNDI, Log4j or Commons Text lookup",
    ),
    r(
        JAVA_CLASS,
        F::Java,
        1,
        S::Critical,
        "Java class or gadget name",
    ),
    r(
        JAVA_DESERIALISATION,
        F::Java,
        1,
        S::Critical,
        "Java or .NET serialised object",
    ),
    r(
        JAVA_EXPRESSION,
        F::Java,
        1,
        S::Critical,
        "OGNL / EL expression with a method call",
    ),
    r(
        JAVA_CLASSLOADER,
        F::Java,
        1,
        S::Critical,
        "class loader manipulation",
    ),
    r(
        JAVA_LOOKUP_LOOSE,
        F::Java,
        2,
        S::Critical,
        "lookup or expression syntax",
    ),
    r(
        JAVA_BASE64_GADGET,
        F::Java,
        1,
        S::Critical,
        "base64-encoded deserialisation gadget (Java, .NET, Ruby, pickle, node)",
    ),
    r(
        JAVA_BASE64_KEYWORD,
        F::Java,
        3,
        S::Critical,
        "base64-encoded Java keyword (runtime, getproperty, filewriter)",
    ),
    r(
        JAVA_UPLOAD,
        F::Java,
        1,
        S::Critical,
        "Java server page (.jsp, .jspx) named in an upload header",
    ),
    r(
        JAVA_JDBC,
        F::Java,
        1,
        S::Critical,
        "JDBC URL with an option that runs a script or deserialises (H2 INIT, MySQL)",
    ),
    r(
        NODE_PROTOTYPE,
        F::Node,
        1,
        S::Critical,
        "prototype pollution",
    ),
    r(
        NODE_INJECTION,
        F::Node,
        1,
        S::Critical,
        "server-side JavaScript injection",
    ),
    r(
        XSS_LIBINJECTION,
        F::Xss,
        1,
        S::Critical,
        "XSS detected by libinjection",
    ),
    r(XSS_SCRIPT_TAG, F::Xss, 1, S::Critical, "XSS: script tag"),
    r(
        XSS_EVENT_HANDLER,
        F::Xss,
        1,
        S::Critical,
        "XSS: event handler attribute",
    ),
    r(
        XSS_JS_URI,
        F::Xss,
        1,
        S::Critical,
        "XSS: javascript: or vbscript: URI",
    ),
    r(
        XSS_DANGEROUS_TAG,
        F::Xss,
        1,
        S::Critical,
        "XSS: dangerous HTML element",
    ),
    r(
        XSS_DATA_URI,
        F::Xss,
        1,
        S::Critical,
        "XSS: data: URI with active content",
    ),
    r(
        XSS_CSS_EXPRESSION,
        F::Xss,
        1,
        S::Critical,
        "XSS: CSS expression or import",
    ),
    r(
        XSS_JS_SINK,
        F::Xss,
        2,
        S::Critical,
        "XSS: JavaScript sink or call",
    ),
    r(
        XSS_JSFUCK,
        F::Xss,
        1,
        S::Critical,
        "XSS: JSFuck-style obfuscation",
    ),
    r(XSS_ANY_TAG, F::Xss, 2, S::Critical, "HTML tag in an input"),
    r(
        XSS_ATTRIBUTE_BREAKOUT,
        F::Xss,
        2,
        S::Critical,
        "XSS: quote breakout into an attribute",
    ),
    r(
        XSS_JS_STRONG,
        F::Xss,
        1,
        S::Critical,
        "XSS: DOM access or dialog call",
    ),
    r(
        XSS_ENCODED_MARKUP,
        F::Xss,
        1,
        S::Critical,
        "XSS: UTF-7 encoded markup",
    ),
    r(
        SQLI_LIBINJECTION,
        F::Sqli,
        1,
        S::Critical,
        "SQL injection detected by libinjection",
    ),
    r(
        SQLI_UNION,
        F::Sqli,
        1,
        S::Critical,
        "SQL injection: UNION SELECT",
    ),
    r(
        SQLI_TAUTOLOGY,
        F::Sqli,
        1,
        S::Critical,
        "SQL injection: tautology",
    ),
    r(
        SQLI_STACKED,
        F::Sqli,
        1,
        S::Critical,
        "SQL injection: stacked query",
    ),
    r(
        SQLI_FUNCTION,
        F::Sqli,
        1,
        S::Critical,
        "SQL injection: dangerous SQL function",
    ),
    r(
        SQLI_COMMENT,
        F::Sqli,
        2,
        S::Critical,
        "SQL comment sequence",
    ),
    r(
        SQLI_SCHEMA,
        F::Sqli,
        1,
        S::Critical,
        "SQL injection: schema or system table access",
    ),
    r(
        SQLI_OPERATOR,
        F::Sqli,
        2,
        S::Critical,
        "SQL operator or keyword sequence",
    ),
    r(
        SQLI_KEYWORD_LOOSE,
        F::Sqli,
        3,
        S::Critical,
        "SQL keyword in an input",
    ),
    r(
        SQLI_QUOTE_BREAKOUT,
        F::Sqli,
        2,
        S::Critical,
        "SQL injection: quote followed by SQL",
    ),
    r(
        SQLI_JSON_OPERATOR,
        F::Sqli,
        1,
        S::Critical,
        "SQL injection: JSON operator or cast on a string",
    ),
    r(
        SQLI_NOSQL,
        F::Sqli,
        1,
        S::Critical,
        "NoSQL injection: script operator, operator on a credential or matching all",
    ),
    r(
        SQLI_STATEMENT,
        F::Sqli,
        1,
        S::Critical,
        "SQL injection: statement structure",
    ),
    r(
        SQLI_COMMENT_TAIL,
        F::Sqli,
        1,
        S::Critical,
        "SQL injection: a name that closes its string and comments out the rest",
    ),
    r(
        SQLI_NOSQL_LOOSE,
        F::Sqli,
        2,
        S::Critical,
        "NoSQL query operator in a name",
    ),
    r(
        SQLI_EXEC_COMMENT,
        F::Sqli,
        1,
        S::Critical,
        "SQL injection: MySQL executable comment opening a statement word",
    ),
    r(
        SQLI_QUERY_LANGUAGE,
        F::Sqli,
        1,
        S::Critical,
        "injection into a graph, search or metrics query (Cypher, AQL, Lucene, PromQL)",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_sorted_and_unique() {
        for w in CATALOGUE.windows(2) {
            assert!(w[0].id < w[1].id, "{} before {}", w[0].id, w[1].id);
        }
        for r in CATALOGUE {
            assert!((1..=4).contains(&r.paranoia));
            assert!(r.message.len() < 80);
        }
    }

    #[test]
    fn family_names_round_trip() {
        for f in Family::ALL {
            assert_eq!(Family::from_name(f.as_str()), Some(f));
        }
        assert_eq!(Family::from_name("nope"), None);
    }
}
