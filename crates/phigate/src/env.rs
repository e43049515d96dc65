//! The process environment, read only here (the libraries take an `EnvSource`).

use phigate_config::EnvSource;

/// Reads the real process environment.
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}
