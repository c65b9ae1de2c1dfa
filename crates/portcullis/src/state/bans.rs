//! Automatic bans (fail2ban-like): rules such as "10 authentication failures from one IP within
//! 60 s ban that IP for 5 minutes". Offences are read off each finished request (see
//! [`Offence::of`]); counting happens in the rule's store, and the bans themselves are mirrored
//! in a local table so the per-request check never waits on the network. With the Redis store,
//! a ban one gateway issues is written to a shared sorted set that every gateway copies into its
//! table every `sync_interval` (one second by default), so a ban shows on every node within
//! that time, and it ends by expiry everywhere.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::time::Instant;

use super::MemoryStore;
use super::redis::RedisStore;

/// Bans held per rule at most (the oldest-ending is dropped past it).
const MAX_BANS: usize = 100_000;

/// What a finished request may count as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Offence {
    /// A credential was presented and refused (a missing credential does not count).
    AuthnFailure,
    /// An authenticated caller was refused by authorization.
    AuthzDenied,
    /// Refused by a rate limit or quota.
    RateLimited,
    /// 404, from routing or from the upstream.
    NotFound,
    /// Blocked by the WAF or request validation.
    WafBlock,
}

impl Offence {
    /// Config name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "authn_failure" => Self::AuthnFailure,
            "authz_denied" => Self::AuthzDenied,
            "rate_limited" => Self::RateLimited,
            "not_found" => Self::NotFound,
            "waf_block" => Self::WafBlock,
            _ => return None,
        })
    }

    /// What a finished request counts as, from the last stage decision and the status.
    /// `local` says the gateway answered itself (a stage refused); an upstream's answer only
    /// ever counts as a 404, whatever stage ran last.
    pub fn of(
        decisions: &[(&'static str, &'static str)],
        status: u16,
        local: bool,
    ) -> Option<Self> {
        if !local {
            return (status == 404).then_some(Self::NotFound);
        }
        let last = decisions.last().copied();
        match (last, status) {
            (Some(("authn", o)), 401) if o != "missing_credential" => Some(Self::AuthnFailure),
            (Some(("authz", _)), 403) => Some(Self::AuthzDenied),
            (Some(("ratelimit" | "quota", _)), 429) => Some(Self::RateLimited),
            // A WAF block or a strict-HTTP refusal; not a body the WAF could not read, nor a
            // later refusal on a route where the WAF passed the request.
            (Some(("validate", _) | ("waf", "blocked")), 400..=499) => Some(Self::WafBlock),
            (_, 404) => Some(Self::NotFound),
            _ => None,
        }
    }
}

/// Who a rule counts and bans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BanKey {
    /// The real client IP.
    Ip,
    /// The authenticated consumer.
    Consumer,
}

/// Where a rule counts offences and keeps bans.
#[derive(Debug, Clone)]
pub enum BanStore {
    /// This process only.
    Memory(Arc<MemoryStore>),
    /// Shared through Redis.
    Redis(Arc<RedisStore>),
}

/// One compiled rule.
#[derive(Debug)]
pub struct BanRule {
    /// Name (metrics, logs, store keys).
    pub name: String,
    /// Offences that count.
    pub on: Vec<Offence>,
    /// Authentication methods whose failures count (empty: all).
    pub methods: Vec<String>,
    /// Who is counted.
    pub key: BanKey,
    /// Offences that trigger a ban.
    pub threshold: u32,
    /// Within this time.
    pub within: Duration,
    /// Ban length.
    pub ban_for: Duration,
    /// Routes where the ban is not enforced.
    pub except_routes: Vec<String>,
    /// Counting and sharing.
    pub store: BanStore,
    /// The local table, kept across reloads.
    pub list: Arc<BanList>,
}

impl BanRule {
    /// The member (IP or consumer) a request is counted under, if any.
    pub fn member(&self, client_ip: std::net::IpAddr, consumer: Option<&str>) -> Option<String> {
        match self.key {
            BanKey::Ip => Some(client_ip.to_string()),
            BanKey::Consumer => consumer.map(str::to_owned),
        }
    }

    /// Whether the ban is enforced on `route`.
    pub fn applies_to(&self, route: &str) -> bool {
        !self.except_routes.iter().any(|r| r == route)
    }
}

/// The bans of one rule known to this gateway.
#[derive(Debug, Default)]
pub struct BanList {
    bans: RwLock<HashMap<String, Instant>>,
}

impl BanList {
    /// Time left on `member`'s ban, if banned.
    pub fn banned(&self, member: &str) -> Option<Duration> {
        let bans = self
            .bans
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let until = *bans.get(member)?;
        let now = Instant::now();
        (until > now).then(|| until - now)
    }

