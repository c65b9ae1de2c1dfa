//! The running gateway: binds listeners, installs the first snapshot, reloads on SIGHUP and on
//! file change, and drains on SIGTERM/SIGINT.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use arc_swap::ArcSwap;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config;
use crate::observe::access_log::AccessLog;
use crate::observe::metrics::Metrics;
use crate::snapshot::Snapshot;
use crate::upstream::state::{Registry, lock};

/// State shared by every task of the process.
pub struct Shared {
    /// The live snapshot.
    pub snapshot: ArcSwap<Snapshot>,
    /// State that survives reloads.
    pub registry: Registry,
    /// Metrics.
    pub metrics: Metrics,
    /// Access log: replaced by a reload that changes where it writes.
    pub access_log: ArcSwap<AccessLog>,
    /// Set to true once shutdown begins.
    pub shutdown: watch::Sender<bool>,
    /// False while draining, so `/readyz` tells load balancers to stop sending.
    pub ready: AtomicBool,
    /// The config file.
    pub config_path: PathBuf,
    /// The listening sockets and their accept loops.
    pub sockets: Sockets,
}

/// The listening sockets and their accept loops, by listener name. A reload binds the
/// listeners it adds or moves before it swaps the config in, and stops the loops of those it
/// removes or moves after.
#[derive(Default)]
pub struct Sockets {
    running: std::sync::Mutex<HashMap<Arc<str>, Running>>,
    /// The admin listener: its configured address and the sender that stops its loop.
    admin: std::sync::Mutex<Option<(SocketAddr, watch::Sender<bool>)>>,
}

/// One listener's socket and accept loop.
struct Running {
    /// The address the config asked for (`127.0.0.1:0` stays that, whatever port it got).
    bind: SocketAddr,
    tcp: Arc<TcpListener>,
    /// Dropping it (or sending) ends the accept loop.
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// What a reload does to the sockets: decided and bound before the new config is swapped in.
struct SocketPlan {
    /// Listeners to (re)start: name, configured address, socket.
    start: Vec<(Arc<str>, SocketAddr, Arc<TcpListener>)>,
    /// Listeners whose loops stop (removed, or moved to another address).
    stop: Vec<Arc<str>>,
    /// The admin listener's new address and socket, when `admin.bind` changed.
    admin: Option<(SocketAddr, TcpListener)>,
}

impl Sockets {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Running>> {
        lock(&self.running)
    }

    /// Binds what `next` adds or moves. A listener renamed on the same address keeps its
    /// socket. Fails, binding nothing that stays, when an address cannot be bound.
    fn plan(&self, next: &Snapshot) -> Result<SocketPlan, String> {
        let running = self.lock();
        let mut plan = SocketPlan {
            start: Vec::new(),
            stop: Vec::new(),
            admin: None,
        };
        let admin_moved = lock(&self.admin)
            .as_ref()
            .is_some_and(|(bind, _)| *bind != next.admin_bind);
        if admin_moved {
            let tcp = bind_now(next.admin_bind)
                .map_err(|e| format!("admin.bind: cannot bind {}: {e}", next.admin_bind))?;
            plan.admin = Some((next.admin_bind, tcp));
        }
        for (name, l) in &next.listeners {
            if running.get(name.as_str()).is_some_and(|r| r.bind == l.bind) {
                continue;
            }
            // A socket whose own listener goes away or moves can be handed over (a listener
            // renamed on the same address keeps accepting on it).
            let reused = running
                .iter()
                .find(|(n, r)| {
                    r.bind == l.bind && next.listeners.get(&***n).is_none_or(|nl| nl.bind != r.bind)
                })
                .map(|(_, r)| r.tcp.clone());
            let tcp =
                match reused {
                    Some(t) => t,
                    None => Arc::new(bind_now(l.bind).map_err(|e| {
                        format!("listeners.{name}.bind: cannot bind {}: {e}", l.bind)
                    })?),
                };
            plan.start.push((l.name.clone(), l.bind, tcp));
        }
        for (name, r) in running.iter() {
            match next.listeners.get(&**name) {
                Some(l) if l.bind == r.bind => {}
                _ => plan.stop.push(name.clone()),
            }
        }
        Ok(plan)
    }

