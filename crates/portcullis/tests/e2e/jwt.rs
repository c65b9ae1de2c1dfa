//! JWT bearer tokens end to end: a JWKS server started by the test rotates its keys, goes
//! down and comes back; the gateway follows, keeps stale keys, and holds `/readyz` until the
//! first key set is in.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Request, Response};
use hyper::body::Incoming;
use serde_json::json;

use crate::support::{
    BASE, Gateway, TestBody, TestServer, empty, eventually, full, plain_client, send, start_http,
    start_upstream,
};

/// An ES256 signing key with its kid.
struct SigningKey {
    kid: String,
    pair: EcdsaKeyPair,
}

impl SigningKey {
    fn new(kid: &str) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("gen");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
            .expect("pair");
        Self {
            kid: kid.to_owned(),
            pair,
        }
    }

    fn jwk(&self) -> serde_json::Value {
        let p = self.pair.public_key().as_ref();
        json!({"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": self.kid,
               "x": URL_SAFE_NO_PAD.encode(&p[1..33]), "y": URL_SAFE_NO_PAD.encode(&p[33..])})
    }

    /// This key as a static `keys:` entry of an issuer.
    fn keys_yaml(&self) -> String {
        format!(
            "keys: [{{ alg: ES256, kid: {}, jwk: '{}' }}]",
            self.kid,
            self.jwk()
        )
    }

    fn token(&self, sub: &str, roles: &[&str]) -> String {
        let now = unix_now();
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": self.kid});
        let claims = json!({"iss": "https://idp.test", "aud": "orders", "sub": sub,
            "iat": now, "exp": now + 600, "realm": {"roles": roles}, "scope": "orders:read"});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .expect("sign");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }
}

/// Seconds since the Unix epoch.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// A JWKS server whose document and availability the test controls.
struct JwksServer {
    port: u16,
    doc: Arc<Mutex<String>>,
    down: Arc<AtomicBool>,
    fetches: Arc<AtomicUsize>,
    cache_control: Arc<Mutex<Option<&'static str>>>,
    _server: TestServer,
}

impl JwksServer {
    async fn start(keys: &[&SigningKey]) -> Self {
        let doc = Arc::new(Mutex::new(String::new()));
        let down = Arc::new(AtomicBool::new(false));
        let fetches = Arc::new(AtomicUsize::new(0));
        let cache_control = Arc::new(Mutex::new(None));
        let (d, dn, f, cc) = (
            doc.clone(),
            down.clone(),
            fetches.clone(),
            cache_control.clone(),
        );
        let server = start_http(move |_req: Request<Incoming>| {
            f.fetch_add(1, Ordering::SeqCst);
            let mut r = Response::new(full(d.lock().expect("doc").clone()));
            if let Some(v) = *cc.lock().expect("cc") {
                r.headers_mut()
                    .insert("cache-control", http::HeaderValue::from_static(v));
            }
            if dn.load(Ordering::SeqCst) {
                *r.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
            }
            async move { Ok::<Response<TestBody>, Infallible>(r) }
        })
        .await;
        let s = Self {
            port: server.port(),
            doc,
            down,
            fetches,
            cache_control,
            _server: server,
        };
        s.serve(keys);
        s
    }

