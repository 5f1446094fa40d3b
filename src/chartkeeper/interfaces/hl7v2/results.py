"""ORU^R01 (HL7 v2 chapter 7, observation reporting) to DiagnosticReport and Observations.

This module owns results: each OBR becomes a DiagnosticReport (id from the filler order
number, else the placer's, so a corrected result updates the same report) and its OBX
segments Observations. Narrative results are kept whole: consecutive text OBX lines (OBX-2
TX, FT or ST) with the same OBX-3 and OBX-4 are one observation, the lines joined with line
breaks, and all of a report's TX/FT text is also its `presentedForm` (text/plain), so a
pathology report reads as it was written rather than as thirty observations. ED and RP
values become attachments of the report. Values follow the v2-to-FHIR OBX[Observation]
map: NM and SN to Quantity (UCUM when OBX-6 names it), Range or Ratio; CWE to
CodeableConcept; OBX-7 to referenceRange; OBX-8 (table 0078) to interpretation; OBX-11
(table 0085) to status.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from chartkeeper.interfaces.hl7v2.build import Build
from chartkeeper.interfaces.hl7v2.coded import cwe_concept
from chartkeeper.interfaces.hl7v2.datatypes import (
    V2,
    ei_identifier,
    resource_id,
    to_datetime,
    to_instant,
)
from chartkeeper.interfaces.hl7v2.errors import REQUIRED_FIELD, SEGMENT_SEQUENCE, error
from chartkeeper.interfaces.hl7v2.observations import (
    absent_code,
    attachment,
    observation,
    text_lines,
)
from chartkeeper.interfaces.hl7v2.parser import Segment
from chartkeeper.interfaces.hl7v2.patient import put_encounter, put_patient

TEXT_TYPES = frozenset({"TX", "FT", "ST"})
# Table 0123 result status -> DiagnosticReport.status (v2-to-FHIR ResultStatus map).
_REPORT_STATUS = {
    "O": "registered",
    "I": "registered",
    "S": "registered",
    "A": "partial",
    "P": "preliminary",
    "C": "corrected",
    "R": "partial",
    "F": "final",
    "X": "cancelled",
}
EVENTS = frozenset({"R01"})


@dataclass
class _Order:
    obr: Segment
    orc: Segment | None
    patient_id: str
    encounter: str | None
    obx: list[tuple[Segment, list[Segment]]] = field(default_factory=list)  # OBX, its NTEs


def handle_oru(build: Build) -> None:
    orders = _orders(build)
    for order in orders:
        _report(build, order)


def _orders(build: Build) -> list[_Order]:
    """Walk ORU_R01's groups: PATIENT (PID, PV1), ORDER_OBSERVATION (ORC, OBR), OBSERVATION
    (OBX, NTE). Segments we do not map are passed over, as receivers do (2.10.2)."""
    orders: list[_Order] = []
    patient_id = encounter = None
    orc = current = None
    in_specimen = False
    for seg in build.message.segments[1:]:
        if seg.name == "PID":
            patient_id, encounter, current = put_patient(build, seg), None, None
        elif seg.name == "PV1" and patient_id and current is None:
            encounter = put_encounter(build, seg, patient_id, status=None, required=False)
        elif seg.name == "ORC":
            orc = seg
        elif seg.name == "OBR":
            if patient_id is None:
                raise error(seg.loc(), SEGMENT_SEQUENCE, "OBR before any PID: whose result?")
            current = _Order(seg, orc, patient_id, encounter)
            orders.append(current)
            orc, in_specimen = None, False
        elif seg.name == "SPM":
            in_specimen = True
        elif seg.name == "OBX":
            if current is None or in_specimen:
                where = "outside an OBR group" if current is None else "of a specimen (SPM)"
                build.warn(seg.loc(), f"OBX {where} is not mapped")
            else:
                current.obx.append((seg, []))
        elif seg.name == "NTE" and current is not None and current.obx and not in_specimen:
            current.obx[-1][1].append(seg)
    if patient_id is None:
        build.require("PID")
    if not orders:
        build.require("OBR")
    return orders


def _report_key(build: Build, order: _Order) -> tuple[str, list[dict]]:
    """Report id from the filler order number (OBR-3), else placer (OBR-2), else ORC."""
    obr, orc = order.obr, order.orc
    numbers = [
        ("FILL", obr.rep(3)),
        ("PLAC", obr.rep(2)),
        ("FILL", orc.rep(3) if orc else obr.rep(3)),
        ("PLAC", orc.rep(2) if orc else obr.rep(2)),
    ]
    found = [(kind, ei) for kind, ei in numbers if ei.get(1)]
    if not found:
        # No order number: the report is known by the message that carried it, so a re-sent
        # message updates it and a correction under another order number cannot find it.
        build.warn(
            obr.loc(3),
            "no OBR-3 filler or OBR-2 placer order number: the report is identified by this "
            "message's control id, and later corrections cannot be matched to it",
            REQUIRED_FIELD,
        )
        app, facility = build.message.sender
        key = resource_id(
            "DiagnosticReport", app, facility, build.message.control_id, str(obr.sequence)
        )
        return key, []
    identifiers: list[dict] = []
    for kind, ei in found:
        ident = ei_identifier(ei, build.sender_system, kind)
        if ident not in identifiers:
            identifiers.append(ident)
    main = identifiers[0]
    key = resource_id("DiagnosticReport", found[0][0], main.get("system", ""), main["value"])
    return key, identifiers


def _blocks(order: _Order) -> list[tuple[Segment, list[Segment], list[str]]]:
    """OBX lines grouped into results: (first OBX, NTEs, text lines for text results)."""
    blocks: list[tuple[Segment, list[Segment], list[str]]] = []
    last_key = None
    for obx, notes in order.obx:
        kind = obx.get(2).upper()
        key = (obx.raw(3), obx.raw(4)) if kind in TEXT_TYPES else None
        if key is not None and key == last_key:
            blocks[-1][1].extend(notes)
            blocks[-1][2].extend(text_lines(obx))
        else:
            blocks.append((obx, list(notes), text_lines(obx) if key else []))
        last_key = key
    return blocks


def _report(build: Build, order: _Order) -> None:
    obr = order.obr
    report_id, identifiers = _report_key(build, order)
    code = cwe_concept(obr.rep(4))
    if code is None:
        build.warn(
            obr.loc(4),
            "OBR-4 universal service identifier is empty; code 'unknown'",
            REQUIRED_FIELD,
        )
        code = absent_code("OBR-4")
    effective = to_datetime(obr.get(7), obr.loc(7), build.tz)
    results, texts, attachments = [], [], []
    occurrences: dict[tuple[str, str], int] = {}
    for obx, notes, lines in _blocks(order):
        kind = obx.get(2).upper()
        if kind in ("ED", "RP"):
            attachments.extend(attachment(obx, kind))
            continue
        key = (obx.raw(3), obx.get(4))
        occurrences[key] = occurrences.get(key, 0) + 1
        obs_id = resource_id("Observation", report_id, *key, str(occurrences[key]))
        obs = observation(build, obx, notes, lines, obs_id, order.patient_id, effective)
        if order.encounter:
            obs["encounter"] = {"reference": order.encounter}
        results.append({"reference": build.put(obs, obx.loc())})
        if kind in ("TX", "FT") and "valueString" in obs:
            texts.append(obs["valueString"])
    report = _report_resource(build, order, report_id, identifiers, code, effective)
    if results:
        report["result"] = results
    if texts:
        attachments.insert(0, _text_attachment("\n\n".join(texts), code))
    if attachments:
        report["presentedForm"] = attachments
    build.put(report, obr.loc())


def _report_resource(
    build: Build, order: _Order, report_id: str, identifiers: list, code: dict, effective
) -> dict:
    obr = order.obr
    status = obr.get(25).upper()
    report: dict = {
        "resourceType": "DiagnosticReport",
        "id": report_id,
        "status": _REPORT_STATUS.get(status, "unknown"),
        "code": code,
        "subject": {"reference": f"Patient/{order.patient_id}"},
    }
    if identifiers:
        report["identifier"] = identifiers
    if order.encounter:
        report["encounter"] = {"reference": order.encounter}
    section = obr.get(24)
    if section:
        report["category"] = [{"coding": [{"system": f"{V2}0074", "code": section}]}]
    end = to_datetime(obr.get(8), obr.loc(8), build.tz)
    if effective and end:
        report["effectivePeriod"] = {"start": effective, "end": end}
    elif effective:
        report["effectiveDateTime"] = effective
    issued = to_instant(obr.get(22), obr.loc(22), build.tz)
    if issued:
        report["issued"] = issued
    return report


def _text_attachment(text: str, code: dict) -> dict:
    attachment = {
        "contentType": "text/plain; charset=utf-8",
        "data": base64.b64encode(text.encode()).decode(),
    }
    title = code.get("text") or next((c.get("display") for c in code.get("coding", [])), None)
    if title:
        attachment["title"] = title
    return attachment
