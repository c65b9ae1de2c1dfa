//! API keys and role-based authorization through the real gateway: header, bearer and query
//! keys, hidden credentials, identity headers upstream, spoofed identity headers stripped,
//! expired and revoked keys, 401 vs 403, and a security event for every attempt.

use std::process::Command;

use http::Request;

use crate::support::{
    BASE, BIN, Gateway, empty, plain_client, send_full, start_upstream, temp_dir,
};

pub(crate) const PEPPER: &str = "test-pepper-0123456789abcdef0123456789abcdef";
const READER_KEY: &str = "pk_reader_0123456789abcdefghijklmnopqrstuv";
const ADMIN_KEY: &str = "pk_admin__0123456789abcdefghijklmnopqrstuv";
const OLD_KEY: &str = "pk_oldkey_0123456789abcdefghijklmnopqrstuv";
const REVOKED_KEY: &str = "pk_revoked0123456789abcdefghijklmnopqrstuv";

pub(crate) fn entry(key: &str, extra: &str) -> String {
    let dir = temp_dir("pepper");
    let f = dir.join("pepper");
    std::fs::write(&f, PEPPER).expect("write");
    let mut child = Command::new(BIN)
        .args(["keys", "hash", "--pepper-file"])
        .arg(&f)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    use std::io::Write;
    writeln!(child.stdin.take().expect("stdin"), "{key}").expect("write key");
    let out = child.wait_with_output().expect("output");
    assert!(out.status.success());
    let line = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    // "- { prefix: "...", hash: "..." }" → add fields inside the braces.
    line.trim_start_matches("- ")
        .replace(" }", &format!("{extra} }}"))
}

async fn gateway() -> (Gateway, crate::support::Upstream) {
    let up = start_upstream("u").await;
    let yaml = format!(
        r#"
{BASE}identity:
  api_key_pepper: "${{env:TEST_PEPPER}}"
consumers:
  - name: reader-app
    roles: [reader]
    api_keys:
      - {reader}
      - {old}
      - {revoked}
  - name: admin-app
    roles: [admin, reader]
    api_keys: [{admin}]
upstreams:
  u: {{ targets: ["{a}"] }}
routes:
  - name: read
    match: {{ path_prefix: /read/ }}
    auth: {{ methods: [api_key], api_key: {{ header: x-api-key, bearer: true, query: api_key }} }}
    authorize: {{ roles: [reader] }}
    upstream: u
  - name: admin
    match: {{ path_prefix: /admin/ }}
    auth: {{ methods: [api_key] }}
    authorize: {{ roles: [admin] }}
    upstream: u
  - name: open
    match: {{ path_prefix: /open/ }}
    auth: none
    upstream: u
"#,
        reader = entry(READER_KEY, ""),
        old = entry(OLD_KEY, ", expires_at: \"2020-01-01T00:00:00Z\""),
        revoked = entry(REVOKED_KEY, ", revoked: true"),
        admin = entry(ADMIN_KEY, ""),
        a = up.addr,
    );
    let gw = Gateway::start_with_env(&yaml, &[("TEST_PEPPER", PEPPER)]).await;
    (gw, up)
}

fn get_with(url: &str, headers: &[(&str, &str)]) -> Request<crate::support::TestBody> {
    let mut b = Request::get(url);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(empty()).expect("req")
}

