//! Identifiers with a recognisable format, confirmed by a validator where the
//! format carries one.
//!
//! Validators cut false positives on a structural basis (a VIN whose check
//! digit is wrong is a random 17-character string) but never veto a value that
//! a cue word introduces ("VIN", "MRN"): the cue is stronger evidence than a
//! checksum, and a typo'd identifier is still an identifier.
//!
//! All word boundaries are ASCII (`(?-u:\b)`), which keeps every regex on the
//! lazy DFA and detection at memory speed.

use std::net::Ipv6Addr;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use regex::Regex;

use crate::dictionary::Flags;
use crate::span::{Kind, Span};
use crate::token::{Lower, Token};

mod checksum;
mod date;
pub use checksum::{luhn_ok, npi_ok, ssn_ok, vin_ok};
use date::{UNIT_WORDS, apostrophe_years, numeric_dates, ordinal_days, written_dates};

struct Patterns {
    date_numeric: Regex,
    date_iso: Regex,
    date_month_first: Regex,
    date_day_first: Regex,
    date_ordinal_words: Regex,
    date_month_year: Regex,
    age: Regex,
    phone: Regex,
    phone_local: Regex,
    pager: Regex,
    email: Regex,
    url: Regex,
    ssn: Regex,
    ipv4: Regex,
    ipv6: Regex,
    vin: Regex,
    cued: Regex,
    biometric: Regex,
    photo_file: Regex,
    zip_state: Regex,
    zip_cue: Regex,
    street: Regex,
    long_number: Regex,
}

const MONTH: &str = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)";

fn re(pattern: &str) -> Regex {
    // Invariant: every pattern is a compile-time constant covered by the unit
    // tests of this module, so it always compiles.
    Regex::new(pattern).expect("built-in pattern compiles")
}

// Index of each pattern in the gating set.
const DATE_NUMERIC: usize = 0;
const DATE_ISO: usize = 1;
const DATE_MONTH_FIRST: usize = 2;
const DATE_DAY_FIRST: usize = 3;
const DATE_ORDINAL_WORDS: usize = 4;
const DATE_MONTH_YEAR: usize = 5;
const AGE: usize = 6;
const PHONE: usize = 7;
const PHONE_LOCAL: usize = 8;
const PAGER: usize = 9;
const EMAIL: usize = 10;
const URL: usize = 11;
const SSN: usize = 12;
const IPV4: usize = 13;
const IPV6: usize = 14;
const VIN: usize = 15;
const CUED: usize = 16;
const BIOMETRIC: usize = 17;
const PHOTO_FILE: usize = 18;
const ZIP_STATE: usize = 19;
const ZIP_CUE: usize = 20;
const STREET: usize = 21;
const LONG_NUMBER: usize = 22;

