//! Shared fixtures: a real AES-GCM payload cipher (phigate-keys), a fixed
//! signing key, and event builders.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use phigate_audit::{
    Actor, ActorKind, AiCall, CheckpointSigner, CipherError, Config, Event, Ledger, Outcome, Payload, PayloadCipher,
    Pseudonym, Resource, Source, ToolCall,
};
use phigate_keys::{Aad, DataKey};
use phigate_phi::Phi;
use zeroize::Zeroizing;

pub const ORIGIN: &str = "phigate.test/audit";
pub const SEED: [u8; 32] = [7; 32];

pub fn signer() -> CheckpointSigner {
    CheckpointSigner::from_seed(ORIGIN, &SEED).unwrap()
}

/// Per-subject AES-256-GCM keys in memory; `None` once shredded.
#[derive(Default)]
pub struct TestCipher {
    keys: Mutex<HashMap<Pseudonym, Option<Arc<DataKey>>>>,
}

fn aad_str(aad: &[u8]) -> Result<&str, CipherError> {
    std::str::from_utf8(aad).map_err(|_| CipherError::Tampered)
}

impl PayloadCipher for TestCipher {
    fn seal(&self, subject: &Pseudonym, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CipherError> {
        let key = {
            let mut keys = self.keys.lock().unwrap();
            match keys.entry(subject.clone()).or_insert_with(|| Some(Arc::new(DataKey::generate().unwrap()))) {
                Some(k) => Arc::clone(k),
                None => return Err(CipherError::Shredded),
            }
        };
        let aad = Aad { kind: "audit-payload", id: subject.as_str(), field: aad_str(aad)? };
        key.seal(1, &aad, plaintext).map_err(|_| CipherError::Tampered)
    }

    fn open(&self, subject: &Pseudonym, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CipherError> {
        let key = match self.keys.lock().unwrap().get(subject) {
            Some(Some(k)) => Arc::clone(k),
            Some(None) => return Err(CipherError::Shredded),
            None => return Err(CipherError::Unavailable("unknown subject".into())),
        };
        let aad = Aad { kind: "audit-payload", id: subject.as_str(), field: aad_str(aad)? };
        key.open(1, &aad, sealed).map_err(|_| CipherError::Tampered)
    }

    fn shred(&self, subject: &Pseudonym) -> Result<(), CipherError> {
        self.keys.lock().unwrap().insert(subject.clone(), None);
        Ok(())
    }
}

pub fn open(dir: &Path, cipher: Arc<TestCipher>) -> Ledger {
    Ledger::open(Config::new(dir), signer(), cipher).unwrap()
}

pub fn open_with(config: Config, cipher: Arc<TestCipher>) -> Ledger {
    Ledger::open(config, signer(), cipher).unwrap()
}

pub fn user(id: &str) -> Actor {
    Actor { id: id.into(), kind: ActorKind::User, role: "clinician".into(), session: Some("sess-1".into()) }
}

pub fn pseudonym(s: &str) -> Pseudonym {
    Pseudonym::new(s).unwrap()
}

/// An AI completion event whose payload holds `secret` everywhere PHI can go.
pub fn ai_event(actor: &str, subject: &str, request: &str, secret: &str) -> Event {
    let mut e = Event::new(user(actor), "ai.completion", Outcome::Success);
    e.resource = Some(Resource { kind: "model".into(), id: "llama".into() });
    e.purpose = Some("TREAT".into());
    e.subject = Some(pseudonym(subject));
    e.request_id = Some(request.into());
    e.source = Source { address: Some("10.1.2.3".into()), user_agent: Some("ehr/1.0".into()), device: None };
    e.ai = Some(AiCall {
        model_id: "llama".into(),
        model_version: "3.1".into(),
        template_id: "summary".into(),
        template_version: "4".into(),
        temperature: Some(0.2),
        retrieved: vec!["doc-1#c3".into(), "doc-9#c1".into()],
        tools: vec!["fhir.search".into()],
        ..AiCall::default()
    });
    e.payload = Some(Payload {
        input: Some(Phi::new(format!("Summarize the chart of {secret}"))),
        output: Some(Phi::new(format!("{secret} has hypertension"))),
        tool_calls: vec![ToolCall {
            name: "fhir.search".into(),
            arguments: Phi::new(format!("name={secret}")),
            result: Phi::new(format!("[{{\"name\":\"{secret}\"}}]")),
        }],
        detail: Some(Phi::new(secret.to_owned())),
    });
    e
}

/// Every ledger data file under `dir`, recursively. The writer's `LOCK`
/// file holds no data (it exists only to be locked), so it is left out.
pub fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else if p.file_name().is_some_and(|n| n != "LOCK") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Copies a data directory (flat files and the segments folder).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let p = entry.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}
