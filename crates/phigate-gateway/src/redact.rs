//! Redaction at the boundary: what a backend not cleared for PHI receives.
//!
//! [`redact_chat`] replaces every identifier the detector finds with a vault
//! placeholder, in every place a chat request carries free text:
//!
//! | where | how |
//! |---|---|
//! | message `content` (string, `text` and `refusal` parts), all roles, `tool` results included | as text |
//! | assistant `tool_calls[].function.arguments` | parsed as JSON: string values **and keys** redacted, re-serialized (only if something changed); as text if not JSON |
//! | `stop` sequences | as text (so that a stop sequence still matches the placeholder the model writes) |
//! | unknown fields of the request and of messages (`metadata`, `prediction`, legacy `function_call`…) | string values redacted, keys kept (they are API field names) |
//! | message `name`, request `user` | removed: short identifiers of people the detector cannot judge without context |
//! | `image_url`, `input_audio`, `file` and unknown content parts | refused: [`Error::UnsupportedContent`] |
//! | `tools`, `tool_choice`, `response_format` | kept: the application's schema, not patient data |
//!
//! Before replacing anything, every text is scanned for placeholder-shaped
//! tokens the client wrote ([`Vault::reserve_in`]), so a client's literal
//! `[[NAME_1]]` is never restored into an identifier.
//!
//! [`contains_phi`] walks the same places (content it cannot inspect counts
//! as PHI) and is what the routing decision's [`crate::routing::Payload`]
//! comes from. A test seeds an identifier into each place and checks both.
//! [`RedactionReport`] holds counts per [`Kind`] only: it goes to logs and
//! the audit trail.

use std::ops::ControlFlow;

use phigate_deid::{Detector, Kind, Span};
use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::Value;

use crate::Error;
use crate::openai::{ChatRequest, Content, ContentPart, EmbeddingsRequest, Map};
use crate::vault::Vault;

const KINDS: usize = Kind::ALL.len();

/// What redaction did, as counts (never text).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RedactionReport {
    counts: [u32; KINDS],
    /// Placeholder-shaped tokens found in the client's text and reserved.
    pub reserved_placeholders: u32,
    /// Message `name` fields removed.
    pub names_dropped: u32,
    /// Whether the request's `user` field was removed.
    pub user_dropped: bool,
}

impl RedactionReport {
    /// Identifiers of `kind` replaced (every occurrence counts).
    pub fn count(&self, kind: Kind) -> u32 {
        Kind::ALL.iter().position(|&k| k == kind).map_or(0, |i| self.counts[i])
    }

    /// All identifiers replaced.
    pub fn total(&self) -> u32 {
        self.counts.iter().sum()
    }

    /// Non-zero counts per kind.
    pub fn counts(&self) -> impl Iterator<Item = (Kind, u32)> + '_ {
        Kind::ALL.into_iter().zip(self.counts).filter(|&(_, c)| c > 0)
    }

    fn add(&mut self, spans: &[Span]) {
        for s in spans {
            if let Some(i) = Kind::ALL.iter().position(|&k| k == s.kind) {
                self.counts[i] = self.counts[i].saturating_add(1);
            }
        }
    }
}

impl Serialize for RedactionReport {
    /// `{"identifiers":{"NAME":2},"total":2,"reserved_placeholders":0,…}`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Counts<'a>(&'a RedactionReport);
        impl Serialize for Counts<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_map(self.0.counts().map(|(k, c)| (k.as_str(), c)))
            }
        }
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry("identifiers", &Counts(self))?;
        m.serialize_entry("total", &self.total())?;
        m.serialize_entry("reserved_placeholders", &self.reserved_placeholders)?;
        m.serialize_entry("names_dropped", &self.names_dropped)?;
        m.serialize_entry("user_dropped", &self.user_dropped)?;
        m.end()
    }
}

