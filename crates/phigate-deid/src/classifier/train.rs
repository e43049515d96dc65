//! Training: an averaged multiclass perceptron over the words of gold notes.
//!
//! Chosen over anything heavier because it trains in seconds on one core,
//! is deterministic for a given seed, and its averaged weights generalise
//! about as well as a logistic regression on data this size. Everything is
//! pure: the caller reads the corpus, picks the split, and writes the file
//! (`examples/train_classifier.rs`).

use super::features::{PER_TOKEN, TextFeatures};
use super::{CLASSES, Model, NAME, OUTSIDE, PLACE, is_candidate};
use crate::eval::{GoldNote, corpus_kind};
use crate::span::{CharIndex, Kind};
use crate::token::tokenize;

/// The settings the shipped model was trained with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// Hash width of the feature space.
    pub bits: u32,
    /// Passes over the data.
    pub epochs: usize,
    /// Shuffle seed of the first bag; bag `k` uses `seed + k`.
    pub seed: u64,
    /// How many perceptrons, each trained in its own shuffle order, are
    /// averaged into the shipped weights. One perceptron's weights depend on
    /// the order it saw the data in: retrains that differ only in order moved
    /// test recall by ±0.01. The average of linear models is one linear
    /// model, so bagging costs training time only, never detection time.
    pub bags: usize,
    /// Decision threshold written into the model. Chosen by 3-fold
    /// cross-validation inside the training split (`train_classifier
    /// --validate`): at -2 the layer adds recall for a few points of
    /// precision, and recall is what protects patients.
    pub threshold: f32,
}

impl Default for Settings {
    fn default() -> Self {
        Self { bits: 18, epochs: 8, seed: 42, bags: 8, threshold: -2.0 }
    }
}

/// Trains on gold notes (the caller has already removed the test split).
pub fn fit(notes: &[GoldNote], settings: Settings) -> Model {
    let mut ex: Vec<Example> = Vec::new();
    for n in notes {
        let text = n.text.expose();
        let idx = CharIndex::new(text);
        let gold: Vec<_> = n
            .spans
            .iter()
            .filter_map(|g| Some((idx.byte_of_char(g.start)?, idx.byte_of_char(g.end)?, corpus_kind(&g.kind)?)))
            .collect();
        examples(text, &gold, settings.bits, &mut ex);
    }
    // The mean of linear scorers decides as the mean of their scores does.
    let bags = settings.bags.max(1);
    let mut mean = Model::zeros(settings.bits, settings.threshold);
    for k in 0..bags as u64 {
        let m = train(&ex, settings.bits, settings.epochs, settings.seed.wrapping_add(k), settings.threshold);
        for (o, w) in mean.weights_mut().iter_mut().zip(m.weights()) {
            for c in 0..CLASSES {
                o[c] += w[c] / bags as f32;
            }
        }
    }
    mean
}

/// One training word: its features and gold class.
#[derive(Clone, Copy, Debug)]
pub struct Example {
    /// Hashed features.
    pub features: [u32; PER_TOKEN],
    /// Gold class ([`OUTSIDE`], [`NAME`] or [`PLACE`]).
    pub label: u8,
}

/// Training examples of one note. `gold` holds byte spans with their kind;
/// words inside identifiers of other kinds (a month inside a date) are left
/// out rather than taught as "outside".
pub fn examples(text: &str, gold: &[(usize, usize, Kind)], bits: u32, out: &mut Vec<Example>) {
    let tokens = tokenize(text);
    let feats = TextFeatures::new(text, &tokens);
    for (i, t) in tokens.iter().enumerate() {
        if !is_candidate(t) {
            continue;
        }
        let label = match gold.iter().find(|&&(s, e, _)| t.start < e && s < t.end).map(|g| g.2) {
            None => OUTSIDE,
            Some(Kind::Name) => NAME,
            Some(Kind::Location | Kind::Address) => PLACE,
            Some(_) => continue,
        };
        out.push(Example { features: feats.of(i, bits), label: label as u8 });
    }
}

/// Trains for `epochs` passes in an order shuffled by `seed`; returns the
/// averaged weights.
pub fn train(examples: &[Example], bits: u32, epochs: usize, seed: u64, threshold: f32) -> Model {
    let n = 1usize << bits;
    let mut w = vec![[0.0f32; CLASSES]; n];
    // Sum of (step number × update), for the averaging trick: the average of
    // all intermediate weight vectors is w - u / steps.
    let mut u = vec![[0.0f32; CLASSES]; n];
    let mut order: Vec<usize> = (0..examples.len()).collect();
    let mut rng = seed | 1;
    let mut step = 1.0f32;
    for _ in 0..epochs {
        // Fisher-Yates with xorshift64: deterministic, no dependency.
        for i in (1..order.len()).rev() {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            order.swap(i, (rng % (i as u64 + 1)) as usize);
        }
        for &k in &order {
            let ex = &examples[k];
            let mut s = [0.0f32; CLASSES];
            for &f in &ex.features {
                for c in 0..CLASSES {
                    s[c] += w[f as usize][c];
                }
            }
            let guess = (0..CLASSES).fold(0, |b, c| if s[c] > s[b] { c } else { b });
            let gold = usize::from(ex.label);
            if guess != gold {
                for &f in &ex.features {
                    let f = f as usize;
                    w[f][gold] += 1.0;
                    w[f][guess] -= 1.0;
                    u[f][gold] += step;
                    u[f][guess] -= step;
                }
            }
            step += 1.0;
        }
    }
    let mut model = Model::zeros(bits, threshold);
    for ((m, w), u) in model.weights_mut().iter_mut().zip(&w).zip(&u) {
        for c in 0..CLASSES {
            m[c] = w[c] - u[c] / step;
        }
    }
    model
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_separable_toy_problem_deterministically() {
        let notes = [
            ("Called wife Roxanne about plan.", "Roxanne"),
            ("Called wife Ottilie about plan.", "Ottilie"),
            ("Called wife Zenobia about plan.", "Zenobia"),
            ("Called wife Marguerite about plan.", "Marguerite"),
        ];
        let mut ex = Vec::new();
        for (text, name) in notes {
            let s = text.find(name).unwrap();
            examples(text, &[(s, s + name.len(), Kind::Name)], 16, &mut ex);
        }
        let a = train(&ex, 16, 5, 7, 0.0);
        let b = train(&ex, 16, 5, 7, 0.0);
        assert_eq!(a.encode(), b.encode(), "same seed, same model");
        let text = "Called wife Philippa about plan.";
        let tokens = tokenize(text);
        let found = a.find(text, &tokens, |_, _| false);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(&text[found[0].span.start..found[0].span.end], "Philippa");
    }
}
