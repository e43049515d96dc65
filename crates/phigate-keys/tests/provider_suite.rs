//! One conformance suite, run against every [`KeyProvider`].
//!
//! Each provider gets a fixture function returning a fresh, isolated provider
//! (new key file, new HSM key labels, new KMS alias prefix), or `None` with a
//! printed reason when its test peer is not running. `./scripts/test` starts
//! every peer and sets `PHIGATE_REQUIRE_PEERS=1`, which turns a skip into a
//! failure so CI can never pass by skipping.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use phigate_keys::provider::local_file::LocalFileProvider;
use phigate_keys::{Aad, DataKey, Error, KekState, KekVersion, KeyProvider, Keyring};

/// A provider plus whatever must live as long as it (temp dirs, sessions).
pub struct Fixture {
    pub provider: Arc<dyn KeyProvider>,
    pub _guard: Box<dyn Any>,
}

/// Skips (returns `None`) with a reason, or fails when peers are required.
pub fn peer_missing(reason: &str) -> Option<Fixture> {
    if std::env::var("PHIGATE_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("test peer required by PHIGATE_REQUIRE_PEERS=1 but missing: {reason}");
    }
    eprintln!("SKIPPED: {reason}");
    None
}

fn local_file() -> Option<Fixture> {
    let dir = tempfile::tempdir().unwrap();
    let provider = LocalFileProvider::open_or_create(&dir.path().join("kek.json")).unwrap();
    Some(Fixture { provider: Arc::new(provider), _guard: Box::new(dir) })
}

