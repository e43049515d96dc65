//! The AI gateway end to end: the real binary over TLS on 127.0.0.1, a real
//! OpenAI-compatible capture server (phigate-upstream-stub) standing in for
//! hosted vendors, canary PHI in every place a request carries text.
//!
//! What must hold: a vendor without a BAA in force never receives a canary
//! (it gets placeholders); the caller gets the canaries back; an expired or
//! unapproved vendor gets nothing; no canary reaches a log line, the metrics
//! or the audit files in clear; bad input gets OpenAI-style errors and is
//! still recorded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use phigate_upstream_stub::{StubConfig, StubHandle};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_phigate");

/// Identifiers the de-identification engine must catch, unique enough to grep for.
const CANARIES: [&str; 5] = ["Okonkwo", "88231457", "617-555-0142", "margaret.okonkwo@example.org", "03/14/1961"];
const NOTE: &str = "Mrs. Margaret Okonkwo, MRN: 88231457, DOB 03/14/1961, phone 617-555-0142, \
                    email margaret.okonkwo@example.org, reports chest pain since last night.";

/// The capture server on its own runtime thread (the test itself is blocking).
struct Stub {
    handle: StubHandle,
    _stop: std::sync::mpsc::Sender<()>,
}

fn start_stub(config: StubConfig) -> Stub {
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(phigate_upstream_stub::serve(listener, config).await.unwrap()).unwrap();
            // Serve until the test drops its end.
            tokio::task::spawn_blocking(move || stop_rx.recv()).await.ok();
        });
    });
    Stub { handle: rx.recv_timeout(Duration::from_secs(30)).unwrap(), _stop: stop_tx }
}

/// The server; killed and reaped when the test ends. Its log lines are kept.
struct Server {
    child: Child,
    url: String,
    key: String,
    data: PathBuf,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    stdout: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Stops the server gracefully (SIGTERM) so the ledger is closed.
    fn stop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("server did not stop");
    }

    /// Uses `key` (the demo app key from an earlier first run).
    fn with_key(mut self, key: &str) -> Self {
        self.key = key.to_string();
        self
    }

    fn logs(&self) -> String {
        format!("{}\n{}", self.stdout.join("\n"), self.stderr.lock().unwrap())
    }
}

#[allow(clippy::zombie_processes)] // reaped by `Server::drop`
fn start(data: &Path, backends: &str, env: &[(&str, &str)]) -> Server {
    std::fs::create_dir_all(data).unwrap();
    let file = data.with_extension("backends.toml");
    std::fs::write(&file, backends).unwrap();
    let mut child = Command::new(BIN)
        .args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env("PHIGATE_GATEWAY_BACKENDS_FILE", &file)
        .env("PHIGATE_LOG_LEVEL", "debug")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    {
        let mut err = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
    }
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stdout = Vec::new();
    let mut key = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "server did not report its address: {stdout:?}");
        let line = lines.next().expect("server exited before listening").unwrap();
        stdout.push(line.clone());
        if let Some(k) = line.trim().strip_prefix("OPENAI_API_KEY=") {
            key = k.to_string();
        }
        if let Some(url) = line.strip_prefix("phigate listening on ") {
            // The demo prints its app key on first run only (see `init`).
            // Keep draining stdout so the server never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
            return Server { child, url: url.to_string(), key, data: data.to_path_buf(), stderr, stdout };
        }
    }
}

fn agent(data: &Path) -> ureq::Agent {
    let pem = std::fs::read(data.join("tls/cert.pem")).unwrap();
    let cert = ureq::tls::Certificate::from_pem(&pem).unwrap().to_owned();
    let tls = ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::new_with_certs(&[cert])).build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// POSTs `body` to `path` as the demo app (service role, treatment).
fn post(s: &Server, path: &str, body: impl AsRef<[u8]>) -> (u16, ureq::http::HeaderMap, String) {
    let mut resp = agent(&s.data)
        .post(format!("{}{path}", s.url))
        .header("authorization", format!("Bearer {}", s.key))
        .header("x-purpose-of-use", "treatment")
        .header("content-type", "application/json")
        .send(body.as_ref())
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.body_mut().read_to_string().unwrap_or_default())
}

