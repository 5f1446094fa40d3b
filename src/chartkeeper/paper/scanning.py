"""Scanning and indexing: loose paper into the right patient's electronic record.

A scanner's output (PDF, TIFF, PNG or JPEG files, one at a time or a whole drop folder)
is read page by page. Each page is one of:

- a **cover sheet** chartkeeper printed (`cover_sheet_pdf`): its QR code names the patient,
  the encounter, the document type and the date, and starts a new document;
- **blank** (the back of a one-sided sheet, a separator): reported, filed nowhere;
- a **content page**: OCR'd (Debian's tesseract through pytesseract) and filed in the
  document its cover sheet started, or, with no readable cover sheet before it (or one
  that names nobody in the store), sent to the **indexing queue** for a person to assign.

Every document becomes a DocumentReference written through the caller's (guarded, audited)
store: type, patient, encounter and date from the cover sheet; its first attachment is the
OCR text (text/plain), so chart deficiencies, computer-assisted coding and casefinding read
it like any other note, and the page images follow, each stored once by SHA-256 in
`store.paper` (`urn:chartkeeper:scan:<sha256>`). `find_documents` is the full-text search
over the scanned text.

One batch (a file, or a folder read in name order, so a cover sheet in one file governs the
pages in the next) is read and OCR'd first, then written in one transaction: a killed run
leaves nothing half-filed, and a file imported before is skipped, so re-running a drop
folder is harmless. A file that cannot be read is one error naming it; the rest imports.

Why the page analysis is our own code: zxing-cpp finds the barcodes and tesseract reads
the text; what is left (is this page blank, where does a document start) is a few lines
of arithmetic over the decoded results that no library offers as such.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import shutil
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from chartkeeper.errors import BadRequest, ChartkeeperError, NotFound
from chartkeeper.fhir.references import parse_relative
from chartkeeper.fhir.search_params import utc_now
from chartkeeper.privacy.people import human_name, mrn_of
from chartkeeper.store import Repository, Transaction
from chartkeeper.store import paper as table

COVER_PREFIX = "CHARTKEEPER-COVER/1"
SCAN_URL = table.SCAN_URL
SOURCE_SYSTEM = "urn:chartkeeper:document-source"
LOINC = "http://loinc.org"
EXTENSIONS = {".pdf", ".tif", ".tiff", ".png", ".jpg", ".jpeg"}
RENDER_DPI = 150  # PDF pages are rasterised at this resolution (OCR reads 150 dpi well)
MAX_WIDTH = 1800  # pages wider than this (a 300-600 dpi scan) are scaled down before storing
# Below this share of dark pixels (despeckled, margins left out) a page is blank: scanner
# speckle up to 5% of pixels measures under 0.00004, one short word ("OK") 0.00018.
BLANK_INK = 0.00004
MARGIN = 0.03  # of each side: a scanner's edge shadow is not writing

# Document types a cover sheet can name: LOINC document codes (the ones the rest of
# chartkeeper already files notes under, plus the paper a registration desk scans).
DOCUMENT_TYPES = {
    "11506-3": "Progress note",
    "34117-2": "History and physical note",
    "18842-5": "Discharge summary",
    "11488-4": "Consult note",
    "34111-5": "Emergency department Note",
    "11504-8": "Surgical operation note",
    "11526-1": "Pathology study",
    "59284-0": "Patient Consent",
    "51851-4": "Administrative note",
}


class ScanError(ChartkeeperError):
    """One file or page that could not be read; the rest of the batch goes on."""

    code = "invalid"
    http_status = 400


# --- cover sheets ------------------------------------------------------------------------


@dataclass(frozen=True)
class Cover:
    patient_id: str
    encounter_id: str | None
    doc_type: str
    day: str | None

    def payload(self) -> str:
        return "|".join(
            [COVER_PREFIX, f"P={self.patient_id}", f"E={self.encounter_id or ''}",
             f"T={self.doc_type}", f"D={self.day or ''}"]
        )  # fmt: skip


def parse_cover(text: str) -> Cover:
    """A cover sheet's QR payload; BadRequest naming what is wrong with it."""
    parts = text.split("|")
    if parts[0] != COVER_PREFIX:
        raise BadRequest("not a chartkeeper cover sheet")
    fields = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
    patient, doc_type = fields.get("P", ""), fields.get("T", "")
    if not patient:
        raise BadRequest("the cover sheet names no patient")
    if doc_type not in DOCUMENT_TYPES:
        raise BadRequest(f"the cover sheet names an unknown document type {doc_type!r}")
    day = fields.get("D") or None
    if day:
        try:
            date.fromisoformat(day)
        except ValueError:
            raise BadRequest(f"the cover sheet's date {day!r} is not a date") from None
    return Cover(patient, fields.get("E") or None, doc_type, day)


