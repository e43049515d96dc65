//! FHIR de-identification end to end on a realistic synthetic Bundle: the
//! output is still FHIR, no source identifier survives anywhere (including
//! the base64 note), clinical content and intervals are intact, and a patient
//! keeps one set of surrogates across resources and notes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashSet};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use phigate_deid::fhir::{FhirDeidentifier, FhirPolicy, PatientContexts};
use phigate_deid::jsonl::ReadOptions;
use phigate_deid::operators::PseudonymKey;
use phigate_deid::{Deidentifier, Detector, Policy};
use proptest::prelude::*;
use regex::Regex;
use serde_json::{Value, json};
use time::macros::date;

const NOTE: &str = "Progress note for Marisol Ferndale (MRN 448812), DOB 02/11/1958. Admitted 03/14/2024 with \
hyperglycemia. Lives at 12 Quarry Lane, Elkton MD 21921; phone 410-555-0142; e-mail marisol.ferndale@example.com. \
Husband Teodoro Ferndale at bedside. Seen by Dr. Harriet Quillfeather. Discharge planned 03/18/2024. HbA1c 8.2%, \
metformin 500 mg started.";

/// Every identifier of the fixture, as it appears in the source.
const IDENTIFIERS: &[&str] = &[
    "82301",
    "Rawlins",
    "Marisol",
    "Quintana",
    "Ferndale",
    "Teodoro",
    "Harriet",
    "Quillfeather",
    "448812",
    "402-19-8877",
    "410-555-0142",
    "410-555-0177",
    "marisol.ferndale",
    "Quarry",
    "Elkton",
    "Cecil",
    "21921",
    "1234567893",
    "1958-02-11",
    "02/11/1958",
    "2024-03-14",
    "03/14/2024",
    "2024-03-15",
    "2024-03-18",
    "03/18/2024",
    "2019-06-02",
];

fn coding(system: &str, code: &str, display: &str) -> Value {
    json!({"coding": [{"system": system, "code": code, "display": display}], "text": display})
}

const LOINC: &str = "http://loinc.org";
const SNOMED: &str = "http://snomed.info/sct";
const UCUM: &str = "http://unitsofmeasure.org";

