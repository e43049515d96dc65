//! The llama.cpp engine behind [`super::ChatModel`] (feature `llama`).
//!
//! A context (KV cache and compute buffers) is created per generation, sized
//! to prompt plus `max_tokens`: for a 135M model this costs a few
//! milliseconds, far less than generating a handful of tokens, and it leaves
//! no state from one request (one patient) in memory for the next. A gate
//! bounds how many generations run at once; context creation itself is
//! serialized because llama.cpp mutates the model while creating one.

use std::num::NonZeroU32;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::{LogOptions, send_logs_to_tracing};

use super::prompt::{self, Part};
use super::stream::{StopMatcher, Utf8Pieces};
use super::{ChatMessage, ChatOptions, FinishReason, GenerateParams, Generation};
use crate::Error;

/// Contexts are allocated in multiples of this many tokens.
const CONTEXT_GRANULE: usize = 256;

/// The process-wide llama.cpp backend. llama.cpp allows one initialization
/// per process and its log output is switched off before that: its messages
/// can describe prompts and would bypass the server's log policy.
fn backend() -> Result<&'static LlamaBackend, Error> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            send_logs_to_tracing(LogOptions::default().with_logs_enabled(false));
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|reason| Error::Inference { reason: format!("llama.cpp backend: {reason}") })
}

/// How prompts are rendered for this model.
enum Template {
    /// The GGUF's `tokenizer.chat_template`, applied by llama.cpp.
    Model(LlamaChatTemplate),
    /// [`prompt::chatml`].
    ChatMl,
}

/// Counts generations in flight and makes callers wait above the limit.
struct Gate {
    running: Mutex<usize>,
    freed: Condvar,
    limit: usize,
}

/// Holds one slot of the [`Gate`] until dropped.
struct Slot<'a>(&'a Gate);

impl Gate {
    fn enter(&self) -> Slot<'_> {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        while *running >= self.limit {
            running = self.freed.wait(running).unwrap_or_else(PoisonError::into_inner);
        }
        *running += 1;
        Slot(self)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut running = self.0.running.lock().unwrap_or_else(PoisonError::into_inner);
        *running -= 1;
        self.0.freed.notify_one();
    }
}

pub(super) struct LlamaChat {
    model: LlamaModel,
    template: Template,
    opts: ChatOptions,
    /// The context window cap: `opts.context_tokens` within the model's own.
    context_cap: usize,
    gate: Gate,
    /// Serializes `new_context`, which is not safe to call concurrently.
    create: Mutex<()>,
}

impl LlamaChat {
    pub(super) fn load(path: &Path, opts: ChatOptions) -> Result<Self, Error> {
        std::fs::File::open(path).map_err(|e| Error::model_file(path, &e))?;
        let backend = backend()?;
        let model = LlamaModel::load_from_file(backend, path, &LlamaModelParams::default())
            .map_err(|e| Error::Load { path: path.to_path_buf(), reason: e.to_string() })?;
        let template = pick_template(&model);
        let trained = usize::try_from(model.n_ctx_train()).unwrap_or(usize::MAX).max(CONTEXT_GRANULE);
        let context_cap = opts.context_tokens.min(trained);
        let gate = Gate { running: Mutex::new(0), freed: Condvar::new(), limit: opts.parallel };
        Ok(Self { model, template, opts, context_cap, gate, create: Mutex::new(()) })
    }

    pub(super) fn context_tokens(&self) -> usize {
        self.context_cap
    }

    pub(super) fn uses_fallback_template(&self) -> bool {
        matches!(self.template, Template::ChatMl)
    }

