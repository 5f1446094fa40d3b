"""ORM^O01 (HL7 v2 chapter 4, order entry) to ServiceRequest.

This module owns orders: each ORDER group (ORC, then its OBR detail, 4.4.1) becomes one
ServiceRequest, following the v2-to-FHIR ORC[ServiceRequest] and OBR[ServiceRequest] maps.
The id derives from the placer order number (ORC-2, else OBR-2), the number the ordering
system gives the order before any filler has seen it, else from the filler's (ORC-3, else
OBR-3), so a status change about the same order updates the same request. Mapped: ORC-2/3
and OBR-2/3 identifiers (PLAC, FILL), ORC-4 requisition (PGN), ORC-5 order status (table
0038, else ORC-1 order control, table 0119) to status, ORC-9 authoredOn (new orders),
ORC-12 requester (else OBR-16), ORC-29 order type (table 0482) to locationCode, OBR-4
code, OBR-6 or TQ1-7 occurrence, OBR-11 specimen action code G to intent reflex-order,
priority from TQ1-9 (table 0485), ORC-7.6/OBR-27.6 or OBR-5 (table 0027), OBR-31 and the
group's DG1-3 reasons, its NTEs as notes and its OBX as supporting Observations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chartkeeper.interfaces.hl7v2.build import Build, overlay
from chartkeeper.interfaces.hl7v2.coded import cwe_concept
from chartkeeper.interfaces.hl7v2.datatypes import (
    ei_identifier,
    resource_id,
    to_datetime,
    xcn_reference,
)
from chartkeeper.interfaces.hl7v2.errors import REQUIRED_FIELD, SEGMENT_SEQUENCE, error
from chartkeeper.interfaces.hl7v2.observations import observation, text_lines, text_lines_of
from chartkeeper.interfaces.hl7v2.parser import Composite, Segment
from chartkeeper.interfaces.hl7v2.patient import put_encounter, put_patient

EVENTS = frozenset({"O01"})
# Table 0038 order status -> request-status (v2-to-FHIR OrderStatus map). A, "some but not
# all results available", is not in the guide's map: the order is still being worked on.
_ORDER_STATUS = {
    "A": "active",
    "CA": "revoked",
    "CM": "completed",
    "DC": "revoked",
    "ER": "entered-in-error",
    "HD": "on-hold",
    "IP": "active",
    "RP": "revoked",
    "SC": "active",
}
# Table 0119 order control -> request-status when ORC-5 is empty (v2-to-FHIR
# OrderControlCode[ServiceRequest.status]); the codes it leaves unmapped say nothing.
_CONTROL_STATUS = {
    **dict.fromkeys(["AF", "CA", "HD", "NW", "OK", "PR", "PY", "RL", "RO", "RQ"], "active"),
    **dict.fromkeys(["CR", "DC", "DF", "DR", "OC", "OD"], "revoked"),
    **dict.fromkeys(["HR", "OH"], "on-hold"),
    "FU": "completed",
}
# Tables 0027 (TQ-6, OBR-5) and 0485 (TQ1-9) -> request-priority (v2-to-FHIR HL70485 map).
# P (pre-op), C (callback), T (timing critical) and PRN have no FHIR equivalent.
_PRIORITY = {"S": "stat", "A": "asap", "R": "routine"}
# ORDER_DETAIL choices (4.4.1); only OBR is a service order, the others are supply,
# pharmacy and dietary orders.
_DETAILS = frozenset({"OBR", "RQD", "RQ1", "RXO", "ODS", "ODT"})


@dataclass
class _Order:
    orc: Segment
    detail: Segment | None = None
    tq1: Segment | None = None
    notes: list[Segment] = field(default_factory=list)
    diagnoses: list[Segment] = field(default_factory=list)
    obx: list[tuple[Segment, list[Segment]]] = field(default_factory=list)  # OBX, its NTEs


def order_numbers(build: Build, placer: list[Composite], filler: list[Composite]) -> list[dict]:
    """The placer (PLAC) and filler (FILL) order numbers as Identifiers: the first EI of
    each list that is valued, placer first."""
    found = []
    for kind, candidates in (("PLAC", placer), ("FILL", filler)):
        ei = next((c for c in candidates if c.get(1)), None)
        if ei is not None:
            found.append(ei_identifier(ei, build.sender_system, kind))
    return found


def order_key(resource_type: str, identifier: dict) -> str:
    kind = identifier["type"]["coding"][0]["code"]
    return resource_id(resource_type, kind, identifier.get("system", ""), identifier["value"])


def handle_orm(build: Build) -> None:
    # ORM_O01's PATIENT group is optional, but a ServiceRequest needs its subject.
    pid = build.require("PID")
    patient_id = put_patient(build, pid)
    first_orc = build.require("ORC")
    pv1 = build.message.first("PV1")
    encounter = None
    if pv1 is not None and pv1.line < first_orc.line:
        encounter = put_encounter(build, pv1, patient_id, status=None, required=False)
    for order in _orders(build):
        if order.detail is not None and order.detail.name != "OBR":
            what = f"{order.detail.name} (not a service order)"
            build.warn(order.detail.loc(), f"an order detailed by {what} is not mapped")
            continue
        _request(build, order, patient_id, encounter)


def _orders(build: Build) -> list[_Order]:
    """Walk ORM_O01's ORDER groups: ORC, then ORDER_DETAIL (OBR, NTE, DG1, OBSERVATION).
    Segments we do not map (CTD, FT1, CTI, BLG...) are passed over (2.10.2)."""
    orders: list[_Order] = []
    current: _Order | None = None
    for seg in build.message.segments[1:]:
        if seg.name == "ORC":
            current = _Order(seg)
            orders.append(current)
        elif current is None:
            if seg.name in _DETAILS:
                raise error(seg.loc(), SEGMENT_SEQUENCE, f"{seg.name} without the ORC it details")
        elif seg.name in _DETAILS and current.detail is None:
            current.detail = seg
        elif seg.name == "TQ1" and current.tq1 is None:
            current.tq1 = seg
        elif seg.name == "NTE" and current.detail is not None:
            (current.obx[-1][1] if current.obx else current.notes).append(seg)
        elif seg.name == "DG1" and current.detail is not None:
            current.diagnoses.append(seg)
        elif seg.name == "OBX" and current.detail is not None:
            current.obx.append((seg, []))
    return orders


def _merge_request(old: dict | None, new: dict) -> dict:
    merged = overlay(old, new)
    # An order control that says nothing of the state (RE, SC without ORC-5) keeps it.
    merged.setdefault("status", "unknown")
    return merged


def _request(build: Build, order: _Order, patient_id: str, encounter: str | None) -> None:
    orc, obr = order.orc, order.detail
    identifiers = order_numbers(
        build,
        [orc.rep(2), *([obr.rep(2)] if obr else [])],
        [orc.rep(3), *([obr.rep(3)] if obr else [])],
    )
    if not identifiers:
        raise error(
            orc.loc(2),
            REQUIRED_FIELD,
            "ORC-2 placer or ORC-3 filler order number is needed to identify the order",
        )
    request_id = order_key("ServiceRequest", identifiers[0])
    request: dict = {
        "resourceType": "ServiceRequest",
        "id": request_id,
        "identifier": identifiers,
        "intent": "reflex-order" if obr and obr.get(11).upper() == "G" else "order",
        "subject": {"reference": f"Patient/{patient_id}"},
    }
    status = _status(build, orc)
    if status:
        request["status"] = status
    if encounter:
        request["encounter"] = {"reference": encounter}
    if orc.get(4):
        request["requisition"] = ei_identifier(orc.rep(4), build.sender_system, "PGN")
    if orc.get(9) and orc.get(1).upper() == "NW":
        request["authoredOn"] = to_datetime(orc.get(9), orc.loc(9), build.tz)
    requester = xcn_reference(orc.rep(12)) or (xcn_reference(obr.rep(16)) if obr else None)
    if requester:
        request["requester"] = requester
    location = cwe_concept(orc.rep(29), "0482")
    if location:
        request["locationCode"] = [location]
    if obr is not None:
        _detail(build, order, request, patient_id, encounter)
    build.put(request, obr.loc() if obr else orc.loc(), merge=_merge_request)


def _status(build: Build, orc: Segment) -> str | None:
    order_status = orc.get(5).upper()
    if order_status in _ORDER_STATUS:
        return _ORDER_STATUS[order_status]
    if order_status:
        build.warn(orc.loc(5), f"{order_status!r} is not in table 0038; ORC-1 decides the status")
    return _CONTROL_STATUS.get(orc.get(1).upper())


def _detail(
    build: Build, order: _Order, request: dict, patient_id: str, encounter: str | None
) -> None:
    obr = order.detail
    assert obr is not None
    code = cwe_concept(obr.rep(4))
    if code is None:
        raise error(obr.loc(4), REQUIRED_FIELD, "OBR-4 universal service identifier is required")
    request["code"] = code
    tq1 = order.tq1
    occurrence = to_datetime(obr.get(6), obr.loc(6), build.tz)
    if not occurrence and tq1 is not None:
        occurrence = to_datetime(tq1.get(7), tq1.loc(7), build.tz)
    if occurrence:
        request["occurrenceDateTime"] = occurrence
    priority = _priority(order)
    if priority:
        request["priority"] = priority
    # DG1 in the order detail: the guide makes a Condition for reasonReference; the
    # diagnosis code is kept as a reason here, since Conditions are not maintained from v2.
    reasons = [cwe_concept(r) for r in obr.reps(31)] + [
        cwe_concept(d.rep(3)) for d in order.diagnoses
    ]
    if any(reasons):
        request["reasonCode"] = [r for r in reasons if r]
    notes = "\n".join(line for nte in order.notes for line in text_lines_of(nte, 3)).strip()
    if notes:
        request["note"] = [{"text": notes}]
    supporting = []
    for n, (obx, obx_notes) in enumerate(order.obx, start=1):
        obs_id = resource_id("Observation", f"ServiceRequest/{request['id']}", obx.raw(3), str(n))
        lines = text_lines(obx)
        obs = observation(build, obx, obx_notes, lines, obs_id, patient_id, None)
        if encounter:
            obs["encounter"] = {"reference": encounter}
        supporting.append({"reference": build.put(obs, obx.loc())})
    if supporting:
        request["supportingInfo"] = supporting


def _priority(order: _Order) -> str | None:
    orc, obr, tq1 = order.orc, order.detail, order.tq1
    candidates = [
        tq1.get(9) if tq1 is not None else "",
        orc.get(7, 6),
        obr.get(27, 6) if obr is not None else "",
        obr.get(5) if obr is not None else "",
    ]
    code = next((c.upper() for c in candidates if c), "")
    return _PRIORITY.get(code)
