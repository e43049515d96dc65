//! Integration suite of the audit ledger: one binary, one harness.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod canary;
mod crash;
mod harness;
mod purge;
mod recovery;
mod rfc9162;
mod tamper;
