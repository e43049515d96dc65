//! The learned layer: a per-word classifier for names and places that no
//! list or cue rule knows.
//!
//! Rules are precise where their cue is present; notes written in a hurry
//! often have no cue ("called wife Roxanne re: plan", "PCP Kalbfleisch
//! following"). This layer scores every non-function word on hashed features
//! of the word, its neighbours, their dictionary flags and cues, and the
//! punctuation around it ([`features`]), with an averaged perceptron
//! ([`train`]) — a linear model, so one word costs about twenty table
//! reads, which keeps detection at memory speed.
//!
//! The model is trained by a committed, reproducible command on the
//! **training split only** of the shared corpus and shipped in the crate
//! (`data/classifier.bin`, a few hundred kilobytes):
//!
//! ```text
//! cargo run --release -p phigate-deid --example train_classifier
//! ```
//!
//! The file format is small and versioned: magic `PGTC`, version, class
//! count, hash bits, the decision threshold, and the non-zero weights as
//! sorted `(index, [i16; classes])` rows with one scale.

pub mod features;
pub mod train;

use std::sync::{Arc, LazyLock};

use features::TextFeatures;

use crate::context::Finding;
use crate::dictionary::Flags;
use crate::span::{Kind, Span};
use crate::token::Token;
use crate::{Error, Result};

/// Output classes: not an identifier, a person's name, a place or facility.
pub const CLASSES: usize = 3;
/// Class index of "not an identifier".
pub const OUTSIDE: usize = 0;
/// Class index of a person's name.
pub const NAME: usize = 1;
/// Class index of a place or facility.
pub const PLACE: usize = 2;

const MAGIC: &[u8; 4] = b"PGTC";
const VERSION: u8 = 1;

/// A trained linear model over hashed features.
#[derive(Clone)]
pub struct Model {
    bits: u32,
    weights: Vec<[f32; CLASSES]>,
    /// How much a class must out-score [`OUTSIDE`] to be reported: below
    /// zero favours recall, as this layer is only ever added to the others.
    threshold: f32,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let nonzero = self.weights.iter().filter(|w| w.iter().any(|&x| x != 0.0)).count();
        f.debug_struct("Model").field("bits", &self.bits).field("nonzero", &nonzero).finish()
    }
}

static EMBEDDED: LazyLock<Arc<Model>> = LazyLock::new(|| {
    // Invariant: the embedded file is written by the committed trainer and
    // `embedded_model_loads` decodes it in every test run.
    Arc::new(Model::decode(include_bytes!("../data/classifier.bin")).expect("embedded classifier decodes"))
});

/// The model shipped with the crate.
pub fn embedded() -> Arc<Model> {
    Arc::clone(&EMBEDDED)
}

impl Model {
    /// An all-zero model over `1 << bits` hashed features.
    pub fn zeros(bits: u32, threshold: f32) -> Self {
        Self { bits, weights: vec![[0.0; CLASSES]; 1 << bits], threshold }
    }

    /// Hash width of the feature space.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// The decision threshold (margin over [`OUTSIDE`]).
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// The same weights with another decision threshold.
    pub fn with_threshold(mut self, threshold: f32) -> Self {
        self.threshold = threshold;
        self
    }

    pub(crate) fn weights(&self) -> &[[f32; CLASSES]] {
        &self.weights
    }

    pub(crate) fn weights_mut(&mut self) -> &mut [[f32; CLASSES]] {
        &mut self.weights
    }

    /// Class scores for one feature vector.
    pub fn scores(&self, feats: &[u32]) -> [f32; CLASSES] {
        let mut s = [0.0f32; CLASSES];
        for &f in feats {
            // Feature indices are masked to `bits` by construction; a stray
            // index scores nothing rather than panicking.
            if let Some(w) = self.weights.get(f as usize) {
                for c in 0..CLASSES {
                    s[c] += w[c];
                }
            }
        }
        s
    }

    /// The predicted class for one feature vector under the threshold.
    pub fn predict(&self, feats: &[u32]) -> usize {
        let s = self.scores(feats);
        let (best, score) =
            (1..CLASSES).map(|c| (c, s[c])).fold((OUTSIDE, f32::MIN), |a, b| if b.1 > a.1 { b } else { a });
        if score - s[OUTSIDE] > self.threshold { best } else { OUTSIDE }
    }

