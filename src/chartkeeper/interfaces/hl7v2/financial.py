"""Patient accounting (HL7 v2 chapter 6): BAR (add and change billing account) and DFT
(detail financial transactions) to Account, Condition, Procedure and ChargeItem.

This module owns what a billing feed tells the record. The account is PID-18 (patient
account number), an Account whose id derives from it. Diagnoses (DG1) become encounter
diagnoses (Condition, category encounter-diagnosis; DG1-3 code, DG1-5 date, DG1-6 type as
the note of what kind of diagnosis it is) and procedures (PR1) Procedures (PR1-3 code,
PR1-5 date, PR1-11/12 surgeon and anaesthetist): the coded data HIM coders abstract and
audit. Each FT1 of a DFT becomes a ChargeItem (FT1-2 transaction id, FT1-4 date, FT1-6
type, FT1-7 transaction code or FT1-25 procedure code, FT1-10 quantity, FT1-11/12
amounts, FT1-19 diagnoses, FT1-20 performer). BAR^P02 (purge) and P06 (end account) close
the Account (inactive); P01, P05, P10 and P12 add or update it.

A condition or procedure is known by the patient, the visit, the code and (procedures) its
date, so a P12 that re-sends the same codes updates them rather than adding copies.
"""

from __future__ import annotations

from chartkeeper.interfaces.hl7v2.build import Build
from chartkeeper.interfaces.hl7v2.coded import cwe_concept
from chartkeeper.interfaces.hl7v2.datatypes import (
    cx_identifier,
    note,
    resource_id,
    to_datetime,
    xcn_reference,
)
from chartkeeper.interfaces.hl7v2.errors import REQUIRED_FIELD
from chartkeeper.interfaces.hl7v2.observations import absent_code
from chartkeeper.interfaces.hl7v2.parser import Segment
from chartkeeper.interfaces.hl7v2.patient import put_encounter, put_patient

BAR_EVENTS = frozenset({"P01", "P02", "P05", "P06", "P10", "P12"})
DFT_EVENTS = frozenset({"P03", "P11"})
_CLOSING = frozenset({"P02", "P06"})
_CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
# Table 0017 transaction type -> ChargeItem.status: a charge is billable; a credit,
# payment or adjustment is not a charge for the service itself.
_CHARGE_STATUS = {
    "CG": "billable",
    "CD": "not-billable",
    "PY": "not-billable",
    "AJ": "not-billable",
}


def handle_bar(build: Build) -> None:
    _account_messages(build, charges=False)


def handle_dft(build: Build) -> None:
    _account_messages(build, charges=True)


def _account_messages(build: Build, *, charges: bool) -> None:
    """BAR may carry several patients' visits (each PID its own group); DFT one."""
    patient_id = account = encounter = None
    for seg in build.message.segments[1:]:
        if seg.name == "PID":
            patient_id = put_patient(build, seg)
            account = _put_account(build, seg, patient_id)
            encounter = None
        elif patient_id is None:
            continue
        elif seg.name == "PV1":
            encounter = put_encounter(build, seg, patient_id, status=None, required=False)
        elif seg.name == "DG1":
            _put_diagnosis(build, seg, patient_id, encounter)
        elif seg.name == "PR1":
            _put_procedure(build, seg, patient_id, encounter)
        elif seg.name == "FT1" and charges:
            _put_charge(build, seg, patient_id, encounter, account)
    if patient_id is None:
        build.require("PID")
    if charges and build.message.first("FT1") is None:
        build.require("FT1")


def _put_account(build: Build, pid: Segment, patient_id: str) -> str | None:
    number = pid.rep(18)
    if not number.get(1):
        if build.message.type == "BAR":
            text = "PID-18 patient account number is empty; no Account recorded"
            build.warn(pid.loc(18), text, REQUIRED_FIELD)
        return None
    identifier = cx_identifier(number, build.sender_system, "AN")
    account_id = resource_id("Account", identifier.get("system", ""), identifier["value"])
    closing = build.message.event in _CLOSING
    account = {
        "resourceType": "Account",
        "id": account_id,
        "identifier": [identifier],
        "status": "inactive" if closing else "active",
        "name": f"Patient account {identifier['value']}",
        "subject": [{"reference": f"Patient/{patient_id}"}],
    }
    return build.put(account, pid.loc(18))


def _put_diagnosis(build: Build, dg1: Segment, patient_id: str, encounter: str | None) -> None:
    code = cwe_concept(dg1.rep(3))
    if code is None:
        if not dg1.get(4):
            build.warn(
                dg1.loc(3), "DG1-3 diagnosis code is empty; diagnosis not recorded", REQUIRED_FIELD
            )
            return
        code = {"text": dg1.rep(4).text()}  # DG1-4 description (before v2.5)
    coding = (code.get("coding") or [{}])[0]
    key = (
        patient_id,
        encounter or "",
        coding.get("system", ""),
        coding.get("code", code.get("text", "")),
    )
    condition: dict = {
        "resourceType": "Condition",
        "id": resource_id("Condition", *key),
        "category": [{"coding": [{"system": _CONDITION_CATEGORY, "code": "encounter-diagnosis"}]}],
        "code": code,
        "subject": {"reference": f"Patient/{patient_id}"},
        "clinicalStatus": {"coding": [{"system": _CLINICAL, "code": "active"}]},
        "verificationStatus": {"coding": [{"system": _VERIFICATION, "code": "confirmed"}]},
    }
    if encounter:
        condition["encounter"] = {"reference": encounter}
    recorded = to_datetime(dg1.get(5), dg1.loc(5), build.tz)
    if recorded:
        condition["recordedDate"] = recorded
    kind = cwe_concept(dg1.rep(6), "0052")
    if kind:  # A admitting, W working, F final: which diagnosis of the stay this is
        text = kind.get("text") or kind["coding"][0].get("display") or kind["coding"][0]["code"]
        condition["note"] = [{"text": f"diagnosis type (DG1-6): {text}"}]
    clinician = xcn_reference(dg1.rep(16))
    if clinician:
        condition["asserter"] = clinician
    build.put(condition, dg1.loc())


