//! PKCS#11 HSM provider: KEK versions are non-extractable AES-256 keys on a token.
//!
//! Each version is one secret-key object labelled `<prefix>-v<N>`, generated
//! on the token with `CKA_SENSITIVE` true and `CKA_EXTRACTABLE` false, so the
//! KEK never leaves the HSM: phigate sends a data key in and gets the wrapped
//! form back. Wrapping is `CKM_AES_GCM` with a random 96-bit IV, the caller's
//! context as associated data and a 128-bit tag; the stored form is
//! `IV (12) ‖ ciphertext (32) ‖ tag (16)`.
//!
//! The current version is the highest one. Revocation clears `CKA_DECRYPT`
//! (and `CKA_ENCRYPT`) on the key object: the flag persists on the token, the
//! HSM itself then refuses to decrypt with it, and any other process sees the
//! same state. Re-enabling is the operator setting the flags back (for
//! example with `pkcs11-tool`), which is why the key is kept rather than
//! destroyed.
//!
//! A PKCS#11 module may be initialized once per process, and its login state
//! is shared by every session of the process on a token. So modules are
//! loaded once and kept for the life of the process (several providers on the
//! same module share it), the provider never logs out (that would log out
//! every other provider on the token), and a session is checked for a logged-in
//! state each time it is taken from the pool.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Function, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, SessionState, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use zeroize::Zeroizing;

use crate::provider::{KekInfo, KekState, KekVersion, KeyProvider, WrappedDek};
use crate::{DataKey, Error};

const PROVIDER: &str = "pkcs11";
const IV_LEN: usize = 12;
const TAG_BITS: u64 = 128;
const WRAPPED_LEN: usize = IV_LEN + 32 + 16;
/// Idle sessions kept open; more are opened under load and closed afterwards.
const MAX_IDLE_SESSIONS: usize = 4;
/// Labels are `<prefix>-v<N>`; 64 bytes leaves room for the suffix within
/// what HSMs commonly accept.
const MAX_PREFIX_LEN: usize = 48;

/// The token user's PIN. Zeroized on drop; `Debug` never shows it.
pub struct Pkcs11Pin(Zeroizing<String>);

impl Pkcs11Pin {
    /// Wraps a PIN read from configuration or the environment.
    pub fn new(pin: impl Into<String>) -> Self {
        Self(Zeroizing::new(pin.into()))
    }
}

impl From<String> for Pkcs11Pin {
    fn from(pin: String) -> Self {
        Self::new(pin)
    }
}

impl fmt::Debug for Pkcs11Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pkcs11Pin([REDACTED])")
    }
}

/// Where the KEKs live on a PKCS#11 token.
#[derive(Debug)]
pub struct Pkcs11Config {
    /// The vendor's PKCS#11 module, e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: PathBuf,
    /// Label of the token holding the keys (padding spaces are ignored).
    pub token_label: String,
    /// The token user's PIN.
    pub user_pin: Pkcs11Pin,
    /// Key objects are labelled `<prefix>-v<N>`. ASCII letters, digits, `.`,
    /// `_` and `-`, at most 48 bytes, so one token can serve several deployments.
    pub key_label_prefix: String,
}

/// KEKs held by a PKCS#11 HSM (SoftHSM2, a network HSM, a cloud HSM).
pub struct Pkcs11Provider {
    module: PathBuf,
    token_label: String,
    prefix: String,
    module_ctx: Module,
    slot: Slot,
    pin: AuthPin,
    idle: Mutex<Vec<Session>>,
    /// Serializes rotate/disable inside this process so two rotations never
    /// both create the same next version.
    admin: Mutex<()>,
}

/// A loaded, initialized module, shared by every provider in the process.
#[derive(Clone)]
struct Module {
    ctx: Pkcs11,
    /// Object creation and attribute changes on this module's tokens take it
    /// exclusively, every other token call shared. SoftHSM2 2.6.1 re-reads
    /// key files on lookups and use, and a reader that catches a file
    /// mid-write invalidates the object being written: the writer then gets
    /// `CKR_GENERAL_ERROR` (upstream issue softhsm/SoftHSMv2#573, fixed after
    /// 2.6.1). Writes are rare (rotate, revoke), so readers barely wait.
    writes: Arc<RwLock<()>>,
}

