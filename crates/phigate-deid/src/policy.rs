//! Which operator applies to which kind of identifier.
//!
//! Two stages, as everywhere in phigate: [`RawPolicy`] mirrors the TOML file
//! one-to-one (unknown keys are errors, so a typo cannot silently weaken a
//! policy), and [`Policy`] is the validated form. A kind the file does not
//! name falls to `default`, which itself defaults to `redact`: forgetting a
//! kind removes it rather than leaking it.
//!
//! ```toml
//! name = "research"
//! default = "redact"
//!
//! [operators]
//! NAME = "surrogate"
//! DATE = "date-shift"
//! ZIP = "generalize"
//! MRN = "pseudonym"
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::span::Kind;
use crate::{Error, Result};

/// What to do with one identifier.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    /// Replace with `[KIND]`.
    Redact,
    /// Replace every non-space character with `*`, keeping the length.
    Mask,
    /// Replace with a realistic value of the same kind, the same one every
    /// time the same value occurs for the same patient.
    Surrogate,
    /// Replace with `[KIND-xxxxxxxxxx]`, an HMAC-SHA256 of the normalized value
    /// under the caller's key: stable across notes and runs, linkable only by
    /// the key holder.
    Pseudonym,
    /// Move the date by the patient's offset, keeping its format; intervals
    /// between a patient's dates are preserved.
    DateShift,
    /// Keep only what Safe Harbor allows: the year of a date (folded to
    /// "YYYY or earlier" when it reveals an age over 89), the first three
    /// ZIP digits (`000` for restricted areas), `90+` for ages; other kinds
    /// are redacted.
    Generalize,
    /// Leave the value as it is (limited data sets keep dates and ZIPs).
    Keep,
}

impl std::str::FromStr for Operator {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "redact" => Operator::Redact,
            "mask" => Operator::Mask,
            "surrogate" => Operator::Surrogate,
            "pseudonym" | "hmac" => Operator::Pseudonym,
            "date-shift" | "shift" => Operator::DateShift,
            "generalize" | "generalise" => Operator::Generalize,
            "keep" => Operator::Keep,
            _ => {
                return Err(Error::Policy(
                    "unknown operator (expected redact, mask, surrogate, pseudonym, date-shift, generalize or keep)"
                        .into(),
                ));
            }
        })
    }
}

/// A policy file as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    /// Display name.
    pub name: Option<String>,
    /// Operator for kinds not listed; `redact` if absent.
    pub default: Option<String>,
    /// Kind label (`NAME`, `DATE`, …) to operator name.
    #[serde(default)]
    pub operators: BTreeMap<String, String>,
}

/// A validated policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    name: String,
    default: Operator,
    operators: BTreeMap<Kind, Operator>,
}

impl Policy {
    /// Parses and validates a TOML policy.
    pub fn from_toml(source: &str) -> Result<Self> {
        let raw: RawPolicy = toml::from_str(source).map_err(|e| {
            // toml's message quotes the offending key, never note text.
            Error::Policy(e.message().to_owned())
        })?;
        Self::from_raw(raw)
    }

    /// Validates a [`RawPolicy`].
    pub fn from_raw(raw: RawPolicy) -> Result<Self> {
        let default = match raw.default.as_deref() {
            Some(op) => op.parse()?,
            None => Operator::Redact,
        };
        let mut operators = BTreeMap::new();
        for (kind, op) in &raw.operators {
            let k: Kind = kind.parse().map_err(|_| Error::Policy(format!("unknown identifier kind {kind:?}")))?;
            operators.insert(k, op.parse()?);
        }
        Ok(Self { name: raw.name.unwrap_or_else(|| "custom".into()), default, operators })
    }

    /// A built-in policy by name: `safe-harbor` or `limited-data-set`.
    pub fn builtin(name: &str) -> Result<Self> {
        match name {
            "safe-harbor" => Ok(Self::safe_harbor()),
            "limited-data-set" => Ok(Self::limited_data_set()),
            other => Err(Error::UnknownPolicy(other.to_owned())),
        }
    }

    /// HIPAA Safe Harbor (45 CFR 164.514(b)(2)): every identifier removed;
    /// years of dates, the first three ZIP digits of populous areas and ages
    /// as "90+" are kept because the rule allows them.
    pub fn safe_harbor() -> Self {
        let mut operators = BTreeMap::new();
        operators.insert(Kind::Date, Operator::Generalize);
        operators.insert(Kind::Zip, Operator::Generalize);
        operators.insert(Kind::Age, Operator::Generalize);
        Self { name: "safe-harbor".into(), default: Operator::Redact, operators }
    }

    /// HIPAA limited data set (45 CFR 164.514(e)): direct identifiers
    /// removed; dates, ages, city, county, facility and ZIP kept. Street
    /// addresses are a separate kind and are removed.
    pub fn limited_data_set() -> Self {
        let mut operators = BTreeMap::new();
        for k in [Kind::Date, Kind::Zip, Kind::Age, Kind::Location] {
            operators.insert(k, Operator::Keep);
        }
        Self { name: "limited-data-set".into(), default: Operator::Redact, operators }
    }

    /// The policy's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The operator for `kind`.
    pub fn operator(&self, kind: Kind) -> Operator {
        self.operators.get(&kind).copied().unwrap_or(self.default)
    }

    /// True if any kind uses `op` (so a key is needed for pseudonyms).
    pub fn uses(&self, op: Operator) -> bool {
        self.default == op || self.operators.values().any(|o| *o == op)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_round_trip_and_defaults() {
        let p = Policy::from_toml(
            "name = \"r\"\ndefault = \"mask\"\n[operators]\nNAME = \"surrogate\"\ndate = \"date-shift\"\n",
        )
        .unwrap();
        assert_eq!(p.operator(Kind::Name), Operator::Surrogate);
        assert_eq!(p.operator(Kind::Date), Operator::DateShift);
        assert_eq!(p.operator(Kind::Phone), Operator::Mask);
        assert_eq!(Policy::from_toml("").unwrap().operator(Kind::Ssn), Operator::Redact);
    }

    #[test]
    fn typos_are_errors() {
        assert!(Policy::from_toml("defualt = \"keep\"").is_err());
        assert!(Policy::from_toml("[operators]\nNAMES = \"keep\"").is_err());
        assert!(Policy::from_toml("[operators]\nNAME = \"erase\"").is_err());
        assert!(Policy::builtin("hipaa").is_err());
    }

    #[test]
    fn builtins() {
        let sh = Policy::builtin("safe-harbor").unwrap();
        assert_eq!(sh.operator(Kind::Name), Operator::Redact);
        assert_eq!(sh.operator(Kind::Zip), Operator::Generalize);
        let lds = Policy::builtin("limited-data-set").unwrap();
        assert_eq!(lds.operator(Kind::Date), Operator::Keep);
        assert_eq!(lds.operator(Kind::Address), Operator::Redact);
    }
}
