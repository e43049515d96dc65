//! The audit ledger, wired to the store's keys.
//!
//! - Payload encryption: [`StoreCipher`] implements the ledger's
//!   `PayloadCipher` with the store's named data keys (purpose
//!   `audit-subject`, one per subject pseudonym). The store's subject ids
//!   are the ledger's pseudonyms, so `phigate subjects shred` destroys a
//!   patient's records and audit payloads in one step while every proof
//!   still verifies.
//! - Checkpoint signing: the Ed25519 seed is a named data key too
//!   (`audit-signing`), so it is wrapped by the customer's KEK, re-wrapped
//!   on rotation, and never sits in a file in clear.
//! - Events recorded here: administrative operations and service start and
//!   stop. Access to patient data is recorded by the routes that serve it.

use std::sync::Arc;

use anyhow::Context;
use phigate_audit::{
    Actor, ActorKind, AlertEngine, AlertRules, AlertSink, CheckpointSigner, CipherError, Event, FileWitness, Ledger,
    LogSink, Outcome, PayloadCipher, Pseudonym, Resource,
};
use phigate_config::Config;
use phigate_keys::Aad;
use phigate_store::{Error as StoreError, Store};
use zeroize::Zeroizing;

use crate::audit_http::{HttpWitness, WebhookSink};
use crate::wiring::Backend;

/// Named-key purpose of subjects' payload keys.
const SUBJECT_KEYS: &str = "audit-subject";
/// Named-key purpose and name of the checkpoint signing seed.
const SIGNING_KEY: (&str, &str) = ("audit-signing", "checkpoint");
/// Log origin in signed checkpoints (C2SP signed-note key name).
const ORIGIN: &str = "phigate/audit";

/// Seals ledger payloads under per-subject data keys from the store.
pub struct StoreCipher {
    store: Arc<dyn Store>,
}

fn cipher_error(e: StoreError) -> CipherError {
    match e {
        StoreError::Shredded(_) => CipherError::Shredded,
        StoreError::Key(phigate_keys::Error::Tampered) => CipherError::Tampered,
        other => CipherError::Unavailable(other.to_string()),
    }
}

impl PayloadCipher for StoreCipher {
    fn seal(&self, subject: &Pseudonym, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CipherError> {
        let (id, key) = self.store.named_key(SUBJECT_KEYS, subject.as_str()).map_err(cipher_error)?;
        let field = hex::encode(aad);
        key.seal(id, &Aad { kind: "audit-payload", id: subject.as_str(), field: &field }, plaintext)
            .map_err(|e| CipherError::Unavailable(e.to_string()))
    }

    fn open(&self, subject: &Pseudonym, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CipherError> {
        let (id, key) = self.store.named_key(SUBJECT_KEYS, subject.as_str()).map_err(cipher_error)?;
        let field = hex::encode(aad);
        key.open(id, &Aad { kind: "audit-payload", id: subject.as_str(), field: &field }, sealed).map_err(|e| match e {
            phigate_keys::Error::Tampered => CipherError::Tampered,
            other => CipherError::Unavailable(other.to_string()),
        })
    }

    fn shred(&self, subject: &Pseudonym) -> Result<(), CipherError> {
        self.store.shred_named_key(SUBJECT_KEYS, subject.as_str()).map_err(cipher_error)
    }
}

/// Where the ledger lives.
pub fn dir(config: &Config) -> std::path::PathBuf {
    config.data_dir.join("audit")
}

/// Opens the ledger for appending, with alert rules sending to the log.
pub fn open(config: &Config, backend: &Backend) -> anyhow::Result<Ledger> {
    let store = backend.store();
    let (_, seed) = store.named_key(SIGNING_KEY.0, SIGNING_KEY.1).context("opening the audit signing key")?;
    let signer = CheckpointSigner::from_seed(ORIGIN, seed.expose_raw())?;
    let mut settings = phigate_audit::Config::new(dir(config));
    settings.retention = config.audit.retention;
    settings.checkpoint_interval = Some(config.audit.checkpoint_interval);
    let mut ledger = Ledger::open(settings, signer, Arc::new(StoreCipher { store }))
        .with_context(|| format!("opening audit ledger {}", dir(config).display()))?;
    if let Some(path) = &config.audit.witness_file {
        ledger.add_witness(Box::new(FileWitness::new(path.clone())));
    }
    if let Some(url) = &config.audit.witness_url {
        ledger.add_witness(Box::new(HttpWitness::new(url.clone())));
    }
    let mut sinks: Vec<Box<dyn AlertSink>> = vec![Box::new(LogSink::new(std::io::stderr()))];
    if let Some(url) = &config.audit.alert_webhook {
        sinks.push(Box::new(WebhookSink::new(url.clone())));
    }
    ledger.set_alerts(AlertEngine::new(AlertRules::default()), sinks);
    Ok(ledger)
}

/// The operator running a CLI command: the OS account (an internal id, not PHI).
pub fn operator() -> Actor {
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".to_string());
    Actor { id: format!("os:{user}"), kind: ActorKind::User, role: "administrator".to_string(), session: None }
}

/// The service itself (start, stop).
pub fn service() -> Actor {
    Actor { id: "phigate".to_string(), kind: ActorKind::Service, role: "service".to_string(), session: None }
}

/// Records one action; returns once it is durable.
pub fn record(
    ledger: &Ledger,
    actor: Actor,
    action: &str,
    resource: Option<(&str, String)>,
    outcome: Outcome,
) -> anyhow::Result<()> {
    let mut event = Event::new(actor, action, outcome);
    event.resource = resource.map(|(kind, id)| Resource { kind: kind.to_string(), id });
    // HL7 v3 ActReason: healthcare operations.
    event.purpose = Some("HOPERAT".to_string());
    ledger.append(&event).with_context(|| format!("recording {action} in the audit ledger"))?;
    Ok(())
}

/// Runs an administrative operation on the record: the ledger is opened
/// first (no ledger, no operation: fail closed), then the outcome is
/// appended whether the operation succeeded or failed.
pub fn audited<T>(
    config: &Config,
    backend: &Backend,
    action: &str,
    resource: Option<(&str, String)>,
    operation: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let ledger = open(config, backend)?;
    let result = operation();
    let outcome = if result.is_ok() { Outcome::Success } else { Outcome::Error };
    record(&ledger, operator(), action, resource, outcome)?;
    // Closing signs the final checkpoint; a failure there is an error too.
    ledger.close().context("closing the audit ledger")?;
    result
}
