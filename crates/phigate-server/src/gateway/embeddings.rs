//! `POST /v1/embeddings`. Vectors carry no text, so nothing is re-identified;
//! inputs are redacted for backends not cleared for PHI like chat messages.

use std::sync::Arc;
use std::time::Instant;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use phigate_audit::Outcome;
use phigate_gateway::openai::{
    self, Embedding, EmbeddingData, EmbeddingUsage, EmbeddingsRequest, EmbeddingsResponse, ErrorBody,
};
use phigate_gateway::ratelimit::estimate_embedding_tokens;
use phigate_gateway::redact;
use phigate_gateway::registry::BackendKind;
use phigate_gateway::routing::{Action, Endpoint as RouteEndpoint, Payload};
use phigate_gateway::{Route, Vault};
use phigate_upstream::UpstreamResponse;

use super::call::{self, action_label};
use super::chat::local_error;
use super::record::{self, CallRecord};
use super::{Gateway, GatewayError, OVERHEAD_HEADER, model_label, overhead, overhead_header};
use crate::AppState;
use crate::access::Caller;
use crate::telemetry::{RequestId, RequestStart};

/// The handler. Every outcome, including malformed input, is recorded.
pub async fn embeddings(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    request_id: Option<Extension<RequestId>>,
    started: Option<Extension<RequestStart>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let start = started.map_or_else(Instant::now, |s| s.0.0);
    let rid = request_id.map(|r| r.0.0);
    let mut rec = CallRecord::new("embeddings");
    let result = match state.gateway.clone() {
        Some(gw) => run(&state, &gw, &caller, rid.clone(), start, body, &mut rec).await,
        None => Err(GatewayError::new(ErrorBody::model_unavailable("any"))),
    };
    record::answer(&state, &caller, rid, start, rec, result).await
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
    let req = openai::parse_embeddings_request(&body).map_err(|e| GatewayError::from_gateway(&e))?;
    rec.model = model_label(&req.model);
    rec.params.insert("inputs".into(), serde_json::Value::from(req.input.texts().count()));
    call::take_budget(gw, caller, estimate_embedding_tokens(&req))?;

    let mut vault = Vault::new().map_err(|e| GatewayError::from_gateway(&e))?;
    let mut redacted = req.clone();
    let report = redact::redact_embeddings(&gw.detector, &mut redacted, &mut vault)
        .map_err(|e| GatewayError::from_gateway(&e))?;
    let payload = Payload::from_contains_phi(report.total() > 0);
    let routes = call::plan(gw, caller, &req.model, RouteEndpoint::Embeddings, payload)?;
    let mut last_error = None;
    for route in routes.iter().filter(|r| r.is_usable()) {
        let send = match route.action {
            Action::Forward => {
                rec.redacted = None;
                &req
            }
            _ => {
                rec.redacted = Some(report.clone());
                &redacted
            }
        };
        rec.backend = Some(route.backend.clone());
        rec.action = action_label(route.action);
        let bytes = serde_json::to_vec(send).map_err(|_| GatewayError::new(ErrorBody::server_error()))?;
        rec.sent = Some(String::from_utf8_lossy(&bytes).into_owned());
        let began = Instant::now();
        let resp = if matches!(route.backend.kind, BackendKind::InProcess) {
            let Some(local) = gw.local.clone() else {
                last_error = Some(GatewayError::new(ErrorBody::model_unavailable(&req.model)));
                continue;
            };
            rec.attempts += 1;
            let out = local_embed(local, route, send.clone()).await;
            rec.backend_time = began.elapsed();
            match out {
                Ok(r) => r,
                Err(e) => {
                    last_error = Some(e);
                    continue;
                }
            }
        } else {
            match call::send(gw, &route.backend, "/embeddings", Bytes::from(bytes), false).await {
                Ok(answered) => {
                    rec.attempts += answered.attempts;
                    rec.backend_time = answered.response.time_to_headers();
                    let UpstreamResponse::Complete(c) = answered.response else {
                        last_error = Some(GatewayError::new(ErrorBody::upstream_error()));
                        continue;
                    };
                    match openai::parse::<EmbeddingsResponse>(&c.body) {
                        Ok(r) => r,
                        Err(_) => {
                            last_error = Some(GatewayError::new(ErrorBody::upstream_error()));
                            continue;
                        }
                    }
                }
                Err(e) => {
                    rec.attempts += call::attempts_of(&e);
                    last_error = Some(call::upstream_error(&e));
                    continue;
                }
            }
        };
        rec.usage = resp.usage.as_ref().map(|u| (u.prompt_tokens, 0));
        rec.params.insert("vectors".into(), serde_json::Value::from(resp.data.len()));
        let json = serde_json::to_vec(&resp).map_err(|_| GatewayError::new(ErrorBody::server_error()))?;
        let added = overhead(start, rec.backend_time);
        rec.overhead = added;
        rec.outcome = Some(Outcome::Success);
        record::write(state, caller, rid, std::mem::take(rec)).await?;
        state.metrics.observe_gateway(added);
        return Ok((
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
                (HeaderName::from_static(OVERHEAD_HEADER), overhead_header(added)),
            ],
            json,
        )
            .into_response());
    }
    Err(last_error.unwrap_or_else(|| call::no_usable_route(&req.model, &routes, payload)))
}

async fn local_embed(
    local: Arc<dyn super::LocalModels>,
    route: &Route,
    req: EmbeddingsRequest,
) -> Result<EmbeddingsResponse, GatewayError> {
    let model = route.backend.model.clone();
    let req_format = req.encoding_format.clone();
    let vectors = tokio::task::spawn_blocking(move || {
        let texts: Vec<&str> = req.input.texts().collect();
        local.embed(&model, &texts).map(|v| (v, texts.iter().map(|t| t.len() / 4 + 1).sum::<usize>()))
    })
    .await
    .map_err(|_| GatewayError::new(ErrorBody::server_error()))?
    .map_err(|e| local_error(&route.backend.model, &e))?;
    let (vectors, tokens) = vectors;
    let tokens = u32::try_from(tokens).unwrap_or(u32::MAX);
    // The OpenAI SDKs ask for base64 by default: little-endian f32s.
    let base64 = req_format.as_deref() == Some("base64");
    Ok(EmbeddingsResponse {
        object: "list".into(),
        data: vectors
            .into_iter()
            .enumerate()
            .map(|(i, v)| EmbeddingData {
                object: "embedding".into(),
                index: u32::try_from(i).unwrap_or(u32::MAX),
                embedding: if base64 { Embedding::Base64(encode_f32(&v)) } else { Embedding::Float(v) },
            })
            .collect(),
        model: route.backend.model.clone(),
        usage: Some(EmbeddingUsage { prompt_tokens: tokens, total_tokens: tokens }),
        extra: Default::default(),
    })
}

fn encode_f32(v: &[f32]) -> String {
    use base64::Engine as _;
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
