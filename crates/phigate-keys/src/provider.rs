//! The key-encryption-key boundary: everything the customer controls.
//!
//! A [`KeyProvider`] owns the customer's key-encryption keys (KEKs) and never
//! hands them out: it only wraps and unwraps data keys. Versions let a KEK be
//! rotated (new DEKs use the newest version, old ones are re-wrapped by a
//! command) and revoked (a disabled version refuses to unwrap, so reads fail
//! closed). Providers: [`local_file`] (embedded default), and the HSM and KMS
//! providers in sibling modules.

pub mod aws_kms;
pub mod local_file;
pub mod pkcs11;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{DataKey, Error};

/// The version number of one key-encryption key inside a provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KekVersion(pub u32);

impl fmt::Display for KekVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// Whether a KEK version may still unwrap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum KekState {
    /// Wraps (if current) and unwraps.
    Enabled,
    /// Revoked: unwrapping under it fails closed with [`Error::KekDisabled`].
    Disabled,
}

/// Public facts about one KEK version (never the key itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KekInfo {
    /// The version.
    pub version: KekVersion,
    /// Enabled or revoked.
    pub state: KekState,
    /// Whether new data keys are wrapped under this version.
    pub current: bool,
}

/// A data key as stored: wrapped by one KEK version. Safe to persist and print.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrappedDek {
    /// The KEK version that wrapped it.
    pub kek_version: KekVersion,
    /// Provider-specific ciphertext of the data key.
    pub bytes: Vec<u8>,
}

/// A customer-controlled source of key-encryption keys.
///
/// Implementations must: never expose KEK material (not in `Debug`, errors or
/// logs); bind `context` into the wrapping so a wrapped DEK moved to another
/// subject fails to unwrap; refuse to unwrap under a disabled version with
/// [`Error::KekDisabled`]; and be safe to share across threads.
///
/// The same conformance suite (`tests/provider_suite.rs`) runs against every
/// implementation.
pub trait KeyProvider: Send + Sync {
    /// Short stable name for logs and the key-status command, e.g. `local-file`.
    fn kind(&self) -> &'static str;

    /// Every KEK version with its state. Sorted by version.
    fn versions(&self) -> Result<Vec<KekInfo>, Error>;

    /// The version new data keys are wrapped under.
    fn current_version(&self) -> Result<KekVersion, Error> {
        self.versions()?.into_iter().find(|v| v.current).map(|v| v.version).ok_or(Error::NoCurrentKek)
    }

    /// Wraps `dek` under the current KEK version, binding `context`.
    fn wrap(&self, dek: &DataKey, context: &[u8]) -> Result<WrappedDek, Error>;

    /// Unwraps a data key; fails if the version is disabled, unknown, or the
    /// context differs from the one used to wrap.
    fn unwrap(&self, wrapped: &WrappedDek, context: &[u8]) -> Result<DataKey, Error>;

    /// Makes a fresh data key and its wrapped form. Providers with a native
    /// operation (KMS `GenerateDataKey`) override this.
    fn generate_dek(&self, context: &[u8]) -> Result<(DataKey, WrappedDek), Error> {
        let dek = DataKey::generate()?;
        let wrapped = self.wrap(&dek, context)?;
        Ok((dek, wrapped))
    }

    /// Creates a new KEK version and makes it current. Existing wrapped DEKs
    /// stay readable until their version is disabled; re-wrap them first.
    fn rotate(&self) -> Result<KekVersion, Error>;

    /// Revokes a version. The current version cannot be disabled (rotate first).
    fn disable(&self, version: KekVersion) -> Result<(), Error>;
}
