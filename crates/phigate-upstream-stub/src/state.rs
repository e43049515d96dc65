//! Shared state, the checks every request goes through, and small responses.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde::Serialize;

use crate::capture::Capture;
use crate::{Error, StubConfig};

pub(crate) struct StubState {
    pub(crate) model: String,
    pub(crate) chunk_chars: usize,
    delay: Duration,
    fail_first: u64,
    /// `Bearer <key>`, compared byte for byte.
    expected_auth: Option<Vec<u8>>,
    requests: AtomicU64,
    ids: AtomicU64,
    pub(crate) capture: Capture,
    /// `/v1/models`, serialized once.
    models_body: Bytes,
}

impl StubState {
    pub(crate) fn new(config: StubConfig) -> Result<Self, Error> {
        let capture = Capture::new(&config)?;
        let models_body = Bytes::from(to_json(&ModelList {
            object: "list",
            data: [Model { id: &config.model, object: "model", created: 0, owned_by: "phigate-upstream-stub" }],
        }));
        Ok(Self {
            chunk_chars: config.chunk_chars.max(1),
            delay: config.delay,
            fail_first: config.fail_first,
            expected_auth: config.require_key.as_ref().map(|k| format!("Bearer {k}").into_bytes()),
            requests: AtomicU64::new(0),
            ids: AtomicU64::new(0),
            capture,
            models_body,
            model: config.model,
        })
    }

    pub(crate) fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// A fresh sequence number for response ids.
    pub(crate) fn next_id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Capture, count, delay, then the simulated outage and the key check.
    /// `Err` is the response to send instead.
    pub(crate) async fn admit(&self, headers: &HeaderMap, body: Option<&[u8]>) -> Result<(), Response> {
        if let Some(body) = body {
            self.capture.record(body);
        }
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        if n < self.fail_first {
            return Err(error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "server_error",
                "stub_unavailable",
                "simulated outage",
            ));
        }
        if let Some(expected) = &self.expected_auth
            && headers.get(AUTHORIZATION).map(HeaderValue::as_bytes) != Some(expected.as_slice())
        {
            return Err(error_response(
                StatusCode::UNAUTHORIZED,
                "invalid_request_error",
                "invalid_api_key",
                "missing or wrong API key",
            ));
        }
        Ok(())
    }
}

pub(crate) async fn models(State(state): State<Arc<StubState>>, headers: HeaderMap) -> Response {
    if let Err(response) = state.admit(&headers, None).await {
        return response;
    }
    json_response(StatusCode::OK, state.models_body.clone())
}

#[derive(Serialize)]
struct ModelList<'a> {
    object: &'static str,
    data: [Model<'a>; 1],
}

#[derive(Serialize)]
struct Model<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    owned_by: &'static str,
}

#[derive(Serialize)]
struct ErrorEnvelope<'a> {
    error: ErrorObject<'a>,
}

#[derive(Serialize)]
struct ErrorObject<'a> {
    message: &'a str,
    r#type: &'a str,
    param: Option<&'a str>,
    code: &'a str,
}

/// An OpenAI-shaped error.
pub(crate) fn error_response(status: StatusCode, kind: &str, code: &str, message: &str) -> Response {
    let body = to_json(&ErrorEnvelope { error: ErrorObject { message, r#type: kind, param: None, code } });
    json_response(status, Bytes::from(body))
}

pub(crate) fn json_response(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Serializes one of our own response structs (plain strings and numbers:
/// serialization cannot fail).
pub(crate) fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    if serde_json::to_writer(&mut out, value).is_err() {
        out.clear();
        out.extend_from_slice(b"{}");
    }
    out
}

/// Seconds since the Unix epoch, for `created`.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
