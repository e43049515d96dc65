//! OpenID Connect sign-in for browser users: authorization code flow with PKCE (S256).
//!
//! [`OidcClient::discover`] reads the provider's metadata and checks that it
//! names the configured issuer exactly. [`OidcClient::begin`] returns the
//! URL to redirect the browser to and a [`PendingLogin`] that the server keeps
//! (server-side, e.g. in a pre-login session) until the browser comes back.
//! [`OidcClient::complete`] checks `state` in constant time, exchanges the
//! code with the PKCE verifier, validates the ID token (signature via the
//! provider's JWKS, `iss`, `aud`, `exp`, `nbf`, `nonce`), reads userinfo
//! (whose `sub` must match), and maps the claims to a [`Principal`].

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use time::OffsetDateTime;

use crate::Error;
use crate::clock::{Clock, to_time};
use crate::http::{Http, check_url};
use crate::jwt::{Claims, HttpJwksFetcher, JwksCache, JwksCacheConfig, JwtValidator, ValidationConfig};
use crate::principal::{AuthMethod, Principal, PrincipalKind, Role};
use crate::secret::{BearerToken, ClientSecret, random_token, sha256};

/// The provider metadata fields this client uses.
#[derive(Debug, Clone, Deserialize)]
pub struct ProviderMetadata {
    /// Issuer identifier.
    pub issuer: String,
    /// Authorization endpoint.
    pub authorization_endpoint: String,
    /// Token endpoint.
    pub token_endpoint: String,
    /// JWKS URI.
    pub jwks_uri: String,
    /// Userinfo endpoint, if any.
    pub userinfo_endpoint: Option<String>,
    /// Supported PKCE methods, if advertised.
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
}

/// How this deployment is registered at the provider.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// Issuer URL (exact, as in the `iss` claim).
    pub issuer: String,
    /// Client id.
    pub client_id: String,
    /// Client secret for `client_secret_basic`; `None` for a public client (PKCE only).
    pub client_secret: Option<ClientSecret>,
    /// Redirect URI registered at the provider.
    pub redirect_uri: String,
    /// Scopes; `openid` is always included.
    pub scopes: Vec<String>,
    /// Claim holding role names (`roles` by default; e.g. `groups` for some IdPs).
    pub roles_claim: String,
    /// Roles given to every user of this IdP in addition to the claim's (usually none).
    pub default_roles: Vec<Role>,
    /// How long the browser may take at the IdP (default 10 min).
    pub login_ttl: Duration,
    /// HTTP timeout for provider calls (default 10 s).
    pub http_timeout: Duration,
    /// Clock-skew leeway for ID tokens (default 60 s).
    pub leeway: Duration,
}

impl OidcConfig {
    /// Defaults for everything but the registration.
    pub fn new(issuer: impl Into<String>, client_id: impl Into<String>, redirect_uri: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            client_id: client_id.into(),
            client_secret: None,
            redirect_uri: redirect_uri.into(),
            scopes: vec!["openid".into(), "profile".into(), "email".into()],
            roles_claim: "roles".into(),
            default_roles: Vec::new(),
            login_ttl: Duration::from_secs(600),
            http_timeout: Duration::from_secs(10),
            leeway: Duration::from_secs(60),
        }
    }
}

/// State kept by the server between [`OidcClient::begin`] and [`OidcClient::complete`]. Secret.
pub struct PendingLogin {
    state: ClientSecret,
    nonce: ClientSecret,
    verifier: ClientSecret,
    /// When the login started.
    pub started_at: OffsetDateTime,
}

impl std::fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingLogin").field("started_at", &self.started_at).finish_non_exhaustive()
    }
}

impl PendingLogin {
    /// The `state` value (to key server-side storage of this pending login).
    pub fn state(&self) -> &str {
        self.state.expose()
    }
}

/// A completed OIDC sign-in.
#[derive(Debug)]
pub struct OidcLogin {
    /// The signed-in user.
    pub principal: Principal,
    /// Validated ID token claims.
    pub id_token_claims: Claims,
    /// The access token (for calling the IdP's userinfo; not stored by phigate).
    pub access_token: BearerToken,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    id_token: Option<String>,
    token_type: Option<String>,
}

/// An OIDC relying party for one provider.
pub struct OidcClient {
    config: OidcConfig,
    metadata: ProviderMetadata,
    validator: JwtValidator,
    http: Http,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for OidcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcClient").field("config", &self.config).field("metadata", &self.metadata).finish()
    }
}

impl OidcClient {
    /// Fetches `<issuer>/.well-known/openid-configuration` and builds a client. Blocking.
    pub fn discover(config: OidcConfig, clock: Arc<dyn Clock>) -> Result<Self, Error> {
        check_url(&config.issuer)?;
        check_url(&config.redirect_uri)?;
        let http = Http::new(config.http_timeout);
        let url = format!("{}/.well-known/openid-configuration", config.issuer.trim_end_matches('/'));
        let body = http.get(&url, None)?;
        let metadata: ProviderMetadata =
            serde_json::from_slice(&body).map_err(|_| Error::Provider("discovery document is not valid".into()))?;
        Self::from_metadata(config, metadata, clock)
    }

