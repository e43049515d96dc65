//! Break-glass: time-limited emergency elevation with a stated reason.
//!
//! Starting it rotates the session (new id, new CSRF token) with the
//! elevated principal, and appends a `break_glass` entry whose payload, the
//! stated reason, is sealed under a key of its own (the event id is the
//! entry's subject pseudonym): free text may name a patient. The ledger's
//! break-glass alert rule fires on that entry and goes to every sink (log,
//! webhook). Every later request under the elevation is recorded with the
//! break-glass flag by the access layer. The privacy officer lists open
//! events and closes each after review; closing is itself recorded.

use std::collections::HashSet;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use phigate_audit::{Event, Outcome, Payload, Pseudonym, Query, Resource};
use phigate_phi::Phi;
use serde::Deserialize;

use crate::access::{Caller, session_token};
use crate::record::{actor, record, source};
use crate::{ApiError, AppState};

/// `POST /api/v1/break-glass` body.
#[derive(Deserialize)]
pub struct StartRequest {
    reason: String,
    #[serde(default = "default_minutes")]
    minutes: u64,
}

fn default_minutes() -> u64 {
    30
}

fn ledger(state: &AppState) -> Result<std::sync::Arc<phigate_audit::Ledger>, ApiError> {
    state.audit.clone().ok_or_else(|| ApiError::unavailable("audit_unavailable", "break-glass needs the audit ledger"))
}

/// Starts a break-glass elevation for the signed-in user.
pub async fn start(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Json(body): Json<StartRequest>,
) -> Result<Response, ApiError> {
    let access = state.access.clone().ok_or_else(ApiError::unauthorized)?;
    // Fail closed: no ledger, no elevation.
    ledger(&state)?;
    let principal = caller.principal.clone().ok_or_else(ApiError::unauthorized)?;
    let token = session_token(&access, &headers)
        .ok_or_else(|| ApiError::bad_request("session_required", "break-glass needs a signed-in browser session"))?;
    let now = access.clock.now();
    let (elevated, bg) = access
        .policy
        .break_glass(&principal, Phi::new(body.reason), Duration::from_secs(body.minutes.saturating_mul(60)), now)
        .map_err(|e| {
            tracing::info!(reason = %e, "break-glass refused");
            ApiError::bad_request(
                "break_glass_refused",
                "break-glass is not permitted for this role, reason or duration",
            )
        })?;
    let mut event = Event::new(actor(&elevated), "break_glass", Outcome::Success);
    event.break_glass = true;
    event.resource = Some(Resource { kind: "break-glass".into(), id: bg.id.clone() });
    event.subject =
        Some(Pseudonym::new(bg.id.clone()).map_err(|_| ApiError::unavailable("audit_unavailable", "bad event id"))?);
    event.purpose = Some("ETREAT".into());
    event.source = source(caller.source, &headers);
    event.payload = Some(Payload { detail: Some(Phi::new(bg.reason.expose().clone())), ..Payload::default() });
    // Recorded (and alerted) before the elevation is handed out.
    record(&state, event).await?;
    let issued = tokio::task::spawn_blocking(move || {
        access.sessions.rotate(&token, elevated).map(|i| (access.sessions.cookie(&i.token), i))
    })
    .await
    .map_err(|_| ApiError::unavailable("auth_unavailable", "session could not be rotated"))?
    .map_err(|_| ApiError::unauthorized())?;
    let (cookie, issued) = issued;
    let body = serde_json::json!({
        "break_glass_id": bg.id,
        "expires_at": bg.expires_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "csrf_token": issued.csrf.expose(),
    });
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// Open (not yet closed) break-glass events, for the privacy officer's queue.
pub async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let ledger = ledger(&state)?;
    let items = tokio::task::spawn_blocking(move || -> Result<Vec<serde_json::Value>, phigate_audit::Error> {
        let closed: HashSet<String> = ledger
            .query_records(&Query { action: Some("break_glass.close".into()), ..Query::default() })?
            .into_iter()
            .filter_map(|r| r.event.resource.map(|x| x.id))
            .collect();
        let open = ledger.query_records(&Query { action: Some("break_glass".into()), ..Query::default() })?;
        Ok(open
            .into_iter()
            .filter(|r| r.event.resource.as_ref().is_some_and(|x| !closed.contains(&x.id)))
            .map(|r| {
                serde_json::json!({
                    "id": r.event.resource.map(|x| x.id),
                    "actor": r.event.actor.id,
                    "seq": r.seq,
                    "time": r.time.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
                })
            })
            .collect())
    })
    .await
    .map_err(|_| ApiError::unavailable("audit_unavailable", "the ledger could not be read"))?
    .map_err(|_| ApiError::unavailable("audit_unavailable", "the ledger could not be read"))?;
    Ok(Json(serde_json::json!({ "open": items })).into_response())
}

/// Closes a break-glass event after review.
pub async fn close(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let principal = caller.principal.clone().ok_or_else(ApiError::unauthorized)?;
    if !id.starts_with("bg-") || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(ApiError::bad_request("invalid_id", "not a break-glass event id"));
    }
    let mut event = Event::new(actor(&principal), "break_glass.close", Outcome::Success);
    event.resource = Some(Resource { kind: "break-glass".into(), id: id.clone() });
    event.purpose = Some("HOPERAT".into());
    event.source = source(caller.source, &headers);
    record(&state, event).await?;
    Ok(Json(serde_json::json!({ "id": id, "status": "closed" })).into_response())
}
