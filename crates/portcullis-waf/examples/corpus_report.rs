//! Detection and false-positive report of the WAF on the shared corpora, per paranoia level.
//!
//! ```text
//! cargo run -p portcullis-waf --release --example corpus_report [CORPORA_DIR] [--show misses|fp] [--family NAME]
//! ```
//! Without `CORPORA_DIR` the corpora are found at `../../../shared/corpora` from the crate.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/corpus_eval.rs"]
mod corpus_eval;

use corpus_eval::{corpora_dir, evaluate, load, print};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut dir = None;
    let mut show = None;
    let mut family = None;
    let mut levels = vec![1u8, 2, 3, 4];
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--show" => {
                show = args.get(i + 1).cloned();
                i += 1;
            }
            "--family" => {
                family = args.get(i + 1).cloned();
                i += 1;
            }
            "--paranoia" => {
                levels = args
                    .get(i + 1)
                    .and_then(|p| p.parse().ok())
                    .map(|p| vec![p])
                    .unwrap_or(levels);
                i += 1;
            }
            other => dir = Some(other.to_owned()),
        }
        i += 1;
    }
    let dir = match corpora_dir(dir.as_deref()) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let corpora = load(&dir);
    for pl in levels {
        let r = evaluate(&corpora, pl);
        print(&r);
        let fam_ok = |f: &str| family.as_deref().is_none_or(|want| f == want);
        match show.as_deref() {
            Some("misses") => {
                for (fam, id) in r.crs_misses.iter().filter(|(f, _)| fam_ok(f)) {
                    let case = corpora.crs.iter().find(|c| &c.id == id).expect("case");
                    let body = case
                        .request
                        .body
                        .as_deref()
                        .map(String::from_utf8_lossy)
                        .unwrap_or_default();
                    println!(
                        "MISS {fam} {id} pl{} {} {} | {:?} | {}",
                        case.paranoia,
                        case.request.method,
                        String::from_utf8_lossy(&case.request.target),
                        case.request
                            .headers
                            .iter()
                            .filter(|(n, _)| !matches!(
                                n.to_ascii_lowercase().as_str(),
                                "host" | "accept" | "connection" | "user-agent" | "content-length"
                            ))
                            .map(|(n, v)| format!("{n}: {}", String::from_utf8_lossy(v)))
                            .collect::<Vec<_>>(),
                        body.chars().take(200).collect::<String>()
                    );
                }
                for (kind, p, payload) in r.lib_misses.iter().filter(|(k, _, _)| fam_ok(k)) {
                    println!("LIBMISS {kind} {p} {payload}");
                }
                for id in &r.project_misses {
                    let case = corpora.project.iter().find(|c| &c.id == id).expect("case");
                    if fam_ok(&case.family) {
                        println!("PROJMISS {} {id}", case.family);
                    }
                }
            }
            Some("fp") => {
                for (id, v) in &r.crs_fps {
                    let case = corpora.crs.iter().find(|c| &c.id == id).expect("case");
                    let reference = if corpora.reference_blocked.contains(id) {
                        "ref-blocks"
                    } else {
                        "ref-passes"
                    };
                    println!(
                        "CRSFP {id} pl{} {reference} {:?}",
                        case.paranoia,
                        v.matches
                            .iter()
                            .map(|m| format!("{} {} [{}]", m.rule_id, m.location, m.excerpt))
                            .collect::<Vec<_>>()
                    );
                }
                for (p, payload, v) in &r.lib_fps {
                    println!(
                        "LIBFP {p} {payload} {:?}",
                        v.matches
                            .iter()
                            .map(|m| format!("{} {} [{}]", m.rule_id, m.location, m.excerpt))
                            .collect::<Vec<_>>()
                    );
                }
                for (id, v) in r.benign_fps.iter().chain(&r.project_fps) {
                    println!(
                        "BENIGNFP {id} {:?}",
                        v.matches
                            .iter()
                            .map(|m| format!("{} {} [{}]", m.rule_id, m.location, m.excerpt))
                            .collect::<Vec<_>>()
                    );
                }
            }
            _ => {}
        }
        println!();
    }
}
