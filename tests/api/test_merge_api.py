"""Merging duplicate patients over HTTP: who may, what it changes, and undoing it."""

from __future__ import annotations


def _patient(client, headers, family: str) -> str:
    body = {"resourceType": "Patient", "name": [{"family": family}]}
    return client.post("/fhir/Patient", json=body, headers=headers).json()["id"]


def test_merge_repoints_and_unmerge_restores(client, him, sign_in):
    keep, dup = _patient(client, him, "Keep"), _patient(client, him, "Dup")
    enc = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"code": "AMB"},
        "subject": {"reference": f"Patient/{dup}"},
    }
    eid = client.post("/fhir/Encounter", json=enc, headers=him).json()["id"]
    body = {"source": dup, "survivor": keep, "reason": "same person, registered twice"}
    assert (
        client.post("/fhir/Patient/$merge", json=body, headers=sign_in("coder")).status_code == 403
    )
    merged = client.post("/fhir/Patient/$merge", json=body, headers=him)
    assert merged.status_code == 200, merged.text
    record = merged.json()
    assert f"Encounter/{eid}" in record["changed"]
    moved = client.get(f"/fhir/Encounter/{eid}", headers=him).json()
    assert moved["subject"]["reference"] == f"Patient/{keep}"
    assert client.get(f"/fhir/Patient/{dup}", headers=him).json()["active"] is False
    listed = client.get(f"/merges?patient={keep}", headers=him).json()
    assert [m["id"] for m in listed] == [record["id"]]
    undo = client.post(
        f"/merges/{record['id']}/$unmerge", json={"reason": "not the same person"}, headers=him
    )
    assert undo.status_code == 200 and undo.json()["unmerged"]
    back = client.get(f"/fhir/Encounter/{eid}", headers=him).json()
    assert back["subject"]["reference"] == f"Patient/{dup}"
    again = client.post(f"/merges/{record['id']}/$unmerge", json={"reason": "twice"}, headers=him)
    assert again.status_code == 409


def test_merge_refuses_bad_requests(client, him):
    pid = _patient(client, him, "Solo")
    assert client.post("/fhir/Patient/$merge", json={"source": pid}, headers=him).status_code == 400
    same = {"source": pid, "survivor": pid, "reason": "oops"}
    assert client.post("/fhir/Patient/$merge", json=same, headers=him).status_code == 422
    gone = {"source": "nobody", "survivor": pid, "reason": "oops"}
    assert client.post("/fhir/Patient/$merge", json=gone, headers=him).status_code == 404
