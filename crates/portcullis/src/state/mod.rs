//! Shared state for traffic control: rate-limit counters, quota counters, offence counters and
//! bans. The in-process store ([`MemoryStore`]) is the default and needs nothing installed; the
//! Redis store ([`redis::RedisStore`]) shares the same state across a cluster of gateways and
//! runs each decision as one server-side script on the Redis server's clock.
//!
//! GCRA (generic cell rate algorithm): each key keeps one number, its theoretical arrival time
//! (TAT). With emission interval `T = period / requests` and `burst` requests allowed at once, a
//! request at `now` is admitted when `max(TAT, now) + T - burst·T <= now`, and then TAT moves
//! to `max(TAT, now) + T`. A refused request changes nothing, so refused requests do not use up
//! quota. Throttling by delay admits a request whose slot is at most `max_delay` away and tells
//! the caller to wait until then. Written by hand (rather than with `governor`) so that the
//! in-process and the Redis store compute exactly the same thing, including the `RateLimit`
//! header values.

pub mod bans;
pub mod redis;

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::observe::metrics::StateMetrics;

use tokio::time::Instant;

/// Shards of the in-process store (fewer lock collisions between workers).
const SHARDS: usize = 16;
/// Keys kept per shard at most; past it, keys whose TAT has passed (equal to a fresh key) are
/// dropped first, then the oldest.
const MAX_KEYS_PER_SHARD: usize = 64 * 1024;

/// The parameters of one limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gcra {
    /// Emission interval, nanoseconds (period / requests).
    pub interval_ns: u64,
    /// Requests admitted at once.
    pub burst: u32,
}

impl Gcra {
    /// `requests` per `period`, with `burst` at once.
    pub fn new(requests: u32, period: Duration, burst: u32) -> Option<Self> {
        if requests == 0 || burst == 0 || period.is_zero() {
            return None;
        }
        let interval_ns = u64::try_from(period.as_nanos() / u128::from(requests)).ok()?;
        (interval_ns > 0).then_some(Self { interval_ns, burst })
    }
}

/// What the store decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// Admitted.
    pub allowed: bool,
    /// Requests still admitted at once after this one.
    pub remaining: u32,
    /// When the next request would be admitted (zero when admitted now).
    pub retry_after: Duration,
    /// Until the limit is fully replenished.
    pub reset_after: Duration,
    /// How long an admitted request waits first (throttling by delay; zero without it).
    pub delay: Duration,
}

/// What a quota counter decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaVerdict {
    /// Admitted (and counted).
    pub allowed: bool,
    /// Requests left in the window after this one.
    pub remaining: u64,
    /// Milliseconds until the window ends, by the clock of the store that decided.
    pub reset_ms: u64,
}

/// A quota window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaPeriod {
    /// A UTC calendar day.
    Day,
    /// A UTC calendar month.
    Month,
}

pub(crate) const DAY_MS: u64 = 86_400_000;

/// Days since 1970-01-01 → (year, month 1-12). (Howard Hinnant's civil-from-days.)
pub(crate) fn civil_from_days(days: i64) -> (i64, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, u32::try_from(m).unwrap_or(1))
}

/// (year, month 1-12, day 1) → days since 1970-01-01.
pub(crate) fn days_from_civil(y: i64, m: u32) -> i64 {
    let m = i64::from(m);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl QuotaPeriod {
    /// Start and end (Unix ms) of the window holding `now_ms`.
    pub fn window(self, now_ms: u64) -> (u64, u64) {
        let day = now_ms / DAY_MS;
        match self {
            Self::Day => (day * DAY_MS, (day + 1) * DAY_MS),
            Self::Month => {
                let (y, m) = civil_from_days(i64::try_from(day).unwrap_or(0));
                let start = days_from_civil(y, m);
                let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                let end = days_from_civil(ny, nm);
                let ms = |d: i64| u64::try_from(d).unwrap_or(0) * DAY_MS;
                (ms(start), ms(end))
            }
        }
    }

    /// Nominal window length in seconds (for `RateLimit-Policy`).
    pub fn nominal_secs(self) -> u64 {
        match self {
            Self::Day => 86_400,
            Self::Month => 2_592_000,
        }
    }
}

/// How a limit decides when its shared store cannot answer in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnStoreError {
    /// Refuse the request (503).
    Deny,
    /// Admit the request unlimited.
    Allow,
    /// Decide with this gateway's own in-process counters.
    Local,
}

