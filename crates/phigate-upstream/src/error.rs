//! The crate's one error type. Messages name the endpoint id, the phase and a
//! stable code; never a request or response body, which may hold PHI.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;

use crate::endpoint::EndpointId;

/// Everything that can go wrong talking to a model backend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The endpoint's base URL is not an absolute `http(s)` URL without
    /// credentials, query or fragment.
    #[error("endpoint `{endpoint}`: invalid base URL ({reason})")]
    InvalidBaseUrl {
        /// The endpoint being configured.
        endpoint: EndpointId,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The API key holds characters that cannot travel in an HTTP header.
    #[error("API key is not a valid HTTP header value")]
    InvalidApiKey,
    /// The request path does not start with `/` or is not a valid URL path.
    #[error("endpoint `{endpoint}`: request path is not a valid URL path")]
    InvalidPath {
        /// The endpoint the request was for.
        endpoint: EndpointId,
    },
    /// A configured CA file could not be read or holds no usable certificate.
    #[error("TLS configuration: {0}")]
    TlsConfig(String),
    /// Plain `http://` to an address that is not loopback, without
    /// [`ClientConfig::insecure_allow_plain_http`](crate::ClientConfig::insecure_allow_plain_http).
    #[error("endpoint `{endpoint}`: plain http is refused to a non-loopback address (use https)")]
    PlainHttpRefused {
        /// The endpoint refused.
        endpoint: EndpointId,
    },
    /// No connection could be made (DNS, TCP or TLS).
    #[error("endpoint `{endpoint}`: connect failed ({kind}): {detail}")]
    Connect {
        /// The endpoint.
        endpoint: EndpointId,
        /// Which step failed.
        kind: ConnectFailure,
        /// The operating system's or TLS library's reason (never a body).
        detail: String,
    },
    /// A timeout elapsed.
    #[error("endpoint `{endpoint}`: timed out {phase}")]
    Timeout {
        /// The endpoint.
        endpoint: EndpointId,
        /// What we were waiting for.
        phase: TimeoutPhase,
    },
    /// The HTTP exchange failed before response headers arrived (connection
    /// closed, malformed response).
    #[error("endpoint `{endpoint}`: request failed before response headers: {detail}")]
    Protocol {
        /// The endpoint.
        endpoint: EndpointId,
        /// hyper's reason (never a body).
        detail: String,
    },
    /// The backend answered with a non-2xx status. The first 4 KiB of its body
    /// are kept in `body` for the caller; they are never printed.
    #[error("endpoint `{endpoint}`: answered HTTP {} (upstream_status)", status.as_u16())]
    Status {
        /// The endpoint.
        endpoint: EndpointId,
        /// The status it answered.
        status: StatusCode,
        /// Its `Retry-After`, when present and parseable.
        retry_after: Option<Duration>,
        /// The start of its body (may echo the prompt: redacted in `Debug`).
        body: ErrorBody,
    },
    /// A complete (non-streaming) response body exceeded the configured limit.
    #[error("endpoint `{endpoint}`: response body over the {limit}-byte limit")]
    BodyTooLarge {
        /// The endpoint.
        endpoint: EndpointId,
        /// The limit in bytes.
        limit: usize,
    },
    /// One server-sent event exceeded the configured limit.
    #[error("server-sent event over the {limit}-byte limit")]
    EventTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The response body failed after it had started (connection reset,
    /// truncated chunked encoding, h2 stream reset).
    #[error("endpoint `{endpoint}`: response interrupted: {detail}")]
    StreamInterrupted {
        /// The endpoint.
        endpoint: EndpointId,
        /// hyper's reason (never a body).
        detail: String,
    },
    /// The event stream ended in the middle of an event.
    #[error("endpoint `{endpoint}`: event stream ended inside an event")]
    StreamTruncated {
        /// The endpoint.
        endpoint: EndpointId,
    },
    /// The endpoint's circuit breaker is open: it was not tried.
    #[error("endpoint `{endpoint}`: circuit breaker open")]
    CircuitOpen {
        /// The endpoint.
        endpoint: EndpointId,
    },
    /// [`Failover`](crate::Failover) tried every endpoint and none gave a
    /// usable answer, or one refused the request itself (a 4xx).
    #[error("{0}")]
    Failover(Box<FailoverFailure>),
}

impl Error {
    /// A stable, machine-readable code for this error (for logs, metrics and
    /// the audit record).
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidBaseUrl { .. } => "invalid_base_url",
            Error::InvalidApiKey => "invalid_api_key",
            Error::InvalidPath { .. } => "invalid_path",
            Error::TlsConfig(_) => "tls_config",
            Error::PlainHttpRefused { .. } => "plain_http_refused",
            Error::Connect { .. } => "connect_failed",
            Error::Timeout { phase: TimeoutPhase::Connect, .. } => "connect_timeout",
            Error::Timeout { phase: TimeoutPhase::Headers, .. } => "headers_timeout",
            Error::Timeout { phase: TimeoutPhase::Read, .. } => "read_timeout",
            Error::Protocol { .. } => "protocol_error",
            Error::Status { .. } => "upstream_status",
            Error::BodyTooLarge { .. } => "body_too_large",
            Error::EventTooLarge { .. } => "event_too_large",
            Error::StreamInterrupted { .. } => "stream_interrupted",
            Error::StreamTruncated { .. } => "stream_truncated",
            Error::CircuitOpen { .. } => "circuit_open",
            Error::Failover(_) => "failover_exhausted",
        }
    }

    /// The upstream HTTP status, if the error is (or, after failover, ended
    /// with) a non-2xx answer.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Status { status, .. } => Some(*status),
            Error::Failover(f) => f.last.as_ref().and_then(Error::status),
            _ => None,
        }
    }

    /// The endpoint the error is about, when there is one.
    pub fn endpoint(&self) -> Option<&EndpointId> {
        match self {
            Error::InvalidBaseUrl { endpoint, .. }
            | Error::InvalidPath { endpoint }
            | Error::PlainHttpRefused { endpoint }
            | Error::Connect { endpoint, .. }
            | Error::Timeout { endpoint, .. }
            | Error::Protocol { endpoint, .. }
            | Error::Status { endpoint, .. }
            | Error::BodyTooLarge { endpoint, .. }
            | Error::StreamInterrupted { endpoint, .. }
            | Error::StreamTruncated { endpoint }
            | Error::CircuitOpen { endpoint } => Some(endpoint),
            Error::Failover(f) => f.last.as_ref().and_then(Error::endpoint),
            Error::InvalidApiKey | Error::TlsConfig(_) | Error::EventTooLarge { .. } => None,
        }
    }
}

