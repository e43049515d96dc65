//! Server-side browser sessions.
//!
//! The browser holds a 256-bit random id in a `__Host-` cookie; the server
//! stores only its SHA-256, so a leaked database cannot be replayed as
//! cookies. A new id is issued at every login and privilege change (no
//! session fixation). Each session carries a CSRF token for state-changing
//! requests, checked in constant time. Sessions end after an idle timeout
//! (default 15 min) and an absolute lifetime (default 8 h) that counts from
//! login and survives id rotation.

use std::sync::Arc;
use std::time::Duration;

use crate::Error;
use crate::clock::{Clock, to_time};
use crate::principal::Principal;
use crate::repo::{IdentityRepository, SessionRecord};
use crate::secret::{CsrfToken, SessionToken, random_token, sha256};

/// Session timings and cookie name.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Inactivity that ends a session (default 15 min).
    pub idle_timeout: Duration,
    /// Longest a session may last from login (default 8 h).
    pub absolute_lifetime: Duration,
    /// Cookie name; must start with `__Host-` (default `__Host-phigate-session`).
    pub cookie_name: String,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(15 * 60),
            absolute_lifetime: Duration::from_secs(8 * 3600),
            cookie_name: "__Host-phigate-session".into(),
        }
    }
}

impl SessionConfig {
    fn check(&self) -> Result<(), Error> {
        if !self.cookie_name.starts_with("__Host-")
            || !self.cookie_name[7..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(Error::Config("session cookie name must be `__Host-` followed by [A-Za-z0-9_-]".into()));
        }
        if self.idle_timeout.is_zero() || self.idle_timeout > self.absolute_lifetime {
            return Err(Error::Config(
                "session idle timeout must be positive and at most the absolute lifetime".into(),
            ));
        }
        if self.absolute_lifetime > Duration::from_secs(24 * 3600) {
            return Err(Error::Config("session absolute lifetime must be at most 24 h".into()));
        }
        Ok(())
    }
}

/// What the browser receives at login: the cookie value and the CSRF token.
#[derive(Debug)]
pub struct IssuedSession {
    /// Goes into the session cookie only.
    pub token: SessionToken,
    /// Goes into pages/forms (or a readable header); sent back on state-changing requests.
    pub csrf: CsrfToken,
    /// The principal, with `session_ref` set.
    pub principal: Principal,
}

/// Creates, checks, rotates and ends sessions.
pub struct SessionManager {
    repo: Arc<dyn IdentityRepository>,
    clock: Arc<dyn Clock>,
    config: SessionConfig,
}

impl std::fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionManager").field("config", &self.config).finish_non_exhaustive()
    }
}

/// A short, non-secret reference to a session for logs and audit (first 8 bytes of the id hash).
fn session_ref(id_hash: &[u8; 32]) -> String {
    hex::encode(&id_hash[..8])
}

impl SessionManager {
    /// A manager with validated `config`.
    pub fn new(repo: Arc<dyn IdentityRepository>, clock: Arc<dyn Clock>, config: SessionConfig) -> Result<Self, Error> {
        config.check()?;
        Ok(Self { repo, clock, config })
    }

    /// The configuration in force.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    fn issue(&self, mut principal: Principal, created_at: time::OffsetDateTime) -> Result<IssuedSession, Error> {
        let token = SessionToken::new(random_token()?);
        let csrf = CsrfToken::new(random_token()?);
        let id_hash = sha256(token.expose().as_bytes());
        principal.session_ref = Some(session_ref(&id_hash));
        let record = SessionRecord {
            id_hash,
            csrf_hash: sha256(csrf.expose().as_bytes()),
            principal: principal.clone(),
            created_at,
            last_seen: self.clock.now(),
        };
        self.repo.insert_session(&record)?;
        Ok(IssuedSession { token, csrf, principal })
    }

    /// Starts a session after a successful sign-in. Any session the browser
    /// already had (`previous`) is destroyed: the id always changes at login.
    pub fn login(&self, principal: Principal, previous: Option<&SessionToken>) -> Result<IssuedSession, Error> {
        if let Some(old) = previous {
            self.repo.delete_session(&sha256(old.expose().as_bytes()))?;
        }
        self.issue(principal, self.clock.now())
    }

    /// Resolves a cookie value to a live session, enforcing both timeouts and recording activity.
    pub fn authenticate(&self, token: &SessionToken) -> Result<SessionRecord, Error> {
        let id_hash = sha256(token.expose().as_bytes());
        let mut record = self.repo.session(&id_hash)?.ok_or(Error::SessionUnknown)?;
        let now = self.clock.now();
        if now - record.created_at >= to_time(self.config.absolute_lifetime) {
            self.repo.delete_session(&id_hash)?;
            return Err(Error::SessionExpired);
        }
        if now - record.last_seen >= to_time(self.config.idle_timeout) {
            self.repo.delete_session(&id_hash)?;
            return Err(Error::SessionIdle);
        }
        self.repo.touch_session(&id_hash, now)?;
        record.last_seen = now;
        Ok(record)
    }

    /// Checks a CSRF token presented with a state-changing request, in constant time.
    pub fn verify_csrf(&self, session: &SessionRecord, presented: Option<&str>) -> Result<(), Error> {
        use subtle::ConstantTimeEq;
        let presented = presented.ok_or(Error::CsrfMismatch)?;
        let ok: bool = sha256(presented.as_bytes()).ct_eq(&session.csrf_hash).into();
        if ok { Ok(()) } else { Err(Error::CsrfMismatch) }
    }

    /// Replaces the session after a privilege change (break-glass, role change):
    /// new id and CSRF token, new principal, same login time. The old id stops working.
    pub fn rotate(&self, token: &SessionToken, principal: Principal) -> Result<IssuedSession, Error> {
        let record = self.authenticate(token)?;
        self.repo.delete_session(&record.id_hash)?;
        self.issue(principal, record.created_at)
    }

    /// Ends a session (logout). Unknown ids are not an error.
    pub fn logout(&self, token: &SessionToken) -> Result<(), Error> {
        self.repo.delete_session(&sha256(token.expose().as_bytes()))
    }

    /// `Set-Cookie` value carrying the session id: `__Host-` prefix, `Path=/`,
    /// `Secure`, `HttpOnly`, `SameSite=Strict`, no `Domain`, `Max-Age` = absolute lifetime.
    pub fn cookie(&self, token: &SessionToken) -> String {
        format!(
            "{}={}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={}",
            self.config.cookie_name,
            token.expose(),
            self.config.absolute_lifetime.as_secs()
        )
    }

    /// `Set-Cookie` value that deletes the session cookie (logout).
    pub fn clear_cookie(&self) -> String {
        format!("{}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0", self.config.cookie_name)
    }

    /// Extracts this manager's session id from a `Cookie` request header.
    pub fn token_from_cookie_header(&self, header: &str) -> Option<SessionToken> {
        header.split(';').find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == self.config.cookie_name && !value.is_empty()).then(|| SessionToken::new(value))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_names_must_use_host_prefix() {
        let c = SessionConfig { cookie_name: "sid".into(), ..SessionConfig::default() };
        assert!(c.check().is_err());
        let c = SessionConfig { cookie_name: "__Host-a;b".into(), ..SessionConfig::default() };
        assert!(c.check().is_err());
        assert!(SessionConfig::default().check().is_ok());
    }
}
