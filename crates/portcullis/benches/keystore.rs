//! API-key lookup cost as the number of stored keys grows (issue: 1 million keys must not slow
//! lookup). Run with `cargo bench -p portcullis --bench keystore`; prints ns per verification
//! for valid keys on first use (the HMAC and the prefix lookup), valid keys again (answered
//! from the remembered verified keys) and unknown keys, at 1 thousand, 100 thousand and
//! 1 million stored keys.
//! A benchmark, not a test: it asserts nothing; compare the rows of one run.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use portcullis::policy::authn::Consumer;
use portcullis::policy::authn::apikey::{KeyEntry, KeyStore, generate, hash_key, prefix_of};

const PEPPER: &[u8] = b"bench-pepper-0123456789abcdef0123456789abcdef";
const LOOKUPS: usize = 200_000;

fn store_with(n: usize) -> (KeyStore, Vec<String>) {
    let consumer = Arc::new(Consumer {
        name: Arc::from("bench"),
        roles: Arc::from(["reader".into()]),
        groups: Vec::new(),
    });
    let mut store = KeyStore::new(PEPPER);
    let mut sample = Vec::new();
    for i in 0..n {
        let key = match generate("pk_") {
            Ok(k) => k,
            Err(_) => return (store, sample),
        };
        let prefix = prefix_of(&key).unwrap_or_default().to_owned();
        store.insert(
            prefix,
            KeyEntry {
                hash: hash_key(PEPPER, &key),
                consumer: consumer.clone(),
                expires_at: None,
                revoked: false,
                label: None,
            },
        );
        if i % (n / 1000).max(1) == 0 {
            sample.push(key);
        }
    }
    (store, sample)
}

fn main() {
    println!(
        "{:>10} {:>16} {:>14} {:>16}",
        "keys", "first use ns/op", "valid ns/op", "unknown ns/op"
    );
    for n in [1_000, 100_000, 1_000_000] {
        let (store, sample) = store_with(n);
        let unknown: Vec<String> = (0..1000).filter_map(|_| generate("pk_").ok()).collect();
        let now = SystemTime::now();
        let time = |keys: &[String]| {
            let start = Instant::now();
            let mut ok = 0usize;
            for i in 0..LOOKUPS {
                if store.verify(black_box(&keys[i % keys.len()]), now).is_ok() {
                    ok += 1;
                }
            }
            black_box(ok);
            start.elapsed().as_nanos() as f64 / LOOKUPS as f64
        };
        // Each sampled key once: none is remembered yet.
        let start = Instant::now();
        for k in &sample {
            black_box(store.verify(black_box(k), now).is_ok());
        }
        let first = start.elapsed().as_nanos() as f64 / sample.len().max(1) as f64;
        let valid = time(&sample);
        let miss = time(&unknown);
        println!(
            "{:>10} {:>16.0} {:>14.0} {:>16.0}",
            store.len(),
            first,
            valid,
            miss
        );
    }
}
