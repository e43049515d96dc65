//! Rules for places: facilities, cities, counties, destinations.
//!
//! Split from the name rules because they answer a different question
//! (where, not who) with different evidence: a gazetteer, suffixes such as
//! "Hospital", and verbs of motion ("transferred to").

use super::{Ctx, Finding};
use crate::dictionary::{self, Cue, Flags};
use crate::span::{Kind, Span};
use crate::token::Lower;

impl Ctx<'_> {
    /// Site facilities, "X Hospital", "St. Mary's", "U of Maryland".
    pub(super) fn facility(&mut self, i: usize) {
        let Some(t) = self.tok(i) else { return };
        // A facility-list word that is also English ("bay", "vista") names a
        // facility when capitalised or right after "at"/"for"/"from"/"to"
        // ("works for vista health"): "the ambulance bay" is not one.
        if t.has(Flags::FACILITY)
            && !t.has(Flags::COMMON | Flags::STOP)
            && (t.has(Flags::CAP)
                || !(t.has(Flags::ENGLISH) || dictionary::is_english_word(t.text(self.text)))
                || (i > 0 && self.is(i - 1, &["at", "for", "from", "to"])))
        {
            self.emit(i, i, Kind::Location, "facility");
        }
        // "mackerer campus": before a suffix that only follows names, a word
        // no list knows (not English either) names the facility in any case.
        let strong_suffix = t.cue == Cue::FacilitySuffix
            && self.is(
                i,
                &["hospital", "hosp", "campus", "clinic", "institute", "pavilion", "infirmary", "center", "centre"],
            );
        // "EUSANNALD REHAB", "BUCON MEMORIAL": these also follow vocabulary
        // ("cardiac rehab") and abbreviations ("prev rehab"), so only a word
        // of five letters or more that is no typo of vocabulary either.
        let weak_suffix = t.cue == Cue::FacilitySuffix && self.is(i, &["rehab", "memorial", "hospice", "manor"]);
        let proper = |cx: &Self, k: usize| {
            cx.tok(k).is_some_and(|p| {
                !p.has(Flags::STOP | Flags::COMMON)
                    && (p.has(Flags::FACILITY | Flags::PLACE | Flags::NAME)
                        || cx.proper_case(k)
                        || (strong_suffix && p.end - p.start >= 3 && !dictionary::is_english_word(p.text(cx.text)))
                        || (weak_suffix && p.end - p.start >= 5 && cx.unfamiliar(k)))
            })
        };
        if t.cue == Cue::FacilitySuffix && i > 0 && self.joined(i - 1, &[]) {
            let generic = |cx: &Self, k: usize| GENERIC_FACILITY_WORDS.contains(&cx.word(k).as_str());
            let kind_word = |cx: &Self, k: usize| FACILITY_KIND_WORDS.contains(&cx.word(k).as_str());
            let mut first = i;
            while first > 0 && i - first < 3 && self.joined(first - 1, &['.', '\'']) {
                let k = first - 1;
                if !(proper(self, k) || generic(self, k) || kind_word(self, k) || self.toks[k].cue == Cue::Saint) {
                    break;
                }
                first -= 1;
            }
            // Leading kind words are not part of a name ("the Rehabilitation
            // Hospital" names no place); between a name and the suffix they are
            // ("Harborview Rehabilitation Hospital").
            while first < i && kind_word(self, first) && !proper(self, first) {
                first += 1;
            }
            let any_proper = (first..i).any(|k| proper(self, k));
            let all_capital = (first..i).all(|k| self.toks[k].has(Flags::CAP));
            if first < i && (any_proper || all_capital) {
                let last = if self.word(i) == "memorial" { i } else { i - 1 };
                self.emit(first, last, Kind::Location, "facility-suffix");
            }
        }
        // "transferred from Mass General", "sent to Folsom General.": a
        // hospital called by its place and "General" alone, after a
        // preposition of motion and ending the clause ("General Surgery"
        // and "in general" stay).
        if i >= 2
            && (self.text.as_bytes()[t.start] | 0x20) == b'g'
            && self.is(i, &["general"])
            && t.has(Flags::CAP)
            && self.joined(i - 1, &[])
            && self.joined(i - 2, &[])
            && self.is(i - 2, &["from", "to", "at"])
            && self.toks[i - 1].has(Flags::CAP)
            && !self.toks[i - 1].has(Flags::STOP)
            && !(self.gap_after(i) == " " && self.is(i + 1, GENERAL_SERVICES))
        {
            self.emit(i - 1, i, Kind::Location, "facility-general");
        }
        // "Good Sam", "Holy Cross": a generic word before a known facility.
        if t.has(Flags::FACILITY)
            && !t.has(Flags::COMMON | Flags::STOP)
            && i > 0
            && self.joined(i - 1, &[])
            && GENERIC_FACILITY_WORDS.contains(&self.word(i - 1).as_str())
        {
            self.emit(i - 1, i, Kind::Location, "facility");
        }
        if t.cue == Cue::Saint && self.joined(i, &['.']) {
            let j = i + 1;
            // "transfer to St. Oron's", "GO TO ST. STLE": where a patient
            // goes, a saint's name no list knows, written with the saint's
            // dot or as a possessive ("changes to ST depression" stays).
            let destination = i > 0 && self.joined(i - 1, &[]) && self.is(i - 1, &["to", "at", "from"]);
            let dotted = self.gap_after(i).starts_with('.');
            let unknown_saint = destination && ((dotted && self.unfamiliar(j)) || self.unfamiliar_possessive(j));
            if self.tok(j).is_some_and(|n| {
                !n.has(Flags::STOP | Flags::COMMON)
                    && n.cue == Cue::None
                    && (n.has(Flags::NAME | Flags::FACILITY | Flags::PLACE) || unknown_saint)
            }) {
                self.emit(i, j, Kind::Location, "saint");
            }
        }
        // "BROSSBURG VA": a word no list knows before "VA" names the veterans'
        // hospital there, or the town in Virginia; a place either way.
        if i > 0 && t.text(self.text) == "VA" && self.joined(i - 1, &[]) && self.unfamiliar(i - 1) {
            self.emit(i - 1, i - 1, Kind::Location, "facility-va");
        }
        // "U Maryland", "University of Maryland", "U OF MD".
        if matches!(self.text.as_bytes()[t.start], b'u' | b'U')
            && self.is(i, &["u", "univ", "university", "uof"])
            && self.joined(i, &['.'])
        {
            let mut j = i + 1;
            if self.word(j) == "of" && self.joined(j, &[]) {
                j += 1;
            }
            // "U OF PLE MED CENTER": a word no list knows, before a hospital word.
            let hospital_after = self.joined(j, &[])
                && self.is(j + 1, &["med", "medical", "hospital", "hosp", "center", "ctr", "health"]);
            let place = self.tok(j).is_some_and(|n| {
                n.has(Flags::PLACE | Flags::FACILITY)
                    || n.text(self.text).eq_ignore_ascii_case("md")
                    || (hospital_after && self.unfamiliar(j))
            });
            if place && j > i {
                self.emit(i, j, Kind::Location, "university");
            }
        }
    }

    /// "lives in Rockville", "from Middle River, MD", "in New Haven".
    pub(super) fn place(&mut self, i: usize) {
        let Some(t) = self.tok(i) else { return };
        if !t.has(Flags::PHRASE | Flags::PLACE) || i == 0 {
            return;
        }
        let prev = self.toks[i - 1];
        let cued = self.joined(i - 1, &[])
            && (prev.cue == Cue::Residence
                || self.is(i - 1, &["in", "from", "near"])
                // "the city of Visalia"
                || (self.is(i - 1, &["of"]) && i > 1 && self.is(i - 2, &["city", "town", "village", "county"])));
        if t.has(Flags::PHRASE)
            && (cued || (self.joined(i - 1, &[]) && self.is(i - 1, &["to"])))
            && let Some((end, _)) = dictionary::phrase_at(self.text, t.start)
        {
            self.out.push(Finding { span: Span::new(t.start, end, Kind::Location), rule: "place-phrase" });
            return;
        }
        if !t.has(Flags::PLACE) || t.has(Flags::STOP | Flags::COMMON) || t.cue != Cue::None {
            return;
        }
        let state_follows = {
            let g = self.gap_after(i);
            g == ", "
                && self.tok(i + 1).is_some_and(|n| {
                    let w = n.text(self.text);
                    w.len() == 2 && w.chars().all(|c| c.is_ascii_uppercase()) && is_state(w)
                })
        };
        // "this towson maryland facility", "Bend, Oregon": a known place
        // before a state's name, in any case.
        let state_name_after = (self.joined(i, &[','])).then(|| state_name_at(self, i + 1)).flatten();
        if let Some(last) = state_name_after {
            self.emit(i, last, Kind::Location, "place");
            return;
        }
        // "lives in catonsville", "lives nearby in rockport": a verb of
        // residence makes case irrelevant.
        let resides = self.joined(i - 1, &[])
            && self.is(i - 1, &["in", "at", "near"])
            && (1..=2).any(|d| i > d && self.toks[i - 1 - d].cue == Cue::Residence);
        // "daughter Grace of Reisterstown", "Neil Meitz of Towson".
        let of_place = self.joined(i - 1, &[]) && self.is(i - 1, &["of"]) && self.proper_case(i);
        if state_follows || resides || of_place || (cued && (self.shouting || t.has(Flags::CAP))) {
            self.emit(i, i, Kind::Location, "place");
        }
    }

    /// "lives on Commonwealth Ave", "off Route Nine Parkway": a street named
    /// without a house number, which still places the patient. Only proper
    /// case counts (the suffix and up to three words before it), so "down
    /// the road" and all-caps notes stay; "St" only when no name follows it,
    /// as "St Mary's" is a saint.
    pub(super) fn street_name(&mut self, i: usize) {
        if i == 0
            || !self.proper_case(i)
            || !matches!(
                self.text.as_bytes()[self.toks[i].start],
                b'A' | b'S' | b'R' | b'B' | b'L' | b'T' | b'P' | b'H' | b'D'
            )
            || !STREET_SUFFIXES.contains(&self.word(i).as_str())
        {
            return;
        }
        if self.is(i, &["st"]) && self.joined(i, &['.']) && self.tok(i + 1).is_some_and(|n| n.has(Flags::CAP)) {
            return;
        }
        let mut first = i;
        while first > 0 && i - first < 3 && self.joined(first - 1, &[]) {
            let k = first - 1;
            let t = self.toks[k];
            // Stop words such as "Old" and "New" name streets; function words do not.
            if !self.proper_case(k) || self.is(k, FUNCTION_WORDS) || t.cue != Cue::None {
                break;
            }
            first = k;
        }
        if first < i {
            self.emit(first, i, Kind::Address, "street-name");
        }
    }

    /// "he works for vista health", "employed at Dunmore Tool & Die": the
    /// words after a verb of employment up to the end of the clause name an
    /// employer when one of them is capitalised or is not everyday clinical
    /// vocabulary ("works at home", "works for the state" stay).
    pub(super) fn employer(&mut self, i: usize) {
        if !matches!(self.text.as_bytes()[self.toks[i].start] | 0x20, b'w' | b'e')
            || !self.is(i, &["works", "work", "worked", "working", "employed", "employee"])
            || !self.joined(i, &[])
            // Not "with": "works with PT", "works with Jane" are people.
            || !self.is(i + 1, &["for", "at", "by"])
            || !self.joined(i + 1, &[])
        {
            return;
        }
        if let Some((first, last)) = self.clause_run(i + 2)
            && (first..=last).any(|k| self.proper_case(k) || !self.toks[k].has(Flags::COMMON))
        {
            self.emit(first, last, Kind::Location, "employer");
        }
    }

    /// "lives alone in white marsh", "lives in DC": after a verb of residence
    /// and "in"/"near", the words up to the end of the clause are the place
    /// when one is a state code, capitalised, or not everyday vocabulary
    /// ("lives in a nursing home" stays).
    pub(super) fn residence(&mut self, i: usize) {
        if self.toks[i].cue != Cue::Residence || !self.is(i, &["lives", "lived", "live", "living", "resides", "reside"])
        {
            return;
        }
        let Some(prep) = (i + 1..=i + 2).find(|&k| self.is(k, &["in", "near"])) else { return };
        if !(i..prep).all(|k| self.joined(k, &[])) || !self.joined(prep, &[]) {
            return;
        }
        if let Some((first, last)) = self.clause_run(prep + 1)
            && (first..=last).any(|k| {
                let t = self.toks[k];
                let w = t.text(self.text);
                (w.len() == 2 && t.has(Flags::UPPER) && is_state(w))
                    || self.proper_case(k)
                    || !(t.has(Flags::COMMON) || dictionary::is_english_word(w))
            })
        {
            self.emit(first, last, Kind::Location, "residence");
        }
    }

    /// Up to three words from `start` (after a leading article) joined by
    /// single spaces, none a function word, cue or number: the words of a
    /// name that ends where the clause does.
    fn clause_run(&self, start: usize) -> Option<(usize, usize)> {
        let mut first = start;
        if self.is(first, &["the", "a", "an"]) && self.joined(first, &[]) {
            first += 1;
        }
        let word = |k: usize| {
            self.tok(k).is_some_and(|t| {
                !t.has(Flags::STOP) && t.cue == Cue::None && t.text(self.text).bytes().any(|c| c.is_ascii_alphabetic())
            })
        };
        if !word(first) {
            return None;
        }
        let mut last = first;
        while last - first < 2 && self.gap_after(last) == " " && word(last + 1) {
            last += 1;
        }
        // The run must end the clause: "works for vista health." but not
        // "works for vista health insurance billing department".
        let cut = self.gap_after(last) == " " && word(last + 1);
        (!cut).then_some((first, last))
    }

    /// "transferred to GH", "admitted from Kernan", "sent to the GBMC",
    /// "to Quartermain 2": an unfamiliar word where a facility goes.
    pub(super) fn destination(&mut self, i: usize) {
        let Some(t) = self.tok(i) else { return };
        if t.has(Flags::COMMON | Flags::STOP | Flags::INITIAL) || t.cue != Cue::None || i < 2 {
            return;
        }
        if t.has(Flags::FIRST) && !t.has(Flags::LAST | Flags::PLACE) {
            return;
        }
        let mut k = i - 1;
        if self.is(k, &["the"]) && k > 0 && self.joined(k - 1, &[]) {
            k -= 1;
        }
        if !self.joined(k, &[]) {
            return;
        }
        // "son from Lauk", "DAUGHTER IN SAUGLYSITE", "flying in from Lauk":
        // where a relative lives or a trip starts. Only a known place or a
        // word no list, vocabulary or dictionary knows ("son in law" stays).
        let origin = k > 0
            && self.joined(k - 1, &[])
            && ((self.toks[k - 1].cue == Cue::Relation && self.is(k, &["from", "in"]))
                || (self.is(k, &["from"])
                    && (self.is(k - 1, TRAVEL_VERBS)
                        || (k > 1
                            && self.is(k - 1, &["in"])
                            && self.joined(k - 2, &[])
                            && self.is(k - 2, TRAVEL_VERBS)))));
        if origin && (self.unfamiliar(i) || t.has(Flags::PLACE)) {
            self.emit(i, i, Kind::Location, "origin");
            return;
        }
        if !self.is(k, &["to", "from", "at", "into", "on"]) {
            return;
        }
        // "on X 6" only with a unit number after; the others after a verb of motion.
        // "Quartermain 2", "QUARTERMAIN 6;" but not "NIMBEX 0.18", "hepat 1 pm".
        let unit_number = self.text[t.end..].strip_prefix(' ').is_some_and(|rest| {
            let n = rest.bytes().take_while(u8::is_ascii_digit).count();
            let after = &rest.as_bytes()[n..];
            (1..=2).contains(&n)
                && match after.first() {
                    None | Some(b'\n' | b',' | b';' | b')') => true,
                    Some(b'.') => !after.get(1).is_some_and(u8::is_ascii_digit),
                    Some(b' ') => {
                        !after.get(1).is_some_and(u8::is_ascii_alphabetic) || {
                            let w: Vec<u8> = after[1..]
                                .iter()
                                .take_while(|c| c.is_ascii_alphabetic())
                                .map(u8::to_ascii_lowercase)
                                .collect();
                            !matches!(
                                w.as_slice(),
                                b"pm" | b"am" | b"mg" | b"mcg" | b"units" | b"hr" | b"hrs" | b"times"
                            )
                        }
                    }
                    _ => false,
                }
        });
        // "arrived on milrinone": after "on" only a unit with a number.
        let moved = k > 0
            && !self.is(k, &["on"])
            && self.joined(k - 1, &['.', '-'])
            && (self.toks[k - 1].cue == Cue::Residence
                || self.is(
                    k - 1,
                    &[
                        "flighted",
                        "brought",
                        "referred",
                        "dc'd",
                        "dcd",
                        "seen",
                        "presented",
                        "arrived",
                        "go",
                        "going",
                        "back",
                        "care",
                        "went",
                        "taken",
                        "sent",
                        "tranfered",
                        "trans",
                        "tx",
                        "enroute",
                        "medflight",
                        "medflighted",
                    ],
                ));
        // "to FRE cath lab", "enroute to gis er": a word no list knows
        // before a hospital's department names the hospital.
        let department_after = self.gap_after(i) == " "
            && self.is(i + 1, &["er", "ew", "ed", "cath"])
            && self.is(k, &["to", "at", "from"])
            && self.unfamiliar(i);
        if !(moved || department_after || (unit_number && self.is(k, &["to", "on", "from"]))) {
            return;
        }
        // "transfer to stepdown", "able to reinsert": units and English words.
        let w = t.text(self.text);
        let english = !t.has(Flags::NAME | Flags::PLACE | Flags::FACILITY) && dictionary::is_english_word(w);
        if !is_unit_abbreviation(w) && !english {
            // "transfer back to rere kinni", "sent to Lishic Thmon EW": a
            // second word no list knows belongs to the same name.
            let last = if self.gap_after(i) == " " && self.unfamiliar(i + 1) { i + 1 } else { i };
            self.emit(i, last, Kind::Location, "destination");
        }
    }
}

