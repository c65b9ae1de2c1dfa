//! Traffic control against real gateways and a real Redis on 127.0.0.1: a limit shared by a
//! cluster of three gateways, Redis stopped and restarted under load, auto-ban seen by a second
//! gateway, throttling by delay, quotas, concurrency limits and global limits.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::support::{
    BASE, Gateway, RedisServer, empty, eventually, free_port, get, plain_client, repo_root,
    send_full, start_upstream,
};

/// The Redis the tests share: `REDIS_URL` when set (`.ci/test` starts one), else a server
/// started for this test. Tests on a shared Redis use their own key prefix.
async fn shared_redis() -> (String, Option<RedisServer>) {
    match std::env::var("REDIS_URL") {
        Ok(url) if !url.is_empty() => (url, None),
        _ => {
            let r = RedisServer::start().await;
            (r.url(), Some(r))
        }
    }
}

fn unique_prefix(tag: &str) -> String {
    format!(
        "t{}{}{tag}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros())
    )
}

/// One copy of `examples/security-suite.yaml` with Redis state under `prefix`.
async fn suite_on_redis(url: &str, prefix: &str, upstream: &str) -> Gateway {
    let port = free_port();
    let admin = free_port();
    let listen = format!("127.0.0.1:{port}");
    let admin_addr = format!("127.0.0.1:{admin}");
    let corpora = repo_root().join("../shared/corpora");
    Gateway::start_file(
        &repo_root().join("examples/security-suite.yaml"),
        &[
            ("PORTCULLIS_LISTEN", listen.as_str()),
            ("PORTCULLIS_ADMIN", admin_addr.as_str()),
            ("UPSTREAM", upstream),
            ("PORTCULLIS_STATE", "redis"),
            ("REDIS_URL", url),
            ("PORTCULLIS_STATE_PREFIX", prefix),
            (
                "PORTCULLIS_CORPORA",
                corpora.to_str().unwrap_or("../shared/corpora"),
            ),
        ],
        port,
        admin,
    )
    .await
}

/// Three copies of the suite config on one Redis; a client spreads requests across them for
/// a fixed 4.1 s window. `/limited/` allows 50 at once and one per 200 ms after, so the cluster
/// must admit 50 + span / 200 ms (about 70.5) in total, within ±2 %.
#[tokio::test]
async fn three_gateways_share_one_limit_within_two_percent() {
    let (url, _own) = shared_redis().await;
    let prefix = unique_prefix("cluster");
    let up = start_upstream("backend").await;
    let a = up.addr.to_string();
    let gws = [
        suite_on_redis(&url, &prefix, &a).await,
        suite_on_redis(&url, &prefix, &a).await,
        suite_on_redis(&url, &prefix, &a).await,
    ];
    let urls: Arc<Vec<String>> = Arc::new(gws.iter().map(|g| g.url("/limited/x")).collect());
    let admitted = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let other = Arc::new(AtomicUsize::new(0));
    let window = Duration::from_millis(4100);
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::new();
    for w in 0..6usize {
        let (urls, admitted, refused, other) = (
            urls.clone(),
            admitted.clone(),
            refused.clone(),
            other.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let c = plain_client();
            let mut i = w;
            let (mut first, mut last) = (None, start);
            // Bounded: stops at the end of the window.
            while start.elapsed() < window {
                let sent = tokio::time::Instant::now();
                first.get_or_insert(sent);
                last = sent;
                let (st, _) = get(&c, &urls[i % urls.len()]).await;
                match st {
                    200 => admitted.fetch_add(1, Ordering::Relaxed),
                    429 => refused.fetch_add(1, Ordering::Relaxed),
                    _ => other.fetch_add(1, Ordering::Relaxed),
                };
                i += 1;
            }
            (first.unwrap_or(start), last)
        }));
    }
    let (mut first, mut last) = (None::<tokio::time::Instant>, start);
    for t in tasks {
        let (f, l) = t.await.expect("client task");
        first = Some(first.map_or(f, |x| x.min(f)));
        last = last.max(l);
    }
    let admitted = admitted.load(Ordering::Relaxed);
    // The configured limit over the span from the first request sent to the last: the burst
    // of 50, then one per 200 ms.
    let span = last - first.unwrap_or(start);
    let expected = 50.0 + span.as_secs_f64() / 0.2;
    let error = (admitted as f64 - expected) / expected * 100.0;
    // GCRA admits whole requests: exactly the burst plus one per full 200 ms.
    let exact = 50 + (span.as_millis() / 200) as usize;
    eprintln!(
        "cluster accuracy: admitted {admitted} of {} requests across 3 gateways in {span:?}; \
         configured {expected:.2} (whole requests: {exact}); error {error:+.2} %",
        admitted + refused.load(Ordering::Relaxed),
    );
    assert!(
        admitted.abs_diff(exact) <= 1,
        "admitted {admitted}, GCRA allows {exact}"
    );
    assert_eq!(
        other.load(Ordering::Relaxed),
        0,
        "only 200 and 429 expected"
    );
    assert!(
        refused.load(Ordering::Relaxed) > 100,
        "the client did not push past the limit"
    );
    assert!(
        error.abs() <= 2.0,
        "admitted {admitted}, expected {expected}"
    );
    for g in &gws {
        assert!(
            g.metrics()
                .await
                .contains("portcullis_state_store_up{store=\"redis://127.0.0.1"),
            "store gauge"
        );
    }
}

