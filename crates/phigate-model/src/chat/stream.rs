//! Turning token bytes into text that is safe to stream.
//!
//! Two pure stages sit between the engine and the caller's callback:
//!
//! 1. [`Utf8Pieces`]: a token is a byte string and may end inside a multi-byte
//!    character (an emoji or accented letter often spans two or three tokens).
//!    Bytes are held until they form complete characters, so every piece the
//!    caller sees is valid UTF-8 and the pieces concatenate to the lossy
//!    decoding of all bytes.
//! 2. [`StopMatcher`]: text that might be the beginning of a stop string is
//!    held back until it is known not to be, so the caller never receives any
//!    part of a stop string, and generation ends at the first one completed.

/// Buffers token bytes until they form complete UTF-8 characters.
#[derive(Default)]
pub struct Utf8Pieces {
    pending: Vec<u8>,
}

impl Utf8Pieces {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `bytes` and returns the text now complete. An incomplete
    /// character at the end is kept for the next call; bytes that can never
    /// be valid become U+FFFD, as in [`String::from_utf8_lossy`].
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        let mut rest: &[u8] = &self.pending;
        loop {
            match std::str::from_utf8(rest) {
                Ok(text) => {
                    out.push_str(text);
                    rest = &[];
                    break;
                }
                Err(err) => {
                    let (valid, after) = rest.split_at(err.valid_up_to());
                    // `valid_up_to` marks the end of the longest valid prefix.
                    out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                    match err.error_len() {
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            rest = &after[bad..];
                        }
                        None => {
                            rest = after;
                            break;
                        }
                    }
                }
            }
        }
        let keep = rest.len();
        let start = self.pending.len() - keep;
        self.pending.drain(..start);
        out
    }

    /// Ends the stream: an incomplete trailing character becomes U+FFFD.
    pub fn finish(&mut self) -> String {
        let out = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        out
    }
}

/// What [`StopMatcher::push`] decided.
#[derive(Debug, PartialEq, Eq)]
pub struct StopStep {
    /// Text that can be handed to the caller now.
    pub emit: String,
    /// A stop string was completed; nothing more may be emitted.
    pub stopped: bool,
}

/// Holds back text that could be the start of a stop string.
pub struct StopMatcher {
    stops: Vec<String>,
    pending: String,
}

impl StopMatcher {
    /// A matcher for `stops`; empty strings are ignored.
    pub fn new(stops: &[String]) -> Self {
        Self { stops: stops.iter().filter(|s| !s.is_empty()).cloned().collect(), pending: String::new() }
    }

    /// Adds generated text. Emits everything that cannot belong to a stop
    /// string; on a match, emits the text before the earliest stop string and
    /// reports `stopped`.
    pub fn push(&mut self, text: &str) -> StopStep {
        self.pending.push_str(text);
        if let Some(at) = self.stops.iter().filter_map(|s| self.pending.find(s.as_str())).min() {
            let emit = self.pending[..at].to_owned();
            self.pending.clear();
            return StopStep { emit, stopped: true };
        }
        let hold = self.held_suffix_start();
        let emit = self.pending[..hold].to_owned();
        self.pending.drain(..hold);
        StopStep { emit, stopped: false }
    }

