"""`db reindex`: a store written before a search parameter existed becomes searchable by it."""

from sqlalchemy import delete

from chartkeeper.store.reindex import count_current, reindex_all
from chartkeeper.store.resources import INDEX_TABLES


def _shot(pid: str) -> dict:
    return {
        "resourceType": "Immunization",
        "id": f"shot-{pid}",
        "status": "completed",
        "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "08"}]},
        "patient": {"reference": f"Patient/{pid}"},
        "occurrenceDateTime": "2024-01-02",
    }


def test_reindex_restores_rows_a_store_lacks(repo):
    for pid in ("a", "b"):
        repo.update({"resourceType": "Patient", "id": pid})
        repo.update(_shot(pid))
    assert [r["id"] for r in repo.search("Immunization", [("patient", "a")]).resources] == [
        "shot-a"
    ]
    with repo.engine.begin() as conn:  # as if written before `Immunization.patient` existed
        for table in INDEX_TABLES.values():
            conn.execute(delete(table))
    assert repo.search("Immunization", [("patient", "a")]).total == 0
    seen: list[int] = []
    assert count_current(repo.engine) == 4
    assert reindex_all(repo.engine, seen.append) == 4 and sum(seen) == 4
    assert [r["id"] for r in repo.search("Immunization", [("patient", "b")]).resources] == [
        "shot-b"
    ]
    assert reindex_all(repo.engine) == 4  # idempotent: no duplicate rows
    assert repo.search("Immunization", [("patient", "b")]).total == 1


def test_reindex_from_the_command_line(repo, database_url, tmp_path, capsys):
    """`chartkeeper db reindex` on both backends: the rows come back, the run is audited,
    and a store not made yet is made (and has nothing to reindex) rather than a traceback."""
    import pytest

    from chartkeeper.cli import main
    from chartkeeper.privacy.audit import entries

    repo.update({"resourceType": "Patient", "id": "a"})
    repo.update(_shot("a"))
    with repo.engine.begin() as conn:
        for table in INDEX_TABLES.values():
            conn.execute(delete(table))

    def reindex(*args: str) -> str:
        with pytest.raises(SystemExit) as exited:
            main(["db", "reindex", *args])
        captured = capsys.readouterr()
        assert exited.value.code == 0, captured.err
        return captured.out

    out = reindex("--database-url", database_url, "--data-dir", str(tmp_path))
    assert "reindexed 2 resources" in out
    assert [r["id"] for r in repo.search("Immunization", [("patient", "a")]).resources] == [
        "shot-a"
    ]
    (audited,) = entries(repo.engine, action="db-reindex")
    assert audited["detail"] == "2 resources" and audited["outcome"] == "success"
    assert "reindexed 0 resources" in reindex("--data-dir", str(tmp_path / "new"))
