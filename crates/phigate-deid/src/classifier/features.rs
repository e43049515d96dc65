//! What the classifier looks at for one word: hashed indicator features.
//!
//! Features are hashed straight into the weight table's index space (the
//! "hashing trick"), so the model needs no vocabulary file and an unseen word
//! costs nothing. Each feature is a template number mixed with a value hash;
//! the word hashes of a text are computed once and shared by the templates
//! that look at neighbours.

use crate::dictionary::{Cue, Flags, is_english_word};
use crate::token::Token;

/// How many features one word yields (fixed, so extraction fills an array).
pub const PER_TOKEN: usize = 18;

/// Flags that say something about a word's identity. Shape flags are
/// described separately by [`shape`], so they are left out here.
const IDENTITY: Flags = Flags::FIRST
    .union(Flags::LAST)
    .union(Flags::PLACE)
    .union(Flags::FACILITY)
    .union(Flags::COMMON)
    .union(Flags::STOP)
    .union(Flags::MONTH)
    .union(Flags::ID_CUE)
    .union(Flags::ENGLISH);

/// Per-text precomputation: each word's lowercase hash and shape class.
pub struct TextFeatures<'a> {
    text: &'a str,
    tokens: &'a [Token],
    words: Vec<u64>,
    /// Identity flags of each word, plus bit 16: an unlisted English word.
    flags: Vec<u64>,
    shouting: bool,
}

impl<'a> TextFeatures<'a> {
    /// Hashes every word of `text` once. `shouting` is true for notes written
    /// (almost) all in capitals, where capitalisation carries no signal.
    pub fn new(text: &'a str, tokens: &'a [Token]) -> Self {
        let words = tokens.iter().map(|t| word_hash(t.text(text))).collect();
        // Whether an unlisted word is ordinary English ("reactions",
        // "redrawn") is the strongest evidence against a name; looked up
        // once per word, not once per template that reads it.
        let flags = tokens
            .iter()
            .map(|t| {
                let english = !t.has(Flags::NAME | Flags::COMMON | Flags::STOP) && is_english_word(t.text(text));
                u64::from(t.flags.only(IDENTITY).bits()) | u64::from(english) << 16
            })
            .collect();
        let upper = tokens.iter().filter(|t| t.has(Flags::UPPER)).count();
        let shouting = !tokens.is_empty() && upper * 10 >= tokens.len() * 6;
        Self { text, tokens, words, flags, shouting }
    }

    /// The features of word `i`, as indices below `1 << bits`.
    pub fn of(&self, i: usize, bits: u32) -> [u32; PER_TOKEN] {
        let t = &self.tokens[i];
        let w = |d: isize| -> u64 {
            let j = i as isize + d;
            if j < 0 || j as usize >= self.words.len() { BOUNDARY } else { self.words[j as usize] }
        };
        let tok = |d: isize| -> Option<&Token> {
            let j = i as isize + d;
            if j < 0 { None } else { self.tokens.get(j as usize) }
        };
        let flags = |d: isize| {
            let j = i as isize + d;
            if j < 0 { 0xffff } else { self.flags.get(j as usize).copied().unwrap_or(0xffff) }
        };
        let cue = |d: isize| tok(d).map_or(99, |t| cue_code(t.cue));
        let shape_at = |d: isize| tok(d).map_or(9, |t| shape(t, self.shouting));
        let before = separator(self.text, tok(-1).map_or(0, |p| p.end), t.start);
        let after = separator(self.text, t.end, tok(1).map_or(self.text.len(), |n| n.start));
        let word = &self.text.as_bytes()[t.start..t.end];
        let suffix =
            word[word.len().saturating_sub(3)..].iter().fold(0u64, |h, &b| mix(h, u64::from(b.to_ascii_lowercase())));
        let values: [u64; PER_TOKEN] = [
            0,
            w(0),
            w(-1),
            w(1),
            w(-2),
            w(2),
            mix(w(-1), w(0)),
            shape_at(0) | shape_at(-1) << 4 | shape_at(1) << 8,
            flags(0),
            flags(-1) << 20 | flags(0),
            flags(1) << 20 | flags(0),
            cue(-1) | cue(-2) << 8,
            cue(1),
            suffix,
            before,
            after,
            before << 32 ^ shape_at(0) ^ flags(0) << 8,
            u64::from(self.shouting) | shape_at(0) << 1 | ((t.end - t.start).min(12) as u64) << 8,
        ];
        let mask = (1u64 << bits) - 1;
        let mut out = [0u32; PER_TOKEN];
        for (k, v) in values.into_iter().enumerate() {
            // Invariant: `mask` keeps the value below 2^bits <= 2^32.
            out[k] = (mix(k as u64 + 1, v) & mask) as u32;
        }
        out
    }
}

