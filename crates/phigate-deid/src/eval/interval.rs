//! How far an entity-level score could move on another sample of patients.
//!
//! A corpus split holds a few dozen patients, and one patient's notes share
//! their nurses, relatives and places: misses come in clusters, so a recall
//! over 431 spans is far less certain than 431 independent draws would
//! suggest. The interval resamples whole patients with replacement (the
//! percentile bootstrap over clusters) and reads the 2.5th and 97.5th
//! percentiles of the recomputed scores. The draws come from a fixed seed so
//! the same report always prints the same interval.

use super::Counts;

/// Resamples drawn; enough for stable 2.5/97.5 percentiles at the third
/// decimal on a few dozen clusters, and cheap (clusters × draws additions).
pub const DRAWS: usize = 2000;

/// Fixed seed: the interval is part of a reproducible report.
const SEED: u64 = 0x7068_6967_6174_6531;

/// A 95% interval for entity-level recall and precision.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interval {
    /// Lowest and highest plausible recall.
    pub recall: (f64, f64),
    /// Lowest and highest plausible precision.
    pub precision: (f64, f64),
    /// Patients (or stand-alone notes) resampled, [`DRAWS`] times.
    pub clusters: usize,
}

/// The interval over `clusters` (entity counts per patient), or `None` with
/// fewer than two: one patient says nothing about another.
pub fn bootstrap(clusters: &[Counts]) -> Option<Interval> {
    let n = clusters.len();
    if n < 2 {
        return None;
    }
    let mut rng = SplitMix64(SEED);
    let mut recalls = Vec::with_capacity(DRAWS);
    let mut precisions = Vec::with_capacity(DRAWS);
    for _ in 0..DRAWS {
        let mut sum = Counts::default();
        for _ in 0..n {
            sum += clusters[rng.below(n)];
        }
        recalls.push(sum.recall());
        precisions.push(sum.precision());
    }
    Some(Interval { recall: percentiles(recalls), precision: percentiles(precisions), clusters: n })
}

/// The 2.5th and 97.5th percentiles (nearest rank).
fn percentiles(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    let last = v.len() - 1;
    let at = |q: f64| v[((q * v.len() as f64).ceil() as usize).saturating_sub(1).min(last)];
    (at(0.025), at(0.975))
}

/// A small, well-mixed generator (Steele, Lea, Flood 2014); statistical
/// quality is all that is needed here, not unpredictability.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (multiply-shift; the bias is below 2^-40 for the
    /// cluster counts seen here).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next()) * n as u128) >> 64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(found: usize, gold: usize, correct: usize, predicted: usize) -> Counts {
        Counts { found, gold, correct, predicted }
    }

    #[test]
    fn fewer_than_two_clusters_give_no_interval() {
        assert_eq!(bootstrap(&[]), None);
        assert_eq!(bootstrap(&[c(9, 10, 9, 10)]), None);
    }

    #[test]
    fn identical_clusters_give_the_point_estimate() {
        let i = bootstrap(&[c(9, 10, 8, 10); 30]).unwrap();
        assert_eq!(i.recall, (0.9, 0.9));
        assert_eq!(i.precision, (0.8, 0.8));
        assert_eq!(i.clusters, 30);
    }

    #[test]
    fn the_interval_is_reproducible_and_brackets_the_score() {
        // Forty patients: most found everything, four missed half.
        let mut clusters = vec![c(10, 10, 10, 11); 36];
        clusters.extend([c(5, 10, 5, 6); 4]);
        let a = bootstrap(&clusters).unwrap();
        assert_eq!(a, bootstrap(&clusters).unwrap());
        let recall = 380.0 / 400.0;
        assert!(a.recall.0 < recall && recall < a.recall.1, "{a:?}");
        assert!(a.recall.0 > 0.85 && a.recall.1 <= 1.0, "{a:?}");
        assert!(a.precision.0 <= a.precision.1);
    }

    #[test]
    fn clustered_misses_widen_the_interval() {
        // The same 20 misses in 400 spans: spread over every patient, or
        // all in two patients.
        let spread = bootstrap(&[c(19, 20, 19, 20); 20]).unwrap();
        let mut lumped = vec![c(20, 20, 20, 20); 18];
        lumped.extend([c(10, 20, 10, 20); 2]);
        let lumped = bootstrap(&lumped).unwrap();
        assert_eq!(spread.recall, (0.95, 0.95));
        assert!(lumped.recall.1 - lumped.recall.0 > 0.03, "{lumped:?}");
    }

    #[test]
    fn draws_cover_every_cluster_uniformly() {
        let mut rng = SplitMix64(SEED);
        let mut seen = [0usize; 7];
        for _ in 0..70_000 {
            seen[rng.below(7)] += 1;
        }
        assert!(seen.iter().all(|&k| (9_000..11_000).contains(&k)), "{seen:?}");
    }
}
