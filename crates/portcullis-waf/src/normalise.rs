//! Normalisation: undo the encodings attackers use to hide payloads from pattern matching.
//!
//! Runs once per extracted input, between extraction and detection. Every decoder is a single
//! left-to-right pass over its input (linear time, output no longer than input plus a small
//! constant per escape), and repeated decoding is capped, so hostile input cannot make this stage
//! expensive. Detectors get several [`Variants`] of the same value and pick the ones that fit.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

/// Most extra URL-decoding passes after the first one done by the extractor.
const MAX_URL_PASSES: usize = 3;

/// The forms of one value that detectors look at.
#[derive(Debug, Clone, Default)]
pub(crate) struct Variants {
    /// The value as the application receives it (after the one decode of its container), as
    /// lossy UTF-8.
    pub(crate) raw: String,
    /// Fully decoded (see [`Variants::norm`]); `None` when that is `raw` itself.
    norm: Option<String>,
    /// [`Variants::lower`]; `None` when that is `norm` itself.
    lower: Option<String>,
    /// [`Variants::compact`]; `None` when that is `lower` itself.
    compact: Option<String>,
    /// The raw bytes held a NUL (raw or encoded).
    pub(crate) had_nul: bool,
    /// [`Variants::shell`], worked out on first use: `None` inside when it is `lower`.
    shell: std::cell::OnceCell<Option<String>>,
    /// [`Variants::code`], worked out on first use: `None` inside when it is `lower`.
    code: std::cell::OnceCell<Option<String>>,
}

impl Variants {
    /// Fully decoded: repeated URL and `%u` decoding, overlong UTF-8, HTML entities, backslash
    /// escapes, NFKC folding, NUL and zero-width characters removed.
    pub(crate) fn norm(&self) -> &str {
        self.norm.as_deref().unwrap_or(&self.raw)
    }

    /// `norm` in ASCII lower case, for keyword matching.
    pub(crate) fn lower(&self) -> &str {
        self.lower.as_deref().unwrap_or(self.norm())
    }

    /// `lower` with SQL block comments removed (executable MySQL comments keep their content)
    /// and whitespace runs collapsed to one space.
    pub(crate) fn compact(&self) -> &str {
        self.compact.as_deref().unwrap_or(self.lower())
    }

    /// `lower` with its stack frames blanked ([`frames_blanked`]); worked out once for the
    /// Java and PHP code patterns.
    pub(crate) fn code(&self) -> &str {
        self.code
            .get_or_init(|| frames_blanked(self.lower()))
            .as_deref()
            .unwrap_or(self.lower())
    }

    /// `lower` with the shell expansions whose value is known written out
    /// ([`shell_expanded`]); worked out once for the command and file detectors.
    pub(crate) fn shell(&self) -> &str {
        self.shell
            .get_or_init(|| shell_expanded(self.lower()))
            .as_deref()
            .unwrap_or(self.lower())
    }
}

/// Shell expansions whose value is known, in a lowered text.
const SHELL_EXPANSIONS: [(&str, &str); 12] = [
    ("${ifs}", " "),
    ("$ifs", " "),
    ("${path:0:1}", "/"),
    ("${path::1}", "/"),
    ("${home:0:1}", "/"),
    ("${home::1}", "/"),
    ("${pwd:0:1}", "/"),
    ("${pwd::1}", "/"),
    ("${oldpwd:0:1}", "/"),
    ("${oldpwd::1}", "/"),
    ("${shell:0:1}", "/"),
    ("${shell::1}", "/"),
];

