//! `../shared/corpora/smuggling.jsonl` through the suite gateway, byte for byte.
//!
//! Every case is sent raw on its own connection (in its segments when it has them) to
//! `examples/security-suite.yaml`. The request targets are moved under the proxied `/open/`
//! route (`/x` → `/open/case<N>/x`) so that anything the gateway lets through really reaches
//! the upstream, which is a raw TCP recorder that knows which case each request belongs to.
//!
//! - `reject`: the first answer is 4xx/5xx (an HTTP/2 stream reset counts) and the upstream
//!   saw nothing of the case;
//! - `reject_or_normalize`: rejected as above, or served with every forwarded request in one
//!   clean framing (checked with the gateway's own strict scanner);
//! - `accept`: served (2xx/3xx); rejection only where the case says it is allowed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::oracle::Scanner;
use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::repo_root;

type Seen = Arc<Mutex<HashMap<usize, Vec<Vec<u8>>>>>;

struct Case {
    id: String,
    expect: String,
    reject_ok: bool,
    segments: Vec<Vec<u8>>,
}

fn load() -> Vec<Case> {
    let path = repo_root().join("../shared/corpora/smuggling.jsonl");
    let text = std::fs::read_to_string(&path).expect("smuggling.jsonl");
    let b64 = base64::engine::general_purpose::STANDARD;
    text.lines()
        .enumerate()
        .map(|(n, line)| {
            let v: serde_json::Value = serde_json::from_str(line).expect("json line");
            let segments: Vec<Vec<u8>> = match v["segments_base64"].as_array() {
                Some(list) if !list.is_empty() => list
                    .iter()
                    .map(|s| b64.decode(s.as_str().unwrap_or("")).expect("base64"))
                    .collect(),
                _ => vec![
                    b64.decode(v["raw_base64"].as_str().unwrap_or(""))
                        .expect("base64"),
                ],
            };
            Case {
                id: v["id"].as_str().unwrap_or("?").to_owned(),
                expect: v["expect"].as_str().unwrap_or("?").to_owned(),
                reject_ok: v["reject_ok"].as_bool().unwrap_or(false),
                segments: segments.iter().map(|s| rewrite(s, n)).collect(),
            }
        })
        .collect()
}

/// `METHOD /path` at the start of a line → `METHOD /open/case<n>/path`.
fn rewrite(raw: &[u8], n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + 24);
    let mut line_start = true;
    let mut i = 0;
    while i < raw.len() {
        if line_start {
            let method = raw[i..]
                .iter()
                .take_while(|b| b.is_ascii_uppercase())
                .count();
            let rest = &raw[i + method..];
            if method > 0 && (rest.starts_with(b" /") || rest.starts_with(b"\t/")) {
                out.extend_from_slice(&raw[i..=i + method]);
                out.extend_from_slice(format!("/open/case{n}").as_bytes());
                i += method + 1;
                line_start = false;
                continue;
            }
        }
        line_start = raw[i] == b'\n';
        out.push(raw[i]);
        i += 1;
    }
    out
}

/// A raw upstream: splits what it receives into requests (Content-Length or chunked framing,
/// which the gateway always re-serialises), records each under its case number, answers 200.
async fn recorder() -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let seen: Seen = Arc::default();
    let s = seen.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(record_conn(tcp, s.clone()));
        }
    });
    (addr, seen)
}

async fn record_conn(mut tcp: TcpStream, seen: Seen) {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        // Every complete request in the buffer.
        while let Some(len) = request_len(&buf) {
            let req: Vec<u8> = buf.drain(..len).collect();
            let case = case_of(&req).unwrap_or(usize::MAX);
            seen.lock()
                .expect("lock")
                .entry(case)
                .or_default()
                .push(req);
            if tcp
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                .await
                .is_err()
            {
                return;
            }
        }
        match tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => {
                if !buf.is_empty() {
                    // Incomplete: recorded too, so a reject case still fails if it got here.
                    let case = case_of(&buf).unwrap_or(usize::MAX);
                    seen.lock()
                        .expect("lock")
                        .entry(case)
                        .or_default()
                        .push(buf);
                }
                return;
            }
        }
    }
}

