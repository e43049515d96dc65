//! Every `PHIGATE_*` environment variable, in one place.
//!
//! Environment overrides beat the file, command-line flags beat both. The
//! process environment is read only by the binary, through [`EnvSource`], so
//! tests pass a [`MapEnv`] and never mutate global state.

use std::collections::HashMap;

use crate::ConfigError;
use crate::raw::RawConfig;

/// Where environment variables come from.
pub trait EnvSource {
    /// The value of `name`, if set.
    fn var(&self, name: &str) -> Option<String>;
}

/// An environment given as a map (tests, embedding).
#[derive(Debug, Default, Clone)]
pub struct MapEnv(pub HashMap<String, String>);

impl EnvSource for MapEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

impl<const N: usize> From<[(&str, &str); N]> for MapEnv {
    fn from(pairs: [(&str, &str); N]) -> Self {
        Self(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }
}

/// One override: variable name, the key it sets, and how.
struct Override {
    var: &'static str,
    key: &'static str,
    apply: fn(&mut RawConfig, String) -> Result<(), String>,
}

fn number(value: &str) -> Result<u64, String> {
    value.trim().parse().map_err(|_| format!("expected a whole number, got {value:?}"))
}

/// Sets a text field of the raw configuration.
macro_rules! text {
    ($($field:ident).+) => {
        |r: &mut RawConfig, v: String| {
            r.$($field).+ = Some(v);
            Ok(())
        }
    };
}

/// Sets a whole-number field of the raw configuration.
macro_rules! number {
    ($($field:ident).+) => {
        |r: &mut RawConfig, v: String| {
            r.$($field).+ = Some(number(&v)?);
            Ok(())
        }
    };
}

/// Every supported variable, named after the key it overrides. Kept as a
/// table so `phigate config env` and the docs list exactly these.
const OVERRIDES: &[Override] = &[
    Override { var: "PHIGATE_DATA_DIR", key: "data_dir", apply: text!(data_dir) },
    Override { var: "PHIGATE_LISTEN", key: "server.listen", apply: text!(server.listen) },
    Override { var: "PHIGATE_TLS_MIN_VERSION", key: "server.tls_min_version", apply: text!(server.tls_min_version) },
    Override { var: "PHIGATE_TLS_CERT", key: "server.tls_cert", apply: text!(server.tls_cert) },
    Override { var: "PHIGATE_TLS_KEY", key: "server.tls_key", apply: text!(server.tls_key) },
    Override {
        var: "PHIGATE_SHUTDOWN_GRACE_SECS",
        key: "server.shutdown_grace_secs",
        apply: number!(server.shutdown_grace_secs),
    },
    Override { var: "PHIGATE_MAX_BODY_BYTES", key: "server.max_body_bytes", apply: number!(server.max_body_bytes) },
    Override { var: "PHIGATE_LOG_LEVEL", key: "log.level", apply: text!(log.level) },
    Override { var: "PHIGATE_LOG_FORMAT", key: "log.format", apply: text!(log.format) },
    Override { var: "PHIGATE_STORE_BACKEND", key: "store.backend", apply: text!(store.backend) },
    Override { var: "PHIGATE_STORE_POSTGRES_URL", key: "store.postgres_url", apply: text!(store.postgres_url) },
    Override {
        var: "PHIGATE_STORE_POSTGRES_SCHEMA",
        key: "store.postgres_schema",
        apply: text!(store.postgres_schema),
    },
    Override { var: "PHIGATE_AUDIT_RETENTION_DAYS", key: "audit.retention_days", apply: number!(audit.retention_days) },
    Override {
        var: "PHIGATE_AUDIT_CHECKPOINT_INTERVAL_SECS",
        key: "audit.checkpoint_interval_secs",
        apply: number!(audit.checkpoint_interval_secs),
    },
    Override { var: "PHIGATE_AUDIT_WITNESS_FILE", key: "audit.witness_file", apply: text!(audit.witness_file) },
    Override { var: "PHIGATE_AUDIT_WITNESS_URL", key: "audit.witness_url", apply: text!(audit.witness_url) },
    Override { var: "PHIGATE_AUDIT_ALERT_WEBHOOK", key: "audit.alert_webhook", apply: text!(audit.alert_webhook) },
    Override { var: "PHIGATE_IDENTITY_JWT_ISSUER", key: "identity.jwt_issuer", apply: text!(identity.jwt_issuer) },
    Override {
        var: "PHIGATE_IDENTITY_JWT_AUDIENCE",
        key: "identity.jwt_audience",
        apply: text!(identity.jwt_audience),
    },
    Override { var: "PHIGATE_IDENTITY_JWKS_URL", key: "identity.jwks_url", apply: text!(identity.jwks_url) },
    Override {
        var: "PHIGATE_IDENTITY_JWT_ROLES_CLAIM",
        key: "identity.jwt_roles_claim",
        apply: text!(identity.jwt_roles_claim),
    },
    Override { var: "PHIGATE_IDENTITY_OIDC_ISSUER", key: "identity.oidc_issuer", apply: text!(identity.oidc_issuer) },
    Override {
        var: "PHIGATE_IDENTITY_OIDC_CLIENT_ID",
        key: "identity.oidc_client_id",
        apply: text!(identity.oidc_client_id),
    },
    Override {
        var: "PHIGATE_IDENTITY_OIDC_CLIENT_SECRET",
        key: "identity.oidc_client_secret",
        apply: text!(identity.oidc_client_secret),
    },
    Override {
        var: "PHIGATE_IDENTITY_OIDC_REDIRECT_URI",
        key: "identity.oidc_redirect_uri",
        apply: text!(identity.oidc_redirect_uri),
    },
    Override { var: "PHIGATE_IDENTITY_POLICY_FILE", key: "identity.policy_file", apply: text!(identity.policy_file) },
    Override {
        var: "PHIGATE_IDENTITY_SERVICE_KEY_DAYS",
        key: "identity.service_key_days",
        apply: number!(identity.service_key_days),
    },
    Override {
        var: "PHIGATE_GATEWAY_BACKENDS_FILE",
        key: "gateway.backends_file",
        apply: text!(gateway.backends_file),
    },
    Override {
        var: "PHIGATE_GATEWAY_TEMPLATES_DIR",
        key: "gateway.templates_dir",
        apply: text!(gateway.templates_dir),
    },
    Override { var: "PHIGATE_GATEWAY_MODELS_DIR", key: "gateway.models_dir", apply: text!(gateway.models_dir) },
    Override {
        var: "PHIGATE_GATEWAY_MODEL_THREADS",
        key: "gateway.model_threads",
        apply: number!(gateway.model_threads),
    },
    Override {
        var: "PHIGATE_GATEWAY_TOKENS_PER_MINUTE",
        key: "gateway.tokens_per_minute",
        apply: number!(gateway.tokens_per_minute),
    },
    Override { var: "PHIGATE_KEYS_PROVIDER", key: "keys.provider", apply: text!(keys.provider) },
    Override {
        var: "PHIGATE_KEYS_CACHE_MAX_AGE_SECS",
        key: "keys.cache_max_age_secs",
        apply: number!(keys.cache_max_age_secs),
    },
    Override { var: "PHIGATE_KEYS_LOCAL_FILE_PATH", key: "keys.local_file.path", apply: text!(keys.local_file.path) },
    Override { var: "PHIGATE_KEYS_PKCS11_MODULE", key: "keys.pkcs11.module", apply: text!(keys.pkcs11.module) },
    Override { var: "PHIGATE_KEYS_PKCS11_TOKEN", key: "keys.pkcs11.token", apply: text!(keys.pkcs11.token) },
    Override { var: "PHIGATE_KEYS_PKCS11_PIN", key: "keys.pkcs11.pin", apply: text!(keys.pkcs11.pin) },
    Override {
        var: "PHIGATE_KEYS_PKCS11_KEY_LABEL",
        key: "keys.pkcs11.key_label",
        apply: text!(keys.pkcs11.key_label),
    },
    Override {
        var: "PHIGATE_KEYS_AWS_KMS_ENDPOINT",
        key: "keys.aws_kms.endpoint",
        apply: text!(keys.aws_kms.endpoint),
    },
    Override { var: "PHIGATE_KEYS_AWS_KMS_REGION", key: "keys.aws_kms.region", apply: text!(keys.aws_kms.region) },
    Override {
        var: "PHIGATE_KEYS_AWS_KMS_ACCESS_KEY_ID",
        key: "keys.aws_kms.access_key_id",
        apply: text!(keys.aws_kms.access_key_id),
    },
    Override {
        var: "PHIGATE_KEYS_AWS_KMS_SECRET_ACCESS_KEY",
        key: "keys.aws_kms.secret_access_key",
        apply: text!(keys.aws_kms.secret_access_key),
    },
    Override {
        var: "PHIGATE_KEYS_AWS_KMS_SESSION_TOKEN",
        key: "keys.aws_kms.session_token",
        apply: text!(keys.aws_kms.session_token),
    },
    Override {
        var: "PHIGATE_KEYS_AWS_KMS_ALIAS_PREFIX",
        key: "keys.aws_kms.alias_prefix",
        apply: text!(keys.aws_kms.alias_prefix),
    },
];

/// Names of every supported environment variable with the key it overrides.
pub fn variables() -> impl Iterator<Item = (&'static str, &'static str)> {
    OVERRIDES.iter().map(|o| (o.var, o.key))
}

/// Applies every set variable to `raw`.
pub fn apply_overrides(raw: &mut RawConfig, env: &dyn EnvSource) -> Result<(), ConfigError> {
    for o in OVERRIDES {
        if let Some(value) = env.var(o.var) {
            (o.apply)(raw, value).map_err(|reason| ConfigError::Invalid {
                origin: format!("environment variable {}", o.var),
                key: o.key.to_string(),
                reason,
            })?;
        }
    }
    Ok(())
}
