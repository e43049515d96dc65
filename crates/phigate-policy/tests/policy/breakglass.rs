//! Break-glass: who may, for how long, with what reason; the event it produces.

use std::time::Duration;

use phigate_phi::Phi;
use phigate_policy::{AccessContext, Action, Error, Policy, Purpose};

use crate::{now, user};

const REASON: &str = "Unconscious patient Jane Canary in ED, no care team assigned yet";

#[test]
fn clinician_elevation_is_time_limited_flagged_and_evented() {
    let policy = Policy::default_policy().unwrap();
    let clinician = user(&["clinician"]);
    let (elevated, event) =
        policy.break_glass(&clinician, Phi::new(REASON.to_owned()), Duration::from_secs(30 * 60), now()).unwrap();
    let mark = elevated.break_glass.as_ref().unwrap();
    assert_eq!(mark.event_id, event.id);
    assert_eq!(event.expires_at, now() + time::Duration::minutes(30));
    assert_eq!(event.subject, clinician.subject);
    assert_eq!(event.session_ref, clinician.session_ref);
    assert_eq!(event.reason.expose(), REASON);
    // The reason may name a patient: never in Debug, never in the alert line.
    assert!(!format!("{event:?}").contains("Canary"));
    let alert = event.alert_summary();
    assert!(!alert.contains("Canary") && alert.contains(&event.id));

    // No care relationship, emergency purpose: allowed and flagged while active.
    let ctx =
        AccessContext { now: now() + time::Duration::minutes(29), care_relationship: Some(false), deidentified: false };
    let d = policy.authorize(&elevated, Action::Read, "Patient", Purpose::Emergency, &ctx);
    assert!(d.allowed && d.break_glass);
    // Break-glass does not widen what is granted (no write on Patient, no admin resources).
    assert!(!policy.authorize(&elevated, Action::Write, "Patient", Purpose::Emergency, &ctx).allowed);
    assert!(!policy.authorize(&elevated, Action::Read, "AuditEvent", Purpose::Emergency, &ctx).allowed);
    // Over at expiry.
    let ctx = AccessContext { now: now() + time::Duration::minutes(30), ..ctx };
    assert!(!policy.authorize(&elevated, Action::Read, "Patient", Purpose::Emergency, &ctx).allowed);
}

#[test]
fn elevation_rules_are_enforced() {
    let policy = Policy::default_policy().unwrap();
    let reason = || Phi::new(REASON.to_owned());
    let hour = Duration::from_secs(3600);
    for role in ["researcher", "administrator", "service", "triage"] {
        assert!(matches!(
            policy.break_glass(&user(&[role]), reason(), hour, now()),
            Err(Error::BreakGlassNotPermitted)
        ));
    }
    let clinician = user(&["clinician"]);
    assert!(matches!(
        policy.break_glass(&clinician, Phi::new("because".into()), hour, now()),
        Err(Error::BreakGlassReasonTooShort { min: 20 })
    ));
    assert!(matches!(
        policy.break_glass(&clinician, reason(), hour + Duration::from_secs(1), now()),
        Err(Error::BreakGlassDuration { max_minutes: 60 })
    ));
    assert!(matches!(
        policy.break_glass(&clinician, reason(), Duration::from_secs(10), now()),
        Err(Error::BreakGlassDuration { .. })
    ));
}

#[test]
fn a_policy_without_break_glass_section_allows_nobody() {
    let policy = Policy::from_toml("version = 1\n[roles.clinician]\n").unwrap();
    assert!(matches!(
        policy.break_glass(&user(&["clinician"]), Phi::new(REASON.to_owned()), Duration::from_secs(600), now()),
        Err(Error::BreakGlassNotPermitted)
    ));
}
