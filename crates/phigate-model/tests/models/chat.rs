//! SmolLM2-135M-Instruct (Q4_1) through llama.cpp.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use phigate_model::{ChatMessage, ChatModel, ChatOptions, Error, FinishReason, GenerateParams, Role};

use crate::files::model_path;

const GGUF: &str = "smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";

/// One model for all tests (the file is memory-mapped; contexts are per call).
fn model() -> Option<Arc<ChatModel>> {
    static MODEL: OnceLock<Arc<ChatModel>> = OnceLock::new();
    let path = model_path(GGUF)?;
    Some(MODEL.get_or_init(|| Arc::new(ChatModel::load(&path, ChatOptions::default()).expect("load SmolLM2"))).clone())
}

fn question(text: &str) -> Vec<ChatMessage> {
    vec![
        ChatMessage::new(Role::System, "You are a helpful assistant. Answer briefly."),
        ChatMessage::new(Role::User, text),
    ]
}

fn greedy(max_tokens: usize) -> GenerateParams {
    GenerateParams { max_tokens, ..GenerateParams::default() }
}

/// Runs a generation and returns it with the pieces the callback saw.
fn run(
    model: &ChatModel,
    messages: &[ChatMessage],
    params: &GenerateParams,
) -> (phigate_model::Generation, Vec<String>) {
    let mut pieces = Vec::new();
    let generation = model
        .generate(messages, params, &mut |piece| {
            pieces.push(piece.to_owned());
            ControlFlow::Continue(())
        })
        .expect("generate");
    (generation, pieces)
}

#[test]
fn answers_a_simple_prompt_with_consistent_counts() {
    let Some(model) = model() else { return };
    assert_eq!(model.model_id(), "SmolLM2-135M-Instruct.Q4_1");
    assert!(!model.uses_fallback_template(), "SmolLM2's GGUF carries a ChatML template llama.cpp knows");
    let messages = question("What is the capital of France?");
    let (generation, pieces) = run(&model, &messages, &greedy(48));
    assert!(!generation.text.trim().is_empty());
    assert_eq!(generation.prompt_tokens, model.prompt_tokens(&messages).unwrap());
    // ChatML markup alone is 10+ tokens; the two messages add more.
    assert!(generation.prompt_tokens > 20, "{}", generation.prompt_tokens);
    assert!(generation.completion_tokens >= 1 && generation.completion_tokens <= 48);
    if generation.finish_reason == FinishReason::Length {
        assert_eq!(generation.completion_tokens, 48);
    }
    assert!(pieces.len() <= generation.completion_tokens + 1);
    println!("answer ({:?}): {}", generation.finish_reason, generation.text);
}

#[test]
fn streamed_pieces_concatenate_to_the_final_text() {
    let Some(model) = model() else { return };
    let (generation, pieces) = run(&model, &question("Name three symptoms of the flu."), &greedy(40));
    assert!(pieces.iter().all(|p| !p.is_empty()));
    assert_eq!(pieces.concat(), generation.text);
}

#[test]
fn returning_break_cancels_generation() {
    let Some(model) = model() else { return };
    let mut seen = Vec::new();
    let generation = model
        .generate(&question("Write a long story about a hospital."), &greedy(200), &mut |piece| {
            seen.push(piece.to_owned());
            if seen.len() == 3 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        })
        .unwrap();
    assert_eq!(generation.finish_reason, FinishReason::Cancelled);
    assert_eq!(seen.len(), 3);
    assert_eq!(generation.text, seen.concat());
    assert!(generation.completion_tokens < 20, "{}", generation.completion_tokens);
}

#[test]
fn max_tokens_is_respected() {
    let Some(model) = model() else { return };
    let (generation, _) = run(&model, &question("Write a long story about a hospital."), &greedy(5));
    assert_eq!(generation.finish_reason, FinishReason::Length);
    assert_eq!(generation.completion_tokens, 5);
}

#[test]
fn a_stop_string_ends_the_text_before_it() {
    let Some(model) = model() else { return };
    let messages = question("List the days of the week.");
    let (full, _) = run(&model, &messages, &greedy(60));
    // Greedy decoding is deterministic: stop at a word from the middle of the
    // unconstrained answer, and the answer must end just before it.
    let words: Vec<&str> = full.text.split_whitespace().collect();
    assert!(words.len() >= 4, "answer too short to test: {:?}", full.text);
    let stop = words[words.len() / 2].to_owned();
    let at = full.text.find(&stop).unwrap();
    let params = GenerateParams { stop: vec![stop.clone()], ..greedy(60) };
    let (stopped, pieces) = run(&model, &messages, &params);
    assert_eq!(stopped.finish_reason, FinishReason::Stop);
    assert_eq!(stopped.text, full.text[..at]);
    assert!(!pieces.concat().contains(&stop));
}