fn resources() -> Vec<Value> {
    let subject = json!({"reference": "Patient/pat-1", "display": "Marisol Ferndale"});
    let doctor = json!({"reference": "Practitioner/prac-1", "display": "Dr. Harriet Quillfeather"});
    vec![
        json!({"resourceType": "Patient", "id": "pat-1",
            "meta": {"lastUpdated": "2024-03-18T16:00:00Z"},
            "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Marisol Quintana \
                Ferndale, MRN 448812, phone <b>410-555-0142</b></p></div>"},
            "identifier": [
                {"use": "usual", "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
                 "system": "http://elkton-memorial.example/mrn", "value": "448812"},
                {"system": "http://hl7.org/fhir/sid/us-ssn", "value": "402-19-8877"}],
            "name": [{"use": "official", "family": "Ferndale", "given": ["Marisol", "Quintana"], "prefix": ["Mrs."],
                      "period": {"start": "1980-06-21"}}],
            "telecom": [{"system": "phone", "value": "410-555-0142", "use": "home"},
                        {"system": "email", "value": "marisol.ferndale@example.com"}],
            "gender": "female", "birthDate": "1958-02-11",
            "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace",
                           "valueAddress": {"city": "Rawlins", "state": "WY", "postalCode": "82301"}}],
            "address": [{"use": "home", "line": ["12 Quarry Lane"], "city": "Elkton", "district": "Cecil",
                         "state": "MD", "postalCode": "21921", "country": "US"}],
            "contact": [{"relationship": [coding("http://terminology.hl7.org/CodeSystem/v2-0131", "N", "Next-of-Kin")],
                         "name": {"text": "Teodoro Ferndale"}, "telecom": [{"system": "phone", "value": "410-555-0177"}]}],
            "photo": [{"contentType": "image/jpeg", "data": "/9j/4AAQSkZJRg=="}],
            "generalPractitioner": [doctor.clone()]}),
        json!({"resourceType": "Practitioner", "id": "prac-1",
            "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}],
            "name": [{"family": "Quillfeather", "given": ["Harriet"], "prefix": ["Dr."]}]}),
        json!({"resourceType": "Encounter", "id": "enc-1", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP", "display": "inpatient encounter"},
            "subject": subject, "participant": [{"individual": doctor}],
            "period": {"start": "2024-03-14T08:30:00-05:00", "end": "2024-03-18T14:05:00-05:00"},
            "serviceProvider": {"display": "Elkton Memorial Hospital"}}),
        json!({"resourceType": "Condition", "id": "cond-1", "subject": subject,
            "encounter": {"reference": "Encounter/enc-1"},
            "code": coding(SNOMED, "44054006", "Diabetes mellitus type 2"),
            "onsetDateTime": "2019-06-02", "recordedDate": "2024-03-14",
            "note": [{"text": "Marisol reports polyuria since 2019-06-02; call 410-555-0142."}]}),
        json!({"resourceType": "Observation", "id": "obs-1", "status": "final", "subject": subject,
            "code": coding(LOINC, "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood"),
            "effectiveDateTime": "2024-03-14T09:10:00-05:00", "issued": "2024-03-14T11:00:00.000-05:00",
            "valueQuantity": {"value": 8.2, "unit": "%", "system": UCUM, "code": "%"},
            "performer": [doctor]}),
        json!({"resourceType": "Observation", "id": "obs-2", "status": "final", "subject": subject,
            "code": coding(LOINC, "2345-7", "Glucose [Mass/volume] in Serum or Plasma"),
            "effectiveDateTime": "2024-03-15T06:00:00-05:00",
            "valueQuantity": {"value": 182, "unit": "mg/dL", "system": UCUM, "code": "mg/dL"}}),
        json!({"resourceType": "MedicationRequest", "id": "mr-1", "status": "active", "intent": "order", "subject": subject,
            "medicationCodeableConcept": coding("http://www.nlm.nih.gov/research/umls/rxnorm", "860975", "metformin 500 MG Oral Tablet"),
            "authoredOn": "2024-03-18", "requester": doctor,
            "dosageInstruction": [{"text": "Take 1 tablet by mouth twice daily"}]}),
        json!({"resourceType": "Procedure", "id": "proc-1", "status": "completed", "subject": subject,
            "code": coding(SNOMED, "33747003", "Glucose measurement, blood"),
            "performedDateTime": "2024-03-15T10:00:00-05:00", "performer": [{"actor": doctor}]}),
        json!({"resourceType": "DiagnosticReport", "id": "dr-1", "status": "final", "subject": subject,
            "code": coding(LOINC, "4548-4", "Hemoglobin A1c"), "effectiveDateTime": "2024-03-14T09:10:00-05:00",
            "result": [{"reference": "Observation/obs-1"}],
            "conclusion": "HbA1c elevated for Marisol Ferndale (MRN 448812); discussed with Dr. Quillfeather on 03/15/2024."}),
        json!({"resourceType": "DocumentReference", "id": "doc-1", "status": "current", "subject": subject,
            "type": coding(LOINC, "11506-3", "Progress note"), "date": "2024-03-18T15:00:00-05:00",
            "author": [doctor],
            "content": [{"attachment": {"contentType": "text/plain", "data": STANDARD.encode(NOTE), "size": NOTE.len(),
                                        "hash": "2jmj7l5rSw0yVb/vlWAYkK/YBwk="}}],
            "context": {"encounter": [{"reference": "Encounter/enc-1"}],
                        "period": {"start": "2024-03-14T08:30:00-05:00", "end": "2024-03-18T14:05:00-05:00"}}}),
    ]
}

