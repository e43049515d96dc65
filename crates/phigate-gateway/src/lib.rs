//! The AI gateway's core logic: everything between an OpenAI-compatible
//! request arriving and an answer leaving, except HTTP itself.
//!
//! phigate fronts model backends with the OpenAI API (`/v1/chat/completions`,
//! streamed or not, `/v1/embeddings`, `/v1/models`). The one rule the gateway
//! exists for: **PHI only reaches a backend cleared for it** (in-process,
//! self-hosted, or a vendor with a Business Associate Agreement in force);
//! every other backend receives the request de-identified, or nothing. The
//! server crate owns sockets and the upstream HTTP client; this crate is the
//! pure logic they call, so every decision can be tested without a network:
//!
//! 1. [`openai`]: faithful wire types. Unknown fields are kept so they pass
//!    through; parsing never panics and errors name the field path, never the
//!    value; `Debug` of anything holding message text prints no text.
//! 2. [`registry`]: the backends (kind, model, BAA, data classes, approval,
//!    `on_phi` policy, priority, timeouts), loaded from TOML and validated, with
//!    the mutations the admin API needs (each returns a new [`Registry`]).
//! 3. [`routing`]: the single place where "may this backend see this
//!    request?" is decided ([`routing::clearance`], [`routing::plan`]), failing
//!    closed. Today's date is always passed in, so an expired BAA downgrades a
//!    backend on the day it expires and tests need no clock.
//! 4. [`vault`]: per-request map from identifiers to placeholders
//!    (`[[NAME_1]]`), originals sealed under an ephemeral AES-256-GCM key.
//! 5. [`redact`]: replaces every detected identifier in a request (message
//!    text, tool-call arguments, tool results, stop sequences, unknown fields)
//!    with vault placeholders, and refuses content it cannot inspect (images,
//!    audio, files).
//! 6. [`restore`]: re-identification of answers for the caller, including
//!    streamed ones where a placeholder is split across chunks, and JSON tool
//!    arguments where the restored value must be JSON-escaped.
//! 7. [`template`]: versioned, approved prompt templates with a content hash
//!    for the audit trail.
//! 8. [`ratelimit`]: per-caller token buckets with bounded memory.
//!
//! # Invariants
//! - No PHI in errors, `Debug` output or reports: [`redact::RedactionReport`]
//!   carries counts per identifier kind only; the [`vault::Vault`] prints
//!   counts; parse errors are rebuilt from field paths and expected types.
//! - The library reads no clock and no environment: dates and instants are
//!   arguments. It does no I/O except the two explicit file loaders
//!   ([`Registry::load`], [`template::TemplateRegistry::load_dir`]).
#![warn(missing_docs)]

pub mod openai;
pub mod ratelimit;
pub mod redact;
pub mod registry;
pub mod restore;
pub mod routing;
pub mod template;
pub mod vault;

use std::path::PathBuf;

pub use registry::{Backend, Registry};
pub use routing::{Clearance, Route};
pub use vault::Vault;

