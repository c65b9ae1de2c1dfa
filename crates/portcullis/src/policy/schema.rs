//! The `schema` stage: the request body against a JSON Schema (draft 7 or 2020-12, chosen by
//! the schema's `$schema`, 2020-12 when it has none).
//!
//! The validator is built without the crate's default features, so `$ref`s resolve only inside
//! the document: a config cannot make the gateway fetch URLs or read files at run time. A
//! refusal lists at most five violations as JSON Pointers into the body and the keyword that
//! failed, never the values.

use bytes::Bytes;
use http::request::Parts;

use super::Deny;
use crate::config::error::Collector;
use crate::config::raw::SchemaConfig;
use crate::reply::Problem;

/// Most violations listed in one answer.
pub(crate) const MAX_LISTED: usize = 5;
/// Most object keys looked at for repeats before a body is validated.
pub(crate) const MAX_KEYS_CHECKED: usize = 10_000;
/// Largest schema file read.
const MAX_SCHEMA_BYTES: u64 = 4 * 1024 * 1024;

/// A compiled schema for one route.
pub struct BodySchema {
    validator: jsonschema::Validator,
    problem: Problem,
    require_body: bool,
}

impl std::fmt::Debug for BodySchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodySchema")
            .field("problem", &self.problem)
            .finish_non_exhaustive()
    }
}

/// Compiles a route's `schema` block.
pub fn compile(c: &SchemaConfig, at: &str, errs: &mut Collector) -> Option<BodySchema> {
    let doc: serde_json::Value = match (&c.file, &c.inline) {
        (Some(f), None) => match crate::config::expand::read_document(f, MAX_SCHEMA_BYTES) {
            Ok(v) => v,
            Err(e) => {
                errs.push(format!("{at}.file"), e);
                return None;
            }
        },
        (None, Some(v)) => v.clone(),
        _ => {
            errs.push(at.to_owned(), "give exactly one of `file` and `inline`");
            return None;
        }
    };
    let problem = match c.status {
        None | Some(422) => Problem::SchemaViolation,
        Some(400) => Problem::BadRequest,
        Some(_) => {
            errs.push(format!("{at}.status"), "400 or 422");
            return None;
        }
    };
    let mut opts = jsonschema::options();
    if doc.get("$schema").is_none() {
        opts = opts.with_draft(jsonschema::Draft::Draft202012);
    }
    match opts.build(&doc) {
        Ok(validator) => Some(BodySchema {
            validator,
            problem,
            require_body: c.require_body.unwrap_or(true),
        }),
        Err(e) => {
            errs.push(at.to_owned(), format!("invalid schema: {e}"));
            None
        }
    }
}

/// The first violations of `value`, as (JSON Pointer into the value, keyword). For a missing
/// property the pointer names the property (its name comes from the schema, not the client).
pub(crate) fn violations(
    validator: &jsonschema::Validator,
    value: &serde_json::Value,
) -> Vec<(String, String)> {
    validator
        .iter_errors(value)
        .take(MAX_LISTED)
        .map(|e| {
            let mut pointer = e.instance_path().as_str().to_owned();
            if let jsonschema::error::ValidationErrorKind::Required { property } = e.kind()
                && let Some(p) = property.as_str()
            {
                pointer.push('/');
                pointer.push_str(&p.replace('~', "~0").replace('/', "~1"));
            }
            (pointer, e.kind().keyword().to_owned())
        })
        .collect()
}

impl BodySchema {
    /// Checks the body; `None` when the request has none.
    pub fn check(&self, req: &Parts, body: Option<&Bytes>) -> Result<(), Deny> {
        let body = match body {
            Some(b) if !b.is_empty() => b,
            _ if !self.require_body => return Ok(()),
            _ => return Err(self.refuse("a JSON body is required".into(), Vec::new())),
        };
        if !super::content::is_json(&req.headers) {
            return Err(Deny::new(Problem::UnsupportedMediaType));
        }
        if super::content::repeated_key(body, MAX_KEYS_CHECKED) {
            let mut d = Deny::new(Problem::BadRequest);
            d.detail = Some("JSON object with a repeated key".to_owned());
            return Err(d);
        }
        let value: serde_json::Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                let why = if e.is_syntax() || e.is_eof() {
                    format!(
                        "body is not valid JSON (line {}, column {})",
                        e.line(),
                        e.column()
                    )
                } else {
                    "body is not valid JSON".to_owned()
                };
                let mut d = Deny::new(Problem::BadRequest);
                d.detail = Some(why);
                return Err(d);
            }
        };
        let list = violations(&self.validator, &value);
        if list.is_empty() {
            return Ok(());
        }
        Err(self.refuse("body does not match the schema".into(), list))
    }

    fn refuse(&self, detail: String, errors: Vec<(String, String)>) -> Deny {
        let mut d = Deny::new(self.problem);
        d.outcome = "schema_violation";
        d.detail = Some(detail);
        d.errors = errors;
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(v: serde_json::Value) -> BodySchema {
        let c = SchemaConfig {
            file: None,
            inline: Some(v),
            status: None,
            require_body: None,
        };
        let mut errs = Collector::default();
        let s = compile(&c, "routes[0].schema", &mut errs);
        assert!(errs.errors.is_empty(), "{:?}", errs.errors);
        s.expect("schema")
    }

    fn json_req() -> Parts {
        http::Request::post("/")
            .header("content-type", "application/json")
            .body(())
            .expect("req")
            .into_parts()
            .0
    }

    #[test]
    fn lists_paths_and_keywords_not_values() {
        let s = schema(serde_json::json!({
            "type": "object",
            "required": ["name", "qty"],
            "properties": {
                "name": {"type": "string", "maxLength": 5},
                "qty": {"type": "integer", "minimum": 1}
            },
            "additionalProperties": false
        }));
        let req = json_req();
        assert!(
            s.check(&req, Some(&Bytes::from_static(br#"{"name":"ab","qty":2}"#)))
                .is_ok()
        );
        let d = s
            .check(
                &req,
                Some(&Bytes::from_static(br#"{"name":"secretvalue","x":1}"#)),
            )
            .unwrap_err();
        assert_eq!(d.problem, Problem::SchemaViolation);
        let text = format!("{:?}", d.errors);
        assert!(
            text.contains("/name") && text.contains("maxLength"),
            "{text}"
        );
        assert!(text.contains("/qty") && text.contains("required"), "{text}");
        assert!(text.contains("additionalProperties"), "{text}");
        assert!(!text.contains("secretvalue"), "{text}");
        let d = s
            .check(&req, Some(&Bytes::from_static(b"{nope")))
            .unwrap_err();
        assert_eq!(d.problem, Problem::BadRequest);
        assert!(s.check(&req, None).is_err());
    }

    #[test]
    fn remote_refs_are_not_fetched() {
        let c = SchemaConfig {
            file: None,
            inline: Some(serde_json::json!({"$ref": "https://example.com/s.json"})),
            status: None,
            require_body: None,
        };
        let mut errs = Collector::default();
        assert!(compile(&c, "s", &mut errs).is_none());
        assert!(!errs.errors.is_empty());
    }

    #[test]
    fn draft7_is_honoured() {
        let s = schema(serde_json::json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "array",
            "items": [{"type": "string"}],
            "additionalItems": false
        }));
        let req = json_req();
        assert!(
            s.check(&req, Some(&Bytes::from_static(br#"["a"]"#)))
                .is_ok()
        );
        assert!(
            s.check(&req, Some(&Bytes::from_static(br#"["a", 1]"#)))
                .is_err()
        );
    }
}
