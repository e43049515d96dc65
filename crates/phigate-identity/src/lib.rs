//! Identity for phigate: who is calling, proven how.
//!
//! Four ways in, one [`Principal`] out:
//! - [`jwt`]: bearer JWTs from the customer's identity provider, verified
//!   against its JWKS (cached, rotated) with an algorithm allow-list;
//! - [`oidc`]: browser sign-in at the customer's OpenID Provider
//!   (authorization code + PKCE);
//! - [`local`]: the embedded default with no IdP: Argon2id passwords and
//!   mandatory TOTP, with lockout and back-off;
//! - [`service`]: short-lived (≤ 30 days) service-account API keys with
//!   overlapping rotation and immediate revocation.
//!
//! Browser sign-ins (OIDC and local) continue as server-side [`session`]s
//! with CSRF tokens. Everything persistent goes through
//! [`IdentityRepository`]; time comes from a [`Clock`]. The crate does no
//! I/O it is not handed except HTTP to the configured identity provider, and
//! no type that holds a credential prints it.
//!
//! What is deliberately absent: HMAC-signed tokens, `alg: none`, session ids
//! or API keys stored in clear, TOTP secrets stored unsealed, and any path
//! from a password alone to a principal.
#![warn(missing_docs)]

mod clock;
mod error;
mod http;
pub mod jwt;
pub mod local;
pub mod oidc;
mod principal;
mod repo;
mod seal;
mod secret;
pub mod service;
pub mod session;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::Error;
pub use principal::{AuthMethod, BreakGlassMark, Principal, PrincipalKind, Role};
pub use repo::{
    IdentityRepository, LockoutKey, LockoutState, MemoryRepository, PasswordHash, SealedSecret, ServiceAccount,
    ServiceKeyRecord, SessionRecord, UserRecord,
};
pub use seal::{AesGcmSealer, SecretSealer};
pub use secret::{
    ApiKey, BearerToken, ClientSecret, CsrfToken, MfaChallenge, OtpauthUri, Password, REDACTED, SessionToken,
};
