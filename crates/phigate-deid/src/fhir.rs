//! FHIR R4 de-identification: resources, Bundles and Bulk Data NDJSON,
//! element by element under a declarative policy, with the same per-patient
//! surrogates, pseudonyms and date offset as the patient's notes.
//!
//! Everything works on [`serde_json::Value`], so any resource type is
//! handled; the few elements read for meaning (a Patient's names and
//! identifiers, a resource's subject) have small typed models.
//!
//! # Policy format
//! ```toml
//! name = "research"
//! base = "safe-harbor"   # optional: start from a built-in and override
//! default = "text"       # strings no rule names: text (default) | redact | remove
//! dates = "date-shift"   # every date/dateTime/instant: date-shift | generalize | keep | remove
//! ages = "generalize"    # ages > 89 and birth dates implying them: generalize | keep
//!
//! [rules]
//! "Patient.name" = "surrogate:NAME"
//! "Patient.birthDate" = "generalize"
//! "**.identifier.value" = "pseudonym"
//! "Patient.address.postalCode" = "generalize:ZIP"
//! "DocumentReference.content.attachment.data" = "text"
//! "**.telecom" = "remove"
//! ```
//! A rule path is the resource type and element names joined by `.`
//! (arrays are transparent, choice elements use their JSON name such as
//! `effectiveDateTime`); `*` stands for one name, `**` for any number. A
//! contained or Bundle-entry resource starts a new path at its own type. A
//! rule on a complex element applies to the content strings beneath it, not
//! to its structural parts (`Patient.name` surrogates `family` and `given`,
//! not `use` or `period`); a rule naming an element itself beats an inherited
//! one, and among rules naming the same element the one with more literal
//! names wins. Operators: `keep`, `remove`, `redact`, `mask`, `surrogate`,
//! `pseudonym`, `date-shift`, `generalize` (the text operators, applied to
//! the whole value) and `text` (the free-text engine: strings as they are,
//! `div` as XHTML narrative, attachment `data` decoded from base64, checked
//! and re-encoded; binary attachments are dropped). `:KIND` names the
//! identifier kind (`NAME`, `MRN`, `ZIP`, …); without it the kind is inferred
//! (identifier type `MR` → MRN, `telecom` system, address part, names).
//!
//! # Fail closed, and what is kept
//! Without a rule, these structural values keep their meaning:
//! - `id` and every reference (`reference`, `fullUrl`, Bundle request and
//!   response URLs, `urn:uuid:`, `#contained`) are pseudonymized by one keyed
//!   function, so references still resolve (see [`DEID_BASE`] for absolute
//!   URLs); a reference of no known shape becomes `[REDACTED]`;
//! - every valid FHIR date, dateTime and instant (and year or year-month
//!   values of date elements) follows `dates`: shifted by the patient's
//!   offset with its precision, time and zone kept, so intervals survive
//!   exactly;
//! - codes stay: `system`, `code`, `unit`, `version`, `status`, `use` and
//!   similar `code`-typed elements, `display` of a Coding, extension `url`;
//!   numbers and booleans stay (quantities, ranks).
//!
//! **Every other string no rule names goes through the free-text engine**
//! (or is redacted or removed if `default` says so; keeping it is not
//! offered). An element this module has never heard of therefore cannot
//! leak an identifier the text engine can find, and the patient's own names,
//! MRN, phone and address are always findable because they are fed to the
//! engine first (below).
//!
//! Under `ages = "generalize"` a `birthDate` implying an age over 89 at the
//! reference date (or at death) becomes the year that makes the patient 90,
//! the same for everyone over 89; `Age` elements and year-valued quantities
//! over 89 become `>= 90`.
//!
//! # Patients
//! Each resource belongs to the patient it is about: a Patient to itself,
//! others to their `subject`, `patient`, `beneficiary` or `for` reference
//! (`Patient/x`, or a `urn:uuid:` resolved through the Bundle's `fullUrl`s).
//! [`PatientContexts`] holds one [`PatientContext`] per patient id, which the
//! caller can reuse for the patient's notes:
//!
//! ```
//! # use phigate_deid::{Deidentifier, Detector, Policy, fhir::{FhirDeidentifier, FhirPolicy, PatientContexts}};
//! let fhir = FhirDeidentifier::new(Deidentifier::new(Detector::new(), Policy::safe_harbor()), FhirPolicy::safe_harbor());
//! let mut patients = PatientContexts::new();
//! let mut patient = serde_json::json!({"resourceType": "Patient", "id": "p1", "name": [{"family": "Okonkwo"}]});
//! fhir.deidentify(&mut patient, &mut patients)?;
//! let note = fhir.deidentifier().deidentify("Okonkwo seen today", patients.get_mut("p1"))?;
//! assert!(!note.contains("Okonkwo"));
//! # Ok::<(), phigate_deid::Error>(())
//! ```
//!
//! In a Bundle, Patient entries are read first so their identifiers are
//! known before any other entry (and the Patient's own narrative) is
//! processed; resources that name no patient use the Bundle's only patient,
//! or a shared context when there are several. For NDJSON see
//! [`FhirDeidentifier::deidentify_ndjson`].
//!
//! # Keys
//! Ids, references and `pseudonym` values are keyed with the
//! [`Deidentifier`]'s pseudonym key. Without one, a random key is drawn for
//! the life of the [`FhirDeidentifier`]: references still resolve within the
//! output, but nothing links to another run, which is the safer direction.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};

