//! Cue rules that name a person whose words are in no dictionary.
//!
//! The Census lists miss most surnames a hospital sees ("Okonkwo",
//! "Przybylo"), so a rule that needs dictionary evidence misses them even
//! right after "Patient" or "Name:". These rules trust the cue instead: a
//! strong cue turns the capitalized word run next to it (one to three words
//! on the same line) into a name, unless a word is clinical vocabulary
//! ([`Flags::COMMON`]), a function word or another cue. How much the shape of
//! the run must say depends on how strong the cue is (`Strength` below):
//! after "Name:" any word that is not vocabulary will do; after "Patient" an
//! unknown word must be written like a proper noun and not be an English
//! word or a typo of vocabulary, since "Patient Education" is a heading and
//! "PT DEINES ANY PAIN" a typo, not a person.

use super::Ctx;
use crate::dictionary::{Cue, Flags, is_english_word, typo_of_vocabulary};
use crate::span::Kind;

/// How much a cue vouches for the words next to it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Strength {
    /// "Patient", "pt", "seen by": an unknown word must look like a proper
    /// noun (capitalized in a mixed-case note).
    Medium,
    /// "Name:", "Emergency contact:", "is a 62 year old": an unknown word in
    /// any case.
    Strong,
}

/// Label words that, before a colon, introduce a person's name
/// ("Patient Name:", "Emergency contact:", "Signed:", "PCP:").
const NAME_LABELS: &[&str] = &[
    "name",
    "names",
    "contact",
    "contacts",
    "kin",
    "nok",
    "caller",
    "informant",
    "interpreter",
    "guardian",
    "signed",
    "signature",
    "cosigned",
    "author",
    "by",
    "attending",
    "pcp",
    "physician",
    "provider",
    "surgeon",
    "clinician",
    "intern",
    "witness",
    "parent",
];

/// Verbs after which "by" introduces a person ("seen by", "signed by").
const BY_VERBS: &[&str] = &[
    "seen",
    "signed",
    "cosigned",
    "evaluated",
    "examined",
    "dictated",
    "reviewed",
    "written",
    "authored",
    "attested",
    "transcribed",
    "performed",
    "interpreted",
    "covered",
    "accompanied",
    "referred",
    "followed",
    "managed",
    "visited",
    "assessed",
    "treated",
    "admitted",
    "discharged",
    "prepared",
    "approved",
    "verified",
];

/// Words after a department's name ("seen by Nsurg team").
const SERVICE_WORDS: &[&str] = &[
    "team",
    "service",
    "services",
    "consult",
    "consults",
    "transplant",
    "surgery",
    "surgical",
    "medicine",
    "department",
    "dept",
    "staff",
    "clinic",
    "group",
    "fellow",
    "fellows",
    "resident",
    "residents",
    "attending",
    "physicians",
];

/// Closings after which the next line is a signature.
const CLOSINGS: &[&str] = &["sincerely", "regards", "thanks", "cheers", "respectfully", "best"];

