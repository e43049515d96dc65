//! Role × resource × action × purpose: every combination gets exactly its allowed outcome under the default policy.

use phigate_policy::{AccessContext, Action, Policy, Purpose};

use crate::{elevated, now, user};

const ROLES: &[&str] =
    &["clinician", "triage", "researcher", "privacy_officer", "administrator", "service", "no_such_role"];
const RESOURCES: &[&str] = &[
    "Patient",
    "Encounter",
    "Observation",
    "Condition",
    "MedicationRequest",
    "ModelContext",
    "StudyRecord",
    "AuditEvent",
    "BreakGlassEvent",
    "User",
    "ServiceAccount",
    "Policy",
    "Configuration",
    "NoSuchResource",
];

/// The expected grants, written out independently of `policy/default.toml`.
/// (role, resource, action, purposes as initials: t treatment, o operations, r research, e emergency)
const EXPECTED: &[(&str, &str, Action, &str)] = &[
    ("clinician", "Patient", Action::Read, "te"),
    ("clinician", "Encounter", Action::Read, "te"),
    ("clinician", "Encounter", Action::Write, "te"),
    ("clinician", "Observation", Action::Read, "te"),
    ("clinician", "Observation", Action::Write, "te"),
    ("clinician", "Condition", Action::Read, "te"),
    ("clinician", "Condition", Action::Write, "te"),
    ("clinician", "MedicationRequest", Action::Read, "te"),
    ("clinician", "MedicationRequest", Action::Write, "te"),
    ("clinician", "ModelContext", Action::Read, "te"),
    ("triage", "Patient", Action::Read, "t"),
    ("triage", "Encounter", Action::Read, "t"),
    ("triage", "ModelContext", Action::Read, "t"),
    ("researcher", "StudyRecord", Action::Read, "r"),
    ("researcher", "ModelContext", Action::Read, "r"),
    ("privacy_officer", "AuditEvent", Action::Read, "o"),
    ("privacy_officer", "BreakGlassEvent", Action::Read, "o"),
    ("privacy_officer", "BreakGlassEvent", Action::Write, "o"),
    ("privacy_officer", "Policy", Action::Read, "o"),
    ("administrator", "User", Action::Read, "o"),
    ("administrator", "User", Action::Write, "o"),
    ("administrator", "ServiceAccount", Action::Read, "o"),
    ("administrator", "ServiceAccount", Action::Write, "o"),
    ("administrator", "Policy", Action::Read, "o"),
    ("administrator", "Policy", Action::Write, "o"),
    ("administrator", "Configuration", Action::Read, "o"),
    ("administrator", "Configuration", Action::Write, "o"),
    ("service", "Observation", Action::Write, "o"),
];

fn initial(p: Purpose) -> char {
    p.as_str().chars().next().unwrap()
}

#[test]
fn every_combination_gets_exactly_its_outcome() {
    let policy = Policy::default_policy().unwrap();
    // Facts established in the most permissive way, so only the grants decide.
    let ctx = AccessContext { now: now(), care_relationship: Some(true), deidentified: true };
    let mut checked = 0;
    for role in ROLES {
        for resource in RESOURCES {
            for action in [Action::Read, Action::Write] {
                for purpose in Purpose::ALL {
                    let mut principal = user(&[role]);
                    if purpose == Purpose::Emergency {
                        principal = elevated(principal);
                    }
                    let expected = EXPECTED.iter().any(|(r, res, a, ps)| {
                        r == role && res == resource && *a == action && ps.contains(initial(purpose))
                    });
                    let d = policy.authorize(&principal, action, resource, purpose, &ctx);
                    assert_eq!(
                        d.allowed, expected,
                        "{role} {action} {resource} for {purpose}: got {} ({})",
                        d.allowed, d.reason
                    );
                    assert_eq!(d.break_glass, d.allowed && purpose == Purpose::Emergency);
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, ROLES.len() * RESOURCES.len() * 2 * 4);
}

#[test]
fn unknown_role_resource_and_purpose_are_denied() {
    let policy = Policy::default_policy().unwrap();
    let ctx = AccessContext { now: now(), care_relationship: Some(true), deidentified: true };
    assert!(!policy.authorize(&user(&["superuser"]), Action::Read, "Patient", Purpose::Treatment, &ctx).allowed);
    assert!(!policy.authorize(&user(&[]), Action::Read, "Patient", Purpose::Treatment, &ctx).allowed);
    let d = policy.authorize(&user(&["clinician"]), Action::Read, "Billing", Purpose::Treatment, &ctx);
    assert!(!d.allowed && d.reason.contains("deny by default"), "{}", d.reason);
    // A purpose outside the vocabulary cannot even be expressed.
    assert!("marketing".parse::<Purpose>().is_err());
}

#[test]
fn care_relationship_is_required_unless_emergency() {
    let policy = Policy::default_policy().unwrap();
    let clinician = user(&["clinician"]);
    for care in [None, Some(false)] {
        let ctx = AccessContext { now: now(), care_relationship: care, deidentified: false };
        let d = policy.authorize(&clinician, Action::Read, "Patient", Purpose::Treatment, &ctx);
        assert!(!d.allowed && d.reason.contains("care relationship"), "{}", d.reason);
        // Under break-glass the relationship is waived, and the decision is flagged.
        let d = policy.authorize(&elevated(clinician.clone()), Action::Read, "Patient", Purpose::Emergency, &ctx);
        assert!(d.allowed && d.break_glass);
    }
    // Triage has no care-relationship restriction in the default policy.
    let ctx = AccessContext::at(now());
    assert!(policy.authorize(&user(&["triage"]), Action::Read, "Patient", Purpose::Treatment, &ctx).allowed);
}

#[test]
fn research_purpose_gets_deidentified_data_only() {
    let policy = Policy::default_policy().unwrap();
    let researcher = user(&["researcher"]);
    let identified = AccessContext { now: now(), care_relationship: None, deidentified: false };
    let d = policy.authorize(&researcher, Action::Read, "StudyRecord", Purpose::Research, &identified);
    assert!(!d.allowed && d.reason.contains("de-identified"), "{}", d.reason);
    let deid = AccessContext { deidentified: true, ..identified };
    assert!(policy.authorize(&researcher, Action::Read, "StudyRecord", Purpose::Research, &deid).allowed);
    // No researcher grant reaches identified resources, for any purpose.
    for purpose in Purpose::ALL {
        assert!(!policy.authorize(&researcher, Action::Read, "Patient", purpose, &deid).allowed);
    }
    // Every research grant in the file is de-identified only (enforced by the parser).
    for role in policy.roles() {
        for rule in &policy.role(role).unwrap().rules {
            if rule.purposes.contains(&Purpose::Research) {
                assert!(rule.deidentified_only, "{role} {}", rule.resource);
            }
        }
    }
}

#[test]
fn emergency_requires_an_active_elevation() {
    let policy = Policy::default_policy().unwrap();
    let ctx = AccessContext { now: now(), care_relationship: Some(true), deidentified: false };
    let plain = user(&["clinician"]);
    assert!(!policy.authorize(&plain, Action::Read, "Patient", Purpose::Emergency, &ctx).allowed);
    let later = AccessContext { now: now() + time::Duration::minutes(31), ..ctx };
    assert!(!policy.authorize(&elevated(plain), Action::Read, "Patient", Purpose::Emergency, &later).allowed);
}
