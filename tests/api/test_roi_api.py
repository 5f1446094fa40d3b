"""The /roi routes: HIM work only (him, admin; everyone else 403), errors as OperationOutcome,
and the same rules as the domain functions they sit on."""

from __future__ import annotations

import base64
from datetime import date, timedelta

import pytest

from chartkeeper.privacy import audit

TODAY = date.today()
CHART = [
    {"resourceType": "Patient", "id": "p9", "name": [{"text": "Maren Ostby"}]},
    {
        "resourceType": "Condition",
        "id": "c9",
        "code": {"text": "Asthma"},
        "subject": {"reference": "Patient/p9"},
        "onsetDateTime": "2024-02-01",
    },
    {
        "resourceType": "DocumentReference",
        "id": "auth9",
        "status": "current",
        "subject": {"reference": "Patient/p9"},
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain",
                    "data": base64.b64encode(b"signed court order").decode(),
                }
            }
        ],
    },
]
SPEC = {
    "patient": "p9",
    "purpose": "legal",
    "requester": {"name": "Clerk of Court", "organization": "County Court", "address": "3 Hall"},
    "authorization": {
        "reference": "DocumentReference/auth9",
        "basis": "court-order",
        "signed": (TODAY - timedelta(days=2)).isoformat(),
        "covers": {"types": ["Condition"]},
    },
    "asked": {"types": ["Condition"]},
}
OTHERS = ("clinician", "coder", "registrar", "auditor")


@pytest.fixture
def api(client, repo):
    """The client, with a chart stored."""
    with repo.transaction() as tx:
        for res in CHART:
            tx.update(res)
    return client


def _outcome(answer, status: int, code: str) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == code
    return body["issue"][0]["diagnostics"]


@pytest.mark.parametrize("role", OTHERS)
def test_other_roles_are_refused_every_roi_route(api, sign_in, role):
    headers = sign_in(role)
    calls = [
        ("POST", "/roi/requests", SPEC),
        ("GET", "/roi/requests", None),
        ("POST", "/roi/requests/1/fulfil", None),
        ("GET", "/roi/accounting/p9", None),
        ("POST", "/roi/amendments", {"resource": "Condition/c9"}),
        ("POST", "/roi/amendments/1/deny", {"reason": "no"}),
    ]
    for method, path, body in calls:
        answer = api.request(method, path, json=body, headers=headers)
        _outcome(answer, 403, "forbidden")


def test_anonymous_callers_are_asked_to_sign_in(api):
    for method, path in (("GET", "/roi/requests/x1"), ("POST", "/roi/amendments/x1/accept")):
        _outcome(api.request(method, path, json={}), 401, "login")


@pytest.mark.parametrize("role", ["him", "admin"])
def test_him_and_admin_log_validate_fulfil_and_account(api, sign_in, repo, role):
    headers = sign_in(role)
    made = api.post("/roi/requests", json=SPEC, headers=headers)
    assert made.status_code == 201, made.text
    request_id = made.json()["id"]
    assert made.json()["status"] == "logged" and made.json()["logged_by"] == role
    # The ROI worklist names the patient beside the id (issue 9 item 7).
    [row] = api.get("/roi/requests", headers=headers).json()
    assert row["patient_id"] == "p9" and row["patient_name"] == "Maren Ostby"
    checked = api.post(f"/roi/requests/{request_id}/validate", headers=headers)
    assert checked.json()["status"] == "validated", checked.text
    done = api.post(f"/roi/requests/{request_id}/fulfil", headers=headers)
    assert done.status_code == 200 and done.headers["content-type"] == "application/fhir+json"
    bundle = done.json()
    assert bundle["type"] == "document"
    assert [e["resource"]["id"] for e in bundle["entry"][1:]] == ["c9"]
    assert bundle["entry"][1]["fullUrl"].endswith("/fhir/Condition/c9")
    again = api.get(f"/roi/requests/{request_id}/packet", headers=headers)
    assert again.json() == bundle
    pdf = api.get(f"/roi/requests/{request_id}/packet.pdf", headers=headers)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    listed = api.get("/roi/accounting/p9", headers=headers).json()
    assert [r["request_id"] for r in listed] == [request_id]
    assert listed[0]["recipient_name"] == "Clerk of Court, County Court"
    assert api.get("/roi/requests?patient=p9&status=fulfilled", headers=headers).json()
    (disclosed,) = audit.entries(repo.engine, action="disclosure")
    assert disclosed["purpose"] == "HLEGAL" and disclosed["username"] == role


def test_rule_and_state_errors_are_operation_outcomes(api, him):
    expired = {**SPEC, "authorization": {**SPEC["authorization"], "expires": "2020-01-01"}}
    request_id = api.post("/roi/requests", json=expired, headers=him).json()["id"]
    problem = _outcome(
        api.post(f"/roi/requests/{request_id}/validate", headers=him), 422, "business-rule"
    )
    assert "expired on 2020-01-01" in problem
    problem = _outcome(api.post(f"/roi/requests/{request_id}/fulfil", headers=him), 409, "conflict")
    assert "validate it first" in problem
    denied = api.post(f"/roi/requests/{request_id}/deny", json={"reason": "expired"}, headers=him)
    assert denied.json()["denial_reason"] == "expired"
    _outcome(api.post(f"/roi/requests/{request_id}/deny", json={}, headers=him), 400, "invalid")
    _outcome(api.get("/roi/requests/999", headers=him), 404, "not-found")
    _outcome(api.post("/roi/requests", json={"purpose": "gossip"}, headers=him), 400, "invalid")
    _outcome(api.get(f"/roi/requests/{request_id}/packet.pdf", headers=him), 404, "not-found")
    _outcome(api.get("/roi/accounting/p9?as_of=yesterday", headers=him), 400, "invalid")


def test_amendments_over_http(api, him, repo):
    made = api.post(
        "/roi/amendments",
        json={
            "resource": "Condition/c9",
            "change": "It is exercise-induced only.",
            "requested_by": "Maren Ostby",
            "proposed": {**CHART[1], "code": {"text": "Exercise-induced asthma"}},
        },
        headers=him,
    )
    assert made.status_code == 201, made.text
    item = made.json()
    assert item["status"] == "requested" and item["due"] and item["overdue"] is False
    extended = api.post(f"/roi/amendments/{item['id']}/extend", json={"reason": "x"}, headers=him)
    assert extended.json()["extended_by"] == "him"
    accepted = api.post(f"/roi/amendments/{item['id']}/accept", json={}, headers=him)
    assert accepted.json()["new_version"] == 2, accepted.text
    assert repo.read("Condition", "c9")["code"]["text"] == "Exercise-induced asthma"
    second = api.post(
        "/roi/amendments",
        json={"resource": "Condition/c9", "change": "Remove it.", "requested_by": "Maren"},
        headers=him,
    ).json()
    api.post(f"/roi/amendments/{second['id']}/deny", json={"reason": "accurate"}, headers=him)
    stated = api.post(
        f"/roi/amendments/{second['id']}/disagree", json={"statement": "I disagree."}, headers=him
    )
    assert stated.json()["include_in_disclosures"] is True
    rebutted = api.post(
        f"/roi/amendments/{second['id']}/rebut", json={"rebuttal": "Reviewed."}, headers=him
    )
    assert rebutted.json()["rebuttal"] == "Reviewed."
    late = api.post(f"/roi/amendments/{second['id']}/accept", json={}, headers=him)
    _outcome(late, 409, "conflict")
    listed = api.get("/roi/amendments?patient=p9", headers=him).json()
    assert [a["status"] for a in listed] == ["accepted", "denied"]
