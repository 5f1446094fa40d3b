"""SIU^S12 (new appointment booking) to Appointment."""

from __future__ import annotations

import pytest
from test_hl7v2 import MSH, PATIENT_ID, PID, _msg, _pv1, _segment, _segments, assert_refused

from chartkeeper.interfaces.hl7v2 import process_message
from chartkeeper.interfaces.hl7v2.datatypes import resource_id

SCHED = "urn:chartkeeper:hl7v2:authority:SCHED"
APPOINTMENT_ID = resource_id("Appointment", "FILL", SCHED, "F200")
SCH = _segment(
    "SCH",
    {
        1: "P100^GHH",
        2: "F200^SCHED",
        7: "CHECKUP^Routine checkup^HL70276",
        8: "NORMAL^Routine^HL70277",
        9: "30",
        10: "min",
        16: "5555^Filler^Fran",
        20: "7777^Clerk^Carl",
        25: "Booked",
        26: "ORD-9^GHH",
    },
)
AIS = _segment(
    "AIS", {1: "1", 2: "A", 3: "99213^Office visit^C4", 4: "20240110090000", 7: "30", 8: "min"}
)
AIG = _segment(
    "AIG",
    {1: "1", 2: "A", 3: "ECG-1^ECG cart^L", 4: "EQ^Equipment^L", 8: "20240110091000", 11: "10"},
)
AIL = _segment("AIL", {1: "1", 2: "A", 3: "CLINIC^Room 3^^GHH", 6: "20240110090000", 9: "30"})
# No start of its own: the appointment's plus 15 minutes; its own status, pending.
AIP = _segment(
    "AIP",
    {1: "1", 2: "A", 3: "1234^Attend^Aaron^^^Dr", 4: "ATND^Attender^HL70443", 7: "15", 8: "min"}
    | {9: "30", 10: "min", 12: "Pending"},
)


def _siu(ctl: str = "S1", *, sch: str = SCH, resources=(AIS, "NTE|1||Fasting", AIG, AIL, AIP)):
    return _msg(
        MSH.format(type="SIU^S12^SIU_S12", ctl=ctl),
        sch,
        "TQ1|||||||20240110090000|20240110093000",
        "NTE|1||Bring your glucose diary",
        PID,
        _pv1("O"),
        "RGS|1",
        *resources,
    )


def test_s12_books_an_appointment(repo):
    ack = process_message(repo, _siu())
    assert ack.code == "AA", ack.text
    appointment = repo.read("Appointment", APPOINTMENT_ID)
    assert appointment["status"] == "booked"  # SCH-25 Booked, table 0278
    assert [i["value"] for i in appointment["identifier"]] == ["P100", "F200"]
    assert (appointment["start"], appointment["end"]) == (
        "2024-01-10T09:00:00-05:00",
        "2024-01-10T09:30:00-05:00",
    )
    assert appointment["minutesDuration"] == 30
    assert appointment["reasonCode"][0]["coding"][0]["code"] == "CHECKUP"
    assert appointment["appointmentType"]["coding"][0]["system"].endswith("v2-0277")
    assert appointment["serviceType"][0]["coding"][0] == {
        "system": "http://www.ama-assn.org/go/cpt",
        "code": "99213",
        "display": "Office visit",
    }
    assert appointment["comment"] == "Bring your glucose diary\nFasting"
    assert appointment["basedOn"][0]["identifier"]["value"] == "ORD-9"
    patient, equipment, room, doctor, filler, clerk = appointment["participant"]
    assert patient == {
        "actor": {"reference": f"Patient/{PATIENT_ID}", "type": "Patient"},
        "status": "accepted",
    }
    assert equipment["actor"]["display"] == "ECG cart"
    assert equipment["period"] == {
        "start": "2024-01-10T09:10:00-05:00",
        "end": "2024-01-10T09:20:00-05:00",
    }
    assert room["actor"] == {"type": "Location", "display": "CLINIC, Room 3, GHH"}
    assert doctor["actor"]["display"] == "Dr Aaron Attend"
    assert doctor["type"][0]["coding"][0]["code"] == "ATND"
    assert doctor["status"] == "tentative"  # AIP-12 Pending
    assert doctor["period"] == {  # start offset from the appointment's start
        "start": "2024-01-10T09:15:00-05:00",
        "end": "2024-01-10T09:45:00-05:00",
    }
    assert filler["type"] == [{"text": "filler contact person"}]
    assert clerk["type"][0]["coding"][0]["code"] == "enterer"
    # Booked again under a new control id: the same appointment, not a second one.
    assert process_message(repo, _siu("S2")).code == "AA"
    assert repo.search("Appointment").total == 1


def test_resource_times_make_the_appointment_times_when_none_is_given(repo):
    sch = SCH.replace("|30|min|", "|||")
    raw = _siu(sch=sch).replace("TQ1|||||||20240110090000|20240110093000", "TQ1|1")
    ack = process_message(repo, raw)
    assert ack.code == "AA", ack.text
    appointment = repo.read("Appointment", APPOINTMENT_ID)
    assert (appointment["start"], appointment["end"]) == (
        "2024-01-10T09:00:00-05:00",
        "2024-01-10T09:30:00-05:00",
    )


MALFORMED = [
    ("no SCH", _siu().replace(SCH + "\r", ""), "SCH^1", "100"),
    ("no appointment id", _siu(sch=SCH.replace("P100^GHH|F200^SCHED", "|")), "SCH^1^2", "101"),
    (
        "AIS without service",
        _siu(resources=(AIS.replace("99213^Office visit^C4", ""),)),
        "AIS^1^3",
        "101",
    ),
    # an unreadable time is left out with a warning now (test_hl7v2_as_sent.py)
    ("bad duration", _siu(sch=SCH.replace("|30|min|", "|thirty|min|")), "SCH^1^9", "102"),
    ("nobody", _siu(resources=()).replace(PID + "\r", ""), "PID^1", "100"),
]


@pytest.mark.parametrize("case", [m[0] for m in MALFORMED])
def test_malformed_s12_stores_nothing(repo, case):
    _, raw, location, code = next(m for m in MALFORMED if m[0] == case)
    assert_refused(repo, raw, "AE", location, code)


def test_unknown_filler_status_is_a_warning(repo):
    ack = process_message(repo, _siu(sch=SCH.replace("|Booked|", "|Overbook|")))
    assert ack.code == "AA"
    err = _segments(ack.text)["ERR"][0]
    assert (err[2], err[4]) == ("SCH^1^25", "W")
    assert repo.read("Appointment", APPOINTMENT_ID)["status"] == "booked"
