//! Fuzzes the HTTP/1.1 server's request reading (`listener::http1`): the head parser with its
//! strict framing checks, the framing choice and the body decoder, through `decode_requests`,
//! which runs the same code the server runs on a connection. The first byte gives a number of
//! cut points (0-7); the next bytes give the cut offsets; the rest is what the client sent.
//!
//! Checked:
//! - the bytes decoded whole, in those pieces, and one byte at a time agree (every request,
//!   its fields, body and keep-alive, and why reading stopped), and nothing panics;
//! - the server is at least as strict as the byte-level oracle of the end-to-end tests
//!   (`tests/e2e/oracle.rs`): when the oracle finds a violation in request `k` (counted from
//!   0), the server accepts at most the `k` requests before it.
#![no_main]

mod cuts;
#[path = "../../crates/portcullis/tests/e2e/oracle.rs"]
mod oracle;

use libfuzzer_sys::fuzz_target;
use portcullis::listener::http1::decode_requests;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let (cuts, bytes) = cuts::split(first, rest);
    let whole = decode_requests(bytes, &[]);
    let pieces = decode_requests(bytes, &cuts);
    assert_eq!(whole, pieces, "pieces");
    let each: Vec<usize> = (1..bytes.len()).collect();
    assert_eq!(whole, decode_requests(bytes, &each), "byte by byte");

    let mut scanner = oracle::Scanner::default();
    if let Some((k, v)) = scanner.feed(bytes) {
        let (accepted, stopped) = &whole;
        assert!(
            accepted.len() as u64 <= k,
            "the oracle finds {v:?} in request {k}, the server accepted {}: {stopped:?}",
            accepted.len()
        );
    }
});
