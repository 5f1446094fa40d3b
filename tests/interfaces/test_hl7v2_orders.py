"""ORM^O01 to ServiceRequest, VXU^V04 to Immunization."""

from __future__ import annotations

import pytest
from test_hl7v2 import MSH, PATIENT_ID, PID, _msg, _pv1, _segment, _segments, assert_refused

from chartkeeper.interfaces.hl7v2 import process_message
from chartkeeper.interfaces.hl7v2.datatypes import resource_id

V2 = "http://terminology.hl7.org/CodeSystem/v2-"
OE = "urn:chartkeeper:hl7v2:authority:GHHOE"
REQUEST_ID = resource_id("ServiceRequest", "PLAC", OE, "ORD-1")
ORC = _segment(
    "ORC",
    {
        1: "NW",
        2: "ORD-1^GHHOE",
        4: "GRP-1^GHHOE",
        7: "^^^^^S",  # TQ-6 priority S (table 0027)
        9: "20240105083000",
        12: "1234^Order^Olga^^^Dr",
        29: "O",
    },
)
OBR = _segment(
    "OBR",
    {
        1: "1",
        2: "ORD-1^GHHOE",
        4: "24627-2^Chest CT^LN",
        6: "20240106090000",
        31: "R07.9^Chest pain^I10",
    },
)


def _orm(ctl: str, *order: str, pid: str = PID) -> str:
    return _msg(MSH.format(type="ORM^O01^ORM_O01", ctl=ctl), pid, _pv1("O"), *order)


def test_o01_new_order(repo):
    order = (
        ORC,
        OBR,
        "NTE|1||No known contrast allergy",
        "DG1|1||J18.9^Pneumonia^I10",
        "OBX|1|NM|8302-2^Body height^LN||180|cm^cm^UCUM|||||F",
    )
    ack = process_message(repo, _orm("O1", *order))
    assert ack.code == "AA", ack.text
    request = repo.read("ServiceRequest", REQUEST_ID)
    assert (request["status"], request["intent"], request["priority"]) == (
        "active",
        "order",
        "stat",
    )
    assert request["identifier"] == [
        {
            "system": OE,
            "value": "ORD-1",
            "type": {"coding": [{"system": f"{V2}0203", "code": "PLAC"}]},
        }
    ]
    assert request["requisition"]["value"] == "GRP-1"
    assert request["requisition"]["type"]["coding"][0]["code"] == "PGN"
    assert request["subject"] == {"reference": f"Patient/{PATIENT_ID}"}
    assert request["code"]["coding"][0]["code"] == "24627-2"
    assert request["authoredOn"] == "2024-01-05T08:30:00-05:00"
    assert request["occurrenceDateTime"] == "2024-01-06T09:00:00-05:00"
    assert request["requester"]["display"] == "Dr Olga Order"
    assert request["locationCode"][0]["coding"][0] == {"system": f"{V2}0482", "code": "O"}
    assert [r["coding"][0]["code"] for r in request["reasonCode"]] == ["R07.9", "J18.9"]
    assert request["note"] == [{"text": "No known contrast allergy"}]
    [info] = request["supportingInfo"]
    height = repo.read("Observation", info["reference"].split("/")[1])
    assert height["valueQuantity"]["value"] == 180
    # The filler schedules it, then completes it: ORC-5 (table 0038) says so, and the
    # same request is updated, keeping what the status messages leave out.
    scheduled = _segment("ORC", {1: "SC", 2: "ORD-1^GHHOE", 3: "FIL-9^LAB", 5: "SC"})
    assert process_message(repo, _orm("O2", scheduled)).code == "AA"
    completed = scheduled.replace("|SC|ORD", "|RE|ORD").replace("|SC", "|CM")
    assert process_message(repo, _orm("O3", completed)).code == "AA"
    request = repo.read("ServiceRequest", REQUEST_ID)
    assert request["status"] == "completed"
    assert [i["type"]["coding"][0]["code"] for i in request["identifier"]] == ["PLAC", "FILL"]
    assert request["code"]["coding"][0]["code"] == "24627-2"
    assert repo.search("ServiceRequest").total == 1


