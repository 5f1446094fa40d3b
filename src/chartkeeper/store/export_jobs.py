"""Bulk Data export jobs (used by `chartkeeper.interfaces.export_jobs`): one row per job,
so a job asked for survives a restart of the server and is run by whichever worker
claims it. A claim is a conditional UPDATE (queued -> running), so two workers never run
one job."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Column, Index, Integer, Row, String, Table, Text, select, update

from chartkeeper.store import rows
from chartkeeper.store.base import STAMP, metadata

if TYPE_CHECKING:
    from chartkeeper.store.repository import Transaction

export_job = Table(
    "export_job",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("owner", String(64), nullable=False),  # the user who asked; only they may fetch
    Column("role", String(32), nullable=False),  # their role then, for the export's guard
    Column("purpose", String(32), nullable=False),
    Column("source", String(64)),
    Column("request_url", Text, nullable=False),
    Column("folder", Text, nullable=False),
    Column("types", Text, nullable=False),  # JSON list; empty: every type the role may export
    Column("since", String(STAMP)),
    Column("patient_compartment", Boolean, nullable=False),
    Column("transaction_time", String(STAMP), nullable=False),
    Column("status", String(16), nullable=False),  # queued | running | done | failed
    Column("exported", Integer, nullable=False),  # resources written so far
    Column("counts", Text),  # JSON {type: count} when done
    Column("error", Text),
    Column("finished", String(STAMP)),
)
Index("ix_export_job_status", export_job.c.status)


def add_job(tx: Transaction, **values) -> None:
    tx.conn.execute(export_job.insert().values(**values))


def get_job(tx: Transaction, job_id: str) -> Row | None:
    return tx.conn.execute(select(export_job).where(export_job.c.id == job_id)).first()


def next_queued(tx: Transaction) -> Row | None:
    c = export_job.c
    query = select(export_job).where(c.status == "queued").order_by(c.transaction_time)
    return tx.conn.execute(query.limit(1)).first()


def claim(tx: Transaction, job_id: str) -> bool:
    return rows.move(tx, export_job, job_id, "queued", {"status": "running"})  # type: ignore[arg-type]


def update_job(tx: Transaction, job_id: str, **values) -> None:
    tx.conn.execute(update(export_job).where(export_job.c.id == job_id).values(**values))


def requeue_running(tx: Transaction) -> int:
    """Jobs a stopped server was running: queued again (their files are rewritten)."""
    c = export_job.c
    done = tx.conn.execute(update(export_job).where(c.status == "running").values(status="queued"))
    return done.rowcount


def delete_job(tx: Transaction, job_id: str) -> None:
    tx.conn.execute(export_job.delete().where(export_job.c.id == job_id))
