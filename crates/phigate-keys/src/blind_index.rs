//! Keyed blind index: equality lookups on PHI without storing it in clear.
//!
//! The store keeps `HMAC-SHA256(index_key, domain ‖ normalized value)` next
//! to the encrypted record. Without the key the digest reveals nothing that a
//! dictionary attack could use; with it, "find patient by MRN" is one indexed
//! equality lookup.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::DataKey;

/// An HMAC-SHA256 key for blind-index terms. Derived from a data key, so it
/// is protected by the customer's KEK like everything else.
pub struct BlindIndexKey(Zeroizing<[u8; 32]>);

impl BlindIndexKey {
    /// Derives the index key for one purpose (`"lookup"`, `"pseudonym"`…) from a data key.
    pub fn derive(root: &DataKey, purpose: &str) -> Self {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(root.expose_raw())
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(b"phigate-blind-index-v1|");
        mac.update(purpose.as_bytes());
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(&mac.finalize().into_bytes());
        Self(out)
    }

    /// The index term for `value` in `domain` (e.g. `patient.mrn`). The
    /// caller normalizes the value first (trim, case) so lookups match.
    pub fn term(&self, domain: &str, value: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.0.as_ref())
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(&(domain.len() as u32).to_be_bytes());
        mac.update(domain.as_bytes());
        mac.update(value);
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for BlindIndexKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlindIndexKey([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_keyed_and_domain_separated() {
        let a = BlindIndexKey::derive(&DataKey::generate().unwrap(), "lookup");
        let b = BlindIndexKey::derive(&DataKey::generate().unwrap(), "lookup");
        assert_eq!(a.term("patient.mrn", b"123"), a.term("patient.mrn", b"123"));
        assert_ne!(a.term("patient.mrn", b"123"), b.term("patient.mrn", b"123"));
        assert_ne!(a.term("patient.mrn", b"123"), a.term("patient.ssn", b"123"));
    }
}
