"""Free-text scrubbing: finds the Safe Harbor identifiers in a note and replaces them by tags.

Three kinds of evidence are combined, strongest first:

1. the patient's own identifiers from the structured record (`PatientIdentity`: names of
   the patient and relatives, MRN, SSN, phone, e-mail, street, city, ZIP) and the names of
   the facility's clinicians, found wherever and however they are written;
2. patterns: phone and fax numbers, SSNs, e-mail, URLs, IP addresses, labelled numbers
   ("MRN: 123", "member ID", "acct #", "driver's license", "VIN", "plate", "serial number",
   ...), dates in the formats US notes use, ages of 90 and over, street addresses, ZIP codes
   and "City, ST";
3. name heuristics: titles ("Mrs. Ruiz"), cues ("daughter Ana", "signed by", "Patient:"),
   credentials ("Omar Haddad, MD") and a list of common given names.

Overlapping finds are resolved longest first. Each find becomes a bracketed tag ([NAME],
[PHONE], [DATE 2024], [ZIP 432], [AGE 90+]...); in date-shift mode a date is rewritten,
moved by the patient's offset, in the style it was written in. What is kept on purpose:
years alone, ages under 90, states, facility names, clinical numbers (lab values, doses,
vital signs, codes). Citations are to 45 CFR 164.514(b)(2)(i), letters (A) to (R).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import names as words
from .context import zip3
from .dates import find_dates, find_loose_dates
from .namefind import find_names

if TYPE_CHECKING:
    from .context import DeidContext, PatientIdentity
    from .gazetteer import Gazetteer

TAGS = {
    "name": "[NAME]",
    "address": "[ADDRESS]",
    "location": "[LOCATION]",
    "phone": "[PHONE]",
    "fax": "[FAX]",
    "email": "[EMAIL]",
    "ssn": "[SSN]",
    "mrn": "[MRN]",
    "plan": "[PLAN_ID]",
    "account": "[ACCOUNT]",
    "license": "[LICENSE]",
    "vehicle": "[VEHICLE]",
    "device": "[DEVICE]",
    "url": "[URL]",
    "ip": "[IP]",
    "biometric": "[BIOMETRIC]",
    "id": "[ID]",
}


@dataclass(frozen=True)
class Finding:
    """One identifier found in a text: its kind, where it was and what replaced it."""

    kind: str
    start: int
    end: int
    text: str
    replacement: str


# A candidate: (start, end, kind, replacement, priority); lower priority wins ties.
_Cand = tuple[int, int, str, str, int]

# --- (D) (E) (F) (G) (H) (N) (O) ... structural patterns ---------------------------------

_EMAIL = re.compile(
    r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
    # spelled out to dodge spam filters: "jdoe [at] example.com", "jdoe at example dot com"
    r"|\b[A-Za-z0-9._%+\-]+\s*(?:\[at\]|\(at\))\s*[A-Za-z0-9\-]+"
    r"(?:\s*(?:\[dot\]|\(dot\)|\.)\s*[A-Za-z0-9\-]+)+"
    r"|\b[A-Za-z0-9._%+\-]+\s+at\s+[A-Za-z0-9\-]+(?:\s+dot\s+[A-Za-z0-9\-]+)+",
    re.IGNORECASE,
)
_URL = re.compile(
    r"\b(?:(?:https?|ftp)://|www\.)[^\s<>\"'()\[\]{}]+"
    r"|(?<![@\w.])[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\."
    r"(?:com|org|net|edu|gov|io|us|info|biz|health|care)\b(?:/[^\s<>\"'()\[\]{}]*)?",
    re.IGNORECASE,
)
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"(?<![\d.]){_OCTET}(?:\.{_OCTET}){{3}}(?![\d]|\.\d)")
_HEX = r"[0-9A-Fa-f]{1,4}"
_IPV6 = re.compile(
    rf"(?<![\w:])(?:(?:{_HEX}:){{7}}{_HEX}|(?:{_HEX}:){{1,6}}:(?:{_HEX}(?::{_HEX}){{0,5}})?"
    rf"|::(?:{_HEX}(?::{_HEX}){{0,6}}))(?![\w:])"
)
_SSN = re.compile(r"(?<![\d\-])\d{3}-\d{2}-\d{4}(?![\d\-])")
_PHONE = re.compile(
    r"(?<![\w+])(?:\+?1[\s.\-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.\-])\d{3}[\s.\-]\d{4}"
    r"(?:\s*(?:x|ext\.?|extension)\s*\d{1,6})?(?![\w])"
    r"|(?<![\w])\+\d{1,3}(?:[\s.\-]\d{1,4}){3,5}(?![\w])",
    re.IGNORECASE,
)
# Medicare Beneficiary Identifier format (CMS): 1EG4-TE5-MK73.
_MBI = re.compile(
    r"\b[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y\d]\d-?[AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y\d]\d-?"
    r"[AC-HJKMNP-RT-Y]{2}\d{2}\b"
)
_VIN = re.compile(r"\b(?=(?:[A-HJ-NPR-Z]*\d){3})(?=(?:\d*[A-HJ-NPR-Z]){3})[A-HJ-NPR-Z\d]{17}\b")
_CARD = re.compile(r"(?<![\d\-])(?:\d{4}[ \-]){3}\d{1,7}(?![\d\-])")
_LONG_NUMBER = re.compile(r"(?<![\d.,/\-])\d{8,}(?![\d,/\-]|\.\d)")
# Codes that are no clinical value: letters and 5+ digits ("ABC234567", "QX-789012",
# "#UPMC-231500JR") or hyphenated digit groups that are no date or phone ("789-456-123").
_CODE = re.compile(
    r"(?<![\w\-/.])#?(?:[A-Z]{1,6}-?\d{5,}[A-Z0-9]*|[A-Z]{1,6}\d*-[A-Z0-9]*\d{4,}[A-Z0-9]*"
    r"|\d{2,4}(?:-\d{2,4}){2,}(?=[^\d\-]|$)(?<=\d))(?![\w\-/]|\.\d)"
)
_FAX_NEAR = re.compile(r"(fax|facsimile|phone|tel|call|cell|mobile|pager)", re.IGNORECASE)


# Cheap scans that rule out the costlier patterns for most of a note's text.
_URL_HINT = re.compile(r"://|www\.|\.(?:com|org|net|edu|gov|io|us|info|biz|health|care)\b", re.I)
_EMAIL_HINT = re.compile(r"@|\[at\]|\(at\)|\sdot\s", re.I)
_IPV6_HINT = re.compile(r"::|(?:[0-9A-Fa-f]{1,4}:){3}")
_VIN_HINT = re.compile(r"[A-Z0-9]{17}")


def _structural(text: str, out: list[_Cand]) -> None:
    regexes = [(_MBI, "plan", 0), (_LONG_NUMBER, "id", 2), (_CODE, "id", 3)]
    if "." in text:
        regexes.append((_IPV4, "ip", 0))
    if "-" in text or " " in text:
        regexes += [(_SSN, "ssn", 0), (_CARD, "account", 2)]
    if _EMAIL_HINT.search(text):
        regexes.append((_EMAIL, "email", 0))
    if _IPV6_HINT.search(text):
        regexes.append((_IPV6, "ip", 0))
    if _VIN_HINT.search(text):
        regexes.append((_VIN, "vehicle", 2))
    for regex, kind, priority in regexes:
        for m in regex.finditer(text):
            out.append((m.start(), m.end(), kind, TAGS[kind], priority))
    if _URL_HINT.search(text):
        for m in _URL.finditer(text):
            end = m.end()
            while end > m.start() and text[end - 1] in ".,;:!?)":
                end -= 1
            out.append((m.start(), end, "url", TAGS["url"], 1))
    for m in _PHONE.finditer(text):
        kind = _phone_kind(text, m.start())
        out.append((m.start(), m.end(), kind, TAGS[kind], 0))


# Extensions and short numbers nurses write: "x1234", "ext 4321", "555-1212", "pager 23456".
_SHORT_PHONE = re.compile(
    r"(?<![\w/.\-])(?:(?:x|ext\.?|extension)\s?#?\d{4,5}|\d{3}-\d{4})(?![\w\-/]|\.\d)",
    re.IGNORECASE,
)
_PAGER = re.compile(
    r"\b(?:pager|beeper|pgr|page|paged|beep|bpr|pg)\s*(?:#|no\.?|number)?\s*:?\s*(?P<v>\d{4,7})\b",
    re.IGNORECASE,
)


def _short_phones(text: str, out: list[_Cand]) -> None:
    for m in _SHORT_PHONE.finditer(text):
        out.append((m.start(), m.end(), "phone", TAGS["phone"], 1))
    for m in _PAGER.finditer(text):
        out.append((m.start("v"), m.end("v"), "phone", TAGS["phone"], 1))


def _phone_kind(text: str, start: int) -> str:
    """fax when the nearest label before the number says so ("Fax: 614-555-0199")."""
    labels = _FAX_NEAR.findall(text[max(0, start - 30) : start])
    return "fax" if labels and labels[-1].lower() in ("fax", "facsimile") else "phone"


# --- labelled numbers: "MRN: 123", "member ID XJH4488", "VIN 1HGCM8..." -------------------

_NO = r"(?:\s*(?:number|num|no\.?|#|id))"
_LABELS: list[tuple[str, str]] = [
    # Order matters where labels share words: "license plate" before "license".
    (
        "vehicle",
        rf"(?-i:VIN)|vehicle identification number|vehicle{_NO}|licen[cs]e plate{_NO}?"
        rf"|plate{_NO}|tag{_NO}|(?:vehicle )?registration{_NO}",
    ),
    (
        "device",
        rf"serial{_NO}|(?-i:S/N|SN|UDI|IMEI)|device (?:id|identifier|serial){_NO}?"
        rf"|device{_NO}|implant (?:id|serial){_NO}?|mac address",
    ),
    (
        "biometric",
        r"biometric(?: id| identifier| template)?|fingerprint(?: id| template)?"
        r"|(?:retina|retinal|iris) scan(?: id)?|voice ?print(?: id)?|palm ?print(?: id)?",
    ),
    ("ssn", rf"social security{_NO}?|soc\.? sec\.?{_NO}?|(?-i:SSN|SS#)"),
    (
        "mrn",
        rf"medical record{_NO}?|med(?:ical)? ?rec(?:ord)?{_NO}?|(?-i:MRN|MR#|MR|EMR|EHR)"
        rf"|chart{_NO}|hospital{_NO}|patient{_NO}|pt{_NO}|record{_NO}",
    ),
    (
        "plan",
        rf"member{_NO}|subscriber{_NO}|policy{_NO}?|insurance{_NO}|group{_NO}"
        rf"|medicare(?: beneficiary)?{_NO}?|(?-i:MBI|HICN)|medicaid{_NO}?|beneficiary{_NO}"
        rf"|health plan{_NO}|plan{_NO}",
    ),
    (
        "account",
        rf"account{_NO}?|acct\.?{_NO}?|billing(?: account)?{_NO}|(?-i:FIN)|encounter{_NO}"
        rf"|visit{_NO}|claim{_NO}?|invoice{_NO}|(?:credit |debit )?card{_NO}",
    ),
    (
        "license",
        rf"driver'?s'? licen[cs]e{_NO}?|licen[cs]e{_NO}?|(?-i:DL|DEA|NPI){_NO}?"
        rf"|certificate{_NO}?|passport{_NO}?|permit{_NO}|state id",
    ),
    (
        "id",
        rf"accession{_NO}?|specimen{_NO}|case{_NO}|(?-i:ID){_NO}?|identifier|badge{_NO}"
        rf"|employee{_NO}|student{_NO}|confirmation{_NO}|reference{_NO}|order{_NO}"
        rf"|requisition{_NO}|barcode|tracking{_NO}",
    ),
    ("ip", r"ip(?: address)?|ipv[46](?: address)?"),
]
_LABEL_KIND: dict[str, str] = {}
_LABEL_ALTS = []
for _kind, _alts in _LABELS:
    _LABEL_ALTS.append(f"(?P<{_kind}>{_alts})")
_LABELLED = re.compile(
    rf"(?<![\w])(?:{'|'.join(_LABEL_ALTS)})(?![A-Za-z])"
    r"(?:\s+(?:is|was|of|on file|reads))?\s*[:#=]?\s*#?\s*(?:is\s+)?"
    r"(?P<value>(?:(?-i:[A-Z]{2,3})\s(?=[A-Z0-9\-]*\d))?[A-Za-z0-9]+(?:[\-/.:][A-Za-z0-9]+)*)",
    re.IGNORECASE,
)
# Short phone numbers and bare digit strings only count after a phone label.
_LABELLED_PHONE = re.compile(
    r"\b(?P<label>phone|tel|telephone|cell|mobile|home|work|pager|beeper|fax|facsimile|call"
    r"|called|ph|#)"
    r"\b[\w ]{0,12}?[:#]?\s*(?P<value>\d{3}[\s.\-]\d{4}|\d{10}|\d{11})(?![\w])",
    re.IGNORECASE,
)


def _labelled(text: str, out: list[_Cand]) -> None:
    for m in _LABELLED.finditer(text):
        value = m.group("value")
        kind = next(k for k, _ in _LABELS if m.group(k))
        bare = re.sub(r"^[A-Z]{2,3}\s", "", value)
        start = m.start("value")
        if bare != value and kind not in ("vehicle", "license"):
            start += len(value) - len(bare)  # a letter prefix belongs to plates and licences
            value = bare
        if not re.search(r"\d", bare) or len(re.sub(r"\W", "", bare)) < 3:
            continue
        if kind in ("plan", "account", "id") and (
            re.fullmatch(r"(?:19|20)\d{2}", value) or re.fullmatch(r"\d{1,2}[/.]\d{1,2}", value)
        ):
            continue  # "Medicare 2024", "policy 3/4": a year or a ratio, not a number
        if kind == "ip" and not (_IPV4.fullmatch(value) or _IPV6.fullmatch(value)):
            continue
        out.append((start, m.end("value"), kind, TAGS[kind], 0))
    for m in _LABELLED_PHONE.finditer(text):
        kind = "fax" if m.group("label").lower() in ("fax", "facsimile") else "phone"
        out.append((m.start("value"), m.end("value"), kind, TAGS[kind], 0))


# --- the patient's own identifiers --------------------------------------------------------


def _known(text: str, identity: PatientIdentity | None, out: list[_Cand]) -> None:
    if identity is None:
        return
    pattern = identity.literal_pattern()
    if pattern is not None:
        for m in pattern.finditer(text):
            kind = identity.kind_of(m.group())
            tag = _zip_tag(m.group()) if kind == "zip" else TAGS.get(kind, TAGS["id"])
            out.append((m.start(), m.end(), kind, tag, 0))
    digits = identity.digit_pattern()
    if digits is not None:
        for m in digits.finditer(text):
            kind = identity.kind_of(m.group())
            if kind in ("phone", "fax"):
                kind = _phone_kind(text, m.start()) if kind == "phone" else kind
            out.append((m.start(), m.end(), kind, TAGS.get(kind, TAGS["id"]), 0))


# --- (C) dates and ages ----------------------------------------------------------------------


def _dates(text: str, ctx: DeidContext, shift: int | None, out: list[_Cand]) -> None:
    oldest = ctx.as_of.year - 90  # a year this old points to an age of 90 or more
    for d in find_dates(text, ctx.as_of):
        if d.year is not None and d.year <= oldest:
            tag = "[DATE]"
        elif shift is not None:
            tag = d.render_shifted(text, shift, ctx.as_of.year)
        else:
            tag = f"[DATE {d.year}]" if d.year is not None else "[DATE]"
        out.append((d.start, d.end, "date", tag, 1))
    for start, end in find_loose_dates(text):
        out.append((start, end, "date", "[DATE]", 2))


_AGE = re.compile(
    r"\b(?P<v>\d{2,3})(?:[\s\-]*(?:years?|yrs?|y)[\s\-]*(?:old|of\s+age)\b"
    r"|\s*(?:y/o|y\.o\.|yo|yof|yom)(?![a-z]))"
    r"|\b(?:age[sd]?|aged)\s*(?:of|is|was|at|:)?\s*:?\s*(?P<w>\d{2,3})\b(?!\s*(?:%|mg|kg|/|\.\d))"
    r"|\b(?P<c>centenarian|supercentenarian|nonagenarian|(?<=in (?:his|her) )(?:9\d|nineties|90s|9\ds))\b",
    re.IGNORECASE,
)


def _ages(text: str, out: list[_Cand]) -> None:
    """(C): ages over 89 become the single category "90 or older"; younger ages stay."""
    for m in _AGE.finditer(text):
        group = "v" if m.group("v") else "w" if m.group("w") else "c"
        if group != "c" and not 90 <= int(m.group(group)) <= 130:
            continue
        out.append((m.start(group), m.end(group), "age", "[AGE 90+]", 1))


# --- (B) geography smaller than a state ------------------------------------------------------

_SUFFIXES = (
    "Street|St|Avenue|Ave|Road|Rd|Drive|Dr|Lane|Ln|Court|Ct|Boulevard|Blvd|Way|Place|Pl|"
    "Circle|Cir|Parkway|Pkwy|Terrace|Ter|Highway|Hwy|Trail|Trl|Square|Sq|Loop|Pike|Row|Path|"
    "Crossing|Alley|Point"
)
_UNIT = (
    r"(?:,?\s+(?:Apt|Apartment|Unit|Suite|Ste|Fl|Floor|Bldg|Building|Lot|Rm|Room|#)\.?\s*#?\s*"
    r"[A-Za-z0-9\-]+)?"
)
_STREET = re.compile(
    r"\b\d{1,6}[A-Za-z]?(?:-\d{1,4})?\s+(?:(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)\.?\s+)?"
    rf"(?:(?:\d{{1,3}}(?:st|nd|rd|th)|[A-Z][A-Za-z'\-]*)\.?\s+){{1,4}}(?:{_SUFFIXES}|"
    rf"{_SUFFIXES.upper()})\b\.?{_UNIT}"
)
_APT = re.compile(r"\b(?:Apt|Apartment)\.?\s*#?\s*\d+[A-Za-z]?\b|\bP\.?\s?O\.?\s*Box\s+\d+\b", re.I)
_STATE_CODES = "|".join(words.US_STATES)
_STATE_NAMES = "|".join(sorted(words.US_STATES.values(), key=len, reverse=True))
_CITY_STATE = re.compile(
    r"\b(?P<city>[A-Z][a-z]+(?:[ \-][A-Z][a-z]+){0,2}),\s*"
    rf"(?P<state>(?:{_STATE_CODES})\b|(?:{_STATE_NAMES})\b)"
    r"(?:\.?,?\s+(?P<zip>\d{5}(?:-\d{4})?)(?![\d\-]))?"
)
_ZIP_LABEL = re.compile(
    r"\b(?:zip(?:\s*code)?|postal\s+code)\s*(?:is|was)?\s*[:#]?\s*(?P<v>\d{5}(?:-\d{4})?)\b", re.I
)
_COUNTY = re.compile(r"\b(?:[A-Z][a-z]+\s+){1,2}(?:County|Parish|Borough)\b")
_PRECINCT = re.compile(r"\b(?:precinct|census tract)\s+#?\d+\w*", re.IGNORECASE)
_PLACE_CUE = re.compile(
    r"\b(?:lives|living|live|resides|residing|resident|moved|moving|relocated|grew up|raised|"
    r"visiting|visited|travel(?:l)?ed|travel(?:l)?ing|commutes|stays|staying|born)\s+"
    r"(?:in|to|from|at|near|out of)\s+(?:the\s+)?"
    r"(?P<v>[A-Z][a-z]+(?:[ \-][A-Z][a-z]+){0,2})"
)
_EMPLOYER_CUE = re.compile(
    r"\b(?:works|working|worked|employed|employee)\s+(?:at|for|by)\s+"
    r"(?P<v>(?:[A-Z][\w&'\-]*\s?){1,4})"
)


def _zip_tag(value: str) -> str:
    return f"[ZIP {zip3(value) or '000'}]"


def _geography(text: str, identity: PatientIdentity | None, out: list[_Cand]) -> None:
    for m in _STREET.finditer(text):
        out.append((m.start(), m.end(), "address", TAGS["address"], 2))
    for m in _APT.finditer(text):
        out.append((m.start(), m.end(), "address", TAGS["address"], 2))
    known_cities = (
        {k.lower() for k, v in identity.literals.items() if v == "location"} if identity else set()
    )
    for m in _CITY_STATE.finditer(text):
        city, state = m.group("city"), m.group("state")
        if city.lower() in words.LARGE_PLACES or city.lower() in words.STOP:
            city_ok = False
        elif state in words.AMBIGUOUS_STATE_CODES:
            city_ok = bool(m.group("zip")) or city.lower() in known_cities
        else:
            city_ok = True
        if city_ok:
            out.append((m.start("city"), m.end("city"), "location", TAGS["location"], 2))
        if m.group("zip"):
            out.append((m.start("zip"), m.end("zip"), "zip", _zip_tag(m.group("zip")), 1))
    for m in _ZIP_LABEL.finditer(text):
        out.append((m.start("v"), m.end("v"), "zip", _zip_tag(m.group("v")), 1))
    for regex in (_COUNTY, _PRECINCT):
        for m in regex.finditer(text):
            out.append((m.start(), m.end(), "location", TAGS["location"], 2))
    for m in _PLACE_CUE.finditer(text):
        place = m.group("v")
        if place.lower() not in words.LARGE_PLACES and place.split()[0].lower() not in words.STOP:
            out.append((m.start("v"), m.end("v"), "location", TAGS["location"], 2))
    for m in _EMPLOYER_CUE.finditer(text):
        value = m.group("v").rstrip()
        if value.split()[0].lower() not in words.STOP:
            # Employers of the individual are among the identifiers Safe Harbor removes.
            out.append((m.start("v"), m.start("v") + len(value), "name", TAGS["name"], 3))


# --- (B) places and facilities from the gazetteer ---------------------------------------------

_TOKEN = re.compile(r"[A-Za-z][A-Za-z'’]*")
_FACILITY_HEADS = (
    "hospital", "hosp", "medical center", "med ctr", "medical ctr", "health center",
    "med center", "med. center", "med. ctr", "medical centre",
    "healthcare center", "clinic", "rehab", "rehabilitation center", "rehabilitation hospital",
    "nursing home", "nursing center", "nursing facility", "care center", "infirmary", "manor",
    "hospice", "healthcare", "health system", "medical group", "senior center", "assisted living",
    "skilled nursing", "va", "vamc", "ltac", "snf", "institute",
)  # fmt: skip
_FACILITY_FIRST = frozenset(h.split()[0].rstrip(".") for h in _FACILITY_HEADS)
_FACILITY = re.compile(
    r"\b(?:"
    + "|".join(re.escape(h) for h in sorted(_FACILITY_HEADS, key=len, reverse=True))
    + r")\b",
    re.IGNORECASE,
)
_PLACE_BEFORE = re.compile(
    r"(?:\b(?:from|to|in|at|near|of|lives|outside|around|toward|towards|visiting)\s+(?:the\s+)?"
    r"|\b(?:st|street|ave|avenue|rd|road|dr|drive|blvd|ln|lane|way|hospital|clinic|center)\.?,\s*)$",
    re.IGNORECASE,
)
# Words that may stand in a facility's name before its head word without being its
# distinctive part ("St. Vincent's Hospital": "St."; "Mount Sinai": "Mount").
_FACILITY_FILLER = frozenset(
    ("st", "st.", "saint", "mt", "mt.", "mount", "general", "memorial", "community", "regional",
     "university", "county", "medical", "city", "state", "children's", "childrens", "women's",
     "new", "north", "south", "east", "west", "lake", "valley", "baptist", "methodist",
     "presbyterian", "lutheran", "catholic", "mercy", "good", "samaritan", "sacred", "heart",
     "holy", "cross", "family", "veterans", "shriners")
)  # fmt: skip


_FUNCTION_WORDS = frozenset(
    ("the", "a", "an", "at", "to", "from", "in", "of", "on", "by", "for", "and", "or", "with",
     "his", "her", "their", "our", "my", "your", "this", "that", "seen", "admitted", "was",
     "is", "pt", "patient", "local", "nearby", "outside", "same", "other", "another", "any")
)  # fmt: skip
# Acronyms of hospitals after a place cue: "seen at UCSF", "transferred to MGH".
_ACRONYM_PLACE = re.compile(
    r"\b(?:at|to|from)\s+(?:the\s+)?(?P<v>[A-Z]{3,5})\b(?![\-/]|\s*\d|\s+(?:trial|study|criteria|"
    r"guidelines?|protocol|score|scale|data|registry|cohort))"
)


# "Mass General", "SF General", "County General": a hospital called by its place.
_X_GENERAL = re.compile(
    r"\b(?P<w>[A-Z][a-z]+|[A-Z]{2,4})\s+General\b(?!\s+(?:Surgery|Medicine|Practice|Anesthesia|"
    r"Surgical|Appearance|Health|Hospital|Medical|Pediatrics|Internal))"
)
_NEXT_WORD = re.compile(r"(?:'s|’s)?[\s\-]+([A-Za-z]+)")
_UPPER_TEXT = re.compile(r"(?=[^a-z]*$)", re.S)  # no lower-case letter at all


def _facilities_and_places(text: str, ctx: DeidContext, out: list[_Cand]) -> None:
    """Facilities and places from the gazetteer; overlapping or adjacent finds merge into
    one span ("San Francisco" + "Francisco clinic" = "San Francisco clinic")."""
    gaz = ctx.gazetteer
    if not gaz.loaded:
        return
    found: list[_Cand] = []
    _find_facilities_and_places(text, gaz, found)
    found.sort()
    merged: list[list] = []
    for start, end, kind, tag, priority in found:
        if merged and (start <= merged[-1][1] or text[merged[-1][1] : start] == " "):
            merged[-1][1] = max(merged[-1][1], end)
            merged[-1][4] = min(merged[-1][4], priority)
        else:
            merged.append([start, end, kind, tag, priority])
    out.extend(tuple(m) for m in merged)  # type: ignore[misc]


def _find_facilities_and_places(text: str, gaz: Gazetteer, out: list[_Cand]) -> None:
    toks = [
        (m.start(), m.end(), m.group().lower().replace("’", "'").strip("'-"))
        for m in _TOKEN.finditer(text)
    ]

    def distinctive(word: str) -> bool:
        bare = word.removesuffix("'s")
        return (
            bare in gaz.hospital_words
            or bare in gaz.strong
            or bare in gaz.places
            or (
                len(bare) > 2
                and bare not in gaz.common
                and bare not in gaz.medical
                and bare not in words.STOP
                and bare not in words.CLINICAL_WORDS
                and bare not in words.RELATIONS
            )
        )

    # "transferred from St. Vincent's hospital", "Heywood Hosp", "MOUNT AUBURN HOSPITAL"
    # The head regex is tried only where a head's first word stands (scanning is slow).
    heads = (
        (i, m)
        for i, t in enumerate(toks)
        if t[2] in _FACILITY_FIRST
        for m in (_FACILITY.match(text, t[0]),)
        if m is not None
    )
    for i, m in heads:
        j, found = i - 1, False
        while j >= 0 and i - j <= 4:
            word = toks[j][2]
            gap = text[toks[j][1] : toks[j + 1][0]]
            raw = text[toks[j][0] : toks[j][1]]
            titled = raw[:1].isupper() and not raw.isupper() and m.group()[:1].isupper()
            # In mixed case a capitalised filler or street word is part of the name
            # ("General Hospital", "Elm Street Clinic"); elsewhere a heading word ends it.
            named_filler = titled and (word in _FACILITY_FILLER or word in words.STREET_WORDS)
            if gap not in (" ", ". ", ".", "-", " & ") or (
                word in words.STOP and word not in ("st", "saint") and not named_filler
            ):
                break
            if named_filler or distinctive(word):
                found = True
            elif (
                titled
                and word not in _FUNCTION_WORDS
                and (word not in gaz.medical or word in _FACILITY_FILLER)
            ):
                # "Elm Clinic", "General Hospital": a proper name in mixed case; acronyms
                # ("NYU Langone") and fillers after it too.
                found = True
            elif word not in _FACILITY_FILLER and not (found and raw.isupper() and len(raw) > 1):
                break
            j -= 1
        if found:
            out.append((toks[j + 1][0], m.end(), "location", TAGS["location"], 2))
    for m in _X_GENERAL.finditer(text):
        if m.group("w").lower() not in _FUNCTION_WORDS and m.group("w").lower() not in gaz.medical:
            out.append((m.start(), m.end(), "location", TAGS["location"], 3))
    for m in _ACRONYM_PLACE.finditer(text):
        lower = m.group("v").lower()
        if (
            lower not in gaz.medical
            and lower not in words.CLINICAL_WORDS
            and lower not in words.STOP
            and m.group("v") not in words.US_STATES
            and not _UPPER_TEXT.match(text)
        ):
            out.append((m.start("v"), m.end("v"), "location", TAGS["location"], 3))
    # Place and hospital names: several words anywhere, one word after "from", "in", "at".
    n_toks = len(toks)
    starts, places = gaz.starts, gaz.places
    for i in range(n_toks):
        first = toks[i][2].rstrip(".")
        if first not in starts and first not in places and first not in gaz.word_places:
            continue
        for n in (3, 2, 1):
            if i + n > n_toks:
                continue
            parts = [toks[k][2] for k in range(i, i + n)]
            if n > 1 and any(
                text[toks[k][1] : toks[k + 1][0]] not in (" ", ". ", "-")
                for k in range(i, i + n - 1)
            ):
                continue
            key = " ".join(p.rstrip(".").removesuffix("'s") for p in parts)
            start, end = toks[i][0], toks[i + n - 1][1]
            if n > 1 and (key in gaz.places or key in gaz.hospitals):
                titled = all(text[toks[k][0]].isupper() for k in range(i, i + n))
                if key in words.LARGE_PLACES:
                    if text[end : end + 5].lower() != " city":
                        continue  # a state ("New York") may stay; "New York City" may not
                    end += 5
                elif all(p in gaz.common or p in words.STOP for p in parts) and not titled:
                    continue
                out.append((start, end, "location", TAGS["location"], 2))
                break
            if n == 1 and len(key) > 3 and (key in places or key in gaz.word_places):
                word = text[start:end]
                cued = _PLACE_BEFORE.search(text[max(0, start - 20) : start])
                capital = word[:1].isupper() and not word.isupper()
                head = _NEXT_WORD.match(text, end)
                if head and head.group(1).lower() in words.EPONYM_HEADS:
                    ok = False  # "Lyme disease", "Framingham risk score"
                elif key in gaz.word_places:
                    ok = cued and capital  # "from Boston", not "from mobile"
                else:
                    ok = cued or (capital and key not in gaz.strong and key not in gaz.weak)
                if ok:
                    out.append((start, end, "location", TAGS["location"], 3))


# --- (A) names: see namefind.py ------------------------------------------------------------


def _names(text: str, identity: PatientIdentity | None, ctx: DeidContext, out: list[_Cand]) -> None:
    for start, end in find_names(text, identity, ctx.clinician_tokens, ctx.gazetteer):
        out.append((start, end, "name", TAGS["name"], 3))


# --- putting it together ---------------------------------------------------------------------


def scrub_text(
    text: str, context: DeidContext, *, patient: str | None = None
) -> tuple[str, list[Finding]]:
    """Replace the identifiers in `text`; return the new text and what was found.

    `patient` is the (real) id of the Patient the text is about: its identity, learned
    from the structured record (`DeidContext.learn`), is the strongest signal, and in
    date-shift mode its offset moves the dates. Without it, patterns and heuristics alone
    apply and dates keep their year only.
    """
    identity = context.patients.get(patient) if patient else None
    shift = context.shift_days(patient) if context.date_shift and patient else None
    candidates: list[_Cand] = []
    _structural(text, candidates)
    _short_phones(text, candidates)
    _labelled(text, candidates)
    _known(text, identity, candidates)
    _dates(text, context, shift, candidates)
    _ages(text, candidates)
    _geography(text, identity, candidates)
    _facilities_and_places(text, context, candidates)
    _names(text, identity, context, candidates)
    chosen: list[_Cand] = []
    taken: list[tuple[int, int]] = []
    for cand in sorted(candidates, key=lambda c: (c[0] - c[1], c[4], c[0])):
        start, end = cand[0], cand[1]
        if start < end and all(end <= s or start >= e for s, e in taken):
            chosen.append(cand)
            taken.append((start, end))
    chosen.sort()
    findings, parts, pos = [], [], 0
    for start, end, kind, replacement, _ in chosen:
        parts.append(text[pos:start])
        parts.append(replacement)
        findings.append(Finding(kind, start, end, text[start:end], replacement))
        context.free_text[kind] += 1
        pos = end
    parts.append(text[pos:])
    return "".join(parts), findings
