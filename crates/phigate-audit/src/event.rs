//! The audit event model: who did what, when, where, with what outcome, and
//! for AI calls the full chain from prompt to answer.
//!
//! Fields outside [`Payload`] are stored in clear so that investigators can
//! search them without keys; callers must therefore put only internal ids
//! and pseudonyms there. Everything that may hold PHI (model input and
//! output, tool arguments and results, free text) lives in [`Payload`],
//! whose values are [`Phi`] and which the ledger seals before it touches disk.

use std::collections::BTreeMap;
use std::fmt;

use phigate_phi::Phi;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::Error;

/// A subject (patient) pseudonym: the only form in which a patient appears
/// in clear in the ledger.
///
/// The charset is restricted (`A-Z a-z 0-9 . _ : -`, 1–128 chars) so that a
/// name, a date or an address with spaces cannot be passed by mistake; the
/// expected value is a blind-index term (hex HMAC) from the key crate.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Pseudonym(String);

impl Pseudonym {
    /// Validates and wraps a pseudonym.
    pub fn new(value: impl Into<String>) -> Result<Self, Error> {
        let value = value.into();
        let ok = !value.is_empty()
            && value.len() <= 128
            && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        if ok {
            Ok(Self(value))
        } else {
            Err(Error::Invalid("a pseudonym is 1-128 chars of A-Z a-z 0-9 . _ : -".into()))
        }
    }

    /// The pseudonym text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Pseudonym {
    type Error = Error;
    fn try_from(value: String) -> Result<Self, Error> {
        Self::new(value)
    }
}

impl From<Pseudonym> for String {
    fn from(value: Pseudonym) -> Self {
        value.0
    }
}

impl fmt::Debug for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pseudonym({})", self.0)
    }
}

impl fmt::Display for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether the actor is a person or a machine identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ActorKind {
    /// A workforce member signed in interactively.
    User,
    /// A service account or integration.
    Service,
}

/// Who acted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// Stable user or service-account id (internal, not an email).
    pub id: String,
    /// Person or machine.
    pub kind: ActorKind,
    /// Role in force for this action (`clinician`, `auditor`…).
    pub role: String,
    /// Session id, when the action belongs to a session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

/// What was acted on (an internal id, never a patient identifier).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// Resource type (`Patient`, `DocumentReference`, `model`…).
    pub kind: String,
    /// Internal id of the resource.
    pub id: String,
}

/// Where the action came from. Workforce network data, not patient data.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// Client network address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// HTTP user agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Device id, when the client reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}

/// How the action ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// Done as asked.
    Success,
    /// Refused by policy or authorization.
    Denied,
    /// Failed.
    Error,
}

/// The reproducible part of an AI call: enough to tell which model, prompt
/// and evidence produced an answer, without the PHI itself.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AiCall {
    /// Model id (`llama-3.1-70b-instruct`…).
    pub model_id: String,
    /// Model version or digest.
    pub model_version: String,
    /// Prompt template id.
    pub template_id: String,
    /// Prompt template version.
    pub template_version: String,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Other sampling and decoding parameters.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, serde_json::Value>,
    /// Retrieved document and chunk ids that went into the prompt.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retrieved: Vec<String>,
    /// Names of the tools called (arguments and results are in the payload).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
}

/// One tool invocation made while answering. Arguments and results may
/// quote the record, so both are PHI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolCall {
    /// Tool name.
    pub name: String,
    /// Arguments as the model produced them.
    pub arguments: Phi<String>,
    /// What the tool returned.
    pub result: Phi<String>,
}

/// The PHI-bearing part of an event; sealed before it is written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Payload {
    /// Model input (the rendered prompt) or request body.
    pub input: Option<Phi<String>>,
    /// Model output or response body.
    pub output: Option<Phi<String>>,
    /// Tool calls with arguments and results.
    pub tool_calls: Vec<ToolCall>,
    /// Any other free text that may hold PHI.
    pub detail: Option<Phi<String>>,
}

