//! Store errors. Messages name ids and paths, never record contents.

use std::path::PathBuf;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No record or subject with this id.
    #[error("{kind} {id} not found")]
    NotFound {
        /// `record` or `subject`.
        kind: &'static str,
        /// The id that was asked for.
        id: String,
    },
    /// The subject was crypto-shredded: its data is gone by design.
    #[error("subject {0} has been shredded; its records are unrecoverable")]
    Shredded(String),
    /// An id did not have the expected form.
    #[error("invalid id {0:?}")]
    InvalidId(String),
    /// Sealing, opening or key management failed (including a revoked KEK: reads fail closed).
    #[error(transparent)]
    Key(#[from] phigate_keys::Error),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// PostgreSQL failed or refused (message from the driver: SQL state and
    /// text, never parameter values).
    #[error("PostgreSQL error: {0}")]
    Postgres(String),
    /// The database was written by a newer phigate.
    #[error("database schema version {found} is newer than this phigate supports ({supported}); upgrade phigate")]
    SchemaTooNew {
        /// Version in the file.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// A file operation failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A backup archive could not be used; the reason says whether it is
    /// tampered, truncated, not a phigate backup, or sealed under other keys.
    #[error("backup {path}: {reason}")]
    Backup {
        /// The archive.
        path: PathBuf,
        /// What is wrong and what to do.
        reason: String,
    },
    /// An internal invariant failed (a bug).
    #[error("internal error: {0}")]
    Internal(&'static str),
}
