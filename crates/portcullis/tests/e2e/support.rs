//! Test support: the real gateway binary as a child process, real upstream servers on
//! 127.0.0.1 (HTTP/1.1 + h2c, TLS, slow, failing), certificates made with rcgen, and clients.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub type TestBody = http_body_util::combinators::BoxBody<Bytes, hyper::Error>;

/// The plain listener and admin listener most test configs start with (placeholders filled in
/// by [`render`]); interpolate it as `{BASE}` at the top of a config.
pub const BASE: &str = "listeners: [{ name: main, bind: \"127.0.0.1:{PORT}\" }]\nadmin: { bind: \"127.0.0.1:{ADMIN}\" }\n";

/// A fresh folder for one test, inside this run's `portcullis-e2e-<pid>` folder. The first
/// call removes the folders of earlier runs whose process has ended.
pub fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    static SWEPT: std::sync::Once = std::sync::Once::new();
    let tmp = std::env::temp_dir();
    SWEPT.call_once(|| remove_stale_dirs(&tmp));
    let d = tmp
        .join(format!("portcullis-e2e-{}", std::process::id()))
        .join(format!("{tag}-{}", N.fetch_add(1, Ordering::Relaxed)));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Removes `portcullis-e2e-<pid>...` folders left by test runs whose process is gone.