/// One KEK version found on the token.
struct TokenKek {
    version: KekVersion,
    handle: ObjectHandle,
    state: KekState,
}

impl Pkcs11Provider {
    /// Loads the module, finds the token, logs in, and creates `<prefix>-v1`
    /// if the prefix has no version yet.
    pub fn open_or_create(config: Pkcs11Config) -> Result<Self, Error> {
        let provider = Self::open(config)?;
        if provider.list()?.is_empty() {
            provider.rotate()?;
        }
        Ok(provider)
    }

    /// Loads the module, finds the token and logs in; creates no key.
    ///
    /// A wrong PIN fails here, unless another provider in this process is
    /// already logged in to the same token: PKCS#11 login state belongs to
    /// the process, so the token then does not check the PIN again.
    pub fn open(config: Pkcs11Config) -> Result<Self, Error> {
        let Pkcs11Config { module, token_label, user_pin, key_label_prefix } = config;
        validate_prefix(&key_label_prefix)?;
        let module_ctx = load_module(&module)?;
        let slot = find_slot(&module_ctx.ctx, &token_label)?;
        let pin = AuthPin::from(user_pin.0.as_str());
        let provider = Self {
            module,
            token_label,
            prefix: key_label_prefix,
            module_ctx,
            slot,
            pin,
            idle: Mutex::new(Vec::new()),
            admin: Mutex::new(()),
        };
        // Fail at start-up, not on the first read, if the PIN is wrong.
        provider.with_session("log in", |_| Ok(()))?;
        Ok(provider)
    }

    /// The token this provider uses.
    pub fn token_label(&self) -> &str {
        &self.token_label
    }

    /// The label prefix of this provider's key objects.
    pub fn key_label_prefix(&self) -> &str {
        &self.prefix
    }

    fn label(&self, version: KekVersion) -> String {
        format!("{}-v{}", self.prefix, version.0)
    }

