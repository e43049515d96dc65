//! Recording requests in the audit ledger.
//!
//! Fail closed: an entry that cannot be made durable fails the request it
//! describes (503), so nothing the ledger should hold happens unrecorded.
//! Actors are workforce identifiers; sign-in names are cut to 64 characters.

use axum::http::{HeaderMap, header};
use phigate_audit::{Actor, ActorKind, Event, Outcome, Source};
use phigate_identity::{Principal, PrincipalKind};
use phigate_policy::Purpose;

use crate::{ApiError, AppState};

/// The actor of a sign-in attempt, by the name it gave.
pub fn sign_in_actor(username: &str) -> Actor {
    let name: String = username.trim().to_lowercase().chars().take(64).collect();
    Actor { id: format!("local:{name}"), kind: ActorKind::User, role: "unauthenticated".into(), session: None }
}

/// The ledger's actor for an authenticated principal.
pub fn actor(p: &Principal) -> Actor {
    Actor {
        id: p.subject.clone(),
        kind: if p.kind == PrincipalKind::Service { ActorKind::Service } else { ActorKind::User },
        role: p.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(","),
        session: p.session_ref.clone(),
    }
}

/// HL7 v3 ActReason code of a purpose of use.
pub fn purpose_code(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::Treatment => "TREAT",
        Purpose::Research => "HRESCH",
        Purpose::Emergency => "ETREAT",
        _ => "HOPERAT",
    }
}

/// Where a request came from.
pub fn source(address: std::net::IpAddr, headers: &HeaderMap) -> Source {
    let user_agent =
        headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|ua| ua.chars().take(200).collect());
    Source { address: Some(address.to_string()), user_agent, device: None }
}

/// An event for `action` by `actor` with `outcome` from `source`.
pub fn event(actor: Actor, action: &str, outcome: Outcome, source: Source) -> Event {
    let mut e = Event::new(actor, action, outcome);
    e.source = source;
    e
}

/// Appends `event` and waits until it is durable.
///
/// An event without a payload is queued directly and awaited without
/// holding a thread (most requests); one with a payload is sealed on the
/// blocking pool first, since the key provider may do I/O.
pub async fn record(state: &AppState, event: Event) -> Result<(), ApiError> {
    let Some(ledger) = state.audit.clone() else {
        // Only in-process tests build a router without a ledger.
        return Ok(());
    };
    let refused = |e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, "audit append failed; refusing the request");
        ApiError::unavailable("audit_unavailable", "the audit ledger cannot record this request")
    };
    let pending = if event.payload.is_none() {
        ledger.submit(&event).map_err(|e| refused(&e))?
    } else {
        let l = ledger.clone();
        tokio::task::spawn_blocking(move || l.submit(&event))
            .await
            .map_err(|e| refused(&e))?
            .map_err(|e| refused(&e))?
    };
    let waited = std::time::Instant::now();
    let durable = ledger.durable(&pending).await;
    state.metrics.observe_audit_wait(waited.elapsed());
    durable.map_err(|e| refused(&e))?;
    Ok(())
}
