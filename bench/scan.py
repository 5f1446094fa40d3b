"""Scanning speed: pages per second read, split at cover sheets, OCR'd and filed, against
the same batch filed without OCR (the baseline, in the same process), and how many pages
went where they should.

    python bench/scan.py                 # the issue's 40-page batch, 1 run
    python bench/scan.py --copies 3      # 120 pages (the batch three times over)

Data: self-written. The issue's check batch (tests/paper/scan_batch.py): pages rendered
from text with Pillow at 100 dpi letter, chartkeeper's own cover sheets rasterised, some
pages skewed 2-3 degrees and speckled, two blank, one without a cover sheet. There is no
public set of scanned medical record pages with cover sheets to measure on. The ratio says
what OCR costs over everything else a scan does; the load average is printed beside it
(the machine is shared). Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "paper"))

import scan_batch

from chartkeeper.paper import indexing, scanning
from chartkeeper.store import Repository
from chartkeeper.store.engine import make_engine, upgrade


def _store(folder: Path) -> Repository:
    engine = make_engine(f"sqlite:///{folder / 'store.db'}")
    upgrade(engine)
    return Repository(engine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=1, choices=range(1, 11))
    args = parser.parse_args()
    if not scanning.tesseract_available():
        sys.exit("tesseract is not installed (apt-get install tesseract-ocr)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        batch = scan_batch.forty_pages(_store(root), root / "drop")
        folders = []
        for copy in range(args.copies):  # copies differ by name only: stored pages dedupe
            target = root / f"copy-{copy}"
            target.mkdir()
            for f in sorted(batch.folder.iterdir()):
                (target / f"{copy}-{f.name}").write_bytes(f.read_bytes())
            folders.append(target)
        figures = {}
        for label, with_ocr in (("without OCR (baseline)", False), ("with OCR", True)):
            work = root / ("ocr" if with_ocr else "plain")
            work.mkdir()
            repo = _store(work)
            for pid, family in [("p1", "Okafor"), ("p2", "Lindqvist"), ("p3", "Haddad"),
                                ("p4", "Moreau")]:  # fmt: skip
                scan_batch.patient(repo, pid, family)
            started = time.perf_counter()
            result = scanning.scan(repo, folders, by="bench", with_ocr=with_ocr)
            seconds = time.perf_counter() - started
            right = 0
            for keyword, pid in batch.expected.items():
                if with_ocr:
                    found = indexing.find_documents(repo, keyword)
                    right += sum(d["subject"]["reference"] == f"Patient/{pid}" for d in found)
            figures[label] = {
                "pages": result.pages,
                "seconds": round(seconds, 2),
                "pages_per_s": round(result.pages / seconds, 2),
                "documents": len(result.documents),
                "pages_filed": sum(d["pages"] for d in result.documents),
                "queued": len(result.queued),
                "blank": len(result.blank),
                "errors": len(result.errors),
                "search_hits_right_patient": right if with_ocr else None,
            }
            repo.engine.dispose()
            print(f"{label:<24} {result.pages} pages in {seconds:6.1f} s = "
                  f"{result.pages / seconds:5.2f} pages/s; {len(result.documents)} documents, "
                  f"{len(result.queued)} queued, {len(result.blank)} blank")  # fmt: skip
        ratio = figures["with OCR"]["seconds"] / figures["without OCR (baseline)"]["seconds"]
        load = os.getloadavg()[0]
        print(f"OCR costs {ratio:.1f}x the rest of the scan; load average {load:.1f}; "
              f"{figures['with OCR']['search_hits_right_patient']} of "
              f"{len(batch.expected) * args.copies} keyword searches found the right patient")  # fmt: skip
        print(json.dumps({"figures": figures, "ocr_ratio": round(ratio, 2), "load": load}))


if __name__ == "__main__":
    main()
