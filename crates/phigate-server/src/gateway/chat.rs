//! `POST /v1/chat/completions`.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Instant;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use phigate_audit::Outcome;
use phigate_gateway::openai::{self, ChatRequest, ChatResponse, Choice, ErrorBody, Message, Role, Usage};
use phigate_gateway::ratelimit::estimate_tokens;
use phigate_gateway::redact::{self, RedactionReport};
use phigate_gateway::routing::{Action, Endpoint as RouteEndpoint, Payload};
use phigate_gateway::{Route, Vault, restore};
use phigate_upstream::UpstreamResponse;
use serde_json::Value;

use super::call::{self, action_label};
use super::record::{self, CallRecord};
use super::{Gateway, GatewayError, OVERHEAD_HEADER, overhead, overhead_header, stream};
use crate::AppState;
use crate::access::Caller;
use crate::telemetry::{RequestId, RequestStart};

/// The request field naming a prompt template: `{"id", "version"?, "variables": {…}}`.
pub const TEMPLATE_FIELD: &str = "phigate_template";

/// The handler. Every outcome, including malformed input, is recorded.
pub async fn chat_completions(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    request_id: Option<Extension<RequestId>>,
    started: Option<Extension<RequestStart>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let start = started.map_or_else(Instant::now, |s| s.0.0);
    let rid = request_id.map(|r| r.0.0);
    let mut rec = CallRecord::new("chat");
    let result = match state.gateway.clone() {
        Some(gw) => run(&state, &gw, &caller, rid.clone(), start, body, &mut rec).await,
        None => Err(GatewayError::new(ErrorBody::model_unavailable("any"))),
    };
    record::answer(&state, &caller, rid, start, rec, result).await
}

/// The request after templates and the boundary decision.
struct Prepared {
    original: ChatRequest,
    redacted: Option<(ChatRequest, Arc<Vault>, RedactionReport)>,
    payload: Payload,
}

async fn run(
    state: &AppState,
    gw: &Arc<Gateway>,
    caller: &Caller,
    rid: Option<String>,
    start: Instant,
    body: Result<Bytes, BytesRejection>,
    rec: &mut CallRecord,
) -> Result<Response, GatewayError> {
    let body = call::body(body)?;
    let mut req = openai::parse_chat_request(&body).map_err(|e| GatewayError::from_gateway(&e))?;
    rec.model = super::model_label(&req.model);
    rec.temperature = req.temperature;
    parameters(&req, rec);
    apply_template(gw, &mut req, rec)?;
    call::take_budget(gw, caller, estimate_tokens(&req))?;

    let prepared = prepare(gw, req)?;
    let routes = call::plan(gw, caller, &prepared.original.model, RouteEndpoint::Chat, prepared.payload)?;
    let stream = prepared.original.is_stream();
    let mut last_error = None;
    for route in routes.iter().filter(|r| r.is_usable()) {
        let (send, vault) = match (route.action, &prepared.redacted) {
            (Action::Forward, _) => {
                rec.redacted = None;
                (&prepared.original, None)
            }
            (Action::RedactThenForward, Some((redacted, vault, report))) => {
                rec.redacted = Some(report.clone());
                (redacted, Some(vault.clone()))
            }
            // Needs redaction but the request could not be redacted (content
            // the redactor cannot inspect): this route may not take it.
            _ => continue,
        };
        // A de-identified-only caller never gets identifiers back.
        let restore_with = if caller.deidentified_only { None } else { vault };
        rec.backend = Some(route.backend.clone());
        rec.action = action_label(route.action);
        let sent = match serde_json::to_vec(send) {
            Ok(b) => b,
            Err(_) => return Err(GatewayError::new(ErrorBody::server_error())),
        };
        rec.sent = Some(String::from_utf8_lossy(&sent).into_owned());
        if matches!(route.backend.kind, phigate_gateway::registry::BackendKind::InProcess) {
            let Some(local) = gw.local.clone() else {
                last_error = Some(GatewayError::new(ErrorBody::model_unavailable(&prepared.original.model)));
                continue;
            };
            if stream {
                return Ok(stream::local(state, caller, rid, start, route, local, send.clone(), restore_with, rec));
            }
            return local_complete(state, caller, rid, start, route, local, send.clone(), restore_with, rec).await;
        }
        match call::send(gw, &route.backend, "/chat/completions", Bytes::from(sent), stream).await {
            Ok(answered) => {
                rec.attempts += answered.attempts;
                rec.backend_time = answered.response.time_to_headers();
                return match answered.response {
                    UpstreamResponse::Stream(events) => {
                        Ok(stream::upstream(state, caller, rid, start, *events, restore_with, rec))
                    }
                    UpstreamResponse::Complete(c) => {
                        complete(state, caller, rid, start, &c.body, restore_with, stream, rec).await
                    }
                };
            }
            Err(e) => {
                rec.attempts += call::attempts_of(&e);
                last_error = Some(call::upstream_error(&e));
            }
        }
    }
    Err(last_error.unwrap_or_else(|| call::no_usable_route(&prepared.original.model, &routes, prepared.payload)))
}

