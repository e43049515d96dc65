//! Parsing the date forms the detector finds, to shift them or keep the year.
//!
//! A shifted date is written back in the form it came in ("3/20" stays
//! month/day, "March 30, 2024" stays written out) so notes still read
//! naturally. Partial dates without a year are shifted within a leap
//! reference year, which keeps month/day arithmetic right for Feb 29.

use std::sync::LazyLock;

use regex::Regex;
use time::{Date, Duration, Month};

const REFERENCE_YEAR: i32 = 2000;

static NUMERIC: LazyLock<Regex> = LazyLock::new(|| {
    // Invariant: constant pattern, covered by tests.
    Regex::new(r"^(\d{1,2})([/-])(\d{4}|\d{1,2})(?:[/-](\d{4}|\d{2}))?$").expect("date pattern compiles")
});
static ISO: LazyLock<Regex> = LazyLock::new(|| {
    // Invariant: constant pattern, covered by tests.
    Regex::new(r"^(\d{4})-(\d{1,2})-(\d{1,2})$").expect("date pattern compiles")
});
static WRITTEN: LazyLock<Regex> = LazyLock::new(|| {
    // Invariant: constant pattern, covered by tests.
    Regex::new(
        r"(?i)^(?:(?P<m1>[a-z]+)\.?\s*(?P<d1>\d{1,2})(?P<s1>st|nd|rd|th)?|(?P<d2>\d{1,2})(?P<s2>st|nd|rd|th)?\s*(?:of\s+)?(?P<m2>[a-z]+)\.?)(?:(?P<sep>,\s*|\s+)(?P<y>\d{4}|\d{2}))?$",
    )
    .expect("date pattern compiles")
});
/// A month and year with no day ("March 2024", "Sept. 2023", "Mar '05").
/// Checked before [`WRITTEN`], whose day and two-digit year would otherwise
/// split "2024" into day 20 of '24.
static MONTH_YEAR: LazyLock<Regex> = LazyLock::new(|| {
    // Invariant: constant pattern, covered by tests.
    Regex::new(r"(?i)^(?P<m>[a-z]+)(?P<sep>\.?,?\s*)(?:(?P<y4>\d{4})|'(?P<y2>\d{2}))$").expect("date pattern compiles")
});
/// "14-Mar-2024", "3-JAN-98": day, month word and year joined by dashes.
static DASHED: LazyLock<Regex> = LazyLock::new(|| {
    // Invariant: constant pattern, covered by tests.
    Regex::new(r"(?i)^(?P<d>\d{1,2})-(?P<m>[a-z]{3,9})-(?P<y>\d{4}|\d{2})$").expect("date pattern compiles")
});
static YEAR4: LazyLock<Regex> = LazyLock::new(|| {
    // Invariant: constant pattern, covered by tests.
    Regex::new(r"(?:19|20)\d\d").expect("year pattern compiles")
});

fn month_of(word: &str) -> Option<Month> {
    let w = word.to_ascii_lowercase();
    let m = match w.get(..3)? {
        "jan" => Month::January,
        "feb" => Month::February,
        "mar" => Month::March,
        "apr" => Month::April,
        "may" => Month::May,
        "jun" => Month::June,
        "jul" => Month::July,
        "aug" => Month::August,
        "sep" => Month::September,
        "oct" => Month::October,
        "nov" => Month::November,
        "dec" => Month::December,
        _ => return None,
    };
    Some(m)
}

fn expand_year(y: &str) -> Option<i32> {
    let v: i32 = y.parse().ok()?;
    Some(match y.len() {
        2 if v > 30 => 1900 + v,
        2 => 2000 + v,
        _ => v,
    })
}

/// `year` written with as many digits as `original` had ("98" → two).
fn year_like(original: &str, year: i32) -> String {
    if original.len() == 2 { format!("{:02}", year.rem_euclid(100)) } else { year.to_string() }
}

