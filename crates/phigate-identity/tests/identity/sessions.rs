//! Server-side sessions: fixation, idle and absolute expiry, CSRF, cookie attributes.

use std::sync::Arc;

use phigate_identity::session::{SessionConfig, SessionManager};
use phigate_identity::{
    AuthMethod, Error, ManualClock, MemoryRepository, Principal, PrincipalKind, Role, SessionToken,
};

fn principal() -> Principal {
    Principal {
        subject: "local:abc".into(),
        display_name: "Dr Smith".into(),
        kind: PrincipalKind::User,
        roles: vec![Role::new("clinician")],
        auth_method: AuthMethod::LocalTotp,
        session_ref: None,
        break_glass: None,
    }
}

fn manager() -> (SessionManager, Arc<MemoryRepository>, ManualClock) {
    let repo = Arc::new(MemoryRepository::new());
    let clock = ManualClock::at_unix(1_800_000_000);
    let m = SessionManager::new(repo.clone(), Arc::new(clock.clone()), SessionConfig::default()).unwrap();
    (m, repo, clock)
}

#[test]
fn login_always_issues_a_new_id_and_kills_the_old_one() {
    let (m, repo, _) = manager();
    // An attacker plants a session id in the victim's browser (fixation)…
    let planted = m.login(principal(), None).unwrap();
    // …the victim signs in presenting it: the planted id must not become authenticated.
    let fresh = m.login(principal(), Some(&planted.token)).unwrap();
    assert_ne!(planted.token.expose(), fresh.token.expose());
    assert!(matches!(m.authenticate(&planted.token), Err(Error::SessionUnknown)));
    assert!(m.authenticate(&fresh.token).is_ok());
    assert_eq!(repo.session_count(), 1);
    // An id the server never issued is unknown.
    assert!(matches!(m.authenticate(&SessionToken::new("attacker-chosen")), Err(Error::SessionUnknown)));
}

#[test]
fn privilege_change_rotates_the_id_but_keeps_the_login_time() {
    let (m, _, clock) = manager();
    let s = m.login(principal(), None).unwrap();
    clock.advance(time::Duration::minutes(10));
    let mut elevated = principal();
    elevated.roles.push(Role::new("administrator"));
    let r = m.rotate(&s.token, elevated).unwrap();
    assert_ne!(r.token.expose(), s.token.expose());
    assert_ne!(r.csrf.expose(), s.csrf.expose());
    assert!(matches!(m.authenticate(&s.token), Err(Error::SessionUnknown)));
    let rec = m.authenticate(&r.token).unwrap();
    assert!(rec.principal.has_role("administrator"));
    assert_eq!(rec.principal.session_ref, r.principal.session_ref);
    // Absolute lifetime still counts from the original login (10 min ago).
    for _ in 0..46 {
        clock.advance(time::Duration::minutes(10));
        m.authenticate(&r.token).unwrap();
    }
    clock.advance(time::Duration::minutes(10));
    assert!(matches!(m.authenticate(&r.token), Err(Error::SessionExpired)));
}

#[test]
fn idle_timeout_ends_the_session() {
    let (m, repo, clock) = manager();
    let s = m.login(principal(), None).unwrap();
    clock.advance(time::Duration::minutes(14));
    assert!(m.authenticate(&s.token).is_ok());
    clock.advance(time::Duration::minutes(14));
    assert!(m.authenticate(&s.token).is_ok(), "activity resets the idle timer");
    clock.advance(time::Duration::minutes(15));
    assert!(matches!(m.authenticate(&s.token), Err(Error::SessionIdle)));
    assert_eq!(repo.session_count(), 0);
    assert!(matches!(m.authenticate(&s.token), Err(Error::SessionUnknown)));
}

#[test]
fn absolute_lifetime_ends_an_active_session() {
    let (m, _, clock) = manager();
    let s = m.login(principal(), None).unwrap();
    for _ in 0..47 {
        clock.advance(time::Duration::minutes(10));
        assert!(m.authenticate(&s.token).is_ok());
    }
    clock.advance(time::Duration::minutes(10));
    assert!(matches!(m.authenticate(&s.token), Err(Error::SessionExpired)));
}

#[test]
fn csrf_token_must_match_its_session() {
    let (m, _, _) = manager();
    let a = m.login(principal(), None).unwrap();
    let b = m.login(principal(), None).unwrap();
    let rec = m.authenticate(&a.token).unwrap();
    assert!(m.verify_csrf(&rec, Some(a.csrf.expose())).is_ok());
    assert!(matches!(m.verify_csrf(&rec, None), Err(Error::CsrfMismatch)));
    assert!(matches!(m.verify_csrf(&rec, Some("")), Err(Error::CsrfMismatch)));
    assert!(matches!(m.verify_csrf(&rec, Some(b.csrf.expose())), Err(Error::CsrfMismatch)));
}

#[test]
fn ids_are_stored_only_as_hashes_and_never_printed() {
    let (m, repo, _) = manager();
    let s = m.login(principal(), None).unwrap();
    let debug = format!("{s:?} {repo:?}");
    assert!(!debug.contains(s.token.expose()));
    assert!(!debug.contains(s.csrf.expose()));
    let rec = m.authenticate(&s.token).unwrap();
    assert!(!format!("{rec:?}").contains(s.token.expose()));
    assert!(!rec.principal.session_ref.as_deref().unwrap().is_empty());
}

#[test]
fn cookie_has_secure_attributes_and_round_trips() {
    let (m, _, _) = manager();
    let s = m.login(principal(), None).unwrap();
    let cookie = m.cookie(&s.token);
    assert!(cookie.starts_with("__Host-phigate-session="));
    for attr in ["; Path=/", "; Secure", "; HttpOnly", "; SameSite=Strict", "; Max-Age=28800"] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    assert!(!cookie.contains("Domain"));
    let header = format!("theme=dark; {}; other=1", cookie.split(';').next().unwrap());
    assert_eq!(m.token_from_cookie_header(&header).unwrap().expose(), s.token.expose());
    assert!(m.clear_cookie().contains("Max-Age=0"));
    m.logout(&s.token).unwrap();
    assert!(matches!(m.authenticate(&s.token), Err(Error::SessionUnknown)));
}

#[test]
fn config_is_validated() {
    let repo = Arc::new(MemoryRepository::new());
    let clock = Arc::new(ManualClock::at_unix(0));
    let bad = SessionConfig { idle_timeout: std::time::Duration::from_secs(10 * 3600), ..SessionConfig::default() };
    assert!(matches!(SessionManager::new(repo, clock, bad), Err(Error::Config(_))));
}
