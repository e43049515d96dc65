//! The backend registry: which model backends exist, what each may receive,
//! and whether it is approved.
//!
//! Loaded from a TOML file of `[[backend]]` tables (see
//! `backends.example.toml` beside this crate's manifest): a raw struct mirrors the
//! file with `deny_unknown_fields`, then every entry is turned into a typed,
//! validated [`Backend`]. Errors name the backend id and the field.
//!
//! A [`Registry`] is an immutable value. The admin API's mutations
//! ([`Registry::set_approval`], [`Registry::set_baa`], [`Registry::clear_baa`])
//! validate and return a new registry, which the server swaps in behind an
//! `Arc`: a request that already planned its route keeps the registry it
//! planned with.
//!
//! Secure defaults: a backend without `approval` is `pending` (not routed);
//! without `on_phi` it is `refuse`; vendors must use HTTPS; a self-hosted
//! backend may use plain HTTP only on loopback unless it sets
//! `insecure_plain_http = true`.

mod raw;
mod url;

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::{Serialize, Serializer};
use time::Date;

pub use url::BaseUrl;

use crate::openai::{Model, ModelList};
use crate::{Error, Result};

/// One model backend.
///
/// Fields are public so that tests and tools can build backends; a
/// [`Registry`] only ever holds backends that passed validation, and
/// [`crate::routing::clearance`] fails closed for any value regardless.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Backend {
    /// Unique id (`[a-z0-9._-]`, at most 64 bytes).
    pub id: String,
    /// Where it runs and how it is reached.
    pub kind: BackendKind,
    /// The model name clients ask for.
    pub model: String,
    /// The model's version, recorded in the audit trail.
    pub model_version: String,
    /// The Business Associate Agreement with the vendor, if one is in place.
    pub baa: Option<Baa>,
    /// What data the operator declared this backend may receive.
    pub data_classes: BTreeSet<DataClass>,
    /// Whether it may be used at all.
    pub approval: Approval,
    /// What to do with a request containing PHI when this backend is not
    /// cleared for PHI.
    pub on_phi: OnPhi,
    /// Fallback order: lower is tried first (ties by id).
    pub priority: u32,
    /// Upstream timeouts.
    pub timeouts: Timeouts,
    /// Which endpoints it serves.
    pub endpoints: Endpoints,
}

/// Where a backend runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum BackendKind {
    /// Inside the phigate process.
    InProcess,
    /// A server the customer runs (vLLM, llama.cpp, Ollama…).
    SelfHosted {
        /// OpenAI-compatible base URL (`…/v1`).
        base_url: BaseUrl,
        /// Accept `http://` to a host other than loopback (PHI in clear on
        /// the network: an explicit, named opt-out).
        insecure_plain_http: bool,
    },
    /// A hosted vendor.
    Vendor {
        /// OpenAI-compatible base URL (`…/v1`).
        base_url: BaseUrl,
        /// The environment variable holding the API key (read by the binary,
        /// never by this crate).
        api_key_env: Option<String>,
    },
}

impl BackendKind {
    /// The base URL, for backends reached over HTTP.
    pub fn base_url(&self) -> Option<&BaseUrl> {
        match self {
            BackendKind::InProcess => None,
            BackendKind::SelfHosted { base_url, .. } | BackendKind::Vendor { base_url, .. } => Some(base_url),
        }
    }

    /// `in-process`, `self-hosted` or `vendor`.
    pub fn label(&self) -> &'static str {
        match self {
            BackendKind::InProcess => "in-process",
            BackendKind::SelfHosted { .. } => "self-hosted",
            BackendKind::Vendor { .. } => "vendor",
        }
    }
}

/// A Business Associate Agreement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Baa {
    /// The agreement's reference (contract number), for the audit trail.
    pub reference: String,
    /// Last day it is in force (inclusive).
    #[serde(serialize_with = "iso_date")]
    pub expires: Date,
}

impl Baa {
    /// True if the agreement is in force on `today`.
    pub fn in_force(&self, today: Date) -> bool {
        self.expires >= today
    }
}

/// A class of data a backend may receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DataClass {
    /// Protected health information, as sent by the client.
    Phi,
    /// Requests after the gateway replaced every detected identifier.
    Deidentified,
    /// Requests in which the detector finds no identifier.
    Public,
}

impl DataClass {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "phi" => DataClass::Phi,
            "deidentified" => DataClass::Deidentified,
            "public" => DataClass::Public,
            _ => return None,
        })
    }
}

