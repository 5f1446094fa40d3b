"""Casefinding to NAACCR XML on a small hand-made record, on both databases."""

from __future__ import annotations

import base64
from datetime import date

import pytest

from chartkeeper.errors import BadRequest, Conflict
from chartkeeper.interfaces import naaccr
from chartkeeper.registry import abstract, casefinding, followup, survival

pytestmark = pytest.mark.usefixtures("icdo3_reference", "naaccr_reference")

REPORT = """SURGICAL PATHOLOGY REPORT
CLINICAL HISTORY:
Abnormal mammogram, left breast.
FINAL DIAGNOSIS:
A. LEFT BREAST, UPPER OUTER QUADRANT, LUMPECTOMY:
- INVASIVE DUCTAL CARCINOMA, NOTTINGHAM GRADE 2.
- Pathologic stage: pT1c pN0 cM0
B. LEFT AXILLARY SENTINEL LYMPH NODE: NEGATIVE FOR CARCINOMA (0/2).
"""
BENIGN = "FINAL DIAGNOSIS: Colon, polypectomy: tubular adenoma. Negative for malignancy."
AMBIGUOUS = "FINAL DIAGNOSIS: Lung, FNA: atypical cells; carcinoma cannot be ruled out."


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


PATHOLOGY = {"coding": [{"system": "http://loinc.org", "code": "LP7839-6"}], "text": "Pathology"}


def _record(repo, pid: str = "p1") -> None:
    repo.update(
        {
            "resourceType": "Patient",
            "id": pid,
            "gender": "female",
            "birthDate": "1960-04-02",
            "name": [{"family": "Rivera", "given": ["Ana"]}],
            "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": f"MRN-{pid}"}],
            "address": [{"city": "Springfield", "state": "IL", "postalCode": "62701"}],
        }
    )
    ref = {"reference": f"Patient/{pid}"}
    repo.update(
        {
            "resourceType": "Encounter",
            "id": f"{pid}-e1",
            "status": "finished",
            "class": {"code": "AMB"},
            "subject": ref,
            "period": {"start": "2023-03-01T09:00:00Z", "end": "2023-03-01T10:00:00Z"},
        }
    )
    repo.update(
        {
            "resourceType": "Encounter",
            "id": f"{pid}-e2",
            "status": "finished",
            "class": {"code": "AMB"},
            "subject": ref,
            "period": {"start": "2024-02-10T09:00:00Z", "end": "2024-02-10T10:00:00Z"},
        }
    )
    for rid, text in (("dr1", REPORT), ("dr2", BENIGN), ("dr3", AMBIGUOUS)):
        repo.update(
            {
                "resourceType": "DiagnosticReport",
                "id": f"{pid}-{rid}",
                "status": "final",
                "category": [PATHOLOGY],
                "code": {"text": "Pathology"},
                "subject": ref,
                "effectiveDateTime": "2023-03-05",
                "presentedForm": [{"contentType": "text/plain", "data": _b64(text)}],
            }
        )
    # The same report again as a document, and the tumour's diagnosis code: one tumour.
    repo.update(
        {
            "resourceType": "DocumentReference",
            "id": f"{pid}-doc1",
            "status": "current",
            "type": {"coding": [{"system": "http://loinc.org", "code": "11526-1"}]},
            "subject": ref,
            "date": "2023-03-05T12:00:00Z",
            "content": [{"attachment": {"contentType": "text/plain", "data": _b64(REPORT)}}],
        }
    )
    repo.update(
        {
            "resourceType": "Condition",
            "id": f"{pid}-c1",
            "subject": ref,
            "code": {"coding": [{"system": casefinding.ICD10CM, "code": "C50.412"}]},
            "onsetDateTime": "2023-03-06",
        }
    )
    repo.update(
        {
            "resourceType": "Procedure",
            "id": f"{pid}-pr1",
            "status": "completed",
            "subject": ref,
            "code": {"text": "Left breast lumpectomy"},
            "performedDateTime": "2023-04-01T08:00:00Z",
        }
    )
    repo.update(
        {
            "resourceType": "MedicationRequest",
            "id": f"{pid}-m1",
            "status": "active",
            "intent": "order",
            "subject": ref,
            "authoredOn": "2023-05-01",
            "medicationCodeableConcept": {"text": "anastrozole 1 mg tablet"},
        }
    )


