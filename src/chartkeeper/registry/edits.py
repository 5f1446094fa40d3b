"""Edit checks on a CaseAbstract, as a registry's edit set runs them before submission
(in the manner of the NAACCR/NPCR EDITS metafile: each edit an id, the items it reads and
a message). A failing edit blocks completion unless the registrar overrides it with a
reason (the metafile's override flags, e.g. Over-ride Site/Type, serve the same purpose).

The edits here are ours, written from the SEER Program Coding and Staging Manual and the
ICD-O-3 code lists, not a copy of the metafile's logic:
- CK001-CK003 valid codes: primary site, histology/behaviour (ICD-O-3 lists), laterality.
- CK004 site/histology: a morphology whose ICD-O-3 term names its sites ("(C73.9)") on
  another site; lymphoma/leukaemia codes against solid organs are left to the registrar.
- CK005 laterality: required (1-5, 9) for paired organs, 0 for all others.
- CK006 dates in order: birth <= diagnosis <= treatment <= last contact.
- CK007 age/sex/site: sex-specific sites against sex assigned at birth; age 0-120.
- CK008 required items present.
- CK009 behaviour in situ (2) not valid for sites without an epithelium that can be in
  situ (lymph nodes, blood and marrow, brain and meninges).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date

from chartkeeper.registry import reference, sites


@dataclass
class EditResult:
    id: str
    message: str
    items: tuple[str, ...]
    overridden: str | None = None  # the registrar's reason

    def as_json(self) -> dict:
        return asdict(self)


Edit = Callable[[dict[str, str]], str | None]
EDITS: dict[str, tuple[tuple[str, ...], Edit]] = {}


def edit(edit_id: str, *items: str):
    def register(fn: Edit) -> Edit:
        EDITS[edit_id] = (items, fn)
        return fn

    return register


def _dotted(items: dict[str, str]) -> str:
    return reference.dotted(items.get("primarySite", ""))


@edit("CK001", "primarySite")
def valid_site(items: dict[str, str]) -> str | None:
    site = items.get("primarySite")
    if not site:
        return None
    if not re.fullmatch(r"C\d{3}", site):
        return f"Primary Site '{site}' is not an ICD-O-3 topography code (C000-C809)"
    if (
        reference.available("icdo3", "primarySite.csv")
        and _dotted(items) not in reference.topography()
    ):
        return f"Primary Site '{site}' is not in the ICD-O-3 topography list"
    return None


@edit("CK002", "histologicTypeIcdO3", "behaviorCodeIcdO3")
def valid_morphology(items: dict[str, str]) -> str | None:
    histology, behavior = items.get("histologicTypeIcdO3"), items.get("behaviorCodeIcdO3")
    if not histology or not behavior:
        return None
    if not re.fullmatch(r"\d{4}", histology) or behavior not in "012369":
        return f"Morphology '{histology}/{behavior}' is not of the form NNNN/B"
    if reference.available("icdo3", "histologicTypeIcdO3_allTerms.csv"):
        valid = {f"{t.histology}/{t.behavior}" for t in reference.morphology_terms()}
        if f"{histology}/{behavior}" not in valid:
            return f"Morphology {histology}/{behavior} is not in the ICD-O-3 lists"
    return None


@edit("CK003", "laterality")
def valid_laterality(items: dict[str, str]) -> str | None:
    value = items.get("laterality")
    if value and value not in "0123459":
        return f"Laterality '{value}' is not a valid code (0-5, 9)"
    return None


def _term_sites() -> dict[str, set[str]]:
    if not reference.available("icdo3", "histologicTypeIcdO3_allTerms.csv"):
        return {}
    hinted: dict[str, set[str]] = {}
    unhinted: set[str] = set()
    for term in reference.morphology_terms():
        key = f"{term.histology}/{term.behavior}"
        if term.sites:
            hinted.setdefault(key, set()).update(term.sites)
        else:
            unhinted.add(key)
    # Only codes whose every term names its sites are site-bound.
    return {k: v for k, v in hinted.items() if k not in unhinted}


_SITE_BOUND: dict[str, set[str]] | None = None


@edit("CK004", "primarySite", "histologicTypeIcdO3", "behaviorCodeIcdO3")
def site_histology(items: dict[str, str]) -> str | None:
    global _SITE_BOUND
    if _SITE_BOUND is None:
        _SITE_BOUND = _term_sites()
    site = _dotted(items)[:3]
    morphology = f"{items.get('histologicTypeIcdO3')}/{items.get('behaviorCodeIcdO3')}"
    allowed = _SITE_BOUND.get(morphology)
    if site and allowed and site not in allowed:
        return (
            f"Morphology {morphology} is an ICD-O-3 type of {', '.join(sorted(allowed))}, "
            f"not of {site}: check site and histology (override if confirmed)"
        )
    return None


@edit("CK005", "primarySite", "laterality")
def laterality_for_site(items: dict[str, str]) -> str | None:
    site, value = _dotted(items), items.get("laterality")
    if not site or value is None:
        return None if not site else "Laterality is required"
    if sites.is_paired(site) and value == "0":
        return f"{site} is a paired organ: laterality must say which side (1-5, or 9 unknown)"
    if not sites.is_paired(site) and value != "0":
        return f"{site} is not a paired organ: laterality must be 0"
    return None


def _day(value: str | None) -> date | None:
    if not value or not re.fullmatch(r"\d{8}", value):
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


@edit(
    "CK006",
    "dateOfBirth",
    "dateOfDiagnosis",
    "rxDateSurgery",
    "rxDateRadiation",
    "rxDateChemo",
    "rxDateHormone",
    "dateOfLastContact",
)
def date_order(items: dict[str, str]) -> str | None:
    birth, dx, last = (
        _day(items.get(k)) for k in ("dateOfBirth", "dateOfDiagnosis", "dateOfLastContact")
    )
    for key in (
        "dateOfBirth",
        "dateOfDiagnosis",
        "dateOfLastContact",
        "rxDateSurgery",
        "rxDateRadiation",
        "rxDateChemo",
        "rxDateHormone",
    ):
        if items.get(key) and len(items[key]) == 8 and _day(items[key]) is None:
            return f"{key} '{items[key]}' is not a calendar date"
    if birth and dx and dx < birth:
        return "Date of Diagnosis is before Date of Birth"
    if dx and last and last < dx:
        return "Date of Last Contact is before Date of Diagnosis"
    for key in ("rxDateSurgery", "rxDateRadiation", "rxDateChemo", "rxDateHormone"):
        when = _day(items.get(key))
        if when and last and when > last:
            return f"{key} is after Date of Last Contact"
        if when and birth and when < birth:
            return f"{key} is before Date of Birth"
    return None


_MALE_SITES = ("C60", "C61", "C62", "C63")
_FEMALE_SITES = ("C51", "C52", "C53", "C54", "C55", "C56", "C57", "C58")


@edit("CK007", "sexAssignedAtBirth", "primarySite", "ageAtDiagnosis")
def age_sex_site(items: dict[str, str]) -> str | None:
    sex, site = items.get("sexAssignedAtBirth"), _dotted(items)[:3]
    if sex == "2" and site in _MALE_SITES:
        return f"{site} is a male site but sex assigned at birth is female"
    if sex == "1" and site in _FEMALE_SITES:
        return f"{site} is a female site but sex assigned at birth is male"
    age = items.get("ageAtDiagnosis")
    if age and (not age.isdigit() or int(age) > 120) and age != "999":
        return f"Age at Diagnosis '{age}' is not 000-120 (or 999 unknown)"
    return None


REQUIRED = (
    "primarySite",
    "histologicTypeIcdO3",
    "behaviorCodeIcdO3",
    "laterality",
    "dateOfDiagnosis",
    "dateOfBirth",
    "sexAssignedAtBirth",
    "diagnosticConfirmation",
    "classOfCase",
    "vitalStatus",
    "dateOfLastContact",
)


@edit("CK008", *REQUIRED)
def required_items(items: dict[str, str]) -> str | None:
    missing = [k for k in REQUIRED if not items.get(k)]
    return f"Required items missing: {', '.join(missing)}" if missing else None


@edit("CK009", "primarySite", "behaviorCodeIcdO3")
def in_situ_site(items: dict[str, str]) -> str | None:
    site = _dotted(items)[:3]
    if items.get("behaviorCodeIcdO3") == "2" and site in ("C77", "C42", "C70", "C71", "C72"):
        return f"Behaviour 2 (in situ) is not valid for {site}"
    return None


def run(items: dict[str, str], overrides: dict[str, dict] | None = None) -> list[EditResult]:
    """Every failing edit, with the registrar's override reason where there is one."""
    overrides = overrides or {}
    failed = []
    for edit_id, (names, fn) in EDITS.items():
        message = fn(items)
        if message:
            reason = (overrides.get(edit_id) or {}).get("reason")
            failed.append(EditResult(edit_id, message, names, reason))
    return failed
