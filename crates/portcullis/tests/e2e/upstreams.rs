//! Load balancing, passive ejection with retries, active health checks, circuit breaking.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::Request;
use http_body_util::BodyExt;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

use crate::support::{BASE, Gateway, empty, get, plain_client, send, start_upstream};

fn servers_of(bodies: &[String]) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for b in bodies {
        let v: serde_json::Value = serde_json::from_str(b).unwrap_or_default();
        *m.entry(v["server"].as_str().unwrap_or("?").to_owned())
            .or_default() += 1;
    }
    m
}

#[tokio::test]
async fn balances_by_weight_least_request_and_hash() {
    let a = start_upstream("a").await;
    let b = start_upstream("b").await;
    let yaml = format!(
        r#"
{BASE}upstreams:
  weighted:
    targets: [{{ address: "{a}", weight: 3 }}, {{ address: "{b}", weight: 1 }}]
  least:
    balance: least_request
    targets: ["{a}", "{b}"]
  sticky:
    balance: {{ consistent_hash: {{ header: x-user }} }}
    targets: ["{a}", "{b}"]
routes:
  - {{ name: w, auth: none, match: {{ path_prefix: /w }}, upstream: weighted }}
  - {{ name: l, auth: none, match: {{ path_prefix: /l }}, upstream: least }}
  - {{ name: s, auth: none, match: {{ path_prefix: /s }}, upstream: sticky }}
"#,
        a = a.addr,
        b = b.addr
    );
    let gw = Gateway::start(&yaml).await;
    let c = plain_client();
    let mut bodies = Vec::new();
    for _ in 0..40 {
        bodies.push(get(&c, &gw.url("/w")).await.1);
    }
    let m = servers_of(&bodies);
    assert_eq!((m.get("a"), m.get("b")), (Some(&30), Some(&10)), "{m:?}");

    let mut bodies = Vec::new();
    for _ in 0..20 {
        bodies.push(get(&c, &gw.url("/l")).await.1);
    }
    assert_eq!(servers_of(&bodies).values().sum::<usize>(), 20);

    for user in ["alice", "bob", "carol", "dave"] {
        let mut seen = Vec::new();
        for _ in 0..5 {
            let r = Request::get(gw.url("/s"))
                .header("x-user", user)
                .body(empty())
                .expect("req");
            seen.push(send(&c, r).await.1);
        }
        assert_eq!(
            servers_of(&seen).len(),
            1,
            "user {user} moved between targets"
        );
    }
}

#[tokio::test]
async fn keeps_errors_at_zero_when_a_target_dies_mid_load() {
    let a = start_upstream("a").await;
    let b = start_upstream("b").await;
    let yaml = format!(
        r#"
{BASE}upstreams:
  pool:
    targets: ["{a}", "{b}"]
    timeouts: {{ connect: 500ms, request: 5s }}
    passive: {{ consecutive_failures: 1, ejection_time: 30s }}
    retries: {{ attempts: 2, budget_percent: 50, min_retries: 20 }}
routes:
  - {{ name: r, auth: none, match: {{ path_prefix: / }}, upstream: pool }}
"#,
        a = a.addr,
        b = b.addr
    );
    let gw = Gateway::start(&yaml).await;
    let url = gw.url("/item");
    let mut tasks = Vec::new();
    for w in 0..4 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            // Fresh client per worker: new connections, like independent clients.
            let c = plain_client();
            let mut codes = Vec::new();
            for i in 0..150 {
                let (st, _) = get(&c, &format!("{url}?w={w}&i={i}")).await;
                codes.push(st);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            codes
        }));
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    b.stop(); // the target dies: connections reset, new connects refused
    let mut total = 0;
    let mut failed = 0;
    for t in tasks {
        for st in t.await.expect("worker") {
            total += 1;
            if st != 200 {
                failed += 1;
            }
        }
    }
    assert_eq!(total, 600);
    assert_eq!(
        failed, 0,
        "{failed} of {total} requests failed after a target died"
    );
    assert!(a.ctl.hits.load(Ordering::Relaxed) > 300);
    let metrics = gw.metrics().await;
    assert!(
        metrics.contains("portcullis_upstream_attempts_total"),
        "{metrics}"
    );
}

