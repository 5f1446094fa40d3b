"""Detectors for records that cannot be right: missing demographics and impossible data
(events after death, pregnancy codes on a male patient, a discharge before its admission).

These are registration and coding errors rather than late documentation; the rule files
send most of them to HIM (`quality/rules/integrity.toml`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from .chart import Chart, instant, period_start, recorded
from .checks import Check, Param, detector

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"

# When each kind of event happened, for the events-after-death check.
_EVENT_TIME = {
    "Encounter": lambda r: instant((r.get("period") or {}).get("start")),
    "Procedure": lambda r: period_start(r, "performed"),
    "Observation": lambda r: period_start(r, "effective"),
    "DiagnosticReport": lambda r: period_start(r, "effective"),
    "MedicationRequest": lambda r: instant(r.get("authoredOn")),
    "Condition": lambda r: period_start(r, "onset"),
}


def _has(patient: dict, element: str) -> bool:
    value = patient.get(element)
    if element == "name":
        return any(n.get("family") or n.get("given") or n.get("text") for n in value or [])
    if element == "address":
        keys = ("line", "city", "postalCode", "text")
        return any(any(a.get(k) for k in keys) for a in value or [])
    return bool(value)


@detector(
    "demographics_missing",
    "A Patient without one of the given elements (a name or address must have content).",
    elements=Param("texts", ["name", "birthDate", "gender", "address"]),
)
def demographics_missing(chart: Chart, p: dict, now: datetime) -> Iterator[Check]:
    patient = chart.patient
    if patient is None:
        return
    missing = [e for e in p["elements"] if not _has(patient, e)]
    yield Check(
        patient,
        bool(missing),
        opened=recorded(patient) or now,
        detail=f"missing {', '.join(missing)}" if missing else "",
    )


@detector(
    "events_after_death",
    "Events of the given types dated after the patient's deceasedDateTime (plus grace).",
    types=Param("texts", sorted(_EVENT_TIME)),
    grace_hours=Param("number", 0),
)
def events_after_death(chart: Chart, p: dict, now: datetime) -> Iterator[Check]:
    death = instant((chart.patient or {}).get("deceasedDateTime"))
    if death is None:
        return
    limit = death + timedelta(hours=p["grace_hours"])
    for rtype in p["types"]:
        when_of = _EVENT_TIME.get(rtype)
        for res in chart.of(rtype) if when_of else []:
            when = when_of(res)
            if when is None or res.get("status") == "entered-in-error":
                continue
            late = when > limit
            detail = f"dated {when:%Y-%m-%d %H:%M}, after death on {death:%Y-%m-%d}" if late else ""
            yield Check(
                res, late, chart.encounter_of(res), opened=recorded(res) or now, detail=detail
            )


def _in_ranges(code: str, ranges: list[str]) -> bool:
    """ICD-10-CM category ranges like "O00-O9A": compare the 3-character categories, which
    sort as the classification orders them (O99 < O9A)."""
    category = code.replace(".", "")[:3].upper()
    for spec in ranges:
        low, _, high = spec.partition("-")
        if low.upper() <= category <= (high or low).upper():
            return True
    return False


@detector(
    "code_for_wrong_sex",
    "Conditions coded in the given ICD-10-CM ranges on a patient whose gender is one of "
    "the given genders (pregnancy codes on a male patient).",
    ranges=Param("texts", ["O00-O9A", "Z33-Z3A"]),
    genders=Param("texts", ["male"]),
    systems=Param("texts", [ICD10CM]),
)
def code_for_wrong_sex(chart: Chart, p: dict, now: datetime) -> Iterator[Check]:
    if chart.patient is None:
        return
    wrong = chart.patient.get("gender") in p["genders"]
    for cond in chart.of("Condition"):
        hits = [
            c["code"]
            for c in (cond.get("code") or {}).get("coding", [])
            if c.get("system") in p["systems"]
            and c.get("code")
            and _in_ranges(c["code"], p["ranges"])
        ]
        if hits:
            detail = (
                f"{', '.join(hits)} on a {chart.patient.get('gender')} patient" if wrong else ""
            )
            opened = recorded(cond) or now
            yield Check(cond, wrong, chart.encounter_of(cond), opened=opened, detail=detail)


@detector(
    "discharge_before_admission",
    "An encounter whose period ends before it starts.",
)
def discharge_before_admission(chart: Chart, p: dict, now: datetime) -> Iterator[Check]:
    for enc in chart.of("Encounter"):
        period = enc.get("period") or {}
        start, end = instant(period.get("start")), instant(period.get("end"))
        if start is None or end is None:
            continue
        wrong = end < start
        detail = (
            f"ends {end:%Y-%m-%d %H:%M}, before it starts {start:%Y-%m-%d %H:%M}" if wrong else ""
        )
        yield Check(enc, wrong, enc["id"], opened=recorded(enc) or now, detail=detail)
