//! [`IdentityRepository`] on the SQLite store's connection.
//!
//! Every method is one statement, so each is atomic without an explicit
//! transaction, and runs under the store's lock like everything else.

use std::os::raw::c_int;

use phigate_identity::{
    Error, IdentityRepository, LockoutKey, LockoutState, ServiceAccount, ServiceKeyRecord, SessionRecord, UserRecord,
};
use rusqlite::{OptionalExtension, Row, ffi, params};
use time::OffsetDateTime;

use super::{
    AccountRow, EncodedKeyTimes, EncodedUser, LockoutRow, ServiceKeyRow, SessionRow, UserRow, lockout_key,
    principal_to_text, roles_to_text, to_ns,
};
use crate::SqliteStore;

/// SQLite's message names the constraint and column, never the values bound.
fn db(e: rusqlite::Error) -> Error {
    Error::Storage(format!("SQLite: {e}"))
}

fn violates(e: &rusqlite::Error, extended_codes: &[c_int]) -> bool {
    e.sqlite_error().is_some_and(|f| extended_codes.contains(&f.extended_code))
}

const UNIQUE: &[c_int] = &[ffi::SQLITE_CONSTRAINT_UNIQUE, ffi::SQLITE_CONSTRAINT_PRIMARYKEY];
const FOREIGN_KEY: &[c_int] = &[ffi::SQLITE_CONSTRAINT_FOREIGNKEY];

fn user_row(r: &Row<'_>) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        id: r.get(0)?,
        username: r.get(1)?,
        display_name: r.get(2)?,
        password_hash: r.get(3)?,
        roles: r.get(4)?,
        totp_sealed: r.get(5)?,
        totp_confirmed: r.get(6)?,
        totp_last_step: r.get(7)?,
        disabled: r.get(8)?,
    })
}

fn key_row(r: &Row<'_>) -> rusqlite::Result<ServiceKeyRow> {
    Ok(ServiceKeyRow {
        key_id: r.get(0)?,
        account_id: r.get(1)?,
        secret_hash: r.get(2)?,
        created_at_ns: r.get(3)?,
        expires_at_ns: r.get(4)?,
        revoked_at_ns: r.get(5)?,
    })
}

