//! OpenAI wire types: what clients send and what backends answer.
//!
//! The types follow OpenAI's API field for field, and every object keeps the
//! fields it does not know in an `extra` map, so a new OpenAI parameter passes
//! through the gateway without a release. Where the API accepts two shapes
//! (content as a string or as parts, embeddings input as one string or many)
//! an enum says which one arrived.
//!
//! Parsing ([`parse_chat_request`], [`parse_embeddings_request`]) never panics
//! and returns [`Error::InvalidRequest`] with the field path from
//! `serde_path_to_error`. serde's own messages quote the offending value
//! (`invalid type: string "Jane Doe", expected u32`), so the reason is rebuilt
//! from the expected part only, and path segments that are not field names of
//! this schema are replaced by `?`: a client's key may be PHI too.
//!
//! `Debug` of every type that holds request or answer text prints roles,
//! counts and lengths, never the text.

mod chat;
mod embeddings;
mod error;
mod models;
mod response;

use serde::de::DeserializeOwned;

pub use chat::{
    ChatRequest, Content, ContentPart, FunctionCall, FunctionDef, Message, Role, Stop, StreamOptions, Tool, ToolCall,
};
pub use embeddings::{Embedding, EmbeddingData, EmbeddingInput, EmbeddingUsage, EmbeddingsRequest, EmbeddingsResponse};
pub use error::{ErrorBody, ErrorDetail};
pub use models::{Model, ModelList};
pub use response::{ChatChunk, ChatResponse, Choice, ChunkChoice, Delta, FunctionCallDelta, ToolCallDelta, Usage};

use crate::Error;

/// A JSON object: the type of every `extra` map of unknown fields.
pub type Map = serde_json::Map<String, serde_json::Value>;

/// Parses a `POST /v1/chat/completions` body.
pub fn parse_chat_request(body: &[u8]) -> Result<ChatRequest, Error> {
    parse(body)
}

/// Parses a `POST /v1/embeddings` body. Token-array inputs are refused with
/// [`Error::TokenInput`]: the gateway must read the text to de-identify it.
pub fn parse_embeddings_request(body: &[u8]) -> Result<EmbeddingsRequest, Error> {
    let req: EmbeddingsRequest = parse(body)?;
    if req.input.is_tokens() {
        return Err(Error::TokenInput);
    }
    Ok(req)
}

/// Parses a chat completion from a backend.
pub fn parse_chat_response(body: &[u8]) -> Result<ChatResponse, Error> {
    parse(body)
}

/// Parses one streamed chunk (the JSON after `data: ` of one server-sent
/// event; the caller handles the `[DONE]` sentinel).
pub fn parse_chat_chunk(data: &[u8]) -> Result<ChatChunk, Error> {
    parse(data)
}

/// Parses any of this module's types with a sanitized, path-naming error.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = sanitize_path(&e.path().to_string());
        invalid(path, e.inner())
    })?;
    de.end().map_err(|e| invalid(".".to_owned(), &e))?;
    Ok(value)
}

fn invalid(path: String, e: &serde_json::Error) -> Error {
    Error::InvalidRequest { path, reason: sanitize_reason(e) }
}

/// Rebuilds serde_json's message without any quoted input: the category, the
/// `expected …` clause (which comes from this schema) and the position.
fn sanitize_reason(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let at = format!("line {} column {}", e.line(), e.column());
    match e.classify() {
        Category::Io => "the body could not be read".to_owned(),
        Category::Eof => format!("the body ends early ({at})"),
        Category::Syntax => format!("not valid JSON ({at})"),
        Category::Data => {
            let msg = e.to_string();
            // serde_json appends " at line L column C": drop it, we add our own.
            let msg = msg.rsplit_once(" at line ").map_or(msg.as_str(), |(m, _)| m);
            const KNOWN: [&str; 7] = [
                "invalid type",
                "invalid value",
                "invalid length",
                "unknown variant",
                "unknown field",
                "missing field",
                "duplicate field",
            ];
            let category = KNOWN.iter().find(|k| msg.starts_with(*k));
            let expected = msg.rfind(", expected ").map(|i| &msg[i + 2..]).filter(|s| !s.contains('"'));
            match (category, expected) {
                // Missing and duplicate fields name a field of this schema.
                (Some(&c), _) if c == "missing field" || c == "duplicate field" => {
                    let field = msg[c.len()..].trim().trim_matches('`');
                    format!("{c} `{}` ({at})", sanitize_segment(field))
                }
                (Some(c), Some(exp)) => format!("{c}, {exp} ({at})"),
                (Some(c), None) => format!("{c} ({at})"),
                (None, _) => format!("value does not match the schema ({at})"),
            }
        }
    }
}

/// Keeps path segments that are field names of this schema (or indices).
fn sanitize_path(path: &str) -> String {
    if path == "." {
        return path.to_owned();
    }
    let mut out = String::with_capacity(path.len());
    for (i, seg) in path.split('.').enumerate() {
        if i > 0 {
            out.push('.');
        }
        // A segment is `name` followed by any number of `[n]`.
        let (name, indices) = seg.find('[').map_or((seg, ""), |b| seg.split_at(b));
        out.push_str(sanitize_segment(name));
        if indices.bytes().all(|b| b.is_ascii_digit() || b == b'[' || b == b']') {
            out.push_str(indices);
        } else {
            out.push_str("[?]");
        }
    }
    out
}

