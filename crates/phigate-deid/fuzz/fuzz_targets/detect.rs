//! Any bytes: detection, character offsets and redaction never panic, and
//! spans are sorted, disjoint and on char boundaries. (Idempotence has its
//! own target, `idempotence`: see docs/fuzzing.md.)
//!
//! `scripts/fuzz deid detect` (or `cargo +nightly fuzz run detect` from
//! `crates/phigate-deid`); see docs/fuzzing.md.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use phigate_deid::span::to_char_spans;
use phigate_deid::{Deidentifier, Detector, PatientContext, Policy};

/// Built once: the dictionaries take far longer to load than one input takes.
static DEID: LazyLock<Deidentifier> = LazyLock::new(|| Deidentifier::new(Detector::new(), Policy::safe_harbor()));

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let spans = DEID.detector().detect(&text);
    let mut last = 0;
    for s in &spans {
        assert!(s.start >= last && s.start < s.end && s.end <= text.len());
        assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end));
        last = s.end;
    }
    let chars = to_char_spans(&text, &spans);
    assert_eq!(chars.len(), spans.len());
    let _ = DEID.deidentify(&text, &mut PatientContext::new("fuzz"));
});