impl IdentityRepository for SqliteStore {
    fn insert_user(&self, user: &UserRecord) -> Result<(), Error> {
        let enc = EncodedUser::new(user)?;
        self.with_connection(|c| {
            c.prepare_cached(
                "INSERT INTO users (id, username, display_name, password_hash, roles, totp_sealed, totp_confirmed,
                 totp_last_step, disabled) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                user.id,
                user.username,
                user.display_name,
                user.password_hash.0,
                enc.roles,
                enc.totp_sealed,
                user.totp_confirmed,
                enc.totp_last_step,
                user.disabled
            ])
        })
        .map_err(|e| if violates(&e, UNIQUE) { Error::AlreadyExists("user") } else { db(e) })?;
        Ok(())
    }

    fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>, Error> {
        let row = self
            .with_connection(|c| {
                c.prepare_cached(
                    "SELECT id, username, display_name, password_hash, roles, totp_sealed, totp_confirmed,
                     totp_last_step, disabled FROM users WHERE username = ?1",
                )?
                .query_row([username.to_lowercase()], user_row)
                .optional()
            })
            .map_err(db)?;
        row.map(UserRow::decode).transpose()
    }

    fn update_user(&self, user: &UserRecord) -> Result<(), Error> {
        let enc = EncodedUser::new(user)?;
        let changed = self
            .with_connection(|c| {
                c.prepare_cached(
                    "UPDATE users SET username = ?2, display_name = ?3, password_hash = ?4, roles = ?5,
                     totp_sealed = ?6, totp_confirmed = ?7, totp_last_step = ?8, disabled = ?9 WHERE id = ?1",
                )?
                .execute(params![
                    user.id,
                    user.username,
                    user.display_name,
                    user.password_hash.0,
                    enc.roles,
                    enc.totp_sealed,
                    user.totp_confirmed,
                    enc.totp_last_step,
                    user.disabled
                ])
            })
            .map_err(|e| if violates(&e, UNIQUE) { Error::AlreadyExists("user") } else { db(e) })?;
        if changed == 0 { Err(Error::NotFound("user")) } else { Ok(()) }
    }

    fn users(&self) -> Result<Vec<UserRecord>, Error> {
        let rows = self
            .with_connection(|c| {
                c.prepare_cached(
                    "SELECT id, username, display_name, password_hash, roles, totp_sealed, totp_confirmed,
                     totp_last_step, disabled FROM users ORDER BY seq",
                )?
                .query_map([], user_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(db)?;
        rows.into_iter().map(UserRow::decode).collect()
    }

    fn lockout(&self, key: &LockoutKey) -> Result<Option<LockoutState>, Error> {
        let key = lockout_key(key)?;
        let row = self
            .with_connection(|c| {
                c.prepare_cached("SELECT failures, last_failure_ns, locked_until_ns FROM lockouts WHERE key = ?1")?
                    .query_row([key], |r| {
                        Ok(LockoutRow { failures: r.get(0)?, last_failure_ns: r.get(1)?, locked_until_ns: r.get(2)? })
                    })
                    .optional()
            })
            .map_err(db)?;
        row.map(LockoutRow::decode).transpose()
    }

    fn set_lockout(&self, key: &LockoutKey, state: Option<&LockoutState>) -> Result<(), Error> {
        let key = lockout_key(key)?;
        match state {
            Some(s) => {
                let last_failure = to_ns(s.last_failure)?;
                let locked_until = s.locked_until.map(to_ns).transpose()?;
                self.with_connection(|c| {
                    c.prepare_cached(
                        "INSERT INTO lockouts (key, failures, last_failure_ns, locked_until_ns) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,
                         last_failure_ns = excluded.last_failure_ns, locked_until_ns = excluded.locked_until_ns",
                    )?
                    .execute(params![key, s.failures, last_failure, locked_until])
                })
            }
            None => self.with_connection(|c| c.prepare_cached("DELETE FROM lockouts WHERE key = ?1")?.execute([key])),
        }
        .map_err(db)?;
        Ok(())
    }

    fn insert_session(&self, session: &SessionRecord) -> Result<(), Error> {
        let principal = principal_to_text(&session.principal)?;
        let (created, seen) = (to_ns(session.created_at)?, to_ns(session.last_seen)?);
        self.with_connection(|c| {
            c.prepare_cached(
                "INSERT INTO sessions (id_hash, csrf_hash, subject, principal, created_at_ns, last_seen_ns)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                &session.id_hash[..],
                &session.csrf_hash[..],
                session.principal.subject,
                principal,
                created,
                seen
            ])
        })
        .map_err(|e| if violates(&e, UNIQUE) { Error::AlreadyExists("session") } else { db(e) })?;
        Ok(())
    }

    fn session(&self, id_hash: &[u8; 32]) -> Result<Option<SessionRecord>, Error> {
        let row = self
            .with_connection(|c| {
                c.prepare_cached(
                    "SELECT csrf_hash, principal, created_at_ns, last_seen_ns FROM sessions WHERE id_hash = ?1",
                )?
                .query_row([&id_hash[..]], |r| {
                    Ok(SessionRow {
                        csrf_hash: r.get(0)?,
                        principal: r.get(1)?,
                        created_at_ns: r.get(2)?,
                        last_seen_ns: r.get(3)?,
                    })
                })
                .optional()
            })
            .map_err(db)?;
        row.map(|r| r.decode(id_hash)).transpose()
    }

    fn touch_session(&self, id_hash: &[u8; 32], last_seen: OffsetDateTime) -> Result<(), Error> {
        let seen = to_ns(last_seen)?;
        self.with_connection(|c| {
            c.prepare_cached("UPDATE sessions SET last_seen_ns = ?2 WHERE id_hash = ?1")?
                .execute(params![&id_hash[..], seen])
        })
        .map_err(db)?;
        Ok(())
    }

    fn delete_session(&self, id_hash: &[u8; 32]) -> Result<(), Error> {
        self.with_connection(|c| c.prepare_cached("DELETE FROM sessions WHERE id_hash = ?1")?.execute([&id_hash[..]]))
            .map_err(db)?;
        Ok(())
    }

    fn delete_sessions_of(&self, subject: &str) -> Result<usize, Error> {
        self.with_connection(|c| c.prepare_cached("DELETE FROM sessions WHERE subject = ?1")?.execute([subject]))
            .map_err(db)
    }

    fn insert_service_account(&self, account: &ServiceAccount) -> Result<(), Error> {
        let roles = roles_to_text(&account.roles)?;
        self.with_connection(|c| {
            c.prepare_cached("INSERT INTO service_accounts (id, name, roles, disabled) VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![account.id, account.name, roles, account.disabled])
        })
        .map_err(|e| if violates(&e, UNIQUE) { Error::AlreadyExists("service account") } else { db(e) })?;
        Ok(())
    }

    fn service_account(&self, id: &str) -> Result<Option<ServiceAccount>, Error> {
        let row = self
            .with_connection(|c| {
                c.prepare_cached("SELECT id, name, roles, disabled FROM service_accounts WHERE id = ?1")?
                    .query_row([id], |r| {
                        Ok(AccountRow { id: r.get(0)?, name: r.get(1)?, roles: r.get(2)?, disabled: r.get(3)? })
                    })
                    .optional()
            })
            .map_err(db)?;
        row.map(AccountRow::decode).transpose()
    }

    fn insert_service_key(&self, key: &ServiceKeyRecord) -> Result<(), Error> {
        let t = EncodedKeyTimes::new(key)?;
        self.with_connection(|c| {
            c.prepare_cached(
                "INSERT INTO service_keys (key_id, account_id, secret_hash, created_at_ns, expires_at_ns,
                 revoked_at_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                key.key_id,
                key.account_id,
                &key.secret_hash[..],
                t.created_at_ns,
                t.expires_at_ns,
                t.revoked_at_ns
            ])
        })
        .map_err(|e| {
            if violates(&e, UNIQUE) {
                Error::AlreadyExists("service key")
            } else if violates(&e, FOREIGN_KEY) {
                Error::NotFound("service account")
            } else {
                db(e)
            }
        })?;
        Ok(())
    }

    fn service_key(&self, key_id: &str) -> Result<Option<ServiceKeyRecord>, Error> {
        let row = self
            .with_connection(|c| {
                c.prepare_cached(
                    "SELECT key_id, account_id, secret_hash, created_at_ns, expires_at_ns, revoked_at_ns
                     FROM service_keys WHERE key_id = ?1",
                )?
                .query_row([key_id], key_row)
                .optional()
            })
            .map_err(db)?;
        row.map(ServiceKeyRow::decode).transpose()
    }

    fn service_keys(&self, account_id: &str) -> Result<Vec<ServiceKeyRecord>, Error> {
        let rows = self
            .with_connection(|c| {
                c.prepare_cached(
                    "SELECT key_id, account_id, secret_hash, created_at_ns, expires_at_ns, revoked_at_ns
                     FROM service_keys WHERE account_id = ?1 ORDER BY created_at_ns, seq",
                )?
                .query_map([account_id], key_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(db)?;
        rows.into_iter().map(ServiceKeyRow::decode).collect()
    }

    fn update_service_key(&self, key: &ServiceKeyRecord) -> Result<(), Error> {
        let t = EncodedKeyTimes::new(key)?;
        let changed = self
            .with_connection(|c| {
                c.prepare_cached(
                    "UPDATE service_keys SET account_id = ?2, secret_hash = ?3, created_at_ns = ?4,
                     expires_at_ns = ?5, revoked_at_ns = ?6 WHERE key_id = ?1",
                )?
                .execute(params![
                    key.key_id,
                    key.account_id,
                    &key.secret_hash[..],
                    t.created_at_ns,
                    t.expires_at_ns,
                    t.revoked_at_ns
                ])
            })
            .map_err(|e| if violates(&e, FOREIGN_KEY) { Error::NotFound("service account") } else { db(e) })?;
        if changed == 0 { Err(Error::NotFound("service key")) } else { Ok(()) }
    }
}
