//! GraphQL documents sent to an API (the `query` of a JSON body, of a batch, of a form or of
//! a URL), read for what costs a server or tells an attacker more than a client needs:
//! introspection of the schema, selection sets nested past any client's need, many aliases
//! (one request that tries a hundred one-time codes), many directives, fragments that spread
//! each other in a cycle, and a mutation in a URL (a link or an image can send it: GraphQL
//! over HTTP runs mutations from POST only).
//!
//! A hand-written lexer (the GraphQL spec's lexical grammar: names, punctuators, numbers,
//! strings and block strings, with commas, white space and `#` comments ignored) and one pass
//! over its tokens: no tree is built, and the work is linear in the document's length.
//! Text that does not lex, or that is not a document (`query about cats` in a search box),
//! is not GraphQL and is left to the other detectors.

/// Selection sets nested deeper than this (the operation's own set counts as one; inline
/// fragments count too). Relay connections nest about seven deep for a page of comments
/// under an issue under a repository.
pub(crate) const MAX_DEPTH: usize = 12;
/// More aliases than this in one document (GraphQL Armor's default).
pub(crate) const MAX_ALIASES: usize = 15;
/// More directives than this in one document (GraphQL Armor's default).
pub(crate) const MAX_DIRECTIVES: usize = 50;
/// More operations than this in one batch (a JSON array of requests): Apollo Client's
/// batching link sends ten at most.
pub(crate) const MAX_BATCH: usize = 10;
/// One mutation's text more often than this in one batch.
pub(crate) const MAX_REPEATED_MUTATION: usize = 3;
/// Fragments whose spreads are followed for cycles; past this many, the rest are not.
const MAX_FRAGMENTS: usize = 64;

/// What one pass over a document found.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Shape {
    /// Deepest nesting of selection sets.
    pub(crate) depth: usize,
    pub(crate) aliases: usize,
    pub(crate) directives: usize,
    /// A `__schema` or `__type` field (`__typename` is every client's).
    pub(crate) introspection: bool,
    /// An operation of the document is a mutation.
    pub(crate) mutation: bool,
    /// Fragments spread each other in a cycle (invalid: "fragments must not form cycles").
    pub(crate) cycle: bool,
}

impl Shape {
    /// What is wrong with it, as the excerpt of a finding; `None` when nothing is.
    pub(crate) fn excess(&self) -> Option<&'static str> {
        if self.cycle {
            Some("fragment cycle")
        } else if self.depth > MAX_DEPTH {
            Some("depth")
        } else if self.aliases > MAX_ALIASES {
            Some("aliases")
        } else if self.directives > MAX_DIRECTIVES {
            Some("directives")
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    Name(&'a [u8]),
    /// A punctuator: `! $ & ( ) : = @ [ ] { | }`, and `.` for `...`.
    Punct(u8),
    /// A number or a string: a value, whatever it says.
    Value,
}

/// The token of `doc` at `*i` and after it, past what the grammar ignores; `Ok(None)` at the
/// end, `Err(())` where `doc` breaks the lexical grammar. Read one at a time, so a document
/// costs no memory per token.
fn next_token<'a>(doc: &'a [u8], i: &mut usize) -> Result<Option<Token<'a>>, ()> {
    while *i < doc.len() {
        let b = doc[*i];
        let token = match b {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                *i += 1;
                continue;
            }
            0xEF if doc[*i..].starts_with(b"\xEF\xBB\xBF") => {
                *i += 3;
                continue;
            }
            b'#' => {
                while *i < doc.len() && !matches!(doc[*i], b'\n' | b'\r') {
                    *i += 1;
                }
                continue;
            }
            b'"' if doc[*i..].starts_with(b"\"\"\"") => {
                // A block string ends at the first `"""` not escaped as `\"""`.
                *i += 3;
                loop {
                    let rest = doc.get(*i..).ok_or(())?;
                    let at = memchr::memmem::find(rest, b"\"\"\"").ok_or(())?;
                    *i += at + 3;
                    if at == 0 || rest[at - 1] != b'\\' {
                        break;
                    }
                }
                Token::Value
            }
            b'"' => {
                *i += 1;
                loop {
                    match *doc.get(*i).ok_or(())? {
                        b'\\' => *i += 2,
                        b'"' => break,
                        b'\n' | b'\r' => return Err(()),
                        _ => *i += 1,
                    }
                }
                *i += 1;
                Token::Value
            }
            b'.' => {
                if !doc[*i..].starts_with(b"...") {
                    return Err(());
                }
                *i += 3;
                Token::Punct(b'.')
            }
            b'!' | b'$' | b'&' | b'(' | b')' | b':' | b'=' | b'@' | b'[' | b']' | b'{' | b'|'
            | b'}' => {
                *i += 1;
                Token::Punct(b)
            }
            b'-' | b'0'..=b'9' => {
                *i += 1;
                while *i < doc.len()
                    && (doc[*i].is_ascii_alphanumeric() || matches!(doc[*i], b'.' | b'+' | b'-'))
                {
                    *i += 1;
                }
                Token::Value
            }
            b'_' | b'a'..=b'z' | b'A'..=b'Z' => {
                let start = *i;
                while *i < doc.len() && (doc[*i].is_ascii_alphanumeric() || doc[*i] == b'_') {
                    *i += 1;
                }
                Token::Name(&doc[start..*i])
            }
            _ => return Err(()),
        };
        return Ok(Some(token));
    }
    Ok(None)
}

