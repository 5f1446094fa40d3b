"""Registry benchmark: report classification accuracy and speed; NAACCR XML throughput.

    python bench/registry.py                 # 400 self-written reports
    python bench/registry.py --reports 1000 --misses

Headline: no independent public set of pathology reports with registry ground truth
(primary site coded by a registrar) and a published licence was found. Searched again
this session: MTSamples has no published licence and no site labels; the DRAGON
benchmark's sample reports (DIAGNijmegen/dragon_sample_reports) are a handful of
translated reports with no licence stated; the Louisiana/Kentucky SEER pathology sets
are not public; TCGA report texts are kept aside for the project's held-out evaluation
and are not used here. So every accuracy below is on **self-written** reports: the
generator's (`chartkeeper.synth.pathreports`) and 104 hand-written reports in real-report
layouts (`bench/data/realistic_reports*.txt`, another author's style: set A, 50, written
while the rules were adjusted; sets B (30) and C (24), each scored once before any change,
their first scores below), regression floors and not claims about real reports.

The baseline run in the same process is the naive reading: the first organ word in the
report, wherever it is. The ratio shows what section, specimen and metastasis rules add,
and what they cost in speed. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter
from pathlib import Path

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
    started, cpu_started = time.perf_counter(), time.process_time()
    results = [classify(r.text) for r in reports]
    ours, ours_cpu = time.perf_counter() - started, time.process_time() - cpu_started
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
        # CPU time of this process: the wall clock on a shared 2-core machine swings 3x.
        "reports_per_cpu_second": round(n / ours_cpu, 1),
        "mean_report_chars": round(sum(len(r.text) for r in reports) / n),
        "baseline_reports_per_second": round(n / baseline, 1),
        "speed_ratio_vs_baseline": round(baseline / ours, 3),
    }


REALISTIC = Path(__file__).parent / "data" / "realistic_reports.txt"
# Set B: written after set A's rules were settled and scored once before any rule changed
# for it. First score (classifier of commit 4d27516): 3-character site 27/30 = 0.90,
# 4-character 0.67, morphology 0.80 (with three labels the official lists show were wrong).
REALISTIC_B = Path(__file__).parent / "data" / "realistic_reports_b.txt"
# Set C: letterheads, page furniture, hyphenated breaks, synoptic-only, lower case; written
# after sets A and B were settled. First score (classifier of commit e895348, before any
# change for it): 3-character site 23/24 = 0.958, 4-character 0.83, morphology 0.58 (five
# of the morphology/subsite "misses" were label errors, corrected in the file).
REALISTIC_C = Path(__file__).parent / "data" / "realistic_reports_c.txt"


def read_realistic(path: Path = REALISTIC) -> list[dict]:
    """The hand-written real-layout reports: "=== id | site | morphology | layout" blocks."""
    reports = []
    for block in re.split(r"^=== ", path.read_text(encoding="utf-8"), flags=re.M)[1:]:
        head, text = block.split("\n", 1)
        rid, site, morphology, layout = (part.strip() for part in head.split("|"))
        reports.append(
            {"id": rid, "site": site, "morphology": morphology, "layout": layout, "text": text}
        )
    return reports


def realistic(misses: bool, path: Path = REALISTIC) -> dict:
    """Self-written reports in real-report layouts (CAP synoptic, multi-specimen, OCR
    noise, addenda, all caps, broken lines), by another hand than the generator's. The
    classifier's rules were adjusted while this set was being written, so it too is a
    regression floor, not an independent measure."""
    reports = read_realistic(path)
    results = [classify(r["text"]) for r in reports]
    pairs = [
        (r["site"][:3], (c.primary_site or "-")[:3]) for r, c in zip(reports, results, strict=True)
    ]
    if misses:
        for r, c in zip(reports, results, strict=True):
            if c.primary_site != r["site"] or c.morphology != r["morphology"]:
                print(
                    f"MISS {r['id']} want {r['site']} {r['morphology']} got "
                    f"{c.primary_site} {c.morphology}"
                )
    n = len(reports)
    return {
        "set": f"self-written real-layout reports (bench/data/{path.name})",
        "reports": n,
        "sites": len({t for t, _ in pairs}),
        "site3_accuracy": round(sum(t == p for t, p in pairs) / n, 4),
        "site3_macro_f1": round(macro_f1(pairs), 4),
        "site4_accuracy": round(
            sum(r["site"] == c.primary_site for r, c in zip(reports, results, strict=True)) / n, 4
        ),
        "morphology_accuracy": round(
            sum(r["morphology"] == c.morphology for r, c in zip(reports, results, strict=True)) / n,
            4,
        ),
    }


def speed_by_size() -> dict:
    """Seconds per report as reports grow (generated reports joined): linear means the
    per-kilobyte time stays flat."""
    joined = "\n\n".join(r.text for r in make_reports(120, seed=7))
    out = {}
    for size in (2_000, 8_000, 25_000, 50_000):
        text = joined[:size]
        started = time.process_time()
        for _ in range(3):
            classify(text)
        per_report = (time.process_time() - started) / 3  # CPU time, see above
        out[f"cpu_ms_per_report_{size // 1000}kb"] = round(per_report * 1000, 1)
    out["cpu_ms_per_kb_2kb_vs_50kb"] = [
        round(out["cpu_ms_per_report_2kb"] / 2, 2),
        round(out["cpu_ms_per_report_50kb"] / 50, 2),
    ]
    return out


def rule_cases() -> dict:
    """The short reports each testing one reading rule (self-written)."""
    from chartkeeper.synth.pathreports import RULE_CASES

    pairs = [(want, (classify(text).primary_site or "-")[:3]) for text, want in RULE_CASES.items()]
    return {
        "set": "self-written reading-rule cases (chartkeeper.synth.pathreports)",
        "reports": len(pairs),
        "site3_accuracy": round(sum(t == p for t, p in pairs) / len(pairs), 4),
    }


def charts(patients: int) -> dict:
    """Casefinding end to end on generated charts (self-written generator): every cancer
    the generator planted found once, nothing from benign polyps; then NAACCR XML out and
    back. The baseline for speed is the import of the same charts."""
    import tempfile

    from chartkeeper import synth
    from chartkeeper.interfaces import naaccr
    from chartkeeper.interfaces.bundles import import_paths
    from chartkeeper.registry import abstract, casefinding
    from chartkeeper.store import Repository
    from chartkeeper.store.engine import make_engine, upgrade

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "charts"
        synth.write(folder, patients, 2026)
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        upgrade(engine)
        repo = Repository(engine)
        started = time.perf_counter()
        import_paths(repo, [folder])
        imported = time.perf_counter() - started
        truth_file = folder / "truth" / "cancer_cases.jsonl"
        truth = [json.loads(line) for line in truth_file.open()] if truth_file.exists() else []
        started = time.perf_counter()
        run = casefinding.run(repo, by="bench")
        casefound = time.perf_counter() - started
        found = casefinding.worklist(repo, "suspected")
        by_patient: dict[str, list[dict]] = {}
        for case in found:
            by_patient.setdefault(case["patient_id"], []).append(case)
        hits = sum(1 for t in truth if t["patient_id"] in by_patient)
        duplicates = sum(len(v) - 1 for v in by_patient.values())
        cancer_patients = {t["patient_id"] for t in truth}
        false_cases = sum(1 for p in by_patient if p not in cancer_patients)
        site_right = morph_right = 0
        for t in truth:
            cases = by_patient.get(t["patient_id"])
            if cases and t.get("registry"):
                site_right += (cases[0]["primary_site"] or "")[:3] == t["registry"]["primary_site"][
                    :3
                ]
                morph_right += (
                    f"{cases[0]['histology']}/{cases[0]['behavior']}" == t["registry"]["morphology"]
                )
        for case in found:
            casefinding.accept(repo, case["id"], by="bench")
            try:
                abstract.complete(repo, case["id"], by="bench")
            except Exception:  # edits fail: left abstracting, as a registrar would find it
                continue
        started = time.perf_counter()
        xml, tumours = naaccr.export_cases(repo, statuses=("complete", "abstracting"))
        exported = time.perf_counter() - started
        round_trip = naaccr.write(naaccr.read(xml)) == xml
        engine.dispose()
    n = len(truth) or None  # no planted cancers: no rates to give
    return {
        "set": "self-written (chartkeeper.synth charts, seed 2026)",
        "patients": patients,
        "planted_cancers": len(truth),
        "screened_items": run.screened,
        "casefinding_recall": round(hits / n, 4) if n else None,
        "false_cases": false_cases,
        "duplicate_cases_same_tumour": duplicates,
        "site3_accuracy_found": round(site_right / n, 4) if n else None,
        "morphology_accuracy_found": round(morph_right / n, 4) if n else None,
        "casefinding_seconds": round(casefound, 2),
        "import_seconds_baseline": round(imported, 2),
        "casefinding_vs_import_time_ratio": round(casefound / imported, 3) if imported else None,
        "naaccr_tumours_exported": tumours,
        "naaccr_export_seconds": round(exported, 3),
        "naaccr_read_write_identical": round_trip,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=400)
    parser.add_argument("--misses", action="store_true")
    parser.add_argument("--patients", type=int, default=150, help="generated charts")
    args = parser.parse_args()
    lexicon.site_lexicon(), lexicon.histology_lexicon()  # load once, outside the timing
    result = {
        "independent_public_set": None,
        "classification": classification(args.reports, args.misses),
        "realistic": realistic(args.misses),
        "realistic_b": realistic(args.misses, REALISTIC_B),
        "realistic_c": realistic(args.misses, REALISTIC_C),
        "speed_by_size": speed_by_size(),
        "rule_cases": rule_cases(),
        "casefinding_charts": charts(args.patients),
    }
    for part in (
        "classification",
        "realistic",
        "realistic_b",
        "realistic_c",
        "speed_by_size",
        "rule_cases",
        "casefinding_charts",
    ):
        print(f"--- {part}")
        for key, value in result[part].items():
            print(f"{key:45} {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