/// Generates the whole suite as a module of `#[test]`s for one fixture.
macro_rules! provider_suite {
    ($name:ident, $fixture:expr) => {
        mod $name {
            use super::*;

            fn fixture() -> Option<Fixture> {
                $fixture
            }

            #[test]
            fn wrap_unwrap_round_trips() {
                let Some(f) = fixture() else { return };
                let dek = DataKey::generate().unwrap();
                let w = f.provider.wrap(&dek, b"subject:1").unwrap();
                let back = f.provider.unwrap(&w, b"subject:1").unwrap();
                assert_eq!(back.expose_raw(), dek.expose_raw());
                assert_ne!(&w.bytes[..], &dek.expose_raw()[..], "wrapped form must not be the key");
            }

            #[test]
            fn generate_dek_round_trips() {
                let Some(f) = fixture() else { return };
                let (dek, w) = f.provider.generate_dek(b"subject:2").unwrap();
                assert_eq!(f.provider.unwrap(&w, b"subject:2").unwrap().expose_raw(), dek.expose_raw());
            }

            #[test]
            fn other_context_is_rejected() {
                let Some(f) = fixture() else { return };
                let (_, w) = f.provider.generate_dek(b"subject:1").unwrap();
                assert!(f.provider.unwrap(&w, b"subject:2").is_err());
            }

            #[test]
            fn tampered_wrapped_key_is_rejected() {
                let Some(f) = fixture() else { return };
                let (_, w) = f.provider.generate_dek(b"ctx").unwrap();
                for i in [0, w.bytes.len() / 2, w.bytes.len() - 1] {
                    let mut bad = w.clone();
                    bad.bytes[i] ^= 0x01;
                    assert!(f.provider.unwrap(&bad, b"ctx").is_err(), "flipped byte {i} accepted");
                }
            }

            #[test]
            fn unknown_version_is_rejected() {
                let Some(f) = fixture() else { return };
                let (_, mut w) = f.provider.generate_dek(b"ctx").unwrap();
                w.kek_version = KekVersion(9999);
                assert!(f.provider.unwrap(&w, b"ctx").is_err());
            }

            #[test]
            fn rotation_keeps_old_keys_readable_and_wraps_under_new() {
                let Some(f) = fixture() else { return };
                let before = f.provider.current_version().unwrap();
                let (dek, old) = f.provider.generate_dek(b"ctx").unwrap();
                let after = f.provider.rotate().unwrap();
                assert!(after > before);
                assert_eq!(f.provider.current_version().unwrap(), after);
                assert_eq!(f.provider.unwrap(&old, b"ctx").unwrap().expose_raw(), dek.expose_raw());
                let (_, new) = f.provider.generate_dek(b"ctx").unwrap();
                assert_eq!(new.kek_version, after);
                let versions = f.provider.versions().unwrap();
                assert!(versions.iter().any(|v| v.version == before && !v.current));
                assert!(versions.iter().any(|v| v.version == after && v.current));
            }

            #[test]
            fn disabled_version_fails_closed_and_current_cannot_be_disabled() {
                let Some(f) = fixture() else { return };
                let old_version = f.provider.current_version().unwrap();
                let (_, old) = f.provider.generate_dek(b"ctx").unwrap();
                assert!(matches!(f.provider.disable(old_version), Err(Error::DisableCurrent(_))));
                f.provider.rotate().unwrap();
                f.provider.disable(old_version).unwrap();
                let err = f.provider.unwrap(&old, b"ctx").err().expect("disabled KEK must not unwrap");
                assert!(matches!(err, Error::KekDisabled(v) if v == old_version), "{err}");
                let state = f.provider.versions().unwrap().into_iter().find(|v| v.version == old_version).unwrap().state;
                assert_eq!(state, KekState::Disabled);
            }

            #[test]
            fn rotate_rewrap_then_revoke_keeps_data_readable() {
                let Some(f) = fixture() else { return };
                let ring = Keyring::new(f.provider.clone(), Duration::from_secs(300));
                let aad = Aad { kind: "patient", id: "1", field: "name" };
                let (key, wrapped) = ring.create(1, b"dek:1").unwrap();
                let sealed = key.seal(1, &aad, b"canary").unwrap();
                let old_version = wrapped.kek_version;
                ring.rotate().unwrap();
                let rewrapped = ring.rewrap(&wrapped, b"dek:1").unwrap();
                assert_ne!(rewrapped.kek_version, old_version);
                ring.disable(old_version).unwrap();
                // The cache must not hide the revocation of the old wrapping...
                assert!(ring.open(1, &wrapped, b"dek:1").is_err());
                // ...and the re-wrapped key still opens the untouched ciphertext.
                let key = ring.open(1, &rewrapped, b"dek:1").unwrap();
                assert_eq!(&key.open(1, &aad, &sealed).unwrap()[..], b"canary");
            }

            #[test]
            fn debug_shows_no_key_material() {
                let Some(f) = fixture() else { return };
                let dek = DataKey::generate().unwrap();
                let shown = format!("{dek:?} {:?}", Keyring::new(f.provider.clone(), Duration::from_secs(1)));
                let hex: String = dek.expose_raw().iter().map(|b| format!("{b:02x}")).collect();
                assert!(!shown.contains(&hex));
            }
        }
    };
}

provider_suite!(local_file_provider, local_file());

// The PKCS#11 (SoftHSM2) and AWS KMS (moto) fixtures are added below by their modules.

/// A label/alias prefix no other test (or earlier run on the same peer) uses.
fn unique_prefix() -> String {
    format!("phigate-test-{:016x}", rand::random::<u64>())
}

/// Reads a peer setting, or explains how to get it.
fn peer_env(var: &str, peer: &str) -> Result<String, String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Ok(v),
        _ => Err(format!("{var} is not set; `scripts/test` starts {peer} and sets it")),
    }
}

fn pkcs11_config() -> Result<phigate_keys::provider::pkcs11::Pkcs11Config, String> {
    use phigate_keys::provider::pkcs11::{Pkcs11Config, Pkcs11Pin};
    let peer = "SoftHSM2";
    Ok(Pkcs11Config {
        module: peer_env("PHIGATE_TEST_PKCS11_MODULE", peer)?.into(),
        token_label: peer_env("PHIGATE_TEST_PKCS11_TOKEN", peer)?,
        user_pin: Pkcs11Pin::new(peer_env("PHIGATE_TEST_PKCS11_PIN", peer)?),
        key_label_prefix: unique_prefix(),
    })
}

