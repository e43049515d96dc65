//! Streamed chat answers (`stream: true`) as server-sent events.
//!
//! A task reads the backend's events (or the in-process model's pieces),
//! re-identifies each chunk ([`ChunkRestorer`] holds back a placeholder split
//! across chunks), and forwards it. When the client goes away the task stops
//! reading, which cancels in-process generation and drops the upstream
//! connection. The ledger entry is written when the stream ends, before
//! `data: [DONE]`; if it cannot be written the stream ends with an error
//! event instead of `[DONE]`.

use std::convert::Infallible;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use phigate_audit::Outcome;
use phigate_gateway::openai::{self, ChatChunk, ChatRequest, ChunkChoice, ErrorBody, Role, Usage};
use phigate_gateway::restore::ChunkRestorer;
use phigate_gateway::{Route, Vault};
use phigate_upstream::EventStream;
use tokio::sync::mpsc;

use super::record::{self, CallRecord};
use super::{LocalModels, OVERHEAD_HEADER, overhead, overhead_header};
use crate::AppState;
use crate::access::Caller;

/// Events buffered towards a slow client before the reader waits.
const BUFFER: usize = 32;

fn sse(json: &str) -> Bytes {
    let mut s = String::with_capacity(json.len() + 8);
    s.push_str("data: ");
    s.push_str(json);
    s.push_str("\n\n");
    Bytes::from(s)
}

fn error_event(body: &ErrorBody) -> Bytes {
    sse(&serde_json::to_string(body).unwrap_or_else(|_| "{\"error\":{}}".into()))
}

fn response(rx: mpsc::Receiver<Bytes>, added: std::time::Duration) -> Response {
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx)) });
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (HeaderName::from_static(OVERHEAD_HEADER), overhead_header(added)),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// Records the stream's end, then sends `[DONE]` (or an error event if the
/// record could not be written).
async fn close(state: &AppState, caller: &Caller, rid: Option<String>, rec: CallRecord, tx: &mpsc::Sender<Bytes>) {
    let ok = rec.outcome == Some(Outcome::Success);
    match record::write(state, caller, rid, rec).await {
        Ok(()) if ok => {
            let _ = tx.send(Bytes::from_static(b"data: [DONE]\n\n")).await;
        }
        Ok(()) => {}
        Err(e) => {
            let _ = tx.send(error_event(&e.body)).await;
        }
    }
}

fn note_chunk(chunk: &ChatChunk, rec: &mut CallRecord) {
    if let Some(u) = &chunk.usage {
        rec.usage = Some((u.prompt_tokens, u.completion_tokens));
    }
    for c in &chunk.choices {
        for t in c.delta.tool_calls.iter().flatten() {
            if let Some(name) = t.function.as_ref().and_then(|f| f.name.clone()) {
                rec.tools.push(name);
            }
        }
    }
}

/// Streams an HTTP backend's answer.
pub(crate) fn upstream(
    state: &AppState,
    caller: &Caller,
    rid: Option<String>,
    start: Instant,
    mut events: EventStream,
    restore_with: Option<Arc<Vault>>,
    rec: &mut CallRecord,
) -> Response {
    let (tx, rx) = mpsc::channel(BUFFER);
    let mut rec = std::mem::take(rec);
    let added = overhead(start, rec.backend_time);
    rec.overhead = added;
    state.metrics.observe_gateway(added);
    let (state, caller) = (state.clone(), caller.clone());
    tokio::spawn(async move {
        let mut restorer = restore_with.map(ChunkRestorer::new);
        let mut received = String::new();
        rec.outcome = Some(Outcome::Success);
        loop {
            let event = match events.next_event().await {
                None => break,
                Some(Ok(ev)) => ev,
                Some(Err(e)) => {
                    tracing::warn!(code = e.code(), "model backend stream failed");
                    rec.outcome = Some(Outcome::Error);
                    rec.error = Some(e.code().to_owned());
                    let _ = tx.send(error_event(&ErrorBody::upstream_error())).await;
                    break;
                }
            };
            received.push_str(&event.data);
            received.push('\n');
            let mut chunk = match openai::parse_chat_chunk(event.data.as_bytes()) {
                Ok(c) => c,
                Err(_) => {
                    rec.outcome = Some(Outcome::Error);
                    rec.error = Some("upstream_bad_chunk".into());
                    let _ = tx.send(error_event(&ErrorBody::upstream_error())).await;
                    break;
                }
            };
            if let Some(r) = &mut restorer {
                r.restore(&mut chunk);
            }
            note_chunk(&chunk, &mut rec);
            let json = serde_json::to_string(&chunk).unwrap_or_default();
            if tx.send(sse(&json)).await.is_err() {
                rec.outcome = Some(Outcome::Error);
                rec.error = Some("client_disconnected".into());
                break;
            }
        }
        if rec.outcome == Some(Outcome::Success)
            && let Some(last) = restorer.as_mut().and_then(ChunkRestorer::finish)
        {
            let _ = tx.send(sse(&serde_json::to_string(&last).unwrap_or_default())).await;
        }
        rec.received = Some(received);
        close(&state, &caller, rid, rec, &tx).await;
    });
    response(rx, added)
}

