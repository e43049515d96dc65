//! `phigate synth`: writes a synthetic corpus to a directory.
//!
//! Layout (see docs/synth.md): `bundles/patient-NNNNNN.json` (one FHIR
//! Bundle each), `bulk/<Type>.ndjson` (FHIR Bulk Data, one resource a line),
//! `notes.jsonl` (gold notes for `phigate deid eval`) and `manifest.json`.
//! Nothing generated is printed: only counts and the directory.
//!
//! Patients are generated and serialised on worker threads (patient *i*
//! depends only on the seed and *i*); one writer takes them in index order,
//! so the files are the same whatever the thread count.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use anyhow::{Context, bail};
use phigate_synth::{GENERATOR_VERSION, Generator, REFERENCE_DATE, SynthOptions, SynthPatient};
use serde_json::json;

use crate::cli::SynthArgs;

/// One patient, serialised and ready to write.
struct Serialised {
    id: String,
    bundle: Vec<u8>,
    /// `notes.jsonl` lines.
    notes: Vec<u8>,
    note_count: u64,
    span_types: Vec<&'static str>,
    /// (resourceType, one NDJSON line without the newline).
    resources: Vec<(String, Vec<u8>)>,
}

pub fn run(args: SynthArgs) -> anyhow::Result<()> {
    let (min, max) = (*args.notes_per_patient.start(), *args.notes_per_patient.end());
    let generator = Generator::new(SynthOptions {
        seed: args.seed,
        patients: args.patients,
        notes_per_patient: args.notes_per_patient,
    })?;
    let out = &args.out;
    prepare(out, args.force)?;
    let bundles = out.join("bundles");
    let bulk_dir = out.join("bulk");
    for dir in [&bundles, &bulk_dir] {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }

    let started = Instant::now();
    let mut progress = progress_bar(args.patients);
    let mut notes = create(&out.join("notes.jsonl"))?;
    let mut bulk: BTreeMap<String, (BufWriter<File>, u64)> = BTreeMap::new();
    let mut spans_by_type: BTreeMap<&'static str, u64> = BTreeMap::new();
    let (mut note_count, mut span_count) = (0u64, 0u64);

    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let mut receivers = Vec::with_capacity(workers);
        for w in 0..workers {
            let (tx, rx) = mpsc::sync_channel::<anyhow::Result<Serialised>>(16);
            receivers.push(rx);
            let generator = &generator;
            let total = args.patients;
            scope.spawn(move || {
                let mut index = w as u64;
                while index < total {
                    // A failed send means the writer stopped: stop too.
                    if tx.send(serialise(generator.patient(index))).is_err() {
                        return;
                    }
                    index += workers as u64;
                }
            });
        }
        for index in 0..args.patients {
            let rx = &receivers[(index % workers as u64) as usize];
            let patient = rx.recv().context("a generator thread stopped")??;
            let path = bundles.join(format!("{}.json", patient.id));
            let mut w = create(&path)?;
            w.write_all(&patient.bundle)?;
            w.write_all(b"\n")?;
            w.flush().with_context(|| format!("writing {}", path.display()))?;

            notes.write_all(&patient.notes)?;
            note_count += patient.note_count;
            span_count += patient.span_types.len() as u64;
            for t in patient.span_types {
                *spans_by_type.entry(t).or_default() += 1;
            }
            for (kind, line) in patient.resources {
                let (w, count) = match bulk.get_mut(&kind) {
                    Some(entry) => entry,
                    None => {
                        let w = create(&bulk_dir.join(format!("{kind}.ndjson")))?;
                        bulk.entry(kind).or_insert((w, 0))
                    }
                };
                w.write_all(&line)?;
                w.write_all(b"\n")?;
                *count += 1;
            }
            progress(index + 1);
        }
        Ok(())
    })?;

    notes.flush().context("writing notes.jsonl")?;
    let mut outputs = Vec::new();
    let mut resource_count = 0;
    for (kind, (mut w, count)) in bulk {
        w.flush().with_context(|| format!("writing bulk/{kind}.ndjson"))?;
        resource_count += count;
        outputs.push(json!({ "type": kind, "url": format!("bulk/{kind}.ndjson"), "count": count }));
    }

    let manifest = json!({
        "generator": "phigate-synth",
        "generator_version": GENERATOR_VERSION,
        "seed": args.seed,
        "patients": args.patients,
        "notes_per_patient": { "min": min, "max": max },
        "reference_date": REFERENCE_DATE.to_string(),
        "notes": note_count,
        "gold_spans": span_count,
        "gold_spans_by_type": spans_by_type,
        "resources": resource_count,
        "bundles": "bundles/patient-NNNNNN.json",
        "gold": "notes.jsonl",
        "output": outputs,
    });
    let mut w = create(&out.join("manifest.json"))?;
    serde_json::to_writer_pretty(&mut w, &manifest)?;
    w.write_all(b"\n")?;
    w.flush().context("writing manifest.json")?;

    if std::io::stderr().is_terminal() {
        eprint!("\r");
    }
    eprintln!(
        "{} patients, {note_count} notes, {span_count} gold spans, {resource_count} resources written to {} in {:.2} s",
        args.patients,
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Serialises each resource once: the NDJSON line, and the same bytes
/// spliced into the compact bundle text (serialising the bundle as a whole
/// would encode every resource a second time).
fn serialise(patient: SynthPatient) -> anyhow::Result<Serialised> {
    let SynthPatient { id, mut bundle, notes: gold } = patient;
    let entries = bundle["entry"].take();
    bundle["entry"] = json!([]);
    let mut resources = Vec::new();
    let mut spliced = Vec::with_capacity(64 * 1024);
    for (i, entry) in entries.as_array().into_iter().flatten().enumerate() {
        let resource = &entry["resource"];
        let kind = resource["resourceType"].as_str().context("bundle entry without resourceType")?.to_owned();
        let line = serde_json::to_vec(resource)?;
        if i > 0 {
            spliced.push(b',');
        }
        spliced.extend_from_slice(b"{\"fullUrl\":");
        serde_json::to_writer(&mut spliced, &entry["fullUrl"])?;
        spliced.extend_from_slice(b",\"resource\":");
        spliced.extend_from_slice(&line);
        spliced.push(b'}');
        resources.push((kind, line));
    }
    let shell = serde_json::to_vec(&bundle)?;
    // `"entry":[]` occurs once, as the key: inside strings quotes are escaped.
    const EMPTY: &[u8] = b"\"entry\":[]";
    let at =
        shell.windows(EMPTY.len()).position(|w| w == EMPTY).context("bundle has no entry array")? + EMPTY.len() - 1;
    let mut bundle_bytes = Vec::with_capacity(shell.len() + spliced.len());
    bundle_bytes.extend_from_slice(&shell[..at]);
    bundle_bytes.extend_from_slice(&spliced);
    bundle_bytes.extend_from_slice(&shell[at..]);

    let mut notes = Vec::new();
    let mut span_types = Vec::new();
    for note in &gold {
        serde_json::to_writer(&mut notes, note)?;
        notes.push(b'\n');
        span_types.extend(note.spans.iter().map(|s| s.kind.as_str()));
    }
    Ok(Serialised { id, bundle: bundle_bytes, notes, note_count: gold.len() as u64, span_types, resources })
}

fn create(path: &Path) -> anyhow::Result<BufWriter<File>> {
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    Ok(BufWriter::with_capacity(1 << 16, file))
}

/// Creates `dir`, or checks it is empty. With `force`, removes the files a
/// previous run wrote there (and only those), so no stale patient survives
/// from a larger earlier corpus.
fn prepare(dir: &Path, force: bool) -> anyhow::Result<()> {
    if !dir.exists() {
        return fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()));
    }
    if !dir.is_dir() {
        bail!("{} exists and is not a directory", dir.display());
    }
    let empty = fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?.next().is_none();
    if empty {
        return Ok(());
    }
    if !force {
        bail!("{} is not empty; pass --force to replace earlier synth output in it", dir.display());
    }
    let mut ours: Vec<PathBuf> = vec![dir.join("notes.jsonl"), dir.join("manifest.json")];
    for (sub, prefix, ext) in [("bundles", "patient-", "json"), ("bulk", "", "ndjson")] {
        let Ok(entries) = fs::read_dir(dir.join(sub)) else { continue };
        for entry in entries {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if name.starts_with(prefix) && path.extension().is_some_and(|e| e == ext) {
                ours.push(path);
            }
        }
    }
    for path in ours.iter().filter(|p| p.is_file()) {
        fs::remove_file(path).with_context(|| format!("removing {}", path.display()))?;
    }
    Ok(())
}

/// A one-line progress display on stderr when it is a terminal.
fn progress_bar(total: u64) -> impl FnMut(u64) {
    let terminal = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut last = Instant::now();
    move |done: u64| {
        if terminal && last.elapsed().as_millis() >= 200 {
            last = Instant::now();
            let rate = done as f64 / started.elapsed().as_secs_f64().max(1e-9);
            eprint!("\r  {done}/{total} patients, {rate:.0} patients/s   ");
        }
    }
}