/// Ten bad API keys on one gateway ban the IP on a second gateway too (403 on `/key/` and
/// `/limited/`), while `/open/` stays open.
#[tokio::test]
async fn auto_ban_from_bad_keys_is_shared_by_a_second_gateway() {
    let (url, _own) = shared_redis().await;
    let prefix = unique_prefix("ban");
    let up = start_upstream("backend").await;
    let a = up.addr.to_string();
    let first = suite_on_redis(&url, &prefix, &a).await;
    let second = suite_on_redis(&url, &prefix, &a).await;
    let c = plain_client();
    let bad = |gw: &Gateway| {
        http::Request::get(gw.url("/key/items"))
            .header("x-api-key", "pk_suite_0123456789abcdefghijklmnopqrstux")
            .body(empty())
            .expect("req")
    };
    for i in 0..9 {
        let (p, _) = send_full(&c, bad(&first)).await;
        assert_eq!(p.status, 401, "attempt {i}");
    }
    assert_eq!(
        get(&c, &second.url("/limited/x")).await.0,
        200,
        "not banned yet"
    );
    assert_eq!(send_full(&c, bad(&first)).await.0.status, 401, "the tenth");
    let banned_here = eventually(60, || async {
        get(&c, &first.url("/limited/x")).await.0 == 403
    })
    .await;
    assert!(banned_here, "the first gateway bans");
    // The second gateway learns the ban from Redis within its sync interval (1 s).
    let banned_there = eventually(60, || async {
        get(&c, &second.url("/limited/x")).await.0 == 403
    })
    .await;
    assert!(banned_there, "the second gateway never saw the ban");
    let good = http::Request::get(second.url("/key/items"))
        .header("x-api-key", "pk_suite_0123456789abcdefghijklmnopqrstuv")
        .body(empty())
        .expect("req");
    let (p, body) = send_full(&c, good).await;
    assert_eq!(p.status, 403, "even a good key is refused while banned");
    assert!(body.contains("urn:portcullis:problem:banned"), "{body}");
    assert!(p.headers.contains_key("retry-after"));
    assert_eq!(
        get(&c, &second.url("/open/x")).await.0,
        200,
        "/open/ is excepted"
    );
    assert!(
        first
            .stderr()
            .contains("client banned after repeated offences")
    );
    assert!(
        first
            .metrics()
            .await
            .contains("portcullis_bans_total{rule=\"bad-api-keys\"} 1")
    );
    assert!(
        second
            .metrics()
            .await
            .contains("portcullis_bans_active{rule=\"bad-api-keys\"} 1")
    );
}

const OUTAGE: &str = r#"{BASE}
state:
  store: redis
  redis: { url: "REDIS", timeout: 100ms }
routes:
  - name: local
    match: { path_prefix: /local }
    auth: none
    rate_limits: [{ requests: 3, per: 1m, on_store_error: local }]
    direct: {}
  - name: deny
    match: { path_prefix: /deny }
    auth: none
    rate_limits: [{ requests: 3, per: 1m, on_store_error: deny }]
    direct: {}
  - name: allow
    match: { path_prefix: /allow }
    auth: none
    rate_limits: [{ requests: 3, per: 1m, on_store_error: allow }]
    direct: {}
"#;

