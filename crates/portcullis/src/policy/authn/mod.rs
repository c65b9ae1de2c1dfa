//! Authentication: proves who the caller is. A route lists the methods it accepts, tried in
//! order; the first credential that is present decides (a present but wrong credential fails
//! the request rather than falling through to a weaker method). Success puts the identity on
//! the request context; failure answers 401 with a challenge and says nothing about which part
//! of the credential was wrong. Every attempt emits a security event.
//!
//! Methods: API keys, JWT bearer tokens, token introspection, mTLS client certificates and
//! basic auth.

pub mod apikey;
pub mod basic;
pub mod introspect;
pub mod issuers;
pub mod jwks;
pub mod jwt;

use std::sync::Arc;
use std::time::SystemTime;

use http::request::Parts;
use http::{HeaderName, HeaderValue, header};

use std::collections::HashMap;

use super::{Decision, Deny, Identity, Patch, RequestCtx};

/// SipHash-1-3-128 of `bytes` under `key`: the cache key of a credential (a presented API key,
/// a token). No copy of the credential is kept, and without `key` nobody can make one
/// credential's key equal another's (about 2^128 tries).
pub(crate) fn keyed_digest(key: &[u8; 16], bytes: &[u8]) -> u128 {
    use siphasher::sip128::{Hasher128, SipHasher13};
    use std::hash::Hasher;
    let mut h = SipHasher13::new_with_key(key);
    h.write(bytes);
    h.finish128().as_u128()
}
use crate::listener::tls::ClientCertIdentity;
use crate::observe::events::SecurityEvent;
use crate::reply::Problem;

/// A named identity with roles, declared in config.
#[derive(Debug)]
pub struct Consumer {
    /// Name.
    pub name: Arc<str>,
    /// Roles.
    pub roles: Arc<[String]>,
    /// Groups.
    pub groups: Vec<String>,
}

impl Consumer {
    /// The identity this consumer proves through `method`.
    fn identity(&self, method: &'static str) -> Identity {
        Identity {
            consumer: self.name.clone(),
            method,
            roles: self.roles.clone(),
            scopes: Arc::from([]),
            claims: None,
        }
    }
}

/// Where a route reads an API key from.
#[derive(Debug, Clone)]
pub struct ApiKeySource {
    /// Header (default `x-api-key`).
    pub header: Option<HeaderName>,
    /// Query parameter.
    pub query: Option<String>,
    /// `Authorization: Bearer <key>`.
    pub bearer: bool,
}

/// Consumers recognised by their verified client certificate.
#[derive(Debug, Default)]
pub struct MtlsDirectory {
    by_fingerprint: HashMap<String, Arc<Consumer>>,
    by_san: HashMap<String, Arc<Consumer>>,
    by_subject: HashMap<String, Arc<Consumer>>,
}

impl MtlsDirectory {
    /// The consumer for a verified certificate: fingerprint first, then SANs, then subject.
    pub fn find(&self, cert: &ClientCertIdentity) -> Option<&Arc<Consumer>> {
        self.by_fingerprint
            .get(&cert.fingerprint)
            .or_else(|| {
                cert.sans
                    .iter()
                    .find_map(|s| self.by_san.get(&san_key(san_value(s))))
            })
            .or_else(|| self.by_subject.get(&cert.subject))
    }

    /// Whether no certificate is mapped.
    pub fn is_empty(&self) -> bool {
        self.by_fingerprint.is_empty() && self.by_san.is_empty() && self.by_subject.is_empty()
    }
}

/// The lookup form of a SAN value: DNS names compared without case (RFC 4343), email domains
/// too; URIs (SPIFFE IDs) and everything else exactly.
fn san_key(v: &str) -> String {
    if v.contains("://") {
        v.to_owned()
    } else if let Some((local, domain)) = v.rsplit_once('@') {
        format!("{local}@{}", domain.to_ascii_lowercase())
    } else {
        v.to_ascii_lowercase()
    }
}

/// `URI:spiffe://…` → `spiffe://…`: SANs are matched by value whatever their type.
fn san_value(s: &str) -> &str {
    s.split_once(':')
        .filter(|(t, _)| matches!(*t, "DNS" | "URI" | "email" | "IP"))
        .map_or(s, |(_, v)| v)
}

