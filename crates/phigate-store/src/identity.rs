//! Identities and credentials ([`phigate_identity::IdentityRepository`]) in the same
//! database as the records, so they share its durability settings, its
//! backups and its single source of truth; there is no second file to lose.
//!
//! [`SqliteStore`](crate::SqliteStore) and [`PgStore`](crate::PgStore) both
//! implement the trait; hand either to the identity crate as an
//! `Arc<dyn IdentityRepository>`. Tables come from migration 3 (`users`,
//! `lockouts`, `sessions`, `service_accounts`, `service_keys`).
//!
//! What is stored is exactly what the identity crate hands over, which is
//! never a usable secret: Argon2id PHC strings, sealed TOTP secrets,
//! SHA-256 hashes of session ids, CSRF tokens and API keys. Nothing here
//! derives, caches or logs anything else from them. These tables describe
//! staff and services, not patients: usernames, display names and roles are
//! stored in clear.
//!
//! Encoding, chosen to be stable and readable by an operator with a SQL shell:
//! - roles: a JSON array of role names;
//! - times: Unix nanoseconds in a 64-bit integer, so values round-trip
//!   exactly (years 1677 to 2262; anything outside is refused, not clamped);
//! - lockout keys: `account:<username>` or `source:<address>`;
//! - a session's principal: its JSON form (it holds no credential), with
//!   the subject copied into its own indexed column for
//!   [`delete_sessions_of`](phigate_identity::IdentityRepository::delete_sessions_of).
//!
//! Where the backends are stricter than `MemoryRepository` (the reference):
//! usernames are unique case-insensitively even if a caller skips the
//! identity crate's lower-casing (by the database's `lower()`: ASCII only in
//! SQLite), and lookups lower-case the name asked for; a
//! session whose id hash already exists is refused rather than replaced; a
//! key for an unknown service account is refused ([`Error::NotFound`]).
//!
//! Database failures become [`Error::Storage`] with the driver's message and
//! SQL state only: never parameter values, and never PostgreSQL's `DETAIL`
//! line (which quotes the conflicting key).

mod postgres;
mod sqlite;

use phigate_identity::{
    Error, LockoutKey, LockoutState, PasswordHash, Principal, Role, SealedSecret, ServiceAccount, ServiceKeyRecord,
    SessionRecord, UserRecord,
};
use time::OffsetDateTime;

/// A `users` row as read, before decoding.
struct UserRow {
    id: String,
    username: String,
    display_name: String,
    password_hash: String,
    roles: String,
    totp_sealed: Option<Vec<u8>>,
    totp_confirmed: bool,
    totp_last_step: Option<i64>,
    disabled: bool,
}

impl UserRow {
    fn decode(self) -> Result<UserRecord, Error> {
        Ok(UserRecord {
            id: self.id,
            username: self.username,
            display_name: self.display_name,
            password_hash: PasswordHash(self.password_hash),
            roles: roles_from_text(&self.roles)?,
            totp: self.totp_sealed.map(SealedSecret),
            totp_confirmed: self.totp_confirmed,
            totp_last_step: self.totp_last_step.map(step_from_db).transpose()?,
            disabled: self.disabled,
        })
    }
}

/// A `lockouts` row as read.
struct LockoutRow {
    failures: i64,
    last_failure_ns: i64,
    locked_until_ns: Option<i64>,
}

impl LockoutRow {
    fn decode(self) -> Result<LockoutState, Error> {
        Ok(LockoutState {
            failures: u32::try_from(self.failures).map_err(|_| corrupt("lockout failure count"))?,
            last_failure: from_ns(self.last_failure_ns)?,
            locked_until: self.locked_until_ns.map(from_ns).transpose()?,
        })
    }
}

/// A `sessions` row as read (the id hash is the key that was asked for).
struct SessionRow {
    csrf_hash: Vec<u8>,
    principal: String,
    created_at_ns: i64,
    last_seen_ns: i64,
}

impl SessionRow {
    fn decode(self, id_hash: &[u8; 32]) -> Result<SessionRecord, Error> {
        Ok(SessionRecord {
            id_hash: *id_hash,
            csrf_hash: hash32(self.csrf_hash, "session CSRF hash")?,
            principal: principal_from_text(&self.principal)?,
            created_at: from_ns(self.created_at_ns)?,
            last_seen: from_ns(self.last_seen_ns)?,
        })
    }
}

/// A `service_accounts` row as read.
struct AccountRow {
    id: String,
    name: String,
    roles: String,
    disabled: bool,
}

impl AccountRow {
    fn decode(self) -> Result<ServiceAccount, Error> {
        Ok(ServiceAccount {
            id: self.id,
            name: self.name,
            roles: roles_from_text(&self.roles)?,
            disabled: self.disabled,
        })
    }
}

/// A `service_keys` row as read.
struct ServiceKeyRow {
    key_id: String,
    account_id: String,
    secret_hash: Vec<u8>,
    created_at_ns: i64,
    expires_at_ns: i64,
    revoked_at_ns: Option<i64>,
}

