//! Runs lists of payloads, one a line, through the WAF: each line as a query value, a form
//! value and a JSON string (the placements of the libinjection corpus), and prints for each
//! list how many of the requests block.
//!
//! ```text
//! cargo run -p portcullis-waf --release --example payload_report -- \
//!     [--paranoia N] [--show] attack:FILE benign:FILE probe:FILE ...
//! ```
//! `attack:` lists should all block, `benign:` lists should all pass, `probe:` lists (fuzzing
//! characters and keywords, which are neither) are only counted. The query and form values are
//! percent-encoded as a client sends them, so the application receives the line itself.
//! `--show` prints the lines that went against their list's label, with the rules that
//! matched. `bench/external-lists.sh` fetches public lists and runs them through this.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/corpus_eval.rs"]
mod corpus_eval;

use corpus_eval::{LibCase, PLACEMENTS, lib_request};
use portcullis_waf::{Settings, Waf};

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn main() {
    let mut paranoia = 1u8;
    let mut show = false;
    let mut lists = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--paranoia" => {
                paranoia = args
                    .next()
                    .and_then(|p| p.parse().ok())
                    .expect("--paranoia takes 1 to 4");
            }
            "--show" => show = true,
            _ => {
                let (label, path) = a
                    .split_once(':')
                    .filter(|(l, _)| matches!(*l, "attack" | "benign" | "probe"))
                    .expect("each list is attack:FILE, benign:FILE or probe:FILE");
                lists.push((label.to_owned(), path.to_owned()));
            }
        }
    }
    let waf = Waf::new(Settings::with_paranoia(paranoia)).expect("settings");
    println!("paranoia level {paranoia}");
    println!(
        "{:<8} {:<44} {:>14} {:>14} {:>14}",
        "label", "list", "query", "form", "json"
    );
    for (label, path) in &lists {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text
            .lines()
            .map(|l| l.trim_end_matches('\r'))
            .filter(|l| !l.is_empty())
            .collect();
        let mut blocked = [0usize; 3];
        for line in &lines {
            let case = LibCase {
                id: String::new(),
                kind: String::new(),
                attack: label == "attack",
                payload: (*line).to_owned(),
                urlencoded: encode(line),
            };
            for (n, placement) in PLACEMENTS.iter().enumerate() {
                let v = waf.inspect(&lib_request(&case, placement).view());
                if v.blocked {
                    blocked[n] += 1;
                }
                let unexpected = match label.as_str() {
                    "attack" => !v.blocked,
                    "benign" => v.blocked,
                    _ => false,
                };
                if show && unexpected {
                    let ids: Vec<u32> = v.matches.iter().map(|m| m.rule_id).collect();
                    println!("  {label} {placement} {ids:?} {line}");
                }
            }
        }
        let cell = |b: usize| {
            let pct = if lines.is_empty() {
                0.0
            } else {
                100.0 * b as f64 / lines.len() as f64
            };
            format!("{b}/{} {pct:5.1}%", lines.len())
        };
        let name = std::path::Path::new(path)
            .file_name()
            .map_or(path.clone(), |n| n.to_string_lossy().into_owned());
        println!(
            "{label:<8} {name:<44} {:>14} {:>14} {:>14}",
            cell(blocked[0]),
            cell(blocked[1]),
            cell(blocked[2])
        );
    }
}
