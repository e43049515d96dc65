//! Errors of the audit crate.
//!
//! No variant carries PHI or key material: locations are file names, byte
//! offsets, sequence numbers and tree sizes; reasons are fixed strings.

use std::fmt;
use std::path::PathBuf;

/// Where in the data directory something is wrong, precise enough for an
/// investigator to open the file at that offset.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// A record (or header) inside a segment file.
    Segment {
        /// The segment file.
        file: PathBuf,
        /// Byte offset of the record within the file.
        offset: u64,
        /// Sequence number the record holds or should hold, when known.
        seq: Option<u64>,
    },
    /// A signed checkpoint in the checkpoint log.
    Checkpoint {
        /// The checkpoint log file.
        file: PathBuf,
        /// Byte offset of the checkpoint record.
        offset: u64,
        /// Position of the checkpoint in the log (0-based).
        index: u64,
    },
    /// A checkpoint handed in from outside (a witness copy).
    Witnessed {
        /// Position in the list the caller gave.
        index: usize,
    },
    /// A whole file (missing, unreadable, or the wrong kind).
    File(PathBuf),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Segment { file, offset, seq: Some(seq) } => {
                write!(f, "{} at byte {offset} (seq {seq})", file.display())
            }
            Self::Segment { file, offset, seq: None } => write!(f, "{} at byte {offset}", file.display()),
            Self::Checkpoint { file, offset, index } => {
                write!(f, "checkpoint #{index} in {} at byte {offset}", file.display())
            }
            Self::Witnessed { index } => write!(f, "witnessed checkpoint #{index}"),
            Self::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Everything that can go wrong writing, reading or verifying the ledger.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The ledger's files disagree with themselves or with a signed
    /// checkpoint: tampering, media corruption, or a truncated file.
    #[error("ledger integrity failure at {location}: {reason}")]
    Integrity {
        /// The first bad place found.
        location: Location,
        /// What is wrong (fixed text, never entry content).
        reason: String,
    },
    /// Reading or writing a ledger file failed.
    #[error("audit ledger I/O error on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Another process has the ledger open for appending. One writer per
    /// directory: two would interleave segments and sequence numbers.
    #[error("audit ledger {dir} is in use by another process (is phigate serve running?)")]
    InUse {
        /// The ledger directory.
        dir: PathBuf,
    },
    /// The payload cipher refused to seal or open.
    #[error("payload cipher failed: {0}")]
    Cipher(#[from] crate::CipherError),
    /// A subject's payload key was shredded (retention purge); by design the
    /// payload is gone while the entry and its proofs remain.
    #[error("payload of seq {seq} is unreadable: its subject's key was shredded")]
    Shredded {
        /// The entry whose payload is gone.
        seq: u64,
    },
    /// Input from the caller is not acceptable (bad pseudonym, bad range…).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// A checkpoint, verifier key or signing key could not be parsed or does
    /// not match the ledger.
    #[error("checkpoint or key error: {0}")]
    Key(String),
    /// No entry with this sequence number exists (yet).
    #[error("no entry with seq {seq}; the log holds {size} entries")]
    NoSuchEntry {
        /// The sequence number asked for.
        seq: u64,
        /// Current number of entries.
        size: u64,
    },
    /// The background writer stopped after an I/O failure; the ledger
    /// refuses further appends rather than acknowledge non-durable entries.
    #[error("audit writer has failed and accepts no more entries: {0}")]
    WriterFailed(String),
    /// The ledger directory already holds data where an empty one is required.
    #[error("{0} is not empty")]
    NotEmpty(PathBuf),
    /// A witness rejected or could not store a checkpoint.
    #[error("witness {witness} failed: {reason}")]
    Witness {
        /// Which witness (file path or endpoint name).
        witness: String,
        /// What went wrong.
        reason: String,
    },
    /// The ledger was opened read-only; appends, checkpoints and purges are refused.
    #[error("the audit ledger is open read-only")]
    ReadOnly,
    /// An entry could not be encoded or decoded.
    #[error("entry encoding error: {0}")]
    Encoding(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }

    pub(crate) fn integrity(location: Location, reason: impl Into<String>) -> Self {
        Self::Integrity { location, reason: reason.into() }
    }

    /// The first bad location, when this is an integrity failure.
    pub fn location(&self) -> Option<&Location> {
        match self {
            Self::Integrity { location, .. } => Some(location),
            _ => None,
        }
    }
}
