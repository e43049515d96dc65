//! Sign-in (local account: password, then TOTP), sign-out, and `GET /api/v1/me`.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use phigate_identity::local::LoginStep;
use phigate_identity::{Error as IdentityError, MfaChallenge, Password};
use serde::Deserialize;

use crate::access::{Caller, session_token};
use crate::record::{event, record, sign_in_actor, source};
use crate::{ApiError, AppState};
use phigate_audit::Outcome;

fn identity_error(e: &IdentityError) -> ApiError {
    match e {
        IdentityError::LockedOut { .. } => ApiError::locked_out(),
        IdentityError::Storage(_) => ApiError::unavailable("identity_unavailable", "identity storage is unavailable"),
        _ => ApiError::unauthorized(),
    }
}

fn access(state: &AppState) -> Result<std::sync::Arc<crate::access::Access>, ApiError> {
    state.access.clone().ok_or_else(|| ApiError::unavailable("no_identity", "authentication is not configured"))
}

/// `POST /auth/login` body.
#[derive(Deserialize)]
pub struct LoginRequest {
    username: String,
    password: String,
}

/// First step: the password. Answers with a TOTP challenge (and, on first
/// sign-in, the secret to enroll). Never a session: MFA is mandatory.
pub async fn login(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: axum::http::HeaderMap,
    Json(body): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    let access = access(&state)?;
    let actor = sign_in_actor(&body.username);
    let from = source(caller.source, &headers);
    let step = tokio::task::spawn_blocking(move || {
        access.local.login(&body.username, &Password::new(body.password), caller.source)
    })
    .await
    .map_err(|_| ApiError::unavailable("auth_unavailable", "sign-in could not be checked"))?;
    // Every attempt is on the record, success or not, before the answer.
    let outcome = if step.is_ok() { Outcome::Success } else { Outcome::Denied };
    record(&state, event(actor, "auth.login", outcome, from)).await?;
    let step = step.map_err(|e| {
        tracing::info!(reason = %e, "local sign-in refused");
        identity_error(&e)
    })?;
    let body = match step {
        LoginStep::TotpRequired { challenge } => {
            serde_json::json!({ "next": "totp", "challenge": challenge.expose() })
        }
        LoginStep::EnrollTotp { challenge, enrollment } => serde_json::json!({
            "next": "enroll_totp",
            "challenge": challenge.expose(),
            "secret": enrollment.secret.to_base32(),
            "otpauth_uri": enrollment.otpauth_uri.expose(),
        }),
        _ => return Err(ApiError::unauthorized()),
    };
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}

/// `POST /auth/totp` body.
#[derive(Deserialize)]
pub struct TotpRequest {
    challenge: String,
    code: String,
}

/// Second step: the TOTP code. Issues a fresh session (a new id even if the
/// browser sent one: no fixation) and its CSRF token.
pub async fn totp(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: axum::http::HeaderMap,
    Json(body): Json<TotpRequest>,
) -> Result<Response, ApiError> {
    let access = access(&state)?;
    let from = source(caller.source, &headers);
    let issued = tokio::task::spawn_blocking(move || {
        let principal = access.local.complete_totp(&MfaChallenge::new(body.challenge), &body.code, caller.source)?;
        let previous = session_token(&access, &headers);
        let issued = access.sessions.login(principal, previous.as_ref())?;
        Ok::<_, IdentityError>((access.sessions.cookie(&issued.token), issued))
    })
    .await
    .map_err(|_| ApiError::unavailable("auth_unavailable", "sign-in could not be checked"))?;
    let actor = match &issued {
        Ok((_, s)) => phigate_audit::Actor {
            id: s.principal.subject.clone(),
            kind: phigate_audit::ActorKind::User,
            role: s.principal.roles.first().map(|r| r.as_str().to_string()).unwrap_or_default(),
            session: s.principal.session_ref.clone(),
        },
        Err(_) => sign_in_actor("(mfa challenge)"),
    };
    let outcome = if issued.is_ok() { Outcome::Success } else { Outcome::Denied };
    record(&state, event(actor, "auth.mfa", outcome, from)).await?;
    let (cookie, issued) = issued.map_err(|e| {
        tracing::info!(reason = %e, "TOTP step refused");
        identity_error(&e)
    })?;
    let body = serde_json::json!({
        "csrf_token": issued.csrf.expose(),
        "subject": issued.principal.subject,
        "roles": issued.principal.roles,
    });
    Ok(([(header::SET_COOKIE, cookie), (header::CACHE_CONTROL, "no-store".to_string())], Json(body)).into_response())
}

/// `POST /auth/logout`: ends the session (CSRF-checked by the access layer).
pub async fn logout(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Result<Response, ApiError> {
    let access = access(&state)?;
    let cleared = tokio::task::spawn_blocking(move || {
        if let Some(token) = session_token(&access, &headers) {
            access.sessions.logout(&token)?;
        }
        Ok::<_, IdentityError>(access.sessions.clear_cookie())
    })
    .await
    .map_err(|_| ApiError::unavailable("auth_unavailable", "sign-out could not be completed"))?
    .map_err(|e| identity_error(&e))?;
    Ok(([(header::SET_COOKIE, cleared)], Json(serde_json::json!({ "status": "signed_out" }))).into_response())
}

/// `GET /api/v1/me`: the caller's identity, roles and active purpose of use.
pub async fn me(Extension(caller): Extension<Caller>) -> Result<Response, ApiError> {
    let p = caller.principal.ok_or_else(ApiError::unauthorized)?;
    let body = serde_json::json!({
        "subject": p.subject,
        "display_name": p.display_name,
        "kind": p.kind,
        "roles": p.roles,
        "auth_method": p.auth_method,
        "purpose_of_use": caller.purpose.map(|x| x.as_str()),
        "break_glass": p.break_glass.is_some(),
    });
    Ok(Json(body).into_response())
}
