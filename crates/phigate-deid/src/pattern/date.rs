//! Numeric and written dates, and the context that tells a date ("on 8/9")
//! from a fraction, a score or a ventilator setting ("1/2", "pain 5/10",
//! "PSV 10/5"). Every filter here was chosen on the training split.

use super::{Groups, Match, Patterns, anchored_matches, next_word, prev_word};
use crate::dictionary::Flags;
use crate::span::{Kind, Span};

/// "CABG '79", "PTCA in '09": a two-digit year after an apostrophe that
/// starts a word (not "120-140's", not the feet of "5'10").
pub(super) fn apostrophe_years(text: &str, out: &mut Vec<Span>) {
    let b = text.as_bytes();
    for (i, _) in text.match_indices('\'') {
        let two_digits = b.get(i + 1..i + 3).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
        let word_start = i == 0 || matches!(b[i - 1], b' ' | b'(' | b',' | b'\n' | b'\t' | b'/');
        let ends = !b.get(i + 3).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'\'');
        if two_digits && word_start && ends {
            let start = month_day_before(text, i).or_else(|| month_word_before(text, i)).unwrap_or(i + 1);
            out.push(Span::new(start, i + 3, Kind::Date));
        }
    }
}

/// "3/4/'05": where the month/day written before the apostrophe at
/// `apostrophe` starts, so the whole date goes and not just its year.
fn month_day_before(text: &str, apostrophe: usize) -> Option<usize> {
    let head = text[..apostrophe].strip_suffix('/')?;
    let start = head.bytes().rposition(|c| !(c.is_ascii_digit() || c == b'/')).map_or(0, |i| i + 1);
    if start > 0 && matches!(head.as_bytes()[start - 1], b'.' | b'-') {
        return None;
    }
    let (month, day) = head[start..].split_once('/')?;
    let value =
        |s: &str, max: u32| (1..=2).contains(&s.len()) && s.parse::<u32>().is_ok_and(|n| (1..=max).contains(&n));
    (value(month, 12) && value(day, 31)).then_some(start)
}

/// "Mar '05", "June '99": where the month name before the apostrophe at
/// `apostrophe` starts (month and year together are a date element).
fn month_word_before(text: &str, apostrophe: usize) -> Option<usize> {
    let head = text[..apostrophe].trim_end_matches(' ');
    if head.len() == apostrophe || apostrophe - head.len() > 2 {
        return None;
    }
    let head = head.strip_suffix('.').unwrap_or(head);
    let start = head.bytes().rposition(|c| !c.is_ascii_alphabetic()).map_or(0, |i| i + 1);
    let word = &head[start..];
    (!word.is_empty() && crate::dictionary::lookup(word).0.intersects(Flags::MONTH)).then_some(start)
}

