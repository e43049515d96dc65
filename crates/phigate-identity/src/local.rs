//! The embedded identity provider: local accounts, Argon2id passwords, mandatory TOTP.
//!
//! Sign-in is two steps and only the second yields a [`Principal`]:
//! [`LocalAuthenticator::login`] checks the password and returns an
//! [`MfaChallenge`]; [`LocalAuthenticator::complete_totp`] checks the TOTP
//! code against it. An account without a confirmed TOTP secret is enrolled
//! during its first sign-in (the secret is shown once, sealed at rest), and
//! its first valid code completes both the enrollment and the sign-in. There
//! is no path around MFA.
//!
//! Every failure (unknown user, wrong password, wrong code) is the same
//! [`Error::InvalidCredentials`] and counts against both the account and the
//! client address (see [`LockoutPolicy`]).

pub mod lockout;
pub mod password;
pub mod totp;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use time::OffsetDateTime;

pub use lockout::LockoutPolicy;
pub use password::HashingCost;
pub use totp::TotpSecret;

use crate::Error;
use crate::clock::{Clock, to_time};
use crate::principal::{AuthMethod, Principal, PrincipalKind, Role};
use crate::repo::{IdentityRepository, LockoutKey, SealedSecret, UserRecord};
use crate::seal::SecretSealer;
use crate::secret::{MfaChallenge, OtpauthUri, Password, random_bytes, random_token, sha256};

/// Settings of the embedded identity provider.
#[derive(Debug, Clone)]
pub struct LocalConfig {
    /// Issuer shown in authenticator apps (default `phigate`).
    pub totp_issuer: String,
    /// Argon2id cost.
    pub hashing: HashingCost,
    /// Lockout thresholds and back-off.
    pub lockout: LockoutPolicy,
    /// How long the TOTP step may follow the password step (default 5 min).
    pub mfa_challenge_ttl: Duration,
}

impl Default for LocalConfig {
    fn default() -> Self {
        Self {
            totp_issuer: "phigate".into(),
            hashing: HashingCost::default(),
            lockout: LockoutPolicy::default(),
            mfa_challenge_ttl: Duration::from_secs(300),
        }
    }
}

/// What a first-time user must add to their authenticator app. Shown once.
#[derive(Debug)]
pub struct TotpEnrollment {
    /// The secret (base32 via [`TotpSecret::to_base32`]).
    pub secret: TotpSecret,
    /// `otpauth://` URI for a QR code. Contains the secret: never log it.
    pub otpauth_uri: OtpauthUri,
}

/// Result of a correct password.
#[derive(Debug)]
#[non_exhaustive]
pub enum LoginStep {
    /// Enter the current TOTP code for `challenge`.
    TotpRequired {
        /// Handle for [`LocalAuthenticator::complete_totp`].
        challenge: MfaChallenge,
    },
    /// First sign-in: add this secret to an authenticator app, then enter a code for `challenge`.
    EnrollTotp {
        /// Handle for [`LocalAuthenticator::complete_totp`].
        challenge: MfaChallenge,
        /// The secret to enroll.
        enrollment: TotpEnrollment,
    },
}

struct PendingMfa {
    username: String,
    expires_at: OffsetDateTime,
    attempts: u32,
}

/// Attempts allowed per MFA challenge before the password must be entered again.
const MAX_CHALLENGE_ATTEMPTS: u32 = 5;

/// Local accounts with password + TOTP sign-in.
pub struct LocalAuthenticator {
    repo: Arc<dyn IdentityRepository>,
    sealer: Arc<dyn SecretSealer>,
    clock: Arc<dyn Clock>,
    config: LocalConfig,
    /// Challenges live in memory: they last minutes, and a restart only means typing the password again.
    pending: Mutex<HashMap<[u8; 32], PendingMfa>>,
    dummy_hash: OnceLock<crate::repo::PasswordHash>,
}

impl std::fmt::Debug for LocalAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalAuthenticator").field("config", &self.config).finish_non_exhaustive()
    }
}

