//! Connection protection: body size (declared and streamed), URI length, header size and
//! count, slowloris header-read timeout, idle timeout, max connections.

use std::time::Duration;

use bytes::Bytes;
use http::Request;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{
    Gateway, eventually, get, plain_client, raw, send, start_upstream, status_of,
};

async fn gateway() -> (Gateway, crate::support::Upstream) {
    let up = start_upstream("u").await;
    let yaml = format!(
        r#"
listeners:
  - name: main
    bind: "127.0.0.1:{{PORT}}"
    limits:
      max_connections: 5
      header_read_timeout: 500ms
      idle_timeout: 700ms
      max_header_bytes: 8KiB
      max_headers: 20
      max_uri_length: 256
      max_body_bytes: 1KiB
admin: {{ bind: "127.0.0.1:{{ADMIN}}" }}
upstreams:
  u: {{ targets: ["{a}"] }}
routes:
  # Limits on (set too high to trigger): slow-client protection must hold with them.
  - {{ name: r, auth: none, match: {{ path_prefix: / }}, upstream: u, rate_limits: [{{ requests: 100000, per: 1s }}], concurrency: {{ max: 1000 }} }}
  - {{ name: big, auth: none, match: {{ path_prefix: /big }}, upstream: u, max_body_bytes: 64KiB }}
"#,
        a = up.addr
    );
    (Gateway::start(&yaml).await, up)
}

#[tokio::test]
async fn rejects_large_bodies_declared_or_streamed() {
    let (gw, up) = gateway().await;
    let c = plain_client();
    let r = Request::post(gw.url("/upload"))
        .body(crate::support::full(vec![b'x'; 2048]))
        .expect("req");
    let (st, body) = send(&c, r).await;
    assert_eq!(st, 413, "{body}");
    assert!(body.contains("payload_too_large"));
    // Chunked with no declared length: caught while streaming.
    let chunks: Vec<Result<http_body::Frame<Bytes>, hyper::Error>> = (0..8)
        .map(|_| Ok(http_body::Frame::data(Bytes::from(vec![b'y'; 512]))))
        .collect();
    let stream = http_body_util::StreamBody::new(futures_util::stream::iter(chunks));
    let r = Request::post(gw.url("/upload"))
        .body(http_body_util::BodyExt::boxed(stream))
        .expect("req");
    let (st, _) = send(&c, r).await;
    assert_eq!(st, 413);
    // A route may raise the limit.
    let r = Request::post(gw.url("/big"))
        .body(crate::support::full(vec![b'x'; 4096]))
        .expect("req");
    let (st, body) = send(&c, r).await;
    assert_eq!(st, 200);
    assert!(body.contains("\"body_len\":4096"));
    drop(up);
}

#[tokio::test]
async fn rejects_long_uris_and_oversized_headers() {
    let (gw, _up) = gateway().await;
    let c = plain_client();
    let long = format!("/a?{}", "q".repeat(400));
    assert_eq!(get(&c, &gw.url(&long)).await.0, 414);
    let mut req = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    req.extend_from_slice(format!("x-big: {}\r\n\r\n", "v".repeat(10_000)).as_bytes());
    let out = raw(gw.port, &req, Duration::from_secs(3)).await;
    assert_eq!(status_of(&out), 431, "{}", String::from_utf8_lossy(&out));
    let mut req = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..40 {
        req.extend_from_slice(format!("x-h{i}: v\r\n").as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    let out = raw(gw.port, &req, Duration::from_secs(3)).await;
    assert_eq!(status_of(&out), 431, "{}", String::from_utf8_lossy(&out));
}

#[tokio::test]
async fn closes_slowloris_and_idle_connections() {
    let (gw, _up) = gateway().await;
    // Slowloris: headers never finish.
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", gw.port))
        .await
        .expect("connect");
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .expect("write");
    let start = tokio::time::Instant::now();
    let mut buf = Vec::new();
    let r = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    assert!(r.is_ok(), "slow connection was not closed");
    assert!(start.elapsed() < Duration::from_secs(3));
    // Idle keep-alive connection is closed after idle_timeout.
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", gw.port))
        .await
        .expect("connect");
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut first = vec![0u8; 4096];
    let n = s.read(&mut first).await.expect("read");
    assert_eq!(status_of(&first[..n]), 200);
    let start = tokio::time::Instant::now();
    let mut rest = Vec::new();
    let r = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest)).await;
    assert!(r.is_ok(), "idle connection was not closed");
    assert!(start.elapsed() >= Duration::from_millis(400));
}

#[tokio::test]
async fn caps_concurrent_connections() {
    let (gw, _up) = gateway().await;
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(
            tokio::net::TcpStream::connect(("127.0.0.1", gw.port))
                .await
                .expect("connect"),
        );
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The sixth is closed at accept without an answer.
    let out = raw(
        gw.port,
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_secs(2),
    )
    .await;
    assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let out = raw(
        gw.port,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(3),
    )
    .await;
    assert_eq!(status_of(&out), 200);
    let m = gw.metrics().await;
    assert!(
        m.contains("portcullis_listener_rejected_connections_total{listener=\"main\"}"),
        "{m}"
    );
}

/// IP lists: a route's deny file refuses the client with 403 until the file changes (the
/// watcher reloads on list-file changes too); a listener's deny list closes connections before
/// reading anything.
#[tokio::test]
async fn ip_lists_refuse_routes_and_connections_and_follow_their_files() {
    let dir = crate::support::temp_dir("iplist");
    let list = dir.join("deny.txt");
    std::fs::write(
        &list,
        "# test list\n192.0.2.0/24\n127.0.0.1   # this client\n",
    )
    .expect("write");
    let yaml = format!(
        "{}reload: {{ interval: 100ms }}\nroutes:\n  - {{ name: r, match: {{ path_prefix: / }}, auth: none, ip_filter: {{ deny_files: [\"{}\"] }}, direct: {{}} }}\n",
        crate::support::BASE,
        list.display()
    );
    let gw = Gateway::start(&yaml).await;
    let c = plain_client();
    let (st, body) = get(&c, &gw.url("/x")).await;
    assert_eq!(st, 403, "{body}");
    std::fs::write(&list, "192.0.2.0/24\n").expect("write");
    let passed = eventually(100, || async { get(&c, &gw.url("/x")).await.0 == 200 }).await;
    assert!(
        passed,
        "the list file change was not picked up:\n{}",
        gw.stderr()
    );
    assert!(gw.stderr().contains("address refused"), "{}", gw.stderr());

    // A listener that refuses loopback: the connection closes without an answer.
    let yaml = "listeners: [{ name: main, bind: \"127.0.0.1:{PORT}\", ip_filter: { allow: [\"10.0.0.0/8\"] } }]\nadmin: { bind: \"127.0.0.1:{ADMIN}\" }\nroutes:\n  - { name: r, match: { path_prefix: / }, auth: none, direct: {} }\n";
    let gw = Gateway::start(yaml).await;
    // The refusal may reach the client as an orderly close or a reset, before or after its
    // write: either way nothing comes back.
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", gw.port))
        .await
        .expect("connect");
    let _ = s
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await;
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut got)).await;
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
}
