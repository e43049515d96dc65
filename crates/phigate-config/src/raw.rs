//! The configuration exactly as written: TOML mirrored one-to-one.
//!
//! Every field is optional here; defaults and checks live in validation, so
//! an environment override can fill what the file leaves out.

use serde::Deserialize;

use crate::ConfigError;

/// The whole file.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawConfig {
    pub data_dir: Option<String>,
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub log: RawLog,
    #[serde(default)]
    pub keys: RawKeys,
    #[serde(default)]
    pub store: RawStore,
    #[serde(default)]
    pub audit: RawAudit,
    #[serde(default)]
    pub identity: RawIdentity,
    #[serde(default)]
    pub gateway: RawGateway,
}

/// `[gateway]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawGateway {
    pub backends_file: Option<String>,
    pub templates_dir: Option<String>,
    pub models_dir: Option<String>,
    pub model_threads: Option<u64>,
    pub tokens_per_minute: Option<u64>,
}

/// `[identity]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawIdentity {
    pub jwt_issuer: Option<String>,
    pub jwt_audience: Option<String>,
    pub jwks_url: Option<String>,
    pub jwt_roles_claim: Option<String>,
    pub oidc_issuer: Option<String>,
    pub oidc_client_id: Option<String>,
    pub oidc_client_secret: Option<String>,
    pub oidc_redirect_uri: Option<String>,
    pub policy_file: Option<String>,
    pub service_key_days: Option<u64>,
}

/// `[audit]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawAudit {
    pub retention_days: Option<u64>,
    pub checkpoint_interval_secs: Option<u64>,
    pub witness_file: Option<String>,
    pub witness_url: Option<String>,
    pub alert_webhook: Option<String>,
}

/// `[store]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawStore {
    pub backend: Option<String>,
    pub postgres_url: Option<String>,
    pub postgres_schema: Option<String>,
}

/// `[server]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawServer {
    pub listen: Option<String>,
    pub tls_min_version: Option<String>,
    pub tls_cert: Option<String>,
    pub tls_key: Option<String>,
    pub shutdown_grace_secs: Option<u64>,
    pub max_body_bytes: Option<u64>,
}

/// `[log]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawLog {
    pub level: Option<String>,
    pub format: Option<String>,
}

/// `[keys]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawKeys {
    pub provider: Option<String>,
    pub cache_max_age_secs: Option<u64>,
    #[serde(default)]
    pub local_file: RawLocalFile,
    #[serde(default)]
    pub pkcs11: RawPkcs11,
    #[serde(default)]
    pub aws_kms: RawAwsKms,
}

/// `[keys.local_file]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawLocalFile {
    pub path: Option<String>,
}

/// `[keys.pkcs11]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawPkcs11 {
    pub module: Option<String>,
    pub token: Option<String>,
    pub pin: Option<String>,
    pub key_label: Option<String>,
}

/// `[keys.aws_kms]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawAwsKms {
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    pub alias_prefix: Option<String>,
}

impl RawConfig {
    /// Parses TOML text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let de = toml::Deserializer::new(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let key = if path.is_empty() || path == "." { "(document)".to_string() } else { path };
            let location = inner
                .span()
                .map(|s| {
                    let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                    format!(" (line {line})")
                })
                .unwrap_or_default();
            ConfigError::Invalid {
                origin: origin.to_string(),
                key,
                reason: format!("{}{location}", inner.message().trim_end()),
            }
        })
    }
}
