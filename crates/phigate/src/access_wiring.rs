//! Identity and policy services for the server, from the configuration.
//!
//! TOTP secrets are sealed with a key that is itself a named data key of
//! the store (`identity-sealing`), so they are protected by the customer's
//! KEK like every other secret and follow its rotation.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use phigate_identity::jwt::{HttpJwksFetcher, JwksCache, JwksCacheConfig, JwtValidator, ValidationConfig};
use phigate_identity::local::{LocalAuthenticator, LocalConfig};
use phigate_identity::oidc::{OidcClient, OidcConfig as OidcSettings};
use phigate_identity::service::{ServiceAccounts, ServiceKeyConfig};
use phigate_identity::session::{SessionConfig, SessionManager};
use phigate_identity::{AesGcmSealer, ClientSecret, Clock, IdentityRepository, Password, Role, SystemClock};
use phigate_policy::Policy;
use phigate_server::access::Access;
use phigate_store::Store;
use sha2::Digest;

/// The bearer-JWT validator, when the configuration names an IdP.
fn jwt(config: &phigate_config::Config, clock: Arc<dyn Clock>) -> anyhow::Result<Option<Arc<JwtValidator>>> {
    let Some(j) = &config.identity.jwt else { return Ok(None) };
    let fetcher =
        Arc::new(HttpJwksFetcher::new(j.jwks_url.clone(), Duration::from_secs(10)).context("identity.jwks_url")?);
    let cache = Arc::new(JwksCache::new(fetcher, JwksCacheConfig::default(), clock.clone()));
    let mut validation = ValidationConfig::new(j.issuer.clone(), j.audience.clone());
    validation.roles_claim = j.roles_claim.clone();
    Ok(Some(Arc::new(JwtValidator::new(validation, cache, clock).context("JWT validation settings")?)))
}

/// The OpenID Connect client, when configured (discovery happens here:
/// a provider that cannot be reached stops start-up with a clear error).
fn oidc(config: &phigate_config::Config, clock: Arc<dyn Clock>) -> anyhow::Result<Option<Arc<OidcClient>>> {
    let Some(o) = &config.identity.oidc else { return Ok(None) };
    let mut settings = OidcSettings::new(o.issuer.clone(), o.client_id.clone(), o.redirect_uri.clone());
    settings.client_secret = o.client_secret.as_ref().map(|s| ClientSecret::new(s.expose()));
    let client = OidcClient::discover(settings, clock)
        .with_context(|| format!("OpenID Connect discovery at {} (identity.oidc_issuer)", o.issuer))?;
    Ok(Some(Arc::new(client)))
}

/// The configured access policy (or the built-in default) and the SHA-256
/// of its text, so the ledger can say exactly which policy was in force.
fn load_policy(config: &phigate_config::Config) -> anyhow::Result<(Policy, String)> {
    let text = match &config.identity.policy_file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("reading the access policy {} (identity.policy_file)", path.display()))?,
        None => phigate_policy::DEFAULT_POLICY.to_string(),
    };
    let policy = Policy::from_toml(&text).with_context(|| match &config.identity.policy_file {
        Some(path) => format!("access policy {}", path.display()),
        None => "built-in access policy".to_string(),
    })?;
    Ok((policy, hex::encode(sha2::Sha256::digest(text.as_bytes()))))
}

/// The access services, and the SHA-256 of the policy they enforce.
pub struct Built {
    /// Identity and policy for the server.
    pub access: Arc<Access>,
    /// Content hash of the policy text (recorded as `policy.load`).
    pub policy_hash: String,
}

/// Builds the access services over `repo`.
pub fn build(
    config: &phigate_config::Config,
    store: &dyn Store,
    repo: Arc<dyn IdentityRepository>,
) -> anyhow::Result<Built> {
    let (policy, policy_hash) = load_policy(config)?;
    let (_, sealing) = store.named_key("identity-sealing", "totp").context("opening the identity sealing key")?;
    let sealer = Arc::new(AesGcmSealer::new(sealing.expose_raw()));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let access = Arc::new(Access {
        policy: Arc::new(policy),
        sessions: Arc::new(SessionManager::new(repo.clone(), clock.clone(), SessionConfig::default())?),
        local: Arc::new(LocalAuthenticator::new(repo.clone(), sealer, clock.clone(), LocalConfig::default())),
        services: Arc::new(ServiceAccounts::new(
            repo,
            clock.clone(),
            ServiceKeyConfig::new(config.identity.service_key_lifetime)?,
        )),
        jwt: jwt(config, clock.clone())?,
        oidc: oidc(config, clock.clone())?,
        pending_oidc: Default::default(),
        verified_tokens: Default::default(),
        clock,
    });
    Ok(Built { access, policy_hash })
}

/// Roles that get a demo account, and the account names.
pub const DEMO_ROLES: [(&str, &str); 5] = [
    ("clinician", "demo-clinician"),
    ("triage", "demo-triage"),
    ("researcher", "demo-researcher"),
    ("privacy_officer", "demo-privacy"),
    ("administrator", "demo-admin"),
];

/// Creates the demo accounts that do not exist yet; returns (username, role,
/// password) of the ones created. Passwords are random and shown once.
pub fn create_demo_accounts(access: &Access) -> anyhow::Result<Vec<(String, String, String)>> {
    let mut created = Vec::new();
    for (role, username) in DEMO_ROLES {
        let password = format!("demo-{}", hex::encode(rand_bytes()?));
        match access.local.create_user(
            username,
            &format!("Demo {role}"),
            &Password::new(password.clone()),
            vec![Role::new(role)],
        ) {
            Ok(_) => created.push((username.to_string(), role.to_string(), password)),
            Err(phigate_identity::Error::AlreadyExists(_)) => {}
            Err(e) => return Err(e).context("creating demo accounts"),
        }
    }
    Ok(created)
}

/// The demo application's service account (role `service`).
pub const DEMO_SERVICE: &str = "demo-app";

/// Creates the demo application's service account on first run and returns
/// its API key (shown once); `None` if it already exists.
pub fn create_demo_service(access: &Access) -> anyhow::Result<Option<String>> {
    match access.services.create_account(DEMO_SERVICE, vec![Role::new("service")]) {
        Ok(account) => {
            let issued = access.services.issue(&account.id).context("issuing the demo service key")?;
            Ok(Some(issued.key.expose().to_string()))
        }
        Err(phigate_identity::Error::AlreadyExists(_)) => Ok(None),
        Err(e) => Err(e).context("creating the demo service account"),
    }
}

fn rand_bytes() -> anyhow::Result<[u8; 9]> {
    let mut b = [0u8; 9];
    getrandom::getrandom(&mut b).map_err(|_| anyhow::anyhow!("random number generator failed"))?;
    Ok(b)
}
