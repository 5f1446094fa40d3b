"""merge_patients: repoints every reference, links both ways, records and audits the merge,
is idempotent, and refuses what would make the record wrong."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from chartkeeper.errors import Forbidden, Gone, NotFound
from chartkeeper.privacy import audit
from chartkeeper.privacy.access import UserGuard, break_glass
from chartkeeper.privacy.users import User
from chartkeeper.quality.merge import (
    LIFECYCLE,
    MergeError,
    find_references,
    get_merge,
    merge_patients,
    merges_of,
)
from chartkeeper.store.merges import patient_merge

KEY = audit.AuditKey(b"test key, not a secret")
EXT = "urn:example:extension"


def _patient(repo, patient_id: str, family: str) -> None:
    repo.update({"resourceType": "Patient", "id": patient_id, "name": [{"family": family}]})


def chart(patient: str, other: str = "other") -> list[dict]:
    """Resources of many types that refer to Patient/<patient> in many places: indexed
    elements, unindexed types, an extension, a contained resource, Patient.link of a third
    record, an absolute reference; plus references that must not move (versioned, to a
    look-alike id, to another patient)."""
    ref = {"reference": f"Patient/{patient}"}
    code = {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]}
    return [
        {"resourceType": "Patient", "id": other, "name": [{"family": "Other"}]},
        {
            "resourceType": "Patient",
            "id": "relative",
            "link": [{"other": ref, "type": "seealso"}],
        },
        {
            "resourceType": "Encounter",
            "id": "enc",
            "status": "finished",
            "class": {"code": "AMB"},
            "subject": ref,
        },
        {
            "resourceType": "Observation",
            "id": "obs",
            "status": "final",
            "code": code,
            "subject": ref,
            "performer": [ref],  # not a search parameter: found by the scan only
            "extension": [{"url": EXT, "valueReference": ref}],
            "encounter": {"reference": "Encounter/enc"},
        },
        {
            "resourceType": "DiagnosticReport",
            "id": "dr",
            "status": "final",
            "code": code,
            "subject": ref,
            "contained": [
                {
                    "resourceType": "Observation",
                    "id": "c1",
                    "status": "final",
                    "code": code,
                    "subject": ref,
                }
            ],
            "result": [{"reference": "#c1"}],
        },
        {
            "resourceType": "Claim",
            "id": "claim",
            "status": "active",
            "type": {"coding": [{"code": "professional"}]},
            "use": "claim",
            "patient": ref,
            "created": "2024-01-05",
            "provider": {"reference": "Organization/org"},
            "priority": {"coding": [{"code": "normal"}]},
            "insurance": [
                {"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/cov"}}
            ],
        },
        {
            "resourceType": "DocumentReference",
            "id": "doc",
            "status": "current",
            "subject": ref,
            "content": [{"attachment": {"contentType": "text/plain", "data": "aGk="}}],
        },
        {
            "resourceType": "Provenance",
            "id": "prov",
            "target": [ref, {"reference": f"Patient/{patient}/_history/1"}],
            "recorded": "2024-01-05T10:00:00Z",
            "agent": [{"who": {"display": "registrar"}}],
        },
        {"resourceType": "RelatedPerson", "id": "mum", "patient": ref},
        {
            "resourceType": "AllergyIntolerance",
            "id": "allergy",
            "patient": {"reference": f"http://example.org/fhir/Patient/{patient}"},
            "clinicalStatus": {  # ait-1: required unless entered in error
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                        "code": "active",
                    }
                ]
            },
        },
        {
            "resourceType": "Basic",
            "id": "basic",
            "code": {"text": "note"},
            "extension": [{"url": EXT, "valueReference": ref}],
        },
        {
            "resourceType": "Observation",
            "id": "theirs",
            "status": "final",
            "code": code,
            "subject": {"reference": f"Patient/{other}"},
        },
        {
            "resourceType": "Observation",
            "id": "lookalike",
            "status": "final",
            "code": code,
            "subject": {"reference": f"Patient/{patient}x"},
            "note": [{"text": f"not Patient/{patient}"}],
        },
    ]


def _load(repo, *resources: dict) -> None:
    with repo.transaction() as tx:
        for res in resources:
            tx.update(res)


def _refs(res: dict) -> list[str]:
    import orjson

    text = orjson.dumps(res).decode()
    return [part.split('"')[0] for part in text.split('"reference":"')[1:]]


def test_merge_repoints_every_reference_in_every_type(repo):
    _patient(repo, "old", "Smyth")
    _patient(repo, "new", "Smith")
    _patient(repo, "oldx", "Lookalike")
    _load(repo, *chart("old"))
    with repo.transaction() as tx:
        result = merge_patients(tx, "old", "new", reason="duplicate registration", by="him1")
    moved = {c.key for c in result.repointed}
    expected = {
        ("Patient", "relative"),
        ("Encounter", "enc"),
        ("Observation", "obs"),
        ("DiagnosticReport", "dr"),
        ("Claim", "claim"),
        ("DocumentReference", "doc"),
        ("Provenance", "prov"),
        ("RelatedPerson", "mum"),
        ("AllergyIntolerance", "allergy"),
        ("Basic", "basic"),
    }
    assert moved == expected
    assert len({t for t, _ in moved}) >= 8
    for rtype, rid in expected:
        refs = _refs(repo.read(rtype, rid))
        assert not any(r == "Patient/old" or r.endswith("/Patient/old") for r in refs), rtype
    obs = repo.read("Observation", "obs")
    assert obs["subject"] == obs["performer"][0] == {"reference": "Patient/new"}
    assert obs["extension"][0]["valueReference"] == {"reference": "Patient/new"}
    assert repo.read("DiagnosticReport", "dr")["contained"][0]["subject"]["reference"] == (
        "Patient/new"
    )
    assert repo.read("Patient", "relative")["link"][0]["other"]["reference"] == "Patient/new"
    allergy = repo.read("AllergyIntolerance", "allergy")
    assert allergy["patient"]["reference"] == "http://example.org/fhir/Patient/new"
    prov = repo.read("Provenance", "prov")  # a versioned reference names content: kept
    assert [t["reference"] for t in prov["target"]] == ["Patient/new", "Patient/old/_history/1"]
    for rid in ("theirs", "lookalike"):
        assert repo.read("Observation", rid)["meta"]["versionId"] == "1"
    with repo.reading() as tx:
        # Left: the survivor's link, and a note that only mentions the id in its text.
        # Left: the survivor's link, a note that only mentions the id in its text, and the
        # Provenance records that name the old chart on purpose (a versioned target, and the
        # merge's own record).
        left = find_references(tx, "old")
        assert {k for k in left if k[0] != "Provenance"} == {
            ("Patient", "new"),
            ("Observation", "lookalike"),
        }
        assert {k for k in left if k[0] == "Provenance"} <= {
            ("Provenance", "prov"),
            ("Provenance", result.provenance["id"]),
        }

    source, survivor = repo.read("Patient", "old"), repo.read("Patient", "new")
    assert source["active"] is False
    assert source["link"] == [{"other": {"reference": "Patient/new"}, "type": "replaced-by"}]
    assert survivor["link"] == [{"other": {"reference": "Patient/old"}, "type": "replaces"}]

    provenance = repo.read("Provenance", result.provenance["id"])
    assert provenance["activity"]["coding"][0] == {
        "system": LIFECYCLE,
        "code": "merge",
        "display": "Merge Record Lifecycle Event",
    }
    assert provenance["reason"] == [{"text": "duplicate registration"}]
    assert provenance["agent"][0]["who"] == {"display": "him1"}
    targets = {t["reference"] for t in provenance["target"]}
    assert f"Patient/new/_history/{survivor['meta']['versionId']}" in targets
    assert "Encounter/enc/_history/2" in targets and len(targets) == len(expected) + 2

    with repo.reading() as tx:
        record = get_merge(tx, result.merge_id)
        assert merges_of(tx, "new") == [record]
    assert (record.source_id, record.survivor_id, record.merged_by) == ("old", "new", "him1")
    assert record.reason == "duplicate registration" and record.unmerged is None
    assert record.provenance_id == provenance["id"]
    assert {c.key: (c.before, c.after) for c in record.changes}[("Encounter", "enc")] == (1, 2)
    assert len(record.changes) == len(expected) + 2


def test_merge_is_one_transaction(repo):
    _patient(repo, "old", "Smyth")
    _patient(repo, "new", "Smith")
    _load(repo, *chart("old"))
    with pytest.raises(RuntimeError), repo.transaction() as tx:
        merge_patients(tx, "old", "new", reason="x")
        raise RuntimeError("the caller fails later in the same transaction")
    assert repo.read("Encounter", "enc")["subject"]["reference"] == "Patient/old"
    assert "link" not in repo.read("Patient", "old")
    with repo.engine.connect() as conn:
        assert conn.execute(select(patient_merge.c.id)).first() is None


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
    assert not again.changed and again.merge_id is None
    assert repo.read("Patient", "old")["meta"]["versionId"] == source["meta"]["versionId"]
    assert repo.read("Patient", "new")["meta"]["versionId"] == survivor["meta"]["versionId"]
    assert result.provenance["agent"][0]["who"] == {"display": "system"}


def test_survivor_takes_over_what_the_source_replaced(repo):
    for pid in ("a", "b", "c"):
        _patient(repo, pid, pid.upper())
    with repo.transaction() as tx:
        merge_patients(tx, "c", "a", reason="first")
    with repo.transaction() as tx:
        merge_patients(tx, "a", "b", reason="second")
    # No chain left: c points straight at b, and b replaces both.
    assert repo.read("Patient", "c")["link"][0]["other"]["reference"] == "Patient/b"
    assert {link["other"]["reference"] for link in repo.read("Patient", "b")["link"]} == {
        "Patient/a",
        "Patient/c",
    }


def test_merge_refuses_self_missing_deleted_and_chains(repo):
    _patient(repo, "a", "A")
    _patient(repo, "b", "B")
    _patient(repo, "c", "C")
    _patient(repo, "d", "D")
    repo.delete("Patient", "d")
    with repo.transaction() as tx, pytest.raises(MergeError, match="into itself"):
        merge_patients(tx, "a", "a", reason="x")
    with repo.transaction() as tx, pytest.raises(NotFound, match="source Patient/zz"):
        merge_patients(tx, "zz", "a", reason="x")
    with repo.transaction() as tx, pytest.raises(NotFound, match="surviving Patient/zz"):
        merge_patients(tx, "a", "zz", reason="x")
    with repo.transaction() as tx, pytest.raises(Gone, match="surviving Patient/d was deleted"):
        merge_patients(tx, "a", "d", reason="x")
    with repo.transaction() as tx, pytest.raises(Gone, match="source Patient/d was deleted"):
        merge_patients(tx, "d", "a", reason="x")
    with repo.transaction() as tx:
        merge_patients(tx, "a", "b", reason="x")
    with repo.transaction() as tx, pytest.raises(MergeError, match="itself merged into Patient/b"):
        merge_patients(tx, "c", "a", reason="x")
    with repo.transaction() as tx, pytest.raises(MergeError, match="already merged into Patient/b"):
        merge_patients(tx, "a", "c", reason="x")
    assert "link" not in repo.read("Patient", "c")


def test_a_guarded_merge_is_audited(repo):
    audit.open_trail(repo.engine, KEY)
    _patient(repo, "old", "Smyth")
    _patient(repo, "new", "Smith")
    _load(repo, *chart("old"))
    clerk = repo.guarded(UserGuard(repo.engine, KEY, User("clerk", "him")))
    with clerk.transaction() as tx:
        result = merge_patients(tx, "old", "new", reason="same person, checked ID")
    assert result.provenance["agent"][0]["who"] == {"display": "clerk"}
    with repo.reading() as tx:
        assert get_merge(tx, result.merge_id).merged_by == "clerk"
    rows = [r for r in audit.entries(repo.engine) if r["action"] == "merge"]
    assert len(rows) == 1
    row = rows[0]
    assert row["username"] == "clerk" and row["outcome"] == "success"
    assert "Patient/old" in row["resources"] and "Encounter/enc" in row["resources"]
    assert f"patient merge {result.merge_id}" in row["detail"]
    assert "same person, checked ID" in row["detail"]
    assert audit.verify(repo.engine, KEY) == []


def test_a_role_that_may_not_write_cannot_merge(repo):
    _patient(repo, "old", "Smyth")
    _patient(repo, "new", "Smith")
    registrar = repo.guarded(UserGuard(repo.engine, KEY, User("reg", "registrar")))
    with pytest.raises(Exception, match="may not write Patient"), registrar.transaction() as tx:
        merge_patients(tx, "old", "new", reason="x")
    assert "link" not in repo.read("Patient", "old")


def test_a_merge_that_would_move_records_the_caller_may_not_see_waits_for_the_glass(repo):
    _patient(repo, "old", "Smyth")
    _patient(repo, "new", "Smith")
    label = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "ETH"}
    repo.update(
        {
            "resourceType": "Observation",
            "id": "part2",
            "meta": {"security": [label]},
            "status": "final",
            "code": {"text": "substance use"},
            "subject": {"reference": "Patient/old"},
        }
    )
    user = User("clerk", "him")
    clerk = repo.guarded(UserGuard(repo.engine, KEY, user))
    # The clerk may not see the 42 CFR Part 2 record, so may not change it either.
    with pytest.raises(Forbidden, match="may not see"), clerk.transaction() as tx:
        merge_patients(tx, "old", "new", reason="same person")
    assert repo.read("Observation", "part2")["meta"]["versionId"] == "1"
    assert "link" not in repo.read("Patient", "old")
    # Under break-the-glass for the source patient, the merge moves it, flagged in the trail.
    break_glass(repo.engine, KEY, user, "old", "duplicate chart blocks emergency care")
    clerk = repo.guarded(UserGuard(repo.engine, KEY, user))
    with clerk.transaction() as tx:
        result = merge_patients(tx, "old", "new", reason="same person")
    assert ("Observation", "part2") in {c.key for c in result.repointed}
    assert any(r["action"] == "merge" and r["break_glass"] for r in audit.entries(repo.engine))
    # Undoing it moves the record back: again only for someone who may see it.
    from chartkeeper.quality.unmerge import unmerge_patients

    other = repo.guarded(UserGuard(repo.engine, KEY, User("clerk2", "him")))
    with pytest.raises(Forbidden, match="may not see"), other.transaction() as tx:
        unmerge_patients(tx, result.merge_id, reason="not the same person")
    assert repo.read("Observation", "part2")["subject"]["reference"] == "Patient/new"
    assert repo.read("Observation", "part2")["subject"]["reference"] == "Patient/new"
