//! [`IdentityRepository`] on the PostgreSQL store's client.
//!
//! Every method is one statement, so each is atomic without an explicit
//! transaction, also when several phigate instances share the database.

use phigate_identity::{
    Error, IdentityRepository, LockoutKey, LockoutState, ServiceAccount, ServiceKeyRecord, SessionRecord, UserRecord,
};
use postgres::Row;
use postgres::error::SqlState;
use time::OffsetDateTime;

use super::{
    AccountRow, EncodedKeyTimes, EncodedUser, LockoutRow, ServiceKeyRow, SessionRow, UserRow, lockout_key,
    principal_to_text, roles_to_text, to_ns,
};
use crate::PgStore;

/// SQL state and primary message only: the server's `DETAIL` line quotes
/// the conflicting key (a username, a key id), which has no place in logs.
fn db(e: postgres::Error) -> Error {
    match e.as_db_error() {
        Some(d) => Error::Storage(format!("PostgreSQL {}: {}", d.code().code(), d.message())),
        None => Error::Storage(format!("PostgreSQL: {e}")),
    }
}

fn violates(e: &postgres::Error, state: &SqlState) -> bool {
    e.code() == Some(state)
}

fn user_row(r: &Row) -> Result<UserRow, postgres::Error> {
    Ok(UserRow {
        id: r.try_get(0)?,
        username: r.try_get(1)?,
        display_name: r.try_get(2)?,
        password_hash: r.try_get(3)?,
        roles: r.try_get(4)?,
        totp_sealed: r.try_get(5)?,
        totp_confirmed: r.try_get(6)?,
        totp_last_step: r.try_get(7)?,
        disabled: r.try_get(8)?,
    })
}

fn key_row(r: &Row) -> Result<ServiceKeyRow, postgres::Error> {
    Ok(ServiceKeyRow {
        key_id: r.try_get(0)?,
        account_id: r.try_get(1)?,
        secret_hash: r.try_get(2)?,
        created_at_ns: r.try_get(3)?,
        expires_at_ns: r.try_get(4)?,
        revoked_at_ns: r.try_get(5)?,
    })
}

fn count(n: u64) -> Result<usize, Error> {
    usize::try_from(n).map_err(|_| Error::Storage("row count exceeds usize".into()))
}

