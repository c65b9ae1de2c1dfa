//! `RouteConfig` → `Route`: predicates, action, and the stage chain.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use http::{HeaderName, HeaderValue, Method, StatusCode};
use regex::Regex;

use super::{
    Action, HostMatch, Matcher, PathMatch, Rewrite, Route, Segment, ValueMatch, ValueTest,
    VersionSource,
};
use crate::config::error::Collector;
use crate::config::expand::ExpandedString;
use crate::config::raw::{
    AuthConfig, AuthKeyword, AuthMethodsConfig, HeaderEditsConfig, MatchConfig, RoleConfig,
    RouteConfig, ValueMatchConfig,
};
use crate::policy::authn::names;
use crate::policy::authz::{ClaimCondition, ClaimTest, Policy, RoleRule, Who};
use crate::policy::headers::HeaderEdits;
use crate::policy::{ResponseStage, Stage};
use crate::upstream::Upstream;

/// Compiles every route; errors go to `errs` with their key paths.
pub fn compile_routes(
    raw: &[RouteConfig],
    upstreams: &HashMap<String, Arc<Upstream>>,
    listener_names: &HashMap<String, bool>,
    credentials: &crate::policy::authn::Credentials,
    grants: &BTreeMap<String, RoleConfig>,
    traffic: &super::traffic::Traffic<'_>,
    errs: &mut Collector,
) -> Vec<Route> {
    let mut names = HashSet::new();
    let mut out = Vec::new();
    let grants = compile_grants(grants, raw, errs);
    for (i, r) in raw.iter().enumerate() {
        let at = format!("routes[{i}]");
        if r.name.is_empty() {
            errs.push(format!("{at}.name"), "must not be empty");
        } else if !names.insert(r.name.clone()) {
            errs.push(
                format!("{at}.name"),
                format!("duplicate route name {:?}", r.name),
            );
        }
        let granted: Vec<RoleRule> = grants
            .iter()
            .filter(|g| {
                g.routes.iter().any(|n| *n == *r.name)
                    || r.group
                        .as_ref()
                        .is_some_and(|grp| g.groups.contains(&grp.0))
            })
            .map(|g| g.rule.clone())
            .collect();
        let ctx = RouteCompile {
            upstreams,
            listener_names,
            credentials,
            granted,
            traffic,
            counters: super::traffic::Counters::route(&r.name),
            api: None,
        };
        if let Some(mut route) = compile_route(i, r, &at, &ctx, errs) {
            route.operations = compile_operations(i, r, &at, &route, &ctx, errs);
            if r.matches.openapi_operations {
                match &route.operations {
                    Some(ops) => route.matcher.match_operations(&ops.api),
                    None => errs.push(
                        format!("{at}.match.openapi_operations"),
                        "needs the route's `openapi` document",
                    ),
                }
            }
            out.push(route);
        }
    }
    out
}

/// A route's OpenAPI document, and the routes of the operations its `openapi.operations`
/// lists (compiled only when the route itself compiled, so their errors are those of the
/// operations' own fields). Every route with an `openapi` stage gets one, operations listed or
/// not, so that the operation is found once, right after routing.
fn compile_operations(
    order: usize,
    r: &RouteConfig,
    at: &str,
    route: &Route,
    cx: &RouteCompile<'_>,
    errs: &mut Collector,
) -> Option<super::Operations> {
    let ops = &r.openapi.as_ref()?.operations;
    let api = route.chain.iter().find_map(|s| match s {
        Stage::OpenApi(a) => Some(Arc::clone(a)),
        _ => None,
    })?;
    let mut routes: Vec<Option<Arc<Route>>> = api.operations().map(|_| None).collect();
    let mut listed = HashMap::new();
    for (key, op) in ops {
        let oat = format!("{at}.openapi.operations.{key}");
        let Some(index) = api.operation_index(key) else {
            errs.push(
                oat,
                "no such operation in the document: write its `operationId` or `METHOD /path` as the document writes the path",
            );
            continue;
        };
        if let Some(first) = listed.insert(index, key) {
            errs.push(
                oat,
                format!("the operation {first:?} names, listed a second time"),
            );
            continue;
        }
        let own = format!("{}/{key}", r.name.as_str());
        let counters = super::traffic::Counters {
            limits: if op.rate_limits.is_some() {
                &own
            } else {
                &r.name
            },
            quotas: if op.quotas.is_some() { &own } else { &r.name },
            concurrency: if op.concurrency.is_some() {
                &own
            } else {
                &r.name
            },
        };
        let ocx = RouteCompile {
            // Role grants cover the route's authenticated operations only.
            granted: if op.is_public() {
                Vec::new()
            } else {
                cx.granted.clone()
            },
            counters,
            api: Some(Arc::clone(&api)),
            ..*cx
        };
        let child = r.with_operation(op);
        if let Some(c) = compile_route(order, &child, &oat, &ocx, errs) {
            routes[index] = Some(Arc::new(c));
        }
    }
    // An operation whose document requirement admits no anonymous caller cannot run public,
    // nor behind methods none of whose credentials is of a kind it names.
    for op in api.operations().filter(|op| !op.allows_anonymous()) {
        let key = listed.get(&op.index()).copied();
        let (auth, place) = match key.map(|k| (k, &ops[k])) {
            Some((k, o)) if o.auth.is_some() => {
                (o.auth.as_ref(), format!("{at}.openapi.operations.{k}.auth"))
            }
            _ => (r.auth.as_ref(), format!("{at}.auth")),
        };
        if let Some(AuthConfig::Methods(m)) = auth {
            let methods: Vec<&str> = m.methods.iter().map(|x| x.as_str()).collect();
            if !op.reachable_by(&methods) {
                errs.push(
                    place.clone(),
                    format!(
                        "no method here gives a credential of a kind the document's `security` names for {:?}: add one, or set `openapi.security: ignore`",
                        op.id
                    ),
                );
            }
        }
        if matches!(auth, Some(AuthConfig::Keyword(AuthKeyword::None))) {
            errs.push(
                place,
                format!(
                    "the document's `security` asks a credential for {:?}: list authentication methods, or set `openapi.security: ignore`",
                    op.id
                ),
            );
        }
    }
    // A route that matches only the document's operations never sees the others.
    if r.is_public() && !r.matches.openapi_operations && !api.undescribed_allows_anonymous() {
        errs.push(
            format!("{at}.auth"),
            "the document's `security` asks a credential for the requests it does not describe, which `reject_unknown: false` passes: list authentication methods, or set `openapi.security: ignore`",
        );
    }
    let metrics = api
        .operations()
        .map(|op| super::OperationMetrics {
            id: Arc::clone(&op.id),
            metrics: std::sync::OnceLock::new(),
        })
        .collect();
    Some(super::Operations {
        api,
        routes,
        metrics,
    })
}

