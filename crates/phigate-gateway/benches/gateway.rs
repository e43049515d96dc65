//! Added latency of the gateway's logic for one 2 KiB chat request on the
//! de-identifying path: parse, detect (`contains_phi`), new vault, redact,
//! serialize for the backend, then restore the echoed answer whole and
//! streamed in 8-byte chunks. The budget is 2 ms p99 for all of it.
//!
//! `cargo bench -p phigate-gateway --bench gateway`
//! Prints p50/p99/max per stage over a few thousand requests. On a machine
//! shared with other jobs the tail is noisy: compare p50s across runs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use phigate_deid::Detector;
use phigate_gateway::Vault;
use phigate_gateway::openai::{self, Content};
use phigate_gateway::redact::{contains_phi, redact_chat};
use phigate_gateway::restore::{Restorer, restore_text};

fn prompt() -> String {
    let unit = "Pt seen by Dr. Ronayne on 3/14/2024 for follow-up of CHF. Daughter Suzette called 410-555-0142 \
                re: discharge. MRN 5583920. BP 120/80, HR 88, afebrile. Foley draining clear urine. \
                Plan: diurese, daily weights, transfer to Quartermain 2 when bed available.\n";
    let mut s = String::new();
    while s.len() < 2048 {
        s.push_str(unit);
    }
    s.truncate(2048);
    s
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort_unstable();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let detector = Detector::new();
    let body = serde_json::to_vec(&serde_json::json!({
        "model": "clinical-chat",
        "messages": [{"role": "system", "content": "You are a careful clinical assistant."},
                     {"role": "user", "content": prompt()}]
    }))
    .unwrap();
    let n = 3000;
    let mut total = Vec::with_capacity(n);
    let mut redact = Vec::with_capacity(n);
    let mut restore = Vec::with_capacity(n);
    for i in 0..n + 200 {
        let t0 = Instant::now();
        let original = openai::parse_chat_request(&body).unwrap();
        assert!(contains_phi(&detector, &original));
        let mut req = original.clone();
        let mut vault = Vault::new().unwrap();
        let t1 = Instant::now();
        redact_chat(&detector, &mut req, &mut vault).unwrap();
        let upstream = serde_json::to_vec(&req).unwrap();
        let t2 = Instant::now();
        let Some(Content::Text(echo)) = &req.messages[1].content else { unreachable!() };
        let whole = restore_text(&vault, echo);
        let mut r = Restorer::new(&vault);
        let mut streamed = String::with_capacity(whole.len());
        for chunk in echo.as_bytes().chunks(8) {
            streamed.push_str(&r.push(std::str::from_utf8(chunk).unwrap()));
        }
        streamed.push_str(&r.finish());
        let t3 = Instant::now();
        assert_eq!(streamed, whole);
        std::hint::black_box(upstream);
        if i >= 200 {
            total.push(t3 - t0);
            redact.push(t2 - t1);
            restore.push(t3 - t2);
        }
    }
    for (name, v) in
        [("total", &mut total), ("redact+serialize", &mut redact), ("restore (whole+stream)", &mut restore)]
    {
        let (p50, p99, max) = (percentile(v, 0.5), percentile(v, 0.99), percentile(v, 1.0));
        println!("{name:>24}: p50 {:>7.1} us  p99 {:>7.1} us  max {:>7.1} us", us(p50), us(p99), us(max));
    }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
