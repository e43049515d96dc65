//! The PostgreSQL store, for deployments that outgrow one SQLite file.
//!
//! Same sealing, associated data and lookup terms as [`crate::SqliteStore`]
//! (shared in `sealing.rs`), same conformance suite. Differences an
//! operator should know:
//! - Several phigate instances may share one database: record ids come
//!   from a sequence and migrations take an advisory lock.
//! - Connections are refused unless the server is on loopback or a Unix
//!   socket: phigate does not yet speak TLS to PostgreSQL, and PHI
//!   metadata must never cross a network in clear.
//! - PostgreSQL has no `secure_delete`: after a shred, dead row versions may
//!   hold the old *wrapped* key until vacuum reuses the page. It is still
//!   wrapped by the KEK; for shredding that survives disk forensics, rotate
//!   and disable KEK versions on a schedule (see docs/configuration.md).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use phigate_keys::{BlindIndexKey, DataKey, KekVersion, Keyring};
use phigate_phi::Phi;
use postgres::{Client, NoTls, Transaction};

use crate::sealing::{BLIND_INDEX_SETTING, DekRow, body_aad, body_id, dek_context, lookup_term};
use crate::sqlite::now;
use crate::{Error, KeyUsage, NewRecord, Record, RecordId, RewrapReport, Store, SubjectId};

/// Key for `pg_advisory_xact_lock` while migrating ("phigate" in ASCII).
const MIGRATION_LOCK: i64 = 0x0070_6869_6761_7465;

const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE deks (
            id BIGSERIAL PRIMARY KEY,
            purpose TEXT NOT NULL,
            kek_version INTEGER,
            wrapped BYTEA,
            created_at TEXT NOT NULL,
            shredded_at TEXT
        );
        CREATE INDEX deks_by_kek ON deks(kek_version) WHERE wrapped IS NOT NULL;
        CREATE TABLE subjects (
            id TEXT PRIMARY KEY,
            dek_id BIGINT NOT NULL REFERENCES deks(id),
            created_at TEXT NOT NULL
        );
        CREATE SEQUENCE records_id_seq;
        CREATE TABLE records (
            id BIGINT PRIMARY KEY,
            subject_id TEXT NOT NULL REFERENCES subjects(id),
            kind TEXT NOT NULL,
            created_at TEXT NOT NULL,
            body BYTEA NOT NULL
        );
        CREATE INDEX records_by_subject ON records(subject_id);
        CREATE TABLE lookups (
            term BYTEA NOT NULL,
            record_id BIGINT NOT NULL REFERENCES records(id),
            PRIMARY KEY (term, record_id)
        );
        CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    ),
    (
        2,
        "CREATE TABLE named_keys (
            purpose TEXT NOT NULL,
            name TEXT NOT NULL,
            dek_id BIGINT NOT NULL REFERENCES deks(id),
            created_at TEXT NOT NULL,
            PRIMARY KEY (purpose, name)
        );",
    ),
    (
        3,
        "-- Identity (phigate-identity's repository); same shape as SQLite migration 3.
        CREATE TABLE users (
            seq BIGSERIAL PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            username TEXT NOT NULL UNIQUE,
            display_name TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            roles TEXT NOT NULL,
            totp_sealed BYTEA,
            totp_confirmed BOOLEAN NOT NULL,
            totp_last_step BIGINT,
            disabled BOOLEAN NOT NULL
        );
        CREATE UNIQUE INDEX users_by_lower_username ON users (lower(username));
        CREATE TABLE lockouts (
            key TEXT PRIMARY KEY,
            failures BIGINT NOT NULL,
            last_failure_ns BIGINT NOT NULL,
            locked_until_ns BIGINT
        );
        CREATE TABLE sessions (
            id_hash BYTEA PRIMARY KEY CHECK (octet_length(id_hash) = 32),
            csrf_hash BYTEA NOT NULL CHECK (octet_length(csrf_hash) = 32),
            subject TEXT NOT NULL,
            principal TEXT NOT NULL,
            created_at_ns BIGINT NOT NULL,
            last_seen_ns BIGINT NOT NULL
        );
        CREATE INDEX sessions_by_subject ON sessions (subject);
        CREATE TABLE service_accounts (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            roles TEXT NOT NULL,
            disabled BOOLEAN NOT NULL
        );
        CREATE TABLE service_keys (
            seq BIGSERIAL PRIMARY KEY,
            key_id TEXT NOT NULL UNIQUE,
            account_id TEXT NOT NULL REFERENCES service_accounts(id),
            secret_hash BYTEA NOT NULL CHECK (octet_length(secret_hash) = 32),
            created_at_ns BIGINT NOT NULL,
            expires_at_ns BIGINT NOT NULL,
            revoked_at_ns BIGINT
        );
        CREATE INDEX service_keys_by_account ON service_keys (account_id, created_at_ns, seq);",
    ),
];

