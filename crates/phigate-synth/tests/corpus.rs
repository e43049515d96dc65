//! Properties of whole generated corpora: determinism, exact gold, valid
//! and self-contained FHIR, and the hard negatives the notes promise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use phigate_synth::{
    FULL_URL_BASE, Generator, NoteType, PhiType, REFERENCE_DATE, SynthOptions, SynthPatient, generate_patient,
};
use serde_json::Value;

fn corpus(seed: u64, patients: u64) -> Vec<SynthPatient> {
    Generator::new(SynthOptions { seed, patients, ..SynthOptions::default() }).unwrap().patients().collect()
}

fn bytes(p: &SynthPatient) -> Vec<u8> {
    let mut out = serde_json::to_vec(&p.bundle).unwrap();
    for n in &p.notes {
        out.extend(serde_json::to_vec(n).unwrap());
    }
    out
}

#[test]
fn same_seed_same_bytes_and_patients_are_independent() {
    let a = corpus(7, 25);
    let b = corpus(7, 25);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(bytes(x), bytes(y), "{} differs between runs", x.id);
    }
    let c = corpus(8, 25);
    assert!(a.iter().zip(&c).all(|(x, y)| bytes(x) != bytes(y)), "another seed must give other patients");
    // Patient i depends only on (seed, i): generating it alone, or out of
    // order, gives the same bytes.
    let g = Generator::new(SynthOptions { seed: 7, ..SynthOptions::default() }).unwrap();
    assert_eq!(bytes(&g.patient(17)), bytes(&a[17]));
    assert_eq!(bytes(&generate_patient(7, 3)), bytes(&a[3]));
    assert_eq!(a[0].id, "patient-000001");
}

#[test]
fn every_gold_span_is_exact_and_spans_do_not_overlap() {
    let mut total = 0;
    for p in corpus(1, 150) {
        for note in &p.notes {
            let chars: Vec<char> = note.text.chars().collect();
            let mut last_end = 0;
            for s in &note.spans {
                assert!(s.start < s.end && s.end <= chars.len(), "{}: {s:?}", note.id);
                let got: String = chars[s.start..s.end].iter().collect();
                assert_eq!(got, s.text, "{}: {s:?}", note.id);
                assert_eq!(s.text.trim(), s.text, "{}: {s:?} has edge whitespace", note.id);
                assert!(s.start >= last_end, "{}: {s:?} overlaps or is out of order", note.id);
                last_end = s.end;
                total += 1;
            }
            assert!(note.id.starts_with(&format!("{}/note-", p.id)));
            assert_eq!(note.patient, p.id[8..].parse::<u64>().unwrap());
        }
    }
    assert!(total > 2000, "{total} spans");
}

#[test]
fn gold_lines_have_the_shared_corpus_shape() {
    let p = generate_patient(3, 0);
    let line: Value = serde_json::to_value(&p.notes[0]).unwrap();
    for key in ["id", "text", "spans", "patient", "note_type"] {
        assert!(line.get(key).is_some(), "{key}");
    }
    let span = &line["spans"][0];
    for key in ["start", "end", "type", "text"] {
        assert!(span.get(key).is_some(), "{key}");
    }
}

#[test]
fn every_category_is_planted() {
    let mut seen = BTreeSet::new();
    let mut styles = BTreeSet::new();
    for p in corpus(2, 200) {
        for n in &p.notes {
            styles.insert(format!("{:?}", n.note_type));
            seen.extend(n.spans.iter().map(|s| s.kind));
        }
    }
    for t in PhiType::ALL {
        assert!(seen.contains(&t), "no {t} span in 200 patients");
    }
    assert_eq!(styles.len(), 3);
}

const DATE_KEYS: [&str; 3] = ["birthDate", "onsetDateTime", "recordedDate"];
const DATE_TIME_KEYS: [&str; 7] =
    ["start", "end", "effectiveDateTime", "authoredOn", "performedDateTime", "issued", "date"];

fn is_fhir_date(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && time::Date::parse(s, &time::format_description::well_known::Iso8601::DATE).is_ok()
}

fn is_fhir_instant(s: &str) -> bool {
    s.len() == 20
        && s.ends_with('Z')
        && time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
}

/// Visits every object in `v` with the key path leading to it.
fn walk<'a>(v: &'a Value, f: &mut impl FnMut(&str, &'a Value)) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                f(k, x);
                walk(x, f);
            }
        }
        Value::Array(items) => items.iter().for_each(|x| walk(x, f)),
        _ => {}
    }
}

