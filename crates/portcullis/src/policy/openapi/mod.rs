//! The `openapi` stage: a route group validated against an OpenAPI 3.0 or 3.1 document.
//!
//! The document is read once when the config compiles. Each request is matched to one
//! operation (path template and method, after the group's base path); with
//! `reject_unknown` (the default) anything the document does not describe is refused, which is
//! the positive security model: 404 for an unknown path, 405 with `Allow` for an unknown
//! method. The operation's path, query, header and cookie parameters are then checked
//! (required, type, enum, pattern, bounds: whatever their schema says) and so is a JSON request
//! body. Violations are listed as pointers and keywords, never values. The operation's
//! `security` requirement is checked by the authorization stage ([`Located::admits`]), once
//! the caller is known.
//!
//! Schemas are compiled with the `jsonschema` crate: 3.1 documents as JSON Schema 2020-12,
//! 3.0 documents as draft 4 with `nullable` rewritten to a `null` type. Each compiled schema
//! carries a copy of the document's `components` so `#/components/...` references resolve;
//! no other reference is followed (no files, no network).
//!
//! With `responses: detect | block` each operation's `responses` are compiled too, and the
//! upstream's answer is checked after the proxy ([`Api::check_response`], [`responses`]).

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, Method};
use std::sync::Arc;

use serde_json::{Map, Value};

mod params;
mod responses;

pub use responses::Verdict;

use super::schema::MAX_LISTED;
use super::{Decision, Deny, Identity};
use crate::config::error::Collector;
use crate::config::raw::{OpenApiConfig, OpenApiResponsesConfig, OpenApiSecurityConfig};
use crate::policy::authn::names;
use crate::reply::Problem;

/// Largest document read.
const MAX_DOC_BYTES: u64 = 8 * 1024 * 1024;
/// Most `$ref` hops followed for one object.
const MAX_REF_HOPS: usize = 16;

/// The request body as the OpenAPI stage gets it.
#[derive(Debug, Clone, Copy)]
pub enum BodyView<'a> {
    /// No body.
    Absent,
    /// Read into memory.
    Read(&'a Bytes),
    /// There is a body, not read: the operation has no schema for it, or it is longer than the
    /// inspection cap on a route that forwards such bodies uninspected.
    Unread,
}

/// A compiled API description.
pub struct Api {
    base: String,
    reject_unknown: bool,
    paths: Vec<PathItem>,
    /// The document's top-level security requirement, which requests it does not describe
    /// must meet when they pass (`reject_unknown: false`).
    undescribed: Option<Arc<[Alternative]>>,
    /// Whether upstream responses are checked, and what a mismatch does.
    responses: OpenApiResponsesConfig,
    /// Where each operation is, by its index: (path, operation within the path).
    places: Vec<(usize, usize)>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("base", &self.base)
            .field("paths", &self.paths.len())
            .finish_non_exhaustive()
    }
}

struct PathItem {
    segs: Vec<Seg>,
    ops: Vec<Operation>,
}

/// What a search of the document found for a request, owned (see [`Located`]).
#[derive(Debug)]
enum Hit {
    /// `paths[item].ops[pos]`, with the path parameters' raw text in the order of the
    /// template's names.
    Op {
        item: usize,
        pos: usize,
        bound: Vec<String>,
    },
    /// A described path without this method: the methods it has.
    NoMethod(Vec<Method>),
    /// No described path.
    NoPath,
}

/// What the document says of a request, found right after routing by [`Api::locate`] and read
/// by the stage with [`Api::resume`], so the document is searched once.
#[derive(Debug)]
pub struct Located {
    /// The document it was found in.
    api: Arc<Api>,
    hit: Hit,
}

impl Located {
    /// The operation's index ([`Operation::index`]), when the request is one.
    pub fn index(&self) -> Option<usize> {
        self.operation().map(|op| op.index)
    }

    /// The operation found, when the request is one.
    pub fn operation(&self) -> Option<&Operation> {
        match &self.hit {
            Hit::Op { item, pos, .. } => Some(&self.api.paths[*item].ops[*pos]),
            _ => None,
        }
    }

    /// The methods the document gives a described path asked with another method; none
    /// for an operation or an undescribed path.
    pub fn allowed(&self) -> &[Method] {
        match &self.hit {
            Hit::NoMethod(allow) => allow,
            _ => &[],
        }
    }

    /// Whether the caller meets the document's security requirement of the operation found
    /// ([`Operation::admits`]). A request that is no operation meets the document's top-level
    /// one when the route passes such requests, and none when the stage refuses them.
    pub fn admits(&self, identity: Option<&Identity>) -> Result<(), Deny> {
        match self.operation() {
            Some(op) => op.admits(identity),
            None => admits(self.api.undescribed.as_deref(), identity),
        }
    }
}

enum Seg {
    Lit(String),
    Param(String),
    /// Text and parameters in one segment (`{name}.json`, `{from}-{to}`): a pattern anchored
    /// at both ends with one lazy group per parameter, and the parameters' names in order.
    Mixed(regex::Regex, Vec<String>),
}

impl Seg {
    /// The names of the parameters in the segment, in order.
    fn params(&self) -> &[String] {
        match self {
            Seg::Lit(_) => &[],
            Seg::Param(n) => std::slice::from_ref(n),
            Seg::Mixed(_, names) => names,
        }
    }

    /// How concrete a segment is, for ordering paths: literal text, then text with
    /// parameters, then a parameter alone.
    fn rank(&self) -> u8 {
        match self {
            Seg::Lit(_) => 2,
            Seg::Mixed(..) => 1,
            Seg::Param(_) => 0,
        }
    }

    /// One segment of a template: `orders`, `{id}`, or text mixed with parameters.
    fn compile(seg: &str) -> Result<Seg, String> {
        if !seg.contains(['{', '}']) {
            return Ok(Seg::Lit(seg.to_owned()));
        }
        let mut pattern = String::from("^");
        let mut names = Vec::new();
        let mut rest = seg;
        let mut last_was_param = false;
        while !rest.is_empty() {
            match rest.find(['{', '}']) {
                Some(0) if rest.starts_with('{') => {
                    let close = rest[1..]
                        .find('}')
                        .map(|c| c + 1)
                        .filter(|&c| !rest[1..c].contains('{'));
                    let Some(close) = close.filter(|&c| c > 1) else {
                        return Err(format!(
                            "segment {seg:?}: braces must enclose a parameter name, as in `{{id}}`"
                        ));
                    };
                    if last_was_param {
                        return Err(format!(
                            "segment {seg:?}: two parameters with no text between them cannot be told apart"
                        ));
                    }
                    names.push(rest[1..close].to_owned());
                    // `(?s)`: a parameter binds any character, as a whole-segment one does.
                    pattern.push_str("((?s).+?)");
                    rest = &rest[close + 1..];
                    last_was_param = true;
                }
                Some(at) if rest.as_bytes()[at] == b'{' => {
                    pattern.push_str(&regex::escape(&rest[..at]));
                    rest = &rest[at..];
                    last_was_param = false;
                }
                Some(_) => {
                    return Err(format!(
                        "segment {seg:?}: braces must enclose a parameter name, as in `{{id}}`"
                    ));
                }
                None => {
                    pattern.push_str(&regex::escape(rest));
                    rest = "";
                }
            }
        }
        if names.len() == 1 && pattern == "^((?s).+?)" {
            return Ok(Seg::Param(names.swap_remove(0)));
        }
        pattern.push('$');
        let re = regex::Regex::new(&pattern).map_err(|e| format!("segment {seg:?}: {e}"))?;
        Ok(Seg::Mixed(re, names))
    }
}

/// One described operation.
pub struct Operation {
    /// Its `operationId`, or `METHOD /template` when it has none (for the access log).
    pub id: Arc<str>,
    /// `METHOD /template`, as the document writes the template.
    key: Box<str>,
    /// Its place among the document's operations, in matching order.
    index: usize,
    method: Method,
    params: Vec<Param>,
    body: Option<BodySpec>,
    /// Its security requirement: one of these alternatives must be met. `None` when the
    /// document gives none (or `[]`), or the route ignores them.
    security: Option<Arc<[Alternative]>>,
    /// Its `responses`, compiled when the route checks responses.
    responses: Option<responses::Responses>,
}

/// One alternative of a security requirement: every scheme it names, each with the scopes
/// (OAuth) or roles (other kinds, OpenAPI 3.1) it lists. Empty: anyone meets it.
type Alternative = Box<[(Scheme, Box<[String]>)]>;

/// What kind of credential meets a security scheme of the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    /// `apiKey`: an API key.
    ApiKey,
    /// `http` with the `basic` scheme: a password.
    Basic,
    /// `http` with `bearer`: a JWT or an introspected token; the list names roles.
    Bearer,
    /// `oauth2` or `openIdConnect`: a JWT or an introspected token; the list names scopes.
    OAuth,
    /// `mutualTLS`: a client certificate.
    MutualTls,
    /// Another `http` scheme (`digest`, ...), which no credential of the gateway meets.
    Unmet,
}

impl Scheme {
    /// Whether a credential proven by `method` ([`Identity::method`]) is of this kind.
    fn proven_by(self, method: &str) -> bool {
        match self {
            Self::ApiKey => method == names::API_KEY,
            Self::Basic => method == names::BASIC,
            Self::Bearer | Self::OAuth => method == names::JWT || method == names::INTROSPECTION,
            Self::MutualTls => method == names::MTLS,
            Self::Unmet => false,
        }
    }
}

impl Operation {
    /// Its place among the document's operations, in matching order.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Whether a credential proven by one of `methods` (the route's `auth` methods) can meet
    /// its security requirement, whatever scopes or roles it holds: one alternative names only
    /// schemes of that credential's kind, or nothing.
    pub fn reachable_by(&self, methods: &[&str]) -> bool {
        self.security.as_ref().is_none_or(|alts| {
            alts.iter().any(|alt| {
                alt.is_empty()
                    || methods
                        .iter()
                        .any(|m| alt.iter().all(|(scheme, _)| scheme.proven_by(m)))
            })
        })
    }

    /// Whether a caller without credentials meets its security requirement: it has none,
    /// or one alternative is empty (`{}`).
    pub fn allows_anonymous(&self) -> bool {
        allows_anonymous(self.security.as_deref())
    }

    /// Whether `identity` meets its security requirement: in one alternative, every scheme is
    /// of the credential's kind and its listed scopes (OAuth) or roles (other kinds) are all
    /// held. A refusal is 403 without detail; when the token could meet an OAuth alternative
    /// but lacks scopes, it is `insufficient_scope` with the RFC 6750 challenge naming them.
    pub fn admits(&self, identity: Option<&Identity>) -> Result<(), Deny> {
        admits(self.security.as_deref(), identity)
    }
}

/// Whether a requirement admits a caller without credentials: there is none, or one
/// alternative is empty.
fn allows_anonymous(security: Option<&[Alternative]>) -> bool {
    security.is_none_or(|alts| alts.iter().any(|a| a.is_empty()))
}

/// [`Operation::admits`] for a requirement.
fn admits(security: Option<&[Alternative]>, identity: Option<&Identity>) -> Result<(), Deny> {
    let Some(alts) = security else {
        return Ok(());
    };
    let meets = |alt: &Alternative| {
        alt.iter().all(|(scheme, names)| {
            identity.is_some_and(|id| {
                let held = if *scheme == Scheme::OAuth {
                    &id.scopes
                } else {
                    &id.roles
                };
                scheme.proven_by(id.method) && names.iter().all(|n| held.contains(n))
            })
        })
    };
    if alts.iter().any(meets) {
        return Ok(());
    }
    let mut d = Deny::new(Problem::Forbidden);
    d.outcome = "security_requirement";
    // The scopes of the first OAuth alternative the token is of the kind for.
    let wanted = identity.and_then(|id| {
        alts.iter().find_map(|alt| match &alt[..] {
            [(Scheme::OAuth, scopes)] if Scheme::OAuth.proven_by(id.method) => Some(scopes),
            _ => None,
        })
    });
    if let Some(scopes) = wanted {
        d.outcome = "insufficient_scope";
        if let Some(v) = super::scope_challenge(&scopes.join(" ")) {
            d.headers.push((http::header::WWW_AUTHENTICATE, v));
        }
    }
    Err(d)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Path,
    Query,
    Header,
    Cookie,
}

impl Place {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "path" => Self::Path,
            "query" => Self::Query,
            "header" => Self::Header,
            "cookie" => Self::Cookie,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Path => "path",
            Self::Query => "query",
            Self::Header => "header",
            Self::Cookie => "cookie",
        }
    }
}

/// How a parameter's text becomes a JSON value for its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    String,
    Integer,
    Number,
    Boolean,
    Array(Box<Kind>),
    /// An object, with the kinds of the properties its schema names.
    Object(Vec<(String, Kind)>),
    /// A parameter described by `content` with a JSON media type: its text is a JSON document.
    Json,
}

struct Param {
    name: String,
    place: Place,
    required: bool,
    kind: Kind,
    style: params::Style,
    explode: bool,
    /// `allowReserved` (query parameters): reserved characters are sent unencoded, so a `+`
    /// is a plus sign rather than a space.
    allow_reserved: bool,
    schema: Option<jsonschema::Validator>,
}

struct BodySpec {
    required: bool,
    /// (type, subtype) with `*` wildcards, and how a body of that type is checked.
    media: Vec<(String, String, Option<BodySchema>)>,
}

