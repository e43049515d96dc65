//! `phigate keys …`: KEK status, rotation, re-wrap, revocation.

use anyhow::bail;
use phigate_keys::{KekState, KekVersion};

use crate::cli::{GlobalArgs, KeysCommand};
use crate::{audit_log, wiring};

pub fn run(global: &GlobalArgs, cmd: KeysCommand) -> anyhow::Result<()> {
    let config = wiring::load_config(global)?;
    let backend = wiring::open_store(&config, false)?;
    let keyring = backend.keyring();
    let store = backend.store();
    match cmd {
        KeysCommand::Status => {
            let usage = store.key_usage()?;
            println!("key provider: {}", keyring.provider().kind());
            println!("{:<8} {:<9} {:<8} data keys", "version", "state", "current");
            for v in keyring.provider().versions()? {
                let count = usage.iter().find(|u| u.kek_version == v.version).map_or(0, |u| u.data_keys);
                let state = if v.state == KekState::Enabled { "enabled" } else { "disabled" };
                println!("{:<8} {:<9} {:<8} {count}", v.version.to_string(), state, if v.current { "yes" } else { "" });
            }
        }
        KeysCommand::Rotate => {
            let v = audit_log::audited(&config, &backend, "keys.rotate", None, || Ok(keyring.rotate()?))?;
            println!("created key-encryption key {v}; it is now current");
            println!("next: run `phigate keys rewrap` to re-wrap existing data keys under {v}");
        }
        KeysCommand::Rewrap => {
            let r = audit_log::audited(&config, &backend, "keys.rewrap", None, || Ok(store.rewrap_keys()?))?;
            println!(
                "re-wrapped {} data keys; {} already current; {} shredded (skipped)",
                r.rewrapped, r.already_current, r.shredded
            );
        }
        KeysCommand::Disable { kek_version, force } => {
            let version = KekVersion(kek_version);
            let still = store.key_usage()?.into_iter().find(|u| u.kek_version == version).map_or(0, |u| u.data_keys);
            if still > 0 && !force {
                bail!(
                    "{still} data keys are still wrapped under {version}; run `phigate keys rewrap` first, \
                     or pass --force to revoke them (their data stops opening until {version} is re-enabled)"
                );
            }
            let resource = Some(("kek", version.to_string()));
            audit_log::audited(&config, &backend, "keys.disable", resource, || Ok(keyring.disable(version)?))?;
            println!("disabled key-encryption key {version}; data keys wrapped under it now fail closed");
        }
    }
    Ok(())
}