/// What a route's compile needs besides its own config.
struct RouteCompile<'a> {
    upstreams: &'a HashMap<String, Arc<Upstream>>,
    /// Listener name → whether it asks for client certificates.
    listener_names: &'a HashMap<String, bool>,
    credentials: &'a crate::policy::authn::Credentials,
    /// Role rules granted to this route by top-level `roles`.
    granted: Vec<RoleRule>,
    /// State store, global limits and ban rules.
    traffic: &'a super::traffic::Traffic<'a>,
    /// Where the route's limits, quotas and in-flight requests are counted.
    counters: super::traffic::Counters<'a>,
    /// The route's OpenAPI document, already compiled (an operation's route shares it).
    api: Option<Arc<crate::policy::openapi::Api>>,
}

/// One role grant, compiled: which routes and groups it covers, and the rule it adds.
struct Grant {
    routes: Vec<String>,
    groups: Vec<String>,
    rule: RoleRule,
}

fn compile_grants(
    raw: &BTreeMap<String, RoleConfig>,
    routes: &[RouteConfig],
    errs: &mut Collector,
) -> Vec<Grant> {
    let route_names: HashSet<&str> = routes.iter().map(|r| r.name.as_str()).collect();
    let groups: HashSet<&str> = routes.iter().filter_map(|r| r.group.as_deref()).collect();
    let mut out = Vec::new();
    for (role, cfg) in raw {
        let at = format!("roles.{role}");
        if !crate::policy::authn::valid_role(role) {
            errs.push(at.clone(), "a role is 1-64 of A-Z a-z 0-9 . _ : -");
        }
        for (i, g) in cfg.allow.iter().enumerate() {
            let gat = format!("{at}.allow[{i}]");
            if g.routes.is_empty() && g.groups.is_empty() {
                errs.push(gat.clone(), "name `routes` or `groups`");
            }
            for (j, n) in g.routes.iter().enumerate() {
                if !route_names.contains(n.as_str()) {
                    errs.push(
                        format!("{gat}.routes[{j}]"),
                        format!("no route named {:?}", n.as_str()),
                    );
                }
            }
            for (j, n) in g.groups.iter().enumerate() {
                if !groups.contains(n.as_str()) {
                    errs.push(
                        format!("{gat}.groups[{j}]"),
                        format!("no route has group {:?}", n.as_str()),
                    );
                }
            }
            let methods = compile_methods(&g.methods, &format!("{gat}.methods"), errs);
            out.push(Grant {
                routes: g.routes.iter().map(ToString::to_string).collect(),
                groups: g.groups.iter().map(ToString::to_string).collect(),
                rule: RoleRule {
                    roles: vec![role.clone()],
                    methods,
                    origin: "grant",
                },
            });
        }
    }
    out
}

/// Method names → methods; an empty list means all (`None`).
fn compile_methods(list: &[ExpandedString], at: &str, errs: &mut Collector) -> Option<Vec<Method>> {
    if list.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    for (i, m) in list.iter().enumerate() {
        match Method::from_bytes(m.to_ascii_uppercase().as_bytes()) {
            Ok(m) => out.push(m),
            Err(_) => errs.push(format!("{at}[{i}]"), "not an HTTP method"),
        }
    }
    Some(out)
}