    /// Parses `<prefix>-v<N>`; anything else on the token is not ours.
    fn parse_label(&self, label: &[u8]) -> Option<KekVersion> {
        let label = std::str::from_utf8(label).ok()?;
        let digits = label.strip_prefix(self.prefix.as_str())?.strip_prefix("-v")?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
            return None;
        }
        digits.parse().ok().map(KekVersion)
    }

    /// Runs `op` on a pooled, logged-in session, alongside other readers of
    /// the token. Sessions that hit an error meaning the session itself is
    /// gone are closed instead of pooled.
    fn with_session<T>(&self, what: &str, op: impl FnOnce(&Session) -> Result<T, CkError>) -> Result<T, Error> {
        let _shared = self.module_ctx.writes.read().unwrap_or_else(PoisonError::into_inner);
        self.with_session_unordered(what, op)
    }

    /// Runs `op`, which creates or changes token objects, with no other
    /// call of this process on the token in flight.
    fn with_session_exclusive<T>(
        &self,
        what: &str,
        op: impl FnOnce(&Session) -> Result<T, CkError>,
    ) -> Result<T, Error> {
        // Only orders calls; the guarded value is `()`.
        let _exclusive = self.module_ctx.writes.write().unwrap_or_else(PoisonError::into_inner);
        self.with_session_unordered(what, op)
    }

    /// The session handling behind both; callers hold the token lock.
    fn with_session_unordered<T>(
        &self,
        what: &str,
        op: impl FnOnce(&Session) -> Result<T, CkError>,
    ) -> Result<T, Error> {
        let pooled = self.lock_idle().pop();
        let session = match pooled {
            Some(s) => s,
            None => self.module_ctx.ctx.open_rw_session(self.slot).map_err(|e| ck_error("open session", &e))?,
        };
        let result = self.ensure_login(&session).and_then(|()| op(&session));
        match &result {
            Err(e) if session_is_broken(e) => drop(session),
            _ => {
                let mut idle = self.lock_idle();
                if idle.len() < MAX_IDLE_SESSIONS {
                    idle.push(session);
                }
            }
        }
        result.map_err(|e| ck_error(what, &e))
    }

    fn ensure_login(&self, session: &Session) -> Result<(), CkError> {
        if session.get_session_info()?.session_state() == SessionState::RwUser {
            return Ok(());
        }
        match session.login(UserType::User, Some(&self.pin)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn lock_idle(&self) -> MutexGuard<'_, Vec<Session>> {
        // The pool is only pushed to and popped from; a panic elsewhere cannot
        // leave it half-updated.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every version of this prefix on the token, sorted.
    fn list(&self) -> Result<Vec<TokenKek>, Error> {
        let found = self.with_session("list keys", |s| {
            let template =
                [Attribute::Class(ObjectClass::SECRET_KEY), Attribute::KeyType(KeyType::AES), Attribute::Token(true)];
            let mut out = Vec::new();
            for handle in s.find_objects(&template)? {
                let attrs = s.get_attributes(handle, &[AttributeType::Label, AttributeType::Decrypt])?;
                let mut label = None;
                let mut decrypt = false;
                for attr in attrs {
                    match attr {
                        Attribute::Label(l) => label = Some(l),
                        Attribute::Decrypt(d) => decrypt = d,
                        _ => {}
                    }
                }
                out.push((label, decrypt, handle));
            }
            Ok(out)
        })?;
        let mut keks: Vec<TokenKek> = found
            .into_iter()
            .filter_map(|(label, decrypt, handle)| {
                let version = self.parse_label(label.as_deref()?)?;
                let state = if decrypt { KekState::Enabled } else { KekState::Disabled };
                Some(TokenKek { version, handle, state })
            })
            .collect();
        keks.sort_by_key(|k| k.version);
        if let Some(pair) = keks.windows(2).find(|w| w[0].version == w[1].version) {
            return Err(duplicate_label(&self.label(pair[0].version)));
        }
        Ok(keks)
    }

    /// One version, looked up by its exact label (cheaper than listing all).
    fn find(&self, version: KekVersion) -> Result<TokenKek, Error> {
        let label = self.label(version);
        let found = self.with_session("find key", |s| {
            let template = [
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::Token(true),
                Attribute::Label(label.clone().into_bytes()),
            ];
            let mut out = Vec::new();
            for handle in s.find_objects(&template)? {
                let attrs = s.get_attributes(handle, &[AttributeType::Decrypt])?;
                out.push((handle, attrs.iter().any(|a| matches!(a, Attribute::Decrypt(true)))));
            }
            Ok(out)
        })?;
        match found.as_slice() {
            [] => Err(Error::KekUnknown(version)),
            [(handle, decrypt)] => Ok(TokenKek {
                version,
                handle: *handle,
                state: if *decrypt { KekState::Enabled } else { KekState::Disabled },
            }),
            _ => Err(duplicate_label(&label)),
        }
    }
}

fn validate_prefix(prefix: &str) -> Result<(), Error> {
    let ok = !prefix.is_empty()
        && prefix.len() <= MAX_PREFIX_LEN
        && prefix.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(provider_error(format!(
            "key label prefix must be 1 to {MAX_PREFIX_LEN} ASCII letters, digits, '.', '_' or '-'"
        )))
    }
}

/// Loads and initializes a module once per process and keeps it loaded: a
/// second `C_Initialize` fails, and unloading a module other providers still
/// use would pull the functions out from under them.
fn load_module(path: &Path) -> Result<Module, Error> {
    static MODULES: Mutex<Vec<(PathBuf, Module)>> = Mutex::new(Vec::new());
    // Entries are only appended whole; a poisoned lock still holds a valid list.
    let mut modules = MODULES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, module)) = modules.iter().find(|(p, _)| p == path) {
        return Ok(module.clone());
    }
    let ctx = Pkcs11::new(path).map_err(|e| ck_error("load module", &e))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(ck_error("initialize module", &e)),
    }
    let module = Module { ctx, writes: Arc::new(RwLock::new(())) };
    modules.push((path.to_path_buf(), module.clone()));
    Ok(module)
}

fn find_slot(ctx: &Pkcs11, token_label: &str) -> Result<Slot, Error> {
    let wanted = token_label.trim_end();
    for slot in ctx.get_slots_with_initialized_token().map_err(|e| ck_error("list slots", &e))? {
        let info = ctx.get_token_info(slot).map_err(|e| ck_error("read token info", &e))?;
        if info.label().trim_end() == wanted {
            return Ok(slot);
        }
    }
    Err(provider_error(format!("no initialized token labelled {wanted:?}")))
}

