"""Scale: N synthetic patients bulk-loaded into PostgreSQL, then the searches of a working day.

    python bench/scale.py                      # 100,000 patients (hours: see --patients)
    python bench/scale.py --patients 1000      # the quick run
    python bench/scale.py --patients 10000 --input /tmp/bundles --keep   # reuse, keep the db

Steps: generate N patients with the project's synthetic generator (self-written data,
seed 7), `chartkeeper import` them in bulk into a new PostgreSQL database (the server of
CHARTKEEPER_TEST_POSTGRES_URL, or --database-url), ANALYZE, then time over many random
patients, through the same Repository calls the API makes:

* obs-code-date   Observation?subject=Patient/x&code=<one of theirs>&date=ge..&date=le..
* conditions      Condition?patient=x
* name-birthdate  Patient?family=<theirs>&birthdate=<theirs>
* everything      Patient/x/$everything (patient, referencing keys, read_many)
* export          one bulk $export of the whole store (NDJSON, every type), timed once

Prints p50/p95/p99 per search, the load and export rates, the database size per
resource type, peak memory, and the query plan (EXPLAIN ANALYZE) of the slowest sample of
every search over its target (patient-scoped p95 <= 50 ms, name p95 <= 100 ms).
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from chartkeeper import synth
from chartkeeper.interfaces.bundles import import_paths
from chartkeeper.interfaces.export import export_ndjson
from chartkeeper.store import Repository
from chartkeeper.store.engine import make_engine, upgrade
from chartkeeper.store.search import referencing

TARGET_MS = {"obs-code-date": 50, "conditions": 50, "everything": 50, "name-birthdate": 100}


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Captured:
    """The SQL statements one call runs (to EXPLAIN the slow ones)."""

    def __init__(self, engine):
        self.on = False
        self.statements: list[tuple[str, object]] = []

        @event.listens_for(engine, "before_cursor_execute")
        def _seen(_conn, _cursor, statement, parameters, _context, _many) -> None:
            if self.on:
                self.statements.append((statement, parameters))


def _samples(repo: Repository, count: int, seed: int) -> list[dict]:
    """Random patients with what the searches need: a family name, birth date, one of
    their observation codes and that observation's date."""
    rng = random.Random(seed)
    with repo.engine.connect() as conn:
        ids = [
            r[0]
            for r in conn.execute(
                text("SELECT id FROM resource WHERE resource_type = 'Patient' AND NOT deleted")
            )
        ]
    chosen = rng.sample(ids, min(count, len(ids)))
    samples = []
    with repo.reading() as tx:
        for pid in chosen:
            patient = tx.read("Patient", pid)
            obs = tx.search("Observation", [("subject", f"Patient/{pid}"), ("_count", "50")])
            dated = [
                o
                for o in obs.resources
                if o.get("effectiveDateTime") and o.get("code", {}).get("coding")
            ]
            if not dated or not patient.get("name") or not patient.get("birthDate"):
                continue
            o = rng.choice(dated)
            coding = o["code"]["coding"][0]
            day = o["effectiveDateTime"][:10]
            samples.append(
                {
                    "id": pid,
                    "family": patient["name"][0].get("family", ""),
                    "birthdate": patient["birthDate"],
                    "code": f"{coding.get('system', '')}|{coding['code']}",
                    "from": f"ge{int(day[:4]) - 1}",  # the years around it
                    "to": f"le{int(day[:4]) + 1}",
                }
            )
    return samples


def _queries(repo: Repository):
    def obs(s):
        return repo.search(
            "Observation",
            [
                ("subject", f"Patient/{s['id']}"),
                ("code", s["code"]),
                ("date", s["from"]),
                ("date", s["to"]),
            ],
        ).total

    def conditions(s):
        return repo.search("Condition", [("patient", s["id"])]).total

    def by_name(s):
        return repo.search(
            "Patient", [("family", s["family"]), ("birthdate", s["birthdate"])]
        ).total

    def everything(s):
        with repo.reading() as tx:
            tx.read("Patient", s["id"])
            return len(tx.read_many(referencing(tx, "Patient", s["id"])))

    return {
        "obs-code-date": obs,
        "conditions": conditions,
        "name-birthdate": by_name,
        "everything": everything,
    }


def _explain(engine, statements: list[tuple[str, object]]) -> str:
    lines = []
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        for statement, parameters in statements:
            cursor = raw.cursor()
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            lines.append(statement.strip()[:600])
            lines.extend("    " + r[0] for r in cursor.fetchall())
    return "\n".join(lines)


