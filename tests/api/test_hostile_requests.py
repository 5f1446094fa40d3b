"""Hostile-but-plausible requests: each answers a clear 4xx OperationOutcome, never a 500.

The list covers what issue 9 found answering 500 or a traceback (superscript digits and
20-digit numbers in counts, offsets, ids, versions and ETags; bundle entries of the wrong
shape; 600-deep nesting; bodies of any media type; no size cap) and their near relatives.
Each case runs on SQLite and PostgreSQL: a 20-digit number overflows only the latter.
"""

from __future__ import annotations

import json

import pytest

from chartkeeper.api.bodies import BodyLimit

FHIR = {"Content-Type": "application/fhir+json"}
BIG = "99999999999999999999"  # 20 digits: past a 64-bit integer
SUP = "²"  # "²".isdigit() is True, int("²") raises


def _deep(levels: int) -> dict:
    extension: dict = {"url": "http://example.org/leaf", "valueString": "x"}
    for _ in range(levels):
        extension = {"url": "http://example.org/n", "extension": [extension]}
    return {"resourceType": "Patient", "extension": [extension]}


def _deep_text(levels: int, bundle: bool = False) -> bytes:
    """600-deep JSON written as text: json.dumps and orjson.dumps both refuse that depth."""
    leaf = '{"url": "http://example.org/leaf", "valueString": "x"}'
    nested = '{"url": "http://example.org/n", "extension": [' * levels + leaf + "]}" * levels
    patient = '{"resourceType": "Patient", "extension": [' + nested + "]}"
    if bundle:
        entry = '{"resource": ' + patient + ', "request": {"method": "POST", "url": "Patient"}}'
        return (
            '{"resourceType": "Bundle", "type": "transaction", "entry": [' + entry + "]}"
        ).encode()
    return patient.encode()


def _bundle(*entries, kind: str = "transaction") -> dict:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


_PATIENT = {"resourceType": "Patient", "name": [{"family": "Hostile"}]}


