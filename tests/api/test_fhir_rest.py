"""The FHIR REST interactions, their status codes and OperationOutcome errors."""

from __future__ import annotations

import time

FHIR = {"Content-Type": "application/fhir+json"}


def _patient(family: str = "Obi", **extra) -> dict:
    return {"resourceType": "Patient", "name": [{"family": family}], "gender": "female", **extra}


def _assert_outcome(answer, status: int, code: str, text: str = "") -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/fhir+json")
    body = answer.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == code
    assert text in answer.text


def test_create_read_update_with_etags(client, him):
    created = client.post("/fhir/Patient", json=_patient(), headers=him | FHIR)
    assert created.status_code == 201
    pid = created.json()["id"]
    assert created.headers["ETag"] == 'W/"1"'
    assert created.headers["Location"].endswith(f"/fhir/Patient/{pid}/_history/1")
    read = client.get(f"/fhir/Patient/{pid}", headers=him)
    assert read.json()["name"] == [{"family": "Obi"}] and read.headers["ETag"] == 'W/"1"'
    body = read.json() | {"gender": "male"}
    updated = client.put(f"/fhir/Patient/{pid}", json=body, headers=him | {"If-Match": 'W/"1"'})
    assert updated.status_code == 200 and updated.headers["ETag"] == 'W/"2"'
    stale = client.put(
        f"/fhir/Patient/{pid}", json=body | {"gender": "other"}, headers=him | {"If-Match": 'W/"1"'}
    )
    _assert_outcome(stale, 412, "conflict", "version 2, not 1")
    assert client.get(f"/fhir/Patient/{pid}", headers=him).json()["gender"] == "male"
    assert client.get(f"/fhir/Patient/{pid}/_history/1", headers=him).json()["gender"] == "female"
    history = client.get(f"/fhir/Patient/{pid}/_history", headers=him).json()
    assert history["type"] == "history" and [e["response"]["etag"] for e in history["entry"]] == [
        'W/"2"',
        'W/"1"',
    ]


def test_update_as_create_and_conditional_create(client, him):
    put = client.put("/fhir/Patient/chosen-id", json=_patient(id="chosen-id"), headers=him)
    assert put.status_code == 201
    body = _patient(identifier=[{"system": "urn:mrn", "value": "7"}])
    first = client.post(
        "/fhir/Patient", json=body, headers=him | {"If-None-Exist": "identifier=urn:mrn|7"}
    )
    again = client.post(
        "/fhir/Patient", json=body, headers=him | {"If-None-Exist": "identifier=urn:mrn|7"}
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    encoded = client.post(  # as a client URL-encodes it
        "/fhir/Patient", json=body, headers=him | {"If-None-Exist": "identifier=urn%3Amrn%7C7"}
    )
    assert encoded.status_code == 200 and encoded.json()["id"] == first.json()["id"]
    client.post("/fhir/Patient", json=body, headers=him)  # a second Patient with MRN 7
    ambiguous = client.post(
        "/fhir/Patient", json=body, headers=him | {"If-None-Exist": "identifier=urn:mrn|7"}
    )
    _assert_outcome(ambiguous, 412, "multiple-matches", "more than one Patient")
    total = client.get("/fhir/Patient?identifier=urn:mrn|7", headers=him).json()["total"]
    assert total == 2  # nothing was created by the refused request


def test_delete_is_soft(client, him):
    pid = client.post("/fhir/Patient", json=_patient(), headers=him).json()["id"]
    assert client.delete(f"/fhir/Patient/{pid}", headers=him).status_code == 204
    _assert_outcome(client.get(f"/fhir/Patient/{pid}", headers=him), 410, "deleted")
    assert client.get(f"/fhir/Patient/{pid}/_history/1", headers=him).status_code == 200
    assert client.delete(f"/fhir/Patient/{pid}", headers=him).status_code == 204


def test_errors_are_operation_outcomes(client, him, sign_in):
    _assert_outcome(client.get("/fhir/Patient/none", headers=him), 404, "not-found")
    _assert_outcome(client.get("/fhir/Dragon", headers=him), 404, "not-found", "Dragon")
    _assert_outcome(client.get("/fhir/Patient"), 401, "login")
    bad = client.post("/fhir/Patient", json=_patient(birthDate="1990-02-31x"), headers=him)
    _assert_outcome(bad, 400, "structure", "birthDate")
    assert bad.json()["issue"][1]["expression"] == ["Patient.birthDate"]
    _assert_outcome(
        client.post("/fhir/Patient", content=b"{nope", headers=him | FHIR), 400, "invalid", "JSON"
    )
    # An unknown parameter is refused (ignoring it would answer with every record), all
    # of them named; a client asking for lenient handling gets them ignored and reported.
    refused = client.get("/fhir/Patient?shoe-size=9&hat=3&name=x", headers=him)
    _assert_outcome(refused, 400, "invalid", "hat, shoe-size")
    lenient = client.get(
        "/fhir/Patient?shoe-size=9", headers=him | {"Prefer": "handling=lenient"}
    ).json()
    assert lenient["entry"][-1]["search"]["mode"] == "outcome" and "shoe-size" in str(lenient)
    assert lenient["entry"][-1]["resource"]["issue"][0]["severity"] == "warning"
    client.put("/fhir/Patient/dup", json=_patient(id="dup"), headers=him)
    dup = client.post(
        "/fhir",
        json={
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "resource": _patient(id="dup"),
                    "request": {"method": "PUT", "url": "Patient/dup"},
                },
                {
                    "resource": _patient(id="dup", gender="male"),
                    "request": {"method": "PUT", "url": "Patient/dup"},
                },
            ],
        },
        headers=him,
    )
    _assert_outcome(dup, 409, "conflict", "more than once")
    auditor = sign_in("auditor")
    _assert_outcome(client.get("/fhir/Patient", headers=auditor), 403, "forbidden")


