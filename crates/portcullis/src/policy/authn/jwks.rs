//! JSON Web Key Sets fetched from an issuer's URL.
//!
//! A source fetches at start (`/readyz` waits for the first success), refreshes on a schedule,
//! and refreshes early when a token names a `kid` it does not know: one fetch at a time
//! (single-flight: concurrent requests wait for the fetch in progress instead of starting
//! their own) and at most one per `min_refresh_interval`, so a flood of made-up `kid`s costs
//! one fetch per interval. A failed fetch keeps the keys already known (stale keys keep
//! working while the server is down). Keys that did not change across a refresh keep their
//! identity, so cached verifications stay valid; keys that disappear stop verifying at once.
//! Sources live in a registry keyed by their settings, so a config reload keeps the keys and
//! the schedule instead of refetching.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use http::Uri;
use prometheus_client::metrics::counter::Counter;
use serde_json::Value;
use tokio::time::Instant;

use super::jwt::VerifyKey;
use crate::fetch::Fetcher;

/// Largest JWKS document accepted.
pub const MAX_JWKS_BYTES: usize = 512 * 1024;
/// Most keys taken from one document.
const MAX_KEYS: usize = 100;

/// Settings of one source; sources with equal settings are shared.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JwksSettings {
    /// URL.
    pub url: String,
    /// Scheduled refresh.
    pub refresh_interval: Duration,
    /// Least time between fetches caused by unknown `kid`s.
    pub min_refresh_interval: Duration,
    /// Fetch timeout.
    pub timeout: Duration,
    /// CA bundle path, if not the system roots.
    pub ca: Option<String>,
}

/// Keys from one JWKS URL.
pub struct JwksSource {
    settings: JwksSettings,
    uri: Uri,
    fetcher: Fetcher,
    keys: ArcSwap<Vec<Arc<VerifyKey>>>,
    /// Successful fetches so far.
    generation: AtomicU64,
    /// When the last fetch started (success or not).
    last_attempt: Mutex<Option<Instant>>,
    /// The last answer's freshness lifetime, which can bring the next refresh forward.
    fresh_for: Mutex<Option<Duration>>,
    /// Held for the length of a fetch: the single flight.
    in_flight: tokio::sync::Mutex<()>,
    started: AtomicBool,
    /// Metric counters (successes, failures), set when the schedule starts.
    counters: std::sync::OnceLock<(Counter, Counter)>,
}

impl std::fmt::Debug for JwksSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksSource")
            .field("url", &self.settings.url)
            .field("keys", &self.keys.load().len())
            .finish_non_exhaustive()
    }
}

impl JwksSource {
    fn new(settings: JwksSettings) -> Result<Self, String> {
        let uri: Uri = settings
            .url
            .parse()
            .map_err(|_| format!("{:?} is not a URL", settings.url))?;
        let fetcher = Fetcher::new(
            settings.ca.as_deref().map(std::path::Path::new),
            settings.timeout,
            MAX_JWKS_BYTES,
        )?;
        Ok(Self {
            settings,
            uri,
            fetcher,
            keys: ArcSwap::from_pointee(Vec::new()),
            generation: AtomicU64::new(0),
            last_attempt: Mutex::new(None),
            fresh_for: Mutex::new(None),
            in_flight: tokio::sync::Mutex::new(()),
            started: AtomicBool::new(false),
            counters: std::sync::OnceLock::new(),
        })
    }

    /// The URL.
    pub fn url(&self) -> &str {
        &self.settings.url
    }

    /// The keys known now.
    pub fn keys(&self) -> Arc<Vec<Arc<VerifyKey>>> {
        self.keys.load_full()
    }

    /// Whether a fetch has succeeded at least once.
    pub fn is_loaded(&self) -> bool {
        self.generation.load(Ordering::Acquire) > 0
    }

