"""Deficiency analysis: every rule fires on a minimal bad chart and clears when the fix is
written through the repository (re-evaluated by the write hook in the same transaction);
the scan against the synthetic generator's documentation-gap truth; rule file validation;
delinquency, completeness and ageing numbers; the ageing chart."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from chartkeeper.interfaces.bundles import import_paths
from chartkeeper.quality import deficiencies as dq
from chartkeeper.quality.deficiencies.rules import RuleFileError, load_rules
from chartkeeper.store import PutItem
from chartkeeper.synth import AS_OF, default_modules, write
from chartkeeper.synth.modules.gaps import DocumentationGaps

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
DR_A, DR_B, SURGEON = "Practitioner/dr-a", "Practitioner/dr-b", "Practitioner/surgeon"
PID = "p1"


def at(days: float = 0, hours: float = 0) -> str:
    """An instant `days` (and hours) before NOW, as FHIR writes it."""
    return (NOW - timedelta(days=days, hours=hours)).isoformat()


def note(nid: str, enc: str, loinc: str, written: str, author: str = DR_A, signed=True) -> dict:
    doc = {
        "resourceType": "DocumentReference",
        "id": nid,
        "status": "current",
        "docStatus": "final" if signed else "preliminary",
        "type": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "subject": {"reference": f"Patient/{PID}"},
        "date": written,
        "author": [{"reference": author}],
        "description": "Note",
        "content": [{"attachment": {"contentType": "text/plain", "data": "dGV4dA=="}}],
        "context": {"encounter": [{"reference": f"Encounter/{enc}"}]},
    }
    if signed:
        doc["authenticator"] = {"reference": author}
    return doc


def encounter(eid: str, klass: str, start: str, end: str, attending: str = DR_A) -> dict:
    return {
        "resourceType": "Encounter",
        "id": eid,
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": klass},
        "subject": {"reference": f"Patient/{PID}"},
        "participant": [
            {
                "type": [{"coding": [{"code": "ATND"}]}],
                "individual": {"reference": attending},
            }
        ],
        "period": {"start": start, "end": end},
        "diagnosis": [{"condition": {"reference": "Condition/dx1"}}],
    }


def good_chart() -> dict[str, dict]:
    """A complete chart: one clinic visit, one surgical stay; no rule finds anything."""
    resources = [
        {
            "resourceType": "Patient",
            "id": PID,
            "name": [{"family": "Okafor", "given": ["Ada"]}],
            "gender": "male",
            "birthDate": "1960-04-02",
            "address": [{"line": ["1 Main St"], "city": "Columbus", "postalCode": "43004"}],
        },
        {
            "resourceType": "Condition",
            "id": "dx1",
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "K35.80"}]},
            "subject": {"reference": f"Patient/{PID}"},
            "recorder": {"reference": DR_B},
        },
        encounter("amb1", "AMB", at(20), at(20, -1)),
        note("n1", "amb1", "11506-3", at(20, -2)),
        {
            "resourceType": "DiagnosticReport",
            "id": "lab1",
            "status": "final",
            "category": [{"coding": [{"code": "LAB"}]}],
            "code": {"text": "CBC"},
            "subject": {"reference": f"Patient/{PID}"},
            "encounter": {"reference": "Encounter/amb1"},
            "effectiveDateTime": at(20),
            "performer": [{"reference": DR_A}],
        },
        encounter("imp1", "IMP", at(10), at(6), attending=DR_B),
        note("hp1", "imp1", "34117-2", at(10, -3), DR_B),
        note("ds1", "imp1", "18842-5", at(6, -5), DR_B),
        {
            "resourceType": "Procedure",
            "id": "proc1",
            "status": "completed",
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "80146002"}]},
            "subject": {"reference": f"Patient/{PID}"},
            "encounter": {"reference": "Encounter/imp1"},
            "performedDateTime": at(9),
            "performer": [{"actor": {"reference": SURGEON}}],
        },
        note("op1", "imp1", "11504-8", at(9, -2), SURGEON),
    ]
    return {f"{r['resourceType']}/{r['id']}": r for r in resources}


HOOK = dq.make_on_write(clock=lambda: NOW)


def put(repo, *resources: dict) -> None:
    """Write through the repository and run the write hook in the same transaction, as the
    store does once the hook is wired in."""
    with repo.transaction() as tx:
        written = tx.put_many([PutItem(copy.deepcopy(r)) for r in resources])
        HOOK(tx, [w.resource for w in written])


def open_rules(repo, patient: str = PID) -> dict[str, dq.Deficiency]:
    found = dq.list_deficiencies(repo, patient=patient)
    return {d.rule_id: d for d in found}


# --- each rule: (rule id, how to break the good chart, how to fix it, responsible) --------


def _unsign(c):
    c["DocumentReference/n1"] = note("n1", "amb1", "11506-3", at(20, -2), signed=False)
    return ["DocumentReference/n1"]


def _sign(c):
    c["DocumentReference/n1"] = note("n1", "amb1", "11506-3", at(1))
    return ["DocumentReference/n1"]


def _drop(key):
    def go(c):
        del c[key]
        return []

    return go


def _restore(key, **changes):
    def go(c):
        c[key] = {**good_chart()[key], **changes}
        return [key]

    return go


def _set(key, **changes):
    def go(c):
        c[key] = {**c[key], **changes}
        return [key]

    return go


def _without(key, element):
    def go(c):
        c[key] = {k: v for k, v in c[key].items() if k != element}
        return [key]

    return go


FIXED_DX = {
    "resourceType": "Condition",
    "id": "dx2",
    "category": [{"coding": [{"code": "encounter-diagnosis"}]}],
    "code": {"text": "Cough"},
    "subject": {"reference": f"Patient/{PID}"},
    "encounter": {"reference": "Encounter/amb1"},
}


def _add_dx(c):
    c["Condition/dx2"] = FIXED_DX
    return ["Condition/dx2"]


CASES = {
    "note-unsigned": (_unsign, _sign, DR_A, "DocumentReference/n1"),
    "discharge-summary-missing": (
        _drop("DocumentReference/ds1"),
        _restore("DocumentReference/ds1", date=at(0, 1)),
        DR_B,
        "Encounter/imp1",
    ),
    "history-physical-missing": (
        _drop("DocumentReference/hp1"),
        _restore("DocumentReference/hp1", date=at(0, 1)),
        DR_B,
        "Encounter/imp1",
    ),
    "procedure-note-missing": (
        _drop("DocumentReference/op1"),
        _restore("DocumentReference/op1"),
        SURGEON,
        "Procedure/proc1",
    ),
    "result-without-orderer": (
        _without("DiagnosticReport/lab1", "performer"),
        _restore("DiagnosticReport/lab1"),
        DR_A,  # no orderer named: the encounter's attending answers for it
        "DiagnosticReport/lab1",
    ),
    "encounter-without-diagnosis": (
        _without("Encounter/amb1", "diagnosis"),
        _add_dx,
        DR_A,
        "Encounter/amb1",
    ),
    "demographics-missing": (
        _without("Patient/p1", "address"),
        _restore("Patient/p1"),
        None,
        "Patient/p1",
    ),
    "events-after-death": (
        _set("Patient/p1", deceasedDateTime=at(9.5)),  # the surgery, 9 days ago, is after it
        _set("Procedure/proc1", status="entered-in-error"),  # it was another patient's
        None,
        "Procedure/proc1",
    ),
    "pregnancy-code-male": (
        _set(
            "Condition/dx1",
            code={"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "O80"}]},
        ),
        _restore("Condition/dx1"),
        DR_B,
        "Condition/dx1",
    ),
    "discharge-before-admission": (
        _set("Encounter/amb1", period={"start": at(20), "end": at(21)}),
        _restore("Encounter/amb1"),
        None,
        "Encounter/amb1",
    ),
}


def test_a_complete_chart_has_no_deficiency(repo):
    put(repo, *good_chart().values())
    assert open_rules(repo) == {}
    assert dq.completeness(repo).overall.failed == 0


def test_every_shipped_rule_has_a_case():
    assert {r.id for r in dq.default_rules()} == set(CASES)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_fires_on_a_bad_chart_and_clears_when_fixed(repo, rule_id):
    breaks, fixes, responsible, resource = CASES[rule_id]
    chart = good_chart()
    breaks(chart)
    put(repo, *chart.values())
    found = open_rules(repo)
    assert set(found) == {rule_id}, {k: v.detail for k, v in found.items()}
    deficiency = found[rule_id]
    assert (deficiency.resource, deficiency.assignee, deficiency.status) == (
        resource,
        responsible,
        "open",
    )
    assert deficiency.severity == dq.default_rules().get(rule_id).severity

    changed = fixes(chart)
    put(repo, *(chart[k] for k in changed))  # only the fix is written
    assert open_rules(repo) == {}
    closed = dq.get_deficiency(repo, deficiency.id)
    assert closed.status == "closed" and closed.closed_reason in ("fixed", "fixed-late")


def test_unsigned_note_is_not_due_before_24_hours(repo):
    chart = good_chart()
    chart["DocumentReference/n1"] = note("n1", "amb1", "11506-3", at(0, 5), signed=False)
    put(repo, *chart.values())
    assert open_rules(repo) == {}
    later = dq.reevaluate(repo, f"Patient/{PID}", now=NOW + timedelta(days=1))
    assert len(later.opened) == 1
    assert set(open_rules(repo)) == {"note-unsigned"}


def test_late_discharge_summary_is_recorded_closed(repo):
    chart = good_chart()
    chart["DocumentReference/ds1"]["date"] = at(1)  # 5 days after discharge, due after 2
    put(repo, *chart.values())
    assert open_rules(repo) == {}
    [late] = dq.list_deficiencies(repo, status="closed")
    assert (late.rule_id, late.closed_reason, late.age_days()) == (
        "discharge-summary-missing",
        "fixed-late",
        3,
    )


def test_reevaluate_by_encounter_and_manual_assignment_is_kept(repo):
    chart = good_chart()
    _unsign(chart)
    put(repo, *chart.values())
    [d] = dq.list_deficiencies(repo, assignee=DR_A)
    moved = dq.reassign(repo, d.id, "Practitioner/dr-c", by="him", reason="covering")
    dq.add_note(repo, d.id, "paged", by="him")
    dq.reevaluate(repo, "Encounter/amb1", now=NOW)
    again = dq.get_deficiency(repo, d.id)
    assert moved.assignee == again.assignee == "Practitioner/dr-c"
    assert [n["kind"] for n in again.notes] == ["reassign", "note"]
    assert dq.list_deficiencies(repo, assignee="Practitioner/dr-c")[0].id == d.id
    dq.reassign(repo, d.id, None, by="him")
    assert [x.id for x in dq.list_deficiencies(repo, assignee="unassigned")] == [d.id]


def test_deleting_the_patient_closes_its_deficiencies(repo):
    chart = good_chart()
    _unsign(chart)
    put(repo, *chart.values())
    repo.delete("Patient", PID)
    report = dq.scan(repo, now=NOW)
    assert report.closed == 1 and dq.list_deficiencies(repo) == []


# --- rule files -----------------------------------------------------------------------------


def test_rule_file_problems_are_reported_with_file_and_rule(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        """
[rule_set]
name = "bad"

