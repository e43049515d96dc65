//! Chat generation with a local GGUF model through llama.cpp.
//!
//! [`ChatModel::load`] maps the model file once; each [`ChatModel::generate`]
//! renders the messages with the model's own chat template (see [`prompt`]),
//! creates a fresh llama.cpp context sized to the request, evaluates the prompt
//! and samples token by token, handing each piece of text to a callback as soon
//! as it is complete UTF-8 (see [`stream`]).
//!
//! # Threads and blocking
//! `generate` is CPU-bound and blocks the calling thread for the whole
//! generation: from async code run it on a blocking thread
//! (`tokio::task::spawn_blocking`). `ChatModel` is `Send + Sync`; at most
//! [`ChatOptions::parallel`] generations run at once, the others wait their
//! turn. The default is one generation using one thread: on a small, busy
//! machine ggml's worker threads spin-wait on each other and two threads run
//! many times slower than one.
//!
//! # What is not logged
//! Nothing in this module logs, and llama.cpp's own log output (which can echo
//! prompt details) is switched off before the engine starts.

pub mod prompt;
pub mod stream;

#[cfg(feature = "llama")]
mod llama;

use std::fmt;
use std::ops::ControlFlow;
use std::path::Path;

use phigate_phi::REDACTED;

use crate::Error;

/// Who wrote a chat message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Role {
    /// Instructions that frame the conversation.
    System,
    /// The person (or application) asking.
    User,
    /// The model's earlier replies.
    Assistant,
    /// The result of a tool call, fed back to the model.
    Tool,
}

impl Role {
    /// The role name chat templates expect (`"system"`, `"user"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::User => "user",
            Self::Assistant => "assistant",
            Self::Tool => "tool",
        }
    }
}

/// One message of a conversation. `Debug` never shows the content.
#[derive(Clone, PartialEq, Eq)]
pub struct ChatMessage {
    /// Who wrote it.
    pub role: Role,
    /// The text. May hold PHI.
    pub content: String,
}

impl ChatMessage {
    /// A message from `role` with `content`.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self { role, content: content.into() }
    }
}

impl fmt::Debug for ChatMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatMessage").field("role", &self.role).field("content", &REDACTED).finish()
    }
}

/// How a chat model is loaded and run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatOptions {
    /// Threads per generation (prompt evaluation and sampling). Default 1;
    /// more only helps on idle cores.
    pub threads: usize,
    /// The largest context window (prompt plus generated tokens) a request may
    /// use. Each request allocates only what it needs, rounded up to 256
    /// tokens, up to this. Capped at the model's training context. Default 2048.
    pub context_tokens: usize,
    /// Prompt tokens evaluated per llama.cpp batch. Default 512.
    pub batch_tokens: usize,
    /// Generations allowed to run at the same time (each with `threads`
    /// threads and its own context). Default 1.
    pub parallel: usize,
}

impl Default for ChatOptions {
    fn default() -> Self {
        Self { threads: 1, context_tokens: 2048, batch_tokens: 512, parallel: 1 }
    }
}

impl ChatOptions {
    /// Checks every field is in range.
    pub fn validate(&self) -> Result<(), Error> {
        if self.threads == 0 || self.threads > 256 {
            return Err(Error::InvalidParameter { field: "threads", reason: "must be between 1 and 256" });
        }
        if self.context_tokens < 16 || self.context_tokens > 1 << 20 {
            return Err(Error::InvalidParameter { field: "context_tokens", reason: "must be between 16 and 1048576" });
        }
        if self.batch_tokens == 0 || self.batch_tokens > 1 << 16 {
            return Err(Error::InvalidParameter { field: "batch_tokens", reason: "must be between 1 and 65536" });
        }
        if self.parallel == 0 || self.parallel > 64 {
            return Err(Error::InvalidParameter { field: "parallel", reason: "must be between 1 and 64" });
        }
        Ok(())
    }
}

/// Sampling and stopping for one generation.
#[derive(Clone, PartialEq)]
pub struct GenerateParams {
    /// Upper bound on generated tokens. Default 256.
    pub max_tokens: usize,
    /// 0 picks the most likely token every time (greedy, deterministic);
    /// above 0 samples from the softened distribution. Default 0.
    pub temperature: f32,
    /// Nucleus sampling: keep the smallest set of tokens whose probabilities
    /// add up to this (applied after temperature). 1 keeps all. Default 1.
    pub top_p: f32,
    /// Seed for sampling when `temperature > 0`; `None` picks one at random.
    pub seed: Option<u64>,
    /// Generation stops before any of these strings; the returned text does
    /// not include it. Empty strings are ignored.
    pub stop: Vec<String>,
}

