//! FHIR R4 resources for a [`Record`], gathered into one `collection`
//! Bundle.
//!
//! References are relative (`Patient/<id>`) and every entry's `fullUrl` is
//! `BASE + Type/id`, so references resolve inside the Bundle and the same
//! resources stay valid one per line in Bulk Data NDJSON files.

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::clinical::{self, Value as Measured};
use crate::dates::{fhir_date, fhir_date_time};
use crate::gold::GoldNote;
use crate::person::Clinician;
use crate::record::{Class, Encounter, Record};
use crate::rng::Rng;

/// Base of every `fullUrl` (a reserved `.example` domain).
pub const BASE: &str = "https://fhir.phigate.example/";

const SNOMED: &str = "http://snomed.info/sct";
const LOINC: &str = "http://loinc.org";
const UCUM: &str = "http://unitsofmeasure.org";
const RXNORM: &str = "http://www.nlm.nih.gov/research/umls/rxnorm";
const ICD10CM: &str = "http://hl7.org/fhir/sid/icd-10-cm";

fn reference(kind: &str, id: &str) -> Value {
    json!({ "reference": format!("{kind}/{id}") })
}

fn coding(system: &str, code: &str, display: &str) -> Value {
    json!({ "system": system, "code": code, "display": display })
}

fn concept(system: &str, code: &str, display: &str) -> Value {
    json!({ "coding": [coding(system, code, display)], "text": display })
}

fn display_name(c: &Clinician) -> String {
    if c.is_doctor() {
        format!("Dr. {}", c.name.given_family())
    } else {
        format!("{}, {}", c.name.given_family(), c.credential)
    }
}

fn quantity(value: f64, ucum: &str) -> Value {
    json!({ "value": value, "unit": clinical::unit_as_written(ucum), "system": UCUM, "code": ucum })
}

/// A note paired with the encounter it was written at.
pub(crate) struct WrittenNote<'a> {
    pub(crate) encounter: usize,
    pub(crate) note: &'a GoldNote,
}

