//! Who a resource is about, and what the Patient resource tells the text
//! engine to look for in that patient's notes.
//!
//! The few Patient elements read here are typed serde models; each element
//! is read on its own and a malformed one is skipped, so one odd field
//! cannot hide the others from the known-identifier list (the walker still
//! de-identifies every field whatever its shape).

use serde::Deserialize;
use serde_json::Value;

use crate::known::KnownIdentifiers;
use crate::span::Kind;

use super::reference;

#[derive(Deserialize, Default)]
struct HumanName {
    text: Option<String>,
    family: Option<String>,
    #[serde(default)]
    given: Vec<String>,
}

#[derive(Deserialize, Default)]
struct Identifier {
    system: Option<String>,
    #[serde(rename = "type")]
    kind: Option<Value>,
    value: Option<String>,
}

#[derive(Deserialize, Default)]
struct ContactPoint {
    system: Option<String>,
    value: Option<String>,
}

#[derive(Deserialize, Default)]
struct Address {
    #[serde(default)]
    line: Vec<String>,
    city: Option<String>,
    district: Option<String>,
    #[serde(rename = "postalCode")]
    postal_code: Option<String>,
}

#[derive(Deserialize, Default)]
struct Contact {
    name: Option<HumanName>,
}

fn list<T: for<'de> Deserialize<'de>>(resource: &Value, field: &str) -> Vec<T> {
    match resource.get(field) {
        Some(Value::Array(items)) => items.iter().filter_map(|v| T::deserialize(v).ok()).collect(),
        Some(v) => T::deserialize(v).ok().into_iter().collect(),
        None => Vec::new(),
    }
}

/// The identifier kind of an `Identifier`, from its type codes (`MR`,
/// `SS`, …) or, failing that, its system URL.
pub(crate) fn identifier_kind(type_: Option<&Value>, system: Option<&str>) -> Kind {
    let codes = type_
        .and_then(|t| t.get("coding"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("code")?.as_str());
    for code in codes {
        match code {
            "MR" | "MRT" | "PI" => return Kind::Mrn,
            "SS" | "SB" => return Kind::Ssn,
            "DL" | "NPI" | "MD" | "PRN" | "LN" | "DEA" => return Kind::License,
            "MB" | "MC" | "MA" | "SN" | "MCN" => return Kind::HealthPlan,
            "AN" | "ACSN" | "BA" => return Kind::Account,
            _ => {}
        }
    }
    let system = system.unwrap_or_default().to_ascii_lowercase();
    if system.contains("ssn") {
        Kind::Ssn
    } else if system.contains("npi") || system.contains("license") {
        Kind::License
    } else if system.contains("mrn") || system.contains("medical-record") {
        Kind::Mrn
    } else {
        Kind::Id
    }
}

/// The identifier kind of a `ContactPoint.system` value.
pub(crate) fn telecom_kind(system: Option<&str>) -> Kind {
    match system {
        Some("email") => Kind::Email,
        Some("fax") => Kind::Fax,
        Some("url") => Kind::Url,
        _ => Kind::Phone,
    }
}

fn full_name(n: &HumanName) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(t) = &n.text {
        out.push(t.clone());
    }
    let mut parts = n.given.clone();
    parts.extend(n.family.clone());
    if !parts.is_empty() {
        out.push(parts.join(" "));
    }
    out
}

/// Adds the identifiers a Patient (or RelatedPerson) resource holds: names,
/// identifiers, phone and e-mail, address parts, contacts' names.
pub(crate) fn learn(resource: &Value, mut known: KnownIdentifiers) -> KnownIdentifiers {
    let mut names: Vec<HumanName> = list(resource, "name");
    names.extend(list::<Contact>(resource, "contact").into_iter().filter_map(|c| c.name));
    for n in &names {
        for full in full_name(n) {
            known = known.name(&full);
        }
    }
    for id in list::<Identifier>(resource, "identifier") {
        if let Some(v) = &id.value {
            known = known.identifier(v, identifier_kind(id.kind.as_ref(), id.system.as_deref()));
        }
    }
    for t in list::<ContactPoint>(resource, "telecom") {
        if let Some(v) = &t.value {
            known = known.identifier(v, telecom_kind(t.system.as_deref()));
        }
    }
    for a in list::<Address>(resource, "address") {
        for l in &a.line {
            known = known.identifier(l, Kind::Address);
        }
        for place in [&a.city, &a.district].into_iter().flatten() {
            known = known.identifier(place, Kind::Location);
        }
        if let Some(z) = &a.postal_code {
            known = known.identifier(z, Kind::Zip);
        }
    }
    known
}

/// The elements that name the patient a resource is about.
const SUBJECT_FIELDS: [&str; 4] = ["subject", "patient", "beneficiary", "for"];

/// The patient reference of a non-Patient resource, as written.
pub(crate) fn subject_reference(resource: &Value) -> Option<&str> {
    SUBJECT_FIELDS.iter().find_map(|f| resource.get(f)?.get("reference")?.as_str())
}

/// The patient key of a reference: through `resolve` (a Bundle's `fullUrl`
/// map) first, then as `Patient/<id>`.
pub(crate) fn patient_key<'a>(reference_value: &'a str, resolve: impl Fn(&str) -> Option<&'a str>) -> Option<&'a str> {
    resolve(reference_value).or_else(|| reference::patient_id(reference_value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identifier_kinds() {
        let mr = json!({"coding": [{"code": "MR"}]});
        assert_eq!(identifier_kind(Some(&mr), None), Kind::Mrn);
        assert_eq!(identifier_kind(None, Some("http://hl7.org/fhir/sid/us-ssn")), Kind::Ssn);
        assert_eq!(identifier_kind(Some(&json!(7)), None), Kind::Id);
    }

    #[test]
    fn learns_what_the_patient_resource_holds() {
        let p = json!({
            "resourceType": "Patient",
            "name": [{"given": ["Marisol"], "family": "Ferndale"}, "broken"],
            "telecom": [{"system": "phone", "value": "410-555-0142"}],
            "address": [{"line": ["12 Quarry Lane"], "city": "Elkton", "postalCode": "21921"}],
        });
        let mut k = learn(&p, KnownIdentifiers::new());
        k.compile();
        let mut spans = Vec::new();
        let text = "Marisol Ferndale of 12 Quarry Lane, Elkton 21921, (410) 555 0142";
        k.find(text, &mut spans);
        let found: Vec<&str> = spans.iter().map(|s| &text[s.start..s.end]).collect();
        for want in ["Marisol Ferndale", "12 Quarry Lane", "Elkton", "21921", "(410) 555 0142"] {
            assert!(found.contains(&want), "{want} not in {found:?}");
        }
    }
}
