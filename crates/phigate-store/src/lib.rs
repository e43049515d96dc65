//! The encrypted record store.
//!
//! Every record body is sealed under its subject's data key before it
//! reaches the database; equality lookups on PHI (MRN, name) go through a
//! keyed blind index, so the database file, its WAL and its backups hold no
//! identifier in clear. Destroying a subject's data key (crypto-shredding)
//! makes exactly that subject's records unrecoverable.
//!
//! The [`Store`] trait is what the rest of phigate uses; [`SqliteStore`] is
//! the embedded default. A PostgreSQL implementation must pass the same
//! suite (`tests/store_suite.rs`).
//!
//! Both stores also implement [`phigate_identity::IdentityRepository`]
//! (staff accounts, lockout counters, sessions, service keys), so an
//! `Arc<SqliteStore>` or `Arc<PgStore>` is what the identity crate is handed;
//! see `tests/identity_repo.rs` for that suite.
//!
//! Invariant: record kinds and lookup field names are schema names chosen by
//! code (`"patient"`, `"mrn"`), never data; they are the only strings of the
//! record tables stored in clear besides random ids and timestamps. The
//! identity tables describe staff, not patients: names and roles are in
//! clear there, every credential only hashed or sealed.
#![warn(missing_docs)]

pub mod backup;
mod error;
mod identity;
mod migrations;
mod normalize;
mod postgres;
mod sealing;
mod sqlite;

use std::fmt;

use std::sync::Arc;

use phigate_keys::{DataKey, KekVersion};
use phigate_phi::Phi;

pub use error::Error;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// A subject (patient): the unit of encryption and of shredding. A random id, not PHI.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubjectId(String);

impl SubjectId {
    /// Parses a subject id as printed by [`SubjectId::as_str`].
    pub fn parse(text: &str) -> Result<Self, Error> {
        let ok = text.len() == 34 && text.starts_with("s_") && text[2..].bytes().all(|b| b.is_ascii_hexdigit());
        if ok { Ok(Self(text.to_string())) } else { Err(Error::InvalidId(text.chars().take(40).collect())) }
    }

    fn random() -> Self {
        let bytes: [u8; 16] = rand::random();
        Self(format!("s_{}", hex::encode(bytes)))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SubjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SubjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SubjectId({})", self.0)
    }
}

/// A record's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(pub i64);

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An equality-lookup term attached to a record: `field` is a schema name,
/// `value` is PHI and is stored only as a keyed hash.
#[derive(Debug)]
pub struct Lookup<'a> {
    /// Field name, e.g. `"mrn"`.
    pub field: &'a str,
    /// The value to match later.
    pub value: &'a Phi<String>,
}

/// A record to insert.
#[derive(Debug)]
pub struct NewRecord<'a> {
    /// Whose record it is.
    pub subject: &'a SubjectId,
    /// Schema name of the record kind, e.g. `"patient"`.
    pub kind: &'a str,
    /// The body (PHI), sealed before storage.
    pub body: &'a Phi<Vec<u8>>,
    /// Lookup terms.
    pub lookups: &'a [Lookup<'a>],
}

/// A record read back and opened.
#[derive(Debug)]
pub struct Record {
    /// Its id.
    pub id: RecordId,
    /// Whose record it is.
    pub subject: SubjectId,
    /// Its kind.
    pub kind: String,
    /// The opened body.
    pub body: Phi<Vec<u8>>,
}

/// What a key re-wrap did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RewrapReport {
    /// Data keys re-wrapped under the current KEK version.
    pub rewrapped: u64,
    /// Data keys already under the current version.
    pub already_current: u64,
    /// Shredded data keys (nothing to re-wrap).
    pub shredded: u64,
}

/// Counts of data keys per KEK version (to check before disabling a version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUsage {
    /// The KEK version.
    pub kek_version: KekVersion,
    /// How many live data keys it wraps.
    pub data_keys: u64,
}

/// The record store used by the rest of phigate.
pub trait Store: Send + Sync {
    /// Creates a subject with its own data key.
    fn create_subject(&self) -> Result<SubjectId, Error>;
    /// Inserts records in one transaction; returns their ids in order.
    fn put_batch(&self, records: &[NewRecord<'_>]) -> Result<Vec<RecordId>, Error>;
    /// Inserts one record.
    fn put(&self, record: &NewRecord<'_>) -> Result<RecordId, Error> {
        let ids = self.put_batch(std::slice::from_ref(record))?;
        ids.into_iter().next().ok_or(Error::Internal("insert returned no id"))
    }
    /// Reads and opens one record. A shredded subject gives [`Error::Shredded`].
    fn get(&self, id: RecordId) -> Result<Record, Error>;
    /// Ids of the `kind` records whose `field` equals `value` (after normalization).
    fn find(&self, kind: &str, field: &str, value: &Phi<String>) -> Result<Vec<RecordId>, Error>;
    /// Ids of every record of a subject.
    fn records_of(&self, subject: &SubjectId) -> Result<Vec<RecordId>, Error>;
    /// Destroys the subject's data key: its records become unrecoverable.
    fn shred_subject(&self, subject: &SubjectId) -> Result<(), Error>;
    /// Re-wraps every live data key under the current KEK version.
    fn rewrap_keys(&self) -> Result<RewrapReport, Error>;
    /// Live data keys per KEK version.
    fn key_usage(&self) -> Result<Vec<KeyUsage>, Error>;
    /// The data key called `name` for `purpose` (e.g. purpose `audit-subject`,
    /// name a subject pseudonym), created on first use; returns its id (to
    /// bind into associated data) and the key. Names are pseudonyms or fixed
    /// labels, never PHI: they are stored in clear. Re-wrapped by
    /// [`Store::rewrap_keys`] like every data key.
    fn named_key(&self, purpose: &str, name: &str) -> Result<(u64, Arc<DataKey>), Error>;
    /// Destroys a named key (crypto-shredding). Idempotent; a name never
    /// seen is recorded as shredded, so it can never be created afresh.
    fn shred_named_key(&self, purpose: &str, name: &str) -> Result<(), Error>;
    /// Cheap readiness check: the database answers and the key provider has a current KEK.
    fn ping(&self) -> Result<(), Error>;
}
