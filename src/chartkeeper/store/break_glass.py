"""Break-the-glass grants (used by `chartkeeper.privacy.access`): who opened which
patient's labelled records, why, and until when."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

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
