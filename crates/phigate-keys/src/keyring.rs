//! The keyring: unwrapped data keys, cached, with revocation taking effect.
//!
//! Unwrapping through an HSM or KMS costs a round trip, so opened data keys
//! are cached. A cache must not outlive a revocation: disabling a KEK version
//! through the keyring evicts every data key it wrapped at once, and every
//! entry expires after `max_age`, which bounds how long a revocation made
//! outside phigate (in the KMS console, on the HSM) takes to bite.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::{DataKey, Error, KekVersion, KeyProvider, WrappedDek};

/// Identifies one data key in the store (its row id).
pub type DekId = u64;

struct Cached {
    key: Arc<DataKey>,
    kek_version: KekVersion,
    opened: Instant,
}

/// Front door to a [`KeyProvider`]: creates, opens, re-wraps and forgets data keys.
pub struct Keyring {
    provider: Arc<dyn KeyProvider>,
    cache: RwLock<HashMap<DekId, Cached>>,
    max_age: Duration,
}

impl Keyring {
    /// A keyring over `provider`; opened data keys are kept at most `max_age`.
    pub fn new(provider: Arc<dyn KeyProvider>, max_age: Duration) -> Self {
        Self { provider, cache: RwLock::new(HashMap::new()), max_age }
    }

    /// The provider behind this keyring.
    pub fn provider(&self) -> &Arc<dyn KeyProvider> {
        &self.provider
    }

    /// Creates a data key for `id`, returning it and the wrapped form to persist.
    pub fn create(&self, id: DekId, context: &[u8]) -> Result<(Arc<DataKey>, WrappedDek), Error> {
        let (dek, wrapped) = self.provider.generate_dek(context)?;
        let key = Arc::new(dek);
        self.insert(id, key.clone(), wrapped.kek_version);
        Ok((key, wrapped))
    }

    /// Opens the data key `id` from its wrapped form (cached).
    pub fn open(&self, id: DekId, wrapped: &WrappedDek, context: &[u8]) -> Result<Arc<DataKey>, Error> {
        if let Some(hit) = self.cached(id, wrapped.kek_version) {
            return Ok(hit);
        }
        let key = Arc::new(self.provider.unwrap(wrapped, context)?);
        self.insert(id, key.clone(), wrapped.kek_version);
        Ok(key)
    }

    /// Re-wraps a data key under the provider's current KEK version. The data
    /// it protects is untouched.
    pub fn rewrap(&self, wrapped: &WrappedDek, context: &[u8]) -> Result<WrappedDek, Error> {
        let dek = self.provider.unwrap(wrapped, context)?;
        self.provider.wrap(&dek, context)
    }

    /// Drops a data key from the cache (after it was shredded or re-wrapped).
    pub fn forget(&self, id: DekId) {
        self.write_cache().remove(&id);
    }

    /// Disables a KEK version at the provider and evicts every cached data key
    /// it wrapped, so reads fail closed immediately.
    pub fn disable(&self, version: KekVersion) -> Result<(), Error> {
        self.provider.disable(version)?;
        self.write_cache().retain(|_, c| c.kek_version != version);
        Ok(())
    }

    /// Creates a new KEK version at the provider and makes it current.
    pub fn rotate(&self) -> Result<KekVersion, Error> {
        self.provider.rotate()
    }

    fn cached(&self, id: DekId, version: KekVersion) -> Option<Arc<DataKey>> {
        let cache = self.cache.read().unwrap_or_else(|p| p.into_inner());
        let hit = cache.get(&id)?;
        (hit.kek_version == version && hit.opened.elapsed() < self.max_age).then(|| hit.key.clone())
    }

    fn insert(&self, id: DekId, key: Arc<DataKey>, kek_version: KekVersion) {
        self.write_cache().insert(id, Cached { key, kek_version, opened: Instant::now() });
    }

    fn write_cache(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<DekId, Cached>> {
        // A poisoned lock only means another thread panicked mid-insert; the
        // map itself is still a valid cache.
        self.cache.write().unwrap_or_else(|p| p.into_inner())
    }
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring").field("provider", &self.provider.kind()).finish_non_exhaustive()
    }
}