/// "10.13.04", "3.5.2021": month, day and year joined by dots, as some
/// sites and European-trained writers date. All three parts must be there
/// and valid, and nothing numeric may be glued on either side, so a run of
/// decimals ("7.45.34.7"), a version or an IP address is left alone.
pub(super) fn dotted_dates(text: &str, runs: &[(usize, usize)], out: &mut Vec<Span>) {
    let b = text.as_bytes();
    for (k, w) in runs.windows(3).enumerate() {
        let [(s0, e0), (s1, e1), (s2, e2)] = [w[0], w[1], w[2]];
        let joined = b.get(e0) == Some(&b'.') && s1 == e0 + 1 && b.get(e1) == Some(&b'.') && s2 == e1 + 1;
        if !joined || e0 - s0 > 2 || e1 - s1 > 2 || !matches!(e2 - s2, 2 | 4) {
            continue;
        }
        let glued_before = s0 > 0 && matches!(b[s0 - 1], b'.' | b'/' | b'-' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z');
        let glued_after = match b.get(e2) {
            Some(c) if c.is_ascii_alphanumeric() || matches!(c, b'/' | b'-') => true,
            Some(b'.') => b.get(e2 + 1).is_some_and(u8::is_ascii_digit),
            _ => false,
        };
        // The third of four dotted runs ("1.2.3.4") is an address, not a date.
        let fourth = runs.get(k + 3).is_some_and(|&(s3, _)| s3 == e2 + 1 && b[e2] == b'.');
        if glued_before || glued_after || fourth || UNIT_WORDS.contains(&next_word(text, e2).as_str()) {
            continue;
        }
        let num = |s: usize, e: usize| text[s..e].parse::<u32>().ok();
        let (Some(month), Some(day), Some(year)) = (num(s0, e0), num(s1, e1), num(s2, e2)) else { continue };
        let year_ok = e2 - s2 == 2 || (1900..2100).contains(&year);
        if (1..=12).contains(&month) && (1..=31).contains(&day) && year_ok {
            out.push(Span::new(s0, e2, Kind::Date));
        }
    }
}

/// "it's the 11th.", "discharged on the 3rd": a day of the month named by
/// its ordinal alone. Only after "the" and before the end of a clause, so
/// "the 4th ICS", "the 5th rib" and "3rd floor" stay: an ordinal with a noun
/// after it counts things, one that closes a clause names a day.
pub(super) fn ordinal_days(text: &str, out: &mut Vec<Span>) {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() || (i > 0 && b[i - 1].is_ascii_alphanumeric()) {
            i += 1;
            continue;
        }
        let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        let end = i + digits + 2;
        let suffix = b.get(i + digits..end).map(<[u8]>::to_ascii_lowercase);
        let is_ordinal = matches!(suffix.as_deref(), Some(b"st" | b"nd" | b"rd" | b"th"));
        let day_ok = digits <= 2 && text[i..i + digits].parse::<u32>().is_ok_and(|d| (1..=31).contains(&d));
        if day_ok && is_ordinal && !b.get(end).is_some_and(u8::is_ascii_alphanumeric) {
            let rest = text[end..].trim_start_matches([' ', '\t']);
            let closes = rest.chars().next().is_none_or(|c| ".,;:!?\"')\n\r".contains(c));
            if closes && prev_word(text, i) == "the" {
                out.push(Span::new(i, end, Kind::Date));
            }
        }
        i += digits.max(1);
    }
}

/// Words after a number that make it a quantity, not a date or phone.
pub(super) const UNIT_WORDS: &[&str] = &[
    "mg", "mcg", "g", "kg", "ml", "cc", "l", "lpm", "u", "units", "unit", "meq", "mmol", "tab", "tabs", "tablet",
    "tablets", "amp", "amps", "ns", "strength", "dose", "doses", "puffs", "mmhg", "hr", "hrs", "min", "mins", "%", "x",
    "times", "liters", "liter", "inch", "cm", "mm", "bpm", "drops", "gtts", "nc", "fio", "peep", "ps", "way", "assist",
    "people", "staff", "mcgs", "hour", "hours",
];
/// Words before a fraction that make it a score or ratio, not a date.
pub(super) const RATIO_WORDS: &[&str] = &[
    "strength",
    "motor",
    "grade",
    "murmur",
    "gcs",
    "apgar",
    "bp",
    "ratio",
    "nbp",
    "abp",
    "cvp",
    "map",
    "pap",
    "pa",
    "ie",
    "i",
    "score",
    "sats",
    "scale",
    "pain",
    "x",
    "vent",
    "ps",
    "peep",
    "rate",
    "hr",
    "rr",
    "sbp",
    "dbp",
    "ps",
    "cpap",
    "bipap",
    "mag",
    "k",
    "ca",
    "phos",
    "hct",
    "wbc",
    "plt",
    "inr",
    "pt",
    "ptt",
    "bun",
    "cr",
    "na",
    "cl",
    "co",
    "ci",
    "svr",
    "svo",
    "iabp",
    "lytes",
    "abg",
    "vbg",
    "ph",
    "po",
    "pco",
    "fio",
    "rhythm",
    "sounds",
    "pulses",
    "level",
    "psv",
    "flowby",
    "ventilation",
    "crackles",
    "rales",
    "ivf",
    "cx",
    "cxs",
    "simv",
    "imv",
    "mode",
    "settings",
    "trial",
    "ac",
    "rhonchi",
    "wheezes",
    "up",
    "bilat",
    "perrla",
    "perl",
    "pupils",
    "ett",
    "tv",
    "vt",
];

