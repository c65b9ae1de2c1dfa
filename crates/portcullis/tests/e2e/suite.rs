//! `examples/security-suite.yaml`, the config the data-driven suites run against.

use std::time::Duration;

use crate::support::{
    Gateway, empty, free_port, get, plain_client, raw, repo_root, send_full, start_upstream,
    status_of,
};

/// The suite gateway with its own ports, an echo upstream, and the shared corpora.
pub(crate) async fn start_suite() -> (Gateway, crate::support::Upstream, String, String) {
    let up = start_upstream("backend").await;
    let (gw, listen, admin) = start_suite_on(&up.addr.to_string()).await;
    (gw, up, listen, admin)
}

/// The suite gateway forwarding to `upstream` (`host:port`).
pub(crate) async fn start_suite_on(upstream: &str) -> (Gateway, String, String) {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let admin_port = free_port();
    let admin = format!("127.0.0.1:{admin_port}");
    let src = repo_root().join("examples/security-suite.yaml");
    let corpora = repo_root().join("../shared/corpora");
    let gw = Gateway::start_file(
        &src,
        &[
            ("PORTCULLIS_LISTEN", listen.as_str()),
            ("PORTCULLIS_ADMIN", admin.as_str()),
            ("UPSTREAM", upstream),
            (
                "PORTCULLIS_CORPORA",
                corpora.to_str().unwrap_or("../shared/corpora"),
            ),
        ],
        port,
        admin_port,
    )
    .await;
    (gw, listen, admin)
}

#[tokio::test]
async fn suite_config_serves_open_routes_unchanged() {
    let (gw, _up, listen, admin) = start_suite().await;
    let c = plain_client();
    let (st, body) = get(&c, &format!("http://{listen}/open/items?id=1")).await;
    assert_eq!(st, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["uri"], "/open/items?id=1");
    assert_eq!(v["server"], "backend");
    let (st, _) = get(&c, &format!("http://{listen}/not-a-route")).await;
    assert_eq!(st, 404);
    // Identity rows: /key/ and /admin-only/.
    let key = |k: &'static str, path: &str| {
        http::Request::get(format!("http://{listen}{path}"))
            .header("x-api-key", k)
            .body(crate::support::empty())
            .expect("req")
    };
    let user = "pk_suite_0123456789abcdefghijklmnopqrstuv";
    let admin_key = "pk_suiteadm_0123456789abcdefghijklmnopqrst";
    let (st, body) = crate::support::send(&c, key(user, "/key/items")).await;
    assert_eq!(st, 200, "{body}");
    assert!(
        body.contains("\"x-portcullis-consumer\":[\"suite-user\"]"),
        "{body}"
    );
    assert!(!body.contains(user), "the key reached the upstream");
    assert_eq!(get(&c, &format!("http://{listen}/key/items")).await.0, 401);
    assert_eq!(
        crate::support::send(
            &c,
            key("pk_suite_0123456789abcdefghijklmnopqrstuX", "/key/x")
        )
        .await
        .0,
        401
    );
    assert_eq!(
        crate::support::send(&c, key(user, "/admin-only/x")).await.0,
        403
    );
    let (st, body) = crate::support::send(&c, key(admin_key, "/admin-only/x")).await;
    assert_eq!((st, body.as_str()), (200, "{\"admin\":true}"));
    for path in ["/healthz", "/readyz", "/metrics"] {
        let (st, _) = get(&c, &format!("http://{admin}{path}")).await;
        assert_eq!(st, 200, "{path}");
    }
    drop(gw);
}

/// Every vector of `../shared/corpora/jwt/jwt_vectors.json` (cases and RFC examples) sent as a
/// bearer token to `/jwt/` on the suite config: `accept` must get 200, `reject` 401, `either`
/// one of the two. A token that cannot travel in a header at all (a line break inside) is
/// sent raw and must get a 4xx.
#[tokio::test]
async fn jwt_vectors_get_their_verdicts_through_the_gateway() {
    let (gw, _up, _listen, _admin) = start_suite().await;
    let port = gw.port;
    let path = repo_root().join("../shared/corpora/jwt/jwt_vectors.json");
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("jwt vectors")).expect("json");
    let mut cases = Vec::new();
    for c in doc["cases"].as_array().expect("cases") {
        cases.push((c["id"].as_str(), c["token"].as_str(), c["expect"].as_str()));
    }
    for c in doc["rfc_vectors"].as_array().expect("rfc_vectors") {
        cases.push((
            c["id"].as_str(),
            c["token"].as_str(),
            c["gateway_expect"].as_str(),
        ));
    }
    let mut wrong = Vec::new();
    let (mut accepted, mut rejected) = (0, 0);
    for (id, token, expect) in &cases {
        let (id, token, expect) = (
            id.expect("id"),
            token.expect("token"),
            expect.expect("expect"),
        );
        let req = format!(
            "GET /jwt/check HTTP/1.1\r\nHost: suite\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        );
        let status = status_of(&raw(port, req.as_bytes(), Duration::from_secs(5)).await);
        let unsendable = token.contains(['\r', '\n']);
        let ok = match expect {
            "accept" => status == 200,
            "reject" if unsendable => (400..500).contains(&status),
            "reject" => status == 401,
            "either" => status == 200 || status == 401,
            other => panic!("unknown expectation {other:?} in {id}"),
        };
        match status {
            200 => accepted += 1,
            _ => rejected += 1,
        }
        if !ok {
            wrong.push(format!("{id}: expected {expect}, got {status}"));
        }
    }
    eprintln!(
        "jwt vectors: {} cases, {accepted} accepted, {rejected} rejected, {} wrong",
        cases.len(),
        wrong.len()
    );
    assert!(
        cases.len() >= 56,
        "the corpus shrank: {} cases",
        cases.len()
    );
    assert!(wrong.is_empty(), "{wrong:#?}\n{}", gw.stderr());
}

/// `/limited/`: 50 requests per 10 s per client IP. The 51st gets 429 problem+json with
/// `Retry-After` and the IETF `RateLimit` headers; `/open/` is not limited.
#[tokio::test]
async fn limited_route_admits_fifty_then_answers_429() {
    let (gw, _up, listen, _admin) = start_suite().await;
    let c = plain_client();
    let limited = || {
        send_full(
            &c,
            http::Request::get(gw.url("/limited/x"))
                .body(empty())
                .expect("req"),
        )
    };
    for i in 0..50 {
        let (parts, body) = limited().await;
        assert_eq!(parts.status, 200, "request {i}: {body}");
        assert_eq!(parts.headers["ratelimit-policy"], "\"per-ip\";q=50;w=10");
        let state = parts.headers["ratelimit"]
            .to_str()
            .expect("text")
            .to_owned();
        assert!(
            state.starts_with(&format!("\"per-ip\";r={};t=", 49 - i)),
            "{state}"
        );
    }
    let (parts, body) = limited().await;
    assert_eq!(parts.status, 429, "{body}");
    assert!(
        body.contains("urn:portcullis:problem:rate_limited"),
        "{body}"
    );
    let retry: u64 = parts.headers["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!((1..=10).contains(&retry), "{retry}");
    assert!(
        parts.headers["ratelimit"]
            .to_str()
            .expect("text")
            .contains("r=0")
    );
    for _ in 0..60 {
        assert_eq!(get(&c, &format!("http://{listen}/open/x")).await.0, 200);
    }
    assert!(gw.stderr().contains("rate limited"), "{}", gw.stderr());
}