/// The Bundle of the whole record.
pub(crate) fn bundle(rng: &mut Rng, rec: &Record, notes: &[WrittenNote<'_>]) -> Value {
    let pid = rec.patient.id.clone();
    let mut resources = vec![patient(rec)];
    for e in &rec.encounters {
        resources.push(encounter(rec, e));
    }
    let first = rec.encounters.first();
    let first_id = first.map(|e| e.id.as_str()).unwrap_or_default();
    let mut condition_ids = Vec::new();
    for (c, onset) in rec.clinical.conditions.iter().zip(&rec.onsets) {
        let id = rng.uuid();
        let recorded = first.map_or(*onset, |e| e.start);
        resources.push(json!({
            "resourceType": "Condition",
            "id": id,
            "clinicalStatus": { "coding": [coding("http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active")] },
            "verificationStatus": { "coding": [coding("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "Confirmed")] },
            "category": [{ "coding": [coding("http://terminology.hl7.org/CodeSystem/condition-category", "problem-list-item", "Problem List Item")] }],
            "code": {
                "coding": [coding(SNOMED, c.snomed, c.snomed_display), coding(ICD10CM, c.icd10, c.icd10_display)],
                "text": c.snomed_display,
            },
            "subject": reference("Patient", &pid),
            "encounter": reference("Encounter", first_id),
            "onsetDateTime": fhir_date(*onset),
            "recordedDate": fhir_date(recorded),
        }));
        condition_ids.push(id);
    }
    for p in &rec.clinical.prescriptions {
        let e = first.map_or(Value::Null, |e| reference("Encounter", &e.id));
        let authored = first.map_or(String::new(), |e| fhir_date_time(e.start, e.start_minute + 20));
        let mut dosage = json!({
            "sequence": 1,
            "text": p.instruction(),
            "doseAndRate": [{ "doseQuantity": quantity(p.dose.0, p.dose.1) }],
        });
        if p.drug.per_day == 0 {
            dosage["asNeededBoolean"] = json!(true);
        } else {
            dosage["timing"] = json!({ "repeat": { "frequency": p.drug.per_day, "period": 1, "periodUnit": "d" } });
        }
        resources.push(json!({
            "resourceType": "MedicationRequest",
            "id": rng.uuid(),
            "status": "active",
            "intent": "order",
            "medicationCodeableConcept": {
                "coding": [coding(RXNORM, p.drug.rxnorm, p.drug.name)],
                "text": p.name_dose(false),
            },
            "subject": reference("Patient", &pid),
            "encounter": e,
            "authoredOn": authored,
            "requester": { "display": display_name(&rec.patient.pcp) },
            "reasonReference": [reference("Condition", condition_ids.get(p.for_condition).map_or("", |s| s.as_str()))],
            "dosageInstruction": [dosage],
        }));
    }
    for e in &rec.encounters {
        observations(rng, rec, e, &mut resources);
        if let Some(proc) = e.procedure {
            resources.push(json!({
                "resourceType": "Procedure",
                "id": rng.uuid(),
                "status": "completed",
                "code": concept(SNOMED, proc.snomed, proc.display),
                "subject": reference("Patient", &pid),
                "encounter": reference("Encounter", &e.id),
                "performedDateTime": fhir_date_time(e.start, e.start_minute + 30),
                "performer": [{ "actor": { "display": display_name(&rec.patient.attending) } }],
            }));
        }
    }
    for n in notes {
        let Some(e) = rec.encounters.get(n.encounter) else { continue };
        resources.push(document(rng, rec, e, n.note));
    }
    let entries: Vec<Value> = resources
        .into_iter()
        .map(|r| {
            let url = format!(
                "{BASE}{}/{}",
                r["resourceType"].as_str().unwrap_or_default(),
                r["id"].as_str().unwrap_or_default()
            );
            // Moved in: `json!` would deep-copy every resource.
            let mut entry = Map::new();
            entry.insert("fullUrl".to_owned(), Value::String(url));
            entry.insert("resource".to_owned(), r);
            Value::Object(entry)
        })
        .collect();
    let mut bundle = json!({ "resourceType": "Bundle", "id": rng.uuid(), "type": "collection" });
    bundle["entry"] = Value::Array(entries);
    bundle
}

fn patient(rec: &Record) -> Value {
    let p = &rec.patient;
    let mut given = vec![p.name.given.clone()];
    given.extend(p.name.middle.clone());
    let mut name = json!({ "use": "official", "family": p.name.family, "given": given });
    if let Some(s) = p.name.suffix {
        name["suffix"] = json!([s]);
    }
    let v2 = "http://terminology.hl7.org/CodeSystem/v2-0203";
    let rel = &p.relative;
    json!({
        "resourceType": "Patient",
        "id": p.id,
        "identifier": [
            {
                "use": "usual",
                "type": concept(v2, "MR", "Medical record number"),
                "system": format!("{BASE}sid/mrn"),
                "value": p.mrn,
            },
            {
                "type": concept(v2, "SS", "Social Security number"),
                "system": "http://hl7.org/fhir/sid/us-ssn",
                "value": p.ssn.join("-"),
            },
            {
                "type": concept(v2, "MB", "Member Number"),
                "system": format!("{BASE}sid/health-plan-member"),
                "value": p.member_id,
            },
        ],
        "name": [name],
        "telecom": [
            { "system": "phone", "value": p.home_phone.canonical(), "use": "home" },
            { "system": "phone", "value": p.cell_phone.canonical(), "use": "mobile" },
            { "system": "email", "value": p.email },
        ],
        "gender": p.sex.fhir(),
        "birthDate": fhir_date(p.birth),
        "address": [{
            "use": "home",
            "line": [p.address.line],
            "city": p.address.city.name,
            "state": p.address.city.state,
            "postalCode": p.address.zip,
            "country": "US",
        }],
        "maritalStatus": concept("http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", p.marital.0, p.marital.1),
        "contact": [{
            "relationship": [{
                "coding": [coding("http://terminology.hl7.org/CodeSystem/v2-0131", "N", "Next-of-Kin")],
                "text": rel.role,
            }],
            "name": { "family": rel.name.family, "given": [rel.name.given] },
            "telecom": [{ "system": "phone", "value": rel.phone.canonical(), "use": "mobile" }],
        }],
        "generalPractitioner": [{ "display": display_name(&p.pcp) }],
        "managingOrganization": { "display": p.hospital.name },
    })
}

fn encounter(rec: &Record, e: &Encounter) -> Value {
    let (class, class_display) = e.class.code();
    let (type_code, type_display) = e.class.snomed();
    let mut r = json!({
        "resourceType": "Encounter",
        "id": e.id,
        "status": "finished",
        "class": coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", class, class_display),
        "type": [concept(SNOMED, type_code, type_display)],
        "subject": reference("Patient", &rec.patient.id),
        "participant": [{ "individual": { "display": display_name(&rec.patient.attending) } }],
        "period": { "start": fhir_date_time(e.start, e.start_minute), "end": fhir_date_time(e.end, e.end_minute) },
        "serviceProvider": { "display": rec.patient.hospital.name },
    });
    if let Some(c) = rec.clinical.conditions.first() {
        r["reasonCode"] = json!([concept(SNOMED, c.snomed, c.snomed_display)]);
    }
    if e.class == Class::Inpatient {
        r["hospitalization"] = json!({ "dischargeDisposition": { "text": "Home" } });
    }
    r
}

fn observation(rng: &mut Rng, rec: &Record, e: &Encounter, v: &Measured, minute: u32) -> (String, Value) {
    let id = rng.uuid();
    let (cat, cat_display) =
        if v.measure.laboratory { ("laboratory", "Laboratory") } else { ("vital-signs", "Vital Signs") };
    let mut r = json!({
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "category": [{ "coding": [coding("http://terminology.hl7.org/CodeSystem/observation-category", cat, cat_display)] }],
        "code": { "coding": [coding(LOINC, v.measure.loinc, v.measure.display)], "text": v.measure.display },
        "subject": reference("Patient", &rec.patient.id),
        "encounter": reference("Encounter", &e.id),
        "effectiveDateTime": fhir_date_time(e.start, minute),
        "valueQuantity": quantity(v.value, v.measure.ucum),
    });
    if v.low.is_some() || v.high.is_some() {
        let mut range = json!({});
        if let Some(low) = v.low {
            range["low"] = quantity(low, v.measure.ucum);
        }
        if let Some(high) = v.high {
            range["high"] = quantity(high, v.measure.ucum);
        }
        r["referenceRange"] = json!([range]);
    }
    if let Some((code, display)) = v.interpretation() {
        r["interpretation"] = json!([{
            "coding": [coding("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", code, display)]
        }]);
    }
    (id, r)
}

fn observations(rng: &mut Rng, rec: &Record, e: &Encounter, out: &mut Vec<Value>) {
    for v in &e.vitals {
        let (_, r) = observation(rng, rec, e, v, e.start_minute + 5);
        out.push(r);
    }
    if e.labs.is_empty() {
        return;
    }
    let drawn = e.start_minute + 40;
    let mut results = Vec::new();
    for v in &e.labs {
        let (id, r) = observation(rng, rec, e, v, drawn);
        results.push(reference("Observation", &id));
        out.push(r);
    }
    out.push(json!({
        "resourceType": "DiagnosticReport",
        "id": rng.uuid(),
        "status": "final",
        "category": [{ "coding": [coding("http://terminology.hl7.org/CodeSystem/v2-0074", "LAB", "Laboratory")] }],
        "code": concept(LOINC, "11502-2", "Laboratory report"),
        "subject": reference("Patient", &rec.patient.id),
        "encounter": reference("Encounter", &e.id),
        "effectiveDateTime": fhir_date_time(e.start, drawn),
        "issued": fhir_date_time(e.start, drawn + 95),
        "result": results,
        "conclusion": conclusion(&e.labs),
    }));
}

/// A one-line reading of a panel: what is out of range.
pub(crate) fn conclusion(labs: &[Measured]) -> String {
    let abnormal: Vec<String> = labs
        .iter()
        .filter_map(|v| match v.interpretation() {
            Some(("H", _)) => Some(format!("{} high at {}", v.measure.short, v.formatted())),
            Some(("L", _)) => Some(format!("{} low at {}", v.measure.short, v.formatted())),
            _ => None,
        })
        .collect();
    if abnormal.is_empty() {
        "All results within reference ranges.".to_owned()
    } else {
        format!("Abnormal: {}. Remaining results within reference ranges.", abnormal.join("; "))
    }
}

fn document(rng: &mut Rng, rec: &Record, e: &Encounter, note: &GoldNote) -> Value {
    let (code, display) = note.note_type.loinc();
    let author = match note.note_type {
        crate::gold::NoteType::NursingNote => &rec.patient.nurse,
        _ => &rec.patient.attending,
    };
    json!({
        "resourceType": "DocumentReference",
        "id": rng.uuid(),
        "status": "current",
        "docStatus": "final",
        "type": concept(LOINC, code, display),
        "category": [{
            "coding": [coding("http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category", "clinical-note", "Clinical Note")]
        }],
        "subject": reference("Patient", &rec.patient.id),
        "date": fhir_date_time(e.end, e.end_minute + 30),
        "author": [{ "display": display_name(author) }],
        "description": display,
        "content": [{
            "attachment": {
                "contentType": "text/plain",
                "language": "en-US",
                "title": display,
                "data": base64::engine::general_purpose::STANDARD.encode(note.text.as_bytes()),
            }
        }],
        "context": {
            "encounter": [reference("Encounter", &e.id)],
            "period": { "start": fhir_date_time(e.start, e.start_minute), "end": fhir_date_time(e.end, e.end_minute) },
        },
    })
}
