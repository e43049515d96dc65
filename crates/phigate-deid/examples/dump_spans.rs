//! Every span the detector finds, one per line, for checking that a change
//! meant to keep behaviour (a speed-up) keeps it: dump before and after,
//! then `cmp` the two files.
//!
//! `cargo run --release -p phigate-deid --example dump_spans -- [GOLD.jsonl ...] > spans.tsv`
//!
//! With no argument it reads the shared corpus. Lines are `note index,
//! start, end, kind, text` (byte offsets), tab-separated. The text is printed
//! so a difference can be read; run it on public or synthetic data only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;

use phigate_deid::Detector;
use phigate_deid::eval::read_gold;

fn main() {
    let mut files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        files.push(format!("{}/../../../shared/data/deid/physionet_deid_nursing.jsonl", env!("CARGO_MANIFEST_DIR")));
    }
    let detector = Detector::new();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for file in files {
        let reader = std::fs::File::open(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
        let notes = read_gold(std::io::BufReader::new(reader)).unwrap_or_else(|e| panic!("{file}: {e}"));
        for (i, note) in notes.iter().enumerate() {
            let text = note.text.expose();
            for s in detector.detect(text) {
                writeln!(out, "{i}\t{}\t{}\t{:?}\t{}", s.start, s.end, s.kind, &text[s.start..s.end]).unwrap();
            }
        }
    }
}
