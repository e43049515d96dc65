//! `POST /v1/chat/completions`: echo the last user message, or call a tool.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::state::{StubState, error_response, json_response, to_json, unix_now};

#[derive(Deserialize)]
struct ChatRequest {
    #[serde(default)]
    model: Option<String>,
    messages: Vec<Message>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
    #[serde(default)]
    tools: Option<Vec<Tool>>,
}

#[derive(Deserialize)]
struct Message {
    role: String,
    #[serde(default)]
    content: Option<Content>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Parts(Vec<Part>),
}

#[derive(Deserialize)]
struct Part {
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
}

#[derive(Deserialize)]
struct Tool {
    #[serde(default)]
    function: Option<FunctionDef>,
}

#[derive(Deserialize)]
struct FunctionDef {
    name: String,
}

impl Message {
    /// Approximate tokens of the message, without copying it.
    fn words(&self) -> u64 {
        match &self.content {
            None => 0,
            Some(Content::Text(text)) => words(text),
            Some(Content::Parts(parts)) => parts.iter().filter_map(|p| p.text.as_deref()).map(words).sum(),
        }
    }

    fn text(&self) -> String {
        match &self.content {
            None => String::new(),
            Some(Content::Text(text)) => text.clone(),
            Some(Content::Parts(parts)) => {
                parts.iter().filter_map(|p| p.text.as_deref()).collect::<Vec<_>>().join("\n")
            }
        }
    }
}

#[derive(Serialize)]
struct Completion<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    system_fingerprint: &'static str,
    choices: [Choice<'a>; 1],
    usage: Usage,
}

#[derive(Serialize)]
struct Choice<'a> {
    index: u32,
    message: AssistantMessage<'a>,
    logprobs: Option<()>,
    finish_reason: &'static str,
}

#[derive(Serialize)]
struct AssistantMessage<'a> {
    role: &'static str,
    content: Option<&'a str>,
    refusal: Option<()>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<[ToolCall<'a>; 1]>,
}

#[derive(Serialize)]
struct ToolCall<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    r#type: Option<&'static str>,
    function: FunctionCall<'a>,
}

#[derive(Serialize)]
struct FunctionCall<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    arguments: &'a str,
}

#[derive(Serialize, Clone, Copy)]
struct Usage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
}

#[derive(Serialize)]
struct Chunk<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    system_fingerprint: &'static str,
    choices: &'a [ChunkChoice<'a>],
    /// Absent without `include_usage`; `null` on content chunks with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Option<Usage>>,
}

#[derive(Serialize)]
struct ChunkChoice<'a> {
    index: u32,
    delta: Delta<'a>,
    logprobs: Option<()>,
    finish_reason: Option<&'static str>,
}

#[derive(Serialize, Default)]
struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<[ToolCall<'a>; 1]>,
}

#[derive(Serialize)]
struct ToolArguments<'a> {
    text: &'a str,
}

/// What the assistant does.
enum Answer<'a> {
    Say(String),
    Call { name: &'a str, arguments: String },
}

/// Approximate tokens: whitespace-separated words (deterministic, cheap).
fn words(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

fn mentions_tool(text: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric()).any(|w| w.eq_ignore_ascii_case("tool"))
}

/// Splits `text` into pieces of `n` characters (never inside a character).
pub(crate) fn pieces(text: &str, n: usize) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest.char_indices().nth(n).map_or(rest.len(), |(i, _)| i);
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece)
    })
}

pub(crate) async fn handle(State(state): State<Arc<StubState>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(response) = state.admit(&headers, Some(&body)).await {
        return response;
    }
    let request: ChatRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(_) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "invalid_json",
                "request body is not a valid chat completion request",
            );
        }
    };
    let last_user = request.messages.iter().rev().find(|m| m.role == "user").map(Message::text).unwrap_or_default();
    let first_tool = request.tools.as_deref().unwrap_or_default().iter().find_map(|t| t.function.as_ref());
    let answer = match first_tool {
        Some(function) if mentions_tool(&last_user) => Answer::Call {
            name: &function.name,
            arguments: String::from_utf8_lossy(&to_json(&ToolArguments { text: &last_user })).into_owned(),
        },
        _ => Answer::Say(format!("echo: {last_user}")),
    };
    let prompt_tokens: u64 = request.messages.iter().map(Message::words).sum();
    let completion_tokens = match &answer {
        Answer::Say(content) => words(content),
        Answer::Call { arguments, .. } => words(arguments),
    };
    let usage = Usage { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens };
    let id = format!("chatcmpl-stub-{}", state.next_id());
    let model = request.model.as_deref().unwrap_or(&state.model);
    let head = Head { id: &id, model, created: unix_now() };
    if request.stream.unwrap_or(false) {
        let include_usage = request.stream_options.and_then(|o| o.include_usage).unwrap_or(false);
        stream(&head, &answer, usage, include_usage, state.chunk_chars)
    } else {
        complete(&head, &answer, usage)
    }
}

