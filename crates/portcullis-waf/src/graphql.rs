//! GraphQL documents sent to an API (the `query` of a JSON body, of a batch, of a form or of
//! a URL), read for what costs a server or tells an attacker more than a client needs:
//! introspection of the schema, selection sets nested past any client's need, lists asked
//! for inside lists until the answer would hold millions of objects, many aliases (one
//! request that tries a hundred one-time codes), many directives, fragments that spread each
//! other in a cycle or that double at every level, and a mutation in a URL or a form body (a link or an image can send it: GraphQL
//! over HTTP runs mutations from POST only).
//!
//! A hand-written lexer (the GraphQL spec's lexical grammar: names, punctuators, numbers,
//! strings and block strings, with commas, white space and `#` comments ignored) and one pass
//! over its tokens: no tree is built, and the work is linear in the document's length.
//! Text that does not lex, or that is not a document (`query about cats` in a search box),
//! is not GraphQL and is left to the other detectors.

/// Selection sets nested deeper than this (the operation's own set counts as one, and a named
/// fragment's sets count where it is spread; an inline fragment's set nests no data and does
/// not count). Relay connections nest about seven deep for a page of comments under an issue
/// under a repository.
pub(crate) const MAX_DEPTH: usize = 12;
/// Selection sets of any kind, inline fragments' included, nested deeper than this: past
/// it a parser that recurses per set is what the document is aimed at.
const MAX_NESTING: usize = 4 * MAX_DEPTH;
/// More aliases than this in one document (GraphQL Armor's default).
pub(crate) const MAX_ALIASES: usize = 15;
/// More directives than this in one document (GraphQL Armor's default).
pub(crate) const MAX_DIRECTIVES: usize = 50;
/// More operations than this in one batch (a JSON array of requests): Apollo Client's
/// batching link sends ten at most.
pub(crate) const MAX_BATCH: usize = 10;
/// One mutation's text more often than this in one batch, or one mutation field that checks
/// a credential more often than this, under aliases, in one operation (`a0: login(…) a1:
/// login(…) …`). Bulk mutations of other kinds (`m0: markRead(id: 1) m1: …`) are a client's
/// habit, held by [`MAX_ALIASES`].
pub(crate) const MAX_REPEATED_MUTATION: usize = 3;
/// A field met again more often than this down one path of nested selections, with others
/// between (`users { posts { author { posts { author …`): each turn of such a cycle
/// multiplies the objects resolved. A field nested in itself (`replies { replies }`, a tree;
/// see [`MAX_SELF_NESTING`]) and Relay's `edges` and `node`, which every level of a
/// connection repeats, do not count.
const MAX_REVISITS: usize = 2;
/// A field nested directly in itself more often than this (`friends { friends { … } }` eight
/// deep): comment trees ask for five or six levels of `replies`.
const MAX_SELF_NESTING: usize = 6;
/// Fragments whose spreads are followed for cycles and expansion; a document with more is
/// past the limits (Relay's largest compiled queries hold a few dozen).
const MAX_FRAGMENTS: usize = 256;
/// Spreads followed; a document with more is past the limits.
const MAX_SPREADS: usize = MAX_FRAGMENTS * 8;
/// Most objects the lists of one path may ask for together: the product of the page sizes
/// (`first`, `limit`, ...) of nested connections. GitHub caps a query at 500,000 nodes with
/// pages of 100 at most; `first: 100` three levels deep is 1,000,000.
pub(crate) const MAX_NODES: u64 = 1_000_000;
/// Most field selections a document may hold with its fragments spread out. Each spread
/// copies a fragment's selections, so fragments that spread the one before twice double at
/// every step (thirty of them select a billion fields).
pub(crate) const MAX_EXPANDED: u64 = 10_000;
/// The same field selected more often than this in one selection set, without aliases
/// (`__typename __typename …`): the selections merge into one answer, so only a request made
/// to burn the server's parser and resolvers repeats them.
pub(crate) const MAX_REPEATED_FIELD: usize = 20;
/// Distinct field names counted per selection set for [`MAX_REPEATED_FIELD`].
const COUNTED_FIELDS: usize = 32;
/// The page size a negative count stands for: all rows, taken as this many.
const UNBOUNDED_PAGE: u64 = 10_000;
/// Fields that hold a credential's stored form or a token that stands for one (lower case,
/// without `_`): no client shows them, so a request that asks for one is after them (an API
/// whose permissions let the field through). A session token is also what a login or a
/// sign-up returns (Parse's `logIn { viewer { sessionToken } }`): it counts in a query, not
/// in a mutation.
pub(crate) const SECRET_FIELDS: &[&str] = &[
    "confirmationtoken",
    "encryptedpassword",
    "hashedpassword",
    "password",
    "passwordhash",
    "passwordresettoken",
    "resetpasswordtoken",
    "resettoken",
    "sessiontoken",
    "tokenkey",
    "totpsecret",
];