fn bundle() -> Value {
    let entries: Vec<Value> = resources()
        .into_iter()
        .map(|r| {
            let url = format!(
                "https://fhir.elkton-memorial.example/{}/{}",
                r["resourceType"].as_str().unwrap(),
                r["id"].as_str().unwrap()
            );
            json!({"fullUrl": url, "resource": r})
        })
        .collect();
    json!({"resourceType": "Bundle", "id": "b-1", "type": "collection", "timestamp": "2024-03-18T16:00:00Z", "entry": entries})
}

fn key() -> PseudonymKey {
    PseudonymKey::new(b"a fixed test key, 32 bytes long!".to_vec())
}

fn engine(text: Policy, fhir: FhirPolicy) -> FhirDeidentifier {
    FhirDeidentifier::new(Deidentifier::new(Detector::new(), text).with_key(key()), fhir)
        .with_reference_date(date!(2026 - 01 - 01))
}

/// Text surrogates for names, pseudonyms for MRNs, shifted dates: a research set-up.
fn research() -> Policy {
    Policy::from_toml("default = \"redact\"\n[operators]\nNAME = \"surrogate\"\nMRN = \"pseudonym\"\nDATE = \"date-shift\"\nAGE = \"generalize\"").unwrap()
}

fn run(text: Policy, fhir: FhirPolicy) -> (Value, PatientContexts, FhirDeidentifier) {
    let f = engine(text, fhir);
    let mut patients = PatientContexts::new();
    let mut b = bundle();
    f.deidentify(&mut b, &mut patients).unwrap();
    (b, patients, f)
}

/// Every string leaf with its JSON pointer and key.
fn strings(v: &Value, at: String, out: &mut Vec<(String, String, String)>) {
    match v {
        Value::Object(m) => m.iter().for_each(|(k, c)| {
            if let Value::String(s) = c {
                out.push((format!("{at}/{k}"), k.clone(), s.clone()));
            }
            strings(c, format!("{at}/{k}"), out);
        }),
        Value::Array(a) => a.iter().enumerate().for_each(|(i, c)| {
            if let Value::String(s) = c {
                out.push((format!("{at}/{i}"), String::new(), s.clone()));
            }
            strings(c, format!("{at}/{i}"), out);
        }),
        _ => {}
    }
}

fn all_strings(v: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    strings(v, String::new(), &mut out);
    out
}

/// The output serialized, plus every attachment decoded.
fn searchable(v: &Value) -> String {
    let mut text = v.to_string();
    for (_, k, s) in all_strings(v) {
        if k == "data" {
            text.push_str(&String::from_utf8_lossy(&STANDARD.decode(s).unwrap()));
        }
    }
    text
}

const DATE_KEYS: &[&str] = &[
    "birthDate",
    "start",
    "end",
    "onsetDateTime",
    "recordedDate",
    "effectiveDateTime",
    "issued",
    "authoredOn",
    "performedDateTime",
    "date",
    "lastUpdated",
    "timestamp",
];

fn fhir_date_time() -> Regex {
    Regex::new(r"^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$").unwrap()
}

