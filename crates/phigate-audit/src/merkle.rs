//! The RFC 9162 Merkle tree over ledger entries.
//!
//! Leaf `i` is entry `seq = i`; `leaf = SHA-256(0x00 ‖ entry)`,
//! `node = SHA-256(0x01 ‖ left ‖ right)`, and a tree of `n` leaves splits at
//! the largest power of two below `n` (RFC 9162 §2.1.1). Two shapes are
//! provided:
//!
//! * [`CompactRange`]: the `O(log n)` frontier of perfect subtrees, enough to
//!   compute the root of every prefix while streaming; what verification uses
//!   so it never holds the tree in memory.
//! * [`Tree`]: leaf hashes plus every perfect subtree of height ≥ 6, so that
//!   proofs for any size up to the current one are answered from memory in
//!   microseconds. Subtrees lower than 64 leaves are recomputed on demand:
//!   that costs at most 63 hashes per proof and saves half the memory
//!   (≈ 33 bytes per entry instead of 64).

use std::fmt;

use sha2::{Digest, Sha256};

/// A SHA-256 tree hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// Lower-case hex, for logs and reports.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

/// RFC 9162 leaf hash of one entry.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(entry);
    Hash(h.finalize().into())
}

/// RFC 9162 interior node hash.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut buf = [0u8; 65];
    buf[0] = 0x01;
    buf[1..33].copy_from_slice(&left.0);
    buf[33..].copy_from_slice(&right.0);
    Hash(Sha256::digest(buf).into())
}

/// Root of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    Hash(Sha256::digest([]).into())
}

/// Largest power of two strictly less than `n` (`n ≥ 2`).
pub(crate) fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The frontier of a tree being built left to right.
#[derive(Clone, Debug, Default)]
pub struct CompactRange {
    size: u64,
    /// Perfect subtree roots, tallest first; heights are the set bits of `size`.
    stack: Vec<(u32, Hash)>,
}

impl CompactRange {
    /// An empty range.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves added.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Adds the next leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut cur = (0u32, leaf);
        while let Some(&(h, ref top)) = self.stack.last() {
            if h != cur.0 {
                break;
            }
            let merged = node_hash(top, &cur.1);
            self.stack.pop();
            cur = (h + 1, merged);
        }
        self.stack.push(cur);
        self.size += 1;
    }

    /// Root of the leaves added so far.
    pub fn root(&self) -> Hash {
        let mut iter = self.stack.iter().rev();
        let Some(&(_, last)) = iter.next() else {
            return empty_root();
        };
        iter.fold(last, |acc, (_, left)| node_hash(left, &acc))
    }
}

/// Heights below this are not stored but recomputed from leaves.
const CACHE_FROM: u32 = 6;
const BLOCK: usize = 1 << CACHE_FROM;

/// The whole tree, for proofs at any past size.
#[derive(Clone, Debug, Default)]
pub struct Tree {
    leaves: Vec<Hash>,
    /// `upper[h - CACHE_FROM][j]` = root of leaves `[j·2^h, (j+1)·2^h)`.
    upper: Vec<Vec<Hash>>,
}

