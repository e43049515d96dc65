//! Signed checkpoints in the C2SP `tlog-checkpoint` / `signed-note` format.
//!
//! A checkpoint commits to the whole log at one size:
//!
//! ```text
//! <origin>\n<size>\n<base64 root>\n\n— <origin> <base64(key id ‖ Ed25519 signature)>\n
//! ```
//!
//! The format is the one Go's `sumdb/note`, Tessera and the public witness
//! network read, so existing transparency tooling can verify our checkpoints
//! and an external witness can co-sign them. Key id =
//! `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[..4]`; the signature covers the
//! body including its final newline.

use std::fmt;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::Error;
use crate::merkle::Hash;

pub(crate) mod store;

const ALG_ED25519: u8 = 0x01;
const SIG_PREFIX: &str = "\u{2014} ";
/// Go's note implementation caps signature lines; so do we.
const MAX_SIGNATURES: usize = 100;

/// What a checkpoint asserts: the log called `origin` had `size` entries with this root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Log identity (also the signing key's name).
    pub origin: String,
    /// Number of entries.
    pub size: u64,
    /// RFC 9162 root hash of those entries.
    pub root: Hash,
}

impl Checkpoint {
    /// The note body the signature covers.
    pub fn body(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, B64.encode(self.root.0))
    }

    fn parse_body(body: &str) -> Result<Self, Error> {
        let bad = |why: &str| Error::Key(format!("checkpoint body is malformed: {why}"));
        let mut lines = body.split('\n');
        let origin = lines.next().filter(|o| !o.is_empty()).ok_or_else(|| bad("no origin"))?;
        let size = lines
            .next()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s.len() == 1 || !s.starts_with('0')))
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| bad("size is not a decimal number"))?;
        let root_b64 = lines.next().ok_or_else(|| bad("no root hash"))?;
        let root_bytes = B64.decode(root_b64).map_err(|_| bad("root is not base64"))?;
        let root: [u8; 32] = root_bytes.try_into().map_err(|_| bad("root is not 32 bytes"))?;
        Ok(Self { origin: origin.to_owned(), size, root: Hash(root) })
    }
}

/// A checkpoint together with its signed-note text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The parsed content.
    pub checkpoint: Checkpoint,
    /// The full signed note, ready to publish.
    pub note: String,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

fn key_id(name: &str, public: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ALG_ED25519]);
    h.update(public.as_bytes());
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// The log's checkpoint signing key. Never printed; zeroized on drop by
/// `ed25519-dalek`.
pub struct CheckpointSigner {
    name: String,
    key: SigningKey,
    id: [u8; 4],
}

impl CheckpointSigner {
    /// A signer from a 32-byte Ed25519 seed. `name` is the log origin.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, Error> {
        if !valid_name(name) {
            return Err(Error::Key("log origin must be non-empty without spaces or '+'".into()));
        }
        let key = SigningKey::from_bytes(seed);
        let id = key_id(name, &key.verifying_key());
        Ok(Self { name: name.to_owned(), key, id })
    }

    /// Reads a seed file: 32 raw bytes, or 64 hex characters.
    pub fn from_file(name: &str, path: &Path) -> Result<Self, Error> {
        let raw = Zeroizing::new(std::fs::read(path).map_err(|e| Error::io(path, e))?);
        let mut seed = Zeroizing::new([0u8; 32]);
        if raw.len() == 32 {
            seed.copy_from_slice(&raw);
        } else {
            let text =
                std::str::from_utf8(&raw).map_err(|_| Error::Key("signing key file is not 32 bytes or hex".into()))?;
            hex::decode_to_slice(text.trim(), seed.as_mut())
                .map_err(|_| Error::Key("signing key file is not 32 bytes or 64 hex characters".into()))?;
        }
        Self::from_seed(name, &seed)
    }

    /// The log origin / key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier { name: self.name.clone(), key: self.key.verifying_key(), id: self.id }
    }

    /// Signs a checkpoint of this log.
    pub fn sign(&self, size: u64, root: Hash) -> SignedCheckpoint {
        let checkpoint = Checkpoint { origin: self.name.clone(), size, root };
        let body = checkpoint.body();
        let sig: Signature = self.key.sign(body.as_bytes());
        let mut blob = Vec::with_capacity(68);
        blob.extend_from_slice(&self.id);
        blob.extend_from_slice(&sig.to_bytes());
        let note = format!("{body}\n{SIG_PREFIX}{} {}\n", self.name, B64.encode(blob));
        SignedCheckpoint { checkpoint, note }
    }
}

impl fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CheckpointSigner({}, [REDACTED])", self.name)
    }
}

/// A public verifier key, in the signed-note `vkey` text form
/// `<name>+<hex key id>+<base64(0x01 ‖ public key)>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key: VerifyingKey,
    id: [u8; 4],
}

