"""A real server on loopback, driven by an independent FHIR client from PyPI (fhirpy)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome as ClientOutcome

from chartkeeper.config import Settings
from chartkeeper.privacy.users import add_user
from chartkeeper.store import open_store

PASSWORD = "live server password"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path, database_url):
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    add_user(open_store(settings).engine, "clerk", PASSWORD, "him")
    port = _free_port()
    env = {
        **os.environ,
        "CHARTKEEPER_DATA_DIR": str(tmp_path),
        "CHARTKEEPER_DATABASE_URL": database_url,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "chartkeeper.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):  # up to a minute on a loaded machine (imports, migrations)
        try:
            if httpx.get(f"{base}/fhir/metadata", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail(f"server did not start: {process.stdout.read().decode()[-2000:]}")
    yield base
    process.terminate()
    process.wait(timeout=10)


def _client(base: str) -> SyncFHIRClient:
    token = httpx.post(
        f"{base}/auth/token", data={"username": "clerk", "password": PASSWORD}
    ).json()
    return SyncFHIRClient(f"{base}/fhir", authorization=f"Bearer {token['access_token']}")


def test_fhir_client_create_read_search_page_update(server):
    client = _client(server)
    for n in range(7):
        client.resource(
            "Patient", name=[{"family": "Live", "given": [f"P{n}"]}], gender="female"
        ).save()
    found = client.resources("Patient").search(family="Live").limit(3)
    assert found.count() == 7
    names = sorted(p["name"][0]["given"][0] for p in found.fetch_all())  # follows `next` links
    assert names == [f"P{n}" for n in range(7)]
    patient = client.resources("Patient").search(given="P3").first()
    reread = client.reference("Patient", patient.id).to_resource()
    assert reread["meta"]["versionId"] == "1"
    reread["gender"] = "male"
    reread.save()
    assert client.reference("Patient", patient.id).to_resource()["gender"] == "male"


def test_stale_if_match_gets_412(server):
    client = _client(server)
    patient = client.resource("Patient", gender="female")
    patient.save()
    token = client.authorization
    body = patient.serialize() | {"gender": "other"}
    answer = httpx.put(
        f"{server}/fhir/Patient/{patient.id}",
        json=body,
        headers={"Authorization": token, "If-Match": 'W/"1"'},
    )
    assert answer.status_code == 200
    stale = httpx.put(
        f"{server}/fhir/Patient/{patient.id}",
        json=body | {"gender": "male"},
        headers={"Authorization": token, "If-Match": 'W/"1"'},
    )
    assert stale.status_code == 412 and stale.json()["resourceType"] == "OperationOutcome"


def test_transaction_rollback_when_one_entry_is_invalid(server):
    client = _client(server)
    bundle = client.resource(
        "Bundle",
        type="transaction",
        entry=[
            {
                "fullUrl": "urn:uuid:5d1c0000-0000-4000-8000-000000000001",
                "resource": {"resourceType": "Patient", "name": [{"family": "Atomic"}]},
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"text": "x"},
                    "valueQuantity": {"value": "not a number"},
                    "subject": {"reference": "urn:uuid:5d1c0000-0000-4000-8000-000000000001"},
                },
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    )
    with pytest.raises(ClientOutcome):
        client.execute("/", method="post", data=bundle.serialize())
    assert client.resources("Patient").search(family="Atomic").count() == 0


def test_fhir_client_chains_has_deceased_includes_and_summary(server):
    """What an independent client sends for chains, _has, includes and _elements is
    understood, and an unknown parameter is refused as the client's error."""
    client = _client(server)
    living = client.resource("Patient", name=[{"family": "Chainer"}], deceasedBoolean=False)
    living.save()
    dead = client.resource(
        "Patient", name=[{"family": "Chainer"}], deceasedDateTime="2021-02-03T04:05:06Z"
    )
    dead.save()
    for patient, code in ((living, "8480-6"), (dead, "8462-4")):
        client.resource(
            "Observation",
            status="final",
            code={"coding": [{"system": "http://loinc.org", "code": code}]},
            subject={"reference": f"Patient/{patient.id}"},
        ).save()
    observations = client.resources("Observation")
    assert observations.search(subject__Patient__family="Chainer").count() == 2
    assert observations.search(subject__Patient__family="Nobody").count() == 0
    patients = client.resources("Patient")
    assert [p.id for p in patients.search(deceased=True).fetch_all()] == [dead.id]
    has = patients.has("Observation", "patient", code="8462-4").fetch_all()
    assert [p.id for p in has] == [dead.id]
    bundle = (
        observations.search(subject__Patient__family="Chainer")
        .include("Observation", "subject")
        .elements("status")
        .fetch_raw()
    )
    included = [e for e in bundle.entry if e.search.mode == "include"]
    assert {e.resource.id for e in included} == {living.id, dead.id}
    matched = [e.resource for e in bundle.entry if e.search.mode == "match"]
    assert all("code" in r and "subject" not in r for r in matched)  # code is mandatory
    with pytest.raises(ClientOutcome):
        patients.search(shoe_size="9").fetch()


def test_fhir_client_conditional_writes_patch_refresh_and_validate(server):
    """fhirpy's own conditional update, conditional and instance patch (a merge patch, as
    fhirpy sends it), refresh (If-None-Match: 304 keeps the copy), conditional delete, and
    $validate through its generic execute."""
    client = _client(server)
    patients = client.resources("Patient").search(identifier="urn:mrn|L-77")
    first, created = patients.update(
        client.resource(
            "Patient", identifier=[{"system": "urn:mrn", "value": "L-77"}], gender="female"
        )
    )
    assert created and first["meta"]["versionId"] == "1"
    again, created = patients.update(
        client.resource(
            "Patient", identifier=[{"system": "urn:mrn", "value": "L-77"}], gender="male"
        )
    )
    assert not created and again.id == first.id and again["gender"] == "male"
    patched = patients.patch(birthDate="1980-05-06")
    assert patched["birthDate"] == "1980-05-06" and patched["gender"] == "male"
    copy = client.reference("Patient", first.id).to_resource()
    copy.refresh()  # not modified: fhirpy keeps what it has
    assert copy["meta"]["versionId"] == "3"
    instance = copy.patch(gender="other")
    assert instance["gender"] == "other" and instance["meta"]["versionId"] == "4"
    outcome = client.execute(
        "Patient/$validate",
        method="post",
        data={"resourceType": "Patient", "birthDate": "1980-02-30"},
    )
    assert outcome["issue"][0]["severity"] == "error"
    patients.delete()
    assert patients.count() == 0
    with pytest.raises(ClientOutcome):
        client.execute("Patient", method="get", params={"_format": "xml"})
