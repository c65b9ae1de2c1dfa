//! Times `Waf::inspect` on the two requests of `bench/waf.py` (a benign API GET and a ~1 KB
//! JSON POST) at paranoia 1: `cargo run --release -p portcullis-waf --example inspect_timing`.
//! Also `get-varied`, the GET with its search text and page new each time, and `post-varied`,
//! the POST with its order id, customer and comment new each time. Prints
//! microseconds per inspection; a benchmark for profiling, it asserts nothing. The same
//! request is inspected again and again, so with the default settings the engine's remembered
//! clean inputs answer for most of it; `PORTCULLIS_WAF_CACHE_ENTRIES=0` inspects afresh.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Instant;

use portcullis_waf::{RequestView, Settings, Waf};

const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
const BODY: &str = r#"{"order_id": "ord_7f3a9c2e1b", "customer": {"name": "Sean O'Brien", "email": "sean@example.com", "phone": "+1-555-0100"}, "shipping": {"address": "1 Main St, Apt 4", "city": "Springfield", "zip": "62704", "note": "Please leave the parcel at the front desk, thanks!"}, "items": [{"sku": "BK-1000", "qty": 1, "price": 19.99, "title": "The Rust Programming Language"}, {"sku": "BK-1001", "qty": 2, "price": 20.99, "title": "Designing Data-Intensive Applications"}, {"sku": "BK-1002", "qty": 3, "price": 21.99, "title": "Release It!"}, {"sku": "BK-1003", "qty": 1, "price": 22.99, "title": "The Pragmatic Programmer"}], "coupon": "SPRING24", "gift": false, "comment": "Thanks for the quick delivery last time. Thanks for the quick delivery last time. Thanks for the quick delivery last time. Thanks for the quick d."}"#;

fn main() {
    // PORTCULLIS_WAF_WITHOUT=sqli,xss switches families off, to see what each costs.
    let mut settings = Settings::with_paranoia(1);
    for f in std::env::var("PORTCULLIS_WAF_WITHOUT")
        .unwrap_or_default()
        .split(',')
    {
        if let Some(f) = portcullis_waf::Family::from_name(f) {
            settings.exclusions.push(portcullis_waf::Exclusion {
                rules: portcullis_waf::RuleSelector::Family(f),
                location: None,
            });
        }
    }
    if let Some(n) = std::env::var("PORTCULLIS_WAF_CACHE_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        settings.cache_entries = n;
    }
    let waf = Waf::new(settings).expect("waf");
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let get = RequestView::new(
        "GET",
        b"/api/v1/products?category=books&page=2&limit=50&sort=price&q=rust+programming",
    )
    .header("host", "127.0.0.1:18095")
    .header("user-agent", UA)
    .header("accept", "application/json");
    let post = RequestView::new("POST", b"/api/v1/orders")
        .header("host", "127.0.0.1:18095")
        .header("user-agent", UA)
        .header("content-type", "application/json")
        .header("content-length", "1024")
        .body(BODY.as_bytes());
    let bare = RequestView::new(
        "GET",
        b"/api/v1/products?category=books&page=2&limit=50&sort=price&q=rust+programming",
    );
    let ua_only = RequestView::new("GET", b"/").header("user-agent", UA);
    let body_only = RequestView::new("POST", b"/")
        .header("content-type", "application/json")
        .body(BODY.as_bytes());
    // PORTCULLIS_WAF_CASE=get-varied runs one case only (for profiling).
    let only = std::env::var("PORTCULLIS_WAF_CASE").ok();
    let wanted = |name: &str| only.as_deref().is_none_or(|o| o == name);
    for (name, req) in [
        ("get", &get),
        ("post", &post),
        ("get-no-headers", &bare),
        ("user-agent-only", &ua_only),
        ("json-body-only", &body_only),
    ] {
        if !wanted(name) {
            continue;
        }
        let v = waf.inspect(req);
        assert!(v.matches.is_empty(), "{name}: {:?}", v.matches);
        let t = Instant::now();
        for _ in 0..n {
            black_box(waf.inspect(black_box(req)));
        }
        report(name, t, n);
    }
    if wanted("get-varied") {
        // bench/waf.py's `get-varied`: the search text and the page new on every request, so
        // the query is read input by input and its new value inspected afresh.
        let targets: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    "/api/v1/products?category=books&page={}&limit=50&sort=price&q=rust+programming+{i}",
                    i % 97
                )
            })
            .collect();
        let t = Instant::now();
        for target in &targets {
            let req = RequestView::new("GET", target.as_bytes())
                .header("host", "127.0.0.1:18095")
                .header("user-agent", UA)
                .header("accept", "application/json");
            black_box(waf.inspect(black_box(&req)));
        }
        report("get-varied", t, n);
    }
    if !wanted("post-varied") {
        return;
    }
    // bench/waf.py's `post-varied`: the order id, the customer's name and e-mail and the
    // comment new in every body, the keys and the rest of the order as before.
    let bodies: Vec<String> = (0..n)
        .map(|i| {
            BODY.replace("ord_7f3a9c2e1b", &format!("ord_{i}"))
                .replace("Sean O'Brien", &format!("Customer {i}"))
                .replace("sean@example.com", &format!("user{i}@example.com"))
                .replace(
                    r#""comment": "Thanks for the quick delivery last time. Thanks for the quick delivery last time. Thanks for the quick delivery last time. Thanks for the quick d.""#,
                    &format!(r#""comment": "Order {i}: thanks for the quick delivery last time.""#),
                )
        })
        .collect();
    assert!(bodies[1].contains("user1@") && bodies[1].contains("Order 1:"));
    let t = Instant::now();
    for body in &bodies {
        let req = RequestView::new("POST", b"/api/v1/orders")
            .header("host", "127.0.0.1:18095")
            .header("user-agent", UA)
            .header("content-type", "application/json")
            .header("content-length", "1024")
            .body(body.as_bytes());
        black_box(waf.inspect(black_box(&req)));
    }
    report("post-varied", t, n);
}

/// Prints the time per inspection of `n` inspections since `start`.
fn report(name: &str, start: Instant, n: u32) {
    let us = start.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    println!("{name}: {us:.2} us per inspection");
}
