//! Arbitrary text cut into arbitrary chunks: the streaming restorer's output,
//! concatenated, equals the one-shot restoration of the whole, in text and
//! JSON modes, and never holds back more than a placeholder's length.
//!
//! Input layout: the first byte picks the mode, the next bytes are chunk
//! lengths (until a 0), the rest is the text (lossy UTF-8).
//!
//! `cargo +nightly fuzz run stream_restore` from `crates/phigate-gateway`.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use phigate_deid::Kind;
use phigate_gateway::Vault;
use phigate_gateway::restore::{Mode, Restorer, restore_into};
use phigate_gateway::vault::PLACEHOLDER_MAX_LEN;

static VAULT: LazyLock<Vault> = LazyLock::new(|| {
    let mut v = Vault::new().expect("the OS RNG works");
    for (k, s) in
        [(Kind::Name, "Jane \"Q\" Doe"), (Kind::Name, "Ünal\n"), (Kind::Date, "1/2/3"), (Kind::HealthPlan, "\\x")]
    {
        v.placeholder_for(k, s).expect("sealing works");
    }
    v
});

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let mode = if mode & 1 == 0 { Mode::Text } else { Mode::Json };
    let split = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    let (lens, text) = rest.split_at(split);
    let text = String::from_utf8_lossy(text.get(1..).unwrap_or_default());
    let mut whole = String::new();
    restore_into(&VAULT, &text, mode, &mut whole);

    let mut r = Restorer::with_mode(&*VAULT, mode);
    let mut streamed = String::new();
    let mut at = 0;
    for &l in lens.iter().cycle().take(lens.len().max(1) * 64) {
        if at >= text.len() {
            break;
        }
        let mut end = (at + usize::from(l.max(1))).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        streamed.push_str(&r.push(&text[at..end]));
        assert!(r.held() < PLACEHOLDER_MAX_LEN);
        at = end;
    }
    streamed.push_str(&r.push(&text[at..]));
    streamed.push_str(&r.finish());
    assert_eq!(streamed, whole);
});
