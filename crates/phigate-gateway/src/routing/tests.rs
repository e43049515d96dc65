use std::collections::BTreeSet;

use proptest::prelude::*;
use time::macros::date;

use super::*;
use crate::registry::{Baa, BaseUrl, Endpoints, Timeouts};

const TODAY: Date = date!(2026 - 03 - 15);

fn backend(id: &str, kind: BackendKind, classes: &[DataClass]) -> Backend {
    Backend {
        id: id.to_owned(),
        kind,
        model: "m".to_owned(),
        model_version: "1".to_owned(),
        baa: None,
        data_classes: classes.iter().copied().collect(),
        approval: Approval::Approved,
        on_phi: OnPhi::Refuse,
        priority: 100,
        timeouts: Timeouts::default(),
        endpoints: Endpoints { chat: true, embeddings: false },
    }
}

fn vendor() -> BackendKind {
    BackendKind::Vendor { base_url: BaseUrl::parse("https://v.example").unwrap(), api_key_env: None }
}

fn self_hosted() -> BackendKind {
    BackendKind::SelfHosted { base_url: BaseUrl::parse("http://127.0.0.1:1").unwrap(), insecure_plain_http: false }
}

fn baa(expires: Date) -> Option<Baa> {
    Some(Baa { reference: "BAA-1".to_owned(), expires })
}

use DataClass::{Deidentified, Phi, Public};

#[test]
fn in_process_and_self_hosted_with_phi_are_cleared() {
    for kind in [BackendKind::InProcess, self_hosted()] {
        assert_eq!(clearance(&backend("a", kind.clone(), &[Phi]), TODAY), Clearance::Phi);
        assert_eq!(clearance(&backend("a", kind.clone(), &[Deidentified]), TODAY), Clearance::DeidentifiedOnly);
        assert_eq!(clearance(&backend("a", kind, &[Public]), TODAY), Clearance::PublicOnly);
    }
}

#[test]
fn a_vendor_needs_a_baa_in_force_today() {
    let mut v = backend("v", vendor(), &[Phi, Deidentified]);
    assert_eq!(clearance(&v, TODAY), Clearance::DeidentifiedOnly, "no BAA");
    v.baa = baa(TODAY);
    assert_eq!(clearance(&v, TODAY), Clearance::Phi, "the expiry day is still in force");
    assert_eq!(clearance(&v, TODAY.next_day().unwrap()), Clearance::DeidentifiedOnly, "downgraded the day after");
    v.baa = baa(date!(2020 - 01 - 01));
    assert_eq!(clearance(&v, TODAY), Clearance::DeidentifiedOnly);
    let mut only_phi = backend("v", vendor(), &[Phi]);
    assert_eq!(clearance(&only_phi, TODAY), Clearance::Refused(Refusal::NoBaa));
    only_phi.baa = baa(date!(2026 - 03 - 14));
    assert_eq!(clearance(&only_phi, TODAY), Clearance::Refused(Refusal::BaaExpired));
    let mut public = backend("v", vendor(), &[Public]);
    public.baa = baa(date!(2030 - 01 - 01));
    assert_eq!(clearance(&public, TODAY), Clearance::PublicOnly, "a BAA does not add a class that was not declared");
}

#[test]
fn unapproved_backends_are_refused_whatever_else_holds() {
    for approval in [Approval::Pending, Approval::Suspended] {
        let mut b = backend("a", BackendKind::InProcess, &[Phi, Deidentified, Public]);
        b.approval = approval;
        assert_eq!(clearance(&b, TODAY), Clearance::Refused(Refusal::NotApproved(approval)));
    }
}

#[test]
fn action_table() {
    use Action::*;
    use Payload::*;
    let c = ContainsPhi;
    let n = NoPhiDetected;
    let r = OnPhi::Refuse;
    let f = OnPhi::RedactAndForward;
    assert_eq!(action(Clearance::Phi, r, c), Forward);
    assert_eq!(action(Clearance::Phi, f, n), Forward);
    assert_eq!(action(Clearance::DeidentifiedOnly, f, c), RedactThenForward);
    assert_eq!(action(Clearance::DeidentifiedOnly, r, c), Refuse(Refusal::OnPhiRefuse));
    assert_eq!(action(Clearance::DeidentifiedOnly, r, n), Forward);
    assert_eq!(action(Clearance::DeidentifiedOnly, f, n), Forward);
    assert_eq!(action(Clearance::PublicOnly, f, c), Refuse(Refusal::DeidentifiedNotAllowed));
    assert_eq!(action(Clearance::PublicOnly, r, n), Forward);
    let refused = Clearance::Refused(Refusal::NoBaa);
    assert_eq!(action(refused, f, n), Refuse(Refusal::NoBaa));
}

