"""The ICD-10-CM Alphabetic Index as CMS publishes it, parsed, stored per fiscal year, verified.

Four books, each CMS XML with root `ICD10CM.index` (schemas `icd10cm-index-<FY>.xsd` and
`icd-10-cm-drug-neoplasm-<FY>.xsd`):

* `index`    Index to Diseases and Injuries (`icd10cm_index_<FY>.xml`): letter/mainTerm/term,
             each with `title` (nonessential modifiers in `nemod`), `see`, `seeAlso`, `code`,
             `manif` (the bracketed manifestation code), `seecat`/`subcat`;
* `eindex`   External Cause of Injuries Index (`icd-10-cm-eindex-<FY>.xml`, same shape;
             its <title> says EXTERNAL CAUSE);
* `neoplasm` Table of Neoplasms (`icd-10-cm-neoplasm-<FY>.xml`): sites with `cell@col` 2-7
             (malignant primary, secondary, in situ, benign, uncertain, unspecified);
* `drug`     Table of Drugs and Chemicals (`icd-10-cm-drug-<FY>.xml`): substances with
             `cell@col` 2-7 (poisoning accidental, self-harm, assault, undetermined;
             adverse effect; underdosing).

A node is stored as `[title, nemod, see, see_also, code, cells, children, manif]`; the year's
books live in `<data_dir>/codesets/alphaindex-<FY>.json.gz` (JSON, so a stored file is data,
never code). An index year with no tabular of its own is attached to the nearest tabular we
have, and every code it names is checked there (`verify`): the import report lists the codes
that no longer exist or are no longer billable, and where the tabular expanded a code, the
codes below it that replace it.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET

from chartkeeper.coding.codesets import CodeSet, load, normalize, store_dir
from chartkeeper.errors import BadRequest

BOOKS = ("index", "eindex", "neoplasm", "drug")
NEOPLASM_COLUMNS = {
    2: "malignant primary",
    3: "malignant secondary",
    4: "in situ",
    5: "benign",
    6: "uncertain behavior",
    7: "unspecified behavior",
}
DRUG_COLUMNS = {
    2: "poisoning, accidental (unintentional)",
    3: "poisoning, intentional self-harm",
    4: "poisoning, assault",
    5: "poisoning, undetermined",
    6: "adverse effect",
    7: "underdosing",
}
_FORMAT = 1

# [title, nemod, see, see_also, code, cells {col: code}, children, manif]
Node = list


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def _title(el: ET.Element | None) -> tuple[str, str]:
    """(essential title, nonessential modifiers): CMS writes `Abasia<nemod>(…)</nemod> NEC`,
    so the text after a nemod is essential again."""
    if el is None:
        return "", ""
    essential, nonessential = [el.text or ""], []
    for child in el:
        if child.tag == "nemod":
            nonessential.append("".join(child.itertext()))
        else:
            essential.append("".join(child.itertext()))
        essential.append(child.tail or "")
    return _clean(" ".join(essential)), _clean(" ".join(nonessential))


def _node(el: ET.Element) -> Node:
    title, nemod = _title(el.find("title"))
    if el.find("nemod") is not None:  # some files put the nemod beside the title
        nemod = _clean(f"{nemod} {''.join(el.find('nemod').itertext())}")
    cells = {}
    for cell in el.findall("cell"):
        value = _clean(cell.text)
        if value and value != "--":
            cells[int(cell.get("col", "0"))] = value
    see = _clean(el.findtext("see")) or _clean(el.findtext("seecat"))
    code = _clean(el.findtext("code")) or _clean(el.findtext("subcat"))
    return [
        title,
        nemod,
        see,
        _clean(el.findtext("seeAlso")),
        code,
        cells or None,
        [_node(t) for t in el.findall("term")],
        _clean(el.findtext("manif")),
    ]


def book_of(root: ET.Element) -> str:
    """Which of the four books an `ICD10CM.index` root is."""
    heads = [_clean(h.text).lower() for h in root.iter("head")]
    if heads:
        if any("malignant" in h for h in heads):
            return "neoplasm"
        if any("poisoning" in h or "adverse" in h for h in heads):
            return "drug"
    title = _clean(root.findtext("title")).lower()
    return "eindex" if "external" in title else "index"


def parse(root: ET.Element) -> tuple[str, int | None, list[Node]]:
    """(book, version year, main terms) of one CMS index XML document."""
    if root.tag != "ICD10CM.index":
        raise BadRequest(f"not an ICD-10-CM index file (root <{root.tag}>)")
    m = re.search(r"(20\d\d)", _clean(root.findtext("version")))
    mains = [_node(main) for main in root.iter("mainTerm")]
    if not mains:
        raise BadRequest("index file has no <mainTerm>")
    return book_of(root), (int(m.group(1)) if m else None), mains


# -- verification in the tabular ---------------------------------------------------------
@dataclass
class Verification:
    """How the codes an index names stand in the tabular it is attached to."""

    tabular_fy: int
    checked: int = 0
    billable: int = 0
    incomplete: int = 0  # a category/subcategory (often written 'S72.0-'): more characters
    needs_seventh: int = 0  # a stem that takes a 7th character (Guideline I.A.5)
    expanded: dict[str, list[str]] = field(default_factory=dict)  # billable then, not now
    missing: list[str] = field(default_factory=list)  # not in the tabular at all
    successors: dict[str, list[str]] = field(default_factory=dict)  # missing -> nearest above

    def as_json(self) -> dict:
        return {
            "tabular_fy": self.tabular_fy,
            "checked": self.checked,
            "billable": self.billable,
            "incomplete": self.incomplete,
            "needs_seventh": self.needs_seventh,
            "expanded": self.expanded,
            "missing": self.missing,
            "successors": self.successors,
        }


def index_codes(books: dict[str, list[Node]]) -> Counter:
    """Every code the books name (codes, manifestation codes, table cells)."""
    found: Counter = Counter()

    def walk(node: Node) -> None:
        for code in (node[4], node[7], *(node[5] or {}).values()):
            if code and re.match(r"^[A-Z]\d", code):
                found[code] += 1
        for child in node[6]:
            walk(child)

    for mains in books.values():
        for main in mains:
            walk(main)
    return found


def verify(books: dict[str, list[Node]], cs: CodeSet) -> Verification:
    report = Verification(cs.fy)
    for raw in sorted(index_codes(books)):
        report.checked += 1
        dashed = raw.endswith("-")
        code = normalize(raw.rstrip("-").rstrip("."))
        entry = cs.codes.get(code)
        if entry is None:
            entry, seventh = cs.resolve(code)
            if entry is not None and seventh and cs.is_billable(code):
                report.billable += 1
                continue
            report.missing.append(raw)
            above = code.replace(".", "")
            while len(above) > 3 and normalize(above) not in cs.codes:
                above = above[:-1]
            if normalize(above) in cs.codes:
                report.successors[raw] = _leaves(cs, normalize(above))[:12]
            continue
        if entry.children:
            if dashed:
                report.incomplete += 1
            else:
                report.expanded[raw] = _leaves(cs, code)[:12]
        elif cs.seventh_characters(code):
            report.needs_seventh += 1
        else:
            report.billable += 1
    return report


def _leaves(cs: CodeSet, code: str) -> list[str]:
    entry = cs.codes.get(code)
    if entry is None:
        return []
    if not entry.children:
        return [code]
    return [leaf for child in entry.children for leaf in _leaves(cs, child)]


# -- storage -----------------------------------------------------------------------------
def stored_path(data_dir, fy: int) -> Path:
    return store_dir(data_dir) / f"alphaindex-{fy}.json.gz"


def stored_years(data_dir) -> list[int]:
    directory = store_dir(data_dir)
    if directory is None or not directory.is_dir():
        return []
    years = []
    for p in directory.glob("alphaindex-*.json.gz"):
        year = p.name.removeprefix("alphaindex-").removesuffix(".json.gz")
        if year.isdigit():
            years.append(int(year))
    return sorted(years)


def read_stored(path: Path) -> dict:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        data = json.load(f)
    if data.get("format") != _FORMAT:
        raise BadRequest(f"{path}: stored index format {data.get('format')}; import it again")
    return data


_last_written: dict[tuple[str, int], dict] = {}


@dataclass(frozen=True)
class IndexImport:
    """What `codes import` says about one index file."""

    book: str
    fy: int
    main_terms: int
    path: str
    verification: dict


def import_index(root: ET.Element, name: str, data_dir, year: int | None = None) -> IndexImport:
    """Add one book to its year's stored index and verify the year's codes in the tabular
    nearest to it (the same year if we have it, else the nearest earlier, else the newest)."""
    book, version, mains = parse(root)
    fy = version or year
    if fy is None:
        m = re.search(r"(20\d\d)", name)
        fy = int(m.group(1)) if m else None
    if fy is None:
        raise BadRequest(f"{name}: the index has no <version>; give the year explicitly")
    target = stored_path(data_dir, fy)
    data = {"format": _FORMAT, "fy": fy, "books": {}, "sources": {}}
    if target.is_file():
        stamp = (str(target), target.stat().st_mtime_ns)
        # several books in one run: the file just written is still in memory; an unreadable
        # older file is replaced by this import
        with contextlib.suppress(BadRequest, OSError, ValueError):
            data = _last_written[stamp] if stamp in _last_written else read_stored(target)
    data["books"][book] = mains
    data["sources"][book] = name
    cs = load("icd10cm", fy, data_dir=data_dir)
    data["tabular_fy"] = cs.fy
    report = verify({book: mains}, cs).as_json()
    data.setdefault("verification", {})[book] = report
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=5) as out:
        out.write(json.dumps(data, separators=(",", ":")))  # dumps: the C encoder, 10x dump
    tmp.replace(target)  # a killed import leaves the previous file whole
    _last_written.clear()
    _last_written[(str(target), target.stat().st_mtime_ns)] = data
    return IndexImport(book, fy, len(mains), str(target), report)