/// Milliseconds since the Unix epoch on this host's clock (quota windows are calendar windows).
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// One GCRA step on a stored TAT (nanoseconds on the store's clock). A request whose slot is
/// at most `max_delay_ns` away is admitted with that delay. Returns the verdict and the TAT to
/// store (`None`: leave it).
pub fn gcra_step(tat: Option<u64>, now: u64, g: Gcra, max_delay_ns: u64) -> (Verdict, Option<u64>) {
    let t = g.interval_ns;
    let window = t.saturating_mul(u64::from(g.burst));
    let tat = tat.unwrap_or(now).max(now);
    let new_tat = tat.saturating_add(t);
    let allow_at = new_tat.saturating_sub(window);
    let wait = allow_at.saturating_sub(now);
    if wait > max_delay_ns {
        return (
            Verdict {
                allowed: false,
                remaining: 0,
                retry_after: Duration::from_nanos(wait - max_delay_ns),
                reset_after: Duration::from_nanos(tat - now),
                delay: Duration::ZERO,
            },
            None,
        );
    }
    let used = new_tat - now; // ≤ window + max_delay
    let remaining = window.saturating_sub(used) / t;
    (
        Verdict {
            allowed: true,
            remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
            retry_after: Duration::ZERO,
            reset_after: Duration::from_nanos(used),
            delay: Duration::from_nanos(wait),
        },
        Some(new_tat),
    )
}

/// The in-process store. Kept across reloads (by the server's registry), so counters survive a
/// config change. Every map is sharded and bounded.
#[derive(Debug)]
pub struct MemoryStore {
    epoch: Instant,
    /// Rate-limit state: keyed hash of the limit's key → theoretical arrival time (ns).
    shards: Vec<Mutex<HashMap<u64, u64, Prehashed>>>,
    /// Windowed counters (quotas): key → (count, window end in Unix ms).
    counters: Vec<Mutex<Map<(u64, u64)>>>,
    /// Offence counts of ban rules: key → eight (step number, offences) buckets.
    offences: Vec<Mutex<Map<Buckets>>>,
    hasher: foldhash::fast::RandomState,
}

/// Eight (step number, count) buckets of a sliding window (see [`MemoryStore::offence`]).
type Buckets = [(u64, u32); 8];

/// A key map with a per-process random seed.
type Map<V> = HashMap<String, V, foldhash::fast::RandomState>;

/// For maps keyed by a keyed hash already: the key is its own hash.
#[derive(Debug, Clone, Copy, Default)]
struct Prehashed;

impl BuildHasher for Prehashed {
    type Hasher = PrehashedHasher;
    fn build_hasher(&self) -> PrehashedHasher {
        PrehashedHasher(0)
    }
}

#[derive(Debug)]
struct PrehashedHasher(u64);

