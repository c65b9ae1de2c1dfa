//! Listeners: the accept loop, connection limits, TLS handshake, and the per-connection HTTP
//! server (HTTP/1.1, h2c and h2 on one port) with header-read and idle timeouts and graceful
//! draining.
//!
//! The bound socket lives for the life of the process; everything else (TLS certificates,
//! limits) is read from the current snapshot for each new connection, so a reload changes them
//! without dropping a connection.

pub mod http1;
pub mod tls;
pub mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use http::HeaderValue;
use http_body_util::BodyExt;
use hyper::server::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

use crate::config::error::Collector;
use crate::config::raw::ListenerConfig;
use crate::server::Shared;
use crate::upstream::state::now_ms;
use tls::ClientCertIdentity;

/// Compiled listener settings (the socket itself is bound once, at start).
#[derive(Debug)]
pub struct ListenerRuntime {
    /// Name.
    pub name: Arc<str>,
    /// Bind address.
    pub bind: SocketAddr,
    /// TLS config, when HTTPS.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// `Strict-Transport-Security` value.
    pub hsts: Option<HeaderValue>,
    /// Redirect every request to HTTPS on this port.
    pub redirect_https_port: Option<u16>,
    /// Limits.
    pub limits: Limits,
    /// Peer IP lists checked at accept.
    pub ip_filter: Option<Arc<crate::policy::ipfilter::IpFilter>>,
    /// Check HTTP/1 framing strictly ([`wire`]).
    pub strict_http: bool,
}

/// Listener limits with defaults applied.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Max concurrent connections.
    pub max_connections: usize,
    /// Header read (and TLS handshake) timeout.
    pub header_read_timeout: Duration,
    /// Idle timeout.
    pub idle_timeout: Duration,
    /// Max header bytes.
    pub max_header_bytes: usize,
    /// Max header count.
    pub max_headers: usize,
    /// Max request-target length.
    pub max_uri_length: usize,
    /// Max body bytes.
    pub max_body_bytes: u64,
}

impl ListenerRuntime {
    /// Compiles one listener.
    pub fn compile(l: &ListenerConfig, at: &str, errs: &mut Collector) -> Option<Self> {
        let before = errs.errors.len();
        let bind = match l.bind.as_str().parse::<SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                errs.push(
                    format!("{at}.bind"),
                    format!(
                        "{:?} is not an address:port such as 0.0.0.0:8080",
                        l.bind.as_str()
                    ),
                );
                None
            }
        };
        let tls = l
            .tls
            .as_ref()
            .and_then(|t| tls::server_config(t, &format!("{at}.tls"), errs));
        if l.tls.is_some() && l.redirect_https_port.is_some() {
            errs.push(
                format!("{at}.redirect_https_port"),
                "only a plain HTTP listener can redirect to HTTPS",
            );
        }
        let hsts = l.tls.as_ref().and_then(|t| t.hsts.as_ref()).and_then(|h| {
            let age = h.max_age.map(|d| d.0.as_secs()).unwrap_or(365 * 24 * 3600);
            let mut v = format!("max-age={age}");
            if h.include_subdomains {
                v.push_str("; includeSubDomains");
            }
            if h.preload {
                v.push_str("; preload");
            }
            HeaderValue::from_str(&v).ok()
        });
        let lim = &l.limits;
        let limits = Limits {
            max_connections: lim.max_connections.unwrap_or(10_000),
            header_read_timeout: lim
                .header_read_timeout
                .map(|d| d.0)
                .unwrap_or(Duration::from_secs(10)),
            idle_timeout: lim
                .idle_timeout
                .map(|d| d.0)
                .unwrap_or(Duration::from_secs(60)),
            max_header_bytes: lim
                .max_header_bytes
                .map(|b| b.0 as usize)
                .unwrap_or(16 * 1024),
            max_headers: lim.max_headers.unwrap_or(100),
            max_uri_length: lim.max_uri_length.map(|b| b.0 as usize).unwrap_or(8 * 1024),
            max_body_bytes: lim.max_body_bytes.map(|b| b.0).unwrap_or(10 * 1024 * 1024),
        };
        if limits.max_connections == 0 {
            errs.push(format!("{at}.limits.max_connections"), "must be at least 1");
        }
        if limits.max_headers == 0 || limits.max_headers > http1::MAX_HEADER_SLOTS {
            errs.push(
                format!("{at}.limits.max_headers"),
                format!("must be 1 to {}", http1::MAX_HEADER_SLOTS),
            );
        }
        if limits.header_read_timeout.is_zero() || limits.idle_timeout.is_zero() {
            errs.push(format!("{at}.limits"), "timeouts must be above zero");
        }
        let ip_filter = l
            .ip_filter
            .as_ref()
            .and_then(|f| crate::policy::ipfilter::compile(f, &format!("{at}.ip_filter"), errs))
            .map(Arc::new);
        if errs.errors.len() > before {
            return None;
        }
        Some(Self {
            name: Arc::from(l.name.as_str()),
            bind: bind?,
            tls,
            hsts,
            redirect_https_port: l.redirect_https_port,
            limits,
            ip_filter,
            strict_http: l.strict_http.unwrap_or(true),
        })
    }
}

