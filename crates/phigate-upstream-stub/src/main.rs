//! `phigate-upstream-stub`: the stub model vendor as a process, for
//! end-to-end tests and benchmarks that need a separate upstream.
//!
//! Prints `listening on http://ADDR` once bound, serves until SIGINT/SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use phigate_upstream_stub::{StubConfig, serve};

/// An OpenAI-compatible capture server (echo completions, hash embeddings).
#[derive(Debug, Parser)]
#[command(name = "phigate-upstream-stub", version)]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Model id to list and answer as.
    #[arg(long, default_value = "stub-model")]
    model: String,
    /// Append every request body as one JSONL line to this file.
    #[arg(long)]
    capture: Option<PathBuf>,
    /// Characters per streamed content chunk.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    chunk_chars: u32,
    /// Wait this many milliseconds before answering each request.
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
    /// Answer the first N requests with 503.
    #[arg(long, default_value_t = 0)]
    fail_first: u64,
    /// Answer 401 unless `Authorization: Bearer KEY`.
    #[arg(long, value_name = "KEY")]
    require_key: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("phigate-upstream-stub: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> ExitCode {
    let listener = match tokio::net::TcpListener::bind(cli.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("phigate-upstream-stub: cannot listen on {}: {e}", cli.listen);
            return ExitCode::FAILURE;
        }
    };
    let mut config = StubConfig::default()
        .with_model(cli.model)
        .with_chunk_chars(cli.chunk_chars as usize)
        .with_delay(Duration::from_millis(cli.delay_ms))
        .with_fail_first(cli.fail_first)
        .with_capture_in_memory(false);
    if let Some(key) = cli.require_key {
        config = config.with_required_key(key);
    }
    if let Some(path) = cli.capture {
        config = config.with_capture_file(path);
    }
    let handle = match serve(listener, config).await {
        Ok(handle) => handle,
        Err(e) => {
            eprintln!("phigate-upstream-stub: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "listening on http://{}", handle.addr());
    let _ = stdout.flush();
    shutdown_signal().await;
    match handle.shutdown().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("phigate-upstream-stub: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
