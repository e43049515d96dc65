//! Ages over 89 in the two forms the digit-anchored age pattern cannot see:
//! written in words ("ninety-two year old", "one hundred and one years of
//! age") and the age-and-sex shorthand that opens a history ("92F with CHF",
//! "HPI: 101 M"). Safe Harbor removes every age over 89 whatever its form.

use super::{next_word, prev_word};
use crate::span::{Kind, Span};
use crate::token::{Lower, Token};

const UNITS: &[&str] = &["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
const TEENS: &[&str] =
    &["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"];

/// True when a word of `len` bytes starting with byte `first` can start a
/// written age ("ninety", "one", "hundred"): the cheap test the caller's
/// single pass over the words makes before [`written_age_at`].
pub(super) fn may_start(len: usize, first: u8) -> bool {
    matches!((len, first | 0x20), (6, b'n') | (3, b'o') | (7, b'h'))
}

/// "ninety-two year old", "Ninety five yo", "one hundred and one years of
/// age", starting at word `i`.
pub(super) fn written_age_at(text: &str, tokens: &[Token], i: usize, out: &mut Vec<Span>) {
    let word = |k: usize| tokens.get(k).map(|t| Lower::new(t.text(text)));
    let is = |k: usize, set: &[&str]| word(k).is_some_and(|w| set.contains(&w.as_str()));
    let t = &tokens[i];
    let w = t.text(text);
    let is_next = |k: usize, target: &str| tokens.get(k).is_some_and(|n| n.text(text).eq_ignore_ascii_case(target));
    let (start, mut last) = match w.len() {
        6 if w.eq_ignore_ascii_case("ninety") => (t.start, i),
        // "one hundred" is claimed at "one".
        7 if w.eq_ignore_ascii_case("hundred") && !(i > 0 && is_next(i - 1, "one")) => (t.start, i),
        3 if w.eq_ignore_ascii_case("one") && is_next(i + 1, "hundred") => (t.start, i + 1),
        _ => return,
    };
    if is(last, &["ninety"]) {
        if is(last + 1, UNITS) && joined(text, tokens, last) {
            last += 1;
        }
    } else {
        let mut k = last + 1;
        if is(k, &["and"]) {
            k += 1;
        }
        if (is(k, UNITS) || is(k, TEENS)) && joined(text, tokens, k - 1) {
            last = k;
        }
    }
    let end = tokens[last].end;
    if age_unit_follows(text, end) {
        out.push(Span::new(start, end, Kind::Age));
    }
}

/// True when one space or hyphen is all that separates word `k` from the next.
fn joined(text: &str, tokens: &[Token], k: usize) -> bool {
    tokens.get(k + 1).is_some_and(|n| matches!(&text[tokens[k].end..n.start], " " | "-"))
}

/// "year old", "-year-old", "yo", "y/o", "years of age" right after `end`.
fn age_unit_follows(text: &str, end: usize) -> bool {
    let rest = text[end..].trim_start_matches([' ', '-']).to_ascii_lowercase();
    let rest = rest.as_str();
    ["y/o", "y.o", "yo ", "yo,", "yo.", "yr old", "yr-old", "yrs old", "year old", "year-old", "years old", "years-old"]
        .iter()
        .any(|u| rest.starts_with(u))
        || rest == "yo"
        || rest.starts_with("years of age")
        || rest.starts_with("year of age")
}

/// "92F with CHF", "101 M s/p fall": an age over 89 with a one-letter sex
/// that opens a history. "F" is also Fahrenheit ("T 101F", "spiked to
/// 100F"), so "F" needs a history word after it or nothing but a line start,
/// "pt", "is a" or "HPI:" before it.
pub(super) fn shorthand_ages(text: &str, runs: &[(usize, usize)], out: &mut Vec<Span>) {
    let b = text.as_bytes();
    for &(s, e) in runs {
        let old = (e - s == 2 && b[s] == b'9') || (e - s == 3 && b[s] == b'1' && b[s + 1] <= b'1');
        if !old || (s > 0 && matches!(b[s - 1], b'.' | b'/' | b'-' | b'+' | b'#')) {
            continue;
        }
        let at = if b.get(e) == Some(&b' ') { e + 1 } else { e };
        let sex = b.get(at).copied();
        if !matches!(sex, Some(b'M' | b'F')) || b.get(at + 1).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'\'')
        {
            continue;
        }
        let prev = prev_word(text, s);
        let next = next_word(text, at + 1);
        let history = ["with", "w", "who", "s", "h", "pmh", "hx", "presents", "presenting", "admitted", "transferred"]
            .contains(&next.as_str());
        let head = text[..s].trim_end_matches([' ', '\t']);
        let opener = head.is_empty()
            || head.ends_with(['\n', ':', '('])
            || ["pt", "patient", "hpi"].contains(&prev.as_str())
            || (prev.as_str() == "a" && prev_word(head, head.len() - 1).as_str() == "is");
        let temperature = ["t", "temp", "tmax", "tm", "tc", "to", "of", "febrile", "afebrile", "spiked", "fever", "vs"]
            .contains(&prev.as_str());
        if !temperature && (sex == Some(b'M') || history || opener) {
            out.push(Span::new(s, e, Kind::Age));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::span::Kind;
    use crate::token::tokenize;

    fn ages(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let toks = tokenize(text);
        crate::pattern::word_rules(text, &toks, &mut out);
        // The digit runs the pattern layer's scan lists.
        let runs = crate::pattern::Shape::of(text.as_bytes(), &toks).runs;
        super::shorthand_ages(text, &runs, &mut out);
        out.iter().filter(|s| s.kind == Kind::Age).map(|s| &text[s.start..s.end]).collect()
    }

    #[test]
    fn written_in_words() {
        assert_eq!(ages("Pt is a ninety-two year old woman."), ["ninety-two"]);
        assert_eq!(ages("Ninety five yo man"), ["Ninety five"]);
        assert_eq!(ages("she is ninety years of age"), ["ninety"]);
        assert_eq!(ages("aged one hundred and one years old"), ["one hundred and one"]);
        assert_eq!(ages("a one hundred year-old vet"), ["one hundred"]);
        // Under 90, or not an age.
        assert!(ages("an eighty-nine year old").is_empty());
        assert!(ages("ninety minutes later").is_empty());
        assert!(ages("one hundred ml given").is_empty());
        assert!(ages("sats in the nineties").is_empty());
    }

    #[test]
    fn age_and_sex_shorthand() {
        assert_eq!(ages("92F with CHF"), ["92"]);
        assert_eq!(ages("HPI: 101 M s/p fall"), ["101"]);
        assert_eq!(ages("Pt is a 94M."), ["94"]);
        assert_eq!(ages("pt 96 F, DNR"), ["96"]);
        // Fahrenheit, and numbers that are not ages.
        assert!(ages("T 101F overnight").is_empty());
        assert!(ages("spiked to 100F at 2am").is_empty());
        assert!(ages("temp 99.1F").is_empty());
        assert!(ages("recorded 101F, cultured").is_empty());
        assert!(ages("a 74M with CP").is_empty());
        assert!(ages("given 100 MG").is_empty());
    }
}
