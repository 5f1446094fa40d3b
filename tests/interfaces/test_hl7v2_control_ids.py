"""The message log's key: sender, control id and content.

The same message re-sent is answered with its first ACK and writes nothing; a different
message re-using a control id is processed like any other, its AA carrying a warning.
"""

from __future__ import annotations

from sqlalchemy import func, select
from test_hl7v2 import ENCOUNTER_ID, PATIENT_ID, _adt, _counts, _segments, assert_refused
from test_hl7v2 import PID as PID_LINE

from chartkeeper.interfaces.hl7v2 import parse_messages, process_message
from chartkeeper.interfaces.hl7v2.log import canonical, digest
from chartkeeper.store.hl7_log import hl7_message_log


def _logged(repo) -> int:
    with repo.reading() as tx:
        query = select(func.count()).select_from(hl7_message_log)
        return tx.conn.execute(query.where(hl7_message_log.c.ack_code == "AA")).scalar()


def _custom_delimiters(raw: str) -> str:
    """The same message written with `#` fields, `!` components, `*` repetitions, `$`
    escapes and `%` subcomponents (a data `|` then has to stay as it is)."""
    table = str.maketrans({"|": "#", "^": "!", "~": "*", "\\": "$", "&": "%"})
    return raw.translate(table)


def test_same_message_resent_is_a_duplicate_however_delimited(repo):
    first = process_message(repo, _adt("A01", "C1"))
    assert first.code == "AA" and not first.duplicate
    before = _counts(repo)
    variants = [
        _adt("A01", "C1").replace("\r", "\r\n"),  # other segment ends
        _adt("A01", "C1").replace("\r", "|\r"),  # trailing empty fields
        _custom_delimiters(_adt("A01", "C1")),  # other delimiters
    ]
    for raw in variants:
        again = process_message(repo, raw)
        assert again.duplicate and again.code == "AA", raw
        assert again.text == first.text  # the stored ACK, word for word
        assert again.resources == first.resources
    assert _counts(repo) == before


def test_canonical_form_keeps_data_that_looks_like_a_delimiter():
    [plain] = parse_messages(_adt("A01", "C1").replace("Ann Arbor", "Ann \\F\\ Arbor"))
    [custom] = parse_messages(
        _custom_delimiters(_adt("A01", "C1")).replace("Ann Arbor", "Ann | Arbor")
    )
    assert custom.first("PID").rep(11).get(3) == "Ann | Arbor"
    assert canonical(custom) == canonical(plain)
    assert digest(custom) == digest(plain)


def test_reused_control_id_with_different_content_is_processed_with_a_warning(repo):
    assert process_message(repo, _adt("A01", "C1")).code == "AA"
    discharge = _adt("A03", "C1", discharge="20240107113000", disp="01")
    reused = process_message(repo, discharge)
    assert reused.code == "AA" and not reused.duplicate, reused.text
    assert reused.resources  # written like any other message
    segments = _segments(reused.text)
    assert segments["MSA"][0][:3] == ["MSA", "AA", "C1"]
    err = segments["ERR"][0]
    assert (err[2], err[3].split("^")[0], err[4]) == ("MSH^1^10", "205", "W")
    assert "already used for a different ADT\\S\\A01 message" in err[8]  # ^ escaped
    assert repo.read("Encounter", ENCOUNTER_ID)["status"] == "finished"
    assert _logged(repo) == 2
    # That second message re-sent is a duplicate in turn, answered with its own ACK.
    before = _counts(repo)
    again = process_message(repo, discharge)
    assert again.duplicate and again.text == reused.text
    assert _counts(repo) == before


def test_reused_control_id_with_bad_content_is_refused_and_logs_nothing(repo):
    assert process_message(repo, _adt("A01", "C1")).code == "AA"
    bad = _adt("A08", "C1").replace(PID_LINE, "PID|1||||Doe^Jane")
    ack = assert_refused(repo, bad, "AE", "PID^1^3", "101")
    assert [p.code for p in ack.problems] == [101]  # the reuse warning went with the message
    assert _logged(repo) == 1
    assert repo.read("Patient", PATIENT_ID)["birthDate"] == "1961-06-15"


def test_control_ids_are_scoped_by_sender(repo):
    assert process_message(repo, _adt("A01", "C1")).code == "AA"
    other_sender = _adt("A08", "C1").replace("|ADT1|GOOD HEALTH|", "|ADT2|GOOD HEALTH|", 1)
    ack = process_message(repo, other_sender)
    assert ack.code == "AA" and "ERR" not in _segments(ack.text)
