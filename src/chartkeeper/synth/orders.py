"""Catalogue of orderable things: RxNorm medications and SNOMED CT / ICD-10-PCS procedures.

RxNorm codes are semantic clinical drugs cross-checked against public Synthea modules and
value sets. ICD-10-PCS displays are the CMS long titles (FY2025 tables), copied verbatim.
"""

from __future__ import annotations

from dataclasses import dataclass

from .terminology import ICD10PCS, RXNORM, Code, snomed


@dataclass(frozen=True)
class Med:
    key: str
    code: Code
    sig: str
    per_day: int  # doses a day (0 for as-needed)
    dose_unit: str
    name: str  # how a note names it


def _rx(code: str, display: str) -> Code:
    return Code(RXNORM, code, display)


MEDS = {
    m.key: m
    for m in (
        Med(
            "lisinopril",
            _rx("314076", "lisinopril 10 MG Oral Tablet"),
            "Take 1 tablet by mouth once daily",
            1,
            "tablet",
            "lisinopril 10 mg daily",
        ),
        Med(
            "amlodipine",
            _rx("197361", "amlodipine 5 MG Oral Tablet"),
            "Take 1 tablet by mouth once daily",
            1,
            "tablet",
            "amlodipine 5 mg daily",
        ),
        Med(
            "hctz",
            _rx("310798", "hydrochlorothiazide 25 MG Oral Tablet"),
            "Take 1 tablet by mouth every morning",
            1,
            "tablet",
            "hydrochlorothiazide 25 mg daily",
        ),
        Med(
            "metformin",
            _rx("860975", "24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet"),
            "Take 1 tablet by mouth twice daily with meals",
            2,
            "tablet",
            "metformin ER 500 mg twice daily",
        ),
        Med(
            "atorvastatin",
            _rx("617310", "atorvastatin 20 MG Oral Tablet"),
            "Take 1 tablet by mouth at bedtime",
            1,
            "tablet",
            "atorvastatin 20 mg nightly",
        ),
        Med(
            "albuterol",
            _rx(
                "745752",
                "NDA021457 200 ACTUAT albuterol 0.09 MG/ACTUAT Metered Dose Inhaler [ProAir]",
            ),
            "Inhale 2 puffs every 4 to 6 hours as needed for wheezing",
            0,
            "puff",
            "albuterol inhaler as needed",
        ),
        Med(
            "aspirin",
            _rx("243670", "aspirin 81 MG Oral Tablet"),
            "Take 1 tablet by mouth once daily",
            1,
            "tablet",
            "aspirin 81 mg daily",
        ),
        Med(
            "furosemide",
            _rx("313988", "furosemide 40 MG Oral Tablet"),
            "Take 1 tablet by mouth once daily",
            1,
            "tablet",
            "furosemide 40 mg daily",
        ),
        Med(
            "metoprolol",
            _rx("866436", "24 HR metoprolol succinate 50 MG Extended Release Oral Tablet"),
            "Take 1 tablet by mouth once daily",
            1,
            "tablet",
            "metoprolol succinate 50 mg daily",
        ),
        Med(
            "apixaban",
            _rx("1364445", "apixaban 5 MG Oral Tablet"),
            "Take 1 tablet by mouth twice daily",
            2,
            "tablet",
            "apixaban 5 mg twice daily",
        ),
        Med(
            "levothyroxine",
            _rx("966222", "levothyroxine sodium 0.075 MG Oral Tablet"),
            "Take 1 tablet by mouth every morning on an empty stomach",
            1,
            "tablet",
            "levothyroxine 75 mcg daily",
        ),
        Med(
            "sertraline",
            _rx("312941", "sertraline 50 MG Oral Tablet"),
            "Take 1 tablet by mouth once daily",
            1,
            "tablet",
            "sertraline 50 mg daily",
        ),
        Med(
            "omeprazole",
            _rx("198051", "omeprazole 20 MG Delayed Release Oral Capsule"),
            "Take 1 capsule by mouth daily before breakfast",
            1,
            "capsule",
            "omeprazole 20 mg daily",
        ),
        Med(
            "anastrozole",
            _rx("199224", "anastrozole 1 MG Oral Tablet"),
            "Take 1 tablet by mouth once daily",
            1,
            "tablet",
            "anastrozole 1 mg daily",
        ),
    )
}


@dataclass(frozen=True)
class Proc:
    key: str
    name: str  # how a note names it
    snomed: Code | None = None
    pcs: Code | None = None
    minutes: tuple[int, int] = (15, 30)
    operative: bool = False  # gets an operative note
    specialty: str = ""  # who performs it; empty means the visit's practitioner


def pcs_code(code: str, display: str) -> Code:
    return Code(ICD10PCS, code, display)


