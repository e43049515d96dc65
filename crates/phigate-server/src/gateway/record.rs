//! The `model.call` ledger entry: the full chain of one gateway call.
//!
//! Clear fields: caller, purpose, backend id and kind, model id and
//! version, template id, version and hash, parameters, what the redactor
//! replaced (counts per identifier kind), attempts, latency, overhead,
//! token counts, outcome and error code. Sealed payload: the body exactly as
//! it crossed to the backend (redacted form where it was redacted) and the
//! answer exactly as it came back. Payloads are sealed under a per-day
//! subject key (`gateway:YYYY-MM-DD`), so retention shreds them day by day.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use phigate_audit::{AiCall, Event, Outcome, Payload, Pseudonym, Resource};
use phigate_gateway::Backend;
use phigate_gateway::redact::RedactionReport;
use phigate_phi::Phi;
use serde_json::Value;

use super::GatewayError;
use crate::access::Caller;
use crate::{AppState, record};

/// Everything known about a call when it ends.
#[derive(Default)]
pub(crate) struct CallRecord {
    /// `chat` or `embeddings`.
    pub endpoint: &'static str,
    /// The model the client asked for (identifier charset only).
    pub model: String,
    /// The backend that answered (or was last tried).
    pub backend: Option<Arc<Backend>>,
    /// `forward`, `redact` or `refuse`.
    pub action: &'static str,
    /// Template id, version and SHA-256.
    pub template: Option<(String, u32, String)>,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Other parameters worth reproducing (no text).
    pub params: BTreeMap<String, Value>,
    /// What the redactor replaced, per kind.
    pub redacted: Option<RedactionReport>,
    /// The body as it crossed to the backend.
    pub sent: Option<String>,
    /// The answer as it came back from the backend (before re-identification).
    pub received: Option<String>,
    /// Tool names the model asked to call.
    pub tools: Vec<String>,
    /// Requests sent to backends.
    pub attempts: u32,
    /// Backend time (to headers, or whole generation in process).
    pub backend_time: Duration,
    /// The gateway's own added time.
    pub overhead: Duration,
    /// Prompt and completion tokens, when known.
    pub usage: Option<(u32, u32)>,
    /// How it ended.
    pub outcome: Option<Outcome>,
    /// Error code when it failed.
    pub error: Option<String>,
}

impl CallRecord {
    pub(crate) fn new(endpoint: &'static str) -> Self {
        Self { endpoint, ..Self::default() }
    }

    pub(crate) fn failed(mut self, e: &GatewayError) -> Self {
        self.error = Some(e.code());
        // Refused by policy (PHI rule, budget) is `Denied`; anything else failed.
        self.outcome = Some(match e.status.as_u16() {
            403 | 429 => Outcome::Denied,
            _ => Outcome::Error,
        });
        self
    }

    fn into_event(self, caller: &Caller, request_id: Option<String>) -> Event {
        let (actor, break_glass) = match &caller.principal {
            Some(p) => (record::actor(p), p.break_glass_active(time::OffsetDateTime::now_utc())),
            None => (record::sign_in_actor("anonymous"), false),
        };
        let outcome = self.outcome.unwrap_or(Outcome::Success);
        let mut e = Event::new(actor, "model.call", outcome);
        e.source = phigate_audit::Source { address: Some(caller.source.to_string()), user_agent: None, device: None };
        e.purpose = caller.purpose.map(|p| record::purpose_code(p).to_string());
        e.request_id = request_id;
        e.break_glass = break_glass;
        e.resource = self.backend.as_ref().map(|b| Resource { kind: "model-backend".into(), id: b.id.clone() });

        let mut parameters = self.params;
        parameters.insert("endpoint".into(), Value::from(self.endpoint));
        parameters.insert("requested_model".into(), Value::from(self.model.clone()));
        if !self.action.is_empty() {
            parameters.insert("boundary".into(), Value::from(self.action));
        }
        if let Some(b) = &self.backend {
            parameters.insert("backend_kind".into(), Value::from(b.kind.label()));
            if let Some(baa) = &b.baa {
                parameters.insert("baa_reference".into(), Value::from(baa.reference.clone()));
            }
        }
        if let Some(r) = &self.redacted {
            parameters.insert("redacted".into(), serde_json::to_value(r).unwrap_or(Value::Null));
        }
        parameters.insert("deidentified_only".into(), Value::from(caller.deidentified_only));
        parameters.insert("attempts".into(), Value::from(self.attempts));
        parameters.insert("backend_ms".into(), Value::from(millis(self.backend_time)));
        parameters.insert("overhead_ms".into(), Value::from(millis(self.overhead)));
        if let Some((p, c)) = self.usage {
            parameters.insert("prompt_tokens".into(), Value::from(p));
            parameters.insert("completion_tokens".into(), Value::from(c));
        }
        if let Some(code) = &self.error {
            parameters.insert("error".into(), Value::from(code.clone()));
        }
        let (template_id, template_version) = match &self.template {
            Some((id, version, hash)) => {
                parameters.insert("template_sha256".into(), Value::from(hash.clone()));
                (id.clone(), version.to_string())
            }
            None => (String::new(), String::new()),
        };
        e.ai = Some(AiCall {
            model_id: self.backend.as_ref().map_or_else(|| self.model.clone(), |b| b.model.clone()),
            model_version: self.backend.as_ref().map(|b| b.model_version.clone()).unwrap_or_default(),
            template_id,
            template_version,
            temperature: self.temperature,
            parameters,
            retrieved: Vec::new(),
            tools: self.tools,
        });
        if self.sent.is_some() || self.received.is_some() {
            let today = time::OffsetDateTime::now_utc().date();
            // The per-day pseudonym always matches the charset; if it did
            // not, the payload would be dropped rather than written in clear.
            if let Ok(subject) = Pseudonym::new(format!("gateway:{today}")) {
                e.subject = Some(subject);
                e.payload = Some(Payload {
                    input: self.sent.map(Phi::new),
                    output: self.received.map(Phi::new),
                    tool_calls: Vec::new(),
                    detail: None,
                });
            }
        }
        e
    }
}

fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// The handler's reply: a successful call recorded itself on the way;
/// a failed one is recorded here (with the gateway's time so far), and if
/// even that record cannot be written the client gets `audit_unavailable`.
pub(crate) async fn answer(
    state: &AppState,
    caller: &Caller,
    rid: Option<String>,
    start: std::time::Instant,
    mut rec: CallRecord,
    result: Result<axum::response::Response, GatewayError>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match result {
        Ok(resp) => resp,
        Err(e) => {
            rec.overhead = super::overhead(start, rec.backend_time);
            if let Err(audit) = write(state, caller, rid, rec.failed(&e)).await {
                return audit.into_response();
            }
            e.into_response()
        }
    }
}

/// Writes the call's entry and waits until it is durable.
pub(crate) async fn write(
    state: &AppState,
    caller: &Caller,
    request_id: Option<String>,
    rec: CallRecord,
) -> Result<(), GatewayError> {
    let event = rec.into_event(caller, request_id);
    record::record(state, event).await.map_err(|_| GatewayError::audit_unavailable())
}
