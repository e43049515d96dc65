//! Replacing identifiers: redact, mask, surrogate, keyed pseudonym, date
//! shift, generalize, keep.
//!
//! Anything that must be consistent for one patient (surrogate names, the
//! date offset) lives in a [`PatientContext`], so "Mrs. Smith" in note 1 and
//! "SMITH" in note 7 become the same surrogate and the interval between two
//! dates survives. With a [`PseudonymKey`] the context is derived from the key
//! and the patient id, so the same patient gets the same surrogates in every
//! run and in structured records; without one, a context is random and lives
//! only as long as the caller keeps it.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use hmac::{Hmac, Mac};
use phigate_phi::Phi;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::detect::Detector;
use crate::dictionary::{self, Flags};
use crate::known::KnownIdentifiers;
use crate::policy::{Operator, Policy};
use crate::span::{Kind, Span};
use crate::{Error, Result};

mod date;

type HmacSha256 = Hmac<Sha256>;

/// The secret behind pseudonyms, surrogate choice and date offsets. Handed in
/// by the caller (from the key crate); zeroized on drop, never printed.
pub struct PseudonymKey(Zeroizing<Vec<u8>>);

impl PseudonymKey {
    /// Wraps key bytes (32 or more recommended).
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    pub(crate) fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        // Invariant: HMAC accepts keys of any length.
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length");
        for p in parts {
            mac.update(&(p.len() as u64).to_le_bytes());
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }
}

impl std::fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PseudonymKey([REDACTED])")
    }
}

#[derive(Default)]
struct SurrogateMap(HashMap<(Kind, String), String>);

impl Zeroize for SurrogateMap {
    fn zeroize(&mut self) {
        for (_, mut v) in self.0.drain() {
            v.zeroize();
        }
    }
}

/// Byte ranges of the keyed-pseudonym tokens in `text` (`[MRN-3f2a0c9b1d]`:
/// a kind, a hyphen, ten lowercase hex digits), for re-identification.
pub fn pseudonym_tokens(text: &str) -> Vec<std::ops::Range<usize>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(off) = b[i..].iter().position(|&c| c == b'[') {
        let start = i + off;
        let kind_len = b[start + 1..].iter().take_while(|c| c.is_ascii_uppercase() || **c == b'_').count();
        let dash = start + 1 + kind_len;
        let end = dash + 1 + 10 + 1;
        let shaped = kind_len > 0
            && b.get(dash) == Some(&b'-')
            && b.get(dash + 1..end - 1).is_some_and(|h| h.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')))
            && b.get(end - 1) == Some(&b']');
        if shaped {
            out.push(start..end);
            i = end;
        } else {
            i = start + 1;
        }
    }
    out
}

/// Per-patient state that keeps replacements consistent.
pub struct PatientContext {
    id: Phi<String>,
    secret: Option<Zeroizing<[u8; 32]>>,
    shift_days: Option<i64>,
    surrogates: Phi<SurrogateMap>,
    known: KnownIdentifiers,
    issued: Vec<IssuedPseudonym>,
    issued_tokens: std::collections::HashSet<String>,
}

/// A keyed pseudonym this context handed out, with the value it stands for:
/// what a caller puts in the encrypted token vault so that an authorized,
/// audited re-identification can reverse it. The HMAC itself is one-way.
pub struct IssuedPseudonym {
    /// The token as written into the output (`[NAME-3f2a0c9b1d]`).
    pub token: String,
    /// Its identifier type.
    pub kind: Kind,
    /// The original text.
    pub original: Phi<String>,
}

impl std::fmt::Debug for IssuedPseudonym {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedPseudonym").field("token", &self.token).field("kind", &self.kind).finish_non_exhaustive()
    }
}

impl std::fmt::Debug for PatientContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatientContext").finish_non_exhaustive()
    }
}

impl PatientContext {
    /// A context for the patient with this id (any stable string: an MRN, a
    /// FHIR id). The id is PHI and is kept as such.
    pub fn new(patient_id: &str) -> Self {
        Self {
            id: Phi::new(patient_id.to_owned()),
            secret: None,
            shift_days: None,
            surrogates: Phi::new(SurrogateMap::default()),
            known: KnownIdentifiers::new(),
            issued: Vec::new(),
            issued_tokens: std::collections::HashSet::new(),
        }
    }

    /// The keyed pseudonyms handed out since the last call (each distinct
    /// token once), for the caller's token vault.
    pub fn take_pseudonyms(&mut self) -> Vec<IssuedPseudonym> {
        self.issued_tokens.clear();
        std::mem::take(&mut self.issued)
    }

