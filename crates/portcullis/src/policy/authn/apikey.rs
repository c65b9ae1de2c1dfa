//! API keys, stored only as keyed hashes: HMAC-SHA-256 under a server pepper, found by a short
//! non-secret prefix (the first 12 characters of the key) and compared in constant time.
//!
//! A leaked config therefore reveals no usable key, and a leaked config plus the pepper still
//! needs a brute force of a high-entropy secret. Keys are random (not passwords), so a fast
//! keyed hash is right here; Argon2 would cost milliseconds per request for no gain.
//!
//! Even so, the HMAC is two SHA-256 blocks (about 5,800 instructions, a fifth of a proxied
//! request). Keys that verified are remembered by a 128-bit SipHash of the presented key under a
//! random key drawn per store, so a client's next request skips the HMAC: see
//! [`KeyStore::verify`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use aws_lc_rs::hmac;
use subtle::ConstantTimeEq;

use super::Consumer;

/// Characters of a key used as its lookup prefix.
pub const PREFIX_LEN: usize = 12;
/// Shortest key accepted: the prefix plus at least 8 more characters. Generated keys are 43
/// characters (about 238 random bits); shorter imported keys are accepted down to this floor.
pub const MIN_KEY_LEN: usize = PREFIX_LEN + 8;
/// Longest key looked at; longer values are refused before hashing.
pub const MAX_KEY_LEN: usize = 256;
/// Shortest pepper accepted, in bytes (256 bits).
pub const MIN_PEPPER_LEN: usize = 32;
/// Verified keys remembered per store (each entry is 16 bytes of hash and an index).
pub const REMEMBERED_KEYS: usize = 4096;

/// One stored key.
#[derive(Debug)]
pub struct KeyEntry {
    /// HMAC-SHA-256 of the key under the pepper.
    pub hash: [u8; 32],
    /// Owner.
    pub consumer: Arc<Consumer>,
    /// Not valid after this time.
    pub expires_at: Option<SystemTime>,
    /// Revoked keys are refused (and say so only in logs).
    pub revoked: bool,
    /// Operator's label, for logs.
    pub label: Option<String>,
}

/// Every key of the snapshot, by prefix.
pub struct KeyStore {
    pepper: hmac::Key,
    entries: Vec<KeyEntry>,
    /// Indexes into `entries`.
    by_prefix: HashMap<String, Vec<usize>>,
    /// Keys that verified: SipHash-1-3-128 of the presented key under `memo_key` → index into
    /// `entries`. Only keys that were neither unknown nor revoked go in; expiry is checked on
    /// every use. A config reload builds a new store, so a removed or revoked key is forgotten.
    verified: quick_cache::sync::Cache<u128, usize>,
    memo_key: [u8; 16],
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore")
            .field("prefixes", &self.by_prefix.len())
            .finish_non_exhaustive()
    }
}

/// Why a presented key was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRejection {
    /// Not the shape of a key (too short or too long, bad characters).
    Malformed,
    /// No stored key matches.
    Unknown,
    /// The key matches but has expired.
    Expired,
    /// The key matches but was revoked.
    Revoked,
}

impl KeyRejection {
    /// Low-cardinality reason for logs and events.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed_credential",
            Self::Unknown => "invalid_credential",
            Self::Expired => "expired_credential",
            Self::Revoked => "revoked_credential",
        }
    }
}

/// HMAC-SHA-256 of `key` under `pepper`.
pub fn hash_key(pepper: &[u8], key: &str) -> [u8; 32] {
    let k = hmac::Key::new(hmac::HMAC_SHA256, pepper);
    tag_bytes(&k, key)
}

