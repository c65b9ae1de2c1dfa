//! Hot reload under load (file change and SIGHUP), rejected reloads, and SIGTERM draining.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::support::{BASE, Gateway, eventually, get, plain_client, start_upstream};

fn config(upstream: &str, extra_route: &str) -> String {
    format!(
        r#"
{BASE}reload: {{ interval: 100ms }}
shutdown_timeout: 10s
upstreams:
  u: {{ targets: ["{upstream}"] }}
routes:
  - {{ name: main, auth: none, match: {{ path_prefix: / }}, upstream: u }}
{extra_route}
"#
    )
}

#[tokio::test]
async fn reloads_under_load_without_failing_a_request() {
    let up = start_upstream("u").await;
    let a = up.addr.to_string();
    let gw = Gateway::start(&config(&a, "")).await;
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
        let url = gw.url("/api/slow/5");
        workers.push(tokio::spawn(async move {
            let c = plain_client();
            // Bounded: stops on the flag or after 3000 requests.
            for _ in 0..3000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                match tokio::time::timeout(Duration::from_secs(5), c.get(url.parse().expect("uri")))
                    .await
                {
                    Ok(Ok(r)) if r.status() == 200 => ok.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    let c = plain_client();
    for i in 0..6 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let route = format!(
            "  - {{ name: extra{i}, auth: none, match: {{ path: /extra }}, direct: {{ body: \"v{i}\" }} }}"
        );
        gw.write_config(&config(&a, &route));
        if i % 2 == 1 {
            gw.signal("HUP");
        }
        // Wait until the new version answers.
        let seen = eventually(60, || async {
            get(&c, &gw.url("/extra")).await.1 == format!("v{i}")
        })
        .await;
        assert!(seen, "reload {i} not applied; stderr:\n{}", gw.stderr());
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.expect("worker");
    }
    assert!(
        ok.load(Ordering::Relaxed) > 100,
        "too little load: {}",
        ok.load(Ordering::Relaxed)
    );
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "requests failed during reloads"
    );
    let m = gw.metrics().await;
    assert!(
        m.contains("portcullis_config_reloads_total{result=\"success\"}"),
        "{m}"
    );
}

#[tokio::test]
async fn keeps_serving_when_a_reload_is_invalid() {
    let up = start_upstream("u").await;
    let a = up.addr.to_string();
    let gw = Gateway::start(&config(&a, "")).await;
    let c = plain_client();
    gw.write_config("listeners: [ this is not valid\n");
    gw.signal("HUP");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(get(&c, &gw.url("/still-here")).await.0, 200);
    let route = "  - { name: bad, auth: none, match: { path: nope }, upstream: missing }";
    gw.write_config(&config(&a, route));
    // Polled every 100 ms; allow a loaded machine a few seconds.
    assert!(
        eventually(100, || async { gw.stderr().contains("routes[1].upstream") }).await,
        "{}",
        gw.stderr()
    );
    assert_eq!(get(&c, &gw.url("/still-here")).await.0, 200);
    let err = gw.stderr();
    assert!(err.contains("config reload rejected"), "{err}");
    assert!(err.contains("routes[1].upstream"), "{err}");
    let m = gw.metrics().await;
    assert!(
        m.contains("portcullis_config_reloads_total{result=\"failure\"}"),
        "{m}"
    );
}

fn listeners_config(upstream: &str, listeners: &str) -> String {
    format!(
        r#"
listeners: [{listeners}]
admin: {{ bind: "127.0.0.1:{{ADMIN}}" }}
reload: {{ interval: 100ms }}
upstreams:
  u: {{ targets: ["{upstream}"] }}
routes:
  - {{ name: main, auth: none, match: {{ path_prefix: / }}, upstream: u }}
"#
    )
}

/// Whether a GET of `path` on `port` gets a 200 (a refused or reset connection is false).
async fn answers(port: u16, path: &str) -> bool {
    let c = plain_client();
    let uri = format!("http://127.0.0.1:{port}{path}");
    matches!(
        tokio::time::timeout(Duration::from_secs(3), c.get(uri.parse().expect("uri"))).await,
        Ok(Ok(r)) if r.status() == 200
    )
}

async fn serves(port: u16) -> bool {
    answers(port, "/hello").await
}

/// Whether the gateway's stderr soon contains `text`.
async fn logged(gw: &Gateway, text: &str) -> bool {
    eventually(60, || async { gw.stderr().contains(text) }).await
}

/// Whether `port` soon refuses connections (its listener closed).
async fn closes(port: u16) -> bool {
    eventually(60, || async {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
    })
    .await
}

/// A reload binds the listeners it adds or moves and closes those it removes, without a
/// restart; an address that cannot be bound rejects the reload and keeps the running config.
#[tokio::test]
async fn reload_adds_moves_and_removes_listeners() {
    let up = start_upstream("u").await;
    let a = up.addr.to_string();
    let main = r#"{ name: main, bind: "127.0.0.1:{PORT}" }"#;
    let gw = Gateway::start(&listeners_config(&a, main)).await;
    let (p1, p2, p3) = (gw.port, gw.extra_ports[0], gw.extra_ports[1]);
    assert!(serves(p1).await);
    // Added: a second listener on PORT2.
    let side = r#"{ name: side, bind: "127.0.0.1:{PORT2}" }"#;
    gw.write_config(&listeners_config(&a, &format!("{main}, {side}")));
    assert!(
        eventually(60, || serves(p2)).await,
        "added listener not bound; stderr:\n{}",
        gw.stderr()
    );
    assert!(serves(p1).await);
    // Moved: `side` from PORT2 to PORT3; the old address stops accepting.
    let moved = r#"{ name: side, bind: "127.0.0.1:{PORT3}" }"#;
    gw.write_config(&listeners_config(&a, &format!("{main}, {moved}")));
    assert!(eventually(60, || serves(p3)).await, "{}", gw.stderr());
    assert!(closes(p2).await, "old address still accepting");
    // An address in use elsewhere: the reload is rejected, everything keeps serving.
    let holder = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind");
    let taken = holder.local_addr().expect("addr").port();
    let clash = format!(r#"{{ name: side, bind: "127.0.0.1:{taken}" }}"#);
    gw.write_config(&listeners_config(&a, &format!("{main}, {clash}")));
    assert!(
        logged(&gw, "listeners.side.bind: cannot bind").await,
        "{}",
        gw.stderr()
    );
    assert!(serves(p1).await && serves(p3).await);
    drop(holder);
    // Removed: `side` goes; its port closes, `main` stays.
    gw.write_config(&listeners_config(&a, main));
    assert!(closes(p3).await, "removed listener still accepting");
    assert!(serves(p1).await);
    // Renamed on the same address: the socket is handed over, not bound twice.
    let renamed = r#"{ name: primary, bind: "127.0.0.1:{PORT}" }"#;
    gw.write_config(&listeners_config(&a, renamed));
    assert!(
        eventually(60, || async {
            gw.stderr().contains("listening (reload)") && gw.stderr().contains("primary")
        })
        .await,
        "{}",
        gw.stderr()
    );
    assert!(serves(p1).await);
    let m = gw.metrics().await;
    assert!(
        m.contains("portcullis_config_reloads_total{result=\"failure\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("portcullis_config_reloads_total{result=\"success\"} 4"),
        "{m}"
    );
    // The admin listener moves too.
    let new_admin = crate::support::free_port();
    let moved_admin = listeners_config(&a, renamed)
        .replace("127.0.0.1:{ADMIN}", &format!("127.0.0.1:{new_admin}"));
    gw.write_config(&moved_admin);
    assert!(
        eventually(60, || answers(new_admin, "/healthz")).await,
        "{}",
        gw.stderr()
    );
    assert!(closes(gw.admin).await, "old admin address still accepting");
    assert!(serves(p1).await);
}

/// A reload that changes where the access log goes opens the new destination before the swap
/// (one that cannot be opened rejects the reload) and writes there from then on.
#[tokio::test]
async fn reload_moves_the_access_log() {
    let up = start_upstream("u").await;
    let a = up.addr.to_string();
    let main = r#"{ name: main, bind: "127.0.0.1:{PORT}" }"#;
    let with_log = |log: &str| format!("{}access_log: {log}\n", listeners_config(&a, main));
    let gw = Gateway::start(&with_log(r#"{ path: "{DIR}/one.log" }"#)).await;
    let lines = |name: &str| {
        std::fs::read_to_string(gw.dir.join(name))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("/marker-"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let c = plain_client();
    assert_eq!(get(&c, &gw.url("/marker-1")).await.0, 200);
    assert!(eventually(60, || async { lines("one.log").len() == 1 }).await);
    gw.write_config(&with_log(r#"{ path: "{DIR}/two.log" }"#));
    assert!(
        eventually(60, || async { gw.stderr().contains("access log reopened") }).await,
        "{}",
        gw.stderr()
    );
    assert_eq!(get(&c, &gw.url("/marker-2")).await.0, 200);
    assert!(eventually(60, || async { lines("two.log").len() == 1 }).await);
    assert_eq!(lines("one.log").len(), 1, "old log written after the move");
    // A destination that cannot be opened (a folder): rejected, the log stays where it was.
    gw.write_config(&with_log(r#"{ path: "{DIR}" }"#));
    assert!(
        logged(&gw, "access_log.path: cannot open").await,
        "{}",
        gw.stderr()
    );
    assert_eq!(get(&c, &gw.url("/marker-3")).await.0, 200);
    assert!(eventually(60, || async { lines("two.log").len() == 2 }).await);
    // Disabled: nothing more is written.
    gw.write_config(&with_log("{ disabled: true }"));
    assert!(
        eventually(60, || async {
            gw.stderr().matches("access log reopened").count() == 2
        })
        .await,
        "{}",
        gw.stderr()
    );
    assert_eq!(get(&c, &gw.url("/marker-4")).await.0, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(lines("two.log").len(), 2);
}

#[tokio::test]
async fn drains_in_flight_requests_on_sigterm() {
    let up = start_upstream("u").await;
    let a = up.addr.to_string();
    let mut gw = Gateway::start(&config(&a, "")).await;
    let url = gw.url("/slow/800");
    let inflight = tokio::spawn(async move { get(&plain_client(), &url).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    gw.signal("TERM");
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Readiness turns off while draining, and new connections are refused.
    let (st, _) = get(
        &plain_client(),
        &format!("http://127.0.0.1:{}/readyz", gw.admin),
    )
    .await;
    assert_eq!(st, 503);
    let refused = tokio::net::TcpStream::connect(("127.0.0.1", gw.port)).await;
    assert!(refused.is_err(), "listener still accepting during drain");
    let (st, _) = inflight.await.expect("task");
    assert_eq!(st, 200, "in-flight request was cut off");
    let status = gw
        .wait_exit(Duration::from_secs(5))
        .await
        .expect("gateway exited");
    assert!(status.success(), "{status:?}");
}

/// Rate-limit counters live outside the config: a reload that changes something else keeps
/// them, so a reload is no way around a limit.
#[tokio::test]
async fn rate_limit_counters_survive_a_reload() {
    let yaml = format!(
        "{}reload: {{ interval: 100ms }}\nroutes:\n  - {{ name: r, match: {{ path_prefix: / }}, auth: none, rate_limits: [{{ requests: 3, per: 1m }}], direct: {{}} }}\n",
        BASE
    );
    let gw = Gateway::start(&yaml).await;
    let c = plain_client();
    for _ in 0..3 {
        assert_eq!(get(&c, &gw.url("/a")).await.0, 200);
    }
    assert_eq!(get(&c, &gw.url("/a")).await.0, 429);
    gw.write_config(&format!(
        "{yaml}  - {{ name: other, match: {{ path: /other }}, auth: none, direct: {{}} }}\n"
    ));
    // Wait until the new route answers (the reload happened), then check the limit held.
    let reloaded = eventually(100, || async { get(&c, &gw.url("/other")).await.0 == 200 }).await;
    assert!(reloaded, "{}", gw.stderr());
    assert_eq!(get(&c, &gw.url("/a")).await.0, 429);
}
