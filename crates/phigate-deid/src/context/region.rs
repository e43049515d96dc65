//! States, countries and continents named as where someone is from, lives
//! or went: geography Safe Harbor lets through (a state or larger). The
//! rules that read a word alone would otherwise take it for a name or a
//! town ("from Ireland" is no surname, "son from Texas" no city), which
//! costs utility and, in the shared corpus, precision.

use std::sync::LazyLock;

use crate::token::{Lower, Token};

/// Rules whose proposal a region mention overrides: those that judge one
/// word by itself. Rules with a cue or a wider span ("Maryland Rehab",
/// "daughter Georgia", "Austin, Texas") are never overridden.
pub const OVERRIDABLE: &[&str] = &[
    "lone-first",
    "lone-last",
    "lone-last-caps",
    "classifier",
    "propagate",
    "place",
    "place-phrase",
    "destination",
    "origin",
    "residence",
];

/// Words before a region that say it is where someone is or comes from.
const BEFORE: &[&str] = &["from", "in", "to", "near", "visiting", "across", "throughout", "outside"];

/// Regions that are also given names or surnames.
const PERSON_NAMES: &[&str] =
    &["georgia", "virginia", "jordan", "india", "kenya", "israel", "washington", "asia", "trinidad", "montana"];

/// US states, countries and continents, lowercase, words separated by one space.
#[rustfmt::skip]
const REGIONS: &[&str] = &[
    "alabama", "alaska", "arizona", "arkansas", "california", "colorado", "connecticut", "delaware", "florida",
    "georgia", "hawaii", "idaho", "illinois", "indiana", "iowa", "kansas", "kentucky", "louisiana", "maine",
    "maryland", "massachusetts", "michigan", "minnesota", "mississippi", "missouri", "montana", "nebraska",
    "nevada", "ohio", "oklahoma", "oregon", "pennsylvania", "tennessee", "texas", "utah", "vermont", "virginia",
    "washington", "wisconsin", "wyoming", "new hampshire", "new jersey", "new mexico", "new york", "north carolina",
    "south carolina", "north dakota", "south dakota", "rhode island", "west virginia", "puerto rico", "afghanistan",
    "albania", "algeria", "argentina", "armenia", "australia", "austria", "bangladesh", "belgium", "bolivia",
    "bosnia", "brazil", "bulgaria", "cambodia", "cameroon", "canada", "chile", "china", "colombia", "croatia",
    "cuba", "denmark", "ecuador", "egypt", "england", "eritrea", "ethiopia", "finland", "france", "germany",
    "ghana", "greece", "guatemala", "haiti", "honduras", "hungary", "iceland", "india", "indonesia", "iran", "iraq",
    "ireland", "israel", "italy", "jamaica", "japan", "jordan", "kenya", "korea", "laos", "lebanon", "liberia",
    "libya", "lithuania", "malaysia", "mexico", "morocco", "nepal", "netherlands", "nicaragua", "nigeria", "norway",
    "pakistan", "panama", "peru", "philippines", "poland", "portugal", "romania", "russia", "rwanda", "scotland",
    "senegal", "serbia", "somalia", "spain", "sudan", "sweden", "switzerland", "syria", "taiwan", "thailand",
    "turkey", "uganda", "ukraine", "uruguay", "venezuela", "vietnam", "wales", "yemen", "zimbabwe", "costa rica",
    "dominican republic", "el salvador", "hong kong", "new zealand", "north korea", "saudi arabia", "south africa",
    "south korea", "sri lanka", "united kingdom", "united states", "cape verde", "trinidad", "africa", "asia",
    "europe", "caribbean", "south america", "central america", "latin america", "middle east",
];

/// [`REGIONS`] as (first word, the words after it), sorted by first word
/// so a lookup is a binary search.
static BY_FIRST: LazyLock<Vec<(&'static str, Vec<&'static str>)>> = LazyLock::new(|| {
    let mut v: Vec<(&'static str, Vec<&'static str>)> = REGIONS
        .iter()
        .map(|r| {
            let mut words = r.split(' ');
            (words.next().unwrap_or_default(), words.collect())
        })
        .collect();
    v.sort();
    v
});

