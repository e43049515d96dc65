//! phigate's configuration, in two stages (as ripgrep and linkerd do):
//!
//! 1. [`raw`]: exactly what the operator wrote, TOML mirrored one-to-one
//!    (`deny_unknown_fields`, so a typo is an error, not a silently ignored
//!    setting), then `PHIGATE_*` environment overrides from [`mod@env`].
//! 2. [`Config`]: validated, typed values (socket addresses, durations,
//!    enums). Nothing downstream re-parses strings.
//!
//! Every failure is a [`ConfigError`] naming the key (or environment
//! variable) and the reason, never a panic. Secure defaults throughout; the
//! only way to weaken one is a setting named `insecure_*`.
#![warn(missing_docs)]

pub mod env;
pub mod raw;
mod secret;
mod validate;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use env::{EnvSource, MapEnv};
pub use secret::Secret;

/// A configuration problem, located precisely enough to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or has a value of the wrong shape.
    #[error("{origin}: key `{key}`: {reason}")]
    Invalid {
        /// The file name or environment variable.
        origin: String,
        /// Dotted key path (`server.listen`), or `(document)`.
        key: String,
        /// What is wrong and what is expected.
        reason: String,
    },
}

/// Fully validated configuration.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Where phigate keeps its database, keys (local provider), certificates.
    pub data_dir: PathBuf,
    /// The HTTPS server.
    pub server: ServerConfig,
    /// Logging.
    pub log: LogConfig,
    /// Customer-managed keys.
    pub keys: KeysConfig,
    /// Where records are stored.
    pub store: StoreConfig,
    /// The audit ledger.
    pub audit: AuditConfig,
    /// Identity providers.
    pub identity: IdentityConfig,
    /// The AI gateway.
    pub gateway: GatewayConfig,
}

/// AI gateway settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GatewayConfig {
    /// The backend registry file; `None` means only the in-process models.
    pub backends_file: Option<PathBuf>,
    /// Directory of prompt templates; `None` means the built-in examples.
    pub templates_dir: Option<PathBuf>,
    /// Where the in-process model weights are (default `<data_dir>/models`).
    pub models_dir: PathBuf,
    /// Threads for in-process generation (default 1: on a busy 2-core host
    /// more threads spin-wait and get slower, not faster).
    pub model_threads: usize,
    /// Per-caller token budget per minute (prompt + completion, estimated).
    pub tokens_per_minute: u32,
}

/// Identity settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IdentityConfig {
    /// Bearer JWTs from the customer's IdP, when configured.
    pub jwt: Option<JwtConfig>,
    /// Browser sign-in at the customer's OpenID Provider, when configured.
    pub oidc: Option<OidcConfig>,
    /// The access policy file; `None` means the built-in default policy.
    pub policy_file: Option<PathBuf>,
    /// Lifetime of service-account API keys (at most 30 days).
    pub service_key_lifetime: Duration,
}

/// OpenID Connect browser sign-in (authorization code + PKCE).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OidcConfig {
    /// The provider's issuer URL (discovery at `/.well-known/openid-configuration`).
    pub issuer: String,
    /// phigate's client id there.
    pub client_id: String,
    /// phigate's client secret there (confidential client), if any.
    pub client_secret: Option<Secret>,
    /// The registered redirect URI: phigate's `/auth/oidc/callback`.
    pub redirect_uri: String,
}

/// Where bearer JWTs come from and what they must say.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JwtConfig {
    /// Required `iss`.
    pub issuer: String,
    /// Required `aud` (phigate's API identifier at the IdP).
    pub audience: String,
    /// The IdP's JWKS document.
    pub jwks_url: String,
    /// Claim holding role names.
    pub roles_claim: String,
}

/// Audit ledger settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AuditConfig {
    /// How long payloads are kept before their keys are shredded (default 6 years).
    pub retention: Duration,
    /// How often a checkpoint is signed while entries arrive.
    pub checkpoint_interval: Duration,
    /// Append every signed checkpoint to this file (ideally on other media).
    pub witness_file: Option<PathBuf>,
    /// POST every signed checkpoint note to this URL.
    pub witness_url: Option<String>,
    /// POST every alert (JSON) to this URL.
    pub alert_webhook: Option<String>,
}

/// The record store backend.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StoreConfig {
    /// One SQLite file in the data directory (the embedded default).
    Sqlite,
    /// A PostgreSQL database (loopback or Unix socket only for now).
    Postgres {
        /// libpq URL; may contain a password, hence secret.
        url: Secret,
        /// Schema holding phigate's tables.
        schema: String,
    },
}

/// HTTPS server settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Oldest TLS version accepted (1.2 or 1.3; never lower).
    pub tls_min_version: TlsVersion,
    /// PEM certificate chain; `None` means a self-signed certificate in the data dir.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// How long in-flight requests get to finish on shutdown.
    pub shutdown_grace: Duration,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
}

/// TLS protocol floor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsVersion {
    /// TLS 1.2 and 1.3.
    Tls12,
    /// TLS 1.3 only.
    Tls13,
}

/// Logging settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LogConfig {
    /// `tracing` filter directive, e.g. `info` or `phigate=debug,info`.
    pub level: String,
    /// Output format.
    pub format: LogFormat,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogFormat {
    /// One JSON object per line (the default: for log shippers).
    Json,
    /// Human-readable text.
    Text,
}

/// Key-provider settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct KeysConfig {
    /// Which provider holds the key-encryption keys.
    pub provider: KeyProviderConfig,
    /// How long an unwrapped data key may be reused before asking the provider again.
    pub cache_max_age: Duration,
}

/// One of the key providers, with its settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum KeyProviderConfig {
    /// A local key file (the embedded default).
    LocalFile {
        /// Path of the key file (mode 0600).
        path: PathBuf,
    },
    /// A PKCS#11 HSM.
    Pkcs11 {
        /// The PKCS#11 module (shared library).
        module: PathBuf,
        /// Token label.
        token: String,
        /// User PIN.
        pin: Secret,
        /// Label prefix of the KEK objects.
        key_label: String,
    },
    /// AWS KMS or a KMS-compatible endpoint.
    AwsKms {
        /// Endpoint URL (`https://kms.<region>.amazonaws.com`).
        endpoint: String,
        /// AWS region.
        region: String,
        /// Access key id.
        access_key_id: String,
        /// Secret access key.
        secret_access_key: Secret,
        /// Optional session token.
        session_token: Option<Secret>,
        /// Alias prefix of the KEK versions (`alias/<prefix>-v<N>`).
        alias_prefix: String,
    },
}

impl Config {
    /// Loads `file` (if given), applies environment overrides, validates.
    pub fn load(file: Option<&Path>, env: &dyn EnvSource) -> Result<Self, ConfigError> {
        let (mut raw, origin) = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
                (raw::RawConfig::parse(&text, &path.display().to_string())?, path.display().to_string())
            }
            None => (raw::RawConfig::default(), "defaults".to_string()),
        };
        env::apply_overrides(&mut raw, env)?;
        validate::validate(raw, &origin)
    }

    /// The SQLite database file.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("phigate.db")
    }
}