[[rules]]
id = "no-such-detector"
description = "x"
severity = "high"
responsible = "author"
detect = { detector = "crystal_ball" }

[[rules]]
id = "half-a-rule"
severity = "urgent"
responsible = "author"
detect = { detector = "note_unsigned_after", hours = "soon", minutes = 5 }

[[rules]]
id = "note-unsigned"
description = "a second rule with a shipped id"
severity = "low"
responsible = "nobody"
detect = { detector = "note_unsigned_after" }
"""
    )
    broken = tmp_path / "broken.toml"
    broken.write_text("[rule_set\nname=")
    with pytest.raises(RuleFileError) as caught:
        load_rules([*dq.rules.default_paths(), bad, broken])
    issues = [str(i) for i in caught.value.issues]
    expect = [
        "bad.toml: rule no-such-detector: unknown detector 'crystal_ball'",
        "bad.toml: rule half-a-rule: missing field 'description'",
        "bad.toml: rule half-a-rule: severity 'urgent'",
        "bad.toml: rule half-a-rule: parameter 'hours' must be number",
        "bad.toml: rule half-a-rule: detector 'note_unsigned_after' has no parameter 'minutes'",
        "bad.toml: rule note-unsigned: responsible 'nobody'",
        "broken.toml: cannot read",
    ]
    for start in expect:
        assert any(i.startswith(start) for i in issues), (start, issues)
    assert "bad.toml: rule note-unsigned" in str(caught.value)


def test_duplicate_rule_ids_across_files(tmp_path: Path):
    first = dq.rules.default_paths()[0]
    copy_of = tmp_path / "copy.toml"
    copy_of.write_text(first.read_text())
    with pytest.raises(RuleFileError) as caught:
        load_rules([first, copy_of])
    assert all("already used in" in str(i) for i in caught.value.issues)
    assert str(caught.value.issues[0]).startswith("copy.toml: rule ")


def test_a_rule_file_can_be_changed_without_code(repo, tmp_path: Path):
    strict = tmp_path / "strict.toml"
    strict.write_text(
        """