fn shifted(year: i32, month: u8, day: u8, days: i64) -> Option<Date> {
    let m = Month::try_from(month).ok()?;
    Date::from_calendar_date(year, m, day).ok()?.checked_add(Duration::days(days))
}

fn pad(n: u8, zero_padded: bool) -> String {
    if zero_padded { format!("{n:02}") } else { n.to_string() }
}

fn ordinal(day: u8) -> &'static str {
    match (day % 10, day % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    }
}

fn month_name(m: Month, like: &str) -> String {
    let full = m.to_string();
    let name = if like.len() <= 4 && !like.eq_ignore_ascii_case("june") && !like.eq_ignore_ascii_case("july") {
        full[..3].to_owned()
    } else {
        full
    };
    if like.chars().all(|c| c.is_ascii_uppercase()) {
        name.to_uppercase()
    } else if like.chars().all(|c| c.is_ascii_lowercase()) {
        name.to_lowercase()
    } else {
        name
    }
}

static RANGE: LazyLock<Regex> = LazyLock::new(|| {
    // Invariant: constant pattern, covered by tests.
    Regex::new(r"(?i)^(?P<a>.*?\d(?:st|nd|rd|th)?\.?)(?P<j>\s*(?:-|\x{2013}|to|through|thru)\s*)(?P<b>\d.*)$")
        .expect("range pattern compiles")
});

/// `value` moved by `days`, in its original form; `None` if the form is not
/// understood (the caller then redacts). A range ("3/4-3/6", "March 3-5",
/// "3 to 5 March") moves both ends, so the interval it spans is kept.
pub fn shift(value: &str, days: i64) -> Option<String> {
    shift_one(value, days).or_else(|| shift_range(value, days))
}

/// Both ends of a range of dates, each in its own form; a bare day on one
/// side borrows the other side's month, and stays a bare day after the
/// shift when both ends still fall in one month.
fn shift_range(value: &str, days: i64) -> Option<String> {
    let c = RANGE.captures(value.trim())?;
    let (a, j, b) = (c.name("a")?.as_str(), c.name("j")?.as_str(), c.name("b")?.as_str());
    let bare = |s: &str| {
        s.trim_end_matches('.').trim_end_matches(|c: char| c.is_ascii_alphabetic()).bytes().all(|c| c.is_ascii_digit())
    };
    let month_word =
        |s: &str| s.split(|c: char| !c.is_ascii_alphabetic()).find(|w| month_of(w).is_some()).map(str::to_owned);
    if bare(a) && !bare(b) {
        // "3-5 March": the left end is a day of the right end's month.
        let month = month_word(b)?;
        let left = shift_one(&format!("{a} {month}"), days)?;
        let right = shift_one(b, days)?;
        let (left_day, left_month) = left.split_once(' ')?;
        let same = month_word(&right).as_deref() == Some(left_month);
        return Some(if same { format!("{left_day}{j}{right}") } else { format!("{left}{j}{right}") });
    }
    if bare(b) && !bare(a) && !a.contains('/') {
        // "March 3-5": the right end is a day of the left end's month.
        let month = month_word(a)?;
        let left = shift_one(a, days)?;
        let right = shift_one(&format!("{month} {b}"), days)?;
        let (right_month, right_day) = right.rsplit_once(' ')?;
        let same = month_word(&left).as_deref() == Some(right_month);
        return Some(if same { format!("{left}{j}{right_day}") } else { format!("{left}{j}{right}") });
    }
    Some(format!("{}{j}{}", shift_one(a, days)?, shift_one(b, days)?))
}

