//! Per-target state that must outlive a config reload: health, ejection, circuit breaker and
//! in-flight counts, plus pooled clients and retry budgets. Keyed by stable names (upstream name
//! and target address), so a reload that keeps a target keeps its state and its connections.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use tokio::time::Instant;

/// Milliseconds since the process started; monotonic, cheap to store in atomics.
pub fn now_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    let start = *START.get_or_init(Instant::now);
    Instant::now().saturating_duration_since(start).as_millis() as u64 + 1
}

/// [`now_ms`], read at most once, and only when a target's ejection or open breaker asks for
/// it (most requests find neither).
#[derive(Debug, Default)]
pub struct LazyNow(std::cell::Cell<u64>);

impl LazyNow {
    /// The time, read on first use.
    pub fn get(&self) -> u64 {
        match self.0.get() {
            0 => {
                let now = now_ms();
                self.0.set(now);
                now
            }
            now => now,
        }
    }
}

/// Health and failure bookkeeping of one target.
#[derive(Debug)]
pub struct TargetState {
    /// Result of active health checks (true until a check says otherwise).
    pub healthy: AtomicBool,
    /// Consecutive active-check successes and failures.
    pub hc_successes: AtomicU32,
    /// Consecutive active-check failures.
    pub hc_failures: AtomicU32,
    /// Consecutive live-traffic failures (passive ejection).
    pub passive_failures: AtomicU32,
    /// Ejected until this `now_ms()`; 0 when not ejected.
    pub ejected_until: AtomicU64,
    /// Consecutive failures counted by the circuit breaker.
    pub breaker_failures: AtomicU32,
    /// Circuit open until this `now_ms()`; 0 when closed.
    pub breaker_open_until: AtomicU64,
    /// A half-open trial request is in flight.
    pub breaker_trial: AtomicBool,
    /// Requests in flight.
    pub in_flight: AtomicUsize,
}

impl Default for TargetState {
    fn default() -> Self {
        Self {
            healthy: AtomicBool::new(true),
            hc_successes: AtomicU32::new(0),
            hc_failures: AtomicU32::new(0),
            passive_failures: AtomicU32::new(0),
            ejected_until: AtomicU64::new(0),
            breaker_failures: AtomicU32::new(0),
            breaker_open_until: AtomicU64::new(0),
            breaker_trial: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
        }
    }
}