impl Default for GenerateParams {
    fn default() -> Self {
        Self { max_tokens: 256, temperature: 0.0, top_p: 1.0, seed: None, stop: Vec::new() }
    }
}

impl fmt::Debug for GenerateParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GenerateParams")
            .field("max_tokens", &self.max_tokens)
            .field("temperature", &self.temperature)
            .field("top_p", &self.top_p)
            .field("seed", &self.seed)
            .field("stop", &format_args!("[{} strings]", self.stop.len()))
            .finish()
    }
}

impl GenerateParams {
    /// Checks every field is in range.
    pub fn validate(&self) -> Result<(), Error> {
        if self.max_tokens == 0 {
            return Err(Error::InvalidParameter { field: "max_tokens", reason: "must be at least 1" });
        }
        if !(self.temperature.is_finite() && (0.0..=10.0).contains(&self.temperature)) {
            return Err(Error::InvalidParameter { field: "temperature", reason: "must be between 0 and 10" });
        }
        if !(self.top_p.is_finite() && self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(Error::InvalidParameter { field: "top_p", reason: "must be in (0, 1]" });
        }
        if self.stop.len() > 16 || self.stop.iter().any(|s| s.len() > 256) {
            return Err(Error::InvalidParameter { field: "stop", reason: "at most 16 strings of at most 256 bytes" });
        }
        Ok(())
    }
}

/// Why a generation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FinishReason {
    /// The model ended its turn, or a stop string was produced.
    Stop,
    /// `max_tokens` was reached, or the context window is full.
    Length,
    /// The callback returned `ControlFlow::Break` (e.g. the client went away).
    Cancelled,
}

/// The outcome of [`ChatModel::generate`]. `Debug` never shows the text.
#[derive(Clone, PartialEq, Eq)]
pub struct Generation {
    /// Exactly the concatenation of the pieces handed to the callback.
    pub text: String,
    /// Tokens in the rendered prompt (template markup included).
    pub prompt_tokens: usize,
    /// Tokens sampled, not counting the end-of-turn token.
    pub completion_tokens: usize,
    /// Why generation ended.
    pub finish_reason: FinishReason,
}

impl fmt::Debug for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Generation")
            .field("text", &REDACTED)
            .field("prompt_tokens", &self.prompt_tokens)
            .field("completion_tokens", &self.completion_tokens)
            .field("finish_reason", &self.finish_reason)
            .finish()
    }
}

#[cfg(feature = "llama")]
type Engine = llama::LlamaChat;

/// Without the `llama` feature there is no engine and no value of this type.
#[cfg(not(feature = "llama"))]
#[derive(Debug)]
enum Engine {}

/// A loaded chat model. Cheap to share behind an `Arc`.
pub struct ChatModel {
    engine: Engine,
    model_id: String,
}

impl fmt::Debug for ChatModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatModel").field("model_id", &self.model_id).finish_non_exhaustive()
    }
}

impl ChatModel {
    /// Loads a GGUF model file.
    ///
    /// Without the `llama` feature this returns [`Error::NotBuilt`].
    pub fn load(path: &Path, opts: ChatOptions) -> Result<Self, Error> {
        opts.validate()?;
        let model_id = model_id_from_path(path);
        #[cfg(feature = "llama")]
        {
            let engine = llama::LlamaChat::load(path, opts)?;
            Ok(Self { engine, model_id })
        }
        #[cfg(not(feature = "llama"))]
        {
            let _ = model_id;
            Err(Error::NotBuilt { feature: "llama" })
        }
    }

    /// The model's name: the file name without its `.gguf` extension.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// True when the model file carries no chat template llama.cpp knows, so
    /// prompts are rendered as ChatML (see [`prompt::chatml`]).
    pub fn uses_fallback_template(&self) -> bool {
        #[cfg(feature = "llama")]
        {
            self.engine.uses_fallback_template()
        }
        #[cfg(not(feature = "llama"))]
        match self.engine {}
    }

