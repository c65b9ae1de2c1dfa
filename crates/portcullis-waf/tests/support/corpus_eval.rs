//! Corpus evaluation shared by `tests/corpus.rs` and `examples/corpus_report.rs`: loads the
//! JSON Lines corpora from `../shared/corpora`, turns each case into a `RequestView` and counts
//! detections and false positives per family, placement and paranoia level.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use portcullis_waf::{RequestView, Settings, Verdict, Waf};
use serde_json::Value;

/// Finds the corpora: `explicit` if given, else `../../../shared/corpora` from the crate.
pub(crate) fn corpora_dir(explicit: Option<&str>) -> Result<PathBuf, String> {
    let dir = match explicit {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"),
    };
    for f in ["crs.jsonl", "libinjection.jsonl", "benign.jsonl"] {
        if !dir.join(f).is_file() {
            return Err(format!(
                "corpus file {} not found; expected the shared corpora at {} (pass the directory as the first argument)",
                f,
                dir.display()
            ));
        }
    }
    Ok(dir)
}

/// One request, owned, ready to be viewed.
#[derive(Debug, Clone)]
pub(crate) struct OwnedRequest {
    pub(crate) method: String,
    pub(crate) target: Vec<u8>,
    pub(crate) headers: Vec<(String, Vec<u8>)>,
    pub(crate) body: Option<Vec<u8>>,
}

impl OwnedRequest {
    pub(crate) fn view(&self) -> RequestView<'_> {
        let mut v = RequestView::new(&self.method, &self.target);
        for (n, val) in &self.headers {
            v = v.header(n.as_str(), val.as_slice());
        }
        if let Some(b) = &self.body {
            v = v.body(b);
        }
        v
    }
}

#[derive(Debug, Clone)]
pub(crate) struct CrsCase {
    pub(crate) id: String,
    pub(crate) family: String,
    pub(crate) paranoia: u8,
    pub(crate) attack: bool,
    pub(crate) request: OwnedRequest,
}

#[derive(Debug, Clone)]
pub(crate) struct LibCase {
    pub(crate) id: String,
    pub(crate) kind: String,
    pub(crate) attack: bool,
    pub(crate) payload: String,
    pub(crate) urlencoded: String,
}

#[derive(Debug, Clone)]
pub(crate) struct BenignCase {
    pub(crate) id: String,
    pub(crate) kind: String,
    pub(crate) request: OwnedRequest,
}

/// The files of the project's own corpus, in `tests/data/`, each written apart from the
/// shared sample and from the other.
pub(crate) const PROJECT_FILES: [&str; 34] = [
    "heldout.jsonl",
    "heldout2.jsonl",
    "heldout3.jsonl",
    "heldout4.jsonl",
    "heldout5.jsonl",
    "heldout6.jsonl",
    "heldout7.jsonl",
    "heldout8.jsonl",
    "heldout9.jsonl",
    "heldout10.jsonl",
    "heldout11.jsonl",
    "heldout12.jsonl",
    "heldout13.jsonl",
    "heldout14.jsonl",
    "heldout15.jsonl",
    "heldout16.jsonl",
    "heldout17.jsonl",
    "heldout18.jsonl",
    "heldout19.jsonl",
    "heldout20.jsonl",
    "heldout21.jsonl",
    "heldout22.jsonl",
    "heldout23.jsonl",
    "heldout24.jsonl",
    "heldout25.jsonl",
    "heldout26.jsonl",
    "heldout27.jsonl",
    "heldout28.jsonl",
    "heldout29.jsonl",
    "heldout30.jsonl",
    "heldout31.jsonl",
    "heldout32.jsonl",
    "heldout33.jsonl",
    "heldout34.jsonl",
];

/// A case of the project's own corpus: `expect` is `attack`, `benign` or `either` (arguable,
/// counted apart); `family` is the attack family or the benign theme.
#[derive(Debug, Clone)]
pub(crate) struct ProjectCase {
    /// The file it comes from.
    pub(crate) file: &'static str,
    pub(crate) id: String,
    pub(crate) expect: String,
    pub(crate) family: String,
    pub(crate) request: OwnedRequest,
}