fn sanitize_segment(name: &str) -> &str {
    if name.is_empty() || SCHEMA_FIELDS.contains(&name) { name } else { "?" }
}

/// Every field name of the types in this module: what a path may show.
const SCHEMA_FIELDS: &[&str] = &[
    "?",
    "arguments",
    "choices",
    "code",
    "content",
    "created",
    "data",
    "delta",
    "description",
    "dimensions",
    "embedding",
    "encoding_format",
    "error",
    "finish_reason",
    "function",
    "id",
    "include_usage",
    "index",
    "input",
    "logprobs",
    "max_completion_tokens",
    "max_tokens",
    "message",
    "messages",
    "model",
    "n",
    "name",
    "object",
    "owned_by",
    "param",
    "parameters",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "refusal",
    "response_format",
    "role",
    "seed",
    "stop",
    "strict",
    "stream",
    "stream_options",
    "system_fingerprint",
    "temperature",
    "text",
    "tool_call_id",
    "tool_calls",
    "tool_choice",
    "tools",
    "top_p",
    "type",
    "usage",
    "user",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(body: &str) -> (String, String) {
        match parse_chat_request(body.as_bytes()) {
            Err(Error::InvalidRequest { path, reason }) => (path, reason),
            other => panic!("expected InvalidRequest, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_path_and_never_quote_the_value() {
        let (path, why) = reason(r#"{"model":"m","messages":[{"role":"user","content":"x"},{"role":"Jane Canary"}]}"#);
        assert_eq!(path, "messages[1].role");
        assert!(why.starts_with("unknown variant, expected one of `system`"), "{why}");
        assert!(!why.contains("Canary"));

        let (path, why) = reason(r#"{"model":"m","messages":[],"max_tokens":"Jane Canary"}"#);
        assert_eq!(path, "max_tokens");
        assert!(why.starts_with("invalid type, expected u32"), "{why}");
        assert!(!why.contains("Canary"));

        let (path, why) = reason(r#"{"messages":[]}"#);
        assert_eq!(path, ".");
        assert!(why.starts_with("missing field `model`"), "{why}");
    }

    #[test]
    fn client_keys_in_paths_are_masked() {
        // A syntax error inside an unknown field: the key is the client's.
        let (path, why) = reason(r#"{"model":"m","messages":[],"Jane Canary":[1,2,}"#);
        assert!(!path.contains("Canary"), "{path}");
        assert!(why.starts_with("not valid JSON"), "{why}");
        assert_eq!(sanitize_path("messages[0].Jane Canary[3]"), "messages[0].?[3]");
        assert_eq!(sanitize_path("messages[x]"), "messages[?]");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for body in ["", "{", "[]", "null", "\"x\"", "{\"model\":1}", "{\"model\":\"m\",\"messages\":{}}"] {
            assert!(matches!(parse_chat_request(body.as_bytes()), Err(Error::InvalidRequest { .. })), "{body}");
        }
        let (_, why) = reason(r#"{"model":"m","messages":[]} trailing"#);
        assert!(why.starts_with("not valid JSON"), "{why}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = format!(r#"{{"model":"m","messages":[],"x":{}{}}}"#, "[".repeat(10_000), "]".repeat(10_000));
        assert!(matches!(parse_chat_request(deep.as_bytes()), Err(Error::InvalidRequest { .. })));
    }

    const SAMPLE: &str = r#"{"model":"m","stream":true,"stop":["x"],"metadata":{"k":[1,2.5,null]},
        "messages":[{"role":"user","content":[{"type":"text","text":"hi"}],"name":"n"},
        {"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function",
        "function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c","content":"r"}]}"#;

    proptest::proptest! {
        /// Any bytes: an error or a value, never a panic.
        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = parse_chat_request(&body);
            let _ = parse_embeddings_request(&body);
            let _ = parse_chat_chunk(&body);
        }

        /// A valid request with bytes flipped, cut or duplicated: what still
        /// parses serializes and parses back to the same value.
        #[test]
        fn mutated_requests_round_trip(
            edits in proptest::collection::vec((proptest::num::usize::ANY, proptest::num::u8::ANY, 0u8..3), 0..4),
        ) {
            let mut body = SAMPLE.as_bytes().to_vec();
            for (at, byte, op) in edits {
                let at = at % body.len();
                match op {
                    0 => body[at] = byte,
                    1 => body.truncate(at.max(1)),
                    _ => body.insert(at, body[at]),
                }
            }
            if let Ok(req) = parse_chat_request(&body) {
                let again = parse_chat_request(&serde_json::to_vec(&req).unwrap()).unwrap();
                proptest::prop_assert_eq!(again, req);
            }
        }
    }

    #[test]
    fn token_inputs_are_refused() {
        let body = br#"{"model":"e","input":[[1,2,3]]}"#;
        assert!(matches!(parse_embeddings_request(body), Err(Error::TokenInput)));
        let body = br#"{"model":"e","input":[1,2,3]}"#;
        assert!(matches!(parse_embeddings_request(body), Err(Error::TokenInput)));
        let ok = parse_embeddings_request(br#"{"model":"e","input":["a","b"]}"#).unwrap();
        assert_eq!(ok.input.texts().count(), 2);
    }
}
