//! Authentication and authorization, enforced in one place.
//!
//! Every request passes [`enforce`] after routing: it looks the matched
//! (method, route template) up in the policy's route table (no entry: 403,
//! deny by default), resolves the caller's credentials, and asks the policy.
//! Handlers never decide who may call them; they read the [`Caller`] this
//! layer attached.
//!
//! Credentials, in order: `Authorization: Bearer phg_…` (service-account
//! key), `Authorization: Bearer <JWT>` (customer IdP, when configured), the
//! session cookie (browser sign-in; state-changing methods must also send
//! the session's CSRF token in `x-csrf-token`). A presented but invalid
//! credential is a 401 and never falls through to another kind.
//!
//! Purpose of use comes from `x-purpose-of-use` (`treatment`, `operations`,
//! `research`, `emergency`); routes that need a permission require it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use phigate_identity::jwt::JwtValidator;
use phigate_identity::local::LocalAuthenticator;
use phigate_identity::service::ServiceAccounts;
use phigate_identity::session::SessionManager;
use phigate_identity::{Clock, Principal, SessionRecord};
use phigate_policy::{AccessContext, Policy, Purpose, RouteDecision};

use phigate_audit::Outcome;

use crate::telemetry::RequestId;
use crate::{ApiError, AppState, record};

/// Header carrying the purpose of use.
pub const PURPOSE_HEADER: &str = "x-purpose-of-use";
/// Header carrying the CSRF token on state-changing requests of a session.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The identity and policy services the server enforces with.
pub struct Access {
    /// The access policy (roles × resources × fields × purposes, and routes).
    pub policy: Arc<Policy>,
    /// Browser sessions.
    pub sessions: Arc<SessionManager>,
    /// Local accounts (the embedded default).
    pub local: Arc<LocalAuthenticator>,
    /// Service-account API keys.
    pub services: Arc<ServiceAccounts>,
    /// Bearer JWTs from the customer's IdP, when configured.
    pub jwt: Option<Arc<JwtValidator>>,
    /// Browser sign-in at the customer's OpenID Provider, when configured.
    pub oidc: Option<Arc<phigate_identity::oidc::OidcClient>>,
    /// OIDC sign-ins in flight, by `state`: single use, short-lived.
    pub pending_oidc: PendingLogins,
    /// Bearer JWTs verified recently (see [`VerifiedTokens`]).
    pub verified_tokens: VerifiedTokens,
    /// Time source.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access").field("jwt", &self.jwt.is_some()).finish_non_exhaustive()
    }
}

/// Bearer credentials already verified (IdP JWTs and `phg_` service keys),
/// by SHA-256 of the credential.
///
/// Why: clients reuse one credential for many calls. Verifying a JWT's
/// signature dominated the cost of an API call (a profile under load put
/// ~25% of CPU in P-256 arithmetic for ES256 tokens); a service key costs
/// two identity-store reads on the blocking pool. A hit still honours the
/// credential's own expiry; a JWT entry lapses 60 s after verification (a
/// key removed from the IdP's JWKS stops being accepted within a minute), a
/// service-key entry after 1 s (a revocation by another instance sharing
/// the store takes effect within a second). Revoking a service key or disabling an account through the
/// admin API empties the memory at once ([`VerifiedTokens::clear`]), so a
/// revoked key is refused on its next request. Only successfully verified
/// credentials are kept; anything else is verified from scratch every time.
#[derive(Default)]
pub struct VerifiedTokens(std::sync::Mutex<Verified>);

/// The memory and its epoch: [`VerifiedTokens::clear`] starts a new epoch,
/// and a verification that began in an older one is not remembered (it may
/// have read a key just before it was revoked).
#[derive(Default)]
pub struct Verified {
    epoch: u64,
    entries: std::collections::HashMap<[u8; 32], (Principal, i64)>,
}

