//! Envelope encryption under customer-managed keys.
//!
//! Data is sealed with AES-256-GCM under a per-subject or per-object data key
//! ([`DataKey`]). Data keys are stored only wrapped by a key-encryption key
//! held by a [`KeyProvider`] the customer controls (a local key file, a
//! PKCS#11 HSM, or AWS KMS). The associated data of every ciphertext names
//! what it belongs to ([`Aad`]: object kind, id, field, data-key id), so a
//! ciphertext copied into another row fails to open instead of decrypting
//! into the wrong record.
//!
//! Why envelope encryption: rotating the customer's key re-wraps 32-byte data
//! keys, not terabytes of data; and destroying one subject's data key
//! (crypto-shredding) makes exactly that subject unrecoverable, even in old
//! backups.
#![warn(missing_docs)]

mod aad;
mod blind_index;
mod datakey;
mod error;
mod keyring;
pub mod provider;
pub mod stream;

pub use aad::Aad;
pub use blind_index::BlindIndexKey;
pub use datakey::{CIPHERTEXT_OVERHEAD, DataKey};
pub use error::Error;
pub use keyring::{DekId, Keyring};
pub use provider::aws_kms::{AwsKmsConfig, AwsKmsProvider, AwsSecretAccessKey, AwsSessionToken};
pub use provider::pkcs11::{Pkcs11Config, Pkcs11Pin, Pkcs11Provider};
pub use provider::{KekInfo, KekState, KekVersion, KeyProvider, WrappedDek};
