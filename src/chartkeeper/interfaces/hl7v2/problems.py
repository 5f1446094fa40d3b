"""PPR^PC1/PC2/PC3 (HL7 v2 chapter 12, patient care: problem add, update, delete) to
Condition on the problem list.

This module owns the problem list a care system sends. Each PRB segment is one problem,
identified by PRB-4 (problem instance id) so an update or delete finds it, else by the
patient and PRB-3 (the problem code). Mapped: PRB-3 code, PRB-7 established date/time
(recordedDate), PRB-9 actual resolution date/time (abatement), PRB-13 confirmation status
(verificationStatus), PRB-14 life cycle status (clinicalStatus), PRB-16 onset date (else
PRB-17 onset text), the NTEs that follow as notes. PC3 marks the problem
entered-in-error, which per con-5 leaves no clinical status.
"""

from __future__ import annotations

from chartkeeper.interfaces.hl7v2.build import Build, overlay
from chartkeeper.interfaces.hl7v2.coded import cwe_concept
from chartkeeper.interfaces.hl7v2.datatypes import ei_identifier, resource_id, to_datetime
from chartkeeper.interfaces.hl7v2.errors import REQUIRED_FIELD, SEGMENT_SEQUENCE, TABLE_VALUE, error
from chartkeeper.interfaces.hl7v2.observations import text_lines_of
from chartkeeper.interfaces.hl7v2.parser import Segment
from chartkeeper.interfaces.hl7v2.patient import put_encounter, put_patient

EVENTS = frozenset({"PC1", "PC2", "PC3"})
_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
# PRB-13 confirmation status (table 0315 in some versions, user-defined in others): the
# codes senders use, by initial and by word.
_CONFIRMATION = {
    "C": "confirmed",
    "CONFIRMED": "confirmed",
    "P": "provisional",
    "PROVISIONAL": "provisional",
    "D": "differential",
    "DIFFERENTIAL": "differential",
    "R": "refuted",
    "RULED OUT": "refuted",
    "U": "unconfirmed",
}
# PRB-14 life cycle status (user-defined table): the same.
_LIFE_CYCLE = {
    "A": "active",
    "ACTIVE": "active",
    "I": "inactive",
    "INACTIVE": "inactive",
    "R": "resolved",
    "RESOLVED": "resolved",
    "RE": "recurrence",
    "REMISSION": "remission",
}


def handle_ppr(build: Build) -> None:
    patient_id = put_patient(build, build.require("PID"))
    pv1 = build.message.first("PV1")
    encounter = put_encounter(build, pv1, patient_id, status=None, required=False) if pv1 else None
    problems = build.message.all("PRB")
    if not problems:
        build.require("PRB")
    for prb in problems:
        notes = _notes(build, prb)
        _put_problem(build, prb, notes, patient_id, encounter)


def _notes(build: Build, prb: Segment) -> list[str]:
    lines: list[str] = []
    segments = build.message.segments
    for seg in segments[segments.index(prb) + 1 :]:
        if seg.name == "NTE":
            lines.extend(text_lines_of(seg, 3))
        elif seg.name in ("PRB", "PID"):
            break
    return lines


def _put_problem(
    build: Build, prb: Segment, notes: list[str], patient_id: str, encounter: str | None
) -> None:
    deleting = build.message.event == "PC3"
    code = cwe_concept(prb.rep(3))
    if code is None:
        raise error(prb.loc(3), REQUIRED_FIELD, "PRB-3 problem id (the problem's code) is required")
    if prb.get(4):
        ident = ei_identifier(prb.rep(4), build.sender_system)
        condition_id = resource_id("Condition", "PRB-4", ident.get("system", ""), ident["value"])
    else:
        ident = None
        coding = (code.get("coding") or [{}])[0]
        key = (patient_id, coding.get("system", ""), coding.get("code", code.get("text", "")))
        condition_id = resource_id("Condition", "problem", *key)
    if deleting and not build.is_known("Condition", condition_id):
        raise error(prb.loc(4), SEGMENT_SEQUENCE, "PC3 deletes a problem that is not on file")
    condition: dict = {
        "resourceType": "Condition",
        "id": condition_id,
        "category": [{"coding": [{"system": _CATEGORY, "code": "problem-list-item"}]}],
        "code": code,
        "subject": {"reference": f"Patient/{patient_id}"},
    }
    if ident:
        condition["identifier"] = [ident]
    if encounter:
        condition["encounter"] = {"reference": encounter}
    _statuses(build, prb, condition, deleting)
    for key, n in (("recordedDate", 7),):
        value = to_datetime(prb.get(n), prb.loc(n), build.tz)
        if value:
            condition[key] = value
    onset = to_datetime(prb.get(16), prb.loc(16), build.tz)
    if onset:
        condition["onsetDateTime"] = onset
    elif prb.get(17):
        condition["onsetString"] = prb.rep(17).text()
    resolved = to_datetime(prb.get(9), prb.loc(9), build.tz)
    if resolved:
        condition["abatementDateTime"] = resolved
    if any(line.strip() for line in notes):
        condition["note"] = [{"text": "\n".join(notes).strip()}]
    build.put(condition, prb.loc(), merge=_merge_problem)


def _statuses(build: Build, prb: Segment, condition: dict, deleting: bool) -> None:
    if deleting:
        condition["verificationStatus"] = _concept(_VERIFICATION, "entered-in-error")
        return
    confirmation = prb.get(13).upper()
    if confirmation:
        if confirmation in _CONFIRMATION:
            condition["verificationStatus"] = _concept(_VERIFICATION, _CONFIRMATION[confirmation])
        else:
            build.warn(prb.loc(13), f"{confirmation!r}: unknown confirmation status", TABLE_VALUE)
    life = prb.get(14).upper()
    if life in _LIFE_CYCLE:
        condition["clinicalStatus"] = _concept(_CLINICAL, _LIFE_CYCLE[life])
    elif life:
        build.warn(prb.loc(14), f"{life!r}: unknown life cycle status", TABLE_VALUE)
    if "clinicalStatus" not in condition:
        # con-3: a problem-list item has a clinical status; resolved once PRB-9 says so.
        condition["clinicalStatus"] = _concept(_CLINICAL, "resolved" if prb.get(9) else "active")


def _merge_problem(old: dict | None, new: dict) -> dict:
    merged = overlay(old, new)
    if (
        merged.get("verificationStatus", {}).get("coding", [{}])[0].get("code")
        == "entered-in-error"
    ):
        merged.pop("clinicalStatus", None)  # con-5
    return merged


def _concept(system: str, code: str) -> dict:
    return {"coding": [{"system": system, "code": code}]}
