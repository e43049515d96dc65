//! A small, fast, real OpenAI-compatible server that stands in for a model
//! vendor in phigate's end-to-end tests and benchmarks.
//!
//! It is a *capture server*: every request body that reaches it is recorded
//! (in memory, and as JSONL when a capture file is given), so a test can
//! assert that no canary identifier ever crossed the gateway's boundary.
//! Its answers are deterministic so tests can check round-trips:
//!
//! - `POST /v1/chat/completions`: the assistant says `echo: <last user
//!   message>`; with `tools` and a last user message containing the word
//!   "tool", it calls the first tool with `{"text": <last user message>}`.
//!   `stream: true` sends `chat.completion.chunk` events of
//!   [`StubConfig::chunk_chars`] characters (3 by default, so placeholders are
//!   split across chunks), a final chunk with `finish_reason`, the usage chunk
//!   when `stream_options.include_usage` is set, then `data: [DONE]`.
//! - `POST /v1/embeddings`: 8-dimensional unit vectors derived from a hash of
//!   each input.
//! - `GET /v1/models`: the configured model id.
//!
//! Failure modes for tests: a fixed delay before answering, the first N
//! requests answered 503, and 401 without the configured bearer key.
#![warn(missing_docs)]

mod capture;
mod chat;
mod embeddings;
mod state;

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::state::StubState;

/// Largest request body accepted (axum's default of 2 MiB is below what a
/// long clinical note with retrieved context can reach).
pub const MAX_BODY_BYTES: usize = 64 << 20;

/// Errors starting the stub.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The capture file could not be opened for appending.
    #[error("cannot open capture file {}: {source}", path.display())]
    Capture {
        /// The path given.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The listener has no local address.
    #[error("listener has no local address: {0}")]
    Listener(#[source] io::Error),
}

/// How the stub behaves. Build with `StubConfig::default()` and the `with_*`
/// methods.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StubConfig {
    /// The model id listed by `/v1/models` and used when a request names none.
    pub model: String,
    /// Characters per streamed content chunk (at least 1).
    pub chunk_chars: usize,
    /// Wait this long before answering any request.
    pub delay: Duration,
    /// Answer the first N requests (any route) with 503.
    pub fail_first: u64,
    /// Answer 401 unless `Authorization: Bearer <key>` matches.
    pub require_key: Option<String>,
    /// Append every request body, one line each, to this JSONL file.
    pub capture_path: Option<PathBuf>,
    /// Keep every request body in memory for [`StubHandle::captured`]. On by
    /// default; the binary turns it off (a benchmark would grow it unbounded).
    pub capture_in_memory: bool,
}

impl Default for StubConfig {
    fn default() -> Self {
        Self {
            model: "stub-model".into(),
            chunk_chars: 3,
            delay: Duration::ZERO,
            fail_first: 0,
            require_key: None,
            capture_path: None,
            capture_in_memory: true,
        }
    }
}

impl StubConfig {
    /// Sets the model id.
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    /// Sets the characters per streamed chunk.
    pub fn with_chunk_chars(mut self, chars: usize) -> Self {
        self.chunk_chars = chars.max(1);
        self
    }

    /// Sets a fixed delay before every answer.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Fails the first `n` requests with 503.
    pub fn with_fail_first(mut self, n: u64) -> Self {
        self.fail_first = n;
        self
    }

    /// Requires this bearer key.
    pub fn with_required_key(mut self, key: impl Into<String>) -> Self {
        self.require_key = Some(key.into());
        self
    }

    /// Appends request bodies to a JSONL file.
    pub fn with_capture_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.capture_path = Some(path.into());
        self
    }

    /// Keeps (or not) request bodies in memory.
    pub fn with_capture_in_memory(mut self, keep: bool) -> Self {
        self.capture_in_memory = keep;
        self
    }
}

/// The stub's routes and shared state, for in-process use without a socket
/// (`stub.router().oneshot(request)`).
#[derive(Clone)]
pub struct Stub {
    state: Arc<StubState>,
}

impl std::fmt::Debug for Stub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stub").field("requests", &self.requests()).finish_non_exhaustive()
    }
}

impl Stub {
    /// Builds the stub (opens the capture file, if any).
    pub fn new(config: StubConfig) -> Result<Self, Error> {
        Ok(Self { state: Arc::new(StubState::new(config)?) })
    }

    /// The axum router.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1/chat/completions", post(chat::handle))
            .route("/v1/embeddings", post(embeddings::handle))
            .route("/v1/models", get(state::models))
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .with_state(self.state.clone())
    }

    /// Every request body received so far, in arrival order (empty when
    /// in-memory capture is off).
    pub fn captured(&self) -> Vec<String> {
        self.state.capture.captured()
    }

    /// Requests received so far (all routes).
    pub fn requests(&self) -> u64 {
        self.state.requests()
    }
}

/// A running stub. Dropping it stops the server (in-flight responses finish).
#[derive(Debug)]
pub struct StubHandle {
    addr: SocketAddr,
    stub: Stub,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl StubHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR/v1`, the base URL an OpenAI client is given.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every request body received so far, in arrival order.
    pub fn captured(&self) -> Vec<String> {
        self.stub.captured()
    }

    /// Requests received so far (all routes).
    pub fn requests(&self) -> u64 {
        self.stub.requests()
    }

    /// Stops accepting, waits for in-flight responses to finish.
    pub async fn shutdown(mut self) -> io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(task) => task.await.unwrap_or_else(|e| Err(io::Error::other(e))),
            None => Ok(()),
        }
    }
}

impl Drop for StubHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Serves the stub on `listener` (plain HTTP/1.1 and h2c) until the handle
/// is shut down or dropped.
pub async fn serve(listener: TcpListener, config: StubConfig) -> Result<StubHandle, Error> {
    let addr = listener.local_addr().map_err(Error::Listener)?;
    let stub = Stub::new(config)?;
    let (tx, rx) = oneshot::channel::<()>();
    let listener = listener.tap_io(|tcp| {
        // Small streamed chunks must not wait for Nagle.
        let _ = tcp.set_nodelay(true);
    });
    let router = stub.router();
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await
    });
    Ok(StubHandle { addr, stub, shutdown: Some(tx), task: Some(task) })
}
