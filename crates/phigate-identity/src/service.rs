//! Service-account API keys.
//!
//! A key is `phg_<key id>_<secret>`: the key id (64 random bits, hex) finds
//! the record, the secret (256 random bits) proves possession. Only the
//! SHA-256 of the whole key is stored, and the key is returned once, at issue.
//! Keys expire after at most 30 days ([`MAX_KEY_LIFETIME`]; configurable only
//! downward). Rotation issues a new key while the old one stays valid until
//! it expires or is revoked, so a service can roll over without downtime.
//! Revocation is checked on every request, so it is effective on the next one.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use crate::Error;
use crate::clock::{Clock, to_time};
use crate::principal::{AuthMethod, Principal, PrincipalKind, Role};
use crate::repo::{IdentityRepository, ServiceAccount, ServiceKeyRecord};
use crate::secret::{ApiKey, random_bytes, random_token, sha256};

/// The longest lifetime any API key may have.
pub const MAX_KEY_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

const PREFIX: &str = "phg_";

/// Key lifetime setting, validated against [`MAX_KEY_LIFETIME`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceKeyConfig {
    lifetime: Duration,
}

impl Default for ServiceKeyConfig {
    fn default() -> Self {
        Self { lifetime: MAX_KEY_LIFETIME }
    }
}

impl ServiceKeyConfig {
    /// A lifetime of at most 30 days; asking for more is an error, not a silent clamp.
    pub fn new(lifetime: Duration) -> Result<Self, Error> {
        if lifetime.is_zero() {
            return Err(Error::Config("service key lifetime must be positive".into()));
        }
        if lifetime > MAX_KEY_LIFETIME {
            return Err(Error::Config(format!(
                "service key lifetime {} s exceeds the 30-day maximum ({} s)",
                lifetime.as_secs(),
                MAX_KEY_LIFETIME.as_secs()
            )));
        }
        Ok(Self { lifetime })
    }

    /// The lifetime in force.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }
}

/// A newly issued key. The only time the secret exists outside the caller's vault.
#[derive(Debug)]
pub struct IssuedKey {
    /// The full key to hand to the service.
    pub key: ApiKey,
    /// Public id (safe to log and list).
    pub key_id: String,
    /// Expiry.
    pub expires_at: OffsetDateTime,
}

/// Manages service accounts and their keys.
pub struct ServiceAccounts {
    repo: Arc<dyn IdentityRepository>,
    clock: Arc<dyn Clock>,
    config: ServiceKeyConfig,
}

impl std::fmt::Debug for ServiceAccounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccounts").field("config", &self.config).finish_non_exhaustive()
    }
}

impl ServiceAccounts {
    /// A manager over `repo`.
    pub fn new(repo: Arc<dyn IdentityRepository>, clock: Arc<dyn Clock>, config: ServiceKeyConfig) -> Self {
        Self { repo, clock, config }
    }

    /// Creates a service account named `name` (id `service:<name>`).
    pub fn create_account(&self, name: &str, roles: Vec<Role>) -> Result<ServiceAccount, Error> {
        if name.is_empty()
            || name.len() > 64
            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(Error::Config("service account name must be 1 to 64 of [A-Za-z0-9_-]".into()));
        }
        let account = ServiceAccount { id: format!("service:{name}"), name: name.into(), roles, disabled: false };
        self.repo.insert_service_account(&account)?;
        Ok(account)
    }

    /// Issues a new key for `account_id`. Existing keys stay valid (overlapping rotation).
    pub fn issue(&self, account_id: &str) -> Result<IssuedKey, Error> {
        let account = self.repo.service_account(account_id)?.ok_or(Error::NotFound("service account"))?;
        let key_id = hex::encode(random_bytes::<8>()?.as_ref());
        let key = ApiKey::new(format!("{PREFIX}{key_id}_{}", random_token()?));
        let now = self.clock.now();
        let expires_at = now + to_time(self.config.lifetime);
        self.repo.insert_service_key(&ServiceKeyRecord {
            key_id: key_id.clone(),
            account_id: account.id,
            secret_hash: sha256(key.expose().as_bytes()),
            created_at: now,
            expires_at,
            revoked_at: None,
        })?;
        Ok(IssuedKey { key, key_id, expires_at })
    }

    /// Rotates: issues a new key and, if `old_key_grace` is given, shortens every
    /// other live key of the account to expire within that grace period.
    pub fn rotate(&self, account_id: &str, old_key_grace: Option<Duration>) -> Result<IssuedKey, Error> {
        let issued = self.issue(account_id)?;
        if let Some(grace) = old_key_grace {
            let cutoff = self.clock.now() + to_time(grace);
            for mut k in self.repo.service_keys(account_id)? {
                if k.key_id != issued.key_id && k.revoked_at.is_none() && k.expires_at > cutoff {
                    k.expires_at = cutoff;
                    self.repo.update_service_key(&k)?;
                }
            }
        }
        Ok(issued)
    }

    /// Revokes a key; refused from the next request on.
    pub fn revoke(&self, key_id: &str) -> Result<(), Error> {
        let mut k = self.repo.service_key(key_id)?.ok_or(Error::NotFound("service key"))?;
        if k.revoked_at.is_none() {
            k.revoked_at = Some(self.clock.now());
            self.repo.update_service_key(&k)?;
        }
        Ok(())
    }

    /// Keys of an account (no secrets), for listing.
    pub fn keys(&self, account_id: &str) -> Result<Vec<ServiceKeyRecord>, Error> {
        self.repo.service_keys(account_id)
    }

    /// Authenticates a presented key (from `Authorization: Bearer phg_…`).
    pub fn authenticate(&self, presented: &str) -> Result<Principal, Error> {
        self.authenticate_until(presented).map(|(p, _)| p)
    }

    /// Like [`ServiceAccounts::authenticate`], also returning when the key
    /// expires, so a caller that remembers verified keys never trusts one
    /// past its expiry.
    pub fn authenticate_until(&self, presented: &str) -> Result<(Principal, OffsetDateTime), Error> {
        use subtle::ConstantTimeEq;
        let rest = presented.strip_prefix(PREFIX).ok_or(Error::CredentialMalformed)?;
        let (key_id, secret) = rest.split_once('_').ok_or(Error::CredentialMalformed)?;
        if key_id.len() != 16 || secret.len() != 43 {
            return Err(Error::CredentialMalformed);
        }
        // Unknown id and wrong secret are the same error: ids are not secret, but
        // a distinct answer would confirm which ids exist.
        let record = self.repo.service_key(key_id)?.ok_or(Error::InvalidCredentials)?;
        let ok: bool = sha256(presented.as_bytes()).ct_eq(&record.secret_hash).into();
        if !ok {
            return Err(Error::InvalidCredentials);
        }
        if record.revoked_at.is_some() {
            return Err(Error::CredentialRevoked);
        }
        if self.clock.now() >= record.expires_at {
            return Err(Error::CredentialExpired);
        }
        let account = self.repo.service_account(&record.account_id)?.ok_or(Error::InvalidCredentials)?;
        if account.disabled {
            return Err(Error::AccountDisabled);
        }
        let principal = Principal {
            subject: account.id,
            display_name: account.name,
            kind: PrincipalKind::Service,
            roles: account.roles,
            auth_method: AuthMethod::ApiKey,
            session_ref: Some(format!("key:{}", record.key_id)),
            break_glass: None,
        };
        Ok((principal, record.expires_at))
    }
}
