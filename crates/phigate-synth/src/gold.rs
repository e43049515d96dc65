//! Gold annotations: every identifier planted in a note, with its exact
//! character span, in the JSONL format of the shared de-identification
//! corpora (`{"id", "text", "spans": [{"start", "end", "type", "text"}]}`).
//!
//! Type names are the corpus names `phigate deid eval` already maps: the
//! PhysioNet nursing-corpus names where that corpus has the category (so
//! patient, clinician and relative names are scored separately) and the
//! Safe Harbor seed file's lower-case names for the categories it lacks.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The category of a planted identifier, serialised as its corpus type name.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PhiType {
    /// The patient's name or part of it (`PTName`).
    #[serde(rename = "PTName")]
    PatientName,
    /// A clinician's name (`HCPName`).
    #[serde(rename = "HCPName")]
    ClinicianName,
    /// A relative's or proxy's name (`RelativeProxyName`).
    #[serde(rename = "RelativeProxyName")]
    RelativeName,
    /// A date other than a bare year (`Date`).
    #[serde(rename = "Date")]
    Date,
    /// An age over 89, the number only (`Age`).
    #[serde(rename = "Age")]
    Age,
    /// A telephone or pager number, with any extension (`Phone`).
    #[serde(rename = "Phone")]
    Phone,
    /// A city or a named facility (`Location`).
    #[serde(rename = "Location")]
    Location,
    /// A ZIP code (`geo`; the PhysioNet corpus has no ZIP category).
    #[serde(rename = "geo")]
    Zip,
    /// A street line or PO box (`address`).
    #[serde(rename = "address")]
    Address,
    /// A fax number (`fax`).
    #[serde(rename = "fax")]
    Fax,
    /// An e-mail address (`email`).
    #[serde(rename = "email")]
    Email,
    /// A Social Security number (`ssn`).
    #[serde(rename = "ssn")]
    Ssn,
    /// A medical record number (`mrn`).
    #[serde(rename = "mrn")]
    Mrn,
    /// A health-plan member id (`health_plan`).
    #[serde(rename = "health_plan")]
    HealthPlan,
    /// A hospital account number (`account`).
    #[serde(rename = "account")]
    Account,
    /// A clinician's NPI or DEA number (`license`).
    #[serde(rename = "license")]
    License,
    /// A licence plate or VIN (`vehicle`).
    #[serde(rename = "vehicle")]
    Vehicle,
    /// A device serial number (`device`).
    #[serde(rename = "device")]
    Device,
    /// A web address (`url`).
    #[serde(rename = "url")]
    Url,
    /// An IP address (`ip`).
    #[serde(rename = "ip")]
    Ip,
}

impl PhiType {
    /// Every type, in declaration order.
    pub const ALL: [PhiType; 20] = [
        PhiType::PatientName,
        PhiType::ClinicianName,
        PhiType::RelativeName,
        PhiType::Date,
        PhiType::Age,
        PhiType::Phone,
        PhiType::Location,
        PhiType::Zip,
        PhiType::Address,
        PhiType::Fax,
        PhiType::Email,
        PhiType::Ssn,
        PhiType::Mrn,
        PhiType::HealthPlan,
        PhiType::Account,
        PhiType::License,
        PhiType::Vehicle,
        PhiType::Device,
        PhiType::Url,
        PhiType::Ip,
    ];

    /// The corpus type name written to gold JSONL.
    pub fn as_str(self) -> &'static str {
        match self {
            PhiType::PatientName => "PTName",
            PhiType::ClinicianName => "HCPName",
            PhiType::RelativeName => "RelativeProxyName",
            PhiType::Date => "Date",
            PhiType::Age => "Age",
            PhiType::Phone => "Phone",
            PhiType::Location => "Location",
            PhiType::Zip => "geo",
            PhiType::Address => "address",
            PhiType::Fax => "fax",
            PhiType::Email => "email",
            PhiType::Ssn => "ssn",
            PhiType::Mrn => "mrn",
            PhiType::HealthPlan => "health_plan",
            PhiType::Account => "account",
            PhiType::License => "license",
            PhiType::Vehicle => "vehicle",
            PhiType::Device => "device",
            PhiType::Url => "url",
            PhiType::Ip => "ip",
        }
    }
}

impl fmt::Display for PhiType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The style of a clinical note.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteType {
    /// A clinic (or emergency department) progress note.
    ProgressNote,
    /// A hospital discharge summary.
    DischargeSummary,
    /// A nursing shift note, terse and sometimes all capitals.
    NursingNote,
}

impl NoteType {
    /// LOINC document type code and display, for `DocumentReference.type`.
    pub fn loinc(self) -> (&'static str, &'static str) {
        match self {
            NoteType::ProgressNote => ("11506-3", "Progress note"),
            NoteType::DischargeSummary => ("18842-5", "Discharge summary"),
            NoteType::NursingNote => ("34746-8", "Nurse Note"),
        }
    }
}

/// One planted identifier: `text.chars().skip(start).take(end - start)` is
/// exactly `self.text`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoldSpan {
    /// Offset of the first character (Unicode scalar values, like Python).
    pub start: usize,
    /// Offset one past the last character.
    pub end: usize,
    /// What it is.
    #[serde(rename = "type")]
    pub kind: PhiType,
    /// The identifier as it appears in the note.
    pub text: String,
}

/// Offsets and type only: synthetic identifiers are still kept out of logs.
impl fmt::Debug for GoldSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GoldSpan({}..{} {})", self.start, self.end, self.kind)
    }
}

/// One annotated note, one line of `notes.jsonl`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoldNote {
    /// `patient-000001/note-1`.
    pub id: String,
    /// The patient number (1-based), so `phigate deid eval --split` works.
    pub patient: u64,
    /// `Patient/<Patient.id>`: the FHIR Patient of the bundle, so
    /// `phigate deid redact` gives the note the same date offset and
    /// surrogates as that patient's FHIR resources.
    pub subject: String,
    /// The note's style.
    pub note_type: NoteType,
    /// The note text.
    pub text: String,
    /// Every planted identifier, in text order, non-overlapping.
    pub spans: Vec<GoldSpan>,
}

/// Id, type and sizes only: the text and the identifiers stay out of logs.
impl fmt::Debug for GoldNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoldNote")
            .field("id", &self.id)
            .field("note_type", &self.note_type)
            .field("chars", &self.text.chars().count())
            .field("spans", &self.spans.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn type_names_round_trip_through_serde() {
        for t in PhiType::ALL {
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
            assert_eq!(serde_json::from_str::<PhiType>(&json).unwrap(), t);
        }
    }

    #[test]
    fn debug_never_shows_text() {
        let note = GoldNote {
            id: "p/n".into(),
            patient: 1,
            subject: "Patient/p".into(),
            note_type: NoteType::NursingNote,
            text: "Seen by Okafor".into(),
            spans: vec![GoldSpan { start: 8, end: 14, kind: PhiType::ClinicianName, text: "Okafor".into() }],
        };
        let shown = format!("{note:?} {:?}", note.spans);
        assert!(!shown.contains("Okafor"), "{shown}");
    }
}