/// The PostgreSQL-backed [`Store`].
pub struct PgStore {
    client: Mutex<Client>,
    keyring: Arc<Keyring>,
    index_key: BlindIndexKey,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

/// SQL state and primary message only: the server's `DETAIL` line quotes
/// the conflicting row's key values, which have no place in errors or logs.
fn db(e: postgres::Error) -> Error {
    match e.as_db_error() {
        Some(d) => Error::Postgres(format!("{}: {}", d.code().code(), d.message())),
        None => Error::Postgres(e.to_string()),
    }
}

impl PgStore {
    /// Connects to `url` (libpq form, e.g. `postgres://phigate@127.0.0.1/phigate`),
    /// uses `schema` (created if missing), and migrates it.
    pub fn connect(url: &str, schema: &str, keyring: Arc<Keyring>) -> Result<Self, Error> {
        let config: postgres::Config = url.parse().map_err(db)?;
        let local = config.get_hosts().iter().all(|h| match h {
            postgres::config::Host::Tcp(name) => {
                name == "localhost" || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
            }
            postgres::config::Host::Unix(_) => true,
        });
        if !local {
            return Err(Error::Postgres(
                "refusing a non-loopback PostgreSQL host: TLS to PostgreSQL is not supported yet".into(),
            ));
        }
        if !schema.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || schema.is_empty() {
            return Err(Error::InvalidId(schema.to_string()));
        }
        let mut client = config.connect(NoTls).map_err(db)?;
        client
            .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}; SET search_path TO {schema};"))
            .map_err(db)?;
        migrate(&mut client)?;
        let index_dek = {
            let mut tx = client.transaction().map_err(db)?;
            let existing =
                tx.query_opt("SELECT value FROM settings WHERE key = $1", &[&BLIND_INDEX_SETTING]).map_err(db)?;
            let key = match existing {
                Some(row) => {
                    let id: i64 = row
                        .get::<_, String>(0)
                        .parse()
                        .map_err(|_| Error::Internal("blind index setting is not an id"))?;
                    dek_row(&mut tx, id)?.open(&keyring, "blind index")?
                }
                None => {
                    let (id, key) = create_dek(&mut tx, &keyring, "blind-index")?;
                    tx.execute(
                        "INSERT INTO settings (key, value) VALUES ($1, $2)",
                        &[&BLIND_INDEX_SETTING, &id.to_string()],
                    )
                    .map_err(db)?;
                    key
                }
            };
            tx.commit().map_err(db)?;
            key
        };
        let index_key = BlindIndexKey::derive(&index_dek, "lookup");
        Ok(Self { client: Mutex::new(client), keyring, index_key })
    }

    /// The keyring this store seals with.
    pub fn keyring(&self) -> &Arc<Keyring> {
        &self.keyring
    }

    /// Runs `f` on the client, under the store's lock: the identity
    /// repository shares this connection and schema.
    pub(crate) fn with_client<T>(&self, f: impl FnOnce(&mut Client) -> T) -> T {
        f(&mut self.lock())
    }

