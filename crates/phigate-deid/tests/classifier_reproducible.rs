#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The shipped classifier (`data/classifier.bin`) is exactly what the
//! committed training command produces from the training split: nobody can
//! ship a model fitted on test notes or by hand. Skips, saying why, when
//! `../shared` is absent.

use std::path::PathBuf;

use phigate_deid::classifier::train::{Settings, fit};
use phigate_deid::eval::{GoldNote, Split, read_gold};

#[test]
fn shipped_model_is_reproduced_from_the_training_split() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/deid/physionet_deid_nursing.jsonl");
    if !path.exists() {
        println!("skipped: {} not found (shared data is not checked out here)", path.display());
        return;
    }
    let notes = read_gold(std::io::BufReader::new(std::fs::File::open(path).unwrap())).unwrap();
    let train: Vec<GoldNote> = notes.into_iter().filter(|n| Split::Train.contains(n.patient)).collect();
    let model = fit(&train, Settings::default());
    let shipped = include_bytes!("../data/classifier.bin");
    assert!(
        model.encode() == shipped,
        "data/classifier.bin differs from a fresh training run: rerun \
         `cargo run --release -p phigate-deid --example train_classifier`"
    );
}