/// Whether a backend may be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Approval {
    /// Reviewed and in use.
    Approved,
    /// Configured, awaiting review: never routed to.
    Pending,
    /// Taken out of use (incident, contract lapse): never routed to.
    Suspended,
}

impl fmt::Display for Approval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Approval::Approved => "approved",
            Approval::Pending => "pending",
            Approval::Suspended => "suspended",
        })
    }
}

/// What to do with a request containing PHI on a backend not cleared for PHI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnPhi {
    /// Replace every detected identifier with a placeholder, forward, and
    /// restore the identifiers in the answer.
    RedactAndForward,
    /// Do not send it (the next backend in the plan, or `phi_not_allowed`).
    Refuse,
}

/// Upstream timeouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Timeouts {
    /// TCP + TLS connection.
    #[serde(serialize_with = "millis")]
    pub connect: Duration,
    /// Whole request, streamed answers included.
    #[serde(serialize_with = "millis")]
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self { connect: Duration::from_secs(5), request: Duration::from_secs(120) }
    }
}

fn iso_date<S: Serializer>(d: &Date, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()))
}

fn millis<S: Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The endpoints a backend serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Endpoints {
    /// `/v1/chat/completions`.
    pub chat: bool,
    /// `/v1/embeddings`.
    pub embeddings: bool,
}

impl Endpoints {
    /// True if `e` is served.
    pub fn serves(&self, e: Endpoint) -> bool {
        match e {
            Endpoint::Chat => self.chat,
            Endpoint::Embeddings => self.embeddings,
        }
    }
}

/// An API endpoint that reaches a backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Endpoint {
    /// `/v1/chat/completions`.
    Chat,
    /// `/v1/embeddings`.
    Embeddings,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Endpoint::Chat => "chat completions",
            Endpoint::Embeddings => "embeddings",
        })
    }
}

/// The validated set of backends, ordered by priority then id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Registry {
    backends: Vec<Arc<Backend>>,
}

impl Serialize for Registry {
    /// As the list of backends (for the admin API).
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(self.backends.iter().map(|b| &**b))
    }
}

impl Registry {
    /// Validates `backends` (each, and ids unique) into a registry.
    pub fn new(backends: Vec<Backend>) -> Result<Self> {
        Self::from_arcs(backends.into_iter().map(Arc::new).collect())
    }

    fn from_arcs(mut backends: Vec<Arc<Backend>>) -> Result<Self> {
        for b in &backends {
            validate(b)?;
        }
        backends.sort_by(|a, b| (a.priority, &a.id).cmp(&(b.priority, &b.id)));
        let mut ids: Vec<&str> = backends.iter().map(|b| b.id.as_str()).collect();
        ids.sort_unstable();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(invalid(w[0], "id", "is used by two backends"));
        }
        Ok(Self { backends })
    }

    /// Parses and validates a registry file's text.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        Self::new(raw::parse(text)?)
    }

    /// Reads and validates a registry file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_owned(), source })?;
        Self::from_toml_str(&text)
    }

    /// Every backend, by priority then id.
    pub fn backends(&self) -> &[Arc<Backend>] {
        &self.backends
    }

    /// The backend with this id.
    pub fn get(&self, id: &str) -> Option<&Arc<Backend>> {
        self.backends.iter().find(|b| b.id == id)
    }

    /// `GET /v1/models`: models with at least one approved backend.
    pub fn models(&self) -> ModelList {
        ModelList::new(
            self.backends
                .iter()
                .filter(|b| b.approval == Approval::Approved)
                .map(|b| Model::new(b.model.clone()))
                .collect(),
        )
    }

    /// Sets a backend's approval state.
    pub fn set_approval(&self, id: &str, approval: Approval) -> Result<Self> {
        self.update(id, |b| {
            b.approval = approval;
            Ok(())
        })
    }

    /// Approves a backend.
    pub fn approve(&self, id: &str) -> Result<Self> {
        self.set_approval(id, Approval::Approved)
    }

    /// Suspends a backend: it stops receiving requests at once.
    pub fn suspend(&self, id: &str) -> Result<Self> {
        self.set_approval(id, Approval::Suspended)
    }

    /// Records a BAA for a vendor backend. Refused for other kinds and for an
    /// agreement that has already expired on `today`.
    pub fn set_baa(&self, id: &str, baa: Baa, today: Date) -> Result<Self> {
        if !baa.in_force(today) {
            return Err(invalid(id, "baa.expires", "is before today; record an agreement that is in force"));
        }
        self.update(id, |b| {
            b.baa = Some(baa);
            Ok(())
        })
    }

    /// Removes a backend's BAA: it is no longer cleared for PHI.
    pub fn clear_baa(&self, id: &str) -> Result<Self> {
        self.update(id, |b| {
            b.baa = None;
            Ok(())
        })
    }

    fn update(&self, id: &str, f: impl FnOnce(&mut Backend) -> Result<()>) -> Result<Self> {
        let i = self.backends.iter().position(|b| b.id == id).ok_or_else(|| Error::UnknownBackend(id.to_owned()))?;
        let mut b = Backend::clone(&self.backends[i]);
        f(&mut b)?;
        validate(&b)?;
        let mut backends = self.backends.clone();
        backends[i] = Arc::new(b);
        Ok(Self { backends })
    }
}

