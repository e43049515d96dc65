//! Attack tests for bearer JWT validation: each attack is rejected with its own error.

use std::sync::Arc;

use hmac::{Hmac, Mac};
use phigate_identity::jwt::{
    JwkSet, JwksCache, JwksCacheConfig, JwtValidator, StaticJwks, ValidationConfig, decode_unverified,
};
use phigate_identity::{Error, ManualClock};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::keys::{b64, keys};

const ISS: &str = "https://idp.example.test";
const AUD: &str = "phigate-api";
const NOW: i64 = 1_800_000_000;

fn validator() -> (JwtValidator, Arc<StaticJwks>, ManualClock) {
    let set = JwkSet::parse(keys().jwks().to_string().as_bytes()).unwrap();
    assert_eq!(set.keys.len(), 3);
    let source = Arc::new(StaticJwks::new(set));
    let clock = ManualClock::at_unix(NOW);
    let cache = Arc::new(JwksCache::new(source.clone(), JwksCacheConfig::default(), Arc::new(clock.clone())));
    let v = JwtValidator::new(ValidationConfig::new(ISS, AUD), cache, Arc::new(clock.clone())).unwrap();
    (v, source, clock)
}

fn claims() -> Value {
    json!({"iss": ISS, "sub": "user-1", "aud": AUD, "exp": NOW + 300, "nbf": NOW - 10, "iat": NOW - 10, "roles": ["clinician"]})
}

#[test]
fn valid_tokens_of_each_algorithm_are_accepted() {
    let (v, _, _) = validator();
    for (alg, kid) in [("RS256", "rsa-1"), ("ES256", "ec-1"), ("EdDSA", "ed-1")] {
        let token = keys().sign(alg, Some(kid), &claims());
        let c = v.validate(&token).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(c.sub.as_deref(), Some("user-1"));
        assert_eq!(c.string_list("roles"), vec!["clinician"]);
    }
}

