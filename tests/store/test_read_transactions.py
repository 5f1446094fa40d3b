"""Signed-in reads run in read transactions: they neither wait for a writer nor block one,
and their audit rows are stored (durably) before the read returns."""

from __future__ import annotations

import threading
import time

from sqlalchemy import text

from chartkeeper.privacy import audit
from chartkeeper.privacy.access import UserGuard
from chartkeeper.privacy.users import User
from chartkeeper.store.engine import WRITE

KEY = audit.AuditKey(b"test key, not a secret")


def test_a_guarded_read_does_not_wait_for_a_writer_and_is_audited_first(repo):
    audit.open_trail(repo.engine, KEY)
    repo.update({"resourceType": "Patient", "id": "r1", "gender": "female"})
    clerk = repo.guarded(UserGuard(repo.engine, KEY, User("clerk", "him")))
    held = threading.Event()
    release = threading.Event()

    def writer() -> None:  # a long write transaction, holding the write lock
        with repo.engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
            conn.execute(text("UPDATE resource SET last_updated = last_updated"))
            held.set()
            release.wait(30)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert held.wait(30)
        started = time.monotonic()
        with clerk.reading() as tx:  # the reads themselves: no write lock needed
            assert tx.read("Patient", "r1")["gender"] == "female"
            assert time.monotonic() - started < 5
    except BaseException:
        release.set()
        raise
    finally:
        release.set()
        thread.join(30)
    # The audit row was written after the writer let go, before reading() returned.
    rows = audit.entries(repo.engine, patient="r1")
    assert [(r["action"], r["username"]) for r in rows] == [("read", "clerk")]
    assert audit.verify(repo.engine, KEY) == []


def test_a_read_whose_audit_cannot_be_stored_fails(repo, monkeypatch):
    repo.update({"resourceType": "Patient", "id": "r2"})
    guard = UserGuard(repo.engine, KEY, User("clerk", "him"))

    def broken(*_args, **_kw):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(guard, "audit", broken)
    clerk = repo.guarded(guard)
    try:
        clerk.read("Patient", "r2")
    except RuntimeError:
        pass
    else:
        raise AssertionError("a read answered without its audit row")
