//! Any bytes, any chunking: the SSE parser never panics, never holds more
//! than its bound, and yields the same events whether the input arrives
//! whole or split at the points the fuzzer chose.
//!
//! Input layout: byte 0 = number of split points (mod 8), then that many
//! bytes of split offsets, then the stream. `cargo +nightly fuzz run sse`
//! from `crates/phigate-upstream`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phigate_upstream::SseParser;

const LIMIT: usize = 256;

fn run(chunks: &[&[u8]]) -> (Vec<(Option<String>, String, Option<String>)>, bool, bool) {
    let mut parser = SseParser::new(LIMIT);
    let mut events = Vec::new();
    let mut failed = false;
    for chunk in chunks {
        let result = parser.feed(chunk);
        while let Some(e) = parser.next_event() {
            assert!(e.data.len() <= LIMIT * 3, "event larger than the bound allows");
            events.push((e.event, e.data, e.id));
        }
        if result.is_err() {
            failed = true;
            break;
        }
    }
    let partial = !failed && parser.finish();
    (events, failed, partial)
}

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else { return };
    let n = usize::from(n % 8).min(rest.len());
    let (splits, stream) = rest.split_at(n);
    let mut cuts: Vec<usize> = splits.iter().map(|&b| usize::from(b) % (stream.len() + 1)).collect();
    cuts.sort_unstable();
    let mut chunks = Vec::new();
    let mut at = 0;
    for cut in cuts {
        chunks.push(&stream[at..cut]);
        at = cut;
    }
    chunks.push(&stream[at..]);
    assert_eq!(run(&[stream]), run(&chunks));
});