use serde_json::Value;
use time::{Date, OffsetDateTime};

use crate::operators::{Deidentifier, PatientContext, PseudonymKey};
use crate::{Error, Result};

mod builtin;
mod date;
mod narrative;
mod ndjson;
mod patient;
pub mod policy;
mod reference;

pub(crate) use reference::patient_id;
mod walk;

pub use policy::{DateOp, FhirPolicy, FieldOp, FieldRule, RawFhirPolicy, Unlisted};
pub use reference::DEID_BASE;

/// Context key of resources that name no patient (FHIR ids cannot start with `$`).
pub const UNASSIGNED: &str = "$unassigned";

/// One [`PatientContext`] per patient id, created on first use.
#[derive(Default)]
pub struct PatientContexts {
    map: HashMap<String, PatientContext>,
    learned: HashSet<String>,
}

impl std::fmt::Debug for PatientContexts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatientContexts").field("patients", &self.map.len()).finish_non_exhaustive()
    }
}

impl PatientContexts {
    /// No patients yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The context of `patient_id` (a FHIR Patient id), created if new.
    pub fn get_mut(&mut self, patient_id: &str) -> &mut PatientContext {
        self.map.entry(patient_id.to_owned()).or_insert_with(|| PatientContext::new(patient_id))
    }

    /// Uses `context` for `patient_id` (a fixed date shift, known identifiers
    /// from elsewhere), replacing any context it had.
    pub fn insert(&mut self, patient_id: &str, context: PatientContext) {
        // The new context has not seen the Patient resource yet.
        self.learned.remove(patient_id);
        self.map.insert(patient_id.to_owned(), context);
    }

    /// The keyed pseudonyms every patient's context handed out since the
    /// last call, for the caller's token vault.
    pub fn take_pseudonyms(&mut self) -> Vec<crate::IssuedPseudonym> {
        self.map.values_mut().flat_map(PatientContext::take_pseudonyms).collect()
    }

    /// Number of patients seen.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True before the first patient.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// De-identifies FHIR resources with a text [`Deidentifier`] and a [`FhirPolicy`].
pub struct FhirDeidentifier {
    deid: Deidentifier,
    policy: FhirPolicy,
    reference_date: Date,
    random_key: bool,
}

impl std::fmt::Debug for FhirDeidentifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FhirDeidentifier").field("policy", &self.policy.name()).finish_non_exhaustive()
    }
}

impl FhirDeidentifier {
    /// A FHIR de-identifier; draws a random pseudonym key if `deid` has none.
    /// The reference date for the over-89 rule is today (UTC).
    pub fn new(deid: Deidentifier, policy: FhirPolicy) -> Self {
        let random_key = deid.key().is_none();
        let deid = if random_key { deid.with_key(random_key_bytes()) } else { deid };
        Self { deid, policy, reference_date: OffsetDateTime::now_utc().date(), random_key }
    }

    /// Ages are judged on `date` instead of today (reproducible output).
    pub fn with_reference_date(mut self, date: Date) -> Self {
        self.reference_date = date;
        self
    }

    /// The text engine, for the patients' notes.
    pub fn deidentifier(&self) -> &Deidentifier {
        &self.deid
    }

    /// The FHIR policy.
    pub fn policy(&self) -> &FhirPolicy {
        &self.policy
    }

    /// True when no key was supplied and pseudonyms hold for this run only.
    pub fn has_random_key(&self) -> bool {
        self.random_key
    }

    /// The pseudonym of a resource id, as it appears in the output.
    pub fn pseudonymize_id(&self, id: &str) -> String {
        reference::pseudo_id(self.key(), id)
    }

    pub(crate) fn key(&self) -> &PseudonymKey {
        // Invariant: `new` installs a key when the Deidentifier had none.
        self.deid.key().expect("FhirDeidentifier always has a key")
    }

