//! The per-request vault: identifiers ↔ placeholders.
//!
//! Redaction replaces each identifier with a placeholder `[[KIND_N]]` (KIND
//! is [`Kind::as_str`], N counts from 1 per kind); the same original text gets
//! the same placeholder everywhere in the request, so a model can still tell
//! that two mentions are one person. Restoration reads the vault back.
//!
//! # Protection in memory
//! One vault lives for one request. Originals are sealed with AES-256-GCM
//! under an ephemeral [`DataKey`] generated for the vault (zeroized with it);
//! a lookup from original to placeholder goes through a keyed SHA-256 digest
//! under a second ephemeral secret, so no original is kept in clear. A
//! decrypted original exists only for the duration of [`Vault::reveal`]'s
//! closure, in a buffer zeroized after use. `Debug` prints counts only.
//!
//! # Placeholder-shaped text in the input (collisions)
//! A client may send text that already looks like a placeholder (a pasted
//! earlier answer, or an attempt to make the gateway "restore" something).
//! The rule: **a placeholder the client wrote is never restored.** Before
//! redacting, the redactor calls [`Vault::reserve_in`] on every text of the
//! request; the vault then skips reserved numbers when it numbers
//! identifiers, so it never creates an entry under a token the client wrote,
//! and restoration leaves such tokens as they are. Because each request has
//! its own vault, a placeholder can only ever be restored to an identifier of
//! the same request, sent by the same caller.

mod placeholder;

use std::collections::{HashMap, HashSet};
use std::fmt;

use phigate_deid::Kind;
use phigate_keys::{Aad, DataKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

pub use placeholder::{MAX_LEN as PLACEHOLDER_MAX_LEN, Scan, scan_at, write as write_placeholder};

use crate::Error;

const AAD: Aad<'static> = Aad { kind: "gateway-vault", id: "request", field: "original" };
const KINDS: usize = Kind::ALL.len();

/// Identifiers of one request, sealed, and their placeholders.
pub struct Vault {
    key: DataKey,
    digest_key: Zeroizing<[u8; 32]>,
    entries: Vec<Entry>,
    by_digest: HashMap<[u8; 32], usize>,
    by_placeholder: HashMap<(Kind, u32), usize>,
    reserved: HashSet<(Kind, u32)>,
    next: [u32; KINDS],
}

struct Entry {
    kind: Kind,
    n: u32,
    sealed: Vec<u8>,
}

impl Vault {
    /// An empty vault with fresh ephemeral keys.
    pub fn new() -> Result<Self, Error> {
        let mut digest_key = Zeroizing::new([0u8; 32]);
        getrandom::getrandom(digest_key.as_mut()).map_err(|_| Error::Vault(phigate_keys::Error::Rng))?;
        Ok(Self {
            key: DataKey::generate()?,
            digest_key,
            entries: Vec::new(),
            by_digest: HashMap::new(),
            by_placeholder: HashMap::new(),
            reserved: HashSet::new(),
            next: [1; KINDS],
        })
    }

    /// Number of identifiers held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if no identifier is held (restoration then changes nothing).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of placeholder-shaped tokens reserved because the client wrote them.
    pub fn reserved(&self) -> usize {
        self.reserved.len()
    }

    /// Reserves every placeholder-shaped token in `text` (see the module's
    /// collision rule). Returns how many new tokens were reserved.
    pub fn reserve_in(&mut self, text: &str) -> usize {
        if !text.contains("[[") {
            return 0;
        }
        let mut added = 0;
        for e in placeholder::entries_in(text) {
            if !self.by_placeholder.contains_key(&e) && self.reserved.insert(e) {
                added += 1;
            }
        }
        added
    }

    /// Appends the placeholder for `original` (an identifier of `kind`) to
    /// `out`, creating the entry on first sight. The same original always
    /// gets the same placeholder, whatever `kind` is passed later.
    pub fn placeholder(&mut self, kind: Kind, original: &str, out: &mut String) -> Result<(), Error> {
        let digest = self.digest(original);
        if let Some(&i) = self.by_digest.get(&digest) {
            let e = &self.entries[i];
            placeholder::write(e.kind, e.n, out);
            return Ok(());
        }
        let k = kind_index(kind);
        let mut n = self.next[k];
        while self.reserved.contains(&(kind, n)) {
            n = n.checked_add(1).ok_or(Error::VaultFull(kind))?;
        }
        self.next[k] = n.checked_add(1).ok_or(Error::VaultFull(kind))?;
        let index = self.entries.len();
        let sealed = self.key.seal(index as u64, &AAD, original.as_bytes())?;
        self.entries.push(Entry { kind, n, sealed });
        self.by_digest.insert(digest, index);
        self.by_placeholder.insert((kind, n), index);
        placeholder::write(kind, n, out);
        Ok(())
    }

    /// The placeholder for `original`, as a new string.
    pub fn placeholder_for(&mut self, kind: Kind, original: &str) -> Result<String, Error> {
        let mut s = String::with_capacity(placeholder::MAX_LEN);
        self.placeholder(kind, original, &mut s)?;
        Ok(s)
    }

    /// Calls `f` with the original behind `[[KIND_N]]`, if this vault created
    /// that placeholder. The decrypted text is zeroized after `f` returns.
    pub fn reveal<R>(&self, kind: Kind, n: u32, f: impl FnOnce(&str) -> R) -> Option<R> {
        let &i = self.by_placeholder.get(&(kind, n))?;
        let plain = self.key.open(i as u64, &AAD, &self.entries[i].sealed).ok()?;
        // Invariant: sealed from a &str, and authenticated on opening.
        let text = std::str::from_utf8(&plain).ok()?;
        Some(f(text))
    }

    /// Identifiers held, per kind (for reports; no text).
    pub fn counts(&self) -> impl Iterator<Item = (Kind, usize)> + '_ {
        Kind::ALL.into_iter().map(|k| (k, self.entries.iter().filter(|e| e.kind == k).count())).filter(|&(_, c)| c > 0)
    }

    fn digest(&self, original: &str) -> [u8; 32] {
        // Secret-prefix SHA-256 as a PRF for equality lookups only: the digests
        // never leave this struct, so length extension gives nobody anything.
        let mut h = Sha256::new();
        h.update(self.digest_key.as_ref());
        h.update(original.as_bytes());
        h.finalize().into()
    }
}