/// One authentication method of a route.
#[derive(Debug)]
pub enum Method {
    /// API key.
    ApiKey {
        /// Where to read it.
        source: ApiKeySource,
        /// Stored keys.
        store: Arc<apikey::KeyStore>,
    },
    /// The client certificate verified by the listener.
    Mtls(Arc<MtlsDirectory>),
    /// An opaque bearer token checked at an introspection endpoint.
    Introspection {
        /// The endpoint.
        endpoint: Arc<introspect::Introspector>,
        /// Which bearer tokens are this method's (`Opaque` when the route also takes JWTs).
        bearer: BearerShape,
    },
    /// `Authorization: Basic` against Argon2id hashes.
    Basic(Arc<basic::BasicDirectory>),
    /// A JWT bearer token from one of these issuers.
    Jwt {
        /// Accepted issuers.
        issuers: Vec<Arc<jwt::Issuer>>,
        /// Header carrying the bare token, instead of `Authorization: Bearer`.
        header: Option<HeaderName>,
        /// Which bearer tokens are this method's: `Jwt` when another method of the route
        /// takes opaque ones, else `Any` (so a malformed token is refused, not skipped).
        bearer: BearerShape,
    },
}

/// Which `Authorization: Bearer` tokens a method takes when several methods of a route read
/// bearer tokens: JWTs (three base64url segments) go to `jwt`, the others to `api_key` or
/// `introspection`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerShape {
    /// Every bearer token.
    Any,
    /// JWT-shaped tokens only.
    Jwt,
    /// Tokens that are not JWT-shaped.
    Opaque,
}

impl BearerShape {
    fn takes(self, token: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Jwt => jwt::looks_like_jwt(token),
            Self::Opaque => !jwt::looks_like_jwt(token),
        }
    }
}

/// The `Authorization` credential of `scheme` (case-insensitive): `None` when the header is
/// missing or names another scheme; `Some(Err(()))` when the header is not text or is sent
/// twice (each layer behind could read another one), which every method refuses.
fn authorization<'a>(req: &'a Parts, scheme: &str) -> Option<Result<&'a str, ()>> {
    let mut all = req.headers.get_all(header::AUTHORIZATION).iter();
    let v = all.next()?;
    let (Ok(v), None) = (v.to_str(), all.next()) else {
        return Some(Err(()));
    };
    let (s, token) = v.split_once(' ')?;
    s.eq_ignore_ascii_case(scheme).then_some(Ok(token.trim()))
}

/// A bearer token of `shape` from `Authorization`.
fn find_bearer(req: &Parts, shape: BearerShape) -> Presented<'_> {
    match authorization(req, "bearer") {
        Some(Err(())) => Presented::Found("", Location::Bearer),
        Some(Ok(token)) if shape.takes(token) => Presented::Found(token, Location::Bearer),
        _ => Presented::Absent,
    }
}

/// The authentication methods' names, as `auth.methods` lists them and
/// [`Identity::method`] gives them.
pub mod names {
    /// API keys.
    pub const API_KEY: &str = "api_key";
    /// Basic auth.
    pub const BASIC: &str = "basic";
    /// JWT bearer tokens.
    pub const JWT: &str = "jwt";
    /// Opaque tokens checked by introspection.
    pub const INTROSPECTION: &str = "introspection";
    /// Client certificates.
    pub const MTLS: &str = "mtls";
    /// Every name.
    pub const ALL: [&str; 5] = [API_KEY, BASIC, JWT, INTROSPECTION, MTLS];
}

impl Method {
    fn name(&self) -> &'static str {
        match self {
            Self::ApiKey { .. } => names::API_KEY,
            Self::Mtls(_) => names::MTLS,
            Self::Jwt { .. } => names::JWT,
            Self::Basic(_) => names::BASIC,
            Self::Introspection { .. } => names::INTROSPECTION,
        }
    }

    fn challenge(&self) -> &'static str {
        match self {
            Self::ApiKey { .. } => "ApiKey realm=\"portcullis\"",
            // No registered scheme names client certificates; this tells a client what to send.
            Self::Mtls(_) => "ClientCertificate realm=\"portcullis\"",
            Self::Jwt { .. } => "Bearer realm=\"portcullis\"",
            Self::Basic(_) => "Basic realm=\"portcullis\", charset=\"UTF-8\"",
            Self::Introspection { .. } => "Bearer realm=\"portcullis\"",
        }
    }

    /// The challenge after this method refused a credential (RFC 6750 §3.1 `invalid_token`
    /// for bearer tokens; nothing about what was wrong).
    fn refusal_challenge(&self) -> &'static str {
        match self {
            Self::Jwt { .. } | Self::Introspection { .. } => {
                "Bearer realm=\"portcullis\", error=\"invalid_token\""
            }
            other => other.challenge(),
        }
    }
}

