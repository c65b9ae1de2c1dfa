//! JWT bearer tokens (OAuth 2.0 resource server, RFC 7519 / RFC 7515 / RFC 8725).
//!
//! The compact form is parsed here, strictly, before any key is touched: three base64url
//! segments without padding, JSON objects without duplicate names (RFC 7515 §5.2 allows a
//! parser to reject them, and a secure one does: two `alg`s or two `sub`s are an attack),
//! `alg` exactly one of the supported names (never `none`), `crit`, `b64`, `zip`, `enc` and
//! nested tokens refused. The key is chosen by `kid` among the issuer's keys, and each key
//! verifies exactly one algorithm, so algorithm confusion (an HMAC keyed with an RSA public
//! key) cannot happen. `jku`, `x5u`, `jwk` and `x5c` in the header are never used.
//! Keys are read with `jsonwebtoken` (PEM and JWK) and then parsed once into aws-lc-rs
//! verification keys, so a request pays for the signature check only, not for re-parsing the
//! key (fixed-size ECDSA signatures with r and s range-checked, RSA 2048-8192 bits, HMAC
//! compared in constant time). Claims are checked after the
//! signature: `iss` exactly, `aud` containing an accepted audience, `exp`, `nbf`, `iat` with
//! leeway, and the configured required claims.

use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::jwks::JwksSource;

/// Default cap on a token's size.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Default clock skew allowed.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// Largest leeway the config may set.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);
/// How long a verified token stays in the cache at most (it also leaves at its `exp`).
const CACHE_TTL: Duration = Duration::from_secs(300);
/// Tokens without `kid` try at most this many keys of their algorithm.
const MAX_KIDLESS_CANDIDATES: usize = 8;
/// Longest `kid` considered.
const MAX_KID_LEN: usize = 256;

/// A signature algorithm a key can be bound to. `none` is not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// HMAC SHA-256.
    HS256,
    /// HMAC SHA-384.
    HS384,
    /// HMAC SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 SHA-512.
    RS512,
    /// RSASSA-PSS SHA-256.
    PS256,
    /// RSASSA-PSS SHA-384.
    PS384,
    /// RSASSA-PSS SHA-512.
    PS512,
    /// ECDSA P-256 SHA-256.
    ES256,
    /// ECDSA P-384 SHA-384.
    ES384,
    /// Ed25519.
    EdDSA,
}

/// The key family an algorithm needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Shared secret.
    Hmac,
    /// RSA public key.
    Rsa,
    /// EC public key on the algorithm's curve.
    Ec,
    /// Ed25519 public key.
    Ed,
}

impl Alg {
    /// Parses an `alg` value. Names are case-sensitive (RFC 7515 §4.1.1).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "HS256" => Self::HS256,
            "HS384" => Self::HS384,
            "HS512" => Self::HS512,
            "RS256" => Self::RS256,
            "RS384" => Self::RS384,
            "RS512" => Self::RS512,
            "PS256" => Self::PS256,
            "PS384" => Self::PS384,
            "PS512" => Self::PS512,
            "ES256" => Self::ES256,
            "ES384" => Self::ES384,
            "EdDSA" => Self::EdDSA,
            _ => return None,
        })
    }

    /// The key family.
    pub fn family(self) -> Family {
        match self {
            Self::HS256 | Self::HS384 | Self::HS512 => Family::Hmac,
            Self::RS256 | Self::RS384 | Self::RS512 | Self::PS256 | Self::PS384 | Self::PS512 => {
                Family::Rsa
            }
            Self::ES256 | Self::ES384 => Family::Ec,
            Self::EdDSA => Family::Ed,
        }
    }

    /// Shortest HMAC secret: the hash's output size (RFC 7518 §3.2).
    pub fn min_secret_len(self) -> usize {
        match self {
            Self::HS384 => 48,
            Self::HS512 => 64,
            _ => 32,
        }
    }
}

/// Longest signature considered (RSA-8192 is 1024 bytes).
const MAX_SIGNATURE_BYTES: usize = 1024;