impl ServiceKeyRow {
    fn decode(self) -> Result<ServiceKeyRecord, Error> {
        Ok(ServiceKeyRecord {
            key_id: self.key_id,
            account_id: self.account_id,
            secret_hash: hash32(self.secret_hash, "service key hash")?,
            created_at: from_ns(self.created_at_ns)?,
            expires_at: from_ns(self.expires_at_ns)?,
            revoked_at: self.revoked_at_ns.map(from_ns).transpose()?,
        })
    }
}

/// The columns of a user other than its id, encoded for binding.
struct EncodedUser<'a> {
    roles: String,
    totp_sealed: Option<&'a [u8]>,
    totp_last_step: Option<i64>,
}

impl<'a> EncodedUser<'a> {
    fn new(user: &'a UserRecord) -> Result<Self, Error> {
        Ok(Self {
            roles: roles_to_text(&user.roles)?,
            totp_sealed: user.totp.as_ref().map(|s| s.0.as_slice()),
            totp_last_step: user.totp_last_step.map(step_to_db).transpose()?,
        })
    }
}

/// The times of a service key, encoded for binding.
struct EncodedKeyTimes {
    created_at_ns: i64,
    expires_at_ns: i64,
    revoked_at_ns: Option<i64>,
}

impl EncodedKeyTimes {
    fn new(key: &ServiceKeyRecord) -> Result<Self, Error> {
        Ok(Self {
            created_at_ns: to_ns(key.created_at)?,
            expires_at_ns: to_ns(key.expires_at)?,
            revoked_at_ns: key.revoked_at.map(to_ns).transpose()?,
        })
    }
}

/// A stored value that does not decode: a bug or tampering. Names the column, never its content.
fn corrupt(what: &str) -> Error {
    Error::Storage(format!("stored {what} is unreadable"))
}

fn roles_to_text(roles: &[Role]) -> Result<String, Error> {
    let names: Vec<&str> = roles.iter().map(Role::as_str).collect();
    serde_json::to_string(&names).map_err(|_| Error::Storage("roles could not be encoded".into()))
}

fn roles_from_text(text: &str) -> Result<Vec<Role>, Error> {
    let names: Vec<String> = serde_json::from_str(text).map_err(|_| corrupt("role list"))?;
    Ok(names.into_iter().map(Role::new).collect())
}

fn principal_to_text(principal: &Principal) -> Result<String, Error> {
    serde_json::to_string(principal).map_err(|_| Error::Storage("session principal could not be encoded".into()))
}

fn principal_from_text(text: &str) -> Result<Principal, Error> {
    // The serde error is dropped on purpose: its message can quote the stored value.
    serde_json::from_str(text).map_err(|_| corrupt("session principal"))
}

fn to_ns(t: OffsetDateTime) -> Result<i64, Error> {
    i64::try_from(t.unix_timestamp_nanos())
        .map_err(|_| Error::Storage("time outside the storable range (years 1677 to 2262)".into()))
}

fn from_ns(ns: i64) -> Result<OffsetDateTime, Error> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns)).map_err(|_| corrupt("time"))
}

fn step_to_db(step: u64) -> Result<i64, Error> {
    i64::try_from(step).map_err(|_| Error::Storage("TOTP step outside the storable range".into()))
}

fn step_from_db(step: i64) -> Result<u64, Error> {
    u64::try_from(step).map_err(|_| corrupt("TOTP step"))
}

fn hash32(bytes: Vec<u8>, what: &str) -> Result<[u8; 32], Error> {
    <[u8; 32]>::try_from(bytes).map_err(|_| corrupt(what))
}

/// The text key of a lockout counter.
fn lockout_key(key: &LockoutKey) -> Result<String, Error> {
    Ok(match key {
        LockoutKey::Account(name) => format!("account:{name}"),
        LockoutKey::Source(addr) => format!("source:{addr}"),
        // A kind added to the identity crate later: its serde form is stable and distinct from the above.
        other => format!(
            "json:{}",
            serde_json::to_string(other).map_err(|_| Error::Storage("lockout key could not be encoded".into()))?
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_to_the_nanosecond_and_refuse_the_unstorable() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_800_000_000_123_456_789).unwrap();
        assert_eq!(from_ns(to_ns(t).unwrap()).unwrap(), t);
        let far = OffsetDateTime::from_unix_timestamp(20_000_000_000).unwrap();
        assert!(matches!(to_ns(far), Err(Error::Storage(_))));
    }

    #[test]
    fn lockout_keys_are_distinct_and_readable() {
        let account = lockout_key(&LockoutKey::Account("10.0.0.1".into())).unwrap();
        let source = lockout_key(&LockoutKey::Source("10.0.0.1".parse().unwrap())).unwrap();
        assert_eq!(account, "account:10.0.0.1");
        assert_eq!(source, "source:10.0.0.1");
    }

    #[test]
    fn decode_errors_do_not_quote_stored_values() {
        let err = principal_from_text("{\"subject\":\"secret-looking-value\"").unwrap_err().to_string();
        assert!(!err.contains("secret-looking-value"), "{err}");
        let err = roles_from_text("[\"admin\", 7]").unwrap_err().to_string();
        assert!(!err.contains("admin"), "{err}");
        assert!(matches!(hash32(vec![0; 31], "session CSRF hash"), Err(Error::Storage(_))));
    }
}
