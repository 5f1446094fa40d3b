"""Writing a generated dataset to disk, streaming, one compact JSON file per bundle.

Layout under `out`::

    facility.json                  the facility transaction bundle (load it first)
    patients/0000/<bundle id>.json patient bundles, at most 1000 per subdirectory
    truth/<stream>.jsonl           side records modules emitted (ground truth)
    manifest.json                  seed, counts and layout, written last
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import orjson

from .engine import check_modules, default_modules, generate_slot
from .facility import facility_bundle
from .module import SynthModule

FILES_PER_DIR = 1000


@dataclass
class WriteSummary:
    patients: int  # patient slots generated
    bundles: int  # files written, facility bundle included
    resources: dict[str, int] = field(default_factory=dict)  # by resourceType
    side_records: dict[str, int] = field(default_factory=dict)  # by side stream

    @property
    def total_resources(self) -> int:
        return sum(self.resources.values())


class _SideFiles:
    """Appends side records to out/truth/<stream>.jsonl, opening files on first use."""

    def __init__(self, root: Path):
        self.root = root
        self.files: dict[str, IO[bytes]] = {}
        self.counts: Counter[str] = Counter()

    def __call__(self, stream: str, record: dict) -> None:
        f = self.files.get(stream)
        if f is None:
            self.root.mkdir(parents=True, exist_ok=True)
            f = self.files[stream] = open(self.root / f"{stream}.jsonl", "wb")  # noqa: SIM115
        f.write(orjson.dumps(record) + b"\n")
        self.counts[stream] += 1

    def close(self) -> None:
        for f in self.files.values():
            f.close()


def _count(bundle: dict, counts: Counter[str]) -> None:
    for entry in bundle["entry"]:
        counts[entry["resource"]["resourceType"]] += 1


def write(
    out: Path,
    patients: int,
    seed: int,
    *,
    modules: Sequence[SynthModule] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> WriteSummary:
    """Write bundles under `out` and return what was written.

    Calls `on_progress(patients_done)` after every patient slot. Output for a seed is
    byte-identical across runs.
    """
    out = Path(out)
    mods = list(modules) if modules is not None else default_modules()
    check_modules(mods)
    out.mkdir(parents=True, exist_ok=True)
    counts: Counter[str] = Counter()
    side = _SideFiles(out / "truth")
    facility = facility_bundle()
    (out / "facility.json").write_bytes(orjson.dumps(facility))
    _count(facility, counts)
    written = 0
    current_dir: Path | None = None
    try:
        for slot in range(patients):
            for bundle in generate_slot(seed, slot, mods, side):
                if written % FILES_PER_DIR == 0:
                    current_dir = out / "patients" / f"{written // FILES_PER_DIR:04d}"
                    current_dir.mkdir(parents=True, exist_ok=True)
                assert current_dir is not None
                (current_dir / f"{bundle['id']}.json").write_bytes(orjson.dumps(bundle))
                _count(bundle, counts)
                written += 1
            if on_progress is not None:
                on_progress(slot + 1)
    finally:
        side.close()
    summary = WriteSummary(
        patients, written + 1, dict(sorted(counts.items())), dict(sorted(side.counts.items()))
    )
    manifest = {
        "seed": seed,
        "patients": patients,
        "bundles": summary.bundles,
        "resources": summary.resources,
        "side_records": summary.side_records,
        "layout": {
            "facility": "facility.json",
            "patients": "patients/NNNN/<id>.json",
            "files_per_dir": FILES_PER_DIR,
            "truth": "truth/<stream>.jsonl",
        },
    }
    (out / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    return summary
