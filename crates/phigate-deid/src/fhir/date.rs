//! FHIR `date`, `dateTime` and `instant` values: recognised strictly (the R4
//! regular expressions plus calendar validity) and shifted by whole days with
//! their precision kept.
//!
//! Shifting only the calendar date and leaving time of day and zone offset as
//! written moves the instant by exactly `days × 86 400` seconds, so intervals
//! between two dates of one patient survive to the second. A year-only or
//! year-month value has no exact day; it is shifted from the middle of its
//! period (2 July, the 15th), the same convention the text engine uses for
//! month/year dates.

use std::sync::LazyLock;

use regex::Regex;
use time::{Date, Duration, Month};

static DATE_TIME: LazyLock<Regex> = LazyLock::new(|| {
    // Invariant: constant pattern, covered by tests.
    Regex::new(
        r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(T(?:[01]\d|2[0-3]):[0-5]\d:(?:[0-5]\d|60)(?:\.\d+)?(?:Z|[+-](?:(?:0\d|1[0-3]):[0-5]\d|14:00)))?)?)?$",
    )
    .expect("FHIR dateTime pattern compiles")
});

/// A parsed FHIR date or dateTime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FhirDate<'a> {
    year: i32,
    month: Option<Month>,
    day: Option<u8>,
    /// `T` and everything after it, or empty.
    tail: &'a str,
}

impl<'a> FhirDate<'a> {
    /// Parses `value` if it is a valid FHIR date, dateTime or instant.
    pub(crate) fn parse(value: &'a str) -> Option<Self> {
        if value.len() > 40 {
            return None;
        }
        let c = DATE_TIME.captures(value)?;
        let year: i32 = c.get(1)?.as_str().parse().ok()?;
        if year == 0 {
            return None;
        }
        let month = match c.get(2) {
            Some(m) => Some(Month::try_from(m.as_str().parse::<u8>().ok()?).ok()?),
            None => None,
        };
        let day = match c.get(3) {
            Some(d) => {
                let d: u8 = d.as_str().parse().ok()?;
                Date::from_calendar_date(year, month?, d).ok()?;
                Some(d)
            }
            None => None,
        };
        Some(Self { year, month, day, tail: c.get(4).map_or("", |t| t.as_str()) })
    }

    /// True when the value names a day (a full date or a dateTime).
    pub(crate) fn has_day(&self) -> bool {
        self.day.is_some()
    }

    /// The year.
    pub(crate) fn year(&self) -> i32 {
        self.year
    }

    /// The day the value stands for: the day itself, or the middle of its month or year.
    pub(crate) fn anchor(&self) -> Option<Date> {
        match (self.month, self.day) {
            (Some(m), Some(d)) => Date::from_calendar_date(self.year, m, d).ok(),
            (Some(m), None) => Date::from_calendar_date(self.year, m, 15).ok(),
            _ => Date::from_calendar_date(self.year, Month::July, 2).ok(),
        }
    }

    /// The earliest day the value may stand for (1 January for a year).
    fn earliest(&self) -> Option<Date> {
        Date::from_calendar_date(self.year, self.month.unwrap_or(Month::January), self.day.unwrap_or(1)).ok()
    }

    /// Moved by `days`, written with the same precision, time and zone.
    pub(crate) fn shift(&self, days: i64) -> Option<String> {
        let d = self.anchor()?.checked_add(Duration::days(days))?;
        if !(1..=9999).contains(&d.year()) {
            return None;
        }
        Some(match (self.month, self.day) {
            (Some(_), Some(_)) => format!("{:04}-{:02}-{:02}{}", d.year(), u8::from(d.month()), d.day(), self.tail),
            (Some(_), None) => format!("{:04}-{:02}", d.year(), u8::from(d.month())),
            _ => format!("{:04}", d.year()),
        })
    }

    /// The largest age in whole years someone born on this date can have on
    /// `at` (a year-only birth date counts from 1 January: the conservative
    /// reading for the over-89 rule).
    pub(crate) fn max_age_at(&self, at: Date) -> Option<i32> {
        let born = self.earliest()?;
        let mut age = at.year() - born.year();
        if (at.month(), at.day()) < (born.month(), born.day()) {
            age -= 1;
        }
        Some(age)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shift(v: &str, days: i64) -> Option<String> {
        FhirDate::parse(v)?.shift(days)
    }

    #[test]
    fn recognises_only_fhir_forms() {
        for ok in ["2019", "2019-03", "2019-03-14", "2019-03-14T10:22:05Z", "2019-03-14T10:22:05.123+05:30"] {
            assert!(FhirDate::parse(ok).is_some(), "{ok}");
        }
        for bad in
            ["0000", "2019-13", "2019-02-30", "2019-03-14T10:22", "2019-03-14T10:22:05", "03/14/2019", "12345", "x2019"]
        {
            assert!(FhirDate::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn precision_time_and_zone_are_kept() {
        assert_eq!(shift("2024-03-14", -14).as_deref(), Some("2024-02-29"));
        assert_eq!(shift("2024-03-14T23:59:60.5-04:00", -1).as_deref(), Some("2024-03-13T23:59:60.5-04:00"));
        assert_eq!(shift("2019-03", -20).as_deref(), Some("2019-02"));
        assert_eq!(shift("2019", -100).as_deref(), Some("2019"));
        assert_eq!(shift("2019", -200).as_deref(), Some("2018"));
        assert_eq!(shift("0001-01-01", -1), None);
    }

    #[test]
    fn ages() {
        let at = Date::from_calendar_date(2026, Month::March, 1).unwrap();
        assert_eq!(FhirDate::parse("1936-03-02").unwrap().max_age_at(at), Some(89));
        assert_eq!(FhirDate::parse("1936-03-01").unwrap().max_age_at(at), Some(90));
        assert_eq!(FhirDate::parse("1936").unwrap().max_age_at(at), Some(90));
    }
}
