//! The `content` stage: media types, query parameter count, and the shape of JSON and
//! multipart bodies, per route.
//!
//! JSON limits are checked by one pass over the bytes that tracks strings and nesting (no value
//! tree is built, so a hostile document costs no more than its length); the schema stage
//! parses the body properly when a route has one.

use http::request::Parts;
use http::{HeaderMap, header};

use super::Deny;
use crate::config::error::Collector;
use crate::config::raw::ContentConfig;
use crate::reply::Problem;

/// A compiled `content` block.
#[derive(Debug)]
pub struct ContentRules {
    /// Accepted media types as (type, subtype), `*` for any; empty for any.
    types: Vec<(String, String)>,
    max_query_params: Option<usize>,
    json: Option<JsonLimits>,
    max_multipart_parts: Option<usize>,
}

/// Limits on a JSON document's shape.
#[derive(Debug, Clone, Copy)]
pub struct JsonLimits {
    /// Deepest nesting.
    pub max_depth: usize,
    /// Most object keys in the document.
    pub max_keys: usize,
    /// Longest string in bytes as sent.
    pub max_string: usize,
}

/// Compiles a route's `content` block.
pub fn compile(c: &ContentConfig, at: &str, errs: &mut Collector) -> ContentRules {
    let mut types = Vec::new();
    for (i, t) in c.content_types.iter().enumerate() {
        match parse_media_type(t) {
            Some((ty, sub)) if !(ty == "*" && sub != "*") => types.push((ty, sub)),
            _ => errs.push(
                format!("{at}.content_types[{i}]"),
                format!(
                    "{:?} is not a media type such as application/json or text/*",
                    t.as_str()
                ),
            ),
        }
    }
    let json = c.json.as_ref().map(|j| JsonLimits {
        max_depth: j.max_depth.unwrap_or(32),
        max_keys: j.max_keys.unwrap_or(1000),
        max_string: j
            .max_string_length
            .map_or(64 * 1024, |b| usize::try_from(b.0).unwrap_or(usize::MAX)),
    });
    if let Some(j) = &json
        && (j.max_depth == 0 || j.max_keys == 0 || j.max_string == 0)
    {
        errs.push(format!("{at}.json"), "limits must be at least 1");
    }
    ContentRules {
        types,
        max_query_params: c.max_query_params,
        json,
        max_multipart_parts: c.max_multipart_parts,
    }
}

/// `type/subtype` in lower case, parameters dropped.
pub(crate) fn parse_media_type(v: &str) -> Option<(String, String)> {
    let essence = v.split(';').next()?.trim().to_ascii_lowercase();
    let (t, s) = essence.split_once('/')?;
    let token = |x: &str| {
        !x.is_empty()
            && x.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+*".contains(&b))
    };
    (token(t) && token(s)).then(|| (t.to_owned(), s.to_owned()))
}

/// Whether the request's media type is JSON (`application/json`, `*/*+json`).
pub fn is_json(headers: &HeaderMap) -> bool {
    media_type(headers).is_some_and(|(t, s)| is_json_type(&t, &s))
}

/// Whether `type/subtype` is JSON (`application/json`, `application/...+json`).
pub(crate) fn is_json_type(t: &str, s: &str) -> bool {
    t == "application" && (s == "json" || s.ends_with("+json"))
}

/// The request's `Content-Type` as (type, subtype), lower case, parameters dropped.
pub(crate) fn media_type(headers: &HeaderMap) -> Option<(String, String)> {
    parse_media_type(headers.get(header::CONTENT_TYPE)?.to_str().ok()?)
}

fn bad(text: String) -> Deny {
    let mut d = Deny::new(Problem::BadRequest);
    d.detail = Some(text);
    d
}

