//! The administration API: accounts and service credentials while the
//! server runs (the CLI cannot append to a ledger the server holds).
//!
//! Who may call each route is the policy's decision (administrators, for
//! operations, by default); responses go through the policy's field
//! projection, so a role sees only the fields it is granted. Every change
//! is recorded in the ledger with its outcome; one-time secrets (passwords,
//! API keys) appear once, in the response, and nowhere else.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use phigate_audit::{Outcome, Resource};
use phigate_identity::{Password, Role};
use phigate_policy::Purpose;
use serde::Deserialize;

use crate::access::{Access, Caller};
use crate::record::{actor, event, record, source};
use crate::{ApiError, AppState};

fn access(state: &AppState) -> Result<std::sync::Arc<Access>, ApiError> {
    state.access.clone().ok_or_else(|| ApiError::unavailable("no_identity", "authentication is not configured"))
}

fn identity_failure(e: &phigate_identity::Error) -> ApiError {
    match e {
        phigate_identity::Error::AlreadyExists(_) => ApiError::conflict("already_exists", "it already exists"),
        phigate_identity::Error::NotFound(_) => ApiError::not_found(),
        phigate_identity::Error::Storage(_) => {
            ApiError::unavailable("identity_unavailable", "identity storage is unavailable")
        }
        _ => ApiError::bad_request("invalid", "the request was refused (check names, roles and password rules)"),
    }
}

/// Runs `op` off the async runtime and records `action` on `resource` with its outcome.
async fn audited<T: Send + 'static>(
    state: &AppState,
    caller: &Caller,
    headers: &axum::http::HeaderMap,
    action: &str,
    resource: (&str, String),
    op: impl FnOnce() -> Result<T, phigate_identity::Error> + Send + 'static,
) -> Result<T, ApiError> {
    let principal = caller.principal.as_ref().ok_or_else(ApiError::unauthorized)?;
    let result = tokio::task::spawn_blocking(op)
        .await
        .map_err(|_| ApiError::unavailable("identity_unavailable", "the operation did not complete"))?;
    let mut e = event(
        actor(principal),
        action,
        if result.is_ok() { Outcome::Success } else { Outcome::Error },
        source(caller.source, headers),
    );
    e.resource = Some(Resource { kind: resource.0.into(), id: resource.1 });
    e.purpose = Some("HOPERAT".into());
    record(state, e).await?;
    result.map_err(|e| identity_failure(&e))
}

fn one_time_secret() -> Result<String, ApiError> {
    let mut b = [0u8; 12];
    getrandom::getrandom(&mut b).map_err(|_| ApiError::unavailable("rng", "random number generator failed"))?;
    Ok(hex::encode(b))
}

/// `GET /api/v1/admin/users`: accounts, projected to the caller's readable fields.
pub async fn list_users(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, ApiError> {
    let access = access(&state)?;
    let principal = caller.principal.clone().ok_or_else(ApiError::unauthorized)?;
    let purpose = caller.purpose.unwrap_or(Purpose::Operations);
    let access2 = access.clone();
    let users = tokio::task::spawn_blocking(move || access2.local.users())
        .await
        .map_err(|_| ApiError::unavailable("identity_unavailable", "accounts could not be read"))?
        .map_err(|e| identity_failure(&e))?;
    let now = access.clock.now();
    let items: Vec<serde_json::Value> = users
        .iter()
        .map(|u| {
            // Everything the store knows that may be shown at all; the policy
            // then keeps only the caller's readable fields.
            let full = serde_json::json!({
                "id": u.id,
                "username": u.username,
                "display_name": u.display_name,
                "roles": u.roles,
                "disabled": u.disabled,
                "mfa_enrolled": u.totp_confirmed,
            });
            access.policy.project_for(&principal, purpose, "User", &full, now)
        })
        .collect();
    Ok(Json(serde_json::json!({ "users": items })).into_response())
}

/// `POST /api/v1/admin/users` body.
#[derive(Deserialize)]
pub struct NewUser {
    username: String,
    display_name: String,
    roles: Vec<String>,
}

/// Creates an account; answers with its one-time password.
pub async fn create_user(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: axum::http::HeaderMap,
    Json(body): Json<NewUser>,
) -> Result<Response, ApiError> {
    let access = access(&state)?;
    let password = one_time_secret()?;
    let pw = password.clone();
    let username = body.username.clone();
    audited(&state, &caller, &headers, "user.create", ("user", username.clone()), move || {
        let roles = body.roles.iter().map(|r| Role::new(r.trim())).collect();
        access.local.create_user(&body.username, &body.display_name, &Password::new(pw), roles).map(|_| ())
    })
    .await?;
    Ok((
        axum::http::StatusCode::CREATED,
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(serde_json::json!({ "username": username, "one_time_password": password })),
    )
        .into_response())
}

/// Disables an account; its sessions end at once.
pub async fn disable_user(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: axum::http::HeaderMap,
    Path(username): Path<String>,
) -> Result<Response, ApiError> {
    let access = access(&state)?;
    let name = username.clone();
    let ended = audited(&state, &caller, &headers, "user.disable", ("user", username.clone()), move || {
        let ended = access.local.set_disabled(&name, true);
        access.verified_tokens.clear();
        ended
    })
    .await?;
    Ok(Json(serde_json::json!({ "username": username, "disabled": true, "sessions_ended": ended })).into_response())
}

/// `POST /api/v1/admin/service-accounts` body.
#[derive(Deserialize)]
pub struct NewServiceAccount {
    name: String,
    roles: Vec<String>,
}

/// Creates a service account and its first key (shown once).
pub async fn create_service_account(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: axum::http::HeaderMap,
    Json(body): Json<NewServiceAccount>,
) -> Result<Response, ApiError> {
    let access = access(&state)?;
    let name = body.name.clone();
    let (id, key) =
        audited(&state, &caller, &headers, "service_account.create", ("service_account", name), move || {
            let roles = body.roles.iter().map(|r| Role::new(r.trim())).collect();
            let account = access.services.create_account(&body.name, roles)?;
            Ok((account.id.clone(), access.services.issue(&account.id)?))
        })
        .await?;
    let expires = key.expires_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    Ok((
        axum::http::StatusCode::CREATED,
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(serde_json::json!({ "id": id, "key_id": key.key_id, "api_key": key.key.expose(), "expires_at": expires })),
    )
        .into_response())
}

/// Revokes one service key; refused from its next request on.
pub async fn revoke_service_key(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: axum::http::HeaderMap,
    Path(key_id): Path<String>,
) -> Result<Response, ApiError> {
    let access = access(&state)?;
    let id = key_id.clone();
    audited(&state, &caller, &headers, "service_key.revoke", ("service_key", key_id.clone()), move || {
        let revoked = access.services.revoke(&id);
        // Refused from the next request on: forget every verified credential.
        access.verified_tokens.clear();
        revoked
    })
    .await?;
    Ok(Json(serde_json::json!({ "key_id": key_id, "revoked": true })).into_response())
}
