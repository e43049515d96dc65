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
