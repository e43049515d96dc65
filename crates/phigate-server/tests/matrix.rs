//! Role × route × purpose of use: every combination gets exactly its
//! expected outcome. The expectations below are written from the default
//! policy's text, not computed by the policy code under test. A route added
//! to the router without a row here fails `every_route_is_in_the_matrix`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use phigate_identity::local::{LocalAuthenticator, LocalConfig};
use phigate_identity::service::{ServiceAccounts, ServiceKeyConfig};
use phigate_identity::session::{SessionConfig, SessionManager};
use phigate_identity::{AesGcmSealer, Clock, MemoryRepository, Role, SystemClock};
use phigate_keys::Keyring;
use phigate_keys::provider::local_file::LocalFileProvider;
use phigate_policy::Policy;
use phigate_server::access::Access;
use phigate_server::telemetry::Metrics;
use phigate_server::{AppState, route_table, router};
use phigate_store::SqliteStore;
use tower::ServiceExt;

const ROLES: [&str; 6] = ["clinician", "triage", "researcher", "privacy_officer", "administrator", "service"];
const PURPOSES: [Option<&str>; 5] = [None, Some("treatment"), Some("operations"), Some("research"), Some("emergency")];

/// What a caller with `role`, declaring `purpose`, gets from `method path`.
fn expected(method: &str, path: &str, role: &str, purpose: Option<&str>) -> StatusCode {
    match (method, path) {
        // Probes: open to everyone.
        ("GET", "/healthz" | "/readyz" | "/metrics") => StatusCode::OK,
        // Any authenticated caller.
        ("GET", "/api/v1/me") | ("POST", "/auth/logout") => StatusCode::OK,
        // Break-glass needs a browser session; a key-authenticated caller is told so.
        ("POST", "/api/v1/break-glass") => StatusCode::BAD_REQUEST,
        // Review of break-glass: privacy officers, for operations; a purpose is required.
        ("GET", "/api/v1/break-glass") | ("POST", "/api/v1/break-glass/{id}/close") => match (role, purpose) {
            (_, None) => StatusCode::BAD_REQUEST,
            ("privacy_officer", Some("operations")) => StatusCode::OK,
            _ => StatusCode::FORBIDDEN,
        },
        // The gateway's model list: any authenticated caller (this state has no gateway: empty list).
        ("GET", "/v1/models") => StatusCode::OK,
        // Model calls: a ModelCall grant for the purpose (researchers only de-identified,
        // for research; emergency needs break-glass). Past the policy, this state has no
        // gateway configured: 503 model_unavailable.
        ("POST", "/v1/chat/completions" | "/v1/embeddings") => match (role, purpose) {
            (_, None) => StatusCode::BAD_REQUEST,
            ("clinician" | "triage", Some("treatment"))
            | ("researcher", Some("research"))
            | ("service", Some("treatment" | "operations")) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::FORBIDDEN,
        },
        // Backend registry: administrators, for operations (Configuration). No gateway
        // here: listing is 503; an update with an empty body is a 400 before that.
        (_, "/api/v1/admin/backends" | "/api/v1/admin/backends/{id}") => match (role, purpose) {
            (_, None) => StatusCode::BAD_REQUEST,
            ("administrator", Some("operations")) if method == "GET" => StatusCode::SERVICE_UNAVAILABLE,
            ("administrator", Some("operations")) => StatusCode::BAD_REQUEST,
            _ => StatusCode::FORBIDDEN,
        },
        // Administration: administrators, for operations; a purpose is required.
        // Past the policy: an empty body is a 400, an unknown user or key a 404.
        (_, p) if p.starts_with("/api/v1/admin/") => match (role, purpose) {
            (_, None) => StatusCode::BAD_REQUEST,
            ("administrator", Some("operations")) => match (method, p) {
                ("GET", _) => StatusCode::OK,
                ("POST", "/api/v1/admin/users" | "/api/v1/admin/service-accounts") => StatusCode::BAD_REQUEST,
                _ => StatusCode::NOT_FOUND,
            },
            _ => StatusCode::FORBIDDEN,
        },
        _ => panic!("no matrix row for {method} {path}: add one"),
    }
}

/// Routes of the sign-in flow itself: public, checked by the access tests.
fn sign_in_route(path: &str) -> bool {
    matches!(path, "/auth/login" | "/auth/totp" | "/auth/oidc/start" | "/auth/oidc/callback")
}

