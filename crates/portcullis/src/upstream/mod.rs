//! Upstream pools: targets with weights, balancing, timeouts, health (active checks and passive
//! ejection), circuit breakers, retries with a budget, and TLS/mTLS to targets.
//!
//! Compiled `Upstream`s live in the snapshot; their mutable state (`TargetState`, retry budget,
//! connection pools) lives in the [`state::Registry`], keyed by stable names, so reloads keep it.

pub mod balance;
pub mod client;
pub mod h1;
pub mod health;
pub mod state;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use crate::config::error::Collector;
use crate::config::expand::resolve_path;
use crate::config::raw::{BalanceConfig, HashKeyConfig, TargetConfig, UpstreamConfig};
use balance::{Balancer, HashKey};
use client::{ClientSettings, HttpClient, Protocol};
use state::{LazyNow, Registry, RetryBudget, TargetState, now_ms};

/// A compiled upstream pool.
#[derive(Debug)]
pub struct Upstream {
    /// Pool name.
    pub name: Arc<str>,
    /// Targets in config order.
    pub targets: Vec<Target>,
    /// Balancing policy.
    pub balancer: Balancer,
    /// Protocol to the targets.
    pub protocol: Protocol,
    /// Cleartext HTTP/1.1: every target has an idle pool of the HTTP/1.1 client.
    pub cleartext_h1: bool,
    /// `http` or `https`.
    pub scheme: &'static str,
    /// The pooled client.
    pub client: HttpClient,
    /// Per-attempt timeout until response headers.
    pub request_timeout: Duration,
    /// Passive ejection settings.
    pub passive: Option<Passive>,
    /// Retry policy.
    pub retry: Option<RetryPolicy>,
    /// Circuit breaker.
    pub breaker: Option<Breaker>,
    /// Active health check.
    pub health: Option<health::HealthCheck>,
    /// Retry budget (shared across reloads).
    pub budget: Arc<RetryBudget>,
}

/// One target.
#[derive(Debug)]
pub struct Target {
    /// `host:port`.
    pub addr: String,
    /// Weight.
    pub weight: u32,
    /// Shared state.
    pub state: Arc<TargetState>,
    /// Counter of successful attempts, fetched on first use.
    pub ok_counter: std::sync::OnceLock<prometheus_client::metrics::counter::Counter>,
    /// Idle connections for the HTTP/1.1 client, when the upstream speaks cleartext HTTP/1.1.
    pub h1: Option<Arc<h1::Pool>>,
    /// For h2 and h2c upstreams: a client whose connections all go to this target, so the
    /// request URI can carry the client's host as `:authority`.
    pub h2: Option<client::HttpClient>,
}

/// Passive ejection.
#[derive(Debug, Clone, Copy)]
pub struct Passive {
    /// Consecutive failures that eject.
    pub consecutive_failures: u32,
    /// Ejection time.
    pub ejection: Duration,
}

/// Retry policy.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Extra attempts.
    pub attempts: u32,
    /// Budget share in percent.
    pub budget_percent: u32,
    /// Retries always allowed per window.
    pub min_retries: u32,
    /// Statuses that trigger a retry of an idempotent request.
    pub on_statuses: Vec<u16>,
    /// Bodies up to this size are buffered so their requests can be retried.
    pub max_body_bytes: u64,
}

/// Circuit breaker.
#[derive(Debug, Clone, Copy)]
pub struct Breaker {
    /// Consecutive failures that open it.
    pub failure_threshold: u32,
    /// Open time before a trial.
    pub open_for: Duration,
    /// In-flight cap per target.
    pub max_in_flight: Option<usize>,
}

/// Counts a request in flight on a target for as long as it lives, so a cancelled request
/// (client gone, HTTP/2 stream reset) never leaves the count behind.
#[derive(Debug)]
pub struct InFlight<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> InFlight<'a> {
    /// Counts one more request on `counter` until the guard is dropped.
    pub fn enter(counter: &'a std::sync::atomic::AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Self(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Holds a circuit breaker's half-open trial slot. If the request is cancelled before its
/// outcome is recorded, dropping the guard frees the slot so the target is tried again.
#[derive(Debug)]
pub struct TrialGuard<'a>(Option<&'a TargetState>);

impl<'a> TrialGuard<'a> {
    /// Guards the trial slot of `state` when `is_trial`.
    pub fn new(state: &'a TargetState, is_trial: bool) -> Self {
        Self(is_trial.then_some(state))
    }