    /// Uses a fixed date offset instead of a derived one.
    pub fn with_date_shift(mut self, days: i64) -> Self {
        self.shift_days = Some(days);
        self
    }

    /// Identifiers already known for this patient, matched in every note.
    pub fn with_known(mut self, mut known: KnownIdentifiers) -> Self {
        known.compile();
        self.known = known;
        self
    }

    /// Adds identifiers to those already known, for a record read after the
    /// context was made (a FHIR Patient resource met in a stream).
    pub fn add_known(&mut self, add: impl FnOnce(KnownIdentifiers) -> KnownIdentifiers) {
        let known = std::mem::take(&mut self.known);
        self.known = add(known);
        self.known.compile();
    }

    fn secret(&mut self, key: Option<&PseudonymKey>) -> [u8; 32] {
        if let Some(s) = &self.secret {
            return **s;
        }
        let s = match key {
            Some(k) => k.mac(&[b"patient", self.id.expose().as_bytes()]),
            None => {
                // No key: a random secret for this context only.
                let mut out = [0u8; 32];
                for chunk in out.chunks_mut(8) {
                    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
                    h.write(self.id.expose().as_bytes());
                    chunk.copy_from_slice(&h.finish().to_le_bytes());
                }
                out
            }
        };
        self.secret = Some(Zeroizing::new(s));
        s
    }

    /// The patient's date offset in days (negative: into the past), between
    /// -365 and -1 unless fixed with [`PatientContext::with_date_shift`].
    pub fn date_shift(&mut self, key: Option<&PseudonymKey>) -> i64 {
        if let Some(d) = self.shift_days {
            return d;
        }
        let s = self.secret(key);
        let d = -(1 + i64::from(u16::from_le_bytes([s[0], s[1]]) % 365));
        self.shift_days = Some(d);
        d
    }
}

/// Detection plus replacement under one policy.
#[derive(Debug)]
pub struct Deidentifier {
    detector: Detector,
    policy: Policy,
    key: Option<PseudonymKey>,
    /// The year ages are counted to when a generalised date would reveal an
    /// age over 89 (the current year unless set).
    reference_year: i32,
}

impl Deidentifier {
    /// A de-identifier that applies `policy` to what `detector` finds.
    pub fn new(detector: Detector, policy: Policy) -> Self {
        Self { detector, policy, key: None, reference_year: time::OffsetDateTime::now_utc().year() }
    }

    /// Counts ages to `year` instead of the current year (reproducible output
    /// for tests and re-runs of an archived extract).
    pub fn with_reference_year(mut self, year: i32) -> Self {
        self.reference_year = year;
        self
    }