/// `text` with its stack frames (`java.lang.Runtime.exec(Runtime.java:614)`,
/// `sun.nio.ch.EPoll.wait(java.base@17/Native Method)`) blanked, or `None` when it has none:
/// an error report or a ticket names the classes and methods a trace went through, which the
/// code patterns would read as a call. Offsets are kept (each frame becomes spaces).
fn frames_blanked(text: &str) -> Option<String> {
    static FRAME: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    if !(text.contains(".java:")
        || text.contains(".kt:")
        || text.contains(".scala:")
        || text.contains(".groovy:")
        || text.contains("native method")
        || text.contains("unknown source"))
    {
        return None;
    }
    let frame = FRAME
        .get_or_init(|| {
            regex::Regex::new(
                r"[a-z0-9_$./@<>-]+\((?:[a-z0-9_.$@-]+/)?(?:[a-z0-9_$]+\.(?:java|kt|scala|groovy):[0-9]+|native method|unknown source)\)",
            )
            .ok()
        })
        .as_ref()?;
    let mut out: Option<String> = None;
    for m in frame.find_iter(text) {
        let o = out.get_or_insert_with(|| text.to_owned());
        o.replace_range(m.range(), &" ".repeat(m.len()));
    }
    out
}

/// `text` (lowered) with the shell expansions whose value is known written out, or `None`
/// when it holds none: `$IFS` as the space it splits on, and the one-character substrings of
/// variables that hold an absolute path (`${PATH:0:1}`, `${HOME::1}`) as `/`. The command
/// and file detectors read the result ([`Variants::shell`]), so `;${PATH:0:1}bin${PATH:0:1}id`
/// is `;/bin/id` to both.
pub(crate) fn shell_expanded(text: &str) -> Option<String> {
    if !text.contains('$') || !SHELL_EXPANSIONS.iter().any(|(s, _)| text.contains(s)) {
        return None;
    }
    Some(
        SHELL_EXPANSIONS
            .iter()
            .fold(text.to_owned(), |t, (s, with)| t.replace(s, with)),
    )
}

/// [`percent_decode`] that borrows `input` when it has nothing to decode (most names and
/// values of real traffic).
pub(crate) fn percent_decode_cow(
    input: &[u8],
    plus_as_space: bool,
) -> (std::borrow::Cow<'_, [u8]>, bool) {
    let plain = if plus_as_space {
        memchr::memchr2(b'%', b'+', input).is_none()
    } else {
        memchr::memchr(b'%', input).is_none()
    };
    if plain {
        return (std::borrow::Cow::Borrowed(input), false);
    }
    let (out, bad) = percent_decode(input, plus_as_space);
    (std::borrow::Cow::Owned(out), bad)
}

/// Whether one pass of [`percent_decode`] over `input` yields a `<`: a literal one, or `%3C`
/// or `%u003C` in any case (without decoding anything).
pub(crate) fn decodes_to_lt(input: &[u8]) -> bool {
    if memchr::memchr(b'<', input).is_some() {
        return true;
    }
    memchr::memchr_iter(b'%', input).any(|i| {
        let rest = &input[i + 1..];
        rest.get(..2).is_some_and(|h| h.eq_ignore_ascii_case(b"3c"))
            || rest
                .get(..5)
                .is_some_and(|h| h.eq_ignore_ascii_case(b"u003c"))
    })
}

/// Decodes one pass of `%XX` and `%uXXXX`; `+` becomes a space when `plus_as_space`.
/// Returns the decoded bytes and whether an invalid `%` escape was seen.
pub(crate) fn percent_decode(input: &[u8], plus_as_space: bool) -> (Vec<u8>, bool) {
    let mut out = Vec::with_capacity(input.len());
    let mut invalid = false;
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b == b'%' {
            if let (Some(h), Some(l)) = (hex_at(input, i + 1), hex_at(input, i + 2)) {
                out.push((h << 4) | l);
                i += 3;
                continue;
            }
            if matches!(input.get(i + 1), Some(b'u' | b'U'))
                && let Some(cp) = hex_run(input, i + 2, 4)
            {
                push_code_point(&mut out, cp);
                i += 6;
                continue;
            }
            invalid = true;
            out.push(b'%');
        } else if b == b'+' && plus_as_space {
            out.push(b' ');
        } else {
            out.push(b);
        }
        i += 1;
    }
    (out, invalid)
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn hex_at(input: &[u8], i: usize) -> Option<u8> {
    input.get(i).copied().and_then(hex_val)
}

