//! Single-thread detection throughput over the shared PhysioNet corpus.
//!
//! `cargo bench -p phigate-deid --bench detect`
//! Prints MB/s (10^6 bytes of UTF-8 text per second). Falls back to a
//! synthetic note, saying so, when `../shared` is absent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use phigate_deid::Detector;
use phigate_deid::eval::read_gold;

fn corpus() -> (Vec<String>, &'static str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/deid/physionet_deid_nursing.jsonl");
    match std::fs::File::open(&path) {
        Ok(f) => {
            let notes = read_gold(std::io::BufReader::new(f)).unwrap();
            let texts = notes.iter().map(|n| n.text.expose().clone()).collect();
            (texts, "PhysioNet nursing corpus (2,434 notes)")
        }
        Err(_) => {
            let unit = "Pt seen by Dr. Ronayne on 3/14. Daughter Suzette called 410-555-0142. \
                        BP 120/80, HR 88. Foley draining. Plan: transfer to Quartermain 2.\n";
            (vec![unit.repeat(2_000); 100], "synthetic notes (shared corpus not found)")
        }
    }
}

/// User+system CPU seconds of this process (Linux), so the figure stays
/// meaningful on a machine shared with other jobs; `None` elsewhere.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn main() {
    let (texts, what) = corpus();
    let bytes: usize = texts.iter().map(String::len).sum();
    let start = Instant::now();
    let detector = Detector::new();
    let warm = start.elapsed();
    let mut spans = 0usize;
    for t in &texts {
        spans += detector.detect(t).len();
    }
    let (per_pass, cpu, passes) = measure(&texts, |t| detector.detect(t).len());
    // The same run without the learned layer: what the classifier costs.
    let rules_only = Detector::new().with_classifier(None);
    let (rules_pass, _, _) = measure(&texts, |t| rules_only.detect(t).len());
    // What redaction detects: one pass, then a look at its own output.
    let (settled_pass, _, _) = measure(&texts, |t| detector.detect_settled(t).len());
    let split_pass = word_split_pass(&texts);
    println!("input: {what}, {bytes} bytes, {spans} spans per pass");
    println!("dictionary + regex start-up: {:.1} ms", warm.as_secs_f64() * 1e3);
    println!(
        "detect, single thread: {:.1} MB/s ({passes} passes, {:.1} ms per pass)",
        bytes as f64 / per_pass / 1e6,
        per_pass * 1e3
    );
    println!(
        "detect without the classifier layer, same run: {:.1} MB/s (the layer costs {:.0}% of the time)",
        bytes as f64 / rules_pass / 1e6,
        (1.0 - rules_pass / per_pass) * 100.0
    );
    println!(
        "settled detection (what redaction replaces), same run: {:.1} MB/s ({:.2}x the time of one pass)",
        bytes as f64 / settled_pass / 1e6,
        settled_pass / per_pass
    );
    // Session machines differ up to twofold in speed: a fixed, trivial job
    // timed in the same run says how fast this core is, so figures from two
    // machines can be compared through the ratio.
    println!(
        "machine baseline, same run: splitting the notes at ASCII whitespace runs at {:.0} MB/s; detection takes {:.1}x its time",
        bytes as f64 / split_pass / 1e6,
        per_pass / split_pass
    );
    if let Some(c) = cpu.filter(|c| *c > 0.0) {
        println!(
            "detect, single thread, per CPU-second: {:.1} MB/s (wall-clock figure is lower when other jobs share the cores)",
            bytes as f64 / c / 1e6
        );
    }
    // One machine-readable line for scripts/bench-deid (same figures as above).
    println!(
        "bench-deid-json {{\"shared_corpus\":{},\"bytes\":{bytes},\"passes\":{passes},\"startup_ms\":{:.1},\"mb_per_s_wall\":{:.3},\"baseline_mb_per_s\":{:.1},\"mb_per_s_cpu\":{}}}",
        what.starts_with("PhysioNet"),
        warm.as_secs_f64() * 1e3,
        bytes as f64 / per_pass / 1e6,
        bytes as f64 / split_pass / 1e6,
        cpu.filter(|c| *c > 0.0).map_or_else(|| "null".to_owned(), |c| format!("{:.3}", bytes as f64 / c / 1e6))
    );
}

/// Seconds per pass of the machine baseline: counting the words of every
/// note with `str::split_ascii_whitespace`, timed like `measure`.
fn word_split_pass(texts: &[String]) -> f64 {
    let mut passes = 0u32;
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(2) || passes < 5 {
        for t in texts {
            std::hint::black_box(std::hint::black_box(t).split_ascii_whitespace().count());
        }
        passes += 1;
    }
    t0.elapsed().as_secs_f64() / f64::from(passes)
}

/// Warms caches with one pass, then times whole passes of `detect` for at
/// least four seconds: (seconds per pass, CPU seconds per pass, passes).
fn measure(texts: &[String], detect: impl Fn(&str) -> usize) -> (f64, Option<f64>, u32) {
    for t in texts {
        std::hint::black_box(detect(t));
    }
    let mut passes = 0u32;
    let mut elapsed = Duration::ZERO;
    let cpu0 = cpu_seconds();
    while elapsed < Duration::from_secs(4) || passes < 5 {
        let t0 = Instant::now();
        for t in texts {
            std::hint::black_box(detect(std::hint::black_box(t)));
        }
        elapsed += t0.elapsed();
        passes += 1;
    }
    let cpu = cpu_seconds().zip(cpu0).map(|(b, a)| (b - a) / f64::from(passes));
    (elapsed.as_secs_f64() / f64::from(passes), cpu, passes)
}
