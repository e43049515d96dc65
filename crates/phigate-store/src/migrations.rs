//! Schema migrations, applied in order inside one transaction each.
//!
//! Append only: never edit a released migration; add the next one.

use rusqlite::Connection;

use crate::Error;

const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE deks (
        id INTEGER PRIMARY KEY,
        purpose TEXT NOT NULL,
        kek_version INTEGER,
        wrapped BLOB,
        created_at TEXT NOT NULL,
        shredded_at TEXT
    );
    CREATE INDEX deks_by_kek ON deks(kek_version) WHERE wrapped IS NOT NULL;
    CREATE TABLE subjects (
        id TEXT PRIMARY KEY,
        dek_id INTEGER NOT NULL REFERENCES deks(id),
        created_at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE records (
        id INTEGER PRIMARY KEY,
        subject_id TEXT NOT NULL REFERENCES subjects(id),
        kind TEXT NOT NULL,
        created_at TEXT NOT NULL,
        body BLOB NOT NULL
    );
    CREATE INDEX records_by_subject ON records(subject_id);
    CREATE TABLE lookups (
        term BLOB NOT NULL,
        record_id INTEGER NOT NULL REFERENCES records(id),
        PRIMARY KEY (term, record_id)
    ) WITHOUT ROWID;
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;",
    ),
    (
        2,
        "CREATE TABLE named_keys (
        purpose TEXT NOT NULL,
        name TEXT NOT NULL,
        dek_id INTEGER NOT NULL REFERENCES deks(id),
        created_at TEXT NOT NULL,
        PRIMARY KEY (purpose, name)
    ) WITHOUT ROWID;",
    ),
    (
        3,
        "-- Identity (phigate-identity's repository). Secrets arrive hashed or
    -- sealed and are stored as given; times are Unix nanoseconds (exact round trip).
    CREATE TABLE users (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        username TEXT NOT NULL UNIQUE,
        display_name TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        roles TEXT NOT NULL,
        totp_sealed BLOB,
        totp_confirmed INTEGER NOT NULL,
        totp_last_step INTEGER,
        disabled INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX users_by_lower_username ON users(lower(username));
    CREATE TABLE lockouts (
        key TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        last_failure_ns INTEGER NOT NULL,
        locked_until_ns INTEGER
    ) WITHOUT ROWID;
    CREATE TABLE sessions (
        id_hash BLOB PRIMARY KEY CHECK (length(id_hash) = 32),
        csrf_hash BLOB NOT NULL CHECK (length(csrf_hash) = 32),
        subject TEXT NOT NULL,
        principal TEXT NOT NULL,
        created_at_ns INTEGER NOT NULL,
        last_seen_ns INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX sessions_by_subject ON sessions(subject);
    CREATE TABLE service_accounts (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        roles TEXT NOT NULL,
        disabled INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE service_keys (
        seq INTEGER PRIMARY KEY,
        key_id TEXT NOT NULL UNIQUE,
        account_id TEXT NOT NULL REFERENCES service_accounts(id),
        secret_hash BLOB NOT NULL CHECK (length(secret_hash) = 32),
        created_at_ns INTEGER NOT NULL,
        expires_at_ns INTEGER NOT NULL,
        revoked_at_ns INTEGER
    );
    CREATE INDEX service_keys_by_account ON service_keys(account_id, created_at_ns, seq);",
    ),
];

/// The newest schema version this build knows.
pub(crate) fn latest() -> i64 {
    MIGRATIONS.last().map(|m| m.0).unwrap_or(0)
}

/// Brings the database to the latest version; refuses a newer database.
pub(crate) fn apply(conn: &mut Connection) -> Result<(), Error> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL);",
    )?;
    let current: i64 = conn.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |r| r.get(0))?;
    if current > latest() {
        return Err(Error::SchemaTooNew { found: current, supported: latest() });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            rusqlite::params![version, crate::sqlite::now()],
        )?;
        tx.commit()?;
    }
    Ok(())
}
