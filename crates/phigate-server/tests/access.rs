//! Access control in the router, in-process: every route has a policy entry,
//! unauthenticated calls get 401, local sign-in is password + TOTP, sessions
//! need CSRF on state-changing requests, no fixation, revoked keys refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use phigate_identity::local::{LocalAuthenticator, LocalConfig, password::HashingCost, totp};
use phigate_identity::service::{ServiceAccounts, ServiceKeyConfig};
use phigate_identity::session::{SessionConfig, SessionManager};
use phigate_identity::{AesGcmSealer, Clock, MemoryRepository, Password, Role, SystemClock};
use phigate_keys::Keyring;
use phigate_keys::provider::local_file::LocalFileProvider;
use phigate_policy::Policy;
use phigate_server::access::Access;
use phigate_server::telemetry::Metrics;
use phigate_server::{AppState, route_table, router};
use phigate_store::SqliteStore;
use tower::ServiceExt;

struct Env {
    _dir: tempfile::TempDir,
    app: axum::Router,
    access: Arc<Access>,
    ledger: Arc<phigate_audit::Ledger>,
    alerts: Alerts,
}

/// Seals payloads with one real AES-GCM data key (per-subject keys are the
/// binary's business; here one key shows the reason is sealed).
struct OneKey(phigate_keys::DataKey);

