//! The detection pipeline: run every layer, then resolve overlaps.
//!
//! Layers only propose spans; resolution is one place so that adding a layer
//! (the planned learned classifier) cannot change how conflicts are settled.
//! Overlapping proposals are unioned into one span rather than one being
//! dropped: a partial redaction leaves the rest of an identifier readable.
//! The one proposal ever withdrawn is a one-word rule's guess that lies
//! inside a state, country or continent named after "from"/"in"
//! ([`context::in_region`]): Safe Harbor lets those through, and no cue
//! backed the guess.

use std::sync::{Arc, LazyLock};

use regex::Regex;

use crate::classifier::{self, Model};
use crate::context::{self, Finding, RuleSet};
use crate::dictionary::Flags;
use crate::known::KnownIdentifiers;
use crate::span::{Kind, Span};
use crate::{dictionary, pattern, token};

/// Detects identifiers in text. Cheap to clone and share; holds no PHI.
#[derive(Clone, Debug, Default)]
pub struct Detector {
    rules: RuleSet,
    disabled: Vec<Kind>,
    classifier: Classifier,
}

/// Which learned model the classifier layer uses.
#[derive(Clone, Debug, Default)]
enum Classifier {
    /// The model shipped in the crate (`data/classifier.bin`).
    #[default]
    Embedded,
    /// A model the caller trained (validation folds, experiments).
    Custom(Arc<Model>),
    /// The layer is off (to measure what it adds).
    Off,
}

impl Detector {
    /// A detector with every layer and rule on. Parses the embedded
    /// dictionaries on first construction (tens of milliseconds, once per
    /// process).
    pub fn new() -> Self {
        dictionary::warm_up();
        pattern::warm_up();
        let _ = classifier::embedded();
        Self::default()
    }

    /// Uses `model` for the classifier layer instead of the shipped one;
    /// `None` turns the layer off.
    pub fn with_classifier(mut self, model: Option<Arc<Model>>) -> Self {
        self.classifier = model.map_or(Classifier::Off, Classifier::Custom);
        self
    }

    /// Chooses the optional context rules (for measurement and tuning).
    pub fn with_rules(mut self, rules: RuleSet) -> Self {
        self.rules = rules;
        self
    }

    /// Never report spans of `kind` (for example when a policy keeps dates).
    pub fn without_kind(mut self, kind: Kind) -> Self {
        if !self.disabled.contains(&kind) {
            self.disabled.push(kind);
        }
        self
    }

    /// Identifiers in `text`, sorted and non-overlapping.
    pub fn detect(&self, text: &str) -> Vec<Span> {
        resolve(self.propose(text, None).into_iter().map(|f| f.span).collect())
    }

    /// Like [`Detector::detect`], plus what a second look finds once those
    /// spans are replaced by `[KIND]` placeholders, until a look finds
    /// nothing new: what a redaction that writes placeholders must replace
    /// for its output to come back unchanged from another redaction. Empty
    /// exactly when [`Detector::detect`] is.
    pub fn detect_settled(&self, text: &str) -> Vec<Span> {
        crate::settle::settle(text, |t| self.detect(t), |_, s| crate::operators::redact(s.kind))
    }

    /// Like [`Detector::detect`], also matching the patient's known
    /// identifiers.
    pub fn detect_known(&self, text: &str, known: &KnownIdentifiers) -> Vec<Span> {
        resolve(self.propose(text, Some(known)).into_iter().map(|f| f.span).collect())
    }

    /// Every proposal before resolution, with the rule that made it: the
    /// tuning and "why was this redacted" view. Proposals may overlap.
    pub fn explain(&self, text: &str) -> Vec<Finding> {
        let mut v = self.propose(text, None);
        v.sort_by_key(|f| (f.span.start, f.span.end));
        v
    }

    /// Name words this text confirms by strong context ("Dr. Lomish",
    /// "daughter Suzette"), lowercased: what a caller can carry to the same
    /// patient's later notes as known identifiers, where the same name may
    /// appear without any cue. Vocabulary words are never returned.
    pub fn confirmed_names(&self, text: &str) -> Vec<String> {
        let tokens = token::tokenize(text);
        let mut out: Vec<String> = Vec::new();
        for f in self.propose(text, None) {
            if f.span.kind != Kind::Name
                || matches!(f.rule, "pattern" | "known" | "propagate")
                || f.rule.starts_with("lone")
            {
                continue;
            }
            let from = tokens.partition_point(|t| t.start < f.span.start);
            for t in tokens[from..].iter().take_while(|t| t.end <= f.span.end) {
                let strong = !t.has(Flags::COMMON | Flags::STOP | Flags::INITIAL | Flags::ENGLISH);
                if strong && t.end - t.start >= 3 {
                    let w = t.text(text).to_lowercase();
                    if !out.contains(&w) {
                        out.push(w);
                    }
                }
            }
        }
        out
    }

