"""Detectors for the documents a record must contain, signed and on time.

Each is generic over its parameters (which note types, how many hours or days, which
encounter classes); the deadlines and the regulations they come from live in the rule files
(`quality/rules/documentation.toml`), not here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta

from .chart import Chart, category_codes, codes, instant, period_start, recorded
from .checks import Check, Param, detector

_DONE = {"cancelled", "entered-in-error", "planned"}  # encounters that never happened


def _written(doc: dict) -> datetime | None:
    return instant(doc.get("date")) or recorded(doc)


def _class(enc: dict) -> str:
    return (enc.get("class") or {}).get("code", "")


@detector(
    "note_unsigned_after",
    "A clinical document still unauthenticated (no authenticator, or docStatus "
    "preliminary) this many hours after it was written.",
    hours=Param("number", 24),
    types=Param("texts", [], "only these LOINC note types (empty: every type)"),
    exclude_types=Param("texts", [], "never these LOINC note types"),
)
def note_unsigned_after(chart: Chart, p: dict, now: datetime) -> Iterator[Check]:
    for doc in chart.of("DocumentReference"):
        kinds = codes(doc.get("type"))
        if doc.get("status") == "entered-in-error" or kinds & set(p["exclude_types"]):
            continue
        if p["types"] and not kinds & set(p["types"]):
            continue
        written = _written(doc)
        if written is None or written + timedelta(hours=p["hours"]) > now:
            continue  # not due yet
        unsigned = doc.get("docStatus") == "preliminary" or not doc.get("authenticator")
        name = doc.get("description") or "note"
        yield Check(
            doc,
            unsigned,
            chart.encounter_of(doc),
            opened=written + timedelta(hours=p["hours"]),
            detail=f"{name} written {written:%Y-%m-%d} is not signed",
        )


@detector(
    "document_missing_after_discharge",
    "An encounter of the given classes, finished, without a document of the given types "
    "within this many days of its end.",
    days=Param("number", 2),
    classes=Param("texts", ["IMP"]),
    note_types=Param("texts", ["18842-5"]),
)
def document_missing_after_discharge(chart: Chart, p: dict, now: datetime) -> Iterator[Check]:
    for enc in chart.of("Encounter"):
        end = instant((enc.get("period") or {}).get("end"))
        if _class(enc) not in p["classes"] or enc.get("status") != "finished" or end is None:
            continue
        due = end + timedelta(days=p["days"])
        docs = [w for w in map(_written, chart.documents(enc["id"], p["note_types"])) if w]
        yield from _deadline(enc, enc["id"], due, min(docs, default=None), now, "discharge")


@detector(
    "document_missing_after_admission",
    "A stay of the given classes without a document of the given types within this many "
    "hours of admission (or in the days_before before it).",
    hours=Param("number", 24),
    days_before=Param("number", 30),
    classes=Param("texts", ["IMP"]),
    note_types=Param("texts", ["34117-2"]),
)
def document_missing_after_admission(chart: Chart, p: dict, now: datetime) -> Iterator[Check]:
    for enc in chart.of("Encounter"):
        start = instant((enc.get("period") or {}).get("start"))
        if _class(enc) not in p["classes"] or enc.get("status") in _DONE or start is None:
            continue
        earliest = start - timedelta(days=p["days_before"])
        due = start + timedelta(hours=p["hours"])
        linked = [w for w in map(_written, chart.documents(enc["id"], p["note_types"])) if w]
        before = [  # written for an earlier visit in the window before admission
            w
            for d in chart.of("DocumentReference")
            if codes(d.get("type")) & set(p["note_types"])
            and (w := _written(d))
            and earliest <= w <= start
        ]
        written = min([w for w in [*linked, *before] if w >= earliest], default=None)
        yield from _deadline(enc, enc["id"], due, written, now, "admission")


def _deadline(
    item: dict, encounter_id: str, due: datetime, written: datetime | None, now: datetime, what
) -> Iterator[Check]:
    """The check for a document due by `due`: on time, late (already closed), or missing."""
    if written is not None and written <= due:
        yield Check(item, False, encounter_id)
    elif written is not None:
        late = (written - due).days
        detail = f"written {late} day(s) after its deadline ({due:%Y-%m-%d}, after {what})"
        yield Check(item, True, encounter_id, opened=due, resolved=written, detail=detail)
    elif due <= now:
        yield Check(item, True, encounter_id, opened=due, detail=f"missing; due {due:%Y-%m-%d}")


@detector(
    "procedure_note_missing",
    "A completed procedure with one of the given codes and no note of the given types in "
    "its encounter within this many hours of its end (one note per procedure).",
    codes=Param("texts", []),
    note_types=Param("texts", ["11504-8", "28570-0"]),
    hours=Param("number", 24),
)
def procedure_note_missing(chart: Chart, p: dict, now: datetime) -> Iterator[Check]:
    wanted = set(p["codes"])
    procedures = [
        proc
        for proc in chart.of("Procedure")
        if proc.get("status") == "completed" and codes(proc.get("code")) & wanted
    ]
    used: set[str] = set()
    for proc in sorted(procedures, key=lambda r: period_start(r, "performed") or now):
        start = period_start(proc, "performed")
        if start is None:
            continue
        end = instant((proc.get("performedPeriod") or {}).get("end")) or start
        enc_id = chart.encounter_of(proc)
        surgeon = chart.responsible("performer", proc, enc_id)
        notes = [
            d
            for d in (chart.documents(enc_id, p["note_types"]) if enc_id else [])
            if d["id"] not in used and (_written(d) or start) >= start - timedelta(hours=1)
        ]
        notes.sort(key=lambda d: chart.responsible("author", d, enc_id) != surgeon)
        note = notes[0] if notes else None
        if note is not None:
            used.add(note["id"])
        due = end + timedelta(hours=p["hours"])
        name = (proc.get("code") or {}).get("text") or "procedure"
        for check in _deadline(proc, enc_id, due, note and _written(note), now, "the procedure"):
            yield replace(check, detail=f"{name}: note {check.detail}")


@detector(
    "result_without_orderer",
    "A result (DiagnosticReport, or an Observation outside any report) in these categories "
    "naming none of the given elements (who ordered or is accountable for it).",
    categories=Param("texts", ["laboratory", "LAB"]),
    elements=Param("texts", ["performer", "resultsInterpreter", "basedOn", "requester"]),
)
def result_without_orderer(chart: Chart, p: dict, now: datetime) -> Iterator[Check]:
    wanted = set(p["categories"])
    in_report: set[str] = set()
    for report in chart.of("DiagnosticReport"):
        in_report |= {r.get("reference", "") for r in report.get("result", [])}
        if category_codes(report) & wanted:
            yield _orderer_check(chart, report, p["elements"])
    for obs in chart.of("Observation"):
        if category_codes(obs) & wanted and f"Observation/{obs['id']}" not in in_report:
            yield _orderer_check(chart, obs, p["elements"])


def _orderer_check(chart: Chart, res: dict, elements: list[str]) -> Check:
    missing = not any(res.get(e) for e in elements)
    when = instant(res.get("issued")) or period_start(res, "effective") or recorded(res)
    detail = f"names no orderer ({', '.join(elements)})" if missing else ""
    return Check(res, missing, chart.encounter_of(res), opened=when, detail=detail)


@detector(
    "encounter_without_diagnosis",
    "An encounter in the given statuses (finished: closed) with no diagnosis: neither "
    "Encounter.diagnosis nor a Condition of category encounter-diagnosis for it.",
    statuses=Param("texts", ["finished"]),
    classes=Param("texts", [], "only these classes (empty: every class)"),
    hours=Param("number", 0, "grace after the encounter's end"),
)
def encounter_without_diagnosis(chart: Chart, p: dict, now: datetime) -> Iterator[Check]:
    diagnosed = {
        chart.encounter_of(c)
        for c in chart.of("Condition")
        if "encounter-diagnosis" in category_codes(c)
    }
    for enc in chart.of("Encounter"):
        if enc.get("status") not in p["statuses"] or (
            p["classes"] and _class(enc) not in p["classes"]
        ):
            continue
        end = instant((enc.get("period") or {}).get("end")) or recorded(enc) or now
        due = end + timedelta(hours=p["hours"])
        if due > now:
            continue
        missing = not enc.get("diagnosis") and enc["id"] not in diagnosed
        yield Check(
            enc,
            missing,
            enc["id"],
            opened=due,
            detail="closed without a diagnosis" if missing else "",
        )
