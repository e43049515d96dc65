//! The key and backup commands, as an operator runs them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::BIN;

fn phigate(data: &Path, args: &[&str]) -> Output {
    phigate_env(data, args, &[])
}

fn phigate_env(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BIN).args(args).arg("--data-dir").arg(data).envs(env.iter().copied()).output().unwrap()
}

fn ok(out: &Output) -> String {
    common::ok_stdout(out)
}

fn err(out: &Output) -> String {
    assert!(!out.status.success(), "expected failure, got: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn init(data: &Path) {
    common::init_data_dir(data, &[]);
}

#[test]
fn rotate_rewrap_disable_then_backup_and_restore() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    init(&data);

    let status = ok(&phigate(&data, &["keys", "status"]));
    assert!(status.contains("local-file") && status.contains("v1"), "{status}");
    // Data keys under v1: demo subjects, blind index, audit signing, identity sealing…
    let under_v1: u64 = status
        .lines()
        .find(|l| l.starts_with("v1"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(under_v1 >= 5, "{status}");
    assert!(ok(&phigate(&data, &["keys", "rotate"])).contains("v2"));
    let refused = err(&phigate(&data, &["keys", "disable", "v1"]));
    assert!(refused.contains("still wrapped under v1") && refused.contains("keys rewrap"), "{refused}");
    let rewrap = ok(&phigate(&data, &["keys", "rewrap"]));
    assert!(rewrap.contains(&format!("re-wrapped {under_v1} data keys")), "{rewrap}");
    ok(&phigate(&data, &["keys", "disable", "v1"]));
    let status = ok(&phigate(&data, &["keys", "status"]));
    assert!(status.lines().any(|l| l.starts_with("v1") && l.contains("disabled")), "{status}");
    assert!(
        status.lines().any(|l| l.starts_with("v2") && l.contains("yes") && l.ends_with(&format!(" {under_v1}"))),
        "{status}"
    );

    let archive = dir.path().join("backup.phigate");
    let out = ok(&phigate(&data, &["backup", "--out", archive.to_str().unwrap()]));
    assert!(out.contains("sealed under key-encryption key v2"), "{out}");

    // Restore needs --force over an existing database.
    let refused = err(&phigate(&data, &["restore", "--from", archive.to_str().unwrap()]));
    assert!(refused.contains("--force"), "{refused}");

    // Restore into a fresh data dir that has the same key file.
    let other = dir.path().join("other");
    std::fs::create_dir_all(other.join("keys")).unwrap();
    std::fs::copy(data.join("keys/kek.json"), other.join("keys/kek.json")).unwrap();
    let out = ok(&phigate(&other, &["restore", "--from", archive.to_str().unwrap()]));
    assert!(out.contains("restored backup"), "{out}");
    assert!(ok(&phigate(&other, &["keys", "status"])).contains("v2"));

    // A tampered archive is refused with a clear message.
    let mut bytes = std::fs::read(&archive).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    let bad = dir.path().join("tampered.phigate");
    std::fs::write(&bad, &bytes).unwrap();
    let third = dir.path().join("third");
    std::fs::create_dir_all(third.join("keys")).unwrap();
    std::fs::copy(data.join("keys/kek.json"), third.join("keys/kek.json")).unwrap();
    let refused = err(&phigate(&third, &["restore", "--from", bad.to_str().unwrap()]));
    assert!(refused.contains("tampered"), "{refused}");

    // With another installation's key: refused, wrong key named.
    let stranger = dir.path().join("stranger");
    init(&stranger);
    std::fs::remove_file(stranger.join("phigate.db")).unwrap();
    let refused = err(&phigate(&stranger, &["restore", "--from", archive.to_str().unwrap()]));
    assert!(refused.contains("wrong key"), "{refused}");
}

#[test]
fn missing_key_file_with_existing_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    init(&data);
    std::fs::rename(data.join("keys/kek.json"), dir.path().join("kek.json.moved")).unwrap();
    let e = err(&phigate(&data, &["keys", "status"]));
    assert!(e.contains("restore the key file"), "{e}");
}

#[test]
fn shred_requires_confirmation_and_a_valid_id() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    init(&data);
    assert!(err(&phigate(&data, &["subjects", "shred", "--subject", "not-an-id"])).contains("invalid id"));
    let e = err(&phigate(&data, &["subjects", "shred", "--subject", "s_00000000000000000000000000000000"]));
    assert!(e.contains("--yes"), "{e}");
    let e = err(&phigate(&data, &["subjects", "shred", "--subject", "s_00000000000000000000000000000000", "--yes"]));
    assert!(e.contains("not found"), "{e}");
}

#[test]
fn postgres_backend_from_the_environment() {
    let Ok(url) = std::env::var("PHIGATE_TEST_POSTGRES_URL") else {
        assert!(std::env::var("PHIGATE_REQUIRE_PEERS").as_deref() != Ok("1"), "PHIGATE_TEST_POSTGRES_URL required");
        eprintln!("SKIPPED: PHIGATE_TEST_POSTGRES_URL not set");
        return;
    };
    let schema = format!("phigate_cli_{}", std::process::id());
    let env = [
        ("PHIGATE_STORE_BACKEND", "postgres"),
        ("PHIGATE_STORE_POSTGRES_URL", url.as_str()),
        ("PHIGATE_STORE_POSTGRES_SCHEMA", schema.as_str()),
    ];
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::init_data_dir(&data, &env);
    assert!(!data.join("phigate.db").exists(), "nothing goes to SQLite when PostgreSQL is configured");
    let status = ok(&phigate_env(&data, &["keys", "status"], &env));
    assert!(status.lines().any(|l| l.starts_with("v1") && l.split_whitespace().last() != Some("0")), "{status}");
    let refused = err(&phigate_env(&data, &["backup", "--out", dir.path().join("b").to_str().unwrap()], &env));
    assert!(refused.contains("pg_dump"), "{refused}");
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    c.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).unwrap();
}

