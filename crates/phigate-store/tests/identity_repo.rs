//! The identity repository suite: the same checks against `MemoryRepository`
//! (the reference), `SqliteStore` and `PgStore`; the identity crate's real
//! flows (local sign-in with TOTP, sessions, service keys) on each; and
//! SQLite-specific checks on the raw files (restart, canaries).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::any::Any;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use phigate_identity::local::{HashingCost, LocalAuthenticator, LocalConfig, LoginStep, TotpSecret, totp};
use phigate_identity::service::{ServiceAccounts, ServiceKeyConfig};
use phigate_identity::session::{SessionConfig, SessionManager};
use phigate_identity::{
    AesGcmSealer, AuthMethod, BreakGlassMark, Clock, Error, IdentityRepository, LockoutKey, LockoutState, ManualClock,
    MemoryRepository, Password, PasswordHash, Principal, PrincipalKind, Role, SealedSecret, ServiceAccount,
    ServiceKeyRecord, SessionRecord, UserRecord,
};
use phigate_keys::Keyring;
use phigate_keys::provider::local_file::LocalFileProvider;
use phigate_store::SqliteStore;
use time::OffsetDateTime;

const T0: i64 = 1_800_000_000;

/// `T0 + secs`, with a sub-microsecond part so a lossy time encoding shows.
fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(T0 + secs) * 1_000_000_000 + 123_456_789).unwrap()
}

fn roles(names: &[&str]) -> Vec<Role> {
    names.iter().map(|n| Role::new(*n)).collect()
}

fn user(id: &str, username: &str) -> UserRecord {
    UserRecord {
        id: id.into(),
        username: username.into(),
        display_name: format!("Dr {username} Ünïcode"),
        password_hash: PasswordHash(format!("$argon2id$v=19$m=64,t=1,p=1$c2FsdA${id}")),
        roles: roles(&["clinician", "researcher"]),
        totp: Some(SealedSecret(vec![0, 1, 2, 255, 254, 0, 7])),
        totp_confirmed: false,
        totp_last_step: Some(60_000_000),
        disabled: false,
    }
}

fn principal(subject: &str) -> Principal {
    Principal {
        subject: subject.into(),
        display_name: "Dr Smith".into(),
        kind: PrincipalKind::User,
        roles: roles(&["clinician"]),
        auth_method: AuthMethod::LocalTotp,
        session_ref: Some("0011223344556677".into()),
        break_glass: Some(BreakGlassMark { event_id: "bg-1".into(), expires_at: at(600) }),
    }
}

fn session(id: u8, subject: &str) -> SessionRecord {
    SessionRecord {
        id_hash: [id; 32],
        csrf_hash: [id ^ 0xff; 32],
        principal: principal(subject),
        created_at: at(0),
        last_seen: at(1),
    }
}

fn account(name: &str, disabled: bool) -> ServiceAccount {
    ServiceAccount { id: format!("service:{name}"), name: name.into(), roles: roles(&["service"]), disabled }
}