fn normalize(username: &str) -> String {
    username.trim().to_lowercase()
}

impl LocalAuthenticator {
    /// An authenticator over `repo`, sealing TOTP secrets with `sealer`.
    pub fn new(
        repo: Arc<dyn IdentityRepository>,
        sealer: Arc<dyn SecretSealer>,
        clock: Arc<dyn Clock>,
        config: LocalConfig,
    ) -> Self {
        Self { repo, sealer, clock, config, pending: Mutex::new(HashMap::new()), dummy_hash: OnceLock::new() }
    }

    /// Creates an account; MFA is enrolled at its first sign-in.
    pub fn create_user(
        &self,
        username: &str,
        display_name: &str,
        password: &Password,
        roles: Vec<Role>,
    ) -> Result<UserRecord, Error> {
        let username = normalize(username);
        if username.is_empty() || username.len() > 128 {
            return Err(Error::Config("username must be 1 to 128 characters".into()));
        }
        password::check_policy(password)?;
        let user = UserRecord {
            id: format!("local:{}", hex::encode(random_bytes::<16>()?.as_ref())),
            username,
            display_name: display_name.to_owned(),
            password_hash: password::hash(password, self.config.hashing)?,
            roles,
            totp: None,
            totp_confirmed: false,
            totp_last_step: None,
            disabled: false,
        };
        self.repo.insert_user(&user)?;
        Ok(user)
    }

    /// Every account (for administration; records hold only hashes and sealed secrets).
    pub fn users(&self) -> Result<Vec<UserRecord>, Error> {
        self.repo.users()
    }

    /// Replaces a password and ends every session of the user (returns how many).
    pub fn set_password(&self, username: &str, password: &Password) -> Result<usize, Error> {
        password::check_policy(password)?;
        let mut user = self.repo.user_by_username(&normalize(username))?.ok_or(Error::NotFound("user"))?;
        user.password_hash = password::hash(password, self.config.hashing)?;
        self.repo.update_user(&user)?;
        self.repo.delete_sessions_of(&user.id)
    }

    /// Disables or re-enables an account; disabling ends every session of the user (returns how many).
    pub fn set_disabled(&self, username: &str, disabled: bool) -> Result<usize, Error> {
        let mut user = self.repo.user_by_username(&normalize(username))?.ok_or(Error::NotFound("user"))?;
        user.disabled = disabled;
        self.repo.update_user(&user)?;
        if disabled { self.repo.delete_sessions_of(&user.id) } else { Ok(0) }
    }

    /// Forgets the TOTP secret so the user enrolls again at next sign-in (admin action, audited by the caller).
    pub fn reset_totp(&self, username: &str) -> Result<(), Error> {
        let mut user = self.repo.user_by_username(&normalize(username))?.ok_or(Error::NotFound("user"))?;
        user.totp = None;
        user.totp_confirmed = false;
        user.totp_last_step = None;
        self.repo.update_user(&user)
    }

