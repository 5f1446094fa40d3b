"""Scanning and indexing: the issue's 40-page batch, bad input, the indexing queue,
full-text search over OCR text, and misfile correction, on both databases.

The batch is generated once per module (Pillow text pages, chartkeeper's own cover sheets
rasterised, some skewed and speckled, two blank, one with no cover sheet) and read and
OCR'd once; each backend then files the same analysed pages.
"""

from __future__ import annotations

import fcntl
import json
import os
import pickle
import time
from pathlib import Path

import pytest
import scan_batch

from chartkeeper.coding.cac import note_text
from chartkeeper.errors import BadRequest, Conflict, NotFound
from chartkeeper.paper import indexing, scanning
from chartkeeper.store import Repository
from chartkeeper.store.engine import make_engine, upgrade

needs_tesseract = pytest.mark.skipif(
    not scanning.tesseract_available(),
    reason="tesseract-ocr is not installed (.ci/run installs it)",
)


def _analysed(folder: Path):
    """Generate the batch and read, classify and OCR it (timed)."""
    engine = make_engine(f"sqlite:///{folder / 'covers.db'}")
    upgrade(engine)
    batch = scan_batch.forty_pages(Repository(engine), folder / "drop")
    engine.dispose()
    files = scanning.files_in(batch.folder)
    started = time.perf_counter()
    errors: list[dict] = []
    pages = scanning.analyse(((f.name, f.read_bytes()) for f in files), errors=errors)
    rate = len(pages) / (time.perf_counter() - started)
    return batch, pages, errors, rate


