//! Maps key paths (`routes[2].match.path`) to the line they are written on, so that errors found
//! by `compile()` (after serde has finished) still point at the right line of the file.

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Parser};

/// Key path → 1-based line, for every mapping key and sequence item in the document.
#[derive(Debug, Default)]
pub(crate) struct LineIndex {
    lines: HashMap<String, usize>,
}

enum Frame {
    Map {
        key: Option<String>,
        expect_key: bool,
    },
    Seq {
        index: usize,
    },
}

impl LineIndex {
    /// Builds the index; a document that does not parse gives an empty index (serde reports
    /// the syntax error with its own location).
    pub(crate) fn build(text: &str) -> Self {
        let mut lines = HashMap::new();
        let mut stack: Vec<(Frame, String)> = Vec::new();
        for ev in Parser::new_from_str(text) {
            let Ok((event, span)) = ev else { break };
            let line = span.start.line();
            match event {
                Event::Scalar(value, ..) => {
                    if let Some((Frame::Map { key, expect_key }, base)) = stack.last_mut()
                        && *expect_key
                    {
                        let path = join_key(base, &value);
                        lines.entry(path).or_insert(line);
                        *key = Some(value.into_owned());
                        *expect_key = false;
                        continue;
                    }
                    let child = Self::child_path(&mut stack);
                    if let Some(p) = child {
                        lines.entry(p).or_insert(line);
                    }
                    Self::after_value(&mut stack);
                }
                Event::MappingStart(..) | Event::SequenceStart(..) => {
                    let is_map = matches!(event, Event::MappingStart(..));
                    let path = Self::child_path(&mut stack).unwrap_or_default();
                    lines.entry(path.clone()).or_insert(line);
                    let frame = if is_map {
                        Frame::Map {
                            key: None,
                            expect_key: true,
                        }
                    } else {
                        Frame::Seq { index: 0 }
                    };
                    stack.push((frame, path));
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    stack.pop();
                    Self::after_value(&mut stack);
                }
                Event::Alias(..) => Self::after_value(&mut stack),
                _ => {}
            }
        }
        Self { lines }
    }

    /// The path of the value about to start in the innermost collection.
    fn child_path(stack: &mut [(Frame, String)]) -> Option<String> {
        let (frame, base) = stack.last_mut()?;
        Some(match frame {
            Frame::Map { key, .. } => join_key(base, key.as_deref().unwrap_or("")),
            Frame::Seq { index } => format!("{base}[{index}]"),
        })
    }

    fn after_value(stack: &mut [(Frame, String)]) {
        if let Some((frame, _)) = stack.last_mut() {
            match frame {
                Frame::Map { expect_key, .. } => *expect_key = true,
                Frame::Seq { index } => *index += 1,
            }
        }
    }

    /// The line of `path`, or of its nearest written ancestor (a defaulted key has no line of its
    /// own, so the error points at the block that left it out).
    pub(crate) fn line_of(&self, path: &str) -> Option<usize> {
        let mut p = path;
        loop {
            if let Some(l) = self.lines.get(p) {
                return Some(*l);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }
}

fn join_key(base: &str, key: &str) -> String {
    if base.is_empty() {
        key.to_owned()
    } else {
        format!("{base}.{key}")
    }
}

impl LineIndex {
    /// The longest key path written on `line`, for errors serde reports by line only.
    pub(crate) fn deepest_path_at(&self, line: usize) -> String {
        self.lines
            .iter()
            .filter(|(_, l)| **l == line)
            .map(|(p, _)| p)
            .max_by_key(|p| p.len())
            .cloned()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_keys_and_items() {
        let yaml = "a: 1\nroutes:\n  - name: x\n    match:\n      path: /a\n  - name: y\n";
        let idx = LineIndex::build(yaml);
        assert_eq!(idx.line_of("a"), Some(1));
        assert_eq!(idx.line_of("routes"), Some(2));
        assert_eq!(idx.line_of("routes[0].name"), Some(3));
        assert_eq!(idx.line_of("routes[0].match.path"), Some(5));
        assert_eq!(idx.line_of("routes[1].name"), Some(6));
        assert_eq!(idx.line_of("routes[1].upstream"), Some(6));
    }
}
