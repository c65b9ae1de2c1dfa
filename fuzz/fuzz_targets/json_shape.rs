//! Fuzzes the `content` stage's one-pass JSON shape check (`policy::content::json_shape`:
//! nesting depth, key count, string length) on arbitrary bytes, which need not be JSON or
//! UTF-8. Any input must give `Ok` or a limit error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis::policy::content::{JsonLimits, json_shape};

const LIMITS: JsonLimits = JsonLimits {
    max_depth: 8,
    max_keys: 50,
    max_string: 64,
};

fuzz_target!(|data: &[u8]| {
    let _ = json_shape(data, &LIMITS);
});
