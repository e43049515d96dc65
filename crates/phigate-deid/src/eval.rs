//! Scoring detections against gold annotations.
//!
//! Matching is **entity level, any overlap, type blind**: a gold span counts as
//! found if any predicted span shares a character with it, and a predicted
//! span counts as correct if it shares a character with any gold span. That
//! is the measure under which the PhysioNet deid, philter and Presidio figures
//! in the project's issue were reported, and it is what matters for Safe
//! Harbor (an identifier removed under the wrong label is still removed).
//! Character-level scores are reported beside it because any-overlap forgives
//! partial coverage.
//!
//! # The fixed split
//! The shared PhysioNet nursing corpus is split by patient number so that all
//! notes of a patient are on one side: **test = `patient % 4 == 3`** (41
//! patients, 699 notes, 442 gold spans of which 431 are not `DateYear`),
//! **train = everything else**. Notes without a patient number fall on the
//! train side. Nothing in this crate was built or tuned on test notes.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;

use phigate_phi::Phi;
use serde::Deserialize;

use crate::detect::Detector;
use crate::known::KnownIdentifiers;
use crate::span::{Kind, to_char_spans};
use crate::{Error, Result};

pub mod interval;

pub use interval::Interval;

/// Which side of the fixed split to score.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// Patients with `patient % 4 != 3` (and notes without a patient).
    Train,
    /// Patients with `patient % 4 == 3`.
    Test,
    /// Every note.
    All,
}

impl Split {
    /// True if a note of `patient` belongs to this split.
    pub fn contains(self, patient: Option<u64>) -> bool {
        let test = patient.is_some_and(|p| p % 4 == 3);
        match self {
            Split::Train => !test,
            Split::Test => test,
            Split::All => true,
        }
    }
}

impl std::str::FromStr for Split {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "train" => Ok(Split::Train),
            "test" => Ok(Split::Test),
            "all" => Ok(Split::All),
            other => Err(Error::UnknownSplit(other.to_owned())),
        }
    }
}

/// One gold span in character offsets.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct GoldSpan {
    /// First character.
    pub start: usize,
    /// One past the last character.
    pub end: usize,
    /// The corpus's own type name ("HCPName", "Date", "name", …).
    #[serde(rename = "type")]
    pub kind: String,
}

/// One annotated note.
#[derive(Debug)]
pub struct GoldNote {
    /// The note id.
    pub id: String,
    /// Patient number, where the corpus gives one.
    pub patient: Option<u64>,
    /// The note text.
    pub text: Phi<String>,
    /// Gold spans.
    pub spans: Vec<GoldSpan>,
}

#[derive(Deserialize)]
struct RawGold {
    id: serde_json::Value,
    #[serde(default)]
    patient: Option<u64>,
    text: String,
    #[serde(default)]
    spans: Vec<GoldSpan>,
}

/// Reads gold JSONL (`{"id", "text", "spans": [{"start","end","type"}], "patient"?}`).
pub fn read_gold(reader: impl BufRead) -> Result<Vec<GoldNote>> {
    let mut notes = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let raw: RawGold = serde_json::from_str(&line).map_err(|e| Error::Json {
            line: i + 1,
            reason: format!("{} at column {}", e.classify_name(), e.column()),
        })?;
        let len = raw.text.chars().count();
        for s in &raw.spans {
            if s.start > s.end || s.end > len {
                return Err(Error::SpanOutOfRange { line: i + 1, start: s.start, end: s.end, len });
            }
        }
        let id = match raw.id {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        notes.push(GoldNote { id, patient: raw.patient, text: Phi::new(raw.text), spans: raw.spans });
    }
    Ok(notes)
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "i/o error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "missing or mistyped field",
            serde_json::error::Category::Eof => "unexpected end of line",
        }
    }
}

/// Maps a corpus type name to this crate's [`Kind`] (PhysioNet nursing types
/// and the seed file's lower-case types).
pub fn corpus_kind(corpus_type: &str) -> Option<Kind> {
    Some(match corpus_type {
        "HCPName" | "PTName" | "PTNameInitial" | "RelativeProxyName" | "name" => Kind::Name,
        "Date" | "DateYear" | "date" => Kind::Date,
        "Age" | "age" => Kind::Age,
        "Location" | "geo" => Kind::Location,
        "address" => Kind::Address,
        "Phone" | "phone" => Kind::Phone,
        "fax" => Kind::Fax,
        "email" => Kind::Email,
        "ssn" => Kind::Ssn,
        "mrn" => Kind::Mrn,
        "health_plan" => Kind::HealthPlan,
        "account" => Kind::Account,
        "license" => Kind::License,
        "vehicle" => Kind::Vehicle,
        "device" => Kind::Device,
        "url" => Kind::Url,
        "ip" => Kind::Ip,
        "biometric" | "photo" => Kind::Biometric,
        "Other" | "other" => Kind::Id,
        _ => return None,
    })
}

