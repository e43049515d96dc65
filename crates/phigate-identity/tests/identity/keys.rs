//! Test signing keys, generated at test time (nothing private is committed),
//! and a tiny JWS signer.

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use serde_json::{Value, json};

pub struct TestKeys {
    pub rsa: RsaKeyPair,
    pub ec: EcdsaKeyPair,
    pub ed: Ed25519KeyPair,
}

/// ring cannot generate RSA keys; `openssl` (required by scripts/test) does, once per test binary.
fn rsa_der() -> Vec<u8> {
    let out = std::process::Command::new("openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-outform", "DER"])
        .output()
        .expect("openssl must be installed to generate a test RSA key");
    assert!(out.status.success(), "openssl genpkey failed");
    out.stdout
}

pub fn keys() -> &'static TestKeys {
    static KEYS: OnceLock<TestKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let rng = SystemRandom::new();
        // `genpkey -outform DER` writes PKCS#1 RSAPrivateKey.
        let rsa = RsaKeyPair::from_der(&rsa_der()).unwrap();
        let ec_doc = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let ec = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, ec_doc.as_ref(), &rng).unwrap();
        let ed_doc = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let ed = Ed25519KeyPair::from_pkcs8(ed_doc.as_ref()).unwrap();
        TestKeys { rsa, ec, ed }
    })
}

pub fn b64(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

impl TestKeys {
    pub fn rsa_modulus(&self) -> Vec<u8> {
        let c: signature::RsaPublicKeyComponents<Vec<u8>> = self.rsa.public().into();
        c.n
    }

    pub fn jwks(&self) -> Value {
        let c: signature::RsaPublicKeyComponents<Vec<u8>> = self.rsa.public().into();
        let point = self.ec.public_key().as_ref();
        json!({"keys": [
            {"kty": "RSA", "kid": "rsa-1", "use": "sig", "alg": "RS256", "n": b64(&c.n), "e": b64(&c.e)},
            {"kty": "EC", "kid": "ec-1", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..65])},
            {"kty": "OKP", "kid": "ed-1", "crv": "Ed25519", "x": b64(self.ed.public_key().as_ref())},
        ]})
    }

    /// Signs `claims` with the key matching `alg` (`RS256`, `ES256`, `EdDSA`).
    pub fn sign(&self, alg: &str, kid: Option<&str>, claims: &Value) -> String {
        let mut header = json!({"alg": alg, "typ": "JWT"});
        if let Some(kid) = kid {
            header["kid"] = json!(kid);
        }
        let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
        let rng = SystemRandom::new();
        let sig = match alg {
            "RS256" => {
                let mut sig = vec![0; self.rsa.public().modulus_len()];
                self.rsa.sign(&signature::RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut sig).unwrap();
                sig
            }
            "ES256" => self.ec.sign(&rng, input.as_bytes()).unwrap().as_ref().to_vec(),
            "EdDSA" => self.ed.sign(input.as_bytes()).as_ref().to_vec(),
            other => panic!("test signer does not do {other}"),
        };
        format!("{input}.{}", b64(&sig))
    }
}
