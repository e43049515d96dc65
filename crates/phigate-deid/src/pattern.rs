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

use regex::Regex;
use regex_automata::util::captures::Captures;
use regex_automata::{Anchored, Input, meta};

use crate::dictionary::Flags;
use crate::span::{Kind, Span};
use crate::token::{Lower, Token};

mod age;
mod checksum;
mod date;
mod holiday;
pub use checksum::{luhn_ok, npi_ok, ssn_ok, vin_ok};
use date::{UNIT_WORDS, apostrophe_years, dotted_dates, numeric_dates, ordinal_days, written_dates};

struct Patterns {
    date_numeric: meta::Regex,
    date_iso: Regex,
    date_month_first: Regex,
    date_day_first: Regex,
    date_ordinal_words: Regex,
    date_month_year: Regex,
    age: meta::Regex,
    phone: meta::Regex,
    phone_local: meta::Regex,
    pager: meta::Regex,
    email: Regex,
    url: Regex,
    ssn: meta::Regex,
    ipv4: meta::Regex,
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

/// A pattern searched only at the places a match can start (see
/// [`anchored_matches`]).
fn anchored_re(pattern: &str) -> meta::Regex {
    // Invariant: as for `re`.
    meta::Regex::new(pattern).expect("built-in pattern compiles")
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
        (r"(?-u)(\d{1,2})(/)((?:19|20)\d\d|\d{1,2})(?:/(\d{4}|\d{2}))?(?-u:\b)|(\d{1,2})(-)(\d{1,2})(?:-(\d{4}|\d{2}))?(?-u:\b)").to_string(),
        (r"(?-u)(?-u:\b)(?:19|20)\d\d-(?:0?[1-9]|1[0-2])-(?:0?[1-9]|[12]\d|3[01])(?-u:\b)").to_string(),
        (format!(
        r"(?-u)(?i)(?-u:\b){MONTH}\.?\s{{0,2}}(?:(?:3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)?)(?:,?\s*(?:1[89]|20)?\d\d)?(?-u:\b)"
    )).to_string(),
        (format!(
        r"(?-u)(?i)(?-u:\b)(?:3[01]|[12]\d|0?[1-9])(?:(?:st|nd|rd|th)?\s{{0,2}}(?:of\s+)?{MONTH}(?-u:\b)\.?(?:,?\s*(?:1[89]|20)\d\d(?-u:\b))?|-{MONTH}(?:-(?:19|20)?\d\d)?(?-u:\b))"
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
        date_numeric: anchored_re(&sources[DATE_NUMERIC]),
        date_iso: re(&sources[DATE_ISO]),
        date_month_first: re(&sources[DATE_MONTH_FIRST]),
        date_day_first: re(&sources[DATE_DAY_FIRST]),
        date_ordinal_words: re(&sources[DATE_ORDINAL_WORDS]),
        date_month_year: re(&sources[DATE_MONTH_YEAR]),
        age: anchored_re(&sources[AGE]),
        phone: anchored_re(&sources[PHONE]),
        phone_local: anchored_re(&sources[PHONE_LOCAL]),
        pager: anchored_re(&sources[PAGER]),
        email: re(&sources[EMAIL]),
        url: re(&sources[URL]),
        ssn: anchored_re(&sources[SSN]),
        ipv4: anchored_re(&sources[IPV4]),
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
    let shape = Shape::of(text.as_bytes(), tokens);
    let on = |i: usize| match i {
        CUED => shape.digits(),
        DATE_ISO => shape.iso,
        STREET => shape.number_then_word,
        LONG_NUMBER => shape.runs.iter().any(|&(s, e)| e - s >= 7),
        ZIP_STATE | ZIP_CUE => shape.runs.iter().any(|&(s, e)| e - s == 5),
        VIN => shape.long_alnum,
        IPV6 => shape.hex_colons,
        EMAIL => shape.at,
        URL => shape.url,
        BIOMETRIC => shape.biometric,
        PHOTO_FILE => shape.image_extension,
        _ => true,
    };
    numeric_dates(p, text, &shape.runs, out);
    dotted_dates(text, &shape.runs, out);
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
    let b = text.as_bytes();
    anchored_matches(&p.age, text, &age_starts(b, &shape.runs), |g| {
        if let Some(n) = g.get(1).or_else(|| g.get(2)) {
            // "age 90+" is the generalised form itself: the '+' goes with
            // the number, so generalising it again writes "90+", not "90++".
            let end = if b.get(n.end()) == Some(&b'+') { n.end() + 1 } else { n.end() };
            out.push(Span::new(n.start(), end, Kind::Age));
        }
    });
    age::shorthand_ages(text, &shape.runs, out);
    word_rules(text, tokens, out);
    if shape.digits() {
        phones(p, text, tokens, &shape, out);
    }
    anchored_matches(&p.ssn, text, &ssn_starts(b, &shape.runs), |g| {
        if let Some(m) = g.get(0)
            && ssn_ok(m.as_str())
            && !preceded_by(text, m.start(), |c| c.is_ascii_digit() || c == '-')
        {
            out.push(Span::new(m.start(), m.end(), Kind::Ssn));
        }
    });
    anchored_matches(&p.ipv4, text, &ipv4_starts(b, &shape.runs), |g| {
        let ok = (1..=4).all(|i| g.get(i).and_then(|m| m.as_str().parse::<u16>().ok()).is_some_and(|v| v <= 255));
        if let Some(m) = g.get(0)
            && ok
            && !preceded_by(text, m.start(), |c| c == '.' || c == '/')
        {
            out.push(Span::new(m.start(), m.end(), Kind::Ip));
        }
    });
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
            // An identifier carries a digit: "fingerprint on file", "retinal
            // scan and" name the modality, not a template.
            if let Some(v) = caps.name("value").filter(|v| v.as_str().bytes().any(|b| b.is_ascii_digit())) {
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

/// Written ages and holidays: one pass over the words shared by both, each
/// rule behind a length and first-letter test (they look at every word, so
/// the pass is what they cost).
fn word_rules(text: &str, tokens: &[Token], out: &mut Vec<Span>) {
    let b = text.as_bytes();
    for (i, t) in tokens.iter().enumerate() {
        let (len, first) = (t.end - t.start, b[t.start]);
        if age::may_start(len, first) {
            age::written_age_at(text, tokens, i, out);
        }
        if holiday::may_start(len, first) {
            holiday::holiday_at(text, tokens, i, out);
        }
    }
}

/// What one byte scan says about a text.
#[derive(Default, Debug, PartialEq)]
struct Shape {
    /// A run of 17 or more ASCII letters and digits (a VIN's length).
    long_alnum: bool,
    hex_colons: bool,
    at: bool,
    number_then_word: bool,
    /// A 4-digit run followed by '-' ("2024-").
    iso: bool,
    /// A run of 1-2 digits followed by a letter of an ordinal suffix ("11th").
    ordinal: bool,
    /// Every run of digits, `(start, end)` in byte offsets, in order: the
    /// places where the number patterns can start.
    runs: Vec<(usize, usize)>,
    /// Every '(' (where a bracketed area code can start).
    parens: Vec<usize>,
    /// Letters that could start a pager cue ("pager", "cell", "tel") right
    /// after a mark other than a space: words after spaces are tokens.
    cue_letters: Vec<usize>,
    /// "://" or "www.": every URL the pattern accepts has one.
    url: bool,
    /// A '.' followed by an image or DICOM extension ("scan.dcm").
    image_extension: bool,
    /// A biometric cue word at a word boundary ("fingerprint", "DNA").
    biometric: bool,
}

/// File extensions the photo pattern accepts, by their first letters.
const IMAGE_EXTENSIONS: [&[u8]; 7] = [b"jp", b"png", b"gif", b"bmp", b"tif", b"heic", b"dcm"];

impl Shape {
    /// One pass over the bytes, eight at a time. Letters and spaces, 80% of
    /// a note, need no work of their own: a word-wise test finds the other
    /// bytes, and what spaces mean is read from their neighbours (a digit
    /// run's end, a word's start). A byte-at-a-time loop spent most of its
    /// time mispredicting the branch at every word boundary.
    fn of(b: &[u8], tokens: &[Token]) -> Self {
        let mut s = Shape { biometric: biometric_start(b), ..Shape::default() };
        // Words after a space: the tokenizer has found their starts already.
        // (A word glued to a digit is no token; one after '_' has no boundary.)
        s.biometric |=
            tokens.iter().any(|t| biometric_start(&b[t.start..]) && (t.start == 0 || b[t.start - 1] != b'_'));
        let mut run_start = 0;
        let mut alnum_checked = 0;
        let mut chunks = b.chunks_exact(8);
        let mut base = 0;
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let classes = Classes::of(u64::from_le_bytes(word));
            // A run of 17 letters and digits (a VIN) covers some aligned
            // chunk whole; only then is the run measured.
            if classes.alnum == Classes::ALL && base >= alnum_checked {
                let (start, end) = alnum_run(b, base);
                s.long_alnum |= end - start >= 17;
                alnum_checked = end;
            }
            let mut others = classes.others;
            while others != 0 {
                let k = others.trailing_zeros() as usize / 8;
                s.visit(b, base + k, &mut run_start);
                others &= others - 1;
            }
            base += 8;
        }
        for i in base..b.len() {
            if b[i].is_ascii_alphanumeric() && i >= alnum_checked {
                let (start, end) = alnum_run(b, i);
                s.long_alnum |= end - start >= 17;
                alnum_checked = end;
            }
            if !b[i].is_ascii_alphabetic() && b[i] != b' ' {
                s.visit(b, i, &mut run_start);
            }
        }
        s
    }

    /// Byte `i` is neither an ASCII letter nor a space.
    #[inline(always)]
    fn visit(&mut self, b: &[u8], i: usize, run_start: &mut usize) {
        let c = b[i];
        if c.is_ascii_digit() {
            if i == 0 || !b[i - 1].is_ascii_digit() {
                *run_start = i;
            }
            match b.get(i + 1) {
                Some(n) if n.is_ascii_digit() => {}
                Some(&n) => self.digit_run_ends(b, i + 1, i + 1 - *run_start, n),
                None => self.runs.push((*run_start, i + 1)),
            }
            return;
        }
        // The biometric pattern starts at a word boundary: after anything
        // but a letter, digit or '_' (non-ASCII bytes included).
        self.biometric |= c != b'_' && biometric_start(&b[i + 1..]);
        if c != b'_' && b.get(i + 1).is_some_and(|&n| pager_letter(n)) {
            self.cue_letters.push(i + 1);
        }
        match c {
            b'@' => self.at = true,
            b'(' => self.parens.push(i),
            b'.' => {
                let rest = &b[i + 1..];
                self.url |= i >= 3 && b[i - 3..i].eq_ignore_ascii_case(b"www");
                self.image_extension |= starts_with_any(rest, &IMAGE_EXTENSIONS);
            }
            b':' => {
                self.url |= b[i + 1..].starts_with(b"//");
                if i > 0 && i + 1 < b.len() {
                    let hex = |x: u8| x.is_ascii_hexdigit() || x == b':';
                    self.hex_colons |= hex(b[i - 1]) && hex(b[i + 1]) && b[i + 1..].iter().take(6).any(|&x| x == b':');
                }
            }
            _ => {}
        }
    }

    /// A run of `run` digits ended at byte `i`, which is `c`.
    fn digit_run_ends(&mut self, b: &[u8], i: usize, run: usize, c: u8) {
        self.runs.push((i - run, i));
        self.iso |= run == 4 && c == b'-';
        self.ordinal |= run <= 2 && matches!(c | 0x20, b's' | b'n' | b'r' | b't');
        self.number_then_word |=
            c == b' ' && i + 2 < b.len() && b[i + 1].is_ascii_uppercase() && b[i + 2].is_ascii_alphabetic();
    }

    fn digits(&self) -> bool {
        !self.runs.is_empty()
    }
}

/// The run of ASCII letters and digits around byte `i`: `(start, end)`.
fn alnum_run(b: &[u8], i: usize) -> (usize, usize) {
    let start = b[..i].iter().rposition(|c| !c.is_ascii_alphanumeric()).map_or(0, |k| k + 1);
    let end = b[i..].iter().position(|c| !c.is_ascii_alphanumeric()).map_or(b.len(), |k| i + k);
    (start, end)
}

/// Byte classes of eight bytes at once (SWAR), as the high bit of each
/// byte's lane. Every lane is first kept below 0x80, so the per-lane range
/// tests never carry into the next lane; non-ASCII bytes are in no class.
struct Classes {
    /// ASCII letters and digits.
    alnum: u64,
    /// Neither an ASCII letter nor a space.
    others: u64,
}

impl Classes {
    const LANES: u64 = 0x0101_0101_0101_0101;
    const ALL: u64 = 0x80 * Self::LANES;

    /// Lanes whose byte (below 0x80) lies in `lo..=hi`.
    fn in_range(low7: u64, lo: u8, hi: u8) -> u64 {
        let at_least = low7 + u64::from(0x80 - lo) * Self::LANES;
        let above = low7 + u64::from(0x80 - hi - 1) * Self::LANES;
        at_least & !above & Self::ALL
    }

    fn of(w: u64) -> Self {
        let ascii = !w & Self::ALL;
        let low7 = w & (0x7f * Self::LANES);
        let letters = Self::in_range(low7 | (0x20 * Self::LANES), b'a', b'z') & ascii;
        let digits = Self::in_range(low7, b'0', b'9') & ascii;
        let spaces = Self::in_range(low7, b' ', b' ') & ascii;
        Classes { alnum: letters | digits, others: !(letters | spaces) & Self::ALL }
    }
}

/// Words a biometric identifier's cue starts with (the pattern's first
/// words, lowercase).
const BIOMETRIC_STARTS: [&[u8]; 8] =
    [b"voice", b"finger", b"retina", b"iris", b"palm", b"facial", b"dna", b"biometric"];

/// True if `b` starts with a biometric cue word, in any case. The first
/// two letters are tested inline: they rule out nearly every word (the
/// first alone let a third of them through, to compare with every cue).
#[inline(always)]
fn biometric_start(b: &[u8]) -> bool {
    b.len() >= 3
        && b[0].is_ascii_alphabetic()
        && matches!(
            (b[0] | 0x20, b[1] | 0x20),
            (b'v', b'o')
                | (b'f', b'i' | b'a')
                | (b'r', b'e')
                | (b'i', b'r')
                | (b'p', b'a')
                | (b'd', b'n')
                | (b'b', b'i')
        )
        && biometric_word(b)
}

#[inline(never)]
fn biometric_word(b: &[u8]) -> bool {
    starts_with_any(b, &BIOMETRIC_STARTS)
}

/// True if `b` starts with one of `words`, ASCII case ignored.
fn starts_with_any(b: &[u8], words: &[&[u8]]) -> bool {
    words.iter().any(|w| b.len() >= w.len() && b[..w.len()].eq_ignore_ascii_case(w))
}

/// The capture groups of an anchored match, read like `regex::Captures`.
struct Groups<'t> {
    text: &'t str,
    caps: Captures,
}

impl<'t> Groups<'t> {
    fn get(&self, i: usize) -> Option<Match<'t>> {
        self.caps.get_group(i).map(|g| Match { start: g.start, end: g.end, text: self.text })
    }
}

/// Calls `f` with the leftmost-first, non-overlapping matches of `re` that
/// start at one of `starts` (ascending), each tried as an anchored search
/// that still sees the text around it for `\b`. When every match of `re`
/// starts at one of them these are exactly the matches `captures_iter` finds,
/// without running the automaton over the text in between (a full pass
/// costs as much per pattern as tokenizing the note).
fn anchored_matches<'t>(re: &meta::Regex, text: &'t str, starts: &[usize], mut f: impl FnMut(&Groups<'t>)) {
    if starts.is_empty() {
        return;
    }
    let mut g = Groups { text, caps: re.create_captures() };
    let mut done = 0;
    for &s in starts {
        if s < done {
            continue;
        }
        re.search_captures(&Input::new(text).range(s..).anchored(Anchored::Yes), &mut g.caps);
        if let Some(m) = g.caps.get_match() {
            done = m.end();
            f(&g);
        }
    }
}

/// Where an age over 89 can start: at a two-digit run "9x" or a
/// three-digit "10x"/"11x" ("95 yo"), or at the "age"/"aged" that blanks
/// and one colon separate from it ("age: 95").
fn age_starts(b: &[u8], runs: &[(usize, usize)]) -> Vec<usize> {
    let blank_before = |k: usize| k > 0 && matches!(b[k - 1], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
    let mut starts = Vec::new();
    for &(s, e) in runs {
        let old = (e - s == 2 && b[s] == b'9') || (e - s == 3 && b[s] == b'1' && b[s + 1] <= b'1');
        if !old {
            continue;
        }
        let mut k = s;
        while blank_before(k) {
            k -= 1;
        }
        if k > 0 && b[k - 1] == b':' {
            k -= 1;
            while blank_before(k) {
                k -= 1;
            }
        }
        starts.extend([k.checked_sub(4), k.checked_sub(3), Some(s)].into_iter().flatten());
    }
    starts.sort_unstable();
    starts.dedup();
    starts
}

/// Where an SSN can start: a run of three digits before '-' or ' '.
fn ssn_starts(b: &[u8], runs: &[(usize, usize)]) -> Vec<usize> {
    runs.iter().filter(|&&(s, e)| e - s == 3 && matches!(b.get(e), Some(b'-' | b' '))).map(|r| r.0).collect()
}

/// Where an IPv4 address can start: a run of up to three digits before '.'.
fn ipv4_starts(b: &[u8], runs: &[(usize, usize)]) -> Vec<usize> {
    runs.iter().filter(|&&(s, e)| e - s <= 3 && b.get(e) == Some(&b'.')).map(|r| r.0).collect()
}

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

/// True for the first letters of the pager pattern's cue words.
fn pager_letter(c: u8) -> bool {
    matches!(c | 0x20, b'p' | b'b' | b'c' | b't') && c.is_ascii_alphabetic()
}

/// Where a phone number can start: a run of three or more digits; a
/// trunk '1' (the last digit of its run, a '+' perhaps before it); a '('.
fn phone_starts(b: &[u8], shape: &Shape) -> Vec<usize> {
    let mut starts = shape.parens.clone();
    for &(s, e) in &shape.runs {
        if e - s >= 3 {
            starts.push(s);
        }
        if b[e - 1] == b'1' {
            starts.push(e - 1);
            if e >= 2 && b[e - 2] == b'+' {
                starts.push(e - 2);
            }
        }
    }
    starts.sort_unstable();
    starts.dedup();
    starts
}

/// Where a local phone number ("555-0142") can start: three digits and '-'.
fn local_phone_starts(b: &[u8], runs: &[(usize, usize)]) -> Vec<usize> {
    runs.iter().filter(|&&(s, e)| e - s == 3 && b.get(e) == Some(&b'-')).map(|r| r.0).collect()
}

/// Where a pager or phone cue can start: a word beginning with one of the
/// cue words, at a word boundary.
fn pager_starts(b: &[u8], tokens: &[Token], shape: &Shape) -> Vec<usize> {
    const CUES: [&[u8]; 6] = [b"pager", b"pg", b"beep", b"cell", b"phone", b"tel"];
    let cue_at = |p: usize| starts_with_any(&b[p..], &CUES);
    // Most words fail on their first two letters; only the rest are compared
    // with every cue (this scan runs at every token of every note).
    let cue_pair = |p: usize| {
        b.get(p + 1).is_some_and(|&second| {
            b[p].is_ascii_alphabetic()
                && matches!((b[p] | 0x20, second | 0x20), (b'p', b'a' | b'g' | b'h') | (b'b' | b'c' | b't', b'e'))
        })
    };
    let mut starts: Vec<usize> = tokens
        .iter()
        .map(|t| t.start)
        .filter(|&p| cue_pair(p) && (p == 0 || b[p - 1] != b'_') && cue_at(p))
        .chain(shape.cue_letters.iter().copied().filter(|&p| cue_at(p)))
        .collect();
    starts.sort_unstable();
    starts.dedup();
    starts
}

fn phones(p: &Patterns, text: &str, tokens: &[Token], shape: &Shape, out: &mut Vec<Span>) {
    let b = text.as_bytes();
    let mut push = |start: usize, end: usize| {
        let window_start = floor_char_boundary(text, start.saturating_sub(24));
        let before = text[window_start..start].to_ascii_lowercase();
        let kind = if before.contains("fax") { Kind::Fax } else { Kind::Phone };
        out.push(Span::new(start, end, kind));
    };
    anchored_matches(&p.phone, text, &phone_starts(b, shape), |g| {
        let Some(m) = g.get(0) else { return };
        // A decimal point before digits makes a measurement; before "(" it
        // ends a sentence ("today.(301 273 4516)").
        let bracketed = m.as_str().starts_with('(');
        if !preceded_by(text, m.start(), |c| c.is_ascii_digit() || (c == '.' && !bracketed)) {
            push(m.start(), m.end());
        }
    });
    anchored_matches(&p.phone_local, text, &local_phone_starts(b, &shape.runs), |g| {
        let Some(m) = g.get(0) else { return };
        if preceded_by(text, m.start(), |c| c.is_ascii_digit() || matches!(c, '-' | '/' | '.')) {
            return;
        }
        // "500-1000", "900-1300": a range of values, unless a phone cue is near.
        let (a, rest) = m.as_str().split_at(3);
        let first: u32 = a.parse().unwrap_or(0);
        let second: u32 = rest[1..5.min(rest.len())].parse().unwrap_or(0);
        let window_start = floor_char_boundary(text, m.start().saturating_sub(24));
        let near = text[window_start..m.start()].to_ascii_lowercase();
        let cued = ["phone", "cell", "tel", "call", "home", "work", "#", "number", "pager", "contact"]
            .iter()
            .any(|c| near.contains(c));
        if !cued && second < 2000 && first < second {
            return;
        }
        push(m.start(), m.end());
    });
    anchored_matches(&p.pager, text, &pager_starts(b, tokens, shape), |g| {
        if let Some(n) = g.get(1) {
            push(n.start(), n.end());
        }
    });
}

/// A match on the full text found through a window.
struct Match<'t> {
    start: usize,
    end: usize,
    text: &'t str,
}

impl<'t> Match<'t> {
    fn start(&self) -> usize {
        self.start
    }
    fn end(&self) -> usize {
        self.end
    }
    fn as_str(&self) -> &'t str {
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
    use crate::token::tokenize;

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
        assert!(has("cultures sent 13-Oct, pending", "13-Oct", Kind::Date));
        // Dotted month.day.year, but not decimals run together, versions,
        // addresses or doses.
        assert!(has("labs 10.13.04 pending", "10.13.04", Kind::Date));
        assert!(has("dated 3.5.2021.", "3.5.2021", Kind::Date));
        for text in ["abg 7.45.34.7 on", "ver 1.2.3 ok", "ip 10.1.2.30 ok", "K 4.1.10 mg", "pH 7.35.40", "13.5.04"] {
            assert!(kinds(text).iter().all(|(_, k)| *k != Kind::Date), "{text}");
        }
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
        // A weekday before, or a zero pad, makes a month/day of any shape.
        assert!(has("On Mon 3/4 pt had fever", "3/4", Kind::Date));
        assert!(has("seen Thursday, 1/2 at noon", "1/2", Kind::Date));
        assert!(has("Last seen 03/04 in clinic", "03/04", Kind::Date));
        assert!(!has("sat 3/4 of the time", "3/4", Kind::Date));
        // Ranges of days: both ends go, so no day of the month is left.
        assert!(has("Vacation March 3-5, back", "March 3-5", Kind::Date));
        assert!(has("back April 7-9.", "April 7-9", Kind::Date));
        assert!(has("Stay Mar 14 - 16 uneventful", "Mar 14 - 16", Kind::Date));
        assert!(has("away 3-5 March, back", "3-5 March", Kind::Date));
        assert!(has("back on 7 to 9 April.", "7 to 9 April.", Kind::Date));
        assert!(has("Inpatient 3/4-3/6 then rehab", "3/4-3/6", Kind::Date));
        assert!(has("intubated 6/30-7/2 for CHF", "6/30-7/2", Kind::Date));
        assert!(has("Jan 3-5 days ago", "Jan 3", Kind::Date));
        assert!(!has("Jan 3-5 days ago", "Jan 3-5", Kind::Date));
        assert!(!has("Dec 10-20 mg", "Dec 10-20", Kind::Date));
        assert!(kinds("crackles 1/3-1/2 up").is_empty());
        assert!(kinds("gave 1/2-3/4 tab").is_empty());
        assert!(!has("sats 7/4-7/3 x", "7/4-7/3", Kind::Date));
        // An apostrophe year takes the month/day or month before it along.
        assert!(has("CABG '79 and", "79", Kind::Date));
        assert!(has("Surgery on 3/4/'05.", "3/4/'05", Kind::Date));
        assert!(has("Seen in clinic Mar '05.", "Mar '05", Kind::Date));
        assert!(has("since June '99,", "June '99", Kind::Date));
        assert!(has("PTCA in '09", "09", Kind::Date));
        assert!(!kinds("ratio 7.5/'05 x").iter().any(|(v, _)| v.contains('/')));
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
        // A three-digit age that ends the note (the old gate missed it).
        assert!(has("Pt is aged 101", "101", Kind::Age));
        assert!(has("age 90+, lives alone", "90+", Kind::Age));
        assert!(has("last seen 02/2024 in clinic", "02/2024", Kind::Date));
        assert!(kinds("epinephrine 1/1000 topical, 5/1999 mg").iter().all(|(v, _)| v != "1/1000" && v != "5/1999"));
        assert!(kinds("the page: 95").is_empty());
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
        // The modality named without an identifier is not one.
        for text in ["Retinal scan and fingerprint on file.", "Fingerprint template was taken."] {
            assert!(kinds(text).iter().all(|(_, k)| *k != Kind::Biometric), "{text}: {:?}", kinds(text));
        }
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

    /// The byte-at-a-time scan the word-wise [`Shape::of`] replaced, with
    /// the gates it took over from substring searches written as plainly.
    fn reference_shape(b: &[u8]) -> Shape {
        let mut s = Shape::default();
        let (mut run, mut alnum, mut max_alnum) = (0usize, 0usize, 0usize);
        for (i, &c) in b.iter().enumerate() {
            if c.is_ascii_digit() {
                run += 1;
            } else if run > 0 {
                s.runs.push((i - run, i));
                s.iso |= run == 4 && c == b'-';
                s.ordinal |= run <= 2 && matches!(c | 0x20, b's' | b'n' | b'r' | b't');
                run = 0;
            }
            if c.is_ascii_alphanumeric() {
                alnum += 1;
                max_alnum = max_alnum.max(alnum);
            } else {
                alnum = 0;
            }
            let word_char = |x: u8| x.is_ascii_alphanumeric() || x == b'_';
            s.biometric |= (i == 0 || !word_char(b[i - 1])) && biometric_word(&b[i..]);
            if c == b'(' {
                s.parens.push(i);
            }
            let mark = !(c.is_ascii_alphanumeric() || c == b' ' || c == b'_');
            if mark && b.get(i + 1).is_some_and(|&n| pager_letter(n)) {
                s.cue_letters.push(i + 1);
            }
            let rest = &b[i + 1..];
            match c {
                b'@' => s.at = true,
                b' ' if i > 0 && i + 2 < b.len() => {
                    s.number_then_word |=
                        b[i - 1].is_ascii_digit() && b[i + 1].is_ascii_uppercase() && b[i + 2].is_ascii_alphabetic();
                }
                b'.' => {
                    s.url |= i >= 3 && b[i - 3..i].eq_ignore_ascii_case(b"www");
                    s.image_extension |= starts_with_any(rest, &IMAGE_EXTENSIONS);
                }
                b':' => {
                    s.url |= rest.starts_with(b"//");
                    if i > 0 && i + 1 < b.len() {
                        let hex = |x: u8| x.is_ascii_hexdigit() || x == b':';
                        s.hex_colons |= hex(b[i - 1]) && hex(b[i + 1]) && rest.iter().take(6).any(|&x| x == b':');
                    }
                }
                _ => {}
            }
        }
        if run > 0 {
            s.runs.push((b.len() - run, b.len()));
        }
        s.long_alnum = max_alnum >= 17;
        s
    }

    #[test]
    fn word_wise_shape_matches_the_byte_scan() {
        for text in [
            "",
            "9",
            "pt 93 yo. Seen 10/3. Call (410) 555-0142 or www.x.org, http://a.b/c",
            "VIN 1HGCM82633A004352 fingerprint on file; o'dna profile 12; 12345678\u{f1}dna",
            "img.JPG scan.dcm fe80::1 a@b.co 2019-03-04 the 11th 123 Main St 111yo",
        ] {
            assert_eq!(Shape::of(text.as_bytes(), &tokenize(text)), reference_shape(text.as_bytes()), "{text:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn shape_matches_the_byte_scan_on_any_text(
            text in "([a-zA-Z0-9 .:/@_'\\-]|\u{f1}|\n|dna|Finger|www|://|\\.jpg|Biometric){0,60}"
        ) {
            let fast = Shape::of(text.as_bytes(), &tokenize(&text));
            proptest::prop_assert_eq!(fast, reference_shape(text.as_bytes()), "{:?}", text);
        }
    }

    /// Every match `captures_iter` finds over the whole text, groups included.
    fn full_matches(re: &meta::Regex, text: &str) -> Vec<Vec<Option<(usize, usize)>>> {
        re.captures_iter(text)
            .map(|c| (0..c.group_len()).map(|i| c.get_group(i).map(|g| (g.start, g.end))).collect())
            .collect()
    }

    fn anchored(re: &meta::Regex, text: &str, starts: &[usize]) -> Vec<Vec<Option<(usize, usize)>>> {
        let mut found = Vec::new();
        anchored_matches(re, text, starts, |g| {
            found.push((0..g.caps.group_len()).map(|i| g.get(i).map(|m| (m.start(), m.end()))).collect());
        });
        found
    }

    /// The anchored searches find what a pass over the whole text finds.
    fn assert_anchored_complete(text: &str) {
        let p = &*PATTERNS;
        let b = text.as_bytes();
        let runs = Shape::of(b, &tokenize(text)).runs;
        let tokens = tokenize(text);
        let shape = Shape::of(b, &tokens);
        for (name, re, starts) in [
            ("phone", &p.phone, phone_starts(b, &shape)),
            ("pager", &p.pager, pager_starts(b, &tokens, &shape)),
            ("local phone", &p.phone_local, local_phone_starts(b, &runs)),
            ("age", &p.age, age_starts(b, &runs)),
            ("ssn", &p.ssn, ssn_starts(b, &runs)),
            ("ipv4", &p.ipv4, ipv4_starts(b, &runs)),
            ("date", &p.date_numeric, date::numeric_date_starts(b, &runs)),
        ] {
            assert_eq!(anchored(re, text, &starts), full_matches(re, text), "{name} in {text:?}");
        }
    }

    #[test]
    fn anchored_searches_match_full_passes() {
        for text in [
            "age 101",
            "AGED: 95yo, 93 y/o, page 95, 123/4, 12/3/2019, 7-8-09 10.0.0.1 x1.2.3.4 123-45-6789 12 3-4",
            "age\t:\n 110 years old; usage: 99",
            "",
        ] {
            assert_anchored_complete(text);
        }
    }

    proptest::proptest! {
        #[test]
        fn anchored_searches_match_full_passes_on_any_text(
            text in "([0-9]{1,4}|[ \t:/.()+#=\\-]|age|aged|page|AGE|yo|y/o| years old|yrs|x|ext|_|'|\u{f1}|pager|Cell|tel|no|PG|phone|beep){0,40}"
        ) {
            assert_anchored_complete(&text);
        }
    }
}
