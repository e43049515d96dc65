//! AWS KMS provider: KEK versions are KMS keys behind aliases `alias/<prefix>-v<N>`.
//!
//! Speaks the KMS JSON protocol (`X-Amz-Target: TrentService.*`,
//! `application/x-amz-json-1.1`) over a blocking HTTP client, signed with AWS
//! Signature Version 4 (the private `sigv4` module, checked against AWS's
//! published test vectors) instead of pulling in the AWS SDK and its async
//! runtime for eight calls. The key never leaves KMS: `Encrypt`
//! wraps a data key, `Decrypt` unwraps it, `GenerateDataKey` makes a fresh one
//! in a single round trip. The caller's context is bound as the KMS
//! encryption context (`phigate:context` = base64 of the bytes), which KMS
//! authenticates, so a wrapped key moved to another subject fails to decrypt.
//!
//! The current version is the highest alias number. Rotation creates a key
//! and its next alias; revocation is `DisableKey`, visible to every process
//! and in the AWS console. The alias listing is cached for a minute, so a
//! rotation made by another process is used for new data keys within that
//! time (this process's own rotations at once); the current key's state is
//! still checked on every wrap. Revocation is checked with `DescribeKey` before
//! every unwrap instead of trusting the server to refuse: KMS-compatible
//! servers differ (moto decrypts under a disabled key), and the extra round
//! trip is paid only on a keyring cache miss.
//!
//! Transport: every call has a timeout, redirects are refused, and any
//! failure is an error (reads fail closed). Plain `http://` is accepted only
//! for a loopback endpoint (a local test server); anything else must be
//! `https://`, verified against the Mozilla root store with rustls on ring.

mod sigv4;
mod wire;

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Serialize;
use serde::de::DeserializeOwned;
use ureq::http::Uri;
use zeroize::Zeroizing;

use crate::provider::{KekInfo, KekState, KekVersion, KeyProvider, WrappedDek};
use crate::{DataKey, Error};

use wire::{
    CreateAliasRequest, CreateKeyRequest, CreateKeyResponse, DecryptRequest, DecryptResponse, DescribeKeyResponse,
    EncryptRequest, EncryptResponse, GenerateDataKeyRequest, GenerateDataKeyResponse, KeyIdRequest, KmsErrorBody,
    ListAliasesRequest, ListAliasesResponse, ScheduleKeyDeletionRequest, SecretB64,
};

const PROVIDER: &str = "aws-kms";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
const CONTEXT_KEY: &str = "phigate:context";
/// KMS responses are small; anything bigger is not KMS.
const MAX_RESPONSE_BYTES: u64 = 1 << 20;
/// How long the alias listing is trusted before wrapping looks again, so a
/// rotation by another process is picked up.
const ALIAS_CACHE_TTL: Duration = Duration::from_secs(60);
const MAX_PREFIX_LEN: usize = 200;

/// An AWS secret access key. Zeroized on drop; `Debug` never shows it.
pub struct AwsSecretAccessKey(Zeroizing<String>);

impl AwsSecretAccessKey {
    /// Wraps a secret read from configuration or the environment.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(Zeroizing::new(secret.into()))
    }
}

impl From<String> for AwsSecretAccessKey {
    fn from(secret: String) -> Self {
        Self::new(secret)
    }
}

impl fmt::Debug for AwsSecretAccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AwsSecretAccessKey([REDACTED])")
    }
}

/// An AWS session token (temporary credentials). Zeroized; never printed.
pub struct AwsSessionToken(Zeroizing<String>);

impl AwsSessionToken {
    /// Wraps a token read from configuration or the environment.
    pub fn new(token: impl Into<String>) -> Self {
        Self(Zeroizing::new(token.into()))
    }
}

impl From<String> for AwsSessionToken {
    fn from(token: String) -> Self {
        Self::new(token)
    }
}

impl fmt::Debug for AwsSessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AwsSessionToken([REDACTED])")
    }
}

/// Where the KEKs live in AWS KMS (or a KMS-compatible server).
#[derive(Debug)]
pub struct AwsKmsConfig {
    /// e.g. `https://kms.us-east-1.amazonaws.com`; `http://` only for loopback.
    pub endpoint: String,
    /// The signing region, e.g. `us-east-1`.
    pub region: String,
    /// The access key id (not secret; it names the credentials).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: AwsSecretAccessKey,
    /// Session token of temporary credentials, if any.
    pub session_token: Option<AwsSessionToken>,
    /// Aliases are `alias/<prefix>-v<N>`: ASCII letters, digits, `/`, `_`
    /// and `-`, not starting with `aws/` (reserved by AWS).
    pub alias_prefix: String,
    /// Bound on each HTTP call, connect to last byte.
    pub timeout: Duration,
}

