//! Chooses the route for a request: host, path (exact, prefix, template), method, header, query
//! and API-version predicates.
//!
//! Precedence (documented in `docs/config-reference.md`): routes are sorted once at compile time
//! by specificity and the first match wins. Specificity, most significant first:
//! 1. host: exact name > wildcard (longer suffix first) > any host;
//! 2. path: exact > template (more literal segments first) > prefix (longer first) > any path;
//! 3. more header/query/version/OpenAPI-operations predicates > fewer;
//! 4. a method list > any method;
//! 5. order in the file.
//!
//! When a path matches but no route accepts the method, the answer is 405 rather than 404.

pub mod compile;
pub mod traffic;

use std::sync::Arc;

use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use regex::Regex;

use crate::policy::{ResponseStage, Stage};
use crate::upstream::Upstream;

/// All routes of one snapshot, in precedence order.
#[derive(Debug, Default)]
pub struct Router {
    routes: Vec<Arc<Route>>,
}

/// A compiled route.
#[derive(Debug)]
pub struct Route {
    /// Route name.
    pub name: Arc<str>,
    /// Listener names it is limited to (empty: all).
    pub listeners: Vec<String>,
    /// Predicates.
    pub matcher: Matcher,
    /// What happens on a match.
    pub action: Action,
    /// Request stages in order.
    pub chain: Vec<Stage>,
    /// Response stages, already in the order they run (reverse of the request chain).
    pub response_chain: Vec<ResponseStage>,
    /// Path rewriting before forwarding.
    pub rewrite: Rewrite,
    /// Host header override.
    pub upstream_host: Option<HeaderValue>,
    /// Body limit override.
    pub max_body_bytes: Option<u64>,
    /// How much of a body the content, schema and WAF stages read.
    pub inspection: crate::policy::BodyInspection,
    /// Per-try timeout override.
    pub timeout: Option<std::time::Duration>,
    /// The `RateLimit-Policy` field when every limit and quota of `chain` ran, with their
    /// number (see [`crate::policy::ratelimit::route_policy`]).
    pub rate_limit_policy: Option<(usize, HeaderValue)>,
    /// Metric handles, fetched on first use.
    pub metrics: std::sync::OnceLock<crate::observe::metrics::RouteMetrics>,
    /// The route's OpenAPI document and the operations that run with settings of their own
    /// (on every route with an `openapi` stage).
    pub operations: Option<Operations>,
    order: usize,
}

/// A route's OpenAPI document, with the operations that have settings of their own
/// ([`crate::config::raw::OpenApiConfig::operations`]; none listed is an empty table).
#[derive(Debug)]
pub struct Operations {
    /// The route's document.
    pub api: Arc<crate::policy::openapi::Api>,
    /// By operation index: the route the operation runs with, if it has settings of its own.
    pub routes: Vec<Option<Arc<Route>>>,
    /// By operation index: its name and metric handles, counted besides the route's.
    pub metrics: Arc<[OperationMetrics]>,
}

/// One OpenAPI operation's metric handles, fetched on first use.
#[derive(Debug)]
pub struct OperationMetrics {
    /// The operation's `operationId`, or `METHOD /template`.
    pub id: Arc<str>,
    /// Its series, labelled with the route and the operation.
    pub metrics: std::sync::OnceLock<crate::observe::metrics::RouteMetrics>,
}

impl Operations {
    /// The route an operation the document found runs with, when it has settings of its
    /// own.
    pub fn own_route(&self, located: &crate::policy::openapi::Located) -> Option<Arc<Route>> {
        located
            .index()
            .and_then(|i| self.routes.get(i).cloned().flatten())
    }
}

/// What a route does with a request that passed its chain.
#[derive(Debug)]
pub enum Action {
    /// Forward to an upstream pool.
    Proxy(Arc<Upstream>),
    /// Answer directly.
    Direct {
        /// Status.
        status: http::StatusCode,
        /// Headers, content-type included.
        headers: Vec<(HeaderName, HeaderValue)>,
        /// Body.
        body: bytes::Bytes,
    },
    /// Answer with a redirect.
    Redirect {
        /// Status (301/302/303/307/308).
        status: http::StatusCode,
        /// Location.
        location: String,
        /// Append the request's query.
        keep_query: bool,
    },
}

