//! SIGKILL crash test: a child process appends under load and is killed at
//! random points; every entry it saw acknowledged must survive, and the
//! directory must verify after a restart.
//!
//! The child is this same test binary re-run with `--exact
//! crash::child_writer` and `PHIGATE_AUDIT_CRASH_DIR` set; without the
//! variable that test does nothing.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use phigate_audit::{Config, verify};
use rand::Rng;

use crate::harness::{TestCipher, ai_event, open_with};

const ENV_DIR: &str = "PHIGATE_AUDIT_CRASH_DIR";
const ROUNDS: usize = 24;

fn config(dir: &std::path::Path) -> Config {
    let mut c = Config::new(dir);
    // Small segments and frequent checkpoints so kills land in rolls and
    // checkpoint writes too.
    c.max_segment_bytes = 64 << 10;
    c.checkpoint_interval = Some(Duration::from_millis(20));
    c
}

#[test]
fn child_writer() {
    let Ok(dir) = std::env::var(ENV_DIR) else { return };
    let ledger = Arc::new(open_with(config(dir.as_ref()), Arc::new(TestCipher::default())));
    let deadline = Instant::now() + Duration::from_secs(20);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let ledger = Arc::clone(&ledger);
            std::thread::spawn(move || {
                let mut i = 0u64;
                while Instant::now() < deadline {
                    let req = format!("r{}-{t}-{i}", std::process::id());
                    let receipt = ledger.append(&ai_event("dr-a", "p1", &req, "CANARY")).unwrap();
                    // One write per line so a kill never splits an ACK.
                    let line = format!("ACK {} {req}\n", receipt.seq);
                    std::io::stdout().lock().write_all(line.as_bytes()).unwrap();
                    i += 1;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn acknowledged_entries_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut rng = rand::thread_rng();
    let mut acked: Vec<(u64, String)> = Vec::new();
    for round in 0..ROUNDS {
        let mut child = Command::new(&exe)
            .args(["--exact", "crash::child_writer", "--nocapture", "--test-threads=1"])
            .env(ENV_DIR, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let mut parts = line.split(' ');
                if parts.next() == Some("ACK")
                    && let (Some(seq), Some(req)) = (parts.next(), parts.next())
                {
                    got.push((seq.parse::<u64>().unwrap(), req.to_owned()));
                }
            }
            got
        });
        std::thread::sleep(Duration::from_millis(rng.gen_range(30..400)));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let got = reader.join().unwrap();
        acked.extend(got);

        // Restart: recovery must keep every acknowledged entry.
        let ledger = open_with(config(dir.path()), Arc::new(TestCipher::default()));
        for (seq, req) in &acked {
            let r = ledger.read(*seq).unwrap_or_else(|e| panic!("round {round}: acked seq {seq} lost: {e}"));
            assert_eq!(
                r.event.request_id.as_deref(),
                Some(req.as_str()),
                "round {round}: seq {seq} holds another entry"
            );
        }
        ledger.close().unwrap();
        let report = verify(dir.path()).unwrap_or_else(|e| panic!("round {round}: verify failed: {e}"));
        assert!(report.entries >= acked.len() as u64);
    }
    assert!(acked.len() > ROUNDS, "the child acknowledged too few entries to mean anything");
    let ledger = open_with(config(dir.path()), Arc::new(TestCipher::default()));
    let cuts = ledger.query(&phigate_audit::Query { action: Some("audit.recovery".into()), ..Default::default() });
    eprintln!(
        "{ROUNDS} kills, {} acknowledged entries all present, {} torn tails cut on restart, {} entries in the log",
        acked.len(),
        cuts.len(),
        ledger.size()
    );
    ledger.close().unwrap();
}
