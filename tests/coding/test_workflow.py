"""The coding workflow on both backends: the queue (finished encounters whose notes are all
final and signed), assigning codes, physician queries, DNFB days and productivity."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from chartkeeper.coding import workflow
from chartkeeper.errors import BadRequest, Conflict
from chartkeeper.store import PutItem

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    path = tmp_path_factory.getbasetemp().parent / "coding-shared"
    path.mkdir(exist_ok=True)
    return path


def note(doc_id, enc_id, text, *, status="final", signed=True) -> dict:
    doc = {
        "resourceType": "DocumentReference",
        "id": doc_id,
        "status": "current",
        "docStatus": status,
        "subject": {"reference": "Patient/p1"},
        "date": "2026-03-02T10:00:00Z",
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain",
                    "data": base64.b64encode(text.encode()).decode(),
                }
            }
        ],
        "context": {"encounter": [{"reference": f"Encounter/{enc_id}"}]},
    }
    if signed:
        doc["authenticator"] = {"reference": "Practitioner/dr1"}
    return doc


def put(repo, resources: list[dict]) -> None:
    with repo.transaction() as tx:
        tx.put_many([PutItem(r) for r in resources])


def encounter(enc_id, *, status="finished", klass="IMP", end="2026-03-05T10:00:00Z") -> dict:
    return {
        "resourceType": "Encounter",
        "id": enc_id,
        "status": status,
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": klass},
        "subject": {"reference": "Patient/p1"},
        "period": {"start": "2026-03-01T10:00:00Z", **({"end": end} if end else {})},
    }


@pytest.fixture
def chart(repo):
    text = "ASSESSMENT:\n1. Pneumonia: antibiotics.\n2. Essential hypertension: continue.\n"
    items = [
        {"resourceType": "Patient", "id": "p1", "name": [{"family": "Test"}]},
        {"resourceType": "Practitioner", "id": "dr1", "name": [{"family": "Doc"}]},
        encounter("ready"),
        note("n-ready", "ready", text),
        encounter("unsigned", end="2026-03-03T10:00:00Z"),
        note("n-unsigned", "unsigned", text, signed=False),
        encounter("prelim"),
        note("n-prelim", "prelim", text, status="preliminary"),
        encounter("open", status="in-progress", end=None),
        note("n-open", "open", text),
        encounter("nonotes", end="2026-03-01T12:00:00Z"),
    ]
    put(repo, items)
    return repo


def test_queue_holds_finished_encounters_with_final_notes(chart):
    items = workflow.queue(chart, now=NOW)
    assert [i.encounter_id for i in items] == ["ready"]
    assert items[0].dnfb_days == pytest.approx(5.08, abs=0.01)
    assert items[0].documents == 1 and items[0].patient_id == "p1"


def test_assign_codes_stores_conditions_and_leaves_the_queue(chart, data_dir):
    done = workflow.assign_codes(
        chart,
        "ready",
        [{"code": "J18.9", "poa": "Y"}, "I10", {"code": "0BJ08ZZ", "kind": "procedure"}],
        coder="coder1",
        data_dir=data_dir,
        now=NOW,
    )
    assert done.principal == "J18.9" and len(done.resources) == 3
    conds = chart.search("Condition", [("encounter", "Encounter/ready")]).resources
    assert {c["code"]["coding"][0]["code"] for c in conds} == {"J18.9", "I10"}
    pneumonia = next(c for c in conds if c["code"]["coding"][0]["code"] == "J18.9")
    assert pneumonia["recorder"]["display"] == "coder1" and pneumonia["asserter"]
    assert pneumonia["recordedDate"].startswith("2026-03-10")
    assert pneumonia["category"][0]["coding"][0]["code"] == "encounter-diagnosis"
    exts = {e["url"]: e["valueCode"] for e in pneumonia["extension"]}
    assert exts[workflow.POA_EXTENSION] == "Y" and exts[workflow.RANK_EXTENSION] == "principal"
    procs = chart.search("Procedure", [("encounter", "Encounter/ready")]).resources
    assert procs[0]["code"]["coding"][0]["code"] == "0BJ08ZZ"
    assert workflow.queue(chart, now=NOW) == []
    # recoding replaces the previous coding: the old resources become entered-in-error
    workflow.assign_codes(chart, "ready", ["J18.9"], coder="coder2", data_dir=data_dir, now=NOW)
    live = [
        c
        for c in chart.search("Condition", [("encounter", "Encounter/ready")]).resources
        if c["verificationStatus"]["coding"][0]["code"] == "confirmed"
    ]
    assert [c["recorder"]["display"] for c in live] == ["coder2"]


def test_assign_codes_refuses_bad_input(chart, data_dir):
    with pytest.raises(BadRequest):
        workflow.assign_codes(chart, "ready", ["E11"], coder="c", data_dir=data_dir)  # header
    with pytest.raises(BadRequest):
        workflow.assign_codes(
            chart, "ready", ["I10"], coder="c", principal="J18.9", data_dir=data_dir
        )
    with pytest.raises(Conflict):
        workflow.assign_codes(chart, "open", ["I10"], coder="c", data_dir=data_dir)
    # a stray word typed as a procedure, or a wrong POA, is refused before anything is stored
    for codes in (
        ["I10", {"code": "x y", "kind": "procedure"}],
        workflow.codes_from_text("I10, pneumonia please"),
        workflow.codes_from_text("I10:maybe"),
    ):
        with pytest.raises(BadRequest):
            workflow.assign_codes(chart, "ready", codes, coder="c", data_dir=data_dir)
    assert [i.encounter_id for i in workflow.queue(chart, now=NOW)] == ["ready"]
    assert chart.search("Procedure", [("encounter", "Encounter/ready")]).total == 0


def test_query_lifecycle(chart):
    q = workflow.open_query(chart, "ready", "dr1", "Acute or chronic?", asked_by="coder1", now=NOW)
    assert (q.status, q.practitioner, q.answer) == ("open", "Practitioner/dr1", None)
    assert workflow.queue(chart, now=NOW)[0].open_queries == 1
    done = workflow.answer_query(chart, q.id, "Acute.", by="dr1", now=NOW)
    assert (done.status, done.answer, done.closed_by) == ("answered", "Acute.", "dr1")
    with pytest.raises(Conflict):
        workflow.withdraw_query(chart, q.id, by="coder1")
    other = workflow.open_query(chart, "ready", "Practitioner/dr1", "Which side?", asked_by="c")
    assert workflow.withdraw_query(chart, other.id, by="c").status == "withdrawn"
    assert [x.id for x in workflow.list_queries(chart, status="answered")] == [q.id]
    assert len(workflow.list_queries(chart, encounter_id="ready")) == 2


def test_dnfb_days(chart, data_dir):
    report = workflow.dnfb(chart, now=NOW)
    days = {r["encounter_id"]: r["days"] for r in report["encounters"]}
    assert days == pytest.approx(
        {"ready": 5.08, "unsigned": 7.08, "prelim": 5.08, "nonotes": 9.0}, abs=0.01
    )
    assert report["total_days"] == pytest.approx(26.25, abs=0.02)
    workflow.assign_codes(chart, "ready", ["I10"], coder="c", data_dir=data_dir, now=NOW)
    assert "ready" not in {r["encounter_id"] for r in workflow.dnfb(chart, now=NOW)["encounters"]}


def test_productivity_and_plot(chart, data_dir):
    for enc_id in ("unsigned", "prelim"):
        put(chart, [note(f"n-{enc_id}", enc_id, "Hypertension.")])
    workflow.assign_codes(chart, "ready", ["I10"], coder="ann", data_dir=data_dir, now=NOW)
    workflow.assign_codes(chart, "unsigned", ["I10"], coder="ann", data_dir=data_dir, now=NOW)
    later = datetime(2026, 3, 11, 12, 0, tzinfo=UTC)
    workflow.assign_codes(chart, "prelim", ["I10"], coder="bob", data_dir=data_dir, now=later)
    report = workflow.productivity(chart)
    assert report["encounters"] == 3
    assert report["coders"]["ann"]["per_day"] == 2 and report["coders"]["bob"]["per_day"] == 1
    assert report["coders"]["ann"]["average_days_to_coded"] == pytest.approx(6.08, abs=0.01)
    assert report["average_days_to_coded"] == pytest.approx((5.08 + 7.08 + 6.08) / 3, abs=0.01)
    png = workflow.plot_productivity(report)
    assert png.startswith(b"\x89PNG")


def test_codes_from_text_reads_a_list_as_a_coder_types_it():
    typed = "J18.9:y; I10\n E11.9 : N ,, "
    assert workflow.codes_from_text(typed) == [
        {"code": "J18.9", "kind": "diagnosis", "poa": "Y"},
        {"code": "I10", "kind": "diagnosis"},
        {"code": "E11.9", "kind": "diagnosis", "poa": "N"},
    ]
    assert workflow.codes_from_text("0BJ08ZZ", "procedure") == [
        {"code": "0BJ08ZZ", "kind": "procedure"}
    ]
    assert workflow.codes_from_text(" , ;") == []


def test_cli_codes_an_encounter(chart, data_dir, capsys, monkeypatch):
    from chartkeeper.cli import main

    monkeypatch.setenv("COLUMNS", "200")
    where = [
        "--database-url",
        chart.engine.url.render_as_string(hide_password=False),
        "--data-dir",
        str(data_dir),
    ]

    def run(*args: str) -> tuple[int, str]:
        with pytest.raises(SystemExit) as exited:
            main(["coding", "assign", *args, *where])
        captured = capsys.readouterr()
        return exited.value.code, captured.out + captured.err

    code, text = run("ready", "J18.9:Y, I10:Y", "--procedures", "0BJ08ZZ")
    assert code == 0 and "J18.9:Y, I10:Y, 0BJ08ZZ" in text, text
    assert workflow.queue(chart, now=NOW) == []
    code, text = run("ready", "E11:Y")  # a category, not a billable code
    assert code == 1 and "not billable" in text and "Traceback" not in text
    code, text = run("ready", " , ")  # refused with the other bad values, before any work
    assert code == 2 and "no codes given" in text
    code, text = run("nobody", "I10")
    assert code == 1 and "Traceback" not in text
