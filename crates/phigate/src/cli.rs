//! Command-line interface. A contract other tools depend on: keep it stable.

use std::net::SocketAddr;
use std::ops::RangeInclusive;
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
    /// De-identification: detect, redact, evaluate.
    #[command(subcommand)]
    Deid(DeidCommand),
    /// The tamper-evident audit ledger.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Local user accounts (the embedded identity provider).
    #[command(subcommand)]
    Users(UsersCommand),
    /// Service accounts and their API keys (at most 30 days each).
    #[command(subcommand, name = "service-accounts")]
    ServiceAccounts(ServiceAccountsCommand),
    /// Subject (patient) operations.
    #[command(subcommand)]
    Subjects(SubjectsCommand),
    /// Configuration tools.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Generate synthetic patients: FHIR R4 bundles, Bulk Data NDJSON, and clinical notes with gold PHI spans.
    Synth(SynthArgs),
}

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Number of patients (at least 1).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub patients: u64,
    /// Output directory (created if missing; must be empty unless --force).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Seed: the same seed, patients and notes range give byte-identical output.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Notes per patient: N, or MIN..MAX (inclusive).
    #[arg(long, value_name = "MIN..MAX", default_value = "1..3", value_parser = parse_note_range)]
    pub notes_per_patient: RangeInclusive<usize>,
    /// Write into a non-empty directory, replacing earlier synth output there.
    #[arg(long)]
    pub force: bool,
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
pub enum DeidCommand {
    /// Find identifiers: `{"id","text"}` JSONL in, `{"id","spans":[{start,end,type}]}` out (Unicode-character offsets).
    Detect {
        /// Input JSONL (`-` for standard input).
        #[arg(long, value_name = "IN.jsonl")]
        input: PathBuf,
        /// Output JSONL (`-` for standard output).
        #[arg(long, value_name = "OUT.jsonl")]
        output: PathBuf,
        /// Replace invalid UTF-8 with U+FFFD instead of failing the line.
        #[arg(long)]
        lossy: bool,
    },
    /// Replace identifiers under a policy (`safe-harbor`, `limited-data-set`, or a TOML file).
    Redact {
        /// Built-in policy name or a policy .toml file.
        #[arg(long, default_value = "safe-harbor")]
        policy: String,
        /// Input (`-` for standard input).
        #[arg(long)]
        input: PathBuf,
        /// Output (`-` for standard output).
        #[arg(long)]
        output: PathBuf,
        /// Input format.
        #[arg(long, value_enum, default_value_t = RedactFormat::Jsonl)]
        format: RedactFormat,
        /// Replace invalid UTF-8 with U+FFFD instead of failing.
        #[arg(long)]
        lossy: bool,
        /// FHIR element policy (.toml) for `--format fhir`; default: the built-in named by --policy.
        #[arg(long, value_name = "FILE.toml")]
        fhir_policy: Option<PathBuf>,
        /// Whose text it is (`--format text`): the FHIR Patient.id, so surrogates and the date offset match
        /// that patient's FHIR resources and JSONL notes (JSONL lines say it in `patient` or `subject`).
        #[arg(long, value_name = "ID")]
        patient: Option<String>,
    },
    /// Reverse keyed pseudonyms (`[MRN-3f2a0c9b1d]`) through the token vault; audited, with a stated reason.
    Reidentify {
        /// Why (a ticket or protocol number; sealed in the audit ledger).
        #[arg(long)]
        reason: String,
        /// Text holding pseudonyms (`-` for standard input).
        #[arg(long, default_value = "-")]
        input: PathBuf,
        /// Where to write the re-identified text (`-` for standard output).
        #[arg(long, default_value = "-")]
        output: PathBuf,
    },
    /// Score detection against gold spans: entity- and character-level recall, precision, F1, per type.
    Eval {
        /// Gold JSONL (`{"id","text","spans":[{start,end,type}],"patient"}`).
        #[arg(long, value_name = "GOLD.jsonl")]
        gold: PathBuf,
        /// `train`, `test` (patients with number % 4 == 3) or `all`.
        #[arg(long, default_value = "all")]
        split: String,
        /// Gold types to leave out (repeatable), e.g. DateYear for a Safe Harbor view.
        #[arg(long = "exclude-types", value_delimiter = ',')]
        exclude_types: Vec<String>,
        /// List every miss and false positive (offsets only).
        #[arg(long)]
        errors: bool,
    },
}