/// A route's `authorize` and the grants covering it → the policy (or errors).
fn compile_authorize(
    r: &RouteConfig,
    at: &str,
    granted: &[RoleRule],
    errs: &mut Collector,
) -> Option<Policy> {
    let Some(z) = &r.authorize else {
        if granted.is_empty() {
            errs.push(
                format!("{at}.authorize"),
                "required with `auth`: list `roles`, say `any_authenticated: true`, or grant a role this route under top-level `roles`",
            );
            return None;
        }
        return Some(Policy {
            who: Who::Rules(granted.to_vec()),
            scopes: Vec::new(),
            claims: Vec::new(),
        });
    };
    let before = errs.errors.len();
    let mut rules = Vec::new();
    if !z.roles.is_empty() {
        rules.push(RoleRule {
            roles: z.roles.iter().map(ToString::to_string).collect(),
            methods: None,
            origin: "role",
        });
    }
    for (i, rule) in z.rules.iter().enumerate() {
        if rule.roles.is_empty() {
            errs.push(
                format!("{at}.authorize.rules[{i}].roles"),
                "list at least one role",
            );
        }
        rules.push(RoleRule {
            roles: rule.roles.iter().map(ToString::to_string).collect(),
            methods: compile_methods(
                &rule.methods,
                &format!("{at}.authorize.rules[{i}].methods"),
                errs,
            ),
            origin: "role",
        });
    }
    rules.extend(granted.iter().cloned());
    let who = if z.any_authenticated {
        if !rules.is_empty() {
            errs.push(
                format!("{at}.authorize"),
                "use `roles`/`rules` (or role grants) or `any_authenticated`, not both",
            );
        }
        Who::AnyAuthenticated
    } else if rules.is_empty() {
        errs.push(
            format!("{at}.authorize.roles"),
            "list at least one role (or `any_authenticated: true`)",
        );
        Who::Rules(rules)
    } else {
        Who::Rules(rules)
    };
    let mut claims = Vec::new();
    for (i, c) in z.claims.iter().enumerate() {
        let cat = format!("{at}.authorize.claims[{i}]");
        let given = usize::from(c.equals.is_some())
            + usize::from(!c.one_of.is_empty())
            + usize::from(c.contains.is_some());
        if given != 1 {
            errs.push(cat, "give exactly one of `equals`, `one_of`, `contains`");
            continue;
        }
        let path: Vec<String> = c.claim.split('.').map(str::to_owned).collect();
        if path.iter().any(String::is_empty) {
            errs.push(format!("{cat}.claim"), "empty path segment");
            continue;
        }
        let test = if let Some(v) = &c.equals {
            ClaimTest::Equals(v.to_string())
        } else if let Some(v) = &c.contains {
            ClaimTest::Contains(v.to_string())
        } else {
            ClaimTest::OneOf(c.one_of.iter().map(ToString::to_string).collect())
        };
        claims.push(ClaimCondition { path, test });
    }
    for (i, s) in z.scopes.iter().enumerate() {
        if s.is_empty() || s.contains(|c: char| c.is_whitespace() || c == '"' || c == '\\') {
            errs.push(
                format!("{at}.authorize.scopes[{i}]"),
                "a scope is one token without spaces or quotes",
            );
        }
    }
    (errs.errors.len() == before).then(|| Policy {
        who,
        scopes: z.scopes.iter().map(ToString::to_string).collect(),
        claims,
    })
}

