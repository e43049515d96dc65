//! The investigator-facing API: trace, query, export, alerts, witness, reopen.

use std::sync::{Arc, Mutex};

use phigate_audit::{
    Alert, AlertEngine, AlertRule, AlertRules, AlertSink, Config, Error, Event, FileWitness, Outcome, Query, Source,
    export_fhir, verify,
};
use time::OffsetDateTime;

use crate::harness::{TestCipher, ai_event, open, pseudonym, signer, user};

#[test]
fn trace_reconstructs_the_chain_of_one_answer() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path(), Arc::new(TestCipher::default()));
    let mut retrieve = Event::new(user("dr-e"), "rag.retrieve", Outcome::Success);
    retrieve.request_id = Some("req-42".into());
    retrieve.subject = Some(pseudonym("p9"));
    ledger.append(&retrieve).unwrap();
    ledger.append(&ai_event("dr-e", "p9", "req-other", "X")).unwrap();
    ledger.append(&ai_event("dr-e", "p9", "req-42", "Mary")).unwrap();
    let mut answer = Event::new(user("dr-e"), "ai.answer.deliver", Outcome::Success);
    answer.request_id = Some("req-42".into());
    ledger.append(&answer).unwrap();

    let chain = ledger.trace("req-42").unwrap();
    let actions: Vec<&str> = chain.iter().map(|r| r.event.action.as_str()).collect();
    assert_eq!(actions, ["rag.retrieve", "ai.completion", "ai.answer.deliver"]);
    assert!(chain.windows(2).all(|w| w[0].seq < w[1].seq && w[0].time <= w[1].time));
    let ai = chain[1].event.ai.as_ref().unwrap();
    assert_eq!(ai.retrieved, ["doc-1#c3", "doc-9#c1"]);
    let payload = ledger.open_payload(&chain[1]).unwrap().unwrap();
    assert_eq!(payload.tool_calls[0].arguments.expose(), "name=Mary");
    assert!(ledger.trace("nope").unwrap().is_empty());
    ledger.close().unwrap();
}

#[test]
fn queries_reopen_and_fhir_export() {
    let dir = tempfile::tempdir().unwrap();
    let cipher = Arc::new(TestCipher::default());
    let ledger = open(dir.path(), Arc::clone(&cipher));
    let start = OffsetDateTime::now_utc();
    for i in 0..30 {
        let actor = if i % 2 == 0 { "dr-f" } else { "dr-g" };
        ledger.append(&ai_event(actor, &format!("p{}", i % 4), &format!("r{i}"), "Ann")).unwrap();
    }
    let mid = ledger.read(14).unwrap().time;
    ledger.close().unwrap();

    // Everything is rebuilt from the segments on open.
    let ledger = open(dir.path(), cipher);
    assert_eq!(ledger.size(), 30);
    let by_actor = ledger.query(&Query { actor: Some("dr-g".into()), ..Query::default() });
    assert_eq!(by_actor.len(), 15);
    let both = ledger.query(&Query { actor: Some("dr-f".into()), subject: Some(pseudonym("p0")), ..Query::default() });
    assert_eq!(both, [0, 4, 8, 12, 16, 20, 24, 28]);
    let late = ledger.query(&Query { since: Some(mid), ..Query::default() });
    assert!(late.first().is_some_and(|&s| s <= 14) && late.contains(&29));

    let mut out = Vec::new();
    let n = export_fhir(&ledger, Some(start), None, &mut out).unwrap();
    assert_eq!(n, 30);
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains("Ann"), "export carries no payload");
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["resourceType"], "AuditEvent");
        assert_eq!(v["outcome"], "0");
        assert!(v["recorded"].as_str().unwrap().ends_with('Z'));
        assert_eq!(v["agent"][0]["purposeOfUse"][0]["coding"][0]["code"], "TREAT");
    }
    assert!(matches!(ledger.read(30), Err(Error::NoSuchEntry { seq: 30, size: 30 })));
    ledger.close().unwrap();
}

