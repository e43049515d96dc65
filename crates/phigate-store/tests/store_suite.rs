//! The store conformance suite, run against every `Store` implementation,
//! plus SQLite-specific checks on the raw files (canaries, moved ciphertext,
//! shredding, backups).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use phigate_keys::provider::local_file::LocalFileProvider;
use phigate_keys::{Error as KeyError, KeyProvider, Keyring};
use phigate_phi::Phi;
use phigate_store::backup::{restore_backup, write_backup};
use phigate_store::{Error, Lookup, NewRecord, SqliteStore, Store, SubjectId};

struct Env {
    dir: tempfile::TempDir,
    provider: Arc<LocalFileProvider>,
    store: SqliteStore,
}

impl Env {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let provider = Arc::new(LocalFileProvider::open_or_create(&dir.path().join("keys/kek.json")).unwrap());
        let store = open(dir.path(), provider.clone());
        Self { dir, provider, store }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("phigate.db")
    }
}

fn open(dir: &Path, provider: Arc<LocalFileProvider>) -> SqliteStore {
    let keyring = Arc::new(Keyring::new(provider, Duration::from_secs(300)));
    SqliteStore::open(&dir.join("phigate.db"), keyring).unwrap()
}

fn phi(s: &str) -> Phi<String> {
    Phi::new(s.to_string())
}

fn put(store: &dyn Store, subject: &SubjectId, body: &str, mrn: &str) -> phigate_store::RecordId {
    let mrn = phi(mrn);
    let body = Phi::new(body.as_bytes().to_vec());
    let lookups = [Lookup { field: "mrn", value: &mrn }];
    store.put(&NewRecord { subject, kind: "patient", body: &body, lookups: &lookups }).unwrap()
}

fn body(store: &dyn Store, id: phigate_store::RecordId) -> String {
    String::from_utf8(store.get(id).unwrap().body.expose().clone()).unwrap()
}

