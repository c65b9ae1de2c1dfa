//! Fuzzes the WAF engine end to end: `Waf::inspect` on a request built from the input
//! (extraction of path, query, cookies, headers and JSON, form, multipart, XML or text bodies,
//! normalisation, every detector, scoring). The first byte picks the paranoia level (bits 0-1),
//! the body's content type (bits 2-4: json, form, multipart with a fixed boundary, xml, text,
//! none, or the fuzzed header value itself), which header carries the fuzzed value (bits 5-6)
//! and the method (bit 7); the rest is split at 0xFF bytes into target, header value and body.
//! Any input must give a verdict, never a panic, and the verdict must be sane: at most 64
//! matches kept, no match above the paranoia level, and (block mode) `blocked` exactly when
//! the score reaches the threshold. Differential: the engines remember clean inputs (the
//! default), and each input is also inspected by an engine that does not; the two verdicts
//! must name the same rules at the same locations with the same score, on the first sight of
//! the input and again once it is remembered.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use portcullis_waf::{Mode, RequestView, Settings, Waf};

/// One compiled engine per paranoia level 1..=4 (compiling is far too slow per input).
fn wafs() -> &'static [Waf; 4] {
    static WAFS: OnceLock<[Waf; 4]> = OnceLock::new();
    WAFS.get_or_init(|| {
        [1, 2, 3, 4].map(|p| Waf::new(Settings::with_paranoia(p)).expect("default settings"))
    })
}

/// The same engines with remembered inputs off: every input inspected afresh.
fn fresh_wafs() -> &'static [Waf; 4] {
    static WAFS: OnceLock<[Waf; 4]> = OnceLock::new();
    WAFS.get_or_init(|| {
        [1, 2, 3, 4].map(|p| {
            Waf::new(Settings {
                cache_entries: 0,
                ..Settings::with_paranoia(p)
            })
            .expect("default settings")
        })
    })
}

/// What a verdict decides: (rule, location) pairs in order, score, blocked.
fn decided(v: &portcullis_waf::Verdict) -> (Vec<(u32, String)>, u32, bool) {
    let mut m: Vec<(u32, String)> = v
        .matches
        .iter()
        .map(|m| (m.rule_id, m.location.clone()))
        .collect();
    m.sort();
    (m, v.score, v.blocked)
}

const HEADER_NAMES: [&str; 4] = ["Cookie", "User-Agent", "Referer", "X-Fuzz"];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let waf = &wafs()[usize::from(sel & 3)];
    let mut parts = rest.splitn(3, |&b| b == 0xFF);
    let target = parts.next().unwrap_or_default();
    let value = parts.next().unwrap_or_default();
    let body = parts.next();
    let content_type: Option<&[u8]> = match (sel >> 2) & 7 {
        0 => Some(b"application/json"),
        1 => Some(b"application/x-www-form-urlencoded"),
        2 => Some(b"multipart/form-data; boundary=fuzzboundary"),
        3 => Some(b"application/xml"),
        4 => Some(b"text/plain; charset=utf-8"),
        5 => None,
        _ => Some(value),
    };
    let header_name = HEADER_NAMES[usize::from((sel >> 5) & 3)];
    let method = if sel & 0x80 == 0 { "GET" } else { "POST" };

    let mut req = RequestView::new(method, target)
        .header("Host", "api.example.com")
        .header(header_name, value);
    if let Some(ct) = content_type {
        req = req.header("Content-Type", ct);
    }
    if let Some(b) = body {
        req = req.body(b);
    }

    let verdict = waf.inspect(&req);
    let fresh = fresh_wafs()[usize::from(sel & 3)].inspect(&req);
    assert_eq!(decided(&verdict), decided(&fresh), "first sight");
    let again = waf.inspect(&req);
    assert_eq!(decided(&again), decided(&fresh), "remembered");
    let settings = waf.settings();
    assert!(
        verdict.matches.len() <= 64,
        "{} matches kept",
        verdict.matches.len()
    );
    for m in &verdict.matches {
        assert!(
            m.paranoia <= settings.paranoia,
            "rule {} (paranoia {}) matched at paranoia {}",
            m.rule_id,
            m.paranoia,
            settings.paranoia
        );
    }
    if settings.mode == Mode::Block {
        assert_eq!(
            verdict.blocked,
            verdict.score >= settings.threshold,
            "score {} threshold {}",
            verdict.score,
            settings.threshold
        );
    }
});
