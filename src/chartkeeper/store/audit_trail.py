"""The audit trail's tables (used by `chartkeeper.privacy.audit`)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, String, Table, Text

from chartkeeper.store.base import STAMP, metadata

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
