//! The embedded default: KEK versions in a local file only the service user can read.
//!
//! The file is created with mode 0600 on first use and refused if group or
//! others can read it. Every change is written to a temporary file, synced,
//! and renamed over the old one, so a crash never leaves a half-written key
//! file. Keys are 256-bit AES-GCM keys from the operating system's RNG.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::provider::{KekInfo, KekState, KekVersion, KeyProvider, WrappedDek};
use crate::{DataKey, Error};

const FORMAT: &str = "phigate-kek-file-v1";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileImage {
    format: String,
    current: u32,
    versions: Vec<FileVersion>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileVersion {
    version: u32,
    state: KekState,
    created_at: String,
    key: String,
}

impl Drop for FileVersion {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

struct Kek {
    version: KekVersion,
    state: KekState,
    created_at: String,
    cipher: Aes256Gcm,
    raw: Zeroizing<[u8; 32]>,
}

struct State {
    current: KekVersion,
    keks: Vec<Kek>,
}

/// KEKs in a local file (the embedded default).
pub struct LocalFileProvider {
    path: PathBuf,
    state: RwLock<State>,
}

impl LocalFileProvider {
    /// Opens the key file at `path`, creating it (mode 0600, one fresh KEK) if absent.
    pub fn open_or_create(path: &Path) -> Result<Self, Error> {
        if path.exists() {
            return Self::open(path);
        }
        let io = |source| Error::Io { path: path.to_path_buf(), source };
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io)?;
        }
        let state = State { current: KekVersion(1), keks: vec![new_kek(KekVersion(1))?] };
        write_atomically(path, &state, true)?;
        Ok(Self { path: path.to_path_buf(), state: RwLock::new(state) })
    }

    /// Opens an existing key file; refuses one that group or others can read.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let io = |source| Error::Io { path: path.to_path_buf(), source };
        let meta = fs::metadata(path).map_err(io)?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(Error::InsecurePermissions { path: path.to_path_buf(), mode });
        }
        let text = Zeroizing::new(fs::read_to_string(path).map_err(io)?);
        let corrupt = |reason: String| Error::CorruptKeyFile { path: path.to_path_buf(), reason };
        // serde_json errors quote the offending input only for invalid
        // tokens; keep the position, drop the message, to never echo key bytes.
        let image: FileImage = serde_json::from_str(&text)
            .map_err(|e| corrupt(format!("not valid key-file JSON (line {}, column {})", e.line(), e.column())))?;
        if image.format != FORMAT {
            return Err(corrupt(format!("unknown format, expected {FORMAT}")));
        }
        let mut keks = Vec::with_capacity(image.versions.len());
        for v in &image.versions {
            let mut bytes = Zeroizing::new(
                B64.decode(v.key.as_bytes()).map_err(|_| corrupt(format!("key v{} is not base64", v.version)))?,
            );
            let raw: [u8; 32] =
                bytes.as_slice().try_into().map_err(|_| corrupt(format!("key v{} is not 32 bytes", v.version)))?;
            bytes.zeroize();
            keks.push(kek_from(KekVersion(v.version), v.state, v.created_at.clone(), Zeroizing::new(raw)));
        }
        let current = KekVersion(image.current);
        if !keks.iter().any(|k| k.version == current && k.state == KekState::Enabled) {
            return Err(corrupt(format!("current version {current} is missing or disabled")));
        }
        Ok(Self { path: path.to_path_buf(), state: RwLock::new(State { current, keks }) })
    }

    /// Where the key file lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        // Mutations replace whole values; a poisoned lock still holds a consistent state.
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }
}

fn new_kek(version: KekVersion) -> Result<Kek, Error> {
    let mut raw = Zeroizing::new([0u8; 32]);
    getrandom::getrandom(raw.as_mut()).map_err(|_| Error::Rng)?;
    let now =
        time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    Ok(kek_from(version, KekState::Enabled, now, raw))
}

fn kek_from(version: KekVersion, state: KekState, created_at: String, raw: Zeroizing<[u8; 32]>) -> Kek {
    Kek { version, state, created_at, cipher: Aes256Gcm::new(raw.as_ref().into()), raw }
}

fn wrap_aad(version: KekVersion, context: &[u8]) -> Vec<u8> {
    let mut ad = Vec::with_capacity(32 + context.len());
    ad.extend_from_slice(b"phigate-kek-wrap-v1");
    ad.extend_from_slice(&version.0.to_be_bytes());
    ad.extend_from_slice(context);
    ad
}

fn write_atomically(path: &Path, state: &State, create_new: bool) -> Result<(), Error> {
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    let image = FileImage {
        format: FORMAT.to_string(),
        current: state.current.0,
        versions: state
            .keks
            .iter()
            .map(|k| FileVersion {
                version: k.version.0,
                state: k.state,
                created_at: k.created_at.clone(),
                key: B64.encode(k.raw.as_ref()),
            })
            .collect(),
    };
    let text = Zeroizing::new(
        serde_json::to_string_pretty(&image)
            .map_err(|e| Error::CorruptKeyFile { path: path.to_path_buf(), reason: format!("cannot encode: {e}") })?,
    );
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp).map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    if create_new && path.exists() {
        let _ = fs::remove_file(&tmp);
        return Err(Error::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::AlreadyExists, "key file appeared concurrently"),
        });
    }
    fs::rename(&tmp, path).map_err(io)?;
    if let Some(dir) = path.parent() {
        fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    }
    Ok(())
}