impl std::hash::Hasher for PrehashedHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used; anything else is folded in so this stays a hash.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            shards: (0..SHARDS)
                .map(|_| Mutex::new(HashMap::default()))
                .collect(),
            counters: (0..SHARDS).map(|_| Mutex::new(Map::default())).collect(),
            offences: (0..SHARDS).map(|_| Mutex::new(Map::default())).collect(),
            hasher: foldhash::fast::RandomState::default(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl MemoryStore {
    fn shard<'a, V>(&self, of: &'a [Mutex<Map<V>>], key: &str) -> &'a Mutex<Map<V>> {
        &of[(self.hasher.hash_one(key) as usize) % SHARDS]
    }

    /// One rate-limit decision for `key`.
    pub fn check(&self, key: &str, g: Gcra, max_delay: Duration) -> Verdict {
        self.check_hashed(self.hasher.hash_one(key), g, max_delay, Instant::now())
    }

    /// A hasher for [`MemoryStore::check_hashed`] keys, with this store's random seed.
    pub fn key_hasher(&self) -> impl std::hash::Hasher {
        self.hasher.build_hasher()
    }

    /// One rate-limit decision for the key whose [`MemoryStore::key_hasher`] hash is `key`,
    /// for a request that arrived at `at` (the caller's clock reading, so several limits on
    /// one request read the clock once). Keys are held as 64-bit keyed hashes: no key text
    /// (client address, hashed header) is stored, and two keys that collide would only share
    /// one budget, which makes both stricter.
    pub fn check_hashed(&self, key: u64, g: Gcra, max_delay: Duration, at: Instant) -> Verdict {
        let now =
            u64::try_from(at.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX);
        let max_delay_ns = u64::try_from(max_delay.as_nanos()).unwrap_or(u64::MAX);
        // The shard comes from middle bits; the map uses the low bits and the top seven.
        let shard = usize::try_from(key >> 32).unwrap_or(0) % SHARDS;
        let mut map = lock(&self.shards[shard]);
        // A known key: one lookup, updated in place.
        if let Some(tat) = map.get_mut(&key) {
            let (verdict, store) = gcra_step(Some(*tat), now, g, max_delay_ns);
            if let Some(next) = store {
                *tat = next;
            }
            return verdict;
        }
        let (verdict, store) = gcra_step(None, now, g, max_delay_ns);
        if let Some(tat) = store {
            if map.len() >= MAX_KEYS_PER_SHARD {
                map.retain(|_, tat| *tat > now);
                if map.len() >= MAX_KEYS_PER_SHARD
                    && let Some(oldest) = map.iter().min_by_key(|(_, t)| **t).map(|(k, _)| *k)
                {
                    map.remove(&oldest);
                }
            }
            map.insert(key, tat);
        }
        verdict
    }

    /// Adds one to the counter `key` unless it already reached `limit`. The counter lives until
    /// `window_end` (Unix ms) when it is new; an expired counter starts again.
    /// Returns whether it was counted and the count after.
    pub fn count(&self, key: String, limit: u64, now_ms: u64, window_end: u64) -> (bool, u64) {
        let mut map = lock(self.shard(&self.counters, &key));
        if let Some((n, end)) = map.get_mut(&key) {
            if *end > now_ms {
                if *n >= limit {
                    return (false, *n);
                }
                *n += 1;
                return (true, *n);
            }
            *n = 1;
            *end = window_end;
            return (true, 1);
        }
        if map.len() >= MAX_KEYS_PER_SHARD {
            map.retain(|_, (_, end)| *end > now_ms);
            if map.len() >= MAX_KEYS_PER_SHARD
                && let Some(first) = map
                    .iter()
                    .min_by_key(|(_, (_, e))| *e)
                    .map(|(k, _)| k.clone())
            {
                map.remove(&first);
            }
        }
        map.insert(key, (1, window_end));
        (true, 1)
    }

    /// Forgets the counter `key`.
    pub fn reset(&self, key: &str) {
        lock(self.shard(&self.counters, key)).remove(key);
    }

    /// Counts one offence under `key` over a sliding window of `within_ms` in eight steps
    /// (as the Redis store does): offences of the current step and the seven before it
    /// count, so each counts for between 7/8 of `within_ms` and all of it. Returns the count
    /// with this one; at `threshold` the key is cleared (counting starts again). At most
    /// eight buckets a key, whatever the threshold.
    pub fn offence(&self, key: &str, threshold: u32, within_ms: u64, now_ms: u64) -> u32 {
        let step = within_ms.div_ceil(8).max(1);
        let cur = now_ms / step;
        let live = |idx: u64| idx <= cur && idx + 8 > cur;
        let mut map = lock(self.shard(&self.offences, key));
        let n = match map.get_mut(key) {
            Some(buckets) => {
                let mut n = 1u32;
                for b in buckets.iter_mut() {
                    if live(b.0) {
                        n = n.saturating_add(b.1);
                    } else {
                        *b = (0, 0);
                    }
                }
                if n < threshold {
                    let slot = &mut buckets[(cur % 8) as usize];
                    if slot.0 == cur {
                        slot.1 = slot.1.saturating_add(1);
                    } else {
                        *slot = (cur, 1);
                    }
                }
                n
            }
            None => {
                if threshold > 1 {
                    if map.len() >= MAX_KEYS_PER_SHARD {
                        map.retain(|_, b| b.iter().any(|x| live(x.0)));
                        if map.len() >= MAX_KEYS_PER_SHARD
                            && let Some(stalest) = map
                                .iter()
                                .min_by_key(|(_, b)| b.iter().map(|x| x.0).max())
                                .map(|(k, _)| k.clone())
                        {
                            map.remove(&stalest);
                        }
                    }
                    let mut buckets = [(0u64, 0u32); 8];
                    buckets[(cur % 8) as usize] = (cur, 1);
                    map.insert(key.to_owned(), buckets);
                }
                1
            }
        };
        if n >= threshold {
            map.remove(key);
        }
        n
    }

    /// One quota decision: counted while under `limit` in the window ending at `window_end`.
    pub fn quota(&self, key: &str, limit: u64, period: QuotaPeriod) -> QuotaVerdict {
        let now = unix_ms();
        let (start, end) = period.window(now);
        // One counter per window: the window's start (seconds) ends the key.
        let mut k = String::with_capacity(key.len() + 12);
        k.push_str(key);
        k.push('@');
        k.push_str(itoa::Buffer::new().format(start / 1000));
        let (allowed, n) = self.count(k, limit, now, end);
        QuotaVerdict {
            allowed,
            remaining: limit.saturating_sub(n),
            reset_ms: end.saturating_sub(now),
        }
    }

    /// Rate-limit keys held now (for tests and metrics).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
    }

    /// Whether no rate-limit key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Where one limit or quota keeps its counters.