/// How a request body is checked against its media type's schema.
enum BodySchema {
    /// A JSON body, validated as it is.
    Json(jsonschema::Validator),
    /// An `application/x-www-form-urlencoded` body (OpenAPI's `form` style, exploded, unless
    /// the media type's `encoding` gives a property another `style` or `explode`): read into
    /// an object whose fields are typed by the schema's `properties` as query parameters are,
    /// a repeated field making an array, then validated.
    Form(jsonschema::Validator, Vec<FormField>),
    /// A `multipart/form-data` body: read strictly ([`super::multipart`]) into an object whose
    /// fields are typed by the schema's `properties` (an object property, or a part of a JSON
    /// type, from its JSON), a repeated field making an array, then validated. A property whose
    /// `encoding` lists content types takes only parts of those types.
    Multipart(jsonschema::Validator, Vec<FormField>),
}

/// A property of a form or multipart body, with what the media type's `encoding` says of it.
struct FormField {
    name: String,
    kind: Kind,
    /// `encoding.<name>.style` and `explode` (form bodies): the field is read as a query
    /// parameter of that style is.
    style: Option<(params::Style, bool)>,
    /// `encoding.<name>.allowReserved` (form bodies): a `+` in the field is a plus sign.
    allow_reserved: bool,
    /// `encoding.<name>.contentType` (multipart): the part types allowed, `*` wildcards; empty
    /// when the document does not say.
    content_types: Vec<(String, String)>,
    /// `encoding.<name>.headers` (multipart): the header fields each part of this property
    /// carries, each read like a header parameter (its name lower-cased).
    headers: Vec<Param>,
}

impl FormField {
    /// Whether the form field `name` is read as part of this property by its style (the
    /// property itself, `name[key]` of a `deepObject`, a property of an exploded `form` object).
    fn claims(&self, name: &str) -> bool {
        let Some((style, explode)) = self.style else {
            return false;
        };
        name == self.name
            || (style == params::Style::DeepObject
                && name
                    .strip_prefix(self.name.as_str())
                    .is_some_and(|r| r.starts_with('[')))
            || (style == params::Style::Form
                && explode
                && matches!(&self.kind, Kind::Object(props) if props.iter().any(|(p, _)| p == name)))
    }
}

/// Most parts read from a multipart body.
const MAX_PARTS: usize = 1000;

/// What compiling needs besides the document: which draft, and the components to carry.
struct Ctx<'a> {
    doc: &'a Value,
    draft: jsonschema::Draft,
    components: Value,
    /// Whether `security` requirements are read.
    security: bool,
    /// The document's top-level requirement, compiled once.
    top: Option<Arc<[Alternative]>>,
    /// Whether operations' `responses` are compiled (the route checks responses).
    responses: bool,
    /// The components as responses read them ([`directed`]); `Null` when responses are not
    /// checked. (`components` are read as requests read them.)
    response_components: Value,
}

/// Compiles a route's `openapi` block.
pub fn compile(c: &OpenApiConfig, at: &str, errs: &mut Collector) -> Option<Api> {
    let mut doc = match crate::config::expand::read_document(&c.file, MAX_DOC_BYTES) {
        Ok(v) => v,
        Err(e) => {
            errs.push(format!("{at}.file"), e);
            return None;
        }
    };
    let version = doc.get("openapi").and_then(Value::as_str).unwrap_or("");
    let draft = if version.starts_with("3.1") {
        jsonschema::Draft::Draft202012
    } else if version.starts_with("3.0") {
        rewrite_nullable(&mut doc);
        jsonschema::Draft::Draft4
    } else {
        errs.push(
            format!("{at}.file"),
            format!(
                "{}: `openapi` must be 3.0.x or 3.1.x, found {version:?}",
                c.file.as_str()
            ),
        );
        return None;
    };
    let base = match &c.base_path {
        Some(b) => b.trim_end_matches('/').to_owned(),
        None => server_base(&doc),
    };
    let components = doc.get("components").unwrap_or(&Value::Null);
    let responses = c.responses.unwrap_or_default() != OpenApiResponsesConfig::Off;
    let mut cx = Ctx {
        doc: &doc,
        draft,
        components: directed_components(&doc, components, Direction::Request),
        response_components: if responses {
            directed_components(&doc, components, Direction::Response)
        } else {
            Value::Null
        },
        security: c.security.unwrap_or_default() == OpenApiSecurityConfig::Enforce,
        top: None,
        responses,
    };
    if cx.security
        && let Some(v) = doc.get("security")
    {
        match compile_security(&cx, v) {
            Ok(top) => cx.top = top,
            Err(e) => errs.push(format!("{at}.file: security"), e),
        }
    }
    let before = errs.errors.len();
    let mut paths = Vec::new();
    if let Some(map) = doc.get("paths").and_then(Value::as_object) {
        for (template, item) in map {
            let at = format!("{at}.file: paths.{template}");
            match compile_path(&cx, template, item, &at, errs) {
                Some(p) => paths.push(p),
                None => continue,
            }
        }
    } else {
        errs.push(format!("{at}.file"), "the document has no `paths`");
    }
    if errs.errors.len() > before {
        return None;
    }
    // Concrete segments win over templated ones (OpenAPI: "/users/me" before "/users/{id}"),
    // and text with a parameter over a parameter alone ("/files/{name}.json" before
    // "/files/{name}").
    paths.sort_by_key(|p| std::cmp::Reverse(p.segs.iter().map(Seg::rank).collect::<Vec<_>>()));
    let mut places = Vec::new();
    for (p, item) in paths.iter_mut().enumerate() {
        for (o, op) in item.ops.iter_mut().enumerate() {
            op.index = places.len();
            places.push((p, o));
        }
    }
    let reject_unknown = c.reject_unknown.unwrap_or(true);
    Some(Api {
        base,
        reject_unknown,
        paths,
        undescribed: if reject_unknown { None } else { cx.top },
        responses: c.responses.unwrap_or_default(),
        places,
    })
}

/// The path of the first server URL (`https://api.example.com/v1` → `/v1`), or nothing.
fn server_base(doc: &Value) -> String {
    let url = doc
        .pointer("/servers/0/url")
        .and_then(Value::as_str)
        .unwrap_or("");
    let path = match url.find("://") {
        Some(i) => url[i + 3..].find('/').map_or("", |j| &url[i + 3 + j..]),
        None => url,
    };
    if path.contains('{') {
        return String::new();
    }
    path.trim_end_matches('/').to_owned()
}

/// OpenAPI 3.0's `nullable: true` as JSON Schema: `null` added to `type`.
fn rewrite_nullable(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if m.get("nullable") == Some(&Value::Bool(true))
                && let Some(t) = m.get("type").cloned()
            {
                let mut list = match t {
                    Value::Array(a) => a,
                    other => vec![other],
                };
                list.push(Value::String("null".into()));
                m.insert("type".into(), Value::Array(list));
                if let Some(Value::Array(e)) = m.get_mut("enum") {
                    e.push(Value::Null);
                }
            }
            for (_, child) in m.iter_mut() {
                rewrite_nullable(child);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(rewrite_nullable),
        _ => {}
    }
}

/// Follows local `$ref`s (`#/components/...`) to the object they name.
fn resolve<'d>(doc: &'d Value, mut v: &'d Value) -> Result<&'d Value, String> {
    for _ in 0..MAX_REF_HOPS {
        let Some(r) = v.get("$ref").and_then(Value::as_str) else {
            return Ok(v);
        };
        let Some(pointer) = r.strip_prefix('#') else {
            return Err(format!(
                "only references inside the document are followed: {r:?}"
            ));
        };
        v = doc
            .pointer(pointer)
            .ok_or_else(|| format!("reference {r:?} names nothing"))?;
    }
    Err("too many nested references".into())
}

fn compile_path(
    cx: &Ctx<'_>,
    template: &str,
    item: &Value,
    at: &str,
    errs: &mut Collector,
) -> Option<PathItem> {
    let item = match resolve(cx.doc, item) {
        Ok(i) => i,
        Err(e) => {
            errs.push(at.to_owned(), e);
            return None;
        }
    };
    if !template.starts_with('/') {
        errs.push(at.to_owned(), "a path must start with /");
        return None;
    }
    let segs: Result<Vec<Seg>, String> = template
        .split('/')
        .filter(|s| !s.is_empty())
        .map(Seg::compile)
        .collect();
    let segs = match segs {
        Ok(s) => s,
        Err(e) => {
            errs.push(at.to_owned(), e);
            return None;
        }
    };
    let mut names: Vec<&str> = Vec::new();
    for seg in &segs {
        for n in seg.params() {
            if names.contains(&n.as_str()) {
                errs.push(
                    at.to_owned(),
                    format!("path parameter {n:?} appears twice in the template"),
                );
                return None;
            }
            names.push(n);
        }
    }
    let shared = item.get("parameters").and_then(Value::as_array);
    let mut ops = Vec::new();
    for (name, method) in [
        ("get", Method::GET),
        ("put", Method::PUT),
        ("post", Method::POST),
        ("delete", Method::DELETE),
        ("options", Method::OPTIONS),
        ("head", Method::HEAD),
        ("patch", Method::PATCH),
        ("trace", Method::TRACE),
    ] {
        let Some(op) = item.get(name) else {
            continue;
        };
        let at = format!("{at}.{name}");
        // Operation parameters override path-item ones with the same name and place.
        let mut params: Vec<Param> = Vec::new();
        for list in [shared, op.get("parameters").and_then(Value::as_array)]
            .into_iter()
            .flatten()
        {
            for p in list {
                match compile_param(cx, p) {
                    // OpenAPI: these three header parameters "SHALL be ignored"; the media
                    // type and the authentication are described elsewhere.
                    Ok(p)
                        if p.place == Place::Header
                            && matches!(
                                p.name.as_str(),
                                "accept" | "content-type" | "authorization"
                            ) => {}
                    Ok(p) => {
                        params.retain(|q| !(q.name == p.name && q.place == p.place));
                        params.push(p);
                    }
                    Err(e) => errs.push(format!("{at}.parameters"), e),
                }
            }
        }
        let body = match op.get("requestBody") {
            None => None,
            Some(b) => match compile_body(cx, b) {
                Ok(b) => Some(b),
                Err(e) => {
                    errs.push(format!("{at}.requestBody"), e);
                    None
                }
            },
        };
        // An operation's `security` replaces the document's, `[]` included.
        let security = match op.get("security") {
            Some(v) if cx.security => match compile_security(cx, v) {
                Ok(s) => s,
                Err(e) => {
                    errs.push(format!("{at}.security"), e);
                    None
                }
            },
            _ => cx.top.clone(),
        };
        let responses = match op.get("responses") {
            Some(v) if cx.responses => match responses::compile(cx, v) {
                Ok(r) => Some(r),
                Err(e) => {
                    errs.push(format!("{at}.responses"), e);
                    None
                }
            },
            _ => None,
        };
        let id = match op.get("operationId").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => Arc::from(id),
            _ => Arc::from(format!("{} {template}", method.as_str())),
        };
        ops.push(Operation {
            id,
            key: format!("{} {template}", method.as_str()).into(),
            index: 0,
            method,
            params,
            body,
            security,
            responses,
        });
    }
    Some(PathItem { segs, ops })
}

