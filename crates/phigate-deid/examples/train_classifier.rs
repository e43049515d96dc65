//! Trains the classifier layer on the **training split** of the shared
//! PhysioNet nursing corpus and writes `data/classifier.bin`. Never reads a
//! test-split note (patients with number % 4 == 3).
//!
//! ```text
//! cargo run --release -p phigate-deid --example train_classifier            # train, write the model
//! cargo run --release -p phigate-deid --example train_classifier -- --validate
//! ```
//!
//! `--validate` trains on the training split without fold 2 (patient % 4 ==
//! 2), scores the whole detector on fold 2 with and without the layer for a
//! range of thresholds, and writes nothing: that is how the shipped threshold
//! was chosen. Options: `--bits N` (hash width, default 18), `--epochs N`
//! (default 8), `--threshold T` (default below), `--seed S`, `--bags K`
//! (perceptrons averaged), `--holdout F` (also leave out fold F; used by
//! `scripts/deid-holdout`), `--out PATH`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;

use phigate_deid::Detector;
use phigate_deid::classifier::Model;
use phigate_deid::classifier::train::{self, Settings};
use phigate_deid::eval::{EvalOptions, GoldNote, Split, evaluate, read_gold};

fn main() {
    let mut args = std::env::args().skip(1);
    let d = Settings::default();
    let (mut bits, mut epochs, mut threshold, mut seed, mut bags, mut validate) =
        (d.bits, d.epochs, d.threshold, d.seed, d.bags, false);
    let mut holdout = None;
    let mut out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/classifier.bin");
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--bits" => bits = val().parse().unwrap(),
            "--epochs" => epochs = val().parse().unwrap(),
            "--threshold" => threshold = val().parse().unwrap(),
            "--seed" => seed = val().parse().unwrap(),
            "--bags" => bags = val().parse().unwrap(),
            "--out" => out = PathBuf::from(val()),
            "--validate" => validate = true,
            "--holdout" => holdout = Some(val().parse::<u64>().unwrap()),
            other => panic!("unknown option {other}"),
        }
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/deid/physionet_deid_nursing.jsonl");
    let notes = read_gold(std::io::BufReader::new(std::fs::File::open(&path).unwrap())).unwrap();
    // The test split is dropped here, before anything looks at a note.
    let mut train_notes: Vec<GoldNote> = notes.into_iter().filter(|n| Split::Train.contains(n.patient)).collect();
    // `--holdout F` also leaves out training fold F (patient % 4 == F), for
    // `scripts/deid-holdout`, which scores that fold as unseen data.
    if let Some(f) = holdout {
        train_notes.retain(|n| n.patient.is_none_or(|p| p % 4 != f));
    }
    if validate {
        cross_validate(train_notes, Settings { bits, epochs, seed, bags, threshold: 0.0 });
        return;
    }
    let model = fit(&train_notes, Settings { bits, epochs, seed, bags, threshold });
    let bytes = model.encode();
    std::fs::write(&out, &bytes).unwrap();
    eprintln!("wrote {} ({} bytes)", out.display(), bytes.len());
}

fn fit(notes: &[GoldNote], s: Settings) -> Model {
    eprintln!("training on {} notes", notes.len());
    let started = std::time::Instant::now();
    let model = train::fit(notes, s);
    eprintln!(
        "trained in {:.2} s ({} bags × {} epochs, 2^{} features)",
        started.elapsed().as_secs_f64(),
        s.bags,
        s.epochs,
        s.bits
    );
    model
}

/// Three-fold cross-validation inside the training split (folds are
/// patient % 4 in {0, 1, 2}): train on two, score the whole detector on the
/// third, with and without the layer, summed over folds.
fn cross_validate(notes: Vec<GoldNote>, settings: Settings) {
    const THRESHOLDS: [f32; 8] = [-4.0, -2.0, 0.0, 2.0, 4.0, 8.0, 16.0, 1e9];
    let mut by_fold: Vec<Vec<GoldNote>> = vec![Vec::new(), Vec::new(), Vec::new()];
    for n in notes {
        by_fold[n.patient.map_or(0, |p| (p % 4) as usize).min(2)].push(n);
    }
    // (found, gold, correct predictions, predictions) per threshold.
    let mut sums = [(0usize, 0usize, 0usize, 0usize); THRESHOLDS.len()];
    let opts = EvalOptions { split: Split::All, ..EvalOptions::default() };
    for held in 0..3 {
        let held_notes = std::mem::take(&mut by_fold[held]);
        let rest: Vec<GoldNote> = by_fold.iter_mut().flat_map(std::mem::take).collect();
        let model = fit(&rest, settings);
        for (k, &t) in THRESHOLDS.iter().enumerate() {
            let m = Arc::new(model.clone().with_threshold(t));
            let r = evaluate(&Detector::new().with_classifier(Some(m)), &held_notes, &opts);
            let e = &r.entity;
            sums[k].0 += e.found;
            sums[k].1 += e.gold;
            sums[k].2 += e.correct;
            sums[k].3 += e.predicted;
        }
        // Put the folds back for the next round.
        let mut rebuilt: Vec<Vec<GoldNote>> = vec![Vec::new(), Vec::new(), Vec::new()];
        for n in rest.into_iter().chain(held_notes) {
            rebuilt[n.patient.map_or(0, |p| (p % 4) as usize).min(2)].push(n);
        }
        by_fold = rebuilt;
    }
    println!("3-fold cross-validation on the training split (threshold 1e9 = layer off):");
    for (k, t) in THRESHOLDS.iter().enumerate() {
        let (f, g, c, p) = sums[k];
        println!(
            "  threshold {t:>5}: recall {:.4} ({f}/{g})  precision {:.4} ({c}/{p})",
            f as f64 / g as f64,
            c as f64 / p as f64
        );
    }
}
