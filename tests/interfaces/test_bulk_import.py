"""Bulk load (`import --bulk`, store.bulk): the same history, index rows and search answers
as the normal path, whole bundles or nothing after a kill, and a restart that resumes."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from sqlalchemy import select, text

from chartkeeper import synth
from chartkeeper.interfaces.bundles import import_paths
from chartkeeper.store import Repository
from chartkeeper.store.bulk import load_job
from chartkeeper.store.engine import make_engine, upgrade
from chartkeeper.store.resources import INDEX_TABLES, resource, resource_history
from chartkeeper.store.schema import metadata


def _inputs(tmp_path: Path) -> Path:
    """Two synthetic patients plus units only the normal path can write: a bundle that
    updates a resource an earlier one created, a conditional create, a bad bundle, an
    NDJSON file and a unit pointing at a patient that a later file brings."""
    root = tmp_path / "in"
    synth.write(root / "synth", 2, 11)
    patient = next(
        e["resource"]
        for f in sorted((root / "synth" / "patients").rglob("*.json"))
        for e in orjson.loads(f.read_bytes())["entry"]
        if e["resource"]["resourceType"] == "Patient"
    )
    extra = root / "zz"
    extra.mkdir()
    changed = {**patient, "gender": "unknown" if patient.get("gender") != "unknown" else "other"}
    (extra / "1-update.json").write_bytes(orjson.dumps(changed))
    conditional = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:5b0d6f5e-0000-4000-8000-00000000000a",
                "resource": {
                    "resourceType": "Organization",
                    "name": "Clinic",
                    "identifier": [{"system": "urn:npi", "value": "77"}],
                },
                "request": {
                    "method": "POST",
                    "url": "Organization",
                    "ifNoneExist": "identifier=urn:npi|77",
                },
            }
        ],
    }
    (extra / "2-conditional.json").write_bytes(orjson.dumps(conditional))
    (extra / "3-bad.json").write_bytes(b'{"resourceType": "Bundle", "type": "transaction", "entry"')
    (extra / "4-early.json").write_bytes(
        orjson.dumps(
            {
                "resourceType": "Observation",
                "id": "early",
                "status": "final",
                "code": {"text": "waits"},
                "subject": {"reference": "Patient/later"},
            }
        )
    )
    lines = [
        {"resourceType": "Patient", "id": f"nd{i}", "name": [{"family": f"Nd{i}"}]}
        for i in range(5)
    ]
    (extra / "5-patients.ndjson").write_bytes(b"\n".join(orjson.dumps(r) for r in lines) + b"\n")
    (extra / "6-later.json").write_bytes(
        orjson.dumps({"resourceType": "Patient", "id": "later", "birthDate": "1970-01-01"})
    )
    return root


def _without_stamps(content: str | None) -> dict | None:
    if content is None:
        return None
    doc = orjson.loads(content)
    doc["meta"].pop("lastUpdated")
    return doc


def _snapshot(repo: Repository) -> dict:
    """Everything a reader can see, with the load's time stamps left out."""
    with repo.reading() as tx:
        conn = tx.conn
        r, h = resource.c, resource_history.c
        snap = {
            "resource": sorted(
                conn.execute(select(r.resource_type, r.id, r.version_id, r.deleted, r.content_hash))
            ),
            "history": sorted(
                (t, i, v, m, orjson.dumps(_without_stamps(c), option=orjson.OPT_SORT_KEYS))
                for t, i, v, m, c in conn.execute(
                    select(h.resource_type, h.id, h.version_id, h.method, h.content)
                )
            ),
        }
        for kind, table in INDEX_TABLES.items():
            snap[kind] = sorted(tuple(row) for row in conn.execute(select(table)))
    patient = snap["resource"][0][1] if snap["resource"] else ""
    patients = [row[1] for row in snap["resource"] if row[0] == "Patient"]
    searches = [
        ("Observation", [("subject", f"Patient/{p}"), ("_count", "1000")]) for p in patients
    ] + [
        ("Condition", [("patient", patients[0])]),
        ("Patient", [("name", "Nd")]),
        ("Organization", [("identifier", "urn:npi|77")]),
    ]
    snap["searches"] = [
        sorted(r["id"] for r in repo.search(rtype, params).resources) for rtype, params in searches
    ]
    snap["patient"] = patient
    return snap


def _empty(url: str) -> Repository:
    engine = make_engine(url)
    with engine.begin() as conn:
        metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade(engine)
    return Repository(engine)


class _Killed(Exception):
    pass