fn kind_index(kind: Kind) -> usize {
    // Invariant: Kind::ALL lists every kind (phigate-deid's test checks its
    // labels round-trip); the fallback slot is never used in practice.
    Kind::ALL.iter().position(|&k| k == kind).unwrap_or(KINDS - 1)
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault").field("entries", &self.entries.len()).field("reserved", &self.reserved.len()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reveal(v: &Vault, kind: Kind, n: u32) -> Option<String> {
        v.reveal(kind, n, str::to_owned)
    }

    #[test]
    fn same_original_same_placeholder_numbered_per_kind() {
        let mut v = Vault::new().unwrap();
        assert_eq!(v.placeholder_for(Kind::Name, "Jane Canary").unwrap(), "[[NAME_1]]");
        assert_eq!(v.placeholder_for(Kind::Date, "03/04/1961").unwrap(), "[[DATE_1]]");
        assert_eq!(v.placeholder_for(Kind::Name, "John Roe").unwrap(), "[[NAME_2]]");
        assert_eq!(v.placeholder_for(Kind::Name, "Jane Canary").unwrap(), "[[NAME_1]]");
        assert_eq!(v.placeholder_for(Kind::Location, "Jane Canary").unwrap(), "[[NAME_1]]", "first kind wins");
        assert_eq!(v.placeholder_for(Kind::HealthPlan, "HP-1").unwrap(), "[[HEALTH_PLAN_1]]");
        assert_eq!(v.len(), 4);
        assert_eq!(reveal(&v, Kind::Name, 2).as_deref(), Some("John Roe"));
        assert_eq!(reveal(&v, Kind::Name, 3), None);
        assert_eq!(reveal(&v, Kind::Date, 2), None);
        let counts: Vec<_> = v.counts().collect();
        assert_eq!(counts, [(Kind::Name, 2), (Kind::Date, 1), (Kind::HealthPlan, 1)]);
    }

    #[test]
    fn debug_prints_counts_only() {
        let mut v = Vault::new().unwrap();
        v.placeholder_for(Kind::Name, "Jane Canary").unwrap();
        v.reserve_in("[[NAME_7]]");
        assert_eq!(format!("{v:?}"), "Vault { entries: 1, reserved: 1 }");
    }

    #[test]
    fn originals_are_not_kept_in_clear() {
        let mut v = Vault::new().unwrap();
        v.placeholder_for(Kind::Name, "Zyxwvut Canary").unwrap();
        let e = &v.entries[0];
        assert!(!e.sealed.windows(6).any(|w| w == b"Canary"));
        // A ciphertext moved to another slot does not open.
        v.placeholder_for(Kind::Name, "Other").unwrap();
        let moved = v.entries[0].sealed.clone();
        v.entries[1].sealed = moved;
        assert_eq!(reveal(&v, Kind::Name, 2), None);
    }

    #[test]
    fn client_written_placeholders_are_reserved_never_assigned() {
        let mut v = Vault::new().unwrap();
        assert_eq!(v.reserve_in("see [[NAME_1]] and [[NAME_2]], [[NAME_2]] and [[FOO_1]]"), 2);
        assert_eq!(v.placeholder_for(Kind::Name, "Jane Canary").unwrap(), "[[NAME_3]]");
        assert_eq!(v.placeholder_for(Kind::Name, "John Roe").unwrap(), "[[NAME_4]]");
        assert_eq!(reveal(&v, Kind::Name, 1), None, "a reserved token names nothing");
        assert_eq!(v.reserved(), 2);
        assert_eq!(v.reserve_in("[[NAME_3]]"), 0, "an existing entry cannot be reserved after the fact");
    }

    #[test]
    fn vaults_do_not_share_entries() {
        let mut a = Vault::new().unwrap();
        let mut b = Vault::new().unwrap();
        a.placeholder_for(Kind::Name, "Jane Canary").unwrap();
        assert_eq!(reveal(&b, Kind::Name, 1), None);
        b.placeholder_for(Kind::Name, "John Roe").unwrap();
        assert_eq!(reveal(&b, Kind::Name, 1).as_deref(), Some("John Roe"));
        assert_eq!(reveal(&a, Kind::Name, 1).as_deref(), Some("Jane Canary"));
    }

    #[test]
    fn numbering_ends_with_an_error_not_a_wrap() {
        let mut v = Vault::new().unwrap();
        v.next[kind_index(Kind::Zip)] = u32::MAX;
        assert!(matches!(v.placeholder_for(Kind::Zip, "a"), Err(Error::VaultFull(Kind::Zip))));
        assert_eq!(v.len(), 0);
    }
}
