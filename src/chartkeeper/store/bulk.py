"""Bulk load: many bundles' new resources written in a few large, set-based batches.

The normal write path (Repository.transaction + put_many) commits one bundle at a time and
looks up each resource's stored version first. A hospital's first load is millions of
resources none of which is stored yet, so the bulk path splits the work differently:

* worker processes compute everything a row needs (`bulk_rows`: version 1, the stamp,
  content with its meta, the hash and the index rows, by the same `store_form` the
  normal path uses), so the writing process only moves tuples;
* the writer (`BulkLoad.write`) takes thousands of resources per transaction: it checks
  in one query per type that none of them is stored, then inserts the resource, history
  and index rows sorted in one executemany per table (SQLite) or streams them with
  `COPY` (PostgreSQL);
* a resource that is stored already, or that a bundle earlier in the same batch also
  writes, is not the bulk path's business: `write` hands its whole bundle back, and the
  caller writes it through the normal path (an update gets version 2 exactly as it
  would there), so both paths give the same history and the same index rows.

Into an empty store the value indexes (the secondary B-trees of history and index tables)
are dropped when the job begins and built again when it finishes: one sort per index
instead of a random insert per row. Until then searches are answered, only slower.

Resumable: a load is a `load_job` row; each batch commits together with one
`load_job_unit` row per bundle it wrote, so a killed load leaves whole bundles or
nothing, and the next load of the same inputs skips the bundles already committed.
Finishing the job stamps it; a later load of the same inputs is a new job (and, as a
re-import on the normal path would, finds every resource unchanged).

PostgreSQL: `COPY … FROM STDIN` straight into the tables, not into staging tables first.
Staging exists to resolve conflicts set-wise (`INSERT … SELECT … ON CONFLICT`); here the
keys were checked inside the same transaction, so a staging copy would only write every
row twice. A writer racing the load to the same new key makes the COPY fail on the
primary key; the batch then rolls back and is handed back to the normal path, whole.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import orjson
from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Index,
    Integer,
    String,
    Table,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from chartkeeper.fhir import search_params
from chartkeeper.store.base import STAMP, metadata
from chartkeeper.store.dialect import bulk_insert
from chartkeeper.store.engine import refresh_statistics
from chartkeeper.store.repository import Repository, StoreForm, Transaction, _with_meta
from chartkeeper.store.resources import INDEX_TABLES, resource, resource_history

load_job = Table(
    "load_job",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("inputs", String(64), nullable=False),  # digest of what was asked to be loaded
    Column("started", String(STAMP), nullable=False),
    Column("finished", String(STAMP)),
    Column("units", Integer, nullable=False),  # bundles committed so far
    Column("resources", Integer, nullable=False),
    # The value indexes were dropped when the job began (into an empty store) and are
    # built again, each in one sorted pass, when it finishes.
    Column("deferred_indexes", Boolean, nullable=False),
)

load_job_unit = Table(
    "load_job_unit",
    metadata,
    Column("job_id", Integer, primary_key=True),
    Column("unit", String(32), primary_key=True),  # unit_key: source and content digest
)

_KINDS = tuple(INDEX_TABLES)
# A key taken by a concurrent writer: SQLAlchemy's error for executemany, the driver's own
# for COPY (which runs on the driver's cursor).
try:
    from psycopg import IntegrityError as _CopyDuplicate
except ImportError:  # SQLite-only installs
    _CopyDuplicate = IntegrityError
_DUPLICATE = (IntegrityError, _CopyDuplicate)


ANALYZE_FROM = 10_000  # resources written before the first statistics refresh


def unit_key(source: str, raw: bytes) -> str:
    """Names one bundle (or NDJSON chunk) of a load: where it came from and what it held."""
    digest = hashlib.blake2b(raw, digest_size=16)
    digest.update(source.encode())
    return digest.hexdigest()


def inputs_key(sources: Iterable[str]) -> str:
    """Names a load by its inputs, so a restarted load finds the job it continues."""
    digest = hashlib.blake2b(digest_size=32)
    for source in sorted(sources):
        digest.update(source.encode() + b"\0")
    return digest.hexdigest()


@dataclass
class BulkRows:
    """One bundle's rows, ready to insert: built in a worker process, cheap to pickle."""

    unit: str  # unit_key
    keys: list[tuple[str, str]]
    resource: list[tuple] = field(default_factory=list)
    history: list[tuple] = field(default_factory=list)
    index: dict[str, list[tuple]] = field(default_factory=dict)


