//! `phigate deid`: the JSONL contract other tools depend on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_phigate");

fn run_with_stdin(args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

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
fn unknown_policy_and_missing_file_are_clear_errors() {
    let out = run_with_stdin(&["deid", "redact", "--policy", "nope", "--input", "-", "--output", "-"], b"");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a built-in policy"));
    let out = run_with_stdin(&["deid", "detect", "--input", "/nonexistent.jsonl", "--output", "-"], b"");
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("/nonexistent.jsonl"));
}
