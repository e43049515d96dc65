//! Failure counters with exponential back-off, per account and per source address.
//!
//! Why both: a per-account counter stops guessing one password, a
//! per-address counter stops spraying one password across many accounts.
//! Why back-off rather than a permanent lock: a permanent lock lets anyone
//! lock a clinician out of the system during a shift.

use std::time::Duration;

use time::OffsetDateTime;

use crate::Error;
use crate::clock::to_time;
use crate::repo::{IdentityRepository, LockoutKey, LockoutState};

/// Thresholds and delays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failures per account before back-off starts (default 5).
    pub account_threshold: u32,
    /// Failures per source address before back-off starts (default 20).
    pub source_threshold: u32,
    /// First back-off delay; doubles with each further failure (default 30 s).
    pub base_delay: Duration,
    /// Longest back-off (default 1 h).
    pub max_delay: Duration,
    /// A counter with no failure for this long starts over (default 24 h).
    pub reset_after: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            account_threshold: 5,
            source_threshold: 20,
            base_delay: Duration::from_secs(30),
            max_delay: Duration::from_secs(3600),
            reset_after: Duration::from_secs(24 * 3600),
        }
    }
}

impl LockoutPolicy {
    fn threshold(&self, key: &LockoutKey) -> u32 {
        match key {
            LockoutKey::Account(_) => self.account_threshold,
            _ => self.source_threshold,
        }
    }

    /// The back-off after `failures` failures against a key with `threshold`.
    pub fn delay_after(&self, failures: u32, threshold: u32) -> Option<Duration> {
        if failures < threshold {
            return None;
        }
        let doublings = (failures - threshold).min(30);
        let delay = self.base_delay.saturating_mul(1u32 << doublings);
        Some(delay.min(self.max_delay))
    }

    /// Refuses the attempt if any of `keys` is in back-off at `now`.
    pub fn check(&self, repo: &dyn IdentityRepository, keys: &[LockoutKey], now: OffsetDateTime) -> Result<(), Error> {
        let mut wait: i64 = 0;
        for key in keys {
            if let Some(state) = repo.lockout(key)?
                && let Some(until) = state.locked_until
                && until > now
            {
                wait = wait.max((until - now).whole_seconds().max(1));
            }
        }
        if wait > 0 {
            return Err(Error::LockedOut { retry_after_secs: u64::try_from(wait).unwrap_or(u64::MAX) });
        }
        Ok(())
    }

    /// Counts one failure against each key and sets its back-off.
    pub fn record_failure(
        &self,
        repo: &dyn IdentityRepository,
        keys: &[LockoutKey],
        now: OffsetDateTime,
    ) -> Result<(), Error> {
        for key in keys {
            let previous = repo.lockout(key)?.filter(|s| now - s.last_failure < to_time(self.reset_after));
            let failures = previous.map_or(0, |s| s.failures).saturating_add(1);
            let locked_until = self.delay_after(failures, self.threshold(key)).map(|d| now + to_time(d));
            repo.set_lockout(key, Some(&LockoutState { failures, last_failure: now, locked_until }))?;
        }
        Ok(())
    }

    /// Clears the counters after a complete successful sign-in.
    pub fn record_success(&self, repo: &dyn IdentityRepository, keys: &[LockoutKey]) -> Result<(), Error> {
        for key in keys {
            repo.set_lockout(key, None)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_doubles_and_caps() {
        let p = LockoutPolicy::default();
        assert_eq!(p.delay_after(4, 5), None);
        assert_eq!(p.delay_after(5, 5), Some(Duration::from_secs(30)));
        assert_eq!(p.delay_after(6, 5), Some(Duration::from_secs(60)));
        assert_eq!(p.delay_after(8, 5), Some(Duration::from_secs(240)));
        assert_eq!(p.delay_after(50, 5), Some(Duration::from_secs(3600)));
    }
}
