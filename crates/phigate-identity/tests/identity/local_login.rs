//! Local accounts: password + mandatory TOTP, enrollment on first login, lockout with back-off.

use std::net::IpAddr;
use std::sync::Arc;

use phigate_identity::local::{HashingCost, LocalAuthenticator, LocalConfig, LoginStep, TotpSecret, totp};
use phigate_identity::{
    AesGcmSealer, AuthMethod, Error, IdentityRepository, ManualClock, MemoryRepository, MfaChallenge, Password, Role,
};

const T0: i64 = 1_800_000_000;

struct Env {
    auth: LocalAuthenticator,
    repo: Arc<MemoryRepository>,
    clock: ManualClock,
}

fn env() -> Env {
    let repo = Arc::new(MemoryRepository::new());
    let clock = ManualClock::at_unix(T0);
    let config = LocalConfig { hashing: HashingCost::insecure_for_tests(), ..LocalConfig::default() };
    let auth = LocalAuthenticator::new(
        repo.clone(),
        Arc::new(AesGcmSealer::random().unwrap()),
        Arc::new(clock.clone()),
        config,
    );
    auth.create_user("Dr.Smith", "Dr Smith", &Password::new("correct horse battery"), vec![Role::new("clinician")])
        .unwrap();
    Env { auth, repo, clock }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn now_unix(clock: &ManualClock) -> u64 {
    use phigate_identity::Clock as _;
    clock.now().unix_timestamp() as u64
}

/// Signs in for the first time and returns the enrolled secret.
fn enroll(e: &Env) -> TotpSecret {
    let step = e.auth.login("dr.smith", &Password::new("correct horse battery"), ip("10.0.0.1")).unwrap();
    let LoginStep::EnrollTotp { challenge, enrollment } = step else { panic!("first login must enroll TOTP") };
    assert!(enrollment.otpauth_uri.expose().starts_with("otpauth://totp/phigate:dr.smith?secret="));
    assert!(!format!("{enrollment:?}").contains(&enrollment.secret.to_base32()), "enrollment Debug leaks the secret");
    let code = totp::code_at(&enrollment.secret, now_unix(&e.clock), 6);
    let p = e.auth.complete_totp(&challenge, &code, ip("10.0.0.1")).unwrap();
    assert_eq!(p.auth_method, AuthMethod::LocalTotp);
    assert_eq!(p.display_name, "Dr Smith");
    assert!(p.has_role("clinician"));
    enrollment.secret.clone()
}

#[test]
fn first_login_enrolls_then_totp_is_required() {
    let e = env();
    let secret = enroll(&e);
    // Stored sealed, never in clear.
    let user = e.repo.user_by_username("dr.smith").unwrap().unwrap();
    assert!(user.totp_confirmed);
    let sealed = &user.totp.as_ref().unwrap().0;
    assert!(!sealed.windows(secret.expose().len()).any(|w| w == secret.expose()));
    assert!(!user.password_hash.0.contains("correct horse"));

    e.clock.advance(time::Duration::seconds(60));
    let step = e.auth.login("DR.SMITH", &Password::new("correct horse battery"), ip("10.0.0.1")).unwrap();
    let LoginStep::TotpRequired { challenge } = step else { panic!("enrolled user must get a TOTP prompt") };
    let code = totp::code_at(&secret, now_unix(&e.clock), 6);
    assert!(
        matches!(e.auth.complete_totp(&challenge, "000000", ip("10.0.0.1")), Err(Error::InvalidCredentials))
            || code == "000000"
    );
    let p = e.auth.complete_totp(&challenge, &code, ip("10.0.0.1")).unwrap();
    assert!(p.subject.starts_with("local:"));
    // The challenge is single-use, and the same code cannot be replayed in a new sign-in.
    assert!(matches!(e.auth.complete_totp(&challenge, &code, ip("10.0.0.1")), Err(Error::MfaChallengeInvalid)));
    let LoginStep::TotpRequired { challenge } =
        e.auth.login("dr.smith", &Password::new("correct horse battery"), ip("10.0.0.1")).unwrap()
    else {
        panic!()
    };
    assert!(matches!(e.auth.complete_totp(&challenge, &code, ip("10.0.0.1")), Err(Error::TotpReplay)));
}

#[test]
fn password_alone_never_yields_a_principal_and_challenges_expire() {
    let e = env();
    let LoginStep::EnrollTotp { challenge, enrollment } =
        e.auth.login("dr.smith", &Password::new("correct horse battery"), ip("10.0.0.1")).unwrap()
    else {
        panic!()
    };
    e.clock.advance(time::Duration::minutes(6));
    let code = totp::code_at(&enrollment.secret, now_unix(&e.clock), 6);
    assert!(matches!(e.auth.complete_totp(&challenge, &code, ip("10.0.0.1")), Err(Error::MfaChallengeInvalid)));
    assert!(matches!(
        e.auth.complete_totp(&MfaChallenge::new("made-up"), &code, ip("10.0.0.1")),
        Err(Error::MfaChallengeInvalid)
    ));
}

#[test]
fn unknown_user_and_wrong_password_look_the_same() {
    let e = env();
    let a = e.auth.login("nobody", &Password::new("correct horse battery"), ip("10.0.0.1")).unwrap_err();
    let b = e.auth.login("dr.smith", &Password::new("wrong horse battery"), ip("10.0.0.1")).unwrap_err();
    assert_eq!(a.to_string(), b.to_string());
    assert!(matches!(a, Error::InvalidCredentials));
}

#[test]
fn brute_force_locks_the_account_with_exponential_back_off() {
    let e = env();
    let wrong = Password::new("wrong horse battery");
    for _ in 0..4 {
        assert!(matches!(e.auth.login("dr.smith", &wrong, ip("10.0.0.2")), Err(Error::InvalidCredentials)));
    }
    // Fifth failure starts the back-off (30 s).
    assert!(matches!(e.auth.login("dr.smith", &wrong, ip("10.0.0.2")), Err(Error::InvalidCredentials)));
    let right = Password::new("correct horse battery");
    // Even the right password is refused while locked, from any address.
    match e.auth.login("dr.smith", &right, ip("10.9.9.9")) {
        Err(Error::LockedOut { retry_after_secs }) => assert_eq!(retry_after_secs, 30),
        other => panic!("expected lockout, got {other:?}"),
    }
    e.clock.advance(time::Duration::seconds(31));
    // One more failure doubles the delay.
    assert!(matches!(e.auth.login("dr.smith", &wrong, ip("10.0.0.2")), Err(Error::InvalidCredentials)));
    match e.auth.login("dr.smith", &right, ip("10.9.9.9")) {
        Err(Error::LockedOut { retry_after_secs }) => assert_eq!(retry_after_secs, 60),
        other => panic!("expected lockout, got {other:?}"),
    }
    e.clock.advance(time::Duration::seconds(61));
    assert!(e.auth.login("dr.smith", &right, ip("10.9.9.9")).is_ok());
}

#[test]
fn wrong_totp_codes_count_towards_lockout() {
    let e = env();
    let secret = enroll(&e);
    let right = Password::new("correct horse battery");
    e.clock.advance(time::Duration::seconds(60));
    for _ in 0..5 {
        let LoginStep::TotpRequired { challenge } = e.auth.login("dr.smith", &right, ip("10.0.0.3")).unwrap() else {
            panic!()
        };
        let good = totp::code_at(&secret, now_unix(&e.clock), 6);
        let bad = if good == "123456" { "654321" } else { "123456" };
        assert!(matches!(e.auth.complete_totp(&challenge, bad, ip("10.0.0.3")), Err(Error::InvalidCredentials)));
    }
    assert!(matches!(e.auth.login("dr.smith", &right, ip("10.0.0.3")), Err(Error::LockedOut { .. })));
}

#[test]
fn password_spraying_from_one_address_is_locked_per_source() {
    let e = env();
    let pw = Password::new("correct horse battery");
    for i in 0..20 {
        e.auth.create_user(&format!("user{i}"), "U", &pw, vec![]).unwrap();
    }
    let guess = Password::new("Summer2026!Summer");
    for i in 0..20 {
        assert!(matches!(e.auth.login(&format!("user{i}"), &guess, ip("192.0.2.7")), Err(Error::InvalidCredentials)));
    }
    // The address is now in back-off even for an account it has never tried.
    assert!(matches!(e.auth.login("dr.smith", &pw, ip("192.0.2.7")), Err(Error::LockedOut { .. })));
    // Other addresses are unaffected.
    assert!(e.auth.login("dr.smith", &pw, ip("192.0.2.8")).is_ok());
}

#[test]
fn ipv6_sources_are_counted_per_64() {
    let e = env();
    let pw = Password::new("correct horse battery");
    let guess = Password::new("Summer2026!Summer");
    for i in 0..20 {
        e.auth.create_user(&format!("v6user{i}"), "U", &pw, vec![]).unwrap();
        // A different address in the same /64 each time.
        let source = ip(&format!("2001:db8:1:2::{:x}", i + 1));
        assert!(matches!(e.auth.login(&format!("v6user{i}"), &guess, source), Err(Error::InvalidCredentials)));
    }
    assert!(matches!(e.auth.login("dr.smith", &pw, ip("2001:db8:1:2:ffff::1")), Err(Error::LockedOut { .. })));
    assert!(e.auth.login("dr.smith", &pw, ip("2001:db8:1:3::1")).is_ok());
}

#[test]
fn weak_passwords_and_duplicate_users_are_refused() {
    let e = env();
    assert!(matches!(e.auth.create_user("x", "X", &Password::new("short"), vec![]), Err(Error::WeakPassword(_))));
    assert!(matches!(
        e.auth.create_user("DR.SMITH", "X", &Password::new("another long password"), vec![]),
        Err(Error::AlreadyExists(_))
    ));
}

#[test]
fn disabled_accounts_cannot_sign_in() {
    let e = env();
    e.auth.set_disabled("dr.smith", true).unwrap();
    assert!(matches!(
        e.auth.login("dr.smith", &Password::new("correct horse battery"), ip("10.0.0.1")),
        Err(Error::AccountDisabled)
    ));
    e.auth.set_disabled("dr.smith", false).unwrap();
    assert!(e.auth.login("dr.smith", &Password::new("correct horse battery"), ip("10.0.0.1")).is_ok());
}
