"""A synthetic scanner batch for the scanning tests: pages rendered from text with Pillow,
cover sheets printed by chartkeeper itself (its PDF rasterised as a scanner would see it),
some pages skewed and speckled, blank pages, and pages without a cover sheet.

Small pages (100 dpi letter) keep OCR fast; tesseract reads 22-pixel text at that size.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from chartkeeper.paper import scanning

SIZE = (850, 1100)

# One distinctive word per document, so search can tell the documents apart.
KEYWORDS = [
    "pneumothorax", "cholecystitis", "appendectomy", "bronchiolitis", "osteomyelitis",
    "pancreatitis", "diverticulitis", "endocarditis", "meningitis", "pyelonephritis",
]  # fmt: skip


def patient(repo, pid: str, family: str, encounter: bool = True) -> None:
    repo.update(
        {
            "resourceType": "Patient",
            "id": pid,
            "birthDate": "1960-04-02",
            "name": [{"family": family, "given": ["Alex"]}],
            "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": f"MRN-{pid}"}],
        }
    )
    if encounter:
        repo.update(
            {
                "resourceType": "Encounter",
                "id": f"{pid}-e1",
                "status": "finished",
                "class": {"code": "AMB"},
                "subject": {"reference": f"Patient/{pid}"},
                "period": {"start": "2026-11-02T09:00:00Z", "end": "2026-11-02T10:00:00Z"},
            }
        )


def text_page(lines: list[str], *, skew: float = 0.0, noise: float = 0.0, seed: int = 0):
    page = Image.new("L", SIZE, 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=24)
    for i, line in enumerate(lines):
        draw.text((70, 90 + i * 42), line, fill=0, font=font)
    return roughen(page, skew=skew, noise=noise, seed=seed)


def roughen(page, *, skew: float = 0.0, noise: float = 0.0, seed: int = 0):
    if skew:
        page = page.rotate(skew, fillcolor=255, resample=Image.Resampling.BILINEAR)
    if noise:
        rnd = random.Random(seed)
        pixels = page.load()
        for _ in range(int(SIZE[0] * SIZE[1] * noise)):
            x, y = rnd.randrange(page.width), rnd.randrange(page.height)
            pixels[x, y] = 0 if pixels[x, y] > 127 else 255
    return page


def cover_page(repo, pid: str, doc_type: str, *, encounter: str | None = None, skew=0.0,
               noise=0.0, seed=0):  # fmt: skip
    pdf = scanning.cover_sheet_pdf(repo, pid, doc_types=[doc_type], encounter_id=encounter)
    (page,) = scanning.read_pages("cover.pdf", pdf)
    page = page.resize(SIZE)
    return roughen(page, skew=skew, noise=noise, seed=seed)


def fake_cover(payload: str):
    """A cover sheet as chartkeeper would print it, for a payload it would refuse to print
    (a patient who does not exist)."""
    import segno

    page = Image.new("L", SIZE, 255)
    qr = io.BytesIO()
    segno.make(payload, error="m").save(qr, kind="png", scale=6, border=4)
    page.paste(Image.open(qr).convert("L"), (450, 80))
    return page


@dataclass
class Batch:
    folder: Path
    pages: int = 0
    # expected: keyword -> patient id; blank page positions; the queued page's keyword
    expected: dict[str, str] = field(default_factory=dict)
    blank_at: list[tuple[str, int]] = field(default_factory=list)
    queued_keyword: str = ""


def forty_pages(repo, folder: Path) -> Batch:
    """40 pages in three files (a multi-page TIFF, a PDF and loose PNGs): one page with no
    cover sheet first, 8 documents for 4 patients behind cover sheets, two blank pages,
    some pages skewed and speckled."""
    for pid, family in [("p1", "Okafor"), ("p2", "Lindqvist"), ("p3", "Haddad"),
                        ("p4", "Moreau")]:  # fmt: skip
        patient(repo, pid, family)
    plan = [  # (patient, doc type, content pages)
        ("p1", "11506-3", 4), ("p2", "18842-5", 4), ("p3", "34117-2", 4), ("p4", "11488-4", 4),
        ("p1", "59284-0", 4), ("p2", "11506-3", 3), ("p3", "11526-1", 3), ("p4", "51851-4", 3),
    ]  # fmt: skip
    batch = Batch(folder)
    pages: list = []
    batch.queued_keyword = KEYWORDS[8]
    pages.append(text_page([f"Loose page found without a cover sheet: {KEYWORDS[8]}",
                            "Please index this page by hand."]))  # fmt: skip
    rnd = random.Random(17)
    blanks: list[int] = []
    for n, (pid, doc_type, count) in enumerate(plan):
        keyword = KEYWORDS[n]
        batch.expected[keyword] = pid
        skewed = n % 3 == 1
        pages.append(cover_page(repo, pid, doc_type, encounter=f"{pid}-e1",
                                skew=2.5 if skewed else 0.0, noise=0.01 if skewed else 0.0,
                                seed=n))  # fmt: skip
        for i in range(count):
            lines = [f"Clinical note page {i + 1} for document {n + 1}",
                     f"Assessment: {keyword} confirmed on examination",
                     "Plan: follow up in clinic in two weeks"]  # fmt: skip
            rough = rnd.random() < 0.35
            pages.append(text_page(lines, skew=rnd.choice([-3, -2, 2, 3]) if rough else 0,
                                   noise=0.01 if rough else 0, seed=n * 10 + i))  # fmt: skip
            if (n, i) in ((2, 1), (6, 0)):  # the back of a one-sided sheet, scanned
                blanks.append(len(pages))
                pages.append(roughen(Image.new("L", SIZE, 255), noise=0.004, seed=n))
    assert len(pages) == 40, len(pages)
    folder.mkdir(parents=True, exist_ok=True)
    tiff, pdf, loose = pages[:20], pages[20:30], pages[30:]
    tiff[0].save(folder / "batch-01.tif", save_all=True, append_images=tiff[1:],
                 compression="tiff_deflate")  # fmt: skip
    pdf[0].convert("RGB").save(folder / "batch-02.pdf", save_all=True,
                               append_images=[p.convert("RGB") for p in pdf[1:]],
                               resolution=100)  # fmt: skip
    for i, page in enumerate(loose, 1):
        page.save(folder / f"batch-03-{i:02d}.png")
    names = (["batch-01.tif"] * 20 + ["batch-02.pdf"] * 10
             + [f"batch-03-{i:02d}.png" for i in range(1, 11)])  # fmt: skip
    numbers = list(range(1, 21)) + list(range(1, 11)) + [1] * 10
    batch.blank_at = [(names[i], numbers[i]) for i in blanks]
    batch.pages = len(pages)
    return batch