/// Which of [`SECRET_FIELDS`] `name` is, whatever its case and underscores.
pub(crate) fn secret_field(name: &[u8]) -> Option<&'static str> {
    if name.len() > 32 {
        return None;
    }
    let mut buf = [0u8; 32];
    let mut n = 0;
    for &c in name.iter().filter(|&&c| c != b'_') {
        buf[n] = c.to_ascii_lowercase();
        n += 1;
    }
    let k = std::str::from_utf8(&buf[..n]).ok()?;
    SECRET_FIELDS
        .binary_search(&k)
        .ok()
        .map(|i| SECRET_FIELDS[i])
}

/// Argument names that set how many items a list field returns.
const PAGE_SIZE_ARGUMENTS: &[&[u8]] = &[
    b"first",
    b"last",
    b"limit",
    b"take",
    b"top",
    b"pageSize",
    b"page_size",
    b"perPage",
    b"per_page",
    b"size",
    b"count",
];

/// What one pass over a document found.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Shape {
    /// Deepest nesting of selection sets ([`MAX_DEPTH`]).
    pub(crate) depth: usize,
    /// Deepest nesting of selection sets, inline fragments' included ([`MAX_NESTING`]).
    nesting: usize,
    pub(crate) aliases: usize,
    pub(crate) directives: usize,
    /// A `__schema` or `__type` field (`__typename` is every client's).
    pub(crate) introspection: bool,
    /// An operation of the document is a mutation.
    pub(crate) mutation: bool,
    /// Fragments spread each other in a cycle (invalid: "fragments must not form cycles").
    pub(crate) cycle: bool,
    /// More fragment definitions than [`MAX_FRAGMENTS`].
    pub(crate) fragments: bool,
    /// The largest product of page sizes along one path of nested selection sets, with
    /// fragments spread out where they are spread (when there is no cycle).
    pub(crate) nodes: u64,
    /// Field selections with every fragment spread out (when there is no cycle).
    pub(crate) expanded: u64,
    /// The most times one field is selected, unaliased, in one selection set.
    pub(crate) repeated: usize,
    /// The most times one field that checks a credential ([`checks_credential`]) is
    /// selected, aliased or not, at the root of a mutation.
    pub(crate) repeated_mutation: usize,
    /// Root fields of mutations that check a credential, aliased or not.
    pub(crate) credential_mutations: usize,
    /// A field met again down one path more often than [`MAX_REVISITS`].
    pub(crate) circular: bool,
    /// A field of [`SECRET_FIELDS`] is selected (a session token in a query only).
    pub(crate) secret: bool,
    session_token: bool,
}