fn registry() -> Registry {
    let mut local = backend("local", self_hosted(), &[Phi, Deidentified]);
    local.priority = 10;
    let mut baa_vendor = backend("baa-vendor", vendor(), &[Phi, Deidentified]);
    baa_vendor.priority = 20;
    baa_vendor.baa = baa(date!(2026 - 12 - 31));
    baa_vendor.on_phi = OnPhi::RedactAndForward;
    let mut general = backend("general", vendor(), &[Deidentified, Public]);
    general.priority = 30;
    general.on_phi = OnPhi::RedactAndForward;
    let mut strict = backend("strict", vendor(), &[Deidentified]);
    strict.priority = 40;
    let mut pending = backend("pending", BackendKind::InProcess, &[Phi]);
    pending.approval = Approval::Pending;
    let mut embed = backend("embed", BackendKind::InProcess, &[Phi]);
    embed.model = "e".into();
    embed.endpoints = Endpoints { chat: false, embeddings: true };
    let mut parked = backend("parked", BackendKind::InProcess, &[Phi]);
    parked.model = "parked".into();
    parked.approval = Approval::Suspended;
    Registry::new(vec![general, strict, pending, baa_vendor, local, embed, parked]).unwrap()
}

#[test]
fn plan_orders_by_priority_and_assigns_actions() {
    let r = registry();
    let p = plan(&r, "m", Endpoint::Chat, TODAY, Payload::ContainsPhi).unwrap();
    let got: Vec<(&str, Clearance, Action)> =
        p.iter().map(|r| (r.backend.id.as_str(), r.clearance, r.action)).collect();
    assert_eq!(
        got,
        [
            ("local", Clearance::Phi, Action::Forward),
            ("baa-vendor", Clearance::Phi, Action::Forward),
            ("general", Clearance::DeidentifiedOnly, Action::RedactThenForward),
            ("strict", Clearance::DeidentifiedOnly, Action::Refuse(Refusal::OnPhiRefuse)),
        ],
        "pending backends are not planned"
    );
    // The BAA lapses: the vendor de-identifies from that day on.
    let later = plan(&r, "m", Endpoint::Chat, date!(2027 - 01 - 01), Payload::ContainsPhi).unwrap();
    assert_eq!((later[1].clearance, later[1].action), (Clearance::DeidentifiedOnly, Action::RedactThenForward));
    let clean = plan(&r, "m", Endpoint::Chat, TODAY, Payload::NoPhiDetected).unwrap();
    assert!(clean.iter().all(|r| r.action == Action::Forward && r.is_usable()));
}

#[test]
fn plan_errors_are_typed() {
    let r = registry();
    let p = |m: &str, e| plan(&r, m, e, TODAY, Payload::ContainsPhi);
    assert!(matches!(p("nope", Endpoint::Chat), Err(Error::UnknownModel { .. })));
    assert!(matches!(p("m", Endpoint::Embeddings), Err(Error::EndpointNotServed { .. })));
    assert!(matches!(p("parked", Endpoint::Chat), Err(Error::NoApprovedBackend { .. })));
    assert_eq!(p("e", Endpoint::Embeddings).unwrap().len(), 1);
    let Err(Error::UnknownModel { model }) = p("Jane Canary 03/04/1961", Endpoint::Chat) else { panic!() };
    assert!(!model.contains("Canary"), "a model name that is not an identifier is not echoed");
}

/// Every combination of the inputs, checked against the invariants the
/// module documents (the tables above, read as rules).
#[test]
fn exhaustive_combinations_fail_closed() {
    let kinds = [BackendKind::InProcess, self_hosted(), vendor()];
    let baas = [None, baa(date!(2026 - 03 - 14)), baa(TODAY), baa(date!(2030 - 01 - 01))];
    let all = [Phi, Deidentified, Public];
    let mut checked = 0;
    for kind in &kinds {
        for mask in 0u8..8 {
            let classes: Vec<DataClass> = (0..3).filter(|i| mask & (1 << i) != 0).map(|i| all[i]).collect();
            for baa in &baas {
                for approval in [Approval::Approved, Approval::Pending, Approval::Suspended] {
                    for on_phi in [OnPhi::Refuse, OnPhi::RedactAndForward] {
                        let mut b = backend("x", kind.clone(), &classes);
                        b.baa = baa.clone();
                        b.approval = approval;
                        b.on_phi = on_phi;
                        check_invariants(&b, TODAY);
                        checked += 1;
                    }
                }
            }
        }
    }
    assert_eq!(checked, 3 * 8 * 4 * 3 * 2);
}

