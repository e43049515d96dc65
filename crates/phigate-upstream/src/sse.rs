//! An incremental `text/event-stream` parser: bytes in, events out.
//!
//! Follows the WHATWG HTML "event stream interpretation" rules that matter to
//! a client that does not reconnect: lines end with CRLF, LF or CR (a CR at
//! the end of one chunk and an LF at the start of the next are one line end);
//! one leading UTF-8 BOM is dropped; lines starting with `:` are comments;
//! `field: value` drops one space after the colon; `data` lines are joined
//! with LF; `event` sets the type; `id` sets the last event id (ignored if it
//! holds NUL); `retry` and unknown fields are ignored; an empty line
//! dispatches the event unless its data is empty. Invalid UTF-8 is replaced by
//! U+FFFD, as the standard's decoder does.
//!
//! The result does not depend on how the bytes were chunked (a property test
//! checks any split). Memory is bounded: once the pending line plus the event
//! being built would exceed `max_event_bytes`, [`SseParser::feed`] returns
//! [`Error::EventTooLarge`] and the parser stays failed.

use std::collections::VecDeque;
use std::fmt;

use crate::Error;

/// Default bound on one event (its data, type and current line), in bytes.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 1 << 20;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One dispatched server-sent event.
///
/// `data` is model output (or, for some servers, an echo of the prompt):
/// `Debug` prints its length only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field; `None` for the default type (`message`).
    pub event: Option<String>,
    /// The `data:` lines joined with LF.
    pub data: String,
    /// The last event id seen so far on the stream, if any.
    pub id: Option<String>,
}

impl fmt::Debug for SseEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseEvent")
            .field("event", &self.event)
            .field("data", &format_args!("[{} bytes]", self.data.len()))
            .field("id", &self.id)
            .finish()
    }
}

/// The incremental parser. Feed it chunks as they arrive; take events with
/// [`SseParser::next_event`]; call [`SseParser::finish`] at end of input.
pub struct SseParser {
    max_event_bytes: usize,
    /// The current, incomplete line.
    line: Vec<u8>,
    /// The previous byte was a CR: an LF now is part of the same line end.
    after_cr: bool,
    /// The first line has not been completed yet (the BOM is stripped from it).
    first_line: bool,
    data: String,
    event_type: String,
    last_id: Option<String>,
    ready: VecDeque<SseEvent>,
    failed: bool,
}

impl fmt::Debug for SseParser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseParser")
            .field("max_event_bytes", &self.max_event_bytes)
            .field("pending_bytes", &(self.line.len() + self.data.len()))
            .field("ready", &self.ready.len())
            .field("failed", &self.failed)
            .finish()
    }
}

impl Default for SseParser {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_EVENT_BYTES)
    }
}

impl SseParser {
    /// A parser that refuses any event (data + type + current line) larger
    /// than `max_event_bytes`.
    pub fn new(max_event_bytes: usize) -> Self {
        Self {
            max_event_bytes,
            line: Vec::new(),
            after_cr: false,
            first_line: true,
            data: String::new(),
            event_type: String::new(),
            last_id: None,
            ready: VecDeque::new(),
            failed: false,
        }
    }

    /// Consumes a chunk. Events completed by it become available from
    /// [`SseParser::next_event`], including those completed before an error.
    pub fn feed(&mut self, mut chunk: &[u8]) -> Result<(), Error> {
        if self.failed {
            return Err(self.too_large());
        }
        while let Some((&first, rest)) = chunk.split_first() {
            if self.after_cr {
                self.after_cr = false;
                if first == b'\n' {
                    chunk = rest;
                    continue;
                }
            }
            match chunk.iter().position(|&b| b == b'\n' || b == b'\r') {
                Some(end) => {
                    self.append_to_line(&chunk[..end])?;
                    self.after_cr = chunk[end] == b'\r';
                    chunk = &chunk[end + 1..];
                    self.end_line();
                }
                None => {
                    self.append_to_line(chunk)?;
                    break;
                }
            }
        }
        Ok(())
    }

    /// The next complete event, in stream order.
    pub fn next_event(&mut self) -> Option<SseEvent> {
        self.ready.pop_front()
    }

    /// Number of complete events waiting.
    pub fn ready_len(&self) -> usize {
        self.ready.len()
    }

    /// End of input. An incomplete event is discarded, as the standard says;
    /// the return value tells whether there was one (the stream was cut).
    pub fn finish(&mut self) -> bool {
        let line: &[u8] = &self.line;
        let line = if self.first_line { line.strip_prefix(BOM).unwrap_or(line) } else { line };
        let partial = !line.is_empty() || !self.data.is_empty();
        self.line.clear();
        self.data.clear();
        self.event_type.clear();
        partial
    }

    fn too_large(&self) -> Error {
        Error::EventTooLarge { limit: self.max_event_bytes }
    }