/// Length of the first complete request in `buf`, by its Content-Length or chunked body.
fn request_len(buf: &[u8]) -> Option<usize> {
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    if head.contains("\r\ntransfer-encoding:") {
        let mut i = head_end;
        loop {
            let line_end = i + buf[i..].windows(2).position(|w| w == b"\r\n")?;
            let size_text = String::from_utf8_lossy(&buf[i..line_end]);
            let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
            i = line_end + 2;
            if size == 0 {
                // Trailer section until the empty line.
                let end = buf[i..].windows(2).position(|w| w == b"\r\n")?;
                if end == 0 {
                    return Some(i + 2);
                }
                let t = buf[i..].windows(4).position(|w| w == b"\r\n\r\n")?;
                return Some(i + t + 4);
            }
            if buf.len() < i + size + 2 {
                return None;
            }
            i += size + 2;
        }
    }
    let cl = head
        .split("\r\n")
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    (buf.len() >= head_end + cl).then_some(head_end + cl)
}

fn case_of(req: &[u8]) -> Option<usize> {
    let text = String::from_utf8_lossy(&req[..req.len().min(200)]);
    let at = text.find("/open/case")? + "/open/case".len();
    text[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// Sends one case and returns everything the gateway answered before closing or going quiet.
async fn send(listen: &str, case: &Case) -> Vec<u8> {
    let Ok(mut tcp) = TcpStream::connect(listen).await else {
        return Vec::new();
    };
    for (i, seg) in case.segments.iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if tcp.write_all(seg).await.is_err() {
            break;
        }
    }
    let mut out = Vec::new();
    let mut chunk = [0u8; 8192];
    while let Ok(Ok(n)) =
        tokio::time::timeout(Duration::from_millis(400), tcp.read(&mut chunk)).await
    {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&chunk[..n]);
    }
    out
}

/// The first status in an HTTP/1 answer, or for HTTP/2 (a server preface first): 400 for a
/// stream reset or GOAWAY with an error, else the first HEADERS frame's `:status` when it is
/// one HPACK static-table entry.
fn first_status(out: &[u8]) -> Option<u16> {
    if let Some(rest) = out.strip_prefix(b"HTTP/1.") {
        return std::str::from_utf8(rest.get(2..5)?).ok()?.parse().ok();
    }
    let mut i = 0;
    while i + 9 <= out.len() {
        let len =
            (usize::from(out[i]) << 16) | (usize::from(out[i + 1]) << 8) | usize::from(out[i + 2]);
        let kind = out[i + 3];
        let payload = out.get(i + 9..i + 9 + len)?;
        match kind {
            // RST_STREAM, or GOAWAY with a non-zero error code.
            0x3 => return Some(400),
            0x7 if payload.get(4..8).is_some_and(|c| c != [0, 0, 0, 0]) => return Some(400),
            0x1 => {
                return Some(match payload.first() {
                    Some(0x88) => 200,
                    Some(0x89) => 204,
                    Some(0x8c) => 400,
                    Some(0x8d) => 404,
                    Some(0x8e) => 500,
                    _ => 299,
                });
            }
            _ => {}
        }
        i += 9 + len;
    }
    None
}

/// Whether every forwarded request has exactly one clean framing.
fn clean(forwarded: &[Vec<u8>]) -> bool {
    forwarded.iter().all(|req| {
        let mut s = Scanner::default();
        s.feed(req).is_none() && request_len(req) == Some(req.len())
    })
}