    /// Starts the refresh schedule (once; later calls do nothing). The task ends when the
    /// last config using this source is gone.
    pub fn start(self: &Arc<Self>, metrics: &crate::observe::metrics::Metrics) {
        if self.started.swap(true, Ordering::AcqRel) {
            return;
        }
        let _ = self.counters.set(metrics.jwks_counters(&self.settings.url));
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut failures = 0u32;
            loop {
                let Some(me) = weak.upgrade() else { return };
                let ok = {
                    let _flight = me.in_flight.lock().await;
                    me.fetch().await
                };
                let wait = if ok {
                    failures = 0;
                    // A shorter freshness lifetime from the server (`Cache-Control: max-age`
                    // or `Expires`, see `fetch::freshness`) brings the next refresh forward,
                    // never closer than `min_refresh_interval`.
                    me.fresh_for
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .map_or(me.settings.refresh_interval, |age| {
                            age.clamp(
                                me.settings.min_refresh_interval,
                                me.settings
                                    .refresh_interval
                                    .max(me.settings.min_refresh_interval),
                            )
                        })
                } else {
                    // Back off from 1 s, doubling, up to the refresh interval.
                    failures = failures.saturating_add(1);
                    Duration::from_secs(1u64 << (failures - 1).min(10))
                        .min(me.settings.refresh_interval)
                };
                drop(me);
                tokio::time::sleep(wait).await;
            }
        });
    }

    /// Called when a token names an unknown `kid`: refreshes unless a fetch happened within
    /// `min_refresh_interval`; waits for a fetch already in progress. True when the keys
    /// may have changed since the caller looked.
    pub async fn refresh_for_unknown_kid(&self) -> bool {
        let seen = self.generation.load(Ordering::Acquire);
        let _flight = self.in_flight.lock().await;
        if self.generation.load(Ordering::Acquire) != seen {
            // Another request's fetch finished while this one waited.
            return true;
        }
        let recent = self
            .last_attempt
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some_and(|t| t.elapsed() < self.settings.min_refresh_interval);
        if recent {
            return false;
        }
        self.fetch().await
    }

    /// One fetch; the caller holds `in_flight`. Keeps the old keys on failure.
    async fn fetch(&self) -> bool {
        *self
            .last_attempt
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
        let result = match self.fetcher.get_json_with_freshness(&self.uri).await {
            Ok((body, fresh_for)) => {
                *self
                    .fresh_for
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = fresh_for;
                parse_jwks(&body)
            }
            Err(e) => Err(e.to_string()),
        };
        match result {
            Ok((fresh, skipped)) => {
                let old = self.keys.load();
                // Keep the identity of unchanged keys, so cached verifications stay valid.
                let merged: Vec<Arc<VerifyKey>> = fresh
                    .into_iter()
                    .map(|k| {
                        old.iter()
                            .find(|o| o.same_as(&k))
                            .cloned()
                            .unwrap_or_else(|| Arc::new(k))
                    })
                    .collect();
                let count = merged.len();
                self.keys.store(Arc::new(merged));
                self.generation.fetch_add(1, Ordering::AcqRel);
                if let Some((ok, _)) = self.counters.get() {
                    ok.inc();
                }
                tracing::info!(url = %self.settings.url, keys = count, skipped, "JWKS loaded");
                true
            }
            Err(e) => {
                if let Some((_, failed)) = self.counters.get() {
                    failed.inc();
                }
                tracing::warn!(
                    url = %self.settings.url,
                    error = %e,
                    keys_kept = self.keys.load().len(),
                    "JWKS fetch failed; keeping the keys already known"
                );
                false
            }
        }
    }
}

/// Parses a JWKS document: the usable signature keys, and how many entries were skipped.
/// A document with no usable key is an error (the keys already known are kept).
pub fn parse_jwks(body: &[u8]) -> Result<(Vec<VerifyKey>, usize), String> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let list = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("no `keys` array")?;
    let mut keys: Vec<VerifyKey> = Vec::new();
    let mut skipped = 0;
    for entry in list.iter().take(MAX_KEYS) {
        let Some(obj) = entry.as_object() else {
            skipped += 1;
            continue;
        };
        match VerifyKey::from_jwk(obj, None, false) {
            // A `kid` listed twice is ambiguous: keep the first.
            Ok(k) if k.kid.is_some() && keys.iter().any(|o| o.kid == k.kid) => skipped += 1,
            Ok(k) => keys.push(k),
            Err(_) => skipped += 1,
        }
    }
    skipped += list.len().saturating_sub(MAX_KEYS);
    if keys.is_empty() {
        return Err(format!("no usable signature key ({skipped} skipped)"));
    }
    Ok((keys, skipped))
}

/// JWKS sources kept across reloads, by settings.
#[derive(Debug, Default)]
pub struct JwksRegistry {
    sources: Mutex<HashMap<JwksSettings, Weak<JwksSource>>>,
}

impl JwksRegistry {
    /// The live source with these settings, or a new one.
    pub fn source(&self, settings: JwksSettings) -> Result<Arc<JwksSource>, String> {
        let mut map = self
            .sources
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.retain(|_, w| w.strong_count() > 0);
        if let Some(s) = map.get(&settings).and_then(Weak::upgrade) {
            return Ok(s);
        }
        let s = Arc::new(JwksSource::new(settings.clone())?);
        map.insert(settings, Arc::downgrade(&s));
        Ok(s)
    }
}
