//! Per-caller token budgets: a token bucket per caller, refilled at
//! `tokens_per_minute` up to `burst`.
//!
//! A request reserves its estimated tokens up front ([`RateLimiter::try_acquire`])
//! and settles with the real usage when the answer is complete
//! ([`RateLimiter::settle`]): the difference is refunded or charged, and a
//! caller who used more than estimated goes into debt (a negative balance)
//! that delays their next request. A request larger than `burst` is admitted
//! when the bucket is full, reserving the whole bucket, so that large prompts
//! are slow rather than impossible.
//!
//! The clock is an argument (`now`), so tests need no sleeping. Memory is
//! bounded: at most `max_callers` buckets; a bucket that has refilled to full
//! carries no information and is dropped first, and when every bucket is
//! active the fullest one is dropped (the caller loses the least).
//!
//! Not thread-safe by itself: the server keeps it behind a mutex (every call
//! is O(1) except an eviction sweep, O(callers), only when the table is full).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::openai::{ChatRequest, Content, EmbeddingsRequest};

/// Budget settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Refill rate.
    pub tokens_per_minute: u32,
    /// Bucket capacity (the most a caller can spend at once after a pause).
    pub burst: u32,
    /// Most callers tracked at once.
    pub max_callers: usize,
}

/// The reservation of an admitted request; hand it back to
/// [`RateLimiter::settle`] with the actual usage.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "settle the permit with the actual usage"]
pub struct Permit {
    caller: String,
    reserved: u32,
}

impl Permit {
    /// Tokens reserved.
    pub fn reserved(&self) -> u32 {
        self.reserved
    }
}

/// A refused request: the caller may retry after this long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// Whole seconds, rounded up (for the `Retry-After` header and the
    /// OpenAI error message).
    pub fn secs(&self) -> u64 {
        self.0.as_secs() + u64::from(self.0.subsec_nanos() > 0)
    }
}

#[derive(Debug)]
struct Bucket {
    /// Balance in tokens; negative is debt.
    tokens: f64,
    last: Instant,
}

/// The per-caller token buckets.
#[derive(Debug)]
pub struct RateLimiter {
    limits: Limits,
    per_sec: f64,
    buckets: HashMap<String, Bucket>,
}

impl RateLimiter {
    /// A limiter with `limits` (a zero rate or burst admits nothing: fail closed).
    pub fn new(limits: Limits) -> Self {
        Self { limits, per_sec: f64::from(limits.tokens_per_minute) / 60.0, buckets: HashMap::new() }
    }

    /// Callers currently tracked.
    pub fn tracked(&self) -> usize {
        self.buckets.len()
    }

    /// Reserves `estimated` tokens for `caller` at `now`, or says how long to wait.
    pub fn try_acquire(&mut self, caller: &str, estimated: u32, now: Instant) -> Result<Permit, RetryAfter> {
        let burst = f64::from(self.limits.burst);
        if self.limits.burst == 0 || self.per_sec <= 0.0 {
            return Err(RetryAfter(Duration::from_secs(60)));
        }
        let cost = f64::from(estimated.min(self.limits.burst));
        let available = match self.buckets.get_mut(caller) {
            Some(b) => {
                refill(b, now, self.per_sec, burst);
                b.tokens
            }
            None => burst,
        };
        if available < cost {
            let wait = (cost - available) / self.per_sec;
            return Err(RetryAfter(Duration::from_secs_f64(wait.min(86_400.0))));
        }
        if !self.buckets.contains_key(caller) {
            self.make_room(now);
            self.buckets.insert(caller.to_owned(), Bucket { tokens: burst, last: now });
        }
        if let Some(b) = self.buckets.get_mut(caller) {
            b.tokens -= cost;
        }
        Ok(Permit { caller: caller.to_owned(), reserved: cost as u32 })
    }

    /// Settles a permit with the tokens actually used: refunds the unused
    /// part or charges the excess (possibly into debt). The balance never
    /// exceeds `burst`.
    pub fn settle(&mut self, permit: Permit, actual: u32, now: Instant) {
        let burst = f64::from(self.limits.burst);
        if let Some(b) = self.buckets.get_mut(&permit.caller) {
            refill(b, now, self.per_sec, burst);
            b.tokens = (b.tokens + f64::from(permit.reserved) - f64::from(actual)).min(burst);
        }
    }

