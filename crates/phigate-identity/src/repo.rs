//! Persistence: the records this crate stores and the trait that stores them.
//!
//! The trait is deliberately dumb (get/put by key): every rule (expiry,
//! lockout arithmetic, hashing) lives in this crate, so the in-memory
//! implementation used by tests and the SQLite one in `phigate-store`
//! behave the same. What is stored is never a usable secret: session ids,
//! CSRF tokens and API keys as SHA-256 hashes, passwords as Argon2id PHC
//! strings, TOTP secrets sealed by a [`SecretSealer`](crate::SecretSealer).

mod memory;

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use memory::MemoryRepository;

use crate::Error;
use crate::principal::{Principal, Role};

/// A sealed (encrypted and authenticated) secret; `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedSecret(pub Vec<u8>);

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedSecret({} bytes)", self.0.len())
    }
}

/// An Argon2id hash in PHC string form (`$argon2id$v=19$m=…`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordHash(pub String);

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash([REDACTED])")
    }
}

/// A local account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    /// Stable id (`local:<32 hex>`), used as the principal's subject.
    pub id: String,
    /// Sign-in name, unique, compared case-insensitively (stored lower-case).
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Argon2id hash.
    pub password_hash: PasswordHash,
    /// Roles.
    pub roles: Vec<Role>,
    /// Sealed TOTP secret, once enrollment has started.
    pub totp: Option<SealedSecret>,
    /// Whether a code from the secret has been verified (enrollment complete).
    pub totp_confirmed: bool,
    /// The last TOTP time step accepted, to refuse replays of the same code.
    pub totp_last_step: Option<u64>,
    /// Disabled accounts cannot sign in.
    pub disabled: bool,
}

/// What a lockout counter is keyed on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum LockoutKey {
    /// A username (lower-cased; counted even for names that do not exist).
    Account(String),
    /// A client address.
    Source(IpAddr),
}

/// A failure counter and its back-off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockoutState {
    /// Consecutive failures.
    pub failures: u32,
    /// Time of the last failure (counters decay after a quiet period).
    pub last_failure: OffsetDateTime,
    /// No attempt is accepted before this time.
    pub locked_until: Option<OffsetDateTime>,
}

/// A server-side session, keyed by the SHA-256 of its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// SHA-256 of the session id (the id itself is only in the browser).
    pub id_hash: [u8; 32],
    /// SHA-256 of the CSRF token bound to this session.
    pub csrf_hash: [u8; 32],
    /// Who is signed in.
    pub principal: Principal,
    /// Login time: the absolute lifetime counts from here, across id rotations.
    pub created_at: OffsetDateTime,
    /// Last request: the idle timeout counts from here.
    pub last_seen: OffsetDateTime,
}

/// A service account (machine identity); never shared between services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceAccount {
    /// Stable id (`service:<name>`).
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// Disabled accounts' keys are refused.
    pub disabled: bool,
}

/// One API key of a service account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceKeyRecord {
    /// Public key id (the part of the key before the secret).
    pub key_id: String,
    /// The owning service account.
    pub account_id: String,
    /// SHA-256 of the full key.
    pub secret_hash: [u8; 32],
    /// Issue time.
    pub created_at: OffsetDateTime,
    /// Hard expiry (at most 30 days after issue).
    pub expires_at: OffsetDateTime,
    /// Revocation time, if revoked.
    pub revoked_at: Option<OffsetDateTime>,
}

/// Storage for identities and credentials. Implementations must be safe to
/// share between threads; each method is one atomic operation.
pub trait IdentityRepository: Send + Sync {
    /// Inserts a user; [`Error::AlreadyExists`] if the id or username is taken.
    fn insert_user(&self, user: &UserRecord) -> Result<(), Error>;
    /// Looks a user up by (lower-case) username.
    fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>, Error>;
    /// Replaces a user record (same id); [`Error::NotFound`] if absent.
    fn update_user(&self, user: &UserRecord) -> Result<(), Error>;
    /// Every user (admin listing).
    fn users(&self) -> Result<Vec<UserRecord>, Error>;

    /// Reads a lockout counter.
    fn lockout(&self, key: &LockoutKey) -> Result<Option<LockoutState>, Error>;
    /// Writes (`Some`) or clears (`None`) a lockout counter.
    fn set_lockout(&self, key: &LockoutKey, state: Option<&LockoutState>) -> Result<(), Error>;

    /// Inserts a session.
    fn insert_session(&self, session: &SessionRecord) -> Result<(), Error>;
    /// Reads a session by id hash.
    fn session(&self, id_hash: &[u8; 32]) -> Result<Option<SessionRecord>, Error>;
    /// Records activity on a session.
    fn touch_session(&self, id_hash: &[u8; 32], last_seen: OffsetDateTime) -> Result<(), Error>;
    /// Deletes a session (logout, rotation, expiry); absent is not an error.
    fn delete_session(&self, id_hash: &[u8; 32]) -> Result<(), Error>;
    /// Deletes every session of a subject (password change, account disabled); returns how many.
    fn delete_sessions_of(&self, subject: &str) -> Result<usize, Error>;

    /// Inserts a service account; [`Error::AlreadyExists`] if the id is taken.
    fn insert_service_account(&self, account: &ServiceAccount) -> Result<(), Error>;
    /// Reads a service account.
    fn service_account(&self, id: &str) -> Result<Option<ServiceAccount>, Error>;
    /// Inserts an API key record.
    fn insert_service_key(&self, key: &ServiceKeyRecord) -> Result<(), Error>;
    /// Reads an API key record by its public id.
    fn service_key(&self, key_id: &str) -> Result<Option<ServiceKeyRecord>, Error>;
    /// Every key of an account, oldest first.
    fn service_keys(&self, account_id: &str) -> Result<Vec<ServiceKeyRecord>, Error>;
    /// Replaces an API key record (revocation, shortened expiry).
    fn update_service_key(&self, key: &ServiceKeyRecord) -> Result<(), Error>;
}