impl VerifiedTokens {
    /// Most tokens remembered; when full, the memory is simply cleared.
    const MAX: usize = 10_000;
    /// Longest an entry is trusted without verifying again.
    const TTL_SECS: i64 = 60;
    /// Longest a service key is trusted without reading the store again.
    pub const SERVICE_KEY_TTL_SECS: i64 = 1;

    fn key(token: &str) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(token.as_bytes()).into()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Verified> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The principal of a token verified before and still valid at `now` (unix seconds).
    pub fn get(&self, token: &str, now: i64) -> Option<Principal> {
        self.lock().entries.get(&Self::key(token)).filter(|(_, until)| now < *until).map(|(p, _)| p.clone())
    }

    /// The current epoch: read it before verifying, pass it to [`VerifiedTokens::insert`].
    pub fn epoch(&self) -> u64 {
        self.lock().epoch
    }

    /// Forgets every credential (after a revocation or an account change),
    /// including verifications still in flight.
    pub fn clear(&self) {
        let mut v = self.lock();
        v.epoch += 1;
        v.entries.clear();
    }

    /// Remembers a token verified in `epoch`, until its `exp` or the TTL,
    /// whichever is first; nothing if the memory was cleared since.
    pub fn insert(&self, token: &str, principal: &Principal, exp: Option<i64>, now: i64, epoch: u64) {
        let until = exp.map_or(now + Self::TTL_SECS, |e| e.min(now + Self::TTL_SECS));
        let mut v = self.lock();
        if v.epoch != epoch {
            return;
        }
        if v.entries.len() >= Self::MAX {
            v.entries.clear();
        }
        v.entries.insert(Self::key(token), (principal.clone(), until));
    }
}

/// OIDC logins between redirect and callback. In memory: they last
/// minutes, and a restart only means clicking "sign in" again.
#[derive(Default)]
pub struct PendingLogins(std::sync::Mutex<std::collections::HashMap<String, phigate_identity::oidc::PendingLogin>>);

impl PendingLogins {
    /// Most logins in flight at once (bounds memory under a flood of starts).
    const MAX: usize = 10_000;

    /// Keeps a pending login under its `state`; refuses when full.
    pub fn insert(&self, pending: phigate_identity::oidc::PendingLogin) -> bool {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= Self::MAX {
            return false;
        }
        map.insert(pending.state().to_string(), pending);
        true
    }

    /// Takes (removes) the pending login for `state`: a state works once.
    pub fn take(&self, state: &str) -> Option<phigate_identity::oidc::PendingLogin> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(state)
    }
}

/// The client's address, attached by the listener (absent in `oneshot` tests).
#[derive(Clone, Copy, Debug)]
pub struct PeerAddr(pub SocketAddr);

/// Who is calling and why; attached to every request that passed [`enforce`].
#[derive(Clone, Debug)]
pub struct Caller {
    /// The authenticated principal (`None` on public routes without credentials).
    pub principal: Option<Principal>,
    /// The session, for cookie-authenticated callers.
    pub session: Option<SessionRecord>,
    /// The declared purpose of use.
    pub purpose: Option<Purpose>,
    /// The client's address.
    pub source: IpAddr,
    /// The caller may only receive de-identified data on this route (its
    /// grant is `deidentified_only`): the handler must de-identify
    /// everything it sends to a model and must not re-identify answers.
    pub deidentified_only: bool,
}

/// The client address of a request (unspecified when unknown).
pub fn source_of(req: &Request) -> IpAddr {
    req.extensions().get::<PeerAddr>().map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.0.ip())
}

fn purpose_of(headers: &HeaderMap) -> Result<Option<Purpose>, ApiError> {
    match headers.get(PURPOSE_HEADER) {
        None => Ok(None),
        Some(v) => v.to_str().ok().and_then(|s| s.trim().parse().ok()).map(Some).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_purpose",
                "x-purpose-of-use must be treatment, operations, research or emergency",
            )
        }),
    }
}

/// The session token from the request's cookies, if any.
pub fn session_token(access: &Access, headers: &HeaderMap) -> Option<phigate_identity::SessionToken> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| access.sessions.token_from_cookie_header(c))
}

