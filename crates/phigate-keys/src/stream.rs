//! Streaming AEAD for large objects (backup archives).
//!
//! A large file is sealed as a sequence of chunks under one fresh data key,
//! following the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár,
//! "Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance",
//! CRYPTO 2015): chunk *i* uses nonce `i (8 bytes) ‖ last-flag (4 bytes)`.
//! Reordering changes a nonce, truncation loses the chunk flagged last,
//! appending follows a chunk flagged last: every one fails authentication.
//! Counter nonces are safe because every stream has its own data key.

use aes_gcm::Nonce;
use aes_gcm::aead::AeadInPlace;

use crate::{DataKey, Error};

const TAG_LEN: usize = 16;

fn nonce(index: u64, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..8].copy_from_slice(&index.to_be_bytes());
    n[8..].copy_from_slice(&u32::from(last).to_be_bytes());
    n
}

/// Seals consecutive chunks of one stream.
pub struct StreamSealer<'k> {
    key: &'k DataKey,
    aad: Vec<u8>,
    index: u64,
    finished: bool,
}

impl<'k> StreamSealer<'k> {
    /// Starts a stream; `aad` (e.g. a hash of the archive header) binds every chunk.
    pub fn new(key: &'k DataKey, aad: &[u8]) -> Self {
        Self { key, aad: aad.to_vec(), index: 0, finished: false }
    }

    /// Seals the next chunk; pass `last = true` exactly once, for the final chunk.
    pub fn seal_chunk(&mut self, chunk: &[u8], last: bool) -> Result<Vec<u8>, Error> {
        if self.finished {
            return Err(Error::Malformed("stream already finished"));
        }
        let mut out = Vec::with_capacity(chunk.len() + TAG_LEN);
        out.extend_from_slice(chunk);
        let tag = self
            .key
            .cipher()
            .encrypt_in_place_detached(Nonce::from_slice(&nonce(self.index, last)), &self.aad, &mut out)
            .map_err(|_| Error::Malformed("chunk too long for AES-GCM"))?;
        out.extend_from_slice(&tag);
        self.index += 1;
        self.finished = last;
        Ok(out)
    }
}

/// Opens consecutive chunks of one stream, in order.
pub struct StreamOpener<'k> {
    key: &'k DataKey,
    aad: Vec<u8>,
    index: u64,
    finished: bool,
}

impl<'k> StreamOpener<'k> {
    /// Starts opening a stream sealed with the same key and `aad`.
    pub fn new(key: &'k DataKey, aad: &[u8]) -> Self {
        Self { key, aad: aad.to_vec(), index: 0, finished: false }
    }

    /// Index of the next chunk (for error messages).
    pub fn position(&self) -> u64 {
        self.index
    }

    /// Whether the chunk flagged last has been opened.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Opens the next chunk. The caller says whether it believes this is the
    /// last one (end of input follows); a mismatch fails authentication.
    pub fn open_chunk(&mut self, sealed: &[u8], last: bool) -> Result<Vec<u8>, Error> {
        if self.finished {
            return Err(Error::Tampered);
        }
        if sealed.len() < TAG_LEN {
            return Err(Error::Malformed("chunk shorter than its tag"));
        }
        let (body, tag) = sealed.split_at(sealed.len() - TAG_LEN);
        let mut out = body.to_vec();
        self.key
            .cipher()
            .decrypt_in_place_detached(Nonce::from_slice(&nonce(self.index, last)), &self.aad, &mut out, tag.into())
            .map_err(|_| Error::Tampered)?;
        self.index += 1;
        self.finished = last;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal(key: &DataKey, chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut s = StreamSealer::new(key, b"hdr");
        chunks.iter().enumerate().map(|(i, c)| s.seal_chunk(c, i + 1 == chunks.len()).unwrap()).collect()
    }

    #[test]
    fn round_trip() {
        let key = DataKey::generate().unwrap();
        let sealed = seal(&key, &[b"one", b"two", b"three"]);
        let mut o = StreamOpener::new(&key, b"hdr");
        let n = sealed.len();
        let plain: Vec<Vec<u8>> =
            sealed.iter().enumerate().map(|(i, c)| o.open_chunk(c, i + 1 == n).unwrap()).collect();
        assert_eq!(plain, vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]);
        assert!(o.is_finished());
    }

    #[test]
    fn reorder_truncate_and_header_change_fail() {
        let key = DataKey::generate().unwrap();
        let sealed = seal(&key, &[b"one", b"two", b"three"]);
        let mut o = StreamOpener::new(&key, b"hdr");
        assert!(o.open_chunk(&sealed[1], false).is_err(), "reordered chunk accepted");
        let mut o = StreamOpener::new(&key, b"hdr");
        o.open_chunk(&sealed[0], false).unwrap();
        assert!(o.open_chunk(&sealed[1], true).is_err(), "truncated stream accepted as complete");
        let mut o = StreamOpener::new(&key, b"other header");
        assert!(o.open_chunk(&sealed[0], false).is_err());
    }
}
