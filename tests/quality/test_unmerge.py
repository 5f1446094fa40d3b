"""unmerge_patients: restores every resource a merge wrote, exactly, as new versions; keeps
later changes where that is unambiguous and refuses otherwise; never twice."""

from __future__ import annotations

import orjson
import pytest
from test_merge import chart

from chartkeeper.errors import NotFound
from chartkeeper.privacy import audit
from chartkeeper.privacy.access import UserGuard
from chartkeeper.privacy.users import User
from chartkeeper.quality.merge import LIFECYCLE, MergeError, get_merge, merge_patients
from chartkeeper.quality.unmerge import UnmergeConflict, unmerge_patients

KEY = audit.AuditKey(b"test key, not a secret")


def _setup(repo) -> None:
    with repo.transaction() as tx:
        tx.update({"resourceType": "Patient", "id": "old", "name": [{"family": "Smyth"}]})
        tx.update(
            {
                "resourceType": "Patient",
                "id": "new",
                "active": True,
                "name": [{"family": "Smith"}],
                "meta": {"tag": [{"system": "urn:example", "code": "kept"}]},
            }
        )
        for res in chart("old"):
            tx.update(res)


def _snapshot(repo) -> dict[tuple[str, str], bytes]:
    """Every live resource as JSON bytes, without the version metadata the store assigns."""
    out = {}
    with repo.reading() as tx:
        for rtype in tx.resource_types():
            for content in tx.iter_content(rtype):
                res = orjson.loads(content)
                meta = {
                    k: v for k, v in res["meta"].items() if k not in ("versionId", "lastUpdated")
                }
                res = (
                    {**res, "meta": meta} if meta else {k: v for k, v in res.items() if k != "meta"}
                )
                out[(rtype, res["id"])] = orjson.dumps(res)
    return out


def _merge(repo, **kw) -> int:
    with repo.transaction() as tx:
        return merge_patients(tx, "old", "new", reason="duplicate", **kw).merge_id


def _unmerge(repo, merge_id: int, reason: str = "not the same person"):
    with repo.transaction() as tx:
        return unmerge_patients(tx, merge_id, reason=reason)


def test_merge_then_unmerge_restores_every_resource_byte_for_byte(repo):
    _setup(repo)
    before = _snapshot(repo)
    merge_id = _merge(repo)
    merged = _snapshot(repo)
    changed = {k for k in before if before[k] != merged[k]}
    assert len(changed) == 12  # ten repointed and the two patients
    result = _unmerge(repo, merge_id)
    after = _snapshot(repo)
    provenances = {k for k in after if k not in before}
    assert len(provenances) == 2  # the merge's and the unmerge's: history of events stays
    assert {k: after[k] for k in before} == before
    assert {c.key for c in result.changes} == changed and not result.reconciled
    # New versions: history keeps the merged state.
    assert repo.read("Encounter", "enc")["meta"]["versionId"] == "3"
    assert repo.vread("Encounter", "enc", 2)["subject"]["reference"] == "Patient/new"
    prov = repo.read("Provenance", result.provenance["id"])
    assert prov["activity"]["coding"][0]["system"] == LIFECYCLE
    assert prov["activity"]["coding"][0]["code"] == "unmerge"
    assert prov["reason"] == [{"text": "not the same person"}]
    with repo.reading() as tx:
        record = get_merge(tx, merge_id)
    assert record.unmerged and record.unmerge_reason == "not the same person"
    assert record.unmerge_provenance_id == prov["id"]
    assert {c.key for c in record.unmerge_changes} == changed
    # They can be merged again; that is a merge of its own.
    assert _merge(repo) == merge_id + 1


def test_unmerge_is_refused_twice_and_for_an_unknown_merge(repo):
    _setup(repo)
    merge_id = _merge(repo)
    _unmerge(repo, merge_id)
    with pytest.raises(UnmergeConflict, match=f"merge {merge_id} was undone already"):
        _unmerge(repo, merge_id)
    with pytest.raises(NotFound, match="no patient merge 999"):
        _unmerge(repo, 999)


