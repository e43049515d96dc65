//! Integration tests of phigate-policy (one binary, one module per concern).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod breakglass;
mod matrix;
mod parser;
mod projection;
mod routes;

use phigate_identity::{AuthMethod, BreakGlassMark, Principal, PrincipalKind, Role};
use time::OffsetDateTime;

pub const NOW: i64 = 1_800_000_000;

pub fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(NOW).unwrap()
}

pub fn user(roles: &[&str]) -> Principal {
    Principal {
        subject: "local:test".into(),
        display_name: "Test User".into(),
        kind: PrincipalKind::User,
        roles: roles.iter().map(|r| Role::new(*r)).collect(),
        auth_method: AuthMethod::LocalTotp,
        session_ref: Some("0011223344556677".into()),
        break_glass: None,
    }
}

pub fn elevated(mut p: Principal) -> Principal {
    p.break_glass =
        Some(BreakGlassMark { event_id: "bg-test".into(), expires_at: now() + time::Duration::minutes(30) });
    p
}