pub(crate) struct Corpora {
    pub(crate) crs: Vec<CrsCase>,
    pub(crate) lib: Vec<LibCase>,
    pub(crate) benign: Vec<BenignCase>,
    /// Cases written for this project, beside the shared sample ([`PROJECT_FILES`]).
    pub(crate) project: Vec<ProjectCase>,
    /// Ids of the CRS cases the reference WAF (nginx + ModSecurity + CRS 3.3.4 at PL1) blocked,
    /// from `tests/data/crs-reference-pl1.txt`.
    pub(crate) reference_blocked: HashSet<String>,
}

/// Reads the reference verdicts committed beside the tests (one id a line, `#` comments): on
/// the CRS cases and on the project's own. The two sets of ids do not overlap.
fn reference_blocked() -> HashSet<String> {
    let mut ids = HashSet::new();
    for file in ["crs-reference-pl1.txt", "heldout-reference-pl1.txt"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(file);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        ids.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned),
        );
    }
    ids
}

fn lines(path: &Path) -> Vec<Value> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("valid JSON line"))
        .collect()
}

fn s(v: &Value, k: &str) -> String {
    v.get(k).and_then(Value::as_str).unwrap_or("").to_owned()
}

pub(crate) fn load(dir: &Path) -> Corpora {
    let b64 = base64::engine::general_purpose::STANDARD;
    let crs = lines(&dir.join("crs.jsonl"))
        .into_iter()
        .filter(|r| s(r, "direction") == "request")
        .map(|r| {
            let headers: Vec<(String, Vec<u8>)> = r
                .get("headers")
                .and_then(Value::as_array)
                .map(|hs| {
                    hs.iter()
                        .filter_map(|h| {
                            let a = h.as_array()?;
                            Some((
                                a.first()?.as_str()?.to_owned(),
                                a.get(1)?.as_str()?.as_bytes().to_vec(),
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let body = match r.get("body_base64").and_then(Value::as_str) {
                Some(b) => b64.decode(b).ok(),
                None => r
                    .get("body")
                    .and_then(Value::as_str)
                    .map(|b| b.as_bytes().to_vec()),
            };
            let body = body.filter(|b| !b.is_empty());
            let method = match s(&r, "method") {
                m if m.is_empty() => "GET".to_owned(),
                m => m,
            };
            CrsCase {
                id: s(&r, "id"),
                family: s(&r, "family_name"),
                paranoia: r
                    .get("paranoia_level")
                    .and_then(Value::as_u64)
                    .map_or(1, |p| p as u8),
                attack: s(&r, "expect") == "attack",
                request: OwnedRequest {
                    method,
                    target: s(&r, "uri").into_bytes(),
                    headers,
                    body,
                },
            }
        })
        .collect();
    let lib = lines(&dir.join("libinjection.jsonl"))
        .into_iter()
        .filter(|r| matches!(s(r, "expect").as_str(), "attack" | "benign"))
        .map(|r| LibCase {
            id: s(&r, "id"),
            kind: s(&r, "kind"),
            attack: s(&r, "expect") == "attack",
            payload: s(&r, "payload"),
            urlencoded: s(&r, "payload_urlencoded"),
        })
        .collect();
    let benign = lines(&dir.join("benign.jsonl"))
        .into_iter()
        .map(|r| BenignCase {
            id: s(&r, "id"),
            kind: s(&r, "kind"),
            request: object_request(&r),
        })
        .collect();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let project = PROJECT_FILES
        .into_iter()
        .flat_map(|file| lines(&data.join(file)).into_iter().map(move |r| (file, r)))
        .map(|(file, r)| ProjectCase {
            file,
            id: s(&r, "id"),
            expect: s(&r, "expect"),
            family: s(&r, "family"),
            request: object_request(&r),
        })
        .collect();
    Corpora {
        crs,
        lib,
        benign,
        project,
        reference_blocked: reference_blocked(),
    }
}

/// A request written as `method`, `uri`, `headers` (an object) and `body` (text).
pub(crate) fn object_request(r: &Value) -> OwnedRequest {
    let headers = r
        .get("headers")
        .and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").as_bytes().to_vec()))
                .collect()
        })
        .unwrap_or_default();
    let body = r
        .get("body")
        .and_then(Value::as_str)
        .map(|b| b.as_bytes().to_vec())
        .filter(|b| !b.is_empty());
    OwnedRequest {
        method: s(r, "method"),
        target: s(r, "uri").into_bytes(),
        headers,
        body,
    }
}

/// The three placements of a libinjection payload.
pub(crate) const PLACEMENTS: [&str; 3] = ["query", "form", "json"];

pub(crate) fn lib_request(case: &LibCase, placement: &str) -> OwnedRequest {
    let base = vec![
        ("Host".to_owned(), b"localhost".to_vec()),
        ("User-Agent".to_owned(), b"Mozilla/5.0".to_vec()),
    ];
    match placement {
        "query" => OwnedRequest {
            method: "GET".into(),
            target: format!("/search?q={}", case.urlencoded).into_bytes(),
            headers: base,
            body: None,
        },
        "form" => {
            let mut h = base;
            h.push((
                "Content-Type".into(),
                b"application/x-www-form-urlencoded".to_vec(),
            ));
            OwnedRequest {
                method: "POST".into(),
                target: b"/submit".to_vec(),
                headers: h,
                body: Some(format!("q={}", case.urlencoded).into_bytes()),
            }
        }
        _ => {
            let mut h = base;
            h.push(("Content-Type".into(), b"application/json".to_vec()));
            let body = serde_json::json!({ "q": case.payload })
                .to_string()
                .into_bytes();
            OwnedRequest {
                method: "POST".into(),
                target: b"/submit".to_vec(),
                headers: h,
                body: Some(body),
            }
        }
    }
}

/// Detected / total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Count {
    pub(crate) hit: usize,
    pub(crate) total: usize,
}

impl Count {
    pub(crate) fn add(&mut self, hit: bool) {
        self.total += 1;
        self.hit += usize::from(hit);
    }

    pub(crate) fn pct(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            100.0 * self.hit as f64 / self.total as f64
        }
    }
}

impl std::fmt::Display for Count {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:>5}/{:<5} {:>6.2}%", self.hit, self.total, self.pct())
    }
}