def _document_type(code: str) -> str:
    if code not in DOCUMENT_TYPES:
        known = ", ".join(f"{c} ({n})" for c, n in DOCUMENT_TYPES.items())
        raise BadRequest(f"unknown document type {code!r}; one of {known}")
    return code


def _check_encounter(tx: Transaction, patient_id: str, encounter_id: str | None) -> dict | None:
    if not encounter_id:
        return None
    encounter = tx.read("Encounter", encounter_id)
    subject = parse_relative((encounter.get("subject") or {}).get("reference") or "")
    if subject != ("Patient", patient_id):
        raise BadRequest(f"Encounter/{encounter_id} is not an encounter of Patient/{patient_id}")
    return encounter


def cover_sheet_pdf(
    repo: Repository,
    patient_id: str,
    *,
    doc_types: Sequence[str],
    encounter_id: str | None = None,
    day: date | None = None,
) -> bytes:
    """Cover sheets (one page per document type) to put on top of paper before scanning.
    The QR code carries ids and a code, no name; the name and MRN are printed beside it
    for the person feeding the scanner."""
    import segno
    from fpdf import FPDF

    if not doc_types:
        raise BadRequest("name at least one document type")
    codes = [_document_type(c) for c in doc_types]
    with repo.transaction() as tx:
        patient = tx.read("Patient", patient_id)  # NotFound when not there; audited
        encounter = _check_encounter(tx, patient_id, encounter_id)
    if day is None and encounter:
        start = str((encounter.get("period") or {}).get("start") or "")[:10]
        day = date.fromisoformat(start) if len(start) == 10 else None
    pdf = FPDF(format="letter", unit="mm")
    pdf.set_auto_page_break(False)
    for code in codes:
        cover = Cover(patient_id, encounter_id, code, day.isoformat() if day else None)
        image = io.BytesIO()
        segno.make(cover.payload(), error="m").save(image, kind="png", scale=10, border=4)
        pdf.add_page()
        pdf.set_font("helvetica", "B", 26)
        pdf.set_xy(15, 18)
        pdf.cell(0, 12, "SCANNING COVER SHEET")
        pdf.image(io.BytesIO(image.getvalue()), x=120, y=40, w=75)
        pdf.set_font("helvetica", "", 14)
        lines = [
            ("Patient", human_name(patient)),
            ("MRN", mrn_of(patient)),
            ("Born", patient.get("birthDate", "")),
            ("Encounter", encounter_id or "(none)"),
            ("Document", f"{DOCUMENT_TYPES[code]} (LOINC {code})"),
            ("Date", cover.day or "(scan date)"),
        ]
        for i, (label, value) in enumerate(lines):
            pdf.set_xy(15, 45 + i * 11)
            text = f"{label}: {value}".encode("latin-1", "replace").decode("latin-1")
            pdf.cell(100, 10, text)
        pdf.set_font("helvetica", "", 11)
        pdf.set_xy(15, 130)
        pdf.multi_cell(
            180, 6,
            "Place this sheet on top of the pages of this one document and scan them "
            "together. Pages after it, up to the next cover sheet, are filed in this "
            "patient's record automatically. Do not reuse a sheet for another patient.",
        )  # fmt: skip
    return bytes(pdf.output())


# --- reading pages -----------------------------------------------------------------------


def _pdf_pages(data: bytes):
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise ScanError(f"not a readable PDF ({exc})") from None
    try:
        for page in document:
            bitmap = page.render(scale=RENDER_DPI / 72, grayscale=True)
            yield bitmap.to_pil()
    finally:
        document.close()


def _image_pages(data: bytes):
    from PIL import Image, ImageSequence, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        frames = []
        for frame in ImageSequence.Iterator(image):
            frame.load()
            frames.append(frame.copy())
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ScanError(f"not a readable image ({exc})") from None
    if not frames:
        raise ScanError("the image has no pages")
    return frames


