//! TLS termination: SNI, versions, ALPN, HSTS, HTTP→HTTPS redirect, mTLS, and TLS/mTLS to
//! upstream targets.

use std::sync::Arc;
use std::time::Duration;

use http::Request;
use tokio::net::TcpListener;

use crate::support::{
    BASE, Gateway, Pki, empty, eventually, get, h1_over, h2_over, plain_client, serve_http,
    serve_on, start_upstream, temp_dir, tls_client_config, tls_connect, tls_get,
};

fn cert_cn(pem_chain: &[rustls_pki_types::CertificateDer<'_>]) -> String {
    let (_, c) = x509_parser::parse_x509_certificate(pem_chain[0].as_ref()).expect("x509");
    c.subject().to_string()
}

#[tokio::test]
async fn terminates_tls_with_sni_alpn_hsts_and_redirect() {
    let dir = temp_dir("tls");
    let pki = Pki::new(&dir, "edge");
    pki.issue("a", "a.test", &["a.test"], false);
    pki.issue("b", "wild.b.test", &["*.b.test"], false);
    let up = start_upstream("u").await;
    let yaml = format!(
        r#"
listeners:
  - name: tls
    bind: "127.0.0.1:{{PORT}}"
    tls:
      certificates:
        - {{ cert: "{d}/a.pem", key: "{d}/a.key" }}
        - {{ cert: "{d}/b.pem", key: "{d}/b.key" }}
      hsts: {{ max_age: 1day, include_subdomains: true }}
  - name: plain
    bind: "127.0.0.1:{{PORT2}}"
    redirect_https_port: 8443
admin: {{ bind: "127.0.0.1:{{ADMIN}}" }}
upstreams:
  u: {{ targets: ["{a}"] }}
routes:
  - {{ name: r, auth: none, match: {{ path_prefix: / }}, upstream: u }}
"#,
        d = dir.display(),
        a = up.addr
    );
    let gw = Gateway::start(&yaml).await;
    let v13: &[&'static rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];
    let v12: &[&'static rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];

    // SNI picks the certificate: exact, wildcard, and the default for unknown names.
    for (sni, want) in [("a.test", "CN=a.test"), ("x.b.test", "CN=wild.b.test")] {
        let cfg = tls_client_config(&pki.ca_pem, None, &[b"http/1.1"], v13);
        let s = tls_connect(gw.port, sni, cfg).await.expect("handshake");
        let certs = s.get_ref().1.peer_certificates().expect("certs").to_vec();
        assert_eq!(cert_cn(&certs), want);
        let req = Request::get("/hello")
            .header("host", sni)
            .body(empty())
            .expect("req");
        let (st, h, body) = h1_over(s, req).await.expect("h1");
        assert_eq!(st, 200, "{body}");
        assert_eq!(
            h["strict-transport-security"],
            "max-age=86400; includeSubDomains"
        );
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(v["headers"]["x-forwarded-proto"][0], "https");
    }
    // TLS 1.2 works too; ALPN h2 gives HTTP/2 to an HTTP/1.1 upstream.
    let cfg = tls_client_config(&pki.ca_pem, None, &[b"h2"], v12);
    let s = tls_connect(gw.port, "a.test", cfg)
        .await
        .expect("tls1.2 handshake");
    assert_eq!(
        s.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    assert_eq!(s.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let req = Request::get("https://a.test/h2")
        .body(empty())
        .expect("req");
    let (st, _, body) = h2_over(s, req).await.expect("h2");
    assert_eq!(st, 200);
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["version"], "HTTP/1.1");
    assert_eq!(v["headers"]["host"][0], "a.test");

    // ALPN agreed on h2, then HTTP/1.1 with a bare LF: still checked, refused, not forwarded.
    let cfg = tls_client_config(&pki.ca_pem, None, &[b"h2"], v12);
    let mut s = tls_connect(gw.port, "a.test", cfg)
        .await
        .expect("handshake");
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        s.write_all(b"GET /x HTTP/1.1\r\nHost: a.test\nX: y\r\n\r\n")
            .await
            .expect("write");
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut out)).await;
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with("HTTP/1.1 400"), "{text}");
        assert!(text.contains("LF without CR"), "{text}");
    }

    // The plain listener redirects to HTTPS.
    let port2 = gw.extra_ports[0];
    let r = Request::get(format!("http://127.0.0.1:{port2}/p?q=1"))
        .header("host", "a.test")
        .body(empty())
        .expect("req");
    let (p, _) = crate::support::send_full(&plain_client(), r).await;
    assert_eq!(p.status, 308);
    assert_eq!(p.headers["location"], "https://a.test:8443/p?q=1");
}

