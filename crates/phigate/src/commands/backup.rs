//! `phigate backup` and `phigate restore`.

use std::path::Path;

use phigate_store::backup::{restore_backup, write_backup};

use crate::cli::GlobalArgs;
use crate::{audit_log, wiring};

pub fn backup(global: &GlobalArgs, out: &Path) -> anyhow::Result<()> {
    let config = wiring::load_config(global)?;
    let backend = wiring::open_store(&config, false)?;
    let store = backend.sqlite()?;
    let s = audit_log::audited(&config, &backend, "store.backup", None, || Ok(write_backup(store, out)?))?;
    println!(
        "wrote {} ({} bytes; database {} bytes) sealed under key-encryption key {}; backup id {}",
        out.display(),
        s.archive_bytes,
        s.plaintext_bytes,
        s.kek_version,
        s.backup_id
    );
    println!("restoring it needs the same customer key ({})", store.keyring().provider().kind());
    Ok(())
}

pub fn restore(global: &GlobalArgs, from: &Path, force: bool) -> anyhow::Result<()> {
    let config = wiring::load_config(global)?;
    let provider = wiring::key_provider(&config, false)?;
    std::fs::create_dir_all(&config.data_dir)?;
    let s = restore_backup(from, provider.as_ref(), &config.database_path(), force)?;
    // Recorded after the fact: the ledger's keys live in the restored store.
    let backend = wiring::open_store(&config, false)?;
    let ledger = audit_log::open(&config, &backend)?;
    let resource = Some(("backup", s.backup_id.clone()));
    audit_log::record(&ledger, audit_log::operator(), "store.restore", resource, phigate_audit::Outcome::Success)?;
    ledger.close()?;
    println!(
        "restored backup {} taken {} ({} bytes) into {}",
        s.backup_id,
        s.created_at,
        s.bytes,
        config.database_path().display()
    );
    Ok(())
}
