//! HTTP/2 downstream (h2c prior knowledge), gRPC over h2c with trailers intact, and WebSocket
//! upgrades proxied end to end.

use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{HeaderMap, Request, Response};
use http_body::Frame;
use http_body_util::BodyExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use crate::support::{BASE, Gateway, full, h2c_client, send_full, start_upstream};

/// A gRPC-like h2c server: echoes the request body in a length-prefixed message and ends with
/// `grpc-status` trailers.
async fn start_grpc_upstream() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let svc =
                    hyper::service::service_fn(|req: Request<hyper::body::Incoming>| async move {
                        let te = req
                            .headers()
                            .get("te")
                            .map(|v| v.to_str().unwrap_or("").to_owned())
                            .unwrap_or_default();
                        let body = req
                            .into_body()
                            .collect()
                            .await
                            .map(|c| c.to_bytes())
                            .unwrap_or_default();
                        let mut trailers = HeaderMap::new();
                        trailers.insert("grpc-status", "0".parse().expect("hv"));
                        trailers.insert("grpc-message", "ok".parse().expect("hv"));
                        trailers.insert("x-te-seen", te.parse().expect("hv"));
                        let frames: Vec<Result<Frame<Bytes>, std::convert::Infallible>> =
                            vec![Ok(Frame::data(body)), Ok(Frame::trailers(trailers))];
                        let body =
                            http_body_util::StreamBody::new(futures_util::stream::iter(frames));
                        let mut resp = Response::new(body);
                        resp.headers_mut()
                            .insert("content-type", "application/grpc".parse().expect("hv"));
                        Ok::<_, std::convert::Infallible>(resp)
                    });
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    (addr, task)
}

#[tokio::test]
async fn proxies_grpc_over_h2c_with_trailers() {
    let (addr, task) = start_grpc_upstream().await;
    let yaml = format!(
        r#"
{BASE}upstreams:
  grpc: {{ protocol: h2c, targets: ["{addr}"] }}
routes:
  - {{ name: g, auth: none, match: {{ path_prefix: /pkg.Service/ }}, upstream: grpc }}
"#
    );
    let gw = Gateway::start(&yaml).await;
    let c = h2c_client();
    let msg = b"\x00\x00\x00\x00\x05hello".to_vec();
    let req = Request::post(gw.url("/pkg.Service/Echo"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(full(msg.clone()))
        .expect("req");
    let resp = tokio::time::timeout(Duration::from_secs(10), c.request(req))
        .await
        .expect("timeout")
        .expect("request");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), http::Version::HTTP_2);
    let collected = resp.into_body().collect().await.expect("body");
    let trailers = collected.trailers().cloned().expect("trailers arrived");
    assert_eq!(collected.to_bytes().as_ref(), msg.as_slice());
    assert_eq!(trailers["grpc-status"], "0");
    assert_eq!(trailers["grpc-message"], "ok");
    assert_eq!(trailers["x-te-seen"], "trailers");
    task.abort();
}

#[tokio::test]
async fn serves_h2c_clients_to_http1_upstreams() {
    let up = start_upstream("u").await;
    let yaml = format!(
        r#"
{BASE}upstreams:
  u: {{ targets: ["{a}"] }}
routes:
  - {{ name: r, auth: none, match: {{ path_prefix: / }}, upstream: u }}
"#,
        a = up.addr
    );
    let gw = Gateway::start(&yaml).await;
    let c = h2c_client();
    let mut handles = Vec::new();
    for i in 0..20 {
        let c = c.clone();
        let url = gw.url(&format!("/multiplexed/{i}"));
        handles.push(tokio::spawn(async move {
            let req = Request::get(url)
                .body(crate::support::empty())
                .expect("req");
            send_full(&c, req).await
        }));
    }
    for h in handles {
        let (p, body) = h.await.expect("task");
        assert_eq!(p.status, 200);
        assert_eq!(p.version, http::Version::HTTP_2);
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(v["version"], "HTTP/1.1");
    }
}

/// HTTP/2 upstreams get the client's host (or the route's `upstream_host`) as `:authority`,
/// while the connection still goes to the target the balancer picked.
#[tokio::test]
async fn h2c_upstreams_get_the_clients_host_as_authority() {
    let up = start_upstream("u").await;
    let yaml = format!(
        r#"
{BASE}upstreams:
  u: {{ protocol: h2c, targets: ["{a}"] }}
routes:
  - {{ name: fixed, auth: none, match: {{ path_prefix: /fixed }}, upstream: u, upstream_host: "backend.internal:8443" }}
  - {{ name: r, auth: none, match: {{ path_prefix: / }}, upstream: u }}
"#,
        a = up.addr
    );
    let gw = Gateway::start(&yaml).await;
    let c = crate::support::plain_client();
    for (path, host, want) in [
        ("/a", "api.example.com", "http://api.example.com/a"),
        (
            "/b",
            "other.example.com:8080",
            "http://other.example.com:8080/b",
        ),
        (
            "/fixed/c",
            "api.example.com",
            "http://backend.internal:8443/fixed/c",
        ),
    ] {
        let req = Request::get(gw.url(path))
            .header("host", host)
            .body(crate::support::empty())
            .expect("req");
        let (p, body) = send_full(&c, req).await;
        assert_eq!(p.status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(v["version"], "HTTP/2.0", "{body}");
        assert_eq!(v["uri"], want, "{body}");
        assert!(v["headers"].get("host").is_none(), "{body}");
    }
}

#[tokio::test]
async fn proxies_websocket_upgrades() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                while let Some(Ok(msg)) = ws.next().await {
                    if msg.is_text() || msg.is_binary() {
                        if ws.send(msg).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    let yaml = format!(
        r#"
{BASE}upstreams:
  ws: {{ targets: ["{addr}"] }}
routes:
  - {{ name: ws, auth: none, match: {{ path_prefix: /ws }}, upstream: ws }}
"#
    );
    let gw = Gateway::start(&yaml).await;
    let (mut ws, resp) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/ws", gw.port)),
    )
    .await
    .expect("timeout")
    .expect("websocket handshake through the gateway");
    assert_eq!(resp.status(), 101);
    for i in 0..5 {
        let text = format!("ping {i}");
        ws.send(tokio_tungstenite::tungstenite::Message::text(text.clone()))
            .await
            .expect("send");
        let echoed = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("timeout")
            .expect("message")
            .expect("ok");
        assert_eq!(echoed.into_text().expect("text").as_str(), text);
    }
    let _ = ws.close(None).await;
    server.abort();
}
