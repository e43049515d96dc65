//! A breaker opens after N failures, stops traffic to the endpoint, and
//! recovers through one trial request after the cool-down (clock stepped).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use phigate_upstream::{BreakerConfig, BreakerState, Error, Failover, ManualClock, RetryPolicy};
use phigate_upstream_stub::StubConfig;

use crate::harness::{self, chat_body, client, endpoint};

#[tokio::test]
async fn opens_after_n_failures_skips_the_endpoint_and_recovers() {
    let healthy = Arc::new(AtomicBool::new(false));
    let hits = Arc::new(AtomicU32::new(0));
    let (h, n) = (healthy.clone(), hits.clone());
    let router = Router::new().route(
        "/v1/chat/completions",
        post(move || {
            n.fetch_add(1, Ordering::SeqCst);
            let ok = h.load(Ordering::SeqCst);
            async move { if ok { (StatusCode::OK, "{}") } else { (StatusCode::SERVICE_UNAVAILABLE, "{}") } }
        }),
    );
    let flaky = endpoint("flaky", harness::spawn(router).await);
    let backup_stub = harness::stub(StubConfig::default()).await;
    let backup = endpoint("backup", backup_stub.addr());

    let clock = Arc::new(ManualClock::new());
    let failover = Failover::with_clock(
        client(),
        RetryPolicy::no_retry(),
        BreakerConfig::new(3, Duration::from_secs(30)),
        clock.clone(),
    );
    let endpoints = [flaky.clone(), backup];
    let breaker = failover.breaker(flaky.id());

    for _ in 0..3 {
        let answered = failover.send(&endpoints, "/chat/completions", chat_body("x", false), false).await.unwrap();
        assert_eq!(answered.endpoint.as_str(), "backup");
        assert_eq!(answered.attempts, 2);
    }
    assert_eq!(breaker.state(), BreakerState::Open);
    assert_eq!(hits.load(Ordering::SeqCst), 3);

    // Open: the flaky endpoint is skipped without a request.
    let answered = failover.send(&endpoints, "/chat/completions", chat_body("x", false), false).await.unwrap();
    assert_eq!(answered.endpoint.as_str(), "backup");
    assert_eq!(answered.attempts, 1);
    assert_eq!(hits.load(Ordering::SeqCst), 3);
    let err = failover.send(&endpoints[..1], "/chat/completions", chat_body("x", false), false).await.unwrap_err();
    let Error::Failover(failure) = &err else { panic!("{err:?}") };
    assert_eq!(failure.attempts, 0);
    assert_eq!(err.to_string(), "no upstream endpoint answered after 0 attempt(s): flaky: circuit_open");

    // Cool-down over, still failing: the one trial re-opens it.
    clock.advance(Duration::from_secs(30));
    assert_eq!(breaker.state(), BreakerState::HalfOpen);
    failover.send(&endpoints, "/chat/completions", chat_body("x", false), false).await.unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 4);
    assert_eq!(breaker.state(), BreakerState::Open);

    // Recovered backend: the next trial closes it and traffic returns.
    healthy.store(true, Ordering::SeqCst);
    clock.advance(Duration::from_secs(30));
    let answered = failover.send(&endpoints, "/chat/completions", chat_body("x", false), false).await.unwrap();
    assert_eq!(answered.endpoint.as_str(), "flaky");
    assert_eq!(breaker.state(), BreakerState::Closed);
    let answered = failover.send(&endpoints, "/chat/completions", chat_body("x", false), false).await.unwrap();
    assert_eq!(answered.endpoint.as_str(), "flaky");
    assert_eq!(hits.load(Ordering::SeqCst), 6);
}
