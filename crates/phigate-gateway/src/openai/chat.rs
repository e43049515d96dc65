//! The chat completion request.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Map;

/// `POST /v1/chat/completions` body.
///
/// Known parameters are typed; anything else (`metadata`, `logit_bias`,
/// `reasoning_effort`, `prediction`, …) is kept in `extra` and sent on as is.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The model name as the client wrote it (matched against the registry).
    pub model: String,
    /// The conversation.
    pub messages: Vec<Message>,
    /// Functions the model may call (the application's schema, not patient data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// `"none"`, `"auto"`, `"required"` or a named function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling mass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Legacy cap on generated tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Cap on generated tokens, reasoning included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u32>,
    /// Answer as server-sent events of [`super::ChatChunk`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Streaming options (`include_usage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    /// Stop sequences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Stop>,
    /// Sampling seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// The end user's id, for the vendor's abuse monitoring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Number of choices to generate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// `{"type":"text"|"json_object"|"json_schema", …}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<Value>,
    /// Every other parameter, passed through.
    #[serde(flatten)]
    pub extra: Map,
}

impl ChatRequest {
    /// True when the client asked for a streamed answer.
    pub fn is_stream(&self) -> bool {
        self.stream == Some(true)
    }
}

impl fmt::Debug for ChatRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatRequest")
            .field("model", &self.model)
            .field("messages", &self.messages)
            .field("tools", &self.tools.as_ref().map(Vec::len))
            .field("temperature", &self.temperature)
            .field("top_p", &self.top_p)
            .field("max_tokens", &self.max_tokens)
            .field("max_completion_tokens", &self.max_completion_tokens)
            .field("stream", &self.stream)
            .field("stop", &self.stop.as_ref().map(|s| s.as_slice().len()))
            .field("user", &self.user.as_ref().map(|_| Redacted))
            .field("n", &self.n)
            .field("extra_fields", &self.extra.len())
            .finish_non_exhaustive()
    }
}

/// What `Debug` prints in place of text that may be PHI: `[PHI]`.
pub(crate) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[PHI]")
    }
}

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions from the application (older models).
    System,
    /// Instructions from the application (newer models).
    Developer,
    /// The end user.
    User,
    /// The model.
    Assistant,
    /// The result of a tool call.
    Tool,
}

/// One message of the conversation.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// The text (absent or null for an assistant turn that only calls tools).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// A participant name (`^[a-zA-Z0-9_-]{1,64}$` at OpenAI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tool calls made by the assistant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// The call a `tool` message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// Other fields (`refusal`, `audio`, legacy `function_call`).
    #[serde(flatten)]
    pub extra: Map,
}

impl Message {
    /// A message with text content and nothing else.
    pub fn text(role: Role, text: impl Into<String>) -> Self {
        Self {
            role,
            content: Some(Content::Text(text.into())),
            name: None,
            tool_calls: None,
            tool_call_id: None,
            extra: Map::new(),
        }
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("role", &self.role)
            .field("content", &self.content)
            .field("name", &self.name.as_ref().map(|_| Redacted))
            .field("tool_calls", &self.tool_calls)
            .field("tool_call_id", &self.tool_call_id)
            .field("extra_fields", &self.extra.len())
            .finish()
    }
}

/// Message content: a string, or an array of typed parts.
#[derive(Clone, PartialEq)]
pub enum Content {
    /// `"content": "…"`.
    Text(String),
    /// `"content": [{"type":"text","text":"…"}, {"type":"image_url",…}]`.
    Parts(Vec<ContentPart>),
}

impl Content {
    /// The text of the content: the string, or the text parts joined with
    /// no separator (what a model reads). Non-text parts are skipped.
    pub fn joined_text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Content::Text(t) => t.as_str().into(),
            Content::Parts(parts) => parts.iter().filter_map(ContentPart::text).collect::<String>().into(),
        }
    }
}

impl fmt::Debug for Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Content::Text(t) => write!(f, "Text([PHI]; {} bytes)", t.len()),
            Content::Parts(p) => f.debug_tuple("Parts").field(p).finish(),
        }
    }
}

