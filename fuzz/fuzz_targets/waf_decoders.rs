//! Fuzzes each WAF decoder on its own and the normaliser that chains them: percent decoding
//! (with and without `+` as space), repeated URL decoding, overlong UTF-8 folding, HTML
//! entities, backslash escapes and SQL comment compaction; and the GraphQL reader. No input
//! may panic, and every decoder must shrink or keep its input: each escape it reads is at
//! least as long as what it writes, so no value can grow under decoding (the bound the
//! engine's budgets rely on). Text
//! the SQL detector does not hand to libinjection (words and numbers) must be text
//! libinjection does not flag.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_waf::internals;

fuzz_target!(|data: &[u8]| {
    assert!(internals::percent_decode(data, false).len() <= data.len());
    assert!(internals::percent_decode(data, true).len() <= data.len());
    assert!(internals::url_decode_repeated(data).len() <= data.len());
    assert!(internals::fold_overlong(data).len() <= data.len());
    let text = String::from_utf8_lossy(data);
    let html = internals::html_decode(&text);
    assert!(
        html.len() <= text.len() + 4,
        "html {} > {}",
        html.len(),
        text.len()
    );
    assert!(internals::backslash_decode(&text).len() <= text.len());
    let compact = internals::compact_sql(&text);
    assert!(compact.len() <= text.len());
    assert!(!compact.contains("  "), "runs of spaces survive compaction");
    internals::normalise(data);
    internals::graphql(data);
    let (inert, flagged) = internals::sqli_inert_and_flagged(data);
    assert!(
        !(inert && flagged),
        "libinjection flags text the SQL detector skips"
    );
});
