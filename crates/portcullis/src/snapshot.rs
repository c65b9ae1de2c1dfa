//! The immutable, compiled configuration. Every request pins one snapshot when it starts and
//! finishes on it; a reload swaps in a new one atomically.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use ipnet::IpNet;

use crate::listener::ListenerRuntime;
use crate::router::Router;
use crate::upstream::Upstream;

/// A compiled config.
#[derive(Debug)]
pub struct Snapshot {
    /// Listeners by name.
    pub listeners: HashMap<String, Arc<ListenerRuntime>, foldhash::fast::RandomState>,
    /// Admin bind address.
    pub admin_bind: SocketAddr,
    /// Routes.
    pub router: Router,
    /// Upstreams by name.
    pub upstreams: HashMap<String, Arc<Upstream>>,
    /// Trusted proxy CIDRs.
    pub trusted_proxies: Vec<IpNet>,
    /// Response security headers added unless present.
    pub security_headers: Vec<(HeaderName, HeaderValue)>,
    /// Access-log settings.
    pub access_log: AccessLogSettings,
    /// Watch the file for changes.
    pub watch: bool,
    /// File check interval.
    pub watch_interval: Duration,
    /// Drain deadline.
    pub shutdown_timeout: Duration,
    /// Where this snapshot came from.
    pub source: PathBuf,
    /// Keys of state this config uses, for pruning the registry after a swap.
    pub live_targets: Vec<(String, String)>,
    /// Keys of pooled clients this config uses.
    pub live_clients: Vec<String>,
    /// JWKS URLs this config's issuers fetch.
    pub jwks_sources: Vec<Arc<crate::policy::authn::jwks::JwksSource>>,
    /// Auto-ban rules (offences are counted after each request).
    pub bans: Vec<Arc<crate::state::bans::BanRule>>,
    /// The Redis store of `state.redis`, when configured.
    pub state_redis: Option<Arc<crate::state::redis::RedisStore>>,
    /// How often shared bans are copied in.
    pub ban_sync_interval: Duration,
}

impl Snapshot {
    /// Starts background work the config needs (JWKS refreshes); idempotent.
    pub fn start_background(&self, metrics: &crate::observe::metrics::Metrics) {
        for s in &self.jwks_sources {
            s.start(metrics);
        }
    }

    /// Files besides the config whose change triggers a reload (IP list files).
    pub fn watched_files(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = Vec::new();
        for l in self.listeners.values() {
            if let Some(f) = &l.ip_filter {
                out.extend(f.files.iter().cloned());
            }
        }
        for r in self.router.all_routes() {
            for s in &r.chain {
                if let crate::policy::Stage::IpFilter(f) = s {
                    out.extend(f.files.iter().cloned());
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Whether everything the config needs before serving is loaded (every JWKS fetched once).
    pub fn is_ready(&self) -> bool {
        self.jwks_sources.iter().all(|s| s.is_loaded())
    }
}

/// Access-log settings.
#[derive(Debug, Clone)]
pub struct AccessLogSettings {
    /// Off.
    pub disabled: bool,
    /// Destination; `None` is stdout.
    pub path: Option<PathBuf>,
    /// Headers to include (lower case).
    pub headers: Vec<String>,
    /// Extra redacted names.
    pub redact: Vec<String>,
    /// Channel size.
    pub buffer: usize,
}