/// Input formats of `deid redact`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RedactFormat {
    /// One `{"id","text","patient"?}` object per line.
    Jsonl,
    /// The whole input is one text.
    Text,
    /// FHIR R4: one resource or Bundle (JSON), or Bulk Data NDJSON (one resource per line).
    Fhir,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the whole tree, check every checkpoint signature and consistency; exit 0 only if all holds.
    Verify {
        /// Also check checkpoints a witness stored in this file.
        #[arg(long, value_name = "FILE")]
        witness: Option<PathBuf>,
        /// Trusted log key (vkey text) kept outside the data directory.
        #[arg(long, value_name = "FILE")]
        vkey: Option<PathBuf>,
    },
    /// Print the inclusion proof of entry SEQ (JSON).
    Prove {
        /// Entry sequence number.
        #[arg(long)]
        seq: u64,
        /// Tree size to prove against (default: current size).
        #[arg(long)]
        size: Option<u64>,
    },
    /// Export entries as FHIR R4 AuditEvent NDJSON.
    Export {
        /// From this time (RFC 3339 or YYYY-MM-DD), inclusive.
        #[arg(long)]
        since: Option<String>,
        /// Until this time (RFC 3339 or YYYY-MM-DD), exclusive.
        #[arg(long)]
        until: Option<String>,
        /// Output file (default: standard output).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Reconstruct every entry of one request (the full chain of one AI answer).
    Trace {
        /// Request id.
        #[arg(long)]
        request: String,
    },
    /// Durable append load generator: prints entries/s.
    Bench {
        /// Number of entries.
        #[arg(long, default_value_t = 100_000)]
        entries: u64,
        /// Entry payload size in bytes.
        #[arg(long, default_value_t = 1024)]
        size: usize,
    },
    /// Retention purge: shred payload keys of subjects past the retention period.
    Purge,
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// List accounts with their roles and MFA state.
    List,
    /// Create an account; prints a one-time password (TOTP is enrolled at first sign-in).
    Add {
        /// Sign-in name.
        #[arg(long)]
        username: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Role (repeatable): clinician, triage, researcher, privacy_officer, administrator.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
    },
    /// Disable an account (its sessions end at once).
    Disable {
        /// Sign-in name.
        #[arg(long)]
        username: String,
    },
    /// Clear an account's TOTP so it enrolls again at next sign-in.
    ResetTotp {
        /// Sign-in name.
        #[arg(long)]
        username: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ServiceAccountsCommand {
    /// Create a service account and issue its first key (printed once).
    Create {
        /// Name (letters, digits, - and _).
        #[arg(long)]
        name: String,
        /// Role (repeatable), usually `service`.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
    },
    /// Issue a new key and keep the old ones valid for a grace period (overlapping rotation).
    Rotate {
        /// Account id (`service:<name>`).
        #[arg(long)]
        account: String,
        /// Hours the previous keys stay valid.
        #[arg(long, default_value_t = 24)]
        grace_hours: u64,
    },
    /// Revoke one key; refused from its next request on.
    Revoke {
        /// Key id.
        #[arg(long)]
        key_id: String,
    },
    /// List an account's keys (ids, expiry, revocation; never the secret).
    Keys {
        /// Account id (`service:<name>`).
        #[arg(long)]
        account: String,
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

/// `3` or `1..3` (also `1..=3`), both ends inclusive.
fn parse_note_range(text: &str) -> Result<RangeInclusive<usize>, String> {
    let bad = || format!("{text:?} is not a note count (examples: 2, 1..3)");
    let number = |s: &str| s.trim().parse::<usize>().map_err(|_| bad());
    match text.split_once("..") {
        Some((min, max)) => Ok(number(min)?..=number(max.strip_prefix('=').unwrap_or(max))?),
        None => number(text).map(|n| n..=n),
    }
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

    #[test]
    fn note_ranges_parse() {
        assert_eq!(parse_note_range("2"), Ok(2..=2));
        assert_eq!(parse_note_range("1..3"), Ok(1..=3));
        assert_eq!(parse_note_range("0..=4"), Ok(0..=4));
        assert!(parse_note_range("1-3").is_err() && parse_note_range("..3").is_err());
    }
}
