"""FHIR R4 REST by http.html: PATCH (JSON Patch, FHIRPath Patch, merge patch), conditional
update/patch/delete, $validate, _history paging with _since/_at, Prefer: return=, ETag and
If-None-Match / If-Modified-Since with 304, Last-Modified as an HTTP date, 406 and 415,
400 for structure. One app per module and backend (module_client): these are many small
requests, and a fresh app per test would cost more than they do."""

from __future__ import annotations

import uuid
from email.utils import parsedate_to_datetime

import pytest

FHIR = {"Content-Type": "application/fhir+json"}
JSON_PATCH = {"Content-Type": "application/json-patch+json"}


@pytest.fixture
def api(module_client):
    client, sign_in = module_client
    return client, sign_in("him")


def _new_patient(client, him, **extra) -> dict:
    body = {
        "resourceType": "Patient",
        "name": [{"family": "Rule", "given": ["Ann"]}],
        "gender": "female",
        **extra,
    }
    answer = client.post("/fhir/Patient", json=body, headers=him | FHIR)
    assert answer.status_code == 201, answer.text
    return answer.json()


def _mrn() -> str:
    return uuid.uuid4().hex[:12]


def test_json_patch_with_if_match_and_test_op(api):
    client, him = api
    patient = _new_patient(client, him)
    url = f"/fhir/Patient/{patient['id']}"
    ops = [
        {"op": "test", "path": "/gender", "value": "female"},
        {"op": "replace", "path": "/gender", "value": "other"},
        {"op": "add", "path": "/name/0/given/-", "value": "Beth"},
    ]
    answer = client.patch(url, json=ops, headers=him | JSON_PATCH | {"If-Match": 'W/"1"'})
    assert answer.status_code == 200, answer.text
    assert answer.json()["gender"] == "other" and answer.json()["name"][0]["given"] == [
        "Ann",
        "Beth",
    ]
    assert answer.headers["ETag"] == 'W/"2"'
    stale = client.patch(url, json=ops[1:], headers=him | JSON_PATCH | {"If-Match": 'W/"1"'})
    assert stale.status_code == 412
    failed_test = client.patch(url, json=ops[:1], headers=him | JSON_PATCH)  # gender is other now
    assert failed_test.status_code == 422
    assert client.get(url, headers=him).json()["meta"]["versionId"] == "2"
    changes_id = client.patch(
        url, json=[{"op": "replace", "path": "/id", "value": "x"}], headers=him | JSON_PATCH
    )
    assert changes_id.status_code == 422 and "id" in changes_id.text
    invalid = client.patch(
        url, json=[{"op": "add", "path": "/birthDate", "value": "soon"}], headers=him | JSON_PATCH
    )
    assert invalid.status_code == 400 and "birthDate" in invalid.text  # the result is validated
    malformed = client.patch(url, json={"op": "replace"}, headers=him | JSON_PATCH)
    assert malformed.status_code == 400


def test_fhirpath_patch(api):
    client, him = api
    patient = _new_patient(
        client,
        him,
        identifier=[{"system": "urn:mrn", "value": "1"}, {"system": "urn:old", "value": "9"}],
    )
    url = f"/fhir/Patient/{patient['id']}"
    parameters = {
        "resourceType": "Parameters",
        "parameter": [
            {
                "name": "operation",
                "part": [
                    {"name": "type", "valueCode": "add"},
                    {"name": "path", "valueString": "Patient"},
                    {"name": "name", "valueString": "birthDate"},
                    {"name": "value", "valueDate": "1970-02-03"},
                ],
            },
            {
                "name": "operation",
                "part": [
                    {"name": "type", "valueCode": "delete"},
                    {"name": "path", "valueString": "Patient.identifier.where(system='urn:old')"},
                ],
            },
            {
                "name": "operation",
                "part": [
                    {"name": "type", "valueCode": "replace"},
                    {"name": "path", "valueString": "Patient.name[0].given[0]"},
                    {"name": "value", "valueString": "Anne"},
                ],
            },
            {
                "name": "operation",
                "part": [
                    {"name": "type", "valueCode": "add"},
                    {"name": "path", "valueString": "Patient"},
                    {"name": "name", "valueString": "telecom"},
                    {
                        "name": "value",
                        "part": [
                            {"name": "system", "valueCode": "phone"},
                            {"name": "value", "valueString": "555-0100"},
                        ],
                    },
                ],
            },
            {
                "name": "operation",
                "part": [
                    {"name": "type", "valueCode": "insert"},
                    {"name": "path", "valueString": "Patient.name[0].given"},
                    {"name": "index", "valueInteger": 0},
                    {"name": "value", "valueString": "Dr"},
                ],
            },
            {
                "name": "operation",
                "part": [
                    {"name": "type", "valueCode": "move"},
                    {"name": "path", "valueString": "Patient.name[0].given"},
                    {"name": "source", "valueInteger": 0},
                    {"name": "destination", "valueInteger": 1},
                ],
            },
        ],
    }
    answer = client.patch(url, json=parameters, headers=him | FHIR)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["birthDate"] == "1970-02-03"
    assert body["identifier"] == [{"system": "urn:mrn", "value": "1"}]
    assert body["name"][0]["given"] == ["Anne", "Dr"]
    assert body["telecom"] == [{"system": "phone", "value": "555-0100"}]
    again = client.patch(
        url, json={**parameters, "parameter": parameters["parameter"][:1]}, headers=him | FHIR
    )
    assert again.status_code == 422 and "already has a value" in again.text  # birthDate is 0..1
    unsupported = {
        "resourceType": "Parameters",
        "parameter": [
            {
                "name": "operation",
                "part": [
                    {"name": "type", "valueCode": "delete"},
                    {"name": "path", "valueString": "Patient.descendants()"},
                ],
            }
        ],
    }
    assert client.patch(url, json=unsupported, headers=him | FHIR).status_code == 400


