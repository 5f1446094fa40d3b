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
            # The writer lets go half a second later: the audit row waits for it.
            threading.Timer(0.5, release.set).start()
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


def test_concurrent_reads_share_one_durable_audit_commit(repo, monkeypatch):
    """Group commit: reads queued behind a commit are audited together in the next one;
    each answers only after its own row is stored, and a reader whose audit fails fails
    alone (its group is written again reader by reader)."""
    from chartkeeper.store import repository

    audit.open_trail(repo.engine, KEY)
    repo.update({"resourceType": "Patient", "id": "g1"})
    commits = []
    real = repository.durable_write

    def counted(engine):
        commits.append(1)
        return real(engine)

    monkeypatch.setattr(repository, "durable_write", counted)
    held, release = threading.Event(), threading.Event()

    def writer() -> None:  # holds what every audit commit needs (the trail's head)
        with repo.engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
            conn.execute(text("UPDATE audit_head SET seq = seq"))
            held.set()
            release.wait(30)

    broken = UserGuard(repo.engine, KEY, User("broken", "him"))
    monkeypatch.setattr(broken, "audit", lambda *_a, **_k: (_ for _ in ()).throw(RuntimeError))
    outcomes: dict[str, str] = {}

    def reader(name: str) -> None:
        guard = broken if name == "broken" else UserGuard(repo.engine, KEY, User(name, "him"))
        try:
            outcomes[name] = repo.guarded(guard).read("Patient", "g1")["id"]
        except RuntimeError:
            outcomes[name] = "failed"

    lock_holder = threading.Thread(target=writer)
    lock_holder.start()
    names = [f"clerk{i}" for i in range(8)] + ["broken"]
    try:
        assert held.wait(30)
        group = repository._group_commit(repo.engine)
        first = threading.Thread(target=reader, args=(names[0],))
        first.start()  # the leader: its commit waits for the writer
        deadline = time.monotonic() + 30
        while not group._leading and time.monotonic() < deadline:
            time.sleep(0.01)
        readers = [threading.Thread(target=reader, args=(n,)) for n in names[1:]]
        for thread in readers:
            thread.start()
        deadline = time.monotonic() + 30
        while len(group._queue) < len(readers) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(group._queue) == len(readers)  # all queued for the next commit
        assert outcomes == {}  # nobody answered before the commit holding their row
    finally:
        release.set()
        lock_holder.join(30)
    for thread in [first, *readers]:
        thread.join(30)
    assert outcomes == {**{n: "g1" for n in names[:-1]}, "broken": "failed"}
    # The leader's commit, the group's (which failed on the broken guard), then the group
    # again one by one: 2 + 8, where one commit per read would be 9, each behind the last.
    assert len(commits) == 2 + len(readers)
    rows = audit.entries(repo.engine, patient="g1")
    assert sorted(r["username"] for r in rows if r["action"] == "read") == names[:-1]
    assert audit.verify(repo.engine, KEY) == []