fn file_contains(path: &Path, needle: &[u8]) -> bool {
    match std::fs::read(path) {
        Ok(bytes) => bytes.windows(needle.len()).any(|w| w == needle),
        Err(_) => false,
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    s.into()
}

/// The behaviour every `Store` implementation must have.
mod conformance {
    use super::*;

    pub fn round_trip_and_lookup(store: &dyn Store) {
        let a = store.create_subject().unwrap();
        let b = store.create_subject().unwrap();
        let r1 = put(store, &a, "Jane Doe, DOB 1961-02-03", "MRN-0001");
        let r2 = put(store, &b, "John Roe", "MRN-0002");
        assert_eq!(body(store, r1), "Jane Doe, DOB 1961-02-03");
        assert_eq!(body(store, r2), "John Roe");
        assert_eq!(store.find("patient", "mrn", &phi("  mrn-0001 ")).unwrap(), vec![r1]);
        assert!(store.find("patient", "mrn", &phi("MRN-0003")).unwrap().is_empty());
        assert!(store.find("note", "mrn", &phi("MRN-0001")).unwrap().is_empty(), "lookups are per kind");
        assert_eq!(store.records_of(&a).unwrap(), vec![r1]);
        assert!(matches!(store.get(phigate_store::RecordId(999_999)), Err(Error::NotFound { .. })));
        store.ping().unwrap();
    }

    /// Named keys: stable, independent, survive rotation + revocation, shreddable.
    pub fn named_keys(store: &dyn Store, keyring: &Keyring) {
        let (id, key) = store.named_key("audit-subject", "psn_abc").unwrap();
        let aad = phigate_keys::Aad { kind: "audit-payload", id: "psn_abc", field: "00" };
        let sealed = key.seal(id, &aad, b"payload").unwrap();
        let (id2, again) = store.named_key("audit-subject", "psn_abc").unwrap();
        assert_eq!(id, id2);
        assert_eq!(&again.open(id, &aad, &sealed).unwrap()[..], b"payload");
        let (other, _) = store.named_key("audit-subject", "psn_xyz").unwrap();
        assert_ne!(id, other);
        let old = keyring.provider().current_version().unwrap();
        keyring.rotate().unwrap();
        assert!(store.rewrap_keys().unwrap().rewrapped >= 3);
        keyring.disable(old).unwrap();
        assert!(store.key_usage().unwrap().iter().all(|u| u.kek_version != old));
        let (_, reopened) = store.named_key("audit-subject", "psn_abc").unwrap();
        assert_eq!(&reopened.open(id, &aad, &sealed).unwrap()[..], b"payload");
        store.shred_named_key("audit-subject", "psn_abc").unwrap();
        store.shred_named_key("audit-subject", "psn_abc").unwrap();
        assert!(matches!(store.named_key("audit-subject", "psn_abc"), Err(Error::Shredded(_))));
        assert!(store.named_key("audit-subject", "psn_xyz").is_ok(), "other names unaffected");
        store.shred_named_key("audit-subject", "never-seen").unwrap();
        assert!(matches!(store.named_key("audit-subject", "never-seen"), Err(Error::Shredded(_))));
    }

    pub fn shredding_is_exact(store: &dyn Store) {
        let gone = store.create_subject().unwrap();
        let kept = store.create_subject().unwrap();
        let g1 = put(store, &gone, "shred me 1", "MRN-G1");
        let g2 = put(store, &gone, "shred me 2", "MRN-G2");
        let k1 = put(store, &kept, "keep me", "MRN-K1");
        store.shred_subject(&gone).unwrap();
        for id in [g1, g2] {
            let err = store.get(id).unwrap_err();
            assert!(matches!(err, Error::Shredded(_)), "{err}");
            assert!(err.to_string().contains("shredded"));
        }
        assert_eq!(body(store, k1), "keep me");
        store.shred_subject(&gone).unwrap();
        // The store keeps working for new subjects after a shred.
        let fresh = store.create_subject().unwrap();
        let id = put(store, &fresh, "new", "MRN-N");
        assert_eq!(body(store, id), "new");
    }
}

#[test]
fn sqlite_conformance_round_trip_and_lookup() {
    conformance::round_trip_and_lookup(&Env::new().store);
}

#[test]
fn sqlite_conformance_shredding_is_exact() {
    conformance::shredding_is_exact(&Env::new().store);
}

#[test]
fn canary_phi_never_reaches_the_database_wal_or_backup() {
    let env = Env::new();
    let canaries = ["Zebulon Quixotic-Canary", "CANARY-MRN-774411", "555-01-9876", "zq.canary@example.org"];
    let subject = env.store.create_subject().unwrap();
    for (i, c) in canaries.iter().enumerate() {
        let body = Phi::new(format!("{{\"name\":\"{c}\",\"n\":{i}}}").into_bytes());
        let value = phi(c);
        let lookups = [Lookup { field: "mrn", value: &value }];
        env.store.put(&NewRecord { subject: &subject, kind: "patient", body: &body, lookups: &lookups }).unwrap();
    }
    let wal = with_suffix(&env.db(), "-wal");
    assert!(wal.exists(), "the WAL must exist while the store is open, or this test proves nothing");
    let archive = env.dir.path().join("backup.phigate");
    write_backup(&env.store, &archive).unwrap();
    for c in canaries {
        for variant in [c.to_string(), c.to_lowercase()] {
            for file in [env.db(), wal.clone(), archive.clone()] {
                assert!(!file_contains(&file, variant.as_bytes()), "canary {variant:?} found in {}", file.display());
            }
        }
    }
    // The canaries are really there, through the front door.
    let ids = env.store.find("patient", "mrn", &phi(canaries[1])).unwrap();
    assert_eq!(ids.len(), 1);
}

#[test]
fn ciphertext_moved_to_another_row_fails_to_open() {
    let env = Env::new();
    let s = env.store.create_subject().unwrap();
    let a = put(&env.store, &s, "record A", "A");
    let b = put(&env.store, &s, "record B", "B");
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    conn.execute("UPDATE records SET body = (SELECT body FROM records WHERE id = ?1) WHERE id = ?2", [a.0, b.0])
        .unwrap();
    let err = env.store.get(b).unwrap_err();
    assert!(matches!(err, Error::Key(KeyError::Tampered)), "{err}");
    // A flipped byte in a stored ciphertext is a typed error too.
    conn.execute(
        "UPDATE records SET body = CAST(substr(body, 1, 20) || X'00' || substr(body, 22) AS BLOB) WHERE id = ?1",
        [a.0],
    )
    .unwrap();
    assert!(matches!(env.store.get(a), Err(Error::Key(KeyError::Tampered))));
}

#[test]
fn rotation_then_revocation_keeps_everything_readable() {
    let env = Env::new();
    let subjects: Vec<_> = (0..5).map(|_| env.store.create_subject().unwrap()).collect();
    let ids: Vec<_> =
        subjects.iter().enumerate().map(|(i, s)| put(&env.store, s, &format!("body {i}"), &format!("M{i}"))).collect();
    let old = env.provider.current_version().unwrap();
    env.store.keyring().rotate().unwrap();
    let report = env.store.rewrap_keys().unwrap();
    assert_eq!(report.rewrapped, 6, "5 subjects + the blind-index key");
    env.store.keyring().disable(old).unwrap();
    assert!(env.store.key_usage().unwrap().iter().all(|u| u.kek_version != old));
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(body(&env.store, *id), format!("body {i}"));
    }
    // After a restart too (nothing cached).
    drop(env.store);
    let store = open(env.dir.path(), env.provider.clone());
    assert_eq!(body(&store, ids[3]), "body 3");
    assert_eq!(store.find("patient", "mrn", &phi("M3")).unwrap(), vec![ids[3]]);
}