/// A key ready to verify: parsed once, at load.
enum Verifier {
    /// Boxed: an HMAC key holds its precomputed state (over a kilobyte).
    Hmac(Box<aws_lc_rs::hmac::Key>),
    Public(aws_lc_rs::signature::ParsedPublicKey),
}

impl Alg {
    /// The public-key verification algorithm (`None` for HMAC).
    fn verification(self) -> Option<&'static dyn aws_lc_rs::signature::VerificationAlgorithm> {
        use aws_lc_rs::signature as s;
        Some(match self {
            Self::RS256 => &s::RSA_PKCS1_2048_8192_SHA256,
            Self::RS384 => &s::RSA_PKCS1_2048_8192_SHA384,
            Self::RS512 => &s::RSA_PKCS1_2048_8192_SHA512,
            Self::PS256 => &s::RSA_PSS_2048_8192_SHA256,
            Self::PS384 => &s::RSA_PSS_2048_8192_SHA384,
            Self::PS512 => &s::RSA_PSS_2048_8192_SHA512,
            Self::ES256 => &s::ECDSA_P256_SHA256_FIXED,
            Self::ES384 => &s::ECDSA_P384_SHA384_FIXED,
            Self::EdDSA => &s::ED25519,
            Self::HS256 | Self::HS384 | Self::HS512 => return None,
        })
    }

    fn hmac(self) -> aws_lc_rs::hmac::Algorithm {
        match self {
            Self::HS384 => aws_lc_rs::hmac::HMAC_SHA384,
            Self::HS512 => aws_lc_rs::hmac::HMAC_SHA512,
            _ => aws_lc_rs::hmac::HMAC_SHA256,
        }
    }
}

impl Verifier {
    fn new(alg: Alg, key: &DecodingKey) -> Result<Self, String> {
        use jsonwebtoken::DecodingKeyKind as K;
        let Some(verification) = alg.verification() else {
            let K::SecretOrDer(secret) = key.kind() else {
                return Err("not an HMAC secret".into());
            };
            return Ok(Self::Hmac(Box::new(aws_lc_rs::hmac::Key::new(
                alg.hmac(),
                secret,
            ))));
        };
        let parsed = match key.kind() {
            K::SecretOrDer(bytes) => {
                aws_lc_rs::signature::ParsedPublicKey::new(verification, bytes)
            }
            K::RsaModulusExponent { n, e } => {
                use aws_lc_rs::encoding::AsDer;
                let der = aws_lc_rs::rsa::PublicKeyComponents {
                    n: n.as_slice(),
                    e: e.as_slice(),
                }
                .as_der()
                .map_err(|_| "unreadable RSA key".to_owned())?;
                aws_lc_rs::signature::ParsedPublicKey::new(verification, der.as_ref())
            }
        };
        parsed
            .map(Self::Public)
            .map_err(|e| format!("not a usable {alg:?} public key ({e})"))
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::Hmac(k) => aws_lc_rs::hmac::verify(k, message, signature).is_ok(),
            Self::Public(k) => k.verify_sig(message, signature).is_ok(),
        }
    }
}

/// A verification key bound to one algorithm.
pub struct VerifyKey {
    /// Key id.
    pub kid: Option<String>,
    /// The one algorithm it verifies.
    pub alg: Alg,
    key: Verifier,
    /// What the key was made from, to recognise the same key across JWKS refreshes.
    material: Vec<u8>,
}

