"""Claim edits: each rule fires on a claim built for it, and a clean claim passes."""

from __future__ import annotations

from datetime import date

import pytest

from chartkeeper.coding.edits import check_claim

DOS = date(2026, 3, 2)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    path = tmp_path_factory.getbasetemp().parent / "coding-shared"
    path.mkdir(exist_ok=True)
    return path


def rules(codes, data_dir, **kw):
    args = {"patient_age": 60, "patient_sex": "male", "inpatient": False, "date_of_service": DOS}
    args.update(kw)
    return [(e.rule, e.codes) for e in check_claim(codes, data_dir=data_dir, **args)]


def test_clean_claims_pass(data_dir):
    assert rules(["I10", "E11.9", "Z79.4"], data_dir) == []
    poa = {"I21.4": "Y", "I10": "Y", "E11.9": "Y", "Z79.4": "1"}
    assert rules(["I21.4", "I10", "E11.9", "Z79.4"], data_dir, inpatient=True, poa=poa) == []


def test_invalid_non_billable_missing_seventh(data_dir):
    found = rules(["XYZ.1", "E11", "S72.001", "S72.001Z"], data_dir)
    assert ("invalid-code", ("XYZ.1",)) in found
    assert ("non-billable", ("E11",)) in found
    assert ("missing-7th", ("S72.001",)) in found
    assert ("invalid-code", ("S72.001Z",)) in found


def test_excludes1_pair(data_dir):
    assert ("excludes1", ("E11.9", "E10.9")) in rules(["E11.9", "E10.9"], data_dir)


def test_age_conflicts(data_dir):
    assert ("age-conflict", ("O80",)) in rules(["O80"], data_dir, patient_age=70, patient_sex="F")
    assert ("age-conflict", ("Z38.00",)) in rules(["Z38.00"], data_dir, patient_age=30)
    assert ("age-conflict", ("Z00.00",)) in rules(["Z00.00"], data_dir, patient_age=5)
    assert rules(["Z38.00"], data_dir, patient_age=0) == []


def test_sex_conflicts(data_dir):
    assert ("sex-conflict", ("N40.0",)) in rules(["N40.0"], data_dir, patient_sex="female")
    assert ("sex-conflict", ("N83.201",)) in rules(["N83.201"], data_dir, patient_sex="M")
    assert ("sex-conflict", ("O80",)) in rules(["O80"], data_dir, patient_age=30)
    assert rules(["N40.0"], data_dir, patient_sex=None) == []


def test_principal_edits(data_dir):
    found = rules(["G63", "E11.40"], data_dir)  # polyneuropathy in diseases classified elsewhere
    assert ("manifestation-principal", ("G63",)) in found
    assert rules(["E11.40", "G63"], data_dir) == []
    assert ("unacceptable-principal", ("W19.XXXA",)) in rules(["W19.XXXA", "S72.001A"], data_dir)
    assert ("unacceptable-principal", ("Z79.4",)) in rules(
        ["E11.9", "Z79.4"], data_dir, principal="Z79.4"
    )


def test_poa(data_dir):
    found = rules(
        ["I10", "E11.9", "Z79.4"],
        data_dir,
        inpatient=True,
        poa={"I10": "Y", "E11.9": "X", "Z79.4": "Y"},
    )
    assert ("poa-invalid", ("E11.9",)) in found
    assert ("poa-invalid", ("Z79.4",)) in found  # exempt: 1 or blank
    assert ("poa-required", ("I10",)) in rules(["I10"], data_dir, inpatient=True)
    assert rules(["I10"], data_dir, inpatient=False) == []


def test_duplicates(data_dir):
    assert ("duplicate", ("I10",)) in rules(["I10", "i10"], data_dir)