#[test]
fn output_is_valid_fhir() {
    let (out, _, _) = run(Policy::safe_harbor(), FhirPolicy::safe_harbor());
    let entries = out["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 10);
    let id_shape = Regex::new(r"^[A-Za-z0-9\-\.]{1,64}$").unwrap();
    for (e, original) in entries.iter().zip(resources()) {
        let r = &e["resource"];
        assert_eq!(r["resourceType"], original["resourceType"]);
        let id = r["id"].as_str().unwrap();
        assert!(id_shape.is_match(id) && id != original["id"]);
    }
    let re = fhir_date_time();
    let dates: Vec<_> = all_strings(&out).into_iter().filter(|(_, k, _)| DATE_KEYS.contains(&k.as_str())).collect();
    assert!(dates.len() >= 15, "{dates:?}");
    for (at, _, v) in dates {
        assert!(re.is_match(&v), "{at} = {v}");
    }
    let reparsed: Value = serde_json::from_str(&serde_json::to_string_pretty(&out).unwrap()).unwrap();
    assert_eq!(reparsed, out);
}

#[test]
fn no_identifier_survives_anywhere() {
    for text in [Policy::safe_harbor(), research()] {
        let (out, _, _) = run(text, FhirPolicy::safe_harbor());
        let all = searchable(&out);
        // Identifier systems are kept (they name the assigner, not the
        // patient); server bases are not.
        for phi in IDENTIFIERS.iter().chain(&["pat-1", "prac-1", "fhir.elkton-memorial"]) {
            assert!(!all.contains(phi), "{phi} survived");
        }
        let note = all_strings(&out).into_iter().find(|(_, k, _)| k == "data").unwrap().2;
        let note = String::from_utf8(STANDARD.decode(note).unwrap()).unwrap();
        assert!(note.contains("HbA1c 8.2%, metformin 500 mg started"), "{note}");
        let patient = &out["entry"][0]["resource"];
        assert!(patient.get("telecom").is_none() && patient.get("photo").is_none());
        assert_eq!(patient["address"][0]["state"], "MD");
        assert_eq!(patient["address"][0]["postalCode"], "219");
        // An Address outside "address" (birthPlace): 823 is a restricted area.
        assert_eq!(patient["extension"][0]["valueAddress"]["postalCode"], "000");
        assert_eq!(patient["extension"][0]["valueAddress"]["state"], "WY");
        assert_eq!(patient["name"][0]["prefix"][0], "Mrs.");
        let att = &out["entry"][9]["resource"]["content"][0]["attachment"];
        assert!(att.get("hash").is_none());
        assert_eq!(att["size"].as_u64().unwrap() as usize, note.len());
    }
}

#[test]
fn clinical_codes_and_quantities_are_unchanged() {
    let (out, _, _) = run(Policy::safe_harbor(), FhirPolicy::safe_harbor());
    let keep = |v: &Value| -> BTreeMap<String, String> {
        all_strings(v)
            .into_iter()
            .filter(|(at, _, _)| at.contains("/coding/") || at.contains("/valueQuantity/"))
            .map(|(at, _, s)| (at, s))
            .collect()
    };
    let before = keep(&bundle());
    assert!(before.len() > 30);
    assert_eq!(keep(&out), before);
    for i in [4, 5] {
        assert_eq!(out["entry"][i]["resource"]["valueQuantity"], bundle()["entry"][i]["resource"]["valueQuantity"]);
        assert_eq!(out["entry"][i]["resource"]["status"], "final");
    }
}

/// Seconds since 1970 of a FHIR date (midnight UTC) or dateTime.
fn seconds(v: &str) -> i64 {
    if v.len() == 10 {
        let d = time::Date::parse(v, &time::format_description::well_known::Iso8601::DATE).unwrap();
        return d.midnight().assume_utc().unix_timestamp();
    }
    time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339).unwrap().unix_timestamp()
}

#[test]
fn intervals_between_dates_are_kept() {
    let (out, _, _) = run(Policy::safe_harbor(), FhirPolicy::safe_harbor());
    let before: BTreeMap<String, String> = all_strings(&bundle())
        .into_iter()
        .filter(|(_, k, v)| DATE_KEYS.contains(&k.as_str()) && v.len() >= 10)
        .map(|(at, _, v)| (at, v))
        .collect();
    let after: BTreeMap<String, String> = all_strings(&out).into_iter().map(|(at, _, v)| (at, v)).collect();
    let pairs: Vec<(i64, i64)> = before.iter().map(|(at, v)| (seconds(v), seconds(&after[at]))).collect();
    assert!(pairs.len() >= 15);
    let shift = pairs[0].1 - pairs[0].0;
    assert!(shift < 0 && shift % 86_400 == 0, "whole days into the past");
    for (b, a) in &pairs {
        assert_eq!(a - b, shift, "every date of the patient moves by the same offset");
    }
}

