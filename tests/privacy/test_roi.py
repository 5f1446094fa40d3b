"""Release of information (45 CFR 164.508, 164.524, 164.528): a request is validated against
its authorization, fulfilled with only what that covers, recorded, audited and accounted for.

The chart is made here by hand (no generator): one patient with visits in 2019 and 2024,
a note, and records labelled HIV, substance use (42 CFR Part 2) and psychotherapy notes.
"""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta

import pytest
from pypdf import PdfReader

from chartkeeper.errors import BadRequest, Conflict, Forbidden
from chartkeeper.fhir.validation import validate
from chartkeeper.privacy import audit, disclosures
from chartkeeper.privacy.access import UserGuard
from chartkeeper.privacy.disclosures import Refused
from chartkeeper.privacy.packet import PART2_NOTICE, STANDING_NOTE
from chartkeeper.privacy.policy import ACT_CODE
from chartkeeper.privacy.users import User

KEY = audit.AuditKey(b"test key, not a secret")
PATIENT = "p1"
NAME = "Rosalind Quist"
TODAY = date.today()
EVERYTHING_2024 = {"types": ["*"], "start": "2024-01-01", "end": "2024-12-31"}


def _day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def _note(rid: str, text: str, day: str, label: str | None = None) -> dict:
    doc = {
        "resourceType": "DocumentReference",
        "id": rid,
        "status": "current",
        "subject": {"reference": f"Patient/{PATIENT}"},
        "date": f"{day}T10:00:00Z",
        "type": {"text": "Progress note"},
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain",
                    "data": base64.b64encode(text.encode()).decode(),
                }
            }
        ],
    }
    if label:
        doc["meta"] = {"security": [{"system": ACT_CODE, "code": label}]}
    return doc


def _observation(rid: str, text: str, value: float, day: str, label: str | None = None) -> dict:
    obs = {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"text": text},
        "subject": {"reference": f"Patient/{PATIENT}"},
        "effectiveDateTime": day,
        "valueQuantity": {"value": value, "unit": "mmol/L"},
    }
    if label:
        obs["meta"] = {"security": [{"system": ACT_CODE, "code": label}]}
    return obs


CHART = [
    {
        "resourceType": "Patient",
        "id": PATIENT,
        "name": [{"given": ["Rosalind"], "family": "Quist"}],
        "birthDate": "1971-04-02",
        "gender": "female",
    },
    {
        "resourceType": "Encounter",
        "id": "e2024",
        "status": "finished",
        "class": {"code": "AMB", "display": "ambulatory"},
        "subject": {"reference": f"Patient/{PATIENT}"},
        "period": {"start": "2024-03-01T09:00:00Z", "end": "2024-03-01T10:00:00Z"},
    },
    {
        "resourceType": "Encounter",
        "id": "e2019",
        "status": "finished",
        "class": {"code": "AMB"},
        "subject": {"reference": f"Patient/{PATIENT}"},
        "period": {"start": "2019-01-10T09:00:00Z"},
    },
    {
        "resourceType": "Condition",
        "id": "c1",
        "code": {"text": "Type 2 diabetes mellitus"},
        "subject": {"reference": f"Patient/{PATIENT}"},
        "onsetDateTime": "2024-03-01",
    },
    _observation("glucose", "Fasting glucose", 7.9, "2024-03-02"),
    _observation("hiv", "HIV-1 viral load", 40, "2024-03-03", "HIV"),
    _note("note", "Patient reports sleeping better since March.", "2024-03-05"),
    _note("part2", "Methadone maintenance dose reviewed.", "2024-03-06", "ETH"),
    _note("psy", "Psychotherapy session: explored grief.", "2024-03-07", "PSYTHPN"),
    {**_note("auth", "I authorize release...", _day(-10)), "type": {"text": "Authorization"}},
]


@pytest.fixture
def clerk(repo):
    """The HIM clerk's view of a store holding the chart."""
    audit.open_trail(repo.engine, KEY)
    with repo.transaction() as tx:
        for res in CHART:
            tx.update(res)
    return repo.guarded(UserGuard(repo.engine, KEY, User("clerk", "him"), purpose="HOPERAT"))