#[derive(Serialize, Deserialize)]
struct PayloadWire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    input: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    output: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<(String, String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

impl Payload {
    /// Plaintext encoding handed to the cipher; zeroized when dropped.
    pub(crate) fn encode(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        let mut wire = PayloadWire {
            input: self.input.as_ref().map(|p| p.expose().clone()),
            output: self.output.as_ref().map(|p| p.expose().clone()),
            tool_calls: self
                .tool_calls
                .iter()
                .map(|t| (t.name.clone(), t.arguments.expose().clone(), t.result.expose().clone()))
                .collect(),
            detail: self.detail.as_ref().map(|p| p.expose().clone()),
        };
        let bytes = serde_json::to_vec(&wire).map_err(|_| Error::Encoding("payload".into()));
        scrub(&mut wire);
        Ok(Zeroizing::new(bytes?))
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let wire: PayloadWire =
            serde_json::from_slice(bytes).map_err(|_| Error::Encoding("sealed payload does not decode".into()))?;
        Ok(Self {
            input: wire.input.map(Phi::new),
            output: wire.output.map(Phi::new),
            tool_calls: wire
                .tool_calls
                .into_iter()
                .map(|(name, a, r)| ToolCall { name, arguments: Phi::new(a), result: Phi::new(r) })
                .collect(),
            detail: wire.detail.map(Phi::new),
        })
    }
}

/// Zeroizes the clear copies the wire struct made.
fn scrub(wire: &mut PayloadWire) {
    use zeroize::Zeroize;
    wire.input.zeroize();
    wire.output.zeroize();
    for (_, a, r) in wire.tool_calls.iter_mut() {
        a.zeroize();
        r.zeroize();
    }
    wire.detail.zeroize();
}

/// An audit event as the caller submits it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Who acted.
    pub actor: Actor,
    /// What was done, as a dotted verb (`ai.completion`, `patient.read`,
    /// `auth.login`, `break_glass`…).
    pub action: String,
    /// What was acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<Resource>,
    /// Purpose of use (HL7 v3 ActReason code such as `TREAT`, `ETREAT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// The patient concerned, as a pseudonym. Required when a payload is present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Pseudonym>,
    /// Where the request came from.
    #[serde(default)]
    pub source: Source,
    /// How it ended.
    pub outcome: Outcome,
    /// Request id joining every entry of one request (one AI answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Emergency access outside normal authorization.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub break_glass: bool,
    /// The AI chain, for model calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai: Option<AiCall>,
    /// PHI-bearing content; never written in clear.
    #[serde(skip)]
    pub payload: Option<Payload>,
}

impl Event {
    /// An event with the required fields; set the others directly.
    pub fn new(actor: Actor, action: impl Into<String>, outcome: Outcome) -> Self {
        Self {
            actor,
            action: action.into(),
            resource: None,
            purpose: None,
            subject: None,
            source: Source::default(),
            outcome,
            request_id: None,
            break_glass: false,
            ai: None,
            payload: None,
        }
    }
}

/// An entry as stored: the event's clear fields, where the ledger put it,
/// and the sealed payload. Read back from a segment; holds no plaintext PHI.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Position in the log (and leaf index in the Merkle tree).
    pub seq: u64,
    /// When the ledger accepted the entry (UTC, non-decreasing with seq).
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// Unique 128-bit entry id (hex; random per ledger open, then counted);
    /// bound into the sealed payload's AAD so a payload cannot be moved.
    pub id: String,
    /// The clear part of the event (its `payload` is always `None` here).
    #[serde(flatten)]
    pub event: Event,
    /// Base64 ciphertext of the payload, if the event had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<String>,
}

impl Record {
    /// Parses a stored entry.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, Error> {
        serde_json::from_slice(bytes).map_err(|_| Error::Encoding("entry does not decode".into()))
    }
}

/// The additional authenticated data binding a sealed payload to its entry.
pub(crate) fn payload_aad(entry_id: &str) -> Vec<u8> {
    let mut aad = b"phigate-audit-payload-v1|".to_vec();
    aad.extend_from_slice(entry_id.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonym_rejects_spaces_and_empty() {
        assert!(Pseudonym::new("a1b2c3").is_ok());
        assert!(Pseudonym::new("Jane Doe").is_err());
        assert!(Pseudonym::new("").is_err());
        assert!(Pseudonym::new("x".repeat(129)).is_err());
        assert!(serde_json::from_str::<Pseudonym>("\"bad value\"").is_err());
    }

    #[test]
    fn payload_round_trips_and_debug_redacts() {
        let p = Payload {
            input: Some(Phi::new("prompt about Jane".into())),
            output: None,
            tool_calls: vec![ToolCall {
                name: "fhir.search".into(),
                arguments: Phi::new("name=Jane".into()),
                result: Phi::new("[]".into()),
            }],
            detail: None,
        };
        let bytes = p.encode().unwrap();
        assert_eq!(Payload::decode(&bytes).unwrap(), p);
        assert!(!format!("{p:?}").contains("Jane"));
    }

    #[test]
    fn event_serialization_skips_payload() {
        let mut e = Event::new(
            Actor { id: "u1".into(), kind: ActorKind::User, role: "clinician".into(), session: None },
            "ai.completion",
            Outcome::Success,
        );
        e.payload = Some(Payload { input: Some(Phi::new("SECRET".into())), ..Payload::default() });
        let json = serde_json::to_string(&e).unwrap();
        assert!(!json.contains("SECRET"));
        assert!(!json.contains("payload"));
    }
}