fn tag_bytes(k: &hmac::Key, key: &str) -> [u8; 32] {
    let tag = hmac::sign(k, key.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(&tag.as_ref()[..32]);
    out
}

/// The lookup prefix of a key.
pub fn prefix_of(key: &str) -> Option<&str> {
    key.get(..PREFIX_LEN)
}

/// Whether `key` has the shape of a key: printable ASCII without spaces, within length bounds.
pub fn well_formed(key: &str) -> bool {
    (MIN_KEY_LEN..=MAX_KEY_LEN).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
}

/// A new random key: `pk_` and 40 base62 characters (about 238 bits).
pub fn generate(prefix: &str) -> Result<String, aws_lc_rs::error::Unspecified> {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = String::from(prefix);
    let mut buf = [0u8; 64];
    while out.len() < prefix.len() + 40 {
        aws_lc_rs::rand::fill(&mut buf)?;
        for b in buf {
            // Rejection sampling keeps the characters uniform: 248 = 4 * 62.
            if b < 248 && out.len() < prefix.len() + 40 {
                out.push(char::from(ALPHABET[usize::from(b % 62)]));
            }
        }
    }
    Ok(out)
}

impl KeyStore {
    /// An empty store keyed by `pepper`.
    pub fn new(pepper: &[u8]) -> Self {
        Self {
            pepper: hmac::Key::new(hmac::HMAC_SHA256, pepper),
            entries: Vec::new(),
            by_prefix: HashMap::new(),
            verified: quick_cache::sync::Cache::new(REMEMBERED_KEYS),
            memo_key: rand::random(),
        }
    }

    /// Adds a key under its prefix.
    pub fn insert(&mut self, prefix: String, entry: KeyEntry) {
        self.by_prefix
            .entry(prefix)
            .or_default()
            .push(self.entries.len());
        self.entries.push(entry);
    }

    /// Number of stored keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no key is stored.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Finds the entry for a presented key. The HMAC is computed even when no prefix matches,
    /// and every candidate under a prefix is compared, so timing does not reveal which keys
    /// exist. A key that verified before is found by its SipHash without the HMAC: that is
    /// faster only for a key that authenticates, which the answer says anyway, and forging a
    /// presented key with the SipHash of a remembered one, without its random key, takes about
    /// 2^128 tries.
    pub fn verify(&self, key: &str, now: SystemTime) -> Result<&KeyEntry, KeyRejection> {
        if !well_formed(key) {
            return Err(KeyRejection::Malformed);
        }
        let memo = super::keyed_digest(&self.memo_key, key.as_bytes());
        let e = match self.verified.get(&memo) {
            Some(i) => &self.entries[i],
            None => {
                let i = self.find(key).ok_or(KeyRejection::Unknown)?;
                let e = &self.entries[i];
                if !e.revoked {
                    self.verified.insert(memo, i);
                }
                e
            }
        };
        if e.revoked {
            return Err(KeyRejection::Revoked);
        }
        if e.expires_at.is_some_and(|t| t <= now) {
            return Err(KeyRejection::Expired);
        }
        Ok(e)
    }

    /// The index of the stored key whose HMAC equals the presented key's (see `verify`).
    fn find(&self, key: &str) -> Option<usize> {
        let tag = tag_bytes(&self.pepper, key);
        let candidates = prefix_of(key)
            .and_then(|p| self.by_prefix.get(p))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let mut found = None;
        for &i in candidates {
            if bool::from(self.entries[i].hash.ct_eq(&tag)) {
                found = Some(i);
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEPPER: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn consumer(name: &str) -> Arc<Consumer> {
        Arc::new(Consumer {
            name: Arc::from(name),
            roles: Arc::from(["reader".into()]),
            groups: Vec::new(),
        })
    }

    fn store(keys: &[(&str, bool, Option<SystemTime>)]) -> KeyStore {
        let mut s = KeyStore::new(PEPPER);
        for (k, revoked, exp) in keys {
            s.insert(
                prefix_of(k).unwrap().to_owned(),
                KeyEntry {
                    hash: hash_key(PEPPER, k),
                    consumer: consumer("c"),
                    expires_at: *exp,
                    revoked: *revoked,
                    label: None,
                },
            );
        }
        s
    }

    #[test]
    fn verifies_keys_by_prefix_and_hash() {
        let now = SystemTime::now();
        let past = now - std::time::Duration::from_secs(1);
        let s = store(&[
            ("pk_suite_0123456789abcdefghijklmnopqrstuv", false, None),
            ("pk_suite_0123456789abcdefghijklmnopqrstuX", true, None),
            (
                "pk_other_0123456789abcdefghijklmnopqrstuv",
                false,
                Some(past),
            ),
        ]);
        let cases = [
            ("pk_suite_0123456789abcdefghijklmnopqrstuv", Ok("c")),
            (
                "pk_suite_0123456789abcdefghijklmnopqrstuw",
                Err(KeyRejection::Unknown),
            ),
            (
                "pk_suite_0123456789abcdefghijklmnopqrstuX",
                Err(KeyRejection::Revoked),
            ),
            (
                "pk_other_0123456789abcdefghijklmnopqrstuv",
                Err(KeyRejection::Expired),
            ),
            (
                "zz_nomatch_0123456789abcdefghijklmnopqrstuv",
                Err(KeyRejection::Unknown),
            ),
            ("short", Err(KeyRejection::Malformed)),
            ("pk_suite_0123456", Err(KeyRejection::Malformed)),
            (
                "pk_suite_0123456789 abcdefghijklmnopqrstuv",
                Err(KeyRejection::Malformed),
            ),
        ];
        // Twice: the second round answers the keys that verified from the remembered ones.
        for _ in 0..2 {
            for (key, want) in &cases {
                let got = s.verify(key, now).map(|e| &*e.consumer.name);
                assert_eq!(got, *want, "{key}");
            }
        }
        assert_eq!(
            s.verified.len(),
            2,
            "the good and the expired key, not the revoked"
        );
        // A remembered key still expires.
        let soon = now + std::time::Duration::from_secs(60);
        let t = store(&[(
            "pk_suite_0123456789abcdefghijklmnopqrstuv",
            false,
            Some(soon),
        )]);
        let k = "pk_suite_0123456789abcdefghijklmnopqrstuv";
        assert!(t.verify(k, now).is_ok());
        assert_eq!(
            t.verify(k, soon).err(),
            Some(KeyRejection::Expired),
            "expiry is checked on every use"
        );
        let long = "a".repeat(MAX_KEY_LEN + 1);
        assert_eq!(s.verify(&long, now).err(), Some(KeyRejection::Malformed));
    }

    #[test]
    fn generates_distinct_well_formed_keys() {
        let a = generate("pk_").unwrap();
        let b = generate("pk_").unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(well_formed(&a) && a.starts_with("pk_"));
        assert!(a[3..].bytes().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn hashes_with_the_pepper() {
        let k = "pk_suite_0123456789abcdefghijklmnopqrstuv";
        assert_ne!(
            hash_key(PEPPER, k),
            hash_key(b"another pepper, 32 bytes long!!!", k)
        );
        assert_eq!(hash_key(PEPPER, k), hash_key(PEPPER, k));
    }
}
