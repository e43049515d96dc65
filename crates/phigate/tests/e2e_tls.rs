//! End to end, over real TLS on 127.0.0.1: the `phigate demo` binary as a
//! user runs it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

const BIN: &str = env!("CARGO_BIN_EXE_phigate");

/// Kills and reaps the server when a test ends, also when it fails.
struct Demo {
    child: Child,
    addr: SocketAddr,
    stdout: Vec<String>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_demo(data_dir: &Path) -> Demo {
    start_demo_env(data_dir, &[])
}

fn start_demo_env(data_dir: &Path, env: &[(&str, &str)]) -> Demo {
    let child = Command::new(BIN)
        .args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut demo = Demo { child, addr: SocketAddr::from(([127, 0, 0, 1], 0)), stdout: Vec::new() };
    let mut lines = BufReader::new(demo.child.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "demo did not report its address: {:?}", demo.stdout);
        let line = lines.next().expect("demo exited before listening").unwrap();
        demo.stdout.push(line.clone());
        if let Some(url) = line.strip_prefix("phigate listening on https://") {
            demo.addr = url.parse().unwrap();
            return demo;
        }
    }
}

fn roots(data_dir: &Path) -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_file(data_dir.join("tls/cert.pem")).unwrap()).unwrap();
    roots
}

/// One HTTP/2 request over TLS 1.3 with headers and a body; returns status,
/// `set-cookie` and body.
async fn send(
    addr: SocketAddr,
    data_dir: &Path,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Option<String>, String) {
    let (status, headers, body) = send_full(addr, data_dir, method, path, headers, body).await;
    (status, headers.get("set-cookie").map(|v| v.to_str().unwrap().to_string()), body)
}

/// Like [`send`], returning every response header.
async fn send_full(
    addr: SocketAddr,
    data_dir: &Path,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, hyper::HeaderMap, String) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots(data_dir))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls)).await.unwrap();
    tokio::spawn(conn);
    let mut req = hyper::Request::builder().method(method).uri(format!("https://127.0.0.1{path}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp =
        sender.send_request(req.body(http_body_util::Full::new(Bytes::from(body.to_string()))).unwrap()).await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    (status, headers, body)
}

async fn get(
    addr: SocketAddr,
    data_dir: &Path,
    version: &'static rustls::SupportedProtocolVersion,
    path: &str,
) -> (u16, String, rustls::ProtocolVersion, Option<Vec<u8>>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[version])
        .unwrap()
        .with_root_certificates(roots(data_dir))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .unwrap();
    let (_, session) = tls.get_ref();
    let negotiated = session.protocol_version().unwrap();
    let alpn = session.alpn_protocol().map(<[u8]>::to_vec);
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls)).await.unwrap();
    tokio::spawn(conn);
    let req = hyper::Request::get(format!("https://127.0.0.1{path}")).body(Empty::<Bytes>::new()).unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    let body = String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    (status, body, negotiated, alpn)
}

