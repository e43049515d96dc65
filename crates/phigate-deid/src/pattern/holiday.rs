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

pub(super) fn holidays(text: &str, tokens: &[Token], out: &mut Vec<Span>) {
    let b = text.as_bytes();
    let word = |k: usize| tokens.get(k).map(|t| Lower::new(t.text(text)));
    let gap_is_space = |k: usize| tokens.get(k + 1).is_some_and(|n| &text[tokens[k].end..n.start] == " ");
    for (i, t) in tokens.iter().enumerate() {
        if !b[t.start].is_ascii_uppercase() || t.end - t.start < 4 {
            continue;
        }
        let Some(w) = word(i) else { continue };
        let w = w.as_str();
        if ONE.contains(&w) {
            // "Christmas Eve", "Christmas Day" take the next word along.
            let next_day = gap_is_space(i) && word(i + 1).is_some_and(|n| matches!(n.as_str(), "eve" | "day"));
            let end = if next_day { tokens[i + 1].end } else { t.end };
            out.push(Span::new(t.start, end, Kind::Date));
        } else if DAY.contains(&w)
            && gap_is_space(i)
            && word(i + 1).is_some_and(|n| matches!(n.as_str(), "day" | "eve"))
        {
            // "New Year's Day": the "New" before goes too.
            let new = i > 0 && w == "year's" && word(i - 1).is_some_and(|p| p.as_str() == "new") && gap_is_space(i - 1);
            let start = if new { tokens[i - 1].start } else { t.start };
            if w != "year's" || new {
                out.push(Span::new(start, tokens[i + 1].end, Kind::Date));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::token::tokenize;

    fn found(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        super::holidays(text, &tokenize(text), &mut out);
        out.iter().map(|s| &text[s.start..s.end]).collect()
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
