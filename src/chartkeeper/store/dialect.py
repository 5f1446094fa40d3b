"""What differs between SQLite and PostgreSQL, answered in one place.

Bulk inserts and key lookups go straight to the driver's `executemany` with positional tuples: for the
index tables, which take ~8 rows per resource, SQLAlchemy's per-row parameter processing
cost more than the database did (see bench/ingest.py --profile).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Table

_PLACEHOLDER = {"qmark": "?", "numeric": "?", "format": "%s", "pyformat": "%s"}


def placeholder(conn: Connection) -> str:
    """The driver's positional parameter marker, for SQL sent with exec_driver_sql."""
    return _PLACEHOLDER[conn.dialect.paramstyle]


def bulk_insert(conn: Connection, table: Table, rows: Sequence[tuple]) -> None:
    """INSERT rows (tuples in the table's column order) with one executemany."""
    if not rows:
        return
    mark = placeholder(conn)
    columns = ", ".join(c.name for c in table.columns)
    marks = ", ".join(mark for _ in table.columns)
    # In key order: consecutive inserts land on the same B-tree pages, so a commit writes
    # fewer distinct pages (the rows' own order is arbitrary anyway).
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({columns}) VALUES ({marks})", sorted(rows))


def like_escape(text: str) -> str:
    """`text` as a literal inside a LIKE pattern with ESCAPE '\\': its %, _ and \\ match
    only themselves (a search value is never a wildcard)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