impl AwsKmsConfig {
    /// The timeout [`AwsKmsConfig::new`] uses.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// A configuration with no session token and the default timeout.
    pub fn new(
        endpoint: impl Into<String>,
        region: impl Into<String>,
        access_key_id: impl Into<String>,
        secret_access_key: AwsSecretAccessKey,
        alias_prefix: impl Into<String>,
    ) -> Self {
        Self {
            endpoint: endpoint.into(),
            region: region.into(),
            access_key_id: access_key_id.into(),
            secret_access_key,
            session_token: None,
            alias_prefix: alias_prefix.into(),
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }
}

/// The endpoint, parsed once: the URL to post to and the `Host` it signs.
#[derive(Debug)]
struct Endpoint {
    url: String,
    host: String,
}

struct AliasCache {
    keys: BTreeMap<KekVersion, String>,
    fetched: Instant,
}

/// KEKs held by AWS KMS.
pub struct AwsKmsProvider {
    endpoint: Endpoint,
    region: String,
    access_key_id: String,
    secret_access_key: AwsSecretAccessKey,
    session_token: Option<AwsSessionToken>,
    prefix: String,
    agent: ureq::Agent,
    /// Version → KMS key id. An alias of ours is never re-pointed, so a
    /// mapping once seen stays true; only new versions can appear.
    aliases: RwLock<Option<AliasCache>>,
    /// Serializes rotate/disable inside this process.
    admin: Mutex<()>,
}

/// What a failed KMS call reports.
enum CallError {
    /// KMS answered with an error (`__type` without its namespace).
    Kms { code: String, reason: String },
    /// Transport, encoding, or anything else; already a crate error.
    Other(Error),
}

impl CallError {
    fn into_error(self) -> Error {
        match self {
            CallError::Kms { reason, .. } => provider_error(reason),
            CallError::Other(e) => e,
        }
    }
}

impl AwsKmsProvider {
    /// Checks the configuration, then creates `alias/<prefix>-v1` (and its
    /// key) if the prefix has no version yet.
    pub fn open_or_create(config: AwsKmsConfig) -> Result<Self, Error> {
        let provider = Self::open(config)?;
        if provider.aliases()?.is_empty() {
            provider.rotate()?;
        }
        Ok(provider)
    }

    /// Checks the configuration and reaches KMS once (`ListAliases`); creates nothing.
    pub fn open(config: AwsKmsConfig) -> Result<Self, Error> {
        let AwsKmsConfig { endpoint, region, access_key_id, secret_access_key, session_token, alias_prefix, timeout } =
            config;
        let endpoint = parse_endpoint(&endpoint)?;
        validate_prefix(&alias_prefix)?;
        if region.is_empty() || !region.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(provider_error("region must be letters, digits and '-', e.g. us-east-1".into()));
        }
        if access_key_id.is_empty() || secret_access_key.0.is_empty() {
            return Err(provider_error("access key id and secret access key must not be empty".into()));
        }
        if timeout.is_zero() {
            return Err(provider_error("timeout must be greater than zero".into()));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("phigate-keys/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let provider = Self {
            endpoint,
            region,
            access_key_id,
            secret_access_key,
            session_token,
            prefix: alias_prefix,
            agent,
            aliases: RwLock::new(None),
            admin: Mutex::new(()),
        };
        provider.refresh_aliases()?;
        Ok(provider)
    }

    /// The alias prefix of this provider's keys.
    pub fn alias_prefix(&self) -> &str {
        &self.prefix
    }

    fn alias(&self, version: KekVersion) -> String {
        format!("alias/{}-v{}", self.prefix, version.0)
    }

    fn parse_alias(&self, alias: &str) -> Option<KekVersion> {
        let digits = alias.strip_prefix("alias/")?.strip_prefix(self.prefix.as_str())?.strip_prefix("-v")?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
            return None;
        }
        digits.parse().ok().map(KekVersion)
    }