/// Everything measured at one paranoia level.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub(crate) paranoia: u8,
    /// CRS attacks per family: (all cases, cases whose rule level <= paranoia).
    pub(crate) crs_attack: BTreeMap<String, (Count, Count)>,
    pub(crate) crs_attack_all: (Count, Count),
    /// The reference WAF at PL1 on the same CRS attack cases, per family and overall.
    pub(crate) crs_ref_attack: BTreeMap<String, Count>,
    pub(crate) crs_ref_attack_all: Count,
    /// CRS negatives blocked: all, and those of paranoia-1 rules.
    pub(crate) crs_fp_all: Count,
    pub(crate) crs_fp_pl1: Count,
    /// PL1 negatives the reference blocks too (they are attacks aimed at a sibling rule): how
    /// many of them we block, out of how many the reference blocks.
    pub(crate) crs_fp_pl1_ref_blocks: Count,
    /// PL1 negatives the reference lets through: how many of them we block. These are the
    /// false positives that count.
    pub(crate) crs_fp_pl1_ref_passes: Count,
    /// Negatives of every level the reference lets through: how many of them we block.
    pub(crate) crs_fp_all_ref_passes: Count,
    /// libinjection: (kind, placement) -> detection of attacks; placement -> FP on benign.
    pub(crate) lib_detect: BTreeMap<(String, String), Count>,
    pub(crate) lib_fp: BTreeMap<String, Count>,
    /// benign.jsonl blocked: overall and per kind.
    pub(crate) benign_fp: Count,
    pub(crate) benign_fp_kind: BTreeMap<String, Count>,
    /// The project's corpus: attacks detected per family and overall, benign cases blocked
    /// per theme and overall, arguable cases blocked.
    pub(crate) project_detect: BTreeMap<String, Count>,
    pub(crate) project_detect_all: Count,
    pub(crate) project_fp: BTreeMap<String, Count>,
    pub(crate) project_fp_all: Count,
    pub(crate) project_either: Count,
    /// The same per file: (attacks detected, benign blocked, arguable blocked).
    pub(crate) project_files: BTreeMap<&'static str, (Count, Count, Count)>,
    /// The reference's verdicts per file: (attacks detected, benign blocked).
    pub(crate) project_ref_files: BTreeMap<&'static str, (Count, Count)>,
    /// Ids of the project's attacks missed and benign cases blocked.
    pub(crate) project_misses: Vec<String>,
    pub(crate) project_fps: Vec<(String, Verdict)>,
    /// Ids of misses and false positives, for digging.
    pub(crate) crs_misses: Vec<(String, String)>,
    pub(crate) crs_fps: Vec<(String, Verdict)>,
    pub(crate) lib_misses: Vec<(String, String, String)>,
    pub(crate) lib_fps: Vec<(String, String, Verdict)>,
    pub(crate) benign_fps: Vec<(String, Verdict)>,
}