    fn append_to_line(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let pending = self.line.len() + bytes.len() + self.data.len() + self.event_type.len();
        if pending > self.max_event_bytes {
            self.failed = true;
            self.line.clear();
            self.data.clear();
            return Err(self.too_large());
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    fn end_line(&mut self) {
        let mut line = std::mem::take(&mut self.line);
        let mut text: &[u8] = &line;
        if self.first_line {
            self.first_line = false;
            text = text.strip_prefix(BOM).unwrap_or(text);
        }
        if text.is_empty() {
            self.dispatch();
        } else if text[0] != b':' {
            let (field, value) = match text.iter().position(|&b| b == b':') {
                Some(colon) => {
                    let value = &text[colon + 1..];
                    (&text[..colon], value.strip_prefix(b" ").unwrap_or(value))
                }
                None => (text, &b""[..]),
            };
            self.field(field, value);
        }
        line.clear();
        self.line = line;
    }

    fn field(&mut self, name: &[u8], value: &[u8]) {
        match name {
            b"data" => {
                self.data.push_str(&String::from_utf8_lossy(value));
                self.data.push('\n');
            }
            b"event" => {
                self.event_type.clear();
                self.event_type.push_str(&String::from_utf8_lossy(value));
            }
            b"id" if !value.contains(&0) => {
                self.last_id = (!value.is_empty()).then(|| String::from_utf8_lossy(value).into_owned());
            }
            _ => {}
        }
    }

    fn dispatch(&mut self) {
        if self.data.is_empty() {
            self.event_type.clear();
            return;
        }
        self.data.pop(); // the LF after the last data line
        let event = (!self.event_type.is_empty()).then(|| std::mem::take(&mut self.event_type));
        let data = std::mem::take(&mut self.data);
        self.ready.push_back(SseEvent { event, data, id: self.last_id.clone() });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &[u8]) -> Vec<SseEvent> {
        let mut p = SseParser::default();
        p.feed(input).unwrap();
        std::iter::from_fn(|| p.next_event()).collect()
    }

    fn data(events: &[SseEvent]) -> Vec<&str> {
        events.iter().map(|e| e.data.as_str()).collect()
    }

    #[test]
    fn openai_style_stream() {
        let events = parse(b"data: {\"a\":1}\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\n");
        assert_eq!(data(&events), ["{\"a\":1}", "{\"b\":2}", "[DONE]"]);
    }

    #[test]
    fn line_endings_comments_and_fields() {
        let events = parse(b"\xEF\xBB\xBF: keep-alive\r\nevent: delta\rid: 7\r\ndata:x\ndata:  y\n\ndata\n\n");
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].event.as_deref(), Some("delta"));
        assert_eq!(events[0].id.as_deref(), Some("7"));
        assert_eq!(events[0].data, "x\n y");
        // `data` with no colon appends an empty line: data is "" after the LF is removed,
        // but the buffer was non-empty, so the event is dispatched.
        assert_eq!(events[1].data, "");
        assert_eq!(events[1].event, None);
        assert_eq!(events[1].id.as_deref(), Some("7"), "the last event id persists");
    }

    #[test]
    fn empty_data_is_not_dispatched_and_resets_type() {
        let events = parse(b"event: ping\n\ndata: a\n\n");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event, None);
    }

    #[test]
    fn id_with_nul_is_ignored_and_bom_only_at_start() {
        let events = parse(b"id: 1\n\nid: 2\0\ndata: a\n\n\xEF\xBB\xBFdata: b\n\n");
        assert_eq!(data(&events), ["a"]);
        assert_eq!(events[0].id.as_deref(), Some("1"));
    }

    #[test]
    fn cr_split_across_chunks_is_one_line_end() {
        let mut p = SseParser::default();
        p.feed(b"data: a\r").unwrap();
        p.feed(b"\n\r").unwrap();
        p.feed(b"\n").unwrap();
        assert_eq!(p.next_event().map(|e| e.data), Some("a".into()));
        assert_eq!(p.next_event(), None);
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        assert_eq!(data(&parse(b"data: a\xFFb\n\n")), ["a\u{FFFD}b"]);
    }

    #[test]
    fn oversized_event_is_an_error_and_sticks() {
        let mut p = SseParser::new(16);
        p.feed(b"data: ok\n\n").unwrap();
        let err = p.feed(b"data: 0123456789abcdef").unwrap_err();
        assert!(matches!(err, Error::EventTooLarge { limit: 16 }));
        assert_eq!(p.next_event().map(|e| e.data), Some("ok".into()));
        assert!(p.feed(b"\n\n").is_err());
        // Many data lines add up too.
        let mut p = SseParser::new(16);
        assert!(p.feed(b"data: 12345\ndata: 12345\ndata: 12345\n").is_err());
    }

    #[test]
    fn finish_reports_a_cut_event() {
        let mut p = SseParser::default();
        p.feed(b"data: a\n\ndata: b\n").unwrap();
        assert!(p.finish());
        let mut p = SseParser::default();
        p.feed(b"data: a\n\n: comment\n").unwrap();
        assert!(!p.finish());
        let mut p = SseParser::default();
        p.feed(BOM).unwrap();
        assert!(!p.finish(), "a lone BOM is an empty stream");
    }

    #[test]
    fn debug_hides_data() {
        let e = SseEvent { data: "Jane Canary".into(), ..SseEvent::default() };
        assert!(!format!("{e:?}").contains("Canary"));
    }
}