fn compile_route(
    order: usize,
    r: &RouteConfig,
    at: &str,
    cx: &RouteCompile<'_>,
    errs: &mut Collector,
) -> Option<Route> {
    let (upstreams, listener_names, credentials) =
        (cx.upstreams, cx.listener_names, cx.credentials);
    let authenticates = matches!(r.auth, Some(AuthConfig::Methods(_)));
    let (before_authn, after_authz) =
        cx.traffic
            .route_stages(r, at, authenticates, &cx.counters, errs);
    let before = errs.errors.len();
    for (j, l) in r.listeners.iter().enumerate() {
        if !listener_names.contains_key(&**l) {
            errs.push(
                format!("{at}.listeners[{j}]"),
                format!("no listener named {l:?}"),
            );
        }
    }
    let matcher = compile_match(&r.matches, &format!("{at}.match"), errs);

    let actions = usize::from(r.upstream.is_some())
        + usize::from(r.direct.is_some())
        + usize::from(r.redirect.is_some());
    let action = if actions == 0 && r.retired.is_some() {
        // Never reached: the `Retired` stage answers 410 first.
        Some(Action::Direct {
            status: StatusCode::GONE,
            headers: Vec::new(),
            body: bytes::Bytes::new(),
        })
    } else if actions != 1 {
        errs.push(
            at.to_owned(),
            "exactly one of `upstream`, `direct` and `redirect` is required",
        );
        None
    } else if let Some(name) = &r.upstream {
        match upstreams.get(&**name) {
            Some(u) => Some(Action::Proxy(u.clone())),
            None => {
                errs.push(
                    format!("{at}.upstream"),
                    format!("no upstream named {name:?}"),
                );
                None
            }
        }
    } else if let Some(d) = &r.direct {
        let code = d.status.unwrap_or(200);
        let status = StatusCode::from_u16(code)
            .ok()
            .filter(|_| (200..=599).contains(&code));
        if status.is_none() {
            errs.push(
                format!("{at}.direct.status"),
                "must be an HTTP status from 200 to 599",
            );
        }
        let mut headers = header_list(&d.headers, &format!("{at}.direct.headers"), errs);
        let ct = d
            .content_type
            .as_deref()
            .unwrap_or("text/plain; charset=utf-8");
        match HeaderValue::from_str(ct) {
            Ok(v) => headers.push((http::header::CONTENT_TYPE, v)),
            Err(_) => errs.push(format!("{at}.direct.content_type"), "invalid header value"),
        }
        let body = d
            .body
            .as_ref()
            .map(|b| bytes::Bytes::from(b.0.clone()))
            .unwrap_or_default();
        status.map(|status| Action::Direct {
            status,
            headers,
            body,
        })
    } else if let Some(rd) = &r.redirect {
        let code = rd.status.unwrap_or(302);
        if ![301, 302, 303, 307, 308].contains(&code) {
            errs.push(
                format!("{at}.redirect.status"),
                "must be 301, 302, 303, 307 or 308",
            );
        }
        if HeaderValue::from_str(rd.location.as_str()).is_err() {
            errs.push(format!("{at}.redirect.location"), "invalid header value");
        }
        StatusCode::from_u16(code)
            .ok()
            .map(|status| Action::Redirect {
                status,
                location: rd.location.0.clone(),
                keep_query: rd.keep_query,
            })
    } else {
        None
    };

    // The request chain, in DESIGN.md order. Stages of later issues slot in between.
    let mut chain = Vec::new();
    if let Some(f) = &r.ip_filter
        && let Some(f) = crate::policy::ipfilter::compile(f, &format!("{at}.ip_filter"), errs)
    {
        chain.push(Stage::IpFilter(Arc::new(f)));
    }
    if let Some(ret) = &r.retired {
        let link = ret.successor.as_deref().and_then(|s| {
            let v = HeaderValue::from_str(&format!("<{s}>; rel=\"successor-version\"")).ok();
            if v.is_none() {
                errs.push(format!("{at}.retired.successor"), "invalid URL");
            }
            v
        });
        chain.push(Stage::Retired { link });
    }
    chain.extend(before_authn);
    match &r.auth {
        Some(AuthConfig::Keyword(AuthKeyword::None)) => {
            if r.authorize.is_some() || !cx.granted.is_empty() {
                errs.push(
                    format!("{at}.authorize"),
                    "a public route (`auth: none`) cannot authorize (or be granted to a role); list authentication methods",
                );
            }
        }
        None => {
            if r.authorize.is_some() || !cx.granted.is_empty() {
                errs.push(
                    format!("{at}.authorize"),
                    "needs an `auth` block listing authentication methods",
                );
            }
            chain.push(Stage::RequireAuthentication);
        }
        Some(AuthConfig::Methods(m)) => {
            if m.methods.iter().any(|x| x.as_str() == names::MTLS) {
                let on: Vec<bool> = if r.listeners.is_empty() {
                    listener_names.values().copied().collect()
                } else {
                    r.listeners
                        .iter()
                        .filter_map(|l| listener_names.get(l.as_str()).copied())
                        .collect()
                };
                if !on.iter().any(|asks| *asks) {
                    errs.push(
                        format!("{at}.auth.methods"),
                        "`mtls` needs a listener with `tls.client_auth` among the route's listeners",
                    );
                }
            }
            if let Some(a) = compile_authn(m, &format!("{at}.auth"), credentials, errs) {
                chain.push(Stage::Authenticate(Arc::new(a)));
            }
            if let Some(p) = compile_authorize(r, at, &cx.granted, errs) {
                chain.push(Stage::Authorize(p));
            }
        }
    }
    chain.extend(after_authz);
    // Body stages, in DESIGN.md order: content rules, schema, WAF.
    if let Some(c) = &r.content {
        chain.push(Stage::Content(Arc::new(crate::policy::content::compile(
            c,
            &format!("{at}.content"),
            errs,
        ))));
    }
    if let Some(a) = &cx.api {
        chain.push(Stage::OpenApi(Arc::clone(a)));
    } else if let Some(oa) = &r.openapi
        && let Some(a) = crate::policy::openapi::compile(oa, &format!("{at}.openapi"), errs)
    {
        chain.push(Stage::OpenApi(Arc::new(a)));
    }
    if let Some(sc) = &r.schema
        && let Some(s) = crate::policy::schema::compile(sc, &format!("{at}.schema"), errs)
    {
        chain.push(Stage::Schema(Arc::new(s)));
    }
    if let Some(w) = &r.waf
        && let Some(w) = crate::policy::waf::compile(
            w,
            &format!("{at}.waf"),
            &r.name,
            &cx.traffic.registry.metrics,
            errs,
        )
    {
        chain.push(Stage::Waf(Arc::new(w)));
    }
    let mut inspection = crate::policy::BodyInspection::default();
    if let Some(b) = &r.body_inspection {
        if let Some(m) = b.max_bytes {
            if m.0 == 0 || m.0 > 64 * 1024 * 1024 {
                errs.push(
                    format!("{at}.body_inspection.max_bytes"),
                    "between 1 byte and 64MiB",
                );
            }
            inspection.max_bytes = usize::try_from(m.0).unwrap_or(usize::MAX);
        }
        inspection.skip_larger = b.larger == Some(crate::config::raw::LargerBodyConfig::Skip);
    }
    let req_edits = compile_edits(&r.request_headers, &format!("{at}.request_headers"), errs);
    if let Some(rules) = &req_edits {
        for (n, _) in rules.set.iter().chain(&rules.add) {
            if n.as_str()
                .starts_with(crate::policy::headers::IDENTITY_PREFIX)
            {
                errs.push(
                    format!("{at}.request_headers"),
                    format!("{n} is reserved for identity headers set by the gateway"),
                );
            }
            if n == http::header::HOST {
                errs.push(
                    format!("{at}.request_headers"),
                    "host is set by the gateway: use `upstream_host` to send another",
                );
            }
        }
    }
    if let Some(e) = req_edits.filter(|e| !e.is_empty()) {
        chain.push(Stage::RequestHeaders(Arc::new(e)));
    }

    let mut response_chain = Vec::new();
    if let Some(e) = compile_edits(&r.response_headers, &format!("{at}.response_headers"), errs)
        .filter(|e| !e.is_empty())
    {
        response_chain.push(ResponseStage::Headers(Arc::new(e)));
    }
    if let Some(dep) = &r.deprecation {
        let mut list = Vec::new();
        match humantime::parse_rfc3339(&dep.since) {
            Ok(t) => {
                let secs = t
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                if let Ok(v) = HeaderValue::from_str(&format!("@{secs}")) {
                    list.push((HeaderName::from_static("deprecation"), v));
                }
            }
            Err(_) => errs.push(format!("{at}.deprecation.since"), "not an RFC 3339 time"),
        }
        if let Some(s) = &dep.sunset {
            match humantime::parse_rfc3339(s) {
                Ok(t) => {
                    let v = httpdate(t);
                    if let Ok(v) = HeaderValue::from_str(&v) {
                        list.push((HeaderName::from_static("sunset"), v));
                    }
                }
                Err(_) => errs.push(format!("{at}.deprecation.sunset"), "not an RFC 3339 time"),
            }
        }
        if let Some(s) = &dep.successor {
            match HeaderValue::from_str(&format!("<{s}>; rel=\"successor-version\"")) {
                Ok(v) => list.push((http::header::LINK, v)),
                Err(_) => errs.push(format!("{at}.deprecation.successor"), "invalid URL"),
            }
        }
        response_chain.push(ResponseStage::Deprecation(list));
    }
    // Response stages run in reverse order of the request chain.
    response_chain.reverse();

    let mut rewrite = Rewrite::default();
    if r.strip_prefix {
        match &matcher.as_ref().map(|m| &m.path) {
            Some(PathMatch::Prefix(p)) => rewrite.strip_prefix = Some(p.clone()),
            Some(_) => errs.push(
                format!("{at}.strip_prefix"),
                "needs `match.path_prefix` to know what to strip",
            ),
            None => {}
        }
    }
    if let Some(tpl) = &r.rewrite_path {
        if !tpl.starts_with('/') {
            errs.push(format!("{at}.rewrite_path"), "must start with `/`");
        }
        let params: Vec<&str> = match matcher.as_ref().map(|m| &m.path) {
            Some(PathMatch::Template(segs)) => segs
                .iter()
                .filter_map(|s| match s {
                    Segment::Param(p) => Some(p.as_str()),
                    Segment::Literal(_) => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        let mut rest = tpl.as_str();
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}') else {
                errs.push(format!("{at}.rewrite_path"), "unclosed `{`");
                break;
            };
            let name = &rest[open + 1..open + close];
            if !params.contains(&name) {
                errs.push(
                    format!("{at}.rewrite_path"),
                    format!("`{{{name}}}` is not a parameter of `match.path_template`"),
                );
            }
            rest = &rest[open + close + 1..];
        }
        rewrite.replace = Some(tpl.to_string());
    }
    if let Some(m) = &matcher
        && let Some((v, VersionSource::Path)) = &m.version
    {
        rewrite.strip_version = Some(v.clone());
    }
    let upstream_host = r.upstream_host.as_ref().and_then(|h| {
        let v = HeaderValue::from_str(h.as_str()).ok();
        if v.is_none() {
            errs.push(format!("{at}.upstream_host"), "invalid header value");
        }
        v
    });

    if errs.errors.len() > before {
        return None;
    }
    let rate_limit_policy = crate::policy::ratelimit::route_policy(&chain);
    Some(Route {
        name: Arc::from(r.name.as_str()),
        listeners: r.listeners.iter().map(ToString::to_string).collect(),
        matcher: matcher?,
        action: action?,
        chain,
        response_chain,
        rewrite,
        upstream_host,
        max_body_bytes: r.max_body_bytes.map(|b| b.0),
        inspection,
        timeout: r.timeout.map(|d| d.0),
        rate_limit_policy,
        metrics: std::sync::OnceLock::new(),
        operations: None,
        order,
    })
}