pub(crate) fn evaluate(c: &Corpora, paranoia: u8) -> Report {
    let waf = Waf::new(Settings::with_paranoia(paranoia)).expect("settings");
    let mut r = Report {
        paranoia,
        ..Report::default()
    };
    for case in &c.crs {
        let v = waf.inspect(&case.request.view());
        let reference = c.reference_blocked.contains(&case.id);
        if case.attack {
            r.crs_ref_attack
                .entry(case.family.clone())
                .or_default()
                .add(reference);
            r.crs_ref_attack_all.add(reference);
            let e = r.crs_attack.entry(case.family.clone()).or_default();
            e.0.add(v.blocked);
            r.crs_attack_all.0.add(v.blocked);
            if case.paranoia <= paranoia {
                e.1.add(v.blocked);
                r.crs_attack_all.1.add(v.blocked);
            }
            if !v.blocked {
                r.crs_misses.push((case.family.clone(), case.id.clone()));
            }
        } else {
            r.crs_fp_all.add(v.blocked);
            if !reference {
                r.crs_fp_all_ref_passes.add(v.blocked);
            }
            if case.paranoia == 1 {
                r.crs_fp_pl1.add(v.blocked);
                if reference {
                    r.crs_fp_pl1_ref_blocks.add(v.blocked);
                } else {
                    r.crs_fp_pl1_ref_passes.add(v.blocked);
                }
            }
            if v.blocked {
                r.crs_fps.push((case.id.clone(), v));
            }
        }
    }
    for case in &c.lib {
        for p in PLACEMENTS {
            let req = lib_request(case, p);
            let v = waf.inspect(&req.view());
            if case.attack {
                r.lib_detect
                    .entry((case.kind.clone(), p.to_owned()))
                    .or_default()
                    .add(v.blocked);
                if !v.blocked {
                    r.lib_misses
                        .push((case.kind.clone(), p.to_owned(), case.payload.clone()));
                }
            } else {
                r.lib_fp.entry(p.to_owned()).or_default().add(v.blocked);
                if v.blocked {
                    r.lib_fps.push((p.to_owned(), case.payload.clone(), v));
                }
            }
        }
    }
    for case in &c.benign {
        let v = waf.inspect(&case.request.view());
        r.benign_fp.add(v.blocked);
        r.benign_fp_kind
            .entry(case.kind.clone())
            .or_default()
            .add(v.blocked);
        if v.blocked {
            r.benign_fps.push((case.id.clone(), v));
        }
    }
    for case in &c.project {
        let v = waf.inspect(&case.request.view());
        let file = r.project_files.entry(case.file).or_default();
        let reference = r.project_ref_files.entry(case.file).or_default();
        let ref_blocked = c.reference_blocked.contains(&case.id);
        match case.expect.as_str() {
            "attack" => {
                file.0.add(v.blocked);
                reference.0.add(ref_blocked);
                r.project_detect
                    .entry(case.family.clone())
                    .or_default()
                    .add(v.blocked);
                r.project_detect_all.add(v.blocked);
                if !v.blocked {
                    r.project_misses.push(case.id.clone());
                }
            }
            "benign" => {
                file.1.add(v.blocked);
                reference.1.add(ref_blocked);
                r.project_fp
                    .entry(case.family.clone())
                    .or_default()
                    .add(v.blocked);
                r.project_fp_all.add(v.blocked);
                if v.blocked {
                    r.project_fps.push((case.id.clone(), v));
                }
            }
            _ => {
                file.2.add(v.blocked);
                r.project_either.add(v.blocked);
            }
        }
    }
    r
}