@pytest.fixture(scope="module")
def forty(tmp_path_factory):
    """The batch, analysed once per test run: OCR is the slow part, and under xdist the
    workers share one analysis (the first to take the lock makes it, the others read it)
    rather than each running tesseract over the same 40 pages."""
    if not scanning.tesseract_available():
        pytest.skip("tesseract-ocr is not installed")
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    root = tmp_path_factory.getbasetemp().parent if run else tmp_path_factory.getbasetemp()
    cache = root / f"paper-forty-{run or 'local'}"
    cache.mkdir(exist_ok=True)
    with open(cache / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        made = cache / "analysed.pickle"
        if not made.exists():
            made.write_bytes(pickle.dumps(_analysed(cache)))
        batch, pages, errors, rate = pickle.loads(made.read_bytes())
    print(f"\n40-page batch read, classified and OCR'd: {rate:.1f} pages/s")
    assert errors == []
    return batch, pages


def _patients(repo):
    for pid, family in [("p1", "Okafor"), ("p2", "Lindqvist"), ("p3", "Haddad"),
                        ("p4", "Moreau")]:  # fmt: skip
        scan_batch.patient(repo, pid, family)


@needs_tesseract
def test_forty_page_batch_is_split_indexed_and_searchable(repo, forty):
    batch, pages = forty
    _patients(repo)
    result = scanning.file_batch(
        repo, pages, by="scan-clerk", result=scanning.ScanResult(batch="B1", files=12)
    )
    assert result.pages == 40 and result.covers == 8 and result.errors == []
    # eight documents, each filed to the patient its cover sheet names
    assert len(result.documents) == 8
    assert sum(d["pages"] for d in result.documents) == 29
    filed_right = 0
    for doc in result.documents:
        stored = repo.read("DocumentReference", doc["id"])
        text = note_text(stored)  # what deficiencies, CAC and casefinding read
        (keyword,) = [k for k in batch.expected if k in text.lower()]
        assert stored["subject"]["reference"] == f"Patient/{batch.expected[keyword]}"
        assert stored["context"]["encounter"][0]["reference"] == f"Encounter/{doc['patient_id']}-e1"
        filed_right += stored["subject"]["reference"] == f"Patient/{batch.expected[keyword]}"
        images = [c for c in stored["content"] if c["attachment"]["contentType"] == "image/png"]
        assert len(images) == doc["pages"]
    assert filed_right == 8
    # the page without a cover sheet waits in the queue; blanks are reported, not filed
    (queued,) = result.queued
    assert queued["reason"] == "no cover sheet before this page"
    assert sorted((b["source"], b["page_no"]) for b in result.blank) == sorted(batch.blank_at)
    waiting = indexing.queue(repo)
    assert [p["id"] for p in waiting] == [queued["page"]]
    # OCR'd words are found by search, each in its own patient's document
    for keyword, pid in batch.expected.items():
        (found,) = indexing.find_documents(repo, keyword.upper())
        assert found["subject"]["reference"] == f"Patient/{pid}"
    assert len(indexing.find_documents(repo, "clinic examination")) == 8
    assert indexing.find_documents(repo, "pneumothorax", patient_id="p2") == []
    assert indexing.find_documents(repo, batch.queued_keyword) == []  # not filed yet
    # a person assigns the queued page: it is filed and found
    doc = indexing.assign(repo, [queued["page"]], patient_id="p3", doc_type="51851-4", by="ana")
    assert indexing.queue(repo) == []
    (found,) = indexing.find_documents(repo, batch.queued_keyword)
    assert found["id"] == doc["id"] and found["subject"]["reference"] == "Patient/p3"
    with pytest.raises(Conflict, match="not waiting"):
        indexing.assign(repo, [queued["page"]], patient_id="p1", doc_type="51851-4", by="ana")
    # the same files again: nothing new (pages are stored once, documents not doubled)
    again = scanning.file_batch(repo, pages, by="x", result=scanning.ScanResult(batch="B2"))
    assert again.documents == [] and len(again.skipped) == 12 and again.pages == 0


def _png(page) -> bytes:
    import io

    out = io.BytesIO()
    page.save(out, format="PNG")
    return out.getvalue()


@needs_tesseract
def test_bad_input_is_one_clear_error_each_and_the_rest_imports(repo, tmp_path):
    scan_batch.patient(repo, "p1", "Okafor")
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a-corrupt.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<>> garbage, not a PDF")
    (drop / "b-unreadable.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    scan_batch.cover_page(repo, "p1", "11506-3", encounter="p1-e1").save(drop / "c-cover.png")
    scan_batch.text_page(["Assessment: sarcoidosis noted"]).save(drop / "d-page.png")
    nobody = scanning.Cover("ghost", None, "11506-3", None).payload()
    scan_batch.fake_cover(nobody).save(drop / "e-cover-nobody.png")
    scan_batch.text_page(["Assessment: histoplasmosis noted"]).save(drop / "f-page.png")
    (drop / "notes.txt").write_text("not a scan: ignored")
    seen = []
    result = scanning.scan(repo, [drop], by="clerk", progress=lambda *a: seen.append(a))
    messages = {e["source"]: e["message"] for e in result.errors}
    assert set(messages) == {"a-corrupt.pdf", "b-unreadable.png", "e-cover-nobody.png"}
    assert messages["a-corrupt.pdf"].startswith("not a readable PDF")
    assert messages["b-unreadable.png"].startswith("not a readable image")
    assert "Patient/ghost, who is not in the store" in messages["e-cover-nobody.png"]
    (doc,) = result.documents
    assert doc["patient_id"] == "p1" and doc["pages"] == 1
    (queued,) = result.queued  # the page behind the bad cover is kept, for a person
    assert queued["source"] == "f-page.png" and "ghost" in queued["reason"]
    assert {s for s, *_ in seen} == {"reading", "ocr"}
    assert indexing.find_documents(repo, "sarcoidosis")[0]["id"] == doc["id"]
    # a killed or repeated run: the same folder again imports nothing twice
    again = scanning.scan(repo, [drop], by="clerk")
    assert again.documents == [] and sorted(again.skipped) == [
        "c-cover.png",
        "d-page.png",
        "e-cover-nobody.png",
        "f-page.png",
    ]
    with pytest.raises(BadRequest, match="no file or folder"):
        scanning.scan(repo, [tmp_path / "missing"], by="clerk")


def test_cover_sheet_refuses_what_it_cannot_name(repo):
    scan_batch.patient(repo, "p1", "Okafor")
    scan_batch.patient(repo, "p2", "Lindqvist")
    pdf = scanning.cover_sheet_pdf(repo, "p1", doc_types=["11506-3", "18842-5"])
    assert pdf.startswith(b"%PDF")
    pages = scanning.read_pages("covers.pdf", pdf)
    assert len(pages) == 2
    covers = [scanning.parse_cover(scanning.cover_texts(p)[0]) for p in pages]
    assert [c.doc_type for c in covers] == ["11506-3", "18842-5"]
    assert {c.patient_id for c in covers} == {"p1"}
    with pytest.raises(NotFound):
        scanning.cover_sheet_pdf(repo, "ghost", doc_types=["11506-3"])
    with pytest.raises(BadRequest, match="unknown document type"):
        scanning.cover_sheet_pdf(repo, "p1", doc_types=["00000-0"])
    with pytest.raises(BadRequest, match="not an encounter of"):
        scanning.cover_sheet_pdf(repo, "p1", doc_types=["11506-3"], encounter_id="p2-e1")
    with pytest.raises(BadRequest):
        scanning.parse_cover("CHARTKEEPER-COVER/1|P=|T=11506-3")


def _scanned_doc(repo, pid="p1", word="sarcoidosis"):
    """One document filed without OCR (fast): the text attachment is set by hand."""
    page = scan_batch.text_page([f"Assessment: {word}"])
    cover = scan_batch.cover_page(repo, pid, "11506-3", encounter=f"{pid}-e1")
    result = scanning.scan_bytes(
        repo, [("c.png", _png(cover)), (f"{word}.png", _png(page))], by="clerk", with_ocr=False
    )
    return result.documents[0]["id"]


def test_misfile_move_keeps_history_repoints_and_is_in_both_access_reports(repo):
    scan_batch.patient(repo, "p1", "Okafor")
    scan_batch.patient(repo, "p2", "Lindqvist")
    doc_id = _scanned_doc(repo)
    repo.update({"resourceType": "Provenance", "id": "prov1", "recorded": "2026-11-02T10:00:00Z",
                 "target": [{"reference": f"DocumentReference/{doc_id}"},
                            {"reference": "Patient/p1"}],
                 "agent": [{"who": {"display": "scan clerk"}}]})  # fmt: skip
    moved = indexing.move_document(repo, doc_id, patient_id="p2", encounter_id="p2-e1",
                                   reason="wrong patient's cover sheet", by="ana")  # fmt: skip
    assert (moved.from_patient, moved.to_patient) == ("p1", "p2")
    assert moved.from_encounter == "p1-e1" and moved.to_encounter == "p2-e1"
    assert moved.repointed == ["Provenance/prov1"] and moved.disclosures == []
    now = repo.read("DocumentReference", doc_id)
    assert now["subject"]["reference"] == "Patient/p2"
    assert now["context"]["encounter"] == [{"reference": "Encounter/p2-e1"}]
    history = repo.history("DocumentReference", doc_id)
    assert [h["resource"]["subject"]["reference"] for h in history] == ["Patient/p2", "Patient/p1"]
    assert "Patient/p2" in json.dumps(repo.read("Provenance", "prov1"))
    assert indexing.page_image(repo, 2).startswith(b"\x89PNG")  # served as p2's now
    (listed,) = indexing.misfiles(repo)
    assert listed["document_id"] == doc_id and listed["repointed"] == ["Provenance/prov1"]
    with pytest.raises(BadRequest, match="already filed there"):
        indexing.move_document(repo, doc_id, patient_id="p2", encounter_id="p2-e1",
                               reason="again", by="ana")  # fmt: skip
    with pytest.raises(BadRequest, match="reason"):
        indexing.move_document(repo, doc_id, patient_id="p1", reason=" ", by="ana")
    with pytest.raises(NotFound):
        indexing.move_document(repo, doc_id, patient_id="ghost", reason="x", by="ana")
    with pytest.raises(BadRequest, match="not an encounter of"):
        indexing.move_document(repo, doc_id, patient_id="p1", encounter_id="p2-e1",
                               reason="x", by="ana")  # fmt: skip