/// What to score.
#[derive(Clone, Debug)]
pub struct EvalOptions {
    /// Which notes.
    pub split: Split,
    /// Gold types to leave out entirely (e.g. `DateYear`): their spans are
    /// neither counted as misses nor do predictions on them count as errors.
    pub exclude_types: Vec<String>,
    /// Keep the location of every miss and false positive (offsets only).
    pub collect_errors: bool,
    /// Carry names confirmed in a patient's earlier notes (by
    /// [`Detector::confirmed_names`]) to their later notes as known
    /// identifiers, the way a caller processing one patient's notes in order
    /// would. Notes without a patient number are scored alone.
    pub patient_memory: bool,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self { split: Split::All, exclude_types: vec!["DateYear".into()], collect_errors: false, patient_memory: false }
    }
}

/// Counts behind one recall/precision pair.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Gold units found.
    pub found: usize,
    /// Gold units.
    pub gold: usize,
    /// Predicted units that were right.
    pub correct: usize,
    /// Predicted units.
    pub predicted: usize,
}

impl Counts {
    /// found / gold (1 when there is no gold).
    pub fn recall(&self) -> f64 {
        ratio(self.found, self.gold)
    }
    /// correct / predicted (1 when nothing was predicted).
    pub fn precision(&self) -> f64 {
        ratio(self.correct, self.predicted)
    }
    /// Harmonic mean of the two.
    pub fn f1(&self) -> f64 {
        let (r, p) = (self.recall(), self.precision());
        if r + p == 0.0 { 0.0 } else { 2.0 * r * p / (r + p) }
    }
}

impl std::ops::Add for Counts {
    type Output = Counts;
    fn add(self, o: Counts) -> Counts {
        Counts {
            found: self.found + o.found,
            gold: self.gold + o.gold,
            correct: self.correct + o.correct,
            predicted: self.predicted + o.predicted,
        }
    }
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        *self = *self + o;
    }
}

/// What was counted since an earlier snapshot (counts only grow).
impl std::ops::Sub for Counts {
    type Output = Counts;
    fn sub(self, o: Counts) -> Counts {
        Counts {
            found: self.found - o.found,
            gold: self.gold - o.gold,
            correct: self.correct - o.correct,
            predicted: self.predicted - o.predicted,
        }
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// Where an error is: note index in the input and character offsets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorCase {
    /// Index of the note in the slice that was scored.
    pub note: usize,
    /// First character.
    pub start: usize,
    /// One past the last character.
    pub end: usize,
    /// Gold type (misses) or predicted kind label (false positives).
    pub kind: String,
}

/// The scores of one run.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Notes scored.
    pub notes: usize,
    /// Characters of text scored.
    pub chars: usize,
    /// Entity level, any overlap.
    pub entity: Counts,
    /// Character level.
    pub character: Counts,
    /// Entity-level recall per gold type (only `found`/`gold` are set).
    pub per_gold_type: BTreeMap<String, Counts>,
    /// Entity-level precision per predicted kind (only `correct`/`predicted`).
    pub per_kind: BTreeMap<Kind, Counts>,
    /// Gold spans no prediction touched.
    pub misses: Vec<ErrorCase>,
    /// Predictions touching no gold span.
    pub false_positives: Vec<ErrorCase>,
    /// Entity-level counts per patient, for [`Report::interval`].
    pub by_patient: BTreeMap<Cluster, Counts>,
}

/// The unit resampled by [`Report::interval`]: a patient, or a note that
/// names none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cluster {
    /// Every note of one patient.
    Patient(u64),
    /// One note without a patient number (its index in the input).
    Note(usize),
}

/// `phigate deid eval`: reads gold JSONL from `gold` and scores `detector`
/// on the split and exclusions in `opts`.
pub fn evaluate_jsonl(detector: &Detector, gold: impl BufRead, opts: &EvalOptions) -> Result<Report> {
    let notes = read_gold(gold)?;
    Ok(evaluate(detector, &notes, opts))
}

