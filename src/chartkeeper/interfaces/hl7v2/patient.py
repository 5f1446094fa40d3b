"""PID to Patient and PV1 to Encounter, as the v2-to-FHIR guide's segment maps do.

This module owns who a message is about and which visit. A Patient's id derives from its
primary identifier in PID-3 (the first one typed MR, else the first; system from the
assigning authority), an Encounter's from PV1-19, the visit number, so every message about
the same person or visit updates the same resource. Fields mapped: PID-2/3 identifiers,
PID-5 names, PID-7 birth date, PID-8 sex (table 0001), PID-11 addresses, PID-13/14 phones,
PID-29/30 death; PV1-2 class (table 0004), PV1-3 location, PV1-7/8/9/17 participants,
PV1-10 service (table 0069), PV1-14 admit source (table 0023), PV1-19 visit number,
PV1-36 discharge disposition (table 0112), PV1-44/45 admit and discharge times.
"""

from __future__ import annotations

from functools import partial

from chartkeeper.interfaces.hl7v2.build import Build, overlay
from chartkeeper.interfaces.hl7v2.coded import cwe_concept
from chartkeeper.interfaces.hl7v2.datatypes import (
    V2,
    cx_identifier,
    pl_display,
    resource_id,
    to_date,
    to_datetime,
    xad_address,
    xcn_reference,
    xpn_name,
    xtn_contact,
)
from chartkeeper.interfaces.hl7v2.errors import REQUIRED_FIELD, TABLE_VALUE, error
from chartkeeper.interfaces.hl7v2.parser import Composite, Segment

_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
_PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
# Table 0001 administrative sex -> AdministrativeGender (v2-to-FHIR AdministrativeSex map).
_GENDER = {"F": "female", "M": "male", "O": "other", "A": "other", "N": "other", "U": "unknown"}
# Table 0004 patient class -> Encounter.class (v2-to-FHIR PatientClass[EncounterClass]).
_CLASS = {"E": "EMER", "I": "IMP", "O": "AMB", "P": "PRENC"}
_PARTICIPANTS = ((7, "ATND"), (8, "REF"), (9, "CON"), (17, "ADM"))


# --- Patient ---------------------------------------------------------------------------


def patient_key(reps: list[Composite], fallback_system: str | None) -> tuple[str, list[dict]]:
    """The Patient id and Identifiers for a CX list (PID-3, MRG-1)."""
    identifiers = [cx_identifier(r, fallback_system) for r in reps if r.get(1)]
    primary = next((r for r in reps if r.get(1) and r.get(5).upper() == "MR"), None)
    primary = primary or next(r for r in reps if r.get(1))
    main = cx_identifier(primary, fallback_system)
    return resource_id("Patient", main.get("system", ""), main["value"]), identifiers


def merge_patient(old: dict | None, new: dict) -> dict:
    # `active` and `link` belong to merge_patients; a new record starts active.
    return overlay(old, new) if old is not None else {**new, "active": True}


def put_patient(build: Build, pid: Segment) -> str:
    """Queue the Patient PID describes; returns its id."""
    reps = [r for r in pid.reps(3) if r.get(1)]
    if not reps:
        # Before v2.3.1 the external id (PID-2) or alternate id (PID-4) often stood alone.
        for n in (2, 4):
            reps = [r for r in pid.reps(n) if r.get(1)]
            if reps:
                text = f"PID-3 is empty; the patient is identified by PID-{n}"
                build.warn(pid.loc(3), text, REQUIRED_FIELD)
                break
    if not reps:
        raise error(pid.loc(3), REQUIRED_FIELD, "PID-3 patient identifier list is required")
    patient_id, identifiers = patient_key(reps, build.sender_system)
    seen = {(i.get("system"), i["value"]) for i in identifiers}
    for old_id in pid.reps(2):  # PID-2, kept for backward compatibility, same meaning
        ident = cx_identifier(old_id, build.sender_system)
        if ident["value"] and (ident.get("system"), ident["value"]) not in seen:
            identifiers.append(ident)
            seen.add((ident.get("system"), ident["value"]))
    patient: dict = {"resourceType": "Patient", "id": patient_id, "identifier": identifiers}
    _put_list(patient, "name", [xpn_name(r) for r in pid.reps(5)])
    birth = to_date(pid.get(7), pid.loc(7))
    if birth:
        patient["birthDate"] = birth
    sex = pid.get(8).upper()
    if sex in _GENDER:
        patient["gender"] = _GENDER[sex]
    elif sex:
        build.warn(pid.loc(8), f"{sex!r} is not in table 0001; gender left out", TABLE_VALUE)
    _put_list(patient, "address", [xad_address(r) for r in pid.reps(11)])
    telecom = [xtn_contact(r, "home") for r in pid.reps(13)]
    _put_list(patient, "telecom", telecom + [xtn_contact(r, "work") for r in pid.reps(14)])
    _put_death(build, pid, patient)
    build.put(patient, pid.loc(), merge=merge_patient)
    return patient_id


