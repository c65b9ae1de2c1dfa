//! The Redis store: rate limits, quotas, offence counters and bans shared by every gateway that
//! points at one Redis (a single node; the `redis` crate also speaks to Sentinel and Cluster
//! deployments, and every multi-key script below keeps its keys in one hash slot).
//!
//! Each decision is one Lua script run atomically on the server, on the server's clock
//! (`TIME`), so gateways with skewed clocks agree and there is no read-then-write race. Every
//! call is bounded by `timeout`. After a failure the store is marked down and skipped for
//! `RETRY_AFTER_FAILURE` (callers use their `on_store_error` mode at once instead of waiting
//! for a timeout on every request); the next call after that probes it again. Going down and
//! coming back are logged once each and shown by `portcullis_state_store_up`.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{Gcra, QuotaPeriod, QuotaVerdict, Verdict};
use crate::observe::metrics::StateMetrics;

/// How long a store that failed is skipped before the next probe.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// Bans fetched per rule and sync at most.
pub const MAX_SYNCED_BANS: usize = 100_000;

/// GCRA on the server clock, in microseconds. KEYS[1]: the TAT key. ARGV: interval µs, burst,
/// max delay µs. Returns {allowed, remaining, wait µs (delay when allowed, retry-after when
/// refused), reset µs}. Numbers are written with `%.0f` (Lua's `tostring` would round a
/// 16-digit TAT to 14 significant digits).
const GCRA_SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local max_delay = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tat < now then tat = now end
local new_tat = tat + interval
local wait = new_tat - interval * burst - now
if wait < 0 then wait = 0 end
if wait > max_delay then
  return {0, 0, string.format('%.0f', wait - max_delay), string.format('%.0f', tat - now)}
end
local used = new_tat - now
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil(used / 1000) + 1)
local remaining = math.floor((interval * burst - used) / interval)
if remaining < 0 then remaining = 0 end
return {1, remaining, string.format('%.0f', wait), string.format('%.0f', used)}
";

/// A quota counter in the calendar window (UTC day or month) that holds the Redis server's
/// clock (`TIME`), so every gateway counts into the same window whatever its own clock says.
/// KEYS[1]: the counter, stored as `<window start ms>:<count>`. ARGV: limit, `d` (day) or `m`
/// (month). Counts only below the limit; a counter of an earlier window starts again at zero.
/// Returns {counted, count, ms until the window ends}.
const QUOTA_SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local DAY = 86400000
local day = math.floor(now / DAY)
local start_ms, end_ms
if ARGV[2] == 'm' then
  -- Howard Hinnant's civil-from-days and days-from-civil, on whole numbers.
  local z = day + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  local function days(yy, mm)
    if mm <= 2 then yy = yy - 1 end
    local e = math.floor(yy / 400)
    local ye = yy - e * 400
    local mpp = mm > 2 and mm - 3 or mm + 9
    local dy = math.floor((153 * mpp + 2) / 5)
    local de = ye * 365 + math.floor(ye / 4) - math.floor(ye / 100) + dy
    return e * 146097 + de - 719468
  end
  start_ms = days(y, m) * DAY
  if m == 12 then end_ms = days(y + 1, 1) * DAY else end_ms = days(y, m + 1) * DAY end
else
  start_ms = day * DAY
  end_ms = start_ms + DAY
end
local start = string.format('%.0f', start_ms)
local n = 0
local cur = redis.call('GET', KEYS[1])
if cur then
  local w, c = string.match(cur, '^(%d+):(%d+)$')
  if w == start then n = tonumber(c) end
end
local left = end_ms - now
if n >= tonumber(ARGV[1]) then return {0, n, left} end
n = n + 1
redis.call('SET', KEYS[1], start .. ':' .. n, 'PX', left)
return {1, n, left}
";

/// One offence, counted over a sliding window of `within` in eight steps. KEYS[1]: the
/// offence buckets (a hash: step number → offences in that step, server clock), KEYS[2]: the
/// rule's ban set (a sorted set of members scored by ban end, server ms). ARGV: threshold,
/// within ms, ban ms, member. Offences of the current step and the seven before it count;
/// older steps are dropped. At the threshold the buckets are cleared and the member banned.
/// Returns {count, banned ms}.
const OFFENCE_SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local within = tonumber(ARGV[2])
local step = math.max(1, math.ceil(within / 8))
local cur = math.floor(now / step)
local n = 1
local h = redis.call('HGETALL', KEYS[1])
for i = 1, #h, 2 do
  local idx = tonumber(h[i])
  if idx and idx > cur - 8 and idx <= cur then
    n = n + (tonumber(h[i + 1]) or 0)
  else
    redis.call('HDEL', KEYS[1], h[i])
  end
