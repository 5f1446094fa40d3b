"""Patient merge records and their queries (used by `chartkeeper.quality.merge`, `.unmerge`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Column, Index, Integer, Row, String, Table, Text, insert, select, update

from chartkeeper.store.base import ID, STAMP, metadata

if TYPE_CHECKING:
    from chartkeeper.store.repository import Transaction

# --- patient merges (chartkeeper.quality.merge, .unmerge): one row per merge. `changes`
# lists every resource the merge wrote as [type, id, version before, version after], so an
# unmerge restores exactly those versions and can tell what was changed since. An unmerge
# stamps the row (it is refused when already stamped) and lists what it wrote the same way.

patient_merge = Table(
    "patient_merge",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", String(ID), nullable=False),  # the record merged away
    Column("survivor_id", String(ID), nullable=False),
    Column("merged", String(STAMP), nullable=False),
    Column("merged_by", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("provenance_id", String(ID), nullable=False),
    Column("changes", Text, nullable=False),  # JSON list of [type, id, before, after]
    Column("unmerged", String(STAMP)),
    Column("unmerged_by", String(64)),
    Column("unmerge_reason", Text),
    Column("unmerge_provenance_id", String(ID)),
    Column("unmerge_changes", Text),  # JSON list of [type, id, before, after]
)
Index("ix_patient_merge_source", patient_merge.c.source_id)
Index("ix_patient_merge_survivor", patient_merge.c.survivor_id)


def get_merge_row(tx: Transaction, merge_id: int, *, lock: bool = False) -> Row | None:
    """One merge's row (locked for update when `lock`), or None."""
    query = select(patient_merge).where(patient_merge.c.id == merge_id)
    return tx.conn.execute(query.with_for_update() if lock else query).first()


def merge_rows_of(tx: Transaction, patient_id: str) -> list[Row]:
    """The merges a patient took part in, as source or survivor, oldest first."""
    m = patient_merge.c
    query = (
        select(patient_merge)
        .where((m.source_id == patient_id) | (m.survivor_id == patient_id))
        .order_by(m.id)
    )
    return list(tx.conn.execute(query))


def insert_merge(tx: Transaction, **values) -> int:
    """Record a merge; returns its id."""
    return tx.conn.execute(insert(patient_merge).values(**values)).inserted_primary_key[0]


def stamp_unmerge(tx: Transaction, merge_id: int, **values) -> bool:
    """Mark a merge undone unless it already is; False when someone else undid it first
    (SQLite has no row lock: the conditional update is the guard)."""
    m = patient_merge.c
    stamped = tx.conn.execute(
        update(patient_merge).where(m.id == merge_id, m.unmerged.is_(None)).values(**values)
    )
    return stamped.rowcount == 1
