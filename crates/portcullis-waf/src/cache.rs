//! Remembered clean inputs: the inputs this engine has inspected and found no match in.
//!
//! Detection is a pure function of an input's kind, flags, value and the part of its label the
//! detectors read, under one engine's settings. API traffic repeats itself: the same
//! `User-Agent`, `Accept` and `Content-Type` on every request of a client, the same paths, and
//! the same JSON keys in every element of an array. So [`crate::Waf::inspect`] looks each input
//! up here first and runs the detectors only for inputs it has not seen clean. Inputs with a
//! match are not remembered: they are inspected every time, and no excerpt of them is kept.
//!
//! - **No request data is kept.** An entry is a 128-bit keyed hash (SipHash-1-3 with a random
//!   key drawn per engine), so neither values nor secrets in them stay in memory, and nobody
//!   who cannot read the key can aim a collision at a remembered clean input.
//! - **Bounded.** A `quick_cache` cache of at most `cache_entries` entries. Its eviction policy
//!   (CLOCK-PRO) admits a new key as cold and keeps it only if it is read again, so a flood of
//!   unique values passes through the cold part and does not push out the inputs that regular
//!   traffic repeats. `moka`, the project's cache elsewhere, was measured here first: its
//!   bookkeeping on every read (clock reads, frequency sketch, pending-task queue) took about
//!   7 % of the gateway's CPU under the 1 KB JSON benchmark, which reads the cache 40 times a
//!   request.
//! - **Whole containers too.** A query string, the cookies, the inspected headers and a body
//!   are each remembered whole once every input read from them came out clean and reading
//!   them raised no anomaly. The entry keeps only what the container counted against the
//!   extraction budgets ([`Counts`]); the next identical container is then answered without
//!   being parsed, unless the request's earlier containers left too little budget for it, in
//!   which case it is read input by input as before. A container's key covers every byte its
//!   reader looks at, and its domain differs from every single input's.
//! - **Per engine.** One cache per compiled [`crate::Waf`], so a route's paranoia level and
//!   exclusions are part of every verdict it remembers, and a config reload starts afresh.

use std::hash::{BuildHasher, Hasher};

use siphasher::sip128::{Hasher128, SipHasher13};

use crate::extract::Kind;

pub(crate) struct InputCache {
    /// Single inputs map to zero counts; whole containers to what they counted.
    map: quick_cache::sync::Cache<u128, Counts, quick_cache::UnitWeighter, PassThrough>,
    /// SipHash-1-3 key, drawn per engine.
    key: [u8; 16],
}

impl InputCache {
    /// A cache of at most `entries` inputs; `None` for 0 (remembering switched off).
    pub(crate) fn new(entries: u64) -> Option<Self> {
        (entries > 0).then(|| Self {
            map: quick_cache::sync::Cache::with(
                usize::try_from(entries).unwrap_or(usize::MAX),
                entries,
                quick_cache::UnitWeighter,
                PassThrough,
                quick_cache::sync::DefaultLifecycle::default(),
            ),
            key: rand::random(),
        })
    }

    /// The key of an input of `kind` with its flags and `value`, whose detectors also read
    /// `context` of its label ([`crate::detect::context_of`]).
    pub(crate) fn key(
        &self,
        kind: Kind,
        bad_escape: bool,
        from_query: bool,
        context: &str,
        value: &[u8],
    ) -> u128 {
        // One unambiguous byte stream: a head of kind, flags and both lengths, then the
        // context and the value.
        let mut head = [0u8; 18];
        head[0] = kind as u8;
        head[1] = u8::from(bad_escape) | (u8::from(from_query) << 1);
        head[2..10].copy_from_slice(&(context.len() as u64).to_le_bytes());
        head[10..18].copy_from_slice(&(value.len() as u64).to_le_bytes());
        let mut h = SipHasher13::new_with_key(&self.key);
        h.write(&head);
        h.write(context.as_bytes());
        h.write(value);
        h.finish128().as_u128()
    }

    /// The key of a whole container of `tag`: its parts are added with
    /// [`ContainerKey::part`].
    pub(crate) fn container_key(&self, tag: Container) -> ContainerKey {
        let mut h = SipHasher13::new_with_key(&self.key);
        // Single-input keys start with a `Kind` below 0x80: the domains never meet.
        h.write_u8(0x80 | tag as u8);
        ContainerKey(h)
    }