    /// Builds a client from known metadata (no discovery request).
    pub fn from_metadata(config: OidcConfig, metadata: ProviderMetadata, clock: Arc<dyn Clock>) -> Result<Self, Error> {
        if metadata.issuer != config.issuer {
            // OIDC Discovery §4.3: the issuer in the document must equal the one configured.
            return Err(Error::Provider("discovery issuer differs from the configured issuer".into()));
        }
        if !metadata.code_challenge_methods_supported.is_empty()
            && !metadata.code_challenge_methods_supported.iter().any(|m| m == "S256")
        {
            return Err(Error::Provider("provider does not support PKCE S256".into()));
        }
        for url in [&metadata.authorization_endpoint, &metadata.token_endpoint, &metadata.jwks_uri] {
            check_url(url)?;
        }
        if let Some(u) = &metadata.userinfo_endpoint {
            check_url(u)?;
        }
        let fetcher = Arc::new(HttpJwksFetcher::new(metadata.jwks_uri.clone(), config.http_timeout)?);
        let keys = Arc::new(JwksCache::new(fetcher, JwksCacheConfig::default(), clock.clone()));
        let mut vc = ValidationConfig::new(config.issuer.clone(), config.client_id.clone());
        vc.leeway = config.leeway;
        let validator = JwtValidator::new(vc, keys, clock.clone())?;
        Ok(Self { http: Http::new(config.http_timeout), config, metadata, validator, clock })
    }

    /// The provider's metadata.
    pub fn metadata(&self) -> &ProviderMetadata {
        &self.metadata
    }

    /// Starts a sign-in: the authorization URL and the state to keep until the callback.
    pub fn begin(&self) -> Result<(String, PendingLogin), Error> {
        let pending = PendingLogin {
            state: ClientSecret::new(random_token()?),
            nonce: ClientSecret::new(random_token()?),
            verifier: ClientSecret::new(random_token()?),
            started_at: self.clock.now(),
        };
        let challenge = URL_SAFE_NO_PAD.encode(sha256(pending.verifier.expose().as_bytes()));
        let mut scopes: Vec<&str> = vec!["openid"];
        scopes.extend(self.config.scopes.iter().map(String::as_str).filter(|s| *s != "openid"));
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", &self.config.redirect_uri)
            .append_pair("scope", &scopes.join(" "))
            .append_pair("state", pending.state.expose())
            .append_pair("nonce", pending.nonce.expose())
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256")
            .finish();
        let sep = if self.metadata.authorization_endpoint.contains('?') { '&' } else { '?' };
        Ok((format!("{}{sep}{query}", self.metadata.authorization_endpoint), pending))
    }