/// Path rewriting.
#[derive(Debug, Default)]
pub struct Rewrite {
    /// Remove this prefix.
    pub strip_prefix: Option<String>,
    /// Replace the whole path with this template.
    pub replace: Option<String>,
    /// Remove the leading version segment (path-based API versions).
    pub strip_version: Option<String>,
}

impl Rewrite {
    /// Whether the path goes upstream as it is.
    pub fn is_none(&self) -> bool {
        self.strip_prefix.is_none() && self.replace.is_none() && self.strip_version.is_none()
    }
}

/// Host predicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostMatch {
    /// Exact name, lower case.
    Exact(String),
    /// `*.example.com`, stored as `.example.com`.
    Suffix(String),
}

/// Path predicate.
#[derive(Debug, Clone)]
pub enum PathMatch {
    /// Any path.
    Any,
    /// Exact path.
    Exact(String),
    /// Prefix.
    Prefix(String),
    /// Template segments.
    Template(Vec<Segment>),
}

/// One segment of a path template.
#[derive(Debug, Clone)]
pub enum Segment {
    /// Literal text.
    Literal(String),
    /// `{name}`: one non-empty segment.
    Param(String),
}

/// Header or query predicate.
#[derive(Debug, Clone)]
pub struct ValueMatch {
    /// Header (lower case) or parameter name.
    pub name: String,
    /// What the value must be.
    pub test: ValueTest,
    /// Negate.
    pub absent: bool,
}

/// A value test.
#[derive(Debug, Clone)]
pub enum ValueTest {
    /// Present with any value.
    Present,
    /// Exact.
    Exact(String),
    /// Whole-value regex.
    Regex(Regex),
}

/// Where a request states its API version.
#[derive(Debug, Clone)]
pub enum VersionSource {
    /// First path segment.
    Path,
    /// Header.
    Header(HeaderName),
    /// Query parameter.
    Query(String),
}

/// All predicates of a route.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// Hosts (empty: any).
    pub hosts: Vec<HostMatch>,
    /// Path.
    pub path: PathMatch,
    /// Methods (empty: any).
    pub methods: Vec<Method>,
    /// Header predicates.
    pub headers: Vec<ValueMatch>,
    /// Query predicates.
    pub query: Vec<ValueMatch>,
    /// API version predicate.
    pub version: Option<(String, VersionSource)>,
    /// `match.openapi_operations`: only the operations of the route's document
    /// ([`Route::operations`]) match.
    pub operations_only: bool,
}

/// The outcome of routing.
#[derive(Debug)]
pub enum RouteResult {
    /// A route matched, with template parameters, and the operation its document found
    /// when the route matches only the document's operations.
    Matched(
        Arc<Route>,
        Vec<(String, String)>,
        Option<crate::policy::openapi::Located>,
    ),
    /// Some route matched everything but the method; these methods would be accepted.
    MethodNotAllowed(Vec<Method>),
    /// Nothing matched.
    NotFound,
}

impl Router {
    /// Builds a router from compiled routes, sorting them by precedence.
    pub fn new(mut routes: Vec<Route>) -> Self {
        routes.sort_by_key(|r| std::cmp::Reverse(r.matcher.specificity(r.order)));
        Self {
            routes: routes.into_iter().map(Arc::new).collect(),
        }
    }

    /// Routes in precedence order.
    pub fn routes(&self) -> &[Arc<Route>] {
        &self.routes
    }

    /// Every compiled route: those of [`Router::routes`] and the routes their OpenAPI
    /// operations run with.
    pub fn all_routes(&self) -> impl Iterator<Item = &Arc<Route>> {
        self.routes.iter().flat_map(|r| {
            std::iter::once(r).chain(r.operations.iter().flat_map(|o| o.routes.iter().flatten()))
        })
    }