/// Everything that can go wrong in the gateway's logic.
///
/// Messages name fields, backend ids, template ids and variable names, never
/// request text: a request may carry PHI in any string.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request body is not JSON, or does not match the OpenAI schema. `path`
    /// is the field (`messages[2].content`), with names not in the schema
    /// replaced by `?`; `reason` is rebuilt from the expected type and never
    /// quotes the input.
    #[error("invalid request at `{path}`: {reason}")]
    InvalidRequest {
        /// Where in the body, e.g. `messages[0].role` (`.` for the root).
        path: String,
        /// What was expected there.
        reason: String,
    },
    /// An embeddings input given as token ids: they cannot be de-identified
    /// without the backend's tokenizer, so the gateway does not accept them.
    #[error("embedding inputs given as token arrays are not supported; send text")]
    TokenInput,
    /// A content part the redactor cannot inspect (image, audio, file) in a
    /// request that must be de-identified.
    #[error(
        "messages[{message}].content[{part}] is of type `{kind}`, which cannot be de-identified; \
         send text only to this model"
    )]
    UnsupportedContent {
        /// Index of the message.
        message: usize,
        /// Index of the part within the message content.
        part: usize,
        /// The part's type if it is one of OpenAI's, else `other`.
        kind: &'static str,
    },
    /// The backend registry file is not valid TOML or has an unknown key.
    #[error("backend registry: {reason}")]
    RegistrySyntax {
        /// The TOML parser's message (the file is configuration, not PHI).
        reason: String,
    },
    /// A backend entry is invalid.
    #[error("backend `{backend}`: {field}: {reason}")]
    InvalidBackend {
        /// The backend's id (or `#n` for the n-th entry when the id itself is bad).
        backend: String,
        /// The offending field.
        field: &'static str,
        /// What is wrong and what is accepted.
        reason: String,
    },
    /// An admin operation named a backend that does not exist.
    #[error("no backend with id `{0}`")]
    UnknownBackend(String),
    /// No backend serves this model (OpenAI `model_not_found`).
    #[error("the model `{model}` does not exist")]
    UnknownModel {
        /// The requested model name, reduced to a safe character set.
        model: String,
    },
    /// The model exists but no backend serves it on this endpoint.
    #[error("the model `{model}` does not support {endpoint}")]
    EndpointNotServed {
        /// The requested model name, reduced to a safe character set.
        model: String,
        /// The endpoint asked for.
        endpoint: registry::Endpoint,
    },
    /// Every backend for the model is pending or suspended.
    #[error("the model `{model}` has no approved backend at the moment")]
    NoApprovedBackend {
        /// The requested model name, reduced to a safe character set.
        model: String,
    },
    /// The vault could not generate its key or seal a value.
    #[error("vault: {0}")]
    Vault(#[from] phigate_keys::Error),
    /// The vault holds more placeholders of one kind than it can number.
    #[error("vault is full for identifier kind {0}")]
    VaultFull(phigate_deid::Kind),
    /// A template file is malformed (front matter, variables, body).
    #[error("template {file}: line {line}: {reason}")]
    TemplateSyntax {
        /// The file name (or source name given by the caller).
        file: String,
        /// 1-based line of the problem (0 when it concerns the whole file).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// Two template files declare the same id and version.
    #[error("template `{id}` version {version} is defined twice")]
    DuplicateTemplate {
        /// Template id.
        id: String,
        /// Template version.
        version: u32,
    },
    /// No template with this id (and version, if one was asked for).
    #[error("no template `{id}`{}", version.map(|v| format!(" version {v}")).unwrap_or_default())]
    UnknownTemplate {
        /// Template id asked for.
        id: String,
        /// Version asked for, if any.
        version: Option<u32>,
    },
    /// The template exists but is not approved (draft or retired).
    #[error("template `{id}` version {version} is {status}, only approved templates render")]
    TemplateNotApproved {
        /// Template id.
        id: String,
        /// Template version.
        version: u32,
        /// Its status.
        status: template::Status,
    },
    /// A declared template variable was not given a value.
    #[error("template `{id}`: variable `{name}` has no value")]
    MissingVariable {
        /// Template id.
        id: String,
        /// The variable's name.
        name: String,
    },
    /// A value was given for a variable the template does not declare.
    #[error("template `{id}`: variable `{name}` is not declared by the template")]
    UndeclaredVariable {
        /// Template id.
        id: String,
        /// The variable's name (reduced to a safe character set).
        name: String,
    },
    /// Reading a registry or template file failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `s` if it looks like an identifier (`[A-Za-z0-9._:/@+-]`, at most 128
/// bytes), else a fixed marker: what error messages may echo of names that
/// came from a client (model names, variable names).
pub(crate) fn safe_name(s: &str) -> String {
    let ok = !s.is_empty()
        && s.len() <= 128
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':' | b'/' | b'@' | b'+'));
    if ok { s.to_owned() } else { "<unprintable name>".to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_name_keeps_identifiers_only() {
        assert_eq!(safe_name("gpt-4o-mini"), "gpt-4o-mini");
        assert_eq!(safe_name("meta-llama/Llama-3.1-8B:q4"), "meta-llama/Llama-3.1-8B:q4");
        assert_eq!(safe_name("Jane Doe, 03/04/1961"), "<unprintable name>");
        assert_eq!(safe_name(""), "<unprintable name>");
        assert_eq!(safe_name(&"a".repeat(129)), "<unprintable name>");
    }
}