#[test]
fn alg_none_is_rejected() {
    let (v, _, _) = validator();
    let header = b64(br#"{"alg":"none","typ":"JWT"}"#);
    let token = format!("{header}.{}.", b64(claims().to_string().as_bytes()));
    assert!(matches!(v.validate(&token), Err(Error::AlgorithmNone)));
    // Variants: capitalised, and with a bogus signature part.
    let header = b64(br#"{"alg":"NONE","kid":"rsa-1"}"#);
    let token = format!("{header}.{}.AAAA", b64(claims().to_string().as_bytes()));
    assert!(matches!(v.validate(&token), Err(Error::AlgorithmNone)));
}

#[test]
fn hs256_signed_with_the_rsa_public_key_is_rejected() {
    let (v, _, _) = validator();
    // The classic key-confusion attack: HMAC keyed with the server's public key material.
    let header = b64(br#"{"alg":"HS256","typ":"JWT","kid":"rsa-1"}"#);
    let input = format!("{header}.{}", b64(claims().to_string().as_bytes()));
    let public = keys().jwks()["keys"][0].to_string();
    for key in [public.as_bytes().to_vec(), keys().rsa_modulus()] {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
        mac.update(input.as_bytes());
        let token = format!("{input}.{}", b64(&mac.finalize().into_bytes()));
        assert!(matches!(v.validate(&token), Err(Error::AlgorithmNotAllowed(a)) if a == "HS256"));
    }
}

#[test]
fn expired_token_is_rejected_after_leeway() {
    let (v, _, clock) = validator();
    let mut c = claims();
    c["exp"] = json!(NOW - 30);
    let token = keys().sign("ES256", Some("ec-1"), &c);
    // Within the 60 s leeway: accepted.
    assert!(v.validate(&token).is_ok());
    clock.advance(time::Duration::seconds(31));
    assert!(matches!(v.validate(&token), Err(Error::TokenExpired)));
    // A token without exp is never accepted.
    let mut c = claims();
    c.as_object_mut().unwrap().remove("exp");
    let token = keys().sign("ES256", Some("ec-1"), &c);
    assert!(matches!(v.validate(&token), Err(Error::MissingClaim("exp"))));
}

#[test]
fn not_yet_valid_token_is_rejected() {
    let (v, _, _) = validator();
    let mut c = claims();
    c["nbf"] = json!(NOW + 120);
    let token = keys().sign("RS256", Some("rsa-1"), &c);
    assert!(matches!(v.validate(&token), Err(Error::TokenNotYetValid)));
}

#[test]
fn wrong_issuer_is_rejected() {
    let (v, _, _) = validator();
    let mut c = claims();
    c["iss"] = json!("https://evil.example.test");
    let token = keys().sign("RS256", Some("rsa-1"), &c);
    assert!(matches!(v.validate(&token), Err(Error::IssuerMismatch)));
}

#[test]
fn wrong_audience_is_rejected() {
    let (v, _, _) = validator();
    let mut c = claims();
    c["aud"] = json!(["other-api", "yet-another"]);
    let token = keys().sign("EdDSA", Some("ed-1"), &c);
    assert!(matches!(v.validate(&token), Err(Error::AudienceMismatch)));
    c.as_object_mut().unwrap().remove("aud");
    let token = keys().sign("EdDSA", Some("ed-1"), &c);
    assert!(matches!(v.validate(&token), Err(Error::AudienceMismatch)));
}

#[test]
fn unknown_kid_is_rejected_and_refresh_is_rate_limited() {
    let (v, source, clock) = validator();
    assert!(v.validate(&keys().sign("RS256", Some("rsa-1"), &claims())).is_ok());
    let token = keys().sign("RS256", Some("rsa-unknown"), &claims());
    for _ in 0..20 {
        assert!(matches!(v.validate(&token), Err(Error::UnknownKeyId)));
    }
    assert_eq!(source.fetch_count(), 1, "unknown kids must not trigger a fetch per request");
    clock.advance(time::Duration::seconds(31));
    assert!(matches!(v.validate(&token), Err(Error::UnknownKeyId)));
    assert_eq!(source.fetch_count(), 2);
}

#[test]
fn tampered_payload_is_rejected() {
    let (v, _, _) = validator();
    for (alg, kid) in [("RS256", "rsa-1"), ("ES256", "ec-1"), ("EdDSA", "ed-1")] {
        let token = keys().sign(alg, Some(kid), &claims());
        let parts: Vec<&str> = token.split('.').collect();
        let mut c = claims();
        c["roles"] = json!(["administrator"]);
        let forged = format!("{}.{}.{}", parts[0], b64(c.to_string().as_bytes()), parts[2]);
        assert!(matches!(v.validate(&forged), Err(Error::SignatureInvalid)), "{alg}");
    }
}

#[test]
fn id_token_presented_as_bearer_is_rejected() {
    let (v, _, _) = validator();
    let mut c = claims();
    c["nonce"] = json!("n-0S6_WzA2Mj");
    let token = keys().sign("RS256", Some("rsa-1"), &c);
    assert!(matches!(v.validate(&token), Err(Error::IdTokenAsBearer)));
}

#[test]
fn bearer_maps_to_a_principal() {
    let (v, _, _) = validator();
    let p = v.authenticate(&keys().sign("ES256", Some("ec-1"), &claims())).unwrap();
    assert_eq!(p.subject, format!("jwt:{ISS}#user-1"));
    assert_eq!(p.kind, phigate_identity::PrincipalKind::User);
    assert_eq!(p.auth_method, phigate_identity::AuthMethod::Jwt);
    assert!(p.has_role("clinician"));
    let mut c = claims();
    c["sub"] = json!("ingest-svc");
    c["client_id"] = json!("ingest-svc");
    let p = v.authenticate(&keys().sign("ES256", Some("ec-1"), &c)).unwrap();
    assert_eq!(p.kind, phigate_identity::PrincipalKind::Service);
}

#[test]
fn key_of_another_type_is_rejected() {
    let (v, _, _) = validator();
    // An ES256 signature presented under the RSA key's kid.
    let token = keys().sign("ES256", Some("rsa-1"), &claims());
    assert!(matches!(v.validate(&token), Err(Error::KeyAlgorithmMismatch(_))));
}

#[test]
fn restricted_allow_list_is_enforced() {
    let set = JwkSet::parse(keys().jwks().to_string().as_bytes()).unwrap();
    let clock = ManualClock::at_unix(NOW);
    let cache =
        Arc::new(JwksCache::new(Arc::new(StaticJwks::new(set)), JwksCacheConfig::default(), Arc::new(clock.clone())));
    let mut cfg = ValidationConfig::new(ISS, AUD);
    cfg.algorithms = vec![phigate_identity::jwt::Algorithm::Es256];
    let v = JwtValidator::new(cfg, cache, Arc::new(clock)).unwrap();
    let token = keys().sign("RS256", Some("rsa-1"), &claims());
    assert!(matches!(v.validate(&token), Err(Error::AlgorithmNotAllowed(a)) if a == "RS256"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parsing_never_panics_on_arbitrary_strings(s in ".{0,400}") {
        let _ = decode_unverified(&s);
    }

    #[test]
    fn parsing_never_panics_on_jws_shaped_input(h in proptest::collection::vec(any::<u8>(), 0..80),
                                                p in proptest::collection::vec(any::<u8>(), 0..200),
                                                s in "[A-Za-z0-9_-]{0,100}") {
        let _ = decode_unverified(&format!("{}.{}.{s}", b64(&h), b64(&p)));
    }

    #[test]
    fn any_flipped_byte_is_rejected(pos in 0usize..1000, bit in 0u8..8) {
        let (v, _, _) = validator();
        let token = keys().sign("ES256", Some("ec-1"), &claims());
        let mut bytes = token.into_bytes();
        let i = pos % bytes.len();
        bytes[i] ^= 1 << bit;
        if let Ok(t) = String::from_utf8(bytes) {
            // Flips that land in base64 padding bits may decode to the same bytes; anything else fails.
            if let Ok(c) = v.validate(&t) {
                prop_assert_eq!(c.sub.as_deref(), Some("user-1"));
            }
        }
    }
}