@pytest.mark.parametrize(
    ("text", "reportable"),
    [
        ("Prostate, biopsy: adenocarcinoma, Gleason 3+3=6.", True),
        ("Lung, FNA: consistent with adenocarcinoma.", True),
        ("Breast: suspicious for ductal carcinoma.", True),
        ("Lung, FNA: carcinoma cannot be ruled out.", False),
        ("Node: possible lymphoma.", False),
        ("Colon: negative for malignancy.", False),
        ("Breast: no evidence of carcinoma.", False),
        ("Skin, shave: basal cell carcinoma.", False),
        ("Breast: ductal carcinoma in situ.", True),
    ],
)
def test_screening_negation_and_ambiguous_terms(text, reportable):
    assert casefinding.screen_text(text).reportable is reportable


def test_screen_oru_message():
    message = (
        "MSH|^~\\&|LAB|HOSP|REG|STATE|202303051200||ORU^R01|1|P|2.5.1\r"
        "PID|1||MRN-9||DOE^JANE\rOBR|1|||11529-5^Surgical pathology^LN\r"
        "OBX|1|TX|22637-3^Final diagnosis^LN||Rectum, biopsy: adenocarcinoma.||||||F\r"
    )
    (screening,) = casefinding.screen_oru(message)
    assert screening.reportable and screening.morphology == "8140/3"
    with pytest.raises(BadRequest):
        casefinding.screen_oru("not hl7")


def test_one_tumour_one_case_prefill_edits_and_complete(repo):
    _record(repo)
    run = casefinding.run(repo, by="reg1")
    assert len(run.new_cases) == 1  # report + document + diagnosis code = one tumour
    assert run.joined == 2
    again = casefinding.run(repo, by="reg1")
    assert again.new_cases == [] and again.joined == 0  # idempotent
    (item,) = casefinding.worklist(repo)
    assert item["patient_name"] == "Rivera, Ana" and item["mrn"] == "MRN-p1"
    assert item["primary_site"] == "C50.4" and item["histology"] == "8500"
    assert len(item["evidence"]) == 3

    case = casefinding.accept(repo, item["id"], by="reg1")
    items = case["items"]
    assert items["primarySite"] == "C504" and items["laterality"] == "2"
    assert items["nameLast"] == "RIVERA" and items["sexAssignedAtBirth"] == "2"
    assert items["dateOfBirth"] == "19600402" and items["dateOfDiagnosis"] == "20230305"
    assert items["ageAtDiagnosis"] == "062" and items["diagnosticConfirmation"] == "1"
    assert items["rxDateSurgery"] == "20230401" and items["rxDateHormone"] == "20230501"
    assert items["rxDateMostDefinSurg"] == "20230401" and items["rxSummSurgRadSeq"] == "0"
    assert items["ajccTnmPathT"] == "pT1c" and items["summaryStage2018"] == "1"
    assert items["classOfCase"] == "14" and items["vitalStatus"] == "1"
    assert items["dateOfLastContact"] == "20240210" and items["gradePathological"] == "2"
    assert abstract.check(repo, item["id"]) == []

    with pytest.raises(Conflict):
        casefinding.dismiss(repo, item["id"], by="reg1", reason="x")  # no longer suspected
    abstract.edit_items(repo, item["id"], {"laterality": "0"}, by="reg1")
    failing = {e.id for e in abstract.check(repo, item["id"])}
    assert failing == {"CK005"}
    with pytest.raises(Conflict, match="CK005"):
        abstract.complete(repo, item["id"], by="reg1")
    abstract.override(repo, item["id"], "CK005", "reviewed with pathologist", by="reg1")
    done = abstract.complete(repo, item["id"], by="reg1")
    assert done["status"] == "complete" and done["items"]["abstractedBy"] == "REG"
    with pytest.raises(BadRequest):
        abstract.edit_items(repo, item["id"], {"notAnItem": "1"}, by="reg1")


