//! Fuzzes the HTTP/1.1 client's response reading (`upstream::h1`): the head parser, the framing
//! rules and the body decoder, through `decode_response`, which runs the same code the client
//! runs on a socket. The first byte picks HEAD or not and a number of cut points (0-7); the
//! next bytes give the cut offsets; the rest is what the upstream sent before closing. The
//! bytes are decoded whole, in those pieces, and one byte at a time: the three must agree
//! (status, fields, body, trailers, whether the connection may be reused, or a refusal), and
//! nothing may panic.
#![no_main]

mod cuts;

use libfuzzer_sys::fuzz_target;
use portcullis::upstream::h1::decode_response;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let head_request = first & 0x80 != 0;
    let (cuts, bytes) = cuts::split(first, rest);
    let whole = decode_response(bytes, &[], head_request);
    let pieces = decode_response(bytes, &cuts, head_request);
    let each: Vec<usize> = (1..bytes.len()).collect();
    let bytewise = decode_response(bytes, &each, head_request);
    match (&whole, &pieces, &bytewise) {
        (Ok(a), Ok(b), Ok(c)) => {
            assert_eq!(a, b, "pieces");
            assert_eq!(a, c, "byte by byte");
        }
        (Err(_), Err(_), Err(_)) => {}
        _ => panic!("whole {whole:?}, pieces {pieces:?}, bytewise {bytewise:?}"),
    }
    if let Ok(d) = &whole {
        // A connection is reused only for a response that ended where its framing said.
        if d.reusable {
            assert!(!d.fields.iter().any(|(n, _)| n == "transfer-encoding"));
        }
    }
});