    /// Serialises the model: non-zero rows only, weights scaled to `i16`.
    pub fn encode(&self) -> Vec<u8> {
        let max = self.weights.iter().flat_map(|w| w.iter()).fold(0.0f32, |m, &x| m.max(x.abs()));
        let scale = if max > 0.0 { max / f32::from(i16::MAX) } else { 1.0 };
        let rows: Vec<(u32, [i16; CLASSES])> = self
            .weights
            .iter()
            .enumerate()
            .filter_map(|(i, w)| {
                // `as i16` saturates; |x / scale| <= i16::MAX by the choice of scale.
                let q = w.map(|x| (x / scale).round() as i16);
                (q != [0; CLASSES]).then_some((i as u32, q))
            })
            .collect();
        let mut out = Vec::with_capacity(20 + rows.len() * (4 + 2 * CLASSES));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&[VERSION, CLASSES as u8, self.bits as u8, 0]);
        out.extend_from_slice(&scale.to_le_bytes());
        out.extend_from_slice(&self.threshold.to_le_bytes());
        out.extend_from_slice(&(rows.len() as u32).to_le_bytes());
        for (i, q) in rows {
            out.extend_from_slice(&i.to_le_bytes());
            for x in q {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
        out
    }

    /// Reads a model written by [`Model::encode`].
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let bad = |reason: &'static str| Error::ClassifierModel { reason };
        let mut r = Reader(bytes);
        if r.take(4)? != MAGIC {
            return Err(bad("not a phigate classifier file"));
        }
        let head = r.take(4)?;
        if head[0] != VERSION {
            return Err(bad("unsupported classifier file version"));
        }
        if usize::from(head[1]) != CLASSES {
            return Err(bad("class count differs from this build"));
        }
        let bits = u32::from(head[2]);
        if !(8..=24).contains(&bits) {
            return Err(bad("feature hash width out of range"));
        }
        let scale = r.f32()?;
        let threshold = r.f32()?;
        if !scale.is_finite() || !threshold.is_finite() {
            return Err(bad("non-finite scale or threshold"));
        }
        let rows = r.u32()? as usize;
        let mut model = Model::zeros(bits, threshold);
        let mut last = None;
        for _ in 0..rows {
            let i = r.u32()?;
            if last.is_some_and(|l| i <= l) || i >= 1 << bits {
                return Err(bad("weight rows out of order or out of range"));
            }
            last = Some(i);
            let w = &mut model.weights[i as usize];
            for x in w.iter_mut() {
                *x = f32::from(r.i16()?) * scale;
            }
        }
        if !r.0.is_empty() {
            return Err(bad("trailing bytes"));
        }
        Ok(model)
    }

    /// Names and places this model finds among `tokens`, skipping function
    /// words and words that `covered` says another layer already took.
    /// Adjacent words of one class separated only by a space, hyphen, period
    /// or comma become one span, so "[NAME]" replaces a whole name.
    pub fn find(&self, text: &str, tokens: &[Token], covered: impl Fn(usize, usize) -> bool) -> Vec<Finding> {
        let feats = TextFeatures::new(text, tokens);
        let mut out: Vec<Finding> = Vec::new();
        for (i, t) in tokens.iter().enumerate() {
            if !is_candidate(t) || covered(t.start, t.end) {
                continue;
            }
            let kind = match self.predict(&feats.of(i, self.bits)) {
                NAME => Kind::Name,
                PLACE => Kind::Location,
                // "Hyls Musey, R.N.": the word after a found name, written
                // the same way and known to no list or dictionary, is the
                // rest of that name (the model scores words one at a time and
                // has seen few surnames as odd as the first names it finds).
                _ if i > 0
                    && out.last().is_some_and(|f| f.span.kind == Kind::Name && f.span.end == tokens[i - 1].end)
                    && &text[tokens[i - 1].end..t.start] == " "
                    && same_shape(&tokens[i - 1], t)
                    && crate::context::unknown_word(t, t.text(text)) =>
                {
                    Kind::Name
                }
                _ => continue,
            };
            if let Some(last) = out.last_mut()
                && last.span.kind == kind
                && joinable(&text[last.span.end.min(t.start)..t.start])
            {
                last.span.end = t.end;
                continue;
            }
            out.push(Finding { span: Span::new(t.start, t.end, kind), rule: "classifier" });
        }
        out
    }
}

