"""Amendments at the patient's request (45 CFR 164.526): accepted ones become a new version
linked to the request, denied ones travel with later disclosures of the record."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pypdf import PdfReader

from chartkeeper.errors import BadRequest, Conflict, Forbidden, VersionConflict
from chartkeeper.privacy import amendments, audit, disclosures
from chartkeeper.privacy.access import UserGuard
from chartkeeper.privacy.amendments import AMENDMENT_TAG
from chartkeeper.privacy.users import User

KEY = audit.AuditKey(b"test key, not a secret")
TODAY = date.today()
CONDITION = {
    "resourceType": "Condition",
    "id": "c1",
    "code": {"text": "Alcohol dependence"},
    "subject": {"reference": "Patient/p1"},
    "recordedDate": "2024-05-01",
}


@pytest.fixture
def clerk(repo):
    audit.open_trail(repo.engine, KEY)
    with repo.transaction() as tx:
        tx.update({"resourceType": "Patient", "id": "p1", "name": [{"text": "Ivo Brandt"}]})
        tx.update(CONDITION)
        tx.update(
            {
                "resourceType": "DocumentReference",
                "id": "auth",
                "status": "current",
                "content": [{"attachment": {"title": "signed authorization"}}],
            }
        )
    return repo.guarded(UserGuard(repo.engine, KEY, User("clerk", "him")))


def _ask(clerk, proposed: dict | None = None) -> amendments.Amendment:
    return amendments.request_amendment(
        clerk,
        "Condition/c1",
        change="I was never diagnosed with alcohol dependence; it was my father.",
        requested_by="Ivo Brandt (patient)",
        by="clerk",
        proposed=proposed,
    )


CORRECTED = {**CONDITION, "code": {"text": "Family history of alcohol dependence"}}


def test_an_accepted_amendment_is_a_new_version_linked_to_its_request(repo, clerk):
    asked = _ask(clerk, proposed=CORRECTED)
    assert (asked.status, asked.base_version, asked.patient_id) == ("requested", 1, "p1")
    done = amendments.accept(clerk, asked.id, by="hd")
    assert (done.status, done.decided_by, done.new_version) == ("accepted", "hd", 2)
    current = repo.read("Condition", "c1")
    assert current["code"]["text"] == "Family history of alcohol dependence"
    assert current["meta"]["versionId"] == "2"
    assert {"system": AMENDMENT_TAG, "code": str(asked.id)} in [
        {k: t[k] for k in ("system", "code")} for t in current["meta"]["tag"]
    ]
    history = repo.history("Condition", "c1")
    assert [v["version_id"] for v in history] == [2, 1]
    assert history[1]["resource"]["code"]["text"] == "Alcohol dependence"  # kept
    provenance = repo.read("Provenance", done.provenance_id)
    assert provenance["target"] == [{"reference": "Condition/c1/_history/2"}]
    assert provenance["entity"][0]["what"] == {"reference": "Condition/c1/_history/1"}
    assert provenance["entity"][1]["what"]["identifier"]["value"] == str(asked.id)
    assert audit.entries(repo.engine, action="amendment")
    assert audit.verify(repo.engine, KEY) == []


def test_the_clerk_may_give_the_amended_version_when_the_patient_proposed_none(repo, clerk):
    asked = _ask(clerk)
    with pytest.raises(BadRequest, match="give the amended resource"):
        amendments.accept(clerk, asked.id, by="hd")
    with pytest.raises(BadRequest, match="Condition/c1 itself"):
        amendments.accept(clerk, asked.id, by="hd", resource={**CORRECTED, "id": "other"})
    done = amendments.accept(clerk, asked.id, by="hd", resource=CORRECTED)
    assert done.status == "accepted"


def test_an_amendment_to_a_record_changed_since_is_refused(repo, clerk):
    asked = _ask(clerk, proposed=CORRECTED)
    repo.update({**CONDITION, "recordedDate": "2024-05-02"})  # someone else, meanwhile
    with pytest.raises(VersionConflict):
        amendments.accept(clerk, asked.id, by="hd")
    assert amendments.get_amendment(repo, asked.id).status == "requested"


def test_a_proposal_must_be_the_same_record_and_valid(clerk):
    with pytest.raises(BadRequest, match="Condition/c1 itself"):
        _ask(clerk, proposed={**CORRECTED, "id": "c2"})
    with pytest.raises(Exception, match="invalid Condition"):
        _ask(clerk, proposed={**CORRECTED, "recordedDate": "last May"})


def test_deadlines_are_60_days_with_one_30_day_extension(repo, clerk):
    asked = _ask(clerk)
    received = date.fromisoformat(asked.received[:10])
    assert asked.due == (received + timedelta(days=60)).isoformat() and not asked.overdue
    later = amendments.extend(clerk, asked.id, reason="the record is in off-site storage", by="hd")
    assert later.due == (received + timedelta(days=90)).isoformat()
    assert later.extension_reason == "the record is in off-site storage"
    with pytest.raises(Conflict, match="only once"):
        amendments.extend(clerk, asked.id, reason="still looking for it", by="hd")


def test_denial_keeps_reason_statement_and_rebuttal_in_order(repo, clerk):
    asked = _ask(clerk)
    with pytest.raises(Conflict, match="only a denied request"):
        amendments.disagree(clerk, asked.id, statement="I disagree.")
    denied = amendments.deny(clerk, asked.id, reason="accurate and complete", by="hd")
    assert (denied.status, denied.denial_reason, denied.decided_by) == (
        "denied",
        "accurate and complete",
        "hd",
    )
    assert not denied.include_in_disclosures
    with pytest.raises(Conflict, match="no statement of disagreement"):
        amendments.rebut(clerk, asked.id, rebuttal="We stand by it.", by="hd")
    with pytest.raises(Conflict, match="only a requested request can be accepted"):
        amendments.accept(clerk, asked.id, by="hd", resource=CORRECTED)
    stated = amendments.disagree(clerk, asked.id, statement="My GP letter says otherwise.")
    assert stated.include_in_disclosures and stated.disagreement_received
    rebutted = amendments.rebut(clerk, asked.id, rebuttal="The GP letter was reviewed.", by="hd")
    assert rebutted.rebuttal_by == "hd"
    assert [a.id for a in amendments.list_amendments(repo, patient_id="p1")] == [asked.id]


def _disclose(clerk, tmp_path) -> disclosures.Fulfilment:
    spec = {
        "patient": "p1",
        "purpose": "continuing-care",
        "requester": {"name": "Dr Ada Park", "address": "2 Clinic Rd"},
        "authorization": {
            "reference": "DocumentReference/auth",
            "signed": (TODAY - timedelta(days=1)).isoformat(),
            "expires": (TODAY + timedelta(days=90)).isoformat(),
            "covers": {"types": ["Condition"]},
        },
        "asked": {"types": ["Condition"]},
    }
    req = disclosures.log_request(clerk, spec, by="clerk")
    disclosures.validate_request(clerk, req.id, by="clerk")
    return disclosures.fulfil(clerk, req.id, by="clerk", out_dir=tmp_path)


def test_a_denied_amendment_and_the_statement_travel_with_later_disclosures(clerk, tmp_path):
    asked = _ask(clerk)
    amendments.deny(clerk, asked.id, reason="the diagnosis is accurate", by="hd")
    quiet = _disclose(clerk, tmp_path)  # no statement, the patient did not ask: not included
    assert "the diagnosis is accurate" not in str(quiet.bundle)
    amendments.disagree(clerk, asked.id, statement="My father had it, not me.")
    amendments.rebut(clerk, asked.id, rebuttal="Confirmed at the 2024 visit.", by="hd")
    done = _disclose(clerk, tmp_path)
    sections = {s["title"]: s for s in done.bundle["entry"][0]["resource"]["section"]}
    travelling = sections["Amendment requests about Condition/c1"]
    assert travelling["entry"] == [{"reference": "Condition/c1"}]
    for text in ("the diagnosis is accurate", "My father had it, not me.", "Confirmed at the"):
        assert text in travelling["text"]["div"]
    pdf = "\n".join(p.extract_text() for p in PdfReader(done.pdf).pages)
    for text in ("Ivo Brandt", "Alcohol dependence", "the diagnosis is accurate", "My father had"):
        assert text in pdf


def test_the_patient_may_ask_that_a_denial_travel_without_a_statement(clerk, tmp_path):
    asked = _ask(clerk)
    amendments.deny(clerk, asked.id, reason="accurate", by="hd", include_in_disclosures=True)
    assert "Amendment requests about Condition/c1" in str(_disclose(clerk, tmp_path).bundle)


def test_a_role_that_may_not_read_the_record_cannot_log_an_amendment(repo, clerk):
    auditor = repo.guarded(UserGuard(repo.engine, KEY, User("eve", "auditor")))
    with pytest.raises(Forbidden):
        amendments.request_amendment(
            auditor, "Condition/c1", change="x", requested_by="Ivo", by="eve"
        )
    assert amendments.list_amendments(repo) == []