static PATTERNS: LazyLock<Patterns> = LazyLock::new(|| {
    let sources: Vec<String> = vec![
        (r"(?-u)(\d{1,2})(/)(\d{1,2})(?:/(\d{4}|\d{2}))?(?-u:\b)|(\d{1,2})(-)(\d{1,2})(?:-(\d{4}|\d{2}))?(?-u:\b)").to_string(),
        (r"(?-u)(?-u:\b)(?:19|20)\d\d-(?:0?[1-9]|1[0-2])-(?:0?[1-9]|[12]\d|3[01])(?-u:\b)").to_string(),
        (format!(
        r"(?-u)(?i)(?-u:\b){MONTH}\.?\s{{0,2}}(?:(?:3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)?)(?:,?\s*(?:1[89]|20)?\d\d)?(?-u:\b)"
    )).to_string(),
        (format!(
        r"(?-u)(?i)(?-u:\b)(?:3[01]|[12]\d|0?[1-9])(?:(?:st|nd|rd|th)?\s{{0,2}}(?:of\s+)?{MONTH}(?-u:\b)\.?(?:,?\s*(?:1[89]|20)\d\d(?-u:\b))?|-{MONTH}-(?:19|20)?\d\d(?-u:\b))"
    )).to_string(),
        (format!(
        r"(?-u)(?i)(?-u:\b)(?:the\s+)?(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|twenty[- ]\w+|thirtieth|thirty[- ]first)\s+of\s+{MONTH}(?-u:\b)"
    )).to_string(),
        (format!(r"(?-u)(?i)(?-u:\b){MONTH}\.?,?\s+(?:of\s+)?(?:1[89]|20)\d\d(?-u:\b)")).to_string(),
        (r"(?-u)(?i)(?-u:\b)(?:(?:age|aged)\s*:?\s*(9\d|1[01]\d)(?-u:\b)|(9\d|1[01]\d)\s*-?\s*(?:y/o|y\.?o\.?|yo|yr?s?\.?\s*-?\s*old|years?\s*-?\s*old|yrs?|years?|year-old)(?-u:\b))").to_string(),
        (r"(?-u)(?i)(?:\+?1[\s.\-]?)?(?:\(\s*\d{3}\s*\)|(?-u:\b)\d{3})[\s.\-/]{0,3}\d{3}[\s.\-/]{0,3}\d{4}(?-u:\b)(?:\s*(?:x|ext\.?|extension)\s*\d{1,6}(?-u:\b))?|\(\d{3}[\s.\-]\d{3}[\s.\-]\d{4,5}\)").to_string(),
        (r"(?-u)(?i)(?-u:\b)\d{3}-\d{4}(?-u:\b)(?:\s*(?:x|ext\.?|extension)\s*\d{1,6}(?-u:\b))?").to_string(),
        (r"(?-u)(?i)(?-u:\b)(?:pager|beeper|pgr|pg|beep|cell|phone|tel|telephone)\s*(?:#|no\.?|number)?\s*[:=]?\s*#?\s*(\d{3,6})(?-u:\b)").to_string(),
        (r"(?-u)(?i)[a-z0-9._%+\-]+@[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,}").to_string(),
        (r#"(?i)(?:https?://|ftp://|www\.)[^\s<>"'()]+"#).to_string(),
        (r"(?-u)(?-u:\b)\d{3}([- ])\d{2}[- ]\d{4}(?-u:\b)").to_string(),
        (r"(?-u)(?-u:\b)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?-u:\b)").to_string(),
        (r"(?-u)(?i)(?:[0-9a-f]{1,4})?(?::[0-9a-f]{0,4}){2,7}(?-u:\b)").to_string(),
        (r"(?-u)(?i)(?-u:\b)[A-HJ-NPR-Z0-9]{17}(?-u:\b)").to_string(),
        (concat!(
        r"(?-u)(?i)(?:(?-u:\b)|chart)(?:",
        r"(?P<mrn>mrn|mr\s*#|medical\s+record(?:\s+(?:number|no\.?|#))?|chart\s*(?:#|no\.?|number)|record\s*(?:#|no\.?|number))",
        r"|(?P<plan>member\s*(?:id|#|number)|policy\s*(?:id|#|no\.?|number)|subscriber\s*(?:id|#|number)|health\s*plan(?:\s*(?:id|#|no\.?|number))?|insurance\s*(?:id|#|no\.?|number)|group\s*(?:#|no\.?|number)|medicaid(?:\s*(?:id|#|no\.?|number))?|medicare(?:\s*(?:id|#|no\.?|number))?|beneficiary\s*(?:id|#|number))",
        r"|(?P<acct>account(?:\s*(?:id|#|no\.?|number))?|acct\.?(?:\s*(?:#|no\.?|number))?|billing\s*(?:#|id|number))",
        r"|(?P<lic>licen[sc]e(?:\s*(?:#|no\.?|number))?|lic\.?\s*(?:#|no\.?)|dea(?:\s*(?:#|no\.?|number))?|npi(?:\s*(?:#|no\.?|number))?|certificate(?:\s*(?:#|no\.?|number))?|cert\.?\s*#)",
        r"|(?P<veh>vin|plate(?:\s*(?:#|no\.?|number))?|license\s+plate|tag\s*(?:#|no\.?|number))",
        r"|(?P<dev>serial(?:\s*(?:#|no\.?|number))?|s/n|sn|device\s*(?:id|#|number)|udi|lot\s*(?:#|no\.?|number)|model\s*(?:#|no\.?|number)|implant\s*(?:id|#))",
        r"|(?P<ssn>ssn|social\s+security(?:\s*(?:#|no\.?|number))?|ss\s*#)",
        r"|(?P<id>(?:patient|study|case|claim|badge|employee|enrollment|participant|subject|visit|encounter|specimen|accession|order|requisition)\s*(?:id|#|no\.?|number|code)|id\s*#|identifier)",
        r")(?-u:\b)?",
        r"(?:\s+|\s*(?:is|was|of|on\s+file(?:\s+is)?|:|#|=|-|\.)\s*){0,4}",
        r"(?P<value>[A-Z0-9](?:[A-Z0-9]|[\-./][A-Z0-9]){2,40})(?-u:\b)",
    )).to_string(),
        (concat!(
        r"(?-u)(?i)(?-u:\b)(?:voice\s*print|finger\s*print|retina(?:l)?\s+scan|iris\s+(?:scan|template)|palm\s*print|facial\s+(?:geometry|template)|dna\s+profile|biometric)",
        r"(?:\s+(?:template|id|scan|sample|record|hash))*(?:\s+|\s*(?:is|:|#|=|-)\s*){0,4}",
        r"(?P<value>[A-Z0-9](?:[A-Z0-9]|[\-./][A-Z0-9]){2,40})(?-u:\b)",
    )).to_string(),
        (r"(?-u)(?i)(?-u:\b)[a-z0-9_\-.]+\.(?:jpe?g|png|gif|bmp|tiff?|heic|dcm)(?-u:\b)").to_string(),
        (r"(?-u)(?-u:\b)(?:A[LKZR]|C[AOT]|D[EC]|FL|GA|HI|I[DLNA]|K[SY]|LA|M[EDAINSOT]|N[EVHJMYCD]|O[HKR]|PA|RI|S[CD]|T[NX]|UT|V[TA]|W[AVIY]|PR|GU|VI),?\s+(\d{5}(?:-\d{4})?)(?-u:\b)").to_string(),
        (r"(?i)(?-u:\b)zip(?:\s*code)?(?-u:\b)[^0-9\n]{0,30}(\d{5}(?:-\d{4})?)(?-u:\b)").to_string(),
        (concat!(
        r"(?-u)(?-u:\b)\d{1,6}[A-Za-z]?\s+(?:(?:[NSEW]\.?|North|South|East|West)\s+)?(?P<name>(?:[A-Z][a-z'\-]+\.?\s+){1,4})",
        r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Ter|Circle|Cir|Highway|Hwy|Parkway|Pkwy|Square|Sq|Trail|Trl|Pike|Alley|Row|Loop)(?-u:\b)\.?",
        r"(?:,?\s*(?i:apt|apartment|unit|suite|ste|#)\.?\s*[A-Za-z0-9\-]+)?",
        r"|(?-u:\b)\d{1,6}[A-Za-z]?\s+(?P<upper_name>(?:[A-Z][A-Z'\-]+\s+){1,4})(?:STREET|AVENUE|ROAD|BOULEVARD|BLVD|LANE|DRIVE|COURT|TERRACE|CIRCLE|HIGHWAY|PARKWAY|PIKE)(?-u:\b)",
        r"|(?i:(?-u:\b)p\.?\s*o\.?\s+box\s+\d+)",
    )).to_string(),
        (r"(?-u)(?-u:\b)\d{7,}(?-u:\b)").to_string(),
    ];
    Patterns {
        date_numeric: re(&sources[DATE_NUMERIC]),
        date_iso: re(&sources[DATE_ISO]),
        date_month_first: re(&sources[DATE_MONTH_FIRST]),
        date_day_first: re(&sources[DATE_DAY_FIRST]),
        date_ordinal_words: re(&sources[DATE_ORDINAL_WORDS]),
        date_month_year: re(&sources[DATE_MONTH_YEAR]),
        age: re(&sources[AGE]),
        phone: re(&sources[PHONE]),
        phone_local: re(&sources[PHONE_LOCAL]),
        pager: re(&sources[PAGER]),
        email: re(&sources[EMAIL]),
        url: re(&sources[URL]),
        ssn: re(&sources[SSN]),
        ipv4: re(&sources[IPV4]),
        ipv6: re(&sources[IPV6]),
        vin: re(&sources[VIN]),
        cued: re(&sources[CUED]),
        biometric: re(&sources[BIOMETRIC]),
        photo_file: re(&sources[PHOTO_FILE]),
        zip_state: re(&sources[ZIP_STATE]),
        zip_cue: re(&sources[ZIP_CUE]),
        street: re(&sources[STREET]),
        long_number: re(&sources[LONG_NUMBER]),
    }
});

