//! Settling the spans a redaction replaces, so that redacting its output
//! again finds nothing new.
//!
//! Detection reads context: "SEEN BY X", the words either side of a
//! candidate. Once a span is replaced, its neighbours have different
//! context, and a second look can take a word the first left (the fuzzer
//! found such cases on mutated notes; docs/fuzzing.md). A redaction therefore
//! previews its own output, detects again on it, maps what is new back to
//! the source text and repeats until nothing new turns up.
//!
//! The preview is the caller's: [`crate::Deidentifier`] writes exactly its
//! output for the deterministic operators (redact, mask, generalize, keep)
//! and the `[KIND]` placeholder for the others (surrogate, pseudonym, date
//! shift), whose output is not meant to be detected again; detection reads a
//! placeholder as a hole. [`crate::Detector::detect_settled`] previews every
//! span as its placeholder (the gateway's own placeholders are holes too).
//!
//! On the 1,735 training-split notes of the shared corpus the second look
//! never finds anything, so the cost is one more detection per text that had
//! any identifier, and none for a text that had none.

use crate::detect::resolve;
use crate::span::Span;

/// How many looks at one text at most. Each look that finds something new
/// covers more of the source text, so the loop ends on its own; the cap
/// keeps an adversarial input from costing one pass per word.
pub(crate) const MAX_LOOKS: usize = 8;

/// Spans of `text`, starting from one `look`, that are closed under
/// "replace them with `replace`, look again": every look at the preview
/// finds only what is already covered (or the cap is reached).
pub(crate) fn settle(
    text: &str,
    look: impl Fn(&str) -> Vec<Span>,
    replace: impl Fn(&str, Span) -> String,
) -> Vec<Span> {
    let mut spans = look(text);
    for _ in 1..MAX_LOOKS {
        if spans.is_empty() {
            break;
        }
        let preview = Preview::new(text, &spans, &replace);
        let new: Vec<Span> =
            look(&preview.text).into_iter().map(|s| preview.to_source(s)).filter(|s| !covered(&spans, *s)).collect();
        if new.is_empty() {
            break;
        }
        spans.extend(new);
        spans = resolve(spans);
    }
    spans
}

/// The source text with `spans` replaced, plus where each replacement sits
/// in both texts.
struct Preview {
    text: String,
    regions: Vec<Region>,
}

/// One replaced span: `y` range in the preview, `x` range in the source.
#[derive(Clone, Copy)]
struct Region {
    y_start: usize,
    y_end: usize,
    x_start: usize,
    x_end: usize,
}

impl Preview {
    /// Writes `text` with `spans` (sorted, non-overlapping) replaced.
    fn new(text: &str, spans: &[Span], replace: impl Fn(&str, Span) -> String) -> Self {
        let mut regions = Vec::with_capacity(spans.len());
        let spliced = splice(
            text,
            spans,
            |value, s| Ok::<_, std::convert::Infallible>(replace(value, s)),
            |y: std::ops::Range<usize>, s| {
                regions.push(Region { y_start: y.start, y_end: y.end, x_start: s.start, x_end: s.end });
            },
        );
        let Ok(text) = spliced;
        Self { text, regions }
    }

    /// Maps a span found in the preview back to the source text. A start or
    /// end inside a replacement takes in the whole replaced span, so a
    /// finding that overlaps a replacement extends it.
    fn to_source(&self, s: Span) -> Span {
        Span::new(self.map(s.start, false), self.map(s.end, true), s.kind)
    }

    fn map(&self, y: usize, is_end: bool) -> usize {
        // The last replacement that starts at or before `y`.
        let i = self.regions.partition_point(|r| r.y_start <= y);
        let Some(r) = i.checked_sub(1).map(|i| self.regions[i]) else {
            return y;
        };
        if y >= r.y_end {
            r.x_end + (y - r.y_end)
        } else if is_end && y > r.y_start {
            r.x_end
        } else {
            r.x_start
        }
    }
}

