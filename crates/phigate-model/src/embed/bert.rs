//! The candle BERT engine behind [`super::Embedder`] (feature `embed`).
//!
//! Texts are tokenized without padding, sorted by length and run in batches of
//! similar lengths (so short texts are not padded to a long neighbour), then
//! put back in the caller's order.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use super::{MAX_TOKENS, l2_normalize, mean_pool};
use crate::Error;

/// Texts per forward pass: enough to fill the matrix kernels, small enough
/// that one batch of 256-token texts stays around 100 MB of activations.
const BATCH: usize = 16;

pub(super) struct Bert {
    model: BertModel,
    tokenizer: Tokenizer,
    dimensions: usize,
}

impl Bert {
    pub(super) fn load(dir: &Path) -> Result<Self, Error> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|e| Error::model_file(&path, &e))
        };
        let load_err = |name: &str, reason: String| Error::Load { path: dir.join(name), reason };

        let config: Config =
            serde_json::from_slice(&read("config.json")?).map_err(|e| load_err("config.json", e.to_string()))?;
        let weights = read("model.safetensors")?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu)
            .map_err(|e| load_err("model.safetensors", e.to_string()))?;
        let model = BertModel::load(vb, &config).map_err(|e| load_err("model.safetensors", e.to_string()))?;

        let mut tokenizer =
            Tokenizer::from_bytes(read("tokenizer.json")?).map_err(|e| load_err("tokenizer.json", e.to_string()))?;
        // The packaged tokenizer pads every text to 128 tokens and truncates
        // at 128; pad per batch here instead and truncate where
        // sentence-transformers does.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(|e| load_err("tokenizer.json", e.to_string()))?;
        Ok(Self { model, tokenizer, dimensions: config.hidden_size })
    }

    pub(super) fn dimensions(&self) -> usize {
        self.dimensions
    }

    pub(super) fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, Error> {
        let mut encoded = Vec::with_capacity(texts.len());
        for text in texts {
            // The tokenizer's error could quote the input: keep none of it.
            let encoding = self
                .tokenizer
                .encode(*text, true)
                .map_err(|_| Error::Inference { reason: "tokenization failed".into() })?;
            encoded.push(encoding.get_ids().to_vec());
        }
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| encoded[i].len());

        let mut out = vec![Vec::new(); texts.len()];
        for group in order.chunks(BATCH) {
            let ids: Vec<&[u32]> = group.iter().map(|&i| encoded[i].as_slice()).collect();
            for (&i, vector) in group.iter().zip(self.forward(&ids)?) {
                out[i] = vector;
            }
        }
        Ok(out)
    }

    /// One pooled, normalized vector per id sequence.
    fn forward(&self, ids: &[&[u32]]) -> Result<Vec<Vec<f32>>, Error> {
        let len = ids.iter().map(|s| s.len()).max().unwrap_or(0).max(1);
        let mut flat_ids = Vec::with_capacity(ids.len() * len);
        let mut flat_mask = Vec::with_capacity(ids.len() * len);
        for seq in ids {
            flat_ids.extend_from_slice(seq);
            flat_ids.resize(flat_ids.len() + len - seq.len(), 0);
            flat_mask.extend(std::iter::repeat_n(1u32, seq.len()));
            flat_mask.resize(flat_mask.len() + len - seq.len(), 0);
        }
        let shape = (ids.len(), len);
        let input = Tensor::from_vec(flat_ids, shape, &Device::Cpu).map_err(candle)?;
        let mask = Tensor::from_vec(flat_mask.clone(), shape, &Device::Cpu).map_err(candle)?;
        let types = input.zeros_like().map_err(candle)?;
        let hidden = self.model.forward(&input, &types, Some(&mask)).map_err(candle)?;
        let hidden: Vec<Vec<Vec<f32>>> = hidden.to_vec3().map_err(candle)?;
        Ok(hidden
            .iter()
            .zip(flat_mask.chunks(len))
            .map(|(rows, mask)| {
                let mut v = mean_pool(rows, mask);
                l2_normalize(&mut v);
                v
            })
            .collect())
    }
}

fn candle(err: candle_core::Error) -> Error {
    Error::Inference { reason: err.to_string() }
}