/// Forces the regexes to compile now.
pub fn warm_up() {
    LazyLock::force(&PATTERNS);
}

/// Appends every format-based identifier in `text` to `out` (unsorted, may
/// overlap).
pub fn find(text: &str, tokens: &[Token], out: &mut Vec<Span>) {
    let p = &*PATTERNS;
    // Cheap necessary conditions decide which regex passes are worth
    // running: each full pass costs as much as the whole tokenizer.
    let shape = Shape::of(text.as_bytes());
    let gates = &*GATES;
    let on = |i: usize| match i {
        PHONE | PAGER | CUED => shape.digits,
        DATE_NUMERIC => shape.short_slash,
        DATE_ISO => shape.iso,
        AGE => shape.old_age,
        PHONE_LOCAL => shape.three_sep && shape.four,
        STREET => shape.number_then_word,
        SSN => shape.three_sep && shape.four,
        IPV4 => shape.dotted,
        LONG_NUMBER => shape.max_run >= 7,
        ZIP_STATE | ZIP_CUE => shape.five,
        VIN => shape.max_alnum >= 17,
        IPV6 => shape.hex_colons,
        EMAIL => shape.at,
        URL => gates.url.is_match(text),
        BIOMETRIC => gates.biometric.is_match(text),
        PHOTO_FILE => shape.dotted_word && gates.photo.is_match(text),
        _ => true,
    };
    if on(DATE_NUMERIC) {
        numeric_dates(p, text, out);
    }
    if text.as_bytes().contains(&b'\'') {
        apostrophe_years(text, out);
    }
    if shape.ordinal {
        ordinal_days(text, out);
    }
    if on(DATE_ISO) {
        for m in p.date_iso.find_iter(text) {
            out.push(Span::new(m.start(), m.end(), Kind::Date));
        }
    }
    if on(AGE) {
        for caps in p.age.captures_iter(text) {
            if let Some(n) = caps.get(1).or_else(|| caps.get(2)) {
                out.push(Span::new(n.start(), n.end(), Kind::Age));
            }
        }
    }
    if on(PHONE) || on(PHONE_LOCAL) || on(PAGER) {
        phones(p, text, out);
    }
    if on(SSN) {
        for m in p.ssn.find_iter(text) {
            if ssn_ok(m.as_str()) && !preceded_by(text, m.start(), |c| c.is_ascii_digit() || c == '-') {
                out.push(Span::new(m.start(), m.end(), Kind::Ssn));
            }
        }
    }
    if on(IPV4) {
        for caps in p.ipv4.captures_iter(text) {
            let ok =
                (1..=4).all(|i| caps.get(i).and_then(|g| g.as_str().parse::<u16>().ok()).is_some_and(|v| v <= 255));
            if let Some(m) = caps.get(0)
                && ok
                && !preceded_by(text, m.start(), |c| c == '.' || c == '/')
            {
                out.push(Span::new(m.start(), m.end(), Kind::Ip));
            }
        }
    }
    if on(VIN) {
        for m in p.vin.find_iter(text) {
            if vin_ok(m.as_str()) {
                out.push(Span::new(m.start(), m.end(), Kind::Vehicle));
            }
        }
    }
    // Written dates need a month word: search only around those.
    for t in tokens.iter().filter(|t| t.has(Flags::MONTH)) {
        let ws = floor_char_boundary(text, t.start.saturating_sub(16));
        let we = ceil_char_boundary(text, (t.end + 20).min(text.len()));
        written_dates(p, text, ws, we, t.start, out);
    }
    if on(CUED) {
        // Identifiers introduced by a cue word: search only after such words.
        let bytes = text.as_bytes();
        let mut done_to = 0;
        for t in tokens {
            let cue = t.has(Flags::ID_CUE)
                // "chartMRN04857211": the cue glued to other letters.
                || (t.end - t.start > 3
                    && t.flags.without(Flags::CAP | Flags::UPPER) == Flags::empty()
                    && text.as_bytes()[t.start..t.end].windows(3).any(|w| w.eq_ignore_ascii_case(b"mrn")));
            if !cue || t.start < done_to {
                continue;
            }
            let we = ceil_char_boundary(text, (t.end + 64).min(text.len()));
            if !bytes[t.end..we].iter().any(u8::is_ascii_digit) {
                continue;
            }
            cued(p, text, t.start, we, out);
            done_to = t.end;
        }
    }
    if on(ZIP_STATE) {
        for caps in p.zip_state.captures_iter(text) {
            if let Some(z) = caps.get(1) {
                out.push(Span::new(z.start(), z.end(), Kind::Zip));
            }
            if let Some(m) = caps.get(0)
                && let Some(city) = city_before(text, m.start())
            {
                out.push(Span::new(city.0, city.1, Kind::Location));
            }
        }
    }
    if on(ZIP_CUE) {
        for caps in p.zip_cue.captures_iter(text) {
            if let Some(z) = caps.get(1) {
                out.push(Span::new(z.start(), z.end(), Kind::Zip));
            }
        }
    }
    if on(STREET) {
        for caps in p.street.captures_iter(text) {
            let Some(m) = caps.get(0) else { continue };
            let name = caps.name("name").or_else(|| caps.name("upper_name")).map_or("", |n| n.as_str());
            if street_ok(name) && !preceded_by(text, m.start(), |c| matches!(c, '/' | '.' | '-')) {
                out.push(Span::new(m.start(), m.end(), Kind::Address));
            }
        }
    }
    if on(LONG_NUMBER) {
        for m in p.long_number.find_iter(text) {
            out.push(Span::new(m.start(), m.end(), Kind::Id));
        }
    }
    if on(EMAIL) {
        for m in p.email.find_iter(text) {
            out.push(Span::new(m.start(), m.end(), Kind::Email));
        }
    }
    if on(URL) {
        for m in p.url.find_iter(text) {
            let trimmed = m.as_str().trim_end_matches(['.', ',', ';', ':', '!', '?']);
            out.push(Span::new(m.start(), m.start() + trimmed.len(), Kind::Url));
        }
    }
    if on(IPV6) {
        for m in p.ipv6.find_iter(text) {
            let s = m.as_str();
            if s.matches(':').count() >= 2 && s.parse::<Ipv6Addr>().is_ok() {
                out.push(Span::new(m.start(), m.end(), Kind::Ip));
            }
        }
    }
    if on(BIOMETRIC) {
        for caps in p.biometric.captures_iter(text) {
            if let Some(v) = caps.name("value") {
                out.push(Span::new(v.start(), v.end(), Kind::Biometric));
            }
        }
    }
    if on(PHOTO_FILE) {
        for m in p.photo_file.find_iter(text) {
            out.push(Span::new(m.start(), m.end(), Kind::Biometric));
        }
    }
}