impl IdentityRepository for PgStore {
    fn insert_user(&self, user: &UserRecord) -> Result<(), Error> {
        let enc = EncodedUser::new(user)?;
        self.with_client(|c| {
            c.execute(
                "INSERT INTO users (id, username, display_name, password_hash, roles, totp_sealed, totp_confirmed,
                 totp_last_step, disabled) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[
                    &user.id,
                    &user.username,
                    &user.display_name,
                    &user.password_hash.0,
                    &enc.roles,
                    &enc.totp_sealed,
                    &user.totp_confirmed,
                    &enc.totp_last_step,
                    &user.disabled,
                ],
            )
        })
        .map_err(|e| if violates(&e, &SqlState::UNIQUE_VIOLATION) { Error::AlreadyExists("user") } else { db(e) })?;
        Ok(())
    }

    fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>, Error> {
        let row = self
            .with_client(|c| {
                c.query_opt(
                    "SELECT id, username, display_name, password_hash, roles, totp_sealed, totp_confirmed,
                     totp_last_step, disabled FROM users WHERE username = $1",
                    &[&username.to_lowercase()],
                )?
                .as_ref()
                .map(user_row)
                .transpose()
            })
            .map_err(db)?;
        row.map(UserRow::decode).transpose()
    }

    fn update_user(&self, user: &UserRecord) -> Result<(), Error> {
        let enc = EncodedUser::new(user)?;
        let changed = self
            .with_client(|c| {
                c.execute(
                    "UPDATE users SET username = $2, display_name = $3, password_hash = $4, roles = $5,
                     totp_sealed = $6, totp_confirmed = $7, totp_last_step = $8, disabled = $9 WHERE id = $1",
                    &[
                        &user.id,
                        &user.username,
                        &user.display_name,
                        &user.password_hash.0,
                        &enc.roles,
                        &enc.totp_sealed,
                        &user.totp_confirmed,
                        &enc.totp_last_step,
                        &user.disabled,
                    ],
                )
            })
            .map_err(
                |e| if violates(&e, &SqlState::UNIQUE_VIOLATION) { Error::AlreadyExists("user") } else { db(e) },
            )?;
        if changed == 0 { Err(Error::NotFound("user")) } else { Ok(()) }
    }

    fn users(&self) -> Result<Vec<UserRecord>, Error> {
        let rows = self
            .with_client(|c| {
                c.query(
                    "SELECT id, username, display_name, password_hash, roles, totp_sealed, totp_confirmed,
                     totp_last_step, disabled FROM users ORDER BY seq",
                    &[],
                )?
                .iter()
                .map(user_row)
                .collect::<Result<Vec<_>, _>>()
            })
            .map_err(db)?;
        rows.into_iter().map(UserRow::decode).collect()
    }

    fn lockout(&self, key: &LockoutKey) -> Result<Option<LockoutState>, Error> {
        let key = lockout_key(key)?;
        let row = self
            .with_client(|c| {
                c.query_opt("SELECT failures, last_failure_ns, locked_until_ns FROM lockouts WHERE key = $1", &[&key])?
                    .map(|r| {
                        Ok(LockoutRow {
                            failures: r.try_get(0)?,
                            last_failure_ns: r.try_get(1)?,
                            locked_until_ns: r.try_get(2)?,
                        })
                    })
                    .transpose()
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
                self.with_client(|c| {
                    c.execute(
                        "INSERT INTO lockouts (key, failures, last_failure_ns, locked_until_ns) VALUES ($1, $2, $3, $4)
                         ON CONFLICT (key) DO UPDATE SET failures = EXCLUDED.failures,
                         last_failure_ns = EXCLUDED.last_failure_ns, locked_until_ns = EXCLUDED.locked_until_ns",
                        &[&key, &i64::from(s.failures), &last_failure, &locked_until],
                    )
                })
            }
            None => self.with_client(|c| c.execute("DELETE FROM lockouts WHERE key = $1", &[&key])),
        }
        .map_err(db)?;
        Ok(())
    }

    fn insert_session(&self, session: &SessionRecord) -> Result<(), Error> {
        let principal = principal_to_text(&session.principal)?;
        let (created, seen) = (to_ns(session.created_at)?, to_ns(session.last_seen)?);
        self.with_client(|c| {
            c.execute(
                "INSERT INTO sessions (id_hash, csrf_hash, subject, principal, created_at_ns, last_seen_ns)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &&session.id_hash[..],
                    &&session.csrf_hash[..],
                    &session.principal.subject,
                    &principal,
                    &created,
                    &seen,
                ],
            )
        })
        .map_err(|e| if violates(&e, &SqlState::UNIQUE_VIOLATION) { Error::AlreadyExists("session") } else { db(e) })?;
        Ok(())
    }

    fn session(&self, id_hash: &[u8; 32]) -> Result<Option<SessionRecord>, Error> {
        let row = self
            .with_client(|c| {
                c.query_opt(
                    "SELECT csrf_hash, principal, created_at_ns, last_seen_ns FROM sessions WHERE id_hash = $1",
                    &[&&id_hash[..]],
                )?
                .map(|r| {
                    Ok(SessionRow {
                        csrf_hash: r.try_get(0)?,
                        principal: r.try_get(1)?,
                        created_at_ns: r.try_get(2)?,
                        last_seen_ns: r.try_get(3)?,
                    })
                })
                .transpose()
            })
            .map_err(db)?;
        row.map(|r| r.decode(id_hash)).transpose()
    }

    fn touch_session(&self, id_hash: &[u8; 32], last_seen: OffsetDateTime) -> Result<(), Error> {
        let seen = to_ns(last_seen)?;
        self.with_client(|c| {
            c.execute("UPDATE sessions SET last_seen_ns = $2 WHERE id_hash = $1", &[&&id_hash[..], &seen])
        })
        .map_err(db)?;
        Ok(())
    }

    fn delete_session(&self, id_hash: &[u8; 32]) -> Result<(), Error> {
        self.with_client(|c| c.execute("DELETE FROM sessions WHERE id_hash = $1", &[&&id_hash[..]])).map_err(db)?;
        Ok(())
    }

    fn delete_sessions_of(&self, subject: &str) -> Result<usize, Error> {
        count(self.with_client(|c| c.execute("DELETE FROM sessions WHERE subject = $1", &[&subject])).map_err(db)?)
    }

    fn insert_service_account(&self, account: &ServiceAccount) -> Result<(), Error> {
        let roles = roles_to_text(&account.roles)?;
        self.with_client(|c| {
            c.execute(
                "INSERT INTO service_accounts (id, name, roles, disabled) VALUES ($1, $2, $3, $4)",
                &[&account.id, &account.name, &roles, &account.disabled],
            )
        })
        .map_err(|e| {
            if violates(&e, &SqlState::UNIQUE_VIOLATION) { Error::AlreadyExists("service account") } else { db(e) }
        })?;
        Ok(())
    }

    fn service_account(&self, id: &str) -> Result<Option<ServiceAccount>, Error> {
        let row = self
            .with_client(|c| {
                c.query_opt("SELECT id, name, roles, disabled FROM service_accounts WHERE id = $1", &[&id])?
                    .map(|r| {
                        Ok(AccountRow {
                            id: r.try_get(0)?,
                            name: r.try_get(1)?,
                            roles: r.try_get(2)?,
                            disabled: r.try_get(3)?,
                        })
                    })
                    .transpose()
            })
            .map_err(db)?;
        row.map(AccountRow::decode).transpose()
    }

    fn insert_service_key(&self, key: &ServiceKeyRecord) -> Result<(), Error> {
        let t = EncodedKeyTimes::new(key)?;
        self.with_client(|c| {
            c.execute(
                "INSERT INTO service_keys (key_id, account_id, secret_hash, created_at_ns, expires_at_ns,
                 revoked_at_ns) VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &key.key_id,
                    &key.account_id,
                    &&key.secret_hash[..],
                    &t.created_at_ns,
                    &t.expires_at_ns,
                    &t.revoked_at_ns,
                ],
            )
        })
        .map_err(|e| {
            if violates(&e, &SqlState::UNIQUE_VIOLATION) {
                Error::AlreadyExists("service key")
            } else if violates(&e, &SqlState::FOREIGN_KEY_VIOLATION) {
                Error::NotFound("service account")
            } else {
                db(e)
            }
        })?;
        Ok(())
    }

    fn service_key(&self, key_id: &str) -> Result<Option<ServiceKeyRecord>, Error> {
        let row = self
            .with_client(|c| {
                c.query_opt(
                    "SELECT key_id, account_id, secret_hash, created_at_ns, expires_at_ns, revoked_at_ns
                     FROM service_keys WHERE key_id = $1",
                    &[&key_id],
                )?
                .as_ref()
                .map(key_row)
                .transpose()
            })
            .map_err(db)?;
        row.map(ServiceKeyRow::decode).transpose()
    }

    fn service_keys(&self, account_id: &str) -> Result<Vec<ServiceKeyRecord>, Error> {
        let rows = self
            .with_client(|c| {
                c.query(
                    "SELECT key_id, account_id, secret_hash, created_at_ns, expires_at_ns, revoked_at_ns
                     FROM service_keys WHERE account_id = $1 ORDER BY created_at_ns, seq",
                    &[&account_id],
                )?
                .iter()
                .map(key_row)
                .collect::<Result<Vec<_>, _>>()
            })
            .map_err(db)?;
        rows.into_iter().map(ServiceKeyRow::decode).collect()
    }

    fn update_service_key(&self, key: &ServiceKeyRecord) -> Result<(), Error> {
        let t = EncodedKeyTimes::new(key)?;
        let changed = self
            .with_client(|c| {
                c.execute(
                    "UPDATE service_keys SET account_id = $2, secret_hash = $3, created_at_ns = $4,
                     expires_at_ns = $5, revoked_at_ns = $6 WHERE key_id = $1",
                    &[
                        &key.key_id,
                        &key.account_id,
                        &&key.secret_hash[..],
                        &t.created_at_ns,
                        &t.expires_at_ns,
                        &t.revoked_at_ns,
                    ],
                )
            })
            .map_err(|e| {
                if violates(&e, &SqlState::FOREIGN_KEY_VIOLATION) { Error::NotFound("service account") } else { db(e) }
            })?;
        if changed == 0 { Err(Error::NotFound("service key")) } else { Ok(()) }
    }
}
