//! Unit and property tests of the cue rules in `person.rs`.

use proptest::prelude::*;

use super::age_follows;
use crate::Detector;
use crate::context::{RuleSet, find};
use crate::dictionary::{Flags, is_english_word, lookup, typo_of_vocabulary};
use crate::token::tokenize;

/// Every name span found in `text`, as text, with the rules that found it.
fn found(text: &str) -> Vec<(String, &'static str)> {
    let toks = tokenize(text);
    find(text, &toks, RuleSet::default())
        .into_iter()
        .filter(|f| f.span.kind == crate::span::Kind::Name)
        .map(|f| (text[f.span.start..f.span.end].to_owned(), f.rule))
        .collect()
}

/// True if some name span found in `text` covers `word`.
fn covers(text: &str, word: &str) -> bool {
    found(text).iter().any(|(s, _)| s.contains(word))
}

#[test]
fn the_six_examples_of_issue_3() {
    assert!(covers("Patient Margaret Okonkwo, MRN: 88231457.", "Margaret Okonkwo"));
    assert!(covers("Patient: Margaret Okonkwo, MRN: 88231457.", "Margaret Okonkwo"));
    assert!(covers("Margaret Okonkwo is a 62 year old woman.", "Margaret Okonkwo"));
    assert!(covers("Name: Margaret Okonkwo", "Margaret Okonkwo"));
    assert!(covers("Mrs. Margaret Okonkwo was seen today.", "Margaret Okonkwo"));
    assert!(covers("Patient Margaret Smith, MRN 88231457", "Margaret Smith"));
}

#[test]
fn patient_cue() {
    assert!(found("pt Okonkwo resting comfortably").iter().any(|(s, r)| s == "Okonkwo" && *r == "patient"));
    assert!(covers("Pt: Okonkwo", "Okonkwo"));
    assert!(covers("Patient NWOSU-EZE seen in clinic", "NWOSU-EZE"));
    // The cue vouches for the word, not for vocabulary or English words.
    for text in [
        "Patient Education: discussed plan",
        "Patient Presents With Chest Pain",
        "Patient Tolerated Procedure Well",
        "pt aud in all fields",
        "Pt NTS'd for thick secretions",
        "Pt CPT'd through the shift",
        "PT DEINES ANY PAIN",
        "The patient is a 62 year old man.",
    ] {
        assert!(found(text).is_empty(), "{text}: {:?}", found(text));
    }
}

#[test]
fn labels() {
    assert!(covers("Patient Name: Adaeze Nwosu", "Adaeze Nwosu"));
    assert!(covers("Emergency contact: Ifeoma Okafor 410-555-0142", "Ifeoma Okafor"));
    assert!(covers("Contact: okonkwo", "okonkwo"));
    assert!(covers("NAME: J. OKONKWO", "J. OKONKWO"));
    assert!(covers("PCP: Chiamaka Eze", "Chiamaka Eze"));
    assert!(covers("Signed: Obinna Nwachukwu", "Obinna Nwachukwu"));
    // An abbreviation after the name is not part of it.
    assert!(found("Name: Okonkwo DOB 1/2/60").iter().all(|(s, _)| s == "Okonkwo"));
    // Not a label without the colon, and vocabulary is never a name.
    assert!(found("name band checked").is_empty());
    assert!(found("Contact: daughter").is_empty());
}

#[test]
fn ages() {
    assert!(covers("Margaret Okonkwo is a 62 year old woman.", "Margaret Okonkwo"));
    assert!(covers("Adaeze Nwosu, a 54 y/o woman, presents with dyspnea", "Adaeze Nwosu"));
    assert!(covers("Okonkwo is 71 yo", "Okonkwo"));
    assert!(covers("MARGARET OKONKWO IS A 62 YO MAN", "OKONKWO"));
    assert!(covers("Nwosu, 45 M, admitted for CHF", "Nwosu"));
    for text in ["She is a 62 yo woman", "Hypertension is a 62 year problem", "Pt is a 54 y/o", "BP is 120"] {
        assert!(found(text).is_empty(), "{text}: {:?}", found(text));
    }
}

#[test]
fn first_name_then_unknown_word() {
    assert!(
        found("Seen with Margaret Okonkwo today").iter().any(|(s, r)| s == "Margaret Okonkwo" && *r == "first-unknown")
    );
    assert!(!covers("Margaret DOB 1/2/1960", "DOB"));
    assert!(!covers("John Discussed plan", "Discussed"));
}

#[test]
fn surname_comma_first_name() {
    assert!(covers("Okonkwo, Margaret", "Okonkwo, Margaret"));
    assert!(covers("OKONKWO, MARGARET 03/04/2021", "OKONKWO, MARGARET"));
    assert!(found("Lasix, Mary to call").iter().all(|(s, _)| s == "Mary"));
    // A record header: both names unknown, at the head of a line.
    assert!(covers("KONWA, LUDMILA  DOB 03/04/1961", "KONWA, LUDMILA"));
    assert!(covers("note\nOkonkwo, Ifeoma 62F", "Okonkwo, Ifeoma"));
    // Inside a sentence, two unknown words around a comma say nothing.
    assert!(found("given Zosyn, Flagyl and vanco").is_empty());
}