    /// Drops buckets that have refilled to full (they carry no state).
    pub fn evict_idle(&mut self, now: Instant) {
        let (per_sec, burst) = (self.per_sec, f64::from(self.limits.burst));
        self.buckets.retain(|_, b| {
            refill(b, now, per_sec, burst);
            b.tokens < burst
        });
    }

    fn make_room(&mut self, now: Instant) {
        if self.buckets.len() < self.limits.max_callers.max(1) {
            return;
        }
        self.evict_idle(now);
        while self.buckets.len() >= self.limits.max_callers.max(1) {
            let fullest = self.buckets.iter().max_by(|a, b| a.1.tokens.total_cmp(&b.1.tokens)).map(|(k, _)| k.clone());
            match fullest {
                Some(k) => {
                    self.buckets.remove(&k);
                }
                None => break,
            }
        }
    }
}

fn refill(b: &mut Bucket, now: Instant, per_sec: f64, burst: f64) {
    let dt = now.saturating_duration_since(b.last).as_secs_f64();
    b.tokens = (b.tokens + dt * per_sec).min(burst);
    b.last = b.last.max(now);
}

/// Estimated tokens of a chat request: one token per 4 characters of every
/// text the model reads (message content, tool-call arguments, tool
/// definitions as JSON), 4 tokens of framing per message, plus the completion
/// budget the client asked for (`max_completion_tokens` or `max_tokens`,
/// times `n`). The 4-characters rule is OpenAI's published rule of thumb for
/// English; it overestimates for most clinical text rather than under, and
/// [`RateLimiter::settle`] corrects with the real usage anyway.
pub fn estimate_tokens(req: &ChatRequest) -> u32 {
    let mut chars: u64 = 0;
    for m in &req.messages {
        chars += match &m.content {
            Some(Content::Text(t)) => t.chars().count() as u64,
            Some(Content::Parts(p)) => p.iter().filter_map(|p| p.text()).map(|t| t.chars().count() as u64).sum(),
            None => 0,
        };
        for c in m.tool_calls.iter().flatten() {
            chars += (c.function.name.len() + c.function.arguments.chars().count()) as u64;
        }
    }
    if let Some(tools) = &req.tools {
        chars += serde_json::to_string(tools).map_or(0, |s| s.len() as u64);
    }
    let prompt = chars.div_ceil(4) + 4 * req.messages.len() as u64;
    let completion =
        u64::from(req.max_completion_tokens.or(req.max_tokens).unwrap_or(0)) * u64::from(req.n.unwrap_or(1));
    u32::try_from(prompt + completion).unwrap_or(u32::MAX)
}

