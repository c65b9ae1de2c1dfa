//! Configuration errors: every one names the file, the line (when known) and the key path.

use std::fmt;
use std::path::PathBuf;

/// One problem found while loading or compiling a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The config file.
    pub file: PathBuf,
    /// 1-based line of the offending key or value, when it could be located.
    pub line: Option<usize>,
    /// Dotted key path such as `routes[2].match.path`; empty for whole-file problems.
    pub path: String,
    /// What is wrong, in words an operator can act on.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if self.path.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": {}: {}", self.path, self.message)
        }
    }
}

/// Every error found in one config file, in file order.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Collects errors during `compile()` with key paths; lines are filled in afterwards from the
/// YAML index, so compile code only has to say where in the tree it is.
#[derive(Debug, Default)]
pub struct Collector {
    /// `(key path, message)` pairs in the order found.
    pub errors: Vec<(String, String)>,
}

impl Collector {
    /// Records that the value at `path` is wrong because of `message`.
    pub fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push((path.into(), message.into()));
    }
}
