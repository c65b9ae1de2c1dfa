//! Fuzzes the credential parsers that read untrusted request bytes: the strict JWS compact
//! parser (then signature verification under an HMAC key and claims checks), JWKS documents
//! as an issuer might serve them, and `Authorization: Basic` values. Any input must give a
//! verdict, never a panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use portcullis::policy::authn::{basic, jwks, jwt};

fn key() -> &'static jwt::VerifyKey {
    static KEY: OnceLock<jwt::VerifyKey> = OnceLock::new();
    KEY.get_or_init(|| {
        jwt::VerifyKey::from_secret(
            Some("k1".into()),
            jwt::Alg::HS256,
            b"fuzz-secret-of-at-least-thirty-two-bytes",
        )
        .expect("key")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 3 {
        0 => {
            let Ok(token) = std::str::from_utf8(rest) else {
                return;
            };
            let _ = jwt::looks_like_jwt(token);
            if let Ok(t) = jwt::decode(token) {
                let _ = jwt::verify_signature(&t, key());
                let rules = jwt::ClaimRules {
                    issuer: "https://idp.test".into(),
                    audiences: vec!["api".into()],
                    required: vec!["sub".into()],
                    require_exp: true,
                    leeway: 30.0,
                };
                let _ = jwt::check_claims(&t.claims, &rules, 1_800_000_000.0);
            }
        }
        1 => {
            let _ = jwks::parse_jwks(rest);
        }
        _ => {
            if let Ok(v) = std::str::from_utf8(rest) {
                let _ = basic::parse_credential(v);
            }
        }
    }
});
