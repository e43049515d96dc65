//! all-MiniLM-L6-v2 through candle.

use std::path::Path;
use std::sync::OnceLock;

use phigate_model::{Embedder, Error};

use crate::files::model_path;

/// One embedder for all tests (loading reads ~90 MB).
fn embedder() -> Option<&'static Embedder> {
    static EMBEDDER: OnceLock<Embedder> = OnceLock::new();
    let dir = model_path("minilm")?;
    Some(EMBEDDER.get_or_init(|| Embedder::load(&dir).expect("load all-MiniLM-L6-v2")))
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>()
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

#[test]
fn vectors_have_384_dimensions_and_unit_norm() {
    let Some(model) = embedder() else { return };
    assert_eq!(model.dimensions(), 384);
    assert_eq!(model.model_id(), "minilm");
    let texts = ["heart attack", "", "Blood pressure 120/80 mmHg, pulse 72."];
    let vectors = model.embed(&texts).unwrap();
    assert_eq!(vectors.len(), texts.len());
    for v in &vectors {
        assert_eq!(v.len(), 384);
        assert!((norm(v) - 1.0).abs() < 1e-5, "norm {}", norm(v));
    }
    assert!(model.embed(&[]).unwrap().is_empty());
}

#[test]
fn related_clinical_terms_are_closer_than_unrelated_ones() {
    let Some(model) = embedder() else { return };
    let v = model.embed(&["heart attack", "myocardial infarction", "parking garage"]).unwrap();
    let related = cosine(&v[0], &v[1]);
    let unrelated = cosine(&v[0], &v[2]);
    assert!(related > unrelated, "related {related} <= unrelated {unrelated}");
    assert!(related > 0.5, "related {related}");
}

/// Reference vectors from `tests/data/minilm_reference.py`: an independent
/// NumPy float64 implementation of BERT + mean pooling + L2 normalisation
/// over the same files (PyTorch/sentence-transformers is not installable
/// here). Regenerate with the command in that script's docstring. The third
/// text is over 256 tokens, so this also pins truncation; all three run in one
/// batch, so padding must not leak into the pooled vectors.
#[test]
fn vectors_match_the_numpy_reference() {
    let Some(model) = embedder() else { return };
    let data: serde_json::Value =
        serde_json::from_str(include_str!("../data/minilm_reference.json")).expect("reference JSON");
    let texts: Vec<&str> = data["texts"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    let vectors = model.embed(&texts).unwrap();
    for (i, (got, reference)) in vectors.iter().zip(data["references"].as_array().unwrap()).enumerate() {
        let want: Vec<f32> =
            reference["embedding"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
        assert_eq!(got.len(), want.len());
        let max_diff = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(max_diff < 1e-4, "text {i}: max abs difference {max_diff}");
        assert!(cosine(got, &want) > 0.99999, "text {i}: cosine {}", cosine(got, &want));
    }
}

#[test]
fn a_text_embeds_the_same_alone_and_in_a_padded_batch() {
    let Some(model) = embedder() else { return };
    let alone = model.embed(&["aspirin"]).unwrap();
    let long = "Patient reports intermittent chest pain over the last three weeks, worse on exertion.";
    let batch = model.embed(&[long, "aspirin", long]).unwrap();
    let diff = alone[0].iter().zip(&batch[1]).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(diff < 1e-5, "max abs difference {diff}");
    assert_eq!(batch[0], batch[2]);
}

#[test]
fn a_missing_directory_is_a_model_file_error() {
    let err = Embedder::load(Path::new("/nonexistent/minilm")).unwrap_err();
    assert!(matches!(err, Error::ModelFile { .. }), "{err:?}");
}
