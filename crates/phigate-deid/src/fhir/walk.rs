//! Walking one resource and deciding, element by element, what happens.
//!
//! For each string the order is: a rule naming the element itself; then the
//! structural defaults (ids and references pseudonymized, dates per
//! `dates`, codes kept); then a rule inherited from an enclosing element
//! (`Patient.name` covers `family` and `given` but not `use` or
//! `period.start`); then the policy's `default`, the text engine unless the
//! policy says otherwise. Numbers and booleans are kept unless a rule removes
//! them. FHIR forbids empty arrays and objects, so elements emptied by
//! removals are removed too.

use serde_json::{Map, Value};
use time::Date;

use super::FhirDeidentifier;
use super::date::FhirDate;
use super::narrative::{self, AttachmentError};
use super::patient;
use super::policy::{DateOp, FieldOp, FieldRule, Unlisted};
use super::reference;
use crate::operators::PatientContext;
use crate::policy::Operator;
use crate::span::Kind;
use crate::{Error, Result};

/// What replaces a `div` that a rule redacts.
const REDACTED_DIV: &str = "<div xmlns=\"http://www.w3.org/1999/xhtml\">[REDACTED]</div>";

/// Elements holding FHIR `code`, `uri`/`canonical` to definitions, or
/// similar structural values, kept as written.
const CODE_ELEMENTS: &[&str] = &[
    "system",
    "code",
    "unit",
    "version",
    "status",
    "docStatus",
    "use",
    "gender",
    "language",
    "contentType",
    "intent",
    "priority",
    "mode",
    "kind",
    "comparator",
    "profile",
    "versionId",
    "severity",
    "criticality",
    "valueCode",
    "valueCanonical",
    "currency",
    "method",
    "implicitRules",
    "instantiatesCanonical",
];

/// True for values kept because of what their element is.
fn structural(key: &str, value: &str, parent: &Parent) -> bool {
    match key {
        k if CODE_ELEMENTS.contains(&k) => true,
        "type" => !value.contains(char::is_whitespace),
        "url" => parent.extension,
        "display" => parent.coding,
        // A CodeableConcept's text that repeats one of its codings' displays
        // is terminology, not something written about the patient.
        "text" => parent.displays.iter().any(|d| d.eq_ignore_ascii_case(value)),
        _ => false,
    }
}

/// Elements whose year-only or year-month values are dates; full dates and
/// dateTimes are recognised under any name.
fn date_key(key: &str) -> bool {
    matches!(key, "date" | "start" | "end" | "issued" | "recorded" | "lastUpdated" | "timestamp" | "created")
        || ["Date", "DateTime", "Instant", "On"].iter().any(|s| key.ends_with(s))
}

/// What the walker learned about the object holding a leaf.
struct Parent {
    coding: bool,
    extension: bool,
    identifier_kind: Kind,
    telecom_kind: Kind,
    deceased: Option<String>,
    /// Displays of a CodeableConcept's codings.
    displays: Vec<String>,
}

enum Leaf {
    Keep,
    Set(String),
    Remove,
}

/// Walks one resource with one patient's context.
pub(crate) struct Walker<'a> {
    fhir: &'a FhirDeidentifier,
    patient: &'a mut PatientContext,
    /// Rule path: resource type, then element names (arrays transparent).
    path: Vec<String>,
    /// JSON path for error messages, with array indices.
    trail: Vec<String>,
    /// Leave `Bundle.entry.resource` alone (already done, per patient).
    skip_entry_resources: bool,
    /// String values replaced or removed.
    pub(crate) changed: u64,
}

impl<'a> Walker<'a> {
    pub(crate) fn new(fhir: &'a FhirDeidentifier, patient: &'a mut PatientContext, at: String) -> Self {
        Self { fhir, patient, path: Vec::new(), trail: vec![at], skip_entry_resources: false, changed: 0 }
    }

    /// Leaves `Bundle.entry.resource` untouched: the Bundle's own elements only.
    pub(crate) fn bundle_shell(mut self) -> Self {
        self.skip_entry_resources = true;
        self
    }

    fn error(&self, reason: &'static str) -> Error {
        Error::Fhir { line: None, path: self.trail.join("."), reason }
    }

