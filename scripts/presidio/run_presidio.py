#!/usr/bin/env python3
"""Presidio's detection throughput and accuracy on the shared PhysioNet corpus.

Run by scripts/bench-deid with the virtual environment and spaCy pipeline that
scripts/lib/presidio.sh prepares; prints one JSON object on standard output
(progress goes to standard error, never note text).

What it runs: ``AnalyzerEngine(nlp_engine=...).analyze(text, language="en")``
once per note, single thread, with Presidio's default recognizer registry, every
entity type, and the default score threshold (0: every result is kept). The NLP
engine is Presidio's own default configuration (conf/default.yaml) with one
change: the spaCy model is the en_core_web_md directory given by --model,
because Presidio's default en_core_web_lg is not available from PyPI.

Scoring mirrors crates/phigate-deid/src/eval.rs (``score_note``) exactly:
entity level, any overlap, type blind; gold ``DateYear`` spans are excluded (not
counted as misses, and a prediction touching only excluded gold is not counted
at all); character-level scores beside it. Like phigate's detector, which
unions overlapping proposals (detect.rs ``resolve``), Presidio's overlapping
results are unioned first, so one stretch of text found by two recognizers
counts once (the raw result count is reported too). Scores at a 0.5 score
cut-off are computed from the same results and reported beside the default.

The fixed split is eval.rs's: test = notes whose ``patient`` is a number with
``patient % 4 == 3``; train = every other note (including notes without one).

Throughput: wall-clock (time.perf_counter) and CPU (time.process_time) of the
analysis loop only; pipeline and recognizer loading is reported separately,
and one untimed warm-up call precedes the loop. MB = 10^6 bytes of UTF-8 text,
as in crates/phigate-deid/benches/detect.rs. With ``--throughput all`` every
note of the corpus is analysed and timed (the text phigate's bench times),
while the scores still cover only ``--split``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

# Single thread for every numeric library spaCy may call into; set before import.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
# tldextract (Presidio's e-mail recognizer) would fetch the public suffix list
# over the network on first use; use the snapshot shipped in its wheel instead.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS = ROOT.parent / "shared" / "data" / "deid" / "physionet_deid_nursing.jsonl"
EXCLUDED_TYPES = ("DateYear",)


def log(msg: str) -> None:
    print(f"run_presidio: {msg}", file=sys.stderr, flush=True)


def read_gold(path: Path) -> list[dict]:
    """The corpus's notes; checks spans the way eval.rs's read_gold does."""
    notes = []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"run_presidio: {path.name} line {i}: invalid JSON at column {e.colno}")
            text = raw.get("text")
            if not isinstance(text, str):
                sys.exit(f"run_presidio: {path.name} line {i}: field text missing or not a string")
            patient = raw.get("patient")
            if patient is not None and (not isinstance(patient, int) or isinstance(patient, bool) or patient < 0):
                sys.exit(f"run_presidio: {path.name} line {i}: field patient is not a non-negative integer")
            spans = raw.get("spans") or []
            for j, s in enumerate(spans):
                if not (0 <= s["start"] <= s["end"] <= len(text)):
                    sys.exit(f"run_presidio: {path.name} line {i}: spans[{j}] out of range")
            notes.append({"patient": patient, "text": text, "spans": spans})
    return notes


def in_split(split: str, patient: int | None) -> bool:
    test = patient is not None and patient % 4 == 3
    return {"test": test, "train": not test, "all": True}[split]


def union(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, overlapping spans merged (strict overlap, as detect.rs resolve)."""
    out: list[list[int]] = []
    for start, end in sorted(spans, key=lambda s: (s[0], -s[1])):
        if out and start < out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(s, e) for s, e in out]


