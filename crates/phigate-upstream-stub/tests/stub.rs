//! The stub as an OpenAI client sees it: in-process through the router
//! (`oneshot`), over a real socket, and as the shipped binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use phigate_upstream_stub::{Stub, StubConfig, serve};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

async fn call(stub: &Stub, method: &str, path: &str, key: Option<&str>, body: &str) -> (StatusCode, String, String) {
    let mut request = Request::builder().method(method).uri(path).header("content-type", "application/json");
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    let response = stub.router().oneshot(request.body(Body::from(body.to_owned())).unwrap()).await.unwrap();
    let status = response.status();
    let content_type =
        response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, content_type, String::from_utf8(bytes.to_vec()).unwrap())
}

fn chat(text: &str) -> Value {
    json!({"model": "gpt-test", "messages": [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": text},
    ]})
}

/// The JSON payloads of an SSE body, without the final `[DONE]`.
fn events(body: &str) -> Vec<Value> {
    let frames: Vec<&str> = body.split("\n\n").filter(|f| !f.is_empty()).collect();
    assert_eq!(frames.last(), Some(&"data: [DONE]"), "stream ends with [DONE]");
    frames[..frames.len() - 1]
        .iter()
        .map(|f| serde_json::from_str(f.strip_prefix("data: ").unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn completion_echoes_the_last_user_message() {
    let stub = Stub::new(StubConfig::default()).unwrap();
    let body = chat("Hello [NAME_1], how are you?").to_string();
    let (status, content_type, text) = call(&stub, "POST", "/v1/chat/completions", None, &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/json");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "gpt-test");
    assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(v["choices"][0]["message"]["role"], "assistant");
    assert_eq!(v["choices"][0]["message"]["content"], "echo: Hello [NAME_1], how are you?");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(v["usage"]["prompt_tokens"], 2 + 1 + 1 + 5);
    assert_eq!(v["usage"]["completion_tokens"], 6);
    assert_eq!(v["usage"]["total_tokens"], 15);
    assert_eq!(stub.captured(), vec![body]);
}

#[tokio::test]
async fn content_parts_are_joined() {
    let stub = Stub::new(StubConfig::default()).unwrap();
    let body = json!({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "a"}, {"type": "image_url", "image_url": {"url": "x"}}, {"type": "text", "text": "b"}
    ]}]});
    let (_, _, text) = call(&stub, "POST", "/v1/chat/completions", None, &body.to_string()).await;
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "echo: a\nb");
    assert_eq!(v["model"], "stub-model", "the configured model when the request names none");
}

#[tokio::test]
async fn stream_splits_content_into_small_chunks() {
    let stub = Stub::new(StubConfig::default()).unwrap();
    let mut body = chat("see [NAME_1] today");
    body["stream"] = json!(true);
    let (status, content_type, text) = call(&stub, "POST", "/v1/chat/completions", None, &body.to_string()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "text/event-stream");
    let chunks = events(&text);
    assert!(chunks.iter().all(|c| c["object"] == "chat.completion.chunk" && c.get("usage").is_none()));
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let pieces: Vec<&str> =
        chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).filter(|p| !p.is_empty()).collect();
    assert!(pieces.iter().all(|p| p.chars().count() <= 3));
    assert_eq!(pieces.concat(), "echo: see [NAME_1] today");
    assert!(!pieces.contains(&"[NAME_1]"), "the placeholder is split across chunks");
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"][0]["finish_reason"], "stop");
    assert_eq!(last["choices"][0]["delta"], json!({}));
}

#[tokio::test]
async fn stream_usage_chunk_and_chunk_size() {
    let stub = Stub::new(StubConfig::default().with_chunk_chars(5)).unwrap();
    let mut body = chat("abcdefghij");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let (_, _, text) = call(&stub, "POST", "/v1/chat/completions", None, &body.to_string()).await;
    let chunks = events(&text);
    let (usage, content) = chunks.split_last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["completion_tokens"], 2);
    assert!(content.iter().all(|c| c["usage"].is_null()));
    let pieces: Vec<&str> = content.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(pieces, ["", "echo:", " abcd", "efghi", "j"]);
}

#[tokio::test]
async fn tools_are_called_when_the_user_says_tool() {
    let stub = Stub::new(StubConfig::default()).unwrap();
    let mut body = chat("use the tool on Jane");
    body["tools"] = json!([
        {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}},
        {"type": "function", "function": {"name": "other"}}
    ]);
    let (_, _, text) = call(&stub, "POST", "/v1/chat/completions", None, &body.to_string()).await;
    let v: Value = serde_json::from_str(&text).unwrap();
    let message = &v["choices"][0]["message"];
    assert!(message["content"].is_null());
    let tool_call = &message["tool_calls"][0];
    assert_eq!(tool_call["type"], "function");
    assert_eq!(tool_call["function"]["name"], "lookup");
    let args: Value = serde_json::from_str(tool_call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"text": "use the tool on Jane"}));
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");

    body["stream"] = json!(true);
    let (_, _, text) = call(&stub, "POST", "/v1/chat/completions", None, &body.to_string()).await;
    let chunks = events(&text);
    assert_eq!(chunks[0]["choices"][0]["delta"]["tool_calls"][0]["function"]["name"], "lookup");
    let arguments: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str())
        .collect();
    assert_eq!(serde_json::from_str::<Value>(&arguments).unwrap(), args);
    assert_eq!(chunks.last().unwrap()["choices"][0]["finish_reason"], "tool_calls");

    // Without the word, tools are ignored.
    let mut body = chat("toolbox");
    body["tools"] = json!([{"type": "function", "function": {"name": "lookup"}}]);
    let (_, _, text) = call(&stub, "POST", "/v1/chat/completions", None, &body.to_string()).await;
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["choices"][0]["message"]["content"], "echo: toolbox");
}

