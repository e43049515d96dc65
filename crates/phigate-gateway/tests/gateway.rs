//! The gateway's logic end to end, as the server will drive it: parse the
//! client's bytes, decide the route, redact for a backend not cleared for
//! PHI, and restore the backend's answer (whole and streamed) for the caller.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, LazyLock};

use phigate_deid::Detector;
use phigate_gateway::openai::{self, ChatChunk, Content, ErrorBody};
use phigate_gateway::redact::{contains_phi, redact_chat};
use phigate_gateway::restore::{ChunkRestorer, restore_response};
use phigate_gateway::routing::{Action, Clearance, Endpoint, Payload, plan};
use phigate_gateway::template::TemplateRegistry;
use phigate_gateway::{Error, Registry, Vault};
use time::macros::date;

static DETECTOR: LazyLock<Detector> = LazyLock::new(Detector::new);

const EXAMPLE: &str = include_str!("../backends.example.toml");
const IDS: [&str; 3] = ["5583920", "03/14/2024", "555-0142"];

fn body(model: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "model": model,
        "stream": true,
        "messages": [
            {"role": "system", "content": "You are a careful clinical assistant."},
            {"role": "user", "content": "Draft a letter: MRN 5583920, admitted 03/14/2024, callback (559) 555-0142."}
        ]
    }))
    .unwrap()
}

/// What the test backend answers: the text it was given, echoed back.
fn echo_text(req: &openai::ChatRequest) -> String {
    req.messages[1].content.as_ref().unwrap().joined_text().into_owned()
}

#[test]
fn deidentified_route_redacts_and_the_answer_is_restored() {
    let registry = Registry::from_toml_str(EXAMPLE).unwrap();
    // The vendor's BAA expired the day before: it must not see PHI.
    let today = date!(2027 - 01 - 01);
    let original = openai::parse_chat_request(&body("clinical-chat")).unwrap();
    let payload = Payload::from_contains_phi(contains_phi(&DETECTOR, &original));
    assert_eq!(payload, Payload::ContainsPhi);
    let routes = plan(&registry, "clinical-chat", Endpoint::Chat, today, payload).unwrap();
    let vendor = routes.iter().find(|r| r.backend.id == "vendor-baa").unwrap();
    assert_eq!((vendor.clearance, vendor.action), (Clearance::DeidentifiedOnly, Action::RedactThenForward));

    let mut upstream = original.clone();
    let vault = Arc::new({
        let mut v = Vault::new().unwrap();
        let report = redact_chat(&DETECTOR, &mut upstream, &mut v).unwrap();
        assert!(report.total() >= 3);
        v
    });
    let sent = serde_json::to_string(&upstream).unwrap();
    for id in IDS {
        assert!(!sent.contains(id), "{id} reached the vendor: {sent}");
    }

    // Whole answer.
    let echoed = echo_text(&upstream);
    let mut answer = openai::parse_chat_response(
        serde_json::to_vec(&serde_json::json!({"id": "c1", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": echoed}, "finish_reason": "stop"}]}))
        .unwrap()
        .as_slice(),
    )
    .unwrap();
    restore_response(&vault, &mut answer);
    assert_eq!(answer.choices[0].message.content, original.messages[1].content);

    // Streamed answer, cut every 3 bytes (placeholders split across chunks).
    let mut restorer = ChunkRestorer::new(Arc::clone(&vault));
    let mut streamed = String::new();
    let chars: Vec<char> = echoed.chars().collect();
    for (i, piece) in chars.chunks(3).enumerate() {
        let last = i == chars.len().div_ceil(3) - 1;
        let event = serde_json::json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": {"content": piece.iter().collect::<String>()},
                         "finish_reason": if last { Some("stop") } else { None }}]});
        let mut chunk: ChatChunk = openai::parse_chat_chunk(event.to_string().as_bytes()).unwrap();
        restorer.restore(&mut chunk);
        streamed.push_str(chunk.choices[0].delta.content.as_deref().unwrap_or_default());
    }
    assert!(restorer.finish().is_none());
    assert_eq!(Some(Content::Text(streamed)), original.messages[1].content);
}

#[test]
fn cleared_route_forwards_unchanged() {
    let registry = Registry::from_toml_str(EXAMPLE).unwrap();
    let today = date!(2026 - 06 - 01);
    let routes = plan(&registry, "clinical-chat", Endpoint::Chat, today, Payload::ContainsPhi).unwrap();
    let ids: Vec<(&str, Action)> = routes.iter().map(|r| (r.backend.id.as_str(), r.action)).collect();
    assert_eq!(
        ids,
        [("gpu-vllm", Action::Forward), ("vendor-baa", Action::Forward), ("vendor-general", Action::RedactThenForward)]
    );
}

#[test]
fn refused_everywhere_maps_to_phi_not_allowed() {
    let registry = Registry::from_toml_str(EXAMPLE)
        .unwrap()
        .suspend("gpu-vllm")
        .unwrap()
        .suspend("vendor-general")
        .unwrap()
        .clear_baa("vendor-baa")
        .unwrap();
    // vendor-baa is redact-and-forward; make the only remaining route refuse.
    let text = EXAMPLE.replace("on_phi = \"redact-and-forward\"\npriority = 20", "priority = 20");
    let strict = Registry::from_toml_str(&text).unwrap().clear_baa("vendor-baa").unwrap();
    let strict = strict.suspend("gpu-vllm").unwrap().suspend("vendor-general").unwrap();
    let routes = plan(&strict, "clinical-chat", Endpoint::Chat, date!(2026 - 06 - 01), Payload::ContainsPhi).unwrap();
    assert!(routes.iter().all(|r| !r.is_usable()));
    let body = ErrorBody::phi_not_allowed();
    assert_eq!((body.http_status(), body.error.code.as_deref()), (403, Some("phi_not_allowed")));
    // With redact-and-forward the same registry de-identifies instead.
    let routes = plan(&registry, "clinical-chat", Endpoint::Chat, date!(2026 - 06 - 01), Payload::ContainsPhi).unwrap();
    assert_eq!(routes[0].action, Action::RedactThenForward);
}

#[test]
fn unknown_model_is_model_not_found() {
    let registry = Registry::from_toml_str(EXAMPLE).unwrap();
    let err = plan(&registry, "gpt-9", Endpoint::Chat, date!(2026 - 06 - 01), Payload::NoPhiDetected).unwrap_err();
    assert!(matches!(err, Error::UnknownModel { .. }));
    let b = ErrorBody::from(&err);
    assert_eq!((b.http_status(), b.error.code.as_deref()), (404, Some("model_not_found")));
    let body = serde_json::to_value(&b).unwrap();
    assert_eq!(body["error"]["message"], "The model `gpt-9` does not exist or you do not have access to it.");
}

#[test]
fn a_rendered_template_is_redacted_like_any_prompt() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let templates = TemplateRegistry::load_dir(&dir).unwrap();
    let rendered = templates
        .render("note-summary", None, [("note_type", "nursing note"), ("note", "MRN 5583920. Call (559) 555-0142.")])
        .unwrap();
    let mut req = openai::parse_chat_request(&body("clinical-chat")).unwrap();
    req.messages[1].content = Some(Content::Text(rendered.text.clone()));
    let mut vault = Vault::new().unwrap();
    redact_chat(&DETECTOR, &mut req, &mut vault).unwrap();
    let sent = serde_json::to_string(&req).unwrap();
    assert!(!sent.contains("5583920") && !sent.contains("555-0142"));
    assert!(sent.contains("Summarise the following nursing note"), "the template's own text survives");
    assert_eq!(rendered.hash.len(), 64);
}
