//! Secret values: zeroized on drop, redacted in `Debug`, compared in constant time.
//!
//! Every credential this crate handles (passwords, TOTP secrets, session ids,
//! CSRF tokens, API keys, client secrets, PKCE verifiers) is one of these
//! types, so a `tracing::debug!("{:?}", x)` anywhere prints `[REDACTED]` and a
//! dropped value does not linger in freed memory.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::Error;

/// What `Debug` prints in place of a secret.
pub const REDACTED: &str = "[REDACTED]";

macro_rules! secret_string {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Zeroize, ZeroizeOnDrop)]
        pub struct $name(String);

        impl $name {
            /// Wraps a secret string.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// Borrows the secret. Call sites are where it is sent or checked; keep them few.
            pub fn expose(&self) -> &str {
                &self.0
            }

            /// Constant-time equality with another string.
            pub fn ct_eq(&self, other: &str) -> bool {
                self.0.as_bytes().ct_eq(other.as_bytes()).into()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), REDACTED)
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }
    };
}

secret_string!(
    /// A password as typed by a user.
    Password
);
secret_string!(
    /// An opaque session id as held in the browser's cookie (256 random bits, base64url).
    SessionToken
);
secret_string!(
    /// A CSRF token bound to one session.
    CsrfToken
);
secret_string!(
    /// A service-account API key (`phg_<key id>_<secret>`), shown once at issue.
    ApiKey
);
secret_string!(
    /// An OAuth client secret.
    ClientSecret
);
secret_string!(
    /// A bearer token (access or ID token) received from an identity provider.
    BearerToken
);
secret_string!(
    /// An `otpauth://` enrollment URI: it contains the TOTP secret.
    OtpauthUri
);
secret_string!(
    /// A one-time MFA challenge handle linking the password step to the TOTP step.
    MfaChallenge
);

/// Fills a fresh buffer from the operating system's RNG.
pub(crate) fn random_bytes<const N: usize>() -> Result<zeroize::Zeroizing<[u8; N]>, Error> {
    let mut buf = zeroize::Zeroizing::new([0u8; N]);
    getrandom::getrandom(buf.as_mut()).map_err(|_| Error::Rng)?;
    Ok(buf)
}

/// 256 random bits as unpadded base64url: session ids, CSRF tokens, key secrets.
pub(crate) fn random_token() -> Result<String, Error> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<32>()?.as_ref()))
}

/// SHA-256 of a secret, as stored in place of the secret.
///
/// A fast hash is right here (unlike passwords): the inputs carry 256 bits of
/// entropy, so there is nothing to brute-force, and lookups happen on every request.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let values: Vec<String> = vec![
            format!("{:?}", Password::new("hunter2-canary")),
            format!("{:?}", SessionToken::new("hunter2-canary")),
            format!("{:?}", CsrfToken::new("hunter2-canary")),
            format!("{:?}", ApiKey::new("hunter2-canary")),
            format!("{:?}", ClientSecret::new("hunter2-canary")),
            format!("{:?}", BearerToken::new("hunter2-canary")),
            format!("{:?}", MfaChallenge::new("hunter2-canary")),
            format!("{:?}", OtpauthUri::new("hunter2-canary")),
        ];
        for v in values {
            assert!(!v.contains("canary"), "{v}");
            assert!(v.contains(REDACTED));
        }
    }

    #[test]
    fn zeroize_clears_the_value() {
        let mut p = Password::new("hunter2-canary");
        p.zeroize();
        assert_eq!(p.expose(), "");
    }

    #[test]
    fn random_tokens_are_distinct_and_256_bits() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 32);
    }
}