/// A `security` list: its alternatives, each scheme looked up in
/// `components.securitySchemes`; `None` for `[]`.
fn compile_security(cx: &Ctx<'_>, v: &Value) -> Result<Option<Arc<[Alternative]>>, String> {
    let list = v
        .as_array()
        .ok_or("`security` must be a list of requirement objects")?;
    let mut alts = Vec::with_capacity(list.len());
    for req in list {
        let req = req
            .as_object()
            .ok_or("each `security` requirement must be an object of scheme names")?;
        let mut alt = Vec::with_capacity(req.len());
        for (name, names) in req {
            let names: Box<[String]> = names
                .as_array()
                .and_then(|a| a.iter().map(|n| n.as_str().map(str::to_owned)).collect())
                .ok_or_else(|| format!("scheme {name:?}: list its scopes or roles as strings"))?;
            // RFC 6749 scope tokens, which a challenge can quote.
            if let Some(bad) = names.iter().find(|n| {
                n.is_empty()
                    || !n
                        .bytes()
                        .all(|c| matches!(c, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
            }) {
                return Err(format!(
                    "scheme {name:?}: {bad:?} is not a scope or role name"
                ));
            }
            alt.push((security_scheme(cx, name)?, names));
        }
        alts.push(alt.into_boxed_slice());
    }
    Ok((!alts.is_empty()).then(|| alts.into()))
}

/// The kind of the security scheme `name` of `components.securitySchemes`.
fn security_scheme(cx: &Ctx<'_>, name: &str) -> Result<Scheme, String> {
    let scheme = cx
        .doc
        .pointer("/components/securitySchemes")
        .and_then(|s| s.get(name))
        .ok_or_else(|| {
            format!("names the security scheme {name:?}, which components.securitySchemes does not define")
        })?;
    let scheme = resolve(cx.doc, scheme)?;
    let text = |key: &str| scheme.get(key).and_then(Value::as_str).unwrap_or("");
    Ok(match text("type") {
        "apiKey" => Scheme::ApiKey,
        "http" if text("scheme").eq_ignore_ascii_case("basic") => Scheme::Basic,
        "http" if text("scheme").eq_ignore_ascii_case("bearer") => Scheme::Bearer,
        "http" => Scheme::Unmet,
        "oauth2" | "openIdConnect" => Scheme::OAuth,
        "mutualTLS" => Scheme::MutualTls,
        other => {
            return Err(format!(
                "security scheme {name:?} has an unknown type {other:?}"
            ));
        }
    })
}

fn compile_param(cx: &Ctx<'_>, p: &Value) -> Result<Param, String> {
    let p = resolve(cx.doc, p)?;
    let name = p
        .get("name")
        .and_then(Value::as_str)
        .ok_or("a parameter without `name`")?;
    let place = p
        .get("in")
        .and_then(Value::as_str)
        .and_then(Place::parse)
        .ok_or_else(|| format!("parameter {name:?}: `in` must be path, query, header or cookie"))?;
    let (style, explode) = params::Style::of(
        place,
        p.get("style").and_then(Value::as_str),
        p.get("explode").and_then(Value::as_bool),
    )
    .map_err(|e| format!("parameter {name:?}: {e}"))?;
    // `content` instead of `schema`: one media type, whose schema applies; a JSON type means
    // the text is a JSON document.
    let content = match p.get("content").and_then(Value::as_object) {
        Some(c) if c.len() == 1 => c.iter().next(),
        Some(_) => {
            return Err(format!(
                "parameter {name:?}: `content` must hold exactly one media type"
            ));
        }
        None => None,
    };
    let schema = match p
        .get("schema")
        .or_else(|| content.and_then(|(_, m)| m.get("schema")))
    {
        Some(s) => Some(resolve(cx.doc, s)?.clone()),
        None => None,
    };
    let json_content = content.is_some_and(|(mt, _)| {
        super::content::parse_media_type(mt)
            .is_some_and(|(t, s)| super::content::is_json_type(&t, &s))
    });
    let kind = if json_content {
        Kind::Json
    } else {
        schema.as_ref().map_or(Kind::String, |s| kind_of(cx.doc, s))
    };
    if style == params::Style::DeepObject && !matches!(kind, Kind::Object(_)) {
        return Err(format!(
            "parameter {name:?}: style \"deepObject\" needs an object schema"
        ));
    }
    let validator = match &schema {
        Some(s) => Some(validator(cx, s).map_err(|e| format!("parameter {name:?}: {e}"))?),
        None => None,
    };
    Ok(Param {
        name: if place == Place::Header {
            name.to_ascii_lowercase()
        } else {
            name.to_owned()
        },
        place,
        required: place == Place::Path
            || p.get("required").and_then(Value::as_bool).unwrap_or(false),
        kind,
        style,
        explode,
        allow_reserved: place == Place::Query
            && p.get("allowReserved").and_then(Value::as_bool) == Some(true),
        schema: validator,
    })
}

fn kind_of(doc: &Value, s: &Value) -> Kind {
    let ty = match s.get("type") {
        Some(Value::String(t)) => t.as_str(),
        // `[integer, "null"]` and the like: the first non-null type.
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("string"),
        _ => "string",
    };
    match ty {
        "integer" => Kind::Integer,
        "number" => Kind::Number,
        "boolean" => Kind::Boolean,
        "array" => {
            let items = s
                .get("items")
                .and_then(|i| resolve(doc, i).ok())
                .map_or(Kind::String, |i| kind_of(doc, i));
            Kind::Array(Box::new(items))
        }
        "object" => Kind::Object(
            s.get("properties")
                .and_then(Value::as_object)
                .map(|props| {
                    props
                        .iter()
                        .map(|(n, p)| {
                            let k = resolve(doc, p).map_or(Kind::String, |p| kind_of(doc, p));
                            (n.clone(), k)
                        })
                        .collect()
                })
                .unwrap_or_default(),
        ),
        _ => Kind::String,
    }
}

fn compile_body(cx: &Ctx<'_>, b: &Value) -> Result<BodySpec, String> {
    let b = resolve(cx.doc, b)?;
    let mut media = Vec::new();
    if let Some(content) = b.get("content").and_then(Value::as_object) {
        for (mt, m) in content {
            let (t, s) = super::content::parse_media_type(mt)
                .ok_or_else(|| format!("{mt:?} is not a media type"))?;
            let schema = match m.get("schema") {
                Some(sc) if json_schema_applies(&t, &s, resolve(cx.doc, sc)?) => {
                    Some(BodySchema::Json(validator(cx, resolve(cx.doc, sc)?)?))
                }
                Some(sc)
                    if (t == "application" && s == "x-www-form-urlencoded")
                        || (t == "multipart" && s == "form-data") =>
                {
                    let sc = resolve(cx.doc, sc)?;
                    let encoding = m.get("encoding").and_then(Value::as_object);
                    let mut fields = Vec::new();
                    if let Some(props) = sc.get("properties").and_then(Value::as_object) {
                        for (name, p) in props {
                            let kind = kind_of(cx.doc, resolve(cx.doc, p)?);
                            let enc = encoding.and_then(|e| e.get(name));
                            fields.push(form_field_spec(cx, name, kind, enc, t == "multipart")?);
                        }
                    }
                    let v = validator(cx, sc)?;
                    Some(if t == "multipart" {
                        BodySchema::Multipart(v, fields)
                    } else {
                        BodySchema::Form(v, fields)
                    })
                }
                _ => None,
            };
            media.push((t, s, schema));
        }
    }
    Ok(BodySpec {
        required: b.get("required").and_then(Value::as_bool).unwrap_or(false),
        media,
    })
}

/// A form or multipart property with its `encoding` entry (OpenAPI 3.x Encoding Object):
/// `contentType` (a comma-separated list of media types) and `headers` for multipart parts;
/// `style` and `explode`, with the styles of a query parameter, for form fields. The keys that
/// do not apply to the media type are ignored, as the specification says.
fn form_field_spec(
    cx: &Ctx<'_>,
    name: &str,
    kind: Kind,
    enc: Option<&Value>,
    multipart: bool,
) -> Result<FormField, String> {
    let mut field = FormField {
        name: name.to_owned(),
        kind,
        style: None,
        allow_reserved: false,
        content_types: Vec::new(),
        headers: Vec::new(),
    };
    let Some(enc) = enc else {
        return Ok(field);
    };
    if multipart {
        if let Some(list) = enc.get("contentType").and_then(Value::as_str) {
            for mt in list.split(',') {
                let parsed = super::content::parse_media_type(mt.trim()).ok_or_else(|| {
                    format!("encoding.{name}.contentType: {mt:?} is not a media type")
                })?;
                field.content_types.push(parsed);
            }
        }
        field.headers =
            header_objects(cx, enc).map_err(|e| format!("encoding.{name}.headers: {e}"))?;
    } else {
        field.allow_reserved = enc.get("allowReserved").and_then(Value::as_bool) == Some(true);
        let style = enc.get("style").and_then(Value::as_str);
        let explode = enc.get("explode").and_then(Value::as_bool);
        if style.is_some() || explode.is_some() {
            let (style, explode) = params::Style::of(Place::Query, style, explode)
                .map_err(|e| format!("encoding.{name}: {e}"))?;
            if style == params::Style::DeepObject && !matches!(field.kind, Kind::Object(_)) {
                return Err(format!(
                    "encoding.{name}: style deepObject needs an object schema"
                ));
            }
            field.style = Some((style, explode));
        }
    }
    Ok(field)
}

/// The `headers` map of `owner` (a multipart part's Encoding Object, or a Response Object):
/// each Header Object is a parameter without `name` and `in`, read like a header parameter of
/// that name. `Content-Type` is skipped: OpenAPI says it "SHALL be ignored" there (the media
/// type is described elsewhere).
fn header_objects(cx: &Ctx<'_>, owner: &Value) -> Result<Vec<Param>, String> {
    let mut out = Vec::new();
    for (header, h) in owner
        .get("headers")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if header.eq_ignore_ascii_case("content-type") {
            continue;
        }
        let mut p = resolve(cx.doc, h)?.clone();
        if let Some(o) = p.as_object_mut() {
            o.insert("name".into(), Value::String(header.clone()));
            o.insert("in".into(), Value::String("header".into()));
        }
        out.push(compile_param(cx, &p)?);
    }
    Ok(out)
}

/// The entry of a `content` map for the media type `t/s`: exact, then `t/*`, then `*/*`.
fn media_entry<'m, T>(
    media: &'m [(String, String, T)],
    t: &str,
    s: &str,
) -> Option<&'m (String, String, T)> {
    media
        .iter()
        .find(|m| m.0 == t && m.1 == s)
        .or_else(|| media.iter().find(|m| m.0 == t && m.1 == "*"))
        .or_else(|| media.iter().find(|m| m.0 == "*"))
}

/// A validator for `schema` with the document's components beside it, so
/// `#/components/...` references resolve and nothing else does.
fn validator(cx: &Ctx<'_>, schema: &Value) -> Result<jsonschema::Validator, String> {
    validator_for(cx, schema, Direction::Request)
}

/// Which way a schema is read: what a client sends, or what the upstream answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Request,
    Response,
}

/// [`validator`] for a schema read in `dir`: OpenAPI's `readOnly` properties are not required
/// of requests, and `writeOnly` ones are not required of responses and must not appear in
/// them (a password sent to the API never comes back) ([`directed`]).
fn validator_for(
    cx: &Ctx<'_>,
    schema: &Value,
    dir: Direction,
) -> Result<jsonschema::Validator, String> {
    let mut root = Map::new();
    root.insert(
        "allOf".into(),
        Value::Array(vec![directed(cx.doc, schema, dir)]),
    );
    let components = match dir {
        Direction::Request => &cx.components,
        Direction::Response => &cx.response_components,
    };
    // Only a schema that refers to something needs the components beside it; most parameter
    // schemas are inline, and copying the components into each would cost memory per
    // parameter times the document's size.
    if !components.is_null() && has_ref(schema) {
        root.insert("components".into(), components.clone());
    }
    jsonschema::options()
        .with_draft(cx.draft)
        .build(&Value::Object(root))
        .map_err(|e| format!("invalid schema: {e}"))
}

/// `v` (a schema) as read in `dir`: in it and every schema inside it, a property marked
/// `readOnly` (requests) or `writeOnly` (responses), on itself, on the schema it refers to, or
/// on a member of its `allOf`, is taken out of the `required` list beside the `properties`
/// that name it; in responses a `writeOnly` property is also replaced by a schema nothing
/// matches. Only schema keywords are followed: `enum`, `const`, `default` and examples are
/// values, left as they are.
fn directed(doc: &Value, v: &Value, dir: Direction) -> Value {
    /// Keywords whose value is a schema, an array of schemas, or a map of schemas.
    const ONE: &[&str] = &[
        "additionalProperties",
        "items",
        "not",
        "if",
        "then",
        "else",
        "contains",
        "propertyNames",
        "unevaluatedProperties",
        "unevaluatedItems",
        "additionalItems",
    ];
    const MANY: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems", "items"];
    const MAP: &[&str] = &[
        "properties",
        "patternProperties",
        "dependentSchemas",
        "$defs",
        "definitions",
    ];
    let Value::Object(m) = v else {
        return v.clone();
    };
    let marker = match dir {
        Direction::Request => "readOnly",
        Direction::Response => "writeOnly",
    };
    let mut out = Map::with_capacity(m.len());
    for (k, x) in m {
        let key = k.as_str();
        let x = match x {
            Value::Object(map) if MAP.contains(&key) => Value::Object(
                map.iter()
                    .map(|(n, s)| (n.clone(), directed(doc, s, dir)))
                    .collect(),
            ),
            Value::Array(list) if MANY.contains(&key) => {
                Value::Array(list.iter().map(|s| directed(doc, s, dir)).collect())
            }
            Value::Object(_) if ONE.contains(&key) => directed(doc, x, dir),
            other => other.clone(),
        };
        out.insert(k.clone(), x);
    }
    let flagged = |p: &Value| {
        let flag = |p: &Value| p.get(marker) == Some(&Value::Bool(true));
        let own = |p: &Value| flag(p) || resolve(doc, p).is_ok_and(flag);
        own(p)
            || p.get("allOf")
                .and_then(Value::as_array)
                .is_some_and(|all| all.iter().any(own))
    };
    let marked_in = |schema: &Value| -> Vec<String> {
        schema
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter(|(_, p)| flagged(p))
            .map(|(n, _)| n.clone())
            .collect()
    };
    let marked = marked_in(v);
    // `allOf: [{$ref: Base}, {required: [id, name], ...}]`: a property marked in one member
    // (or in the schema a member refers to) is not required by another.
    if let Some(Value::Array(members)) = out.get_mut("allOf") {
        let mut across: Vec<String> = marked.clone();
        for member in m
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            across.extend(marked_in(member));
            if let Ok(target) = resolve(doc, member) {
                across.extend(marked_in(target));
            }
        }
        if !across.is_empty() {
            for member in members.iter_mut() {
                if let Some(Value::Array(req)) = member.get_mut("required") {
                    req.retain(|r| !r.as_str().is_some_and(|r| across.iter().any(|n| n == r)));
                }
            }
        }
    }
    if marked.is_empty() {
        return Value::Object(out);
    }
    if let Some(Value::Array(req)) = out.get_mut("required") {
        req.retain(|r| !r.as_str().is_some_and(|r| marked.iter().any(|n| n == r)));
    }
    if dir == Direction::Response
        && let Some(Value::Object(props)) = out.get_mut("properties")
    {
        for n in &marked {
            // `{"not": {}}` rather than `false`: draft 4 (OpenAPI 3.0) has no boolean
            // schemas.
            props.insert(n.clone(), serde_json::json!({ "not": {} }));
        }
    }
    Value::Object(out)
}

