"""Bulk ingest against its floor: chartkeeper import vs a bare load of the same JSON.

    python bench/ingest.py                       # 1,000 synthetic patients on SQLite
    python bench/ingest.py --engine postgresql   # on PostgreSQL (CHARTKEEPER_TEST_POSTGRES_URL
                                                 # or postgres@127.0.0.1), a new database
    python bench/ingest.py --engine both         # one after the other, same bundles
    python bench/ingest.py --input DIR           # bundles you already have
    python bench/ingest.py --profile             # where the time goes (cProfile, top 25)

The import is `chartkeeper import` into an empty store, so the bulk path (store.bulk).
The floor loads the same resources' JSON into a one-table schema, the fastest way each
engine has: SQLite an `executemany` per 500 rows, PostgreSQL `COPY` per 20,000 rows; no
validation, no versions, no history, no indexes. The ratio says how close the real
import (all of those included) comes to it. The data is self-written (the project's
synthetic generator, seed 7). Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
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
    if make_url(url).get_backend_name() == "postgresql":
        return copy_floor(url, rows)
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


def copy_floor(url: str, rows: list[tuple[str, str, str]]) -> float:
    """PostgreSQL's fastest load: COPY into a one-table schema, 20,000 rows a commit."""
    import psycopg

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "CREATE TABLE raw (resource_type varchar(64), id varchar(64), content text, "
            "PRIMARY KEY (resource_type, id))"
        )
        conn.commit()
        start = time.perf_counter()
        for n in range(0, len(rows), 20000):
            with conn.cursor().copy("COPY raw (resource_type, id, content) FROM STDIN") as copy:
                for row in rows[n : n + 20000]:
                    copy.write_row(row)
            conn.commit()
        seconds = time.perf_counter() - start
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
    report = import_paths(repo, inputs, workers=workers, bulk=None)  # as `chartkeeper import`
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


def measure(
    engine_name: str, base: str, workdir: Path, source: Path, rows, workers: int, profile: bool
) -> dict:
    url, drop = _fresh_database(base, workdir, f"import_{engine_name}")
    try:
        count, per_s, listing = chartkeeper_import(url, [source], workers, profile)
    finally:
        drop()
    url, drop = _fresh_database(base, workdir, f"floor_{engine_name}")
    try:
        floor_per_s = floor(url, rows)
    finally:
        drop()
    if listing:
        print(listing, file=sys.stderr)
    return {
        "engine": engine_name,
        "resources": count,
        "resources_per_s": round(per_s, 1),
        "floor_per_s": round(floor_per_s, 1),
        "ratio": round(per_s / floor_per_s, 4),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--input", type=Path, help="read bundles from here instead of generating")
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "CHARTKEEPER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
        help="the PostgreSQL server to use (a new database is made on it and dropped)",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="processes validating for the import"
    )
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    engines = ("sqlite", "postgresql") if args.engine == "both" else (args.engine,)

    results = []
    with tempfile.TemporaryDirectory(prefix="ck-bench-") as tmp:
        workdir = Path(tmp)
        source = args.input
        if source is None:
            source = workdir / "bundles"
            synth.write(source, args.patients, args.seed)
        rows = _resources(discover([source]))
        for name in engines:
            base = f"sqlite:///{workdir / 'x.db'}" if name == "sqlite" else args.database_url
            results.append(measure(name, base, workdir, source, rows, args.workers, args.profile))

    print(f"{'engine':<12}{'resources':>10}{'import/s':>12}{'floor/s':>12}{'ratio':>8}")
    for r in results:
        print(
            f"{r['engine']:<12}{r['resources']:>10}{r['resources_per_s']:>12,.0f}"
            f"{r['floor_per_s']:>12,.0f}{r['ratio']:>8.3f}"
        )
    load = os.getloadavg()[0]
    print(f"load average (1 min) at the end: {load:.2f} on {os.cpu_count()} cores")
    summary = results[0] if len(results) == 1 else {"engines": results}
    print(json.dumps({**summary, "patients": args.patients, "load_average": round(load, 2)}))


if __name__ == "__main__":
    main()
