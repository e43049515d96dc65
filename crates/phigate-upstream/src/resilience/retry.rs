//! Capped exponential backoff with jitter, and `Retry-After` up to a cap.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// How often and how patiently one endpoint is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Requests sent to one endpoint at most, the first included (1 = no retry).
    pub max_attempts: u32,
    /// Backoff before the first retry; doubles each retry.
    pub initial_backoff: Duration,
    /// Upper bound of the exponential backoff.
    pub max_backoff: Duration,
    /// Longest `Retry-After` honoured. A longer one is not waited for: the
    /// endpoint is left and the next one tried.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// A policy with the given attempts and backoff bounds (`max_retry_after`
    /// defaults to 10 s).
    pub fn new(max_attempts: u32, initial_backoff: Duration, max_backoff: Duration) -> Self {
        Self { max_attempts: max_attempts.max(1), initial_backoff, max_backoff, ..Self::default() }
    }

    /// One attempt per endpoint: failover only.
    pub fn no_retry() -> Self {
        Self { max_attempts: 1, ..Self::default() }
    }

    /// Sets the longest `Retry-After` honoured.
    pub fn with_max_retry_after(mut self, cap: Duration) -> Self {
        self.max_retry_after = cap;
        self
    }

    /// The wait before retry number `retry` (0 = the first retry), given the
    /// server's `Retry-After` and a jitter sample in `[0, 1)`. `None` means do
    /// not retry this endpoint: `Retry-After` asks for longer than the cap.
    ///
    /// Without `Retry-After`: "equal jitter", half the capped exponential
    /// backoff plus a random part of the other half, so synchronized clients
    /// spread out but never retry immediately. With it: exactly that long.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>, jitter: f64) -> Option<Duration> {
        if let Some(wait) = retry_after {
            return (wait <= self.max_retry_after).then_some(wait);
        }
        let factor = 2u32.saturating_pow(retry.min(31));
        let backoff = self.initial_backoff.saturating_mul(factor).min(self.max_backoff);
        let half = backoff / 2;
        Some(half + half.mul_f64(jitter.clamp(0.0, 1.0)))
    }
}

/// A jitter sample in `[0, 1)`. Not cryptographic, needs not be: std's
/// per-instance random hash keys are plenty to de-synchronize retries.
pub(crate) fn jitter() -> f64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u8(0);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::new(5, Duration::from_millis(100), Duration::from_secs(1));
        assert_eq!(p.delay(0, None, 0.0), Some(Duration::from_millis(50)));
        assert_eq!(p.delay(0, None, 1.0), Some(Duration::from_millis(100)));
        assert_eq!(p.delay(2, None, 0.0), Some(Duration::from_millis(200)));
        assert_eq!(p.delay(10, None, 1.0), Some(Duration::from_secs(1)));
        assert_eq!(p.delay(u32::MAX, None, 1.0), Some(Duration::from_secs(1)));
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let p = RetryPolicy::default().with_max_retry_after(Duration::from_secs(5));
        assert_eq!(p.delay(0, Some(Duration::from_secs(3)), 0.5), Some(Duration::from_secs(3)));
        assert_eq!(p.delay(0, Some(Duration::from_secs(6)), 0.5), None);
    }

    #[test]
    fn jitter_is_in_range_and_varies() {
        let samples: Vec<f64> = (0..64).map(|_| jitter()).collect();
        assert!(samples.iter().all(|j| (0.0..1.0).contains(j)));
        assert!(samples.windows(2).any(|w| w[0] != w[1]));
    }
}