/// [`directed`] over the schemas of a document's `components` (the rest is left as it is).
fn directed_components(doc: &Value, components: &Value, dir: Direction) -> Value {
    let mut out = components.clone();
    if let Some(Value::Object(schemas)) = out.get_mut("schemas") {
        for s in schemas.values_mut() {
            *s = directed(doc, s, dir);
        }
    }
    out
}

/// Whether a JSON schema applies to a body of the `content` key `t/s` described by `schema`: a
/// JSON key, or `application/*` or `*/*` with a schema that is not a string (a wildcard with
/// `type: string` describes a file of any type, JSON included).
fn json_schema_applies(t: &str, s: &str, schema: &Value) -> bool {
    if super::content::is_json_type(t, s) {
        return true;
    }
    let wildcard = t == "*" || (t == "application" && s == "*");
    let stringy = match schema.get("type") {
        Some(Value::String(ty)) => ty == "string",
        Some(Value::Array(tys)) => tys.iter().all(|ty| ty == "string" || ty == "null"),
        _ => schema.get("format").is_some(),
    };
    wildcard && !stringy
}

/// Whether `v` holds a `$ref` anywhere.
fn has_ref(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.contains_key("$ref") || m.values().any(has_ref),
        Value::Array(a) => a.iter().any(has_ref),
        _ => false,
    }
}

impl Api {
    /// Finds the operation of a request (once per request: the stage asks
    /// [`Found::reads_body`], reads the body if so, then [`Api::decide`]s).
    pub fn find<'a>(&'a self, req: &Parts) -> Found<'a> {
        let path = crate::proxy::normalise_path(req.uri.path()).unwrap_or_default();
        self.found(self.search(&req.method, &path))
    }

    /// What the document says of a request with `method` and the normalised `path`: found
    /// once, right after routing, and handed to the stage through the request context
    /// ([`Api::resume`]).
    pub fn locate(self: &Arc<Self>, method: &Method, path: &str) -> Located {
        Located {
            api: Arc::clone(self),
            hit: self.search(method, path),
        }
    }

    /// What [`Api::find`] would find for the request `located` was made for, without the
    /// search; `None` when it was made by another document.
    pub fn resume(self: &Arc<Self>, located: Located) -> Option<Found<'_>> {
        Arc::ptr_eq(self, &located.api).then(|| self.found(located.hit))
    }

    /// Whether a response that does not match its description is replaced (`block`), when
    /// responses are checked at all (`None` when they are not).
    pub fn response_check(&self) -> Option<bool> {
        match self.responses {
            OpenApiResponsesConfig::Off => None,
            OpenApiResponsesConfig::Detect => Some(false),
            OpenApiResponsesConfig::Block => Some(true),
        }
    }

    /// Whether any answer of the operation `index` has a JSON schema, so its body may be read.
    pub fn reads_response_bodies(&self, index: usize) -> bool {
        self.operation(index)
            .and_then(|op| op.responses.as_ref())
            .is_some_and(responses::Responses::reads_bodies)
    }

    /// The operation `index` ([`Operation::index`]).
    fn operation(&self, index: usize) -> Option<&Operation> {
        let &(p, o) = self.places.get(index)?;
        self.paths.get(p)?.ops.get(o)
    }

    /// Checks the upstream's `resp` to a request with `method` for the operation `index`
    /// ([`responses::Responses::check`]): the response, whole, and what was found.
    pub async fn check_response(
        &self,
        index: usize,
        method: &Method,
        resp: http::Response<crate::body::Body>,
        cap: usize,
    ) -> Result<(http::Response<crate::body::Body>, Verdict), crate::body::BoxError> {
        match self.operation(index).and_then(|op| op.responses.as_ref()) {
            Some(r) => r.check(method, resp, cap).await,
            None => Ok((resp, Verdict::Unchecked("undescribed"))),
        }
    }

    /// The index of the operation `key` names: its `operationId`, or `METHOD /template` as
    /// the document writes the template (the method in any case).
    pub fn operation_index(&self, key: &str) -> Option<usize> {
        let (method, template) = key.split_once(' ').unwrap_or((key, ""));
        let by_route = format!("{} {template}", method.to_ascii_uppercase());
        self.operations()
            .find(|op| *op.id == *key || *op.key == *by_route)
            .map(|op| op.index)
    }

    /// Whether a caller without credentials may send requests the document does not describe:
    /// the stage refuses them, or the document's top-level requirement admits anyone.
    pub fn undescribed_allows_anonymous(&self) -> bool {
        allows_anonymous(self.undescribed.as_deref())
    }

    /// The path prefix the document's paths are under (empty for none).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Every operation, in [`Operation::index`] order.
    pub fn operations(&self) -> impl Iterator<Item = &Operation> {
        self.paths.iter().flat_map(|p| &p.ops)
    }

    /// The operation of `method` on the normalised `path`, with its path parameters bound.
    fn search(&self, method: &Method, path: &str) -> Hit {
        let Some(rest) = path.strip_prefix(self.base.as_str()) else {
            return Hit::NoPath;
        };
        if !(rest.is_empty() || rest.starts_with('/')) {
            return Hit::NoPath;
        }
        let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        for (at, item) in self.paths.iter().enumerate() {
            if item.segs.len() != segs.len() {
                continue;
            }
            let mut bound = Vec::new();
            let fits = item.segs.iter().zip(&segs).all(|(t, s)| match t {
                Seg::Lit(l) => l == s,
                Seg::Param(_) => {
                    bound.push((*s).to_owned());
                    true
                }
                Seg::Mixed(re, names) => match re.captures(s) {
                    Some(c) => {
                        for i in 1..=names.len() {
                            bound.push(c.get(i).map_or("", |m| m.as_str()).to_owned());
                        }
                        true
                    }
                    None => false,
                },
            });
            if !fits {
                continue;
            }
            let method =
                if method == Method::HEAD && !item.ops.iter().any(|o| o.method == Method::HEAD) {
                    &Method::GET
                } else {
                    method
                };
            return match item.ops.iter().position(|o| o.method == *method) {
                Some(pos) => Hit::Op {
                    item: at,
                    pos,
                    bound,
                },
                None => Hit::NoMethod(item.ops.iter().map(|o| o.method.clone()).collect()),
            };
        }
        Hit::NoPath
    }

    /// A search's result as the stage reads it: the operation and its parameters by name.
    fn found(&self, hit: Hit) -> Found<'_> {
        match hit {
            Hit::Op { item, pos, bound } => {
                let item = &self.paths[item];
                let names = item.segs.iter().flat_map(Seg::params).map(String::as_str);
                Found::Op(&item.ops[pos], names.zip(bound).collect())
            }
            Hit::NoMethod(allow) => Found::NoMethod(allow),
            Hit::NoPath => Found::NoPath,
        }
    }

    /// Decides on a request whose operation [`Api::find`] gave: the operation, its
    /// parameters, its body.
    pub fn decide(&self, found: Found<'_>, req: &Parts, body: BodyView<'_>) -> Decision {
        let (op, bound) = match found {
            Found::Op(op, bound) => (op, bound),
            _ if !self.reject_unknown => return Decision::Allow("undescribed"),
            Found::NoPath => {
                let mut d = Deny::new(Problem::RouteNotFound);
                d.outcome = "unknown_operation";
                d.detail = Some("no operation of the API description matches".into());
                return Decision::Deny(d);
            }
            Found::NoMethod(allow) => {
                let mut d = Deny::new(Problem::MethodNotAllowed);
                d.outcome = "unknown_operation";
                let names: Vec<&str> = allow.iter().map(Method::as_str).collect();
                if let Ok(v) = HeaderValue::from_str(&names.join(", ")) {
                    d.headers.push((http::header::ALLOW, v));
                }
                return Decision::Deny(d);
            }
        };
        let mut errors: Vec<(String, String)> = Vec::new();
        let query = match req.uri.query() {
            Some(q) if op.params.iter().any(|p| p.place == Place::Query) => {
                params::raw_pairs(q.as_bytes())
            }
            _ => Vec::new(),
        };
        let declared: Vec<&str> = if query.is_empty() {
            Vec::new()
        } else {
            op.params
                .iter()
                .filter(|p| p.place == Place::Query)
                .map(|p| p.name.as_str())
                .collect()
        };
        for p in &op.params {
            let at = format!("{}/{}", p.place.as_str(), p.name);
            let value = match p.place {
                Place::Path => bound
                    .iter()
                    .find(|(n, _)| *n == p.name)
                    .map(|(_, raw)| params::path(&p.name, &p.kind, p.style, p.explode, raw))
                    .transpose(),
                Place::Query => params::query(
                    &p.name,
                    &p.kind,
                    p.style,
                    p.explode,
                    p.allow_reserved,
                    &query,
                    &declared,
                ),
                Place::Header => header_value(
                    p,
                    req.headers
                        .get_all(p.name.as_str())
                        .iter()
                        .map(|v| v.to_str().ok()),
                ),
                Place::Cookie => req
                    .headers
                    .get_all(http::header::COOKIE)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(|v| v.split(';'))
                    .filter_map(|c| c.trim().split_once('='))
                    .find(|(k, _)| *k == p.name)
                    .map(|(_, v)| params::text(&p.kind, p.explode, v))
                    .transpose(),
            };
            param_violations(p, &at, value, &mut errors);
            if errors.len() >= MAX_LISTED {
                break;
            }
        }
        if !errors.is_empty() {
            let mut d = Deny::new(Problem::BadRequest);
            d.outcome = "invalid_parameter";
            d.detail = Some("request parameters do not match the API description".into());
            d.errors = errors;
            return Decision::Deny(d);
        }
        if let Some(spec) = &op.body {
            return check_body(spec, req, body);
        }
        Decision::Allow("valid")
    }
}

fn check_body(spec: &BodySpec, req: &Parts, body: BodyView<'_>) -> Decision {
    let body = match body {
        BodyView::Read(b) if !b.is_empty() => Some(b),
        BodyView::Unread => None,
        _ => {
            if spec.required {
                let mut d = Deny::new(Problem::SchemaViolation);
                d.outcome = "invalid_body";
                d.detail = Some("this operation requires a request body".into());
                return Decision::Deny(d);
            }
            return Decision::Allow("valid");
        }
    };
    let (t, s) = super::content::media_type(&req.headers).unwrap_or_default();
    let Some(entry) = media_entry(&spec.media, &t, &s) else {
        let mut d = Deny::new(Problem::UnsupportedMediaType);
        d.outcome = "invalid_body";
        return Decision::Deny(d);
    };
    let Some(schema) = &entry.2 else {
        return Decision::Allow("valid");
    };
    // A JSON schema under `*/*` or `application/*` applies to JSON bodies only.
    if matches!(schema, BodySchema::Json(_)) && !super::content::is_json_type(&t, &s) {
        return Decision::Allow("valid");
    }
    let Some(body) = body else {
        // A body the stage did not read (longer than the cap on a `skip` route).
        return Decision::Allow("uninspected");
    };
    let validator = match schema {
        BodySchema::Json(v) => v,
        BodySchema::Form(v, fields) | BodySchema::Multipart(v, fields) => {
            let value = if matches!(schema, BodySchema::Form(..)) {
                form_value(body, fields)
            } else {
                multipart_value(req, body, fields)
            };
            return match value {
                Ok(value) => verdict(v, &value),
                Err(why) => {
                    let mut d = Deny::new(Problem::BadRequest);
                    d.outcome = "invalid_body";
                    d.detail = Some(why);
                    Decision::Deny(d)
                }
            };
        }
    };
    if super::content::repeated_key(body, super::schema::MAX_KEYS_CHECKED) {
        let mut d = Deny::new(Problem::BadRequest);
        d.outcome = "invalid_body";
        d.detail = Some("JSON object with a repeated key".into());
        return Decision::Deny(d);
    }
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => {
            let mut d = Deny::new(Problem::BadRequest);
            d.outcome = "invalid_body";
            d.detail = Some("body is not valid JSON".into());
            return Decision::Deny(d);
        }
    };
    verdict(validator, &value)
}

/// The answer for a body value checked against its schema.
fn verdict(validator: &jsonschema::Validator, value: &Value) -> Decision {
    let errors = super::schema::violations(validator, value);
    if errors.is_empty() {
        return Decision::Allow("valid");
    }
    let mut d = Deny::new(Problem::SchemaViolation);
    d.outcome = "invalid_body";
    d.detail = Some("body does not match the API description".into());
    d.errors = errors;
    Decision::Deny(d)
}

