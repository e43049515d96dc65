//! Any bytes: FHIR de-identification never panics, whether the bytes are
//! one JSON document (a resource or Bundle) or NDJSON; when it succeeds the
//! output is JSON again.
//!
//! `cargo +nightly fuzz run fhir` from `crates/phigate-deid`.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use phigate_deid::fhir::{FhirDeidentifier, FhirPolicy, PatientContexts};
use phigate_deid::jsonl::ReadOptions;
use phigate_deid::{Deidentifier, Detector, Policy};

static FHIR: LazyLock<FhirDeidentifier> = LazyLock::new(|| {
    FhirDeidentifier::new(Deidentifier::new(Detector::new(), Policy::safe_harbor()), FhirPolicy::safe_harbor())
});

fn run(data: &[u8]) {
    let mut patients = PatientContexts::new();
    if let Ok(mut doc) = serde_json::from_slice::<serde_json::Value>(data) {
        if FHIR.deidentify(&mut doc, &mut patients).is_ok() {
            let text = doc.to_string();
            assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok());
        }
    }
    let mut out = Vec::new();
    let opts = ReadOptions { lossy_utf8: true };
    if FHIR.deidentify_ndjson(data, &mut out, &mut patients, opts, |_| {}).is_ok() {
        for line in out.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            assert!(serde_json::from_slice::<serde_json::Value>(line).is_ok());
        }
    }
}

fuzz_target!(|data: &[u8]| run(data));
