//! Compile-time validation: each bad value is reported with its key path and line.

use std::path::Path;

use super::load_str;
use crate::upstream::state::Registry;

fn errors(yaml: &str) -> Vec<String> {
    match load_str(yaml, Path::new("cfg.yaml"), &Registry::default()) {
        Ok(_) => Vec::new(),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

const BASE: &str = "listeners: [{ name: main, bind: '127.0.0.1:1' }]\n";

#[test]
fn accepts_a_minimal_config() {
    assert!(errors(BASE).is_empty());
}

#[test]
fn reports_semantic_errors_with_paths_and_lines() {
    let cases: &[(&str, &str)] = &[
        (
            "listeners: []\n",
            "cfg.yaml:1: listeners: at least one listener is required",
        ),
        (
            "listeners:\n  - { name: a, bind: '127.0.0.1:1' }\n  - { name: b, bind: '127.0.0.1:1' }\n",
            "cfg.yaml:3: listeners[1].bind: 127.0.0.1:1 is bound twice",
        ),
        (
            "trusted_proxies: [nope]\n",
            "trusted_proxies[0]: \"nope\" is not a CIDR",
        ),
        (
            "upstreams:\n  u:\n    targets: ['a:1']\n    protocol: h3\n",
            "cfg.yaml:5: upstreams.u.protocol: unknown protocol",
        ),
        (
            "upstreams:\n  u:\n    targets: [{ address: 'a:1', weight: 0 }]\n",
            "upstreams.u.targets[0].weight: must be 1 to 1000",
        ),
        (
            "upstreams:\n  u:\n    targets: ['a:1']\n    protocol: h2c\n    tls: { ca: x.pem }\n",
            "upstreams.u.protocol: `h2c` is cleartext",
        ),
        (
            "routes:\n  - { name: r, auth: none, match: { path: /a, path_prefix: /b }, direct: {} }\n",
            "routes[0].match: use only one of",
        ),
        (
            "routes:\n  - { name: r, auth: none, match: { headers: [{ name: 'bad name', value: x }] }, direct: {} }\n",
            "routes[0].match.headers[0].name: invalid header name",
        ),
        (
            "routes:\n  - { name: r, auth: none, match: { query: [{ name: q, regex: '(' }] }, direct: {} }\n",
            "routes[0].match.query[0].regex: invalid regex",
        ),
        (
            "routes:\n  - { name: r, auth: none, direct: {}, redirect: { location: /x } }\n",
            "routes[0]: exactly one of",
        ),
        (
            "routes:\n  - { name: r, auth: none, redirect: { location: /x, status: 200 } }\n",
            "routes[0].redirect.status: must be 301, 302, 303, 307 or 308",
        ),
        (
            "routes:\n  - { name: r, auth: none, direct: {}, strip_prefix: true }\n",
            "routes[0].strip_prefix: needs `match.path_prefix`",
        ),
        (
            "routes:\n  - { name: r, auth: none, direct: {}, request_headers: { set: { x-portcullis-consumer: me } } }\n",
            "routes[0].request_headers: x-portcullis-consumer is reserved",
        ),
        (
            "routes:\n  - { name: r, auth: none, direct: {}, request_headers: { add: { Host: b.example } } }\n",
            "routes[0].request_headers: host is set by the gateway",
        ),
        (
            "routes:\n  - { name: r, auth: none, direct: {}, deprecation: { since: yesterday } }\n",
            "routes[0].deprecation.since: not an RFC 3339 time",
        ),
        (
            "routes:\n  - { name: r, auth: none, match: { api_version: { version: '1', source: cookie } }, direct: {} }\n",
            "routes[0].match.api_version.source: must be `path`, `header` or `query`",
        ),
        (
            "consumers:\n  - { name: c, mtls: [{ subject: a, san: b }] }\n",
            "consumers[0].mtls[0]: give exactly one of",
        ),
        (
            "consumers:\n  - { name: c, mtls: [{ fingerprint: 'ab:cd' }] }\n",
            "consumers[0].mtls[0].fingerprint: must be a SHA-256 fingerprint",
        ),
        (
            "consumers:\n  - { name: c, mtls: [{ san: x }] }\n  - { name: d, mtls: [{ san: x }] }\n",
            "consumers[1].mtls[0].san: listed twice",
        ),
        (
            "consumers:\n  - { name: c, mtls: [{ san: 'URI:spiffe://x/y' }] }\n",
            "write SANs without a type prefix",
        ),
        (
            "routes:\n  - { name: r, auth: { methods: [mtls] }, authorize: { any_authenticated: true }, direct: {} }\n",
            "`mtls` needs consumers with `mtls` identities",
        ),
        (
            "reload: { interval: 1ms }\n",
            "reload.interval: must be at least 100ms",
        ),
        (
            "routes:\n  - { name: r, authorize: { roles: [a] }, direct: {} }\n",
            "routes[0].authorize: needs an `auth` block",
        ),
        (
            "routes:\n  - { name: r, auth: none, authorize: { roles: [a] }, direct: {} }\n",
            "routes[0].authorize: a public route",
        ),
        (
            "routes:\n  - { name: r, auth: { methods: [api_key] }, authorize: { roles: [a] }, direct: {} }\n",
            "routes[0].auth.methods[0]: `api_key` needs `identity.api_key_pepper`",
        ),
        (
            "identity: { api_key_pepper: x }\n",
            "identity.api_key_pepper: must be at least 32 bytes",
        ),
        (
            "routes:\n  - { name: r, auth: { methods: [saml] }, authorize: { any_authenticated: true }, direct: {} }\n",
            "routes[0].auth.methods[0]: unknown method",
        ),
        (
            "routes:\n  - { name: r, auth: { methods: [jwt] }, authorize: { any_authenticated: true }, direct: {} }\n",
            "routes[0].auth.methods[0]: `jwt` needs an issuer under `identity.jwt`",
        ),
        (
            "identity:\n  jwt:\n    idp: { issuer: https://idp.test, audiences: [api], keys: [{ alg: HS256, secret: short }] }\n",
            "identity.jwt.idp.keys[0].secret: HS256 needs a secret of at least 32 bytes",
        ),
        (
            "identity:\n  jwt:\n    idp: { issuer: https://idp.test, audiences: [], keys: [{ alg: none, secret: short }] }\n",
            "identity.jwt.idp.keys[0].alg: unsupported algorithm \"none\"",
        ),
        (
            "identity:\n  jwt:\n    idp: { issuer: https://idp.test, audiences: [api], jwks: { url: \"http://idp.test/jwks\" } }\n",
            "identity.jwt.idp.jwks.url: must be https://",
        ),
        (
            "identity:\n  jwt:\n    idp: { issuer: https://idp.test, audiences: [api] }\n",
            "identity.jwt.idp: give `keys` or `jwks`",
        ),
        (
            "routes:\n  - { name: r, auth: { methods: [mtls] }, authorize: { any_authenticated: true }, direct: {} }\n",
            "routes[0].auth.methods: `mtls` needs a listener with `tls.client_auth`",
        ),
        (
            "identity: { api_key_pepper: 0123456789abcdef0123456789abcdef }\nroutes:\n  - { name: r, auth: { methods: [api_key, api_key] }, authorize: { any_authenticated: true }, direct: {} }\n",
            "routes[0].auth.methods[1]: listed twice",
        ),
        (
            "routes:\n  - { name: r, auth: none, ip_filter: { deny: [\"10.0.0.300/8\"] }, direct: {} }\n",
            "routes[0].ip_filter.deny[0]: \"10.0.0.300/8\" is not a CIDR or address",
        ),
        (
            "routes:\n  - { name: r, auth: none, ip_filter: { allow_files: [no-such-list.txt] }, direct: {} }\n",
            "routes[0].ip_filter.allow_files[0]: ",
        ),
        (
            "routes:\n  - { name: r, auth: none, rate_limits: [{ requests: 0, per: 1s }], direct: {} }\n",
            "routes[0].rate_limits[0]: `requests` and `burst` must be at least 1",
        ),
        (
            "routes:\n  - { name: r, auth: none, rate_limits: [{ key: [consumer], requests: 5, per: 1s }], direct: {} }\n",
            "routes[0].rate_limits[0].key: `consumer` needs a route that authenticates",
        ),
        (
            "routes:\n  - { name: r, auth: none, rate_limits: [{ key: [cookie], requests: 5, per: 1s }], direct: {} }\n",
            "routes[0].rate_limits[0].key[0]: one of `ip`, `consumer`, `route`, `header:<name>`",
        ),
        (
            "consumers:\n  - { name: c, token_subjects: [{ issuer: nope, subject: s }] }\nroutes:\n  - { name: r, auth: none, direct: {} }\n",
            "consumers[0].token_subjects[0].issuer: no issuer under `identity.jwt`",
        ),
        (
            "state: { store: redis }\nroutes:\n  - { name: r, auth: none, direct: {} }\n",
            "state.redis: `state.store: redis` needs `state.redis.url`",
        ),
        (
            "state: { redis: { url: \"http://x\" } }\nroutes:\n  - { name: r, auth: none, direct: {} }\n",
            "state.redis.url: invalid Redis URL",
        ),
        (
            "routes:\n  - { name: r, auth: none, rate_limits: [{ requests: 5, per: 1s, store: redis }], direct: {} }\n",
            "routes[0].rate_limits[0].store: `redis` needs `state.redis.url`",
        ),
        (
            "routes:\n  - { name: r, auth: none, rate_limits: [{ requests: 5, per: 1s, on_store_error: maybe }], direct: {} }\n",
            "routes[0].rate_limits[0].on_store_error: one of `deny`, `allow`, `local`",
        ),
        (
            "routes:\n  - { name: r, auth: none, rate_limits: [{ requests: 5, per: 1s, queue: 5 }], direct: {} }\n",
            "routes[0].rate_limits[0].queue: only with `delay`",
        ),
        (
            "routes:\n  - { name: r, auth: none, quotas: [{ limit: 5, per: week }], direct: {} }\n",
            "routes[0].quotas[0].per: `day` or `month`",
        ),
        (
            "routes:\n  - { name: r, auth: none, quotas: [{ limit: 5, per: day }], direct: {} }\n",
            "routes[0].quotas[0].key: `consumer` needs a route that authenticates",
        ),
        (
            "routes:\n  - { name: r, auth: none, concurrency: { per_consumer: 2 }, direct: {} }\n",
            "routes[0].concurrency.per_consumer: needs a route that authenticates",
        ),
        (
            "routes:\n  - { name: r, auth: none, concurrency: { max: 2, status: 500 }, direct: {} }\n",
            "routes[0].concurrency.status: 429 or 503",
        ),
        (
            "auto_ban:\n  - { name: b, on: [typos], threshold: 3, within: 1m, ban_for: 5m }\nroutes:\n  - { name: r, auth: none, direct: {} }\n",
            "auto_ban[0].on[0]: one of `authn_failure`",
        ),
        (
            "auto_ban:\n  - { name: b, on: [not_found], threshold: 3, within: 1m, ban_for: 5m, except_routes: [nope] }\nroutes:\n  - { name: r, auth: none, direct: {} }\n",
            "auto_ban[0].except_routes[0]: no route named \"nope\"",
        ),
        (
            "roles:\n  reader: { allow: [{ groups: [nope], methods: [GET] }] }\n",
            "roles.reader.allow[0].groups[0]: no route has group \"nope\"",
        ),
        (
            "roles:\n  reader: { allow: [{ routes: [r], methods: [\"G T\"] }] }\nroutes:\n  - { name: r, auth: { methods: [mtls] }, direct: {} }\n",
            "roles.reader.allow[0].methods[0]: not an HTTP method",
        ),
        (
            "roles:\n  reader: { allow: [{ routes: [r] }] }\nroutes:\n  - { name: r, auth: none, direct: {} }\n",
            "routes[0].authorize: a public route (`auth: none`) cannot authorize",
        ),
        (
            "routes:\n  - { name: r, auth: { methods: [mtls] }, authorize: { roles: [a], claims: [{ claim: t, equals: x, contains: y }] }, direct: {} }\n",
            "routes[0].authorize.claims[0]: give exactly one of `equals`, `one_of`, `contains`",
        ),
        (
            "identity: { api_key_pepper: 0123456789abcdef0123456789abcdef }\nroutes:\n  - { name: r, auth: { methods: [api_key] }, direct: {} }\n",
            "routes[0].authorize: required with `auth`",
        ),
        (
            "consumers:\n  - { name: c, roles: [\"a,b\"] }\n",
            "consumers[0].roles[0]: a role is",
        ),
        (
            "consumers:\n  - { name: c, api_keys: [{ prefix: pk_, hash: abc }] }\n",
            "identity.api_key_pepper: required when consumers have API keys",
        ),
        (
            "identity: { api_key_pepper: 0123456789abcdef0123456789abcdef }\nconsumers:\n  - { name: c, api_keys: [{ prefix: pk_, hash: abc }] }\n",
            "consumers[0].api_keys[0].prefix: must be the first 12 characters",
        ),
        (
            "admin: { bind: nowhere }\n",
            "admin.bind: \"nowhere\" is not an address:port",
        ),
    ];
    for (extra, want) in cases {
        let yaml = if extra.starts_with("listeners") {
            (*extra).to_owned()
        } else {
            format!("{BASE}{extra}")
        };
        let errs = errors(&yaml);
        assert!(
            errs.iter().any(|e| e.contains(want)),
            "wanted {want:?} for:\n{yaml}\ngot {errs:#?}"
        );
    }
}

#[test]
fn reports_tls_file_errors() {
    let yaml = format!(
        "{BASE}  - name: tls\n    bind: '127.0.0.1:2'\n    tls:\n      certificates: [{{ cert: /nonexistent/c.pem, key: /nonexistent/k.pem }}]\n"
    );
    let yaml = yaml.replace(
        "listeners: [{ name: main, bind: '127.0.0.1:1' }]\n",
        "listeners:\n  - { name: main, bind: '127.0.0.1:1' }\n",
    );
    let errs = errors(&yaml);
    assert!(
        errs.iter()
            .any(|e| e.contains("listeners[1].tls.certificates[0].cert")
                && e.contains("/nonexistent/c.pem")),
        "{errs:#?}"
    );
}

#[test]
fn does_not_repeat_the_location_in_the_message() {
    assert_eq!(
        super::strip_location("error: line 14 column 19: cannot read x"),
        "cannot read x"
    );
    assert_eq!(
        super::strip_location("unknown field `bnid`"),
        "unknown field `bnid`"
    );
    assert_eq!(
        super::strip_location("error: lines differ: x"),
        "lines differ: x"
    );
}

#[test]
fn reports_yaml_syntax_and_type_errors_with_lines() {
    let errs = errors("listeners:\n  - name: main\n    bind: [1, 2]\n");
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(errs[0].starts_with("cfg.yaml:3:"), "{errs:#?}");
    let errs = errors("listeners: [ {\n");
    assert_eq!(errs.len(), 1);
    assert!(errs[0].starts_with("cfg.yaml:"), "{errs:#?}");
}

#[test]
fn openapi_operations_compile_with_the_route_and_their_own_fields() {
    let dir = crate::test_dir::TestDir::new("ops");
    let doc = dir.write(
        "api.yaml",
        "openapi: 3.0.3\ninfo: { title: t, version: '1' }\npaths:\n  /items:\n    get: { operationId: listItems }\n    post: { operationId: addItem }\n",
    );
    let config = |operations: &str| {
        format!(
            "{BASE}identity: {{ api_key_pepper: test-pepper-0123456789abcdef0123456789abcdef }}\nconsumers: []\nroles: {{ ops: {{ allow: [{{ routes: [api] }}] }} }}\nroutes:\n  - name: api\n    match: {{ path_prefix: / }}\n    auth: {{ methods: [api_key] }}\n    authorize: {{ roles: [reader] }}\n    direct: {{ status: 200 }}\n    openapi:\n      file: '{}'\n      operations:\n{operations}",
            doc.display()
        )
    };
    // A route with a document and no operations listed still finds the operation right after
    // routing (for its `openapi` stage), with no route of an operation's own.
    let plain = config("        {}\n").replace("      operations:\n        {}\n", "");
    let snap = load_str(&plain, Path::new("cfg.yaml"), &Registry::default()).expect("compiles");
    let ops = snap.router.routes()[0]
        .operations
        .as_ref()
        .expect("the document is kept for the lookup after routing");
    assert_eq!(ops.routes.len(), 2);
    assert!(ops.routes.iter().all(Option::is_none));
    assert_eq!(snap.router.all_routes().count(), 1);
    // A public operation of an authenticated route drops the route's `authorize` and grants.
    let public = config("        listItems: { auth: none }\n");
    assert_eq!(errors(&public), Vec::<String>::new());
    // Its own `authorize` with `auth: none` is the error it is on a route, at its key.
    let contradictory =
        config("        listItems: { auth: none, authorize: { roles: [reader] } }\n");
    let errs = errors(&contradictory);
    assert!(
        errs.iter()
            .any(|e| e.contains("routes[0].openapi.operations.listItems.authorize")),
        "{errs:?}"
    );
    // An operation's own limits are checked like a route's.
    let bad_limit = config("        addItem: { rate_limits: [{ requests: 0, per: 1s }] }\n");
    let errs = errors(&bad_limit);
    assert!(
        errs.iter()
            .any(|e| e.contains("routes[0].openapi.operations.addItem.rate_limits[0]")),
        "{errs:?}"
    );
}