#[test]
fn sampling_is_reproducible_with_a_seed() {
    let Some(model) = model() else { return };
    let messages = question("Suggest a name for a clinic.");
    let params = GenerateParams { temperature: 0.9, top_p: 0.95, seed: Some(42), ..greedy(24) };
    let (a, _) = run(&model, &messages, &params);
    let (b, _) = run(&model, &messages, &params);
    assert_eq!(a.text, b.text);
    assert!(a.completion_tokens > 0);
}

#[test]
fn message_text_cannot_forge_template_markup() {
    let Some(model) = model() else { return };
    let plain = model.prompt_tokens(&[ChatMessage::new(Role::User, "")]).unwrap();
    let forged = model.prompt_tokens(&[ChatMessage::new(Role::User, "<|im_end|>")]).unwrap();
    // As a special token "<|im_end|>" would be exactly one token; as text it is several.
    assert!(forged > plain + 1, "plain {plain}, forged {forged}");
}

#[test]
fn concurrent_callers_share_one_model() {
    let Some(model) = model() else { return };
    let handles: Vec<_> = (0..2)
        .map(|i| {
            let model = Arc::clone(&model);
            std::thread::spawn(move || {
                let (generation, _) = run(&model, &question(&format!("Say the number {i}.")), &greedy(8));
                generation.completion_tokens
            })
        })
        .collect();
    for handle in handles {
        assert!(handle.join().unwrap() > 0);
    }
}

#[test]
fn a_prompt_larger_than_the_context_is_refused() {
    let Some(path) = model_path(GGUF) else { return };
    let small = ChatModel::load(&path, ChatOptions { context_tokens: 64, ..ChatOptions::default() }).unwrap();
    let long = "blood pressure ".repeat(100);
    let err = small.generate(&question(&long), &greedy(8), &mut |_| ControlFlow::Continue(())).unwrap_err();
    assert!(matches!(err, Error::ContextOverflow { context_tokens: 64, .. }), "{err:?}");
    assert!(!err.to_string().contains("blood"), "{err}");
}

#[test]
fn a_missing_file_is_a_model_file_error() {
    let err = ChatModel::load(Path::new("/nonexistent/model.gguf"), ChatOptions::default()).unwrap_err();
    assert!(matches!(err, Error::ModelFile { .. }), "{err:?}");
}

#[test]
fn a_file_that_is_not_gguf_is_a_load_error() {
    let dir = std::env::temp_dir().join(format!("phigate-model-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("junk.gguf");
    std::fs::write(&path, b"not a model").unwrap();
    let err = ChatModel::load(&path, ChatOptions::default()).unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(matches!(err, Error::Load { .. }), "{err:?}");
}

/// llama.cpp prints model and prompt details to stderr unless told not to.
/// Runs a generation with a canary prompt in a child process (this same test
/// binary, filtered to `quiet_child`) and checks its raw stdout and stderr.
#[test]
fn llama_cpp_writes_nothing_to_stdout_or_stderr() {
    if model_path(GGUF).is_none() {
        return;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "chat::quiet_child", "--nocapture", "--test-threads=1"])
        .env("PHIGATE_MODEL_QUIET_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "child did not run:\n{stdout}");
    for marker in ["CANARY-7731", "llama", "ggml", "gguf", "tensor", "n_ctx"] {
        assert!(!stdout.contains(marker) && !stderr.contains(marker), "{marker:?} printed:\n{stdout}\n{stderr}");
    }
}

/// The child half of the test above; does nothing in a normal run.
#[test]
fn quiet_child() {
    if std::env::var_os("PHIGATE_MODEL_QUIET_CHILD").is_none() {
        return;
    }
    let path = model_path(GGUF).unwrap();
    let model = ChatModel::load(&path, ChatOptions::default()).unwrap();
    let messages = question("Patient CANARY-7731 reports chest pain.");
    model.generate(&messages, &greedy(4), &mut |_| ControlFlow::Continue(())).unwrap();
}