impl Shape {
    /// What is wrong with it, as the excerpt of a finding; `None` when nothing is.
    pub(crate) fn excess(&self) -> Option<&'static str> {
        if self.cycle {
            Some("fragment cycle")
        } else if self.fragments {
            Some("fragments")
        } else if self.depth > MAX_DEPTH || self.nesting > MAX_NESTING {
            Some("depth")
        } else if self.expanded > MAX_EXPANDED {
            Some("fragment expansion")
        } else if self.nodes > MAX_NODES {
            Some("list sizes")
        } else if self.aliases > MAX_ALIASES {
            Some("aliases")
        } else if self.directives > MAX_DIRECTIVES {
            Some("directives")
        } else if self.repeated > MAX_REPEATED_FIELD {
            Some("repeated field")
        } else if self.repeated_mutation > MAX_REPEATED_MUTATION {
            Some("repeated mutation")
        } else if self.circular {
            Some("circular selection")
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
    /// A number or a string: a value, whatever it says; an integer's value when it is one
    /// ([`UNBOUNDED_PAGE`] for a negative one, which as a count asks for no limit).
    Value(Option<u64>),
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
                Token::Value(None)
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
                Token::Value(None)
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
                let start = *i;
                *i += 1;
                while *i < doc.len()
                    && (doc[*i].is_ascii_alphanumeric() || matches!(doc[*i], b'.' | b'+' | b'-'))
                {
                    *i += 1;
                }
                let text = std::str::from_utf8(&doc[start..*i]).ok();
                // A negative count asks for no limit (Strapi's and Directus's `limit: -1`)
                // or for the last rows (Prisma's `take: -1`): it reads as
                // [`UNBOUNDED_PAGE`], which one list alone keeps under [`MAX_NODES`] and a
                // list inside another multiplies past it.
                let int = text.and_then(|n| match n.parse::<i64>() {
                    Ok(n) if n < 0 => Some(UNBOUNDED_PAGE),
                    _ => n.parse().ok(),
                });
                Token::Value(int)
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
    // Most values are ruled out by their first token, before the document is read: a
    // document opens with a selection set or a definition's keyword (byte order marks,
    // blank space, commas and comments are ignored tokens).
    let mut probe = 0;
    if !matches!(
        next_token(doc, &mut probe),
        Ok(Some(
            Token::Punct(b'{')
                | Token::Name(b"query" | b"mutation" | b"subscription" | b"fragment")
        ))
    ) {
        return None;
    }
    let mut at = 0;
    let mut shape = Shape::default();
    // Open brackets: `{` of a selection set (true) or of an input object (false), and how
    // many of them are selection sets (counted as they open and close: recounting the stack
    // at each `{` would make a deeply nested document quadratic).
    let mut braces: Vec<bool> = Vec::new();
    let mut selections = 0usize;
    // How many of the open selection sets are no inline fragment's (the depth of data).
    let mut depth = 0usize;
    let mut parens = 0usize;
    let mut brackets = 0usize;
    // Between definitions: the next token starts one.
    let mut at_definition = true;
    let mut definitions = 0usize;
    // The fragment being read, what each fragment holds, and every spread (of a fragment or
    // of an operation).
    let mut fragment: Option<usize> = None;
    let mut names: Vec<&[u8]> = Vec::new();
    let mut spreads: Vec<Spread<'_>> = Vec::new();
    let mut fragments: Vec<Extent> = Vec::new();
    // Field selections of the operations.
    let mut operation_fields = 0u64;
    // The product of page sizes down to each open selection set, and the page size the
    // arguments of the field being read ask for.
    let mut products: Vec<u64> = Vec::new();
    let mut page_size = 1u64;
    // The fields of each open selection set and how often each is selected (the first
    // [`COUNTED_FIELDS`] names), and the name just read, which an alias's `:` takes back.
    let mut counts: Vec<Vec<(&[u8], usize)>> = Vec::new();
    let mut last_field: Option<&[u8]> = None;
    let mut aliased = false;
    // The field read last, aliased or not, whose selection set the next `{` opens; whether
    // a `...` was read since (an inline fragment's set opens next, unless a field comes
    // first); the fields whose sets are open (for [`MAX_REVISITS`]); for each open set,
    // whether it is an operation's root (its own set, or an inline fragment's in one) and
    // whether it is an inline fragment's; the root fields of the mutation being read and
    // how often each is selected.
    let mut field: Option<&[u8]> = None;
    let mut inline = false;
    let mut path: Vec<Option<&[u8]>> = Vec::new();
    let mut sets: Vec<OpenSet> = Vec::new();
    let mut in_mutation = false;
    let mut mutation_fields: Vec<(&[u8], usize)> = Vec::new();
    let mut last_root: Option<&[u8]> = None;
    let mut pending_fragment = false;
    let mut prev: Option<Token<'_>> = None;
    let mut prev2: Option<Token<'_>> = None;
    while let Some(t) = next_token(doc, &mut at).ok()? {
        let in_selection = parens == 0 && braces.last() == Some(&true);
        if at_definition {
            in_mutation = false;
            match t {
                Token::Punct(b'{') => {}
                Token::Name(b"query" | b"subscription") => {}
                Token::Name(b"mutation") => {
                    shape.mutation = true;
                    in_mutation = true;
                    mutation_fields.clear();
                }
                Token::Name(b"fragment") => pending_fragment = true,
                _ => return None,
            }
            at_definition = false;
            definitions += 1;
            fragment = None;
            page_size = 1;
            inline = false;
        } else if pending_fragment {
            if let Token::Name(n) = t {
                if names.len() < MAX_FRAGMENTS {
                    names.push(n);
                    fragments.push(Extent::default());
                    fragment = Some(names.len() - 1);
                } else {
                    shape.fragments = true;
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
                    // The field this set belongs to (none for an operation's own set or an
                    // inline fragment's), met again after others on the way down; looked for
                    // only this side of the depth limit, so that the look back stays short.
                    let field = field.take();
                    let inline_set = std::mem::take(&mut inline) && field.is_none();
                    let root =
                        selections == 0 || (inline_set && sets.last().is_some_and(|s| s.root));
                    sets.push(OpenSet {
                        root,
                        inline: inline_set,
                    });
                    let owner = field.filter(|f| !matches!(*f, b"edges" | b"node"));
                    if let Some(f) = owner
                        && path.len() <= MAX_NESTING
                        && if path.last() == Some(&Some(f)) {
                            // Nested directly in itself: a tree (`replies { replies }`) a
                            // few levels down, a graph walked past any page's need beyond.
                            path.iter().rev().take_while(|&&p| p == Some(f)).count()
                                >= MAX_SELF_NESTING
                        } else {
                            path.iter().filter(|&&p| p == Some(f)).count() > MAX_REVISITS
                        }
                    {
                        shape.circular = true;
                    }
                    path.push(owner);
                    selections += 1;
                    shape.nesting = shape.nesting.max(selections);
                    if !inline_set {
                        depth += 1;
                    }
                    shape.depth = shape.depth.max(depth);
                    let product = products.last().unwrap_or(&1).saturating_mul(page_size);
                    shape.nodes = shape.nodes.max(product);
                    if let Some(f) = fragment {
                        fragments[f].depth = fragments[f].depth.max(depth);
                        fragments[f].nodes = fragments[f].nodes.max(product);
                    }
                    products.push(product);
                    counts.push(Vec::new());
                    page_size = 1;
                }
            }
            Token::Punct(b'}') => {
                // An input object's `}` (`login(input: {…}) {`) leaves the field whose set
                // comes next.
                if braces.pop()? {
                    selections -= 1;
                    if sets.pop().is_some_and(|s| !s.inline) {
                        depth -= 1;
                    }
                    products.pop();
                    counts.pop();
                    path.pop();
                    field = None;
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
                // An alias names an answer of its own: neither it nor the field it renames is
                // a field selected again.
                if let (Some(set), Some(name)) = (counts.last_mut(), last_field.take()) {
                    uncount(set, name);
                }
                if let Some(name) = last_root.take() {
                    uncount(&mut mutation_fields, name);
                    shape.credential_mutations -= 1;
                }
                aliased = true;
                // The alias was counted as a field: the field follows.
                match fragment {
                    Some(f) => fragments[f].fields = fragments[f].fields.saturating_sub(1),
                    None => operation_fields = operation_fields.saturating_sub(1),
                }
            }
            Token::Punct(b'@') => shape.directives += 1,
            // Values are arguments' (and variables' defaults), always in parentheses.
            Token::Value(_) if parens == 0 => return None,
            // `first: 100` among a field's arguments.
            Token::Value(Some(n))
                if parens == 1
                    && prev == Some(Token::Punct(b':'))
                    && matches!(prev2, Some(Token::Name(a)) if PAGE_SIZE_ARGUMENTS.contains(&a)) =>
            {
                page_size = page_size.max(n);
            }
            // A spread or an inline fragment: the set it opens is no field's, and its lists
            // are its own.
            Token::Punct(b'.') => {
                field = None;
                inline = true;
                page_size = 1;
            }
            Token::Name(n) if in_selection && matches!(n, b"__schema" | b"__type") => {
                shape.introspection = true;
            }
            Token::Name(n) if in_selection && prev == Some(Token::Punct(b'.')) && n != b"on" => {
                inline = false;
                if spreads.len() < MAX_SPREADS {
                    spreads.push(Spread {
                        from: fragment,
                        to: n,
                        depth,
                        product: products.last().copied().unwrap_or(1),
                    });
                } else {
                    shape.fragments = true;
                }
            }
            // A field (or an alias, taken back at its `:`); not a directive's name
            // (`@skip`), nor a spread's or an inline fragment's type condition
            // (`... on Product`).
            Token::Name(n)
                if in_selection
                    && prev != Some(Token::Punct(b'.'))
                    && prev != Some(Token::Punct(b'@'))
                    && !(prev == Some(Token::Name(b"on")) && prev2 == Some(Token::Punct(b'.'))) =>
            {
                page_size = 1;
                field = Some(n);
                last_root = None;
                inline = false;
                if sets.last().is_some_and(|s| s.root) && in_mutation && checks_credential(n) {
                    shape.credential_mutations += 1;
                    let count = count(&mut mutation_fields, n);
                    shape.repeated_mutation = shape.repeated_mutation.max(count);
                    last_root = (count > 0).then_some(n);
                }
                match secret_field(n) {
                    Some("sessiontoken") => shape.session_token = true,
                    Some(_) => shape.secret = true,
                    None => {}
                }
                if std::mem::take(&mut aliased) {
                    last_field = None;
                } else if let Some(set) = counts.last_mut() {
                    let count = count(set, n);
                    shape.repeated = shape.repeated.max(count);
                    last_field = (count > 0).then_some(n);
                }
                match fragment {
                    Some(f) => fragments[f].fields = fragments[f].fields.saturating_add(1),
                    None => operation_fields = operation_fields.saturating_add(1),
                }
            }
            _ => {}
        }
        prev2 = prev;
        prev = Some(t);
    }
    if !braces.is_empty() || parens != 0 || brackets != 0 || definitions == 0 || !at_definition {
        return None;
    }
    shape.secret |= shape.session_token && !shape.mutation;
    shape.cycle = cyclic(&names, &spreads);
    if !shape.cycle {
        let spread_out = expanded(&names, &spreads, &fragments, operation_fields);
        shape.expanded = spread_out.fields;
        shape.depth = shape.depth.max(spread_out.depth);
        shape.nodes = shape.nodes.max(spread_out.nodes);
    }
    Some(shape)
}

/// Counts `name` once more in `set` (the first [`COUNTED_FIELDS`] names), answering its count
/// (0 when it is not counted).
fn count<'a>(set: &mut Vec<(&'a [u8], usize)>, name: &'a [u8]) -> usize {
    match set.iter().position(|(n, _)| *n == name) {
        Some(i) => {
            set[i].1 += 1;
            set[i].1
        }
        None if set.len() < COUNTED_FIELDS => {
            set.push((name, 1));
            1
        }
        None => 0,
    }
}