[rule_set]
name = "strict"
[[rules]]
id = "note-unsigned-1h"
description = "Note not signed within an hour"
severity = "critical"
responsible = "author"
detect = { detector = "note_unsigned_after", hours = 1 }
"""
    )
    rules = load_rules([strict])
    chart = good_chart()
    chart["DocumentReference/n1"] = note("n1", "amb1", "11506-3", at(0, 5), signed=False)
    put(repo, *chart.values())
    dq.reevaluate(repo, PID, rules=rules, now=NOW)
    assert {d.rule_id: d.severity for d in dq.list_deficiencies(repo)} == {
        "note-unsigned-1h": "critical"
    }


# --- numbers and the chart --------------------------------------------------------------------


def test_delinquency_completeness_and_ageing(repo):
    chart = {k: v for k, v in good_chart().items() if k in ("Patient/p1", "Condition/dx1")}
    chart["Encounter/amb1"] = encounter("amb1", "AMB", at(60), at(60, -1))
    for days, nid in ((5, "a"), (12, "b"), (20, "c"), (45, "d")):
        chart[f"DocumentReference/{nid}"] = note(nid, "amb1", "11506-3", at(days), signed=False)
    chart["DocumentReference/ok"] = note("ok", "amb1", "11506-3", at(59))
    chart["Encounter/imp2"] = encounter("imp2", "IMP", at(15), at(10), attending=DR_B)
    chart["DocumentReference/hp2"] = note("hp2", "imp2", "34117-2", at(15, -1), DR_B)
    put(repo, *chart.values())

    table = dq.ageing(repo, now=NOW)
    assert table["medium"] == {"0-7": 1, "8-14": 1, "15-30": 1, ">30": 1}
    assert table["high"] == {"0-7": 0, "8-14": 1, "15-30": 0, ">30": 0}  # DS due 8 days ago

    delinquent = dq.delinquent_records(repo, now=NOW)
    assert [(r.encounter_id, r.days_since_discharge, len(r.deficiencies)) for r in delinquent] == [
        ("amb1", 59, 4)
    ]
    assert dq.delinquent_records(repo, now=NOW + timedelta(days=25))[1].encounter_id == "imp2"

    scores = dq.completeness(repo)
    # demographics 1, signatures 6, diagnosis 2, dates 2, H&P 1, discharge summary 1 = 13
    assert (scores.overall.checked, scores.overall.failed) == (13, 5)
    by = {s.who: (s.checked, s.failed, s.score) for s in scores.providers}
    assert by[DR_A] == (6, 4, round(2 / 6, 4))  # 5 notes and amb1's diagnosis
    assert by[DR_B] == (4, 1, 0.75)  # the H&P's signature, imp2's diagnosis, H&P, summary
    numbers = dq.report(repo, now=NOW)
    assert numbers["open"] == 5 and numbers["delinquent_records"] == 1
    assert numbers["open_by_assignee"] == {DR_A: 4, DR_B: 1}


def test_ageing_chart_is_a_png(repo, tmp_path: Path):
    chart = good_chart()
    _unsign(chart)
    put(repo, *chart.values())
    target = tmp_path / "ageing.png"
    png = dq.plot_ageing(repo, target, now=NOW)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and target.read_bytes() == png
    assert dq.ageing_png({}).startswith(b"\x89PNG")


# --- the synthetic generator's truth ----------------------------------------------------------

GAP_RULES = {
    "unsigned": "note-unsigned",
    "missing_discharge_summary": "discharge-summary-missing",
    "late_discharge_summary": "discharge-summary-missing",
    "missing_history_and_physical": "history-physical-missing",
}


def test_scan_finds_the_generators_documentation_gaps(repo, tmp_path: Path):
    # More stays with gaps than the defaults give 40 patients, so every kind is present.
    modules = [
        DocumentationGaps(late_discharge=0.4, missing_hp=0.3)
        if isinstance(m, DocumentationGaps)
        else m
        for m in default_modules()
    ]
    write(tmp_path / "synth", 40, seed=7, modules=modules)
    assert not import_paths(repo, [tmp_path / "synth"]).errors
    progress = []
    report = dq.scan(
        repo,
        now=AS_OF.replace(tzinfo=ZoneInfo("America/New_York")),  # the generator's "today"
        on_progress=lambda done, total: progress.append((done, total)),
    )
    assert progress[-1] == (40, 40) and report.patients == 40
    truth = set()
    for line in (tmp_path / "synth/truth/documentation_gaps.jsonl").read_text().splitlines():
        gap = json.loads(line)
        target = (
            f"DocumentReference/{gap['document_id']}"
            if gap["gap"] == "unsigned"
            else f"Encounter/{gap['encounter_id']}"
        )
        truth.add((GAP_RULES[gap["gap"]], target))
    found = {
        (d.rule_id, d.resource)
        for d in dq.list_deficiencies(repo, status="all", limit=1000)
        if d.rule_id in GAP_RULES.values()
    }
    assert {rule for rule, _ in truth} == set(GAP_RULES.values())
    hits = len(truth & found)
    precision, recall = hits / len(found), hits / len(truth)
    print(f"synthetic gaps: {len(truth)} true, {len(found)} found, {precision=:.3f} {recall=:.3f}")
    assert precision >= 0.95 and recall >= 0.95, (sorted(truth - found), sorted(found - truth))
    # Nothing else fires on the generator's otherwise complete charts.
    assert set(report.open_by_rule) <= set(GAP_RULES.values())