def test_search_paging_links_and_includes(client, him):
    ids = [
        client.post("/fhir/Patient", json=_patient(f"Fam{n}"), headers=him).json()["id"]
        for n in range(5)
    ]
    for pid in ids[:2]:
        client.post(
            "/fhir/Encounter",
            json={
                "resourceType": "Encounter",
                "status": "finished",
                "class": {"code": "AMB"},
                "subject": {"reference": f"Patient/{pid}"},
            },
            headers=him,
        )
    page = client.get("/fhir/Patient?family=fam&_count=2&_sort=family", headers=him).json()
    assert page["total"] == 5 and len(page["entry"]) == 2
    seen = [e["resource"]["name"][0]["family"] for e in page["entry"]]
    while next_link := next(
        (link["url"] for link in page["link"] if link["relation"] == "next"), None
    ):
        page = client.get(next_link, headers=him).json()
        seen += [e["resource"]["name"][0]["family"] for e in page["entry"]]
    assert seen == [f"Fam{n}" for n in range(5)]
    included = client.get("/fhir/Encounter?_include=Encounter:patient", headers=him).json()
    modes = sorted(e["search"]["mode"] for e in included["entry"])
    assert modes == ["include", "include", "match", "match"]
    rev = client.get(
        f"/fhir/Patient?_id={ids[0]}&_revinclude=Encounter:patient", headers=him
    ).json()
    assert sorted(e["resource"]["resourceType"] for e in rev["entry"]) == ["Encounter", "Patient"]
    everything = client.get(f"/fhir/Patient/{ids[0]}/$everything", headers=him).json()
    assert {e["resource"]["resourceType"] for e in everything["entry"]} == {"Patient", "Encounter"}


def test_transaction_is_atomic_and_resolves_references(client, him):
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:9b0f0000-0000-4000-8000-000000000001",
                "resource": _patient("Tx"),
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": {
                    "resourceType": "Encounter",
                    "status": "finished",
                    "class": {"code": "IMP"},
                    "subject": {"reference": "urn:uuid:9b0f0000-0000-4000-8000-000000000001"},
                },
                "request": {"method": "POST", "url": "Encounter"},
            },
        ],
    }
    ok = client.post("/fhir", json=bundle, headers=him)
    assert ok.status_code == 200, ok.text
    answer = ok.json()
    assert answer["type"] == "transaction-response"
    assert [e["response"]["status"] for e in answer["entry"]] == ["201 Created", "201 Created"]
    pid = answer["entry"][0]["resource"]["id"]
    assert answer["entry"][1]["resource"]["subject"]["reference"] == f"Patient/{pid}"
    before = client.get("/fhir/Patient?_count=0", headers=him).json()["total"]
    bundle["entry"][1]["resource"]["status"] = ["not", "a", "code"]
    failed = client.post("/fhir", json=bundle, headers=him)
    _assert_outcome(failed, 400, "invalid", "Encounter.status")
    assert client.get("/fhir/Patient?_count=0", headers=him).json()["total"] == before


def test_batch_reports_each_entry(client, him):
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"resource": _patient("Good"), "request": {"method": "POST", "url": "Patient"}},
            {
                "resource": _patient("Bad", birthDate="never"),
                "request": {"method": "POST", "url": "Patient"},
            },
            {"request": {"method": "GET", "url": "Patient?family=good"}},
        ],
    }
    answer = client.post("/fhir", json=bundle, headers=him).json()
    statuses = [e["response"]["status"] for e in answer["entry"]]
    assert statuses == ["201 Created", "400", "200 OK"]
    assert answer["entry"][2]["resource"]["total"] == 1


def test_capability_statement_lists_what_is_supported(client):
    meta = client.get("/fhir/metadata").json()
    assert meta["fhirVersion"] == "4.0.1"
    patient = next(r for r in meta["rest"][0]["resource"] if r["type"] == "Patient")
    names = {p["name"] for p in patient["searchParam"]}
    assert {"identifier", "family", "birthdate", "phone", "_id", "_lastUpdated"} <= names
    assert {"everything", "export", "validate"} == {o["name"] for o in patient["operation"]}


