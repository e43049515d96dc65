//! The investigator's index: entries by actor, subject pseudonym, action,
//! request id and time.
//!
//! Held in memory and rebuilt from the segments on open, so it can never
//! disagree with the log it indexes and needs no integrity story of its own.
//! Posting lists are seq-sorted by construction (entries arrive in seq
//! order), so a multi-key query is a merge of sorted lists and a time range
//! is a binary search: entry times never decrease with seq.

use std::collections::{HashMap, HashSet};

use time::OffsetDateTime;

use crate::event::{Pseudonym, Record};

/// Actions the ledger itself writes for purges; they do not renew a
/// subject's retention clock.
pub(crate) const ACTION_PURGE: &str = "audit.purge";

/// What to look for; every given field must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// Actor id.
    pub actor: Option<String>,
    /// Subject pseudonym.
    pub subject: Option<Pseudonym>,
    /// Action.
    pub action: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
    /// Earliest entry time (inclusive).
    pub since: Option<OffsetDateTime>,
    /// Latest entry time (exclusive).
    pub until: Option<OffsetDateTime>,
    /// At most this many results (the earliest ones).
    pub limit: Option<usize>,
}

/// The keys one entry is indexed under, extracted before it is written.
#[derive(Clone, Debug, Default)]
pub(crate) struct Keys {
    pub actor: String,
    pub subject: Option<Pseudonym>,
    pub action: String,
    pub request_id: Option<String>,
}

impl Keys {
    pub(crate) fn of(record: &Record) -> Self {
        Self {
            actor: record.event.actor.id.clone(),
            subject: record.event.subject.clone(),
            action: record.event.action.clone(),
            request_id: record.event.request_id.clone(),
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Index {
    actor: HashMap<String, Vec<u64>>,
    subject: HashMap<Pseudonym, Vec<u64>>,
    action: HashMap<String, Vec<u64>>,
    request: HashMap<String, Vec<u64>>,
    /// Entry time (unix nanoseconds) by seq.
    times: Vec<i64>,
    /// Last non-purge activity per subject (unix nanoseconds).
    last_seen: HashMap<Pseudonym, i64>,
    purged: HashSet<Pseudonym>,
}

impl Index {
    pub(crate) fn len(&self) -> u64 {
        self.times.len() as u64
    }

    /// Adds the next entry; `seq` must equal the number indexed so far.
    pub(crate) fn push(&mut self, seq: u64, time_ns: i64, keys: Keys) {
        debug_assert_eq!(seq, self.len());
        self.times.push(time_ns);
        let purge = keys.action == ACTION_PURGE;
        post(&mut self.actor, keys.actor, seq);
        post(&mut self.action, keys.action, seq);
        if let Some(r) = keys.request_id {
            post(&mut self.request, r, seq);
        }
        if let Some(s) = keys.subject {
            if purge {
                self.purged.insert(s.clone());
            } else if let Some(t) = self.last_seen.get_mut(&s) {
                *t = time_ns;
            } else {
                self.last_seen.insert(s.clone(), time_ns);
            }
            post(&mut self.subject, s, seq);
        }
    }

    /// Matching seqs, ascending.
    pub(crate) fn query(&self, q: &Query) -> Vec<u64> {
        let lo = q.since.map_or(0, |t| self.times.partition_point(|&x| x < nanos(t)) as u64);
        let hi = q.until.map_or(self.len(), |t| self.times.partition_point(|&x| x < nanos(t)) as u64);
        let limit = q.limit.unwrap_or(usize::MAX);
        let mut lists: Vec<&[u64]> = Vec::new();
        let empty: &[u64] = &[];
        if let Some(a) = &q.actor {
            lists.push(self.actor.get(a).map_or(empty, Vec::as_slice));
        }
        if let Some(s) = &q.subject {
            lists.push(self.subject.get(s).map_or(empty, Vec::as_slice));
        }
        if let Some(a) = &q.action {
            lists.push(self.action.get(a).map_or(empty, Vec::as_slice));
        }
        if let Some(r) = &q.request_id {
            lists.push(self.request.get(r).map_or(empty, Vec::as_slice));
        }
        lists.sort_by_key(|l| l.len());
        let Some((first, others)) = lists.split_first() else {
            return (lo..hi).take(limit).collect();
        };
        let start = first.partition_point(|&s| s < lo);
        first[start..]
            .iter()
            .copied()
            .take_while(|&s| s < hi)
            .filter(|s| others.iter().all(|l| l.binary_search(s).is_ok()))
            .take(limit)
            .collect()
    }

    /// Subjects whose last activity is before `cutoff` and not yet purged.
    pub(crate) fn expired(&self, cutoff: OffsetDateTime) -> Vec<Pseudonym> {
        let cutoff = nanos(cutoff);
        let mut out: Vec<Pseudonym> = self
            .last_seen
            .iter()
            .filter(|&(s, &t)| t < cutoff && !self.purged.contains(s))
            .map(|(s, _)| s.clone())
            .collect();
        out.sort();
        out
    }

    pub(crate) fn is_purged(&self, s: &Pseudonym) -> bool {
        self.purged.contains(s)
    }
}

/// Appends `seq` to `key`'s posting list; moves the key in only when new.
fn post<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Vec<u64>>, key: K, seq: u64) {
    match map.get_mut(&key) {
        Some(list) => list.push(seq),
        None => {
            map.insert(key, vec![seq]);
        }
    }
}

/// Unix nanoseconds, saturating far outside the ledger's lifetime.
pub(crate) fn nanos(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos()).unwrap_or(if t.unix_timestamp() < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(actor: &str, subject: Option<&str>, action: &str) -> Keys {
        Keys {
            actor: actor.into(),
            subject: subject.map(|s| Pseudonym::new(s).unwrap()),
            action: action.into(),
            request_id: None,
        }
    }

    #[test]
    fn queries_intersect_keys_and_time() {
        let mut idx = Index::default();
        idx.push(0, 10, keys("a", Some("p1"), "read"));
        idx.push(1, 20, keys("b", Some("p1"), "read"));
        idx.push(2, 30, keys("a", Some("p2"), "write"));
        idx.push(3, 40, keys("a", Some("p1"), "read"));
        let q = Query { actor: Some("a".into()), subject: Some(Pseudonym::new("p1").unwrap()), ..Query::default() };
        assert_eq!(idx.query(&q), vec![0, 3]);
        let t = |n: i64| OffsetDateTime::from_unix_timestamp_nanos(n.into()).unwrap();
        let q = Query { since: Some(t(20)), until: Some(t(40)), ..Query::default() };
        assert_eq!(idx.query(&q), vec![1, 2]);
        let q = Query { action: Some("read".into()), since: Some(t(15)), limit: Some(1), ..Query::default() };
        assert_eq!(idx.query(&q), vec![1]);
        assert!(idx.query(&Query { actor: Some("zz".into()), ..Query::default() }).is_empty());
    }

    #[test]
    fn purge_entries_do_not_renew_retention() {
        let mut idx = Index::default();
        idx.push(0, 10, keys("a", Some("p1"), "read"));
        idx.push(1, 50, keys("a", Some("p2"), "read"));
        let cutoff = OffsetDateTime::from_unix_timestamp_nanos(20).unwrap();
        assert_eq!(idx.expired(cutoff), vec![Pseudonym::new("p1").unwrap()]);
        idx.push(2, 60, keys("ledger", Some("p1"), ACTION_PURGE));
        assert!(idx.expired(cutoff).is_empty());
        assert!(idx.is_purged(&Pseudonym::new("p1").unwrap()));
    }
}
