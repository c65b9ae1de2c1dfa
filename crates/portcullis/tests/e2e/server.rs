//! The HTTP/1.1 server side: pipelining, `Expect: 100-continue`, keep-alive by version,
//! unread bodies drained or the connection closed, response framing for streamed bodies, and
//! refused heads answered as problem+json.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{Gateway, raw, start_upstream, status_of};

/// An upstream that answers every request with a chunked body of unknown length.
async fn chunked_upstream() -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = s.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.drain(..end + 4);
                        let reply = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
                        if s.write_all(reply).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    addr
}

async fn gateway() -> (Gateway, crate::support::Upstream) {
    let up = start_upstream("u").await;
    let streamed = chunked_upstream().await;
    let yaml = format!(
        r#"
listeners:
  - name: main
    bind: "127.0.0.1:{{PORT}}"
    limits: {{ max_headers: 20, header_read_timeout: 2s, idle_timeout: 1s, max_connections: 4 }}
admin: {{ bind: "127.0.0.1:{{ADMIN}}" }}
upstreams:
  u: {{ targets: ["{a}"] }}
  s: {{ targets: ["{streamed}"] }}
routes:
  - {{ name: small, auth: none, match: {{ path_prefix: /small }}, upstream: u, max_body_bytes: 16 }}
  - {{ name: stream, auth: none, match: {{ path_prefix: /stream }}, upstream: s }}
  - {{ name: r, auth: none, match: {{ path_prefix: / }}, upstream: u }}
"#,
        a = up.addr
    );
    (Gateway::start(&yaml).await, up)
}

/// Reads one response (head and a `content-length` or chunked body) from `s`.
async fn response(s: &mut TcpStream, pending: &mut Vec<u8>) -> String {
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&pending[..end + 4]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|v| v.trim().parse::<usize>().ok());
            let total = match len {
                Some(n) => Some(end + 4 + n),
                None if head.contains("transfer-encoding: chunked") => pending
                    .windows(5)
                    .position(|w| w == b"0\r\n\r\n")
                    .map(|p| p + 5),
                None => Some(end + 4),
            };
            if let Some(t) = total
                && pending.len() >= t
            {
                let out: Vec<u8> = pending.drain(..t).collect();
                return String::from_utf8_lossy(&out).into_owned();
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut chunk))
            .await
            .expect("answer in time")
            .expect("read");
        assert!(
            n > 0,
            "closed early; had {:?}",
            String::from_utf8_lossy(pending)
        );
        pending.extend_from_slice(&chunk[..n]);
    }
}

async fn connect(gw: &Gateway) -> TcpStream {
    TcpStream::connect(("127.0.0.1", gw.port))
        .await
        .expect("connect")
}