    pub(super) fn generate(
        &self,
        messages: &[ChatMessage],
        params: &GenerateParams,
        on_token: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Generation, Error> {
        let prompt = self.prompt_tokens(messages)?;
        let prompt_tokens = prompt.len();
        if prompt_tokens >= self.context_cap {
            return Err(Error::ContextOverflow { prompt_tokens, context_tokens: self.context_cap });
        }
        let budget = params.max_tokens.min(self.context_cap - prompt_tokens);
        let n_ctx = (prompt_tokens + budget).div_ceil(CONTEXT_GRANULE) * CONTEXT_GRANULE;
        let n_ctx = n_ctx.min(self.context_cap);

        let _slot = self.gate.enter();
        let mut ctx = {
            let _creating = lock(&self.create);
            let threads = i32::try_from(self.opts.threads).unwrap_or(1);
            let ctx_params = LlamaContextParams::default()
                .with_n_ctx(NonZeroU32::new(to_u32(n_ctx)))
                .with_n_batch(to_u32(self.opts.batch_tokens.min(n_ctx)))
                .with_n_ubatch(to_u32(self.opts.batch_tokens.min(n_ctx)))
                .with_n_threads(threads)
                .with_n_threads_batch(threads)
                .with_no_perf(true);
            self.model.new_context(backend()?, ctx_params).map_err(inference)?
        };

        // Prompt, in batches; logits only for its last token.
        let batch_size = self.opts.batch_tokens.min(n_ctx);
        let mut batch = LlamaBatch::new(batch_size, 1);
        let mut pos: i32 = 0;
        for chunk in prompt.chunks(batch_size) {
            batch.clear();
            for &token in chunk {
                let last = to_usize(pos) + 1 == prompt_tokens;
                batch.add(token, pos, &[0], last).map_err(inference)?;
                pos += 1;
            }
            ctx.decode(&mut batch).map_err(inference)?;
        }

        let mut sampler = sampler(params);
        let vocab = self.model.vocab();
        let mut utf8 = Utf8Pieces::new();
        let mut stops = StopMatcher::new(&params.stop);
        let mut text = String::new();
        let mut completion_tokens = 0;
        let mut emit = |piece: &str, text: &mut String| -> ControlFlow<()> {
            if piece.is_empty() {
                return ControlFlow::Continue(());
            }
            text.push_str(piece);
            on_token(piece)
        };

        let mut stopped_by_string = false;
        let finish_reason = loop {
            let token = sampler.sample(&ctx, batch.n_tokens() - 1);
            if vocab.is_eog(token) {
                break FinishReason::Stop;
            }
            completion_tokens += 1;
            let piece = utf8.push(&vocab.token_to_piece(token, false, None));
            let step = stops.push(&piece);
            if emit(&step.emit, &mut text).is_break() {
                break FinishReason::Cancelled;
            }
            if step.stopped {
                stopped_by_string = true;
                break FinishReason::Stop;
            }
            if completion_tokens >= budget {
                break FinishReason::Length;
            }
            batch.clear();
            batch.add(token, pos, &[0], true).map_err(inference)?;
            pos += 1;
            ctx.decode(&mut batch).map_err(inference)?;
        };

        // Release what was held back (an incomplete character, a partial stop
        // string) unless the caller has gone or a stop string ended the text.
        if finish_reason != FinishReason::Cancelled && !stopped_by_string {
            let tail = utf8.finish();
            let mut rest = stops.push(&tail);
            if !rest.stopped {
                rest.emit.push_str(&stops.finish());
            }
            if emit(&rest.emit, &mut text).is_break() {
                return Ok(Generation {
                    text,
                    prompt_tokens,
                    completion_tokens,
                    finish_reason: FinishReason::Cancelled,
                });
            }
        }
        Ok(Generation { text, prompt_tokens, completion_tokens, finish_reason })
    }

    /// Renders the messages with the model's template and tokenizes markup
    /// (special tokens recognised) and contents (plain text) separately.
    pub(super) fn prompt_tokens(&self, messages: &[ChatMessage]) -> Result<Vec<LlamaToken>, Error> {
        let pairs: Vec<(&str, &str)> = messages.iter().map(|m| (m.role.as_str(), m.content.as_str())).collect();
        let parts = prompt::render(&pairs, |slotted| match &self.template {
            Template::Model(template) => apply_template(&self.model, template, slotted),
            Template::ChatMl => Ok(prompt::chatml(slotted.iter().copied(), true)),
        })?;
        let vocab = self.model.vocab();
        let mut tokens = Vec::new();
        for part in &parts {
            match part {
                Part::Markup(markup) => tokens.extend(vocab.tokenize(markup.as_bytes(), false, true)),
                Part::Content(i) => {
                    let content = pairs.get(*i).map(|(_, c)| *c).unwrap_or_default();
                    tokens.extend(vocab.tokenize(content.as_bytes(), false, false));
                }
            }
        }
        if vocab.should_add_bos() && tokens.first() != Some(&vocab.bos()) {
            tokens.insert(0, vocab.bos());
        }
        if tokens.is_empty() {
            return Err(Error::Template { reason: "the prompt is empty" });
        }
        Ok(tokens)
    }
}

/// The model's template if llama.cpp can apply it, else ChatML.
fn pick_template(model: &LlamaModel) -> Template {
    let Ok(template) = model.chat_template(None) else {
        return Template::ChatMl;
    };
    // The template must keep every message, in a layout `prompt::split` accepts.
    let probe = [("system", "a"), ("user", "b"), ("assistant", "c"), ("user", "d")];
    match prompt::render(&probe, |slotted| apply_template(model, &template, slotted)) {
        Ok(_) => Template::Model(template),
        Err(_) => Template::ChatMl,
    }
}

fn apply_template(
    model: &LlamaModel,
    template: &LlamaChatTemplate,
    messages: &[(&str, &str)],
) -> Result<String, Error> {
    let chat = messages
        .iter()
        .map(|(role, content)| LlamaChatMessage::new((*role).to_owned(), (*content).to_owned()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| Error::Template { reason: "a role or slot marker contains a NUL byte" })?;
    model
        .apply_chat_template(template, &chat, true)
        .map_err(|_| Error::Template { reason: "llama.cpp could not apply the model's chat template" })
}

/// Greedy at temperature 0; otherwise temperature, then nucleus, then a seeded draw.
fn sampler(params: &GenerateParams) -> LlamaSampler {
    if params.temperature <= 0.0 {
        return LlamaSampler::greedy();
    }
    let seed = params.seed.unwrap_or_else(random_seed);
    // Fold the 64-bit seed into llama.cpp's 32 bits (truncation is intended).
    #[allow(clippy::cast_possible_truncation)]
    let seed32 = (seed ^ (seed >> 32)) as u32;
    let mut chain = vec![LlamaSampler::temp(params.temperature)];
    if params.top_p < 1.0 {
        chain.push(LlamaSampler::top_p(params.top_p, 1));
    }
    chain.push(LlamaSampler::dist(seed32));
    LlamaSampler::chain_simple(chain)
}

/// A seed from the standard library's per-process random hasher keys.
fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher
        .write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    hasher.finish()
}

fn lock(mutex: &Mutex<()>) -> MutexGuard<'_, ()> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn inference(err: impl std::fmt::Display) -> Error {
    Error::Inference { reason: err.to_string() }
}

/// Sizes here are bounded by [`ChatOptions::validate`] (at most 2^20).
fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn to_usize(n: i32) -> usize {
    usize::try_from(n).unwrap_or(0)
}