def _sizes(engine) -> dict:
    with engine.connect() as conn:
        per_type = {
            r.resource_type: {"resources": r.n, "history_mb": round(r.bytes / 2**20, 1)}
            for r in conn.execute(
                text(
                    "SELECT resource_type, count(*) AS n, sum(pg_column_size(content)) AS bytes "
                    "FROM resource_history GROUP BY resource_type ORDER BY resource_type"
                )
            )
        }
        for table in ("idx_token", "idx_string", "idx_date", "idx_quantity", "idx_reference"):
            for r in conn.execute(
                text(f"SELECT resource_type, count(*) AS n FROM {table} GROUP BY resource_type")
            ):
                entry = per_type.setdefault(r.resource_type, {"resources": 0, "history_mb": 0})
                entry["index_rows"] = entry.get("index_rows", 0) + r.n
        tables = {
            r.name: round(r.bytes / 2**20, 1)
            for r in conn.execute(
                text(
                    "SELECT relname AS name, pg_total_relation_size(oid) AS bytes FROM pg_class "
                    "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace "
                    "AND (relname LIKE 'idx_%' OR relname LIKE 'resource%')"
                )
            )
        }
        total = conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
    return {"per_type": per_type, "tables_mb": tables, "database_mb": round(total / 2**20, 1)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--samples", type=int, default=200, help="random patients per search")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--input", type=Path, help="bundles to load (generated here if absent)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "CHARTKEEPER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args(argv)
    figures: dict = {"patients": args.patients, "engine": "postgresql"}

    with tempfile.TemporaryDirectory(prefix="ck-scale-") as tmp:
        source = args.input or Path(tmp) / "bundles"
        if not (source / "manifest.json").exists():
            start = time.perf_counter()
            synth.write(source, args.patients, args.seed)
            figures["generate_s"] = round(time.perf_counter() - start, 1)
            print(f"generated {args.patients} patients in {figures['generate_s']} s", flush=True)

        name = f"ck_scale_{uuid.uuid4().hex[:6]}"
        admin = create_engine(args.database_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(args.database_url).set(database=name).render_as_string(False)
        engine = make_engine(url)
        try:
            upgrade(engine)
            repo = Repository(engine)
            start = time.perf_counter()
            done = {"units": 0, "resources": 0}

            def progress(report) -> None:
                done["units"] += 1
                done["resources"] += report.resources
                if done["units"] % 2000 == 0:
                    rate = done["resources"] / (time.perf_counter() - start)
                    print(f"  {done['units']} bundles, {rate:,.0f} resources/s", flush=True)

            report = import_paths(repo, [source], workers=args.workers, bulk=True, on_unit=progress)
            seconds = time.perf_counter() - start
            if report.errors:
                raise SystemExit(f"import: {len(report.errors)} errors, first {report.errors[0]}")
            figures["import"] = {
                "resources": report.created,
                "seconds": round(seconds, 1),
                "resources_per_s": round(report.created / seconds, 1),
            }
            print(f"imported {report.created:,} resources in {seconds:,.0f} s", flush=True)
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))

            samples = _samples(repo, args.samples, args.seed)
            queries = _queries(repo)
            captured = Captured(engine)
            timings: dict[str, list[tuple[float, dict]]] = {q: [] for q in queries}
            for sample in samples:
                for qname, run in queries.items():
                    start = time.perf_counter()
                    run(sample)
                    timings[qname].append(((time.perf_counter() - start) * 1000, sample))
            figures["searches_ms"] = {}
            print(f"\n{'search':<16}{'n':>6}{'p50':>9}{'p95':>9}{'p99':>9}{'target p95':>12}")
            slow = []
            for qname, values in timings.items():
                ms = [v for v, _s in values]
                row = {
                    "n": len(ms),
                    "p50": round(statistics.median(ms), 1),
                    "p95": round(_percentile(ms, 95), 1),
                    "p99": round(_percentile(ms, 99), 1),
                }
                figures["searches_ms"][qname] = row
                print(
                    f"{qname:<16}{row['n']:>6}{row['p50']:>9}{row['p95']:>9}{row['p99']:>9}"
                    f"{TARGET_MS[qname]:>12}"
                )
                if row["p95"] > TARGET_MS[qname]:
                    slow.append((qname, max(values, key=lambda v: v[0])[1]))
            for qname, sample in slow:
                captured.statements, captured.on = [], True
                queries[qname](sample)
                captured.on = False
                print(f"\n--- {qname} is over its target; plans of its statements:")
                print(_explain(engine, captured.statements))

            out = Path(tmp) / "export"
            start = time.perf_counter()
            counts = export_ndjson(repo, out)
            seconds = time.perf_counter() - start
            exported = sum(counts.values())
            figures["export"] = {
                "resources": exported,
                "seconds": round(seconds, 1),
                "resources_per_s": round(exported / seconds, 1),
            }
            print(f"\n$export: {exported:,} resources in {seconds:,.1f} s")
            figures["size"] = _sizes(engine)
            print(f"database: {figures['size']['database_mb']:,} MB")
            for rtype, entry in figures["size"]["per_type"].items():
                print(
                    f"  {rtype:<24}{entry['resources']:>10,}{entry['history_mb']:>10} MB"
                    f"{entry.get('index_rows', 0):>12,} index rows"
                )
        finally:
            engine.dispose()
            if not args.keep:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            else:
                print(f"kept database {name}")
            admin.dispose()

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    figures["peak_rss_mb"] = {"main": round(own, 1), "largest_worker": round(children, 1)}
    figures["load_average"] = round(os.getloadavg()[0], 2)
    print(f"peak memory: {own:,.0f} MB (main), {children:,.0f} MB (largest worker)")
    print(json.dumps(figures))


if __name__ == "__main__":
    sys.exit(main())
