//! `phigate deid …`: detect, redact, eval. A contract other tools depend on.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use phigate_deid::eval::{EvalOptions, Split, evaluate_jsonl};
use phigate_deid::jsonl::{Progress, ReadOptions, detect_jsonl, redact_jsonl};
use phigate_deid::operators::PseudonymKey;
use phigate_deid::policy::{Operator, Policy};
use phigate_deid::{Deidentifier, Detector, PatientContext};

use crate::cli::{DeidCommand, GlobalArgs, RedactFormat};
use crate::wiring;

pub fn run(global: &GlobalArgs, cmd: DeidCommand) -> anyhow::Result<()> {
    match cmd {
        DeidCommand::Detect { input, output, lossy } => {
            let detector = Detector::new();
            let started = Instant::now();
            let summary = detect_jsonl(
                &detector,
                reader(&input)?,
                writer(&output)?,
                ReadOptions { lossy_utf8: lossy },
                progress_bar(),
            )?;
            finish(started, summary.records, summary.spans, summary.bytes, "spans found");
        }
        DeidCommand::Redact { policy, input, output, format, lossy } => {
            let policy = load_policy(&policy)?;
            let mut deid = Deidentifier::new(Detector::new(), policy.clone());
            if let Some(key) = pseudonym_key(global, &policy)? {
                deid = deid.with_key(key);
            }
            let started = Instant::now();
            match format {
                RedactFormat::Jsonl => {
                    let s = redact_jsonl(
                        &deid,
                        reader(&input)?,
                        writer(&output)?,
                        ReadOptions { lossy_utf8: lossy },
                        progress_bar(),
                    )?;
                    finish(started, s.records, s.spans, s.bytes, "identifiers replaced");
                }
                RedactFormat::Text => {
                    let mut raw = Vec::new();
                    reader(&input)?.read_to_end(&mut raw)?;
                    let text = if lossy {
                        String::from_utf8_lossy(&raw).into_owned()
                    } else {
                        String::from_utf8(raw).map_err(|e| {
                            anyhow::anyhow!(
                                "input is not UTF-8 at byte {} (pass --lossy to replace invalid bytes)",
                                e.utf8_error().valid_up_to()
                            )
                        })?
                    };
                    let out = deid.deidentify(&text, &mut PatientContext::new("text"))?;
                    let mut w = writer(&output)?;
                    w.write_all(out.as_bytes())?;
                    w.flush()?;
                }
                RedactFormat::Fhir => {
                    bail!("FHIR de-identification is not available in this build yet; use --format jsonl or text")
                }
            }
        }
        DeidCommand::Eval { gold, split, exclude_types, errors } => {
            let split: Split = split.parse()?;
            let opts = EvalOptions { split, exclude_types, collect_errors: errors, patient_memory: false };
            let detector = Detector::new();
            let report = evaluate_jsonl(&detector, reader(&gold)?, &opts)?;
            println!("{}", report.render());
        }
    }
    Ok(())
}

fn load_policy(name: &str) -> anyhow::Result<Policy> {
    if name.ends_with(".toml") {
        let text = std::fs::read_to_string(name).with_context(|| format!("reading policy {name}"))?;
        return Policy::from_toml(&text).with_context(|| format!("policy {name}"));
    }
    Policy::builtin(name)
        .with_context(|| format!("{name:?} is not a built-in policy (safe-harbor, limited-data-set) or a .toml file"))
}

/// The keyed-pseudonym key is a named data key of the store, so pseudonyms
/// are stable across runs and protected by the customer's KEK. Needed only
/// when the policy pseudonymizes.
fn pseudonym_key(global: &GlobalArgs, policy: &Policy) -> anyhow::Result<Option<PseudonymKey>> {
    if !policy.uses(Operator::Pseudonym) {
        return Ok(None);
    }
    let config = wiring::load_config(global)?;
    let backend = wiring::open_store(&config, false).context(
        "the pseudonym operator needs phigate's keys: point --data-dir at an initialized phigate (run `phigate demo` once)",
    )?;
    let (_, key) = backend.store().named_key("deid-pseudonym", "default")?;
    Ok(Some(PseudonymKey::new(key.expose_raw().to_vec())))
}

fn reader(path: &Path) -> anyhow::Result<Box<dyn BufRead>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(BufReader::new(std::io::stdin().lock())));
    }
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    Ok(Box::new(BufReader::with_capacity(1 << 20, file)))
}

fn writer(path: &PathBuf) -> anyhow::Result<Box<dyn Write>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(BufWriter::new(std::io::stdout().lock())));
    }
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    Ok(Box::new(BufWriter::with_capacity(1 << 20, file)))
}

/// A one-line progress display on stderr when it is a terminal.
fn progress_bar() -> impl FnMut(Progress) {
    let terminal = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut last = Instant::now();
    move |p: Progress| {
        if terminal && last.elapsed().as_millis() >= 200 {
            last = Instant::now();
            let mb = p.bytes as f64 / 1e6;
            eprint!(
                "\r  {} records, {mb:.1} MB, {:.1} MB/s   ",
                p.lines,
                mb / started.elapsed().as_secs_f64().max(1e-9)
            );
        }
    }
}

fn finish(started: Instant, records: u64, spans: u64, bytes: u64, what: &str) {
    let secs = started.elapsed().as_secs_f64();
    if std::io::stderr().is_terminal() {
        eprint!("\r");
    }
    eprintln!("{records} records, {spans} {what}, {:.1} MB in {secs:.2} s", bytes as f64 / 1e6);
}