impl KeyProvider for LocalFileProvider {
    fn kind(&self) -> &'static str {
        "local-file"
    }

    fn versions(&self) -> Result<Vec<KekInfo>, Error> {
        let st = self.read();
        let mut out: Vec<KekInfo> = st
            .keks
            .iter()
            .map(|k| KekInfo { version: k.version, state: k.state, current: k.version == st.current })
            .collect();
        out.sort_by_key(|k| k.version);
        Ok(out)
    }

    fn wrap(&self, dek: &DataKey, context: &[u8]) -> Result<WrappedDek, Error> {
        let st = self.read();
        let kek = st.keks.iter().find(|k| k.version == st.current).ok_or(Error::NoCurrentKek)?;
        let mut nonce = [0u8; 12];
        getrandom::getrandom(&mut nonce).map_err(|_| Error::Rng)?;
        let mut body = nonce.to_vec();
        body.extend_from_slice(dek.expose_raw());
        let tag = kek
            .cipher
            .encrypt_in_place_detached(Nonce::from_slice(&nonce), &wrap_aad(kek.version, context), &mut body[12..])
            .map_err(|_| Error::Malformed("wrap failed"))?;
        body.extend_from_slice(&tag);
        Ok(WrappedDek { kek_version: kek.version, bytes: body })
    }

    fn unwrap(&self, wrapped: &WrappedDek, context: &[u8]) -> Result<DataKey, Error> {
        let st = self.read();
        let kek =
            st.keks.iter().find(|k| k.version == wrapped.kek_version).ok_or(Error::KekUnknown(wrapped.kek_version))?;
        if kek.state != KekState::Enabled {
            return Err(Error::KekDisabled(kek.version));
        }
        if wrapped.bytes.len() != 12 + 32 + 16 {
            return Err(Error::Malformed("wrapped data key has the wrong length"));
        }
        let (nonce, rest) = wrapped.bytes.split_at(12);
        let (body, tag) = rest.split_at(32);
        let mut raw = Zeroizing::new([0u8; 32]);
        raw.copy_from_slice(body);
        kek.cipher
            .decrypt_in_place_detached(
                Nonce::from_slice(nonce),
                &wrap_aad(kek.version, context),
                raw.as_mut(),
                tag.into(),
            )
            .map_err(|_| Error::Tampered)?;
        Ok(DataKey::from_raw(raw))
    }

    fn rotate(&self) -> Result<KekVersion, Error> {
        let mut st = self.write();
        let next = KekVersion(st.keks.iter().map(|k| k.version.0).max().unwrap_or(0) + 1);
        st.keks.push(new_kek(next)?);
        let previous = st.current;
        st.current = next;
        if let Err(e) = write_atomically(&self.path, &st, false) {
            st.keks.pop();
            st.current = previous;
            return Err(e);
        }
        Ok(next)
    }

    fn disable(&self, version: KekVersion) -> Result<(), Error> {
        let mut st = self.write();
        if version == st.current {
            return Err(Error::DisableCurrent(version));
        }
        let kek = st.keks.iter_mut().find(|k| k.version == version).ok_or(Error::KekUnknown(version))?;
        let before = kek.state;
        kek.state = KekState::Disabled;
        if let Err(e) = write_atomically(&self.path, &st, false) {
            if let Some(k) = st.keks.iter_mut().find(|k| k.version == version) {
                k.state = before;
            }
            return Err(e);
        }
        Ok(())
    }
}

impl std::fmt::Debug for LocalFileProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalFileProvider").field("path", &self.path).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_with_0600_and_refused_when_group_readable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/kek.json");
        let p = LocalFileProvider::open_or_create(&path).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(!format!("{p:?}").contains("key\""));
        drop(p);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let err = LocalFileProvider::open(&path).unwrap_err();
        assert!(matches!(err, Error::InsecurePermissions { mode: 0o640, .. }), "{err}");
        assert!(err.to_string().contains("chmod 600"));
    }

    #[test]
    fn state_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek.json");
        let p = LocalFileProvider::open_or_create(&path).unwrap();
        let dek = DataKey::generate().unwrap();
        let w = p.wrap(&dek, b"ctx").unwrap();
        p.rotate().unwrap();
        p.disable(KekVersion(1)).unwrap();
        let q = LocalFileProvider::open(&path).unwrap();
        assert_eq!(q.current_version().unwrap(), KekVersion(2));
        assert!(matches!(q.unwrap(&w, b"ctx"), Err(Error::KekDisabled(KekVersion(1)))));
    }

    #[test]
    fn corrupt_file_error_names_no_key_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek.json");
        fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&path).unwrap();
        fs::write(&path, "{\"format\": \"phigate-kek-file-v1\", \"current\": 1, \"versions\": [{\"version\":1,\"state\":\"enabled\",\"created_at\":\"x\",\"key\":\"SECRETSECRET\"}]}").unwrap();
        let err = LocalFileProvider::open(&path).unwrap_err().to_string();
        assert!(!err.contains("SECRETSECRET"), "{err}");
    }
}