/// Replaces every detected identifier in `req` with a placeholder from
/// `vault` (see the module's table). On error the request may be partly
/// redacted and must not be sent.
pub fn redact_chat(detector: &Detector, req: &mut ChatRequest, vault: &mut Vault) -> Result<RedactionReport, Error> {
    let mut report = RedactionReport::default();
    // Refuse what cannot be inspected before doing any work.
    walk(req, &mut |slot| match slot {
        Slot::Unsupported { message, part, kind } => {
            ControlFlow::Break(Error::UnsupportedContent { message, part, kind })
        }
        _ => ControlFlow::Continue(()),
    })
    .map_or(Ok(()), Err)?;
    walk(req, &mut |slot| {
        let n = match slot {
            Slot::Text(s) | Slot::Json(s) => vault.reserve_in(s),
            Slot::Values(m) => reserve_values(vault, m),
            Slot::Dropped(_) | Slot::Unsupported { .. } => 0,
        };
        report.reserved_placeholders += u32::try_from(n).unwrap_or(u32::MAX);
        ControlFlow::<()>::Continue(())
    });
    let mut r = Redactor { detector, vault, report };
    for m in &mut req.messages {
        match &mut m.content {
            Some(Content::Text(t)) => r.text(t)?,
            Some(Content::Parts(parts)) => {
                for p in parts {
                    match p {
                        ContentPart::Text { text, .. } => r.text(text)?,
                        ContentPart::Refusal { refusal, .. } => r.text(refusal)?,
                        ContentPart::Other { .. } => {}
                    }
                }
            }
            None => {}
        }
        for call in m.tool_calls.iter_mut().flatten() {
            r.json_text(&mut call.function.arguments)?;
        }
        r.values(&mut m.extra)?;
        if m.name.take().is_some() {
            r.report.names_dropped += 1;
        }
    }
    if let Some(stop) = &mut req.stop {
        for s in stop.as_mut_slice() {
            r.text(s)?;
        }
    }
    r.values(&mut req.extra)?;
    r.report.user_dropped = req.user.take().is_some();
    Ok(r.report)
}

/// Replaces every detected identifier in the embedding inputs and unknown
/// fields, and removes `user`. Token inputs are refused ([`Error::TokenInput`]).
pub fn redact_embeddings(
    detector: &Detector,
    req: &mut EmbeddingsRequest,
    vault: &mut Vault,
) -> Result<RedactionReport, Error> {
    if req.input.is_tokens() {
        return Err(Error::TokenInput);
    }
    let mut report = RedactionReport::default();
    for t in req.input.texts() {
        report.reserved_placeholders += u32::try_from(vault.reserve_in(t)).unwrap_or(u32::MAX);
    }
    report.reserved_placeholders += u32::try_from(reserve_values(vault, &req.extra)).unwrap_or(u32::MAX);
    let mut r = Redactor { detector, vault, report };
    for t in req.input.texts_mut() {
        r.text(t)?;
    }
    r.values(&mut req.extra)?;
    r.report.user_dropped = req.user.take().is_some();
    Ok(r.report)
}

