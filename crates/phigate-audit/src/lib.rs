//! Tamper-evident audit ledger for clinical AI.
//!
//! Answers "where exactly did that patient's data go when the model produced
//! this answer?" years later, and proves nothing was altered since:
//!
//! * **Entries** ([`Event`]) record who, what, when, where, the outcome and,
//!   for AI calls, the full chain (model, prompt template, parameters,
//!   retrieved documents, tool calls, input, output). PHI-bearing fields are
//!   sealed per subject through a [`PayloadCipher`] before they reach disk,
//!   so retention purge is crypto-shredding and no PHI is ever stored in clear.
//! * **Integrity** is an RFC 9162 Merkle tree ([`merkle`]) whose leaves cover
//!   the ciphertext, so proofs still verify after a purge; signed checkpoints
//!   in the C2SP signed-note format ([`checkpoint`]) can be published to
//!   witnesses ([`Witness`]); [`verify()`] recomputes everything.
//! * **Storage** is append-only segment files with group commit: one fsync
//!   covers a batch, and [`Ledger::append`] returns only once its entry is
//!   durable. There is no update or delete path.
//! * **Investigation**: index queries ([`Query`]), [`Ledger::trace`] of one
//!   request, FHIR R4 `AuditEvent` export ([`export_fhir`]), and alert rules
//!   over the stream ([`AlertEngine`]).
//!
//! Why a bespoke store rather than a database: the ledger's guarantees
//! (WORM, group-committed durability, recomputable integrity, byte-exact
//! locations in error reports) are simplest to state and test when the
//! file format is ours and a page of documentation long ([`segment`]).
//!
//! # Limits, on purpose for now
//!
//! * One process owns a data directory. There is no lock file yet
//!   (`File::try_lock` needs Rust 1.89; the workspace declares 1.88).
//! * Tree and index live in memory and are rebuilt on open: about 33 bytes
//!   per entry for the tree, plus posting lists and per-entry time and
//!   location (≈ 80 bytes per entry in all). A persistent tile store and
//!   index are the next step past a few hundred million entries.
//! * [`verify()`] is meant for a ledger at rest; run against a live one it may
//!   report the batch being written as a torn tail.
#![warn(missing_docs)]

pub mod alert;
mod bench;
pub mod checkpoint;
mod cipher;
mod error;
mod event;
pub mod export;
mod index;
mod ledger;
pub mod merkle;
pub mod proof;
pub mod segment;
pub mod verify;
mod witness;

pub use alert::{Alert, AlertEngine, AlertRule, AlertRules, AlertSink, LogSink, Threshold};
pub use bench::{BenchOptions, BenchReport, bench, bench_with, synthetic_event};
pub use checkpoint::{Checkpoint, CheckpointSigner, NoteVerifier, SignedCheckpoint};
pub use cipher::{CipherError, PayloadCipher};
pub use error::{Error, Location};
pub use event::{Actor, ActorKind, AiCall, Event, Outcome, Payload, Pseudonym, Record, Resource, Source, ToolCall};
pub use export::export_fhir;
pub use index::Query;
pub use ledger::{Config, DEFAULT_RETENTION, DurableWait, Ledger, Pending, Receipt};
pub use merkle::Hash;
pub use proof::{ConsistencyProof, InclusionProof};
pub use verify::{VerifyOptions, VerifyReport, verify, verify_with};
pub use witness::{FileWitness, Witness};