/// Takes one count of `name` back from `set`, dropping the name at none.
fn uncount(set: &mut Vec<(&[u8], usize)>, name: &[u8]) {
    if let Some(i) = set.iter().position(|(n, _)| *n == name) {
        set[i].1 -= 1;
        if set[i].1 == 0 {
            set.swap_remove(i);
        }
    }
}

/// Whether a mutation's name says it checks a credential: a log-in, a password, a one-time
/// code, a token, a coupon or a gift card (lower case compared).
fn checks_credential(name: &[u8]) -> bool {
    const WORDS: &[&[u8]] = &[
        b"login",
        b"logon",
        b"signin",
        b"authenticat",
        b"password",
        b"passcode",
        b"otp",
        b"verify",
        b"token",
        b"redeem",
        b"coupon",
        b"promo",
        b"voucher",
        b"giftcard",
        b"mfa",
        b"2fa",
    ];
    WORDS.iter().any(|w| {
        name.windows(w.len())
            .any(|part| part.eq_ignore_ascii_case(w))
    })
}

/// An open selection set: whether it is an operation's root (its own set, or an inline
/// fragment's in one), and whether it is an inline fragment's.
struct OpenSet {
    root: bool,
    inline: bool,
}

/// A fragment spread: the fragment it is in (`None` in an operation), the name it spreads,
/// how many selection sets are open around it and the product of their page sizes.
struct Spread<'a> {
    from: Option<usize>,
    to: &'a [u8],
    depth: usize,
    product: u64,
}

