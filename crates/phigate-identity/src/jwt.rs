//! Bearer JWT validation for API callers.
//!
//! A token is accepted only if every check passes, in this order: it parses
//! as a compact JWS; its `alg` is on the allow-list (`RS256`, `ES256`,
//! `EdDSA`: never `none`, never an HMAC algorithm, because a JWKS holds
//! public keys and an HMAC check would turn a public key into a shared
//! secret); its `kid` names a key in the issuer's JWKS whose type matches the
//! algorithm; the signature verifies (with `ring`); then `iss`, `aud`, `exp`
//! and `nbf` are checked, the time claims with a small leeway for clock skew.
//! Each failure has its own [`Error`] variant so attack tests and metrics can
//! tell them apart; the server answers all of them with the same 401.

mod claims;
mod jwks;
mod signature;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub use claims::{Audience, Claims};
pub use jwks::{HttpJwksFetcher, Jwk, JwkSet, JwksCache, JwksCacheConfig, JwksFetcher, StaticJwks};
pub use signature::Algorithm;

use crate::clock::Clock;
use crate::principal::{AuthMethod, Principal, PrincipalKind, Role};
use crate::{Error, clock};

/// The longest clock-skew leeway a configuration may ask for.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);

/// What a token must satisfy besides a valid signature.
#[derive(Debug, Clone)]
pub struct ValidationConfig {
    /// Exact expected `iss`.
    pub issuer: String,
    /// Accepted audiences: `aud` must contain at least one.
    pub audiences: Vec<String>,
    /// Allowed algorithms (a subset of [`Algorithm`]).
    pub algorithms: Vec<Algorithm>,
    /// Tolerated clock skew for `exp` and `nbf` (default 60 s, at most [`MAX_LEEWAY`]).
    pub leeway: Duration,
    /// Claim holding role names for [`JwtValidator::authenticate`] (default `roles`).
    pub roles_claim: String,
}

impl ValidationConfig {
    /// Secure defaults: all three asymmetric algorithms, 60 s leeway.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audiences: vec![audience.into()],
            algorithms: vec![Algorithm::Rs256, Algorithm::Es256, Algorithm::EdDsa],
            leeway: Duration::from_secs(60),
            roles_claim: "roles".into(),
        }
    }

    fn check(&self) -> Result<(), Error> {
        if self.issuer.is_empty() {
            return Err(Error::Config("JWT issuer must not be empty".into()));
        }
        if self.audiences.is_empty() || self.audiences.iter().any(String::is_empty) {
            return Err(Error::Config("JWT audiences must be non-empty".into()));
        }
        if self.algorithms.is_empty() {
            return Err(Error::Config("JWT algorithm allow-list must not be empty".into()));
        }
        if self.leeway > MAX_LEEWAY {
            return Err(Error::Config(format!("JWT leeway must be at most {} s", MAX_LEEWAY.as_secs())));
        }
        Ok(())
    }
}

/// The decoded, not yet verified, parts of a compact JWS.
#[derive(Debug, Clone)]
pub struct UnverifiedToken {
    /// The parsed algorithm.
    pub algorithm: Algorithm,
    /// The `kid` header, if any.
    pub kid: Option<String>,
    /// Claims (not trustworthy until verified).
    pub claims: Claims,
    signing_input: String,
    signature: Vec<u8>,
}

#[derive(serde::Deserialize)]
struct Header {
    alg: Option<String>,
    kid: Option<String>,
    crit: Option<serde_json::Value>,
}

/// Parses a compact JWS without verifying it. Never panics on any input.
///
/// Rejects `alg: none` and algorithms outside [`Algorithm`] here, so no later
/// code path can be tricked into treating such a token as signed.
pub fn decode_unverified(token: &str) -> Result<UnverifiedToken, Error> {
    if token.len() > 16 * 1024 {
        return Err(Error::TokenMalformed("token longer than 16 KiB"));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(Error::TokenMalformed("expected three dot-separated parts"));
    };
    let header_bytes = URL_SAFE_NO_PAD.decode(h).map_err(|_| Error::TokenMalformed("header is not base64url"))?;
    let header: Header =
        serde_json::from_slice(&header_bytes).map_err(|_| Error::TokenMalformed("header is not a JSON object"))?;
    let alg = header.alg.ok_or(Error::TokenMalformed("header has no alg"))?;
    let algorithm = Algorithm::from_header(&alg)?;
    if header.crit.is_some() {
        // RFC 7515 §4.1.11: unknown critical extensions must be rejected; we support none.
        return Err(Error::TokenMalformed("unsupported crit header"));
    }
    let payload = URL_SAFE_NO_PAD.decode(p).map_err(|_| Error::TokenMalformed("payload is not base64url"))?;
    let claims: Claims =
        serde_json::from_slice(&payload).map_err(|_| Error::TokenMalformed("payload is not a JSON claims object"))?;
    let signature = URL_SAFE_NO_PAD.decode(s).map_err(|_| Error::TokenMalformed("signature is not base64url"))?;
    if signature.is_empty() {
        return Err(Error::TokenMalformed("signature is empty"));
    }
    Ok(UnverifiedToken { algorithm, kid: header.kid, claims, signing_input: format!("{h}.{p}"), signature })
}