#[test]
fn revocation_without_rewrap_fails_closed() {
    let env = Env::new();
    let s = env.store.create_subject().unwrap();
    let id = put(&env.store, &s, "x", "X");
    let old = env.provider.current_version().unwrap();
    env.store.keyring().rotate().unwrap();
    env.store.keyring().disable(old).unwrap();
    let err = env.store.get(id).unwrap_err();
    assert!(matches!(err, Error::Key(KeyError::KekDisabled(v)) if v == old), "{err}");
    assert!(err.to_string().contains("disabled"));
}

#[test]
fn shredded_key_bytes_leave_the_files() {
    let env = Env::new();
    let s = env.store.create_subject().unwrap();
    put(&env.store, &s, "x", "X");
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    let wrapped: Vec<u8> = conn
        .query_row(
            "SELECT d.wrapped FROM deks d JOIN subjects s ON s.dek_id = d.id WHERE s.id = ?1",
            [s.as_str()],
            |r| r.get(0),
        )
        .unwrap();
    drop(conn);
    env.store.shred_subject(&s).unwrap();
    for file in [env.db(), with_suffix(&env.db(), "-wal")] {
        assert!(!file_contains(&file, &wrapped), "wrapped key still in {}", file.display());
    }
}

#[test]
fn backup_restores_and_refuses_tampering_truncation_and_wrong_key() {
    let env = Env::new();
    let s = env.store.create_subject().unwrap();
    let id = put(&env.store, &s, "restore me", "R1");
    let archive = env.dir.path().join("b.phigate");
    let summary = write_backup(&env.store, &archive).unwrap();
    assert!(summary.archive_bytes > summary.plaintext_bytes);
    assert!(write_backup(&env.store, &archive).is_err(), "never overwrites a backup");

    // Restore into a fresh data dir with the same key: everything reads.
    let target = tempfile::tempdir().unwrap();
    let db2 = target.path().join("phigate.db");
    restore_backup(&archive, env.provider.as_ref(), &db2, false).unwrap();
    assert!(
        restore_backup(&archive, env.provider.as_ref(), &db2, false).is_err(),
        "refuses to overwrite without force"
    );
    let keyring = Arc::new(Keyring::new(env.provider.clone(), Duration::from_secs(1)));
    let restored = SqliteStore::open(&db2, keyring).unwrap();
    assert_eq!(body(&restored, id), "restore me");
    drop(restored);

    let bytes = std::fs::read(&archive).unwrap();
    let try_restore = |data: &[u8]| {
        let f = env.dir.path().join("t.phigate");
        std::fs::write(&f, data).unwrap();
        let t = tempfile::tempdir().unwrap();
        let r = restore_backup(&f, env.provider.as_ref(), &t.path().join("phigate.db"), false);
        assert!(!t.path().join("phigate.db").exists(), "nothing may be written by a refused restore");
        r
    };
    for pos in [0, 20, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
        let mut bad = bytes.clone();
        bad[pos] ^= 0x40;
        let err = try_restore(&bad).unwrap_err();
        assert!(matches!(err, Error::Backup { .. }), "flip at {pos}: {err}");
    }
    let err = try_restore(&bytes[..bytes.len() - 100]).unwrap_err().to_string();
    assert!(err.contains("truncated"), "{err}");

    // Another installation's key file: refused with a clear reason.
    let other_dir = tempfile::tempdir().unwrap();
    let other = LocalFileProvider::open_or_create(&other_dir.path().join("kek.json")).unwrap();
    let err = restore_backup(&archive, &other, &other_dir.path().join("phigate.db"), false).unwrap_err().to_string();
    assert!(err.contains("wrong key"), "{err}");
}

#[test]
fn sqlite_conformance_named_keys() {
    let env = Env::new();
    conformance::named_keys(&env.store, env.store.keyring());
    // And after a restart, with nothing cached.
    drop(env.store);
    let store = open(env.dir.path(), env.provider.clone());
    assert!(store.named_key("audit-subject", "psn_xyz").is_ok());
    assert!(matches!(store.named_key("audit-subject", "psn_abc"), Err(Error::Shredded(_))));
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn stored_bodies_round_trip(bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..2048), 1..8)) {
            let env = Env::new();
            let s = env.store.create_subject().unwrap();
            let phis: Vec<_> = bodies.iter().map(|b| Phi::new(b.clone())).collect();
            let recs: Vec<_> = phis.iter().map(|b| NewRecord { subject: &s, kind: "doc", body: b, lookups: &[] }).collect();
            let ids = env.store.put_batch(&recs).unwrap();
            for (id, b) in ids.iter().zip(&bodies) {
                let got = env.store.get(*id).unwrap();
                prop_assert_eq!(got.body.expose(), b);
            }
        }

        #[test]
        fn any_flipped_stored_byte_is_a_typed_error(pos in any::<prop::sample::Index>(), bit in 0u8..8) {
            let env = Env::new();
            let s = env.store.create_subject().unwrap();
            let id = put(&env.store, &s, "flip target body", "F");
            let conn = rusqlite::Connection::open(env.db()).unwrap();
            let mut blob: Vec<u8> = conn.query_row("SELECT body FROM records WHERE id = ?1", [id.0], |r| r.get(0)).unwrap();
            let i = pos.index(blob.len());
            blob[i] ^= 1 << bit;
            conn.execute("UPDATE records SET body = ?1 WHERE id = ?2", rusqlite::params![blob, id.0]).unwrap();
            let err = env.store.get(id).unwrap_err();
            prop_assert!(matches!(err, Error::Key(KeyError::Tampered | KeyError::Malformed(_))), "{}", err);
        }
    }
}