#[test]
fn titles_relations_agents_signatures() {
    assert!(covers("Ms. Okonkwo reports pain.", "Okonkwo"));
    assert!(covers("Miss Nwachukwu was seen.", "Nwachukwu"));
    assert!(covers("Mr. Przybylski is stable.", "Przybylski"));
    assert!(covers("Dr. Adebayo to follow.", "Adebayo"));
    assert!(covers("Dr. o rourke aware", "rourke"));
    assert!(covers("SPOKE WITH HO SCHWARZ", "SCHWARZ"));
    assert!(covers("daughter Chiamaka called.", "Chiamaka"));
    assert!(covers("daughter pat lives close by", "pat"));
    assert!(covers("Seen by Adaeze Nwosu.", "Adaeze Nwosu"));
    assert!(covers("Electronically signed by Chidi Okafor, MD", "Chidi Okafor"));
    assert!(covers("per d ross, pacing wires", "d ross"));
    assert!(covers("Sincerely,\nAdaeze Nwosu", "Adaeze Nwosu"));
    assert!(found("Seen by Cardic Transplant team").is_empty());
    assert!(found("seen by Transplant surgery").is_empty());
}

#[test]
fn typos_of_vocabulary() {
    assert!(typo_of_vocabulary("DEINES"));
    assert!(typo_of_vocabulary("remian"));
    assert!(!typo_of_vocabulary("Okonkwo"));
    assert!(!typo_of_vocabulary("Smith"));
}

#[test]
fn age_phrases() {
    for yes in [
        " is a 62 year old woman",
        ", a 62 y/o man",
        " is 62 yo",
        " was an 80-year-old",
        ", 45 M",
        " is a 7 month old",
        ", 71 y.o. female",
        " is a 62yo",
        " IS A 62 YO",
    ] {
        assert!(age_follows(yes), "{yes:?}");
    }
    for no in [" is a 62 kg", ", 62 mg", " is on 2 L", " is", ", a", " is a 1234 year"] {
        assert!(!age_follows(no), "{no:?}");
    }
}

const SYLLABLES: &[&str] =
    &["ko", "nwa", "chi", "de", "ba", "yo", "zu", "lo", "mi", "ek", "ny", "quo", "ush", "adze", "ifo", "ola", "tsi"];

/// Surnames no list knows: syllable strings that are no Census name, no
/// vocabulary, no English word and no typo of one.
fn rare_surname() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(SYLLABLES), 2..5)
        .prop_map(|parts| {
            let w: String = parts.concat();
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .prop_filter("unknown to every list", |w| {
            let (f, cue) = lookup(w);
            !f.intersects(Flags::NAME | Flags::COMMON | Flags::STOP | Flags::PLACE | Flags::FACILITY)
                && cue == crate::dictionary::Cue::None
                && !is_english_word(w)
                && !typo_of_vocabulary(w)
        })
}

const FIRSTS: &[&str] = &["Margaret", "Philomena", "Gerald", "Ludmila", "Horatio", "Suzette", "Marisol"];

proptest! {
    #[test]
    fn a_rare_surname_after_a_strong_cue_is_a_name(
        last in rare_surname(),
        first in proptest::sample::select(FIRSTS),
        age in 18u8..100,
        form in 0usize..8,
    ) {
        let text = match form {
            0 => format!("Patient {last} was admitted overnight."),
            1 => format!("Patient {first} {last}, MRN: 88231457."),
            2 => format!("Patient: {first} {last}, MRN: 88231457."),
            3 => format!("{first} {last} is a {age} year old woman."),
            4 => format!("Name: {first} {last}"),
            5 => format!("Mrs. {first} {last} was seen today."),
            6 => format!("Emergency contact: {last}, {first}"),
            _ => format!("Seen by {first} {last}. Plan discussed."),
        };
        prop_assert!(covers(&text, &last), "{text:?}: {:?}", found(&text));
    }
}

proptest! {
    /// Cue fragments glued to arbitrary text: every rule stays on character
    /// boundaries and never panics (multi-byte text right after a cue, an
    /// apostrophe at the end, a colon with nothing after it).
    #[test]
    fn cue_rules_never_panic(parts in proptest::collection::vec(prop_oneof![
        Just("Patient ".to_owned()),
        Just("Name: ".to_owned()),
        Just(" is a 62 yo".to_owned()),
        Just(" IS A 7".to_owned()),
        Just(", ".to_owned()),
        Just("Sincerely,\n".to_owned()),
        Just("seen by ".to_owned()),
        Just("Okonkwo".to_owned()),
        Just("'".to_owned()),
        "\\PC{0,6}",
    ], 0..12)) {
        let text = parts.concat();
        let toks = tokenize(&text);
        for f in find(&text, &toks, RuleSet::default()) {
            prop_assert!(f.span.start <= f.span.end && f.span.end <= text.len());
            prop_assert!(text.is_char_boundary(f.span.start) && text.is_char_boundary(f.span.end));
        }
        let _ = Detector::new().detect(&text);
    }
}
