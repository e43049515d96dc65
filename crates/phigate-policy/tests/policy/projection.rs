//! Projection: every field a role may not read for a purpose is removed.

use phigate_identity::Role;
use phigate_policy::{Policy, Purpose};
use serde_json::json;

use crate::{elevated, now, user};

fn patient() -> serde_json::Value {
    json!({
        "resourceType": "Patient",
        "id": "p-1",
        "identifier": [{"system": "urn:mrn", "value": "MRN-123"}],
        "name": [{"family": "Canary", "given": ["Jane"]}],
        "birthDate": "1970-01-01",
        "gender": "female",
        "telecom": [{"value": "555-0100"}],
        "address": [{"city": "Springfield"}],
        "ssn": "123-45-6789",
        "maritalStatus": "M",
        "extension": [{"url": "x", "valueString": "y"}]
    })
}

#[test]
fn clinician_sees_the_chart_fields_but_never_unlisted_ones() {
    let p = Policy::default_policy().unwrap();
    let out = p.project(&Role::new("clinician"), Purpose::Treatment, "Patient", &patient());
    let obj = out.as_object().unwrap();
    for kept in ["resourceType", "id", "identifier", "name", "birthDate", "gender", "telecom", "address"] {
        assert!(obj.contains_key(kept), "{kept} missing");
    }
    for removed in ["ssn", "maritalStatus", "extension"] {
        assert!(!obj.contains_key(removed), "{removed} leaked");
    }
}

#[test]
fn triage_sees_demographics_and_reason_for_visit_only() {
    let p = Policy::default_policy().unwrap();
    let triage = Role::new("triage");
    let out = p.project(&triage, Purpose::Treatment, "Patient", &patient());
    assert_eq!(
        out,
        json!({"resourceType": "Patient", "id": "p-1", "name": [{"family": "Canary", "given": ["Jane"]}],
               "birthDate": "1970-01-01", "gender": "female"})
    );
    // The context handed to a model: nested paths keep only what is listed.
    let context = json!({
        "patient": {"name": "Jane Canary", "birthDate": "1970-01-01", "gender": "female", "ssn": "123-45-6789"},
        "encounter": {"reasonCode": "chest pain", "notes": "free text with history"},
        "conditions": ["I10"],
        "medications": ["lisinopril"]
    });
    let out = p.project(&triage, Purpose::Treatment, "ModelContext", &context);
    assert_eq!(
        out,
        json!({"patient": {"birthDate": "1970-01-01", "gender": "female"}, "encounter": {"reasonCode": "chest pain"}})
    );
}

#[test]
fn research_projection_never_carries_identifiers() {
    let p = Policy::default_policy().unwrap();
    let record = json!({"study_id": "S-42", "birth_year": 1970, "gender": "female", "name": "Jane Canary",
                        "id": "p-1", "mrn": "MRN-123", "conditions": ["I10"]});
    let out = p.project(&Role::new("researcher"), Purpose::Research, "StudyRecord", &record);
    assert_eq!(out, json!({"study_id": "S-42", "birth_year": 1970, "gender": "female", "conditions": ["I10"]}));
    // Identified resources project to nothing for researchers.
    assert_eq!(p.project(&Role::new("researcher"), Purpose::Research, "Patient", &patient()), serde_json::Value::Null);
}

#[test]
fn unknown_role_resource_or_purpose_projects_to_nothing() {
    let p = Policy::default_policy().unwrap();
    assert!(p.project(&Role::new("nobody"), Purpose::Treatment, "Patient", &patient()).is_null());
    assert!(p.project(&Role::new("clinician"), Purpose::Treatment, "Nothing", &patient()).is_null());
    assert!(p.project(&Role::new("clinician"), Purpose::Research, "Patient", &patient()).is_null());
    assert!(p.project(&Role::new("administrator"), Purpose::Operations, "Patient", &patient()).is_null());
}

#[test]
fn project_for_unions_roles_and_respects_break_glass() {
    let p = Policy::default_policy().unwrap();
    let both = user(&["triage", "researcher"]);
    let out = p.project_for(&both, Purpose::Treatment, "Patient", &patient(), now());
    assert!(out.get("name").is_some() && out.get("telecom").is_none());
    let clinician = user(&["clinician"]);
    assert!(p.project_for(&clinician, Purpose::Emergency, "Patient", &patient(), now()).is_null());
    let out = p.project_for(&elevated(clinician), Purpose::Emergency, "Patient", &patient(), now());
    assert!(out.get("telecom").is_some() && out.get("ssn").is_none());
}

#[test]
fn writes_of_unlisted_fields_are_reported() {
    let p = Policy::default_policy().unwrap();
    let clinician = user(&["clinician"]);
    let write = json!({"status": "final", "valueString": "ok", "subject": "Patient/other"});
    assert_eq!(p.disallowed_write_fields(&clinician, Purpose::Treatment, "Observation", &write), vec!["subject"]);
}
