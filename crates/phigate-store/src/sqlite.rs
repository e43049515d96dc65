//! The embedded default store: one SQLite file (WAL) in the data directory.
//!
//! Settings chosen for PHI: `synchronous=FULL` (an acknowledged write
//! survives power loss), `secure_delete=ON` (a shredded key's bytes are
//! overwritten, not left in free pages), file mode 0600 (the WAL and shared
//! memory files inherit it). One connection behind a mutex: SQLite allows
//! one writer anyway, and this lets the store allocate record ids before
//! sealing, so the id can be bound into the ciphertext's associated data.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use phigate_keys::{BlindIndexKey, DataKey, KekVersion, Keyring, WrappedDek};
use phigate_phi::Phi;
use rusqlite::{Connection, OptionalExtension, params};

use crate::sealing::{BLIND_INDEX_SETTING, DekRow, body_aad, body_id, dek_context, lookup_term};
use crate::{Error, KeyUsage, NewRecord, Record, RecordId, RewrapReport, Store, SubjectId, migrations};

pub(crate) fn now() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

struct Inner {
    conn: Connection,
    next_record_id: i64,
}

/// The SQLite-backed [`Store`].
pub struct SqliteStore {
    path: PathBuf,
    inner: Mutex<Inner>,
    keyring: Arc<Keyring>,
    index_key: BlindIndexKey,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, migrating it to
    /// the current schema. Keys come from `keyring`.
    pub fn open(path: &Path, keyring: Arc<Keyring>) -> Result<Self, Error> {
        let io = |source| Error::Io { path: path.to_path_buf(), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
            fs::create_dir_all(dir).map_err(io)?;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io)?;
        }
        if !path.exists() {
            fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(io)?;
        }
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrations::apply(&mut conn)?;

