//! Sealing secrets that must be stored but never in clear (TOTP secrets).
//!
//! The crate only needs "encrypt with a context, decrypt with the same
//! context"; [`SecretSealer`] is that seam. The server implements it with a
//! data key from `phigate-keys` (so the customer's key protects MFA seeds and
//! shredding works), and [`AesGcmSealer`] is a self-contained implementation
//! for tests and single-node setups.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use zeroize::Zeroizing;

use crate::Error;
use crate::secret::random_bytes;

/// Encrypts and authenticates small secrets bound to a context (a user id).
pub trait SecretSealer: Send + Sync {
    /// Seals `plaintext`; `context` is authenticated, so a sealed value moved to another user fails to open.
    fn seal(&self, context: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Error>;
    /// Opens a value sealed with the same context; [`Error::SealedSecretInvalid`] otherwise.
    fn open(&self, context: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error>;
}

/// AES-256-GCM with a random 96-bit nonce prefixed to the ciphertext.
pub struct AesGcmSealer {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for AesGcmSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AesGcmSealer([REDACTED])")
    }
}

impl AesGcmSealer {
    /// A sealer under a 256-bit key (the key schedule is zeroized on drop).
    pub fn new(key: &[u8; 32]) -> Self {
        Self { cipher: Aes256Gcm::new(key.into()) }
    }

    /// A sealer under a fresh random key (tests, ephemeral demos).
    pub fn random() -> Result<Self, Error> {
        let key = random_bytes::<32>()?;
        Ok(Self::new(&key))
    }
}

impl SecretSealer for AesGcmSealer {
    fn seal(&self, context: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        let nonce = random_bytes::<12>()?;
        let ct = self
            .cipher
            .encrypt(Nonce::from_slice(nonce.as_ref()), Payload { msg: plaintext, aad: context })
            .map_err(|_| Error::SealedSecretInvalid)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(out)
    }

    fn open(&self, context: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        if sealed.len() < 12 + 16 {
            return Err(Error::SealedSecretInvalid);
        }
        let (nonce, ct) = sealed.split_at(12);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: context })
            .map(Zeroizing::new)
            .map_err(|_| Error::SealedSecretInvalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_context_binding() {
        let s = AesGcmSealer::random().unwrap();
        let sealed = s.seal(b"user-a", b"seed").unwrap();
        assert_eq!(s.open(b"user-a", &sealed).unwrap().as_slice(), b"seed");
        assert!(matches!(s.open(b"user-b", &sealed), Err(Error::SealedSecretInvalid)));
        let mut tampered = sealed.clone();
        tampered[20] ^= 1;
        assert!(matches!(s.open(b"user-a", &tampered), Err(Error::SealedSecretInvalid)));
    }
}
