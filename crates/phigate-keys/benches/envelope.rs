//! Sealing + opening 4 KiB records through the key crate, as a ratio to raw
//! AES-256-GCM from the same crate (`aes-gcm`), measured in the same run.
//!
//! Run: `cargo bench -p phigate-keys --bench envelope`. Target: ratio ≥ 0.8.
//!
//! Baseline: `Aes256Gcm` encrypt + decrypt in place with a fixed nonce, no
//! allocation (the cheapest possible use of the cipher). Subject: what the
//! store does per record: keyring lookup (cached data key), `DataKey::seal`
//! (random nonce, associated data, header, allocation) and `DataKey::open`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use phigate_keys::provider::local_file::LocalFileProvider;
use phigate_keys::{Aad, Keyring};

const RECORD: usize = 4096;
const ROUNDS: usize = 7;
const ROUND_TIME: Duration = Duration::from_millis(700);

/// Runs `f` repeatedly for about `ROUND_TIME`; returns operations per second.
fn rate(mut f: impl FnMut()) -> f64 {
    for _ in 0..200 {
        f();
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < ROUND_TIME {
        for _ in 0..100 {
            f();
        }
        n += 100;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let provider = Arc::new(LocalFileProvider::open_or_create(&dir.path().join("kek.json")).expect("key file"));
    let keyring = Keyring::new(provider, Duration::from_secs(3600));
    let (_, wrapped) = keyring.create(1, b"bench").expect("data key");
    let aad = Aad { kind: "patient", id: "s_0123456789abcdef/42", field: "body" };
    let record = vec![0x5au8; RECORD];

    let raw_key = [7u8; 32];
    let raw = Aes256Gcm::new(&raw_key.into());
    let nonce = [1u8; 12];
    let mut buf = record.clone();

    let mut baseline = Vec::new();
    let mut subject = Vec::new();
    for _ in 0..ROUNDS {
        baseline.push(rate(|| {
            let tag = raw.encrypt_in_place_detached(Nonce::from_slice(&nonce), b"ad", &mut buf).expect("encrypt");
            raw.decrypt_in_place_detached(Nonce::from_slice(&nonce), b"ad", &mut buf, &tag).expect("decrypt");
            black_box(&buf);
        }));
        subject.push(rate(|| {
            let key = keyring.open(1, &wrapped, b"bench").expect("open key");
            let sealed = key.seal(42, &aad, black_box(&record)).expect("seal");
            let plain = key.open(42, &aad, &sealed).expect("open");
            black_box(plain);
        }));
    }
    let (b, s) = (median(baseline), median(subject));
    let mb = |ops: f64| ops * RECORD as f64 / 1e6;
    println!("envelope bench: seal+open of {RECORD}-byte records, median of {ROUNDS} interleaved rounds");
    println!("  raw aes-gcm (baseline)      {b:>10.0} ops/s  {:>7.0} MB/s", mb(b));
    println!("  phigate-keys envelope       {s:>10.0} ops/s  {:>7.0} MB/s", mb(s));
    let ratio = s / b;
    println!(
        "  ratio envelope/raw          {ratio:>10.3}   (target >= 0.80: {})",
        if ratio >= 0.8 { "PASS" } else { "FAIL" }
    );
}
