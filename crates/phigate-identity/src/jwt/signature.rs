//! Signature verification on `ring`, for the three allowed algorithms only.

use ring::signature::{self as sig, UnparsedPublicKey};

use super::jwks::{Jwk, KeyMaterial};
use crate::Error;

/// A JWS algorithm this crate accepts. There is deliberately no HMAC and no `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RSA keys of 2048 to 8192 bits).
    Rs256,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// Ed25519.
    EdDsa,
}

impl Algorithm {
    /// Parses the `alg` header, refusing `none` and everything not allowed.
    pub fn from_header(alg: &str) -> Result<Self, Error> {
        match alg {
            "RS256" => Ok(Self::Rs256),
            "ES256" => Ok(Self::Es256),
            "EdDSA" | "Ed25519" => Ok(Self::EdDsa),
            a if a.eq_ignore_ascii_case("none") => Err(Error::AlgorithmNone),
            other => Err(Error::AlgorithmNotAllowed(other.chars().take(16).collect())),
        }
    }

    /// The JOSE name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }
}

/// Verifies `signature` over `message` with `key` for `alg`.
pub(crate) fn verify(alg: Algorithm, key: &Jwk, message: &[u8], signature: &[u8]) -> Result<(), Error> {
    let mismatch = || Error::KeyAlgorithmMismatch(key.kid.clone().unwrap_or_default());
    let result = match (alg, &key.material) {
        (Algorithm::Rs256, KeyMaterial::Rsa { n, e }) => {
            sig::RsaPublicKeyComponents { n, e }.verify(&sig::RSA_PKCS1_2048_8192_SHA256, message, signature)
        }
        (Algorithm::Es256, KeyMaterial::P256 { point }) => {
            UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, point).verify(message, signature)
        }
        (Algorithm::EdDsa, KeyMaterial::Ed25519 { x }) => {
            UnparsedPublicKey::new(&sig::ED25519, x).verify(message, signature)
        }
        _ => return Err(mismatch()),
    };
    result.map_err(|_| Error::SignatureInvalid)
}
