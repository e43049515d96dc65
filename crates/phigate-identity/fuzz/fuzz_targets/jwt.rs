//! Any bytes: JWT parsing and JWKS parsing never panic, and a token that
//! parses has a supported algorithm (never `none`, never HMAC).
//!
//! `cargo +nightly fuzz run jwt` from `crates/phigate-identity`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phigate_identity::jwt::{Algorithm, JwkSet, decode_unverified};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(t) = decode_unverified(&text) {
        assert!(matches!(t.algorithm, Algorithm::Rs256 | Algorithm::Es256 | Algorithm::EdDsa));
    }
    let _ = JwkSet::parse(data);
});
