//! Tamper tests: any flipped byte, deleted or reordered entry, truncated
//! segment, or re-signed checkpoint makes `verify` fail and name where.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use phigate_audit::{
    CheckpointSigner, Config, FileWitness, Location, NoteVerifier, VerifyOptions, verify, verify_with,
};
use proptest::prelude::*;
use tempfile::TempDir;

use crate::harness::{ORIGIN, TestCipher, ai_event, copy_dir, files, open_with, signer};

/// A closed ledger of three-plus segments and several checkpoints, built once.
fn template() -> &'static Path {
    static DIR: OnceLock<TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Config::new(dir.path());
        c.max_segment_bytes = 8 << 10;
        c.checkpoint_interval = None;
        let ledger = open_with(c, Arc::new(TestCipher::default()));
        for i in 0..60 {
            ledger.append(&ai_event("dr-a", &format!("p{}", i % 5), &format!("req-{i}"), "Jane")).unwrap();
            if i % 17 == 0 {
                ledger.checkpoint().unwrap();
            }
        }
        ledger.close().unwrap();
        verify(dir.path()).expect("the untouched template verifies");
        dir
    })
    .path()
}

fn fresh_copy() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(template(), dir.path());
    dir
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    files(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "log") && p.parent().unwrap().ends_with("segments"))
        .collect()
}

/// (offset, length) of every entry record in a segment, parsed from the
/// documented format.
fn entry_records(buf: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut pos = 16;
    while pos < buf.len() {
        match buf[pos] {
            0xE1 => {
                let len = u32::from_le_bytes(buf[pos + 1..pos + 5].try_into().unwrap()) as usize;
                out.push((pos, 45 + len));
                pos += 45 + len;
            }
            0xC1 => pos += 41,
            t => panic!("unexpected tag {t}"),
        }
    }
    out
}

fn file_of(loc: &Location) -> Option<&Path> {
    match loc {
        Location::Segment { file, .. } | Location::Checkpoint { file, .. } | Location::File(file) => Some(file),
        _ => None,
    }
}

fn fails_naming(dir: &Path) -> Location {
    let err = verify(dir).expect_err("tampered ledger must fail verification");
    let loc = err.location().cloned().unwrap_or_else(|| panic!("error names no location: {err}"));
    // The message names the place for a person reading the CLI output.
    assert!(err.to_string().contains(&file_of(&loc).map(|f| f.display().to_string()).unwrap_or_default()));
    loc
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn any_flipped_byte_is_caught_where_it_is(file_pick in any::<prop::sample::Index>(), at in any::<prop::sample::Index>(), mask in 1u8..=255) {
        let dir = fresh_copy();
        let all = files(dir.path());
        let target = file_pick.get(&all).clone();
        let mut bytes = std::fs::read(&target).unwrap();
        let i = at.index(bytes.len());
        bytes[i] ^= mask;
        std::fs::write(&target, &bytes).unwrap();
        let loc = fails_naming(dir.path());
        prop_assert_eq!(file_of(&loc), Some(target.as_path()), "flip in {:?} at {} reported at {:?}", target, i, loc);
        if let Location::Segment { offset, .. } = loc {
            prop_assert!(offset <= i as u64, "reported offset {} is after the flipped byte {}", offset, i);
        }
    }

    #[test]
    fn deleting_an_entry_is_caught(seg_pick in any::<prop::sample::Index>(), rec_pick in any::<prop::sample::Index>()) {
        let dir = fresh_copy();
        let segs = segments(dir.path());
        let seg = seg_pick.get(&segs).clone();
        let mut buf = std::fs::read(&seg).unwrap();
        let recs = entry_records(&buf);
        let (off, len) = *rec_pick.get(&recs);
        buf.drain(off..off + len);
        std::fs::write(&seg, &buf).unwrap();
        let loc = fails_naming(dir.path());
        prop_assert!(matches!(&loc, Location::Segment { file, .. } if *file == seg), "reported {:?}", loc);
    }

    #[test]
    fn reordering_entries_is_caught(seg_pick in any::<prop::sample::Index>(), a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>()) {
        let dir = fresh_copy();
        let segs = segments(dir.path());
        let seg = seg_pick.get(&segs).clone();
        let buf = std::fs::read(&seg).unwrap();
        let recs = entry_records(&buf);
        prop_assume!(recs.len() >= 2);
        let (i, j) = (a.index(recs.len()), b.index(recs.len()));
        prop_assume!(i != j);
        let (first, second) = (recs[i.min(j)], recs[i.max(j)]);
        let mut out = buf[..first.0].to_vec();
        out.extend_from_slice(&buf[second.0..second.0 + second.1]);
        out.extend_from_slice(&buf[first.0 + first.1..second.0]);
        out.extend_from_slice(&buf[first.0..first.0 + first.1]);
        out.extend_from_slice(&buf[second.0 + second.1..]);
        std::fs::write(&seg, &out).unwrap();
        let loc = fails_naming(dir.path());
        prop_assert!(matches!(&loc, Location::Segment { file, .. } if *file == seg), "reported {:?}", loc);
    }

    #[test]
    fn truncating_a_segment_is_caught(seg_pick in any::<prop::sample::Index>(), cut in any::<prop::sample::Index>()) {
        let dir = fresh_copy();
        let segs = segments(dir.path());
        let k = seg_pick.index(segs.len());
        let seg = &segs[k];
        let buf = std::fs::read(seg).unwrap();
        let keep = cut.index(buf.len());
        std::fs::write(seg, &buf[..keep]).unwrap();
        let loc = fails_naming(dir.path());
        // The cut segment, the next one (which no longer follows on), or a
        // checkpoint that covers the removed entries.
        let ok = match &loc {
            Location::Segment { file, .. } => segs[k..].contains(file),
            Location::Checkpoint { .. } => true,
            _ => false,
        };
        prop_assert!(ok, "cut {:?} at {} reported {:?}", seg, keep, loc);
    }

    #[test]
    fn a_checkpoint_signed_by_another_key_is_caught(pick in any::<prop::sample::Index>(), seed in any::<[u8; 32]>()) {
        prop_assume!(seed != crate::harness::SEED);
        let dir = fresh_copy();
        let path = dir.path().join("checkpoints.log");
        let buf = std::fs::read(&path).unwrap();
        let mut notes = Vec::new();
        let mut pos = 0;
        while pos < buf.len() {
            let len = u32::from_le_bytes(buf[pos..pos + 4].try_into().unwrap()) as usize;
            notes.push(String::from_utf8(buf[pos + 4..pos + 4 + len].to_vec()).unwrap());
            pos += 4 + len;
        }
        let k = pick.index(notes.len());
        let cp = signer().verifier().open(&notes[k]).unwrap();
        notes[k] = CheckpointSigner::from_seed(ORIGIN, &seed).unwrap().sign(cp.size, cp.root).note;
        let mut out = Vec::new();
        for n in &notes {
            out.extend_from_slice(&(n.len() as u32).to_le_bytes());
            out.extend_from_slice(n.as_bytes());
        }
        std::fs::write(&path, &out).unwrap();
        let loc = fails_naming(dir.path());
        prop_assert!(matches!(loc, Location::Checkpoint { index, .. } if index == k as u64), "reported {:?}", loc);
    }
}

