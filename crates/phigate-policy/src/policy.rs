//! The validated policy and the two questions it answers: may this happen, and what may be seen.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use phigate_identity::{Principal, Role};
use serde_json::Value;
use time::OffsetDateTime;

use crate::Error;
use crate::breakglass::BreakGlassPolicy;
use crate::fields::FieldTree;
use crate::model::{Action, Purpose};
use crate::route::RoutePolicy;

/// The policy shipped with phigate (`policy/default.toml`).
pub const DEFAULT_POLICY: &str = include_str!("../policy/default.toml");

/// One grant of a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Resource type (`Patient`, `Observation`, `AuditEvent`…).
    pub resource: String,
    /// Allowed actions.
    pub actions: BTreeSet<Action>,
    /// Purposes of use under which the grant applies.
    pub purposes: BTreeSet<Purpose>,
    /// Fields that may be read.
    pub read: FieldTree,
    /// Fields that may be written.
    pub write: FieldTree,
    /// Only for patients the user has a care relationship with (waived under `emergency`).
    pub care_relationship: bool,
    /// Only de-identified data (study ids, never direct identifiers).
    pub deidentified_only: bool,
}

impl Rule {
    fn matches(&self, action: Action, resource: &str, purpose: Purpose) -> bool {
        self.resource == resource && self.actions.contains(&action) && self.purposes.contains(&purpose)
    }
}

/// The grants of one role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolePolicy {
    /// Free text for administrators.
    pub description: String,
    /// Grants; anything not granted is denied.
    pub rules: Vec<Rule>,
}

/// Facts about the request that the caller (server) establishes.
#[derive(Debug, Clone, Copy)]
pub struct AccessContext {
    /// The time of the request (break-glass expiry).
    pub now: OffsetDateTime,
    /// Whether the user has a care relationship with the patient; `None` if unknown or not patient data.
    pub care_relationship: Option<bool>,
    /// Whether the data served is de-identified (comes from the de-identified store, keyed by study id).
    pub deidentified: bool,
}

impl AccessContext {
    /// Context at `now` with nothing established.
    pub fn at(now: OffsetDateTime) -> Self {
        Self { now, care_relationship: None, deidentified: false }
    }
}

/// The outcome of an authorization check. `reason` is for the audit ledger and logs (no PHI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the action may proceed.
    pub allowed: bool,
    /// Why, in words an auditor can read.
    pub reason: String,
    /// The role whose grant allowed it.
    pub role: Option<Role>,
    /// Set when the access relies on break-glass: the ledger entry must be flagged.
    pub break_glass: bool,
}

impl Decision {
    fn deny(reason: impl Into<String>) -> Self {
        Self { allowed: false, reason: reason.into(), role: None, break_glass: false }
    }
}

/// A validated policy.
#[derive(Debug, Clone)]
pub struct Policy {
    roles: BTreeMap<String, RolePolicy>,
    break_glass: BreakGlassPolicy,
    routes: RoutePolicy,
}

impl Policy {
    pub(crate) fn from_parts(
        roles: BTreeMap<String, RolePolicy>,
        break_glass: BreakGlassPolicy,
        routes: RoutePolicy,
    ) -> Self {
        Self { roles, break_glass, routes }
    }

    /// Parses a policy document (see the crate docs for the format).
    pub fn from_toml(text: &str) -> Result<Self, Error> {
        crate::file::parse(text)
    }