    /// Supplies the key for pseudonyms and reproducible surrogates/offsets.
    pub fn with_key(mut self, key: PseudonymKey) -> Self {
        self.key = Some(key);
        self
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The detector in use.
    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    /// The pseudonym key, if one was supplied.
    pub(crate) fn key(&self) -> Option<&PseudonymKey> {
        self.key.as_ref()
    }

    /// The spans [`Deidentifier::deidentify`] would replace, including the
    /// patient's known identifiers: for callers that must map spans back
    /// through markup (FHIR narrative XHTML).
    ///
    /// These are settled: replacing them and detecting again on the result
    /// finds nothing new, which keeps redaction idempotent (see
    /// `src/settle.rs`). They can therefore be a superset of what one
    /// [`Detector::detect`] pass reports.
    pub fn spans(&self, text: &str, patient: &PatientContext) -> Vec<Span> {
        crate::settle::settle(text, |t| self.look(t, patient), |value, s| self.preview(value, s.kind))
    }

    /// What [`Deidentifier::apply`] writes for `value`, for the operators
    /// whose output depends on nothing but the value; the placeholder for the
    /// rest (surrogates and shifted dates are not meant to be detected again).
    fn preview(&self, value: &str, kind: Kind) -> String {
        match self.policy.operator(kind) {
            Operator::Keep => value.to_owned(),
            Operator::Mask => mask(value),
            Operator::Generalize => generalize_at(value, kind, self.reference_year),
            Operator::Redact | Operator::Surrogate | Operator::Pseudonym | Operator::DateShift => redact(kind),
        }
    }

    /// One detection pass.
    fn look(&self, text: &str, patient: &PatientContext) -> Vec<Span> {
        if patient.known.is_empty() {
            self.detector.detect(text)
        } else {
            self.detector.detect_known(text, &patient.known)
        }
    }

    /// Detects and replaces identifiers in `text`.
    pub fn deidentify(&self, text: &str, patient: &mut PatientContext) -> Result<String> {
        let spans = self.spans(text, patient);
        self.apply(text, &spans, patient)
    }

    /// Replaces the given (sorted, non-overlapping) spans.
    pub fn apply(&self, text: &str, spans: &[Span], patient: &mut PatientContext) -> Result<String> {
        if self.policy.uses(Operator::Pseudonym) && self.key.is_none() {
            return Err(Error::MissingKey);
        }
        crate::settle::splice(text, spans, |value, s| self.replace(value, s.kind, patient), |_, _| {})
    }

    fn replace(&self, value: &str, kind: Kind, patient: &mut PatientContext) -> Result<String> {
        self.replace_with(value, kind, self.policy.operator(kind), patient)
    }

    /// Replaces one whole value of `kind` with `op`, whatever the policy
    /// says: how structured fields (FHIR) get the same surrogates,
    /// pseudonyms and date offset as the patient's notes.
    pub fn replace_with(&self, value: &str, kind: Kind, op: Operator, patient: &mut PatientContext) -> Result<String> {
        Ok(match op {
            Operator::Keep => value.to_owned(),
            Operator::Redact => redact(kind),
            Operator::Mask => mask(value),
            Operator::Pseudonym => {
                let key = self.key.as_ref().ok_or(Error::MissingKey)?;
                let norm = normalize(value);
                let mac = key.mac(&[kind.as_str().as_bytes(), norm.as_bytes()]);
                let hex: String = mac[..5].iter().map(|b| format!("{b:02x}")).collect();
                let token = format!("[{}-{hex}]", kind.as_str());
                if patient.issued_tokens.insert(token.clone()) {
                    patient.issued.push(IssuedPseudonym {
                        token: token.clone(),
                        kind,
                        original: Phi::new(value.to_owned()),
                    });
                }
                token
            }
            Operator::DateShift => {
                if kind == Kind::Date {
                    let days = patient.date_shift(self.key.as_ref());
                    date::shift(value, days).unwrap_or_else(|| redact(kind))
                } else {
                    redact(kind)
                }
            }
            Operator::Generalize => generalize_at(value, kind, self.reference_year),
            Operator::Surrogate => self.surrogate(value, kind, patient),
        })
    }

    fn surrogate(&self, value: &str, kind: Kind, patient: &mut PatientContext) -> String {
        if kind == Kind::Date {
            let days = patient.date_shift(self.key.as_ref());
            return date::shift(value, days).unwrap_or_else(|| redact(kind));
        }
        if kind == Kind::Age {
            return "90+".into();
        }
        let secret = patient.secret(self.key.as_ref());
        if kind == Kind::Name {
            // Word by word, so "John Smith" and "SMITH" share "Smith"'s surrogate.
            let mut out = String::with_capacity(value.len());
            let mut last = 0;
            for (start, word) in words(value) {
                out.push_str(&value[last..start]);
                let key = (Kind::Name, word.to_lowercase());
                let map = &mut patient.surrogates.expose_mut().0;
                let sur = map.entry(key).or_insert_with(|| name_surrogate(word, &secret)).clone();
                out.push_str(&match_case(word, &sur));
                last = start + word.len();
            }
            out.push_str(&value[last..]);
            return out;
        }
        let key = (kind, normalize(value));
        let map = &mut patient.surrogates.expose_mut().0;
        map.entry(key).or_insert_with(|| other_surrogate(value, kind, &secret)).clone()
    }
}

/// Every character but whitespace as `*`.
fn mask(value: &str) -> String {
    value.chars().map(|c| if c.is_whitespace() { c } else { '*' }).collect()
}

/// `[KIND]`.
pub fn redact(kind: Kind) -> String {
    format!("[{}]", kind.as_str())
}

/// Three-digit ZIP areas with 20,000 or fewer people (Census 2000), which
/// Safe Harbor requires to be written as `000`.
pub const RESTRICTED_ZIP3: [&str; 17] = [
    "036", "059", "063", "102", "203", "556", "692", "790", "821", "823", "830", "831", "878", "879", "884", "890",
    "893",
];

/// [`generalize`], except that a date whose year lies 90 or more years
/// before `reference_year` keeps no year either: Safe Harbor counts every
/// date element that reveals an age over 89 as identifying, and allows only
/// the one aggregate "90 or older". Such a date is written as that group's
/// boundary year ("DOB: 3/4/1931" becomes "DOB: 1936 or earlier" in 2026),
/// which no later pass reads as a date again.
pub fn generalize_at(value: &str, kind: Kind, reference_year: i32) -> String {
    match kind {
        Kind::Date => match date::year_of(value) {
            Some(y) if y <= reference_year - 90 => format!("{} or earlier", reference_year - 90),
            Some(y) => y.to_string(),
            None => redact(kind),
        },
        _ => generalize(value, kind),
    }
}

/// Safe Harbor generalization of one value.
pub fn generalize(value: &str, kind: Kind) -> String {
    match kind {
        Kind::Date => date::year_of(value).map_or_else(|| redact(kind), |y| y.to_string()),
        Kind::Zip => {
            let digits: String = value.chars().filter(char::is_ascii_digit).take(3).collect();
            if digits.len() < 3 || RESTRICTED_ZIP3.contains(&digits.as_str()) { "000".into() } else { digits }
        }
        Kind::Age => "90+".into(),
        _ => redact(kind),
    }
}

fn normalize(value: &str) -> String {
    value
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

fn words(value: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in value.char_indices() {
        match (c.is_alphabetic() || c == '\'', start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, &value[s..i]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &value[s..]));
    }
    out.into_iter()
}

fn digest(secret: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(secret);
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().into()
}

fn name_surrogate(word: &str, secret: &[u8; 32]) -> String {
    let d = digest(secret, &[b"name", word.to_lowercase().as_bytes()]);
    let n = u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]);
    if word.chars().count() == 1 {
        return char::from(b'A' + (n % 26) as u8).to_string();
    }
    let (flags, _) = dictionary::lookup(word);
    let first = flags.intersects(Flags::FIRST) && !flags.intersects(Flags::LAST);
    dictionary::surrogate_name(first, n).to_owned()
}