# (label, method, path, extra): extra has json=, content=, headers=; "{pid}" is a stored Patient.
CASES = [
    ("count superscript", "GET", f"/fhir/Patient?_count={SUP}", {}),
    ("count 20 digits", "GET", f"/fhir/Patient?_count={BIG}", {}),
    ("count negative", "GET", "/fhir/Patient?_count=-1", {}),
    ("count exponent", "GET", "/fhir/Patient?_count=1e3", {}),
    ("offset superscript", "GET", f"/fhir/Patient?_offset={SUP}", {}),
    ("offset 20 digits", "GET", f"/fhir/Patient?_offset={BIG}", {}),
    ("offset arabic-indic digits", "GET", "/fhir/Patient?_offset=١٢", {}),
    ("history count superscript", "GET", f"/fhir/Patient/_history?_count={SUP}", {}),
    ("history count 20 digits", "GET", f"/fhir/_history?_count={BIG}", {}),
    (
        "search by POST superscript count",
        "POST",
        "/fhir/Patient/_search",
        {"data": {"_count": SUP}},
    ),
    ("read 20-digit id", "GET", f"/fhir/Patient/{BIG}", {}),
    ("read superscript id", "GET", f"/fhir/Patient/{SUP}", {}),
    ("read 65-character id", "GET", "/fhir/Patient/" + "a" * 65, {}),
    ("vread superscript version", "GET", "/fhir/Patient/{pid}/_history/" + SUP, {}),
    ("vread 20-digit version", "GET", "/fhir/Patient/{pid}/_history/" + BIG, {}),
    ("vread version zero", "GET", "/fhir/Patient/{pid}/_history/0", {}),
    ("everything of a 20-digit id", "GET", f"/fhir/Patient/{BIG}/$everything", {}),
    (
        "If-Match superscript",
        "PUT",
        "/fhir/Patient/{pid}",
        {"json": "{patient}", "headers": {"If-Match": f'W/"{SUP}"'.encode()}},
    ),
    (
        "If-Match 20 digits",
        "PUT",
        "/fhir/Patient/{pid}",
        {"json": "{patient}", "headers": {"If-Match": f'W/"{BIG}"'}},
    ),
    ("delete If-Match 20 digits", "DELETE", "/fhir/Patient/{pid}", {"headers": {"If-Match": BIG}}),
    ("AuditEvent count superscript", "GET", f"/fhir/AuditEvent?_count={SUP}", {}),
    ("AuditEvent 20-digit id", "GET", f"/fhir/AuditEvent/{BIG}", {}),
    ("entry request is a string", "POST", "/fhir", {"json": _bundle({"request": "x"})}),
    (
        "entry url null",
        "POST",
        "/fhir",
        {"json": _bundle({"resource": _PATIENT, "request": {"method": "POST", "url": None}})},
    ),
    (
        "entry url numeric",
        "POST",
        "/fhir",
        {"json": _bundle({"resource": _PATIENT, "request": {"method": "POST", "url": 7}})},
    ),
    (
        "entry method null",
        "POST",
        "/fhir",
        {"json": _bundle({"resource": _PATIENT, "request": {"method": None, "url": "Patient"}})},
    ),
    (
        "entry method numeric",
        "POST",
        "/fhir",
        {"json": _bundle({"resource": _PATIENT, "request": {"method": 5, "url": "Patient"}})},
    ),
    (
        "entry method unknown",
        "POST",
        "/fhir",
        {"json": _bundle({"resource": _PATIENT, "request": {"method": "BREW", "url": "Patient"}})},
    ),
    (
        "entry ifMatch numeric",
        "POST",
        "/fhir",
        {
            "json": _bundle(
                {
                    "resource": _PATIENT,
                    "request": {"method": "PUT", "url": "Patient/x", "ifMatch": 3},
                }
            )
        },
    ),
    (
        "entry fullUrl numeric",
        "POST",
        "/fhir",
        {
            "json": _bundle(
                {
                    "fullUrl": 9,
                    "resource": _PATIENT,
                    "request": {"method": "POST", "url": "Patient"},
                }
            )
        },
    ),
    ("entry is a number", "POST", "/fhir", {"json": _bundle(1)}),
    (
        "entry list is a string",
        "POST",
        "/fhir",
        {"json": {"resourceType": "Bundle", "type": "transaction", "entry": "x"}},
    ),
    (
        "entry resource is a string",
        "POST",
        "/fhir",
        {"json": _bundle({"resource": "x", "request": {"method": "POST", "url": "Patient"}})},
    ),
    ("bundle type is an object", "POST", "/fhir", {"json": {"resourceType": "Bundle", "type": {}}}),
    (
        "transaction GET with a superscript count",
        "POST",
        "/fhir",
        {"json": _bundle({"request": {"method": "GET", "url": f"Patient?_count={SUP}"}})},
    ),
    ("resourceType is a number", "POST", "/fhir/Patient", {"json": {"resourceType": 5}}),
    ("600-deep extensions", "POST", "/fhir/Patient", {"content": "{deep}"}),
    ("600-deep extensions in a transaction", "POST", "/fhir", {"content": "{deep bundle}"}),
    ("300-deep extensions", "POST", "/fhir/Patient", {"content": "{300 deep}"}),
    (
        "2000-deep arrays",
        "POST",
        "/fhir/Patient",
        {"content": b"[" * 2000 + b"]" * 2000, "headers": FHIR},
    ),
    (
        "infinite number",
        "POST",
        "/fhir/Patient",
        {"content": b'{"resourceType":"Patient","x":1e400}', "headers": FHIR},
    ),
    (
        "not UTF-8",
        "POST",
        "/fhir/Patient",
        {"content": b'{"resourceType":"Patient","id":"\xff"}', "headers": FHIR},
    ),
    (
        "text/plain body",
        "POST",
        "/fhir/Patient",
        {"content": json.dumps(_PATIENT), "headers": {"Content-Type": "text/plain"}},
    ),
    (
        "XML body",
        "POST",
        "/fhir/Patient",
        {"content": "<Patient/>", "headers": {"Content-Type": "application/fhir+xml"}},
    ),
    ("body without a Content-Type", "POST", "/fhir/Patient", {"content": json.dumps(_PATIENT)}),
    (
        "form body to a JSON action",
        "POST",
        "/fhir/Patient",
        {"data": {"resourceType": "Patient"}},
    ),
    (
        "Content-Length not a number",
        "POST",
        "/fhir/Patient",
        {"content": b"{}", "headers": FHIR | {"Content-Length": SUP.encode()}},
    ),
    ("unknown type", "GET", "/fhir/NotAType/1", {}),
    ("history since garbage", "GET", "/fhir/Patient/_history?_since=yesterday%27", {}),
    ("birthdate superscript", "GET", f"/fhir/Patient?birthdate={SUP}", {}),
    ("deficiency 20-digit id", "GET", f"/deficiencies/{BIG}", {}),
    ("deficiency list 20-digit offset", "GET", f"/deficiencies?offset={BIG}", {}),
    ("ROI request 20-digit id", "GET", f"/roi/requests/{BIG}", {}),
    ("MPI review 20-digit id", "GET", f"/mpi/reviews/{BIG}", {}),
    ("MPI reviews 20-digit limit", "GET", f"/mpi/reviews?limit={BIG}", {}),
    ("coding fy superscript", "GET", f"/coding/search?q=asthma&fy={SUP}", {}),
    ("coding fy 20 digits", "GET", f"/coding/search?q=asthma&fy={BIG}", {}),
]


