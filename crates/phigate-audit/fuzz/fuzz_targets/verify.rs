//! Fuzzes what `phigate audit verify` and a read-only open parse from disk:
//! a real ledger's segment file replaced by arbitrary bytes (and a variant
//! where the bytes are spliced into a valid segment). Any input must give a
//! report or a typed error naming a location; never a panic or a hang.
//!
//! Run: `cargo fuzz run verify` from `crates/phigate-audit` (nightly);
//! `scripts/test` builds it on stable.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use phigate_audit::{Actor, ActorKind, CheckpointSigner, CipherError, Config, Event, Ledger, Outcome, PayloadCipher, Pseudonym};

struct NoPayloads;

impl PayloadCipher for NoPayloads {
    fn seal(&self, _: &Pseudonym, _: &[u8], _: &[u8]) -> Result<Vec<u8>, CipherError> {
        Err(CipherError::Unavailable("fuzz fixture has no payloads".into()))
    }
    fn open(&self, _: &Pseudonym, _: &[u8], _: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>, CipherError> {
        Err(CipherError::Unavailable("fuzz fixture has no payloads".into()))
    }
    fn shred(&self, _: &Pseudonym) -> Result<(), CipherError> {
        Ok(())
    }
}

/// A small valid ledger, built once: (its directory, its segment file, that file's bytes).
fn fixture() -> &'static (tempfile::TempDir, PathBuf, Vec<u8>) {
    static FIXTURE: OnceLock<(tempfile::TempDir, PathBuf, Vec<u8>)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let signer = CheckpointSigner::from_seed("phigate/fuzz", &[3u8; 32]).expect("signer");
        let ledger = Ledger::open(Config::new(dir.path()), signer, Arc::new(NoPayloads)).expect("ledger");
        for i in 0..8 {
            let actor = Actor { id: format!("u{i}"), kind: ActorKind::User, role: "clinician".into(), session: None };
            ledger.append(&Event::new(actor, "patient.read", Outcome::Success)).expect("append");
        }
        ledger.close().expect("close");
        let segment = find_segment(dir.path()).expect("a segment file");
        let bytes = std::fs::read(&segment).expect("segment bytes");
        (dir, segment, bytes)
    })
}

fn find_segment(dir: &Path) -> Option<PathBuf> {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).ok()?.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "log") && p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("seg-")) {
                return Some(p);
            }
        }
    }
    None
}

fuzz_target!(|data: &[u8]| {
    let (dir, segment, valid) = fixture();
    // Whole file replaced, then the same bytes spliced into the valid file.
    let splice_at = data.first().map_or(0, |b| *b as usize * valid.len() / 256);
    let mut spliced = valid[..splice_at].to_vec();
    spliced.extend_from_slice(data);
    for bytes in [data.to_vec(), spliced] {
        std::fs::write(segment, &bytes).expect("write segment");
        // One hashing thread: a pool per input would dominate the run time.
        let _ = phigate_audit::verify_with(dir.path(), &phigate_audit::VerifyOptions { threads: 1, ..Default::default() });
        let _ = Ledger::open_read_only(dir.path());
    }
    std::fs::write(segment, valid).expect("restore segment");
});