/// A form body as the object its schema describes: each field typed by its property (a string
/// when the schema does not name it), array properties collecting repeated fields. Refused
/// (with the reason) when backends could read it differently from this check: a name or value
/// that is not UTF-8 once percent-decoded (the parser would put U+FFFD in its place), a repeated field that is not an array (servers disagree on which value wins),
/// or a bracketed name such as `age[]` or `age[k]` for a declared property `age` (PHP, Rails
/// and Express read those as that property, as an array or an object).
fn form_value(body: &[u8], fields: &[FormField]) -> Result<Value, String> {
    let Some(pairs) = params::utf8_pairs(body) else {
        return Err("form body is not UTF-8 once decoded".to_owned());
    };
    let mut out = Map::new();
    // Properties with an `encoding` style are read as query parameters of that style are.
    let declared: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    for f in fields {
        let Some((style, explode)) = f.style else {
            continue;
        };
        let read = params::query(
            &f.name,
            &f.kind,
            style,
            explode,
            f.allow_reserved,
            &pairs,
            &declared,
        );
        match read {
            Ok(Some(v)) => {
                out.insert(f.name.clone(), v);
            }
            Ok(None) => {}
            Err(why) => return Err(format!("form field {:?}: {why}", f.name)),
        }
    }
    for (name, raw) in &pairs {
        if fields.iter().any(|f| f.claims(name)) {
            continue;
        }
        let field = fields.iter().find(|f| f.name == *name);
        let kind = field.map(|f| &f.kind);
        let text = params::decode(raw, field.is_some_and(|f| f.allow_reserved));
        if kind.is_none()
            && let Some(base) = name.split('[').next()
            && base.len() < name.len()
            && fields.iter().any(|f| f.name == base)
        {
            return Err(format!(
                "form field {name:?} names property {base:?} with brackets"
            ));
        }
        if kind.is_none()
            && let Some(renamed) = params::php_name(name)
        {
            let base = renamed.split('[').next().unwrap_or_default();
            if fields.iter().any(|f| f.name == base) {
                return Err(format!("form field {name:?} is property {base:?} to PHP"));
            }
        }
        put_field(&mut out, name, kind.unwrap_or(&Kind::String), |k| {
            form_field(k, &text)
        })
        .map_err(|()| format!("form field {name:?} is repeated"))?;
    }
    Ok(Value::Object(out))
}

/// Puts a form field into `out` as `value` reads it for its property's kind: an array property
/// collects one item per occurrence; any other field given twice is `Err`.
fn put_field(
    out: &mut Map<String, Value>,
    name: &str,
    kind: &Kind,
    value: impl Fn(&Kind) -> Value,
) -> Result<(), ()> {
    match kind {
        Kind::Array(item) => match out.entry(name).or_insert_with(|| Value::Array(Vec::new())) {
            Value::Array(a) => a.push(value(item)),
            _ => return Err(()),
        },
        k => {
            if out.contains_key(name) {
                return Err(());
            }
            out.insert(name.to_owned(), value(k));
        }
    }
    Ok(())
}

/// A multipart form as the object its schema describes, like [`form_value`]: each text part
/// typed by its property, an object property (or an array of objects) parsed from its part's
/// JSON, a file as its content read as text (bytes that are not UTF-8 replaced), repeated
/// names only for array properties. Refused with the reason when the body is not strictly
/// well formed ([`super::multipart`]).
fn multipart_value(req: &Parts, body: &[u8], fields: &[FormField]) -> Result<Value, String> {
    let boundary = req
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(super::multipart::boundary)
        .ok_or("multipart body without a boundary")?;
    let mut out = Map::new();
    for part in super::multipart::parse(body, boundary, MAX_PARTS)? {
        let text = String::from_utf8_lossy(part.content);
        let field = fields.iter().find(|f| f.name == part.name);
        // A part without a type is text/plain (RFC 7578 §4.4).
        let (t, s) = part
            .content_type
            .as_deref()
            .and_then(super::content::parse_media_type)
            .unwrap_or_else(|| ("text".to_owned(), "plain".to_owned()));
        if let Some(f) = field.filter(|f| !f.content_types.is_empty())
            && !f
                .content_types
                .iter()
                .any(|(at, asub)| (at == "*" || *at == t) && (asub == "*" || *asub == s))
        {
            return Err(format!(
                "multipart field {:?} is {t}/{s}, a type the API description does not allow for it",
                part.name
            ));
        }
        if let Some(f) = field {
            part_headers(f, &part)?;
        }
        let json = super::content::is_json_type(&t, &s);
        let kind = field.map_or(&Kind::String, |f| &f.kind);
        let value = |k: &Kind| match k {
            Kind::Object(_) => {
                serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.to_string()))
            }
            _ if json => {
                serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.to_string()))
            }
            k => form_field(k, &text),
        };
        put_field(&mut out, &part.name, kind, value)
            .map_err(|()| format!("multipart field {:?} is repeated", part.name))?;
    }
    Ok(Value::Object(out))
}

/// A header parameter's value: absent, given more than once (`repeated`), not text
/// (`style`), or its text read by the parameter's kind. `values` are the field's values, `None`
/// for one that is not visible ASCII.
fn header_value<'a>(
    p: &Param,
    mut values: impl Iterator<Item = Option<&'a str>>,
) -> Result<Option<Value>, &'static str> {
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(_), Some(_)) => Err(params::REPEATED),
        (Some(Some(t)), None) => params::text(&p.kind, p.explode, t).map(Some),
        (Some(None), None) => Err(params::STYLE),
    }
}

/// Adds to `errors` what is wrong with parameter `p`'s value: the keyword that stopped it from
/// being read, `required` when it is absent and must be there, or its schema's violations, each
/// with its pointer under `at`.
fn param_violations(
    p: &Param,
    at: &str,
    value: Result<Option<Value>, &'static str>,
    errors: &mut Vec<(String, String)>,
) {
    match value {
        Err(keyword) => errors.push((at.to_owned(), keyword.into())),
        Ok(None) if p.required => errors.push((at.to_owned(), "required".into())),
        Ok(None) => {}
        Ok(Some(value)) => {
            if let Some(v) = &p.schema {
                for e in v.iter_errors(&value).take(MAX_LISTED) {
                    errors.push((
                        format!("{at}{}", e.instance_path().as_str()),
                        e.kind().keyword().to_owned(),
                    ));
                }
            }
        }
    }
}

/// Checks a part's header fields against its property's `encoding` headers, as header
/// parameters are checked. The refusal names the field, the header and the failed keyword,
/// never the value.
fn part_headers(f: &FormField, part: &super::multipart::Part<'_>) -> Result<(), String> {
    let mut errors = Vec::new();
    for h in &f.headers {
        let value = header_value(h, part.header(&h.name).map(Some));
        param_violations(h, &h.name, value, &mut errors);
        if let Some((at, keyword)) = errors.first() {
            return Err(format!(
                "multipart field {:?}: header {at} fails `{keyword}`",
                f.name
            ));
        }
    }
    Ok(())
}

/// A form field as its property's kind reads it; a kind a field cannot carry (an array in an
/// array, an object, JSON text that does not parse) keeps the text, for the schema to refuse.
fn form_field(kind: &Kind, text: &str) -> Value {
    params::scalar(kind, text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// What [`Api::find`] found for a request.
pub enum Found<'a> {
    /// The operation, with the path parameters bound by its template (their raw segments).
    Op(&'a Operation, Vec<(&'a str, String)>),
    /// A described path without this method: the methods it has.
    NoMethod(Vec<Method>),
    /// No described path.
    NoPath,
}