/// True when the byte range `start..end` (a proposal of one of the
/// [`OVERRIDABLE`] rules) lies inside a region that follows a word of
/// location ("from Ireland", "to New Hampshire") or a capitalised place and
/// a comma ("Dublin, Ireland"). Checked per proposal, not per word: few
/// proposals come from those rules, and a region is at most three words.
pub fn in_region(text: &str, tokens: &[Token], start: usize, end: usize) -> bool {
    let at = tokens.partition_point(|t| t.start < start);
    (at.saturating_sub(2)..=at).any(|i| region_at(text, tokens, i).is_some_and(|(s, e)| s <= start && end <= e))
}

/// The byte range of the cued region that starts at token `i`, if any.
fn region_at(text: &str, tokens: &[Token], i: usize) -> Option<(usize, usize)> {
    if i == 0 || i >= tokens.len() {
        return None;
    }
    let word = |k: usize| Lower::new(tokens[k].text(text));
    let gap = |k: usize| &text[tokens[k].end..tokens[k + 1].start];
    let before = gap(i - 1);
    let after_place = before == ", " && tokens[i - 1].text(text).starts_with(|c: char| c.is_ascii_uppercase());
    let after_word = before == " " && BEFORE.contains(&word(i - 1).as_str());
    if !(after_place || after_word) {
        return None;
    }
    // "Rawlins, WY 82301": a state code between a place and a ZIP. The ZIP
    // is required: "LEE, AL" is a surname and a given name.
    let code = tokens[i].text(text);
    if after_place
        && code.len() == 2
        && code.bytes().all(|b| b.is_ascii_uppercase())
        && super::place::is_state(code)
        && text[tokens[i].end..].strip_prefix(' ').is_some_and(|rest| {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            digits == 5 && !rest[5..].starts_with(|c: char| c.is_alphanumeric())
        })
    {
        return Some((tokens[i].start, tokens[i].end));
    }
    let first = word(i);
    let first = first.as_str();
    let by_first = &BY_FIRST[BY_FIRST.partition_point(|(f, _)| *f < first)..];
    let len = by_first
        .iter()
        .take_while(|(f, _)| *f == first)
        .filter(|(_, rest)| {
            rest.iter()
                .enumerate()
                .all(|(k, w)| i + k + 1 < tokens.len() && gap(i + k) == " " && word(i + k + 1).as_str() == *w)
        })
        .map(|(_, rest)| rest.len() + 1)
        .max()?;
    // "spoke to Georgia", "call from Jordan", "SMITH, JORDAN": a region that
    // is also a given name is taken as a region only after "in".
    let ambiguous = PERSON_NAMES.contains(&first) && len == 1;
    (!ambiguous || (after_word && word(i - 1).as_str() == "in")).then(|| (tokens[i].start, tokens[i + len - 1].end))
}

#[cfg(test)]
mod tests {
    use super::{in_region, region_at};
    use crate::token::tokenize;

    fn found(text: &str) -> Vec<&str> {
        let toks = tokenize(text);
        (0..toks.len()).filter_map(|i| region_at(text, &toks, i)).map(|(s, e)| &text[s..e]).collect()
    }

    #[test]
    fn regions_after_a_word_of_location() {
        assert_eq!(found("Pt is from Ireland; family from Puerto Rico."), ["Ireland", "Puerto Rico"]);
        assert_eq!(found("Drove up from New Hampshire last night"), ["New Hampshire"]);
        assert_eq!(found("SPOKE TO SON FROM TEXAS."), ["TEXAS"]);
        assert_eq!(found("Flew in from Dublin, Ireland."), ["Ireland"]);
        assert_eq!(found("12 Elm St, Rawlins, WY 82301"), ["WY"]);
        assert!(found("seen by LEE, AL today; Rawlins, WY").is_empty(), "a state code needs its ZIP");
        // A region word that names a person or goes without a cue stays out.
        assert!(found("Georgia called; daughter Virginia at bedside").is_empty());
        assert!(found("New York Presbyterian").is_empty());
        assert!(found("spoke to Georgia, call from Jordan").is_empty());
        assert_eq!(found("lives in Georgia now"), ["Georgia"]);
        assert!(found("seen by Smith, Georgia and Lopez, Jordan").is_empty(), "LAST, FIRST");
        let text = "family from Puerto Rico";
        let toks = tokenize(text);
        assert!(in_region(text, &toks, 19, 23), "Rico");
        assert!(in_region(text, &toks, 12, 23), "Puerto Rico");
        assert!(!in_region(text, &toks, 0, 6), "family");
    }
}
