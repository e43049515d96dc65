//! Re-identification: placeholders in a backend's answer become the caller's
//! identifiers again.
//!
//! Only placeholders this request's [`Vault`] created are replaced; any other
//! placeholder-shaped text (one the client wrote, or one a model invented)
//! passes through unchanged. Inside tool-call arguments, which are JSON text,
//! the original is JSON-string-escaped ([`Mode::Json`]) so that a name with a
//! quote or a backslash cannot break or alter the arguments' structure; the
//! placeholder is expected inside a JSON string, where the model saw it.
//!
//! Streams are restored by [`Restorer`] (one text) and [`ChunkRestorer`]
//! (whole `chat.completion.chunk` events, keyed by choice and tool-call
//! index): a restorer emits everything that can no longer be the start of a
//! placeholder and holds back at most [`crate::vault::PLACEHOLDER_MAX_LEN`]` - 1`
//! bytes. For every split of a text into chunks, the concatenated output is
//! exactly [`restore_text`] of the whole (a property test checks this).

mod stream;

use std::fmt::Write;

use serde_json::Value;

pub use stream::{ChunkRestorer, Restorer};

use crate::openai::{ChatResponse, Content, ContentPart, Map};
use crate::vault::{Scan, Vault, scan_at};

/// How a restored original is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// As is (message text).
    Text,
    /// JSON-string-escaped, without quotes (tool-call argument text).
    Json,
}

/// `text` with this vault's placeholders replaced by their originals.
pub fn restore_text(vault: &Vault, text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    restore_into(vault, text, Mode::Text, &mut out);
    out
}

/// Appends `text`, restored in `mode`, to `out`.
pub fn restore_into(vault: &Vault, text: &str, mode: Mode, out: &mut String) {
    scan(vault, text, mode, true, out);
}

/// Restores every text of a complete answer: message content (string, text
/// and refusal parts), tool-call arguments (in [`Mode::Json`]) and string
/// fields among the message's unknown fields (`refusal`, …).
pub fn restore_response(vault: &Vault, resp: &mut ChatResponse) {
    if vault.is_empty() {
        return;
    }
    for choice in &mut resp.choices {
        let m = &mut choice.message;
        match &mut m.content {
            Some(Content::Text(t)) => restore_in_place(vault, t, Mode::Text),
            Some(Content::Parts(parts)) => {
                for p in parts {
                    match p {
                        ContentPart::Text { text, .. } => restore_in_place(vault, text, Mode::Text),
                        ContentPart::Refusal { refusal, .. } => restore_in_place(vault, refusal, Mode::Text),
                        ContentPart::Other { .. } => {}
                    }
                }
            }
            None => {}
        }
        for call in m.tool_calls.iter_mut().flatten() {
            restore_in_place(vault, &mut call.function.arguments, Mode::Json);
        }
        restore_map(vault, &mut m.extra);
    }
}

/// Restores every string value (not key) of a JSON object, recursively.
pub fn restore_map(vault: &Vault, map: &mut Map) {
    for v in map.values_mut() {
        restore_value(vault, v);
    }
}

fn restore_value(vault: &Vault, v: &mut Value) {
    match v {
        Value::String(s) => restore_in_place(vault, s, Mode::Text),
        Value::Array(a) => a.iter_mut().for_each(|v| restore_value(vault, v)),
        Value::Object(o) => restore_map(vault, o),
        _ => {}
    }
}

/// Restores `s` in place; allocates only if it holds a placeholder-like `[[`.
pub fn restore_in_place(vault: &Vault, s: &mut String, mode: Mode) {
    if vault.is_empty() || !s.contains("[[") {
        return;
    }
    let mut out = String::with_capacity(s.len() + 16);
    scan(vault, s, mode, true, &mut out);
    *s = out;
}

/// The one scanner behind every restore: appends `buf` restored to `out` and
/// returns how many bytes it consumed. With `last == false` it stops before
/// a trailing possible placeholder prefix (which the caller keeps).
fn scan(vault: &Vault, buf: &str, mode: Mode, last: bool, out: &mut String) -> usize {
    let b = buf.as_bytes();
    let mut copied = 0;
    let mut i = 0;
    while let Some(off) = buf[i..].find('[') {
        let p = i + off;
        match scan_at(&b[p..]) {
            Scan::Token { len, entry } => {
                if let Some((kind, n)) = entry {
                    let hit = vault.reveal(kind, n, |original| {
                        out.push_str(&buf[copied..p]);
                        push_mode(original, mode, out);
                    });
                    if hit.is_some() {
                        copied = p + len;
                    }
                }
                i = p + len;
            }
            Scan::No => i = p + 1,
            Scan::NeedMore if last => i = p + 1,
            Scan::NeedMore => {
                out.push_str(&buf[copied..p]);
                return p;
            }
        }
    }
    out.push_str(&buf[copied..]);
    buf.len()
}

fn push_mode(s: &str, mode: Mode, out: &mut String) {
    match mode {
        Mode::Text => out.push_str(s),
        Mode::Json => push_json_escaped(s, out),
    }
}

/// Appends `s` escaped for the inside of a JSON string (RFC 8259 §7).
pub fn push_json_escaped(s: &str, out: &mut String) {
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let esc = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            '\u{08}' => "\\b",
            '\u{0c}' => "\\f",
            c if (c as u32) < 0x20 => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            // Invariant: writing to a String cannot fail.
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push_str(esc);
        }
        start = i + c.len_utf8();
    }
    out.push_str(&s[start..]);
}

#[cfg(test)]
mod tests;
