"""An MPI link is stored, not only counted: the queue row says "linked" and each Patient
carries a `seealso` link to the other (test_mpi.py covers matching itself)."""

from __future__ import annotations

from chartkeeper.quality.mpi import CandidatePair, decide, enqueue, list_reviews


def _patient(repo, pid: str) -> None:
    repo.update({"resourceType": "Patient", "id": pid, "name": [{"family": "Ng"}]})


def _links(repo, pid: str) -> list[tuple[str, str]]:
    patient = repo.read("Patient", pid)
    return [(link["other"]["reference"], link["type"]) for link in patient.get("link", [])]


def test_an_auto_link_is_stored_as_a_patient_link_pair_and_shown(repo):
    for pid in ("a", "b", "c", "d"):
        _patient(repo, pid)
    sure = CandidatePair("Patient/a", "Patient/b", 0.9993, "link", {})
    doubtful = CandidatePair("Patient/c", "Patient/d", 0.7, "review", {})
    assert enqueue(repo, [sure, doubtful]) == 2
    assert _links(repo, "a") == [("Patient/b", "seealso")]
    assert _links(repo, "b") == [("Patient/a", "seealso")]
    assert _links(repo, "c") == []
    (shown,) = list_reviews(repo, status="linked")
    assert (shown.a, shown.b, shown.reviewer) == ("Patient/a", "Patient/b", "mpi-scan")
    assert "automatically" in shown.note

    enqueue(repo, [sure])  # a rescan writes nothing twice
    assert repo.read("Patient", "a")["meta"]["versionId"] == "2"
    assert len(list_reviews(repo, status="all")) == 2

    (queued,) = list_reviews(repo)
    decide(repo, queued.id, "linked", reviewer="him1")  # a reviewer's "linked" merges
    assert ("Patient/c", "replaced-by") in _links(repo, "d")  # survivor: a, by default


def test_a_link_to_a_deleted_record_is_kept_as_the_verdict_only(repo):
    _patient(repo, "x")
    _patient(repo, "y")
    repo.delete("Patient", "y")
    enqueue(repo, [CandidatePair("Patient/x", "Patient/y", 0.999, "link", {})])
    assert _links(repo, "x") == []
    assert [i.status for i in list_reviews(repo, status="all")] == ["linked"]