/// Exactly `n` hex digits at `i` as a number.
fn hex_run(input: &[u8], i: usize, n: usize) -> Option<u32> {
    let digits = input.get(i..i + n)?;
    digits.iter().try_fold(0u32, |acc, &b| {
        hex_val(b).map(|v| (acc << 4) | u32::from(v))
    })
}

fn push_code_point(out: &mut Vec<u8>, cp: u32) {
    let c = char::from_u32(cp).unwrap_or('\u{fffd}');
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

/// Repeated URL decoding until stable (at most [`MAX_URL_PASSES`] passes, `+` kept literal).
pub(crate) fn url_decode_repeated(input: &[u8]) -> Cow<'_, [u8]> {
    let mut cur: Cow<'_, [u8]> = Cow::Borrowed(input);
    for _ in 0..MAX_URL_PASSES {
        if memchr::memchr(b'%', &cur).is_none() {
            break;
        }
        let (next, _) = percent_decode(&cur, false);
        if next.as_slice() == cur.as_ref() {
            break;
        }
        cur = Cow::Owned(next);
    }
    cur
}

/// Folds overlong UTF-8 encodings (`C0 AE` for `.`, `E0 80 AF` for `/`) to the character they
/// spell; everything else is copied.
pub(crate) fn fold_overlong(input: &[u8]) -> Cow<'_, [u8]> {
    if !input
        .iter()
        .any(|&b| b == 0xC0 || b == 0xC1 || b == 0xE0 || b == 0xF0)
    {
        return Cow::Borrowed(input);
    }
    let cont = |i: usize| input.get(i).is_some_and(|&b| b & 0xC0 == 0x80);
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if (b == 0xC0 || b == 0xC1) && cont(i + 1) {
            let cp = (u32::from(b & 0x1F) << 6) | u32::from(input[i + 1] & 0x3F);
            push_code_point(&mut out, cp);
            i += 2;
        } else if b == 0xE0
            && input.get(i + 1).is_some_and(|&c| (0x80..0xA0).contains(&c))
            && cont(i + 2)
        {
            let cp = (u32::from(input[i + 1] & 0x3F) << 6) | u32::from(input[i + 2] & 0x3F);
            push_code_point(&mut out, cp);
            i += 3;
        } else if b == 0xF0
            && input.get(i + 1).is_some_and(|&c| (0x80..0x90).contains(&c))
            && cont(i + 2)
            && cont(i + 3)
        {
            let cp = (u32::from(input[i + 1] & 0x3F) << 12)
                | (u32::from(input[i + 2] & 0x3F) << 6)
                | u32::from(input[i + 3] & 0x3F);
            push_code_point(&mut out, cp);
            i += 4;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Cow::Owned(out)
}

/// Named entities worth decoding: the ones browsers accept that matter for markup, script and
/// URL syntax.
const NAMED_ENTITIES: &[(&str, char)] = &[
    ("amp", '&'),
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("apos", '\''),
    ("nbsp", ' '),
    ("colon", ':'),
    ("semi", ';'),
    ("comma", ','),
    ("period", '.'),
    ("sol", '/'),
    ("bsol", '\\'),
    ("lpar", '('),
    ("rpar", ')'),
    ("lsqb", '['),
    ("rsqb", ']'),
    ("lbrack", '['),
    ("rbrack", ']'),
    ("lcub", '{'),
    ("rcub", '}'),
    ("lbrace", '{'),
    ("rbrace", '}'),
    ("tab", '\t'),
    ("newline", '\n'),
    ("excl", '!'),
    ("quest", '?'),
    ("equals", '='),
    ("plus", '+'),
    ("num", '#'),
    ("dollar", '$'),
    ("percnt", '%'),
    ("ast", '*'),
    ("midast", '*'),
    ("vert", '|'),
    ("verbar", '|'),
    ("grave", '`'),
    ("hat", '^'),
    ("lowbar", '_'),
    ("hyphen", '-'),
    ("dash", '-'),
    ("commat", '@'),
    ("Tab", '\t'),
    ("NewLine", '\n'),
];

