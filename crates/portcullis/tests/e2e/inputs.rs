//! Input validation through the real gateway: the WAF stage (block, detect, exclusions,
//! events, auto-ban on blocks), content rules, JSON Schema, and the body inspection cap; and
//! the suite's `/waf/` route against the benign and attack corpora.

use std::sync::Arc;
use std::time::Duration;

use http::Request;

use crate::support::{
    BASE, Gateway, full, get, plain_client, raw, repo_root, send, start_upstream,
};

fn post(url: String, ct: &str, body: impl Into<bytes::Bytes>) -> Request<crate::support::TestBody> {
    Request::post(url)
        .header("content-type", ct)
        .body(full(body.into()))
        .expect("req")
}

fn decisions(gw: &Gateway) -> Vec<String> {
    gw.access_log()
        .iter()
        .flat_map(|r| {
            r["decisions"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|d| d.as_str().map(str::to_owned))
        })
        .collect()
}

#[tokio::test]
async fn waf_blocks_attacks_passes_traffic_and_records_events() {
    let up = start_upstream("backend").await;
    let yaml = format!(
        r#"{BASE}upstreams: {{ backend: {{ targets: ["{a}"] }} }}
auto_ban:
  - {{ name: waf-abuse, on: [waf_block], key: ip, threshold: 3, within: 60s, ban_for: 60s, except_routes: [detect] }}
routes:
  - name: waf
    match: {{ path_prefix: /waf/ }}
    auth: none
    upstream: backend
    waf:
      paranoia: 1
      exclusions:
        - {{ families: [sqli], locations: ["query:sql_ok"] }}
        - {{ families: [xss], locations: ["json:/messages/*/content"] }}
  - name: detect
    match: {{ path_prefix: /detect/ }}
    auth: none
    upstream: backend
    waf: {{ mode: detect }}
"#,
        a = up.addr
    );
    let gw = Gateway::start(&yaml).await;
    let c = plain_client();
    // Ordinary traffic passes, bodies untouched.
    let (st, body) = get(&c, &gw.url("/waf/items?id=42&sort=name&q=blue%20shoes")).await;
    assert_eq!(st, 200, "{body}");
    let json =
        r#"{"name":"O'Brien","comment":"Select your plan; then order from the menu.","qty":3}"#;
    let (st, body) = send(&c, post(gw.url("/waf/orders"), "application/json", json)).await;
    assert_eq!(st, 200, "{body}");
    assert!(
        body.contains(&format!("\"body_len\":{}", json.len())),
        "{body}"
    );
    // An empty POST goes upstream with `Content-Length: 0` (re-derived framing).
    let empty_post = Request::post(gw.url("/waf/empty"))
        .body(crate::support::empty())
        .expect("req");
    let (st, body) = send(&c, empty_post).await;
    assert_eq!(st, 200, "{body}");
    assert!(body.contains("\"content-length\":[\"0\"]"), "{body}");
    // Attacks in the query and in a JSON value are refused with problem+json.
    let (st, body) = get(&c, &gw.url("/waf/items?id=1%27%20OR%20%271%27%3D%271")).await;
    assert_eq!(st, 403, "{body}");
    assert!(
        body.contains("urn:portcullis:problem:request_blocked"),
        "{body}"
    );
    assert!(body.contains("request_id"), "{body}");
    let attack = r#"{"comment":"<script>alert(document.cookie)</script>"}"#;
    let (st, _) = send(&c, post(gw.url("/waf/c"), "application/json", attack)).await;
    assert_eq!(st, 403);
    // An exclusion switches a family off at one input only.
    let (st, body) = get(&c, &gw.url("/waf/x?sql_ok=1%27%20OR%20%271%27%3D%271")).await;
    assert_eq!(st, 200, "{body}");
    // A `*` inside a location stands for one path segment: any message's content.
    let chat =
        r#"{"messages":[{"role":"user","content":"what does <script>alert(1)</script> do?"}]}"#;
    let (st, body) = send(&c, post(gw.url("/waf/chat"), "application/json", chat)).await;
    assert_eq!(st, 200, "{body}");
    // Detect mode forwards and records what block mode would have done.
    let (st, _) = get(&c, &gw.url("/detect/x?id=1%27%20OR%20%271%27%3D%271")).await;
    assert_eq!(st, 200);
    // The same input again is answered from the engine's remembered detections: same verdict.
    let (st, _) = get(&c, &gw.url("/detect/z?id=1%27%20OR%20%271%27%3D%271")).await;
    assert_eq!(st, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let d = decisions(&gw);
    assert!(d.contains(&"waf:blocked".to_owned()), "{d:?}");
    assert_eq!(
        d.iter().filter(|x| x.as_str() == "waf:would_block").count(),
        2,
        "{d:?}"
    );
    assert!(d.contains(&"waf:pass".to_owned()), "{d:?}");
    // The security event names rule ids and locations, not the payload.
    let err = gw.stderr();
    let line = err
        .lines()
        .find(|l| l.contains("WAF match") && l.contains("blocked"))
        .unwrap_or_else(|| panic!("no WAF event in:\n{err}"));
    assert!(line.contains("query:id") && line.contains("rule"), "{line}");
    assert!(!line.contains("document.cookie)</script>"), "{line}");
    // A third block from this IP bans it, on every route but the excepted one.
    let (st, _) = get(&c, &gw.url("/waf/y?q=%3Cscript%3Ealert(1)%3C/script%3E")).await;
    assert_eq!(st, 403);
    let (st, body) = get(&c, &gw.url("/waf/items?id=42")).await;
    assert_eq!(st, 403, "{body}");
    assert!(body.contains("banned"), "{body}");
    assert_eq!(get(&c, &gw.url("/detect/ok")).await.0, 200);
    // Every match is counted by route, rule, family and verdict; the SQLi tautology matched
    // once on `detect` (would_block) and the XSS bodies on `waf` (blocked), never on `detect`.
    let m = gw.metrics().await;
    let series = |route: &str, family: &str, outcome: &str| {
        m.lines()
            .filter(|l| {
                l.starts_with("portcullis_waf_rule_matches_total{")
                    && l.contains(&format!("route=\"{route}\""))
                    && l.contains(&format!("family=\"{family}\""))
                    && l.contains(&format!("outcome=\"{outcome}\""))
            })
            .count()
    };
    // Inputs inspected, and inputs answered from the remembered clean ones (names and
    // headers repeat across this test's requests).
    let inputs = |outcome: &str| {
        m.lines()
            .find(|l| {
                l.starts_with("portcullis_waf_inputs_total{")
                    && l.contains("route=\"waf\"")
                    && l.contains(&format!("outcome=\"{outcome}\""))
            })
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    assert!(inputs("inspected") > 0.0, "{m}");
    assert!(inputs("remembered") > 0.0, "{m}");
    assert!(series("waf", "sqli", "blocked") > 0, "{m}");
    assert!(series("waf", "xss", "blocked") > 0, "{m}");
    assert!(series("detect", "sqli", "would_block") > 0, "{m}");
    assert_eq!(series("detect", "sqli", "blocked"), 0, "{m}");
    assert_eq!(series("detect", "xss", "would_block"), 0, "{m}");
}

#[tokio::test]
async fn content_rules_schema_and_inspection_cap() {
    let up = start_upstream("backend").await;
    let yaml = format!(
        r#"{BASE}upstreams: {{ backend: {{ targets: ["{a}"] }} }}
routes:
  - name: orders
    match: {{ path_prefix: /orders }}
    auth: none
    upstream: backend
    content:
      content_types: [application/json]
      max_query_params: 3
      json: {{ max_depth: 4, max_keys: 10, max_string_length: 32 }}
    schema:
      inline:
        type: object
        required: [item, qty]
        properties:
          item: {{ type: string }}
          qty: {{ type: integer, minimum: 1 }}
        additionalProperties: false
    body_inspection: {{ max_bytes: 2KiB }}
  - name: uploads
    match: {{ path_prefix: /uploads }}
    auth: none
    upstream: backend
    content:
      content_types: ["multipart/form-data", "text/*"]
      max_multipart_parts: 2
    waf: {{}}
    body_inspection: {{ max_bytes: 1KiB, larger: skip }}
"#,
        a = up.addr
    );
    let gw = Gateway::start(&yaml).await;
    let c = plain_client();
    let ok = r#"{"item":"tea","qty":2}"#;
    let (st, body) = send(&c, post(gw.url("/orders"), "application/json", ok)).await;
    assert_eq!(st, 200, "{body}");
    let (st, body) = send(&c, post(gw.url("/orders"), "text/plain", ok)).await;
    assert_eq!(st, 415, "{body}");
    assert!(body.contains("unsupported_media_type"));
    let (st, _) = send(
        &c,
        post(gw.url("/orders?a=1&b=2&c=3&d=4"), "application/json", ok),
    )
    .await;
    assert_eq!(st, 400);
    let deep = r#"{"item":{"a":{"b":{"c":{"d":1}}}},"qty":1}"#;
    let (st, body) = send(&c, post(gw.url("/orders"), "application/json", deep)).await;
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("deeper"), "{body}");
    // Schema: violations listed by pointer and keyword, values never echoed.
    let bad = r#"{"item":"hush-secret","qty":0,"extra":true}"#;
    let (st, body) = send(&c, post(gw.url("/orders"), "application/json", bad)).await;
    assert_eq!(st, 422, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("problem json");
    assert_eq!(v["type"], "urn:portcullis:problem:schema_violation");
    let errors = v["errors"].as_array().expect("errors").clone();
    assert!(
        errors
            .iter()
            .any(|e| e["pointer"] == "/qty" && e["keyword"] == "minimum"),
        "{body}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e["keyword"] == "additionalProperties"),
        "{body}"
    );
    assert!(!body.contains("hush-secret"));
    let (st, body) = send(&c, post(gw.url("/orders"), "application/json", "{oops")).await;
    assert_eq!(st, 400, "{body}");
    // A compressed body would pass every inspecting stage unread: refused.
    let gz = Request::post(gw.url("/orders"))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(full(ok))
        .expect("req");
    let (st, body) = send(&c, gz).await;
    assert_eq!(st, 415, "{body}");
    // Over the inspection cap: 413 by default...
    let big = format!(r#"{{"item":"{}","qty":1}}"#, "x".repeat(3000));
    let (st, _) = send(&c, post(gw.url("/orders"), "application/json", big)).await;
    assert_eq!(st, 413);
    // ...or forwarded uninspected where the route says so.
    let big_text = "word ".repeat(400);
    let (st, body) = send(&c, post(gw.url("/uploads"), "text/plain", big_text.clone())).await;
    assert_eq!(st, 200, "{body}");
    assert!(
        body.contains(&format!("\"body_len\":{}", big_text.len())),
        "{body}"
    );
    // Multipart part count.
    let part =
        |n: &str| format!("--B\r\nContent-Disposition: form-data; name=\"{n}\"\r\n\r\nv\r\n");
    let three = format!("{}{}{}--B--\r\n", part("a"), part("b"), part("c"));
    let (st, _) = send(
        &c,
        post(gw.url("/uploads"), "multipart/form-data; boundary=B", three),
    )
    .await;
    assert_eq!(st, 400);
    let two = format!("{}{}--B--\r\n", part("a"), part("b"));
    let (st, body) = send(
        &c,
        post(gw.url("/uploads"), "multipart/form-data; boundary=B", two),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    // A request that breaks strict framing (a bare LF, which the head parser would accept),
    // and a head the parser refuses itself (obsolete line folding): the second is answered
    // before any stage runs, and still logged, counted and reported like the stages' refusals.
    for (head, says) in [
        (
            &b"GET /orders HTTP/1.1\nHost: a\r\n\r\n"[..],
            "LF without CR",
        ),
        (
            b"GET /orders HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n folded\r\n\r\n",
            "invalid header field name",
        ),
    ] {
        let answer = raw(gw.port, head, Duration::from_secs(5)).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        assert!(answer.contains(says), "{answer}");
    }
    // Every refusal by an input stage is a security event naming the stage and the rule.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = gw
        .access_log()
        .into_iter()
        .find(|r| r["decisions"] == serde_json::json!(["validate:field_name"]))
        .unwrap_or_else(|| panic!("no access-log line for the refused head"));
    assert_eq!(refused["status"], 400, "{refused}");
    assert_eq!(refused["reason"], "bad_request", "{refused}");
    assert_eq!(refused["route"], serde_json::Value::Null, "{refused}");
    let err = gw.stderr();
    let events: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("request input refused"))
        .collect();
    for (stage, outcome) in [
        ("content", "unsupported_media_type"),
        ("content", "bad_request"),
        ("schema", "schema_violation"),
        ("validate", "bare_lf"),
        ("validate", "field_name"),
    ] {
        assert!(
            events
                .iter()
                .any(|l| l.contains(&format!("\"event\":\"{stage}\""))
                    && l.contains(&format!("\"outcome\":\"{outcome}\""))),
            "no {stage}:{outcome} event in:\n{}",
            events.join("\n")
        );
    }
    assert!(!err.contains("hush-secret"));
}

/// One request of a corpus: method, path and query, headers, body.
type CorpusRequest = (String, String, Vec<(String, String)>, String);

/// Sends `reqs` (method, path-and-query, headers, body) to the suite gateway, 16 at a time,
/// and returns the statuses in order.
async fn statuses(listen: &str, reqs: Vec<CorpusRequest>) -> Vec<u16> {
    let c = plain_client();
    let sem = Arc::new(tokio::sync::Semaphore::new(16));
    let mut set = tokio::task::JoinSet::new();
    for (i, (method, uri, headers, body)) in reqs.into_iter().enumerate() {
        let (c, sem, listen) = (c.clone(), sem.clone(), listen.to_owned());
        set.spawn(async move {
            let _p = sem.acquire_owned().await.expect("sem");
            let mut b = Request::builder()
                .method(method.as_str())
                .uri(format!("http://{listen}{uri}"));
            for (n, v) in &headers {
                b = b.header(n.as_str(), v.as_str());
            }
            let Ok(req) = b.body(full(body)) else {
                return (i, 0);
            };
            let st = match tokio::time::timeout(Duration::from_secs(10), c.request(req)).await {
                Ok(Ok(r)) => r.status().as_u16(),
                _ => 0,
            };
            (i, st)
        });
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        out.push(r.expect("task"));
    }
    out.sort_unstable();
    out.into_iter().map(|(_, s)| s).collect()
}

fn corpus(name: &str) -> Vec<serde_json::Value> {
    let path = repo_root().join("../shared/corpora").join(name);
    std::fs::read_to_string(&path)
        .expect("corpus")
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Every benign request of `benign.jsonl`, moved under `/waf/`, passes the suite's WAF; a
/// sample of libinjection attacks (every 7th) in a query parameter is refused.
#[tokio::test]
async fn suite_waf_route_against_the_corpora() {
    let (_gw, _up, listen, _admin) = crate::suite::start_suite().await;
    let benign = corpus("benign.jsonl");
    assert!(benign.len() > 1000);
    let reqs: Vec<_> = benign
        .iter()
        .map(|v| {
            let uri = v["uri"].as_str().unwrap_or("/");
            let headers = v["headers"]
                .as_object()
                .map(|h| {
                    h.iter()
                        .filter(|(n, _)| {
                            !n.eq_ignore_ascii_case("host")
                                && !n.eq_ignore_ascii_case("content-length")
                        })
                        .map(|(n, v)| (n.clone(), v.as_str().unwrap_or("").to_owned()))
                        .collect()
                })
                .unwrap_or_default();
            (
                v["method"].as_str().unwrap_or("GET").to_owned(),
                format!("/waf{uri}"),
                headers,
                v["body"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let st = statuses(&listen, reqs.clone()).await;
    let refused: Vec<String> = st
        .iter()
        .zip(&reqs)
        .filter(|(s, _)| **s != 200)
        .map(|(s, r)| format!("{s} {} {}", r.0, r.1))
        .collect();
    assert!(
        refused.is_empty(),
        "{} of {} benign requests refused:\n{}",
        refused.len(),
        reqs.len(),
        refused.join("\n")
    );

    let attacks: Vec<_> = corpus("libinjection.jsonl")
        .into_iter()
        .filter(|v| v["expect"] == "attack")
        .step_by(7)
        .map(|v| {
            // `payload_urlencoded` is not always encoded; encode the decoded payload here.
            let p: String = v["payload"]
                .as_str()
                .unwrap_or("")
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                        char::from(b).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            (
                "GET".to_owned(),
                format!("/waf/search?q={p}"),
                Vec::new(),
                String::new(),
            )
        })
        .collect();
    let st = statuses(&listen, attacks.clone()).await;
    let blocked = st.iter().filter(|s| **s == 403).count();
    let mut dist = std::collections::BTreeMap::new();
    for s in &st {
        *dist.entry(*s).or_insert(0) += 1;
    }
    eprintln!("statuses: {dist:?}");
    let rate = blocked as f64 / attacks.len() as f64;
    eprintln!(
        "suite /waf/: libinjection sample blocked {blocked}/{} ({:.2} %)",
        attacks.len(),
        rate * 100.0
    );
    assert!(
        rate >= 0.99,
        "only {blocked}/{} attacks blocked",
        attacks.len()
    );
}

/// A fresh folder (for the test's other files) holding the OpenAPI document `text`.
fn openapi_doc(tag: &str, text: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = crate::support::temp_dir(tag);
    let doc = dir.join("api.yaml");
    std::fs::write(&doc, text).expect("write doc");
    (dir, doc)
}

/// API keys of the OpenAPI tests' two consumers, with roles `writer` and `reader`.
const WRITER: &str = "pk_writer_0123456789abcdefghijklmnopqrstuv";
const READER: &str = "pk_reader_0123456789abcdefghijklmnopqrstuv";

/// The identity settings and consumers of the OpenAPI tests (the pepper from `TEST_PEPPER`).
fn openapi_consumers() -> String {
    use crate::identity::entry;
    format!(
        "identity: {{ api_key_pepper: \"${{env:TEST_PEPPER}}\" }}\nconsumers:\n  - {{ name: writer-app, roles: [writer], api_keys: [{}] }}\n  - {{ name: reader-app, roles: [reader], api_keys: [{}] }}\n",
        entry(WRITER, ""),
        entry(READER, "")
    )
}

#[tokio::test]
async fn a_route_generated_from_a_document_matches_only_its_operations() {
    let (shop, legacy) = (start_upstream("shop").await, start_upstream("legacy").await);
    let (_dir, doc) = openapi_doc(
        "openapi-match",
        r##"openapi: 3.1.0
info: { title: shop, version: "1" }
servers: [{ url: "https://api.example.com/v1" }]
paths:
  /orders/{id}:
    get:
      parameters:
        - { name: id, in: path, required: true, schema: { type: integer, minimum: 1 } }
"##,
    );
    let yaml = format!(
        r#"{BASE}upstreams: {{ shop: {{ targets: ["{s}"] }}, legacy: {{ targets: ["{l}"] }} }}
routes:
  - name: shop
    match: {{ openapi_operations: true }}
    auth: none
    upstream: shop
    openapi: {{ file: "{doc}" }}
  - name: legacy
    match: {{ path_prefix: /v1 }}
    auth: none
    upstream: legacy
"#,
        s = shop.addr,
        l = legacy.addr,
        doc = doc.display()
    );
    let gw = Gateway::start(&yaml).await;
    let c = plain_client();
    let (st, body) = get(&c, &gw.url("/v1/orders/7")).await;
    assert_eq!(st, 200, "{body}");
    assert!(body.contains("\"shop\""), "{body}");
    // The operation found while routing is the one the `openapi` stage checks.
    assert_eq!(get(&c, &gw.url("/v1/orders/0")).await.0, 400);
    // What the document does not describe goes to the next route.
    for path in ["/v1/invoices", "/v1/orders"] {
        let (st, body) = get(&c, &gw.url(path)).await;
        assert_eq!(st, 200, "{path}: {body}");
        assert!(body.contains("\"legacy\""), "{path}: {body}");
    }
    let del = Request::delete(gw.url("/v1/orders/7"))
        .body(full(""))
        .expect("req");
    let (st, body) = send(&c, del).await;
    assert_eq!(st, 200, "{body}");
    assert!(body.contains("\"legacy\""), "{body}");
    assert_eq!(shop.ctl.hits.load(std::sync::atomic::Ordering::Relaxed), 1);
}

#[tokio::test]
async fn openapi_security_requirements_are_enforced() {
    use crate::identity::PEPPER;
    let up = start_upstream("backend").await;
    let (dir, doc) = openapi_doc(
        "openapi-security",
        r##"openapi: 3.1.0
info: { title: shop, version: "1" }
security: [{ key: [] }]
components:
  securitySchemes:
    key: { type: apiKey, in: header, name: X-Api-Key }
    token: { type: oauth2, flows: { clientCredentials: { tokenUrl: "https://id.example.com/t", scopes: {} } } }
paths:
  /orders:
    get: { operationId: listOrders }
    post: { operationId: createOrder, security: [{ key: [writer] }] }
  /health:
    get: { operationId: health, security: [] }
  /rates:
    get: { operationId: rates, security: [{ token: [rates:read] }, { key: [auditor] }] }
"##,
    );
    let route = |auth: &str, security: &str| {
        format!(
            "  - name: shop\n    match: {{ path_prefix: /shop/ }}\n{auth}    upstream: backend\n    openapi:\n      file: \"{doc}\"\n      base_path: /shop\n{security}",
            doc = doc.display()
        )
    };
    let yaml = format!(
        r#"{BASE}{consumers}upstreams: {{ backend: {{ targets: ["{a}"] }} }}
routes:
{route}      operations:
        health: {{ auth: none }}
"#,
        consumers = openapi_consumers(),
        a = up.addr,
        route = route(
            "    auth: { methods: [api_key] }\n    authorize: { any_authenticated: true }\n",
            ""
        ),
    );
    let gw = Gateway::start_with_env(&yaml, &[("TEST_PEPPER", PEPPER)]).await;
    let c = plain_client();
    let call = |method: http::Method, path: &str, key: Option<&str>| {
        let mut r = Request::builder().method(method).uri(gw.url(path));
        if let Some(k) = key {
            r = r.header("x-api-key", k);
        }
        let req = r.body(crate::support::empty()).expect("req");
        let c = &c;
        async move { send(c, req).await }
    };
    use http::Method;
    // The document's own `security` covers operations without one.
    assert_eq!(call(Method::GET, "/shop/orders", Some(READER)).await.0, 200);
    // The operation's roles (OpenAPI 3.1) must be held: 403 without a detail.
    let (st, body) = call(Method::POST, "/shop/orders", Some(READER)).await;
    assert_eq!(st, 403, "{body}");
    assert!(!body.contains("writer"), "{body}");
    assert_eq!(
        call(Method::POST, "/shop/orders", Some(WRITER)).await.0,
        200
    );
    // `security: []` and an operation made public need no key.
    assert_eq!(call(Method::GET, "/shop/health", None).await.0, 200);
    // An OAuth scheme is met by tokens only, whatever the key's roles; the key alternative
    // needs a role the writer lacks.
    assert_eq!(call(Method::GET, "/shop/rates", Some(WRITER)).await.0, 403);
    // A header `Connection` names is gone before any stage reads it: the key is not seen.
    let req = Request::post(gw.url("/shop/orders"))
        .header("x-api-key", WRITER)
        .header("connection", "keep-alive, X-Api-Key")
        .body(crate::support::empty())
        .expect("req");
    assert_eq!(send(&c, req).await.0, 401);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = gw.access_log();
    assert!(
        log.iter().any(|r| r["operation"] == "createOrder"
            && r["status"] == 403
            && r["decisions"].to_string().contains("security_requirement")),
        "{log:?}"
    );
    let metrics = gw.metrics().await;
    let want =
        "portcullis_security_decisions_total{stage=\"authz\",outcome=\"security_requirement\"} 2";
    assert!(metrics.contains(want), "{want}: {metrics}");
    // A route that lets a secured operation run without authentication is a config error
    // at its `auth`, unless it says the document's requirements are ignored.
    let public = |security: &str| {
        format!(
            "listeners: [{{ name: m, bind: \"127.0.0.1:1\" }}]\nupstreams: {{ backend: {{ targets: [\"127.0.0.1:9\"] }} }}\nroutes:\n{}",
            route("    auth: none\n", security)
        )
    };
    let (passed, out, err) = crate::support::check_config(&dir.join("public.yaml"), &public(""));
    let text = err + &out;
    assert!(!passed, "{text}");
    assert!(
        text.contains("public.yaml:6: routes[0].auth")
            && text.contains("asks a credential for \"listOrders\""),
        "{text}"
    );
    let (passed, out, err) = crate::support::check_config(
        &dir.join("ignored.yaml"),
        &public("      security: ignore\n"),
    );
    assert!(passed, "{err}{out}");
    // So is an operation no method of the route can meet: only tokens, behind API keys.
    let text = std::fs::read_to_string(&doc).expect("doc");
    std::fs::write(&doc, text.replace(", { key: [auditor] }", "")).expect("write doc");
    let keys_only = format!(
        "listeners: [{{ name: m, bind: \"127.0.0.1:1\" }}]\nupstreams: {{ backend: {{ targets: [\"127.0.0.1:9\"] }} }}\nroutes:\n{}",
        route(
            "    auth: { methods: [api_key] }\n    authorize: { any_authenticated: true }\n",
            ""
        )
    ) + "identity: { api_key_pepper: \"0123456789abcdef0123456789abcdef\" }\n";
    let (passed, out, err) = crate::support::check_config(&dir.join("keys.yaml"), &keys_only);
    let text = err + &out;
    assert!(!passed, "{text}");
    assert!(
        text.contains("keys.yaml:6: routes[0].auth") && text.contains("for \"rates\""),
        "{text}"
    );
}

#[tokio::test]
async fn openapi_operations_run_with_their_own_settings() {
    use crate::identity::PEPPER;
    let up = start_upstream("backend").await;
    let (dir, doc) = openapi_doc(
        "openapi-ops",
        r##"openapi: 3.0.3
info: { title: shop, version: "1" }
paths:
  /orders:
    get: { operationId: listOrders }
    post:
      operationId: createOrder
      requestBody: { content: { application/json: { schema: { type: object } } } }
  /orders/{id}:
    parameters: [{ name: id, in: path, required: true, schema: { type: integer } }]
    get: { operationId: getOrder }
    delete: {}
  /stock:
    get: {}
"##,
    );
    let yaml = format!(
        r#"{BASE}{consumers}upstreams: {{ backend: {{ targets: ["{a}"] }} }}
routes:
  - name: shop
    match: {{ path_prefix: /shop/ }}
    auth: none
    rate_limits: [{{ requests: 8, per: 1m }}]
    upstream: backend
    openapi:
      file: "{doc}"
      base_path: /shop
      operations:
        createOrder:
          auth: {{ methods: [api_key] }}
          authorize: {{ roles: [writer] }}
        getOrder:
          rate_limits: [{{ requests: 3, per: 1m }}]
        "delete /orders/{{id}}":
          retired: {{ successor: "https://api.example.com/v2/orders" }}
        listOrders:
          deprecation: {{ since: "2026-01-01T00:00:00Z" }}
"#,
        consumers = openapi_consumers(),
        a = up.addr,
        doc = doc.display()
    );
    let gw = Gateway::start_with_env(&yaml, &[("TEST_PEPPER", PEPPER)]).await;
    let c = plain_client();
    let order = |key: Option<&str>| {
        let mut r =
            Request::post(gw.url("/shop/orders")).header("content-type", "application/json");
        if let Some(k) = key {
            r = r.header("x-api-key", k);
        }
        r.body(full("{}")).expect("req")
    };
    // One operation authenticates and authorizes; the route's others stay public.
    assert_eq!(send(&c, order(None)).await.0, 401);
    assert_eq!(send(&c, order(Some(READER))).await.0, 403);
    assert_eq!(send(&c, order(Some(WRITER))).await.0, 200);
    let answer = |method: http::Method, path: &str| {
        let req = Request::builder()
            .method(method)
            .uri(gw.url(path))
            .body(crate::support::empty())
            .expect("req");
        crate::support::send_full(&c, req)
    };
    let (parts, _) = answer(http::Method::GET, "/shop/orders").await;
    assert_eq!(parts.status, 200);
    assert!(parts.headers.contains_key("deprecation"), "{parts:?}");
    let (parts, _) = answer(http::Method::GET, "/shop/stock").await;
    assert_eq!(parts.status, 200);
    assert!(!parts.headers.contains_key("deprecation"), "{parts:?}");
    // A retired operation (keyed by method and path) answers 410 with its successor.
    let (parts, _) = answer(http::Method::DELETE, "/shop/orders/7").await;
    assert_eq!(parts.status, 410);
    assert!(
        parts
            .headers
            .get("link")
            .is_some_and(|l| l.to_str().unwrap_or("").contains("/v2/orders")),
        "{parts:?}"
    );
    // Operations without limits of their own share the route's counter: spend it on
    // `/stock`, and `listOrders` is refused too.
    let mut spent = false;
    for _ in 0..10 {
        if get(&c, &gw.url("/shop/stock")).await.0 == 429 {
            spent = true;
            break;
        }
    }
    assert!(spent, "the route's limit of 8 a minute never answered 429");
    assert_eq!(get(&c, &gw.url("/shop/orders")).await.0, 429);
    // `getOrder` has its own limit, counted apart from the route's; the document still checks
    // its parameters (the operation found after routing is the one the stage checks).
    let (st, body) = get(&c, &gw.url("/shop/orders/abc")).await;
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("path/id"), "{body}");
    assert_eq!(get(&c, &gw.url("/shop/orders/7")).await.0, 200);
    assert_eq!(get(&c, &gw.url("/shop/orders/7")).await.0, 200);
    assert_eq!(get(&c, &gw.url("/shop/orders/7")).await.0, 429);
    // Logs keep the route's name and tell the operations apart.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = gw.access_log();
    assert!(log.iter().all(|r| r["route"] == "shop"), "{log:?}");
    for want in ["createOrder", "listOrders", "getOrder"] {
        assert!(
            log.iter().any(|r| r["operation"] == want),
            "{want}: {log:?}"
        );
    }
    // `bytes_in` counts a body's bytes ("{}"), and is 0 without one.
    let written = log
        .iter()
        .find(|r| r["operation"] == "createOrder" && r["status"] == 200)
        .expect("the accepted order's line");
    assert_eq!(written["bytes_in"], 2, "{written}");
    let read = log
        .iter()
        .find(|r| r["operation"] == "listOrders")
        .expect("a listOrders line");
    assert_eq!(read["bytes_in"], 0, "{read}");
    // The input checks' decisions are counted with authentication's. Each operation has
    // series of its own besides the route's, whichever stage answered (401 and 403 by the
    // identity stages, 410 for the retired one, 429 by the limit).
    let metrics = gw.metrics().await;
    for want in [
        "portcullis_security_decisions_total{stage=\"openapi\",outcome=\"valid\"}",
        "portcullis_security_decisions_total{stage=\"authz\",outcome=\"denied\"}",
        "portcullis_openapi_operation_requests_total{route=\"shop\",operation=\"createOrder\",status=\"401\"} 1",
        "portcullis_openapi_operation_requests_total{route=\"shop\",operation=\"createOrder\",status=\"403\"} 1",
        "portcullis_openapi_operation_requests_total{route=\"shop\",operation=\"createOrder\",status=\"200\"} 1",
        "portcullis_openapi_operation_requests_total{route=\"shop\",operation=\"getOrder\",status=\"429\"} 1",
        "portcullis_openapi_operation_requests_total{route=\"shop\",operation=\"DELETE /orders/{id}\",status=\"410\"} 1",
        "portcullis_openapi_operation_request_duration_seconds_count{route=\"shop\",operation=\"getOrder\"} 4",
    ] {
        assert!(metrics.contains(want), "{want}: {metrics}");
    }
    assert!(
        metrics.contains("portcullis_http_requests_total{route=\"shop\",status=\"200\"}"),
        "{metrics}"
    );
    // An operation the document does not have is a config error at its key.
    let (passed, out, err) = crate::support::check_config(
        &dir.join("bad-ops.yaml"),
        &format!(
            "listeners: [{{ name: m, bind: \"127.0.0.1:1\" }}]\nroutes:\n  - name: a\n    match: {{ path_prefix: / }}\n    auth: none\n    direct: {{ status: 200 }}\n    openapi:\n      file: \"{doc}\"\n      operations:\n        removeOrder: {{ timeout: 1s }}\n        \"GET /orders/{{id}}\": {{ timeout: 1s }}\n        getOrder: {{ timeout: 2s }}\n",
            doc = doc.display()
        ),
    );
    let text = err + &out;
    assert!(!passed);
    assert!(
        text.contains("bad-ops.yaml:10: routes[0].openapi.operations.removeOrder"),
        "{text}"
    );
    // One operation listed under its id and under its method and path.
    assert!(
        text.contains("bad-ops.yaml:12: routes[0].openapi.operations.getOrder")
            && text.contains("listed a second time"),
        "{text}"
    );
}

/// A valid user of about 2 KiB.
static LONG_USER: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!(r#"{{"id":10,"name":"{}"}}"#, "x".repeat(2000)));

/// An upstream whose answers the response check is tested on: `/api/users/N` answers as the
/// match below says, whatever the method.
async fn response_upstream() -> crate::support::TestServer {
    crate::support::start_http(|req: Request<hyper::body::Incoming>| async move {
        let n = req.uri().path().rsplit('/').next().unwrap_or("").to_owned();
        let seen_ae = req
            .headers()
            .get("accept-encoding")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned();
        let (status, ct, body, extra): (u16, &str, &str, Option<(&str, &str)>) = match n.as_str() {
            "1" => (
                200,
                "application/json",
                r#"{"id":1,"name":"ann"}"#,
                Some(("x-rate", "5")),
            ),
            // A field the description does not have, and a type it does not allow.
            "2" => (
                200,
                "application/json",
                r#"{"id":"two","name":"bob","password_hash":"$argon2id$secret"}"#,
                Some(("x-rate", "5")),
            ),
            "3" => (404, "application/json", r#"{"error":"no such user"}"#, None),
            "4" => (
                500,
                "text/html",
                "<pre>Traceback: db password=hunter2</pre>",
                None,
            ),
            "5" => (200, "text/html", "<p>hi</p>", Some(("x-rate", "5"))),
            // The required header is missing.
            "6" => (200, "application/json", r#"{"id":6,"name":"eve"}"#, None),
            // Compressed: passed unchecked.
            "7" => (
                200,
                "application/json",
                "\u{1f}\u{8b}not-really-gzip",
                Some(("content-encoding", "gzip")),
            ),
            "9" => (304, "application/json", "", None),
            // Valid, and about 2 KiB long.
            "10" => (
                200,
                "application/json",
                LONG_USER.as_str(),
                Some(("x-rate", "5")),
            ),
            _ => (200, "application/json", "{not json", Some(("x-rate", "5"))),
        };
        let mut r = http::Response::new(full(body.to_owned()));
        *r.status_mut() = http::StatusCode::from_u16(status).expect("status");
        r.headers_mut()
            .insert("content-type", ct.parse().expect("hv"));
        r.headers_mut()
            .insert("x-seen-accept-encoding", seen_ae.parse().expect("hv"));
        if let Some((k, v)) = extra {
            r.headers_mut().insert(k, v.parse().expect("hv"));
            if k == "content-encoding" {
                r.headers_mut().insert("x-rate", "5".parse().expect("hv"));
            }
        }
        Ok::<_, std::convert::Infallible>(r)
    })
    .await
}

#[tokio::test]
async fn openapi_responses_are_checked_in_block_and_detect_modes() {
    let up = response_upstream().await;
    let (_dir, doc) = openapi_doc(
        "openapi-responses",
        r##"openapi: 3.1.0
info: { title: users, version: "1" }
paths:
  /users/{id}:
    get:
      operationId: getUser
      parameters:
        - { name: id, in: path, required: true, schema: { type: integer } }
      responses:
        "200":
          description: a user
          headers:
            X-Rate: { required: true, schema: { type: integer } }
          content:
            application/json:
              schema: { $ref: "#/components/schemas/User" }
        4XX:
          description: an error
          content:
            application/json:
              schema: { type: object, required: [error], properties: { error: { type: string } } }
components:
  schemas:
    User:
      type: object
      additionalProperties: false
      required: [id, name]
      properties: { id: { type: integer }, name: { type: string } }
"##,
    );
    let yaml = format!(
        r#"{BASE}upstreams: {{ users: {{ targets: ["{a}"] }} }}
routes:
  - name: block
    match: {{ path_prefix: /api/ }}
    auth: none
    upstream: users
    openapi: {{ file: "{doc}", base_path: /api, responses: block }}
  - name: detect
    match: {{ path_prefix: /watch/ }}
    auth: none
    upstream: users
    openapi: {{ file: "{doc}", base_path: /watch, responses: detect }}
  - name: small
    match: {{ path_prefix: /small/ }}
    auth: none
    upstream: users
    body_inspection: {{ max_bytes: 1KiB }}
    openapi: {{ file: "{doc}", base_path: /small, responses: block }}
  - name: skip
    match: {{ path_prefix: /skip/ }}
    auth: none
    upstream: users
    body_inspection: {{ max_bytes: 1KiB, larger: skip }}
    openapi: {{ file: "{doc}", base_path: /skip, responses: block }}
"#,
        a = up.addr,
        doc = doc.display()
    );
    let gw = Gateway::start(&yaml).await;
    let c = plain_client();
    // Described answers pass whole: a 200 and an error under `4XX`. The upstream is asked
    // for an uncompressed answer, whatever the client accepts.
    let req = Request::get(gw.url("/api/users/1"))
        .header("accept-encoding", "gzip, br")
        .body(crate::support::empty())
        .expect("req");
    let resp = c.request(req).await.expect("response");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-seen-accept-encoding"], "identity");
    let (st, body) = get(&c, &gw.url("/api/users/1")).await;
    assert_eq!((st, body.as_str()), (200, r#"{"id":1,"name":"ann"}"#));
    let (st, body) = get(&c, &gw.url("/api/users/3")).await;
    assert_eq!((st, body.as_str()), (404, r#"{"error":"no such user"}"#));
    // What does not match is replaced by 502 problem+json, and nothing of it leaks.
    for (n, pointers) in [
        ("2", &["body/id", "body", "additionalProperties"][..]),
        ("4", &["status", "undescribed"][..]),
        ("5", &["body", "contentType"][..]),
        ("6", &["header/x-rate", "required"][..]),
        ("8", &["body", "json"][..]),
    ] {
        let (st, body) = get(&c, &gw.url(&format!("/api/users/{n}"))).await;
        assert_eq!(st, 502, "{n}: {body}");
        assert!(
            body.contains("urn:portcullis:problem:invalid_response") && body.contains("request_id"),
            "{n}: {body}"
        );
        for secret in ["argon2", "hunter2", "Traceback", "bob"] {
            assert!(!body.contains(secret), "{n}: {body}");
        }
        let id = serde_json::from_str::<serde_json::Value>(&body).expect("problem")["request_id"]
            .as_str()
            .expect("request id")
            .to_owned();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let err = gw.stderr();
        let line = err
            .lines()
            .find(|l| l.contains("does not match the API description") && l.contains(&id))
            .unwrap_or_else(|| panic!("{n}: no event for {id} in:\n{err}"));
        for p in pointers {
            assert!(line.contains(p), "{n}: {p}: {line}");
        }
        assert!(
            !line.contains("argon2") && !line.contains("hunter2"),
            "{line}"
        );
    }
    // A body compressed all the same cannot be read: refused in block mode (the route does
    // not forward bodies it cannot inspect), passed in detect mode; both log it.
    let (st, body) = get(&c, &gw.url("/api/users/7")).await;
    assert_eq!(st, 502, "{body}");
    assert_eq!(get(&c, &gw.url("/watch/users/7")).await.0, 200);
    // A HEAD answer has no body to check (this one's would not parse), and a 304 needs no
    // description.
    let head = Request::head(gw.url("/api/users/8"))
        .body(crate::support::empty())
        .expect("req");
    assert_eq!(send(&c, head).await.0, 200);
    assert_eq!(get(&c, &gw.url("/api/users/9")).await.0, 304);
    // An answer longer than the inspection cap cannot be checked: refused in block mode,
    // passed whole where the route forwards bodies it cannot inspect.
    let (st, body) = get(&c, &gw.url("/api/users/10")).await;
    assert_eq!((st, body.len()), (200, LONG_USER.len()));
    let (st, body) = get(&c, &gw.url("/small/users/10")).await;
    assert_eq!(st, 502, "{body}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        gw.stderr()
            .lines()
            .any(|l| l.contains("does not match the API description") && l.contains("too_large")),
        "no event for the unread answer"
    );
    let (st, body) = get(&c, &gw.url("/skip/users/10")).await;
    assert_eq!((st, body.as_str()), (200, LONG_USER.as_str()));
    // Detect mode passes the answer on, and logs what block mode would have done.
    let (st, body) = get(&c, &gw.url("/watch/users/2")).await;
    assert_eq!(st, 200, "{body}");
    assert!(body.contains("password_hash"), "{body}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let d = decisions(&gw);
    for want in [
        "openapi_response:valid",
        "openapi_response:invalid_response",
        "openapi_response:would_block",
        "openapi_response:encoded",
        "openapi_response:not_modified",
        "openapi_response:too_large",
    ] {
        assert!(d.iter().any(|x| x == want), "{want}: {d:?}");
    }
    assert_eq!(
        d.iter()
            .filter(|x| *x == "openapi_response:invalid_response")
            .count(),
        5,
        "{d:?}"
    );
}

#[tokio::test]
async fn openapi_route_group_positive_model() {
    let up = start_upstream("backend").await;
    let (dir, doc) = openapi_doc(
        "openapi",
        r##"openapi: 3.1.0
info: { title: shop, version: "1" }
servers: [{ url: /api }]
paths:
  /orders/{id}:
    get:
      operationId: getOrder
      parameters:
        - { name: id, in: path, required: true, schema: { type: integer, minimum: 1 } }
        - { name: fields, in: query, schema: { type: string, enum: [short, full] } }
        - { name: filter, in: query, style: deepObject, schema: { type: object, additionalProperties: false, properties: { min: { type: integer } } } }
  /upload:
    post:
      requestBody:
        content:
          multipart/form-data:
            schema:
              type: object
              required: [title]
              properties: { title: { type: string, maxLength: 8 }, file: { type: string } }
            encoding: { file: { contentType: "text/plain, text/markdown" } }
  /orders:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: { $ref: "#/components/schemas/Order" }
  /login:
    post:
      operationId: login
      requestBody:
        content:
          application/x-www-form-urlencoded:
            schema:
              type: object
              required: [user]
              additionalProperties: false
              properties: { user: { type: string }, age: { type: integer } }
components:
  schemas:
    Order:
      type: object
      required: [item]
      properties: { item: { type: string, maxLength: 20 }, qty: { type: [integer, "null"] } }
"##,
    );
    let yaml = format!(
        r#"{BASE}upstreams: {{ backend: {{ targets: ["{a}"] }} }}
routes:
  - name: api
    match: {{ path_prefix: /api/ }}
    auth: none
    upstream: backend
    openapi: {{ file: "{doc}" }}
"#,
        a = up.addr,
        doc = doc.display()
    );
    let gw = Gateway::start(&yaml).await;
    let c = plain_client();
    assert_eq!(get(&c, &gw.url("/api/orders/7?fields=full")).await.0, 200);
    let (st, body) = get(&c, &gw.url("/api/orders/0")).await;
    assert_eq!(st, 400, "{body}");
    assert!(
        body.contains("path/id") && body.contains("minimum"),
        "{body}"
    );
    assert_eq!(get(&c, &gw.url("/api/orders/7?fields=all")).await.0, 400);
    // Parameters are read by their style: deepObject here.
    assert_eq!(get(&c, &gw.url("/api/orders/7?filter[min]=3")).await.0, 200);
    let (st, body) = get(&c, &gw.url("/api/orders/7?filter[min]=x&filter[max]=9")).await;
    assert_eq!(st, 400, "{body}");
    assert!(
        body.contains("query/filter/min") && body.contains("additionalProperties"),
        "{body}"
    );
    assert!(!body.contains("\"x\""), "values never listed: {body}");
    // Multipart bodies: validated by their schema, and read strictly.
    let mp = "multipart/form-data; boundary=zz";
    let part = |title: &str| {
        format!(
            "--zz\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n{title}\r\n--zz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhello\r\n--zz--\r\n"
        )
    };
    assert_eq!(
        send(&c, post(gw.url("/api/upload"), mp, part("notes")))
            .await
            .0,
        200
    );
    let (st, body) = send(&c, post(gw.url("/api/upload"), mp, part("far too long"))).await;
    assert_eq!(st, 422, "{body}");
    assert!(
        body.contains("/title") && body.contains("maxLength"),
        "{body}"
    );
    // The encoding map: `file` takes text parts only (none declared counts as text/plain).
    let exe = part("notes").replace(
        "filename=\"a.txt\"\r\n",
        "filename=\"a.exe\"\r\nContent-Type: application/x-msdownload\r\n",
    );
    let (st, body) = send(&c, post(gw.url("/api/upload"), mp, exe)).await;
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("application/x-msdownload"), "{body}");
    let smuggled = format!("junk\r\n{}", part("notes"));
    let (st, body) = send(&c, post(gw.url("/api/upload"), mp, smuggled)).await;
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("boundary"), "{body}");
    // Undescribed operations are refused.
    assert_eq!(get(&c, &gw.url("/api/admin")).await.0, 404);
    let (st, _) = send(&c, post(gw.url("/api/orders/7"), "application/json", "{}")).await;
    assert_eq!(st, 405);
    let ok = r#"{"item":"tea","qty":null}"#;
    assert_eq!(
        send(&c, post(gw.url("/api/orders"), "application/json", ok))
            .await
            .0,
        200
    );
    let (st, body) = send(
        &c,
        post(gw.url("/api/orders"), "application/json", r#"{"qty":"x"}"#),
    )
    .await;
    assert_eq!(st, 422, "{body}");
    assert!(body.contains("/item") && body.contains("/qty"), "{body}");
    // Form bodies are typed by their schema and validated.
    let form = "application/x-www-form-urlencoded";
    assert_eq!(
        send(&c, post(gw.url("/api/login"), form, "user=ann&age=30"))
            .await
            .0,
        200
    );
    let (st, body) = send(&c, post(gw.url("/api/login"), form, "user=ann&age=old")).await;
    assert_eq!(st, 422, "{body}");
    assert!(body.contains("/age") && body.contains("type"), "{body}");
    // The access log names the operation: its operationId, or method and template.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ops: Vec<String> = gw
        .access_log()
        .iter()
        .filter_map(|r| r["operation"].as_str().map(str::to_owned))
        .collect();
    for want in ["getOrder", "POST /orders", "login"] {
        assert!(ops.iter().any(|o| o == want), "{want}: {ops:?}");
    }
    // A broken document is a config error naming the file.
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "openapi: 2.0\npaths: {}\n").expect("write");
    let (passed, out, err) = crate::support::check_config(
        &dir.join("bad-config.yaml"),
        "listeners: [{ name: m, bind: \"127.0.0.1:1\" }]\nroutes:\n  - { name: a, match: { path_prefix: / }, auth: none, direct: { status: 200 }, openapi: { file: bad.yaml } }\n",
    );
    let text = err + &out;
    assert!(!passed);
    assert!(
        text.contains("routes[0].openapi.file") && text.contains("3.0.x or 3.1.x"),
        "{text}"
    );
}
