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


def _png(page) -> bytes:
    import io

    out = io.BytesIO()
    page.save(out, format="PNG")
    return out.getvalue()


def test_scan_index_search_and_misfile_over_http(client, repo, him, sign_in, monkeypatch):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "paper"))
    import scan_batch

    from chartkeeper.paper import scanning

    monkeypatch.setattr(scanning, "ocr", lambda page: "Assessment: sarcoidosis")  # fast
    scan_batch.patient(repo, "p1", "Okafor")
    scan_batch.patient(repo, "p2", "Lindqvist")
    coder = sign_in("coder")
    body = {"patient": "p1", "encounter": "p1-e1", "types": ["11506-3"]}
    assert client.post("/paper/cover-sheets", json=body, headers=coder).status_code == 403
    sheet = client.post("/paper/cover-sheets", json=body, headers=him)
    assert sheet.status_code == 200 and sheet.content.startswith(b"%PDF")
    (cover,) = scanning.read_pages("cover.pdf", sheet.content)
    files = [
        ("file", ("0-loose.png", _png(scan_batch.text_page(["loose page"])), "image/png")),
        ("file", ("1-cover.png", _png(cover), "image/png")),
        ("file", ("2-page.png", _png(scan_batch.text_page(["Assessment"])), "image/png")),
        ("file", ("3-bad.pdf", b"%PDF-1.4 broken", "application/pdf")),
    ]
    done = client.post("/paper/scans", files=files, headers=him)
    assert done.status_code == 200, done.text
    result = done.json()
    assert [e["source"] for e in result["errors"]] == ["3-bad.pdf"]
    (doc,) = result["documents"]
    assert doc["patient_id"] == "p1"
    (queued,) = client.get("/paper/queue", headers=him).json()
    image = client.get(f"/paper/pages/{queued['id']}/image", headers=him)
    assert image.headers["content-type"] == "image/png"
    found = client.get("/paper/documents?content=SARCOIDOSIS", headers=him).json()
    assert {d["id"] for d in found} == {doc["id"]}
    assigned = client.post(
        "/paper/queue/assign",
        json={"pages": [queued["id"]], "patient": "p2", "type": "51851-4"},
        headers=him,
    )
    assert assigned.status_code == 200, assigned.text
    moved = client.post(
        f"/paper/documents/{doc['id']}/move",
        json={"patient": "p2", "encounter": "p2-e1", "reason": "wrong chart"},
        headers=him,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["to_patient"] == "p2"
    assert client.get("/fhir/DocumentReference/" + doc["id"], headers=him).json()["subject"] == {
        "reference": "Patient/p2"
    }
    (misfile,) = client.get("/paper/misfiles", headers=him).json()
    assert misfile["document_id"] == doc["id"]
    held = client.post(
        "/paper/holds/cases",
        json={"case": "CV-5", "patients": ["p1", "p2"], "reason": "lawsuit"},
        headers=him,
    )
    assert held.status_code == 201 and len(held.json()) == 2
    assert len(client.get("/paper/holds?case=CV-5", headers=him).json()) == 2
    gone = client.post("/paper/holds/cases/CV-5/release", json={"reason": "settled"}, headers=him)
    assert gone.status_code == 200 and len(gone.json()) == 2
    for method, path, payload in [
        ("post", "/paper/scans", None),
        ("post", "/paper/queue/assign", {"pages": ["x"], "patient": "p1", "type": "11506-3"}),
        ("post", "/paper/queue/assign", {"pages": [999], "patient": "p1", "type": "11506-3"}),
        ("post", "/paper/cover-sheets", {"patient": "ghost", "types": ["11506-3"]}),
        ("post", "/paper/cover-sheets", {"patient": "p1", "types": ["0-0"]}),
        ("post", f"/paper/documents/{doc['id']}/move", {"patient": "ghost", "reason": "x"}),
        ("post", "/paper/holds/cases", {"case": "CV-6", "patients": [], "reason": "x"}),
        ("post", "/paper/holds/cases/CV-404/release", {"reason": "x"}),
        ("get", "/paper/pages/999/image", None),
        ("get", "/paper/documents?content=%20", None),
    ]:
        kw = {"json": payload} if payload is not None else {}
        answer = getattr(client, method)(path, headers=him, **kw)
        assert 400 <= answer.status_code < 500, (path, answer.text)
        assert answer.json()["resourceType"] == "OperationOutcome"
