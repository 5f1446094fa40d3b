"""Probed as an attacker: records a role may not see (a 42 CFR Part 2 / ETH label) cannot be
written over, deleted, relabelled or read back through history, and answer exactly as a
record that is not there; AuditEvent cannot be planted; break-the-glass opens a labelled
patient for the grant's time only.

The labelled records come in as a trusted feed would store them (the unguarded store),
since no role may label a record ETH through the API.
"""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient
from sqlalchemy import update

from chartkeeper.api.auth import current_user
from chartkeeper.privacy import audit
from chartkeeper.privacy.policy import ACT_CODE
from chartkeeper.store.break_glass import break_glass_grant

ETH = {"system": ACT_CODE, "code": "ETH"}
HIV = {"system": ACT_CODE, "code": "HIV"}
GDIS = {"system": ACT_CODE, "code": "GDIS"}


def _obs(rid: str, patient: str, labels=(), text: str = "alcohol use disorder") -> dict:
    res = {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"text": text},
        "subject": {"reference": f"Patient/{patient}"},
    }
    if labels:
        res["meta"] = {"security": list(labels)}
    return res


def _condition(rid: str, patient: str, labels=()) -> dict:
    res = {
        "resourceType": "Condition",
        "id": rid,
        "code": {"text": "opioid use disorder"},
        "subject": {"reference": f"Patient/{patient}"},
    }
    if labels:
        res["meta"] = {"security": list(labels)}
    return res


@pytest.fixture
def part2(client):
    """A patient with ETH records: one labelled from the start, one labelled later (its
    first version was plain), one deleted, and an ETH Condition for the coder to try."""
    repo = client.app.state.repo  # the trusted inside: an interface feed
    repo.update({"resourceType": "Patient", "id": "pt", "name": [{"family": "Doe"}]})
    repo.update({"resourceType": "Patient", "id": "other", "name": [{"family": "Doe"}]})
    repo.update(_obs("eth", "pt", [ETH]))
    repo.update(_obs("later", "pt", text="urine drug screen"))
    repo.update(_obs("later", "pt", [ETH], text="urine drug screen"))
    repo.update(_obs("gone", "pt", [ETH]))
    repo.delete("Observation", "gone")
    repo.update(_condition("cond", "pt", [ETH]))
    return repo


class _Refused:
    """A conditional delete that matched nothing answers 204: shown as a refusal here,
    since what matters is that nothing was deleted (the snapshot checks that)."""

    status_code = 404
    is_success = False


def _deleted_nothing(answer):
    assert answer.status_code == 204, answer.text
    return _Refused()


def _snapshot(repo) -> dict:
    """Every version of every hidden record, to prove nothing changed."""
    keys = [("Observation", i) for i in ("eth", "later", "gone")] + [("Condition", "cond")]
    return {key: repo.history(*key) for key in keys}


def _diagnostics(answer) -> str:
    return answer.json()["issue"][0]["diagnostics"]


def _transaction(client, headers, *entries, kind="transaction"):
    bundle = {"resourceType": "Bundle", "type": kind, "entry": list(entries)}
    return client.post("/fhir", json=bundle, headers=headers)


def _put_entry(res: dict, if_match: str | None = None) -> dict:
    request = {"method": "PUT", "url": f"{res['resourceType']}/{res['id']}"}
    if if_match:
        request["ifMatch"] = if_match
    return {"resource": res, "request": request}