#[test]
fn bundles_are_complete_valid_and_self_contained() {
    let mut types_seen = BTreeSet::new();
    let mut oldest = 0;
    for p in corpus(4, 120) {
        let b = &p.bundle;
        assert_eq!(b["resourceType"], "Bundle");
        assert_eq!(b["type"], "collection");
        let mut ids = BTreeSet::new();
        let mut count: BTreeMap<&str, usize> = BTreeMap::new();
        for e in b["entry"].as_array().unwrap() {
            let r = &e["resource"];
            let (t, id) = (r["resourceType"].as_str().unwrap(), r["id"].as_str().unwrap());
            assert_eq!(e["fullUrl"].as_str().unwrap(), format!("{FULL_URL_BASE}{t}/{id}"));
            assert!(ids.insert(format!("{t}/{id}")), "duplicate {t}/{id}");
            *count.entry(t).or_default() += 1;
        }
        for t in ["Patient", "Encounter", "Condition", "Observation"] {
            assert!(count.get(t).is_some_and(|c| *c >= 1), "{}: no {t}", p.id);
        }
        assert_eq!(count["Patient"], 1);
        assert!((1..=4).contains(&count["Condition"]));
        assert_eq!(count.get("DocumentReference").copied().unwrap_or(0), p.notes.len());
        types_seen.extend(count.keys().map(|s| s.to_string()));

        let mut problems = Vec::new();
        walk(b, &mut |key, v| {
            if key == "reference" {
                let r = v.as_str().unwrap_or_default();
                if !ids.contains(r) {
                    problems.push(format!("unresolved reference {r}"));
                }
            }
            if let Some(s) = v.as_str() {
                if DATE_KEYS.contains(&key) && !is_fhir_date(s) {
                    problems.push(format!("{key} is not a FHIR date"));
                }
                if DATE_TIME_KEYS.contains(&key) && !is_fhir_instant(s) {
                    problems.push(format!("{key} is not a FHIR instant"));
                }
            }
            if key == "period" && v["start"].as_str() > v["end"].as_str() {
                problems.push("period ends before it starts".to_owned());
            }
        });
        assert!(problems.is_empty(), "{}: {problems:?}", p.id);

        // The notes ride along as base64 text/plain attachments.
        let docs: Vec<&Value> = p.resources().filter(|(t, _)| *t == "DocumentReference").map(|(_, r)| r).collect();
        for (doc, note) in docs.iter().zip(&p.notes) {
            let att = &doc["content"][0]["attachment"];
            assert_eq!(att["contentType"], "text/plain");
            let text = base64::engine::general_purpose::STANDARD.decode(att["data"].as_str().unwrap()).unwrap();
            assert_eq!(String::from_utf8(text).unwrap(), note.text);
            assert_eq!(doc["type"]["coding"][0]["code"], note.note_type.loinc().0);
        }

        let patient = p.resources().find(|(t, _)| *t == "Patient").unwrap().1;
        let birth = time::Date::parse(
            patient["birthDate"].as_str().unwrap(),
            &time::format_description::well_known::Iso8601::DATE,
        )
        .unwrap();
        let mut age = REFERENCE_DATE.year() - birth.year();
        if (REFERENCE_DATE.month() as u8, REFERENCE_DATE.day()) < (birth.month() as u8, birth.day()) {
            age -= 1;
        }
        if age > 89 {
            oldest += 1;
        }
        for key in ["identifier", "telecom", "address", "contact", "maritalStatus", "generalPractitioner", "name"] {
            assert!(!patient[key].is_null(), "{}: Patient.{key} missing", p.id);
        }
        for (_, rx) in p.resources().filter(|(t, _)| *t == "MedicationRequest") {
            let text = rx["dosageInstruction"][0]["text"].as_str().unwrap();
            let dose = rx["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"].as_f64().unwrap();
            let shown = if dose.fract() == 0.0 { format!("{dose:.0}") } else { dose.to_string() };
            assert!(text.contains(&format!(" {shown} ")), "{}: dosage text without its dose", p.id);
        }
        let systems: Vec<&str> = patient["identifier"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["type"]["coding"][0]["code"].as_str().unwrap())
            .collect();
        assert_eq!(systems, ["MR", "SS", "MB"]);
    }
    for t in [
        "Patient",
        "Encounter",
        "Condition",
        "Observation",
        "MedicationRequest",
        "Procedure",
        "DiagnosticReport",
        "DocumentReference",
    ] {
        assert!(types_seen.contains(t), "no {t} in the corpus");
    }
    assert!(oldest >= 3, "only {oldest} of 120 patients are over 89");
}

