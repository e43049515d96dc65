//! Holidays, which name a day of the year ("fell on Christmas Eve", "home
//! for Thanksgiving"): with the year of the note they are a full date, so
//! Safe Harbor removes them like any other element of a date. Capitalised
//! only: "easter egg" or "labor day" in lower case are rare and ambiguous.

use crate::span::{Kind, Span};
use crate::token::{Lower, Token};

/// One-word holidays.
const ONE: &[&str] = &[
    "christmas",
    "xmas",
    "thanksgiving",
    "easter",
    "halloween",
    "hanukkah",
    "chanukah",
    "passover",
    "kwanzaa",
    "diwali",
];
/// Holidays named "<word> Day" (also "<word>'s Day").
const DAY: &[&str] = &[
    "memorial",
    "labor",
    "labour",
    "independence",
    "veterans",
    "veteran's",
    "columbus",
    "presidents",
    "president's",
    "valentine's",
    "mother's",
    "father's",
    "year's",
];

/// True when a word of `len` bytes starting with byte `first` can start a
/// holiday: capitalised, and as long as one of them. The caller's single
/// pass over the words makes this test before [`holiday_at`].
pub(super) fn may_start(len: usize, first: u8) -> bool {
    first.is_ascii_uppercase() && (4..=12).contains(&len) && (len != 7 || first | 0x20 == b'k')
}

/// The holiday starting at word `i`, if one does.
pub(super) fn holiday_at(text: &str, tokens: &[Token], i: usize, out: &mut Vec<Span>) {
    let b = text.as_bytes();
    let word = |k: usize| tokens.get(k).map(|t| Lower::new(t.text(text)));
    let gap_is_space = |k: usize| tokens.get(k + 1).is_some_and(|n| &text[tokens[k].end..n.start] == " ");
    let day_after = |i: usize| {
        tokens.get(i + 1).is_some_and(|n| n.end - n.start == 3 && matches!(b[n.start] | 0x20, b'd' | b'e'))
            && gap_is_space(i)
            && word(i + 1).is_some_and(|n| matches!(n.as_str(), "day" | "eve"))
    };
    let t = &tokens[i];
    // Length and first letter of the one-word holidays, or a "Day"/"Eve"
    // after: nearly every word fails both.
    let one_word = matches!(
        (t.end - t.start, b[t.start] | 0x20),
        (9, b'c' | b'h') | (4, b'x') | (12, b't') | (6, b'e' | b'd') | (8, b'h' | b'c' | b'p') | (7, b'k')
    );
    if !one_word && !day_after(i) {
        return;
    }
    let Some(w) = word(i) else { return };
    let w = w.as_str();
    if ONE.contains(&w) {
        // "Christmas Eve", "Christmas Day" take the next word along.
        let end = if day_after(i) { tokens[i + 1].end } else { t.end };
        out.push(Span::new(t.start, end, Kind::Date));
    } else if DAY.contains(&w) && gap_is_space(i) && word(i + 1).is_some_and(|n| matches!(n.as_str(), "day" | "eve")) {
        // "New Year's Day": the "New" before goes too.
        let new = i > 0 && w == "year's" && word(i - 1).is_some_and(|p| p.as_str() == "new") && gap_is_space(i - 1);
        let start = if new { tokens[i - 1].start } else { t.start };
        if w != "year's" || new {
            out.push(Span::new(start, tokens[i + 1].end, Kind::Date));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::span::Kind;
    use crate::token::tokenize;

    fn found(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        crate::pattern::word_rules(text, &tokenize(text), &mut out);
        out.iter().filter(|s| s.kind == Kind::Date).map(|s| &text[s.start..s.end]).collect()
    }

    #[test]
    fn holidays_are_dates() {
        assert_eq!(found("Fell on Christmas Eve at home."), ["Christmas Eve"]);
        assert_eq!(found("home for Thanksgiving, back after Easter"), ["Thanksgiving", "Easter"]);
        assert_eq!(found("admitted New Year's Day"), ["New Year's Day"]);
        assert_eq!(found("since Memorial Day weekend"), ["Memorial Day"]);
        // Lower case, and words that only look like holidays.
        assert!(found("labor day and easter egg").is_empty());
        assert!(found("in labor, Memorial Hospital, the Year's end").is_empty());
    }
}