@pytest.fixture(scope="module")
def stored_patient(module_client) -> dict:
    client, sign_in = module_client
    answer = client.post("/fhir/Patient", json=_PATIENT, headers=sign_in("him") | FHIR)
    assert answer.status_code == 201
    return answer.json()


@pytest.mark.parametrize(("label", "method", "path", "extra"), CASES, ids=[c[0] for c in CASES])
def test_hostile_request_is_a_clear_4xx(module_client, stored_patient, label, method, path, extra):
    client, sign_in = module_client
    him = sign_in("him")
    pid = stored_patient["id"]
    kwargs = dict(extra)
    if kwargs.get("json") == "{patient}":
        kwargs["json"] = stored_patient
    deep = {"{deep}": (600, False), "{deep bundle}": (600, True), "{300 deep}": (300, False)}
    if kwargs.get("content") in deep:  # written as text: json.dumps recurses too deep for it
        kwargs["content"] = _deep_text(*deep[kwargs["content"]])
        kwargs["headers"] = FHIR
    headers = {**him, **kwargs.pop("headers", {})}
    answer = client.request(method, path.replace("{pid}", pid), headers=headers, **kwargs)
    assert 400 <= answer.status_code < 500, f"{label}: {answer.status_code} {answer.text[:300]}"
    body = answer.json()
    assert body["resourceType"] == "OperationOutcome", answer.text[:300]
    assert body["issue"][0]["diagnostics"], "the outcome says what was wrong"
    assert "Traceback" not in answer.text


def test_case_list_covers_the_issue():
    assert len(CASES) >= 31


def test_media_types_fhir_and_plain_json_are_both_taken(module_client):
    client, sign_in = module_client
    him = sign_in("him")
    for media in (
        "application/fhir+json",
        "application/json",
        "application/fhir+json; charset=utf-8",
    ):
        answer = client.post(
            "/fhir/Patient", content=json.dumps(_PATIENT), headers=him | {"Content-Type": media}
        )
        assert answer.status_code == 201, (media, answer.text)


def test_a_415_names_the_media_types_taken(module_client):
    client, sign_in = module_client
    him = sign_in("him")
    answer = client.post(
        "/fhir/Patient", content="<Patient/>", headers=him | {"Content-Type": "application/xml"}
    )
    assert answer.status_code == 415
    assert "application/fhir+json" in answer.json()["issue"][0]["diagnostics"]