/// `text` with each of `spans` (sorted) replaced by what `replace` returns
/// for its value; a span that overlaps the one before it, or runs past the
/// end, is skipped. `placed` learns where each replacement landed in the
/// output. The one splicing loop behind both redaction and its preview.
pub(crate) fn splice<E>(
    text: &str,
    spans: &[Span],
    mut replace: impl FnMut(&str, Span) -> Result<String, E>,
    mut placed: impl FnMut(std::ops::Range<usize>, Span),
) -> Result<String, E> {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for s in spans {
        if s.start < at || s.end > text.len() {
            continue;
        }
        out.push_str(&text[at..s.start]);
        let y_start = out.len();
        out.push_str(&replace(&text[s.start..s.end], *s)?);
        placed(y_start..out.len(), *s);
        at = s.end;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

/// Whether every byte of `s` lies in some span of `spans` (sorted,
/// non-overlapping; adjacent spans together cover their union).
fn covered(spans: &[Span], s: Span) -> bool {
    let mut pos = s.start;
    let from = spans.partition_point(|t| t.end <= pos);
    for t in &spans[from..] {
        if pos >= s.end || t.start > pos {
            break;
        }
        pos = pos.max(t.end);
    }
    pos >= s.end
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::Kind;

    fn placeholder(_: &str, s: Span) -> String {
        crate::operators::redact(s.kind)
    }

    #[test]
    fn the_preview_is_the_replaced_text() {
        let text = "Seen by Dr. Smith on 3/4/2012.";
        let s = |a: &str, k| {
            let i = text.find(a).unwrap();
            Span::new(i, i + a.len(), k)
        };
        let p = Preview::new(text, &[s("Smith", Kind::Name), s("3/4/2012", Kind::Date)], placeholder);
        assert_eq!(p.text, "Seen by Dr. [NAME] on [DATE].");
    }

    #[test]
    fn settling_adds_what_a_second_look_finds_and_stops() {
        // A toy detector: "X" is found alone; "Y" only right after a placeholder.
        let look = |t: &str| {
            let mut v: Vec<Span> = t.match_indices('X').map(|(i, _)| Span::new(i, i + 1, Kind::Name)).collect();
            v.extend(t.match_indices("] Y").map(|(i, _)| Span::new(i + 2, i + 3, Kind::Name)));
            v
        };
        assert_eq!(
            settle("a X Y b", look, placeholder),
            vec![Span::new(2, 3, Kind::Name), Span::new(4, 5, Kind::Name)]
        );
        // A chain: each look finds one more, up to the cap.
        let long = format!("X{}", " Y".repeat(20));
        assert_eq!(settle(&long, look, placeholder).len(), MAX_LOOKS);
        assert!(settle("nothing here", look, placeholder).is_empty());
    }

    #[test]
    fn offsets_map_back_through_replacements() {
        let text = "ab Smith cd";
        let p = Preview::new(text, &[Span::new(3, 8, Kind::Name)], placeholder);
        assert_eq!(p.text, "ab [NAME] cd");
        // Before the replacement: unchanged.
        assert_eq!(p.to_source(Span::new(0, 2, Kind::Name)), Span::new(0, 2, Kind::Name));
        // After it: shifted by the length difference.
        assert_eq!(p.to_source(Span::new(10, 12, Kind::Name)), Span::new(9, 11, Kind::Name));
        // Touching it from either side: takes in the replaced span.
        assert_eq!(p.to_source(Span::new(0, 9, Kind::Name)), Span::new(0, 8, Kind::Name));
        assert_eq!(p.to_source(Span::new(3, 12, Kind::Name)), Span::new(3, 11, Kind::Name));
        // Inside it: the replaced span.
        assert_eq!(p.to_source(Span::new(4, 6, Kind::Name)), Span::new(3, 8, Kind::Name));
    }

    #[test]
    fn coverage_counts_adjacent_spans_together() {
        let spans = [Span::new(0, 5, Kind::Name), Span::new(5, 9, Kind::Date), Span::new(12, 14, Kind::Name)];
        assert!(covered(&spans, Span::new(3, 7, Kind::Name)));
        assert!(covered(&spans, Span::new(0, 9, Kind::Name)));
        assert!(!covered(&spans, Span::new(8, 10, Kind::Name)));
        assert!(!covered(&spans, Span::new(10, 11, Kind::Name)));
        assert!(covered(&spans, Span::new(12, 14, Kind::Name)));
        assert!(!covered(&spans, Span::new(11, 14, Kind::Name)));
        assert!(!covered(&[], Span::new(0, 1, Kind::Name)));
    }
}