    /// Tokens the rendered prompt for `messages` takes (template markup
    /// included), as [`Generation::prompt_tokens`] will report: for checking a
    /// request against the context window before queueing it.
    pub fn prompt_tokens(&self, messages: &[ChatMessage]) -> Result<usize, Error> {
        #[cfg(feature = "llama")]
        {
            self.engine.prompt_tokens(messages).map(|tokens| tokens.len())
        }
        #[cfg(not(feature = "llama"))]
        {
            let _ = messages;
            match self.engine {}
        }
    }

    /// The largest prompt plus completion, in tokens, one request may use:
    /// [`ChatOptions::context_tokens`] capped at the model's training context.
    pub fn context_tokens(&self) -> usize {
        #[cfg(feature = "llama")]
        {
            self.engine.context_tokens()
        }
        #[cfg(not(feature = "llama"))]
        match self.engine {}
    }

    /// Generates the assistant's reply to `messages`, blocking until done.
    ///
    /// Each piece of text is passed to `on_token` as soon as it is valid UTF-8
    /// and cannot be the beginning of a stop string; returning
    /// `ControlFlow::Break(())` stops generation at once
    /// ([`FinishReason::Cancelled`]). Waits while [`ChatOptions::parallel`]
    /// other generations are running.
    pub fn generate(
        &self,
        messages: &[ChatMessage],
        params: &GenerateParams,
        on_token: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Generation, Error> {
        params.validate()?;
        if messages.is_empty() {
            return Err(Error::InvalidParameter { field: "messages", reason: "at least one message is needed" });
        }
        #[cfg(feature = "llama")]
        {
            self.engine.generate(messages, params, on_token)
        }
        #[cfg(not(feature = "llama"))]
        {
            let _ = on_token;
            match self.engine {}
        }
    }
}

/// The file name without a trailing `.gguf`, or "chat" for odd paths.
fn model_id_from_path(path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let id = name.strip_suffix(".gguf").unwrap_or(&name);
    if id.is_empty() { "chat".to_owned() } else { id.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn chat_model_is_send_and_sync() {
        assert_send_sync::<ChatModel>();
    }

    #[cfg(not(feature = "llama"))]
    #[test]
    fn load_without_the_feature_is_not_built() {
        let err = ChatModel::load(Path::new("/nonexistent.gguf"), ChatOptions::default()).unwrap_err();
        assert!(matches!(err, Error::NotBuilt { feature: "llama" }), "{err:?}");
    }

    #[test]
    fn invalid_options_are_rejected_before_loading() {
        let opts = ChatOptions { threads: 0, ..ChatOptions::default() };
        let err = ChatModel::load(Path::new("/nonexistent.gguf"), opts).unwrap_err();
        assert!(matches!(err, Error::InvalidParameter { field: "threads", .. }), "{err:?}");
    }

    #[test]
    fn params_are_validated() {
        let ok = GenerateParams::default();
        assert!(ok.validate().is_ok());
        for (bad, field) in [
            (GenerateParams { max_tokens: 0, ..ok.clone() }, "max_tokens"),
            (GenerateParams { temperature: -1.0, ..ok.clone() }, "temperature"),
            (GenerateParams { temperature: f32::NAN, ..ok.clone() }, "temperature"),
            (GenerateParams { top_p: 0.0, ..ok.clone() }, "top_p"),
            (GenerateParams { stop: vec!["x".repeat(300)], ..ok.clone() }, "stop"),
        ] {
            let err = bad.validate().unwrap_err();
            assert!(matches!(err, Error::InvalidParameter { field: f, .. } if f == field), "{err:?}");
        }
    }

    #[test]
    fn debug_never_shows_message_or_generated_text() {
        let msg = ChatMessage::new(Role::User, "Jane Canary 123-45-6789");
        let generation = Generation {
            text: "Canary reply".into(),
            prompt_tokens: 3,
            completion_tokens: 2,
            finish_reason: FinishReason::Stop,
        };
        let params = GenerateParams { stop: vec!["Canary".into()], ..GenerateParams::default() };
        let shown = format!("{msg:?} {generation:?} {params:?}");
        assert!(!shown.contains("Canary"), "{shown}");
        assert!(shown.contains(REDACTED), "{shown}");
    }

    #[test]
    fn model_id_is_the_file_stem() {
        assert_eq!(model_id_from_path(Path::new("/m/SmolLM2-135M-Instruct.Q4_1.gguf")), "SmolLM2-135M-Instruct.Q4_1");
        assert_eq!(model_id_from_path(Path::new("/")), "chat");
    }
}