fn state(dir: &std::path::Path) -> (AppState, Arc<Access>) {
    let provider = Arc::new(LocalFileProvider::open_or_create(&dir.join("kek.json")).unwrap());
    let store =
        SqliteStore::open(&dir.join("phigate.db"), Arc::new(Keyring::new(provider, Duration::from_secs(60)))).unwrap();
    let repo = Arc::new(MemoryRepository::default());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let access = Arc::new(Access {
        policy: Arc::new(Policy::default_policy().unwrap()),
        sessions: Arc::new(SessionManager::new(repo.clone(), clock.clone(), SessionConfig::default()).unwrap()),
        local: Arc::new(LocalAuthenticator::new(
            repo.clone(),
            Arc::new(AesGcmSealer::random().unwrap()),
            clock.clone(),
            LocalConfig::default(),
        )),
        services: Arc::new(ServiceAccounts::new(
            repo,
            clock.clone(),
            ServiceKeyConfig::new(Duration::from_secs(86_400)).unwrap(),
        )),
        jwt: None,
        oidc: None,
        pending_oidc: Default::default(),
        verified_tokens: Default::default(),
        clock,
    });
    let state = AppState {
        store: Arc::new(store),
        metrics: Arc::new(Metrics::new()),
        access: Some(access.clone()),
        audit: Some(Arc::new(ledger(dir))),
        gateway: None,
    };
    (state, access)
}

/// A real ledger. No route in the matrix seals a payload (break-glass is
/// refused before it would), so the cipher refuses everything.
fn ledger(dir: &std::path::Path) -> phigate_audit::Ledger {
    struct Refuse;
    impl phigate_audit::PayloadCipher for Refuse {
        fn seal(
            &self,
            _: &phigate_audit::Pseudonym,
            _: &[u8],
            _: &[u8],
        ) -> Result<Vec<u8>, phigate_audit::CipherError> {
            Err(phigate_audit::CipherError::Unavailable("matrix".into()))
        }
        fn open(
            &self,
            _: &phigate_audit::Pseudonym,
            _: &[u8],
            _: &[u8],
        ) -> Result<zeroize::Zeroizing<Vec<u8>>, phigate_audit::CipherError> {
            Err(phigate_audit::CipherError::Unavailable("matrix".into()))
        }
        fn shred(&self, _: &phigate_audit::Pseudonym) -> Result<(), phigate_audit::CipherError> {
            Ok(())
        }
    }
    let signer = phigate_audit::CheckpointSigner::from_seed("phigate/matrix", &[9u8; 32]).unwrap();
    phigate_audit::Ledger::open(phigate_audit::Config::new(dir.join("audit")), signer, Arc::new(Refuse)).unwrap()
}

#[test]
fn every_route_is_in_the_matrix() {
    for (method, path) in route_table() {
        if !sign_in_route(path) {
            let _ = expected(method, path, "clinician", None);
        }
    }
}

#[tokio::test]
async fn role_route_purpose_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let (state, access) = state(dir.path());
    let app = router(state, 1 << 20);
    let mut checked = 0;
    let mut failures = Vec::new();
    for role in ROLES {
        let account = access.services.create_account(&format!("matrix-{role}"), vec![Role::new(role)]).unwrap();
        let key = access.services.issue(&account.id).unwrap();
        let bearer = format!("Bearer {}", key.key.expose());
        for (method, path) in route_table() {
            if sign_in_route(path) {
                continue;
            }
            let uri = path
                .replace("{id}", "bg-0123456789abcdef")
                .replace("{username}", "nobody")
                .replace("{key_id}", "0000000000000000");
            for purpose in PURPOSES {
                let mut req = Request::builder()
                    .method(method)
                    .uri(&uri)
                    .header(header::AUTHORIZATION, &bearer)
                    .header(header::CONTENT_TYPE, "application/json");
                if let Some(p) = purpose {
                    req = req.header("x-purpose-of-use", p);
                }
                let body = if path == "/api/v1/break-glass" && method == "POST" {
                    r#"{"reason":"matrix test: a long enough stated reason","minutes":5}"#
                } else {
                    ""
                };
                let resp = app.clone().oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
                let got = resp.status();
                let want = expected(method, path, role, purpose);
                if got != want {
                    use http_body_util::BodyExt;
                    let text = resp.into_body().collect().await.unwrap().to_bytes();
                    failures.push(format!(
                        "{role:<16} {method} {path} purpose={purpose:?}: got {got}, want {want}: {}",
                        String::from_utf8_lossy(&text)
                    ));
                }
                checked += 1;
            }
        }
    }
    assert!(failures.is_empty(), "{} of {checked} combinations wrong:\n{}", failures.len(), failures.join("\n"));
    assert!(checked >= ROLES.len() * 8 * PURPOSES.len(), "only {checked} combinations checked");
}

#[tokio::test]
async fn without_credentials_every_protected_route_is_401_whatever_the_purpose() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = state(dir.path());
    let app = router(state, 1 << 20);
    for (method, path) in route_table() {
        let open = sign_in_route(path) || matches!(path, "/healthz" | "/readyz" | "/metrics");
        for purpose in PURPOSES {
            let uri = path.replace("{id}", "bg-1").replace("{username}", "nobody").replace("{key_id}", "00");
            let mut req = Request::builder().method(method).uri(uri);
            if let Some(p) = purpose {
                req = req.header("x-purpose-of-use", p);
            }
            let got = app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap().status();
            if open {
                assert_ne!(got, StatusCode::UNAUTHORIZED, "{method} {path}");
            } else {
                assert_eq!(got, StatusCode::UNAUTHORIZED, "{method} {path} purpose={purpose:?}");
            }
        }
    }
}
