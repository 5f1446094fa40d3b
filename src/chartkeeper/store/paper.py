"""Paper-records tables and their queries (used by `chartkeeper.paper`).

`paper_hold` is a legal hold on one patient's records (by patient, optionally naming the
case); while `released` is NULL no destruction run may touch that patient.
`paper_destruction` is a destruction certificate: what went (resource keys, versions and
content hashes), when, by whom, by what method and under which retention rules; it is
kept after the content is gone. `paper_volume` is one physical chart volume with its
barcode and where it is now; `paper_custody` is every move of a volume.
`paper_blob` holds scanned content once, by its SHA-256 (a page scanned twice is stored
once; the digest is checked again on every read). `paper_scan_page` is every scanned page:
which file and page it came from, its image, what became of it (a cover sheet, blank, filed
into a DocumentReference, or waiting in the indexing queue for a person to assign) and its
OCR text, which is also the scanned-document full-text index (`words`).

Every function takes the caller's Transaction and audits the patients it touches there.
`purge_content` is the one place content leaves the store for good: destruction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence

from sqlalchemy import (
    Column,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)

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


paper_blob = Table(
    "paper_blob",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("media_type", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("created", String(STAMP), nullable=False),
)

paper_scan_page = Table(
    "paper_scan_page",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("batch", String(64), nullable=False),  # one import run of a file or folder
    Column("source", Text, nullable=False),  # the file's name as scanned
    Column("source_sha256", String(64), nullable=False),  # the file's own digest
    Column("page_no", Integer, nullable=False),  # 1-based, within its file
    Column("seq", Integer, nullable=False),  # 1-based, within the batch
    Column("image_sha256", String(64), nullable=False),  # -> paper_blob (PNG)
    Column("status", String(16), nullable=False),  # cover | blank | filed | queued
    Column("reason", Text),  # why it is queued or what the cover said
    Column("document_id", String(ID)),  # the DocumentReference it is filed in
    Column("patient_id", String(ID)),
    Column("ocr_text", Text),
    Column("words", Text),  # ocr_text folded for search: " lower case words ", space-padded
    Column("scanned", String(STAMP), nullable=False),
    Column("scanned_by", String(64), nullable=False),
    Column("assigned", String(STAMP)),
    Column("assigned_by", String(64)),
)
Index("ix_paper_scan_page_status", paper_scan_page.c.status, paper_scan_page.c.id)
Index("ix_paper_scan_page_document", paper_scan_page.c.document_id, paper_scan_page.c.seq)
Index("ix_paper_scan_page_source", paper_scan_page.c.source_sha256)

paper_misfile = Table(
    "paper_misfile",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("document_id", String(ID), nullable=False),
    Column("from_patient", String(ID), nullable=False),
    Column("to_patient", String(ID), nullable=False),
    Column("from_encounter", String(ID)),
    Column("to_encounter", String(ID)),
    Column("reason", Text, nullable=False),
    Column("moved", String(STAMP), nullable=False),
    Column("moved_by", String(64), nullable=False),
    Column("version", Integer, nullable=False),  # the DocumentReference version that moved it
    Column("repointed", Text, nullable=False),  # JSON list of "Type/id" that followed it
    Column("disclosures", Text, nullable=False),  # JSON list: disclosures that sent it out
)


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


def list_holds(
    tx: Transaction, *, active_only: bool = True, audit: bool = True, case_ref: str | None = None
) -> list[dict]:
    query = select(paper_hold).order_by(paper_hold.c.id)
    if active_only:
        query = query.where(paper_hold.c.released.is_(None))
    if case_ref is not None:
        query = query.where(paper_hold.c.case_ref == case_ref)
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


# --- scanned content -------------------------------------------------------------------


# How a DocumentReference attachment names a stored scan (paper.scanning writes it, the
# release-of-information packet and the workbench read it).
SCAN_URL = "urn:chartkeeper:scan:"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put_blob(tx: Transaction, data: bytes, media_type: str, stamp: str) -> str:
    """Store `data` once under its SHA-256; a second copy of the same bytes is not stored."""
    digest = sha256(data)
    found = tx.conn.execute(select(paper_blob.c.sha256).where(paper_blob.c.sha256 == digest))
    if found.first() is None:
        tx.conn.execute(
            insert(paper_blob).values(
                sha256=digest, media_type=media_type, size=len(data), data=data, created=stamp
            )
        )
    return digest


class BlobDamaged(Exception):
    """Stored content no longer matches its checksum (or is gone)."""


def get_blob(tx: Transaction, digest: str) -> tuple[str, bytes]:
    """(media type, bytes) of a stored blob, its checksum verified; BlobDamaged otherwise.
    Not audited here: the caller audits the document the page belongs to."""
    row = tx.conn.execute(
        select(paper_blob.c.media_type, paper_blob.c.data).where(paper_blob.c.sha256 == digest)
    ).first()
    if row is None:
        raise BlobDamaged(f"scanned content {digest[:12]} is not in the store")
    data = bytes(row.data)
    if sha256(data) != digest:
        raise BlobDamaged(f"scanned content {digest[:12]} fails its checksum")
    return row.media_type, data


def source_imported(tx: Transaction, source_sha256: str) -> bool:
    query = select(paper_scan_page.c.id).where(paper_scan_page.c.source_sha256 == source_sha256)
    return tx.conn.execute(query.limit(1)).first() is not None


def insert_pages(tx: Transaction, rows: Sequence[dict]) -> list[int]:
    ids = []
    for row in rows:
        result = tx.conn.execute(insert(paper_scan_page).values(**row))
        ids.append(int(result.inserted_primary_key[0]))
    patients = [r["patient_id"] for r in rows if r.get("patient_id")]
    queued = sum(1 for r in rows if r["status"] == "queued")
    _audit(tx, "paper-scan", patients, f"{len(rows)} pages scanned, {queued} to the queue")
    return ids


_PAGE_COLUMNS = [c for c in paper_scan_page.c if c.name != "ocr_text" and c.name != "words"]


def get_page(tx: Transaction, page_id: int) -> dict | None:
    row = (
        tx.conn.execute(select(paper_scan_page).where(paper_scan_page.c.id == page_id))
        .mappings()
        .first()
    )
    return dict(row) if row else None


def queued_pages(tx: Transaction, limit: int = 500) -> list[dict]:
    """The indexing queue, oldest first (no patient yet, so nobody's chart is read)."""
    c = paper_scan_page.c
    query = select(*_PAGE_COLUMNS).where(c.status == "queued").order_by(c.id).limit(limit)
    rows = [dict(r) for r in tx.conn.execute(query).mappings()]
    _audit(tx, "paper-queue-read", [], f"{len(rows)} pages waiting")
    return rows


def document_pages(tx: Transaction, document_id: str) -> list[dict]:
    c = paper_scan_page.c
    query = select(paper_scan_page).where(c.document_id == document_id).order_by(c.seq, c.id)
    return [dict(r) for r in tx.conn.execute(query).mappings()]


def file_pages(tx: Transaction, page_ids: Sequence[int], values: dict) -> None:
    """Move pages (queued ones being assigned, or a misfiled document's) to a document."""
    c = paper_scan_page.c
    tx.conn.execute(update(paper_scan_page).where(c.id.in_(list(page_ids))).values(**values))


def repoint_document(tx: Transaction, document_id: str, patient_id: str) -> int:
    c = paper_scan_page.c
    result = tx.conn.execute(
        update(paper_scan_page).where(c.document_id == document_id).values(patient_id=patient_id)
    )
    return result.rowcount or 0


def documents_with_words(tx: Transaction, words: Sequence[str], limit: int = 1000) -> list[str]:
    """DocumentReference ids whose scanned text holds every one of `words` (already folded),
    each a whole word. Not audited: the caller reads the documents through the guard."""
    c = paper_scan_page.c
    query = select(c.document_id).where(c.document_id.is_not(None), c.status == "filed")
    for word in words:  # `words` is space-padded, so "% word %" matches whole words only
        query = query.where(c.words.like(f"% {word} %"))
    query = query.distinct().order_by(c.document_id).limit(limit)
    return list(tx.conn.execute(query).scalars())


def purge_scans(tx: Transaction, document_ids: Sequence[str]) -> int:
    """Destruction of scanned documents: their page rows lose text and image reference, and
    each image no other page uses leaves the store. Returns the pages purged."""
    if not document_ids:
        return 0
    c = paper_scan_page.c
    digests = set(
        tx.conn.execute(
            select(c.image_sha256).where(c.document_id.in_(list(document_ids)))
        ).scalars()
    )
    result = tx.conn.execute(
        update(paper_scan_page)
        .where(c.document_id.in_(list(document_ids)))
        .values(ocr_text=None, words=None, image_sha256="", status="destroyed")
    )
    still = set(
        tx.conn.execute(select(c.image_sha256).where(c.image_sha256.in_(digests))).scalars()
    )
    gone = list(digests - still)
    if gone:
        tx.conn.execute(delete(paper_blob).where(paper_blob.c.sha256.in_(gone)))
    return result.rowcount or 0


# --- misfile corrections ---------------------------------------------------------------


def insert_misfile(tx: Transaction, values: dict) -> int:
    """A misfile correction (the caller audits each patient's side of it)."""
    return int(tx.conn.execute(insert(paper_misfile).values(**values)).inserted_primary_key[0])


def list_misfiles(tx: Transaction) -> list[dict]:
    query = select(paper_misfile).order_by(paper_misfile.c.id.desc())
    rows = [dict(r) for r in tx.conn.execute(query).mappings()]
    if rows:
        patients = [p for r in rows for p in (r["from_patient"], r["to_patient"])]
        _audit(tx, "paper-misfile-read", patients, f"{len(rows)} misfile corrections")
    return rows