pub(super) fn numeric_dates(p: &Patterns, text: &str, runs: &[(usize, usize)], out: &mut Vec<Span>) {
    anchored_matches(&p.date_numeric, text, &numeric_date_starts(text.as_bytes(), runs), |caps| {
        let Some(m) = caps.get(0) else { return };
        if let Some(end) = slash_joined_range(text, m.start(), m.end()).or_else(|| dash_joined_range(text, caps)) {
            out.push(Span::new(m.start(), end, Kind::Date));
            return;
        }
        if let Some(kind) = numeric_date_kind(text, caps) {
            out.push(Span::new(m.start(), m.end(), kind));
        }
    });
}

/// Where a numeric date can start: the last one or two digits of a run that
/// a slash or a dash follows (the pattern has no word boundary before:
/// "123/4" reads "23/4").
pub(super) fn numeric_date_starts(b: &[u8], runs: &[(usize, usize)]) -> Vec<usize> {
    let mut starts = Vec::new();
    for &(s, e) in runs {
        if matches!(b.get(e), Some(b'/' | b'-')) {
            starts.extend([(e - s >= 2).then(|| e - 2), Some(e - 1)].into_iter().flatten());
        }
    }
    starts
}

/// "10/03/10/04": two month/day dates run together by a slash, the second
/// not before the first. The regex reads "10/03/10" as a date with a year and
/// stops at the slash; this returns the end of the second date.
fn slash_joined_range(text: &str, start: usize, end: usize) -> Option<usize> {
    let b = text.as_bytes();
    if b.get(end) != Some(&b'/') || (start > 0 && (b[start - 1].is_ascii_digit() || b[start - 1] == b'/')) {
        return None;
    }
    let tail = b[end + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
    let stop = end + 1 + tail;
    if !(1..=2).contains(&tail) || b.get(stop).is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'/') {
        return None;
    }
    let parts: Vec<u32> = text[start..stop].split('/').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let [m1, d1, m2, d2] = parts[..] else { return None };
    let valid = |m: u32, d: u32| (1..=12).contains(&m) && (1..=31).contains(&d);
    (valid(m1, d1) && valid(m2, d2) && (m2, d2) >= (m1, d1)).then_some(stop)
}

/// "3/4-3/6": two month/day dates joined by a dash, the second not before
/// the first. The range shape is the evidence, so the left end counts as a
/// date even when it alone reads as a fraction ("3/4"); a run of fractions
/// ("1/3-1/2", "1/2-3/4") and ventilator or score context stay. Returns the
/// end of the second date.
fn dash_joined_range(text: &str, caps: &Groups<'_>) -> Option<usize> {
    let m = caps.get(0)?;
    // Month/day with a slash and no year.
    if caps.get(2)?.as_str() != "/" || caps.get(4).is_some() {
        return None;
    }
    let b = text.as_bytes();
    if m.start() > 0 && matches!(b[m.start() - 1], b'0'..=b'9' | b'/' | b'.' | b'-' | b'+' | b'=' | b'%' | b':') {
        return None;
    }
    let rest = text[m.end()..].strip_prefix('-')?;
    let len = rest.bytes().take_while(|c| c.is_ascii_digit() || *c == b'/').count();
    let stop = m.end() + 1 + len;
    if b.get(stop).is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'/' | b'%' | b'-')) {
        return None;
    }
    let (m2, d2) = rest[..len].split_once('/')?;
    let value = |s: &str, max: u32| {
        (1..=2).contains(&s.len()).then(|| s.parse::<u32>().ok()).flatten().filter(|n| (1..=max).contains(n))
    };
    let (m1, d1) = (value(caps.get(1)?.as_str(), 12)?, value(caps.get(3)?.as_str(), 31)?);
    let (m2, d2) = (value(m2, 12)?, value(d2, 31)?);
    let fraction = |m: u32, d: u32| m < d && d <= 4;
    let prev = prev_word(text, m.start());
    let next = next_word(text, stop);
    let context = RATIO_WORDS.contains(&prev.as_str())
        || VENT_WORDS.contains(&prev.as_str())
        || UNIT_WORDS.contains(&next.as_str())
        || VENT_WORDS.contains(&next.as_str());
    ((m2, d2) >= (m1, d1) && !(fraction(m1, d1) && fraction(m2, d2)) && !context).then_some(stop)
}

