//! The one pluggable provider for payload encryption.
//!
//! The ledger never holds a key. PHI-bearing payload fields are sealed by a
//! [`PayloadCipher`] under a key belonging to the entry's subject, so that
//! retention purge is crypto-shredding: destroying one subject's key makes
//! every payload of that subject unreadable, while the ciphertext, which the
//! Merkle leaf hash covers, stays in place and all proofs keep verifying.

use zeroize::Zeroizing;

use crate::Pseudonym;

/// Seals and opens payloads under per-subject keys, and destroys them.
///
/// Implementations must bind `aad` into the ciphertext (an AEAD's
/// associated data) so a payload copied into another entry fails to open.
/// `subject` is always a pseudonym; raw identifiers never reach this trait.
pub trait PayloadCipher: Send + Sync {
    /// Encrypts `plaintext` under `subject`'s key (creating it on first use).
    fn seal(&self, subject: &Pseudonym, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CipherError>;

    /// Decrypts what [`PayloadCipher::seal`] produced with the same subject and `aad`.
    fn open(&self, subject: &Pseudonym, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CipherError>;

    /// Irrevocably destroys `subject`'s key. Idempotent: shredding an
    /// already-shredded or never-seen subject succeeds.
    fn shred(&self, subject: &Pseudonym) -> Result<(), CipherError>;
}

/// Why a [`PayloadCipher`] refused. Carries no plaintext and no key bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CipherError {
    /// The subject's key was shredded; the payload is gone by design.
    #[error("subject key has been shredded")]
    Shredded,
    /// Authentication failed: altered ciphertext, wrong entry, or wrong key.
    #[error("ciphertext failed authentication")]
    Tampered,
    /// The key service is unavailable or refused; callers fail closed.
    #[error("key service unavailable: {0}")]
    Unavailable(String),
}

/// A cipher that refuses everything: for read-only access and for loads
/// that carry no payloads.
pub(crate) struct Refuse(pub &'static str);

impl PayloadCipher for Refuse {
    fn seal(&self, _: &Pseudonym, _: &[u8], _: &[u8]) -> Result<Vec<u8>, CipherError> {
        Err(CipherError::Unavailable(self.0.into()))
    }

    fn open(&self, _: &Pseudonym, _: &[u8], _: &[u8]) -> Result<Zeroizing<Vec<u8>>, CipherError> {
        Err(CipherError::Unavailable(self.0.into()))
    }

    fn shred(&self, _: &Pseudonym) -> Result<(), CipherError> {
        Err(CipherError::Unavailable(self.0.into()))
    }
}