def test_death_and_its_cause_are_prefilled(repo):
    _record(repo, "p6")
    patient = repo.read("Patient", "p6")
    patient["deceasedDateTime"] = "2024-05-01"
    repo.update(patient)
    repo.update(
        {
            "resourceType": "Observation",
            "id": "p6-death",
            "status": "final",
            "subject": {"reference": "Patient/p6"},
            "code": {"coding": [{"system": "http://loinc.org", "code": "69453-9"}]},
            "valueCodeableConcept": {
                "coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "C50.9"}]
            },
        }
    )
    (case_id,) = casefinding.run(repo, by="reg1").new_cases
    items = casefinding.accept(repo, case_id, by="reg1")["items"]
    assert (items["vitalStatus"], items["causeOfDeath"]) == ("0", "C509")
    assert items["dateOfLastContact"] == "20240501"


def test_dismissed_tumour_is_not_suggested_again(repo):
    _record(repo, "p2")
    (case_id,) = casefinding.run(repo, by="reg1").new_cases
    with pytest.raises(BadRequest):
        casefinding.dismiss(repo, case_id, by="reg1", reason=" ")
    casefinding.dismiss(repo, case_id, by="reg1", reason="treated elsewhere, not ours")
    assert casefinding.run(repo, by="reg1").new_cases == []
    assert casefinding.worklist(repo) == []


# A complete, valid abstract (what test_one_tumour_one_case... prefills), then one change
# each: exactly the edit named fails.
VALID = {
    "primarySite": "C504",
    "histologicTypeIcdO3": "8500",
    "behaviorCodeIcdO3": "3",
    "laterality": "2",
    "dateOfDiagnosis": "20230305",
    "dateOfBirth": "19600402",
    "sexAssignedAtBirth": "2",
    "diagnosticConfirmation": "1",
    "classOfCase": "14",
    "vitalStatus": "1",
    "dateOfLastContact": "20240210",
    "ageAtDiagnosis": "062",
    "rxDateSurgery": "20230401",
}


@pytest.mark.parametrize(
    ("changes", "edit_id"),
    [
        ({}, None),
        ({"primarySite": "C507"}, "CK001"),
        ({"histologicTypeIcdO3": "1234"}, "CK002"),
        ({"laterality": "7"}, "CK003"),
        ({"histologicTypeIcdO3": "8090"}, "CK004"),  # basal cell carcinoma is of skin
        ({"laterality": "0"}, "CK005"),
        ({"dateOfLastContact": "20220101"}, "CK006"),
        ({"rxDateSurgery": "20230231"}, "CK006"),
        ({"primarySite": "C619", "laterality": "0"}, "CK007"),
        ({"ageAtDiagnosis": "150"}, "CK007"),
        ({"classOfCase": ""}, "CK008"),
        ({"primarySite": "C779", "laterality": "0", "behaviorCodeIcdO3": "2"}, "CK009"),
    ],
)
def test_each_edit(changes, edit_id):
    from chartkeeper.registry import edits

    items = {k: v for k, v in {**VALID, **changes}.items() if v}
    failing = {e.id for e in edits.run(items)}
    assert failing == ({edit_id} if edit_id else set())
    overridden = edits.run(items, {edit_id: {"reason": "confirmed"}}) if edit_id else []
    assert all(e.overridden == "confirmed" for e in overridden)