/// Seals and opens a fixed value under `key` with a fresh IV; true if the
/// token round-trips it, i.e. the key and the session work.
fn self_test(s: &Session, key: ObjectHandle) -> bool {
    const PROBE: &[u8] = b"phigate-pkcs11-self-test";
    let mut iv = [0u8; IV_LEN];
    if getrandom::getrandom(&mut iv).is_err() {
        return false;
    }
    let sealed = {
        let mut iv_param = iv;
        let Ok(params) = GcmParams::new(&mut iv_param, PROBE, TAG_BITS.into()) else {
            return false;
        };
        match s.encrypt(&Mechanism::AesGcm(params), key, PROBE) {
            Ok(sealed) => sealed,
            Err(_) => return false,
        }
    };
    let mut iv_param = iv;
    let Ok(params) = GcmParams::new(&mut iv_param, PROBE, TAG_BITS.into()) else {
        return false;
    };
    s.decrypt(&Mechanism::AesGcm(params), key, &sealed).is_ok_and(|opened| opened == PROBE)
}

/// Errors after which the session handle is useless.
fn session_is_broken(e: &CkError) -> bool {
    matches!(
        e,
        CkError::Pkcs11(
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::DeviceRemoved
                | RvError::DeviceError
                | RvError::TokenNotPresent
                | RvError::OperationActive,
            _
        )
    )
}

/// Fail closed rather than guess which of two same-labelled keys is the real one.
fn duplicate_label(label: &str) -> Error {
    provider_error(format!("token holds two key objects labelled {label}; remove the one that wraps no data key"))
}

fn provider_error(reason: String) -> Error {
    Error::Provider { provider: PROVIDER, reason }
}

/// cryptoki errors name the PKCS#11 function and return value, never
/// attribute values, so they are safe to pass on.
fn ck_error(what: &str, e: &CkError) -> Error {
    let reason = match e {
        CkError::Pkcs11(rv, func) => format!("{what}: {func} returned {rv:?}"),
        other => format!("{what}: {other}"),
    };
    provider_error(reason)
}

