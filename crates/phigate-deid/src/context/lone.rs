//! Names without a cue: a Census name standing alone, and every other
//! mention of a name that a cue confirmed somewhere in the same note.
//!
//! The lone rules are the weakest evidence the engine acts on (a Census
//! surname alone may be "Care" or "Heart"), so they are optional
//! ([`RuleSet`](super::RuleSet)) and never confirm a name for propagation.

use super::{Ctx, Finding};
use crate::dictionary::{self, Cue, Flags};
use crate::span::{Kind, Span};

impl Ctx<'_> {
    pub(super) fn lone_first(&mut self, i: usize) {
        let Some(t) = self.tok(i) else { return };
        if t.has(Flags::FIRST)
            && self.name_alone(i)
            && t.end - t.start >= 3
            && !t.has(Flags::PLACE)
            && (self.shouting || t.has(Flags::CAP) || !t.has(Flags::LAST))
            // "pasty", "kit", "SUN": an English word needs a capital to count.
            && (!t.has(Flags::ENGLISH) || self.proper_case(i))
        {
            let last = self.extend(i);
            self.emit(i, last, Kind::Name, "lone-first");
        }
    }

    pub(super) fn lone_last(&mut self, i: usize) {
        let Some(t) = self.tok(i) else { return };
        if !t.has(Flags::LAST) || !self.name_alone(i) || t.end - t.start < 4 || t.has(Flags::PLACE) {
            return;
        }
        // "DEINES", "REMIAN": typos of vocabulary that the Census list holds.
        let typo = |cx: &Self| dictionary::typo_of_vocabulary(t.text(cx.text));
        if self.shouting {
            // Capitals say nothing here: only rarer surnames that are not
            // also first names or vocabulary.
            if t.end - t.start >= 5 && !t.has(Flags::FIRST | Flags::ENGLISH) && !typo(self) {
                self.emit(i, i, Kind::Name, "lone-last-caps");
            }
            return;
        }
        if t.has(Flags::CAP) && !t.has(Flags::UPPER) {
            // Capitalized at a sentence start says nothing.
            let before = self.text[..t.start].trim_end_matches([' ', '\t']);
            if before.is_empty() || before.ends_with(['.', '\n', ':', '-']) || typo(self) {
                return;
            }
            self.emit(i, i, Kind::Name, "lone-last");
        }
    }

    /// Finds every other mention of words confirmed as names by a strong rule.
    pub(super) fn propagate(&mut self) {
        // A note confirms a handful of names at most: a list compared by
        // length first beats hashing every word of the note.
        let mut confirmed: Vec<String> = Vec::new();
        for f in &self.out {
            if f.span.kind != Kind::Name || f.rule.starts_with("lone") {
                continue;
            }
            // Tokens are sorted: find the first inside the span by bisection.
            let from = self.toks.partition_point(|t| t.start < f.span.start);
            for t in self.toks[from..].iter().take_while(|t| t.end <= f.span.end) {
                if !t.has(Flags::COMMON | Flags::STOP | Flags::INITIAL) && t.end - t.start >= 3 {
                    let name = t.text(self.text).to_lowercase();
                    if !confirmed.contains(&name) {
                        confirmed.push(name);
                    }
                }
            }
        }
        if confirmed.is_empty() {
            return;
        }
        for t in self.toks {
            if t.cue != Cue::None || t.end - t.start < 3 {
                continue;
            }
            let w = t.text(self.text);
            let hit = if w.is_ascii() {
                // A lowercase name equals an ASCII word only if it is ASCII.
                confirmed.iter().any(|c| c.len() == w.len() && c.eq_ignore_ascii_case(w))
            } else {
                let lower = w.to_lowercase();
                confirmed.contains(&lower)
            };
            if hit {
                self.out.push(Finding { span: Span::new(t.start, t.end, Kind::Name), rule: "propagate" });
            }
        }
    }
}