/// Streams a chat completion; returns the concatenated content and the raw events.
fn post_stream(s: &Server, body: &Value) -> (u16, String, Vec<String>) {
    let resp = agent(&s.data)
        .post(format!("{}/v1/chat/completions", s.url))
        .header("authorization", format!("Bearer {}", s.key))
        .header("x-purpose-of-use", "treatment")
        .header("content-type", "application/json")
        .send(body.to_string().as_bytes())
        .unwrap();
    let status = resp.status().as_u16();
    let mut content = String::new();
    let mut events = Vec::new();
    for line in BufReader::new(resp.into_body().into_reader()).lines() {
        let line = line.unwrap();
        let Some(data) = line.strip_prefix("data: ") else { continue };
        events.push(data.to_string());
        if data == "[DONE]" {
            break;
        }
        let v: Value = serde_json::from_str(data).unwrap();
        if let Some(t) = v["choices"][0]["delta"]["content"].as_str() {
            content.push_str(t);
        }
    }
    (status, content, events)
}

fn vendor(id: &str, base: &str, model: &str, extra: &str) -> String {
    format!(
        "[[backend]]\nid = \"{id}\"\nkind = \"vendor\"\nbase_url = \"{base}\"\nmodel = \"{model}\"\n\
         model_version = \"stub-1\"\nendpoints = [\"chat\", \"embeddings\"]\n{extra}\n"
    )
}

fn assert_no_canary(what: &str, text: &str) {
    for c in CANARIES {
        assert!(!text.contains(c), "canary {c:?} found in {what}");
    }
}

/// Every file under `dir`, concatenated (lossy), for canary greps.
fn read_tree(dir: &Path) -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.push_str(&read_tree(&p));
        } else {
            out.push_str(&String::from_utf8_lossy(&std::fs::read(&p).unwrap()));
        }
    }
    out
}

#[test]
fn canaries_never_reach_a_vendor_without_a_baa_and_come_back_restored() {
    let stub = start_stub(StubConfig::default().with_model("vendor-chat"));
    let dir = tempfile::tempdir().unwrap();
    let backends = vendor(
        "vendor-nobaa",
        &stub.handle.base_url(),
        "vendor-chat",
        "data_classes = [\"deidentified\"]\napproval = \"approved\"\non_phi = \"redact-and-forward\"",
    );
    let mut s = start(&dir.path().join("data"), &backends, &[]);

    // Plain chat: the vendor echoes what it received; the caller sees the original.
    let req = json!({"model": "vendor-chat", "messages": [
        {"role": "system", "content": "You summarise notes."},
        {"role": "user", "content": NOTE}]});
    let (status, headers, body) = post(&s, "/v1/chat/completions", req.to_string());
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], format!("echo: {NOTE}"), "answer re-identified exactly");
    let overhead: f64 = headers["x-phigate-overhead-ms"].to_str().unwrap().parse().unwrap();
    assert!(overhead >= 0.0);

    // Streamed in 3-character chunks, so placeholders are split across chunks.
    let mut streamed = req.clone();
    streamed["stream"] = json!(true);
    let (status, content, events) = post_stream(&s, &streamed);
    assert_eq!(status, 200);
    assert_eq!(content, format!("echo: {NOTE}"), "stream re-identified exactly");
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));

    // Tool-call arguments come back restored, JSON-escaped where they land.
    let tools = json!({"model": "vendor-chat", "tools": [{"type": "function", "function": {
        "name": "file_note", "parameters": {"type": "object"}}}],
        "messages": [{"role": "user", "content": format!("tool please: {NOTE}")}]});
    let (status, _, body) = post(&s, "/v1/chat/completions", tools.to_string());
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let args: Value =
        serde_json::from_str(v["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"].as_str().unwrap())
            .unwrap();
    assert_eq!(args["text"], format!("tool please: {NOTE}"));

    // Embeddings of PHI: the vendor gets placeholders.
    let (status, _, body) =
        post(&s, "/v1/embeddings", json!({"model": "vendor-chat", "input": [NOTE, "no identifiers here"]}).to_string());
    assert_eq!(status, 200, "{body}");

    // The vendor saw every call, and never a canary: placeholders instead.
    let captured = stub.handle.captured();
    assert_eq!(captured.len(), 4, "one request per call");
    for body in &captured {
        assert_no_canary("a request the vendor received", body);
        assert!(body.contains("[[NAME_") || body.contains("[[PERSON_") || body.contains("[["), "placeholders: {body}");
    }

    let metrics = agent(&s.data).get(format!("{}/metrics", s.url)).call().unwrap().body_mut().read_to_string().unwrap();
    assert!(metrics.contains("phigate_gateway_overhead_seconds"), "overhead metric exported");
    assert_no_canary("/metrics", &metrics);
    s.stop();
    assert_no_canary("the server's log lines", &s.logs());
    assert_no_canary("the audit ledger files", &read_tree(&s.data.join("audit")));
    let verify = Command::new(BIN).args(["audit", "verify", "--data-dir"]).arg(&s.data).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
}

