//! `phigate synth`: deterministic output layout, refusal to clobber, and a
//! corpus `phigate deid eval` can score.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_phigate");

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn synth(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["synth", "--patients", "5", "--seed", "7", "--out", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    run(&args)
}

/// Every file under `dir`, by relative path.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

#[test]
fn same_seed_gives_byte_identical_directories() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for dir in [&a, &b] {
        let out = synth(dir, &[]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let (fa, fb) = (files(&a), files(&b));
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (name, bytes) in &fa {
        assert!(bytes == &fb[name], "{name} differs between runs");
    }
    for name in ["manifest.json", "notes.jsonl", "bundles/patient-000001.json", "bundles/patient-000005.json"] {
        assert!(fa.contains_key(name), "{name} missing");
    }
    for kind in ["Patient", "Encounter", "Condition", "Observation", "DocumentReference"] {
        assert!(fa.contains_key(&format!("bulk/{kind}.ndjson")), "bulk/{kind}.ndjson missing");
    }
    assert!(!fa.contains_key("bundles/patient-000006.json"));

    let patients = String::from_utf8(fa["bulk/Patient.ndjson"].clone()).unwrap();
    assert_eq!(patients.lines().count(), 5);
    let manifest: serde_json::Value = serde_json::from_slice(&fa["manifest.json"]).unwrap();
    assert_eq!(manifest["seed"], 7);
    assert_eq!(manifest["patients"], 5);
    let notes = String::from_utf8(fa["notes.jsonl"].clone()).unwrap();
    assert_eq!(manifest["notes"], notes.lines().count());
    let bulk_total: u64 = manifest["output"].as_array().unwrap().iter().map(|o| o["count"].as_u64().unwrap()).sum();
    assert_eq!(manifest["resources"], bulk_total);

    // Another seed, other patients.
    let c = tmp.path().join("c");
    assert!(run(&["synth", "--patients", "5", "--seed", "8", "--out", c.to_str().unwrap()]).status.success());
    assert_ne!(files(&c)["notes.jsonl"], fa["notes.jsonl"]);
}

#[test]
fn nothing_generated_is_printed() {
    let tmp = tempfile::tempdir().unwrap();
    let out = synth(tmp.path(), &[]);
    assert!(out.status.success());
    let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(printed.contains("5 patients"), "{printed}");
    let patients = std::fs::read_to_string(tmp.path().join("bulk/Patient.ndjson")).unwrap();
    for line in patients.lines() {
        let p: serde_json::Value = serde_json::from_str(line).unwrap();
        for value in [&p["name"][0]["family"], &p["identifier"][0]["value"], &p["telecom"][2]["value"]] {
            let v = value.as_str().unwrap();
            assert!(!printed.contains(v), "printed a generated identifier");
        }
    }
}

#[test]
fn a_non_empty_directory_needs_force() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("keep.txt"), "mine").unwrap();
    let out = synth(tmp.path(), &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"), "{}", String::from_utf8_lossy(&out.stderr));

    // --force replaces earlier synth output (a larger earlier corpus leaves
    // no stale patients) and leaves other files alone.
    let big = run(&["synth", "--patients", "7", "--seed", "7", "--force", "--out", tmp.path().to_str().unwrap()]);
    assert!(big.status.success(), "{}", String::from_utf8_lossy(&big.stderr));
    assert!(synth(tmp.path(), &["--force"]).status.success());
    let f = files(tmp.path());
    assert!(f.contains_key("keep.txt"));
    assert!(!f.contains_key("bundles/patient-000006.json"), "stale bundle survived --force");

    let fresh = tmp.path().join("fresh");
    assert!(synth(&fresh, &[]).status.success());
    let g = files(&fresh);
    for (name, bytes) in &g {
        assert!(bytes == &f[name], "{name} differs after --force");
    }
}

#[test]
fn bad_note_ranges_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let out = synth(&tmp.path().join("x"), &["--notes-per-patient", "3..1"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("notes per patient"));
    let out = synth(&tmp.path().join("y"), &["--notes-per-patient", "lots"]);
    assert!(!out.status.success());
    // Zero patients is a mistake, not an empty corpus.
    let empty = tmp.path().join("none");
    let out = run(&["synth", "--patients", "0", "--out", empty.to_str().unwrap()]);
    assert!(!out.status.success() && !empty.exists());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--patients"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = synth(&tmp.path().join("z"), &["--notes-per-patient", "2"]);
    assert!(out.status.success());
    let notes = std::fs::read_to_string(tmp.path().join("z/notes.jsonl")).unwrap();
    assert_eq!(notes.lines().count(), 10);
}

#[test]
fn deid_eval_scores_the_synthetic_notes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = synth(tmp.path(), &[]);
    assert!(out.status.success());
    let gold = tmp.path().join("notes.jsonl");

    // Every gold type is one the evaluator maps to a kind.
    for line in std::fs::read_to_string(&gold).unwrap().lines() {
        let note: serde_json::Value = serde_json::from_str(line).unwrap();
        for span in note["spans"].as_array().unwrap() {
            let t = span["type"].as_str().unwrap();
            assert!(phigate_deid::eval::corpus_kind(t).is_some(), "gold type {t} unknown to deid eval");
        }
    }

    let out = run(&["deid", "eval", "--gold", gold.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = String::from_utf8(out.stdout).unwrap();
    let line = report.lines().find(|l| l.starts_with("entity")).expect("no entity line");
    let number_after = |label: &str| -> f64 {
        let rest = &line[line.find(label).unwrap() + label.len()..];
        rest.split_whitespace().next().unwrap().parse().unwrap()
    };
    let (recall, precision) = (number_after("recall"), number_after("precision"));
    assert!(recall > 0.5 && precision > 0.5, "recall {recall}, precision {precision}");
}