/// Verbs of a trip whose "from" names where it starts ("flying in from").
const TRAVEL_VERBS: &[&str] = &[
    "fly",
    "flying",
    "flew",
    "flown",
    "drive",
    "driving",
    "drove",
    "arrive",
    "arriving",
    "arrives",
    "coming",
    "visiting",
    "returning",
];

/// Words that are vocabulary on their own but name a facility before
/// "Hospital" when capitalized ("Memorial Hospital", "General Hospital").
const GENERIC_FACILITY_WORDS: &[&str] = &[
    "memorial",
    "general",
    "university",
    "sacred",
    "heart",
    "mercy",
    "union",
    "good",
    "samaritan",
    "children's",
    "veterans",
    "community",
    "regional",
    "county",
    "holy",
    "cross",
    "new",
    "square",
    "harbor",
    "city",
    "st",
    "saint",
];

/// Words that end a street's name when read backwards from its type
/// ("down The Road", "On Easy Street" keeps only "Easy").
const FUNCTION_WORDS: &[&str] = &[
    "the", "a", "an", "on", "in", "at", "to", "of", "and", "or", "by", "for", "from", "with", "down", "up", "off",
    "near",
];

/// Words after "General" that make it a service, not a hospital.
const GENERAL_SERVICES: &[&str] = &[
    "surgery",
    "surgical",
    "medicine",
    "medical",
    "anesthesia",
    "practice",
    "pediatrics",
    "ward",
    "floor",
    "service",
    "services",
    "team",
    "hospital",
    "hosp",
    "appearance",
    "condition",
];

