"""Claim edits over ICD-10-CM diagnosis codes, in the spirit of CMS's Medicare Code Editor.

`check_claim` returns one `CodeEdit` per finding, each naming its rule id and the codes.
Sources, per rule:

* invalid-code, non-billable, missing-7th — the code set of the date of service's fiscal
  year; Guidelines I.A.4-5 (placeholder X, 7th characters), I.B.3 (code to the highest
  number of characters available).
* excludes1 — Excludes1 notes of each code and every level above it (Guidelines I.A.12.a:
  the two codes are never reported together; the guideline's exception for unrelated
  conditions is left to the coder, hence a warning-free error the coder may override).
* age-conflict — MCE edit "Age conflict" categories: newborn (age 0), pediatric (0-17),
  maternity (9-64), adult (15-124). Membership is derived from the tabular: Chapter 15
  (O00-O9A) and Z3A/Z33-Z37/Z39 maternity; Chapter 16 (P00-P96) and Z38 newborn; titles
  that name a newborn/infant/child (pediatric) or an adult. Perinatal codes may be used
  throughout life when the condition persists (Guidelines I.C.16.a.4), so those are warnings.
* sex-conflict — MCE edit "Sex conflict": Chapter 15 and the female/male genital blocks
  (N40-N53 male; N70-N98, C51-C58, D06, D25-D28, D39 female; C60-C63, D40 male; Q50-Q52
  female, Q53-Q55 male; pregnancy Z codes female, Z38 not: it is the newborn's code) and titles naming one sex's organs.
* manifestation-principal — titles "in diseases classified elsewhere" are manifestation
  codes, never first-listed (Guidelines I.A.13; MCE "Manifestation code as principal").
* unacceptable-principal — external cause codes V00-Y99 (Guidelines I.C.20) and the Z codes
  that may only be secondary (Guidelines I.C.21.c.16; I.C.15.b for Z3A and Z37).
* poa-required / poa-invalid — inpatient claims need a POA indicator Y, N, U, W or 1 per
  diagnosis (CMS POA reporting; Guidelines Appendix I), except codes on the exempt list
  (abridged from Appendix I: review it each fiscal year), which take 1 or blank.
* duplicate — the same code twice on one claim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from chartkeeper.coding.codesets import CodeSet, in_ranges, load, normalize

POA_VALUES = frozenset("YNUW1")
AGE_RANGES = {"newborn": (0, 0), "pediatric": (0, 17), "maternity": (9, 64), "adult": (15, 124)}

# Guidelines I.C.21.c.16 "Z codes that may only be reported as secondary diagnoses".
_SECONDARY_ONLY_Z = (
    "Z14", "Z15", "Z16", "Z17", "Z18", "Z22", "Z28.3", "Z33.1", "Z66", "Z67", "Z68", "Z78",
    "Z79", "Z88", "Z89", "Z90.710", "Z91.0", "Z92.82", "Z93", "Z94", "Z95", "Z97", "Z98",
    "Z99", "Z3A", "Z37",
)  # fmt: skip
# Appendix I, POA exempt categories and codes (abridged).
_POA_EXEMPT = (
    "B90-B94", "E64", "I25.2", "I69", "O09", "O66.5", "O80", "O94", "P00", "Q00-Q99",
    "V00-Y38", "Y62-Y84", "Y90-Y99", "Z00-Z03", "Z05", "Z08-Z09", "Z11-Z13", "Z14-Z15",
    "Z17-Z18", "Z22-Z23", "Z28", "Z30-Z31", "Z34", "Z36-Z39", "Z3A", "Z40-Z53", "Z55-Z68",
    "Z72", "Z74-Z80", "Z81-Z99",
)  # fmt: skip
_MALE_BLOCKS = ("N40-N53", "C60-C63", "D40", "Q53-Q55", "D07.4-D07.6", "D29")
_FEMALE_BLOCKS = (
    "O00-O9A",
    "N70-N98",
    "C51-C58",
    "D06",
    "D07.0-D07.3",
    "D25-D28",
    "D39",
    "Q50-Q52",
    "Z30-Z37",
    "Z39",
    "Z3A",
)  # Z38 is the newborn's record
_MALE_WORDS = re.compile(
    r"\b(male|prostat\w*|testi\w*|scrot\w*|penis|penile|spermat\w*|"
    r"epididym\w*|seminal|vas deferens)\b",
    re.I,
)
_FEMALE_WORDS = re.compile(
    r"\b(female|ovar\w*|uter\w*|cervix uteri|vagina|vaginal|vaginitis|vulv\w*|"
    r"fallopian|pregnan\w*|menstru\w*|menopaus\w*|endometri\w*|"
    r"puerper\w*|childbirth)\b",
    re.I,
)


@dataclass(frozen=True)
class CodeEdit:
    rule: str
    codes: tuple[str, ...]
    message: str
    severity: str = "error"  # "error" stops the claim; "warning" asks the coder to look


def _ranges(items) -> tuple[tuple[str, str], ...]:
    out = []
    for item in items:
        start, _, end = item.partition("-")
        out.append((start.replace(".", ""), (end or start).replace(".", "")))
    return tuple(out)


_SECONDARY = _ranges(_SECONDARY_ONLY_Z)
_EXEMPT = _ranges(_POA_EXEMPT)
_MALE = _ranges(_MALE_BLOCKS)
_FEMALE = _ranges(_FEMALE_BLOCKS)


def age_group(cs: CodeSet, code: str) -> tuple[str, str] | None:
    """(group, severity) of an age-specific code, else None."""
    flat = normalize(code).replace(".", "")
    if flat[0] == "O" or flat[:3] in ("Z3A", "Z33", "Z34", "Z36", "Z37", "Z39"):
        return "maternity", "error"
    if flat[:3] == "Z38":
        return "newborn", "error"
    if flat[0] == "P":
        return "newborn", "warning"
    title = (cs.title(code) or "").lower()
    if re.search(r"\b(newborn|neonatal|infant|child|childhood|pediatric)\b", title):
        return "pediatric", "warning"
    if re.search(r"\badult\b", title) and "pediatric" not in title:
        return "adult", "warning"
    return None


def sex_of(cs: CodeSet, code: str) -> str | None:
    """'male' / 'female' for codes that can apply to one sex only, else None."""
    if in_ranges(code, _FEMALE):
        return "female"
    if in_ranges(code, _MALE):
        return "male"
    title = re.sub(r"\([^)]*\)", "", cs.title(code) or "")  # parentheticals: nonessential
    female, male = bool(_FEMALE_WORDS.search(title)), bool(_MALE_WORDS.search(title))
    if female != male:
        return "female" if female else "male"
    return None


def is_manifestation(cs: CodeSet, code: str) -> bool:
    return "in diseases classified elsewhere" in (cs.title(code) or "").lower()


def poa_exempt(code: str) -> bool:
    return in_ranges(code, _EXEMPT)


def check_claim(
    codes: list[str],
    *,
    patient_age: int | None,
    patient_sex: str | None,
    inpatient: bool,
    date_of_service: date,
    principal: str | None = None,
    poa: dict[str, str] | None = None,
    data_dir=None,
) -> list[CodeEdit]:
    """Edits for the diagnosis codes of one claim; an empty list is a clean claim.

    `principal` defaults to the first code (UB-04/837I order); `poa` maps code -> indicator;
    `patient_sex` is 'male'/'female' (or 'M'/'F'); unknown age or sex skips those edits.
    """
    cs = load("icd10cm", date_of_service=date_of_service, data_dir=data_dir)
    edits: list[CodeEdit] = []
    if cs.fy != (date_of_service.year + (date_of_service.month >= 10)):
        edits.append(
            CodeEdit(
                "codeset-year",
                (),
                f"no FY code set for {date_of_service}; checked against FY{cs.fy}",
                "warning",
            )
        )
    norm = [normalize(c) for c in codes]
    poa = {normalize(k): v for k, v in (poa or {}).items()}
    principal = normalize(principal) if principal else (norm[0] if norm else None)
    sex = {"m": "male", "f": "female"}.get((patient_sex or "")[:1].lower())
    seen: set[str] = set()
    usable: list[str] = []
    for code in norm:
        if code in seen:
            edits.append(CodeEdit("duplicate", (code,), f"{code} is reported more than once"))
            continue
        seen.add(code)
        entry, seventh = cs.resolve(code)
        if not cs.is_valid(code):
            edits.append(CodeEdit("invalid-code", (code,), f"{code} is not in ICD-10-CM FY{cs.fy}"))
            continue
        if not cs.is_billable(code):
            if seventh is None and cs.seventh_characters(entry.code) and not entry.children:
                chars = "".join(cs.seventh_characters(entry.code))
                edits.append(
                    CodeEdit("missing-7th", (code,), f"{code} needs a 7th character ({chars})")
                )
            else:
                edits.append(
                    CodeEdit(
                        "non-billable",
                        (code,),
                        f"{code} is a header; code to the highest specificity",
                    )
                )
            continue
        usable.append(code)
    edits += _pair_edits(cs, usable)
    edits += _patient_edits(cs, usable, patient_age, sex)
    if principal and cs.is_valid(principal):
        edits += _principal_edits(cs, principal)
    if inpatient:
        for code in usable:
            value = (poa.get(code) or "").strip().upper()
            if poa_exempt(code):
                if value and value != "1":
                    edits.append(
                        CodeEdit(
                            "poa-invalid",
                            (code,),
                            f"{code} is POA-exempt: report 1 or blank",
                            "warning",
                        )
                    )
            elif not value:
                edits.append(CodeEdit("poa-required", (code,), f"{code} needs a POA indicator"))
            elif value not in POA_VALUES:
                edits.append(
                    CodeEdit(
                        "poa-invalid", (code,), f"POA {value!r} for {code}: one of Y, N, U, W, 1"
                    )
                )
    return edits


def _pair_edits(cs: CodeSet, codes: list[str]) -> list[CodeEdit]:
    edits, reported = [], set()
    for a in codes:
        for note in cs.notes(a, ("excludes1",)):
            for b in codes:
                pair = frozenset((a, b))
                if b != a and pair not in reported and in_ranges(b, note.refs):
                    reported.add(pair)
                    edits.append(
                        CodeEdit(
                            "excludes1",
                            (a, b),
                            f"Excludes1 at {note.source}: {b} is not coded with {a} ({note.text})",
                        )
                    )
    return edits


def _patient_edits(cs: CodeSet, codes: list[str], age: int | None, sex: str | None):
    edits = []
    for code in codes:
        group = age_group(cs, code)
        if group and age is not None:
            low, high = AGE_RANGES[group[0]]
            if not low <= age <= high:
                edits.append(
                    CodeEdit(
                        "age-conflict",
                        (code,),
                        f"{code} is a {group[0]} code (ages {low}-{high}); patient is {age}",
                        group[1],
                    )
                )
        code_sex = sex_of(cs, code)
        if code_sex and sex and code_sex != sex:
            edits.append(CodeEdit("sex-conflict", (code,), f"{code} is for {code_sex} patients"))
    return edits


def _principal_edits(cs: CodeSet, code: str) -> list[CodeEdit]:
    if is_manifestation(cs, code):
        return [
            CodeEdit(
                "manifestation-principal",
                (code,),
                f"{code} is a manifestation code: "
                "code the underlying condition first (code-first note)",
            )
        ]
    if code[0] in "VWXY":
        return [
            CodeEdit(
                "unacceptable-principal",
                (code,),
                f"{code} is an external cause code; never principal",
            )
        ]
    if in_ranges(code, _SECONDARY):
        return [
            CodeEdit(
                "unacceptable-principal",
                (code,),
                f"{code} may only be reported as a secondary diagnosis",
            )
        ]
    return []
