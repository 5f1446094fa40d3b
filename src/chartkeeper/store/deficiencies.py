"""Chart deficiency tables and their queries (used by `chartkeeper.quality.deficiencies`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Column, Connection, Index, Integer, Row, String, Table, Text, select, update
from sqlalchemy.dialects import postgresql, sqlite

from chartkeeper.store.base import ID, STAMP, TYPE, metadata

if TYPE_CHECKING:
    from chartkeeper.store.repository import Transaction

# --- chart deficiencies (chartkeeper.quality.deficiencies): what a record still lacks, found
# by the rules in quality/rules/*.toml, assigned to the person the record names, closed by
# itself when the record is fixed. `key` names the finding (rule and resource); `open_key`
# is the same while the deficiency is open and NULL once closed, so a unique index allows
# one open deficiency per finding even when two writers re-evaluate a chart at once.

deficiency = Table(
    "deficiency",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("rule_id", String(64), nullable=False),
    Column("rule_set", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("patient_id", String(ID), nullable=False),
    Column("encounter_id", String(ID)),
    Column("resource", String(TYPE + ID + 1), nullable=False),  # "Type/id" the rule examined
    Column("responsible_role", String(32), nullable=False),  # attending | author | ... | him
    Column("responsible", String(TYPE + ID + 1)),  # Practitioner reference from the record
    Column("assignee", String(TYPE + ID + 1)),  # who works it; NULL: the HIM pool
    Column("detail", Text, nullable=False),
    Column("discharged", String(STAMP)),  # the encounter's end, for delinquency
    Column("opened", String(STAMP), nullable=False),  # when the deadline passed
    Column("detected", String(STAMP), nullable=False),  # when a scan or write first saw it
    Column("status", String(8), nullable=False),  # open | closed
    Column("closed", String(STAMP)),
    Column("closed_reason", String(32)),  # fixed | fixed-late | rule-retired | removed
    Column("key", String(255), nullable=False),
    Column("open_key", String(255)),
    Column("notes", Text, nullable=False),  # JSON list of {at, by, kind, text}
)
Index("ix_deficiency_patient", deficiency.c.patient_id, deficiency.c.status)
Index("ix_deficiency_assignee", deficiency.c.assignee, deficiency.c.status)
Index("ix_deficiency_key", deficiency.c.key)
Index("ux_deficiency_open", deficiency.c.open_key, unique=True)

# One row per evaluated chart: how many checks the rules made and how many failed, overall
# and per responsible provider (JSON {"Practitioner/x": [checked, failed]}), for the
# completeness scores.
deficiency_chart = Table(
    "deficiency_chart",
    metadata,
    Column("patient_id", String(ID), primary_key=True),
    Column("checked", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("by_provider", Text, nullable=False),
    Column("evaluated", String(STAMP), nullable=False),
)


# --- queries (the rules and the worklist's meaning live in chartkeeper.quality.deficiencies)


def _upsert(conn: Connection):
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert


def rows_of_patient(tx: Transaction, patient_id: str) -> list[Row]:
    """Every deficiency of one chart, open and closed."""
    return tx.conn.execute(select(deficiency).where(deficiency.c.patient_id == patient_id)).all()


def insert_deficiency(tx: Transaction, values: dict) -> None:
    """Store a finding. An open one is skipped when the same finding is already open: two
    writers re-evaluating one chart at once keep one row (the unique open_key)."""
    statement = _upsert(tx.conn)(deficiency).values(values)
    if values.get("open_key") is not None:
        statement = statement.on_conflict_do_nothing(index_elements=["open_key"])
    tx.conn.execute(statement)


def update_deficiency(tx: Transaction, deficiency_id: int, **values) -> None:
    tx.conn.execute(update(deficiency).where(deficiency.c.id == deficiency_id).values(**values))


def save_chart_counts(tx: Transaction, patient_id: str, values: dict) -> None:
    """Replace one chart's check counts (deficiency_chart)."""
    statement = _upsert(tx.conn)(deficiency_chart).values(patient_id=patient_id, **values)
    tx.conn.execute(statement.on_conflict_do_update(index_elements=["patient_id"], set_=values))


def chart_counts(tx: Transaction) -> list[Row]:
    """Every evaluated chart's counts, by patient id."""
    return tx.conn.execute(select(deficiency_chart).order_by(deficiency_chart.c.patient_id)).all()


def patients_with_open(tx: Transaction) -> set[str]:
    query = select(deficiency.c.patient_id).where(deficiency.c.status == "open")
    return set(tx.conn.execute(query).scalars())


def rule_ids(tx: Transaction, status: str) -> list[str]:
    """The rule of every deficiency in this status (one entry per deficiency)."""
    query = select(deficiency.c.rule_id).where(deficiency.c.status == status)
    return list(tx.conn.execute(query).scalars())


def get_row(tx: Transaction, deficiency_id: int) -> Row | None:
    return tx.conn.execute(select(deficiency).where(deficiency.c.id == deficiency_id)).first()


def list_rows(
    tx: Transaction,
    *,
    status: str | None,
    assignee: str | None,
    unassigned: bool,
    patient: str | None,
    rule: str | None,
    limit: int,
    offset: int,
) -> list[Row]:
    """The worklist, oldest first. `status` None: any; `unassigned`: the HIM pool."""
    c = deficiency.c
    query = select(deficiency).order_by(c.opened, c.id).limit(limit).offset(offset)
    if status is not None:
        query = query.where(c.status == status)
    if unassigned:
        query = query.where(c.assignee.is_(None))
    elif assignee:
        query = query.where(c.assignee == assignee)
    if patient:
        query = query.where(c.patient_id == patient)
    if rule:
        query = query.where(c.rule_id == rule)
    return tx.conn.execute(query).all()
