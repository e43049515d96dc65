//! Time spent per detection layer over the shared corpus (tuning aid).
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::time::Instant;

use phigate_deid::context::{self, RuleSet};
use phigate_deid::eval::read_gold;
use phigate_deid::{Detector, pattern, token};

fn main() {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/deid/physionet_deid_nursing.jsonl");
    let notes = read_gold(std::io::BufReader::new(std::fs::File::open(path).unwrap())).unwrap();
    let texts: Vec<String> = notes.iter().map(|n| n.text.expose().clone()).collect();
    let mb = texts.iter().map(String::len).sum::<usize>() as f64 / 1e6;
    let _ = Detector::new();
    for _ in 0..2 {
        let t = Instant::now();
        let toks: Vec<_> = texts.iter().map(|x| token::tokenize(x)).collect();
        let k = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut n = 0;
        for (x, tk) in texts.iter().zip(&toks) {
            let mut v = Vec::new();
            pattern::find(x, tk, &mut v);
            n += v.len();
        }
        let p = t.elapsed().as_secs_f64();
        let t = Instant::now();
        for (x, tk) in texts.iter().zip(&toks) {
            n += context::find(x, tk, RuleSet::default()).len();
        }
        let c = t.elapsed().as_secs_f64();
        println!("patterns {:.1} MB/s, tokenize {:.1} MB/s, context {:.1} MB/s ({n})", mb / p, mb / k, mb / c);
    }
}