/// Whether the server closed `s` (within two seconds).
async fn closed(s: &mut TcpStream) -> bool {
    let mut rest = Vec::new();
    matches!(
        tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut rest)).await,
        Ok(Ok(_))
    )
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let (gw, _up) = gateway().await;
    let mut s = connect(&gw).await;
    let mut req = Vec::new();
    for i in 1..=3 {
        req.extend_from_slice(format!("GET /p/{i} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    }
    s.write_all(&req).await.expect("write");
    let mut pending = Vec::new();
    for i in 1..=3 {
        let r = response(&mut s, &mut pending).await;
        assert_eq!(status_of(r.as_bytes()), 200, "{r}");
        assert!(r.contains(&format!("\"uri\":\"/p/{i}\"")), "{i}: {r}");
    }
}

#[tokio::test]
async fn expect_continue_is_answered_when_the_body_is_wanted() {
    let (gw, _up) = gateway().await;
    let mut s = connect(&gw).await;
    s.write_all(b"PUT /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        .await
        .expect("write");
    let mut pending = Vec::new();
    let interim = response(&mut s, &mut pending).await;
    assert!(
        interim.starts_with("HTTP/1.1 100 Continue\r\n\r\n"),
        "{interim}"
    );
    s.write_all(b"hello").await.expect("body");
    let r = response(&mut s, &mut pending).await;
    assert_eq!(status_of(r.as_bytes()), 200, "{r}");
    assert!(r.contains("\"body_len\":5"), "{r}");
    // Refused on its head: no 100, and the connection is closed rather than left waiting
    // for a body the client was never asked for.
    let mut s = connect(&gw).await;
    s.write_all(
        b"PUT /small HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 500\r\n\r\n",
    )
    .await
    .expect("write");
    let mut pending = Vec::new();
    let r = response(&mut s, &mut pending).await;
    assert_eq!(status_of(r.as_bytes()), 413, "{r}");
    assert!(r.to_ascii_lowercase().contains("connection: close"), "{r}");
    assert!(closed(&mut s).await);
}

#[tokio::test]
async fn unread_bodies_are_drained_to_keep_the_connection() {
    let (gw, _up) = gateway().await;
    let mut s = connect(&gw).await;
    let mut req = b"POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n".to_vec();
    req.extend_from_slice(&[b'x'; 100]);
    req.extend_from_slice(b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
    s.write_all(&req).await.expect("write");
    let mut pending = Vec::new();
    let r = response(&mut s, &mut pending).await;
    assert_eq!(status_of(r.as_bytes()), 413, "{r}");
    assert!(!r.to_ascii_lowercase().contains("connection: close"), "{r}");
    let r = response(&mut s, &mut pending).await;
    assert_eq!(status_of(r.as_bytes()), 200, "{r}");
    assert!(r.contains("\"uri\":\"/after\""), "{r}");
    // Too much to drain: answered, then closed.
    let mut s = connect(&gw).await;
    s.write_all(b"POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
        .await
        .expect("write");
    let mut pending = Vec::new();
    let r = response(&mut s, &mut pending).await;
    assert_eq!(status_of(r.as_bytes()), 413, "{r}");
    assert!(closed(&mut s).await);
}

#[tokio::test]
async fn http10_connections_are_kept_only_when_asked() {
    let (gw, _up) = gateway().await;
    let out = raw(gw.port, b"GET /a HTTP/1.0\r\n\r\n", Duration::from_secs(3)).await;
    let text = String::from_utf8_lossy(&out).to_ascii_lowercase();
    assert_eq!(status_of(&out), 200, "{text}");
    assert!(text.contains("connection: close"), "{text}");
    let mut s = connect(&gw).await;
    let mut pending = Vec::new();
    for i in 0..2 {
        s.write_all(format!("GET /k/{i} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").as_bytes())
            .await
            .expect("write");
        let r = response(&mut s, &mut pending).await.to_ascii_lowercase();
        assert_eq!(status_of(r.as_bytes()), 200, "{r}");
        assert!(r.contains("connection: keep-alive"), "{r}");
    }
}

#[tokio::test]
async fn streamed_bodies_are_chunked_or_end_with_the_connection() {
    let (gw, _up) = gateway().await;
    let mut s = connect(&gw).await;
    let mut pending = Vec::new();
    for _ in 0..2 {
        s.write_all(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        let r = response(&mut s, &mut pending).await;
        let lower = r.to_ascii_lowercase();
        assert!(lower.contains("transfer-encoding: chunked"), "{r}");
        assert!(r.ends_with("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"), "{r}");
    }
    let out = raw(
        gw.port,
        b"GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        Duration::from_secs(3),
    )
    .await;
    let text = String::from_utf8_lossy(&out);
    assert!(text.ends_with("\r\n\r\nhello world"), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("connection: close"),
        "{text}"
    );
}

#[tokio::test]
async fn refused_heads_are_problems_with_a_request_id() {
    let (gw, _up) = gateway().await;
    let cases: [(&[u8], u16, &str); 3] = [
        (b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"),
        (b"GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n", 400, "bad_request"),
        (
            b"GET / HTTP/1.1\r\nA1: 1\r\nA2: 1\r\nA3: 1\r\nA4: 1\r\nA5: 1\r\nA6: 1\r\nA7: 1\r\nA8: 1\r\nA9: 1\r\nA10: 1\r\nA11: 1\r\nA12: 1\r\nA13: 1\r\nA14: 1\r\nA15: 1\r\nA16: 1\r\nA17: 1\r\nA18: 1\r\nA19: 1\r\nA20: 1\r\nA21: 1\r\n\r\n",
            431,
            "headers_too_large",
        ),
    ];
    for (req, status, slug) in cases {
        let out = raw(gw.port, req, Duration::from_secs(3)).await;
        let text = String::from_utf8_lossy(&out).to_ascii_lowercase();
        assert_eq!(status_of(&out), status, "{text}");
        assert!(
            text.contains("content-type: application/problem+json"),
            "{text}"
        );
        assert!(text.contains(slug), "{text}");
        assert!(text.contains("x-request-id: "), "{text}");
        assert!(text.contains("connection: close"), "{text}");
    }
}

#[tokio::test]
async fn a_stalled_request_body_fails_after_the_idle_timeout() {
    let (gw, up) = gateway().await;
    let mut s = connect(&gw).await;
    s.write_all(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nx")
        .await
        .expect("write");
    let started = tokio::time::Instant::now();
    let mut pending = Vec::new();
    let r = response(&mut s, &mut pending).await;
    assert!(status_of(r.as_bytes()) >= 400, "{r}");
    assert!(started.elapsed() >= Duration::from_millis(800), "{r}");
    assert!(closed(&mut s).await);
    // Nothing incomplete reached the upstream as a whole request.
    assert_eq!(up.ctl.hits.load(std::sync::atomic::Ordering::Relaxed), 0);
}

#[tokio::test]
async fn a_client_that_hangs_up_abandons_its_request() {
    let (gw, _up) = gateway().await;
    // Four slow requests whose clients hang up at once: their connection slots (four in
    // all) must come free long before the upstream would answer.
    for _ in 0..4 {
        let mut s = connect(&gw).await;
        s.write_all(b"GET /slow/4000 HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        drop(s);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let out = raw(
        gw.port,
        b"GET /now HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(3),
    )
    .await;
    assert_eq!(status_of(&out), 200, "{}", String::from_utf8_lossy(&out));
}

/// An upstream that answers as soon as it has a request head, then records everything it
/// receives on that connection until the connection ends.
async fn early_upstream() -> (
    std::net::SocketAddr,
    tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>,
) {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut chunk = [0u8; 16384];
                let mut answered = false;
                loop {
                    let n = match tokio::time::timeout(Duration::from_secs(5), s.read(&mut chunk))
                        .await
                    {
                        Ok(Ok(n)) if n > 0 => n,
                        _ => break,
                    };
                    seen.extend_from_slice(&chunk[..n]);
                    if !answered && seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        answered = true;
                        let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                        if s.write_all(reply).await.is_err() {
                            break;
                        }
                    }
                }
                let _ = tx.send(seen);
            });
        }
    });
    (addr, rx)
}

#[tokio::test]
async fn an_early_answer_cuts_the_request_body_off_upstream() {
    let (up, mut seen) = early_upstream().await;
    let yaml = format!(
        r#"
listeners:
  - name: main
    bind: "127.0.0.1:{{PORT}}"
admin: {{ bind: "127.0.0.1:{{ADMIN}}" }}
upstreams:
  e: {{ targets: ["{up}"] }}
routes:
  - {{ name: e, auth: none, match: {{ path_prefix: / }}, upstream: e }}
"#
    );
    let gw = Gateway::start(&yaml).await;
    let mut s = connect(&gw).await;
    // More than the 64 KiB the gateway reads ahead of a chunked body, so the rest streams.
    let mut first = b"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..80 {
        first.extend_from_slice(b"400\r\n");
        first.extend_from_slice(&[b'a'; 1024]);
        first.extend_from_slice(b"\r\n");
    }
    s.write_all(&first).await.expect("write");
    let mut pending = Vec::new();
    let r = response(&mut s, &mut pending).await;
    assert_eq!(status_of(r.as_bytes()), 200, "{r}");
    // The rest of the body comes after the answer.
    let _ = s.write_all(b"400\r\n").await;
    let _ = s.write_all(&[b'b'; 1024]).await;
    let _ = s.write_all(b"\r\n0\r\n\r\n").await;
    let got = tokio::time::timeout(Duration::from_secs(8), seen.recv())
        .await
        .expect("upstream connection ended")
        .expect("recorded");
    // The upstream never saw the body end cleanly: no final chunk after a partial body.
    let text = String::from_utf8_lossy(&got);
    assert!(
        !text.ends_with("\r\n0\r\n\r\n") || text.matches('b').count() == 1024,
        "the upstream saw a truncated body end cleanly ({} bytes)",
        got.len()
    );
}