/// Which step of connecting failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectFailure {
    /// The host name did not resolve.
    Dns,
    /// TCP connect failed (refused, unreachable).
    Tcp,
    /// The TLS handshake failed (untrusted certificate, name mismatch, no
    /// common protocol version).
    Tls,
}

impl fmt::Display for ConnectFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnectFailure::Dns => "dns",
            ConnectFailure::Tcp => "tcp",
            ConnectFailure::Tls => "tls",
        })
    }
}

/// What a timeout was waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutPhase {
    /// TCP connect and TLS handshake.
    Connect,
    /// Response headers (the endpoint's request timeout).
    Headers,
    /// The next piece of the response body (the endpoint's idle-read timeout).
    Read,
}

impl fmt::Display for TimeoutPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutPhase::Connect => "connecting",
            TimeoutPhase::Headers => "waiting for response headers",
            TimeoutPhase::Read => "waiting for response data",
        })
    }
}

/// The first bytes (at most [`ErrorBody::LIMIT`]) of an upstream error
/// response. Upstream errors often quote the request, so `Debug` prints only
/// the length; reading is an explicit [`ErrorBody::expose`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ErrorBody {
    bytes: Bytes,
    truncated: bool,
}

impl ErrorBody {
    /// How much of an error body is kept.
    pub const LIMIT: usize = 4096;

    pub(crate) fn new(bytes: Bytes, truncated: bool) -> Self {
        Self { bytes, truncated }
    }

    /// The kept bytes. May hold PHI: do not log them.
    pub fn expose(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether the body was longer than [`ErrorBody::LIMIT`].
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Number of kept bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the body was empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl fmt::Debug for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ErrorBody([{} bytes{}])", self.bytes.len(), if self.truncated { ", truncated" } else { "" })
    }
}

/// Why [`Failover`](crate::Failover) gave up.
#[derive(Debug)]
pub struct FailoverFailure {
    /// Requests actually sent, over all endpoints (skipped endpoints do not count).
    pub attempts: u32,
    /// One entry per failed attempt or skipped endpoint, in order.
    pub failures: Vec<AttemptFailure>,
    /// The last underlying error (for its status and body), if any request was sent.
    pub last: Option<Error>,
}

impl fmt::Display for FailoverFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no upstream endpoint answered after {} attempt(s)", self.attempts)?;
        for (i, failure) in self.failures.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { "; " })?;
            write!(f, "{}: {}", failure.endpoint, failure.code)?;
            if let Some(status) = failure.status {
                write!(f, " {}", status.as_u16())?;
            }
        }
        Ok(())
    }
}

/// One failed attempt (or skipped endpoint) during failover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptFailure {
    /// The endpoint.
    pub endpoint: EndpointId,
    /// [`Error::code`] of what happened.
    pub code: &'static str,
    /// The HTTP status, when the endpoint answered.
    pub status: Option<StatusCode>,
}

impl AttemptFailure {
    pub(crate) fn from_error(endpoint: &EndpointId, error: &Error) -> Self {
        Self { endpoint: endpoint.clone(), code: error.code(), status: error.status() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_error_never_prints_its_body() {
        let e = Error::Status {
            endpoint: EndpointId::new("vendor-a"),
            status: StatusCode::BAD_REQUEST,
            retry_after: None,
            body: ErrorBody::new(Bytes::from_static(b"{\"error\":\"Jane Canary-Doe\"}"), false),
        };
        for text in [e.to_string(), format!("{e:?}")] {
            assert!(!text.contains("Canary"), "{text}");
            assert!(text.contains("vendor-a"), "{text}");
        }
        assert_eq!(e.to_string(), "endpoint `vendor-a`: answered HTTP 400 (upstream_status)");
        assert_eq!(e.status(), Some(StatusCode::BAD_REQUEST));
        assert_eq!(e.code(), "upstream_status");
    }

    #[test]
    fn failover_failure_lists_endpoints_and_codes() {
        let a = EndpointId::new("a");
        let last = Error::Status {
            endpoint: EndpointId::new("b"),
            status: StatusCode::SERVICE_UNAVAILABLE,
            retry_after: None,
            body: ErrorBody::new(Bytes::from_static(b"secret"), false),
        };
        let failure = FailoverFailure {
            attempts: 2,
            failures: vec![
                AttemptFailure { endpoint: a.clone(), code: "circuit_open", status: None },
                AttemptFailure::from_error(&EndpointId::new("b"), &last),
            ],
            last: Some(last),
        };
        let e = Error::Failover(Box::new(failure));
        assert_eq!(
            e.to_string(),
            "no upstream endpoint answered after 2 attempt(s): a: circuit_open; b: upstream_status 503"
        );
        assert!(!format!("{e:?}").contains("secret"));
        assert_eq!(e.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
        assert_eq!(e.endpoint().map(EndpointId::as_str), Some("b"));
    }
}