def test_site_histology_edit():
    from chartkeeper.registry import edits

    items = {"primarySite": "C509", "histologicTypeIcdO3": "8020", "behaviorCodeIcdO3": "3"}
    # 8020/3 has terms bound to C73.9 and terms that are not: not a site-bound code.
    assert edits.site_histology(items) is None
    bound = {"primarySite": "C509", "histologicTypeIcdO3": "8090", "behaviorCodeIcdO3": "3"}
    assert "C44" in (edits.site_histology(bound) or "")  # basal cell carcinoma is of skin


def test_naaccr_export_validates_and_round_trips(repo, database_url, tmp_path):
    _record(repo, "p4")
    (case_id,) = casefinding.run(repo, by="reg1").new_cases
    casefinding.accept(repo, case_id, by="reg1")
    abstract.complete(repo, case_id, by="reg1")
    xml, count = naaccr.export_cases(repo, registry_id="1234567890")
    assert count == 1 and b"naaccr-dictionary-260.xml" in xml
    incidence, _ = naaccr.export_cases(repo, record_type="I", registry_id="1234567890")
    assert b"nameLast" in xml and b"nameLast" not in incidence
    assert naaccr.read(xml).patients[0].tumors[0]["primarySite"] == "C504"

    # Import into an empty store, export again: the same bytes.
    from chartkeeper.store import Repository
    from chartkeeper.store.engine import make_engine, upgrade

    other_engine = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade(other_engine)
    other = Repository(other_engine)
    result = naaccr.import_cases(other, xml, by="reg2")
    assert result["tumors"] == 1 and len(result["added"]) == 1
    again, _ = naaccr.export_cases(other, registry_id="1234567890")
    assert again == xml
    assert naaccr.import_cases(other, xml, by="reg2")["added"] == []  # idempotent
    other_engine.dispose()


def test_naaccr_dictionary_checks_refuse_bad_content():
    data = naaccr.NaaccrFile(
        "A",
        {},
        [
            naaccr.NaaccrPatient(
                {"patientIdNumber": "12", "primarySite": "C509"},
                [{"dateOfDiagnosis": "2023-03-05", "ageAtDiagnosis": "1234", "madeUpItem": "x"}],
            )
        ],
    )
    with pytest.raises(naaccr.NaaccrInvalid) as problems:
        naaccr.write(data)
    text = " ".join(problems.value.problems)
    assert "belongs at the Tumor level" in text and "is not date" in text
    assert "longer than 3" in text and "madeUpItem" in text
    with pytest.raises(naaccr.NaaccrInvalid, match=r"XSD|well-formed"):
        naaccr.read(b"<NaaccrData/>")
    with pytest.raises(naaccr.NaaccrInvalid):
        naaccr.read(b"<not xml")


def test_followup_due_and_rates(repo):
    _record(repo, "p5")
    (case_id,) = casefinding.run(repo, by="reg1").new_cases
    casefinding.accept(repo, case_id, by="reg1")
    (row,) = followup.status(repo, today=date(2024, 6, 1))
    assert row.last_contact == "2024-02-10" and not row.due and not row.lost
    (due,) = followup.due_list(repo, today=date(2025, 3, 1))
    assert due.case_id == case_id and not due.lost
    rates = followup.rates(repo, today=date(2025, 8, 1))
    assert rates["analytic_cases"] == 1 and rates["followed_rate"] == 0.0
    assert rates["meets_80_percent_standard"] is False
    assert followup.rates(repo, today=date(2024, 6, 1))["analytic_cases"] == 1


def test_kaplan_meier_matches_a_hand_computed_example():
    # Deaths at 0.5, 2 and 4 years; censored at 1.5 and 6. By hand:
    # S(1) = 4/5 = 0.8; S(3) = 0.8 * 2/3 = 0.5333; S(5) = 0.5333 * 1/2 = 0.2667.
    cases = [
        survival.SurvivalCase("C50", t, d)
        for t, d in ((0.5, True), (1.5, False), (2.0, True), (4.0, True), (6.0, False))
    ]
    (group,) = survival.kaplan_meier(cases)
    assert [group.at[y]["survival"] for y in (1, 3, 5)] == [0.8, 0.5333, 0.2667]
    assert group.at[1]["lower"] < 0.8 < group.at[1]["upper"]
    assert group.median_years == 4.0 and group.deaths == 3
    png = survival.plot(cases)
    assert png.startswith(b"\x89PNG")
    with pytest.raises(BadRequest):
        survival.survival_time("2020-01-01", "2019-01-01", False)


