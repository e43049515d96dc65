//! Identifiers the caller already holds for the patient.
//!
//! The patient's own record is the best dictionary there is: its name, MRN,
//! address and phone number are matched exactly and in the variants notes use
//! (any case, any run of spaces or punctuation between parts, "J. Smith",
//! "Smith, John", digits with or without separators). Values are kept inside
//! [`Phi`] so a stray `{:?}` cannot print them.

use aho_corasick::{AhoCorasick, MatchKind};
use phigate_phi::Phi;

use crate::span::{Kind, Span};

/// Known identifiers of one patient, compiled into one automaton.
#[derive(Debug, Default)]
pub struct KnownIdentifiers {
    entries: Vec<(Phi<String>, Kind)>,
    automaton: Option<Phi<AhoCorasickBox>>,
    kinds: Vec<Kind>,
    /// For each pattern: true if it is digits only and was derived from a
    /// value with separators (matched against a digit-only view of the text).
    digit_patterns: Vec<(Phi<String>, Kind)>,
}

/// Wrapper so the automaton (which holds PHI patterns) can live in `Phi`.
#[derive(Debug, Default, Clone)]
pub struct AhoCorasickBox(Option<AhoCorasick>);

impl zeroize::Zeroize for AhoCorasickBox {
    fn zeroize(&mut self) {
        // The automaton's memory cannot be scrubbed in place; dropping it is
        // the best available.
        self.0 = None;
    }
}