#[tokio::test]
async fn smuggling_corpus_through_the_suite_config() {
    let cases = load();
    assert!(cases.len() > 2000, "corpus too small: {}", cases.len());
    let (up, seen) = recorder().await;
    let (_gw, listen, _admin) = crate::suite::start_suite_on(&up).await;

    let listen = Arc::new(listen);
    let cases = Arc::new(cases);
    let mut answers: Vec<Vec<u8>> = vec![Vec::new(); cases.len()];
    let sem = Arc::new(tokio::sync::Semaphore::new(32));
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..cases.len() {
        let (listen, cases, sem) = (listen.clone(), cases.clone(), sem.clone());
        tasks.spawn(async move {
            let _permit = sem.acquire_owned().await.expect("semaphore");
            (n, send(&listen, &cases[n]).await)
        });
    }
    while let Some(done) = tasks.join_next().await {
        let (n, out) = done.expect("task");
        answers[n] = out;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let seen = seen.lock().expect("lock").clone();
    let mut failures = Vec::new();
    let mut tally: HashMap<&str, (usize, usize)> = HashMap::new();
    for (n, case) in cases.iter().enumerate() {
        let status = first_status(&answers[n]);
        let forwarded = seen.get(&n).map(Vec::as_slice).unwrap_or(&[]);
        let rejected = status.is_some_and(|s| s >= 400) && forwarded.is_empty();
        let served = status.is_some_and(|s| s < 400) && clean(forwarded);
        let ok = match case.expect.as_str() {
            "reject" => rejected,
            "reject_or_normalize" => rejected || served,
            // Content-Length 010 with 8 body bytes: the gateway must wait for the other two
            // (no answer yet) and pass the length on as 10, never as 8.
            "accept" if case.id == "garden-serverbugs-32" => {
                status.is_none()
                    && forwarded.iter().all(|r| {
                        String::from_utf8_lossy(r)
                            .to_ascii_lowercase()
                            .contains("content-length: 10\r\n")
                    })
            }
            "accept" => served || (case.reject_ok && rejected),
            _ => false,
        };
        let t = tally.entry(case.expect.as_str()).or_default();
        t.0 += 1;
        if ok {
            t.1 += 1;
        } else {
            failures.push(format!(
                "#{n} {} expect={} status={status:?} forwarded={}",
                case.id,
                case.expect,
                forwarded.len()
            ));
        }
    }
    eprintln!("smuggling corpus (expect: cases, passed): {tally:?}");
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Bad chunk framing that arrives after the head (in a later write, or after more than the
/// 64 KiB read ahead) never lets a complete request reach the upstream.
#[tokio::test]
async fn late_bad_chunks_never_complete_a_request_upstream() {
    let (up, seen) = recorder().await;
    let (_gw, listen, _admin) = crate::suite::start_suite_on(&up).await;
    let head = b"POST /open/case1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    // Small body: the bad line comes 100 ms after the head and a good chunk.
    let small = Case {
        id: "late-small".into(),
        expect: "reject".into(),
        reject_ok: true,
        segments: vec![
            head.to_vec(),
            b"3\r\nabc\r\n".to_vec(),
            b"3\r\nabcX\r\n0\r\n\r\n".to_vec(),
        ],
    };
    let out = send(&listen, &small).await;
    assert_eq!(
        first_status(&out),
        Some(400),
        "{}",
        String::from_utf8_lossy(&out)
    );
    // Large body: 80 KiB of good chunks, then a bad chunk size.
    let mut body = Vec::new();
    for _ in 0..80 {
        body.extend_from_slice(b"400\r\n");
        body.extend_from_slice(&[b'a'; 1024]);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"zz\r\n0\r\n\r\n");
    let large = Case {
        id: "late-large".into(),
        expect: "reject".into(),
        reject_ok: true,
        segments: vec![
            String::from_utf8_lossy(head)
                .replace("case1", "case2")
                .into_bytes(),
            body,
        ],
    };
    let _ = send(&listen, &large).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = seen.lock().expect("lock").clone();
    assert!(
        !seen.contains_key(&1),
        "small: forwarded {:?}",
        seen.get(&1)
    );
    // The large one may have started upstream, but never as a complete request.
    for req in seen.get(&2).map(Vec::as_slice).unwrap_or(&[]) {
        assert_ne!(
            request_len(req),
            Some(req.len()),
            "a complete request was forwarded"
        );
    }
}