PROCEDURES = {
    p.key: p
    for p in (
        Proc(
            "ecg",
            "12-lead electrocardiogram",
            snomed("29303009", "Electrocardiographic procedure (procedure)"),
            None,
            (10, 15),
        ),
        Proc(
            "chest_xray",
            "two-view chest radiograph",
            snomed("399208008", "Plain X-ray of chest (procedure)"),
            None,
            (10, 20),
        ),
        Proc(
            "echo",
            "transthoracic echocardiogram",
            snomed("40701008", "Echocardiography (procedure)"),
            None,
            (30, 60),
        ),
        Proc(
            "med_rec",
            "medication reconciliation",
            snomed("430193006", "Medication reconciliation (procedure)"),
            None,
            (5, 10),
        ),
        Proc(
            "screening_mammo",
            "screening mammogram",
            snomed("24623002", "Screening mammography (procedure)"),
            None,
            (15, 30),
        ),
        Proc(
            "colonoscopy",
            "screening colonoscopy",
            snomed("73761001", "Colonoscopy (procedure)"),
            None,
            (30, 60),
            specialty="gastroenterology",
        ),
        Proc(
            "central_line",
            "right internal jugular central venous catheter placement",
            None,
            pcs_code(
                "02HV33Z",
                "Insertion of Infusion Device into Superior Vena Cava, Percutaneous Approach",
            ),
            (20, 40),
        ),
        Proc(
            "intubation",
            "endotracheal intubation",
            snomed("112798008", "Insertion of endotracheal tube (procedure)"),
            pcs_code(
                "0BH17EZ",
                "Insertion of Endotracheal Airway into Trachea, Via Natural or Artificial Opening",
            ),
            (10, 20),
        ),
        Proc(
            "cardiac_cath",
            "left heart catheterization with coronary angiography",
            snomed("41976001", "Cardiac catheterization (procedure)"),
            None,
            (45, 90),
            specialty="cardiology",
        ),
        Proc(
            "pci",
            "percutaneous coronary intervention with drug-eluting stent",
            snomed("415070008", "Percutaneous coronary intervention (procedure)"),
            pcs_code(
                "027034Z",
                "Dilation of Coronary Artery, One Artery with Drug-eluting "
                "Intraluminal Device, Percutaneous Approach",
            ),
            (45, 90),
            True,
            "cardiology",
        ),
        Proc(
            "egd",
            "esophagogastroduodenoscopy",
            None,
            pcs_code(
                "0DJ08ZZ",
                "Inspection of Upper Intestinal Tract, Via Natural or Artificial "
                "Opening Endoscopic",
            ),
            (20, 40),
            True,
            "gastroenterology",
        ),
        Proc(
            "appendectomy",
            "laparoscopic appendectomy",
            snomed("80146002", "Appendectomy (procedure)"),
            pcs_code("0DTJ4ZZ", "Resection of Appendix, Percutaneous Endoscopic Approach"),
            (45, 90),
            True,
            "surgery",
        ),
        Proc(
            "cholecystectomy",
            "laparoscopic cholecystectomy",
            snomed("38102005", "Cholecystectomy (procedure)"),
            pcs_code("0FT44ZZ", "Resection of Gallbladder, Percutaneous Endoscopic Approach"),
            (60, 120),
            True,
            "surgery",
        ),
        Proc(
            "hip_right",
            "right hip arthroplasty",
            snomed("52734007", "Total replacement of hip (procedure)"),
            pcs_code(
                "0SR9019",
                "Replacement of Right Hip Joint with Metal Synthetic Substitute, "
                "Cemented, Open Approach",
            ),
            (90, 150),
            True,
            "orthopedics",
        ),
        Proc(
            "hip_left",
            "left hip arthroplasty",
            snomed("52734007", "Total replacement of hip (procedure)"),
            pcs_code(
                "0SRB019",
                "Replacement of Left Hip Joint with Metal Synthetic Substitute, "
                "Cemented, Open Approach",
            ),
            (90, 150),
            True,
            "orthopedics",
        ),
        Proc(
            "tka_right",
            "right total knee arthroplasty",
            snomed("609588000", "Total knee replacement (procedure)"),
            pcs_code(
                "0SRC0J9",
                "Replacement of Right Knee Joint with Synthetic Substitute, "
                "Cemented, Open Approach",
            ),
            (90, 150),
            True,
            "orthopedics",
        ),
        Proc(
            "tka_left",
            "left total knee arthroplasty",
            snomed("609588000", "Total knee replacement (procedure)"),
            pcs_code(
                "0SRD0J9",
                "Replacement of Left Knee Joint with Synthetic Substitute, Cemented, Open Approach",
            ),
            (90, 150),
            True,
            "orthopedics",
        ),
    )
}
