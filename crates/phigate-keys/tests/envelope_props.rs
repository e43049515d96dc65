//! Property tests of the envelope: round trips, and every tampering is a typed error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use phigate_keys::{Aad, DataKey, Error};
use proptest::prelude::*;

fn aad<'a>(kind: &'a str, id: &'a str, field: &'a str) -> Aad<'a> {
    Aad { kind, id, field }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn seal_open_round_trips(body in proptest::collection::vec(any::<u8>(), 0..4096), id in "[a-z0-9/]{1,20}", dek_id in any::<u64>()) {
        let key = DataKey::generate().unwrap();
        let a = aad("patient", &id, "body");
        let sealed = key.seal(dek_id, &a, &body).unwrap();
        prop_assert_eq!(&key.open(dek_id, &a, &sealed).unwrap()[..], &body[..]);
    }

    #[test]
    fn any_flipped_byte_is_a_typed_error(body in proptest::collection::vec(any::<u8>(), 0..512), pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let key = DataKey::generate().unwrap();
        let a = aad("patient", "1", "body");
        let mut sealed = key.seal(1, &a, &body).unwrap();
        let i = pos.index(sealed.len());
        sealed[i] ^= 1 << bit;
        let err = key.open(1, &a, &sealed).unwrap_err();
        prop_assert!(matches!(err, Error::Tampered | Error::Malformed(_)), "{err}");
    }

    #[test]
    fn wrong_key_is_a_typed_error(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let a = aad("patient", "1", "body");
        let sealed = DataKey::generate().unwrap().seal(1, &a, &body).unwrap();
        let err = DataKey::generate().unwrap().open(1, &a, &sealed).unwrap_err();
        prop_assert!(matches!(err, Error::Tampered));
    }

    #[test]
    fn moved_to_another_record_is_a_typed_error(body in proptest::collection::vec(any::<u8>(), 0..512), from in 0u32..1000, to in 0u32..1000, kind in prop::sample::select(vec!["patient", "note"]), other_kind in prop::sample::select(vec!["patient", "note"])) {
        prop_assume!(from != to || kind != other_kind);
        let key = DataKey::generate().unwrap();
        let (from, to) = (from.to_string(), to.to_string());
        let sealed = key.seal(1, &aad(kind, &from, "body"), &body).unwrap();
        let err = key.open(1, &aad(other_kind, &to, "body"), &sealed).unwrap_err();
        prop_assert!(matches!(err, Error::Tampered));
    }

    #[test]
    fn truncated_or_extended_is_a_typed_error(body in proptest::collection::vec(any::<u8>(), 1..256), cut in 1usize..40, extra in proptest::collection::vec(any::<u8>(), 1..8)) {
        let key = DataKey::generate().unwrap();
        let a = aad("patient", "1", "body");
        let sealed = key.seal(1, &a, &body).unwrap();
        let short = &sealed[..sealed.len().saturating_sub(cut)];
        prop_assert!(key.open(1, &a, short).is_err());
        let mut long = sealed.clone();
        long.extend_from_slice(&extra);
        prop_assert!(key.open(1, &a, &long).is_err());
    }
}