impl Serialize for Content {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Content::Text(t) => s.serialize_str(t),
            Content::Parts(p) => p.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Content;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of content parts")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Content, E> {
                Ok(Content::Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Content, E> {
                Ok(Content::Text(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Content, A::Error> {
                let mut parts = Vec::with_capacity(seq.size_hint().unwrap_or(1).min(64));
                while let Some(p) = seq.next_element()? {
                    parts.push(p);
                }
                Ok(Content::Parts(parts))
            }
        }
        d.deserialize_any(V)
    }
}

/// One element of array content.
#[derive(Clone, PartialEq)]
pub enum ContentPart {
    /// `{"type":"text","text":"…"}`.
    Text {
        /// The text.
        text: String,
        /// Other fields of the part (e.g. `cache_control`).
        extra: Map,
    },
    /// `{"type":"refusal","refusal":"…"}` (assistant messages).
    Refusal {
        /// The refusal text.
        refusal: String,
        /// Other fields of the part.
        extra: Map,
    },
    /// Any other part (`image_url`, `input_audio`, `file`, …), kept as sent.
    /// Redaction refuses these: it cannot look inside an image.
    Other {
        /// The part's `type`.
        kind: String,
        /// The part's other fields.
        fields: Map,
    },
}

impl ContentPart {
    /// A text part.
    pub fn text_part(text: impl Into<String>) -> Self {
        ContentPart::Text { text: text.into(), extra: Map::new() }
    }

    /// The text of a text or refusal part.
    pub fn text(&self) -> Option<&str> {
        match self {
            ContentPart::Text { text, .. } => Some(text),
            ContentPart::Refusal { refusal, .. } => Some(refusal),
            ContentPart::Other { .. } => None,
        }
    }

    /// The part's type as a static label (`other` for types OpenAI does not define).
    pub fn kind_label(&self) -> &'static str {
        match self {
            ContentPart::Text { .. } => "text",
            ContentPart::Refusal { .. } => "refusal",
            ContentPart::Other { kind, .. } => match kind.as_str() {
                "image_url" => "image_url",
                "input_audio" => "input_audio",
                "file" => "file",
                _ => "other",
            },
        }
    }
}

impl fmt::Debug for ContentPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.text() {
            Some(t) => write!(f, "{}([PHI]; {} bytes)", self.kind_label(), t.len()),
            None => write!(f, "{}([PHI])", self.kind_label()),
        }
    }
}

impl Serialize for ContentPart {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (kind, key, value, extra) = match self {
            ContentPart::Text { text, extra } => ("text", Some("text"), Some(text), extra),
            ContentPart::Refusal { refusal, extra } => ("refusal", Some("refusal"), Some(refusal), extra),
            ContentPart::Other { kind, fields } => (kind.as_str(), None, None, fields),
        };
        let mut m = s.serialize_map(Some(1 + usize::from(key.is_some()) + extra.len()))?;
        m.serialize_entry("type", kind)?;
        if let (Some(k), Some(v)) = (key, value) {
            m.serialize_entry(k, v)?;
        }
        for (k, v) in extra {
            if k != "type" && Some(k.as_str()) != key {
                m.serialize_entry(k, v)?;
            }
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for ContentPart {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            #[serde(rename = "type")]
            kind: String,
            #[serde(flatten)]
            rest: Map,
        }
        let Raw { kind, mut rest } = Raw::deserialize(d)?;
        let mut take_str = |key: &'static str| match rest.remove(key) {
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(de::Error::invalid_type(de::Unexpected::Other("non-string"), &"a string")),
            None => Err(de::Error::missing_field(key)),
        };
        Ok(match kind.as_str() {
            "text" => ContentPart::Text { text: take_str("text")?, extra: rest },
            "refusal" => ContentPart::Refusal { refusal: take_str("refusal")?, extra: rest },
            _ => ContentPart::Other { kind, fields: rest },
        })
    }
}

/// A tool call made by the assistant.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The call's id, echoed by the `tool` message that answers it.
    pub id: String,
    /// Always `"function"` today.
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    /// The function and its arguments.
    pub function: FunctionCall,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map,
}

fn function_type() -> String {
    "function".to_owned()
}

impl fmt::Debug for ToolCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolCall").field("id", &self.id).field("function", &self.function).finish_non_exhaustive()
    }
}

/// The function a tool call invokes.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    /// Function name (from the application's tool list).
    pub name: String,
    /// Arguments as JSON text, as the model wrote them.
    pub arguments: String,
}

impl fmt::Debug for FunctionCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FunctionCall {{ name: {:?}, arguments: [PHI]; {} bytes }}", self.name, self.arguments.len())
    }
}

/// A tool the model may call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// Always `"function"` today.
    #[serde(rename = "type")]
    pub kind: String,
    /// The function's definition.
    pub function: FunctionDef,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map,
}

/// A function definition: the application's schema.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FunctionDef {
    /// Function name.
    pub name: String,
    /// What it does, for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    /// Structured-output strictness.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map,
}

/// Streaming options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamOptions {
    /// Send a last chunk with usage for the whole request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_usage: Option<bool>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map,
}