fn numeric_date_kind(text: &str, caps: &Groups<'_>) -> Option<Kind> {
    let m = caps.get(0)?;
    // Two alternatives (slash, dash) so the year separator matches the first.
    let g = |i: usize| caps.get(i).or_else(|| caps.get(i + 4));
    let month: u32 = g(1)?.as_str().parse().ok()?;
    let sep = g(2)?.as_str();
    let day_s = g(3)?.as_str();
    let day: u32 = day_s.parse().ok()?;
    let year = g(4);
    if !(1..=12).contains(&month) {
        return None;
    }
    let before = text[..m.start()].chars().next_back();
    let before2 = text[..m.start()].chars().rev().nth(1);
    // Glued to other numbers or decimals: part of a measurement or a longer id.
    let glued_before = match before {
        Some(c) if c.is_ascii_digit() => true,
        Some(':') => !before2.is_some_and(|c| c.is_ascii_alphabetic()),
        Some('/' | '+' | '=' | '%' | '^') => true,
        // "10/26-10/28" is a range of dates.
        Some('-') if date_token_before(&text[..m.start() - 1]) => false,
        // "7.5/5" is a measurement, "Quartermain.8/31" a date.
        Some('.' | '-') => before2.is_some_and(|c| c.is_ascii_digit() || c == '/'),
        // "fx4/97": a letter glued on is only acceptable with a year.
        Some(c) if c.is_ascii_alphabetic() => year.is_none() && day <= 31,
        _ => false,
    };
    let after = text[m.end()..].chars().next();
    let after2 = text[m.end()..].chars().nth(1);
    let glued_after = match after {
        Some('/' | '%') => true,
        Some(':' | '.') => after2.is_some_and(|c| c.is_ascii_digit()),
        Some('-') => year.is_none() && after2.is_some_and(|c| c.is_ascii_digit()) && sep == "-",
        _ => false,
    };
    if glued_before || glued_after {
        return None;
    }
    let day_ok = (1..=31).contains(&day) && day_s.len() <= 2;
    if year.is_none() {
        if sep == "-" {
            // "3-4" is a range of counts far more often than a date, unless a
            // preposition that takes a date comes first ("on 7-8").
            let prev = prev_word(text, m.start());
            let ok = day_ok && ["on", "from", "since", "until", "till", "dated"].contains(&prev.as_str());
            return ok.then_some(Kind::Date);
        }
        if !day_ok && day_s.len() == 4 {
            // "02/2024": month and year (the pattern takes four digits here
            // only as 19xx or 20xx), unless a dilution or a count.
            let (prev, next) = (prev_word(text, m.start()), next_word(text, m.end()));
            let ok = !RATIO_WORDS.contains(&prev.as_str()) && !UNIT_WORDS.contains(&next.as_str());
            return ok.then_some(Kind::Date);
        }
        if !day_ok {
            // "12/83": month and two-digit year.
            return (day >= 32 && day_s.len() == 2).then_some(Kind::Date);
        }
        let next = next_word(text, m.end());
        if UNIT_WORDS.contains(&next.as_str()) || VENT_WORDS.contains(&next.as_str()) || next == "pain" {
            return None;
        }
        let prev = prev_word(text, m.start());
        // "admitted 3/4", "seen on 8/5": an event verb right before (or
        // before "on") takes a date, whatever the fraction-like shape.
        let weekday = {
            let head = text[..m.start()].trim_end_matches([' ', '\t', ',']);
            WEEKDAYS.contains(&prev_word(head, head.len()).as_str())
        };
        if date_cue_before(text, m.start(), &prev) || weekday {
            return Some(Kind::Date);
        }
        // "03/04": nobody pads a fraction, a score or a setting with a zero.
        let month_s = g(1)?.as_str();
        let padded = month_s.len() == 2 && day_s.len() == 2 && (month_s.starts_with('0') || day_s.starts_with('0'));
        if padded && !RATIO_WORDS.contains(&prev.as_str()) {
            return Some(Kind::Date);
        }
        // "1/2", "2/3", "3/4": fractions (never a date in the training notes).
        if month < day && day <= 4 {
            return None;
        }
        if RATIO_WORDS.contains(&prev.as_str()) {
            return None;
        }
        // Pain scores: "pain 6/10", "pain #9/10", "chest pain (7/10)",
        // "experiencing 6/10 cp".
        if day == 10 {
            let head = text[..m.start()].trim_end_matches([' ', '#', '(']);
            if PAIN_WORDS.contains(&prev.as_str())
                || PAIN_WORDS.contains(&prev_word(head, head.len()).as_str())
                || ["cp", "discomfort", "ha", "headache", "incisional"].contains(&next.as_str())
            {
                return None;
            }
        }
        // "5/5", "10/5", "2/2": ventilator settings and counts far more often
        // than dates when a setting word or a bare preposition comes first.
        if (month == day || (day == 5 && month >= 5))
            && (SETTING_PREV.contains(&prev.as_str())
                || next == "abg"
                || text[..m.start()].trim_end_matches(' ').ends_with(['(', ',']))
        {
            return None;
        }
        // "%", "&", "x" right before: part of a ventilator or dose string.
        let head = text[..m.start()].trim_end_matches(' ');
        if head.len() < m.start() {
            let mut rev = head.chars().rev();
            let d1 = rev.next();
            let d2 = rev.next();
            if matches!(d1, Some('%' | '&')) || (d1 == Some('x') && !d2.is_some_and(|c| c.is_ascii_alphabetic())) {
                return None;
            }
        }
    } else if !day_ok {
        return None;
    }
    Some(Kind::Date)
}

