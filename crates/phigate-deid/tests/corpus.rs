#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Measurement harness on the shared gold corpora (the numbers the CLI's
//! `phigate deid eval` prints). Skips, saying why, when `../shared` is absent.
//!
//! Run with `--nocapture` to see the tables:
//! `cargo test -p phigate-deid --release --test corpus -- --nocapture`

use std::path::PathBuf;

use phigate_deid::Detector;
use phigate_deid::eval::{EvalOptions, Split, evaluate, read_gold};

fn shared(file: &str) -> Option<PathBuf> {
    // crates/phigate-deid -> workspace root -> ../shared
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/deid").join(file);
    if p.exists() {
        Some(p)
    } else {
        println!("skipped: {} not found (shared data is not checked out here)", p.display());
        None
    }
}

#[test]
fn physionet_nursing_train_and_test() {
    let Some(path) = shared("physionet_deid_nursing.jsonl") else { return };
    let notes = read_gold(std::io::BufReader::new(std::fs::File::open(path).unwrap())).unwrap();
    assert_eq!(notes.len(), 2434);
    let detector = Detector::new();
    for split in [Split::Train, Split::Test] {
        let report = evaluate(&detector, &notes, &EvalOptions { split, ..EvalOptions::default() });
        println!("== PhysioNet nursing, {split:?} split (DateYear excluded)\n{}", report.render());
        // Regression floors, well under the current figures: a drop below
        // them means a change broke a detector, not that tuning drifted.
        assert!(report.entity.recall() > 0.90, "{split:?} recall fell");
        assert!(report.entity.precision() > 0.85, "{split:?} precision fell");
    }
}

#[test]
fn safe_harbor_seed_covers_every_category() {
    let Some(path) = shared("deidgate_safeharbor_seed.jsonl") else { return };
    let notes = read_gold(std::io::BufReader::new(std::fs::File::open(path).unwrap())).unwrap();
    let report = evaluate(
        &Detector::new(),
        &notes,
        &EvalOptions { exclude_types: vec![], collect_errors: true, ..EvalOptions::default() },
    );
    println!("== Safe Harbor seed (15 notes, all 18 categories)\n{}", report.render());
    for m in &report.misses {
        println!("missed a {} span in note {}", m.kind, m.note);
    }
    assert!(report.entity.recall() >= 0.9, "seed recall fell");
}