    fn lock(&self) -> MutexGuard<'_, Client> {
        // A panic mid-transaction drops (rolls back) the transaction; the
        // client itself stays usable.
        self.client.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn migrate(client: &mut Client) -> Result<(), Error> {
    let mut tx = client.transaction().map_err(db)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).map_err(db)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)",
    )
    .map_err(db)?;
    let current: i64 = tx.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[]).map_err(db)?.get(0);
    let latest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > latest {
        return Err(Error::SchemaTooNew { found: current, supported: latest });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.batch_execute(sql).map_err(db)?;
        tx.execute("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", &[version, &now()])
            .map_err(db)?;
    }
    tx.commit().map_err(db)
}

fn create_dek(tx: &mut Transaction<'_>, keyring: &Keyring, purpose: &str) -> Result<(i64, Arc<DataKey>), Error> {
    let id: i64 = tx
        .query_one("INSERT INTO deks (purpose, created_at) VALUES ($1, $2) RETURNING id", &[&purpose, &now()])
        .map_err(db)?
        .get(0);
    let (key, wrapped) = keyring.create(id as u64, &dek_context(id, purpose))?;
    tx.execute(
        "UPDATE deks SET kek_version = $1, wrapped = $2 WHERE id = $3",
        &[&(wrapped.kek_version.0 as i32), &wrapped.bytes, &id],
    )
    .map_err(db)?;
    Ok((id, key))
}

fn row_to_dek(row: &postgres::Row, offset: usize) -> DekRow {
    DekRow {
        id: row.get(offset),
        purpose: row.get(offset + 1),
        kek_version: row.get::<_, Option<i32>>(offset + 2).map(|v| v as u32),
        wrapped: row.get(offset + 3),
    }
}

fn dek_row(tx: &mut Transaction<'_>, id: i64) -> Result<DekRow, Error> {
    let row = tx
        .query_opt("SELECT id, purpose, kek_version, wrapped FROM deks WHERE id = $1", &[&id])
        .map_err(db)?
        .ok_or_else(|| Error::NotFound { kind: "data key", id: id.to_string() })?;
    Ok(row_to_dek(&row, 0))
}

fn shred_dek(tx: &mut Transaction<'_>, id: i64) -> Result<(), Error> {
    tx.execute(
        "UPDATE deks SET wrapped = NULL, kek_version = NULL, shredded_at = COALESCE(shredded_at, $1) WHERE id = $2",
        &[&now(), &id],
    )
    .map_err(db)?;
    Ok(())
}

impl Store for PgStore {
    fn create_subject(&self) -> Result<SubjectId, Error> {
        let mut client = self.lock();
        let mut tx = client.transaction().map_err(db)?;
        let (dek_id, _) = create_dek(&mut tx, &self.keyring, "subject")?;
        let subject = SubjectId::random();
        tx.execute(
            "INSERT INTO subjects (id, dek_id, created_at) VALUES ($1, $2, $3)",
            &[&subject.as_str(), &dek_id, &now()],
        )
        .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(subject)
    }

