//! States, countries and continents named as where someone is from, lives
//! or went: geography Safe Harbor lets through (a state or larger). The
//! rules that read a word alone would otherwise take it for a name or a
//! town ("from Ireland" is no surname, "son from Texas" no city), which
//! costs utility and, in the shared corpus, precision.

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

/// Byte ranges of the regions in `text` that follow a word of location
/// ("from Ireland", "to New Hampshire") or a capitalised place and a comma
/// ("Dublin, Ireland").
pub fn regions(text: &str, tokens: &[Token]) -> Vec<(usize, usize)> {
    let word = |k: usize| Lower::new(tokens[k].text(text));
    let gap = |k: usize| &text[tokens[k].end..tokens[k + 1].start];
    let mut out = Vec::new();
    for i in 1..tokens.len() {
        let first = word(i);
        let Some(len) = REGIONS
            .iter()
            .filter_map(|r| {
                let mut words = r.split(' ');
                (words.next() == Some(first.as_str())).then_some(())?;
                let mut len = 1;
                for w in words {
                    (i + len < tokens.len() && gap(i + len - 1) == " " && word(i + len).as_str() == w).then_some(())?;
                    len += 1;
                }
                Some(len)
            })
            .max()
        else {
            continue;
        };
        let before = gap(i - 1);
        // "spoke to Georgia", "call from Jordan": a region that is also a
        // given name is taken as a region only after "in" or a place and comma.
        let words = if PERSON_NAMES.contains(&first.as_str()) && len == 1 { &["in"][..] } else { BEFORE };
        let cued = (before == " " && words.contains(&word(i - 1).as_str()))
            || (before == ", " && tokens[i - 1].text(text).starts_with(|c: char| c.is_ascii_uppercase()));
        if cued {
            out.push((tokens[i].start, tokens[i + len - 1].end));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::regions;
    use crate::token::tokenize;

    fn found(text: &str) -> Vec<&str> {
        regions(text, &tokenize(text)).into_iter().map(|(s, e)| &text[s..e]).collect()
    }

    #[test]
    fn regions_after_a_word_of_location() {
        assert_eq!(found("Pt is from Ireland; family from Puerto Rico."), ["Ireland", "Puerto Rico"]);
        assert_eq!(found("Drove up from New Hampshire last night"), ["New Hampshire"]);
        assert_eq!(found("SPOKE TO SON FROM TEXAS."), ["TEXAS"]);
        assert_eq!(found("Flew in from Dublin, Ireland."), ["Ireland"]);
        // A region word that names a person or goes without a cue stays out.
        assert!(found("Georgia called; daughter Virginia at bedside").is_empty());
        assert!(found("New York Presbyterian").is_empty());
        assert!(found("spoke to Georgia, call from Jordan").is_empty());
        assert_eq!(found("lives in Georgia now"), ["Georgia"]);
    }
}
