"""Indexing after the scan: the queue of pages nobody could file, a person assigning them,
full-text search over scanned documents, the page images, and misfile correction.

A misfile move (`move_document`) is one transaction: the DocumentReference gets a new
version naming the right patient and encounter (its history keeps the wrong one), the
resources that refer to the document and to the wrong patient only follow it, the scanned
pages are repointed, each patient's access report gets an entry about its side of the move
(without naming the other patient), and every disclosure that already sent the document out
is flagged on the move for the privacy officer (a misdirected disclosure may be a breach).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date

from chartkeeper.errors import BadRequest, Conflict, NotFound
from chartkeeper.fhir.references import iter_references, parse_relative, rewrite_references
from chartkeeper.fhir.search_params import utc_now
from chartkeeper.paper.scanning import (
    SCAN_URL,
    Cover,
    _check_encounter,
    _doc_id,
    _document,
    _document_type,
    fold_words,
)
from chartkeeper.store import Repository
from chartkeeper.store import disclosures as disclosure_table
from chartkeeper.store import paper as table
from chartkeeper.store.search import referencing


def queue(repo: Repository, limit: int = 500) -> list[dict]:
    """Pages waiting to be assigned, oldest first."""
    with repo.transaction() as tx:
        return table.queued_pages(tx, limit)


def page_image(repo: Repository, page_id: int) -> bytes:
    """A scanned page's PNG. A filed page is read as its document (guarded, audited); a
    queued page belongs to nobody yet and is audited as a queue read."""
    with repo.transaction() as tx:
        page = table.get_page(tx, page_id)
        if page is None or not page["image_sha256"]:
            raise NotFound(f"no scanned page {page_id}")
        if page["document_id"]:
            tx.read("DocumentReference", page["document_id"])
        else:
            tx.note("paper-queue-read", [], f"page {page_id} image")
        try:
            _media, data = table.get_blob(tx, page["image_sha256"])
        except table.BlobDamaged as exc:
            raise Conflict(str(exc)) from None
        return data


def document_images(tx, doc: dict) -> list[bytes]:
    """The page images of a scanned DocumentReference the caller has read already."""
    images = []
    for content in doc.get("content") or []:
        url = (content.get("attachment") or {}).get("url") or ""
        if url.startswith(SCAN_URL):
            try:
                images.append(table.get_blob(tx, url.removeprefix(SCAN_URL))[1])
            except table.BlobDamaged as exc:
                raise Conflict(str(exc)) from None
    return images


def assign(
    repo: Repository,
    page_ids: Sequence[int],
    *,
    patient_id: str,
    doc_type: str,
    by: str,
    encounter_id: str | None = None,
    day: date | None = None,
) -> dict:
    """File queued pages (in the order given) as one new document of a patient."""
    if not page_ids:
        raise BadRequest("name at least one queued page")
    if len(set(page_ids)) != len(page_ids):
        raise BadRequest("a page is named twice")
    cover = Cover(patient_id, encounter_id, _document_type(doc_type),
                  day.isoformat() if day else None)  # fmt: skip
    stamp = utc_now()
    with repo.transaction() as tx:
        tx.read("Patient", patient_id)  # NotFound when not there; audited
        _check_encounter(tx, patient_id, encounter_id)
        pages = []
        for page_id in page_ids:
            page = table.get_page(tx, page_id)
            if page is None:
                raise NotFound(f"no scanned page {page_id}")
            if page["status"] != "queued":
                raise Conflict(f"page {page_id} is {page['status']}, not waiting in the queue")
            pages.append(page)
        images = []
        for page in pages:
            try:
                images.append((page["image_sha256"], table.get_blob(tx, page["image_sha256"])[1]))
            except table.BlobDamaged as exc:
                raise Conflict(str(exc)) from None
        doc_id = _doc_id([d for d, _png in images], cover)
        text = "\n\f\n".join(p["ocr_text"] or "" for p in pages)
        doc = _document(doc_id, cover, images, text, stamp,
                        f"Scanned: {len(pages)} pages, indexed by hand by {by}")  # fmt: skip
        tx.update(doc)
        for seq, page in enumerate(pages, 1):
            table.file_pages(tx, [page["id"]], {
                "status": "filed", "document_id": doc_id, "patient_id": patient_id,
                "seq": seq, "assigned": stamp, "assigned_by": by,
            })  # fmt: skip
        tx.note(
            "paper-index",
            [{"resourceType": "DocumentReference", "id": doc_id,
              "subject": {"reference": f"Patient/{patient_id}"}}],
            f"{len(pages)} queued pages filed by hand",
        )  # fmt: skip
    return {"id": doc_id, "patient_id": patient_id, "encounter_id": encounter_id,
            "type": doc_type, "pages": len(pages)}  # fmt: skip


def find_documents(repo: Repository, text: str, *, patient_id: str | None = None) -> list[dict]:
    """Scanned documents whose OCR text holds every word of `text` (whole words, any case),
    read through the caller's store (guarded: what they may not see is left out; audited)."""
    words = fold_words(text)
    if not words:
        raise BadRequest("search text needs at least one word")
    with repo.transaction() as tx:
        ids = table.documents_with_words(tx, words)
        docs = tx.read_many(("DocumentReference", i) for i in ids)
    if patient_id:
        docs = [
            d for d in docs if (d.get("subject") or {}).get("reference") == f"Patient/{patient_id}"
        ]
    return docs


