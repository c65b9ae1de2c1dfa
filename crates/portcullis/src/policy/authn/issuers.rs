//! `identity.jwt` → compiled issuers: keys loaded and bound to their algorithms, claim rules,
//! JWKS sources taken from the registry so they outlive a reload.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::jwks::{JwksRegistry, JwksSettings, parse_jwks};
use super::jwt::{
    Alg, ClaimRules, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_BYTES, Issuer, IssuerSettings, MAX_LEEWAY,
    VerifyKey,
};
use crate::config::error::Collector;
use crate::config::expand::resolve_path;
use crate::config::raw::{JwksConfig, JwtIssuerConfig, JwtKeyConfig};

/// Compiles every introspection endpoint; errors go to `errs`.
pub fn compile_introspection(
    raw: &std::collections::BTreeMap<String, crate::config::raw::IntrospectionConfig>,
    errs: &mut Collector,
) -> HashMap<String, Arc<super::introspect::Introspector>> {
    use super::introspect::{Introspector, Settings, client_authorization};
    let mut out = HashMap::new();
    for (name, c) in raw {
        let at = format!("identity.introspection.{name}");
        let Some(url) = remote_url(
            &c.url,
            c.allow_insecure_http,
            "the gateway's secret and every token would travel in clear",
            &at,
            errs,
        ) else {
            continue;
        };
        if c.client_id.is_empty() || c.client_secret.is_empty() {
            errs.push(
                at.clone(),
                "`client_id` and `client_secret` must not be empty",
            );
            continue;
        }
        let Some(authorization) = client_authorization(&c.client_id, &c.client_secret) else {
            errs.push(format!("{at}.client_id"), "cannot be sent in a header");
            continue;
        };
        let timeout = secs_or(c.timeout, 2);
        let (max_ttl, negative_ttl) = (secs_or(c.max_ttl, 300), secs_or(c.negative_ttl, 10));
        if timeout.is_zero() || max_ttl.is_zero() || negative_ttl.is_zero() {
            errs.push(
                at.clone(),
                "`timeout`, `max_ttl` and `negative_ttl` must be more than 0",
            );
            continue;
        }
        if c.cache_entries == Some(0) {
            errs.push(
                format!("{at}.cache_entries"),
                "at least 1: without a cache every request waits for the endpoint",
            );
            continue;
        }
        let fetcher = match crate::fetch::Fetcher::new(
            c.ca.as_ref().map(|p| resolve_path(p)).as_deref(),
            timeout,
            super::introspect::MAX_ANSWER_BYTES,
        ) {
            Ok(f) => f,
            Err(e) => {
                errs.push(format!("{at}.ca"), e);
                continue;
            }
        };
        let settings = Settings {
            name: name.clone(),
            url,
            authorization,
            issuer: c.issuer.as_ref().map(ToString::to_string),
            audiences: c.audiences.iter().map(ToString::to_string).collect(),
            consumer_claim: c.consumer_claim.as_ref().map(ToString::to_string),
            roles_claim: c
                .roles_claim
                .as_ref()
                .map_or("roles", |r| r.as_str())
                .split('.')
                .map(str::to_owned)
                .collect(),
            max_ttl,
            negative_ttl,
            cache_entries: c.cache_entries.unwrap_or(10_000),
        };
        out.insert(name.clone(), Arc::new(Introspector::new(settings, fetcher)));
    }
    out
}

/// Largest key or JWKS file read from disk.
const MAX_KEY_FILE_BYTES: u64 = 512 * 1024;

/// Compiles every issuer; errors go to `errs`.
pub fn compile_issuers(
    raw: &std::collections::BTreeMap<String, JwtIssuerConfig>,
    registry: &JwksRegistry,
    errs: &mut Collector,
) -> HashMap<String, Arc<Issuer>> {
    let mut out = HashMap::new();
    let mut iss_values = HashMap::new();
    for (name, c) in raw {
        let at = format!("identity.jwt.{name}");
        if let Some(other) = iss_values.insert(c.issuer.to_string(), name.clone()) {
            errs.push(
                format!("{at}.issuer"),
                format!(
                    "issuer {:?} is also configured as {other:?}",
                    c.issuer.as_str()
                ),
            );
        }
        if let Some(i) = compile_issuer(name, c, &at, registry, errs) {
            out.insert(name.clone(), Arc::new(i));
        }
    }
    out
}