    /// Lockout keys of an attempt. IPv6 sources count per /64: one host
    /// usually controls a whole /64, so counting single addresses would not limit it.
    fn keys(username: &str, source: IpAddr) -> [LockoutKey; 2] {
        let source = match source {
            IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
                IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into())
            }
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(source, IpAddr::V4),
            IpAddr::V4(_) => source,
        };
        [LockoutKey::Account(username.to_owned()), LockoutKey::Source(source)]
    }

    fn dummy_hash(&self) -> Result<&crate::repo::PasswordHash, Error> {
        if let Some(h) = self.dummy_hash.get() {
            return Ok(h);
        }
        let h = password::hash(&Password::new(random_token()?), self.config.hashing)?;
        Ok(self.dummy_hash.get_or_init(|| h))
    }

    /// Step one: the password. Never returns a principal.
    pub fn login(&self, username: &str, password: &Password, source: IpAddr) -> Result<LoginStep, Error> {
        let username = normalize(username);
        let now = self.clock.now();
        let keys = Self::keys(&username, source);
        self.config.lockout.check(self.repo.as_ref(), &keys, now)?;
        let user = self.repo.user_by_username(&username)?;
        let ok = match &user {
            Some(u) => password::verify(password, &u.password_hash),
            None => {
                // Same work for unknown names, so timing does not reveal which accounts exist.
                let _ = password::verify(password, self.dummy_hash()?);
                false
            }
        };
        let Some(mut user) = user.filter(|_| ok) else {
            self.config.lockout.record_failure(self.repo.as_ref(), &keys, now)?;
            return Err(Error::InvalidCredentials);
        };
        if user.disabled {
            return Err(Error::AccountDisabled);
        }
        let challenge = self.new_challenge(&username, now)?;
        if user.totp_confirmed {
            return Ok(LoginStep::TotpRequired { challenge });
        }
        let secret = match &user.totp {
            Some(sealed) => TotpSecret::from_bytes(&self.sealer.open(user.id.as_bytes(), &sealed.0)?),
            None => {
                let secret = TotpSecret::generate()?;
                user.totp = Some(SealedSecret(self.sealer.seal(user.id.as_bytes(), secret.expose())?));
                self.repo.update_user(&user)?;
                secret
            }
        };
        let otpauth_uri = secret.otpauth_uri(&self.config.totp_issuer, &user.username).into();
        Ok(LoginStep::EnrollTotp { challenge, enrollment: TotpEnrollment { secret, otpauth_uri } })
    }

    fn new_challenge(&self, username: &str, now: OffsetDateTime) -> Result<MfaChallenge, Error> {
        let token = random_token()?;
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.retain(|_, p| p.expires_at > now);
        pending.insert(
            sha256(token.as_bytes()),
            PendingMfa {
                username: username.to_owned(),
                expires_at: now + to_time(self.config.mfa_challenge_ttl),
                attempts: 0,
            },
        );
        Ok(MfaChallenge::new(token))
    }

    /// Step two: the TOTP code. Completes enrollment on first use; returns the principal.
    pub fn complete_totp(&self, challenge: &MfaChallenge, code: &str, source: IpAddr) -> Result<Principal, Error> {
        let now = self.clock.now();
        let handle = sha256(challenge.expose().as_bytes());
        let username = {
            let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            match pending.get(&handle) {
                Some(p) if p.expires_at > now => p.username.clone(),
                _ => return Err(Error::MfaChallengeInvalid),
            }
        };
        let keys = Self::keys(&username, source);
        self.config.lockout.check(self.repo.as_ref(), &keys, now)?;
        let mut user = self.repo.user_by_username(&username)?.ok_or(Error::MfaChallengeInvalid)?;
        let sealed = user.totp.as_ref().ok_or(Error::MfaChallengeInvalid)?;
        let secret = TotpSecret::from_bytes(&self.sealer.open(user.id.as_bytes(), &sealed.0)?);
        let unix = u64::try_from(now.unix_timestamp()).unwrap_or(0);
        match totp::verify(&secret, code, unix, user.totp_last_step) {
            Ok(step) => {
                self.pending.lock().unwrap_or_else(|p| p.into_inner()).remove(&handle);
                user.totp_confirmed = true;
                user.totp_last_step = Some(step);
                self.repo.update_user(&user)?;
                // The account counter resets; the address counter only decays (one good
                // account must not let an address keep spraying).
                self.config.lockout.record_success(self.repo.as_ref(), &keys[..1])?;
                Ok(Principal {
                    subject: user.id,
                    display_name: user.display_name,
                    kind: PrincipalKind::User,
                    roles: user.roles,
                    auth_method: AuthMethod::LocalTotp,
                    session_ref: None,
                    break_glass: None,
                })
            }
            Err(e) => {
                self.config.lockout.record_failure(self.repo.as_ref(), &keys, now)?;
                let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(p) = pending.get_mut(&handle) {
                    p.attempts += 1;
                    if p.attempts >= MAX_CHALLENGE_ATTEMPTS {
                        pending.remove(&handle);
                    }
                }
                Err(e)
            }
        }
    }
}