fn state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The principal of a bearer credential (JWT or service key) in the
/// verified-credential memory, if any.
fn cached_bearer(access: &Access, headers: &HeaderMap) -> Option<Principal> {
    let token = headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ")?.trim();
    if !token.starts_with("phg_") {
        access.jwt.as_ref()?;
    }
    access.verified_tokens.get(token, access.clock.now().unix_timestamp())
}

/// Resolves credentials; `Ok(None)` when none were presented.
fn authenticate(
    access: &Access,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Option<(Principal, Option<SessionRecord>)>, ApiError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let text = value.to_str().map_err(|_| ApiError::unauthorized())?;
        let token = text.strip_prefix("Bearer ").ok_or_else(ApiError::unauthorized)?.trim();
        let epoch = access.verified_tokens.epoch();
        let principal = if token.starts_with("phg_") {
            let now = access.clock.now().unix_timestamp();
            access.services.authenticate_until(token).map(|(p, until)| {
                // Remembered for at most a second: a revocation made outside
                // this process (another instance on the same store) is
                // honoured within that; one made through this server's admin
                // API clears the memory at once.
                let until = until.unix_timestamp().min(now + VerifiedTokens::SERVICE_KEY_TTL_SECS);
                access.verified_tokens.insert(token, &p, Some(until), now, epoch);
                p
            })
        } else if let Some(jwt) = &access.jwt {
            let now = access.clock.now().unix_timestamp();
            jwt.authenticate(token).inspect(|p| {
                let exp = phigate_identity::jwt::decode_unverified(token).ok().and_then(|t| t.claims.exp);
                access.verified_tokens.insert(token, p, exp, now, epoch);
            })
        } else {
            return Err(ApiError::unauthorized());
        };
        return principal.map(|p| Some((p, None))).map_err(|e| {
            tracing::info!(reason = %e, "bearer credential refused");
            ApiError::unauthorized()
        });
    }
    let Some(token) = session_token(access, headers) else {
        return Ok(None);
    };
    let session = access.sessions.authenticate(&token).map_err(|e| {
        tracing::info!(reason = %e, "session refused");
        ApiError::unauthorized()
    })?;
    if state_changing(method) {
        let presented = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        access.sessions.verify_csrf(&session, presented).map_err(|_| ApiError::csrf())?;
    }
    Ok(Some((session.principal.clone(), Some(session))))
}