/// Parameters worth reproducing (never text).
fn parameters(req: &ChatRequest, rec: &mut CallRecord) {
    let p = &mut rec.params;
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            p.insert(k.to_owned(), v);
        }
    };
    put("top_p", req.top_p.map(Value::from));
    put("max_tokens", req.max_tokens.or(req.max_completion_tokens).map(Value::from));
    put("seed", req.seed.map(Value::from));
    put("n", req.n.map(Value::from));
    put("stream", Some(Value::from(req.is_stream())));
    put("messages", Some(Value::from(req.messages.len())));
    put("tools_offered", req.tools.as_ref().map(|t| Value::from(t.len())));
}

/// Renders the named template (if any) into a final user message.
fn apply_template(gw: &Gateway, req: &mut ChatRequest, rec: &mut CallRecord) -> Result<(), GatewayError> {
    let Some(spec) = req.extra.remove(TEMPLATE_FIELD) else {
        return Ok(());
    };
    let bad = |m: &'static str| GatewayError::new(ErrorBody::invalid_request(m, Some(TEMPLATE_FIELD)));
    let id = spec.get("id").and_then(Value::as_str).ok_or_else(|| bad("phigate_template.id must be a string"))?;
    let version = match spec.get("version") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| bad("phigate_template.version must be a whole number"))?,
        ),
    };
    let empty = serde_json::Map::new();
    let vars = match spec.get("variables") {
        None => &empty,
        Some(Value::Object(m)) => m,
        Some(_) => return Err(bad("phigate_template.variables must be an object of strings")),
    };
    let mut values = Vec::with_capacity(vars.len());
    for (k, v) in vars {
        values.push((k.as_str(), v.as_str().ok_or_else(|| bad("phigate_template.variables must be strings"))?));
    }
    let rendered = gw.templates.render(id, version, values).map_err(|e| GatewayError::from_gateway(&e))?;
    rec.template = Some((rendered.id.clone(), rendered.version, rendered.hash.clone()));
    req.messages.push(Message::text(Role::User, rendered.text));
    Ok(())
}

/// Detects identifiers once: the redacted copy (and its vault) serves every
/// route that needs it, and whether anything was found decides the plan.
fn prepare(gw: &Gateway, original: ChatRequest) -> Result<Prepared, GatewayError> {
    let mut vault = Vault::new().map_err(|e| GatewayError::from_gateway(&e))?;
    let mut copy = original.clone();
    match redact::redact_chat(&gw.detector, &mut copy, &mut vault) {
        Ok(report) => {
            let payload = Payload::from_contains_phi(report.total() > 0);
            Ok(Prepared { original, redacted: Some((copy, Arc::new(vault), report)), payload })
        }
        // Content the redactor cannot inspect (images, audio): only a
        // backend cleared for PHI may take it, as is.
        Err(phigate_gateway::Error::UnsupportedContent { .. }) => {
            Ok(Prepared { original, redacted: None, payload: Payload::ContainsPhi })
        }
        Err(e) => Err(GatewayError::from_gateway(&e)),
    }
}