def bulk_rows(unit: str, resources: Sequence[tuple[dict, StoreForm | None]]) -> BulkRows:
    """The rows a first write of these (validated) resources stores: what put_many would
    insert for resources it does not find stored, computed without the database."""
    from chartkeeper.store.repository import store_form

    stamp = search_params.utc_now()
    rows = BulkRows(unit, [], index={kind: [] for kind in _KINDS})
    for res, form in resources:
        form = form or store_form(res)
        key = (res["resourceType"], res["id"])
        rows.keys.append(key)
        content = orjson.dumps(_with_meta(res, 1, stamp)).decode()
        rows.resource.append((key[0], key[1], 1, stamp, False, form.digest))
        rows.history.append((key[0], key[1], 1, stamp, "create", content))
        for kind in _KINDS:
            rows.index[kind].extend((key[0], key[1], *row) for row in getattr(form.index, kind))
    return rows


@dataclass
class BatchResult:
    written: list[str]  # unit keys stored by the bulk path
    handed_back: list[str]  # unit keys to write through the normal path, in order
    resources: int = 0


def _value_indexes() -> list[Index]:
    """The secondary indexes a bulk load into an empty store builds at its end."""
    tables = (resource_history, *INDEX_TABLES.values())
    return sorted((i for t in tables for i in t.indexes), key=lambda i: i.name)


