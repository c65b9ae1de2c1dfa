//! Shared state for traffic control: rate-limit counters today, quotas and bans next. The
//! in-process store is the default and needs nothing installed; a Redis store for a cluster of
//! gateways comes with the rest of the traffic-control work and will run the same GCRA as one
//! server-side script.
//!
//! GCRA (generic cell rate algorithm): each key keeps one number, its theoretical arrival time
//! (TAT). With emission interval `T = period / requests` and `burst` requests allowed at once, a
//! request at `now` is admitted when `max(TAT, now) + T - burst·T <= now`, and then TAT moves
//! to `max(TAT, now) + T`. A refused request changes nothing, so refused requests do not use up
//! quota. Written by hand (rather than with `governor`) so that the in-process and the Redis
//! store compute exactly the same thing, including the `RateLimit` header values.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::time::Duration;

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
}

/// One GCRA step on a stored TAT (nanoseconds on the store's clock). Returns the verdict and
/// the TAT to store (`None`: leave it).
pub fn gcra_step(tat: Option<u64>, now: u64, g: Gcra) -> (Verdict, Option<u64>) {
    let t = g.interval_ns;
    let window = t.saturating_mul(u64::from(g.burst));
    let tat = tat.unwrap_or(now).max(now);
    let new_tat = tat.saturating_add(t);
    let allow_at = new_tat.saturating_sub(window);
    if now < allow_at {
        let reset = tat - now;
        return (
            Verdict {
                allowed: false,
                remaining: 0,
                retry_after: Duration::from_nanos(allow_at - now),
                reset_after: Duration::from_nanos(reset),
            },
            None,
        );
    }
    let used = new_tat - now; // ≤ window
    let remaining = (window - used) / t;
    (
        Verdict {
            allowed: true,
            remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
            retry_after: Duration::ZERO,
            reset_after: Duration::from_nanos(used),
        },
        Some(new_tat),
    )
}

/// The in-process store. Kept across reloads (by the server's registry), so counters survive a
/// config change.
#[derive(Debug)]
pub struct MemoryStore {
    epoch: Instant,
    shards: Vec<Mutex<HashMap<String, u64>>>,
    hasher: std::collections::hash_map::RandomState,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }
}

impl MemoryStore {
    fn now_ns(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// One rate-limit decision for `key` (taken by value: a new key is stored without a copy).
    pub fn check(&self, key: String, g: Gcra) -> Verdict {
        let now = self.now_ns();
        let shard = &self.shards[(self.hasher.hash_one(&key) as usize) % SHARDS];
        let mut map = shard
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (verdict, store) = gcra_step(map.get(&key).copied(), now, g);
        if let Some(tat) = store {
            if map.len() >= MAX_KEYS_PER_SHARD && !map.contains_key(&key) {
                map.retain(|_, tat| *tat > now);
                if map.len() >= MAX_KEYS_PER_SHARD
                    && let Some(oldest) =
                        map.iter().min_by_key(|(_, t)| **t).map(|(k, _)| k.clone())
                {
                    map.remove(&oldest);
                }
            }
            map.insert(key, tat);
        }
        verdict
    }

    /// Keys held now (for tests and metrics).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                s.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .len()
            })
            .sum()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
            let (v, next) = gcra_step(tat, now, g);
            assert!(v.allowed, "request {i}");
            assert_eq!(v.remaining, 49 - i);
            tat = next;
        }
        let (v, next) = gcra_step(tat, now, g);
        assert!(!v.allowed);
        assert_eq!(next, None, "a refused request changes nothing");
        assert_eq!(v.retry_after, Duration::from_millis(200));
        assert_eq!(v.reset_after, Duration::from_secs(10));
        // 200 ms later exactly one more.
        let later = now + 200_000_000;
        let (v, next) = gcra_step(tat, later, g);
        assert!(v.allowed);
        assert_eq!(v.remaining, 0);
        let (v, _) = gcra_step(next, later, g);
        assert!(!v.allowed);
        // After a full period the whole burst is back.
        let (v, _) = gcra_step(next, later + 10_000_000_000, g);
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
        assert!(s.check("a".into(), g).allowed);
        assert!(s.check("a".into(), g).allowed);
        assert!(!s.check("a".into(), g).allowed);
        assert!(
            s.check("b".into(), g).allowed,
            "another key has its own budget"
        );
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(s.check("a".into(), g).allowed);
        assert!(!s.check("a".into(), g).allowed);
        assert_eq!(s.len(), 2);
    }
}
