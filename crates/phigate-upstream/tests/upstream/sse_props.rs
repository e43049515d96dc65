//! The SSE parser's invariants: chunking never changes the result, and a
//! rendered stream parses back to the events it was rendered from.

use phigate_upstream::{SseEvent, SseParser};
use proptest::prelude::*;
use proptest::sample::Index;

type Outcome = (Vec<SseEvent>, bool, bool);

/// Feeds `chunks` in order; returns the events, whether it failed, and
/// whether a partial event was left at the end.
fn parse(chunks: &[&[u8]], limit: usize) -> Outcome {
    let mut parser = SseParser::new(limit);
    let mut events = Vec::new();
    for chunk in chunks {
        let result = parser.feed(chunk);
        events.extend(std::iter::from_fn(|| parser.next_event()));
        if result.is_err() {
            return (events, true, false);
        }
    }
    let partial = parser.finish();
    (events, false, partial)
}

fn split<'a>(bytes: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
    at.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for cut in at {
        chunks.push(&bytes[start..cut]);
        start = cut;
    }
    chunks.push(&bytes[start..]);
    chunks
}

/// Bytes that are mostly SSE syntax, so the interesting paths are hit.
fn sse_bytes() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(b"data:".to_vec()),
        Just(b"data: ".to_vec()),
        Just(b"event: x".to_vec()),
        Just(b"id: 9".to_vec()),
        Just(b": c".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\xEF\xBB\xBF".to_vec()),
        Just(b"[DONE]".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..6),
    ];
    proptest::collection::vec(token, 0..60).prop_map(|t| t.concat())
}

#[derive(Debug, Clone)]
struct Spec {
    event: Option<String>,
    id: Option<String>,
    data: Vec<String>,
    comment: bool,
}

fn spec() -> impl Strategy<Value = Spec> {
    let value = "[^\r\n]{0,12}";
    (
        proptest::option::of("[a-z]{1,6}"),
        proptest::option::of("[0-9a-z]{1,4}"),
        proptest::collection::vec(value, 1..4),
        any::<bool>(),
    )
        .prop_map(|(event, id, data, comment)| Spec { event, id, data, comment })
}

/// Renders events with the given line endings and space choices.
fn render(specs: &[Spec], endings: &[u8], spaces: &[bool], bom: bool) -> Vec<u8> {
    let mut lines: Vec<String> = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let space = |k: usize| spaces[(i + k) % spaces.len()];
        if s.comment {
            lines.push(": keep-alive".into());
        }
        if let Some(event) = &s.event {
            lines.push(format!("event:{}{event}", if space(0) { " " } else { "" }));
        }
        if let Some(id) = &s.id {
            lines.push(format!("id: {id}"));
        }
        for (k, d) in s.data.iter().enumerate() {
            let sp = if space(k + 1) || d.starts_with(' ') { " " } else { "" };
            lines.push(format!("data:{sp}{d}"));
        }
        lines.push(String::new());
    }
    let mut out = if bom { b"\xEF\xBB\xBF".to_vec() } else { Vec::new() };
    let mut previous_cr = false;
    for (i, line) in lines.iter().enumerate() {
        out.extend_from_slice(line.as_bytes());
        let mut ending: &[u8] = match endings[i % endings.len()] % 3 {
            0 => b"\n",
            1 => b"\r\n",
            _ => b"\r",
        };
        // CR then a bare LF would be read as one CRLF line end.
        if previous_cr && line.is_empty() && ending == b"\n" {
            ending = b"\r\n";
        }
        out.extend_from_slice(ending);
        previous_cr = ending == b"\r";
    }
    out
}

fn expected(specs: &[Spec]) -> Vec<SseEvent> {
    let mut last_id = None;
    specs
        .iter()
        .map(|s| {
            if s.id.is_some() {
                last_id = s.id.clone();
            }
            SseEvent { event: s.event.clone(), data: s.data.join("\n"), id: last_id.clone() }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_split_of_any_bytes_gives_the_same_result(
        bytes in sse_bytes(),
        cuts in proptest::collection::vec(any::<Index>(), 0..10),
        limit in prop_oneof![Just(16usize), Just(64), Just(1 << 20)],
    ) {
        let whole = parse(&[&bytes], limit);
        let split = parse(&split(&bytes, &cuts), limit);
        prop_assert_eq!(whole, split);
        let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
        prop_assert_eq!(parse(&[&bytes], limit), parse(&bytewise, limit));
    }

    #[test]
    fn rendered_events_parse_back(
        specs in proptest::collection::vec(spec(), 0..8),
        endings in proptest::collection::vec(any::<u8>(), 1..8),
        spaces in proptest::collection::vec(any::<bool>(), 1..8),
        bom in any::<bool>(),
        cuts in proptest::collection::vec(any::<Index>(), 0..10),
    ) {
        let bytes = render(&specs, &endings, &spaces, bom);
        let (events, failed, partial) = parse(&split(&bytes, &cuts), 1 << 20);
        prop_assert!(!failed && !partial);
        prop_assert_eq!(events, expected(&specs));
    }
}