    /// Finds the route for a request arriving on `listener`. `path` is the normalised path.
    pub fn route(
        &self,
        listener: &str,
        host: Option<&str>,
        method: &Method,
        path: &str,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> RouteResult {
        // Normalised on first use: most route tables match no host.
        let normalised = std::cell::OnceCell::new();
        let host_name = || {
            normalised
                .get_or_init(|| host.map(normalise_host))
                .as_deref()
        };
        let mut allowed: Vec<Method> = Vec::new();
        for route in &self.routes {
            if !route.listeners.is_empty() && !route.listeners.iter().any(|l| l == listener) {
                continue;
            }
            let m = &route.matcher;
            if !m.hosts.is_empty() {
                let Some(h) = host_name() else { continue };
                if !m.hosts.iter().any(|hm| hm.matches(h)) {
                    continue;
                }
            }
            if let Some((want, source)) = &m.version
                && !version_matches(want, source, path, uri, headers)
            {
                continue;
            }
            let mut params = Vec::new();
            if !m.path.matches(path, &mut params) {
                continue;
            }
            if !m.headers.iter().all(|p| p.test_header(headers)) {
                continue;
            }
            if !m.query.iter().all(|p| p.test_query(uri.query())) {
                continue;
            }
            let mut allow = |methods: &[Method]| {
                for me in methods {
                    if !allowed.contains(me) {
                        allowed.push(me.clone());
                    }
                }
            };
            if !m.methods.is_empty() && !m.methods.contains(method) {
                allow(&m.methods);
                continue;
            }
            let located = match &route.operations {
                Some(ops) if m.operations_only => {
                    let located = ops.api.locate(method, path);
                    if located.index().is_none() {
                        allow(located.allowed());
                        continue;
                    }
                    Some(located)
                }
                _ => None,
            };
            return RouteResult::Matched(route.clone(), params, located);
        }
        if !allowed.is_empty() {
            RouteResult::MethodNotAllowed(allowed)
        } else {
            RouteResult::NotFound
        }
    }
}

fn normalise_host(h: &str) -> String {
    let without_port = if h.starts_with('[') {
        h.split_once(']').map(|(a, _)| &a[1..]).unwrap_or(h)
    } else {
        h.rsplit_once(':')
            .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
            .map(|(a, _)| a)
            .unwrap_or(h)
    };
    without_port.trim_end_matches('.').to_ascii_lowercase()
}

fn version_matches(
    want: &str,
    source: &VersionSource,
    path: &str,
    uri: &Uri,
    headers: &HeaderMap,
) -> bool {
    match source {
        VersionSource::Path => path
            .strip_prefix('/')
            .map(|p| p.split('/').next() == Some(want))
            .unwrap_or(false),
        VersionSource::Header(name) => headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() == want),
        VersionSource::Query(name) => query_values(uri.query(), name).any(|v| v == want),
    }
}

/// Values of query parameter `name` (not percent-decoded: names and values compared raw).
pub fn query_values<'a>(query: Option<&'a str>, name: &'a str) -> impl Iterator<Item = &'a str> {
    query.unwrap_or("").split('&').filter_map(move |pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then_some(v)
    })
}

impl HostMatch {
    fn matches(&self, host: &str) -> bool {
        match self {
            Self::Exact(e) => e == host,
            Self::Suffix(s) => host.len() > s.len() && host.ends_with(s.as_str()),
        }
    }
}

impl PathMatch {
    fn matches(&self, path: &str, params: &mut Vec<(String, String)>) -> bool {
        match self {
            Self::Any => true,
            Self::Exact(p) => p == path,
            Self::Prefix(p) => {
                path.starts_with(p.as_str())
                    && (p.ends_with('/')
                        || path.len() == p.len()
                        || path.as_bytes().get(p.len()) == Some(&b'/'))
            }
            Self::Template(segs) => {
                let Some(rest) = path.strip_prefix('/') else {
                    return false;
                };
                let parts: Vec<&str> = rest.split('/').collect();
                if parts.len() != segs.len() {
                    return false;
                }
                for (seg, part) in segs.iter().zip(&parts) {
                    match seg {
                        Segment::Literal(l) => {
                            if l != part {
                                params.clear();
                                return false;
                            }
                        }
                        Segment::Param(name) => {
                            if part.is_empty() {
                                params.clear();
                                return false;
                            }
                            params.push((name.clone(), (*part).to_owned()));
                        }
                    }
                }
                true
            }
        }
    }
}