/// The compiled `auth` block of a route.
#[derive(Debug)]
pub struct Authenticator {
    /// Methods in order.
    pub methods: Vec<Method>,
    /// Remove the credential before forwarding. Default true.
    pub hide_credentials: bool,
    /// Send `x-portcullis-consumer` and `x-portcullis-roles` upstream. Default true.
    pub forward_identity: bool,
    /// Claims sent upstream: header → claim path.
    pub forward_claims: Vec<(HeaderName, Vec<String>)>,
    /// Consumers named by token subjects.
    pub subjects: Arc<SubjectMap>,
}

/// What the caller sent for a method.
enum Presented<'a> {
    /// Nothing for this method.
    Absent,
    /// A credential, and where it was found (for hiding).
    Found(&'a str, Location),
}

#[derive(Clone, Copy)]
enum Location {
    Header,
    Bearer,
    Query,
}

fn find_api_key<'a>(src: &'a ApiKeySource, req: &'a Parts) -> Presented<'a> {
    if let Some(h) = &src.header
        && let Some(v) = req.headers.get(h)
    {
        // A value that is not text is still a (malformed) credential: refuse, don't fall back.
        return Presented::Found(v.to_str().map(str::trim).unwrap_or(""), Location::Header);
    }
    if src.bearer
        && let found @ Presented::Found(..) = find_bearer(req, BearerShape::Opaque)
    {
        // A JWT-shaped bearer token is left to the `jwt` method.
        return found;
    }
    if let Some(q) = &src.query
        && let Some(v) = crate::router::query_values(req.uri.query(), q).next()
    {
        return Presented::Found(v, Location::Query);
    }
    Presented::Absent
}

/// A JWT from the bare value of `header`, or else a bearer token of `shape`.
fn find_jwt<'a>(header: Option<&HeaderName>, shape: BearerShape, req: &'a Parts) -> Presented<'a> {
    match header {
        Some(h) => match req.headers.get(h) {
            None => Presented::Absent,
            Some(v) => Presented::Found(v.to_str().map(str::trim).unwrap_or(""), Location::Header),
        },
        None => find_bearer(req, shape),
    }
}