/// What the HTTP layer knows about the connection a request came on.
#[derive(Debug)]
pub struct ConnInfo {
    /// Listener name.
    pub listener: Arc<str>,
    /// Remote address.
    pub peer: SocketAddr,
    /// Whether the connection is TLS.
    pub tls: bool,
    /// Verified client certificate.
    pub client_cert: Option<Arc<ClientCertIdentity>>,
    /// Requests in flight on this connection (HTTP/2; the HTTP/1 server runs one at a time).
    pub in_flight: AtomicUsize,
    /// `now_ms()` of the last request end (HTTP/2 idle check).
    pub last_active: AtomicU64,
    /// What the strict HTTP/1 framing check found, when the listener runs it.
    pub wire: Option<Arc<wire::WireState>>,
    /// The peer's IP address as header text (`X-Forwarded-For`, `X-Real-IP`), made once.
    pub peer_text: http::HeaderValue,
}

/// Decrements the listener's connection count when the connection ends.
struct ConnGuard(Arc<AtomicUsize>);

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Accepts connections on `tcp` until shutdown, or until `stop` changes or its sender is
/// dropped (a reload removed or moved the listener), serving each on its own task.
pub async fn accept_loop(
    name: Arc<str>,
    tcp: Arc<TcpListener>,
    shared: Arc<Shared>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let active = Arc::new(AtomicUsize::new(0));
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        let accepted = tokio::select! {
            a = tcp.accept() => a,
            _ = shutdown.changed() => break,
            // A reload dropped or moved this listener.
            _ = stop.changed() => break,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // EMFILE and friends: back off briefly instead of spinning.
                tracing::warn!(listener = %name, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let snap = shared.snapshot.load_full();
        let Some(lr) = snap.listeners.get(&*name).cloned() else {
            continue;
        };
        if let Some(f) = &lr.ip_filter
            && !f.permits(peer.ip())
        {
            // Closed before anything is read: the peer learns nothing but a reset.
            shared.metrics.connection_rejected(&name);
            tracing::debug!(listener = %name, peer = %peer, "connection refused by ip_filter");
            drop(stream);
            continue;
        }
        let n = active.fetch_add(1, Ordering::Relaxed) + 1;
        let guard = ConnGuard(active.clone());
        if n > lr.limits.max_connections {
            shared.metrics.connection_rejected(&name);
            drop(guard);
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            let _guard = guard;
            let _conn_metric = shared.metrics.connection_opened(&lr.name);
            match &lr.tls {
                None => {
                    let state = lr.strict_http.then(Default::default);
                    let info = new_info(&lr, peer, false, None, state);
                    http1::serve(stream, info, lr, shared).await;
                }
                Some(cfg) => {
                    let acceptor = tokio_rustls::TlsAcceptor::from(cfg.clone());
                    let hs = tokio::time::timeout(
                        lr.limits.header_read_timeout,
                        acceptor.accept(stream),
                    )
                    .await;
                    let tls_stream = match hs {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            shared.metrics.tls_handshake_failed(&lr.name);
                            tracing::debug!(listener = %lr.name, peer = %peer, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            shared.metrics.tls_handshake_failed(&lr.name);
                            return;
                        }
                    };
                    let presented = tls_stream
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|c| c.first());
                    let cert = match presented {
                        None => None,
                        Some(der) => match ClientCertIdentity::from_der(der) {
                            Some(id) => Some(Arc::new(id)),
                            None => {
                                // Verified by rustls but unreadable here: refuse the connection
                                // rather than treat the client as having no certificate.
                                tracing::warn!(listener = %lr.name, peer = %peer, "client certificate could not be parsed; connection closed");
                                return;
                            }
                        },
                    };
                    // Checked even when ALPN agreed on h2: the server picks HTTP/1 or HTTP/2 by
                    // the first bytes.
                    let state = lr.strict_http.then(Default::default);
                    let info = new_info(&lr, peer, true, cert, state);
                    http1::serve(tls_stream, info, lr, shared).await;
                }
            }
        });
    }
}