/// Estimated tokens of an embeddings request: characters / 4, rounded up.
pub fn estimate_embedding_tokens(req: &EmbeddingsRequest) -> u32 {
    let chars: u64 = req.input.texts().map(|t| t.chars().count() as u64).sum();
    u32::try_from(chars.div_ceil(4)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openai::parse_chat_request;

    fn limiter(tpm: u32, burst: u32, max: usize) -> RateLimiter {
        RateLimiter::new(Limits { tokens_per_minute: tpm, burst, max_callers: max })
    }

    #[test]
    fn bucket_refills_at_the_rate() {
        let t0 = Instant::now();
        let mut rl = limiter(600, 100, 10); // 10 tokens per second
        let p = rl.try_acquire("a", 100, t0).unwrap();
        assert_eq!(p.reserved(), 100);
        let wait = rl.try_acquire("a", 50, t0).unwrap_err();
        assert_eq!(wait, RetryAfter(Duration::from_secs(5)));
        assert_eq!(wait.secs(), 5);
        assert!(rl.try_acquire("a", 50, t0 + Duration::from_secs(4)).is_err());
        assert!(rl.try_acquire("a", 50, t0 + Duration::from_secs(5)).is_ok());
        assert!(rl.try_acquire("b", 100, t0).is_ok(), "callers are independent");
        rl.settle(p, 100, t0);
    }

    #[test]
    fn settle_refunds_and_charges() {
        let t0 = Instant::now();
        let mut rl = limiter(60, 100, 10); // 1 token per second
        let p = rl.try_acquire("a", 80, t0).unwrap();
        rl.settle(p, 30, t0);
        assert!(rl.try_acquire("a", 70, t0).is_ok(), "50 refunded");
        let mut rl = limiter(60, 100, 10);
        let p = rl.try_acquire("a", 10, t0).unwrap();
        rl.settle(p, 150, t0); // 100 - 150 = -50 of debt
        assert_eq!(rl.try_acquire("a", 10, t0).unwrap_err(), RetryAfter(Duration::from_secs(60)));
        let p = rl.try_acquire("a", 1, t0).unwrap_err();
        assert_eq!(p.secs(), 51);
    }

    #[test]
    fn requests_larger_than_burst_pass_on_a_full_bucket_only() {
        let t0 = Instant::now();
        let mut rl = limiter(60, 100, 10);
        let p = rl.try_acquire("a", 5000, t0).unwrap();
        assert_eq!(p.reserved(), 100);
        assert!(rl.try_acquire("a", 5000, t0 + Duration::from_secs(10)).is_err());
        rl.settle(p, 5000, t0);
        let wait = rl.try_acquire("a", 1, t0).unwrap_err();
        assert!(wait.0 > Duration::from_secs(4000), "the excess becomes debt: {wait:?}");
    }

    #[test]
    fn memory_is_bounded_and_idle_callers_go_first() {
        let t0 = Instant::now();
        let mut rl = limiter(60, 100, 3);
        for c in ["a", "b", "c"] {
            let _ = rl.try_acquire(c, 50, t0).unwrap();
        }
        // "a" refills completely after 50 s; the others spend more.
        let later = t0 + Duration::from_secs(50);
        let _ = rl.try_acquire("b", 90, later).unwrap();
        let _ = rl.try_acquire("c", 90, later).unwrap();
        let _ = rl.try_acquire("d", 10, later).unwrap();
        assert_eq!(rl.tracked(), 3);
        assert!(rl.buckets.contains_key("b") && rl.buckets.contains_key("c") && rl.buckets.contains_key("d"));
        // All active: the fullest is dropped.
        let _ = rl.try_acquire("e", 95, later).unwrap();
        assert_eq!(rl.tracked(), 3);
        assert!(!rl.buckets.contains_key("d"), "d had the most tokens left");
        rl.evict_idle(later + Duration::from_secs(1000));
        assert_eq!(rl.tracked(), 0);
    }

    #[test]
    fn zero_limits_fail_closed_and_clock_going_back_is_harmless() {
        let t0 = Instant::now();
        assert!(limiter(0, 100, 10).try_acquire("a", 1, t0).is_err());
        assert!(limiter(100, 0, 10).try_acquire("a", 1, t0).is_err());
        let mut rl = limiter(60, 10, 10);
        let _ = rl.try_acquire("a", 10, t0 + Duration::from_secs(5)).unwrap();
        assert!(rl.try_acquire("a", 1, t0).is_err(), "an earlier instant refills nothing");
    }

    #[test]
    fn estimates_follow_the_documented_rule() {
        let req = parse_chat_request(
            br#"{"model":"m","max_tokens":100,"n":2,"messages":[
                {"role":"system","content":"12345678"},
                {"role":"user","content":[{"type":"text","text":"abcd"},{"type":"image_url","image_url":{"url":"x"}}]},
                {"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"fn","arguments":"{}"}}]}]}"#,
        )
        .unwrap();
        // chars 8 + 4 + (2 + 2) = 16 -> 4 tokens; 3 messages * 4; completion 100 * 2.
        assert_eq!(estimate_tokens(&req), 4 + 12 + 200);
        let e = crate::openai::parse_embeddings_request(r#"{"model":"e","input":["abcde","ü"]}"#.as_bytes()).unwrap();
        assert_eq!(estimate_embedding_tokens(&e), 2);
    }
}