    /// Starts an accept loop for `name` on `tcp`.
    fn start(&self, shared: &Arc<Shared>, name: Arc<str>, bind: SocketAddr, tcp: Arc<TcpListener>) {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(crate::listener::accept_loop(
            name.clone(),
            tcp.clone(),
            shared.clone(),
            stopped,
        ));
        self.lock().insert(
            name,
            Running {
                bind,
                tcp,
                stop,
                task,
            },
        );
    }

    /// Starts the admin listener's loop on `tcp`, stopping the one it replaces.
    fn start_admin(&self, shared: &Arc<Shared>, bind: SocketAddr, tcp: TcpListener) {
        if !bind.ip().is_loopback() {
            tracing::warn!(
                addr = %bind,
                "the admin listener is reachable beyond this host; bind it to 127.0.0.1 unless a \
                 firewall restricts it"
            );
        }
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(crate::admin::serve(tcp, shared.clone(), stopped));
        let old = lock(&self.admin).replace((bind, stop));
        if let Some((_, old)) = old {
            let _ = old.send(true);
        }
    }

    /// Stops the loops of `plan.stop`, then starts `plan.start` (and moves the admin listener).
    fn apply(&self, shared: &Arc<Shared>, plan: SocketPlan) {
        if let Some((bind, tcp)) = plan.admin {
            let addr = tcp
                .local_addr()
                .map_or_else(|_| bind.to_string(), |a| a.to_string());
            tracing::info!(addr = %addr, "admin listening (reload)");
            self.start_admin(shared, bind, tcp);
        }
        for name in plan.stop {
            if let Some(r) = self.lock().remove(&name) {
                let _ = r.stop.send(true);
                tracing::info!(listener = %name, addr = %r.bind, "listener stopped by reload");
            }
        }
        for (name, bind, tcp) in plan.start {
            let addr = tcp
                .local_addr()
                .map_or_else(|_| bind.to_string(), |a| a.to_string());
            tracing::info!(listener = %name, addr = %addr, "listening (reload)");
            self.start(shared, name, bind, tcp);
        }
    }

    /// The accept loops, for the shutdown to wait on.
    fn take_tasks(&self) -> Vec<tokio::task::JoinHandle<()>> {
        self.lock().drain().map(|(_, r)| r.task).collect()
    }
}

/// Binds `addr` now (a reload runs on a blocking thread of the runtime, so the socket can be
/// registered with it). Like `TcpListener::bind`: `SO_REUSEADDR` on Unix, non-blocking.
fn bind_now(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let std = std::net::TcpListener::bind(addr)?;
    std.set_nonblocking(true)?;
    TcpListener::from_std(std)
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("config_path", &self.config_path)
            .finish()
    }
}