/// Probes that need no identity at all (liveness must not depend on it).
const PROBES: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// The enforcement layer (a route layer: it runs after routing, so it knows the template).
pub async fn enforce(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let template = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_default();
    let Some(access) = state.access.clone() else {
        // Without identity services only the probes can be decided: fail
        // closed for everything else.
        if req.method() == Method::GET && PROBES.contains(&template.as_str()) {
            return next.run(req).await;
        }
        return ApiError::unavailable("no_identity", "authentication is not configured").into_response();
    };
    let method = req.method().clone();
    let purpose = match purpose_of(req.headers()) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let source = source_of(&req);
    let requirement = access.policy.routes().requirement(method.as_str(), &template).cloned();
    let public = matches!(requirement, Some(phigate_policy::RouteRequirement::Public));
    let headers = req.headers().clone();
    let cached = cached_bearer(&access, &headers);
    let resolved = if public && !headers.contains_key(header::AUTHORIZATION) {
        Ok(None)
    } else if let Some(p) = cached {
        // A credential verified moments ago: no signature check, no store read, no thread hop.
        Ok(Some((p, None)))
    } else {
        let access = access.clone();
        let method = method.clone();
        match tokio::task::spawn_blocking(move || authenticate(&access, &method, &headers)).await {
            Ok(r) => r,
            Err(_) => Err(ApiError::unavailable("auth_unavailable", "authentication could not be checked")),
        }
    };
    let (principal, session) = match resolved {
        Ok(Some((p, s))) => (Some(p), s),
        Ok(None) => (None, None),
        Err(e) => return e.into_response(),
    };
    // Authentication first: an anonymous caller learns nothing but 401.
    if principal.is_some()
        && matches!(requirement, Some(phigate_policy::RouteRequirement::Permission { .. }))
        && purpose.is_none()
    {
        return ApiError::bad_request("purpose_required", "this route requires an x-purpose-of-use header")
            .into_response();
    }
    let ctx = AccessContext { now: access.clock.now(), care_relationship: None, deidentified: false };
    let decision = access.policy.routes().check(
        &access.policy,
        principal.as_ref(),
        method.as_str(),
        &template,
        purpose.unwrap_or(Purpose::Operations),
        &ctx,
    );
    let allowed = matches!(decision, RouteDecision::Allowed(_) | RouteDecision::AllowedDeidentified(_));
    // Every decision about an authenticated caller is on the record before
    // the handler runs (and a request that cannot be recorded does not run).
    if let Some(p) = &principal {
        let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
        let mut e = record::event(
            record::actor(p),
            "api.request",
            if allowed { Outcome::Success } else { Outcome::Denied },
            record::source(source, req.headers()),
        );
        e.resource = Some(phigate_audit::Resource { kind: "route".into(), id: format!("{method} {template}") });
        e.purpose = purpose.map(|x| record::purpose_code(x).to_string());
        e.request_id = request_id;
        e.break_glass = p.break_glass_active(ctx.now);
        if let Err(err) = record::record(&state, e).await {
            return err.into_response();
        }
    }
    match decision {
        RouteDecision::Allowed(_) => {
            req.extensions_mut().insert(Caller { principal, session, purpose, source, deidentified_only: false });
            next.run(req).await
        }
        RouteDecision::AllowedDeidentified(_) => {
            req.extensions_mut().insert(Caller { principal, session, purpose, source, deidentified_only: true });
            next.run(req).await
        }
        RouteDecision::Unauthenticated => ApiError::unauthorized().into_response(),
        RouteDecision::Forbidden(d) => {
            tracing::info!(route = %template, reason = %d.reason, "request forbidden by policy");
            ApiError::forbidden().into_response()
        }
        _ => ApiError::forbidden().into_response(),
    }
}

#[cfg(test)]
mod tests {
    use phigate_identity::{AuthMethod, PrincipalKind};

    use super::*;

    fn principal() -> Principal {
        Principal {
            subject: "jwt:https://idp#svc".into(),
            display_name: "svc".into(),
            kind: PrincipalKind::Service,
            roles: Vec::new(),
            auth_method: AuthMethod::Jwt,
            session_ref: None,
            break_glass: None,
        }
    }

    #[test]
    fn verified_tokens_honour_exp_and_ttl_and_the_exact_token() {
        let cache = VerifiedTokens::default();
        let now = 1_000_000;
        cache.insert("token-a", &principal(), Some(now + 10), now, 0);
        assert!(cache.get("token-a", now + 9).is_some());
        assert!(cache.get("token-a", now + 10).is_none(), "expired at exp");
        assert!(cache.get("token-b", now).is_none(), "only the exact token");
        cache.insert("token-c", &principal(), None, now, 0);
        assert!(cache.get("token-c", now + 59).is_some());
        assert!(cache.get("token-c", now + 60).is_none(), "re-verified after the TTL");
        cache.insert("token-d", &principal(), Some(now + 3600), now, 0);
        assert!(cache.get("token-d", now + 61).is_none(), "the TTL bounds long-lived tokens");
        // A clear forgets everything, and a verification begun before it is not remembered.
        let before = cache.epoch();
        cache.insert("token-e", &principal(), None, now, before);
        cache.clear();
        assert!(cache.get("token-e", now).is_none(), "cleared");
        cache.insert("token-f", &principal(), None, now, before);
        assert!(cache.get("token-f", now).is_none(), "verified in an older epoch: not remembered");
        cache.insert("token-g", &principal(), None, now, cache.epoch());
        assert!(cache.get("token-g", now).is_some());
    }
}