def _put_procedure(build: Build, pr1: Segment, patient_id: str, encounter: str | None) -> None:
    code = cwe_concept(pr1.rep(3))
    if code is None:
        if not pr1.get(4):
            build.warn(
                pr1.loc(3), "PR1-3 procedure code is empty; procedure not recorded", REQUIRED_FIELD
            )
            return
        code = {"text": pr1.rep(4).text()}
    when = to_datetime(pr1.get(5), pr1.loc(5), build.tz)
    coding = (code.get("coding") or [{}])[0]
    key = (
        patient_id,
        encounter or "",
        coding.get("system", ""),
        coding.get("code", ""),
        when or "",
    )
    procedure: dict = {
        "resourceType": "Procedure",
        "id": resource_id("Procedure", *key),
        "status": "completed",
        "code": code,
        "subject": {"reference": f"Patient/{patient_id}"},
    }
    if encounter:
        procedure["encounter"] = {"reference": encounter}
    if when:
        procedure["performedDateTime"] = when
    performers = [
        {"actor": ref, "function": {"text": role}}
        for n, role in ((11, "surgeon"), (12, "anesthesiologist"))
        for ref in (xcn_reference(r) for r in pr1.reps(n))
        if ref
    ]
    if performers:
        procedure["performer"] = performers
    build.put(procedure, pr1.loc())


def _put_charge(
    build: Build, ft1: Segment, patient_id: str, encounter: str | None, account: str | None
) -> None:
    code = cwe_concept(ft1.rep(25)) or cwe_concept(ft1.rep(7))
    if code is None:
        build.warn(
            ft1.loc(7), "FT1-7 transaction code and FT1-25 procedure code are empty", REQUIRED_FIELD
        )
        code = absent_code("FT1-7")
    transaction = ft1.get(2)
    if transaction:
        key = ("FT1-2", build.sender_system or "", transaction)
    else:
        app, facility = build.message.sender
        key = ("message", app, facility, build.message.control_id, str(ft1.sequence))
        text = "FT1-2 transaction id is empty: the charge is identified by this message"
        build.warn(ft1.loc(2), text, REQUIRED_FIELD)
    kind = ft1.get(6).upper()
    charge: dict = {
        "resourceType": "ChargeItem",
        "id": resource_id("ChargeItem", *key),
        "status": _CHARGE_STATUS.get(kind, "unknown"),
        "code": code,
        "subject": {"reference": f"Patient/{patient_id}"},
    }
    if transaction:
        charge["identifier"] = [{"value": transaction}]
        if build.sender_system:
            charge["identifier"][0]["system"] = build.sender_system
    if kind:  # ChargeItem has no element for it: said in a note, coded in the status
        charge["note"] = [{"text": f"transaction type (FT1-6, table 0017): {kind}"}]
    if encounter:
        charge["context"] = {"reference": encounter}
    if account:
        charge["account"] = [{"reference": account}]
    start = to_datetime(ft1.rep(4).get(1), ft1.rep(4).loc_of(1), build.tz)
    end = to_datetime(ft1.rep(4).get(2), ft1.rep(4).loc_of(2), build.tz)
    if start and end:
        charge["occurrencePeriod"] = {"start": start, "end": end}
    elif start:
        charge["occurrenceDateTime"] = start
    quantity = _number(ft1, 10)
    if quantity is not None:
        charge["quantity"] = {"value": quantity}
    amount = _money(ft1, 11) or _money(ft1, 12)
    if amount:
        charge["priceOverride"] = amount
    reasons = [c for c in (cwe_concept(r) for r in ft1.reps(19)) if c]
    if reasons:
        charge["reason"] = reasons
    performer = xcn_reference(ft1.rep(20))
    if performer:
        charge["performer"] = [{"actor": performer}]
    entered = to_datetime(ft1.get(5), ft1.loc(5), build.tz)
    if entered and "T" in entered:
        charge["enteredDate"] = entered
    build.put(charge, ft1.loc())


def _number(segment: Segment, n: int) -> int | float | None:
    text = segment.get(n)
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        note(segment.loc(n), f"{text!r} is not a number; left out")
        return None
    return int(value) if value.is_integer() and "." not in text else value


def _money(segment: Segment, n: int) -> dict | None:
    """CP (2A.11): price (MO: quantity & denomination) ^ price type ^ ..."""
    price = segment.rep(n).sub(1)
    text = price.get(1)
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        note(segment.loc(n), f"{text!r} is not an amount; left out")
        return None
    money: dict = {"value": value}
    currency = price.get(2).upper()
    if len(currency) == 3 and currency.isalpha():
        money["currency"] = currency
    return money
