"""Coding: ICD-10-CM / ICD-10-PCS / HCPCS code sets by year, the encoder, and claim edits.

Public API (stable; `cac`, `workflow`, `drg` and `claims` build on it). Every function takes
`data_dir=` (default: `Settings.from_env().data_dir`), where imported releases and caches
live; the year is chosen by `fy=` or `date_of_service=` (FY N = Oct 1 N-1 .. Sep 30 N).

Code sets (`codesets`):
    load(system="icd10cm", fy=None, *, date_of_service=None, data_dir=None, exact=False)
        -> CodeSet   (methods: is_valid, is_billable, title, notes, seventh_characters,
                      resolve, ancestors, full_code, billable_codes, info)
    years(system, data_dir) -> list[int];  available(data_dir) -> list[CodeSetInfo]
    fiscal_year(date) -> int;  normalize(code) -> "E11.9"
    is_valid(code, ...) / is_billable(code, ...) -> bool
    get_notes(code, ...) -> list[Note(kind, text, source, refs)]
        kinds: includes, inclusion, excludes1, excludes2, code_first, use_additional,
               code_also, seventh_note, note — own notes and those of every level above
    seventh_characters(code, ...) -> {"A": "initial encounter…", …}
    title(code, ...) -> str | None

Imports (`cms_files`):
    import_release(path, data_dir, *, year=None) -> CodeSetInfo
    import_releases(paths, data_dir) -> list[CodeSetInfo]

Encoder (`search`):
    find(query, *, fy=None | int | date, limit=10, system="icd10cm", data_dir=None)
        -> list[CodeHit(code, display, score, path, notes, prompts)]
    CodeHit.brief() -> {"code", "display", "score"};  Prompt(axis, question, choices, chosen)

Edits (`edits`):
    check_claim(codes, *, patient_age, patient_sex, inpatient, date_of_service,
                principal=None, poa=None, data_dir=None) -> list[CodeEdit(rule, codes,
                message, severity)]
    rules: invalid-code, non-billable, missing-7th, excludes1, age-conflict, sex-conflict,
           manifestation-principal, unacceptable-principal, poa-required, poa-invalid,
           duplicate, codeset-year
"""

from __future__ import annotations

from datetime import date

from chartkeeper.coding.cms_files import import_release, import_releases
from chartkeeper.coding.codesets import (
    Code,
    CodeSet,
    CodeSetInfo,
    CodeSetUnavailable,
    Note,
    available,
    fiscal_year,
    load,
    normalize,
    years,
)
from chartkeeper.coding.edits import CodeEdit, check_claim
from chartkeeper.coding.search import CodeHit, Prompt, find

__all__ = [
    "Code",
    "CodeEdit",
    "CodeHit",
    "CodeSet",
    "CodeSetInfo",
    "CodeSetUnavailable",
    "Note",
    "Prompt",
    "available",
    "check_claim",
    "find",
    "fiscal_year",
    "get_notes",
    "import_release",
    "import_releases",
    "is_billable",
    "is_valid",
    "load",
    "normalize",
    "seventh_characters",
    "title",
    "years",
]


def _set(fy: int | None, date_of_service: date | None, data_dir, system: str) -> CodeSet:
    return load(system, fy, date_of_service=date_of_service, data_dir=data_dir)


def is_valid(code, *, fy=None, date_of_service=None, data_dir=None, system="icd10cm") -> bool:
    return _set(fy, date_of_service, data_dir, system).is_valid(code)


def is_billable(code, *, fy=None, date_of_service=None, data_dir=None, system="icd10cm") -> bool:
    return _set(fy, date_of_service, data_dir, system).is_billable(code)


def get_notes(code, *, fy=None, date_of_service=None, data_dir=None) -> list[Note]:
    return _set(fy, date_of_service, data_dir, "icd10cm").notes(code)


def seventh_characters(code, *, fy=None, date_of_service=None, data_dir=None) -> dict[str, str]:
    cs = _set(fy, date_of_service, data_dir, "icd10cm")
    entry, _ = cs.resolve(code)
    return cs.seventh_characters(entry.code) if entry else {}


def title(code, *, fy=None, date_of_service=None, data_dir=None, system="icd10cm") -> str | None:
    return _set(fy, date_of_service, data_dir, system).title(code)
