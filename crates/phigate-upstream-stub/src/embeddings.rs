//! `POST /v1/embeddings`: deterministic 8-dimensional unit vectors.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::state::{StubState, error_response, json_response, to_json};

/// Dimensions of every vector.
pub(crate) const DIMENSIONS: usize = 8;

#[derive(Deserialize)]
struct EmbeddingRequest {
    #[serde(default)]
    model: Option<String>,
    input: Input,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Input {
    One(String),
    Many(Vec<String>),
}

#[derive(Serialize)]
struct EmbeddingList<'a> {
    object: &'static str,
    data: Vec<Embedding>,
    model: &'a str,
    usage: Usage,
}

#[derive(Serialize)]
struct Embedding {
    object: &'static str,
    index: usize,
    embedding: [f32; DIMENSIONS],
}

#[derive(Serialize)]
struct Usage {
    prompt_tokens: u64,
    total_tokens: u64,
}

/// FNV-1a of the text, expanded by SplitMix64, mapped to [-1, 1), normalized.
pub(crate) fn vector(text: &str) -> [f32; DIMENSIONS] {
    let mut seed =
        text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let mut out = [0f64; DIMENSIONS];
    for v in &mut out {
        seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        *v = (z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
    }
    let norm = out.iter().map(|v| v * v).sum::<f64>().sqrt().max(f64::MIN_POSITIVE);
    out.map(|v| (v / norm) as f32)
}

pub(crate) async fn handle(State(state): State<Arc<StubState>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(response) = state.admit(&headers, Some(&body)).await {
        return response;
    }
    let request: EmbeddingRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(_) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "invalid_json",
                "request body is not a valid embeddings request (input: string or array of strings)",
            );
        }
    };
    let inputs = match &request.input {
        Input::One(text) => std::slice::from_ref(text),
        Input::Many(texts) => texts.as_slice(),
    };
    let tokens: u64 = inputs.iter().map(|t| t.split_whitespace().count() as u64).sum();
    let data = inputs
        .iter()
        .enumerate()
        .map(|(index, text)| Embedding { object: "embedding", index, embedding: vector(text) })
        .collect();
    let body = to_json(&EmbeddingList {
        object: "list",
        data,
        model: request.model.as_deref().unwrap_or(&state.model),
        usage: Usage { prompt_tokens: tokens, total_tokens: tokens },
    });
    json_response(StatusCode::OK, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_are_deterministic_unit_and_distinct() {
        let a = vector("hello");
        assert_eq!(a, vector("hello"));
        assert_ne!(a, vector("hello!"));
        let norm: f32 = a.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{norm}");
        assert!(a.iter().all(|v| v.is_finite()));
    }
}