# --- misfile correction ------------------------------------------------------------------


@dataclass
class Misfile:
    id: int
    document_id: str
    from_patient: str
    to_patient: str
    from_encounter: str | None
    to_encounter: str | None
    reason: str
    moved: str
    moved_by: str
    version: int  # the DocumentReference version that corrected it
    repointed: list[str]  # other resources that followed the document
    disclosures: list[dict]  # disclosures that sent it out while misfiled

    def as_json(self) -> dict:
        return asdict(self)


def _encounter_of(doc: dict) -> str | None:
    for enc in (doc.get("context") or {}).get("encounter") or []:
        ref = parse_relative(enc.get("reference") or "")
        if ref and ref[0] == "Encounter":
            return ref[1]
    return None


def move_document(
    repo: Repository,
    document_id: str,
    *,
    patient_id: str,
    by: str,
    reason: str,
    encounter_id: str | None = None,
) -> Misfile:
    """Move a misfiled document to the right patient (and encounter), keeping history."""
    if not reason.strip():
        raise BadRequest("a misfile correction needs a reason")
    stamp = utc_now()
    with repo.transaction() as tx:
        doc = tx.read("DocumentReference", document_id)
        old = parse_relative((doc.get("subject") or {}).get("reference") or "")
        if not old or old[0] != "Patient":
            raise BadRequest(f"DocumentReference/{document_id} is filed under no patient")
        from_patient, from_encounter = old[1], _encounter_of(doc)
        if from_patient == patient_id and from_encounter == encounter_id:
            raise BadRequest(f"DocumentReference/{document_id} is already filed there")
        tx.read("Patient", patient_id)
        _check_encounter(tx, patient_id, encounter_id)

        def repoint(ref: str) -> str | None:
            key = parse_relative(ref)
            if key == ("Patient", from_patient):
                return f"Patient/{patient_id}"
            if from_encounter and key == ("Encounter", from_encounter):
                return f"Encounter/{encounter_id}" if encounter_id else None
            return None

        moved = json.loads(json.dumps(doc))
        rewrite_references(moved, repoint)
        if from_encounter and not encounter_id:  # the wrong encounter goes, none replaces it
            context = moved.get("context") or {}
            context.pop("encounter", None)
            moved["context"] = context
        elif encounter_id:
            moved.setdefault("context", {})["encounter"] = [
                {"reference": f"Encounter/{encounter_id}"}
            ]
        if not moved.get("context"):
            moved.pop("context", None)
        version = int(tx.update(moved).resource["meta"]["versionId"])
        # Resources about this document and the wrong patient only (a Provenance, a List of
        # scanned documents) follow it; one that also concerns others is left for a person.
        repointed = []
        for key in sorted(referencing(tx, "DocumentReference", document_id)):
            if key == ("DocumentReference", document_id):
                continue
            try:
                other = tx.read(*key)
            except (NotFound, Conflict):
                continue
            patients = {
                ref[1]
                for _p, value in iter_references(other)
                if (ref := parse_relative(value)) and ref[0] == "Patient"
            }
            if patients == {from_patient} and rewrite_references(other, repoint):
                tx.update(other)
                repointed.append(f"{key[0]}/{key[1]}")
        table.repoint_document(tx, document_id, patient_id)
        sent = disclosure_table.disclosures_naming(
            tx, from_patient, f"DocumentReference/{document_id}/"
        )
        flagged = [
            {"disclosure": d["id"], "request": d["request_id"], "disclosed": d["disclosed"],
             "recipient": d["recipient_name"]}
            for d in sent
        ]  # fmt: skip
        record = {
            "document_id": document_id, "from_patient": from_patient, "to_patient": patient_id,
            "from_encounter": from_encounter, "to_encounter": encounter_id,
            "reason": reason.strip(), "moved": stamp, "moved_by": by, "version": version,
            "repointed": json.dumps(repointed), "disclosures": json.dumps(flagged),
        }  # fmt: skip
        number = table.insert_misfile(tx, record)
        warn = f"; disclosed {len(flagged)} times while misfiled" if flagged else ""
        tx.note(
            "paper-misfile-out",
            [{"resourceType": "Patient", "id": from_patient}],
            f"misfile {number}: DocumentReference/{document_id} moved out of this chart "
            f"to another patient's ({reason.strip()}){warn}",
        )
        tx.note(
            "paper-misfile-in",
            [{"resourceType": "Patient", "id": patient_id},
             {"resourceType": "DocumentReference", "id": document_id,
              "subject": {"reference": f"Patient/{patient_id}"}}],
            f"misfile {number}: DocumentReference/{document_id} moved into this chart "
            f"({reason.strip()})",
        )  # fmt: skip
    return Misfile(number, document_id, from_patient, patient_id, from_encounter, encounter_id,
                   reason.strip(), stamp, by, version, repointed, flagged)  # fmt: skip


def misfiles(repo: Repository, *, disclosed_only: bool = False) -> list[dict]:
    """Misfile corrections, newest first; `disclosed_only`: those a disclosure had sent out
    (the privacy officer's breach-assessment worklist)."""
    with repo.transaction() as tx:
        rows = table.list_misfiles(tx)
    found = []
    for row in rows:
        row = {**row, "repointed": json.loads(row["repointed"]),
               "disclosures": json.loads(row["disclosures"])}  # fmt: skip
        if row["disclosures"] or not disclosed_only:
            found.append(row)
    return found
