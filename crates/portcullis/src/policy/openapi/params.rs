//! Parameter serialisation: how the text of a path, query, header or cookie parameter becomes
//! the JSON value its schema is checked against, by the parameter's `style` and `explode`
//! (OpenAPI 3.1, "Style Values" and "Style Examples").
//!
//! | place | styles | default |
//! |---|---|---|
//! | path | `simple`, `label`, `matrix` | `simple` |
//! | query | `form`, `spaceDelimited`, `pipeDelimited`, `deepObject` | `form` |
//! | header | `simple` | `simple` |
//! | cookie | `form` | `form` |
//!
//! `explode` defaults to true for `form` and false otherwise. Whatever a style cannot carry
//! unambiguously is refused rather than guessed: a scalar or non-exploded parameter given
//! twice, a `label` value without its `.`, a `matrix` value without `;name=`, an object whose
//! names and values do not pair up.

use serde_json::{Map, Value};

use super::{Kind, Place};

/// A parameter's `style`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Style {
    Form,
    SpaceDelimited,
    PipeDelimited,
    DeepObject,
    Simple,
    Label,
    Matrix,
}

impl Style {
    /// The style and explode of a parameter in `place` from its `style` and `explode` fields.
    pub(super) fn of(
        place: Place,
        style: Option<&str>,
        explode: Option<bool>,
    ) -> Result<(Self, bool), String> {
        let s = match style {
            None => match place {
                Place::Path | Place::Header => Self::Simple,
                Place::Query | Place::Cookie => Self::Form,
            },
            Some(name) => {
                let s = match name {
                    "form" => Self::Form,
                    "spaceDelimited" => Self::SpaceDelimited,
                    "pipeDelimited" => Self::PipeDelimited,
                    "deepObject" => Self::DeepObject,
                    "simple" => Self::Simple,
                    "label" => Self::Label,
                    "matrix" => Self::Matrix,
                    _ => return Err(format!("unknown style {name:?}")),
                };
                let fits = match s {
                    Self::Form => matches!(place, Place::Query | Place::Cookie),
                    Self::SpaceDelimited | Self::PipeDelimited | Self::DeepObject => {
                        place == Place::Query
                    }
                    Self::Simple => matches!(place, Place::Path | Place::Header),
                    Self::Label | Self::Matrix => place == Place::Path,
                };
                if !fits {
                    return Err(format!(
                        "style {name:?} does not apply to a {} parameter",
                        place.as_str()
                    ));
                }
                s
            }
        };
        Ok((s, explode.unwrap_or(s == Self::Form)))
    }
}

/// Why a parameter's text could not be read (the keyword listed in the answer).
pub(super) const REPEATED: &str = "repeated";
pub(super) const STYLE: &str = "style";

/// Most bracketed names after a `deepObject` parameter's name (`filter[a][b]` has two): the
/// depth Express's qs parser reads before it keeps the rest of a name as one key.
const MAX_DEPTH: usize = 5;

/// A query string's (or form body's) pairs as `application/x-www-form-urlencoded` splits them:
/// each name decoded, each value still as sent, so a style splits it on the delimiters that
/// were sent before decoding the pieces.
pub(super) fn raw_pairs(q: &[u8]) -> Vec<(String, String)> {
    split_pairs(q).map(|(k, v)| owned_pair(k, v)).collect()
}

/// [`raw_pairs`] in the same pass as a check that every name and value is UTF-8 once
/// percent-decoded: `None` when one is not (a parser would put U+FFFD in its place).
pub(super) fn utf8_pairs(q: &[u8]) -> Option<Vec<(String, String)>> {
    let utf8 = |piece: &[u8]| {
        percent_encoding::percent_decode(piece)
            .decode_utf8()
            .is_ok()
    };
    split_pairs(q)
        .map(|(k, v)| (utf8(k) && utf8(v)).then(|| owned_pair(k, v)))
        .collect()
}