impl std::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key material: HMAC keys are secrets.
        f.debug_struct("VerifyKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl VerifyKey {
    /// A key from a PEM public key (SubjectPublicKeyInfo, or PKCS#1 for RSA).
    pub fn from_pem(kid: Option<String>, alg: Alg, pem: &[u8]) -> Result<Self, String> {
        let key = match alg.family() {
            Family::Rsa => DecodingKey::from_rsa_pem(pem),
            Family::Ec => DecodingKey::from_ec_pem(pem),
            Family::Ed => DecodingKey::from_ed_pem(pem),
            Family::Hmac => return Err("an HMAC algorithm takes a secret, not a PEM key".into()),
        }
        .map_err(|e| format!("not a {alg:?} public key: {e}"))?;
        check_public_key(alg, &key)?;
        Ok(Self {
            kid,
            alg,
            key: Verifier::new(alg, &key)?,
            material: pem.to_vec(),
        })
    }

    /// An HMAC key from its secret.
    pub fn from_secret(kid: Option<String>, alg: Alg, secret: &[u8]) -> Result<Self, String> {
        if alg.family() != Family::Hmac {
            return Err(format!("{alg:?} takes a public key, not a secret"));
        }
        if secret.len() < alg.min_secret_len() {
            return Err(format!(
                "{alg:?} needs a secret of at least {} bytes",
                alg.min_secret_len()
            ));
        }
        Ok(Self {
            kid,
            alg,
            key: Verifier::new(alg, &DecodingKey::from_secret(secret))?,
            material: secret.to_vec(),
        })
    }

    /// A key from one JWK (RFC 7517). The algorithm is the JWK's `alg` when it has one, else
    /// `default_alg`, else inferred from the curve (EC, OKP); an RSA JWK without `alg` needs
    /// a default. `allow_secret` admits `oct` keys (from config, never from a URL).
    pub fn from_jwk(
        jwk: &Map<String, Value>,
        default_alg: Option<Alg>,
        allow_secret: bool,
    ) -> Result<Self, String> {
        let text = |k: &str| jwk.get(k).and_then(Value::as_str);
        if let Some(u) = jwk.get("use")
            && u.as_str() != Some("sig")
        {
            return Err("`use` is not `sig`".into());
        }
        if let Some(ops) = jwk.get("key_ops") {
            let verifies = ops
                .as_array()
                .is_some_and(|a| a.iter().any(|o| o.as_str() == Some("verify")));
            if !verifies {
                return Err("`key_ops` does not include `verify`".into());
            }
        }
        let kty = text("kty").ok_or("missing `kty`")?;
        let crv = text("crv");
        let alg = match jwk.get("alg") {
            Some(a) => {
                let a = a.as_str().ok_or("`alg` is not a string")?;
                Alg::parse(a).ok_or_else(|| format!("unsupported alg {a:?}"))?
            }
            None => match (kty, crv, default_alg) {
                (_, _, Some(a)) => a,
                ("EC", Some("P-256"), None) => Alg::ES256,
                ("EC", Some("P-384"), None) => Alg::ES384,
                ("OKP", Some("Ed25519"), None) => Alg::EdDSA,
                _ => return Err("no `alg`, and none can be inferred".into()),
            },
        };
        let kid = match jwk.get("kid") {
            None => None,
            Some(Value::String(k)) => Some(k.clone()),
            Some(_) => return Err("`kid` is not a string".into()),
        };
        let fits = match (alg.family(), kty, crv) {
            (Family::Rsa, "RSA", _) => true,
            (Family::Ec, "EC", Some("P-256")) => alg == Alg::ES256,
            (Family::Ec, "EC", Some("P-384")) => alg == Alg::ES384,
            (Family::Ed, "OKP", Some("Ed25519")) => true,
            (Family::Hmac, "oct", _) => true,
            _ => false,
        };
        if !fits {
            return Err(format!("a {kty} key cannot verify {alg:?}"));
        }
        if alg.family() == Family::Hmac {
            if !allow_secret {
                return Err("symmetric (`oct`) keys are not taken from a key set URL".into());
            }
            let k = text("k").ok_or("missing `k`")?;
            let secret = URL_SAFE_NO_PAD
                .decode(k)
                .map_err(|_| "`k` is not base64url")?;
            return Self::from_secret(kid, alg, &secret);
        }
        let parsed: jsonwebtoken::jwk::Jwk = serde_json::from_value(Value::Object(jwk.clone()))
            .map_err(|e| format!("invalid JWK: {e}"))?;
        let key = DecodingKey::from_jwk(&parsed).map_err(|e| format!("invalid JWK: {e}"))?;
        check_public_key(alg, &key)?;
        let mut material = kty.as_bytes().to_vec();
        for part in ["crv", "n", "e", "x", "y"] {
            material.push(b'|');
            material.extend_from_slice(text(part).unwrap_or("").as_bytes());
        }
        Ok(Self {
            kid,
            alg,
            key: Verifier::new(alg, &key)?,
            material,
        })
    }

    /// Whether `other` is the same key (same id, algorithm and material).
    pub fn same_as(&self, other: &Self) -> bool {
        self.kid == other.kid && self.alg == other.alg && self.material == other.material
    }
}

