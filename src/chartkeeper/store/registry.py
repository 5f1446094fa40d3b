"""Cancer registry tables and their queries (used by `chartkeeper.registry`).

`registry_case` is one row per tumour the registry tracks: found by casefinding
(`suspected`), accepted and being abstracted (`abstracting`), finished (`complete`), or set
aside by the registrar (`dismissed`, kept so the same tumour is not suggested again). The
abstract itself is a JSON object of NAACCR v26 items (naaccrId -> value) so that the
dictionary, not a column list, decides what an abstract can hold; the columns copy the few
items the worklists sort and match on. `activity` is who did what and when.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import Column, Index, Integer, String, Table, Text, insert, select, update

from chartkeeper.store.base import ID, STAMP, metadata
from chartkeeper.store.repository import Transaction

registry_case = Table(
    "registry_case",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("patient_id", String(ID), nullable=False),
    Column("status", String(16), nullable=False),  # suspected|abstracting|complete|dismissed
    Column("source", String(32), nullable=False),  # pathology | diagnosis | import
    Column("primary_site", String(8)),  # ICD-O-3 topography, dotted (C50.9)
    Column("histology", String(8)),
    Column("behavior", String(2)),
    Column("laterality", String(2)),
    Column("diagnosis_date", String(10)),  # YYYY-MM-DD
    Column("items", Text, nullable=False),  # JSON: NAACCR v26 naaccrId -> value
    Column("evidence", Text, nullable=False),  # JSON list: what casefinding found, where
    Column("overrides", Text, nullable=False),  # JSON: edit id -> {reason, by, when}
    Column("mp_rule", Text),  # the multiple-primary rule that made this its own case
    Column("created", String(STAMP), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("updated", String(STAMP), nullable=False),
    Column("updated_by", String(64), nullable=False),
    Column("activity", Text, nullable=False),  # JSON list of {when, who, what}
)
Index("ix_registry_case_patient", registry_case.c.patient_id)
Index("ix_registry_case_status", registry_case.c.status, registry_case.c.diagnosis_date)

_JSON = ("items", "evidence", "overrides", "activity")


def _row(mapping) -> dict:
    row = dict(mapping)
    for key in _JSON:
        row[key] = (
            json.loads(row[key])
            if row.get(key)
            else ([] if key in ("evidence", "activity") else {})
        )
    return row


def _encode(values: dict) -> dict:
    return {k: json.dumps(v, sort_keys=True) if k in _JSON else v for k, v in values.items()}


def _audit(tx: Transaction, action: str, patient_ids: Sequence[str], detail: str) -> None:
    tx.note(
        action, [{"resourceType": "Patient", "id": p} for p in sorted(set(patient_ids))], detail
    )


def insert_case(tx: Transaction, values: dict) -> int:
    new_id = tx.conn.execute(insert(registry_case).values(**_encode(values))).inserted_primary_key[
        0
    ]
    _audit(tx, "registry-case-create", [values["patient_id"]], f"registry case {new_id}")
    return int(new_id)


def update_case(tx: Transaction, case_id: int, values: dict) -> None:
    tx.conn.execute(
        update(registry_case).where(registry_case.c.id == case_id).values(**_encode(values))
    )
    patient = tx.conn.execute(
        select(registry_case.c.patient_id).where(registry_case.c.id == case_id)
    ).scalar()
    _audit(
        tx,
        "registry-case-update",
        [patient] if patient else [],
        f"registry case {case_id}: {', '.join(sorted(values))}",
    )


def get_case(tx: Transaction, case_id: int) -> dict | None:
    found = (
        tx.conn.execute(select(registry_case).where(registry_case.c.id == case_id))
        .mappings()
        .first()
    )
    if found is None:
        return None
    _audit(tx, "registry-case-read", [found["patient_id"]], f"registry case {case_id}")
    return _row(found)


def list_cases(
    tx: Transaction,
    *,
    status: str | Sequence[str] | None = None,
    patient_id: str | None = None,
    audit: bool = True,
) -> list[dict]:
    """Cases by status and/or patient, oldest first. `audit=False` only for the registry's
    own matching inside a transaction that audits what it does with the result."""
    query = select(registry_case).order_by(registry_case.c.id)
    if isinstance(status, str):
        query = query.where(registry_case.c.status == status)
    elif status:
        query = query.where(registry_case.c.status.in_(list(status)))
    if patient_id:
        query = query.where(registry_case.c.patient_id == patient_id)
    rows = [_row(r) for r in tx.conn.execute(query).mappings()]
    if audit and rows:
        _audit(
            tx, "registry-case-read", [r["patient_id"] for r in rows], f"{len(rows)} registry cases"
        )
    return rows
