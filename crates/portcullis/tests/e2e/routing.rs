//! Routing, precedence, rewrites, direct answers, redirects, versioning and header hygiene.

use http::Request;

use crate::support::{Gateway, empty, get, plain_client, send_full, start_upstream};

const CONFIG: &str = r#"
listeners:
  - name: main
    bind: 127.0.0.1:{PORT}
admin:
  bind: 127.0.0.1:{ADMIN}
trusted_proxies: ["10.0.0.0/8"]
access_log:
  headers: [authorization, cookie, user-agent, x-session]
  redact: [x-session]
upstreams:
  backend:
    targets: ["${env:TEST_UPSTREAM}"]
routes:
  - name: any-host-prefix
    auth: none
    match: { path_prefix: /api/ }
    upstream: backend
  - name: exact-host
    auth: none
    match: { hosts: [api.example.com], path_prefix: /api/ }
    direct: { body: exact-host }
  - name: wildcard-host
    auth: none
    match: { hosts: ["*.example.com"], path_prefix: /api/ }
    direct: { body: wildcard-host }
  - name: exact-path
    auth: none
    match: { path: /api/special }
    direct: { body: exact-path }
  - name: root
    auth: none
    match: { path: / }
    upstream: backend
  - name: template
    auth: none
    match: { path_template: "/users/{id}/orders/{order}" }
    upstream: backend
    rewrite_path: "/v2/orders/{order}?user={id}"
  - name: methods
    auth: none
    match: { path_prefix: /only-post, methods: [POST] }
    direct: { body: posted }
  - name: header-pred
    auth: none
    match: { path_prefix: /pred, headers: [{ name: x-canary, value: "1" }] }
    direct: { body: canary }
  - name: query-pred
    auth: none
    match: { path_prefix: /pred, query: [{ name: beta, regex: "yes|true" }] }
    direct: { body: beta }
  - name: pred-default
    auth: none
    match: { path_prefix: /pred }
    direct: { body: default }
  - name: strip
    auth: none
    match: { path_prefix: /svc/ }
    strip_prefix: true
    upstream: backend
    request_headers:
      set: { x-added: "yes" }
      remove: [x-drop-me]
    response_headers:
      set: { x-resp: "1" }
      remove: [x-powered-by]
  - name: redirect
    auth: none
    match: { path: /old }
    redirect: { location: "https://new.example.com/new", status: 301, keep_query: true }
  - name: v1
    auth: none
    match: { path_prefix: /things, api_version: { version: "1" } }
    direct: { body: v1 }
    deprecation:
      since: "2026-01-01T00:00:00Z"
      sunset: "2027-01-01T00:00:00Z"
      successor: "https://api.example.com/things?v=2"
  - name: v2
    auth: none
    match: { path_prefix: /things, api_version: { version: "2" } }
    direct: { body: v2 }
  - name: v-query
    auth: none
    match: { path_prefix: /q, api_version: { version: "2024-05-01", source: query } }
    direct: { body: dated }
  - name: v-path
    auth: none
    match: { path_prefix: /v3/, api_version: { version: v3, source: path } }
    upstream: backend
  - name: retired
    auth: none
    match: { path_prefix: /v0/ }
    retired: { successor: "https://api.example.com/v3/" }
    direct: { body: never }
  - name: protected
    match: { path_prefix: /private }
    direct: { body: secret }
"#;

async fn gateway() -> (Gateway, crate::support::Upstream) {
    let up = start_upstream("b1").await;
    let addr = up.addr.to_string();
    let gw = Gateway::start_with_env(CONFIG, &[("TEST_UPSTREAM", addr.as_str())]).await;
    (gw, up)
}

fn req(method: &str, url: &str, host: Option<&str>) -> Request<crate::support::TestBody> {
    let mut b = Request::builder().method(method).uri(url);
    if let Some(h) = host {
        b = b.header("host", h);
    }
    b.body(empty()).expect("req")
}

#[tokio::test]
async fn routes_by_precedence_and_predicates() {
    let (gw, _up) = gateway().await;
    let c = plain_client();
    let body = |r: (http::response::Parts, String)| r.1;
    // exact host > wildcard > any host
    assert_eq!(
        body(send_full(&c, req("GET", &gw.url("/api/x"), Some("api.example.com"))).await),
        "exact-host"
    );
    assert_eq!(
        body(
            send_full(
                &c,
                req("GET", &gw.url("/api/x"), Some("eu.example.com:443"))
            )
            .await
        ),
        "wildcard-host"
    );
    let any = body(send_full(&c, req("GET", &gw.url("/api/x"), Some("other.test"))).await);
    assert!(any.contains("\"server\":\"b1\""), "{any}");
    // exact path beats prefix on any host
    assert_eq!(
        body(send_full(&c, req("GET", &gw.url("/api/special"), Some("other.test"))).await),
        "exact-path"
    );
    // a prefix matches at segment boundaries only
    let (st, _) = get(&c, &gw.url("/apix")).await;
    assert_eq!(st, 404);
    // header and query predicates outrank the bare prefix
    let mut r = req("GET", &gw.url("/pred"), None);
    r.headers_mut().insert("x-canary", "1".parse().expect("hv"));
    assert_eq!(body(send_full(&c, r).await), "canary");
    assert_eq!(
        body(send_full(&c, req("GET", &gw.url("/pred?beta=yes"), None)).await),
        "beta"
    );
    assert_eq!(
        body(send_full(&c, req("GET", &gw.url("/pred?beta=no"), None)).await),
        "default"
    );
}

