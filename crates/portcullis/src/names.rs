//! Header field names read off the wire, through a small cache per thread.
//!
//! `HeaderName::from_bytes` lower-cases a name and matches it against the standard names:
//! about 110 instructions for `Content-Type`, and an allocation for a name it does not know.
//! Clients and upstreams send the same few names, spelled the same way, request after
//! request. Each thread therefore keeps the last name it parsed in each of 64 slots, chosen
//! by the length and the first and last bytes; a hit costs one comparison of the raw bytes.
//! The cache holds at most 64 names of at most 32 bytes per thread.

use std::cell::RefCell;

use http::HeaderName;
use http::header::InvalidHeaderName;

const SLOTS: usize = 64;
const MAX_LEN: usize = 32;

struct Slot {
    /// The name exactly as it arrived (case included), in its first `len` bytes.
    raw: [u8; MAX_LEN],
    len: usize,
    name: HeaderName,
}

thread_local! {
    static CACHE: RefCell<[Option<Slot>; SLOTS]> = const { RefCell::new([const { None }; SLOTS]) };
}

/// The header name for `raw`, as `HeaderName::from_bytes` gives it.
pub fn parse(raw: &[u8]) -> Result<HeaderName, InvalidHeaderName> {
    let (Some(&first), Some(&last)) = (raw.first(), raw.last()) else {
        return HeaderName::from_bytes(raw);
    };
    if raw.len() > MAX_LEN {
        return HeaderName::from_bytes(raw);
    }
    let i = (raw.len() * 7 + usize::from(first) * 3 + usize::from(last)) % SLOTS;
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(slot) = &cache[i]
            && slot.raw[..slot.len] == *raw
        {
            return Ok(slot.name.clone());
        }
        let name = HeaderName::from_bytes(raw)?;
        let mut copy = [0u8; MAX_LEN];
        copy[..raw.len()].copy_from_slice(raw);
        cache[i] = Some(Slot {
            raw: copy,
            len: raw.len(),
            name: name.clone(),
        });
        Ok(name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gives_what_from_bytes_gives() {
        let names: &[&[u8]] = &[
            b"Host",
            b"host",
            b"HOST",
            b"Content-Type",
            b"content-type",
            b"X-Custom-Thing",
            b"x-custom-thing",
            b"a",
            b"",
            b"bad name",
            b"bad\0",
            b"x-a-name-that-is-longer-than-thirty-two-bytes",
            b"tsoh",
            b"Htso",
        ];
        // Twice over, so the second round is served from the cache, and mixed so that slots
        // are overwritten in between.
        for _ in 0..2 {
            for raw in names {
                let want = HeaderName::from_bytes(raw).ok();
                assert_eq!(parse(raw).ok(), want, "{:?}", String::from_utf8_lossy(raw));
            }
        }
    }
}