        let index_dek = match conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [BLIND_INDEX_SETTING], |r| r.get::<_, String>(0))
            .optional()?
        {
            Some(id) => {
                let id: i64 = id.parse().map_err(|_| Error::Internal("blind index setting is not an id"))?;
                open_dek(&conn, &keyring, id)?
            }
            None => {
                let tx = conn.transaction()?;
                let (id, key) = create_dek(&tx, &keyring, "blind-index")?;
                tx.execute(
                    "INSERT INTO settings (key, value) VALUES (?1, ?2)",
                    params![BLIND_INDEX_SETTING, id.to_string()],
                )?;
                tx.commit()?;
                key
            }
        };
        let index_key = BlindIndexKey::derive(&index_dek, "lookup");
        let next_record_id: i64 = conn.query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM records", [], |r| r.get(0))?;
        Ok(Self { path: path.to_path_buf(), inner: Mutex::new(Inner { conn, next_record_id }), keyring, index_key })
    }

    /// Where the database lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The keyring this store seals with.
    pub fn keyring(&self) -> &Arc<Keyring> {
        &self.keyring
    }

    /// Writes a consistent copy of the database to `dest` (`VACUUM INTO`).
    /// The copy holds the same ciphertext as the store: no PHI in clear.
    pub(crate) fn snapshot_to(&self, dest: &Path) -> Result<(), Error> {
        let inner = self.lock();
        let dest = dest.to_str().ok_or(Error::Internal("snapshot path is not UTF-8"))?;
        inner.conn.execute("VACUUM INTO ?1", [dest])?;
        Ok(())
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64, Error> {
        Ok(self.lock().conn.query_row("SELECT MAX(version) FROM schema_migrations", [], |r| r.get(0))?)
    }

    /// Runs `f` on the connection, under the store's lock: the identity
    /// repository shares this file and its durability settings.
    pub(crate) fn with_connection<T>(&self, f: impl FnOnce(&mut Connection) -> T) -> T {
        f(&mut self.lock().conn)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock aborts its transaction (rusqlite rolls
        // back on drop), so the connection is still consistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn term(&self, kind: &str, field: &str, value: &str) -> [u8; 32] {
        lookup_term(&self.index_key, kind, field, value)
    }
}

fn create_dek(conn: &Connection, keyring: &Keyring, purpose: &str) -> Result<(i64, Arc<DataKey>), Error> {
    conn.execute("INSERT INTO deks (purpose, created_at) VALUES (?1, ?2)", params![purpose, now()])?;
    let id = conn.last_insert_rowid();
    let (key, wrapped) = keyring.create(id as u64, &dek_context(id, purpose))?;
    conn.execute(
        "UPDATE deks SET kek_version = ?1, wrapped = ?2 WHERE id = ?3",
        params![wrapped.kek_version.0, wrapped.bytes, id],
    )?;
    Ok((id, key))
}

fn open_dek(conn: &Connection, keyring: &Keyring, id: i64) -> Result<Arc<DataKey>, Error> {
    let row = conn
        .query_row("SELECT purpose, kek_version, wrapped FROM deks WHERE id = ?1", [id], |r| {
            Ok(DekRow { id, purpose: r.get(0)?, kek_version: r.get(1)?, wrapped: r.get(2)? })
        })
        .optional()?
        .ok_or_else(|| Error::NotFound { kind: "data key", id: id.to_string() })?;
    row.open(keyring, &format!("data key {id}"))
}

fn subject_dek(conn: &Connection, keyring: &Keyring, subject: &SubjectId) -> Result<Arc<DataKey>, Error> {
    let row = conn
        .prepare_cached(
            "SELECT d.id, d.purpose, d.kek_version, d.wrapped FROM subjects s JOIN deks d ON d.id = s.dek_id WHERE s.id = ?1",
        )?
        .query_row([subject.as_str()], |r| {
            Ok(DekRow { id: r.get(0)?, purpose: r.get(1)?, kek_version: r.get(2)?, wrapped: r.get(3)? })
        })
        .optional()?
        .ok_or_else(|| Error::NotFound { kind: "subject", id: subject.to_string() })?;
    row.open(keyring, subject.as_str())
}

impl Store for SqliteStore {
    fn create_subject(&self) -> Result<SubjectId, Error> {
        let mut inner = self.lock();
        let tx = inner.conn.transaction()?;
        let (dek_id, _) = create_dek(&tx, &self.keyring, "subject")?;
        let subject = SubjectId::random();
        tx.execute(
            "INSERT INTO subjects (id, dek_id, created_at) VALUES (?1, ?2, ?3)",
            params![subject.as_str(), dek_id, now()],
        )?;
        tx.commit()?;
        Ok(subject)
    }

    fn put_batch(&self, records: &[NewRecord<'_>]) -> Result<Vec<RecordId>, Error> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let mut next = inner.next_record_id;
        let tx = inner.conn.transaction()?;
        let mut keys: HashMap<&SubjectId, Arc<DataKey>> = HashMap::new();
        let mut ids = Vec::with_capacity(records.len());
        let created = now();
        {
            let mut insert_record = tx.prepare_cached(
                "INSERT INTO records (id, subject_id, kind, created_at, body) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut insert_lookup =
                tx.prepare_cached("INSERT OR IGNORE INTO lookups (term, record_id) VALUES (?1, ?2)")?;
            for rec in records {
                let key = match keys.get(rec.subject) {
                    Some(k) => k.clone(),
                    None => {
                        let k = subject_dek(&tx, &self.keyring, rec.subject)?;
                        keys.insert(rec.subject, k.clone());
                        k
                    }
                };
                let id = next;
                next += 1;
                let aad_id = body_id(rec.subject.as_str(), id);
                let sealed = key.seal(id as u64, &body_aad(rec.kind, &aad_id), rec.body.expose())?;
                insert_record.execute(params![id, rec.subject.as_str(), rec.kind, created, sealed])?;
                for lookup in rec.lookups {
                    insert_lookup.execute(params![self.term(rec.kind, lookup.field, lookup.value.expose()), id])?;
                }
                ids.push(RecordId(id));
            }
        }
        tx.commit()?;
        inner.next_record_id = next;
        Ok(ids)
    }

    fn get(&self, id: RecordId) -> Result<Record, Error> {
        let inner = self.lock();
        let row = inner
            .conn
            .prepare_cached(
                "SELECT r.subject_id, r.kind, r.body, d.id, d.purpose, d.kek_version, d.wrapped
                 FROM records r JOIN subjects s ON s.id = r.subject_id JOIN deks d ON d.id = s.dek_id
                 WHERE r.id = ?1",
            )?
            .query_row([id.0], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    DekRow { id: r.get(3)?, purpose: r.get(4)?, kek_version: r.get(5)?, wrapped: r.get(6)? },
                ))
            })
            .optional()?;
        drop(inner);
        let (subject, kind, sealed, dek) = row.ok_or_else(|| Error::NotFound { kind: "record", id: id.to_string() })?;
        let key = dek.open(&self.keyring, &subject)?;
        let aad_id = body_id(&subject, id.0);
        let body = key.open(id.0 as u64, &body_aad(&kind, &aad_id), &sealed)?;
        Ok(Record { id, subject: SubjectId(subject), kind, body: Phi::new(body.to_vec()) })
    }

    fn find(&self, kind: &str, field: &str, value: &Phi<String>) -> Result<Vec<RecordId>, Error> {
        let term = self.term(kind, field, value.expose());
        let inner = self.lock();
        let mut stmt = inner.conn.prepare_cached(
            "SELECT l.record_id FROM lookups l JOIN records r ON r.id = l.record_id WHERE l.term = ?1 AND r.kind = ?2 ORDER BY l.record_id",
        )?;
        let ids = stmt.query_map(params![term, kind], |r| r.get(0).map(RecordId))?.collect::<Result<Vec<_>, _>>()?;
        Ok(ids)
    }

    fn records_of(&self, subject: &SubjectId) -> Result<Vec<RecordId>, Error> {
        let inner = self.lock();
        let mut stmt = inner.conn.prepare_cached("SELECT id FROM records WHERE subject_id = ?1 ORDER BY id")?;
        let ids = stmt.query_map([subject.as_str()], |r| r.get(0).map(RecordId))?.collect::<Result<Vec<_>, _>>()?;
        Ok(ids)
    }

    fn shred_subject(&self, subject: &SubjectId) -> Result<(), Error> {
        let mut inner = self.lock();
        let tx = inner.conn.transaction()?;
        let dek_id: i64 = tx
            .query_row("SELECT dek_id FROM subjects WHERE id = ?1", [subject.as_str()], |r| r.get(0))
            .optional()?
            .ok_or_else(|| Error::NotFound { kind: "subject", id: subject.to_string() })?;
        tx.execute(
            "UPDATE deks SET wrapped = NULL, kek_version = NULL, shredded_at = COALESCE(shredded_at, ?1) WHERE id = ?2",
            params![now(), dek_id],
        )?;
        tx.commit()?;
        self.keyring.forget(dek_id as u64);
        // Move the overwritten page out of the WAL too, so no copy of the
        // wrapped key survives in either file.
        inner.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    fn rewrap_keys(&self) -> Result<RewrapReport, Error> {
        let current = self.keyring.provider().current_version()?;
        let mut inner = self.lock();
        let tx = inner.conn.transaction()?;
        let rows: Vec<DekRow> = tx
            .prepare("SELECT id, purpose, kek_version, wrapped FROM deks ORDER BY id")?
            .query_map([], |r| {
                Ok(DekRow { id: r.get(0)?, purpose: r.get(1)?, kek_version: r.get(2)?, wrapped: r.get(3)? })
            })?
            .collect::<Result<_, _>>()?;
        let mut report = RewrapReport::default();
        for row in rows {
            match (row.kek_version, row.wrapped) {
                (Some(v), Some(_)) if KekVersion(v) == current => report.already_current += 1,
                (Some(v), Some(bytes)) => {
                    let context = dek_context(row.id, &row.purpose);
                    let new = self.keyring.rewrap(&WrappedDek { kek_version: KekVersion(v), bytes }, &context)?;
                    tx.execute(
                        "UPDATE deks SET kek_version = ?1, wrapped = ?2 WHERE id = ?3",
                        params![new.kek_version.0, new.bytes, row.id],
                    )?;
                    self.keyring.forget(row.id as u64);
                    report.rewrapped += 1;
                }
                _ => report.shredded += 1,
            }
        }
        tx.commit()?;
        Ok(report)
    }

    fn key_usage(&self) -> Result<Vec<KeyUsage>, Error> {
        let inner = self.lock();
        let mut stmt = inner.conn.prepare(
            "SELECT kek_version, COUNT(*) FROM deks WHERE wrapped IS NOT NULL GROUP BY kek_version ORDER BY kek_version",
        )?;
        let usage = stmt
            .query_map([], |r| {
                Ok(KeyUsage { kek_version: KekVersion(r.get(0)?), data_keys: r.get::<_, i64>(1)? as u64 })
            })?
            .collect::<Result<_, _>>()?;
        Ok(usage)
    }

    fn named_key(&self, purpose: &str, name: &str) -> Result<(u64, Arc<DataKey>), Error> {
        let mut inner = self.lock();
        let existing = inner
            .conn
            .prepare_cached(
                "SELECT d.id, d.purpose, d.kek_version, d.wrapped FROM named_keys n JOIN deks d ON d.id = n.dek_id
                 WHERE n.purpose = ?1 AND n.name = ?2",
            )?
            .query_row([purpose, name], |r| {
                Ok(DekRow { id: r.get(0)?, purpose: r.get(1)?, kek_version: r.get(2)?, wrapped: r.get(3)? })
            })
            .optional()?;
        if let Some(row) = existing {
            return Ok((row.id as u64, row.open(&self.keyring, name)?));
        }
        let tx = inner.conn.transaction()?;
        let (id, key) = create_dek(&tx, &self.keyring, purpose)?;
        tx.execute(
            "INSERT INTO named_keys (purpose, name, dek_id, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![purpose, name, id, now()],
        )?;
        tx.commit()?;
        Ok((id as u64, key))
    }

    fn shred_named_key(&self, purpose: &str, name: &str) -> Result<(), Error> {
        let mut inner = self.lock();
        let tx = inner.conn.transaction()?;
        let dek_id: Option<i64> = tx
            .query_row("SELECT dek_id FROM named_keys WHERE purpose = ?1 AND name = ?2", [purpose, name], |r| r.get(0))
            .optional()?;
        let dek_id = match dek_id {
            Some(id) => id,
            None => {
                tx.execute("INSERT INTO deks (purpose, created_at) VALUES (?1, ?2)", params![purpose, now()])?;
                let id = tx.last_insert_rowid();
                tx.execute(
                    "INSERT INTO named_keys (purpose, name, dek_id, created_at) VALUES (?1, ?2, ?3, ?4)",
                    params![purpose, name, id, now()],
                )?;
                id
            }
        };
        tx.execute(
            "UPDATE deks SET wrapped = NULL, kek_version = NULL, shredded_at = COALESCE(shredded_at, ?1) WHERE id = ?2",
            params![now(), dek_id],
        )?;
        tx.commit()?;
        self.keyring.forget(dek_id as u64);
        inner.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    fn ping(&self) -> Result<(), Error> {
        self.lock().conn.query_row("SELECT 1", [], |_| Ok(()))?;
        self.keyring.provider().current_version()?;
        Ok(())
    }
}
