//! Is a word ordinary English? A Bloom filter over Webster's Second
//! (`data/english.bloom`, built by `data/build.py`, Census names left out).
//!
//! Used where a rule would take an unknown capitalized word for a name on a
//! weak cue: "Patient Okonkwo" is a person, "Patient Education" is not. The
//! clinical vocabulary list only knows words the training notes used; this
//! one knows the language, so a heading in a chat prompt that no note ever
//! had is still recognised. A false positive (about 2 in 10,000 unknown
//! words) makes a name look English and loses only that weak cue.

use super::Flags;

const BLOOM: &[u8] = include_bytes!("../../data/english.bloom");
const HASHES: u64 = 7;

fn fnv1a64(word: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in word {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn in_filter(word: &[u8]) -> bool {
    let bits = (BLOOM.len() as u64) * 8;
    if bits == 0 || word.len() < 3 {
        return false;
    }
    let h = fnv1a64(word);
    let (h1, h2) = (h & 0xffff_ffff, (h >> 32) | 1);
    (0..HASHES).all(|i| {
        let b = (h1 + i * h2) % bits;
        // Invariant: b < bits = 8 * BLOOM.len().
        BLOOM[(b / 8) as usize] & (1 << (b % 8)) != 0
    })
}

/// True if `word` (any case, ASCII letters) is an English dictionary word or
/// a regular inflection of one ("tolerated", "presents", "studies").
pub fn is_english_word(word: &str) -> bool {
    let b = word.as_bytes();
    if b.len() < 3 || b.len() > 24 || !b.iter().all(u8::is_ascii_alphabetic) {
        return false;
    }
    let mut buf = [0u8; 28];
    let w = &mut buf[..b.len()];
    w.copy_from_slice(b);
    w.make_ascii_lowercase();
    let w: &[u8] = w;
    if in_filter(w) {
        return true;
    }
    const SUFFIXES: &[(&[u8], &[u8])] = &[
        (b"s", b""),
        (b"es", b""),
        (b"ies", b"y"),
        (b"ied", b"y"),
        (b"ed", b""),
        (b"ed", b"e"),
        (b"ing", b""),
        (b"ing", b"e"),
        (b"er", b""),
        (b"ers", b""),
        (b"ly", b""),
        (b"ness", b""),
        (b"ment", b""),
        (b"ments", b""),
    ];
    for &(suffix, repl) in SUFFIXES {
        let Some(stem) = w.strip_suffix(suffix) else { continue };
        if stem.len() < 3 {
            continue;
        }
        let mut cand = [0u8; 28];
        let n = stem.len() + repl.len();
        cand[..stem.len()].copy_from_slice(stem);
        cand[stem.len()..n].copy_from_slice(repl);
        if in_filter(&cand[..n]) {
            return true;
        }
        // "stopped", "planning": a doubled final consonant.
        if repl.is_empty()
            && stem.len() >= 4
            && stem[stem.len() - 1] == stem[stem.len() - 2]
            && in_filter(&stem[..stem.len() - 1])
        {
            return true;
        }
    }
    false
}

/// True if swapping two adjacent letters of `word` gives clinical
/// vocabulary: "DEINES" (denies), "REMIAN" (remain). The Census surname list
/// holds such typos, and notes are full of them; real surnames almost never
/// are one swap away from a clinical word.
pub fn typo_of_vocabulary(word: &str) -> bool {
    let b = word.as_bytes();
    if !word.is_ascii() || b.len() < 4 || b.len() > 24 {
        return false;
    }
    let mut buf = [0u8; 24];
    let w = &mut buf[..b.len()];
    w.copy_from_slice(b);
    w.make_ascii_lowercase();
    for i in 0..w.len() - 1 {
        if w[i] == w[i + 1] {
            continue;
        }
        w.swap(i, i + 1);
        let hit = std::str::from_utf8(w).is_ok_and(|s| {
            let (f, _) = super::lookup(s);
            f.intersects(Flags::COMMON) && !f.intersects(Flags::NAME | Flags::STOP)
        });
        w.swap(i, i + 1);
        if hit {
            return true;
        }
    }
    false
}

/// True if one edit (a letter dropped, added, changed, or two adjacent
/// letters swapped) turns `word` into clinical vocabulary or a function word
/// of four letters or more: "ysterday", "eveing", "biginning", "HTIS".
/// Broader than [`typo_of_vocabulary`], and dearer (a few hundred table
/// reads), so it is only asked of the rare word a cue already points at.
/// Words under five letters are judged by swaps alone: most short names
/// are one letter away from some short word.
pub fn near_vocabulary(word: &str) -> bool {
    let b = word.as_bytes();
    if !word.is_ascii() || b.len() < 4 || b.len() > 24 || !b.iter().all(u8::is_ascii_alphabetic) {
        return false;
    }
    let mut w = [0u8; 24];
    let w = &mut w[..b.len()];
    w.copy_from_slice(b);
    w.make_ascii_lowercase();
    let known = |cand: &[u8]| {
        cand.len() >= 4
            && std::str::from_utf8(cand).is_ok_and(|s| super::lookup(s).0.intersects(Flags::COMMON | Flags::STOP))
    };
    let mut cand = [0u8; 25];
    for i in 0..w.len() - 1 {
        cand[..w.len()].copy_from_slice(w);
        cand.swap(i, i + 1);
        if w[i] != w[i + 1] && known(&cand[..w.len()]) {
            return true;
        }
    }
    if w.len() < 5 {
        return false;
    }
    for i in 0..w.len() {
        // Dropped here: the typo has a letter too many.
        cand[..i].copy_from_slice(&w[..i]);
        cand[i..w.len() - 1].copy_from_slice(&w[i + 1..]);
        if known(&cand[..w.len() - 1]) {
            return true;
        }
    }
    for i in 0..=w.len() {
        for c in b'a'..=b'z' {
            // Added here: the typo lost a letter.
            cand[..i].copy_from_slice(&w[..i]);
            cand[i] = c;
            cand[i + 1..=w.len()].copy_from_slice(&w[i..]);
            if known(&cand[..=w.len()]) {
                return true;
            }
            // Changed here: the typo hit a neighbouring key.
            if i < w.len() && c != w[i] {
                cand[..w.len()].copy_from_slice(w);
                cand[i] = c;
                if known(&cand[..w.len()]) {
                    return true;
                }
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::{is_english_word, near_vocabulary};

    #[test]
    fn one_edit_from_vocabulary_is_a_typo() {
        for w in ["ysterday", "EVEING", "biginning", "HTIS", "afteroon"] {
            assert!(near_vocabulary(w), "{w}");
        }
        for w in ["Okonkwo", "Przybylo", "Tujimouff", "Kria", "holsbio"] {
            assert!(!near_vocabulary(w), "{w}");
        }
    }

    #[test]
    fn words_and_inflections_are_english() {
        for w in ["education", "Education", "TOLERATED", "presents", "discussed", "worries", "stopped", "procedure"] {
            assert!(is_english_word(w), "{w}");
        }
    }

    #[test]
    fn unfamiliar_surnames_are_not() {
        for w in ["Okonkwo", "Nwosu", "Adebayo", "Przybylo", "Ifeoma", "Chiamaka", "Nwachukwu", "ab", "x1"] {
            assert!(!is_english_word(w), "{w}");
        }
    }
}
