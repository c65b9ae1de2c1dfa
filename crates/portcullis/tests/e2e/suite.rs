//! `examples/security-suite.yaml`, the config the data-driven suites run against.

use crate::support::{Gateway, free_port, get, plain_client, repo_root, start_upstream};

#[tokio::test]
async fn suite_config_serves_open_routes_unchanged() {
    let up = start_upstream("backend").await;
    let listen = format!("127.0.0.1:{}", free_port());
    let admin_port = free_port();
    let admin = format!("127.0.0.1:{admin_port}");
    let src = repo_root().join("examples/security-suite.yaml");
    let corpora = repo_root().join("../shared/corpora");
    let upstream = up.addr.to_string();
    // The suite config uses environment references only; placeholders stay untouched.
    let port = listen
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .expect("port");
    let gw = Gateway::start_file(
        &src,
        &[
            ("PORTCULLIS_LISTEN", listen.as_str()),
            ("PORTCULLIS_ADMIN", admin.as_str()),
            ("UPSTREAM", upstream.as_str()),
            (
                "PORTCULLIS_CORPORA",
                corpora.to_str().unwrap_or("../shared/corpora"),
            ),
        ],
        port,
        admin_port,
    )
    .await;
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