    /// Bans `member` for `d` (longer of an existing ban and this one). Returns whether it was
    /// not banned before.
    pub fn ban(&self, member: String, d: Duration) -> bool {
        let until = Instant::now() + d;
        let mut bans = self
            .bans
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        if bans.len() >= MAX_BANS && !bans.contains_key(&member) {
            bans.retain(|_, u| *u > now);
            if bans.len() >= MAX_BANS
                && let Some(first) = bans.iter().min_by_key(|(_, u)| **u).map(|(k, _)| k.clone())
            {
                bans.remove(&first);
            }
        }
        match bans.get_mut(&member) {
            Some(u) if *u > now => {
                *u = (*u).max(until);
                false
            }
            Some(u) => {
                *u = until;
                true
            }
            None => {
                bans.insert(member, until);
                true
            }
        }
    }

    /// Replaces the table with the store's view; returns members newly banned here.
    pub fn replace(&self, live: Vec<(String, Duration)>) -> usize {
        let now = Instant::now();
        let mut bans = self
            .bans
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut fresh = 0;
        let mut next = HashMap::with_capacity(live.len());
        for (m, left) in live.into_iter().take(MAX_BANS) {
            if bans.get(&m).is_none_or(|u| *u <= now) {
                fresh += 1;
            }
            next.insert(m, now + left);
        }
        *bans = next;
        fresh
    }

    /// Bans in force now.
    pub fn active(&self) -> usize {
        let now = Instant::now();
        self.bans
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .filter(|u| **u > now)
            .count()
    }
}

/// Ban tables by rule name, kept across reloads.
#[derive(Debug, Default)]
pub struct BanRegistry {
    lists: std::sync::Mutex<HashMap<String, Arc<BanList>>>,
}

impl BanRegistry {
    /// The table of rule `name`.
    pub fn list(&self, name: &str) -> Arc<BanList> {
        self.lists
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(name.to_owned())
            .or_default()
            .clone()
    }

    /// Forgets tables of rules no longer configured.
    pub fn retain(&self, live: &[String]) {
        self.lists
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|k, _| live.contains(k));
    }
}

/// Counts `offence` (of a finished request) under every rule that counts it. Memory rules count
/// and ban at once; Redis rules report in a spawned task (at most
/// [`super::StateRegistry::offence_slots`] at once; beyond that the offence is dropped and
/// counted in `portcullis_offences_dropped_total`), falling back to local counting when the
/// store fails.
pub fn report(
    rules: &[Arc<BanRule>],
    state: &super::StateRegistry,
    offence: Offence,
    method: Option<&str>,
    client_ip: std::net::IpAddr,
    consumer: Option<&str>,
) {
    for rule in rules {
        if !rule.on.contains(&offence) {
            continue;
        }
        if offence == Offence::AuthnFailure
            && !rule.methods.is_empty()
            && !method.is_some_and(|m| rule.methods.iter().any(|x| x == m))
        {
            continue;
        }
        let Some(member) = rule.member(client_ip, consumer) else {
            continue;
        };
        match &rule.store {
            BanStore::Memory(m) => {
                if let Some(d) = count_locally(m, rule, &member) {
                    issue(rule, &state.metrics, member, d);
                }
            }
            BanStore::Redis(r) => {
                let Ok(slot) = state.offence_slots.clone().try_acquire_owned() else {
                    state.metrics.offence_dropped();
                    continue;
                };
                let (rule, r, metrics, local) = (
                    rule.clone(),
                    r.clone(),
                    state.metrics.clone(),
                    state.memory.clone(),
                );
                tokio::spawn(async move {
                    let _slot = slot;
                    let banned = match r
                        .offence(
                            &rule.name,
                            &member,
                            rule.threshold,
                            rule.within,
                            rule.ban_for,
                        )
                        .await
                    {
                        Ok(b) => b,
                        Err(_) => {
                            metrics.fallback("local");
                            count_locally(&local, &rule, &member)
                        }
                    };
                    if let Some(d) = banned {
                        issue(&rule, &metrics, member, d);
                    }
                });
            }
        }
    }
}

/// Enters a ban in the local table, logs it and counts it.
fn issue(
    rule: &BanRule,
    metrics: &crate::observe::metrics::StateMetrics,
    member: String,
    d: Duration,
) {
    tracing::warn!(
        target: "portcullis::security",
        event = "ban",
        outcome = "banned",
        rule = %rule.name,
        member = %member,
        ban_secs = d.as_secs(),
        "client banned after repeated offences"
    );
    rule.list.ban(member, d);
    metrics.banned(&rule.name, 1);
    metrics.bans_active(&rule.name, rule.list.active());
}