/// Redis stopped mid-test: each limit follows its `on_store_error` mode and the gateway keeps
/// serving; the outage shows in metrics and logs. Redis restarted: shared limiting resumes.
#[tokio::test]
async fn redis_outage_follows_each_failure_mode_and_recovers() {
    let mut redis = RedisServer::start().await;
    let yaml = OUTAGE
        .replace("{BASE}", BASE)
        .replace("REDIS", &redis.url());
    let gw = Gateway::start(&yaml).await;
    let c = plain_client();
    for i in 0..3 {
        assert_eq!(get(&c, &gw.url("/local")).await.0, 200, "shared {i}");
    }
    assert_eq!(get(&c, &gw.url("/local")).await.0, 429);
    assert!(
        redis
            .cli(&["keys", "portcullis:rl:local:*"])
            .contains("127.0.0.1"),
        "the counter lives in Redis"
    );

    redis.stop();
    // `local`: this gateway's own counters (a fresh budget of 3), then 429.
    for i in 0..3 {
        let (st, body) = get(&c, &gw.url("/local")).await;
        assert_eq!(st, 200, "local fallback {i}: {body}");
    }
    assert_eq!(get(&c, &gw.url("/local")).await.0, 429);
    // `deny`: 503 problem+json; `allow`: served without limit headers.
    let (p, body) = send_full(
        &c,
        http::Request::get(gw.url("/deny"))
            .body(empty())
            .expect("req"),
    )
    .await;
    assert_eq!(p.status, 503, "{body}");
    assert!(body.contains("unavailable"), "{body}");
    for _ in 0..5 {
        let (p, _) = send_full(
            &c,
            http::Request::get(gw.url("/allow"))
                .body(empty())
                .expect("req"),
        )
        .await;
        assert_eq!(p.status, 200);
        assert!(!p.headers.contains_key("ratelimit"));
    }
    let m = gw.metrics().await;
    assert!(
        m.contains("portcullis_state_store_up{store=\"redis://127.0.0.1"),
        "{m}"
    );
    assert!(m.contains("} 0"), "store down in metrics: {m}");
    assert!(
        m.contains("portcullis_state_store_fallbacks_total{mode=\"local\"}"),
        "{m}"
    );
    assert!(
        m.contains("portcullis_state_store_fallbacks_total{mode=\"deny\"}"),
        "{m}"
    );
    assert!(
        m.contains("portcullis_state_store_fallbacks_total{mode=\"allow\"}"),
        "{m}"
    );
    assert!(
        gw.stderr().contains("state store unreachable"),
        "{}",
        gw.stderr()
    );

    redis.restart().await;
    // The store is probed again at most a second after the failure; the shared counter is
    // empty after the restart, so the route admits again and writes to Redis.
    let back = eventually(100, || async { get(&c, &gw.url("/deny")).await.0 == 200 }).await;
    assert!(back, "shared limiting did not resume");
    assert!(
        redis
            .cli(&["keys", "portcullis:rl:deny:*"])
            .contains("127.0.0.1")
    );
    assert!(
        gw.stderr().contains("state store reachable again"),
        "{}",
        gw.stderr()
    );
    let m = gw.metrics().await;
    assert!(
        m.lines()
            .any(|l| l.starts_with("portcullis_state_store_up{") && l.ends_with(" 1")),
        "{m}"
    );
    // No panic: the process is alive and serving.
    assert_eq!(get(&c, &gw.url("/allow")).await.0, 200);
}

/// Throttling by delay: with 5 per second and room for one at once, four concurrent requests
/// are all served, the later ones held for their slots; past `delay` the answer is 429.
#[tokio::test]
async fn throttling_holds_excess_requests_then_refuses() {
    let yaml = format!(
        "{BASE}routes:\n  - {{ name: t, match: {{ path_prefix: / }}, auth: none, direct: {{}}, rate_limits: [{{ requests: 5, per: 1s, burst: 1, delay: 700ms, queue: 10 }}] }}\n"
    );
    let gw = Gateway::start(&yaml).await;
    let url = gw.url("/x");
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let (st, _) = get(&plain_client(), &url).await;
            (st, start.elapsed())
        }));
    }
    let mut done = Vec::new();
    for t in tasks {
        done.push(t.await.expect("task"));
    }
    assert!(done.iter().all(|(st, _)| *st == 200), "{done:?}");
    let slowest = done.iter().map(|(_, d)| *d).max().expect("four");
    // The fourth slot is 600 ms after the first: someone waited at least about that long.
    assert!(slowest >= Duration::from_millis(550), "{done:?}");
    // Now the queue reaches past 700 ms: the next burst is partly refused.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let url = url.clone();
        statuses.push(tokio::spawn(
            async move { get(&plain_client(), &url).await.0 },
        ));
    }
    let mut refused = 0;
    for s in statuses {
        if s.await.expect("task") == 429 {
            refused += 1;
        }
    }
    assert!(refused >= 1, "nothing refused past the delay");
    assert!(
        gw.metrics()
            .await
            .contains("portcullis_ratelimit_throttled_total")
    );
}

