//! The placeholder syntax `[[KIND_N]]` and its incremental scanner.
//!
//! A token is *shaped* like a placeholder when it matches
//! `\[\[[A-Z][A-Z_]*_[1-9][0-9]*\]\]` with a label of at most
//! [`LABEL_MAX`] bytes and at most 10 digits. Only shaped tokens whose label
//! is a [`Kind`] and whose number fits a `u32` can name a vault entry; others
//! are ordinary text. No leading zeros: `[[NAME_01]]` is not `[[NAME_1]]`, so
//! each placeholder has exactly one spelling.
//!
//! [`scan_at`] decides from a prefix alone and says [`Scan::NeedMore`] only
//! when the input ended before it could decide. That is what lets the
//! streaming restorer hold back at most [`MAX_LEN`]` - 1` bytes and still
//! agree exactly with the one-shot scan over the whole text.

use phigate_deid::Kind;

/// Longest label the scanner accepts (`HEALTH_PLAN` is 11).
pub const LABEL_MAX: usize = 16;

/// Longest shaped token: `[[` + label + `_` + 10 digits + `]]`.
pub const MAX_LEN: usize = 2 + LABEL_MAX + 1 + 10 + 2;

/// What [`scan_at`] found at a `[`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scan {
    /// A shaped token of `len` bytes; `kind`/`n` are set when it can name a
    /// vault entry.
    Token {
        /// Bytes the token spans.
        len: usize,
        /// The entry it names, if the label is a kind and the number fits.
        entry: Option<(Kind, u32)>,
    },
    /// Not a shaped token (the `[` is ordinary text).
    No,
    /// The input ends before it can be decided.
    NeedMore,
}

/// Scans `s`, which starts with `[`.
pub fn scan_at(s: &[u8]) -> Scan {
    let n = s.len();
    debug_assert!(s.first() == Some(&b'['));
    if n < 2 {
        return Scan::NeedMore;
    }
    if s[1] != b'[' {
        return Scan::No;
    }
    let mut i = 2;
    if i >= n {
        return Scan::NeedMore;
    }
    if !s[i].is_ascii_uppercase() {
        return Scan::No;
    }
    // The label run, separator included: [A-Z][A-Z_]*_
    while i < n && (s[i].is_ascii_uppercase() || s[i] == b'_') {
        i += 1;
        if i - 2 > LABEL_MAX + 1 {
            return Scan::No;
        }
    }
    if i >= n {
        return Scan::NeedMore;
    }
    if s[i - 1] != b'_' || !(b'1'..=b'9').contains(&s[i]) {
        return Scan::No;
    }
    let label_end = i - 1;
    let digits_start = i;
    while i < n && s[i].is_ascii_digit() {
        i += 1;
        if i - digits_start > 10 {
            return Scan::No;
        }
    }
    if i >= n {
        return Scan::NeedMore;
    }
    if s[i] != b']' {
        return Scan::No;
    }
    if i + 1 >= n {
        return Scan::NeedMore;
    }
    if s[i + 1] != b']' {
        return Scan::No;
    }
    let entry = kind_of(&s[2..label_end]).zip(number(&s[digits_start..i]));
    Scan::Token { len: i + 2, entry }
}

fn kind_of(label: &[u8]) -> Option<Kind> {
    Kind::ALL.into_iter().find(|k| k.as_str().as_bytes() == label)
}

fn number(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |acc, &d| acc.checked_mul(10)?.checked_add(u32::from(d - b'0')))
}

/// Appends `[[KIND_N]]` to `out`.
pub fn write(kind: Kind, n: u32, out: &mut String) {
    use std::fmt::Write;
    out.push_str("[[");
    out.push_str(kind.as_str());
    // Invariant: writing to a String cannot fail.
    let _ = write!(out, "_{n}]]");
}

/// Every shaped token in `text` that names a possible entry, in order.
pub fn entries_in(text: &str) -> impl Iterator<Item = (Kind, u32)> + '_ {
    let b = text.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while let Some(off) = b[i..].iter().position(|&c| c == b'[') {
            let p = i + off;
            match scan_at(&b[p..]) {
                Scan::Token { len, entry } => {
                    i = p + len;
                    if entry.is_some() {
                        return entry;
                    }
                }
                Scan::No | Scan::NeedMore => i = p + 1,
            }
        }
        i = b.len();
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(s: &str) -> Scan {
        scan_at(s.as_bytes())
    }

    #[test]
    fn labels_fit_the_bound() {
        assert!(Kind::ALL.iter().all(|k| k.as_str().len() <= LABEL_MAX));
    }

    #[test]
    fn recognises_shaped_tokens() {
        assert_eq!(tok("[[NAME_1]]"), Scan::Token { len: 10, entry: Some((Kind::Name, 1)) });
        assert_eq!(tok("[[HEALTH_PLAN_12]] rest"), Scan::Token { len: 18, entry: Some((Kind::HealthPlan, 12)) });
        assert_eq!(tok("[[FOO_3]]"), Scan::Token { len: 9, entry: None }, "shaped, unknown label");
        assert_eq!(tok("[[NAME_4294967296]]"), Scan::Token { len: 19, entry: None }, "does not fit u32");
        assert_eq!(tok("[[NAME_4294967295]]"), Scan::Token { len: 19, entry: Some((Kind::Name, u32::MAX)) });
    }

    #[test]
    fn rejects_near_misses() {
        for s in ["[x", "[[name_1]]", "[[NAME_01]]", "[[NAME_0]]", "[[NAME1]]", "[[NAME_1]x", "[[NAME_1x", "[[_1]]"] {
            assert_eq!(tok(s), Scan::No, "{s}");
        }
        assert_eq!(tok(&format!("[[{}_1]]", "A".repeat(LABEL_MAX + 1))), Scan::No);
        assert_eq!(tok("[[NAME_12345678901]]"), Scan::No, "11 digits");
    }

    #[test]
    fn prefixes_need_more() {
        let full = "[[HEALTH_PLAN_123]]";
        for end in 1..full.len() {
            assert_eq!(tok(&full[..end]), Scan::NeedMore, "{}", &full[..end]);
        }
    }

    #[test]
    fn write_and_scan_agree() {
        for k in Kind::ALL {
            for n in [1, 9, 10, 4_000_000_000] {
                let mut s = String::new();
                write(k, n, &mut s);
                assert_eq!(tok(&s), Scan::Token { len: s.len(), entry: Some((k, n)) });
                assert!(s.len() <= MAX_LEN);
            }
        }
    }

    #[test]
    fn finds_entries_in_text() {
        let found: Vec<_> = entries_in("a [[[NAME_2]] b [[X_1]] [[DATE_3]][[ZIP_9").collect();
        assert_eq!(found, [(Kind::Name, 2), (Kind::Date, 3)]);
    }
}