def test_patch_media_types(api):
    client, him = api
    patient = _new_patient(client, him)
    url = f"/fhir/Patient/{patient['id']}"
    merge = client.patch(
        url, json={"gender": "male", "name": None}, headers=him
    )  # application/json
    assert (
        merge.status_code == 200 and merge.json()["gender"] == "male" and "name" not in merge.json()
    )
    xml = client.patch(
        url, content=b"<Parameters/>", headers=him | {"Content-Type": "application/fhir+xml"}
    )
    assert xml.status_code == 415
    assert (
        client.patch("/fhir/Patient/nosuch", json=[], headers=him | JSON_PATCH).status_code == 404
    )


def test_conditional_update_patch_and_delete(api):
    client, him = api
    mrn = _mrn()
    query = f"identifier=urn:mrn|{mrn}"
    body = {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:mrn", "value": mrn}],
        "gender": "female",
    }
    created = client.put(f"/fhir/Patient?{query}", json=body, headers=him | FHIR)
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    updated = client.put(
        f"/fhir/Patient?{query}", json=body | {"gender": "male"}, headers=him | FHIR
    )
    assert updated.status_code == 200 and updated.json()["id"] == pid
    assert updated.json()["meta"]["versionId"] == "2"
    wrong_id = client.put(f"/fhir/Patient?{query}", json=body | {"id": "other"}, headers=him | FHIR)
    assert wrong_id.status_code == 400
    no_criteria = client.put("/fhir/Patient", json=body, headers=him | FHIR)
    assert no_criteria.status_code == 400
    patched = client.patch(
        f"/fhir/Patient?{query}",
        json=[{"op": "replace", "path": "/gender", "value": "other"}],
        headers=him | JSON_PATCH,
    )
    assert patched.status_code == 200 and patched.json()["gender"] == "other"
    missing = client.patch(
        f"/fhir/Patient?identifier=urn:mrn|{_mrn()}", json=[], headers=him | JSON_PATCH
    )
    assert missing.status_code == 404
    # a second patient with the same MRN: now the criteria are ambiguous
    client.post("/fhir/Patient", json=body, headers=him | FHIR)
    assert client.put(f"/fhir/Patient?{query}", json=body, headers=him | FHIR).status_code == 412
    assert (
        client.patch(f"/fhir/Patient?{query}", json=[], headers=him | JSON_PATCH).status_code == 412
    )
    # conditional delete: both matches go; then nothing matches, which is no error
    deleted = client.delete(f"/fhir/Patient?{query}", headers=him)
    assert deleted.status_code == 200 and "deleted 2" in deleted.text
    assert client.get(f"/fhir/Patient/{pid}", headers=him).status_code == 410
    assert client.delete(f"/fhir/Patient?{query}", headers=him).status_code == 204
    single = _new_patient(client, him, identifier=[{"system": "urn:mrn", "value": (one := _mrn())}])
    assert client.delete(f"/fhir/Patient?identifier=urn:mrn|{one}", headers=him).status_code == 204
    assert client.get(f"/fhir/Patient/{single['id']}", headers=him).status_code == 410


def test_conditional_delete_refuses_too_many(api, monkeypatch):
    from chartkeeper.api import fhir

    client, him = api
    family = f"Many{_mrn()}"
    for _ in range(3):
        _new_patient(client, him, name=[{"family": family}])
    monkeypatch.setattr(fhir, "MAX_CONDITIONAL_DELETE", 2)
    answer = client.delete(f"/fhir/Patient?family={family}", headers=him)
    assert answer.status_code == 412
    assert client.get(f"/fhir/Patient?family={family}", headers=him).json()["total"] == 3


