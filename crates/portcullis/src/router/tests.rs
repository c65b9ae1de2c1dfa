//! Table-driven routing tests: precedence, predicates and rewrites, on compiled config.

use http::{HeaderMap, Method, Uri};

use super::{Rewrite, RouteResult, Router, rewrite_path};
use crate::upstream::state::Registry;

fn router(yaml_routes: &str) -> Router {
    let yaml =
        format!("listeners: [{{ name: main, bind: '127.0.0.1:1' }}]\nroutes:\n{yaml_routes}");
    let snap = crate::config::load_str(&yaml, std::path::Path::new("t.yaml"), &Registry::default())
        .unwrap_or_else(|e| panic!("{e}"));
    snap.router
}

fn route(
    r: &Router,
    host: Option<&str>,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> String {
    let uri: Uri = target.parse().unwrap();
    let mut h = HeaderMap::new();
    for (k, v) in headers {
        h.insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    let m = Method::from_bytes(method.as_bytes()).unwrap();
    match r.route("main", host, &m, uri.path(), &uri, &h) {
        RouteResult::Matched(route, params, _) => {
            let p: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            if p.is_empty() {
                route.name.to_string()
            } else {
                format!("{}({})", route.name, p.join(","))
            }
        }
        RouteResult::MethodNotAllowed(allow) => {
            let names: Vec<&str> = allow.iter().map(Method::as_str).collect();
            format!("405 {}", names.join(","))
        }
        RouteResult::NotFound => "404".into(),
    }
}

const ROUTES: &str = r#"
  - { name: catch-all, auth: none, match: {}, direct: {} }
  - { name: api, auth: none, match: { path_prefix: /api }, direct: {} }
  - { name: api-v2, auth: none, match: { path_prefix: /api/v2/ }, direct: {} }
  - { name: user, auth: none, match: { path_template: "/api/users/{id}" }, direct: {} }
  - { name: user-me, auth: none, match: { path: /api/users/me }, direct: {} }
  - { name: host-any, auth: none, match: { hosts: ["*.example.com"], path_prefix: /api }, direct: {} }
  - { name: host-deep, auth: none, match: { hosts: ["*.eu.example.com"], path_prefix: /api }, direct: {} }
  - { name: host-exact, auth: none, match: { hosts: [admin.example.com] }, direct: {} }
  - { name: posts, auth: none, match: { path: /posts, methods: [POST] }, direct: {} }
  - { name: canary, auth: none, match: { path_prefix: /api, headers: [{ name: x-canary, present: true, value: "on" }] }, direct: {} }
  - { name: no-debug, auth: none, match: { path_prefix: /dbg, headers: [{ name: x-debug, absent: true }] }, direct: {} }
"#;

/// (host, method, target, headers, expected route)
type Case<'a> = (
    Option<&'a str>,
    &'a str,
    &'a str,
    &'a [(&'a str, &'a str)],
    &'a str,
);

/// Asserts the route each case picks.
fn check(r: &Router, cases: &[Case]) {
    for (host, method, target, headers, want) in cases {
        assert_eq!(
            &route(r, *host, method, target, headers),
            want,
            "{method} {host:?} {target}"
        );
    }
}

#[test]
fn routes_by_documented_precedence() {
    // A header predicate field that does not exist must be rejected, so build without it.
    let routes = ROUTES.replace("present: true, ", "");
    let r = router(&routes);
    let cases: &[Case] = &[
        (None, "GET", "/", &[], "catch-all"),
        (None, "GET", "/api", &[], "api"),
        (None, "GET", "/api/x", &[], "api"),
        (None, "GET", "/apix", &[], "catch-all"),
        (None, "GET", "/api/v2/x", &[], "api-v2"),
        (None, "GET", "/api/users/7", &[], "user(id=7)"),
        (None, "GET", "/api/users/me", &[], "user-me"),
        (None, "GET", "/api/users/7/x", &[], "api"),
        (
            Some("a.example.com"),
            "GET",
            "/api/users/7",
            &[],
            "host-any",
        ),
        (
            Some("a.eu.example.com:8443"),
            "GET",
            "/api",
            &[],
            "host-deep",
        ),
        (Some("example.com"), "GET", "/api", &[], "api"),
        (
            Some("ADMIN.example.com."),
            "GET",
            "/anything",
            &[],
            "host-exact",
        ),
        (None, "POST", "/posts", &[], "posts"),
        (None, "GET", "/posts", &[], "catch-all"),
        (None, "GET", "/api/x", &[("x-canary", "on")], "canary"),
        (None, "GET", "/api/x", &[("x-canary", "off")], "api"),
        (None, "GET", "/dbg", &[], "no-debug"),
        (None, "GET", "/dbg", &[("x-debug", "1")], "catch-all"),
    ];
    check(&r, cases);
}

#[test]
fn answers_method_not_allowed_only_without_other_match() {
    let r = router(
        "  - { name: p, auth: none, match: { path: /p, methods: [POST, put] }, direct: {} }\n",
    );
    assert_eq!(route(&r, None, "GET", "/p", &[]), "405 POST,PUT");
    assert_eq!(route(&r, None, "PUT", "/p", &[]), "p");
    assert_eq!(route(&r, None, "GET", "/q", &[]), "404");
}

#[test]
fn rejects_unknown_predicate_fields() {
    let yaml = format!("listeners: [{{ name: main, bind: '127.0.0.1:1' }}]\nroutes:\n{ROUTES}");
    let err = crate::config::load_str(&yaml, std::path::Path::new("t.yaml"), &Registry::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("present"), "{err}");
}

#[test]
fn rewrites_paths() {
    let params = vec![("id".to_owned(), "42".to_owned())];
    let cases = [
        (
            Rewrite {
                strip_prefix: Some("/api/".into()),
                ..Default::default()
            },
            "/api/users",
            "/users",
        ),
        (
            Rewrite {
                strip_prefix: Some("/api".into()),
                ..Default::default()
            },
            "/api",
            "/",
        ),
        (
            Rewrite {
                replace: Some("/v2/u/{id}".into()),
                ..Default::default()
            },
            "/users/42",
            "/v2/u/42",
        ),
        (
            Rewrite {
                strip_version: Some("v3".into()),
                ..Default::default()
            },
            "/v3/items",
            "/items",
        ),
        (Rewrite::default(), "/same", "/same"),
    ];
    for (rw, input, want) in cases {
        assert_eq!(rewrite_path(&rw, input, &params), want, "{input}");
    }
}

#[test]
fn a_route_can_match_only_its_documents_operations() {
    let dir = crate::test_dir::TestDir::new("router-ops");
    let doc = dir.write(
        "shop.yaml",
        "openapi: 3.1.0\ninfo: { title: t, version: '1' }\nservers: [{ url: 'https://api.example.com/v1' }]\npaths:\n  /orders:\n    get: {}\n    post: {}\n  /orders/{id}:\n    get: {}\n    delete: {}\n",
    );
    let doc = doc.display();
    let routes = format!(
        r#"
  - {{ name: shop, auth: none, match: {{ openapi_operations: true }}, openapi: {{ file: '{doc}' }}, direct: {{}} }}
  - {{ name: shop-admin, auth: none, match: {{ hosts: [admin.example.com], path_prefix: /v1/orders, openapi_operations: true }}, openapi: {{ file: '{doc}' }}, direct: {{}} }}
  - {{ name: legacy, auth: none, match: {{ path_prefix: /v1 }}, direct: {{}} }}
  - {{ name: rest, auth: none, match: {{}}, direct: {{}} }}
"#
    );
    let r = router(&routes);
    let cases: &[Case] = &[
        // The document's operations, under its base path.
        (None, "GET", "/v1/orders", &[], "shop"),
        (None, "POST", "/v1/orders", &[], "shop"),
        (None, "DELETE", "/v1/orders/7", &[], "shop"),
        // HEAD is answered by GET, as the `openapi` stage reads it.
        (None, "HEAD", "/v1/orders/7", &[], "shop"),
        // Paths the document does not describe go on to the next route...
        (None, "GET", "/v1/invoices", &[], "legacy"),
        (None, "GET", "/v1/orders/7/items", &[], "legacy"),
        (None, "GET", "/other", &[], "rest"),
        // ... and so does a described path asked with another method, which the prefix
        // route takes.
        (None, "PATCH", "/v1/orders/7", &[], "legacy"),
        // Host first, as for every route.
        (
            Some("admin.example.com"),
            "GET",
            "/v1/orders",
            &[],
            "shop-admin",
        ),
        (Some("admin.example.com"), "GET", "/v1/other", &[], "legacy"),
    ];
    check(&r, cases);
    // With nothing behind it, a described path asked with another method is a 405 that lists
    // the document's methods.
    let alone = format!(
        "  - {{ name: shop, auth: none, match: {{ openapi_operations: true }}, openapi: {{ file: '{doc}' }}, direct: {{}} }}\n"
    );
    let r = router(&alone);
    assert_eq!(
        route(&r, None, "PATCH", "/v1/orders/7", &[]),
        "405 GET,DELETE"
    );
    assert_eq!(route(&r, None, "GET", "/v1/invoices", &[]), "404");
    assert_eq!(route(&r, None, "GET", "/orders", &[]), "404");
}

#[test]
fn matching_a_documents_operations_needs_the_document() {
    let yaml = "listeners: [{ name: main, bind: '127.0.0.1:1' }]\nroutes:\n  - { name: r, auth: none, match: { openapi_operations: true }, direct: {} }\n";
    let Err(err) =
        crate::config::load_str(yaml, std::path::Path::new("t.yaml"), &Registry::default())
    else {
        panic!("refused")
    };
    assert!(
        err.to_string()
            .contains("routes[0].match.openapi_operations"),
        "{err}"
    );
}
