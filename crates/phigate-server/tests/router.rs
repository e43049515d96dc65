//! Router tests in-process (`oneshot`, no socket).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use phigate_keys::Keyring;
use phigate_keys::provider::local_file::LocalFileProvider;
use phigate_phi::Phi;
use phigate_server::telemetry::Metrics;
use phigate_server::{AppState, router};
use phigate_store::{Error, KeyUsage, NewRecord, Record, RecordId, RewrapReport, SqliteStore, Store, SubjectId};
use tower::ServiceExt;

fn real_state(dir: &std::path::Path) -> AppState {
    let provider = Arc::new(LocalFileProvider::open_or_create(&dir.join("kek.json")).unwrap());
    let store =
        SqliteStore::open(&dir.join("phigate.db"), Arc::new(Keyring::new(provider, Duration::from_secs(60)))).unwrap();
    AppState { store: Arc::new(store), metrics: Arc::new(Metrics::new()), access: None, audit: None, gateway: None }
}

/// A store whose backing service is down: the only stand-in in these tests,
/// used to prove readiness fails closed (a real outage cannot be staged in-process).
struct DownStore;

impl Store for DownStore {
    fn create_subject(&self) -> Result<SubjectId, Error> {
        Err(Error::Internal("down"))
    }
    fn put_batch(&self, _: &[NewRecord<'_>]) -> Result<Vec<RecordId>, Error> {
        Err(Error::Internal("down"))
    }
    fn get(&self, _: RecordId) -> Result<Record, Error> {
        Err(Error::Internal("down"))
    }
    fn find(&self, _: &str, _: &str, _: &Phi<String>) -> Result<Vec<RecordId>, Error> {
        Err(Error::Internal("down"))
    }
    fn records_of(&self, _: &SubjectId) -> Result<Vec<RecordId>, Error> {
        Err(Error::Internal("down"))
    }
    fn shred_subject(&self, _: &SubjectId) -> Result<(), Error> {
        Err(Error::Internal("down"))
    }
    fn rewrap_keys(&self) -> Result<RewrapReport, Error> {
        Err(Error::Internal("down"))
    }
    fn key_usage(&self) -> Result<Vec<KeyUsage>, Error> {
        Err(Error::Internal("down"))
    }
    fn named_key(&self, _: &str, _: &str) -> Result<(u64, Arc<phigate_keys::DataKey>), Error> {
        Err(Error::Internal("down"))
    }
    fn shred_named_key(&self, _: &str, _: &str) -> Result<(), Error> {
        Err(Error::Internal("down"))
    }
    fn ping(&self) -> Result<(), Error> {
        Err(Error::Key(phigate_keys::Error::NoCurrentKek))
    }
}

async fn call(app: axum::Router, uri: &str) -> (StatusCode, String, Option<String>) {
    let resp = app.oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    let request_id = resp.headers().get("x-request-id").map(|v| v.to_str().unwrap().to_string());
    let body = String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    (status, body, request_id)
}

#[tokio::test]
async fn health_ready_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let state = real_state(dir.path());
    let app = router(state.clone(), 1024);
    let (status, body, id) = call(app.clone(), "/healthz").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, r#"{"status":"ok"}"#));
    assert_eq!(id.unwrap().len(), 16);
    let (status, body, _) = call(app.clone(), "/readyz").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, r#"{"status":"ready"}"#));
    let (status, body, _) = call(app.clone(), "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(r#"phigate_http_requests_total{method="GET",route="/readyz",status="200"} 1"#), "{body}");
    assert!(body.ends_with("# EOF\n"));
}

#[tokio::test]
async fn readiness_fails_closed_when_a_dependency_is_down() {
    let app = router(
        AppState {
            store: Arc::new(DownStore),
            metrics: Arc::new(Metrics::new()),
            access: None,
            audit: None,
            gateway: None,
        },
        1024,
    );
    let (status, body, _) = call(app.clone(), "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body,
        r#"{"error":{"code":"not_ready","message":"a dependency (store or key provider) is unavailable","param":null,"type":"server_error"}}"#
    );
    let (status, _, _) = call(app, "/healthz").await;
    assert_eq!(status, StatusCode::OK, "liveness does not depend on the store");
}

#[tokio::test]
async fn unknown_routes_are_404_and_metrics_never_carry_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let app = router(real_state(dir.path()), 1024);
    let (status, body, _) = call(app.clone(), "/patients/MRN-CANARY-123?name=Jane%20Canary").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        r#"{"error":{"code":"not_found","message":"no such resource","param":null,"type":"invalid_request_error"}}"#
    );
    let (_, metrics, _) = call(app, "/metrics").await;
    assert!(!metrics.contains("CANARY") && !metrics.contains("Jane"), "{metrics}");
    assert!(metrics.contains(r#"route="(unmatched)""#));
}
