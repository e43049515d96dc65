//! Encrypted store inserts and reads of 1 KiB records per second, as a ratio
//! to plain SQLite inserts and reads of the same rows, measured in one run.
//!
//! Run: `cargo bench -p phigate-store --bench store`. Target: both ratios ≥ 0.5.
//!
//! Both sides use the same file settings (WAL, synchronous=FULL), the same
//! batch size per transaction, the same table shape and one lookup index
//! entry per row: plain SQLite indexes the MRN in clear, the store indexes
//! its keyed hash. Reads fetch random rows by primary key.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use phigate_keys::Keyring;
use phigate_keys::provider::local_file::LocalFileProvider;
use phigate_phi::Phi;
use phigate_store::{Lookup, NewRecord, RecordId, SqliteStore, Store};
use rand::Rng;
use rusqlite::{Connection, params};

const ROWS: usize = 20_000;
const BATCH: usize = 500;
const READS: usize = 50_000;
const BODY: usize = 1024;

fn plain(dir: &std::path::Path) -> (f64, f64) {
    let conn = Connection::open(dir.join("plain.db")).expect("open");
    conn.pragma_update(None, "journal_mode", "WAL").expect("wal");
    conn.pragma_update(None, "synchronous", "FULL").expect("sync");
    conn.execute_batch(
        "CREATE TABLE records (id INTEGER PRIMARY KEY, subject_id TEXT NOT NULL, kind TEXT NOT NULL, created_at TEXT NOT NULL, body BLOB NOT NULL);
         CREATE TABLE lookups (term BLOB NOT NULL, record_id INTEGER NOT NULL, PRIMARY KEY (term, record_id)) WITHOUT ROWID;",
    )
    .expect("schema");
    let body = vec![0x42u8; BODY];
    let start = Instant::now();
    let mut conn = conn;
    for batch in 0..ROWS / BATCH {
        let tx = conn.transaction().expect("tx");
        {
            let mut ins = tx
                .prepare_cached(
                    "INSERT INTO records (id, subject_id, kind, created_at, body) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .expect("prep");
            let mut idx =
                tx.prepare_cached("INSERT OR IGNORE INTO lookups (term, record_id) VALUES (?1, ?2)").expect("prep");
            for i in 0..BATCH {
                let id = (batch * BATCH + i + 1) as i64;
                ins.execute(params![id, "s_0123456789abcdef0123456789abcdef", "patient", "2026-01-01T00:00:00Z", body])
                    .expect("insert");
                idx.execute(params![format!("mrn-{id:08}").into_bytes(), id]).expect("index");
            }
        }
        tx.commit().expect("commit");
    }
    let inserts = ROWS as f64 / start.elapsed().as_secs_f64();
    let mut rng = rand::thread_rng();
    let start = Instant::now();
    let mut stmt = conn.prepare_cached("SELECT subject_id, kind, body FROM records WHERE id = ?1").expect("prep");
    for _ in 0..READS {
        let id = rng.gen_range(1..=ROWS as i64);
        let row: (String, String, Vec<u8>) =
            stmt.query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).expect("read");
        black_box(row);
    }
    (inserts, READS as f64 / start.elapsed().as_secs_f64())
}

fn encrypted(dir: &std::path::Path) -> (f64, f64) {
    let provider = Arc::new(LocalFileProvider::open_or_create(&dir.join("kek.json")).expect("key file"));
    let store = SqliteStore::open(&dir.join("phigate.db"), Arc::new(Keyring::new(provider, Duration::from_secs(3600))))
        .expect("store");
    let subjects: Vec<_> = (0..100).map(|_| store.create_subject().expect("subject")).collect();
    let body = Phi::new(vec![0x42u8; BODY]);
    let mrns: Vec<Phi<String>> = (1..=ROWS).map(|id| Phi::new(format!("mrn-{id:08}"))).collect();
    let start = Instant::now();
    for batch in 0..ROWS / BATCH {
        let lookups: Vec<[Lookup<'_>; 1]> =
            (0..BATCH).map(|i| [Lookup { field: "mrn", value: &mrns[batch * BATCH + i] }]).collect();
        let records: Vec<NewRecord<'_>> = (0..BATCH)
            .map(|i| NewRecord {
                subject: &subjects[i % subjects.len()],
                kind: "patient",
                body: &body,
                lookups: &lookups[i],
            })
            .collect();
        store.put_batch(&records).expect("insert");
    }
    let inserts = ROWS as f64 / start.elapsed().as_secs_f64();
    let mut rng = rand::thread_rng();
    let start = Instant::now();
    for _ in 0..READS {
        let rec = store.get(RecordId(rng.gen_range(1..=ROWS as i64))).expect("read");
        black_box(rec);
    }
    (inserts, READS as f64 / start.elapsed().as_secs_f64())
}

fn main() {
    let dir = tempfile::tempdir_in(".").or_else(|_| tempfile::tempdir()).expect("temp dir");
    println!("store bench: {ROWS} rows of {BODY} B in transactions of {BATCH}, {READS} random reads by id");
    // Alternate to spread any disk or CPU noise over both sides.
    let mut p = Vec::new();
    let mut e = Vec::new();
    for round in 0..3 {
        let d = dir.path().join(format!("r{round}"));
        std::fs::create_dir_all(&d).expect("dir");
        p.push(plain(&d));
        e.push(encrypted(&d));
    }
    let med = |v: &[(f64, f64)], f: fn(&(f64, f64)) -> f64| {
        let mut x: Vec<f64> = v.iter().map(f).collect();
        x.sort_by(f64::total_cmp);
        x[x.len() / 2]
    };
    let (pi, pr) = (med(&p, |x| x.0), med(&p, |x| x.1));
    let (ei, er) = (med(&e, |x| x.0), med(&e, |x| x.1));
    let verdict = |r: f64| if r >= 0.5 { "PASS" } else { "FAIL" };
    println!("  plain SQLite      inserts {pi:>9.0}/s   reads {pr:>9.0}/s");
    println!("  encrypted store   inserts {ei:>9.0}/s   reads {er:>9.0}/s");
    println!(
        "  ratio inserts {:.3} (target >= 0.5: {})   reads {:.3} (target >= 0.5: {})",
        ei / pi,
        verdict(ei / pi),
        er / pr,
        verdict(er / pr)
    );
}