def test_a_later_change_is_kept_when_it_left_the_references_alone(repo):
    _setup(repo)
    before = _snapshot(repo)
    merge_id = _merge(repo)
    obs = repo.read("Observation", "obs")
    repo.update({**obs, "status": "amended"})
    survivor = repo.read("Patient", "new")
    repo.update({**survivor, "birthDate": "1970-01-01"})
    source = repo.read("Patient", "old")
    repo.update({**source, "gender": "male"})  # an A08 for the merged-away record
    result = _unmerge(repo, merge_id)
    assert set(result.reconciled) == {
        ("Observation", "obs"),
        ("Patient", "new"),
        ("Patient", "old"),
    }
    obs = repo.read("Observation", "obs")
    assert obs["status"] == "amended"
    assert obs["subject"] == obs["performer"][0] == {"reference": "Patient/old"}
    assert obs["extension"][0]["valueReference"] == {"reference": "Patient/old"}
    survivor, source = repo.read("Patient", "new"), repo.read("Patient", "old")
    assert survivor["birthDate"] == "1970-01-01" and "link" not in survivor
    assert source["gender"] == "male" and "link" not in source and "active" not in source
    after = _snapshot(repo)
    untouched = set(before) - set(result.reconciled)
    assert {k: after[k] for k in untouched} == {k: before[k] for k in untouched}


def test_unmerge_is_refused_when_a_moved_reference_was_edited_since(repo):
    _setup(repo)
    merge_id = _merge(repo)
    enc = repo.read("Encounter", "enc")
    repo.update({**enc, "subject": {"reference": "Patient/other"}})
    obs = repo.read("Observation", "obs")
    repo.update({**obs, "performer": [*obs["performer"], {"reference": "Patient/new"}]})
    with pytest.raises(UnmergeConflict) as caught:
        _unmerge(repo, merge_id)
    message = str(caught.value)
    assert "Encounter/enc (version 3)" in message and "Observation/obs (version 3)" in message
    assert "references to Patient/new were edited since" in message
    # Nothing was written: the merge still stands and can still be undone later.
    assert repo.read("DocumentReference", "doc")["subject"]["reference"] == "Patient/new"
    with repo.reading() as tx:
        assert get_merge(tx, merge_id).unmerged is None


def test_unmerge_refused_when_a_patient_was_deleted_and_a_deleted_resource_stays(repo):
    _setup(repo)
    merge_id = _merge(repo)
    repo.delete("Basic", "basic")
    repo.delete("Patient", "old")
    with pytest.raises(UnmergeConflict, match="Patient/old was deleted after the merge"):
        _unmerge(repo, merge_id)

    repo.update({"resourceType": "Patient", "id": "x"})
    repo.update({"resourceType": "Patient", "id": "y"})
    repo.update(
        {
            "resourceType": "Basic",
            "id": "b2",
            "code": {"text": "n"},
            "subject": {"reference": "Patient/x"},
        }
    )
    with repo.transaction() as tx:
        second = merge_patients(tx, "x", "y", reason="dup").merge_id
    repo.delete("Basic", "b2")
    result = _unmerge(repo, second)
    assert result.left_deleted == (("Basic", "b2"),)
    assert repo.read("Patient", "x").get("active") is None


def test_unmerge_refused_while_the_survivor_is_merged_away(repo):
    for pid in ("a", "b", "c"):
        repo.update({"resourceType": "Patient", "id": pid})
    repo.update({"resourceType": "RelatedPerson", "id": "r", "patient": {"reference": "Patient/a"}})
    with repo.transaction() as tx:
        first = merge_patients(tx, "a", "b", reason="1").merge_id
    with repo.transaction() as tx:
        second = merge_patients(tx, "b", "c", reason="2").merge_id
    assert repo.read("RelatedPerson", "r")["patient"]["reference"] == "Patient/c"
    with pytest.raises(MergeError, match=f"merged into Patient/c afterwards \\(merge {second}\\)"):
        _unmerge(repo, first)
    _unmerge(repo, second)
    _unmerge(repo, first)
    assert repo.read("RelatedPerson", "r")["patient"]["reference"] == "Patient/a"
    for pid in ("a", "b", "c"):
        assert "link" not in repo.read("Patient", pid)


def test_a_guarded_unmerge_is_audited(repo):
    _setup(repo)
    merge_id = _merge(repo)
    clerk = repo.guarded(UserGuard(repo.engine, KEY, User("clerk", "him")))
    with clerk.transaction() as tx:
        result = unmerge_patients(tx, merge_id, reason="two people")
    assert result.provenance["agent"][0]["who"] == {"display": "clerk"}
    rows = [r for r in audit.entries(repo.engine) if r["action"] == "unmerge"]
    assert len(rows) == 1 and rows[0]["username"] == "clerk"
    assert f"patient merge {merge_id} undone" in rows[0]["detail"]
    assert "Encounter/enc" in rows[0]["resources"]