/// What one byte scan says about a text.
#[derive(Default)]
struct Shape {
    digits: bool,
    max_run: usize,
    max_alnum: usize,
    five: bool,
    dotted: bool,
    dotted_word: bool,
    hex_colons: bool,
    at: bool,
    number_then_word: bool,
    /// A 4-digit run followed by '-' ("2024-").
    iso: bool,
    /// A 3-digit run followed by '-' or ' ' (SSN and phone heads).
    three_sep: bool,
    /// A 4-digit run (SSN and phone tails).
    four: bool,
    /// "9x" or "10x"/"11x": a possible age over 89.
    old_age: bool,
    /// A run of 1-2 digits followed by '/' or '-'.
    short_slash: bool,
    /// A run of 1-2 digits followed by a letter of an ordinal suffix ("11th").
    ordinal: bool,
}

impl Shape {
    fn of(b: &[u8]) -> Self {
        let mut s = Shape::default();
        let (mut run, mut alnum) = (0usize, 0usize);
        for (i, &c) in b.iter().enumerate() {
            if c.is_ascii_digit() {
                run += 1;
                s.digits = true;
            } else if run > 0 {
                let first = b[i - run];
                s.five |= run == 5;
                s.four |= run == 4;
                s.iso |= run == 4 && c == b'-';
                s.three_sep |= run == 3 && (c == b'-' || c == b' ');
                s.old_age |= (run == 2 && first == b'9') || (run == 3 && first == b'1' && b[i - 2] <= b'1');
                s.short_slash |= run <= 2 && (c == b'/' || c == b'-');
                s.ordinal |= run <= 2 && matches!(c | 0x20, b's' | b'n' | b'r' | b't');
                run = 0;
            }
            s.max_run = s.max_run.max(run);
            if c.is_ascii_alphanumeric() {
                alnum += 1;
                s.max_alnum = s.max_alnum.max(alnum);
            } else {
                alnum = 0;
            }
            match c {
                b'@' => s.at = true,
                b' ' if i > 0 && i + 2 < b.len() => {
                    s.number_then_word |=
                        b[i - 1].is_ascii_digit() && b[i + 1].is_ascii_uppercase() && b[i + 2].is_ascii_alphabetic();
                }
                b'.' if i > 0 && i + 1 < b.len() => {
                    let (l, r) = (b[i - 1], b[i + 1]);
                    s.dotted |= l.is_ascii_digit() && r.is_ascii_digit();
                    s.dotted_word |= l.is_ascii_alphanumeric() && r.is_ascii_alphabetic();
                }
                b':' if i > 0 && i + 1 < b.len() => {
                    let hex = |x: u8| x.is_ascii_hexdigit() || x == b':';
                    s.hex_colons |= hex(b[i - 1]) && hex(b[i + 1]) && b[i + 1..].iter().take(6).any(|&x| x == b':');
                }
                _ => {}
            }
        }
        s.five |= run == 5;
        s.four |= run == 4;
        s.old_age |= run == 2 && b.len() >= 2 && b[b.len() - 2] == b'9';
        s
    }
}