def test_every_write_to_a_record_the_caller_cannot_see_is_refused(client, sign_in, part2):
    clinician, him, coder = sign_in("clinician"), sign_in("him"), sign_in("coder")
    stripped = _obs("eth", "pt", text="nothing here")
    kept = _obs("eth", "pt", [ETH], text="changed")
    delete_eth = {"request": {"method": "DELETE", "url": "Observation/eth"}}
    probes = {
        "clinician PUT over it": lambda: client.put(
            "/fhir/Observation/eth", json=kept, headers=clinician
        ),
        "clinician PUT stripping its label": lambda: client.put(
            "/fhir/Observation/eth", json=stripped, headers=clinician
        ),
        "clinician PUT, If-Match its version": lambda: client.put(
            "/fhir/Observation/eth", json=stripped, headers={**clinician, "If-Match": 'W/"1"'}
        ),
        "clinician PUT, stale If-Match": lambda: client.put(
            "/fhir/Observation/eth", json=stripped, headers={**clinician, "If-Match": 'W/"9"'}
        ),
        "HIM PUT stripping its label": lambda: client.put(
            "/fhir/Observation/eth", json=stripped, headers=him
        ),
        "HIM PUT over the later-labelled one": lambda: client.put(
            "/fhir/Observation/later", json=_obs("later", "pt", text="x"), headers=him
        ),
        "clinician PUT reviving the deleted one": lambda: client.put(
            "/fhir/Observation/gone", json=_obs("gone", "pt"), headers=clinician
        ),
        "HIM DELETE": lambda: client.delete("/fhir/Observation/eth", headers=him),
        "HIM DELETE, If-Match": lambda: client.delete(
            "/fhir/Observation/eth", headers={**him, "If-Match": 'W/"1"'}
        ),
        "HIM DELETE of the deleted one": lambda: client.delete(
            "/fhir/Observation/gone", headers=him
        ),
        "HIM PATCH": lambda: client.patch("/fhir/Observation/eth", json=[], headers=him),
        "HIM PATCH, If-Match": lambda: client.patch(
            "/fhir/Observation/eth",
            json={"resourceType": "Parameters", "parameter": []},
            headers={**him, "If-Match": 'W/"1"'},
        ),
        "HIM conditional PATCH": lambda: client.patch(
            "/fhir/Observation?_id=eth", json=[], headers=him
        ),
        "HIM conditional DELETE": lambda: _deleted_nothing(
            client.delete("/fhir/Observation?_id=eth", headers=him)
        ),
        "HIM conditional PUT": lambda: client.put(
            "/fhir/Observation?_id=eth", json=stripped, headers=him
        ),
        "HIM transaction PUT": lambda: _transaction(client, him, _put_entry(stripped)),
        "HIM transaction PUT, If-Match": lambda: _transaction(
            client, him, _put_entry(stripped, 'W/"1"')
        ),
        "HIM transaction DELETE": lambda: _transaction(client, him, delete_eth),
        "clinician batch PUT": lambda: _transaction(
            client, clinician, _put_entry(stripped), kind="batch"
        ),
        "coder PUT Condition": lambda: client.put(
            "/fhir/Condition/cond", json=_condition("cond", "pt"), headers=coder
        ),
        "coder transaction PUT Condition": lambda: _transaction(
            client, coder, _put_entry(_condition("cond", "pt"))
        ),
        "HIM merge moving it": lambda: client.post(
            "/fhir/Patient/$merge",
            json={"source": "pt", "survivor": "other", "reason": "same person per ID"},
            headers=him,
        ),
    }
    before = _snapshot(part2)

    def refusals() -> int:
        rows = audit.entries(part2.engine, limit=100_000)
        return sum(r["outcome"] == "denied" and "hidden by policy" in r["detail"] for r in rows)

    refused_before = refusals()
    through = []
    for name, probe in probes.items():
        answer = probe()
        status = answer.status_code
        if answer.is_success and answer.json().get("type") == "batch-response":
            status = int(answer.json()["entry"][0]["response"]["status"][:3])
        if status < 400:
            through.append(f"{name}: {status}")
    assert through == [], f"{len(through)} of {len(probes)} writes got through: {through}"
    assert _snapshot(part2) == before  # not one version added, changed or removed
    assert part2.read("Patient", "pt").get("link") is None
    # Each refusal is in the audit trail, saying why though the caller was told "not found".
    # the conditional ones find nothing (the search leaves the record out): nothing to refuse
    assert refusals() - refused_before >= len(probes) - 4  # merge says why
    assert audit.verify(part2.engine, client.app.state.audit_key) == []