/// Decodes HTML character references: named (above), decimal and hex, with or without `;`.
pub(crate) fn html_decode(input: &str) -> Cow<'_, str> {
    if !input.contains('&') {
        return Cow::Borrowed(input);
    }
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    let mut last = 0;
    while let Some(off) = memchr::memchr(b'&', &bytes[i..]) {
        let amp = i + off;
        out.push_str(&input[last..amp]);
        let (decoded, consumed) = entity_at(bytes, amp + 1);
        match decoded {
            Some(c) => {
                if c != '\0' {
                    out.push(c);
                }
                i = amp + 1 + consumed;
            }
            None => {
                out.push('&');
                i = amp + 1;
            }
        }
        last = i;
    }
    out.push_str(&input[last..]);
    Cow::Owned(out)
}

/// Parses an entity body after `&`; returns the character and how many bytes it used.
fn entity_at(b: &[u8], start: usize) -> (Option<char>, usize) {
    let semi = |end: usize| usize::from(b.get(end) == Some(&b';'));
    if b.get(start) == Some(&b'#') {
        let (hex, digits_start) = match b.get(start + 1) {
            Some(b'x' | b'X') => (true, start + 2),
            _ => (false, start + 1),
        };
        let mut end = digits_start;
        let mut cp: u32 = 0;
        while let Some(&d) = b.get(end) {
            let v = if hex {
                hex_val(d).map(u32::from)
            } else {
                d.is_ascii_digit().then(|| u32::from(d - b'0'))
            };
            let Some(v) = v else { break };
            cp = cp
                .saturating_mul(if hex { 16 } else { 10 })
                .saturating_add(v)
                .min(0x11_0000);
            end += 1;
        }
        if end == digits_start {
            return (None, 0);
        }
        let c = char::from_u32(cp).unwrap_or('\u{fffd}');
        return (Some(c), end - start + semi(end));
    }
    let mut end = start;
    while end < b.len() && end - start < 12 && b[end].is_ascii_alphanumeric() {
        end += 1;
    }
    let word = &b[start..end];
    // Exact name (with or without `;`), else the longest known name that prefixes the run of
    // letters (browsers decode `&ltscript` as `<script`).
    let mut best: Option<(usize, char)> = None;
    for &(name, c) in NAMED_ENTITIES {
        let n = name.as_bytes();
        if word.starts_with(n) && best.is_none_or(|(len, _)| n.len() > len) {
            best = Some((n.len(), c));
        }
    }
    match best {
        Some((len, c)) => (Some(c), len + semi(start + len)),
        None => (None, 0),
    }
}

/// Decodes JavaScript / C style `\xHH`, `\uHHHH` and `\u{H…}` escapes; other backslashes stay.
pub(crate) fn backslash_decode(input: &str) -> Cow<'_, str> {
    if !input.contains('\\') {
        return Cow::Borrowed(input);
    }
    let b = input.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            match b.get(i + 1) {
                Some(b'x' | b'X') => {
                    if let Some(v) = hex_run(b, i + 2, 2) {
                        push_code_point(&mut out, v);
                        i += 4;
                        continue;
                    }
                }
                Some(b'u' | b'U') => {
                    if let Some(v) = hex_run(b, i + 2, 4) {
                        push_code_point(&mut out, v);
                        i += 6;
                        continue;
                    }
                    if b.get(i + 2) == Some(&b'{') {
                        let mut end = i + 3;
                        let mut cp: u32 = 0;
                        while end < b.len() && end - i < 10 {
                            match hex_val(b[end]) {
                                Some(v) => cp = cp.saturating_mul(16).saturating_add(u32::from(v)),
                                None => break,
                            }
                            end += 1;
                        }
                        if end > i + 3 && b.get(end) == Some(&b'}') {
                            push_code_point(&mut out, cp.min(0x11_0000));
                            i = end + 1;
                            continue;
                        }
                    }
                }
                _ => {}
            }
        }
        out.push(b[i]);
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// Slashes that compatibility normalisation keeps but Windows' best-fit mapping (and many
/// path APIs) turn into `/` or `\`: division slash, fraction slash, big solidus, set minus.
/// Ideographic full stops, which IDNA (UTS 46) maps to `.` in a host name: `⑯⑨。②⑤④。⑯⑨。②⑤④`
/// is `169.254.169.254` to an HTTP client.
/// A byte that is not UTF-8 (decoded as U+FFFD) reads as a space: MySQL and others take a
/// lone 0xA0 (Latin-1's no-break space) as whitespace between keywords.
/// Turkish dotless `ı`, which has no compatibility form but upper-cases to `I`: a backend
/// that upper-cases `unıon` reads `UNION`.
fn fold_char(c: char) -> char {
    match c {
        '\u{FFFD}' => ' ',
        '\u{0131}' => 'i',
        '\u{2215}' | '\u{2044}' | '\u{29F8}' => '/',
        '\u{2216}' | '\u{29F5}' | '\u{29F9}' => '\\',
        '\u{3002}' | '\u{FF61}' => '.',
        _ => c,
    }
}