/// Days of the week, which name the date after them ("Mon 3/4"). Not
/// "sat", which is an oxygen saturation in notes.
const WEEKDAYS: &[&str] = &[
    "mon",
    "monday",
    "tue",
    "tues",
    "tuesday",
    "wed",
    "weds",
    "wednesday",
    "thu",
    "thur",
    "thurs",
    "thursday",
    "fri",
    "friday",
    "saturday",
    "sun",
    "sunday",
];

/// Words that take a date directly ("admitted 3/4").
const DATE_VERBS: &[&str] = &["admitted", "readmitted", "discharged", "dated", "born", "since", "until", "till"];
/// Words that take a date through "on" ("seen on 8/5"). Not "placed" or
/// "trialed": "placed on 10/5" is a ventilator setting in ICU notes.
const DATE_VERBS_ON: &[&str] = &[
    "seen",
    "admitted",
    "readmitted",
    "discharged",
    "consulted",
    "evaluated",
    "visit",
    "appointment",
    "scheduled",
    "drawn",
    "removed",
    "surgery",
    "operated",
    "presented",
];

/// True when the words before a year-less numeric date make it a date.
fn date_cue_before(text: &str, at: usize, prev: &str) -> bool {
    if DATE_VERBS.contains(&prev) {
        return true;
    }
    let head = text[..at].trim_end_matches([' ', '\t']);
    let before_prev = &head[..head.len() - prev.len()];
    match prev {
        // "1/29 to 2/4": the far end of a range of dates.
        "to" | "through" | "thru" => date_token_before(before_prev.trim_end_matches([' ', '\t'])),
        "on" => {
            if DATE_VERBS_ON.contains(&prev_word(before_prev, before_prev.len()).as_str()) {
                return true;
            }
            // "Follow-up with Dr. Lawson on 8/5": an appointment named just before.
            let window = &before_prev[super::floor_char_boundary(before_prev, before_prev.len().saturating_sub(40))..];
            let window = window.to_ascii_lowercase();
            ["follow-up", "follow up", "followup", "appointment", "appt"].iter().any(|w| window.contains(w))
        }
        _ => false,
    }
}

