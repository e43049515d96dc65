//! Words of a text, with what the dictionaries and the cue table say about
//! each.
//!
//! Dictionary and context layers reason over words rather than bytes; the
//! punctuation between two words is read back from the text when a rule cares
//! (", " in "LAST, FIRST", the "." of an initial).

use crate::dictionary::{self, Cue, Flags};

/// One word: a run of letters, possibly joined by an inner `'` ("O'Neil",
/// "Mary's"). Hyphens split words ("Retterer-Moore" is two), so that
/// "KARGAS-PT" or "CARAFATE-W." do not hide a name inside a compound; the
/// context rules join name parts across a hyphen again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    /// Byte offset of the first letter.
    pub start: usize,
    /// Byte offset one past the last letter.
    pub end: usize,
    /// Dictionary and shape flags.
    pub flags: Flags,
    /// Role of the word in context rules, if any.
    pub cue: Cue,
}

impl Token {
    /// True if any of `flags` is set on this token.
    pub fn has(&self, flags: Flags) -> bool {
        self.flags.intersects(flags)
    }

    /// The word's text.
    pub fn text<'t>(&self, text: &'t str) -> &'t str {
        &text[self.start..self.end]
    }
}

/// A short word, ASCII-lowercased on the stack, for comparing against cue
/// tables without allocating. Words longer than the buffer (or not ASCII)
/// compare as empty: no table entry is that long.
#[derive(Clone, Copy, Default)]
pub(crate) struct Lower {
    buf: [u8; 24],
    len: usize,
}

impl Lower {
    pub(crate) fn new(word: &str) -> Self {
        let mut w = Lower::default();
        let b = word.as_bytes();
        if b.len() <= w.buf.len() && b.is_ascii() {
            w.buf[..b.len()].copy_from_slice(b);
            w.buf[..b.len()].make_ascii_lowercase();
            w.len = b.len();
        }
        w
    }

    pub(crate) fn as_str(&self) -> &str {
        // Invariant: `buf[..len]` is a lowercased copy of ASCII bytes.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl std::ops::Deref for Lower {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<&str> for Lower {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

fn is_letter(c: char) -> bool {
    c.is_alphabetic()
}

/// Splits `text` into words and looks each up.
pub fn tokenize(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(text.len() / 6);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let starts_word =
            if b.is_ascii() { b.is_ascii_alphabetic() } else { text[i..].chars().next().is_some_and(is_letter) };
        if !starts_word {
            i += if b.is_ascii() { 1 } else { utf8_len(b) };
            continue;
        }
        let start = i;
        let mut end = i;
        let mut j = i;
        while j < bytes.len() {
            let c = bytes[j];
            if c.is_ascii_alphabetic() {
                j += 1;
                end = j;
            } else if c == b'\'' && j > start {
                // An inner joiner only counts if a letter follows.
                if bytes.get(j + 1).is_some_and(|n| n.is_ascii_alphabetic()) {
                    j += 1;
                } else {
                    break;
                }
            } else if !c.is_ascii() {
                match text[j..].chars().next() {
                    // U+FFFD inside a word is a byte that did not decode
                    // (`--lossy`): still one word, not two fragments that
                    // each look like a short name.
                    Some(ch) if is_letter(ch) || ch == char::REPLACEMENT_CHARACTER => {
                        j += ch.len_utf8();
                        end = j;
                    }
                    _ => break,
                }
            } else {
                break;
            }
        }
        // "1st", "4U", "20th": a suffix glued to a number is not a word.
        if start > 0 && bytes[start - 1].is_ascii_digit() {
            i = end.max(i + 1);
            continue;
        }
        let word = &text[start..end];
        let (flags, cue) = dictionary::lookup(word);
        out.push(Token { start, end, flags: flags | shape(word), cue });
        i = end.max(i + 1);
    }
    out
}

/// Length of a UTF-8 sequence from its first byte; continuation bytes count
/// as one so the scan always advances.
fn utf8_len(b: u8) -> usize {
    match b {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

fn shape(word: &str) -> Flags {
    let mut chars = word.chars();
    let Some(first) = chars.next() else {
        return Flags::empty();
    };
    let mut f = Flags::empty();
    if first.is_uppercase() {
        f |= Flags::CAP;
        if word.chars().filter(|c| c.is_alphabetic()).all(char::is_uppercase) {
            f |= Flags::UPPER;
        }
    }
    if word.chars().count() == 1 {
        f |= Flags::INITIAL;
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_inner_joiners_only() {
        let text = "Mr. O'Neil-Smith's son, 'bob'- and José 1st.";
        let words: Vec<&str> = tokenize(text).iter().map(|t| t.text(text)).collect();
        assert_eq!(words, ["Mr", "O'Neil", "Smith's", "son", "bob", "and", "José"]);
    }

    #[test]
    fn shapes() {
        let text = "JONES Jones jones J";
        let t = tokenize(text);
        assert!(t[0].has(Flags::UPPER) && t[0].has(Flags::CAP));
        assert!(t[1].has(Flags::CAP) && !t[1].has(Flags::UPPER));
        assert!(!t[2].has(Flags::CAP));
        assert!(t[3].has(Flags::INITIAL));
    }
}
