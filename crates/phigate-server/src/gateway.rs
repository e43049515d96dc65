//! The AI gateway's HTTP side: `/v1/chat/completions` (plain and streamed),
//! `/v1/embeddings`, `/v1/models`, and the backend-registry admin API.
//!
//! A call goes: access layer (authenticated, authorized for `ModelCall` and
//! the declared purpose, recorded) → parse ([`phigate_gateway::openai`]) →
//! template ([`phigate_gateway::template`]) → token budget → routing plan
//! ([`phigate_gateway::routing::plan`], the one place that decides who may
//! see PHI) → per route: forward, or redact into a per-request vault first,
//! or skip → backend (in-process through [`LocalModels`], or HTTP through
//! [`phigate_upstream`] with retries and a circuit breaker) → re-identify
//! the answer (never for a de-identified-only caller) → audit record → reply.
//!
//! Invariants:
//! - Nothing reaches a backend that the plan did not clear; when no route is
//!   usable the call fails with an OpenAI-style error, never "best effort".
//! - Every call, including malformed ones, ends in a `model.call` ledger
//!   entry; a call whose entry cannot be written is refused (non-streamed) or
//!   cut off with an error event (streamed).
//! - Request and response text never reach a log line or a metric label.

mod admin;
mod call;
mod chat;
mod embeddings;
pub mod local;
mod record;
mod stream;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use phigate_deid::Detector;
use phigate_gateway::Registry;
use phigate_gateway::openai::ErrorBody;
use phigate_gateway::ratelimit::RateLimiter;
use phigate_gateway::template::TemplateRegistry;
use phigate_upstream::{ApiKey, Failover};

pub use admin::{BackendOverrides, list_backends, list_models, update_backend};
pub use chat::chat_completions;
pub use embeddings::embeddings;
pub use local::{LocalError, LocalModels};

/// Response header with the time phigate itself added to a call, in
/// milliseconds (everything but the backend's own time to answer).
pub const OVERHEAD_HEADER: &str = "x-phigate-overhead-ms";

/// The gateway's services, shared by its handlers.
pub struct Gateway {
    registry: RwLock<Arc<Registry>>,
    overrides: Option<PathBuf>,
    detector: Arc<Detector>,
    failover: Failover,
    api_keys: HashMap<String, ApiKey>,
    local: Option<Arc<dyn LocalModels>>,
    templates: TemplateRegistry,
    limiter: Mutex<RateLimiter>,
    /// Serialises registry changes: each reads the registry and the
    /// overrides file, changes them and writes both back; two at once would
    /// lose one.
    admin: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway").field("local", &self.local.is_some()).finish_non_exhaustive()
    }
}

/// What the binary hands over to build a [`Gateway`].
pub struct GatewayParts {
    /// The backends (file plus persisted admin changes).
    pub registry: Registry,
    /// Where admin changes are persisted (`None`: in memory only, tests).
    pub overrides: Option<PathBuf>,
    /// The de-identification detector used at the boundary.
    pub detector: Arc<Detector>,
    /// HTTP to backends, with retries and breakers.
    pub failover: Failover,
    /// Vendor API keys by backend id (read from the environment by the binary).
    pub api_keys: HashMap<String, ApiKey>,
    /// The in-process models, if built and loaded.
    pub local: Option<Arc<dyn LocalModels>>,
    /// Prompt templates.
    pub templates: TemplateRegistry,
    /// Token budgets.
    pub limiter: RateLimiter,
}

impl Gateway {
    /// Assembles the gateway.
    pub fn new(parts: GatewayParts) -> Self {
        Self {
            registry: RwLock::new(Arc::new(parts.registry)),
            overrides: parts.overrides,
            detector: parts.detector,
            failover: parts.failover,
            api_keys: parts.api_keys,
            local: parts.local,
            templates: parts.templates,
            limiter: Mutex::new(parts.limiter),
            admin: tokio::sync::Mutex::new(()),
        }
    }

    /// The registry in force now.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    fn swap_registry(&self, next: Registry) {
        *self.registry.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(next);
    }
}

/// An OpenAI-shaped error with its status, plus the code the ledger records.
#[derive(Debug)]
pub struct GatewayError {
    body: ErrorBody,
    status: StatusCode,
    retry_after: Option<u64>,
}

impl GatewayError {
    fn new(body: ErrorBody) -> Self {
        let status = StatusCode::from_u16(body.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self { body, status, retry_after: None }
    }

    fn with_status(body: ErrorBody, status: StatusCode) -> Self {
        Self { body, status, retry_after: None }
    }

    /// The stable code (`model_not_found`, `phi_not_allowed`…) or type, for the ledger.
    fn code(&self) -> String {
        self.body.error.code.clone().unwrap_or_else(|| self.body.error.kind.clone())
    }

    fn audit_unavailable() -> Self {
        let mut body = ErrorBody::server_error();
        body.error.message = "The audit ledger cannot record this call; it was not made.".into();
        body.error.code = Some("audit_unavailable".into());
        Self::with_status(body, StatusCode::SERVICE_UNAVAILABLE)
    }

    fn from_gateway(e: &phigate_gateway::Error) -> Self {
        Self::new(ErrorBody::from(e))
    }
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, Json(self.body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert("retry-after", v);
        }
        resp
    }
}

/// The gateway's own share of a call's time: total minus the backend's.
fn overhead(start: Instant, backend: Duration) -> Duration {
    start.elapsed().saturating_sub(backend)
}

/// A model name as the ledger may show it: identifier characters only.
fn model_label(s: &str) -> String {
    let ok = !s.is_empty()
        && s.len() <= 128
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':' | b'/' | b'@' | b'+'));
    if ok { s.to_owned() } else { "<unprintable name>".to_owned() }
}

fn overhead_header(d: Duration) -> HeaderValue {
    HeaderValue::from_str(&format!("{:.3}", d.as_secs_f64() * 1000.0)).unwrap_or(HeaderValue::from_static("0"))
}