end
if n < tonumber(ARGV[1]) then
  redis.call('HINCRBY', KEYS[1], string.format('%.0f', cur), 1)
  redis.call('PEXPIRE', KEYS[1], within)
  return {n, 0}
end
redis.call('DEL', KEYS[1])
local ban = tonumber(ARGV[3])
redis.call('ZADD', KEYS[2], string.format('%.0f', now + ban), ARGV[4])
local ttl = redis.call('PTTL', KEYS[2])
if ttl < ban then redis.call('PEXPIRE', KEYS[2], ban) end
return {n, ban}
";

/// The live bans of a rule. KEYS[1]: the ban set. ARGV: how many at most. Drops ended bans and
/// returns {member, ms left, member, ms left, ...}.
const SYNC_SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local r = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
local out = {}
for i = 1, #r, 2 do
  out[#out + 1] = r[i]
  out[#out + 1] = string.format('%.0f', tonumber(r[i + 1]) - now)
end
return out
";

/// Why the store gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Skipped: failed recently.
    #[error("store down")]
    Down,
    /// No answer within the timeout.
    #[error("timed out")]
    Timeout,
    /// The server or the connection failed.
    #[error("{0}")]
    Redis(#[from] redis::RedisError),
}

/// One Redis server shared by the gateways.
pub struct RedisStore {
    client: redis::Client,
    /// The URL with any password replaced, for logs and metric labels.
    pub display: String,
    /// Key prefix (namespace), without the trailing `:`.
    pub prefix: String,
    /// Bound on every call.
    pub timeout: Duration,
    conn: OnceLock<Result<ConnectionManager, String>>,
    up: AtomicBool,
    skip_until_ms: AtomicU64,
    scripts: Scripts,
    metrics: StateMetrics,
}

struct Scripts {
    gcra: redis::Script,
    quota: redis::Script,
    offence: redis::Script,
    sync: redis::Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.display)
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// `url` with the password (if any) replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or("", |(u, _)| u);
            format!("{scheme}://{user}:***@{host}{path}")
        }
        None => url.to_owned(),
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl RedisStore {
    /// A store for `url` (`redis://`, `rediss://` for TLS, `redis+unix://`). Nothing connects
    /// until the first call, which must run inside the Tokio runtime.
    pub fn new(
        url: &str,
        prefix: String,
        timeout: Duration,
        metrics: StateMetrics,
    ) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| format!("invalid Redis URL: {e}"))?;
        Ok(Self {
            client,
            display: redact_url(url),
            prefix,
            timeout,
            conn: OnceLock::new(),
            up: AtomicBool::new(true),
            skip_until_ms: AtomicU64::new(0),
            scripts: Scripts {
                gcra: redis::Script::new(GCRA_SCRIPT),
                quota: redis::Script::new(QUOTA_SCRIPT),
                offence: redis::Script::new(OFFENCE_SCRIPT),
                sync: redis::Script::new(SYNC_SCRIPT),
            },
            metrics,
        })
    }

    /// Whether the last call succeeded.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    fn connection(&self) -> Result<ConnectionManager, StoreError> {
        let c = self.conn.get_or_init(|| {
            let cfg = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(self.timeout.max(Duration::from_millis(250))))
                .set_response_timeout(Some(self.timeout))
                .set_number_of_retries(2)
                .set_max_delay(Duration::from_secs(2));
            ConnectionManager::new_lazy_with_config(self.client.clone(), cfg)
                .map_err(|e| e.to_string())
        });
        match c {
            Ok(c) => Ok(c.clone()),
            Err(e) => Err(StoreError::Redis(redis::RedisError::from((
                redis::ErrorKind::Client,
                "cannot create the connection",
                e.clone(),
            )))),
        }
    }

    /// Runs `inv` with the timeout and the up/down bookkeeping.
    async fn run<T: redis::FromRedisValue>(
        &self,
        op: &'static str,
        inv: redis::ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let now = crate::upstream::state::now_ms();
        if !self.is_up() && now < self.skip_until_ms.load(Ordering::Relaxed) {
            return Err(StoreError::Down);
        }
        let mut conn = self.connection()?;
        let result = match tokio::time::timeout(self.timeout, inv.invoke_async(&mut conn)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(StoreError::Redis(e)),
            Err(_) => Err(StoreError::Timeout),
        };
        match &result {
            Ok(_) => {
                if !self.up.swap(true, Ordering::Relaxed) {
                    tracing::info!(store = %self.display, "state store reachable again; shared limits resume");
                    self.metrics.set_up(&self.display, true);
                }
            }
            Err(e) => {
                self.metrics.error(&self.display, op);
                self.skip_until_ms.store(
                    now + RETRY_AFTER_FAILURE.as_millis() as u64,
                    Ordering::Relaxed,
                );
                if self.up.swap(false, Ordering::Relaxed) {
                    tracing::warn!(store = %self.display, op, error = %e, "state store unreachable; limits use their on_store_error mode");
                    self.metrics.set_up(&self.display, false);
                }
            }
        }
        result
    }

    /// `<prefix>:<key>`.
    pub fn key(&self, key: &str) -> String {
        let mut k = String::with_capacity(self.prefix.len() + 1 + key.len());
        k.push_str(&self.prefix);
        k.push(':');
        k.push_str(key);
        k
    }

    /// One rate-limit decision.
    pub async fn check(
        &self,
        key: &str,
        g: Gcra,
        max_delay: Duration,
    ) -> Result<Verdict, StoreError> {
        let interval_us = (g.interval_ns / 1000).max(1);
        let mut inv = self.scripts.gcra.prepare_invoke();
        inv.key(self.key(key))
            .arg(interval_us)
            .arg(g.burst)
            .arg(micros(max_delay));
        let (allowed, remaining, wait, reset): (u8, u64, u64, u64) =
            self.run("ratelimit", inv).await?;
        let wait = Duration::from_micros(wait);
        Ok(Verdict {
            allowed: allowed == 1,
            remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
            retry_after: if allowed == 1 { Duration::ZERO } else { wait },
            reset_after: Duration::from_micros(reset),
            delay: if allowed == 1 { wait } else { Duration::ZERO },
        })
    }

    /// One quota decision, in the window that holds the server's clock.
    pub async fn quota(
        &self,
        key: &str,
        limit: u64,
        period: QuotaPeriod,
    ) -> Result<QuotaVerdict, StoreError> {
        let mut inv = self.scripts.quota.prepare_invoke();
        inv.key(self.key(key)).arg(limit).arg(match period {
            QuotaPeriod::Day => "d",
            QuotaPeriod::Month => "m",
        });
        let (counted, n, left_ms): (u8, u64, u64) = self.run("quota", inv).await?;
        Ok(QuotaVerdict {
            allowed: counted == 1,
            remaining: limit.saturating_sub(n),
            reset_ms: left_ms,
        })
    }

    /// Counts one offence of `member` under ban rule `rule`; returns the ban length when this
    /// offence reached the threshold.
    pub async fn offence(
        &self,
        rule: &str,
        member: &str,
        threshold: u32,
        within: Duration,
        ban_for: Duration,
    ) -> Result<Option<Duration>, StoreError> {
        let mut inv = self.scripts.offence.prepare_invoke();
        inv.key(self.key(&format!("{{ban:{rule}}}:offences:{member}")))
            .key(self.ban_set(rule))
            .arg(threshold)
            .arg(u64::try_from(within.as_millis()).unwrap_or(u64::MAX).max(1))
            .arg(
                u64::try_from(ban_for.as_millis())
                    .unwrap_or(u64::MAX)
                    .max(1),
            )
            .arg(member);
        let (_, banned): (u64, u64) = self.run("offence", inv).await?;
        Ok((banned > 0).then(|| Duration::from_millis(banned)))
    }

    /// The live bans of `rule`: member and time left.
    pub async fn bans(&self, rule: &str) -> Result<Vec<(String, Duration)>, StoreError> {
        let mut inv = self.scripts.sync.prepare_invoke();
        inv.key(self.ban_set(rule)).arg(MAX_SYNCED_BANS);
        let flat: Vec<String> = self.run("bans", inv).await?;
        Ok(flat
            .chunks_exact(2)
            .filter_map(|c| {
                let ms: u64 = c[1].parse().ok()?;
                Some((c[0].clone(), Duration::from_millis(ms)))
            })
            .collect())
    }

    fn ban_set(&self, rule: &str) -> String {
        self.key(&format!("{{ban:{rule}}}:set"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_the_display_url() {
        assert_eq!(
            redact_url("redis://:s3cret@10.0.0.1:6379/0"),
            "redis://:***@10.0.0.1:6379/0"
        );
        assert_eq!(
            redact_url("rediss://app:s3cret@redis.internal"),
            "rediss://app:***@redis.internal"
        );
        assert_eq!(
            redact_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
    }
}
