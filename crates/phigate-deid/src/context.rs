//! Context rules: weak dictionary evidence plus a cue word makes a span.
//!
//! A Census surname alone is weak evidence (the list holds "Care", "Heart",
//! "Foley"); after "Dr", before "RN", after "daughter" or in "FIRST LAST"
//! shape it is strong. Rules run over the word list of one note; a name
//! confirmed by a rule is then found again wherever else it occurs in that
//! note ("Mr. Lomish … Lomish was extubated").
//!
//! Where the rules live: this file holds the cue rules that lean on the
//! dictionaries (titles, relations, credentials, introducers, FIRST LAST);
//! `person` the rules that trust a strong cue alone, so that a surname in no
//! list is still found ("Patient Okonkwo", "Name: …", "… is a 62 year old",
//! "Okonkwo, Margaret", "seen by …", signatures); `lone` the cue-less lone
//! names and propagation; `place` facilities and places. Every rule reports
//! its name in [`Finding::rule`], which [`Detector::explain`](crate::Detector::explain)
//! shows.

use crate::dictionary::{Cue, Flags};
use crate::span::{Kind, Span};
use crate::token::{Lower, Token};

mod lone;
mod person;
mod place;
mod region;

pub use region::{OVERRIDABLE, in_region};

/// A span and the rule that proposed it (kept for tuning and explanation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The span.
    pub span: Span,
    /// Short name of the rule.
    pub rule: &'static str,
}

/// Which optional, lower-precision rules run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleSet {
    /// A lone Census first name that is not vocabulary is a name.
    pub lone_first_names: bool,
    /// A lone capitalized Census surname (in mixed-case text) is a name.
    pub lone_surnames: bool,
    /// Use the site facility gazetteer (`data/facilities.txt`). Off, only
    /// generic facility rules run: how the engine does at a site whose
    /// facilities it has never seen.
    pub site_gazetteer: bool,
}

impl Default for RuleSet {
    fn default() -> Self {
        Self { lone_first_names: true, lone_surnames: true, site_gazetteer: true }
    }
}

struct Ctx<'a> {
    text: &'a str,
    toks: &'a [Token],
    /// True when the note is (almost) all upper case, so capitals say nothing.
    shouting: bool,
    out: Vec<Finding>,
}

/// Runs every rule over `tokens` of `text`.
pub fn find(text: &str, tokens: &[Token], rules: RuleSet) -> Vec<Finding> {
    let stripped: Vec<Token>;
    let tokens = if rules.site_gazetteer {
        tokens
    } else {
        stripped = tokens.iter().map(|t| Token { flags: t.flags.without(Flags::FACILITY), ..*t }).collect();
        &stripped
    };
    let letters = tokens.iter().filter(|t| t.has(Flags::CAP)).count();
    let upper = tokens.iter().filter(|t| t.has(Flags::UPPER)).count();
    let mut cx = Ctx { text, toks: tokens, shouting: letters > 0 && upper * 10 >= tokens.len() * 6, out: Vec::new() };
    for i in 0..tokens.len() {
        cx.title(i);
        cx.relation(i);
        cx.credential(i);
        cx.introducer(i);
        cx.informed(i);
        cx.contact(i);
        cx.initial_surname(i);
        cx.dotted_initials(i);
        cx.first_last(i);
        cx.person(i);
        cx.facility(i);
        cx.place(i);
        cx.street_name(i);
        cx.residence(i);
        cx.employer(i);
        cx.destination(i);
        if rules.lone_first_names {
            cx.lone_first(i);
        }
        if rules.lone_surnames {
            cx.lone_last(i);
        }
    }
    cx.propagate();
    cx.out
}

/// True if `word` (token `t`'s text, or its stem) is known to no list, no
/// clinical vocabulary and no English dictionary, and is no typo of
/// vocabulary (one edit away): three letters or more, letters only. After a
/// cue that says what kind of word comes next, such a word is the
/// identifier itself (a name new to every list: "son Kria", "DAUGHTER
/// TUJIMOUFF"); the classifier asks the same of a word after a name.
pub(crate) fn unknown_word(t: &Token, word: &str) -> bool {
    !t.has(Flags::COMMON | Flags::STOP | Flags::INITIAL | Flags::NAME | Flags::PLACE | Flags::FACILITY)
        && t.cue == Cue::None
        && word.len() >= 3
        && word.bytes().all(|c| c.is_ascii_alphabetic())
        && !crate::dictionary::is_english_word(word)
        && !crate::dictionary::near_vocabulary(word)
}

