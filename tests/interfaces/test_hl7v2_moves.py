"""ADT^A45 (move visit information) and ADT^A47 (change patient identifier list)."""

from __future__ import annotations

import pytest
from test_hl7v2 import (
    ENCOUNTER_ID,
    GHH,
    MSH,
    PATIENT_ID,
    PID,
    _adt,
    _msg,
    _segments,
    assert_refused,
)

from chartkeeper.interfaces.hl7v2 import process_message
from chartkeeper.interfaces.hl7v2.datatypes import resource_id

AUTHORITY = "GHH&2.16.840.1.113883.19.5&ISO"
OTHER_PID = PID.replace("MRN123", "MRN456").replace("999-12-3456", "999-12-4567")
OTHER_ID = resource_id("Patient", GHH, "MRN456")


def _a45(ctl: str, mrg: str, *, pid: str = OTHER_PID, pv1: str | None = None) -> str:
    segments = [MSH.format(type="ADT^A45^ADT_A45", ctl=ctl), "EVN|A45|20240105090000", pid, mrg]
    return _msg(*segments, *([pv1] if pv1 else []))


def test_a45_moves_the_visit_to_the_pid_patient(repo):
    assert process_message(repo, _adt("A01", "C1")).code == "AA"  # MRN123, visit V100
    mrg = f"MRG|MRN123^^^{AUTHORITY}^MR||||V100^^^{AUTHORITY}^VN"
    ack = process_message(repo, _a45("C2", mrg))
    assert ack.code == "AA", ack.text
    assert "ERR" not in _segments(ack.text)
    encounter = repo.read("Encounter", ENCOUNTER_ID)
    assert encounter["subject"] == {"reference": f"Patient/{OTHER_ID}"}
    # Only the owner changed: the visit is as it was.
    assert encounter["status"] == "in-progress"
    assert encounter["period"] == {"start": "2024-01-05T08:00:00-05:00"}
    assert repo.read("Patient", OTHER_ID)["identifier"][0]["value"] == "MRN456"
    assert repo.search("Encounter").total == 1


def test_a45_of_an_unknown_visit_records_it_with_a_warning(repo):
    mrg = f"MRG|||||V777^^^{AUTHORITY}^VN"
    ack = process_message(repo, _a45("C1", mrg))
    assert ack.code == "AA", ack.text
    err = _segments(ack.text)["ERR"][0]
    assert (err[2], err[3].split("^")[0], err[4]) == ("MRG^1^5", "204", "W")
    encounter = repo.read("Encounter", resource_id("Encounter", GHH, "V777"))
    assert encounter["subject"] == {"reference": f"Patient/{OTHER_ID}"}
    assert encounter["identifier"][0]["value"] == "V777"


def test_a45_warns_when_the_visit_belonged_to_someone_else(repo):
    assert process_message(repo, _adt("A01", "C1")).code == "AA"
    mrg = f"MRG|MRN999^^^{AUTHORITY}^MR||||V100^^^{AUTHORITY}^VN"
    ack = process_message(repo, _a45("C2", mrg))
    assert ack.code == "AA"
    err = _segments(ack.text)["ERR"][0]
    assert (err[2], err[4]) == ("MRG^1^1", "W")
    assert repo.read("Encounter", ENCOUNTER_ID)["subject"]["reference"] == f"Patient/{OTHER_ID}"


def _a47(ctl: str, pid: str, mrg: str) -> str:
    return _msg(MSH.format(type="ADT^A47^ADT_A30", ctl=ctl), "EVN|A47|20240105090000", pid, mrg)


def test_a47_of_an_unknown_identifier_stores_the_pid_with_a_warning(repo):
    ack = process_message(repo, _a47("C1", PID, f"MRG|MRN999^^^{AUTHORITY}^MR"))
    assert ack.code == "AA", ack.text
    err = _segments(ack.text)["ERR"][0]
    assert (err[2], err[3].split("^")[0], err[4]) == ("MRG^1^1", "204", "W")
    assert repo.read("Patient", PATIENT_ID)["active"] is True


def test_a47_moves_the_record_to_its_corrected_identifier(repo):
    wrong = PID.replace("MRN123", "MRN999")
    assert process_message(repo, _adt("A01", "C1", pid=wrong)).code == "AA"
    wrong_id = resource_id("Patient", GHH, "MRN999")
    # The corrected PID says little besides the identifiers; the rest is carried over.
    corrected = f"PID|1||MRN123^^^{AUTHORITY}^MR||Everyman^Adam^A^III^Dr^^L"
    ack = process_message(repo, _a47("C2", corrected, f"MRG|MRN999^^^{AUTHORITY}^MR"))
    assert ack.code == "AA", ack.text
    patient = repo.read("Patient", PATIENT_ID)
    assert [i["value"] for i in patient["identifier"]] == ["MRN123"]  # MRN999 is gone
    assert patient["birthDate"] == "1961-06-15"
    assert patient["address"][0]["city"] == "Ann Arbor"
    assert patient["active"] is True
    assert patient["link"] == [{"other": {"reference": f"Patient/{wrong_id}"}, "type": "replaces"}]
    old = repo.read("Patient", wrong_id)
    assert old["active"] is False and old["link"][0]["type"] == "replaced-by"
    # Messages quoting the corrected number update the record that continues.
    assert process_message(repo, _adt("A08", "C3")).code == "AA"
    assert repo.read("Patient", PATIENT_ID)["meta"]["versionId"] == "3"


def test_a47_of_a_secondary_identifier_replaces_it_in_place(repo):
    assert process_message(repo, _adt("A01", "C1")).code == "AA"
    fixed = PID.replace("999-12-3456", "111-22-3333")
    ack = process_message(repo, _a47("C2", fixed, "MRG|999-12-3456^^^USSSA^SS"))
    assert ack.code == "AA" and "ERR" not in _segments(ack.text), ack.text
    identifiers = [i["value"] for i in repo.read("Patient", PATIENT_ID)["identifier"]]
    assert identifiers == ["MRN123", "111-22-3333"]
    assert repo.search("Patient").total == 1


MALFORMED = [
    ("A45 without MRG-5", _a45("X1", f"MRG|MRN123^^^{AUTHORITY}^MR"), "MRG^1^5", "101"),
    ("A45 without MRG", _a45("X1", "EVN|A45"), "MRG^1", "100"),
    ("A45 without PID", _a45("X1", f"MRG|||||V1^^^{AUTHORITY}^VN", pid="PD1|"), "PID^1", "100"),
    ("A47 without MRG-1", _a47("X1", PID, "MRG||||"), "MRG^1^1", "101"),
    ("A47 without PID-3", _a47("X1", "PID|1||||Doe^Jane", "MRG|MRN1^^^GHH^MR"), "PID^1^3", "101"),
]


@pytest.mark.parametrize("case", [m[0] for m in MALFORMED])
def test_malformed_moves_store_nothing(repo, case):
    _, raw, location, code = next(m for m in MALFORMED if m[0] == case)
    assert_refused(repo, raw, "AE", location, code)
