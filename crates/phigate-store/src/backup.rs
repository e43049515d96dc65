//! Encrypted, integrity-checked backup archives.
//!
//! Layout: `PHIGATE-BACKUP\n` ‖ version byte ‖ header length (u32 BE) ‖
//! header JSON ‖ chunks, each `length (u32 BE) ‖ AES-256-GCM chunk`. The
//! database snapshot is sealed with the STREAM construction
//! ([`phigate_keys::stream`]) under a fresh data key wrapped by the
//! customer's KEK, and every chunk's associated data is the SHA-256 of
//! everything before the first chunk. So a changed header, a flipped
//! byte, a reordered, dropped or appended chunk, or a truncated file all
//! fail; restoring needs the same customer key, so a stolen archive is
//! useless without it.
//!
//! The database inside already holds only ciphertext and keyed hashes; the
//! archive encryption additionally hides the schema, row counts and sizes.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use phigate_keys::stream::{StreamOpener, StreamSealer};
use phigate_keys::{Error as KeyError, KekVersion, KeyProvider, WrappedDek};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, SqliteStore, migrations};

const MAGIC: &[u8] = b"PHIGATE-BACKUP\n";
const VERSION: u8 = 1;
const FORMAT: &str = "phigate-backup-v1";
const CHUNK_SIZE: usize = 1 << 20;
const MAX_HEADER: u32 = 64 * 1024;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: String,
    backup_id: String,
    created_at: String,
    provider: String,
    kek_version: u32,
    wrapped_dek: String,
    chunk_size: u32,
    schema_version: i64,
}

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    /// Random id of this backup (bound into its key wrapping).
    pub backup_id: String,
    /// KEK version that wraps the backup's data key.
    pub kek_version: KekVersion,
    /// Size of the database snapshot.
    pub plaintext_bytes: u64,
    /// Size of the archive.
    pub archive_bytes: u64,
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreSummary {
    /// Id of the backup restored.
    pub backup_id: String,
    /// When it was taken.
    pub created_at: String,
    /// Bytes of database restored.
    pub bytes: u64,
}

fn backup_context(backup_id: &str) -> Vec<u8> {
    format!("phigate-backup:{backup_id}").into_bytes()
}

fn bad(path: &Path, reason: impl Into<String>) -> Error {
    Error::Backup { path: path.to_path_buf(), reason: reason.into() }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.to_path_buf(), source }
}

/// Writes an encrypted archive of `store` to `out` (which must not exist).
pub fn write_backup(store: &SqliteStore, out: &Path) -> Result<BackupSummary, Error> {
    if out.exists() {
        return Err(bad(out, "already exists; choose a new file name (backups are never overwritten)"));
    }
    let dir = out.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let snapshot =
        tempfile::Builder::new().prefix(".phigate-snapshot").tempfile_in(dir).map_err(io(out))?.into_temp_path();
    // VACUUM INTO accepts an empty existing file: the 0600 temp file keeps
    // the snapshot private while it exists.
    store.snapshot_to(&snapshot)?;
    let result = seal_snapshot(store, &snapshot, out);
    let _ = fs::remove_file(&snapshot);
    result
}

