//! Any bytes: redacting the redacted text changes nothing (the second pass
//! finds nothing the first left). Redaction settles its spans for this
//! (`src/settle.rs`); before it did, this target found cases on mutated notes
//! within minutes (docs/fuzzing.md).
//!
//! `scripts/fuzz deid idempotence`; see docs/fuzzing.md.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use phigate_deid::{Deidentifier, Detector, PatientContext, Policy};

/// Built once: the dictionaries take far longer to load than one input takes.
static DEID: LazyLock<Deidentifier> = LazyLock::new(|| Deidentifier::new(Detector::new(), Policy::safe_harbor()));

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(once) = DEID.deidentify(&text, &mut PatientContext::new("fuzz")) {
        let twice = DEID.deidentify(&once, &mut PatientContext::new("fuzz")).expect("redacted text redacts");
        assert_eq!(once, twice, "redaction is idempotent");
    }
});
