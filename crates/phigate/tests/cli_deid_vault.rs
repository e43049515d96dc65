//! Keyed pseudonyms are reversible only through the encrypted token vault,
//! only with a stated reason, always on the audit record, and never after
//! the run's vault subject is crypto-shredded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Output;

/// Canary identifiers: they must never sit in clear in the data directory.
const MRN: &str = "MRN 7741093";
const NAME: &str = "Quillfeather";
const NOTE: &str = "Mrs. Harriet Quillfeather, MRN 7741093, seen 03/14/2024 for CHF; metoprolol 25 mg.";
const REASON: &str = "IRB-2026-114 adverse-event follow-up";

fn run(data: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let data = data.to_str().unwrap();
    let args: Vec<&str> = args.iter().copied().chain(["--data-dir", data]).collect();
    common::run_with_stdin(&args, stdin)
}

fn ok(out: &Output) -> (String, String) {
    (common::ok_stdout(out), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn init(data: &Path) {
    common::init_data_dir(data, &[]);
}

fn files_contain(dir: &Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).unwrap().flatten().any(|e| {
        let p = e.path();
        if p.is_dir() {
            files_contain(&p, needle)
        } else {
            std::fs::read(&p).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle))
        }
    })
}

#[test]
fn pseudonyms_reverse_through_the_vault_with_a_reason_until_shredded() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    init(&data);
    let policy = dir.path().join("pseudo.toml");
    std::fs::write(&policy, "[operators]\nNAME = \"pseudonym\"\nMRN = \"pseudonym\"\n").unwrap();
    let policy = policy.to_str().unwrap();

    // Redact: tokens out, originals into the vault.
    let (redacted, note) = ok(&run(
        &data,
        &["deid", "redact", "--policy", policy, "--format", "text", "--input", "-", "--output", "-"],
        NOTE.as_bytes(),
    ));
    assert!(!redacted.contains(NAME) && !redacted.contains("7741093"), "{redacted}");
    assert!(redacted.contains("[NAME-") && redacted.contains("[MRN-"), "{redacted}");
    assert!(redacted.contains("metoprolol 25 mg"), "clinical content kept: {redacted}");
    let subject = note.split_whitespace().find(|w| w.starts_with("s_")).unwrap().trim_end_matches(':').to_owned();
    assert!(note.contains("pseudonyms stored in the token vault"), "{note}");

    // No reason, no re-identification.
    let refused = run(&data, &["deid", "reidentify", "--reason", "because"], redacted.as_bytes());
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--reason must say why"));

    // With a reason: the originals come back, and the act is on the record.
    let (restored, summary) = ok(&run(&data, &["deid", "reidentify", "--reason", REASON], redacted.as_bytes()));
    assert!(restored.contains(NAME) && restored.contains("7741093"), "{restored}");
    assert!(summary.contains("recorded in the audit ledger as deid.reidentify"), "{summary}");
    assert!(!summary.contains(NAME) && !summary.contains("7741093"), "the summary names no PHI: {summary}");
    let verify = ok(&run(&data, &["audit", "verify"], b""));
    assert!(verify.0.contains("passed") || verify.1.contains("passed"), "{verify:?}");
    let (export, _) = ok(&run(&data, &["audit", "export"], b""));
    assert!(export.contains("deid.reidentify"), "the re-identification is in the ledger");
    assert!(!export.contains(REASON), "the reason is sealed, not in clear");

    // Canaries: never in clear anywhere under the data directory.
    for canary in [NAME, MRN, "7741093", REASON] {
        assert!(!files_contain(&data, canary.as_bytes()), "{canary:?} found in clear under the data directory");
    }

    // Crypto-shred the run's vault: the tokens stay tokens for good.
    ok(&run(&data, &["subjects", "shred", "--subject", &subject, "--yes"], b""));
    let (after, summary) = ok(&run(&data, &["deid", "reidentify", "--reason", REASON], redacted.as_bytes()));
    assert_eq!(after, redacted, "nothing re-identified after the shred");
    assert!(summary.contains("2 crypto-shredded"), "{summary}");
}