    fn serve(&self, keys: &[&SigningKey]) {
        let list: Vec<_> = keys.iter().map(|k| k.jwk()).collect();
        *self.doc.lock().expect("doc") = json!({ "keys": list }).to_string();
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

/// `identity:` with issuer `idp`, accepting what `SigningKey::token` issues (issuer, audience,
/// roles path); `keys` is one flow-style line, `jwks: {..}` or `keys: [..]`.
fn idp(keys: &str) -> String {
    format!(
        "identity:\n  jwt:\n    idp:\n      issuer: https://idp.test\n      audiences: [orders]\n      roles_claim: realm.roles\n      {keys}\n"
    )
}

fn config(jwks_port: u16, upstream: std::net::SocketAddr) -> String {
    let idp = idp(&format!(
        "jwks: {{ url: \"http://127.0.0.1:{jwks_port}/jwks\", allow_insecure_http: true, refresh_interval: 1h, min_refresh_interval: 200ms, timeout: 1s }}"
    ));
    format!(
        r#"{BASE}{idp}upstreams:
  app: {{ targets: ["{upstream}"] }}
routes:
  - name: orders
    match: {{ path_prefix: /orders }}
    auth:
      methods: [jwt]
      forward_claims: {{ x-portcullis-claim-roles: realm.roles, x-portcullis-claim-sub: sub }}
    authorize: {{ roles: [reader] }}
    upstream: app
"#
    )
}

fn bearer(gw: &Gateway, token: &str) -> Request<TestBody> {
    Request::get(gw.url("/orders/1"))
        .header("authorization", format!("Bearer {token}"))
        .body(empty())
        .expect("req")
}

#[tokio::test]
async fn follows_jwks_rotation_and_keeps_stale_keys_when_the_server_is_down() {
    let up = start_upstream("app").await;
    let (a, b, c) = (
        SigningKey::new("a"),
        SigningKey::new("b"),
        SigningKey::new("c"),
    );
    let jwks = JwksServer::start(&[&a]).await;
    let gw = Gateway::start(&config(jwks.port, up.addr)).await;
    let client = plain_client();

    // Key a: the identity goes upstream, the token does not; claims travel as configured and
    // a client's own copy of such a header is dropped.
    let mut req = bearer(&gw, &a.token("alice", &["reader"]));
    req.headers_mut()
        .insert("x-portcullis-claim-roles", "admin".parse().expect("hv"));
    let (st, body) = send(&client, req).await;
    assert_eq!(st, 200, "{body}");
    let seen: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(seen["headers"]["x-portcullis-consumer"][0], "alice");
    assert_eq!(seen["headers"]["x-portcullis-roles"][0], "reader");
    assert_eq!(seen["headers"]["x-portcullis-scopes"][0], "orders:read");
    assert_eq!(seen["headers"]["x-portcullis-auth-method"][0], "jwt");
    assert_eq!(
        seen["headers"]["x-portcullis-claim-roles"],
        json!(["reader"])
    );
    assert_eq!(seen["headers"]["x-portcullis-claim-sub"][0], "alice");
    assert!(seen["headers"].get("authorization").is_none(), "{body}");
    // Authenticated but without the role: 403.
    let (st, _) = send(&client, bearer(&gw, &a.token("bob", &["guest"]))).await;
    assert_eq!(st, 403);

    // Rotation: the server now publishes only b. The first token signed by b names an
    // unknown kid, the gateway refetches, and the request succeeds.
    let token_a = a.token("alice", &["reader"]);
    assert_eq!(send(&client, bearer(&gw, &token_a)).await.0, 200);
    jwks.serve(&[&b]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (st, body) = send(&client, bearer(&gw, &b.token("alice", &["reader"]))).await;
    assert_eq!(st, 200, "{body}");
    // a is gone: even a token verified (and cached) before is refused now.
    assert_eq!(send(&client, bearer(&gw, &token_a)).await.0, 401);

    // Rotation under concurrency: 16 requests with the new kid c wait for one fetch.
    jwks.serve(&[&b, &c]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = jwks.fetches();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..16 {
        let client = client.clone();
        let req = bearer(&gw, &c.token(&format!("user{i}"), &["reader"]));
        tasks.spawn(async move { send(&client, req).await.0 });
    }
    while let Some(st) = tasks.join_next().await {
        assert_eq!(st.expect("task"), 200);
    }
    assert_eq!(
        jwks.fetches() - before,
        1,
        "one fetch for 16 concurrent unknown kids"
    );

    // The JWKS server fails: known keys keep working (fresh tokens, not only cached ones),
    // unknown kids are refused without hanging.
    jwks.down.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (st, _) = send(&client, bearer(&gw, &c.token("carol", &["reader"]))).await;
    assert_eq!(st, 200);
    let d = SigningKey::new("d");
    let started = std::time::Instant::now();
    let (st, _) = send(&client, bearer(&gw, &d.token("mallory", &["reader"]))).await;
    assert_eq!(st, 401);
    assert!(started.elapsed() < Duration::from_secs(3));
    let (st, _) = send(&client, bearer(&gw, &b.token("alice", &["reader"]))).await;
    assert_eq!(st, 200, "stale keys are kept");
    assert!(gw.stderr().contains("JWKS fetch failed"), "{}", gw.stderr());

    // Back up with d: the next unknown-kid refresh picks it up.
    jwks.down.store(false, Ordering::SeqCst);
    jwks.serve(&[&d]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        send(&client, bearer(&gw, &d.token("dave", &["reader"])))
            .await
            .0,
        200
    );

    // Fetches and decisions are in the metrics.
    let metrics = gw.metrics().await;
    for line in [
        "portcullis_jwks_fetches_total{url=",
        "result=\"failure\"} ",
        "portcullis_security_decisions_total{stage=\"authn\",outcome=\"unknown_key\"} ",
        "portcullis_security_decisions_total{stage=\"authz\",outcome=\"denied\"} 1",
    ] {
        assert!(metrics.contains(line), "no {line} in:\n{metrics}");
    }
    // Every attempt is a security event with a reason code.
    let log = gw.stderr();
    for reason in ["\"success\"", "unknown_key"] {
        assert!(log.contains(reason), "no {reason} event in:\n{log}");
    }
}

/// A JWKS answer's `Cache-Control: max-age` brings the scheduled refresh forward (the config
/// says every hour): a key the IdP withdraws stops working within the max-age, with no
/// unknown `kid` to trigger a fetch.
#[tokio::test]
async fn jwks_max_age_brings_the_refresh_forward() {
    let up = start_upstream("app").await;
    let (a, b) = (SigningKey::new("a"), SigningKey::new("b"));
    let jwks = JwksServer::start(&[&a, &b]).await;
    *jwks.cache_control.lock().expect("cc") = Some("public, max-age=1");
    let gw = Gateway::start(&config(jwks.port, up.addr)).await;
    let client = plain_client();
    let token_a = a.token("alice", &["reader"]);
    assert_eq!(send(&client, bearer(&gw, &token_a)).await.0, 200);
    // The IdP withdraws a; the next scheduled refresh (about 1 s away) drops it.
    jwks.serve(&[&b]);
    let withdrawn = eventually(80, || async {
        send(&client, bearer(&gw, &token_a)).await.0 == 401
    })
    .await;
    assert!(withdrawn, "a withdrawn key still works after max-age");
    assert_eq!(
        send(&client, bearer(&gw, &b.token("bob", &["reader"])))
            .await
            .0,
        200
    );
    let before = jwks.fetches();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let scheduled = jwks.fetches() - before;
    assert!(
        (1..=4).contains(&scheduled),
        "{scheduled} fetches in 2.5 s with max-age=1"
    );
}

/// Token subjects mapped to configured consumers: the consumer's name and roles apply (so
/// consumer-keyed quotas count it), and `require_consumer` refuses unmapped subjects.
#[tokio::test]
async fn token_subjects_map_to_consumers() {
    let up = start_upstream("app").await;
    let k = SigningKey::new("k1");
    let yaml = |require: bool| {
        let issuer = idp(&k.keys_yaml()).replace(
            "      issuer: https://idp.test\n",
            &format!("      issuer: https://idp.test\n      require_consumer: {require}\n"),
        );
        format!(
            r#"{BASE}{issuer}consumers:
  - name: billing-app
    roles: [reader]
    token_subjects: [{{ issuer: idp, subject: svc-billing }}]
upstreams:
  app: {{ targets: ["{up}"] }}
routes:
  - name: orders
    match: {{ path_prefix: /orders }}
    auth: {{ methods: [jwt] }}
    authorize: {{ roles: [reader] }}
    quotas: [{{ name: daily, limit: 2, per: day }}]
    upstream: app
"#,
            up = up.addr
        )
    };
    let gw = Gateway::start(&yaml(false)).await;
    let client = plain_client();
    // No roles in the token: the consumer's role authorizes it, under the consumer's name.
    let token = k.token("svc-billing", &[]);
    let (st, body) = send(&client, bearer(&gw, &token)).await;
    assert_eq!(st, 200, "{body}");
    let seen: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(seen["headers"]["x-portcullis-consumer"][0], "billing-app");
    assert_eq!(seen["headers"]["x-portcullis-roles"][0], "reader");
    // The quota counts the consumer, whatever token it comes with.
    let other_token = k.token("svc-billing", &["reader"]);
    assert_eq!(send(&client, bearer(&gw, &other_token)).await.0, 200);
    assert_eq!(send(&client, bearer(&gw, &token)).await.0, 429);
    // An unmapped subject keeps its own name and roles.
    let (st, body) = send(&client, bearer(&gw, &k.token("alice", &["reader"]))).await;
    assert_eq!(st, 200, "{body}");
    assert!(
        body.contains("\"x-portcullis-consumer\":[\"alice\"]"),
        "{body}"
    );
    drop(gw);
    // With `require_consumer`, only mapped subjects pass.
    let gw = Gateway::start(&yaml(true)).await;
    let (st, body) = send(&client, bearer(&gw, &k.token("alice", &["reader"]))).await;
    assert_eq!(st, 401, "{body}");
    assert!(gw.stderr().contains("unknown_consumer"), "{}", gw.stderr());
    assert_eq!(send(&client, bearer(&gw, &token)).await.0, 200);
}

#[tokio::test]
async fn readiness_waits_for_the_first_key_set() {
    let up = start_upstream("app").await;
    let a = SigningKey::new("a");
    let jwks = JwksServer::start(&[&a]).await;
    jwks.down.store(true, Ordering::SeqCst);
    let gw = Gateway::start_unready(&config(jwks.port, up.addr));
    // Listening, but not ready while the key set cannot be fetched.
    let saw_unready = eventually(40, || async { gw.readyz().await == 503 }).await;
    assert!(saw_unready, "{}", gw.stderr());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(gw.readyz().await, 503);
    jwks.down.store(false, Ordering::SeqCst);
    // Failed fetches retry after 2 s, 4 s, ...: ready within a few seconds of the fix.
    gw.wait_ready().await;
    let client = plain_client();
    assert_eq!(
        send(&client, bearer(&gw, &a.token("alice", &["reader"])))
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn role_grants_scopes_and_claim_conditions_decide_after_the_token() {
    let up = start_upstream("app").await;
    let k = SigningKey::new("static-1");
    let yaml = format!(
        r#"{BASE}{idp}roles:
  reader:
    allow: [{{ groups: [catalog], methods: [GET, HEAD] }}]
  editor:
    allow: [{{ groups: [catalog] }}]
upstreams:
  app: {{ targets: ["{up}"] }}
routes:
  - name: items
    group: catalog
    match: {{ path_prefix: /items }}
    auth: {{ methods: [jwt] }}
    upstream: app
  - name: reports
    match: {{ path_prefix: /reports }}
    auth: {{ methods: [jwt] }}
    authorize:
      roles: [reader]
      scopes: [reports:read]
      claims:
        - {{ claim: tenant, equals: acme }}
    upstream: app
"#,
        idp = idp(&k.keys_yaml()),
        up = up.addr,
    );
    let gw = Gateway::start(&yaml).await;
    let client = plain_client();
    let call = |method: &str, path: &str, token: &str| {
        Request::builder()
            .method(method)
            .uri(gw.url(path))
            .header("authorization", format!("Bearer {token}"))
            .body(empty())
            .expect("req")
    };
    let reader = k.token("rita", &["reader"]);
    let editor = k.token("ed", &["editor"]);
    assert_eq!(send(&client, call("GET", "/items/1", &reader)).await.0, 200);
    assert_eq!(
        send(&client, call("DELETE", "/items/1", &reader)).await.0,
        403
    );
    assert_eq!(
        send(&client, call("DELETE", "/items/1", &editor)).await.0,
        200
    );
    // `reports` needs the scope and the claim too; the test tokens carry scope
    // `orders:read` and no tenant.
    let resp = client
        .request(call("GET", "/reports/q", &reader))
        .await
        .expect("resp");
    assert_eq!(resp.status(), 403);
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        challenge.contains("insufficient_scope") && challenge.contains("reports:read"),
        "{challenge}"
    );
    let log = gw.stderr();
    assert!(log.contains("insufficient_scope"), "{log}");
    assert!(log.contains("authorization denied"), "{log}");
}

/// An RFC 7662 endpoint: `opaque-good` is active, `opaque-slow` answers after 3 s, anything
/// else is inactive; the gateway must authenticate as `gateway` / `gw secret`.
async fn start_introspection() -> (TestServer, Arc<AtomicUsize>) {
    use http_body_util::BodyExt;
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let server = start_http(move |req: Request<Incoming>| {
        let c = c.clone();
        async move {
            c.fetch_add(1, Ordering::SeqCst);
            let expected = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("gateway:gw+secret")
            );
            let authed = req
                .headers()
                .get("authorization")
                .is_some_and(|v| v.as_bytes() == expected.as_bytes());
            let body = req.into_body().collect().await.expect("body").to_bytes();
            let form = String::from_utf8_lossy(&body).into_owned();
            let now = unix_now();
            let answer = if !authed {
                let mut r = Response::new(full("{\"error\":\"invalid_client\"}"));
                *r.status_mut() = http::StatusCode::UNAUTHORIZED;
                return Ok::<_, Infallible>(r);
            } else if form.contains("token=opaque-good&") {
                json!({"active": true, "sub": "svc-a", "scope": "orders:read",
                       "roles": ["reader"], "exp": now + 600})
            } else if form.contains("token=opaque-paced&") {
                tokio::time::sleep(Duration::from_millis(300)).await;
                json!({"active": true, "sub": "svc-c", "roles": ["reader"], "exp": now + 600})
            } else if form.contains("token=opaque-slow&") {
                tokio::time::sleep(Duration::from_secs(3)).await;
                json!({"active": true, "sub": "svc-b", "roles": ["reader"]})
            } else {
                json!({"active": false})
            };
            Ok::<_, Infallible>(Response::new(full(answer.to_string())))
        }
    })
    .await;
    (server, calls)
}

#[tokio::test]
async fn opaque_tokens_are_introspected_cached_and_fail_closed() {
    let up = start_upstream("app").await;
    let (endpoint, calls) = start_introspection().await;
    let port = endpoint.port();
    let k = SigningKey::new("k1");
    let yaml = format!(
        r#"{BASE}{idp}  introspection:
    as:
      url: "http://127.0.0.1:{port}/introspect"
      allow_insecure_http: true
      client_id: gateway
      client_secret: "gw secret"
      timeout: 1s
      negative_ttl: 1m
upstreams:
  app: {{ targets: ["{up}"] }}
routes:
  - name: orders
    match: {{ path_prefix: /orders }}
    auth: {{ methods: [jwt, introspection] }}
    authorize: {{ roles: [reader] }}
    upstream: app
"#,
        idp = idp(&k.keys_yaml()),
        up = up.addr,
    );
    let gw = Gateway::start(&yaml).await;
    let client = plain_client();
    // An opaque token goes to the endpoint once, then comes from the cache.
    let (st, body) = send(&client, bearer(&gw, "opaque-good")).await;
    assert_eq!(st, 200, "{body}\n{}", gw.stderr());
    assert!(
        body.contains("\"x-portcullis-consumer\":[\"svc-a\"]"),
        "{body}"
    );
    assert!(
        body.contains("\"x-portcullis-auth-method\":[\"introspection\"]"),
        "{body}"
    );
    assert_eq!(send(&client, bearer(&gw, "opaque-good")).await.0, 200);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the second request used the cache"
    );
    // A JWT on the same route is verified locally, not introspected.
    let (st, _) = send(&client, bearer(&gw, &k.token("alice", &["reader"]))).await;
    assert_eq!(st, 200);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // Inactive: 401, remembered.
    assert_eq!(send(&client, bearer(&gw, "opaque-revoked")).await.0, 401);
    assert_eq!(send(&client, bearer(&gw, "opaque-revoked")).await.0, 401);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // Single flight: twelve concurrent requests with one uncached token make one call.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let (client, req) = (client.clone(), bearer(&gw, "opaque-paced"));
        tasks.spawn(async move { send(&client, req).await.0 });
    }
    while let Some(st) = tasks.join_next().await {
        assert_eq!(st.expect("task"), 200);
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "one introspection call for twelve concurrent requests"
    );
    // Slower than the timeout: 503, fail closed.
    let (st, _) = send(&client, bearer(&gw, "opaque-slow")).await;
    assert_eq!(st, 503);
    // Endpoint gone: fail closed again for tokens not cached; cached ones still pass.
    endpoint.stop();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(send(&client, bearer(&gw, "opaque-other")).await.0, 503);
    assert_eq!(send(&client, bearer(&gw, "opaque-good")).await.0, 200);
    let log = gw.stderr();
    assert!(
        log.contains("introspection_unavailable") && log.contains("inactive_token"),
        "{log}"
    );
    assert!(
        !log.contains("gw secret") && !log.contains("opaque-good"),
        "a secret reached the log"
    );
}
