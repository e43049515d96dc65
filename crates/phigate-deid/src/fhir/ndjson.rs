//! FHIR Bulk Data NDJSON: one resource per line, streamed.
//!
//! Memory stays bounded by the longest line plus one context per patient.
//! A resource is de-identified as soon as its line is read, so a Patient
//! line that comes after resources about that patient has not yet taught the
//! text engine that patient's names and numbers when their notes are read.
//! Bulk Data exports write one file per type, so putting `Patient.ndjson`
//! first avoids that; when the input can be read twice,
//! [`FhirDeidentifier::learn_patients_ndjson`] reads the Patient lines
//! first (`phigate deid redact --format fhir` does this for files).
//! Surrogates, pseudonyms and date offsets do not depend on order.

use std::io::{BufRead, Write};

use serde_json::Value;

use super::{FhirDeidentifier, PatientContexts};
use crate::jsonl::{Progress, ReadOptions, Summary};
use crate::{Error, Result};

/// Reads non-blank lines as JSON values, with their 1-based line numbers.
fn each_line(
    mut input: impl BufRead,
    opts: ReadOptions,
    mut each: impl FnMut(usize, u64, Value) -> Result<()>,
) -> Result<()> {
    let mut buf = Vec::new();
    let mut line = 0usize;
    let mut bytes = 0u64;
    loop {
        buf.clear();
        let n = input.read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Ok(());
        }
        line += 1;
        bytes += n as u64;
        let text = match std::str::from_utf8(&buf) {
            Ok(s) => std::borrow::Cow::Borrowed(s),
            Err(_) if opts.lossy_utf8 => String::from_utf8_lossy(&buf),
            Err(_) => return Err(Error::InvalidUtf8 { line }),
        };
        if text.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| Error::Json { line, reason: format!("invalid JSON at column {}", e.column()) })?;
        each(line, bytes, value).map_err(|e| match e {
            Error::Fhir { line: None, path, reason } => Error::Fhir { line: Some(line), path, reason },
            other => other,
        })?;
    }
}

impl FhirDeidentifier {
    /// First pass over NDJSON that can be read twice: feeds every Patient
    /// line's identifiers to its context. Returns the number of patients.
    pub fn learn_patients_ndjson(
        &self,
        input: impl BufRead,
        patients: &mut PatientContexts,
        opts: ReadOptions,
    ) -> Result<u64> {
        let mut n = 0;
        each_line(input, opts, |_, _, v| {
            if v.get("resourceType").and_then(Value::as_str) == Some("Patient")
                && let Some(id) = v.get("id").and_then(Value::as_str)
            {
                self.learn_patient(id, &v, patients);
                n += 1;
            }
            Ok(())
        })?;
        Ok(n)
    }

    /// De-identifies NDJSON line by line (a line may also be a Bundle).
    /// Errors name the line and JSON path, never content. `spans` in the
    /// summary counts values replaced or removed.
    pub fn deidentify_ndjson(
        &self,
        input: impl BufRead,
        mut output: impl Write,
        patients: &mut PatientContexts,
        opts: ReadOptions,
        mut on_progress: impl FnMut(Progress),
    ) -> Result<Summary> {
        let mut summary = Summary::default();
        each_line(input, opts, |line, bytes, mut v| {
            summary.spans += self.deidentify(&mut v, patients)?;
            serde_json::to_writer(&mut output, &v).map_err(|e| Error::Io(e.into()))?;
            output.write_all(b"\n")?;
            summary.records += 1;
            summary.bytes = bytes;
            on_progress(Progress { lines: line as u64, bytes });
            Ok(())
        })?;
        output.flush()?;
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fhir::FhirPolicy;
    use crate::{Deidentifier, Detector, Policy};

    fn fhir() -> FhirDeidentifier {
        FhirDeidentifier::new(Deidentifier::new(Detector::new(), Policy::safe_harbor()), FhirPolicy::safe_harbor())
    }

    #[test]
    fn errors_name_the_line_not_the_content() {
        let f = fhir();
        let mut out = Vec::new();
        let input = "{\"resourceType\":\"Patient\",\"id\":\"a\"}\n\n{\"name\":\"Okonkwo\"}\n";
        let err = f
            .deidentify_ndjson(input.as_bytes(), &mut out, &mut PatientContexts::new(), ReadOptions::default(), |_| {})
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("line 3: $"), "{msg}");
        assert!(!msg.contains("Okonkwo"));
        let err = f
            .deidentify_ndjson(
                &b"{\"x\": Okonkwo}\n"[..],
                &mut out,
                &mut PatientContexts::new(),
                ReadOptions::default(),
                |_| {},
            )
            .unwrap_err();
        assert!(matches!(err, Error::Json { line: 1, .. }) && !err.to_string().contains("Okonkwo"));
    }

    #[test]
    fn bad_base64_names_the_element() {
        let f = fhir();
        let line = "{\"resourceType\":\"DocumentReference\",\"content\":[{\"attachment\":{\"data\":\"!!\"}}]}\n";
        let err = f
            .deidentify_ndjson(line.as_bytes(), Vec::new(), &mut PatientContexts::new(), ReadOptions::default(), |_| {})
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 1: DocumentReference.content[0].attachment.data: attachment data is not valid base64"
        );
    }
}
