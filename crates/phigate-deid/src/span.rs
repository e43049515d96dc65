//! Where an identifier is and what it is.
//!
//! Internally spans use byte offsets into the `&str` they were found in, which
//! is what slicing and regex matching want. The JSONL contract shared with
//! other tools (and the gold corpora) uses Unicode scalar (Python `str`)
//! offsets instead, so [`to_char_spans`] and [`CharIndex`] convert at the edge.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The kind of identifier, one per Safe Harbor category (some categories that
/// share handling, such as cities, counties, streets and facilities, share a
/// kind).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Kind {
    /// Names of patients, relatives, clinicians and other people.
    Name,
    /// Dates (other than a bare year) directly related to an individual.
    Date,
    /// Ages over 89.
    Age,
    /// Street addresses and PO boxes.
    Address,
    /// Geographic subdivisions smaller than a state (city, county) and named
    /// facilities or employers.
    Location,
    /// ZIP codes.
    Zip,
    /// Telephone numbers, including pagers and extensions.
    Phone,
    /// Fax numbers.
    Fax,
    /// E-mail addresses.
    Email,
    /// Social security numbers.
    Ssn,
    /// Medical record numbers.
    Mrn,
    /// Health plan beneficiary numbers.
    HealthPlan,
    /// Account numbers.
    Account,
    /// Certificate and licence numbers (including NPI and DEA numbers).
    License,
    /// Vehicle identifiers: VINs and licence plates.
    Vehicle,
    /// Device identifiers and serial numbers.
    Device,
    /// Web URLs.
    Url,
    /// IPv4 and IPv6 addresses.
    Ip,
    /// Biometric identifiers and photograph references.
    Biometric,
    /// Any other unique identifying number, characteristic or code.
    Id,
}

impl Kind {
    /// Every kind, in declaration order.
    pub const ALL: [Kind; 20] = [
        Kind::Name,
        Kind::Date,
        Kind::Age,
        Kind::Address,
        Kind::Location,
        Kind::Zip,
        Kind::Phone,
        Kind::Fax,
        Kind::Email,
        Kind::Ssn,
        Kind::Mrn,
        Kind::HealthPlan,
        Kind::Account,
        Kind::License,
        Kind::Vehicle,
        Kind::Device,
        Kind::Url,
        Kind::Ip,
        Kind::Biometric,
        Kind::Id,
    ];

    /// The stable label used in JSONL output, policy files and redaction
    /// placeholders (`[NAME]`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Name => "NAME",
            Kind::Date => "DATE",
            Kind::Age => "AGE",
            Kind::Address => "ADDRESS",
            Kind::Location => "LOCATION",
            Kind::Zip => "ZIP",
            Kind::Phone => "PHONE",
            Kind::Fax => "FAX",
            Kind::Email => "EMAIL",
            Kind::Ssn => "SSN",
            Kind::Mrn => "MRN",
            Kind::HealthPlan => "HEALTH_PLAN",
            Kind::Account => "ACCOUNT",
            Kind::License => "LICENSE",
            Kind::Vehicle => "VEHICLE",
            Kind::Device => "DEVICE",
            Kind::Url => "URL",
            Kind::Ip => "IP",
            Kind::Biometric => "BIOMETRIC",
            Kind::Id => "ID",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error returned when a string names no [`Kind`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownKind;

impl fmt::Display for UnknownKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown identifier kind")
    }
}

impl std::error::Error for UnknownKind {}

impl FromStr for Kind {
    type Err = UnknownKind;

    /// Accepts the [`Kind::as_str`] label in any case, with `-` or `_`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_uppercase().replace('-', "_");
        Kind::ALL.into_iter().find(|k| k.as_str() == norm).ok_or(UnknownKind)
    }
}

/// An identifier found in a text: `text[start..end]` in **bytes**.
///
/// Offsets always fall on `char` boundaries (the detector only produces such
/// spans; property tests check it), so slicing never panics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// What the identifier is.
    pub kind: Kind,
}

impl Span {
    /// A span over `start..end` bytes.
    pub fn new(start: usize, end: usize, kind: Kind) -> Self {
        Self { start, end, kind }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// True for a zero-length span (never produced by the detector).
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// True when the two spans share at least one byte.
    pub fn overlaps(&self, other: &Span) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// A span in Unicode-scalar offsets, the form of the JSONL contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CharSpan {
    /// Offset of the first character.
    pub start: usize,
    /// Offset one past the last character.
    pub end: usize,
    /// What the identifier is.
    #[serde(rename = "type")]
    pub kind: Kind,
}

/// Converts between byte and character offsets of one text in O(log n) per
/// lookup after an O(n) scan, so converting every span of a long note stays
/// linear.
#[derive(Clone, Debug)]
pub struct CharIndex {
    /// Byte offset of each char, plus the text length as a final sentinel.
    byte_of_char: Vec<usize>,
}

impl CharIndex {
    /// Indexes `text`.
    pub fn new(text: &str) -> Self {
        let mut byte_of_char: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
        byte_of_char.push(text.len());
        Self { byte_of_char }
    }

    /// Number of characters in the text.
    pub fn char_len(&self) -> usize {
        self.byte_of_char.len() - 1
    }

    /// Character offset of a byte offset; a byte inside a multi-byte char maps
    /// to that char.
    pub fn char_of_byte(&self, byte: usize) -> usize {
        match self.byte_of_char.binary_search(&byte) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    /// Byte offset of a character offset, or `None` past the end.
    pub fn byte_of_char(&self, ch: usize) -> Option<usize> {
        self.byte_of_char.get(ch).copied()
    }
}

/// Converts byte spans of `text` to character spans.
pub fn to_char_spans(text: &str, spans: &[Span]) -> Vec<CharSpan> {
    if text.is_ascii() {
        return spans.iter().map(|s| CharSpan { start: s.start, end: s.end, kind: s.kind }).collect();
    }
    let index = CharIndex::new(text);
    spans
        .iter()
        .map(|s| CharSpan { start: index.char_of_byte(s.start), end: index.char_of_byte(s.end), kind: s.kind })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_labels_round_trip() {
        for k in Kind::ALL {
            assert_eq!(k.as_str().parse::<Kind>(), Ok(k));
        }
        assert_eq!("health-plan".parse::<Kind>(), Ok(Kind::HealthPlan));
        assert!("nope".parse::<Kind>().is_err());
    }

    #[test]
    fn char_offsets_count_scalars_not_bytes() {
        let text = "Zoë met José on 3/4";
        let start = text.find("José").unwrap();
        let span = Span::new(start, start + "José".len(), Kind::Name);
        let cs = to_char_spans(text, &[span]);
        assert_eq!((cs[0].start, cs[0].end), (8, 12));
        let idx = CharIndex::new(text);
        assert_eq!(idx.byte_of_char(8), Some(start));
        assert_eq!(idx.char_len(), text.chars().count());
    }
}
