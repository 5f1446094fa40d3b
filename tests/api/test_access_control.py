"""Who may do what: every route against every role, sensitive records through every door,
break-the-glass, sign-in lockout and automatic log-off."""

from __future__ import annotations

import time

import pytest

from chartkeeper.privacy import audit
from chartkeeper.privacy.users import ROLES

HIV = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "HIV"}
PSYNOTE = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSYTHPN"}

# route -> expected status per role, and without a token. One row per route of the app
# that serves or changes records; test_route_security proves the list of routes is whole.
MATRIX = {
    ("GET", "/fhir/Patient?_count=1"): dict(
        him=200, coder=200, registrar=200, clinician=200, auditor=403, admin=200
    ),
    ("POST", "/fhir/Patient"): dict(
        him=201, coder=403, registrar=403, clinician=201, auditor=403, admin=201
    ),
    ("POST", "/fhir/Patient/_search"): dict(
        him=200, coder=200, registrar=200, clinician=200, auditor=403, admin=200
    ),
    ("GET", "/fhir/Patient/{pid}"): dict(
        him=200, coder=200, registrar=200, clinician=200, auditor=403, admin=200
    ),
    ("PUT", "/fhir/Patient/{pid}"): dict(
        him=200, coder=403, registrar=403, clinician=200, auditor=403, admin=200
    ),
    ("GET", "/fhir/Patient/{pid}/_history"): dict(
        him=200, coder=200, registrar=200, clinician=200, auditor=403, admin=200
    ),
    ("GET", "/fhir/Patient/{pid}/_history/1"): dict(
        him=200, coder=200, registrar=200, clinician=200, auditor=403, admin=200
    ),
    ("GET", "/fhir/Patient/_history"): dict(
        him=200, coder=200, registrar=200, clinician=200, auditor=403, admin=200
    ),
    ("GET", "/fhir/Patient/{pid}/$everything"): dict(
        him=200, coder=200, registrar=200, clinician=200, auditor=403, admin=200
    ),
    ("POST", "/fhir/Condition"): dict(
        him=201, coder=201, registrar=201, clinician=201, auditor=403, admin=201
    ),
    ("GET", "/fhir/_history"): dict(
        him=200, coder=200, registrar=200, clinician=200, auditor=403, admin=200
    ),
    ("POST", "/fhir"): dict(
        him=200, coder=403, registrar=403, clinician=200, auditor=403, admin=200
    ),
    ("GET", "/fhir/$export"): dict(
        him=202, coder=403, registrar=403, clinician=403, auditor=403, admin=202
    ),
    ("GET", "/fhir/Patient/$export"): dict(
        him=202, coder=403, registrar=403, clinician=403, auditor=403, admin=202
    ),
    ("GET", "/fhir/AuditEvent"): dict(
        him=200, coder=403, registrar=403, clinician=403, auditor=200, admin=200
    ),
    ("DELETE", "/fhir/AuditEvent/1"): dict(
        him=405, coder=403, registrar=403, clinician=403, auditor=405, admin=405
    ),
    ("POST", "/fhir/Patient/{pid}/$break-the-glass"): dict(
        him=200, coder=200, registrar=200, clinician=200, auditor=403, admin=200
    ),
    ("DELETE", "/fhir/Patient/{pid}"): dict(
        him=204, coder=403, registrar=403, clinician=403, auditor=403, admin=204
    ),
}


def _body(method: str, path: str, pid: str):
    if path == "/fhir":
        return {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "resource": {"resourceType": "Patient"},
                    "request": {"method": "POST", "url": "Patient"},
                }
            ],
        }
    if path.endswith("$break-the-glass"):
        return {"reason": "unconscious patient in the emergency department"}
    if path == "/fhir/Condition":
        return {
            "resourceType": "Condition",
            "subject": {"reference": f"Patient/{pid}"},
            "code": {"text": "x"},
        }
    if method == "PUT":
        return {"resourceType": "Patient", "id": pid, "gender": "other"}
    return {"resourceType": "Patient"} if method == "POST" else None