/// Literal gates (Aho-Corasick, SIMD-accelerated) for rare formats.
struct Gates {
    url: AhoCorasick,
    biometric: AhoCorasick,
    photo: AhoCorasick,
}

static GATES: LazyLock<Gates> = LazyLock::new(|| {
    let ac = |words: &[&str]| {
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(words)
            // Invariant: a handful of short literal words always builds.
            .expect("gate automaton builds")
    };
    Gates {
        url: ac(&["http", "www.", "ftp:"]),
        biometric: ac(&["print", "retina", "iris", "facial", "dna", "biometric"]),
        photo: ac(&[".jp", ".png", ".gif", ".bmp", ".tif", ".heic", ".dcm"]),
    }
});

fn preceded_by(text: &str, at: usize, pred: impl Fn(char) -> bool) -> bool {
    text[..at].chars().next_back().is_some_and(pred)
}

/// The word after `at`, skipping spaces, lowercased (ASCII).
fn next_word(text: &str, at: usize) -> Lower {
    let rest = text[at..].trim_start_matches([' ', '\t']);
    let end = rest.bytes().position(|c| !(c.is_ascii_alphabetic() || c == b'%')).unwrap_or(rest.len());
    Lower::new(&rest[..end])
}

/// The word before `at`, skipping spaces, lowercased (ASCII).
fn prev_word(text: &str, at: usize) -> Lower {
    let head = text[..at].trim_end_matches([' ', '\t']);
    let start = head.bytes().rposition(|c| !c.is_ascii_alphabetic()).map_or(0, |i| i + 1);
    Lower::new(&head[start..])
}

