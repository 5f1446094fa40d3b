"""HL7 v2 in: ADT, ORU and MDM to FHIR; exact parsing; ACKs that say where; all or nothing;
the sample directory. Newer types have test_hl7v2_*.py files of their own."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from sqlalchemy import func, select

from chartkeeper.interfaces.hl7v2 import import_files, parse_messages, process_message
from chartkeeper.interfaces.hl7v2.datatypes import resource_id
from chartkeeper.store.schema import metadata
from support import shared_data

MSH = "MSH|^~\\&|ADT1|GOOD HEALTH|CHARTKEEPER|CK|20240105083000-0500||{type}|{ctl}|P|2.5.1"
PID = (
    "PID|1||MRN123^^^GHH&2.16.840.1.113883.19.5&ISO^MR~999-12-3456^^^USSSA^SS||"
    "Everyman^Adam^A^III^Dr^^L|Smith|19610615|M|||1 Main St^Apt 2^Ann Arbor^MI^48104^USA^H||"
    "^PRN^PH^^1^734^5550100~^NET^Internet^adam@example.org|^WPN^PH^^1^734^5550199"
)


def _segment(name: str, fields: dict[int, str]) -> str:
    return "|".join([name, *(fields.get(n, "") for n in range(1, max(fields) + 1))])


def _pv1(cls="I", disp="", admit="20240105080000", discharge="") -> str:
    return _segment(
        "PV1",
        {
            1: "1",
            2: cls,
            3: "4E^401^B^GHH",
            7: "1234^Attend^Aaron^^^Dr",
            8: "5678^Refer^Rita",
            10: "MED",
            17: "9999^Admit^Ada",
            19: "V100^^^GHH&2.16.840.1.113883.19.5&ISO^VN",
            36: disp,
            44: admit,
            45: discharge,
        },
    )


GHH = "urn:oid:2.16.840.1.113883.19.5"
PATIENT_ID = resource_id("Patient", GHH, "MRN123")
ENCOUNTER_ID = resource_id("Encounter", GHH, "V100")


def _msg(*segments: str, sep: str = "\r") -> str:
    return sep.join(segments) + sep


def _adt(event: str, ctl: str, *, cls="I", disp="", admit="20240105080000", discharge="", pid=PID):
    pv1 = _pv1(cls, disp, admit, discharge)
    evn = f"EVN|{event}|20240105083000"
    return _msg(MSH.format(type=f"ADT^{event}^ADT_A01", ctl=ctl), evn, pid, pv1)


def _counts(repo) -> dict[str, int]:
    """Rows per table, leaving out what a refused message may add: the Binary keeping its
    raw bytes (with its index rows) and its refused row in the message log."""

    def kept(t):
        query = select(func.count()).select_from(t)
        if "resource_type" in t.c:
            query = query.where(t.c.resource_type != "Binary")
        if t.name == "hl7_message_log":
            query = query.where(t.c.ack_code == "AA")
        return query

    with repo.reading() as tx:
        return {t.name: tx.conn.execute(kept(t)).scalar() for t in metadata.sorted_tables}


def _segments(ack_text: str) -> dict[str, list[list[str]]]:
    out: dict[str, list[list[str]]] = {}
    for line in ack_text.strip("\r").split("\r"):
        fields = line.split("|")
        out.setdefault(fields[0], []).append(fields)
    return out


def test_a01_admits_patient_and_encounter(repo):
    ack = process_message(repo, _adt("A01", "C1"))
    assert ack.code == "AA", ack.text
    msh, msa = _segments(ack.text)["MSH"][0], _segments(ack.text)["MSA"][0]
    assert msh[2:6] == ["CHARTKEEPER", "CK", "ADT1", "GOOD HEALTH"]  # sender and receiver swap
    assert msh[8] == "ACK^A01^ACK" and msa == ["MSA", "AA", "C1"]
    patient = repo.read("Patient", PATIENT_ID)
    assert patient["identifier"][0] == {
        "system": GHH,
        "value": "MRN123",
        "type": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]
        },
        "assigner": {"display": "GHH"},
    }
    assert patient["name"] == [
        {
            "use": "official",
            "family": "Everyman",
            "given": ["Adam", "A"],
            "prefix": ["Dr"],
            "suffix": ["III"],
        }
    ]
    assert (patient["birthDate"], patient["gender"], patient["active"]) == (
        "1961-06-15",
        "male",
        True,
    )
    assert patient["address"][0]["line"] == ["1 Main St", "Apt 2"]
    assert {(t["system"], t["value"], t["use"]) for t in patient["telecom"]} == {
        ("phone", "+1 734 5550100", "home"),
        ("email", "adam@example.org", "home"),
        ("phone", "+1 734 5550199", "work"),
    }
    encounter = repo.read("Encounter", ENCOUNTER_ID)
    assert encounter["status"] == "in-progress"
    assert encounter["class"]["code"] == "IMP"
    assert encounter["subject"] == {"reference": f"Patient/{PATIENT_ID}"}
    assert encounter["identifier"][0]["value"] == "V100"
    assert encounter["period"] == {"start": "2024-01-05T08:00:00-05:00"}  # MSH-7's zone
    roles = [p["type"][0]["coding"][0]["code"] for p in encounter["participant"]]
    assert roles == ["ATND", "REF", "ADM"]
    assert encounter["participant"][0]["individual"]["display"] == "Dr Aaron Attend"


def test_a03_discharge_finishes_the_same_encounter(repo):
    assert process_message(repo, _adt("A01", "C1")).code == "AA"
    ack = process_message(repo, _adt("A03", "C2", admit="", discharge="20240107113000", disp="01"))
    assert ack.code == "AA", ack.text
    encounter = repo.read("Encounter", ENCOUNTER_ID)
    assert encounter["status"] == "finished"
    # The admit time from A01 stays although the A03 left PV1-44 empty.
    assert encounter["period"] == {
        "start": "2024-01-05T08:00:00-05:00",
        "end": "2024-01-07T11:30:00-05:00",
    }
    assert encounter["hospitalization"]["dischargeDisposition"]["coding"][0] == {
        "system": "http://terminology.hl7.org/CodeSystem/v2-0112",
        "code": "01",
    }
    assert encounter["meta"]["versionId"] == "2"


def test_a04_registers_an_outpatient_visit(repo):
    ack = process_message(repo, _adt("A04", "C1", cls="O"))
    assert ack.code == "AA", ack.text
    encounter = repo.read("Encounter", ENCOUNTER_ID)
    assert encounter["class"]["code"] == "AMB"
    assert encounter["status"] == "planned"  # v2-to-FHIR Event[EncounterStatus]: A04 planned


def test_a08_updates_demographics_on_the_same_ids(repo):
    process_message(repo, _adt("A01", "C1"))
    moved = PID.replace("1 Main St^Apt 2^Ann Arbor^MI^48104", "9 Elm Rd^^Ypsilanti^MI^48197")
    ack = process_message(repo, _adt("A08", "C2", pid=moved.replace("Everyman", "Everyperson")))
    assert ack.code == "AA", ack.text
    patient = repo.read("Patient", PATIENT_ID)
    assert patient["meta"]["versionId"] == "2"
    assert patient["name"][0]["family"] == "Everyperson"
    assert patient["address"][0]["city"] == "Ypsilanti"
    encounter = repo.read("Encounter", ENCOUNTER_ID)
    assert encounter["status"] == "in-progress"  # A08 does not say where the visit stands
    assert repo.search("Patient").total == 1


def test_a40_merge_links_both_records(repo):
    old = PID.replace("MRN123", "MRN999")
    process_message(repo, _adt("A01", "C1", pid=old))
    old_id = resource_id("Patient", GHH, "MRN999")
    a40 = _msg(
        MSH.format(type="ADT^A40^ADT_A39", ctl="C2"),
        "EVN|A40|20240105090000",
        PID,
        "MRG|MRN999^^^GHH&2.16.840.1.113883.19.5&ISO^MR",
    )
    ack = process_message(repo, a40)
    assert ack.code == "AA", ack.text
    survivor, source = repo.read("Patient", PATIENT_ID), repo.read("Patient", old_id)
    assert survivor["link"] == [{"other": {"reference": f"Patient/{old_id}"}, "type": "replaces"}]
    assert source["link"] == [
        {"other": {"reference": f"Patient/{PATIENT_ID}"}, "type": "replaced-by"}
    ]
    assert source["active"] is False
    # A later update of the merged-away record keeps its merge state.
    process_message(repo, _adt("A08", "C3", pid=old.replace("Adam", "Adan")))
    source = repo.read("Patient", old_id)
    assert source["active"] is False and source["link"][0]["type"] == "replaced-by"


ORU = [
    MSH.format(type="ORU^R01^ORU_R01", ctl="L1"),
    PID,
    "ORC|RE|PL1^GHH|FL1^LAB",
    "OBR|1|PL1^GHH|FL1^LAB|24331-1^Lipid panel^LN|||20240105070000|||||||||||||||20240105100000-0500||CH|F",
    "OBX|1|NM|2093-3^Cholesterol^LN||245|mg/dL^milligram per deciliter^UCUM|<200|H|||F",
    "OBX|2|SN|2571-8^Triglyceride^LN||<^150|mg/dL^^UCUM|0-149|N|||F",
    "NTE|1||Fasting specimen",
    "OBR|2|PL2^GHH|FL2^LAB|22637-3^Pathology report final diagnosis^LN|||20240105070000|||||||||||||||||SP|F",
    "OBX|1|TX|22637-3^Final diagnosis^LN|1|SKIN, LEFT FOREARM, SHAVE BIOPSY:||||||F",
    "OBX|2|TX|22637-3^Final diagnosis^LN|1|  Basal cell carcinoma, nodular type.||||||F",
    "OBX|3|TX|22637-3^Final diagnosis^LN|1|||||||F",
    "OBX|4|TX|22637-3^Final diagnosis^LN|1|Margins: free \\T\\ clear.\\.br\\See comment.||||||F",
]
REPORT_TEXT = (
    "SKIN, LEFT FOREARM, SHAVE BIOPSY:\n  Basal cell carcinoma, nodular type.\n\n"
    "Margins: free & clear.\nSee comment."
)


def test_oru_numeric_and_text_results(repo):
    ack = process_message(repo, _msg(*ORU))
    assert ack.code == "AA", ack.text
    labs = repo.read(
        "DiagnosticReport",
        resource_id("DiagnosticReport", "FILL", "urn:chartkeeper:hl7v2:authority:LAB", "FL1"),
    )
    assert labs["status"] == "final" and labs["code"]["coding"][0]["code"] == "24331-1"
    assert labs["effectiveDateTime"] == "2024-01-05T07:00:00-05:00"
    assert labs["issued"] == "2024-01-05T10:00:00-05:00"
    assert [i["type"]["coding"][0]["code"] for i in labs["identifier"]] == ["FILL", "PLAC"]
    chol, trig = (repo.read("Observation", r["reference"].split("/")[1]) for r in labs["result"])
    assert chol["valueQuantity"] == {
        "value": 245,
        "unit": "milligram per deciliter",
        "system": "http://unitsofmeasure.org",
        "code": "mg/dL",
    }
    assert chol["referenceRange"][0]["text"] == "<200"
    assert chol["referenceRange"][0]["high"]["value"] == 200
    assert chol["interpretation"][0]["coding"][0]["code"] == "H"
    assert trig["valueQuantity"]["comparator"] == "<"
    assert trig["referenceRange"][0]["low"]["value"] == 0
    assert trig["note"] == [{"text": "Fasting specimen"}]
    path = repo.read(
        "DiagnosticReport",
        resource_id("DiagnosticReport", "FILL", "urn:chartkeeper:hl7v2:authority:LAB", "FL2"),
    )
    assert len(path["result"]) == 1  # four TX lines, one result, kept whole
    text_obs = repo.read("Observation", path["result"][0]["reference"].split("/")[1])
    assert text_obs["valueString"] == REPORT_TEXT
    form = path["presentedForm"][0]
    assert form["contentType"].startswith("text/plain")
    assert base64.b64decode(form["data"]).decode() == REPORT_TEXT
    # Re-sent with a new control id (a corrected copy, say): same ids, no duplicates.
    again = [line.replace("|L1|", "|L2|") for line in ORU]
    assert process_message(repo, _msg(*again)).code == "AA"
    assert repo.search("Observation").total == 3


def test_mdm_t02_note_text(repo):
    mdm = _msg(
        MSH.format(type="MDM^T02^MDM_T02", ctl="D1"),
        "EVN|T02|20240105120000",
        PID,
        _pv1("O"),
        _segment(
            "TXA",
            {
                1: "1",
                2: "PN^Progress note^HL70270",
                3: "TX",
                4: "20240105113000",
                6: "20240105120000",
                9: "1234^Attend^Aaron^^^Dr",
                12: "DOC-77^GHH",
                17: "AU",
                19: "AV",
            },
        ),
        "OBX|1|TX|11506-3^Progress note^LN||Patient seen on the ward.||||||F",
        "OBX|2|TX|11506-3^Progress note^LN||Plan: continue \\S\\ monitor.||||||F",
    )
    ack = process_message(repo, mdm)
    assert ack.code == "AA", ack.text
    doc_id = resource_id("DocumentReference", "urn:chartkeeper:hl7v2:authority:GHH", "DOC-77")
    doc = repo.read("DocumentReference", doc_id)
    assert doc["masterIdentifier"]["value"] == "DOC-77"
    assert (doc["status"], doc["docStatus"]) == ("current", "final")
    assert doc["type"]["coding"][0] == {
        "system": "http://terminology.hl7.org/CodeSystem/v2-0270",
        "code": "PN",
        "display": "Progress note",
    }
    assert doc["author"][0]["display"] == "Dr Aaron Attend"
    assert doc["date"] == "2024-01-05T12:00:00-05:00"
    assert doc["context"]["encounter"] == [{"reference": f"Encounter/{ENCOUNTER_ID}"}]
    attachment = doc["content"][0]["attachment"]
    text = base64.b64decode(attachment["data"]).decode()
    assert text == "Patient seen on the ward.\nPlan: continue ^ monitor."


def _bad(msh: str = MSH.format(type="ADT^A01^ADT_A01", ctl="X1"), *rest: str) -> str:
    return _msg(msh, "EVN|A01|20240105083000", *rest)


PV1_OK = _pv1()
MALFORMED = [
    # (case, message, MSA-1, ERR-2, ERR-3)
    ("no MSH", _msg(PID, PV1_OK), "AR", "MSH^1", "100"),
    ("letter as field separator", _bad(MSH.replace("|", "A")), "AR", "MSH^1^1", "102"),
    ("wrong field separator", _bad(MSH.replace("|", ",", 2)), "AR", "MSH^1^1", "102"),
    ("two encoding characters", _bad(MSH.replace("^~\\&", "^~", 1)), "AR", "MSH^1^2", "102"),
    (
        "unknown event",
        _bad(MSH.format(type="ADT^Z99", ctl="X1"), PID, PV1_OK),
        "AR",
        "MSH^1^9^1^2",
        "201",
    ),
    ("unsupported type", _bad(MSH.format(type="RDE^O11", ctl="X1")), "AR", "MSH^1^9^1^1", "200"),
    (
        "unsupported version",
        _bad(MSH.format(type="ADT^A01", ctl="X1").replace("2.5.1", "3.0"), PID, PV1_OK),
        "AR",
        "MSH^1^12",
        "203",
    ),
    (
        "cut in the middle of PID",
        _bad(MSH.format(type="ADT^A01", ctl="X1"), PID[:40]),
        "AE",
        "PV1^1",
        "100",
    ),
    (
        "missing PID-3",
        _bad(MSH.format(type="ADT^A01", ctl="X1"), "PID|1||||Doe^Jane", PV1_OK),
        "AE",
        "PID^1^3",
        "101",
    ),
    # A bad birth date or a number that is text are kept with warnings now
    # (test_hl7v2_as_sent.py).
]


def assert_refused(repo, raw: str, code: str, location: str, error_code: str):
    """`raw` is answered with `code` and a first ERR at `location` with table 0357
    `error_code`, severity E, in words; and the store is left exactly as it was."""
    before = _counts(repo)
    ack = process_message(repo, raw)
    assert ack.code == code, ack.text
    segments = _segments(ack.text)
    assert segments["MSA"][0][1] == code
    err = segments["ERR"][0]
    assert (err[2], err[3].split("^")[0], err[4]) == (location, error_code, "E"), ack.text
    assert err[8]  # ERR-8 says what is wrong in words
    assert _counts(repo) == before
    return ack


@pytest.mark.parametrize("case", [m[0] for m in MALFORMED])
def test_malformed_messages_are_refused_and_store_nothing(repo, case):
    _, raw, code, location, error_code = next(m for m in MALFORMED if m[0] == case)
    assert_refused(repo, raw, code, location, error_code)


def test_v23_ack_uses_err1_and_msa3(repo):
    raw = _bad(MSH.format(type="ADT^A01", ctl="X1").replace("2.5.1", "2.3"), "PID|1||||Doe")
    ack = process_message(repo, raw)
    segments = _segments(ack.text)
    assert segments["MSA"][0][:3] == ["MSA", "AE", "X1"] and segments["MSA"][0][3]
    assert segments["ERR"][0][1].startswith("PID^1^3^101&")


def test_resent_message_gets_the_same_ack_and_writes_nothing(repo):
    first = process_message(repo, _adt("A01", "C1"))
    before = _counts(repo)
    again = process_message(repo, _adt("A01", "C1").replace("\r", "\n"))  # same message
    assert again.duplicate and again.text == first.text and again.code == "AA"
    assert _counts(repo) == before
    # A different message under the same control id is a message of its own
    # (test_hl7v2_control_ids.py has the details).
    reused = process_message(repo, _adt("A03", "C1", discharge="20240107113000"))
    assert reused.code == "AA" and not reused.duplicate
    err = _segments(reused.text)["ERR"][0]
    assert (err[2], err[3].split("^")[0], err[4]) == ("MSH^1^10", "205", "W")
    assert repo.read("Encounter", ENCOUNTER_ID)["status"] == "finished"


@pytest.mark.parametrize("sep", ["\r", "\n", "\r\n"])
def test_segment_separators(sep):
    [message] = parse_messages(_adt("A01", "C1").replace("\r", sep).encode())
    assert [s.name for s in message.segments] == ["MSH", "EVN", "PID", "PV1"]
    assert message.first("PID").get(7) == "19610615"


def test_delimiters_come_from_msh():
    raw = "MSH*!@%$*A*B*C*D*20240101**ADT!A01*1*P*2.5\rPID*1**X1!!!AUTH!MR@Y2**Doe!Jo\r"
    [message] = parse_messages(raw)
    pid = message.first("PID")
    assert [r.get(1) for r in pid.reps(3)] == ["X1", "Y2"]
    assert pid.rep(3).get(4) == "AUTH" and pid.rep(5).get(2) == "Jo"
    assert (message.type, message.event) == ("ADT", "A01")


def test_bom_and_several_messages_in_one_file(repo, tmp_path):
    plain = "\ufeff" + (_adt("A01", "F1") + _adt("A03", "F2", discharge="20240107")).replace(
        "\r", "\n"
    )
    batch = "FHS|^~\\&\rBHS|^~\\&\r" + _adt("A08", "F3") + _adt("A08", "F4") + "BTS|2\rFTS|1\r"
    (tmp_path / "a.hl7").write_bytes(plain.encode("utf-8"))
    (tmp_path / "b.txt").write_bytes(batch.encode("utf-8"))
    seen = []
    report = import_files(repo, [tmp_path / "a.hl7", tmp_path / "b.txt"], on_message=seen.append)
    assert (report.files, report.messages, report.accepted, report.ok) == (2, 4, 4, True)
    assert [r.ack.control_id for r in seen] == ["F1", "F2", "F3", "F4"]
    assert repo.read("Encounter", ENCOUNTER_ID)["status"] == "finished"


def test_sample_directory_as_is(repo):
    """The acceptance check: every sample file, in file order, as it is, gets AA. The
    samples re-use control ids for different messages (13 files say ADTApp MSG00001):
    those are processed, each ACK warning that its control id was used before."""
    paths = sorted(shared_data("hl7v2").glob("*.hl7"))
    report = import_files(repo, paths)
    acks = {Path(r.source).stem: r.ack for r in report.results}
    refused = {stem: ack.text for stem, ack in acks.items() if ack.code != "AA"}
    assert not refused
    assert (report.messages, report.accepted, report.duplicates) == (len(paths), len(paths), 0)
    for stem in ("ADT-A08-01", "ADT-A40-02", "MDM_01", "MDM-T02-01"):
        warning = next(p for p in acks[stem].problems if p.code == 205)
        assert warning.severity == "W" and "already used" in warning.text
    assert not any(p.code == 205 for p in acks["ADT-A01-01"].problems)
    kinds = ("Patient", "Encounter", "DiagnosticReport", "Observation", "DocumentReference")
    kinds += ("Appointment", "Immunization", "ServiceRequest")
    stored = {t: repo.search(t).total for t in kinds}
    assert all(stored.values()), stored
    # Importing the directory again is all re-sends: nothing new is written.
    before = _counts(repo)
    again = import_files(repo, paths)
    assert (again.accepted, again.duplicates, again.resources) == (len(paths), len(paths), 0)
    assert _counts(repo) == before


def test_an_update_from_the_feed_keeps_the_sensitivity_labels_on_the_record(repo):
    """A sending system knows nothing of our labels: its A08 changes the demographics and
    leaves a 42 CFR Part 2 label a privacy officer put on the patient where it was."""
    process_message(repo, _adt("A01", "L1"))
    labelled = repo.read("Patient", PATIENT_ID)
    label = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "ETH"}
    repo.update({**labelled, "meta": {"security": [label]}})
    ack = process_message(repo, _adt("A08", "L2", pid=PID.replace("Everyman", "Everyperson")))
    assert ack.code == "AA", ack.text
    patient = repo.read("Patient", PATIENT_ID)
    assert patient["name"][0]["family"] == "Everyperson"
    assert patient["meta"]["security"] == [label]
