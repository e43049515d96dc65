//! `phigate users …` and `phigate service-accounts …`. Every change is
//! recorded in the audit ledger (fail closed, as every admin command).

use std::time::Duration;

use anyhow::Context;
use phigate_identity::{Password, Role};

use crate::cli::{GlobalArgs, ServiceAccountsCommand, UsersCommand};
use crate::{access_wiring, audit_log, wiring};

fn roles(names: &[String]) -> Vec<Role> {
    names.iter().map(|r| Role::new(r.trim())).collect()
}

fn one_time_password() -> anyhow::Result<String> {
    let mut b = [0u8; 12];
    getrandom::getrandom(&mut b).map_err(|_| anyhow::anyhow!("random number generator failed"))?;
    Ok(hex::encode(b))
}

pub fn users(global: &GlobalArgs, cmd: UsersCommand) -> anyhow::Result<()> {
    let config = wiring::load_config(global)?;
    let backend = wiring::open_store(&config, false)?;
    let repo = backend.identity_repo();
    let access = access_wiring::build(&config, backend.store().as_ref(), repo.clone())?.access;
    match cmd {
        UsersCommand::List => {
            println!("{:<24} {:<28} {:<24} {:<5} state", "username", "display name", "roles", "mfa");
            for u in repo.users()? {
                let roles: Vec<&str> = u.roles.iter().map(Role::as_str).collect();
                println!(
                    "{:<24} {:<28} {:<24} {:<5} {}",
                    u.username,
                    u.display_name,
                    roles.join(","),
                    if u.totp_confirmed { "yes" } else { "no" },
                    if u.disabled { "disabled" } else { "active" }
                );
            }
        }
        UsersCommand::Add { username, name, roles: r } => {
            let password = one_time_password()?;
            let resource = Some(("user", username.clone()));
            audit_log::audited(&config, &backend, "user.create", resource, || {
                access.local.create_user(&username, &name, &Password::new(password.clone()), roles(&r))?;
                Ok(())
            })?;
            println!("created {username}; one-time password (shown once): {password}");
            println!("TOTP is enrolled at the first sign-in; change the password afterwards");
        }
        UsersCommand::Disable { username } => {
            let ended =
                audit_log::audited(&config, &backend, "user.disable", Some(("user", username.clone())), || {
                    Ok(access.local.set_disabled(&username, true)?)
                })?;
            println!("disabled {username}; ended {ended} sessions");
        }
        UsersCommand::ResetTotp { username } => {
            audit_log::audited(&config, &backend, "user.reset_totp", Some(("user", username.clone())), || {
                Ok(access.local.reset_totp(&username)?)
            })?;
            println!("cleared the TOTP of {username}; it enrolls again at the next sign-in");
        }
    }
    Ok(())
}

pub fn service_accounts(global: &GlobalArgs, cmd: ServiceAccountsCommand) -> anyhow::Result<()> {
    let config = wiring::load_config(global)?;
    let backend = wiring::open_store(&config, false)?;
    let access = access_wiring::build(&config, backend.store().as_ref(), backend.identity_repo())?.access;
    let fmt = |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    match cmd {
        ServiceAccountsCommand::Create { name, roles: r } => {
            let issued = audit_log::audited(
                &config,
                &backend,
                "service_account.create",
                Some(("service_account", name.clone())),
                || {
                    let account = access.services.create_account(&name, roles(&r))?;
                    Ok((account.id.clone(), access.services.issue(&account.id)?))
                },
            )?;
            let (id, key) = issued;
            println!("created {id}; key {} expires {}", key.key_id, fmt(key.expires_at));
            println!("API key (shown once; send as Authorization: Bearer …): {}", key.key.expose());
        }
        ServiceAccountsCommand::Rotate { account, grace_hours } => {
            let grace = Duration::from_secs(grace_hours.saturating_mul(3600));
            let key = audit_log::audited(
                &config,
                &backend,
                "service_account.rotate",
                Some(("service_account", account.clone())),
                || Ok(access.services.rotate(&account, Some(grace))?),
            )
            .context("rotating")?;
            println!(
                "new key {} expires {}; previous keys stay valid {grace_hours} h",
                key.key_id,
                fmt(key.expires_at)
            );
            println!("API key (shown once): {}", key.key.expose());
        }
        ServiceAccountsCommand::Revoke { key_id } => {
            audit_log::audited(&config, &backend, "service_key.revoke", Some(("service_key", key_id.clone())), || {
                Ok(access.services.revoke(&key_id)?)
            })?;
            println!("revoked {key_id}; it is refused from its next request on");
        }
        ServiceAccountsCommand::Keys { account } => {
            println!("{:<20} {:<27} {:<27} revoked", "key id", "created", "expires");
            for k in access.services.keys(&account)? {
                println!(
                    "{:<20} {:<27} {:<27} {}",
                    k.key_id,
                    fmt(k.created_at),
                    fmt(k.expires_at),
                    k.revoked_at.map(fmt).unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}