/// Refuses public keys that can never verify (RSA below 2048 bits) at load time rather than
/// at every request.
fn check_public_key(alg: Alg, key: &DecodingKey) -> Result<(), String> {
    if alg.family() != Family::Rsa {
        return Ok(());
    }
    let bits = match key.kind() {
        jsonwebtoken::DecodingKeyKind::RsaModulusExponent { n, .. } => {
            let n = n.iter().skip_while(|b| **b == 0).count();
            Some(n * 8)
        }
        // SubjectPublicKeyInfo / PKCS#1 DER: parse it the way aws-lc-rs will.
        jsonwebtoken::DecodingKeyKind::SecretOrDer(der) => aws_lc_rs::rsa::PublicKey::from_der(der)
            .ok()
            .map(|k| k.modulus_len() * 8),
    };
    match bits {
        Some(b) if b >= 2048 => Ok(()),
        Some(b) => Err(format!("RSA key of {b} bits: at least 2048 are required")),
        None => Err("unreadable RSA public key".into()),
    }
}

/// Why a token was refused. The codes go to events and logs, never to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    /// Larger than the issuer allows.
    TooLarge,
    /// Not three base64url segments of JSON objects, or duplicate names.
    Malformed,
    /// `alg` missing, `none`, or not supported.
    UnsupportedAlg,
    /// A header the gateway does not support (`crit`, `b64`, `zip`, `enc`, nested JWT).
    UnsupportedHeader,
    /// No key with this `kid` (or, without `kid`, for this algorithm).
    UnknownKey,
    /// The key named by `kid` is bound to another algorithm.
    AlgMismatch,
    /// The signature does not verify.
    BadSignature,
    /// `exp` has passed.
    Expired,
    /// `nbf` is in the future.
    NotYetValid,
    /// `iat` is in the future.
    IssuedInFuture,
    /// `iss` is not the issuer's (or no configured issuer has it).
    WrongIssuer,
    /// `aud` holds none of the accepted audiences.
    WrongAudience,
    /// A required claim is missing.
    MissingClaim,
    /// A registered claim has the wrong type.
    InvalidClaim,
}

impl Reject {
    /// The reason code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TooLarge => "token_too_large",
            Self::Malformed => "malformed_token",
            Self::UnsupportedAlg => "unsupported_alg",
            Self::UnsupportedHeader => "unsupported_header",
            Self::UnknownKey => "unknown_key",
            Self::AlgMismatch => "alg_mismatch",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::IssuedInFuture => "issued_in_future",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::MissingClaim => "missing_claim",
            Self::InvalidClaim => "invalid_claim",
        }
    }
}

/// A decoded token whose signature is not yet checked.
#[derive(Debug)]
pub struct Unverified<'t> {
    /// Header `alg`.
    pub alg: Alg,
    /// Header `kid`.
    pub kid: Option<String>,
    /// The claims.
    pub claims: Map<String, Value>,
    signing_input: &'t str,
    signature: &'t str,
}

/// Whether `token` has the shape of a JWS compact token (so other bearer methods can leave
/// it alone): three non-empty base64url segments.
pub fn looks_like_jwt(token: &str) -> bool {
    let mut n = 0;
    for seg in token.split('.') {
        if seg.is_empty() {
            return false;
        }
        n += 1;
    }
    n == 3
}

