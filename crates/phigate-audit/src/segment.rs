//! Segment files: the only place entries are stored.
//!
//! ```text
//! segment  = header record*
//! header   = "PGAUDIT1" base_seq:u64le                       (16 bytes)
//! entry    = 0xE1 len:u32le seq:u64le leaf:[32] bytes[len]  (45 + len)
//! commit   = 0xC1 size:u64le root:[32]                       (41 bytes)
//! ```
//!
//! Every group-commit batch is a run of entries followed by one commit
//! record carrying the tree size and root after that batch, written with a
//! single `write` and made durable with a single `fdatasync`. An entry is
//! acknowledged only after its batch's commit record is durable, so on
//! recovery anything after the last valid commit record was never
//! acknowledged and may be dropped; anything before it may not.
//!
//! The stored leaf hash lets verification name the exact entry whose bytes
//! changed; the commit record's root lets it catch changes after the last
//! signed checkpoint. Neither is trusted: verification recomputes both.

use std::path::{Path, PathBuf};

use crate::merkle::Hash;

/// File magic, also the format version.
pub(crate) const MAGIC: &[u8; 8] = b"PGAUDIT1";
/// Size of the segment header.
pub(crate) const HEADER_LEN: usize = 16;
/// Tag of an entry record.
pub(crate) const TAG_ENTRY: u8 = 0xE1;
/// Tag of a commit record.
pub(crate) const TAG_COMMIT: u8 = 0xC1;
/// Fixed part of an entry record.
pub(crate) const ENTRY_HEAD: usize = 1 + 4 + 8 + 32;
/// Size of a commit record.
pub(crate) const COMMIT_LEN: usize = 1 + 8 + 32;
/// Largest entry accepted: large prompts fit, a runaway payload does not.
pub const MAX_ENTRY_BYTES: usize = 16 << 20;

/// Directory of segment files inside the data directory.
pub(crate) fn segments_dir(dir: &Path) -> PathBuf {
    dir.join("segments")
}

/// Path of the segment whose first entry is `base`.
pub(crate) fn segment_path(dir: &Path, base: u64) -> PathBuf {
    segments_dir(dir).join(format!("seg-{base:020}.log"))
}

/// Segment files in base order. Names that are not segments are ignored.
pub(crate) fn list(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    let seg_dir = segments_dir(dir);
    if !seg_dir.exists() {
        return Ok(out);
    }
    for entry in std::fs::read_dir(&seg_dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(num) = name.strip_prefix("seg-").and_then(|n| n.strip_suffix(".log")) else {
            continue;
        };
        if num.len() == 20
            && let Ok(base) = num.parse::<u64>()
        {
            out.push((base, entry.path()));
        }
    }
    out.sort_by_key(|(base, _)| *base);
    Ok(out)
}

/// The header of a segment starting at `base`.
pub(crate) fn header(base: u64) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(MAGIC);
    h[8..].copy_from_slice(&base.to_le_bytes());
    h
}

/// Parses a segment header, returning its base seq.
pub(crate) fn parse_header(buf: &[u8]) -> Result<u64, &'static str> {
    if buf.len() < HEADER_LEN {
        return Err("segment header is truncated");
    }
    if &buf[..8] != MAGIC {
        return Err("segment header magic is wrong");
    }
    Ok(read_u64(&buf[8..16]))
}

/// Appends an entry record head with a zero leaf placeholder; returns the
/// offset of the leaf slot so the caller can fill it once the entry bytes
/// that follow have been hashed in place.
pub(crate) fn push_entry_head(buf: &mut Vec<u8>, seq: u64, len: u32) -> usize {
    buf.push(TAG_ENTRY);
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(&seq.to_le_bytes());
    let slot = buf.len();
    buf.extend_from_slice(&[0u8; 32]);
    slot
}

/// Appends a commit record.
pub(crate) fn push_commit(buf: &mut Vec<u8>, size: u64, root: &Hash) {
    buf.push(TAG_COMMIT);
    buf.extend_from_slice(&size.to_le_bytes());
    buf.extend_from_slice(&root.0);
}

/// One parsed record, borrowing from the segment buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rec<'a> {
    /// An entry.
    Entry {
        /// Sequence number it claims.
        seq: u64,
        /// Leaf hash it claims.
        leaf: Hash,
        /// The entry bytes.
        bytes: &'a [u8],
    },
    /// A batch commit.
    Commit {
        /// Tree size it claims.
        size: u64,
        /// Root it claims.
        root: Hash,
    },
}

