"""The audit trail's tables (used by `chartkeeper.privacy.audit`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)

from chartkeeper.store.base import STAMP, metadata
from chartkeeper.store.dialect import like_escape
from chartkeeper.store.engine import writing as engine_writing
from chartkeeper.store.resources import resource

# --- audit trail (chartkeeper.privacy.audit): append-only, each row chained to the last by
# an HMAC, so a changed, removed or inserted row is found by `chartkeeper audit verify`.

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("recorded", String(STAMP), nullable=False),
    Column("username", String(64)),
    Column("role", String(32)),
    Column("action", String(32), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("resources", Text, nullable=False),  # JSON list of "Type/id"
    Column("patients", Text, nullable=False),  # JSON list of patient ids concerned
    Column("source", String(64)),  # the client's network address
    Column("purpose", String(32)),  # purpose of use, HL7 v3 ActReason
    Column("break_glass", Boolean, nullable=False),
    Column("detail", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
Index("ix_audit_log_recorded", audit_log.c.recorded)

# One row: the last sequence number and hash, so removing rows from the end shows too.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("seal", String(64)),  # HMAC(audit key, seq and hash): a rewritten head shows
)


# --- the rows behind chartkeeper.privacy.audit (which keeps the hashing and the rules) ----


writing = engine_writing  # the head's seal and refusals recorded alone


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        yield conn


def head(conn: Connection, *, for_update: bool = False):
    """The one head row (seq, hash, seal); locked for the transaction when asked."""
    query = select(audit_head).where(audit_head.c.id == 1)
    return conn.execute(query.with_for_update() if for_update else query).one()


def set_head(conn: Connection, **values) -> None:
    conn.execute(update(audit_head).where(audit_head.c.id == 1).values(**values))


def holds_nothing(conn: Connection) -> bool:
    """No audit row and no record: a store as the migrations left it."""
    return (
        conn.execute(select(audit_log.c.seq).limit(1)).first() is None
        and conn.execute(select(resource.c.id).limit(1)).first() is None
    )


def first_recorded(conn: Connection) -> str:
    first = conn.execute(select(audit_log.c.recorded).order_by(audit_log.c.seq)).first()
    return first.recorded if first else ""


def append(conn: Connection, row: dict) -> None:
    conn.execute(insert(audit_log), [row])


def rows_in_order(conn: Connection) -> Iterator[dict]:
    """Every row, oldest first, streamed (a trail can hold millions)."""
    result = conn.execution_options(yield_per=1000).execute(
        select(audit_log).order_by(audit_log.c.seq)
    )
    for row in result.mappings():
        yield dict(row)


def find(
    engine: Engine,
    *,
    patient: str | None = None,
    username: str | None = None,
    action: str | None = None,
    since: str | None = None,
    break_glass: bool | None = None,
    seq: int | None = None,
    limit: int = 1000,
    offset: int = 0,
) -> list[dict]:
    """Audit rows, newest first, filtered by any of the arguments."""
    query = select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit).offset(offset)
    if seq is not None:
        query = query.where(audit_log.c.seq == seq)
    if patient:
        # Escaped: `patient=%` is a patient id, not a wildcard that matches everyone.
        query = query.where(audit_log.c.patients.like(f'%"{like_escape(patient)}"%', escape="\\"))
    if username:
        query = query.where(audit_log.c.username == username)
    if action:
        query = query.where(audit_log.c.action == action)
    if since:
        query = query.where(audit_log.c.recorded >= since)
    if break_glass is not None:
        query = query.where(audit_log.c.break_glass.is_(break_glass))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]