impl KeyProvider for Pkcs11Provider {
    fn kind(&self) -> &'static str {
        PROVIDER
    }

    fn versions(&self) -> Result<Vec<KekInfo>, Error> {
        let keks = self.list()?;
        let current = keks.last().map(|k| k.version);
        Ok(keks
            .iter()
            .map(|k| KekInfo {
                version: k.version,
                state: k.state,
                current: Some(k.version) == current && k.state == KekState::Enabled,
            })
            .collect())
    }

    fn wrap(&self, dek: &DataKey, context: &[u8]) -> Result<WrappedDek, Error> {
        let kek = self.list()?.pop().ok_or(Error::NoCurrentKek)?;
        if kek.state != KekState::Enabled {
            return Err(Error::NoCurrentKek);
        }
        let mut iv = [0u8; IV_LEN];
        getrandom::getrandom(&mut iv).map_err(|_| Error::Rng)?;
        let sealed = self.with_session("wrap", |s| {
            let mut iv_param = iv;
            let params = GcmParams::new(&mut iv_param, context, TAG_BITS.into())?;
            s.encrypt(&Mechanism::AesGcm(params), kek.handle, dek.expose_raw())
        })?;
        if sealed.len() != WRAPPED_LEN - IV_LEN {
            return Err(provider_error(format!("token returned {} bytes for a wrapped key", sealed.len())));
        }
        let mut bytes = Vec::with_capacity(WRAPPED_LEN);
        bytes.extend_from_slice(&iv);
        bytes.extend_from_slice(&sealed);
        Ok(WrappedDek { kek_version: kek.version, bytes })
    }

    fn unwrap(&self, wrapped: &WrappedDek, context: &[u8]) -> Result<DataKey, Error> {
        let kek = self.find(wrapped.kek_version)?;
        if kek.state != KekState::Enabled {
            return Err(Error::KekDisabled(kek.version));
        }
        if wrapped.bytes.len() != WRAPPED_LEN {
            return Err(Error::Malformed("wrapped data key has the wrong length"));
        }
        let (iv, sealed) = wrapped.bytes.split_at(IV_LEN);
        let opened = self.with_session("unwrap", |s| {
            let mut iv_param = [0u8; IV_LEN];
            iv_param.copy_from_slice(iv);
            let params = GcmParams::new(&mut iv_param, context, TAG_BITS.into())?;
            match s.decrypt(&Mechanism::AesGcm(params), kek.handle, sealed) {
                Ok(plain) => Ok(Ok(Zeroizing::new(plain))),
                Err(CkError::Pkcs11(RvError::EncryptedDataInvalid | RvError::EncryptedDataLenRange, _)) => {
                    Ok(Err(Error::Tampered))
                }
                // Disabled between the listing and the decrypt: the token is the authority.
                Err(CkError::Pkcs11(RvError::KeyFunctionNotPermitted, _)) => Ok(Err(Error::KekDisabled(kek.version))),
                // SoftHSM2 answers a GCM tag mismatch with CKR_GENERAL_ERROR
                // instead of CKR_ENCRYPTED_DATA_INVALID. Tell it from a real
                // fault by a round trip under the same key: if the token
                // still works, the wrapped key is what failed.
                Err(e @ CkError::Pkcs11(RvError::GeneralError, Function::Decrypt)) => {
                    if self_test(s, kek.handle) {
                        Ok(Err(Error::Tampered))
                    } else {
                        Err(e)
                    }
                }
                Err(e) => Err(e),
            }
        })??;
        let mut raw = Zeroizing::new([0u8; 32]);
        if opened.len() != raw.len() {
            return Err(Error::Malformed("unwrapped data key is not 32 bytes"));
        }
        raw.copy_from_slice(&opened);
        Ok(DataKey::from_raw(raw))
    }

    fn rotate(&self) -> Result<KekVersion, Error> {
        // Only serializes; the guarded value is `()`.
        let _admin = self.admin.lock().unwrap_or_else(PoisonError::into_inner);
        let next = KekVersion(self.list()?.last().map_or(0, |k| k.version.0) + 1);
        let label = self.label(next);
        self.with_session_exclusive("generate key", |s| {
            let template = [
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::ValueLen(32.into()),
                Attribute::Label(label.clone().into_bytes()),
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::Modifiable(true),
                Attribute::Encrypt(true),
                Attribute::Decrypt(true),
                Attribute::Wrap(false),
                Attribute::Unwrap(false),
                Attribute::Sign(false),
                Attribute::Verify(false),
                Attribute::Derive(false),
            ];
            s.generate_key(&Mechanism::AesKeyGen, &template)
        })?;
        Ok(next)
    }

    fn disable(&self, version: KekVersion) -> Result<(), Error> {
        // Only serializes; the guarded value is `()`.
        let _admin = self.admin.lock().unwrap_or_else(PoisonError::into_inner);
        let keks = self.list()?;
        if keks.last().map(|k| k.version) == Some(version) {
            return Err(Error::DisableCurrent(version));
        }
        let kek = keks.into_iter().find(|k| k.version == version).ok_or(Error::KekUnknown(version))?;
        let still_decrypts = self.with_session_exclusive("disable key", |s| {
            s.update_attributes(kek.handle, &[Attribute::Decrypt(false), Attribute::Encrypt(false)])?;
            let attrs = s.get_attributes(kek.handle, &[AttributeType::Decrypt])?;
            Ok(attrs.iter().any(|a| matches!(a, Attribute::Decrypt(true))))
        })?;
        if still_decrypts {
            return Err(provider_error(format!("token kept CKA_DECRYPT set on {}", self.label(version))));
        }
        Ok(())
    }
}

