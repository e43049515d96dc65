//! The happy paths against the stub vendor, and how refusals look.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use bytes::Bytes;
use phigate_upstream::{ApiKey, ClientConfig, Error, UpstreamClient, UpstreamResponse};
use phigate_upstream_stub::StubConfig;

use crate::harness::{self, chat_body, client, completion_text, drain, endpoint, into_stream, streamed_text};

#[tokio::test]
async fn complete_and_streamed_completions_round_trip() {
    let stub = harness::stub(StubConfig::default()).await;
    let client = client();
    let ep = endpoint("stub", stub.addr());

    let response = client.send(&ep, "/chat/completions", chat_body("Hello [NAME_1]", false), false).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.time_to_headers() > std::time::Duration::ZERO);
    assert_eq!(completion_text(response), "echo: Hello [NAME_1]");

    let response = client.send(&ep, "/chat/completions", chat_body("Hello [NAME_1]", true), true).await.unwrap();
    let mut stream = into_stream(response);
    let (events, error) = drain(&mut stream).await;
    assert!(error.is_none(), "{error:?}");
    assert!(stream.saw_done());
    assert!(events.len() > 5, "small chunks: {}", events.len());
    assert_eq!(streamed_text(&events), "echo: Hello [NAME_1]");

    // Both requests reached the vendor, byte for byte.
    let captured = stub.captured();
    assert_eq!(captured.len(), 2);
    assert_eq!(captured[0].as_bytes(), &chat_body("Hello [NAME_1]", false)[..]);
}

#[tokio::test]
async fn a_stream_request_answered_with_json_is_a_complete_body() {
    let stub = harness::stub(StubConfig::default()).await;
    let response =
        client().send(&endpoint("stub", stub.addr()), "/chat/completions", chat_body("x", false), true).await.unwrap();
    assert!(matches!(response, UpstreamResponse::Complete(_)));
}

#[tokio::test]
async fn bearer_key_is_sent_and_a_401_is_a_typed_error() {
    let stub = harness::stub(StubConfig::default().with_required_key("sk-stub")).await;
    let client = client();
    let with_key = endpoint("stub", stub.addr()).with_api_key(ApiKey::new("sk-stub").unwrap());
    let response = client.send(&with_key, "/chat/completions", chat_body("hi", false), false).await.unwrap();
    assert_eq!(completion_text(response), "echo: hi");

    let without = endpoint("stub", stub.addr());
    let err = client.send(&without, "/chat/completions", chat_body("hi", false), false).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED));
    let Error::Status { body, .. } = &err else { panic!("{err:?}") };
    assert!(String::from_utf8_lossy(body.expose()).contains("invalid_api_key"));
}

#[tokio::test]
async fn error_bodies_are_bounded_and_never_printed() {
    const CANARY: &str = "CANARY-Jane-Doe-1234";
    let router = Router::new().route(
        "/v1/chat/completions",
        post(|| async {
            (StatusCode::BAD_REQUEST, format!("{{\"error\":\"bad prompt: {CANARY}\"}}{}", " ".repeat(8000)))
        }),
    );
    let addr = harness::spawn(router).await;
    let err = client().send(&endpoint("vendor", addr), "/chat/completions", chat_body(CANARY, false), false).await;
    let err = err.unwrap_err();
    let Error::Status { status, body, endpoint, .. } = &err else { panic!("{err:?}") };
    assert_eq!(*status, StatusCode::BAD_REQUEST);
    assert_eq!(endpoint.as_str(), "vendor");
    assert_eq!(body.len(), 4096);
    assert!(body.truncated());
    assert!(String::from_utf8_lossy(body.expose()).contains(CANARY));
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(CANARY), "{text}");
        assert!(text.contains("vendor") && text.contains("400"), "{text}");
    }
    assert_eq!(err.code(), "upstream_status");
}

#[tokio::test]
async fn complete_bodies_are_bounded() {
    let stub = harness::stub(StubConfig::default()).await;
    let mut config = ClientConfig::default();
    config.max_body_bytes = 64;
    let client = UpstreamClient::new(config).unwrap();
    let err = client
        .send(&endpoint("stub", stub.addr()), "/chat/completions", chat_body("hello", false), false)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BodyTooLarge { limit: 64, .. }), "{err}");
}

#[tokio::test]
async fn plain_http_to_localhost_is_allowed() {
    let stub = harness::stub(StubConfig::default()).await;
    let ep = phigate_upstream::Endpoint::new("local", &format!("http://localhost:{}/v1", stub.addr().port())).unwrap();
    let response = client().send(&ep, "/embeddings", Bytes::from_static(br#"{"input":"a"}"#), false).await;
    let UpstreamResponse::Complete(c) = response.unwrap() else { panic!() };
    assert!(c.body.starts_with(b"{\"object\":\"list\""));
}
