//! The one place where "may this backend see this request?" is decided.
//!
//! # Clearance of a backend on a given day ([`clearance`])
//!
//! | approval | kind | `phi` declared | BAA | clearance |
//! |---|---|---|---|---|
//! | pending / suspended | any | any | any | `Refused(NotApproved)` |
//! | approved | in-process, self-hosted | yes | (not applicable) | `Phi` |
//! | approved | vendor | yes | in force (`expires >= today`) | `Phi` |
//! | approved | vendor | yes | none / expired | downgraded: see next rows |
//! | approved | any | not cleared for PHI | — | `DeidentifiedOnly` if `deidentified` declared, else `PublicOnly` if `public` declared, else `Refused(NoBaa / BaaExpired / NoDataClass)` |
//!
//! Declared data classes are honoured for every kind: an in-process backend
//! declared `["deidentified"]` is not cleared for PHI. A BAA is checked
//! against the `today` the caller passes (the server's current UTC date), so
//! an agreement that expired yesterday downgrades its vendor on the first
//! request of the day; nothing is cached.
//!
//! # What happens to a request on a route ([`action`])
//!
//! | clearance | request contains PHI | no PHI detected |
//! |---|---|---|
//! | `Phi` | `Forward` | `Forward` |
//! | `DeidentifiedOnly`, `on_phi = redact-and-forward` | `RedactThenForward` | `Forward` |
//! | `DeidentifiedOnly`, `on_phi = refuse` | `Refuse(OnPhiRefuse)` | `Forward` |
//! | `PublicOnly` | `Refuse(DeidentifiedNotAllowed)` | `Forward` |
//! | `Refused(r)` | `Refuse(r)` | `Refuse(r)` |
//!
//! "Contains PHI" is what [`crate::redact::contains_phi`] says (content the
//! detector cannot read, such as an image, counts as PHI). A request with no
//! PHI detected is forwarded as is to any approved backend: redaction would
//! find nothing to replace.
//!
//! # Plans
//! [`plan`] lists every approved backend serving the model on the endpoint,
//! in priority order, with its clearance and action; the server walks it,
//! skipping `Refuse` routes (they stay in the plan for the audit record) and
//! falling back to the next route when a backend fails. Refused entirely
//! (every route `Refuse`) maps to OpenAI error `phi_not_allowed`.
//! Backend priority is the operator's: the plan does not reorder cleared
//! backends ahead of de-identifying ones.

use std::fmt;
use std::sync::Arc;

use time::Date;

pub use crate::registry::Endpoint;
use crate::registry::{Approval, Backend, BackendKind, DataClass, OnPhi, Registry};
use crate::{Error, Result, safe_name};

/// What a backend may receive today.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Clearance {
    /// PHI as sent by the client.
    Phi,
    /// Only requests with every detected identifier replaced.
    DeidentifiedOnly,
    /// Only requests in which the detector finds no identifier.
    PublicOnly,
    /// Nothing.
    Refused(Refusal),
}

/// Why a backend may not receive a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// The backend is pending or suspended.
    NotApproved(Approval),
    /// A vendor declared for PHI only, with no BAA on record.
    NoBaa,
    /// A vendor declared for PHI only, whose BAA has expired.
    BaaExpired,
    /// No declared data class applies (not reachable for validated backends
    /// except through a vendor's BAA, reported as `NoBaa`/`BaaExpired`).
    NoDataClass,
    /// The request contains PHI and the backend's policy is `on_phi = refuse`.
    OnPhiRefuse,
    /// The request contains PHI and the backend may receive only public data,
    /// not even de-identified requests.
    DeidentifiedNotAllowed,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotApproved(a) => write!(f, "backend is {a}"),
            Refusal::NoBaa => f.write_str("vendor has no BAA on record"),
            Refusal::BaaExpired => f.write_str("vendor's BAA has expired"),
            Refusal::NoDataClass => f.write_str("no declared data class applies"),
            Refusal::OnPhiRefuse => f.write_str("request contains PHI and the backend's policy is on_phi = refuse"),
            Refusal::DeidentifiedNotAllowed => {
                f.write_str("request contains PHI and the backend may receive public data only")
            }
        }
    }
}

/// Whether the detector found PHI in the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Payload {
    /// At least one identifier, or content that cannot be inspected.
    ContainsPhi,
    /// Nothing detected.
    NoPhiDetected,
}