impl Shared {
    /// Compiles the config file again and swaps it in on success. On failure the running
    /// snapshot stays and every error is logged. Returns whether the reload took effect.
    pub fn reload(self: &Arc<Self>, trigger: &'static str) -> bool {
        match config::load(&self.config_path, &self.registry) {
            Ok(next) => {
                // New and moved listeners are bound first: an address that cannot be bound
                // rejects the whole reload, and the running config stays.
                let plan = match self.sockets.plan(&next) {
                    Ok(p) => p,
                    Err(e) => {
                        self.metrics.reload(false);
                        tracing::error!(trigger, error = %e, "config reload rejected; keeping the running config");
                        return false;
                    }
                };
                // A new destination is opened before the swap too: a log that cannot be
                // opened rejects the reload.
                let log = if self.access_log.load().matches(&next.access_log) {
                    None
                } else {
                    match AccessLog::for_settings(&next.access_log) {
                        Ok(l) => Some(l),
                        Err(e) => {
                            self.metrics.reload(false);
                            tracing::error!(trigger, error = %format!("access_log.path: cannot open: {e}"), "config reload rejected; keeping the running config");
                            return false;
                        }
                    }
                };
                let next = Arc::new(next);
                self.snapshot.store(next.clone());
                if let Some(l) = log {
                    // Records of requests already running go to the old writer, which ends
                    // once they are written.
                    self.access_log.store(Arc::new(l));
                    tracing::info!("access log reopened");
                }
                self.sockets.apply(self, plan);
                self.registry.retain(&next.live_targets, &next.live_clients);
                retain_state(&self.registry, &next);
                self.start_background(&next);
                self.metrics.reload(true);
                tracing::info!(
                    trigger,
                    routes = next.router.routes().len(),
                    "config reloaded"
                );
                true
            }
            Err(errors) => {
                self.metrics.reload(false);
                for e in &errors.0 {
                    tracing::error!(trigger, error = %e, "config reload rejected; keeping the running config");
                }
                false
            }
        }
    }

    /// Starts the background tasks of a newly installed snapshot (health checks).
    fn start_background(self: &Arc<Self>, snap: &Arc<Snapshot>) {
        snap.start_background(&self.metrics);
        for up in snap.upstreams.values() {
            let weak = Arc::downgrade(self);
            for t in &up.targets {
                self.metrics.target_health(
                    &up.name,
                    &t.addr,
                    t.state.healthy.load(Ordering::Relaxed),
                );
            }
            crate::upstream::health::spawn(
                up,
                Arc::new(move |upstream, target, healthy| {
                    if let Some(s) = weak.upgrade() {
                        s.metrics.target_health(upstream, target, healthy);
                    }
                    if healthy {
                        tracing::info!(upstream, target, "upstream target healthy");
                    } else {
                        tracing::warn!(upstream, target, "upstream target unhealthy");
                    }
                }),
            );
        }
    }
}

/// Forgets traffic state the config `snap` no longer uses.
fn retain_state(registry: &Registry, snap: &Snapshot) {
    // In-flight counts are kept by route name, or `<route>/<operation>` for an OpenAPI
    // operation with a concurrency limit of its own.
    let routes: Vec<String> = snap
        .router
        .all_routes()
        .flat_map(|r| {
            std::iter::once(r.name.to_string()).chain(r.chain.iter().filter_map(|s| match s {
                crate::policy::Stage::Concurrency(c) => Some(c.label.clone()),
                _ => None,
            }))
        })
        .collect();
    let rules: Vec<String> = snap.bans.iter().map(|b| b.name.clone()).collect();
    let live: Vec<_> = snap.state_redis.iter().cloned().collect();
    if let Some(r) = &snap.state_redis {
        registry.state.metrics.set_up(&r.display, r.is_up());
    }
    registry.state.retain(&live, &routes, &rules);
}

/// How often a drain checks whether the last connection has closed.
const DRAIN_POLL: Duration = Duration::from_millis(50);

