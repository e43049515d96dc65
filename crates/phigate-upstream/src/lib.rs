//! The client side of phigate's AI gateway: bytes out to an OpenAI-compatible
//! model backend, a complete JSON body or a stream of server-sent events back.
//!
//! Backends are self-hosted servers (vLLM, llama.cpp server, Ollama) and
//! hosted vendors (Azure OpenAI, any OpenAI-compatible API). This crate stays
//! at the protocol level: the gateway serializes requests and parses the
//! answers; here we only move bytes safely and survive a backend that fails.
//!
//! - [`client`]: [`UpstreamClient`], hyper 1 with connection pooling,
//!   HTTP/1.1 and h2 (ALPN), rustls with the ring provider and TLS 1.2+ only.
//!   Plain `http://` is allowed only to loopback addresses (a model server on
//!   the same host) unless [`ClientConfig::insecure_allow_plain_http`] is set:
//!   a prompt sent in clear over a network is a disclosure of PHI.
//! - [`endpoint`]: [`Endpoint`]: base URL, bearer key (an [`ApiKey`] never
//!   prints), connect, header and idle-read timeouts.
//! - [`sse`]: an incremental `text/event-stream` parser, robust to any
//!   chunking, with a bound on the size of one event.
//! - [`resilience`]: per-endpoint circuit breakers, a retry policy that never
//!   retries once a response byte reached the caller, and [`Failover`] over an
//!   ordered list of endpoints, reporting which one answered and after how many
//!   attempts (for the audit record).
//!
//! Upstream error bodies can echo the prompt, so [`Error`] carries them in an
//! [`ErrorBody`] that `Debug` and `Display` never print: errors name the
//! endpoint id, the HTTP status and a stable code only.
#![warn(missing_docs)]

pub mod client;
pub mod endpoint;
mod error;
pub mod resilience;
pub mod sse;

pub use client::{ClientConfig, CompleteResponse, EventStream, UpstreamClient, UpstreamResponse};
pub use endpoint::{ApiKey, Endpoint, EndpointId};
pub use error::{AttemptFailure, ConnectFailure, Error, ErrorBody, FailoverFailure, TimeoutPhase};
pub use resilience::{
    Answered, BreakerConfig, BreakerState, CircuitBreaker, Clock, Failover, ManualClock, RetryPolicy, SystemClock,
};
pub use sse::{SseEvent, SseParser};

/// The name the task brief uses for this crate's error type.
pub use error::Error as UpstreamError;
