"""HL7 v2 as hospitals send it: versions 2.1 to 2.8.2, every TS/DTM precision, escapes,
numbers with comparators or words, missing optional fields. What can be kept is kept with
an ERR of severity W; the raw message is always stored and linked to what it produced;
and no input, however broken, escapes process_message without an ACK."""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path

import pytest
from hl7_as_sent import _pid, adt, cases, mdm, oru
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from chartkeeper.interfaces.hl7v2 import process_message
from chartkeeper.interfaces.hl7v2.source import CONTENT_TYPE, binary_id
from chartkeeper.store import Repository
from chartkeeper.store.engine import make_engine, upgrade
from chartkeeper.store.hl7_log import hl7_message_log


def _segments(ack_text: str) -> dict[str, list[list[str]]]:
    out: dict[str, list[list[str]]] = {}
    for line in ack_text.strip("\r").split("\r"):
        fields = line.split("|")
        out.setdefault(fields[0], []).append(fields)
    return out


def _written(repo, ack, resource_type: str) -> list[dict]:
    """The versions of `resource_type` the message wrote, or confirmed unchanged (those
    are among its Provenance's targets)."""
    refs = list(ack.resources)
    for ref in ack.resources:
        if ref.startswith("Provenance/") and resource_type != "Provenance":
            _, pid, _, version = ref.split("/")
            targets = repo.vread("Provenance", pid, int(version))["target"]
            refs += [t["reference"] for t in targets if t["reference"] not in refs]
    found = [r.split("/") for r in refs if r.startswith(resource_type + "/")]
    return [repo.vread(t, i, int(v)) for t, i, _, v in found]


def _provenance_of(repo, ack) -> dict:
    [provenance] = _written(repo, ack, "Provenance")
    return provenance


def test_the_varied_set_is_accepted_and_nothing_is_lost(repo):
    """Every message of the self-written varied set (113 messages) is AA; each one's raw
    bytes are stored as a Binary, and a Provenance links that Binary to every version the
    message wrote."""
    refused = {}
    for name, raw in cases():
        ack = process_message(repo, raw)
        if ack.code != "AA":
            refused[name] = ack.text
            continue
        assert all(p.severity == "W" for p in ack.problems), (name, ack.text)
        provenance = _provenance_of(repo, ack)
        [binary] = _written(repo, ack, "Binary")
        assert base64.b64decode(binary["data"]).decode() == raw
        assert binary["contentType"] == CONTENT_TYPE
        assert provenance["entity"][0]["what"]["reference"] == f"Binary/{binary['id']}"
        clinical = {r for r in ack.resources if not r.startswith(("Binary/", "Provenance/"))}
        assert clinical <= {t["reference"] for t in provenance["target"]}, name
    assert not refused


def _only(repo, ack, resource_type: str) -> dict:
    found = _written(repo, ack, resource_type)
    assert len(found) == 1, ack.resources
    return found[0]


NM_VALUES = [
    ("<5", {"valueQuantity": {"value": 5, "unit": "mIU/mL", "comparator": "<"}}),
    (">=10", {"valueQuantity": {"value": 10, "unit": "mIU/mL", "comparator": ">="}}),
    ("=7", {"valueQuantity": {"value": 7, "unit": "mIU/mL"}}),
    ("positive", {"valueString": "positive"}),
    ("1:64", {"valueString": "1:64"}),
]


def test_nm_with_comparator_or_text_is_kept(repo):
    for n, (value, expected) in enumerate(NM_VALUES):
        obx = [f"OBX|1|NM|5195-3^HBsAg^LN||{value}|mIU/mL|||||F"]
        ack = process_message(repo, oru(f"N{n}", obx=obx))
        assert ack.code == "AA", ack.text
        obs = _only(repo, ack, "Observation")
        assert {k: v for k, v in obs.items() if k.startswith("value")} == expected
        errs = _segments(ack.text).get("ERR", [])
        if value.strip("=").replace(".", "").isdigit():
            assert not errs
        else:
            assert [(e[2], e[3].split("^")[0], e[4]) for e in errs] == [("OBX^1^5", "102", "W")]


