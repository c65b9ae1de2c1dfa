//! Load balancing over a pool's available targets: smooth weighted round robin, least request
//! (power of two choices, weighted) and consistent hashing (a ring with virtual nodes).

use std::sync::atomic::{AtomicUsize, Ordering};

/// Compiled balancing policy.
#[derive(Debug)]
pub enum Balancer {
    /// Precomputed smooth weighted sequence of target indices and a cursor.
    RoundRobin {
        /// Interleaved indices, one entry per unit of (reduced) weight.
        sequence: Vec<usize>,
        /// Next position.
        cursor: AtomicUsize,
    },
    /// Two random candidates, fewer in-flight requests per weight wins.
    LeastRequest,
    /// Ring of (hash, target index), sorted by hash.
    ConsistentHash {
        /// The ring.
        ring: Vec<(u64, usize)>,
        /// What to hash.
        key: HashKey,
    },
}

/// What a consistent hash is computed over.
#[derive(Debug, Clone)]
pub enum HashKey {
    /// A header value.
    Header(http::HeaderName),
    /// A cookie value.
    Cookie(String),
    /// The client IP.
    ClientIp,
}

const VNODES_PER_WEIGHT: u32 = 40;

/// FNV-1a 64, stable across processes and versions so every gateway builds the same ring.
pub fn fnv1a(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // Final avalanche (from splitmix64) so nearby inputs spread over the ring.
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// The smooth weighted round-robin order (nginx's algorithm) for `weights`, reduced by their GCD.
pub fn smooth_sequence(weights: &[u32]) -> Vec<usize> {
    let g = weights.iter().copied().fold(0, gcd).max(1);
    let w: Vec<i64> = weights.iter().map(|w| i64::from(w / g)).collect();
    let total: i64 = w.iter().sum();
    let mut current = vec![0i64; w.len()];
    let mut seq = Vec::with_capacity(total as usize);
    for _ in 0..total {
        let mut best = 0;
        for i in 0..w.len() {
            current[i] += w[i];
            if current[i] > current[best] {
                best = i;
            }
        }
        current[best] -= total;
        seq.push(best);
    }
    seq
}

/// Builds the hash ring for targets with `weights`, named by `addrs`.
pub fn ring(addrs: &[String], weights: &[u32]) -> Vec<(u64, usize)> {
    let mut ring = Vec::new();
    for (i, (a, w)) in addrs.iter().zip(weights).enumerate() {
        for v in 0..(w * VNODES_PER_WEIGHT) {
            ring.push((fnv1a(format!("{a}#{v}").as_bytes()), i));
        }
    }
    ring.sort_unstable();
    ring
}

impl Balancer {
    /// Picks a target index among those for which `up(i)` holds, skipping `exclude` (targets
    /// already tried by this request) when any other is up. `in_flight(i)` and `weight(i)`
    /// serve least-request; `hash` is the request's key for consistent hashing.
    pub fn pick(
        &self,
        n: usize,
        up: &dyn Fn(usize) -> bool,
        exclude: &[usize],
        in_flight: &dyn Fn(usize) -> usize,
        weight: &dyn Fn(usize) -> u32,
        hash: Option<u64>,
    ) -> Option<usize> {
        if n == 0 {
            return None;
        }
        let ok = |i: usize| up(i) && !exclude.contains(&i);
        let any_ok = (0..n).any(ok);
        let ok = |i: usize| if any_ok { ok(i) } else { up(i) };
        match self {
            Self::RoundRobin { sequence, cursor } => {
                let len = sequence.len();
                let start = cursor.fetch_add(1, Ordering::Relaxed);
                (0..len)
                    .map(|k| sequence[(start + k) % len])
                    .find(|&i| ok(i))
            }
            Self::LeastRequest => {
                let candidates: Vec<usize> = (0..n).filter(|&i| ok(i)).collect();
                match candidates.len() {
                    0 => None,
                    1 => Some(candidates[0]),
                    len => {
                        let a = candidates[rand::random_range(0..len)];
                        let mut b = candidates[rand::random_range(0..len - 1)];
                        if b == a {
                            b = candidates[len - 1];
                        }
                        // Compare in_flight/weight without division.
                        let load =
                            |i: usize| in_flight(i) as u64 * 1000 / u64::from(weight(i).max(1));
                        Some(if load(b) < load(a) { b } else { a })
                    }
                }
            }
            Self::ConsistentHash { ring, .. } => {
                let h = hash.unwrap_or_else(rand::random);
                let start = ring.partition_point(|(rh, _)| *rh < h);
                (0..ring.len())
                    .map(|k| ring[(start + k) % ring.len()].1)
                    .find(|&i| ok(i))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smooth_sequence_interleaves_by_weight() {
        assert_eq!(smooth_sequence(&[5, 1, 1]), vec![0, 0, 1, 0, 2, 0, 0]);
        assert_eq!(smooth_sequence(&[2, 2]), vec![0, 1]);
    }

    #[test]
    fn round_robin_skips_down_targets() {
        let b = Balancer::RoundRobin {
            sequence: smooth_sequence(&[1, 1, 1]),
            cursor: AtomicUsize::new(0),
        };
        let picks: Vec<_> = (0..6)
            .map(|_| b.pick(3, &|i| i != 1, &[], &|_| 0, &|_| 1, None).unwrap())
            .collect();
        assert!(!picks.contains(&1));
        assert!(picks.contains(&0) && picks.contains(&2));
    }

    #[test]
    fn retries_avoid_excluded_target_when_possible() {
        let b = Balancer::RoundRobin {
            sequence: smooth_sequence(&[1, 1]),
            cursor: AtomicUsize::new(0),
        };
        for _ in 0..4 {
            assert_eq!(b.pick(2, &|_| true, &[0], &|_| 0, &|_| 1, None), Some(1));
        }
        // Only the excluded target is up: it is still used.
        assert_eq!(b.pick(2, &|i| i == 0, &[0], &|_| 0, &|_| 1, None), Some(0));
    }

    #[test]
    fn least_request_prefers_idle_target() {
        let b = Balancer::LeastRequest;
        for _ in 0..20 {
            let p = b.pick(
                2,
                &|_| true,
                &[],
                &|i| if i == 0 { 50 } else { 0 },
                &|_| 1,
                None,
            );
            assert_eq!(p, Some(1));
        }
    }

    #[test]
    fn consistent_hash_is_stable_and_spreads() {
        let addrs: Vec<String> = (0..4).map(|i| format!("10.0.0.{i}:80")).collect();
        let b = Balancer::ConsistentHash {
            ring: ring(&addrs, &[1, 1, 1, 1]),
            key: HashKey::ClientIp,
        };
        let mut counts = [0usize; 4];
        for k in 0..4000u32 {
            let h = fnv1a(&k.to_be_bytes());
            let a = b.pick(4, &|_| true, &[], &|_| 0, &|_| 1, Some(h)).unwrap();
            let again = b.pick(4, &|_| true, &[], &|_| 0, &|_| 1, Some(h)).unwrap();
            assert_eq!(a, again);
            counts[a] += 1;
        }
        assert!(counts.iter().all(|&c| c > 600), "{counts:?}");
        // Removing one target only moves that target's keys.
        let h = fnv1a(b"user-1");
        let first = b.pick(4, &|_| true, &[], &|_| 0, &|_| 1, Some(h)).unwrap();
        let other = (first + 1) % 4;
        assert_eq!(
            b.pick(4, &|i| i != other, &[], &|_| 0, &|_| 1, Some(h)),
            Some(first)
        );
    }
}