    /// Ends the stream: returns what was held back.
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.pending)
    }

    /// Start of the longest suffix of `pending` that is a proper prefix of a
    /// stop string (`pending.len()` when there is none).
    fn held_suffix_start(&self) -> usize {
        self.pending
            .char_indices()
            .map(|(i, _)| i)
            .find(|&i| {
                let suffix = &self.pending[i..];
                self.stops.iter().any(|s| s.len() > suffix.len() && s.starts_with(suffix))
            })
            .unwrap_or(self.pending.len())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Splits `data` at the given cut points (taken modulo its length).
    fn chunks<T: Clone>(data: &[T], cuts: &[usize]) -> Vec<Vec<T>> {
        let mut points: Vec<usize> = cuts.iter().map(|c| if data.is_empty() { 0 } else { c % data.len() }).collect();
        points.push(0);
        points.push(data.len());
        points.sort_unstable();
        points.dedup();
        points.windows(2).map(|w| data[w[0]..w[1]].to_vec()).collect()
    }

    #[test]
    fn a_character_split_across_tokens_is_emitted_whole() {
        let mut pieces = Utf8Pieces::new();
        let heart = "❤".as_bytes(); // three bytes
        assert_eq!(pieces.push(b"I "), "I ");
        assert_eq!(pieces.push(&heart[..1]), "");
        assert_eq!(pieces.push(&heart[1..2]), "");
        assert_eq!(pieces.push(&heart[2..]), "❤");
        assert_eq!(pieces.finish(), "");
    }

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        let mut pieces = Utf8Pieces::new();
        assert_eq!(pieces.push(b"a\xffb"), "a\u{FFFD}b");
        assert_eq!(pieces.push(b"\xe2\x9d"), "");
        assert_eq!(pieces.finish(), "\u{FFFD}");
    }

    #[test]
    fn stop_strings_are_never_emitted() {
        let mut m = StopMatcher::new(&["\nUser:".to_owned()]);
        assert_eq!(m.push("Hello"), StopStep { emit: "Hello".into(), stopped: false });
        assert_eq!(m.push("\nUs"), StopStep { emit: String::new(), stopped: false });
        assert_eq!(m.push("er: hi"), StopStep { emit: String::new(), stopped: true });
    }

    #[test]
    fn held_text_is_released_when_it_stops_matching() {
        let mut m = StopMatcher::new(&["END".to_owned(), String::new()]);
        assert_eq!(m.push("the EN").emit, "the ");
        assert_eq!(m.push("D? no, ENTER").emit, "");
        // "ENTER" broke the match only after "END" had matched: stopped above.
        let mut m = StopMatcher::new(&["END".to_owned()]);
        assert_eq!(m.push("EN").emit, "");
        assert_eq!(m.push("TER").emit, "ENTER");
        assert_eq!(m.push("E").emit, "");
        assert_eq!(m.finish(), "E");
    }

    proptest! {
        #[test]
        fn utf8_pieces_equal_lossy_decoding(data in proptest::collection::vec(any::<u8>(), 0..64),
                                            cuts in proptest::collection::vec(any::<usize>(), 0..8)) {
            let mut pieces = Utf8Pieces::new();
            let mut out = String::new();
            for chunk in chunks(&data, &cuts) {
                out.push_str(&pieces.push(&chunk));
            }
            out.push_str(&pieces.finish());
            prop_assert_eq!(out, String::from_utf8_lossy(&data).into_owned());
        }

        #[test]
        fn utf8_pieces_of_valid_text_are_its_characters(text in "\\PC{0,24}",
                                                       cuts in proptest::collection::vec(any::<usize>(), 0..8)) {
            let mut pieces = Utf8Pieces::new();
            let mut out = String::new();
            for chunk in chunks(text.as_bytes(), &cuts) {
                out.push_str(&pieces.push(&chunk));
            }
            prop_assert_eq!(pieces.finish(), "");
            prop_assert_eq!(out, text);
        }

        #[test]
        fn stop_matcher_emits_the_text_up_to_a_stop(
            text in "[abAB❤]{0,30}",
            stops in proptest::collection::vec("[abAB❤]{0,4}", 0..3),
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
        ) {
            let chars: Vec<char> = text.chars().collect();
            let mut m = StopMatcher::new(&stops);
            let mut out = String::new();
            let mut stopped = false;
            for chunk in chunks(&chars, &cuts) {
                let step = m.push(&chunk.iter().collect::<String>());
                out.push_str(&step.emit);
                if step.stopped { stopped = true; break; }
            }
            if !stopped { out.push_str(&m.finish()); }
            let live: Vec<&String> = stops.iter().filter(|s| !s.is_empty()).collect();
            // Stops exactly when the text holds a stop string ...
            prop_assert_eq!(stopped, live.iter().any(|s| text.contains(s.as_str())));
            // ... emitting no stop string, and either everything or the text
            // up to a stop string (the first one completed while streaming).
            prop_assert!(live.iter().all(|s| !out.contains(s.as_str())));
            if stopped {
                let ends_at_a_stop = live.iter().any(|s| text.starts_with(&(out.clone() + s.as_str())));
                prop_assert!(ends_at_a_stop);
            } else {
                prop_assert_eq!(&out, &text);
            }
        }
    }
}