    /// One signed KMS call. `echo_message` says whether the server's error
    /// message may be repeated: never for calls that carry key material,
    /// since a validation message could quote the request.
    fn call<T: DeserializeOwned>(
        &self,
        action: &str,
        body: &impl Serialize,
        echo_message: bool,
    ) -> Result<T, CallError> {
        let payload = Zeroizing::new(
            serde_json::to_vec(body).map_err(|e| CallError::Other(provider_error(format!("{action}: {e}"))))?,
        );
        let amz_date = time::OffsetDateTime::now_utc()
            .format(time::macros::format_description!("[year][month][day]T[hour][minute][second]Z"))
            .map_err(|e| CallError::Other(provider_error(format!("clock: {e}"))))?;
        let target = format!("TrentService.{action}");
        let mut headers: Vec<(&str, &str)> = vec![
            ("content-type", CONTENT_TYPE),
            ("host", &self.endpoint.host),
            ("x-amz-date", &amz_date),
            ("x-amz-target", &target),
        ];
        if let Some(token) = &self.session_token {
            headers.push(("x-amz-security-token", token.0.as_str()));
        }
        let authorization = sigv4::authorization(
            &sigv4::Request {
                method: "POST",
                canonical_uri: "/",
                canonical_query: "",
                headers: &headers,
                payload: &payload,
                amz_date: &amz_date,
                region: &self.region,
                service: "kms",
            },
            &self.access_key_id,
            &self.secret_access_key.0,
        );
        let mut request = self.agent.post(&self.endpoint.url);
        for (name, value) in &headers {
            request = request.header(*name, *value);
        }
        let mut response = request
            .header("authorization", &authorization)
            .send(&payload[..])
            .map_err(|e| CallError::Other(provider_error(format!("{action}: {e}"))))?;
        let status = response.status();
        let bytes = Zeroizing::new(
            response
                .body_mut()
                .with_config()
                .limit(MAX_RESPONSE_BYTES)
                .read_to_vec()
                .map_err(|e| CallError::Other(provider_error(format!("{action}: reading response: {e}"))))?,
        );
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| {
                // Position only: the message could quote response bytes (key material).
                CallError::Other(provider_error(format!(
                    "{action}: unexpected response (JSON error at line {}, column {})",
                    e.line(),
                    e.column()
                )))
            });
        }
        let parsed: KmsErrorBody = serde_json::from_slice(&bytes).unwrap_or_default();
        let code = parsed.kind.rsplit('#').next().unwrap_or_default().to_string();
        let code = if code.is_empty() { format!("HTTP {}", status.as_u16()) } else { code };
        let message = parsed.message.or(parsed.message_upper).unwrap_or_default();
        let reason = if echo_message && !message.is_empty() {
            let message: String = message.chars().take(300).collect();
            format!("{action}: {code}: {message}")
        } else {
            format!("{action}: {code}")
        };
        Err(CallError::Kms { code, reason })
    }

    /// Lists our aliases afresh and remembers them.
    fn refresh_aliases(&self) -> Result<BTreeMap<KekVersion, String>, Error> {
        let mut keys = BTreeMap::new();
        let mut marker: Option<String> = None;
        loop {
            let page: ListAliasesResponse = self
                .call("ListAliases", &ListAliasesRequest { limit: 100, marker: marker.as_deref() }, true)
                .map_err(CallError::into_error)?;
            for entry in page.aliases {
                if let (Some(version), Some(key_id)) = (self.parse_alias(&entry.alias_name), entry.target_key_id) {
                    keys.insert(version, key_id);
                }
            }
            match page.next_marker {
                Some(next) if page.truncated => marker = Some(next),
                _ => break,
            }
        }
        *self.write_aliases() = Some(AliasCache { keys: keys.clone(), fetched: Instant::now() });
        Ok(keys)
    }

    /// The alias listing, from cache unless it is older than the TTL.
    fn aliases(&self) -> Result<BTreeMap<KekVersion, String>, Error> {
        {
            let cache = self.aliases.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(c) = cache.as_ref().filter(|c| c.fetched.elapsed() < ALIAS_CACHE_TTL) {
                return Ok(c.keys.clone());
            }
        }
        self.refresh_aliases()
    }

    fn write_aliases(&self) -> std::sync::RwLockWriteGuard<'_, Option<AliasCache>> {
        // The cache is replaced whole; a poisoned lock still holds a valid value.
        self.aliases.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The KMS key id of `version`, listing again on a miss.
    fn key_id(&self, version: KekVersion) -> Result<String, Error> {
        if let Some(id) = self.aliases()?.remove(&version) {
            return Ok(id);
        }
        self.refresh_aliases()?.remove(&version).ok_or(Error::KekUnknown(version))
    }

    fn state(&self, key_id: &str) -> Result<KekState, Error> {
        let described: DescribeKeyResponse =
            self.call("DescribeKey", &KeyIdRequest { key_id }, true).map_err(CallError::into_error)?;
        // Only `Enabled` unwraps; pending deletion, unavailable etc. fail closed.
        Ok(match described.key_metadata.key_state.as_deref() {
            Some("Enabled") => KekState::Enabled,
            Some(_) => KekState::Disabled,
            None if described.key_metadata.enabled == Some(true) => KekState::Enabled,
            None => KekState::Disabled,
        })
    }

    /// The current version and its key id; it must exist and be enabled.
    fn current(&self) -> Result<(KekVersion, String), Error> {
        let (version, key_id) = self.aliases()?.pop_last().ok_or(Error::NoCurrentKek)?;
        if self.state(&key_id)? != KekState::Enabled {
            return Err(Error::NoCurrentKek);
        }
        Ok((version, key_id))
    }

    /// Best effort: a key whose alias could not be created is useless; ask
    /// KMS to delete it after the shortest waiting period.
    fn discard_key(&self, key_id: &str) {
        let _ignored: Result<serde_json::Value, CallError> =
            self.call("ScheduleKeyDeletion", &ScheduleKeyDeletionRequest { key_id, pending_window_in_days: 7 }, true);
    }
}