fn new_info(
    lr: &ListenerRuntime,
    peer: SocketAddr,
    tls: bool,
    client_cert: Option<Arc<ClientCertIdentity>>,
    wire: Option<Arc<wire::WireState>>,
) -> Arc<ConnInfo> {
    Arc::new(ConnInfo {
        listener: lr.name.clone(),
        peer,
        tls,
        client_cert,
        in_flight: AtomicUsize::new(0),
        last_active: AtomicU64::new(now_ms()),
        wire,
        peer_text: crate::proxy::ip_header_value(peer.ip()),
    })
}

/// Serves HTTP/2 on `io` with hyper (TLS with ALPN `h2`, or h2c with prior knowledge, which
/// [`http1::serve`] hands over), closing it when idle or at shutdown.
async fn serve_h2<I>(io: I, info: Arc<ConnInfo>, lr: Arc<ListenerRuntime>, shared: Arc<Shared>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = http2::Builder::new(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .max_header_list_size(lr.limits.max_header_bytes.min(u32::MAX as usize) as u32)
        .max_concurrent_streams(256)
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(10));
    let svc_info = info.clone();
    let svc_shared = shared.clone();
    let svc = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
        let info = svc_info.clone();
        let shared = svc_shared.clone();
        async move {
            let req = req.map(|b| b.map_err(Into::into).boxed());
            let resp = {
                // A guard, so a request cancelled mid-way (client gone, stream reset) does not
                // keep the connection counted as busy forever.
                let _busy = crate::upstream::InFlight::enter(&info.in_flight);
                crate::proxy::handle(req, &info, &shared).await
            };
            info.last_active.store(now_ms(), Ordering::Relaxed);
            Ok::<_, std::convert::Infallible>(resp)
        }
    });
    let conn = builder.serve_connection(TokioIo::new(io), svc);
    tokio::pin!(conn);
    let mut shutdown = shared.shutdown.subscribe();
    let idle = lr.limits.idle_timeout;
    let mut draining = *shutdown.borrow();
    if draining {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        let last = info.last_active.load(Ordering::Relaxed);
        let idle_for = Duration::from_millis(now_ms().saturating_sub(last));
        let wait = idle.saturating_sub(idle_for).max(Duration::from_millis(10));
        tokio::select! {
            res = conn.as_mut() => {
                if let Err(e) = res {
                    tracing::debug!(listener = %info.listener, peer = %info.peer, error = %e, "connection ended with an error");
                }
                break;
            }
            _ = tokio::time::sleep(wait), if !draining => {
                let last = info.last_active.load(Ordering::Relaxed);
                let idle_for = Duration::from_millis(now_ms().saturating_sub(last));
                if info.in_flight.load(Ordering::Relaxed) == 0 && idle_for >= idle {
                    conn.as_mut().graceful_shutdown();
                    draining = true;
                }
            }
            _ = shutdown.changed(), if !draining => {
                conn.as_mut().graceful_shutdown();
                draining = true;
            }
        }
    }
}