/// Validates bearer JWTs of one issuer against its cached JWKS.
pub struct JwtValidator {
    config: ValidationConfig,
    keys: Arc<JwksCache>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for JwtValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtValidator").field("config", &self.config).finish_non_exhaustive()
    }
}

impl JwtValidator {
    /// A validator for `config`, with keys from `keys` and time from `clock`.
    pub fn new(config: ValidationConfig, keys: Arc<JwksCache>, clock: Arc<dyn Clock>) -> Result<Self, Error> {
        config.check()?;
        Ok(Self { config, keys, clock })
    }

    /// The configuration in force.
    pub fn config(&self) -> &ValidationConfig {
        &self.config
    }

    /// Verifies a bearer `token` and returns its claims. Blocking: may fetch the JWKS.
    ///
    /// Besides the checks every token gets, a token carrying a `nonce` claim is
    /// refused ([`Error::IdTokenAsBearer`]): that is an ID token, meant for the
    /// client that signed the user in, not a credential for calling the API.
    pub fn validate(&self, token: &str) -> Result<Claims, Error> {
        let claims = self.validate_for(token, &self.config.audiences)?;
        if claims.nonce.is_some() {
            return Err(Error::IdTokenAsBearer);
        }
        Ok(claims)
    }

    /// Verifies a bearer token and maps it to a [`Principal`].
    ///
    /// The subject is `jwt:<iss>#<sub>`; roles come from
    /// [`ValidationConfig::roles_claim`]. A token whose `sub` is its own
    /// `client_id`/`azp` (the client-credentials grant) is a service.
    pub fn authenticate(&self, token: &str) -> Result<Principal, Error> {
        let claims = self.validate(token)?;
        let sub = claims.sub.clone().unwrap_or_default();
        let client = claims.string("client_id").or(claims.azp.as_deref());
        let kind = if client == Some(sub.as_str()) { PrincipalKind::Service } else { PrincipalKind::User };
        let display_name = claims
            .string("name")
            .or_else(|| claims.string("preferred_username"))
            .map_or_else(|| sub.clone(), str::to_owned);
        let mut roles: Vec<Role> = Vec::new();
        for name in claims.string_list(&self.config.roles_claim) {
            let role = Role::new(name);
            if !roles.contains(&role) {
                roles.push(role);
            }
        }
        Ok(Principal {
            subject: format!("jwt:{}#{sub}", self.config.issuer),
            display_name,
            kind,
            roles,
            auth_method: AuthMethod::Jwt,
            session_ref: None,
            break_glass: None,
        })
    }

    /// Like [`validate`](Self::validate) but with an explicit audience set (used for ID tokens).
    pub(crate) fn validate_for(&self, token: &str, audiences: &[String]) -> Result<Claims, Error> {
        let t = decode_unverified(token)?;
        if !self.config.algorithms.contains(&t.algorithm) {
            return Err(Error::AlgorithmNotAllowed(t.algorithm.name().into()));
        }
        let key = self.keys.key_for(t.kid.as_deref(), t.algorithm)?;
        signature::verify(t.algorithm, &key, t.signing_input.as_bytes(), &t.signature)?;
        let now = self.clock.now().unix_timestamp();
        let leeway = i64::try_from(self.config.leeway.as_secs()).unwrap_or(i64::MAX);
        t.claims.check_times(now, leeway)?;
        if t.claims.iss.as_deref() != Some(self.config.issuer.as_str()) {
            return Err(Error::IssuerMismatch);
        }
        if !audiences.iter().any(|a| t.claims.aud.contains(a)) {
            return Err(Error::AudienceMismatch);
        }
        if t.claims.sub.as_deref().is_none_or(str::is_empty) {
            return Err(Error::MissingClaim("sub"));
        }
        Ok(t.claims)
    }

    /// The leeway as a `time` duration.
    pub(crate) fn leeway(&self) -> time::Duration {
        clock::to_time(self.config.leeway)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_and_hmac_are_refused_at_parse_time() {
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        let p = URL_SAFE_NO_PAD.encode(br#"{"sub":"x"}"#);
        assert!(matches!(decode_unverified(&format!("{h}.{p}.")), Err(Error::AlgorithmNone)));
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256"}"#);
        assert!(
            matches!(decode_unverified(&format!("{h}.{p}.AAAA")), Err(Error::AlgorithmNotAllowed(a)) if a == "HS256")
        );
    }

    #[test]
    fn config_rejects_large_leeway() {
        let mut c = ValidationConfig::new("https://idp", "api");
        c.leeway = Duration::from_secs(3600);
        assert!(matches!(c.check(), Err(Error::Config(_))));
    }
}