fn phones(p: &Patterns, text: &str, out: &mut Vec<Span>) {
    let mut push = |start: usize, end: usize| {
        let window_start = floor_char_boundary(text, start.saturating_sub(24));
        let before = text[window_start..start].to_ascii_lowercase();
        let kind = if before.contains("fax") { Kind::Fax } else { Kind::Phone };
        out.push(Span::new(start, end, kind));
    };
    for m in p.phone.find_iter(text) {
        // A decimal point before digits makes a measurement; before "(" it
        // ends a sentence ("today.(301 273 4516)").
        let bracketed = m.as_str().starts_with('(');
        if preceded_by(text, m.start(), |c| c.is_ascii_digit() || (c == '.' && !bracketed)) {
            continue;
        }
        push(m.start(), m.end());
    }
    for m in p.phone_local.find_iter(text) {
        if preceded_by(text, m.start(), |c| c.is_ascii_digit() || matches!(c, '-' | '/' | '.')) {
            continue;
        }
        // "500-1000", "900-1300": a range of values, unless a phone cue is near.
        let (a, b) = m.as_str().split_at(3);
        let first: u32 = a.parse().unwrap_or(0);
        let second: u32 = b[1..5.min(b.len())].parse().unwrap_or(0);
        let window_start = floor_char_boundary(text, m.start().saturating_sub(24));
        let near = text[window_start..m.start()].to_ascii_lowercase();
        let cued = ["phone", "cell", "tel", "call", "home", "work", "#", "number", "pager", "contact"]
            .iter()
            .any(|c| near.contains(c));
        if !cued && second < 2000 && first < second {
            continue;
        }
        push(m.start(), m.end());
    }
    for caps in p.pager.captures_iter(text) {
        if let Some(n) = caps.get(1) {
            push(n.start(), n.end());
        }
    }
}

/// A match on the full text found through a window.
struct Match<'t> {
    start: usize,
    end: usize,
    text: &'t str,
}

impl Match<'_> {
    fn start(&self) -> usize {
        self.start
    }
    fn end(&self) -> usize {
        self.end
    }
    fn as_str(&self) -> &str {
        &self.text[self.start..self.end]
    }
}

