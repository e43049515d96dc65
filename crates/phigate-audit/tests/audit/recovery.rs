//! Opening after a crash: what is cut, and what makes open refuse.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use phigate_audit::{Config, Error, Location, Query, verify};

use crate::harness::{TestCipher, ai_event, files, open, open_with};

fn build(dir: &Path, n: usize) -> u64 {
    let ledger = open(dir, Arc::new(TestCipher::default()));
    for i in 0..n {
        ledger.append(&ai_event("dr-r", "p1", &format!("r{i}"), "Rae")).unwrap();
    }
    ledger.close().unwrap().checkpoint.size
}

fn last_segment(dir: &Path) -> PathBuf {
    files(&dir.join("segments")).pop().unwrap()
}

fn append_bytes(path: &Path, bytes: &[u8]) {
    std::fs::OpenOptions::new().append(true).open(path).unwrap().write_all(bytes).unwrap();
}

/// Reopens, checks the tail was cut and the cut recorded, closes, verifies.
fn reopen_recovers(dir: &Path, size: u64) {
    let len_before = std::fs::metadata(last_segment(dir)).unwrap().len();
    let ledger = open(dir, Arc::new(TestCipher::default()));
    assert_eq!(ledger.size(), size + 1, "only the recovery entry was added");
    let rec = ledger.query_records(&Query { action: Some("audit.recovery".into()), ..Query::default() }).unwrap();
    assert_eq!(rec.len(), 1);
    ledger.close().unwrap();
    verify(dir).unwrap();
    assert!(std::fs::metadata(last_segment(dir)).unwrap().len() < len_before + 4096);
}

#[test]
fn a_torn_record_at_the_tail_is_cut_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let size = build(dir.path(), 5);
    append_bytes(&last_segment(dir.path()), &[0xE1, 0x10, 0x00, 0x00, 0x00, 0x05]);
    assert!(verify(dir.path()).is_err(), "verify is strict about an unrecovered tail");
    reopen_recovers(dir.path(), size);
}

#[test]
fn trailing_zeroes_are_cut() {
    let dir = tempfile::tempdir().unwrap();
    let size = build(dir.path(), 5);
    append_bytes(&last_segment(dir.path()), &[0u8; 4096]);
    reopen_recovers(dir.path(), size);
}

#[test]
fn complete_entries_without_their_commit_record_are_cut() {
    let dir = tempfile::tempdir().unwrap();
    let size = build(dir.path(), 5);
    let seg = last_segment(dir.path());
    let buf = std::fs::read(&seg).unwrap();
    // The first entry record, renumbered as the next seq: a batch whose
    // commit record never reached the disk.
    let len = u32::from_le_bytes(buf[17..21].try_into().unwrap()) as usize;
    let mut rec = buf[16..16 + 45 + len].to_vec();
    rec[5..13].copy_from_slice(&size.to_le_bytes());
    append_bytes(&seg, &rec);
    reopen_recovers(dir.path(), size);
}

#[test]
fn damage_before_the_last_commit_is_refused_not_cut() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 5);
    let seg = last_segment(dir.path());
    let mut buf = std::fs::read(&seg).unwrap();
    buf[16 + 13] ^= 0xFF; // first entry's stored leaf hash
    std::fs::write(&seg, &buf).unwrap();
    let err =
        phigate_audit::Ledger::open(Config::new(dir.path()), crate::harness::signer(), Arc::new(TestCipher::default()))
            .err()
            .unwrap();
    assert!(matches!(err.location(), Some(Location::Segment { file, .. }) if *file == seg), "{err}");
    assert_eq!(std::fs::read(&seg).unwrap(), buf, "nothing was cut");
}

#[test]
fn losing_checkpointed_entries_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 5);
    let ledger = open_with(Config::new(dir.path()), Arc::new(TestCipher::default()));
    let size_before_extra = ledger.size();
    ledger.append(&ai_event("dr-r", "p1", "extra", "Rae")).unwrap();
    ledger.close().unwrap();
    // Cut the last batch (one entry + commit) exactly at a record boundary.
    let seg = last_segment(dir.path());
    let buf = std::fs::read(&seg).unwrap();
    let mut pos = 16;
    let mut boundary = 16;
    let mut seen = 0;
    while pos < buf.len() {
        if buf[pos] == 0xE1 {
            pos += 45 + u32::from_le_bytes(buf[pos + 1..pos + 5].try_into().unwrap()) as usize;
        } else {
            pos += 41;
            seen += 1;
            if seen as u64 == size_before_extra {
                boundary = pos;
            }
        }
    }
    std::fs::write(&seg, &buf[..boundary]).unwrap();
    let err =
        phigate_audit::Ledger::open(Config::new(dir.path()), crate::harness::signer(), Arc::new(TestCipher::default()))
            .err()
            .unwrap();
    assert!(matches!(err, Error::Integrity { location: Location::Checkpoint { .. }, .. }), "{err}");
}
