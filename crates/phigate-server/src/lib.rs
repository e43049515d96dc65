//! phigate's HTTPS server. The only crate that knows HTTP.
//!
//! - [`tls`]: rustls configuration (TLS 1.2 and 1.3 only, ALPN `h2` and
//!   `http/1.1`), PEM loading, and the self-signed certificate that lets the
//!   embedded default serve HTTPS on first run.
//! - [`routes`]: the router: `/healthz` (alive), `/readyz` (store and key
//!   provider answer: fails closed with 503), `/metrics` (Prometheus),
//!   sign-in (`/auth/login`, `/auth/totp`, `/auth/logout`), `/api/v1/me`.
//! - [`gateway`]: the OpenAI-compatible AI gateway (`/v1/...`): routing
//!   under the BAA rule, redaction at the boundary, re-identification,
//!   streaming, per-call audit.
//! - [`access`]: authentication and authorization in one place: every
//!   request is checked against the policy's route table after routing.
//! - [`telemetry`]: request ids, one log line per request, metrics. Log
//!   lines name the matched route template, never the URI: a query string
//!   or path segment may carry an identifier.
//! - [`listener`]: the accept loop, TLS handshakes, HTTP/1.1 + HTTP/2, and
//!   graceful shutdown.
#![warn(missing_docs)]

pub mod access;
mod error;
pub mod gateway;
pub mod listener;
pub mod record;
pub mod routes;
pub mod telemetry;
pub mod tls;

pub use error::{ApiError, Error};
pub use routes::{AppState, route_table, router};
