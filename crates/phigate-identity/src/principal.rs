//! Who is calling: the one type every authentication path produces.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A role name, as used by the policy file (`clinician`, `researcher`, …).
///
/// A newtype rather than an enum: roles are defined by the customer's policy
/// file, and the policy engine denies any role it does not know.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Role(String);

impl Role {
    /// A role with this name.
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    /// The role's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether the caller is a person or a machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PrincipalKind {
    /// A person signing in through a browser or presenting their own token.
    User,
    /// A service account (API key or client-credentials token).
    Service,
}

/// How the caller proved who they are; recorded with every audit entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuthMethod {
    /// Browser sign-in at the customer's OpenID Provider.
    Oidc,
    /// A bearer JWT issued by the customer's identity provider.
    Jwt,
    /// Embedded local account: Argon2id password plus TOTP.
    LocalTotp,
    /// A service-account API key.
    ApiKey,
}

/// An active break-glass elevation carried by a principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakGlassMark {
    /// The id of the break-glass event (links audit entries to the alert).
    pub event_id: String,
    /// When the elevation ends.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// An authenticated caller.
///
/// Holds no credential: it is safe to log (`Debug`) and to return from
/// `GET /api/v1/me`. The display name is the person's name as their IdP
/// knows it, which identifies staff, not patients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// Stable subject id (`local:<uuid>`, `oidc:<iss>#<sub>`, `service:<id>`).
    pub subject: String,
    /// Human-readable name.
    pub display_name: String,
    /// Person or service.
    pub kind: PrincipalKind,
    /// Roles granted to the caller.
    pub roles: Vec<Role>,
    /// How the caller authenticated.
    pub auth_method: AuthMethod,
    /// A non-secret reference to the session (hash prefix), if any; never the cookie value.
    pub session_ref: Option<String>,
    /// Active break-glass elevation, if any.
    pub break_glass: Option<BreakGlassMark>,
}

impl Principal {
    /// Whether the caller holds `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r.as_str() == role)
    }

    /// Whether a break-glass elevation is active at `now`.
    pub fn break_glass_active(&self, now: OffsetDateTime) -> bool {
        self.break_glass.as_ref().is_some_and(|m| now < m.expires_at)
    }
}
