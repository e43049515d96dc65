//! Proofs from the production code checked by a verifier written here,
//! only from RFC 9162 §2.1.3.2 and §2.1.4.2, sharing no code with the crate:
//! its own SHA-256 calls, its own segment parser, its own note parser.

use std::sync::Arc;

use base64::Engine;
use phigate_audit::merkle::{self, Tree};
use phigate_audit::{Config, Hash};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

use crate::harness::{TestCipher, ai_event, files, open_with};

type H = [u8; 32];

fn leaf(entry: &[u8]) -> H {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    h.finalize().into()
}

fn node(l: &H, r: &H) -> H {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(l);
    h.update(r);
    h.finalize().into()
}

/// MTH per RFC 9162 §2.1.1, straight recursion.
fn mth(d: &[H]) -> H {
    match d.len() {
        0 => Sha256::digest([]).into(),
        1 => d[0],
        n => {
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            node(&mth(&d[..k]), &mth(&d[k..]))
        }
    }
}

/// RFC 9162 §2.1.3.2.
fn verify_inclusion(index: u64, size: u64, leaf_hash: &H, path: &[H], root: &H) -> bool {
    if index >= size {
        return false;
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in path {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && r == *root
}

/// RFC 9162 §2.1.4.2 (for 0 < first < second).
fn verify_consistency(first: u64, second: u64, first_hash: &H, second_hash: &H, proof: &[H]) -> bool {
    if proof.is_empty() {
        return false;
    }
    let mut path = Vec::new();
    if first.is_power_of_two() {
        path.push(*first_hash);
    }
    path.extend_from_slice(proof);
    let (mut fnode, mut snode) = (first - 1, second - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node(c, &fr);
            sr = node(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    fr == *first_hash && sr == *second_hash && snode == 0
}

fn raw(path: &[Hash]) -> Vec<H> {
    path.iter().map(|h| h.0).collect()
}

/// Entry bytes from the segment files, by the documented record layout.
fn entries_on_disk(dir: &std::path::Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for f in files(&dir.join("segments")) {
        let buf = std::fs::read(f).unwrap();
        let mut pos = 16;
        while pos < buf.len() {
            if buf[pos] == 0xE1 {
                let len = u32::from_le_bytes(buf[pos + 1..pos + 5].try_into().unwrap()) as usize;
                out.push(buf[pos + 45..pos + 45 + len].to_vec());
                pos += 45 + len;
            } else {
                pos += 41;
            }
        }
    }
    out
}

/// (size, root) from each checkpoint note: line 2 and base64 line 3.
fn checkpoints_on_disk(dir: &std::path::Path) -> Vec<(u64, H)> {
    let buf = std::fs::read(dir.join("checkpoints.log")).unwrap();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let len = u32::from_le_bytes(buf[pos..pos + 4].try_into().unwrap()) as usize;
        let note = std::str::from_utf8(&buf[pos + 4..pos + 4 + len]).unwrap();
        let lines: Vec<&str> = note.lines().collect();
        let root = base64::engine::general_purpose::STANDARD.decode(lines[2]).unwrap();
        out.push((lines[1].parse().unwrap(), root.try_into().unwrap()));
        pos += 4 + len;
    }
    out
}

#[test]
fn ledger_proofs_verify_against_signed_roots_independently() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Config::new(dir.path());
    c.max_segment_bytes = 16 << 10;
    let ledger = open_with(c, Arc::new(TestCipher::default()));
    for i in 0..150 {
        ledger.append(&ai_event("dr-b", "p2", &format!("q{i}"), "John")).unwrap();
        if [0, 1, 2, 6, 63, 64, 65, 100].contains(&i) {
            ledger.checkpoint().unwrap();
        }
    }
    ledger.checkpoint().unwrap();

    let leaves: Vec<H> = entries_on_disk(dir.path()).iter().map(|e| leaf(e)).collect();
    assert_eq!(leaves.len(), 150);
    let cps = checkpoints_on_disk(dir.path());
    assert!(cps.len() >= 9);
    for &(size, root) in &cps {
        assert_eq!(mth(&leaves[..size as usize]), root, "checkpoint root at {size}");
        for seq in 0..size {
            let p = ledger.prove(seq, Some(size)).unwrap();
            assert!(verify_inclusion(seq, size, &leaves[seq as usize], &raw(&p.path), &root), "incl {seq}@{size}");
            assert!(!verify_inclusion(seq, size, &leaf(b"forged"), &raw(&p.path), &root));
        }
    }
    for &(old, old_root) in &cps {
        for &(new, new_root) in &cps {
            if old == 0 || old >= new {
                continue;
            }
            let p = ledger.prove_consistency(old, new).unwrap();
            assert!(verify_consistency(old, new, &old_root, &new_root, &raw(&p.path)), "cons {old}->{new}");
            let mut bad = raw(&p.path);
            bad[0][0] ^= 1;
            assert!(!verify_consistency(old, new, &old_root, &new_root, &bad));
        }
    }
    ledger.close().unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn tree_proofs_verify_for_random_shapes(n in 1u64..1500, m_pick in any::<prop::sample::Index>(), i_pick in any::<prop::sample::Index>()) {
        let leaves: Vec<H> = (0..n).map(|i| leaf(&i.to_le_bytes())).collect();
        let mut tree = Tree::new();
        for l in &leaves {
            tree.push(Hash(*l));
        }
        let m = m_pick.index(n as usize) as u64 + 1; // 1..=n
        let i = i_pick.index(m as usize) as u64;
        let root_m = mth(&leaves[..m as usize]);
        let root_n = mth(&leaves);
        prop_assert_eq!(tree.root_at(m).unwrap().0, root_m);
        let path = tree.inclusion_path(i, m).unwrap();
        prop_assert!(verify_inclusion(i, m, &leaves[i as usize], &raw(&path), &root_m));
        if m < n {
            let cons = tree.consistency_path(m, n).unwrap();
            prop_assert!(verify_consistency(m, n, &root_m, &root_n, &raw(&cons)));
        }
        prop_assert_eq!(merkle::leaf_hash(&i.to_le_bytes()).0, leaves[i as usize]);
    }
}
