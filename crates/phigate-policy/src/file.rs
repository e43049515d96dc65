//! The policy file: raw TOML as written (serde, `deny_unknown_fields`) → validated [`Policy`].

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use phigate_identity::Role;
use serde::Deserialize;

use crate::Error;
use crate::breakglass::BreakGlassPolicy;
use crate::fields::FieldTree;
use crate::model::{Action, Purpose};
use crate::policy::{Policy, RolePolicy, Rule};
use crate::route::{RoutePolicy, RouteRequirement};

/// Top-level fields that identify a person directly; a `deidentified_only`
/// grant may never list them (HIPAA Safe Harbor identifiers, FHIR names).
pub const DIRECT_IDENTIFIERS: &[&str] = &[
    "id",
    "identifier",
    "name",
    "telecom",
    "address",
    "birthDate",
    "photo",
    "contact",
    "email",
    "phone",
    "mrn",
    "ssn",
    "patient",
    "subject",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    version: u32,
    #[serde(default)]
    break_glass: Option<RawBreakGlass>,
    #[serde(default)]
    roles: BTreeMap<String, RawRole>,
    #[serde(default)]
    routes: Vec<RawRoute>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBreakGlass {
    roles: Vec<String>,
    max_minutes: u64,
    #[serde(default = "default_min_reason")]
    min_reason_chars: usize,
}

fn default_min_reason() -> usize {
    20
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    #[serde(default)]
    description: String,
    #[serde(default)]
    allow: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    resource: String,
    actions: Vec<Action>,
    purposes: Vec<Purpose>,
    #[serde(default)]
    read_fields: Vec<String>,
    #[serde(default)]
    write_fields: Vec<String>,
    #[serde(default)]
    care_relationship: bool,
    #[serde(default)]
    deidentified_only: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    method: String,
    path: String,
    #[serde(default)]
    public: bool,
    #[serde(default)]
    authenticated: bool,
    action: Option<Action>,
    resource: Option<String>,
    #[serde(default)]
    deidentifies: bool,
}

fn invalid(path: String, message: impl Into<String>) -> Error {
    Error::Invalid { path, message: message.into() }
}

fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn valid_field(s: &str) -> bool {
    s == "*" || (!s.is_empty() && s.split('.').all(|seg| !seg.is_empty() && seg != "*" && seg.len() <= 64))
}

/// Parses and validates a policy document.
pub fn parse(text: &str) -> Result<Policy, Error> {
    let de = toml::Deserializer::new(text);
    let raw: RawPolicy = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        // toml's message; keep the first line (the rest is a source snippet).
        let message = inner.message().lines().next().unwrap_or("invalid value").to_owned();
        Error::Parse { path, message }
    })?;
    if raw.version != 1 {
        return Err(invalid("version".into(), "only version 1 is supported"));
    }
    let mut roles = BTreeMap::new();
    for (name, role) in raw.roles {
        if !valid_name(&name) {
            return Err(invalid(format!("roles.{name}"), "role names are 1 to 64 of [A-Za-z0-9_-]"));
        }
        let mut rules = Vec::new();
        for (i, r) in role.allow.into_iter().enumerate() {
            let at = |key: &str| format!("roles.{name}.allow[{i}].{key}");
            if !valid_name(&r.resource) {
                return Err(invalid(at("resource"), "resource types are 1 to 64 of [A-Za-z0-9_-]"));
            }
            if r.actions.is_empty() {
                return Err(invalid(at("actions"), "must list at least one action"));
            }
            if r.purposes.is_empty() {
                return Err(invalid(at("purposes"), "must list at least one purpose"));
            }
            for (key, list) in [("read_fields", &r.read_fields), ("write_fields", &r.write_fields)] {
                if let Some((j, bad)) = list.iter().enumerate().find(|(_, f)| !valid_field(f)) {
                    return Err(invalid(format!("{}[{j}]", at(key)), format!("`{bad}` is not a field path")));
                }
            }
            let actions: BTreeSet<Action> = r.actions.into_iter().collect();
            if actions.contains(&Action::Read) && r.read_fields.is_empty() {
                return Err(invalid(at("read_fields"), "a read grant must list the fields it may read"));
            }
            if actions.contains(&Action::Write) && r.write_fields.is_empty() {
                return Err(invalid(at("write_fields"), "a write grant must list the fields it may write"));
            }
            let purposes: BTreeSet<Purpose> = r.purposes.into_iter().collect();
            if purposes.contains(&Purpose::Research) && !r.deidentified_only {
                return Err(invalid(
                    at("deidentified_only"),
                    "grants for the research purpose must be deidentified_only",
                ));
            }
            if r.deidentified_only {
                if purposes.contains(&Purpose::Emergency) {
                    return Err(invalid(at("purposes"), "a deidentified_only grant cannot include emergency"));
                }
                for (key, list) in [("read_fields", &r.read_fields), ("write_fields", &r.write_fields)] {
                    for (j, f) in list.iter().enumerate() {
                        let top = f.split('.').next().unwrap_or_default();
                        if f == "*" || DIRECT_IDENTIFIERS.contains(&top) {
                            return Err(invalid(
                                format!("{}[{j}]", at(key)),
                                format!(
                                    "`{f}` may identify a person and cannot be granted to a deidentified_only rule"
                                ),
                            ));
                        }
                    }
                }
            }
            rules.push(Rule {
                resource: r.resource,
                actions,
                purposes,
                read: FieldTree::from_paths(r.read_fields.iter().map(String::as_str)),
                write: FieldTree::from_paths(r.write_fields.iter().map(String::as_str)),
                care_relationship: r.care_relationship,
                deidentified_only: r.deidentified_only,
            });
        }
        roles.insert(name, RolePolicy { description: role.description, rules });
    }
    let break_glass = match raw.break_glass {
        None => BreakGlassPolicy::disabled(),
        Some(bg) => {
            for (i, r) in bg.roles.iter().enumerate() {
                if !roles.contains_key(r) {
                    return Err(invalid(format!("break_glass.roles[{i}]"), format!("role `{r}` is not defined")));
                }
            }
            if bg.max_minutes == 0 || bg.max_minutes > 24 * 60 {
                return Err(invalid("break_glass.max_minutes".into(), "must be between 1 and 1440"));
            }
            if bg.min_reason_chars < 10 {
                return Err(invalid("break_glass.min_reason_chars".into(), "must be at least 10"));
            }
            BreakGlassPolicy {
                roles: bg.roles.into_iter().map(Role::new).collect(),
                max_duration: Duration::from_secs(bg.max_minutes * 60),
                min_reason_chars: bg.min_reason_chars,
            }
        }
    };
    let mut routes = RoutePolicy::new();
    for (i, r) in raw.routes.into_iter().enumerate() {
        let at = |key: &str| format!("routes[{i}].{key}");
        let requirement = match (r.public, r.authenticated, r.action, r.resource) {
            (true, false, None, None) => RouteRequirement::Public,
            (false, true, None, None) => RouteRequirement::Authenticated,
            (false, false, Some(action), Some(resource)) => {
                if !valid_name(&resource) {
                    return Err(invalid(at("resource"), "resource types are 1 to 64 of [A-Za-z0-9_-]"));
                }
                RouteRequirement::Permission { action, resource }
            }
            _ => {
                return Err(invalid(
                    at("public"),
                    "a route is exactly one of: public = true, authenticated = true, or action + resource",
                ));
            }
        };
        if !r.path.starts_with('/') {
            return Err(invalid(at("path"), "route templates start with `/`"));
        }
        let method = r.method.to_ascii_uppercase();
        if !["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
            return Err(invalid(at("method"), "unknown HTTP method"));
        }
        if routes.requirement(&method, &r.path).is_some() {
            return Err(invalid(at("path"), "duplicate route entry"));
        }
        if r.deidentifies && !matches!(requirement, RouteRequirement::Permission { .. }) {
            return Err(invalid(at("deidentifies"), "only a route with action + resource can be de-identifying"));
        }
        routes.insert(&method, &r.path, requirement);
        if r.deidentifies {
            routes.mark_deidentifying(&method, &r.path);
        }
    }
    Ok(Policy::from_parts(roles, break_glass, routes))
}
