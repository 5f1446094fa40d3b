"""merge_patients: links both ways, idempotent, refuses what would make the record wrong."""

from __future__ import annotations

import pytest

from chartkeeper.errors import NotFound
from chartkeeper.quality.merge import MergeError, merge_patients


def _patient(repo, patient_id: str, family: str) -> None:
    repo.update({"resourceType": "Patient", "id": patient_id, "name": [{"family": family}]})


def test_merge_links_both_ways_and_is_idempotent(repo):
    _patient(repo, "old", "Smyth")
    _patient(repo, "new", "Smith")
    with repo.transaction() as tx:
        result = merge_patients(tx, "old", "new", reason="duplicate registration")
    assert result.changed and result.reason == "duplicate registration"
    source, survivor = repo.read("Patient", "old"), repo.read("Patient", "new")
    assert source["active"] is False
    assert source["link"] == [{"other": {"reference": "Patient/new"}, "type": "replaced-by"}]
    assert survivor["link"] == [{"other": {"reference": "Patient/old"}, "type": "replaces"}]
    assert survivor["name"] == [{"family": "Smith"}]  # nothing else changes
    with repo.transaction() as tx:
        again = merge_patients(tx, "old", "new", reason="resent")
    assert not again.changed
    assert repo.read("Patient", "old")["meta"]["versionId"] == source["meta"]["versionId"]
    assert repo.read("Patient", "new")["meta"]["versionId"] == survivor["meta"]["versionId"]


def test_merge_refuses_self_missing_and_chains(repo):
    _patient(repo, "a", "A")
    _patient(repo, "b", "B")
    _patient(repo, "c", "C")
    with repo.transaction() as tx, pytest.raises(MergeError, match="into itself"):
        merge_patients(tx, "a", "a", reason="x")
    with repo.transaction() as tx, pytest.raises(NotFound, match="source Patient/zz"):
        merge_patients(tx, "zz", "a", reason="x")
    with repo.transaction() as tx, pytest.raises(NotFound, match="surviving Patient/zz"):
        merge_patients(tx, "a", "zz", reason="x")
    with repo.transaction() as tx:
        merge_patients(tx, "a", "b", reason="x")
    with repo.transaction() as tx, pytest.raises(MergeError, match="itself merged into Patient/b"):
        merge_patients(tx, "c", "a", reason="x")
    with repo.transaction() as tx, pytest.raises(MergeError, match="already merged into Patient/b"):
        merge_patients(tx, "a", "c", reason="x")
    assert "link" not in repo.read("Patient", "c")
