//! The route table: every (method, route template) of the API and what it requires.
//!
//! The server looks the matched route up on every request; a route with no
//! entry is denied. [`RoutePolicy::missing`] lists routes of the router that
//! lack an entry, so a test can fail the suite when someone adds a route
//! without deciding who may call it.

use std::collections::{BTreeMap, BTreeSet};

use phigate_identity::Principal;

use crate::model::{Action, Purpose};
use crate::policy::{AccessContext, Decision, Policy};

/// What a route requires of its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RouteRequirement {
    /// No authentication (`/healthz`, `/readyz`, `/metrics`, the sign-in flow).
    Public,
    /// Any authenticated principal (`GET /api/v1/me`).
    Authenticated,
    /// A permission checked with [`Policy::authorize`].
    Permission {
        /// The action.
        action: Action,
        /// The resource type.
        resource: String,
    },
}

/// (method, route template) → requirement. Methods are upper-case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutePolicy {
    entries: BTreeMap<(String, String), RouteRequirement>,
    /// Routes whose handler can serve the request de-identified (the model
    /// gateway): `deidentified_only` grants apply to them, and the handler
    /// is told to de-identify ([`RouteDecision::AllowedDeidentified`]).
    deidentifying: BTreeSet<(String, String)>,
}

impl RoutePolicy {
    /// An empty table (denies everything).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces an entry. `template` is the router's pattern (`/api/v1/patients/{id}`).
    pub fn insert(&mut self, method: &str, template: &str, requirement: RouteRequirement) -> &mut Self {
        self.entries.insert((method.to_ascii_uppercase(), template.to_owned()), requirement);
        self
    }

    /// Declares that the handler of a route can serve it de-identified
    /// (policy file: `deidentifies = true`).
    pub fn mark_deidentifying(&mut self, method: &str, template: &str) -> &mut Self {
        self.deidentifying.insert((method.to_ascii_uppercase(), template.to_owned()));
        self
    }

    /// Whether the handler of a route can serve it de-identified.
    pub fn deidentifies(&self, method: &str, template: &str) -> bool {
        self.deidentifying.contains(&(method.to_ascii_uppercase(), template.to_owned()))
    }

    /// The requirement of a route, if it has one.
    pub fn requirement(&self, method: &str, template: &str) -> Option<&RouteRequirement> {
        self.entries.get(&(method.to_ascii_uppercase(), template.to_owned()))
    }

    /// All entries.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str, &RouteRequirement)> {
        self.entries.iter().map(|((m, p), r)| (m.as_str(), p.as_str(), r))
    }

    /// The routes among `routes` that have no entry (method, template), sorted.
    pub fn missing<'a>(&self, routes: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = routes
            .into_iter()
            .filter(|(m, p)| self.requirement(m, p).is_none())
            .map(|(m, p)| (m.to_ascii_uppercase(), p.to_owned()))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Decides a request to a route. `principal` is `None` for an unauthenticated caller.
    /// Unknown routes are denied.
    pub fn check(
        &self,
        policy: &Policy,
        principal: Option<&Principal>,
        method: &str,
        template: &str,
        purpose: Purpose,
        ctx: &AccessContext,
    ) -> RouteDecision {
        match (self.requirement(method, template), principal) {
            (None, _) => RouteDecision::Forbidden(Decision {
                allowed: false,
                reason: "route has no policy entry (deny by default)".into(),
                role: None,
                break_glass: false,
            }),
            (Some(RouteRequirement::Public), _) => RouteDecision::Allowed(None),
            (Some(_), None) => RouteDecision::Unauthenticated,
            (Some(RouteRequirement::Authenticated), Some(_)) => RouteDecision::Allowed(None),
            (Some(RouteRequirement::Permission { action, resource }), Some(p)) => {
                let d = policy.authorize(p, *action, resource, purpose, ctx);
                if d.allowed {
                    return RouteDecision::Allowed(Some(d));
                }
                // A de-identifying route may still serve a caller whose only
                // grant is de-identified data: the handler must then
                // de-identify everything it serves.
                if !ctx.deidentified && self.deidentifies(method, template) {
                    let deid = AccessContext { deidentified: true, ..*ctx };
                    let d2 = policy.authorize(p, *action, resource, purpose, &deid);
                    if d2.allowed {
                        return RouteDecision::AllowedDeidentified(d2);
                    }
                }
                RouteDecision::Forbidden(d)
            }
        }
    }
}

/// The answer for one request: maps onto 200/401/403.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RouteDecision {
    /// Proceed; carries the policy decision for permission routes (audit it).
    Allowed(Option<Decision>),
    /// Proceed, but only with de-identified data: the caller's grant is
    /// `deidentified_only` and the route is de-identifying.
    AllowedDeidentified(Decision),
    /// Authentication required (401).
    Unauthenticated,
    /// Authenticated but not permitted, or unknown route (403).
    Forbidden(Decision),
}