#[tokio::test]
async fn answers_405_and_404_as_problem_json() {
    let (gw, _up) = gateway().await;
    let c = plain_client();
    let (p, b) = send_full(&c, req("GET", &gw.url("/only-post"), None)).await;
    assert_eq!(p.status, 405);
    assert_eq!(p.headers["content-type"], "application/problem+json");
    assert_eq!(p.headers["allow"], "POST");
    let (p, b2) = send_full(&c, req("POST", &gw.url("/only-post"), None)).await;
    assert_eq!((p.status.as_u16(), b2.as_str()), (200, "posted"));
    let (p, b3) = send_full(&c, req("GET", &gw.url("/nothing-here"), None)).await;
    assert_eq!(p.status, 404);
    let v: serde_json::Value = serde_json::from_str(&b3).expect("json");
    assert_eq!(v["type"], "urn:portcullis:problem:route_not_found");
    assert_eq!(
        v["request_id"].as_str(),
        p.headers["x-request-id"].to_str().ok()
    );
    let _ = b;
}

#[tokio::test]
async fn rewrites_templates_and_strips_prefixes() {
    let (gw, _up) = gateway().await;
    let c = plain_client();
    let (_, b) = send_full(&c, req("GET", &gw.url("/users/42/orders/7"), None)).await;
    let v: serde_json::Value = serde_json::from_str(&b).expect("json");
    assert_eq!(v["uri"], "/v2/orders/7?user=42");
    let mut r = req("GET", &gw.url("/svc/inner/path?q=1"), None);
    r.headers_mut()
        .insert("x-drop-me", "1".parse().expect("hv"));
    let (p, b) = send_full(&c, r).await;
    let v: serde_json::Value = serde_json::from_str(&b).expect("json");
    assert_eq!(v["uri"], "/inner/path?q=1");
    assert_eq!(v["headers"]["x-added"][0], "yes");
    assert!(v["headers"]["x-drop-me"].is_null());
    assert_eq!(p.headers["x-resp"], "1");
    // Path-based versions are removed before forwarding.
    let (_, b) = send_full(&c, req("GET", &gw.url("/v3/items"), None)).await;
    let v: serde_json::Value = serde_json::from_str(&b).expect("json");
    assert_eq!(v["uri"], "/items");
}

#[tokio::test]
async fn normalises_paths_before_routing() {
    let (gw, _up) = gateway().await;
    let c = plain_client();
    for (target, want) in [
        // Dot segments and doubled slashes resolve before routing and are forwarded normalised.
        ("/svc//a/./b/../c", "/a/c"),
        // An absolute-form target without a path goes upstream in origin form, with its query.
        ("http://x?q=1", "/?q=1"),
    ] {
        let head = format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let out =
            crate::support::raw(gw.port, head.as_bytes(), std::time::Duration::from_secs(5)).await;
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains(&format!("\"uri\":\"{want}\"")), "{text}");
    }
    // A target in absolute form names the host that goes upstream (RFC 9112 section 3.2.2),
    // not the `Host` field (which may differ from it only in case).
    let head = b"GET http://X.test/?q=2 HTTP/1.1\r\nHost: x.test\r\nConnection: close\r\n\r\n";
    let out = crate::support::raw(gw.port, head, std::time::Duration::from_secs(5)).await;
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("\"host\":[\"X.test\"]"), "{text}");
    // Encoded slash is refused.
    let (st, _) = get(&c, &gw.url("/svc/a%2fb")).await;
    assert_eq!(st, 400);
    // Escaping the root is refused.
    let out = crate::support::raw(
        gw.port,
        b"GET /svc/../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        std::time::Duration::from_secs(5),
    )
    .await;
    assert_eq!(crate::support::status_of(&out), 400);
}