def spec(**changes) -> dict:
    """A request that validates: an insurer asks for 2024's conditions and observations."""
    auth = {
        "reference": "DocumentReference/auth",
        "signed": _day(-10),
        "expires": _day(365),
        "covers": {
            "types": ["Condition", "Observation"],
            "start": "2024-01-01",
            "end": "2024-12-31",
        },
    }
    auth.update(changes.pop("authorization", {}))
    base = {
        "patient": PATIENT,
        "purpose": "insurance",
        "requester": {"name": "Ann Lee", "organization": "Acme Life", "address": "1 Main St"},
        "authorization": auth,
        "asked": {
            "types": ["Condition", "Observation"],
            "start": "2024-01-01",
            "end": "2024-12-31",
        },
    }
    return {**base, **changes}


def validated(clerk, **changes) -> int:
    req = disclosures.log_request(clerk, spec(**changes), by="clerk")
    return disclosures.validate_request(clerk, req.id, by="clerk").id


def fulfilled(clerk, tmp_path, **changes) -> disclosures.Fulfilment:
    return disclosures.fulfil(clerk, validated(clerk, **changes), by="clerk", out_dir=tmp_path)


def _refs(bundle: dict) -> set[str]:
    return {
        f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in bundle["entry"][1:]  # entry 0 is the cover note
    }


