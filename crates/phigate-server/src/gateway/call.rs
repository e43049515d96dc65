//! What chat and embeddings calls share: reading the body, the token
//! budget, the routing plan adjusted for the caller, and sending to a route.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use phigate_gateway::openai::ErrorBody;
use phigate_gateway::routing::{self, Action, Endpoint as RouteEndpoint, Payload, Refusal};
use phigate_gateway::{Backend, Route};
use phigate_upstream::{Answered, Endpoint};

use super::{Gateway, GatewayError};
use crate::access::Caller;

/// The request body, or the OpenAI-style error for a body we cannot take.
pub(crate) fn body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, GatewayError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            let mut b = ErrorBody::invalid_request("The request body is too large.", None);
            b.error.code = Some("request_too_large".into());
            GatewayError::with_status(b, StatusCode::PAYLOAD_TOO_LARGE)
        } else {
            GatewayError::new(ErrorBody::invalid_request("The request body could not be read.", None))
        }
    })
}

/// Takes `estimated` tokens from the caller's budget, or a 429.
pub(crate) fn take_budget(gw: &Gateway, caller: &Caller, estimated: u32) -> Result<(), GatewayError> {
    let id = caller.principal.as_ref().map_or("anonymous", |p| p.subject.as_str());
    let mut limiter = gw.limiter.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    match limiter.try_acquire(id, estimated, Instant::now()) {
        Ok(_permit) => Ok(()),
        Err(retry) => {
            let mut e = GatewayError::new(ErrorBody::rate_limit_exceeded(retry.secs()));
            e.retry_after = Some(retry.secs());
            Err(e)
        }
    }
}

/// The routes to try, in order, with what must happen on each.
///
/// A de-identified-only caller (a researcher) gets every usable route turned
/// into "redact, then forward", even to backends cleared for PHI: what such
/// a caller sends and receives must be de-identified whatever the backend.
pub(crate) fn plan(
    gw: &Gateway,
    caller: &Caller,
    model: &str,
    endpoint: RouteEndpoint,
    payload: Payload,
) -> Result<Vec<Route>, GatewayError> {
    let today = time::OffsetDateTime::now_utc().date();
    let registry = gw.registry();
    let mut routes =
        routing::plan(&registry, model, endpoint, today, payload).map_err(|e| GatewayError::from_gateway(&e))?;
    if caller.deidentified_only {
        for r in &mut routes {
            if r.is_usable() && payload == Payload::ContainsPhi {
                r.action = Action::RedactThenForward;
            }
        }
    }
    Ok(routes)
}

/// The error when no route of a plan may take the request.
pub(crate) fn no_usable_route(model: &str, routes: &[Route], payload: Payload) -> GatewayError {
    let phi_refused = routes.iter().any(|r| {
        matches!(r.action, Action::Refuse(Refusal::OnPhiRefuse | Refusal::DeidentifiedNotAllowed))
            || (payload == Payload::ContainsPhi && matches!(r.action, Action::Refuse(_)))
    });
    if phi_refused {
        GatewayError::new(ErrorBody::phi_not_allowed())
    } else {
        GatewayError::new(ErrorBody::model_unavailable(model))
    }
}

/// How the ledger names a route's action.
pub(crate) fn action_label(action: Action) -> &'static str {
    match action {
        Action::Forward => "forward",
        Action::RedactThenForward => "redact",
        Action::Refuse(_) => "refuse",
    }
}

/// The HTTP endpoint of a backend reached over the network.
fn endpoint(gw: &Gateway, backend: &Backend) -> Result<Endpoint, phigate_upstream::Error> {
    let base = backend.kind.base_url().map(|u| u.as_str().to_owned()).unwrap_or_default();
    let mut ep = Endpoint::new(&backend.id, &base)?
        .with_connect_timeout(backend.timeouts.connect)
        .with_request_timeout(backend.timeouts.request);
    if let Some(key) = gw.api_keys.get(&backend.id) {
        ep = ep.with_api_key(key.clone());
    }
    Ok(ep)
}

/// Sends `body` to an HTTP backend (retries and breaker inside).
pub(crate) async fn send(
    gw: &Gateway,
    backend: &Arc<Backend>,
    path: &str,
    body: Bytes,
    stream: bool,
) -> Result<Answered, phigate_upstream::Error> {
    let ep = endpoint(gw, backend)?;
    gw.failover.send(std::slice::from_ref(&ep), path, body, stream).await
}

/// The client's view of a backend failure: a 4xx from the backend means the
/// request itself was refused (400); anything else is a 502.
pub(crate) fn upstream_error(e: &phigate_upstream::Error) -> GatewayError {
    tracing::warn!(code = e.code(), status = e.status().map(|s| s.as_u16()), "model backend failed");
    match e.status() {
        Some(s) if s.is_client_error() && s != StatusCode::TOO_MANY_REQUESTS => {
            let mut b = ErrorBody::invalid_request("The model backend rejected the request.", None);
            b.error.code = Some("upstream_rejected".into());
            GatewayError::new(b)
        }
        _ => GatewayError::new(ErrorBody::upstream_error()),
    }
}

/// Requests sent, from an upstream error (for the ledger).
pub(crate) fn attempts_of(e: &phigate_upstream::Error) -> u32 {
    match e {
        phigate_upstream::Error::Failover(f) => f.attempts,
        _ => 1,
    }
}
