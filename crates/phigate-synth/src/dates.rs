//! Dates: the shapes clinicians write them in, and the FHIR shapes.
//!
//! The generator works on [`time::Date`] and never reads a clock: every date
//! is an offset from [`crate::REFERENCE_DATE`], so a corpus generated today
//! and one generated in ten years are identical.

use time::{Date, Duration};

use crate::rng::Rng;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// How a date is written in a note. Every style is a real date shape
/// (annotated PHI); a bare year is never produced here, since Safe Harbor
/// lets years stand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DateStyle {
    /// 03/14/2024
    SlashPadded,
    /// 3/14/2024
    Slash,
    /// 3/14/24
    SlashShortYear,
    /// 3/14
    SlashNoYear,
    /// March 14, 2024
    Long,
    /// Mar 14, 2024
    Abbrev,
    /// 14-Mar-2024
    DayMonYear,
    /// 2024-03-14
    Iso,
    /// 14 March 2024
    DayMonthYear,
    /// March 14
    LongNoYear,
    /// 03-14-2024
    Dash,
    /// March 2024 (a month is a date element too)
    MonthYear,
}

/// Styles that name a full day, weighted roughly by how often notes use them.
const FULL: [(DateStyle, u32); 9] = [
    (DateStyle::SlashPadded, 30),
    (DateStyle::Slash, 20),
    (DateStyle::SlashShortYear, 6),
    (DateStyle::Long, 14),
    (DateStyle::Abbrev, 8),
    (DateStyle::DayMonYear, 8),
    (DateStyle::Iso, 6),
    (DateStyle::DayMonthYear, 4),
    (DateStyle::Dash, 4),
];

impl DateStyle {
    /// A style that includes the year (for birth dates and headers).
    pub(crate) fn with_year(rng: &mut Rng) -> Self {
        let weights: Vec<u32> = FULL.iter().map(|(_, w)| *w).collect();
        FULL[rng.weighted(&weights)].0
    }

    /// Any day style, including the year-less ones narrative text favours.
    pub(crate) fn any(rng: &mut Rng) -> Self {
        match rng.below(10) {
            0..=1 => DateStyle::SlashNoYear,
            2 => DateStyle::LongNoYear,
            _ => Self::with_year(rng),
        }
    }
}

/// Writes `date` in `style`.
pub(crate) fn format(date: Date, style: DateStyle) -> String {
    let (y, m, d) = (date.year(), u8::from(date.month()), date.day());
    let month = MONTHS[usize::from(m - 1)];
    let abbrev = &month[..3];
    match style {
        DateStyle::SlashPadded => format!("{m:02}/{d:02}/{y}"),
        DateStyle::Slash => format!("{m}/{d}/{y}"),
        DateStyle::SlashShortYear => format!("{m}/{d}/{:02}", y.rem_euclid(100)),
        DateStyle::SlashNoYear => format!("{m}/{d}"),
        DateStyle::Long => format!("{month} {d}, {y}"),
        DateStyle::Abbrev => format!("{abbrev} {d}, {y}"),
        DateStyle::DayMonYear => format!("{d:02}-{abbrev}-{y}"),
        DateStyle::Iso => format!("{y}-{m:02}-{d:02}"),
        DateStyle::DayMonthYear => format!("{d} {month} {y}"),
        DateStyle::LongNoYear => format!("{month} {d}"),
        DateStyle::Dash => format!("{m:02}-{d:02}-{y}"),
        DateStyle::MonthYear => format!("{month} {y}"),
    }
}

/// FHIR `date`: `YYYY-MM-DD`.
pub(crate) fn fhir_date(date: Date) -> String {
    format(date, DateStyle::Iso)
}

/// FHIR `dateTime`/`instant` in UTC: `YYYY-MM-DDThh:mm:00Z`. Minutes past
/// midnight beyond one day roll into the next day.
pub(crate) fn fhir_date_time(date: Date, minutes: u32) -> String {
    let date = date.saturating_add(Duration::days(i64::from(minutes / 1440)));
    let minutes = minutes % 1440;
    format!("{}T{:02}:{:02}:00Z", fhir_date(date), minutes / 60, minutes % 60)
}

/// `date` moved by `days` (negative is earlier), clamped to the calendar.
pub(crate) fn add_days(date: Date, days: i64) -> Date {
    date.saturating_add(Duration::days(days))
}

/// Whole years between `birth` and `on`.
pub(crate) fn age_on(birth: Date, on: Date) -> i32 {
    let mut age = on.year() - birth.year();
    if (on.month() as u8, on.day()) < (birth.month() as u8, birth.day()) {
        age -= 1;
    }
    age
}

/// A uniformly chosen day of `year`.
pub(crate) fn random_day_of_year(rng: &mut Rng, year: i32) -> Date {
    let days = time::util::days_in_year(year);
    let ordinal = 1 + rng.below(u64::from(days)) as u16;
    Date::from_ordinal_date(year, ordinal).unwrap_or(Date::MIN)
}

/// The month name of `date`, for templates that spell months.
#[cfg(test)]
pub(crate) fn month_name(date: Date) -> &'static str {
    MONTHS[usize::from(u8::from(date.month()) - 1)]
}

/// The calendar date, or `Date::MIN` for an impossible one (tests pass
/// constants).
#[cfg(test)]
pub(crate) fn ymd(y: i32, m: u8, d: u8) -> Date {
    time::Month::try_from(m).ok().and_then(|m| Date::from_calendar_date(y, m, d).ok()).unwrap_or(Date::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_style_writes_the_expected_shape() {
        let d = ymd(2024, 3, 4);
        let cases = [
            (DateStyle::SlashPadded, "03/04/2024"),
            (DateStyle::Slash, "3/4/2024"),
            (DateStyle::SlashShortYear, "3/4/24"),
            (DateStyle::SlashNoYear, "3/4"),
            (DateStyle::Long, "March 4, 2024"),
            (DateStyle::Abbrev, "Mar 4, 2024"),
            (DateStyle::DayMonYear, "04-Mar-2024"),
            (DateStyle::Iso, "2024-03-04"),
            (DateStyle::DayMonthYear, "4 March 2024"),
            (DateStyle::LongNoYear, "March 4"),
            (DateStyle::Dash, "03-04-2024"),
            (DateStyle::MonthYear, "March 2024"),
        ];
        for (style, want) in cases {
            assert_eq!(format(d, style), want);
        }
        assert_eq!(month_name(d), "March");
        assert_eq!(fhir_date_time(d, 1440 + 61), "2024-03-05T01:01:00Z");
    }

    #[test]
    fn ages_count_whole_years() {
        let birth = ymd(1930, 6, 15);
        assert_eq!(age_on(birth, ymd(2024, 6, 14)), 93);
        assert_eq!(age_on(birth, ymd(2024, 6, 15)), 94);
    }
}
