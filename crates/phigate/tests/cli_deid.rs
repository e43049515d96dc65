//! `phigate deid`: the JSONL contract other tools depend on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::run_with_stdin;

const NOTE: &str = "Seen by Dr. Harriet Quillfeather on 03/14/2024; call 617-555-0199. Résumé: SSN 402-19-8877, started metoprolol 25 mg.";

#[test]
fn detect_reads_and_writes_jsonl_with_character_offsets() {
    let input = serde_json::json!({ "id": "n1", "text": NOTE, "ignored": true }).to_string() + "\n\n";
    let out = run_with_stdin(&["deid", "detect", "--input", "-", "--output", "-"], input.as_bytes());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line: serde_json::Value = serde_json::from_slice(out.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(line["id"], "n1");
    let chars: Vec<char> = NOTE.chars().collect();
    let found: Vec<String> = line["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| chars[s["start"].as_u64().unwrap() as usize..s["end"].as_u64().unwrap() as usize].iter().collect())
        .collect();
    for expected in ["Harriet Quillfeather", "03/14/2024", "617-555-0199", "402-19-8877"] {
        assert!(found.iter().any(|f| f.contains(expected)), "{expected} not in {found:?}");
    }
    assert!(!found.iter().any(|f| f.contains("metoprolol") || f.contains("25 mg")), "hard negatives: {found:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 records"), "summary on stderr");
}

#[test]
fn redact_removes_identifiers_and_keeps_clinical_content() {
    let out = run_with_stdin(
        &["deid", "redact", "--policy", "safe-harbor", "--format", "text", "--input", "-", "--output", "-"],
        NOTE.as_bytes(),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    for phi in ["Quillfeather", "03/14/2024", "617-555-0199", "402-19-8877"] {
        assert!(!text.contains(phi), "{phi} survived: {text}");
    }
    assert!(text.contains("metoprolol 25 mg"), "{text}");
}

#[test]
fn invalid_utf8_is_a_clear_error_unless_lossy() {
    let mut input = br#"{"id":"x","text":"bad "#.to_vec();
    input.extend_from_slice(&[0xff, 0xfe]);
    input.extend_from_slice(b" byte\"}\n");
    let out = run_with_stdin(&["deid", "detect", "--input", "-", "--output", "-"], &input);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("UTF-8") && !err.contains("panicked"), "{err}");
    let out = run_with_stdin(&["deid", "detect", "--lossy", "--input", "-", "--output", "-"], &input);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_failed_run_leaves_no_output_file_and_a_good_one_leaves_only_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("redacted.jsonl");
    let dest_arg = dest.to_str().unwrap();
    // Line 2 is not UTF-8: line 1 was already redacted when the run fails.
    let mut input = (serde_json::json!({ "id": "n1", "text": NOTE }).to_string() + "\n").into_bytes();
    input.extend_from_slice(b"{\"id\":\"n2\",\"text\":\"bad \xff\"}\n");
    let args = ["deid", "redact", "--policy", "safe-harbor", "--input", "-", "--output", dest_arg];
    let out = run_with_stdin(&args, &input);
    assert!(!out.status.success());
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "a failed run left {left:?}");

    let good = serde_json::json!({ "id": "n1", "text": NOTE }).to_string() + "\n";
    let out = run_with_stdin(&args, good.as_bytes());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from("redacted.jsonl")]);
    let text = std::fs::read_to_string(&dest).unwrap();
    assert!(text.contains("\"n1\"") && !text.contains("Quillfeather"), "{text}");
}

#[test]
fn unknown_policy_and_missing_file_are_clear_errors() {
    let out = run_with_stdin(&["deid", "redact", "--policy", "nope", "--input", "-", "--output", "-"], b"");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a built-in policy"));
    let out = run_with_stdin(&["deid", "detect", "--input", "/nonexistent.jsonl", "--output", "-"], b"");
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("/nonexistent.jsonl"));
}

fn fhir_patient() -> serde_json::Value {
    serde_json::json!({"resourceType": "Patient", "id": "pat-7",
        "name": [{"family": "Quillfeather", "given": ["Harriet"]}],
        "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": "5583920"}],
        "telecom": [{"system": "phone", "value": "617-555-0199"}], "birthDate": "1961-04-02"})
}

fn fhir_observation() -> serde_json::Value {
    serde_json::json!({"resourceType": "Observation", "id": "obs-7", "status": "final",
        "subject": {"reference": "Patient/pat-7"}, "effectiveDateTime": "2024-03-14T09:10:00-05:00",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7"}]},
        "valueQuantity": {"value": 182, "unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"},
        "note": [{"text": "quillfeather fasting since midnight, MRN 5583920"}]})
}

