"""VXU^V04 (HL7 v2 chapter 4A, pharmacy/treatment administration; vaccination record
update) to Immunization.

This module owns vaccinations: each ORDER group (ORC, RXA, RXR, OBSERVATION, 4A.3.10)
becomes one Immunization, per the v2-to-FHIR ORC[Immunization], RXA[Immunization] and
RXR[Immunization] maps. The id derives from the filler order number (ORC-3), which in
immunization messaging is the sending system's id of the dose, else the placer's (ORC-2),
else from the patient, administration time and vaccine, so a re-sent or corrected dose
updates one resource. Mapped: ORC-2/3 identifiers, ORC-9 recorded, ORC-12 ordering
provider (performer OP, table 0443), RXA-3 occurrence, RXA-5 vaccine (CVX when no system is
named), RXA-6/7 dose, RXA-9 new record or historical (primarySource, NIP001), RXA-10
administering provider (performer AP), RXA-11/27 location, RXA-15 lot, RXA-16 expiry,
RXA-17 manufacturer (MVX), RXA-18 refusal reason, RXA-19 indication, RXA-20 completion
status (table 0322) and RXA-21 action code D to status, RXR-1 route (table 0162) and RXR-2
site (table 0163). The order's OBX that are Immunization elements in the CDC immunization
messaging guide (funding source, program eligibility, VIS document and dates) fill them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chartkeeper.interfaces.hl7v2.build import Build
from chartkeeper.interfaces.hl7v2.coded import code_system, cwe_concept
from chartkeeper.interfaces.hl7v2.datatypes import (
    V2,
    pl_display,
    resource_id,
    to_date,
    to_datetime,
    to_number,
    xcn_reference,
)
from chartkeeper.interfaces.hl7v2.errors import (
    REQUIRED_FIELD,
    SEGMENT_SEQUENCE,
    TABLE_VALUE,
    error,
)
from chartkeeper.interfaces.hl7v2.observations import quantity_unit
from chartkeeper.interfaces.hl7v2.orders import order_key, order_numbers
from chartkeeper.interfaces.hl7v2.parser import Composite, Segment
from chartkeeper.interfaces.hl7v2.patient import put_encounter, put_patient

EVENTS = frozenset({"V04"})
_CVX = "http://hl7.org/fhir/sid/cvx"
_V3_ROUTE = "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration"
# Table 0322 completion status -> event-status (v2-to-FHIR CompletionStatus map).
_COMPLETION = {"CP": "completed", "PA": "completed", "RE": "not-done", "NA": "not-done"}
# Table 0162 routes the v2-to-FHIR RouteOfAdministration map sends to v3 codes; the other
# table 0162 codes stay in v2-0162.
_ROUTE_V3 = {"ID": "IDINJ", "IM": "IM", "IV": "IVINJ", "PO": "PO", "SC": "SQ", "TD": "TRNSDERM"}
# LOINC codes of order-level OBX that are Immunization elements (CDC HL7 2.5.1 Implementation
# Guide for Immunization Messaging, release 1.5, 6.3): funding, eligibility, VIS.
_FUNDING, _ELIGIBILITY = "30963-3", "64994-7"
_VIS_DOCUMENT, _VIS_VACCINE = "69764-9", "30956-7"
_VIS_PUBLISHED, _VIS_PRESENTED = "29768-9", "29769-7"
_UNKNOWN_AMOUNT = "999"  # RXA-6 for a historical dose whose amount is not known (CDC IG)


@dataclass
class _Dose:
    orc: Segment | None
    rxa: Segment | None = None
    rxr: Segment | None = None
    obx: list[Segment] = field(default_factory=list)


def handle_vxu(build: Build) -> None:
    patient_id = put_patient(build, build.require("PID"))
    doses = _doses(build)
    pv1 = build.message.first("PV1")
    encounter = None
    if pv1 is not None:
        encounter = put_encounter(build, pv1, patient_id, status=None, required=False)
    for dose in doses:
        _immunization(build, dose, patient_id, encounter)


def _doses(build: Build) -> list[_Dose]:
    """Walk VXU_V04's ORDER groups: [ORC] RXA [RXR] {OBX}. ORC became required only in
    v2.6, so an RXA without one starts its own group. OBX before any RXA are about the
    person (PERSON_OBSERVATION) and are not mapped here."""
    doses: list[_Dose] = []
    current: _Dose | None = None
    for seg in build.message.segments[1:]:
        if seg.name == "ORC":
            current = _Dose(seg)
            doses.append(current)
        elif seg.name == "RXA":
            if current is None or current.rxa is not None:
                current = _Dose(None)
                doses.append(current)
            current.rxa = seg
        elif current is not None and current.rxa is not None:
            if seg.name == "RXR" and current.rxr is None:
                current.rxr = seg
            elif seg.name == "OBX":
                current.obx.append(seg)
    if not doses:
        build.require("RXA")
    for dose in doses:
        if dose.rxa is None and dose.orc is not None:
            raise error(dose.orc.loc(), SEGMENT_SEQUENCE, "ORC without the RXA it orders")
    return doses


def _immunization(build: Build, dose: _Dose, patient_id: str, encounter: str | None) -> None:
    rxa = dose.rxa
    assert rxa is not None
    vaccine = _vaccine(rxa)
    given = build.require_value(rxa, 3, "date/time start of administration")
    occurrence = to_datetime(given, rxa.loc(3), build.tz)
    orc = dose.orc
    identifiers = order_numbers(build, [orc.rep(2)] if orc else [], [orc.rep(3)] if orc else [])
    if identifiers:
        key = next((i for i in identifiers if i["type"]["coding"][0]["code"] == "FILL"), None)
        immunization_id = order_key("Immunization", key or identifiers[0])
    else:
        code = vaccine.get("coding", [{}])[0].get("code") or vaccine.get("text", "")
        immunization_id = resource_id("Immunization", f"Patient/{patient_id}", given, code)
    immunization: dict = {
        "resourceType": "Immunization",
        "id": immunization_id,
        "status": _status(build, rxa),
        "vaccineCode": vaccine,
        "patient": {"reference": f"Patient/{patient_id}"},
        "occurrenceDateTime": occurrence,
    }
    if identifiers:
        immunization["identifier"] = identifiers
    if encounter:
        immunization["encounter"] = {"reference": encounter}
    _administration(build, rxa, orc, immunization)
    if dose.rxr is not None:
        _route(dose.rxr, immunization)
    _observations(build, dose.obx, immunization)
    build.put(immunization, rxa.loc())


def _vaccine(rxa: Segment) -> dict:
    vaccine = cwe_concept(rxa.rep(5))
    if vaccine is None:
        raise error(rxa.loc(5), REQUIRED_FIELD, "RXA-5 administered code (the vaccine) is required")
    if not rxa.get(5, 3):
        # Immunization messages code vaccines in CVX (table 0292) unless they say otherwise.
        for coding in vaccine.get("coding", [])[:1]:
            coding["system"] = _CVX
    return vaccine


def _status(build: Build, rxa: Segment) -> str:
    if rxa.get(21).upper() == "D":  # action code D: the record was sent in error
        return "entered-in-error"
    completion = rxa.get(20).upper()
    if completion and completion not in _COMPLETION:
        build.warn(
            rxa.loc(20), f"{completion!r} is not in table 0322; taken as completed", TABLE_VALUE
        )
    return _COMPLETION.get(completion, "completed")


def _administration(build: Build, rxa: Segment, orc: Segment | None, imm: dict) -> None:
    """Who, how much, which lot, where, and why (RXA-6 to RXA-27, ORC-9/12)."""
    amount = rxa.get(6)
    if amount and amount != _UNKNOWN_AMOUNT:
        imm["doseQuantity"] = {"value": to_number(amount, rxa.loc(6)), **quantity_unit(rxa.rep(7))}
    source = rxa.rep(9)
    if source.get(1) and source.get(3).upper() in ("", "NIP001"):
        # NIP001: 00 is a new record from the one who gave the dose, 01-08 are historical.
        imm["primarySource"] = source.get(1) == "00"
    performers = [
        {"function": {"coding": [{"system": f"{V2}0443", "code": role}]}, "actor": actor}
        for role, actor in (
            ("AP", xcn_reference(rxa.rep(10))),
            ("OP", xcn_reference(orc.rep(12)) if orc else None),
        )
        if actor
    ]
    if performers:
        imm["performer"] = performers
    place = pl_display(rxa.rep(27)) or pl_display(rxa.rep(11))
    if place:
        imm["location"] = {"display": place}
    if rxa.get(15):
        imm["lotNumber"] = rxa.get(15)
    expires = to_date(rxa.get(16), rxa.loc(16))
    if expires:
        imm["expirationDate"] = expires
    maker = _manufacturer(rxa.rep(17))
    if maker:
        imm["manufacturer"] = maker
    refusal = cwe_concept(rxa.rep(18))
    if refusal:
        imm["statusReason"] = refusal
    reasons = [c for c in (cwe_concept(r) for r in rxa.reps(19)) if c]
    if reasons:
        imm["reasonCode"] = reasons
    # RXA-22 system entry time counts for an added record (RXA-21 A), else ORC-9.
    entered = rxa.get(22) and rxa.get(21).upper() == "A"
    where = rxa.loc(22) if entered else (orc.loc(9) if orc else None)
    recorded = rxa.get(22) if entered else (orc.get(9) if orc else "")
    if recorded and where is not None:
        imm["recorded"] = to_datetime(recorded, where, build.tz)


def _manufacturer(cwe: Composite) -> dict | None:
    if cwe.empty:
        return None
    maker: dict = {}
    if cwe.get(1):
        system = code_system(cwe.get(3) or "MVX")
        maker["identifier"] = {"system": system, "value": cwe.get(1)}
    if cwe.get(2):
        maker["display"] = cwe.get(2)
    return maker or None


def _route(rxr: Segment, imm: dict) -> None:
    route = cwe_concept(rxr.rep(1), "0162")
    for coding in (route or {}).get("coding", []):
        if coding.get("system") == f"{V2}0162" and coding.get("code") in _ROUTE_V3:
            coding.update(system=_V3_ROUTE, code=_ROUTE_V3[coding["code"]])
    if route:
        imm["route"] = route
    site = cwe_concept(rxr.rep(2), "0163")
    if site:
        imm["site"] = site


def _observations(build: Build, observations: list[Segment], imm: dict) -> None:
    """Order-level OBX that are Immunization elements; VIS lines are grouped by OBX-4."""
    eligibility: list[dict] = []
    education: dict[str, dict] = {}
    for obx in observations:
        code, value = obx.get(3), obx.rep(5)
        concept = cwe_concept(value) if code in (_FUNDING, _ELIGIBILITY) else None
        if code == _FUNDING and concept:
            imm["fundingSource"] = concept
        elif code == _ELIGIBILITY and concept:
            eligibility.append(concept)
        elif code in (_VIS_DOCUMENT, _VIS_VACCINE):
            # A VIS is named by its GS1 document code, or (older) by the vaccine it is for.
            document = value.get(1) if code == _VIS_DOCUMENT else value.get(2) or value.get(1)
            education.setdefault(obx.get(4), {}).setdefault("documentType", document)
        elif code in (_VIS_PUBLISHED, _VIS_PRESENTED):
            key = "publicationDate" if code == _VIS_PUBLISHED else "presentationDate"
            when = to_datetime(value.get(1), obx.loc(5), build.tz)
            if when:
                education.setdefault(obx.get(4), {})[key] = when
        elif code and code not in (_FUNDING, _ELIGIBILITY):
            build.warn(obx.loc(3), f"OBX {code} about the immunization is not mapped")
    if eligibility:
        imm["programEligibility"] = eligibility
    # imm-1: an education entry names its document; dates alone are not kept.
    kept = [entry for entry in education.values() if entry.get("documentType")]
    if kept:
        imm["education"] = kept
