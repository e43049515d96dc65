//! Any text: the policy parser never panics, and every error names a key path.
//!
//! `cargo +nightly fuzz run policy_file` from `crates/phigate-policy`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phigate_policy::{Error, Policy};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match Policy::from_toml(&text) {
        Ok(_) | Err(Error::Parse { .. }) => {}
        Err(Error::Invalid { path, .. }) => assert!(!path.is_empty()),
        Err(_) => {}
    }
});
