"""The /deficiencies routes: the worklist for him, clinician and admin (everyone else 403,
anonymous 401), reassignment and notes, the report and the ageing chart."""

from __future__ import annotations

import pytest

from chartkeeper.quality import deficiencies as dq
from chartkeeper.store import PutItem

PATIENT = {
    "resourceType": "Patient",
    "id": "p7",
    "name": [{"family": "Lund"}],
    "gender": "female",
    "birthDate": "1970-01-01",
}  # no address: one demographics deficiency, in the HIM pool
NOTE = {
    "resourceType": "DocumentReference",
    "id": "n7",
    "status": "current",
    "docStatus": "preliminary",
    "subject": {"reference": "Patient/p7"},
    "date": "2025-01-02T10:00:00Z",
    "author": [{"reference": "Practitioner/dr7"}],
    "content": [{"attachment": {"contentType": "text/plain", "data": "dGV4dA=="}}],
}  # unsigned for a year: assigned to its author


@pytest.fixture
def api(client, repo):
    """The client, with one chart stored."""
    with repo.transaction() as tx:
        written = tx.put_many([PutItem(PATIENT), PutItem(NOTE)])
        dq.on_write(tx, [w.resource for w in written])
    return client


def test_anonymous_callers_are_asked_to_sign_in(api):
    for method, path in (
        ("GET", "/deficiencies"),
        ("GET", "/deficiencies/1"),
        ("POST", "/deficiencies/1/assign"),
        ("POST", "/deficiencies/1/notes"),
        ("GET", "/deficiencies/ageing.png"),
    ):
        assert api.request(method, path, json={}).status_code == 401


@pytest.mark.parametrize("role", ["coder", "registrar", "auditor"])
def test_other_roles_are_refused(api, sign_in, role):
    headers = sign_in(role)
    for method, path, body in (
        ("GET", "/deficiencies", None),
        ("GET", "/deficiencies/1", None),
        ("POST", "/deficiencies/1/assign", {"assignee": "x"}),
        ("POST", "/deficiencies/1/notes", {"text": "x"}),
        ("GET", "/deficiencies/report", None),
    ):
        answer = api.request(method, path, json=body, headers=headers)
        assert answer.status_code == 403, (method, path, answer.text)
        assert answer.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("role", ["him", "clinician", "admin"])
def test_worklist_roles_list_read_reassign_and_note(api, sign_in, role):
    headers = sign_in(role)
    listed = api.get("/deficiencies", headers=headers)
    assert listed.status_code == 200, listed.text
    assert {d["rule_id"] for d in listed.json()} == {"note-unsigned", "demographics-missing"}
    mine = api.get("/deficiencies?assignee=Practitioner/dr7&patient=p7", headers=headers).json()
    [unsigned] = mine
    assert unsigned["status"] == "open" and unsigned["age_days"] > 300
    pool = api.get("/deficiencies?assignee=unassigned", headers=headers).json()
    assert [d["rule_id"] for d in pool] == ["demographics-missing"]

    one = api.get(f"/deficiencies/{unsigned['id']}", headers=headers)
    assert one.status_code == 200 and one.json()["resource"] == "DocumentReference/n7"
    moved = api.post(
        f"/deficiencies/{unsigned['id']}/assign",
        json={"assignee": "Practitioner/dr8", "reason": "dr7 on leave"},
        headers=headers,
    )
    assert moved.status_code == 200 and moved.json()["assignee"] == "Practitioner/dr8"
    noted = api.post(
        f"/deficiencies/{unsigned['id']}/notes", json={"text": "query sent"}, headers=headers
    )
    assert [n["kind"] for n in noted.json()["notes"]] == ["reassign", "note"]
    assert noted.json()["notes"][1]["by"] == role
    assert api.get("/deficiencies?status=closed", headers=headers).json() == []


def test_fix_written_through_the_store_closes_it(api, him, repo):
    with repo.transaction() as tx:
        signed = {**NOTE, "docStatus": "final", "authenticator": {"reference": "Practitioner/dr7"}}
        written = tx.put_many([PutItem(signed)])
        dq.on_write(tx, [w.resource for w in written])
    closed = api.get("/deficiencies?status=closed", headers=him).json()
    assert [(d["rule_id"], d["closed_reason"]) for d in closed] == [("note-unsigned", "fixed")]


def test_report_chart_reevaluate_and_errors(api, him):
    numbers = api.get("/deficiencies/report", headers=him)
    assert numbers.status_code == 200 and numbers.json()["open"] == 2
    chart = api.get("/deficiencies/ageing.png", headers=him)
    assert chart.headers["content-type"] == "image/png"
    assert chart.content.startswith(b"\x89PNG")
    again = api.post("/deficiencies/reevaluate", json={"target": "Patient/p7"}, headers=him)
    assert again.status_code == 200 and again.json()["failed"] == 2
    assert api.get("/deficiencies/999", headers=him).status_code == 404
    assert api.get("/deficiencies?status=maybe", headers=him).status_code == 400
    assert api.post("/deficiencies/1/notes", json={}, headers=him).status_code == 400
    assert api.post("/deficiencies/1/assign", json={}, headers=him).status_code == 400
    assert api.post("/deficiencies/reevaluate", json={}, headers=him).status_code == 400