/// Why a record could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bad {
    /// The record runs past the end of the file (torn write or truncation).
    Truncated,
    /// The rest of the file is zero bytes (file extended, data never written).
    Zeroes,
    /// Not a record at all.
    Garbage(&'static str),
}

/// Parses the record at `pos`. `Ok(None)` at a clean end of file.
pub(crate) fn parse(buf: &[u8], pos: usize) -> Result<Option<(Rec<'_>, usize)>, Bad> {
    let Some(rest) = buf.get(pos..) else {
        return Err(Bad::Truncated);
    };
    let Some(&tag) = rest.first() else {
        return Ok(None);
    };
    match tag {
        TAG_ENTRY => {
            if rest.len() < ENTRY_HEAD {
                return Err(Bad::Truncated);
            }
            let len = u32::from_le_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
            if len > MAX_ENTRY_BYTES {
                return Err(Bad::Garbage("entry length is implausible"));
            }
            let seq = read_u64(&rest[5..13]);
            let mut leaf = [0u8; 32];
            leaf.copy_from_slice(&rest[13..45]);
            let end = ENTRY_HEAD + len;
            if rest.len() < end {
                return Err(Bad::Truncated);
            }
            Ok(Some((Rec::Entry { seq, leaf: Hash(leaf), bytes: &rest[ENTRY_HEAD..end] }, pos + end)))
        }
        TAG_COMMIT => {
            if rest.len() < COMMIT_LEN {
                return Err(Bad::Truncated);
            }
            let size = read_u64(&rest[1..9]);
            let mut root = [0u8; 32];
            root.copy_from_slice(&rest[9..41]);
            Ok(Some((Rec::Commit { size, root: Hash(root) }, pos + COMMIT_LEN)))
        }
        0 if rest.iter().all(|&b| b == 0) => Err(Bad::Zeroes),
        _ => Err(Bad::Garbage("unknown record tag")),
    }
}

fn read_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::leaf_hash;

    #[test]
    fn records_round_trip_and_truncation_is_detected() {
        let mut buf = header(5).to_vec();
        let slot = push_entry_head(&mut buf, 5, 3);
        buf.extend_from_slice(b"abc");
        let leaf = leaf_hash(b"abc");
        buf[slot..slot + 32].copy_from_slice(&leaf.0);
        push_commit(&mut buf, 6, &leaf);
        assert_eq!(parse_header(&buf), Ok(5));
        let (r, next) = parse(&buf, HEADER_LEN).unwrap().unwrap();
        assert_eq!(r, Rec::Entry { seq: 5, leaf, bytes: b"abc" });
        let (c, end) = parse(&buf, next).unwrap().unwrap();
        assert_eq!(c, Rec::Commit { size: 6, root: leaf });
        assert_eq!(parse(&buf, end), Ok(None));
        for cut in HEADER_LEN + 1..buf.len() {
            if cut == next {
                continue;
            }
            let r = parse(&buf[..cut], if cut < next { HEADER_LEN } else { next });
            assert_eq!(r, Err(Bad::Truncated), "cut at {cut}");
        }
        let mut zeros = buf.clone();
        zeros.extend_from_slice(&[0u8; 100]);
        assert_eq!(parse(&zeros, end), Err(Bad::Zeroes));
        zeros[end + 50] = 7;
        assert!(matches!(parse(&zeros, end), Err(Bad::Garbage(_))));
    }

    proptest::proptest! {
        #[test]
        fn parsing_arbitrary_bytes_never_panics(buf in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512), pos in 0usize..600) {
            let _ = parse_header(&buf);
            let mut p = pos;
            // Walk as far as the bytes parse; must end in Ok(None) or an error.
            for _ in 0..600 {
                match parse(&buf, p) {
                    Ok(Some((_, next))) => {
                        proptest::prop_assert!(next > p && next <= buf.len());
                        p = next;
                    }
                    Ok(None) | Err(_) => break,
                }
            }
        }
    }

    #[test]
    fn list_orders_by_base_and_ignores_strangers() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(segments_dir(dir.path())).unwrap();
        for b in [100u64, 0, 7] {
            std::fs::write(segment_path(dir.path(), b), header(b)).unwrap();
        }
        std::fs::write(segments_dir(dir.path()).join("notes.txt"), b"x").unwrap();
        let bases: Vec<u64> = list(dir.path()).unwrap().into_iter().map(|(b, _)| b).collect();
        assert_eq!(bases, vec![0, 7, 100]);
    }
}