/// The non-empty `&`-separated pairs of `q`, each split at its first `=`.
fn split_pairs(q: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    q.split(|&b| b == b'&').filter(|p| !p.is_empty()).map(|p| {
        match p.iter().position(|&b| b == b'=') {
            Some(i) => (&p[..i], &p[i + 1..]),
            None => (p, &[][..]),
        }
    })
}

/// A pair of [`raw_pairs`]: the name decoded, the value as sent.
fn owned_pair(k: &[u8], v: &[u8]) -> (String, String) {
    (
        decode(&String::from_utf8_lossy(k), false),
        String::from_utf8_lossy(v).into_owned(),
    )
}

/// A query or form value as sent, decoded: percent-escapes, and `+` as a space unless the
/// parameter has `allowReserved`, whose reserved characters (`+` among them) pass unencoded and
/// stand for themselves (`at=2026-12-06T10:00:00+01:00`).
pub(super) fn decode(raw: &str, allow_reserved: bool) -> String {
    let spaced;
    let text = if !allow_reserved && raw.contains('+') {
        spaced = raw.replace('+', " ");
        spaced.as_str()
    } else {
        raw
    };
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// The value of a query parameter from the request's query pairs ([`raw_pairs`]); `None` when
/// absent. `declared` are the names of the operation's query parameters (or the form's
/// properties), which are never read as a bracketed form of another one.
pub(super) fn query(
    name: &str,
    kind: &Kind,
    style: Style,
    explode: bool,
    allow_reserved: bool,
    pairs: &[(String, String)],
    declared: &[&str],
) -> Result<Option<Value>, &'static str> {
    let named = |n: &str| -> Vec<String> {
        pairs
            .iter()
            .filter(|(k, _)| k == n)
            .map(|(_, v)| decode(v, allow_reserved))
            .collect()
    };
    // A bracketed name (`id[]=x`, `id[k]=x`) for a parameter that is not a `deepObject`: PHP,
    // Rails and Express read it as that parameter, as an array or an object.
    let bracketed = |n: &str| {
        pairs.iter().any(|(k, _)| {
            k.strip_prefix(n).is_some_and(|r| r.starts_with('[')) && !declared.contains(&k.as_str())
        })
    };
    if php_alias(name, pairs, declared) {
        return Err(STYLE);
    }
    match (kind, style, explode) {
        (Kind::Object(_), Style::DeepObject, _) => {
            // `name[prop]=value`, nested as deep as the schema goes: `name[a][b]=value`, an
            // array property repeated (`name[tags]=a&name[tags]=b`) or with `[]` or counted
            // indices (`name[tags][0]=a`), an array of objects by index (`name[items][0][id]=7`).
            let mut out = Value::Object(Map::new());
            let mut any = false;
            for (k, v) in pairs {
                let Some(rest) = k.strip_prefix(name) else {
                    continue;
                };
                // The bare name would replace the whole object in PHP and Rails.
                if rest.is_empty() {
                    return Err(STYLE);
                }
                if !rest.starts_with('[') {
                    continue;
                }
                let path = brackets(rest).ok_or(STYLE)?;
                deep_put(&mut out, kind, &path, &decode(v, allow_reserved))?;
                any = true;
            }
            Ok(any.then_some(out))
        }
        (Kind::Object(props), Style::Form, true) => {
            // Each property is a parameter of its own: `role=admin&name=Alex`.
            let mut out = Map::new();
            for (prop, k) in props {
                if bracketed(prop) || php_alias(prop, pairs, declared) {
                    return Err(STYLE);
                }
                match named(prop).as_slice() {
                    [] => {}
                    [v] => {
                        out.insert(prop.clone(), scalar(k, v)?);
                    }
                    _ => return Err(REPEATED),
                }
            }
            Ok((!out.is_empty()).then_some(Value::Object(out)))
        }
        _ if bracketed(name) => Err(STYLE),
        (Kind::Array(item), Style::Form, true) => {
            // Repeated: `id=3&id=4`; each occurrence is one item.
            let items = named(name)
                .iter()
                .map(|v| scalar(item, v))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((!items.is_empty()).then_some(Value::Array(items)))
        }
        _ => {
            let mut vals = pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
            let Some(raw) = vals.next() else {
                return Ok(None);
            };
            if vals.next().is_some() {
                return Err(REPEATED);
            }
            match style {
                // Split where commas were sent, then decode each piece. An encoded comma is
                // refused in an array or object: OpenAPI makes it part of an item, but servers
                // that decode before they split (Spring) read it as a separator.
                Style::Form => {
                    if encoded_comma(kind, raw) {
                        return Err(STYLE);
                    }
                    delimited(kind, raw, ',', false, |s| decode(s, allow_reserved)).map(Some)
                }
                // The delimiter is itself encoded (`%20`, `%7C`), so the text is decoded first.
                _ => {
                    let sep = if style == Style::SpaceDelimited {
                        ' '
                    } else {
                        '|'
                    };
                    let text = decode(raw, allow_reserved);
                    delimited(kind, &text, sep, false, |s| s.to_owned()).map(Some)
                }
            }
        }
    }
}