def _pdf_text(path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


# --- the happy path ------------------------------------------------------------------------


def test_request_moves_logged_validated_fulfilled_with_stamps(clerk, tmp_path):
    req = disclosures.log_request(clerk, spec(), by="ann")
    assert (req.status, req.logged_by) == ("logged", "ann") and req.logged
    req = disclosures.validate_request(clerk, req.id, by="bob")
    assert (req.status, req.validated_by) == ("validated", "bob") and req.validated
    done = disclosures.fulfil(clerk, req.id, by="cy", out_dir=tmp_path)
    assert (done.request.status, done.request.fulfilled_by) == ("fulfilled", "cy")
    assert done.request.fulfilled and done.request.packet == str(done.pdf)
    assert _refs(done.bundle) == {"Condition/c1", "Observation/glucose"}
    validate(done.bundle)  # a structurally valid FHIR document Bundle
    cover = done.bundle["entry"][0]["resource"]
    assert done.bundle["type"] == "document" and cover["resourceType"] == "Composition"
    record = done.record
    assert (record.recipient_name, record.recipient_address) == ("Ann Lee, Acme Life", "1 Main St")
    assert record.request_id == req.id and record.disclosed_by == "cy"
    assert set(record.resources) == {"Condition/c1/_history/1", "Observation/glucose/_history/1"}
    assert "1 Condition, 1 Observation" in record.description


def test_the_pdf_names_the_patient_and_renders_each_record(clerk, tmp_path):
    done = fulfilled(
        clerk,
        tmp_path,
        authorization={"covers": {"types": ["*"], "start": "2024-01-01", "end": "2024-12-31"}},
        asked={"types": ["*"], "start": "2024-01-01", "end": "2024-12-31"},
    )
    text = _pdf_text(done.pdf)
    assert NAME in text and "1971-04-02" in text and "Acme Life" in text
    assert "Fasting glucose" in text and "7.9 mmol/L" in text  # an observation's value
    assert "Patient reports sleeping better since March." in text  # a note, decoded
    assert "Type 2 diabetes mellitus" in text and "ambulatory" in text
    assert "Methadone" not in text and "grief" not in text and "HIV-1" not in text


def test_every_disclosure_is_audited_in_its_transaction(repo, clerk, tmp_path):
    first = fulfilled(clerk, tmp_path)
    second = fulfilled(clerk, tmp_path, purpose="legal")
    rows = audit.entries(repo.engine, action="disclosure")
    assert len(rows) == 2
    assert all(r["username"] == "clerk" and r["patients"] == f'["{PATIENT}"]' for r in rows)
    assert f"disclosure {second.record.id}" in rows[0]["detail"]
    assert f"disclosure {first.record.id}" in rows[1]["detail"]
    assert '"Observation/glucose"' in rows[0]["resources"]
    assert audit.verify(repo.engine, KEY) == []


def test_a_disclosure_that_cannot_be_audited_is_refused(repo, clerk, tmp_path):
    request_id = validated(clerk)
    with pytest.raises(Forbidden, match="audited"):
        disclosures.fulfil(repo, request_id, by="clerk", out_dir=tmp_path)


def test_roles_other_than_him_cannot_do_roi_work(repo, clerk):
    coder = repo.guarded(UserGuard(repo.engine, KEY, User("cody", "coder")))
    with pytest.raises(Forbidden):
        disclosures.log_request(coder, spec(), by="cody")
    assert audit.entries(repo.engine)[0]["outcome"] == "denied"


# --- what validation refuses ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"authorization": {"expires": _day(-1)}}, f"expired on {_day(-1)}"),
        ({"authorization": {"signed": None}}, "has not been signed"),
        ({"authorization": {"signed": _day(3)}}, "a date to come"),
        ({"authorization": {"expires": None}}, "164.508(c)(1)(v)"),
        ({"authorization": {"reference": "Consent/none"}}, "Consent/none is not on file"),
        ({"requester": {"name": "Ann Lee"}}, "requester.address: missing"),
        ({"asked": {}}, "asked: missing"),
        ({"authorization": {"covers": {}}}, "authorization.covers: missing"),
        ({"asked": {"types": ["Condition", "Encounter"]}}, "resource type Encounter"),
        ({"asked": {**EVERYTHING_2024}}, "resource type any"),
        (
            {"asked": {"types": ["Condition"], "start": "2023-06-01", "end": "2024-02-01"}},
            "dates before 2024-01-01",
        ),
        ({"asked": {"types": ["Condition"]}}, "dates before 2024-01-01"),
        ({"asked": {"items": ["Encounter/e2019"]}}, "Encounter/e2019 (type Encounter"),
        ({"asked": {"items": ["Observation/nope"]}}, "not in this patient's record"),
        (
            {"authorization": {"sensitive": ["HIV", "PSYTHPN"]}},
            "psychotherapy notes need an authorization of their own",
        ),
    ],
    ids=[
        "expired",
        "unsigned",
        "signed-in-future",
        "no-expiry",
        "not-on-file",
        "no-address",
        "asks-nothing",
        "covers-nothing",
        "type-outside",
        "all-types",
        "dates-outside",
        "open-start",
        "item-outside",
        "item-elsewhere",
        "psychotherapy-combined",
    ],
)
def test_validation_refuses_and_names_the_problem(clerk, changes, expected):
    req = disclosures.log_request(clerk, spec(**changes), by="clerk")
    with pytest.raises(Refused, match="cannot be validated") as refused:
        disclosures.validate_request(clerk, req.id, by="clerk")
    assert expected in str(refused.value)
    assert disclosures.get_request(clerk, req.id).status == "logged"


def test_dates_out_of_range_name_both_ends(clerk):
    changes = {"asked": {"types": ["Condition"], "start": "2020-01-01", "end": "2025-06-30"}}
    req = disclosures.log_request(clerk, spec(**changes), by="clerk")
    with pytest.raises(Refused) as refused:
        disclosures.validate_request(clerk, req.id, by="clerk")
    paths = [(i.path, i.problem) for i in refused.value.issues]
    assert ("asked", "outside the authorization: dates before 2024-01-01") in paths
    assert ("asked", "outside the authorization: dates after 2024-12-31") in paths


@pytest.mark.parametrize(
    "bad",
    [
        {"purpose": "curiosity"},
        {"patient": ""},
        {"asked": {"start": "last spring"}},
        {"asked": {"types": ["Condition"], "start": "20240101"}},
        {"asked": {"types": "Condition"}},
        {"asked": {"types": ["Conditions"]}},
        {"asked": ["Condition"]},
        {"requester": "Ann Lee"},
        {"authorization": {"sensitive": ["GOSSIP"]}},
        {"authorization": {"reference": "Patient/p1"}},
    ],
)
def test_a_malformed_request_is_not_logged(clerk, bad):
    with pytest.raises(BadRequest):
        disclosures.log_request(clerk, spec(**bad), by="clerk")
    assert disclosures.list_requests(clerk) == []


