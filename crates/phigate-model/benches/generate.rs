//! Throughput of the default models: chat tokens/s and embeddings/s.
//!
//! `cargo bench -p phigate-model --features llama,embed` (needs the weights
//! from `models_fetch`, found as the tests find them). Environment:
//! `PHIGATE_BENCH_THREADS` (chat threads, default 1), `PHIGATE_MODELS_DIR`.
//! Prints one line per measurement; run it on a quiet machine.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use phigate_model::{ChatMessage, ChatModel, ChatOptions, Embedder, GenerateParams, Role};

fn models_dir() -> PathBuf {
    std::env::var_os("PHIGATE_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/models"))
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing
    // useful either way, so only run when asked to benchmark.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = models_dir();
    chat(&dir.join("smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"));
    embed(&dir.join("minilm"));
}

fn chat(path: &Path) {
    let threads = std::env::var("PHIGATE_BENCH_THREADS").ok().and_then(|t| t.parse().ok()).unwrap_or(1);
    let started = Instant::now();
    let model = match ChatModel::load(path, ChatOptions { threads, ..ChatOptions::default() }) {
        Ok(model) => model,
        Err(err) => return println!("chat: skipped ({err})"),
    };
    println!("chat: loaded {} in {:?}", model.model_id(), started.elapsed());
    let messages = [
        ChatMessage::new(Role::System, "You are a helpful assistant."),
        ChatMessage::new(Role::User, "Write a long, detailed story about a day in a busy hospital."),
    ];
    // A one-token reply to a short prompt: per-request overhead (context
    // creation, prompt evaluation, one sample).
    let short = [ChatMessage::new(Role::User, "Hi")];
    let one = GenerateParams { max_tokens: 1, ..GenerateParams::default() };
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        model.generate(&short, &one, &mut |_| ControlFlow::Continue(())).expect("generation");
        best = best.min(start.elapsed());
    }
    println!(
        "chat: one-token reply to a {}-token prompt: {best:?} (best of 5)",
        model.prompt_tokens(&short).expect("tokens")
    );

    let params = GenerateParams { max_tokens: 128, ..GenerateParams::default() };
    let mut total_tokens = 0;
    let mut total_decode = Duration::ZERO;
    for run in 0..4 {
        let start = Instant::now();
        let mut first: Option<Instant> = None;
        let generation = model
            .generate(&messages, &params, &mut |_| {
                first.get_or_insert_with(Instant::now);
                ControlFlow::Continue(())
            })
            .expect("generation");
        let end = Instant::now();
        let first = first.unwrap_or(end);
        let decode = end - first;
        let tokens = generation.completion_tokens.saturating_sub(1);
        println!(
            "chat: run {run}: threads {threads}, prompt {} tokens, first piece after {:?}, {} tokens in {:?} ({:.1} tokens/s after the first)",
            generation.prompt_tokens,
            first - start,
            generation.completion_tokens,
            end - start,
            tokens as f64 / decode.as_secs_f64().max(1e-9),
        );
        if run > 0 {
            total_tokens += tokens;
            total_decode += decode;
        }
    }
    println!(
        "chat: {:.1} tokens/s (threads {threads}, mean of runs 1-3)",
        total_tokens as f64 / total_decode.as_secs_f64().max(1e-9)
    );
}

fn embed(dir: &Path) {
    let started = Instant::now();
    let model = match Embedder::load(dir) {
        Ok(model) => model,
        Err(err) => return println!("embed: skipped ({err})"),
    };
    println!("embed: loaded {} in {:?}", model.model_id(), started.elapsed());
    let sentence = "The patient presented with intermittent chest pain, shortness of breath and fatigue. ";
    let passage = sentence.repeat(8); // about 128 word pieces
    let passages: Vec<&str> = (0..32).map(|_| passage.as_str()).collect();
    let short: Vec<&str> = (0..64).map(|_| "acute myocardial infarction").collect();
    model.embed(&passages[..2]).expect("warm-up");
    for (label, texts) in [("128-token passages", &passages), ("short phrases", &short)] {
        let start = Instant::now();
        let vectors = model.embed(texts).expect("embed");
        let elapsed = start.elapsed();
        println!(
            "embed: {} {label} in {elapsed:?}: {:.1} embeddings/s (candle threads: {})",
            vectors.len(),
            vectors.len() as f64 / elapsed.as_secs_f64(),
            std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all cores".into()),
        );
    }
}