fn seal_snapshot(store: &SqliteStore, snapshot: &Path, out: &Path) -> Result<BackupSummary, Error> {
    let provider = store.keyring().provider();
    let backup_id = hex::encode(rand::random::<[u8; 16]>());
    let (dek, wrapped) = provider.generate_dek(&backup_context(&backup_id))?;
    let header = Header {
        format: FORMAT.to_string(),
        backup_id: backup_id.clone(),
        created_at: crate::sqlite::now(),
        provider: provider.kind().to_string(),
        kek_version: wrapped.kek_version.0,
        wrapped_dek: B64.encode(&wrapped.bytes),
        chunk_size: CHUNK_SIZE as u32,
        schema_version: store.schema_version()?,
    };
    let header_bytes = serde_json::to_vec(&header).map_err(|_| Error::Internal("backup header encoding"))?;
    let mut prefix = MAGIC.to_vec();
    prefix.push(VERSION);
    prefix.extend_from_slice(&(header_bytes.len() as u32).to_be_bytes());
    prefix.extend_from_slice(&header_bytes);
    let aad = Sha256::digest(&prefix);

    let partial = out.with_extension("partial");
    let file = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&partial).map_err(io(&partial))?;
    let mut w = BufWriter::new(file);
    let mut input = File::open(snapshot).map_err(io(snapshot))?;
    let total = input.metadata().map_err(io(snapshot))?.len();
    let mut sealer = StreamSealer::new(&dek, &aad);
    let written = (|| -> Result<u64, Error> {
        w.write_all(&prefix).map_err(io(&partial))?;
        let mut buf = vec![0u8; CHUNK_SIZE];
        let mut done = 0u64;
        loop {
            let n = read_full(&mut input, &mut buf).map_err(io(snapshot))?;
            done += n as u64;
            let last = done >= total || n < CHUNK_SIZE;
            let chunk = sealer.seal_chunk(&buf[..n], last)?;
            w.write_all(&(chunk.len() as u32).to_be_bytes()).map_err(io(&partial))?;
            w.write_all(&chunk).map_err(io(&partial))?;
            if last {
                break;
            }
        }
        let file = w.into_inner().map_err(|e| Error::Io { path: partial.clone(), source: e.into_error() })?;
        file.sync_all().map_err(io(&partial))?;
        Ok(file.metadata().map_err(io(&partial))?.len())
    })();
    match written {
        Ok(archive_bytes) => {
            fs::rename(&partial, out).map_err(io(out))?;
            Ok(BackupSummary { backup_id, kek_version: wrapped.kek_version, plaintext_bytes: total, archive_bytes })
        }
        Err(e) => {
            let _ = fs::remove_file(&partial);
            Err(e)
        }
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Restores `archive` into the database file `target`. Refuses an existing
/// target unless `force`; refuses a tampered, truncated or wrong-key archive
/// before touching the target.
pub fn restore_backup(
    archive: &Path,
    provider: &dyn KeyProvider,
    target: &Path,
    force: bool,
) -> Result<RestoreSummary, Error> {
    if target.exists() && !force {
        return Err(bad(target, "target database exists; stop phigate and pass --force to replace it"));
    }
    let file = File::open(archive).map_err(io(archive))?;
    let mut r = BufReader::new(file);
    let mut magic = vec![0u8; MAGIC.len() + 1];
    r.read_exact(&mut magic).map_err(|_| bad(archive, "not a phigate backup (too short)"))?;
    if &magic[..MAGIC.len()] != MAGIC {
        return Err(bad(archive, "not a phigate backup (bad magic)"));
    }
    if magic[MAGIC.len()] != VERSION {
        return Err(bad(archive, format!("unsupported backup format version {}", magic[MAGIC.len()])));
    }
    let mut len = [0u8; 4];
    r.read_exact(&mut len).map_err(|_| bad(archive, "truncated header"))?;
    let header_len = u32::from_be_bytes(len);
    if header_len > MAX_HEADER {
        return Err(bad(archive, "header too large: corrupt or not a phigate backup"));
    }
    let mut header_bytes = vec![0u8; header_len as usize];
    r.read_exact(&mut header_bytes).map_err(|_| bad(archive, "truncated header"))?;
    let header: Header =
        serde_json::from_slice(&header_bytes).map_err(|_| bad(archive, "header is corrupt (tampered?)"))?;
    if header.format != FORMAT {
        return Err(bad(archive, "header names an unknown format"));
    }
    if header.schema_version > migrations::latest() {
        return Err(bad(archive, format!("schema version {} is newer than this phigate", header.schema_version)));
    }
    let mut prefix = magic;
    prefix.extend_from_slice(&len);
    prefix.extend_from_slice(&header_bytes);
    let aad = Sha256::digest(&prefix);

    let wrapped = WrappedDek {
        kek_version: KekVersion(header.kek_version),
        bytes: B64.decode(&header.wrapped_dek).map_err(|_| bad(archive, "header is corrupt (tampered?)"))?,
    };
    let dek = provider.unwrap(&wrapped, &backup_context(&header.backup_id)).map_err(|e| {
        let why = match e {
            KeyError::KekDisabled(v) => format!("it is sealed under key-encryption key {v}, which is disabled"),
            KeyError::KekUnknown(v) => format!(
                "it is sealed under key-encryption key {v} of a {} provider, which the configured {} provider does not have (wrong key?)",
                header.provider,
                provider.kind()
            ),
            KeyError::Tampered => "its data key does not unwrap with the configured key provider (wrong key, or tampered header)".to_string(),
            other => format!("its data key cannot be unwrapped: {other}"),
        };
        bad(archive, format!("cannot restore: {why}"))
    })?;

    let dir = target.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io(dir))?;
    let tmp = target.with_extension("restore-tmp");
    let _ = fs::remove_file(&tmp);
    let out = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp).map_err(io(&tmp))?;
    let result = (|| -> Result<u64, Error> {
        let mut w = BufWriter::new(out);
        let mut opener = StreamOpener::new(&dek, &aad);
        let mut bytes = 0u64;
        let max_chunk = header.chunk_size as usize + 16;
        loop {
            let mut len = [0u8; 4];
            if r.read_exact(&mut len).is_err() {
                return Err(bad(
                    archive,
                    format!("truncated: ends before its final chunk (after chunk {})", opener.position()),
                ));
            }
            let n = u32::from_be_bytes(len) as usize;
            if n > max_chunk {
                return Err(bad(
                    archive,
                    format!("chunk {} has an impossible length: corrupt or tampered", opener.position()),
                ));
            }
            let mut chunk = vec![0u8; n];
            r.read_exact(&mut chunk)
                .map_err(|_| bad(archive, format!("truncated inside chunk {}", opener.position())))?;
            let at_end = r.fill_buf().map_err(io(archive))?.is_empty();
            let position = opener.position();
            let plain = opener.open_chunk(&chunk, at_end).map_err(|_| {
                if at_end {
                    bad(
                        archive,
                        format!("truncated or tampered: chunk {position} fails authentication as the final chunk"),
                    )
                } else {
                    bad(archive, format!("tampered: chunk {position} fails authentication"))
                }
            })?;
            w.write_all(&plain).map_err(io(&tmp))?;
            bytes += plain.len() as u64;
            if at_end {
                break;
            }
        }
        let file = w.into_inner().map_err(|e| Error::Io { path: tmp.clone(), source: e.into_error() })?;
        file.sync_all().map_err(io(&tmp))?;
        Ok(bytes)
    })()
    .and_then(|bytes| {
        let conn = rusqlite::Connection::open(&tmp)?;
        let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if check != "ok" {
            return Err(bad(archive, "restored database fails SQLite's integrity check"));
        }
        Ok(bytes)
    });
    let bytes = match result {
        Ok(b) => b,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    };
    for suffix in ["-wal", "-shm"] {
        let mut p: PathBuf = target.as_os_str().to_owned().into();
        p.as_mut_os_string().push(suffix);
        let _ = fs::remove_file(p);
    }
    fs::rename(&tmp, target).map_err(io(target))?;
    Ok(RestoreSummary { backup_id: header.backup_id, created_at: header.created_at, bytes })
}