fn encryption_context(context: &[u8]) -> BTreeMap<&'static str, String> {
    let mut map = BTreeMap::new();
    // KMS rejects empty values; an empty context is simply no entry.
    if !context.is_empty() {
        map.insert(CONTEXT_KEY, B64.encode(context));
    }
    map
}

/// Maps a KMS refusal to unwrap onto the crate's errors.
fn unwrap_error(version: KekVersion, e: CallError) -> Error {
    match e {
        CallError::Kms { code, .. } if code == "DisabledException" || code == "KMSInvalidStateException" => {
            Error::KekDisabled(version)
        }
        CallError::Kms { code, .. } if code == "InvalidCiphertextException" || code == "IncorrectKeyException" => {
            Error::Tampered
        }
        other => other.into_error(),
    }
}

fn parse_endpoint(endpoint: &str) -> Result<Endpoint, Error> {
    let bad = |why: &str| provider_error(format!("endpoint {endpoint:?} {why}"));
    let uri: Uri = endpoint.parse().map_err(|_| bad("is not a URL"))?;
    let authority = uri.authority().ok_or_else(|| bad("has no host"))?;
    if authority.as_str().contains('@') {
        return Err(bad("must not carry credentials"));
    }
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err(bad("must have no path or query"));
    }
    match uri.scheme_str() {
        Some("https") => {}
        Some("http") => {
            let host = authority.host().trim_start_matches('[').trim_end_matches(']');
            let loopback = host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
            if !loopback {
                return Err(bad("must use https (plain http is accepted only for a loopback test server)"));
            }
        }
        _ => return Err(bad("must start with https://")),
    }
    let scheme = uri.scheme_str().unwrap_or("https");
    Ok(Endpoint { url: format!("{scheme}://{authority}/"), host: authority.as_str().to_string() })
}

fn validate_prefix(prefix: &str) -> Result<(), Error> {
    let ok = !prefix.is_empty()
        && prefix.len() <= MAX_PREFIX_LEN
        && !prefix.starts_with("aws/")
        && prefix.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(provider_error(format!(
            "alias prefix must be 1 to {MAX_PREFIX_LEN} ASCII letters, digits, '/', '_' or '-', not starting with aws/"
        )))
    }
}

fn provider_error(reason: String) -> Error {
    Error::Provider { provider: PROVIDER, reason }
}

fn decode_blob(action: &str, b64: &str) -> Result<Vec<u8>, Error> {
    B64.decode(b64).map_err(|_| provider_error(format!("{action}: CiphertextBlob is not base64")))
}

/// Decodes a base64 `Plaintext` into a data key; every copy is zeroized.
fn decode_data_key(action: &str, plaintext: &SecretB64) -> Result<DataKey, Error> {
    let bytes = Zeroizing::new(
        B64.decode(plaintext.0.as_bytes()).map_err(|_| provider_error(format!("{action}: Plaintext is not base64")))?,
    );
    if bytes.len() != 32 {
        return Err(Error::Malformed("unwrapped data key is not 32 bytes"));
    }
    DataKey::from_slice(&bytes)
}

