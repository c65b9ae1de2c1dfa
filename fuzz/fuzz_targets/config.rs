//! Fuzzes the config loader: YAML parsing, `${...}` expansion, the line index and `compile()`.
//! Any input must give a snapshot or a list of errors; never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let registry = portcullis::upstream::state::Registry::default();
    let _ = portcullis::config::load_str(text, std::path::Path::new("fuzz.yaml"), &registry);
});
