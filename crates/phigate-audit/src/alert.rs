//! Alert rules evaluated on the event stream.
//!
//! The engine is pure logic over `(time, event)` pairs, so the same rules
//! run live inside [`crate::Ledger`] and offline over a replayed log, and
//! tests need no clock. Alerts name actors and addresses (workforce data),
//! never a subject pseudonym or payload, so a log sink cannot leak PHI.
//! Each rule fires at most once per window and key, so a brute-force run
//! produces one alert, not thousands.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;

use crate::event::{Event, Outcome, Pseudonym};
use crate::index::nanos;
use crate::{Error, ledger};

/// `count` events within `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold {
    /// How many.
    pub count: usize,
    /// Within how long.
    pub window: Duration,
}

/// Which rules are on, and their thresholds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRules {
    /// Failed logins from one address.
    pub failed_logins: Option<Threshold>,
    /// Distinct patients touched by one actor.
    pub distinct_patients: Option<Threshold>,
    /// Every break-glass use.
    pub break_glass: bool,
    /// An actor seen from an address or device not seen before for them.
    pub new_source: bool,
    /// The action that denotes a login attempt.
    pub login_action: String,
}

impl Default for AlertRules {
    /// 5 failed logins in 5 minutes; 50 distinct patients in an hour; break
    /// glass and new sources on.
    fn default() -> Self {
        Self {
            failed_logins: Some(Threshold { count: 5, window: Duration::from_secs(300) }),
            distinct_patients: Some(Threshold { count: 50, window: Duration::from_secs(3600) }),
            break_glass: true,
            new_source: true,
            login_action: "auth.login".into(),
        }
    }
}

/// Which rule fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AlertRule {
    /// Repeated failed logins from one address.
    FailedLogins,
    /// Unusual number of distinct patients for one actor.
    DistinctPatients,
    /// Break-glass access.
    BreakGlass,
    /// New address or device for an actor.
    NewSource,
}

impl AlertRule {
    /// Stable name, used in the ledger's `audit.alert` entries.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FailedLogins => "failed_logins",
            Self::DistinctPatients => "distinct_patients",
            Self::BreakGlass => "break_glass",
            Self::NewSource => "new_source",
        }
    }
}

/// A raised alert. Holds no PHI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    /// The rule.
    pub rule: AlertRule,
    /// Time of the event that triggered it.
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// Actor of that event.
    pub actor: String,
    /// Source address of that event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The count that crossed the threshold, for threshold rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
}

/// Where alerts go. The server implements the webhook sink.
pub trait AlertSink: Send + Sync {
    /// Delivers one alert; errors are reported but never stop auditing.
    fn deliver(&self, alert: &Alert) -> Result<(), Error>;
}

/// Writes each alert as one JSON line (to stderr, a file, a log pipe).
pub struct LogSink<W: Write + Send> {
    out: Mutex<W>,
}

impl<W: Write + Send> LogSink<W> {
    /// A sink writing to `out`.
    pub fn new(out: W) -> Self {
        Self { out: Mutex::new(out) }
    }

