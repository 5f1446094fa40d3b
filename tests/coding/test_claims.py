"""Claims from a generated knee replacement stay: 837I and 837P that pyx12 accepts with
zero errors, broken files it rejects, claim edits instead of a file when data are missing,
and a FHIR Claim that validates.

The stay is fixtures/drg_stay_bundle.json (seed 11, slot 51 of the synthetic generator; see
fixtures/drg_make_cases.py); the Coverage and payer Organization are added here.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from chartkeeper.coding.claims import DEMO_PAYER
from chartkeeper.fhir.validation import validate
from chartkeeper.interfaces.bundles import prepare_document, write_unit
from chartkeeper.interfaces.x12 import build_claim, validate_x12
from chartkeeper.synth.facility import facility_bundle

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2025, 9, 10, 14, 30)


def _load(repo) -> dict:
    write_unit(repo, prepare_document("facility", facility_bundle()))
    bundle = json.loads((FIXTURES / "drg_stay_bundle.json").read_text())
    write_unit(repo, prepare_document("drg_stay_bundle.json", bundle))
    return next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Encounter"
    )


@pytest.fixture
def stay(repo) -> dict:
    enc = _load(repo)
    with repo.transaction() as tx:
        tx.update({
            "resourceType": "Organization", "id": "demo-payer", "name": "Demo Medicare Contractor",
            "identifier": [{"system": "urn:example:payer-id", "value": "CKDEMO99"}],
        })  # fmt: skip
        tx.update({
            "resourceType": "Coverage", "id": "cov-1", "status": "active",
            "subscriberId": "1EG4TE5MK73", "beneficiary": enc["subject"],
            "payor": [{"reference": "Organization/demo-payer"}],
        })  # fmt: skip
    return enc


def _segments(text: str) -> list[str]:
    return [s.strip() for s in text.split("~") if s.strip()]


def test_837i_passes_pyx12(repo, stay):
    built = build_claim(repo, stay["id"], coverage_id="cov-1", now=NOW, control_number=42)
    assert built.edits == []
    assert validate_x12(built.x12_text) == []
    segs = _segments(built.x12_text)
    assert segs[1].endswith("*42*X*005010X223A2") and segs[-1] == "IEA*1*000000042"
    assert segs[-3] == f"SE*{len(segs) - 4}*0042"  # ST..SE inclusive
    hi = [s for s in segs if s.startswith("HI*")]
    assert hi[0].startswith("HI*ABK:M1711") and hi[1] == "HI*ABJ:M1711"
    assert hi[2] in ("HI*DR:469", "HI*DR:470") and any("BBR:0SRC0J9:D8:" in s for s in hi)
    assert any(s.startswith("CLM*") and "*11:A:1*" in s for s in segs)
    assert any(s.startswith("NM1*85*2*MAPLE RIDGE REGIONAL MEDICAL CENTER") for s in segs)
    assert any(s.startswith("NM1*PR*2*DEMO MEDICARE CONTRACTOR*****PI*CKDEMO99") for s in segs)


def test_837p_passes_pyx12(repo, stay):
    built = build_claim(repo, stay["id"], kind="professional", coverage_id="cov-1", now=NOW)
    assert built.edits == []
    assert validate_x12(built.x12_text) == []
    segs = _segments(built.x12_text)
    assert "005010X222A1" in segs[1] and any(s.startswith("SV1*HC:99223*") for s in segs)
    assert any(s.startswith("NM1*82*1*") for s in segs)  # rendering provider


def test_broken_files_fail_pyx12(repo, stay):
    text = build_claim(repo, stay["id"], coverage_id="cov-1", now=NOW).x12_text
    se = next(s for s in _segments(text) if s.startswith("SE*"))
    count = int(se.split("*")[1])
    wrong_count = text.replace(se, f"SE*{count + 1}*0001")
    assert any("SE count" in e for e in validate_x12(wrong_count))
    lines = text.splitlines(keepends=True)
    no_billing = "".join(x for x in lines if not x.startswith("NM1*85*")).replace(
        se, f"SE*{count - 1}*0001"
    )
    errors = validate_x12(no_billing)
    assert any("2010AA" in e for e in errors), errors


def test_missing_data_gives_edits_and_no_file(repo, stay):
    hospital = repo.read("Organization", stay["serviceProvider"]["reference"].split("/")[1])
    repo.update({k: v for k, v in hospital.items() if k != "identifier"})  # no NPI
    repo.update({k: v for k, v in repo.read("Encounter", stay["id"]).items() if k != "diagnosis"})
    built = build_claim(repo, stay["id"], payer=None, now=NOW)  # no Coverage: no subscriber id
    assert built.x12_text is None and built.fhir_claim is None
    fields = {e.field for e in built.edits}
    assert {
        "2010AA NM109 billing provider NPI",
        "2300 HI*ABK principal diagnosis",
        "2010BA NM109 subscriber member id",
        "2010BB NM1*PR payer",
    } <= fields
    npi = next(e for e in built.edits if "NPI" in e.field and "2010AA" in e.field)
    assert npi.source.startswith(f"Organization/{hospital['id']} identifier")


def test_demo_payer_and_member_id_on_patient(repo, stay):
    patient = repo.read("Patient", stay["subject"]["reference"].split("/")[1])
    mb = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MB"}]}
    repo.update({**patient, "identifier": [*patient["identifier"], {"type": mb, "value": "9X9"}]})
    built = build_claim(repo, stay["id"], payer=DEMO_PAYER, now=NOW)
    assert built.edits == [] and "*MI*9X9~" in built.x12_text


@pytest.mark.parametrize("kind", ["institutional", "professional"])
def test_fhir_claim_validates(repo, stay, kind):
    claim = build_claim(repo, stay["id"], kind=kind, coverage_id="cov-1", now=NOW).fhir_claim
    validate(claim)
    assert claim["type"]["coding"][0]["code"] == kind
    assert claim["diagnosis"][0]["diagnosisCodeableConcept"]["coding"][0]["code"] == "M17.11"
    assert claim["insurance"][0]["coverage"] == {"reference": "Coverage/cov-1"}
    if kind == "institutional":
        assert claim["diagnosis"][0]["packageCode"]["coding"][0]["code"] in ("469", "470")
        assert claim["procedure"][0]["procedureCodeableConcept"]["coding"][0]["code"] == "0SRC0J9"
    repo.create(claim)  # the store takes it as well