    /// Feeds a Patient resource's identifiers to its patient's context (once per patient).
    pub fn learn_patient(&self, patient_id: &str, patient: &Value, patients: &mut PatientContexts) {
        if patients.learned.insert(patient_id.to_owned()) {
            patients.get_mut(patient_id).add_known(|k| patient::learn(patient, k));
        }
    }

    /// De-identifies one resource with an explicit context (no grouping);
    /// returns the number of values replaced or removed.
    pub fn deidentify_with(&self, resource: &mut Value, patient: &mut PatientContext) -> Result<u64> {
        let ty = resource_type(resource, "$")?;
        let mut w = walk::Walker::new(self, patient, ty);
        w.resource(resource)?;
        Ok(w.changed)
    }

    /// De-identifies a resource or a Bundle, each resource with its
    /// patient's context; returns the number of values replaced or removed.
    pub fn deidentify(&self, resource: &mut Value, patients: &mut PatientContexts) -> Result<u64> {
        let ty = resource_type(resource, "$")?;
        if ty == "Bundle" {
            return self.bundle(resource, patients, ty);
        }
        let key = if ty == "Patient" {
            let key = resource.get("id").and_then(Value::as_str).unwrap_or(UNASSIGNED).to_owned();
            self.learn_patient(&key, resource, patients);
            key
        } else {
            patient::subject_reference(resource)
                .and_then(|r| patient::patient_key(r, |_| None))
                .unwrap_or(UNASSIGNED)
                .to_owned()
        };
        let mut w = walk::Walker::new(self, patients.get_mut(&key), ty);
        w.resource(resource)?;
        Ok(w.changed)
    }

    fn bundle(&self, bundle: &mut Value, patients: &mut PatientContexts, at: String) -> Result<u64> {
        let mut urls: HashMap<String, String> = HashMap::new();
        let mut keys: Vec<Option<String>> = Vec::new();
        let empty = Vec::new();
        let entries = bundle.get("entry").and_then(Value::as_array).unwrap_or(&empty);
        for (i, e) in entries.iter().enumerate() {
            let r = e.get("resource");
            let key = if r.and_then(|r| r.get("resourceType")).and_then(Value::as_str) == Some("Patient") {
                let full_url = e.get("fullUrl").and_then(Value::as_str);
                let id = r.and_then(|r| r.get("id")).and_then(Value::as_str);
                let key = id.or(full_url).map_or_else(|| format!("$entry-{i}"), str::to_owned);
                if let Some(u) = full_url {
                    urls.insert(u.to_owned(), key.clone());
                }
                if let Some(r) = r {
                    self.learn_patient(&key, r, patients);
                }
                Some(key)
            } else {
                None
            };
            keys.push(key);
        }
        let distinct: HashSet<&String> = keys.iter().flatten().collect();
        let default = match distinct.into_iter().collect::<Vec<_>>().as_slice() {
            [only] => (*only).clone(),
            _ => UNASSIGNED.to_owned(),
        };
        let mut changed = 0;
        if let Some(entries) = bundle.get_mut("entry").and_then(Value::as_array_mut) {
            for (i, e) in entries.iter_mut().enumerate() {
                let Some(r) = e.get_mut("resource") else { continue };
                let here = format!("{at}.entry[{i}].resource");
                if r.get("resourceType").and_then(Value::as_str) == Some("Bundle") {
                    changed += self.bundle(r, patients, here)?;
                    continue;
                }
                let key = match keys.get(i).cloned().flatten() {
                    Some(k) => k,
                    None => patient::subject_reference(r)
                        .and_then(|s| patient::patient_key(s, |u| urls.get(u).map(String::as_str)))
                        .map_or_else(|| default.clone(), str::to_owned),
                };
                let mut w = walk::Walker::new(self, patients.get_mut(&key), here);
                w.resource(r)?;
                changed += w.changed;
            }
        }
        let mut w = walk::Walker::new(self, patients.get_mut(&default), at).bundle_shell();
        w.resource(bundle)?;
        Ok(changed + w.changed)
    }
}

fn resource_type(resource: &Value, at: &str) -> Result<String> {
    match resource.get("resourceType") {
        Some(Value::String(t)) => Ok(t.clone()),
        _ => Err(Error::Fhir { line: None, path: at.to_owned(), reason: "not a FHIR resource (no resourceType)" }),
    }
}

/// A key for this process only, from the standard library's randomly seeded
/// SipHash keys (the same source [`PatientContext`] uses without a key).
fn random_key_bytes() -> PseudonymKey {
    let mut out = Vec::with_capacity(32);
    for i in 0..4u8 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u8(i);
        out.extend_from_slice(&h.finish().to_le_bytes());
    }
    PseudonymKey::new(out)
}