#[test]
fn one_patient_one_set_of_surrogates_and_pseudonyms() {
    let (out, mut patients, f) = run(research(), FhirPolicy::safe_harbor());
    let name = &out["entry"][0]["resource"]["name"][0];
    let (given, family) = (name["given"][0].as_str().unwrap(), name["family"].as_str().unwrap());
    let full = format!("{given} {family}");
    assert_ne!(family, "Ferndale");
    for i in 2..10 {
        assert_eq!(out["entry"][i]["resource"]["subject"]["display"], full, "entry {i}");
    }
    let mrn = out["entry"][0]["resource"]["identifier"][0]["value"].as_str().unwrap();
    assert!(mrn.starts_with("[MRN-"), "{mrn}");
    let data = out["entry"][9]["resource"]["content"][0]["attachment"]["data"].as_str().unwrap();
    let note = String::from_utf8(STANDARD.decode(data).unwrap()).unwrap();
    assert!(note.contains(&full) && note.contains(mrn), "{note}");
    assert!(out["entry"][8]["resource"]["conclusion"].as_str().unwrap().contains(mrn));
    // The caller's own notes for the patient share the context.
    let later =
        f.deidentifier().deidentify("Ferndale, Marisol returned; MRN 448812.", patients.get_mut("pat-1")).unwrap();
    assert!(later.contains(family) && later.contains(given) && later.contains(mrn), "{later}");
}

#[test]
fn references_still_resolve() {
    let (out, _, _) = run(Policy::safe_harbor(), FhirPolicy::safe_harbor());
    let mut targets = HashSet::new();
    for e in out["entry"].as_array().unwrap() {
        let r = &e["resource"];
        let rel = format!("{}/{}", r["resourceType"].as_str().unwrap(), r["id"].as_str().unwrap());
        assert!(e["fullUrl"].as_str().unwrap().ends_with(&rel));
        targets.insert(rel);
    }
    let refs: Vec<String> = all_strings(&out).into_iter().filter(|(_, k, _)| k == "reference").map(|r| r.2).collect();
    assert!(refs.len() >= 15);
    for r in refs {
        assert!(targets.contains(&r), "{r} does not resolve");
    }
}

#[test]
fn limited_data_set_keeps_dates_and_places() {
    let (out, _, _) = run(Policy::limited_data_set(), FhirPolicy::limited_data_set());
    let p = &out["entry"][0]["resource"];
    assert_eq!(p["birthDate"], "1958-02-11");
    assert_eq!(p["address"][0]["city"], "Elkton");
    assert_eq!(p["address"][0]["state"], "MD");
    assert_eq!(p["address"][0]["postalCode"], "21921");
    assert_eq!(out["entry"][2]["resource"]["period"], bundle()["entry"][2]["resource"]["period"]);
    let all = searchable(&out);
    for phi in ["Marisol", "Ferndale", "448812", "410-555-0142", "Quarry", "marisol.ferndale"] {
        assert!(!all.contains(phi), "{phi} survived");
    }
}

#[test]
fn ndjson_gives_the_same_result_as_the_bundle() {
    let (out, _, _) = run(research(), FhirPolicy::safe_harbor());
    let ndjson: String = resources().iter().map(|r| format!("{r}\n")).collect();
    let f = engine(research(), FhirPolicy::safe_harbor());
    let mut lines = Vec::new();
    let s = f
        .deidentify_ndjson(ndjson.as_bytes(), &mut lines, &mut PatientContexts::new(), ReadOptions::default(), |_| {})
        .unwrap();
    assert_eq!(s.records, 10);
    let lines: Vec<Value> =
        String::from_utf8(lines).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    for (i, line) in lines.iter().enumerate() {
        if line["resourceType"] == "Practitioner" {
            // In the Bundle it shares its only patient's context; in NDJSON
            // it names no patient. Its references and ids still agree.
            assert_eq!(line["id"], out["entry"][i]["resource"]["id"]);
            continue;
        }
        assert_eq!(*line, out["entry"][i]["resource"], "resource {i}");
    }
}

