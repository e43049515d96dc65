//! `phigate deid …`: detect, redact, eval. A contract other tools depend on.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use phigate_deid::eval::{EvalOptions, Split, evaluate, read_gold};
use phigate_deid::fhir::{FhirDeidentifier, FhirPolicy, PatientContexts};
use phigate_deid::jsonl::{Progress, ReadOptions, Summary, detect_jsonl, redact_jsonl_with_vault};
use phigate_deid::operators::PseudonymKey;
use phigate_deid::policy::{Operator, Policy};
use phigate_deid::{Deidentifier, Detector, PatientContext};

use super::output::Output;
use crate::cli::{DeidCommand, GlobalArgs, RedactFormat};
use crate::deid_vault::TokenVault;
use crate::wiring;

pub fn run(global: &GlobalArgs, cmd: DeidCommand) -> anyhow::Result<()> {
    match cmd {
        DeidCommand::Detect { input, output, lossy } => {
            let detector = Detector::new();
            let started = Instant::now();
            let mut out = Output::create(&output)?;
            let summary =
                detect_jsonl(&detector, reader(&input)?, &mut out, ReadOptions { lossy_utf8: lossy }, progress_bar())?;
            out.commit()?;
            finish(started, summary.records, summary.spans, summary.bytes, "spans found");
        }
        DeidCommand::Redact { policy: policy_name, input, output, format, lossy, fhir_policy, patient } => {
            if patient.is_some() && format != RedactFormat::Text {
                anyhow::bail!(
                    "--patient is for --format text; JSONL lines name their patient in `patient` or `subject`, \
                     FHIR resources in their subject reference"
                );
            }
            let policy = load_policy(&policy_name)?;
            let started = Instant::now();
            match format {
                RedactFormat::Jsonl => {
                    let (deid, mut vault) = text_deidentifier(global, policy)?;
                    let mut out = Output::create(&output)?;
                    let s = redact_jsonl_with_vault(
                        &deid,
                        reader(&input)?,
                        &mut out,
                        ReadOptions { lossy_utf8: lossy },
                        progress_bar(),
                        |issued| match vault.as_mut() {
                            Some(v) => v.remember(issued).map_err(|e| format!("{e:#}")),
                            None => Ok(()),
                        },
                    )?;
                    out.commit()?;
                    finish(started, s.records, s.spans, s.bytes, "identifiers replaced");
                    vault_summary(vault.as_ref());
                }
                RedactFormat::Text => {
                    let (deid, mut vault) = text_deidentifier(global, policy)?;
                    let mut raw = Vec::new();
                    reader(&input)?.read_to_end(&mut raw)?;
                    let text = utf8(raw, lossy)?;
                    let mut patient = PatientContext::new(patient.as_deref().unwrap_or("text"));
                    let out = deid.deidentify(&text, &mut patient)?;
                    // The originals are in the vault before the pseudonyms go out.
                    if let Some(v) = vault.as_mut() {
                        v.remember(patient.take_pseudonyms())?;
                    }
                    let mut w = Output::create(&output)?;
                    w.write_all(out.as_bytes())?;
                    w.commit()?;
                    vault_summary(vault.as_ref());
                }
                RedactFormat::Fhir => {
                    let (fhir, mut vault) = fhir_deidentifier(global, &policy_name, policy, fhir_policy.as_deref())?;
                    let s = redact_fhir(&fhir, &input, &output, lossy, vault.as_mut())?;
                    finish(started, s.records, s.spans, s.bytes, "values replaced");
                    vault_summary(vault.as_ref());
                }
            }
        }
        DeidCommand::Reidentify { reason, input, output } => super::reidentify::run(global, &input, &output, &reason)?,
        DeidCommand::Eval { gold, split, exclude_types, errors } => {
            let split: Split = split.parse()?;
            let opts = EvalOptions { split, exclude_types, collect_errors: errors, patient_memory: false };
            let detector = Detector::new();
            let notes = read_gold(reader(&gold)?)?;
            let report = evaluate(&detector, &notes, &opts);
            println!("{}", report.render());
            // Offsets and types only: the text itself may be PHI.
            for (what, cases) in [("miss", &report.misses), ("false-positive", &report.false_positives)] {
                for c in cases {
                    println!("{what}\t{}\t{}..{}\t{}", notes[c.note].id, c.start, c.end, c.kind);
                }
            }
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

/// The text engine, and the token vault when a store key is in use: keyed
/// pseudonyms are reversible only through it, and surrogates and date
/// offsets derived from the store key are the same in every run (so a
/// patient's notes and FHIR resources agree).
fn text_deidentifier(global: &GlobalArgs, policy: Policy) -> anyhow::Result<(Deidentifier, Option<TokenVault>)> {
    let keyed =
        if policy.uses(Operator::Pseudonym) || policy.uses(Operator::Surrogate) || policy.uses(Operator::DateShift) {
            engine_key(global, &policy)?
        } else {
            None
        };
    let deid = Deidentifier::new(Detector::new(), policy);
    Ok(match keyed {
        Some((key, vault)) => (deid.with_key(key), Some(vault)),
        None => (deid, None),
    })
}

/// The store's key for pseudonyms, surrogates and date offsets. Required
/// when the policy pseudonymizes; otherwise taken when a store is found,
/// else a key drawn for this run only (with a note saying so). Pointing
/// `--data-dir`/`--config` at a store that cannot be opened is an error.
fn engine_key(global: &GlobalArgs, policy: &Policy) -> anyhow::Result<Option<(PseudonymKey, TokenVault)>> {
    if policy.uses(Operator::Pseudonym) {
        return store_pseudonym_key(global).map(Some);
    }
    match store_pseudonym_key(global) {
        Ok(key) => Ok(Some(key)),
        Err(e) if global.data_dir.is_some() || global.config.is_some() => Err(e),
        Err(_) => {
            eprintln!(
                "note: no phigate store found: pseudonyms, surrogates and date offsets use a random key for this run \
                 only (pass --data-dir for ones that are stable across runs and shared by notes and FHIR)"
            );
            Ok(None)
        }
    }
}

/// Tells the operator where this run's reversibility lives.
fn vault_summary(vault: Option<&TokenVault>) {
    if let Some(subject) = vault.and_then(TokenVault::subject) {
        eprintln!(
            "{} pseudonyms stored in the token vault under subject {subject}: reverse with \
             `phigate deid reidentify --reason …`, remove this run's copy with `phigate subjects shred --subject {subject} --yes` \
             (a pseudonym that other runs also issued stays reversible until their subjects are shredded too)",
            vault.map_or(0, TokenVault::len)
        );
    }
}

/// The FHIR engine: the text policy for free text, the FHIR policy from
/// `--fhir-policy` or the built-in named like the text policy. Ids and
/// references are always keyed: with the store's key when a store is
/// configured (stable across runs), else with a key drawn for this run.
fn fhir_deidentifier(
    global: &GlobalArgs,
    policy_name: &str,
    policy: Policy,
    fhir_policy: Option<&Path>,
) -> anyhow::Result<(FhirDeidentifier, Option<TokenVault>)> {
    let fhir_policy = match fhir_policy {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            FhirPolicy::from_toml(&text).with_context(|| format!("FHIR policy {}", path.display()))?
        }
        None => FhirPolicy::builtin(policy_name).unwrap_or_else(|_| {
            eprintln!(
                "note: no built-in FHIR policy is named {policy_name:?}; using safe-harbor (or pass --fhir-policy)"
            );
            FhirPolicy::safe_harbor()
        }),
    };
    let key = engine_key(global, &policy)?;
    let deid = Deidentifier::new(Detector::new(), policy);
    Ok(match key {
        Some((key, vault)) => (FhirDeidentifier::new(deid.with_key(key), fhir_policy), Some(vault)),
        None => (FhirDeidentifier::new(deid, fhir_policy), None),
    })
}

/// `--format fhir`. NDJSON when the file is named `.ndjson`/`.jsonl` or
/// when the first line is a whole JSON object and more follows; otherwise
/// one JSON document (a resource or Bundle), written back pretty-printed
/// (or on one line when it came on one line).
/// A NDJSON file (not standard input) is read twice so every Patient's
/// identifiers are known before any line is de-identified.
///
/// Pseudonyms reach the vault once the whole input is done; an output file
/// appears only after that (on standard output NDJSON streams as it goes,
/// so there a vault failure fails the command after the lines are out).
fn redact_fhir(
    fhir: &FhirDeidentifier,
    input: &Path,
    output: &Path,
    lossy: bool,
    vault: Option<&mut TokenVault>,
) -> anyhow::Result<Summary> {
    let opts = ReadOptions { lossy_utf8: lossy };
    let mut r = reader(input)?;
    let mut first = Vec::new();
    r.read_until(b'\n', &mut first)?;
    let first_is_object = serde_json::from_slice::<serde_json::Value>(&first).is_ok_and(|v| v.is_object());
    loop {
        let buf = r.fill_buf()?;
        let blank = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
        if blank == 0 {
            break;
        }
        r.consume(blank);
    }
    let more = !r.fill_buf()?.is_empty();
    let named_ndjson = input.extension().is_some_and(|e| e == "ndjson" || e == "jsonl");
    let mut patients = PatientContexts::new();
    if named_ndjson || (first_is_object && more) {
        if input.as_os_str() != "-" {
            fhir.learn_patients_ndjson(reader(input)?, &mut patients, opts)?;
        }
        let stream = std::io::Cursor::new(first).chain(r);
        let mut out = Output::create(output)?;
        let summary = fhir.deidentify_ndjson(stream, &mut out, &mut patients, opts, progress_bar())?;
        if let Some(v) = vault {
            v.remember(patients.take_pseudonyms())?;
        }
        out.commit()?;
        return Ok(summary);
    }
    let mut raw = first;
    r.read_to_end(&mut raw)?;
    let bytes = raw.len() as u64;
    let text = utf8(raw, lossy)?;
    // serde_json's message names the position, never the input.
    let mut doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("input is not a JSON document (line {}, column {})", e.line(), e.column()))?;
    let changed = fhir.deidentify(&mut doc, &mut patients)?;
    if let Some(v) = vault {
        v.remember(patients.take_pseudonyms())?;
    }
    let mut w = Output::create(output)?;
    // One line in, one line out: a single-resource NDJSON stays NDJSON.
    if text.trim_end().contains('\n') {
        serde_json::to_writer_pretty(&mut w, &doc)?;
    } else {
        serde_json::to_writer(&mut w, &doc)?;
    }
    w.write_all(b"\n")?;
    w.commit()?;
    Ok(Summary { records: 1, spans: changed, bytes })
}

/// Whole-input text: invalid UTF-8 is an error naming the byte offset
/// (never the bytes), unless the operator asked for lossy decoding.
fn utf8(raw: Vec<u8>, lossy: bool) -> anyhow::Result<String> {
    if lossy {
        return Ok(String::from_utf8_lossy(&raw).into_owned());
    }
    String::from_utf8(raw).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = 1 + e.as_bytes()[..at].iter().filter(|b| **b == b'\n').count();
        anyhow::anyhow!("input is not UTF-8 at line {line} (byte {at}); pass --lossy to replace invalid bytes")
    })
}

/// The store's pseudonym key (a named data key, so it is protected by the
/// customer's KEK) and a token vault in the same store.
fn store_pseudonym_key(global: &GlobalArgs) -> anyhow::Result<(PseudonymKey, TokenVault)> {
    let config = wiring::load_config(global)?;
    let backend = wiring::open_store(&config, false).context(
        "keyed pseudonyms and run-stable surrogates need phigate's keys: point --data-dir at an initialized phigate \
         (run `phigate demo` once)",
    )?;
    let store = backend.store();
    let (_, key) = store.named_key("deid-pseudonym", "default")?;
    Ok((PseudonymKey::new(key.expose_raw().to_vec()), TokenVault::new(store)))
}

pub(super) fn reader(path: &Path) -> anyhow::Result<Box<dyn BufRead>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(BufReader::new(std::io::stdin().lock())));
    }
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    Ok(Box::new(BufReader::with_capacity(1 << 20, file)))
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
