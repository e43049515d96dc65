//! Errors: the server's own, and the one error type every handler returns.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Failures starting or running the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The certificate or key could not be loaded or is unusable.
    #[error("TLS configuration: {0}")]
    Tls(String),
    /// A file operation failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Binding or accepting on the listen address failed.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The error every handler returns: a stable machine code and a generic
/// message go to the client; the cause stays in the server log (without
/// PHI), tagged with the request id the client also sees.
///
/// The body has OpenAI's error shape (`{"error":{"message","type","param",
/// "code"}}`) on every route, so the OpenAI SDKs pointed at phigate surface
/// our errors (401, 403, 429, 503…) the same way they surface their own.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: &'static str,
}

impl ApiError {
    /// A dependency (store, key provider) cannot answer: fail closed.
    pub fn unavailable(code: &'static str, message: &'static str) -> Self {
        Self { status: StatusCode::SERVICE_UNAVAILABLE, code, message }
    }

    /// Malformed input from the client.
    pub fn bad_request(code: &'static str, message: &'static str) -> Self {
        Self { status: StatusCode::BAD_REQUEST, code, message }
    }

    /// No valid credentials. Deliberately says nothing about which check failed.
    pub fn unauthorized() -> Self {
        Self { status: StatusCode::UNAUTHORIZED, code: "unauthenticated", message: "valid credentials are required" }
    }

    /// Authenticated, but the policy does not allow this.
    pub fn forbidden() -> Self {
        Self { status: StatusCode::FORBIDDEN, code: "forbidden", message: "not permitted by the access policy" }
    }

    /// A state-changing request of a session without the session's CSRF token.
    pub fn csrf() -> Self {
        Self { status: StatusCode::FORBIDDEN, code: "csrf", message: "missing or wrong x-csrf-token" }
    }

    /// The thing to create already exists.
    pub fn conflict(code: &'static str, message: &'static str) -> Self {
        Self { status: StatusCode::CONFLICT, code, message }
    }

    /// Too many failed attempts.
    pub fn locked_out() -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "locked_out",
            message: "too many failed attempts; try again later",
        }
    }

    /// No such route or resource.
    pub fn not_found() -> Self {
        Self { status: StatusCode::NOT_FOUND, code: "not_found", message: "no such resource" }
    }
}

/// OpenAI's error `type` for a status: SDKs map these to exception classes.
fn error_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 404 | 409 | 413 | 415 | 422 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        429 => "rate_limit_error",
        _ => "server_error",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": { "message": self.message, "type": error_type(self.status), "param": null, "code": self.code }
        });
        let mut resp = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
        }
        resp
    }
}