/// Copies the live bans of every Redis rule into the local tables, forever (one pass per
/// `interval` of the snapshot current at the time).
pub async fn sync_loop(shared: std::sync::Weak<crate::server::Shared>) {
    loop {
        let Some(s) = shared.upgrade() else { return };
        let snap = s.snapshot.load_full();
        let metrics = s.registry.state.metrics.clone();
        drop(s);
        for rule in &snap.bans {
            if let BanStore::Redis(r) = &rule.store
                && let Ok(live) = r.bans(&rule.name).await
            {
                let fresh = rule.list.replace(live);
                if fresh > 0 {
                    tracing::info!(rule = %rule.name, fresh, "bans learnt from the shared store");
                }
            }
            metrics.bans_active(&rule.name, rule.list.active());
        }
        tokio::time::sleep(snap.ban_sync_interval).await;
    }
}

/// Counts one offence under `rule` in a memory store; returns the ban length when it reached
/// the threshold.
pub fn count_locally(store: &MemoryStore, rule: &BanRule, member: &str) -> Option<Duration> {
    let now = super::unix_ms();
    let within = u64::try_from(rule.within.as_millis()).unwrap_or(u64::MAX);
    let key = format!("ban:{}:{member}", rule.name);
    (store.offence(&key, rule.threshold, within, now) >= rule.threshold).then_some(rule.ban_for)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offences_come_from_the_deciding_stage() {
        assert_eq!(
            Offence::of(&[("authn", "invalid_credential")], 401, true),
            Some(Offence::AuthnFailure)
        );
        assert_eq!(
            Offence::of(&[("authn", "missing_credential")], 401, true),
            None
        );
        assert_eq!(
            Offence::of(&[("authn", "success"), ("authz", "denied")], 403, true),
            Some(Offence::AuthzDenied)
        );
        assert_eq!(
            Offence::of(&[("ratelimit", "rate_limited")], 429, true),
            Some(Offence::RateLimited)
        );
        assert_eq!(
            Offence::of(&[("router", "not_found")], 404, true),
            Some(Offence::NotFound)
        );
        assert_eq!(
            Offence::of(&[("authn", "success")], 404, false),
            Some(Offence::NotFound),
            "a 404 from the upstream"
        );
        assert_eq!(Offence::of(&[("authn", "success")], 200, false), None);
        assert_eq!(
            Offence::of(&[("ban", "banned")], 403, true),
            None,
            "a ban is no new offence"
        );
        assert_eq!(Offence::of(&[("waf", "pass")], 413, true), None);
        assert_eq!(Offence::of(&[("waf", "body_unreadable")], 400, true), None);
        assert_eq!(
            Offence::of(&[("validate", "bare_lf")], 400, true),
            Some(Offence::WafBlock)
        );
        // An upstream's own 403 after the WAF passed is no WAF block (nor an authz denial).
        assert_eq!(Offence::of(&[("waf", "pass")], 403, false), None);
        assert_eq!(Offence::of(&[("authz", "role")], 403, false), None);
        assert_eq!(
            Offence::of(&[("waf", "blocked")], 403, true),
            Some(Offence::WafBlock)
        );
    }

    fn rule(store: Arc<MemoryStore>) -> BanRule {
        BanRule {
            name: "r".into(),
            on: vec![Offence::AuthnFailure],
            methods: Vec::new(),
            key: BanKey::Ip,
            threshold: 3,
            within: Duration::from_secs(60),
            ban_for: Duration::from_secs(300),
            except_routes: vec!["open".into()],
            store: BanStore::Memory(store),
            list: Arc::default(),
        }
    }

    #[test]
    fn the_threshold_bans_and_starts_counting_again() {
        let store = Arc::new(MemoryStore::default());
        let r = rule(store.clone());
        assert_eq!(count_locally(&store, &r, "10.0.0.1"), None);
        assert_eq!(count_locally(&store, &r, "10.0.0.1"), None);
        assert_eq!(
            count_locally(&store, &r, "10.0.0.2"),
            None,
            "another member"
        );
        assert_eq!(
            count_locally(&store, &r, "10.0.0.1"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            count_locally(&store, &r, "10.0.0.1"),
            None,
            "counting restarts"
        );
        assert!(r.applies_to("key"));
        assert!(!r.applies_to("open"));
    }

    #[tokio::test(start_paused = true)]
    async fn bans_end_by_expiry_and_sync_replaces_the_table() {
        let l = BanList::default();
        assert!(l.ban("a".into(), Duration::from_secs(10)));
        assert!(!l.ban("a".into(), Duration::from_secs(5)), "already banned");
        assert_eq!(l.banned("a"), Some(Duration::from_secs(10)));
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(l.banned("a"), None);
        assert_eq!(l.active(), 0);
        let fresh = l.replace(vec![("b".into(), Duration::from_secs(3))]);
        assert_eq!(fresh, 1);
        assert!(l.banned("b").is_some());
        assert_eq!(l.replace(vec![("b".into(), Duration::from_secs(2))]), 0);
    }
}
