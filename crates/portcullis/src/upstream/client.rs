//! Pooled HTTP clients to upstream targets: HTTP/1.1 keep-alive, h2c, and TLS (h1 or h2 by ALPN)
//! with optional client certificates. One client per distinct connection setting, kept in the
//! registry across reloads so pools survive a config change.

use std::sync::Arc;
use std::time::Duration;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::body::Body;

/// The client type used for every upstream.
pub type HttpClient = Client<Connector, Body>;

/// The connector of every client: TLS or not by the URI's scheme; with `fixed`, it connects to
/// that target whatever the request URI's authority says. An HTTP/2 request's `:authority` is
/// its URI's authority, so the per-target clients of h2 and h2c upstreams send the client's
/// host there and still reach the target the balancer picked (their pool is per target).
#[derive(Clone)]
pub struct Connector {
    inner: HttpsConnector<HttpConnector>,
    fixed: Option<http::Uri>,
}

impl tower_service::Service<http::Uri> for Connector {
    type Response = <HttpsConnector<HttpConnector> as tower_service::Service<http::Uri>>::Response;
    type Error = <HttpsConnector<HttpConnector> as tower_service::Service<http::Uri>>::Error;
    type Future = <HttpsConnector<HttpConnector> as tower_service::Service<http::Uri>>::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let uri = self.fixed.clone().unwrap_or(uri);
        self.inner.call(uri)
    }
}

/// Wire protocol to the targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.1 (cleartext or TLS).
    Http1,
    /// HTTP/2 cleartext with prior knowledge.
    H2c,
    /// HTTP/2 over TLS.
    H2,
}

/// Connection settings that decide which client (and pool) a target uses.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// Protocol.
    pub protocol: Protocol,
    /// TLS config when the targets speak TLS.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Idle pooled connection timeout.
    pub idle_timeout: Duration,
    /// Idle connections per target.
    pub max_idle: usize,
    /// Name sent as SNI and verified in the target's certificate, instead of the target host.
    pub server_name: Option<rustls_pki_types::ServerName<'static>>,
}

/// Builds a client for `s`.
pub fn build(s: &ClientSettings) -> HttpClient {
    build_to(s, None)
}

/// Builds a client for `s` whose connections all go to `target` (`scheme://host:port`).
pub fn build_for_target(s: &ClientSettings, target: http::Uri) -> HttpClient {
    build_to(s, Some(target))
}

fn build_to(s: &ClientSettings, fixed: Option<http::Uri>) -> HttpClient {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(s.connect_timeout));
    http.set_keepalive(Some(Duration::from_secs(60)));
    let connector = match &s.tls {
        Some(cfg) => {
            let mut b = hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config((**cfg).clone())
                .https_only();
            if let Some(name) = &s.server_name {
                b = b.with_server_name_resolver(hyper_rustls::FixedServerNameResolver::new(
                    name.clone(),
                ));
            }
            match s.protocol {
                Protocol::H2 => b.enable_http2().wrap_connector(http),
                _ => b.enable_http1().wrap_connector(http),
            }
        }
        None => hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(plain_tls_placeholder())
            .https_or_http()
            .enable_all_versions()
            .wrap_connector(http),
    };
    let mut b = Client::builder(TokioExecutor::new());
    b.timer(TokioTimer::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(s.idle_timeout)
        .pool_max_idle_per_host(s.max_idle);
    if matches!(s.protocol, Protocol::H2c | Protocol::H2) {
        b.http2_only(true);
    }
    b.build(Connector {
        inner: connector,
        fixed,
    })
}

/// A TLS config for connectors that only ever see `http://` URIs; it is never used for a
/// handshake, but the connector type wants one. It trusts nothing.
fn plain_tls_placeholder() -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| {
            b.with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
        })
        .unwrap_or_else(|_| {
            rustls::ClientConfig::builder()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
        })
}
