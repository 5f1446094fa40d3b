"""OBX (HL7 v2 7.4.2) to Observation: the value by its type in OBX-2, units, reference
range, abnormal flags and status, per the v2-to-FHIR OBX[Observation] segment map.

This module owns one result value. It is shared by ORU (results.py) and ORM (orders.py);
MDM reads the same OBX text lines through `text_lines` for its document body, and VXU
(immunization.py) reads units through `quantity_unit`.
"""

from __future__ import annotations

import base64
import binascii
import re

from chartkeeper.interfaces.hl7v2.build import Build
from chartkeeper.interfaces.hl7v2.coded import cwe_concept
from chartkeeper.interfaces.hl7v2.datatypes import to_datetime, to_number, unreadable
from chartkeeper.interfaces.hl7v2.errors import DATA_TYPE, REQUIRED_FIELD, Hl7Error, error
from chartkeeper.interfaces.hl7v2.parser import Composite, Segment

_UCUM = "http://unitsofmeasure.org"
_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
# Table 0078 flags that v3 ObservationInterpretation has under the same code.
_FLAGS = set(
    [
        "L",
        "H",
        "LL",
        "HH",
        "<",
        ">",
        "N",
        "A",
        "AA",
        "U",
        "D",
        "B",
        "W",
        "S",
        "R",
        "I",
        "MS",
        "VS",
        "NEG",
        "POS",
        "IND",
        "DET",
        "ND",
    ]
)
# Table 0085 observation result status -> Observation.status.
_STATUS = {
    "C": "corrected",
    "D": "entered-in-error",
    "W": "entered-in-error",
    "F": "final",
    "U": "final",
    "I": "registered",
    "O": "registered",
    "P": "preliminary",
    "R": "preliminary",
    "S": "preliminary",
    "X": "cancelled",
    "N": "cancelled",
    "A": "amended",
}
_CODED = frozenset({"CWE", "CE", "CNE", "CF", "CV"})
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_RANGE = re.compile(rf"\s*({_NUMBER})\s*(?:-|_|–|to)\s*({_NUMBER})\s*", re.IGNORECASE)
_BOUND = re.compile(rf"\s*(<=?|>=?)\s*({_NUMBER})\s*")
_COMPARATORS = {"<", "<=", ">", ">="}
_NUMERIC = re.compile(rf"\s*(<=?|>=?|=)?\s*({_NUMBER})\s*")
_DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"


def absent_code(what: str) -> dict:
    """A required code the sender left empty: 'unknown', saying which field was empty,
    rather than refusing the results that come with it."""
    return {
        "coding": [{"system": _DATA_ABSENT, "code": "unknown", "display": "Unknown"}],
        "text": f"not given ({what} empty)",
    }


def text_lines(obx: Segment) -> list[str]:
    """OBX-5 of a text result as lines: each repetition is a line (2A.79, TX), and an empty
    OBX-5 is an empty line, which keeps a report's paragraph breaks."""
    raw = obx.raw(5)
    seps = obx.seps
    return [
        Composite(rep, seps, obx.loc(5).at(repetition=i)).text()
        for i, rep in enumerate(raw.split(seps.repetition), start=1)
    ]


def observation(
    build: Build,
    obx: Segment,
    notes: list[Segment],
    lines: list[str],
    obs_id: str,
    patient_id: str,
    default_effective: str | None,
) -> dict:
    code = cwe_concept(obx.rep(3))
    if code is None:
        build.warn(
            obx.loc(3), "OBX-3 observation identifier is empty; code 'unknown'", REQUIRED_FIELD
        )
        code = absent_code("OBX-3")
    obs: dict = {
        "resourceType": "Observation",
        "id": obs_id,
        "status": _STATUS.get(obx.get(11).upper(), "unknown"),
        "code": code,
        "subject": {"reference": f"Patient/{patient_id}"},
    }
    effective = to_datetime(obx.get(14), obx.loc(14), build.tz) or default_effective
    if effective:
        obs["effectiveDateTime"] = effective
    unit = quantity_unit(obx.rep(6))
    obs.update(_value(build, obx, lines, unit))
    if obx.get(2).upper() in ("NM", "SN") and obx.get(7):
        obs["referenceRange"] = [_reference_range(obx.rep(7).text(), unit)]
    flags = [_interpretation(r) for r in obx.reps(8)]
    if any(flags):
        obs["interpretation"] = [f for f in flags if f]
    comments = [line for nte in notes for line in text_lines_of(nte, 3)]
    if any(comments):
        obs["note"] = [{"text": "\n".join(comments).strip()}]
    return obs


def text_lines_of(segment: Segment, n: int) -> list[str]:
    return [r.text() for r in segment.reps(n)]