impl Tree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.leaves.len() as u64
    }

    /// Leaf hash at `index`.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        self.leaves.get(usize::try_from(index).ok()?).copied()
    }

    /// Reserves room for `additional` more leaves.
    pub fn reserve(&mut self, additional: usize) {
        self.leaves.reserve(additional);
    }

    /// Appends a leaf hash, completing any perfect subtrees it closes.
    pub fn push(&mut self, leaf: Hash) {
        self.leaves.push(leaf);
        let n = self.leaves.len();
        if !n.is_multiple_of(BLOCK) {
            return;
        }
        let block = self.reduce_leaves(n - BLOCK, BLOCK);
        self.store(CACHE_FROM, block);
        let mut h = CACHE_FROM;
        // Closing a subtree of height h may close one of height h + 1.
        while n.is_multiple_of(1usize << (h + 1)) {
            let level = &self.upper[(h - CACHE_FROM) as usize];
            let len = level.len();
            let merged = node_hash(&level[len - 2], &level[len - 1]);
            h += 1;
            self.store(h, merged);
        }
    }

    fn store(&mut self, h: u32, hash: Hash) {
        let idx = (h - CACHE_FROM) as usize;
        if self.upper.len() <= idx {
            self.upper.resize_with(idx + 1, Vec::new);
        }
        self.upper[idx].push(hash);
    }

    /// Root of `count` (a power of two ≤ 64) leaves from `start`.
    fn reduce_leaves(&self, start: usize, count: usize) -> Hash {
        let mut buf = [Hash::default(); BLOCK];
        buf[..count].copy_from_slice(&self.leaves[start..start + count]);
        let mut len = count;
        while len > 1 {
            for i in 0..len / 2 {
                buf[i] = node_hash(&buf[2 * i], &buf[2 * i + 1]);
            }
            len /= 2;
        }
        buf[0]
    }

    /// Root of the perfect subtree of height `h` at position `j`.
    fn perfect(&self, h: u32, j: u64) -> Hash {
        if h >= CACHE_FROM {
            return self.upper[(h - CACHE_FROM) as usize][j as usize];
        }
        let count = 1usize << h;
        self.reduce_leaves(j as usize * count, count)
    }

    /// MTH(D[a:b]) for a range that arises in RFC 9162 recursion (aligned).
    fn range_root(&self, a: u64, b: u64) -> Hash {
        let n = b - a;
        if n.is_power_of_two() {
            let h = n.trailing_zeros();
            return self.perfect(h, a >> h);
        }
        let k = split_point(n);
        node_hash(&self.range_root(a, a + k), &self.range_root(a + k, b))
    }

    /// Root of the first `size` leaves, or `None` if the tree is smaller.
    pub fn root_at(&self, size: u64) -> Option<Hash> {
        match size {
            0 => Some(empty_root()),
            s if s > self.size() => None,
            s => Some(self.range_root(0, s)),
        }
    }

    /// Root of the whole tree.
    pub fn root(&self) -> Hash {
        self.root_at(self.size()).unwrap_or_else(empty_root)
    }

    /// RFC 9162 §2.1.3.1 audit path for leaf `index` in the tree of `size`
    /// leaves, ordered from the leaf upward.
    pub fn inclusion_path(&self, index: u64, size: u64) -> Option<Vec<Hash>> {
        if index >= size || size > self.size() {
            return None;
        }
        let mut path = Vec::with_capacity(64);
        self.path(index, 0, size, &mut path);
        Some(path)
    }

    fn path(&self, m: u64, a: u64, b: u64, out: &mut Vec<Hash>) {
        let n = b - a;
        if n <= 1 {
            return;
        }
        let k = split_point(n);
        if m < k {
            self.path(m, a, a + k, out);
            out.push(self.range_root(a + k, b));
        } else {
            self.path(m - k, a + k, b, out);
            out.push(self.range_root(a, a + k));
        }
    }

    /// RFC 9162 §2.1.4.1 consistency proof between the trees of `old` and
    /// `new` leaves.
    pub fn consistency_path(&self, old: u64, new: u64) -> Option<Vec<Hash>> {
        if old > new || new > self.size() {
            return None;
        }
        let mut out = Vec::new();
        if old == 0 || old == new {
            return Some(out);
        }
        self.subproof(old, 0, new, true, &mut out);
        Some(out)
    }

    fn subproof(&self, m: u64, a: u64, b: u64, whole: bool, out: &mut Vec<Hash>) {
        let n = b - a;
        if m == n {
            if !whole {
                out.push(self.range_root(a, b));
            }
            return;
        }
        let k = split_point(n);
        if m <= k {
            self.subproof(m, a, a + k, whole, out);
            out.push(self.range_root(a + k, b));
        } else {
            self.subproof(m - k, a + k, b, false, out);
            out.push(self.range_root(a, a + k));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&naive_root(&leaves[..k]), &naive_root(&leaves[k..]))
            }
        }
    }

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect()
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(empty_root().to_hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn compact_range_and_tree_match_naive_roots_at_every_size() {
        let all = leaves(300);
        let mut cr = CompactRange::new();
        let mut tree = Tree::new();
        for (i, l) in all.iter().enumerate() {
            cr.push(*l);
            tree.push(*l);
            let expect = naive_root(&all[..=i]);
            assert_eq!(cr.root(), expect, "compact range at {}", i + 1);
            assert_eq!(tree.root(), expect, "tree at {}", i + 1);
        }
        for s in 0..=300u64 {
            assert_eq!(tree.root_at(s), Some(naive_root(&all[..s as usize])));
        }
    }

    #[test]
    fn paths_have_logarithmic_length() {
        let mut tree = Tree::new();
        for l in leaves(1000) {
            tree.push(l);
        }
        assert_eq!(tree.inclusion_path(0, 1).unwrap().len(), 0);
        assert_eq!(tree.inclusion_path(5, 1000).unwrap().len(), 10);
        assert!(tree.inclusion_path(1000, 1000).is_none());
        assert!(tree.consistency_path(3, 1001).is_none());
        assert!(tree.consistency_path(4, 8).unwrap().len() == 1);
    }
}