#[tokio::test]
async fn verifies_client_certificates() {
    let dir = temp_dir("mtls");
    let pki = Pki::new(&dir, "edge");
    pki.issue("server", "gw.test", &["gw.test"], false);
    let clients = Pki::new(&dir, "clients");
    clients.issue(
        "alice",
        "alice",
        &["spiffe://example.org/ns/prod/sa/alice"],
        true,
    );
    let rogue = Pki::new(&dir, "rogue");
    rogue.issue("mallory", "mallory", &["mallory.test"], true);
    let up = start_upstream("u").await;
    let yaml = format!(
        r#"
listeners:
  - name: mtls
    bind: "127.0.0.1:{{PORT}}"
    tls:
      certificates: [{{ cert: "{d}/server.pem", key: "{d}/server.key" }}]
      client_auth: {{ ca: "{d}/clients-ca.pem" }}
admin: {{ bind: "127.0.0.1:{{ADMIN}}" }}
upstreams:
  u: {{ targets: ["{a}"] }}
routes:
  - {{ name: r, auth: none, match: {{ path_prefix: / }}, upstream: u }}
"#,
        d = dir.display(),
        a = up.addr
    );
    let gw = Gateway::start(&yaml).await;
    let call = |client: Option<(&str, &str)>| {
        let paths = client.map(|(c, k)| (dir.join(c), dir.join(k)));
        let ca = pki.ca_pem.clone();
        let port = gw.port;
        async move {
            let client = paths.as_ref().map(|(c, k)| (c.as_path(), k.as_path()));
            tls_get(port, "gw.test", &ca, client, "/who").await
        }
    };
    // Accepted with a certificate from the client CA.
    let (st, _, _) = call(Some(("alice.pem", "alice.key")))
        .await
        .expect("request");
    assert_eq!(st, 200);
    // Rejected without one, and with one from another CA. With TLS 1.3 the server's refusal
    // can arrive after the client's handshake finished, so the request must fail either way.
    for client in [None, Some(("mallory.pem", "mallory.key"))] {
        let outcome = call(client).await.map(|(st, _, _)| st);
        assert!(
            outcome.is_err(),
            "client {client:?} was accepted: {outcome:?}"
        );
    }
    // The verified identity is on the request context (logged).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rec = gw
        .access_log()
        .into_iter()
        .find(|r| r["path"] == "/who")
        .expect("record");
    assert_eq!(rec["client_cert"], "CN=alice");
    let m = gw.metrics().await;
    assert!(m.contains("portcullis_tls_handshake_failures_total"), "{m}");
}

#[tokio::test]
async fn refuses_client_certificates_revoked_by_a_crl() {
    let dir = temp_dir("crl");
    let pki = Pki::new(&dir, "edge");
    pki.issue("server", "gw.test", &["gw.test"], false);
    let clients = Pki::new(&dir, "clients");
    clients.issue_serial("alice", "alice", &["alice.test"], true, Some(1001));
    clients.issue_serial("bob", "bob", &["bob.test"], true, Some(1002));
    // Listener 1 starts with a CRL revoking nobody; listener 2 has an expired CRL (enforced by
    // default); listener 3 the same expired CRL with `crl_expiry: ignore`.
    clients.write_crl("clients.crl", &[], false);
    clients.write_crl("expired.crl", &[], true);
    let up = start_upstream("u").await;
    let d = dir.display().to_string();
    let listener = |name: &str, port: &str, extra: &str| {
        format!(
            r#"  - name: {name}
    bind: "127.0.0.1:{{{port}}}"
    tls:
      certificates: [{{ cert: "{d}/server.pem", key: "{d}/server.key" }}]
      client_auth: {{ ca: "{d}/clients-ca.pem", {extra} }}
"#
        )
    };
    let yaml = format!(
        "listeners:\n{}{}{}admin: {{ bind: \"127.0.0.1:{{ADMIN}}\" }}\nupstreams:\n  u: {{ targets: [\"{a}\"] }}\nroutes:\n  - {{ name: r, auth: none, match: {{ path_prefix: / }}, upstream: u }}\n",
        listener("fresh", "PORT", &format!("crls: [{d}/clients.crl]")),
        listener("stale", "PORT2", &format!("crls: [{d}/expired.crl]")),
        listener(
            "lenient",
            "PORT3",
            &format!("crls: [{d}/expired.crl], crl_expiry: ignore")
        ),
        a = up.addr
    );
    let gw = Gateway::start(&yaml).await;
    let call = |port: u16, who: &'static str| {
        let (cert, key) = (
            dir.join(format!("{who}.pem")),
            dir.join(format!("{who}.key")),
        );
        let ca = pki.ca_pem.clone();
        async move {
            tls_get(port, "gw.test", &ca, Some((&cert, &key)), "/")
                .await
                .map(|(st, _, _)| st)
        }
    };
    let (fresh, stale, lenient) = (gw.port, gw.extra_ports[0], gw.extra_ports[1]);
    assert_eq!(call(fresh, "alice").await, Ok(200));
    assert_eq!(call(fresh, "bob").await, Ok(200));
    assert!(
        call(stale, "alice").await.is_err(),
        "an expired CRL is enforced"
    );
    assert_eq!(call(lenient, "alice").await, Ok(200));
    // Revoke bob: a new CRL file and a reload; alice stays in, bob is refused.
    clients.write_crl("clients.crl", &[1002], false);
    gw.signal("HUP");
    let revoked = eventually(100, || async { call(fresh, "bob").await.is_err() }).await;
    assert!(revoked, "bob is still accepted after the CRL reload");
    assert_eq!(call(fresh, "alice").await, Ok(200));
    // A CRL file that holds no CRL is a config error naming the key; the running config stays.
    std::fs::write(dir.join("clients.crl"), "not a crl\n").expect("write");
    let out = std::process::Command::new(crate::support::BIN)
        .args(["check", "--config"])
        .arg(&gw.config)
        .output()
        .expect("run check");
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success());
    assert!(
        text.contains("listeners[0].tls.client_auth.crls[0]") && text.contains("no X509 CRL"),
        "{text}"
    );
    gw.signal("HUP");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(call(fresh, "alice").await, Ok(200));
    assert!(call(fresh, "bob").await.is_err());
}