    /// Whether the input of `key` was found clean before.
    pub(crate) fn is_clean(&self, key: u128) -> bool {
        self.map.get(&key).is_some()
    }

    /// Remembers the input of `key` as clean.
    pub(crate) fn remember_clean(&self, key: u128) {
        self.map.insert(key, Counts::default());
    }

    /// What the container of `key` counted, when it was found clean before.
    pub(crate) fn clean_container(&self, key: u128) -> Option<Counts> {
        self.map.get(&key)
    }

    /// Remembers the container of `key` as clean, with what it counted.
    pub(crate) fn remember_container(&self, key: u128, counts: Counts) {
        self.map.insert(key, counts);
    }

    /// Entries held now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

/// The containers remembered whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Container {
    Query,
    Cookies,
    Headers,
    Body,
}

/// What a container counted against the extraction budgets ([`crate::Limits`]): its inputs
/// (inert ones included), their bytes, and its query or form arguments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) inputs: u32,
    pub(crate) bytes: u32,
    pub(crate) args: u32,
}

/// A container's key being built: each part is written after its length, so the sequence of
/// parts is read back unambiguously.
pub(crate) struct ContainerKey(SipHasher13);

impl ContainerKey {
    pub(crate) fn part(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.write_u64(bytes.len() as u64);
        self.0.write(bytes);
        self
    }

    pub(crate) fn finish(&self) -> u128 {
        self.0.finish128().as_u128()
    }
}

/// The keys are already uniform keyed hashes: the map uses their low bits as they are instead
/// of hashing them again.
#[derive(Clone, Default)]
struct PassThrough;

impl BuildHasher for PassThrough {
    type Hasher = PassThroughHasher;
    fn build_hasher(&self) -> PassThroughHasher {
        PassThroughHasher(0)
    }
}

struct PassThroughHasher(u64);

impl Hasher for PassThroughHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u128` is used for the keys; fold anything else in so this stays a hash.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u128(&mut self, v: u128) {
        // Truncation intended: the low 64 bits of a uniform 128-bit hash.
        self.0 = v as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_tell_every_part_apart() {
        let c = InputCache::new(10).expect("cache");
        let k = |kind, bad, fq, ctx: &str, v: &[u8]| c.key(kind, bad, fq, ctx, v);
        let base = k(Kind::Value, false, false, "ab", b"c");
        assert_eq!(base, k(Kind::Value, false, false, "ab", b"c"));
        for other in [
            k(Kind::Name, false, false, "ab", b"c"),
            k(Kind::Value, true, false, "ab", b"c"),
            k(Kind::Value, false, true, "ab", b"c"),
            k(Kind::Value, false, false, "a", b"bc"),
            k(Kind::Value, false, false, "abc", b""),
            k(Kind::Value, false, false, "ab", b"d"),
        ] {
            assert_ne!(base, other);
        }
        // Long inputs (hashed in several writes) are keyed as consistently.
        let long = vec![b'x'; 1000];
        assert_eq!(
            k(Kind::Body, false, false, "", &long),
            k(Kind::Body, false, false, "", &long)
        );
        assert_ne!(
            k(Kind::Body, false, false, "", &long),
            k(Kind::Body, false, false, "", &long[1..])
        );
        // Containers: every part and the tag count, and no container meets an input.
        let ck = |tag, parts: &[&[u8]]| {
            let mut k = c.container_key(tag);
            for p in parts {
                k.part(p);
            }
            k.finish()
        };
        let q = ck(Container::Query, &[b"a=1"]);
        assert_eq!(q, ck(Container::Query, &[b"a=1"]));
        for other in [
            ck(Container::Body, &[b"a=1"]),
            ck(Container::Query, &[b"a=", b"1"]),
            ck(Container::Query, &[b"a=1", b""]),
            ck(Container::Query, &[]),
        ] {
            assert_ne!(q, other);
        }
        // Another engine draws another key.
        let d = InputCache::new(10).expect("cache");
        assert_ne!(base, d.key(Kind::Value, false, false, "ab", b"c"));
    }
}