    /// The outcome was recorded (which resets the slot itself).
    pub fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for TrialGuard<'_> {
    fn drop(&mut self) {
        if let Some(st) = self.0 {
            st.breaker_trial.store(false, Ordering::Release);
        }
    }
}

/// How one attempt ended, for ejection and breaker bookkeeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered with a non-5xx status.
    Success,
    /// Connect error, reset, timeout or 5xx.
    Failure,
}

impl Upstream {
    /// Whether target `i` may take a request now.
    pub fn is_available(&self, i: usize, now: &LazyNow) -> bool {
        let Some(t) = self.targets.get(i) else {
            return false;
        };
        if !t.state.is_up(now) {
            return false;
        }
        if let Some(b) = &self.breaker {
            if let Some(max) = b.max_in_flight
                && t.state.in_flight.load(Ordering::Relaxed) >= max
            {
                return false;
            }
            let open_until = t.state.breaker_open_until.load(Ordering::Relaxed);
            if open_until != 0 {
                // Open: nothing until the deadline; then one trial at a time (half-open).
                return open_until <= now.get() && !t.state.breaker_trial.load(Ordering::Relaxed);
            }
        }
        true
    }

    /// Picks a target for a request, avoiding `tried`. Returns its index and whether this
    /// request is a circuit breaker's half-open trial (see [`TrialGuard`]).
    pub fn select(&self, hash: Option<u64>, tried: &[usize]) -> Option<(usize, bool)> {
        let now = LazyNow::default();
        let mut lost_races: Vec<usize> = Vec::new();
        for _ in 0..self.targets.len() {
            let i = self.balancer.pick(
                self.targets.len(),
                &|i| self.is_available(i, &now) && !lost_races.contains(&i),
                tried,
                &|i| self.targets[i].state.in_flight.load(Ordering::Relaxed),
                &|i| self.targets[i].weight,
                hash,
            )?;
            let st = &self.targets[i].state;
            if self.breaker.is_none() || st.breaker_open_until.load(Ordering::Relaxed) == 0 {
                return Some((i, false));
            }
            // Half-open: this request becomes the one trial, unless another got there first;
            // then look for another target.
            if st
                .breaker_trial
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                return Some((i, true));
            }
            lost_races.push(i);
        }
        None
    }

    /// Records how an attempt on target `i` ended.
    pub fn record(&self, i: usize, outcome: Outcome) {
        let Some(t) = self.targets.get(i) else { return };
        let st = &t.state;
        match outcome {
            Outcome::Success => {
                st.passive_failures.store(0, Ordering::Relaxed);
                st.breaker_failures.store(0, Ordering::Relaxed);
                st.breaker_open_until.store(0, Ordering::Relaxed);
                st.breaker_trial.store(false, Ordering::Relaxed);
            }
            Outcome::Failure => {
                let now = now_ms();
                if let Some(p) = &self.passive {
                    let n = st.passive_failures.fetch_add(1, Ordering::Relaxed) + 1;
                    if n >= p.consecutive_failures {
                        st.passive_failures.store(0, Ordering::Relaxed);
                        st.ejected_until
                            .store(now + p.ejection.as_millis() as u64, Ordering::Relaxed);
                        tracing::warn!(
                            upstream = %self.name,
                            target = %t.addr,
                            ejection_ms = p.ejection.as_millis() as u64,
                            "upstream target ejected after consecutive failures"
                        );
                    }
                }
                if let Some(b) = &self.breaker {
                    let n = st.breaker_failures.fetch_add(1, Ordering::Relaxed) + 1;
                    let half_open = st.breaker_trial.swap(false, Ordering::AcqRel);
                    if half_open || n >= b.failure_threshold {
                        st.breaker_failures.store(0, Ordering::Relaxed);
                        st.breaker_open_until
                            .store(now + b.open_for.as_millis() as u64, Ordering::Relaxed);
                    }
                }
            }
        }
    }

    /// The key for consistent hashing, computed from the request.
    pub fn hash_key(&self, headers: &http::HeaderMap, client_ip: std::net::IpAddr) -> Option<u64> {
        let Balancer::ConsistentHash { key, .. } = &self.balancer else {
            return None;
        };
        let from_ip = || Some(balance::fnv1a(client_ip.to_string().as_bytes()));
        match key {
            HashKey::ClientIp => from_ip(),
            HashKey::Header(h) => headers
                .get(h)
                .map(|v| balance::fnv1a(v.as_bytes()))
                .or_else(from_ip),
            HashKey::Cookie(name) => headers
                .get_all(http::header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(';'))
                .filter_map(|c| c.trim().split_once('='))
                .find(|(k, _)| k == name)
                .map(|(_, v)| balance::fnv1a(v.as_bytes()))
                .or_else(from_ip),
        }
    }
}

