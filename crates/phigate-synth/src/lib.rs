//! Synthetic patients for the demo, tests, load and de-identification
//! scoring.
//!
//! Each patient is one FHIR R4 `collection` [`SynthPatient::bundle`]
//! (Patient, Encounters, Conditions, Observations, MedicationRequests,
//! Procedures, DiagnosticReports and DocumentReferences) and the free-text
//! clinical notes inside it as [`GoldNote`]s: progress notes, discharge
//! summaries and nursing notes full of identifiers (patient, relative and
//! clinician names, dates in many shapes, ages over 89, phone and fax
//! numbers, e-mail, MRN, SSN, addresses, facilities, account, plan, licence,
//! device and vehicle numbers, URLs, IP addresses) next to text that must
//! not be taken for one (clinical eponyms, drugs and doses, lab values,
//! vitals, ICD-10 codes, bare years, ages under 90).
//!
//! # Gold by construction
//! A note is assembled piece by piece; an identifier is appended together
//! with its type and the builder records its character offsets as it goes.
//! The gold spans are therefore exact without any search or alignment step,
//! and the notes can score a detector (`phigate deid eval --gold
//! notes.jsonl`). The embedded name and place lists are this crate's own,
//! not `phigate-deid`'s dictionaries, so the score is not circular by
//! construction (common names overlap with the Census lists the detector
//! uses, as they would in real notes).
//!
//! # Deterministic
//! Patient *i* is a pure function of `(seed, i, notes per patient)`: each
//! patient draws from its own stream of a self-contained xoshiro256**
//! generator (see `rng.rs` for why not `rand`), no clock is read (dates are
//! offsets from [`REFERENCE_DATE`]) and no I/O is done. Patients can be
//! generated lazily, in any order or in parallel, and a corpus is
//! reproduced byte for byte from its seed. [`GENERATOR_VERSION`] changes
//! whenever a seed would produce different output.
//!
//! All identifiers are invented: phone numbers use the fictional 555-01xx
//! block, e-mail and web addresses reserved `.example` domains, IP
//! addresses private or documentation ranges; SSNs, NPIs, DEA numbers and
//! VINs are random but valid in form, because detectors check that.

#![warn(missing_docs)]

mod clinical;
mod data;
mod dates;
mod fhir;
mod gold;
mod ids;
mod note;
mod person;
mod record;
mod rng;
mod templates;

use std::fmt;
use std::ops::RangeInclusive;

use serde_json::Value;
use time::Date;

pub use fhir::BASE as FULL_URL_BASE;
pub use gold::{GoldNote, GoldSpan, NoteType, PhiType};

/// Changes whenever some seed would generate different output, so a
/// corpus's manifest says which generator made it.
pub const GENERATOR_VERSION: &str = "2";

/// The corpus's "today": encounters fall in the three years before it and
/// ages are counted to it. Fixed, so output never depends on the clock.
pub const REFERENCE_DATE: Date = time::macros::date!(2025 - 06 - 30);

/// The most notes one patient may have (each needs its own encounter).
pub const MAX_NOTES_PER_PATIENT: usize = 20;

/// Seed and size of the data set `phigate demo` stores on first run, so
/// tests can regenerate exactly what the demo holds (and use its
/// identifiers as canaries).
pub const DEMO_SEED: u64 = 2026;
/// Patients in the demo data set.
pub const DEMO_PATIENTS: u64 = 20;

/// The medical record number of a generated patient (its Patient's
/// identifier of type `MR`).
pub fn mrn_of(patient: &SynthPatient) -> Option<&str> {
    patient.resources().filter(|(t, _)| *t == "Patient").find_map(|(_, p)| {
        p["identifier"].as_array()?.iter().find_map(|id| {
            let mr = id["type"]["coding"].as_array()?.iter().any(|c| c["code"] == "MR");
            if mr { id["value"].as_str() } else { None }
        })
    })
}

/// Errors of this crate: only invalid options.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The notes-per-patient range is empty (`min > max`).
    #[error("notes per patient: minimum {min} is above maximum {max}")]
    EmptyNoteRange {
        /// Lower bound given.
        min: usize,
        /// Upper bound given.
        max: usize,
    },
    /// More notes per patient than [`MAX_NOTES_PER_PATIENT`].
    #[error("notes per patient: at most {limit} are supported, {max} requested")]
    TooManyNotes {
        /// Upper bound given.
        max: usize,
        /// The supported maximum.
        limit: usize,
    },
}

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SynthOptions {
    /// Seed of the whole corpus.
    pub seed: u64,
    /// Number of patients [`Generator::patients`] yields.
    pub patients: u64,
    /// How many notes each patient gets (uniform in the range).
    pub notes_per_patient: RangeInclusive<usize>,
}