impl fmt::Debug for Pkcs11Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Provider")
            .field("module", &self.module)
            .field("token_label", &self.token_label)
            .field("key_label_prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl Drop for Pkcs11Provider {
    fn drop(&mut self) {
        // Close this provider's sessions; never log out (shared login state).
        self.lock_idle().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_debug_hides_the_pin() {
        let config = Pkcs11Config {
            module: PathBuf::from("/usr/lib/softhsm/libsofthsm2.so"),
            token_label: "phigate".into(),
            user_pin: Pkcs11Pin::new("s3cret-PIN-4711"),
            key_label_prefix: "phigate-kek".into(),
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret-PIN-4711"), "{shown}");
        assert!(shown.contains("REDACTED"), "{shown}");
    }

    #[test]
    fn bad_prefixes_are_refused_before_touching_the_module() {
        for prefix in ["", "with space", "slash/", &"x".repeat(MAX_PREFIX_LEN + 1)] {
            let config = Pkcs11Config {
                module: PathBuf::from("/nonexistent/module.so"),
                token_label: "t".into(),
                user_pin: Pkcs11Pin::new("1234"),
                key_label_prefix: prefix.to_string(),
            };
            let err = Pkcs11Provider::open(config).unwrap_err().to_string();
            assert!(err.contains("key label prefix"), "{err}");
        }
    }

    /// The SoftHSM2 token `scripts/test` starts, with a fresh label prefix.
    fn test_token(prefix: &str) -> Option<Pkcs11Config> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let (Some(module), Some(token), Some(pin)) =
            (var("PHIGATE_TEST_PKCS11_MODULE"), var("PHIGATE_TEST_PKCS11_TOKEN"), var("PHIGATE_TEST_PKCS11_PIN"))
        else {
            assert_ne!(var("PHIGATE_REQUIRE_PEERS").as_deref(), Some("1"), "SoftHSM2 peer required but not configured");
            eprintln!("SKIPPED: PHIGATE_TEST_PKCS11_* not set");
            return None;
        };
        Some(Pkcs11Config {
            module: module.into(),
            token_label: token,
            user_pin: Pkcs11Pin::new(pin),
            key_label_prefix: prefix.to_string(),
        })
    }

    /// Revocation must not rest on this provider's own check: the token has
    /// to refuse the key, and a fresh provider (new sessions) must see it.
    #[test]
    fn token_itself_refuses_a_disabled_key_and_the_state_persists() {
        let prefix = format!("unit-{:016x}", rand::random::<u64>());
        let Some(config) = test_token(&prefix) else {
            return;
        };
        let p = Pkcs11Provider::open_or_create(config).unwrap();
        let dek = DataKey::generate().unwrap();
        let w = p.wrap(&dek, b"ctx").unwrap();
        assert_eq!(w.bytes.len(), WRAPPED_LEN);
        p.rotate().unwrap();
        p.disable(KekVersion(1)).unwrap();

        let handle = p.find(KekVersion(1)).unwrap().handle;
        let (iv, sealed) = w.bytes.split_at(IV_LEN);
        let refused = p
            .with_session("test decrypt", |s| {
                let mut iv_param = [0u8; IV_LEN];
                iv_param.copy_from_slice(iv);
                let params = GcmParams::new(&mut iv_param, b"ctx", TAG_BITS.into())?;
                Ok(s.decrypt(&Mechanism::AesGcm(params), handle, sealed).map(|_| ()))
            })
            .unwrap();
        assert!(matches!(refused, Err(CkError::Pkcs11(RvError::KeyFunctionNotPermitted, _))), "{refused:?}");

        let q = Pkcs11Provider::open(test_token(&prefix).unwrap()).unwrap();
        let v1 = q.versions().unwrap().into_iter().find(|v| v.version == KekVersion(1)).unwrap();
        assert_eq!(v1.state, KekState::Disabled);
        assert!(matches!(q.unwrap(&w, b"ctx"), Err(Error::KekDisabled(KekVersion(1)))));
        assert_eq!(q.current_version().unwrap(), KekVersion(2));
    }

    #[test]
    fn missing_module_is_a_provider_error_without_the_pin() {
        let config = Pkcs11Config {
            module: PathBuf::from("/nonexistent/module.so"),
            token_label: "t".into(),
            user_pin: Pkcs11Pin::new("s3cret-PIN-4711"),
            key_label_prefix: "p".into(),
        };
        let err = Pkcs11Provider::open(config).unwrap_err();
        assert!(matches!(err, Error::Provider { provider: "pkcs11", .. }), "{err}");
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }
}
