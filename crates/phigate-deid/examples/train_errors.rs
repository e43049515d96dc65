//! Prints the misses and false positives on the **training** split of the
//! shared corpus, with context, grouped by the rule that fired: the tuning
//! loop. It refuses to look at the test split.
//!
//! `cargo run --release -p phigate-deid --example train_errors [misses|fps|all]`
//! (`PHIGATE_NO_CLASSIFIER=1` for the rules alone; `PHIGATE_FOLD=F` scores
//! only training fold F, patient % 4 == F; `PHIGATE_CLASSIFIER=PATH` loads
//! another model file: both for `scripts/deid-holdout`;
//! `PHIGATE_PATIENT_MEMORY=1` carries confirmed names to a patient's later
//! notes; `PHIGATE_THRESHOLD=T` scores the classifier at another decision
//! threshold, for sweeps on a held-out fold; `PHIGATE_GOLD=PATH` reads
//! another training-split gold file, such as the out-of-list stress set
//! that `scripts/deid-resurrogate` writes)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use phigate_deid::Detector;
use phigate_deid::eval::{EvalOptions, Split, evaluate, read_gold};
use phigate_deid::span::CharIndex;

fn main() {
    let what = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    let path = std::env::var_os("PHIGATE_GOLD").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/deid/physionet_deid_nursing.jsonl")
    });
    let mut notes = read_gold(std::io::BufReader::new(std::fs::File::open(path).unwrap())).unwrap();
    if let Some(f) = std::env::var("PHIGATE_FOLD").ok().map(|f| f.parse::<u64>().unwrap()) {
        assert!(f < 3, "fold 3 is the test split");
        notes.retain(|n| n.patient.is_some_and(|p| p % 4 == f));
    }
    // PHIGATE_NO_GAZETTEER=1 measures the generic facility rules alone.
    let rules = phigate_deid::context::RuleSet {
        site_gazetteer: std::env::var_os("PHIGATE_NO_GAZETTEER").is_none(),
        ..Default::default()
    };
    let mut detector = Detector::new().with_rules(rules);
    // PHIGATE_NO_CLASSIFIER=1: the rules alone (the classifier was fitted on
    // this split, so with it the misses left are mostly memorised away).
    if std::env::var_os("PHIGATE_NO_CLASSIFIER").is_some() {
        detector = detector.with_classifier(None);
    } else if let Some(p) = std::env::var_os("PHIGATE_CLASSIFIER") {
        let mut model = phigate_deid::classifier::Model::decode(&std::fs::read(p).unwrap()).unwrap();
        if let Some(t) = std::env::var("PHIGATE_THRESHOLD").ok().map(|t| t.parse::<f32>().unwrap()) {
            model = model.with_threshold(t);
        }
        detector = detector.with_classifier(Some(std::sync::Arc::new(model)));
    }
    let opts = EvalOptions {
        split: Split::Train,
        collect_errors: true,
        // PHIGATE_PATIENT_MEMORY=1: carry confirmed names to a patient's later notes.
        patient_memory: std::env::var_os("PHIGATE_PATIENT_MEMORY").is_some(),
        ..EvalOptions::default()
    };
    let report = evaluate(&detector, &notes, &opts);
    print!("{}", report.render());
    let ctx = |note: usize, s: usize, e: usize| {
        let t: Vec<char> = notes[note].text.expose().chars().collect();
        let a: String = t[s.saturating_sub(30)..s].iter().collect();
        let b: String = t[s..e].iter().collect();
        let c: String = t[e..(e + 20).min(t.len())].iter().collect();
        format!("{:?} [[{}]] {:?}", a, b, c)
    };
    // Per-rule hits on gold (train only).
    let mut per_rule: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (n, note) in notes.iter().enumerate() {
        if !Split::Train.contains(note.patient) {
            continue;
        }
        let text = note.text.expose();
        let idx = CharIndex::new(text);
        let gold: Vec<(usize, usize)> = note
            .spans
            .iter()
            .filter(|g| g.kind != "DateYear")
            .map(|g| (idx.byte_of_char(g.start).unwrap(), idx.byte_of_char(g.end).unwrap()))
            .collect();
        for f in detector.explain(text) {
            let hit = gold.iter().any(|&(s, e)| f.span.start < e && s < f.span.end);
            let e = per_rule.entry(f.rule).or_default();
            if hit { e.0 += 1 } else { e.1 += 1 }
        }
        let _ = n;
    }
    for (rule, (tp, fp)) in &per_rule {
        println!("rule {rule:<18} on-gold {tp:>5}  off-gold {fp:>5}");
    }
    if what == "misses" || what == "all" {
        println!("== misses");
        for m in &report.misses {
            println!("{:<18} {}", m.kind, ctx(m.note, m.start, m.end));
        }
    }
    if what == "fps" || what == "all" {
        println!("== false positives by rule");
        let mut by_rule: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for f in &report.false_positives {
            let text = notes[f.note].text.expose();
            let idx = CharIndex::new(text);
            let (bs, be) = (idx.byte_of_char(f.start).unwrap(), idx.byte_of_char(f.end).unwrap());
            let rules: Vec<&str> = detector
                .explain(text)
                .into_iter()
                .filter(|x| x.span.start < be && bs < x.span.end)
                .map(|x| x.rule)
                .collect();
            let key = rules.first().copied().unwrap_or("?");
            by_rule.entry(key).or_default().push(format!("{:<9} {}", f.kind, ctx(f.note, f.start, f.end)));
        }
        for (rule, v) in by_rule {
            println!("-- {rule}: {}", v.len());
            for x in v {
                println!("   {x}");
            }
        }
    }
}