impl Ctx<'_> {
    /// Runs the rules of this module that can apply at word `i`. One cheap
    /// look at the word's flags and the byte after it rules most words out
    /// for all of them at once (this runs for every word of every note).
    pub(super) fn person(&mut self, i: usize) {
        let Some(t) = self.tok(i) else { return };
        let next = self.text.as_bytes().get(t.end).copied().unwrap_or(b'\n');
        // Could the word be (or the next word start) a name after a cue? For
        // most words of a note (vocabulary) that settles every rule below.
        let nameish = |n: &crate::token::Token| {
            !n.has(Flags::STOP | Flags::INITIAL)
                && n.cue == Cue::None
                && (!n.has(Flags::COMMON) || n.has(Flags::NAME) && n.has(Flags::CAP))
        };
        let next_nameish = self.tok(i + 1).is_some_and(|n| nameish(&n) || n.has(Flags::INITIAL));
        if next_nameish {
            if t.has(Flags::STOP) && matches!(self.text.as_bytes()[t.start], b'p' | b'P') {
                self.patient(i);
            }
            let colon = || self.text.as_bytes()[t.end..].iter().take(4).find(|&&b| b != b' ') == Some(&b':');
            if matches!(next, b':' | b' ') && colon() {
                self.label(i);
            }
            if t.cue == Cue::Introducer {
                self.by_agent(i);
            }
            if t.has(Flags::CAP) && matches!(next, b',' | b'\n' | b'\r') && (4..=12).contains(&(t.end - t.start)) {
                self.signature(i);
            }
        }
        if !nameish(&t) {
            return;
        }
        // The age rule looks back from the word before the age.
        if matches!(next, b' ' | b',') {
            self.age_phrase(i);
        }
        if next == b',' {
            self.unknown_comma_first(i);
        }
        if next == b' ' && t.has(Flags::FIRST) {
            self.first_unknown(i);
        }
    }

    /// Could the word at `k` be part of a name, given a cue of `strength`?
    ///
    /// Never: function words, cue words, single letters, clinical vocabulary
    /// (unless a Census name written as a proper noun after a strong cue:
    /// "Name: Rose Hill"), verbs made of abbreviations ("CPT'd"). After a
    /// strong cue, any other word. After a medium cue, a Census name written
    /// with a capital (in an all-caps note: four letters or more, not an
    /// English word, not a typo of vocabulary), or an unknown word written as
    /// a proper noun where case carries information and not an English word
    /// ("Patient Education").
    fn cued_name_word(&self, k: usize, strength: Strength) -> bool {
        let Some(t) = self.tok(k) else { return false };
        if t.has(Flags::STOP | Flags::INITIAL) || t.cue != Cue::None || t.end - t.start < 2 {
            return false;
        }
        if t.has(Flags::COMMON) {
            return strength == Strength::Strong && t.has(Flags::NAME) && self.proper_case(k);
        }
        let w = t.text(self.text);
        // "NTS'd", "CPT'd": a verb made of an abbreviation.
        if w.ends_with("'d") || w.ends_with("'ed") {
            return false;
        }
        let long = t.end - t.start >= 4;
        match strength {
            Strength::Strong => true,
            // "pt aud": Census oddities in lower case are words; in an
            // all-caps note only longer names that are not English words.
            Strength::Medium if t.has(Flags::NAME) => {
                if self.shouting {
                    long && !t.has(Flags::ENGLISH) && !typo_of_vocabulary(w)
                } else {
                    t.has(Flags::CAP)
                }
            }
            // "Patient OKONKWO" in a mixed-case note; short all-caps words
            // there are abbreviations ("Pt NPO").
            Strength::Medium => {
                !self.shouting
                    && t.has(Flags::CAP)
                    && (!t.has(Flags::UPPER) || long)
                    && !is_english_word(w)
                    && !typo_of_vocabulary(w)
            }
        }
    }

    /// The last word of a name run starting at `j`: up to three words (and
    /// initials before a word) on one line, joined by spaces or hyphens (a
    /// period only after an initial), each acceptable under `strength`.
    fn cued_run(&self, j: usize, strength: Strength) -> Option<usize> {
        let word_after_initial =
            |cx: &Self, k: usize| cx.is_initial(k) && cx.joined(k, &['.']) && cx.cued_name_word(k + 1, strength);
        // "Name: Okonkwo DOB": an all-caps word after a mixed-case one is an
        // abbreviation, not more of the name.
        let same_case = |cx: &Self, k: usize| {
            cx.shouting
                || cx.tok(k).is_some_and(|t| !t.has(Flags::UPPER) || t.end - t.start == 1)
                || cx.tok(j).is_some_and(|t| t.has(Flags::UPPER))
        };
        let mut last = if self.cued_name_word(j, strength) {
            j
        } else if word_after_initial(self, j) {
            // "Name: J. Okonkwo"
            j + 1
        } else {
            return None;
        };
        while last - j < 3 && self.joined(last, &['-']) {
            // "NWOSU-EZE": the second half of a hyphenated name needs less.
            let st = if self.gap_after(last) == "-" { Strength::Strong } else { strength };
            if self.cued_name_word(last + 1, st) && same_case(self, last + 1) {
                last += 1;
            } else if word_after_initial(self, last + 1) {
                last += 2;
            } else {
                break;
            }
        }
        Some(last)
    }

    /// "Patient Margaret Okonkwo", "pt Okonkwo", "Patient: OKONKWO, MARGARET".
    fn patient(&mut self, i: usize) {
        let Some(t) = self.tok(i) else { return };
        if !(2..=8).contains(&(t.end - t.start)) || !matches!(self.text.as_bytes()[t.start], b'p' | b'P') {
            return;
        }
        if !self.is(i, &["patient", "pt", "pts", "patients", "patient's", "pt's"]) {
            return;
        }
        let g = self.gap_after(i);
        if !matches!(g, " " | ": " | ":" | ". " | ":  " | "  ") {
            return;
        }
        let j = i + 1;
        if let Some(last) = self.cued_run(j, Strength::Medium) {
            self.emit(j, last, Kind::Name, "patient");
            self.comma_first(last);
        }
    }

    /// "Name: Margaret Okonkwo", "Emergency contact: okonkwo", "Signed: M.
    /// Okonkwo", "PCP: Adaeze Nwosu".
    fn label(&mut self, i: usize) {
        let g = self.gap_after(i);
        if !g.trim_start_matches(' ').starts_with(':') || g.contains('\n') {
            return;
        }
        if !self.is(i, NAME_LABELS) {
            return;
        }
        let j = i + 1;
        if let Some(last) = self.cued_run(j, Strength::Strong) {
            self.emit(j, last, Kind::Name, "label");
            self.comma_first(last);
        }
    }

    /// "OKONKWO, MARGARET" after a cue: the given name after the comma.
    fn comma_first(&mut self, last: usize) {
        let j = last + 1;
        if self.gap_after(last) == ", "
            && self.tok(j).is_some_and(|n| n.has(Flags::FIRST) && !n.has(Flags::STOP) && n.cue == Cue::None)
            && !self.tok(j).is_some_and(|n| n.has(Flags::COMMON) && !self.proper_case(j))
        {
            let l2 = self.cued_run(j, Strength::Medium).unwrap_or(j);
            self.emit(j, l2, Kind::Name, "last-comma-first");
        }
    }

    /// "Margaret Okonkwo is a 62 year old", "Okonkwo, a 62 y/o man",
    /// "MARGARET OKONKWO IS 62 YO": the words right before an age.
    fn age_phrase(&mut self, k: usize) {
        let Some(t) = self.tok(k) else { return };
        if t.has(Flags::STOP | Flags::INITIAL) || t.cue != Cue::None {
            return;
        }
        if !(t.has(Flags::NAME) || t.has(Flags::CAP) || !t.has(Flags::COMMON)) {
            return;
        }
        let rest = &self.text[t.end..];
        // Fast exit: the age phrase starts with ", ", " is" or " was".
        let starts = |p: &str| rest.as_bytes().get(..p.len()).is_some_and(|b| b.eq_ignore_ascii_case(p.as_bytes()));
        if !(starts(", ") || starts(" is ") || starts(" was ")) {
            return;
        }
        if !self.cued_name_word(k, Strength::Strong) || !age_follows(rest) {
            return;
        }
        let mut first = k;
        while first > 0 && k - first < 2 && self.joined(first - 1, &['.', '-']) {
            let p = first - 1;
            if self.cued_name_word(p, Strength::Strong) || (self.is_initial(p) && self.gap_after(p).starts_with('.')) {
                first = p;
            } else {
                break;
            }
        }
        self.emit(first, k, Kind::Name, "age");
    }

    /// "Margaret Okonkwo": a Census first name written as a proper noun and
    /// then a capitalized word that no list knows is a full name.
    fn first_unknown(&mut self, i: usize) {
        let Some(t) = self.tok(i) else { return };
        if !t.has(Flags::FIRST) || t.has(Flags::COMMON | Flags::STOP | Flags::INITIAL) || t.cue != Cue::None {
            return;
        }
        if !self.proper_case(i) || self.gap_after(i) != " " {
            return;
        }
        let j = i + 1;
        let unknown = self.tok(j).is_some_and(|n| {
            !n.has(Flags::NAME | Flags::COMMON | Flags::STOP | Flags::INITIAL | Flags::PLACE | Flags::FACILITY)
                && n.cue == Cue::None
                && n.has(Flags::CAP)
                // "Margaret DOB": an abbreviation, not a surname.
                && (!n.has(Flags::UPPER) || t.has(Flags::UPPER))
                && n.end - n.start >= 2
                && !is_english_word(n.text(self.text))
        });
        if unknown {
            self.emit(i, j, Kind::Name, "first-unknown");
        }
    }

    /// "Okonkwo, Margaret", "OKONKWO, MARGARET": an unknown capitalized word,
    /// a comma, then a Census first name that is not vocabulary. At the head
    /// of a line (a record header: "KONWA, LUDMILA  DOB …") the given name
    /// may be unknown too.
    fn unknown_comma_first(&mut self, i: usize) {
        let Some(t) = self.tok(i) else { return };
        if !t.has(Flags::CAP) || t.end - t.start < 3 || self.gap_after(i) != ", " {
            return;
        }
        let unknown = |n: &crate::token::Token| {
            !n.has(Flags::NAME | Flags::COMMON | Flags::STOP | Flags::PLACE | Flags::FACILITY | Flags::INITIAL)
                && n.cue == Cue::None
        };
        if !unknown(&t) {
            return;
        }
        let j = i + 1;
        let Some(n) = self.tok(j) else { return };
        let shaped = n.has(Flags::CAP)
            && !n.has(Flags::COMMON | Flags::STOP | Flags::INITIAL)
            && n.cue == Cue::None
            && n.has(Flags::UPPER) == t.has(Flags::UPPER);
        let line_head = self.text[..t.start].trim_end_matches([' ', '\t']).is_empty()
            || self.text[..t.start].trim_end_matches([' ', '\t']).ends_with('\n');
        let given = n.has(Flags::FIRST) || (line_head && n.end - n.start >= 3 && !is_english_word(n.text(self.text)));
        if shaped && given && !is_english_word(t.text(self.text)) {
            self.emit(i, j, Kind::Name, "last-comma-first");
        }
    }

    /// "seen by Okonkwo", "Electronically signed by Adaeze Nwosu": "by"
    /// after a verb of care or authorship.
    fn by_agent(&mut self, i: usize) {
        if i == 0 || self.toks[i].cue != Cue::Introducer || self.word(i) != "by" || !self.joined(i, &[':', ',']) {
            return;
        }
        if !self.joined(i - 1, &[]) || !self.is(i - 1, BY_VERBS) {
            return;
        }
        let j = i + 1;
        // "seen by Dr. X" is the title rule's; "seen by Cardic Transplant
        // team" is a service.
        if let Some(last) = self.cued_run(j, Strength::Medium)
            && !(last == j && self.is(j + 1, SERVICE_WORDS))
        {
            self.emit(j, last, Kind::Name, "by-agent");
        }
    }

    /// "Sincerely,\nMargaret Okonkwo": the line after a closing.
    fn signature(&mut self, i: usize) {
        let Some(t) = self.tok(i) else { return };
        let g = self.gap_after(i);
        if !t.has(Flags::CAP) || !g.contains('\n') || !self.is(i, CLOSINGS) {
            return;
        }
        let g = g.strip_prefix(',').unwrap_or(g);
        if !g.contains('\n') || g.chars().any(|c| !c.is_whitespace()) {
            return;
        }
        let j = i + 1;
        if let Some(last) = self.cued_run(j, Strength::Medium) {
            self.emit(j, last, Kind::Name, "signature");
        }
    }
}

