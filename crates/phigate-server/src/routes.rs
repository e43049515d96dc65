//! The router, built from one table ([`route_table`]) so that tests can
//! check every route against the access policy. Who may call a route is
//! decided only by the policy's route table, enforced by
//! [`crate::access::enforce`]; a route missing from it is denied.

mod admin;
mod auth;
mod break_glass;
mod oidc;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, get, post};
use axum::{Json, middleware};
use phigate_store::Store;

use crate::ApiError;
use crate::access::{self, Access};
use crate::gateway;
use crate::telemetry::{self, Metrics};

/// Everything handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The encrypted store.
    pub store: Arc<dyn Store>,
    /// Process metrics.
    pub metrics: Arc<Metrics>,
    /// Identity and policy. `None` serves only public routes; every other
    /// route then answers 503 (fail closed).
    pub access: Option<Arc<Access>>,
    /// The audit ledger. The binary always sets it; `None` only in
    /// in-process tests of routes that do not record.
    pub audit: Option<Arc<phigate_audit::Ledger>>,
    /// The AI gateway; `None` answers its routes with `model_unavailable`.
    pub gateway: Option<Arc<crate::gateway::Gateway>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

/// Every route: (method, template, handler). The router is built from this
/// list and nothing else.
fn routes() -> Vec<(&'static str, &'static str, MethodRouter<AppState>)> {
    vec![
        ("GET", "/healthz", get(healthz)),
        ("GET", "/readyz", get(readyz)),
        ("GET", "/metrics", get(metrics_text)),
        ("POST", "/auth/login", post(auth::login)),
        ("POST", "/auth/totp", post(auth::totp)),
        ("POST", "/auth/logout", post(auth::logout)),
        ("GET", "/auth/oidc/start", get(oidc::start)),
        ("GET", "/auth/oidc/callback", get(oidc::callback)),
        ("GET", "/api/v1/me", get(auth::me)),
        ("POST", "/api/v1/break-glass", post(break_glass::start)),
        ("GET", "/api/v1/break-glass", get(break_glass::list)),
        ("POST", "/api/v1/break-glass/{id}/close", post(break_glass::close)),
        ("GET", "/api/v1/admin/users", get(admin::list_users)),
        ("POST", "/api/v1/admin/users", post(admin::create_user)),
        ("POST", "/api/v1/admin/users/{username}/disable", post(admin::disable_user)),
        ("POST", "/api/v1/admin/service-accounts", post(admin::create_service_account)),
        ("POST", "/api/v1/admin/service-keys/{key_id}/revoke", post(admin::revoke_service_key)),
        ("GET", "/api/v1/admin/backends", get(gateway::list_backends)),
        ("POST", "/api/v1/admin/backends/{id}", post(gateway::update_backend)),
        ("GET", "/v1/models", get(gateway::list_models)),
        ("POST", "/v1/chat/completions", post(gateway::chat_completions)),
        ("POST", "/v1/embeddings", post(gateway::embeddings)),
    ]
}

/// (method, template) of every route, for policy completeness checks.
pub fn route_table() -> Vec<(&'static str, &'static str)> {
    routes().into_iter().map(|(m, p, _)| (m, p)).collect()
}

/// Builds the application router.
pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    let metrics = state.metrics.clone();
    let mut router = Router::new();
    for (_, path, handler) in routes() {
        router = router.route(path, handler);
    }
    router
        .fallback(|| async { ApiError::not_found() })
        .route_layer(middleware::from_fn_with_state(state.clone(), access::enforce))
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
