"""Benchmark of the master patient index against a plain Splink model on the same records.

    .venv/bin/python bench/mpi.py                  # 10,000 and 100,000 patients
    .venv/bin/python bench/mpi.py --sizes 10000    # just one size
    .venv/bin/python bench/mpi.py --large          # adds 1,000,000

Records come from the chart generator's people stage (demographics plus the `Duplicates`
module: typos, nicknames, maiden names, transposed day/month, moves, missing SSNs, and
twins and family members as look-alikes), via `quality.mpi.evaluate.synthetic_records`,
generated in two worker processes and cached as Parquet under --cache.

Each model runs in its own subprocess, so its wall time and peak RSS (ru_maxrss of that
process alone) are its own: chartkeeper's `scan()` (priors for m, u sampled, blocking on
nine rules, household rule, cluster check) and a plain Splink model as in Splink's
tutorial (NameComparison, DateOfBirthComparison, ExactMatch on the rest, blocking on
name and on birth date, u by sampling and m by EM). Both are scored on their auto-link
decisions: pairs at or above the link threshold (chartkeeper: decision "link").
The last line printed is one JSON object with the figures of the largest size run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

LINK = 0.9  # the auto-link threshold both models are judged at (chartkeeper's default)


def _chunk(args: tuple[int, int, int]) -> tuple[list[dict], dict, list]:
    from chartkeeper.quality.mpi.evaluate import synthetic_records

    start, n, seed = args
    records, truth = synthetic_records(n, seed, start=start)
    return records, truth.person, sorted(truth.lookalikes)


def dataset(n: int, seed: int, cache: Path, workers: int = 2) -> Path:
    """Parquet of n patients' records (plus duplicates and look-alikes) and truth JSON."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = cache / f"mpi-{n}-{seed}.parquet"
    if path.exists():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    t = time.time()
    step = max(1000, n // (workers * 8))
    jobs = [(s, min(step, n - s), seed) for s in range(0, n, step)]
    records, person, look = [], {}, []
    with ProcessPoolExecutor(workers) as pool:
        for recs, pers, lk in pool.map(_chunk, jobs):
            records += recs
            person.update(pers)
            look += lk
    pq.write_table(pa.Table.from_pylist(records), path)
    path.with_suffix(".truth.json").write_text(json.dumps({"person": person, "lookalikes": look}))
    print(
        f"generated {len(records)} records for {n} patients in {time.time() - t:.0f}s",
        file=sys.stderr,
    )
    return path


# --- the two models, each run in a child process ----------------------------------------


def run_chartkeeper(records: list[dict]) -> list[tuple[str, str]]:
    from chartkeeper.quality.mpi import Thresholds, scan

    def progress(msg: str) -> None:
        print(f"  chartkeeper: {msg}", file=sys.stderr)

    pairs = scan(records, thresholds=Thresholds(link=LINK), on_progress=progress)
    return [
        (p.a.removeprefix("Patient/"), p.b.removeprefix("Patient/"))
        for p in pairs
        if p.decision == "link"
    ]


def run_plain(records: list[dict]) -> list[tuple[str, str]]:
    import logging

    import pyarrow as pa
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    cols = {
        "unique_id": [r["id"] for r in records],
        "first_name": [r["given"] or None for r in records],
        "surname": [r["family"] or None for r in records],
        "dob": [r["dob"] or None for r in records],
        "sex": [r["sex"] or None for r in records],
        "address": [r["address"] or None for r in records],
        "zip": [r["zip"] or None for r in records],
        "phone": [r["phone"] or None for r in records],
        "ssn": [r["ssn"] or None for r in records],
    }
    del records
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("first_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.ExactMatch("sex"),
            cl.ExactMatch("address"),
            cl.ExactMatch("zip"),
            cl.ExactMatch("phone"),
            cl.ExactMatch("ssn"),
        ],
        blocking_rules_to_generate_predictions=[block_on("first_name", "surname"), block_on("dob")],
    )
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(pa.table(cols)), settings, log_level=logging.WARNING)
    t = linker.training
    t.estimate_probability_two_random_records_match(
        [block_on("first_name", "surname", "dob")], recall=0.7
    )
    t.estimate_u_using_random_sampling(max_pairs=1e6)
    t.estimate_parameters_using_expectation_maximisation(block_on("first_name", "surname"))
    t.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    found = linker.inference.predict(threshold_match_probability=LINK, warning_mode="never")
    table = found.as_pyarrow_table().select(["unique_id_l", "unique_id_r"])
    return list(zip(table.column(0).to_pylist(), table.column(1).to_pylist(), strict=True))


def child(model: str, data: str, out: str) -> None:
    import pyarrow.parquet as pq

    t = time.time()
    records = pq.read_table(data).to_pylist()
    links = (run_chartkeeper if model == "chartkeeper" else run_plain)(records)
    seconds = time.time() - t
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    Path(out).write_text(json.dumps({"links": links, "seconds": seconds, "peak_mb": peak_mb}))


def measure(model: str, data: Path, truth: dict) -> dict:
    from chartkeeper.quality.mpi.evaluate import Truth, pair_scores

    out = data.with_suffix(f".{model}.json")
    subprocess.run([sys.executable, __file__, "--child", model, str(data), str(out)], check=True)
    result = json.loads(out.read_text())
    t = Truth(person=truth["person"], lookalikes={tuple(x) for x in truth["lookalikes"]})
    scores = pair_scores(result["links"], t.pairs())
    linked = {tuple(sorted(p)) for p in result["links"]}
    return {
        **scores.as_json(),
        "lookalikes_linked": len(linked & t.lookalikes),
        "seconds": round(result["seconds"], 1),
        "peak_mb": round(result["peak_mb"]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000", help="patients per run, comma-separated")
    ap.add_argument("--large", action="store_true", help="also 1,000,000 patients")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--cache", default=os.environ.get("TMPDIR", "/tmp") + "/chartkeeper-mpi-bench")
    ap.add_argument("--models", default="chartkeeper,splink_plain")
    ap.add_argument("--child", nargs=3, metavar=("MODEL", "DATA", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    sizes = [int(s) for s in args.sizes.split(",") if s] + ([1_000_000] if args.large else [])
    final = {}
    for n in sizes:
        data = dataset(n, args.seed, Path(args.cache))
        truth = json.loads(data.with_suffix(".truth.json").read_text())
        print(f"\n{n:,} patients ({len(truth['person']):,} records)")
        print(
            f"{'model':14} {'precision':>9} {'recall':>8} {'f1':>8} {'seconds':>8} {'peak MB':>8} {'twins/family linked':>20}"
        )
        final = {}
        for model in args.models.split(","):
            r = measure(model, data, truth)
            final[model] = {k: r[k] for k in ("precision", "recall", "f1", "seconds", "peak_mb")}
            print(
                f"{model:14} {r['precision']:9.4f} {r['recall']:8.4f} {r['f1']:8.4f} "
                f"{r['seconds']:8.1f} {r['peak_mb']:8.0f} {r['lookalikes_linked']:20d}",
                flush=True,
            )
    print(json.dumps(final))


if __name__ == "__main__":
    main()