/// True if `rest` (the text right after a word) is an age phrase: ", a 62
/// year old", " is a 62 yo", " is 62 y/o", " was an 80-year-old", ", 45M".
fn age_follows(rest: &str) -> bool {
    // Lowercase a short prefix on the stack: "MARGARET OKONKWO IS A 62 YO".
    let mut buf = [0u8; 32];
    let n = rest.len().min(buf.len());
    buf[..n].copy_from_slice(&rest.as_bytes()[..n]);
    buf[..n].make_ascii_lowercase();
    let lowered = match std::str::from_utf8(&buf[..n]) {
        Ok(s) => s,
        // Cut inside a multi-byte character: use the valid part.
        Err(e) => std::str::from_utf8(&buf[..e.valid_up_to()]).unwrap_or(""),
    };
    let rest = lowered;
    let mut s = rest;
    let mut article = false;
    for p in [", ", " is ", " was "] {
        if let Some(r) = s.strip_prefix(p) {
            s = r;
            break;
        }
    }
    for p in ["a ", "an "] {
        if let Some(r) = s.strip_prefix(p) {
            s = r;
            article = true;
            break;
        }
    }
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if !(1..=3).contains(&digits) {
        return false;
    }
    let s = &s[digits..];
    let s = s.strip_prefix(['-', ' ']).unwrap_or(s);
    let unit: String = s.chars().take_while(|c| c.is_ascii_alphabetic() || *c == '/' || *c == '.').collect();
    let unit = unit.trim_end_matches('.');
    matches!(unit, "year" | "years" | "yr" | "yrs" | "yo" | "y/o" | "y.o" | "y" | "yom" | "yof" | "y/o/m" | "y/o/f")
        || (article || rest.starts_with(", "))
            && matches!(unit, "m" | "f" | "male" | "female" | "man" | "woman" | "month" | "months")
}

#[cfg(test)]
mod tests;