    fn propose(&self, text: &str, known: Option<&KnownIdentifiers>) -> Vec<Finding> {
        let mut tokens = token::tokenize(text);
        let mut spans = Vec::new();
        pattern::find(text, &tokens, &mut spans);
        let mut out: Vec<Finding> = spans.into_iter().map(|span| Finding { span, rule: "pattern" }).collect();
        // Placeholders this crate wrote ("[NAME]", "[MRN-3f2a…]") are not
        // text to examine again: that keeps redaction idempotent.
        let holes: Vec<(usize, usize)> = if text.as_bytes().contains(&b'[') {
            PLACEHOLDER.find_iter(text).map(|m| (m.start(), m.end())).collect()
        } else {
            Vec::new()
        };
        // Holes are sorted and disjoint: bisect for the first that ends after `s`.
        let in_hole = |s: usize, e: usize| {
            let i = holes.partition_point(|&(_, he)| he <= s);
            holes.get(i).is_some_and(|&(hs, _)| hs < e)
        };
        // The classifier still reads a placeholder's word as a neighbour
        // (never as a candidate): without it, the words either side would
        // look adjacent ("Da [NAME] RRT" read as "Da RRT").
        let with_holes = if holes.is_empty() { None } else { Some(tokens.clone()) };
        if !holes.is_empty() {
            tokens.retain(|t| !in_hole(t.start, t.end));
            out.retain(|f| !in_hole(f.span.start, f.span.end));
        }
        out.extend(context::find(text, &tokens, self.rules));
        let model = match &self.classifier {
            Classifier::Embedded => Some(classifier::embedded()),
            Classifier::Custom(m) => Some(Arc::clone(m)),
            Classifier::Off => None,
        };
        if let Some(model) = model {
            // Words another layer already took are not scored again: the
            // classifier only adds what the rules missed.
            let mut taken: Vec<(usize, usize)> = out.iter().map(|f| (f.span.start, f.span.end)).collect();
            taken.sort_unstable();
            // Running maximum of ends: a word is covered if some span that
            // starts before the word's end reaches past its start.
            let mut reach = 0;
            let reach: Vec<usize> = taken
                .iter()
                .map(|&(_, e)| {
                    reach = reach.max(e);
                    reach
                })
                .collect();
            let covered = |s: usize, e: usize| {
                let i = taken.partition_point(|&(ts, _)| ts < e);
                i > 0 && reach[i - 1] > s
            };
            let found = match &with_holes {
                Some(all) => model.find(text, all, |s, e| in_hole(s, e) || covered(s, e)),
                None => model.find(text, &tokens, covered),
            };
            out.extend(found);
        }
        // "from Ireland", "son from Texas": a state or larger is no name and
        // no identifying place, whatever a one-word rule made of it.
        out.retain(|f| {
            !(matches!(f.span.kind, Kind::Name | Kind::Location)
                && context::OVERRIDABLE.contains(&f.rule)
                && context::in_region(text, &tokens, f.span.start, f.span.end))
        });
        if let Some(k) = known {
            let mut spans = Vec::new();
            k.find(text, &mut spans);
            out.extend(spans.into_iter().map(|span| Finding { span, rule: "known" }));
        }
        if !self.disabled.is_empty() {
            out.retain(|f| !self.disabled.contains(&f.span.kind));
        }
        out.retain(|f| !f.span.is_empty());
        out
    }
}

static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| {
    // Invariant: constant pattern, covered by the idempotence tests.
    // Ours ("[NAME]", "[MRN-3f2a0c9b1d]") and the gateway's request-vault
    // placeholders ("[[MRN_1]]"): neither holds an identifier.
    Regex::new(r"\[\[[A-Z_]+_[0-9]+\]\]|\[[A-Z_]+(?:-[0-9a-f]{10})?\]").expect("placeholder pattern compiles")
});

/// Sorts spans and unions overlapping ones. The kind of a union is the kind
/// of its longest member (ties: the first), so "Dr. \[NAME\]" does not become
/// a DATE because one letter overlapped.
pub fn resolve(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    let mut best_len = 0;
    for s in spans {
        match out.last_mut() {
            Some(last) if s.start < last.end => {
                if s.len() > best_len {
                    best_len = s.len();
                    last.kind = s.kind;
                }
                last.end = last.end.max(s.end);
            }
            _ => {
                best_len = s.len();
                out.push(s);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlaps_union_and_keep_the_longest_kind() {
        let spans = vec![
            Span::new(5, 10, Kind::Name),
            Span::new(0, 3, Kind::Date),
            Span::new(8, 20, Kind::Location),
            Span::new(1, 2, Kind::Phone),
        ];
        assert_eq!(resolve(spans), vec![Span::new(0, 3, Kind::Date), Span::new(5, 20, Kind::Location)]);
    }

    #[test]
    fn end_to_end_seed_note() {
        let d = Detector::new();
        let text = "Progress note: Marisol Ferndale-Ostrowski (MRN 5583920) was seen on \
                    03/14/2024. Best callback number is (559) 555-0142.";
        let found: Vec<&str> = d.detect(text).iter().map(|s| &text[s.start..s.end]).collect();
        for want in ["Marisol Ferndale-Ostrowski", "5583920", "03/14/2024", "(559) 555-0142"] {
            assert!(found.contains(&want), "missing {want}: {found:?}");
        }
    }

    #[test]
    fn confirmed_names_carry_to_later_notes() {
        let d = Detector::new();
        let names = d.confirmed_names("Dr. Przybylo aware. Foley draining.");
        assert_eq!(names, ["przybylo"]);
        let mut known = names.iter().fold(KnownIdentifiers::new(), |k, w| k.identifier(w, Kind::Name));
        known.compile();
        let later = "PRZYBYLO IN TO SEE PT";
        assert_eq!(d.detect_known(later, &known).len(), 1);
    }

    #[test]
    fn placeholders_are_not_examined_again() {
        let d = Detector::new();
        for text in ["note: MRN [[MRN_1]], seen [[DATE_1]], call [[PHONE_1]]", "seen by [NAME] ([MRN-3f2a0c9b1d])"] {
            assert!(d.detect(text).is_empty(), "{text}: {:?}", d.explain(text));
        }
    }

    #[test]
    fn known_identifiers_are_found() {
        let d = Detector::new();
        let mut known = KnownIdentifiers::new().name("Zyx Qwertyuiop");
        known.compile();
        let text = "pt QWERTYUIOP resting";
        assert_eq!(d.detect_known(text, &known).len(), 1);
    }
}