/// Street types that follow a street's name ("Commonwealth Ave"). Not
/// "Dr" (a title before a name), "Way", "Place" or "Court" (everyday words
/// in capitalised headings).
const STREET_SUFFIXES: &[&str] = &[
    "avenue",
    "ave",
    "street",
    "st",
    "road",
    "rd",
    "boulevard",
    "blvd",
    "lane",
    "ln",
    "terrace",
    "parkway",
    "pkwy",
    "highway",
    "hwy",
    "turnpike",
    "drive",
];

/// Words that say what kind of facility it is, between its name and the
/// suffix: "Harborview Rehabilitation Hospital", "Brightwater Health Center".
const FACILITY_KIND_WORDS: &[&str] = &[
    "rehabilitation",
    "rehab",
    "health",
    "medical",
    "psychiatric",
    "surgical",
    "cancer",
    "behavioral",
    "nursing",
    "care",
    "specialty",
    "orthopedic",
    "orthopaedic",
    "women's",
    "eye",
    "kidney",
    "dialysis",
];

/// Names of hospital units, not places: "MICU", "NSICU", "micua", "CCU",
/// "PACU", "CSRU", "stepdown".
fn is_unit_abbreviation(w: &str) -> bool {
    let w = Lower::new(w);
    let w = w.as_str();
    let core = if w.len() > 4 { &w[..w.len() - 1] } else { w };
    w.len() <= 8
        && (w.contains("icu")
            || w.contains("ccu")
            || core.ends_with("cu")
            || (core.ends_with("ru") && w.len() <= 5)
            || w.starts_with("stepdown")
            || w.starts_with("tele"))
}

