//! Opening a data directory: rebuild tree and index, repair a crash tail.
//!
//! The only repair ever made is cutting bytes after the last commit record
//! of the last segment, and only when those bytes look like a torn write
//! (a record running past end of file, trailing zeroes, or complete entries
//! whose commit record never made it). Entries there were never
//! acknowledged. Anything else that does not parse, or a commit record
//! whose root does not match, is damage to acknowledged data: open refuses
//! and names the place, and nothing is cut.
//!
//! Open trusts the leaf hashes stored in the records (it checks them only
//! against the commit roots) so that it never rehashes the whole log;
//! recomputing every hash from the entry bytes is [`crate::verify()`]'s job.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::writer::{Tail, create_segment};
use super::{Config, Loc, Seg, State};
use crate::checkpoint::store::{self, Appender};
use crate::checkpoint::{CheckpointSigner, NoteVerifier, SignedCheckpoint};
use crate::error::Location;
use crate::event::Record;
use crate::index::{Keys, nanos};
use crate::merkle::{CompactRange, Hash};
use crate::segment::{self, Bad, HEADER_LEN, Rec};
use crate::{Error, verify};

pub(crate) struct Recovered {
    pub state: State,
    /// `None` when read-only.
    pub tail: Option<Tail>,
    pub last_ns: i64,
    /// `None` when read-only.
    pub checkpoints: Option<Appender>,
    pub last_checkpoint: Option<SignedCheckpoint>,
    pub dropped_bytes: Option<u64>,
}