const BOUNDARY: u64 = 0x9e37_79b9_7f4a_7c15;

/// A 64-bit mix (splitmix64's finaliser over a combination): stable across
/// platforms and Rust versions, because the model file depends on it.
fn mix(a: u64, b: u64) -> u64 {
    let mut z = a.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ b;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Hash of a word's ASCII-lowercased bytes (FNV-1a; non-ASCII bytes kept).
fn word_hash(word: &str) -> u64 {
    word.bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(0x100_0000_01b3))
}

fn cue_code(c: Cue) -> u64 {
    match c {
        Cue::None => 0,
        Cue::Title => 1,
        Cue::Relation => 2,
        Cue::Credential => 3,
        Cue::Introducer => 4,
        Cue::Informed => 5,
        Cue::PlacePreposition => 6,
        Cue::Residence => 7,
        Cue::FacilitySuffix => 8,
        Cue::Saint => 9,
    }
}

/// 0 lower, 1 Capitalised, 2 UPPER (2 letters or more), 3 single initial;
/// in a shouting note capitals are folded to lower.
fn shape(t: &Token, shouting: bool) -> u64 {
    if t.has(Flags::INITIAL) {
        3
    } else if shouting {
        0
    } else if t.has(Flags::UPPER) {
        2
    } else if t.has(Flags::CAP) {
        1
    } else {
        0
    }
}

/// The punctuation between two words, normalised: digits become `0`, runs
/// of spaces one space, newlines `n`; at most four characters, hashed.
fn separator(text: &str, from: usize, to: usize) -> u64 {
    let mut h = 0x51u64;
    let mut n = 0;
    let mut last = 0u8;
    for &b in text.as_bytes().get(from..to).unwrap_or_default() {
        let c = match b {
            b'0'..=b'9' => b'0',
            b' ' | b'\t' => b' ',
            b'\n' | b'\r' => b'n',
            c if c.is_ascii() => c,
            _ => b'u',
        };
        if c == last && (c == b' ' || c == b'0') {
            continue;
        }
        last = c;
        h = mix(h, u64::from(c));
        n += 1;
        if n == 4 {
            break;
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::tokenize;

    #[test]
    fn features_are_stable_and_in_range() {
        let text = "Seen by Dr. Lomish, RN at 10:30.";
        let tokens = tokenize(text);
        let f = TextFeatures::new(text, &tokens);
        for i in 0..tokens.len() {
            let a = f.of(i, 18);
            assert!(a.iter().all(|&x| x < 1 << 18));
            assert_eq!(a, f.of(i, 18));
        }
        // The same word in the same context gives the same features, case aside.
        let other = "Seen by Dr. LOMISH, RN at 10:30.";
        let t2 = tokenize(other);
        let f2 = TextFeatures::new(other, &t2);
        assert_eq!(f.of(3, 18)[1], f2.of(3, 18)[1]);
        assert_ne!(f.of(3, 18)[7], f2.of(3, 18)[7], "shape differs");
    }

    #[test]
    fn separators_normalise_digits_and_spaces() {
        assert_eq!(separator("a 12 b", 1, 5), separator("a 9 b", 1, 4));
        assert_ne!(separator("a, b", 1, 3), separator("a. b", 1, 3));
    }
}
