"""Registry benchmark: report classification accuracy and speed; NAACCR XML throughput.

    python bench/registry.py                 # 400 self-written reports
    python bench/registry.py --reports 1000 --misses

Headline: no independent public set of pathology reports with registry ground truth
(primary site coded by a registrar) and a published licence was found. MTSamples has no
published licence and no site labels; TCGA report texts are kept aside for the project's
held-out evaluation and are not used here. So every accuracy below is on **self-written**
reports (`chartkeeper.synth.pathreports`, written by the same hand as the classifier),
a regression floor and not a claim about real reports.

The baseline run in the same process is the naive reading: the first organ word in the
report, wherever it is. The ratio shows what section, specimen and metastasis rules add,
and what they cost in speed. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter

from chartkeeper.registry import lexicon
from chartkeeper.registry.classify import classify
from chartkeeper.synth.pathreports import make_reports


def naive_site(text: str) -> str | None:
    """Baseline: the first organ word in the text, lymph nodes skipped."""
    found = lexicon.site_lexicon().find([t.word for t in lexicon.tokenize(text)])
    for m in found:
        if not m.entry.code.startswith("C77"):
            return m.entry.code
    return None


def macro_f1(pairs: list[tuple[str, str]]) -> float:
    labels = {t for t, _ in pairs}
    scores = []
    for label in labels:
        tp = sum(1 for t, p in pairs if t == label and p == label)
        fp = sum(1 for t, p in pairs if t != label and p == label)
        fn = sum(1 for t, p in pairs if t == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0)
    return sum(scores) / len(scores) if scores else 0.0


def classification(count: int, misses: bool) -> dict:
    reports = make_reports(count, seed=2026)
    started = time.perf_counter()
    results = [classify(r.text) for r in reports]
    ours = time.perf_counter() - started
    started = time.perf_counter()
    naive = [naive_site(r.text) for r in reports]
    baseline = time.perf_counter() - started
    pairs = [
        (r.primary_site[:3], (c.primary_site or "-")[:3])
        for r, c in zip(reports, results, strict=False)
    ]
    naive_pairs = [
        (r.primary_site[:3], (n or "-")[:3]) for r, n in zip(reports, naive, strict=False)
    ]
    by_style: Counter = Counter()
    right_style: Counter = Counter()
    for r, (t, p) in zip(reports, pairs, strict=False):
        by_style[r.style] += 1
        right_style[r.style] += t == p
    if misses:
        for r, c in zip(reports, results, strict=False):
            if (c.primary_site or "-")[:3] != r.primary_site[:3]:
                print(
                    f"MISS {r.id} {r.style} truth {r.primary_site} got {c.primary_site} "
                    f"{c.candidates}"
                )
    n = len(reports)
    return {
        "set": "self-written (chartkeeper.synth.pathreports)",
        "reports": n,
        "site3_accuracy": round(sum(t == p for t, p in pairs) / n, 4),
        "site3_macro_f1": round(macro_f1(pairs), 4),
        "site4_accuracy": round(
            sum(r.primary_site == c.primary_site for r, c in zip(reports, results, strict=False))
            / n,
            4,
        ),
        "morphology_accuracy": round(
            sum(r.morphology == c.morphology for r, c in zip(reports, results, strict=False)) / n, 4
        ),
        "laterality_accuracy": round(
            sum(r.laterality == c.laterality for r, c in zip(reports, results, strict=False)) / n, 4
        ),
        "by_style": {s: round(right_style[s] / by_style[s], 3) for s in sorted(by_style)},
        "baseline_first_organ_word_site3_accuracy": round(
            sum(t == p for t, p in naive_pairs) / n, 4
        ),
        "reports_per_second": round(n / ours, 1),
        "baseline_reports_per_second": round(n / baseline, 1),
        "speed_ratio_vs_baseline": round(baseline / ours, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=400)
    parser.add_argument("--misses", action="store_true")
    args = parser.parse_args()
    lexicon.site_lexicon(), lexicon.histology_lexicon()  # load once, outside the timing
    result = {
        "independent_public_set": None,
        "classification": classification(args.reports, args.misses),
    }
    for key, value in result["classification"].items():
        print(f"{key:45} {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
