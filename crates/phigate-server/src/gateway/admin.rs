//! The backend registry's admin API and `GET /v1/models`.
//!
//! Approval and BAA changes take effect on the next request (the registry is
//! swapped atomically), are recorded in the ledger, and are persisted in an
//! overrides file beside the data (`gateway-overrides.json`), applied over
//! the registry file at every start: nothing an administrator decided is
//! lost on restart, and the registry file itself is never rewritten.

use std::collections::BTreeMap;
use std::path::Path as FsPath;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use phigate_audit::{Outcome, Resource};
use phigate_gateway::Registry;
use phigate_gateway::registry::{Approval, Baa};
use serde::{Deserialize, Serialize};

use crate::access::Caller;
use crate::record::{actor, event, record, source};
use crate::{ApiError, AppState};

/// Administrator decisions layered over the registry file, by backend id.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendOverrides {
    /// Per backend: approval and BAA as last set through the API.
    pub backends: BTreeMap<String, BackendOverride>,
}

/// One backend's administrator decisions.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendOverride {
    /// `approved`, `pending` or `suspended`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<String>,
    /// `Some(None)`: the BAA was removed; `Some(Some(..))`: recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baa: Option<Option<BaaSpec>>,
}

/// A BAA as the API takes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaaSpec {
    /// Contract reference.
    pub reference: String,
    /// Last day in force, `YYYY-MM-DD`.
    pub expires: String,
}

fn approval(s: &str) -> Option<Approval> {
    match s {
        "approved" => Some(Approval::Approved),
        "pending" => Some(Approval::Pending),
        "suspended" => Some(Approval::Suspended),
        _ => None,
    }
}

fn baa(spec: &BaaSpec) -> Option<Baa> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let expires = time::Date::parse(spec.expires.trim(), &format).ok()?;
    Some(Baa { reference: spec.reference.clone(), expires })
}

impl BackendOverrides {
    /// Reads the overrides file; a missing file means none.
    pub fn load(path: &FsPath) -> Result<Self, String> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Applies every override to `registry`. A BAA that has expired since it
    /// was recorded is kept (it simply no longer clears the backend).
    pub fn apply(&self, mut registry: Registry) -> Result<Registry, String> {
        for (id, o) in &self.backends {
            if registry.get(id).is_none() {
                // The backend left the registry file: its decisions lapse.
                continue;
            }
            if let Some(a) = &o.approval {
                let a = approval(a).ok_or_else(|| format!("backend `{id}`: unknown approval `{a}`"))?;
                registry = registry.set_approval(id, a).map_err(|e| e.to_string())?;
            }
            match &o.baa {
                Some(Some(spec)) => {
                    let b = baa(spec).ok_or_else(|| format!("backend `{id}`: invalid BAA expiry date"))?;
                    // Validate against its own expiry so an old agreement still loads.
                    let day = b.expires;
                    registry = registry.set_baa(id, b, day).map_err(|e| e.to_string())?;
                }
                Some(None) => registry = registry.clear_baa(id).map_err(|e| e.to_string())?,
                None => {}
            }
        }
        Ok(registry)
    }

    fn save(&self, path: &FsPath) -> std::io::Result<()> {
        let tmp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, bytes)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, path)
    }
}

/// `GET /v1/models`: models with an approved backend.
pub async fn list_models(State(state): State<AppState>) -> Response {
    match state.gateway {
        Some(gw) => Json(gw.registry().models()).into_response(),
        None => Json(serde_json::json!({ "object": "list", "data": [] })).into_response(),
    }
}

/// `GET /api/v1/admin/backends`: the registry with today's clearance of each backend.
pub async fn list_backends(State(state): State<AppState>) -> Result<Response, ApiError> {
    let gw = state.gateway.ok_or_else(|| ApiError::unavailable("no_gateway", "the gateway is not configured"))?;
    let today = time::OffsetDateTime::now_utc().date();
    let registry = gw.registry();
    let items: Vec<_> = registry
        .backends()
        .iter()
        .map(|b| {
            let clearance = match phigate_gateway::routing::clearance(b, today) {
                phigate_gateway::Clearance::Phi => "phi".to_owned(),
                phigate_gateway::Clearance::DeidentifiedOnly => "deidentified-only".to_owned(),
                phigate_gateway::Clearance::PublicOnly => "public-only".to_owned(),
                phigate_gateway::Clearance::Refused(r) => format!("refused: {r}"),
            };
            serde_json::json!({ "backend": &**b, "clearance_today": clearance })
        })
        .collect();
    Ok(Json(serde_json::json!({ "backends": items })).into_response())
}