/// True when `head` ends in a month/day date ("10/26", "5/10/24"), so what
/// follows a dash or "to" is the other end of a range.
fn date_token_before(head: &str) -> bool {
    let start = head.bytes().rposition(|c| !(c.is_ascii_digit() || c == b'/')).map_or(0, |i| i + 1);
    let mut parts = head[start..].split('/');
    let (Some(month), Some(day)) = (parts.next(), parts.next()) else { return false };
    let value =
        |s: &str, max: u32| (s.len() <= 2).then(|| s.parse::<u32>().ok()).flatten().filter(|n| (1..=max).contains(n));
    let (Some(month), Some(day)) = (value(month, 12), value(day, 31)) else { return false };
    let year = parts.next();
    // "1/2 to 2/3" is a run of fractions: the left end must not be one.
    let fraction = year.is_none() && month < day && day <= 4;
    !fraction && year.is_none_or(|y| y.len() == 2 || y.len() == 4) && parts.next().is_none()
}

/// Words after a fraction that make it a ventilator setting.
pub(super) const VENT_WORDS: &[&str] = &["psv", "cpap", "bipap", "peep", "simv", "imv", "ps", "bottles", "fio"];

/// Words before "5/5"-like values that make them settings.
pub(super) const SETTING_PREV: &[&str] = &[
    "on",
    "to",
    "of",
    "from",
    "bipap",
    "ps",
    "psv",
    "cpap",
    "peep",
    "perrla",
    "excellent",
    "trialed",
    "remained",
    "wean",
    "weaning",
    "settings",
    "mode",
    "ac",
    "simv",
    "imv",
    "with",
];

/// Words around an "n/10" that make it a pain score.
pub(super) const PAIN_WORDS: &[&str] = &[
    "pain",
    "cp",
    "rating",
    "rated",
    "rates",
    "scale",
    "discomfort",
    "ha",
    "headache",
    "incisional",
    "o",
    "c",
    "of",
    "at",
    "as",
];

/// Written dates in `text[ws..we]` that contain the month word starting at
/// byte `month_at`.
pub(super) fn written_dates(p: &Patterns, text: &str, ws: usize, we: usize, month_at: usize, out: &mut Vec<Span>) {
    for (which, re) in
        [&p.date_month_first, &p.date_day_first, &p.date_ordinal_words, &p.date_month_year].into_iter().enumerate()
    {
        for m in re.find_iter(&text[ws..we]) {
            let (mut start, mut end) = (ws + m.start(), ws + m.end());
            if !(start <= month_at && month_at < end) {
                continue;
            }
            let m = Match { start, end, text };
            let s = m.as_str();
            // "may 2 units", "dec 10 mg": a modal verb or "decreased", not a month.
            if UNIT_WORDS.contains(&next_word(text, m.end()).as_str()) {
                continue;
            }
            let word_len = s.bytes().take_while(u8::is_ascii_alphabetic).count();
            let word = &s[..word_len];
            if ["dec", "may", "mar"].contains(&word) && !s.contains(',') {
                // Lower-case "dec 2" / "may 3" / "mar" read as words in notes.
                let digits = s.bytes().filter(u8::is_ascii_digit).count();
                let prev = prev_word(text, m.start());
                let cued =
                    ["in", "on", "since", "until", "till", "by", "of", "before", "after"].contains(&prev.as_str());
                if digits < 3 && !cued {
                    continue;
                }
            }
            // "March 3-5", "3 to 5 March": the other end of a range of days.
            match (which, lone_day(s)) {
                (0, Some(day)) => end = day_range_after(text, end, day).unwrap_or(end),
                (1, Some(day)) => start = day_range_before(text, start, day).unwrap_or(start),
                _ => {}
            }
            out.push(Span::new(start, end, Kind::Date));
        }
    }
}