/// Runs `openssl s_client` with extra flags; returns whether a session was
/// negotiated (s_client's exit status is not reliable for this) and its output.
fn openssl_handshake(addr: SocketAddr, flags: &[&str]) -> Option<(bool, String)> {
    let out = Command::new("openssl")
        .arg("s_client")
        .args(flags)
        .args(["-connect", &addr.to_string()])
        .stdin(Stdio::null())
        .output();
    match out {
        Ok(o) => {
            let text = String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
            let negotiated = text.contains("New, TLSv1") && !text.contains("Cipher is (NONE)");
            Some((negotiated, text))
        }
        Err(_) if std::env::var("PHIGATE_REQUIRE_PEERS").as_deref() == Ok("1") => panic!("openssl CLI required"),
        Err(_) => {
            eprintln!("SKIPPED: openssl CLI not installed");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serves_healthz_over_tls13_h2_refuses_tls11_and_stops_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut demo = start_demo(&data);
    let seeded = format!("{} synthetic patients", phigate_synth::DEMO_PATIENTS);
    assert!(demo.stdout.iter().any(|l| l.contains(&seeded)), "{:?}", demo.stdout);

    let (status, body, version, alpn) = get(demo.addr, &data, &rustls::version::TLS13, "/healthz").await;
    assert_eq!(status, 200);
    assert_eq!(body, r#"{"status":"ok"}"#);
    assert_eq!(version, rustls::ProtocolVersion::TLSv1_3);
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));

    let (status, _, version, _) = get(demo.addr, &data, &rustls::version::TLS12, "/readyz").await;
    assert_eq!(status, 200);
    assert_eq!(version, rustls::ProtocolVersion::TLSv1_2);

    let (status, body, _, _) = get(demo.addr, &data, &rustls::version::TLS13, "/metrics").await;
    assert_eq!(status, 200);
    assert!(body.contains("phigate_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"), "{body}");
    // The demo's first synthetic patient: its identifiers are the canaries.
    let first = phigate_synth::Generator::new(phigate_synth::SynthOptions {
        seed: phigate_synth::DEMO_SEED,
        patients: phigate_synth::DEMO_PATIENTS,
        ..Default::default()
    })
    .unwrap()
    .patient(0);
    let mrn = phigate_synth::mrn_of(&first).unwrap().to_string();
    let patient = first.resources().find(|(t, _)| *t == "Patient").unwrap().1;
    let family = patient["name"][0]["family"].as_str().unwrap().to_string();
    let birth = patient["birthDate"].as_str().unwrap().to_string();
    let (status, body, _, _) = get(demo.addr, &data, &rustls::version::TLS13, &format!("/no/such/{mrn}")).await;
    assert_eq!(status, 404);
    assert!(body.contains("not_found"));

    // SECLEVEL=0 lets OpenSSL 3 actually offer the old versions, so the
    // refusal is the server's.
    for old in ["-tls1_1", "-tls1"] {
        if let Some((ok, text)) = openssl_handshake(demo.addr, &[old, "-cipher", "DEFAULT:@SECLEVEL=0"]) {
            assert!(!ok, "{old} handshake must be refused:\n{text}");
            assert!(text.contains("alert"), "the server must answer with a TLS alert:\n{text}");
        }
    }
    if let Some((ok, text)) = openssl_handshake(demo.addr, &["-tls1_3"]) {
        assert!(ok && text.contains("TLSv1.3"), "TLS 1.3 via openssl must work:\n{text}");
    }

    // Graceful shutdown on SIGTERM.
    let pid = demo.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = demo.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "did not stop within 20 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status:?}");

    // Logs: every line JSON; route templates only; no demo PHI, no URI.
    let mut logs = String::new();
    demo.child.stderr.take().unwrap().read_to_string(&mut logs).unwrap();
    assert!(logs.lines().count() >= 5, "{logs}");
    for line in logs.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v.get("level").is_some(), "{line}");
    }
    for canary in [mrn.as_str(), family.as_str(), birth.as_str(), "/no/such"] {
        assert!(!logs.contains(canary), "{canary} leaked into logs");
    }
    assert!(logs.contains("\"route\":\"(unmatched)\""));

    // A second run reuses keys, certificate and data.
    let again = start_demo(&data);
    assert!(!again.stdout.iter().any(|l| l.contains("synthetic patients")), "must not seed twice");
    let (status, _, _, _) = get(again.addr, &data, &rustls::version::TLS13, "/readyz").await;
    assert_eq!(status, 200);
}

#[test]
fn bad_config_names_key_and_reason_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("phigate.toml");
    std::fs::write(&cfg, "[server]\nlisten = \"0.0.0.0:notaport\"\n").unwrap();
    let out = Command::new(BIN).args(["serve", "--config"]).arg(&cfg).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("server.listen") && err.contains("IP:PORT"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    // A policy file that cannot be read stops start-up, naming it.
    let out = Command::new(BIN)
        .args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .env("PHIGATE_IDENTITY_POLICY_FILE", "/nonexistent/policy.toml")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("identity.policy_file") && err.contains("/nonexistent/policy.toml"), "{err}");

    std::fs::write(&cfg, "[keys]\nprovider = \"vault\"\n").unwrap();
    let out = Command::new(BIN).args(["config", "check", "--config"]).arg(&cfg).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("keys.provider"));
}

#[test]
fn group_readable_key_file_refuses_to_start() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    drop(start_demo(&data));
    let key = data.join("keys/kek.json");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = Command::new(BIN).args(["keys", "status", "--data-dir"]).arg(&data).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("chmod 600"), "{err}");
}

