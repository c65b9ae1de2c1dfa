//! Criterion benchmarks of the WAF engine: the normaliser on typical and hostile values, each
//! detector family alone on a benign GET and a ~1 KB JSON POST (the requests of `bench/waf.py`),
//! and whole inspections of benign and attack requests at each paranoia level. Every request is
//! inspected afresh (`cache_entries: 0`), except in the `remembered` cases, where the engine's
//! default cache answers for the inputs it found clean before.
//!
//! `cargo bench -p portcullis-waf --bench waf` (add `-- normalise` to run one group). A
//! benchmark, not a test: it asserts nothing about time.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use portcullis_waf::{Exclusion, Family, RequestView, RuleSelector, Settings, Waf, internals};

const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
const GET_TARGET: &[u8] =
    b"/api/v1/products?category=books&page=2&limit=50&sort=price&q=rust+programming";
const BODY: &str = r#"{"order_id": "ord_7f3a9c2e1b", "customer": {"name": "Sean O'Brien", "email": "sean@example.com", "phone": "+1-555-0100"}, "shipping": {"address": "1 Main St, Apt 4", "city": "Springfield", "zip": "62704", "note": "Please leave the parcel at the front desk, thanks!"}, "items": [{"sku": "BK-1000", "qty": 1, "price": 19.99, "title": "The Rust Programming Language"}, {"sku": "BK-1001", "qty": 2, "price": 20.99, "title": "Designing Data-Intensive Applications"}, {"sku": "BK-1002", "qty": 3, "price": 21.99, "title": "Release It!"}, {"sku": "BK-1003", "qty": 1, "price": 22.99, "title": "The Pragmatic Programmer"}], "coupon": "SPRING24", "gift": false, "comment": "Thanks for the quick delivery last time. Thanks for the quick delivery last time. Thanks for the quick delivery last time. Thanks for the quick d."}"#;

fn get() -> RequestView<'static> {
    RequestView::new("GET", GET_TARGET)
        .header("host", "api.example.com")
        .header("user-agent", UA)
        .header("accept", "application/json")
}

fn post() -> RequestView<'static> {
    RequestView::new("POST", b"/api/v1/orders")
        .header("host", "api.example.com")
        .header("user-agent", UA)
        .header("content-type", "application/json")
        .body(BODY.as_bytes())
}

/// Settings at `paranoia` with remembered inputs off, so each iteration inspects afresh.
fn fresh(paranoia: u8) -> Settings {
    Settings {
        cache_entries: 0,
        ..Settings::with_paranoia(paranoia)
    }
}

/// A WAF with only `family` enabled (every other family excluded), at paranoia 1.
fn only(family: Family) -> Waf {
    let mut settings = fresh(1);
    for other in Family::ALL.into_iter().filter(|f| *f != family) {
        settings.exclusions.push(Exclusion {
            rules: RuleSelector::Family(other),
            location: None,
        });
    }
    Waf::new(settings).unwrap_or_else(|e| panic!("settings: {e}"))
}

fn normaliser(c: &mut Criterion) {
    let mut g = c.benchmark_group("normalise");
    let values: [(&str, &[u8]); 7] = [
        ("plain word", b"books"),
        ("search text", b"rust programming for the impatient"),
        ("double encoded", b"%2527%2520OR%25201%253D1--%2520-"),
        ("html entities", b"&lt;img src=x onerror=&#x61;lert(1)&gt;"),
        (
            "backslash escapes",
            br"\x3cscript\x3ealert(\u0031)\x3c/script\x3e",
        ),
        (
            "fullwidth unicode",
            "＜ｓｃｒｉｐｔ＞ａｌｅｒｔ（１）＜／ｓｃｒｉｐｔ＞".as_bytes(),
        ),
        ("1 KB JSON text", BODY.as_bytes()),
    ];
    for (name, value) in values {
        g.bench_function(name, |b| b.iter(|| internals::normalise(black_box(value))));
    }
    g.bench_function("sql comments", |b| {
        b.iter(|| internals::compact_sql(black_box("1/**/union/*!50000select*/  1,2,\t3")))
    });
    g.finish();
}

fn detectors(c: &mut Criterion) {
    let (get, post) = (get(), post());
    let mut g = c.benchmark_group("detector");
    for family in Family::ALL {
        let waf = only(family);
        g.bench_function(format!("{} GET", family.as_str()), |b| {
            b.iter(|| waf.inspect(black_box(&get)))
        });
        g.bench_function(format!("{} POST", family.as_str()), |b| {
            b.iter(|| waf.inspect(black_box(&post)))
        });
    }
    g.finish();
}

fn inspect(c: &mut Criterion) {
    let (get, post) = (get(), post());
    let sqli = RequestView::new(
        "GET",
        b"/items?id=1%27%20UNION%20SELECT%20user,password%20FROM%20users--%20-",
    );
    let xss = RequestView::new(
        "GET",
        b"/search?q=%3Csvg%2Fonload%3Dalert(document.cookie)%3E",
    );
    let mut g = c.benchmark_group("inspect");
    for paranoia in [1u8, 2, 4] {
        let waf = Waf::new(fresh(paranoia)).unwrap_or_else(|e| panic!("settings: {e}"));
        for (name, req) in [
            ("GET", &get),
            ("POST", &post),
            ("sqli", &sqli),
            ("xss", &xss),
        ] {
            g.bench_function(format!("PL{paranoia} {name}"), |b| {
                b.iter(|| waf.inspect(black_box(req)))
            });
        }
    }
    let remembering = Waf::new(Settings::default()).unwrap_or_else(|e| panic!("settings: {e}"));
    for (name, req) in [("GET", &get), ("POST", &post)] {
        g.bench_function(format!("PL1 {name} remembered"), |b| {
            b.iter(|| remembering.inspect(black_box(req)))
        });
    }
    g.finish();
}

criterion_group!(benches, normaliser, detectors, inspect);
criterion_main!(benches);
