//! Associated data: what a ciphertext belongs to.

/// Binds a ciphertext to its place: object kind, object id, field, data key.
///
/// Encoded with length prefixes so that no two distinct tuples share an
/// encoding (`("ab","c")` ≠ `("a","bc")`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Aad<'a> {
    /// What kind of object (`patient`, `document`, `audit-payload`…).
    pub kind: &'a str,
    /// The object's id (never PHI: an internal id).
    pub id: &'a str,
    /// The field within the object.
    pub field: &'a str,
}

impl Aad<'_> {
    /// Appends the canonical encoding, including the data-key id, to `out`.
    pub(crate) fn encode_into(&self, dek_id: u64, out: &mut Vec<u8>) {
        out.extend_from_slice(b"phigate-aad-v1");
        for part in [self.kind, self.id, self.field] {
            out.extend_from_slice(&(part.len() as u32).to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out.extend_from_slice(&dek_id.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_is_unambiguous() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        Aad { kind: "ab", id: "c", field: "f" }.encode_into(1, &mut a);
        Aad { kind: "a", id: "bc", field: "f" }.encode_into(1, &mut b);
        assert_ne!(a, b);
        let mut c = Vec::new();
        Aad { kind: "ab", id: "c", field: "f" }.encode_into(2, &mut c);
        assert_ne!(a, c);
    }
}
