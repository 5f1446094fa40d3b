"""The audit trail: written for every access in the same transaction, and tamper-evident."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from chartkeeper.errors import Forbidden, InvalidResource
from chartkeeper.privacy import audit
from chartkeeper.privacy.access import UserGuard
from chartkeeper.privacy.users import User

KEY = audit.AuditKey(b"test key, not a secret")


@pytest.fixture
def clerk_repo(repo):
    return repo.guarded(UserGuard(repo.engine, KEY, User("clerk", "him"), source="10.0.0.7"))


def _actions(repo) -> list[tuple[str, str]]:
    return [(r["action"], r["outcome"]) for r in reversed(audit.entries(repo.engine))]


def test_every_access_is_recorded_with_who_what_where_why(repo, clerk_repo):
    created = clerk_repo.create({"resourceType": "Patient", "gender": "female"})
    pid = created["id"]
    clerk_repo.read("Patient", pid)
    clerk_repo.search("Patient", [("gender", "female")])
    clerk_repo.update({**created, "gender": "male"})
    clerk_repo.history("Patient", pid)
    clerk_repo.delete("Patient", pid)
    assert _actions(repo) == [
        ("create", "success"),
        ("read", "success"),
        ("search", "success"),
        ("update", "success"),
        ("history", "success"),
        ("delete", "success"),
    ]
    newest = audit.entries(repo.engine)[0]
    assert newest["username"] == "clerk" and newest["role"] == "him"
    assert newest["source"] == "10.0.0.7" and newest["purpose"] == "TREAT"
    assert audit.entries(repo.engine, patient=pid)  # the patient's access report finds them
    assert audit.verify(repo.engine, KEY) == []


def test_refused_and_failed_accesses_are_recorded_and_nothing_else_is(repo):
    auditor = repo.guarded(UserGuard(repo.engine, KEY, User("eve", "auditor")))
    with pytest.raises(Forbidden):
        auditor.read("Patient", "x")
    clerk = repo.guarded(UserGuard(repo.engine, KEY, User("clerk", "him")))
    with pytest.raises(InvalidResource):
        clerk.create({"resourceType": "Patient", "birthDate": "yesterday"})
    # The failed create left no "create success" row: audit and change share a transaction.
    assert _actions(repo) == [("read", "denied"), ("write", "failure")]


def _tamper(repo, *statements: str) -> None:
    with repo.engine.begin() as conn:
        if repo.engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        else:
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change"))
        for statement in statements:
            conn.execute(text(statement))


def _five_events(repo, clerk_repo) -> None:
    pid = clerk_repo.create({"resourceType": "Patient"})["id"]
    for _ in range(4):
        clerk_repo.read("Patient", pid)
    assert audit.verify(repo.engine, KEY) == []


def test_the_database_refuses_to_change_the_log(repo, clerk_repo):
    _five_events(repo, clerk_repo)
    with pytest.raises(Exception, match="append-only"), repo.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET username = 'mallory' WHERE seq = 2"))
    with pytest.raises(Exception, match="append-only"), repo.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 2"))


@pytest.mark.parametrize(
    ("statements", "expected"),
    [
        (["UPDATE audit_log SET username = 'mallory' WHERE seq = 3"], ["row 3: was altered"]),
        (["DELETE FROM audit_log WHERE seq = 2"], ["rows 2 are missing"]),
        (["DELETE FROM audit_log WHERE seq >= 4"], ["the log ends at row 3 but its head says 5"]),
        (
            [
                "INSERT INTO audit_log SELECT 6, recorded, 'mallory', role, action, outcome, "
                "resources, patients, source, purpose, break_glass, detail, hash, hash "
                "FROM audit_log WHERE seq = 5"
            ],
            ["row 6: was altered", "head says 5"],
        ),
    ],
    ids=["changed", "deleted", "cut-end", "inserted"],
)
def test_verify_names_each_tampered_row(repo, clerk_repo, statements, expected):
    _five_events(repo, clerk_repo)
    _tamper(repo, *statements)
    problems = " | ".join(str(p) for p in audit.verify(repo.engine, KEY))
    for fragment in expected:
        assert fragment in problems


def test_a_different_key_cannot_forge_rows(repo, clerk_repo):
    _five_events(repo, clerk_repo)
    assert audit.verify(repo.engine, audit.AuditKey(b"someone else's key"))


def test_audit_event_shape(repo, clerk_repo):
    pid = clerk_repo.create({"resourceType": "Patient"})["id"]
    event = audit.as_audit_event(audit.entries(repo.engine)[0])
    assert event["resourceType"] == "AuditEvent" and event["action"] == "C"
    assert event["entity"] == [{"what": {"reference": f"Patient/{pid}"}}]
    assert event["agent"][0]["who"]["identifier"]["value"] == "clerk"
    from chartkeeper.fhir.validation import validate

    validate(event)