    /// Gives back the writer.
    pub fn into_inner(self) -> W {
        self.out.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<W: Write + Send> AlertSink for LogSink<W> {
    fn deliver(&self, alert: &Alert) -> Result<(), Error> {
        let mut line = serde_json::to_vec(alert).map_err(|_| Error::Encoding("alert".into()))?;
        line.push(b'\n');
        let mut out = ledger::lock(&self.out);
        out.write_all(&line).and_then(|()| out.flush()).map_err(|e| Error::io("alert log", e))
    }
}

/// Rule state over the stream.
#[derive(Debug, Default)]
pub struct AlertEngine {
    rules: AlertRules,
    failed: HashMap<String, VecDeque<i64>>,
    touches: HashMap<String, Touches>,
    sources: HashMap<String, HashSet<String>>,
    last_fired: HashMap<(AlertRule, String), i64>,
}

#[derive(Debug, Default)]
struct Touches {
    window: VecDeque<(i64, Pseudonym)>,
    counts: HashMap<Pseudonym, usize>,
}

fn window_ns(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

impl AlertEngine {
    /// An engine with these rules.
    pub fn new(rules: AlertRules) -> Self {
        Self { rules, ..Self::default() }
    }

    /// Feeds one event; returns the alerts it raises. The ledger's own
    /// `audit.*` entries are ignored so alerts cannot feed on themselves.
    pub fn observe(&mut self, time: OffsetDateTime, event: &Event) -> Vec<Alert> {
        let mut out = Vec::new();
        if event.action.starts_with("audit.") {
            return out;
        }
        let now = nanos(time);
        let actor = event.actor.id.clone();
        let address = event.source.address.clone();
        let alert = |rule, count| Alert { rule, time, actor: actor.clone(), address: address.clone(), count };

        if let Some(t) = self.rules.failed_logins
            && event.action == self.rules.login_action
            && event.outcome != Outcome::Success
        {
            let key = address.clone().unwrap_or_else(|| "unknown".into());
            let q = self.failed.entry(key.clone()).or_default();
            q.push_back(now);
            while q.front().is_some_and(|&f| now.saturating_sub(f) > window_ns(t.window)) {
                q.pop_front();
            }
            let n = q.len();
            if n >= t.count && self.may_fire(AlertRule::FailedLogins, key, now, t.window) {
                out.push(alert(AlertRule::FailedLogins, Some(n)));
            }
        }

        if let (Some(t), Some(subject)) = (self.rules.distinct_patients, &event.subject) {
            let w = self.touches.entry(actor.clone()).or_default();
            w.window.push_back((now, subject.clone()));
            *w.counts.entry(subject.clone()).or_default() += 1;
            while let Some((f, s)) = w.window.front() {
                if now.saturating_sub(*f) <= window_ns(t.window) {
                    break;
                }
                if let Some(c) = w.counts.get_mut(s) {
                    *c -= 1;
                    if *c == 0 {
                        w.counts.remove(s);
                    }
                }
                w.window.pop_front();
            }
            let n = w.counts.len();
            if n >= t.count && self.may_fire(AlertRule::DistinctPatients, actor.clone(), now, t.window) {
                out.push(alert(AlertRule::DistinctPatients, Some(n)));
            }
        }

        if self.rules.break_glass && (event.break_glass || event.action == "break_glass") {
            out.push(alert(AlertRule::BreakGlass, None));
        }

        if self.rules.new_source {
            let seen = self.sources.entry(actor.clone()).or_default();
            let known_actor = !seen.is_empty();
            let mut new = false;
            for s in [
                event.source.address.as_ref().map(|a| format!("addr:{a}")),
                event.source.device.as_ref().map(|d| format!("dev:{d}")),
            ]
            .into_iter()
            .flatten()
            {
                new |= seen.insert(s);
            }
            if known_actor && new {
                out.push(alert(AlertRule::NewSource, None));
            }
        }
        out
    }

    /// At most one alert per rule and key per window.
    fn may_fire(&mut self, rule: AlertRule, key: String, now: i64, window: Duration) -> bool {
        match self.last_fired.get(&(rule, key.clone())) {
            Some(&last) if now.saturating_sub(last) <= window_ns(window) => false,
            _ => {
                self.last_fired.insert((rule, key), now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Actor, ActorKind, Source};

    fn ev(actor: &str, action: &str, outcome: Outcome, addr: &str) -> Event {
        let mut e = Event::new(
            Actor { id: actor.into(), kind: ActorKind::User, role: "clinician".into(), session: None },
            action,
            outcome,
        );
        e.source = Source { address: Some(addr.into()), user_agent: None, device: None };
        e
    }

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_700_000_000 + secs).unwrap()
    }

    #[test]
    fn failed_logins_fire_once_per_window() {
        let mut eng = AlertEngine::new(AlertRules { new_source: false, ..AlertRules::default() });
        let mut fired = Vec::new();
        for i in 0..20 {
            fired.extend(eng.observe(at(i), &ev("u", "auth.login", Outcome::Denied, "10.0.0.9")));
        }
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].rule, AlertRule::FailedLogins);
        assert_eq!(fired[0].count, Some(5));
        // Spread out beyond the window: no alert.
        let mut eng = AlertEngine::new(AlertRules { new_source: false, ..AlertRules::default() });
        let n: usize =
            (0..10).map(|i| eng.observe(at(i * 400), &ev("u", "auth.login", Outcome::Denied, "a")).len()).sum();
        assert_eq!(n, 0);
    }

    #[test]
    fn distinct_patients_counts_distinct_not_repeats() {
        let rules = AlertRules {
            distinct_patients: Some(Threshold { count: 3, window: Duration::from_secs(60) }),
            new_source: false,
            ..AlertRules::default()
        };
        let mut eng = AlertEngine::new(rules);
        let touch = |eng: &mut AlertEngine, t, p: &str| {
            let mut e = ev("u", "patient.read", Outcome::Success, "a");
            e.subject = Some(Pseudonym::new(p).unwrap());
            eng.observe(at(t), &e)
        };
        assert!(touch(&mut eng, 0, "p1").is_empty());
        assert!(touch(&mut eng, 1, "p1").is_empty());
        assert!(touch(&mut eng, 2, "p2").is_empty());
        let a = touch(&mut eng, 3, "p3");
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].rule, AlertRule::DistinctPatients);
        let json = serde_json::to_string(&a[0]).unwrap();
        assert!(!json.contains("p3"), "alerts carry no pseudonyms");
    }

    #[test]
    fn break_glass_and_new_source() {
        let mut eng = AlertEngine::new(AlertRules::default());
        assert!(eng.observe(at(0), &ev("u", "patient.read", Outcome::Success, "a")).is_empty());
        assert!(eng.observe(at(1), &ev("u", "patient.read", Outcome::Success, "a")).is_empty());
        let a = eng.observe(at(2), &ev("u", "patient.read", Outcome::Success, "b"));
        assert_eq!(a.iter().map(|a| a.rule).collect::<Vec<_>>(), vec![AlertRule::NewSource]);
        let mut bg = ev("u", "patient.read", Outcome::Success, "a");
        bg.break_glass = true;
        assert_eq!(eng.observe(at(3), &bg)[0].rule, AlertRule::BreakGlass);
        assert!(eng.observe(at(4), &ev("x", "audit.alert", Outcome::Success, "z")).is_empty());
    }

    #[test]
    fn log_sink_writes_json_lines() {
        let sink = LogSink::new(Vec::new());
        let a = Alert { rule: AlertRule::BreakGlass, time: at(0), actor: "u".into(), address: None, count: None };
        sink.deliver(&a).unwrap();
        let out = String::from_utf8(sink.into_inner()).unwrap();
        assert!(out.starts_with("{\"rule\":\"break_glass\""));
        assert!(out.ends_with('\n'));
    }
}
