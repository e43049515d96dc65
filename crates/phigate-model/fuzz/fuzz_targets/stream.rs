//! Any token bytes and stop strings: streamed pieces are valid UTF-8, add up
//! to the lossy decoding of the bytes, and never contain a stop string.
//!
//! `cargo +nightly fuzz run stream` from `crates/phigate-model`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phigate_model::chat::stream::{StopMatcher, Utf8Pieces};

fuzz_target!(|data: &[u8]| {
    // Layout: stop strings before the first 0xFF byte (split at 0xFE), then
    // token bytes split into pieces at 0xFD.
    let (head, body) = match data.iter().position(|&b| b == 0xFF) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&data[..0], data),
    };
    let stops: Vec<String> = head.split(|&b| b == 0xFE).map(|s| String::from_utf8_lossy(s).into_owned()).collect();
    let mut utf8 = Utf8Pieces::new();
    let mut matcher = StopMatcher::new(&stops);
    let mut decoded = String::new();
    let mut out = String::new();
    let mut stopped = false;
    for chunk in body.split(|&b| b == 0xFD) {
        let piece = utf8.push(chunk);
        decoded.push_str(&piece);
        if !stopped {
            let step = matcher.push(&piece);
            out.push_str(&step.emit);
            stopped = step.stopped;
        }
    }
    let tail = utf8.finish();
    decoded.push_str(&tail);
    let all: Vec<u8> = body.split(|&b| b == 0xFD).flatten().copied().collect();
    assert_eq!(decoded, String::from_utf8_lossy(&all));
    if !stopped {
        let step = matcher.push(&tail);
        out.push_str(&step.emit);
        if !step.stopped {
            out.push_str(&matcher.finish());
        }
    }
    assert!(decoded.starts_with(&out));
    for stop in stops.iter().filter(|s| !s.is_empty()) {
        assert!(!out.contains(stop.as_str()));
    }
});