impl KnownIdentifiers {
    /// No known identifiers.
    pub fn new() -> Self {
        Self::default()
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds a person's full name ("Jane Q. Doe"): matches the full name, each
    /// part of two letters or more, "Doe, Jane", "J. Doe" and "J Doe".
    pub fn name(mut self, full_name: &str) -> Self {
        let parts: Vec<&str> = full_name
            .split(|c: char| c.is_whitespace() || c == ',')
            .map(|p| p.trim_matches('.'))
            .filter(|p| !p.is_empty())
            .collect();
        self.push(full_name, Kind::Name);
        for p in &parts {
            if p.chars().count() >= 2 {
                self.push(p, Kind::Name);
            }
        }
        if let (Some(first), Some(last)) = (parts.first(), parts.last())
            && parts.len() >= 2
        {
            self.push(&format!("{last}, {first}"), Kind::Name);
            self.push(&format!("{last},{first}"), Kind::Name);
            if let Some(initial) = first.chars().next() {
                self.push(&format!("{initial}. {last}"), Kind::Name);
                self.push(&format!("{initial} {last}"), Kind::Name);
                self.push(&format!("{initial}.{last}"), Kind::Name);
            }
            self.push(&format!("{first} {last}"), Kind::Name);
        }
        self
    }

    /// Adds any other identifier of the given kind (MRN, phone, address,
    /// e-mail…). Values with digits also match with any separators removed or
    /// changed ("410-555-0142" finds "(410) 555 0142").
    pub fn identifier(mut self, value: &str, kind: Kind) -> Self {
        self.push(value, kind);
        let digits: String = value.chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= 4 && digits.len() * 2 >= value.chars().filter(|c| !c.is_whitespace()).count() {
            self.digit_patterns.push((Phi::new(digits), kind));
        }
        self
    }

    fn push(&mut self, value: &str, kind: Kind) {
        let normalized = normalize(value);
        if normalized.chars().count() >= 2 {
            self.entries.push((Phi::new(normalized), kind));
        }
        self.automaton = None;
    }

    /// Compiles the automaton; called by the detector, but callers that reuse
    /// one set across many notes can call it once up front.
    pub fn compile(&mut self) {
        if self.automaton.is_some() || self.entries.is_empty() {
            return;
        }
        let patterns: Vec<&str> = self.entries.iter().map(|(p, _)| p.expose().as_str()).collect();
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            .ok();
        self.kinds = self.entries.iter().map(|(_, k)| *k).collect();
        self.automaton = Some(Phi::new(AhoCorasickBox(ac)));
    }

    /// Appends every match in `text`.
    pub fn find(&self, text: &str, out: &mut Vec<Span>) {
        if let Some(ac) = self.automaton.as_ref().and_then(|a| a.expose().0.as_ref()) {
            // Match over a view where every run of separators is one space,
            // mapping offsets back to the original text.
            let (view, map) = spaced_view(text);
            let mut from = 0;
            while let Some(m) = ac.find(aho_corasick::Input::new(&view).range(from..)) {
                let (s, e) = (m.start(), m.end());
                let word_edge = |i: usize| view[..i].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
                let word_end = view[e..].chars().next().is_none_or(|c| !c.is_alphanumeric());
                if word_edge(s) && word_end {
                    let start = map[s];
                    let end = map[e - 1] + len_at(text, map[e - 1]);
                    out.push(Span::new(start, end, self.kinds[m.pattern().as_usize()]));
                    from = e;
                } else {
                    // A match inside a word ("t Ferndale" in "at Ferndale")
                    // must not hide one that starts later in it.
                    from = s + view[s..].chars().next().map_or(1, char::len_utf8);
                }
            }
        } else if !self.entries.is_empty() {
            // Not compiled: fall back to a slow but correct scan.
            let mut copy = KnownIdentifiers {
                entries: self.entries.clone(),
                automaton: None,
                kinds: Vec::new(),
                digit_patterns: Vec::new(),
            };
            copy.compile();
            copy.find(text, out);
        }
        if !self.digit_patterns.is_empty() {
            let (digits, map) = digit_view(text);
            for (p, kind) in &self.digit_patterns {
                let p = p.expose();
                let mut from = 0;
                while let Some(pos) = digits[from..].find(p.as_str()) {
                    let s = from + pos;
                    let e = s + p.len();
                    let mut start = map[s];
                    let end = map[e - 1] + 1;
                    if text[..start].ends_with('(') && text[start..end].contains(')') {
                        start -= 1;
                    }
                    let isolated = !text[..start].ends_with(|c: char| c.is_ascii_digit())
                        && !text[end..].starts_with(|c: char| c.is_ascii_digit());
                    if isolated && end - start <= p.len() * 2 + 4 {
                        out.push(Span::new(start, end, *kind));
                    }
                    from = s + 1;
                }
            }
        }
    }
}

fn len_at(text: &str, i: usize) -> usize {
    text[i..].chars().next().map_or(1, char::len_utf8)
}

/// Lower-cases nothing (matching is ASCII case-insensitive) but collapses
/// separators to one space.
fn normalize(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut space = false;
    for c in value.trim().chars() {
        if c.is_whitespace() || c == '_' {
            space = true;
        } else {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    out
}

/// The text with whitespace runs collapsed to one space, plus the original
/// byte offset of each byte of the view.
fn spaced_view(text: &str) -> (String, Vec<usize>) {
    let mut view = String::with_capacity(text.len());
    let mut map = Vec::with_capacity(text.len());
    let mut prev_space = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if !prev_space {
                view.push(' ');
                map.push(i);
            }
            prev_space = true;
        } else {
            // Every byte of a char maps to the char's start, so any view
            // offset maps back to a char boundary.
            let before = view.len();
            view.push(c);
            map.extend(std::iter::repeat_n(i, view.len() - before));
            prev_space = false;
        }
    }
    map.push(text.len());
    (view, map)
}

/// Only the ASCII digits of the text, with their original offsets.
fn digit_view(text: &str) -> (String, Vec<usize>) {
    let mut s = String::new();
    let mut map = Vec::new();
    for (i, b) in text.bytes().enumerate() {
        if b.is_ascii_digit() {
            s.push(b as char);
            map.push(i);
        }
    }
    (s, map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(known: &mut KnownIdentifiers, text: &str) -> Vec<String> {
        known.compile();
        let mut v = Vec::new();
        known.find(text, &mut v);
        v.into_iter().map(|s| text[s.start..s.end].to_owned()).collect()
    }

    #[test]
    fn name_variants() {
        let mut k = KnownIdentifiers::new().name("Marisol Ferndale");
        let text = "MARISOL  FERNDALE seen; Ferndale, Marisol; M. Ferndale; marisol; Ferndaleish";
        let f = found(&mut k, text);
        assert!(f.contains(&"MARISOL  FERNDALE".to_owned()));
        assert!(f.contains(&"Ferndale, Marisol".to_owned()));
        assert!(f.contains(&"M. Ferndale".to_owned()));
        assert!(f.contains(&"marisol".to_owned()));
        assert!(!f.iter().any(|s| s.contains("ish")));
    }

    #[test]
    fn a_match_inside_a_word_does_not_hide_a_later_one() {
        let mut k = KnownIdentifiers::new().name("Marisol Ferndale").name("Teodoro Ferndale");
        assert_eq!(found(&mut k, "seen at Ferndale; Mrs Ferndale"), ["Ferndale", "Ferndale"]);
    }

    #[test]
    fn numbers_match_across_separators() {
        let mut k = KnownIdentifiers::new().identifier("410-555-0142", Kind::Phone);
        let f = found(&mut k, "call (410) 555 0142 or 14105550142");
        assert_eq!(f, ["(410) 555 0142"]);
    }

    #[test]
    fn debug_does_not_print_values() {
        let k = KnownIdentifiers::new().name("Marisol Ferndale");
        assert!(!format!("{k:?}").contains("Marisol"));
    }
}
