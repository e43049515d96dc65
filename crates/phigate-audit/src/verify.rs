//! Offline verification of a whole data directory (`phigate audit verify`).
//!
//! Trusts nothing stored: every leaf hash is recomputed from the entry
//! bytes, the tree is rebuilt from scratch, every commit record and every
//! checkpoint root is compared with the recomputed root at its size, and
//! every checkpoint signature is checked against the log key. Because each
//! checkpoint's root is compared with the root of the *same* recomputed
//! leaf sequence at its size, successive checkpoints are consistent exactly
//! when verification passes: that comparison is stronger than checking a
//! consistency proof, which would only relate the two checkpoints to each
//! other.
//!
//! The first failure is returned with its location (segment file and byte
//! offset and seq, or checkpoint index and offset). Leaf hashing, the bulk
//! of the work, runs on all cores; the tree itself is streamed through a
//! [`CompactRange`], so memory does not grow with the log.

use std::path::{Path, PathBuf};

use crate::checkpoint::store;
use crate::checkpoint::{Checkpoint, NoteVerifier};
use crate::error::Location;
use crate::merkle::{CompactRange, Hash};
use crate::segment;

mod scan;

use crate::{Error, FileWitness};
use scan::Scratch;

/// Path of the log's verifier key (`vkey` text) in a data directory.
pub(crate) fn vkey_path(dir: &Path) -> PathBuf {
    dir.join("log.vkey")
}

/// Knobs for [`verify_with`].
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Trusted log key. Without it the key stored in the directory is used,
    /// which proves integrity against everyone but whoever can replace that
    /// file: pass the key kept elsewhere for a forensic check.
    pub verifier: Option<NoteVerifier>,
    /// Checkpoint notes obtained from witnesses; each must match the log.
    pub witnessed: Vec<String>,
    /// Hashing threads (0: all available cores).
    pub threads: usize,
}

impl VerifyOptions {
    /// Adds every note stored by a [`FileWitness`] at `path`.
    pub fn with_witness_file(mut self, path: &Path) -> Result<Self, Error> {
        self.witnessed.extend(FileWitness::read_notes(path)?);
        Ok(self)
    }
}

/// What a successful verification covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries verified.
    pub entries: u64,
    /// Segment files read.
    pub segments: usize,
    /// Bytes of segment data read.
    pub bytes: u64,
    /// Signed checkpoints checked (local and witnessed).
    pub checkpoints: usize,
    /// Recomputed root of the whole log.
    pub root: Hash,
    /// The largest checkpoint that matched.
    pub latest_checkpoint: Option<Checkpoint>,
}

/// Verifies `dir` with the key stored in it.
pub fn verify(dir: &Path) -> Result<VerifyReport, Error> {
    verify_with(dir, &VerifyOptions::default())
}

struct Target {
    size: u64,
    root: Hash,
    location: Location,
}

/// Verifies `dir`; the error names the first bad location.
pub fn verify_with(dir: &Path, opts: &VerifyOptions) -> Result<VerifyReport, Error> {
    let vkey_file = vkey_path(dir);
    let stored = std::fs::read_to_string(&vkey_file)
        .map_err(|_| Error::integrity(Location::File(vkey_file.clone()), "verifier key is missing or unreadable"))
        .and_then(|t| {
            NoteVerifier::parse(&t).map_err(|e| Error::integrity(Location::File(vkey_file.clone()), e.to_string()))
        });
    let verifier = match (&opts.verifier, stored) {
        (Some(trusted), Ok(stored)) if *trusted != stored => {
            return Err(Error::integrity(Location::File(vkey_file), "stored verifier key is not the trusted log key"));
        }
        (Some(trusted), _) => trusted.clone(),
        (None, stored) => stored?,
    };

    let mut targets = Vec::new();
    let cp_path = store::log_path(dir);
    let (notes, _) = store::read(&cp_path, true)?;
    let mut prev_size = 0;
    let mut latest: Option<Checkpoint> = None;
    for n in &notes {
        let location = n.location(&cp_path);
        let cp = verifier.open(&n.note).map_err(|e| Error::integrity(location.clone(), e.to_string()))?;
        if cp.size < prev_size {
            return Err(Error::integrity(location, "checkpoint is smaller than the one before it"));
        }
        prev_size = cp.size;
        targets.push(Target { size: cp.size, root: cp.root, location });
        latest = Some(cp);
    }
    for (index, note) in opts.witnessed.iter().enumerate() {
        let location = Location::Witnessed { index };
        let cp = verifier.open(note).map_err(|e| Error::integrity(location.clone(), e.to_string()))?;
        targets.push(Target { size: cp.size, root: cp.root, location });
    }
    let checkpoints = targets.len();
    // Stable: among equal sizes the local log's order (and then witnesses) is kept.
    targets.sort_by_key(|t| t.size);
    let mut targets = targets.into_iter().peekable();
    let mut check = |frontier: &CompactRange| -> Result<(), Error> {
        while let Some(t) = targets.next_if(|t| t.size == frontier.size()) {
            if t.root != frontier.root() {
                return Err(Error::integrity(t.location, "signed root does not match the log at this size"));
            }
        }
        Ok(())
    };

    let threads = match opts.threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    };
    let segments = segment::list(dir).map_err(|e| Error::io(dir, e))?;
    let mut frontier = CompactRange::new();
    check(&frontier)?;
    let mut bytes_read = 0u64;
    let mut scratch = Scratch::default();
    for (base, path) in &segments {
        bytes_read += scan::segment(path, *base, &mut frontier, &mut check, threads, &mut scratch)?;
    }
    if let Some(t) = targets.next() {
        return Err(Error::integrity(
            t.location,
            format!("checkpoint covers {} entries but the log holds {} (entries removed)", t.size, frontier.size()),
        ));
    }
    Ok(VerifyReport {
        entries: frontier.size(),
        segments: segments.len(),
        bytes: bytes_read,
        checkpoints,
        root: frontier.root(),
        latest_checkpoint: latest,
    })
}
