"""The master patient index review queue and its queries (used by `chartkeeper.quality.mpi`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    Row,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)

from chartkeeper.store.base import ID, STAMP, TYPE, metadata

if TYPE_CHECKING:
    from chartkeeper.store.repository import Transaction

# --- master patient index review queue (chartkeeper.quality.mpi.queue): candidate duplicate
# pairs that scored between the review and the auto-link thresholds, one row per pair
# (`pair_key` is "a|b" with a < b, unique, so a rescan refreshes the open row instead of
# queueing the pair twice). A decided row keeps its verdict: "not-a-match" rows are fed back
# into later scans so the pair is never linked automatically.

mpi_review = Table(
    "mpi_review",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("pair_key", String(2 * (TYPE + ID + 1) + 1), nullable=False),
    Column("a", String(TYPE + ID + 1), nullable=False),  # "Patient/<id>"
    Column("b", String(TYPE + ID + 1), nullable=False),
    Column("probability", Float, nullable=False),
    Column("evidence", Text, nullable=False),  # JSON: levels and Bayes factors per field
    Column("status", String(16), nullable=False),  # open | linked | not-a-match
    Column("found", String(STAMP), nullable=False),  # first queued
    Column("scanned", String(STAMP), nullable=False),  # last seen by a scan
    Column("decided", String(STAMP)),
    Column("reviewer", String(64)),
    Column("note", Text),
)
Index("ux_mpi_review_pair", mpi_review.c.pair_key, unique=True)
Index("ix_mpi_review_status", mpi_review.c.status, mpi_review.c.probability)


# --- queries (what a pair and a verdict mean lives in chartkeeper.quality.mpi.queue)


def statuses_of(tx: Transaction, pair_keys: Sequence[str]) -> dict[str, str]:
    """The status of each of these pairs that is queued already."""
    c = mpi_review.c
    known: dict[str, str] = {}
    keys = list(pair_keys)
    for i in range(0, len(keys), 500):
        rows = tx.conn.execute(
            select(c.pair_key, c.status).where(c.pair_key.in_(keys[i : i + 500]))
        )
        known.update({r.pair_key: r.status for r in rows})
    return known


def refresh_pair(tx: Transaction, pair_key: str, **values) -> None:
    tx.conn.execute(update(mpi_review).where(mpi_review.c.pair_key == pair_key).values(**values))


def insert_pairs(tx: Transaction, rows: list[dict]) -> None:
    if rows:
        tx.conn.execute(insert(mpi_review), rows)


def list_rows(tx: Transaction, *, status: str | None, limit: int, offset: int) -> list[Row]:
    """The queue, most probable first; `status` None: any."""
    c = mpi_review.c
    query = select(mpi_review).order_by(c.probability.desc(), c.id).limit(limit).offset(offset)
    if status is not None:
        query = query.where(c.status == status)
    return tx.conn.execute(query).all()


def get_row(tx: Transaction, item_id: int) -> Row | None:
    return tx.conn.execute(select(mpi_review).where(mpi_review.c.id == item_id)).first()


def update_item(tx: Transaction, item_id: int, **values) -> None:
    tx.conn.execute(update(mpi_review).where(mpi_review.c.id == item_id).values(**values))


def pairs_with_status(tx: Transaction, status: str) -> set[tuple[str, str]]:
    c = mpi_review.c
    return {(r.a, r.b) for r in tx.conn.execute(select(c.a, c.b).where(c.status == status))}
