//! An in-memory [`IdentityRepository`] for tests and single-process demos.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use time::OffsetDateTime;

use super::{
    IdentityRepository, LockoutKey, LockoutState, ServiceAccount, ServiceKeyRecord, SessionRecord, UserRecord,
};
use crate::Error;

#[derive(Default)]
struct Tables {
    users: Vec<UserRecord>,
    lockouts: HashMap<LockoutKey, LockoutState>,
    sessions: HashMap<[u8; 32], SessionRecord>,
    accounts: HashMap<String, ServiceAccount>,
    keys: Vec<ServiceKeyRecord>,
}

/// Everything in one mutex-protected set of maps. Not persistent.
#[derive(Default)]
pub struct MemoryRepository {
    tables: Mutex<Tables>,
}

impl std::fmt::Debug for MemoryRepository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryRepository")
    }
}

impl MemoryRepository {
    /// An empty repository.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Tables> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Number of stored sessions (tests).
    pub fn session_count(&self) -> usize {
        self.lock().sessions.len()
    }
}

impl IdentityRepository for MemoryRepository {
    fn insert_user(&self, user: &UserRecord) -> Result<(), Error> {
        let mut t = self.lock();
        if t.users.iter().any(|u| u.id == user.id || u.username == user.username) {
            return Err(Error::AlreadyExists("user"));
        }
        t.users.push(user.clone());
        Ok(())
    }

    fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>, Error> {
        Ok(self.lock().users.iter().find(|u| u.username == username).cloned())
    }

    fn update_user(&self, user: &UserRecord) -> Result<(), Error> {
        let mut t = self.lock();
        let slot = t.users.iter_mut().find(|u| u.id == user.id).ok_or(Error::NotFound("user"))?;
        *slot = user.clone();
        Ok(())
    }

    fn users(&self) -> Result<Vec<UserRecord>, Error> {
        Ok(self.lock().users.clone())
    }

    fn lockout(&self, key: &LockoutKey) -> Result<Option<LockoutState>, Error> {
        Ok(self.lock().lockouts.get(key).cloned())
    }

    fn set_lockout(&self, key: &LockoutKey, state: Option<&LockoutState>) -> Result<(), Error> {
        let mut t = self.lock();
        match state {
            Some(s) => t.lockouts.insert(key.clone(), s.clone()),
            None => t.lockouts.remove(key),
        };
        Ok(())
    }

    fn insert_session(&self, session: &SessionRecord) -> Result<(), Error> {
        self.lock().sessions.insert(session.id_hash, session.clone());
        Ok(())
    }

    fn session(&self, id_hash: &[u8; 32]) -> Result<Option<SessionRecord>, Error> {
        Ok(self.lock().sessions.get(id_hash).cloned())
    }

    fn touch_session(&self, id_hash: &[u8; 32], last_seen: OffsetDateTime) -> Result<(), Error> {
        if let Some(s) = self.lock().sessions.get_mut(id_hash) {
            s.last_seen = last_seen;
        }
        Ok(())
    }

    fn delete_session(&self, id_hash: &[u8; 32]) -> Result<(), Error> {
        self.lock().sessions.remove(id_hash);
        Ok(())
    }

    fn delete_sessions_of(&self, subject: &str) -> Result<usize, Error> {
        let mut t = self.lock();
        let before = t.sessions.len();
        t.sessions.retain(|_, s| s.principal.subject != subject);
        Ok(before - t.sessions.len())
    }

    fn insert_service_account(&self, account: &ServiceAccount) -> Result<(), Error> {
        let mut t = self.lock();
        if t.accounts.contains_key(&account.id) {
            return Err(Error::AlreadyExists("service account"));
        }
        t.accounts.insert(account.id.clone(), account.clone());
        Ok(())
    }

    fn service_account(&self, id: &str) -> Result<Option<ServiceAccount>, Error> {
        Ok(self.lock().accounts.get(id).cloned())
    }

    fn insert_service_key(&self, key: &ServiceKeyRecord) -> Result<(), Error> {
        let mut t = self.lock();
        if t.keys.iter().any(|k| k.key_id == key.key_id) {
            return Err(Error::AlreadyExists("service key"));
        }
        t.keys.push(key.clone());
        Ok(())
    }

    fn service_key(&self, key_id: &str) -> Result<Option<ServiceKeyRecord>, Error> {
        Ok(self.lock().keys.iter().find(|k| k.key_id == key_id).cloned())
    }

    fn service_keys(&self, account_id: &str) -> Result<Vec<ServiceKeyRecord>, Error> {
        Ok(self.lock().keys.iter().filter(|k| k.account_id == account_id).cloned().collect())
    }

    fn update_service_key(&self, key: &ServiceKeyRecord) -> Result<(), Error> {
        let mut t = self.lock();
        let slot = t.keys.iter_mut().find(|k| k.key_id == key.key_id).ok_or(Error::NotFound("service key"))?;
        *slot = key.clone();
        Ok(())
    }
}