/// Stop sequences: one string or several.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Stop {
    /// `"stop": "\n"`.
    One(String),
    /// `"stop": ["\n", "END"]`.
    Many(Vec<String>),
}

impl Stop {
    /// The sequences as a slice.
    pub fn as_slice(&self) -> &[String] {
        match self {
            Stop::One(s) => std::slice::from_ref(s),
            Stop::Many(v) => v,
        }
    }

    /// The sequences, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [String] {
        match self {
            Stop::One(s) => std::slice::from_mut(s),
            Stop::Many(v) => v,
        }
    }
}

impl fmt::Debug for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Stop([PHI]; {} sequences)", self.as_slice().len())
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_chat_request;
    use super::*;

    const FULL: &str = r#"{
        "model": "clinical-chat",
        "messages": [
            {"role": "system", "content": "You summarise notes."},
            {"role": "developer", "content": [{"type": "text", "text": "Be brief."}]},
            {"role": "user", "name": "nurse_1", "content": [
                {"type": "text", "text": "Summarise Jane Canary's note", "cache_control": {"type": "ephemeral"}},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
            ]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{\"mrn\":\"5583920\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "{\"name\":\"Jane Canary\"}"},
            {"role": "assistant", "content": [{"type": "refusal", "refusal": "No."}], "refusal": "No."}
        ],
        "tools": [{"type": "function", "function": {"name": "lookup", "description": "Find a patient",
                   "parameters": {"type": "object"}, "strict": true}}],
        "tool_choice": "auto",
        "temperature": 0.2, "top_p": 0.9, "max_tokens": 100, "max_completion_tokens": 200,
        "stream": true, "stream_options": {"include_usage": true},
        "stop": ["END"], "seed": 7, "user": "clinician-42", "n": 1,
        "response_format": {"type": "json_object"},
        "metadata": {"ward": "4B"}, "reasoning_effort": "low"
    }"#;

    #[test]
    fn every_field_parses_and_round_trips() {
        let req = parse_chat_request(FULL.as_bytes()).unwrap();
        assert_eq!(req.messages.len(), 6);
        assert!(req.is_stream());
        assert_eq!(req.messages[1].content, Some(Content::Parts(vec![ContentPart::text_part("Be brief.")])));
        let Some(Content::Parts(parts)) = &req.messages[2].content else { panic!("parts") };
        assert_eq!(parts[1].kind_label(), "image_url");
        assert_eq!(req.messages[3].tool_calls.as_ref().unwrap()[0].function.name, "lookup");
        assert_eq!(req.messages[4].tool_call_id.as_deref(), Some("call_1"));
        assert_eq!(req.messages[5].extra["refusal"], "No.");
        assert_eq!(req.extra.len(), 2, "unknown fields are kept");
        assert_eq!(req.stop.as_ref().unwrap().as_slice(), ["END"]);

        let again = serde_json::to_vec(&req).unwrap();
        let back = parse_chat_request(&again).unwrap();
        assert_eq!(back, req);
        let v: Value = serde_json::from_slice(&again).unwrap();
        let mut orig: Value = serde_json::from_str(FULL).unwrap();
        // A null content is omitted (OpenAI treats absent and null alike).
        orig["messages"][3].as_object_mut().unwrap().remove("content");
        assert_eq!(v, orig, "serialization is faithful, unknown fields included");
    }

    #[test]
    fn debug_prints_no_text() {
        let req = parse_chat_request(FULL.as_bytes()).unwrap();
        let dbg = format!("{req:?}");
        for canary in ["Jane", "Canary", "5583920", "nurse_1", "clinician-42", "summarise", "END", "4B", "AAAA"] {
            assert!(!dbg.contains(canary), "{canary} in {dbg}");
        }
        assert!(dbg.contains("clinical-chat") && dbg.contains("Assistant"), "{dbg}");
    }

    #[test]
    fn text_part_without_text_is_an_error() {
        let body = r#"{"model":"m","messages":[{"role":"user","content":[{"type":"text"}]}]}"#;
        let err = parse_chat_request(body.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("messages[0].content[0]") && err.contains("missing field `text`"), "{err}");
    }

    #[test]
    fn content_of_the_wrong_type_is_an_error() {
        let body = r#"{"model":"m","messages":[{"role":"user","content":42}]}"#;
        let err = parse_chat_request(body.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("a string or an array of content parts"), "{err}");
    }

    #[test]
    fn joined_text_skips_non_text_parts() {
        let c = Content::Parts(vec![
            ContentPart::text_part("a"),
            ContentPart::Other { kind: "image_url".into(), fields: Map::new() },
            ContentPart::text_part("b"),
        ]);
        assert_eq!(c.joined_text(), "ab");
    }
}