#[tokio::test]
async fn embeddings_are_deterministic() {
    let stub = Stub::new(StubConfig::default()).unwrap();
    let (status, _, text) = call(&stub, "POST", "/v1/embeddings", None, r#"{"model":"emb","input":["a b","c"]}"#).await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["object"], "list");
    assert_eq!(v["model"], "emb");
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    assert_eq!(v["data"][1]["index"], 1);
    assert_eq!(v["data"][0]["embedding"].as_array().unwrap().len(), 8);
    assert_eq!(v["usage"]["prompt_tokens"], 3);
    let (_, _, single) = call(&stub, "POST", "/v1/embeddings", None, r#"{"input":"a b"}"#).await;
    let single: Value = serde_json::from_str(&single).unwrap();
    assert_eq!(single["data"][0]["embedding"], v["data"][0]["embedding"]);
    let (status, _, _) = call(&stub, "POST", "/v1/embeddings", None, r#"{"input":[1,2]}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn models_lists_the_configured_id() {
    let stub = Stub::new(StubConfig::default().with_model("llama-test")).unwrap();
    let (status, _, text) = call(&stub, "GET", "/v1/models", None, "").await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["data"][0]["id"], "llama-test");
    assert_eq!(v["data"][0]["object"], "model");
    assert!(stub.captured().is_empty(), "a GET has no body to capture");
}

#[tokio::test]
async fn fails_the_first_requests_then_answers() {
    let stub = Stub::new(StubConfig::default().with_fail_first(2)).unwrap();
    let body = chat("x").to_string();
    for expected in [StatusCode::SERVICE_UNAVAILABLE, StatusCode::SERVICE_UNAVAILABLE, StatusCode::OK] {
        let (status, _, text) = call(&stub, "POST", "/v1/chat/completions", None, &body).await;
        assert_eq!(status, expected);
        if status != StatusCode::OK {
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["error"]["code"], "stub_unavailable");
        }
    }
    assert_eq!(stub.requests(), 3);
    assert_eq!(stub.captured().len(), 3, "failed requests are captured too: they crossed the boundary");
}

#[tokio::test]
async fn requires_the_bearer_key() {
    let stub = Stub::new(StubConfig::default().with_required_key("sk-test")).unwrap();
    let body = chat("x").to_string();
    let (status, _, text) = call(&stub, "POST", "/v1/chat/completions", None, &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["error"]["code"], "invalid_api_key");
    let (status, _, _) = call(&stub, "POST", "/v1/chat/completions", Some("wrong"), &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = call(&stub, "POST", "/v1/chat/completions", Some("sk-test"), &body).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = call(&stub, "GET", "/v1/models", None, "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn invalid_json_is_a_400_and_still_captured() {
    let stub = Stub::new(StubConfig::default()).unwrap();
    let (status, _, text) = call(&stub, "POST", "/v1/chat/completions", None, "{not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["error"]["type"], "invalid_request_error");
    assert_eq!(stub.captured(), vec!["{not json".to_owned()]);
}

#[tokio::test]
async fn capture_file_holds_one_line_per_body() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("capture.jsonl");
    let stub = Stub::new(StubConfig::default().with_capture_file(&path)).unwrap();
    let pretty = serde_json::to_string_pretty(&chat("CANARY-123\nsecond line")).unwrap();
    call(&stub, "POST", "/v1/chat/completions", None, &pretty).await;
    call(&stub, "POST", "/v1/embeddings", None, r#"{"input":"CANARY-456"}"#).await;
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    let first: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(first, chat("CANARY-123\nsecond line"), "a pretty body stays equivalent JSON on one line");
    assert!(lines[1].contains("CANARY-456"));
    assert_eq!(stub.captured(), lines);

    let stub = Stub::new(StubConfig::default().with_capture_in_memory(false)).unwrap();
    call(&stub, "POST", "/v1/embeddings", None, r#"{"input":"x"}"#).await;
    assert!(stub.captured().is_empty());
    assert!(Stub::new(StubConfig::default().with_capture_file(dir.path().join("no/such/dir/c.jsonl"))).is_err());
}

async fn raw_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nhost: stub\r\nconnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test]
async fn serves_on_a_socket_and_shuts_down() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let handle = serve(listener, StubConfig::default()).await.unwrap();
    assert_eq!(handle.base_url(), format!("http://{}/v1", handle.addr()));
    let response = raw_get(handle.addr(), "/v1/models").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("stub-model"));
    assert_eq!(handle.requests(), 1);
    let addr = handle.addr();
    tokio::time::timeout(Duration::from_secs(5), handle.shutdown()).await.unwrap().unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "stopped listening");
}

#[test]
fn binary_prints_its_address_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_phigate-upstream-stub"))
        .args(["--listen", "127.0.0.1:0", "--model", "bin-model", "--chunk-chars", "4"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("listening on http://").unwrap_or_else(|| panic!("{line}")).parse().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let response = runtime.block_on(raw_get(addr, "/v1/models"));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(response.contains("bin-model"), "{response}");
}
