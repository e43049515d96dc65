//! The route table: deny unknown routes, list routes lacking an entry.

use phigate_policy::{AccessContext, Action, Policy, Purpose, RouteDecision, RoutePolicy, RouteRequirement};

use crate::{now, user};

fn table() -> RoutePolicy {
    let mut t = Policy::default_policy().unwrap().routes().clone();
    t.insert(
        "GET",
        "/api/v1/patients/{id}",
        RouteRequirement::Permission { action: Action::Read, resource: "Patient".into() },
    );
    t
}

#[test]
fn routes_without_an_entry_are_listed() {
    let t = table();
    let router = [
        ("GET", "/healthz"),
        ("get", "/api/v1/me"),
        ("GET", "/api/v1/patients/{id}"),
        ("DELETE", "/api/v1/patients/{id}"),
        ("POST", "/api/v1/not-in-the-policy"),
    ];
    assert_eq!(
        t.missing(router),
        vec![
            ("DELETE".to_owned(), "/api/v1/patients/{id}".to_owned()),
            ("POST".to_owned(), "/api/v1/not-in-the-policy".to_owned())
        ]
    );
}

#[test]
fn check_maps_to_allowed_401_and_403() {
    let policy = Policy::default_policy().unwrap();
    let t = table();
    let ctx = AccessContext { now: now(), care_relationship: Some(true), deidentified: false };
    let p = Purpose::Treatment;
    assert_eq!(t.check(&policy, None, "GET", "/healthz", p, &ctx), RouteDecision::Allowed(None));
    assert_eq!(t.check(&policy, None, "GET", "/api/v1/me", p, &ctx), RouteDecision::Unauthenticated);
    assert_eq!(t.check(&policy, None, "GET", "/api/v1/patients/{id}", p, &ctx), RouteDecision::Unauthenticated);
    let admin = user(&["administrator"]);
    assert_eq!(t.check(&policy, Some(&admin), "GET", "/api/v1/me", p, &ctx), RouteDecision::Allowed(None));
    assert!(matches!(
        t.check(&policy, Some(&admin), "GET", "/api/v1/patients/{id}", p, &ctx),
        RouteDecision::Forbidden(_)
    ));
    let clinician = user(&["clinician"]);
    assert!(matches!(
        t.check(&policy, Some(&clinician), "GET", "/api/v1/patients/{id}", p, &ctx),
        RouteDecision::Allowed(Some(d)) if d.allowed
    ));
    // Unknown route: forbidden even for an authenticated caller.
    assert!(matches!(
        t.check(&policy, Some(&clinician), "GET", "/api/v1/secret", p, &ctx),
        RouteDecision::Forbidden(_)
    ));
}

#[test]
fn deidentifying_routes_admit_deidentified_only_grants_and_say_so() {
    let policy = Policy::default_policy().unwrap();
    let t = policy.routes();
    let ctx = AccessContext::at(now());
    let chat = "/v1/chat/completions";
    assert!(t.deidentifies("POST", chat) && t.deidentifies("post", "/v1/embeddings"));
    assert!(!t.deidentifies("GET", "/api/v1/me"));
    // A clinician's own grant is identified: plain Allowed.
    let clinician = user(&["clinician"]);
    assert!(matches!(
        t.check(&policy, Some(&clinician), "POST", chat, Purpose::Treatment, &ctx),
        RouteDecision::Allowed(Some(d)) if d.allowed
    ));
    // A researcher is admitted only de-identified, and only for research.
    let researcher = user(&["researcher"]);
    assert!(matches!(
        t.check(&policy, Some(&researcher), "POST", chat, Purpose::Research, &ctx),
        RouteDecision::AllowedDeidentified(d) if d.allowed
    ));
    assert!(matches!(
        t.check(&policy, Some(&researcher), "POST", chat, Purpose::Treatment, &ctx),
        RouteDecision::Forbidden(_)
    ));
    // An administrator has no model-call grant at all.
    let admin = user(&["administrator"]);
    assert!(matches!(
        t.check(&policy, Some(&admin), "POST", chat, Purpose::Operations, &ctx),
        RouteDecision::Forbidden(_)
    ));
}

#[test]
fn only_permission_routes_can_be_deidentifying() {
    let text = "version = 1\n[[routes]]\nmethod = \"GET\"\npath = \"/x\"\nauthenticated = true\ndeidentifies = true\n";
    let err = Policy::from_toml(text).unwrap_err().to_string();
    assert!(err.contains("routes[0].deidentifies"), "{err}");
}