/// Parses a compact JWS strictly. Nothing here touches a key.
pub fn decode(token: &str) -> Result<Unverified<'_>, Reject> {
    let valid_char = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.';
    if token.is_empty() || !token.bytes().all(valid_char) {
        return Err(Reject::Malformed);
    }
    let mut parts = token.splitn(4, '.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Reject::Malformed);
    };
    if h.is_empty() || p.is_empty() || s.is_empty() || s.contains('.') {
        return Err(Reject::Malformed);
    }
    let header = strict_object(&URL_SAFE_NO_PAD.decode(h).map_err(|_| Reject::Malformed)?)?;
    let alg = match header.get("alg") {
        Some(Value::String(a)) => Alg::parse(a).ok_or(Reject::UnsupportedAlg)?,
        _ => return Err(Reject::UnsupportedAlg),
    };
    for refused in ["crit", "b64", "zip", "enc"] {
        if header.contains_key(refused) {
            return Err(Reject::UnsupportedHeader);
        }
    }
    match header.get("cty") {
        None => {}
        Some(Value::String(c)) if !c.eq_ignore_ascii_case("jwt") => {}
        Some(_) => return Err(Reject::UnsupportedHeader),
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(k)) if k.len() <= MAX_KID_LEN => Some(k.clone()),
        Some(_) => return Err(Reject::Malformed),
    };
    let claims = strict_object(&URL_SAFE_NO_PAD.decode(p).map_err(|_| Reject::Malformed)?)?;
    let signing_input = &token[..h.len() + 1 + p.len()];
    Ok(Unverified {
        alg,
        kid,
        claims,
        signing_input,
        signature: s,
    })
}

/// Checks the signature of `t` with `key`.
pub fn verify_signature(t: &Unverified<'_>, key: &VerifyKey) -> Result<(), Reject> {
    if key.alg != t.alg {
        return Err(Reject::AlgMismatch);
    }
    if t.signature.len() > MAX_SIGNATURE_BYTES * 4 / 3 + 4 {
        return Err(Reject::BadSignature);
    }
    let sig = URL_SAFE_NO_PAD
        .decode(t.signature)
        .map_err(|_| Reject::Malformed)?;
    if key.key.verify(t.signing_input.as_bytes(), &sig) {
        Ok(())
    } else {
        Err(Reject::BadSignature)
    }
}

/// A JSON object with no name given twice, at any depth.
fn strict_object(bytes: &[u8]) -> Result<Map<String, Value>, Reject> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let v = de
        .deserialize_any(StrictVisitor)
        .map_err(|_| Reject::Malformed)?;
    de.end().map_err(|_| Reject::Malformed)?;
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(Reject::Malformed),
    }
}

struct StrictVisitor;

struct Strict(Value);

impl<'de> de::Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            let Strict(v) = map.next_value()?;
            if out.insert(k, v).is_some() {
                return Err(de::Error::custom("duplicate name"));
            }
        }
        Ok(Value::Object(out))
    }
}

/// What the claims of a token must satisfy.
#[derive(Debug, Clone)]
pub struct ClaimRules {
    /// Exact `iss`.
    pub issuer: String,
    /// Accepted audiences.
    pub audiences: Vec<String>,
    /// Other claims that must be present.
    pub required: Vec<String>,
    /// `exp` required.
    pub require_exp: bool,
    /// Allowed clock skew, seconds.
    pub leeway: f64,
}

/// The validity window of a verified token, rechecked on cache hits.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    exp: Option<f64>,
    nbf: Option<f64>,
}

impl Window {
    /// Whether the token is valid at `now` (seconds since the epoch).
    pub fn check(&self, now: f64, leeway: f64) -> Result<(), Reject> {
        if let Some(exp) = self.exp
            && now - leeway >= exp
        {
            return Err(Reject::Expired);
        }
        if let Some(nbf) = self.nbf
            && now + leeway < nbf
        {
            return Err(Reject::NotYetValid);
        }
        Ok(())
    }
}

fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<f64>, Reject> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n.as_f64().map(Some).ok_or(Reject::InvalidClaim),
        Some(_) => Err(Reject::InvalidClaim),
    }
}

/// Checks the registered claims and the required ones at `now`.
pub fn check_claims(
    claims: &Map<String, Value>,
    rules: &ClaimRules,
    now: f64,
) -> Result<Window, Reject> {
    match claims.get("iss") {
        Some(Value::String(i)) if *i == rules.issuer => {}
        Some(Value::String(_)) => return Err(Reject::WrongIssuer),
        Some(_) => return Err(Reject::InvalidClaim),
        None => return Err(Reject::MissingClaim),
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => rules.audiences.iter().any(|x| x == a),
        Some(Value::Array(list)) => {
            let mut ok = false;
            for a in list {
                let Value::String(a) = a else {
                    return Err(Reject::InvalidClaim);
                };
                ok |= rules.audiences.iter().any(|x| x == a);
            }
            ok
        }
        Some(_) => return Err(Reject::InvalidClaim),
        None => return Err(Reject::MissingClaim),
    };
    if !aud_ok {
        return Err(Reject::WrongAudience);
    }
    let exp = numeric_date(claims, "exp")?;
    let nbf = numeric_date(claims, "nbf")?;
    let iat = numeric_date(claims, "iat")?;
    if exp.is_none() && rules.require_exp {
        return Err(Reject::MissingClaim);
    }
    if let Some(iat) = iat
        && iat > now + rules.leeway
    {
        return Err(Reject::IssuedInFuture);
    }
    if let Some(sub) = claims.get("sub")
        && !sub.is_string()
    {
        return Err(Reject::InvalidClaim);
    }
    for r in &rules.required {
        if claims.get(r).is_none_or(Value::is_null) {
            return Err(Reject::MissingClaim);
        }
    }
    let w = Window { exp, nbf };
    w.check(now, rules.leeway)?;
    Ok(w)
}

/// Seconds since the epoch, as `NumericDate` counts them.
pub fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// What a trusted token says about the caller: a verified JWT or an active introspection
/// answer. Its parts are shared, so a cached token makes an identity without copying.
#[derive(Debug)]
pub struct TokenIdentity {
    /// The caller (the consumer claim).
    pub subject: Arc<str>,
    /// Roles from the roles claim (valid role names only).
    pub roles: Arc<[String]>,
    /// Scopes from `scope` / `scp`.
    pub scopes: Arc<[String]>,
    /// All claims, for claim conditions and forwarded claims.
    pub claims: Arc<Map<String, Value>>,
}

impl TokenIdentity {
    /// From trusted claims: the subject is the first of `subject_claims` that holds a string,
    /// roles are at `roles_claim`, scopes in `scope` and `scp`.
    pub fn from_claims(
        claims: Map<String, Value>,
        subject_claims: &[&str],
        roles_claim: &[String],
    ) -> Result<Self, Reject> {
        Ok(Self {
            subject: subject(&claims, subject_claims)?,
            roles: string_list(claim_at(&claims, roles_claim))
                .filter(|r| super::valid_role(r))
                .collect(),
            scopes: scopes(&claims).into(),
            claims: Arc::new(claims),
        })
    }

    /// The identity this token proves through `method`.
    pub fn identity(&self, method: &'static str) -> super::super::Identity {
        super::super::Identity {
            consumer: self.subject.clone(),
            method,
            roles: self.roles.clone(),
            scopes: self.scopes.clone(),
            claims: Some(self.claims.clone()),
        }
    }
}

/// The first of `names` holding a string. The subject is sent upstream in a header, so what a
/// header cannot carry is refused; a name holding something else than a string is skipped
/// (and reported as an invalid claim when no later name has a string).
fn subject(claims: &Map<String, Value>, names: &[&str]) -> Result<Arc<str>, Reject> {
    let mut missing = Reject::MissingClaim;
    for n in names {
        match claims.get(*n) {
            Some(Value::String(s)) if s.is_empty() => return Err(Reject::MissingClaim),
            Some(Value::String(s)) if s.len() > 256 || s.bytes().any(|b| b.is_ascii_control()) => {
                return Err(Reject::InvalidClaim);
            }
            Some(Value::String(s)) => return Ok(Arc::from(s.as_str())),
            Some(_) => missing = Reject::InvalidClaim,
            None => {}
        }
    }
    Err(missing)
}