/// Characters that render as nothing and are used to split keywords, bidirectional
/// embeddings, overrides and isolates among them.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\0'
            | '\u{00AD}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// Builds the variants of one value. `value` is what the container decoded once (query and form
/// values are already percent-decoded with `+` as space).
pub(crate) fn variants(value: &[u8]) -> Variants {
    let raw = String::from_utf8_lossy(value).into_owned();
    let decoded = url_decode_repeated(value);
    let had_nul = decoded.contains(&0);
    let folded = fold_overlong(&decoded);
    let text = String::from_utf8_lossy(&folded);
    let text = html_decode(&text);
    // A second entity pass catches `&amp;lt;`; bounded, and only when the first changed the text.
    let text = if text.contains('&') {
        Cow::Owned(html_decode(&text).into_owned())
    } else {
        text
    };
    let text = backslash_decode(&text);
    // Most values come out of the decoders as they went in: then no variant is a new string
    // (each is allocated only when it differs from the one before it).
    let norm = if text.is_ascii() {
        (text.contains('\0') || text != raw.as_str())
            .then(|| text.chars().filter(|&c| c != '\0').collect::<String>())
    } else {
        let n: String = text
            .nfkc()
            .filter(|&c| !is_invisible(c))
            .map(fold_char)
            .collect();
        (n != raw).then_some(n)
    };
    let base = norm.as_deref().unwrap_or(&raw);
    let lower = base
        .bytes()
        .any(|b| b.is_ascii_uppercase())
        .then(|| base.to_ascii_lowercase());
    let lowered = lower.as_deref().unwrap_or(base);
    let compact = (!compacts_to_itself(lowered)).then(|| compact_sql(lowered));
    Variants {
        raw,
        norm,
        lower,
        compact,
        had_nul,
        shell: std::cell::OnceCell::new(),
        code: std::cell::OnceCell::new(),
    }
}

/// Whether [`compact_sql`] would return `s` unchanged: no `/*`, and no whitespace but single
/// spaces between other characters.
fn compacts_to_itself(s: &str) -> bool {
    let b = s.as_bytes();
    let space = |c: u8| c.is_ascii_whitespace() || c == 0x0B;
    memchr::memmem::find(b, b"/*").is_none()
        && memchr::memmem::find(b, b"(:")
            .is_none_or(|at| memchr::memmem::find(&b[at + 2..], b":)").is_none())
        && !b.first().is_some_and(|&c| space(c))
        && !b.last().is_some_and(|&c| space(c))
        && !b.iter().any(|&c| c != b' ' && space(c))
        && memchr::memmem::find(b, b"  ").is_none()
}

