//! Prints what the detector finds in each argument, with the rule that
//! proposed every span: the "why was this redacted (or not)" view.
//!
//! `cargo run -p phigate-deid --example explain -- "Patient Margaret Okonkwo, MRN: 88231457."`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use phigate_deid::Detector;
use phigate_deid::token::tokenize;

fn main() {
    let detector = Detector::new();
    let verbose = std::env::var_os("PHIGATE_EXPLAIN_TOKENS").is_some();
    for text in std::env::args().skip(1) {
        println!("{text:?}");
        for f in detector.explain(&text) {
            println!("  {:<10} {:<18} {:?}", f.span.kind.to_string(), f.rule, &text[f.span.start..f.span.end]);
        }
        if verbose {
            for t in tokenize(&text) {
                println!("    token {:<16} {:?} {:?}", t.text(&text), t.flags, t.cue);
            }
        }
    }
}
