//! Free text inside markup and attachments.
//!
//! Narrative `div`s are XHTML. Running the text engine on the raw markup
//! would let tags hide names ("Dr.<b>Okonkwo</b>") and would let
//! replacements break tags, so the engine sees a view of the same length in
//! which markup is blanked out, and its spans are cut to the text runs before
//! they are applied to the original. Attribute values and comments count as
//! text (a `title="…"` can hold a name); only `xmlns` values are kept.
//! Entities are blanked too, so a span never splits one.
//!
//! Attachments (`data`, base64) are decoded: text types go through the text
//! engine (HTML through the markup path), anything else (PDF, images) cannot
//! be checked and is dropped.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::Result;
use crate::operators::{Deidentifier, PatientContext};
use crate::span::Span;

/// De-identifies the text of an XHTML (or HTML) fragment, leaving markup intact.
pub(crate) fn markup(deid: &Deidentifier, patient: &mut PatientContext, source: &str) -> Result<String> {
    let (view, runs) = text_view(source);
    let mut spans = Vec::new();
    for s in deid.spans(&view, patient) {
        // Runs are sorted and disjoint, so the cut spans stay sorted.
        for r in &runs {
            let (start, end) = (s.start.max(r.0), s.end.min(r.1));
            if start < end {
                spans.push(Span::new(start, end, s.kind));
            }
        }
    }
    deid.apply(source, &spans, patient)
}