fn assert_fhir_clean(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    for phi in
        ["Quillfeather", "quillfeather", "Harriet", "5583920", "617-555-0199", "1961-04-02", "2024-03-14", "pat-7"]
    {
        assert!(!text.contains(phi), "{phi} survived: {text}");
    }
    assert!(text.contains("2345-7") && text.contains("mg/dL"), "{text}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("Quillfeather"));
    text
}

#[test]
fn redact_fhir_bundle_and_ndjson() {
    let bundle = serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "https://h.example/fhir/Observation/obs-7", "resource": fhir_observation()},
        {"fullUrl": "https://h.example/fhir/Patient/pat-7", "resource": fhir_patient()}]});
    let args = ["deid", "redact", "--format", "fhir", "--input", "-", "--output", "-"];
    // A pretty-printed document: one Bundle out.
    let out = run_with_stdin(&args, serde_json::to_string_pretty(&bundle).unwrap().as_bytes());
    let text = assert_fhir_clean(&out);
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let entries = doc["entry"].as_array().unwrap();
    assert_eq!(
        entries[0]["resource"]["subject"]["reference"],
        format!("Patient/{}", entries[1]["resource"]["id"].as_str().unwrap())
    );

    // NDJSON (detected by content): one line per resource.
    let ndjson = format!("{}\n{}\n", fhir_patient(), fhir_observation());
    let out = run_with_stdin(&args, ndjson.as_bytes());
    let text = assert_fhir_clean(&out);
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["subject"]["reference"], format!("Patient/{}", lines[0]["id"].as_str().unwrap()));
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 records"));

    // A .ndjson file with the Patient last: read twice, so the note still loses the name.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.ndjson");
    std::fs::write(&path, format!("{}\n{}\n", fhir_observation(), fhir_patient())).unwrap();
    let out = run_with_stdin(
        &["deid", "redact", "--format", "fhir", "--input", path.to_str().unwrap(), "--output", "-"],
        b"",
    );
    assert_eq!(assert_fhir_clean(&out).lines().count(), 2);

    // Errors name the line, not the content.
    let out = run_with_stdin(&args, b"{\"resourceType\":\"Patient\"}\n{\"name\":\"Quillfeather\"}\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("line 2") && !err.contains("Quillfeather"), "{err}");

    // A document on one line (a one-line NDJSON on standard input) stays one line.
    let out = run_with_stdin(&args, format!("{bundle}\n").as_bytes());
    let text = assert_fhir_clean(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap()["resourceType"], "Bundle");

    // Invalid UTF-8 where it cannot tell NDJSON from a document: the line, never the bytes.
    let mut bad = format!("{}\n", fhir_patient()).into_bytes();
    bad.extend_from_slice(b"{\"resourceType\":\"Observation\",\"note\":[{\"text\":\"Quillfeather \xff\"}]}\n");
    let out = run_with_stdin(&args, &bad[..]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("line 2") && !err.contains("Quillfeather"), "{err}");
    let out = run_with_stdin(&args, b"\xff{}\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("not UTF-8 at line 1"), "{err}");
}

#[test]
fn eval_lists_misses_and_false_positives_by_offset_only() {
    // One gold span the detector cannot find (a made-up code word), and one
    // phone number the gold file does not mark.
    let gold = concat!(
        r#"{"id":"n1","text":"code word zqxv noted; call 617-555-0199 later","#,
        r#""spans":[{"start":10,"end":14,"type":"Other"}]}"#,
        "\n"
    );
    let out = run_with_stdin(&["deid", "eval", "--gold", "-", "--errors"], gold.as_bytes());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("miss\tn1\t10..14\tOther"), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("false-positive\tn1\t27..39\tPHONE")), "{stdout}");
    assert!(!stdout.contains("zqxv") && !stdout.contains("617-555-0199"), "no text in the listing: {stdout}");
}

/// `MM/DD/YYYY` → `YYYY-MM-DD`.
fn iso(us_date: &str) -> String {
    let p: Vec<&str> = us_date.split('/').collect();
    format!("{}-{}-{}", p[2], p[0], p[1])
}

#[test]
fn notes_and_fhir_of_one_patient_agree() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::init_data_dir(&data, &[]);
    let data = data.to_str().unwrap();
    let policy = dir.path().join("shift.toml");
    std::fs::write(&policy, "[operators]\nDATE = \"date-shift\"\nNAME = \"surrogate\"\n").unwrap();
    let policy = policy.to_str().unwrap();
    let redact = |format: &str, extra: &[&str], input: &str| {
        let mut args = vec!["deid", "redact", "--data-dir", data, "--policy", policy, "--format", format];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--input", "-", "--output", "-"]);
        common::ok_stdout(&run_with_stdin(&args, input.as_bytes()))
    };
    let text = "Mrs. Quillfeather seen 03/14/2024 for CHF.";
    let note = serde_json::json!({"id": "n1", "subject": "Patient/pat-7", "text": text}).to_string() + "\n";

    let jsonl: serde_json::Value = serde_json::from_str(redact("jsonl", &[], &note).trim()).unwrap();
    let jsonl = jsonl["text"].as_str().unwrap().to_owned();
    let fhir = redact("fhir", &[], &format!("{}\n{}\n", fhir_patient(), fhir_observation()));
    let fhir: Vec<serde_json::Value> = fhir.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let plain = redact("text", &["--patient", "pat-7"], text);

    // "Mrs. <surrogate> seen <date> for CHF."
    let words: Vec<&str> = jsonl.split_whitespace().collect();
    assert_eq!((words[0], words[2], words[4]), ("Mrs.", "seen", "for"), "{jsonl}");
    let (surname, date) = (words[1], words[3]);
    assert_ne!(surname, "Quillfeather");
    assert_ne!(date, "03/14/2024", "the date moved");
    // The note's surname and date moved exactly as the FHIR resources' did.
    assert_eq!(fhir[0]["name"][0]["family"], surname, "{:?}", fhir[0]["name"]);
    let effective = fhir[1]["effectiveDateTime"].as_str().unwrap();
    assert_eq!(&effective[..10], iso(date), "{effective}");
    assert!(effective.ends_with("T09:10:00-05:00"), "time and zone kept: {effective}");
    // `--format text --patient` names the same patient.
    assert_eq!(plain, jsonl);
    // And a second run agrees: the offset and surrogates come from the store's key.
    let again: serde_json::Value = serde_json::from_str(redact("jsonl", &[], &note).trim()).unwrap();
    assert_eq!(again["text"], jsonl);
}

#[test]
fn patient_is_for_text_input_only() {
    let out = run_with_stdin(&["deid", "redact", "--patient", "p1", "--input", "-", "--output", "-"], b"");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--patient is for --format text"));
}