/// Body of `POST /api/v1/admin/backends/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendUpdate {
    /// New approval state.
    #[serde(default)]
    approval: Option<String>,
    /// New BAA; `null` removes it.
    #[serde(default, with = "double_option")]
    baa: Option<Option<BaaSpec>>,
}

mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// `POST /api/v1/admin/backends/{id}`: approve, suspend, record or remove a BAA.
pub async fn update_backend(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(update): Json<BackendUpdate>,
) -> Result<Response, ApiError> {
    let gw =
        state.gateway.clone().ok_or_else(|| ApiError::unavailable("no_gateway", "the gateway is not configured"))?;
    let principal = caller.principal.as_ref().ok_or_else(ApiError::unauthorized)?;
    if update.approval.is_none() && update.baa.is_none() {
        return Err(ApiError::bad_request("empty_update", "give approval and/or baa"));
    }
    let _one_change_at_a_time = gw.admin.lock().await;
    let today = time::OffsetDateTime::now_utc().date();
    let mut registry = Registry::clone(&gw.registry());
    let mut actions = Vec::new();
    if let Some(a) = &update.approval {
        let a = approval(a)
            .ok_or_else(|| ApiError::bad_request("invalid_approval", "approval is approved, pending or suspended"))?;
        registry = registry.set_approval(&id, a).map_err(|e| registry_error(&e))?;
        actions.push(format!("config.backend.{a}"));
    }
    match &update.baa {
        Some(Some(spec)) => {
            let b = baa(spec)
                .ok_or_else(|| ApiError::bad_request("invalid_baa", "baa.expires must be a date YYYY-MM-DD"))?;
            registry = registry.set_baa(&id, b, today).map_err(|e| registry_error(&e))?;
            actions.push("config.backend.baa_set".into());
        }
        Some(None) => {
            registry = registry.clear_baa(&id).map_err(|e| registry_error(&e))?;
            actions.push("config.backend.baa_cleared".into());
        }
        None => {}
    }
    // Persist first, then record, then swap: a change that cannot be kept or
    // recorded does not take effect.
    if let Some(path) = &gw.overrides {
        let mut all = BackendOverrides::load(path).map_err(|e| {
            tracing::error!(error = %e, "cannot read gateway overrides");
            ApiError::unavailable("overrides_unavailable", "the registry overrides cannot be read")
        })?;
        let entry = all.backends.entry(id.clone()).or_default();
        if let Some(a) = &update.approval {
            entry.approval = Some(a.clone());
        }
        if let Some(b) = &update.baa {
            entry.baa = Some(b.clone());
        }
        let path = path.clone();
        tokio::task::spawn_blocking(move || all.save(&path))
            .await
            .map_err(|_| ApiError::unavailable("overrides_unavailable", "the change could not be saved"))?
            .map_err(|e| {
                tracing::error!(error = %e, "cannot write gateway overrides");
                ApiError::unavailable("overrides_unavailable", "the change could not be saved")
            })?;
    }
    for action in &actions {
        let mut e = event(actor(principal), action, Outcome::Success, source(caller.source, &headers));
        e.resource = Some(Resource { kind: "model-backend".into(), id: id.clone() });
        e.purpose = Some("HOPERAT".into());
        record(&state, e).await?;
    }
    gw.swap_registry(registry);
    let b = gw.registry().get(&id).cloned();
    Ok(Json(serde_json::json!({ "backend": b.as_deref() })).into_response())
}

fn registry_error(e: &phigate_gateway::Error) -> ApiError {
    match e {
        phigate_gateway::Error::UnknownBackend(_) => ApiError::not_found(),
        _ => ApiError::bad_request("invalid_update", "the registry refused the change (see the gateway docs)"),
    }
}
