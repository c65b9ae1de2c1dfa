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

/// The value of a query parameter from the request's decoded query pairs; `None` when absent.
pub(super) fn query(
    name: &str,
    kind: &Kind,
    style: Style,
    explode: bool,
    pairs: &[(String, String)],
) -> Result<Option<Value>, &'static str> {
    fn named<'p>(pairs: &'p [(String, String)], n: &'p str) -> impl Iterator<Item = &'p str> {
        pairs
            .iter()
            .filter(move |(k, _)| k == n)
            .map(|(_, v)| v.as_str())
    }
    match (kind, style, explode) {
        (Kind::Object(props), Style::DeepObject, _) => {
            // `name[prop]=value`.
            let mut out = Map::new();
            for (k, v) in pairs {
                let Some(prop) = k
                    .strip_prefix(name)
                    .and_then(|r| r.strip_prefix('['))
                    .and_then(|r| r.strip_suffix(']'))
                else {
                    continue;
                };
                if out.contains_key(prop) {
                    return Err(REPEATED);
                }
                out.insert(prop.to_owned(), scalar(property(props, prop), v)?);
            }
            Ok((!out.is_empty()).then_some(Value::Object(out)))
        }
        (Kind::Object(props), Style::Form, true) => {
            // Each property is a parameter of its own: `role=admin&name=Alex`.
            let mut out = Map::new();
            for (prop, k) in props {
                let mut vals = named(pairs, prop);
                if let Some(v) = vals.next() {
                    if vals.next().is_some() {
                        return Err(REPEATED);
                    }
                    out.insert(prop.clone(), scalar(k, v)?);
                }
            }
            Ok((!out.is_empty()).then_some(Value::Object(out)))
        }
        (Kind::Array(item), Style::Form, true) => {
            // Repeated: `id=3&id=4`; each occurrence is one item.
            let items = named(pairs, name)
                .map(|v| scalar(item, v))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((!items.is_empty()).then_some(Value::Array(items)))
        }
        _ => {
            let mut vals = named(pairs, name);
            let Some(text) = vals.next() else {
                return Ok(None);
            };
            if vals.next().is_some() {
                return Err(REPEATED);
            }
            let sep = match style {
                Style::SpaceDelimited => ' ',
                Style::PipeDelimited => '|',
                _ => ',',
            };
            delimited(kind, text, sep, false, |s| s.to_owned()).map(Some)
        }
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
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    match style {
        Style::Label => {
            // `.5`, `.3,4,5` or `.3.4.5`, `.role,admin` or `.role=admin.name=Alex`.
            let rest = raw.strip_prefix('.').ok_or(STYLE)?;
            let sep = if explode { '.' } else { ',' };
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
                    delimited(kind, v, ',', false, decode)
                }
            }
        }
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
        form_urlencoded::parse(q.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
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
            query("id", kind, style, explode, &pairs(text))
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
            p(&obj(), Style::Simple, true, "role=a%2Cb,age=7"),
            Ok(json!({"role": "a,b", "age": 7}))
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
