//! Integration tests of phigate-identity (one binary, one module per capability).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod jwt_attacks;
mod keys;
mod local_login;
mod oidc_e2e;
mod service_keys;
mod sessions;