def test_a_hidden_record_answers_exactly_as_a_missing_one(client, sign_in, part2):
    """No existence or version oracle: a hidden id and an unknown id get the same status
    and the same words, with or without If-Match, for every interaction."""
    clinician, him = sign_in("clinician"), sign_in("him")

    def same(call) -> None:
        hidden, missing = call("eth"), call("nosuch")
        assert hidden.status_code == missing.status_code == 404, (hidden.text, missing.text)
        assert _diagnostics(hidden).replace("eth", "X") == _diagnostics(missing).replace(
            "nosuch", "X"
        )

    # With If-Match, a version of nothing cannot match: 404 for both. (A plain PUT of an
    # unknown id creates it, FHIR update-as-create, so that one cannot look alike.)
    for headers in ({**clinician, "If-Match": 'W/"7"'}, {**him, "If-Match": 'W/"1"'}):
        same(
            lambda i, h=headers: client.put(f"/fhir/Observation/{i}", json=_obs(i, "pt"), headers=h)
        )
    same(lambda i: client.delete(f"/fhir/Observation/{i}", headers=him))
    same(lambda i: client.patch(f"/fhir/Observation/{i}", json=[], headers=him))
    same(lambda i: client.patch(f"/fhir/Observation?_id={i}", json=[], headers=him))
    same(lambda i: client.post(f"/fhir/Observation/{i}/$validate?mode=delete", headers=him))
    same(
        lambda i: client.get(
            f"/fhir/Observation/{i}", headers={**clinician, "If-None-Match": 'W/"1"'}
        )
    )
    same(lambda i: client.delete(f"/fhir/Observation/{i}", headers={**him, "If-Match": 'W/"1"'}))
    same(lambda i: client.get(f"/fhir/Observation/{i}", headers=clinician))
    same(lambda i: client.get(f"/fhir/Observation/{i}/_history/1", headers=clinician))
    same(lambda i: client.get(f"/fhir/Observation/{i}/_history", headers=clinician))
    tx = [_transaction(client, him, _put_entry(_obs(i, "pt"), 'W/"3"')) for i in ("eth", "nosuch")]
    assert tx[0].status_code == tx[1].status_code == 404
    assert _diagnostics(tx[0]).replace("eth", "X") == _diagnostics(tx[1]).replace("nosuch", "X")


@pytest.mark.parametrize("role", ["clinician", "him", "coder", "registrar"])
def test_history_of_a_record_labelled_later_is_hidden_whole(client, sign_in, part2, role):
    headers = sign_in(role)
    for path in (
        "/fhir/Observation/later",
        "/fhir/Observation/later/_history",
        "/fhir/Observation/later/_history/1",  # written before the label: hidden all the same
        "/fhir/Observation/later/_history/2",
        "/fhir/Observation/gone",  # a deleted hidden record: 404, not 410 Gone
        "/fhir/Observation/gone/_history",
        "/fhir/Observation/gone/_history/2",
    ):
        answer = client.get(path, headers=headers)
        assert answer.status_code == 404, f"{role} {path}: {answer.status_code}"
    for path in ("/fhir/Observation/_history", "/fhir/_history", "/fhir/Observation?patient=pt"):
        bundle = client.get(path, headers=headers).json()
        seen = {e["fullUrl"].rsplit("/", 1)[-1] for e in bundle.get("entry", [])}
        assert not seen & {"eth", "later", "gone"}, f"{role} {path}: {seen}"


def test_a_label_is_added_or_removed_only_by_a_role_allowed_it(client, sign_in, part2):
    clinician, registrar = sign_in("clinician"), sign_in("registrar")
    new = client.post("/fhir/Observation", json=_obs("x", "pt", [ETH]), headers=clinician)
    assert new.status_code == 403 and "ETH" in _diagnostics(new)
    part2.update(_obs("plain", "pt"))
    relabel = client.put(
        "/fhir/Observation/plain", json=_obs("plain", "pt", [ETH]), headers=clinician
    )
    assert relabel.status_code == 403
    assert "meta" not in part2.read("Observation", "plain") or not part2.read(
        "Observation", "plain"
    )["meta"].get("security")
    # The clinician may see HIV records, so may label or unlabel them.
    assert (
        client.put(
            "/fhir/Observation/plain", json=_obs("plain", "pt", [HIV]), headers=clinician
        ).status_code
        == 200
    )
    # The registrar sees GDIS (hereditary syndromes) but not HIV: may not add HIV.
    part2.update(_condition("lynch", "pt", [GDIS]))
    answer = client.put(
        "/fhir/Condition/lynch", json=_condition("lynch", "pt", [GDIS, HIV]), headers=registrar
    )
    assert answer.status_code == 403
    assert part2.read("Condition", "lynch")["meta"]["versionId"] == "1"