/// Quotas per consumer per day: the `RateLimit` headers count down, the spent quota answers
/// 429 with `Retry-After` until midnight UTC, another consumer has its own, and a reload of an
/// unrelated part of the config keeps the counts.
#[tokio::test]
async fn daily_quota_per_consumer_counts_down_and_survives_reload() {
    let alice = "pk_alice__0123456789abcdefghijklmnopqrstuv";
    let bob = "pk_bob____0123456789abcdefghijklmnopqrstuv";
    let (alice_entry, bob_entry) = (
        crate::identity::entry(alice, ""),
        crate::identity::entry(bob, ""),
    );
    let yaml = |extra: &str| {
        format!(
            r#"{BASE}{extra}identity:
  api_key_pepper: "{pepper}"
consumers:
  - name: alice
    roles: [user]
    api_keys: [{alice_entry}]
  - name: bob
    roles: [user]
    api_keys: [{bob_entry}]
reload: {{ interval: 100ms }}
routes:
  - name: q
    match: {{ path_prefix: / }}
    auth: {{ methods: [api_key] }}
    authorize: {{ roles: [user] }}
    quotas: [{{ name: daily, limit: 3, per: day }}]
    direct: {{}}
"#,
            pepper = crate::identity::PEPPER
        )
    };
    let gw = Gateway::start(&yaml("")).await;
    let c = plain_client();
    let call = |key: &'static str| {
        send_full(
            &c,
            http::Request::get(gw.url("/x"))
                .header("x-api-key", key)
                .body(empty())
                .expect("req"),
        )
    };
    for left in [2, 1] {
        let (p, body) = call(alice).await;
        assert_eq!(p.status, 200, "{body}");
        assert_eq!(p.headers["ratelimit-policy"], "\"daily\";q=3;w=86400");
        let state = p.headers["ratelimit"].to_str().expect("text").to_owned();
        assert!(
            state.starts_with(&format!("\"daily\";r={left};t=")),
            "{state}"
        );
    }
    // An unrelated change reloads the config; the count stays.
    gw.write_config(&yaml("# reloaded\n"));
    let reloaded = eventually(100, || async { gw.stderr().contains("config reloaded") }).await;
    assert!(reloaded);
    let (p, _) = call(alice).await;
    assert_eq!(p.status, 200);
    assert!(
        p.headers["ratelimit"]
            .to_str()
            .expect("text")
            .contains("r=0")
    );
    let (p, body) = call(alice).await;
    assert_eq!(p.status, 429, "{body}");
    assert!(
        body.contains("urn:portcullis:problem:quota_exceeded"),
        "{body}"
    );
    let retry: u64 = p.headers["retry-after"]
        .to_str()
        .expect("t")
        .parse()
        .expect("n");
    assert!((1..=86_400).contains(&retry), "{retry}");
    assert_eq!(call(bob).await.0.status, 200);
}