/// Runs the gateway on `config_path` until SIGTERM/SIGINT and a drain.
pub async fn run(config_path: &Path) -> anyhow::Result<()> {
    let registry = Registry::default();
    let snap = config::load(config_path, &registry).map_err(|e| anyhow::anyhow!("{e}"))?;
    let access_log = AccessLog::for_settings(&snap.access_log).context("opening the access log")?;
    let mut bound = Vec::new();
    for (name, l) in &snap.listeners {
        let tcp = TcpListener::bind(l.bind)
            .await
            .with_context(|| format!("binding listener {name} on {}", l.bind))?;
        tracing::info!(listener = %name, addr = %tcp.local_addr()?, tls = l.tls.is_some(), "listening");
        bound.push((l.name.clone(), l.bind, tcp));
    }
    let admin = TcpListener::bind(snap.admin_bind)
        .await
        .with_context(|| format!("binding the admin listener on {}", snap.admin_bind))?;
    tracing::info!(addr = %admin.local_addr()?, "admin listening");
    let (shutdown, _) = watch::channel(false);
    let snap = Arc::new(snap);
    let mut metrics = Metrics::new();
    metrics.register_state(&registry.state.metrics);
    retain_state(&registry, &snap);
    let shared = Arc::new(Shared {
        snapshot: ArcSwap::new(snap.clone()),
        registry,
        metrics,
        access_log: ArcSwap::from_pointee(access_log),
        shutdown,
        ready: AtomicBool::new(true),
        config_path: config_path.to_path_buf(),
        sockets: Sockets::default(),
    });
    shared.start_background(&snap);

    for (name, bind, tcp) in bound {
        shared.sockets.start(&shared, name, bind, Arc::new(tcp));
    }
    shared.sockets.start_admin(&shared, snap.admin_bind, admin);
    tokio::spawn(watch_file(shared.clone()));
    tokio::spawn(reload_on_sighup(shared.clone()));
    tokio::spawn(crate::state::bans::sync_loop(Arc::downgrade(&shared)));

    wait_for_termination().await;
    let deadline = shared.snapshot.load().shutdown_timeout;
    tracing::info!(
        deadline_ms = deadline.as_millis() as u64,
        "shutting down: draining connections"
    );
    shared.ready.store(false, Ordering::Relaxed);
    let _ = shared.shutdown.send(true);
    for task in shared.sockets.take_tasks() {
        let _ = task.await;
    }
    // Accept loops have stopped; wait for open connections to finish their requests.
    let start = tokio::time::Instant::now();
    loop {
        let open = shared.metrics.open_connections();
        if open == 0 {
            break;
        }
        if start.elapsed() >= deadline {
            tracing::warn!(
                open,
                "drain deadline reached; closing remaining connections"
            );
            break;
        }
        tokio::time::sleep(DRAIN_POLL).await;
    }
    tracing::info!("stopped");
    Ok(())
}

#[cfg(unix)]
async fn wait_for_termination() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

#[cfg(not(unix))]
async fn wait_for_termination() {
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(unix)]
async fn reload_on_sighup(shared: Arc<Shared>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP; reload by file change only");
        return;
    };
    while hup.recv().await.is_some() {
        let s = shared.clone();
        // Compiling reads files and may build TLS contexts: keep it off the async workers.
        let _ = tokio::task::spawn_blocking(move || s.reload("sighup")).await;
    }
}

#[cfg(not(unix))]
async fn reload_on_sighup(_shared: Arc<Shared>) {}

fn fingerprint(path: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// Polls the config file's modification time and size; a change triggers a reload. Polling
/// (rather than inotify) also sees files replaced through symlink swaps, as ConfigMaps do.
/// Fingerprints of the config file and the list files the running config reads.
fn fingerprints(shared: &Shared) -> Vec<Option<(SystemTime, u64)>> {
    let mut out = vec![fingerprint(&shared.config_path)];
    out.extend(
        shared
            .snapshot
            .load()
            .watched_files()
            .iter()
            .map(|p| fingerprint(p)),
    );
    out
}

async fn watch_file(shared: Arc<Shared>) {
    let mut last = fingerprints(&shared);
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        let (watch, interval) = {
            let s = shared.snapshot.load();
            (s.watch, s.watch_interval)
        };
        tokio::select! {
            _ = tokio::time::sleep(if watch { interval } else { Duration::from_secs(1) }) => {}
            _ = shutdown.changed() => return,
        }
        if !watch {
            continue;
        }
        let now = fingerprints(&shared);
        if now[0].is_some() && now != last {
            let s = shared.clone();
            let _ = tokio::task::spawn_blocking(move || s.reload("file_change")).await;
            // Taken after the reload: the new config may read other list files.
            last = fingerprints(&shared);
        }
    }
}
