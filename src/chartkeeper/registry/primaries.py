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
    rule: str  # "MP-COLON-SUBSITE: ..." (the id first, then what decided it)

    @property
    def rule_id(self) -> str:
        return self.rule.split(":", 1)[0]


def _decision(same: bool, rule_id: str, text: str) -> Decision:
    return Decision(same, f"{rule_id}: {text}")


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

# The rules in the order they are tried, id -> what it says. The ids are chartkeeper's
# own (stable, shown with every decision); the module of the SEER 2018 Solid Tumor Rules
# each follows is named in its text. The SEER manual's own M-rule numbers differ by site
# and edition and are not repeated here.
RULES = {
    "MP-UNKNOWN": "unknown primary site is not a new primary while a known one exists",
    "MP-SITE": "sites differing at the 2nd or 3rd character are multiple primaries",
    "MP-PROSTATE": "adenocarcinoma of the prostate is always a single primary",
    "MP-LATERALITY": "tumours on both sides of a paired site are multiple primaries",
    "MP-OVARY-BILATERAL": "bilateral epithelial ovarian tumours are a single primary",
    "MP-TIMING": "a tumour diagnosed after the site's interval is a new primary",
    "MP-COLON-SUBSITE": "colon tumours in different subsites (4th character) are multiple",
    "MP-MELANOMA-SUBSITE": "cutaneous melanomas in different skin sites are multiple",
    "MP-BLADDER-UROTHELIAL": "urothelial tumours of the bladder are a single primary",
    "MP-HISTOLOGY": "histologies differing at the first three digits are multiple",
    "MP-BREAST-INSITU": "invasive breast tumour > 60 days after in situ is a new primary",
    "MP-SAME": "same site, side and histology group within the interval: single primary",
}


def decide(first: Tumor, new: Tumor) -> Decision:
    """Whether `new` is the same primary as `first` (and by which rule)."""
    if not new.site or new.site.startswith("C80") or not first.site:
        return _decision(
            True,
            "MP-UNKNOWN",
            "Unknown primary site: not a new primary while a known primary exists "
            "(Solid Tumor Rules, general instructions)",
        )
    if first.site[:3] != new.site[:3]:
        return _decision(
            False,
            "MP-SITE",
            "Sites differ at the second or third character of the ICD-O topography code: "
            "multiple primaries (Solid Tumor Rules, Other Sites)",
        )
    h1, h2 = first.histology or "", new.histology or ""
    if new.site[:3] == "C61" and h1[:3] in ("814", "855") and h2[:3] in ("814", "855"):
        return _decision(
            True,
            "MP-PROSTATE",
            "Adenocarcinoma of the prostate: a single primary whenever it is found again "
            "(Solid Tumor Rules, Other Sites)",
        )
    sides = {first.laterality, new.laterality}
    if sides == {"1", "2"}:
        if first.site[:3] == "C56" and (new.histology or "0")[:1] == "8":
            return _decision(
                True,
                "MP-OVARY-BILATERAL",
                "Bilateral epithelial ovarian tumours: a single primary "
                "(Solid Tumor Rules, Other Sites)",
            )
        return _decision(
            False,
            "MP-LATERALITY",
            "Tumours on both sides of a paired site: multiple primaries "
            "(Solid Tumor Rules, laterality)",
        )
    limit = _TIMING_YEARS.get(new.site[:3], 1.0)
    gap = _years(first.diagnosed, new.diagnosed)
    if gap is not None and gap > limit:
        return _decision(
            False,
            "MP-TIMING",
            f"Diagnosed {gap:.1f} years apart, more than {limit:g}: multiple primaries "
            "(Solid Tumor Rules, timing)",
        )
    if (
        new.site[:3] == "C18"
        and first.site != new.site
        and first.site[-1] not in "89"
        and new.site[-1] not in "89"
    ):
        return _decision(
            False,
            "MP-COLON-SUBSITE",
            f"Colon tumours in different subsites ({first.site}, {new.site}): multiple "
            "primaries (Solid Tumor Rules, Colon)",
        )
    melanoma = h1[:3] in ("872", "873", "874", "875", "876", "877", "878", "879")
    if (
        new.site[:3] == "C44"
        and melanoma
        and h2[:2] == "87"
        and first.site != new.site
        and first.site[-1] not in "89"
        and new.site[-1] not in "89"
    ):
        return _decision(
            False,
            "MP-MELANOMA-SUBSITE",
            f"Cutaneous melanomas in different skin sites ({first.site}, {new.site}): "
            "multiple primaries (Solid Tumor Rules, Cutaneous Melanoma)",
        )
    urothelial = {"812", "813"}
    if new.site[:3] == "C67" and h1[:3] in urothelial and h2[:3] in urothelial:
        return _decision(
            True,
            "MP-BLADDER-UROTHELIAL",
            "Urothelial tumours of the bladder, in situ or invasive, anywhere in it: a "
            "single primary (Solid Tumor Rules, Urinary Sites)",
        )
    if h1 and h2 and h1[:3] != h2[:3] and not ({h1, h2} & NOS_HISTOLOGY):
        return _decision(
            False,
            "MP-HISTOLOGY",
            "Histology codes differ at the first three digits: multiple primaries "
            "(Solid Tumor Rules, histology)",
        )
    if (
        first.site[:3] == "C50"
        and first.behavior == "2"
        and new.behavior == "3"
        and gap is not None
        and gap * 365.25 > 60
    ):
        return _decision(
            False,
            "MP-BREAST-INSITU",
            "Invasive breast tumour more than 60 days after an in situ one: multiple "
            "primaries (Solid Tumor Rules, Breast)",
        )
    return _decision(
        True,
        "MP-SAME",
        "Same site, side and histology group within the timing rule: a single primary "
        "(Solid Tumor Rules, final rule)",
    )
