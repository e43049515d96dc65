//! One patient's whole record before it is written out: the person, their
//! conditions and a timeline of encounters, some of which produce a note.

use std::ops::RangeInclusive;

use time::Date;

use crate::clinical::{self, Clinical, Proc, Value};
use crate::dates;
use crate::gold::NoteType;
use crate::person::Patient;
use crate::rng::Rng;

/// The kind of encounter (v3-ActCode class).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    Ambulatory,
    Inpatient,
    Emergency,
}

impl Class {
    /// v3-ActCode code and display.
    pub(crate) fn code(self) -> (&'static str, &'static str) {
        match self {
            Class::Ambulatory => ("AMB", "ambulatory"),
            Class::Inpatient => ("IMP", "inpatient encounter"),
            Class::Emergency => ("EMER", "emergency"),
        }
    }

    /// SNOMED CT encounter type code and display.
    pub(crate) fn snomed(self) -> (&'static str, &'static str) {
        match self {
            Class::Ambulatory => ("390906007", "Follow-up encounter"),
            Class::Inpatient => ("32485007", "Hospital admission"),
            Class::Emergency => ("50849002", "Emergency room admission"),
        }
    }
}

/// One encounter.
pub(crate) struct Encounter {
    pub(crate) id: String,
    pub(crate) class: Class,
    pub(crate) start: Date,
    /// Minutes after midnight of `start`.
    pub(crate) start_minute: u32,
    pub(crate) end: Date,
    /// Minutes after midnight of `end`.
    pub(crate) end_minute: u32,
    pub(crate) vitals: Vec<Value>,
    pub(crate) labs: Vec<Value>,
    pub(crate) procedure: Option<&'static Proc>,
    /// The note written at this encounter, if any.
    pub(crate) note: Option<NoteType>,
}

/// Everything generated for one patient.
pub(crate) struct Record {
    pub(crate) patient: Patient,
    pub(crate) clinical: Clinical,
    pub(crate) encounters: Vec<Encounter>,
    /// Onset date of each condition (same order as `clinical.conditions`).
    pub(crate) onsets: Vec<Date>,
}

/// Days of history before the reference date.
const HISTORY_DAYS: i64 = 1095;

impl Record {
    /// Draws the record of patient `number`.
    pub(crate) fn random(rng: &mut Rng, reference: Date, notes: &RangeInclusive<usize>) -> Self {
        let patient = Patient::random(rng, reference);
        let age_now = dates::age_on(patient.birth, reference);
        let clinical = Clinical::random(rng, patient.sex, age_now);

        let note_count = rng.range_usize(*notes.start(), *notes.end());
        let encounter_count = note_count.max(1 + rng.below(4) as usize);
        // Which encounters carry a note, and of which style.
        let mut slots: Vec<Option<NoteType>> = vec![None; encounter_count];
        let mut free: Vec<usize> = (0..encounter_count).collect();
        for _ in 0..note_count {
            let pick = rng.below(free.len() as u64) as usize;
            let slot = free.swap_remove(pick);
            slots[slot] = Some(match rng.weighted(&[45, 30, 25]) {
                0 => NoteType::ProgressNote,
                1 => NoteType::DischargeSummary,
                _ => NoteType::NursingNote,
            });
        }

        let spacing = (1000 / encounter_count as i64).max(3);
        let mut cursor = dates::add_days(reference, -HISTORY_DAYS);
        let mut encounters = Vec::with_capacity(encounter_count);
        for note in slots {
            let class = match note {
                Some(NoteType::DischargeSummary | NoteType::NursingNote) => Class::Inpatient,
                _ if rng.chance(0.18) => Class::Emergency,
                _ => Class::Ambulatory,
            };
            let start = dates::add_days(cursor, rng.range(2, spacing));
            let (start_minute, end, end_minute) = match class {
                Class::Ambulatory => {
                    let m = 60 * rng.range(8, 16) as u32 + 15 * rng.range(0, 3) as u32;
                    (m, start, m + 15 * rng.range(1, 4) as u32)
                }
                Class::Emergency => {
                    let m = rng.range(0, 1439) as u32;
                    (m, start, m + 60 * rng.range(2, 9) as u32)
                }
                Class::Inpatient => {
                    let m = rng.range(0, 1439) as u32;
                    let end = dates::add_days(start, rng.range(2, 8));
                    (m, end, 60 * rng.range(10, 17) as u32)
                }
            };
            cursor = end;
            let vitals = clinical::vitals(rng, &clinical);
            let draw = class != Class::Ambulatory || rng.chance(0.6);
            let labs = if draw {
                clinical::labs(rng, &clinical, patient.sex, dates::age_on(patient.birth, start))
            } else {
                Vec::new()
            };
            let procedure = if rng.chance(0.4) {
                let c = rng.pick(&clinical.conditions);
                (!c.procs.is_empty()).then(|| rng.pick(c.procs))
            } else {
                None
            };
            encounters.push(Encounter {
                id: rng.uuid(),
                class,
                start,
                start_minute,
                end,
                end_minute,
                vitals,
                labs,
                procedure,
                note,
            });
        }

        let first = encounters.first().map_or(reference, |e| e.start);
        let onsets = clinical
            .conditions
            .iter()
            .map(|c| {
                // Not before the age the condition starts at (nor after the
                // first encounter, for a patient who only just reached it).
                let earliest = dates::add_days(patient.birth, 365 * i64::from(c.min_age.max(18))).min(first);
                let span = (first - earliest).whole_days();
                let back = rng.range(30, span.clamp(31, 365 * 15));
                dates::add_days(first, -back).max(earliest)
            })
            .collect();
        Self { patient, clinical, encounters, onsets }
    }

    /// The patient's age on `date`.
    pub(crate) fn age_on(&self, date: Date) -> i32 {
        dates::age_on(self.patient.birth, date)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_is_ordered_and_notes_fit_their_encounters() {
        let reference = dates::ymd(2025, 6, 30);
        for i in 0..200 {
            let mut rng = Rng::for_patient(5, i);
            let r = Record::random(&mut rng, reference, &(1..=3));
            let notes = r.encounters.iter().filter(|e| e.note.is_some()).count();
            assert!((1..=3).contains(&notes));
            assert!((1..=4).contains(&r.encounters.len()));
            for w in r.encounters.windows(2) {
                assert!(w[0].end <= w[1].start);
            }
            for e in &r.encounters {
                assert!(e.start <= e.end && e.end <= reference);
                if matches!(e.note, Some(NoteType::DischargeSummary | NoteType::NursingNote)) {
                    assert_eq!(e.class, Class::Inpatient);
                }
            }
            for o in &r.onsets {
                assert!(*o > r.patient.birth && *o <= r.encounters[0].start);
            }
        }
    }
}