impl TargetState {
    /// Whether the active checks and passive ejection allow traffic now.
    pub fn is_up(&self, now: &LazyNow) -> bool {
        let ejected_until = self.ejected_until.load(Ordering::Relaxed);
        if ejected_until != 0 {
            if ejected_until > now.get() {
                return false;
            }
            // Over: cleared, so later requests need not read the clock for it. A newer
            // ejection stored meanwhile is left alone.
            let _ = self.ejected_until.compare_exchange(
                ejected_until,
                0,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
        self.healthy.load(Ordering::Relaxed)
    }
}

/// Retries allowed as a share of recent requests (Finagle/Envoy-style retry budget), over
/// fixed 10-second windows.
#[derive(Debug, Default)]
pub struct RetryBudget {
    window_start: AtomicU64,
    requests: AtomicU64,
    retries: AtomicU64,
}

const BUDGET_WINDOW_MS: u64 = 10_000;

impl RetryBudget {
    fn roll(&self, now: u64) {
        let start = self.window_start.load(Ordering::Relaxed);
        if now.saturating_sub(start) >= BUDGET_WINDOW_MS
            && self
                .window_start
                .compare_exchange(start, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.requests.store(0, Ordering::Relaxed);
            self.retries.store(0, Ordering::Relaxed);
        }
    }

    /// Counts a first attempt.
    pub fn record_request(&self) {
        self.roll(now_ms());
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Takes one retry from the budget, if there is one left.
    pub fn try_retry(&self, percent: u32, min: u32) -> bool {
        self.roll(now_ms());
        let allowed =
            (self.requests.load(Ordering::Relaxed) * u64::from(percent) / 100).max(u64::from(min));
        let used = self.retries.fetch_add(1, Ordering::Relaxed);
        if used < allowed {
            true
        } else {
            self.retries.fetch_sub(1, Ordering::Relaxed);
            false
        }
    }
}

/// State kept across reloads, owned by the server and consulted by `compile()`.
#[derive(Debug, Default)]
pub struct Registry {
    targets: Mutex<HashMap<(String, String), Arc<TargetState>>>,
    budgets: Mutex<HashMap<String, Arc<RetryBudget>>>,
    clients: Mutex<HashMap<String, super::client::HttpClient>>,
    /// Idle HTTP/1.1 connections per (client key, target address).
    h1_pools: Mutex<HashMap<(String, String), Arc<super::h1::Pool>>>,
    /// JWKS sources, kept while a config uses them.
    pub jwks: crate::policy::authn::jwks::JwksRegistry,
    /// Traffic-control state (counters, stores, bans, in-flight counts), kept across reloads.
    pub state: crate::state::StateRegistry,
}

impl Registry {
    /// The state of target `addr` in upstream `upstream`, created on first use.
    pub fn target(&self, upstream: &str, addr: &str) -> Arc<TargetState> {
        let mut map = lock(&self.targets);
        map.entry((upstream.to_owned(), addr.to_owned()))
            .or_default()
            .clone()
    }

    /// The retry budget of `upstream`.
    pub fn budget(&self, upstream: &str) -> Arc<RetryBudget> {
        let mut map = lock(&self.budgets);
        map.entry(upstream.to_owned()).or_default().clone()
    }

    /// A pooled client for `key`, made by `make` the first time.
    pub fn client(
        &self,
        key: String,
        make: impl FnOnce() -> super::client::HttpClient,
    ) -> super::client::HttpClient {
        let mut map = lock(&self.clients);
        map.entry(key).or_insert_with(make).clone()
    }

    /// The pool of idle HTTP/1.1 connections to `addr` under client settings `key`.
    pub fn h1_pool(
        &self,
        key: &str,
        addr: &str,
        make: impl FnOnce() -> Arc<super::h1::Pool>,
    ) -> Arc<super::h1::Pool> {
        let mut map = lock(&self.h1_pools);
        map.entry((key.to_owned(), addr.to_owned()))
            .or_insert_with(make)
            .clone()
    }

    /// Forgets state of targets and clients no longer in `live` config, so the registry stays
    /// bounded by what the current config names.
    pub fn retain(&self, live_targets: &[(String, String)], live_clients: &[String]) {
        let mut t = lock(&self.targets);
        t.retain(|k, _| live_targets.contains(k));
        let mut c = lock(&self.clients);
        c.retain(|k, _| live_clients.contains(k));
        let mut p = lock(&self.h1_pools);
        p.retain(|(k, addr), _| {
            live_clients.contains(k) && live_targets.iter().any(|(_, a)| a == addr)
        });
        let mut b = lock(&self.budgets);
        b.retain(|k, _| live_targets.iter().any(|(u, _)| u == k));
    }
}

/// Locks a registry map or an idle-connection pool. These locks are never held across an
/// `.await`, so a std mutex is right; a poisoned lock (a panic elsewhere while holding it)
/// still holds valid data.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_budget_allows_min_then_share() {
        let b = RetryBudget::default();
        for _ in 0..100 {
            b.record_request();
        }
        // 20 % of 100 = 20 retries.
        let granted = (0..50).filter(|_| b.try_retry(20, 3)).count();
        assert_eq!(granted, 20);
        let b = RetryBudget::default();
        let granted = (0..50).filter(|_| b.try_retry(20, 3)).count();
        assert_eq!(granted, 3);
    }

    #[test]
    fn ejection_reads_the_clock_only_while_set_and_clears_when_over() {
        let t = TargetState::default();
        // Not ejected: up, and the clock is never read.
        let now = LazyNow::default();
        assert!(t.is_up(&now));
        assert_eq!(now.0.get(), 0);
        // Ejected until later: down, and the ejection stays.
        let now = LazyNow::default();
        let later = now.get() + 60_000;
        t.ejected_until.store(later, Ordering::Relaxed);
        assert!(!t.is_up(&now));
        assert_eq!(t.ejected_until.load(Ordering::Relaxed), later);
        // The clock is read once per request, however many targets ask.
        let first = now.get();
        assert_eq!(now.get(), first);
        // An ejection that is over: up again, and cleared so later requests skip the clock.
        while now_ms() < 3 {
            std::hint::spin_loop();
        }
        let now = LazyNow::default();
        let earlier = now.get() - 1;
        assert!(earlier > 0, "an ejection time, not the `none` mark");
        t.ejected_until.store(earlier, Ordering::Relaxed);
        assert!(t.is_up(&now));
        assert_eq!(t.ejected_until.load(Ordering::Relaxed), 0);
        // Over but unhealthy by the active checks: still down.
        t.healthy.store(false, Ordering::Relaxed);
        t.ejected_until.store(earlier, Ordering::Relaxed);
        assert!(!t.is_up(&LazyNow::default()));
    }

    #[test]
    fn registry_keeps_state_for_same_target() {
        let r = Registry::default();
        let a = r.target("u", "127.0.0.1:1");
        a.in_flight.store(3, Ordering::Relaxed);
        let b = r.target("u", "127.0.0.1:1");
        assert_eq!(b.in_flight.load(Ordering::Relaxed), 3);
        r.retain(&[], &[]);
        let c = r.target("u", "127.0.0.1:1");
        assert_eq!(c.in_flight.load(Ordering::Relaxed), 0);
    }
}