struct Collect(Arc<Mutex<Vec<Alert>>>);

impl AlertSink for Collect {
    fn deliver(&self, alert: &Alert) -> Result<(), Error> {
        self.0.lock().unwrap().push(alert.clone());
        Ok(())
    }
}

#[test]
fn alerts_reach_the_sink_and_are_themselves_audited() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = open(dir.path(), Arc::new(TestCipher::default()));
    let got = Arc::new(Mutex::new(Vec::new()));
    ledger.set_alerts(AlertEngine::new(AlertRules::default()), vec![Box::new(Collect(Arc::clone(&got)))]);
    for _ in 0..6 {
        let mut e = Event::new(user("mallory"), "auth.login", Outcome::Denied);
        e.source = Source { address: Some("203.0.113.5".into()), ..Source::default() };
        ledger.append(&e).unwrap();
    }
    let mut bg = ai_event("dr-h", "p1", "bg-1", "Bob");
    bg.break_glass = true;
    ledger.append(&bg).unwrap();
    let rules: Vec<AlertRule> = got.lock().unwrap().iter().map(|a| a.rule).collect();
    assert_eq!(rules, [AlertRule::FailedLogins, AlertRule::BreakGlass]);
    let size = ledger.size();
    ledger.close().unwrap();
    let ledger = open(dir.path(), Arc::new(TestCipher::default()));
    let audited = ledger.query_records(&Query { action: Some("audit.alert".into()), ..Query::default() }).unwrap();
    assert_eq!(audited.len(), 2);
    assert_eq!(audited[0].event.resource.as_ref().unwrap().id, "failed_logins");
    assert!(ledger.size() >= size);
    ledger.close().unwrap();
}

#[test]
fn checkpoints_go_to_the_witness_and_wrong_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let wfile = dir.path().join("w.txt");
    let ldir = dir.path().join("l");
    let mut ledger = open(&ldir, Arc::new(TestCipher::default()));
    ledger.add_witness(Box::new(FileWitness::new(&wfile)));
    ledger.append(&ai_event("dr-i", "p1", "r", "Eve")).unwrap();
    let cp = ledger.checkpoint().unwrap();
    assert_eq!(cp.checkpoint.size, 1);
    assert_eq!(FileWitness::read_notes(&wfile).unwrap(), vec![cp.note.clone()]);
    assert_eq!(signer().verifier().open(&cp.note).unwrap(), cp.checkpoint);
    ledger.close().unwrap();

    let other = phigate_audit::CheckpointSigner::from_seed(crate::harness::ORIGIN, &[1; 32]).unwrap();
    let err = phigate_audit::Ledger::open(Config::new(&ldir), other, Arc::new(TestCipher::default())).err().unwrap();
    assert!(matches!(err, Error::Key(_)));
    let report = verify(&ldir).unwrap();
    assert_eq!(report.entries, 1);
}

#[test]
fn payload_without_subject_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path(), Arc::new(TestCipher::default()));
    let mut e = ai_event("dr-j", "p1", "r", "Zed");
    e.subject = None;
    assert!(matches!(ledger.append(&e), Err(Error::Invalid(_))));
    assert_eq!(ledger.size(), 0);
    ledger.close().unwrap();
}