/// The day of a written date that has no year ("March 3", "5th of May").
fn lone_day(s: &str) -> Option<u32> {
    let mut groups = s.split(|c: char| !c.is_ascii_digit()).filter(|g| !g.is_empty());
    let day = groups.next()?;
    (groups.next().is_none() && day.len() <= 2).then(|| day.parse().ok()).flatten()
}

/// Words joining the two days of a range.
const RANGE_JOINS: &[&str] = &["-", "\u{2013}", "to", "through", "thru"];

/// "March 3-5": the end of a later day joined to the date ending at `end`
/// (day `first`) by a dash or "to", unless a count follows ("Jan 3-5 days").
fn day_range_after(text: &str, end: usize, first: u32) -> Option<usize> {
    let rest = text[end..].trim_start_matches(' ');
    let join = RANGE_JOINS
        .iter()
        .find(|j| rest.len() > j.len() && rest.get(..j.len()).is_some_and(|x| x.eq_ignore_ascii_case(j)))?;
    let alphabetic_join = join.starts_with(|c: char| c.is_ascii_alphabetic());
    let after = &rest[join.len()..];
    if alphabetic_join && !after.starts_with(' ') {
        return None;
    }
    let after = after.trim_start_matches(' ');
    let digits = after.bytes().take_while(u8::is_ascii_digit).count();
    let day: u32 = after.get(..digits).filter(|d| (1..=2).contains(&d.len()))?.parse().ok()?;
    let suffix =
        after[digits..].get(..2).filter(|x| ["st", "nd", "rd", "th"].contains(&x.to_ascii_lowercase().as_str()));
    let stop = text.len() - after.len() + digits + suffix.map_or(0, str::len);
    let b = text.as_bytes();
    let glued = b.get(stop).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'/')
        || (matches!(b.get(stop), Some(b'.' | b':')) && b.get(stop + 1).is_some_and(u8::is_ascii_digit));
    let next = next_word(text, stop);
    let counted = COUNT_WORDS.contains(&next.as_str()) || UNIT_WORDS.contains(&next.as_str());
    (first < day && day <= 31 && !glued && !counted).then_some(stop)
}

/// "3-5 March": the start of an earlier day joined to the date starting at
/// `start` (day `last`) by a dash or "to".
fn day_range_before(text: &str, start: usize, last: u32) -> Option<usize> {
    let head = text[..start].trim_end_matches(' ');
    let join = RANGE_JOINS.iter().find(|j| {
        head.len() > j.len() && head.get(head.len() - j.len()..).is_some_and(|x| x.eq_ignore_ascii_case(j))
    })?;
    let before = &head[..head.len() - join.len()];
    if join.starts_with(|c: char| c.is_ascii_alphabetic()) && !before.ends_with(' ') {
        return None;
    }
    let before = before.trim_end_matches(' ');
    let before = ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|x| {
            before
                .len()
                .checked_sub(2)
                .filter(|&i| before.get(i..).is_some_and(|y| y.eq_ignore_ascii_case(x)))
                .map(|i| &before[..i])
        })
        .unwrap_or(before);
    let digits = before.bytes().rev().take_while(u8::is_ascii_digit).count();
    let from = before.len() - digits;
    let day: u32 = before[from..].parse().ok().filter(|_| (1..=2).contains(&digits))?;
    let glued = from.checked_sub(1).is_some_and(|k| {
        let c = text.as_bytes()[k];
        c.is_ascii_alphanumeric() || matches!(c, b'/' | b'.' | b':' | b'-')
    });
    (day < last && day >= 1 && !glued).then_some(from)
}

/// Words after a number that count things ("Jan 3-5 days"), not days of a month.
const COUNT_WORDS: &[&str] =
    &["days", "day", "weeks", "week", "wks", "wk", "months", "month", "years", "yrs", "times", "hours", "hrs", "mins"];