fn key(key_id: &str, account_id: &str, created: i64) -> ServiceKeyRecord {
    ServiceKeyRecord {
        key_id: key_id.into(),
        account_id: account_id.into(),
        secret_hash: [key_id.len() as u8; 32],
        created_at: at(created),
        expires_at: at(created + 30 * 86_400),
        revoked_at: None,
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The behaviour every `IdentityRepository` must have (what `MemoryRepository` does).
mod conformance {
    use super::*;

    pub fn users(repo: &Arc<dyn IdentityRepository>) {
        assert!(repo.users().unwrap().is_empty());
        let alice = user("local:a", "alice");
        let mut bob = user("local:b", "bob");
        bob.totp = None;
        bob.totp_last_step = None;
        bob.roles = vec![];
        repo.insert_user(&alice).unwrap();
        repo.insert_user(&bob).unwrap();
        assert_eq!(repo.user_by_username("alice").unwrap(), Some(alice.clone()));
        assert_eq!(repo.user_by_username("bob").unwrap(), Some(bob.clone()));
        assert_eq!(repo.user_by_username("nobody").unwrap(), None);
        assert_eq!(repo.users().unwrap(), vec![alice.clone(), bob.clone()], "insertion order");

        // Id and username are each unique.
        assert!(matches!(repo.insert_user(&user("local:a", "carol")), Err(Error::AlreadyExists("user"))));
        assert!(matches!(repo.insert_user(&user("local:c", "alice")), Err(Error::AlreadyExists("user"))));
        assert_eq!(repo.users().unwrap().len(), 2, "a refused insert leaves nothing behind");

        // Update replaces every field but the id.
        let mut changed = alice.clone();
        changed.display_name = "Alice Changed".into();
        changed.password_hash = PasswordHash("$argon2id$v=19$m=64,t=1,p=1$bmV3$new".into());
        changed.roles = roles(&["administrator"]);
        changed.totp = None;
        changed.totp_confirmed = true;
        changed.totp_last_step = Some(60_000_001);
        changed.disabled = true;
        repo.update_user(&changed).unwrap();
        assert_eq!(repo.user_by_username("alice").unwrap(), Some(changed.clone()));
        assert_eq!(repo.users().unwrap(), vec![changed, bob]);
        assert!(matches!(repo.update_user(&user("local:zzz", "zed")), Err(Error::NotFound("user"))));
        assert_eq!(repo.user_by_username("zed").unwrap(), None);
    }

    pub fn lockouts(repo: &Arc<dyn IdentityRepository>) {
        let account = LockoutKey::Account("10.0.0.1".into());
        let v4 = LockoutKey::Source(ip("10.0.0.1"));
        let v6 = LockoutKey::Source(ip("2001:db8:1:2::"));
        for k in [&account, &v4, &v6] {
            assert_eq!(repo.lockout(k).unwrap(), None);
        }
        let counting = LockoutState { failures: 3, last_failure: at(5), locked_until: None };
        let locked = LockoutState { failures: 20, last_failure: at(6), locked_until: Some(at(36)) };
        repo.set_lockout(&account, Some(&counting)).unwrap();
        repo.set_lockout(&v4, Some(&locked)).unwrap();
        assert_eq!(
            repo.lockout(&account).unwrap(),
            Some(counting.clone()),
            "an account and an address never share a counter"
        );
        assert_eq!(repo.lockout(&v4).unwrap(), Some(locked.clone()));
        assert_eq!(repo.lockout(&v6).unwrap(), None);
        // Set again replaces.
        let more = LockoutState { failures: 5, last_failure: at(9), locked_until: Some(at(39)) };
        repo.set_lockout(&account, Some(&more)).unwrap();
        assert_eq!(repo.lockout(&account).unwrap(), Some(more));
        // Clear removes only that key; clearing an absent key is fine.
        repo.set_lockout(&account, None).unwrap();
        repo.set_lockout(&account, None).unwrap();
        repo.set_lockout(&v6, None).unwrap();
        assert_eq!(repo.lockout(&account).unwrap(), None);
        assert_eq!(repo.lockout(&v4).unwrap(), Some(locked));
    }

    pub fn sessions(repo: &Arc<dyn IdentityRepository>) {
        let (s1, s2, s3) = (session(1, "local:a"), session(2, "local:a"), session(3, "oidc:idp#b"));
        for s in [&s1, &s2, &s3] {
            repo.insert_session(s).unwrap();
        }
        assert_eq!(repo.session(&s1.id_hash).unwrap(), Some(s1.clone()));
        assert_eq!(repo.session(&[9; 32]).unwrap(), None);
        // Touch moves last_seen only; touching an unknown session creates nothing.
        repo.touch_session(&s1.id_hash, at(300)).unwrap();
        let touched = repo.session(&s1.id_hash).unwrap().unwrap();
        assert_eq!(touched.last_seen, at(300));
        assert_eq!(touched, SessionRecord { last_seen: at(300), ..s1.clone() });
        repo.touch_session(&[9; 32], at(300)).unwrap();
        assert_eq!(repo.session(&[9; 32]).unwrap(), None);
        // Delete is idempotent.
        repo.delete_session(&s2.id_hash).unwrap();
        repo.delete_session(&s2.id_hash).unwrap();
        assert_eq!(repo.session(&s2.id_hash).unwrap(), None);
        // Delete-all-of counts exactly.
        repo.insert_session(&session(4, "local:a")).unwrap();
        assert_eq!(repo.delete_sessions_of("local:a").unwrap(), 2);
        assert_eq!(repo.delete_sessions_of("local:a").unwrap(), 0);
        assert_eq!(repo.delete_sessions_of("local:nobody").unwrap(), 0);
        assert_eq!(repo.session(&s1.id_hash).unwrap(), None);
        assert_eq!(repo.session(&s3.id_hash).unwrap(), Some(s3.clone()), "other subjects keep their sessions");
        assert_eq!(repo.delete_sessions_of("oidc:idp#b").unwrap(), 1);
    }

    pub fn service_accounts_and_keys(repo: &Arc<dyn IdentityRepository>) {
        let (ingest, off) = (account("ingest", false), account("off", true));
        assert_eq!(repo.service_account(&ingest.id).unwrap(), None);
        repo.insert_service_account(&ingest).unwrap();
        repo.insert_service_account(&off).unwrap();
        assert!(matches!(
            repo.insert_service_account(&account("ingest", true)),
            Err(Error::AlreadyExists("service account"))
        ));
        assert_eq!(repo.service_account(&ingest.id).unwrap(), Some(ingest.clone()));
        assert_eq!(repo.service_account(&off.id).unwrap(), Some(off.clone()));

        let (k1, k2, k3) = (key("k1", &ingest.id, 0), key("k2", &ingest.id, 10), key("k3", &off.id, 5));
        for k in [&k1, &k2, &k3] {
            repo.insert_service_key(k).unwrap();
        }
        assert!(matches!(
            repo.insert_service_key(&key("k1", &ingest.id, 20)),
            Err(Error::AlreadyExists("service key"))
        ));
        assert_eq!(repo.service_key("k1").unwrap(), Some(k1.clone()));
        assert_eq!(repo.service_key("nope").unwrap(), None);
        assert_eq!(repo.service_keys(&ingest.id).unwrap(), vec![k1.clone(), k2.clone()], "oldest first");
        assert_eq!(repo.service_keys(&off.id).unwrap(), vec![k3.clone()]);
        assert!(repo.service_keys("service:none").unwrap().is_empty());

        // Revocation and a shortened expiry are visible on the next read.
        let revoked = ServiceKeyRecord { revoked_at: Some(at(50)), ..k1.clone() };
        repo.update_service_key(&revoked).unwrap();
        assert_eq!(repo.service_key("k1").unwrap(), Some(revoked.clone()));
        let shortened = ServiceKeyRecord { expires_at: at(3600), ..k2.clone() };
        repo.update_service_key(&shortened).unwrap();
        assert_eq!(repo.service_keys(&ingest.id).unwrap(), vec![revoked, shortened]);
        assert!(matches!(repo.update_service_key(&key("nope", &ingest.id, 0)), Err(Error::NotFound("service key"))));
        assert_eq!(repo.service_key("nope").unwrap(), None);
    }

    /// The identity crate's own flows, end to end over `repo`.
    pub fn flows(repo: &Arc<dyn IdentityRepository>) {
        let clock = ManualClock::at_unix(T0);
        let auth = authenticator(repo.clone(), &clock, &[7; 32]);
        let pw = Password::new("correct horse battery");
        let created = auth.create_user("Dr.Smith", "Dr Smith", &pw, roles(&["clinician"])).unwrap();
        assert_eq!(created.username, "dr.smith");
        // Usernames are unique case-insensitively.
        let dup = auth.create_user("DR.SMITH", "Other", &Password::new("another long password"), vec![]);
        assert!(matches!(dup, Err(Error::AlreadyExists(_))), "{dup:?}");

        // First sign-in enrolls TOTP; the first code completes it.
        let secret = enroll(&auth, &clock, "DR.SMITH", &pw);
        let stored = repo.user_by_username("dr.smith").unwrap().unwrap();
        assert!(stored.totp_confirmed);
        assert!(!contains(&stored.totp.as_ref().unwrap().0, secret.expose()), "TOTP secret stored sealed");
        // Second sign-in needs a code; the same code cannot be replayed (last step persisted).
        clock.advance(time::Duration::seconds(60));
        let code = totp::code_at(&secret, unix(&clock), 6);
        let challenge = totp_challenge(&auth, "dr.smith", &pw);
        let p = auth.complete_totp(&challenge, &code, ip("10.0.0.1")).unwrap();
        assert_eq!((p.subject.as_str(), p.display_name.as_str()), (created.id.as_str(), "Dr Smith"));
        let challenge = totp_challenge(&auth, "dr.smith", &pw);
        assert!(matches!(auth.complete_totp(&challenge, &code, ip("10.0.0.1")), Err(Error::TotpReplay)));

        // Lockout: the replayed code was failure 1; four wrong passwords make five, and then
        // even the right one waits. A complete sign-in clears the account counter.
        let account_key = LockoutKey::Account("dr.smith".into());
        assert_eq!(repo.lockout(&account_key).unwrap().unwrap().failures, 1);
        let wrong = Password::new("wrong horse battery");
        for _ in 0..4 {
            assert!(matches!(auth.login("dr.smith", &wrong, ip("10.0.0.2")), Err(Error::InvalidCredentials)));
        }
        assert!(matches!(auth.login("dr.smith", &pw, ip("10.0.0.3")), Err(Error::LockedOut { retry_after_secs: 30 })));
        assert_eq!(repo.lockout(&account_key).unwrap().unwrap().failures, 5);
        clock.advance(time::Duration::seconds(120));
        let challenge = totp_challenge(&auth, "dr.smith", &pw);
        auth.complete_totp(&challenge, &totp::code_at(&secret, unix(&clock), 6), ip("10.0.0.3")).unwrap();
        assert_eq!(repo.lockout(&account_key).unwrap(), None);
        assert!(repo.lockout(&LockoutKey::Source(ip("10.0.0.2"))).unwrap().is_some(), "address counter only decays");

        // Sessions: login, authenticate (touch), logout; a password change ends every session.
        let sessions = SessionManager::new(repo.clone(), Arc::new(clock.clone()), SessionConfig::default()).unwrap();
        let s = sessions.login(p.clone(), None).unwrap();
        clock.advance(time::Duration::minutes(10));
        assert_eq!(sessions.authenticate(&s.token).unwrap().principal.subject, created.id);
        clock.advance(time::Duration::minutes(10));
        assert!(sessions.authenticate(&s.token).is_ok(), "activity was recorded, so not idle");
        sessions.logout(&s.token).unwrap();
        assert!(matches!(sessions.authenticate(&s.token), Err(Error::SessionUnknown)));
        let (a, b) = (sessions.login(p.clone(), None).unwrap(), sessions.login(p.clone(), None).unwrap());
        assert_eq!(auth.set_password("dr.smith", &Password::new("a brand new passphrase")).unwrap(), 2);
        assert!(matches!(sessions.authenticate(&a.token), Err(Error::SessionUnknown)));
        assert!(matches!(sessions.authenticate(&b.token), Err(Error::SessionUnknown)));
        let idle = sessions.login(p, None).unwrap();
        clock.advance(time::Duration::minutes(16));
        assert!(matches!(sessions.authenticate(&idle.token), Err(Error::SessionIdle)));

        // Service keys: issue, authenticate, rotate with grace, revoke -> refused on the next request.
        let services = ServiceAccounts::new(repo.clone(), Arc::new(clock.clone()), ServiceKeyConfig::default());
        services.create_account("ingest", roles(&["service"])).unwrap();
        assert!(matches!(services.create_account("ingest", vec![]), Err(Error::AlreadyExists(_))));
        assert!(matches!(services.issue("service:missing"), Err(Error::NotFound(_))));
        let old = services.issue("service:ingest").unwrap();
        assert_eq!(services.authenticate(old.key.expose()).unwrap().subject, "service:ingest");
        let new = services.rotate("service:ingest", Some(Duration::from_secs(3600))).unwrap();
        let keys = services.keys("service:ingest").unwrap();
        assert_eq!(
            keys.iter().map(|k| k.key_id.as_str()).collect::<Vec<_>>(),
            [old.key_id.as_str(), new.key_id.as_str()]
        );
        assert_eq!(keys[0].expires_at, clock.now() + time::Duration::hours(1), "grace applied to the old key");
        services.revoke(&old.key_id).unwrap();
        assert!(matches!(services.authenticate(old.key.expose()), Err(Error::CredentialRevoked)));
        assert!(services.authenticate(new.key.expose()).is_ok());
    }

    /// What the SQL backends add over the reference (see the `identity` module docs).
    pub fn sql_is_stricter(repo: &Arc<dyn IdentityRepository>) {
        let alice = user("local:a", "alice");
        repo.insert_user(&alice).unwrap();
        assert!(matches!(repo.insert_user(&user("local:b", "ALICE")), Err(Error::AlreadyExists("user"))));
        assert_eq!(repo.user_by_username("Alice").unwrap(), Some(alice));
        repo.insert_session(&session(1, "local:a")).unwrap();
        assert!(matches!(repo.insert_session(&session(1, "local:x")), Err(Error::AlreadyExists("session"))));
        assert_eq!(repo.session(&[1; 32]).unwrap().unwrap().principal.subject, "local:a", "never replaced");
        let orphan = key("k9", "service:none", 0);
        assert!(matches!(repo.insert_service_key(&orphan), Err(Error::NotFound("service account"))));
    }
}

fn authenticator(repo: Arc<dyn IdentityRepository>, clock: &ManualClock, seal_key: &[u8; 32]) -> LocalAuthenticator {
    let config = LocalConfig { hashing: HashingCost::insecure_for_tests(), ..LocalConfig::default() };
    LocalAuthenticator::new(repo, Arc::new(AesGcmSealer::new(seal_key)), Arc::new(clock.clone()), config)
}

fn unix(clock: &ManualClock) -> u64 {
    clock.now().unix_timestamp() as u64
}

/// First sign-in: returns the enrolled secret after completing it with a computed code.
fn enroll(auth: &LocalAuthenticator, clock: &ManualClock, username: &str, pw: &Password) -> TotpSecret {
    let step = auth.login(username, pw, ip("10.0.0.1")).unwrap();
    let LoginStep::EnrollTotp { challenge, enrollment } = step else { panic!("first sign-in must enroll TOTP") };
    let code = totp::code_at(&enrollment.secret, unix(clock), 6);
    let p = auth.complete_totp(&challenge, &code, ip("10.0.0.1")).unwrap();
    assert_eq!(p.auth_method, AuthMethod::LocalTotp);
    enrollment.secret.clone()
}

fn totp_challenge(auth: &LocalAuthenticator, username: &str, pw: &Password) -> phigate_identity::MfaChallenge {
    match auth.login(username, pw, ip("10.0.0.1")).unwrap() {
        LoginStep::TotpRequired { challenge } => challenge,
        other => panic!("expected a TOTP prompt, got {other:?}"),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn file_contains(path: &Path, needle: &[u8]) -> bool {
    std::fs::read(path).is_ok_and(|bytes| contains(&bytes, needle))
}

/// A repository under test and whatever must outlive it (temp dir, PostgreSQL schema).
struct Backend {
    repo: Arc<dyn IdentityRepository>,
    keep: Box<dyn Any>,
}

fn memory() -> Option<Backend> {
    Some(Backend { repo: Arc::new(MemoryRepository::new()), keep: Box::new(()) })
}

struct SqliteEnv {
    dir: tempfile::TempDir,
    provider: Arc<LocalFileProvider>,
}

impl SqliteEnv {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let provider = Arc::new(LocalFileProvider::open_or_create(&dir.path().join("keys/kek.json")).unwrap());
        Self { dir, provider }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("phigate.db")
    }

    fn open(&self) -> Arc<SqliteStore> {
        let keyring = Arc::new(Keyring::new(self.provider.clone(), Duration::from_secs(300)));
        Arc::new(SqliteStore::open(&self.db(), keyring).unwrap())
    }
}

fn sqlite() -> Option<Backend> {
    let env = SqliteEnv::new();
    Some(Backend { repo: env.open(), keep: Box::new(env) })
}

/// Runs the named `conformance` checks against one backend; `$make` gives `None` to skip.
macro_rules! conformance_suite {
    ($backend:ident, $make:expr, [$($check:ident),* $(,)?]) => {
        mod $backend {
            use super::*;

            $(
                #[test]
                fn $check() {
                    let Some(b) = $make else { return };
                    conformance::$check(&b.repo);
                }
            )*
        }
    };
}

conformance_suite!(memory_reference, memory(), [users, lockouts, sessions, service_accounts_and_keys, flows]);
conformance_suite!(
    sqlite_store,
    sqlite(),
    [users, lockouts, sessions, service_accounts_and_keys, flows, sql_is_stricter]
);
conformance_suite!(
    postgres_store,
    postgres_backend::pg().map(|(b, _)| b),
    [users, lockouts, sessions, service_accounts_and_keys, flows, sql_is_stricter]
);

#[test]
fn sqlite_a_version_2_database_is_upgraded() {
    let env = SqliteEnv::new();
    drop(env.open());
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    conn.execute_batch(
        "DROP TABLE users; DROP TABLE lockouts; DROP TABLE sessions; DROP TABLE service_keys;
         DROP TABLE service_accounts; DELETE FROM schema_migrations WHERE version = 3;",
    )
    .unwrap();
    drop(conn);
    let store = env.open();
    assert_eq!(store.schema_version().unwrap(), 3);
    let repo: Arc<dyn IdentityRepository> = store;
    conformance::users(&repo);
}

#[test]
fn sqlite_everything_survives_a_restart() {
    let env = SqliteEnv::new();
    let store = env.open();
    let repo: Arc<dyn IdentityRepository> = store.clone();
    let clock = ManualClock::at_unix(T0);
    let pw = Password::new("correct horse battery");
    let auth = authenticator(repo.clone(), &clock, &[7; 32]);
    auth.create_user("dr.smith", "Dr Smith", &pw, roles(&["clinician"])).unwrap();
    let secret = enroll(&auth, &clock, "dr.smith", &pw);
    repo.insert_user(&user("local:b", "bob")).unwrap();
    let lock = LockoutState { failures: 7, last_failure: at(3), locked_until: Some(at(90)) };
    repo.set_lockout(&LockoutKey::Source(ip("192.0.2.7")), Some(&lock)).unwrap();
    repo.insert_session(&session(5, "local:b")).unwrap();
    repo.insert_service_account(&account("ingest", false)).unwrap();
    repo.insert_service_key(&ServiceKeyRecord { revoked_at: Some(at(4)), ..key("k1", "service:ingest", 0) }).unwrap();
    let before = (repo.users().unwrap(), repo.service_keys("service:ingest").unwrap());
    drop((auth, repo, store));

    let store = env.open();
    assert_eq!(store.schema_version().unwrap(), 3);
    let repo: Arc<dyn IdentityRepository> = store;
    assert_eq!((repo.users().unwrap(), repo.service_keys("service:ingest").unwrap()), before);
    assert_eq!(repo.lockout(&LockoutKey::Source(ip("192.0.2.7"))).unwrap(), Some(lock));
    assert_eq!(repo.session(&[5; 32]).unwrap(), Some(session(5, "local:b")));
    assert_eq!(repo.service_account("service:ingest").unwrap(), Some(account("ingest", false)));
    // The sealed TOTP secret and the replay guard came back too: sign in with the next code.
    clock.advance(time::Duration::seconds(60));
    let auth = authenticator(repo, &clock, &[7; 32]);
    let challenge = totp_challenge(&auth, "dr.smith", &pw);
    assert!(auth.complete_totp(&challenge, &totp::code_at(&secret, unix(&clock), 6), ip("10.0.0.1")).is_ok());
}

#[test]
fn sqlite_files_hold_no_password_totp_secret_session_id_or_api_key() {
    let env = SqliteEnv::new();
    let store = env.open();
    let repo: Arc<dyn IdentityRepository> = store.clone();
    let clock = ManualClock::at_unix(T0);
    let display = "Quixotic Canary-Display 7731";
    let password = "Zebulon-Canary-Passphrase-99!";
    let auth = authenticator(repo.clone(), &clock, &[9; 32]);
    auth.create_user("canary.user", display, &Password::new(password), roles(&["clinician"])).unwrap();
    let secret = enroll(&auth, &clock, "canary.user", &Password::new(password));
    let stored = repo.user_by_username("canary.user").unwrap().unwrap();
    let p = Principal { session_ref: None, ..principal(&stored.id) };
    let sessions = SessionManager::new(repo.clone(), Arc::new(clock.clone()), SessionConfig::default()).unwrap();
    let issued = sessions.login(p, None).unwrap();
    let services = ServiceAccounts::new(repo.clone(), Arc::new(clock.clone()), ServiceKeyConfig::default());
    services.create_account("ingest", vec![]).unwrap();
    let api_key = services.issue("service:ingest").unwrap();

    let (db, wal) = (env.db(), PathBuf::from(format!("{}-wal", env.db().display())));
    assert!(wal.exists(), "the WAL must exist while the store is open, or this test proves nothing");
    let files = [db.clone(), wal];
    let found = |needle: &[u8]| files.iter().any(|f| file_contains(f, needle));
    // The grep sees the data: the display name (staff, stored in clear) and the stored forms are there.
    assert!(found(display.as_bytes()), "canary display name not found: the grep proves nothing");
    assert!(stored.password_hash.0.starts_with("$argon2id$"));
    assert!(found(stored.password_hash.0.as_bytes()), "only the Argon2id hash is stored");
    assert!(found(&stored.totp.as_ref().unwrap().0), "the sealed TOTP secret is stored");
    assert!(found(&sha256(issued.token.expose().as_bytes())), "the session id hash is the key");
    // Never any usable secret.
    let secrets: [(&str, Vec<u8>); 7] = [
        ("password", password.as_bytes().to_vec()),
        ("password (lower case)", password.to_lowercase().into_bytes()),
        ("TOTP secret", secret.expose().to_vec()),
        ("TOTP secret (base32)", secret.to_base32().into_bytes()),
        ("session id", issued.token.expose().as_bytes().to_vec()),
        ("CSRF token", issued.csrf.expose().as_bytes().to_vec()),
        ("API key", api_key.key.expose().as_bytes().to_vec()),
    ];
    for (what, bytes) in &secrets {
        assert!(!found(bytes), "{what} found in the database or its WAL");
    }
    // After a clean close the WAL is folded into the database file: still nothing.
    drop((auth, sessions, services, repo, store));
    for (what, bytes) in &secrets {
        assert!(!file_contains(&db, bytes), "{what} found in the database after checkpoint");
    }
}

fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(data).into()
}

#[test]
fn sqlite_storage_failures_are_typed_and_name_no_values() {
    let env = SqliteEnv::new();
    let store = env.open();
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    conn.execute_batch("DROP TABLE sessions;").unwrap();
    drop(conn);
    let err = store.session(&[0xab; 32]).unwrap_err();
    assert!(matches!(&err, Error::Storage(m) if m.contains("sessions")), "{err}");
    let err = store.delete_sessions_of("local:canary-subject-value").unwrap_err().to_string();
    assert!(!err.contains("canary-subject-value"), "{err}");
}

/// PostgreSQL from `PHIGATE_TEST_POSTGRES_URL` (set by `scripts/test`); each
/// test gets its own schema, dropped afterwards.
mod postgres_backend {
    use phigate_store::PgStore;

    use super::*;

    pub struct Schema {
        _dir: tempfile::TempDir,
        url: String,
        name: String,
        keyring: Arc<Keyring>,
    }

    impl Drop for Schema {
        fn drop(&mut self) {
            if let Ok(mut c) = postgres::Client::connect(&self.url, postgres::NoTls) {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
            }
        }
    }

    /// A fresh schema and a store on it, or `None` (skipped) without a server.
    pub fn pg() -> Option<(Backend, Arc<PgStore>)> {
        let Ok(url) = std::env::var("PHIGATE_TEST_POSTGRES_URL") else {
            assert!(
                std::env::var("PHIGATE_REQUIRE_PEERS").as_deref() != Ok("1"),
                "PHIGATE_TEST_POSTGRES_URL required by PHIGATE_REQUIRE_PEERS=1"
            );
            eprintln!("SKIPPED: PHIGATE_TEST_POSTGRES_URL not set (scripts/test sets it)");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let provider = Arc::new(LocalFileProvider::open_or_create(&dir.path().join("kek.json")).unwrap());
        let keyring = Arc::new(Keyring::new(provider, Duration::from_secs(300)));
        let name = format!("phigate_test_{}", hex::encode(rand::random::<[u8; 6]>()));
        let store = Arc::new(PgStore::connect(&url, &name, keyring.clone()).unwrap());
        let schema = Schema { _dir: dir, url, name, keyring };
        Some((Backend { repo: store.clone(), keep: Box::new(schema) }, store))
    }

    #[test]
    fn pg_a_second_instance_reads_what_the_first_wrote() {
        let Some((b, _)) = pg() else { return };
        let repo = &b.repo;
        repo.insert_user(&user("local:a", "alice")).unwrap();
        repo.insert_session(&session(1, "local:a")).unwrap();
        repo.insert_service_account(&account("ingest", false)).unwrap();
        repo.insert_service_key(&key("k1", "service:ingest", 0)).unwrap();
        let schema = b.keep.downcast_ref::<Schema>().unwrap();
        let second: Arc<dyn IdentityRepository> =
            Arc::new(PgStore::connect(&schema.url, &schema.name, schema.keyring.clone()).unwrap());
        assert_eq!(second.users().unwrap(), vec![user("local:a", "alice")]);
        assert_eq!(second.session(&[1; 32]).unwrap(), Some(session(1, "local:a")));
        assert_eq!(second.service_key("k1").unwrap(), Some(key("k1", "service:ingest", 0)));
        // A revocation by one instance is seen by the other on its next read.
        second
            .update_service_key(&ServiceKeyRecord { revoked_at: Some(at(9)), ..key("k1", "service:ingest", 0) })
            .unwrap();
        assert_eq!(repo.service_key("k1").unwrap().unwrap().revoked_at, Some(at(9)));
    }

    #[test]
    fn pg_errors_carry_no_detail_line() {
        let Some((b, store)) = pg() else { return };
        b.repo.insert_user(&user("local:a", "alice")).unwrap();
        let schema = b.keep.downcast_ref::<Schema>().unwrap();
        let mut c = postgres::Client::connect(&schema.url, postgres::NoTls).unwrap();
        // A constraint the repository does not map: its DETAIL would quote the value.
        c.batch_execute(&format!(
            "SET search_path TO {0}; ALTER TABLE users ADD CONSTRAINT no_canary CHECK (display_name NOT LIKE '%Canary%')",
            schema.name
        ))
        .unwrap();
        let mut canary = user("local:c", "canary.user");
        canary.display_name = "Zebulon Canary".into();
        let err = store.insert_user(&canary).unwrap_err().to_string();
        assert!(err.contains("23514"), "{err}");
        assert!(!err.contains("Zebulon") && !err.contains("canary.user"), "{err}");
    }
}
