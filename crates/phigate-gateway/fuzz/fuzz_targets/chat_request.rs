//! Any bytes: parsing a chat or embeddings request never panics; what parses
//! serializes and parses back to the same value, and its Debug output
//! never panics.
//!
//! `cargo +nightly fuzz run chat_request` from `crates/phigate-gateway`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phigate_gateway::openai;
use phigate_gateway::ratelimit::estimate_tokens;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = openai::parse_chat_request(data) {
        let _ = format!("{req:?}");
        let _ = estimate_tokens(&req);
        let bytes = serde_json::to_vec(&req).expect("a parsed request serializes");
        let again = openai::parse_chat_request(&bytes).expect("a serialized request parses");
        // NaN-free by construction (JSON has no NaN), so equality holds.
        assert_eq!(again, req);
    }
    if let Ok(req) = openai::parse_embeddings_request(data) {
        let _ = format!("{req:?}");
    }
    let _ = openai::parse_chat_chunk(data);
    let _ = openai::parse_chat_response(data);
});
