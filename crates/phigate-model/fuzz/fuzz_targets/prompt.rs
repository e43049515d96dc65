//! Any message contents (untrusted user text): rendering with slot markers
//! and splitting never panics, every message becomes exactly one content
//! part, and no content text ends up in the markup.
//!
//! `cargo +nightly fuzz run prompt` from `crates/phigate-model`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phigate_model::chat::prompt::{Part, chatml, join, render};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Messages are separated by NUL; the first byte of each picks the role.
    let roles = ["system", "user", "assistant", "tool"];
    let messages: Vec<(&str, &str)> =
        text.split('\0').take(16).enumerate().map(|(i, content)| (roles[i % roles.len()], content)).collect();
    let parts =
        render(&messages, |slotted| Ok(chatml(slotted.iter().copied(), true))).expect("ChatML keeps every message");
    let contents: Vec<&str> = messages.iter().map(|(_, c)| *c).collect();
    assert_eq!(join(&parts, &contents), chatml(messages.iter().copied(), true));
    let mut seen: Vec<usize> =
        parts.iter().filter_map(|p| if let Part::Content(i) = p { Some(*i) } else { None }).collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..messages.len()).collect::<Vec<_>>());
    for part in &parts {
        if let Part::Markup(markup) = part {
            assert!(!markup.contains('\u{E000}'), "a slot marker was left in the markup");
        }
    }
});