def test_validate_operation(api):
    client, him = api
    good = {"resourceType": "Patient", "gender": "female"}
    answer = client.post("/fhir/Patient/$validate", json=good, headers=him | FHIR)
    assert answer.status_code == 200
    assert [i["severity"] for i in answer.json()["issue"]] == ["information", "warning"]
    assert "dom-6" in answer.json()["issue"][1]["diagnostics"]  # no narrative: advice only
    bad = {"resourceType": "Patient", "birthDate": "1970-13-01", "colour": "blue"}
    answer = client.post("/fhir/Patient/$validate", json=bad, headers=him | FHIR)
    assert answer.status_code == 200
    issues = answer.json()["issue"]
    assert {i["severity"] for i in issues} == {"error"}
    assert any("birthDate" in str(i.get("expression")) for i in issues)
    assert any("colour" in str(i) for i in issues)
    wrapped = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "resource", "resource": good},
            {"name": "mode", "valueCode": "create"},
        ],
    }
    assert (
        client.post("/fhir/Patient/$validate", json=wrapped, headers=him | FHIR).json()["issue"][0][
            "severity"
        ]
        == "information"
    )
    patient = _new_patient(client, him)
    url = f"/fhir/Patient/{patient['id']}/$validate"
    update = client.post(url, json=good | {"id": "other"}, headers=him | FHIR)
    assert any("id" in i["diagnostics"] for i in update.json()["issue"])
    client.post(
        "/fhir/Observation",
        json={
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "x"},
            "subject": {"reference": f"Patient/{patient['id']}"},
        },
        headers=him | FHIR,
    )
    delete = client.post(f"{url}?mode=delete", headers=him)
    assert delete.status_code == 200
    assert delete.json()["issue"][0]["severity"] == "warning"  # an Observation refers to it
    assert client.post("/fhir/Patient/nosuch/$validate?mode=delete", headers=him).status_code == 404
    wrong_profile = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "resource", "resource": good},
            {"name": "profile", "valueUri": "http://example.org/p"},
        ],
    }
    assert (
        client.post("/fhir/Patient/$validate", json=wrong_profile, headers=him | FHIR).status_code
        == 400
    )


def test_history_paging_since_and_at(api):
    client, him = api
    patient = _new_patient(client, him)
    url = f"/fhir/Patient/{patient['id']}"
    stamps = [patient["meta"]["lastUpdated"]]
    body = patient
    for gender in ("male", "other", "unknown", "female"):
        body = client.put(url, json={**body, "gender": gender}, headers=him | FHIR).json()
        stamps.append(body["meta"]["lastUpdated"])
    page = client.get(f"{url}/_history?_count=2", headers=him).json()
    seen = []
    while True:
        seen += [e["response"]["etag"] for e in page["entry"]]
        following = [link["url"] for link in page["link"] if link["relation"] == "next"]
        if not following:
            break
        page = client.get(following[0].split("/fhir", 1)[1].join(["/fhir", ""]), headers=him).json()
    assert seen == [f'W/"{n}"' for n in (5, 4, 3, 2, 1)]
    since = client.get(f"{url}/_history", params={"_since": stamps[3]}, headers=him).json()
    assert [e["response"]["etag"] for e in since["entry"]] == ['W/"5"', 'W/"4"']
    # _at the instant version 3 was written: version 3 was current then (and only it)
    at = client.get(f"{url}/_history", params={"_at": stamps[2]}, headers=him).json()
    assert [e["response"]["etag"] for e in at["entry"]] == ['W/"3"']
    assert 'W/"5"' not in [e["response"]["etag"] for e in at["entry"]]
    type_level = client.get("/fhir/Patient/_history?_count=1", headers=him).json()
    assert len(type_level["entry"]) == 1 and any(
        link["relation"] == "next" for link in type_level["link"]
    )
    assert client.get(f"{url}/_history?_at=yesterday", headers=him).status_code == 400
    assert client.get(f"{url}/_history?gender=male", headers=him).status_code == 400