def test_order_control_sets_the_status_when_orc5_is_empty(repo):
    assert process_message(repo, _orm("O1", ORC, OBR)).code == "AA"
    cancel = _segment("ORC", {1: "OC", 2: "ORD-1^GHHOE"})  # table 0119: canceled
    assert process_message(repo, _orm("O2", cancel)).code == "AA"
    assert repo.read("ServiceRequest", REQUEST_ID)["status"] == "revoked"


ORM_MALFORMED = [
    (
        "no order number",
        _orm("X1", ORC.replace("ORD-1^GHHOE", ""), OBR.replace("ORD-1^GHHOE", "")),
        "ORC^1^2",
        "101",
    ),
    ("no service", _orm("X1", ORC, OBR.replace("24627-2^Chest CT^LN", "")), "OBR^1^4", "101"),
    ("OBR before ORC", _orm("X1", OBR, ORC), "OBR^1", "100"),
    ("no ORC", _orm("X1"), "ORC^1", "100"),
    ("no PID", _orm("X1", ORC, OBR).replace(PID + "\r", ""), "PID^1", "100"),
    # an unreadable time is left out with a warning now (test_hl7v2_as_sent.py)
]


@pytest.mark.parametrize("case", [m[0] for m in ORM_MALFORMED])
def test_malformed_o01_stores_nothing(repo, case):
    _, raw, location, code = next(m for m in ORM_MALFORMED if m[0] == case)
    assert_refused(repo, raw, "AE", location, code)


IMM = "urn:chartkeeper:hl7v2:authority:GHHIMM"
IMMUNIZATION_ID = resource_id("Immunization", "FILL", IMM, "IMM-77")
VXU_ORC = _segment(
    "ORC",
    {1: "RE", 2: "PL-1^GHH", 3: "IMM-77^GHHIMM", 9: "20240105083000", 12: "1234^Order^Olga^^^Dr"},
)
RXA = _segment(
    "RXA",
    {
        1: "0",
        2: "1",
        3: "20240105083000",
        5: "08^Hep B, adolescent or pediatric",  # no coding system: CVX
        6: "0.5",
        7: "mL^mL^UCUM",
        9: "00^New immunization record^NIP001",
        10: "5678^Nurse^Nancy",
        11: "^^^GHH CLINIC",
        15: "LOT-1",
        16: "20251231",
        17: "MSD^Merck^MVX",
        20: "CP",
        21: "A",
    },
)
RXR = "RXR|IM^Intramuscular^HL70162|LA^Left Arm^HL70163"
VXU_OBX = (
    "OBX|1|CE|64994-7^Vaccine funding program eligibility^LN|1|V02^VFC eligible - Medicaid^HL70064||||||F",
    "OBX|2|CE|30963-3^Vaccine funding source^LN|2|VXC1^Federal funds^CDCPHINVS||||||F",
    "OBX|3|CE|69764-9^Document type^LN|3|253088698300012711120420^Hep B VIS^cdcgs1vis||||||F",
    "OBX|4|DT|29769-7^Date VIS presented^LN|3|20240105||||||F",
    "OBX|5|CE|59784-9^Disease with presumed immunity^LN|4|66071002^Hep B^SCT||||||F",
)


def _vxu(ctl: str, *order: str) -> str:
    return _msg(MSH.format(type="VXU^V04^VXU_V04", ctl=ctl), PID, *order)


