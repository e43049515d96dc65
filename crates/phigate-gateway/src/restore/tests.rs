use std::sync::Arc;

use phigate_deid::Kind;
use proptest::prelude::*;

use super::*;
use crate::openai::{ChatChunk, parse_chat_chunk, parse_chat_response};

fn vault() -> Vault {
    let mut v = Vault::new().unwrap();
    v.placeholder_for(Kind::Name, "Jane Canary").unwrap();
    v.placeholder_for(Kind::Date, "03/04/1961").unwrap();
    v.placeholder_for(Kind::Name, "O\"Brien \\ Ünal\n").unwrap();
    v.placeholder_for(Kind::HealthPlan, "HP-77").unwrap();
    v
}

#[test]
fn restores_known_placeholders_only() {
    let v = vault();
    assert_eq!(
        restore_text(&v, "[[NAME_1]] born [[DATE_1]]; plan [[HEALTH_PLAN_1]]."),
        "Jane Canary born 03/04/1961; plan HP-77."
    );
    for passthrough in ["[[NAME_9]]", "[[FOO_1]]", "[[NAME_01]]", "[NAME_1]", "[[NAME_1]", "[[", "[", "[[name_1]]"] {
        assert_eq!(restore_text(&v, passthrough), passthrough);
    }
    assert_eq!(restore_text(&v, "[[[NAME_1]]]"), "[Jane Canary]");
    assert_eq!(restore_text(&v, "[[NAME_1]][[NAME_1]]"), "Jane CanaryJane Canary");
    assert_eq!(restore_text(&v, "é[[NAME_1]]ü"), "éJane Canaryü");
}

#[test]
fn json_mode_escapes_the_original() {
    let v = vault();
    let mut out = String::new();
    restore_into(&v, r#"{"who":"[[NAME_2]]","n":"[[NAME_1]]"}"#, Mode::Json, &mut out);
    let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(parsed["who"], "O\"Brien \\ Ünal\n");
    assert_eq!(parsed["n"], "Jane Canary");
    let mut esc = String::new();
    push_json_escaped("a\u{1}\u{8}\u{c}\t\"\\/", &mut esc);
    assert_eq!(esc, r#"a\u0001\b\f\t\"\\/"#);
}

#[test]
fn responses_are_restored_everywhere() {
    let v = vault();
    let body = r#"{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,
        "message":{"role":"assistant","content":"Hi [[NAME_1]]","refusal":"not [[DATE_1]]",
        "tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{\"p\":\"[[NAME_2]]\"}"}}]},
        "finish_reason":"stop"}]}"#;
    let mut r = parse_chat_response(body.as_bytes()).unwrap();
    restore_response(&v, &mut r);
    let m = &r.choices[0].message;
    assert_eq!(m.content, Some(Content::Text("Hi Jane Canary".into())));
    assert_eq!(m.extra["refusal"], "not 03/04/1961");
    let args: serde_json::Value = serde_json::from_str(&m.tool_calls.as_ref().unwrap()[0].function.arguments).unwrap();
    assert_eq!(args["p"], "O\"Brien \\ Ünal\n");
}

#[test]
fn restorer_holds_back_a_split_placeholder() {
    let v = vault();
    let mut r = Restorer::new(&v);
    assert_eq!(r.push("Hello [["), "Hello ");
    assert_eq!(r.held(), 2);
    assert_eq!(r.push("NAME"), "");
    assert_eq!(r.push("_1]"), "");
    assert_eq!(r.push("], how"), "Jane Canary, how");
    assert_eq!(r.push(" are you ["), " are you ");
    assert_eq!(r.push("x"), "[x");
    assert_eq!(r.push(" [[NAME_"), " ");
    assert_eq!(r.finish(), "[[NAME_", "an unfinished prefix is text at the end");
    assert_eq!(r.held(), 0);
}

#[test]
fn an_empty_vault_holds_nothing_back() {
    let v = Vault::new().unwrap();
    let mut r = Restorer::new(&v);
    assert_eq!(r.push("see [[NAME_"), "see [[NAME_");
    assert_eq!(r.push("1]]"), "1]]");
    assert_eq!(r.finish(), "");
}

#[test]
fn restorer_owns_an_arc_vault() {
    let v = Arc::new(vault());
    let mut r = Restorer::json(Arc::clone(&v));
    let mut out = r.push("{\"a\":\"[[NAME_");
    out.push_str(&r.push("2]]\"}"));
    out.push_str(&r.finish());
    assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap()["a"], "O\"Brien \\ Ünal\n");
}