/// Dotted abbreviations of roles and services ("R.T.", "P.T.", "S.W."),
/// which follow "by" as a person's initials do.
const ROLE_INITIALS: &[&str] = &[
    "rt", "pt", "ot", "st", "sw", "np", "pa", "rn", "md", "do", "cm", "ep", "gi", "er", "ed", "or", "ir", "ns", "us",
    "lpn", "cna", "rrt", "crna", "slp",
];

/// Words that announce a phone number ("cell# 410-…", "office phone 208-…").
const PHONE_CUES: &[&str] = &["cell", "home", "phone", "tel", "pager", "beeper", "work", "office"];

impl Ctx<'_> {
    fn tok(&self, i: usize) -> Option<Token> {
        self.toks.get(i).copied()
    }

    /// Text between token `i` and token `i + 1`.
    fn gap_after(&self, i: usize) -> &str {
        match (self.toks.get(i), self.toks.get(i + 1)) {
            (Some(a), Some(b)) => &self.text[a.end..b.start],
            (Some(a), None) => &self.text[a.end..],
            _ => "",
        }
    }

    /// Same line, separated by spaces and at most one of `.`/`,`.
    fn joined(&self, i: usize, allow: &[char]) -> bool {
        let g = self.gap_after(i);
        !g.is_empty()
            && g.len() <= 4
            && g.chars().all(|c| c == ' ' || allow.contains(&c))
            && g.chars().filter(|c| *c != ' ').count() <= 1
    }

    fn emit(&mut self, first: usize, last: usize, kind: Kind, rule: &'static str) {
        if let (Some(a), Some(b)) = (self.toks.get(first), self.toks.get(last)) {
            self.out.push(Finding { span: Span::new(a.start, b.end, kind), rule });
        }
    }

    /// Could be part of a name given strong context: not a function word or
    /// cue, and either a Census name or not ordinary vocabulary.
    fn name_given_context(&self, i: usize) -> bool {
        self.tok(i).is_some_and(|t| {
            !t.has(Flags::STOP)
                && t.cue == Cue::None
                && (t.has(Flags::NAME) || !t.has(Flags::COMMON))
                && !t.has(Flags::INITIAL)
        })
    }

    /// Could be a name with no context at all.
    fn name_alone(&self, i: usize) -> bool {
        self.tok(i).is_some_and(|t| !t.has(Flags::STOP | Flags::COMMON | Flags::INITIAL) && t.cue == Cue::None)
    }

    fn is_initial(&self, i: usize) -> bool {
        self.tok(i).is_some_and(|t| t.has(Flags::INITIAL) && t.has(Flags::CAP) && !t.has(Flags::STOP))
            || self.tok(i).is_some_and(|t| t.has(Flags::INITIAL) && self.gap_after(i).starts_with('.'))
    }

    /// Extends a name that starts at `i` over following name words and
    /// initials on the same line; returns the last index.
    fn extend(&self, i: usize) -> usize {
        let mut last = i;
        let mut k = i;
        while k + 1 < self.toks.len() && k < i + 3 {
            if !self.joined(k, &['.', '-']) {
                break;
            }
            let next = k + 1;
            if self.name_alone(next)
                || (self.is_initial(next) && self.name_given_context(next + 1))
                || self.tok(next).is_some_and(|t| {
                    t.has(Flags::NAME)
                        && !t.has(Flags::STOP)
                        && t.cue == Cue::None
                        && (!self.shouting && t.has(Flags::CAP))
                })
            {
                last = next;
                k = next;
            } else {
                break;
            }
        }
        last
    }

    /// Extends backwards from `i` over name words and initials.
    fn extend_back(&self, i: usize, max: usize) -> usize {
        let mut first = i;
        while first > 0 && i - first < max {
            let prev = first - 1;
            if !self.joined(prev, &['.', ',']) {
                break;
            }
            if self.name_given_context(prev) || self.is_initial(prev) {
                first = prev;
            } else {
                break;
            }
        }
        first
    }

    /// A word that no list, no clinical vocabulary and no English dictionary
    /// knows, and that is no typo of vocabulary: see [`unknown_word`].
    fn unfamiliar(&self, i: usize) -> bool {
        self.tok(i).is_some_and(|t| unknown_word(&t, t.text(self.text)))
    }

    /// "Oron's": a possessive whose stem is [`Self::unfamiliar`], as in a
    /// facility named for someone ("St. Oron's", "at makirle beeld's").
    fn unfamiliar_possessive(&self, i: usize) -> bool {
        self.tok(i).is_some_and(|t| {
            let w = t.text(self.text);
            w.strip_suffix("'s").or_else(|| w.strip_suffix("'S")).is_some_and(|stem| unknown_word(&t, stem))
        })
    }

    /// The word at `i`, ASCII-lowercased on the stack.
    fn word(&self, i: usize) -> Lower {
        self.toks.get(i).map_or_else(Lower::default, |t| Lower::new(&self.text[t.start..t.end]))
    }

    /// True if the word at `i` is one of `words` (lowercase), in any case.
    fn is(&self, i: usize, words: &[&str]) -> bool {
        self.toks.get(i).is_some_and(|t| {
            let w = &self.text[t.start..t.end];
            words.iter().any(|x| x.eq_ignore_ascii_case(w))
        })
    }

    /// Capitalized where capitals carry information (not in an all-caps note).
    fn proper_case(&self, i: usize) -> bool {
        !self.shouting && self.tok(i).is_some_and(|t| t.has(Flags::CAP) && !t.has(Flags::UPPER))
    }

    /// A name word after a cue: a Census name that is not vocabulary, or an
    /// unknown word; vocabulary that is also a Census name only when `lenient`
    /// and written like a proper noun.
    fn name_after_cue(&self, i: usize, lenient: bool) -> bool {
        self.tok(i).is_some_and(|t| {
            !t.has(Flags::STOP | Flags::INITIAL)
                && t.cue == Cue::None
                && (!t.has(Flags::COMMON) || (lenient && t.has(Flags::NAME)))
        })
    }

    /// "Dr. Smith", "DR JONES", "Mrs. Haas", "nurse Virginia Sallese".
    fn title(&mut self, i: usize) {
        let Some(t) = self.tok(i) else { return };
        let clinician = t.cue == Cue::Credential && matches!(self.word(i).as_str(), "md" | "np" | "pa" | "rn");
        if !(t.cue == Cue::Title || clinician) || !self.joined(i, &['.']) {
            return;
        }
        let strong = matches!(self.word(i).as_str(), "dr" | "drs" | "doctor" | "mr" | "mrs" | "miss" | "mister");
        // "3-4+MR." is mitral regurgitation, not a title.
        if self.text[..t.start].ends_with(|c: char| c.is_ascii_digit() || c == '+') {
            return;
        }
        let mut j = i + 1;
        // "Dr. J. Smith", "Dr. o rourke" (O'Rourke without the apostrophe)
        if (self.is_initial(j) || (strong && self.word(j) == "o"))
            && self.joined(j, &['.'])
            && self.name_after_cue(j + 1, strong)
        {
            j += 1;
        }
        let stop_first = strong
            && self.proper_case(j)
            && self.tok(j).is_some_and(|n| n.has(Flags::FIRST))
            && self.joined(j, &[])
            && self.name_after_cue(j + 1, false);
        if !self.name_after_cue(j, strong) && !stop_first {
            return;
        }
        let first_name = self.tok(j).is_some_and(|n| n.has(Flags::FIRST) && !n.has(Flags::COMMON));
        if !(strong || self.proper_case(j) || self.shouting || first_name) {
            return;
        }
        let last = self.extend(j);
        self.emit(i + 1, last, Kind::Name, "title");
        // "Drs Ferullo and Saeed"
        if self.word(last + 1) == "and" && self.name_after_cue(last + 2, false) {
            let l2 = self.extend(last + 2);
            self.emit(last + 2, l2, Kind::Name, "title");
        }
    }

    /// "daughter Peggy", "son, bill", "wife (Irene Sherwood", and
    /// "Ursla Moretti (daughter)".
    fn relation(&mut self, i: usize) {
        let Some(t) = self.tok(i) else { return };
        if t.cue != Cue::Relation {
            return;
        }
        let specific = !self.is(i, &["other", "law", "friend", "partner", "proxy", "hcp", "poa", "companion"]);
        let relative = |cx: &Self, j: usize| {
            cx.tok(j).is_some_and(|n| {
                !n.has(Flags::STOP | Flags::INITIAL)
                    && n.cue == Cue::None
                    && ((n.has(Flags::NAME) && !n.has(Flags::COMMON))
                        // "daughter pat": after a relation a first name is a
                        // name in any case, unless the relation is vague.
                        || (n.has(Flags::FIRST) && (cx.proper_case(j) || cx.shouting || specific))
                        || (!n.has(Flags::COMMON) && cx.proper_case(j))
                        // "SON KRIA", "dtr holsbio": where case says nothing,
                        // a word no list or dictionary knows after a specific
                        // relation.
                        || (specific && !cx.proper_case(j) && cx.unfamiliar(j)))
            })
        };
        // Forward.
        let g = self.gap_after(i);
        if g.len() <= 4 && !g.contains('\n') && g.chars().all(|c| " ,:(-\"'".contains(c)) {
            let mut j = i + 1;
            if ["is", "named"].contains(&self.word(j).as_str()) && self.joined(j, &[',']) {
                j += 1;
            }
            if relative(self, j) {
                let last = self.extend(j);
                self.emit(j, last, Kind::Name, "relation");
                // "daughters sarah and margie"
                if self.word(last + 1) == "and" && relative(self, last + 2) {
                    let l2 = self.extend(last + 2);
                    self.emit(last + 2, l2, Kind::Name, "relation");
                }
            }
        }
        // Backward: "Moretti (daughter)" / "Hank Przybylo (son)".
        if i > 0 {
            let prev = i - 1;
            let gp = self.gap_after(prev).trim();
            if (gp == "(" || gp == "-" || gp == "- ")
                && self.tok(prev).is_some_and(|p| p.has(Flags::NAME) || !p.has(Flags::COMMON))
                && self.name_after_cue(prev, false)
            {
                let first = self.extend_back(prev, 2);
                self.emit(first, prev, Kind::Name, "relation-after");
            }
        }
    }

    /// "anita morris rn", "FRANCIS G. LEVINE, RRT", "barbara j. parrilli bsn/rn".
    fn credential(&mut self, i: usize) {
        let Some(t) = self.tok(i) else { return };
        if t.cue != Cue::Credential || i == 0 {
            return;
        }
        // Skip a preceding credential ("bsn/rn").
        let mut prev = i - 1;
        if self.tok(prev).is_some_and(|p| p.cue == Cue::Credential) && prev > 0 {
            prev -= 1;
        }
        let gp = self.gap_after(prev);
        if gp.contains('\n') || gp.len() > 3 || !gp.chars().all(|c| " ,/.".contains(c)) {
            return;
        }
        let plain = |cx: &Self, k: usize| {
            cx.tok(k)
                .is_some_and(|t| !t.has(Flags::STOP | Flags::COMMON) && t.cue == Cue::None && !t.has(Flags::INITIAL))
        };
        if !plain(self, prev) {
            return;
        }
        let mut first = prev;
        while first > 0 && prev - first < 3 && self.joined(first - 1, &['.', ',']) {
            if plain(self, first - 1) || self.is_initial(first - 1) {
                first -= 1;
            } else {
                break;
            }
        }
        // "PA" and "MD" are also anatomy and orders: demand a fuller name.
        let weak = matches!(self.word(i).as_str(), "pa" | "md" | "np");
        let words = (first..=prev).filter(|&k| !self.is_initial(k)).count();
        let named = (first..=prev).any(|k| self.tok(k).is_some_and(|t| t.has(Flags::NAME)));
        if !weak || (words >= 2 && named) || first < prev {
            self.emit(first, prev, Kind::Name, "credential");
        }
    }

    /// "seen by Dolan", "per Sullivan", "spoke with Helen", "paged Kargas".
    fn introducer(&mut self, i: usize) {
        let Some(t) = self.tok(i) else { return };
        if t.cue != Cue::Introducer {
            return;
        }
        let is_with = self.is(i, &["with"]);
        let speech = |w: &str| {
            [
                "spoke",
                "speak",
                "speaks",
                "talked",
                "talk",
                "talking",
                "made",
                "met",
                "consult",
                "spoken",
                "speaking",
                "discussed",
                "conversation",
                "meeting",
                "consulted",
                "touch",
                "work",
                "working",
            ]
            .contains(&w)
        };
        let strong_with = is_with && i > 0 && (speech(&self.word(i - 1)) || (i > 1 && speech(&self.word(i - 2))));
        if t.cue != Cue::Introducer || (is_with && !strong_with) {
            return;
        }
        if !self.joined(i, &[':', ',']) {
            return;
        }
        let mut j = i + 1;
        // "per d ross": an initial, then the surname.
        if self.tok(j).is_some_and(|n| n.has(Flags::INITIAL) && !n.has(Flags::STOP))
            && self.joined(j, &['.'])
            && self.tok(j + 1).is_some_and(|n| n.has(Flags::LAST) && !n.has(Flags::COMMON | Flags::STOP))
        {
            j += 1;
        }
        // "talked with rolio": after someone spoken with, a word no list,
        // vocabulary or dictionary knows is a name in any case. (Not after
        // "per": "replaced per protol", "per standards".)
        let ok = self.tok(j).is_some_and(|n| {
            !n.has(Flags::STOP | Flags::INITIAL)
                && n.cue == Cue::None
                && ((n.has(Flags::NAME) && !n.has(Flags::COMMON))
                    || (strong_with && !n.has(Flags::COMMON) && (self.proper_case(j) || self.shouting))
                    || (strong_with && self.unfamiliar(j)))
        });
        if ok {
            let last = self.extend(j);
            self.emit(i + 1, last, Kind::Name, "introducer");
        }
    }

    /// "Lopie Certusi cell# 410-…": a name right before a phone cue.
    fn contact(&mut self, i: usize) {
        // The digits that must follow are checked first: they are rarer.
        if i == 0
            || !self.gap_after(i).trim_start().starts_with(['#', ':', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'])
        {
            return;
        }
        if !self.is(i, PHONE_CUES) {
            return;
        }
        let after = self.gap_after(i).trim_start();
        if !(after.starts_with('#') || after.starts_with(|c: char| c.is_ascii_digit()) || after.starts_with(':')) {
            return;
        }
        let prev = i - 1;
        if !self.joined(prev, &[',', '-']) {
            return;
        }
        // "office phone": a cue before the cue is not a name.
        let plain = |cx: &Self, k: usize| {
            cx.tok(k).is_some_and(|t| !t.has(Flags::STOP | Flags::COMMON | Flags::INITIAL) && t.cue == Cue::None)
                && !cx.is(k, PHONE_CUES)
        };
        if plain(self, prev) {
            let mut first = prev;
            if first > 0 && self.joined(first - 1, &[]) && plain(self, first - 1) {
                first -= 1;
            }
            self.emit(first, prev, Kind::Name, "contact");
        }
    }

    /// "Marotta aware", "Taggart notified".
    fn informed(&mut self, i: usize) {
        if i == 0 || !matches!(self.toks[i].cue, Cue::Informed | Cue::Introducer) {
            return;
        }
        let w = self.word(i);
        let prev = i - 1;
        if !self.joined(prev, &[]) {
            return;
        }
        // "bill called", "george visited": a first name that does something.
        if ["called", "visited", "phoned", "calling", "visiting"].contains(&w.as_str())
            && self
                .tok(prev)
                .is_some_and(|p| p.has(Flags::FIRST) && !p.has(Flags::STOP | Flags::INITIAL) && p.cue == Cue::None)
        {
            self.emit(prev, prev, Kind::Name, "acts");
            return;
        }
        if !["aware", "notified", "updated", "informed", "paged"].contains(&w.as_str()) {
            return;
        }
        if self
            .tok(prev)
            .is_some_and(|p| p.has(Flags::NAME) && !p.has(Flags::COMMON | Flags::STOP) && p.cue == Cue::None)
        {
            let first = self.extend_back(prev, 2);
            self.emit(first, prev, Kind::Name, "informed");
        }
    }

    /// "W. MAROTTA", "B. Kargas", "Z. MILLER".
    fn initial_surname(&mut self, i: usize) {
        let Some(t) = self.tok(i) else { return };
        if !t.has(Flags::INITIAL) || !t.has(Flags::CAP) {
            return;
        }
        let g = self.gap_after(i);
        if !(g == ". " || g == "." || g == ".  ") {
            return;
        }
        if i > 0 && self.gap_after(i - 1) == "." {
            return; // "p.o." style abbreviation
        }
        // A free-standing letter: not "90'S.", "A&O.", "U/O." or a SOAP header.
        let before = self.text[..t.start].chars().next_back();
        if before.is_some_and(|c| !(c == ' ' || c == '(' || c == '-' || c == ',')) {
            return;
        }
        let line_head =
            self.text[..t.start].trim_end_matches(' ').ends_with('\n') || self.text[..t.start].trim().is_empty();
        let j = i + 1;
        let Some(n) = self.tok(j) else { return };
        if n.has(Flags::STOP | Flags::INITIAL) || n.cue != Cue::None || !n.has(Flags::CAP) {
            return;
        }
        let strong_after =
            self.tok(j + 1).is_some_and(|a| matches!(a.cue, Cue::Informed | Cue::Credential)) && self.joined(j, &[]);
        let ok = if n.has(Flags::COMMON) { n.has(Flags::LAST) && strong_after } else { !line_head || strong_after };
        if ok {
            let last = self.extend(j);
            self.emit(i, last, Kind::Name, "initial-surname");
        }
    }

    /// "Pt J.S. is", "Mr. R.T.", "seen by K.L.": a person's initials, dotted,
    /// right after a word that introduces a person. Without that word dotted
    /// capitals are as often an abbreviation ("U.S.", "P.O.").
    fn dotted_initials(&mut self, i: usize) {
        if i == 0 || !self.toks[i].has(Flags::INITIAL) || !self.toks[i].has(Flags::UPPER) {
            return;
        }
        if !self.joined(i - 1, &['.']) || !self.is(i - 1, &["pt", "patient", "mr", "mrs", "ms", "miss", "dr", "by"]) {
            return;
        }
        let dotted = |k: usize| {
            self.tok(k).is_some_and(|t| t.has(Flags::INITIAL) && t.has(Flags::UPPER))
                && matches!(self.gap_after(k), "." | ". ")
        };
        let mut last = i;
        while last - i < 2 && dotted(last) && self.gap_after(last) == "." && dotted(last + 1) {
            last += 1;
        }
        if last == i || !dotted(last) {
            return;
        }
        // "given by R.T.", "seen by P.T.": after "by", a role or service.
        let role = self.is(i - 1, &["by"]) && {
            let letters: String = (i..=last).map(|k| self.word(k).as_str().to_owned()).collect();
            ROLE_INITIALS.contains(&letters.as_str())
        };
        if !role {
            self.emit(i, last, Kind::Name, "dotted-initials");
        }
    }

    /// "Gerry Masci", "anita morris", "SMITH, JOHN".
    fn first_last(&mut self, i: usize) {
        let Some(t) = self.tok(i) else { return };
        let clean = |n: &Token| !n.has(Flags::COMMON | Flags::STOP | Flags::INITIAL) && n.cue == Cue::None;
        if t.has(Flags::FIRST) && clean(&t) {
            let j = i + 1;
            if self.joined(i, &[]) && self.tok(j).is_some_and(|n| n.has(Flags::LAST) && clean(&n)) {
                let last = self.extend(j);
                self.emit(i, last, Kind::Name, "first-last");
            }
        }
        if t.has(Flags::LAST) && clean(&t) {
            let j = i + 1;
            if self.gap_after(i) == ", " && self.tok(j).is_some_and(|n| n.has(Flags::FIRST) && clean(&n)) {
                self.emit(i, j, Kind::Name, "last-comma-first");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::tokenize;

    fn names(text: &str) -> Vec<String> {
        let toks = tokenize(text);
        let mut v: Vec<String> = find(text, &toks, RuleSet::default())
            .into_iter()
            .map(|f| text[f.span.start..f.span.end].to_owned())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    #[test]
    fn unfamiliar_word_after_a_relation_in_any_case() {
        assert_eq!(names("SOCIAL: SPOKE WITH DAUGHTER TUJIMOUFF ON PHONE"), ["TUJIMOUFF"]);
        assert_eq!(names("social: son kria in to visit"), ["kria"]);
        // After someone spoken with, in any case; not after "per".
        assert_eq!(names("CASE MANAGER SPOKE WITH QUILLANE TODAY"), ["QUILLANE"]);
        assert_eq!(names("talked with vorrick from case management"), ["vorrick"]);
        assert!(names("SON TO SPEAK WITH GALAK BANKOON IN AM.").contains(&"GALAK BANKOON".to_owned()));
        assert_eq!(names("contact was made with mcnack from ethics"), ["mcnack"]);
        assert!(names("k replaced per protol, per standards").is_empty());
        // Typos of vocabulary and vague relations stay.
        assert!(names("DAUGHTER VISTED TODAY, SON CALEED").is_empty());
        assert!(names("other ports patent, daughter's wedding").is_empty());
    }

    #[test]
    fn titles_relations_credentials() {
        assert!(names("SPOKE WITH DR RONAYNE AND HYDRALAZINE GIVEN").contains(&"RONAYNE".to_owned()));
        assert!(names("social: son bill called twice").contains(&"bill".to_owned()));
        assert!(names("anita morris rn").iter().any(|n| n.contains("morris")));
        assert!(names("Drs Ferullo and Saeed in to see").contains(&"Saeed".to_owned()));
    }

    #[test]
    fn eponyms_stay() {
        assert!(names("foley catheter draining, gram stain pending, parkinson disease").is_empty());
        assert!(names("No Kussmaul respirations. Glasgow Coma Scale 15. Romberg negative. Braden 16.").is_empty());
    }

    #[test]
    fn a_phone_cue_before_a_phone_cue_is_no_name() {
        assert!(names("FOLLOW-UP: next week; office phone 208-555-0149").is_empty());
        assert!(names("Lopie Certusi cell# 410-555-0100").iter().any(|n| n.contains("Certusi")));
    }

    #[test]
    fn names_propagate_within_a_note() {
        let text = "Mr. Lomish was admitted. Later Lomish was extubated.";
        let n = names(text);
        assert_eq!(n, ["Lomish"]);
        let toks = tokenize(text);
        let mut starts: Vec<usize> = find(text, &toks, RuleSet::default()).iter().map(|f| f.span.start).collect();
        starts.sort_unstable();
        starts.dedup();
        assert_eq!(starts.len(), 2);
    }

    #[test]
    fn places_no_list_knows_by_their_cues() {
        // Where a relative lives, where a trip starts.
        assert!(names("Son from Quorvale called last eve").contains(&"Quorvale".to_owned()));
        assert!(names("TALKED WITH PT'S DAUGHTER IN BRELLISTON").contains(&"BRELLISTON".to_owned()));
        assert!(names("daughter flying in tomorrow, will fly in from Zandermoor").contains(&"Zandermoor".to_owned()));
        assert!(names("son in law at bedside, daughter from work, son in to visit").is_empty());
        // Facilities by a suffix that also follows vocabulary.
        assert!(names("AWAITING PLACEMENT AT TREVANNOCK REHAB").iter().any(|n| n.contains("TREVANNOCK")));
        assert!(names("seen at Vellichor Memorial, then home").iter().any(|n| n.contains("Vellichor")));
        assert!(names("plan for cardiac rehab, pulm rehab after").is_empty());
        // A hospital in a town, or the town in Virginia.
        assert!(names("CARE RECEIVED AT GRANTHOLM VA.").contains(&"GRANTHOLM".to_owned()));
        assert!(names("VISUAL ACUITY: LEFT EYE VA 20/40").is_empty());
        // "University of X" before a hospital word.
        assert!(names("PRESENTED TO U OF TARL MED CENTER").iter().any(|n| n.contains("TARL")));
        assert!(names("studied at the university of life, then nursing").is_empty());
        // Trips by ambulance and helicopter, and two-word destinations.
        assert!(names("NSTEMI, tx to QUORB for cath").contains(&"QUORB".to_owned()));
        assert!(names("at OSH-> medflight to Zelvane for cath").contains(&"Zelvane".to_owned()));
        assert!(names("transfer back to rere kinni today").contains(&"rere kinni".to_owned()));
        assert!(names("tx to floor, sent to CT, tx to stepdown").is_empty());
        // A hospital named before its department, without a verb.
        assert!(names("RI AMI, to Vornack cath lab, 3VD").contains(&"Vornack".to_owned()));
        assert!(names("to CT then to cath lab, to ED").is_empty());
        // A saint's name no list knows, where a patient goes.
        assert!(names("wishes to return to St Oron's after weaning").contains(&"St Oron's".to_owned()));
        assert!(names("TO GO TO ST. STLE ON TUESDAY").contains(&"ST. STLE".to_owned()));
        assert!(names("ST ELEVATION NOTED, CHANGES TO ST DEPRS").is_empty());
    }

    #[test]
    fn places_with_cues() {
        assert!(names("HIS SISTER IS LIVING IN ROCKVILLE.").contains(&"ROCKVILLE".to_owned()));
        assert!(names("transferred from sacred heart hosp").iter().any(|n| n.contains("sacred")));
        // A kind word between the name and the suffix belongs to the name.
        assert!(names("seen at Harborview Rehabilitation Hospital today").iter().any(|n| n.contains("Harborview")));
        assert!(names("Brightwater Health Center").iter().any(|n| n.contains("Brightwater")));
        assert!(names("sent to the Rehabilitation Hospital today").is_empty());
        // An English facility-list word needs a capital or a preposition.
        assert!(!names("moved from the ambulance bay on arrival").contains(&"bay".to_owned()));
        // Employers and places of residence up to the end of the clause.
        assert!(names("he works for vista health.\na: lg ami").contains(&"vista health".to_owned()));
        assert!(names("She works at Walmart as a cashier.").contains(&"Walmart".to_owned()));
        assert!(names("he works at home. works for the state.").is_empty());
        assert!(names("works for quillmoor tool supply billing department").is_empty(), "a run that goes on");
        assert!(names("social: lives alone in white amrsh, daughter").contains(&"white amrsh".to_owned()));
        assert!(names("Her sister lives in DC.").contains(&"DC".to_owned()));
        assert!(names("lives in a nursing home with wife").is_empty());
        assert!(names("Son lives in Pleasant Valley.").contains(&"Pleasant Valley".to_owned()));
        assert_eq!(
            names("pt works with PT daily; works with Ambrose on transfers"),
            ["Ambrose"],
            "a person, by the name rules"
        );
        // A known place before a state's name, in any case.
        assert!(names("a brief overview of this towson maryland facility").contains(&"towson maryland".to_owned()));
        assert!(names("came from Bend, Oregon today").contains(&"Bend, Oregon".to_owned()));
        // Dotted initials after a word that introduces a person.
        assert!(names("Pt J.S. is a 45 yo man.").contains(&"J.S".to_owned()));
        assert!(names("seen by K.L.M. today").contains(&"K.L.M".to_owned()));
        assert!(names("Mr. R.T. was seen").contains(&"R.T".to_owned()), "initials that spell a role, after a title");
        assert!(names("moved to the U.S. in 1990, takes meds P.O.").is_empty());
        assert!(names("NEB GIVEN BY R.T. WITH RELIEF, SEEN BY P.T. TODAY").is_empty());
        // A hospital named by its place and "General".
        assert!(names("Transferred from Mass General.").contains(&"Mass General".to_owned()));
        assert!(names("TRANSFERRED FROM MASS GENERAL FOR CABG").contains(&"MASS GENERAL".to_owned()));
        assert!(names("sent to General Surgery, then to Ward General Medicine").is_empty());
        assert!(names("pain is better in general").is_empty());
        // A street without a house number, in proper case only.
        assert!(names("Lives in an apartment on Commonwealth Ave.").contains(&"Commonwealth Ave".to_owned()));
        assert!(names("grew up on Old Mill Road, moved").contains(&"Old Mill Road".to_owned()));
        assert!(names("walks down the road daily").is_empty());
        assert!(names("Walks Down The Road").is_empty());
        assert!(names("admitted to St Elizabeth's").iter().all(|n| !n.ends_with("St")));
    }
}