fn invalid(backend: &str, field: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidBackend { backend: backend.to_owned(), field, reason: reason.into() }
}

/// Checks one typed backend (shared by loading and the admin mutations).
fn validate(b: &Backend) -> Result<()> {
    let id = b.id.as_str();
    let id_ok = !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-'));
    if !id_ok {
        let shown = if id.bytes().all(|c| c.is_ascii_graphic()) && id.len() <= 64 { id } else { "?" };
        return Err(invalid(shown, "id", "must be 1-64 characters of a-z, 0-9, '.', '_', '-'"));
    }
    if crate::safe_name(&b.model) != b.model {
        return Err(invalid(id, "model", "must be 1-128 characters of A-Z, a-z, 0-9, and . _ - : / @ +"));
    }
    if b.model_version.is_empty() || b.model_version.len() > 128 || b.model_version.chars().any(char::is_control) {
        return Err(invalid(id, "model_version", "must be 1-128 printable characters"));
    }
    if b.data_classes.is_empty() {
        return Err(invalid(id, "data_classes", "must name at least one of phi, deidentified, public"));
    }
    if b.on_phi == OnPhi::RedactAndForward && !b.data_classes.contains(&DataClass::Deidentified) {
        return Err(invalid(id, "on_phi", "redact-and-forward needs `deidentified` in data_classes"));
    }
    if !b.endpoints.chat && !b.endpoints.embeddings {
        return Err(invalid(id, "endpoints", "must name at least one of chat, embeddings"));
    }
    let t = b.timeouts;
    if t.connect.is_zero() || t.connect > Duration::from_secs(60) {
        return Err(invalid(id, "connect_timeout_ms", "must be from 1 to 60000"));
    }
    if t.request.is_zero() || t.request > Duration::from_secs(3600) {
        return Err(invalid(id, "request_timeout_ms", "must be from 1 to 3600000"));
    }
    if t.connect > t.request {
        return Err(invalid(id, "connect_timeout_ms", "must not exceed request_timeout_ms"));
    }
    if let Some(baa) = &b.baa {
        if !matches!(b.kind, BackendKind::Vendor { .. }) {
            return Err(invalid(id, "baa", "applies only to vendor backends"));
        }
        if baa.reference.trim().is_empty() || baa.reference.len() > 128 || baa.reference.chars().any(char::is_control) {
            return Err(invalid(id, "baa.reference", "must be 1-128 printable characters"));
        }
    }
    match &b.kind {
        BackendKind::InProcess => {}
        BackendKind::SelfHosted { base_url, insecure_plain_http } => {
            if !base_url.is_https() && !base_url.is_loopback() && !insecure_plain_http {
                return Err(invalid(
                    id,
                    "base_url",
                    "plain http:// is accepted only on loopback; use https:// or set insecure_plain_http = true",
                ));
            }
        }
        BackendKind::Vendor { base_url, api_key_env } => {
            // Loopback http is a local egress proxy that adds TLS (or a test
            // stand-in on this host): nothing leaves the machine in clear.
            if !base_url.is_https() && !base_url.is_loopback() {
                return Err(invalid(
                    id,
                    "base_url",
                    "a vendor must be reached over https:// (plain http only to a loopback egress proxy)",
                ));
            }
            if let Some(var) = api_key_env {
                let ok = !var.is_empty()
                    && var.len() <= 128
                    && !var.as_bytes()[0].is_ascii_digit()
                    && var.bytes().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_');
                if !ok {
                    return Err(invalid(id, "api_key_env", "must be an environment variable name (A-Z, 0-9, _)"));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