#[tokio::test]
async fn authenticates_api_keys_and_authorizes_roles() {
    let (gw, _up) = gateway().await;
    let c = plain_client();
    // Header key: allowed, credential hidden, identity forwarded, spoofed headers replaced.
    let (p, body) = send_full(
        &c,
        get_with(
            &gw.url("/read/x"),
            &[
                ("x-api-key", READER_KEY),
                ("x-portcullis-consumer", "admin-app"),
                ("x-portcullis-roles", "admin"),
            ],
        ),
    )
    .await;
    assert_eq!(p.status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert!(
        v["headers"]["x-api-key"].is_null(),
        "credential forwarded upstream"
    );
    assert_eq!(v["headers"]["x-portcullis-consumer"][0], "reader-app");
    assert_eq!(v["headers"]["x-portcullis-roles"][0], "reader");
    assert_eq!(
        v["headers"]["x-portcullis-consumer"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    // Bearer and query forms.
    let bearer = format!("Bearer {READER_KEY}");
    let (p, body) = send_full(
        &c,
        get_with(&gw.url("/read/x"), &[("authorization", &bearer)]),
    )
    .await;
    assert_eq!(p.status, 200);
    assert!(!body.contains(READER_KEY));
    let (p, body) = send_full(
        &c,
        get_with(
            &gw.url(&format!("/read/x?a=1&api_key={READER_KEY}&b=2")),
            &[],
        ),
    )
    .await;
    assert_eq!(p.status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["uri"], "/read/x?a=1&b=2");
    // Role checks: reader cannot use /admin/ (403); admin can.
    let (p, _) = send_full(
        &c,
        get_with(&gw.url("/admin/x"), &[("x-api-key", READER_KEY)]),
    )
    .await;
    assert_eq!(p.status, 403);
    let (p, _) = send_full(
        &c,
        get_with(&gw.url("/admin/x"), &[("x-api-key", ADMIN_KEY)]),
    )
    .await;
    assert_eq!(p.status, 200);
    // Public route: spoofed identity headers never reach the upstream.
    let (_, body) = send_full(
        &c,
        get_with(
            &gw.url("/open/x"),
            &[("x-portcullis-consumer", "admin-app")],
        ),
    )
    .await;
    assert!(!body.contains("x-portcullis-consumer"), "{body}");
}

#[tokio::test]
async fn refuses_missing_wrong_expired_and_revoked_keys_alike() {
    let (gw, _up) = gateway().await;
    let c = plain_client();
    let wrong = format!("{}X", &READER_KEY[..READER_KEY.len() - 1]);
    let mut bodies = Vec::new();
    for headers in [
        vec![],
        vec![("x-api-key", wrong.as_str())],
        vec![("x-api-key", OLD_KEY)],
        vec![("x-api-key", REVOKED_KEY)],
        vec![("x-api-key", "short")],
    ] {
        let (p, body) = send_full(&c, get_with(&gw.url("/read/x"), &headers)).await;
        assert_eq!(p.status, 401, "{headers:?}");
        assert!(
            p.headers["www-authenticate"]
                .to_str()
                .unwrap_or("")
                .starts_with("ApiKey")
        );
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(v["type"], "urn:portcullis:problem:unauthenticated");
        bodies.push((v["title"].clone(), v.get("detail").cloned()));
    }
    // Nothing in the answer says which part of the credential was wrong.
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    // Every attempt is a security event with its reason; no key material in the logs.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let err = gw.stderr();
    for reason in [
        "missing_credential",
        "invalid_credential",
        "expired_credential",
        "revoked_credential",
        "malformed_credential",
    ] {
        assert!(err.contains(reason), "no {reason} event in:\n{err}");
    }
    let log = std::fs::read_to_string(gw.dir.join("access.log")).unwrap_or_default();
    for secret in [READER_KEY, OLD_KEY, REVOKED_KEY, wrong.as_str()] {
        assert!(
            !err.contains(secret) && !log.contains(secret),
            "key leaked into logs"
        );
    }
    let rec = gw
        .access_log()
        .into_iter()
        .find(|r| r["status"] == 401)
        .expect("record");
    assert!(
        rec["decisions"][0]
            .as_str()
            .unwrap_or("")
            .starts_with("authn:")
    );
}

#[test]
fn generates_keys_and_refuses_weak_peppers() {
    let out = Command::new(BIN)
        .args(["keys", "generate"])
        .env("PORTCULLIS_API_KEY_PEPPER", PEPPER)
        .output()
        .expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("pk_") && text.contains("hash: \""), "{text}");
    let out = Command::new(BIN)
        .args(["keys", "generate"])
        .env("PORTCULLIS_API_KEY_PEPPER", "short")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let out = Command::new(BIN)
        .args(["keys", "generate", "--prefix", "much_too_long_"])
        .env("PORTCULLIS_API_KEY_PEPPER", PEPPER)
        .output()
        .expect("run");
    assert!(!out.status.success());
}

#[tokio::test]
async fn maps_client_certificates_to_consumers_and_roles() {
    use crate::support::{Pki, tls_get};
    use sha2::Digest;
    let dir = temp_dir("mtls-id");
    let edge = Pki::new(&dir, "edge");
    edge.issue("server", "gw.test", &["gw.test"], false);
    let clients = Pki::new(&dir, "clients");
    clients.issue(
        "alice",
        "alice",
        &["spiffe://example.org/ns/prod/sa/alice"],
        true,
    );
    clients.issue("bob", "bob", &["bob.internal"], true);
    let carol_pem = clients.issue("carol", "carol", &["carol.internal"], true);
    clients.issue("dave", "dave", &["dave.internal"], true);
    let carol_der = rustls_pki_types::pem::PemObject::from_pem_slice(carol_pem.as_bytes())
        .map(|c: rustls_pki_types::CertificateDer<'static>| c)
        .expect("der");
    let carol_fp = hex::encode(sha2::Sha256::digest(carol_der.as_ref()));
    let up = start_upstream("u").await;
    let yaml = format!(
        r#"
listeners:
  - name: mtls
    bind: "127.0.0.1:{{PORT}}"
    tls:
      certificates: [{{ cert: "{d}/server.pem", key: "{d}/server.key" }}]
      client_auth: {{ ca: "{d}/clients-ca.pem", required: false }}
admin: {{ bind: "127.0.0.1:{{ADMIN}}" }}
consumers:
  - name: alice-svc
    roles: [reader]
    mtls: [{{ san: "spiffe://example.org/ns/prod/sa/alice" }}]
  - name: bob-svc
    roles: [admin]
    mtls: [{{ subject: "CN=bob" }}]
  - name: carol-svc
    roles: [reader]
    mtls: [{{ fingerprint: "{carol_fp}" }}]
upstreams:
  u: {{ targets: ["{a}"] }}
routes:
  - name: read
    match: {{ path_prefix: /read }}
    auth: {{ methods: [mtls] }}
    authorize: {{ roles: [reader] }}
    upstream: u
  - name: admin
    match: {{ path_prefix: /admin }}
    auth: {{ methods: [mtls] }}
    authorize: {{ roles: [admin] }}
    upstream: u
"#,
        d = dir.display(),
        a = up.addr
    );
    let gw = Gateway::start(&yaml).await;
    let call = |who: Option<&'static str>, path: &'static str| {
        let dir = dir.clone();
        let ca = edge.ca_pem.clone();
        let port = gw.port;
        async move {
            let paths = who.map(|w| (dir.join(format!("{w}.pem")), dir.join(format!("{w}.key"))));
            let client = paths.as_ref().map(|(c, k)| (c.as_path(), k.as_path()));
            tls_get(port, "gw.test", &ca, client, path)
                .await
                .expect("request")
        }
    };
    let (st, _, body) = call(Some("alice"), "/read/x").await;
    assert_eq!(st, 200, "{body}");
    assert!(
        body.contains("\"x-portcullis-consumer\":[\"alice-svc\"]"),
        "{body}"
    );
    assert_eq!(call(Some("alice"), "/admin/x").await.0, 403);
    assert_eq!(call(Some("bob"), "/admin/x").await.0, 200);
    let (st, _, body) = call(Some("carol"), "/read/x").await;
    assert_eq!(st, 200, "{body}");
    assert!(body.contains("carol-svc"));
    // A certificate from the right CA that maps to no consumer, and no certificate at all.
    assert_eq!(call(Some("dave"), "/read/x").await.0, 401);
    let (st, h, _) = call(None, "/read/x").await;
    assert_eq!(st, 401);
    assert!(
        h["www-authenticate"]
            .to_str()
            .unwrap_or("")
            .starts_with("ClientCertificate")
    );
}

/// `portcullis keys hash-password` output for `password` (read from standard input).
fn basic_entry(password: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .args(["keys", "hash-password"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf8");
    assert!(text.contains("$argon2id$v=19$m=19456,t=2,p=1$"), "{text}");
    assert!(!text.contains(password), "the password is echoed");
    text.trim().to_owned()
}

#[tokio::test]
async fn basic_auth_checks_argon2id_hashes_off_the_request_thread() {
    use base64::Engine as _;
    let up = start_upstream("app").await;
    let entry = basic_entry("correct horse battery");
    let short = Command::new(BIN)
        .args(["keys", "hash-password"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run");
    assert!(!short.status.success(), "an empty password is refused");
    let yaml = format!(
        "{BASE}consumers:\n  - name: alice\n    roles: [reader]\n    {entry_user}\n\
upstreams:\n  app: {{ targets: [\"{}\"] }}\n\
routes:\n  - {{ name: r, match: {{ path_prefix: / }}, auth: {{ methods: [basic] }}, authorize: {{ roles: [reader] }}, upstream: app }}\n",
        up.addr,
        entry_user = entry.replace("USERNAME", "alice"),
    );
    let gw = Gateway::start(&yaml).await;
    let client = plain_client();
    let call = |auth: Option<String>| {
        let mut b = Request::get(gw.url("/x"));
        if let Some(a) = auth {
            b = b.header("authorization", a);
        }
        b.body(empty()).expect("req")
    };
    let basic = |up: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(up)
        )
    };
    let (parts, body) = send_full(&client, call(Some(basic("alice:correct horse battery")))).await;
    assert_eq!(parts.status, 200, "{body}");
    assert!(
        body.contains("\"x-portcullis-consumer\":[\"alice\"]"),
        "{body}"
    );
    assert!(
        !body.contains("authorization"),
        "credential forwarded: {body}"
    );
    for bad in [
        Some(basic("alice:wrong")),
        Some(basic("mallory:correct horse battery")),
        Some("Basic %%%".to_owned()),
        None,
    ] {
        let (parts, _) = send_full(&client, call(bad.clone())).await;
        assert_eq!(parts.status, 401, "{bad:?}");
        let challenge = parts
            .headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(challenge.starts_with("Basic realm="), "{challenge}");
    }
    // Concurrent checks all finish (they queue for the verifier, they do not fail).
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8 {
        let client = client.clone();
        let req = call(Some(basic(&format!("alice:guess-{i}"))));
        tasks.spawn(async move { send_full(&client, req).await.0.status });
    }
    while let Some(st) = tasks.join_next().await {
        assert_eq!(st.expect("task"), 401);
    }
    let log = gw.stderr();
    assert!(
        log.contains("malformed_credential") && log.contains("invalid_credential"),
        "{log}"
    );
    assert!(!log.contains("correct horse"), "a password reached the log");
}