def test_audit_events_are_written_only_by_the_audit_trail(client, sign_in, part2):
    him = sign_in("him")
    fake = {
        "resourceType": "AuditEvent",
        "id": "fake",
        "type": {"code": "rest"},
        "recorded": "2026-01-01T00:00:00Z",
        "agent": [{"requestor": True}],
        "source": {"observer": {"display": "x"}},
    }
    assert _transaction(client, him, _put_entry(fake)).status_code == 403
    post = {"resource": fake, "request": {"method": "POST", "url": "AuditEvent"}}
    assert _transaction(client, him, post).status_code == 403
    assert client.put("/fhir/AuditEvent/fake", json=fake, headers=him).status_code == 405
    assert client.post("/fhir/AuditEvent", json=fake, headers=him).status_code == 405
    with part2.reading() as tx:
        assert not tx.exists("AuditEvent", "fake")
        assert tx.search("AuditEvent").total == 0


def test_the_audit_search_takes_a_patient_literally(client, sign_in, part2):
    auditor, clinician = sign_in("auditor"), sign_in("clinician")
    client.get("/fhir/Patient/pt", headers=clinician)
    every = client.get("/fhir/AuditEvent?patient=%25", headers=auditor).json()
    assert every["total"] == 0
    one = client.get("/fhir/AuditEvent?patient=_t", headers=auditor).json()
    assert one["total"] == 0
    assert client.get("/fhir/AuditEvent?patient=pt", headers=auditor).json()["total"] >= 1


def test_the_audit_search_refuses_what_it_cannot_filter_on(client, sign_in, part2):
    """Ignoring `entity=` or `patient:missing` would answer with everyone's trail: refused as
    the FHIR search router refuses them, or ignored and reported when asked to be lenient."""
    auditor, clinician = sign_in("auditor"), sign_in("clinician")
    client.get("/fhir/Patient/pt", headers=clinician)
    for query in ("entity=Patient/pt&shoe=9", "patient:missing=true"):
        refused = client.get(f"/fhir/AuditEvent?{query}", headers=auditor)
        assert refused.status_code == 400, refused.text
        assert refused.json()["resourceType"] == "OperationOutcome"
        assert "does not support the search parameter" in refused.text
        assert "patient" in refused.json()["issue"][0]["diagnostics"]  # what is supported
    assert "entity, shoe" in client.get("/fhir/AuditEvent?entity=x&shoe=9", headers=auditor).text
    lenient = client.get(
        "/fhir/AuditEvent?patient=pt&entity=x", headers=auditor | {"Prefer": "handling=lenient"}
    ).json()
    assert lenient["entry"][-1]["search"]["mode"] == "outcome" and "entity" in str(lenient)
    assert lenient["total"] >= 1  # the patient filter still applied


