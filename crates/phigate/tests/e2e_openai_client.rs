//! The real `openai` Python client (PyPI) against `phigate demo` over TLS:
//! chat (plain and streamed) and embeddings answered by the in-process
//! models, with the demo's own service key and certificate.
//!
//! Needs the client (`scripts/lib/openai_client.sh` sets
//! `PHIGATE_TEST_OPENAI_PYTHON`) and the model weights (`models_fetch`,
//! `PHIGATE_MODELS_DIR`); skips with a reason when either is missing, and
//! fails instead under `PHIGATE_REQUIRE_PEERS=1` / `PHIGATE_REQUIRE_MODELS=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_phigate");

fn required(var: &str) -> bool {
    std::env::var(var).as_deref() == Ok("1")
}

fn python() -> Option<String> {
    let p = std::env::var("PHIGATE_TEST_OPENAI_PYTHON").ok();
    if p.is_none() {
        assert!(
            !required("PHIGATE_REQUIRE_PEERS"),
            "PHIGATE_TEST_OPENAI_PYTHON required (scripts/lib/openai_client.sh)"
        );
        eprintln!("SKIPPED: PHIGATE_TEST_OPENAI_PYTHON not set (source scripts/lib/openai_client.sh)");
    }
    p
}

fn models_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("PHIGATE_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/models"));
    let ok = dir.join("minilm/model.safetensors").exists() && dir.join("smollm2").is_dir();
    if !ok {
        assert!(!required("PHIGATE_REQUIRE_MODELS"), "model weights required in {}", dir.display());
        eprintln!("SKIPPED: no model weights in {} (scripts/lib/models.sh: models_fetch)", dir.display());
        return None;
    }
    if !cfg!(feature = "local-models") {
        eprintln!("SKIPPED: built without the local-models feature");
        return None;
    }
    Some(dir)
}

#[test]
#[allow(clippy::zombie_processes)] // killed and reaped at the end, also on failure (guard below)
fn the_openai_python_client_chats_streams_and_embeds_against_the_demo_over_tls() {
    let (Some(python), Some(models)) = (python(), models_dir()) else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let child = Command::new(BIN)
        .args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env("PHIGATE_GATEWAY_MODELS_DIR", &models)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Kill(child);
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let (mut url, mut key) = (String::new(), String::new());
    let deadline = Instant::now() + Duration::from_secs(120);
    while url.is_empty() {
        assert!(Instant::now() < deadline, "demo did not start");
        let line = lines.next().expect("demo exited").unwrap();
        if let Some(k) = line.trim().strip_prefix("OPENAI_API_KEY=") {
            key = k.to_string();
        }
        if let Some(u) = line.strip_prefix("phigate listening on ") {
            url = u.to_string();
        }
    }
    std::thread::spawn(move || for _ in lines {});

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/openai_client/check.py");
    let out = Command::new(python)
        .arg(script)
        .env("OPENAI_BASE_URL", format!("{url}/v1"))
        .env("OPENAI_API_KEY", &key)
        .env("SSL_CERT_FILE", data.join("tls/cert.pem"))
        .env("PHIGATE_CHAT_MODEL", "smollm2-135m-instruct")
        .env("PHIGATE_EMBED_MODEL", "all-minilm-l6-v2")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "client failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    eprintln!("openai client findings: {r}");

    assert_eq!(r["models"], serde_json::json!(["all-minilm-l6-v2", "smollm2-135m-instruct"]));
    assert!(!r["plain_text"].as_str().unwrap().trim().is_empty(), "the in-process model answered");
    assert!(matches!(r["plain_finish"].as_str(), Some("stop" | "length")));
    assert!(r["plain_usage"][0].as_u64().unwrap() > 0 && r["plain_usage"][1].as_u64().unwrap() > 0);
    assert!(r["overhead_header"].as_str().unwrap().parse::<f64>().unwrap() >= 0.0);
    assert!(r["stream_pieces"].as_u64().unwrap() > 1, "streamed in pieces");
    assert!(!r["stream_text"].as_str().unwrap().trim().is_empty());
    assert!(matches!(r["stream_finish"].as_str(), Some("stop" | "length")));
    assert!(r["stream_usage"][1].as_u64().unwrap() > 0, "include_usage honoured");
    assert_eq!(r["embedding_dims"], serde_json::json!([384, 384, 384]));
    assert!(r["cos_related"].as_f64().unwrap() > r["cos_unrelated"].as_f64().unwrap());
    assert_eq!(r["unknown_model_error"], "model_not_found");
}