#[test]
fn a_hundred_resources_take_milliseconds() {
    let f = engine(Policy::safe_harbor(), FhirPolicy::safe_harbor());
    let mut b = bundle();
    let entries = b["entry"].as_array().unwrap().clone();
    b["entry"] = Value::Array(entries.iter().cycle().take(100).cloned().collect());
    let mut patients = PatientContexts::new();
    f.deidentify(&mut bundle(), &mut patients).unwrap();
    let started = std::time::Instant::now();
    f.deidentify(&mut b, &mut patients).unwrap();
    let took = started.elapsed();
    println!("100-resource Bundle: {took:?}");
    assert!(took.as_secs_f64() < if cfg!(debug_assertions) { 5.0 } else { 0.5 }, "{took:?}");
}

fn objects(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            out.push(at.clone());
            m.iter().for_each(|(k, c)| objects(c, format!("{at}/{k}"), out));
        }
        Value::Array(a) => a.iter().enumerate().for_each(|(i, c)| objects(c, format!("{at}/{i}"), out)),
        _ => {}
    }
}

const SEEDED: &[&str] = &[
    "Marisol Ferndale",
    "Marisol",
    "Ferndale",
    "Quintana",
    "Teodoro Ferndale",
    "448812",
    "402-19-8877",
    "410-555-0142",
    "marisol.ferndale@example.com",
    "12 Quarry Lane",
    "Ferndale, Marisol",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Fail closed: an identifier put in a field no rule names does not survive.
    #[test]
    fn seeded_identifiers_in_unlisted_fields_never_survive(
        picks in prop::collection::vec((any::<prop::sample::Index>(), 0..SEEDED.len(), "[a-z]{1,10}", "[a-z ]{0,20}", "[a-z ]{0,20}"), 1..4),
    ) {
        let mut b = bundle();
        let mut targets = Vec::new();
        objects(&b, String::new(), &mut targets);
        let mut seeded = Vec::new();
        for (at, which, field, before, after) in picks {
            let pointer = at.get(&targets).clone();
            let value = format!("{} {} {}", before.trim(), SEEDED[which], after.trim());
            b.pointer_mut(&pointer).unwrap().as_object_mut().unwrap().insert(format!("zz{field}"), Value::String(value));
            seeded.push(SEEDED[which]);
        }
        let f = engine(Policy::safe_harbor(), FhirPolicy::safe_harbor());
        f.deidentify(&mut b, &mut PatientContexts::new()).unwrap();
        let all = searchable(&b);
        for s in seeded {
            prop_assert!(!all.contains(s), "{} survived", s);
        }
    }
}