#[test]
fn expired_or_unapproved_vendors_get_no_phi_and_refusals_are_openai_errors() {
    let stub = start_stub(StubConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let base = stub.handle.base_url();
    let backends = [
        vendor(
            "vendor-expired-refuse",
            &base,
            "expired-refuse",
            "data_classes = [\"phi\", \"public\"]\napproval = \"approved\"\non_phi = \"refuse\"\n\
             [backend.baa]\nreference = \"BAA-OLD\"\nexpires = 2020-01-31",
        ),
        vendor(
            "vendor-expired-redact",
            &base,
            "expired-redact",
            "data_classes = [\"phi\", \"deidentified\"]\napproval = \"approved\"\non_phi = \"redact-and-forward\"\n\
             [backend.baa]\nreference = \"BAA-OLD-2\"\nexpires = 2020-01-31",
        ),
        vendor("vendor-pending", &base, "pending-model", "data_classes = [\"phi\"]\napproval = \"pending\""),
    ]
    .join("\n");
    let s = start(&dir.path().join("data"), &backends, &[]);
    let chat = |model: &str| json!({"model": model, "messages": [{"role": "user", "content": NOTE}]}).to_string();

    let (status, _, body) = post(&s, "/v1/chat/completions", chat("expired-refuse"));
    assert_eq!(status, 403, "{body}");
    let e: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(e["error"]["code"], "phi_not_allowed");
    assert_eq!(e["error"]["type"], "invalid_request_error");

    let (status, _, body) = post(&s, "/v1/chat/completions", chat("pending-model"));
    assert_eq!(status, 503, "an unapproved backend is never used: {body}");

    // The same request without identifiers may go to the expired-BAA vendor.
    let clean = json!({"model": "expired-refuse", "messages": [{"role": "user", "content": "What is a normal resting heart rate?"}]});
    let (status, _, body) = post(&s, "/v1/chat/completions", clean.to_string());
    assert_eq!(status, 200, "{body}");

    let (status, _, body) = post(&s, "/v1/chat/completions", chat("expired-redact"));
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], format!("echo: {NOTE}"));

    let captured = stub.handle.captured();
    assert_eq!(captured.len(), 2, "only the clean request and the redacted one were sent: {}", captured.len());
    for body in &captured {
        assert_no_canary("a request to an expired or unapproved vendor", body);
        assert!(!body.contains("pending-model"), "the pending vendor received a request");
    }
}