/// The source with markup and entities blanked to spaces (same byte
/// length), and the byte ranges that are text.
fn text_view(source: &str) -> (String, Vec<(usize, usize)>) {
    let b = source.as_bytes();
    let mut blank = vec![false; b.len()];
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'<' if source[i..].starts_with("<!--") => {
                let end = source[i + 4..].find("-->").map_or(b.len(), |e| i + 4 + e);
                blank[i..i + 4].fill(true);
                let close = (end + 3).min(b.len());
                blank[end..close].fill(true);
                i = close;
            }
            b'<' => i = tag(source, i, &mut blank),
            b'&' => {
                let len = source[i + 1..].bytes().take(12).position(|c| c == b';').filter(|&n| {
                    n > 0 && source[i + 1..i + 1 + n].bytes().all(|c| c.is_ascii_alphanumeric() || c == b'#')
                });
                match len {
                    Some(n) => {
                        blank[i..i + n + 2].fill(true);
                        i += n + 2;
                    }
                    None => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    let mut view = Vec::with_capacity(b.len());
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for (j, &byte) in b.iter().enumerate() {
        if blank[j] {
            view.push(b' ');
        } else {
            view.push(byte);
            match runs.last_mut() {
                Some(r) if r.1 == j => r.1 = j + 1,
                _ => runs.push((j, j + 1)),
            }
        }
    }
    // Invariant: only whole runs of bytes between ASCII delimiters were
    // replaced by ASCII spaces, so the view is still UTF-8.
    let view = String::from_utf8(view).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    (view, runs)
}

/// Blanks one tag starting at `start` except its quoted attribute values
/// (other than `xmlns…`); returns the index after the tag.
fn tag(source: &str, start: usize, blank: &mut [bool]) -> usize {
    let b = source.as_bytes();
    let mut i = start;
    let mut name_start = start;
    let mut attr = "";
    while i < b.len() {
        match b[i] {
            b'>' => {
                blank[i] = true;
                return i + 1;
            }
            q @ (b'"' | b'\'') => {
                let end = source[i + 1..].find(char::from(q)).map_or(b.len(), |e| i + 1 + e);
                blank[i] = true;
                if attr.starts_with("xmlns") {
                    blank[i..end].fill(true);
                }
                if end < b.len() {
                    blank[end] = true;
                }
                i = end + 1;
                continue;
            }
            b'=' => {
                attr = source[name_start..i].trim();
                blank[i] = true;
            }
            c if c.is_ascii_whitespace() => {
                name_start = i + 1;
                blank[i] = true;
            }
            _ => blank[i] = true,
        }
        i += 1;
    }
    b.len()
}

/// A de-identified attachment: base64 `data` and, when the text was
/// re-encoded from another character set, the new `contentType`.
pub(crate) struct CheckedAttachment {
    pub data: String,
    pub content_type: Option<String>,
}

/// The de-identified `data` of an attachment, or `None` when its content
/// cannot be checked (binary types, text in a character set other than
/// UTF-8, US-ASCII or ISO-8859-1, or bytes invalid in its character set)
/// and must be dropped. ISO-8859-1 text is checked and comes back as UTF-8
/// with its `contentType` saying so. `Err` carries a reason for invalid
/// base64.
pub(crate) fn attachment(
    deid: &Deidentifier,
    patient: &mut PatientContext,
    data: &str,
    content_type: Option<&str>,
) -> std::result::Result<Option<CheckedAttachment>, AttachmentError> {
    let compact: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = STANDARD.decode(compact.as_bytes()).map_err(|_| AttachmentError::Base64)?;
    let mime = content_type.map(|c| c.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
    let html = matches!(mime.as_deref(), Some("text/html" | "application/xhtml+xml"));
    let text_like = match mime.as_deref() {
        None => true,
        Some(m) => {
            m.starts_with("text/")
                || matches!(
                    m,
                    "application/json" | "application/fhir+json" | "application/xml" | "application/fhir+xml"
                )
        }
    };
    if !text_like {
        return Ok(None);
    }
    let (text, recoded) = match content_type.and_then(charset).as_deref() {
        None | Some("utf-8" | "utf8" | "us-ascii" | "ascii") => match String::from_utf8(bytes) {
            Ok(text) => (text, false),
            Err(_) => return Ok(None),
        },
        // Every byte is a character: U+0000..U+00FF.
        Some("iso-8859-1" | "iso_8859-1" | "latin1" | "latin-1" | "l1") => {
            (bytes.iter().map(|&b| char::from(b)).collect(), true)
        }
        Some(_) => return Ok(None),
    };
    let out = if html { markup(deid, patient, &text) } else { deid.deidentify(&text, patient) };
    Ok(Some(CheckedAttachment {
        data: STANDARD.encode(out.map_err(AttachmentError::Deid)?),
        content_type: recoded.then(|| format!("{}; charset=utf-8", mime.unwrap_or_default())),
    }))
}

/// The `charset` parameter of a media type, lower-cased and unquoted.
fn charset(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim().eq_ignore_ascii_case("charset").then(|| value.trim().trim_matches('"').to_ascii_lowercase())
    })
}

/// Why an attachment could not be processed.
pub(crate) enum AttachmentError {
    /// `data` is not base64.
    Base64,
    /// The text engine failed.
    Deid(crate::Error),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Detector;
    use crate::policy::Policy;

    #[test]
    fn markup_survives_and_names_inside_it_do_not() {
        let d = Deidentifier::new(Detector::new(), Policy::safe_harbor());
        let mut p = PatientContext::new("p");
        let src = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p title=\"call 617-555-0199\">Seen by Dr.\
                   <b>Okonkwo</b> on 03/14/2024 &amp; discharged.</p><!-- MRN 5583920 --></div>";
        let out = markup(&d, &mut p, src).unwrap();
        assert!(out.starts_with("<div xmlns=\"http://www.w3.org/1999/xhtml\"><p title=\""), "{out}");
        assert!(out.contains("<b>") && out.contains("&amp;") && out.ends_with("--></div>"), "{out}");
        for phi in ["617-555-0199", "Okonkwo", "03/14", "5583920"] {
            assert!(!out.contains(phi), "{phi} in {out}");
        }
    }

    #[test]
    fn binary_attachments_are_dropped_and_bad_base64_is_an_error() {
        let d = Deidentifier::new(Detector::new(), Policy::safe_harbor());
        let mut p = PatientContext::new("p");
        let pdf = STANDARD.encode(b"%PDF-1.4 Okonkwo");
        assert!(matches!(attachment(&d, &mut p, &pdf, Some("application/pdf")), Ok(None)));
        assert!(matches!(attachment(&d, &mut p, "!!", Some("text/plain")), Err(AttachmentError::Base64)));
        let note = STANDARD.encode("Call 617-555-0199.");
        let out = attachment(&d, &mut p, &note, Some("text/plain; charset=utf-8")).ok().flatten().unwrap();
        assert_eq!(STANDARD.decode(out.data).unwrap(), b"Call [PHONE].");
        assert_eq!(out.content_type, None, "already UTF-8");
        // A character set it cannot check: dropped, never passed through.
        let shift_jis = STANDARD.encode(b"Okonkwo 617-555-0199");
        assert!(matches!(attachment(&d, &mut p, &shift_jis, Some("text/plain; charset=Shift_JIS")), Ok(None)));
    }

    #[test]
    fn latin1_text_is_checked_and_comes_back_as_utf8() {
        let d = Deidentifier::new(Detector::new(), Policy::safe_harbor());
        let mut p = PatientContext::new("p");
        // "Résumé: call 617-555-0199" in ISO-8859-1 (é = 0xE9, invalid as UTF-8).
        let latin1: Vec<u8> = "Résumé: call 617-555-0199".chars().map(|c| c as u8).collect();
        assert!(String::from_utf8(latin1.clone()).is_err());
        let ct = Some("text/plain; charset=\"ISO-8859-1\"");
        let out = attachment(&d, &mut p, &STANDARD.encode(&latin1), ct).ok().flatten().unwrap();
        assert_eq!(String::from_utf8(STANDARD.decode(out.data).unwrap()).unwrap(), "Résumé: call [PHONE]");
        assert_eq!(out.content_type.as_deref(), Some("text/plain; charset=utf-8"));
    }
}
