//! Embeddings: request and answer.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Map;
use super::chat::Redacted;

/// `POST /v1/embeddings` body.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingsRequest {
    /// The model name as the client wrote it.
    pub model: String,
    /// What to embed.
    pub input: EmbeddingInput,
    /// `"float"` or `"base64"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding_format: Option<String>,
    /// Output dimensions (models that support shortening).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
    /// The end user's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Other fields, passed through.
    #[serde(flatten)]
    pub extra: Map,
}

impl fmt::Debug for EmbeddingsRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddingsRequest")
            .field("model", &self.model)
            .field("input", &self.input)
            .field("encoding_format", &self.encoding_format)
            .field("dimensions", &self.dimensions)
            .field("user", &self.user.as_ref().map(|_| Redacted))
            .field("extra_fields", &self.extra.len())
            .finish()
    }
}

/// The `input` of an embeddings request, in each shape the API accepts.
/// The gateway only forwards text ([`super::parse_embeddings_request`]
/// refuses token arrays); the token shapes exist so that the refusal is a
/// clear error rather than a schema mismatch.
#[derive(Clone, PartialEq)]
pub enum EmbeddingInput {
    /// `"input": "text"`.
    One(String),
    /// `"input": ["text", …]`.
    Many(Vec<String>),
    /// `"input": [1, 2, 3]`.
    Tokens(Vec<u32>),
    /// `"input": [[1, 2], [3]]`.
    TokenBatches(Vec<Vec<u32>>),
}

impl EmbeddingInput {
    /// True for token-id inputs.
    pub fn is_tokens(&self) -> bool {
        matches!(self, EmbeddingInput::Tokens(_) | EmbeddingInput::TokenBatches(_))
    }

    /// The texts (none for token inputs).
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        let s: &[String] = match self {
            EmbeddingInput::One(s) => std::slice::from_ref(s),
            EmbeddingInput::Many(v) => v,
            _ => &[],
        };
        s.iter().map(String::as_str)
    }

    /// The texts, mutably (none for token inputs).
    pub fn texts_mut(&mut self) -> &mut [String] {
        match self {
            EmbeddingInput::One(s) => std::slice::from_mut(s),
            EmbeddingInput::Many(v) => v,
            _ => &mut [],
        }
    }
}

impl fmt::Debug for EmbeddingInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmbeddingInput::One(_) => f.write_str("One([PHI])"),
            EmbeddingInput::Many(v) => write!(f, "Many([PHI]; {} texts)", v.len()),
            EmbeddingInput::Tokens(v) => write!(f, "Tokens({} ids)", v.len()),
            EmbeddingInput::TokenBatches(v) => write!(f, "TokenBatches({} inputs)", v.len()),
        }
    }
}