/// The name PHP gives a query or form field `k`, when it is not `k` itself: leading spaces
/// dropped, then in the part before its first bracket pair a `.` or a space becomes `_`, and
/// so does a `[` that is never closed (the rest is then kept as it is). Every name of a query
/// meets this check for every parameter, so a name PHP keeps (`filter[role]`) is answered
/// without a copy.
pub(super) fn php_name(k: &str) -> Option<String> {
    let trimmed = k.trim_start_matches(' ');
    let head_end = trimmed.find('[').unwrap_or(trimmed.len());
    let unclosed = trimmed[head_end..].starts_with('[') && !trimmed[head_end..].contains(']');
    if trimmed.len() == k.len() && !trimmed[..head_end].contains([' ', '.']) && !unclosed {
        return None;
    }
    let k = trimmed;
    let mut out = String::with_capacity(k.len());
    for (i, c) in k.char_indices() {
        match c {
            ' ' | '.' => out.push('_'),
            '[' if k[i..].contains(']') => {
                out.push_str(&k[i..]);
                break;
            }
            '[' => {
                out.push('_');
                out.push_str(&k[i + 1..]);
                break;
            }
            c => out.push(c),
        }
    }
    Some(out)
}

/// Whether a field that is not `name` (nor another declared name) becomes `name`, or one of its
/// bracketed fields, once PHP has renamed it (`user.id=x` is `user_id` to a PHP backend).
fn php_alias(name: &str, pairs: &[(String, String)], declared: &[&str]) -> bool {
    pairs.iter().any(|(k, _)| {
        k != name
            && !declared.contains(&k.as_str())
            && php_name(k).is_some_and(|m| {
                m == name || m.strip_prefix(name).is_some_and(|r| r.starts_with('['))
            })
    })
}

/// Whether an array or object read from comma-separated `raw` holds an encoded comma
/// (`%2C`): OpenAPI makes it part of an item, but servers that decode before they split
/// (Spring) read it as a separator, so such a value is refused rather than read one way.
fn encoded_comma(kind: &Kind, raw: &str) -> bool {
    matches!(kind, Kind::Array(_) | Kind::Object(_))
        && raw
            .as_bytes()
            .windows(3)
            .any(|w| w.eq_ignore_ascii_case(b"%2c"))
}

/// Highest array index read: qs (Express) reads a larger one as an object key.
const MAX_INDEX: usize = 20;

/// A bracketed name that is an array index as qs and PHP read one: digits without a leading
/// zero (`0`, `12`; not `01`, `+1`), at most [`MAX_INDEX`].
fn index(seg: &str) -> Option<usize> {
    let b = seg.as_bytes();
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) || (b.len() > 1 && b[0] == b'0') {
        return None;
    }
    seg.parse().ok().filter(|&i| i <= MAX_INDEX)
}