    /// De-identifies `value`, which must be a resource.
    pub(crate) fn resource(&mut self, value: &mut Value) -> Result<()> {
        let Some(map) = value.as_object_mut() else { return Err(self.error("expected a JSON object")) };
        if !map.get("resourceType").is_some_and(Value::is_string) {
            return Err(self.error("not a FHIR resource (no resourceType)"));
        }
        self.nested_resource(map)
    }

    fn nested_resource(&mut self, map: &mut Map<String, Value>) -> Result<()> {
        let ty = map.get("resourceType").and_then(Value::as_str).unwrap_or_default().to_owned();
        let saved = std::mem::replace(&mut self.path, vec![ty]);
        let r = self.object(map, None);
        self.path = saved;
        r
    }

    fn object(&mut self, map: &mut Map<String, Value>, inherited: Option<FieldRule>) -> Result<()> {
        let own = self.path.last().cloned().unwrap_or_default();
        let own = own.as_str();
        let parent = Parent {
            coding: map.contains_key("system") || map.contains_key("code"),
            extension: matches!(own, "extension" | "modifierExtension"),
            identifier_kind: if matches!(own, "identifier" | "masterIdentifier") {
                patient::identifier_kind(map.get("type"), map.get("system").and_then(Value::as_str))
            } else {
                Kind::Id
            },
            telecom_kind: patient::telecom_kind(map.get("system").and_then(Value::as_str)),
            deceased: map.get("deceasedDateTime").and_then(Value::as_str).map(str::to_owned),
            displays: map
                .get("coding")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|c| c.get("system").is_some() || c.get("code").is_some())
                .filter_map(|c| Some(c.get("display")?.as_str()?.to_owned()))
                .collect(),
        };
        let data_done = map.get("data").is_some_and(Value::is_string) && self.attachment(map, inherited)?;
        let keys: Vec<String> = map.keys().filter(|k| !(data_done && *k == "data")).cloned().collect();
        for key in keys {
            self.path.push(key.clone());
            self.trail.push(key.clone());
            let remove = match map.get_mut(&key) {
                Some(child) => self.element(&key, child, inherited, &parent)?,
                None => false,
            };
            self.path.pop();
            self.trail.pop();
            if remove {
                map.remove(&key);
            }
        }
        if self.fhir.policy.generalizes_ages() {
            age_over_89(own, map);
        }
        Ok(())
    }

    /// Returns true if the element must be removed.
    fn element(&mut self, key: &str, v: &mut Value, inherited: Option<FieldRule>, parent: &Parent) -> Result<bool> {
        if self.skip_entry_resources && self.path == ["Bundle", "entry", "resource"] {
            return Ok(false);
        }
        let explicit = self.fhir.policy.rule_for(&self.path);
        let rule = explicit.or(inherited);
        match rule.map(|r| r.op) {
            Some(FieldOp::Remove) => {
                self.changed += 1;
                return Ok(true);
            }
            Some(FieldOp::Keep) => return Ok(false),
            _ => {}
        }
        self.value(key, v, explicit, rule, parent)
    }

    fn value(
        &mut self,
        key: &str,
        v: &mut Value,
        explicit: Option<FieldRule>,
        rule: Option<FieldRule>,
        parent: &Parent,
    ) -> Result<bool> {
        Ok(match v {
            Value::String(s) => match self.leaf(key, s, explicit, rule, parent)? {
                Leaf::Keep => false,
                Leaf::Set(new) => {
                    if new != *s {
                        self.changed += 1;
                        *s = new;
                    }
                    false
                }
                Leaf::Remove => {
                    self.changed += 1;
                    true
                }
            },
            Value::Object(m) => {
                if m.get("resourceType").is_some_and(Value::is_string) {
                    self.nested_resource(m)?;
                } else {
                    self.object(m, rule)?;
                }
                m.is_empty()
            }
            Value::Array(items) => {
                let base = self.trail.last().cloned().unwrap_or_default();
                let mut keep = Vec::with_capacity(items.len());
                for (i, item) in items.iter_mut().enumerate() {
                    if let Some(t) = self.trail.last_mut() {
                        *t = format!("{base}[{i}]");
                    }
                    keep.push(!self.value(key, item, explicit, rule, parent)?);
                }
                if let Some(t) = self.trail.last_mut() {
                    *t = base;
                }
                let mut flags = keep.into_iter();
                items.retain(|_| flags.next().unwrap_or(true));
                items.is_empty()
            }
            Value::Number(_) | Value::Bool(_) => {
                matches!(
                    rule.map(|r| r.op),
                    Some(FieldOp::Redact | FieldOp::Mask | FieldOp::Surrogate | FieldOp::Pseudonym)
                )
            }
            Value::Null => false,
        })
    }

    fn leaf(
        &mut self,
        key: &str,
        s: &str,
        explicit: Option<FieldRule>,
        rule: Option<FieldRule>,
        parent: &Parent,
    ) -> Result<Leaf> {
        if key == "resourceType" {
            return Ok(Leaf::Keep);
        }
        let date = FhirDate::parse(s).filter(|d| d.has_day() || date_key(key));
        if let Some(r) = explicit {
            return self.apply(r, key, s, date, parent);
        }
        let key_ = self.fhir.key();
        if key == "id" {
            return Ok(Leaf::Set(reference::pseudo_id(key_, s)));
        }
        if key == "reference" || key == "fullUrl" || self.bundle_url() {
            return Ok(Leaf::Set(reference::rewrite(key_, s).unwrap_or_else(|| "[REDACTED]".into())));
        }
        if let Some(d) = date {
            return Ok(self.date(self.fhir.policy.dates(), key, &d, parent));
        }
        if structural(key, s, parent) {
            return Ok(Leaf::Keep);
        }
        if let Some(r) = rule {
            return self.apply(r, key, s, None, parent);
        }
        match self.fhir.policy.unlisted() {
            Unlisted::Redact if key == "div" => Ok(Leaf::Set(REDACTED_DIV.into())),
            Unlisted::Redact => Ok(Leaf::Set("[REDACTED]".into())),
            Unlisted::Remove => Ok(Leaf::Remove),
            _ => self.text(key, s),
        }
    }

    fn bundle_url(&self) -> bool {
        let p: Vec<&str> = self.path.iter().map(String::as_str).collect();
        matches!(
            p.as_slice(),
            ["Bundle", "entry", "request", "url"]
                | ["Bundle", "entry", "response", "location"]
                | ["Bundle", "link", "url"]
        )
    }

    fn apply(&mut self, r: FieldRule, key: &str, s: &str, date: Option<FhirDate<'_>>, parent: &Parent) -> Result<Leaf> {
        if let Some(d) = date {
            let op = match r.op {
                FieldOp::Keep => DateOp::Keep,
                FieldOp::DateShift | FieldOp::Surrogate => DateOp::Shift,
                FieldOp::Generalize => DateOp::Generalize,
                FieldOp::Text => self.fhir.policy.dates(),
                _ => DateOp::Remove,
            };
            return Ok(self.date(op, key, &d, parent));
        }
        let op = match r.op {
            FieldOp::Keep => return Ok(Leaf::Keep),
            FieldOp::Remove => return Ok(Leaf::Remove),
            FieldOp::Text => return self.text(key, s),
            _ if key == "div" => return Ok(Leaf::Set(REDACTED_DIV.into())),
            op => op.as_text_operator().unwrap_or(Operator::Redact),
        };
        let kind =
            if op == Operator::DateShift { Kind::Date } else { r.kind.unwrap_or_else(|| self.infer_kind(key, parent)) };
        if op == Operator::Surrogate && kind == Kind::Name && s.contains(|c: char| c.is_ascii_digit() || c == '@') {
            // Name surrogates replace words and keep the rest; a value with
            // digits or an e-mail is not a name, so it gets the text engine.
            return self.text(key, s);
        }
        Ok(Leaf::Set(self.fhir.deid.replace_with(s, kind, op, self.patient)?))
    }

    fn text(&mut self, key: &str, s: &str) -> Result<Leaf> {
        let out = if key == "div" {
            narrative::markup(&self.fhir.deid, self.patient, s)?
        } else {
            self.fhir.deid.deidentify(s, self.patient)?
        };
        Ok(Leaf::Set(out))
    }

    fn date(&mut self, op: DateOp, key: &str, d: &FhirDate<'_>, parent: &Parent) -> Leaf {
        if op != DateOp::Keep && key == "birthDate" && self.fhir.policy.generalizes_ages() {
            let at: Date = parent
                .deceased
                .as_deref()
                .and_then(FhirDate::parse)
                .and_then(|x| x.anchor())
                .unwrap_or(self.fhir.reference_date);
            if d.max_age_at(at).is_some_and(|age| age > 89) {
                // Safe Harbor folds ages over 89 into one "90 or older"
                // group: every such patient gets the birth year that makes
                // them 90 at the reference date (or at death).
                return Leaf::Set(format!("{:04}", (at.year() - 90).max(1)));
            }
        }
        match op {
            DateOp::Keep => Leaf::Keep,
            DateOp::Remove => Leaf::Remove,
            DateOp::Generalize => Leaf::Set(format!("{:04}", d.year())),
            DateOp::Shift => {
                let days = self.patient.date_shift(Some(self.fhir.key()));
                d.shift(days).map_or(Leaf::Remove, Leaf::Set)
            }
        }
    }

    /// The identifier kind a value is when no rule says.
    fn infer_kind(&self, key: &str, parent: &Parent) -> Kind {
        let n = self.path.len();
        let own = if n >= 2 { self.path[n - 2].as_str() } else { "" };
        match (own, key) {
            ("identifier" | "masterIdentifier", "value") => parent.identifier_kind,
            ("telecom", "value") => parent.telecom_kind,
            (_, "family" | "given" | "prefix" | "suffix") | ("name", _) | (_, "display" | "name") => Kind::Name,
            ("address", "line" | "text") => Kind::Address,
            ("address", "postalCode") => Kind::Zip,
            ("address", _) => Kind::Location,
            _ => Kind::Id,
        }
    }

    /// Handles an object's `data` (an Attachment or Binary); true if done.
    fn attachment(&mut self, map: &mut Map<String, Value>, inherited: Option<FieldRule>) -> Result<bool> {
        self.path.push("data".into());
        let rule = self.fhir.policy.rule_for(&self.path).or(inherited);
        self.path.pop();
        let op = match rule.map(|r| r.op) {
            Some(op) => op,
            None if self.fhir.policy.unlisted() == Unlisted::Text => FieldOp::Text,
            None => FieldOp::Remove,
        };
        if op == FieldOp::Keep {
            return Ok(true);
        }
        let data = map.get("data").and_then(Value::as_str).unwrap_or_default();
        let new = if op == FieldOp::Text {
            let ct = map.get("contentType").and_then(Value::as_str);
            match narrative::attachment(&self.fhir.deid, self.patient, data, ct) {
                Ok(new) => new,
                Err(AttachmentError::Base64) => {
                    self.trail.push("data".into());
                    let e = self.error("attachment data is not valid base64");
                    self.trail.pop();
                    return Err(e);
                }
                Err(AttachmentError::Deid(e)) => return Err(e),
            }
        } else {
            None
        };
        if new.as_ref().is_some_and(|n| n.data == data && n.content_type.is_none()) {
            return Ok(true);
        }
        self.changed += 1;
        // The hash would confirm a guess at the original; the size would be wrong.
        map.remove("hash");
        match new {
            Some(narrative::CheckedAttachment { data: new, content_type }) => {
                if let Some(ct) = content_type {
                    map.insert("contentType".into(), Value::String(ct));
                }
                if map.contains_key("size") {
                    let len = new.len() / 4 * 3 - new.bytes().rev().take_while(|b| *b == b'=').count();
                    map.insert("size".into(), Value::from(len));
                }
                map.insert("data".into(), Value::String(new));
            }
            None => {
                map.remove("data");
                map.remove("size");
            }
        }
        Ok(true)
    }
}

/// Ages over 89 in `Age` elements (`onsetAge`, `valueAge`) or year-valued
/// `valueQuantity` become "≥ 90".
fn age_over_89(own: &str, map: &mut Map<String, Value>) {
    let years = |k: &str| {
        map.get(k)
            .and_then(Value::as_str)
            .is_some_and(|u| matches!(u.to_ascii_lowercase().as_str(), "a" | "yr" | "yrs" | "year" | "years"))
    };
    let in_years = years("code") || years("unit");
    let age_element = own.ends_with("Age") && (in_years || !map.contains_key("unit"));
    if !(age_element || (own == "valueQuantity" && in_years)) {
        return;
    }
    if map.get("value").and_then(Value::as_f64).is_some_and(|v| v > 89.0) {
        map.insert("value".into(), Value::from(90));
        map.insert("comparator".into(), Value::from(">="));
    }
}
