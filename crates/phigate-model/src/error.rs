//! The crate's single error type.
//!
//! Messages name files, counts and fixed reasons only: never a prompt, a
//! message, generated text or a token piece, so an `Error` can be logged as is.

use std::path::PathBuf;

/// Everything that can go wrong loading or running a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// This build of `phigate-model` does not include the backend asked for.
    #[error(
        "phigate-model was built without the `{feature}` feature; rebuild with `--features {feature}` \
         (llama also needs cmake, clang and libclang-dev to compile llama.cpp)"
    )]
    NotBuilt {
        /// The Cargo feature that enables the backend (`llama` or `embed`).
        feature: &'static str,
    },
    /// A model file is missing or cannot be read.
    #[error("model file {path} cannot be read: {reason}")]
    ModelFile {
        /// The file that was looked for.
        path: PathBuf,
        /// Why, e.g. "not found" or "permission denied".
        reason: String,
    },
    /// A model file was read but the engine could not make a model of it.
    #[error("model {path} could not be loaded: {reason}")]
    Load {
        /// The file or directory given to `load`.
        path: PathBuf,
        /// What the engine reported (file structure only, no content).
        reason: String,
    },
    /// Options or generation parameters out of range.
    #[error("invalid {field}: {reason}")]
    InvalidParameter {
        /// The option or parameter name.
        field: &'static str,
        /// What is allowed.
        reason: &'static str,
    },
    /// The prompt leaves no room in the context window for any generated token.
    #[error("prompt is {prompt_tokens} tokens; the context holds {context_tokens}")]
    ContextOverflow {
        /// Tokens in the rendered prompt.
        prompt_tokens: usize,
        /// The context window configured for this model.
        context_tokens: usize,
    },
    /// The messages could not be turned into a prompt.
    #[error("chat prompt could not be built: {reason}")]
    Template {
        /// A fixed description of the failure.
        reason: &'static str,
    },
    /// The engine failed while tokenizing, evaluating or sampling.
    #[error("inference failed: {reason}")]
    Inference {
        /// The engine's error (codes and shapes only).
        reason: String,
    },
}

impl Error {
    /// A [`Error::ModelFile`] from an I/O error, keeping only its kind (an
    /// `io::Error` message can quote arbitrary OS text; the kind is enough).
    #[cfg_attr(not(any(feature = "llama", feature = "embed")), allow(dead_code))]
    pub(crate) fn model_file(path: &std::path::Path, err: &std::io::Error) -> Self {
        let reason = match err.kind() {
            std::io::ErrorKind::NotFound => "not found".to_owned(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
            kind => format!("{kind}"),
        };
        Self::ModelFile { path: path.to_path_buf(), reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_built_says_how_to_build() {
        let msg = Error::NotBuilt { feature: "llama" }.to_string();
        assert!(msg.contains("--features llama"), "{msg}");
        assert!(msg.contains("cmake"), "{msg}");
    }

    #[test]
    fn model_file_keeps_only_the_kind() {
        let err = std::io::Error::new(std::io::ErrorKind::NotFound, "secret detail");
        let msg = Error::model_file(std::path::Path::new("/m/x.gguf"), &err).to_string();
        assert_eq!(msg, "model file /m/x.gguf cannot be read: not found");
    }
}
