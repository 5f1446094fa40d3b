"""Report classification: the registrar's reading rules, each on a small report."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from chartkeeper.cli import app
from chartkeeper.registry.batch import classify_lines
from chartkeeper.registry.classify import classify
from chartkeeper.synth.pathreports import RULE_CASES, make_reports

pytestmark = pytest.mark.usefixtures("icdo3_reference")


@pytest.mark.parametrize(
    ("text", "site"),
    [
        ("FINAL DIAGNOSIS:\nProstate, needle biopsy: adenocarcinoma, Gleason 3+4=7", "C61.9"),
        ("DIAGNOSIS: Right upper lobe of lung, lobectomy: adenocarcinoma.", "C34.1"),
        ("FINAL DIAGNOSIS: LUNG, LEFT LOWER LOBE, LOBECTOMY: SQUAMOUS CELL CARCINOMA.", "C34.3"),
        ("FINAL DIAGNOSIS: Sigmoid colon, resection: invasive adenocarcinoma.", "C18.7"),
        ("FINAL DIAGNOSIS:\nA. Right breast, lumpectomy:\n- Invasive ductal carcinoma", "C50.9"),
        ("DIAGNOSIS: KIDNEY, LEFT, NEPHRECTOMY: CLEAR CELL RENAL CELL CARCINOMA", "C64.9"),
        ("FINAL DIAGNOSIS: Thyroid, total thyroidectomy: papillary thyroid carcinoma", "C73.9"),
    ],
)
def test_organ_words_give_the_topography(text, site):
    assert classify(text).primary_site == site


def test_final_diagnosis_outranks_history_and_gross():
    text = (
        "CLINICAL HISTORY:\nHistory of breast cancer, 2012. Colon mass.\n\n"
        "GROSS DESCRIPTION:\nReceived is a segment of colon with attached breast-shaped fat.\n\n"
        "FINAL DIAGNOSIS:\nA. Sigmoid colon, sigmoidectomy:\n- Adenocarcinoma, moderately "
        "differentiated.\n"
    )
    found = classify(text)
    assert found.primary_site == "C18.7"
    assert found.morphology == "8140/3"
    assert found.grade == "2"
    site_evidence = [e for e in found.evidence if e.field == "primary_site"]
    assert site_evidence[0].section == "final"


def test_a_carcinoma_in_a_lymph_node_is_not_the_primary():
    text = (
        "FINAL DIAGNOSIS:\nA. LYMPH NODE, LEFT NECK, LEVEL II, EXCISION:\n"
        "- METASTATIC SQUAMOUS CELL CARCINOMA IN 2 OF 14 LYMPH NODES.\n"
        "B. TONGUE, LEFT LATERAL, PARTIAL GLOSSECTOMY:\n- INVASIVE SQUAMOUS CELL CARCINOMA.\n"
    )
    assert classify(text).primary_site.startswith("C02")


def test_metastasis_names_where_it_came_from():
    text = (
        "FINAL DIAGNOSIS:\nLiver, segment 7, needle core biopsy:\n"
        "- Metastatic adenocarcinoma, consistent with colonic primary.\n"
    )
    found = classify(text)
    assert found.primary_site == "C18.9"
    assert found.behavior == "3"  # the primary's behaviour, not /6


def test_lymphoma_in_a_node_is_nodal_primary_and_melanoma_without_primary_is_skin():
    lymphoma = "DIAGNOSIS: Lymph node, right axilla, excision: diffuse large B-cell lymphoma."
    assert classify(lymphoma).primary_site.startswith("C77")
    melanoma = "DIAGNOSIS: Lymph node, left inguinal, excision: metastatic malignant melanoma."
    assert classify(melanoma).primary_site == "C44.9"


def test_negated_specimens_do_not_win():
    text = (
        "FINAL DIAGNOSIS:\nA. Gallbladder, cholecystectomy: chronic cholecystitis; negative "
        "for malignancy.\nB. Stomach, partial gastrectomy: adenocarcinoma, intestinal type.\n"
    )
    assert classify(text).primary_site.startswith("C16")


def test_in_situ_and_invasive_codes_the_invasive_behaviour():
    text = "FINAL DIAGNOSIS: Left breast: invasive ductal carcinoma with ductal carcinoma in situ."
    found = classify(text)
    assert (found.histology, found.behavior, found.laterality) == ("8500", "3", "2")
    dcis = classify("FINAL DIAGNOSIS: Right breast, excision: ductal carcinoma in situ.")
    assert dcis.behavior == "2"


def test_ocr_slips_and_upper_case():
    text = "FINAL DIAGN0SIS:\nPR0STATE, RADICAL PROSTATECT0MY: ADENOCARCINCMA, GLEASON 4+3=7"
    found = classify(text)
    assert found.primary_site == "C61.9"
    assert found.histology == "8140"
    assert found.grade == "3"  # Grade Group 3


def test_nothing_reportable_has_no_morphology():
    found = classify("FINAL DIAGNOSIS: Skin, shave: seborrheic keratosis.")
    assert found.behavior is None or found.behavior in ("0", "1")


def test_batch_contract_and_bad_lines():
    lines = [
        json.dumps({"id": "r1", "text": "DIAGNOSIS: Prostate, biopsy: adenocarcinoma"}),
        "{broken",
        json.dumps({"id": "r3"}),
    ]
    results = list(classify_lines(lines))
    assert set(results[0]) >= {
        "id",
        "primary_site",
        "histology",
        "behavior",
        "laterality",
        "grade",
        "confidence",
        "evidence",
    }
    assert results[0]["id"] == "r1" and results[0]["primary_site"] == "C61.9"
    assert "error" in results[1] and results[2]["id"] == "r3" and "error" in results[2]


def test_cli_classify_file_and_batch(tmp_path):
    report = tmp_path / "r.txt"
    report.write_text("FINAL DIAGNOSIS: Urinary bladder, TURBT: urothelial carcinoma, high grade")
    runner = CliRunner()
    done = runner.invoke(app, ["registry", "classify", str(report), "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["primary_site"] == "C67.9"
    batch = tmp_path / "b.jsonl"
    batch.write_text(json.dumps({"id": 1, "text": report.read_text()}) + "\n")
    done = runner.invoke(app, ["registry", "classify", "--batch", str(batch), "--json"])
    assert done.exit_code == 0 and json.loads(done.stdout.splitlines()[0])["id"] == 1
    missing = runner.invoke(app, ["registry", "classify", str(tmp_path / "none.txt")])
    assert missing.exit_code == 2


def test_cli_batch_reports_bad_lines_and_keeps_the_others(tmp_path):
    """The batch reader de-identification uses: a bad line is an error row (and named on
    stderr), an undecodable byte in a report is replaced as for a single FILE, and the exit
    status is 1."""
    batch = tmp_path / "b.jsonl"
    report = "FINAL DIAGNOSIS: Prostate, biopsy: adenocarcinoma \xe9".encode("latin-1")
    batch.write_bytes(b'{"id": "a", "text": "' + report + b'"}\n{broken\n\n[1]\n')
    done = CliRunner().invoke(app, ["registry", "classify", "--batch", str(batch)])
    # Exit 1 says some lines failed (as `deid text --batch` does); the good ones are out.
    assert done.exit_code == 1, done.output
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert rows[0]["id"] == "a" and rows[0]["primary_site"] == "C61.9"
    assert rows[1] == {"id": None, "line": 2, "error": rows[1]["error"]}
    assert "not JSON" in rows[1]["error"] and rows[2]["line"] == 4
    assert "line 2" in done.stderr and "1 report(s) classified, 2 line(s)" in done.stderr


def test_self_written_reports_site_accuracy():
    """Self-written reports (synth.pathreports): a floor against regressions, not a claim."""
    reports = make_reports(120, seed=7)
    right = sum(classify(r.text).primary_site[:3] == r.primary_site[:3] for r in reports)
    assert right / len(reports) >= 0.95


@pytest.mark.parametrize(("text", "category"), list(RULE_CASES.items()))
def test_reading_rules(text, category):
    assert (classify(text).primary_site or "")[:3] == category


def test_the_site_decides_between_codes_the_same_words_name():
    # ICD-O-3 notes: acinar adenocarcinoma is 8140/3 of prostate, 8551/3 of lung (2018+).
    prostate = classify("FINAL DIAGNOSIS: Prostate, biopsy: adenocarcinoma, acinar type.")
    lung = classify("FINAL DIAGNOSIS: Right upper lobe, lobectomy: adenocarcinoma, acinar.")
    assert (prostate.primary_site, prostate.morphology) == ("C61.9", "8140/3")
    assert (lung.primary_site[:3], lung.morphology) == ("C34", "8551/3")


def test_realistic_layout_reports_site_accuracy():
    """The hand-written real-layout reports (bench/data, self-written): a regression floor."""
    import importlib.util
    from pathlib import Path

    bench = Path(__file__).parents[2] / "bench" / "registry.py"
    spec = importlib.util.spec_from_file_location("bench_registry", bench)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    reports = module.read_realistic()
    right = sum((classify(r["text"]).primary_site or "")[:3] == r["site"][:3] for r in reports)
    assert len(reports) >= 50 and right / len(reports) >= 0.96


def test_short_codes_are_not_mended_as_ocr_slips():
    assert classify("Histologic Type: Thymoma, type B1").morphology == "8583/3"
    chromophobe = "KIDNEY, NEPHRECTOMY: CHROMOPHOBE RENAL CELL CARCI-\nNOMA, 7 CM."
    assert classify(chromophobe).morphology == "8317/3"


def test_histology_abbreviations_take_the_official_terms_codes():
    from chartkeeper.registry import lexicon

    table = lexicon.histology_lexicon().entries
    assert table[("idc",)].code == "8500/3" and table[("gbm",)].code == "9440/3"
    assert all((a,) in table for a in lexicon.HISTOLOGY_ABBREVIATIONS)
    found = classify("FINAL DIAGNOSIS: Mass, segment 6, core biopsy: HCC, grade 2.")
    assert found.primary_site == "C22.0" and found.morphology == "8170/3"


@pytest.mark.parametrize(
    ("text", "site"),
    [
        ("RIGHT BREAST, 10 O'CLOCK, CORE BIOPSY: INVASIVE DUCTAL CARCINOMA.", "C50.4"),
        ("RIGHT BREAST, 2 O'CLOCK, CORE BIOPSY: INVASIVE DUCTAL CARCINOMA.", "C50.2"),
        ("Left breast, 2:00 o'clock, biopsy: invasive lobular carcinoma.", "C50.4"),
        ("Left breast, 7 oclock, biopsy: invasive ductal carcinoma.", "C50.3"),
        ("Left breast, 12 o'clock, biopsy: invasive ductal carcinoma.", "C50.8"),
        ("Breast, 10 o'clock, biopsy: invasive ductal carcinoma.", "C50.9"),  # no side
    ],
)
def test_breast_clock_position_to_quadrant(text, site):
    assert classify("FINAL DIAGNOSIS: " + text).primary_site == site
