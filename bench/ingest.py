"""Bulk ingest against its floor: chartkeeper import vs a bare executemany, same engine.

    python bench/ingest.py                       # 1,000 synthetic patients on SQLite
    python bench/ingest.py --input DIR           # bundles you already have
    python bench/ingest.py --database-url postgresql+psycopg://postgres@127.0.0.1/test
    python bench/ingest.py --profile             # where the time goes (cProfile, top 25)

The floor inserts the same resources' JSON into a one-table schema with `executemany`:
no validation, no versions, no history, no indexes. The ratio says how close the real
import (all of those included) comes to it. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson
from sqlalchemy import Column, MetaData, String, Table, Text, create_engine, insert, text
from sqlalchemy.engine import make_url

from chartkeeper import synth
from chartkeeper.interfaces.bundles import discover, import_paths
from chartkeeper.store import Repository
from chartkeeper.store.engine import make_engine, upgrade


def _resources(files: list[Path]) -> list[tuple[str, str, str]]:
    """Each distinct resource once (bundles repeat shared practitioners), first copy kept."""
    rows: dict[tuple[str, str], str] = {}
    for path in files:
        doc = orjson.loads(path.read_bytes())
        entries = [e["resource"] for e in doc.get("entry", []) if "resource" in e]
        for res in entries or [doc]:
            key = (res["resourceType"], res.get("id") or str(uuid.uuid4()))
            rows.setdefault(key, orjson.dumps(res).decode())
    return [(t, i, c) for (t, i), c in rows.items()]


def _fresh_database(base_url: str, workdir: Path, name: str) -> tuple[str, callable]:
    """A new empty database for one measurement, and a function that removes it."""
    url = make_url(base_url)
    if url.get_backend_name() == "sqlite":
        return f"sqlite:///{workdir / (name + '.db')}", lambda: None
    db = f"ck_bench_{name}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=db).render_as_string(hide_password=False), drop


def floor(url: str, rows: list[tuple[str, str, str]]) -> float:
    engine = make_engine(url)
    table = Table(
        "raw",
        MetaData(),
        Column("resource_type", String(64), primary_key=True),
        Column("id", String(64), primary_key=True),
        Column("content", Text),
    )
    table.metadata.create_all(engine)
    params = [{"resource_type": t, "id": i, "content": c} for t, i, c in rows]
    start = time.perf_counter()
    # One transaction per 500 rows, as a bundle-at-a-time loader would commit.
    for n in range(0, len(params), 500):
        with engine.begin() as conn:
            conn.execute(insert(table), params[n : n + 500])
    seconds = time.perf_counter() - start
    engine.dispose()
    return len(rows) / seconds


def chartkeeper_import(
    url: str, inputs: list[Path], workers: int, profile: bool
) -> tuple[int, float, str]:
    engine = make_engine(url)
    upgrade(engine)
    repo = Repository(engine)
    profiler = cProfile.Profile() if profile else None
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    report = import_paths(repo, inputs, workers=workers)
    if profiler:
        profiler.disable()
    seconds = time.perf_counter() - start
    engine.dispose()
    if report.errors:
        raise SystemExit(f"import reported {len(report.errors)} errors, first: {report.errors[0]}")
    listing = ""
    if profiler:
        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).sort_stats("cumulative").print_stats(25)
        listing = buffer.getvalue()
    stored = report.created + report.updated
    return stored, stored / seconds, listing


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--input", type=Path, help="read bundles from here instead of generating")
    parser.add_argument(
        "--database-url", default="", help="default: SQLite in a temporary directory"
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="processes validating for the import"
    )
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="ck-bench-") as tmp:
        workdir = Path(tmp)
        source = args.input
        if source is None:
            source = workdir / "bundles"
            synth.write(source, args.patients, args.seed)
        files = discover([source])
        rows = _resources(files)
        base = args.database_url or f"sqlite:///{workdir / 'x.db'}"
        engine_name = make_url(base).get_backend_name()

        url, drop = _fresh_database(base, workdir, "import")
        try:
            count, per_s, listing = chartkeeper_import(url, [source], args.workers, args.profile)
        finally:
            drop()
        url, drop = _fresh_database(base, workdir, "floor")
        try:
            floor_per_s = floor(url, rows)
        finally:
            drop()

    if listing:
        print(listing, file=sys.stderr)
    print(f"{'engine':<12}{'resources':>10}{'import/s':>12}{'floor/s':>12}{'ratio':>8}")
    print(
        f"{engine_name:<12}{count:>10}{per_s:>12,.0f}{floor_per_s:>12,.0f}{per_s / floor_per_s:>8.3f}"
    )
    print(
        json.dumps(
            {
                "engine": engine_name,
                "resources": count,
                "resources_per_s": round(per_s, 1),
                "floor_per_s": round(floor_per_s, 1),
                "ratio": round(per_s / floor_per_s, 4),
            }
        )
    )


if __name__ == "__main__":
    main()