/// The bracketed names of a `deepObject` field after the parameter's name: `[a][]` is `a` and
/// the empty name. `None` when the brackets do not pair up, or go deeper than [`MAX_DEPTH`].
fn brackets(mut rest: &str) -> Option<Vec<&str>> {
    let mut out = Vec::new();
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let end = inner.find(']')?;
        let seg = &inner[..end];
        if seg.contains('[') || out.len() == MAX_DEPTH {
            return None;
        }
        out.push(seg);
        rest = &inner[end + 1..];
    }
    Some(out)
}

/// Puts `text` into `slot` (an object or array built from a `deepObject` field) at `path`,
/// typed by `kind`. A name the schema does not describe holds a string, or an object (an array
/// when the next name is empty or a number) when more names follow it. Refused: a scalar given
/// twice, a value where the schema wants an object, indices that do not count up from 0.
fn deep_put(slot: &mut Value, kind: &Kind, path: &[&str], text: &str) -> Result<(), &'static str> {
    let Some((seg, rest)) = path.split_first() else {
        return Err(STYLE);
    };
    let container = |k: &Kind, next: &str| match k {
        Kind::Object(_) => Value::Object(Map::new()),
        Kind::Array(_) => Value::Array(Vec::new()),
        _ if next.is_empty() || index(next).is_some() => Value::Array(Vec::new()),
        _ => Value::Object(Map::new()),
    };
    match slot {
        Value::Object(map) => {
            let declared = match kind {
                Kind::Object(props) => props.iter().find(|(n, _)| n == seg).map(|(_, k)| k),
                _ => None,
            };
            // `[]` or an index where an object is wanted: qs and PHP read an array there.
            if declared.is_none() && (seg.is_empty() || seg.bytes().all(|b| b.is_ascii_digit())) {
                return Err(STYLE);
            }
            let child = declared.unwrap_or(&Kind::String);
            match (rest.first(), child) {
                (None, Kind::Array(item)) => {
                    match map.entry(*seg).or_insert_with(|| Value::Array(Vec::new())) {
                        Value::Array(a) => a.push(scalar(item, text)?),
                        _ => return Err(REPEATED),
                    }
                    Ok(())
                }
                (None, _) => {
                    if map.contains_key(*seg) {
                        return Err(REPEATED);
                    }
                    map.insert((*seg).to_owned(), scalar(child, text)?);
                    Ok(())
                }
                (Some(next), _) => {
                    let inner = map.entry(*seg).or_insert_with(|| container(child, next));
                    deep_put(inner, child, rest, text)
                }
            }
        }
        Value::Array(items) => {
            let item = match kind {
                Kind::Array(item) => item,
                _ => &Kind::String,
            };
            let at = if seg.is_empty() {
                None
            } else {
                Some(index(seg).ok_or(STYLE)?)
            };
            match rest.first() {
                None => {
                    if at.is_some_and(|i| i != items.len()) {
                        return Err(STYLE);
                    }
                    items.push(scalar(item, text)?);
                    Ok(())
                }
                Some(next) => {
                    // An item with names of its own is picked by its index: the next one, or
                    // the one the previous field started.
                    let i = at.ok_or(STYLE)?;
                    if i == items.len() {
                        items.push(container(item, next));
                    } else if items.len().checked_sub(1) != Some(i) {
                        return Err(STYLE);
                    }
                    match items.last_mut() {
                        Some(inner) => deep_put(inner, item, rest, text),
                        None => Err(STYLE),
                    }
                }
            }
        }
        _ => Err(STYLE),
    }
}

