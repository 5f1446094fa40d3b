"""A scanned document's life beyond the scan, on both databases: its OCR text feeds
casefinding like any pathology report, and destruction past retention removes its page
images and its text from the full-text index while the certificate lists it."""

from __future__ import annotations

import io
from datetime import date

import pytest
import scan_batch

from chartkeeper.errors import NotFound
from chartkeeper.paper import indexing, retention, scanning

PATHOLOGY = (
    "SURGICAL PATHOLOGY REPORT\n"
    "FINAL DIAGNOSIS: BREAST, LEFT, LUMPECTOMY: INVASIVE DUCTAL CARCINOMA, GRADE 2.\n"
)


def _png(page) -> bytes:
    out = io.BytesIO()
    page.save(out, format="PNG")
    return out.getvalue()


def _scan(repo, pid: str, doc_type: str, monkeypatch, text: str) -> dict:
    """Cover sheet + one page, OCR replaced by the page's known text (speed: the OCR itself
    is checked in test_scanning)."""
    monkeypatch.setattr(scanning, "ocr", lambda page: text)
    cover = scan_batch.cover_page(repo, pid, doc_type, encounter=f"{pid}-e1")
    page = scan_batch.text_page(text.splitlines())
    result = scanning.scan_bytes(
        repo, [(f"{pid}-c.png", _png(cover)), (f"{pid}-p.png", _png(page))], by="clerk"
    )
    (doc,) = result.documents
    return doc


def test_a_scanned_pathology_report_is_found_by_casefinding(repo, monkeypatch):
    from chartkeeper.registry import casefinding, reference

    if not reference.available("icdo3", "primarySite.csv"):
        pytest.skip("registry reference files are not present")
    scan_batch.patient(repo, "p1", "Okafor")
    doc = _scan(repo, "p1", "11526-1", monkeypatch, PATHOLOGY)
    findings, _screened = casefinding.find(repo)
    (found,) = [f for f in findings if f.reference == f"DocumentReference/{doc['id']}"]
    assert found.patient_id == "p1" and found.histology == "8500"


def test_destruction_removes_scanned_pages_and_text(repo, monkeypatch):
    scan_batch.patient(repo, "old", "Okafor")
    scan_batch.patient(repo, "kept", "Lindqvist")
    for pid in ("old", "kept"):  # last seen long ago: both past retention
        enc = repo.read("Encounter", f"{pid}-e1")
        enc["period"] = {"start": "2008-03-01T09:00:00Z", "end": "2008-03-01T10:00:00Z"}
        repo.update(enc)
    gone = _scan(repo, "old", "11506-3", monkeypatch, "Assessment: sarcoidosis")
    held = _scan(repo, "kept", "11506-3", monkeypatch, "Assessment: sarcoidosis again")
    retention.place_hold(repo, "kept", reason="subpoena", by="him1")
    assert len(indexing.find_documents(repo, "sarcoidosis")) == 2
    done = retention.destroy(
        repo, by="him1", method="electronic-purge", as_of=date(2025, 6, 1), dry_run=False
    )
    went = {r["id"] for g in done.destroyed for r in g["resources"]}
    assert gone["id"] in went and held["id"] not in went
    (left,) = indexing.find_documents(repo, "sarcoidosis")
    assert left["id"] == held["id"]
    with repo.transaction() as tx:
        from chartkeeper.store import paper as table

        old_pages = table.document_pages(tx, gone["id"])
        kept_pages = table.document_pages(tx, held["id"])
    assert old_pages and all(p["status"] == "destroyed" and p["ocr_text"] is None
                             for p in old_pages)  # fmt: skip
    for page in old_pages:
        with pytest.raises(NotFound):
            indexing.page_image(repo, page["id"])
    assert indexing.page_image(repo, kept_pages[0]["id"]).startswith(b"\x89PNG")
