"""Dates: generalising FHIR date primitives and finding and rewriting dates in free text.

45 CFR 164.514(b)(2)(i)(C) removes every element of a date related to the individual except
the year (birth, admission, discharge, death, service dates). Safe Harbor mode keeps the
year alone; date-shift mode moves every date of a patient by the same keyed offset, which
keeps intervals (length of stay, time to treatment) at the cost of leaving Safe Harbor's
letter: a shifted date is still a full date, defensible under expert determination
(164.514(b)(1)), and the report says which mode ran. Years that point to an age of 90 or
more are suppressed in both modes.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

_FHIR = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2})(T\S*)?)?)?$")


def fhir_date(value: str, kind: str, shift: int | None, required: bool) -> str | None:
    """A date, dateTime or instant with its month and day removed (shift None) or moved by
    `shift` days; None when the element must go (an optional instant cannot hold a bare
    year, and a value that does not parse is not kept)."""
    m = _FHIR.match(value)
    if m is None:
        return None
    year, month, day, rest = int(m[1]), m[2], m[3], m[4] or ""
    if shift is None:
        if kind == "instant":
            # An instant needs every element; a required one keeps its year at Jan 1 UTC.
            return f"{year:04d}-01-01T00:00:00Z" if required else None
        return f"{year:04d}"
    try:
        if day:
            moved = date(year, int(month), int(day)) + timedelta(days=shift)
            return f"{moved.year:04d}-{moved.month:02d}-{moved.day:02d}{rest}"
        if month:
            moved = date(year, int(month), 15) + timedelta(days=shift)
            return f"{moved.year:04d}-{moved.month:02d}"
        return f"{(date(year, 7, 1) + timedelta(days=shift)).year:04d}"
    except (ValueError, OverflowError):
        return None


# --- dates in free text ------------------------------------------------------------------

_MONTHS = [calendar.month_name[i].lower() for i in range(1, 13)]
_MON = (
    r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sept(?:ember)?|sep|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)


def _cased(word_pattern: str) -> str:
    """A month alternative matched capitalised, in capitals or in lower case, except "may"
    and "mar" in lower case (a verb, a word): "july 22" is a date in a nurse's note."""
    out = []
    for part in word_pattern.split("|"):
        title = re.sub(r"^([a-z])", lambda m: m.group(1).upper(), part)
        out += [title, part.upper()]
        if not part.startswith(("may", "mar")):
            out.append(part)
    return "|".join(out)


