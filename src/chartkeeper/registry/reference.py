"""Where the registry's public reference files are, and reading them.

The files are not shipped with chartkeeper (their licences: ICD-O-3 terms are (c) WHO,
republished by SEER; the NAACCR dictionary is NAACCR's, see each folder's README). The
registrar points `CHARTKEEPER_REFERENCE_DIR` at a folder holding `icdo3/`, `naaccr/` and
`casefinding/`; without it we look for `shared/data/reference` beside the checkout, as the
development machines have it. Each reader raises `ReferenceMissing` (a clear error, never
a traceback) when its file is absent.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from xml.etree import ElementTree

from chartkeeper.errors import NotFound


class ReferenceMissing(NotFound):
    """A reference file the registry needs is not in the reference directory."""


def reference_dir() -> Path | None:
    from chartkeeper.config import Settings

    configured = Settings.from_env().reference_dir
    if configured:
        return Path(configured)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "data" / "reference"
        if candidate.is_dir():
            return candidate
    return None


def reference_file(*parts: str) -> Path:
    base = reference_dir()
    path = base.joinpath(*parts) if base else None
    if path is None or not path.exists():
        raise ReferenceMissing(
            f"reference file {'/'.join(parts)} not found; set CHARTKEEPER_REFERENCE_DIR to the "
            "folder holding icdo3/, naaccr/ and casefinding/"
        )
    return path


def available(*parts: str) -> bool:
    try:
        reference_file(*parts)
    except ReferenceMissing:
        return False
    return True


def dotted(code: str) -> str:
    """C619 -> C61.9 (ICD-O-3 topography is written with the point after 3 characters)."""
    code = code.strip().upper().replace(".", "")
    return f"{code[:3]}.{code[3:]}" if len(code) == 4 else code


@cache
def topography() -> dict[str, str]:
    """ICD-O-3 topography code (dotted, `C34.1`) -> SEER label (`Upper lobe, lung`)."""
    with reference_file("icdo3", "primarySite.csv").open(newline="", encoding="utf-8") as fh:
        return {dotted(code): label for code, label in csv.reader(fh) if code}


_ANNOTATION = re.compile(r"\s*\[[^\]]*\]")
_SITE_HINT = re.compile(r"\s*\((C\d\d[^)]*)\)")


@dataclass(frozen=True)
class MorphologyTerm:
    histology: str  # 4 digits
    behavior: str  # 0 1 2 3 6 9
    term: str  # without SEER's bracketed notes and site hints
    preferred: bool
    sites: tuple[str, ...]  # 3-character topography hints, e.g. ('C73',)
    obsolete: bool


@cache
def morphology_terms() -> tuple[MorphologyTerm, ...]:
    """Every ICD-O-3 morphology term, preferred and synonyms (SEER's allTerms lookup)."""
    path = reference_file("icdo3", "histologicTypeIcdO3_allTerms.csv")
    terms = []
    with path.open(newline="", encoding="utf-8") as fh:
        for histology, behavior, term, kind in csv.reader(fh):
            notes = " ".join(_ANNOTATION.findall(term)).upper()
            hints = _SITE_HINT.findall(term)
            sites = tuple(sorted({m for h in hints for m in re.findall(r"C\d\d", h)}))
            clean = _SITE_HINT.sub("", _ANNOTATION.sub("", term)).strip()
            obsolete = "[OBS" in notes or "PRE-20" in notes or "SEE HEMATOPOIETIC" in notes
            terms.append(
                MorphologyTerm(histology, behavior, clean, kind == "preferred", sites, obsolete)
            )
    return tuple(terms)


@cache
def morphology_codes() -> dict[str, str]:
    """'8140/3' -> preferred term, for validating codes and labelling them."""
    return {f"{t.histology}/{t.behavior}": t.term for t in morphology_terms() if t.preferred}


@dataclass(frozen=True)
class Conversion:
    icd10cm: str
    site: str
    histology: str
    behavior: str
    reportable: str  # Y or O (optional)


@cache
def icd10cm_conversions() -> dict[str, Conversion]:
    """ICD-10-CM (no dot) -> default ICD-O-3 site/morphology and reportability (IMS)."""
    path = reference_file("casefinding", "icd-10-cm-to-icd-o-3.csv")
    with path.open(newline="", encoding="utf-8") as fh:
        return {
            row["ICD-10-CM-CODE"]: Conversion(
                row["ICD-10-CM-CODE"],
                dotted(row["ICD-O-3-PRIMARY-SITE"]),
                row["HISTOLOGY"],
                row["BEHAVIOR"],
                row["REPORTABILITY"],
            )
            for row in csv.DictReader(fh)
        }


NAACCR_NS = "http://naaccr.org/naaccrxml"


@dataclass(frozen=True)
class ItemDef:
    naaccr_id: str
    number: int
    name: str
    length: int
    record_types: tuple[str, ...]
    level: str
    data_type: str  # "text" when the dictionary gives none
    padding: str | None


@dataclass(frozen=True)
class Dictionary:
    uri: str
    version: str
    items: dict[str, ItemDef]

    def at(self, level: str) -> list[ItemDef]:
        return sorted((i for i in self.items.values() if i.level == level), key=lambda i: i.number)


@cache
def naaccr_dictionary(path: str | None = None) -> Dictionary:
    """The base dictionary (v26 unless `path` names another file)."""
    source = Path(path) if path else reference_file("naaccr", "naaccr-dictionary-260.xml")
    root = ElementTree.parse(source).getroot()
    items = {}
    for node in root.iter(f"{{{NAACCR_NS}}}ItemDef"):
        item = ItemDef(
            node.get("naaccrId"),
            int(node.get("naaccrNum")),
            node.get("naaccrName"),
            int(node.get("length")),
            tuple(node.get("recordTypes", "").split(",")),
            node.get("parentXmlElement"),
            node.get("dataType", "text"),
            node.get("padding"),
        )
        items[item.naaccr_id] = item
    return Dictionary(root.get("dictionaryUri"), root.get("naaccrVersion"), items)
