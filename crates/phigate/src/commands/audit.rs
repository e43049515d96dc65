//! `phigate audit …`: verify, prove, export, trace, bench, purge.

use std::io::Write;

use anyhow::{Context, bail};
use phigate_audit::{Ledger, VerifyOptions};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cli::{AuditCommand, GlobalArgs};
use crate::{audit_log, wiring};

pub fn run(global: &GlobalArgs, cmd: AuditCommand) -> anyhow::Result<()> {
    let config = wiring::load_config(global)?;
    let dir = audit_log::dir(&config);
    match cmd {
        AuditCommand::Verify { witness, vkey } => {
            let mut opts = VerifyOptions::default();
            if let Some(path) = witness {
                opts = opts.with_witness_file(&path)?;
            }
            if let Some(path) = vkey {
                let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
                opts.verifier = Some(phigate_audit::NoteVerifier::parse(&text)?);
            }
            let started = std::time::Instant::now();
            // The error names the first bad entry or checkpoint and its location.
            let report = phigate_audit::verify_with(&dir, &opts).context("audit verification FAILED")?;
            let secs = started.elapsed().as_secs_f64();
            println!(
                "audit verification passed: {} entries in {} segments, {} signed checkpoints, root {}",
                report.entries,
                report.segments,
                report.checkpoints,
                report.root.to_hex()
            );
            if report.entries >= 10_000 {
                println!("  verified in {secs:.2} s: {:.0} entries/s", report.entries as f64 / secs);
            }
        }
        AuditCommand::Prove { seq, size } => {
            let ledger = Ledger::open_read_only(&dir)?;
            // By default, prove against the latest *signed* checkpoint, so the
            // proof verifies against a note a witness can hold, not an
            // unsigned root of the moment.
            let checkpoint = ledger.latest_checkpoint();
            let size = size.or(checkpoint.as_ref().map(|c| c.checkpoint.size));
            let proof = ledger.prove(seq, size)?;
            let size = proof.size;
            let note = checkpoint.filter(|c| c.checkpoint.size == size).map(|c| c.note);
            let out = serde_json::json!({
                "seq": seq,
                "leaf_hash": ledger.leaf_hash(seq)?.to_hex(),
                "tree_size": size,
                "root": ledger.root_at(size)?.to_hex(),
                "inclusion_proof": proof,
                "signed_checkpoint": note,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        AuditCommand::Export { since, until, out } => {
            let ledger = Ledger::open_read_only(&dir)?;
            let since = since.as_deref().map(parse_time).transpose()?;
            let until = until.as_deref().map(parse_time).transpose()?;
            let n = match out {
                Some(path) if path.as_os_str() != "-" => {
                    let mut file = std::io::BufWriter::new(
                        std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?,
                    );
                    let n = phigate_audit::export_fhir(&ledger, since, until, &mut file)?;
                    file.flush()?;
                    n
                }
                _ => phigate_audit::export_fhir(&ledger, since, until, &mut std::io::stdout().lock())?,
            };
            eprintln!("exported {n} AuditEvent resources");
        }
        AuditCommand::Trace { request } => {
            let ledger = Ledger::open_read_only(&dir)?;
            let records = ledger.trace(&request)?;
            if records.is_empty() {
                bail!("no audit entries for request {request:?}");
            }
            let mut stdout = std::io::stdout().lock();
            for record in records {
                writeln!(stdout, "{}", serde_json::to_string(&record)?)?;
            }
        }
        AuditCommand::Bench { entries, size } => {
            std::fs::create_dir_all(&config.data_dir)?;
            let scratch = tempfile::Builder::new().prefix("audit-bench").tempdir_in(&config.data_dir)?;
            println!("durable appends of {entries} entries of {size} bytes (group commit, one fsync per batch)…");
            let report = phigate_audit::bench(scratch.path(), entries, size)?;
            println!(
                "{} durable entries of {} bytes in {:.2} s: {:.0} entries/s",
                report.entries,
                report.entry_bytes,
                report.elapsed.as_secs_f64(),
                report.per_sec
            );
        }
        AuditCommand::Purge => {
            let backend = wiring::open_store(&config, false)?;
            let ledger = audit_log::open(&config, &backend)?;
            let purged = ledger.purge_expired(OffsetDateTime::now_utc())?;
            println!("retention purge: shredded the payload keys of {} subjects past retention", purged.len());
        }
    }
    Ok(())
}

fn parse_time(text: &str) -> anyhow::Result<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t);
    }
    let date = time::Date::parse(text, time::macros::format_description!("[year]-[month]-[day]"))
        .with_context(|| format!("{text:?} is not an RFC 3339 time or a YYYY-MM-DD date"))?;
    Ok(date.midnight().assume_utc())
}
