//! Errors of the identity crate.
//!
//! No variant carries a password, TOTP code or secret, session id, API key,
//! token, or any claim value that could identify a person: messages name what
//! failed so an operator can act, and the server maps every authentication
//! failure to one generic 401 for the client.

/// Everything that can go wrong authenticating a caller or managing credentials.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The token is not a compact JWS (three base64url parts with JSON header and claims).
    #[error("token is malformed: {0}")]
    TokenMalformed(&'static str),
    /// The token header names `alg: none`: unsigned tokens are never accepted.
    #[error("token is unsigned (alg none); unsigned tokens are never accepted")]
    AlgorithmNone,
    /// The token's algorithm is not on the allow-list (for example an HMAC
    /// algorithm, which would let a public key act as a shared secret).
    #[error("token algorithm {0} is not allowed")]
    AlgorithmNotAllowed(String),
    /// The token names a key id that the key set does not hold, even after a refresh.
    #[error("token is signed with an unknown key id")]
    UnknownKeyId,
    /// The token has no `kid` and the key set holds more than one candidate key.
    #[error("token has no key id and the key set is ambiguous")]
    MissingKeyId,
    /// The key named by `kid` is of a different type than the token's algorithm.
    #[error("key {0} does not match the token algorithm")]
    KeyAlgorithmMismatch(String),
    /// The signature does not verify: the token was altered or signed by another key.
    #[error("token signature is invalid")]
    SignatureInvalid,
    /// `exp` is in the past (beyond the configured leeway).
    #[error("token has expired")]
    TokenExpired,
    /// `nbf` is in the future (beyond the configured leeway).
    #[error("token is not valid yet")]
    TokenNotYetValid,
    /// `iss` is not the configured issuer.
    #[error("token issuer is not the configured issuer")]
    IssuerMismatch,
    /// `aud` does not contain any configured audience.
    #[error("token audience does not include this service")]
    AudienceMismatch,
    /// A claim the validator requires is absent or has the wrong JSON type.
    #[error("token claim `{0}` is missing or has the wrong type")]
    MissingClaim(&'static str),
    /// An ID token (it carries a `nonce`) was presented as an API bearer token.
    #[error("an ID token is not an access token")]
    IdTokenAsBearer,
    /// The ID token's `nonce` is not the one sent with the authorization request.
    #[error("ID token nonce does not match the authorization request")]
    NonceMismatch,
    /// The `state` returned to the redirect URI is not the one this login sent.
    #[error("OIDC state does not match the pending login (possible CSRF)")]
    StateMismatch,
    /// The pending login is older than its lifetime.
    #[error("the sign-in attempt has expired; start again")]
    LoginExpired,
    /// The identity provider answered an error (`error` code only; never tokens).
    #[error("identity provider error: {0}")]
    Provider(String),
    /// An HTTP exchange with the identity provider or JWKS endpoint failed.
    #[error("HTTP request to {url} failed: {reason}")]
    Http {
        /// The URL requested (no query string with secrets is ever used here).
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The key set could not be fetched or parsed.
    #[error("key set (JWKS) unusable: {0}")]
    Jwks(String),
    /// Configuration is invalid (for example a service-key lifetime above the cap).
    #[error("invalid identity configuration: {0}")]
    Config(String),
    /// Username or password (or TOTP code) is wrong; deliberately does not say which.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Too many recent failures: try again after the back-off.
    #[error("too many failed attempts; retry in {retry_after_secs} s")]
    LockedOut {
        /// Seconds until the next attempt is accepted.
        retry_after_secs: u64,
    },
    /// The MFA challenge is unknown, already used, or expired.
    #[error("MFA challenge is unknown or expired; sign in again")]
    MfaChallengeInvalid,
    /// A TOTP code was already used for this account (replay).
    #[error("TOTP code was already used")]
    TotpReplay,
    /// The password does not meet the policy (length).
    #[error("password rejected: {0}")]
    WeakPassword(&'static str),
    /// A user, service account or key with this name already exists.
    #[error("{0} already exists")]
    AlreadyExists(&'static str),
    /// The named user, service account or key does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The account is disabled by an administrator.
    #[error("account is disabled")]
    AccountDisabled,
    /// No session matches the presented id (never issued, logged out, or rotated away).
    #[error("no such session")]
    SessionUnknown,
    /// The session was idle longer than the idle timeout.
    #[error("session idle timeout reached")]
    SessionIdle,
    /// The session is older than its absolute lifetime.
    #[error("session absolute lifetime reached")]
    SessionExpired,
    /// The CSRF token is missing or does not belong to the session.
    #[error("CSRF token missing or invalid")]
    CsrfMismatch,
    /// The API key is not in the `phg_<id>_<secret>` form.
    #[error("API key is malformed")]
    CredentialMalformed,
    /// The API key was revoked.
    #[error("API key has been revoked")]
    CredentialRevoked,
    /// The API key is past its expiry.
    #[error("API key has expired")]
    CredentialExpired,
    /// A sealed secret failed to open (tampered, moved, or wrong key).
    #[error("sealed secret failed authentication")]
    SealedSecretInvalid,
    /// Hashing a password failed inside the Argon2 implementation.
    #[error("password hashing failed")]
    PasswordHash,
    /// The operating system's random number generator failed.
    #[error("random number generator failed")]
    Rng,
    /// The identity repository failed.
    #[error("identity storage error: {0}")]
    Storage(String),
}