fn compile_authn(
    m: &AuthMethodsConfig,
    at: &str,
    credentials: &crate::policy::authn::Credentials,
    errs: &mut Collector,
) -> Option<crate::policy::authn::Authenticator> {
    use crate::policy::authn::{ApiKeySource, Authenticator, BearerShape, Method};
    let before = errs.errors.len();
    if m.methods.is_empty() {
        errs.push(format!("{at}.methods"), "list at least one method");
    }
    let mut methods = Vec::new();
    for (i, name) in m.methods.iter().enumerate() {
        if m.methods[..i].contains(name) {
            errs.push(format!("{at}.methods[{i}]"), "listed twice");
            continue;
        }
        match name.as_str() {
            names::API_KEY => {
                let Some(store) = &credentials.keys else {
                    errs.push(
                        format!("{at}.methods[{i}]"),
                        "`api_key` needs `identity.api_key_pepper`",
                    );
                    continue;
                };
                let cfg = m.api_key.as_ref();
                let header = match cfg.and_then(|c| c.header.as_ref()) {
                    Some(h) => match HeaderName::from_bytes(h.as_bytes()) {
                        Ok(h) => Some(h),
                        Err(_) => {
                            errs.push(format!("{at}.api_key.header"), "invalid header name");
                            None
                        }
                    },
                    None if cfg.is_some_and(|c| c.bearer || c.query.is_some()) => None,
                    None => Some(HeaderName::from_static("x-api-key")),
                };
                methods.push(Method::ApiKey {
                    source: ApiKeySource {
                        header,
                        query: cfg.and_then(|c| c.query.as_ref()).map(ToString::to_string),
                        bearer: cfg.is_some_and(|c| c.bearer),
                    },
                    store: store.clone(),
                });
            }
            names::INTROSPECTION => {
                let chosen = match &m.introspection {
                    Some(n) => credentials
                        .introspection
                        .get(n.as_str())
                        .cloned()
                        .or_else(|| {
                            errs.push(
                                format!("{at}.introspection"),
                                format!(
                                    "no endpoint {:?} under identity.introspection",
                                    n.as_str()
                                ),
                            );
                            None
                        }),
                    None if credentials.introspection.len() == 1 => {
                        credentials.introspection.values().next().cloned()
                    }
                    None => {
                        errs.push(
                            format!("{at}.methods[{i}]"),
                            if credentials.introspection.is_empty() {
                                "`introspection` needs an endpoint under `identity.introspection`"
                            } else {
                                "several introspection endpoints: name one in `introspection`"
                            },
                        );
                        None
                    }
                };
                if let Some(endpoint) = chosen {
                    methods.push(Method::Introspection {
                        endpoint,
                        bearer: BearerShape::Any,
                    });
                }
            }
            names::BASIC => match &credentials.basic {
                Some(dir) => methods.push(Method::Basic(dir.clone())),
                None => errs.push(
                    format!("{at}.methods[{i}]"),
                    "`basic` needs consumers with `basic_auth`",
                ),
            },
            names::MTLS => {
                if credentials.mtls.is_empty() {
                    errs.push(
                        format!("{at}.methods[{i}]"),
                        "`mtls` needs consumers with `mtls` identities",
                    );
                }
                methods.push(Method::Mtls(credentials.mtls.clone()));
            }
            names::JWT => {
                let cfg = m.jwt.as_ref();
                let mut issuers = Vec::new();
                match cfg.map(|c| c.issuers.as_slice()).unwrap_or_default() {
                    [] => {
                        let mut all: Vec<_> = credentials.issuers.values().cloned().collect();
                        all.sort_by(|a, b| a.settings.name.cmp(&b.settings.name));
                        issuers = all;
                    }
                    names => {
                        for (j, n) in names.iter().enumerate() {
                            match credentials.issuers.get(n.as_str()) {
                                Some(iss) => issuers.push(iss.clone()),
                                None => errs.push(
                                    format!("{at}.jwt.issuers[{j}]"),
                                    format!("no issuer {:?} under identity.jwt", n.as_str()),
                                ),
                            }
                        }
                    }
                }
                if issuers.is_empty() && credentials.issuers.is_empty() {
                    errs.push(
                        format!("{at}.methods[{i}]"),
                        "`jwt` needs an issuer under `identity.jwt`",
                    );
                }
                let header = match cfg.and_then(|c| c.header.as_ref()) {
                    Some(h) => match HeaderName::from_bytes(h.as_bytes()) {
                        Ok(h) => Some(h),
                        Err(_) => {
                            errs.push(format!("{at}.jwt.header"), "invalid header name");
                            None
                        }
                    },
                    None => None,
                };
                methods.push(Method::Jwt {
                    issuers,
                    header,
                    bearer: BearerShape::Any,
                });
            }
            other => errs.push(
                format!("{at}.methods[{i}]"),
                format!(
                    "unknown method {other:?}: supported: api_key, jwt, introspection, mtls, basic"
                ),
            ),
        }
    }
    let opaque_bearer = methods
        .iter()
        .any(|x| matches!(x, Method::ApiKey { source, .. } if source.bearer));
    // Only a `jwt` method reading `Authorization` competes with introspection for bearer tokens.
    let takes_jwt = methods
        .iter()
        .any(|x| matches!(x, Method::Jwt { header: None, .. }));
    let introspects = methods
        .iter()
        .any(|x| matches!(x, Method::Introspection { .. }));
    if opaque_bearer && introspects {
        errs.push(
            format!("{at}.methods"),
            "`api_key` with `bearer: true` and `introspection` would both claim opaque bearer tokens",
        );
    }
    for x in &mut methods {
        match x {
            Method::Jwt { bearer, .. } if opaque_bearer || introspects => {
                *bearer = BearerShape::Jwt;
            }
            Method::Introspection { bearer, .. } if takes_jwt => *bearer = BearerShape::Opaque,
            _ => {}
        }
    }
    let listed = |n: &str| m.methods.iter().any(|x| x.as_str() == n);
    if m.jwt.is_some() && !listed(names::JWT) {
        errs.push(format!("{at}.jwt"), "set, but `jwt` is not in `methods`");
    }
    if m.introspection.is_some() && !listed(names::INTROSPECTION) {
        errs.push(
            format!("{at}.introspection"),
            "set, but `introspection` is not in `methods`",
        );
    }
    if m.api_key.is_some() && !listed(names::API_KEY) {
        errs.push(
            format!("{at}.api_key"),
            "set, but `api_key` is not in `methods`",
        );
    }
    let mut forward_claims = Vec::new();
    for (h, claim) in &m.forward_claims {
        let hat = format!("{at}.forward_claims.{h}");
        let lower = h.to_ascii_lowercase();
        match HeaderName::from_bytes(lower.as_bytes()) {
            Ok(name) if lower.starts_with("x-portcullis-claim-") => {
                if claim.is_empty() || claim.split('.').any(str::is_empty) {
                    errs.push(hat, "a claim path such as `tenant` or `org.id`");
                } else {
                    forward_claims.push((name, claim.split('.').map(str::to_owned).collect()));
                }
            }
            Ok(_) => errs.push(
                hat,
                "header names start with `x-portcullis-claim-` (so a client's copy is always removed)",
            ),
            Err(_) => errs.push(hat, "invalid header name"),
        }
    }
    (errs.errors.len() == before).then_some(Authenticator {
        methods,
        hide_credentials: m.hide_credentials.unwrap_or(true),
        forward_identity: m.forward_identity.unwrap_or(true),
        forward_claims,
        subjects: credentials.subjects.clone(),
    })
}

