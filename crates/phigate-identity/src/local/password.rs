//! Argon2id password hashing.

use argon2::password_hash::{PasswordHash as Phc, SaltString};
use argon2::{Argon2, PasswordHasher as _, PasswordVerifier as _};

use crate::Error;
use crate::repo::PasswordHash;
use crate::secret::{Password, random_bytes};

/// Minimum password length in characters (NIST SP 800-63B asks for ≥ 8; we ask for more because MFA may be reset).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Maximum password length in bytes (bounds hashing cost per request).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingCost {
    /// Memory in KiB.
    pub m_cost: u32,
    /// Iterations.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl Default for HashingCost {
    /// OWASP's Argon2id baseline: 19 MiB, 2 iterations, 1 lane.
    fn default() -> Self {
        Self { m_cost: 19 * 1024, t_cost: 2, p_cost: 1 }
    }
}

impl HashingCost {
    /// Tiny cost for unit tests only: never use for stored passwords.
    pub fn insecure_for_tests() -> Self {
        Self { m_cost: 64, t_cost: 1, p_cost: 1 }
    }

    fn argon2(&self) -> Result<Argon2<'static>, Error> {
        let params = argon2::Params::new(self.m_cost, self.t_cost, self.p_cost, None)
            .map_err(|_| Error::Config("invalid Argon2 parameters".into()))?;
        Ok(Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params))
    }
}

/// Checks length rules (never the content: that would need the password in an error).
pub fn check_policy(password: &Password) -> Result<(), Error> {
    if password.expose().len() > MAX_PASSWORD_BYTES {
        return Err(Error::WeakPassword("longer than 1024 bytes"));
    }
    if password.expose().chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::WeakPassword("shorter than 12 characters"));
    }
    Ok(())
}

/// Hashes a password with a fresh 128-bit salt.
pub fn hash(password: &Password, cost: HashingCost) -> Result<PasswordHash, Error> {
    let salt_bytes = random_bytes::<16>()?;
    let salt = SaltString::encode_b64(salt_bytes.as_ref()).map_err(|_| Error::PasswordHash)?;
    let phc = cost.argon2()?.hash_password(password.expose().as_bytes(), &salt).map_err(|_| Error::PasswordHash)?;
    Ok(PasswordHash(phc.to_string()))
}

/// Verifies a password against a stored PHC string (parameters come from the string).
pub fn verify(password: &Password, stored: &PasswordHash) -> bool {
    if password.expose().len() > MAX_PASSWORD_BYTES {
        return false;
    }
    let Ok(parsed) = Phc::new(&stored.0) else { return false };
    Argon2::default().verify_password(password.expose().as_bytes(), &parsed).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_argon2id_and_verifies() {
        let pw = Password::new("correct horse battery");
        let h = hash(&pw, HashingCost::insecure_for_tests()).unwrap();
        assert!(h.0.starts_with("$argon2id$v=19$"));
        assert!(verify(&pw, &h));
        assert!(!verify(&Password::new("wrong horse battery"), &h));
        assert!(!format!("{h:?}").contains("argon2id"));
    }

    #[test]
    fn policy_limits() {
        assert!(check_policy(&Password::new("short")).is_err());
        assert!(check_policy(&Password::new("x".repeat(2000))).is_err());
        assert!(check_policy(&Password::new("long enough pass")).is_ok());
    }
}
