"""Amendment requests (45 CFR 164.526) and their queries (used by
`chartkeeper.privacy.amendments`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    Column,
    Index,
    Integer,
    Row,
    String,
    Table,
    Text,
    or_,
    select,
    tuple_,
)

from chartkeeper.store import rows
from chartkeeper.store.base import ID, STAMP, TYPE, metadata

if TYPE_CHECKING:
    from chartkeeper.store.repository import Transaction

# One row per request; moves requested -> accepted | denied, each step stamped.
amendment_request = Table(
    "amendment_request",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("patient_id", String(ID), nullable=False),
    Column("resource_type", String(TYPE), nullable=False),
    Column("resource_id", String(ID), nullable=False),
    Column("base_version", Integer, nullable=False),  # the version the patient asked about
    Column("requested_change", Text, nullable=False),
    Column("proposed", Text),  # JSON: the patient's proposed new version, if any
    Column("requested_by", Text, nullable=False),
    Column("received", String(STAMP), nullable=False),
    Column("logged_by", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # requested | accepted | denied
    Column("extended", String(STAMP)),
    Column("extended_by", String(64)),
    Column("extension_reason", Text),
    Column("decided", String(STAMP)),
    Column("decided_by", String(64)),
    Column("new_version", Integer),
    Column("provenance_id", String(ID)),
    Column("denial_reason", Text),
    Column("include_in_disclosures", Boolean, nullable=False),
    Column("disagreement", Text),
    Column("disagreement_received", String(STAMP)),
    Column("rebuttal", Text),
    Column("rebuttal_by", String(64)),
)
Index("ix_amendment_resource", amendment_request.c.resource_type, amendment_request.c.resource_id)
Index("ix_amendment_patient", amendment_request.c.patient_id)


# --- queries (the HIPAA rules live in chartkeeper.privacy.amendments)

_CHUNK = 400  # (type, id) pairs per IN list: 800 parameters, well under either database's limit


def add_amendment(tx: Transaction, **values) -> int:
    return rows.add(tx, amendment_request, values)


def get_amendment(tx: Transaction, amendment_id: int, *, lock: bool = False) -> Row | None:
    return rows.get(tx, amendment_request, amendment_id, lock=lock)


def find_amendments(
    tx: Transaction, *, patient_id: str | None = None, status: str | None = None
) -> list[Row]:
    return rows.find(tx, amendment_request, patient_id=patient_id, status=status)


def move_amendment(tx: Transaction, amendment_id: int, from_status: str, values: dict) -> bool:
    return rows.move(tx, amendment_request, amendment_id, from_status, values)


def travelling_rows(tx: Transaction, keys: list[tuple[str, str]]) -> list[Row]:
    """Denied requests about these (type, id) records that must go with a disclosure:
    those with a statement of disagreement or whose patient asked."""
    c = amendment_request.c
    found: list[Row] = []
    for start in range(0, len(keys), _CHUNK):
        query = (
            select(amendment_request)
            .where(
                tuple_(c.resource_type, c.resource_id).in_(keys[start : start + _CHUNK]),
                c.status == "denied",
                or_(c.include_in_disclosures.is_(True), c.disagreement.is_not(None)),
            )
            .order_by(c.id)
        )
        found.extend(tx.conn.execute(query))
    return found
