//! Errors of the key crate. No variant ever carries key material or plaintext.

use std::path::PathBuf;

use crate::KekVersion;

/// Everything that can go wrong sealing, opening or managing keys.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The ciphertext failed authentication: it was altered, moved to another
    /// record or field, or sealed under a different key. Never partial plaintext.
    #[error("ciphertext failed authentication (tampered, moved to another record, or wrong key)")]
    Tampered,
    /// The ciphertext is too short or has an unknown format version.
    #[error("ciphertext is malformed: {0}")]
    Malformed(&'static str),
    /// The KEK version that wrapped this data key has been revoked.
    #[error("key-encryption key {0} is disabled (revoked); re-enable it or restore from a key backup")]
    KekDisabled(KekVersion),
    /// The provider has no KEK with this version.
    #[error("key-encryption key {0} is unknown to this key provider")]
    KekUnknown(KekVersion),
    /// The provider has no current (enabled) KEK to wrap new data keys.
    #[error("key provider has no current key-encryption key; run `phigate keys rotate`")]
    NoCurrentKek,
    /// The current KEK version cannot be disabled.
    #[error("refusing to disable {0}: it is the current key-encryption key; rotate first")]
    DisableCurrent(KekVersion),
    /// The subject's data key was destroyed: its data is unrecoverable by design.
    #[error("data key {0} has been shredded; the data it protected is unrecoverable")]
    Shredded(String),
    /// The key file is readable by group or others.
    #[error("key file {path} has mode {mode:o}; it must not be readable by group or others (chmod 600)")]
    InsecurePermissions {
        /// The offending file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file exists but cannot be parsed.
    #[error("key file {path} is corrupt: {reason}")]
    CorruptKeyFile {
        /// The offending file.
        path: PathBuf,
        /// What is wrong (never key bytes).
        reason: String,
    },
    /// Reading or writing key state failed.
    #[error("key storage I/O error on {path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The operating system's random number generator failed.
    #[error("random number generator failed")]
    Rng,
    /// A remote or hardware key service failed or refused; reads fail closed.
    #[error("key provider {provider} failed: {reason}")]
    Provider {
        /// Which provider (`pkcs11`, `aws-kms`).
        provider: &'static str,
        /// What it said (never key bytes).
        reason: String,
    },
}