def test_nesting_over_the_limit_says_so(module_client):
    client, sign_in = module_client
    him = sign_in("him")
    for levels in (300, 600):  # past our limit; past orjson's own (1024) too
        answer = client.post("/fhir/Patient", content=_deep_text(levels), headers=him | FHIR)
        assert answer.status_code == 400
        assert "nests deeper than" in answer.json()["issue"][0]["diagnostics"]
    honest = client.post("/fhir/Patient", json=_deep(8), headers=him | FHIR)
    assert honest.status_code == 201, honest.text


def test_bundle_entry_errors_name_the_entry_and_element(module_client):
    client, sign_in = module_client
    him = sign_in("him")
    first = {"resourceType": "Patient", "name": [{"family": "Allornothing"}]}
    bundle = _bundle(
        {"resource": first, "request": {"method": "POST", "url": "Patient"}},
        {"resource": _PATIENT, "request": {"method": 5, "url": "Patient"}},
    )
    answer = client.post("/fhir", json=bundle, headers=him | FHIR)
    assert answer.status_code == 400
    outcome = answer.json()
    assert "entry[1]" in outcome["issue"][0]["diagnostics"]
    assert outcome["issue"][1]["expression"] == ["request.method"]
    # all or nothing: the good first entry was not stored either
    assert client.get("/fhir/Patient?family=Allornothing", headers=him).json()["total"] == 0


def test_a_batch_reports_a_malformed_entry_and_runs_the_others(module_client):
    client, sign_in = module_client
    him = sign_in("him")
    bundle = _bundle(
        {"resource": _PATIENT, "request": {"method": "POST", "url": "Patient"}},
        {"request": "x"},
        kind="batch",
    )
    answer = client.post("/fhir", json=bundle, headers=him | FHIR)
    assert answer.status_code == 200, answer.text
    statuses = [e["response"]["status"] for e in answer.json()["entry"]]
    assert statuses[0].startswith("201") and statuses[1].startswith("400")


def test_body_over_the_cap_is_413_and_under_it_is_taken(repo, tmp_path):
    from fastapi.testclient import TestClient

    from chartkeeper.app import create_app
    from chartkeeper.config import Settings
    from chartkeeper.privacy.users import add_user

    add_user(repo.engine, "capped", "correct horse battery", "him")
    app = create_app(Settings(data_dir=tmp_path, max_request_mb=1), repo=repo)
    with TestClient(app) as client:
        token = client.post(
            "/auth/token", data={"username": "capped", "password": "correct horse battery"}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"} | FHIR
        big = _PATIENT | {
            "text": {"status": "generated", "div": "<div>" + "x" * 1_100_000 + "</div>"}
        }
        answer = client.post("/fhir/Patient", json=big, headers=headers)
        assert answer.status_code == 413
        assert "1 MB limit" in answer.json()["issue"][0]["diagnostics"]
        small = _PATIENT | {
            "text": {"status": "generated", "div": "<div>" + "x" * 900_000 + "</div>"}
        }
        assert client.post("/fhir/Patient", json=small, headers=headers).status_code == 201


async def _drive(middleware: BodyLimit, messages: list[dict], headers=()) -> list[dict]:
    sent: list[dict] = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    await middleware({"type": "http", "headers": list(headers)}, receive, send)
    return sent


def test_chunked_body_is_counted_as_it_arrives():
    import asyncio

    reached = []

    async def app(scope, receive, send):
        reached.append((await receive())["body"])

    limit = BodyLimit(app, max_bytes=10)
    chunks = [{"type": "http.request", "body": b"x" * 6, "more_body": True}] * 3
    sent = asyncio.run(_drive(limit, list(chunks)))
    assert sent[0]["status"] == 413 and not reached
    sent = asyncio.run(
        _drive(limit, [{"type": "http.request", "body": b"12345", "more_body": False}])
    )
    assert reached == [b"12345"] and not sent
    sent = asyncio.run(_drive(limit, [], headers=[(b"content-length", b"11")]))
    assert sent[0]["status"] == 413
