"""MDM^T01 (original document notification, maybe without content) to DocumentReference."""

from __future__ import annotations

import base64

import pytest
from test_hl7v2 import MSH, PID, _msg, _pv1, _segment, assert_refused

from chartkeeper.interfaces.hl7v2 import process_message
from chartkeeper.interfaces.hl7v2.datatypes import resource_id

DOC_ID = resource_id("DocumentReference", "urn:chartkeeper:hl7v2:authority:GHH", "DOC-88")
TXA = _segment(
    "TXA",
    {
        1: "1",
        2: "DS^Discharge summary^HL70270",
        3: "TX",
        6: "20240107120000",
        9: "1234^Attend^Aaron^^^Dr",
        12: "DOC-88^GHH",
        17: "IP",  # in progress (table 0271)
    },
)


def _mdm(event: str, ctl: str, txa: str = TXA, *obx: str) -> str:
    header = MSH.format(type=f"MDM^{event}^MDM_{event}", ctl=ctl)
    return _msg(header, f"EVN|{event}|20240107120000", PID, _pv1("I"), txa, *obx)


def test_t01_announces_a_document_without_content(repo):
    ack = process_message(repo, _mdm("T01", "D1"))
    assert ack.code == "AA", ack.text
    doc = repo.read("DocumentReference", DOC_ID)
    assert (doc["status"], doc["docStatus"]) == ("current", "preliminary")
    assert doc["content"] == [
        {
            "attachment": {
                "contentType": "text/plain",  # TXA-3 TX (table 0191)
                "title": "Discharge summary",
                "creation": "2024-01-07T12:00:00-05:00",
            }
        }
    ]
    assert doc["author"][0]["display"] == "Dr Aaron Attend"


def test_t01_after_the_content_keeps_the_content(repo):
    note = "OBX|1|TX|18842-5^Discharge summary^LN||Discharged home, stable.||||||F"
    authenticated = TXA.replace("|IP", "|AU")
    assert process_message(repo, _mdm("T02", "D1", authenticated, note)).code == "AA"
    assert process_message(repo, _mdm("T01", "D2", authenticated)).code == "AA"
    doc = repo.read("DocumentReference", DOC_ID)
    assert doc["docStatus"] == "final"
    text = base64.b64decode(doc["content"][0]["attachment"]["data"]).decode()
    assert text == "Discharged home, stable."
    # A T01 that does carry the text replaces it like a T02.
    revised = note.replace("stable", "well")
    assert process_message(repo, _mdm("T01", "D3", authenticated, revised)).code == "AA"
    doc = repo.read("DocumentReference", DOC_ID)
    assert base64.b64decode(doc["content"][0]["attachment"]["data"]) == b"Discharged home, well."


MALFORMED = [
    ("no TXA-12", _mdm("T01", "X1", TXA.replace("DOC-88^GHH", "")), "TXA^1^12", "101"),
    ("no TXA", _mdm("T01", "X1", "NTE|1||no TXA here"), "TXA^1", "100"),
    # an unreadable time is left out with a warning now (test_hl7v2_as_sent.py)
    ("T02 without content", _mdm("T02", "X1"), "OBX^1", "100"),
]


@pytest.mark.parametrize("case", [m[0] for m in MALFORMED])
def test_malformed_t01_stores_nothing(repo, case):
    _, raw, location, code = next(m for m in MALFORMED if m[0] == case)
    assert_refused(repo, raw, "AE", location, code)