fn compile_issuer(
    name: &str,
    c: &JwtIssuerConfig,
    at: &str,
    registry: &JwksRegistry,
    errs: &mut Collector,
) -> Option<Issuer> {
    let before = errs.errors.len();
    if c.issuer.is_empty() {
        errs.push(format!("{at}.issuer"), "must not be empty");
    }
    if c.audiences.is_empty() || c.audiences.iter().any(|a| a.is_empty()) {
        errs.push(
            format!("{at}.audiences"),
            "list at least one audience (tokens for other services must not be accepted)",
        );
    }
    let leeway = c.leeway.map_or(DEFAULT_LEEWAY, |d| d.0);
    if leeway > MAX_LEEWAY {
        errs.push(format!("{at}.leeway"), "at most 5m");
    }
    let max_token_bytes = c
        .max_token_bytes
        .map_or(DEFAULT_MAX_TOKEN_BYTES, |b| b.0 as usize);
    if !(512..=64 * 1024).contains(&max_token_bytes) {
        errs.push(format!("{at}.max_token_bytes"), "between 512B and 64KiB");
    }
    let mut keys: Vec<Arc<VerifyKey>> = Vec::new();
    for (i, k) in c.keys.iter().enumerate() {
        let kat = format!("{at}.keys[{i}]");
        match compile_key(k) {
            Ok(key) => keys.push(Arc::new(key)),
            Err((field, msg)) => errs.push(format!("{kat}{field}"), msg),
        }
    }
    let mut jwks = None;
    if let Some(j) = &c.jwks {
        match compile_jwks(j, &format!("{at}.jwks"), registry, errs) {
            Some(JwksOrigin::File(list)) => keys.extend(list.into_iter().map(Arc::new)),
            Some(JwksOrigin::Url(source)) => jwks = Some(source),
            None => {}
        }
    }
    if keys.is_empty() && jwks.is_none() && errs.errors.len() == before {
        errs.push(at.to_owned(), "give `keys` or `jwks`: an issuer needs keys");
    }
    let mut seen = std::collections::HashSet::new();
    for k in &keys {
        if let Some(kid) = &k.kid
            && !seen.insert(kid.clone())
        {
            errs.push(format!("{at}.keys"), format!("kid {kid:?} is used twice"));
        }
    }
    let path = |s: Option<&crate::config::expand::ExpandedString>, default: &str| -> Vec<String> {
        s.map_or(default, |v| v.as_str())
            .split('.')
            .map(str::to_owned)
            .collect()
    };
    let roles_claim = path(c.roles_claim.as_ref(), "roles");
    if c.consumer_claim.as_ref().is_some_and(|v| v.is_empty()) {
        errs.push(format!("{at}.consumer_claim"), "must not be empty");
    }
    for (i, r) in c.required_claims.iter().enumerate() {
        if r.is_empty() {
            errs.push(format!("{at}.required_claims[{i}]"), "must not be empty");
        }
    }
    if roles_claim.iter().any(String::is_empty) {
        errs.push(format!("{at}.roles_claim"), "empty path segment");
    }
    if errs.errors.len() != before {
        return None;
    }
    let settings = IssuerSettings {
        name: name.to_owned(),
        rules: ClaimRules {
            issuer: c.issuer.to_string(),
            audiences: c.audiences.iter().map(ToString::to_string).collect(),
            required: c.required_claims.iter().map(ToString::to_string).collect(),
            require_exp: c.require_exp.unwrap_or(true),
            leeway: leeway.as_secs_f64(),
        },
        max_token_bytes,
        consumer_claim: c
            .consumer_claim
            .as_ref()
            .map_or("sub".to_owned(), ToString::to_string),
        roles_claim,
        cache_entries: c.cache_entries.unwrap_or(10_000),
    };
    Some(Issuer::new(settings, keys, jwks))
}

