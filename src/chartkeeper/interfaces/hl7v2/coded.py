"""Coded values (HL7 v2 2A.13 CWE/CE/CNE) to CodeableConcept, and the coding system names
of HL7 table 0396 to FHIR system URIs.

This module owns the mapping of codes: the well-known systems (LOINC, SNOMED CT, UCUM,
ICD, CPT, CVX, MVX, NDC, NCI Thesaurus, RxNorm, DICOM) by the names v2 senders use for them, HL7 tables
(`HL70078`) to terminology.hl7.org's v2 code systems, and local names to systems we mint.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from chartkeeper.interfaces.hl7v2.datatypes import LOCAL, V2
from chartkeeper.interfaces.hl7v2.parser import Composite

# HL7 table 0396 coding system names -> FHIR system URIs (terminology.hl7.org).
_CODE_SYSTEMS = {
    "LN": "http://loinc.org",
    "LOINC": "http://loinc.org",
    "SCT": "http://snomed.info/sct",
    "SNM": "http://snomed.info/sct",
    "SNOMED": "http://snomed.info/sct",
    "UCUM": "http://unitsofmeasure.org",
    "I9": "http://hl7.org/fhir/sid/icd-9-cm",
    "I9C": "http://hl7.org/fhir/sid/icd-9-cm",
    "I9CDX": "http://hl7.org/fhir/sid/icd-9-cm",
    "I9M": "http://hl7.org/fhir/sid/icd-9-cm",
    "I10": "http://hl7.org/fhir/sid/icd-10",
    "I10C": "http://hl7.org/fhir/sid/icd-10-cm",
    "ICD10CM": "http://hl7.org/fhir/sid/icd-10-cm",
    "C4": "http://www.ama-assn.org/go/cpt",
    "CPT": "http://www.ama-assn.org/go/cpt",
    "CVX": "http://hl7.org/fhir/sid/cvx",
    "MVX": "http://terminology.hl7.org/CodeSystem/MVX",
    "NCIT": "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl",
    "NDC": "http://hl7.org/fhir/sid/ndc",
    "RXNORM": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "DCM": "http://dicom.nema.org/resources/ontology/DCM",
    "CDCREC": "urn:oid:2.16.840.1.113883.6.238",
}
_TABLE = re.compile(r"HL7(\d{4})")


def code_system(name: str) -> str | None:
    """A FHIR system URI for a table 0396 coding system name; local names get one of ours."""
    if not name:
        return None
    upper = name.upper()
    if upper in _CODE_SYSTEMS:
        return _CODE_SYSTEMS[upper]
    table = _TABLE.fullmatch(upper)
    if table:
        return f"{V2}{table[1]}"
    return f"{LOCAL}codesystem:{quote(name, safe='')}"


def _coding(code: str, display: str, system_name: str, version: str, table: str) -> dict | None:
    if not code and not display:
        return None
    coding: dict = {}
    system = code_system(system_name) or (f"{V2}{table}" if table and code else None)
    if system:
        coding["system"] = system
    if version:
        coding["version"] = version
    if code:
        coding["code"] = code
    if display:
        coding["display"] = display
    return coding


def cwe_concept(cwe: Composite, table: str = "") -> dict | None:
    """CWE/CE/CNE (2A.13) -> CodeableConcept: the identifier triplet and the alternate one
    as codings, CWE-9 original text as text. `table` is the HL7 table the field is bound to,
    used as the system when the sender names none."""
    if cwe.empty:
        return None
    codings = []
    first = _coding(cwe.get(1), cwe.get(2), cwe.get(3), cwe.get(7), table)
    if first and first.get("code"):
        codings.append(first)
    second = _coding(cwe.get(4), cwe.get(5), cwe.get(6), cwe.get(8), "")
    if second and second.get("code"):
        codings.append(second)
    concept: dict = {"coding": codings} if codings else {}
    text = cwe.get(9) or (cwe.get(2) if not codings else "")
    if text:
        concept["text"] = text
    return concept or None