/// Removes SQL block comments (keeping the body of MySQL `/*!…*/` executable comments) and
/// XPath 2.0 and XQuery comments (`(: … :)`, whitespace between tokens as `/**/` is in SQL),
/// and collapses whitespace runs to one space. Single pass.
pub(crate) fn compact_sql(input: &str) -> String {
    let b = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    let mut pending_space = false;
    let mut in_exec_comment = false;
    let push_space = |out: &mut String| {
        if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
    };
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            if b.get(i + 2) == Some(&b'!') {
                // Executable comment: drop the marker and an optional version number.
                let mut j = i + 3;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                in_exec_comment = true;
                pending_space = true;
                i = j;
                continue;
            }
            match memchr::memmem::find(&b[i + 2..], b"*/") {
                Some(end) => i = i + 2 + end + 2,
                None => i = b.len(),
            }
            pending_space = true;
            continue;
        }
        if b[i] == b'('
            && b.get(i + 1) == Some(&b':')
            && let Some(end) = memchr::memmem::find(&b[i + 2..], b":)")
        {
            i = i + 2 + end + 2;
            pending_space = true;
            continue;
        }
        if in_exec_comment && b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
            in_exec_comment = false;
            pending_space = true;
            i += 2;
            continue;
        }
        if b[i].is_ascii_whitespace() || b[i] == 0x0B {
            pending_space = true;
            i += 1;
            continue;
        }
        if pending_space {
            push_space(&mut out);
            pending_space = false;
        }
        // Copy one UTF-8 character.
        let len = utf8_len(b[i]);
        let end = (i + len).min(b.len());
        out.push_str(input.get(i..end).unwrap_or(""));
        i = end;
    }
    out
}

fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_plus_and_unicode_escapes() {
        assert_eq!(percent_decode(b"a%20b+c", true).0, b"a b c");
        for (input, plus) in [
            (&b"plain"[..], true),
            (b"a+b", true),
            (b"a+b", false),
            (b"a%2", true),
            (b"%41%u0042", false),
        ] {
            let (cow, bad) = percent_decode_cow(input, plus);
            assert_eq!((cow.into_owned(), bad), percent_decode(input, plus));
        }
        for input in [
            &b"a<b"[..],
            b"%3c",
            b"x=%3Cscript",
            b"%u003C",
            b"%U003c",
            b"%3",
            b"%253c",
            b"plain&x=1",
            b"%uff1c",
        ] {
            assert_eq!(
                decodes_to_lt(input),
                percent_decode(input, true).0.contains(&b'<'),
                "{}",
                String::from_utf8_lossy(input)
            );
        }
        assert_eq!(percent_decode(b"a%20b+c", false).0, b"a b+c");
        assert_eq!(percent_decode(b"%u003cscript", false).0, b"<script");
        let (out, invalid) = percent_decode(b"100%zz%", false);
        assert_eq!(out, b"100%zz%");
        assert!(invalid);
    }

    #[test]
    fn url_decoding_stops_after_three_passes() {
        assert_eq!(url_decode_repeated(b"%252e%252e%252f").as_ref(), b"../");
        // Four levels deep: three passes leave one level encoded.
        assert_eq!(url_decode_repeated(b"%25252527").as_ref(), b"%27");
        assert_eq!(url_decode_repeated(b"plain").as_ref(), b"plain");
    }

    #[test]
    fn folds_overlong_utf8() {
        assert_eq!(
            fold_overlong(&[0xC0, 0xAE, 0xC0, 0xAE, 0xC0, 0xAF]).as_ref(),
            b"../"
        );
        assert_eq!(fold_overlong(&[0xE0, 0x80, 0xAF]).as_ref(), b"/");
        assert_eq!(fold_overlong("é".as_bytes()).as_ref(), "é".as_bytes());
        assert_eq!(fold_overlong(&[0xC0]).as_ref(), &[0xC0]);
    }

    #[test]
    fn decodes_html_entities() {
        assert_eq!(html_decode("&lt;script&gt;"), "<script>");
        assert_eq!(html_decode("&#60;&#x3C;&#X3c;&#0000060"), "<<<<");
        assert_eq!(html_decode("&ltscript"), "<script");
        assert_eq!(html_decode("java&Tab;script&colon;"), "java\tscript:");
        assert_eq!(
            html_decode("Tom & Jerry &unknown;"),
            "Tom & Jerry &unknown;"
        );
        assert_eq!(html_decode("&#99999999999999;"), "\u{fffd}");
        assert_eq!(html_decode("&#"), "&#");
    }

    #[test]
    fn decodes_backslash_escapes() {
        assert_eq!(backslash_decode(r"\x3cscript\u003e\u{61}"), "<script>a");
        assert_eq!(backslash_decode(r"C:\users\xyz"), r"C:\users\xyz");
        assert_eq!(backslash_decode(r"\u{zz"), r"\u{zz");
    }

    #[test]
    fn variants_fold_fullwidth_and_remove_nul() {
        let v = variants("＜ｓｃｒｉｐｔ＞".as_bytes());
        assert_eq!(v.norm(), "<script>");
        let v = variants("' unıon ſelect".as_bytes());
        assert_eq!(v.norm(), "' union select");
        let v = variants("a.\u{202E}fdp.hta".as_bytes());
        assert_eq!(v.norm(), "a.fdp.hta");
        let v = variants(b"a%00b");
        assert_eq!(v.norm(), "ab");
        assert!(v.had_nul);
        let v = variants("Seán O'Brien".as_bytes());
        assert_eq!(v.norm(), "Seán O'Brien");
        assert_eq!(v.lower(), "seán o'brien");
        let v = variants(b"%u002e%u002e%u2215etc%u2215passwd");
        assert_eq!(v.norm(), "../etc/passwd");
        let v = variants(b"1%a0union%a0select%a01");
        assert_eq!(v.norm(), "1 union select 1");
    }

    #[test]
    fn compacts_to_itself_exactly_when_compact_sql_changes_nothing() {
        for s in [
            "",
            " ",
            "a",
            "a b",
            "a  b",
            " a",
            "a ",
            "a\tb",
            "a\nb",
            "a/*b",
            "a/*!1b*/",
            "a*/b",
            "a / * b",
            "é x",
            "é  x",
            "\u{b}a",
            "a\u{c}",
            "select * from t",
            "x/**/y",
            "*/",
            "a b c d",
            "ab\rcd",
            "x(:y:)z",
            "smile (: only",
            "a :) (: b",
        ] {
            assert_eq!(compacts_to_itself(s), compact_sql(s) == s, "{s:?}");
        }
    }

    #[test]
    fn variants_share_what_the_decoders_left_unchanged() {
        let v = variants(b"plain words");
        assert!(v.norm.is_none() && v.lower.is_none() && v.compact.is_none());
        assert_eq!(v.compact(), "plain words");
        let v = variants(b"Mixed  Case%20x");
        assert_eq!(v.raw, "Mixed  Case%20x");
        assert_eq!(v.norm(), "Mixed  Case x");
        assert_eq!(v.lower(), "mixed  case x");
        assert_eq!(v.compact(), "mixed case x");
        let v = variants("Café".as_bytes());
        assert_eq!((v.norm(), v.lower()), ("Café", "café"));
    }

    #[test]
    fn compacts_sql_comments_and_whitespace() {
        assert_eq!(compact_sql("union/**/select  \t1"), "union select 1");
        assert_eq!(compact_sql("/*!50000union*/ /*!select*/"), "union select");
        assert_eq!(compact_sql("a /* open"), "a");
        assert_eq!(compact_sql("  é  x "), "é x");
        assert_eq!(compact_sql("'(: c :)or(: c :)'1'='1"), "' or '1'='1");
        assert_eq!(compact_sql("smile (: only"), "smile (: only");
    }

    #[test]
    fn decoders_survive_hostile_input() {
        for s in [
            "%",
            "%u",
            "%u12",
            "&#x",
            "&",
            "\\",
            "\\u{",
            "\\x",
            "/*",
            "/*!",
            "\u{ffff}%uD800",
        ] {
            let _ = variants(s.as_bytes());
        }
        let long = "%25".repeat(10_000);
        let v = variants(long.as_bytes());
        assert!(v.norm().len() <= long.len());
    }
}
