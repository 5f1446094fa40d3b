"""Coding workflow tables and their queries (used by `chartkeeper.coding.workflow`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Column, Index, Integer, Row, String, Table, Text, insert, select, update

from chartkeeper.store import rows
from chartkeeper.store.base import ID, STAMP, TYPE, metadata

if TYPE_CHECKING:
    from chartkeeper.store.repository import Transaction

# --- coding workflow (chartkeeper.coding.workflow): one row per coded encounter, and the
# physician queries coders raise. The coded state lives here, not as a tag on the Encounter,
# because coders may write only Condition, Procedure and Claim (privacy.policy); `resources`
# lists the Condition/Procedure ids the coding wrote, so recoding replaces exactly those.

coding_abstract = Table(
    "coding_abstract",
    metadata,
    Column("encounter_id", String(ID), primary_key=True),
    Column("patient_id", String(ID)),
    Column("coder", String(64), nullable=False),
    Column("coded", String(STAMP), nullable=False),
    Column("discharged", String(STAMP)),  # the encounter's end, for DNFB and turnaround
    Column("principal", String(16)),
    Column("codes", Text, nullable=False),  # JSON list of {code, kind, poa}
    Column("resources", Text, nullable=False),  # JSON list of "Type/id"
)
Index("ix_coding_abstract_coder", coding_abstract.c.coder, coding_abstract.c.coded)

# A physician query (AHIMA/ACDIS "Guidelines for Achieving a Compliant Query Practice"): a
# coder's question to a provider, open until answered or withdrawn; kept as a table rather
# than a FHIR Communication because coders may not write Communication resources.
physician_query = Table(
    "physician_query",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("encounter_id", String(ID), nullable=False),
    Column("patient_id", String(ID)),
    Column("practitioner", String(TYPE + ID + 1), nullable=False),  # "Practitioner/<id>"
    Column("question", Text, nullable=False),
    Column("status", String(16), nullable=False),  # open | answered | withdrawn
    Column("answer", Text),
    Column("asked_by", String(64), nullable=False),
    Column("asked", String(STAMP), nullable=False),
    Column("closed", String(STAMP)),  # answered or withdrawn
    Column("closed_by", String(64)),
)
Index("ix_physician_query_status", physician_query.c.status, physician_query.c.practitioner)
Index("ix_physician_query_encounter", physician_query.c.encounter_id)


# --- queries (what coding means lives in chartkeeper.coding.workflow)


def coded_encounters(tx: Transaction) -> set[str]:
    return set(tx.conn.execute(select(coding_abstract.c.encounter_id)).scalars())


def abstracts(tx: Transaction) -> list[Row]:
    return list(tx.conn.execute(select(coding_abstract)))


def abstract_resources(tx: Transaction, encounter_id: str) -> str | None:
    """The JSON list of resources an encounter's coding wrote; None if never coded."""
    c = coding_abstract.c
    return tx.conn.execute(select(c.resources).where(c.encounter_id == encounter_id)).scalar()


def save_abstract(tx: Transaction, values: dict, *, recoded: bool) -> None:
    if not recoded:
        tx.conn.execute(insert(coding_abstract).values(**values))
        return
    c = coding_abstract.c
    tx.conn.execute(
        update(coding_abstract).where(c.encounter_id == values["encounter_id"]).values(**values)
    )


def add_query(tx: Transaction, **values) -> int:
    return rows.add(tx, physician_query, values)


def get_query(tx: Transaction, query_id: int) -> Row | None:
    return rows.get(tx, physician_query, query_id)


def find_queries(
    tx: Transaction,
    *,
    status: str | None = None,
    encounter_id: str | None = None,
    practitioner: str | None = None,
) -> list[Row]:
    return rows.find(
        tx, physician_query, status=status, encounter_id=encounter_id, practitioner=practitioner
    )


def move_query(tx: Transaction, query_id: int, from_status: str, values: dict) -> bool:
    return rows.move(tx, physician_query, query_id, from_status, values)
