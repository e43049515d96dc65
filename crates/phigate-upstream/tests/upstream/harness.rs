//! Servers on 127.0.0.1:0 and small helpers shared by the tests.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use bytes::Bytes;
use phigate_upstream::{ClientConfig, Endpoint, EventStream, SseEvent, UpstreamClient, UpstreamResponse};
use phigate_upstream_stub::{StubConfig, StubHandle};
use serde_json::{Value, json};

/// Runs `router` on a fresh loopback port until the test's runtime ends.
pub async fn spawn(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

/// Runs the stub vendor.
pub async fn stub(config: StubConfig) -> StubHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    phigate_upstream_stub::serve(listener, config).await.unwrap()
}

/// A loopback address where nothing listens (bound, then released).
pub async fn refused_addr() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}

pub fn client() -> UpstreamClient {
    UpstreamClient::new(ClientConfig::default()).unwrap()
}

/// An endpoint at `http://addr/v1` with short timeouts.
pub fn endpoint(id: &str, addr: SocketAddr) -> Endpoint {
    Endpoint::new(id, &format!("http://{addr}/v1"))
        .unwrap()
        .with_connect_timeout(Duration::from_secs(2))
        .with_request_timeout(Duration::from_secs(5))
        .with_idle_read_timeout(Duration::from_secs(5))
}

pub fn chat_body(text: &str, stream: bool) -> Bytes {
    Bytes::from(json!({"model": "m", "stream": stream, "messages": [{"role": "user", "content": text}]}).to_string())
}

/// The `content` of a non-streaming chat completion.
pub fn completion_text(response: UpstreamResponse) -> String {
    let UpstreamResponse::Complete(complete) = response else { panic!("expected a complete body") };
    let v: Value = serde_json::from_slice(&complete.body).unwrap();
    v["choices"][0]["message"]["content"].as_str().unwrap().to_owned()
}

pub fn into_stream(response: UpstreamResponse) -> Box<EventStream> {
    match response {
        UpstreamResponse::Stream(stream) => stream,
        UpstreamResponse::Complete(c) => panic!("expected an event stream, got {c:?}"),
    }
}

/// All events until the end, or the first error (returned beside them).
pub async fn drain(stream: &mut EventStream) -> (Vec<SseEvent>, Option<phigate_upstream::Error>) {
    let mut events = Vec::new();
    while let Some(item) = stream.next_event().await {
        match item {
            Ok(event) => events.push(event),
            Err(e) => {
                assert!(stream.next_event().await.is_none(), "an error ends the stream");
                return (events, Some(e));
            }
        }
    }
    (events, None)
}

/// The streamed assistant text of chat.completion.chunk events.
pub fn streamed_text(events: &[SseEvent]) -> String {
    events
        .iter()
        .filter_map(|e| {
            let v: Value = serde_json::from_str(&e.data).unwrap();
            v["choices"][0]["delta"]["content"].as_str().map(str::to_owned)
        })
        .collect()
}
