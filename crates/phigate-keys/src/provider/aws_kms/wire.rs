//! Request and response bodies of the KMS JSON protocol (PascalCase fields).
//!
//! Only the fields phigate reads are declared; serde ignores the rest, so a
//! newer KMS adding fields does not break parsing. Key material in responses
//! is held in [`SecretB64`], zeroized on drop.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use zeroize::Zeroizing;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ListAliasesRequest<'a> {
    pub(super) limit: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) marker: Option<&'a str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ListAliasesResponse {
    #[serde(default)]
    pub(super) aliases: Vec<AliasEntry>,
    #[serde(default)]
    pub(super) truncated: bool,
    pub(super) next_marker: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct AliasEntry {
    pub(super) alias_name: String,
    pub(super) target_key_id: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct KeyIdRequest<'a> {
    pub(super) key_id: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct DescribeKeyResponse {
    pub(super) key_metadata: KeyMetadata,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct KeyMetadata {
    pub(super) key_id: String,
    pub(super) key_state: Option<String>,
    pub(super) enabled: Option<bool>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct CreateKeyRequest<'a> {
    pub(super) description: &'a str,
    pub(super) key_usage: &'a str,
    pub(super) key_spec: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct CreateKeyResponse {
    pub(super) key_metadata: KeyMetadata,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct CreateAliasRequest<'a> {
    pub(super) alias_name: &'a str,
    pub(super) target_key_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ScheduleKeyDeletionRequest<'a> {
    pub(super) key_id: &'a str,
    pub(super) pending_window_in_days: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct EncryptRequest<'a> {
    pub(super) key_id: &'a str,
    pub(super) plaintext: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) encryption_context: BTreeMap<&'static str, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct EncryptResponse {
    pub(super) ciphertext_blob: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct DecryptRequest<'a> {
    pub(super) key_id: &'a str,
    pub(super) ciphertext_blob: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) encryption_context: BTreeMap<&'static str, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct DecryptResponse {
    pub(super) plaintext: SecretB64,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct GenerateDataKeyRequest<'a> {
    pub(super) key_id: &'a str,
    pub(super) key_spec: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) encryption_context: BTreeMap<&'static str, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct GenerateDataKeyResponse {
    pub(super) ciphertext_blob: String,
    pub(super) plaintext: SecretB64,
}

/// Base64 key material from a response; zeroized on drop.
pub(super) struct SecretB64(pub(super) Zeroizing<String>);

impl<'de> Deserialize<'de> for SecretB64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| SecretB64(Zeroizing::new(s)))
    }
}

#[derive(Deserialize, Default)]
pub(super) struct KmsErrorBody {
    #[serde(rename = "__type", default)]
    pub(super) kind: String,
    pub(super) message: Option<String>,
    #[serde(rename = "Message")]
    pub(super) message_upper: Option<String>,
}