fn other_surrogate(value: &str, kind: Kind, secret: &[u8; 32]) -> String {
    let d = digest(secret, &[kind.as_str().as_bytes(), normalize(value).as_bytes()]);
    let n = u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]);
    match kind {
        Kind::Location => match_case(value, dictionary::surrogate_place(n)),
        Kind::Address => {
            format!("{} {} St", 100 + n % 9000, match_case("Aa", dictionary::surrogate_name(false, n >> 16)))
        }
        Kind::Email => format!("user{}@example.org", n % 100_000),
        Kind::Url => format!("https://example.org/{}", n % 100_000),
        Kind::Ip if value.contains(':') => format!("2001:db8::{:x}", n % 0xffff),
        Kind::Ip => format!("192.0.2.{}", 1 + n % 254),
        _ => {
            // Same shape, different characters: digits stay digits, letters
            // stay letters of the same case, punctuation stays.
            let mut bytes = d.iter().cycle();
            value
                .chars()
                .map(|c| {
                    let b = *bytes.next().unwrap_or(&0);
                    if c.is_ascii_digit() {
                        char::from(b'0' + b % 10)
                    } else if c.is_ascii_uppercase() {
                        char::from(b'A' + b % 26)
                    } else if c.is_ascii_lowercase() {
                        char::from(b'a' + b % 26)
                    } else {
                        c
                    }
                })
                .collect()
        }
    }
}