@pytest.mark.parametrize("role", [*ROLES, None])
def test_route_by_role_matrix(client, him, sign_in, role):
    headers = sign_in(role) if role else {}
    for (method, template), expected in MATRIX.items():
        pid = client.post("/fhir/Patient", json={"resourceType": "Patient"}, headers=him).json()[
            "id"
        ]
        path = template.format(pid=pid)
        body = _body(method, path, pid)
        if path.endswith("/_search"):
            answer = client.post(path, data={"_count": "1"}, headers=headers)
        else:
            answer = client.request(method, path, json=body, headers=headers)
        want = expected[role] if role else 401
        assert answer.status_code == want, (
            f"{role} {method} {path}: {answer.status_code} {answer.text[:200]}"
        )


@pytest.fixture
def sensitive_chart(client, him):
    """A patient with an ordinary, an HIV-labelled and a psychotherapy-note resource."""
    pid = client.post(
        "/fhir/Patient",
        json={"resourceType": "Patient", "name": [{"family": "Label"}]},
        headers=him,
    ).json()["id"]
    ids = {}
    for name, labels in (("plain", []), ("hiv", [HIV]), ("psy", [PSYNOTE])):
        obs = {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": name},
            "subject": {"reference": f"Patient/{pid}"},
        }
        if labels:
            obs["meta"] = {"security": labels}
        answer = client.post("/fhir/Observation", json=obs, headers=him)
        assert answer.status_code == 201 or name == "psy", answer.text
        ids[name] = answer.json().get("id")
    return pid, ids


def _everything_seen(client, headers, pid) -> set[str]:
    """Every Observation id the caller can reach through any door."""
    seen: set[str] = set()

    def collect(bundle):
        seen.update(
            e["resource"]["id"]
            for e in bundle.get("entry", [])
            if e.get("resource", {}).get("resourceType") == "Observation"
        )

    collect(client.get(f"/fhir/Observation?patient=Patient/{pid}", headers=headers).json())
    collect(client.get("/fhir/Observation?_security=HIV", headers=headers).json())
    collect(
        client.get(
            f"/fhir/Patient?_id={pid}&_revinclude=Observation:patient", headers=headers
        ).json()
    )
    collect(client.get(f"/fhir/Patient/{pid}/$everything", headers=headers).json())
    collect(client.get("/fhir/Observation/_history", headers=headers).json())
    kick = client.get("/fhir/Patient/$export", headers=headers)
    if kick.status_code == 202:
        for _ in range(600):  # a loaded CI machine: up to 30 s
            status = client.get(kick.headers["Content-Location"], headers=headers)
            if status.status_code == 200:
                break
            time.sleep(0.05)
        for output in status.json()["output"]:
            if output["type"] == "Observation":
                for line in client.get(output["url"], headers=headers).text.splitlines():
                    seen.add(__import__("json").loads(line)["id"])
    return seen


def test_sensitive_records_never_leak(client, him, sign_in, sensitive_chart):
    pid, ids = sensitive_chart
    # A psychotherapy note is visible to no role, so no role may label one either.
    assert ids["psy"] is None
    registrar = sign_in("registrar")
    # A hidden record answers as a missing one does: its existence does not leak.
    hidden = client.get(f"/fhir/Observation/{ids['hiv']}", headers=registrar)
    missing = client.get("/fhir/Observation/no-such-id", headers=registrar)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["issue"][0]["diagnostics"].replace(ids["hiv"], "X") == missing.json()[
        "issue"
    ][0]["diagnostics"].replace("no-such-id", "X")
    seen = _everything_seen(client, registrar, pid)
    assert ids["plain"] in seen and ids["hiv"] not in seen
    total = client.get(f"/fhir/Observation?patient=Patient/{pid}", headers=registrar).json()[
        "total"
    ]
    assert total == 1  # counts do not betray the hidden record either
    clinician = sign_in("clinician")
    assert client.get(f"/fhir/Observation/{ids['hiv']}", headers=clinician).status_code == 200


