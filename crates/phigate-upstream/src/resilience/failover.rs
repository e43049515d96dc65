//! Ordered failover over endpoints, with per-endpoint breakers and retries.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::StatusCode;

use super::breaker::{BreakerConfig, CircuitBreaker, Permit};
use super::retry::{RetryPolicy, jitter};
use super::{Clock, SystemClock};
use crate::client::{UpstreamClient, UpstreamResponse};
use crate::endpoint::{Endpoint, EndpointId};
use crate::error::{AttemptFailure, Error, FailoverFailure, TimeoutPhase};

/// A successful answer and how it was obtained (for the audit record).
#[derive(Debug)]
pub struct Answered {
    /// The answer.
    pub response: UpstreamResponse,
    /// The endpoint that gave it.
    pub endpoint: EndpointId,
    /// Requests sent in total, this one included, over all endpoints.
    pub attempts: u32,
    /// Time from the first attempt to these response headers (backoff included).
    pub elapsed: Duration,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Retry the same endpoint (if the policy allows), else move on.
    Retry(Option<Duration>),
    /// Move to the next endpoint.
    MoveOn,
    /// Give up: the request itself was refused, or cannot be sent anywhere.
    Stop,
}

/// How a failed attempt counts for the endpoint's breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Health {
    Failed,
    Answered,
    Neutral,
}

fn classify(error: &Error) -> (Next, Health) {
    match error {
        Error::Connect { .. } | Error::Timeout { phase: TimeoutPhase::Connect | TimeoutPhase::Headers, .. } => {
            (Next::Retry(None), Health::Failed)
        }
        Error::Status { status, retry_after, .. } => match *status {
            StatusCode::TOO_MANY_REQUESTS => (Next::Retry(*retry_after), Health::Neutral),
            StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => {
                (Next::Retry(*retry_after), Health::Failed)
            }
            s if s.is_server_error() => (Next::MoveOn, Health::Failed),
            _ => (Next::Stop, Health::Answered),
        },
        Error::Protocol { .. } | Error::Timeout { .. } | Error::StreamInterrupted { .. } => {
            (Next::MoveOn, Health::Failed)
        }
        // This endpoint's configuration: another may be fine.
        Error::PlainHttpRefused { .. } | Error::InvalidBaseUrl { .. } => (Next::MoveOn, Health::Neutral),
        _ => (Next::Stop, Health::Neutral),
    }
}

/// Sends a request to the first endpoint that answers.
pub struct Failover {
    client: UpstreamClient,
    retry: RetryPolicy,
    breaker_config: BreakerConfig,
    clock: Arc<dyn Clock>,
    breakers: Mutex<HashMap<EndpointId, Arc<CircuitBreaker>>>,
}

impl std::fmt::Debug for Failover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Failover")
            .field("retry", &self.retry)
            .field("breaker_config", &self.breaker_config)
            .finish_non_exhaustive()
    }
}

impl Failover {
    /// Failover with the system clock.
    pub fn new(client: UpstreamClient, retry: RetryPolicy, breaker: BreakerConfig) -> Self {
        Self::with_clock(client, retry, breaker, Arc::new(SystemClock))
    }

    /// Failover with an injected clock for the breakers.
    pub fn with_clock(
        client: UpstreamClient,
        retry: RetryPolicy,
        breaker: BreakerConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { client, retry, breaker_config: breaker, clock, breakers: Mutex::new(HashMap::new()) }
    }

    /// The breaker of an endpoint (created closed on first use). Breakers are
    /// keyed by endpoint id and live as long as this `Failover`.
    pub fn breaker(&self, endpoint: &EndpointId) -> Arc<CircuitBreaker> {
        // The map only grows by whole entries: a poisoned lock is still consistent.
        let mut breakers = self.breakers.lock().unwrap_or_else(|p| p.into_inner());
        breakers
            .entry(endpoint.clone())
            .or_insert_with(|| Arc::new(CircuitBreaker::new(self.breaker_config, self.clock.clone())))
            .clone()
    }

    /// Tries `endpoints` in order: endpoints whose breaker is open are skipped;
    /// each is retried per the [`RetryPolicy`] while the failure is retryable
    /// (see the [module docs](crate::resilience)). Returns the first answer, or
    /// [`Error::Failover`] listing every attempt.
    pub async fn send(&self, endpoints: &[Endpoint], path: &str, body: Bytes, stream: bool) -> Result<Answered, Error> {
        let started = Instant::now();
        let mut attempts = 0u32;
        let mut failures = Vec::new();
        let mut last = None;
        for endpoint in endpoints {
            let breaker = self.breaker(endpoint.id());
            let mut retry = 0u32;
            loop {
                let Some(permit) = breaker.try_acquire() else {
                    failures.push(AttemptFailure {
                        endpoint: endpoint.id().clone(),
                        code: "circuit_open",
                        status: None,
                    });
                    break;
                };
                attempts += 1;
                let error = match self.client.send(endpoint, path, body.clone(), stream).await {
                    Ok(response) => {
                        permit.success();
                        return Ok(Answered {
                            response,
                            endpoint: endpoint.id().clone(),
                            attempts,
                            elapsed: started.elapsed(),
                        });
                    }
                    Err(error) => error,
                };
                let (next, health) = classify(&error);
                report(permit, health);
                failures.push(AttemptFailure::from_error(endpoint.id(), &error));
                last = Some(error);
                match next {
                    Next::Stop => return Err(give_up(attempts, failures, last)),
                    Next::MoveOn => break,
                    Next::Retry(retry_after) => {
                        if retry + 1 >= self.retry.max_attempts {
                            break;
                        }
                        let Some(wait) = self.retry.delay(retry, retry_after, jitter()) else { break };
                        tokio::time::sleep(wait).await;
                        retry += 1;
                    }
                }
            }
        }
        Err(give_up(attempts, failures, last))
    }
}

fn report(permit: Permit<'_>, health: Health) {
    match health {
        Health::Failed => permit.failure(),
        Health::Answered => permit.success(),
        Health::Neutral => permit.neutral(),
    }
}

fn give_up(attempts: u32, failures: Vec<AttemptFailure>, last: Option<Error>) -> Error {
    Error::Failover(Box::new(FailoverFailure { attempts, failures, last }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorBody;

    fn status(code: u16) -> Error {
        Error::Status {
            endpoint: EndpointId::new("e"),
            status: StatusCode::from_u16(code).unwrap(),
            retry_after: None,
            body: ErrorBody::default(),
        }
    }

    #[test]
    fn classification() {
        assert_eq!(classify(&status(503)), (Next::Retry(None), Health::Failed));
        assert_eq!(classify(&status(429)), (Next::Retry(None), Health::Neutral));
        assert_eq!(classify(&status(500)), (Next::MoveOn, Health::Failed));
        assert_eq!(classify(&status(400)), (Next::Stop, Health::Answered));
        assert_eq!(classify(&status(401)), (Next::Stop, Health::Answered));
        let e = EndpointId::new("e");
        assert_eq!(
            classify(&Error::Timeout { endpoint: e.clone(), phase: TimeoutPhase::Headers }),
            (Next::Retry(None), Health::Failed)
        );
        assert_eq!(
            classify(&Error::Timeout { endpoint: e.clone(), phase: TimeoutPhase::Read }),
            (Next::MoveOn, Health::Failed)
        );
        assert_eq!(classify(&Error::BodyTooLarge { endpoint: e, limit: 1 }), (Next::Stop, Health::Neutral));
    }
}
