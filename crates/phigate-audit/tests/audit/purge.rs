//! Retention purge is crypto-shredding: payloads gone, proofs intact.

use std::sync::Arc;
use std::time::Duration;

use phigate_audit::{Config, Error, Query, verify};
use time::OffsetDateTime;

use crate::harness::{TestCipher, ai_event, open_with, pseudonym};

#[test]
fn purged_subject_is_unreadable_and_the_log_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let cipher = Arc::new(TestCipher::default());
    let mut config = Config::new(dir.path());
    config.retention = Duration::from_secs(3600);
    let ledger = open_with(config.clone(), Arc::clone(&cipher));
    for i in 0..10 {
        ledger.append(&ai_event("dr-d", "old-pt", &format!("a{i}"), "Old Patient")).unwrap();
    }
    let root_before = ledger.root();
    let size_before = ledger.size();
    let proof_before = ledger.prove(3, None).unwrap();

    // Nothing is past retention yet.
    assert!(ledger.purge_expired(OffsetDateTime::now_utc()).unwrap().is_empty());
    // Two hours later, old-pt is; a subject seen "then" is not.
    let later = OffsetDateTime::now_utc() + Duration::from_secs(7200);
    let purged = ledger.purge_expired(later).unwrap();
    assert_eq!(purged, vec![pseudonym("old-pt")]);
    assert!(ledger.is_purged(&pseudonym("old-pt")));
    ledger.append(&ai_event("dr-d", "new-pt", "b0", "New Patient")).unwrap();

    for seq in ledger.query(&Query {
        subject: Some(pseudonym("old-pt")),
        action: Some("ai.completion".into()),
        ..Query::default()
    }) {
        let r = ledger.read(seq).unwrap();
        assert!(r.sealed.is_some(), "ciphertext stays in place");
        assert!(matches!(ledger.open_payload(&r), Err(Error::Shredded { seq: s }) if s == seq));
    }
    let fresh = ledger.query(&Query { subject: Some(pseudonym("new-pt")), ..Query::default() });
    assert!(ledger.open_payload(&ledger.read(fresh[0]).unwrap()).unwrap().is_some());

    // Old proofs still verify against the old root; the purge is itself audited.
    assert!(proof_before.verify(&ledger.leaf_hash(3).unwrap(), &root_before));
    assert_eq!(ledger.root_at(size_before).unwrap(), root_before);
    let purges = ledger.query(&Query { action: Some("audit.purge".into()), ..Query::default() });
    assert_eq!(purges.len(), 1);
    ledger.close().unwrap();
    verify(dir.path()).unwrap();

    // After a restart the purge is remembered: nothing purged twice.
    let ledger = open_with(config, cipher);
    assert!(ledger.is_purged(&pseudonym("old-pt")));
    assert_eq!(ledger.purge_expired(later).unwrap(), vec![pseudonym("new-pt")], "old-pt is not purged twice");
    ledger.close().unwrap();
    verify(dir.path()).unwrap();
}
