"""The audit trail: written for every access in the same transaction, and tamper-evident."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from chartkeeper.errors import Forbidden, InvalidResource
from chartkeeper.privacy import audit
from chartkeeper.privacy.access import UserGuard
from chartkeeper.privacy.users import User
from chartkeeper.store import audit_trail

KEY = audit.AuditKey(b"test key, not a secret")


@pytest.fixture
def clerk_repo(repo):
    audit.open_trail(repo.engine, KEY)
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
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
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
        (  # the tail cut and the head rewritten to match what is left
            [
                "DELETE FROM audit_log WHERE seq >= 4",
                "UPDATE audit_head SET seq = 3, hash = (SELECT hash FROM audit_log WHERE seq = 3)",
            ],
            ["the head (row 3) does not carry its seal"],
        ),
        (  # every row wiped and the head reset to how a new store starts
            ["DELETE FROM audit_log", f"UPDATE audit_head SET seq = 0, hash = '{'0' * 64}'"],
            ["the head (row 0) does not carry its seal"],
        ),
        (  # ... and its seal cleared too, as the migration leaves a new store's head
            [
                "DELETE FROM audit_log",
                f"UPDATE audit_head SET seq = 0, hash = '{'0' * 64}', seal = NULL",
            ],
            ["the head (row 0) does not carry its seal"],
        ),
    ],
    ids=["changed", "deleted", "cut-end", "inserted", "cut+head", "wiped+head", "wiped+unsealed"],
)
def test_verify_names_each_tampered_row(repo, clerk_repo, statements, expected):
    _five_events(repo, clerk_repo)
    _tamper(repo, *statements)
    problems = " | ".join(str(p) for p in audit.verify(repo.engine, KEY))
    for fragment in expected:
        assert fragment in problems
    if "seal" in expected[0]:  # what is recorded later, or opening the store again, hides nothing
        audit.open_trail(repo.engine, KEY)
        clerk_repo.search("Patient")
        assert "does not carry its seal" in str(audit.verify(repo.engine, KEY))


def test_a_checkpoint_kept_elsewhere_finds_a_rollback_to_an_older_sealed_head(repo, clerk_repo):
    _five_events(repo, clerk_repo)
    with repo.engine.connect() as conn:
        old_head = conn.execute(text("SELECT seq, hash, seal FROM audit_head")).one()
    clerk_repo.search("Patient")
    kept = audit.checkpoint(repo.engine, KEY).dumps()  # what the operator prints and keeps
    assert audit.verify(repo.engine, KEY, checkpoint=audit.Checkpoint.loads(kept)) == []
    clerk_repo.search("Patient")
    assert audit.verify(repo.engine, KEY, checkpoint=audit.Checkpoint.loads(kept)) == []
    # Someone who copied an earlier sealed head restores it and cuts the rows after it:
    # the key alone cannot tell, the checkpoint can.
    _tamper(
        repo,
        f"DELETE FROM audit_log WHERE seq > {old_head.seq}",
        f"UPDATE audit_head SET seq = {old_head.seq}, hash = '{old_head.hash}', "
        f"seal = '{old_head.seal}'",
    )
    assert audit.verify(repo.engine, KEY) == []
    problems = audit.verify(repo.engine, KEY, checkpoint=audit.Checkpoint.loads(kept))
    assert "is no longer in the trail" in " | ".join(map(str, problems))


def test_a_checkpoint_finds_a_trail_rewritten_with_the_key_and_cannot_be_forged(repo, clerk_repo):
    _five_events(repo, clerk_repo)
    kept = audit.checkpoint(repo.engine, KEY)
    forged = audit.Checkpoint(kept.seq, kept.hash, kept.time, "0" * 64)
    assert "signature does not match" in str(audit.verify(repo.engine, KEY, checkpoint=forged)[0])
    # Someone holding the key rewrites row 5 and re-seals the head: the chain and the
    # seal are consistent again, yet the checkpoint's row is not the row it signed.
    with repo.engine.connect() as conn:
        log = audit_trail.audit_log
        row = dict(conn.execute(log.select().where(log.c.seq == 5)).mappings().one())
    row["detail"] = "nothing to see"
    forged_hash = audit._digest(KEY, row["prev_hash"], row)
    _tamper(
        repo,
        f"UPDATE audit_log SET detail = 'nothing to see', hash = '{forged_hash}' WHERE seq = 5",
        f"UPDATE audit_head SET hash = '{forged_hash}', seal = '{audit._seal(KEY, 5, forged_hash)}'",
    )
    assert audit.verify(repo.engine, KEY) == []
    problems = " | ".join(map(str, audit.verify(repo.engine, KEY, checkpoint=kept)))
    assert f"row {kept.seq}: differs from the checkpoint" in problems
    with pytest.raises(ValueError, match="JSON line"):
        audit.Checkpoint.loads("seq=5")


def test_the_access_report_takes_a_patient_id_literally(repo, clerk_repo):
    first = clerk_repo.create({"resourceType": "Patient"})["id"]
    clerk_repo.create({"resourceType": "Patient"})
    assert audit.entries(repo.engine, patient="%") == []
    assert audit.entries(repo.engine, patient="_" * len(first)) == []
    assert len(audit.entries(repo.engine, patient=first)) == 1


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


def test_checkpoint_and_verify_from_the_command_line(tmp_path):
    from typer.testing import CliRunner

    from chartkeeper.cli import app

    def run(*args: str):
        return CliRunner().invoke(app, [*args, "--data-dir", str(tmp_path / "data")])

    (tmp_path / "p.json").write_text('{"resourceType": "Patient", "id": "cp1"}')
    assert run("import", str(tmp_path / "p.json"), "--workers", "0").exit_code == 0
    printed = run("audit", "checkpoint")
    assert printed.exit_code == 0, printed.output
    line = printed.stdout.strip().splitlines()[-1]
    kept = audit.Checkpoint.loads(line)
    (tmp_path / "kept.json").write_text(line)
    assert run("import", str(tmp_path / "p.json"), "--workers", "0").exit_code == 0
    for given in (line, str(tmp_path / "kept.json")):
        verified = run("audit", "verify", "--checkpoint", given)
        assert verified.exit_code == 0 and f"holds row {kept.seq}" in verified.stdout
    bad = run("audit", "verify", "--checkpoint", "not a checkpoint")
    assert bad.exit_code == 2 and "JSON line" in bad.output
    forged = line.replace(kept.signature, "f" * 64)
    refused = run("audit", "verify", "--checkpoint", forged)
    assert refused.exit_code == 1 and "signature does not match" in refused.stdout


def test_a_trail_from_before_seals_is_sealed_only_whole_and_only_once(repo, clerk_repo):
    from chartkeeper.errors import Conflict

    _five_events(repo, clerk_repo)
    _tamper(repo, "UPDATE audit_head SET seal = NULL")  # as a store upgraded from before
    assert "does not carry its seal" in str(audit.verify(repo.engine, KEY))
    assert audit.seal_unsealed(repo.engine, KEY)[0] == 5
    assert audit.verify(repo.engine, KEY) == []
    with pytest.raises(Conflict, match="carries a seal already"):
        audit.seal_unsealed(repo.engine, KEY)
    _tamper(repo, "UPDATE audit_head SET seal = 'forged'")
    with pytest.raises(Conflict, match="does not match"):
        audit.seal_unsealed(repo.engine, KEY)
    _tamper(repo, "UPDATE audit_head SET seal = NULL", "DELETE FROM audit_log WHERE seq = 2")
    with pytest.raises(Conflict, match="not intact"):
        audit.seal_unsealed(repo.engine, KEY)
