"""Break-the-glass grants (used by `chartkeeper.privacy.access`): who opened which
patient's labelled records, why, and until when."""

from __future__ import annotations

from sqlalchemy import (
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
)

from chartkeeper.store.base import ID, STAMP, metadata

# One row per grant; a grant is never updated, it expires.
break_glass_grant = Table(
    "break_glass_grant",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False),
    Column("patient_id", String(ID), nullable=False),
    Column("reason", Text, nullable=False),
    Column("granted", String(STAMP), nullable=False),
    Column("expires", String(STAMP), nullable=False),
)
Index("ix_break_glass_user", break_glass_grant.c.username, break_glass_grant.c.expires)


def active_patients(engine: Engine, username: str, now: str) -> set[str]:
    """The patients whose records this user's unexpired grants open."""
    g = break_glass_grant.c
    with engine.connect() as conn:
        found = conn.execute(select(g.patient_id).where(g.username == username, g.expires > now))
        return set(found.scalars())


def add_grant(conn: Connection, **values) -> None:
    """Record a grant on the caller's write connection (its audit row goes in the same)."""
    conn.execute(insert(break_glass_grant), [values])
