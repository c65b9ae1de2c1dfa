//! Response checking (`openapi.responses`): an upstream's answer held against what its
//! operation's `responses` describe. The status must be described (exactly, by its class such
//! as `2XX`, or by `default`); each described header must be there when it is required and
//! match its schema; a body must be of a listed media type, and a JSON one must match that
//! type's schema. Only what is needed is read: the body only when a JSON schema applies, and
//! then at most the route's inspection cap.

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use http_body::Body as _;
use serde_json::Value;

use super::{Ctx, Param, header_objects, header_value, media_entry, param_violations, resolve};
use crate::body::{Body, BoxError, Prefix};

/// An operation's `responses`, compiled on a route that checks responses.
pub(super) struct Responses {
    /// Exact codes first, then classes (`2XX`), then `default`: the order they are looked up.
    entries: Vec<(Key, Described)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Code(u16),
    /// The first digit of a class such as `4XX`.
    Class(u16),
    Default,
}

impl Key {
    fn parse(s: &str) -> Option<Self> {
        if s == "default" {
            return Some(Self::Default);
        }
        let b = s.as_bytes();
        if b.len() != 3 || !(b'1'..=b'5').contains(&b[0]) {
            return None;
        }
        if b[1..].eq_ignore_ascii_case(b"XX") {
            return Some(Self::Class(u16::from(b[0] - b'0')));
        }
        s.parse().ok().map(Self::Code)
    }

    fn covers(self, status: u16) -> bool {
        match self {
            Self::Code(c) => c == status,
            Self::Class(c) => status / 100 == c,
            Self::Default => true,
        }
    }
}

/// One described response.
struct Described {
    headers: Vec<Param>,
    /// (type, subtype) with `*` wildcards, and the schema of a JSON type; empty when the
    /// response describes no content (its body is then not checked).
    media: Vec<(String, String, Option<jsonschema::Validator>)>,
}

/// Compiles an operation's `responses` map.
pub(super) fn compile(cx: &Ctx<'_>, v: &Value) -> Result<Responses, String> {
    let map = resolve(cx.doc, v)?
        .as_object()
        .ok_or("`responses` must be a map")?;
    let mut entries = Vec::new();
    for (code, r) in map {
        if code.starts_with("x-") {
            continue;
        }
        let key = Key::parse(code).ok_or_else(|| {
            format!("{code:?} is not a status code, a class such as 2XX, or default")
        })?;
        let r = resolve(cx.doc, r).map_err(|e| format!("{code}: {e}"))?;
        let headers = header_objects(cx, r).map_err(|e| format!("{code}.headers: {e}"))?;
        let mut media = Vec::new();
        for (mt, m) in r
            .get("content")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let (t, s) = super::super::content::parse_media_type(mt)
                .ok_or_else(|| format!("{code}.content: {mt:?} is not a media type"))?;
            let schema = match m.get("schema") {
                Some(sc) if super::json_schema_applies(&t, &s, resolve(cx.doc, sc)?) => Some(
                    super::validator_for(cx, resolve(cx.doc, sc)?, super::Direction::Response)
                        .map_err(|e| format!("{code}.content.{mt}: {e}"))?,
                ),
                _ => None,
            };
            media.push((t, s, schema));
        }
        entries.push((key, Described { headers, media }));
    }
    entries.sort_by_key(|(k, _)| match k {
        Key::Code(_) => 0,
        Key::Class(_) => 1,
        Key::Default => 2,
    });
    Ok(Responses { entries })
}

/// What checking a response found.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It matches the description.
    Valid,
    /// It does not: each a pointer (`status`, `header/x-rate`, `body/items/0/id`) and the
    /// keyword it broke, never a value.
    Invalid(Vec<(String, String)>),
    /// Not checked, for this reason: the operation describes no responses (`undescribed`), the
    /// answer is interim or `304 Not Modified` (`interim`, `not_modified`: their status need
    /// not be described), the body is compressed (`encoded`) or longer than the cap
    /// (`too_large`).
    Unchecked(&'static str),
}

impl Responses {
    /// Whether any described answer has a JSON schema (the only reason to read a body).
    pub(super) fn reads_bodies(&self) -> bool {
        self.entries
            .iter()
            .any(|(_, d)| d.media.iter().any(|m| m.2.is_some()))
    }

