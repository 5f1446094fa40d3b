"""Release-of-information requests and disclosure records, and their queries
(used by `chartkeeper.privacy.disclosures`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Column, Index, Integer, Row, String, Table, Text, select

from chartkeeper.store import rows
from chartkeeper.store.base import ID, STAMP, metadata

if TYPE_CHECKING:
    from chartkeeper.store.repository import Transaction

# --- release of information and amendments (chartkeeper.privacy.disclosures, .amendments):
# requests move through states, so these rows are updated, each transition stamped with
# when and by whom. What a request names (requester, authorization, what is asked) is kept
# as JSON: it is read whole, never searched by part. Disclosure records are append-only
# in use; the accounting of disclosures (45 CFR 164.528) reads them by patient and date.

roi_request = Table(
    "roi_request",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("patient_id", String(ID), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # logged | validated | fulfilled | denied
    Column("requester", Text, nullable=False),  # JSON: name, organization, address
    Column("authorization", Text, nullable=False),  # JSON: reference, basis, dates, scope
    Column("asked", Text, nullable=False),  # JSON scope: types, start, end, items
    Column("logged", String(STAMP), nullable=False),
    Column("logged_by", String(64), nullable=False),
    Column("validated", String(STAMP)),
    Column("validated_by", String(64)),
    Column("fulfilled", String(STAMP)),
    Column("fulfilled_by", String(64)),
    Column("denied", String(STAMP)),
    Column("denied_by", String(64)),
    Column("denial_reason", Text),
    Column("withheld", Text),  # JSON list of {ref, reason, sensitive}: the HIM worksheet
    Column("packet", Text),  # path of the packet PDF in the data directory
)
Index("ix_roi_request_patient", roi_request.c.patient_id, roi_request.c.status)

disclosure_record = Table(
    "disclosure_record",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("request_id", Integer, nullable=False),
    Column("patient_id", String(ID), nullable=False),
    Column("disclosed", String(STAMP), nullable=False),
    Column("recipient_name", Text, nullable=False),
    Column("recipient_address", Text, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("resources", Text, nullable=False),  # JSON list of "Type/id/_history/n" disclosed
    Column("disclosed_by", String(64), nullable=False),
    Column("exemption", Text),  # the 164.528(a)(1) exemption that applies, NULL if none
)
Index("ix_disclosure_patient", disclosure_record.c.patient_id, disclosure_record.c.disclosed)


# --- queries (the HIPAA rules live in chartkeeper.privacy.disclosures)


def add_request(tx: Transaction, **values) -> int:
    return rows.add(tx, roi_request, values)


def get_request(tx: Transaction, request_id: int, *, lock: bool = False) -> Row | None:
    return rows.get(tx, roi_request, request_id, lock=lock)


def find_requests(
    tx: Transaction, *, patient_id: str | None = None, status: str | None = None
) -> list[Row]:
    return rows.find(tx, roi_request, patient_id=patient_id, status=status)


def move_request(tx: Transaction, request_id: int, from_status: str, values: dict) -> bool:
    return rows.move(tx, roi_request, request_id, from_status, values)


def add_disclosure(tx: Transaction, **values) -> int:
    return rows.add(tx, disclosure_record, values)


def get_disclosure(tx: Transaction, record_id: int) -> Row | None:
    return rows.get(tx, disclosure_record, record_id)


def disclosures_of(
    tx: Transaction, patient_id: str, start: str, end: str, *, include_exempt: bool
) -> list[Row]:
    """A patient's disclosures from `start` to `end` (instants), oldest first; without
    the exempt ones unless `include_exempt`."""
    c = disclosure_record.c
    query = (
        select(disclosure_record)
        .where(c.patient_id == patient_id, c.disclosed >= start, c.disclosed <= end)
        .order_by(c.disclosed, c.id)
    )
    if not include_exempt:
        query = query.where(c.exemption.is_(None))
    return list(tx.conn.execute(query))


def disclosures_naming(tx: Transaction, patient_id: str, prefix: str) -> list[dict]:
    """A patient's disclosures whose list of disclosed versions has one starting `prefix`
    (`DocumentReference/x/`: any version of that document), oldest first."""
    c = disclosure_record.c
    query = (
        select(disclosure_record)
        .where(c.patient_id == patient_id, c.resources.like(f'%"{prefix}%'))
        .order_by(c.disclosed, c.id)
    )
    return [dict(r) for r in tx.conn.execute(query).mappings()]