def _value(build: Build, obx: Segment, lines: list[str], unit: dict) -> dict:
    kind = obx.get(2).upper()
    if kind in ("TX", "FT", "ST"):
        text = "\n".join(lines).strip("\n")
        return {"valueString": text} if text.strip() else {}
    reps = obx.reps(5)
    if not reps:
        return {}
    if not kind:
        build.warn(obx.loc(2), "OBX-2 value type is empty; OBX-5 kept as text", REQUIRED_FIELD)
        return {"valueString": "; ".join(r.text() for r in reps)}
    if len(reps) > 1 and kind not in _CODED:
        # OBX-5 repeats only for text and coded types; keep every value, claim no number.
        build.warn(obx.loc(5), f"OBX-5 of type {kind} repeats; kept as text", DATA_TYPE)
        return {"valueString": "; ".join(r.text() for r in reps)}
    value = reps[0]
    if kind == "NM":
        return _numeric(build, obx, value.text(), unit)
    if kind == "SN":
        try:
            return _structured_numeric(value, unit)
        except Hl7Error:
            text = value.text()
            build.warn(
                obx.loc(5), f"SN value {text!r} is not a structured number; kept as text", DATA_TYPE
            )
            return {"valueString": text}
    if kind in _CODED:
        concept = cwe_concept(value)
        return {"valueCodeableConcept": concept} if concept else {}
    if kind in ("DT", "DTM", "TS"):
        when = to_datetime(value.get(1), obx.loc(5), build.tz)
        return {"valueDateTime": when} if when else {"valueString": value.get(1)}
    return {"valueString": value.text()}


def _numeric(build: Build, obx: Segment, text: str, unit: dict) -> dict:
    """An NM value. Labs send '<5' or '>=10' (a bound, kept as a Quantity with its
    comparator) and words ('see note', 'hemolyzed'): those are kept as text with a
    warning, since dropping them would lose the result."""
    match = _NUMERIC.fullmatch(text)
    if match is None:
        build.warn(obx.loc(5), f"NM value {text!r} is not a number; kept as text", DATA_TYPE)
        return {"valueString": text}
    comparator, number = match[1], match[2]
    quantity = {"value": to_number(number, obx.loc(5)), **unit}
    if comparator and comparator != "=":
        build.warn(obx.loc(5), f"NM value {text!r} carries a comparator; kept as one", DATA_TYPE)
        quantity["comparator"] = comparator
    return {"valueQuantity": quantity}


def quantity_unit(ce: Composite) -> dict:
    """A units CE (OBX-6, RXA-7) -> the unit part of a Quantity; a UCUM code only when the
    CE says UCUM."""
    code, text, system = ce.get(1), ce.get(2), ce.get(3).upper()
    quantity: dict = {}
    if text or code:
        quantity["unit"] = text or code
    if code and system == "UCUM":
        quantity["system"] = _UCUM
        quantity["code"] = code
    return quantity


def _structured_numeric(sn: Composite, unit: dict) -> dict:
    """SN (2A.71): comparator ^ number ^ separator/suffix ^ number."""
    comparator, first, separator, second = (sn.get(i) for i in (1, 2, 3, 4))
    if not first:
        raise error(sn.loc_of(2), DATA_TYPE, "SN without a number")
    low = to_number(first, sn.loc_of(2))
    if separator and second:
        high = to_number(second, sn.loc_of(4))
        if separator in (":", "/"):
            return {"valueRatio": {"numerator": {"value": low}, "denominator": {"value": high}}}
        return {"valueRange": {"low": {"value": low, **unit}, "high": {"value": high, **unit}}}
    if separator:  # "2^+": a categorical result such as 2+
        return {"valueString": f"{comparator}{first}{separator}"}
    quantity = {"value": low, **unit}
    if comparator in _COMPARATORS:
        quantity["comparator"] = comparator
    elif comparator and comparator != "=":
        return {"valueString": f"{comparator}{first}"}
    return {"valueQuantity": quantity}


def _reference_range(text: str, unit: dict) -> dict:
    """OBX-7 as written, plus low/high when it is a plain interval or bound."""
    result: dict = {"text": text}
    interval = _RANGE.fullmatch(text)
    if interval:
        result["low"] = {"value": _number(interval[1]), **unit}
        result["high"] = {"value": _number(interval[2]), **unit}
        return result
    bound = _BOUND.fullmatch(text)
    if bound:
        result["high" if bound[1].startswith("<") else "low"] = {
            "value": _number(bound[2]),
            **unit,
        }
    return result


def _number(text: str) -> int | float:
    return float(text) if "." in text else int(text)


def _interpretation(cwe: Composite) -> dict | None:
    code, system = cwe.get(1), cwe.get(3).upper()
    if code.upper() in _FLAGS and system in ("", "HL70078"):
        return {"coding": [{"system": _INTERPRETATION, "code": code.upper()}]}
    return cwe_concept(cwe, "0078")


def attachment(obx: Segment, kind: str) -> list[dict]:
    """ED (2A.27) or RP (2A.65) value -> Attachment; nothing when it carries no content."""
    value = obx.rep(5)
    title = obx.rep(3).get(2) or obx.rep(3).get(1)
    mime = "/".join(p.lower() for p in (value.get(2), value.get(3)) if p)
    result: dict = {"title": title} if title else {}
    if "/" in mime:
        result["contentType"] = mime
    if kind == "RP":
        if ":" not in value.get(1):
            return []
        result["url"] = value.get(1)
        return [result]
    data = "".join(value.raw_part(5).split())
    encoding = value.get(4).upper()
    if not data:
        return []
    if encoding == "HEX":
        try:
            data = base64.b64encode(bytes.fromhex(data)).decode()
        except ValueError:
            unreadable(value.loc_of(5), "ED data is not hexadecimal")
            return []
    elif encoding == "BASE64":
        try:
            base64.b64decode(data, validate=True)
        except binascii.Error:
            unreadable(value.loc_of(5), "ED data is not valid base64")
            return []
    else:  # A (ASCII) or none: the text itself
        data = base64.b64encode(value.sub(5).text().encode()).decode()
    result.setdefault("contentType", "application/octet-stream")
    result["data"] = data
    return [result]