def test_prefer_return(api):
    client, him = api
    body = {"resourceType": "Patient", "gender": "female"}
    minimal = client.post(
        "/fhir/Patient", json=body, headers=him | FHIR | {"Prefer": "return=minimal"}
    )
    assert minimal.status_code == 201 and minimal.content == b""
    assert minimal.headers["ETag"] == 'W/"1"' and "/_history/1" in minimal.headers["Location"]
    outcome = client.post(
        "/fhir/Patient", json=body, headers=him | FHIR | {"Prefer": "return=OperationOutcome"}
    )
    assert outcome.status_code == 201 and outcome.json()["resourceType"] == "OperationOutcome"
    full = client.post(
        "/fhir/Patient", json=body, headers=him | FHIR | {"Prefer": "return=representation"}
    )
    assert full.json()["resourceType"] == "Patient"
    pid = full.json()["id"]
    updated = client.put(
        f"/fhir/Patient/{pid}",
        json=full.json() | {"gender": "male"},
        headers=him | FHIR | {"Prefer": "return=minimal"},
    )
    assert (
        updated.status_code == 200 and updated.content == b"" and updated.headers["ETag"] == 'W/"2"'
    )


def test_etag_last_modified_and_304(api):
    client, him = api
    patient = _new_patient(client, him)
    url = f"/fhir/Patient/{patient['id']}"
    read = client.get(url, headers=him)
    modified = read.headers["Last-Modified"]
    assert modified.endswith(" GMT") and parsedate_to_datetime(modified).tzinfo is not None
    assert client.get(url, headers=him | {"If-None-Match": 'W/"1"'}).status_code == 304
    assert (
        client.get(url, headers=him | {"If-None-Match": "1"}).status_code == 304
    )  # as fhirpy sends it
    assert client.get(url, headers=him | {"If-None-Match": 'W/"7"'}).status_code == 200
    assert client.get(url, headers=him | {"If-Modified-Since": modified}).status_code == 304
    past = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert client.get(url, headers=him | {"If-Modified-Since": past}).status_code == 200
    assert client.get(url, headers=him | {"If-Modified-Since": "garbage"}).status_code == 200
    vread = client.get(f"{url}/_history/1", headers=him | {"If-None-Match": 'W/"1"'})
    assert vread.status_code == 304 and vread.content == b""


def test_formats_we_do_not_serve(api):
    client, him = api
    assert client.get("/fhir/Patient?_format=xml", headers=him).status_code == 406
    assert client.get("/fhir/Patient?_format=application/fhir+xml", headers=him).status_code == 406
    assert (
        client.get("/fhir/Patient", headers=him | {"Accept": "application/fhir+xml"}).status_code
        == 406
    )
    assert client.get("/fhir/metadata?_format=xml").status_code == 406
    assert client.get("/fhir/Patient?_format=json", headers=him).status_code == 200
    assert (
        client.get("/fhir/Patient", headers=him | {"Accept": "text/html,*/*;q=0.8"}).status_code
        == 200
    )
    assert (
        client.get(
            "/fhir/Patient",
            headers=him | {"Accept": "application/fhir+json;q=0.9, application/fhir+xml"},
        ).status_code
        == 200
    )
    xml = b'<Patient xmlns="http://hl7.org/fhir"/>'
    answer = client.post(
        "/fhir/Patient", content=xml, headers=him | {"Content-Type": "application/fhir+xml"}
    )
    assert answer.status_code == 415 and answer.json()["resourceType"] == "OperationOutcome"
    text = client.post("/fhir/Patient", content=b"{}", headers=him | {"Content-Type": "text/plain"})
    assert text.status_code == 415


def test_structural_errors_are_400(api):
    client, him = api
    for bad in (
        {"resourceType": "Patient", "birthDate": "1970-02-30"},
        {"resourceType": "Patient", "name": {"family": "not a list"}},
        {"resourceType": "Patient", "unknownElement": True},
        {"resourceType": "Observation", "code": {"text": "no status"}},
    ):
        answer = client.post(f"/fhir/{bad['resourceType']}", json=bad, headers=him | FHIR)
        assert answer.status_code == 400, answer.text
        assert answer.json()["issue"][0]["code"] == "structure"
    # a business or profile rule (a required binding, an invariant) is 422, naming it
    for bad, rule in (
        ({"resourceType": "Patient", "gender": "F"}, "administrative-gender"),
        (
            {
                "resourceType": "Observation",
                "status": "final",
                "code": {"text": "x"},
                "valueString": "1",
                "dataAbsentReason": {"text": "x"},
            },
            "obs-6",
        ),
    ):
        answer = client.post(f"/fhir/{bad['resourceType']}", json=bad, headers=him | FHIR)
        assert answer.status_code == 422 and rule in answer.text, answer.text
    invalid = client.post(
        "/fhir/Patient/$validate",
        json={"resourceType": "Patient", "gender": "F"},
        headers=him | FHIR,
    )
    assert invalid.status_code == 200 and invalid.json()["issue"][0]["code"] == "code-invalid"