/// What one method made of a request.
enum Attempt {
    /// No credential for this method: try the next one.
    Absent,
    /// A credential was present and refused, for this reason.
    Refused(&'static str),
    /// A credential was present and could not be checked (a verifier is down): 503.
    Unavailable(&'static str),
    /// Proven: the identity, the credential's label, and the edit that hides it.
    Proven(Identity, Option<String>, Option<Edit>),
}

/// An edit of the upstream request that authentication asks for.
#[derive(Debug)]
pub enum Edit {
    /// Remove a header (the credential).
    RemoveHeader(HeaderName),
    /// Remove a query parameter (the credential).
    RemoveQuery(String),
    /// Set an identity header.
    SetHeader(HeaderName, HeaderValue),
}

impl Authenticator {
    /// Runs the methods in order; the first credential present decides. On success the
    /// identity goes on the context and the credential edits come back as a patch. Every
    /// attempt emits one security event.
    pub async fn on_request(&self, ctx: &mut RequestCtx, req: &Parts) -> Decision {
        for m in &self.methods {
            match self.attempt(m, ctx, req).await {
                Attempt::Absent => continue,
                Attempt::Refused(reason) => {
                    ctx.refused_method = Some(m.name());
                    SecurityEvent::authn(m.name(), reason).emit(ctx);
                    let mut d = self.unauthenticated(Some(m));
                    d.outcome = reason;
                    return Decision::Deny(d);
                }
                Attempt::Unavailable(reason) => {
                    SecurityEvent::authn(m.name(), reason).emit(ctx);
                    let mut d = Deny::new(Problem::Unavailable);
                    d.outcome = reason;
                    return Decision::Deny(d);
                }
                Attempt::Proven(identity, label, hide) => {
                    let mut event = SecurityEvent::authn(m.name(), "success");
                    event.consumer = Some(identity.consumer.clone());
                    event.credential = label;
                    event.emit(ctx);
                    let mut edits = Vec::new();
                    if self.hide_credentials {
                        edits.extend(hide);
                    }
                    if self.forward_identity {
                        identity_edits(&identity, &mut edits);
                    }
                    if let Some(claims) = &identity.claims {
                        claim_edits(claims, &self.forward_claims, &mut edits);
                    }
                    ctx.identity = Some(identity);
                    return Decision::Modify(Patch::Credentials(edits), "success");
                }
            }
        }
        SecurityEvent::authn("none", "missing_credential").emit(ctx);
        let mut d = self.unauthenticated(None);
        d.outcome = "missing_credential";
        Decision::Deny(d)
    }

    async fn attempt(&self, m: &Method, ctx: &RequestCtx, req: &Parts) -> Attempt {
        match m {
            Method::Mtls(dir) => match &ctx.client_cert {
                None => Attempt::Absent,
                Some(cert) => match dir.find(cert) {
                    Some(consumer) => Attempt::Proven(consumer.identity(names::MTLS), None, None),
                    None => Attempt::Refused("unknown_certificate"),
                },
            },
            Method::Introspection { endpoint, bearer } => {
                let Presented::Found(token, _) = find_bearer(req, *bearer) else {
                    return Attempt::Absent;
                };
                match endpoint.check(token).await {
                    Ok(a) => {
                        match self.subjects.identity(
                            endpoint.name(),
                            &a.token,
                            names::INTROSPECTION,
                        ) {
                            Ok(id) => Attempt::Proven(
                                id,
                                Some(endpoint.name().to_owned()),
                                Some(Edit::RemoveHeader(header::AUTHORIZATION)),
                            ),
                            Err(reason) => Attempt::Refused(reason),
                        }
                    }
                    Err(introspect::Outcome::Inactive) => Attempt::Refused("inactive_token"),
                    Err(introspect::Outcome::Unavailable) => {
                        Attempt::Unavailable("introspection_unavailable")
                    }
                }
            }
            Method::Basic(dir) => {
                let token = match authorization(req, "basic") {
                    None => return Attempt::Absent,
                    Some(Err(())) => return Attempt::Refused("malformed_credential"),
                    Some(Ok(token)) => token,
                };
                let Some((user, password)) = basic::parse_credential(token) else {
                    return Attempt::Refused("malformed_credential");
                };
                let password = zeroize::Zeroizing::new(password);
                match dir.verify(&user, &password).await {
                    Ok(c) => Attempt::Proven(
                        c.identity(names::BASIC),
                        None,
                        Some(Edit::RemoveHeader(header::AUTHORIZATION)),
                    ),
                    Err(reason) => Attempt::Refused(reason),
                }
            }
            Method::Jwt {
                issuers,
                header,
                bearer,
            } => {
                let Presented::Found(token, loc) = find_jwt(header.as_ref(), *bearer, req) else {
                    return Attempt::Absent;
                };
                let hide = Some(Edit::RemoveHeader(match loc {
                    Location::Header => header.clone().unwrap_or(header::AUTHORIZATION),
                    _ => header::AUTHORIZATION,
                }));
                match verify_jwt(issuers, token).await {
                    Ok((issuer, v)) => match self.subjects.identity(issuer, &v.token, names::JWT) {
                        Ok(id) => Attempt::Proven(id, Some(issuer.to_owned()), hide),
                        Err(reason) => Attempt::Refused(reason),
                    },
                    Err(r) => Attempt::Refused(r.as_str()),
                }
            }
            Method::ApiKey { source, store } => {
                let Presented::Found(key, loc) = find_api_key(source, req) else {
                    return Attempt::Absent;
                };
                match store.verify(key, SystemTime::now()) {
                    Ok(entry) => {
                        let hide = match loc {
                            Location::Header => source.header.clone().map(Edit::RemoveHeader),
                            Location::Bearer => Some(Edit::RemoveHeader(header::AUTHORIZATION)),
                            Location::Query => source.query.clone().map(Edit::RemoveQuery),
                        };
                        Attempt::Proven(
                            entry.consumer.identity(names::API_KEY),
                            entry.label.clone(),
                            hide,
                        )
                    }
                    Err(reason) => Attempt::Refused(reason.as_str()),
                }
            }
        }
    }

    /// 401 with one challenge per method; the method that refused a credential says so.
    fn unauthenticated(&self, refused_by: Option<&Method>) -> Deny {
        let mut d = Deny::new(Problem::Unauthenticated);
        let mut seen: Vec<(&'static str, &'static str)> = Vec::new();
        for m in &self.methods {
            let c = match refused_by {
                Some(r) if std::ptr::eq(r, m) => m.refusal_challenge(),
                _ => m.challenge(),
            };
            // Two methods with one scheme (jwt and introspection are both `Bearer`) give one
            // challenge; the one of the method that refused the credential wins.
            let scheme = c.split(' ').next().unwrap_or(c);
            match seen.iter().position(|(s, _)| *s == scheme) {
                Some(i) if refused_by.is_some_and(|r| std::ptr::eq(r, m)) => seen[i].1 = c,
                Some(_) => {}
                None => seen.push((scheme, c)),
            }
        }
        for (_, c) in seen {
            d.headers
                .push((header::WWW_AUTHENTICATE, HeaderValue::from_static(c)));
        }
        d
    }
}

/// Verifies a JWT against a route's issuers: a cached verification when there is one, else
/// decode, pick the issuer by `iss`, and verify. Returns the issuer's name and the result.
async fn verify_jwt<'i>(
    issuers: &'i [Arc<jwt::Issuer>],
    token: &str,
) -> Result<(&'i str, Arc<jwt::Verified>), jwt::Reject> {
    let max = issuers
        .iter()
        .map(|i| i.settings.max_token_bytes)
        .max()
        .unwrap_or(0);
    if token.len() > max {
        return Err(jwt::Reject::TooLarge);
    }
    let now = jwt::now_secs();
    let digest = jwt::digest(token);
    for i in issuers {
        if let Some(hit) = i.cached(&digest, now) {
            return hit.map(|v| (i.settings.name.as_str(), v));
        }
    }
    let t = jwt::decode(token)?;
    let iss = match t.claims.get("iss") {
        Some(serde_json::Value::String(s)) => s.as_str(),
        Some(_) => return Err(jwt::Reject::InvalidClaim),
        None => return Err(jwt::Reject::MissingClaim),
    };
    let issuer = issuers
        .iter()
        .find(|i| i.settings.rules.issuer == iss)
        .ok_or(jwt::Reject::WrongIssuer)?;
    if token.len() > issuer.settings.max_token_bytes {
        return Err(jwt::Reject::TooLarge);
    }
    let v = issuer.verify(t, digest, now).await?;
    Ok((issuer.settings.name.as_str(), v))
}

fn identity_edits(id: &Identity, edits: &mut Vec<Edit>) {
    if let Ok(v) = HeaderValue::from_str(&id.consumer) {
        edits.push(Edit::SetHeader(
            HeaderName::from_static("x-portcullis-consumer"),
            v,
        ));
    }
    if let Ok(v) = HeaderValue::from_str(&id.roles.join(",")) {
        edits.push(Edit::SetHeader(
            HeaderName::from_static("x-portcullis-roles"),
            v,
        ));
    }
    if !id.scopes.is_empty()
        && let Ok(v) = HeaderValue::from_str(&id.scopes.join(" "))
    {
        edits.push(Edit::SetHeader(
            HeaderName::from_static("x-portcullis-scopes"),
            v,
        ));
    }
    edits.push(Edit::SetHeader(
        HeaderName::from_static("x-portcullis-auth-method"),
        HeaderValue::from_static(id.method),
    ));
}

/// Headers carrying the configured claims of a token.
fn claim_edits(
    claims: &serde_json::Map<String, serde_json::Value>,
    wanted: &[(HeaderName, Vec<String>)],
    edits: &mut Vec<Edit>,
) {
    use serde_json::Value;
    for (h, path) in wanted {
        let text = match jwt::claim_at(claims, path) {
            Some(Value::Array(items)) => {
                let parts: Option<Vec<String>> = items.iter().map(jwt::claim_text).collect();
                parts.map(|p| p.join(","))
            }
            Some(v) => jwt::claim_text(v),
            None => None,
        };
        if let Some(v) = text.and_then(|t| HeaderValue::from_str(&t).ok()) {
            edits.push(Edit::SetHeader(h.clone(), v));
        }
    }
}

/// Removes query parameter `name` from `uri`, keeping the rest in order.
pub fn remove_query_param(uri: &http::Uri, name: &str) -> Option<http::Uri> {
    let q = uri.query()?;
    let kept: Vec<&str> = q
        .split('&')
        .filter(|pair| pair.split_once('=').map_or(*pair, |(k, _)| k) != name)
        .collect();
    let pq = if kept.is_empty() {
        uri.path().to_owned()
    } else {
        format!("{}?{}", uri.path(), kept.join("&"))
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = pq.parse().ok();
    http::Uri::from_parts(parts).ok()
}

/// Role names travel upstream comma-separated in `x-portcullis-roles`, so they are restricted
/// to characters that can never be confused with the separator or break the header.
pub fn valid_role(r: &str) -> bool {
    (1..=64).contains(&r.len())
        && r.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// What consumers compile to: the key store (when a pepper is configured) and the directory of
/// client certificates.
#[derive(Debug, Default)]
pub struct Credentials {
    /// API keys.
    pub keys: Option<Arc<apikey::KeyStore>>,
    /// Client certificates.
    pub mtls: Arc<MtlsDirectory>,
    /// JWT issuers by name.
    pub issuers: HashMap<String, Arc<jwt::Issuer>>,
    /// Basic-auth users, when any consumer has one.
    pub basic: Option<Arc<basic::BasicDirectory>>,
    /// Introspection endpoints by name.
    pub introspection: HashMap<String, Arc<introspect::Introspector>>,
    /// Consumers named by token subjects.
    pub subjects: Arc<SubjectMap>,
}

/// Consumers named by token subjects: issuer (or introspection endpoint) name → subject →
/// consumer, and the sources whose tokens must map to a consumer.
#[derive(Debug, Default)]
pub struct SubjectMap {
    map: HashMap<String, HashMap<String, Arc<Consumer>>>,
    required: std::collections::HashSet<String>,
}

impl SubjectMap {
    /// The identity a verified token from `source` proves: the mapped consumer (its roles
    /// added to the token's), or the token's own subject; `Err` when `source` requires a
    /// consumer and none matches.
    fn identity(
        &self,
        source: &str,
        token: &jwt::TokenIdentity,
        method: &'static str,
    ) -> Result<Identity, &'static str> {
        let Some(c) = self.map.get(source).and_then(|m| m.get(&*token.subject)) else {
            if self.required.contains(source) {
                return Err("unknown_consumer");
            }
            return Ok(token.identity(method));
        };
        let roles: Arc<[String]> = if token.roles.is_empty() {
            c.roles.clone()
        } else {
            let mut r: Vec<String> = c.roles.to_vec();
            for x in token.roles.iter() {
                if !r.contains(x) {
                    r.push(x.clone());
                }
            }
            r.into()
        };
        Ok(Identity {
            consumer: c.name.clone(),
            method,
            roles,
            scopes: token.scopes.clone(),
            claims: Some(token.claims.clone()),
        })
    }
}

/// Compiles `token_subjects` of every consumer against the configured issuers and endpoints.
pub fn compile_subjects(
    identity: &crate::config::raw::IdentityConfig,
    consumers: &[crate::config::raw::ConsumerConfig],
    errs: &mut crate::config::error::Collector,
) -> SubjectMap {
    let mut out = SubjectMap::default();
    for (name, i) in &identity.jwt {
        if i.require_consumer {
            out.required.insert(name.clone());
        }
    }
    for (name, i) in &identity.introspection {
        if i.require_consumer {
            out.required.insert(name.clone());
        }
    }
    for (ci, c) in consumers.iter().enumerate() {
        let consumer = Arc::new(Consumer {
            name: Arc::from(c.name.as_str()),
            roles: c.roles.iter().map(ToString::to_string).collect(),
            groups: c.groups.iter().map(ToString::to_string).collect(),
        });
        for (j, t) in c.token_subjects.iter().enumerate() {
            let at = format!("consumers[{ci}].token_subjects[{j}]");
            let known = identity.jwt.contains_key(t.issuer.as_str())
                || identity.introspection.contains_key(t.issuer.as_str());
            if !known {
                errs.push(
                    format!("{at}.issuer"),
                    format!(
                        "no issuer under `identity.jwt` or endpoint under `identity.introspection` named {:?}",
                        t.issuer.as_str()
                    ),
                );
                continue;
            }
            if t.subject.is_empty() {
                errs.push(format!("{at}.subject"), "must not be empty");
                continue;
            }
            let by_subject = out.map.entry(t.issuer.to_string()).or_default();
            if let Some(other) = by_subject.get(t.subject.as_str()) {
                errs.push(
                    format!("{at}.subject"),
                    format!("already names consumer {:?}", &*other.name),
                );
                continue;
            }
            by_subject.insert(t.subject.to_string(), consumer.clone());
        }
    }
    out
}

/// Compiles consumers and their credentials.
pub fn compile_consumers(
    identity: &crate::config::raw::IdentityConfig,
    consumers: &[crate::config::raw::ConsumerConfig],
    errs: &mut crate::config::error::Collector,
) -> Credentials {
    let mut mtls = MtlsDirectory::default();
    let any_keys = consumers.iter().any(|c| !c.api_keys.is_empty());
    let pepper = identity
        .api_key_pepper
        .as_ref()
        .map(|p| p.as_bytes().to_vec());
    match &pepper {
        Some(p) if p.len() < apikey::MIN_PEPPER_LEN => errs.push(
            "identity.api_key_pepper",
            format!("must be at least {} bytes", apikey::MIN_PEPPER_LEN),
        ),
        None if any_keys => errs.push(
            "identity.api_key_pepper",
            "required when consumers have API keys",
        ),
        _ => {}
    }
    let mut store = pepper.as_deref().map(apikey::KeyStore::new);
    let mut names = std::collections::HashSet::new();
    let mut hashes = std::collections::HashSet::new();
    let mut basic_users = HashMap::new();
    for (i, c) in consumers.iter().enumerate() {
        let at = format!("consumers[{i}]");
        if c.name.is_empty() || c.name.len() > 128 || !c.name.bytes().all(|b| b.is_ascii_graphic())
        {
            errs.push(format!("{at}.name"), "must be 1-128 printable characters");
        } else if !names.insert(c.name.to_string()) {
            errs.push(
                format!("{at}.name"),
                format!("duplicate consumer {:?}", c.name.as_str()),
            );
        }
        for (j, r) in c.roles.iter().enumerate() {
            if !valid_role(r) {
                errs.push(
                    format!("{at}.roles[{j}]"),
                    "a role is 1-64 of A-Z a-z 0-9 . _ : -",
                );
            }
        }
        let consumer = Arc::new(Consumer {
            name: Arc::from(c.name.as_str()),
            roles: c.roles.iter().map(ToString::to_string).collect(),
            groups: c.groups.iter().map(ToString::to_string).collect(),
        });
        if let Some(b) = &c.basic_auth {
            let bat = format!("{at}.basic_auth");
            if b.username.is_empty() || b.username.contains(':') || b.username.len() > 128 {
                errs.push(format!("{bat}.username"), "1-128 characters, no `:`");
            } else if let Err(e) = basic::check_hash(&b.password_hash) {
                errs.push(format!("{bat}.password_hash"), e);
            } else if basic_users
                .insert(
                    b.username.to_string(),
                    (consumer.clone(), b.password_hash.to_string()),
                )
                .is_some()
            {
                errs.push(
                    format!("{bat}.username"),
                    "another consumer has this username",
                );
            }
        }
        for (j, m) in c.mtls.iter().enumerate() {
            let mat = format!("{at}.mtls[{j}]");
            let given = [&m.subject, &m.san, &m.fingerprint]
                .iter()
                .filter(|v| v.is_some())
                .count();
            if given != 1 {
                errs.push(
                    mat,
                    "give exactly one of `subject`, `san` and `fingerprint`",
                );
                continue;
            }
            let empty_or_prefixed = [&m.subject, &m.san].into_iter().flatten().any(|v| {
                v.is_empty()
                    || ["DNS:", "URI:", "email:", "IP:"]
                        .iter()
                        .any(|p| v.starts_with(p))
            });
            if empty_or_prefixed {
                errs.push(
                    mat,
                    "values must not be empty; write SANs without a type prefix (`spiffe://…`, not `URI:spiffe://…`)",
                );
                continue;
            }
            let (map, key, what) = if let Some(s) = &m.subject {
                (&mut mtls.by_subject, s.to_string(), "subject")
            } else if let Some(s) = &m.san {
                (&mut mtls.by_san, san_key(s), "san")
            } else if let Some(f) = &m.fingerprint {
                let hexed: String = f
                    .chars()
                    .filter(|c| *c != ':')
                    .map(|c| c.to_ascii_lowercase())
                    .collect();
                if hexed.len() != 64 || !hexed.bytes().all(|b| b.is_ascii_hexdigit()) {
                    errs.push(
                        format!("{mat}.fingerprint"),
                        "must be a SHA-256 fingerprint (64 hex)",
                    );
                    continue;
                }
                (&mut mtls.by_fingerprint, hexed, "fingerprint")
            } else {
                continue;
            };
            if map.insert(key, consumer.clone()).is_some() {
                errs.push(
                    format!("{mat}.{what}"),
                    "listed twice: each value may identify one consumer, once",
                );
            }
        }
        for (j, k) in c.api_keys.iter().enumerate() {
            let kat = format!("{at}.api_keys[{j}]");
            if k.prefix.len() != apikey::PREFIX_LEN {
                errs.push(
                    format!("{kat}.prefix"),
                    format!(
                        "must be the first {} characters of the key",
                        apikey::PREFIX_LEN
                    ),
                );
            }
            let mut hash = [0u8; 32];
            if hex::decode_to_slice(k.hash.as_str(), &mut hash).is_err() {
                errs.push(
                    format!("{kat}.hash"),
                    "must be 64 hex characters (HMAC-SHA-256)",
                );
                continue;
            }
            if !hashes.insert(hash) {
                errs.push(format!("{kat}.hash"), "the same key is configured twice");
            }
            let expires_at = match &k.expires_at {
                None => None,
                Some(t) => match humantime::parse_rfc3339(t.as_str()) {
                    Ok(t) => Some(t),
                    Err(_) => {
                        errs.push(format!("{kat}.expires_at"), "not an RFC 3339 time");
                        None
                    }
                },
            };
            if let Some(s) = store.as_mut() {
                s.insert(
                    k.prefix.to_string(),
                    apikey::KeyEntry {
                        hash,
                        consumer: consumer.clone(),
                        expires_at,
                        revoked: k.revoked,
                        label: k.label.as_ref().map(ToString::to_string),
                    },
                );
            }
        }
    }
    let basic = if basic_users.is_empty() {
        None
    } else {
        match basic::BasicDirectory::new(basic_users) {
            Ok(d) => Some(Arc::new(d)),
            Err(e) => {
                errs.push("consumers", format!("basic auth: {e}"));
                None
            }
        }
    };
    Credentials {
        keys: store.map(Arc::new),
        mtls: Arc::new(mtls),
        issuers: HashMap::new(),
        basic,
        introspection: HashMap::new(),
        subjects: Arc::new(compile_subjects(identity, consumers, errs)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn san_lookup_ignores_case_of_dns_names_and_email_domains_only() {
        assert_eq!(san_key("Billing.Example.COM"), "billing.example.com");
        assert_eq!(san_key("Ops.Team@Example.COM"), "Ops.Team@example.com");
        assert_eq!(
            san_key("spiffe://Example.org/ns/Prod"),
            "spiffe://Example.org/ns/Prod"
        );
        assert_eq!(san_value("DNS:a.example"), "a.example");
        assert_eq!(san_value("URI:spiffe://x/y"), "spiffe://x/y");
    }
}