def test_refused_naaccr_imports_and_unknown_cases_change_nothing(repo):
    """An invalid NAACCR document (schema, unknown item, too long a value) stores nothing;
    accepting, dismissing or overriding an edit on a case that is not there is a 404."""
    from sqlalchemy import func, select

    from chartkeeper.errors import NotFound
    from chartkeeper.registry import edits
    from chartkeeper.store.registry import registry_case
    from chartkeeper.store.resources import resource

    _record(repo, "p4")
    (case_id,) = casefinding.run(repo, by="reg1").new_cases
    casefinding.accept(repo, case_id, by="reg1")
    abstract.complete(repo, case_id, by="reg1")
    xml, _ = naaccr.export_cases(repo, registry_id="1234567890")

    def counts() -> tuple[int, int, str]:
        with repo.engine.connect() as conn:
            cases = conn.execute(select(func.count()).select_from(registry_case)).scalar()
            stored = conn.execute(select(func.count()).select_from(resource)).scalar()
        return cases, stored, casefinding.get(repo, case_id)["status"]

    before = counts()
    import re

    item = re.search(rb'<Item naaccrId="primarySite"[^>]*>C504</Item>', xml).group()
    for bad, why in [
        (b"<NaaccrData/>", r"XSD|well-formed"),  # not the schema
        (xml.replace(item, item + b'<Item naaccrId="madeUpItem">x</Item>'), "madeUpItem"),
        (xml.replace(item, item.replace(b">C504<", b">C5044444<")), "longer than"),
    ]:
        with pytest.raises(naaccr.NaaccrInvalid) as refused:
            naaccr.import_cases(repo, bad, by="reg2")
        assert re.search(why, " ".join([str(refused.value), *refused.value.problems]))
        assert counts() == before
    with pytest.raises(NotFound):
        casefinding.accept(repo, 999999, by="reg1")
    with pytest.raises(NotFound):
        casefinding.dismiss(repo, 999999, by="reg1", reason="not ours")
    with pytest.raises(NotFound):
        abstract.override(repo, 999999, next(iter(edits.EDITS)), "checked", by="reg1")
    for reason in ("", "   "):
        with pytest.raises(BadRequest, match="reason"):
            abstract.override(repo, case_id, next(iter(edits.EDITS)), reason, by="reg1")
        with pytest.raises(BadRequest, match="reason"):
            casefinding.dismiss(repo, case_id, by="reg1", reason=reason)
    assert counts() == before
    assert not casefinding.get(repo, case_id).get("overrides")


def test_display_name_family_given():
    from chartkeeper.registry.casefinding import display_name

    assert display_name({"name": [{"family": "Rivera", "given": ["Ana", "M"]}]}) == "Rivera, Ana M"
    official = [
        {"use": "old", "family": "Cruz", "given": ["Ana"]},
        {"use": "official", "family": "Rivera", "given": ["Ana"]},
    ]
    assert display_name({"name": official}) == "Rivera, Ana"
    assert display_name({"name": [{"text": "Ana Rivera"}]}) == "Ana Rivera"
    assert display_name({}) is None


@pytest.mark.parametrize(
    ("words", "code"),
    [
        ("IMRT to the left breast", "02"),
        ("Proton beam therapy", "03"),
        ("HDR brachytherapy, vaginal cuff", "07"),
        ("Radiation therapy", "01"),
        ("Electron boost", "04"),
    ],
)
def test_radiation_modality_from_the_procedure(words, code):
    assert abstract.radiation_modality(words) == code