fn httpdate(t: std::time::SystemTime) -> String {
    // IMF-fixdate, as HTTP dates are written.
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = secs / 86400;
    let rem = secs % 86400;
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    let (y, mo, d) = civil_from_days(days as i64);
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(mo - 1) as usize];
    format!("{weekday}, {d:02} {month} {y} {h:02}:{m:02}:{s:02} GMT")
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (Howard Hinnant's method).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn compile_match(m: &MatchConfig, at: &str, errs: &mut Collector) -> Option<Matcher> {
    let before = errs.errors.len();
    let mut hosts = Vec::new();
    for (i, h) in m.hosts.iter().enumerate() {
        let h = h.as_str().to_ascii_lowercase();
        if let Some(rest) = h.strip_prefix("*.") {
            if rest.is_empty() || rest.contains('*') {
                errs.push(format!("{at}.hosts[{i}]"), "invalid wildcard host");
            }
            hosts.push(HostMatch::Suffix(format!(".{rest}")));
        } else if h.is_empty() || h.contains('*') || h.contains('/') {
            errs.push(
                format!("{at}.hosts[{i}]"),
                "invalid host: use a name or `*.example.com`",
            );
        } else {
            hosts.push(HostMatch::Exact(h));
        }
    }
    let path_kinds = usize::from(m.path.is_some())
        + usize::from(m.path_prefix.is_some())
        + usize::from(m.path_template.is_some());
    let mut path = PathMatch::Any;
    if path_kinds > 1 {
        errs.push(
            at.to_owned(),
            "use only one of `path`, `path_prefix` and `path_template`",
        );
    } else if let Some(p) = &m.path {
        check_path(p, &format!("{at}.path"), errs);
        path = PathMatch::Exact(p.to_string());
    } else if let Some(p) = &m.path_prefix {
        check_path(p, &format!("{at}.path_prefix"), errs);
        path = PathMatch::Prefix(p.to_string());
    } else if let Some(t) = &m.path_template {
        check_path(t, &format!("{at}.path_template"), errs);
        let mut segs = Vec::new();
        let mut seen = HashSet::new();
        for part in t.trim_start_matches('/').split('/') {
            if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    errs.push(
                        format!("{at}.path_template"),
                        format!("invalid parameter {part:?}"),
                    );
                } else if !seen.insert(name.to_owned()) {
                    errs.push(
                        format!("{at}.path_template"),
                        format!("duplicate parameter {name:?}"),
                    );
                }
                segs.push(Segment::Param(name.to_owned()));
            } else if part.contains('{') || part.contains('}') {
                errs.push(
                    format!("{at}.path_template"),
                    "a parameter must be a whole segment, like `/users/{id}`",
                );
            } else {
                segs.push(Segment::Literal(part.to_owned()));
            }
        }
        path = PathMatch::Template(segs);
    }
    let mut methods = Vec::new();
    for (i, name) in m.methods.iter().enumerate() {
        match Method::from_bytes(name.to_ascii_uppercase().as_bytes()) {
            Ok(me) => methods.push(me),
            Err(_) => errs.push(format!("{at}.methods[{i}]"), "invalid method"),
        }
    }
    let headers = value_matches(&m.headers, &format!("{at}.headers"), true, errs);
    let query = value_matches(&m.query, &format!("{at}.query"), false, errs);
    let version = m.api_version.as_ref().and_then(|v| {
        let vat = format!("{at}.api_version");
        if v.version.is_empty() || v.version.contains('/') {
            errs.push(format!("{vat}.version"), "must be a non-empty path segment");
        }
        let source = match v.source.as_deref().unwrap_or("header") {
            "path" => VersionSource::Path,
            "header" => {
                match HeaderName::from_bytes(v.name.as_deref().unwrap_or("api-version").as_bytes())
                {
                    Ok(n) => VersionSource::Header(n),
                    Err(_) => {
                        errs.push(format!("{vat}.name"), "invalid header name");
                        return None;
                    }
                }
            }
            "query" => VersionSource::Query(v.name.as_deref().unwrap_or("version").to_owned()),
            _ => {
                errs.push(
                    format!("{vat}.source"),
                    "must be `path`, `header` or `query`",
                );
                return None;
            }
        };
        Some((v.version.to_string(), source))
    });
    (errs.errors.len() == before).then_some(Matcher {
        hosts,
        path,
        methods,
        headers,
        query,
        version,
        operations_only: false,
    })
}

