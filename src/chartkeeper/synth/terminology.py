"""Code systems and the fixed codes the generator uses outside the clinical catalogues.

ICD-10-CM displays are not typed here: `icd10cm()` takes them from the `simple_icd_10_cm`
package (the CMS tabular list), imported on first use because parsing it takes seconds.
"""

from __future__ import annotations

import warnings
from functools import cache
from typing import NamedTuple

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10PCS = "http://www.cms.gov/Medicare/Coding/ICD10"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
SSN_SYSTEM = "http://hl7.org/fhir/sid/us-ssn"
NUCC = "http://nucc.org/provider-taxonomy"
# HL7's example OID arc (2.16.840.1.113883.19) is reserved for illustrations, so it can
# never clash with a real enterprise's MRN assigning authority.
MRN_SYSTEM = "urn:oid:2.16.840.1.113883.19.5.99999.1"

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
V2_0360 = "http://terminology.hl7.org/CodeSystem/v2-0360"
MARITAL = "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
COND_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
COND_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
COND_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
DISCHARGE = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
ADMIT_SOURCE = "http://terminology.hl7.org/CodeSystem/admit-source"
DIAGNOSIS_ROLE = "http://terminology.hl7.org/CodeSystem/diagnosis-role"
DOC_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
MED_CATEGORY = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/practitioner-role"
ORG_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"


class Code(NamedTuple):
    system: str
    code: str
    display: str


@cache
def icd10cm(code: str) -> Code:
    """An ICD-10-CM code with its official display; raises if the code is not billable."""
    with warnings.catch_warnings():  # it reads its data through a deprecated importlib API
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm as cm

    if not (cm.is_valid_item(code) and cm.is_leaf(code)):
        raise ValueError(f"{code} is not a billable ICD-10-CM code")
    return Code(ICD10CM, code, cm.get_description(code))


def loinc(code: str, display: str) -> Code:
    return Code(LOINC, code, display)


def snomed(code: str, display: str) -> Code:
    return Code(SNOMED, code, display)


ENCOUNTER_CLASS = {
    "AMB": Code(ACT_CODE, "AMB", "ambulatory"),
    "EMER": Code(ACT_CODE, "EMER", "emergency"),
    "IMP": Code(ACT_CODE, "IMP", "inpatient encounter"),
}

ENCOUNTER_TYPE = {
    "wellness": snomed("185349003", "Encounter for check up (procedure)"),
    "followup": snomed("390906007", "Follow-up encounter (procedure)"),
    "acute": snomed("185345009", "Encounter for symptom (procedure)"),
    "procedure": snomed("185347001", "Encounter for problem (procedure)"),
    "oncology": snomed("185347001", "Encounter for problem (procedure)"),
    "ed": snomed("50849002", "Emergency room admission (procedure)"),
    "admission": snomed("183452005", "Emergency hospital admission (procedure)"),
    "surgical": snomed("32485007", "Hospital admission (procedure)"),
}

NOTE_TYPE = {
    "progress": loinc("11506-3", "Progress note"),
    "ed": loinc("34111-5", "Emergency department Note"),
    "hp": loinc("34117-2", "History and physical note"),
    "discharge": loinc("18842-5", "Discharge summary"),
    "operative": loinc("11504-8", "Surgical operation note"),
    "pathology": loinc("11526-1", "Pathology study"),
}

DISPOSITION = {
    "home": Code(DISCHARGE, "home", "Home"),
    "snf": Code(DISCHARGE, "snf", "Skilled nursing facility"),
    "rehab": Code(DISCHARGE, "rehab", "Rehabilitation"),
    "hosp": Code(DISCHARGE, "hosp", "Hospice"),
    "exp": Code(DISCHARGE, "exp", "Expired"),
    "aadvice": Code(DISCHARGE, "aadvice", "Left against advice"),
}

ADMIT = {
    "emd": Code(ADMIT_SOURCE, "emd", "From accident/emergency department"),
    "outp": Code(ADMIT_SOURCE, "outp", "From outpatient department"),
}

INTERPRETATIONS = {
    "N": Code(INTERPRETATION, "N", "Normal"),
    "H": Code(INTERPRETATION, "H", "High"),
    "L": Code(INTERPRETATION, "L", "Low"),
    "HH": Code(INTERPRETATION, "HH", "Critical high"),
    "LL": Code(INTERPRETATION, "LL", "Critical low"),
}

MARITAL_STATUS = {
    "S": Code(MARITAL, "S", "Never Married"),
    "M": Code(MARITAL, "M", "Married"),
    "D": Code(MARITAL, "D", "Divorced"),
    "W": Code(MARITAL, "W", "Widowed"),
}

VITAL_SIGNS = Code(OBS_CATEGORY, "vital-signs", "Vital Signs")
LABORATORY = Code(OBS_CATEGORY, "laboratory", "Laboratory")
LAB_SECTION = Code(V2_0074, "LAB", "Laboratory")
PATHOLOGY_CATEGORY = (
    loinc("LP7839-6", "Pathology"),
    Code(V2_0074, "PAT", "Pathology (gross & histopath, not surgical)"),
)
PROBLEM_LIST = Code(COND_CATEGORY, "problem-list-item", "Problem List Item")
ENCOUNTER_DX = Code(COND_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis")
CLINICAL_NOTE = Code(DOC_CATEGORY, "clinical-note", "Clinical Note")
MRN_TYPE = Code(V2_0203, "MR", "Medical record number")
SSN_TYPE = Code(V2_0203, "SS", "Social Security number")
NPI_TYPE = Code(V2_0203, "NPI", "National provider identifier")
ATTENDER = Code(PARTICIPATION, "ATND", "attender")
PRIMARY_PERFORMER = Code(PARTICIPATION, "PPRF", "primary performer")
