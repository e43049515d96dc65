//! The registry file as written: every field optional so that a missing one
//! is reported with the backend's id, unknown keys refused.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Deserialize;
use time::Date;
use time::macros::format_description;

use super::{Approval, Baa, Backend, BackendKind, BaseUrl, DataClass, Endpoints, OnPhi, Timeouts, invalid};
use crate::{Error, Result};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    backend: Vec<RawBackend>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBackend {
    id: Option<String>,
    kind: Option<String>,
    base_url: Option<String>,
    api_key_env: Option<String>,
    insecure_plain_http: Option<bool>,
    model: Option<String>,
    model_version: Option<String>,
    baa: Option<RawBaa>,
    data_classes: Option<Vec<String>>,
    approval: Option<String>,
    on_phi: Option<String>,
    priority: Option<u32>,
    connect_timeout_ms: Option<u64>,
    request_timeout_ms: Option<u64>,
    endpoints: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBaa {
    reference: Option<String>,
    /// A TOML date (`2026-12-31`) or the same as a string.
    expires: Option<toml::Value>,
}

/// Parses the file into typed backends (not yet cross-checked: see
/// [`super::Registry::new`]).
pub(super) fn parse(text: &str) -> Result<Vec<Backend>> {
    let file: RawFile = toml::from_str(text).map_err(|e| Error::RegistrySyntax { reason: e.to_string() })?;
    file.backend.into_iter().enumerate().map(|(i, raw)| typed(i, raw)).collect()
}

fn typed(index: usize, raw: RawBackend) -> Result<Backend> {
    let id = match raw.id {
        Some(id) => id,
        None => return Err(invalid(&format!("#{}", index + 1), "id", "is required")),
    };
    let need = |v: Option<String>, field: &'static str| v.ok_or_else(|| invalid(&id, field, "is required"));
    let kind_label = need(raw.kind, "kind")?;
    let url = |v: Option<String>| -> Result<BaseUrl> {
        let s = v.ok_or_else(|| invalid(&id, "base_url", format!("is required for kind = \"{kind_label}\"")))?;
        BaseUrl::parse(&s).map_err(|reason| invalid(&id, "base_url", reason))
    };
    let only_for = |present: bool, field: &'static str, kind: &str| {
        if present { Err(invalid(&id, field, format!("applies only to kind = \"{kind}\""))) } else { Ok(()) }
    };
    let kind = match kind_label.as_str() {
        "in-process" => {
            only_for(raw.base_url.is_some(), "base_url", "self-hosted\" or \"vendor")?;
            only_for(raw.api_key_env.is_some(), "api_key_env", "vendor")?;
            only_for(raw.insecure_plain_http.is_some(), "insecure_plain_http", "self-hosted")?;
            BackendKind::InProcess
        }
        "self-hosted" => {
            only_for(raw.api_key_env.is_some(), "api_key_env", "vendor")?;
            BackendKind::SelfHosted {
                base_url: url(raw.base_url)?,
                insecure_plain_http: raw.insecure_plain_http.unwrap_or(false),
            }
        }
        "vendor" => {
            only_for(raw.insecure_plain_http.is_some(), "insecure_plain_http", "self-hosted")?;
            BackendKind::Vendor { base_url: url(raw.base_url)?, api_key_env: raw.api_key_env }
        }
        _ => return Err(invalid(&id, "kind", "must be \"in-process\", \"self-hosted\" or \"vendor\"")),
    };
    let baa = raw.baa.map(|b| baa(&id, b)).transpose()?;
    let mut data_classes = BTreeSet::new();
    for c in raw.data_classes.ok_or_else(|| invalid(&id, "data_classes", "is required (phi, deidentified, public)"))? {
        let class = DataClass::parse(&c)
            .ok_or_else(|| invalid(&id, "data_classes", "entries must be \"phi\", \"deidentified\" or \"public\""))?;
        data_classes.insert(class);
    }
    let approval = match raw.approval.as_deref().unwrap_or("pending") {
        "approved" => Approval::Approved,
        "pending" => Approval::Pending,
        "suspended" => Approval::Suspended,
        _ => return Err(invalid(&id, "approval", "must be \"approved\", \"pending\" or \"suspended\"")),
    };
    let on_phi = match raw.on_phi.as_deref().unwrap_or("refuse") {
        "refuse" => OnPhi::Refuse,
        "redact-and-forward" => OnPhi::RedactAndForward,
        _ => return Err(invalid(&id, "on_phi", "must be \"refuse\" or \"redact-and-forward\"")),
    };
    let defaults = Timeouts::default();
    let timeouts = Timeouts {
        connect: raw.connect_timeout_ms.map_or(defaults.connect, Duration::from_millis),
        request: raw.request_timeout_ms.map_or(defaults.request, Duration::from_millis),
    };
    let mut endpoints = Endpoints { chat: false, embeddings: false };
    for e in raw.endpoints.unwrap_or_else(|| vec!["chat".to_owned()]) {
        match e.as_str() {
            "chat" => endpoints.chat = true,
            "embeddings" => endpoints.embeddings = true,
            _ => return Err(invalid(&id, "endpoints", "entries must be \"chat\" or \"embeddings\"")),
        }
    }
    Ok(Backend {
        model: need(raw.model, "model")?,
        model_version: need(raw.model_version, "model_version")?,
        id,
        kind,
        baa,
        data_classes,
        approval,
        on_phi,
        priority: raw.priority.unwrap_or(100),
        timeouts,
        endpoints,
    })
}

fn baa(id: &str, raw: RawBaa) -> Result<Baa> {
    let reference = raw.reference.ok_or_else(|| invalid(id, "baa.reference", "is required"))?;
    let bad_date = || invalid(id, "baa.expires", "must be a date such as 2026-12-31");
    let text = match raw.expires.ok_or_else(|| invalid(id, "baa.expires", "is required"))? {
        toml::Value::Datetime(dt) => {
            if dt.time.is_some() || dt.offset.is_some() {
                return Err(bad_date());
            }
            dt.to_string()
        }
        toml::Value::String(s) => s,
        _ => return Err(bad_date()),
    };
    let expires = Date::parse(&text, format_description!("[year]-[month]-[day]")).map_err(|_| bad_date())?;
    Ok(Baa { reference, expires })
}