fn check_invariants(b: &Backend, today: Date) {
    let c = clearance(b, today);
    let baa_ok = b.baa.as_ref().is_some_and(|x| x.expires >= today);
    let is_vendor = matches!(b.kind, BackendKind::Vendor { .. });
    if c == Clearance::Phi {
        assert_eq!(b.approval, Approval::Approved);
        assert!(b.data_classes.contains(&Phi));
        assert!(!is_vendor || baa_ok, "a vendor is cleared for PHI only under a BAA in force");
    }
    if b.approval != Approval::Approved {
        assert!(matches!(c, Clearance::Refused(Refusal::NotApproved(_))));
    }
    if c == Clearance::DeidentifiedOnly {
        assert!(b.data_classes.contains(&Deidentified));
    }
    let with_phi = action(c, b.on_phi, Payload::ContainsPhi);
    match with_phi {
        Action::Forward => assert_eq!(c, Clearance::Phi, "PHI is forwarded as is only to a cleared backend"),
        Action::RedactThenForward => {
            assert_eq!(c, Clearance::DeidentifiedOnly);
            assert_eq!(b.on_phi, OnPhi::RedactAndForward);
        }
        Action::Refuse(_) => assert!(c != Clearance::Phi),
    }
    if matches!(c, Clearance::Refused(_)) {
        assert!(matches!(action(c, b.on_phi, Payload::NoPhiDetected), Action::Refuse(_)));
    }
}

fn arb_backend() -> impl Strategy<Value = Backend> {
    (
        0u8..3,
        proptest::collection::btree_set(prop_oneof![Just(Phi), Just(Deidentified), Just(Public)], 1..=3),
        proptest::option::of(-400i32..400),
        prop_oneof![Just(Approval::Approved), Just(Approval::Pending), Just(Approval::Suspended)],
        any::<bool>(),
        0u32..5,
        0u8..2,
    )
        .prop_map(|(k, classes, baa_days, approval, redact, priority, model): (_, BTreeSet<_>, _, _, _, _, _)| {
            let kind = match k {
                0 => BackendKind::InProcess,
                1 => self_hosted(),
                _ => vendor(),
            };
            let mut b = backend("x", kind, &classes.into_iter().collect::<Vec<_>>());
            if matches!(b.kind, BackendKind::Vendor { .. }) {
                b.baa = baa_days.map(|d| Baa {
                    reference: "B".into(),
                    expires: TODAY.checked_add(time::Duration::days(d.into())).unwrap(),
                });
            }
            b.approval = approval;
            b.on_phi =
                if redact && b.data_classes.contains(&Deidentified) { OnPhi::RedactAndForward } else { OnPhi::Refuse };
            b.priority = priority;
            b.model = format!("m{model}");
            b
        })
}

proptest! {
    /// No plan ever forwards PHI as is to a backend not cleared for PHI, and
    /// every planned backend is approved and serves the model.
    #[test]
    fn no_plan_forwards_phi_to_an_uncleared_backend(
        backends in proptest::collection::vec(arb_backend(), 0..8),
        day_offset in -400i64..400,
    ) {
        let backends: Vec<Backend> = backends
            .into_iter()
            .enumerate()
            .map(|(i, mut b)| { b.id = format!("b{i}"); b })
            .collect();
        let today = TODAY.checked_add(time::Duration::days(day_offset)).unwrap();
        let registry = Registry::new(backends).unwrap();
        for model in ["m0", "m1"] {
            let Ok(routes) = plan(&registry, model, Endpoint::Chat, today, Payload::ContainsPhi) else { continue };
            let mut last = 0;
            for r in &routes {
                prop_assert_eq!(r.backend.approval, Approval::Approved);
                prop_assert_eq!(r.backend.model.as_str(), model);
                prop_assert!(r.backend.priority >= last);
                last = r.backend.priority;
                prop_assert_eq!(r.clearance, clearance(&r.backend, today));
                if r.action == Action::Forward {
                    prop_assert_eq!(r.clearance, Clearance::Phi);
                    if matches!(r.backend.kind, BackendKind::Vendor { .. }) {
                        prop_assert!(r.backend.baa.as_ref().is_some_and(|b| b.expires >= today));
                    }
                }
                check_invariants(&r.backend, today);
            }
        }
    }
}
