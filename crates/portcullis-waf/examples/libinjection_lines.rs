//! Reads inputs from standard input, one per line as hex, and prints for each
//! `hex<TAB>sqli<TAB>fingerprint<TAB>xss<TAB>waf` (each verdict 0 or 1): libinjectionrs, the
//! SQLi and XSS detectors the WAF builds on, called as the WAF calls them (no flags), then
//! whether the whole WAF at paranoia 1 blocks a GET with the input as a query value.
//! `fuzz/libinjection-diff/run.sh` prints the first four columns from the C libinjection and
//! compares. A tool for that check; it asserts nothing.

use std::io::{BufRead, BufWriter, Write};

fn unhex(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| (c as char).to_digit(16).and_then(|d| u8::try_from(d).ok());
    let b = text.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks_exact(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

fn main() -> std::io::Result<()> {
    let waf = portcullis_waf::Waf::new(portcullis_waf::Settings::with_paranoia(1))
        .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
    let mut target = String::new();
    let stdin = std::io::stdin();
    let mut out = BufWriter::new(std::io::stdout().lock());
    for line in stdin.lock().lines() {
        let line = line?;
        let Some(input) = unhex(line.trim_end()) else {
            continue;
        };
        let mut state =
            libinjectionrs::SqliState::new(&input, libinjectionrs::SqliFlags::FLAG_NONE);
        let sqli = state.detect();
        let fp = state.get_fingerprint();
        let fp: Vec<u8> = fp
            .as_bytes()
            .iter()
            .copied()
            .take_while(|&b| b != 0)
            .collect();
        let xss = libinjectionrs::detect_xss(&input).is_injection();
        target.clear();
        target.push_str("/a?q=");
        for b in &input {
            target.push_str(&format!("%{b:02X}"));
        }
        let blocked = waf
            .inspect(&portcullis_waf::RequestView::new("GET", target.as_bytes()))
            .blocked;
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}",
            line.trim_end(),
            u8::from(sqli),
            if sqli {
                String::from_utf8_lossy(&fp).into_owned()
            } else {
                String::new()
            },
            u8::from(xss),
            u8::from(blocked)
        )?;
    }
    out.flush()
}
