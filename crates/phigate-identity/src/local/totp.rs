//! TOTP (RFC 6238) on HOTP (RFC 4226): HMAC-SHA1, 30-second steps, 6 digits.
//!
//! SHA-1 and 6 digits because that is what every authenticator app supports
//! with the `otpauth://` URI; HMAC-SHA1 is not weakened by SHA-1 collisions.

use std::fmt;

use hmac::{Hmac, Mac};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::Error;
use crate::secret::random_bytes;

/// Step length in seconds.
pub const STEP_SECS: u64 = 30;
/// Code length.
pub const DIGITS: u32 = 6;
/// Accepted steps either side of the current one (clock drift).
pub const SKEW_STEPS: u64 = 1;

/// A TOTP shared secret (160 random bits). Zeroized; redacted in `Debug`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct TotpSecret(Vec<u8>);

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret([REDACTED])")
    }
}

impl TotpSecret {
    /// A fresh random secret.
    pub fn generate() -> Result<Self, Error> {
        Ok(Self(random_bytes::<20>()?.to_vec()))
    }

    /// Wraps existing secret bytes (after unsealing, or RFC test vectors).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }

    /// The raw bytes (to seal them).
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// RFC 4648 base32 without padding, as authenticator apps expect.
    pub fn to_base32(&self) -> String {
        base32(&self.0)
    }

    /// Parses what [`TotpSecret::to_base32`] writes (case-insensitive,
    /// padding optional), as an authenticator app or a migration reads it.
    pub fn from_base32(text: &str) -> Result<Self, Error> {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let (mut bits, mut value, mut out) = (0u32, 0u32, Vec::new());
        for c in text.trim().trim_end_matches('=').bytes() {
            let digit = ALPHABET
                .iter()
                .position(|&a| a == c.to_ascii_uppercase())
                .ok_or(Error::TokenMalformed("TOTP secret is not base32"))?;
            value = (value << 5) | digit as u32;
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                out.push((value >> bits) as u8);
            }
        }
        value.zeroize();
        if out.is_empty() {
            return Err(Error::TokenMalformed("TOTP secret is empty"));
        }
        Ok(Self(out))
    }

    /// The `otpauth://totp/…` URI for a QR code: issuer and account label percent-encoded.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let enc = |s: &str| percent_encoding::utf8_percent_encode(s, LABEL).to_string();
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
            enc(issuer),
            enc(account),
            self.to_base32(),
            enc(issuer)
        )
    }
}

/// Percent-encode everything but RFC 3986 unreserved characters.
const LABEL: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

fn base32(data: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let mut buffer: u64 = 0;
    let mut bits = 0u32;
    for &byte in data {
        buffer = (buffer << 8) | u64::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// HOTP value for `counter` with `digits` digits (RFC 4226 §5.3).
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for HMAC.
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(secret) else { return 0 };
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary =
        u32::from_be_bytes([digest[offset] & 0x7f, digest[offset + 1], digest[offset + 2], digest[offset + 3]]);
    binary % 10u32.pow(digits)
}

/// The time step of a Unix time.
pub fn step_at(unix_secs: u64) -> u64 {
    unix_secs / STEP_SECS
}

/// The TOTP code at `unix_secs`, zero-padded to `digits`.
pub fn code_at(secret: &TotpSecret, unix_secs: u64, digits: u32) -> String {
    format!("{:0width$}", hotp(&secret.0, step_at(unix_secs), digits), width = digits as usize)
}

/// Checks a 6-digit `code` at `unix_secs` within ±[`SKEW_STEPS`]; returns the matching step.
///
/// Steps at or before `last_step` are refused ([`Error::TotpReplay`]): one
/// code signs in once. All candidate steps are compared in constant time.
pub fn verify(secret: &TotpSecret, code: &str, unix_secs: u64, last_step: Option<u64>) -> Result<u64, Error> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::InvalidCredentials);
    }
    let now = step_at(unix_secs);
    let mut matched: Option<u64> = None;
    for step in now.saturating_sub(SKEW_STEPS)..=now + SKEW_STEPS {
        let expected = format!("{:06}", hotp(&secret.0, step, DIGITS));
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) && matched.is_none() {
            matched = Some(step);
        }
    }
    match matched {
        Some(step) if last_step.is_some_and(|last| step <= last) => Err(Error::TotpReplay),
        Some(step) => Ok(step),
        None => Err(Error::InvalidCredentials),
    }
}

#[cfg(test)]
mod base32_tests {
    use super::*;

    #[test]
    fn base32_round_trips_and_rejects_garbage() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890");
        let text = secret.to_base32();
        assert_eq!(TotpSecret::from_base32(&text).unwrap().expose(), secret.expose());
        assert_eq!(TotpSecret::from_base32(&text.to_lowercase()).unwrap().expose(), secret.expose());
        assert!(TotpSecret::from_base32("not base32!").is_err());
        assert!(TotpSecret::from_base32("").is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 rows (the 20-byte ASCII seed "12345678901234567890", 8 digits).
    #[test]
    fn rfc6238_appendix_b_sha1_vectors() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890");
        let vectors: [(u64, &str); 6] = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        for (t, expected) in vectors {
            assert_eq!(code_at(&secret, t, 8), expected, "T = {t}");
        }
    }

    /// RFC 4226 Appendix D vectors (HOTP, 6 digits).
    #[test]
    fn rfc4226_hotp_vectors() {
        let expected = [755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489];
        for (counter, value) in expected.into_iter().enumerate() {
            assert_eq!(hotp(b"12345678901234567890", counter as u64, 6), value);
        }
    }

    #[test]
    fn skew_window_and_replay() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890");
        let t = 1_234_567_890;
        let code = code_at(&secret, t, 6);
        assert_eq!(verify(&secret, &code, t, None).unwrap(), step_at(t));
        assert!(verify(&secret, &code, t + 30, None).is_ok());
        assert!(verify(&secret, &code, t - 30, None).is_ok());
        assert!(matches!(verify(&secret, &code, t + 90, None), Err(Error::InvalidCredentials)));
        assert!(matches!(verify(&secret, &code, t, Some(step_at(t))), Err(Error::TotpReplay)));
        assert!(matches!(verify(&secret, "12345", t, None), Err(Error::InvalidCredentials)));
    }

    #[test]
    fn base32_rfc4648_vectors_and_uri() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
        let s = TotpSecret::from_bytes(b"12345678901234567890");
        assert_eq!(s.to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let uri = s.otpauth_uri("phigate", "dr smith@example.org");
        assert!(uri.starts_with("otpauth://totp/phigate:dr%20smith%40example.org?secret=GEZDGNBVGY3TQOJQ"));
        assert!(format!("{s:?}").contains("REDACTED"));
    }
}
