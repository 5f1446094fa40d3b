"""/paper routes: who may use them, a hold that survives a destruction run, bad input 4xx."""

from __future__ import annotations


def _old_record(repo) -> None:
    for pid in ("a", "b"):
        ref = {"reference": f"Patient/{pid}"}
        repo.update({"resourceType": "Patient", "id": pid, "birthDate": "1950-01-01"})
        repo.update(
            {
                "resourceType": "Encounter",
                "id": f"{pid}-e1",
                "status": "finished",
                "class": {"code": "AMB"},
                "subject": ref,
                "period": {"start": "2010-01-05T10:00:00Z", "end": "2010-01-05T11:00:00Z"},
            }
        )


def test_hold_blocks_destruction_over_http(client, repo, him, sign_in):
    _old_record(repo)
    assert client.get("/paper/retention", headers=sign_in("coder")).status_code == 403
    listed = client.get("/paper/retention?as_of=2025-06-01", headers=him).json()
    assert [g["patient_id"] for g in listed] == ["a", "b"]
    hold = client.post("/paper/holds", json={"patient": "b", "reason": "subpoena"}, headers=him)
    assert hold.status_code == 201, hold.text
    body = {"method": "electronic-purge", "as_of": "2025-06-01", "execute": True}
    done = client.post("/paper/destruction", json=body, headers=him).json()
    assert [g["patient_id"] for g in done["destroyed"]] == ["a"]
    cert = client.get(f"/paper/destruction/{done['certificate']}", headers=him).json()
    assert [r["id"] for g in cert["items"] for r in g["resources"]] == ["a-e1"]
    assert client.get("/fhir/Encounter/a-e1", headers=him).status_code == 410
    assert client.get("/fhir/Encounter/b-e1", headers=him).status_code == 200
    audit = client.get("/fhir/AuditEvent?_count=200", headers=him).text
    assert "paper-destruction" in audit and "paper-hold-place" in audit


def test_bad_input_is_a_clear_4xx(client, repo, him):
    _old_record(repo)
    for path, body in [
        ("/paper/holds", {"patient": "nobody", "reason": "x"}),
        ("/paper/holds", {"patient": "a"}),
        ("/paper/destruction", {"method": "burying"}),
        ("/paper/destruction", {"method": "shredding", "as_of": "soon"}),
        ("/paper/destruction", {"method": "shredding", "execute": "yes"}),
        ("/paper/holds/99/release", {"reason": "x"}),
        ("/paper/volumes", {"patient": "nobody", "location": "Shelf 1"}),
    ]:
        answer = client.post(path, json=body, headers=him)
        assert 400 <= answer.status_code < 500, (path, body, answer.text)
        assert answer.json()["resourceType"] == "OperationOutcome"


def test_chart_tracking_over_http(client, repo, him, sign_in):
    _old_record(repo)
    made = client.post("/paper/volumes", json={"patient": "a", "location": "Shelf 1"}, headers=him)
    assert made.status_code == 201, made.text
    code = made.json()["barcode"]
    move = {"to": "Dr Lee", "location": "Clinic 3", "due": "2999-01-01"}
    assert client.post(f"/paper/volumes/{code}/check-out", json=move, headers=him).is_success
    again = client.post(f"/paper/volumes/{code}/check-out", json=move, headers=him)
    assert again.status_code == 409
    late = client.get("/paper/volumes/overdue?today=2999-02-01", headers=him).json()
    assert [v["barcode"] for v in late] == [code]
    label = client.get(f"/paper/volumes/{code}/label", headers=him)
    assert label.headers["content-type"] == "application/pdf"
    back = {"location": "Shelf 1"}
    assert client.post(f"/paper/volumes/{code}/check-in", json=back, headers=him).is_success
    not_out = client.post(f"/paper/volumes/{code}/check-in", json=back, headers=him)
    assert not_out.status_code == 409 and "not out" in not_out.text
    moves = client.get(f"/paper/volumes/{code}", headers=him).json()["custody"]
    assert [m["action"] for m in moves] == ["create", "check-out", "check-in"]
    assert client.get(f"/paper/volumes/{code}", headers=sign_in("coder")).status_code == 403
    bad = client.post(f"/paper/volumes/{code}/lose", json=back, headers=him)
    assert bad.status_code == 400
    assert client.get("/paper/volumes/NOPE", headers=him).status_code == 404