impl ContentRules {
    /// Checks what the head shows: the media type (of a request with a body) and the query
    /// parameter count.
    pub fn check_head(&self, req: &Parts, has_body: bool) -> Result<(), Deny> {
        if let Some(max) = self.max_query_params {
            let n = req
                .uri
                .query()
                .map_or(0, |q| q.split('&').filter(|p| !p.is_empty()).count());
            if n > max {
                return Err(bad(format!("more than {max} query parameters")));
            }
        }
        if !self.types.is_empty() && has_body {
            let ok = media_type(&req.headers).is_some_and(|(t, s)| {
                self.types
                    .iter()
                    .any(|(at, asub)| (at == "*" || *at == t) && (asub == "*" || *asub == s))
            });
            if !ok {
                return Err(Deny::new(Problem::UnsupportedMediaType));
            }
        }
        Ok(())
    }

    /// Whether [`ContentRules::check_body`] needs this request's body.
    pub fn reads_body(&self, req: &Parts) -> bool {
        (self.json.is_some() && is_json(&req.headers))
            || (self.max_multipart_parts.is_some()
                && media_type(&req.headers).is_some_and(|(t, _)| t == "multipart"))
    }

    /// Checks the body's shape.
    pub fn check_body(&self, req: &Parts, body: &[u8]) -> Result<(), Deny> {
        if let Some(j) = &self.json
            && is_json(&req.headers)
        {
            json_shape(body, j).map_err(bad)?;
            if repeated_key(body, j.max_keys) {
                return Err(bad("JSON object with a repeated key".to_owned()));
            }
        }
        if let Some(max) = self.max_multipart_parts
            && let Some(boundary) = boundary(&req.headers)
        {
            let delim = format!("--{boundary}");
            let n = memchr::memmem::find_iter(body, delim.as_bytes()).count();
            // n delimiters, the last one closing, enclose n - 1 parts.
            if n.saturating_sub(1) > max {
                return Err(bad(format!("more than {max} multipart parts")));
            }
        }
        Ok(())
    }
}

fn boundary(headers: &HeaderMap) -> Option<&str> {
    super::multipart::boundary(headers.get(header::CONTENT_TYPE)?.to_str().ok()?)
}

/// What [`scan_json`] meets in a JSON text.
enum JsonEvent<'a> {
    /// `{` (`object`) or `[`.
    Open { object: bool },
    /// `}` or `]`.
    Close,
    /// A string: `raw` with its quotes (as far as the text goes), `inner` without them, and
    /// whether a `:` follows (an object key).
    Str {
        raw: &'a [u8],
        inner: &'a [u8],
        key: bool,
    },
}

/// One pass over the structure of a JSON text (brackets and strings; escapes respected, other
/// syntax not checked), stopping at the first `Some` the visitor returns.
fn scan_json<T>(body: &[u8], mut visit: impl FnMut(JsonEvent<'_>) -> Option<T>) -> Option<T> {
    let mut i = 0;
    while i < body.len() {
        let event = match body[i] {
            b'{' | b'[' => Some(JsonEvent::Open {
                object: body[i] == b'{',
            }),
            b'}' | b']' => Some(JsonEvent::Close),
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < body.len() {
                    match body[j] {
                        b'\\' => j += 2,
                        b'"' => break,
                        _ => j += 1,
                    }
                }
                let end = j.min(body.len());
                let key = body[(j + 1).min(body.len())..]
                    .iter()
                    .find(|b| !b.is_ascii_whitespace())
                    == Some(&b':');
                let raw = &body[i..(j + 1).min(body.len())];
                i = j;
                Some(JsonEvent::Str {
                    raw,
                    inner: &body[start..end],
                    key,
                })
            }
            _ => None,
        };
        if let Some(found) = event.and_then(&mut visit) {
            return Some(found);
        }
        i += 1;
    }
    None
}

/// One pass over a JSON text checking nesting depth, key count and string lengths. Syntax is
/// left to the parser of whoever reads the document; this only bounds its shape.
pub fn json_shape(body: &[u8], l: &JsonLimits) -> Result<(), String> {
    let mut depth = 0usize;
    let mut keys = 0usize;
    // Whether each open container is an object (keys are strings followed by `:`).
    let mut stack: Vec<bool> = Vec::new();
    let refused = scan_json(body, |e| match e {
        JsonEvent::Open { object } => {
            depth += 1;
            stack.push(object);
            (depth > l.max_depth).then(|| format!("JSON nested deeper than {}", l.max_depth))
        }
        JsonEvent::Close => {
            depth = depth.saturating_sub(1);
            stack.pop();
            None
        }
        JsonEvent::Str { inner, key, .. } => {
            if inner.len() > l.max_string {
                return Some(format!("JSON string longer than {} bytes", l.max_string));
            }
            if key && stack.last() == Some(&true) {
                keys += 1;
                if keys > l.max_keys {
                    return Some(format!("JSON with more than {} keys", l.max_keys));
                }
            }
            None
        }
    });
    refused.map_or(Ok(()), Err)
}

