//! Any bytes: detection, character offsets and redaction never panic, and
//! spans are sorted, disjoint and on char boundaries.
//!
//! `cargo +nightly fuzz run detect` from `crates/phigate-deid`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phigate_deid::span::to_char_spans;
use phigate_deid::{Deidentifier, Detector, PatientContext, Policy};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let detector = Detector::new();
    let spans = detector.detect(&text);
    let mut last = 0;
    for s in &spans {
        assert!(s.start >= last && s.start < s.end && s.end <= text.len());
        assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end));
        last = s.end;
    }
    let _ = to_char_spans(&text, &spans);
    let d = Deidentifier::new(detector, Policy::safe_harbor());
    let _ = d.deidentify(&text, &mut PatientContext::new("fuzz"));
});