/// A claim's value as header or comparison text: strings as they are, numbers and booleans as
/// written in JSON; `None` for anything else.
pub fn claim_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// What a verified token proves, and until when.
#[derive(Debug)]
pub struct Verified {
    /// The caller's identity.
    pub token: TokenIdentity,
    window: Window,
    key: Weak<VerifyKey>,
    /// When a cached copy stops answering (seconds since the epoch): [`CACHE_TTL`] after the
    /// verification, so a token without `exp` is verified again now and then.
    cached_until: f64,
}

/// One configured issuer, compiled.
pub struct Issuer {
    /// Everything but the keys.
    pub settings: IssuerSettings,
    /// Keys from the config (and a JWKS file).
    pub static_keys: Vec<Arc<VerifyKey>>,
    /// Keys fetched from a URL.
    pub jwks: Option<Arc<JwksSource>>,
    /// Verified tokens by digest. `quick_cache`, as for API keys and the WAF: a hit is a
    /// hash probe, where `moka` also read the clock, counted the key in its frequency sketch and
    /// queued the read for its housekeeping (about 480 instructions a request, measured with
    /// callgrind on the JWT benchmark route). Expiry is checked on every hit instead.
    cache: Option<quick_cache::sync::Cache<TokenDigest, Arc<Verified>>>,
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer")
            .field("name", &self.settings.name)
            .field("issuer", &self.settings.rules.issuer)
            .field("static_keys", &self.static_keys.len())
            .finish_non_exhaustive()
    }
}

/// Issuer settings other than the keys.
#[derive(Debug)]
pub struct IssuerSettings {
    /// Config name.
    pub name: String,
    /// Claim rules.
    pub rules: ClaimRules,
    /// Largest token.
    pub max_token_bytes: usize,
    /// Claim naming the consumer.
    pub consumer_claim: String,
    /// Path of the roles claim.
    pub roles_claim: Vec<String>,
    /// Cache entries (0: no cache).
    pub cache_entries: u64,
}

impl Issuer {
    /// An issuer with its keys.
    pub fn new(
        s: IssuerSettings,
        static_keys: Vec<Arc<VerifyKey>>,
        jwks: Option<Arc<JwksSource>>,
    ) -> Self {
        let cache = (s.cache_entries > 0).then(|| {
            quick_cache::sync::Cache::new(usize::try_from(s.cache_entries).unwrap_or(usize::MAX))
        });
        Self {
            settings: s,
            static_keys,
            jwks,
            cache,
        }
    }

    /// A cached verification of the token with this digest, if still valid. `Err` means the
    /// token is known and no longer valid.
    pub fn cached(&self, digest: &TokenDigest, now: f64) -> Option<Result<Arc<Verified>, Reject>> {
        let cache = self.cache.as_ref()?;
        let v = cache.get(digest)?;
        // An entry that can no longer answer leaves, unless another request has just put a
        // fresh one in its place.
        let drop_entry = || cache.remove_if(digest, |x| Arc::ptr_eq(x, &v));
        if let Err(r) = v.window.check(now, self.settings.rules.leeway) {
            drop_entry();
            return Some(Err(r));
        }
        // The key that verified it must still be trusted (a rotation may have dropped it), and
        // the verification must be recent enough.
        if v.key.strong_count() == 0 || now >= v.cached_until {
            drop_entry();
            return None;
        }
        Some(Ok(v))
    }