impl Serialize for EmbeddingInput {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            EmbeddingInput::One(t) => s.serialize_str(t),
            EmbeddingInput::Many(v) => v.serialize(s),
            EmbeddingInput::Tokens(v) => v.serialize(s),
            EmbeddingInput::TokenBatches(v) => v.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for EmbeddingInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = EmbeddingInput;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<EmbeddingInput, E> {
                Ok(EmbeddingInput::One(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<EmbeddingInput, E> {
                Ok(EmbeddingInput::One(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EmbeddingInput, A::Error> {
                // The first element decides the shape; the rest must agree.
                let Some(first) = seq.next_element::<Value>()? else {
                    return Ok(EmbeddingInput::Many(Vec::new()));
                };
                fn tokens<E: de::Error>(v: &[Value]) -> Result<Vec<u32>, E> {
                    v.iter()
                        .map(|t| {
                            t.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(|| {
                                de::Error::invalid_type(de::Unexpected::Other("non-token"), &"a token id")
                            })
                        })
                        .collect()
                }
                match first {
                    Value::String(s) => {
                        let mut out = vec![s];
                        while let Some(s) = seq.next_element::<String>()? {
                            out.push(s);
                        }
                        Ok(EmbeddingInput::Many(out))
                    }
                    Value::Number(_) => {
                        let mut all = vec![first];
                        while let Some(v) = seq.next_element::<Value>()? {
                            all.push(v);
                        }
                        tokens(&all).map(EmbeddingInput::Tokens)
                    }
                    Value::Array(a) => {
                        let mut out = vec![tokens(&a)?];
                        while let Some(v) = seq.next_element::<Vec<Value>>()? {
                            out.push(tokens(&v)?);
                        }
                        Ok(EmbeddingInput::TokenBatches(out))
                    }
                    _ => Err(de::Error::invalid_type(de::Unexpected::Other("non-string element"), &self)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// The answer to an embeddings request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingsResponse {
    /// Always `"list"`.
    #[serde(default = "list")]
    pub object: String,
    /// One per input, in input order.
    pub data: Vec<EmbeddingData>,
    /// The model that embedded.
    pub model: String,
    /// Token counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<EmbeddingUsage>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map,
}

fn list() -> String {
    "list".to_owned()
}

/// One embedding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingData {
    /// Always `"embedding"`.
    #[serde(default = "embedding_object")]
    pub object: String,
    /// Position of the input.
    pub index: u32,
    /// The vector.
    pub embedding: Embedding,
}

fn embedding_object() -> String {
    "embedding".to_owned()
}

/// A vector, as floats or as base64 of little-endian `f32`s.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Embedding {
    /// `encoding_format: "float"`.
    Float(Vec<f32>),
    /// `encoding_format: "base64"`.
    Base64(String),
}

/// Token counts of an embeddings request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbeddingUsage {
    /// Tokens in the inputs.
    #[serde(default)]
    pub prompt_tokens: u32,
    /// The same, for embeddings.
    #[serde(default)]
    pub total_tokens: u32,
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    #[test]
    fn every_input_shape_parses() {
        let one: EmbeddingsRequest = parse(br#"{"model":"e","input":"Jane Canary"}"#).unwrap();
        assert_eq!(one.input, EmbeddingInput::One("Jane Canary".into()));
        assert!(!format!("{one:?}").contains("Canary"));
        let many: EmbeddingsRequest = parse(br#"{"model":"e","input":["a","b"],"dimensions":8,"x":1}"#).unwrap();
        assert_eq!(many.input.texts().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(many.extra["x"], 1);
        let toks: EmbeddingsRequest = parse(br#"{"model":"e","input":[1,2]}"#).unwrap();
        assert_eq!(toks.input, EmbeddingInput::Tokens(vec![1, 2]));
        let batches: EmbeddingsRequest = parse(br#"{"model":"e","input":[[1],[2,3]]}"#).unwrap();
        assert_eq!(batches.input, EmbeddingInput::TokenBatches(vec![vec![1], vec![2, 3]]));
        let empty: EmbeddingsRequest = parse(br#"{"model":"e","input":[]}"#).unwrap();
        assert_eq!(empty.input, EmbeddingInput::Many(vec![]));
    }

    #[test]
    fn mixed_or_wrong_inputs_are_errors() {
        for body in [
            r#"{"model":"e","input":["a",1]}"#,
            r#"{"model":"e","input":[1,"a"]}"#,
            r#"{"model":"e","input":[{"a":1}]}"#,
            r#"{"model":"e","input":[-1]}"#,
            r#"{"model":"e","input":7}"#,
        ] {
            assert!(parse::<EmbeddingsRequest>(body.as_bytes()).is_err(), "{body}");
        }
    }

    #[test]
    fn response_round_trips() {
        let body = r#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5,-1.0]},
            {"object":"embedding","index":1,"embedding":"AAAA"}],"model":"e","usage":{"prompt_tokens":2,"total_tokens":2}}"#;
        let r: EmbeddingsResponse = parse(body.as_bytes()).unwrap();
        assert_eq!(r.data[0].embedding, Embedding::Float(vec![0.5, -1.0]));
        assert_eq!(r.data[1].embedding, Embedding::Base64("AAAA".into()));
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v, serde_json::from_str::<Value>(body).unwrap());
    }
}
