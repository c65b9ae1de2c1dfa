//! Fuzzes how the `openapi` stage reads parameters and form bodies (`policy::openapi`): a fixed
//! document, compiled once, whose operations take every query style (form exploded and not,
//! `spaceDelimited`, `pipeDelimited`, nested `deepObject`, `allowReserved`), matrix and label
//! path parameters, header and cookie parameters, and a form body with an `encoding` map. The
//! input is split at the first 0 byte into the request target's query (bytes a request target
//! cannot hold are percent-encoded) and the form body (the first byte picks the operation).
//! Any input must give a decision, never a panic.
#![no_main]

use std::sync::OnceLock;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use portcullis::config::error::Collector;
use portcullis::config::raw::OpenApiConfig;
use portcullis::policy::Decision;
use portcullis::policy::openapi::{Api, BodyView, compile};

const DOC: &str = r##"openapi: 3.1.0
paths:
  /search/{ids}:
    get:
      parameters:
        - { name: ids, in: path, required: true, style: matrix, explode: true, schema: { type: array, items: { type: integer } } }
        - { name: filter, in: query, style: deepObject, schema: { type: object, additionalProperties: false, properties: { status: { type: string }, range: { type: object, properties: { lo: { type: integer }, hi: { type: number } } }, tags: { type: array, maxItems: 4, items: { type: string } }, rows: { type: array, items: { type: object, properties: { id: { type: integer }, sub: { type: object } } } } } } }
        - { name: since, in: query, allowReserved: true, schema: { type: string, maxLength: 40 } }
        - { name: labels, in: query, explode: false, schema: { type: array, items: { type: string } } }
        - { name: sort, in: query, style: pipeDelimited, explode: false, schema: { type: array, items: { type: string } } }
        - { name: words, in: query, style: spaceDelimited, explode: false, schema: { type: array, items: { type: integer } } }
        - { name: pt, in: query, explode: false, schema: { type: object, properties: { x: { type: integer } } } }
        - { name: q, in: query, content: { application/json: { schema: { type: object } } } }
        - { name: X-Ids, in: header, schema: { type: array, items: { type: integer } } }
        - { name: sid, in: cookie, schema: { type: string } }
  /label/{v}:
    get:
      parameters:
        - { name: v, in: path, required: true, style: label, explode: true, schema: { type: object, properties: { a: { type: integer } } } }
        - { name: p, in: query, schema: { type: object, properties: { x: { type: array, items: { type: integer } } } } }
        - { name: "p[x]", in: query, schema: { type: string } }
  /form:
    post:
      requestBody:
        content:
          application/x-www-form-urlencoded:
            schema:
              type: object
              properties:
                filter: { type: object, properties: { min: { type: integer }, deep: { type: object, properties: { n: { type: boolean } } } } }
                tags: { type: array, items: { type: string } }
                stamp: { type: string }
                page: { type: integer }
            encoding:
              filter: { style: deepObject }
              tags: { style: form, explode: false }
              stamp: { allowReserved: true }
"##;

fn api() -> &'static Api {
    static API: OnceLock<Api> = OnceLock::new();
    API.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("portcullis-fuzz-openapi-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("api.yaml");
        std::fs::write(&file, DOC).expect("write document");
        let c = OpenApiConfig {
            file: file.to_string_lossy().as_ref().into(),
            base_path: None,
            reject_unknown: None,
            security: None,
            responses: None,
            operations: Default::default(),
        };
        let mut errs = Collector::default();
        let api = compile(&c, "fuzz", &mut errs);
        let _ = std::fs::remove_dir_all(&dir);
        api.filter(|_| errs.errors.is_empty())
            .unwrap_or_else(|| panic!("document: {:?}", errs.errors))
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let (query, body) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let mut q = String::with_capacity(query.len());
    for &b in query {
        if b.is_ascii_graphic() && b != b'#' {
            q.push(char::from(b));
        } else {
            q.push_str(&format!("%{b:02X}"));
        }
    }
    let query = q;
    let (method, uri) = match pick % 3 {
        0 => ("GET", format!("/search/;ids=3;ids=4?{query}")),
        1 => ("GET", format!("/label/.a=1?{query}")),
        _ => ("POST", format!("/form?{query}")),
    };
    let Ok(req) = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-ids", "1, 2")
        .header("cookie", "sid=abc; other=1")
        .body(())
    else {
        return;
    };
    let (parts, ()) = req.into_parts();
    let body = Bytes::copy_from_slice(body);
    let a = api();
    if let Decision::Deny(d) = a.decide(a.find(&parts), &parts, BodyView::Read(&body)) {
        // Every refusal names what failed, and at most the first few things.
        assert!(!d.outcome.is_empty());
        assert!(d.errors.len() <= 16);
    }
});