    fn put_batch(&self, records: &[NewRecord<'_>]) -> Result<Vec<RecordId>, Error> {
        let mut client = self.lock();
        let mut tx = client.transaction().map_err(db)?;
        let mut keys: HashMap<&SubjectId, Arc<DataKey>> = HashMap::new();
        let mut ids = Vec::with_capacity(records.len());
        let created = now();
        for rec in records {
            let key = match keys.get(rec.subject) {
                Some(k) => k.clone(),
                None => {
                    let row = tx
                        .query_opt(
                            "SELECT d.id, d.purpose, d.kek_version, d.wrapped FROM subjects s JOIN deks d ON d.id = s.dek_id WHERE s.id = $1",
                            &[&rec.subject.as_str()],
                        )
                        .map_err(db)?
                        .ok_or_else(|| Error::NotFound { kind: "subject", id: rec.subject.to_string() })?;
                    let k = row_to_dek(&row, 0).open(&self.keyring, rec.subject.as_str())?;
                    keys.insert(rec.subject, k.clone());
                    k
                }
            };
            let id: i64 = tx.query_one("SELECT nextval('records_id_seq')", &[]).map_err(db)?.get(0);
            let aad_id = body_id(rec.subject.as_str(), id);
            let sealed = key.seal(id as u64, &body_aad(rec.kind, &aad_id), rec.body.expose())?;
            tx.execute(
                "INSERT INTO records (id, subject_id, kind, created_at, body) VALUES ($1, $2, $3, $4, $5)",
                &[&id, &rec.subject.as_str(), &rec.kind, &created, &sealed],
            )
            .map_err(db)?;
            for lookup in rec.lookups {
                let term = lookup_term(&self.index_key, rec.kind, lookup.field, lookup.value.expose());
                tx.execute(
                    "INSERT INTO lookups (term, record_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    &[&&term[..], &id],
                )
                .map_err(db)?;
            }
            ids.push(RecordId(id));
        }
        tx.commit().map_err(db)?;
        Ok(ids)
    }

    fn get(&self, id: RecordId) -> Result<Record, Error> {
        let row = self
            .lock()
            .query_opt(
                "SELECT r.subject_id, r.kind, r.body, d.id, d.purpose, d.kek_version, d.wrapped
                 FROM records r JOIN subjects s ON s.id = r.subject_id JOIN deks d ON d.id = s.dek_id
                 WHERE r.id = $1",
                &[&id.0],
            )
            .map_err(db)?
            .ok_or_else(|| Error::NotFound { kind: "record", id: id.to_string() })?;
        let subject: String = row.get(0);
        let kind: String = row.get(1);
        let sealed: Vec<u8> = row.get(2);
        let key = row_to_dek(&row, 3).open(&self.keyring, &subject)?;
        let aad_id = body_id(&subject, id.0);
        let body = key.open(id.0 as u64, &body_aad(&kind, &aad_id), &sealed)?;
        Ok(Record { id, subject: SubjectId(subject), kind, body: Phi::new(body.to_vec()) })
    }

    fn find(&self, kind: &str, field: &str, value: &Phi<String>) -> Result<Vec<RecordId>, Error> {
        let term = lookup_term(&self.index_key, kind, field, value.expose());
        let rows = self
            .lock()
            .query(
                "SELECT l.record_id FROM lookups l JOIN records r ON r.id = l.record_id
                 WHERE l.term = $1 AND r.kind = $2 ORDER BY l.record_id",
                &[&&term[..], &kind],
            )
            .map_err(db)?;
        Ok(rows.iter().map(|r| RecordId(r.get(0))).collect())
    }

    fn records_of(&self, subject: &SubjectId) -> Result<Vec<RecordId>, Error> {
        let rows = self
            .lock()
            .query("SELECT id FROM records WHERE subject_id = $1 ORDER BY id", &[&subject.as_str()])
            .map_err(db)?;
        Ok(rows.iter().map(|r| RecordId(r.get(0))).collect())
    }

    fn shred_subject(&self, subject: &SubjectId) -> Result<(), Error> {
        let mut client = self.lock();
        let mut tx = client.transaction().map_err(db)?;
        let dek_id: i64 = tx
            .query_opt("SELECT dek_id FROM subjects WHERE id = $1", &[&subject.as_str()])
            .map_err(db)?
            .ok_or_else(|| Error::NotFound { kind: "subject", id: subject.to_string() })?
            .get(0);
        shred_dek(&mut tx, dek_id)?;
        tx.commit().map_err(db)?;
        self.keyring.forget(dek_id as u64);
        Ok(())
    }

    fn rewrap_keys(&self) -> Result<RewrapReport, Error> {
        let current = self.keyring.provider().current_version()?;
        let mut client = self.lock();
        let mut tx = client.transaction().map_err(db)?;
        let rows: Vec<DekRow> = tx
            .query("SELECT id, purpose, kek_version, wrapped FROM deks ORDER BY id FOR UPDATE", &[])
            .map_err(db)?
            .iter()
            .map(|r| row_to_dek(r, 0))
            .collect();
        let mut report = RewrapReport::default();
        for row in rows {
            match row.wrapped() {
                Some(w) if w.kek_version == current => report.already_current += 1,
                Some(w) => {
                    let new = self.keyring.rewrap(&w, &dek_context(row.id, &row.purpose))?;
                    tx.execute(
                        "UPDATE deks SET kek_version = $1, wrapped = $2 WHERE id = $3",
                        &[&(new.kek_version.0 as i32), &new.bytes, &row.id],
                    )
                    .map_err(db)?;
                    self.keyring.forget(row.id as u64);
                    report.rewrapped += 1;
                }
                None => report.shredded += 1,
            }
        }
        tx.commit().map_err(db)?;
        Ok(report)
    }

    fn key_usage(&self) -> Result<Vec<KeyUsage>, Error> {
        let rows = self
            .lock()
            .query(
                "SELECT kek_version, COUNT(*) FROM deks WHERE wrapped IS NOT NULL GROUP BY kek_version ORDER BY kek_version",
                &[],
            )
            .map_err(db)?;
        Ok(rows
            .iter()
            .map(|r| KeyUsage {
                kek_version: KekVersion(r.get::<_, i32>(0) as u32),
                data_keys: r.get::<_, i64>(1) as u64,
            })
            .collect())
    }

    fn named_key(&self, purpose: &str, name: &str) -> Result<(u64, Arc<DataKey>), Error> {
        let mut client = self.lock();
        let mut tx = client.transaction().map_err(db)?;
        // Serializes creation of the same name across instances.
        tx.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &[&format!("{purpose}/{name}")])
            .map_err(db)?;
        let existing = tx
            .query_opt(
                "SELECT d.id, d.purpose, d.kek_version, d.wrapped FROM named_keys n JOIN deks d ON d.id = n.dek_id
                 WHERE n.purpose = $1 AND n.name = $2",
                &[&purpose, &name],
            )
            .map_err(db)?;
        let (id, key) = match existing {
            Some(row) => {
                let dek = row_to_dek(&row, 0);
                (dek.id, dek.open(&self.keyring, name)?)
            }
            None => {
                let (id, key) = create_dek(&mut tx, &self.keyring, purpose)?;
                tx.execute(
                    "INSERT INTO named_keys (purpose, name, dek_id, created_at) VALUES ($1, $2, $3, $4)",
                    &[&purpose, &name, &id, &now()],
                )
                .map_err(db)?;
                (id, key)
            }
        };
        tx.commit().map_err(db)?;
        Ok((id as u64, key))
    }