#[test]
fn read_only_open_proves_and_traces_without_keys_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path(), Arc::new(TestCipher::default()));
    for i in 0..5 {
        ledger.append(&ai_event("dr-k", "p1", &format!("r{i}"), "Kim")).unwrap();
    }
    let cp = ledger.close().unwrap();
    let before: Vec<(std::path::PathBuf, Vec<u8>)> =
        crate::harness::files(dir.path()).into_iter().map(|f| (f.clone(), std::fs::read(&f).unwrap())).collect();

    let ro = phigate_audit::Ledger::open_read_only(dir.path()).unwrap();
    assert_eq!(ro.size(), 5);
    assert_eq!(ro.root(), cp.checkpoint.root);
    let proof = ro.prove(2, None).unwrap();
    assert!(proof.verify(&ro.leaf_hash(2).unwrap(), &cp.checkpoint.root));
    assert_eq!(ro.trace("r3").unwrap().len(), 1);
    assert!(matches!(ro.append(&ai_event("x", "p1", "r", "y")), Err(Error::ReadOnly)));
    assert!(ro.open_payload(&ro.read(0).unwrap()).is_err());
    assert_eq!(ro.checkpoint().unwrap(), cp, "the stored checkpoint is reused, not re-signed");
    assert_eq!(ro.latest_checkpoint(), Some(cp.clone()));
    drop(ro);
    let after: Vec<(std::path::PathBuf, Vec<u8>)> =
        crate::harness::files(dir.path()).into_iter().map(|f| (f.clone(), std::fs::read(&f).unwrap())).collect();
    assert_eq!(before, after);
}

#[test]
fn concurrent_appends_get_distinct_consecutive_seqs() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<phigate_audit::Ledger>();
    let dir = tempfile::tempdir().unwrap();
    let ledger = Arc::new(open(dir.path(), Arc::new(TestCipher::default())));
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let ledger = Arc::clone(&ledger);
            std::thread::spawn(move || {
                (0..40)
                    .map(|i| {
                        let req = format!("t{t}-{i}");
                        (ledger.append(&ai_event("dr-l", "p1", &req, "Lee")).unwrap().seq, req)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all: Vec<(u64, String)> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    all.sort();
    assert_eq!(all.iter().map(|(s, _)| *s).collect::<Vec<_>>(), (0..320).collect::<Vec<_>>());
    for (seq, req) in &all {
        assert_eq!(ledger.read(*seq).unwrap().event.request_id.as_deref(), Some(req.as_str()));
    }
    let ledger = Arc::into_inner(ledger).unwrap();
    ledger.close().unwrap();
    assert_eq!(verify(dir.path()).unwrap().entries, 320);
}

#[test]
fn one_writer_per_directory() {
    let dir = tempfile::tempdir().unwrap();
    let first = open(dir.path(), Arc::new(TestCipher::default()));
    first.append(&Event::new(user("a"), "x.read", Outcome::Success)).unwrap();
    let second = phigate_audit::Ledger::open(Config::new(dir.path()), signer(), Arc::new(TestCipher::default()));
    assert!(matches!(second, Err(Error::InUse { .. })), "a second writer must be refused");
    // Readers are never blocked by the writer.
    let reader = phigate_audit::Ledger::open_read_only(dir.path()).unwrap();
    assert_eq!(reader.size(), 1);
    drop(reader);
    first.close().unwrap();
    let again = open(dir.path(), Arc::new(TestCipher::default()));
    assert_eq!(again.size(), 1, "the lock is released on close");
}

#[test]
fn async_durability_resolves_for_every_waiter() {
    // A minimal executor: poll each future, park until its waker fires.
    struct Thread(std::thread::Thread);
    impl std::task::Wake for Thread {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let waker = std::task::Waker::from(Arc::new(Thread(std::thread::current())));
        let mut cx = std::task::Context::from_waker(&waker);
        loop {
            if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
            std::thread::park_timeout(std::time::Duration::from_secs(5));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let ledger = Arc::new(open(dir.path(), Arc::new(TestCipher::default())));
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let ledger = ledger.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    let pending =
                        ledger.submit(&Event::new(user(&format!("u{t}-{i}")), "x.read", Outcome::Success)).unwrap();
                    let receipt = block_on(ledger.durable(&pending)).unwrap();
                    assert_eq!(receipt.seq, pending.receipt().seq);
                    assert!(ledger.size() > receipt.seq, "acknowledged means durable and visible");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(ledger.size(), 400);
    drop(ledger);
    assert_eq!(verify(dir.path()).unwrap().entries, 400);
}