#[derive(Debug, Clone)]
pub enum Backend {
    /// This process.
    Memory(Arc<MemoryStore>),
    /// Redis, with what to do when it fails.
    Redis {
        /// The store.
        redis: Arc<redis::RedisStore>,
        /// Failure mode.
        on_error: OnStoreError,
        /// Counters for `local` mode.
        local: Arc<MemoryStore>,
        /// Fallback counting.
        metrics: StateMetrics,
    },
}

/// A store's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer<T> {
    /// Decided (by the store or the local fallback).
    Decided(T),
    /// The store failed and the limit says `allow`: no limit applies.
    Unlimited,
    /// The store failed and the limit says `deny`.
    Unavailable,
}

impl OnStoreError {
    /// Config name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deny => "deny",
            Self::Allow => "allow",
            Self::Local => "local",
        }
    }
}

impl Backend {
    /// One rate-limit decision.
    pub async fn check(&self, key: &str, g: Gcra, max_delay: Duration) -> Answer<Verdict> {
        match self {
            Self::Memory(m) => Answer::Decided(m.check(key, g, max_delay)),
            Self::Redis { redis, .. } => {
                let shared = redis.check(key, g, max_delay).await;
                self.settle(shared, |local| local.check(key, g, max_delay))
            }
        }
    }

    /// One quota decision in the calendar window of the store's clock (the Redis server's for
    /// the Redis store, so every gateway counts into the same window).
    pub async fn quota(&self, key: &str, limit: u64, period: QuotaPeriod) -> Answer<QuotaVerdict> {
        match self {
            Self::Memory(m) => Answer::Decided(m.quota(key, limit, period)),
            Self::Redis { redis, .. } => {
                let shared = redis.quota(key, limit, period).await;
                self.settle(shared, |local| local.quota(key, limit, period))
            }
        }
    }

