//! Streaming one segment through verification.
//!
//! The file is read in large chunks into one reused buffer (no per-entry
//! allocation, no page faults on fresh memory), the records of each chunk
//! are parsed, their leaf hashes computed on all cores, and then walked in
//! order through the tree frontier. A record cut by the chunk boundary is
//! moved to the front and completed by the next read.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::Error;
use crate::error::Location;
use crate::merkle::{CompactRange, Hash, leaf_hash};
use crate::segment::{self, Bad, ENTRY_HEAD, HEADER_LEN, MAX_ENTRY_BYTES, Rec};

/// Read size; any record fits (entries are capped at 16 MiB).
const CHUNK: usize = 32 << 20;

/// A parsed record, by position in the chunk buffer (no borrow, so the
/// vector can be reused across chunks).
#[derive(Clone, Copy)]
enum Item {
    Entry { pos: usize, seq: u64, leaf: Hash, start: usize, end: usize },
    Commit { pos: usize, size: u64, root: Hash },
}

/// Buffers reused across segments.
#[derive(Default)]
pub(super) struct Scratch {
    buf: Vec<u8>,
    /// The next chunk is read into this one while `buf` is being hashed.
    next: Vec<u8>,
    items: Vec<Item>,
    hashes: Vec<Hash>,
}

/// Fills `buf` from `file` until full or end of file; returns bytes read.
fn fill(file: &mut File, buf: &mut [u8], path: &Path) -> Result<usize, Error> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    Ok(n)
}