#[tokio::test]
async fn health_checks_take_targets_out_and_back() {
    let a = start_upstream("a").await;
    let b = start_upstream("b").await;
    let yaml = format!(
        r#"
{BASE}upstreams:
  pool:
    targets: ["{a}", "{b}"]
    health_check: {{ path: /healthz, interval: 100ms, timeout: 500ms, healthy_threshold: 1, unhealthy_threshold: 1 }}
routes:
  - {{ name: r, auth: none, match: {{ path_prefix: / }}, upstream: pool }}
"#,
        a = a.addr,
        b = b.addr
    );
    let gw = Gateway::start(&yaml).await;
    let c = plain_client();
    b.ctl.unhealthy.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut bodies = Vec::new();
    for _ in 0..20 {
        bodies.push(get(&c, &gw.url("/x")).await.1);
    }
    assert_eq!(
        servers_of(&bodies).get("b"),
        None,
        "unhealthy target still used"
    );
    let m = gw.metrics().await;
    assert!(
        m.contains(&format!(
            "portcullis_upstream_target_healthy{{upstream=\"pool\",target=\"{}\"}} 0",
            b.addr
        )),
        "{m}"
    );
    b.ctl.unhealthy.store(false, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut bodies = Vec::new();
    for _ in 0..20 {
        bodies.push(get(&c, &gw.url("/x")).await.1);
    }
    assert!(
        servers_of(&bodies).contains_key("b"),
        "recovered target not used"
    );
}

#[tokio::test]
async fn circuit_breaker_opens_on_failures_and_answers_503() {
    let a = start_upstream("a").await;
    let yaml = format!(
        r#"
{BASE}upstreams:
  pool:
    targets: ["{a}"]
    circuit_breaker: {{ failure_threshold: 3, open_for: 3s }}
routes:
  - {{ name: r, auth: none, match: {{ path_prefix: / }}, upstream: pool }}
"#,
        a = a.addr
    );
    let gw = Gateway::start(&yaml).await;
    let c = plain_client();
    a.ctl.failing.store(true, Ordering::Relaxed);
    for _ in 0..3 {
        assert_eq!(get(&c, &gw.url("/x")).await.0, 500);
    }
    let hits = a.ctl.hits.load(Ordering::Relaxed);
    let (st, body) = get(&c, &gw.url("/x")).await;
    assert_eq!(st, 503, "{body}");
    assert!(body.contains("no_healthy_upstream"));
    assert_eq!(
        a.ctl.hits.load(Ordering::Relaxed),
        hits,
        "open circuit still sent traffic"
    );
    a.ctl.failing.store(false, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(3200)).await;
    // Half-open: one trial succeeds and closes the circuit.
    assert_eq!(get(&c, &gw.url("/x")).await.0, 200);
    assert_eq!(get(&c, &gw.url("/x")).await.0, 200);
}

#[tokio::test]
async fn answers_502_and_504_without_internals() {
    let a = start_upstream("a").await;
    let dead = crate::support::free_port();
    let yaml = format!(
        r#"
{BASE}upstreams:
  dead:
    targets: ["127.0.0.1:{dead}"]
  slow:
    targets: ["{a}"]
    timeouts: {{ request: 200ms }}
routes:
  - {{ name: d, auth: none, match: {{ path_prefix: /dead }}, upstream: dead }}
  - {{ name: s, auth: none, match: {{ path_prefix: /slow/ }}, upstream: slow }}
"#,
        a = a.addr
    );
    let gw = Gateway::start(&yaml).await;
    let c = plain_client();
    let (st, body) = get(&c, &gw.url("/dead")).await;
    assert_eq!(st, 502);
    assert!(
        !body.contains("127.0.0.1"),
        "internal address leaked: {body}"
    );
    let (st, body) = get(&c, &gw.url("/slow/2000")).await;
    assert_eq!(st, 504, "{body}");
}

/// Idempotent requests with a small declared body are buffered and retried on another target;
/// a POST is not retried.
#[tokio::test]
async fn retries_idempotent_requests_with_small_bodies() {
    let bad = start_upstream("bad").await;
    let good = start_upstream("good").await;
    bad.ctl.failing.store(true, Ordering::Relaxed);
    let yaml = format!(
        r#"
{BASE}upstreams:
  pool:
    targets: ["{bad}", "{good}"]
    retries: {{ attempts: 1, budget_percent: 100, min_retries: 100, on_statuses: [500], max_body_bytes: 1KiB }}
routes:
  - {{ name: r, auth: none, match: {{ path_prefix: / }}, upstream: pool }}
"#,
        bad = bad.addr,
        good = good.addr
    );
    let gw = Gateway::start(&yaml).await;
    let c = plain_client();
    let body = |method: &str| {
        Request::builder()
            .method(method)
            .uri(gw.url("/doc"))
            .header("content-type", "application/json")
            .body(crate::support::full(r#"{"name":"x"}"#))
            .expect("req")
    };
    for i in 0..6 {
        let (st, text) = send(&c, body("PUT")).await;
        assert_eq!(st, 200, "PUT {i}: {text}");
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(v["server"], "good");
        assert_eq!(v["body_len"], 12, "the replayed body arrives whole");
    }
    assert!(
        bad.ctl.hits.load(Ordering::Relaxed) >= 2,
        "the failing target was tried first for some"
    );
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(send(&c, body("POST")).await.0);
    }
    assert!(
        statuses.contains(&500),
        "a POST is never retried: {statuses:?}"
    );
    // A body over max_body_bytes streams and is not retried either.
    let big = Request::builder()
        .method("PUT")
        .uri(gw.url("/doc"))
        .body(crate::support::full(vec![b'x'; 4096]))
        .expect("req");
    let _ = send(&c, big).await;
}

/// With no budget left (none earned, no minimum), a retry is refused, counted and the
/// upstream's own answer goes to the client.
#[tokio::test]
async fn refused_retries_are_counted() {
    let bad = start_upstream("bad").await;
    bad.ctl.failing.store(true, Ordering::Relaxed);
    let yaml = format!(
        r#"
{BASE}upstreams:
  pool:
    targets: ["{bad}"]
    retries: {{ attempts: 2, budget_percent: 0, min_retries: 0, on_statuses: [500] }}
routes:
  - {{ name: r, auth: none, match: {{ path_prefix: / }}, upstream: pool }}
"#,
        bad = bad.addr
    );
    let gw = Gateway::start(&yaml).await;
    let c = plain_client();
    for _ in 0..3 {
        let r = Request::get(gw.url("/x")).body(empty()).expect("req");
        assert_eq!(send(&c, r).await.0, 500);
    }
    let m = gw.metrics().await;
    assert!(
        m.contains("portcullis_upstream_retries_refused_total{route=\"r\"} 3"),
        "{m}"
    );
    assert!(
        !m.contains("portcullis_upstream_retries_total{route=\"r\"}"),
        "{m}"
    );
}

/// A raw HTTP/1.1 upstream: reads request heads (and `Content-Length` bodies) off each
/// connection and writes `reply(path)` for each. A reply of `(text, true)` closes the
/// connection after it, without saying so in the response. Counts accepted connections.
async fn raw_upstream(
    reply: fn(&str) -> (&'static str, bool),
) -> (crate::support::TestServer, Arc<AtomicUsize>) {
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let server = crate::support::serve_on(listener, move |tcp| {
        count.fetch_add(1, Ordering::SeqCst);
        async move {
            let (r, mut w) = tcp.into_split();
            let mut r = tokio::io::BufReader::new(r);
            loop {
                let mut path = None;
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    match r.read_line(&mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    if line == "\r\n" {
                        break;
                    }
                    if path.is_none() {
                        path = line.split(' ').nth(1).map(str::to_owned);
                    } else if let Some(v) =
                        line.to_ascii_lowercase().strip_prefix("content-length:")
                    {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0u8; length];
                if r.read_exact(&mut body).await.is_err() {
                    return;
                }
                let (text, close) = reply(path.as_deref().unwrap_or("/"));
                if w.write_all(text.as_bytes()).await.is_err() || close {
                    return;
                }
            }
        }
    });
    (server, accepted)
}

/// A gateway with one route to the one target `addr`.
async fn gateway_to(addr: std::net::SocketAddr) -> Gateway {
    let yaml = format!(
        r#"
{BASE}upstreams:
  u: {{ targets: ["{addr}"] }}
routes:
  - {{ name: r, auth: none, match: {{ path_prefix: / }}, upstream: u }}
"#
    );
    Gateway::start(&yaml).await
}

#[tokio::test]
async fn idle_connections_the_upstream_closed_cost_no_request() {
    // Every connection serves one response and is then closed by the upstream, as a server
    // with a short keep-alive timeout does, without `Connection: close`.
    let (up, accepted) =
        raw_upstream(|_| ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true)).await;
    let gw = gateway_to(up.addr).await;
    let c = plain_client();
    // Back to back: a GET may find its pooled connection closed only when it uses it, and is
    // then sent again on a new one.
    for i in 0..30 {
        let (st, body) = get(&c, &gw.url("/g")).await;
        assert_eq!((st, body.as_str()), (200, "ok"), "GET {i}");
    }
    // A POST is never sent twice; a connection closed while idle is noticed before use.
    for i in 0..10 {
        tokio::time::sleep(Duration::from_millis(30)).await;
        let req = Request::post(gw.url("/p"))
            .body(crate::support::full("{}"))
            .expect("req");
        let (st, body) = send(&c, req).await;
        assert_eq!((st, body.as_str()), (200, "ok"), "POST {i}");
    }
    assert!(accepted.load(Ordering::SeqCst) >= 40);
}

#[tokio::test]
async fn upstream_responses_with_bad_framing_are_refused_and_never_reused() {
    let (up, accepted) = raw_upstream(|path| match path {
        "/both" => (
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            false,
        ),
        "/coding" => ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxyz", false),
        "/lengths" => (
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nokk",
            false,
        ),
        "/badchunk" => (
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n0\r\n\r\n",
            false,
        ),
        "/extra" => (
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil",
            false,
        ),
        "/chunked" => (
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            false,
        ),
        "/eof" => ("HTTP/1.1 200 OK\r\n\r\nto the end", true),
        _ => ("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood", false),
    })
    .await;
    let gw = gateway_to(up.addr).await;
    let c = plain_client();
    for path in ["/both", "/coding", "/lengths"] {
        let (st, _) = get(&c, &gw.url(path)).await;
        assert_eq!(st, 502, "{path}");
        let (st, body) = get(&c, &gw.url("/ok")).await;
        assert_eq!((st, body.as_str()), (200, "good"), "after {path}");
    }
    // Bad chunk framing is found while the body streams: the client's response breaks off
    // (before or after its head, depending on what was flushed).
    let req = Request::get(gw.url("/badchunk"))
        .body(empty())
        .expect("req");
    let broken = match c.request(req).await {
        Err(_) => true,
        Ok(resp) => resp.into_body().collect().await.is_err(),
    };
    assert!(broken, "/badchunk must not complete");
    // Bytes past the end of a response never become the next client's response.
    let (st, body) = get(&c, &gw.url("/extra")).await;
    assert_eq!((st, body.as_str()), (200, "ok"));
    for _ in 0..3 {
        let (st, body) = get(&c, &gw.url("/ok")).await;
        assert_eq!((st, body.as_str()), (200, "good"));
    }
    let (st, body) = get(&c, &gw.url("/chunked")).await;
    assert_eq!((st, body.as_str()), (200, "abcde"));
    let (st, body) = get(&c, &gw.url("/eof")).await;
    assert_eq!((st, body.as_str()), (200, "to the end"));
    let before = accepted.load(Ordering::SeqCst);
    for _ in 0..5 {
        let (st, _) = get(&c, &gw.url("/ok")).await;
        assert_eq!(st, 200);
    }
    assert!(
        accepted.load(Ordering::SeqCst) <= before + 1,
        "clean responses keep their connection"
    );
}