class Counts:
    def __init__(self) -> None:
        self.found = self.gold = self.correct = self.predicted = 0

    def recall(self) -> float:
        return self.found / self.gold if self.gold else 1.0

    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 1.0

    def f1(self) -> float:
        r, p = self.recall(), self.precision()
        return 0.0 if r + p == 0 else 2 * r * p / (r + p)

    def as_json(self) -> dict:
        return {
            "recall": self.recall(),
            "precision": self.precision(),
            "f1": self.f1(),
            "found": self.found,
            "gold": self.gold,
            "correct": self.correct,
            "predicted": self.predicted,
        }


def score_note(entity: Counts, character: Counts, per_gold: dict, text_len: int, gold: list, predicted: list) -> None:
    """Port of eval.rs score_note (entity and character level, exclusions)."""

    def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
        return a[0] < b[1] and b[0] < a[1]

    included = [g for g in gold if g["type"] not in EXCLUDED_TYPES]
    dropped = [g for g in gold if g["type"] in EXCLUDED_TYPES]
    for g in included:
        hit = any(overlaps(p, (g["start"], g["end"])) for p in predicted)
        entity.gold += 1
        t = per_gold.setdefault(g["type"], Counts())
        t.gold += 1
        if hit:
            entity.found += 1
            t.found += 1
    for p in predicted:
        on_gold = any(overlaps(p, (g["start"], g["end"])) for g in included)
        on_excluded = any(overlaps(p, (g["start"], g["end"])) for g in dropped)
        if not on_gold and on_excluded:
            continue
        entity.predicted += 1
        if on_gold:
            entity.correct += 1
    label = bytearray(text_len)  # 0 none, 1 gold, 2 excluded
    for g in dropped:
        label[g["start"] : g["end"]] = b"\x02" * (g["end"] - g["start"])
    for g in included:
        label[g["start"] : g["end"]] = b"\x01" * (g["end"] - g["start"])
    mask = bytearray(text_len)
    for start, end in predicted:
        end = min(end, text_len)
        if start < end:
            mask[start:end] = b"\x01" * (end - start)
    for lab, hit in zip(label, mask):
        if lab == 1:
            character.gold += 1
            if hit:
                character.found += 1
                character.predicted += 1
                character.correct += 1
        elif lab == 0 and hit:
            character.predicted += 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="gold JSONL (default: the shared corpus)")
    ap.add_argument("--split", choices=("test", "train", "all"), default="test", help="notes to score")
    ap.add_argument(
        "--throughput",
        choices=("split", "all"),
        default="split",
        help="notes to analyse and time: the scored split only, or the whole corpus",
    )
    ap.add_argument("--limit", type=int, default=None, help="analyse at most N notes (quick runs)")
    ap.add_argument("--model", default=os.environ.get("PHIGATE_PRESIDIO_MODEL"), help="spaCy pipeline directory")
    args = ap.parse_args()
    if not args.model:
        sys.exit("run_presidio: no spaCy pipeline: pass --model DIR or set PHIGATE_PRESIDIO_MODEL (scripts/lib/presidio.sh)")
    if not args.corpus.is_file():
        sys.exit(f"run_presidio: corpus not found: {args.corpus}")

    notes = read_gold(args.corpus)
    selected = [n for n in notes if args.throughput == "all" or in_split(args.split, n["patient"])]
    if args.limit is not None:
        selected = selected[: args.limit]
    if not selected:
        sys.exit("run_presidio: no notes selected")

    from importlib.metadata import version

    import spacy
    import yaml
    import presidio_analyzer
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    t0, c0 = time.perf_counter(), time.process_time()
    conf_path = Path(presidio_analyzer.__file__).parent / "conf" / "default.yaml"
    with open(conf_path, encoding="utf-8") as f:
        conf = yaml.safe_load(f)
    default_model = conf["models"][0]["model_name"]
    conf["models"] = [{"lang_code": "en", "model_name": str(args.model)}]
    engine = NlpEngineProvider(nlp_configuration=conf).create_engine()
    analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])
    meta = engine.nlp["en"].meta
    analyzer.analyze(selected[0]["text"], language="en")  # warm-up, untimed
    load_wall, load_cpu = time.perf_counter() - t0, time.process_time() - c0
    log(f"model and recognizers loaded in {load_wall:.1f} s; analysing {len(selected)} notes, single thread")

    results = []
    w0, c0 = time.perf_counter(), time.process_time()
    for i, note in enumerate(selected, 1):
        results.append(analyzer.analyze(note["text"], language="en"))
        if i % 250 == 0:
            log(f"{i}/{len(selected)} notes")
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0

    timed_bytes = sum(len(n["text"].encode("utf-8")) for n in selected)
    entity, character, per_gold = Counts(), Counts(), {}
    per_type_raw: dict[str, int] = {}
    per_type: dict[str, Counts] = {}
    # Also scored at a commonly used cut-off, from the same results (no re-run).
    at_threshold = {0.5: (Counts(), Counts())}
    scored_notes = scored_chars = raw_results = 0
    for note, found in zip(selected, results):
        if not in_split(args.split, note["patient"]):
            continue
        scored_notes += 1
        scored_chars += len(note["text"])
        raw_results += len(found)
        for r in found:
            per_type_raw[r.entity_type] = per_type_raw.get(r.entity_type, 0) + 1
        predicted = union([(r.start, r.end) for r in found])
        score_note(entity, character, per_gold, len(note["text"]), note["spans"], predicted)
        for th, (e, c) in at_threshold.items():
            kept = union([(r.start, r.end) for r in found if r.score >= th])
            score_note(e, c, {}, len(note["text"]), note["spans"], kept)
        included = [(g["start"], g["end"]) for g in note["spans"] if g["type"] not in EXCLUDED_TYPES]
        dropped = [(g["start"], g["end"]) for g in note["spans"] if g["type"] in EXCLUDED_TYPES]
        for r in found:
            on_gold = any(r.start < e and s < r.end for s, e in included)
            if not on_gold and any(r.start < e and s < r.end for s, e in dropped):
                continue
            k = per_type.setdefault(r.entity_type, Counts())
            k.predicted += 1
            k.correct += on_gold

    print(
        json.dumps(
            {
                "engine": "presidio-analyzer",
                "versions": {
                    "presidio_analyzer": version("presidio-analyzer"),
                    "spacy": spacy.__version__,
                    "model": f"{meta.get('lang')}_{meta.get('name')}-{meta.get('version')}",
                    "presidio_default_model": default_model,
                    "python": sys.version.split()[0],
                },
                "settings": {
                    "entities": "all",
                    "score_threshold": analyzer.default_score_threshold,
                    "recognizers": len(analyzer.registry.recognizers),
                },
                "throughput": {
                    "over": ("all notes" if args.throughput == "all" else f"{args.split} split")
                    + ("" if args.limit is None else f", first {len(selected)} notes"),
                    "notes": len(selected),
                    "bytes": timed_bytes,
                    "wall_s": wall,
                    "cpu_s": cpu,
                    "mb_per_s_wall": timed_bytes / wall / 1e6,
                    "mb_per_s_cpu": timed_bytes / cpu / 1e6 if cpu > 0 else None,
                    "load_wall_s": load_wall,
                    "load_cpu_s": load_cpu,
                },
                "scores": {
                    "split": args.split,
                    "excluded_types": list(EXCLUDED_TYPES),
                    "notes": scored_notes,
                    "chars": scored_chars,
                    "raw_results": raw_results,
                    "raw_results_per_type": dict(sorted(per_type_raw.items())),
                    "entity": entity.as_json(),
                    "character": character.as_json(),
                    "at_score_threshold": {
                        str(th): {"entity": e.as_json(), "character": c.as_json()} for th, (e, c) in at_threshold.items()
                    },
                    "precision_per_result_type": {
                        t: {"precision": c.precision(), "correct": c.correct, "predicted": c.predicted}
                        for t, c in sorted(per_type.items())
                    },
                    "recall_per_gold_type": {
                        t: {"recall": c.recall(), "found": c.found, "gold": c.gold} for t, c in sorted(per_gold.items())
                    },
                },
            }
        )
    )


if __name__ == "__main__":
    main()
