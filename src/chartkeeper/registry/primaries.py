"""Multiple primaries: is a newly found tumour the same primary as a case the registry
already has, or a new one? The common solid-tumour decisions of the SEER 2018 Solid Tumor
Rules (Multiple Primary and Histology coding rules), each answer naming the rule.

Simplified on purpose and said so: the full rules run per site group to dozens of steps
(histology tables, "Table 1" subsites); these are the steps that decide most breast, lung,
colorectal and other-site cases. A registrar can always split or merge by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

NOS_HISTOLOGY = {"8000", "8001", "8010", "8140"}


@dataclass(frozen=True)
class Tumor:
    site: str | None  # ICD-O-3 topography, dotted
    histology: str | None
    behavior: str | None
    laterality: str | None
    diagnosed: date | None


@dataclass(frozen=True)
class Decision:
    same_primary: bool
    rule: str


def _years(a: date | None, b: date | None) -> float | None:
    if a is None or b is None:
        return None
    return abs((b - a).days) / 365.25


# Timing rules: a tumour diagnosed more than this many years after the first is a new primary.
_TIMING_YEARS = {
    "C50": 5.0,
    "C34": 3.0,
    "C18": 1.0,
    "C19": 1.0,
    "C20": 1.0,
    "C67": 3.0,
    "C64": 3.0,
    "C44": 1.0,
}


def decide(first: Tumor, new: Tumor) -> Decision:
    """Whether `new` is the same primary as `first` (and by which rule)."""
    if not new.site or new.site.startswith("C80") or not first.site:
        return Decision(
            True,
            "Unknown primary site: not a new primary while a known "
            "primary exists (Solid Tumor Rules, general instructions)",
        )
    if first.site[:3] != new.site[:3]:
        return Decision(
            False,
            "Sites differ at the second or third character of the ICD-O "
            "topography code: multiple primaries (Solid Tumor Rules, "
            "Other Sites M-rule)",
        )
    sides = {first.laterality, new.laterality}
    if sides == {"1", "2"}:
        if first.site[:3] == "C56" and (new.histology or "0")[:1] == "8":
            return Decision(
                True,
                "Bilateral epithelial ovarian tumours: a single primary "
                "(Solid Tumor Rules, Other Sites)",
            )
        return Decision(
            False,
            "Tumours on both sides of a paired site: multiple primaries "
            "(Solid Tumor Rules, laterality M-rule)",
        )
    limit = _TIMING_YEARS.get(new.site[:3], 1.0)
    gap = _years(first.diagnosed, new.diagnosed)
    if gap is not None and gap > limit:
        return Decision(
            False,
            f"Diagnosed {gap:.1f} years apart, more than {limit:g}: "
            "multiple primaries (Solid Tumor Rules, timing M-rule)",
        )
    h1, h2 = first.histology or "", new.histology or ""
    if h1 and h2 and h1[:3] != h2[:3] and not ({h1, h2} & NOS_HISTOLOGY):
        return Decision(
            False,
            "Histology codes differ at the first three digits: multiple "
            "primaries (Solid Tumor Rules, histology M-rule)",
        )
    if (
        first.site[:3] == "C50"
        and first.behavior == "2"
        and new.behavior == "3"
        and gap is not None
        and gap * 365.25 > 60
    ):
        return Decision(
            False,
            "Invasive breast tumour more than 60 days after an in situ "
            "one: multiple primaries (Solid Tumor Rules, Breast M-rule)",
        )
    return Decision(
        True,
        "Same site, side and histology group within the timing rule: a "
        "single primary (Solid Tumor Rules, final M-rule)",
    )