/// Opens for writing with `signer`, or read-only without one (then no
/// file is created, cut or opened for writing).
pub(crate) fn open(config: &Config, signer: Option<&CheckpointSigner>) -> Result<Recovered, Error> {
    let dir = &config.dir;
    let read_only = signer.is_none();
    if !read_only {
        std::fs::create_dir_all(segment::segments_dir(dir)).map_err(|e| Error::io(dir, e))?;
    }
    let segments = segment::list(dir).map_err(|e| Error::io(dir, e))?;
    let verifier = match signer {
        Some(signer) => check_vkey(dir, signer, segments.is_empty())?,
        None => {
            let path = verify::vkey_path(dir);
            let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            NoteVerifier::parse(&text)?
        }
    };

    let mut state = State::default();
    let mut frontier = CompactRange::new();
    let mut last_ns = i64::MIN;
    let mut dropped_bytes = None;
    let count = segments.len();
    let mut tail = None;
    for (i, (base, path)) in segments.iter().enumerate() {
        let is_last = i + 1 == count;
        let buf = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let loc = |offset: u64, seq: Option<u64>| Location::Segment { file: path.clone(), offset, seq };
        if is_last && buf.len() < HEADER_LEN {
            // Crash while creating the segment: its header is synced before
            // any entry is written to it, so it holds none.
            if !read_only {
                std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
            }
            break;
        }
        let got = segment::parse_header(&buf).map_err(|why| Error::integrity(loc(0, None), why))?;
        if got != *base || got != frontier.size() {
            return Err(Error::integrity(
                loc(0, Some(frontier.size())),
                "segment does not start where the previous ended",
            ));
        }
        let seg_index = u32::try_from(state.segments.len()).map_err(|_| Error::Invalid("too many segments".into()))?;
        let mut pos = HEADER_LEN;
        let mut committed_end = HEADER_LEN;
        let mut pending: Vec<(Hash, u32, i64, Keys)> = Vec::new();
        let mut pending_frontier = frontier.clone();
        loop {
            match segment::parse(&buf, pos) {
                Ok(None) => break,
                Ok(Some((Rec::Entry { seq, leaf, bytes }, next))) => {
                    if seq != pending_frontier.size() {
                        return Err(Error::integrity(loc(pos as u64, Some(seq)), "entry out of sequence"));
                    }
                    let record = Record::decode(bytes)
                        .map_err(|_| Error::integrity(loc(pos as u64, Some(seq)), "entry does not decode"))?;
                    let off = u32::try_from(pos).map_err(|_| Error::Invalid("segment exceeds 4 GiB".into()))?;
                    pending_frontier.push(leaf);
                    pending.push((leaf, off, nanos(record.time), Keys::of(&record)));
                    pos = next;
                }
                Ok(Some((Rec::Commit { size, root }, next))) => {
                    if size != pending_frontier.size() || root != pending_frontier.root() {
                        return Err(Error::integrity(
                            loc(pos as u64, None),
                            "commit record does not match the entries before it",
                        ));
                    }
                    for (leaf, off, t, keys) in pending.drain(..) {
                        let seq = frontier.size();
                        frontier.push(leaf);
                        state.tree.push(leaf);
                        state.locs.push(Loc { seg: seg_index, off });
                        state.index.push(seq, t, keys);
                        last_ns = last_ns.max(t);
                    }
                    pos = next;
                    committed_end = pos;
                }
                Err(Bad::Truncated | Bad::Zeroes) if is_last => break,
                Err(Bad::Truncated | Bad::Zeroes) => {
                    return Err(Error::integrity(
                        loc(pos as u64, Some(pending_frontier.size())),
                        "record is truncated",
                    ));
                }
                Err(Bad::Garbage(why)) => return Err(Error::integrity(loc(pos as u64, None), why)),
            }
        }
        if committed_end < buf.len() {
            if !is_last {
                return Err(Error::integrity(
                    loc(committed_end as u64, Some(frontier.size())),
                    "entries after the last commit record of a closed segment",
                ));
            }
            if !read_only {
                let file = OpenOptions::new().write(true).open(path).map_err(|e| Error::io(path, e))?;
                file.set_len(committed_end as u64).map_err(|e| Error::io(path, e))?;
                file.sync_all().map_err(|e| Error::io(path, e))?;
                dropped_bytes = Some((buf.len() - committed_end) as u64);
            }
        }
        let reader = File::open(path).map_err(|e| Error::io(path, e))?;
        state.segments.push(Seg { path: path.clone(), file: Arc::new(reader) });
        if is_last && !read_only {
            let file = OpenOptions::new().append(true).open(path).map_err(|e| Error::io(path, e))?;
            tail = Some((file, path.clone(), seg_index, committed_end as u64));
        }
    }
    let tail = match tail {
        _ if read_only => None,
        Some((file, path, seg_index, len)) => Some(Tail { file, path, seg_index, len, frontier }),
        None => {
            let base = frontier.size();
            let (file, path) = create_segment(dir, base)?;
            let reader = File::open(&path).map_err(|e| Error::io(&path, e))?;
            state.segments.push(Seg { path: path.clone(), file: Arc::new(reader) });
            let seg_index =
                u32::try_from(state.segments.len() - 1).map_err(|_| Error::Invalid("too many segments".into()))?;
            Some(Tail { file, path, seg_index, len: HEADER_LEN as u64, frontier })
        }
    };

    let cp_path = store::log_path(dir);
    let (notes, valid_len) = store::read(&cp_path, false)?;
    let mut last_checkpoint = None;
    if let Some(last) = notes.last() {
        let cp = verifier.open(&last.note).map_err(|e| Error::integrity(last.location(&cp_path), e.to_string()))?;
        if state.tree.root_at(cp.size) != Some(cp.root) {
            return Err(Error::integrity(
                last.location(&cp_path),
                "latest checkpoint is not a prefix of the log: acknowledged entries are missing or altered",
            ));
        }
        last_checkpoint = Some(SignedCheckpoint { checkpoint: cp, note: last.note.clone() });
    }
    let checkpoints = if read_only { None } else { Some(Appender::open(&cp_path, valid_len)?) };
    Ok(Recovered { state, tail, last_ns, checkpoints, last_checkpoint, dropped_bytes })
}

/// Writes the log's verifier key on first open; afterwards insists the
/// signer is the same key, so history is never signed by two keys.
fn check_vkey(dir: &Path, signer: &CheckpointSigner, fresh: bool) -> Result<NoteVerifier, Error> {
    let path: PathBuf = verify::vkey_path(dir);
    let ours = signer.verifier();
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let stored = NoteVerifier::parse(&text)?;
            if stored != ours {
                return Err(Error::Key("the signing key is not this log's key (log.vkey differs)".into()));
            }
            Ok(stored)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && fresh => {
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, format!("{}\n", ours.to_vkey())).map_err(|e| Error::io(&tmp, e))?;
            File::open(&tmp).and_then(|f| f.sync_all()).map_err(|e| Error::io(&tmp, e))?;
            std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
            File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io(dir, e))?;
            Ok(ours)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(Error::integrity(Location::File(path), "verifier key is missing from a non-empty ledger"))
        }
        Err(e) => Err(Error::io(&path, e)),
    }
}
