//! Tests against the real default models (features `llama` and `embed`).
//!
//! The weights come from `scripts/lib/models.sh` (`models_fetch`): the tests
//! read `$PHIGATE_MODELS_DIR`, else the repository's `.cache/models`. When the
//! files are absent each test prints why and passes without checking anything,
//! unless `PHIGATE_REQUIRE_MODELS=1` (as scripts/test sets), when it fails.

#[cfg(feature = "llama")]
mod chat;
#[cfg(feature = "embed")]
mod embed;

#[cfg(any(feature = "llama", feature = "embed"))]
mod files {
    use std::path::{Path, PathBuf};

    /// The models directory: `$PHIGATE_MODELS_DIR` or `<repo>/.cache/models`.
    pub fn models_dir() -> PathBuf {
        std::env::var_os("PHIGATE_MODELS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/models"))
    }

    /// `models_dir()/relative` if it exists; otherwise `None` after printing
    /// why (or a panic under `PHIGATE_REQUIRE_MODELS=1`).
    pub fn model_path(relative: &str) -> Option<PathBuf> {
        let path = models_dir().join(relative);
        if path.exists() {
            return Some(path);
        }
        let why = format!(
            "{} is missing: run `. scripts/lib/models.sh && models_fetch .cache/models` or set PHIGATE_MODELS_DIR",
            path.display()
        );
        if std::env::var("PHIGATE_REQUIRE_MODELS").is_ok_and(|v| v == "1") {
            panic!("PHIGATE_REQUIRE_MODELS=1 but {why}");
        }
        eprintln!("SKIPPED: {why}");
        None
    }
}