/// A complete answer from an HTTP backend.
#[allow(clippy::too_many_arguments)]
async fn complete(
    state: &AppState,
    caller: &Caller,
    rid: Option<String>,
    start: Instant,
    body: &[u8],
    restore_with: Option<Arc<Vault>>,
    asked_stream: bool,
    rec: &mut CallRecord,
) -> Result<Response, GatewayError> {
    rec.received = Some(String::from_utf8_lossy(body).into_owned());
    let mut resp = openai::parse_chat_response(body).map_err(|_| {
        tracing::warn!("model backend answered with a body that is not a chat completion");
        GatewayError::new(ErrorBody::upstream_error())
    })?;
    if asked_stream {
        // The backend ignored `stream`: answer as one event stream anyway.
        tracing::debug!("backend answered a streaming request with a complete body");
    }
    finish_complete(state, caller, rid, start, &mut resp, restore_with, rec).await
}

/// Re-identifies, records and sends a complete answer.
async fn finish_complete(
    state: &AppState,
    caller: &Caller,
    rid: Option<String>,
    start: Instant,
    resp: &mut ChatResponse,
    restore_with: Option<Arc<Vault>>,
    rec: &mut CallRecord,
) -> Result<Response, GatewayError> {
    if let Some(vault) = &restore_with {
        restore::restore_response(vault, resp);
    }
    rec.usage = resp.usage.as_ref().map(|u| (u.prompt_tokens, u.completion_tokens));
    rec.tools = resp
        .choices
        .iter()
        .flat_map(|c| c.message.tool_calls.iter().flatten())
        .map(|t| t.function.name.clone())
        .collect();
    let json = serde_json::to_vec(&*resp).map_err(|_| GatewayError::new(ErrorBody::server_error()))?;
    let added = overhead(start, rec.backend_time);
    rec.overhead = added;
    rec.outcome = Some(Outcome::Success);
    record::write(state, caller, rid, std::mem::take(rec)).await?;
    state.metrics.observe_gateway(added);
    Ok((
        [
            (header::CONTENT_TYPE, axum::http::HeaderValue::from_static("application/json")),
            (axum::http::HeaderName::from_static(OVERHEAD_HEADER), overhead_header(added)),
        ],
        json,
    )
        .into_response())
}

/// A complete answer from the in-process model.
#[allow(clippy::too_many_arguments)]
async fn local_complete(
    state: &AppState,
    caller: &Caller,
    rid: Option<String>,
    start: Instant,
    route: &Route,
    local: Arc<dyn super::LocalModels>,
    send: ChatRequest,
    restore_with: Option<Arc<Vault>>,
    rec: &mut CallRecord,
) -> Result<Response, GatewayError> {
    let model = route.backend.model.clone();
    let began = Instant::now();
    let result = tokio::task::spawn_blocking(move || local.chat(&model, &send, &mut |_| ControlFlow::Continue(())))
        .await
        .map_err(|_| GatewayError::new(ErrorBody::server_error()))?;
    rec.attempts += 1;
    rec.backend_time = began.elapsed();
    let out = result.map_err(|e| local_error(&route.backend.model, &e))?;
    rec.received = Some(out.text.clone());
    let mut resp = ChatResponse {
        id: format!("chatcmpl-{}", hex::encode(rand::random::<[u8; 12]>())),
        object: "chat.completion".into(),
        created: time::OffsetDateTime::now_utc().unix_timestamp(),
        model: route.backend.model.clone(),
        choices: vec![Choice {
            index: 0,
            message: Message::text(Role::Assistant, out.text),
            finish_reason: Some(out.finish_reason.to_owned()),
            logprobs: None,
            extra: Default::default(),
        }],
        usage: Some(Usage {
            prompt_tokens: out.prompt_tokens,
            completion_tokens: out.completion_tokens,
            total_tokens: out.prompt_tokens + out.completion_tokens,
            extra: Default::default(),
        }),
        system_fingerprint: None,
        extra: Default::default(),
    };
    finish_complete(state, caller, rid, start, &mut resp, restore_with, rec).await
}

/// The client's view of an in-process failure.
pub(crate) fn local_error(model: &str, e: &super::LocalError) -> GatewayError {
    tracing::warn!(error = %e, "in-process model failed");
    match e {
        super::LocalError::Unavailable(_) => GatewayError::new(ErrorBody::model_unavailable(model)),
        super::LocalError::InvalidRequest(m) => GatewayError::new(ErrorBody::invalid_request(m.clone(), None)),
        _ => GatewayError::new(ErrorBody::server_error()),
    }
}
