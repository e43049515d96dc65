//! Retries and failover against servers that fail in each way that matters.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::http::header::RETRY_AFTER;
use axum::routing::post;
use phigate_upstream::{BreakerConfig, Error, Failover, RetryPolicy, TimeoutPhase};
use phigate_upstream_stub::StubConfig;

use crate::harness::{self, chat_body, client, completion_text, endpoint};

fn fast_retries(attempts: u32) -> RetryPolicy {
    RetryPolicy::new(attempts, Duration::from_millis(5), Duration::from_millis(20))
}

fn failover(retry: RetryPolicy) -> Failover {
    Failover::new(client(), retry, BreakerConfig::default())
}

/// A server answering `status` (with optional Retry-After) and counting hits.
async fn failing(status: StatusCode, retry_after: Option<&'static str>) -> (std::net::SocketAddr, Arc<AtomicU32>) {
    let hits = Arc::new(AtomicU32::new(0));
    let counter = hits.clone();
    let router = Router::new().route(
        "/v1/chat/completions",
        post(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async move {
                let mut response = axum::response::Response::new(axum::body::Body::from("{\"error\":\"down\"}"));
                *response.status_mut() = status;
                if let Some(value) = retry_after {
                    response.headers_mut().insert(RETRY_AFTER, value.parse().unwrap());
                }
                response
            }
        }),
    );
    (harness::spawn(router).await, hits)
}

#[tokio::test]
async fn a_503_then_success_is_retried_on_the_same_endpoint() {
    let stub = harness::stub(StubConfig::default().with_fail_first(1)).await;
    let answered = failover(fast_retries(3))
        .send(&[endpoint("stub", stub.addr())], "/chat/completions", chat_body("again", false), false)
        .await
        .unwrap();
    assert_eq!(answered.endpoint.as_str(), "stub");
    assert_eq!(answered.attempts, 2);
    assert_eq!(completion_text(answered.response), "echo: again");
    assert_eq!(stub.requests(), 2);
}

#[tokio::test]
async fn connection_refused_fails_over_to_the_second_endpoint() {
    let dead = harness::refused_addr().await;
    let stub = harness::stub(StubConfig::default()).await;
    let endpoints = [endpoint("dead", dead), endpoint("stub", stub.addr())];
    let answered =
        failover(fast_retries(2)).send(&endpoints, "/chat/completions", chat_body("hi", false), false).await.unwrap();
    assert_eq!(answered.endpoint.as_str(), "stub");
    assert_eq!(answered.attempts, 3, "two tries on the dead endpoint, one on the stub");
    assert_eq!(completion_text(answered.response), "echo: hi");
}

#[tokio::test]
async fn slow_headers_time_out_and_fail_over() {
    let slow = harness::stub(StubConfig::default().with_delay(Duration::from_secs(3))).await;
    let fast = harness::stub(StubConfig::default()).await;
    let slow_ep = endpoint("slow", slow.addr()).with_request_timeout(Duration::from_millis(200));

    let started = Instant::now();
    let err = client().send(&slow_ep, "/chat/completions", chat_body("x", false), false).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { phase: TimeoutPhase::Headers, .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));

    let answered = failover(RetryPolicy::no_retry())
        .send(&[slow_ep, endpoint("fast", fast.addr())], "/chat/completions", chat_body("x", false), false)
        .await
        .unwrap();
    assert_eq!(answered.endpoint.as_str(), "fast");
    assert_eq!(answered.attempts, 2);
}

#[tokio::test]
async fn every_endpoint_failing_lists_each_attempt() {
    let (a, _) = failing(StatusCode::BAD_GATEWAY, None).await;
    let (b, _) = failing(StatusCode::INTERNAL_SERVER_ERROR, None).await;
    let err = failover(fast_retries(2))
        .send(&[endpoint("a", a), endpoint("b", b)], "/chat/completions", chat_body("x", false), false)
        .await
        .unwrap_err();
    let Error::Failover(failure) = &err else { panic!("{err:?}") };
    assert_eq!(failure.attempts, 3, "502 is retried, 500 moves on");
    assert_eq!(
        err.to_string(),
        "no upstream endpoint answered after 3 attempt(s): a: upstream_status 502; a: upstream_status 502; b: upstream_status 500"
    );
    assert_eq!(err.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
    assert!(!format!("{err:?}").contains("down"), "bodies are never printed");
}

#[tokio::test]
async fn a_4xx_stops_without_trying_other_endpoints() {
    let (bad, _) = failing(StatusCode::BAD_REQUEST, None).await;
    let (other, other_hits) = failing(StatusCode::SERVICE_UNAVAILABLE, None).await;
    let err = failover(fast_retries(3))
        .send(&[endpoint("bad", bad), endpoint("other", other)], "/chat/completions", chat_body("x", false), false)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::BAD_REQUEST));
    let Error::Failover(failure) = &err else { panic!() };
    assert_eq!(failure.attempts, 1);
    assert_eq!(other_hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn retry_after_is_honoured_up_to_the_cap() {
    let (limited, hits) = failing(StatusCode::TOO_MANY_REQUESTS, Some("1")).await;
    let started = Instant::now();
    let err = failover(fast_retries(2))
        .send(&[endpoint("limited", limited)], "/chat/completions", chat_body("x", false), false)
        .await
        .unwrap_err();
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert!(started.elapsed() >= Duration::from_secs(1), "waited as asked");
    assert_eq!(err.status(), Some(StatusCode::TOO_MANY_REQUESTS));

    // Asking for longer than the cap: not waited for, the next endpoint answers at once.
    let (slow_down, slow_hits) = failing(StatusCode::SERVICE_UNAVAILABLE, Some("120")).await;
    let stub = harness::stub(StubConfig::default()).await;
    let started = Instant::now();
    let answered = failover(fast_retries(3).with_max_retry_after(Duration::from_secs(5)))
        .send(
            &[endpoint("busy", slow_down), endpoint("stub", stub.addr())],
            "/chat/completions",
            chat_body("x", false),
            false,
        )
        .await
        .unwrap();
    assert_eq!(answered.endpoint.as_str(), "stub");
    assert_eq!(slow_hits.load(Ordering::SeqCst), 1);
    assert!(started.elapsed() < Duration::from_secs(2));
}
