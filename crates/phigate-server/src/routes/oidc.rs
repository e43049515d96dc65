//! Browser sign-in at the customer's OpenID Provider (code + PKCE).
//!
//! `GET /auth/oidc/start` redirects to the provider and binds the login's
//! `state` to the browser with a short-lived `__Host-` cookie (so a login
//! started elsewhere cannot be completed in this browser: login CSRF).
//! `GET /auth/oidc/callback` checks that binding, exchanges the code
//! (PKCE verifier, nonce checked on the ID token), and issues a fresh
//! session exactly like a local sign-in. Every outcome is in the ledger.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use phigate_audit::Outcome;

use crate::access::{Caller, session_token};
use crate::record::{actor, event, record, sign_in_actor, source};
use crate::{ApiError, AppState};

const STATE_COOKIE: &str = "__Host-phigate-oidc";

fn oidc(
    state: &AppState,
) -> Result<(std::sync::Arc<crate::access::Access>, std::sync::Arc<phigate_identity::oidc::OidcClient>), ApiError> {
    let access =
        state.access.clone().ok_or_else(|| ApiError::unavailable("no_identity", "authentication is not configured"))?;
    let client = access
        .oidc
        .clone()
        .ok_or_else(|| ApiError::unavailable("oidc_not_configured", "OpenID Connect sign-in is not configured"))?;
    Ok((access, client))
}

fn state_cookie(headers: &HeaderMap) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|c| {
        c.split(';')
            .map(str::trim)
            .find_map(|kv| kv.strip_prefix(STATE_COOKIE).and_then(|r| r.strip_prefix('=')).map(str::to_string))
    })
}

/// Redirects the browser to the provider.
pub async fn start(State(state): State<AppState>) -> Result<Response, ApiError> {
    let (access, client) = oidc(&state)?;
    let (url, pending) = tokio::task::spawn_blocking(move || client.begin())
        .await
        .map_err(|_| ApiError::unavailable("oidc_unavailable", "sign-in could not be started"))?
        .map_err(|e| {
            tracing::warn!(error = %e, "OIDC sign-in could not start");
            ApiError::unavailable("oidc_unavailable", "the identity provider is unavailable")
        })?;
    let state_value = pending.state().to_string();
    if !access.pending_oidc.insert(pending) {
        return Err(ApiError::unavailable("oidc_busy", "too many sign-ins in progress; try again shortly"));
    }
    let cookie = format!("{STATE_COOKIE}={state_value}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=600");
    Ok((StatusCode::FOUND, [(header::LOCATION, url), (header::SET_COOKIE, cookie)]).into_response())
}

/// Completes the sign-in when the provider sends the browser back.
pub async fn callback(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let (access, client) = oidc(&state)?;
    let from = source(caller.source, &headers);
    let query = query.unwrap_or_default();
    let state_param = url_state(&query).ok_or_else(|| ApiError::bad_request("oidc_state", "missing state"))?;
    // The state must be the one this browser started with, and used once.
    if state_cookie(&headers).as_deref() != Some(state_param.as_str()) {
        record(&state, event(sign_in_actor("(oidc)"), "auth.login", Outcome::Denied, from)).await?;
        return Err(ApiError::bad_request("oidc_state", "this sign-in was not started in this browser"));
    }
    let pending = access
        .pending_oidc
        .take(&state_param)
        .ok_or_else(|| ApiError::bad_request("oidc_state", "unknown or used sign-in"))?;
    let access2 = access.clone();
    let result = tokio::task::spawn_blocking(move || {
        let login = client.complete(pending, &query)?;
        let previous = session_token(&access2, &headers);
        let issued = access2.sessions.login(login.principal, previous.as_ref())?;
        Ok::<_, phigate_identity::Error>((access2.sessions.cookie(&issued.token), issued))
    })
    .await
    .map_err(|_| ApiError::unavailable("oidc_unavailable", "sign-in could not be completed"))?;
    match result {
        Ok((cookie, issued)) => {
            record(&state, event(actor(&issued.principal), "auth.login", Outcome::Success, from)).await?;
            let clear = format!("{STATE_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0");
            let body = serde_json::json!({
                "csrf_token": issued.csrf.expose(),
                "subject": issued.principal.subject,
                "roles": issued.principal.roles,
            });
            let mut resp = ([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response();
            for c in [cookie, clear] {
                if let Ok(v) = c.parse() {
                    resp.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            Ok(resp)
        }
        Err(e) => {
            tracing::info!(reason = %e, "OIDC sign-in refused");
            record(&state, event(sign_in_actor("(oidc)"), "auth.login", Outcome::Denied, from)).await?;
            Err(ApiError::unauthorized())
        }
    }
}

/// The `state` parameter of a callback query. States are URL-safe random
/// tokens, so anything percent-encoded is not one of ours.
fn url_state(query: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("state="))
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .map(str::to_string)
}