fn remove_stale_dirs(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(rest) = name
            .to_str()
            .and_then(|n| n.strip_prefix("portcullis-e2e-"))
        else {
            continue;
        };
        let pid: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if !pid.is_empty()
            && pid != std::process::id().to_string()
            && !Path::new("/proc").join(&pid).exists()
        {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Writes `yaml` to `path` and runs `portcullis check` on it: whether it passed, and what it
/// printed (standard output, then standard error).
pub fn check_config(path: &Path, yaml: &str) -> (bool, String, String) {
    std::fs::write(path, yaml).expect("write config");
    let out = std::process::Command::new(BIN)
        .args(["check", "--config"])
        .arg(path)
        .env_remove("PORTCULLIS_TEST_UNSET")
        .output()
        .expect("run check");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A free port on 127.0.0.1 (bound and released; tests start servers on it right away).
pub fn free_port() -> u16 {
    // The kernel may hand the same port out again once it is released, and the tests of this
    // process pick ports side by side: a port is handed out once per process.
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for _ in 0..1000 {
        let port = StdListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
    panic!("no loopback port left that this process has not used");
}

/// The gateway under test, killed (by its PID) when dropped.
pub struct Gateway {
    pub child: Child,
    pub dir: PathBuf,
    pub config: PathBuf,
    pub port: u16,
    pub admin: u16,
    pub extra_ports: Vec<u16>,
}

pub const BIN: &str = env!("CARGO_BIN_EXE_portcullis");

impl Gateway {
    /// Writes `yaml` (with `{PORT}`, `{ADMIN}`, `{PORT2}`, `{PORT3}`, `{DIR}` replaced) and
    /// starts the gateway on it, waiting until `/readyz` answers.
    pub async fn start(yaml: &str) -> Gateway {
        Self::start_with_env(yaml, &[]).await
    }

    pub async fn start_with_env(yaml: &str, env: &[(&str, &str)]) -> Gateway {
        Self::start_on(yaml, env, free_port(), free_port()).await
    }

    /// Starts on known ports (for configs that bind from the environment).
    pub async fn start_on(yaml: &str, env: &[(&str, &str)], port: u16, admin: u16) -> Gateway {
        let gw = Self::spawn_rendered(yaml, env, port, admin);
        gw.wait_ready().await;
        gw
    }

    /// Starts on a config file in place (relative `${file:}` references resolve next to it).
    pub async fn start_file(config: &Path, env: &[(&str, &str)], port: u16, admin: u16) -> Gateway {
        let extra = vec![free_port(), free_port()];
        let gw = Self::spawn_process(
            temp_dir("gw"),
            config.to_path_buf(),
            env,
            port,
            admin,
            extra,
        );
        gw.wait_ready().await;
        gw
    }

    /// Starts the gateway without waiting for `/readyz` (for readiness tests).
    pub fn start_unready(yaml: &str) -> Gateway {
        Self::spawn_rendered(yaml, &[], free_port(), free_port())
    }

    /// Renders `yaml` into `gateway.yaml` in a fresh folder and starts the process on it.
    fn spawn_rendered(yaml: &str, env: &[(&str, &str)], port: u16, admin: u16) -> Gateway {
        let dir = temp_dir("gw");
        let extra_ports = vec![free_port(), free_port()];
        let config = dir.join("gateway.yaml");
        std::fs::write(&config, render(yaml, port, admin, &extra_ports, &dir))
            .expect("write config");
        Self::spawn_process(dir, config, env, port, admin, extra_ports)
    }

    /// `/readyz` status, or 0 when the admin listener does not answer.
    pub async fn readyz(&self) -> u16 {
        let req = Request::get(format!("http://127.0.0.1:{}/readyz", self.admin))
            .body(empty())
            .expect("req");
        match tokio::time::timeout(Duration::from_millis(500), plain_client().request(req)).await {
            Ok(Ok(r)) => r.status().as_u16(),
            _ => 0,
        }
    }

    fn spawn_process(
        dir: PathBuf,
        config: PathBuf,
        env: &[(&str, &str)],
        port: u16,
        admin: u16,
        extra_ports: Vec<u16>,
    ) -> Gateway {
        let child = Command::new(BIN)
            .args(["run", "--config"])
            .arg(&config)
            .env("PORTCULLIS_LOG", "info,portcullis=debug")
            .envs(env.iter().copied())
            .stdout(std::fs::File::create(dir.join("access.log")).expect("log file"))
            .stderr(std::fs::File::create(dir.join("gateway.err")).expect("err file"))
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn gateway");
        Gateway {
            child,
            dir,
            config,
            port,
            admin,
            extra_ports,
        }
    }

    pub async fn wait_ready(&self) {
        if !eventually(200, || async { self.readyz().await == 200 }).await {
            panic!("gateway did not become ready; stderr:\n{}", self.stderr());
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("gateway.err")).unwrap_or_default()
    }

    pub fn access_log(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.dir.join("access.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Rewrites the config file (same placeholders) without signalling.
    pub fn write_config(&self, yaml: &str) {
        let text = render(yaml, self.port, self.admin, &self.extra_ports, &self.dir);
        // Write then rename, so the watcher never sees a half-written file.
        let tmp = self.dir.join("gateway.yaml.tmp");
        std::fs::write(&tmp, text).expect("write config");
        std::fs::rename(&tmp, &self.config).expect("rename config");
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([format!("-{sig}"), self.child.id().to_string()])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "kill -{sig} failed");
    }

    pub async fn metrics(&self) -> String {
        let (s, body) = get(
            &plain_client(),
            &format!("http://127.0.0.1:{}/metrics", self.admin),
        )
        .await;
        assert_eq!(s, 200);
        body
    }

    /// Waits for the process to exit, up to `limit`.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Keep the logs of a failed test for debugging; remove them otherwise.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A `redis-server` this test started on 127.0.0.1 (no persistence), killed by its PID when
/// dropped. `redis-server` must be on PATH (`.ci/test` installs it from Debian packages).
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
}

impl RedisServer {
    pub async fn start() -> RedisServer {
        let mut r = RedisServer {
            port: free_port(),
            child: None,
        };
        r.restart().await;
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server again on the same port (after `stop`).
    pub async fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "redis-server must be installed (apt-get install redis-server; .ci/test does it)",
            );
        self.child = Some(child);
        let port = self.port;
        let up = eventually(100, || async move {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        })
        .await;
        assert!(up, "redis-server did not start on {port}");
    }

    /// Kills the server (by its PID) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Runs one command with `redis-cli` and returns its output.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .arg("-p")
            .arg(self.port.to_string())
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Calls `check` every 50 ms, at most `tries` times, until it is true; returns whether it was.
pub async fn eventually<F, Fut>(tries: usize, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..tries {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

pub fn render(yaml: &str, port: u16, admin: u16, extra: &[u16], dir: &Path) -> String {
    yaml.replace("{PORT}", &port.to_string())
        .replace("{ADMIN}", &admin.to_string())
        .replace("{PORT2}", &extra[0].to_string())
        .replace("{PORT3}", &extra[1].to_string())
        .replace("{DIR}", &dir.display().to_string())
}

pub fn empty() -> TestBody {
    http_body_util::Empty::new().map_err(|n| match n {}).boxed()
}

pub fn full(b: impl Into<Bytes>) -> TestBody {
    Full::new(b.into()).map_err(|n| match n {}).boxed()
}

pub fn plain_client() -> Client<HttpConnector, TestBody> {
    Client::builder(TokioExecutor::new()).build(HttpConnector::new())
}

pub fn h2c_client() -> Client<HttpConnector, TestBody> {
    Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build(HttpConnector::new())
}

pub async fn get(client: &Client<HttpConnector, TestBody>, url: &str) -> (u16, String) {
    let req = Request::get(url).body(empty()).expect("req");
    send(client, req).await
}

pub async fn send(
    client: &Client<HttpConnector, TestBody>,
    req: Request<TestBody>,
) -> (u16, String) {
    let resp = tokio::time::timeout(Duration::from_secs(10), client.request(req))
        .await
        .expect("request timed out")
        .expect("request failed");
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

pub async fn send_full(
    client: &Client<HttpConnector, TestBody>,
    req: Request<TestBody>,
) -> (http::response::Parts, String) {
    let resp = tokio::time::timeout(Duration::from_secs(10), client.request(req))
        .await
        .expect("request timed out")
        .expect("request failed");
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    (parts, String::from_utf8_lossy(&body).into_owned())
}

/// What an echo upstream saw.
pub fn echo_json(name: &str, req: &http::request::Parts, body_len: usize) -> String {
    let headers: BTreeMap<String, Vec<String>> = req
        .headers
        .keys()
        .map(|k| {
            (
                k.as_str().to_owned(),
                req.headers
                    .get_all(k)
                    .iter()
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .collect(),
            )
        })
        .collect();
    serde_json::json!({
        "server": name,
        "method": req.method.as_str(),
        "uri": req.uri.to_string(),
        "version": format!("{:?}", req.version),
        "headers": headers,
        "body_len": body_len,
    })
    .to_string()
}

/// Behaviour switches of a test upstream.
#[derive(Default)]
pub struct UpstreamCtl {
    pub hits: AtomicUsize,
    /// Answer `/healthz` with 503.
    pub unhealthy: AtomicBool,
    /// Answer everything with 500.
    pub failing: AtomicBool,
}

/// A server the test started on 127.0.0.1. Stopping or dropping it closes the listener and
/// every open connection (they live in a `JoinSet` owned by the accept task).
pub struct TestServer {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl TestServer {
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Runs `conn` on every connection accepted on `listener`.
pub fn serve_on<F, Fut>(listener: TcpListener, conn: F) -> TestServer
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let mut conns = tokio::task::JoinSet::new();
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            conns.spawn(conn(stream));
        }
    });
    TestServer { addr, task }
}

/// HTTP/1.1 and h2c (upgrades allowed) on one connection, every request answered by `handler`.
pub async fn serve_http<S, H, Fut>(io: S, handler: H)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    H: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Response<TestBody>, Infallible>> + Send + 'static,
{
    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
        .serve_connection_with_upgrades(TokioIo::new(io), hyper::service::service_fn(handler))
        .await;
}

/// An HTTP server on a free loopback port, answering with `handler`.
pub async fn start_http<H, Fut>(handler: H) -> TestServer
where
    H: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Response<TestBody>, Infallible>> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    serve_on(listener, move |tcp| serve_http(tcp, handler.clone()))
}

/// A running upstream server.
pub struct Upstream {
    pub addr: SocketAddr,
    pub ctl: Arc<UpstreamCtl>,
    server: TestServer,
}

impl Upstream {
    pub fn stop(&self) {
        self.server.stop();
    }
}

async fn echo_handler(
    name: Arc<str>,
    ctl: Arc<UpstreamCtl>,
    req: Request<Incoming>,
) -> Result<Response<TestBody>, Infallible> {
    ctl.hits.fetch_add(1, Ordering::Relaxed);
    let (parts, body) = req.into_parts();
    if parts.uri.path() == "/healthz" {
        let st = if ctl.unhealthy.load(Ordering::Relaxed) {
            503
        } else {
            200
        };
        let mut r = Response::new(full("health"));
        *r.status_mut() = StatusCode::from_u16(st).expect("status");
        return Ok(r);
    }
    if let Some(ms) = parts
        .uri
        .path()
        .strip_prefix("/slow/")
        .and_then(|s| s.parse::<u64>().ok())
    {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let mut r = Response::new(full(echo_json(&name, &parts, body.len())));
    if ctl.failing.load(Ordering::Relaxed) || parts.uri.path() == "/status/500" {
        *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    }
    r.headers_mut()
        .insert("server", "secret-backend/1.2.3".parse().expect("hv"));
    r.headers_mut()
        .insert("x-powered-by", "php".parse().expect("hv"));
    r.headers_mut()
        .insert("content-type", "application/json".parse().expect("hv"));
    Ok(r)
}

/// Starts an echo upstream (HTTP/1.1 and h2c) named `name` on a free port.
pub async fn start_upstream(name: &str) -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    start_upstream_on(name, listener).await
}

pub async fn start_upstream_on(name: &str, listener: TcpListener) -> Upstream {
    let ctl = Arc::new(UpstreamCtl::default());
    let (name, c): (Arc<str>, _) = (Arc::from(name), ctl.clone());
    let server = serve_on(listener, move |tcp| {
        let (name, ctl) = (name.clone(), c.clone());
        serve_http(tcp, move |req| echo_handler(name.clone(), ctl.clone(), req))
    });
    Upstream {
        addr: server.addr,
        ctl,
        server,
    }
}

/// Test PKI: a CA, server certificates and client certificates.
pub struct Pki {
    pub dir: PathBuf,
    ca_params: rcgen::CertificateParams,
    ca_key: rcgen::KeyPair,
    pub ca_pem: String,
}

impl Pki {
    pub fn new(dir: &Path, name: &str) -> Pki {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("{name} CA"));
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("ca");
        let ca_pem = cert.pem();
        std::fs::write(dir.join(format!("{name}-ca.pem")), &ca_pem).expect("write ca");
        Pki {
            dir: dir.to_path_buf(),
            ca_params: params,
            ca_key: key,
            ca_pem,
        }
    }

    pub fn ca_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}-ca.pem"))
    }

    /// Issues a leaf with `sans` (DNS names, or `spiffe://...` URIs) and common name `cn`;
    /// writes `<file>.pem` and `<file>.key`; returns the certificate PEM.
    pub fn issue(&self, file: &str, cn: &str, sans: &[&str], client: bool) -> String {
        self.issue_serial(file, cn, sans, client, None)
    }

    /// [`Pki::issue`] with a chosen serial number (to revoke the certificate in a CRL).
    pub fn issue_serial(
        &self,
        file: &str,
        cn: &str,
        sans: &[&str],
        client: bool,
        serial: Option<u64>,
    ) -> String {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.serial_number = serial.map(rcgen::SerialNumber::from);
        for s in sans {
            if s.contains("://") {
                params
                    .subject_alt_names
                    .push(rcgen::SanType::URI((*s).try_into().expect("uri")));
            } else {
                params
                    .subject_alt_names
                    .push(rcgen::SanType::DnsName((*s).try_into().expect("dns")));
            }
        }
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        params.extended_key_usages = vec![if client {
            rcgen::ExtendedKeyUsagePurpose::ClientAuth
        } else {
            rcgen::ExtendedKeyUsagePurpose::ServerAuth
        }];
        let key = rcgen::KeyPair::generate().expect("key");
        let issuer = rcgen::Issuer::from_params(&self.ca_params, &self.ca_key);
        let cert = params.signed_by(&key, &issuer).expect("sign");
        let pem = cert.pem();
        std::fs::write(self.dir.join(format!("{file}.pem")), &pem).expect("write");
        std::fs::write(self.dir.join(format!("{file}.key")), key.serialize_pem()).expect("write");
        pem
    }
}

impl Pki {
    /// Writes `<file>` with this CA's CRL revoking `serials`; `expired` makes its `nextUpdate`
    /// lie in the past (2021), otherwise it is far in the future.
    pub fn write_crl(&self, file: &str, serials: &[u64], expired: bool) {
        let crl = rcgen::CertificateRevocationListParams {
            this_update: rcgen::date_time_ymd(2020, 1, 1),
            next_update: if expired {
                rcgen::date_time_ymd(2021, 1, 1)
            } else {
                rcgen::date_time_ymd(2999, 1, 1)
            },
            crl_number: rcgen::SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: serials
                .iter()
                .map(|s| rcgen::RevokedCertParams {
                    serial_number: rcgen::SerialNumber::from(*s),
                    revocation_time: rcgen::date_time_ymd(2020, 1, 1),
                    reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        };
        let issuer = rcgen::Issuer::from_params(&self.ca_params, &self.ca_key);
        let pem = crl.signed_by(&issuer).expect("crl").pem().expect("pem");
        std::fs::write(self.dir.join(file), pem).expect("write crl");
    }
}

/// A rustls client config trusting `ca_pem`, with an optional client cert and ALPN list.
pub fn tls_client_config(
    ca_pem: &str,
    client: Option<(&Path, &Path)>,
    alpn: &[&[u8]],
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> rustls::ClientConfig {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.expect("ca")).expect("add ca");
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let b = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .expect("versions")
        .with_root_certificates(roots);
    let mut cfg = match client {
        Some((cert, key)) => {
            let chain: Vec<_> = CertificateDer::pem_file_iter(cert)
                .expect("cert")
                .map(|c| c.expect("cert"))
                .collect();
            let key = PrivateKeyDer::from_pem_file(key).expect("key");
            b.with_client_auth_cert(chain, key).expect("client auth")
        }
        None => b.with_no_client_auth(),
    };
    cfg.alpn_protocols = alpn.iter().map(|a| a.to_vec()).collect();
    cfg
}

/// Opens a TLS connection to 127.0.0.1:`port` with SNI `sni`.
pub async fn tls_connect(
    port: u16,
    sni: &str,
    cfg: rustls::ClientConfig,
) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let name = rustls_pki_types::ServerName::try_from(sni.to_owned())
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    connector.connect(name, tcp).await
}

/// One HTTP/1.1 GET of `path` over TLS 1.3 to 127.0.0.1:`port` with SNI and `Host` `sni`,
/// trusting `ca_pem`, optionally presenting a client certificate. Errors (handshake or
/// request) come back as text, so refusal tests can assert on them.
pub async fn tls_get(
    port: u16,
    sni: &str,
    ca_pem: &str,
    client: Option<(&Path, &Path)>,
    path: &str,
) -> Result<(u16, http::HeaderMap, String), String> {
    let cfg = tls_client_config(ca_pem, client, &[b"http/1.1"], &[&rustls::version::TLS13]);
    let s = tls_connect(port, sni, cfg)
        .await
        .map_err(|e| e.to_string())?;
    let req = Request::get(path)
        .header("host", sni)
        .body(empty())
        .map_err(|e| e.to_string())?;
    match tokio::time::timeout(Duration::from_secs(5), h1_over(s, req)).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err("timed out".into()),
    }
}

/// Sends one HTTP/1.1 request over an established stream and returns (status, body).
pub async fn h1_over<S>(
    stream: S,
    req: Request<TestBody>,
) -> hyper::Result<(u16, http::HeaderMap, String)>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let resp = send.send_request(req).await?;
    let (parts, body) = resp.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok((
        parts.status.as_u16(),
        parts.headers,
        String::from_utf8_lossy(&body).into_owned(),
    ))
}

/// Sends one HTTP/2 request over an established stream.
pub async fn h2_over<S>(
    stream: S,
    req: Request<TestBody>,
) -> hyper::Result<(u16, http::HeaderMap, String)>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let resp = send.send_request(req).await?;
    let (parts, body) = resp.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok((
        parts.status.as_u16(),
        parts.headers,
        String::from_utf8_lossy(&body).into_owned(),
    ))
}

/// Raw request over TCP; returns everything the server sent until it closed or `limit` passed.
pub async fn raw(port: u16, bytes: &[u8], limit: Duration) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    s.write_all(bytes).await.expect("write");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(limit, s.read_to_end(&mut out)).await;
    out
}

pub fn status_of(raw: &[u8]) -> u16 {
    let text = String::from_utf8_lossy(raw);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// The security-suite config, with its own environment.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}
