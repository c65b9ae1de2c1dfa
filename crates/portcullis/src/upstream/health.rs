//! Active HTTP health checks. One background task per upstream of the live snapshot probes every
//! target on an interval and flips `TargetState::healthy` after the configured number of
//! consecutive results. The task holds only a weak reference to its upstream, so it ends by
//! itself once a reload has replaced that upstream and the last request using it has finished.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use http::{Method, Request};

use super::Upstream;
use crate::body::empty;
use crate::config::error::Collector;
use crate::config::raw::HealthCheckConfig;

/// Compiled health-check settings.
#[derive(Debug, Clone)]
pub struct HealthCheck {
    /// Path probed.
    pub path: String,
    /// Interval.
    pub interval: Duration,
    /// Timeout of one probe.
    pub timeout: Duration,
    /// Successes to become healthy.
    pub healthy_threshold: u32,
    /// Failures to become unhealthy.
    pub unhealthy_threshold: u32,
    /// Statuses that count as healthy (empty: 200-399).
    pub expected: Vec<u16>,
}

impl HealthCheck {
    /// Compiles `c`; `None` (with errors recorded) when invalid.
    pub fn compile(c: &HealthCheckConfig, at: &str, errs: &mut Collector) -> Option<Self> {
        let path = c.path.as_deref().unwrap_or("/healthz").to_owned();
        if !path.starts_with('/') || path.parse::<http::uri::PathAndQuery>().is_err() {
            errs.push(format!("{at}.path"), "must be a path starting with `/`");
            return None;
        }
        let interval = c.interval.map(|d| d.0).unwrap_or(Duration::from_secs(5));
        if interval < Duration::from_millis(100) {
            errs.push(format!("{at}.interval"), "must be at least 100ms");
            return None;
        }
        Some(Self {
            path,
            interval,
            timeout: c.timeout.map(|d| d.0).unwrap_or(Duration::from_secs(2)),
            healthy_threshold: c.healthy_threshold.unwrap_or(2).max(1),
            unhealthy_threshold: c.unhealthy_threshold.unwrap_or(3).max(1),
            expected: c.expected_statuses.clone(),
        })
    }

    fn is_expected(&self, status: u16) -> bool {
        if self.expected.is_empty() {
            (200..400).contains(&status)
        } else {
            self.expected.contains(&status)
        }
    }
}

/// Called with (upstream, target, healthy) when a target changes state.
pub type HealthObserver = Arc<dyn Fn(&str, &str, bool) + Send + Sync>;

/// Starts the health-check task of `upstream`, if it has a health check.
pub fn spawn(upstream: &Arc<Upstream>, on_change: HealthObserver) {
    let Some(hc) = upstream.health.clone() else {
        return;
    };
    let weak: Weak<Upstream> = Arc::downgrade(upstream);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(hc.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(up) = weak.upgrade() else { return };
            let probes = up.targets.iter().enumerate().map(|(i, t)| {
                let up = up.clone();
                let hc = hc.clone();
                let addr = t.addr.clone();
                async move {
                    let uri = format!("{}://{}{}", up.scheme, addr, hc.path);
                    let ok = match Request::builder()
                        .method(Method::GET)
                        .uri(uri)
                        .header(http::header::USER_AGENT, "portcullis-health-check")
                        .body(empty())
                    {
                        Ok(req) => matches!(
                            tokio::time::timeout(hc.timeout, up.client.request(req)).await,
                            Ok(Ok(resp)) if hc.is_expected(resp.status().as_u16())
                        ),
                        Err(_) => false,
                    };
                    (i, ok)
                }
            });
            let results = futures_join_all(probes).await;
            for (i, ok) in results {
                let t = &up.targets[i];
                let st = &t.state;
                if ok {
                    st.hc_failures.store(0, Ordering::Relaxed);
                    let n = st.hc_successes.fetch_add(1, Ordering::Relaxed) + 1;
                    if !st.healthy.load(Ordering::Relaxed) && n >= hc.healthy_threshold {
                        st.healthy.store(true, Ordering::Relaxed);
                        on_change(&up.name, &t.addr, true);
                    }
                } else {
                    st.hc_successes.store(0, Ordering::Relaxed);
                    let n = st.hc_failures.fetch_add(1, Ordering::Relaxed) + 1;
                    if st.healthy.load(Ordering::Relaxed) && n >= hc.unhealthy_threshold {
                        st.healthy.store(false, Ordering::Relaxed);
                        on_change(&up.name, &t.addr, false);
                    }
                }
            }
        }
    });
}

/// Runs the probes concurrently and collects their results (a tiny join_all on JoinSet).
async fn futures_join_all<F, T>(futs: impl Iterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    for f in futs {
        set.spawn(f);
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        if let Ok(v) = r {
            out.push(v);
        }
    }
    out
}
