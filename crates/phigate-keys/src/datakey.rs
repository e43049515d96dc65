//! Data keys and the ciphertext format.
//!
//! Format of a sealed value: `0x01 ‖ nonce (12) ‖ AES-256-GCM ciphertext ‖ tag (16)`.
//! Nonces are 96 random bits from a CSPRNG seeded by the OS; a data key is
//! per subject or per object, so it seals far fewer than the 2^32 messages
//! NIST SP 800-38D allows for random nonces.

use std::fmt;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use zeroize::Zeroizing;

use crate::{Aad, Error};

const FORMAT_V1: u8 = 0x01;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Bytes a sealed value adds to its plaintext.
pub const CIPHERTEXT_OVERHEAD: usize = 1 + NONCE_LEN + TAG_LEN;

/// A 256-bit AES-GCM data key. Zeroized on drop (raw bytes and the expanded
/// key schedule); never printed.
pub struct DataKey {
    raw: Zeroizing<[u8; 32]>,
    cipher: Aes256Gcm,
}

impl DataKey {
    /// A fresh random key from the operating system.
    pub fn generate() -> Result<Self, Error> {
        let mut raw = Zeroizing::new([0u8; 32]);
        getrandom::getrandom(raw.as_mut()).map_err(|_| Error::Rng)?;
        Ok(Self::from_raw(raw))
    }

    /// Wraps raw key bytes (e.g. just unwrapped by a provider).
    pub fn from_raw(raw: Zeroizing<[u8; 32]>) -> Self {
        let cipher = Aes256Gcm::new(raw.as_ref().into());
        Self { raw, cipher }
    }

    /// Builds a key from a slice, failing if it is not 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| Error::Malformed("data key is not 32 bytes"))?;
        Ok(Self::from_raw(Zeroizing::new(arr)))
    }

    /// The expanded AES-GCM key, for other constructions in this crate.
    pub(crate) fn cipher(&self) -> &Aes256Gcm {
        &self.cipher
    }

    /// The raw key bytes, for a provider to wrap. Keep the borrow short.
    pub fn expose_raw(&self) -> &[u8; 32] {
        &self.raw
    }

    /// Encrypts `plaintext`, binding it to `aad` and the data-key id.
    pub fn seal(&self, dek_id: u64, aad: &Aad<'_>, plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        let mut out = Vec::with_capacity(CIPHERTEXT_OVERHEAD + plaintext.len());
        out.push(FORMAT_V1);
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let mut ad = Vec::with_capacity(64);
        aad.encode_into(dek_id, &mut ad);
        let tag = self
            .cipher
            .encrypt_in_place_detached(Nonce::from_slice(&nonce), &ad, &mut out[1 + NONCE_LEN..])
            .map_err(|_| Error::Malformed("plaintext too long for AES-GCM"))?;
        out.extend_from_slice(&tag);
        Ok(out)
    }

    /// Decrypts a value sealed by [`DataKey::seal`] with the same `dek_id` and `aad`.
    pub fn open(&self, dek_id: u64, aad: &Aad<'_>, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        if sealed.len() < CIPHERTEXT_OVERHEAD {
            return Err(Error::Malformed("ciphertext shorter than header and tag"));
        }
        if sealed[0] != FORMAT_V1 {
            return Err(Error::Malformed("unknown ciphertext format version"));
        }
        let (nonce, rest) = sealed[1..].split_at(NONCE_LEN);
        let (body, tag) = rest.split_at(rest.len() - TAG_LEN);
        let mut plain = Zeroizing::new(body.to_vec());
        let mut ad = Vec::with_capacity(64);
        aad.encode_into(dek_id, &mut ad);
        self.cipher
            .decrypt_in_place_detached(Nonce::from_slice(nonce), &ad, &mut plain, tag.into())
            .map_err(|_| Error::Tampered)?;
        Ok(plain)
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AAD: Aad<'static> = Aad { kind: "patient", id: "42", field: "name" };

    #[test]
    fn round_trip_and_debug_redacts() {
        let key = DataKey::generate().unwrap();
        let sealed = key.seal(7, &AAD, b"Jane Doe").unwrap();
        assert_eq!(sealed.len(), 8 + CIPHERTEXT_OVERHEAD);
        assert_eq!(&key.open(7, &AAD, &sealed).unwrap()[..], b"Jane Doe");
        assert_eq!(format!("{key:?}"), "DataKey([REDACTED])");
    }

    #[test]
    fn other_dek_id_or_field_is_rejected() {
        let key = DataKey::generate().unwrap();
        let sealed = key.seal(7, &AAD, b"x").unwrap();
        assert!(matches!(key.open(8, &AAD, &sealed), Err(Error::Tampered)));
        let other = Aad { field: "mrn", ..AAD };
        assert!(matches!(key.open(7, &other, &sealed), Err(Error::Tampered)));
    }

    #[test]
    fn short_or_unknown_format_is_malformed() {
        let key = DataKey::generate().unwrap();
        assert!(matches!(key.open(1, &AAD, &[1, 2, 3]), Err(Error::Malformed(_))));
        let mut sealed = key.seal(1, &AAD, b"abc").unwrap();
        sealed[0] = 9;
        assert!(matches!(key.open(1, &AAD, &sealed), Err(Error::Malformed(_))));
    }
}