fn shift_one(value: &str, days: i64) -> Option<String> {
    if let Some(c) = NUMERIC.captures(value) {
        let (m_s, sep, d_s) = (c.get(1)?.as_str(), c.get(2)?.as_str(), c.get(3)?.as_str());
        let month: u8 = m_s.parse().ok()?;
        if d_s.len() == 4 && c.get(4).is_none() {
            // "02/2024": month and four-digit year.
            let d = shifted(expand_year(d_s)?, month, 15, days)?;
            return Some(format!("{}{sep}{}", pad(u8::from(d.month()), m_s.starts_with('0')), d.year()));
        }
        let second: u8 = d_s.parse().ok()?;
        // Zero-padded only if the original was ("03/14", not "12/14").
        let zp = m_s.starts_with('0') || d_s.starts_with('0');
        return match c.get(4) {
            Some(y) => {
                let year = expand_year(y.as_str())?;
                let d = shifted(year, month, second, days)?;
                let y_out = year_like(y.as_str(), d.year());
                Some(format!("{}{sep}{}{sep}{y_out}", pad(u8::from(d.month()), zp), pad(d.day(), zp)))
            }
            None if second > 31 => {
                // month/two-digit-year: shift the middle of the month.
                let year = expand_year(d_s)?;
                let d = shifted(year, month, 15, days)?;
                Some(format!("{}{sep}{:02}", pad(u8::from(d.month()), zp), d.year().rem_euclid(100)))
            }
            None => {
                let d = shifted(REFERENCE_YEAR, month, second, days)?;
                Some(format!("{}{sep}{}", pad(u8::from(d.month()), zp), pad(d.day(), zp)))
            }
        };
    }
    if let Some(c) = ISO.captures(value) {
        let year: i32 = c.get(1)?.as_str().parse().ok()?;
        let d = shifted(year, c.get(2)?.as_str().parse().ok()?, c.get(3)?.as_str().parse().ok()?, days)?;
        return Some(format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()));
    }
    if let Some(c) = DASHED.captures(value.trim())
        && let Some(month) = month_of(&c["m"])
    {
        let y = &c["y"];
        let d = shifted(expand_year(y)?, u8::from(month), c["d"].parse().ok()?, days)?;
        let y_out = year_like(y, d.year());
        let day = if c["d"].len() == 2 { format!("{:02}", d.day()) } else { d.day().to_string() };
        return Some(format!("{day}-{}-{y_out}", month_name(d.month(), &c["m"])));
    }
    if let Some(c) = MONTH_YEAR.captures(value.trim())
        && let Some(month) = month_of(&c["m"])
    {
        // No day to keep: shift the middle of the month, so the month moves
        // only when the shift is more than about two weeks.
        let (y, apostrophe) = match (c.name("y4"), c.name("y2")) {
            (Some(y), _) => (y.as_str(), false),
            (None, Some(y)) => (y.as_str(), true),
            _ => return None,
        };
        let d = shifted(expand_year(y)?, u8::from(month), 15, days)?;
        let y_out = if apostrophe { format!("'{:02}", d.year().rem_euclid(100)) } else { d.year().to_string() };
        return Some(format!("{}{}{y_out}", month_name(d.month(), &c["m"]), &c["sep"]));
    }
    let c = WRITTEN.captures(value.trim())?;
    let (m_word, d_s, suffix, day_first) = match (c.name("m1"), c.name("m2")) {
        (Some(m), _) => (m.as_str(), c.name("d1")?.as_str(), c.name("s1"), false),
        (None, Some(m)) => (m.as_str(), c.name("d2")?.as_str(), c.name("s2"), true),
        _ => return None,
    };
    let month = month_of(m_word)?;
    let day: u8 = d_s.parse().ok()?;
    let year = match c.name("y") {
        Some(y) => Some(expand_year(y.as_str())?),
        None => None,
    };
    let d = shifted(year.unwrap_or(REFERENCE_YEAR), u8::from(month), day, days)?;
    let day_out = match suffix {
        Some(_) => format!("{}{}", d.day(), ordinal(d.day())),
        None => d.day().to_string(),
    };
    let month_out = month_name(d.month(), m_word);
    let mut out = if day_first { format!("{day_out} {month_out}") } else { format!("{month_out} {day_out}") };
    if let (Some(y), Some(sep)) = (c.name("y"), c.name("sep")) {
        out.push_str(sep.as_str());
        out.push_str(&year_like(y.as_str(), d.year()));
    }
    Some(out)
}