fn check_path(p: &str, at: &str, errs: &mut Collector) {
    if !p.starts_with('/') {
        errs.push(at.to_owned(), "must start with `/`");
    }
    if p.contains("//") || p.split('/').any(|s| s == "." || s == "..") || p.contains('?') {
        errs.push(
            at.to_owned(),
            "must be a normalised path (no `//`, `.`, `..` segments or query)",
        );
    }
}

fn value_matches(
    list: &[ValueMatchConfig],
    at: &str,
    header: bool,
    errs: &mut Collector,
) -> Vec<ValueMatch> {
    let mut out = Vec::new();
    for (i, v) in list.iter().enumerate() {
        let vat = format!("{at}[{i}]");
        let name = if header {
            if HeaderName::from_bytes(v.name.as_bytes()).is_err() {
                errs.push(format!("{vat}.name"), "invalid header name");
                continue;
            }
            v.name.to_ascii_lowercase()
        } else {
            v.name.to_string()
        };
        let test = match (&v.value, &v.regex) {
            (Some(_), Some(_)) => {
                errs.push(vat, "use `value` or `regex`, not both");
                continue;
            }
            (Some(e), None) => ValueTest::Exact(e.to_string()),
            (None, Some(r)) => match Regex::new(&format!("^(?:{r})$")) {
                Ok(re) => ValueTest::Regex(re),
                Err(e) => {
                    errs.push(format!("{vat}.regex"), format!("invalid regex: {e}"));
                    continue;
                }
            },
            (None, None) => ValueTest::Present,
        };
        out.push(ValueMatch {
            name,
            test,
            absent: v.absent,
        });
    }
    out
}

