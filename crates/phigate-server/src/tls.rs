//! TLS: only 1.2 and 1.3, ECDHE + AEAD suites only (rustls supports nothing
//! weaker), HTTP/2 negotiated by ALPN.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

use crate::Error;

/// The oldest protocol version to accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MinVersion {
    /// TLS 1.2 and 1.3.
    Tls12,
    /// TLS 1.3 only.
    Tls13,
}

/// Builds the rustls server configuration from PEM files.
pub fn server_config(cert: &Path, key: &Path, min: MinVersion) -> Result<Arc<ServerConfig>, Error> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| Error::Tls(format!("cannot read certificate {}: {e}", cert.display())))?
        .collect::<Result<_, _>>()
        .map_err(|e| Error::Tls(format!("certificate {} is not valid PEM: {e}", cert.display())))?;
    if certs.is_empty() {
        return Err(Error::Tls(format!("{} contains no certificate", cert.display())));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| Error::Tls(format!("cannot read private key {}: {e}", key.display())))?;
    let versions: &[&'static rustls::SupportedProtocolVersion] = match min {
        MinVersion::Tls12 => &[&rustls::version::TLS13, &rustls::version::TLS12],
        MinVersion::Tls13 => &[&rustls::version::TLS13],
    };
    let mut config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(versions)
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| Error::Tls(format!("certificate and key do not form a usable pair: {e}")))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Paths of a certificate and its key.
#[derive(Debug, Clone)]
pub struct CertPaths {
    /// PEM certificate (world-readable: it is public).
    pub cert: PathBuf,
    /// PEM private key (0600).
    pub key: PathBuf,
    /// SHA-256 of the DER certificate, for pinning and for the operator to compare.
    pub fingerprint: String,
    /// Whether this call created them.
    pub created: bool,
}

/// Returns the self-signed certificate in `dir`, creating it on first use
/// for `localhost`, `127.0.0.1` and `::1`.
pub fn ensure_self_signed(dir: &Path) -> Result<CertPaths, Error> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path: path.clone(), source }
    };
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let created = !(cert.exists() && key.exists());
    if created {
        fs::create_dir_all(dir).map_err(io(dir))?;
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
        let generated = rcgen::generate_simple_self_signed(names)
            .map_err(|e| Error::Tls(format!("cannot generate a self-signed certificate: {e}")))?;
        let _ = fs::remove_file(&key);
        let mut f = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&key).map_err(io(&key))?;
        f.write_all(generated.key_pair.serialize_pem().as_bytes()).map_err(io(&key))?;
        f.sync_all().map_err(io(&key))?;
        fs::write(&cert, generated.cert.pem()).map_err(io(&cert))?;
    }
    let der = CertificateDer::from_pem_file(&cert).map_err(|e| Error::Tls(format!("{}: {e}", cert.display())))?;
    let fingerprint = hex::encode(Sha256::digest(der.as_ref()));
    Ok(CertPaths { cert, key, fingerprint, created })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn self_signed_is_created_once_with_a_private_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let first = ensure_self_signed(dir.path()).unwrap();
        assert!(first.created);
        assert_eq!(fs::metadata(&first.key).unwrap().permissions().mode() & 0o777, 0o600);
        let second = ensure_self_signed(dir.path()).unwrap();
        assert!(!second.created);
        assert_eq!(first.fingerprint, second.fingerprint);
        server_config(&first.cert, &first.key, MinVersion::Tls12).unwrap();
    }

    #[test]
    fn bad_pem_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("c.pem");
        fs::write(&cert, "not a certificate").unwrap();
        let err = server_config(&cert, &cert, MinVersion::Tls12).unwrap_err().to_string();
        assert!(err.contains("no certificate") || err.contains("PEM"), "{err}");
    }
}