struct Head<'a> {
    id: &'a str,
    model: &'a str,
    created: u64,
}

fn complete(head: &Head<'_>, answer: &Answer<'_>, usage: Usage) -> Response {
    let call_id = format!("call_{}", head.id);
    let (message, finish_reason) = match answer {
        Answer::Say(content) => {
            (AssistantMessage { role: "assistant", content: Some(content), refusal: None, tool_calls: None }, "stop")
        }
        Answer::Call { name, arguments } => (
            AssistantMessage {
                role: "assistant",
                content: None,
                refusal: None,
                tool_calls: Some([ToolCall {
                    index: None,
                    id: Some(&call_id),
                    r#type: Some("function"),
                    function: FunctionCall { name: Some(name), arguments },
                }]),
            },
            "tool_calls",
        ),
    };
    let body = to_json(&Completion {
        id: head.id,
        object: "chat.completion",
        created: head.created,
        model: head.model,
        system_fingerprint: "phigate-stub",
        choices: [Choice { index: 0, message, logprobs: None, finish_reason }],
        usage,
    });
    json_response(StatusCode::OK, body)
}

fn stream(head: &Head<'_>, answer: &Answer<'_>, usage: Usage, include_usage: bool, chunk_chars: usize) -> Response {
    let mut events: Vec<Bytes> = Vec::new();
    let usage_field = include_usage.then_some(None);
    let mut push = |delta: Delta<'_>, finish_reason: Option<&'static str>| {
        let choices = [ChunkChoice { index: 0, delta, logprobs: None, finish_reason }];
        events.push(event(&Chunk {
            id: head.id,
            object: "chat.completion.chunk",
            created: head.created,
            model: head.model,
            system_fingerprint: "phigate-stub",
            choices: &choices,
            usage: usage_field,
        }));
    };
    let call_id = format!("call_{}", head.id);
    let finish_reason = match answer {
        Answer::Say(content) => {
            push(Delta { role: Some("assistant"), content: Some(""), tool_calls: None }, None);
            for piece in pieces(content, chunk_chars) {
                push(Delta { content: Some(piece), ..Delta::default() }, None);
            }
            "stop"
        }
        Answer::Call { name, arguments } => {
            let call = ToolCall {
                index: Some(0),
                id: Some(&call_id),
                r#type: Some("function"),
                function: FunctionCall { name: Some(name), arguments: "" },
            };
            push(Delta { role: Some("assistant"), content: None, tool_calls: Some([call]) }, None);
            for piece in pieces(arguments, chunk_chars) {
                let call = ToolCall {
                    index: Some(0),
                    id: None,
                    r#type: None,
                    function: FunctionCall { name: None, arguments: piece },
                };
                push(Delta { tool_calls: Some([call]), ..Delta::default() }, None);
            }
            "tool_calls"
        }
    };
    push(Delta::default(), Some(finish_reason));
    if include_usage {
        events.push(event(&Chunk {
            id: head.id,
            object: "chat.completion.chunk",
            created: head.created,
            model: head.model,
            system_fingerprint: "phigate-stub",
            choices: &[],
            usage: Some(Some(usage)),
        }));
    }
    events.push(Bytes::from_static(b"data: [DONE]\n\n"));
    let body = Body::from_stream(futures_util::stream::iter(events.into_iter().map(Ok::<_, Infallible>)));
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn event<T: Serialize>(chunk: &T) -> Bytes {
    let mut out = Vec::with_capacity(320);
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(&to_json(chunk));
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_split_on_characters() {
        assert_eq!(pieces("echo: [NAME_1]", 3).collect::<Vec<_>>(), ["ech", "o: ", "[NA", "ME_", "1]"]);
        assert_eq!(pieces("héé€x", 2).collect::<Vec<_>>(), ["hé", "é€", "x"]);
        assert_eq!(pieces("", 3).count(), 0);
    }

    #[test]
    fn tool_word_detection() {
        assert!(mentions_tool("please use the Tool."));
        assert!(mentions_tool("tool"));
        assert!(!mentions_tool("toolbox tools"));
    }
}
