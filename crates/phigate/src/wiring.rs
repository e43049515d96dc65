//! Turning a validated `Config` into running parts: key provider, keyring, store.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use phigate_config::{Config, KeyProviderConfig, StoreConfig};
use phigate_keys::provider::local_file::LocalFileProvider;
use phigate_keys::{
    AwsKmsConfig, AwsKmsProvider, AwsSecretAccessKey, AwsSessionToken, KeyProvider, Keyring, Pkcs11Config, Pkcs11Pin,
    Pkcs11Provider,
};
use phigate_store::{PgStore, SqliteStore, Store};

use crate::cli::GlobalArgs;
use crate::env::ProcessEnv;

/// Loads the configuration: file, then environment, then command-line flags.
pub fn load_config(global: &GlobalArgs) -> anyhow::Result<Config> {
    let mut config = Config::load(global.config.as_deref(), &ProcessEnv)?;
    if let Some(dir) = &global.data_dir {
        if let KeyProviderConfig::LocalFile { path } = &mut config.keys.provider {
            // The key file follows the data dir unless it was set explicitly.
            if path.starts_with(&config.data_dir) {
                *path = dir.join(path.strip_prefix(&config.data_dir).unwrap_or(Path::new("keys/kek.json")));
            }
        }
        config.data_dir = dir.clone();
    }
    Ok(config)
}

/// Opens the configured key provider. `may_create` allows creating a local
/// key file on first run; never when a database already exists, because a
/// new key could not open it.
pub fn key_provider(config: &Config, may_create: bool) -> anyhow::Result<Arc<dyn KeyProvider>> {
    match &config.keys.provider {
        KeyProviderConfig::LocalFile { path } => {
            if !path.exists() {
                if config.database_path().exists() {
                    bail!(
                        "key file {} is missing but database {} exists: restore the key file from your key backup \
                         (a new key could not decrypt the existing data)",
                        path.display(),
                        config.database_path().display()
                    );
                }
                if !may_create {
                    bail!(
                        "key file {} does not exist; run `phigate demo` or `phigate serve` once to create it",
                        path.display()
                    );
                }
            }
            let provider = LocalFileProvider::open_or_create(path)
                .with_context(|| format!("opening key file {}", path.display()))?;
            Ok(Arc::new(provider))
        }
        KeyProviderConfig::Pkcs11 { module, token, pin, key_label } => {
            let config = Pkcs11Config {
                module: module.clone(),
                token_label: token.clone(),
                user_pin: Pkcs11Pin::new(pin.expose()),
                key_label_prefix: key_label.clone(),
            };
            let provider =
                if may_create { Pkcs11Provider::open_or_create(config) } else { Pkcs11Provider::open(config) };
            Ok(Arc::new(provider.with_context(|| format!("opening PKCS#11 token {token:?}"))?))
        }
        KeyProviderConfig::AwsKms {
            endpoint,
            region,
            access_key_id,
            secret_access_key,
            session_token,
            alias_prefix,
        } => {
            let mut config = AwsKmsConfig::new(
                endpoint.clone(),
                region.clone(),
                access_key_id.clone(),
                AwsSecretAccessKey::new(secret_access_key.expose()),
                alias_prefix.clone(),
            );
            config.session_token = session_token.as_ref().map(|t| AwsSessionToken::new(t.expose()));
            let provider =
                if may_create { AwsKmsProvider::open_or_create(config) } else { AwsKmsProvider::open(config) };
            Ok(Arc::new(provider.with_context(|| format!("opening AWS KMS at {endpoint}"))?))
        }
        _ => bail!("unknown key provider"),
    }
}

/// The configured store, with what only one backend can do.
#[derive(Clone)]
pub enum Backend {
    /// The embedded SQLite file.
    Sqlite(Arc<SqliteStore>),
    /// A PostgreSQL database.
    Postgres(Arc<PgStore>),
}

impl Backend {
    /// The store, for everything backend-independent.
    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            Self::Sqlite(s) => s.clone(),
            Self::Postgres(s) => s.clone(),
        }
    }

    /// The keyring the store seals with.
    pub fn keyring(&self) -> &Arc<Keyring> {
        match self {
            Self::Sqlite(s) => s.keyring(),
            Self::Postgres(s) => s.keyring(),
        }
    }

    /// The same store as the identity repository (users, sessions, service keys).
    pub fn identity_repo(&self) -> Arc<dyn phigate_identity::IdentityRepository> {
        match self {
            Self::Sqlite(s) => s.clone(),
            Self::Postgres(s) => s.clone(),
        }
    }

    /// The SQLite store, for file-level operations (backup).
    pub fn sqlite(&self) -> anyhow::Result<&Arc<SqliteStore>> {
        match self {
            Self::Sqlite(s) => Ok(s),
            Self::Postgres(_) => bail!(
                "`phigate backup` archives the embedded SQLite store; for PostgreSQL use pg_dump \
                 (every PHI value in it is already sealed under your keys, which pg_dump never sees)"
            ),
        }
    }
}

/// Opens the configured store (creating the SQLite file if `may_create`).
pub fn open_store(config: &Config, may_create: bool) -> anyhow::Result<Backend> {
    match &config.store {
        StoreConfig::Postgres { url, schema } => {
            let provider = key_provider(config, may_create)?;
            let keyring = Arc::new(Keyring::new(provider, config.keys.cache_max_age));
            let store = PgStore::connect(url.expose(), schema, keyring)
                .with_context(|| format!("opening PostgreSQL store (schema {schema})"))?;
            Ok(Backend::Postgres(Arc::new(store)))
        }
        _ => {
            let provider = key_provider(config, may_create)?;
            let db = config.database_path();
            if !may_create && !db.exists() {
                bail!("no database at {}; is --data-dir right?", db.display());
            }
            let keyring = Arc::new(Keyring::new(provider, config.keys.cache_max_age));
            let store = SqliteStore::open(&db, keyring).with_context(|| format!("opening store {}", db.display()))?;
            Ok(Backend::Sqlite(Arc::new(store)))
        }
    }
}