/// Signs the demo clinician in over TLS (password from the demo banner, then
/// TOTP from the enrolled secret); returns (session cookie pair, CSRF token).
async fn sign_in_demo_clinician(demo: &Demo, data: &Path) -> (String, String) {
    let line = demo.stdout.iter().find(|l| l.contains("demo-clinician")).expect("demo accounts listed");
    let password = line.split_whitespace().last().unwrap().to_string();
    let json = [("content-type", "application/json")];
    let creds = serde_json::json!({ "username": "demo-clinician", "password": password }).to_string();
    let (status, _, body) = send(demo.addr, data, "POST", "/auth/login", &json, &creds).await;
    assert_eq!(status, 200, "{body}");
    let step: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(step["next"], "enroll_totp");
    let secret = phigate_identity::local::TotpSecret::from_base32(step["secret"].as_str().unwrap()).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let code = phigate_identity::local::totp::code_at(&secret, now, 6);
    let totp = serde_json::json!({ "challenge": step["challenge"], "code": code }).to_string();
    let (status, cookie, body) = send(demo.addr, data, "POST", "/auth/totp", &json, &totp).await;
    assert_eq!(status, 200, "{body}");
    let cookie = cookie.expect("session cookie");
    assert!(cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let csrf = serde_json::from_str::<serde_json::Value>(&body).unwrap()["csrf_token"].as_str().unwrap().to_string();
    (cookie.split(';').next().unwrap().to_string(), csrf)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_password_and_totp_sign_in_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let demo = start_demo(&data);
    let (status, _, body) = send(demo.addr, &data, "GET", "/api/v1/me", &[], "").await;
    assert_eq!(status, 401, "{body}");
    let (session, csrf) = sign_in_demo_clinician(&demo, &data).await;

    let me_headers = [("cookie", session.as_str()), ("x-purpose-of-use", "treatment")];
    let (status, _, body) = send(demo.addr, &data, "GET", "/api/v1/me", &me_headers, "").await;
    assert_eq!(status, 200, "{body}");
    let me: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(me["roles"], serde_json::json!(["clinician"]));
    assert_eq!(me["purpose_of_use"], "treatment");

    let (status, _, _) = send(demo.addr, &data, "POST", "/auth/logout", &[("cookie", session.as_str())], "").await;
    assert_eq!(status, 403, "logout without the CSRF token is refused");
    let logout = [("cookie", session.as_str()), ("x-csrf-token", csrf.as_str())];
    let (status, _, _) = send(demo.addr, &data, "POST", "/auth/logout", &logout, "").await;
    assert_eq!(status, 200);
    let (status, _, _) = send(demo.addr, &data, "GET", "/api/v1/me", &[("cookie", session.as_str())], "").await;
    assert_eq!(status, 401);
}

/// A minimal HTTP/1.1 server on 127.0.0.1 that answers 204 and hands every
/// request body to the test: the stand-in for a SIEM or pager webhook.
fn capture_server() -> (String, std::sync::mpsc::Receiver<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            let _ = std::io::Write::write_all(&mut stream, b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n");
            if tx.send(String::from_utf8_lossy(&body).into_owned()).is_err() {
                return;
            }
        }
    });
    (url, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failed_logins_alert_the_webhook_and_the_ledger() {
    let (hook, received) = capture_server();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let demo = start_demo_env(&data, &[("PHIGATE_AUDIT_ALERT_WEBHOOK", hook.as_str())]);
    let json = [("content-type", "application/json")];
    for _ in 0..6 {
        let creds = r#"{"username":"demo-admin","password":"not the password at all"}"#;
        let (status, _, _) = send(demo.addr, &data, "POST", "/auth/login", &json, creds).await;
        assert!(status == 401 || status == 429, "refused (429 once lockout starts): {status}");
    }
    let alert = received.recv_timeout(Duration::from_secs(20)).expect("the webhook got an alert");
    let alert: serde_json::Value = serde_json::from_str(&alert).unwrap();
    assert_eq!(alert["rule"], "failed_logins", "{alert}");
    assert_eq!(alert["address"], "127.0.0.1");
    assert!(!alert.to_string().contains("not the password"), "no credentials in alerts");
    drop(demo);
    let out = Command::new(BIN).args(["audit", "export", "--data-dir"]).arg(&data).output().unwrap();
    let export = String::from_utf8_lossy(&out.stdout);
    assert!(export.contains("audit.alert") && export.contains("auth.login"), "{export}");
    assert!(!export.contains("not the password"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn break_glass_reaches_the_webhook_and_is_flagged_in_the_ledger() {
    let (hook, received) = capture_server();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let demo = start_demo_env(&data, &[("PHIGATE_AUDIT_ALERT_WEBHOOK", hook.as_str())]);
    let (session, csrf) = sign_in_demo_clinician(&demo, &data).await;

    let ask = r#"{"reason":"Unresponsive patient, anticoagulant status needed now","minutes":10}"#;
    let headers = [("content-type", "application/json"), ("cookie", session.as_str()), ("x-csrf-token", csrf.as_str())];
    let (status, _, body) = send(demo.addr, &data, "POST", "/api/v1/break-glass", &headers, ask).await;
    assert_eq!(status, 200, "{body}");

    let deadline = Instant::now() + Duration::from_secs(20);
    let alert = loop {
        let a: serde_json::Value =
            serde_json::from_str(&received.recv_timeout(Duration::from_secs(20)).unwrap()).unwrap();
        if a["rule"] == "break_glass" {
            break a;
        }
        assert!(Instant::now() < deadline, "no break_glass alert");
    };
    assert!(!alert.to_string().contains("anticoagulant"), "the reason stays sealed: {alert}");
    drop(demo);
    let out = Command::new(BIN).args(["audit", "export", "--data-dir"]).arg(&data).output().unwrap();
    let export = String::from_utf8_lossy(&out.stdout);
    assert!(export.contains("break_glass") && export.contains("audit.alert"), "{export}");
    assert!(!export.contains("anticoagulant"), "no reason text in clear in the export");
    let verified = Command::new(BIN).args(["audit", "verify", "--data-dir"]).arg(&data).output().unwrap();
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stderr));
}

/// The real OpenID Provider started by `scripts/lib/oidc.sh`, or `None`
/// (with a printed reason) when it is not running; a failure when
/// `PHIGATE_REQUIRE_PEERS=1`.
fn oidc_issuer() -> Option<String> {
    let issuer = std::env::var("PHIGATE_TEST_OIDC_ISSUER").ok();
    if issuer.is_none() {
        assert!(
            std::env::var("PHIGATE_REQUIRE_PEERS").as_deref() != Ok("1"),
            "PHIGATE_TEST_OIDC_ISSUER required (scripts/lib/oidc.sh)"
        );
        eprintln!("SKIPPED: PHIGATE_TEST_OIDC_ISSUER not set (source scripts/lib/oidc.sh)");
    }
    issuer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_jwt_from_the_real_openid_provider_is_accepted_and_a_forged_one_refused() {
    let var = |k: &str| std::env::var(k).ok();
    let Some(issuer) = oidc_issuer() else { return };
    let (client, secret, resource) = (
        var("PHIGATE_TEST_OIDC_CLIENT_ID").unwrap(),
        var("PHIGATE_TEST_OIDC_CLIENT_SECRET").unwrap(),
        var("PHIGATE_TEST_OIDC_RESOURCE").unwrap(),
    );
    // Discover the provider's endpoints, then a client-credentials access token (a JWT for our audience).
    let discovery: serde_json::Value = serde_json::from_str(
        &ureq::get(format!("{issuer}/.well-known/openid-configuration"))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap(),
    )
    .unwrap();
    let token_endpoint = discovery["token_endpoint"].as_str().unwrap().to_string();
    let jwks_uri = discovery["jwks_uri"].as_str().unwrap().to_string();
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client}:{secret}"));
    let token: serde_json::Value = serde_json::from_str(
        &ureq::post(&token_endpoint)
            .header("authorization", &format!("Basic {basic}"))
            .send_form([("grant_type", "client_credentials"), ("scope", "api"), ("resource", resource.as_str())])
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap(),
    )
    .unwrap();
    let jwt = token["access_token"].as_str().unwrap().to_string();

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let env = [
        ("PHIGATE_IDENTITY_JWT_ISSUER", issuer.as_str()),
        ("PHIGATE_IDENTITY_JWT_AUDIENCE", resource.as_str()),
        ("PHIGATE_IDENTITY_JWKS_URL", jwks_uri.as_str()),
    ];
    let demo = start_demo_env(&data, &env);
    let bearer = format!("Bearer {jwt}");
    let (status, _, body) =
        send(demo.addr, &data, "GET", "/api/v1/me", &[("authorization", bearer.as_str())], "").await;
    assert_eq!(status, 200, "{body}");
    let me: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(me["auth_method"], "jwt", "{me}");
    assert_eq!(me["kind"], "service", "client-credentials tokens are services: {me}");

    // The same token with one payload character changed: refused.
    let mut parts: Vec<String> = jwt.split('.').map(str::to_string).collect();
    let mid = parts[1].len() / 2;
    let flipped = if &parts[1][mid..=mid] == "A" { "B" } else { "A" };
    parts[1].replace_range(mid..=mid, flipped);
    let forged = format!("Bearer {}", parts.join("."));
    let (status, _, _) = send(demo.addr, &data, "GET", "/api/v1/me", &[("authorization", forged.as_str())], "").await;
    assert_eq!(status, 401);
}

/// Keeps the cookies a response sets, as a browser would.
fn absorb(cookies: &mut std::collections::BTreeMap<String, String>, resp: &ureq::http::Response<ureq::Body>) {
    for v in resp.headers().get_all("set-cookie") {
        let (k, v) = v.to_str().unwrap().split(';').next().unwrap().split_once('=').unwrap();
        cookies.insert(k.to_string(), v.to_string());
    }
}

/// Drives the OpenID Provider's login and consent pages like a browser until
/// it redirects to `redirect_uri`; returns that redirect's query string.
fn provider_sign_in(issuer: &str, redirect_uri: &str, authorization_url: &str) -> String {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
    let mut cookies: std::collections::BTreeMap<String, String> = Default::default();
    let absolute = |l: &str| if l.starts_with("http") { l.to_string() } else { format!("{issuer}{l}") };
    let mut url = authorization_url.to_string();
    for _ in 0..12 {
        let jar = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let mut resp = agent.get(&url).header("cookie", &jar).call().unwrap();
        absorb(&mut cookies, &resp);
        let status = resp.status().as_u16();
        let location = resp.headers().get("location").map(|l| l.to_str().unwrap().to_string());
        if status == 200 {
            let page = resp.body_mut().read_to_string().unwrap();
            let form: Vec<(&str, &str)> = if page.contains(r#"name="prompt" value="login""#) {
                vec![("prompt", "login"), ("login", "oidc-user-1"), ("password", "any-password")]
            } else {
                vec![("prompt", "consent")]
            };
            let jar = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
            let after = agent.post(&url).header("cookie", &jar).send_form(form).unwrap();
            absorb(&mut cookies, &after);
            url = absolute(after.headers().get("location").unwrap().to_str().unwrap());
            continue;
        }
        let next = absolute(&location.unwrap_or_else(|| panic!("{url} answered {status} without a redirect")));
        if let Some(query) = next.strip_prefix(&format!("{redirect_uri}?")) {
            return query.to_string();
        }
        url = next;
    }
    panic!("the provider never redirected back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_code_flow_with_pkce_signs_in_over_tls_and_a_replayed_callback_fails() {
    let var = |k: &str| std::env::var(k).ok();
    let Some(issuer) = oidc_issuer() else { return };
    let redirect = var("PHIGATE_TEST_OIDC_REDIRECT_URI").unwrap();
    let env = [
        ("PHIGATE_IDENTITY_OIDC_ISSUER", issuer.clone()),
        ("PHIGATE_IDENTITY_OIDC_CLIENT_ID", var("PHIGATE_TEST_OIDC_CLIENT_ID").unwrap()),
        ("PHIGATE_IDENTITY_OIDC_CLIENT_SECRET", var("PHIGATE_TEST_OIDC_CLIENT_SECRET").unwrap()),
        ("PHIGATE_IDENTITY_OIDC_REDIRECT_URI", redirect.clone()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let demo = start_demo_env(&data, &env);

    let (status, headers, _) = send_full(demo.addr, &data, "GET", "/auth/oidc/start", &[], "").await;
    assert_eq!(status, 302);
    let authorize = headers.get("location").unwrap().to_str().unwrap().to_string();
    assert!(authorize.contains("code_challenge_method=S256") && authorize.contains("nonce="), "{authorize}");
    let state_cookie = headers.get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_string();

    let query = tokio::task::spawn_blocking(move || provider_sign_in(&issuer, &redirect, &authorize)).await.unwrap();
    let callback = format!("/auth/oidc/callback?{query}");
    // Without the browser's state cookie (login CSRF): refused.
    let (status, _, _) = send(demo.addr, &data, "GET", &callback, &[], "").await;
    assert_eq!(status, 400);
    let (status, cookie, body) =
        send(demo.addr, &data, "GET", &callback, &[("cookie", state_cookie.as_str())], "").await;
    assert_eq!(status, 200, "{body}");
    let session = cookie.unwrap().split(';').next().unwrap().to_string();
    let (status, _, body) = send(demo.addr, &data, "GET", "/api/v1/me", &[("cookie", session.as_str())], "").await;
    assert_eq!(status, 200, "{body}");
    let me: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(me["auth_method"], "oidc", "{me}");
    // The same code and state cannot be used twice.
    let (status, _, _) = send(demo.addr, &data, "GET", &callback, &[("cookie", state_cookie.as_str())], "").await;
    assert_eq!(status, 400);
}