def read_pages(name: str, data: bytes) -> list:
    """The pages of one scanned file as greyscale PIL images; ScanError when unreadable."""
    from PIL import Image

    if not data:
        raise ScanError("the file is empty")
    raw = list(_pdf_pages(data)) if data[:5] == b"%PDF-" or name.lower().endswith(".pdf") else (
        _image_pages(data)
    )  # fmt: skip
    pages = []
    for image in raw:
        page = image.convert("L")
        if page.width > MAX_WIDTH:
            high = round(page.height * MAX_WIDTH / page.width)
            page = page.resize((MAX_WIDTH, high), Image.Resampling.LANCZOS)
        pages.append(page)
    if not pages:
        raise ScanError("the file has no pages")
    return pages


def _png(page) -> bytes:
    out = io.BytesIO()
    page.save(out, format="PNG")
    return out.getvalue()


def ink_share(page) -> float:
    """The share of dark pixels once isolated specks (scanner noise) are filtered out."""
    import numpy as np
    from PIL import ImageFilter

    small = page.reduce(2) if page.width > 1000 else page
    clean = np.asarray(small.filter(ImageFilter.MedianFilter(3)))
    dy, dx = int(clean.shape[0] * MARGIN), int(clean.shape[1] * MARGIN)
    return float((clean[dy : clean.shape[0] - dy, dx : clean.shape[1] - dx] < 128).mean())


def cover_texts(page) -> list[str]:
    import zxingcpp

    found = zxingcpp.read_barcodes(page, formats=zxingcpp.BarcodeFormat.QRCode)
    return [r.text for r in found if r.text.startswith(COVER_PREFIX)]


def tesseract_available() -> bool:
    return shutil.which("tesseract") is not None


def skew_angle(page, limit: float = 5.0, step: float = 0.5) -> float:
    """The rotation (degrees) that straightens a page's text lines: the one whose row
    profile of ink is sharpest (classic projection-profile deskew, on a small copy; a few
    milliseconds, where a deskew library would bring scikit-image along)."""
    import numpy as np
    from PIL import Image, ImageFilter

    small = page.reduce(4) if page.width > 1200 else page.reduce(2)
    ink = Image.fromarray(((np.asarray(small.filter(ImageFilter.MedianFilter(3))) < 128)
                           * 255).astype("uint8"))  # fmt: skip
    best, best_score = 0.0, -1.0
    for angle in np.arange(-limit, limit + step / 2, step):
        rows = np.asarray(ink.rotate(float(angle), resample=Image.Resampling.NEAREST)).sum(1)
        score = float((np.diff(rows.astype("float64")) ** 2).sum())
        if score > best_score:
            best, best_score = float(angle), score
    return best


def prepare_for_ocr(page):
    """Despeckled and straightened: what tesseract reads best (the stored image is the
    page as scanned)."""
    from PIL import Image, ImageFilter

    clean = page.filter(ImageFilter.MedianFilter(3))
    angle = skew_angle(page)
    if angle:
        clean = clean.rotate(angle, fillcolor=255, resample=Image.Resampling.BILINEAR)
    return clean


def ocr(page) -> str:
    import os

    import pytesseract

    # One thread per tesseract: pages are OCR'd in parallel already, and tesseract's own
    # OpenMP threads on a small machine only fight each other (it runs ~40% faster so).
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    try:
        return pytesseract.image_to_string(prepare_for_ocr(page))
    except pytesseract.TesseractNotFoundError:
        raise ScanError(
            "tesseract is not installed (Debian: apt-get install tesseract-ocr)"
        ) from None


def fold_words(text: str) -> list[str]:
    """Lower-case words without accents: what the full-text index holds and a query uses."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.findall(r"[a-z0-9]+", plain)


# --- a batch -----------------------------------------------------------------------------


@dataclass
class Page:
    source: str
    source_sha256: str
    page_no: int
    png: bytes
    kind: str  # cover | blank | content
    cover: str | None = None  # the QR payload of a cover sheet
    text: str = ""


@dataclass
class ScanResult:
    batch: str
    files: int = 0
    pages: int = 0
    documents: list[dict] = field(default_factory=list)  # id, patient, type, pages
    queued: list[dict] = field(default_factory=list)  # page id, source, page_no, reason
    blank: list[dict] = field(default_factory=list)  # source, page_no
    covers: int = 0
    skipped: list[str] = field(default_factory=list)  # files imported before
    errors: list[dict] = field(default_factory=list)  # source, page_no, message

    def as_json(self) -> dict:
        return asdict(self)


def files_in(path: Path) -> list[Path]:
    """A drop folder's scan files in name order (the order the scanner wrote them)."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise BadRequest(f"no file or folder {path}")
    return sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in EXTENSIONS)


Progress = Callable[[str, int, int | None], None]  # (stage, pages done, total if known)


