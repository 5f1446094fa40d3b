"""The API refuses a reference to nothing, as `chartkeeper import` does, and stores nothing."""

from __future__ import annotations

import json

FHIR = {"Content-Type": "application/fhir+json"}


def _observation(subject: str, **extra) -> dict:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "pulse"},
        "subject": {"reference": subject},
        **extra,
    }


def test_create_and_update_refuse_a_dangling_reference(client, him):
    refused = client.post(
        "/fhir/Observation", json=_observation("Patient/nobody"), headers=him | FHIR
    )
    assert refused.status_code == 400, refused.text
    outcome = refused.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "Patient/nobody" in refused.text and "points to nothing" in refused.text
    assert "subject" in json.dumps(outcome["issue"])  # where, as import says it
    assert client.get("/fhir/Observation", headers=him).json().get("total", 0) == 0

    patient = client.post("/fhir/Patient", json={"resourceType": "Patient"}, headers=him | FHIR)
    pid = patient.json()["id"]
    made = client.post("/fhir/Observation", json=_observation(f"Patient/{pid}"), headers=him | FHIR)
    assert made.status_code == 201, made.text
    body = made.json() | {"performer": [{"reference": "Practitioner/ghost"}]}
    put = client.put(f"/fhir/Observation/{body['id']}", json=body, headers=him | FHIR)
    assert put.status_code == 400 and "Practitioner/ghost" in put.text
    stored = client.get(f"/fhir/Observation/{body['id']}", headers=him).json()
    assert stored["meta"]["versionId"] == "1" and "performer" not in stored


def test_contained_absolute_and_self_references_are_not_checked(client, him):
    body = {
        "resourceType": "Patient",
        "id": "self-ref",
        "contained": [{"resourceType": "Organization", "id": "o", "name": "Clinic"}],
        "managingOrganization": {"reference": "#o"},
        "link": [{"other": {"reference": "Patient/self-ref"}, "type": "seealso"}],
        "generalPractitioner": [{"reference": "http://elsewhere.example/fhir/Practitioner/1"}],
    }
    put = client.put("/fhir/Patient/self-ref", json=body, headers=him | FHIR)
    assert put.status_code == 201, put.text
