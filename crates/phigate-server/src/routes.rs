//! The router. Each route lists who may call it once identity lands; today
//! every route here is public by design (probes and metrics).

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, middleware};
use phigate_store::Store;

use crate::ApiError;
use crate::telemetry::{self, Metrics};

/// Everything handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The encrypted store.
    pub store: Arc<dyn Store>,
    /// Process metrics.
    pub metrics: Arc<Metrics>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

/// Builds the application router.
pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    let metrics = state.metrics.clone();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .fallback(|| async { ApiError::not_found() })
        .route_layer(middleware::from_fn(telemetry::tag_route))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(middleware::from_fn_with_state(metrics, telemetry::observe))
        .with_state(state)
}

/// Liveness: the process is up and serving.
async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: the store answers and the key provider has a usable KEK.
/// Fails closed: if either cannot be checked, the answer is 503.
async fn readyz(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || store.ping()).await {
        Ok(Ok(())) => Ok(Json(serde_json::json!({ "status": "ready" }))),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(ApiError::unavailable("not_ready", "a dependency (store or key provider) is unavailable"))
        }
        Err(_) => Err(ApiError::unavailable("not_ready", "readiness check did not complete")),
    }
}

async fn metrics_text(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], state.metrics.render())
}