impl phigate_audit::PayloadCipher for OneKey {
    fn seal(&self, s: &phigate_audit::Pseudonym, aad: &[u8], pt: &[u8]) -> Result<Vec<u8>, phigate_audit::CipherError> {
        let field = hex::encode(aad);
        let a = phigate_keys::Aad { kind: "audit-payload", id: s.as_str(), field: &field };
        self.0.seal(1, &a, pt).map_err(|_| phigate_audit::CipherError::Tampered)
    }
    fn open(
        &self,
        s: &phigate_audit::Pseudonym,
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, phigate_audit::CipherError> {
        let field = hex::encode(aad);
        let a = phigate_keys::Aad { kind: "audit-payload", id: s.as_str(), field: &field };
        self.0.open(1, &a, sealed).map_err(|_| phigate_audit::CipherError::Tampered)
    }
    fn shred(&self, _: &phigate_audit::Pseudonym) -> Result<(), phigate_audit::CipherError> {
        Ok(())
    }
}

/// Alerts delivered to a sink, for assertions.
#[derive(Clone, Default)]
struct Alerts(Arc<std::sync::Mutex<Vec<String>>>);

impl phigate_audit::AlertSink for Alerts {
    fn deliver(&self, alert: &phigate_audit::Alert) -> Result<(), phigate_audit::Error> {
        self.0.lock().unwrap().push(serde_json::to_string(alert).unwrap());
        Ok(())
    }
}

fn ledger(dir: &std::path::Path, alerts: Alerts) -> phigate_audit::Ledger {
    let signer = phigate_audit::CheckpointSigner::from_seed("phigate/test", &[7u8; 32]).unwrap();
    let cipher = Arc::new(OneKey(phigate_keys::DataKey::generate().unwrap()));
    let mut l = phigate_audit::Ledger::open(phigate_audit::Config::new(dir.join("audit")), signer, cipher).unwrap();
    l.set_alerts(phigate_audit::AlertEngine::new(phigate_audit::AlertRules::default()), vec![Box::new(alerts)]);
    l
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let provider = Arc::new(LocalFileProvider::open_or_create(&dir.path().join("kek.json")).unwrap());
    let store =
        SqliteStore::open(&dir.path().join("phigate.db"), Arc::new(Keyring::new(provider, Duration::from_secs(60))))
            .unwrap();
    let repo = Arc::new(MemoryRepository::default());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let config = LocalConfig { hashing: HashingCost::insecure_for_tests(), ..LocalConfig::default() };
    let access = Arc::new(Access {
        policy: Arc::new(Policy::default_policy().unwrap()),
        sessions: Arc::new(SessionManager::new(repo.clone(), clock.clone(), SessionConfig::default()).unwrap()),
        local: Arc::new(LocalAuthenticator::new(
            repo.clone(),
            Arc::new(AesGcmSealer::random().unwrap()),
            clock.clone(),
            config,
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
    let store = Arc::new(store);
    let alerts = Alerts::default();
    let ledger = Arc::new(ledger(dir.path(), alerts.clone()));
    let state = AppState {
        store,
        metrics: Arc::new(Metrics::new()),
        access: Some(access.clone()),
        audit: Some(ledger.clone()),
        gateway: None,
    };
    Env { _dir: dir, app: router(state, 1 << 20), access, ledger, alerts }
}

struct Reply {
    status: StatusCode,
    body: serde_json::Value,
    set_cookie: Option<String>,
}

async fn send_text(app: &axum::Router, req: Request<Body>) -> String {
    let resp = app.clone().oneshot(req).await.unwrap();
    String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

async fn send(app: &axum::Router, req: Request<Body>) -> Reply {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let set_cookie = resp.headers().get(header::SET_COOKIE).map(|v| v.to_str().unwrap().to_string());
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    Reply { status, body, set_cookie }
}

fn post(uri: &str, body: serde_json::Value) -> axum::http::request::Builder {
    let _ = body;
    Request::post(uri).header(header::CONTENT_TYPE, "application/json")
}

fn json(body: &serde_json::Value) -> Body {
    Body::from(serde_json::to_vec(body).unwrap())
}

fn now_unix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

/// Signs a local user in with password + TOTP; returns (cookie, csrf).
async fn sign_in(
    e: &Env,
    user: &str,
    password: &str,
    previous_cookie: Option<&str>,
) -> (String, String, serde_json::Value) {
    let creds = serde_json::json!({ "username": user, "password": password });
    let step = send(&e.app, post("/auth/login", creds.clone()).body(json(&creds)).unwrap()).await;
    assert_eq!(step.status, StatusCode::OK, "{}", step.body);
    assert_eq!(step.body["next"], "enroll_totp", "first sign-in enrolls TOTP");
    let secret = totp::TotpSecret::from_base32(step.body["secret"].as_str().unwrap()).unwrap();
    let code = totp::code_at(&secret, now_unix(), 6);
    let body = serde_json::json!({ "challenge": step.body["challenge"], "code": code });
    let mut req = post("/auth/totp", body.clone());
    if let Some(c) = previous_cookie {
        req = req.header(header::COOKIE, c);
    }
    let done = send(&e.app, req.body(json(&body)).unwrap()).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let set_cookie = done.set_cookie.expect("a session cookie");
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "__Host-"] {
        assert!(set_cookie.contains(attr), "{attr} missing from {set_cookie}");
    }
    (cookie_pair(&set_cookie), done.body["csrf_token"].as_str().unwrap().to_string(), done.body)
}

#[test]
fn every_route_has_a_policy_entry() {
    let policy = Policy::default_policy().unwrap();
    let missing = policy.routes().missing(route_table());
    assert!(missing.is_empty(), "routes without a policy entry (add them to the policy): {missing:?}");
}

#[tokio::test]
async fn unauthenticated_calls_get_401_and_public_routes_stay_open() {
    let e = env();
    for (method, path) in route_table() {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let reply = send(&e.app, req).await;
        let public =
            ["/healthz", "/readyz", "/metrics", "/auth/login", "/auth/totp", "/auth/oidc/start", "/auth/oidc/callback"]
                .contains(&path);
        if public {
            assert_ne!(reply.status, StatusCode::UNAUTHORIZED, "{method} {path} must not need authentication");
        } else {
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{method} {path} must need authentication");
            assert_eq!(reply.body["error"]["code"], "unauthenticated");
        }
    }
    let bad = send(
        &e.app,
        Request::get("/api/v1/me").header(header::AUTHORIZATION, "Bearer phg_0011_nope").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    let jwt_without_idp = send(
        &e.app,
        Request::get("/api/v1/me")
            .header(header::AUTHORIZATION, "Bearer eyJhbGciOiJub25lIn0.e30.")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(jwt_without_idp.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn local_password_and_totp_sign_in_then_csrf_fixation_and_logout() {
    let e = env();
    e.access
        .local
        .create_user("dr.demo", "Dr Demo", &Password::new("correct horse battery staple"), vec![Role::new("clinician")])
        .unwrap();

    let wrong = serde_json::json!({ "username": "dr.demo", "password": "wrong password here" });
    assert_eq!(
        send(&e.app, post("/auth/login", wrong.clone()).body(json(&wrong)).unwrap()).await.status,
        StatusCode::UNAUTHORIZED
    );

    // A cookie planted before sign-in is not the one issued after it.
    let planted = "__Host-phigate-session=attacker-chosen-value";
    let (cookie, csrf, who) = sign_in(&e, "dr.demo", "correct horse battery staple", Some(planted)).await;
    assert_ne!(cookie, planted);
    assert_eq!(who["roles"], serde_json::json!(["clinician"]));

    let me = send(
        &e.app,
        Request::get("/api/v1/me")
            .header(header::COOKIE, &cookie)
            .header("x-purpose-of-use", "treatment")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.body["display_name"], "Dr Demo");
    assert_eq!(me.body["purpose_of_use"], "treatment");
    assert_eq!(me.body["auth_method"], who.get("auth_method").cloned().unwrap_or(me.body["auth_method"].clone()));

    let bad_purpose = send(
        &e.app,
        Request::get("/api/v1/me")
            .header(header::COOKIE, &cookie)
            .header("x-purpose-of-use", "curiosity")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(bad_purpose.status, StatusCode::BAD_REQUEST);

    // State-changing request without the CSRF token: refused, session intact.
    let no_csrf =
        send(&e.app, Request::post("/auth/logout").header(header::COOKIE, &cookie).body(Body::empty()).unwrap()).await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
    assert_eq!(no_csrf.body["error"]["code"], "csrf");
    let wrong_csrf = send(
        &e.app,
        Request::post("/auth/logout")
            .header(header::COOKIE, &cookie)
            .header("x-csrf-token", "x")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(wrong_csrf.status, StatusCode::FORBIDDEN);
    let out = send(
        &e.app,
        Request::post("/auth/logout")
            .header(header::COOKIE, &cookie)
            .header("x-csrf-token", &csrf)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(out.status, StatusCode::OK);
    let after =
        send(&e.app, Request::get("/api/v1/me").header(header::COOKIE, &cookie).body(Body::empty()).unwrap()).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED, "a signed-out session is dead");
}

#[tokio::test]
async fn brute_force_locks_out() {
    let e = env();
    e.access
        .local
        .create_user("target", "Target", &Password::new("a long enough password"), vec![Role::new("clinician")])
        .unwrap();
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let body = serde_json::json!({ "username": "target", "password": "guess guess guess" });
        statuses.push(send(&e.app, post("/auth/login", body.clone()).body(json(&body)).unwrap()).await.status);
    }
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    // Every attempt is in the ledger, and the failed-logins rule fired.
    let denied = e.ledger.query(&phigate_audit::Query { action: Some("auth.login".into()), ..Default::default() });
    assert_eq!(denied.len(), 12, "every attempt recorded");
    let alerts = e.ledger.query(&phigate_audit::Query { action: Some("audit.alert".into()), ..Default::default() });
    let fired: Vec<String> = alerts.iter().map(|s| e.ledger.read(*s).unwrap().event.resource.unwrap().id).collect();
    assert!(fired.iter().any(|r| r == "failed_logins"), "{fired:?}");
    // Locked out even with the right password.
    let body = serde_json::json!({ "username": "target", "password": "a long enough password" });
    assert_eq!(
        send(&e.app, post("/auth/login", body.clone()).body(json(&body)).unwrap()).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn service_key_works_until_revoked() {
    let e = env();
    let account = e.access.services.create_account("ingest", vec![Role::new("service")]).unwrap();
    let issued = e.access.services.issue(&account.id).unwrap();
    let me = |key: String| {
        Request::get("/api/v1/me").header(header::AUTHORIZATION, format!("Bearer {key}")).body(Body::empty()).unwrap()
    };
    let ok = send(&e.app, me(issued.key.expose().to_string())).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body["kind"], "service");
    // The audited request's wait for its durable entry is on the metrics
    // page (what scripts/bench-auth reads the audit share of latency from).
    let metrics = send_text(&e.app, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    let count = metrics
        .lines()
        .find_map(|l| l.strip_prefix("phigate_audit_durable_wait_seconds_count "))
        .and_then(|n| n.trim().parse::<u64>().ok());
    assert!(count.is_some_and(|n| n >= 1), "{metrics}");
    // Revoked behind the server's back (as another instance sharing the store
    // would): refused once the one-second memory of verified keys lapses.
    // Revocation through the admin API is refused on the very next request
    // (`admin_api_manages_accounts_with_projection_and_revocation`).
    e.access.services.revoke(&issued.key_id).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(send(&e.app, me(issued.key.expose().to_string())).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn break_glass_alerts_flags_every_action_and_is_closed_by_the_privacy_officer() {
    let e = env();
    e.access
        .local
        .create_user("dr.er", "Dr ER", &Password::new("emergency room password"), vec![Role::new("clinician")])
        .unwrap();
    e.access
        .local
        .create_user(
            "po",
            "Privacy Officer",
            &Password::new("privacy officer password"),
            vec![Role::new("privacy_officer")],
        )
        .unwrap();
    let (cookie, csrf, _) = sign_in(&e, "dr.er", "emergency room password", None).await;

    let ask = serde_json::json!({ "reason": "Unconscious patient in ER, no care relationship yet, need allergies", "minutes": 15 });
    let no_csrf = send(
        &e.app,
        post("/api/v1/break-glass", ask.clone()).header(header::COOKIE, &cookie).body(json(&ask)).unwrap(),
    )
    .await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
    let short = serde_json::json!({ "reason": "because" });
    let refused = send(
        &e.app,
        post("/api/v1/break-glass", short.clone())
            .header(header::COOKIE, &cookie)
            .header("x-csrf-token", &csrf)
            .body(json(&short))
            .unwrap(),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "a reason is required");

    let started = send(
        &e.app,
        post("/api/v1/break-glass", ask.clone())
            .header(header::COOKIE, &cookie)
            .header("x-csrf-token", &csrf)
            .body(json(&ask))
            .unwrap(),
    )
    .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    let id = started.body["break_glass_id"].as_str().unwrap().to_string();
    let elevated = cookie_pair(started.set_cookie.as_deref().unwrap());
    assert_ne!(elevated, cookie, "the session is rotated on elevation");

    // The alert fired at once, without the reason text.
    let alerts = e.alerts.0.lock().unwrap().clone();
    assert!(alerts.iter().any(|a| a.contains("break_glass")), "{alerts:?}");
    assert!(!alerts.iter().any(|a| a.contains("Unconscious")), "the reason never goes to sinks");

    // Actions under break-glass are flagged in the ledger.
    let me = send(
        &e.app,
        Request::get("/api/v1/me")
            .header(header::COOKIE, &elevated)
            .header("x-purpose-of-use", "emergency")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(me.body["break_glass"], true);
    let requests = e
        .ledger
        .query_records(&phigate_audit::Query { action: Some("api.request".into()), ..Default::default() })
        .unwrap();
    let last = requests.last().unwrap();
    assert!(last.event.break_glass, "request under break-glass must be flagged");
    assert_eq!(last.event.purpose.as_deref(), Some("ETREAT"));
    // The stated reason is sealed in the payload, readable through the ledger.
    let bg = e
        .ledger
        .query_records(&phigate_audit::Query { action: Some("break_glass".into()), ..Default::default() })
        .unwrap();
    assert_eq!(bg.len(), 1);
    assert!(bg[0].sealed.is_some());
    let payload = e.ledger.open_payload(&bg[0]).unwrap().unwrap();
    assert!(payload.detail.unwrap().expose().contains("Unconscious"));

    // The clinician may not review; the privacy officer lists and closes.
    let list = |c: &str| {
        Request::get("/api/v1/break-glass")
            .header(header::COOKIE, c)
            .header("x-purpose-of-use", "operations")
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(send(&e.app, list(&elevated)).await.status, StatusCode::FORBIDDEN);
    let (po_cookie, po_csrf, _) = sign_in(&e, "po", "privacy officer password", None).await;
    let open = send(&e.app, list(&po_cookie)).await;
    assert_eq!(open.status, StatusCode::OK, "{}", open.body);
    assert_eq!(open.body["open"][0]["id"], id.as_str());
    let close = Request::post(format!("/api/v1/break-glass/{id}/close"))
        .header(header::COOKIE, &po_cookie)
        .header("x-csrf-token", &po_csrf)
        .header("x-purpose-of-use", "operations")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&e.app, close).await.status, StatusCode::OK);
    let after = send(&e.app, list(&po_cookie)).await;
    assert_eq!(after.body["open"], serde_json::json!([]));
}

#[tokio::test]
async fn admin_api_manages_accounts_with_projection_and_revocation() {
    let e = env();
    let admin = e.access.services.create_account("ops-admin", vec![Role::new("administrator")]).unwrap();
    let admin_key = format!("Bearer {}", e.access.services.issue(&admin.id).unwrap().key.expose());
    let call = |method: &str, uri: &str, auth: &str, body: serde_json::Value| {
        Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, auth)
            .header("x-purpose-of-use", "operations")
            .header(header::CONTENT_TYPE, "application/json")
            .body(json(&body))
            .unwrap()
    };

    let created = send(
        &e.app,
        call(
            "POST",
            "/api/v1/admin/users",
            &admin_key,
            serde_json::json!({ "username": "dr.new", "display_name": "Dr New", "roles": ["clinician"] }),
        ),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["one_time_password"].as_str().unwrap().len(), 24);
    let again = send(
        &e.app,
        call(
            "POST",
            "/api/v1/admin/users",
            &admin_key,
            serde_json::json!({ "username": "DR.NEW", "display_name": "x", "roles": [] }),
        ),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    let list = send(&e.app, call("GET", "/api/v1/admin/users", &admin_key, serde_json::json!(null))).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let user = list.body["users"].as_array().unwrap().iter().find(|u| u["username"] == "dr.new").unwrap().clone();
    let mut keys: Vec<&str> = user.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["disabled", "display_name", "id", "mfa_enrolled", "roles", "username"],
        "projection to readable fields"
    );

    let svc = send(
        &e.app,
        call(
            "POST",
            "/api/v1/admin/service-accounts",
            &admin_key,
            serde_json::json!({ "name": "ingest", "roles": ["service"] }),
        ),
    )
    .await;
    assert_eq!(svc.status, StatusCode::CREATED, "{}", svc.body);
    let key = format!("Bearer {}", svc.body["api_key"].as_str().unwrap());
    let me = |auth: &str| Request::get("/api/v1/me").header(header::AUTHORIZATION, auth).body(Body::empty()).unwrap();
    assert_eq!(send(&e.app, me(&key)).await.status, StatusCode::OK);
    // The new service may not administer.
    assert_eq!(
        send(&e.app, call("GET", "/api/v1/admin/users", &key, serde_json::json!(null))).await.status,
        StatusCode::FORBIDDEN
    );
    let revoke = format!("/api/v1/admin/service-keys/{}/revoke", svc.body["key_id"].as_str().unwrap());
    assert_eq!(send(&e.app, call("POST", &revoke, &admin_key, serde_json::json!(null))).await.status, StatusCode::OK);
    assert_eq!(send(&e.app, me(&key)).await.status, StatusCode::UNAUTHORIZED, "revoked: refused on its next request");

    // Every change is in the ledger, attributed to the administrator; no secret in it.
    let changes = e.ledger.query_records(&phigate_audit::Query::default()).unwrap();
    let actions: Vec<&str> = changes.iter().map(|r| r.event.action.as_str()).collect();
    for a in ["user.create", "service_account.create", "service_key.revoke"] {
        assert!(actions.contains(&a), "{a} missing: {actions:?}");
    }
    let dump = serde_json::to_string(&changes).unwrap();
    assert!(!dump.contains(created.body["one_time_password"].as_str().unwrap()));
    assert!(!dump.contains(svc.body["api_key"].as_str().unwrap()));
}
