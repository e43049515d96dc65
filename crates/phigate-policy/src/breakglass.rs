//! Break-glass: time-limited emergency access with a stated reason.
//!
//! [`Policy::break_glass`] checks that one of the principal's roles may
//! break the glass, that the reason is long enough to review, and that the
//! duration is within the policy's maximum; it returns the elevated
//! principal (which the server must store under a *new* session id, see
//! `SessionManager::rotate`) and a [`BreakGlassEvent`] that the server sends
//! at once to the audit ledger and the alert sink (webhook and
//! privacy-officer queue). The elevation only enables the `emergency`
//! purpose; every decision under it is flagged `break_glass`.

use std::time::Duration;

use phigate_identity::{BreakGlassMark, Principal, Role};
use phigate_phi::Phi;
use time::OffsetDateTime;

use crate::Error;
use crate::policy::Policy;

/// Who may break the glass and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakGlassPolicy {
    /// Roles allowed to request it.
    pub roles: Vec<Role>,
    /// Longest elevation.
    pub max_duration: Duration,
    /// Shortest accepted reason, in characters.
    pub min_reason_chars: usize,
}

impl BreakGlassPolicy {
    /// Nobody may break the glass.
    pub fn disabled() -> Self {
        Self { roles: Vec::new(), max_duration: Duration::ZERO, min_reason_chars: usize::MAX }
    }
}

/// A break-glass elevation, for the audit ledger, the alert webhook and the
/// privacy officer's review queue.
///
/// The reason is free text that may name a patient, so it is [`Phi`]:
/// `Debug` redacts it, and the alert summary leaves it out.
#[derive(Debug, Clone)]
pub struct BreakGlassEvent {
    /// Random id; the principal's [`BreakGlassMark`] carries it so every
    /// action under this elevation can be linked to the event.
    pub id: String,
    /// Who broke the glass.
    pub subject: String,
    /// Their name.
    pub display_name: String,
    /// Their roles at the time.
    pub roles: Vec<Role>,
    /// The session that was elevated, if any (non-secret reference).
    pub session_ref: Option<String>,
    /// The stated reason.
    pub reason: Phi<String>,
    /// Start of the elevation.
    pub started_at: OffsetDateTime,
    /// End of the elevation.
    pub expires_at: OffsetDateTime,
}

impl BreakGlassEvent {
    /// One line for an alert channel: who, when, until when, which event; no reason text.
    pub fn alert_summary(&self) -> String {
        let fmt = |t: OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| t.unix_timestamp().to_string())
        };
        format!(
            "break-glass {} by {} ({}) from {} until {}; review required",
            self.id,
            self.subject,
            self.display_name,
            fmt(self.started_at),
            fmt(self.expires_at)
        )
    }
}

impl Policy {
    /// Elevates `principal` for `duration` with a stated `reason`.
    pub fn break_glass(
        &self,
        principal: &Principal,
        reason: Phi<String>,
        duration: Duration,
        now: OffsetDateTime,
    ) -> Result<(Principal, BreakGlassEvent), Error> {
        let bg = self.break_glass_policy();
        if !principal.roles.iter().any(|r| bg.roles.contains(r)) {
            return Err(Error::BreakGlassNotPermitted);
        }
        if reason.expose().trim().chars().count() < bg.min_reason_chars {
            return Err(Error::BreakGlassReasonTooShort { min: bg.min_reason_chars });
        }
        if duration < Duration::from_secs(60) || duration > bg.max_duration {
            return Err(Error::BreakGlassDuration { max_minutes: bg.max_duration.as_secs() / 60 });
        }
        let mut id = [0u8; 16];
        getrandom::getrandom(&mut id).map_err(|_| Error::Rng)?;
        let id = format!("bg-{}", hex::encode(id));
        let expires_at = now + time::Duration::try_from(duration).unwrap_or(time::Duration::ZERO);
        let mut elevated = principal.clone();
        elevated.break_glass = Some(BreakGlassMark { event_id: id.clone(), expires_at });
        let event = BreakGlassEvent {
            id,
            subject: principal.subject.clone(),
            display_name: principal.display_name.clone(),
            roles: principal.roles.clone(),
            session_ref: principal.session_ref.clone(),
            reason,
            started_at: now,
            expires_at,
        };
        Ok((elevated, event))
    }
}
