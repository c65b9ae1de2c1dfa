//! `examples/security-suite.yaml`, the config the data-driven suites run against.

use crate::support::{Gateway, free_port, get, plain_client, repo_root, start_upstream};

#[tokio::test]
async fn suite_config_serves_open_routes_unchanged() {
    let up = start_upstream("backend").await;
    let listen = format!("127.0.0.1:{}", free_port());
    let admin_port = free_port();
    let admin = format!("127.0.0.1:{admin_port}");
    let src = std::fs::read_to_string(repo_root().join("examples/security-suite.yaml"))
        .expect("suite config");
    let corpora = repo_root().join("../shared/corpora");
    let upstream = up.addr.to_string();
    // The suite config uses environment references only; placeholders stay untouched.
    let port = listen
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .expect("port");
    let gw = Gateway::start_on(
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
    for path in ["/healthz", "/readyz", "/metrics"] {
        let (st, _) = get(&c, &format!("http://{admin}{path}")).await;
        assert_eq!(st, 200, "{path}");
    }
    drop(gw);
}