fn parse_protocol(p: Option<&str>, has_tls: bool) -> Result<Protocol, String> {
    match p {
        None | Some("http1") => Ok(Protocol::Http1),
        Some("h2c") if !has_tls => Ok(Protocol::H2c),
        Some("h2c") => Err("`h2c` is cleartext; use `h2` with `tls`".into()),
        Some("h2") if has_tls => Ok(Protocol::H2),
        Some("h2") => Err("`h2` needs `tls`; use `h2c` for cleartext HTTP/2".into()),
        Some(other) => Err(format!("unknown protocol {other:?}: use http1, h2c or h2")),
    }
}

fn client_tls(
    t: &crate::config::raw::UpstreamTlsConfig,
    at: &str,
    errs: &mut Collector,
) -> Option<rustls::ClientConfig> {
    let roots = match &t.ca {
        Some(ca) => load_ca_roots(&resolve_path(ca.as_str())).unwrap_or_else(|e| {
            errs.push(format!("{at}.ca"), e);
            rustls::RootCertStore::empty()
        }),
        None => {
            errs.push(
                format!("{at}.ca"),
                "required: name the CA bundle that signs the targets' certificates",
            );
            rustls::RootCertStore::empty()
        }
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .ok()?
        .with_root_certificates(roots);
    let cfg = match (&t.client_cert, &t.client_key) {
        (Some(c), Some(k)) => {
            let (chain, key) = load_cert_and_key(c.as_str(), k.as_str(), at, errs)?;
            match builder.with_client_auth_cert(chain, key) {
                Ok(cfg) => cfg,
                Err(e) => {
                    errs.push(format!("{at}.client_cert"), format!("{e}"));
                    return None;
                }
            }
        }
        (None, None) => builder.with_no_client_auth(),
        _ => {
            errs.push(at.to_owned(), "`client_cert` and `client_key` go together");
            return None;
        }
    };
    Some(cfg)
}

/// A CA bundle (PEM) as a root store, for verifying servers (upstreams, JWKS and introspection
/// endpoints) or clients (mTLS). Errors name the file; a bundle without a certificate is one.
pub fn load_ca_roots(path: &std::path::Path) -> Result<rustls::RootCertStore, String> {
    let mut roots = rustls::RootCertStore::empty();
    let certs =
        CertificateDer::pem_file_iter(path).map_err(|e| format!("{}: {e}", path.display()))?;
    for c in certs {
        let c = c.map_err(|e| format!("{}: {e}", path.display()))?;
        roots
            .add(c)
            .map_err(|_| format!("{}: invalid CA certificate", path.display()))?;
    }
    if roots.is_empty() {
        return Err(format!("{}: no CA certificate found", path.display()));
    }
    Ok(roots)
}

/// Loads a PEM chain and key, recording errors under `at`.
pub fn load_cert_and_key(
    cert: &str,
    key: &str,
    at: &str,
    errs: &mut Collector,
) -> Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let cpath = resolve_path(cert);
    let chain: Result<Vec<_>, _> = match CertificateDer::pem_file_iter(&cpath) {
        Ok(it) => it.collect(),
        Err(e) => {
            errs.push(format!("{at}.cert"), format!("{}: {e}", cpath.display()));
            return None;
        }
    };
    let chain = match chain {
        Ok(c) if !c.is_empty() => c,
        Ok(_) => {
            errs.push(
                format!("{at}.cert"),
                format!("{}: no certificate", cpath.display()),
            );
            return None;
        }
        Err(e) => {
            errs.push(format!("{at}.cert"), format!("{}: {e}", cpath.display()));
            return None;
        }
    };
    let kpath = resolve_path(key);
    match PrivateKeyDer::from_pem_file(&kpath) {
        Ok(k) => Some((chain, k)),
        Err(e) => {
            errs.push(format!("{at}.key"), format!("{}: {e}", kpath.display()));
            None
        }
    }
}