    fn shred_named_key(&self, purpose: &str, name: &str) -> Result<(), Error> {
        let mut client = self.lock();
        let mut tx = client.transaction().map_err(db)?;
        tx.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &[&format!("{purpose}/{name}")])
            .map_err(db)?;
        let existing = tx
            .query_opt("SELECT dek_id FROM named_keys WHERE purpose = $1 AND name = $2", &[&purpose, &name])
            .map_err(db)?;
        let id: i64 = match existing {
            Some(row) => row.get(0),
            None => {
                let id: i64 = tx
                    .query_one(
                        "INSERT INTO deks (purpose, created_at) VALUES ($1, $2) RETURNING id",
                        &[&purpose, &now()],
                    )
                    .map_err(db)?
                    .get(0);
                tx.execute(
                    "INSERT INTO named_keys (purpose, name, dek_id, created_at) VALUES ($1, $2, $3, $4)",
                    &[&purpose, &name, &id, &now()],
                )
                .map_err(db)?;
                id
            }
        };
        shred_dek(&mut tx, id)?;
        tx.commit().map_err(db)?;
        self.keyring.forget(id as u64);
        Ok(())
    }

    fn ping(&self) -> Result<(), Error> {
        self.lock().query_one("SELECT 1", &[]).map_err(db)?;
        self.keyring.provider().current_version()?;
        Ok(())
    }
}
