//! Authorization for phigate: deny by default, minimum necessary, bound to purpose of use.
//!
//! A [`Policy`] answers two questions, in one place, for every API response
//! and every patient context handed to a model:
//! - [`Policy::authorize`]: may this principal perform this action on this
//!   resource type for this purpose? ([`Decision`] with a reason for the audit ledger)
//! - [`Policy::project`]: which fields of this resource may this role see for
//!   this purpose? Everything else is removed.
//!
//! Plus a [`RoutePolicy`] (what each API route requires; routes without an
//! entry are denied and listed by [`RoutePolicy::missing`]) and
//! [break-glass](Policy::break_glass) elevation producing a [`BreakGlassEvent`].
//!
//! # Policy file format (TOML)
//!
//! ```toml
//! version = 1                      # required; only 1 exists
//!
//! [break_glass]                    # optional; absent = nobody may break the glass
//! roles = ["clinician"]            # roles allowed to request it (must be defined below)
//! max_minutes = 60                 # longest elevation, 1..=1440
//! min_reason_chars = 20            # optional, default 20, at least 10
//!
//! [roles.clinician]                # one table per role; roles not listed have no access
//! description = "Treating clinicians"
//!
//! [[roles.clinician.allow]]        # one entry per grant; anything not granted is denied
//! resource = "Patient"             # resource type
//! actions = ["read"]               # "read" and/or "write"
//! purposes = ["treatment", "emergency"]   # treatment | operations | research | emergency
//! read_fields = ["id", "name", "birthDate", "name.family"]  # dotted paths, or ["*"]
//! write_fields = []                # required (non-empty) when actions has "write"
//! care_relationship = true         # only patients with a care relationship (waived for emergency)
//! deidentified_only = false        # only de-identified data; required for purpose research,
//!                                  # and forbids direct identifiers (id, name, address…) in fields
//!
//! [[routes]]                       # the API route table (the server may add entries in code)
//! method = "GET"
//! path = "/api/v1/patients/{id}"
//! action = "read"                  # either action + resource,
//! resource = "Patient"
//! # public = true                  # or no authentication at all,
//! # authenticated = true           # or any authenticated caller
//! # deidentifies = true            # the handler can serve it de-identified: then a
//!                                  # deidentified_only grant admits the caller and the
//!                                  # handler must de-identify all it sends and returns
//! ```
//!
//! Unknown keys are errors, and every error names the key path
//! (`roles.clinician.allow[0].purposes[1]`), so a typo cannot silently widen
//! or narrow access. The default policy ships as [`DEFAULT_POLICY`]
//! (`policy/default.toml`).
//!
//! Semantics worth knowing: `emergency` only works while the principal has an
//! active break-glass elevation, and then waives `care_relationship`;
//! `research` only ever reaches `deidentified_only` grants, which are refused
//! unless the caller states that the data is de-identified
//! ([`AccessContext::deidentified`]).
#![warn(missing_docs)]

mod breakglass;
mod error;
mod fields;
mod file;
mod model;
mod policy;
mod route;

pub use breakglass::{BreakGlassEvent, BreakGlassPolicy};
pub use error::Error;
pub use fields::FieldTree;
pub use file::DIRECT_IDENTIFIERS;
pub use model::{Action, Purpose};
pub use policy::{AccessContext, DEFAULT_POLICY, Decision, Policy, RolePolicy, Rule};
pub use route::{RouteDecision, RoutePolicy, RouteRequirement};