/// Runs `detector` over the selected notes and scores it.
pub fn evaluate(detector: &Detector, notes: &[GoldNote], opts: &EvalOptions) -> Report {
    let mut report = Report::default();
    let mut memory: HashMap<u64, Vec<String>> = HashMap::new();
    for (n, note) in notes.iter().enumerate() {
        if !opts.split.contains(note.patient) {
            continue;
        }
        let text = note.text.expose();
        let spans = match note.patient.filter(|_| opts.patient_memory) {
            Some(p) => {
                let names = memory.entry(p).or_default();
                let mut known = names.iter().fold(KnownIdentifiers::new(), |k, w| k.identifier(w, Kind::Name));
                known.compile();
                let spans = detector.detect_known(text, &known);
                for w in detector.confirmed_names(text) {
                    if !names.contains(&w) {
                        names.push(w);
                    }
                }
                spans
            }
            None => detector.detect(text),
        };
        let predicted = to_char_spans(text, &spans);
        let pred: Vec<(usize, usize, Kind)> = predicted.iter().map(|s| (s.start, s.end, s.kind)).collect();
        let before = report.entity;
        score_note(&mut report, n, text.chars().count(), &note.spans, &pred, opts);
        let cluster = note.patient.map_or(Cluster::Note(n), Cluster::Patient);
        *report.by_patient.entry(cluster).or_default() += report.entity - before;
    }
    report
}

/// Adds one note's comparison to `report`; `predicted` is in characters.
pub fn score_note(
    report: &mut Report,
    note: usize,
    char_len: usize,
    gold: &[GoldSpan],
    predicted: &[(usize, usize, Kind)],
    opts: &EvalOptions,
) {
    report.notes += 1;
    report.chars += char_len;
    let excluded = |g: &GoldSpan| opts.exclude_types.iter().any(|t| t == &g.kind);
    let overlaps = |a: (usize, usize), b: (usize, usize)| a.0 < b.1 && b.0 < a.1;
    let included: Vec<&GoldSpan> = gold.iter().filter(|g| !excluded(g)).collect();
    let dropped: Vec<&GoldSpan> = gold.iter().filter(|g| excluded(g)).collect();

    for g in &included {
        let hit = predicted.iter().any(|p| overlaps((p.0, p.1), (g.start, g.end)));
        report.entity.gold += 1;
        let t = report.per_gold_type.entry(g.kind.clone()).or_default();
        t.gold += 1;
        if hit {
            report.entity.found += 1;
            t.found += 1;
        } else if opts.collect_errors {
            report.misses.push(ErrorCase { note, start: g.start, end: g.end, kind: g.kind.clone() });
        }
    }
    for p in predicted {
        let on_gold = included.iter().any(|g| overlaps((p.0, p.1), (g.start, g.end)));
        let on_excluded = dropped.iter().any(|g| overlaps((p.0, p.1), (g.start, g.end)));
        if !on_gold && on_excluded {
            continue;
        }
        report.entity.predicted += 1;
        let k = report.per_kind.entry(p.2).or_default();
        k.predicted += 1;
        if on_gold {
            report.entity.correct += 1;
            k.correct += 1;
        } else if opts.collect_errors {
            report.false_positives.push(ErrorCase { note, start: p.0, end: p.1, kind: p.2.as_str().to_owned() });
        }
    }
    // Character level over a per-note label array: 0 none, 1 gold, 2 excluded.
    let mut label = vec![0u8; char_len];
    for g in &dropped {
        label[g.start..g.end].fill(2);
    }
    for g in &included {
        label[g.start..g.end].fill(1);
    }
    let mut pred_mask = vec![false; char_len];
    for p in predicted {
        let end = p.1.min(char_len);
        if p.0 < end {
            pred_mask[p.0..end].fill(true);
        }
    }
    for (l, p) in label.iter().zip(&pred_mask) {
        match (l, p) {
            (1, true) => {
                report.character.gold += 1;
                report.character.found += 1;
                report.character.predicted += 1;
                report.character.correct += 1;
            }
            (1, false) => report.character.gold += 1,
            (0, true) => report.character.predicted += 1,
            _ => {}
        }
    }
}

impl Report {
    /// A 95% interval for entity-level recall and precision, resampling
    /// patients (see [`interval`]); `None` with fewer than two.
    pub fn interval(&self) -> Option<Interval> {
        let clusters: Vec<Counts> = self.by_patient.values().copied().collect();
        interval::bootstrap(&clusters)
    }

