//! Streaming restoration.

use std::fmt;
use std::ops::Deref;

use super::{Mode, scan};
use crate::openai::{ChatChunk, ChunkChoice, FunctionCallDelta, ToolCallDelta};
use crate::vault::Vault;

/// Text held back between chunks for one stream of text.
#[derive(Default)]
struct Pending {
    held: String,
}

impl Pending {
    fn push(&mut self, vault: &Vault, chunk: &str, mode: Mode, out: &mut String) {
        if vault.is_empty() {
            // Nothing can be restored: nothing needs holding back.
            out.push_str(&self.held);
            out.push_str(chunk);
            self.held.clear();
        } else if self.held.is_empty() {
            let used = scan(vault, chunk, mode, false, out);
            self.held.push_str(&chunk[used..]);
        } else {
            self.held.push_str(chunk);
            let used = scan(vault, &self.held, mode, false, out);
            self.held.drain(..used);
        }
    }

    fn finish(&mut self, vault: &Vault, mode: Mode, out: &mut String) {
        scan(vault, &self.held, mode, true, out);
        self.held.clear();
    }
}

/// Restores one streamed text (message content, or one tool call's argument
/// text in [`Mode::Json`]).
///
/// `V` is how the restorer reaches the vault: `&Vault`, or `Arc<Vault>` when
/// the restorer must own it (a `'static` response body).
pub struct Restorer<V: Deref<Target = Vault>> {
    vault: V,
    mode: Mode,
    pending: Pending,
}

impl<V: Deref<Target = Vault>> Restorer<V> {
    /// A restorer for message text.
    pub fn new(vault: V) -> Self {
        Self::with_mode(vault, Mode::Text)
    }

    /// A restorer for JSON text (tool-call arguments).
    pub fn json(vault: V) -> Self {
        Self::with_mode(vault, Mode::Json)
    }

    /// A restorer writing originals in `mode`.
    pub fn with_mode(vault: V, mode: Mode) -> Self {
        Self { vault, mode, pending: Pending::default() }
    }

    /// The text that is safe to emit after `chunk`: everything except a
    /// trailing possible placeholder prefix, which is held back.
    pub fn push(&mut self, chunk: &str) -> String {
        let mut out = String::with_capacity(chunk.len() + 8);
        self.push_to(chunk, &mut out);
        out
    }

    /// Like [`Restorer::push`], appending to `out`.
    pub fn push_to(&mut self, chunk: &str, out: &mut String) {
        self.pending.push(&self.vault, chunk, self.mode, out);
    }

    /// Whatever is still held back, restored as the end of the text.
    pub fn finish(&mut self) -> String {
        let mut out = String::new();
        self.pending.finish(&self.vault, self.mode, &mut out);
        out
    }

    /// Bytes currently held back.
    pub fn held(&self) -> usize {
        self.pending.held.len()
    }
}

impl<V: Deref<Target = Vault>> fmt::Debug for Restorer<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Restorer").field("mode", &self.mode).field("held", &self.held()).finish()
    }
}

/// Which text of a streamed completion a restorer follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Content,
    Refusal,
    Arguments(u32),
}

/// Restores a stream of `chat.completion.chunk` events in place.
///
/// Keeps one restorer per (choice, field): message content, refusal, and
/// each tool call's arguments by its `index`. Held-back text is flushed into
/// the chunk that carries the choice's `finish_reason`; if the stream ends
/// without one, [`ChunkRestorer::finish`] returns a last chunk to send before
/// `[DONE]`.
pub struct ChunkRestorer<V: Deref<Target = Vault>> {
    vault: V,
    open: Vec<(u32, Field, Pending)>,
    last: Option<ChatChunk>,
}

impl<V: Deref<Target = Vault>> ChunkRestorer<V> {
    /// A restorer for one streamed completion.
    pub fn new(vault: V) -> Self {
        Self { vault, open: Vec::new(), last: None }
    }