/// Words the classifier scores (training skips the others too): not
/// function words, which are never an identifier on their own, and not
/// clinical vocabulary ("Apgar", "Foley", "Gram"), which only a cue rule may
/// turn into a name: a statistical guess must never redact a hard negative.
/// Nor identifier cues ("MRN", "Acct", "NPI"): the number after one is the
/// identifier, and the patterns find it.
pub fn is_candidate(t: &Token) -> bool {
    !t.has(Flags::STOP | Flags::COMMON | Flags::ID_CUE)
}

/// Both capitalised, or both all capitals, or both lower case.
fn same_shape(a: &Token, b: &Token) -> bool {
    a.has(Flags::CAP) == b.has(Flags::CAP) && a.has(Flags::UPPER) == b.has(Flags::UPPER)
}

fn joinable(between: &str) -> bool {
    between.len() <= 3 && between.bytes().all(|b| matches!(b, b' ' | b'-' | b'.' | b','))
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.0.len() < n {
            return Err(Error::ClassifierModel { reason: "file is truncated" });
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn f32(&mut self) -> Result<f32> {
        Ok(f32::from_bits(self.u32()?))
    }
    fn i16(&mut self) -> Result<i16> {
        let b = self.take(2)?;
        Ok(i16::from_le_bytes([b[0], b[1]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_cues_and_vocabulary_are_never_candidates() {
        let text = "Acct NPI MRN Foley Kussmaul Quillfeather";
        let toks = crate::token::tokenize(text);
        let candidates: Vec<&str> = toks.iter().filter(|t| is_candidate(t)).map(|t| t.text(text)).collect();
        assert_eq!(candidates, ["Quillfeather"]);
    }

    #[test]
    fn an_unknown_word_after_a_found_name_is_its_surname() {
        let m = embedded();
        let text = "settings ok. Hyls Musey, R.N.";
        let toks = crate::token::tokenize(text);
        let feats = TextFeatures::new(text, &toks);
        let musey = toks.iter().position(|t| t.text(text) == "Musey").unwrap();
        assert_ne!(m.predict(&feats.of(musey, m.bits)), NAME, "the model alone misses the surname");
        let found: Vec<&str> =
            m.find(text, &toks, |_, _| false).iter().map(|f| &text[f.span.start..f.span.end]).collect();
        assert_eq!(found, ["Hyls Musey"]);
        // Not a word of another shape, nor vocabulary.
        let text = "settings ok. Hyls MUSEY, Hyls aware.";
        let toks = crate::token::tokenize(text);
        let found: Vec<&str> =
            m.find(text, &toks, |_, _| false).iter().map(|f| &text[f.span.start..f.span.end]).collect();
        assert!(found.iter().all(|f| !f.contains(' ')), "{found:?}");
    }

    #[test]
    fn embedded_model_loads() {
        let m = embedded();
        assert!(m.bits() >= 8);
        assert!(m.weights.iter().any(|w| w.iter().any(|&x| x != 0.0)), "the shipped model has weights");
    }

    #[test]
    fn encode_decode_round_trips_within_quantisation() {
        let mut m = Model::zeros(10, -0.5);
        m.weights[3] = [1.0, -2.0, 0.25];
        m.weights[1000] = [0.0, 0.0, 4.0];
        let back = Model::decode(&m.encode()).unwrap();
        assert_eq!(back.bits(), 10);
        assert_eq!(back.threshold(), -0.5);
        for (a, b) in m.weights.iter().zip(&back.weights) {
            for c in 0..CLASSES {
                assert!((a[c] - b[c]).abs() < 4.0 / 32767.0 + 1e-6);
            }
        }
    }

    #[test]
    fn damaged_files_are_errors_not_panics() {
        let good = {
            let mut m = Model::zeros(10, 0.0);
            m.weights[7] = [1.0, 2.0, 3.0];
            m.encode()
        };
        for cut in 0..good.len() {
            assert!(Model::decode(&good[..cut]).is_err(), "truncated at {cut}");
        }
        let mut extra = good.clone();
        extra.push(0);
        assert!(Model::decode(&extra).is_err());
        let mut wrong = good;
        wrong[0] = b'X';
        assert!(Model::decode(&wrong).is_err());
    }

    #[test]
    fn adjacent_words_of_one_class_join() {
        assert!(joinable(" "));
        assert!(joinable(", "));
        assert!(joinable("-"));
        assert!(!joinable(" and "));
        assert!(!joinable("\n\n"));
    }
}