def test_a_result_corrected_from_number_to_text_replaces_the_value(repo):
    assert process_message(repo, oru("C1")).code == "AA"
    ack = process_message(
        repo, oru("C2", obx=["OBX|1|NM|2345-7^Glucose^LN||hemolyzed|mg/dL|||||C"])
    )
    obs = _only(repo, ack, "Observation")
    assert obs["valueString"] == "hemolyzed" and "valueQuantity" not in obs
    assert obs["status"] == "corrected"


def test_obr_without_service_identifier_or_order_numbers(repo):
    obr = "OBR|1|||||||20230614070000||||||||||||||||CH|F"
    ack = process_message(repo, oru("O1", obr=obr))
    assert ack.code == "AA", ack.text
    report = _only(repo, ack, "DiagnosticReport")
    assert report["code"]["coding"][0]["code"] == "unknown"
    assert "OBR-4" in report["code"]["text"]
    assert {(e[2], e[4]) for e in _segments(ack.text)["ERR"]} == {
        ("OBR^1^3", "W"),
        ("OBR^1^4", "W"),
    }
    # The same message re-sent is a duplicate: nothing new, the same report.
    again = process_message(repo, oru("O1", obr=obr))
    assert again.duplicate and again.resources == ack.resources


def test_a03_with_death_fields(repo):
    pid = _pid(extra="||||||||||20230614235900-0500|Y")
    ack = process_message(repo, adt("A03", "D1", pid=pid, discharge="20230614235900"))
    assert ack.code == "AA" and not ack.problems, ack.text
    patient = _only(repo, ack, "Patient")
    assert patient["deceasedDateTime"] == "2023-06-14T23:59:00-05:00"
    encounter = _only(repo, ack, "Encounter")
    assert encounter["status"] == "finished"
    # A later message with only the indicator: one deceased[x], the date kept by overlay
    # rules would be wrong, so the indicator replaces it.
    ack = process_message(repo, adt("A08", "D2", pid=_pid(extra="|||||||||||Y")))
    patient = _only(repo, ack, "Patient")
    assert patient["deceasedBoolean"] is True and "deceasedDateTime" not in patient


def test_every_version_is_read(repo):
    for version in ["2.1", "2.2", "2.3", "2.4", "2.6", "2.7.1", "2.8.2"]:
        ack = process_message(repo, adt("A01", f"V{version}", version))
        assert ack.code == "AA" and not ack.problems, ack.text
        assert _only(repo, ack, "Patient")["name"][0]["family"] == "O&Brien"  # \T\ unescaped
        msa = _segments(ack.text)["MSA"][0]
        assert msa[:3] == ["MSA", "AA", f"V{version}"]


def test_v22_event_in_evn_and_pid2_identifier(repo):
    raw = adt("A04", "E1", "2.2", pid="PID|1|E4402^^^SMH|||Doe^Jon||19800101|M")
    raw = raw.replace("ADT^A04|", "ADT|", 1)
    ack = process_message(repo, raw)
    assert ack.code == "AA", ack.text
    assert ack.message_type == "ADT^A04"  # the event read from EVN-1
    patient = _only(repo, ack, "Patient")
    assert patient["identifier"][0]["value"] == "E4402"
    assert _only(repo, ack, "Encounter")["status"] == "planned"  # A04 from EVN-1
    assert [(e[1].split("^")[:3]) for e in _segments(ack.text)["ERR"]] == [["PID", "1", "3"]]


TIMESTAMP_FORMS = [
    ("2023", "2023"),
    ("202306", "2023-06"),
    ("2023061409", "2023-06-14T09:00:00-04:00"),
    ("20230614093015.1234+0530", "2023-06-14T09:30:15.1234+05:30"),
    ("20230614093015^S", "2023-06-14T09:30:15-04:00"),
    ("2023-06-14T09:30:15Z", "2023-06-14T09:30:15Z"),  # not HL7: read, with a warning
]