    /// "41 patients", "15 notes" or "2 patients and 1 note".
    fn cluster_label(&self) -> String {
        let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        let patients = self.by_patient.keys().filter(|c| matches!(c, Cluster::Patient(_))).count();
        let notes = self.by_patient.len() - patients;
        match (patients, notes) {
            (p, 0) => count(p, "patient"),
            (0, n) => count(n, "note"),
            (p, n) => format!("{} and {}", count(p, "patient"), count(n, "note")),
        }
    }

    /// A plain-text table of the scores (no note text, so safe to print).
    pub fn render(&self) -> String {
        let mut s = String::new();
        let line = |s: &mut String, name: &str, c: &Counts| {
            s.push_str(&format!(
                "{name:<22} recall {:.4} ({}/{})  precision {:.4} ({}/{})  F1 {:.4}\n",
                c.recall(),
                c.found,
                c.gold,
                c.precision(),
                c.correct,
                c.predicted,
                c.f1()
            ));
        };
        s.push_str(&format!("notes {}  characters {}\n", self.notes, self.chars));
        line(&mut s, "entity (any overlap)", &self.entity);
        line(&mut s, "character", &self.character);
        if let Some(i) = self.interval() {
            s.push_str(&format!(
                "entity 95% interval   recall {:.4} to {:.4}  precision {:.4} to {:.4}  ({} resampled {} times)\n",
                i.recall.0,
                i.recall.1,
                i.precision.0,
                i.precision.1,
                self.cluster_label(),
                interval::DRAWS
            ));
        }
        for (t, c) in &self.per_gold_type {
            s.push_str(&format!("  gold {t:<18} recall {:.4} ({}/{})\n", c.recall(), c.found, c.gold));
        }
        for (k, c) in &self.per_kind {
            s.push_str(&format!(
                "  predicted {:<13} precision {:.4} ({}/{})\n",
                k.as_str(),
                c.precision(),
                c.correct,
                c.predicted
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(start: usize, end: usize, kind: &str) -> GoldSpan {
        GoldSpan { start, end, kind: kind.into() }
    }

    #[test]
    fn split_is_by_patient_mod_4() {
        assert!(Split::Test.contains(Some(3)) && Split::Test.contains(Some(163)));
        assert!(Split::Train.contains(Some(4)) && Split::Train.contains(None));
        assert!(!Split::Train.contains(Some(7)));
    }

    #[test]
    fn any_overlap_and_exclusions() {
        let mut r = Report::default();
        let gold = [g(0, 5, "PTName"), g(10, 14, "DateYear"), g(20, 25, "Date")];
        // Hits the name, sits on the excluded year, and one false positive.
        let pred = [(2, 8, Kind::Name), (10, 14, Kind::Date), (30, 32, Kind::Id)];
        score_note(&mut r, 0, 40, &gold, &pred, &EvalOptions::default());
        assert_eq!((r.entity.found, r.entity.gold), (1, 2));
        assert_eq!((r.entity.correct, r.entity.predicted), (1, 2));
        assert_eq!((r.character.found, r.character.gold), (3, 10));
        assert_eq!(r.character.predicted, 3 + 3 + 2);
    }

    #[test]
    fn notes_are_resampled_by_patient() {
        let line = |id: &str, patient: Option<u64>, text: &str, spans: &str| {
            let p = patient.map_or(String::new(), |p| format!(r#","patient":{p}"#));
            format!(r#"{{"id":"{id}","text":"{text}","spans":[{spans}]{p}}}"#)
        };
        let name = r#"{"start":4,"end":9,"type":"HCPName"}"#;
        let jsonl = [
            line("a", Some(1), "Dr. Smith saw the patient.", name),
            line("b", Some(1), "Dr. Jones saw the patient.", name),
            line("c", Some(2), "Vitals stable overnight.", ""),
            line("d", None, "Dr. Brown called.", name),
        ]
        .join("\n");
        let report = evaluate_jsonl(&Detector::new(), jsonl.as_bytes(), &EvalOptions::default()).unwrap();
        let keys: Vec<Cluster> = report.by_patient.keys().copied().collect();
        assert_eq!(keys, [Cluster::Patient(1), Cluster::Patient(2), Cluster::Note(3)]);
        assert_eq!(report.by_patient[&Cluster::Patient(1)].gold, 2);
        let total = report.by_patient.values().fold(Counts::default(), |t, &c| t + c);
        assert_eq!(total, report.entity);
        let interval = report.interval().unwrap();
        assert_eq!(interval.clusters, 3);
        assert!(report.render().contains("(2 patients and 1 note resampled 2000 times)"), "{}", report.render());
    }
}