_MON_WORDS = (
    "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    "|sept(?:ember)?|sep|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_MON_CAP = rf"(?P<mon>(?-i:{_cased(_MON_WORDS)}))\.?"
_Y = r"['’]?(?P<y>(?:19|20)\d{2}|(?<=['’\-])\d{2})"
_SUF = r"(?P<suf>st|nd|rd|th)?"
_BEGIN = r"(?<![\w/.\-])"
_END = r"(?![\w/]|[.\-]\d)"
_UNITS = r"(?!\s*(?:mg|mcg|g|kg|ml|l|units?|%|mm|cm|x|times|tabs?|tablets?|[:/.]\d))"

_PATTERNS = [
    # 2024-03-14, 2024/03/14, 2024-03-14T10:22:00-05:00
    rf"{_BEGIN}(?P<y>(?:19|20)\d{{2}})(?P<s>[-/.])(?P<m>\d{{1,2}})(?P=s)(?P<d>\d{{1,2}})"
    rf"(?:T\d{{2}}:\d{{2}}(?::\d{{2}}(?:\.\d+)?)?(?:Z|[+-]\d{{2}}:?\d{{2}})?)?{_END}",
    # 03/14/2024, 3-14-24, 14.03.2024 (day first when the first number cannot be a month)
    rf"{_BEGIN}(?P<a>\d{{1,2}})(?P<s>[/.\-])(?P<b>\d{{1,2}})(?P=s)"
    rf"(?P<y>(?:19|20)\d{{2}}|\d{{2}}){_END}",
    # March 14, 2024; Mar. 14th 2024; MAR 14 '24
    rf"\b{_MON}\s*(?P<d>[0-3]?\d){_SUF}(?:,\s*|\s+|,){_Y}\b",
    # 14 March 2024; 14th of March, 2024; 14-Mar-2024; 14-MAR-24
    rf"\b(?P<d>[0-3]?\d){_SUF}(?:\s+of)?[\s\-]*{_MON}(?:,\s*|[\s\-]+|,){_Y}\b",
    # March 2024; Mar-2024; March of 2024
    rf"\b{_MON}(?:\s+of)?[\s,\-]+{_Y}\b",
    # 03/2024
    rf"{_BEGIN}(?P<m>0?[1-9]|1[0-2])(?P<s>[/\-])(?P<y>(?:19|20)\d{{2}}){_END}",
    # March 14; Mar 14th (no year)
    rf"\b{_MON_CAP}\s+(?P<d>[0-3]?\d){_SUF}\b{_UNITS}",
    # 14 March; the 14th of March; 22-Jul (no year)
    rf"\b(?P<d>[0-3]?\d){_SUF}(?:\s+of\s+|\s+|-){_MON_CAP}(?![\w])",
    # on 3/14, since 3/14 (no year; needs the preposition: 3/14 alone may be a ratio)
    rf"\b(?:on|since|from|until|till|through|thru|by|dated|seen|DOS:?|date:?)\s+"
    rf"(?P<m>0?[1-9]|1[0-2])/(?P<d>0?[1-9]|[12]\d|3[01]){_END}",
]
_REGEXES = [re.compile(p, re.IGNORECASE) for p in _PATTERNS]
_CUE_PATTERN = _REGEXES[-1]

# 7/22 with no cue: nurses date everything so. Fractions, scores and ratios are not dates:
# "1/2 tab", "5/5 strength", "2/6 murmur", "pain 4/10", "BP 120/80" (day > 31), "4/4 pulses".
_BARE_MONTH_DAY = re.compile(
    r"(?<![\w/.\-+:])(?P<m>0?[1-9]|1[0-2])/(?P<d>0?[1-9]|[12]\d|3[01])(?![\w/]|[.\-]\d|\+)"
)
_SCORE_BEFORE = re.compile(
    r"(?:pain|strength|murmur|grade|score|gcs|scale|rated|motor|sensation|pulses?|"
    r"reflexes|power|x|ratio|level|rr|bp|hr|sat|sats|edema|tab|tabs|dose|take)\W{0,3}$",
    re.IGNORECASE,
)
_SCORE_AFTER = re.compile(
    r"^\W{0,2}(?:strength|murmur|pain|scale|tabs?|tablets?|pulses?|motor|bilat|bilaterally|"
    r"power|reflexes|dose|of|strength|ns|nss|normal saline|units?|mg|ml|cc|pills?|caps?|"
    r"cup|cups|glass|teaspoons?|tsp|mins?|hrs?|x)\b",
    re.IGNORECASE,
)
_FRACTIONS = frozenset(
    ("1/2", "1/3", "2/3", "1/4", "3/4", "1/8", "3/8", "5/8", "7/8", "1/5", "2/5", "3/5", "4/5",
     "5/5", "1/6", "2/6", "3/6", "4/6", "5/6", "6/6", "10/10", "2/4", "4/4", "3/3", "2/2",
     "1/1", "0/10")
)  # fmt: skip

_PAIN_NEAR = re.compile(r"pain|discomfort|\bha\b|headache|score|scale|rates?\b", re.IGNORECASE)

_ORDINAL_DAY = re.compile(
    r"\b(?:the|on|since|by|until|from|of)\s+(?P<d>[12]?\d|3[01])(?P<suf>st|nd|rd|th)\b(?!\s+(?:grade|percentile|time|day|week|floor|rib|icu|decade))",
    re.IGNORECASE,
)
_HOLIDAY = re.compile(
    r"\b(?:christmas(?:\s+eve)?|xmas|thanksgiving|new\s+year'?s(?:\s+(?:eve|day))?|easter|"
    r"halloween|memorial\s+day|labor\s+day|independence\s+day|fourth\s+of\s+july|"
    r"july\s+4th|valentine'?s\s+day|mother'?s\s+day|father'?s\s+day|veterans\s+day|"
    r"columbus\s+day|presidents'?\s+day|martin\s+luther\s+king\s+day|mlk\s+day|"
    r"st\.?\s+patrick'?s\s+day)\b",
    re.IGNORECASE,
)


# A month named for an event: "last December", "in March", "since Jan" (not "May", a verb).
_MONTH_PHRASE = re.compile(
    r"\b(?:last|this|next|in|since|early|late|mid|during|until|through|by|before|after)"
    r"[\s\-]+(?P<v>(?-i:January|February|March|April|June|July|August|September|October|"
    r"November|December|JANUARY|FEBRUARY|MARCH|APRIL|JUNE|JULY|AUGUST|SEPTEMBER|OCTOBER|"
    r"NOVEMBER|DECEMBER|Jan|Feb|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec))\b\.?(?!\s*\d)",
    re.IGNORECASE,
)


def find_loose_dates(text: str) -> list[tuple[int, int]]:
    """Dates with no year written the shortest ways: bare 7/22, "the 22nd", holidays. Only
    the Safe Harbor tag applies (nothing to shift reliably)."""
    found = []
    for m in _BARE_MONTH_DAY.finditer(text):
        value = m.group()
        before = text[max(0, m.start() - 14) : m.start()]
        after = text[m.end() : m.end() + 16]
        if value in _FRACTIONS and not re.search(
            r"(?:on|since|from|dated|until|by)\s+$", before, re.I
        ):
            continue
        if _SCORE_BEFORE.search(before) or _SCORE_AFTER.search(after):
            continue
        if value.endswith("/10") and _PAIN_NEAR.search(text, max(0, m.start() - 30), m.end() + 30):
            continue  # "c/o 4/10 abd pain", "pain now 6/10": a pain score, not April 10
        found.append((m.start(), m.end()))
    for m in _MONTH_PHRASE.finditer(text):
        found.append((m.start("v"), m.end("v")))
    for regex in (_ORDINAL_DAY, _HOLIDAY):
        for m in regex.finditer(text):
            start = m.start("d") if regex is _ORDINAL_DAY else m.start()
            found.append((start, m.end()))
    return found


@dataclass
class TextDate:
    start: int
    end: int
    year: int | None
    month: int
    day: int | None
    parts: list[tuple[int, int, str, str]]  # (start, end, role, original) inside the text

    def render_shifted(self, text: str, shift: int, base_year: int) -> str:
        """The same date moved by `shift` days, written in the style it was found in."""
        moved = date(self.year or base_year, self.month, self.day or 15) + timedelta(days=shift)
        # Zero-padded if any number was (03/14/2024), else not (3/14/24, 14 March).
        pad = any(r in ("m", "d") and o.startswith("0") for _, _, r, o in self.parts)
        out, pos = [], self.start
        for start, end, role, original in sorted(self.parts):
            out.append(text[pos:start])
            out.append(_render(role, original, moved, pad))
            pos = end
        out.append(text[pos : self.end])
        return "".join(out)


def _render(role: str, original: str, moved: date, pad: bool) -> str:
    if role == "y":
        return f"{moved.year % 100:02d}" if len(original) == 2 else f"{moved.year:04d}"
    if role in ("m", "d"):
        value = moved.month if role == "m" else moved.day
        return f"{value:02d}" if pad else str(value)
    if role == "suf":
        suffix = _ordinal(moved.day)
        return suffix.upper() if original.isupper() else suffix
    name = _MONTHS[moved.month - 1]
    word = name if len(original) > 4 else ("sept" if original.lower() == "sept" else name[:3])
    if original.isupper():
        return word.upper()
    return word if original.islower() else word.capitalize()


def _ordinal(day: int) -> str:
    if 10 <= day % 100 <= 20:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def _year(text: str, as_of: date) -> int:
    value = int(text)
    if len(text) == 2:
        value += 2000 if 2000 + value <= as_of.year + 1 else 1900
    return value


def find_dates(text: str, as_of: date) -> list[TextDate]:
    """Every date written in `text`, in any of the formats US notes use (overlaps included;
    the scrubber keeps the longest)."""
    found = []
    for regex in _REGEXES:
        for m in regex.finditer(text):
            parsed = _parse(m, text, as_of, regex is _CUE_PATTERN)
            if parsed is not None:
                found.append(parsed)
    return found


def _parse(m: re.Match[str], text: str, as_of: date, cue: bool) -> TextDate | None:
    groups = m.groupdict()
    roles: dict[str, str] = {}
    if groups.get("a") is not None:
        if groups["s"] == "." and len(groups["y"]) == 2:
            return None  # 1.2.10 reads as a version or a list, not a date
        roles = {"a": "m", "b": "d"} if int(groups["a"]) <= 12 else {"a": "d", "b": "m"}
    year = _year(groups["y"], as_of) if groups.get("y") else None
    if year is not None and not 1900 <= year <= as_of.year + 10:
        return None
    if groups.get("mon"):
        month = _MONTHS.index(next(n for n in _MONTHS if n.startswith(groups["mon"][:3].lower())))
        month += 1
    else:
        month_group = next(g for g, r in roles.items() if r == "m") if roles else "m"
        month = int(groups[month_group])
    day_group = next((g for g, r in roles.items() if r == "d"), "d")
    day = int(groups[day_group]) if groups.get(day_group) else None
    if not 1 <= month <= 12:
        return None
    if day is not None and not 1 <= day <= calendar.monthrange(year or 2000, month)[1]:
        return None
    parts = []
    for name in ("y", "m", "d", "a", "b", "mon", "suf"):
        if groups.get(name):
            role = roles.get(name, name)
            parts.append((m.start(name), m.end(name), role, groups[name]))
    start = m.start("m") if cue else m.start()
    return TextDate(start, m.end(), year, month, day, parts)