/// Reads `doc` as a GraphQL executable document; `None` when it is not one: it does not lex,
/// its brackets do not balance, or a definition does not start as one does (`{`, `query`,
/// `mutation`, `subscription`, `fragment`) or never reaches a selection set.
pub(crate) fn shape(doc: &[u8]) -> Option<Shape> {
    let first = doc
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b','))?;
    // Most values are ruled out by their first byte, before any lexing.
    if !matches!(doc[first], b'{' | b'q' | b'm' | b's' | b'f' | b'#') {
        return None;
    }
    let mut at = 0;
    let mut shape = Shape::default();
    // Open brackets: `{` of a selection set (true) or of an input object (false), and how
    // many of them are selection sets (counted as they open and close: recounting the stack
    // at each `{` would make a deeply nested document quadratic).
    let mut braces: Vec<bool> = Vec::new();
    let mut selections = 0usize;
    let mut parens = 0usize;
    let mut brackets = 0usize;
    // Between definitions: the next token starts one.
    let mut at_definition = true;
    let mut definitions = 0usize;
    // The fragment being read, and the spreads of every fragment.
    let mut fragment: Option<usize> = None;
    let mut names: Vec<&[u8]> = Vec::new();
    let mut spreads: Vec<(usize, &[u8])> = Vec::new();
    let mut pending_fragment = false;
    let mut prev: Option<Token<'_>> = None;
    while let Some(t) = next_token(doc, &mut at).ok()? {
        let in_selection = parens == 0 && braces.last() == Some(&true);
        if at_definition {
            match t {
                Token::Punct(b'{') => {}
                Token::Name(b"query" | b"subscription") => {}
                Token::Name(b"mutation") => shape.mutation = true,
                Token::Name(b"fragment") => pending_fragment = true,
                _ => return None,
            }
            at_definition = false;
            definitions += 1;
            fragment = None;
        } else if pending_fragment {
            if let Token::Name(n) = t {
                if names.len() < MAX_FRAGMENTS {
                    names.push(n);
                    fragment = Some(names.len() - 1);
                }
            } else {
                return None;
            }
            pending_fragment = false;
        }
        match t {
            Token::Punct(b'{') => {
                let selection = parens == 0 && brackets == 0;
                braces.push(selection);
                if selection {
                    selections += 1;
                    shape.depth = shape.depth.max(selections);
                }
            }
            Token::Punct(b'}') => {
                if braces.pop()? {
                    selections -= 1;
                }
                if braces.is_empty() && parens == 0 {
                    at_definition = true;
                }
            }
            Token::Punct(b'(') => parens += 1,
            Token::Punct(b')') => parens = parens.checked_sub(1)?,
            Token::Punct(b'[') => brackets += 1,
            Token::Punct(b']') => brackets = brackets.checked_sub(1)?,
            Token::Punct(b':') if in_selection && matches!(prev, Some(Token::Name(_))) => {
                shape.aliases += 1;
            }
            Token::Punct(b'@') => shape.directives += 1,
            // Values are arguments' (and variables' defaults), always in parentheses.
            Token::Value if parens == 0 => return None,
            Token::Name(n) if in_selection && matches!(n, b"__schema" | b"__type") => {
                shape.introspection = true;
            }
            Token::Name(n) if in_selection && prev == Some(Token::Punct(b'.')) && n != b"on" => {
                if let Some(f) = fragment
                    && spreads.len() < MAX_FRAGMENTS * 4
                {
                    spreads.push((f, n));
                }
            }
            _ => {}
        }
        prev = Some(t);
    }
    if !braces.is_empty() || parens != 0 || brackets != 0 || definitions == 0 || !at_definition {
        return None;
    }
    shape.cycle = cyclic(&names, &spreads);
    Some(shape)
}