def test_an_authorization_that_expires_before_fulfilment_is_refused(clerk, tmp_path):
    request_id = validated(clerk)
    later = _day(400)
    with pytest.raises(Refused, match="expired"):
        disclosures.fulfil(clerk, request_id, by="clerk", out_dir=tmp_path, today=later)
    assert disclosures.get_request(clerk, request_id).status == "validated"


# --- sensitive records ---------------------------------------------------------------------


def test_sensitive_records_are_withheld_without_explicit_authorization(clerk, tmp_path):
    done = fulfilled(
        clerk, tmp_path, authorization={"covers": EVERYTHING_2024}, asked=EVERYTHING_2024
    )
    refs = _refs(done.bundle)
    assert {"Observation/hiv", "DocumentReference/part2", "DocumentReference/psy"}.isdisjoint(refs)
    assert {"Patient/p1", "Encounter/e2024", "DocumentReference/note"} <= refs
    withheld = {w.ref: w for w in done.request.withheld}
    assert (
        withheld["Observation/hiv"].sensitive and "HIV/AIDS" in withheld["Observation/hiv"].reason
    )
    assert "42 CFR 2.31" in withheld["DocumentReference/part2"].reason
    assert "164.508(a)(2)" in withheld["DocumentReference/psy"].reason
    # The outgoing cover note does not say which sensitive records exist: a standing note.
    cover = str(done.bundle["entry"][0])
    assert not any(ref in cover for ref in ("Observation/hiv", "/part2", "/psy"))
    assert STANDING_NOTE in cover and PART2_NOTICE not in cover


def test_sensitive_records_go_out_when_the_authorization_names_them(clerk, tmp_path):
    auth = {"covers": EVERYTHING_2024, "sensitive": ["ETH", "HIV"]}
    done = fulfilled(clerk, tmp_path, authorization=auth, asked=EVERYTHING_2024)
    refs = _refs(done.bundle)
    assert {"Observation/hiv", "DocumentReference/part2"} <= refs
    assert "DocumentReference/psy" not in refs
    assert PART2_NOTICE in str(done.bundle["entry"][0])  # 42 CFR 2.32 goes with Part 2 records
    text = _pdf_text(done.pdf)
    assert "Methadone maintenance dose reviewed." in text and PART2_NOTICE in text


def test_psychotherapy_notes_only_under_their_own_authorization(clerk, tmp_path):
    notes = {"types": ["DocumentReference"], "start": "2024-01-01", "end": "2024-12-31"}
    done = fulfilled(
        clerk, tmp_path, authorization={"covers": notes, "sensitive": ["PSYTHPN"]}, asked=notes
    )
    assert _refs(done.bundle) == {"DocumentReference/psy"}
    reasons = {w.ref: w.reason for w in done.request.withheld}
    assert "164.508(b)(3)(ii)" in reasons["DocumentReference/note"]
    assert "Psychotherapy session: explored grief." in _pdf_text(done.pdf)


def test_named_items_and_one_gone_since_validation(clerk, tmp_path):
    auth = {"covers": {"items": ["Observation/glucose", "Condition/c1"]}}
    asked = {"items": ["Observation/glucose", "Condition/c1"]}
    request_id = validated(clerk, authorization=auth, asked=asked)
    with clerk.transaction() as tx:  # deleted after the request was validated
        tx.delete("Condition", "c1")
    done = disclosures.fulfil(clerk, request_id, by="clerk", out_dir=tmp_path)
    assert _refs(done.bundle) == {"Observation/glucose"}
    assert "Condition/c1: not in the record" in str(done.bundle["entry"][0])
    assert "Condition/c1: not in the record" in _pdf_text(done.pdf)


