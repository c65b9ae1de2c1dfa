//! Fuzzes the strict `multipart/form-data` reader (`policy::multipart::parse`) that the
//! `openapi` stage validates multipart bodies with, on arbitrary bytes under a fixed boundary.
//! Any input must give parts or a reason, never a panic; every part read must lie inside the
//! body, every part has a name, and no more parts than the cap come back; each part's header
//! fields lie inside the body and read without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis::policy::multipart::parse;

fuzz_target!(|data: &[u8]| {
    if let Ok(parts) = parse(data, "b1", 8) {
        assert!(parts.len() <= 8);
        let range = data.as_ptr_range();
        for p in parts {
            let r = p.content.as_ptr_range();
            assert!(range.start <= r.start && r.end <= range.end);
            assert!(!p.name.is_empty());
            // Every header field is a slice of the body too.
            for (n, v) in &p.headers {
                for x in [n.as_bytes(), v.as_bytes()] {
                    let r = x.as_ptr_range();
                    assert!(range.start <= r.start && r.end <= range.end);
                }
            }
            for name in ["content-type", "x-lang", ""] {
                for v in p.header(name) {
                    assert_eq!(v, v.trim());
                }
            }
        }
    }
});
