"""Retention, legal holds and destruction on a small hand-made record, on both databases."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text

from chartkeeper.errors import BadRequest, Gone, NotFound
from chartkeeper.paper import retention

AS_OF = date(2025, 6, 1)


def _patient(repo, pid: str, born: str, last_seen: str, state: str = "OH") -> None:
    repo.update(
        {
            "resourceType": "Patient",
            "id": pid,
            "birthDate": born,
            "name": [{"family": f"Family{pid}", "given": ["Pat"]}],
            "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": f"MRN-{pid}"}],
            "address": [{"state": state}],
        }
    )
    ref = {"reference": f"Patient/{pid}"}
    repo.update(
        {
            "resourceType": "Encounter",
            "id": f"{pid}-e1",
            "status": "finished",
            "class": {"code": "AMB"},
            "subject": ref,
            "period": {"start": f"{last_seen}T09:00:00Z", "end": f"{last_seen}T10:00:00Z"},
        }
    )
    repo.update(
        {
            "resourceType": "Condition",
            "id": f"{pid}-c1",
            "subject": ref,
            "encounter": {"reference": f"Encounter/{pid}-e1"},
            "code": {"text": "Hypertension"},
        }
    )


@pytest.fixture
def record(repo):
    _patient(repo, "old", "1950-01-01", "2010-03-01")  # adult, 15 years ago: eligible
    _patient(repo, "held", "1950-01-01", "2010-03-01")  # eligible, but under a hold
    _patient(repo, "recent", "1950-01-01", "2020-03-01")  # within 10 years: kept
    _patient(repo, "minor", "2008-05-01", "2010-03-01")  # minor: kept until 2029
    return repo


def _keys(groups) -> set[tuple[str, str]]:
    return {(r["type"], r["id"]) for g in groups for r in g["resources"]}


def test_rules_pick_minors_and_adults(record):
    groups = retention.eligible(record, as_of=AS_OF)
    assert {g.patient_id for g in groups} == {"old", "held"}
    old = next(g for g in groups if g.patient_id == "old")
    assert old.retain_until == "2020-03-01"
    assert old.mrn == "MRN-old" and old.jurisdiction == "US"
    # The minor's record outlives 10 years after the visit: majority (18) + 3 years.
    later = retention.eligible(record, as_of=date(2029, 5, 1))
    assert "minor" in {g.patient_id for g in later}
    assert "minor" not in {
        g.patient_id for g in retention.eligible(record, as_of=date(2029, 4, 30))
    }


def test_held_record_survives_and_certificate_lists_exactly_what_went(record):
    hold = retention.place_hold(record, "held", reason="subpoena", by="him1", case_ref="CV-1")
    dry = retention.destroy(record, by="him1", method="electronic-purge", as_of=AS_OF)
    assert dry.dry_run and dry.certificate is None
    assert record.read("Condition", "old-c1")["id"] == "old-c1"  # a dry run changes nothing
    assert {g["patient_id"] for g in dry.destroyed} == {"old"}
    assert {g["patient_id"] for g in dry.held} == {"held"}

    done = retention.destroy(
        record, by="him1", method="electronic-purge", as_of=AS_OF, dry_run=False
    )
    assert done.certificate is not None
    cert = retention.certificate(record, done.certificate)
    assert _keys(cert["items"]) == {("Encounter", "old-e1"), ("Condition", "old-c1")}
    assert cert["performed_by"] == "him1" and cert["method"] == "electronic-purge"
    assert all(len(r["sha256"]) == 64 for g in cert["items"] for r in g["resources"])
    for key in _keys(cert["items"]):
        with pytest.raises(Gone):
            record.read(*key)
    # The content is gone from every version, not only hidden behind a delete.
    with record.engine.connect() as conn:
        left = conn.execute(
            text(
                "select count(*) from resource_history where id in ('old-e1', 'old-c1')"
                " and content is not null"
            )
        ).scalar()
    assert left == 0
    # The held patient, the MPI entry and the others are untouched.
    assert record.read("Condition", "held-c1")["id"] == "held-c1"
    assert record.read("Patient", "old")["id"] == "old"
    assert record.read("Condition", "minor-c1")["id"] == "minor-c1"
    # A rerun finds nothing more; releasing the hold makes the held record eligible.
    again = retention.destroy(record, by="him1", method="shredding", as_of=AS_OF, dry_run=False)
    assert again.certificate is None and not again.destroyed
    retention.release_hold(record, hold["id"], reason="case closed", by="him1")
    assert [g.patient_id for g in retention.eligible(record, as_of=AS_OF)] == ["held"]
    assert [c["id"] for c in retention.certificates(record)] == [done.certificate]


def test_bad_input_is_refused(record, tmp_path: Path):
    with pytest.raises(NotFound):
        retention.place_hold(record, "nobody", reason="x", by="him1")
    with pytest.raises(BadRequest, match="reason"):
        retention.place_hold(record, "old", reason=" ", by="him1")
    with pytest.raises(BadRequest, match="method"):
        retention.destroy(record, by="him1", method="burying", as_of=AS_OF)
    with pytest.raises(NotFound):
        retention.release_hold(record, 999, reason="x", by="him1")
    bad = tmp_path / "rules.toml"
    bad.write_text("default_jurisdiction = 'US'\n[[rule]]\njurisdiction = 'US'\n")
    with pytest.raises(BadRequest, match="record type"):
        retention.load_rules(bad)
    bad.write_text("not toml [")
    with pytest.raises(BadRequest, match="TOML"):
        retention.load_rules(bad)


def test_jurisdiction_from_address(repo):
    _patient(repo, "il", "1950-01-01", "2010-03-01", state="IL")
    (group,) = retention.eligible(repo, as_of=AS_OF)
    assert group.jurisdiction == "US-IL"


def test_destruction_that_fails_midway_leaves_the_store_as_it_was(record, monkeypatch):
    """The deletes, the content purge and the certificate are one transaction."""
    from chartkeeper.store import paper as table

    def refuse(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(table, "insert_certificate", refuse)
    with pytest.raises(RuntimeError, match="disk full"):
        retention.destroy(record, by="him1", method="shredding", as_of=AS_OF, dry_run=False)
    assert record.read("Patient", "old")["id"] == "old"
    assert record.read("Encounter", "old-e1")["id"] == "old-e1"
    assert len(record.history("Condition", "old-c1")) == 1  # no delete, nothing purged
    assert retention.certificates(record) == []
    still = retention.eligible(record, as_of=AS_OF)
    assert {"old", "held"} <= {g.patient_id for g in still}


def test_hold_by_case_keeps_every_patient_it_names_until_the_case_is_released(record):
    placed = retention.hold_case(record, "CV-77", ["old", "held"], reason="lawsuit", by="him1")
    assert [h["patient_id"] for h in placed] == ["old", "held"]
    # naming the case again with one more patient adds only that one
    with pytest.raises(NotFound):  # a patient not in the store refuses the lot
        retention.hold_case(record, "CV-77", ["minor", "nobody"], reason="lawsuit", by="him1")
    assert {h["patient_id"] for h in retention.holds(record, case_ref="CV-77")} == {"old", "held"}
    more = retention.hold_case(record, "CV-77", ["held", "minor"], reason="lawsuit", by="him1")
    assert [h["patient_id"] for h in more] == ["minor"]
    dry = retention.destroy(record, by="him1", method="shredding", as_of=AS_OF, dry_run=True)
    assert dry.destroyed == [] and {g["patient_id"] for g in dry.held} == {"old", "held"}
    released = retention.release_case(record, "CV-77", reason="settled", by="him2")
    assert len(released) == 3 and retention.holds(record, case_ref="CV-77") == []
    with pytest.raises(NotFound, match="no active legal hold"):
        retention.release_case(record, "CV-77", reason="again", by="him2")
    with pytest.raises(BadRequest):
        retention.hold_case(record, " ", ["old"], reason="x", by="him1")
    with pytest.raises(BadRequest):
        retention.hold_case(record, "CV-78", [], reason="x", by="him1")
    went = retention.destroy(record, by="him1", method="shredding", as_of=AS_OF, dry_run=True)
    assert {g["patient_id"] for g in went.destroyed} == {"old", "held"}
