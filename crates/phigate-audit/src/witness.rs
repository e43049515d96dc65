//! Publishing checkpoints outside the operator's reach.
//!
//! An insider with root on the ledger host can rewrite history and re-sign
//! it with the log key. What they cannot do is take back a checkpoint that
//! already left the host: comparing a witness copy with the log
//! ([`crate::verify::VerifyOptions::witnessed`]) exposes any fork or
//! rollback. The server provides an HTTP witness; this crate ships the file
//! witness (for a WORM mount, a separate volume, or a log shipper).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::Error;
use crate::checkpoint::SignedCheckpoint;

/// Somewhere a signed checkpoint is sent for safekeeping.
pub trait Witness: Send + Sync {
    /// A short name for errors and logs (a path or endpoint name, no secrets).
    fn name(&self) -> String;
    /// Stores or forwards the checkpoint; returns only once it is accepted.
    fn publish(&self, checkpoint: &SignedCheckpoint) -> Result<(), Error>;
}

/// Appends each checkpoint note to a file, fsynced, separated by a blank line.
#[derive(Debug, Clone)]
pub struct FileWitness {
    path: PathBuf,
}

impl FileWitness {
    /// A witness writing to `path` (created if absent).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Reads back the notes stored in a witness file.
    pub fn read_notes(path: &Path) -> Result<Vec<String>, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Ok(split_notes(&text))
    }
}

/// Notes are separated by a line holding only `~`; a note never contains one.
const SEPARATOR: &str = "~\n";

fn split_notes(text: &str) -> Vec<String> {
    text.split(SEPARATOR).filter(|n| !n.trim().is_empty()).map(str::to_owned).collect()
}

impl Witness for FileWitness {
    fn name(&self) -> String {
        self.path.display().to_string()
    }

    fn publish(&self, checkpoint: &SignedCheckpoint) -> Result<(), Error> {
        let mut f =
            OpenOptions::new().create(true).append(true).open(&self.path).map_err(|e| Error::io(&self.path, e))?;
        let mut buf = checkpoint.note.clone();
        buf.push_str(SEPARATOR);
        f.write_all(buf.as_bytes()).map_err(|e| Error::io(&self.path, e))?;
        f.sync_data().map_err(|e| Error::io(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::CheckpointSigner;
    use crate::merkle::empty_root;

    #[test]
    fn file_witness_round_trips_notes() {
        let dir = tempfile::tempdir().unwrap();
        let w = FileWitness::new(dir.path().join("w.txt"));
        let s = CheckpointSigner::from_seed("t/log", &[3; 32]).unwrap();
        let a = s.sign(0, empty_root());
        let b = s.sign(1, empty_root());
        w.publish(&a).unwrap();
        w.publish(&b).unwrap();
        assert_eq!(FileWitness::read_notes(&dir.path().join("w.txt")).unwrap(), vec![a.note, b.note]);
    }
}
