"""Computer-assisted coding: ConText flags (negation, family, history, uncertainty), the
inpatient/outpatient rule for uncertain diagnoses (Guidelines II.H vs IV.H), evidence spans,
and suggestions for a generated encounter read from the store (both backends)."""

from __future__ import annotations

import base64

import pytest

from chartkeeper.coding import cac
from chartkeeper.coding.cac.text import mentions, units
from chartkeeper.interfaces.bundles import prepare_document, write_unit
from chartkeeper.synth import generate


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    path = tmp_path_factory.getbasetemp().parent / "coding-shared"  # parsed code set cache
    path.mkdir(exist_ok=True)
    return path


def run(text: str, data_dir, *, inpatient: bool = True) -> dict[str, cac.Suggestion]:
    found = cac.suggest_documents([("doc-1", text)], inpatient=inpatient, data_dir=data_dir)
    return {s.code: s for s in found}


def suggested(found: dict[str, cac.Suggestion]) -> set[str]:
    return {code for code, s in found.items() if s.status == "suggested"}


def test_context_flags_and_scope():
    text = "Denies chest pain, palpitations or leg swelling. Cough but no fever. Old MI."
    flags = {m.text: m.flags for u in units(text) for m in mentions(text, u)}
    assert flags["chest pain, palpitations or leg swelling"] == {"negated"}
    assert flags["Cough"] == set()  # "but" ends nothing before it; "no" reaches forward only
    assert flags["fever"] == {"negated"}
    assert flags["MI"] == {"historical"}


def test_negation(data_dir):
    found = run("Denies chest pain. Hypertension.", data_dir)
    assert "R07.9" not in suggested(found)
    assert found["R07.9"].status == "excluded" and "negated" in found["R07.9"].reason
    assert found["R07.9"].evidence[0].negated
    assert "I10" in suggested(found)


def test_post_negation_ruled_out(data_dir):
    found = run("Acute coronary syndrome ruled out. Chest pain.", data_dir, inpatient=False)
    assert suggested(found) == {"R07.9"}


def test_family_history(data_dir):
    found = run("Family history of diabetes in mother.", data_dir)
    assert not any(code.startswith("E11") for code in suggested(found))
    assert found["E11.9"].status == "excluded" and found["E11.9"].evidence[0].family
    assert suggested(found) <= {"Z83.3"}


def test_history_of_mi_is_old_mi(data_dir):
    found = run("History of MI. Essential hypertension.", data_dir)
    assert "I25.2" in suggested(found)
    assert not any(code.startswith("I21") for code in suggested(found))
    assert found["I25.2"].evidence[0].historical


@pytest.mark.parametrize("inpatient", [True, False])
def test_uncertain_diagnosis_inpatient_vs_outpatient(data_dir, inpatient):
    found = run("Cough and fever, probable pneumonia.", data_dir, inpatient=inpatient)
    if inpatient:  # Section II.H: coded as if established; its symptoms are integral
        assert "J18.9" in suggested(found)
        assert not suggested(found) & {"R05.9", "R50.9"}
    else:  # Section IV.H: not coded; the symptoms are
        assert "J18.9" not in suggested(found)
        assert found["J18.9"].status == "excluded" and "IV.H" in found["J18.9"].reason
        assert {"R05.9", "R50.9"} <= suggested(found)
    alone = run("Probable pneumonia.", data_dir, inpatient=inpatient)
    assert ("J18.9" in suggested(alone)) is inpatient


def test_evidence_spans_point_at_the_text(data_dir):
    text = (
        "PROGRESS NOTE\nREVIEW OF SYSTEMS:\nCardiovascular: Denies chest pain.\n\n"
        "ASSESSMENT AND PLAN:\n1. Atrial fibrillation: Rate controlled on apixaban.\n"
        "2. History of MI: No angina.\n"
    )
    found = run(text, data_dir)
    assert suggested(found) == {"I48.91", "I25.2"}
    ev = found["I48.91"].evidence[0]
    assert (ev.document, ev.text, ev.section) == (
        "doc-1",
        "Atrial fibrillation",
        "ASSESSMENT AND PLAN",
    )
    assert text[ev.start : ev.end] == "Atrial fibrillation"
    assert "Atrial fibrillation" in ev.sentence
    neg = found["R07.9"].evidence[0]
    assert text[neg.start : neg.end] == "chest pain" and neg.negated


def _load_patient(repo, seed: int = 7) -> list[dict]:
    bundles = list(generate(2, seed=seed))
    resources = []
    for i, bundle in enumerate(bundles):
        write_unit(repo, prepare_document(f"synth-{i}", bundle), check_references=False)
        resources += [e["resource"] for e in bundle.get("entry", [])]
    return resources


def test_suggest_finds_the_coded_conditions_of_generated_encounters(repo, data_dir):
    resources = _load_patient(repo)
    truth: dict[str, set[str]] = {}
    for res in resources:
        if res["resourceType"] == "Condition" and "encounter" in res:
            enc = res["encounter"]["reference"].rsplit(":", 1)[-1].rsplit("/", 1)[-1]
            truth.setdefault(enc, set()).update(c["code"] for c in res["code"]["coding"])
    assert truth
    hits = total = 0
    for enc_id, codes in truth.items():
        found = cac.suggest(repo, enc_id, data_dir=data_dir)
        got = {s.code[:3] for s in found if s.status == "suggested"}
        hits += len({c[:3] for c in codes} & got)
        total += len({c[:3] for c in codes})
        for s in found:
            for ev in s.evidence:  # every span is the stored note's own text
                doc = repo.read("DocumentReference", ev.document)
                text = base64.b64decode(doc["content"][0]["attachment"]["data"]).decode()
                assert text[ev.start : ev.end] == ev.text
    assert hits / total >= 0.75, (hits, total)
