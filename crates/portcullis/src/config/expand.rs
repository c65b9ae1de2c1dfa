//! `${env:NAME}`, `${env:NAME:-default}` and `${file:PATH}` references inside string values.
//!
//! Expansion happens while the YAML is deserialised, through [`ExpandedString`], so an error in a
//! reference is reported by the YAML layer with the line of the value that holds it. Relative
//! `${file:}` paths resolve against the folder of the config file, which the loader sets for the
//! duration of one parse with [`with_base_dir`].

use std::cell::RefCell;
use std::fmt;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};

thread_local! {
    static BASE_DIR: RefCell<Option<PathBuf>> = const { RefCell::new(None) };
}

/// Largest file a `${file:}` reference may read: these are secrets and small values, not data.
const MAX_FILE_REFERENCE_BYTES: u64 = 64 * 1024;

/// Runs `f` with `dir` as the folder that relative `${file:}` references resolve against.
pub(crate) fn with_base_dir<T>(dir: &Path, f: impl FnOnce() -> T) -> T {
    let previous = BASE_DIR.with(|b| b.replace(Some(dir.to_path_buf())));
    let out = f();
    BASE_DIR.with(|b| *b.borrow_mut() = previous);
    out
}

/// Resolves `path` against the current base folder (the config file's folder while loading).
pub(crate) fn resolve_path(path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        return p.to_path_buf();
    }
    BASE_DIR.with(|b| match &*b.borrow() {
        Some(dir) => dir.join(p),
        None => p.to_path_buf(),
    })
}

/// Reads a file the config names (a secret, a key, a list), refusing one larger than `max`
/// bytes before reading it. Errors name the file.
pub(crate) fn read_capped(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if meta.len() > max {
        return Err(format!("{} is larger than {max} bytes", path.display()));
    }
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Reads a JSON or YAML document the config names (a schema, an API description), relative to
/// the config file, refusing one larger than `max` bytes. Errors name the file.
pub(crate) fn read_document(path: &str, max: u64) -> Result<serde_json::Value, String> {
    let path = resolve_path(path);
    let bytes = read_capped(&path, max)?;
    // JSON is YAML, so one parser reads both.
    serde_saphyr::from_slice(&bytes).map_err(|e| {
        let msg = e.to_string();
        format!(
            "{} is not JSON or YAML: {}",
            path.display(),
            msg.lines().next().unwrap_or("")
        )
    })
}

/// Expands every `${...}` reference in `input`. `$$` is not special; a `$` not followed by `{`
/// is kept as is.
pub(crate) fn expand(input: &str) -> Result<String, String> {
    if !input.contains("${") {
        return Ok(input.to_owned());
    }
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unterminated reference in {input:?}: missing `}}`"))?;
        out.push_str(&resolve_reference(&after[..end])?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn resolve_reference(reference: &str) -> Result<String, String> {
    if let Some(spec) = reference.strip_prefix("env:") {
        let (name, default) = match spec.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (spec, None),
        };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!("invalid environment variable name {name:?}"));
        }
        match std::env::var(name) {
            Ok(v) if !v.is_empty() => Ok(v),
            _ => default
                .map(str::to_owned)
                .ok_or_else(|| format!("environment variable {name} is not set")),
        }
    } else if let Some(path) = reference.strip_prefix("file:") {
        let full = resolve_path(path);
        let bytes = read_capped(&full, MAX_FILE_REFERENCE_BYTES)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| format!("cannot read {}: not UTF-8 text", full.display()))?;
        Ok(text.trim_end_matches(['\r', '\n']).to_owned())
    } else {
        Err(format!(
            "unknown reference `${{{reference}}}`: use ${{env:NAME}}, ${{env:NAME:-default}} or ${{file:PATH}}"
        ))
    }
}

/// A string config value with its `${...}` references expanded.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct ExpandedString(pub String);

impl ExpandedString {
    /// The expanded text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for ExpandedString {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for ExpandedString {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl fmt::Debug for ExpandedString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for ExpandedString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ExpandedString {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl<'de> Deserialize<'de> for ExpandedString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        expand(&raw).map(Self).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for ExpandedString {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ExpandedString".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A string; `${env:NAME}`, `${env:NAME:-default}` and `${file:PATH}` are expanded."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_env_with_default_when_unset() {
        assert_eq!(
            expand("${env:PORTCULLIS_TEST_SURELY_UNSET:-127.0.0.1:1}").ok(),
            Some("127.0.0.1:1".to_owned())
        );
    }

    #[test]
    fn denies_unset_env_without_default() {
        let err = expand("x${env:PORTCULLIS_TEST_SURELY_UNSET}").unwrap_err();
        assert!(err.contains("PORTCULLIS_TEST_SURELY_UNSET"), "{err}");
    }

    #[test]
    fn expands_env_inside_text() {
        // PATH is always set in a test process.
        let out = expand("a-${env:PATH}-b").unwrap();
        assert!(out.starts_with("a-") && out.ends_with("-b") && out.len() > 4);
    }

    #[test]
    fn reads_file_relative_to_base_dir() {
        let dir = crate::test_dir::TestDir::new("expand");
        dir.write("secret.txt", "s3cret\n");
        let out = with_base_dir(dir.path(), || expand("${file:secret.txt}"));
        assert_eq!(out.ok(), Some("s3cret".to_owned()));
    }

    #[test]
    fn denies_unknown_and_unterminated_references() {
        assert!(expand("${vault:x}").is_err());
        assert!(expand("${env:X").is_err());
        assert!(expand("${env:BAD NAME}").is_err());
    }

    #[test]
    fn keeps_text_without_references() {
        assert_eq!(expand("plain $text").ok(), Some("plain $text".to_owned()));
    }
}