impl KeyProvider for AwsKmsProvider {
    fn kind(&self) -> &'static str {
        PROVIDER
    }

    fn versions(&self) -> Result<Vec<KekInfo>, Error> {
        let keys = self.refresh_aliases()?;
        let newest = keys.keys().next_back().copied();
        let mut out = Vec::with_capacity(keys.len());
        for (version, key_id) in keys {
            let state = self.state(&key_id)?;
            out.push(KekInfo { version, state, current: Some(version) == newest && state == KekState::Enabled });
        }
        Ok(out)
    }

    fn wrap(&self, dek: &DataKey, context: &[u8]) -> Result<WrappedDek, Error> {
        let (version, key_id) = self.current()?;
        let plaintext = Zeroizing::new(B64.encode(dek.expose_raw()));
        let request =
            EncryptRequest { key_id: &key_id, plaintext: &plaintext, encryption_context: encryption_context(context) };
        let response: EncryptResponse = self.call("Encrypt", &request, false).map_err(|e| match e {
            CallError::Kms { code, .. } if code == "DisabledException" => Error::NoCurrentKek,
            other => other.into_error(),
        })?;
        Ok(WrappedDek { kek_version: version, bytes: decode_blob("Encrypt", &response.ciphertext_blob)? })
    }

    fn unwrap(&self, wrapped: &WrappedDek, context: &[u8]) -> Result<DataKey, Error> {
        let version = wrapped.kek_version;
        let key_id = self.key_id(version)?;
        if self.state(&key_id)? != KekState::Enabled {
            return Err(Error::KekDisabled(version));
        }
        let blob = B64.encode(&wrapped.bytes);
        let request =
            DecryptRequest { key_id: &key_id, ciphertext_blob: &blob, encryption_context: encryption_context(context) };
        let response: DecryptResponse = self.call("Decrypt", &request, false).map_err(|e| unwrap_error(version, e))?;
        decode_data_key("Decrypt", &response.plaintext)
    }

    fn generate_dek(&self, context: &[u8]) -> Result<(DataKey, WrappedDek), Error> {
        let (version, key_id) = self.current()?;
        let request = GenerateDataKeyRequest {
            key_id: &key_id,
            key_spec: "AES_256",
            encryption_context: encryption_context(context),
        };
        let response: GenerateDataKeyResponse = self.call("GenerateDataKey", &request, false).map_err(|e| match e {
            CallError::Kms { code, .. } if code == "DisabledException" => Error::NoCurrentKek,
            other => other.into_error(),
        })?;
        let dek = decode_data_key("GenerateDataKey", &response.plaintext)?;
        let bytes = decode_blob("GenerateDataKey", &response.ciphertext_blob)?;
        Ok((dek, WrappedDek { kek_version: version, bytes }))
    }

    fn rotate(&self) -> Result<KekVersion, Error> {
        // Only serializes; the guarded value is `()`.
        let _admin = self.admin.lock().unwrap_or_else(PoisonError::into_inner);
        let next = KekVersion(self.refresh_aliases()?.keys().next_back().map_or(0, |v| v.0) + 1);
        let alias = self.alias(next);
        let description = format!("phigate key-encryption key {alias}");
        let created: CreateKeyResponse = self
            .call(
                "CreateKey",
                &CreateKeyRequest {
                    description: &description,
                    key_usage: "ENCRYPT_DECRYPT",
                    key_spec: "SYMMETRIC_DEFAULT",
                },
                true,
            )
            .map_err(CallError::into_error)?;
        let key_id = created.key_metadata.key_id;
        let aliased: Result<serde_json::Value, CallError> =
            self.call("CreateAlias", &CreateAliasRequest { alias_name: &alias, target_key_id: &key_id }, true);
        if let Err(e) = aliased {
            self.discard_key(&key_id);
            return Err(match e {
                CallError::Kms { code, .. } if code == "AlreadyExistsException" => {
                    provider_error(format!("{alias} was created concurrently by another process; rotate again"))
                }
                other => other.into_error(),
            });
        }
        self.refresh_aliases()?;
        Ok(next)
    }

    fn disable(&self, version: KekVersion) -> Result<(), Error> {
        // Only serializes; the guarded value is `()`.
        let _admin = self.admin.lock().unwrap_or_else(PoisonError::into_inner);
        let keys = self.refresh_aliases()?;
        if keys.keys().next_back() == Some(&version) {
            return Err(Error::DisableCurrent(version));
        }
        let key_id = keys.get(&version).ok_or(Error::KekUnknown(version))?;
        let _: serde_json::Value =
            self.call("DisableKey", &KeyIdRequest { key_id }, true).map_err(CallError::into_error)?;
        Ok(())
    }
}