impl Payload {
    /// From [`crate::redact::contains_phi`]'s answer.
    pub fn from_contains_phi(found: bool) -> Self {
        if found { Payload::ContainsPhi } else { Payload::NoPhiDetected }
    }
}

/// What must happen to the request on a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Send the request as the client wrote it.
    Forward,
    /// Redact ([`crate::redact::redact_chat`]), send, restore the answer.
    RedactThenForward,
    /// Do not send it to this backend.
    Refuse(Refusal),
}

/// One entry of a plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The backend (its id and model version go to the audit record).
    pub backend: Arc<Backend>,
    /// Its clearance today.
    pub clearance: Clearance,
    /// What to do with this request there.
    pub action: Action,
}

impl Route {
    /// True unless the action is `Refuse`.
    pub fn is_usable(&self) -> bool {
        !matches!(self.action, Action::Refuse(_))
    }
}

/// The clearance of `backend` on `today` (see the module's table).
pub fn clearance(backend: &Backend, today: Date) -> Clearance {
    if backend.approval != Approval::Approved {
        return Clearance::Refused(Refusal::NotApproved(backend.approval));
    }
    let declared = |c| backend.data_classes.contains(&c);
    let phi = declared(DataClass::Phi)
        && match &backend.kind {
            BackendKind::InProcess | BackendKind::SelfHosted { .. } => true,
            BackendKind::Vendor { .. } => backend.baa.as_ref().is_some_and(|b| b.in_force(today)),
        };
    if phi {
        Clearance::Phi
    } else if declared(DataClass::Deidentified) {
        Clearance::DeidentifiedOnly
    } else if declared(DataClass::Public) {
        Clearance::PublicOnly
    } else {
        Clearance::Refused(match (&backend.kind, &backend.baa) {
            (BackendKind::Vendor { .. }, None) => Refusal::NoBaa,
            (BackendKind::Vendor { .. }, Some(_)) => Refusal::BaaExpired,
            _ => Refusal::NoDataClass,
        })
    }
}

/// What to do with a request on a backend with `clearance` and `on_phi`
/// (see the module's table).
pub fn action(clearance: Clearance, on_phi: OnPhi, payload: Payload) -> Action {
    match (clearance, payload) {
        (Clearance::Refused(r), _) => Action::Refuse(r),
        (Clearance::Phi, _) | (_, Payload::NoPhiDetected) => Action::Forward,
        (Clearance::DeidentifiedOnly, Payload::ContainsPhi) => match on_phi {
            OnPhi::RedactAndForward => Action::RedactThenForward,
            OnPhi::Refuse => Action::Refuse(Refusal::OnPhiRefuse),
        },
        (Clearance::PublicOnly, Payload::ContainsPhi) => Action::Refuse(Refusal::DeidentifiedNotAllowed),
    }
}

/// The ordered fallback list for a request: every approved backend serving
/// `model` on `endpoint`, by priority, with its clearance on `today` and the
/// action for `payload`.
///
/// Errors: [`Error::UnknownModel`] when no backend serves the model at all
/// (OpenAI `model_not_found`), [`Error::EndpointNotServed`] when none serves
/// it on this endpoint, [`Error::NoApprovedBackend`] when all that do are
/// pending or suspended.
pub fn plan(registry: &Registry, model: &str, endpoint: Endpoint, today: Date, payload: Payload) -> Result<Vec<Route>> {
    let mut any_model = false;
    let mut any_endpoint = false;
    let mut routes = Vec::new();
    for b in registry.backends().iter().filter(|b| b.model == model) {
        any_model = true;
        if !b.endpoints.serves(endpoint) {
            continue;
        }
        any_endpoint = true;
        if b.approval != Approval::Approved {
            continue;
        }
        let clearance = clearance(b, today);
        routes.push(Route { backend: Arc::clone(b), clearance, action: action(clearance, b.on_phi, payload) });
    }
    match (any_model, any_endpoint, routes.is_empty()) {
        (false, _, _) => Err(Error::UnknownModel { model: safe_name(model) }),
        (true, false, _) => Err(Error::EndpointNotServed { model: safe_name(model), endpoint }),
        (true, true, true) => Err(Error::NoApprovedBackend { model: safe_name(model) }),
        (true, true, false) => Ok(routes),
    }
}

#[cfg(test)]
mod tests;