/// The year a date mentions, if any (four digits, or a two-digit year in a
/// numeric date).
pub fn year_of(value: &str) -> Option<i32> {
    if let Some(m) = YEAR4.find(value) {
        return m.as_str().parse().ok();
    }
    let c = NUMERIC.captures(value)?;
    match c.get(4) {
        Some(y) => expand_year(y.as_str()),
        None => {
            let second = c.get(3)?.as_str();
            let v: u32 = second.parse().ok()?;
            if v > 31 { expand_year(second) } else { None }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_forms_keep_their_shape() {
        assert_eq!(shift("03/14/2024", -14).as_deref(), Some("02/29/2024"));
        assert_eq!(shift("3/1", -1).as_deref(), Some("2/29"));
        assert_eq!(shift("8/19/20", 30).as_deref(), Some("9/18/20"));
        assert_eq!(shift("12/83", 30).as_deref(), Some("1/84"));
        assert_eq!(shift("12/2023", 30).as_deref(), Some("1/2024"));
        assert_eq!(shift("02/2024", -30).as_deref(), Some("01/2024"));
        assert_eq!(shift("2024-01-01", -1).as_deref(), Some("2023-12-31"));
    }

    #[test]
    fn ranges_move_both_ends() {
        assert_eq!(shift("3/4-3/6", 2).as_deref(), Some("3/6-3/8"));
        assert_eq!(shift("6/30-7/2", 1).as_deref(), Some("7/1-7/3"));
        assert_eq!(shift("March 3-5", 2).as_deref(), Some("March 5-7"));
        assert_eq!(shift("Mar 14 - 16", 1).as_deref(), Some("Mar 15 - 17"));
        assert_eq!(shift("March 30-31", 2).as_deref(), Some("April 1-2"));
        assert_eq!(shift("March 30-31", 1).as_deref(), Some("March 31-April 1"));
        assert_eq!(shift("3-5 March", 2).as_deref(), Some("5-7 March"));
        assert_eq!(shift("7 to 9 April.", -7).as_deref(), Some("31 March to 2 April"));
        assert_eq!(shift("10/03/10/04", 1), None, "a slash-joined pair is redacted, not guessed at");
    }

    #[test]
    fn written_forms_keep_their_shape() {
        assert_eq!(shift("Mar 14", 1).as_deref(), Some("Mar 15"));
        assert_eq!(shift("JULY 1", -1).as_deref(), Some("JUNE 30"));
        assert_eq!(shift("20th Oct, 1989", 2).as_deref(), Some("22nd Oct, 1989"));
        assert_eq!(shift("March 30, 2024", -10).as_deref(), Some("March 20, 2024"));
        assert_eq!(shift("the third of July", 1), None);
        assert_eq!(shift("March 3,2024", 1).as_deref(), Some("March 4,2024"));
    }

    #[test]
    fn month_and_year_keep_their_shape() {
        // Was "February 2124": "2024" read as day 20 of '24.
        assert_eq!(shift("March 2024", -10).as_deref(), Some("March 2024"));
        assert_eq!(shift("March 2024", 20).as_deref(), Some("April 2024"));
        assert_eq!(shift("Sept 2023", -20).as_deref(), Some("Aug 2023"));
        assert_eq!(shift("DEC. 1999", 30).as_deref(), Some("JAN. 2000"));
        assert_eq!(shift("Mar '05", 30).as_deref(), Some("Apr '05"));
        assert_eq!(shift("14-Mar-2024", 20).as_deref(), Some("03-Apr-2024"));
        assert_eq!(shift("3-JAN-98", -3).as_deref(), Some("31-DEC-97"));
    }

    #[test]
    fn years() {
        assert_eq!(year_of("03/14/2024"), Some(2024));
        assert_eq!(year_of("8/19/20"), Some(2020));
        assert_eq!(year_of("12/83"), Some(1983));
        assert_eq!(year_of("7/22"), None);
    }
}
