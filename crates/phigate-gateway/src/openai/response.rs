//! Chat completion answers: whole (`chat.completion`) and streamed
//! (`chat.completion.chunk`).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Map;
use super::chat::{Message, Redacted, Role};

/// A complete (non-streamed) chat completion.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// Completion id (`chatcmpl-…`).
    pub id: String,
    /// Always `"chat.completion"`.
    #[serde(default = "completion_object")]
    pub object: String,
    /// Unix seconds.
    pub created: i64,
    /// The model that answered.
    pub model: String,
    /// One per `n`.
    pub choices: Vec<Choice>,
    /// Token counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Backend configuration fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// Other fields (`service_tier`, …).
    #[serde(flatten)]
    pub extra: Map,
}

fn completion_object() -> String {
    "chat.completion".to_owned()
}

fn chunk_object() -> String {
    "chat.completion.chunk".to_owned()
}

/// One choice of a complete answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    /// Position among the `n` choices.
    pub index: u32,
    /// The assistant's message (its `Debug` prints no text).
    pub message: Message,
    /// `stop`, `length`, `tool_calls`, `content_filter`.
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// Log probabilities, passed through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<Value>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map,
}

/// Token counts of a request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens in the prompt.
    #[serde(default)]
    pub prompt_tokens: u32,
    /// Tokens generated.
    #[serde(default)]
    pub completion_tokens: u32,
    /// Their sum.
    #[serde(default)]
    pub total_tokens: u32,
    /// Details (`prompt_tokens_details`, `completion_tokens_details`).
    #[serde(flatten)]
    pub extra: Map,
}

/// One server-sent event of a streamed completion.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatChunk {
    /// Completion id, the same on every chunk.
    pub id: String,
    /// Always `"chat.completion.chunk"`.
    #[serde(default = "chunk_object")]
    pub object: String,
    /// Unix seconds.
    pub created: i64,
    /// The model that answers.
    pub model: String,
    /// Deltas (empty on the final usage-only chunk).
    #[serde(default)]
    pub choices: Vec<ChunkChoice>,
    /// Usage, on the last chunk when `stream_options.include_usage` was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Backend configuration fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map,
}

impl ChatChunk {
    /// An empty chunk with the identity (id, created, model) of `like`.
    pub fn empty_like(like: &ChatChunk) -> Self {
        Self {
            id: like.id.clone(),
            object: chunk_object(),
            created: like.created,
            model: like.model.clone(),
            choices: Vec::new(),
            usage: None,
            system_fingerprint: like.system_fingerprint.clone(),
            extra: Map::new(),
        }
    }
}

/// One choice's delta within a chunk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChunkChoice {
    /// Which choice this delta extends.
    pub index: u32,
    /// What was added.
    pub delta: Delta,
    /// Set on the choice's last chunk.
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// Log probabilities, passed through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<Value>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map,
}

impl ChunkChoice {
    /// A choice with an empty delta.
    pub fn new(index: u32) -> Self {
        Self { index, delta: Delta::default(), finish_reason: None, logprobs: None, extra: Map::new() }
    }
}

/// The increment of one choice.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    /// Set on the first chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Text to append.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Refusal text to append.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    /// Tool-call fragments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCallDelta>>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map,
}

impl fmt::Debug for Delta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delta")
            .field("role", &self.role)
            .field("content", &self.content.as_ref().map(|_| Redacted))
            .field("refusal", &self.refusal.as_ref().map(|_| Redacted))
            .field("tool_calls", &self.tool_calls)
            .field("extra_fields", &self.extra.len())
            .finish()
    }
}

/// A fragment of a tool call: the first carries id, type and name, the
/// following ones pieces of the arguments' JSON text.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolCallDelta {
    /// Which tool call of the choice this extends.
    pub index: u32,
    /// The call's id (first fragment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `"function"` (first fragment).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name and argument text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionCallDelta>,
}

/// A fragment of a function call.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionCallDelta {
    /// The function's name (first fragment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A piece of the arguments' JSON text, to append.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
}

impl fmt::Debug for FunctionCallDelta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FunctionCallDelta")
            .field("name", &self.name)
            .field("arguments", &self.arguments.as_ref().map(|_| Redacted))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse_chat_chunk, parse_chat_response};
    use super::*;
    use crate::openai::Content;

    #[test]
    fn completion_parses_and_round_trips() {
        let body = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"m",
            "choices":[{"index":0,"message":{"role":"assistant","content":"Hello [[NAME_1]]","refusal":null,
              "tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
              "finish_reason":"stop","logprobs":null}],
            "usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8,
                     "prompt_tokens_details":{"cached_tokens":0}},
            "system_fingerprint":"fp_1","service_tier":"default"}"#;
        let r = parse_chat_response(body.as_bytes()).unwrap();
        assert_eq!(r.choices[0].message.content, Some(Content::Text("Hello [[NAME_1]]".into())));
        assert_eq!(r.usage.as_ref().unwrap().total_tokens, 8);
        let v: Value = serde_json::to_value(&r).unwrap();
        assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
        assert_eq!(v["service_tier"], "default");
        assert!(!format!("{r:?}").contains("Hello"));
    }

    #[test]
    fn chunks_parse_with_tool_call_fragments() {
        let c = parse_chat_chunk(
            br#"{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,
            "delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"na"}}]},"finish_reason":null}]}"#,
        )
        .unwrap();
        let tc = &c.choices[0].delta.tool_calls.as_ref().unwrap()[0];
        assert_eq!(tc.index, 1);
        assert_eq!(tc.function.as_ref().unwrap().arguments.as_deref(), Some("{\"na"));
        assert!(!format!("{c:?}").contains("na\\\""));

        let usage_only = parse_chat_chunk(
            br#"{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[],
            "usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}"#,
        )
        .unwrap();
        assert!(usage_only.choices.is_empty());
        let first = parse_chat_chunk(
            br#"{"id":"x","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#,
        )
        .unwrap();
        assert_eq!(first.object, "chat.completion.chunk");
        assert_eq!(first.choices[0].delta.role, Some(Role::Assistant));
    }
}
