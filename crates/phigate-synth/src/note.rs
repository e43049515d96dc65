//! Building note text and its gold spans together.
//!
//! A note is appended piece by piece: plain text, or an identifier with its
//! type. The builder counts characters as it appends, so every span's
//! offsets are right by construction, never found afterwards by searching
//! (which would mislabel a name that also occurs inside another word).

use crate::gold::{GoldSpan, PhiType};

/// One piece of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Text that is not an identifier.
    Plain(String),
    /// An identifier of the given type.
    Phi(PhiType, String),
}

/// Shorthand for a plain piece.
pub(crate) fn plain(s: impl Into<String>) -> Piece {
    Piece::Plain(s.into())
}

/// Shorthand for an identifier piece.
pub(crate) fn phi(kind: PhiType, s: impl Into<String>) -> Piece {
    Piece::Phi(kind, s.into())
}

/// Where fills for `{key}` placeholders come from.
pub(crate) trait Fill {
    /// The pieces for `key`, or `None` for an unknown key.
    fn fill(&mut self, key: &str) -> Option<Vec<Piece>>;
}

/// A note under construction.
pub(crate) struct NoteBuilder {
    text: String,
    chars: usize,
    spans: Vec<GoldSpan>,
    upper: bool,
}

impl NoteBuilder {
    /// An empty note; `upper` writes everything in capitals (a common
    /// nursing-note habit), identifiers included.
    pub(crate) fn new(upper: bool) -> Self {
        Self { text: String::new(), chars: 0, spans: Vec::new(), upper }
    }

    fn cased(&self, s: &str) -> String {
        if self.upper { s.to_uppercase() } else { s.to_owned() }
    }

    /// Appends one piece. Empty identifiers are skipped (never annotated).
    pub(crate) fn push(&mut self, piece: Piece) {
        match piece {
            Piece::Plain(s) => {
                let s = self.cased(&s);
                self.chars += s.chars().count();
                self.text.push_str(&s);
            }
            Piece::Phi(kind, s) => {
                let s = self.cased(&s);
                if s.is_empty() {
                    return;
                }
                let start = self.chars;
                self.chars += s.chars().count();
                self.text.push_str(&s);
                self.spans.push(GoldSpan { start, end: self.chars, kind, text: s });
            }
        }
    }

    /// Appends `template`, replacing each `{key}` with what `fill` gives for
    /// it. An unknown key is kept literally (the template tests catch it).
    pub(crate) fn render(&mut self, template: &str, fill: &mut impl Fill) {
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            self.push(plain(&rest[..open]));
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                self.push(plain(&rest[open..]));
                return;
            };
            let key = &after[..close];
            match fill.fill(key) {
                Some(pieces) => pieces.into_iter().for_each(|p| self.push(p)),
                None => self.push(plain(format!("{{{key}}}"))),
            }
            rest = &after[close + 1..];
        }
        self.push(plain(rest));
    }

    /// The text and its spans.
    pub(crate) fn finish(self) -> (String, Vec<GoldSpan>) {
        (self.text, self.spans)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Map;
    impl Fill for Map {
        fn fill(&mut self, key: &str) -> Option<Vec<Piece>> {
            match key {
                "name" => Some(vec![plain("Mr. "), phi(PhiType::PatientName, "Núñez")]),
                "date" => Some(vec![phi(PhiType::Date, "3/14")]),
                _ => None,
            }
        }
    }

    #[test]
    fn spans_are_character_offsets() {
        let mut b = NoteBuilder::new(false);
        b.render("Zoë saw {name} on {date}; {oops}", &mut Map);
        let (text, spans) = b.finish();
        assert_eq!(text, "Zoë saw Mr. Núñez on 3/14; {oops}");
        let chars: Vec<char> = text.chars().collect();
        for s in &spans {
            assert_eq!(chars[s.start..s.end].iter().collect::<String>(), s.text);
        }
        assert_eq!((spans[0].start, spans[0].end), (12, 17));
    }

    #[test]
    fn upper_case_keeps_offsets_right() {
        let mut b = NoteBuilder::new(true);
        b.push(plain("straße "));
        b.push(phi(PhiType::PatientName, "Weiß"));
        let (text, spans) = b.finish();
        assert_eq!(text, "STRASSE WEISS");
        let chars: Vec<char> = text.chars().collect();
        assert_eq!(chars[spans[0].start..spans[0].end].iter().collect::<String>(), "WEISS");
    }
}