/// The last token of a US state's name starting at token `i` ("maryland",
/// "New York", "maryland's"), if one starts there.
fn state_name_at(cx: &Ctx<'_>, i: usize) -> Option<usize> {
    const ONE: &[&str] = &[
        "alabama",
        "alaska",
        "arizona",
        "arkansas",
        "california",
        "colorado",
        "connecticut",
        "delaware",
        "florida",
        "georgia",
        "hawaii",
        "idaho",
        "illinois",
        "indiana",
        "iowa",
        "kansas",
        "kentucky",
        "louisiana",
        "maine",
        "maryland",
        "massachusetts",
        "michigan",
        "minnesota",
        "mississippi",
        "missouri",
        "montana",
        "nebraska",
        "nevada",
        "ohio",
        "oklahoma",
        "oregon",
        "pennsylvania",
        "tennessee",
        "texas",
        "utah",
        "vermont",
        "virginia",
        "washington",
        "wisconsin",
        "wyoming",
    ];
    const FIRST: &[&str] = &["new", "north", "south", "rhode", "west"];
    const SECOND: &[&str] = &["hampshire", "jersey", "mexico", "york", "carolina", "dakota", "island", "virginia"];
    let w = cx.word(i);
    let w = w.as_str();
    let w = w.strip_suffix("'s").unwrap_or(w);
    if ONE.contains(&w) {
        return Some(i);
    }
    (FIRST.contains(&w) && cx.joined(i, &[]) && cx.is(i + 1, SECOND)).then_some(i + 1)
}

/// A US state's two-letter postal code (and DC, PR).
pub(crate) fn is_state(w: &str) -> bool {
    const STATES: &[&str] = &[
        "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY",
        "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH",
        "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "PR",
    ];
    STATES.contains(&w)
}
