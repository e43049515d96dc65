//! Service-account API keys: 30-day cap, expiry, overlapping rotation, revocation.

use std::sync::Arc;
use std::time::Duration;

use phigate_identity::service::{MAX_KEY_LIFETIME, ServiceAccounts, ServiceKeyConfig};
use phigate_identity::{AuthMethod, Error, ManualClock, MemoryRepository, PrincipalKind, Role};

fn setup(lifetime: Duration) -> (ServiceAccounts, ManualClock) {
    let repo = Arc::new(MemoryRepository::new());
    let clock = ManualClock::at_unix(1_800_000_000);
    let s = ServiceAccounts::new(repo, Arc::new(clock.clone()), ServiceKeyConfig::new(lifetime).unwrap());
    s.create_account("ingest", vec![Role::new("service")]).unwrap();
    (s, clock)
}

#[test]
fn lifetime_is_capped_at_30_days_and_only_configurable_downward() {
    assert_eq!(ServiceKeyConfig::default().lifetime(), MAX_KEY_LIFETIME);
    assert!(ServiceKeyConfig::new(Duration::from_secs(7 * 86400)).is_ok());
    assert!(ServiceKeyConfig::new(MAX_KEY_LIFETIME).is_ok());
    assert!(matches!(ServiceKeyConfig::new(MAX_KEY_LIFETIME + Duration::from_secs(1)), Err(Error::Config(_))));
    assert!(matches!(ServiceKeyConfig::new(Duration::ZERO), Err(Error::Config(_))));
}

#[test]
fn key_authenticates_until_it_expires() {
    let (s, clock) = setup(Duration::from_secs(7 * 86400));
    let issued = s.issue("service:ingest").unwrap();
    assert!(issued.key.expose().starts_with("phg_"));
    assert!(!format!("{issued:?}").contains(issued.key.expose()));
    let p = s.authenticate(issued.key.expose()).unwrap();
    assert_eq!(p.kind, PrincipalKind::Service);
    assert_eq!(p.auth_method, AuthMethod::ApiKey);
    assert!(p.has_role("service"));
    clock.advance(time::Duration::days(7) - time::Duration::seconds(1));
    assert!(s.authenticate(issued.key.expose()).is_ok());
    clock.advance(time::Duration::seconds(1));
    assert!(matches!(s.authenticate(issued.key.expose()), Err(Error::CredentialExpired)));
}

#[test]
fn only_the_hash_is_stored() {
    let (s, _) = setup(MAX_KEY_LIFETIME);
    let issued = s.issue("service:ingest").unwrap();
    let listed = format!("{:?}", s.keys("service:ingest").unwrap());
    let secret_part = issued.key.expose().rsplit('_').next().unwrap();
    assert!(!listed.contains(secret_part));
}

#[test]
fn rotation_overlaps_until_the_old_key_expires_or_is_revoked() {
    let (s, clock) = setup(MAX_KEY_LIFETIME);
    let old = s.issue("service:ingest").unwrap();
    clock.advance(time::Duration::days(25));
    let new = s.rotate("service:ingest", None).unwrap();
    // Both valid during the overlap.
    assert!(s.authenticate(old.key.expose()).is_ok());
    assert!(s.authenticate(new.key.expose()).is_ok());
    // The old one expires on its own schedule; the new one keeps working.
    clock.advance(time::Duration::days(5));
    assert!(matches!(s.authenticate(old.key.expose()), Err(Error::CredentialExpired)));
    assert!(s.authenticate(new.key.expose()).is_ok());
    // Rotation with a grace period shortens the previous key.
    let newer = s.rotate("service:ingest", Some(Duration::from_secs(3600))).unwrap();
    clock.advance(time::Duration::minutes(59));
    assert!(s.authenticate(new.key.expose()).is_ok());
    clock.advance(time::Duration::minutes(2));
    assert!(matches!(s.authenticate(new.key.expose()), Err(Error::CredentialExpired)));
    assert!(s.authenticate(newer.key.expose()).is_ok());
}

#[test]
fn revoked_key_is_refused_on_its_next_use() {
    let (s, _) = setup(MAX_KEY_LIFETIME);
    let a = s.issue("service:ingest").unwrap();
    let b = s.issue("service:ingest").unwrap();
    assert!(s.authenticate(a.key.expose()).is_ok());
    s.revoke(&a.key_id).unwrap();
    assert!(matches!(s.authenticate(a.key.expose()), Err(Error::CredentialRevoked)));
    assert!(s.authenticate(b.key.expose()).is_ok(), "revoking one key leaves the other");
}

#[test]
fn malformed_and_forged_keys_are_refused() {
    let (s, _) = setup(MAX_KEY_LIFETIME);
    let a = s.issue("service:ingest").unwrap();
    assert!(matches!(s.authenticate("Bearer nope"), Err(Error::CredentialMalformed)));
    let mut forged = a.key.expose().to_owned();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    assert!(matches!(s.authenticate(&forged), Err(Error::InvalidCredentials)));
    assert!(matches!(s.issue("service:missing"), Err(Error::NotFound(_))));
    assert!(matches!(s.create_account("ingest", vec![]), Err(Error::AlreadyExists(_))));
}
