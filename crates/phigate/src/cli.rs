//! Command-line interface. A contract other tools depend on: keep it stable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// phigate: put AI to work on patient data without the data leaking, and prove it.
#[derive(Debug, Parser)]
#[command(name = "phigate", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Configuration file (TOML). PHIGATE_* environment variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory (database, local key file, certificates). Overrides config and PHIGATE_DATA_DIR.
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTPS API.
    Serve(ServeArgs),
    /// Run the embedded demo: creates data directory, keys and a self-signed certificate on first run, then serves HTTPS.
    Demo(ServeArgs),
    /// Manage customer-managed keys: status, rotation, re-wrap, revocation.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Write an encrypted, integrity-checked backup archive of the store.
    Backup {
        /// Archive to create (must not exist).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Restore the store from a backup archive (refuses tampered or wrong-key archives).
    Restore {
        /// Archive to restore.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        /// Replace an existing database (stop the server first).
        #[arg(long)]
        force: bool,
    },
    /// Subject (patient) operations.
    #[command(subcommand)]
    Subjects(SubjectsCommand),
    /// Configuration tools.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (IP:PORT; port 0 picks a free port). Overrides config and PHIGATE_LISTEN.
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<SocketAddr>,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Show KEK versions, their state, and how many data keys each wraps.
    Status,
    /// Create a new KEK version and make it current (then run `keys rewrap`).
    Rotate,
    /// Re-wrap every data key under the current KEK version (data is not re-encrypted).
    Rewrap,
    /// Revoke a KEK version: data keys still wrapped under it stop opening (fail closed).
    Disable {
        /// The KEK version to disable, e.g. `1` or `v1`.
        #[arg(value_name = "VERSION", value_parser = parse_kek_version)]
        kek_version: u32,
        /// Disable even though data keys are still wrapped under it.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SubjectsCommand {
    /// Crypto-shred a subject: destroys its data key; its records become unrecoverable. Irreversible.
    Shred {
        /// Subject id (s_ followed by 32 hex digits).
        #[arg(long)]
        subject: String,
        /// Confirm the irreversible operation.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration and print the effective values (secrets redacted).
    Check,
    /// List every PHIGATE_* environment variable and the key it overrides.
    Env,
}

fn parse_kek_version(text: &str) -> Result<u32, String> {
    text.strip_prefix('v')
        .unwrap_or(text)
        .parse()
        .map_err(|_| format!("{text:?} is not a key version (examples: 2, v2)"))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn kek_versions_parse_with_or_without_v() {
        assert_eq!(parse_kek_version("v3"), Ok(3));
        assert_eq!(parse_kek_version("3"), Ok(3));
        assert!(parse_kek_version("three").is_err());
    }
}
