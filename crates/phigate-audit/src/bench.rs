//! Durable-append load generator (`phigate audit bench`).
//!
//! Writes into a fresh directory with a throwaway signing key and measures
//! acknowledged (fsynced) entries per second through the public append
//! path. Entries carry no sealed payload, so the number is the storage
//! path's; sealing runs on the callers' threads, in parallel, in production.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use crate::event::{Actor, ActorKind, AiCall, Event, Outcome, Resource};
use crate::{CheckpointSigner, Config, Error, Ledger};

/// How to load the ledger.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Entries to append.
    pub entries: u64,
    /// Approximate stored size of each entry in bytes.
    pub size: usize,
    /// Concurrent appending threads.
    pub threads: usize,
    /// Entries each thread submits before waiting for durability.
    pub window: usize,
    /// Group-commit batch limit (`1`: one fsync per entry).
    pub max_batch: usize,
}

impl BenchOptions {
    /// Group commit with 4 threads of 512 in-flight entries each.
    pub fn new(entries: u64, size: usize) -> Self {
        Self { entries, size, threads: 4, window: 512, max_batch: 8192 }
    }
}

/// What a run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchReport {
    /// Entries appended and acknowledged.
    pub entries: u64,
    /// Stored bytes per entry (entry JSON, without record framing).
    pub entry_bytes: usize,
    /// Wall time.
    pub elapsed: Duration,
    /// Durable entries per second.
    pub per_sec: f64,
}

/// Runs the group-commit load with defaults; `dir` must be empty or absent.
pub fn bench(dir: &Path, entries: u64, size: usize) -> Result<BenchReport, Error> {
    bench_with(dir, &BenchOptions::new(entries, size))
}

/// A synthetic AI-call event padded so its stored entry is about `size` bytes.
pub fn synthetic_event(i: u64, size: usize) -> Event {
    let mut e = Event::new(
        Actor { id: format!("svc-{}", i % 16), kind: ActorKind::Service, role: "gateway".into(), session: None },
        "ai.completion",
        Outcome::Success,
    );
    e.resource = Some(Resource { kind: "model".into(), id: "m1".into() });
    e.request_id = Some(format!("req-{i}"));
    e.ai = Some(AiCall {
        model_id: "bench-model".into(),
        model_version: "1".into(),
        template_id: "t".into(),
        template_version: "1".into(),
        ..AiCall::default()
    });
    // Measured overhead of the other fields plus the id/seq/time the ledger adds.
    let base = serde_json::to_vec(&e).map_or(200, |v| v.len()) + 110;
    let pad = size.saturating_sub(base + 20);
    if let Some(ai) = e.ai.as_mut() {
        ai.parameters.insert("pad".into(), serde_json::Value::String("x".repeat(pad)));
    }
    e
}

/// Runs a load with explicit options.
pub fn bench_with(dir: &Path, opts: &BenchOptions) -> Result<BenchReport, Error> {
    if dir.exists() && std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?.next().is_some() {
        return Err(Error::NotEmpty(dir.to_path_buf()));
    }
    let mut seed = Zeroizing::new([0u8; 32]);
    getrandom::getrandom(seed.as_mut()).map_err(|_| Error::Invalid("OS random number generator failed".into()))?;
    let signer = CheckpointSigner::from_seed("phigate.bench/audit", &seed)?;
    let mut config = Config::new(dir);
    config.max_batch = opts.max_batch;
    config.checkpoint_interval = None;
    let ledger =
        Arc::new(Ledger::open(config, signer, Arc::new(crate::cipher::Refuse("bench entries carry no payload")))?);
    let threads = opts.threads.max(1) as u64;
    let window = opts.window.max(1) as u64;
    let entry_bytes = {
        let sample = synthetic_event(0, opts.size);
        serde_json::to_vec(&sample).map_or(0, |v| v.len()) + 90
    };
    let start = Instant::now();
    let results: Vec<Result<(), Error>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let ledger = Arc::clone(&ledger);
                s.spawn(move || -> Result<(), Error> {
                    let mine = opts.entries / threads + u64::from(t < opts.entries % threads);
                    let events: Vec<Event> =
                        (0..window.min(mine.max(1))).map(|i| synthetic_event(i, opts.size)).collect();
                    let mut done = 0;
                    while done < mine {
                        let n = window.min(mine - done);
                        let mut last = None;
                        for i in 0..n {
                            last = Some(ledger.submit(&events[(i as usize) % events.len()])?);
                        }
                        if let Some(p) = last {
                            ledger.wait(&p)?;
                        }
                        done += n;
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(Error::WriterFailed("bench thread panicked".into()))))
            .collect()
    });
    let elapsed = start.elapsed();
    results.into_iter().collect::<Result<Vec<()>, Error>>()?;
    let ledger = Arc::into_inner(ledger).ok_or_else(|| Error::Invalid("bench ledger still shared".into()))?;
    ledger.close()?;
    Ok(BenchReport {
        entries: opts.entries,
        entry_bytes,
        elapsed,
        per_sec: opts.entries as f64 / elapsed.as_secs_f64().max(1e-9),
    })
}
