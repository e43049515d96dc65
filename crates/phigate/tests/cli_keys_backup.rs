//! The key and backup commands, as an operator runs them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_phigate");

fn phigate(data: &Path, args: &[&str]) -> Output {
    phigate_env(data, args, &[])
}

fn phigate_env(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BIN).args(args).arg("--data-dir").arg(data).envs(env.iter().copied()).output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn err(out: &Output) -> String {
    assert!(!out.status.success(), "expected failure, got: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs the demo once so the data dir has keys, a database and demo records.
fn init(data: &Path) {
    init_env(data, &[]);
}

fn init_env(data: &Path, env: &[(&str, &str)]) {
    let mut child = Command::new(BIN)
        .args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut text = String::new();
    while !text.contains("phigate listening") {
        assert!(Instant::now() < deadline);
        let mut buf = [0u8; 256];
        let n = std::io::Read::read(&mut out, &mut buf).unwrap();
        assert!(n > 0, "demo exited early");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn rotate_rewrap_disable_then_backup_and_restore() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    init(&data);

    let status = ok(&phigate(&data, &["keys", "status"]));
    assert!(status.contains("local-file") && status.contains("v1"), "{status}");
    assert!(ok(&phigate(&data, &["keys", "rotate"])).contains("v2"));
    let refused = err(&phigate(&data, &["keys", "disable", "v1"]));
    assert!(refused.contains("still wrapped under v1") && refused.contains("keys rewrap"), "{refused}");
    assert!(ok(&phigate(&data, &["keys", "rewrap"])).contains("re-wrapped 4 data keys"));
    ok(&phigate(&data, &["keys", "disable", "v1"]));
    let status = ok(&phigate(&data, &["keys", "status"]));
    assert!(status.lines().any(|l| l.starts_with("v1") && l.contains("disabled")), "{status}");
    assert!(status.lines().any(|l| l.starts_with("v2") && l.contains("yes") && l.ends_with('4')), "{status}");

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
    init_env(&data, &env);
    assert!(!data.join("phigate.db").exists(), "nothing goes to SQLite when PostgreSQL is configured");
    let status = ok(&phigate_env(&data, &["keys", "status"], &env));
    assert!(status.lines().any(|l| l.starts_with("v1") && l.ends_with('4')), "{status}");
    let refused = err(&phigate_env(&data, &["backup", "--out", dir.path().join("b").to_str().unwrap()], &env));
    assert!(refused.contains("pg_dump"), "{refused}");
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    c.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).unwrap();
}
