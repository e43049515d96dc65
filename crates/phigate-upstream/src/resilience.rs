//! Surviving a backend that fails: circuit breakers, retries, failover.
//!
//! - [`CircuitBreaker`]: closed → open after N consecutive failures; after a
//!   cool-down, half-open with exactly one trial request; the trial's outcome
//!   closes or re-opens it. The clock is injected ([`Clock`]) so tests step
//!   time instead of sleeping.
//! - [`RetryPolicy`]: capped exponential backoff with jitter, `Retry-After`
//!   honoured up to a cap.
//! - [`Failover`]: an ordered list of endpoints, tried in order, skipping
//!   open breakers, retrying each per the policy.
//!
//! What is retried, and why: only failures before any response byte reached
//! the caller, so a retry can never duplicate or splice output the caller
//! has seen. Connect errors and timeouts before headers, 502/503/504 and 429
//! are retried on the same endpoint; other 5xx and protocol failures move on
//! to the next endpoint at once; any other 4xx stops (the request itself is
//! refused, and another backend would refuse it too). A stream that fails
//! after it started is the caller's error to report, never retried.

mod breaker;
mod failover;
mod retry;

use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use breaker::{BreakerConfig, BreakerState, CircuitBreaker, Permit};
pub use failover::{Answered, Failover};
pub use retry::RetryPolicy;

/// A monotonic clock, injected so breaker tests can step time.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> Instant;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told to (for tests, here and in other crates).
#[derive(Debug)]
pub struct ManualClock {
    start: Instant,
    offset: Mutex<Duration>,
}

impl Default for ManualClock {
    fn default() -> Self {
        Self { start: Instant::now(), offset: Mutex::new(Duration::ZERO) }
    }
}

impl ManualClock {
    /// A clock stopped at the current instant.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        // The offset is a plain value: a poisoned lock still holds a valid one.
        let mut offset = self.offset.lock().unwrap_or_else(|p| p.into_inner());
        *offset += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.start + *self.offset.lock().unwrap_or_else(|p| p.into_inner())
    }
}