#[test]
fn ages_over_89_are_annotated_and_younger_ones_are_not() {
    let (mut over, mut under) = (0, 0);
    for p in corpus(5, 200) {
        for n in &p.notes {
            for s in n.spans.iter().filter(|s| s.kind == PhiType::Age) {
                assert!(s.text.parse::<u32>().unwrap() > 89, "{}: age span under 90", n.id);
                over += 1;
            }
            // "65-year-old", "65 yo", "age 65" stay plain text.
            for (i, _) in n.text.match_indices("-year-old").chain(n.text.match_indices(" yo ")) {
                let covered = n.spans.iter().any(|s| s.kind == PhiType::Age && char_to_byte(&n.text, s.end) == i);
                if !covered {
                    under += 1;
                }
            }
        }
    }
    assert!(over >= 5 && under >= 50, "over {over}, under {under}");
}

fn char_to_byte(text: &str, ch: usize) -> usize {
    text.char_indices().nth(ch).map_or(text.len(), |(b, _)| b)
}

#[test]
fn hard_negatives_appear_and_are_never_annotated() {
    let words = [
        "Foley",
        "Parkinson",
        "Apgar",
        "Gram",
        "Babinski",
        "Alzheimer",
        "Hodgkin",
        "Graves",
        "Hashimoto",
        "mg",
        "HbA1c",
        "eGFR",
        "BP",
        "E11.9",
        "(I10)",
        "J45.909",
        "mmHg",
    ];
    let mut found: BTreeMap<&str, usize> = BTreeMap::new();
    let mut bare_years = 0;
    for p in corpus(6, 250) {
        for n in &p.notes {
            let upper = n.text.to_uppercase();
            for w in words {
                for (byte, _) in upper.match_indices(&w.to_uppercase()) {
                    let before = upper[..byte].chars().next_back();
                    let after = upper[byte + w.len()..].chars().next();
                    if before.is_some_and(char::is_alphanumeric) || after.is_some_and(char::is_alphanumeric) {
                        continue; // part of a longer word
                    }
                    let start = n.text[..byte].chars().count();
                    let end = start + w.chars().count();
                    let hit = n.spans.iter().find(|s| s.start < end && start < s.end);
                    assert!(hit.is_none(), "{}: {w} annotated as {:?}", n.id, hit.map(|s| s.kind));
                    *found.entry(w).or_default() += 1;
                }
            }
            for s in &n.spans {
                assert!(
                    !(s.text.len() == 4 && s.text.bytes().all(|b| b.is_ascii_digit())),
                    "{}: bare year annotated",
                    n.id
                );
            }
            bare_years += n.text.matches(" in 20").count() + n.text.matches(" in 19").count();
        }
    }
    for w in words {
        assert!(found.get(w).is_some_and(|c| *c > 0), "{w} never appears");
    }
    assert!(bare_years > 20, "{bare_years} bare years");
}

#[test]
fn note_counts_follow_the_options_and_bad_options_are_errors() {
    let g = Generator::new(SynthOptions { seed: 9, patients: 40, notes_per_patient: 2..=2 }).unwrap();
    assert!(g.patients().all(|p| p.notes.len() == 2));
    let g = Generator::new(SynthOptions { seed: 9, patients: 10, notes_per_patient: 0..=0 }).unwrap();
    for p in g.patients() {
        assert!(p.notes.is_empty());
        assert!(p.resources().all(|(t, _)| t != "DocumentReference"));
    }
    let g = Generator::new(SynthOptions { seed: 9, patients: 60, notes_per_patient: 1..=3 }).unwrap();
    let styles: BTreeSet<String> = g.patients().flat_map(|p| p.notes).map(|n| format!("{:?}", n.note_type)).collect();
    assert!(styles.contains(&format!("{:?}", NoteType::DischargeSummary)));
    // An empty range, as a user could type it.
    let (min, max) = (3, 1);
    assert!(Generator::new(SynthOptions { notes_per_patient: min..=max, ..SynthOptions::default() }).is_err());
    assert!(Generator::new(SynthOptions { notes_per_patient: 1..=21, ..SynthOptions::default() }).is_err());
}

#[test]
fn debug_output_carries_no_identifiers() {
    let p = generate_patient(10, 0);
    let shown = format!("{p:?} {:?}", p.notes);
    let family =
        p.resources().find(|(t, _)| *t == "Patient").unwrap().1["name"][0]["family"].as_str().unwrap().to_owned();
    assert!(!shown.contains(&family), "{shown}");
    assert!(shown.contains("patient-000001"));
}
