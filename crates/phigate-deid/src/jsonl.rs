//! The JSONL contract of `phigate deid detect` and `phigate deid redact`.
//!
//! Input lines are `{"id": …, "text": …}` (other fields ignored, except the
//! optional `"subject"` and `"patient"` that key per-patient consistency when
//! redacting: `"subject": "Patient/<id>"` (or `{"reference": …}`, as in FHIR)
//! wins and names the same patient as the FHIR Patient with that id; else
//! `"patient"`, whose value is the key).
//! Detection output lines are `{"id": …, "spans": [{"start", "end", "type"}]}`
//! with offsets in Unicode characters, like the gold corpora; redaction output
//! lines are `{"id": …, "text": …}`. Lines are processed one at a time, so
//! memory stays bounded by the longest line whatever the file size.

use std::collections::HashMap;
use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};

use crate::detect::Detector;
use crate::operators::{Deidentifier, IssuedPseudonym, PatientContext};
use crate::span::{CharSpan, to_char_spans};
use crate::{Error, Result};

/// How input bytes are read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Replace invalid UTF-8 with U+FFFD instead of failing the line.
    pub lossy_utf8: bool,
}

/// Progress after each line, for a progress bar.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Lines done.
    pub lines: u64,
    /// Input bytes consumed.
    pub bytes: u64,
}

/// What a run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Records processed (blank lines are skipped, not counted).
    pub records: u64,
    /// Spans found (detect) or replaced (redact).
    pub spans: u64,
    /// Input bytes consumed.
    pub bytes: u64,
}

#[derive(Deserialize)]
struct InputRecord {
    id: serde_json::Value,
    text: String,
    #[serde(default)]
    patient: Option<serde_json::Value>,
    #[serde(default)]
    subject: Option<serde_json::Value>,
}

impl InputRecord {
    /// The key of the record's patient: the id of a `Patient/<id>` subject,
    /// else the `patient` value. A subject that names no Patient is an error
    /// rather than a silent fallback, so a typo cannot split one patient in
    /// two (two date offsets would reveal the true interval).
    fn patient_key(&self, line: usize) -> Result<Option<String>> {
        if let Some(subject) = &self.subject {
            let reference = match subject {
                serde_json::Value::String(s) => Some(s.as_str()),
                serde_json::Value::Object(o) => o.get("reference").and_then(serde_json::Value::as_str),
                _ => None,
            };
            return match reference.and_then(crate::fhir::patient_id) {
                Some(id) => Ok(Some(id.to_owned())),
                None => Err(Error::Json {
                    line,
                    reason: "\"subject\" must be a reference to a Patient (\"Patient/<id>\" or {\"reference\": …})"
                        .into(),
                }),
            };
        }
        Ok(self.patient.as_ref().map(|p| match p {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }))
    }
}

#[derive(Serialize)]
struct DetectRecord<'a> {
    id: &'a serde_json::Value,
    spans: &'a [CharSpan],
}

#[derive(Serialize)]
struct RedactRecord<'a> {
    id: &'a serde_json::Value,
    text: &'a str,
}

/// Reads records line by line, calling `each` with the 1-based line number.
fn for_each_record(
    mut input: impl BufRead,
    opts: ReadOptions,
    mut on_progress: impl FnMut(Progress),
    mut each: impl FnMut(usize, InputRecord) -> Result<u64>,
) -> Result<Summary> {
    let mut summary = Summary::default();
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    loop {
        buf.clear();
        let n = input.read_until(b'\n', &mut buf)?;
        if n == 0 {
            break;
        }
        line_no += 1;
        summary.bytes += n as u64;
        let line = match std::str::from_utf8(&buf) {
            Ok(s) => std::borrow::Cow::Borrowed(s),
            Err(_) if opts.lossy_utf8 => String::from_utf8_lossy(&buf),
            Err(_) => return Err(Error::InvalidUtf8 { line: line_no }),
        };
        if line.trim().is_empty() {
            continue;
        }
        let record: InputRecord = serde_json::from_str(&line).map_err(|e| Error::Json {
            line: line_no,
            reason: match e.classify() {
                serde_json::error::Category::Data => "expected an object with \"id\" and \"text\"".into(),
                _ => format!("invalid JSON at column {}", e.column()),
            },
        })?;
        summary.spans += each(line_no, record)?;
        summary.records += 1;
        on_progress(Progress { lines: line_no as u64, bytes: summary.bytes });
    }
    Ok(summary)
}

