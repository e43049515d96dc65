//! The declarative FHIR policy: element path → operator.
//!
//! Two stages, like the text [`Policy`](crate::Policy): [`RawFhirPolicy`]
//! mirrors the TOML file (unknown keys are errors), [`FhirPolicy`] is the
//! validated form with compiled path patterns. The format is described in the
//! [`fhir`](crate::fhir) module docs.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use crate::policy::Operator;
use crate::span::Kind;
use crate::{Error, Result};

use super::builtin;

/// What happens to one element (and, for a complex element, to the content
/// strings beneath it).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldOp {
    /// Leave the element and everything beneath it as it is.
    Keep,
    /// Delete the element.
    Remove,
    /// Replace with `[KIND]`; dates (which cannot hold a placeholder) are removed.
    Redact,
    /// Replace every non-space character with `*`.
    Mask,
    /// A consistent per-patient surrogate (names word by word, as in notes).
    Surrogate,
    /// `[KIND-xxxxxxxxxx]`, a keyed HMAC of the value, the same for every patient and run under one key.
    Pseudonym,
    /// Move dates by the patient's offset, keeping their precision.
    DateShift,
    /// Year of a date, three ZIP digits, `90+` for ages; other kinds redacted.
    Generalize,
    /// Through the free-text engine: strings as text, `div` as XHTML narrative,
    /// attachment `data` decoded from base64 first.
    Text,
}

impl FieldOp {
    /// The text operator with the same meaning, for the kinds of values it shares with notes.
    pub(crate) fn as_text_operator(self) -> Option<Operator> {
        Some(match self {
            FieldOp::Keep => Operator::Keep,
            FieldOp::Redact => Operator::Redact,
            FieldOp::Mask => Operator::Mask,
            FieldOp::Surrogate => Operator::Surrogate,
            FieldOp::Pseudonym => Operator::Pseudonym,
            FieldOp::DateShift => Operator::DateShift,
            FieldOp::Generalize => Operator::Generalize,
            FieldOp::Remove | FieldOp::Text => return None,
        })
    }
}

impl From<Operator> for FieldOp {
    fn from(op: Operator) -> Self {
        match op {
            Operator::Keep => FieldOp::Keep,
            Operator::Redact => FieldOp::Redact,
            Operator::Mask => FieldOp::Mask,
            Operator::Surrogate => FieldOp::Surrogate,
            Operator::Pseudonym => FieldOp::Pseudonym,
            Operator::DateShift => FieldOp::DateShift,
            Operator::Generalize => FieldOp::Generalize,
        }
    }
}

/// The text operators' names (and their aliases) mean the same here; only
/// `remove` and `text` are FHIR's own.
impl std::str::FromStr for FieldOp {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let name = s.trim().to_ascii_lowercase().replace('_', "-");
        match name.as_str() {
            "remove" | "delete" => Ok(FieldOp::Remove),
            "text" => Ok(FieldOp::Text),
            _ => name.parse::<Operator>().map(FieldOp::from).map_err(|_| {
                Error::Policy(
                    "FHIR: unknown operator (expected keep, remove, redact, mask, surrogate, pseudonym, date-shift, \
                     generalize or text, optionally followed by :KIND)"
                        .into(),
                )
            }),
        }
    }
}

/// An operator plus, optionally, the identifier kind it treats values as
/// (`"surrogate:NAME"`); without a kind it is inferred from the element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldRule {
    /// What to do.
    pub op: FieldOp,
    /// The kind the values are, if the rule says.
    pub kind: Option<Kind>,
}

impl std::str::FromStr for FieldRule {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let (op, kind) = match s.split_once(':') {
            Some((op, kind)) => (op, Some(kind)),
            None => (s, None),
        };
        let kind = match kind {
            Some(k) => {
                Some(k.parse::<Kind>().map_err(|_| Error::Policy(format!("FHIR: unknown identifier kind {k:?}")))?)
            }
            None => None,
        };
        Ok(Self { op: op.parse()?, kind })
    }
}

/// What happens to string values that no rule names and that are not
/// structural (codes, systems, ids, references, dates).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unlisted {
    /// Through the free-text engine (the default: an unknown field must not leak).
    Text,
    /// Replaced with `[REDACTED]`.
    Redact,
    /// Deleted.
    Remove,
}

/// What happens to every date, dateTime and instant no rule names.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateOp {
    /// Moved by the patient's offset, precision kept.
    Shift,
    /// Only the year is kept.
    Generalize,
    /// Left as they are (limited data sets).
    Keep,
    /// Deleted.
    Remove,
}

/// A policy file as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFhirPolicy {
    /// Display name.
    pub name: Option<String>,
    /// A built-in policy whose settings and rules this file starts from.
    pub base: Option<String>,
    /// `text` (default), `redact` or `remove`: strings no rule names.
    pub default: Option<String>,
    /// `date-shift` (default), `generalize`, `keep` or `remove`: dates no rule names.
    pub dates: Option<String>,
    /// `generalize` (default): ages over 89 and birth dates implying them become 90; or `keep`.
    pub ages: Option<String>,
    /// Element path pattern to `operator` or `operator:KIND`.
    #[serde(default)]
    pub rules: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    Lit(String),
    /// `*`: exactly one element name.
    One,
    /// `**`: any number of element names, including none.
    Many,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Rule {
    pattern: String,
    segs: Vec<Seg>,
    rule: FieldRule,
}