fn pkcs11() -> Option<Fixture> {
    use phigate_keys::provider::pkcs11::Pkcs11Provider;
    let config = match pkcs11_config() {
        Ok(c) => c,
        Err(reason) => return peer_missing(&reason),
    };
    let provider = Pkcs11Provider::open_or_create(config).unwrap();
    Some(Fixture { provider: Arc::new(provider), _guard: Box::new(()) })
}

provider_suite!(pkcs11_provider, pkcs11());

#[test]
fn pkcs11_provider_debug_hides_the_pin() {
    use phigate_keys::provider::pkcs11::Pkcs11Provider;
    let config = match pkcs11_config() {
        Ok(c) => c,
        Err(reason) => {
            peer_missing(&reason);
            return;
        }
    };
    let pin = std::env::var("PHIGATE_TEST_PKCS11_PIN").unwrap();
    let provider = Pkcs11Provider::open_or_create(config).unwrap();
    let shown = format!("{provider:?}");
    assert!(!shown.contains(&pin), "{shown}");
    assert!(shown.contains("phigate-test-"), "{shown}");
}

/// moto accepts any credentials; these are AWS's documented example ones.
const KMS_TEST_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn aws_kms_config() -> Result<phigate_keys::provider::aws_kms::AwsKmsConfig, String> {
    use phigate_keys::provider::aws_kms::{AwsKmsConfig, AwsSecretAccessKey};
    let endpoint = peer_env("PHIGATE_TEST_KMS_ENDPOINT", "a KMS-compatible server (moto)")?;
    Ok(AwsKmsConfig::new(
        endpoint,
        "us-east-1",
        "AKIDEXAMPLE",
        AwsSecretAccessKey::new(KMS_TEST_SECRET),
        unique_prefix(),
    ))
}

fn aws_kms() -> Option<Fixture> {
    use phigate_keys::provider::aws_kms::AwsKmsProvider;
    let config = match aws_kms_config() {
        Ok(c) => c,
        Err(reason) => return peer_missing(&reason),
    };
    let provider = AwsKmsProvider::open_or_create(config).unwrap();
    Some(Fixture { provider: Arc::new(provider), _guard: Box::new(()) })
}

provider_suite!(aws_kms_provider, aws_kms());

#[test]
fn aws_kms_provider_debug_hides_the_secret() {
    use phigate_keys::provider::aws_kms::AwsKmsProvider;
    let config = match aws_kms_config() {
        Ok(c) => c,
        Err(reason) => {
            peer_missing(&reason);
            return;
        }
    };
    let provider = AwsKmsProvider::open_or_create(config).unwrap();
    let shown = format!("{provider:?}");
    assert!(!shown.contains(KMS_TEST_SECRET), "{shown}");
    assert!(shown.contains("phigate-test-"), "{shown}");
}

/// The HSM and KMS providers report a failed authentication as
/// [`Error::Tampered`], not as a provider outage, so operators can tell a
/// moved or altered row from a broken HSM or network.
fn assert_tampering_is_reported_as_tampered(f: Fixture) {
    let (_, w) = f.provider.generate_dek(b"subject:1").unwrap();
    let mut bad = w.clone();
    let last = bad.bytes.len() - 1;
    bad.bytes[last] ^= 0x01;
    let err = f.provider.unwrap(&bad, b"subject:1").expect_err("flipped tag accepted");
    assert!(matches!(err, Error::Tampered), "{err}");
    let err = f.provider.unwrap(&w, b"subject:2").expect_err("other context accepted");
    assert!(matches!(err, Error::Tampered), "{err}");
}

#[test]
fn pkcs11_tampering_is_reported_as_tampered() {
    if let Some(f) = pkcs11() {
        assert_tampering_is_reported_as_tampered(f);
    }
}

#[test]
fn aws_kms_tampering_is_reported_as_tampered() {
    if let Some(f) = aws_kms() {
        assert_tampering_is_reported_as_tampered(f);
    }
}
