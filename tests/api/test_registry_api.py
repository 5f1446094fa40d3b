"""/registry routes: who may use them, the casefinding-to-export path, bad input as 4xx."""

from __future__ import annotations

import base64

import pytest

from chartkeeper.registry import reference

pytestmark = pytest.mark.skipif(
    not (
        reference.available("icdo3", "primarySite.csv")
        and reference.available("naaccr", "naaccr-dictionary-260.xml")
    ),
    reason="ICD-O-3 / NAACCR reference files not present",
)

REPORT = (
    "FINAL DIAGNOSIS:\nA. PROSTATE, RADICAL PROSTATECTOMY:\n"
    "- PROSTATIC ADENOCARCINOMA, GLEASON SCORE 3+4=7. pT2 pN0\n"
)


@pytest.fixture
def registry_client(client, repo):
    repo.update(
        {
            "resourceType": "Patient",
            "id": "p1",
            "gender": "male",
            "birthDate": "1950-01-01",
            "name": [{"family": "Okafor", "given": ["Ben"]}],
        }
    )
    repo.update(
        {
            "resourceType": "Encounter",
            "id": "e1",
            "status": "finished",
            "class": {"code": "AMB"},
            "subject": {"reference": "Patient/p1"},
            "period": {"start": "2024-01-05T10:00:00Z", "end": "2024-01-05T11:00:00Z"},
        }
    )
    repo.update(
        {
            "resourceType": "DiagnosticReport",
            "id": "r1",
            "status": "final",
            "category": [{"coding": [{"code": "LP7839-6"}]}],
            "code": {"text": "Pathology"},
            "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": "2024-01-05",
            "presentedForm": [
                {"contentType": "text/plain", "data": base64.b64encode(REPORT.encode()).decode()}
            ],
        }
    )
    return client


def test_who_may_use_the_registry(registry_client, sign_in):
    assert registry_client.get("/registry/cases").status_code == 401
    assert registry_client.get("/registry/cases", headers=sign_in("coder")).status_code == 403
    assert registry_client.get("/registry/cases", headers=sign_in("registrar")).status_code == 200


def test_casefinding_to_naaccr_export(registry_client, sign_in):
    headers = sign_in("registrar")
    run = registry_client.post("/registry/casefinding", headers=headers).json()
    (case_id,) = run["new_cases"]
    (row,) = registry_client.get("/registry/cases", headers=headers).json()
    assert row["patient_name"] == "Okafor, Ben" and row["primary_site"] == "C61.9"
    accepted = registry_client.post(f"/registry/cases/{case_id}/accept", headers=headers).json()
    assert accepted["items"]["gradePathological"] == "2"  # Grade Group 2
    bad = registry_client.patch(
        f"/registry/cases/{case_id}/items", headers=headers, json={"noSuchItem": "1"}
    )
    assert bad.status_code == 400
    edited = registry_client.patch(
        f"/registry/cases/{case_id}/items", headers=headers, json={"sexAssignedAtBirth": "2"}
    ).json()
    assert [e["id"] for e in edited["edits"]] == ["CK007"]
    blocked = registry_client.post(f"/registry/cases/{case_id}/complete", headers=headers)
    assert blocked.status_code == 409
    registry_client.patch(
        f"/registry/cases/{case_id}/items", headers=headers, json={"sexAssignedAtBirth": "1"}
    )
    done = registry_client.post(f"/registry/cases/{case_id}/complete", headers=headers)
    assert done.json()["status"] == "complete"
    xml = registry_client.get("/registry/export.xml", headers=headers)
    assert xml.status_code == 200 and b"<Tumor>" in xml.content
    assert (
        registry_client.post("/registry/import", headers=headers, content=b"<nope").status_code
        == 400
    )
    again = registry_client.post("/registry/import", headers=headers, content=xml.content)
    assert again.json()["updated"] == [case_id]
    classified = registry_client.post(
        "/registry/classify", headers=headers, json={"text": REPORT}
    ).json()
    assert classified["primary_site"] == "C61.9"
    assert registry_client.post("/registry/classify", headers=headers, json={}).status_code == 400
    assert registry_client.get("/registry/cases/999", headers=headers).status_code == 404
    follow = registry_client.get("/registry/followup?today=2026-01-01", headers=headers).json()
    assert follow["rates"]["analytic_cases"] == 1
    assert registry_client.get("/registry/followup?today=bad", headers=headers).status_code == 400