fn chunk(json: &str) -> ChatChunk {
    let full = format!(r#"{{"id":"s","object":"chat.completion.chunk","created":1,"model":"m","choices":[{json}]}}"#);
    parse_chat_chunk(full.as_bytes()).unwrap()
}

#[test]
fn chunk_restorer_follows_content_and_each_tool_call() {
    let v = vault();
    let mut cr = ChunkRestorer::new(&v);
    let mut texts = Vec::new();
    let mut args = [String::new(), String::new()];
    let mut feed = |c: &mut ChatChunk, cr: &mut ChunkRestorer<&Vault>| {
        cr.restore(c);
        for ch in &c.choices {
            texts.extend(ch.delta.content.clone());
            for t in ch.delta.tool_calls.iter().flatten() {
                if let Some(a) = t.function.as_ref().and_then(|f| f.arguments.as_ref()) {
                    args[t.index as usize].push_str(a);
                }
            }
        }
    };
    feed(&mut chunk(r#"{"index":0,"delta":{"role":"assistant","content":"Dear [[NA"}}"#), &mut cr);
    feed(&mut chunk(r#"{"index":0,"delta":{"content":"ME_1]], on [[DA"}}"#), &mut cr);
    feed(
        &mut chunk(
            r#"{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","type":"function","function":{"name":"f","arguments":"{\"x\":\"[[NAME_"}},
            {"index":1,"id":"b","type":"function","function":{"name":"g","arguments":"{\"y\":\"[[HEALTH"}}]}}"#,
        ),
        &mut cr,
    );
    feed(
        &mut chunk(r#"{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"_PLAN_1]]\"}"}}]}}"#),
        &mut cr,
    );
    feed(&mut chunk(r#"{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"2]]\"}"}}]}}"#), &mut cr);
    feed(&mut chunk(r#"{"index":0,"delta":{},"finish_reason":"tool_calls"}"#), &mut cr);
    assert_eq!(texts.concat(), "Dear Jane Canary, on [[DA", "held text is flushed with finish_reason");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&args[0]).unwrap()["x"], "O\"Brien \\ Ünal\n");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&args[1]).unwrap()["y"], "HP-77");
    assert!(cr.finish().is_none());
}

#[test]
fn chunk_restorer_finish_emits_leftovers_when_no_finish_reason_came() {
    let v = vault();
    let mut cr = ChunkRestorer::new(&v);
    let mut c = chunk(r#"{"index":1,"delta":{"content":"bye [[NAME_1]"}}"#);
    cr.restore(&mut c);
    assert_eq!(c.choices[0].delta.content.as_deref(), Some("bye "));
    let last = cr.finish().unwrap();
    assert_eq!((last.id.as_str(), last.choices[0].index), ("s", 1));
    assert_eq!(last.choices[0].delta.content.as_deref(), Some("[[NAME_1]"));
    assert!(cr.finish().is_none(), "nothing twice");
}

fn arb_text() -> impl Strategy<Value = String> {
    // Pieces that exercise the scanner: placeholders known and unknown,
    // their prefixes, brackets, multi-byte characters, plain words.
    let piece = prop_oneof![
        Just("[[NAME_1]]".to_owned()),
        Just("[[NAME_2]]".to_owned()),
        Just("[[DATE_1]]".to_owned()),
        Just("[[HEALTH_PLAN_1]]".to_owned()),
        Just("[[NAME_9]]".to_owned()),
        Just("[[NAME_".to_owned()),
        Just("[[".to_owned()),
        Just("[".to_owned()),
        Just("]]".to_owned()),
        Just("_1".to_owned()),
        Just("é".to_owned()),
        "[a-zA-Z0-9 _\\[\\]]{0,6}",
    ];
    proptest::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

proptest! {
    /// Any split of any text gives the same restored output as the whole.
    #[test]
    fn streamed_equals_whole(text in arb_text(), cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12), json in any::<bool>()) {
        let v = vault();
        let mode = if json { Mode::Json } else { Mode::Text };
        let mut whole = String::new();
        restore_into(&v, &text, mode, &mut whole);
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(text.len() + 1)).filter(|&p| text.is_char_boundary(p)).collect();
        points.sort_unstable();
        points.dedup();
        let mut r = Restorer::with_mode(&v, mode);
        let mut streamed = String::new();
        let mut prev = 0;
        for p in points.into_iter().chain([text.len()]) {
            streamed.push_str(&r.push(&text[prev..p]));
            prop_assert!(r.held() < crate::vault::PLACEHOLDER_MAX_LEN);
            prev = p;
        }
        streamed.push_str(&r.finish());
        prop_assert_eq!(streamed, whole);
    }

    /// Byte-by-byte streaming too (every char boundary is a cut).
    #[test]
    fn char_by_char_equals_whole(text in arb_text()) {
        let v = vault();
        let mut r = Restorer::new(&v);
        let mut streamed = String::new();
        for (i, c) in text.char_indices() {
            streamed.push_str(&r.push(&text[i..i + c.len_utf8()]));
        }
        streamed.push_str(&r.finish());
        prop_assert_eq!(streamed, restore_text(&v, &text));
    }
}