/// Compiled upstreams plus the registry keys they use (for pruning after a swap).
#[derive(Debug, Default)]
pub struct CompiledUpstreams {
    /// Upstreams by name.
    pub upstreams: HashMap<String, Arc<Upstream>>,
    /// `(upstream, target)` keys of live target state.
    pub live_targets: Vec<(String, String)>,
    /// Keys of live pooled clients.
    pub live_clients: Vec<String>,
}

/// Compiles every upstream; pools and target state come from `registry`.
pub fn compile_upstreams(
    raw: &BTreeMap<String, UpstreamConfig>,
    registry: &Registry,
    errs: &mut Collector,
) -> CompiledUpstreams {
    let mut out = HashMap::new();
    let mut live_targets = Vec::new();
    let mut live_clients = Vec::new();
    for (name, u) in raw {
        let at = format!("upstreams.{name}");
        let before = errs.errors.len();
        if u.targets.is_empty() {
            errs.push(format!("{at}.targets"), "at least one target is required");
        }
        let mut addrs = Vec::new();
        let mut weights = Vec::new();
        for (i, t) in u.targets.iter().enumerate() {
            let (addr, weight) = match t {
                TargetConfig::Address(a) => (a.as_str().to_owned(), 1),
                TargetConfig::Weighted { address, weight } => {
                    (address.as_str().to_owned(), weight.unwrap_or(1))
                }
            };
            if !(1..=1000).contains(&weight) {
                errs.push(format!("{at}.targets[{i}].weight"), "must be 1 to 1000");
            }
            let valid = addr
                .rsplit_once(':')
                .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0));
            if !valid || addr.contains('/') {
                errs.push(
                    format!("{at}.targets[{i}]"),
                    format!("{addr:?} is not host:port"),
                );
            }
            if addrs.contains(&addr) {
                errs.push(
                    format!("{at}.targets[{i}]"),
                    format!("duplicate target {addr}"),
                );
            }
            addrs.push(addr);
            weights.push(weight.clamp(1, 1000));
        }
        let protocol = match parse_protocol(u.protocol.as_deref(), u.tls.is_some()) {
            Ok(p) => p,
            Err(e) => {
                errs.push(format!("{at}.protocol"), e);
                Protocol::Http1
            }
        };
        let tls = u
            .tls
            .as_ref()
            .and_then(|t| client_tls(t, &format!("{at}.tls"), errs));
        let server_name = u
            .tls
            .as_ref()
            .and_then(|t| t.server_name.as_ref())
            .and_then(|sn| match ServerName::try_from(sn.as_str().to_owned()) {
                Ok(n) => Some(n),
                Err(_) => {
                    errs.push(format!("{at}.tls.server_name"), "invalid server name");
                    None
                }
            });
        let balancer = match &u.balance {
            None | Some(BalanceConfig::RoundRobin) => Balancer::RoundRobin {
                sequence: balance::smooth_sequence(&weights),
                cursor: Default::default(),
            },
            Some(BalanceConfig::LeastRequest) => Balancer::LeastRequest,
            Some(BalanceConfig::ConsistentHash(k)) => {
                let key = match k {
                    HashKeyConfig::Header(h) => match http::HeaderName::from_bytes(h.as_bytes()) {
                        Ok(h) => HashKey::Header(h),
                        Err(_) => {
                            errs.push(format!("{at}.balance"), "invalid header name");
                            HashKey::ClientIp
                        }
                    },
                    HashKeyConfig::Cookie(c) => HashKey::Cookie(c.to_string()),
                    HashKeyConfig::ClientIp => HashKey::ClientIp,
                };
                Balancer::ConsistentHash {
                    ring: balance::ring(&addrs, &weights),
                    key,
                }
            }
        };
        let d = |v: &Option<crate::config::units::HumanDuration>, def: u64| {
            v.map(|d| d.0).unwrap_or(Duration::from_secs(def))
        };
        let settings = ClientSettings {
            protocol,
            tls: tls.map(Arc::new),
            connect_timeout: d(&u.timeouts.connect, 5),
            idle_timeout: d(&u.timeouts.idle, 90),
            max_idle: u.max_idle_per_target.unwrap_or(64),
            server_name,
        };
        let health = u
            .health_check
            .as_ref()
            .and_then(|h| health::HealthCheck::compile(h, &format!("{at}.health_check"), errs));
        if errs.errors.len() > before {
            continue;
        }
        // The client key names the upstream and every setting that shapes a connection: a
        // reload that keeps them keeps the pool; a changed setting gets a fresh one. TLS files
        // are keyed by path, so certificates rotated in place take effect on restart.
        let client_key = format!(
            "{name}|{:?}|{:?}|{:?}|{}|{:?}",
            settings.protocol,
            settings.connect_timeout,
            settings.idle_timeout,
            settings.max_idle,
            u.tls.as_ref().map(|t| (
                t.ca.as_ref().map(|s| s.0.clone()),
                t.client_cert.as_ref().map(|s| s.0.clone()),
                t.server_name.as_ref().map(|s| s.0.clone())
            )),
        );
        let client = registry.client(client_key.clone(), || client::build(&settings));
        let cleartext_h1 = settings.protocol == Protocol::Http1 && settings.tls.is_none();
        let mut live_target_clients = Vec::new();
        let targets = addrs
            .iter()
            .zip(&weights)
            .map(|(a, w)| {
                live_targets.push((name.clone(), a.clone()));
                let h1 = cleartext_h1.then(|| {
                    registry.h1_pool(&client_key, a, || {
                        h1::Pool::new(
                            a,
                            settings.connect_timeout,
                            settings.idle_timeout,
                            settings.max_idle,
                        )
                    })
                });
                let h2 = matches!(settings.protocol, Protocol::H2 | Protocol::H2c)
                    .then(|| format!("{}://{a}", if u.tls.is_some() { "https" } else { "http" }))
                    .and_then(|t| t.parse::<http::Uri>().ok())
                    .map(|target| {
                        let key = format!("{client_key}|{a}");
                        live_target_clients.push(key.clone());
                        registry.client(key, || client::build_for_target(&settings, target))
                    });
                Target {
                    addr: a.clone(),
                    weight: *w,
                    state: registry.target(name, a),
                    ok_counter: std::sync::OnceLock::new(),
                    h1,
                    h2,
                }
            })
            .collect();
        live_clients.push(client_key);
        live_clients.extend(live_target_clients);
        let passive = u.passive.as_ref().map(|p| Passive {
            consecutive_failures: p.consecutive_failures.unwrap_or(3).max(1),
            ejection: d(&p.ejection_time, 30),
        });
        let retry = u.retries.as_ref().map(|r| RetryPolicy {
            attempts: r.attempts.unwrap_or(2).min(10),
            budget_percent: r.budget_percent.unwrap_or(20).min(100),
            min_retries: r.min_retries.unwrap_or(10),
            on_statuses: r.on_statuses.clone().unwrap_or_else(|| vec![502, 503, 504]),
            max_body_bytes: r.max_body_bytes.map_or(64 * 1024, |b| b.0).min(1024 * 1024),
        });
        let breaker = u.circuit_breaker.as_ref().map(|b| Breaker {
            failure_threshold: b.failure_threshold.unwrap_or(5).max(1),
            open_for: d(&b.open_for, 10),
            max_in_flight: b.max_in_flight,
        });
        out.insert(
            name.clone(),
            Arc::new(Upstream {
                name: Arc::from(name.as_str()),
                targets,
                balancer,
                protocol,
                cleartext_h1,
                scheme: if u.tls.is_some() { "https" } else { "http" },
                client,
                request_timeout: d(&u.timeouts.request, 60),
                passive,
                retry,
                breaker,
                health,
                budget: registry.budget(name),
            }),
        );
    }
    CompiledUpstreams {
        upstreams: out,
        live_targets,
        live_clients,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn releases_in_flight_and_trial_when_cancelled() {
        let st = Arc::new(TargetState::default());
        st.breaker_trial.store(true, Ordering::Relaxed);
        let s2 = st.clone();
        let task = tokio::spawn(async move {
            let _trial = TrialGuard::new(&s2, true);
            let _busy = InFlight::enter(&s2.in_flight);
            std::future::pending::<()>().await;
        });
        tokio::task::yield_now().await;
        assert_eq!(st.in_flight.load(Ordering::Relaxed), 1);
        task.abort();
        let _ = task.await;
        assert_eq!(st.in_flight.load(Ordering::Relaxed), 0);
        assert!(!st.breaker_trial.load(Ordering::Relaxed));
    }

    #[test]
    fn keeps_trial_when_disarmed() {
        let st = TargetState::default();
        st.breaker_trial.store(true, Ordering::Relaxed);
        let mut g = TrialGuard::new(&st, true);
        g.disarm();
        drop(g);
        assert!(st.breaker_trial.load(Ordering::Relaxed));
    }
}