def _put_death(build: Build, pid: Segment, patient: dict) -> None:
    died = to_datetime(pid.get(29), pid.loc(29), build.tz)
    indicator = pid.get(30).upper()
    if died:
        patient["deceasedDateTime"] = died
    elif indicator in ("Y", "N"):
        patient["deceasedBoolean"] = indicator == "Y"
    elif indicator:
        build.warn(pid.loc(30), f"{indicator!r} is not Y or N (table 0136); left out", TABLE_VALUE)


def _put_list(resource: dict, key: str, items: list[dict | None]) -> None:
    kept = [item for item in items if item]
    if kept:
        resource[key] = kept


# --- Encounter -------------------------------------------------------------------------


def visit_key(build: Build, visit: Composite) -> tuple[str, dict]:
    """The Encounter id and Identifier for a visit number (CX: PV1-19, MRG-5)."""
    identifier = cx_identifier(visit, build.sender_system, "VN")
    return resource_id("Encounter", identifier.get("system", ""), identifier["value"]), identifier


def merge_encounter(
    old: dict | None, new: dict, *, status: str | None, reopen: bool = False
) -> dict:
    merged = overlay(old, new, deep=("period", "hospitalization"))
    if status:
        merged["status"] = status
    elif "status" not in merged:
        # A08, ORU and MDM do not convey the visit's state (v2-to-FHIR Event[EncounterStatus]).
        merged["status"] = "finished" if merged.get("period", {}).get("end") else "unknown"
    if reopen and "end" in merged.get("period", {}) and "end" not in new.get("period", {}):
        merged["period"] = {k: v for k, v in merged["period"].items() if k != "end"}
        if not merged["period"]:
            del merged["period"]
    merged.setdefault(
        "class", {"system": "http://terminology.hl7.org/CodeSystem/v3-NullFlavor", "code": "UNK"}
    )
    return merged


def put_encounter(
    build: Build,
    pv1: Segment,
    patient_id: str,
    *,
    status: str | None,
    required: bool,
    reopen: bool = False,
) -> str | None:
    """Queue the Encounter PV1 describes and return its reference; None when PV1 names no
    visit and `required` is false (a demographics update's placeholder PV1)."""
    visit = pv1.rep(19)
    admit = to_datetime(pv1.get(44), pv1.loc(44), build.tz)
    identifier = None
    if visit.get(1):
        encounter_id, identifier = visit_key(build, visit)
    elif admit:
        # No visit number: the patient and the admit time identify the visit.
        encounter_id = resource_id("Encounter", f"Patient/{patient_id}", admit)
    elif required:
        # The patient part of the message is still kept; only the visit cannot be placed.
        build.warn(
            pv1.loc(19),
            "PV1-19 visit number (or PV1-44 admit date/time) is needed to identify the visit; "
            "the visit was not recorded",
            REQUIRED_FIELD,
        )
        return None
    else:
        return None
    encounter: dict = {
        "resourceType": "Encounter",
        "id": encounter_id,
        "subject": {"reference": f"Patient/{patient_id}"},
    }
    if identifier:
        encounter["identifier"] = [identifier]
    _encounter_details(build, pv1, encounter, admit)
    merge = partial(merge_encounter, status=status, reopen=reopen)
    return build.put(encounter, pv1.loc(), merge=merge)


def _encounter_details(build: Build, pv1: Segment, encounter: dict, admit: str | None) -> None:
    patient_class = pv1.get(2).upper()
    if patient_class:
        code = _CLASS.get(patient_class)
        system = _ACT_CODE if code else f"{V2}0004"
        encounter["class"] = {"system": system, "code": code or patient_class}
    participants = [
        {"type": [{"coding": [{"system": _PARTICIPATION, "code": role}]}], "individual": ref}
        for n, role in _PARTICIPANTS
        for ref in (xcn_reference(r) for r in pv1.reps(n))
        if ref
    ]
    if participants:
        encounter["participant"] = participants
    place = pl_display(pv1.rep(3))
    if place:
        encounter["location"] = [{"location": {"display": place}}]
    service = cwe_concept(pv1.rep(10), "0069")
    if service:
        encounter["serviceType"] = service
    stay = {
        key: concept
        for key, concept in (
            ("admitSource", cwe_concept(pv1.rep(14), "0023")),
            ("dischargeDisposition", cwe_concept(pv1.rep(36), "0112")),
        )
        if concept
    }
    if stay:
        encounter["hospitalization"] = stay
    discharge = to_datetime(pv1.get(45), pv1.loc(45), build.tz)
    period = {k: v for k, v in (("start", admit), ("end", discharge)) if v}
    if period:
        encounter["period"] = period