pub(crate) fn print(r: &Report) {
    println!("== paranoia level {} ==", r.paranoia);
    println!(
        "CRS request attacks detected (blocked)        all cases              rule PL <= {}        reference PL1, all cases",
        r.paranoia
    );
    let no_ref = Count::default();
    for (fam, (all, upto)) in &r.crs_attack {
        let reference = r.crs_ref_attack.get(fam).unwrap_or(&no_ref);
        println!("  {fam:<28} {all}   {upto}   {reference}");
    }
    println!(
        "  {:<28} {}   {}   {}",
        "OVERALL", r.crs_attack_all.0, r.crs_attack_all.1, r.crs_ref_attack_all
    );
    println!(
        "CRS negative cases blocked (a negative only promises that its own rule stays silent)"
    );
    println!("  {:<28} {}", "all negatives", r.crs_fp_all);
    println!(
        "  {:<28} {}   (false positives)",
        "  the reference passes", r.crs_fp_all_ref_passes
    );
    println!("  {:<28} {}", "negatives of PL1 rules", r.crs_fp_pl1);
    println!(
        "  {:<28} {}   (attacks aimed at a sibling rule)",
        "  the reference blocks", r.crs_fp_pl1_ref_blocks
    );
    println!(
        "  {:<28} {}   (false positives)",
        "  the reference passes", r.crs_fp_pl1_ref_passes
    );
    println!("libinjection (payload in a query parameter, a form field, a JSON string)");
    for ((kind, p), c) in &r.lib_detect {
        println!("  {:<28} {c}", format!("{kind} attacks, {p}"));
    }
    for (p, c) in &r.lib_fp {
        println!("  {:<28} {c}", format!("benign blocked, {p}"));
    }
    println!("benign.jsonl blocked (false positives)");
    println!("  {:<28} {}", "overall", r.benign_fp);
    for (k, c) in &r.benign_fp_kind {
        println!("  {k:<28} {c}");
    }
    println!("project corpus (tests/data/heldout*.jsonl): attacks detected");
    for (f, c) in &r.project_detect {
        println!("  {f:<28} {c}");
    }
    println!("  {:<28} {}", "OVERALL", r.project_detect_all);
    println!("project corpus: benign cases blocked (false positives), themes with any");
    for (f, c) in r.project_fp.iter().filter(|(_, c)| c.hit > 0) {
        println!("  {f:<28} {c}");
    }
    println!("  {:<28} {}", "OVERALL", r.project_fp_all);
    println!("  {:<28} {}", "arguable cases blocked", r.project_either);
    println!("project corpus per file: attacks detected, benign blocked, arguable blocked");
    for (file, (a, b, e)) in &r.project_files {
        println!("  {file:<28} {a}   {b}   {e}");
    }
    println!("the same files, reference PL1: attacks detected, benign blocked");
    for (file, (a, b)) in &r.project_ref_files {
        println!("  {file:<28} {a}   {b}");
    }
}
