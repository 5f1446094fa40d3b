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