/// True if the detector finds an identifier anywhere [`redact_chat`] looks,
/// or the request has content it cannot inspect (which counts as PHI).
pub fn contains_phi(detector: &Detector, req: &ChatRequest) -> bool {
    let found = |s: &str| !detector.detect(s).is_empty();
    walk(req, &mut |slot| {
        let hit = match slot {
            Slot::Text(s) | Slot::Dropped(s) => found(s),
            Slot::Json(s) => match serde_json::from_str::<Value>(s) {
                Ok(v) => value_has_phi(&v, true, &found),
                Err(_) => found(s),
            },
            Slot::Values(m) => m.values().any(|v| value_has_phi(v, false, &found)),
            Slot::Unsupported { .. } => true,
        };
        if hit { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    })
    .is_some()
}

/// True if the detector finds an identifier in the embedding inputs or
/// unknown fields (token inputs count as PHI: they cannot be inspected).
pub fn embeddings_contain_phi(detector: &Detector, req: &EmbeddingsRequest) -> bool {
    let found = |s: &str| !detector.detect(s).is_empty();
    req.input.is_tokens()
        || req.input.texts().any(found)
        || req.user.as_deref().is_some_and(found)
        || req.extra.values().any(|v| value_has_phi(v, false, &found))
}

/// Redacts one text in place; returns how many identifiers were replaced.
pub fn redact_text(detector: &Detector, vault: &mut Vault, text: &mut String) -> Result<u32, Error> {
    let mut r = Redactor { detector, vault, report: RedactionReport::default() };
    r.text(text)?;
    Ok(r.report.total())
}

/// A place in a chat request that holds client text.
enum Slot<'a> {
    /// Free text.
    Text(&'a str),
    /// JSON text (tool-call arguments).
    Json(&'a str),
    /// Unknown fields: their string values.
    Values(&'a Map),
    /// A field redaction removes (`name`, `user`).
    Dropped(&'a str),
    /// Content that cannot be inspected.
    Unsupported { message: usize, part: usize, kind: &'static str },
}

/// Visits every [`Slot`] of `req` in order, stopping at the first `Break`.
fn walk<B>(req: &ChatRequest, f: &mut impl FnMut(Slot<'_>) -> ControlFlow<B>) -> Option<B> {
    let mut go = || -> ControlFlow<B> {
        for (i, m) in req.messages.iter().enumerate() {
            match &m.content {
                Some(Content::Text(t)) => f(Slot::Text(t))?,
                Some(Content::Parts(parts)) => {
                    for (j, p) in parts.iter().enumerate() {
                        match p.text() {
                            Some(t) => f(Slot::Text(t))?,
                            None => f(Slot::Unsupported { message: i, part: j, kind: p.kind_label() })?,
                        }
                    }
                }
                None => {}
            }
            for call in m.tool_calls.iter().flatten() {
                f(Slot::Json(&call.function.arguments))?;
            }
            f(Slot::Values(&m.extra))?;
            if let Some(n) = &m.name {
                f(Slot::Dropped(n))?;
            }
        }
        for s in req.stop.iter().flat_map(|s| s.as_slice()) {
            f(Slot::Text(s))?;
        }
        f(Slot::Values(&req.extra))?;
        if let Some(u) = &req.user {
            f(Slot::Dropped(u))?;
        }
        ControlFlow::Continue(())
    };
    match go() {
        ControlFlow::Break(b) => Some(b),
        ControlFlow::Continue(()) => None,
    }
}

fn reserve_values(vault: &mut Vault, m: &Map) -> usize {
    fn value(vault: &mut Vault, v: &Value) -> usize {
        match v {
            Value::String(s) => vault.reserve_in(s),
            Value::Array(a) => a.iter().map(|v| value(vault, v)).sum(),
            Value::Object(o) => o.values().map(|v| value(vault, v)).sum(),
            _ => 0,
        }
    }
    m.values().map(|v| value(vault, v)).sum()
}

fn value_has_phi(v: &Value, keys: bool, found: &impl Fn(&str) -> bool) -> bool {
    match v {
        Value::String(s) => found(s),
        Value::Array(a) => a.iter().any(|v| value_has_phi(v, keys, found)),
        Value::Object(o) => o.iter().any(|(k, v)| (keys && found(k)) || value_has_phi(v, keys, found)),
        _ => false,
    }
}

struct Redactor<'a> {
    detector: &'a Detector,
    vault: &'a mut Vault,
    report: RedactionReport,
}

impl Redactor<'_> {
    /// The redacted form of `s`, or `None` if nothing was found.
    fn redacted(&mut self, s: &str) -> Result<Option<String>, Error> {
        // Settled, so that what the backend sees holds nothing a second look
        // at it would find (the words next to a placeholder read differently).
        let spans = self.detector.detect_settled(s);
        if spans.is_empty() {
            return Ok(None);
        }
        let mut out = String::with_capacity(s.len() + 16 * spans.len());
        let mut at = 0;
        for sp in &spans {
            out.push_str(&s[at..sp.start]);
            self.vault.placeholder(sp.kind, &s[sp.start..sp.end], &mut out)?;
            at = sp.end;
        }
        out.push_str(&s[at..]);
        self.report.add(&spans);
        Ok(Some(out))
    }

    fn text(&mut self, s: &mut String) -> Result<(), Error> {
        if let Some(r) = self.redacted(s)? {
            *s = r;
        }
        Ok(())
    }

    /// Tool-call arguments: JSON values and keys, else text.
    fn json_text(&mut self, s: &mut String) -> Result<(), Error> {
        match serde_json::from_str::<Value>(s) {
            Ok(mut v) => {
                if self.value(&mut v, true)? {
                    *s = serde_json::to_string(&v).unwrap_or_else(|_| {
                        // Invariant: a Value always serializes; fail closed anyway.
                        String::new()
                    });
                }
                Ok(())
            }
            Err(_) => self.text(s),
        }
    }

    /// String values of unknown fields (keys are API field names).
    fn values(&mut self, m: &mut Map) -> Result<(), Error> {
        for v in m.values_mut() {
            self.value(v, false)?;
        }
        Ok(())
    }

    /// Redacts string leaves (and object keys if `keys`); true if changed.
    fn value(&mut self, v: &mut Value, keys: bool) -> Result<bool, Error> {
        Ok(match v {
            Value::String(s) => match self.redacted(s)? {
                Some(r) => {
                    *s = r;
                    true
                }
                None => false,
            },
            Value::Array(a) => {
                let mut changed = false;
                for v in a {
                    changed |= self.value(v, keys)?;
                }
                changed
            }
            Value::Object(o) => {
                let mut changed = false;
                for v in o.values_mut() {
                    changed |= self.value(v, keys)?;
                }
                if keys {
                    let mut renames = Vec::new();
                    for k in o.keys() {
                        if let Some(r) = self.redacted(k)? {
                            renames.push((k.clone(), r));
                        }
                    }
                    for (old, new) in renames {
                        if let Some(v) = o.remove(&old) {
                            o.insert(new, v);
                            changed = true;
                        }
                    }
                }
                changed
            }
            _ => false,
        })
    }
}

#[cfg(test)]
mod tests;