/// A config key → a bound key; the error names the field (`.alg`, `.pem`, ...).
fn compile_key(k: &JwtKeyConfig) -> Result<VerifyKey, (&'static str, String)> {
    let alg = Alg::parse(&k.alg).ok_or((
        ".alg",
        format!(
            "unsupported algorithm {:?}: RS256/384/512, PS256/384/512, ES256/384, EdDSA, HS256/384/512",
            k.alg.as_str()
        ),
    ))?;
    let kid = k.kid.as_ref().map(ToString::to_string);
    let given = [
        k.pem.is_some(),
        k.pem_file.is_some(),
        k.secret.is_some(),
        k.secret_file.is_some(),
        k.jwk.is_some(),
    ]
    .iter()
    .filter(|g| **g)
    .count();
    if given != 1 {
        return Err((
            "",
            "give exactly one of `pem`, `pem_file`, `secret`, `secret_file`, `jwk`".into(),
        ));
    }
    if let Some(pem) = &k.pem {
        return VerifyKey::from_pem(kid, alg, pem.as_bytes()).map_err(|e| (".pem", e));
    }
    if let Some(p) = &k.pem_file {
        let bytes = read_small(p).map_err(|e| (".pem_file", e))?;
        return VerifyKey::from_pem(kid, alg, &bytes).map_err(|e| (".pem_file", e));
    }
    if let Some(s) = &k.secret {
        return VerifyKey::from_secret(kid, alg, s.as_bytes()).map_err(|e| (".secret", e));
    }
    if let Some(p) = &k.secret_file {
        let mut bytes = read_small(p).map_err(|e| (".secret_file", e))?;
        for end in [b'\n', b'\r'] {
            if bytes.last() == Some(&end) {
                bytes.pop();
            }
        }
        return VerifyKey::from_secret(kid, alg, &bytes).map_err(|e| (".secret_file", e));
    }
    let text = k.jwk.as_deref().unwrap_or("");
    let mut obj: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(text).map_err(|e| (".jwk", format!("not a JSON object: {e}")))?;
    // A `kid` in the config wins over the JWK's own.
    if let Some(k) = kid {
        obj.insert("kid".into(), serde_json::Value::String(k));
    }
    let key = VerifyKey::from_jwk(&obj, Some(alg), true).map_err(|e| (".jwk", e))?;
    if key.alg != alg {
        return Err((".jwk", format!("the JWK says alg {:?}", key.alg)));
    }
    Ok(key)
}

fn read_small(p: &str) -> Result<Vec<u8>, String> {
    crate::config::expand::read_capped(&resolve_path(p), MAX_KEY_FILE_BYTES)
}

/// A duration setting, or its default in seconds.
fn secs_or(v: Option<crate::config::units::HumanDuration>, default: u64) -> Duration {
    v.map_or(Duration::from_secs(default), |d| d.0)
}

/// A control-plane URL: `https://`, or `http://` only with `allow_insecure_http` (tests).
/// `clear` says what would travel in clear over `http://`.
fn remote_url(
    url: &str,
    allow_insecure_http: bool,
    clear: &str,
    at: &str,
    errs: &mut Collector,
) -> Option<http::Uri> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("http://") {
        if !allow_insecure_http {
            errs.push(
                format!("{at}.url"),
                format!("must be https:// ({clear}; `allow_insecure_http: true` is for tests)"),
            );
            return None;
        }
    } else if !lower.starts_with("https://") {
        errs.push(format!("{at}.url"), "must be an https:// URL");
        return None;
    }
    let parsed = url.parse::<http::Uri>().ok();
    if parsed.is_none() {
        errs.push(format!("{at}.url"), "not a URL");
    }
    parsed
}

enum JwksOrigin {
    File(Vec<VerifyKey>),
    Url(Arc<super::jwks::JwksSource>),
}

fn compile_jwks(
    j: &JwksConfig,
    at: &str,
    registry: &JwksRegistry,
    errs: &mut Collector,
) -> Option<JwksOrigin> {
    match (&j.url, &j.file) {
        (Some(_), Some(_)) | (None, None) => {
            errs.push(at.to_owned(), "give exactly one of `url` and `file`");
            None
        }
        (None, Some(f)) => {
            let parsed = read_small(f).and_then(|b| parse_jwks(&b));
            match parsed {
                Ok((keys, _)) => Some(JwksOrigin::File(keys)),
                Err(e) => {
                    errs.push(format!("{at}.file"), e);
                    None
                }
            }
        }
        (Some(url), None) => {
            remote_url(
                url,
                j.allow_insecure_http,
                "a key set fetched in clear can be replaced on the way",
                at,
                errs,
            )?;
            let settings = JwksSettings {
                url: url.to_string(),
                refresh_interval: secs_or(j.refresh_interval, 300),
                min_refresh_interval: secs_or(j.min_refresh_interval, 30),
                timeout: secs_or(j.timeout, 5),
                ca: j.ca.as_ref().map(|c| resolve_path(c).display().to_string()),
            };
            if settings.refresh_interval < Duration::from_secs(1)
                || settings.timeout.is_zero()
                || settings.min_refresh_interval > settings.refresh_interval
            {
                errs.push(
                    at.to_owned(),
                    "refresh_interval ≥ 1s, timeout > 0, and min_refresh_interval ≤ refresh_interval",
                );
                return None;
            }
            match registry.source(settings) {
                Ok(s) => Some(JwksOrigin::Url(s)),
                Err(e) => {
                    errs.push(format!("{at}.url"), e);
                    None
                }
            }
        }
    }
}