class BulkLoad:
    """One bulk load job on a store (see the module docstring)."""

    def __init__(self, repo: Repository, inputs: str):
        self.repo = repo
        self.inputs = inputs
        self.job_id, self.done = self._open()
        self._written = 0  # resources this process wrote, and that count at the last ANALYZE
        self._analyzed_at = 0

    def _open(self) -> tuple[int, set[str]]:
        """The unfinished job for these inputs (resumed) or a new one."""
        with self.repo.engine.connect() as conn:
            found = conn.execute(
                select(load_job.c.id)
                .where(load_job.c.inputs == self.inputs, load_job.c.finished.is_(None))
                .order_by(load_job.c.id.desc())
            ).first()
        if found:
            with self.repo.engine.connect() as conn:
                done = set(
                    conn.execute(
                        select(load_job_unit.c.unit).where(load_job_unit.c.job_id == found.id)
                    ).scalars()
                )
            return found.id, done
        with self.repo.transaction() as tx:
            conn = tx.conn
            last = conn.execute(select(load_job.c.id).order_by(load_job.c.id.desc())).first()
            job_id = (last.id if last else 0) + 1
            # Another job still holding the indexes back builds them (once) when it ends.
            pending = conn.execute(
                select(load_job.c.id).where(
                    load_job.c.finished.is_(None), load_job.c.deferred_indexes.is_(True)
                )
            ).first()
            empty = conn.execute(select(resource.c.id).limit(1)).first() is None
            defer = empty and pending is None
            if defer:
                for index in _value_indexes():
                    index.drop(conn)
            conn.execute(
                insert(load_job).values(
                    id=job_id,
                    inputs=self.inputs,
                    started=search_params.utc_now(),
                    units=0,
                    resources=0,
                    deferred_indexes=defer,
                )
            )
        return job_id, set()

    @property
    def resumed(self) -> bool:
        return bool(self.done)

    def write(self, batch: Sequence[BulkRows]) -> BatchResult:
        """Store these bundles' resources in one transaction. A bundle with a resource
        that is stored already, or that an earlier bundle of the batch writes too, is
        handed back (with every later bundle that shares a key with it) for the normal
        path; so is the whole batch if a concurrent writer took one of its keys."""
        try:
            with self.repo.transaction() as tx:
                result = self._write(tx, batch)
        except _DUPLICATE:
            return BatchResult([], [rows.unit for rows in batch])
        self.done.update(result.written)
        self._written += result.resources
        if self._written >= max(2 * self._analyzed_at, ANALYZE_FROM):
            # The tables grow from nothing during the load; a planner still going by the
            # empty store's statistics plans each batch's key and reference lookups for
            # tables of a few rows (PostgreSQL: 1,893 resources/s at 200 patients fell to
            # 828/s at 1,000). Refreshed each time the load has doubled: a few ANALYZEs.
            refresh_statistics(self.repo.engine)
            self._analyzed_at = self._written
        return result

    def mark_done(self, units: Sequence[str]) -> None:
        """Record bundles written through the normal path as part of this job."""
        fresh = [u for u in dict.fromkeys(units) if u not in self.done]
        if not fresh:
            return
        with self.repo.transaction() as tx:
            bulk_insert(tx.conn, load_job_unit, [(self.job_id, u) for u in fresh])
        self.done.update(fresh)

    def finish(self) -> None:
        """Mark the job done, building first any value index that is missing (this job
        held them back, or an earlier bulk load was killed and never resumed)."""
        with self.repo.transaction() as tx:
            conn = tx.conn
            present = {
                index["name"]
                for table in {i.table.name for i in _value_indexes()}
                for index in inspect(conn).get_indexes(table)
            }
            missing = [i for i in _value_indexes() if i.name not in present]
            if missing and conn.dialect.name == "postgresql":  # sort in memory, not on disk
                conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '512MB'")
            for index in missing:
                index.create(conn)
            conn.execute(
                update(load_job)
                .where(load_job.c.id == self.job_id)
                .values(finished=search_params.utc_now())
            )

    def _write(self, tx: Transaction, batch: Sequence[BulkRows]) -> BatchResult:
        stored = set(tx._stored(k for rows in batch for k in rows.keys))
        seen: set[tuple[str, str]] = set()
        bulk: list[BulkRows] = []
        handed_back: list[str] = []
        for rows in batch:
            keys = set(rows.keys)
            if len(keys) != len(rows.keys) or keys & stored or keys & seen:
                handed_back.append(rows.unit)
            else:
                bulk.append(rows)
            seen |= keys
        conn = tx.conn
        _insert(conn, resource, [r for rows in bulk for r in rows.resource])
        _insert(conn, resource_history, [r for rows in bulk for r in rows.history])
        for kind, table in INDEX_TABLES.items():
            _insert(conn, table, [r for rows in bulk for r in rows.index[kind]])
        written = [rows.unit for rows in bulk]
        count = sum(len(rows.keys) for rows in bulk)
        bulk_insert(conn, load_job_unit, [(self.job_id, u) for u in dict.fromkeys(written)])
        conn.execute(
            update(load_job)
            .where(load_job.c.id == self.job_id)
            .values(units=load_job.c.units + len(written), resources=load_job.c.resources + count)
        )
        return BatchResult(written, handed_back, count)


def _insert(conn: Connection, table: Table, rows: list[tuple]) -> None:
    """Rows in key order (neighbouring inserts share B-tree pages): COPY on PostgreSQL,
    one executemany on SQLite."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        bulk_insert(conn, table, rows)
        return
    rows.sort()
    columns = ", ".join(c.name for c in table.columns)
    cursor = conn.connection.dbapi_connection.cursor()
    with cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def store_holds_resources(repo: Repository) -> bool:
    """Whether any resource (live or deleted) is stored: an empty store loads in bulk."""
    with repo.engine.connect() as conn:
        return conn.execute(select(resource.c.id).limit(1)).first() is not None


__all__ = [
    "BatchResult",
    "BulkLoad",
    "BulkRows",
    "bulk_rows",
    "inputs_key",
    "store_holds_resources",
    "unit_key",
]