/// Compiles header edits; `None` when any part is invalid (errors recorded).
pub fn compile_edits(e: &HeaderEditsConfig, at: &str, errs: &mut Collector) -> Option<HeaderEdits> {
    let before = errs.errors.len();
    let set = header_list(&e.set, &format!("{at}.set"), errs);
    let add = header_list(&e.add, &format!("{at}.add"), errs);
    let mut remove = Vec::new();
    for (i, n) in e.remove.iter().enumerate() {
        match HeaderName::from_bytes(n.as_bytes()) {
            Ok(h) => remove.push(h),
            Err(_) => errs.push(format!("{at}.remove[{i}]"), "invalid header name"),
        }
    }
    (errs.errors.len() == before).then_some(HeaderEdits { remove, set, add })
}

/// Parses a name → value map into header pairs.
pub fn header_list(
    map: &BTreeMap<String, ExpandedString>,
    at: &str,
    errs: &mut Collector,
) -> Vec<(HeaderName, HeaderValue)> {
    let mut out = Vec::new();
    for (k, v) in map {
        let Ok(name) = HeaderName::from_bytes(k.as_bytes()) else {
            errs.push(format!("{at}.{k}"), "invalid header name");
            continue;
        };
        let Ok(value) = HeaderValue::from_str(v.as_str()) else {
            errs.push(format!("{at}.{k}"), "invalid header value");
            continue;
        };
        out.push((name, value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_http_dates() {
        let t = humantime::parse_rfc3339("2026-11-23T10:00:00Z").unwrap();
        assert_eq!(httpdate(t), "Mon, 23 Nov 2026 10:00:00 GMT");
        let t = humantime::parse_rfc3339("2000-02-29T23:59:59Z").unwrap();
        assert_eq!(httpdate(t), "Tue, 29 Feb 2000 23:59:59 GMT");
    }
}