def test_nothing_to_disclose_is_refused_rather_than_sent_empty(clerk, tmp_path):
    only_hiv = {"items": ["Observation/hiv"]}
    request_id = validated(clerk, authorization={"covers": only_hiv}, asked=only_hiv)
    with pytest.raises(Refused, match="deny the request instead"):
        disclosures.fulfil(clerk, request_id, by="clerk", out_dir=tmp_path / "roi")
    assert disclosures.get_request(clerk, request_id).status == "validated"
    assert disclosures.accounting(clerk, PATIENT, include_exempt=True) == []


# --- state transitions ---------------------------------------------------------------------


def test_fulfil_before_validate_is_refused(clerk, tmp_path):
    req = disclosures.log_request(clerk, spec(), by="clerk")
    with pytest.raises(Conflict, match="is logged: only a validated request can be fulfilled"):
        disclosures.fulfil(clerk, req.id, by="clerk", out_dir=tmp_path / "roi")
    assert not (tmp_path / "roi").exists()


def test_deny_after_fulfil_and_validate_twice_are_refused(clerk, tmp_path):
    done = fulfilled(clerk, tmp_path)
    with pytest.raises(Conflict, match="is fulfilled"):
        disclosures.deny_request(clerk, done.request.id, reason="changed our mind", by="clerk")
    with pytest.raises(Conflict, match="is fulfilled"):
        disclosures.validate_request(clerk, done.request.id, by="clerk")
    with pytest.raises(Conflict, match="is fulfilled"):
        disclosures.fulfil(clerk, done.request.id, by="clerk", out_dir=tmp_path)


def test_denial_keeps_its_reason_and_closes_the_request(clerk, tmp_path):
    req = disclosures.log_request(clerk, spec(), by="clerk")
    with pytest.raises(BadRequest):
        disclosures.deny_request(clerk, req.id, reason="  ", by="dee")
    denied = disclosures.deny_request(clerk, req.id, reason="requester not identified", by="dee")
    assert (denied.status, denied.denied_by) == ("denied", "dee")
    assert denied.denial_reason == "requester not identified" and denied.denied
    with pytest.raises(Conflict, match="it is closed"):
        disclosures.validate_request(clerk, req.id, by="clerk")
    assert disclosures.list_requests(clerk, status="denied") == [denied]


def test_a_patients_own_request_shows_its_30_day_deadline(clerk):
    req = disclosures.log_request(clerk, spec(purpose="patient-request"), by="clerk")
    assert req.due == (date.fromisoformat(req.logged[:10]) + timedelta(days=30)).isoformat()
    assert disclosures.log_request(clerk, spec(), by="clerk").due is None


# --- the accounting of disclosures ---------------------------------------------------------

COURT = {"authorization": {"basis": "court-order", "expires": None}}


def test_accounting_lists_six_years_and_leaves_out_exempt_disclosures(repo, clerk, tmp_path):
    legal = fulfilled(clerk, tmp_path, purpose="legal", **COURT)
    fulfilled(clerk, tmp_path, purpose="patient-request")  # (a)(1)(ii): to the individual
    fulfilled(clerk, tmp_path, purpose="continuing-care")  # (a)(1)(i): treatment
    fulfilled(clerk, tmp_path, purpose="insurance")  # (a)(1)(iv): under an authorization
    listed = disclosures.accounting(repo, PATIENT)
    assert [r.id for r in listed] == [legal.record.id]
    assert listed[0].purpose == "legal proceedings" and listed[0].recipient_address == "1 Main St"
    log = disclosures.accounting(repo, PATIENT, include_exempt=True)
    assert len(log) == 4
    assert {r.exemption for r in log} == {
        None,
        "45 CFR 164.528(a)(1)(ii) to the individual",
        "45 CFR 164.528(a)(1)(i) treatment",
        "45 CFR 164.528(a)(1)(iv) pursuant to an authorization",
    }
    now = datetime.now(UTC)
    years = timedelta(days=365)
    assert disclosures.accounting(repo, PATIENT, as_of=now + 5 * years)
    assert disclosures.accounting(repo, PATIENT, as_of=now + 7 * years) == []
    assert disclosures.accounting(repo, PATIENT, as_of=now - timedelta(days=1)) == []
    assert disclosures.accounting(repo, "someone-else") == []