    /// Finishes a sign-in from the redirect's query string. Blocking (token, JWKS, userinfo).
    pub fn complete(&self, pending: PendingLogin, callback_query: &str) -> Result<OidcLogin, Error> {
        let mut code = None;
        let mut state = None;
        let mut error = None;
        for (k, v) in form_urlencoded::parse(callback_query.trim_start_matches('?').as_bytes()) {
            match k.as_ref() {
                "code" => code = Some(ClientSecret::new(v.into_owned())),
                "state" => state = Some(v.into_owned()),
                "error" => error = Some(v.chars().take(64).collect::<String>()),
                _ => {}
            }
        }
        if !state.as_deref().is_some_and(|s| pending.state.ct_eq(s)) {
            return Err(Error::StateMismatch);
        }
        if let Some(e) = error {
            return Err(Error::Provider(e));
        }
        if self.clock.now() - pending.started_at > to_time(self.config.login_ttl) {
            return Err(Error::LoginExpired);
        }
        let code = code.ok_or(Error::Provider("callback has no code".into()))?;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.expose()),
            ("redirect_uri", self.config.redirect_uri.as_str()),
            ("code_verifier", pending.verifier.expose()),
        ];
        let basic = match &self.config.client_secret {
            Some(secret) => Some((self.config.client_id.as_str(), secret.expose())),
            None => {
                form.push(("client_id", self.config.client_id.as_str()));
                None
            }
        };
        let body = self.http.post_form(&self.metadata.token_endpoint, &form, basic)?;
        let tokens: TokenResponse =
            serde_json::from_slice(&body).map_err(|_| Error::Provider("token response is not valid".into()))?;
        if !tokens.token_type.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("bearer")) {
            return Err(Error::Provider("token response is not a bearer token".into()));
        }
        let access_token = BearerToken::new(tokens.access_token);
        let id_token = tokens.id_token.ok_or(Error::MissingClaim("id_token"))?;
        let claims = self.validate_id_token(&id_token, &pending)?;
        let userinfo = match &self.metadata.userinfo_endpoint {
            Some(url) => {
                let body = self.http.get(url, Some(access_token.expose()))?;
                let info: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_slice(&body).map_err(|_| Error::Provider("userinfo is not valid".into()))?;
                // OIDC Core §5.3.2: the userinfo `sub` must equal the ID token's.
                if info.get("sub").and_then(|s| s.as_str()) != claims.sub.as_deref() {
                    return Err(Error::Provider("userinfo subject differs from the ID token".into()));
                }
                info
            }
            None => serde_json::Map::new(),
        };
        let principal = self.principal(&claims, &userinfo);
        Ok(OidcLogin { principal, id_token_claims: claims, access_token })
    }

    fn validate_id_token(&self, token: &str, pending: &PendingLogin) -> Result<Claims, Error> {
        let claims = self.validator.validate_for(token, std::slice::from_ref(&self.config.client_id))?;
        if !claims.nonce.as_deref().is_some_and(|n| pending.nonce.ct_eq(n)) {
            return Err(Error::NonceMismatch);
        }
        // OIDC Core §3.1.3.7: with several audiences, azp must be present and be us.
        if let crate::jwt::Audience::Many(list) = &claims.aud
            && list.len() > 1
            && claims.azp.as_deref() != Some(self.config.client_id.as_str())
        {
            return Err(Error::AudienceMismatch);
        }
        if let Some(iat) = claims.iat {
            let now = self.clock.now();
            let issued = OffsetDateTime::from_unix_timestamp(iat).map_err(|_| Error::MissingClaim("iat"))?;
            if issued > now + self.validator.leeway() {
                return Err(Error::TokenNotYetValid);
            }
        }
        Ok(claims)
    }

    fn principal(&self, claims: &Claims, userinfo: &serde_json::Map<String, serde_json::Value>) -> Principal {
        let text =
            |name: &str| userinfo.get(name).and_then(|v| v.as_str()).or_else(|| claims.string(name)).map(str::to_owned);
        let sub = claims.sub.clone().unwrap_or_default();
        let display_name = text("name")
            .or_else(|| text("preferred_username"))
            .or_else(|| text("email"))
            .unwrap_or_else(|| sub.clone());
        let mut roles: Vec<Role> = self.config.default_roles.clone();
        let mut names = claims.string_list(&self.config.roles_claim);
        if let Some(v) = userinfo.get(&self.config.roles_claim) {
            let extra = Claims {
                extra: [(self.config.roles_claim.clone(), v.clone())].into_iter().collect(),
                ..Claims::default()
            };
            names.extend(extra.string_list(&self.config.roles_claim));
        }
        for n in names {
            let r = Role::new(n);
            if !roles.contains(&r) {
                roles.push(r);
            }
        }
        Principal {
            subject: format!("oidc:{}#{}", self.config.issuer, sub),
            display_name,
            kind: PrincipalKind::User,
            roles,
            auth_method: AuthMethod::Oidc,
            session_ref: None,
            break_glass: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn client() -> OidcClient {
        let metadata = ProviderMetadata {
            issuer: "https://idp.example".into(),
            authorization_endpoint: "https://idp.example/auth".into(),
            token_endpoint: "https://idp.example/token".into(),
            jwks_uri: "https://idp.example/jwks".into(),
            userinfo_endpoint: None,
            code_challenge_methods_supported: vec!["S256".into()],
        };
        let config = OidcConfig::new("https://idp.example", "phigate", "https://phigate.example/cb");
        OidcClient::from_metadata(config, metadata, Arc::new(ManualClock::at_unix(1_800_000_000))).unwrap()
    }

    #[test]
    fn authorization_url_carries_pkce_state_and_nonce_and_pending_login_is_redacted() {
        let c = client();
        let (url, pending) = c.begin().unwrap();
        let query = url.strip_prefix("https://idp.example/auth?").unwrap();
        let params: std::collections::BTreeMap<String, String> =
            form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        assert_eq!(params["response_type"], "code");
        assert_eq!(params["code_challenge_method"], "S256");
        assert_eq!(params["state"], pending.state());
        let expected = URL_SAFE_NO_PAD.encode(sha256(pending.verifier.expose().as_bytes()));
        assert_eq!(params["code_challenge"], expected);
        assert!(params["scope"].starts_with("openid "));
        let debug = format!("{pending:?}");
        assert!(!debug.contains(pending.state()) && !debug.contains(pending.nonce.expose()));
        assert!(!debug.contains(pending.verifier.expose()));
    }

    #[test]
    fn metadata_must_name_the_configured_issuer_and_support_s256() {
        let mut m = client().metadata().clone();
        m.issuer = "https://evil.example".into();
        let config = OidcConfig::new("https://idp.example", "phigate", "https://phigate.example/cb");
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::at_unix(0));
        assert!(matches!(OidcClient::from_metadata(config.clone(), m, clock.clone()), Err(Error::Provider(_))));
        let mut m = client().metadata().clone();
        m.code_challenge_methods_supported = vec!["plain".into()];
        assert!(matches!(OidcClient::from_metadata(config, m, clock), Err(Error::Provider(_))));
    }

    #[test]
    fn callback_errors_are_typed() {
        let c = client();
        let (_, pending) = c.begin().unwrap();
        assert!(matches!(c.complete(pending, "code=abc&state=forged"), Err(Error::StateMismatch)));
        let (_, pending) = c.begin().unwrap();
        let q = format!("error=access_denied&state={}", pending.state());
        assert!(matches!(c.complete(pending, &q), Err(Error::Provider(e)) if e == "access_denied"));
    }
}
