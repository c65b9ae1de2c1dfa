//! Fuzzes the HTTP/1.1 server's request reading (`listener::http1`): the head parser, the
//! framing choice and the body decoder, through `decode_requests`, which runs the same code the
//! server runs on a connection. The first byte gives a number of cut points (0-7); the next
//! bytes give the cut offsets; the rest is what the client sent. The bytes are decoded whole,
//! in those pieces, and one byte at a time: the three must agree (every request, its fields,
//! body and keep-alive, and why reading stopped), and nothing may panic.
#![no_main]

mod cuts;

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
});
