//! Fuzzes `proxy::normalise_path`, which every request path goes through before routing,
//! policies and the upstream see it. On any UTF-8 input it must not panic, and a path it
//! accepts must be normal: it starts with `/` (the asterisk-form `*` for `OPTIONS *` is the one
//! documented exception), has no `//`, no `.` or `..` segment, and normalising it again gives
//! the same path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis::proxy::normalise_path;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let Some(p) = normalise_path(raw) else {
        return;
    };
    if raw == "*" {
        assert_eq!(p, "*");
        return;
    }
    assert!(p.starts_with('/'), "{raw:?} -> {p:?}: not absolute");
    assert!(!p.contains("//"), "{raw:?} -> {p:?}: empty segment");
    assert!(
        !p.contains("/./") && !p.contains("/../") && !p.ends_with("/.") && !p.ends_with("/.."),
        "{raw:?} -> {p:?}: dot segment"
    );
    let again = normalise_path(&p);
    assert_eq!(
        again.as_deref(),
        Some(p.as_str()),
        "{raw:?} -> {p:?}: not idempotent"
    );
});