#[tokio::test]
async fn speaks_tls_and_mtls_to_upstream_targets() {
    let dir = temp_dir("uptls");
    let pki = Pki::new(&dir, "up");
    pki.issue(
        "backend",
        "backend.internal",
        &["backend.internal", "localhost"],
        false,
    );
    pki.issue(
        "gateway-client",
        "portcullis",
        &["portcullis.internal"],
        true,
    );
    // A TLS upstream that requires the gateway's client certificate.
    let server_cfg = {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::{CertificateDer, PrivateKeyDer};
        let chain: Vec<_> = CertificateDer::pem_file_iter(dir.join("backend.pem"))
            .expect("pem")
            .map(|c| c.expect("cert"))
            .collect();
        let key = PrivateKeyDer::from_pem_file(dir.join("backend.key")).expect("key");
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(pki.ca_path("up")).expect("ca") {
            roots.add(c.expect("ca")).expect("add");
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .expect("verifier");
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .expect("server cfg");
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Arc::new(cfg)
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(server_cfg);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let server = serve_on(listener, move |tcp| {
        let acceptor = acceptor.clone();
        async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let has_client_cert = tls.get_ref().1.peer_certificates().is_some();
            serve_http(tls, move |req: Request<hyper::body::Incoming>| async move {
                let body = format!(
                    "{{\"tls_upstream\":true,\"client_cert\":{has_client_cert},\"version\":\"{:?}\"}}",
                    req.version()
                );
                Ok::<_, std::convert::Infallible>(http::Response::new(crate::support::full(body)))
            })
            .await;
        }
    });
    let addr = server.addr;
    let yaml = format!(
        r#"
{BASE}upstreams:
  secure:
    targets: ["localhost:{port}"]
    tls:
      ca: "{d}/up-ca.pem"
      client_cert: "{d}/gateway-client.pem"
      client_key: "{d}/gateway-client.key"
  secure_h2:
    protocol: h2
    targets: ["localhost:{port}"]
    tls:
      ca: "{d}/up-ca.pem"
      client_cert: "{d}/gateway-client.pem"
      client_key: "{d}/gateway-client.key"
  by_ip:
    targets: ["127.0.0.1:{port}"]
    tls:
      ca: "{d}/up-ca.pem"
      server_name: backend.internal
      client_cert: "{d}/gateway-client.pem"
      client_key: "{d}/gateway-client.key"
  untrusted:
    targets: ["localhost:{port}"]
    tls:
      ca: "{d}/other-ca.pem"
routes:
  - {{ name: s, auth: none, match: {{ path_prefix: /s }}, upstream: secure }}
  - {{ name: h, auth: none, match: {{ path_prefix: /h }}, upstream: secure_h2 }}
  - {{ name: u, auth: none, match: {{ path_prefix: /u }}, upstream: untrusted }}
  - {{ name: i, auth: none, match: {{ path_prefix: /i }}, upstream: by_ip }}
"#,
        port = addr.port(),
        d = dir.display()
    );
    Pki::new(&dir, "other");
    let gw = Gateway::start(&yaml).await;
    let c = plain_client();
    let (st, body) = get(&c, &gw.url("/s")).await;
    assert_eq!(st, 200, "{body}");
    assert!(
        body.contains("\"client_cert\":true") && body.contains("HTTP/1.1"),
        "{body}"
    );
    let (st, body) = get(&c, &gw.url("/h")).await;
    assert_eq!(st, 200, "{body}");
    assert!(body.contains("HTTP/2"), "{body}");
    // Reached by IP, verified against the configured server name.
    let (st, body) = get(&c, &gw.url("/i")).await;
    assert_eq!(st, 200, "{body}");
    // A target whose certificate is not signed by the configured CA is refused.
    let (st, _) = get(&c, &gw.url("/u")).await;
    assert_eq!(st, 502);
    server.stop();
}