impl Default for SynthOptions {
    fn default() -> Self {
        Self { seed: 1, patients: 100, notes_per_patient: 1..=3 }
    }
}

/// A validated generator.
#[derive(Clone, Debug)]
pub struct Generator {
    options: SynthOptions,
}

impl Generator {
    /// Checks `options`.
    pub fn new(options: SynthOptions) -> Result<Self, Error> {
        let (min, max) = (*options.notes_per_patient.start(), *options.notes_per_patient.end());
        if min > max {
            return Err(Error::EmptyNoteRange { min, max });
        }
        if max > MAX_NOTES_PER_PATIENT {
            return Err(Error::TooManyNotes { max, limit: MAX_NOTES_PER_PATIENT });
        }
        Ok(Self { options })
    }

    /// The options in force.
    pub fn options(&self) -> &SynthOptions {
        &self.options
    }

    /// Patient `index` (0-based; its id is `patient-{index + 1:06}`). Depends
    /// only on the seed, the notes range and `index`.
    pub fn patient(&self, index: u64) -> SynthPatient {
        let mut rng = rng::Rng::for_patient(self.options.seed, index);
        let number = index + 1;
        let id = format!("patient-{number:06}");
        let rec = record::Record::random(&mut rng, REFERENCE_DATE, &self.options.notes_per_patient);
        let mut notes = Vec::new();
        let mut written = Vec::new();
        for (i, e) in rec.encounters.iter().enumerate() {
            let Some(style) = e.note else { continue };
            let Some(mut ctx) = templates::NoteContext::new(&rec, i, &mut rng) else { continue };
            let (text, spans) = templates::write(style, &mut ctx);
            notes.push(GoldNote {
                id: format!("{id}/note-{}", notes.len() + 1),
                patient: number,
                subject: format!("Patient/{}", rec.patient.id),
                note_type: style,
                text,
                spans,
            });
            written.push(i);
        }
        let pairs: Vec<fhir::WrittenNote<'_>> =
            written.iter().zip(&notes).map(|(e, n)| fhir::WrittenNote { encounter: *e, note: n }).collect();
        let bundle = fhir::bundle(&mut rng, &rec, &pairs);
        SynthPatient { id, bundle, notes }
    }

    /// Patients `0..options.patients`, generated lazily.
    pub fn patients(&self) -> impl Iterator<Item = SynthPatient> + '_ {
        (0..self.options.patients).map(|i| self.patient(i))
    }
}

/// Patient `index` under `seed` with the default notes per patient.
pub fn generate_patient(seed: u64, index: u64) -> SynthPatient {
    Generator { options: SynthOptions { seed, ..SynthOptions::default() } }.patient(index)
}

/// One generated patient.
#[derive(Clone, PartialEq)]
pub struct SynthPatient {
    /// `patient-000001`: names the bundle file and prefixes note ids.
    pub id: String,
    /// The FHIR R4 Bundle (`type` `collection`).
    pub bundle: Value,
    /// The notes, also inside the bundle as DocumentReferences.
    pub notes: Vec<GoldNote>,
}

impl SynthPatient {
    /// Every resource in the bundle with its `resourceType`, in bundle order.
    pub fn resources(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.bundle["entry"].as_array().into_iter().flatten().filter_map(|e| {
            let r = &e["resource"];
            r["resourceType"].as_str().map(|t| (t, r))
        })
    }
}

/// Id and sizes only: the bundle and notes are full of (synthetic) PHI.
impl fmt::Debug for SynthPatient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SynthPatient")
            .field("id", &self.id)
            .field("resources", &self.resources().count())
            .field("notes", &self.notes.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_patient_has_an_mrn_that_is_its_patient_identifier() {
        let generator = Generator::new(SynthOptions { seed: DEMO_SEED, patients: 5, ..Default::default() }).unwrap();
        let mrns: Vec<String> = generator.patients().map(|p| mrn_of(&p).unwrap().to_string()).collect();
        let mut unique = mrns.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), mrns.len(), "{mrns:?}");
        let first = generator.patient(0);
        assert!(first.bundle.to_string().contains(&format!("\"value\":\"{}\"", mrns[0])));
    }
}