impl NoteVerifier {
    /// Parses a `vkey` string.
    pub fn parse(vkey: &str) -> Result<Self, Error> {
        let bad = |why: &str| Error::Key(format!("verifier key is malformed: {why}"));
        let mut parts = vkey.trim().splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected name+id+key"));
        };
        if !valid_name(name) {
            return Err(bad("bad name"));
        }
        let mut id = [0u8; 4];
        hex::decode_to_slice(id_hex, &mut id).map_err(|_| bad("key id is not 8 hex digits"))?;
        let raw = B64.decode(key_b64).map_err(|_| bad("key is not base64"))?;
        let Some((&ALG_ED25519, public)) = raw.split_first() else {
            return Err(bad("not an Ed25519 key"));
        };
        let public: [u8; 32] = public.try_into().map_err(|_| bad("public key is not 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&public).map_err(|_| bad("not a valid Ed25519 point"))?;
        if key_id(name, &key) != id {
            return Err(bad("key id does not match the key"));
        }
        Ok(Self { name: name.to_owned(), key, id })
    }

    /// The `vkey` text.
    pub fn to_vkey(&self) -> String {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{}+{}", self.name, hex::encode(self.id), B64.encode(raw))
    }

    /// The key name (log origin).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Checks the note's signature by this key and parses the checkpoint.
    ///
    /// Signatures by other keys (witness co-signatures) are ignored, as the
    /// signed-note spec requires; the note is rejected if this key's
    /// signature is absent or wrong, or the origin is not this log.
    pub fn open(&self, note: &str) -> Result<Checkpoint, Error> {
        let bad = |why: &str| Error::Key(format!("signed note rejected: {why}"));
        let split = note.rfind("\n\n").ok_or_else(|| bad("no blank line before signatures"))?;
        let body = &note[..=split];
        let sigs = &note[split + 2..];
        if !sigs.ends_with('\n') {
            return Err(bad("signature block does not end with a newline"));
        }
        let mut lines = 0;
        let mut verified = false;
        for line in sigs[..sigs.len() - 1].split('\n') {
            lines += 1;
            if lines > MAX_SIGNATURES {
                return Err(bad("too many signatures"));
            }
            let rest = line.strip_prefix(SIG_PREFIX).ok_or_else(|| bad("malformed signature line"))?;
            let (name, b64) = rest.split_once(' ').ok_or_else(|| bad("malformed signature line"))?;
            let blob = B64.decode(b64).map_err(|_| bad("signature is not base64"))?;
            if blob.len() < 5 {
                return Err(bad("signature too short"));
            }
            if name != self.name || blob[..4] != self.id {
                continue;
            }
            let sig = Signature::from_slice(&blob[4..]).map_err(|_| bad("signature is not 64 bytes"))?;
            self.key.verify_strict(body.as_bytes(), &sig).map_err(|_| bad("signature does not verify"))?;
            verified = true;
            break;
        }
        if !verified {
            return Err(bad("no signature by the log key"));
        }
        let checkpoint = Checkpoint::parse_body(body)?;
        if checkpoint.origin != self.name {
            return Err(bad("origin is not this log"));
        }
        Ok(checkpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::leaf_hash;

    fn signer(seed: u8) -> CheckpointSigner {
        CheckpointSigner::from_seed("phigate.test/audit", &[seed; 32]).unwrap()
    }

    #[test]
    fn sign_open_round_trip_and_format() {
        let s = signer(1);
        let sc = s.sign(42, leaf_hash(b"x"));
        assert!(sc.note.starts_with("phigate.test/audit\n42\n"));
        assert!(sc.note.contains("\n\n\u{2014} phigate.test/audit "));
        let v = NoteVerifier::parse(&s.verifier().to_vkey()).unwrap();
        assert_eq!(v.open(&sc.note).unwrap(), sc.checkpoint);
        assert!(!format!("{s:?}").contains(&hex::encode([1u8; 32])));
    }

    #[test]
    fn other_key_altered_body_or_missing_signature_is_rejected() {
        let sc = signer(1).sign(42, leaf_hash(b"x"));
        let other = signer(2).verifier();
        assert!(other.open(&sc.note).is_err());
        let v = signer(1).verifier();
        assert!(v.open(&sc.note.replacen("\n42\n", "\n43\n", 1)).is_err());
        let body_only = sc.checkpoint.body();
        assert!(v.open(&body_only).is_err());
        let resigned = signer(2).sign(42, leaf_hash(b"x"));
        assert!(v.open(&resigned.note).is_err());
    }

    #[test]
    fn cosignatures_by_unknown_keys_are_ignored() {
        let s = signer(1);
        let sc = s.sign(7, leaf_hash(b"y"));
        let witness = CheckpointSigner::from_seed("witness.example", &[9; 32]).unwrap();
        let cosig = witness.sign(7, leaf_hash(b"y"));
        let sigline = cosig.note.rsplit_once("\n\n").unwrap().1;
        let note = format!("{}{}", sc.note, sigline);
        assert_eq!(s.verifier().open(&note).unwrap().size, 7);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_notes_and_vkeys_never_panic(text in "(?s).{0,300}", cut in 0usize..400) {
            let v = signer(1).verifier();
            let _ = v.open(&text);
            let _ = NoteVerifier::parse(&text);
            // Truncations and splices of a real note are rejected, not accepted.
            let note = signer(1).sign(5, leaf_hash(b"z")).note;
            let cut = cut.min(note.len());
            if note.is_char_boundary(cut) && cut < note.len() {
                proptest::prop_assert!(v.open(&note[..cut]).is_err());
                let spliced = format!("{}{}{}", &note[..cut], text, &note[cut..]);
                if !text.is_empty() && spliced != note {
                    proptest::prop_assert!(v.open(&spliced).is_err() || v.open(&spliced).is_ok_and(|c| c.size == 5));
                }
            }
        }
    }

    #[test]
    fn bad_vkeys_are_rejected() {
        let good = signer(1).verifier().to_vkey();
        assert!(NoteVerifier::parse("nope").is_err());
        assert!(NoteVerifier::parse(&good.replacen("phigate", "other", 1)).is_err());
    }
}