def test_break_the_glass_opens_a_labelled_patient_for_the_grant_only(client, sign_in, part2):
    part2.update({"resourceType": "Patient", "id": "vip", "meta": {"security": [ETH]}})
    part2.update(_obs("vip-obs", "vip", [ETH]))
    clinician = sign_in("clinician")
    assert client.get("/fhir/Patient/vip", headers=clinician).status_code == 404
    assert client.get("/fhir/Patient?_id=vip", headers=clinician).json()["total"] == 0
    grant = client.post(
        "/fhir/Patient/vip/$break-the-glass",
        json={"reason": "unresponsive in the ED, overdose suspected"},
        headers=clinician,
    )
    assert grant.status_code == 200, grant.text
    assert client.get("/fhir/Patient/vip", headers=clinician).status_code == 200
    assert client.get("/fhir/Observation/vip-obs", headers=clinician).status_code == 200
    assert client.get("/fhir/Observation/vip-obs/_history/1", headers=clinician).status_code == 200
    found = client.get("/fhir/Observation?patient=vip", headers=clinician).json()
    assert found["total"] == 1
    everything = client.get("/fhir/Patient/vip/$everything", headers=clinician).json()
    assert {e["resource"]["id"] for e in everything["entry"]} == {"vip", "vip-obs"}
    # Other labelled patients stay closed; the grant does not lend the right to relabel.
    assert client.get("/fhir/Observation/eth", headers=clinician).status_code == 404
    unlabel = client.put(
        "/fhir/Observation/vip-obs", json=_obs("vip-obs", "vip"), headers=clinician
    )
    assert unlabel.status_code == 403
    flagged = audit.entries(part2.engine, break_glass=True, username="clinician")
    assert {"break-glass", "read", "vread", "search", "everything"} & {r["action"] for r in flagged}
    assert all(r["purpose"] == "ETREAT" for r in flagged)
    assert any("Patient/vip" in r["resources"] and r["action"] == "read" for r in flagged)
    # When the grant runs out, the patient is closed again.
    with part2.engine.begin() as conn:
        conn.execute(update(break_glass_grant).values(expires="2000-01-01T00:00:00.000000Z"))
    assert client.get("/fhir/Patient/vip", headers=clinician).status_code == 404
    assert client.get("/fhir/Observation/vip-obs", headers=clinician).status_code == 404
    nobody = client.post(
        "/fhir/Patient/nobody/$break-the-glass",
        json={"reason": "unresponsive in the ED, overdose suspected"},
        headers=clinician,
    )
    assert nobody.status_code == 404


def test_refusals_and_server_errors_are_in_the_audit_trail(client, sign_in):
    engine = client.app.state.repo.engine

    def newest():
        return audit.entries(engine, limit=1)[0]

    assert client.get("/fhir/Patient").status_code == 401
    row = newest()
    assert (row["outcome"], row["username"]) == ("denied", None)
    assert "GET /fhir/Patient: 401" in row["detail"]
    bad = {"Authorization": "Bearer not-a-token"}
    assert client.get("/fhir/Patient/x", headers=bad).status_code == 401
    assert newest()["outcome"] == "denied" and "/fhir/Patient/x" in newest()["detail"]
    coder = sign_in("coder")
    assert client.delete("/fhir/Patient/x", headers=coder).status_code == 403
    assert (newest()["outcome"], newest()["username"]) == ("denied", "coder")

    def broken(_user: Annotated[object, Depends(current_user)]):  # resolved at module level
        raise RuntimeError("a bug")

    client.app.add_api_route("/broken", broken)
    crashing = TestClient(client.app, raise_server_exceptions=False)
    answer = crashing.get("/broken", headers=coder)
    assert answer.status_code == 500 and "a bug" not in answer.text
    row = newest()
    assert (row["outcome"], row["username"]) == ("error", "coder")
    assert "GET /broken: 500 RuntimeError" in row["detail"]
    assert audit.verify(engine, client.app.state.audit_key) == []


def test_a_reference_to_a_hidden_record_is_refused_as_one_to_nothing(client, sign_in, part2):
    clinician = sign_in("clinician")

    def refer(target: str):
        report = {
            "resourceType": "DiagnosticReport",
            "status": "final",
            "code": {"text": "toxicology"},
            "subject": {"reference": "Patient/pt"},
            "result": [{"reference": f"Observation/{target}"}],
        }
        entry = {"resource": report, "request": {"method": "POST", "url": "DiagnosticReport"}}
        return _transaction(client, clinician, entry)

    hidden, missing = refer("eth"), refer("nosuch")
    assert hidden.status_code == missing.status_code >= 400
    assert _diagnostics(hidden).replace("eth", "X") == _diagnostics(missing).replace("nosuch", "X")
    assert refer("later").status_code == missing.status_code