/// Whether some JSON object in `body` has the same key twice (compared after unescaping).
/// Parsers disagree on which value wins (`serde_json` keeps the last, others the first), so a
/// document with a repeated key can pass a check with one value and reach the upstream with
/// the other. Looks at most `max_keys` keys; a document with more is not judged here.
pub fn repeated_key(body: &[u8], max_keys: usize) -> bool {
    // The keys of each open container that is an object.
    let mut stack: Vec<Option<Vec<String>>> = Vec::new();
    let mut seen_keys = 0usize;
    scan_json(body, |e| match e {
        JsonEvent::Open { object } => {
            stack.push(object.then(Vec::new));
            None
        }
        JsonEvent::Close => {
            stack.pop();
            None
        }
        JsonEvent::Str { raw, key, .. } => {
            let Some(Some(keys)) = stack.last_mut().filter(|_| key) else {
                return None;
            };
            seen_keys += 1;
            if seen_keys > max_keys {
                return Some(false);
            }
            let name: String = serde_json::from_slice(raw)
                .unwrap_or_else(|_| String::from_utf8_lossy(raw).into_owned());
            if keys.contains(&name) {
                return Some(true);
            }
            keys.push(name);
            None
        }
    })
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: JsonLimits = JsonLimits {
        max_depth: 3,
        max_keys: 4,
        max_string: 8,
    };

    #[test]
    fn json_shape_limits() {
        assert!(json_shape(br#"{"a":[1,{"b":"x"}]}"#, &L).is_ok());
        assert!(
            json_shape(br#"[[[[1]]]]"#, &L)
                .unwrap_err()
                .contains("deeper")
        );
        assert!(
            json_shape(br#"{"a":1,"b":2,"c":3,"d":4,"e":5}"#, &L)
                .unwrap_err()
                .contains("keys")
        );
        // Strings in arrays are not keys.
        assert!(json_shape(br#"{"a":["b","c","d","e","f"]}"#, &L).is_ok());
        assert!(
            json_shape(br#"{"a":"123456789"}"#, &L)
                .unwrap_err()
                .contains("longer")
        );
        // Escaped quotes do not end a string; brackets inside strings do not nest.
        assert!(json_shape(br#"{"a":"[[[\"[[["}"#, &L).is_ok());
        // Unterminated input ends the pass without panicking.
        assert!(json_shape(br#"{"a":"abc"#, &L).is_ok());
        assert!(json_shape(b"\"\\", &L).is_ok());
    }

    #[test]
    fn repeated_keys_are_found_after_unescaping() {
        assert!(repeated_key(br#"{"role":"admin","role":"user"}"#, 100));
        assert!(repeated_key(br#"{"a":{"role":1,"r\u006fle":2}}"#, 100));
        assert!(!repeated_key(
            br#"{"a":{"x":1},"b":{"x":1},"c":["x","x"]}"#,
            100
        ));
        assert!(!repeated_key(br#"{"a":"b:c","d":"a"}"#, 100));
        assert!(!repeated_key(b"{\"a", 100));
    }

    #[test]
    fn media_types() {
        assert_eq!(
            parse_media_type("Application/JSON; charset=utf-8"),
            Some(("application".into(), "json".into()))
        );
        assert_eq!(parse_media_type("json"), None);
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            "application/problem+json".parse().unwrap(),
        );
        assert!(is_json(&h));
        h.insert(
            header::CONTENT_TYPE,
            "multipart/form-data; boundary=\"xyz\"".parse().unwrap(),
        );
        assert_eq!(boundary(&h), Some("xyz"));
    }
}
