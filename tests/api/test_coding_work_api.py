"""/coding workflow routes: role checks (no token 401, auditor 403, coder 200), the queue,
suggestions, assigning codes, queries and productivity over HTTP."""

from __future__ import annotations

import base64

import pytest

from chartkeeper.store import PutItem

NOTE = "ASSESSMENT:\n1. Essential hypertension: continue lisinopril.\n2. Denies chest pain.\n"


@pytest.fixture
def app_data_dir(code_set_cache):
    return code_set_cache  # the code sets are parsed once per session, not per test


@pytest.fixture
def work_client(client, repo):
    """The app with one finished, signed visit ready to code."""
    with repo.transaction() as tx:
        tx.put_many(
            [
                PutItem(r)
                for r in [
                    {
                        "resourceType": "Patient",
                        "id": "p1",
                        "name": [{"family": "Okafor", "given": ["Ben"]}],
                        "birthDate": "1950-02-03",
                        "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": "M-1"}],
                    },
                    {"resourceType": "Practitioner", "id": "dr1", "name": [{"family": "Lee"}]},
                    {
                        "resourceType": "Encounter",
                        "id": "e1",
                        "status": "finished",
                        "class": {"code": "AMB"},
                        "subject": {"reference": "Patient/p1"},
                        "period": {"start": "2026-03-01T10:00:00Z", "end": "2026-03-01T11:00:00Z"},
                    },
                    {
                        "resourceType": "DocumentReference",
                        "id": "d1",
                        "status": "current",
                        "docStatus": "final",
                        "authenticator": {"reference": "Practitioner/dr1"},
                        "subject": {"reference": "Patient/p1"},
                        "content": [
                            {
                                "attachment": {
                                    "contentType": "text/plain",
                                    "data": base64.b64encode(NOTE.encode()).decode(),
                                }
                            }
                        ],
                        "context": {"encounter": [{"reference": "Encounter/e1"}]},
                    },
                ]
            ]
        )
    return client


def test_role_checks(work_client, sign_in):
    assert work_client.get("/coding/queue").status_code == 401
    for role, status in (("auditor", 403), ("registrar", 403), ("coder", 200), ("him", 200)):
        answer = work_client.get("/coding/queue", headers=sign_in(role))
        assert answer.status_code == status, (role, answer.text)
    clinician = sign_in("clinician")
    assert work_client.get("/coding/queue", headers=clinician).status_code == 403
    assert work_client.get("/coding/queries", headers=clinician).status_code == 200


def test_coding_an_encounter_over_http(work_client, sign_in):
    coder = sign_in("coder")
    queue = work_client.get("/coding/queue", headers=coder).json()
    assert [q["encounter_id"] for q in queue] == ["e1"]
    # Issue 9 item 7: the worklist names the patient beside the id.
    assert queue[0]["patient_id"] == "p1" and queue[0]["patient_name"] == "Okafor, Ben"
    assert (queue[0]["patient_mrn"], queue[0]["patient_birth_date"]) == ("M-1", "1950-02-03")
    found = work_client.get("/coding/encounters/e1/suggestions", headers=coder).json()
    by_code = {s["code"]: s for s in found["suggestions"]}
    assert by_code["I10"]["status"] == "suggested" and by_code["R07.9"]["status"] == "excluded"
    ev = by_code["I10"]["evidence"][0]
    assert NOTE[ev["start"] : ev["end"]] == ev["text"] == "Essential hypertension"

    asked = work_client.post(
        "/coding/queries",
        json={"encounter": "e1", "practitioner": "dr1", "question": "Stage of the CKD?"},
        headers=coder,
    )
    assert asked.status_code == 200, asked.text
    qid = asked.json()["id"]
    [listed] = work_client.get("/coding/queries", headers=coder).json()
    assert listed["practitioner"] == "Practitioner/dr1" and listed["practitioner_name"] == "Lee"
    assert listed["patient_name"] == "Okafor, Ben"
    clinician = sign_in("clinician")
    answered = work_client.post(
        f"/coding/queries/{qid}/answer", json={"answer": "Stage 3a."}, headers=clinician
    )
    assert answered.json()["status"] == "answered"

    done = work_client.post("/coding/encounters/e1/codes", json={"codes": ["I10"]}, headers=coder)
    assert done.status_code == 200, done.text
    assert done.json()["coder"] == "coder"
    assert work_client.get("/coding/queue", headers=coder).json() == []
    bad = work_client.post("/coding/encounters/e1/codes", json={"codes": ["XYZ"]}, headers=coder)
    assert bad.status_code == 400
    prod = work_client.get("/coding/productivity", headers=coder).json()
    assert prod["coders"]["coder"]["encounters"] == 1
    png = work_client.get("/coding/productivity.png", headers=coder)
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")
    assert work_client.get("/coding/dnfb", headers=coder).json()["count"] == 0
