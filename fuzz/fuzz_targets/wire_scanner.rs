//! Fuzzes the strict HTTP/1 framing scanner (`listener::wire::Scanner`) that sees every byte a
//! client sends before hyper does. The first byte gives a number of cut points (0-7) and the
//! next that many bytes the lengths of the pieces; the rest is the client's byte stream. The
//! stream is fed whole, in those pieces, and one byte at a time: the first violation reported
//! by `feed` (request index and kind) must be the same in all three, no `feed` may report a
//! second one, `found` must agree with what `feed` returned, and nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis::listener::wire::{Scanner, Violation};

/// Feeds `pieces` in order; returns the first `Some` from `feed`, checking there is no second
/// one and that the scanner's `found` agrees.
fn run<'a>(pieces: impl Iterator<Item = &'a [u8]>) -> (Option<(u64, Violation)>, bool) {
    let mut s = Scanner::default();
    let mut first = None;
    for p in pieces {
        if let Some(f) = s.feed(p) {
            assert!(first.is_none(), "second violation {f:?} after {first:?}");
            first = Some(f);
        }
    }
    assert_eq!(s.found, first, "`found` disagrees with what feed returned");
    (first, s.done())
}

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(n % 8).min(rest.len());
    let (cuts, stream) = rest.split_at(n);

    let whole = run(std::iter::once(stream));

    let mut pieces: Vec<&[u8]> = Vec::with_capacity(n + 1);
    let mut tail = stream;
    for &c in cuts {
        let (head, t) = tail.split_at(usize::from(c).min(tail.len()));
        pieces.push(head);
        tail = t;
    }
    pieces.push(tail);
    let split = run(pieces.into_iter());
    assert_eq!(whole, split, "whole vs pieces at {cuts:?}");

    let bytewise = run(stream.chunks(1));
    assert_eq!(whole, bytewise, "whole vs one byte at a time");
});