def test_bulk_load_matches_the_normal_path_and_resumes_after_a_kill(database_url, tmp_path):
    source = _inputs(tmp_path)
    normal = _empty(database_url)
    expected_report = import_paths(normal, [source], bulk=False)
    expected = _snapshot(normal)
    normal.engine.dispose()
    assert expected_report.failed_units == 1  # the bad bundle, on either path

    bulk = _empty(database_url)
    seen = {"units": 0}

    def kill_after_some(_report) -> None:
        seen["units"] += 1
        if seen["units"] == 4:  # the process dies after the first batch committed
            raise _Killed

    with pytest.raises(_Killed):
        import_paths(bulk, [source], bulk=True, bulk_batch=60, on_unit=kill_after_some)
    # Nothing half-visible: each bundle's resources are all stored or none of them.
    with bulk.reading() as tx:
        stored = set(tx.conn.execute(select(resource.c.resource_type, resource.c.id)))
    assert stored
    for path in sorted((source / "synth" / "patients").rglob("*.json")):
        keys = {
            (e["resource"]["resourceType"], e["resource"]["id"])
            for e in orjson.loads(path.read_bytes())["entry"]
        }
        assert keys <= stored or not keys & stored, path.name

    report = import_paths(bulk, [source], bulk=True, bulk_batch=60)
    assert report.resumed > 0  # the committed bundles were not prepared again
    assert report.failed_units == 1 and report.errors[0].source.endswith("3-bad.json")
    assert _snapshot(bulk) == expected
    assert _schema_drift(bulk) == []  # the value indexes were built again
    with bulk.reading() as tx:
        jobs = tx.conn.execute(select(load_job)).mappings().all()
    assert len(jobs) == 1 and jobs[0]["finished"] and jobs[0]["resources"] > 200

    # A later load of the same inputs is a new job, not a resumed one: every bundle is
    # looked at again (the synthetic patient's bundle and the later update of it each
    # write a version, as on the normal path; nothing else changes).
    again = import_paths(bulk, [source], bulk=True)
    assert (again.created, again.updated, again.resumed) == (0, 2, 0)
    bulk.engine.dispose()


def test_bulk_is_automatic_into_an_empty_store_only(repo, tmp_path):
    first = tmp_path / "a.json"
    first.write_bytes(orjson.dumps({"resourceType": "Patient", "id": "a"}))
    import_paths(repo, [first], bulk=None)
    second = tmp_path / "b.json"
    second.write_bytes(orjson.dumps({"resourceType": "Patient", "id": "b"}))
    import_paths(repo, [second], bulk=None)
    with repo.reading() as tx:
        jobs = tx.conn.execute(select(load_job.c.resources)).scalars().all()
    assert jobs == [1]  # the first load only
    assert repo.read("Patient", "b")["id"] == "b"


def _schema_drift(repo: Repository) -> list:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with repo.engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), metadata)


def test_value_indexes_come_back_even_if_a_killed_load_is_never_resumed(repo, tmp_path):
    first = tmp_path / "a"
    first.mkdir()
    for n in range(3):
        (first / f"{n}.json").write_bytes(orjson.dumps({"resourceType": "Patient", "id": f"a{n}"}))

    def killed(_report) -> None:
        raise _Killed

    with pytest.raises(_Killed):  # into an empty store: the value indexes were dropped
        import_paths(repo, [first], bulk=True, bulk_batch=1, on_unit=killed)
    assert _schema_drift(repo)
    other = tmp_path / "b.json"
    other.write_bytes(orjson.dumps({"resourceType": "Patient", "id": "b"}))
    import_paths(repo, [other], bulk=True)  # another load, into a store no longer empty
    assert _schema_drift(repo) == []
    assert repo.search("Patient", [("_id", "b")]).total == 1


def test_a_load_leaves_the_planner_statistics_fresh(repo, tmp_path):
    """A load big enough to change the planner's picture ends with ANALYZE (PostgreSQL):
    without it a chained search right after a load ran for half an hour instead of 20 ms."""
    synth.write(tmp_path / "in", 2, 5)
    report = import_paths(repo, [tmp_path / "in"])
    assert report.ok and report.created >= 200
    if repo.engine.dialect.name != "postgresql":
        return  # SQLite plans these searches well without statistics
    with repo.engine.connect() as conn:
        analyzed = conn.execute(
            text(
                "SELECT relname FROM pg_stat_user_tables WHERE relname IN "
                "('resource', 'resource_history', 'idx_reference') AND last_analyze IS NOT NULL"
            )
        ).scalars()
        assert set(analyzed) == {"resource", "resource_history", "idx_reference"}
        # the planner now knows the table is not empty
        estimate = conn.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'resource'"))
        assert estimate.scalar_one() >= 200


def test_a_bulk_load_refreshes_statistics_as_the_tables_grow(repo, tmp_path, monkeypatch):
    """Each time the load has doubled (not after every batch): a planner going by the empty
    store's statistics made PostgreSQL's bulk load 3.7 times slower at 1,000 patients."""
    from chartkeeper.store import bulk

    calls = []
    monkeypatch.setattr(bulk, "ANALYZE_FROM", 40)
    monkeypatch.setattr(bulk, "refresh_statistics", lambda engine: calls.append(engine))
    synth.write(tmp_path / "in", 12, 5)
    writes = []
    write = bulk.BulkLoad.write
    monkeypatch.setattr(bulk.BulkLoad, "write", lambda self, b: writes.append(1) or write(self, b))
    report = import_paths(repo, [tmp_path / "in"], bulk=True, bulk_batch=20)
    assert report.ok
    assert 2 <= len(calls) < len(writes), (len(calls), len(writes))  # doubling, not per batch


def test_a_failed_statistics_refresh_leaves_the_load_standing(repo, tmp_path, caplog):
    """ANALYZE failing after the load committed (a lost connection, say) is a warning: the
    import still answers ok and every resource it wrote is there."""
    from sqlalchemy import event

    if repo.engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL's statistics are refreshed")
    import psycopg

    def lost(conn, cursor, statement, *_args):
        if statement.startswith("ANALYZE"):
            raise psycopg.OperationalError("server closed the connection unexpectedly")

    event.listen(repo.engine, "before_cursor_execute", lost)
    synth.write(tmp_path / "in", 2, 5)
    report = import_paths(repo, [tmp_path / "in"])
    event.remove(repo.engine, "before_cursor_execute", lost)
    assert report.ok and report.created >= 200
    assert repo.search("Patient", [("_summary", "count")]).total == 2
    assert "planner statistics not refreshed" in caplog.text