    /// The shared store's answer, or on failure what `on_store_error` says (counted).
    fn settle<T>(
        &self,
        shared: Result<T, redis::StoreError>,
        decide_locally: impl FnOnce(&MemoryStore) -> T,
    ) -> Answer<T> {
        let (
            Self::Redis {
                on_error,
                local,
                metrics,
                ..
            },
            Err(_),
        ) = (self, &shared)
        else {
            return shared.map_or(Answer::Unavailable, Answer::Decided);
        };
        metrics.fallback(on_error.as_str());
        match on_error {
            OnStoreError::Deny => Answer::Unavailable,
            OnStoreError::Allow => Answer::Unlimited,
            OnStoreError::Local => Answer::Decided(decide_locally(local)),
        }
    }
}

/// In-flight counts of one route (route-wide and per consumer), kept across reloads so a
/// reload does not forget requests still running.
#[derive(Debug, Default)]
pub struct InFlight {
    route: AtomicUsize,
    consumers: Mutex<HashMap<Arc<str>, usize>>,
}

/// One admitted request's place; released when dropped (after the response body is sent).
#[derive(Debug)]
pub struct InFlightPermit {
    of: Arc<InFlight>,
    route: bool,
    consumer: Option<Arc<str>>,
}

impl Drop for InFlightPermit {
    fn drop(&mut self) {
        if self.route {
            self.of.route.fetch_sub(1, Ordering::AcqRel);
        }
        if let Some(c) = self.consumer.take() {
            let mut map = lock(&self.of.consumers);
            if let Some(n) = map.get_mut(&c) {
                *n -= 1;
                if *n == 0 {
                    map.remove(&c);
                }
            }
        }
    }
}

impl InFlight {
    /// Takes a place under `max` route-wide and `per_consumer` for `consumer`; `None` when
    /// either is full (nothing is taken then).
    pub fn acquire(
        self: &Arc<Self>,
        max: Option<usize>,
        per_consumer: Option<(usize, Arc<str>)>,
    ) -> Option<InFlightPermit> {
        let mut permit = InFlightPermit {
            of: self.clone(),
            route: false,
            consumer: None,
        };
        if let Some(max) = max {
            let mut cur = self.route.load(Ordering::Acquire);
            loop {
                if cur >= max {
                    return None;
                }
                match self.route.compare_exchange_weak(
                    cur,
                    cur + 1,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => break,
                    Err(now) => cur = now,
                }
            }
            permit.route = true;
        }
        if let Some((limit, consumer)) = per_consumer {
            let mut map = lock(&self.consumers);
            let n = map.entry(consumer.clone()).or_insert(0);
            if *n >= limit {
                if *n == 0 {
                    map.remove(&consumer);
                }
                return None; // the permit's drop gives back the route place
            }
            *n += 1;
            permit.consumer = Some(consumer);
        }
        Some(permit)
    }

    /// Requests in flight on the route (counted by a route-wide limit).
    pub fn route_count(&self) -> usize {
        self.route.load(Ordering::Acquire)
    }
}

/// Traffic-control state owned by the server and kept across reloads.
#[derive(Debug)]
pub struct StateRegistry {
    /// The in-process store.
    pub memory: Arc<MemoryStore>,
    /// Metrics handles.
    pub metrics: StateMetrics,
    /// Redis stores by URL, prefix and timeout (one connection each).
    redis: Mutex<HashMap<(String, String, Duration), Arc<redis::RedisStore>>>,
    /// Ban tables by rule.
    pub bans: bans::BanRegistry,
    /// In-flight counts by route.
    inflight: Mutex<HashMap<String, Arc<InFlight>>>,
    /// Places for offence reports to Redis still running (bounded).
    pub offence_slots: Arc<tokio::sync::Semaphore>,
}