impl Rule {
    /// More literal segments win; then fewer `**`.
    fn specificity(&self) -> (usize, usize) {
        let lits = self.segs.iter().filter(|s| matches!(s, Seg::Lit(_))).count();
        let many = self.segs.iter().filter(|s| **s == Seg::Many).count();
        (lits, usize::MAX - many)
    }
}

/// A validated FHIR policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FhirPolicy {
    name: String,
    unlisted: Unlisted,
    dates: DateOp,
    generalize_ages: bool,
    rules: Vec<Rule>,
    /// Rules by their last literal segment, so a lookup tests only the few
    /// rules that can end at this element.
    by_last: HashMap<String, Vec<usize>>,
    /// Rules whose last segment is a wildcard.
    wild_last: Vec<usize>,
}

impl FhirPolicy {
    /// Parses and validates a TOML FHIR policy.
    pub fn from_toml(source: &str) -> Result<Self> {
        let raw: RawFhirPolicy = toml::from_str(source).map_err(|e| Error::Policy(format!("FHIR: {}", e.message())))?;
        Self::from_raw(raw)
    }

    /// Validates a [`RawFhirPolicy`], layering it over its `base`.
    pub fn from_raw(raw: RawFhirPolicy) -> Result<Self> {
        let merged = merge(raw, 0)?;
        let unlisted = match merged.default.as_deref().map(str::trim) {
            None | Some("text") => Unlisted::Text,
            Some("redact") => Unlisted::Redact,
            Some("remove") => Unlisted::Remove,
            Some(_) => return Err(Error::Policy("FHIR: default must be text, redact or remove".into())),
        };
        let dates = match merged.dates.as_deref().map(str::trim) {
            None | Some("date-shift") | Some("shift") => DateOp::Shift,
            Some("generalize") | Some("generalise") => DateOp::Generalize,
            Some("keep") => DateOp::Keep,
            Some("remove") => DateOp::Remove,
            Some(_) => return Err(Error::Policy("FHIR: dates must be date-shift, generalize, keep or remove".into())),
        };
        let generalize_ages = match merged.ages.as_deref().map(str::trim) {
            None | Some("generalize") | Some("generalise") => true,
            Some("keep") => false,
            Some(_) => return Err(Error::Policy("FHIR: ages must be generalize or keep".into())),
        };
        let mut rules = Vec::with_capacity(merged.rules.len());
        for (pattern, op) in &merged.rules {
            let segs = parse_pattern(pattern)?;
            let rule = op.parse::<FieldRule>().map_err(|e| match e {
                Error::Policy(m) => Error::Policy(format!("{m} (rule {pattern:?})")),
                other => other,
            })?;
            rules.push(Rule { pattern: pattern.clone(), segs, rule });
        }
        let mut by_last: HashMap<String, Vec<usize>> = HashMap::new();
        let mut wild_last = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            match r.segs.last() {
                Some(Seg::Lit(l)) => by_last.entry(l.clone()).or_default().push(i),
                _ => wild_last.push(i),
            }
        }
        Ok(Self {
            name: merged.name.unwrap_or_else(|| "custom".into()),
            unlisted,
            dates,
            generalize_ages,
            rules,
            by_last,
            wild_last,
        })
    }

    /// A built-in FHIR policy by name: `safe-harbor` or `limited-data-set`.
    pub fn builtin(name: &str) -> Result<Self> {
        Self::from_raw(builtin::raw(name)?)
    }

    /// Every Safe Harbor identifier field of the common resources handled;
    /// dates shifted per patient.
    pub fn safe_harbor() -> Self {
        // Invariant: the built-in TOML is constant and covered by tests.
        Self::builtin("safe-harbor").expect("built-in FHIR policy parses")
    }

    /// Like [`FhirPolicy::safe_harbor`] but keeps dates, ages, city, district, state and ZIP.
    pub fn limited_data_set() -> Self {
        // Invariant: the built-in TOML is constant and covered by tests.
        Self::builtin("limited-data-set").expect("built-in FHIR policy parses")
    }

    /// The policy's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What happens to strings no rule names.
    pub fn unlisted(&self) -> Unlisted {
        self.unlisted
    }

    /// What happens to dates no rule names.
    pub fn dates(&self) -> DateOp {
        self.dates
    }

    /// True if ages over 89 (and birth dates implying them) are generalized.
    pub fn generalizes_ages(&self) -> bool {
        self.generalize_ages
    }

    /// True if any rule pseudonymizes.
    pub fn uses_pseudonym(&self) -> bool {
        self.rules.iter().any(|r| r.rule.op == FieldOp::Pseudonym)
    }

    /// The rule naming exactly this element path (`["Patient", "name",
    /// "family"]`), the most specific one if several match.
    pub fn rule_for(&self, path: &[String]) -> Option<FieldRule> {
        let last = path.last()?;
        let named = self.by_last.get(last.as_str()).map(Vec::as_slice).unwrap_or_default();
        named
            .iter()
            .chain(&self.wild_last)
            .map(|&i| &self.rules[i])
            .filter(|r| matches(&r.segs, path))
            .max_by(|a, b| a.specificity().cmp(&b.specificity()).then_with(|| b.pattern.cmp(&a.pattern)))
            .map(|r| r.rule)
    }
}