/// Verifies one segment, extending `frontier`; returns bytes read.
pub(super) fn segment<F>(
    path: &Path,
    base: u64,
    frontier: &mut CompactRange,
    check: &mut F,
    threads: usize,
    s: &mut Scratch,
) -> Result<u64, Error>
where
    F: FnMut(&CompactRange) -> Result<(), Error>,
{
    const _: () = assert!(CHUNK > MAX_ENTRY_BYTES + ENTRY_HEAD);
    let loc = |offset: u64, seq: Option<u64>| Location::Segment { file: path.to_path_buf(), offset, seq };
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    // A small segment is read whole (one byte more than its length, so the
    // first read already sees end of file); a large one in chunks.
    let cap = usize::try_from(len).map_or(CHUNK, |l| l.saturating_add(1).min(CHUNK));
    if s.buf.len() < cap {
        s.buf.resize(cap, 0);
        s.next.resize(cap, 0);
    }
    let mut filled = fill(&mut file, &mut s.buf[..cap], path)?;
    let mut eof = filled < cap;
    let mut total = filled as u64;

    let got = segment::parse_header(&s.buf[..filled]).map_err(|why| Error::integrity(loc(0, None), why))?;
    if got != base {
        return Err(Error::integrity(loc(0, None), "segment header does not match its file name"));
    }
    if got != frontier.size() {
        return Err(Error::integrity(
            loc(0, Some(frontier.size())),
            "segment does not start where the previous ended (entries missing)",
        ));
    }

    // File offset of s.buf[0].
    let mut chunk_at = 0u64;
    let mut pos = HEADER_LEN;
    let mut uncommitted_from: Option<u64> = None;
    loop {
        s.items.clear();
        let mut stop: Option<Error> = None;
        loop {
            match segment::parse(&s.buf[..filled], pos) {
                Ok(None) => break,
                Ok(Some((Rec::Entry { seq, leaf, bytes }, next))) => {
                    let end = next;
                    s.items.push(Item::Entry { pos, seq, leaf, start: end - bytes.len(), end });
                    pos = next;
                }
                Ok(Some((Rec::Commit { size, root }, next))) => {
                    s.items.push(Item::Commit { pos, size, root });
                    pos = next;
                }
                Err(Bad::Truncated) if !eof => break,
                Err(bad) => {
                    let why = match bad {
                        Bad::Truncated => "record is truncated (segment cut short)",
                        Bad::Zeroes => "zero bytes where a record should be (segment damaged)",
                        Bad::Garbage(why) => why,
                    };
                    stop = Some(Error::integrity(loc(chunk_at + pos as u64, None), why));
                    break;
                }
            }
        }
        // Start the next chunk (the unparsed tail moved to its front) while
        // this one is hashed.
        let carry = filled - pos;
        let mut read_ahead = None;
        if !eof && stop.is_none() {
            s.next[..carry].copy_from_slice(&s.buf[pos..filled]);
        }
        std::thread::scope(|scope| {
            let reader = (!eof && stop.is_none()).then(|| {
                let next = &mut s.next[carry..cap];
                let file = &mut file;
                scope.spawn(move || fill(file, next, path))
            });
            hash_entries(&s.buf, &s.items, &mut s.hashes, threads);
            read_ahead = reader.map(|r| {
                r.join().unwrap_or_else(|_| Err(Error::io(path, std::io::Error::other("reader thread panicked"))))
            });
        });
        let mut h = s.hashes.iter();
        for item in &s.items {
            match *item {
                Item::Entry { pos, seq, leaf, .. } => {
                    let at = chunk_at + pos as u64;
                    if seq != frontier.size() {
                        let why = if seq > frontier.size() {
                            "entry missing before this one"
                        } else {
                            "entry out of order or duplicated"
                        };
                        return Err(Error::integrity(loc(at, Some(frontier.size())), why));
                    }
                    let computed = h.next().copied().unwrap_or_default();
                    if computed != leaf {
                        return Err(Error::integrity(
                            loc(at, Some(seq)),
                            "entry bytes do not match their leaf hash (entry altered)",
                        ));
                    }
                    uncommitted_from.get_or_insert(at);
                    frontier.push(computed);
                    check(frontier)?;
                }
                Item::Commit { pos, size, root } => {
                    if size != frontier.size() || root != frontier.root() {
                        return Err(Error::integrity(
                            loc(chunk_at + pos as u64, None),
                            "commit record does not match the recomputed tree",
                        ));
                    }
                    uncommitted_from = None;
                }
            }
        }
        if let Some(e) = stop {
            return Err(e);
        }
        if eof {
            break;
        }
        // Continue in the chunk read ahead, which starts with the partial record.
        let n = read_ahead.unwrap_or(Ok(0))?;
        std::mem::swap(&mut s.buf, &mut s.next);
        chunk_at += pos as u64;
        filled = carry + n;
        pos = 0;
        total += n as u64;
        eof = n == 0 || filled < cap;
    }
    if let Some(at) = uncommitted_from {
        return Err(Error::integrity(loc(at, None), "entries not covered by a commit record (torn or cut batch)"));
    }
    Ok(total)
}

/// Leaf hashes of every entry item, computed on `threads` threads.
fn hash_entries(buf: &[u8], items: &[Item], out: &mut Vec<Hash>, threads: usize) {
    out.clear();
    out.extend(items.iter().filter(|i| matches!(i, Item::Entry { .. })).map(|_| Hash::default()));
    let entries = items.iter().filter_map(|i| match *i {
        Item::Entry { start, end, .. } => Some(&buf[start..end]),
        Item::Commit { .. } => None,
    });
    let n = out.len();
    if n == 0 {
        return;
    }
    let chunk = n.div_ceil(threads.max(1));
    let mut slices: Vec<Vec<&[u8]>> = Vec::new();
    let mut it = entries;
    while slices.len() * chunk < n {
        slices.push(it.by_ref().take(chunk).collect());
    }
    std::thread::scope(|scope| {
        for (ins, outs) in slices.iter().zip(out.chunks_mut(chunk)) {
            scope.spawn(move || {
                for (e, o) in ins.iter().zip(outs.iter_mut()) {
                    *o = leaf_hash(e);
                }
            });
        }
    });
}