/// `phigate deid detect`: one output line of spans per input record.
pub fn detect_jsonl(
    detector: &Detector,
    input: impl BufRead,
    mut output: impl Write,
    opts: ReadOptions,
    on_progress: impl FnMut(Progress),
) -> Result<Summary> {
    let summary = for_each_record(input, opts, on_progress, |_, rec| {
        let spans = to_char_spans(&rec.text, &detector.detect(&rec.text));
        serde_json::to_writer(&mut output, &DetectRecord { id: &rec.id, spans: &spans })
            .map_err(|e| Error::Io(e.into()))?;
        output.write_all(b"\n")?;
        Ok(spans.len() as u64)
    })?;
    output.flush()?;
    Ok(summary)
}

/// `phigate deid redact` on JSONL: one output line with the de-identified text
/// per input record. Records with the same `"patient"` share a
/// [`PatientContext`] (consistent surrogates and date offset); records
/// without one each get their own.
pub fn redact_jsonl(
    deidentifier: &Deidentifier,
    input: impl BufRead,
    output: impl Write,
    opts: ReadOptions,
    on_progress: impl FnMut(Progress),
) -> Result<Summary> {
    redact_jsonl_with_vault(deidentifier, input, output, opts, on_progress, |_| Ok(()))
}

/// Like [`redact_jsonl`], handing every keyed pseudonym issued for a record
/// to `vault` before that record's line is written: the caller stores the
/// originals in its encrypted token vault, and a vault failure stops the run
/// (fail closed: no pseudonym goes out that could not be reversed later).
pub fn redact_jsonl_with_vault(
    deidentifier: &Deidentifier,
    input: impl BufRead,
    mut output: impl Write,
    opts: ReadOptions,
    on_progress: impl FnMut(Progress),
    mut vault: impl FnMut(Vec<IssuedPseudonym>) -> std::result::Result<(), String>,
) -> Result<Summary> {
    let mut patients: HashMap<String, PatientContext> = HashMap::new();
    let summary = for_each_record(input, opts, on_progress, |line, rec| {
        let spans = deidentifier.detector().detect(&rec.text);
        let text = match rec.patient_key(line)? {
            Some(key) => {
                let ctx = patients.entry(key.clone()).or_insert_with(|| PatientContext::new(&key));
                let text = deidentifier.apply(&rec.text, &spans, ctx)?;
                vault(ctx.take_pseudonyms()).map_err(Error::Vault)?;
                text
            }
            None => {
                let mut ctx = PatientContext::new(&format!("record-line-{line}"));
                let text = deidentifier.apply(&rec.text, &spans, &mut ctx)?;
                vault(ctx.take_pseudonyms()).map_err(Error::Vault)?;
                text
            }
        };
        serde_json::to_writer(&mut output, &RedactRecord { id: &rec.id, text: &text })
            .map_err(|e| Error::Io(e.into()))?;
        output.write_all(b"\n")?;
        Ok(spans.len() as u64)
    })?;
    output.flush()?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    #[test]
    fn detect_writes_char_offsets() {
        let input = "{\"id\":\"a\",\"text\":\"Zoë called 410-555-0142\"}\n\n{\"id\":2,\"text\":\"\"}\n";
        let mut out = Vec::new();
        let mut ticks = 0;
        let s =
            detect_jsonl(&Detector::new(), input.as_bytes(), &mut out, ReadOptions::default(), |_| ticks += 1).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert_eq!(
            out,
            // "Zoë" is 3 characters and 4 bytes: offsets count characters.
            "{\"id\":\"a\",\"spans\":[{\"start\":0,\"end\":3,\"type\":\"NAME\"},{\"start\":11,\"end\":23,\"type\":\"PHONE\"}]}\n{\"id\":2,\"spans\":[]}\n"
        );
        assert_eq!((s.records, s.spans, ticks), (2, 2, 2));
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let mut out = Vec::new();
        let err = detect_jsonl(&Detector::new(), &b"{\"id\":1}\n"[..], &mut out, ReadOptions::default(), |_| {});
        assert!(matches!(err, Err(Error::Json { line: 1, .. })));
        let err = detect_jsonl(&Detector::new(), &b"\xff\n"[..], &mut out, ReadOptions::default(), |_| {});
        assert!(matches!(err, Err(Error::InvalidUtf8 { line: 1 })));
        let lossy = ReadOptions { lossy_utf8: true };
        let err = detect_jsonl(&Detector::new(), &b"{\"id\":1,\"text\":\"a\xffb\"}\n"[..], &mut out, lossy, |_| {});
        assert!(err.is_ok());
    }

    #[test]
    fn redact_keeps_ids() {
        let d = Deidentifier::new(Detector::new(), Policy::safe_harbor());
        let mut out = Vec::new();
        redact_jsonl(
            &d,
            &b"{\"id\":\"n1\",\"patient\":7,\"text\":\"call 410-555-0142\"}\n"[..],
            &mut out,
            ReadOptions::default(),
            |_| {},
        )
        .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "{\"id\":\"n1\",\"text\":\"call [PHONE]\"}\n");
    }

    /// The shifted date of each output line, under a keyed date-shift policy.
    fn shifted(input: &str) -> Result<Vec<String>> {
        let policy = Policy::from_toml("[operators]\nDATE = \"date-shift\"\n").unwrap();
        let d = Deidentifier::new(Detector::new(), policy).with_key(crate::operators::PseudonymKey::new(vec![9; 32]));
        let mut out = Vec::new();
        redact_jsonl(&d, input.as_bytes(), &mut out, ReadOptions::default(), |_| {})?;
        Ok(String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["text"].as_str().unwrap().to_owned())
            .collect())
    }

    #[test]
    fn subject_and_patient_name_the_same_patient() {
        let lines = shifted(concat!(
            "{\"id\":1,\"subject\":\"Patient/pt-7\",\"text\":\"seen 03/14/2024\"}\n",
            "{\"id\":2,\"subject\":{\"reference\":\"Patient/pt-7\"},\"text\":\"seen 03/14/2024\"}\n",
            "{\"id\":3,\"patient\":\"pt-7\",\"text\":\"seen 03/14/2024\"}\n",
            // The subject wins over a conflicting patient.
            "{\"id\":4,\"patient\":\"other\",\"subject\":\"Patient/pt-7\",\"text\":\"seen 03/14/2024\"}\n",
            "{\"id\":5,\"patient\":\"other\",\"text\":\"seen 03/14/2024\"}\n",
        ))
        .unwrap();
        assert_ne!(lines[0], "seen 03/14/2024", "the date moved");
        assert!(lines[1..4].iter().all(|l| *l == lines[0]), "{lines:?}");
        assert_ne!(lines[4], lines[0], "another patient, another offset: {lines:?}");
    }

    #[test]
    fn a_subject_that_names_no_patient_is_an_error() {
        for bad in ["\"Encounter/e1\"", "7", "{\"display\":\"x\"}"] {
            let err = shifted(&format!("{{\"id\":1,\"subject\":{bad},\"text\":\"seen 03/14/2024\"}}\n"));
            assert!(matches!(err, Err(Error::Json { line: 1, .. })), "{bad}: {err:?}");
        }
    }
}
