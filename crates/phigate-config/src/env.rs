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

/// Every supported variable. Kept as a table so `docs/configuration.md` and
/// this list can be checked against each other.
const OVERRIDES: &[Override] = &[
    Override { var: "PHIGATE_DATA_DIR", key: "data_dir", apply: |r, v| {
            r.data_dir = Some(v);
            Ok(())
        } },
    Override { var: "PHIGATE_LISTEN", key: "server.listen", apply: |r, v| {
            r.server.listen = Some(v);
            Ok(())
        } },
    Override {
        var: "PHIGATE_TLS_MIN_VERSION",
        key: "server.tls_min_version",
        apply: |r, v| {
            r.server.tls_min_version = Some(v);
            Ok(())
        },
    },
    Override { var: "PHIGATE_TLS_CERT", key: "server.tls_cert", apply: |r, v| {
            r.server.tls_cert = Some(v);
            Ok(())
        } },
    Override { var: "PHIGATE_TLS_KEY", key: "server.tls_key", apply: |r, v| {
            r.server.tls_key = Some(v);
            Ok(())
        } },
    Override {
        var: "PHIGATE_SHUTDOWN_GRACE_SECS",
        key: "server.shutdown_grace_secs",
        apply: |r, v| {
            r.server.shutdown_grace_secs = Some(number(&v)?);
            Ok(())
        },
    },
    Override {
        var: "PHIGATE_MAX_BODY_BYTES",
        key: "server.max_body_bytes",
        apply: |r, v| {
            r.server.max_body_bytes = Some(number(&v)?);
            Ok(())
        },
    },
    Override { var: "PHIGATE_LOG_LEVEL", key: "log.level", apply: |r, v| {
            r.log.level = Some(v);
            Ok(())
        } },
    Override { var: "PHIGATE_LOG_FORMAT", key: "log.format", apply: |r, v| {
            r.log.format = Some(v);
            Ok(())
        } },
    Override { var: "PHIGATE_KEYS_PROVIDER", key: "keys.provider", apply: |r, v| {
            r.keys.provider = Some(v);
            Ok(())
        } },
    Override {
        var: "PHIGATE_KEYS_CACHE_MAX_AGE_SECS",
        key: "keys.cache_max_age_secs",
        apply: |r, v| {
            r.keys.cache_max_age_secs = Some(number(&v)?);
            Ok(())
        },
    },
    Override {
        var: "PHIGATE_KEYS_LOCAL_FILE_PATH",
        key: "keys.local_file.path",
        apply: |r, v| {
            r.keys.local_file.path = Some(v);
            Ok(())
        },
    },
    Override {
        var: "PHIGATE_KEYS_PKCS11_MODULE",
        key: "keys.pkcs11.module",
        apply: |r, v| Ok(r.keys.pkcs11.module = Some(v)),
    },
    Override { var: "PHIGATE_KEYS_PKCS11_TOKEN", key: "keys.pkcs11.token", apply: |r, v| Ok(r.keys.pkcs11.token = Some(v)) },
    Override { var: "PHIGATE_KEYS_PKCS11_PIN", key: "keys.pkcs11.pin", apply: |r, v| Ok(r.keys.pkcs11.pin = Some(v)) },
    Override {
        var: "PHIGATE_KEYS_PKCS11_KEY_LABEL",
        key: "keys.pkcs11.key_label",
        apply: |r, v| Ok(r.keys.pkcs11.key_label = Some(v)),
    },
    Override {
        var: "PHIGATE_KEYS_AWS_KMS_ENDPOINT",
        key: "keys.aws_kms.endpoint",
        apply: |r, v| {
            r.keys.aws_kms.endpoint = Some(v);
            Ok(())
        },
    },
    Override {
        var: "PHIGATE_KEYS_AWS_KMS_REGION",
        key: "keys.aws_kms.region",
        apply: |r, v| {
            r.keys.aws_kms.region = Some(v);
            Ok(())
        },
    },
    Override {
        var: "PHIGATE_KEYS_AWS_KMS_ACCESS_KEY_ID",
        key: "keys.aws_kms.access_key_id",
        apply: |r, v| {
            r.keys.aws_kms.access_key_id = Some(v);
            Ok(())
        },
    },
    Override {
        var: "PHIGATE_KEYS_AWS_KMS_SECRET_ACCESS_KEY",
        key: "keys.aws_kms.secret_access_key",
        apply: |r, v| {
            r.keys.aws_kms.secret_access_key = Some(v);
            Ok(())
        },
    },
    Override {
        var: "PHIGATE_KEYS_AWS_KMS_SESSION_TOKEN",
        key: "keys.aws_kms.session_token",
        apply: |r, v| {
            r.keys.aws_kms.session_token = Some(v);
            Ok(())
        },
    },
    Override {
        var: "PHIGATE_KEYS_AWS_KMS_ALIAS_PREFIX",
        key: "keys.aws_kms.alias_prefix",
        apply: |r, v| {
            r.keys.aws_kms.alias_prefix = Some(v);
            Ok(())
        },
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