/// Writes `sur` in the case style of `original` (UPPER, lower, Capitalized).
fn match_case(original: &str, sur: &str) -> String {
    let letters: Vec<char> = original.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.len() > 1 && letters.iter().all(|c| c.is_uppercase()) {
        sur.to_uppercase()
    } else if letters.iter().all(|c| c.is_lowercase()) {
        sur.to_lowercase()
    } else {
        let mut c = sur.chars();
        match c.next() {
            Some(f) => f.to_uppercase().chain(c.flat_map(char::to_lowercase)).collect(),
            None => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deid(policy: Policy) -> Deidentifier {
        Deidentifier::new(Detector::new(), policy).with_key(PseudonymKey::new(vec![7; 32]))
    }

    #[test]
    fn safe_harbor_redacts_and_generalizes() {
        let d = deid(Policy::safe_harbor());
        let mut p = PatientContext::new("p1");
        let out = d.deidentify("Dr. Ronayne saw the 94 yo on 03/14/2024, ZIP 05901.", &mut p).unwrap();
        assert_eq!(out, "Dr. [NAME] saw the 90+ yo on 2024, ZIP 000.");
    }

    #[test]
    fn limited_data_set_keeps_city_state_and_zip() {
        let d = deid(Policy::limited_data_set());
        let out = d.deidentify("Address: 12 Elm St, Rawlins, WY 82301", &mut PatientContext::new("p1")).unwrap();
        assert_eq!(out, "Address: [ADDRESS], Rawlins, WY 82301");
    }

    #[test]
    fn zip_generalization() {
        assert_eq!(generalize("93726", Kind::Zip), "937");
        assert_eq!(generalize("03601-1234", Kind::Zip), "000");
        assert_eq!(generalize("Mar 14", Kind::Date), "[DATE]");
    }

    #[test]
    fn a_year_that_reveals_an_age_over_89_is_folded() {
        assert_eq!(generalize_at("3/4/1931", Kind::Date, 2026), "1936 or earlier");
        assert_eq!(generalize_at("3/4/1936", Kind::Date, 2026), "1936 or earlier");
        assert_eq!(generalize_at("3/4/1937", Kind::Date, 2026), "1937");
        let d = Deidentifier::new(Detector::new(), Policy::safe_harbor()).with_reference_year(2026);
        let out = d.deidentify("DOB: 3/4/1931, age 93", &mut PatientContext::new("p")).unwrap();
        assert_eq!(out, "DOB: 1936 or earlier, age 90+");
        let again = d.deidentify(&out, &mut PatientContext::new("p")).unwrap();
        assert_eq!(again, out);
    }

    #[test]
    fn surrogates_are_consistent_within_a_patient() {
        let policy = Policy::from_toml("[operators]\nNAME = \"surrogate\"").unwrap();
        let d = deid(policy);
        let mut p = PatientContext::new("p1");
        let a = d.deidentify("Mrs. Lomish is here.", &mut p).unwrap();
        let b = d.deidentify("MRS. LOMISH was extubated.", &mut p).unwrap();
        let sa = a.split_whitespace().nth(1).unwrap().to_lowercase();
        let sb = b.split_whitespace().nth(1).unwrap().to_lowercase();
        assert_eq!(sa, sb);
        assert_ne!(sa, "lomish");
    }

    #[test]
    fn pseudonyms_need_a_key_and_are_stable() {
        let policy = Policy::from_toml("[operators]\nMRN = \"pseudonym\"").unwrap();
        let no_key = Deidentifier::new(Detector::new(), policy.clone());
        let mut p = PatientContext::new("p1");
        assert!(matches!(no_key.deidentify("MRN 5583920", &mut p), Err(Error::MissingKey)));
        let d = deid(policy);
        let a = d.deidentify("MRN 5583920", &mut p).unwrap();
        let b = d.deidentify("MRN: 5583920", &mut PatientContext::new("p2")).unwrap();
        assert!(a.starts_with("MRN [MRN-"));
        assert_eq!(a.split(' ').nth(1), b.split(' ').nth(1));
    }

    #[test]
    fn pseudonym_tokens_are_found_exactly() {
        let text = "x [MRN-3f2a0c9b1d] [NAME] [MRN-3F2A0C9B1D] [[HEALTH_PLAN-0123456789]] [MRN-3f2a0c9b1]";
        let found: Vec<&str> = pseudonym_tokens(text).into_iter().map(|r| &text[r]).collect();
        assert_eq!(found, ["[MRN-3f2a0c9b1d]", "[HEALTH_PLAN-0123456789]"]);
        assert!(pseudonym_tokens("[").is_empty() && pseudonym_tokens("[A-").is_empty());
    }

    #[test]
    fn issued_pseudonyms_name_each_token_once_for_the_vault() {
        let policy = Policy::from_toml("[operators]\nMRN = \"pseudonym\"").unwrap();
        let d = deid(policy);
        let mut p = PatientContext::new("p1");
        let out = d.deidentify("MRN 5583920, again MRN 5583920; old MRN 7710042", &mut p).unwrap();
        let issued = p.take_pseudonyms();
        assert_eq!(issued.len(), 2, "one entry per distinct token");
        for i in &issued {
            assert!(out.contains(&i.token));
            assert_eq!(i.kind, Kind::Mrn);
            assert!(["5583920", "7710042"].contains(&i.original.expose().as_str()));
            assert!(!format!("{i:?}").contains(i.original.expose().as_str()), "Debug hides the original");
        }
        assert!(p.take_pseudonyms().is_empty(), "taken once");
    }

    #[test]
    fn date_shift_keeps_intervals() {
        let policy = Policy::from_toml("[operators]\nDATE = \"date-shift\"").unwrap();
        let d = deid(policy);
        let mut p = PatientContext::new("p1").with_date_shift(-10);
        let out = d.deidentify("admitted 03/14/2024, cath 3/20, follow-up March 30, 2024", &mut p).unwrap();
        assert_eq!(out, "admitted 03/04/2024, cath 3/10, follow-up March 20, 2024");
    }
}
