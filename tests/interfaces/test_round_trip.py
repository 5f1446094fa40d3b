"""Nothing lost: `export` then `import` of that folder into an empty store gives back every
record, on both backends, although the exported files point into each other in cycles
(Encounter.ndjson <-> Condition.ndjson) that no file order can satisfy."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
from sqlalchemy import text
from typer.testing import CliRunner

from chartkeeper.cli import app
from chartkeeper.interfaces.bundles import import_paths
from chartkeeper.interfaces.export import export_ndjson
from chartkeeper.store import Repository
from chartkeeper.store.engine import upgrade
from chartkeeper.store.schema import metadata


def _content(repo: Repository) -> dict[tuple[str, str], dict]:
    found = {}
    with repo.reading() as tx:
        for rtype in tx.resource_types():
            for raw in tx.iter_content(rtype):
                res = orjson.loads(raw)
                res.pop("meta", None)
                found[(rtype, res["id"])] = res
    return found


def _empty(repo: Repository) -> None:
    with repo.engine.begin() as conn:
        metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade(repo.engine)


def test_export_then_import_into_an_empty_store_round_trips(repo, tmp_path: Path):
    made = CliRunner().invoke(
        app, ["synth", "--patients", "3", "--seed", "11", "--out", str(tmp_path / "b")]
    )
    assert made.exit_code == 0, made.output
    assert import_paths(repo, [tmp_path / "b"]).ok
    before = _content(repo)
    counts = export_ndjson(repo, tmp_path / "x")
    assert sum(counts.values()) == len(before)
    _empty(repo)
    report = import_paths(repo, [tmp_path / "x"])
    assert report.ok, [str(e) for e in report.errors]
    assert report.failed_units == 0 and report.created == len(before)
    assert _content(repo) == before


def _ndjson(path: Path, *resources: dict) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in resources))


def test_a_cycle_across_files_resolves_but_a_reference_to_nothing_still_fails(repo, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    _ndjson(folder / "Patient.ndjson", {"resourceType": "Patient", "id": "p"})
    _ndjson(
        folder / "Encounter.ndjson",
        {
            "resourceType": "Encounter",
            "id": "e",
            "status": "finished",
            "class": {"code": "IMP"},
            "subject": {"reference": "Patient/p"},
            "diagnosis": [{"condition": {"reference": "Condition/c"}}],
        },
    )
    condition = {
        "resourceType": "Condition",
        "id": "c",
        "subject": {"reference": "Patient/p"},
        "encounter": {"reference": "Encounter/e"},
    }
    _ndjson(folder / "Condition.ndjson", condition)
    # A second cycle whose one member points at nothing: neither half may be written.
    _ndjson(
        folder / "Observation.ndjson",
        {
            "resourceType": "Observation",
            "id": "o",
            "status": "final",
            "code": {"text": "x"},
            "subject": {"reference": "Patient/ghost"},
            "hasMember": [{"reference": "Observation/o2"}],
        },
    )
    _ndjson(
        folder / "z-Observation.ndjson",
        {
            "resourceType": "Observation",
            "id": "o2",
            "status": "final",
            "code": {"text": "y"},
            "subject": {"reference": "Patient/p"},
            "derivedFrom": [{"reference": "Observation/o"}],
        },
    )
    report = import_paths(repo, [folder])
    assert report.failed_units == 2
    assert all("points to nothing" in str(e) for e in report.errors)
    first = next(str(e) for e in report.errors if "/Observation.ndjson" in str(e))
    assert "(and 1 more)" in first  # Observation/o2 and Patient/ghost
    assert set(_content(repo)) == {("Patient", "p"), ("Encounter", "e"), ("Condition", "c")}