impl ValueMatch {
    fn test_value(&self, v: Option<&str>) -> bool {
        let hit = match (&self.test, v) {
            (_, None) => false,
            (ValueTest::Present, Some(_)) => true,
            (ValueTest::Exact(e), Some(v)) => e == v,
            (ValueTest::Regex(r), Some(v)) => r.is_match(v),
        };
        hit != self.absent
    }

    fn test_header(&self, headers: &HeaderMap) -> bool {
        let v = headers
            .get(self.name.as_str())
            .and_then(|v| v.to_str().ok());
        self.test_value(v)
    }

    fn test_query(&self, query: Option<&str>) -> bool {
        let v = query_values(query, &self.name).next();
        self.test_value(v)
    }
}

impl Matcher {
    /// Makes the route match only the operations of `api` (`match.openapi_operations`). A
    /// route given no path of its own is ranked as a prefix route on the document's base
    /// path.
    pub fn match_operations(&mut self, api: &crate::policy::openapi::Api) {
        if matches!(self.path, PathMatch::Any) && !api.base().is_empty() {
            self.path = PathMatch::Prefix(api.base().to_owned());
        }
        self.operations_only = true;
    }

    /// Larger is more specific; see the module docs for the order.
    fn specificity(
        &self,
        order: usize,
    ) -> (u8, usize, u8, usize, usize, u8, std::cmp::Reverse<usize>) {
        let (host_rank, host_len) = if self.hosts.is_empty() {
            (0, 0)
        } else if self.hosts.iter().all(|h| matches!(h, HostMatch::Exact(_))) {
            (2, 0)
        } else {
            let min_suffix = self
                .hosts
                .iter()
                .map(|h| match h {
                    HostMatch::Exact(e) => e.len(),
                    HostMatch::Suffix(s) => s.len(),
                })
                .min()
                .unwrap_or(0);
            (1, min_suffix)
        };
        let (path_rank, literal_segments, path_len) = match &self.path {
            PathMatch::Any => (0, 0, 0),
            PathMatch::Prefix(p) => (1, 0, p.len()),
            PathMatch::Template(segs) => (
                2,
                segs.iter()
                    .filter(|s| matches!(s, Segment::Literal(_)))
                    .count(),
                segs.len(),
            ),
            PathMatch::Exact(p) => (3, 0, p.len()),
        };
        let predicates = self.headers.len()
            + self.query.len()
            + usize::from(self.version.is_some())
            + usize::from(self.operations_only);
        (
            host_rank,
            host_len,
            path_rank,
            literal_segments * 1000 + path_len,
            predicates,
            u8::from(!self.methods.is_empty()),
            std::cmp::Reverse(order),
        )
    }
}

/// Applies the route's rewrite to `path`, given template parameters.
pub fn rewrite_path(rw: &Rewrite, path: &str, params: &[(String, String)]) -> String {
    let mut p = path.to_owned();
    if let Some(v) = &rw.strip_version {
        let prefix = format!("/{v}");
        if let Some(rest) = p.strip_prefix(&prefix) {
            p = if rest.is_empty() {
                "/".into()
            } else {
                rest.to_owned()
            };
        }
    }
    if let Some(prefix) = &rw.strip_prefix {
        let bare = prefix.trim_end_matches('/');
        if let Some(rest) = p.strip_prefix(bare) {
            p = if rest.is_empty() {
                "/".into()
            } else if rest.starts_with('/') {
                rest.to_owned()
            } else {
                format!("/{rest}")
            };
        }
    }
    if let Some(tpl) = &rw.replace {
        let mut out = tpl.clone();
        for (k, v) in params {
            out = out.replace(&format!("{{{k}}}"), v);
        }
        p = out;
    }
    p
}

#[cfg(test)]
mod tests;