/// Offence reports to a shared store running at once at most; more are dropped and counted.
const MAX_OFFENCE_REPORTS: usize = 1024;

impl Default for StateRegistry {
    fn default() -> Self {
        Self {
            memory: Arc::default(),
            metrics: StateMetrics::default(),
            redis: Mutex::default(),
            bans: bans::BanRegistry::default(),
            inflight: Mutex::default(),
            offence_slots: Arc::new(tokio::sync::Semaphore::new(MAX_OFFENCE_REPORTS)),
        }
    }
}

impl StateRegistry {
    /// The Redis store for these settings, made once and kept while configs use it.
    pub fn redis(
        &self,
        url: &str,
        prefix: &str,
        timeout: Duration,
    ) -> Result<Arc<redis::RedisStore>, String> {
        let mut map = lock(&self.redis);
        let k = (url.to_owned(), prefix.to_owned(), timeout);
        if let Some(s) = map.get(&k) {
            return Ok(s.clone());
        }
        let s = Arc::new(redis::RedisStore::new(
            url,
            prefix.to_owned(),
            timeout,
            self.metrics.clone(),
        )?);
        map.insert(k, s.clone());
        Ok(s)
    }

    /// The in-flight counts of `route`.
    pub fn inflight(&self, route: &str) -> Arc<InFlight> {
        lock(&self.inflight)
            .entry(route.to_owned())
            .or_default()
            .clone()
    }

