//! Raw → typed: defaults, parsing, cross-field checks.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::raw::RawConfig;
use crate::{
    AuditConfig, Config, ConfigError, GatewayConfig, IdentityConfig, JwtConfig, KeyProviderConfig, KeysConfig,
    LogConfig, LogFormat, OidcConfig, Secret, ServerConfig, StoreConfig, TlsVersion,
};

/// Default listen address: loopback only, so a fresh install is not exposed.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8443";
/// Default data directory, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "phigate-data";

pub(crate) fn validate(raw: RawConfig, origin: &str) -> Result<Config, ConfigError> {
    let bad =
        |key: &str, reason: String| ConfigError::Invalid { origin: origin.to_string(), key: key.to_string(), reason };

    let data_dir = PathBuf::from(raw.data_dir.unwrap_or_else(|| DEFAULT_DATA_DIR.to_string()));
    if data_dir.as_os_str().is_empty() {
        return Err(bad("data_dir", "must not be empty".into()));
    }

    let s = raw.server;
    let listen_text = s.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    let listen: SocketAddr = listen_text.trim().parse().map_err(|_| {
        bad("server.listen", format!("{listen_text:?} is not an IP:PORT address (example: 127.0.0.1:8443)"))
    })?;
    let tls_min_version = match s.tls_min_version.as_deref().map(str::trim) {
        None | Some("1.2") => TlsVersion::Tls12,
        Some("1.3") => TlsVersion::Tls13,
        Some(other) => {
            return Err(bad(
                "server.tls_min_version",
                format!("{other:?} is not supported; use \"1.2\" or \"1.3\" (older TLS is never accepted)"),
            ));
        }
    };
    let (tls_cert, tls_key) = match (s.tls_cert, s.tls_key) {
        (Some(c), Some(k)) => (Some(PathBuf::from(c)), Some(PathBuf::from(k))),
        (None, None) => (None, None),
        (Some(_), None) => return Err(bad("server.tls_key", "required when server.tls_cert is set".into())),
        (None, Some(_)) => return Err(bad("server.tls_cert", "required when server.tls_key is set".into())),
    };
    let grace = s.shutdown_grace_secs.unwrap_or(30);
    if grace > 3600 {
        return Err(bad("server.shutdown_grace_secs", format!("{grace} is above the maximum of 3600")));
    }
    let max_body = s.max_body_bytes.unwrap_or(8 * 1024 * 1024);
    if max_body == 0 || max_body > 1 << 30 {
        return Err(bad("server.max_body_bytes", format!("{max_body} must be between 1 and 1073741824")));
    }

    let level = raw.log.level.unwrap_or_else(|| "info".to_string());
    if level.trim().is_empty() {
        return Err(bad("log.level", "must not be empty (example: \"info\")".into()));
    }
    let format = match raw.log.format.as_deref().map(str::trim) {
        None | Some("json") => LogFormat::Json,
        Some("text") => LogFormat::Text,
        Some(other) => return Err(bad("log.format", format!("{other:?} is not \"json\" or \"text\""))),
    };

    let k = raw.keys;
    let cache_secs = k.cache_max_age_secs.unwrap_or(300);
    if cache_secs > 3600 {
        return Err(bad("keys.cache_max_age_secs", format!("{cache_secs} is above the maximum of 3600")));
    }
    let required = |key: &'static str, value: Option<String>, provider: &str| {
        value
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| bad(key, format!("required when keys.provider = \"{provider}\"")))
    };
    let provider = match k.provider.as_deref().map(str::trim).unwrap_or("local-file") {
        "local-file" => KeyProviderConfig::LocalFile {
            path: k.local_file.path.map(PathBuf::from).unwrap_or_else(|| data_dir.join("keys").join("kek.json")),
        },
        "pkcs11" => KeyProviderConfig::Pkcs11 {
            module: PathBuf::from(required("keys.pkcs11.module", k.pkcs11.module, "pkcs11")?),
            token: required("keys.pkcs11.token", k.pkcs11.token, "pkcs11")?,
            pin: Secret::new(required("keys.pkcs11.pin", k.pkcs11.pin, "pkcs11")?),
            key_label: k.pkcs11.key_label.unwrap_or_else(|| "phigate-kek".to_string()),
        },
        "aws-kms" => {
            let region = required("keys.aws_kms.region", k.aws_kms.region, "aws-kms")?;
            KeyProviderConfig::AwsKms {
                endpoint: k.aws_kms.endpoint.unwrap_or_else(|| format!("https://kms.{region}.amazonaws.com")),
                access_key_id: required("keys.aws_kms.access_key_id", k.aws_kms.access_key_id, "aws-kms")?,
                secret_access_key: Secret::new(required(
                    "keys.aws_kms.secret_access_key",
                    k.aws_kms.secret_access_key,
                    "aws-kms",
                )?),
                session_token: k.aws_kms.session_token.map(Secret::new),
                alias_prefix: k.aws_kms.alias_prefix.unwrap_or_else(|| "phigate-kek".to_string()),
                region,
            }
        }
        other => {
            return Err(bad(
                "keys.provider",
                format!("{other:?} is not one of \"local-file\", \"pkcs11\", \"aws-kms\""),
            ));
        }
    };

    let st = raw.store;
    let store = match st.backend.as_deref().map(str::trim).unwrap_or("sqlite") {
        "sqlite" => StoreConfig::Sqlite,
        "postgres" => {
            let url = st
                .postgres_url
                .filter(|u| !u.trim().is_empty())
                .ok_or_else(|| bad("store.postgres_url", "required when store.backend = \"postgres\"".into()))?;
            let schema = st.postgres_schema.unwrap_or_else(|| "phigate".to_string());
            if schema.is_empty() || !schema.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(bad("store.postgres_schema", format!("{schema:?} must be letters, digits and _")));
            }
            StoreConfig::Postgres { url: Secret::new(url), schema }
        }
        other => return Err(bad("store.backend", format!("{other:?} is not \"sqlite\" or \"postgres\""))),
    };

    let a = raw.audit;
    let retention_days = a.retention_days.unwrap_or(2192);
    if retention_days == 0 || retention_days > 36_500 {
        return Err(bad("audit.retention_days", format!("{retention_days} must be between 1 and 36500")));
    }
    let interval = a.checkpoint_interval_secs.unwrap_or(60);
    if interval == 0 || interval > 86_400 {
        return Err(bad("audit.checkpoint_interval_secs", format!("{interval} must be between 1 and 86400")));
    }
    let url = |key: &str, value: Option<String>| -> Result<Option<String>, ConfigError> {
        match value {
            None => Ok(None),
            Some(u) if secure_url(&u) => Ok(Some(u)),
            Some(_) => Err(bad(key, "must be an https:// URL (http:// only on 127.0.0.1, localhost or [::1])".into())),
        }
    };
    let audit = AuditConfig {
        retention: Duration::from_secs(retention_days * 86_400),
        checkpoint_interval: Duration::from_secs(interval),
        witness_file: a.witness_file.map(PathBuf::from),
        witness_url: url("audit.witness_url", a.witness_url)?,
        alert_webhook: url("audit.alert_webhook", a.alert_webhook)?,
    };

    let i = raw.identity;
    let jwt = match (i.jwt_issuer, i.jwt_audience, i.jwks_url) {
        (None, None, None) => None,
        (Some(issuer), Some(audience), Some(jwks_url)) => {
            if !secure_url(&issuer) {
                return Err(bad("identity.jwt_issuer", "must be an https:// URL (http:// only on loopback)".into()));
            }
            if !secure_url(&jwks_url) {
                return Err(bad("identity.jwks_url", "must be an https:// URL (http:// only on loopback)".into()));
            }
            if audience.trim().is_empty() {
                return Err(bad("identity.jwt_audience", "must not be empty".into()));
            }
            Some(JwtConfig {
                issuer,
                audience,
                jwks_url,
                roles_claim: i.jwt_roles_claim.unwrap_or_else(|| "roles".to_string()),
            })
        }
        (issuer, audience, _) => {
            let missing = if issuer.is_none() {
                "identity.jwt_issuer"
            } else if audience.is_none() {
                "identity.jwt_audience"
            } else {
                "identity.jwks_url"
            };
            return Err(bad(
                missing,
                "identity.jwt_issuer, identity.jwt_audience and identity.jwks_url are set together".into(),
            ));
        }
    };

    let oidc = match (i.oidc_issuer, i.oidc_client_id, i.oidc_redirect_uri) {
        (None, None, None) => None,
        (Some(issuer), Some(client_id), Some(redirect_uri)) => {
            if !secure_url(&issuer) {
                return Err(bad("identity.oidc_issuer", "must be an https:// URL (http:// only on loopback)".into()));
            }
            if !redirect_uri.starts_with("https://") && !secure_url(&redirect_uri) {
                return Err(bad("identity.oidc_redirect_uri", "must be an https:// URL".into()));
            }
            Some(OidcConfig { issuer, client_id, client_secret: i.oidc_client_secret.map(Secret::new), redirect_uri })
        }
        _ => {
            return Err(bad(
                "identity.oidc_issuer",
                "identity.oidc_issuer, identity.oidc_client_id and identity.oidc_redirect_uri are set together".into(),
            ));
        }
    };

    let policy_file = i.policy_file.map(PathBuf::from);
    let key_days = i.service_key_days.unwrap_or(30);
    if key_days == 0 || key_days > 30 {
        return Err(bad(
            "identity.service_key_days",
            format!("{key_days} must be between 1 and 30 (keys never live longer)"),
        ));
    }

    let g = raw.gateway;
    let model_threads = g.model_threads.unwrap_or(1);
    if model_threads == 0 || model_threads > 64 {
        return Err(bad("gateway.model_threads", format!("{model_threads} must be between 1 and 64")));
    }
    let tokens_per_minute = g.tokens_per_minute.unwrap_or(1_000_000);
    if tokens_per_minute == 0 || tokens_per_minute > u64::from(u32::MAX) {
        return Err(bad("gateway.tokens_per_minute", format!("{tokens_per_minute} must be between 1 and 4294967295")));
    }
    let gateway = GatewayConfig {
        backends_file: g.backends_file.map(PathBuf::from),
        templates_dir: g.templates_dir.map(PathBuf::from),
        models_dir: g.models_dir.map_or_else(|| data_dir.join("models"), PathBuf::from),
        model_threads: model_threads as usize,
        tokens_per_minute: tokens_per_minute as u32,
    };

    Ok(Config {
        gateway,
        data_dir,
        server: ServerConfig {
            listen,
            tls_min_version,
            tls_cert,
            tls_key,
            shutdown_grace: Duration::from_secs(grace),
            max_body_bytes: max_body as usize,
        },
        log: LogConfig { level, format },
        keys: KeysConfig { provider, cache_max_age: Duration::from_secs(cache_secs) },
        store,
        audit,
        identity: IdentityConfig {
            jwt,
            oidc,
            policy_file,
            service_key_lifetime: Duration::from_secs(key_days * 86_400),
        },
    })
}

/// HTTPS anywhere; plain HTTP only to this machine.
fn secure_url(url: &str) -> bool {
    url.starts_with("https://")
        || ["http://127.0.0.1:", "http://127.0.0.1/", "http://localhost:", "http://localhost/", "http://[::1]:"]
            .iter()
            .any(|p| url.starts_with(p))
}