/// The exhaustive companion of the property: every seeded identifier, in a
/// new field of every object of the Bundle, at once.
#[test]
fn every_object_position_fails_closed() {
    let mut targets = Vec::new();
    objects(&bundle(), String::new(), &mut targets);
    assert!(targets.len() > 60, "{}", targets.len());
    let f = engine(Policy::safe_harbor(), FhirPolicy::safe_harbor());
    for t in &targets {
        let mut b = bundle();
        let obj = b.pointer_mut(t).unwrap().as_object_mut().unwrap();
        for (i, s) in SEEDED.iter().enumerate() {
            obj.insert(format!("zz{i}"), Value::String(format!("seen at {s} today")));
        }
        f.deidentify(&mut b, &mut PatientContexts::new()).unwrap();
        let all = searchable(&b);
        for s in SEEDED {
            assert!(!all.contains(s), "{s} survived in a new field of {t}");
        }
    }
}
#[test]
fn ages_over_89_are_folded_into_90() {
    let f = engine(Policy::safe_harbor(), FhirPolicy::safe_harbor());
    let mut patients = PatientContexts::new();
    let mut old = json!({"resourceType": "Patient", "id": "old", "birthDate": "1931-05-20"});
    let mut young = json!({"resourceType": "Patient", "id": "young", "birthDate": "1940-05-20"});
    let mut dead =
        json!({"resourceType": "Patient", "id": "dead", "birthDate": "1920-01-09", "deceasedDateTime": "2012-07-01"});
    let mut obs = json!({"resourceType": "Observation", "id": "o", "subject": {"reference": "Patient/old"},
        "code": coding(LOINC, "30525-0", "Age"), "valueQuantity": {"value": 94, "unit": "years", "system": UCUM, "code": "a"}});
    for r in [&mut old, &mut young, &mut dead, &mut obs] {
        f.deidentify(r, &mut patients).unwrap();
    }
    // Reference date 2026-01-01: the birth year that makes everyone over 89 exactly 90.
    assert_eq!(old["birthDate"], "1936");
    assert_eq!(dead["birthDate"], "1922", "judged at death (2012)");
    assert_ne!(young["birthDate"], "1940-05-20");
    assert_eq!(young["birthDate"].as_str().unwrap().len(), 10, "85: shifted, not folded");
    assert_eq!(obs["valueQuantity"]["value"], 90);
    assert_eq!(obs["valueQuantity"]["comparator"], ">=");
}

#[test]
fn a_policy_file_overrides_its_base() {
    let policy = FhirPolicy::from_toml(
        "base = \"safe-harbor\"\ndates = \"generalize\"\n[rules]\n\"Patient.gender\" = \"remove\"\n\"**.identifier.value\" = \"redact\"\n",
    )
    .unwrap();
    let (out, _, _) = run(Policy::safe_harbor(), policy);
    let p = &out["entry"][0]["resource"];
    assert!(p.get("gender").is_none());
    assert_eq!(p["birthDate"], "1958");
    assert_eq!(p["identifier"][0]["value"], "[MRN]");
    assert_eq!(out["entry"][2]["resource"]["period"]["start"], "2024");
}

#[test]
fn urn_uuid_bundles_group_by_patient_and_resolve() {
    let (a, b) = ("0f6e4d3c-2b1a-4f9e-8d7c-6b5a4f3e2d1c", "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d");
    let patient = |uuid: &str, family: &str| json!({"fullUrl": format!("urn:uuid:{uuid}"), "resource": {"resourceType": "Patient", "id": uuid, "name": [{"family": family}]}});
    let obs = |uuid: &str, family: &str| {
        json!({"fullUrl": "urn:uuid:9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b", "resource": {"resourceType": "Observation", "status": "final",
            "subject": {"reference": format!("urn:uuid:{uuid}")}, "note": [{"text": format!("{} tolerated it", family.to_lowercase())}]}})
    };
    let mut bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        obs(a, "Zyqvarth"), obs(b, "Oxbelleck"), patient(a, "Zyqvarth"), patient(b, "Oxbelleck")]});
    let f = engine(Policy::safe_harbor(), FhirPolicy::safe_harbor());
    f.deidentify(&mut bundle, &mut PatientContexts::new()).unwrap();
    // Lower case in the notes: only the right patient's known identifiers find them.
    let text = bundle.to_string().to_lowercase();
    for phi in ["zyqvarth", "oxbelleck", a, b] {
        assert!(!text.contains(phi), "{phi} survived");
    }
    for (o, p) in [(0, 2), (1, 3)] {
        assert_eq!(bundle["entry"][o]["resource"]["subject"]["reference"], bundle["entry"][p]["fullUrl"]);
        assert_eq!(
            bundle["entry"][p]["fullUrl"],
            format!("urn:uuid:{}", bundle["entry"][p]["resource"]["id"].as_str().unwrap())
        );
    }
}
