"""The few row operations every work-queue table needs, written once for the domain
modules under `store/` (disclosures, amendments, coding_work) that expose them by name.

Work items (a release-of-information request, an amendment request, a physician query)
move through states; `move` changes a row only from the state it was read in, so two
people acting on one item at once cannot both succeed (SQLite has no row lock: the
conditional UPDATE is the guard).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Row, Table, insert, select, update

if TYPE_CHECKING:
    from chartkeeper.store.repository import Transaction


def add(tx: Transaction, table: Table, values: dict) -> int:
    """Insert one row; its new integer id."""
    return tx.conn.execute(insert(table).values(**values)).inserted_primary_key[0]


def get(tx: Transaction, table: Table, row_id: int, *, lock: bool = False) -> Row | None:
    """One row by id (locked for update when `lock`, where the database can)."""
    query = select(table).where(table.c.id == row_id)
    return tx.conn.execute(query.with_for_update() if lock else query).first()


def find(tx: Transaction, table: Table, *, order: tuple[str, ...] = ("id",), **equal) -> list[Row]:
    """The rows whose columns equal these values (None values are not filtered on)."""
    query = select(table).order_by(*(table.c[name] for name in order))
    for name, value in equal.items():
        if value is not None:
            query = query.where(table.c[name] == value)
    return list(tx.conn.execute(query))


def move(tx: Transaction, table: Table, row_id: int, from_status: str, values: dict) -> bool:
    """Update a row only if it is still in `from_status`; False when someone moved it."""
    c = table.c
    done = tx.conn.execute(
        update(table).where(c.id == row_id, c.status == from_status).values(**values)
    )
    return done.rowcount == 1
