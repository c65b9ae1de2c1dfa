//! Fuzzes the strict `multipart/form-data` reader (`policy::multipart::parse`) that the
//! `openapi` stage validates multipart bodies with, on arbitrary bytes under a fixed boundary.
//! Any input must give parts or a reason, never a panic; every part read must lie inside the
//! body, every part has a name, and no more parts than the cap come back; each part's header
//! block lies inside the body and its fields read without a panic.
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
            // The header block is a slice of the body too, and reading fields from it never
            // panics.
            let h = p.head.as_bytes().as_ptr_range();
            assert!(range.start <= h.start && h.end <= range.end);
            for name in ["content-type", "x-lang", ""] {
                for v in p.header(name) {
                    assert_eq!(v, v.trim());
                }
            }
        }
    }
});
