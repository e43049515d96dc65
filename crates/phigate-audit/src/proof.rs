//! Inclusion and consistency proofs, and their RFC 9162 verification.
//!
//! Proofs are handed to people outside the ledger (an auditor, a court, a
//! witness), so they carry everything needed to check them against a signed
//! checkpoint: the leaf index, the tree size, and the path.

use serde::{Deserialize, Serialize};

use crate::merkle::{Hash, node_hash};

/// Proof that entry `index` is leaf `index` of the tree of `size` leaves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// Leaf index (= entry seq).
    pub index: u64,
    /// Tree size the proof is for.
    pub size: u64,
    /// Sibling hashes from the leaf upward (hex in JSON).
    #[serde(with = "hex_hashes")]
    pub path: Vec<Hash>,
}

/// Proof that the tree of `old` leaves is a prefix of the tree of `new`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// The earlier size.
    pub old: u64,
    /// The later size.
    pub new: u64,
    /// Proof hashes (hex in JSON).
    #[serde(with = "hex_hashes")]
    pub path: Vec<Hash>,
}

impl InclusionProof {
    /// RFC 9162 §2.1.3.2: does `leaf` at `index` lead to `root`?
    pub fn verify(&self, leaf: &Hash, root: &Hash) -> bool {
        if self.index >= self.size {
            return false;
        }
        let (mut fnode, mut snode) = (self.index, self.size - 1);
        let mut r = *leaf;
        for p in &self.path {
            if snode == 0 {
                return false;
            }
            if fnode & 1 == 1 || fnode == snode {
                r = node_hash(p, &r);
                if fnode & 1 == 0 {
                    while fnode & 1 == 0 && fnode != 0 {
                        fnode >>= 1;
                        snode >>= 1;
                    }
                }
            } else {
                r = node_hash(&r, p);
            }
            fnode >>= 1;
            snode >>= 1;
        }
        snode == 0 && r == *root
    }
}

impl ConsistencyProof {
    /// RFC 9162 §2.1.4.2: is `old_root` (of `old` leaves) a prefix of `new_root`?
    pub fn verify(&self, old_root: &Hash, new_root: &Hash) -> bool {
        if self.old > self.new {
            return false;
        }
        if self.old == self.new {
            return self.path.is_empty() && old_root == new_root;
        }
        if self.old == 0 {
            return self.path.is_empty();
        }
        let mut path: Vec<Hash> = Vec::with_capacity(self.path.len() + 1);
        if self.old.is_power_of_two() {
            path.push(*old_root);
        }
        path.extend_from_slice(&self.path);
        let Some((first, rest)) = path.split_first() else {
            return false;
        };
        let (mut fnode, mut snode) = (self.old - 1, self.new - 1);
        while fnode & 1 == 1 {
            fnode >>= 1;
            snode >>= 1;
        }
        let (mut fr, mut sr) = (*first, *first);
        for c in rest {
            if snode == 0 {
                return false;
            }
            if fnode & 1 == 1 || fnode == snode {
                fr = node_hash(c, &fr);
                sr = node_hash(c, &sr);
                if fnode & 1 == 0 {
                    while fnode & 1 == 0 && fnode != 0 {
                        fnode >>= 1;
                        snode >>= 1;
                    }
                }
            } else {
                sr = node_hash(&sr, c);
            }
            fnode >>= 1;
            snode >>= 1;
        }
        fr == *old_root && sr == *new_root && snode == 0
    }
}

mod hex_hashes {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _, ser::SerializeSeq};

    use crate::merkle::Hash;

    pub fn serialize<S: Serializer>(path: &[Hash], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(path.len()))?;
        for h in path {
            seq.serialize_element(&h.to_hex())?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Hash>, D::Error> {
        let strings = Vec::<String>::deserialize(d)?;
        strings
            .iter()
            .map(|s| {
                let mut out = [0u8; 32];
                hex::decode_to_slice(s, &mut out).map_err(D::Error::custom)?;
                Ok(Hash(out))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{Tree, leaf_hash};

    #[test]
    fn every_proof_of_a_small_tree_verifies_and_a_wrong_one_does_not() {
        let mut tree = Tree::new();
        let leaves: Vec<Hash> = (0..70u64).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        for l in &leaves {
            tree.push(*l);
        }
        for size in 1..=70u64 {
            let root = tree.root_at(size).unwrap();
            for i in 0..size {
                let p = InclusionProof { index: i, size, path: tree.inclusion_path(i, size).unwrap() };
                assert!(p.verify(&leaves[i as usize], &root), "incl {i}/{size}");
                assert!(!p.verify(&leaf_hash(b"x"), &root));
            }
            for old in 0..=size {
                let c = ConsistencyProof { old, new: size, path: tree.consistency_path(old, size).unwrap() };
                assert!(c.verify(&tree.root_at(old).unwrap(), &root), "cons {old}/{size}");
                if old > 0 && old < size {
                    assert!(!c.verify(&leaf_hash(b"x"), &root));
                }
            }
        }
    }

    #[test]
    fn proof_json_round_trips() {
        let p = InclusionProof { index: 1, size: 2, path: vec![leaf_hash(b"a")] };
        let j = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<InclusionProof>(&j).unwrap(), p);
    }
}