impl Found<'_> {
    /// Whether the stage needs the body (an operation with a JSON or form body schema).
    pub fn reads_body(&self) -> bool {
        matches!(self, Found::Op(op, _) if op.body.as_ref().is_some_and(|b| b.media.iter().any(|m| m.2.is_some())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r##"
openapi: 3.0.3
info: { title: shop, version: "1" }
servers: [{ url: "https://api.example.com/v1" }]
paths:
  /orders:
    get:
      parameters:
        - { name: limit, in: query, schema: { type: integer, minimum: 1, maximum: 100 } }
        - { name: status, in: query, schema: { type: string, enum: [open, closed] } }
        - { name: tags, in: query, schema: { type: array, items: { type: string, pattern: "^[a-z]+$" } } }
    post:
      parameters:
        - { $ref: "#/components/parameters/Tenant" }
      requestBody:
        required: true
        content:
          application/json:
            schema: { $ref: "#/components/schemas/Order" }
  /orders/me:
    get: {}
  /upload:
    post:
      requestBody:
        content:
          multipart/form-data:
            schema:
              type: object
              required: [title, file]
              additionalProperties: false
              properties:
                title: { type: string, maxLength: 10 }
                count: { type: integer, minimum: 1 }
                meta: { type: object, required: [lang], properties: { lang: { type: string } } }
                tags: { type: array, items: { type: string } }
                file: { type: string, format: binary }
  /search/{ids}:
    get:
      parameters:
        - { name: ids, in: path, required: true, style: matrix, explode: true, schema: { type: array, items: { type: integer } } }
        - { name: filter, in: query, style: deepObject, schema: { type: object, additionalProperties: false, properties: { status: { type: string, enum: [open, closed] }, min: { type: integer }, range: { type: object, additionalProperties: false, properties: { lo: { type: integer }, hi: { type: integer } } }, tags: { type: array, maxItems: 2, items: { type: string } }, rows: { type: array, items: { type: object, properties: { id: { type: integer } } } } } } }
        - { name: since, in: query, allowReserved: true, schema: { type: string, pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}[+][0-9]{2}:[0-9]{2}$" } }
        - { name: until, in: query, schema: { type: string, pattern: "^[^+]*$" } }
        - { name: labels, in: query, explode: false, schema: { type: array, maxItems: 2, items: { type: string } } }
        - { name: sort, in: query, style: pipeDelimited, explode: false, schema: { type: array, maxItems: 2, items: { type: string } } }
        - { name: X-Ids, in: header, schema: { type: array, items: { type: integer } } }
        - { name: q, in: query, content: { application/json: { schema: { type: object, required: [text] } } } }
  /login:
    post:
      requestBody:
        content:
          application/x-www-form-urlencoded:
            schema:
              type: object
              required: [user, age]
              additionalProperties: false
              properties:
                user: { type: string, minLength: 2 }
                age: { type: integer, minimum: 18 }
                tags: { type: array, items: { type: string, enum: [a, b] } }
  /profile:
    post:
      requestBody:
        content:
          multipart/form-data:
            schema:
              type: object
              additionalProperties: false
              properties:
                avatar: { type: string, format: binary }
                prefs: { type: object, properties: { dark: { type: boolean } } }
                ids: { type: array, items: { type: integer } }
                note: { type: string }
                caption: { type: string }
            encoding:
              avatar: { contentType: "image/png, image/jpeg" }
              ids: { contentType: application/json }
              caption:
                headers:
                  X-Lang: { required: true, schema: { type: string, enum: [en, fr] } }
                  X-Rev: { schema: { type: integer } }
                  Content-Type: { required: true }
          application/x-www-form-urlencoded:
            schema:
              type: object
              additionalProperties: false
              properties:
                filter: { type: object, additionalProperties: false, properties: { min: { type: integer }, state: { type: string } } }
                tags: { type: array, maxItems: 2, items: { type: string } }
                page: { type: integer }
                stamp: { type: string, pattern: "[+]" }
                user_id: { type: integer }
                note: { type: string, pattern: "^[^+]*$" }
            encoding:
              stamp: { allowReserved: true }
              filter: { style: deepObject }
              tags: { style: form, explode: false }
              page: { contentType: text/plain }
  /orders/{id}:
    parameters:
      - { name: id, in: path, required: true, schema: { type: integer } }
    get: {}
    delete: {}
components:
  parameters:
    Tenant: { name: X-Tenant, in: header, required: true, schema: { type: string, pattern: "^t-[0-9]+$" } }
  schemas:
    Order:
      type: object
      required: [item, qty]
      additionalProperties: false
      properties:
        item: { type: string }
        qty: { type: integer, minimum: 1 }
        note: { type: string, nullable: true }
"##;

    /// Compiles `doc`, written to a file of its own (tests run in parallel, and a file
    /// rewritten under a reader fails): the API, or the errors.
    fn compiled(doc: &str, reject_unknown: Option<bool>) -> Result<Api, String> {
        compiled_with(doc, reject_unknown, None)
    }

    /// [`compiled`], checking responses as `responses` says.
    fn compiled_with(
        doc: &str,
        reject_unknown: Option<bool>,
        responses: Option<OpenApiResponsesConfig>,
    ) -> Result<Api, String> {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = crate::test_dir::TestDir::new(&format!("openapi-{n}"));
        let f = dir.write("api.yaml", doc);
        let c = OpenApiConfig {
            file: f.to_string_lossy().as_ref().into(),
            base_path: None,
            reject_unknown,
            security: None,
            responses,
            operations: Default::default(),
        };
        let mut errs = Collector::default();
        let a = compile(&c, "routes[0].openapi", &mut errs);
        // Read once, at compile: the folder goes now.
        drop(dir);
        match a {
            Some(a) if errs.errors.is_empty() => Ok(a),
            _ => Err(format!("{:?}", errs.errors)),
        }
    }

    fn api(reject_unknown: bool) -> Api {
        compiled(DOC, Some(reject_unknown)).expect("api")
    }

    fn req(method: &str, uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut b = http::Request::builder().method(method).uri(uri);
        for (n, v) in headers {
            b = b.header(*n, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    /// Finds and decides, as the stage does.
    fn check(a: &Api, r: &Parts, view: BodyView<'_>) -> Decision {
        a.decide(a.find(r), r, view)
    }

    fn outcome(d: Decision) -> (String, Vec<(String, String)>) {
        match d {
            Decision::Allow(o) => (o.to_owned(), Vec::new()),
            Decision::Deny(d) => (d.outcome.to_owned(), d.errors),
            Decision::Modify(_, o) => (o.to_owned(), Vec::new()),
        }
    }

    #[test]
    fn matches_operations_and_refuses_the_undescribed() {
        let a = api(true);
        let o = |m: &str, u: &str| outcome(check(&a, &req(m, u, &[]), BodyView::Absent)).0;
        assert_eq!(o("GET", "/v1/orders"), "valid");
        assert_eq!(o("GET", "/v1/orders/me"), "valid");
        assert_eq!(o("GET", "/v1/orders/42"), "valid");
        assert_eq!(o("HEAD", "/v1/orders/42"), "valid");
        assert_eq!(o("GET", "/v1/orders/abc"), "invalid_parameter");
        assert_eq!(o("GET", "/v1/nothing"), "unknown_operation");
        assert_eq!(
            o("GET", "/orders"),
            "unknown_operation",
            "outside the base path"
        );
        assert_eq!(o("PUT", "/v1/orders/42"), "unknown_operation");
        let open = api(false);
        assert_eq!(
            outcome(check(
                &open,
                &req("GET", "/v1/nothing", &[]),
                BodyView::Absent
            ))
            .0,
            "undescribed"
        );
    }

    #[test]
    fn names_operations_by_id_or_by_method_and_path() {
        let a = compiled(
            r#"
openapi: 3.1.0
info: { title: t, version: "1" }
servers: [{ url: /v1 }]
paths:
  /orders/{id}:
    get: { operationId: getOrder }
    delete: {}
  /orders/me:
    get: { operationId: myOrders }
"#,
            None,
        )
        .expect("api");
        let get_order = a.operation_index("getOrder").expect("by id");
        assert_eq!(a.operation_index("GET /orders/{id}"), Some(get_order));
        assert_eq!(a.operation_index("get /orders/{id}"), Some(get_order));
        let delete = a.operation_index("delete /orders/{id}").expect("by route");
        let mine = a.operation_index("myOrders").expect("by id");
        assert_eq!(a.operations().count(), 3);
        assert!(get_order != delete && delete != mine && mine != get_order);
        for missing in [
            "GET /orders",
            "PATCH /orders/{id}",
            "getorder",
            "GET /orders/{ID}",
        ] {
            assert_eq!(a.operation_index(missing), None, "{missing}");
        }
        // Requests find the same indices; a literal segment wins over a parameter, and HEAD
        // is GET's where the path has no HEAD of its own.
        let a = Arc::new(a);
        let of = |m: Method, p: &str| a.locate(&m, p).index();
        assert_eq!(of(Method::GET, "/v1/orders/me"), Some(mine));
        assert_eq!(of(Method::GET, "/v1/orders/7"), Some(get_order));
        assert_eq!(of(Method::HEAD, "/v1/orders/7"), Some(get_order));
        assert_eq!(of(Method::DELETE, "/v1/orders/7"), Some(delete));
        assert_eq!(of(Method::POST, "/v1/orders/7"), None);
        assert_eq!(of(Method::GET, "/orders/7"), None);
        // What was located is what the stage would find: the operation and its parameters.
        let located = a.locate(&Method::DELETE, "/v1/orders/7");
        assert!(located.index().is_some(), "located");
        match a.resume(located) {
            Some(Found::Op(op, bound)) => {
                assert_eq!(op.index, delete);
                assert_eq!(bound, vec![("id", "7".to_owned())]);
            }
            _ => panic!("resumed nothing"),
        }
        // Found in another document: not resumed here.
        let other = Arc::new(api(true));
        let elsewhere = other.locate(&Method::GET, "/v1/orders/7");
        assert!(elsewhere.index().is_some(), "located");
        assert!(a.resume(elsewhere).is_none());
    }

    #[test]
    fn matches_text_and_parameters_within_a_segment() {
        let doc = r#"openapi: 3.1.0
paths:
  /files/{name}.json:
    parameters:
      - { name: name, in: path, required: true, schema: { type: string, pattern: "^[a-z.]+$" } }
    get: { operationId: json }
  /files/{name}:
    parameters:
      - { name: name, in: path, required: true, schema: { type: string } }
    get: { operationId: any }
  /reports/{from}-{to}:
    parameters:
      - { name: from, in: path, required: true, schema: { type: integer } }
      - { name: to, in: path, required: true, schema: { type: string } }
    get: { operationId: range }
  /v{major}/items:
    parameters:
      - { name: major, in: path, required: true, schema: { type: integer, maximum: 3 } }
    get: {}
"#;
        let a = compiled(doc, Some(true)).expect("api");
        let found = |u: &str| match a.find(&req("GET", u, &[])) {
            Found::Op(op, bound) => {
                let mut b: Vec<String> = bound.iter().map(|(n, v)| format!("{n}={v}")).collect();
                b.insert(0, op.id.to_string());
                b.join(" ")
            }
            Found::NoPath => "no path".into(),
            Found::NoMethod(_) => "no method".into(),
        };
        // Text in a segment is more concrete than a parameter alone, whatever the order.
        assert_eq!(found("/files/a.json"), "json name=a");
        // The suffix is anchored at the end: the parameter takes the dots before it.
        assert_eq!(found("/files/a.b.json"), "json name=a.b");
        assert_eq!(found("/files/a.txt"), "any name=a.txt");
        // A parameter binds at least one character.
        assert_eq!(found("/files/.json"), "any name=.json");
        // Between two parameters, the first separator splits them.
        assert_eq!(found("/reports/2020-2021-q1"), "range from=2020 to=2021-q1");
        assert_eq!(found("/reports/2020"), "no path");
        assert_eq!(found("/v2/items"), "GET /v{major}/items major=2");
        assert_eq!(found("/vx/items"), "GET /v{major}/items major=x");
        assert_eq!(found("/2/items"), "no path");
        // The bound values are checked by their schemas like whole-segment ones.
        let o = |u: &str| outcome(check(&a, &req("GET", u, &[]), BodyView::Absent));
        assert_eq!(o("/files/a.json").0, "valid");
        assert_eq!(o("/reports/2020-x").0, "valid");
        assert_eq!(
            o("/reports/x-2020"),
            (
                "invalid_parameter".into(),
                vec![("path/from".into(), "type".into())]
            )
        );
        assert_eq!(
            o("/v4/items").1,
            vec![("path/major".into(), "maximum".into())]
        );
        let doc = "openapi: 3.0.3\npaths:\n  /x:\n    get:\n      parameters:\n        - { name: Authorization, in: header, required: true, schema: { type: string } }\n        - { name: Accept, in: header, required: true, schema: { type: string } }\n        - { name: Content-Type, in: header, required: true, schema: { type: string } }\n";
        let ignored = compiled(doc, None).expect("api");
        assert_eq!(
            outcome(check(&ignored, &req("GET", "/x", &[]), BodyView::Absent)).0,
            "valid",
            "Accept, Content-Type and Authorization header parameters are ignored"
        );
        for (template, why) in [
            ("/files/{a}{b}", "cannot be told apart"),
            ("/files/{}.json", "braces must enclose"),
            ("/files/{a.json", "braces must enclose"),
            ("/files/a}.json", "braces must enclose"),
            ("/files/{a{b}}", "braces must enclose"),
            ("/files/}", "braces must enclose"),
            ("/files/{a}}", "braces must enclose"),
            ("/files/}{a}", "braces must enclose"),
            ("/files/{a}-{a}", "appears twice"),
            ("/files/{a}/x/{a}.json", "appears twice"),
        ] {
            let doc = format!("openapi: 3.1.0\npaths:\n  {template}:\n    get: {{}}\n");
            let errs = compiled(&doc, None).expect_err(template);
            assert!(errs.contains(why), "{template}: {errs}");
        }
    }

    #[test]
    fn checks_parameters_by_schema() {
        let a = api(true);
        let o = |u: &str| outcome(check(&a, &req("GET", u, &[]), BodyView::Absent));
        assert_eq!(
            o("/v1/orders?limit=10&status=open&tags=a&tags=b").0,
            "valid"
        );
        let (out, errs) = o("/v1/orders?limit=0&status=gone&tags=a&tags=B1");
        assert_eq!(out, "invalid_parameter");
        let text = format!("{errs:?}");
        assert!(
            text.contains("query/limit") && text.contains("minimum"),
            "{text}"
        );
        assert!(
            text.contains("query/status") && text.contains("enum"),
            "{text}"
        );
        assert!(
            text.contains("query/tags/1") && text.contains("pattern"),
            "{text}"
        );
        assert!(!text.contains("gone"), "values never listed: {text}");
        assert_eq!(o("/v1/orders?limit=ten").0, "invalid_parameter");
    }

    #[test]
    fn reads_parameters_by_style_and_explode() {
        let a = api(true);
        let o =
            |u: &str, h: &[(&str, &str)]| outcome(check(&a, &req("GET", u, h), BodyView::Absent));
        let ok = "/v1/search/;ids=3;ids=4?filter[status]=open&filter[min]=2&sort=a|b";
        assert_eq!(o(ok, &[("x-ids", "1, 2")]).0, "valid");
        let q = "/v1/search/;ids=3?q=%7B%22text%22%3A%22tea%22%7D";
        assert_eq!(o(q, &[]).0, "valid");
        let (out, errs) = o(
            "/v1/search/;ids=3;ids=x?filter[status]=gone&filter[other]=1&sort=a|b|c",
            &[("x-ids", "1,two")],
        );
        assert_eq!(out, "invalid_parameter");
        let text = format!("{errs:?}");
        for want in [
            "path/ids/1",
            "query/filter/status",
            "additionalProperties",
            "query/sort",
            "maxItems",
            "header/x-ids/1",
        ] {
            assert!(text.contains(want), "{want}: {text}");
        }
        // Nested deepObject fields: objects in objects, arrays repeated, with `[]` or indices,
        // arrays of objects by index.
        let nested = "/v1/search/;ids=3?filter[range][lo]=1&filter[range][hi]=9\
                      &filter[tags][]=a&filter[tags][]=b&filter[rows][0][id]=4&filter[rows][1][id]=5";
        assert_eq!(o(nested, &[]).0, "valid");
        assert_eq!(
            o("/v1/search/;ids=3?filter[tags]=a&filter[tags]=b", &[]).0,
            "valid"
        );
        assert_eq!(
            o("/v1/search/;ids=3?filter[tags][0]=a&filter[tags][1]=b", &[]).0,
            "valid"
        );
        let (_, errs) = o(
            "/v1/search/;ids=3?filter[range][lo]=x&filter[range][mid]=2&filter[tags][]=a\
             &filter[tags][]=b&filter[tags][]=c&filter[rows][0][id]=y",
            &[],
        );
        let text = format!("{errs:?}");
        for want in [
            "query/filter/range/lo\", \"type",
            "query/filter/range\", \"additionalProperties",
            "query/filter/tags\", \"maxItems",
            "query/filter/rows/0/id\", \"type",
        ] {
            assert!(text.contains(want), "{want}: {text}");
        }
        // `allowReserved`: a `+` sent as it is stands for itself; elsewhere it is a space.
        let stamp = "/v1/search/;ids=3?since=2026-12-06T10:00:00+01:00&until=a+b";
        assert_eq!(o(stamp, &[]).0, "valid");
        let (_, errs) = o("/v1/search/;ids=3?until=a%2Bb", &[]);
        assert_eq!(errs, vec![("query/until".to_owned(), "pattern".to_owned())]);
        // A comma sent as it is separates items; an encoded one is refused (servers disagree).
        let (_, errs) = o("/v1/search/;ids=3?labels=a%2Cb,c", &[]);
        assert_eq!(errs, vec![("query/labels".to_owned(), "style".to_owned())]);
        let (_, errs) = o("/v1/search/;ids=3?labels=a,b,c", &[]);
        assert_eq!(
            errs,
            vec![("query/labels".to_owned(), "maxItems".to_owned())]
        );
        // Serialisations the style cannot carry, and JSON content that does not parse.
        for (uri, at, keyword) in [
            ("/v1/search/3", "path/ids", "style"),
            ("/v1/search/;ids=3?filter[range]=1", "query/filter", "style"),
            (
                "/v1/search/;ids=3?filter[range][lo]=1&filter[range][lo]=2",
                "query/filter",
                "repeated",
            ),
            (
                "/v1/search/;ids=3?filter[tags][1]=a",
                "query/filter",
                "style",
            ),
            ("/v1/search/;ids=3?filter[range", "query/filter", "style"),
            ("/v1/search/;ids=3?filter=x", "query/filter", "style"),
            (
                "/v1/search/;ids=3?filter[tags][01]=a",
                "query/filter",
                "style",
            ),
            ("/v1/search/;ids=3?filter[0]=a", "query/filter", "style"),
            (
                "/v1/search/;ids=3?labels=a&labels[]=b",
                "query/labels",
                "style",
            ),
            ("/v1/search/;ids=3?sort=a&sort=b", "query/sort", "repeated"),
            ("/v1/search/;ids=3?q=%7B", "query/q", "content"),
            ("/v1/search/;ids=3?q=%7B%7D", "query/q", "required"),
        ] {
            assert_eq!(
                o(uri, &[]).1,
                vec![(at.to_owned(), keyword.to_owned())],
                "{uri}"
            );
        }
    }

    /// A multipart body with the boundary `b1`: each part its header lines and its content.
    fn multipart_body<H: AsRef<str>>(parts: &[(H, &str)]) -> Bytes {
        let mut s = String::new();
        for (head, content) in parts {
            s.push_str(&format!("--b1\r\n{}\r\n\r\n{content}\r\n", head.as_ref()));
        }
        s.push_str("--b1--\r\n");
        Bytes::from(s)
    }

    #[test]
    fn checks_multipart_bodies_by_their_schema() {
        let a = api(true);
        let ct = [("content-type", "multipart/form-data; boundary=b1")];
        let form = |parts: &[(&str, &str)]| {
            let parts: Vec<(String, &str)> = parts
                .iter()
                .map(|(h, c)| (format!("Content-Disposition: form-data; {h}"), *c))
                .collect();
            multipart_body(&parts)
        };
        let post = |body: Bytes| {
            outcome(check(
                &a,
                &req("POST", "/v1/upload", &ct),
                BodyView::Read(&body),
            ))
        };
        let good = form(&[
            ("name=\"title\"", "report"),
            ("name=\"count\"", "2"),
            ("name=\"meta\"", r#"{"lang":"en"}"#),
            ("name=\"tags\"", "a"),
            ("name=\"tags\"", "b"),
            ("name=\"file\"; filename=\"r.pdf\"", "%PDF-1.4 \u{1}"),
        ]);
        assert_eq!(post(good).0, "valid");
        let (out, errs) = post(form(&[
            ("name=\"title\"", "a very long title"),
            ("name=\"count\"", "0"),
            ("name=\"meta\"", "{}"),
            ("name=\"other\"", "x"),
        ]));
        assert_eq!(out, "invalid_body");
        let text = format!("{errs:?}");
        for want in [
            "/title",
            "maxLength",
            "/count",
            "minimum",
            "/meta",
            "required",
            "additionalProperties",
        ] {
            assert!(text.contains(want), "{want}: {text}");
        }
        // Repeated scalars and malformed bodies are refused with a reason (400).
        let repeated = form(&[
            ("name=\"title\"", "a"),
            ("name=\"title\"", "b"),
            ("name=\"file\"", ""),
        ]);
        assert_eq!(post(repeated).0, "invalid_body");
        let d = check(
            &a,
            &req("POST", "/v1/upload", &ct),
            BodyView::Read(&Bytes::from_static(b"--b1\r\nno head")),
        );
        match d {
            Decision::Deny(d) => assert!(d.detail.unwrap_or_default().contains("multipart")),
            _ => panic!("malformed multipart allowed"),
        }
    }

    /// The `encoding` map of a form or multipart media type: part types by property, and
    /// form fields read by their `style` and `explode`.
    #[test]
    fn bodies_follow_their_encoding_map() {
        let a = api(true);
        let multipart = [("content-type", "multipart/form-data; boundary=b1")];
        let parts = multipart_body::<&str>;
        let send = |ct: &[(&str, &str)], body: Bytes| {
            let d = check(&a, &req("POST", "/v1/profile", ct), BodyView::Read(&body));
            match d {
                Decision::Allow(o) => o.to_owned(),
                Decision::Deny(d) => format!("{}: {}", d.outcome, d.detail.unwrap_or_default()),
                _ => "other".to_owned(),
            }
        };
        let png = "Content-Disposition: form-data; name=\"avatar\"; filename=\"a.png\"\r\nContent-Type: image/png";
        let ids = "Content-Disposition: form-data; name=\"ids\"\r\nContent-Type: application/json";
        assert_eq!(
            send(
                &multipart,
                parts(&[(png, "\u{1}PNG"), (ids, "3"), (ids, "4")])
            ),
            "valid"
        );
        // A part of a type the document does not list for its property.
        let gif = "Content-Disposition: form-data; name=\"avatar\"; filename=\"a.gif\"\r\nContent-Type: image/gif";
        let out = send(&multipart, parts(&[(gif, "GIF89a")]));
        assert!(
            out.contains("image/gif") && out.starts_with("invalid_body"),
            "{out}"
        );
        // No type is text/plain, which `avatar` does not take.
        let bare = "Content-Disposition: form-data; name=\"avatar\"";
        assert!(send(&multipart, parts(&[(bare, "x")])).contains("text/plain"));
        // A property without a listed type takes any part; a JSON part is read as JSON.
        let note = "Content-Disposition: form-data; name=\"note\"\r\nContent-Type: text/markdown";
        assert_eq!(send(&multipart, parts(&[(note, "*hi*")])), "valid");
        assert!(send(&multipart, parts(&[(ids, "\"x\"")])).starts_with("invalid_body"));
        // Per-part headers of the encoding map: required, single, typed by their schema. The
        // `Content-Type` entry is ignored (it is `contentType`'s business).
        let caption = "Content-Disposition: form-data; name=\"caption\"";
        for (headers, want) in [
            ("\r\nX-Lang: fr", "valid"),
            ("\r\nx-lang:  en \r\nX-Rev: 3", "valid"),
            ("", "header x-lang fails `required`"),
            ("\r\nX-Lang: de", "header x-lang fails `enum`"),
            (
                "\r\nX-Lang: en\r\nX-Lang: fr",
                "header x-lang fails `repeated`",
            ),
            (
                "\r\nX-Lang: en\r\nX-Rev: three",
                "header x-rev fails `type`",
            ),
        ] {
            let head = format!("{caption}{headers}");
            let out = send(&multipart, multipart_body(&[(head, "hello")]));
            assert!(out.contains(want), "{headers:?}: {out}");
        }

        let form = [("content-type", "application/x-www-form-urlencoded")];
        let f = |body: &'static str| send(&form, Bytes::from_static(body.as_bytes()));
        assert_eq!(
            f("filter[min]=3&filter[state]=open&tags=a,b&page=2"),
            "valid"
        );
        // deepObject keys are the object's properties, typed.
        assert!(f("filter[min]=x").starts_with("invalid_body"));
        assert!(f("filter[other]=1").starts_with("invalid_body"));
        // explode: false reads one comma-separated field; given twice it is ambiguous.
        assert!(f("tags=a,b,c").starts_with("invalid_body"), "maxItems 2");
        assert!(f("tags=a&tags=b").contains("repeated"));
        // A comma sent encoded is refused in a non-exploded array; so is the bare name of a
        // deepObject property.
        assert!(f("tags=a%2Cb,c").contains("style"));
        assert!(f("filter[min]=3&filter=x").contains("style"));
        // A name PHP renames to a declared property.
        assert_eq!(f("user_id=2"), "valid");
        assert!(f("user.id=2").contains("to PHP"), "{}", f("user.id=2"));
        assert!(f("user%20id=x").contains("to PHP"));
        // `encoding.stamp.allowReserved`: its `+` is a plus sign; other fields' are spaces.
        assert_eq!(f("stamp=1+2&note=a+b"), "valid");
        assert!(f("stamp=1%202").starts_with("invalid_body"));
        assert!(f("note=a%2Bb").starts_with("invalid_body"));
        assert!(f("other=1").starts_with("invalid_body"));
    }

    #[test]
    fn refuses_styles_that_do_not_fit() {
        let doc = "openapi: 3.1.0\npaths:\n  /a:\n    get:\n      parameters:\n        - { name: h, in: header, style: form }\n        - { name: d, in: query, style: deepObject, schema: { type: string } }\n";
        let text = compiled(doc, None).expect_err("refused");
        assert!(text.contains("does not apply to a header"), "{text}");
        assert!(text.contains("needs an object schema"), "{text}");
        // The `encoding` map: a style a form field cannot have, and a media type that is not one.
        for (media, props, encoding, want) in [
            (
                "application/x-www-form-urlencoded",
                "s: { type: string }",
                "s: { style: simple }",
                "does not apply to a query parameter",
            ),
            (
                "application/x-www-form-urlencoded",
                "n: { type: integer }",
                "n: { style: deepObject }",
                "encoding.n: style deepObject needs an object",
            ),
            (
                "multipart/form-data",
                "f: { type: string }",
                "f: { contentType: \"image/\" }",
                "encoding.f.contentType",
            ),
        ] {
            let doc = format!(
                "openapi: 3.1.0\npaths:\n  /a:\n    post:\n      requestBody:\n        content:\n          {media}:\n            schema: {{ type: object, properties: {{ {props} }} }}\n            encoding: {{ {encoding} }}\n"
            );
            let text = compiled(&doc, None).expect_err("refused");
            assert!(text.contains(want), "{want}: {text}");
        }
    }

    #[test]
    fn checks_headers_and_bodies() {
        let a = api(true);
        let json = [("content-type", "application/json"), ("x-tenant", "t-7")];
        let b = |s: &'static str| Bytes::from_static(s.as_bytes());
        let post = |h: &[(&str, &str)], body: Option<Bytes>| {
            let view = match &body {
                Some(b) => BodyView::Read(b),
                None => BodyView::Absent,
            };
            outcome(check(&a, &req("POST", "/v1/orders", h), view))
        };
        assert_eq!(
            post(&json, Some(b(r#"{"item":"tea","qty":1,"note":null}"#))).0,
            "valid"
        );
        let (out, errs) = post(&json, Some(b(r#"{"item":"tea","qty":0,"x":1}"#)));
        assert_eq!(out, "invalid_body");
        let text = format!("{errs:?}");
        assert!(
            text.contains("/qty") && text.contains("additionalProperties"),
            "{text}"
        );
        assert_eq!(post(&json, None).0, "invalid_body", "required body");
        let (out, errs) = post(
            &[("content-type", "application/json")],
            Some(b(r#"{"item":"tea","qty":1}"#)),
        );
        assert_eq!(out, "invalid_parameter");
        assert!(format!("{errs:?}").contains("header/x-tenant"));
        assert_eq!(
            post(
                &[("content-type", "text/plain"), ("x-tenant", "t-1")],
                Some(b("hi"))
            )
            .0,
            "invalid_body"
        );
        // A body that was not read still has its media type checked.
        assert_eq!(
            outcome(check(
                &a,
                &req(
                    "POST",
                    "/v1/orders",
                    &[("content-type", "text/csv"), ("x-tenant", "t-1")]
                ),
                BodyView::Unread
            ))
            .0,
            "invalid_body"
        );
        assert!(a.find(&req("POST", "/v1/orders", &json)).reads_body());
        assert!(!a.find(&req("GET", "/v1/orders", &[])).reads_body());
    }

    #[test]
    fn checks_form_bodies_by_their_schema() {
        let a = api(true);
        let form = [("content-type", "application/x-www-form-urlencoded")];
        let post = |body: &'static str| {
            let b = Bytes::from_static(body.as_bytes());
            outcome(check(
                &a,
                &req("POST", "/v1/login", &form),
                BodyView::Read(&b),
            ))
        };
        assert!(a.find(&req("POST", "/v1/login", &form)).reads_body());
        // Fields are typed by their properties; a repeated array field collects its values.
        assert_eq!(post("user=ann&age=30&tags=a&tags=b").0, "valid");
        assert_eq!(post("user=J%C3%BCrgen&age=18").0, "valid");
        for (body, pointer, keyword) in [
            ("user=ann&age=ten", "/age", "type"),
            ("user=ann&age=17", "/age", "minimum"),
            ("user=a&age=30", "/user", "minLength"),
            ("user=ann&age=30&tags=c", "/tags/0", "enum"),
            ("user=ann&age=30&admin=1", "", "additionalProperties"),
            ("age=30", "/user", "required"),
        ] {
            let (out, errs) = post(body);
            assert_eq!(out, "invalid_body", "{body}");
            assert!(
                errs.iter().any(|(p, k)| p == pointer && k == keyword),
                "{body}: {errs:?}"
            );
        }
        // Read differently by backends: refused with 400.
        for body in [
            "user=ann&age=30&user=bob",
            "user=ann&age=30&age[]=x",
            "user=ann&age=30&age[k]=x",
            "user=ann&age=%FF",
            "user=ann&age=30&n%C3=x",
        ] {
            let b = Bytes::from_static(body.as_bytes());
            let d = check(&a, &req("POST", "/v1/login", &form), BodyView::Read(&b));
            assert!(
                matches!(&d, Decision::Deny(d) if d.outcome == "invalid_body" && d.errors.is_empty()),
                "{body}"
            );
        }
    }

    const SECURED: &str = r##"
openapi: 3.1.0
info: { title: bank, version: "1" }
security: [{ oauth: [accounts:read] }]
components:
  securitySchemes:
    oauth: { type: oauth2, flows: { clientCredentials: { tokenUrl: "https://id.example.com/token", scopes: {} } } }
    key: { $ref: "#/components/securitySchemes/keyDef" }
    keyDef: { type: apiKey, in: header, name: X-Api-Key }
    bearer: { type: http, scheme: Bearer }
    digest: { type: http, scheme: digest }
    cert: { type: mutualTLS }
paths:
  /accounts:
    get: { operationId: listAccounts }
    post: { operationId: openAccount, security: [{ oauth: [accounts:write, kyc] }, { key: [teller] }] }
  /health:
    get: { operationId: health, security: [] }
  /rates:
    get: { operationId: rates, security: [{}, { cert: [] }] }
  /admin:
    get: { operationId: admin, security: [{ digest: [] }, { bearer: [ops] }] }
"##;

    fn identity(method: &'static str, roles: &[&str], scopes: &[&str]) -> Identity {
        let list = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>().into();
        Identity {
            consumer: "ann".into(),
            method,
            roles: list(roles),
            scopes: list(scopes),
            claims: None,
        }
    }

    /// The outcome of the document's security check for `method path` and `id`.
    fn secured(a: &Arc<Api>, method: &str, path: &str, id: Option<&Identity>) -> String {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        match a.locate(&method, path).admits(id) {
            Ok(()) => "ok".into(),
            Err(d) => {
                let challenge = d
                    .headers
                    .iter()
                    .map(|(_, v)| v.to_str().unwrap().to_owned())
                    .collect::<String>();
                assert_eq!(d.problem.status(), http::StatusCode::FORBIDDEN);
                format!("{} {challenge}", d.outcome).trim_end().to_owned()
            }
        }
    }

    #[test]
    fn security_requirements_are_enforced_per_operation() {
        let a = Arc::new(compiled(SECURED, None).expect("api"));
        let reader = identity("jwt", &[], &["accounts:read", "other"]);
        let writer = identity("introspection", &[], &["accounts:write", "kyc"]);
        let teller = identity("api_key", &["teller"], &[]);
        let key_only = identity("api_key", &[], &["accounts:read"]);
        let cert = identity("mtls", &[], &[]);
        let ops = identity("jwt", &["ops"], &[]);
        let basic = identity("basic", &["ops", "teller"], &["accounts:read"]);
        let scope =
            r#"insufficient_scope Bearer realm="portcullis", error="insufficient_scope", scope="#;
        for (method, path, id, want) in [
            // The document's `security` covers an operation without its own.
            ("GET", "/accounts", Some(&reader), "ok".to_owned()),
            (
                "GET",
                "/accounts",
                Some(&writer),
                format!("{scope}\"accounts:read\""),
            ),
            // Scopes count only from a token; roles from an API key.
            (
                "GET",
                "/accounts",
                Some(&key_only),
                "security_requirement".into(),
            ),
            ("GET", "/accounts", None, "security_requirement".into()),
            // Either alternative; each needs all it lists.
            ("POST", "/accounts", Some(&writer), "ok".into()),
            ("POST", "/accounts", Some(&teller), "ok".into()),
            (
                "POST",
                "/accounts",
                Some(&reader),
                format!("{scope}\"accounts:write kyc\""),
            ),
            (
                "POST",
                "/accounts",
                Some(&basic),
                "security_requirement".into(),
            ),
            // `security: []` removes the document's; `{}` admits anyone.
            ("GET", "/health", None, "ok".into()),
            ("GET", "/rates", None, "ok".into()),
            ("GET", "/rates", Some(&teller), "ok".into()),
            // An `http` scheme other than basic or bearer is met by nothing; bearer lists roles.
            ("GET", "/admin", Some(&ops), "ok".into()),
            ("GET", "/admin", Some(&basic), "security_requirement".into()),
            ("GET", "/admin", Some(&cert), "security_requirement".into()),
            // Requests that are no operation are the `openapi` stage's to refuse.
            ("GET", "/nowhere", None, "ok".into()),
            ("DELETE", "/accounts", None, "ok".into()),
        ] {
            assert_eq!(secured(&a, method, path, id), want, "{method} {path}");
        }
        // A route that passes undescribed requests holds them to the top-level requirement.
        let open = Arc::new(compiled(SECURED, Some(false)).expect("api"));
        assert!(!open.undescribed_allows_anonymous() && a.undescribed_allows_anonymous());
        for (method, path, id, want) in [
            ("GET", "/nowhere", None, "security_requirement"),
            ("DELETE", "/accounts", Some(&teller), "security_requirement"),
            ("DELETE", "/accounts", Some(&reader), "ok"),
            ("GET", "/health", None, "ok"),
        ] {
            assert_eq!(secured(&open, method, path, id), want, "{method} {path}");
        }
        // Which route methods could ever meet each requirement.
        let reach = |methods: &[&str]| -> Vec<&str> {
            a.operations()
                .filter(|op| op.reachable_by(methods))
                .map(|op| &*op.id)
                .collect()
        };
        assert_eq!(reach(&["api_key"]), ["openAccount", "health", "rates"]);
        assert_eq!(
            reach(&["jwt"]),
            ["listAccounts", "openAccount", "admin", "health", "rates"]
        );
        assert_eq!(reach(&["mtls"]), ["health", "rates"]);
        let anonymous: Vec<&str> = a
            .operations()
            .filter(|op| op.allows_anonymous())
            .map(|op| &*op.id)
            .collect();
        assert_eq!(anonymous, ["health", "rates"]);
    }

    #[test]
    fn ignored_security_is_not_read() {
        let n = format!("{SECURED}\n");
        let dir = crate::test_dir::TestDir::new("openapi-ignore");
        let f = dir.write(
            "api.yaml",
            &n.replace("scheme: digest", "scheme: digest, x: 1"),
        );
        let c = OpenApiConfig {
            file: f.to_string_lossy().as_ref().into(),
            base_path: None,
            reject_unknown: None,
            security: Some(OpenApiSecurityConfig::Ignore),
            responses: None,
            operations: Default::default(),
        };
        let mut errs = Collector::default();
        let a = Arc::new(compile(&c, "routes[0].openapi", &mut errs).expect("api"));
        assert!(a.operations().all(Operation::allows_anonymous));
        assert_eq!(secured(&a, "POST", "/accounts", None), "ok");
    }

    #[test]
    fn security_errors_name_the_operation() {
        for (doc, (at, msg)) in [
            (
                // The top-level requirement is compiled once, and its errors named once.
                SECURED.replace("{ oauth: [accounts:read] }", "{ nope: [] }"),
                ("security", "names the security scheme \"nope\""),
            ),
            (
                SECURED.replace("type: mutualTLS", "type: smoke"),
                (
                    "paths./rates.get.security",
                    "security scheme \"cert\" has an unknown type \"smoke\"",
                ),
            ),
            (
                SECURED.replace(
                    "security: [{ oauth: [accounts:read] }]",
                    "security: { oauth: [] }",
                ),
                ("security", "`security` must be a list"),
            ),
            (
                SECURED.replace("{ bearer: [ops] }", "{ bearer: [1] }"),
                (
                    "paths./admin.get.security",
                    "scheme \"bearer\": list its scopes or roles",
                ),
            ),
            (
                SECURED.replace("{ bearer: [ops] }", "{ bearer: [\"a b\"] }"),
                (
                    "paths./admin.get.security",
                    "\"a b\" is not a scope or role name",
                ),
            ),
        ] {
            let e = compiled(&doc, None).expect_err("refused");
            let at = format!("routes[0].openapi.file: {at}\"");
            // The errors come as Debug text: quotes escaped.
            let msg = msg.replace('"', "\\\"");
            assert!(e.contains(&at) && e.contains(&msg), "{at} {msg}: {e}");
        }
    }

    #[test]
    fn directed_rewrites_schemas_not_values() {
        let doc = serde_json::json!({"components": {"schemas": {"S": {"type": "string", "writeOnly": true}}}});
        let schema = serde_json::json!({
            "type": "object",
            "required": ["a", "b", "c", "e"],
            "properties": {
                "a": { "writeOnly": true },
                "b": { "$ref": "#/components/schemas/S" },
                "c": { "allOf": [{ "$ref": "#/components/schemas/S" }] },
                "d": { "enum": [{ "required": ["x"], "properties": { "x": { "writeOnly": true } } }] },
                "e": { "type": "array", "items": { "required": ["y"], "properties": { "y": { "writeOnly": true } } } }
            }
        });
        let r = directed(&doc, &schema, Direction::Response);
        assert_eq!(r["required"], serde_json::json!(["e"]));
        for p in ["a", "b", "c"] {
            assert_eq!(r["properties"][p], serde_json::json!({ "not": {} }), "{p}");
        }
        // A value is left as it is; a schema inside a schema is rewritten too.
        assert_eq!(r["properties"]["d"], schema["properties"]["d"]);
        assert_eq!(
            r["properties"]["e"]["items"]["required"],
            serde_json::json!([])
        );
        // Nothing is `readOnly`: requests read it unchanged.
        assert_eq!(directed(&doc, &schema, Direction::Request), schema);
        // A property marked in one `allOf` member, or in the schema a member refers to, is not
        // required by another member.
        let doc = serde_json::json!({"components": {"schemas": {"Base": {"properties": {"id": {"readOnly": true}}}}}});
        let composed = serde_json::json!({
            "allOf": [
                { "$ref": "#/components/schemas/Base" },
                { "required": ["id", "name"], "properties": { "name": {} } }
            ]
        });
        let r = directed(&doc, &composed, Direction::Request);
        assert_eq!(r["allOf"][1]["required"], serde_json::json!(["name"]));
        assert_eq!(directed(&doc, &composed, Direction::Response), composed);
    }

    #[tokio::test]
    async fn responses_are_checked_and_come_back_whole() {
        let doc = r##"openapi: 3.0.3
paths:
  /a:
    get:
      responses:
        "201": { description: made, content: { application/json: { schema: { $ref: "#/components/schemas/N" } } } }
        "202": { description: queued, content: { "*/*": { schema: { type: object, required: [job] } } } }
        "203": { description: a file, content: { "*/*": { schema: { type: string, format: binary } } } }
        default: { description: other, content: { text/plain: {} } }
  /b:
    get: {}
  /c:
    post:
      requestBody: { content: { application/json: { schema: { $ref: "#/components/schemas/N" } } } }
components:
  schemas:
    N:
      type: object
      required: [count, ident, secret]
      properties:
        count: { type: integer, maximum: 9 }
        ident: { type: integer, readOnly: true }
        secret: { type: string, writeOnly: true }
"##;
        let a = compiled_with(doc, None, Some(OpenApiResponsesConfig::Detect)).expect("api");
        assert_eq!(a.response_check(), Some(false));
        let resp = |status: u16, ct: &str, body: &'static str| {
            let mut r = http::Response::new(crate::body::full(body));
            *r.status_mut() = http::StatusCode::from_u16(status).expect("status");
            r.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_str(ct).expect("ct"),
            );
            r
        };
        let check = |r, cap| a.check_response(0, &Method::GET, r, cap);
        let check_request = |r: &Parts, b| a.decide(a.find(r), r, b);
        let (r, v) = check(
            resp(201, "application/json", r#"{"count":3,"ident":1}"#),
            64,
        )
        .await
        .expect("read");
        assert_eq!(v, Verdict::Valid);
        let body = crate::body::read_capped(r.into_body(), 1024)
            .await
            .map_err(|_| "read")
            .expect("body");
        assert_eq!(&body[..], br#"{"count":3,"ident":1}"#);
        // A `writeOnly` property is not required of an answer, and must not be in one.
        let (_, v) = check(
            resp(
                201,
                "application/json",
                r#"{"count":30,"ident":1,"secret":"s"}"#,
            ),
            64,
        )
        .await
        .expect("read");
        assert_eq!(
            v,
            Verdict::Invalid(vec![
                ("body/count".into(), "maximum".into()),
                ("body/secret".into(), "not".into())
            ])
        );
        // Its `readOnly` one is not required of a request.
        let post = req("POST", "/c", &[("content-type", "application/json")]);
        let body = Bytes::from_static(br#"{"count":1,"secret":"s"}"#);
        assert_eq!(
            outcome(check_request(&post, BodyView::Read(&body))).0,
            "valid"
        );
        let body = Bytes::from_static(br#"{"count":1}"#);
        let (out, errs) = outcome(check_request(&post, BodyView::Read(&body)));
        assert_eq!(
            (out.as_str(), errs),
            ("invalid_body", vec![("/secret".into(), "required".into())])
        );
        // A schema under `*/*` applies to JSON answers only; an empty JSON answer is no document.
        let (_, v) = check(resp(202, "application/json", "{}"), 64)
            .await
            .expect("read");
        assert_eq!(
            v,
            Verdict::Invalid(vec![("body/job".into(), "required".into())])
        );
        let (_, v) = check(resp(202, "text/plain", "queued"), 64)
            .await
            .expect("read");
        assert_eq!(v, Verdict::Valid);
        // A string schema under a wildcard describes a file of any type, JSON included.
        let (_, v) = check(resp(203, "application/json", r#"{"a":1}"#), 64)
            .await
            .expect("read");
        assert_eq!(v, Verdict::Valid);
        let (_, v) = check(resp(201, "application/json", ""), 64)
            .await
            .expect("read");
        assert_eq!(v, Verdict::Invalid(vec![("body".into(), "json".into())]));
        // Interim answers and 304 need no description.
        let (_, v) = check(resp(304, "application/json", ""), 64)
            .await
            .expect("read");
        assert_eq!(v, Verdict::Unchecked("not_modified"));
        // `default` covers any other status; its content has no schema.
        let (_, v) = check(resp(500, "text/plain", "oops"), 64)
            .await
            .expect("read");
        assert_eq!(v, Verdict::Valid);
        let (_, v) = check(resp(500, "text/html", "<b>oops</b>"), 64)
            .await
            .expect("read");
        assert_eq!(
            v,
            Verdict::Invalid(vec![("body".into(), "contentType".into())])
        );
        // Longer than the cap: not checked, and passed on whole.
        let long = r#"{"count":3,"pad":"................................................................"}"#;
        let (r, v) = check(resp(201, "application/json", long), 16)
            .await
            .expect("read");
        assert_eq!(v, Verdict::Unchecked("too_large"));
        let body = crate::body::read_capped(r.into_body(), 1024)
            .await
            .map_err(|_| "read")
            .expect("body");
        assert_eq!(&body[..], long.as_bytes());
        // An operation without `responses` is not checked.
        let (_, v) = a
            .check_response(1, &Method::GET, resp(200, "text/html", "x"), 64)
            .await
            .expect("read");
        assert_eq!(v, Verdict::Unchecked("undescribed"));
        // A `responses` map that is not one is a config error, only when responses are checked.
        let bad = "openapi: 3.1.0\npaths:\n  /a:\n    get:\n      responses: { \"20\": { description: x } }\n";
        let e = compiled_with(bad, None, Some(OpenApiResponsesConfig::Block)).expect_err("error");
        assert!(
            e.contains("paths./a.get.responses") && e.contains("not a status code"),
            "{e}"
        );
        assert!(compiled_with(bad, None, None).is_ok());
    }
}
