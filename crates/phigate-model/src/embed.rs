//! Sentence embeddings with a local BERT model (all-MiniLM-L6-v2) on candle.
//!
//! The output matches sentence-transformers' for the same model: token
//! vectors from the encoder, mean-pooled over real tokens (the attention mask
//! excludes padding), then scaled to unit length, so the dot product of two
//! embeddings is their cosine similarity.
//!
//! Texts longer than [`MAX_TOKENS`] word pieces (special tokens included) are
//! truncated, as sentence-transformers does for this model (its
//! `max_seq_length`); split long documents into passages before embedding.
//! The tokenizer file's own padding and truncation settings (fixed padding to
//! 128 in the packaged file) are replaced: texts in a batch are padded to the
//! longest one and masked.
//!
//! `embed` is CPU-bound and blocks; from async code run it on a blocking
//! thread. [`Embedder`] is `Send + Sync` and may be called concurrently.

#[cfg(feature = "embed")]
mod bert;

use std::fmt;
use std::path::Path;

use crate::Error;

/// Longest input in tokens, `[CLS]` and `[SEP]` included; the rest is cut.
pub const MAX_TOKENS: usize = 256;

/// Files [`Embedder::load`] reads from its directory.
pub const FILES: [&str; 3] = ["config.json", "model.safetensors", "tokenizer.json"];

#[cfg(feature = "embed")]
type Engine = bert::Bert;

/// Without the `embed` feature there is no engine and no value of this type.
#[cfg(not(feature = "embed"))]
#[derive(Debug)]
enum Engine {}

/// A loaded sentence-embedding model.
pub struct Embedder {
    engine: Engine,
    model_id: String,
}

impl fmt::Debug for Embedder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Embedder").field("model_id", &self.model_id).finish_non_exhaustive()
    }
}

impl Embedder {
    /// Loads `config.json`, `model.safetensors` and `tokenizer.json` from `dir`.
    ///
    /// Without the `embed` feature this returns [`Error::NotBuilt`].
    pub fn load(dir: &Path) -> Result<Self, Error> {
        let model_id = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "embed".into());
        #[cfg(feature = "embed")]
        {
            let engine = bert::Bert::load(dir)?;
            Ok(Self { engine, model_id })
        }
        #[cfg(not(feature = "embed"))]
        {
            let _ = model_id;
            Err(Error::NotBuilt { feature: "embed" })
        }
    }

    /// Length of every vector [`Embedder::embed`] returns (384 for MiniLM).
    pub fn dimensions(&self) -> usize {
        #[cfg(feature = "embed")]
        {
            self.engine.dimensions()
        }
        #[cfg(not(feature = "embed"))]
        match self.engine {}
    }

    /// The model's name: the name of the directory it was loaded from.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// One unit-length vector per text, in order. Blocks while computing.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, Error> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        #[cfg(feature = "embed")]
        {
            self.engine.embed(texts)
        }
        #[cfg(not(feature = "embed"))]
        match self.engine {}
    }
}

/// Mean of the token vectors whose mask is non-zero (sentence-transformers'
/// mean pooling). `tokens` are the encoder's output rows for one text;
/// `mask` has one entry per row. No masked-in token gives the zero vector.
pub fn mean_pool(tokens: &[Vec<f32>], mask: &[u32]) -> Vec<f32> {
    let dims = tokens.first().map_or(0, Vec::len);
    let mut sum = vec![0.0f32; dims];
    let mut count = 0.0f32;
    for (row, &m) in tokens.iter().zip(mask) {
        if m != 0 {
            for (s, v) in sum.iter_mut().zip(row) {
                *s += v;
            }
            count += 1.0;
        }
    }
    // sentence-transformers clamps the count at 1e-9 to avoid dividing by 0.
    let count = count.max(1e-9);
    sum.iter_mut().for_each(|s| *s /= count);
    sum
}

/// Scales `v` to unit Euclidean length (vectors shorter than 1e-12 are
/// divided by 1e-12, as `torch.nn.functional.normalize` does).
pub fn l2_normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= norm);
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn embedder_is_send_and_sync() {
        assert_send_sync::<Embedder>();
    }

    #[cfg(not(feature = "embed"))]
    #[test]
    fn load_without_the_feature_is_not_built() {
        let err = Embedder::load(Path::new("/nonexistent")).unwrap_err();
        assert!(matches!(err, Error::NotBuilt { feature: "embed" }), "{err:?}");
        assert!(err.to_string().contains("--features embed"));
    }

    #[test]
    fn mean_pool_ignores_padding() {
        let tokens = vec![vec![1.0, 2.0], vec![3.0, 4.0], vec![100.0, 100.0]];
        assert_eq!(mean_pool(&tokens, &[1, 1, 0]), vec![2.0, 3.0]);
        assert_eq!(mean_pool(&tokens, &[0, 0, 0]), vec![0.0, 0.0]);
    }

    #[test]
    fn l2_normalize_gives_unit_length() {
        let mut v = vec![3.0, 4.0];
        l2_normalize(&mut v);
        assert_eq!(v, vec![0.6, 0.8]);
        let mut zero = vec![0.0; 3];
        l2_normalize(&mut zero);
        assert_eq!(zero, vec![0.0; 3]);
    }

    proptest! {
        #[test]
        fn normalized_vectors_have_unit_norm(v in proptest::collection::vec(-1e3f32..1e3, 1..64)) {
            prop_assume!(v.iter().any(|x| x.abs() > 1e-3));
            let mut v = v;
            l2_normalize(&mut v);
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            prop_assert!((norm - 1.0).abs() < 1e-4, "norm {}", norm);
        }
    }
}
