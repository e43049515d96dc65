//! The local checkpoint log: every checkpoint the ledger signed, in order.
//!
//! Framing is `len:u32le ‖ note bytes` so that a note's own blank lines need
//! no escaping. The file is append-only like the segments; a torn last
//! record (crash mid-append) was never published and is dropped on open.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::Error;
use crate::error::Location;

/// Largest note accepted when reading (a checkpoint is ~200 bytes).
const MAX_NOTE: usize = 64 << 10;

/// Path of the checkpoint log inside the data directory.
pub(crate) fn log_path(dir: &Path) -> PathBuf {
    dir.join("checkpoints.log")
}

/// One stored note and where it sits.
#[derive(Debug, Clone)]
pub(crate) struct StoredNote {
    pub offset: u64,
    pub index: u64,
    pub note: String,
}

impl StoredNote {
    pub(crate) fn location(&self, file: &Path) -> Location {
        Location::Checkpoint { file: file.to_path_buf(), offset: self.offset, index: self.index }
    }
}

/// Reads every note. Returns the notes and the byte length of the valid
/// prefix; a torn tail is reported as `Err` with its location when `strict`.
pub(crate) fn read(path: &Path, strict: bool) -> Result<(Vec<StoredNote>, u64), Error> {
    let buf = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(Error::io(path, e)),
    };
    let mut notes = Vec::new();
    let mut pos = 0usize;
    while pos < buf.len() {
        let loc = Location::Checkpoint { file: path.to_path_buf(), offset: pos as u64, index: notes.len() as u64 };
        let Some(len_bytes) = buf.get(pos..pos + 4) else {
            if strict {
                return Err(Error::integrity(loc, "checkpoint record is truncated"));
            }
            break;
        };
        let len = u32::from_le_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]) as usize;
        if len > MAX_NOTE {
            return Err(Error::integrity(loc, "checkpoint record length is implausible"));
        }
        let Some(body) = buf.get(pos + 4..pos + 4 + len) else {
            if strict {
                return Err(Error::integrity(loc, "checkpoint record is truncated"));
            }
            break;
        };
        let note = String::from_utf8(body.to_vec()).map_err(|_| Error::integrity(loc, "checkpoint is not UTF-8"))?;
        notes.push(StoredNote { offset: pos as u64, index: notes.len() as u64, note });
        pos += 4 + len;
    }
    Ok((notes, pos as u64))
}

/// Appender for the checkpoint log.
#[derive(Debug)]
pub(crate) struct Appender {
    path: PathBuf,
    file: File,
}

impl Appender {
    /// Opens for append, first cutting a torn tail back to `valid_len`.
    pub(crate) fn open(path: &Path, valid_len: u64) -> Result<Self, Error> {
        let file = OpenOptions::new().create(true).append(true).open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if len > valid_len {
            file.set_len(valid_len).map_err(|e| Error::io(path, e))?;
            file.sync_all().map_err(|e| Error::io(path, e))?;
        }
        Ok(Self { path: path.to_path_buf(), file })
    }

    /// Appends one note durably.
    pub(crate) fn append(&mut self, note: &str) -> Result<(), Error> {
        let len = u32::try_from(note.len()).map_err(|_| Error::Invalid("checkpoint note too long".into()))?;
        let mut buf = Vec::with_capacity(4 + note.len());
        buf.extend_from_slice(&len.to_le_bytes());
        buf.extend_from_slice(note.as_bytes());
        self.file.write_all(&buf).map_err(|e| Error::io(&self.path, e))?;
        self.file.sync_data().map_err(|e| Error::io(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_tail_is_cut_when_lenient_and_reported_when_strict() {
        let dir = tempfile::tempdir().unwrap();
        let p = log_path(dir.path());
        let mut a = Appender::open(&p, 0).unwrap();
        a.append("one\n\n— x y\n").unwrap();
        a.append("two\n").unwrap();
        drop(a);
        let full = std::fs::read(&p).unwrap();
        std::fs::write(&p, &full[..full.len() - 2]).unwrap();
        assert!(read(&p, true).is_err());
        let (notes, valid) = read(&p, false).unwrap();
        assert_eq!(notes.len(), 1);
        let mut a = Appender::open(&p, valid).unwrap();
        a.append("three\n").unwrap();
        let (notes, _) = read(&p, true).unwrap();
        assert_eq!(notes.iter().map(|n| n.note.as_str()).collect::<Vec<_>>(), vec!["one\n\n— x y\n", "three\n"]);
    }
}