def test_timestamp_forms(repo):
    for n, (stamp, expected) in enumerate(TIMESTAMP_FORMS):
        raw = adt("A01", f"T{n}", admit=stamp, visit=f"V{n}")
        raw = raw.replace("20230614093015||ADT", "20230614093015-0400||ADT")
        ack = process_message(repo, raw)
        assert ack.code == "AA", ack.text
        assert _only(repo, ack, "Encounter")["period"]["start"] == expected
        assert bool(ack.problems) == ("-" in stamp[:8])


def test_bad_dates_are_left_out_with_a_warning(repo):
    ack = process_message(repo, adt("A01", "B1", pid=_pid().replace("19570322", "19570332")))
    assert ack.code == "AA"
    assert "birthDate" not in _only(repo, ack, "Patient")
    [err] = _segments(ack.text)["ERR"]
    assert (err[2], err[3].split("^")[0], err[4]) == ("PID^1^7", "102", "W")
    assert "19570332" in err[8]


def test_escapes_and_broken_lines_in_text(repo):
    ack = process_message(
        repo, mdm("T02", "M1").replace("Discharged home.", "Discharged\rhome \\F\\ well.")
    )
    assert ack.code == "AA", ack.text
    document = _only(repo, ack, "DocumentReference")
    text = base64.b64decode(document["content"][0]["attachment"]["data"]).decode()
    assert "chest pain & dyspnea" in text
    assert "Troponin <0.01\nECG normal.\nDischarged\nhome | well." in text


def test_a_refused_message_is_still_kept_raw_and_a_fixed_resend_is_processed(repo):
    bad = adt("A01", "R1", pid="PID|1||||Doe^Jane")
    ack = process_message(repo, bad)
    assert ack.code == "AE"
    binary = repo.read("Binary", binary_id(bad))
    assert base64.b64decode(binary["data"]).decode() == bad
    with repo.reading() as tx:
        rows = tx.conn.execute(
            select(hl7_message_log.c.ack_code, hl7_message_log.c.resources)
        ).all()
    assert [r.ack_code for r in rows] == ["AE"]
    assert process_message(repo, bad).code == "AE"  # re-sent: processed again, not replayed
    fixed = process_message(repo, adt("A01", "R1"))
    assert fixed.code == "AA" and not fixed.duplicate


def test_unparseable_bytes_are_kept_too(repo):
    raw = b"\x00\xffnot HL7 at all"
    ack = process_message(repo, raw)
    assert ack.code == "AR"
    assert base64.b64decode(repo.read("Binary", binary_id(raw))["data"]) == raw


# --- fuzzing: no exception escapes, an ACK always comes back -----------------------------

_SEED = [adt("A01", "F1"), oru("F2"), mdm("T02", "F3"), adt("A03", "F4", "2.2")]
_NOISE = st.sampled_from(
    ["|", "^", "~", "\\", "&", "\r", "\n", '""', "\\X0\\", "\\.br", "\\Z9\\", "9" * 30, "\x00", "é"]
)


@st.composite
def _mangled(draw) -> str:
    text = draw(st.sampled_from(_SEED))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "cut", "replace"]))
        if action == "insert":
            text = text[:at] + draw(st.one_of(_NOISE, st.text(max_size=8))) + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 20)) :]
        elif action == "cut":
            text = text[:at]
        else:
            text = text[:at] + draw(st.text(max_size=3)) + text[at + 3 :]
    return text


@pytest.fixture(scope="module")
def fuzz_repo():
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'fuzz.db'}")
        upgrade(engine)
        yield Repository(engine)
        engine.dispose()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=_mangled(), as_bytes=st.booleans())
def test_fuzzed_messages_always_get_an_ack(fuzz_repo, raw, as_bytes):
    data = raw.encode("utf-8") if as_bytes else raw
    ack = process_message(fuzz_repo, data)
    assert ack.code in ("AA", "AE", "AR")
    segments = _segments(ack.text)
    assert segments["MSH"] and segments["MSA"][0][1] == ack.code
    if ack.code == "AA":  # accepted: linked to its raw message
        assert any(r.startswith("Binary/") for r in ack.resources) or ack.duplicate
    else:  # an internal error is never the answer to bad input
        assert all(p.code != 207 for p in ack.problems), ack.text