#[test]
fn admin_operations_are_on_the_ledger_and_verify_catches_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    init(&data);
    ok(&phigate(&data, &["keys", "rotate"]));
    ok(&phigate(&data, &["keys", "rewrap"]));
    // A failed attempt is on the record too.
    err(&phigate(&data, &["subjects", "shred", "--subject", "s_00000000000000000000000000000000", "--yes"]));

    let verified = ok(&phigate(&data, &["audit", "verify"]));
    // service.start, policy.load, service.stop, keys.rotate, keys.rewrap, subject.shred.
    assert!(verified.contains("audit verification passed: 6 entries"), "{verified}");

    let export = ok(&phigate(&data, &["audit", "export", "--since", "2000-01-01"]));
    let events: Vec<serde_json::Value> = export.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events.len(), 6, "{export}");
    assert!(events.iter().all(|e| e["resourceType"] == "AuditEvent"));
    assert_eq!(events.iter().filter(|e| e.to_string().contains("subject.shred")).count(), 1);
    let text = export.to_lowercase();
    for action in ["service.start", "policy.load", "service.stop", "keys.rotate", "keys.rewrap", "subject.shred"] {
        assert!(text.contains(action), "{action} missing from {export}");
    }

    let proof = ok(&phigate(&data, &["audit", "prove", "--seq", "2"]));
    let proof: serde_json::Value = serde_json::from_str(&proof).unwrap();
    assert_eq!(proof["tree_size"], 6);
    let note = proof["signed_checkpoint"].as_str().unwrap();
    assert!(note.starts_with("phigate/audit\n6\n"), "C2SP checkpoint note for size 6: {note}");

    // Flip one byte in the middle of a segment: verification fails and says where.
    let segments: Vec<_> = std::fs::read_dir(data.join("audit"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg" || x == "log"))
        .collect();
    assert!(
        !segments.is_empty(),
        "no segment files in {:?}",
        std::fs::read_dir(data.join("audit")).unwrap().collect::<Vec<_>>()
    );
    let mut bytes = std::fs::read(&segments[0]).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&segments[0], &bytes).unwrap();
    let failed = err(&phigate(&data, &["audit", "verify"]));
    assert!(
        failed.contains("FAILED") && failed.contains(segments[0].file_name().unwrap().to_str().unwrap()),
        "{failed}"
    );
}

#[test]
fn user_and_service_account_administration_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    init(&data);
    let added =
        ok(&phigate(&data, &["users", "add", "--username", "nurse.kim", "--name", "Nurse Kim", "--role", "triage"]));
    assert!(added.contains("one-time password"), "{added}");
    let password =
        added.split_whitespace().find(|w| w.len() == 24 && w.chars().all(|c| c.is_ascii_hexdigit())).unwrap();
    let list = ok(&phigate(&data, &["users", "list"]));
    assert!(list.lines().any(|l| l.starts_with("nurse.kim") && l.contains("triage") && l.contains("active")), "{list}");
    assert!(!list.contains(password), "passwords are never listed");
    assert!(
        err(&phigate(&data, &["users", "add", "--username", "NURSE.KIM", "--name", "x", "--role", "triage"]))
            .contains("exists")
    );
    ok(&phigate(&data, &["users", "disable", "--username", "nurse.kim"]));
    assert!(
        ok(&phigate(&data, &["users", "list"])).lines().any(|l| l.starts_with("nurse.kim") && l.contains("disabled"))
    );

    let created = ok(&phigate(&data, &["service-accounts", "create", "--name", "ingest", "--role", "service"]));
    assert!(created.contains("service:ingest") && created.contains("phg_"), "{created}");
    let first_key = created.split_whitespace().find(|w| w.starts_with("phg_")).unwrap().to_string();
    let first_id = first_key.split('_').nth(1).unwrap().to_string();
    let rotated =
        ok(&phigate(&data, &["service-accounts", "rotate", "--account", "service:ingest", "--grace-hours", "1"]));
    assert!(rotated.contains("previous keys stay valid 1 h"), "{rotated}");
    ok(&phigate(&data, &["service-accounts", "revoke", "--key-id", &first_id]));
    let keys = ok(&phigate(&data, &["service-accounts", "keys", "--account", "service:ingest"]));
    assert_eq!(keys.lines().count(), 3, "header + two keys: {keys}");
    assert!(
        keys.lines().any(|l| l.starts_with(&first_id) && l.split_whitespace().count() == 4),
        "revoked key shows when: {keys}"
    );
    assert!(!keys.contains(&first_key), "secrets are never listed");

    let export = ok(&phigate(&data, &["audit", "export"]));
    for action in
        ["user.create", "user.disable", "service_account.create", "service_account.rotate", "service_key.revoke"]
    {
        assert!(export.contains(action), "{action} not in the ledger");
    }
    assert!(!export.contains(password) && !export.contains(&first_key), "no credentials in the ledger");
    assert!(ok(&phigate(&data, &["audit", "verify"])).contains("passed"));
}
