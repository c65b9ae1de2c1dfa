//! Unit tests for JWT parsing, verification and claims. Tokens are built by hand here so that
//! malformed ones (duplicate names, odd headers) can be made at all.

use std::sync::Arc;

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use super::*;

const SECRET: &[u8] = b"an-hmac-secret-of-more-than-thirty-two-bytes";
const NOW: f64 = 1_800_000_000.0;

fn b64(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s)
}

fn hs256(header: &str, claims: &str, secret: &[u8]) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

fn good_claims() -> String {
    json!({"iss": "https://idp.test", "aud": "api", "sub": "alice", "exp": NOW + 600.0,
           "iat": NOW - 10.0, "roles": ["reader"], "scope": "read write"})
    .to_string()
}

fn rules() -> ClaimRules {
    ClaimRules {
        issuer: "https://idp.test".into(),
        audiences: vec!["api".into()],
        required: vec!["sub".into()],
        require_exp: true,
        leeway: 30.0,
    }
}

fn hs_key(kid: &str) -> VerifyKey {
    VerifyKey::from_secret(Some(kid.into()), Alg::HS256, SECRET).expect("key")
}

#[test]
fn decode_refuses_malformed_and_unsupported_tokens() {
    let hdr = r#"{"alg":"HS256","kid":"k1"}"#;
    let ok = hs256(hdr, &good_claims(), SECRET);
    assert!(decode(&ok).is_ok());
    let (h, rest) = ok.split_once('.').expect("dot");
    let cases: Vec<(String, Reject)> = vec![
        (String::new(), Reject::Malformed),
        (format!("{h}.{rest}.x"), Reject::Malformed),
        (format!("{h}.{rest}=="), Reject::Malformed),
        (format!("{h} .{rest}"), Reject::Malformed),
        (format!("{h}..sig"), Reject::Malformed),
        (
            hs256(r#"["alg"]"#, &good_claims(), SECRET),
            Reject::Malformed,
        ),
        (
            hs256(r#"{"alg":"HS256","alg":"none"}"#, &good_claims(), SECRET),
            Reject::Malformed,
        ),
        (
            hs256(hdr, r#"{"sub":"a","sub":"b"}"#, SECRET),
            Reject::Malformed,
        ),
        (
            hs256(hdr, r#"{"x":{"y":1,"y":2}}"#, SECRET),
            Reject::Malformed,
        ),
        (hs256(hdr, "[1]", SECRET), Reject::Malformed),
        (
            hs256(r#"{"alg":"none"}"#, &good_claims(), SECRET),
            Reject::UnsupportedAlg,
        ),
        (
            hs256(r#"{"alg":"hs256"}"#, &good_claims(), SECRET),
            Reject::UnsupportedAlg,
        ),
        (
            hs256(r#"{"typ":"JWT"}"#, &good_claims(), SECRET),
            Reject::UnsupportedAlg,
        ),
        (
            hs256(r#"{"alg":7}"#, &good_claims(), SECRET),
            Reject::UnsupportedAlg,
        ),
        (
            hs256(r#"{"alg":"HS256","crit":[]}"#, &good_claims(), SECRET),
            Reject::UnsupportedHeader,
        ),
        (
            hs256(r#"{"alg":"HS256","b64":false}"#, &good_claims(), SECRET),
            Reject::UnsupportedHeader,
        ),
        (
            hs256(r#"{"alg":"HS256","cty":"jwt"}"#, &good_claims(), SECRET),
            Reject::UnsupportedHeader,
        ),
        (
            hs256(r#"{"alg":"HS256","kid":5}"#, &good_claims(), SECRET),
            Reject::Malformed,
        ),
        (
            hs256(
                &format!(r#"{{"alg":"HS256","kid":"{}"}}"#, "k".repeat(300)),
                &good_claims(),
                SECRET,
            ),
            Reject::Malformed,
        ),
    ];
    for (token, want) in cases {
        assert_eq!(decode(&token).map(|_| ()), Err(want), "{token}");
    }
}

#[test]
fn looks_like_jwt_needs_three_non_empty_segments() {
    assert!(looks_like_jwt("a.b.c"));
    for t in ["", "abc", "a.b", "a..c", "a.b.c.d", ".b.c", "a.b."] {
        assert!(!looks_like_jwt(t), "{t}");
    }
}

#[test]
fn each_key_verifies_only_its_algorithm() {
    let key = hs_key("k1");
    let t = hs256(r#"{"alg":"HS256","kid":"k1"}"#, &good_claims(), SECRET);
    assert_eq!(verify_signature(&decode(&t).expect("decode"), &key), Ok(()));
    let wrong = hs256(
        r#"{"alg":"HS256"}"#,
        &good_claims(),
        b"another-secret-of-32-bytes-or-more!!",
    );
    assert_eq!(
        verify_signature(&decode(&wrong).expect("decode"), &key),
        Err(Reject::BadSignature)
    );
    // A token claiming HS384 under an HS256-bound key never reaches the crypto.
    let t384 = hs256(r#"{"alg":"HS384"}"#, &good_claims(), SECRET);
    assert_eq!(
        verify_signature(&decode(&t384).expect("decode"), &key),
        Err(Reject::AlgMismatch)
    );
    // ES256 key; an HS256 token "signed" with its public key bytes is refused by binding.
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("gen");
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).expect("pair");
    let point = pair.public_key().as_ref().to_vec();
    let jwk = json!({"kty": "EC", "crv": "P-256", "kid": "e1",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..])});
    let ec = VerifyKey::from_jwk(jwk.as_object().expect("obj"), None, false).expect("jwk");
    assert_eq!(ec.alg, Alg::ES256);
    let input = format!(
        "{}.{}",
        b64(r#"{"alg":"ES256","kid":"e1"}"#),
        b64(&good_claims())
    );
    let sig = pair.sign(&rng, input.as_bytes()).expect("sign");
    let t = format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()));
    assert_eq!(verify_signature(&decode(&t).expect("decode"), &ec), Ok(()));
    let confused = hs256(r#"{"alg":"HS256","kid":"e1"}"#, &good_claims(), &point);
    assert_eq!(
        verify_signature(&decode(&confused).expect("decode"), &ec),
        Err(Reject::AlgMismatch)
    );
    // r = s = 0 (CVE-2022-21449).
    let zero = format!("{input}.{}", URL_SAFE_NO_PAD.encode([0u8; 64]));
    assert_eq!(
        verify_signature(&decode(&zero).expect("decode"), &ec),
        Err(Reject::BadSignature)
    );
}

#[test]
fn keys_refuse_weak_or_mismatched_material() {
    assert!(VerifyKey::from_secret(None, Alg::HS256, &[7u8; 31]).is_err());
    assert!(VerifyKey::from_secret(None, Alg::HS512, &[7u8; 32]).is_err());
    assert!(VerifyKey::from_secret(None, Alg::HS512, &[7u8; 64]).is_ok());
    assert!(VerifyKey::from_secret(None, Alg::RS256, &[7u8; 64]).is_err());
    assert!(VerifyKey::from_pem(None, Alg::HS256, b"-----BEGIN").is_err());
    assert!(VerifyKey::from_pem(None, Alg::RS256, b"not a pem").is_err());
    let ec = |crv: &str, alg: Option<&str>| {
        let mut j = json!({"kty": "EC", "crv": crv, "x": "AA", "y": "AA"});
        if let Some(a) = alg {
            j["alg"] = json!(a);
        }
        VerifyKey::from_jwk(j.as_object().expect("obj"), None, false)
    };
    // A P-384 key cannot be bound to ES256, and an EC key to RS256.
    assert!(ec("P-384", Some("ES256")).is_err());
    assert!(ec("P-256", Some("RS256")).is_err());
    let oct = json!({"kty": "oct", "alg": "HS256", "k": URL_SAFE_NO_PAD.encode(SECRET)});
    let oct = oct.as_object().expect("obj");
    assert!(
        VerifyKey::from_jwk(oct, None, false).is_err(),
        "oct from a URL"
    );
    assert!(VerifyKey::from_jwk(oct, None, true).is_ok());
    let enc = json!({"kty": "oct", "use": "enc", "alg": "HS256", "k": "AA"});
    assert!(VerifyKey::from_jwk(enc.as_object().expect("obj"), None, true).is_err());
    let rsa_no_alg = json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"});
    assert!(VerifyKey::from_jwk(rsa_no_alg.as_object().expect("obj"), None, false).is_err());
}

#[test]
fn claims_are_checked_with_leeway() {
    let base = json!({"iss": "https://idp.test", "aud": "api", "sub": "alice", "exp": NOW + 60.0});
    let with = |k: &str, v: serde_json::Value| {
        let mut c = base.clone();
        if v.is_null() {
            c.as_object_mut().expect("obj").remove(k);
        } else {
            c[k] = v;
        }
        c.as_object().expect("obj").clone()
    };
    let r = rules();
    let cases: Vec<(
        serde_json::Map<String, serde_json::Value>,
        Result<(), Reject>,
    )> = vec![
        (with("sub", json!("alice")), Ok(())),
        (with("exp", json!(NOW - 10.0)), Ok(())),
        (with("exp", json!(NOW - 31.0)), Err(Reject::Expired)),
        (with("exp", json!("soon")), Err(Reject::InvalidClaim)),
        (
            with("exp", serde_json::Value::Null),
            Err(Reject::MissingClaim),
        ),
        (with("nbf", json!(NOW + 20.0)), Ok(())),
        (with("nbf", json!(NOW + 31.0)), Err(Reject::NotYetValid)),
        (with("iat", json!(NOW + 31.0)), Err(Reject::IssuedInFuture)),
        (
            with("iss", json!("https://idp.test/")),
            Err(Reject::WrongIssuer),
        ),
        (
            with("iss", serde_json::Value::Null),
            Err(Reject::MissingClaim),
        ),
        (with("aud", json!(["other", "api"])), Ok(())),
        (with("aud", json!(["other"])), Err(Reject::WrongAudience)),
        (
            with("aud", json!("api-gateway")),
            Err(Reject::WrongAudience),
        ),
        (with("aud", json!("ap")), Err(Reject::WrongAudience)),
        (with("aud", json!([1])), Err(Reject::InvalidClaim)),
        (
            with("aud", serde_json::Value::Null),
            Err(Reject::MissingClaim),
        ),
        (
            with("sub", serde_json::Value::Null),
            Err(Reject::MissingClaim),
        ),
        (with("sub", json!(42)), Err(Reject::InvalidClaim)),
    ];
    for (claims, want) in cases {
        assert_eq!(
            check_claims(&claims, &r, NOW).map(|_| ()),
            want,
            "{claims:?}"
        );
    }
    let lax = ClaimRules {
        require_exp: false,
        ..rules()
    };
    assert!(check_claims(&with("exp", serde_json::Value::Null), &lax, NOW).is_ok());
}

fn issuer(keys: Vec<Arc<VerifyKey>>) -> Issuer {
    Issuer::new(
        IssuerSettings {
            name: "idp".into(),
            rules: rules(),
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            consumer_claim: "sub".into(),
            roles_claim: vec!["roles".into()],
            cache_entries: 100,
        },
        keys,
        None,
    )
}

#[tokio::test]
async fn issuer_verifies_caches_and_forgets_dropped_keys() {
    let key = Arc::new(hs_key("k1"));
    let iss = issuer(vec![key.clone()]);
    let token = hs256(r#"{"alg":"HS256","kid":"k1"}"#, &good_claims(), SECRET);
    let d = digest(&token);
    assert!(iss.cached(&d, NOW).is_none());
    let v = iss
        .verify(decode(&token).expect("decode"), d, NOW)
        .await
        .expect("valid");
    assert_eq!(&*v.token.subject, "alice");
    assert_eq!(*v.token.roles, ["reader"]);
    assert_eq!(*v.token.scopes, ["read", "write"]);
    assert!(matches!(iss.cached(&d, NOW), Some(Ok(_))));
    // Past `exp` + leeway the cached entry answers "expired" once, and leaves.
    assert!(matches!(
        iss.cached(&d, NOW + 700.0),
        Some(Err(Reject::Expired))
    ));
    assert!(iss.cached(&d, NOW).is_none());
    // Five minutes after the verification the cached copy stops answering, before `exp`, and
    // leaves the cache.
    iss.verify(decode(&token).expect("decode"), d, NOW)
        .await
        .expect("valid");
    assert!(iss.cached(&d, NOW + 301.0).is_none());
    assert!(iss.cached(&d, NOW).is_none());
    // Unknown kid, and a kid-less token trying keys of its algorithm.
    let unknown = hs256(r#"{"alg":"HS256","kid":"k9"}"#, &good_claims(), SECRET);
    let r = iss
        .verify(decode(&unknown).expect("decode"), digest(&unknown), NOW)
        .await;
    assert_eq!(r.map(|_| ()), Err(Reject::UnknownKey));
    let kidless = hs256(r#"{"alg":"HS256"}"#, &good_claims(), SECRET);
    let r = iss
        .verify(decode(&kidless).expect("decode"), digest(&kidless), NOW)
        .await;
    assert!(r.is_ok());
    // A key no longer trusted invalidates what it verified.
    let iss2 = issuer(vec![Arc::new(hs_key("k1"))]);
    let v2 = iss2
        .verify(decode(&token).expect("decode"), d, NOW)
        .await
        .expect("valid");
    drop(iss2);
    assert_eq!(v2.key.strong_count(), 0);
}

#[test]
fn roles_and_scopes_come_from_arrays_or_strings() {
    let claims = json!({"realm": {"roles": ["a", "b"]}, "scp": ["x"], "scope": "y x"});
    let m = claims.as_object().expect("obj");
    let path = vec!["realm".to_owned(), "roles".to_owned()];
    assert_eq!(
        string_list(claim_at(m, &path)).collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(scopes(m), ["y", "x"]);
    assert!(claim_at(m, &["realm".into(), "missing".into()]).is_none());
}

#[test]
fn jwks_documents_keep_usable_signature_keys_only() {
    let doc = json!({"keys": [
        {"kty": "EC", "crv": "P-256", "kid": "a", "alg": "ES256", "use": "enc",
         "x": "AA", "y": "AA"},
        {"kty": "oct", "kid": "s", "alg": "HS256", "k": "c2VjcmV0"},
        {"kty": "RSA", "kid": "r", "n": "AQAB", "e": "AQAB"},
        "not an object"
    ]});
    let err = super::super::jwks::parse_jwks(doc.to_string().as_bytes());
    assert!(err.is_err(), "nothing usable in it");
    assert!(super::super::jwks::parse_jwks(b"{}").is_err());
    assert!(super::super::jwks::parse_jwks(b"not json").is_err());
}

#[test]
fn pem_keys_must_match_the_curve_of_their_algorithm() {
    use aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED_SIGNING;
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng).expect("gen");
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, pkcs8.as_ref()).expect("pair");
    // SubjectPublicKeyInfo for a P-384 point: the fixed ASN.1 header, then the point.
    let mut der = hex::decode("3076301006072a8648ce3d020106052b81040022036200").expect("hex");
    der.extend_from_slice(pair.public_key().as_ref());
    let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
    let pem = format!("-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----\n");
    assert!(VerifyKey::from_pem(None, Alg::ES384, pem.as_bytes()).is_ok());
    let err = VerifyKey::from_pem(None, Alg::ES256, pem.as_bytes()).expect_err("curve");
    assert!(err.contains("ES256"), "{err}");
}
