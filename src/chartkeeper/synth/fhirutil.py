"""Small builders for FHIR datatypes (Coding, CodeableConcept, Reference, Quantity, times).

Times are generated as naive local wall-clock datetimes for the facility (US Eastern) and
get their UTC offset only when formatted, so modules never juggle time zones.

Speed matters (a million patients is ~200 million resources), so `concept(code)` without
text returns one shared, cached dict per code: treat CodeableConcepts as immutable and
replace them (``res["code"] = concept(other)``) rather than editing them in place.
"""

from __future__ import annotations

import base64
from datetime import date, datetime, timedelta
from functools import cache

from .terminology import Code


def coding(code: Code) -> dict:
    return {"system": code.system, "code": code.code, "display": code.display}


_CONCEPTS: dict[Code, dict] = {}


def concept(*codes: Code, text: str | None = None) -> dict:
    """A CodeableConcept; `text` only when it says more than the codings' display."""
    if len(codes) == 1 and text is None:
        cached = _CONCEPTS.get(codes[0])
        if cached is None:
            cached = _CONCEPTS[codes[0]] = {"coding": [coding(codes[0])]}
        return cached
    out: dict = {"coding": [coding(c) for c in codes]}
    if text is not None:
        out["text"] = text
    return out


def ref(reference: str, display: str | None = None) -> dict:
    return {"reference": reference, "display": display} if display else {"reference": reference}


def quantity(value: float, unit: str, code: str | None = None) -> dict:
    return {
        "value": value,
        "unit": unit,
        "system": "http://unitsofmeasure.org",
        "code": code or unit,
    }


def _second_sunday_of_march(year: int) -> date:
    d = date(year, 3, 8)
    return d + timedelta(days=(6 - d.weekday()) % 7)


def _first_sunday_of_november(year: int) -> date:
    d = date(year, 11, 1)
    return d + timedelta(days=(6 - d.weekday()) % 7)


@cache
def _dst_bounds(year: int) -> tuple[date, date]:
    return _second_sunday_of_march(year), _first_sunday_of_november(year)


def utc_offset(value: datetime) -> str:
    """US Eastern offset for a local time (DST from 2nd Sunday of March to 1st of November)."""
    start, end = _dst_bounds(value.year)
    return "-04:00" if start <= value.date() < end else "-05:00"


def dt(value: datetime) -> str:
    """FHIR dateTime/instant with seconds and offset."""
    return value.isoformat(timespec="seconds") + utc_offset(value)


def day(value: date) -> str:
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def text_attachment(text: str, title: str, created: datetime) -> dict:
    return {
        "contentType": "text/plain",
        "language": "en-US",
        "data": b64(text),
        "title": title,
        "creation": dt(created),
    }