/// The value of a path parameter from its raw (still percent-encoded) segment.
pub(super) fn path(
    name: &str,
    kind: &Kind,
    style: Style,
    explode: bool,
    raw: &str,
) -> Result<Value, &'static str> {
    // A `+` in a path is a plus sign.
    let decode = |s: &str| decode(s, true);
    match style {
        Style::Label => {
            // `.5`, `.3,4,5` or `.3.4.5`, `.role,admin` or `.role=admin.name=Alex`.
            let rest = raw.strip_prefix('.').ok_or(STYLE)?;
            let sep = if explode { '.' } else { ',' };
            if sep == ',' && encoded_comma(kind, rest) {
                return Err(STYLE);
            }
            delimited(kind, rest, sep, explode, decode)
        }
        Style::Matrix => {
            // `;id=5`, `;id=3,4,5` or `;id=3;id=4`, `;id=role,admin` or `;role=admin;name=Alex`.
            let rest = raw.strip_prefix(';').ok_or(STYLE)?;
            match kind {
                Kind::Array(item) if explode => rest
                    .split(';')
                    .map(|piece| {
                        let v = piece
                            .strip_prefix(name)
                            .and_then(|r| r.strip_prefix('='))
                            .ok_or(STYLE)?;
                        scalar(item, &decode(v))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Value::Array),
                Kind::Object(_) if explode => delimited(kind, rest, ';', true, decode),
                _ => {
                    let v = rest
                        .strip_prefix(name)
                        .and_then(|r| r.strip_prefix('='))
                        .ok_or(STYLE)?;
                    if encoded_comma(kind, v) {
                        return Err(STYLE);
                    }
                    delimited(kind, v, ',', false, decode)
                }
            }
        }
        _ if encoded_comma(kind, raw) => Err(STYLE),
        _ => delimited(kind, raw, ',', explode, decode),
    }
}

/// The value of a header (`simple`) or cookie (`form`) parameter from its text.
pub(super) fn text(kind: &Kind, explode: bool, text: &str) -> Result<Value, &'static str> {
    delimited(kind, text, ',', explode, |s| s.trim().to_owned())
}

/// One occurrence read by `sep`: an array's items; an object's `name,value` pairs, or its
/// `name=value` pieces when `explode`; a scalar as it is. `piece` decodes each piece.
fn delimited(
    kind: &Kind,
    text: &str,
    sep: char,
    explode: bool,
    piece: impl Fn(&str) -> String,
) -> Result<Value, &'static str> {
    match kind {
        Kind::Array(item) => {
            if text.is_empty() {
                return Ok(Value::Array(Vec::new()));
            }
            text.split(sep)
                .map(|s| scalar(item, &piece(s)))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        Kind::Object(props) => {
            let mut out = Map::new();
            let mut add = |k: String, v: String| {
                if out.contains_key(&k) {
                    return Err(REPEATED);
                }
                let v = scalar(property(props, &k), &v)?;
                out.insert(k, v);
                Ok(())
            };
            if text.is_empty() {
                return Ok(Value::Object(Map::new()));
            }
            if explode {
                for p in text.split(sep) {
                    let (k, v) = p.split_once('=').ok_or(STYLE)?;
                    add(piece(k), piece(v))?;
                }
            } else {
                let parts: Vec<&str> = text.split(sep).collect();
                if !parts.len().is_multiple_of(2) {
                    return Err(STYLE);
                }
                for kv in parts.chunks(2) {
                    add(piece(kv[0]), piece(kv[1]))?;
                }
            }
            Ok(Value::Object(out))
        }
        _ => scalar(kind, &piece(text)),
    }
}

/// The kind of an object's property (a string when the schema does not name it).
fn property<'k>(props: &'k [(String, Kind)], name: &str) -> &'k Kind {
    props
        .iter()
        .find(|(n, _)| n == name)
        .map_or(&Kind::String, |(_, k)| k)
}