#[tokio::test]
async fn redirects_versions_deprecation_and_retirement() {
    let (gw, _up) = gateway().await;
    let c = plain_client();
    let (p, _) = send_full(&c, req("GET", &gw.url("/old?a=1"), None)).await;
    assert_eq!(p.status, 301);
    assert_eq!(p.headers["location"], "https://new.example.com/new?a=1");

    let mut r = req("GET", &gw.url("/things"), None);
    r.headers_mut()
        .insert("api-version", "1".parse().expect("hv"));
    let (p, b) = send_full(&c, r).await;
    assert_eq!(b, "v1");
    assert_eq!(p.headers["deprecation"], "@1767225600");
    assert_eq!(p.headers["sunset"], "Fri, 01 Jan 2027 00:00:00 GMT");
    assert_eq!(
        p.headers["link"],
        "<https://api.example.com/things?v=2>; rel=\"successor-version\""
    );
    let mut r = req("GET", &gw.url("/things"), None);
    r.headers_mut()
        .insert("api-version", "2".parse().expect("hv"));
    let (p, b) = send_full(&c, r).await;
    assert_eq!(b, "v2");
    assert!(p.headers.get("deprecation").is_none());
    let (_, b) = send_full(&c, req("GET", &gw.url("/q?version=2024-05-01"), None)).await;
    assert_eq!(b, "dated");
    let (p, _) = send_full(&c, req("GET", &gw.url("/q?version=2023"), None)).await;
    assert_eq!(p.status, 404);

    let (p, b) = send_full(&c, req("GET", &gw.url("/v0/anything"), None)).await;
    assert_eq!(p.status, 410);
    assert!(b.contains("urn:portcullis:problem:gone"));
    assert_eq!(
        p.headers["link"],
        "<https://api.example.com/v3/>; rel=\"successor-version\""
    );
}

#[tokio::test]
async fn denies_by_default_without_auth_block() {
    let (gw, _up) = gateway().await;
    let (p, b) = send_full(&plain_client(), req("GET", &gw.url("/private"), None)).await;
    assert_eq!(p.status, 401);
    assert!(p.headers.contains_key("www-authenticate"));
    assert!(!b.contains("secret"));
}

#[tokio::test]
async fn cleans_headers_both_ways() {
    let (gw, _up) = gateway().await;
    let c = plain_client();
    let r = Request::get(gw.url("/api/echo"))
        .header("host", "public.test")
        .header("connection", "keep-alive, x-hop")
        .header("x-hop", "1")
        .header("keep-alive", "timeout=5")
        .header("x-portcullis-consumer", "admin")
        .header("x-portcullis-roles", "admin")
        .header("x-forwarded-for", "6.6.6.6")
        .header("forwarded", "for=6.6.6.6")
        .header("x-real-ip", "6.6.6.6")
        .header("true-client-ip", "127.0.0.1")
        .header("x-original-url", "/admin/users")
        .header("x-tenant-id", "acme")
        .header("x-request-id", "trace-abc.123")
        .header("authorization", "Bearer top-secret-token")
        .header("cookie", "session=top-secret-cookie")
        .header("x-session", "top-secret-session")
        .body(empty())
        .expect("req");
    let (p, b) = send_full(&c, r).await;
    let v: serde_json::Value = serde_json::from_str(&b).expect("json");
    let h = &v["headers"];
    assert!(h["x-hop"].is_null() && h["keep-alive"].is_null());
    assert!(h["x-portcullis-consumer"].is_null() && h["x-portcullis-roles"].is_null());
    // Untrusted peer: its X-Forwarded-For is replaced, not appended to.
    assert_eq!(h["x-forwarded-for"][0], "127.0.0.1");
    assert_eq!(h["x-real-ip"][0], "127.0.0.1");
    assert!(h["forwarded"].is_null());
    // Headers only a proxy in front may set, from a client: removed. Its own headers stay.
    assert!(h["true-client-ip"].is_null() && h["x-original-url"].is_null());
    assert_eq!(h["x-tenant-id"][0], "acme");
    assert_eq!(h["x-forwarded-proto"][0], "http");
    assert_eq!(h["x-forwarded-host"][0], "public.test");
    assert_eq!(h["host"][0], "public.test");
    assert_eq!(h["x-request-id"][0], "trace-abc.123");
    // The upstream's banner is hidden and security headers added.
    assert!(p.headers.get("server").is_none());
    assert_eq!(p.headers["x-content-type-options"], "nosniff");
    assert_eq!(p.headers["x-request-id"], "trace-abc.123");

    // The access log has the request, with secrets redacted.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let log = std::fs::read_to_string(gw.dir.join("access.log")).unwrap_or_default();
    assert!(log.contains("trace-abc.123"), "{log}");
    assert!(
        !log.contains("top-secret"),
        "secret leaked into the access log: {log}"
    );
    let rec = gw
        .access_log()
        .into_iter()
        .find(|r| r["request_id"] == "trace-abc.123")
        .expect("record");
    assert_eq!(rec["route"], "any-host-prefix");
    assert_eq!(rec["status"], 200);
    assert_eq!(rec["upstream"], _up.addr.to_string());
    assert_eq!(rec["method"], "GET");
    assert_eq!(rec["path"], "/api/echo");
    assert!(rec["bytes_out"].as_u64().unwrap_or(0) > 0);
    assert_eq!(rec["complete"], true);
    assert!(rec["duration_ms"].as_f64().is_some());
}