impl fmt::Debug for AwsKmsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsKmsProvider")
            .field("endpoint", &self.endpoint.url)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("alias_prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(endpoint: &str) -> AwsKmsConfig {
        AwsKmsConfig::new(endpoint, "us-east-1", "AKIDEXAMPLE", AwsSecretAccessKey::new("TOPSECRET/abc+123"), "phigate")
    }

    #[test]
    fn config_debug_hides_secret_and_token() {
        let mut c = config("https://kms.us-east-1.amazonaws.com");
        c.session_token = Some(AwsSessionToken::new("SESSIONTOKEN-xyz"));
        let shown = format!("{c:?}");
        assert!(!shown.contains("TOPSECRET"), "{shown}");
        assert!(!shown.contains("SESSIONTOKEN"), "{shown}");
        assert!(shown.contains("REDACTED"), "{shown}");
    }

    #[test]
    fn endpoints_need_https_except_loopback() {
        assert_eq!(parse_endpoint("https://kms.us-east-1.amazonaws.com").unwrap().host, "kms.us-east-1.amazonaws.com");
        let local = parse_endpoint("http://127.0.0.1:4566/").unwrap();
        assert_eq!((local.url.as_str(), local.host.as_str()), ("http://127.0.0.1:4566/", "127.0.0.1:4566"));
        assert!(parse_endpoint("http://[::1]:80").is_ok());
        assert!(parse_endpoint("http://localhost:1234").is_ok());
        for bad in [
            "http://kms.us-east-1.amazonaws.com",
            "http://10.0.0.1:4566",
            "ftp://127.0.0.1",
            "https://kms.example/path",
            "https://kms.example/?q=1",
            "https://user:pw@kms.example",
            "kms.example",
        ] {
            let err = parse_endpoint(bad).err().unwrap_or_else(|| panic!("{bad} accepted"));
            assert!(matches!(err, Error::Provider { provider: "aws-kms", .. }), "{err}");
        }
    }

    #[test]
    fn bad_config_is_refused_without_network_and_without_secrets() {
        let mut c = config("https://kms.us-east-1.amazonaws.com");
        c.alias_prefix = "aws/reserved".into();
        let err = AwsKmsProvider::open(c).unwrap_err().to_string();
        assert!(err.contains("alias prefix"), "{err}");
        assert!(!err.contains("TOPSECRET"), "{err}");
    }

    #[test]
    fn unreachable_server_fails_closed_within_the_timeout() {
        // A port nobody listens on: bind one, then close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut c = config(&format!("http://127.0.0.1:{port}"));
        c.timeout = Duration::from_secs(2);
        let started = Instant::now();
        let err = AwsKmsProvider::open(c).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(matches!(err, Error::Provider { provider: "aws-kms", .. }), "{err}");
        assert!(!err.to_string().contains("TOPSECRET"), "{err}");
    }

    #[test]
    fn silent_server_fails_closed_at_the_timeout() {
        // The kernel completes the handshake into the backlog; nobody answers.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut c = config(&format!("http://127.0.0.1:{port}"));
        c.timeout = Duration::from_secs(1);
        let started = Instant::now();
        let err = AwsKmsProvider::open(c).unwrap_err();
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(5), "{took:?}");
        assert!(matches!(err, Error::Provider { provider: "aws-kms", .. }), "{err}");
        drop(listener);
    }

    #[test]
    fn aliases_parse_strictly() {
        let p = AwsKmsProvider {
            endpoint: Endpoint { url: String::new(), host: String::new() },
            region: "us-east-1".into(),
            access_key_id: "a".into(),
            secret_access_key: AwsSecretAccessKey::new("s"),
            session_token: None,
            prefix: "phigate".into(),
            agent: ureq::Agent::new_with_defaults(),
            aliases: RwLock::new(None),
            admin: Mutex::new(()),
        };
        assert_eq!(p.parse_alias("alias/phigate-v3"), Some(KekVersion(3)));
        assert_eq!(p.alias(KekVersion(3)), "alias/phigate-v3");
        for other in ["alias/phigate-v", "alias/phigate-v03", "alias/phigate-x-v1", "alias/phigate-v1x", "phigate-v1"] {
            assert_eq!(p.parse_alias(other), None, "{other}");
        }
    }

    #[test]
    fn empty_context_adds_no_entry() {
        assert!(encryption_context(b"").is_empty());
        assert_eq!(encryption_context(b"subject:1")[CONTEXT_KEY], "c3ViamVjdDox");
    }
}