    /// Reads and parses a policy file.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_owned(), source })?;
        Self::from_toml(&text)
    }

    /// The shipped default policy.
    pub fn default_policy() -> Result<Self, Error> {
        Self::from_toml(DEFAULT_POLICY)
    }

    /// Defined role names.
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        self.roles.keys().map(String::as_str)
    }

    /// A role's grants.
    pub fn role(&self, name: &str) -> Option<&RolePolicy> {
        self.roles.get(name)
    }

    /// Every resource type any rule mentions.
    pub fn resource_types(&self) -> BTreeSet<&str> {
        self.roles.values().flat_map(|r| r.rules.iter().map(|x| x.resource.as_str())).collect()
    }

    /// The break-glass settings.
    pub fn break_glass_policy(&self) -> &BreakGlassPolicy {
        &self.break_glass
    }

    /// The route table from the file (`[[routes]]`).
    pub fn routes(&self) -> &RoutePolicy {
        &self.routes
    }

    /// Decides whether `principal` may perform `action` on `resource` for `purpose`. Deny by default.
    ///
    /// `emergency` requires an active break-glass elevation and waives the care
    /// relationship requirement (that is what break-glass is for); every
    /// decision relying on it has `break_glass = true`.
    pub fn authorize(
        &self,
        principal: &Principal,
        action: Action,
        resource: &str,
        purpose: Purpose,
        ctx: &AccessContext,
    ) -> Decision {
        let emergency = purpose == Purpose::Emergency;
        if emergency && !principal.break_glass_active(ctx.now) {
            return Decision::deny("emergency purpose requires an active break-glass elevation");
        }
        let mut denial: Option<String> = None;
        for role in &principal.roles {
            let Some(rp) = self.roles.get(role.as_str()) else { continue };
            for rule in rp.rules.iter().filter(|r| r.matches(action, resource, purpose)) {
                if rule.deidentified_only && !ctx.deidentified {
                    denial = Some(format!("role {role} may only access de-identified {resource} data"));
                    continue;
                }
                if rule.care_relationship && !emergency && ctx.care_relationship != Some(true) {
                    denial = Some(format!("role {role} requires a care relationship with the patient"));
                    continue;
                }
                return Decision {
                    allowed: true,
                    reason: format!("role {role} may {action} {resource} for {purpose}"),
                    role: Some(role.clone()),
                    break_glass: emergency,
                };
            }
        }
        Decision::deny(
            denial.unwrap_or_else(|| format!("no grant allows {action} on {resource} for {purpose} (deny by default)")),
        )
    }

    /// Fields `role` may read of `resource` for `purpose` (empty if none).
    pub fn readable_fields(&self, role: &Role, purpose: Purpose, resource: &str) -> FieldTree {
        self.fields(role, Action::Read, purpose, resource)
    }

    /// Fields `role` may write of `resource` for `purpose` (empty if none).
    pub fn writable_fields(&self, role: &Role, purpose: Purpose, resource: &str) -> FieldTree {
        self.fields(role, Action::Write, purpose, resource)
    }

    fn fields(&self, role: &Role, action: Action, purpose: Purpose, resource: &str) -> FieldTree {
        let mut tree = FieldTree::Nothing;
        if let Some(rp) = self.roles.get(role.as_str()) {
            for rule in rp.rules.iter().filter(|r| r.matches(action, resource, purpose)) {
                tree.union(match action {
                    Action::Read => &rule.read,
                    Action::Write => &rule.write,
                });
            }
        }
        tree
    }

    /// Removes every field `role` may not read for `purpose`. Used on API
    /// responses and on any patient context handed to a model. Unknown
    /// role, resource or purpose → nothing survives (`Value::Null`).
    pub fn project(&self, role: &Role, purpose: Purpose, resource: &str, value: &Value) -> Value {
        self.readable_fields(role, purpose, resource).project(value).unwrap_or(Value::Null)
    }

    /// [`project`](Self::project) over the union of a principal's roles
    /// (emergency counts only while break-glass is active).
    pub fn project_for(
        &self,
        principal: &Principal,
        purpose: Purpose,
        resource: &str,
        value: &Value,
        now: OffsetDateTime,
    ) -> Value {
        if purpose == Purpose::Emergency && !principal.break_glass_active(now) {
            return Value::Null;
        }
        let mut tree = FieldTree::Nothing;
        for role in &principal.roles {
            tree.union(&self.readable_fields(role, purpose, resource));
        }
        tree.project(value).unwrap_or(Value::Null)
    }

    /// Removes fields of an incoming write that `principal` may not write; returns
    /// the names of removed top-level fields so the server can refuse instead.
    pub fn disallowed_write_fields(
        &self,
        principal: &Principal,
        purpose: Purpose,
        resource: &str,
        value: &Value,
    ) -> Vec<String> {
        let mut tree = FieldTree::Nothing;
        for role in &principal.roles {
            tree.union(&self.writable_fields(role, purpose, resource));
        }
        match value {
            Value::Object(map) => map.keys().filter(|k| !tree.allows_top(k)).cloned().collect(),
            _ => Vec::new(),
        }
    }
}