    /// Restores `chunk` in place.
    pub fn restore(&mut self, chunk: &mut ChatChunk) {
        if self.last.is_none() {
            self.last = Some(ChatChunk::empty_like(chunk));
        }
        if self.vault.is_empty() {
            return;
        }
        for choice in &mut chunk.choices {
            let idx = choice.index;
            let d = &mut choice.delta;
            if let Some(text) = &mut d.content {
                *text = self.push(idx, Field::Content, text);
            }
            if let Some(text) = &mut d.refusal {
                *text = self.push(idx, Field::Refusal, text);
            }
            for call in d.tool_calls.iter_mut().flatten() {
                if let Some(args) = call.function.as_mut().and_then(|f| f.arguments.as_mut()) {
                    *args = self.push(idx, Field::Arguments(call.index), args);
                }
            }
            if choice.finish_reason.is_some() {
                self.flush_into(choice);
            }
        }
    }

    /// A final chunk with whatever is still held back, or `None` if nothing is.
    pub fn finish(&mut self) -> Option<ChatChunk> {
        let indices: Vec<u32> = self.open.iter().map(|(i, _, _)| *i).collect();
        let mut chunk = ChatChunk::empty_like(self.last.as_ref()?);
        for idx in indices {
            if chunk.choices.iter().all(|c| c.index != idx) {
                let mut choice = ChunkChoice::new(idx);
                self.flush_into(&mut choice);
                chunk.choices.push(choice);
            }
        }
        let nonempty = chunk.choices.iter().any(|c| {
            let d = &c.delta;
            d.content.as_ref().is_some_and(|s| !s.is_empty())
                || d.refusal.as_ref().is_some_and(|s| !s.is_empty())
                || d.tool_calls.as_ref().is_some_and(|v| !v.is_empty())
        });
        nonempty.then_some(chunk)
    }

    fn push(&mut self, idx: u32, field: Field, text: &str) -> String {
        let mode = if matches!(field, Field::Arguments(_)) { Mode::Json } else { Mode::Text };
        let pos = match self.open.iter().position(|(i, f, _)| *i == idx && *f == field) {
            Some(p) => p,
            None => {
                self.open.push((idx, field, Pending::default()));
                self.open.len() - 1
            }
        };
        let mut out = String::with_capacity(text.len() + 8);
        self.open[pos].2.push(&self.vault, text, mode, &mut out);
        out
    }

    /// Moves everything held for `choice.index` into its delta and forgets it.
    fn flush_into(&mut self, choice: &mut ChunkChoice) {
        let idx = choice.index;
        let mut k = 0;
        while k < self.open.len() {
            if self.open[k].0 != idx {
                k += 1;
                continue;
            }
            let (_, field, mut pending) = self.open.swap_remove(k);
            if pending.held.is_empty() {
                continue;
            }
            let d = &mut choice.delta;
            match field {
                Field::Content => pending.finish(&self.vault, Mode::Text, d.content.get_or_insert_default()),
                Field::Refusal => pending.finish(&self.vault, Mode::Text, d.refusal.get_or_insert_default()),
                Field::Arguments(t) => {
                    let calls = d.tool_calls.get_or_insert_default();
                    let pos = match calls.iter().position(|c| c.index == t) {
                        Some(p) => p,
                        None => {
                            calls.push(ToolCallDelta { index: t, ..ToolCallDelta::default() });
                            calls.len() - 1
                        }
                    };
                    let f = calls[pos].function.get_or_insert_with(FunctionCallDelta::default);
                    pending.finish(&self.vault, Mode::Json, f.arguments.get_or_insert_default());
                }
            }
        }
    }
}

impl<V: Deref<Target = Vault>> fmt::Debug for ChunkRestorer<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let held: usize = self.open.iter().map(|(_, _, p)| p.held.len()).sum();
        f.debug_struct("ChunkRestorer").field("open", &self.open.len()).field("held", &held).finish()
    }
}