/// A monthly quota on Redis counts in the calendar window of the Redis server's clock: one
/// counter per key holding `<window start ms>:<count>`, expiring when the month ends, and the
/// `RateLimit` reset is the time the server has left in that window.
#[tokio::test]
async fn monthly_quota_on_redis_counts_in_the_servers_window() {
    let redis = RedisServer::start().await;
    let yaml = format!(
        r#"{BASE}state: {{ store: redis, redis: {{ url: "{url}" }} }}
routes:
  - name: m
    match: {{ path_prefix: / }}
    auth: none
    quotas: [{{ name: monthly, limit: 2, per: month, key: [ip] }}]
    direct: {{}}
"#,
        url = redis.url()
    );
    let gw = Gateway::start(&yaml).await;
    let c = plain_client();
    let mut resets = Vec::new();
    for want in [200, 200, 429] {
        let (p, body) = send_full(
            &c,
            http::Request::get(gw.url("/x")).body(empty()).expect("req"),
        )
        .await;
        assert_eq!(p.status, want, "{body}");
        let state = p.headers["ratelimit"].to_str().expect("text").to_owned();
        let t: u64 = state
            .rsplit("t=")
            .next()
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("{state}"));
        resets.push(t);
    }
    let keys = redis.cli(&["--scan", "--pattern", "portcullis:q:*"]);
    let key = keys
        .lines()
        .next()
        .unwrap_or_else(|| panic!("no quota key"));
    assert_eq!(keys.lines().count(), 1, "one counter per key: {keys}");
    let value = redis.cli(&["get", key]);
    let (start, count) = value
        .trim()
        .split_once(':')
        .unwrap_or_else(|| panic!("{value}"));
    assert_eq!(count, "2", "the refused request is not counted: {value}");
    let start: u64 = start.parse().expect("window start");
    let time = redis.cli(&["time"]);
    let now_s: u64 = time
        .lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .expect("TIME");
    // The window starts at midnight UTC on a 1st, at most 31 days before the server's now.
    assert_eq!(start % 86_400_000, 0, "{start}");
    assert!(
        start / 1000 <= now_s && now_s - start / 1000 < 31 * 86_400,
        "{start} {now_s}"
    );
    let ttl_s: u64 = redis
        .cli(&["pttl", key])
        .trim()
        .parse::<u64>()
        .expect("pttl")
        / 1000;
    for t in resets {
        assert!(
            t.abs_diff(ttl_s) <= 2,
            "reset {t} s against the key's {ttl_s} s left"
        );
        assert!(t <= 31 * 86_400, "{t}");
    }
}

/// In-flight limits: with `max: 2`, a third concurrent request gets 503 until one finishes;
/// places are held until the response body is sent.
#[tokio::test]
async fn concurrency_limit_refuses_a_third_request_in_flight() {
    let up = start_upstream("u").await;
    let yaml = format!(
        "{BASE}upstreams:\n  u: {{ targets: [\"{}\"] }}\nroutes:\n  - {{ name: c, match: {{ path_prefix: / }}, auth: none, upstream: u, concurrency: {{ max: 2 }} }}\n",
        up.addr
    );
    let gw = Gateway::start(&yaml).await;
    let slow = gw.url("/slow/800");
    let held: Vec<_> = (0..2)
        .map(|_| {
            let u = slow.clone();
            tokio::spawn(async move { get(&plain_client(), &u).await.0 })
        })
        .collect();
    // Both slow requests are at the upstream (so both hold a place) before the probe.
    let ctl = up.ctl.clone();
    let both = eventually(100, || {
        let ctl = ctl.clone();
        async move { ctl.hits.load(Ordering::Relaxed) >= 2 }
    })
    .await;
    assert!(both, "the slow requests never reached the upstream");
    let c = plain_client();
    let (p, body) = send_full(
        &c,
        http::Request::get(gw.url("/fast"))
            .body(empty())
            .expect("req"),
    )
    .await;
    assert_eq!(p.status, 503, "a third request in flight: {body}");
    assert!(body.contains("concurrency_limited"), "{body}");
    assert_eq!(p.headers["retry-after"], "1");
    for h in held {
        assert_eq!(h.await.expect("task"), 200);
    }
    assert_eq!(
        get(&c, &gw.url("/fast")).await.0,
        200,
        "places are given back"
    );
    assert!(
        gw.metrics()
            .await
            .contains("portcullis_concurrency_rejected_total{limit=\"c\"}")
    );
}

/// A global limit (top level) counts requests to every route together.
#[tokio::test]
async fn global_limit_spans_routes() {
    let yaml = format!(
        "{BASE}rate_limits: [{{ name: global, requests: 4, per: 1m }}]\nroutes:\n  - {{ name: a, match: {{ path_prefix: /a }}, auth: none, direct: {{}} }}\n  - {{ name: b, match: {{ path_prefix: /b }}, auth: none, direct: {{}}, rate_limits: [{{ name: own, requests: 100, per: 1m }}] }}\n"
    );
    let gw = Gateway::start(&yaml).await;
    let c = plain_client();
    for p in ["/a", "/b", "/a", "/b"] {
        assert_eq!(get(&c, &gw.url(p)).await.0, 200, "{p}");
    }
    assert_eq!(get(&c, &gw.url("/a")).await.0, 429);
    let (p, _) = send_full(
        &c,
        http::Request::get(gw.url("/b")).body(empty()).expect("req"),
    )
    .await;
    assert_eq!(p.status, 429);
    assert_eq!(p.headers["ratelimit-policy"], "\"global\";q=4;w=60");
}
