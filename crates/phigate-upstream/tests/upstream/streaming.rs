//! Streams that go wrong after they started: each ends with one typed error,
//! after the events that did arrive.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::response::Response;
use axum::routing::post;
use bytes::Bytes;
use futures_util::StreamExt;
use phigate_upstream::{ClientConfig, Error, TimeoutPhase, UpstreamClient};

use crate::harness::{self, chat_body, client, drain, endpoint, into_stream};

fn sse(body: Body) -> Response {
    Response::builder().header(CONTENT_TYPE, "text/event-stream").body(body).unwrap()
}

/// Serves `make()` as the event-stream answer to every chat request.
async fn serve_stream(make: fn() -> Body) -> std::net::SocketAddr {
    harness::spawn(Router::new().route("/v1/chat/completions", post(move || async move { sse(make()) }))).await
}

#[tokio::test]
async fn a_connection_cut_mid_stream_is_an_error_event() {
    let addr = serve_stream(|| {
        let parts = futures_util::stream::iter([
            Ok::<_, std::io::Error>(Bytes::from_static(b"data: {\"n\":1}\n\n")),
            Ok(Bytes::from_static(b"data: {\"n\":2}\n\ndata: {\"n\"")),
        ])
        .chain(futures_util::stream::once(async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Err(std::io::Error::other("backend crashed"))
        }));
        Body::from_stream(parts)
    })
    .await;
    let response = client().send(&endpoint("cut", addr), "/chat/completions", chat_body("x", true), true).await;
    let mut stream = into_stream(response.unwrap());
    let (events, error) = drain(&mut stream).await;
    assert_eq!(events.iter().map(|e| e.data.as_str()).collect::<Vec<_>>(), ["{\"n\":1}", "{\"n\":2}"]);
    let error = error.expect("an error event");
    assert!(matches!(error, Error::StreamInterrupted { .. }), "{error}");
    assert!(!stream.saw_done());
}

#[tokio::test]
async fn a_body_that_ends_inside_an_event_is_truncated() {
    let addr = serve_stream(|| Body::from("data: one\n\ndata: half an ev")).await;
    let response = client().send(&endpoint("trunc", addr), "/chat/completions", chat_body("x", true), true).await;
    let (events, error) = drain(&mut into_stream(response.unwrap())).await;
    assert_eq!(events.len(), 1);
    assert!(matches!(error, Some(Error::StreamTruncated { .. })), "{error:?}");
}

#[tokio::test]
async fn a_clean_end_without_done_is_a_normal_end() {
    let addr = serve_stream(|| Body::from(": hello\r\n\r\ndata: one\r\n\r\n")).await;
    let response = client().send(&endpoint("eof", addr), "/chat/completions", chat_body("x", true), true).await;
    let mut stream = into_stream(response.unwrap());
    let (events, error) = drain(&mut stream).await;
    assert_eq!(events.len(), 1);
    assert!(error.is_none());
    assert!(!stream.saw_done());
}

#[tokio::test]
async fn a_huge_event_is_a_bounded_error() {
    let addr = serve_stream(|| {
        let mut body = b"data: small\n\ndata: ".to_vec();
        body.resize(body.len() + 300_000, b'x');
        body.extend_from_slice(b"\n\ndata: never seen\n\n");
        Body::from(body)
    })
    .await;
    let mut config = ClientConfig::default();
    config.max_event_bytes = 64 * 1024;
    let client = UpstreamClient::new(config).unwrap();
    let response = client.send(&endpoint("huge", addr), "/chat/completions", chat_body("x", true), true).await;
    let (events, error) = drain(&mut into_stream(response.unwrap())).await;
    assert_eq!(events.iter().map(|e| e.data.as_str()).collect::<Vec<_>>(), ["small"]);
    assert!(matches!(error, Some(Error::EventTooLarge { limit: 65536 })), "{error:?}");
}

#[tokio::test]
async fn a_silent_stream_hits_the_idle_read_timeout() {
    let addr = serve_stream(|| {
        let first = futures_util::stream::iter([Ok::<_, Infallible>(Bytes::from_static(b"data: first\n\n"))]);
        let stall = futures_util::stream::once(async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(Bytes::from_static(b"data: late\n\n"))
        });
        Body::from_stream(first.chain(stall))
    })
    .await;
    let ep = endpoint("idle", addr).with_idle_read_timeout(Duration::from_millis(200));
    let started = std::time::Instant::now();
    let response = client().send(&ep, "/chat/completions", chat_body("x", true), true).await;
    let (events, error) = drain(&mut into_stream(response.unwrap())).await;
    assert_eq!(events.len(), 1);
    assert!(matches!(error, Some(Error::Timeout { phase: TimeoutPhase::Read, .. })), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn event_stream_is_a_futures_stream() {
    let stub = harness::stub(phigate_upstream_stub::StubConfig::default().with_chunk_chars(100)).await;
    let response = client().send(&endpoint("stub", stub.addr()), "/chat/completions", chat_body("x", true), true).await;
    let stream = into_stream(response.unwrap());
    let items: Vec<_> = stream.collect().await;
    // Role chunk, one content chunk, the finish chunk; [DONE] is not an item.
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(Result::is_ok));
}