#[test]
fn deleting_a_whole_segment_is_caught() {
    for k in 0..segments(template()).len() {
        let dir = fresh_copy();
        std::fs::remove_file(&segments(dir.path())[k]).unwrap();
        fails_naming(dir.path());
    }
}

#[test]
fn replacing_the_stored_key_is_caught_with_a_trusted_key() {
    let dir = fresh_copy();
    // An insider re-signs every checkpoint with their own key and swaps log.vkey.
    let theirs = CheckpointSigner::from_seed(ORIGIN, &[99; 32]).unwrap();
    std::fs::write(dir.path().join("log.vkey"), format!("{}\n", theirs.verifier().to_vkey())).unwrap();
    let trusted = NoteVerifier::parse(&signer().verifier().to_vkey()).unwrap();
    let err =
        verify_with(dir.path(), &VerifyOptions { verifier: Some(trusted), ..VerifyOptions::default() }).unwrap_err();
    assert!(matches!(err.location(), Some(Location::File(f)) if f.ends_with("log.vkey")), "{err}");
}

#[test]
fn an_insider_rewriting_history_is_caught_by_the_witness() {
    let base = tempfile::tempdir().unwrap();
    let witness_file = base.path().join("witness.txt");
    let dir = base.path().join("ledger");
    let mut ledger = open_with(Config::new(&dir), Arc::new(TestCipher::default()));
    ledger.add_witness(Box::new(FileWitness::new(&witness_file)));
    for i in 0..10 {
        ledger.append(&ai_event("dr-a", "p1", &format!("r{i}"), "Jane")).unwrap();
    }
    ledger.checkpoint().unwrap();
    drop(ledger);

    // The insider has the log key: rebuilds the log without entry 3 and re-signs.
    std::fs::remove_dir_all(&dir).unwrap();
    let ledger = open_with(Config::new(&dir), Arc::new(TestCipher::default()));
    for i in (0..10).filter(|&i| i != 3) {
        ledger.append(&ai_event("dr-a", "p1", &format!("r{i}"), "Jane")).unwrap();
    }
    ledger.append(&ai_event("dr-a", "p1", "r10", "Jane")).unwrap();
    ledger.close().unwrap();

    verify(&dir).expect("a consistent rewrite fools the local check");
    let opts = VerifyOptions::default().with_witness_file(&witness_file).unwrap();
    let err = verify_with(&dir, &opts).unwrap_err();
    assert!(matches!(err.location(), Some(Location::Witnessed { index: 0 })), "{err}");
}