/// Streams the in-process model's answer.
#[allow(clippy::too_many_arguments)]
pub(crate) fn local(
    state: &AppState,
    caller: &Caller,
    rid: Option<String>,
    start: Instant,
    route: &Route,
    local: Arc<dyn LocalModels>,
    send: ChatRequest,
    restore_with: Option<Arc<Vault>>,
    rec: &mut CallRecord,
) -> Response {
    let (tx, rx) = mpsc::channel(BUFFER);
    let mut rec = std::mem::take(rec);
    let added = overhead(start, std::time::Duration::ZERO);
    rec.overhead = added;
    state.metrics.observe_gateway(added);
    let (state, caller) = (state.clone(), caller.clone());
    let model = route.backend.model.clone();
    let include_usage = send.stream_options.as_ref().and_then(|o| o.include_usage) == Some(true);
    let (piece_tx, mut piece_rx) = mpsc::channel::<String>(BUFFER);
    let began = Instant::now();
    let generation = tokio::task::spawn_blocking(move || {
        local.chat(&model, &send, &mut |piece| {
            // The reader is gone (client disconnected): stop generating.
            if piece_tx.blocking_send(piece.to_owned()).is_err() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
    });
    let model = route.backend.model.clone();
    tokio::spawn(async move {
        let mut restorer = restore_with.map(ChunkRestorer::new);
        let id = format!("chatcmpl-{}", hex::encode(rand::random::<[u8; 12]>()));
        let created = time::OffsetDateTime::now_utc().unix_timestamp();
        let template = ChatChunk {
            id,
            object: "chat.completion.chunk".into(),
            created,
            model,
            choices: Vec::new(),
            usage: None,
            system_fingerprint: None,
            extra: Default::default(),
        };
        let mut first = true;
        let mut received = String::new();
        let mut gone = false;
        while let Some(piece) = piece_rx.recv().await {
            received.push_str(&piece);
            let mut chunk = ChatChunk::empty_like(&template);
            let mut choice = ChunkChoice::new(0);
            if first {
                choice.delta.role = Some(Role::Assistant);
                first = false;
            }
            choice.delta.content = Some(piece);
            chunk.choices.push(choice);
            if let Some(r) = &mut restorer {
                r.restore(&mut chunk);
            }
            if tx.send(sse(&serde_json::to_string(&chunk).unwrap_or_default())).await.is_err() {
                gone = true;
                break;
            }
        }
        drop(piece_rx);
        let result = generation.await;
        rec.attempts += 1;
        rec.backend_time = began.elapsed();
        rec.received = Some(received);
        match result {
            Ok(Ok(out)) if !gone => {
                rec.usage = Some((out.prompt_tokens, out.completion_tokens));
                rec.outcome = Some(Outcome::Success);
                let mut last = ChatChunk::empty_like(&template);
                let mut choice = ChunkChoice::new(0);
                choice.finish_reason = Some(out.finish_reason.to_owned());
                last.choices.push(choice);
                if let Some(r) = &mut restorer {
                    r.restore(&mut last);
                }
                let _ = tx.send(sse(&serde_json::to_string(&last).unwrap_or_default())).await;
                if include_usage {
                    let mut usage = ChatChunk::empty_like(&template);
                    usage.usage = Some(Usage {
                        prompt_tokens: out.prompt_tokens,
                        completion_tokens: out.completion_tokens,
                        total_tokens: out.prompt_tokens + out.completion_tokens,
                        extra: Default::default(),
                    });
                    let _ = tx.send(sse(&serde_json::to_string(&usage).unwrap_or_default())).await;
                }
            }
            Ok(Ok(_)) => {
                rec.outcome = Some(Outcome::Error);
                rec.error = Some("client_disconnected".into());
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "in-process model failed");
                rec.outcome = Some(Outcome::Error);
                rec.error = Some(if gone { "client_disconnected" } else { "model_failed" }.into());
                let _ = tx.send(error_event(&ErrorBody::server_error())).await;
            }
            Err(_) => {
                rec.outcome = Some(Outcome::Error);
                rec.error = Some("model_panicked".into());
                let _ = tx.send(error_event(&ErrorBody::server_error())).await;
            }
        }
        close(&state, &caller, rid, rec, &tx).await;
    });
    response(rx, added)
}