    /// Verifies a decoded token (whose `iss` names this issuer): key, signature, claims.
    pub async fn verify(
        &self,
        t: Unverified<'_>,
        digest: TokenDigest,
        now: f64,
    ) -> Result<Arc<Verified>, Reject> {
        let key = self.verify_key(&t).await?;
        let window = check_claims(&t.claims, &self.settings.rules, now)?;
        let v = Arc::new(Verified {
            token: TokenIdentity::from_claims(
                t.claims,
                &[self.settings.consumer_claim.as_str()],
                &self.settings.roles_claim,
            )?,
            window,
            key: Arc::downgrade(&key),
            cached_until: now + CACHE_TTL.as_secs_f64(),
        });
        if let Some(c) = &self.cache {
            c.insert(digest, v.clone());
        }
        Ok(v)
    }

    /// Finds the key for `t` and checks the signature. A `kid` this issuer does not know
    /// makes its JWKS refresh once (single-flight, rate-limited) before giving up.
    async fn verify_key(&self, t: &Unverified<'_>) -> Result<Arc<VerifyKey>, Reject> {
        match &t.kid {
            Some(kid) => {
                let mut key = self.find_by_kid(kid);
                if key.is_none()
                    && let Some(j) = &self.jwks
                    && j.refresh_for_unknown_kid().await
                {
                    key = self.find_by_kid(kid);
                }
                let key = key.ok_or(Reject::UnknownKey)?;
                verify_signature(t, &key)?;
                Ok(key)
            }
            None => {
                let jwks = self.jwks.as_ref().map(|j| j.keys());
                let candidates = self
                    .static_keys
                    .iter()
                    .chain(jwks.iter().flat_map(|k| k.iter()))
                    .filter(|k| k.alg == t.alg)
                    .take(MAX_KIDLESS_CANDIDATES);
                let mut seen = false;
                for k in candidates {
                    seen = true;
                    if verify_signature(t, k).is_ok() {
                        return Ok(k.clone());
                    }
                }
                Err(if seen {
                    Reject::BadSignature
                } else {
                    Reject::UnknownKey
                })
            }
        }
    }

    fn find_by_kid(&self, kid: &str) -> Option<Arc<VerifyKey>> {
        if let Some(k) = self
            .static_keys
            .iter()
            .find(|k| k.kid.as_deref() == Some(kid))
        {
            return Some(k.clone());
        }
        let set = self.jwks.as_ref()?.keys();
        set.iter().find(|k| k.kid.as_deref() == Some(kid)).cloned()
    }
}

/// The value at a dot-separated claim path.
pub fn claim_at<'a>(claims: &'a Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let mut v = claims.get(first)?;
    for p in rest {
        v = v.as_object()?.get(p)?;
    }
    Some(v)
}

/// Strings of a claim that is an array of strings or a space-separated string.
pub fn string_list(v: Option<&Value>) -> impl Iterator<Item = String> + '_ {
    let (arr, text) = match v {
        Some(Value::Array(a)) => (Some(a), None),
        Some(Value::String(s)) => (None, Some(s)),
        _ => (None, None),
    };
    arr.into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_owned))
        .chain(
            text.into_iter()
                .flat_map(|s| s.split_ascii_whitespace().map(str::to_owned)),
        )
}

fn scopes(claims: &Map<String, Value>) -> Vec<String> {
    let mut out: Vec<String> = string_list(claims.get("scope")).collect();
    for s in string_list(claims.get("scp")) {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// The cache key of a token (JWT and introspection caches).
pub type TokenDigest = u128;

/// A token's cache key: SipHash-1-3-128 under a random key drawn once per process, so the token
/// itself is never kept. Keyed, so nobody can aim a token of theirs at the cached verification
/// of another: without the key that takes about 2^128 tries. SHA-256, used before, cost about
/// fifteen times as much for a 400-byte token (seven blocks), on every request.
pub fn digest(token: &str) -> TokenDigest {
    static KEY: std::sync::OnceLock<[u8; 16]> = std::sync::OnceLock::new();
    super::keyed_digest(KEY.get_or_init(rand::random), token.as_bytes())
}

#[cfg(test)]
mod tests;
