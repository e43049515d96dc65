//! The in-process models, as the gateway sees them.
//!
//! The server crate does not build model runtimes (llama.cpp, candle): the
//! binary implements this trait over `phigate-model` behind a cargo feature,
//! so the server and its tests stay quick to build. Calls block (generation
//! is CPU-bound); the gateway runs them on the blocking pool.

use std::ops::ControlFlow;

use phigate_gateway::openai::ChatRequest;

/// Chat and embeddings served inside the process.
pub trait LocalModels: Send + Sync + 'static {
    /// Generates an answer to `request` with the model `model`, passing each
    /// piece of text to `on_text` as it is produced (`Break` cancels: the
    /// client has gone).
    fn chat(
        &self,
        model: &str,
        request: &ChatRequest,
        on_text: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<LocalChat, LocalError>;

    /// Embeds each input with the model `model`.
    fn embed(&self, model: &str, inputs: &[&str]) -> Result<Vec<Vec<f32>>, LocalError>;
}

/// A finished in-process generation.
pub struct LocalChat {
    /// The whole answer.
    pub text: String,
    /// Tokens in the rendered prompt.
    pub prompt_tokens: u32,
    /// Tokens generated.
    pub completion_tokens: u32,
    /// `stop`, `length` or `cancelled`.
    pub finish_reason: &'static str,
}

impl std::fmt::Debug for LocalChat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalChat")
            .field("text", &format_args!("[{} bytes]", self.text.len()))
            .field("prompt_tokens", &self.prompt_tokens)
            .field("completion_tokens", &self.completion_tokens)
            .field("finish_reason", &self.finish_reason)
            .finish()
    }
}

/// Why an in-process call failed. Messages never carry prompt text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalError {
    /// The model is not loaded (weights missing, or built without the
    /// feature); the message says how to fix it.
    #[error("in-process model unavailable: {0}")]
    Unavailable(String),
    /// The request asks for something the model cannot do (a parameter out
    /// of range): the client's error.
    #[error("invalid request for the in-process model: {0}")]
    InvalidRequest(String),
    /// The model failed while generating.
    #[error("in-process model failed: {0}")]
    Failed(String),
}
