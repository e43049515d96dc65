//! phigate-upstream against real local servers on 127.0.0.1: the stub vendor
//! (`phigate-upstream-stub`) for the happy paths, small axum servers for each
//! failure mode, and one server over real TLS.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod breaker;
mod failover;
mod harness;
mod sse_props;
mod streaming;
mod stub;
mod tls;
