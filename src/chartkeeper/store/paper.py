"""Paper-records tables and their queries (used by `chartkeeper.paper`).

`paper_hold` is a legal hold on one patient's records (by patient, optionally naming the
case); while `released` is NULL no destruction run may touch that patient.
`paper_destruction` is a destruction certificate: what went (resource keys, versions and
content hashes), when, by whom, by what method and under which retention rules; it is
kept after the content is gone. `paper_volume` is one physical chart volume with its
barcode and where it is now; `paper_custody` is every move of a volume.

Every function takes the caller's Transaction and audits the patients it touches there.
`purge_content` is the one place content leaves the store for good: destruction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from sqlalchemy import Column, Index, Integer, String, Table, Text, insert, select, update

from chartkeeper.store.base import ID, STAMP, metadata
from chartkeeper.store.repository import Transaction
from chartkeeper.store.resources import resource_history

paper_hold = Table(
    "paper_hold",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("patient_id", String(ID), nullable=False),
    Column("case_ref", String(128)),  # the lawsuit, subpoena or investigation
    Column("reason", Text, nullable=False),
    Column("placed", String(STAMP), nullable=False),
    Column("placed_by", String(64), nullable=False),
    Column("released", String(STAMP)),
    Column("released_by", String(64)),
    Column("release_reason", Text),
)
Index("ix_paper_hold_patient", paper_hold.c.patient_id, paper_hold.c.released)

paper_destruction = Table(
    "paper_destruction",
    metadata,
    Column("id", Integer, primary_key=True),  # the certificate number
    Column("performed", String(STAMP), nullable=False),
    Column("performed_by", String(64), nullable=False),
    Column("method", String(64), nullable=False),
    Column("as_of", String(10), nullable=False),  # the date retention was judged against
    Column("jurisdiction", String(32), nullable=False),
    Column("items", Text, nullable=False),  # JSON list: patient, resources, rule, retain_until
)

paper_volume = Table(
    "paper_volume",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("barcode", String(32), nullable=False, unique=True),
    Column("patient_id", String(ID), nullable=False),
    Column("volume_no", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # in | out
    Column("location", String(128), nullable=False),
    Column("custodian", String(128)),
    Column("due", String(10)),
    Column("created", String(STAMP), nullable=False),
    Column("created_by", String(64), nullable=False),
)
Index("ix_paper_volume_patient", paper_volume.c.patient_id)

paper_custody = Table(
    "paper_custody",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("volume_id", Integer, nullable=False),
    Column("at", String(STAMP), nullable=False),
    Column("by", String(64), nullable=False),
    Column("action", String(16), nullable=False),  # create | check-out | transfer | check-in
    Column("custodian", String(128)),
    Column("location", String(128), nullable=False),
    Column("due", String(10)),
    Column("note", Text),
)
Index("ix_paper_custody_volume", paper_custody.c.volume_id, paper_custody.c.id)


def _audit(tx: Transaction, action: str, patient_ids: Iterable[str], detail: str) -> None:
    tx.note(
        action, [{"resourceType": "Patient", "id": p} for p in sorted(set(patient_ids))], detail
    )


# --- legal holds -----------------------------------------------------------------------


def insert_hold(tx: Transaction, values: dict) -> int:
    new_id = int(tx.conn.execute(insert(paper_hold).values(**values)).inserted_primary_key[0])
    _audit(tx, "paper-hold-place", [values["patient_id"]], f"legal hold {new_id}")
    return new_id


def get_hold(tx: Transaction, hold_id: int) -> dict | None:
    found = tx.conn.execute(select(paper_hold).where(paper_hold.c.id == hold_id)).mappings()
    row = found.first()
    return dict(row) if row else None


def release_hold(tx: Transaction, hold_id: int, values: dict) -> None:
    tx.conn.execute(update(paper_hold).where(paper_hold.c.id == hold_id).values(**values))
    hold = get_hold(tx, hold_id)
    _audit(tx, "paper-hold-release", [hold["patient_id"]] if hold else [], f"legal hold {hold_id}")


def list_holds(tx: Transaction, *, active_only: bool = True, audit: bool = True) -> list[dict]:
    query = select(paper_hold).order_by(paper_hold.c.id)
    if active_only:
        query = query.where(paper_hold.c.released.is_(None))
    rows = [dict(r) for r in tx.conn.execute(query).mappings()]
    if audit and rows:
        _audit(tx, "paper-hold-read", [r["patient_id"] for r in rows], f"{len(rows)} legal holds")
    return rows


def held_patients(tx: Transaction) -> set[str]:
    """Patients under an active hold (no audit: an id set the caller filters with)."""
    query = select(paper_hold.c.patient_id).where(paper_hold.c.released.is_(None))
    return set(tx.conn.execute(query).scalars())


# --- destruction -----------------------------------------------------------------------


def purge_content(tx: Transaction, keys: Sequence[tuple[str, str]]) -> int:
    """Blank the stored content of every version of these (already deleted) resources: the
    version rows stay (the history shows something existed and when it went), the content
    does not. Returns the number of versions blanked."""
    blanked = 0
    h = resource_history.c
    for rtype, rid in keys:
        result = tx.conn.execute(
            update(resource_history)
            .where(h.resource_type == rtype, h.id == rid, h.content.is_not(None))
            .values(content=None)
        )
        blanked += result.rowcount or 0
    return blanked


def insert_certificate(tx: Transaction, values: dict) -> int:
    items = values["items"]
    row = {**values, "items": json.dumps(items, sort_keys=True)}
    new_id = int(tx.conn.execute(insert(paper_destruction).values(**row)).inserted_primary_key[0])
    _audit(
        tx,
        "paper-destruction",
        [i["patient_id"] for i in items],
        f"certificate {new_id}: {sum(len(i['resources']) for i in items)} resources",
    )
    return new_id


def get_certificate(tx: Transaction, number: int) -> dict | None:
    query = select(paper_destruction).where(paper_destruction.c.id == number)
    row = tx.conn.execute(query).mappings().first()
    if row is None:
        return None
    cert = {**dict(row), "items": json.loads(row["items"])}
    _audit(tx, "paper-certificate-read", [i["patient_id"] for i in cert["items"]], f"cert {number}")
    return cert


def list_certificates(tx: Transaction) -> list[dict]:
    c = paper_destruction.c
    query = select(c.id, c.performed, c.performed_by, c.method, c.as_of, c.jurisdiction)
    return [dict(r) for r in tx.conn.execute(query.order_by(c.id)).mappings()]


# --- chart volumes and custody ---------------------------------------------------------


def insert_volume(tx: Transaction, values: dict) -> int:
    new_id = int(tx.conn.execute(insert(paper_volume).values(**values)).inserted_primary_key[0])
    _audit(tx, "paper-volume-create", [values["patient_id"]], f"volume {values['barcode']}")
    return new_id


def next_volume_no(tx: Transaction, patient_id: str) -> int:
    query = select(paper_volume.c.volume_no).where(paper_volume.c.patient_id == patient_id)
    return max(tx.conn.execute(query).scalars(), default=0) + 1


def get_volume(tx: Transaction, barcode: str, *, audit: bool = True) -> dict | None:
    query = select(paper_volume).where(paper_volume.c.barcode == barcode)
    row = tx.conn.execute(query).mappings().first()
    if row is None:
        return None
    if audit:
        _audit(tx, "paper-volume-read", [row["patient_id"]], f"volume {barcode}")
    return dict(row)


def update_volume(tx: Transaction, volume_id: int, values: dict) -> None:
    tx.conn.execute(update(paper_volume).where(paper_volume.c.id == volume_id).values(**values))


def list_volumes(
    tx: Transaction,
    *,
    patient_id: str | None = None,
    status: str | None = None,
    due_before: str | None = None,
) -> list[dict]:
    c = paper_volume.c
    query = select(paper_volume).order_by(c.patient_id, c.volume_no)
    if patient_id:
        query = query.where(c.patient_id == patient_id)
    if status:
        query = query.where(c.status == status)
    if due_before:
        query = query.where(c.due.is_not(None), c.due < due_before)
    rows = [dict(r) for r in tx.conn.execute(query).mappings()]
    if rows:
        _audit(tx, "paper-volume-read", [r["patient_id"] for r in rows], f"{len(rows)} volumes")
    return rows


def insert_custody(tx: Transaction, values: dict, patient_id: str) -> None:
    tx.conn.execute(insert(paper_custody).values(**values))
    _audit(
        tx,
        f"paper-{values['action']}",
        [patient_id],
        f"volume {values['volume_id']} -> {values.get('custodian') or ''} @ {values['location']}",
    )


def custody_history(tx: Transaction, volume_id: int) -> list[dict]:
    c = paper_custody.c
    query = select(paper_custody).where(c.volume_id == volume_id).order_by(c.id)
    return [dict(r) for r in tx.conn.execute(query).mappings()]
