//! Loading configuration: file, environment, errors that name the key.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;

use phigate_config::{Config, ConfigError, KeyProviderConfig, LogFormat, MapEnv, TlsVersion};

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

fn load(text: &str, env: MapEnv) -> Result<Config, ConfigError> {
    let f = file(text);
    Config::load(Some(f.path()), &env)
}

#[test]
fn defaults_are_secure() {
    let c = Config::load(None, &MapEnv::default()).unwrap();
    assert_eq!(c.server.listen.to_string(), "127.0.0.1:8443");
    assert!(c.server.listen.ip().is_loopback());
    assert_eq!(c.server.tls_min_version, TlsVersion::Tls12);
    assert_eq!(c.log.format, LogFormat::Json);
    assert!(matches!(c.keys.provider, KeyProviderConfig::LocalFile { .. }));
}

#[test]
fn file_values_then_env_overrides() {
    let text = "data_dir = \"/srv/phi\"\n[server]\nlisten = \"127.0.0.1:9000\"\ntls_min_version = \"1.3\"\n";
    let c = load(text, MapEnv::default()).unwrap();
    assert_eq!(c.server.listen.port(), 9000);
    assert_eq!(c.server.tls_min_version, TlsVersion::Tls13);
    let c = load(text, MapEnv::from([("PHIGATE_LISTEN", "127.0.0.1:9001")])).unwrap();
    assert_eq!(c.server.listen.port(), 9001);
    assert_eq!(c.database_path(), std::path::Path::new("/srv/phi/phigate.db"));
}

#[test]
fn unknown_key_is_named() {
    let err = load("[server]\nlisen = \"x\"\n", MapEnv::default()).unwrap_err().to_string();
    assert!(err.contains("server.lisen"), "{err}");
    assert!(err.contains("unknown field"), "{err}");
}

#[test]
fn wrong_type_is_named_with_reason() {
    let err = load("[server]\nshutdown_grace_secs = \"soon\"\n", MapEnv::default()).unwrap_err().to_string();
    assert!(err.contains("server.shutdown_grace_secs"), "{err}");
    assert!(err.contains("invalid type"), "{err}");
}

#[test]
fn bad_address_and_old_tls_are_rejected_with_hints() {
    let err = load("[server]\nlisten = \"everywhere\"\n", MapEnv::default()).unwrap_err().to_string();
    assert!(err.contains("server.listen") && err.contains("IP:PORT"), "{err}");
    let err = load("[server]\ntls_min_version = \"1.1\"\n", MapEnv::default()).unwrap_err().to_string();
    assert!(err.contains("server.tls_min_version"), "{err}");
}

#[test]
fn syntax_error_reports_line() {
    let err = load("[server\nlisten = 1\n", MapEnv::default()).unwrap_err().to_string();
    assert!(err.contains("line 1"), "{err}");
}

#[test]
fn bad_env_value_names_the_variable() {
    let err = Config::load(None, &MapEnv::from([("PHIGATE_SHUTDOWN_GRACE_SECS", "ten")])).unwrap_err().to_string();
    assert!(err.contains("PHIGATE_SHUTDOWN_GRACE_SECS") && err.contains("whole number"), "{err}");
}

#[test]
fn provider_requirements_and_secret_redaction() {
    let err = load("[keys]\nprovider = \"pkcs11\"\n", MapEnv::default()).unwrap_err().to_string();
    assert!(err.contains("keys.pkcs11.module"), "{err}");
    let env = MapEnv::from([
        ("PHIGATE_KEYS_PROVIDER", "pkcs11"),
        ("PHIGATE_KEYS_PKCS11_MODULE", "/usr/lib/softhsm/libsofthsm2.so"),
        ("PHIGATE_KEYS_PKCS11_TOKEN", "phigate"),
        ("PHIGATE_KEYS_PKCS11_PIN", "pin-canary-991"),
    ]);
    let c = Config::load(None, &env).unwrap();
    assert!(!format!("{c:?}").contains("pin-canary-991"));
}

#[test]
fn missing_file_is_a_read_error() {
    let err = Config::load(Some(std::path::Path::new("/nonexistent/phigate.toml")), &MapEnv::default()).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
}

#[test]
fn postgres_backend_needs_a_url_and_hides_it() {
    let err = load("[store]\nbackend = \"postgres\"\n", MapEnv::default()).unwrap_err().to_string();
    assert!(err.contains("store.postgres_url"), "{err}");
    let env = MapEnv::from([
        ("PHIGATE_STORE_BACKEND", "postgres"),
        ("PHIGATE_STORE_POSTGRES_URL", "postgres://u:pw-canary-77@127.0.0.1/db"),
    ]);
    let c = Config::load(None, &env).unwrap();
    assert!(matches!(c.store, phigate_config::StoreConfig::Postgres { ref schema, .. } if schema == "phigate"));
    assert!(!format!("{c:?}").contains("pw-canary-77"));
    let err = load("[store]\nbackend = \"mysql\"\n", MapEnv::default()).unwrap_err().to_string();
    assert!(err.contains("store.backend"), "{err}");
}

#[test]
fn audit_defaults_and_url_rules() {
    let c = Config::load(None, &MapEnv::default()).unwrap();
    assert_eq!(c.audit.retention.as_secs(), 2192 * 86_400, "six years by default");
    let err =
        load("[audit]\nalert_webhook = \"http://alerts.example/x\"\n", MapEnv::default()).unwrap_err().to_string();
    assert!(err.contains("audit.alert_webhook") && err.contains("https"), "{err}");
    let c = Config::load(None, &MapEnv::from([("PHIGATE_AUDIT_ALERT_WEBHOOK", "http://127.0.0.1:9/hook")])).unwrap();
    assert_eq!(c.audit.alert_webhook.as_deref(), Some("http://127.0.0.1:9/hook"));
    let err = load("[audit]\nretention_days = 0\n", MapEnv::default()).unwrap_err().to_string();
    assert!(err.contains("audit.retention_days"), "{err}");
}

#[test]
fn jwt_settings_come_together() {
    let err = Config::load(None, &MapEnv::from([("PHIGATE_IDENTITY_JWT_ISSUER", "https://idp.example")])).unwrap_err();
    assert!(err.to_string().contains("set together"), "{err}");
    let env = MapEnv::from([
        ("PHIGATE_IDENTITY_JWT_ISSUER", "https://idp.example"),
        ("PHIGATE_IDENTITY_JWT_AUDIENCE", "phigate-api"),
        ("PHIGATE_IDENTITY_JWKS_URL", "http://idp.example/jwks"),
    ]);
    assert!(Config::load(None, &env).unwrap_err().to_string().contains("identity.jwks_url"));
}

#[test]
fn service_keys_never_live_longer_than_30_days() {
    let err = Config::load(None, &MapEnv::from([("PHIGATE_IDENTITY_SERVICE_KEY_DAYS", "90")])).unwrap_err().to_string();
    assert!(err.contains("identity.service_key_days") && err.contains("30"), "{err}");
    let c = Config::load(None, &MapEnv::from([("PHIGATE_IDENTITY_SERVICE_KEY_DAYS", "7")])).unwrap();
    assert_eq!(c.identity.service_key_lifetime.as_secs(), 7 * 86_400);
}