def test_v04_records_an_immunization(repo):
    ack = process_message(repo, _vxu("V1", VXU_ORC, RXA, RXR, *VXU_OBX))
    assert ack.code == "AA", ack.text
    err = _segments(ack.text)["ERR"][0]  # the one OBX that is not an Immunization element
    assert (err[2], err[4]) == ("OBX^5^3", "W")
    imm = repo.read("Immunization", IMMUNIZATION_ID)
    assert imm["status"] == "completed"
    assert imm["vaccineCode"]["coding"][0] == {
        "system": "http://hl7.org/fhir/sid/cvx",
        "code": "08",
        "display": "Hep B, adolescent or pediatric",
    }
    assert imm["patient"] == {"reference": f"Patient/{PATIENT_ID}"}
    assert imm["occurrenceDateTime"] == "2024-01-05T08:30:00-05:00"
    assert imm["recorded"] == "2024-01-05T08:30:00-05:00"  # ORC-9
    assert imm["primarySource"] is True
    assert imm["doseQuantity"] == {
        "value": 0.5,
        "unit": "mL",
        "system": "http://unitsofmeasure.org",
        "code": "mL",
    }
    assert (imm["lotNumber"], imm["expirationDate"]) == ("LOT-1", "2025-12-31")
    assert imm["manufacturer"] == {
        "identifier": {"system": "http://terminology.hl7.org/CodeSystem/MVX", "value": "MSD"},
        "display": "Merck",
    }
    assert [
        (p["function"]["coding"][0]["code"], p["actor"]["display"]) for p in imm["performer"]
    ] == [
        ("AP", "Nancy Nurse"),
        ("OP", "Dr Olga Order"),
    ]
    assert imm["location"] == {"display": "GHH CLINIC"}
    assert imm["route"]["coding"][0]["system"].endswith("v3-RouteOfAdministration")
    assert imm["route"]["coding"][0]["code"] == "IM"
    assert imm["site"]["coding"][0] == {"system": f"{V2}0163", "code": "LA", "display": "Left Arm"}
    assert imm["programEligibility"][0]["coding"][0]["code"] == "V02"
    assert imm["fundingSource"]["coding"][0]["code"] == "VXC1"
    assert imm["education"] == [
        {"documentType": "253088698300012711120420", "presentationDate": "2024-01-05"}
    ]
    # RXA-21 D: the dose was recorded in error; the same Immunization says so.
    deleted = RXA.replace("|CP|A", "|CP|D")
    assert process_message(repo, _vxu("V2", VXU_ORC, deleted)).code == "AA"
    assert repo.read("Immunization", IMMUNIZATION_ID)["status"] == "entered-in-error"
    assert repo.search("Immunization").total == 1


def test_rxa_without_orc_gets_an_id_from_patient_time_and_vaccine(repo):
    refused = _segment(
        "RXA",
        {
            1: "0",
            2: "1",
            3: "20240105",
            5: "08^Hep B^CVX",
            6: "999",
            18: "00^Parental decision^NIP002",
            20: "RE",
        },
    )
    ack = process_message(repo, _vxu("V1", refused, _pv1("O")))
    assert ack.code == "AA", ack.text
    imm = repo.read(
        "Immunization", resource_id("Immunization", f"Patient/{PATIENT_ID}", "20240105", "08")
    )
    assert imm["status"] == "not-done"  # RXA-20 RE, table 0322
    assert imm["statusReason"]["coding"][0]["code"] == "00"
    assert "doseQuantity" not in imm  # 999: amount unknown
    assert imm["encounter"]["reference"].startswith("Encounter/")


VXU_MALFORMED = [
    (
        "no vaccine",
        _vxu("X1", VXU_ORC, RXA.replace("08^Hep B, adolescent or pediatric", "")),
        "RXA^1^5",
        "101",
    ),
    ("no date", _vxu("X1", VXU_ORC, RXA.replace("|20240105083000|", "||")), "RXA^1^3", "101"),
    ("ORC without RXA", _vxu("X1", VXU_ORC, "ORC|RE||IMM-78^GHHIMM", RXA), "ORC^1", "100"),
    ("no RXA", _vxu("X1"), "RXA^1", "100"),
    ("bad dose", _vxu("X1", VXU_ORC, RXA.replace("|0.5|", "|half|")), "RXA^1^6", "102"),
]


@pytest.mark.parametrize("case", [m[0] for m in VXU_MALFORMED])
def test_malformed_v04_stores_nothing(repo, case):
    _, raw, location, code = next(m for m in VXU_MALFORMED if m[0] == case)
    assert_refused(repo, raw, "AE", location, code)