def analyse(
    sources: Iterable[tuple[str, bytes]],
    *,
    with_ocr: bool = True,
    errors: list[dict] | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> list[Page]:
    """Read and classify every page of these (name, bytes) files, then OCR the content
    pages (`workers` tesseract processes at once; default: one per CPU). Unreadable files
    are added to `errors` and left out."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    pages: list[Page] = []
    images: dict[int, object] = {}
    for name, data in sources:
        digest = table.sha256(data)
        try:
            found = read_pages(name, data)
        except ScanError as exc:
            if errors is None:
                raise
            errors.append({"source": name, "page_no": None, "message": exc.message})
            continue
        for number, image in enumerate(found, 1):
            covers = cover_texts(image)
            if covers:
                page = Page(name, digest, number, _png(image), "cover", cover=covers[0])
            elif ink_share(image) < BLANK_INK:
                page = Page(name, digest, number, _png(image), "blank")
            else:
                page = Page(name, digest, number, _png(image), "content")
                images[len(pages)] = image
            pages.append(page)
            if progress:
                progress("reading", 1, None)
    if with_ocr and images:
        workers = workers or min(4, os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {i: pool.submit(ocr, image) for i, image in images.items()}
            for i, future in futures.items():
                pages[i].text = future.result().strip()
                if progress:
                    progress("ocr", 1, len(images))
    return pages


def _attachment_of_page(digest: str, png: bytes, number: int) -> dict:
    return {
        "attachment": {
            "contentType": "image/png",
            "url": SCAN_URL + digest,
            "size": len(png),
            "hash": base64.b64encode(hashlib.sha1(png).digest()).decode(),
            "title": f"page {number}",
        }
    }


def _document(
    doc_id: str,
    cover: Cover,
    pages: list[tuple[str, bytes]],  # (image sha256, png)
    text: str,
    stamp: str,
    description: str,
) -> dict:
    doc = {
        "resourceType": "DocumentReference",
        "id": doc_id,
        "status": "current",
        "type": {
            "coding": [
                {"system": LOINC, "code": cover.doc_type, "display": DOCUMENT_TYPES[cover.doc_type]}
            ],
            "text": DOCUMENT_TYPES[cover.doc_type],
        },
        "category": [
            {
                "coding": [
                    {
                        "system": SOURCE_SYSTEM,
                        "code": "scanned",
                        "display": "Scanned paper document",
                    }
                ]
            }
        ],
        "subject": {"reference": f"Patient/{cover.patient_id}"},
        "date": stamp,
        "description": description,
        "content": [_attachment_of_page(d, png, i) for i, (d, png) in enumerate(pages, 1)],
    }
    if text.strip():  # first, so every reader of a note's text finds the OCR text
        ocr_text = {
            "contentType": "text/plain",
            "data": base64.b64encode(text.encode()).decode(),
            "title": "OCR text (machine-read from the scanned pages)",
        }
        doc["content"].insert(0, {"attachment": ocr_text})
    context: dict = {}
    if cover.encounter_id:
        context["encounter"] = [{"reference": f"Encounter/{cover.encounter_id}"}]
    if cover.day:
        context["period"] = {"start": cover.day}
    if context:
        doc["context"] = context
    return doc


def _doc_id(digests: Iterable[str], cover: Cover) -> str:
    seed = "|".join([cover.payload(), *digests])
    return "scan-" + hashlib.sha256(seed.encode()).hexdigest()[:20]


def _cover_problem(tx: Transaction, payload: str) -> tuple[Cover | None, str | None]:
    """The cover sheet, or why its pages cannot be filed by it."""
    try:
        cover = parse_cover(payload)
    except BadRequest as exc:
        return None, f"unreadable cover sheet: {exc.message}"
    if not tx.exists("Patient", cover.patient_id):
        return None, f"the cover sheet names Patient/{cover.patient_id}, who is not in the store"
    if cover.encounter_id:
        try:
            _check_encounter(tx, cover.patient_id, cover.encounter_id)
        except (NotFound, BadRequest) as exc:
            return None, f"the cover sheet's encounter: {exc.message}"
    return cover, None


def file_batch(repo: Repository, pages: list[Page], *, by: str, result: ScanResult) -> ScanResult:
    """Split analysed pages at their cover sheets and write the batch in one transaction."""
    stamp = utc_now()
    with repo.transaction() as tx:
        fresh = {p.source_sha256 for p in pages if not table.source_imported(tx, p.source_sha256)}
        skipped = sorted({p.source for p in pages if p.source_sha256 not in fresh})
        result.skipped.extend(skipped)
        pages = [p for p in pages if p.source_sha256 in fresh]
        result.pages += len(pages)
        groups: list[tuple[Cover | None, str | None, list[Page]]] = []
        current: tuple[Cover | None, str | None, list[Page]] | None = None
        rows: list[dict] = []
        for seq, page in enumerate(pages, 1):
            digest = table.put_blob(tx, page.png, "image/png", stamp)
            row = {
                "batch": result.batch, "source": page.source,
                "source_sha256": page.source_sha256, "page_no": page.page_no, "seq": seq,
                "image_sha256": digest, "status": page.kind, "scanned": stamp,
                "scanned_by": by,
            }  # fmt: skip
            rows.append(row)
            if page.kind == "cover":
                result.covers += 1
                cover, problem = _cover_problem(tx, page.cover or "")
                row["reason"] = page.cover
                if problem:
                    result.errors.append(
                        {"source": page.source, "page_no": page.page_no, "message": problem}
                    )
                current = (cover, problem, [])
                groups.append(current)
            elif page.kind == "blank":
                result.blank.append({"source": page.source, "page_no": page.page_no})
            else:
                row["ocr_text"] = page.text
                row["words"] = " " + " ".join(fold_words(page.text)) + " "
                if current is None or current[0] is None:
                    row["status"] = "queued"
                    row["reason"] = current[1] if current else "no cover sheet before this page"
                else:
                    current[2].append(page)
                    row["_doc"] = len(groups) - 1
        for index, (cover, _problem, members) in enumerate(groups):
            if cover is None or not members:
                continue
            member_rows = [r for r in rows if r.get("_doc") == index]
            digests = [r["image_sha256"] for r in member_rows]
            doc_id = _doc_id(digests, cover)
            text = "\n\f\n".join(p.text for p in members)
            where = ", ".join(sorted({p.source for p in members}))
            doc = _document(
                doc_id, cover, [(r["image_sha256"], p.png) for r, p in zip(member_rows, members, strict=True)],
                text, stamp, f"Scanned: {len(members)} pages from {where}",
            )  # fmt: skip
            tx.update(doc)
            for r in member_rows:
                r.update(status="filed", document_id=doc_id, patient_id=cover.patient_id)
            result.documents.append(
                {"id": doc_id, "patient_id": cover.patient_id, "encounter_id": cover.encounter_id,
                 "type": cover.doc_type, "pages": len(members)}
            )  # fmt: skip
        for r in rows:
            r.pop("_doc", None)
        ids = table.insert_pages(tx, rows) if rows else []
        for page_id, r in zip(ids, rows, strict=True):
            if r["status"] == "queued":
                result.queued.append(
                    {"page": page_id, "source": r["source"], "page_no": r["page_no"],
                     "reason": r["reason"]}
                )  # fmt: skip
    return result


def scan(
    repo: Repository,
    paths: Sequence[Path],
    *,
    by: str,
    with_ocr: bool = True,
    progress: Progress | None = None,
) -> ScanResult:
    """Import scanned files and folders as one batch: read and OCR every page, then file it
    all in one transaction. `progress(stage, done, total)` as pages are read and OCR'd."""
    files: list[Path] = []
    for path in paths:
        files.extend(files_in(Path(path)))
    seed = "|".join(str(f) for f in files) + utc_now()
    result = ScanResult(batch="B" + hashlib.sha256(seed.encode()).hexdigest()[:12].upper())
    result.files = len(files)

    def sources():
        for f in files:
            try:
                yield f.name, f.read_bytes()
            except OSError as exc:
                result.errors.append(
                    {"source": f.name, "page_no": None, "message": f"cannot read: {exc.strerror}"}
                )

    pages = analyse(sources(), with_ocr=with_ocr, errors=result.errors, progress=progress)
    return file_batch(repo, pages, by=by, result=result)


def scan_bytes(
    repo: Repository, files: Sequence[tuple[str, bytes]], *, by: str, with_ocr: bool = True
) -> ScanResult:
    """`scan` for files already in memory (an upload)."""
    seed = "|".join(n for n, _d in files) + utc_now()
    result = ScanResult(batch="B" + hashlib.sha256(seed.encode()).hexdigest()[:12].upper())
    result.files = len(files)
    pages = analyse(files, with_ocr=with_ocr, errors=result.errors)
    return file_batch(repo, pages, by=by, result=result)