    /// Forgets stores, ban tables and in-flight counts that the live config no longer uses.
    pub fn retain(
        &self,
        live_redis: &[Arc<redis::RedisStore>],
        routes: &[String],
        rules: &[String],
    ) {
        lock(&self.redis).retain(|_, s| live_redis.iter().any(|l| Arc::ptr_eq(l, s)));
        lock(&self.inflight).retain(|k, v| routes.contains(k) || v.route_count() > 0);
        self.bans.retain(rules);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcra_admits_the_burst_then_one_per_interval() {
        let g = Gcra::new(50, Duration::from_secs(10), 50).expect("gcra");
        assert_eq!(g.interval_ns, 200_000_000);
        let mut tat = None;
        let now = 1_000_000_000u64;
        for i in 0..50 {
            let (v, next) = gcra_step(tat, now, g, 0);
            assert!(v.allowed, "request {i}");
            assert_eq!(v.remaining, 49 - i);
            tat = next;
        }
        let (v, next) = gcra_step(tat, now, g, 0);
        assert!(!v.allowed);
        assert_eq!(next, None, "a refused request changes nothing");
        assert_eq!(v.retry_after, Duration::from_millis(200));
        assert_eq!(v.reset_after, Duration::from_secs(10));
        // 200 ms later exactly one more.
        let later = now + 200_000_000;
        let (v, next) = gcra_step(tat, later, g, 0);
        assert!(v.allowed);
        assert_eq!(v.remaining, 0);
        let (v, _) = gcra_step(next, later, g, 0);
        assert!(!v.allowed);
        // After a full period the whole burst is back.
        let (v, _) = gcra_step(next, later + 10_000_000_000, g, 0);
        assert!(v.allowed);
        assert_eq!(v.remaining, 49);
    }

    #[test]
    fn gcra_rejects_nonsense() {
        assert!(Gcra::new(0, Duration::from_secs(1), 1).is_none());
        assert!(Gcra::new(1, Duration::ZERO, 1).is_none());
        assert!(Gcra::new(1, Duration::from_secs(1), 0).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn memory_store_follows_the_clock_and_keeps_keys_apart() {
        let s = MemoryStore::default();
        let g = Gcra::new(2, Duration::from_secs(1), 2).expect("gcra");
        assert!(s.check("a", g, Duration::ZERO).allowed);
        assert!(s.check("a", g, Duration::ZERO).allowed);
        assert!(!s.check("a", g, Duration::ZERO).allowed);
        assert!(
            s.check("b", g, Duration::ZERO).allowed,
            "another key has its own budget"
        );
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(s.check("a", g, Duration::ZERO).allowed);
        assert!(!s.check("a", g, Duration::ZERO).allowed);
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn gcra_delays_within_max_delay_then_refuses() {
        // 10 per second, burst 1: one now, then one every 100 ms; up to 300 ms of queueing.
        let g = Gcra::new(10, Duration::from_secs(1), 1).expect("gcra");
        let max = 300_000_000;
        let now = 5_000_000_000u64;
        let mut tat = None;
        let mut delays = Vec::new();
        for _ in 0..4 {
            let (v, next) = gcra_step(tat, now, g, max);
            assert!(v.allowed);
            delays.push(v.delay.as_millis());
            tat = next;
        }
        assert_eq!(delays, [0, 100, 200, 300]);
        let (v, next) = gcra_step(tat, now, g, max);
        assert!(!v.allowed, "the queue is full");
        assert_eq!(next, None);
        assert_eq!(v.retry_after, Duration::from_millis(100));
        // Once the first queued slots pass, there is room again.
        let (v, _) = gcra_step(tat, now + 100_000_000, g, max);
        assert!(v.allowed);
        assert_eq!(v.delay, Duration::from_millis(300));
    }

    #[test]
    fn counters_stop_at_the_limit_and_restart_with_the_window() {
        let s = MemoryStore::default();
        let (now, end) = (1_000, 2_000);
        assert_eq!(s.count("q".into(), 2, now, end), (true, 1));
        assert_eq!(s.count("q".into(), 2, now, end), (true, 2));
        assert_eq!(
            s.count("q".into(), 2, now, end),
            (false, 2),
            "refused, not counted"
        );
        assert_eq!(
            s.count("q".into(), 2, 2_000, 3_000),
            (true, 1),
            "a new window"
        );
        s.reset("q");
        assert_eq!(s.count("q".into(), 2, 2_000, 3_000), (true, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn delayed_requests_wait_on_the_paused_clock() {
        let s = MemoryStore::default();
        let g = Gcra::new(5, Duration::from_secs(1), 1).expect("gcra");
        let max = Duration::from_millis(400);
        let start = Instant::now();
        for expected in [0u64, 200, 400] {
            let v = s.check("k", g, max);
            assert!(v.allowed);
            assert_eq!(v.delay, Duration::from_millis(expected));
        }
        assert!(!s.check("k", g, max).allowed);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let v = s.check("k", g, max);
        assert!(v.allowed, "one slot freed after 200 ms");
        assert_eq!(v.delay, Duration::from_millis(400));
        assert_eq!(start.elapsed(), Duration::from_millis(200));
    }

    #[test]
    fn offences_count_over_a_sliding_window() {
        let s = MemoryStore::default();
        // Threshold 3 within 8 s (eight steps of 1 s). A window fixed at the first offence
        // (0 s) would end at 8 s and start again at 8.5 s; the sliding window still holds the
        // offences at 7.5 s and 8.5 s when the one at 9 s comes.
        let at = |ms| s.offence("k", 3, 8_000, ms);
        assert_eq!(at(0), 1);
        assert_eq!(at(7_500), 2);
        assert_eq!(at(8_500), 2, "the offence at 0 s has left the window");
        assert_eq!(at(9_000), 3, "three within 1.5 s");
        // The threshold clears the key: counting starts again.
        assert_eq!(at(9_100), 1);
        // Old steps are dropped, not counted.
        assert_eq!(at(30_000), 1);
        // A threshold of 1 bans at once and keeps nothing.
        assert_eq!(s.offence("once", 1, 8_000, 0), 1);
        assert_eq!(s.offence("once", 1, 8_000, 1), 1);
        // Offences of one step add up in its bucket.
        for n in 1..=4 {
            assert_eq!(
                s.offence("burst", 10, 60_000, 1_000 + n),
                u32::try_from(n).unwrap_or(0)
            );
        }
    }
}