/// Whether the spreads between fragments (`from` index, spread name) form a cycle.
fn cyclic(names: &[&[u8]], spreads: &[(usize, &[u8])]) -> bool {
    let edges: Vec<(usize, usize)> = spreads
        .iter()
        .filter_map(|&(from, to)| Some((from, names.iter().position(|n| *n == to)?)))
        .collect();
    // 0: not visited, 1: on the current path, 2: done.
    let mut state = vec![0u8; names.len()];
    fn visit(n: usize, edges: &[(usize, usize)], state: &mut [u8]) -> bool {
        state[n] = 1;
        for &(_, to) in edges.iter().filter(|(from, _)| *from == n) {
            if state[to] == 1 || (state[to] == 0 && visit(to, edges, state)) {
                return true;
            }
        }
        state[n] = 2;
        false
    }
    (0..names.len()).any(|n| state[n] == 0 && visit(n, &edges, &mut state))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(doc: &str) -> Shape {
        shape(doc.as_bytes()).expect("a GraphQL document")
    }

    #[test]
    fn reads_documents_and_leaves_other_text() {
        let s = of(
            "query Q($id: ID!, $f: F = {a: {b: 1}}) { user(id: $id, where: {x: {y: 2}}) { name } }",
        );
        assert_eq!((s.depth, s.aliases, s.mutation), (2, 0, false));
        assert_eq!(
            of("{ a: user(id: 1) { id } b: user(id: 2) { id } }").aliases,
            2
        );
        assert!(of("mutation { x(v: \"a: b { c\") { ok } }").mutation);
        assert_eq!(of("{ a(s: \"\"\"x \\\"\"\" } {\"\"\") { b } }").depth, 2);
        for text in [
            "query about cats",
            "select * from t",
            "{\"a\": 1}",
            "{ a { b }",
            "fragment",
            "",
            "{ a(x: \"open) }",
        ] {
            assert_eq!(shape(text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn finds_introspection_depth_aliases_directives_and_cycles() {
        assert!(of("{ __schema { types { name } } }").introspection);
        assert!(of("query Q {\n s: __schema # meta\n { types { name } } }").introspection);
        assert!(of("{ __type(name: \"User\") { name } }").introspection);
        assert!(!of("{ node(id: 1) { __typename id } }").introspection);
        // A field's argument named like one is no field.
        assert!(!of("{ search(__type: 1) { id } }").introspection);

        let deep = format!(
            "{{ user {}{{ id }}{} }}",
            "{ f ".repeat(14),
            " }".repeat(14)
        );
        assert_eq!(of(&deep).excess(), Some("depth"));
        // Depth is counted as sets open and close, not by looking back over the nesting.
        let n = 200_000;
        let deepest = format!("{{{}x{}}}", "a{".repeat(n), "}".repeat(n));
        assert_eq!(of(&deepest).depth, n + 1);
        let aliases: String = (0..20)
            .map(|i| format!("a{i}: verify(code: \"{i}\") {{ ok }} "))
            .collect();
        assert_eq!(
            of(&format!("mutation {{ {aliases}}}")).excess(),
            Some("aliases")
        );
        let directives = "@include(if: true)".repeat(60);
        assert_eq!(
            of(&format!("{{ shows {directives} }}")).excess(),
            Some("directives")
        );

        let cycle = "query { person(id: 1) { ...A } }\nfragment A on Person { parents { ...B } }\nfragment B on Person { children { ...A } }";
        assert_eq!(of(cycle).excess(), Some("fragment cycle"));
        let fine = "fragment P on Product { id ...Q } fragment Q on Product { name } query { a: product(sku: \"x\") { ...P ... on Product { price } } }";
        assert_eq!(of(fine).excess(), None);
    }
}