def test_capability_statement_is_built_once_per_base_url(client):
    """Served from a cache (it was rebuilt per request, ~25 ms): the same bytes each time,
    FHIR's media type, and the URL of the server that was asked."""
    first, second = client.get("/fhir/metadata"), client.get("/fhir/metadata")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert first.headers["content-type"].startswith("application/fhir+json")
    assert first.json()["implementation"]["url"].endswith("/fhir")
    other = client.get("/fhir/metadata", headers={"Host": "records.example.org"}).json()
    assert other["implementation"]["url"] == "http://records.example.org/fhir"


def test_bulk_export_kick_off_status_and_files(client, him, sign_in):
    pid = client.post("/fhir/Patient", json=_patient("Bulk"), headers=him).json()["id"]
    client.post(
        "/fhir/Observation",
        json={
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "x"},
            "subject": {"reference": f"Patient/{pid}"},
        },
        headers=him,
    )
    client.post(
        "/fhir/Organization",
        json={"resourceType": "Organization", "name": "Not a patient's"},
        headers=him,
    )
    kick = client.get("/fhir/Patient/$export", headers=him | {"Prefer": "respond-async"})
    assert kick.status_code == 202
    status_url = kick.headers["Content-Location"]
    for _ in range(600):  # a loaded CI machine: up to 30 s
        status = client.get(status_url, headers=him)
        if status.status_code == 200:
            break
        assert status.status_code == 202
        time.sleep(0.05)
    manifest = status.json()
    assert manifest["requiresAccessToken"] is True
    assert {o["type"]: o["count"] for o in manifest["output"]} == {"Observation": 1, "Patient": 1}
    file_url = manifest["output"][0]["url"]
    assert client.get(file_url).status_code == 401
    lines = client.get(file_url, headers=him).text.splitlines()
    assert len(lines) == 1
    other = sign_in("admin")
    assert client.get(status_url, headers=other).status_code == 403
    assert client.delete(status_url, headers=him).status_code == 202
    assert client.get(status_url, headers=him).status_code == 404


def test_bad_if_match_and_emergency_access_to_nobody(client, him):
    pid = client.post("/fhir/Patient", json=_patient(), headers=him).json()["id"]
    body = client.get(f"/fhir/Patient/{pid}", headers=him).json()
    bad = client.put(f"/fhir/Patient/{pid}", json=body, headers=him | {"If-Match": "yesterday"})
    _assert_outcome(bad, 400, "invalid", "If-Match")
    assert client.get(f"/fhir/Patient/{pid}", headers=him).json()["meta"]["versionId"] == "1"
    reason = {"reason": "unconscious in the emergency department"}
    nobody = client.post("/fhir/Patient/nobody/$break-the-glass", json=reason, headers=him)
    _assert_outcome(nobody, 404, "not-found")


def test_patient_search_on_every_clinical_type_returns_only_that_patients(client, him):
    """`patient` comes from the R4 definitions (Immunization.patient, CarePlan.subject…);
    before, an unknown `patient` was ignored and every patient's records came back."""
    for pid in ("imm-a", "imm-b"):
        client.put(f"/fhir/Patient/{pid}", json=_patient(id=pid), headers=him)
        immunization = {
            "resourceType": "Immunization",
            "id": f"shot-{pid}",
            "status": "completed",
            "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "08"}]},
            "patient": {"reference": f"Patient/{pid}"},
            "occurrenceDateTime": "2024-01-02",
        }
        put = client.put(f"/fhir/Immunization/shot-{pid}", json=immunization, headers=him)
        assert put.status_code in (200, 201), put.text
    found = client.get("/fhir/Immunization?patient=imm-a", headers=him).json()
    assert [e["resource"]["id"] for e in found["entry"]] == ["shot-imm-a"]
    found = client.get("/fhir/Immunization?patient=Patient/imm-b", headers=him).json()
    assert [e["resource"]["id"] for e in found["entry"]] == ["shot-imm-b"]
    assert client.get("/fhir/Immunization?patient=nobody", headers=him).json()["total"] == 0


def test_summary_count_and_elements(client, him):
    client.put("/fhir/Patient/sum-a", json=_patient(id="sum-a"), headers=him)
    counted = client.get("/fhir/Patient?_id=sum-a&_summary=count", headers=him).json()
    assert counted["total"] == 1 and not [e for e in counted.get("entry", []) if "resource" in e]
    _assert_outcome(
        client.get("/fhir/Patient?_summary=some", headers=him), 400, "invalid", "_summary"
    )
    only = client.get("/fhir/Patient?_id=sum-a&_elements=gender", headers=him).json()
    res = only["entry"][0]["resource"]
    assert set(res) <= {"resourceType", "id", "meta", "gender"} and "name" not in res
    assert any(t["code"] == "SUBSETTED" for t in res["meta"]["tag"])