/// What a definition holds: field selections, the deepest nesting of its sets (its own set
/// counts as one) and the largest product of page sizes down one path.
#[derive(Debug, Clone, Copy, Default)]
struct Extent {
    fields: u64,
    depth: usize,
    nodes: u64,
}

/// The operations with every fragment spread out where it is spread: their field
/// selections, deepest nesting and largest product of page sizes. Each fragment is spread
/// out once (memoised), so the work is linear in the spreads however large the sum; a
/// fragment's sets nest below the set that spreads it, and its lists multiply that set's.
/// Fragments must form no cycle.
fn expanded(
    names: &[&[u8]],
    spreads: &[Spread<'_>],
    fragments: &[Extent],
    operation_fields: u64,
) -> Extent {
    let index = |name: &[u8]| names.iter().position(|n| *n == name);
    let mut done: Vec<Option<Extent>> = vec![None; names.len()];
    // Adds to `into` the fragments spread from `from` (an index, or `None` for the
    // operations).
    fn spread_into(
        into: &mut Extent,
        from: Option<usize>,
        spreads: &[Spread<'_>],
        fragments: &[Extent],
        index: &dyn Fn(&[u8]) -> Option<usize>,
        done: &mut [Option<Extent>],
    ) {
        for s in spreads.iter().filter(|s| s.from == from) {
            if let Some(t) = index(s.to) {
                let inner = visit(t, spreads, fragments, index, done);
                into.fields = into.fields.saturating_add(inner.fields);
                into.depth = into.depth.max(s.depth + inner.depth.saturating_sub(1));
                into.nodes = into.nodes.max(s.product.saturating_mul(inner.nodes));
            }
        }
    }
    fn visit(
        f: usize,
        spreads: &[Spread<'_>],
        fragments: &[Extent],
        index: &dyn Fn(&[u8]) -> Option<usize>,
        done: &mut [Option<Extent>],
    ) -> Extent {
        if let Some(e) = done[f] {
            return e;
        }
        let mut e = fragments[f];
        spread_into(&mut e, Some(f), spreads, fragments, index, done);
        done[f] = Some(e);
        e
    }
    let mut total = Extent {
        fields: operation_fields,
        depth: 0,
        nodes: 0,
    };
    spread_into(&mut total, None, spreads, fragments, &index, &mut done);
    total
}

/// Whether the spreads between fragments form a cycle.
fn cyclic(names: &[&[u8]], spreads: &[Spread<'_>]) -> bool {
    let edges: Vec<(usize, usize)> = spreads
        .iter()
        .filter_map(|s| Some((s.from?, names.iter().position(|n| *n == s.to)?)))
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
    fn secret_fields_selected() {
        assert!(of("{ users { data { id attributes { username resetPasswordToken } } } }").secret);
        assert!(of("{ user(id: 1) { password_hash } }").secret);
        assert!(!of("{ changePassword(password: \"x\") { ok } }").secret);
        assert!(!of("{ me { passwordUpdatedAt } }").secret);
        assert!(of("{ users { results { sessionToken } } }").secret);
        let login = "mutation { logIn(input: {username: \"a\", password: \"b\"}) { viewer { sessionToken } } }";
        assert!(!of(login).secret);
        assert!(SECRET_FIELDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn negative_page_sizes_ask_for_everything() {
        // Alone, a client fetching all rows; under another list, past the limit.
        assert_eq!(
            of("{ users(pagination: {limit: -1}) { data { id } } }").excess(),
            None
        );
        let nested = "{ users(pagination: {limit: -1}) { posts(limit: -1) { id } } }";
        assert_eq!(of(nested).excess(), Some("list sizes"));
        assert_eq!(
            of("{ adjust(sku: \"a\", count: -1) { id } }").excess(),
            None
        );
    }

    #[test]
    fn fields_selected_again_and_again() {
        let repeated = |n: usize, sep: &str| {
            let fields = vec!["__typename"; n].join(sep);
            of(&format!("query {{ me {{ id {fields} }} }}")).repeated
        };
        assert_eq!(repeated(300, " "), 300);
        assert_eq!(repeated(30, " id "), 30);
        assert_eq!(of("{ me { id name } }").repeated, 1);
        // Aliased, each is an answer of its own (counted as aliases).
        let aliased: String = (0..30).map(|i| format!("a{i}: __typename ")).collect();
        assert_eq!(of(&format!("{{ me {{ {aliased} }} }}")).repeated, 1);
        assert_eq!(
            of(&format!("{{ me {{ {} }} }}", vec!["id"; 30].join(" "))).excess(),
            Some("repeated field")
        );
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
        assert!(of("\u{FEFF}query\u{FEFF}{\u{FEFF}__schema{types{name}}}").introspection);
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
        let alternating = format!("{{{}x{}}}", "a{b{".repeat(n / 2), "}".repeat(n));
        assert_eq!(of(&alternating).depth, n + 1);
        let aliases: String = (0..20)
            .map(|i| format!("a{i}: verify(code: \"{i}\") {{ ok }} "))
            .collect();
        assert_eq!(
            of(&format!("mutation {{ {aliases}}}")).excess(),
            Some("aliases")
        );
        let logins: String = (0..8)
            .map(|i| format!("a{i}: login(user: \"admin\", password: \"p{i}\") {{ token }} "))
            .collect();
        assert_eq!(
            of(&format!("mutation {{ {logins}}}")).excess(),
            Some("repeated mutation")
        );
        // A few of one mutation, or many in a query, are a client's.
        let bulk: String = (0..8)
            .map(|i| format!("m{i}: markRead(id: {i}) {{ ok }} "))
            .collect();
        assert_eq!(of(&format!("mutation {{ {bulk}}}")).excess(), None);
        // An alias that looks like a log-in is taken back at its `:`; a stray `:` is none.
        assert_eq!(
            of("mutation { login1: verify(code: 1) { ok } }").excess(),
            None
        );
        assert_eq!(of("mutation { a @a: @a: }"), of("mutation { a @a: @a: }"));
        let reads: String = (0..8)
            .map(|i| format!("p{i}: product(id: {i}) {{ name }} "))
            .collect();
        assert_eq!(of(&format!("query {{ {reads}}}")).excess(), None);
        let circular = "{ users { posts { author { posts { author { posts { author { posts { id } } } } } } } } }";
        assert_eq!(of(circular).excess(), Some("circular selection"));
        let friends = format!(
            "{{ player(id: 1) {{ {}id{} }} }}",
            "friends { ".repeat(8),
            " }".repeat(8)
        );
        assert_eq!(of(&friends).excess(), Some("circular selection"));
        for fine in [
            "{ comment { replies { replies { replies { replies { replies { id } } } } } } }",
            "{ repo { issues { edges { node { comments { edges { node { replies { edges { node { id } } } } } } } } } } }",
            "{ user { friends { user { name } } } }",
            "{ node { __typename ... on Post { comments { __typename ... on Comment { author { __typename ... on User { posts { __typename ... on Post { id } } } } } } } } }",
        ] {
            assert_eq!(of(fine).excess(), None, "{fine}");
        }
        let directives = "@include(if: true)".repeat(60);
        assert_eq!(
            of(&format!("{{ shows {directives} }}")).excess(),
            Some("directives")
        );

        let cycle = "query { person(id: 1) { ...A } }\nfragment A on Person { parents { ...B } }\nfragment B on Person { children { ...A } }";
        assert_eq!(of(cycle).excess(), Some("fragment cycle"));
        let fine = "fragment P on Product { id ...Q } fragment Q on Product { name } query { a: product(sku: \"x\") { ...P ... on Product { price } } }";
        assert_eq!(of(fine).excess(), None);
        // Fields counted with fragments spread out: `a:` is an alias, `on Product` a type.
        assert_eq!(of(fine).expanded, 4);
        assert_eq!(of(fine).depth, 2);
    }

    #[test]
    fn fragments_count_where_they_are_spread() {
        // Aliased log-ins inside an inline fragment on the mutation type are root fields.
        let logins: String = (0..8)
            .map(|i| format!("a{i}: login(user: \"admin\", password: \"p{i}\") {{ token }} "))
            .collect();
        assert_eq!(
            of(&format!("mutation {{ ... on Mutation {{ {logins}}} }}")).excess(),
            Some("repeated mutation")
        );
        // Nesting and list sizes split across named fragments add up where they are spread.
        let half = |tail: &str| format!("{}{tail}{}", "a { ".repeat(7), " }".repeat(7));
        let deep = format!(
            "query {{ {} }} fragment F on A {{ {} }}",
            half("...F"),
            half("id")
        );
        assert_eq!(of(&deep).depth, 15);
        assert_eq!(of(&deep).excess(), Some("depth"));
        let lists =
            "{ a(first: 1000) { ...F } } fragment F on A { b(first: 1000) { c(first: 2) { id } } }";
        assert_eq!(of(lists).excess(), Some("list sizes"));
        // An input object's `}` does not make the result's set a root one.
        let login = of(
            "mutation{login(input:{email:\"a\",password:\"b\"}){accessToken refreshToken idToken}}",
        );
        assert_eq!(login.credential_mutations, 1);
        // Inline fragments nest no data: a Relay query with one on every level stays in.
        let level =
            |inner: &str| format!("edges {{ node {{ __typename ... on Item {{ {inner} }} }} }}");
        let relay = format!(
            "{{ viewer {{ ...A }} }} fragment A on User {{ {} }}",
            level(&level(&level("id")))
        );
        assert_eq!(of(&relay).excess(), None);
        // But a parser's nesting is bounded whatever the sets are.
        let nested = format!("{{ a {}{}}}", "... on A { ".repeat(60), "} ".repeat(60));
        assert_eq!(of(&nested).excess(), Some("depth"));
        // The same fragment spread in many places is spread out once.
        let fine =
            "{ a { ...U } b { c { ...U } } } fragment U on User { id friends(first: 10) { name } }";
        assert_eq!(of(fine).depth, 4);
        assert_eq!(of(fine).nodes, 10);
        assert_eq!(of(fine).excess(), None);
    }

    #[test]
    fn finds_fragments_that_double_and_lists_inside_lists() {
        let mut doubling = String::from("query { ...F20 } fragment F0 on Query { __typename }");
        for i in 1..=20 {
            doubling.push_str(&format!(
                " fragment F{i} on Query {{ ...F{p} ...F{p} }}",
                p = i - 1
            ));
        }
        let s = of(&doubling);
        assert_eq!(s.expanded, 1 << 20);
        assert_eq!(s.excess(), Some("fragment expansion"));
        // Reused fragments that stay small.
        let reused =
            "query { a { ...U } b { ...U } c { ...U } } fragment U on User { id name email }";
        assert_eq!(of(reused).expanded, 12);
        assert_eq!(of(reused).excess(), None);

        let lists = "{ sellers(first: 100000) { edges { node { orders(first: 100000) { edges { node { id } } } } } } }";
        let s = of(lists);
        assert_eq!(s.nodes, 10_000_000_000);
        assert_eq!(s.excess(), Some("list sizes"));
        // Pages of 100 three deep reach the cap and no further; a page size given by a
        // variable or to a sibling does not multiply.
        for doc in [
            "{ repos(first: 100) { nodes { issues(last: 100) { nodes { comments(first: 100) { nodes { body } } } } } } }",
            "query Q($n: Int) { a(first: $n) { b(first: $n) { c(first: 1000) { id } } } }",
            "{ a(limit: 5000) { id } b(limit: 5000) { id } c(limit: 5000) { id } }",
            "{ a(id: 100000) { b(first: 50) { id } } }",
            "{ a(first: 10) @include(if: true) { id } }",
        ] {
            assert_eq!(of(doc).excess(), None, "{doc}");
        }
        assert_eq!(
            of("{ a(first: 1000) { b(first: 1000) { c(first: 2) { id } } } }").excess(),
            Some("list sizes")
        );
        // A directive between a field's arguments and its set is no field of its own.
        assert_eq!(
            of("{ a(first: 1000) @skip(if: false) { b(first: 1000) @include(if: true) { c(first: 2) { id } } } }")
                .excess(),
            Some("list sizes")
        );
        // Past the fragments followed, the document is past the limits.
        let many: String = (0..=MAX_FRAGMENTS)
            .map(|i| format!(" fragment F{i} on Q {{ id }}"))
            .collect();
        assert_eq!(
            of(&format!("{{ ...F0 }}{many}")).excess(),
            Some("fragments")
        );
    }
}