def test_break_the_glass_opens_for_a_while_and_is_flagged(client, sign_in, sensitive_chart):
    pid, ids = sensitive_chart
    registrar = sign_in("registrar")
    short = client.post(
        f"/fhir/Patient/{pid}/$break-the-glass", json={"reason": "urgent"}, headers=registrar
    )
    assert short.status_code == 400  # a reason must say something
    grant = client.post(
        f"/fhir/Patient/{pid}/$break-the-glass",
        json={"reason": "patient collapsed; need full history"},
        headers=registrar,
    )
    assert grant.status_code == 200
    assert client.get(f"/fhir/Observation/{ids['hiv']}", headers=registrar).status_code == 200
    engine = client.app.state.repo.engine
    # Psychotherapy notes stay sealed under the grant (no emergency exception in HIPAA),
    # through every door: a read, a search, its count, $everything.
    note = {
        "resourceType": "Observation",
        "id": "psy-note",
        "meta": {"security": [PSYNOTE]},
        "status": "final",
        "code": {"text": "psychotherapy session"},
        "subject": {"reference": f"Patient/{pid}"},
    }
    with client.app.state.repo.transaction() as tx:  # trusted: no role may write this label
        tx.update(note)
    assert client.get("/fhir/Observation/psy-note", headers=registrar).status_code == 404
    assert "psy-note" not in _everything_seen(client, registrar, pid)
    found = client.get(f"/fhir/Observation?patient=Patient/{pid}", headers=registrar).json()
    assert found["total"] == 2  # the plain and the HIV observations the grant opened
    flagged = audit.entries(engine, break_glass=True)
    assert {r["action"] for r in flagged} >= {"break-glass", "read"}
    assert all(r["username"] == "registrar" for r in flagged)
    audit_key = client.app.state.audit_key
    assert audit.verify(engine, audit_key) == []


def test_sign_ins_are_audited_and_repeated_failures_lock(client):
    for _ in range(5):
        assert (
            client.post(
                "/auth/token", data={"username": "coder", "password": "wrong guess!!"}
            ).status_code
            == 401
        )
    locked = client.post(
        "/auth/token", data={"username": "coder", "password": "correct horse battery"}
    )
    assert locked.status_code == 401 and "locked" in locked.text
    actions = [r["action"] for r in audit.entries(client.app.state.repo.engine, username="coder")]
    assert actions.count("login-failed") == 6


def test_idle_tokens_are_signed_off(client, sign_in):
    headers = sign_in("him")
    assert client.get("/fhir/Patient?_count=1", headers=headers).status_code == 200
    settings = client.app.state.settings
    client.app.state.settings = type(settings)(**{**settings.__dict__, "idle_minutes": 0})
    answer = client.get("/fhir/Patient?_count=1", headers=headers)
    assert answer.status_code == 401 and "without activity" in answer.text


@pytest.mark.parametrize(
    "password", ["short", "passwordpassword", "aaaaaaaaaaaaaaaa", "xxnewuserxxyy1"]
)
def test_weak_passwords_are_refused(repo, password):
    from chartkeeper.errors import BadRequest
    from chartkeeper.privacy.users import add_user

    with pytest.raises(BadRequest):
        add_user(repo.engine, "newuser", password, "coder")


def test_sign_out_ends_the_token_at_once(client, sign_in):
    headers = sign_in("clinician")
    assert client.post("/auth/logout", headers=headers).status_code == 204
    assert client.get("/fhir/Patient?_count=1", headers=headers).status_code == 401
    actions = [
        r["action"] for r in audit.entries(client.app.state.repo.engine, username="clinician")
    ]
    assert "logout" in actions and "login" in actions