    /// Checks `resp` to a request with `method`, reading the body (at most `cap` bytes) only
    /// when a JSON schema applies to it. The response comes back with its body whole, whatever
    /// was read of it; `Err` when the upstream's body failed while it was read.
    pub(super) async fn check(
        &self,
        method: &Method,
        resp: Response<Body>,
        cap: usize,
    ) -> Result<(Response<Body>, Verdict), BoxError> {
        let status = resp.status();
        if status.is_informational() {
            return Ok((resp, Verdict::Unchecked("interim")));
        }
        if status == StatusCode::NOT_MODIFIED {
            return Ok((resp, Verdict::Unchecked("not_modified")));
        }
        let Some((_, d)) = self.entries.iter().find(|(k, _)| k.covers(status.as_u16())) else {
            if self.entries.is_empty() {
                return Ok((resp, Verdict::Unchecked("undescribed")));
            }
            let errors = vec![("status".to_owned(), "undescribed".to_owned())];
            return Ok((resp, Verdict::Invalid(errors)));
        };
        let mut errors = Vec::new();
        for h in &d.headers {
            let values = resp.headers().get_all(h.name.as_str());
            let value = header_value(h, values.iter().map(|v| v.to_str().ok()));
            param_violations(h, &format!("header/{}", h.name), value, &mut errors);
        }
        // What was found; `unread` when the body could not be checked.
        let verdict = |errors: Vec<(String, String)>, unread: Option<&'static str>| match (
            errors.is_empty(),
            unread,
        ) {
            (true, Some(why)) => Verdict::Unchecked(why),
            (true, None) => Verdict::Valid,
            (false, _) => Verdict::Invalid(errors),
        };
        let done = |resp, errors| Ok((resp, verdict(errors, None)));
        let bodiless = *method == Method::HEAD || status == StatusCode::NO_CONTENT;
        if bodiless || d.media.is_empty() {
            return done(resp, errors);
        }
        let empty = resp.body().is_end_stream() || resp.body().size_hint().exact() == Some(0);
        let (t, s) = super::super::content::media_type(resp.headers()).unwrap_or_default();
        let schema = match media_entry(&d.media, &t, &s) {
            None if empty => return done(resp, errors),
            None => {
                errors.push(("body".to_owned(), "contentType".to_owned()));
                return done(resp, errors);
            }
            Some((_, _, Some(v))) if super::super::content::is_json_type(&t, &s) => v,
            // Described, with no schema, or under a wildcard that covers this non-JSON type.
            Some(_) => return done(resp, errors),
        };
        let encoded = resp
            .headers()
            .get(http::header::CONTENT_ENCODING)
            .is_some_and(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"));
        let unread = if encoded {
            Some("encoded")
        } else if resp.body().size_hint().lower() > cap as u64 {
            // Its `Content-Length` is over the cap already.
            Some("too_large")
        } else {
            None
        };
        if unread.is_some() {
            return Ok((resp, verdict(errors, unread)));
        }
        let (parts, body) = resp.into_parts();
        let bytes: Bytes = match crate::body::read_prefix(body, cap).await {
            Ok(Prefix::Complete(b)) => b,
            Ok(Prefix::Partial(head, rest)) => {
                let resp = Response::from_parts(parts, crate::body::prefixed(head, rest));
                return Ok((resp, verdict(errors, Some("too_large"))));
            }
            Err((e, _)) => return Err(e),
        };
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(value) => {
                for (pointer, keyword) in super::super::schema::violations(schema, &value) {
                    errors.push((format!("body{pointer}"), keyword));
                }
            }
            // An empty body is not a JSON document either.
            Err(_) => errors.push(("body".to_owned(), "json".to_owned())),
        }
        done(
            Response::from_parts(parts, crate::body::full(bytes)),
            errors,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_keys_parse_and_cover() {
        assert_eq!(Key::parse("200"), Some(Key::Code(200)));
        assert_eq!(Key::parse("4XX"), Some(Key::Class(4)));
        assert_eq!(Key::parse("4xx"), Some(Key::Class(4)));
        assert_eq!(Key::parse("default"), Some(Key::Default));
        for bad in ["600", "20", "2X0", "ok", "099"] {
            assert_eq!(Key::parse(bad), None, "{bad}");
        }
        assert!(Key::Class(4).covers(404) && !Key::Class(4).covers(500));
        assert!(Key::Code(201).covers(201) && !Key::Code(201).covers(200));
    }
}