/// A scalar's text as the JSON value its kind expects (left a string when it does not convert,
/// so the schema reports the type). A nested array or object cannot be told apart from its
/// container's separators: refused.
pub(super) fn scalar(kind: &Kind, text: &str) -> Result<Value, &'static str> {
    Ok(match kind {
        Kind::String => Value::String(text.to_owned()),
        Kind::Integer => text
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(text.to_owned())),
        Kind::Number => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(text.to_owned())),
        Kind::Boolean => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(text.to_owned()),
        },
        Kind::Json => serde_json::from_str(text).map_err(|_| "content")?,
        Kind::Array(_) | Kind::Object(_) => return Err(STYLE),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn arr() -> Kind {
        Kind::Array(Box::new(Kind::Integer))
    }

    fn obj() -> Kind {
        Kind::Object(vec![
            ("role".into(), Kind::String),
            ("age".into(), Kind::Integer),
        ])
    }

    fn pairs(q: &str) -> Vec<(String, String)> {
        raw_pairs(q.as_bytes())
    }

    #[test]
    fn styles_fit_their_places() {
        assert_eq!(Style::of(Place::Query, None, None), Ok((Style::Form, true)));
        assert_eq!(
            Style::of(Place::Path, None, None),
            Ok((Style::Simple, false))
        );
        assert_eq!(
            Style::of(Place::Path, Some("matrix"), Some(true)),
            Ok((Style::Matrix, true))
        );
        assert!(Style::of(Place::Header, Some("form"), None).is_err());
        assert!(Style::of(Place::Path, Some("deepObject"), None).is_err());
        assert!(Style::of(Place::Query, Some("tabDelimited"), None).is_err());
    }

    #[test]
    fn reads_query_styles() {
        let q = |kind: &Kind, style, explode, text: &str| {
            query(
                "id",
                kind,
                style,
                explode,
                false,
                &pairs(text),
                &["id", "id[k]"],
            )
        };
        assert_eq!(
            q(&arr(), Style::Form, true, "id=3&id=4"),
            Ok(Some(json!([3, 4])))
        );
        // Exploded: a comma is part of one item (which the integer schema then refuses).
        assert_eq!(
            q(&arr(), Style::Form, true, "id=3,4"),
            Ok(Some(json!(["3,4"])))
        );
        assert_eq!(
            q(&arr(), Style::Form, false, "id=3,4,5"),
            Ok(Some(json!([3, 4, 5])))
        );
        assert_eq!(q(&arr(), Style::Form, false, "id=3&id=4"), Err(REPEATED));
        assert_eq!(
            q(&arr(), Style::SpaceDelimited, false, "id=3%204+5"),
            Ok(Some(json!([3, 4, 5])))
        );
        assert_eq!(
            q(&arr(), Style::PipeDelimited, false, "id=3|4"),
            Ok(Some(json!([3, 4])))
        );
        assert_eq!(
            q(
                &obj(),
                Style::DeepObject,
                true,
                "id[role]=admin&id[age]=7&x=1"
            ),
            Ok(Some(json!({"role": "admin", "age": 7})))
        );
        assert_eq!(
            q(&obj(), Style::DeepObject, true, "id[role]=a&id[role]=b"),
            Err(REPEATED)
        );
        // Names the schema does not describe nest as objects of strings, or arrays when the
        // next name is empty or a number; the schema's `additionalProperties` decides.
        assert_eq!(
            q(
                &obj(),
                Style::DeepObject,
                true,
                "id[x][y]=1&id[z][]=2&id[z][]=3"
            ),
            Ok(Some(json!({"x": {"y": "1"}, "z": ["2", "3"]})))
        );
        // A described scalar given names of its own, and a scalar then an object at one name.
        assert_eq!(
            q(&obj(), Style::DeepObject, true, "id[age][n]=1"),
            Ok(Some(json!({"age": {"n": "1"}})))
        );
        assert_eq!(
            q(&obj(), Style::DeepObject, true, "id[x]=1&id[x][y]=2"),
            Err(STYLE)
        );
        let deep = format!("id{}=1", "[a]".repeat(MAX_DEPTH + 1));
        assert_eq!(q(&obj(), Style::DeepObject, true, &deep), Err(STYLE));
        let deepest = format!("id{}=1", "[a]".repeat(MAX_DEPTH));
        assert!(q(&obj(), Style::DeepObject, true, &deepest).is_ok());
        assert_eq!(q(&obj(), Style::DeepObject, true, "id[a]b=1"), Err(STYLE));
        let huge = format!("id[x][{}][y]=1", usize::MAX);
        assert_eq!(q(&obj(), Style::DeepObject, true, &huge), Err(STYLE));
        // The bare name beside a deepObject's fields; `[]` or an index where an object is
        // wanted; indices that qs, Rack and PHP do not all read as indices.
        for refused in [
            "id[role]=a&id=x",
            "id=x",
            "id[]=a",
            "id[0]=a",
            "id[z][01]=a",
            "id[z][0][01]=a",
        ] {
            assert_eq!(
                q(&obj(), Style::DeepObject, true, refused),
                Err(STYLE),
                "{refused}"
            );
        }
        assert_eq!(
            q(
                &obj(),
                Style::DeepObject,
                true,
                "id[z][0]=a&id[z][1]=b&id[z][10]=c"
            ),
            Err(STYLE),
            "indices count up from 0"
        );
        let many: String = (0..=MAX_INDEX + 1)
            .map(|i| format!("id[z][{i}]=v&"))
            .collect();
        assert_eq!(
            q(&obj(), Style::DeepObject, true, &many),
            Err(STYLE),
            "past qs's limit"
        );
        // A bracketed name for a parameter of another style, unless that name is declared too
        // (`page` beside `page[size]`); a longer name is another parameter.
        assert_eq!(
            q(&Kind::Integer, Style::Form, true, "id=3&id[k]=4"),
            Ok(Some(json!(3)))
        );
        assert_eq!(
            q(&Kind::Integer, Style::Form, true, "id=3&idx[0]=4"),
            Ok(Some(json!(3)))
        );
        for refused in ["id=3&id[]=4", "id[j]=4"] {
            assert_eq!(
                q(&arr(), Style::Form, true, refused),
                Err(STYLE),
                "{refused}"
            );
            assert_eq!(q(&Kind::Integer, Style::Form, true, refused), Err(STYLE));
        }
        assert_eq!(q(&obj(), Style::Form, true, "role=a&age[]=7"), Err(STYLE));
        // What PHP renames to a declared name: `.` and spaces, and an unclosed `[`.
        assert_eq!(php_name("user.id").as_deref(), Some("user_id"));
        assert_eq!(php_name(" a b[c]").as_deref(), Some("a_b[c]"));
        assert_eq!(php_name("a[b").as_deref(), Some("a_b"));
        assert_eq!(php_name("a.b[c.d]").as_deref(), Some("a_b[c.d]"));
        // Names PHP keeps as they are.
        for kept in ["user_id", "filter[role]", "a[b.c]", "a[b][c"] {
            assert_eq!(php_name(kept), None, "{kept}");
        }
        let user_id = |text: &str| {
            query(
                "user_id",
                &Kind::Integer,
                Style::Form,
                true,
                false,
                &pairs(text),
                &["user_id"],
            )
        };
        assert_eq!(user_id("user_id=1"), Ok(Some(json!(1))));
        for refused in [
            "user.id=x",
            "user id=x",
            "user[id=x",
            "user_id=1&user.id[]=x",
        ] {
            assert_eq!(user_id(refused), Err(STYLE), "{refused}");
        }
        assert_eq!(user_id("user_id=1&user.name=x"), Ok(Some(json!(1))));
        // Commas are split where they were sent; an encoded one in an array or an object is
        // refused (servers disagree on it). `+` is a space unless reserved characters are
        // allowed.
        let strings = Kind::Array(Box::new(Kind::String));
        assert_eq!(
            q(&strings, Style::Form, false, "id=a,c+d"),
            Ok(Some(json!(["a", "c d"])))
        );
        assert_eq!(q(&strings, Style::Form, false, "id=a%2Cb,c"), Err(STYLE));
        assert_eq!(q(&obj(), Style::Form, false, "id=role,a%2cb"), Err(STYLE));
        assert_eq!(
            q(&Kind::String, Style::Form, true, "id=a%2Cb"),
            Ok(Some(json!("a,b")))
        );
        assert_eq!(
            query(
                "id",
                &Kind::String,
                Style::Form,
                true,
                true,
                &pairs("id=1+2%2B3"),
                &[]
            ),
            Ok(Some(json!("1+2+3")))
        );
        assert_eq!(
            q(&obj(), Style::Form, true, "role=admin&age=7"),
            Ok(Some(json!({"role": "admin", "age": 7})))
        );
        assert_eq!(
            q(&obj(), Style::Form, false, "id=role,admin,age,7"),
            Ok(Some(json!({"role": "admin", "age": 7})))
        );
        assert_eq!(
            q(&obj(), Style::Form, false, "id=role,admin,age"),
            Err(STYLE)
        );
        assert_eq!(
            q(&Kind::Integer, Style::Form, true, "id=1&id=2"),
            Err(REPEATED)
        );
        assert_eq!(q(&Kind::Integer, Style::Form, true, "x=1"), Ok(None));
        assert_eq!(
            q(&Kind::Json, Style::Form, true, "id=%7B%22a%22%3A1%7D"),
            Ok(Some(json!({"a": 1})))
        );
        assert_eq!(q(&Kind::Json, Style::Form, true, "id=%7B"), Err("content"));
    }

    #[test]
    fn reads_path_styles() {
        let p = |kind: &Kind, style, explode, raw: &str| path("id", kind, style, explode, raw);
        assert_eq!(p(&arr(), Style::Simple, false, "3,4"), Ok(json!([3, 4])));
        assert_eq!(
            p(&obj(), Style::Simple, true, "role=a%20b,age=7"),
            Ok(json!({"role": "a b", "age": 7}))
        );
        // An encoded comma where commas separate: refused, as in the query.
        assert_eq!(
            p(&obj(), Style::Simple, true, "role=a%2Cb,age=7"),
            Err(STYLE)
        );
        assert_eq!(p(&arr(), Style::Label, false, ".3%2c4"), Err(STYLE));
        assert_eq!(p(&arr(), Style::Matrix, false, ";id=3%2C4"), Err(STYLE));
        assert_eq!(
            p(&Kind::String, Style::Simple, false, "a%2Cb"),
            Ok(json!("a,b"))
        );
        assert_eq!(p(&Kind::Integer, Style::Label, false, ".5"), Ok(json!(5)));
        assert_eq!(p(&Kind::Integer, Style::Label, false, "5"), Err(STYLE));
        assert_eq!(p(&arr(), Style::Label, true, ".3.4"), Ok(json!([3, 4])));
        assert_eq!(p(&arr(), Style::Label, false, ".3,4"), Ok(json!([3, 4])));
        assert_eq!(
            p(&Kind::Integer, Style::Matrix, false, ";id=5"),
            Ok(json!(5))
        );
        assert_eq!(p(&Kind::Integer, Style::Matrix, false, ";x=5"), Err(STYLE));
        assert_eq!(
            p(&arr(), Style::Matrix, true, ";id=3;id=4"),
            Ok(json!([3, 4]))
        );
        assert_eq!(
            p(&arr(), Style::Matrix, false, ";id=3,4"),
            Ok(json!([3, 4]))
        );
        assert_eq!(
            p(&obj(), Style::Matrix, true, ";role=admin;age=7"),
            Ok(json!({"role": "admin", "age": 7}))
        );
        assert_eq!(
            p(&obj(), Style::Matrix, false, ";id=role,admin"),
            Ok(json!({"role": "admin"}))
        );
    }

    #[test]
    fn reads_header_and_cookie_text() {
        assert_eq!(text(&arr(), false, "3, 4"), Ok(json!([3, 4])));
        assert_eq!(
            text(&obj(), true, "role=admin,age=7"),
            Ok(json!({"role": "admin", "age": 7}))
        );
        assert_eq!(text(&Kind::Boolean, false, "true"), Ok(json!(true)));
    }
}