fn ceil_char_boundary(text: &str, mut i: usize) -> usize {
    while i < text.len() && !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn cued(p: &Patterns, text: &str, ws: usize, we: usize, out: &mut Vec<Span>) {
    for caps in p.cued.captures_iter(&text[ws..we]) {
        let Some(v) = caps.name("value") else { continue };
        let value = v.as_str();
        let mut v = Match { start: ws + v.start(), end: ws + v.end(), text };
        if !value.bytes().any(|b| b.is_ascii_digit()) {
            // A plate written in two groups after a vehicle cue ("plate NBD
            // 285"): letters, one space, then the digits.
            let rest = &text.as_bytes()[v.end..];
            let digits = rest.iter().skip(1).take_while(|b| b.is_ascii_alphanumeric()).count();
            let two_groups = caps.name("veh").is_some()
                && value.len() <= 4
                && rest.first() == Some(&b' ')
                && (2..=5).contains(&digits)
                && rest[1..=digits].iter().any(u8::is_ascii_digit);
            if !two_groups {
                continue;
            }
            v.end += 1 + digits;
        }
        let kind = if caps.name("mrn").is_some() {
            Kind::Mrn
        } else if caps.name("plan").is_some() {
            Kind::HealthPlan
        } else if caps.name("acct").is_some() {
            Kind::Account
        } else if caps.name("lic").is_some() {
            Kind::License
        } else if caps.name("veh").is_some() {
            Kind::Vehicle
        } else if caps.name("dev").is_some() {
            Kind::Device
        } else if caps.name("ssn").is_some() {
            Kind::Ssn
        } else {
            Kind::Id
        };
        out.push(Span::new(v.start(), v.end(), kind));
    }
}

/// "Sioux Falls, SD 57153": the capitalised words (up to three) between a
/// comma or line start and ", STATE ZIP" are the city, listed or not.
fn city_before(text: &str, state_at: usize) -> Option<(usize, usize)> {
    let head = text[..state_at].strip_suffix(' ')?.strip_suffix(',')?;
    let end = head.len();
    let mut city_start = end;
    let mut word_end = end;
    for _ in 0..3 {
        let word_start = head[..word_end]
            .char_indices()
            .rev()
            .take_while(|&(_, c)| c.is_alphabetic() || c == '\'' || c == '-')
            .last()
            .map_or(word_end, |(i, _)| i);
        let word = &head[word_start..word_end];
        if word.chars().count() < 2 || !word.starts_with(char::is_uppercase) {
            break;
        }
        city_start = word_start;
        // Words of one city are separated by exactly one space.
        match head[..word_start].strip_suffix(' ') {
            Some(rest) if rest.ends_with(char::is_alphabetic) => word_end = rest.len(),
            _ => break,
        }
    }
    (city_start < end).then_some((city_start, end))
}

/// Judges the words between the house number and the street type.
fn street_ok(name: &str) -> bool {
    // "5 MG GIVEN PER DR": a dose followed by words, not an address.
    !name.split_whitespace().any(|w| {
        let w = w.trim_end_matches('.').to_ascii_lowercase();
        UNIT_WORDS.contains(&w.as_str())
            || matches!(w.as_str(), "given" | "per" | "by" | "to" | "and" | "with" | "from" | "at" | "on" | "of")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(String, Kind)> {
        let mut v = Vec::new();
        find(text, &crate::token::tokenize(text), &mut v);
        v.sort();
        v.into_iter().map(|s| (text[s.start..s.end].to_owned(), s.kind)).collect()
    }

    fn has(text: &str, value: &str, kind: Kind) -> bool {
        kinds(text).iter().any(|(v, k)| v == value && *k == kind)
    }

    #[test]
    fn dates() {
        assert!(has("seen on 03/14/2024.", "03/14/2024", Kind::Date));
        assert!(has("extubated 7/22 at", "7/22", Kind::Date));
        // Fraction-like shapes are dates after an event verb, settings otherwise.
        assert!(has("admitted 3/4 for chest pain", "3/4", Kind::Date));
        assert!(has("was seen on 8/5 by", "8/5", Kind::Date));
        assert!(!has("trialed on 5/5 this am", "5/5", Kind::Date));
        assert!(!has("placed on 10/5 overnight", "10/5", Kind::Date));
        assert!(!has("admitted 3/4 tab", "3/4", Kind::Date));
        // Both ends of a range, with or without years.
        assert!(has("Dates of stay: 10/26-10/28 Attending", "10/28", Kind::Date));
        assert!(has("Dates of stay: 5/10/24-5/15/24 Attending", "5/15/24", Kind::Date));
        assert!(has("Dates of stay: 1/29 to 2/4 Attending", "2/4", Kind::Date));
        assert!(has("Follow-up with Dr. Lawson on 8/5; office", "8/5", Kind::Date));
        assert!(!has("crackles 1/2 to 2/3 way up", "2/3", Kind::Date));
        assert!(!has("ratio went from 1/2 to 2/3 of", "2/3", Kind::Date));
        assert!(has("cath Mar 14 showed", "Mar 14", Kind::Date));
        assert!(has("on 20th Oct, 1989", "20th Oct, 1989", Kind::Date));
        assert!(has("MI 12/83 tx", "12/83", Kind::Date));
        assert!(has("admitted the third of July and", "the third of July", Kind::Date));
        assert!(has("on 2024-03-14", "2024-03-14", Kind::Date));
        assert!(has("bay on 24-Aug-2022.", "24-Aug-2022", Kind::Date));
        assert!(has("NOTE - 25-DEC-2024\n", "25-DEC-2024", Kind::Date));
        assert!(has("date: 17-Feb-23 by", "17-Feb-23", Kind::Date));
        // Two dates run together by a slash; a day named by its ordinal
        // alone at the end of a clause; years before 1900.
        assert!(has("HAD TREATMENTS 10/03/10/04 AND", "10/03/10/04", Kind::Date));
        assert!(!has("ratio 1/2/3/4 and", "1/2/3/4", Kind::Date));
        assert!(!has("sets 10/04/10/03 done", "10/04/10/03", Kind::Date));
        assert!(has("\"it's the 11th.\" pt oriented", "11th", Kind::Date));
        assert!(has("discharged on the 3rd, then", "3rd", Kind::Date));
        assert!(!has("fx of the 5th rib", "5th", Kind::Date));
        assert!(!has("up to the 4th floor", "4th", Kind::Date));
        assert!(!has("at 11th hour.", "11th", Kind::Date));
        assert!(has("stated march 21, 1899 then", "march 21, 1899", Kind::Date));
        // Hard negatives: vitals, ratios, doses, bare years.
        assert!(kinds("BP 120/80 HR 88").is_empty());
        assert!(kinds("strength 4/5 bilaterally").is_empty());
        assert!(kinds("gave 1/2 tab").is_empty());
        assert!(kinds("CABG in 1993").is_empty());
        assert!(kinds("may 2 units").is_empty());
    }

    #[test]
    fn ages_over_89_only() {
        assert!(has("a 94-year-old woman", "94", Kind::Age));
        assert!(has("98 yo gentleman", "98", Kind::Age));
        assert!(kinds("a 74 yo man").is_empty());
    }

    #[test]
    fn contact_and_network() {
        assert!(has("call (559) 555-0142 now", "(559) 555-0142", Kind::Phone));
        assert!(has("call 559.555.0142 now", "559.555.0142", Kind::Phone));
        assert!(has("call +1 410-392-0780 x45.", "+1 410-392-0780 x45", Kind::Phone));
        assert!(has("faxed to (312) 555-0198.", "(312) 555-0198", Kind::Fax));
        // In brackets after a full stop, with one digit too many in the tail.
        assert!(has("visited today.(301 273 45166) both", "(301 273 45166)", Kind::Phone));
        assert!(!has("weight 3.301 273 4516", "301 273 4516", Kind::Phone));
        assert!(has("Pager # 83554.", "83554", Kind::Phone));
        assert!(has("mail m.fern@zephyr.example.", "m.fern@zephyr.example", Kind::Email));
        assert!(has("at https://a.example/u/x.", "https://a.example/u/x", Kind::Url));
        assert!(has("host 10.34.201.7.", "10.34.201.7", Kind::Ip));
        assert!(has("host fe80::1ff:fe23:4567:890a up", "fe80::1ff:fe23:4567:890a", Kind::Ip));
        assert!(!has("at 12:30:45 pm", "12:30:45", Kind::Ip));
        assert!(has("SSN 402-19-8877", "402-19-8877", Kind::Ssn));
    }

    #[test]
    fn cued_identifiers() {
        assert!(has("(MRN 5583920) was", "5583920", Kind::Mrn));
        assert!(has("under mrn 2280 pending", "2280", Kind::Mrn));
        assert!(has("(chartMRN04857211)", "04857211", Kind::Mrn));
        assert!(has("member ID is HPX-77-40921 and", "HPX-77-40921", Kind::HealthPlan));
        assert!(has("Billing account 6620148833 was", "6620148833", Kind::Account));
        assert!(has("license number is 1841007193.", "1841007193", Kind::License));
        assert!(has("plate 8XYZ432, VIN", "8XYZ432", Kind::Vehicle));
        assert!(has("vehicle (plate NBD 285) was moved", "NBD 285", Kind::Vehicle));
        assert!(!kinds("plate and screws removed").iter().any(|(_, k)| *k == Kind::Vehicle));
        assert!(has("VIN 1HGCM82633A004352,", "1HGCM82633A004352", Kind::Vehicle));
        assert!(has("Device serial SN-CG5-881207X.", "SN-CG5-881207X", Kind::Device));
        assert!(has("Voiceprint template VP-559A is", "VP-559A", Kind::Biometric));
        assert!(has("on file as mf_frontal_2024.jpg.", "mf_frontal_2024.jpg", Kind::Biometric));
        assert!(has("study code CRIMSON-0447 links", "CRIMSON-0447", Kind::Id));
    }

    #[test]
    fn places() {
        // The city before ", STATE ZIP", listed or not.
        assert!(has("7934 Chestnut Pl Unit 1, El Paso, TX 79967.", "El Paso", Kind::Location));
        assert!(has("Highland Court, Sioux Falls, SD 57153", "Sioux Falls", Kind::Location));
        assert!(has("lives in\nQuillmoor, MD 21201", "Quillmoor", Kind::Location));
        assert!(!has("lives in\nQuillmoor, MD 21201", "in\nQuillmoor", Kind::Location));
        // Streets judge only the words between number and type.
        assert!(has("Address on file: 6304 Highland Way, Jacksonville", "6304 Highland Way", Kind::Address));
        assert!(has("1480 Highland Court Unit 32, Cleveland", "1480 Highland Court Unit 32", Kind::Address));
        assert!(has("4417 Old Kettle Rd, Fresno, CA 93726.", "4417 Old Kettle Rd", Kind::Address));
        assert!(has("Fresno, CA 93726.", "93726", Kind::Zip));
        assert!(has("the mailing ZIP on the chart is 93291.", "93291", Kind::Zip));
        assert!(kinds("5 MG GIVEN PER DR SMITH").iter().all(|(_, k)| *k != Kind::Address));
    }
}
