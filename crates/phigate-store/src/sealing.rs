//! What every backend shares: how data keys are named, opened and used.
//! Backends differ only in SQL; sealing, associated data and lookup terms
//! must be identical so a database can move between them.

use std::sync::Arc;

use phigate_keys::{Aad, BlindIndexKey, DataKey, KekVersion, Keyring, WrappedDek};

use crate::{Error, normalize};

/// The context a data key is wrapped with: its row id and purpose.
pub(crate) fn dek_context(id: i64, purpose: &str) -> Vec<u8> {
    format!("phigate-dek:{id}:{purpose}").into_bytes()
}

/// Associated data of a record body: its kind, `subject/record-id`, field.
pub(crate) fn body_aad<'a>(kind: &'a str, subject_and_id: &'a str) -> Aad<'a> {
    Aad { kind, id: subject_and_id, field: "body" }
}

/// The `subject/record-id` string bound into a body's associated data.
pub(crate) fn body_id(subject: &str, record: i64) -> String {
    format!("{subject}/{record}")
}

/// A data-key row as stored (wrapped, or shredded when `wrapped` is NULL).
pub(crate) struct DekRow {
    pub id: i64,
    pub purpose: String,
    pub kek_version: Option<u32>,
    pub wrapped: Option<Vec<u8>>,
}

impl DekRow {
    /// Opens the key through the keyring; a shredded key names `owner`.
    pub fn open(&self, keyring: &Keyring, owner: &str) -> Result<Arc<DataKey>, Error> {
        match (&self.wrapped, self.kek_version) {
            (Some(bytes), Some(v)) => Ok(keyring.open(
                self.id as u64,
                &WrappedDek { kek_version: KekVersion(v), bytes: bytes.clone() },
                &dek_context(self.id, &self.purpose),
            )?),
            _ => Err(Error::Shredded(owner.to_string())),
        }
    }

    /// The wrapped form, if not shredded.
    pub fn wrapped(&self) -> Option<WrappedDek> {
        match (&self.wrapped, self.kek_version) {
            (Some(bytes), Some(v)) => Some(WrappedDek { kek_version: KekVersion(v), bytes: bytes.clone() }),
            _ => None,
        }
    }
}

/// The blind-index term of a lookup value.
pub(crate) fn lookup_term(index_key: &BlindIndexKey, kind: &str, field: &str, value: &str) -> [u8; 32] {
    let domain = format!("{kind}.{field}");
    index_key.term(&domain, normalize::lookup_value(value).as_bytes())
}

/// Setting that names the blind-index data key's row.
pub(crate) const BLIND_INDEX_SETTING: &str = "blind_index_dek";
