//! The OpenAI error body: `{"error":{"message","type","param","code"}}`.
//!
//! OpenAI SDKs read `type` and `code` to decide what to raise and whether to
//! retry, so each case the server needs has a constructor with the values
//! OpenAI uses (and `phi_not_allowed`, ours). [`ErrorBody::http_status`] is
//! the status the server should send with it. Messages are fixed text or
//! built from [`crate::Error`]'s, which carry no PHI.

use serde::{Deserialize, Serialize};

use crate::Error;

/// The body of every error response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// A sentence for a person.
    pub message: String,
    /// The class: `invalid_request_error`, `rate_limit_error`, `server_error`…
    #[serde(rename = "type")]
    pub kind: String,
    /// The request parameter at fault, if any.
    pub param: Option<String>,
    /// A stable machine-readable code, if any.
    pub code: Option<String>,
}

impl ErrorBody {
    fn new(message: impl Into<String>, kind: &str, param: Option<&str>, code: Option<&str>) -> Self {
        Self {
            error: ErrorDetail {
                message: message.into(),
                kind: kind.to_owned(),
                param: param.map(str::to_owned),
                code: code.map(str::to_owned),
            },
        }
    }

    /// 400: the request is malformed or asks for something unsupported.
    pub fn invalid_request(message: impl Into<String>, param: Option<&str>) -> Self {
        Self::new(message, "invalid_request_error", param, None)
    }

    /// 404: no such model (named in the message only if it looks like an identifier).
    pub fn model_not_found(model: &str) -> Self {
        let msg = format!("The model `{}` does not exist or you do not have access to it.", crate::safe_name(model));
        Self::new(msg, "invalid_request_error", Some("model"), Some("model_not_found"))
    }

    /// 429: the caller's token budget is spent; retry after `retry_after_secs`.
    pub fn rate_limit_exceeded(retry_after_secs: u64) -> Self {
        let msg = format!("Rate limit reached for tokens per minute. Please try again in {retry_after_secs}s.");
        Self::new(msg, "rate_limit_error", None, Some("rate_limit_exceeded"))
    }

    /// 403: the request contains PHI and no backend for this model may receive
    /// it (each refused by its `on_phi` policy or data classes).
    pub fn phi_not_allowed() -> Self {
        Self::new(
            "This request contains protected health information and no backend for this model is \
             permitted to receive it. Remove the identifiers or use a model approved for PHI.",
            "invalid_request_error",
            Some("messages"),
            Some("phi_not_allowed"),
        )
    }

    /// 502: every backend tried failed or answered with something unusable.
    pub fn upstream_error() -> Self {
        Self::new("The model backend failed to answer. Please retry.", "server_error", None, Some("upstream_error"))
    }

    /// 503: the model exists but has no approved backend right now.
    pub fn model_unavailable(model: &str) -> Self {
        let msg = format!("The model `{}` is temporarily unavailable.", crate::safe_name(model));
        Self::new(msg, "server_error", Some("model"), Some("model_unavailable"))
    }

    /// 500: an internal failure (details go to the server log, not the client).
    pub fn server_error() -> Self {
        Self::new("The server had an error while processing your request.", "server_error", None, None)
    }

    /// The HTTP status to send with this body, from its `code` and `type`.
    pub fn http_status(&self) -> u16 {
        match (self.error.code.as_deref(), self.error.kind.as_str()) {
            (Some("model_not_found"), _) => 404,
            (Some("rate_limit_exceeded"), _) | (_, "rate_limit_error") => 429,
            (Some("phi_not_allowed"), _) => 403,
            (Some("upstream_error"), _) => 502,
            (Some("model_unavailable"), _) => 503,
            (_, "invalid_request_error") => 400,
            _ => 500,
        }
    }
}

impl From<&Error> for ErrorBody {
    /// The client's view of a gateway error. Configuration and internal
    /// errors become a generic `server_error`: their detail is for the log.
    fn from(e: &Error) -> Self {
        match e {
            Error::InvalidRequest { path, .. } => {
                let param = (path != ".").then_some(path.as_str());
                ErrorBody::invalid_request(e.to_string(), param)
            }
            Error::TokenInput => ErrorBody::invalid_request(e.to_string(), Some("input")),
            Error::UnsupportedContent { .. } => ErrorBody::invalid_request(e.to_string(), Some("messages")),
            Error::UnknownModel { model } => ErrorBody::model_not_found(model),
            Error::EndpointNotServed { .. } => ErrorBody::invalid_request(e.to_string(), Some("model")),
            Error::NoApprovedBackend { model } => ErrorBody::model_unavailable(model),
            Error::UnknownTemplate { .. }
            | Error::TemplateNotApproved { .. }
            | Error::MissingVariable { .. }
            | Error::UndeclaredVariable { .. } => ErrorBody::invalid_request(e.to_string(), None),
            _ => ErrorBody::server_error(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_have_openai_shape_and_status() {
        let b = ErrorBody::model_not_found("gpt-x");
        assert_eq!(b.http_status(), 404);
        let v = serde_json::to_value(&b).unwrap();
        assert_eq!(v["error"]["code"], "model_not_found");
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["param"], "model");
        assert_eq!(ErrorBody::rate_limit_exceeded(3).http_status(), 429);
        assert_eq!(ErrorBody::phi_not_allowed().http_status(), 403);
        assert_eq!(ErrorBody::upstream_error().http_status(), 502);
        assert_eq!(ErrorBody::model_unavailable("m").http_status(), 503);
        assert_eq!(ErrorBody::invalid_request("x", None).http_status(), 400);
        assert_eq!(ErrorBody::server_error().http_status(), 500);
        let null_param = serde_json::to_value(ErrorBody::server_error()).unwrap();
        assert!(null_param["error"]["param"].is_null(), "param and code are present as null");
    }

    #[test]
    fn gateway_errors_map_to_bodies() {
        let e = Error::InvalidRequest { path: "messages[0].role".into(), reason: "unknown variant".into() };
        let b = ErrorBody::from(&e);
        assert_eq!((b.http_status(), b.error.param.as_deref()), (400, Some("messages[0].role")));
        let b = ErrorBody::from(&Error::UnknownModel { model: "m".into() });
        assert_eq!(b.http_status(), 404);
        let b = ErrorBody::from(&Error::UnknownBackend("internal-id".into()));
        assert_eq!(b.http_status(), 500);
        assert!(!b.error.message.contains("internal-id"), "internal detail stays in the log");
        let b = ErrorBody::model_not_found("Jane Canary 555-0142");
        assert!(!b.error.message.contains("Canary"));
    }
}