#[test]
fn bad_input_gets_openai_errors_never_a_panic_and_is_recorded() {
    let stub = start_stub(StubConfig::default().with_chunk_chars(1));
    let dir = tempfile::tempdir().unwrap();
    let backends = vendor(
        "vendor-nobaa",
        &stub.handle.base_url(),
        "vendor-chat",
        "data_classes = [\"deidentified\"]\napproval = \"approved\"\non_phi = \"redact-and-forward\"",
    );
    let mut s = start(&dir.path().join("data"), &backends, &[("PHIGATE_MAX_BODY_BYTES", "65536")]);
    let kind = |body: &str| -> (String, String) {
        let v: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"));
        (v["error"]["type"].as_str().unwrap_or("").into(), v["error"]["code"].as_str().unwrap_or("").into())
    };

    let (status, _, body) = post(&s, "/v1/chat/completions", "{\"model\": \"vendor-chat\", \"messages\": [");
    assert_eq!(status, 400);
    assert_eq!(kind(&body).0, "invalid_request_error");

    let (status, _, body) =
        post(&s, "/v1/chat/completions", json!({"model": "no-such-model", "messages": []}).to_string());
    assert_eq!(status, 404);
    assert_eq!(kind(&body).1, "model_not_found");

    let big = json!({"model": "vendor-chat", "messages": [{"role": "user", "content": "x".repeat(100_000)}]});
    let (status, _, body) = post(&s, "/v1/chat/completions", big.to_string());
    assert_eq!(status, 413, "{}", &body[..body.len().min(300)]);
    assert_eq!(kind(&body).0, "invalid_request_error");

    let mut invalid_utf8 = br#"{"model": "vendor-chat", "messages": [{"role": "user", "content": "caf"#.to_vec();
    invalid_utf8.extend_from_slice(&[0xff, 0xfe]);
    invalid_utf8.extend_from_slice(br#""}]}"#);
    let (status, _, body) = post(&s, "/v1/chat/completions", invalid_utf8);
    assert_eq!(status, 400);
    assert_eq!(kind(&body).0, "invalid_request_error");

    // Disconnect mid-stream: read one event of a long answer, then hang up.
    let long = json!({"model": "vendor-chat", "stream": true,
        "messages": [{"role": "user", "content": format!("{NOTE} {}", "lorem ipsum ".repeat(2000))}]});
    let resp = agent(&s.data)
        .post(format!("{}/v1/chat/completions", s.url))
        .header("authorization", format!("Bearer {}", s.key))
        .header("x-purpose-of-use", "treatment")
        .header("content-type", "application/json")
        .send(long.to_string().as_bytes())
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let mut reader = BufReader::new(resp.into_body().into_reader());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    assert!(first.starts_with("data: "), "{first}");
    drop(reader);

    // The server is still healthy after all of that.
    let (status, _, _) = post(
        &s,
        "/v1/chat/completions",
        json!({"model": "vendor-chat",
        "messages": [{"role": "user", "content": "hello"}]})
        .to_string(),
    );
    assert_eq!(status, 200);
    std::thread::sleep(Duration::from_millis(500));
    s.stop();
    assert!(!s.logs().contains("panicked"), "no panic in the server log");

    // Every attempt is in the ledger as a model.call with its outcome.
    let out = Command::new(BIN).args(["audit", "export", "--data-dir"]).arg(&s.data).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let export = String::from_utf8_lossy(&out.stdout);
    let calls = export.lines().filter(|l| l.contains("model.call")).count();
    assert!(calls >= 6, "every call recorded, got {calls}:\n{export}");
    assert_no_canary("the FHIR export", &export);
}

#[test]
fn a_researcher_only_ever_sends_and_sees_placeholders_even_to_a_phi_cleared_backend() {
    let stub = start_stub(StubConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // Self-hosted and cleared for PHI: a clinician's text would go as is.
    let backends = format!(
        "[[backend]]\nid = \"gpu\"\nkind = \"self-hosted\"\nbase_url = \"{}\"\nmodel = \"clinical\"\n\
         model_version = \"stub-1\"\ndata_classes = [\"phi\", \"deidentified\", \"public\"]\napproval = \"approved\"\n",
        stub.handle.base_url()
    );
    let demo_key = init(&data, &backends);
    let research_key = cli_key(&data, "study-app", "researcher");
    let s = start(&data, &backends, &[]).with_key(&demo_key);
    let call = |key: &str, purpose: &str| {
        let mut resp = agent(&s.data)
            .post(format!("{}/v1/chat/completions", s.url))
            .header("authorization", format!("Bearer {key}"))
            .header("x-purpose-of-use", purpose)
            .header("content-type", "application/json")
            .send(json!({"model": "clinical", "messages": [{"role": "user", "content": NOTE}]}).to_string().as_bytes())
            .unwrap();
        (resp.status().as_u16(), resp.body_mut().read_to_string().unwrap())
    };
    // The treating side (the demo app, treatment): PHI goes to the cleared backend as is.
    let (status, body) = call(&s.key, "treatment");
    assert_eq!(status, 200, "{body}");
    assert!(stub.handle.captured()[0].contains("Okonkwo"), "a PHI-cleared backend gets the original");
    // The researcher: refused for treatment, de-identified both ways for research.
    let (status, _) = call(&research_key, "treatment");
    assert_eq!(status, 403);
    let (status, body) = call(&research_key, "research");
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let answer = v["choices"][0]["message"]["content"].as_str().unwrap();
    assert_no_canary("the researcher's answer", answer);
    assert!(answer.contains("[["), "placeholders stay in: {answer}");
    let captured = stub.handle.captured();
    assert_eq!(captured.len(), 2);
    assert_no_canary("what the backend received for the researcher", &captured[1]);
}

/// First run of the demo on `data` (keys, database, demo accounts), stopped
/// again; returns the demo app key it printed once.
fn init(data: &Path, backends: &str) -> String {
    let mut s = start(data, backends, &[]);
    s.stop();
    assert!(s.key.starts_with("phg_"), "the first run prints the demo app key");
    s.key.clone()
}

/// Creates a service account with `role` through the CLI (no server may
/// hold the ledger meanwhile) and returns its key.
fn cli_key(data: &Path, name: &str, role: &str) -> String {
    let out = Command::new(BIN)
        .args(["service-accounts", "create", "--name", name, "--role", role, "--data-dir"])
        .arg(data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).split_whitespace().find(|w| w.starts_with("phg_")).unwrap().to_string()
}

#[test]
fn registry_admin_changes_take_effect_at_once_are_audited_and_survive_a_restart() {
    let stub = start_stub(StubConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // A vendor that may receive PHI once a BAA is recorded; until then it gets redacted text.
    let backends = vendor(
        "vendor-x",
        &stub.handle.base_url(),
        "vendor-x-chat",
        "data_classes = [\"phi\", \"deidentified\"]\napproval = \"approved\"\non_phi = \"redact-and-forward\"",
    );
    let demo_key = init(&data, &backends);
    let admin = cli_key(&data, "ops-admin", "administrator");
    let mut s = start(&data, &backends, &[]).with_key(&demo_key);
    let chat = json!({"model": "vendor-x-chat", "messages": [{"role": "user", "content": NOTE}]}).to_string();
    let admin_post = |s: &Server, body: Value| {
        let mut resp = agent(&s.data)
            .post(format!("{}/api/v1/admin/backends/vendor-x", s.url))
            .header("authorization", format!("Bearer {admin}"))
            .header("x-purpose-of-use", "operations")
            .header("content-type", "application/json")
            .send(body.to_string().as_bytes())
            .unwrap();
        (resp.status().as_u16(), resp.body_mut().read_to_string().unwrap())
    };

    assert_eq!(post(&s, "/v1/chat/completions", &chat).0, 200);
    assert_no_canary("a vendor without a BAA", &stub.handle.captured()[0]);

    // An expired agreement is refused; one in force clears the vendor for PHI.
    let (status, _) = admin_post(&s, json!({"baa": {"reference": "BAA-9", "expires": "2020-01-01"}}));
    assert_eq!(status, 400);
    let (status, body) = admin_post(&s, json!({"baa": {"reference": "BAA-2099-7", "expires": "2099-12-31"}}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(post(&s, "/v1/chat/completions", &chat).0, 200);
    assert!(stub.handle.captured()[1].contains("Okonkwo"), "BAA in force: the vendor is cleared for PHI");

    // Suspended: not used at all.
    assert_eq!(admin_post(&s, json!({"approval": "suspended"})).0, 200);
    assert_eq!(post(&s, "/v1/chat/completions", &chat).0, 503);
    assert_eq!(stub.handle.captured().len(), 2);

    // A restart keeps the decisions (suspended, BAA on record).
    s.stop();
    let listing = {
        let s2 = start(&data, &backends, &[]).with_key(&demo_key);
        assert_eq!(post(&s2, "/v1/chat/completions", &chat).0, 503, "still suspended after a restart");
        let mut resp = agent(&s2.data)
            .get(format!("{}/api/v1/admin/backends", s2.url))
            .header("authorization", format!("Bearer {admin}"))
            .header("x-purpose-of-use", "operations")
            .call()
            .unwrap();
        resp.body_mut().read_to_string().unwrap()
    };
    let v: Value = serde_json::from_str(&listing).unwrap();
    assert_eq!(v["backends"][0]["backend"]["approval"], "suspended");
    assert_eq!(v["backends"][0]["backend"]["baa"]["reference"], "BAA-2099-7");
    assert!(v["backends"][0]["clearance_today"].as_str().unwrap().starts_with("refused"));

    let out = Command::new(BIN).args(["audit", "export", "--data-dir"]).arg(&data).output().unwrap();
    let export = String::from_utf8_lossy(&out.stdout);
    for action in ["config.backend.baa_set", "config.backend.suspended"] {
        assert!(export.contains(action), "{action} recorded");
    }
}