fn merge(raw: RawFhirPolicy, depth: usize) -> Result<RawFhirPolicy> {
    let Some(base) = raw.base.clone() else { return Ok(raw) };
    if depth > 4 {
        return Err(Error::Policy("FHIR: base policies nest too deeply".into()));
    }
    let mut out = merge(builtin::raw(&base)?, depth + 1)?;
    out.name = raw.name.or(out.name);
    out.default = raw.default.or(out.default);
    out.dates = raw.dates.or(out.dates);
    out.ages = raw.ages.or(out.ages);
    out.base = None;
    out.rules.extend(raw.rules);
    Ok(out)
}

fn parse_pattern(pattern: &str) -> Result<Vec<Seg>> {
    let bad = |why: &str| Error::Policy(format!("FHIR: rule path {pattern:?}: {why}"));
    let mut segs = Vec::new();
    for part in pattern.trim().split('.') {
        segs.push(match part {
            "" => return Err(bad("empty segment")),
            "*" => Seg::One,
            "**" => Seg::Many,
            lit if lit.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && lit.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                Seg::Lit(lit.to_owned())
            }
            _ => return Err(bad("segments are element names, * or **")),
        });
    }
    if segs.iter().all(|s| *s == Seg::Many) {
        return Err(bad("must name at least one element"));
    }
    Ok(segs)
}

fn matches(segs: &[Seg], path: &[String]) -> bool {
    match segs.split_first() {
        None => path.is_empty(),
        Some((Seg::Many, rest)) => (0..=path.len()).any(|skip| matches(rest, &path[skip..])),
        Some((seg, rest)) => match path.split_first() {
            None => false,
            Some((head, tail)) => {
                let ok = match seg {
                    Seg::Lit(l) => l == head,
                    _ => true,
                };
                ok && matches(rest, tail)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> Vec<String> {
        p.split('.').map(str::to_owned).collect()
    }

    #[test]
    fn most_specific_rule_wins() {
        let p = FhirPolicy::from_toml(
            "[rules]\n\"**.name\" = \"redact\"\n\"Patient.name\" = \"surrogate:NAME\"\n\"**.name.prefix\" = \"keep\"\n\
             \"*.identifier.value\" = \"pseudonym\"\n",
        )
        .unwrap();
        assert_eq!(p.rule_for(&path("Patient.name")).unwrap().op, FieldOp::Surrogate);
        assert_eq!(p.rule_for(&path("Patient.name")).unwrap().kind, Some(Kind::Name));
        assert_eq!(p.rule_for(&path("Organization.name")).unwrap().op, FieldOp::Redact);
        assert_eq!(p.rule_for(&path("Patient.contact.name.prefix")).unwrap().op, FieldOp::Keep);
        assert_eq!(p.rule_for(&path("Encounter.identifier.value")).unwrap().op, FieldOp::Pseudonym);
        assert!(p.rule_for(&path("Encounter.participant.identifier.value")).is_none(), "* is one segment");
        assert!(p.rule_for(&path("Patient.name.family")).is_none(), "rules name an element, not its children");
    }

    #[test]
    fn errors_name_the_rule_not_data() {
        assert!(FhirPolicy::from_toml("[rules]\n\"Patient..name\" = \"keep\"").is_err());
        assert!(FhirPolicy::from_toml("[rules]\n\"Patient.name\" = \"erase\"").is_err());
        assert!(FhirPolicy::from_toml("[rules]\n\"Patient.name\" = \"redact:NAMES\"").is_err());
        assert!(FhirPolicy::from_toml("[rules]\n\"**\" = \"keep\"").is_err());
        assert!(FhirPolicy::from_toml("default = \"keep\"").is_err(), "keeping unknown fields is not offered");
        assert!(FhirPolicy::from_toml("dates = \"nope\"").is_err());
        assert!(FhirPolicy::from_toml("rulez = {}").is_err());
        assert!(FhirPolicy::from_toml("base = \"hipaa\"").is_err());
    }

    #[test]
    fn base_policies_are_extended() {
        let p = FhirPolicy::from_toml(
            "base = \"safe-harbor\"\ndates = \"generalize\"\n[rules]\n\"Patient.gender\" = \"remove\"",
        )
        .unwrap();
        assert_eq!(p.dates(), DateOp::Generalize);
        assert_eq!(p.rule_for(&path("Patient.gender")).unwrap().op, FieldOp::Remove);
        assert_eq!(p.rule_for(&path("Patient.telecom")).unwrap().op, FieldOp::Remove);
        assert!(p.uses_pseudonym());
    }
}
