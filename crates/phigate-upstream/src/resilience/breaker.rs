//! A consecutive-failure circuit breaker with a single half-open trial.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::Clock;

/// When a breaker opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BreakerConfig {
    /// Consecutive failures that open the breaker (at least 1).
    pub failure_threshold: u32,
    /// How long it stays open before allowing one trial request.
    pub cool_down: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self { failure_threshold: 5, cool_down: Duration::from_secs(30) }
    }
}

impl BreakerConfig {
    /// A breaker config with the given threshold and cool-down.
    pub fn new(failure_threshold: u32, cool_down: Duration) -> Self {
        Self { failure_threshold: failure_threshold.max(1), cool_down }
    }
}

/// What a breaker currently allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BreakerState {
    /// Requests flow; failures are being counted.
    Closed,
    /// Requests are refused until the cool-down ends.
    Open,
    /// The cool-down ended: one trial request decides (or is deciding).
    HalfOpen,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { trial_in_flight: bool },
}

/// One endpoint's breaker. Thread-safe; never held across an await.
pub struct CircuitBreaker {
    config: BreakerConfig,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker").field("config", &self.config).field("state", &self.state()).finish()
    }
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(config: BreakerConfig, clock: Arc<dyn Clock>) -> Self {
        Self { config, clock, state: Mutex::new(State::Closed { failures: 0 }) }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is a small Copy value updated in one assignment: a
        // poisoned lock still holds a consistent state.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current state (an open breaker whose cool-down ended reports `HalfOpen`).
    pub fn state(&self) -> BreakerState {
        match *self.lock() {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { until } if self.clock.now() < until => BreakerState::Open,
            State::Open { .. } | State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Asks to send one request. `None` while open, or while half-open with the
    /// trial already in flight. Report the outcome on the permit; dropping it
    /// unreported is neutral (a dropped trial lets the next caller try).
    pub fn try_acquire(&self) -> Option<Permit<'_>> {
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => Some(Permit { breaker: self, trial: false, settled: false }),
            State::Open { until } => {
                if self.clock.now() < until {
                    return None;
                }
                *state = State::HalfOpen { trial_in_flight: true };
                Some(Permit { breaker: self, trial: true, settled: false })
            }
            State::HalfOpen { trial_in_flight: true } => None,
            State::HalfOpen { trial_in_flight: false } => {
                *state = State::HalfOpen { trial_in_flight: true };
                Some(Permit { breaker: self, trial: true, settled: false })
            }
        }
    }

    fn on_success(&self, trial: bool) {
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => *state = State::Closed { failures: 0 },
            State::HalfOpen { .. } if trial => *state = State::Closed { failures: 0 },
            // A request let through before the breaker opened does not decide.
            State::HalfOpen { .. } | State::Open { .. } => {}
        }
    }

    fn on_failure(&self, trial: bool) {
        let mut state = self.lock();
        let open = State::Open { until: self.clock.now() + self.config.cool_down };
        match *state {
            State::Closed { failures } => {
                let failures = failures + 1;
                *state = if failures >= self.config.failure_threshold { open } else { State::Closed { failures } };
            }
            State::HalfOpen { .. } if trial => *state = open,
            State::HalfOpen { .. } | State::Open { .. } => {}
        }
    }

    fn on_release(&self, trial: bool) {
        let mut state = self.lock();
        if trial && matches!(*state, State::HalfOpen { .. }) {
            *state = State::HalfOpen { trial_in_flight: false };
        }
    }
}

/// Leave to send one request through a breaker; report how it went.
#[must_use = "report the outcome with success() or failure()"]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    trial: bool,
    settled: bool,
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").field("trial", &self.trial).finish()
    }
}

impl Permit<'_> {
    /// Whether this is the half-open trial.
    pub fn is_trial(&self) -> bool {
        self.trial
    }

    /// The endpoint answered: resets the failure count, closes a half-open breaker.
    pub fn success(mut self) {
        self.settled = true;
        self.breaker.on_success(self.trial);
    }

    /// The endpoint failed: counts towards opening; re-opens a half-open breaker.
    pub fn failure(mut self) {
        self.settled = true;
        self.breaker.on_failure(self.trial);
    }

    /// Neither (e.g. a 429): changes nothing, frees the trial slot.
    pub fn neutral(self) {}
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.breaker.on_release(self.trial);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;

    fn breaker(threshold: u32) -> (Arc<ManualClock>, CircuitBreaker) {
        let clock = Arc::new(ManualClock::new());
        let b = CircuitBreaker::new(BreakerConfig::new(threshold, Duration::from_secs(10)), clock.clone());
        (clock, b)
    }

    #[test]
    fn opens_after_consecutive_failures_only() {
        let (_, b) = breaker(3);
        b.try_acquire().unwrap().failure();
        b.try_acquire().unwrap().failure();
        b.try_acquire().unwrap().success();
        b.try_acquire().unwrap().failure();
        b.try_acquire().unwrap().failure();
        assert_eq!(b.state(), BreakerState::Closed);
        b.try_acquire().unwrap().failure();
        assert_eq!(b.state(), BreakerState::Open);
        assert!(b.try_acquire().is_none());
    }

    #[test]
    fn half_open_allows_one_trial_that_decides() {
        let (clock, b) = breaker(1);
        b.try_acquire().unwrap().failure();
        clock.advance(Duration::from_secs(9));
        assert!(b.try_acquire().is_none());
        clock.advance(Duration::from_secs(1));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        let trial = b.try_acquire().unwrap();
        assert!(trial.is_trial());
        assert!(b.try_acquire().is_none(), "one trial at a time");
        trial.failure();
        assert_eq!(b.state(), BreakerState::Open, "a failed trial re-opens for a full cool-down");
        clock.advance(Duration::from_secs(10));
        b.try_acquire().unwrap().success();
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(!b.try_acquire().unwrap().is_trial());
    }

    #[test]
    fn a_dropped_trial_frees_the_slot() {
        let (clock, b) = breaker(1);
        b.try_acquire().unwrap().failure();
        clock.advance(Duration::from_secs(10));
        drop(b.try_acquire().unwrap());
        let trial = b.try_acquire().unwrap();
        trial.neutral();
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert!(b.try_acquire().is_some());
    }

    #[test]
    fn late_outcomes_of_pre_open_requests_do_not_decide() {
        let (clock, b) = breaker(1);
        let early = b.try_acquire().unwrap();
        b.try_acquire().unwrap().failure();
        clock.advance(Duration::from_secs(10));
        let trial = b.try_acquire().unwrap();
        early.success();
        assert_eq!(b.state(), BreakerState::HalfOpen);
        trial.success();
        assert_eq!(b.state(), BreakerState::Closed);
    }
}