/// The same suite against a real PostgreSQL server (`PHIGATE_TEST_POSTGRES_URL`,
/// started by `scripts/test`); each test gets its own schema, dropped after.
mod postgres_backend {
    use phigate_store::PgStore;

    use super::*;

    struct PgEnv {
        _dir: tempfile::TempDir,
        url: String,
        schema: String,
        keyring: Arc<Keyring>,
        store: PgStore,
    }

    impl Drop for PgEnv {
        fn drop(&mut self) {
            if let Ok(mut c) = postgres::Client::connect(&self.url, postgres::NoTls) {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
            }
        }
    }

    fn pg() -> Option<PgEnv> {
        let Ok(url) = std::env::var("PHIGATE_TEST_POSTGRES_URL") else {
            assert!(
                std::env::var("PHIGATE_REQUIRE_PEERS").as_deref() != Ok("1"),
                "PHIGATE_TEST_POSTGRES_URL required by PHIGATE_REQUIRE_PEERS=1"
            );
            eprintln!("SKIPPED: PHIGATE_TEST_POSTGRES_URL not set (scripts/test sets it)");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let provider = Arc::new(LocalFileProvider::open_or_create(&dir.path().join("kek.json")).unwrap());
        let keyring = Arc::new(Keyring::new(provider, Duration::from_secs(300)));
        let schema = format!("phigate_test_{}", hex::encode(rand::random::<[u8; 6]>()));
        let store = PgStore::connect(&url, &schema, keyring.clone()).unwrap();
        Some(PgEnv { _dir: dir, url, schema, keyring, store })
    }

    #[test]
    fn pg_conformance_round_trip_and_lookup() {
        let Some(env) = pg() else { return };
        conformance::round_trip_and_lookup(&env.store);
    }

    #[test]
    fn pg_conformance_shredding_is_exact() {
        let Some(env) = pg() else { return };
        conformance::shredding_is_exact(&env.store);
    }

    #[test]
    fn pg_conformance_named_keys() {
        let Some(env) = pg() else { return };
        conformance::named_keys(&env.store, &env.keyring);
    }

    #[test]
    fn pg_holds_no_canary_in_any_column_and_reconnects() {
        let Some(env) = pg() else { return };
        let s = env.store.create_subject().unwrap();
        let id = put(&env.store, &s, "Zebulon Canary-Pg 555-01-9876", "CANARY-PG-MRN-1");
        let mut c = postgres::Client::connect(&env.url, postgres::NoTls).unwrap();
        c.batch_execute(&format!("SET search_path TO {}", env.schema)).unwrap();
        for table in ["records", "lookups", "deks", "subjects", "settings", "named_keys"] {
            let dump: String = c
                .query_one(&format!("SELECT COALESCE(string_agg(t::text, ' '), '') FROM {table} t"), &[])
                .unwrap()
                .get(0);
            for canary in ["Zebulon", "Canary-Pg", "555-01-9876", "CANARY-PG-MRN-1", "canary-pg-mrn-1"] {
                assert!(!dump.contains(canary), "{canary} in table {table}");
            }
        }
        // A second instance on the same schema reads what the first wrote.
        let second = PgStore::connect(&env.url, &env.schema, env.keyring.clone()).unwrap();
        assert_eq!(body(&second, id), "Zebulon Canary-Pg 555-01-9876");
        assert_eq!(second.find("patient", "mrn", &phi("canary-pg-mrn-1")).unwrap(), vec![id]);
    }

    #[test]
    fn non_loopback_host_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let provider = Arc::new(LocalFileProvider::open_or_create(&dir.path().join("kek.json")).unwrap());
        let keyring = Arc::new(Keyring::new(provider, Duration::from_secs(1)));
        let err = PgStore::connect("postgres://u@db.example.org/phigate", "s", keyring).unwrap_err().to_string();
        assert!(err.contains("non-loopback"), "{err}");
    }
}
