"""Versions, history, soft delete and optimistic concurrency, on every backend."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from chartkeeper.errors import Conflict, Gone, InvalidResource, NotFound, VersionConflict
from chartkeeper.store import PutItem
from chartkeeper.store.resources import idx_string, resource_history


def patient(pid: str = "p1", family: str = "Nguyen", **extra) -> dict:
    return {
        "resourceType": "Patient",
        "id": pid,
        "name": [{"family": family, "given": ["Ana"]}],
        "gender": "female",
        "birthDate": "1970-04-12",
        **extra,
    }


def test_create_assigns_id_version_and_timestamp(repo):
    stored = repo.create({"resourceType": "Patient", "gender": "male"})
    assert stored["id"] and stored["meta"]["versionId"] == "1"
    assert stored["meta"]["lastUpdated"].endswith("Z")
    assert repo.read("Patient", stored["id"]) == stored


def test_update_makes_a_new_version_and_keeps_history(repo):
    first = repo.update(patient()).resource
    second = repo.update(patient(family="Tran")).resource
    assert (first["meta"]["versionId"], second["meta"]["versionId"]) == ("1", "2")
    assert repo.vread("Patient", "p1", 1)["name"][0]["family"] == "Nguyen"
    assert repo.read("Patient", "p1")["name"][0]["family"] == "Tran"
    history = repo.history("Patient", "p1")
    assert [h["version_id"] for h in history] == [2, 1]
    assert [h["method"] for h in history] == ["update", "create"]


def test_unchanged_content_makes_no_new_version(repo):
    repo.update(patient())
    again = repo.update(patient())
    assert again.outcome == "unchanged" and again.resource["meta"]["versionId"] == "1"
    # Version metadata sent back in is not a change either.
    assert repo.update(repo.read("Patient", "p1")).outcome == "unchanged"
    assert len(repo.history("Patient", "p1")) == 1


def test_stale_if_match_is_refused_and_nothing_changes(repo):
    repo.update(patient())
    repo.update(patient(family="Tran"), if_match=1)
    with pytest.raises(VersionConflict, match="version 2, not 1"):
        repo.update(patient(family="Lost"), if_match=1)
    assert repo.read("Patient", "p1")["name"][0]["family"] == "Tran"
    # No version of nothing can match: the same answer a record hidden by a label gets.
    with pytest.raises(NotFound, match="Patient/nobody is not in the store"):
        repo.update(patient("nobody"), if_match=1)


def test_delete_is_soft_and_recorded(repo):
    repo.update(patient())
    assert repo.delete("Patient", "p1") == 2
    with pytest.raises(Gone):
        repo.read("Patient", "p1")
    with pytest.raises(Gone):
        repo.vread("Patient", "p1", 2)
    assert repo.vread("Patient", "p1", 1)["id"] == "p1"
    assert [h["method"] for h in repo.history("Patient", "p1")] == ["delete", "create"]
    assert repo.search("Patient", [("family", "Nguyen")]).total == 0
    assert repo.delete("Patient", "p1") is None  # deleting the deleted is a no-op
    # Writing it again revives it as a new version; the history stays whole.
    assert repo.update(patient()).resource["meta"]["versionId"] == "3"


def test_missing_resources_say_so(repo):
    with pytest.raises(NotFound, match="Patient/nope"):
        repo.read("Patient", "nope")
    repo.update(patient())
    with pytest.raises(NotFound, match="no version 7"):
        repo.vread("Patient", "p1", 7)


def test_invalid_resource_is_refused_with_path(repo):
    with pytest.raises(InvalidResource) as caught:
        repo.update(patient(birthDate="1970-13-45"))
    assert "Patient/p1" in str(caught.value) and "birthDate" in str(caught.value)
    with pytest.raises(NotFound):
        repo.read("Patient", "p1")


def _row_counts(repo) -> tuple[int, int]:
    with repo.reading() as tx:
        history = tx.conn.execute(select(func.count()).select_from(resource_history)).scalar()
        indexed = tx.conn.execute(select(func.count()).select_from(idx_string)).scalar()
    return history, indexed


def test_failed_batch_leaves_nothing(repo):
    repo.update(patient("keep"))
    before = _row_counts(repo)
    with pytest.raises(InvalidResource), repo.transaction() as tx:
        tx.put_many([PutItem(patient("a")), PutItem(patient("b", birthDate="not-a-date"))])
    assert _row_counts(repo) == before
    with repo.reading() as tx:
        assert not tx.exists("Patient", "a")


def test_same_resource_twice_in_one_batch_is_refused(repo):
    with pytest.raises(Conflict, match="more than once"), repo.transaction() as tx:
        tx.put_many([PutItem(patient()), PutItem(patient(family="Other"))])


def test_create_only_refuses_an_existing_resource(repo):
    repo.update(patient())
    with pytest.raises(Conflict, match="already exists"), repo.transaction() as tx:
        tx.put_many([PutItem(patient(), create_only=True)])


def test_concurrent_writers_never_lose_an_update(repo):
    """Many threads each read version 1 and try to update it: exactly one wins."""
    repo.update(patient())
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def writer(n: int) -> None:
        barrier.wait()
        try:
            repo.update(patient(family=f"Writer{n}"), if_match=1)
            outcomes.append(f"ok{n}")
        except VersionConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [o for o in outcomes if o.startswith("ok")]
    assert len(winners) == 1 and outcomes.count("conflict") == 5
    current = repo.read("Patient", "p1")
    assert current["meta"]["versionId"] == "2"
    assert current["name"][0]["family"] == f"Writer{winners[0][2:]}"


def test_interleaved_read_modify_write_is_detected(repo):
    """Two transactions read version 1; the second to write is refused, not merged."""
    repo.update(patient())
    with repo.transaction() as tx:
        tx.update(patient(family="First"), if_match=1)
    with pytest.raises(VersionConflict):
        repo.update(patient(family="Second"), if_match=1)
    assert repo.read("Patient", "p1")["name"][0]["family"] == "First"


def test_type_history_spans_resources(repo):
    repo.update(patient("a"))
    repo.update(patient("b"))
    repo.delete("Patient", "a")
    history = repo.history("Patient")
    assert {(h["id"], h["method"]) for h in history} == {
        ("a", "create"),
        ("b", "create"),
        ("a", "delete"),
    }
    assert history[0]["method"] == "delete"


def test_streaming_content_leaves_the_transaction_usable_for_writes(repo):
    """iter_content streams with yield_per on its own statement only: a write after it,
    in the same transaction, must not run through a server-side cursor (PostgreSQL)."""
    repo.update(patient("p1"))
    repo.update(patient("p2"))
    with repo.transaction() as tx:
        streamed = list(tx.iter_content("Patient"))
        tx.update(patient("p1", family="Tran"))
        tx.delete("Patient", "p2")
    assert len(streamed) == 2
    assert repo.read("Patient", "p1")["name"][0]["family"] == "Tran"
    with pytest.raises(Gone):
        repo.read("Patient", "p2")
