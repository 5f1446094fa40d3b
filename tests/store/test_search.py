"""Search: every indexed parameter, each prefix and modifier, sorting and paging."""

from __future__ import annotations

import pytest

from chartkeeper.errors import InvalidSearch
from chartkeeper.store import PutItem

LOINC, ICD10 = "http://loinc.org", "http://hl7.org/fhir/sid/icd-10-cm"
MRN = "urn:oid:2.16.840.1.113883.3.9999.1"


def _patients() -> list[dict]:
    return [
        {
            "resourceType": "Patient",
            "id": "p1",
            "gender": "female",
            "birthDate": "1950-03-04",
            "identifier": [{"system": MRN, "value": "MRN001"}],
            "name": [{"family": "Nuñez", "given": ["María", "José"]}],
            "telecom": [
                {"system": "phone", "value": "555-0101"},
                {"system": "email", "value": "m@x.org"},
            ],
            "address": [{"postalCode": "02139", "city": "Cambridge"}],
        },
        {
            "resourceType": "Patient",
            "id": "p2",
            "gender": "male",
            "birthDate": "1988",
            "identifier": [{"system": MRN, "value": "MRN002"}, {"value": "LOCAL9"}],
            "name": [{"family": "Nunes", "given": ["Joao"]}],
            "telecom": [{"system": "phone", "value": "555-0202"}],
            "address": [{"postalCode": "94110"}],
        },
        {
            "resourceType": "Patient",
            "id": "p3",
            "gender": "female",
            "birthDate": "2001-12-31",
            "name": [{"family": "Okafor", "given": ["Ada"]}],
        },
    ]


def _clinical() -> list[dict]:
    subject = {"reference": "Patient/p1"}
    return [
        {
            "resourceType": "Encounter",
            "id": "e1",
            "status": "finished",
            "subject": subject,
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "period": {"start": "2024-01-10T08:00:00Z", "end": "2024-01-14T12:00:00Z"},
        },
        {
            "resourceType": "Encounter",
            "id": "e2",
            "status": "in-progress",
            "subject": {"reference": "Patient/p2"},
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "period": {"start": "2024-03-01T09:00:00-05:00"},
        },
        {
            "resourceType": "Condition",
            "id": "c1",
            "subject": subject,
            "code": {"coding": [{"system": ICD10, "code": "E11.9"}]},
            "onsetDateTime": "2015-06",
        },
        {
            "resourceType": "Observation",
            "id": "o1",
            "status": "final",
            "subject": subject,
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "laboratory",
                        }
                    ]
                }
            ],
            "code": {"coding": [{"system": LOINC, "code": "2345-7"}]},
            "effectiveDateTime": "2024-01-11T07:30:00Z",
            "valueQuantity": {
                "value": 5.4,
                "unit": "mmol/L",
                "system": "http://unitsofmeasure.org",
                "code": "mmol/L",
            },
        },
        {
            "resourceType": "Observation",
            "id": "o2",
            "status": "final",
            "subject": subject,
            "code": {"coding": [{"system": LOINC, "code": "2345-7"}]},
            "effectiveDateTime": "2024-02-11",
            "valueQuantity": {"value": 11.2, "unit": "mmol/L"},
        },
        {
            "resourceType": "DiagnosticReport",
            "id": "d1",
            "status": "final",
            "subject": subject,
            "category": [
                {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB"}
                    ]
                }
            ],
            "code": {"coding": [{"system": LOINC, "code": "24323-8"}]},
            "effectiveDateTime": "2024-01-11",
            "result": [{"reference": "Observation/o1"}],
        },
        {
            "resourceType": "Procedure",
            "id": "pr1",
            "status": "completed",
            "subject": subject,
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "80146002"}]},
            "performedPeriod": {"start": "2024-01-12T10:00:00Z", "end": "2024-01-12T11:00:00Z"},
        },
        {
            "resourceType": "DocumentReference",
            "id": "doc1",
            "status": "current",
            "subject": subject,
            "type": {"coding": [{"system": LOINC, "code": "18842-5"}]},
            "date": "2024-01-14T15:00:00Z",
            "content": [{"attachment": {"contentType": "text/plain", "data": "RGlzY2hhcmdl"}}],
        },
        {
            "resourceType": "MedicationRequest",
            "id": "m1",
            "status": "active",
            "intent": "order",
            "subject": subject,
            "medicationCodeableConcept": {
                "coding": [
                    {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "860975"}
                ]
            },
        },
        {
            "resourceType": "Claim",
            "id": "cl1",
            "status": "active",
            "use": "claim",
            "type": {"coding": [{"code": "institutional"}]},
            "patient": subject,
            "created": "2024-01-20",
            "provider": {"reference": "Patient/p1"},
            "priority": {"coding": [{"code": "normal"}]},
            "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": "Acme"}}],
        },
    ]


@pytest.fixture
def loaded(repo):
    with repo.transaction() as tx:
        tx.put_many([PutItem(r) for r in _patients() + _clinical()])
    return repo


def ids(repo, rtype: str, *params: tuple[str, str]) -> list[str]:
    return sorted(r["id"] for r in repo.search(rtype, list(params)).resources)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ([("identifier", "MRN001")], ["p1"]),
        ([("identifier", f"{MRN}|MRN002")], ["p2"]),
        ([("identifier", "|LOCAL9")], ["p2"]),
        ([("identifier", f"{MRN}|")], ["p1", "p2"]),
        ([("identifier", "other|MRN001")], []),
        ([("name", "nun")], ["p1", "p2"]),  # accent- and case-insensitive, starts-with
        ([("name", "maria")], ["p1"]),
        ([("family", "Nuñez")], ["p1"]),
        ([("family:exact", "Nunez")], []),
        ([("family:exact", "Nuñez")], ["p1"]),
        ([("family:contains", "afo")], ["p3"]),
        ([("given", "jo")], ["p1", "p2"]),
        ([("gender", "female")], ["p1", "p3"]),
        ([("gender:not", "female")], ["p2"]),
        ([("gender", "male,female")], ["p1", "p2", "p3"]),
        ([("gender", "female"), ("family", "oka")], ["p3"]),
        ([("birthdate", "1950")], ["p1"]),
        ([("birthdate", "1950-03-04")], ["p1"]),
        ([("birthdate", "ge1988")], ["p2", "p3"]),
        ([("birthdate", "gt1988")], ["p3"]),
        ([("birthdate", "lt1988-06-01")], ["p1", "p2"]),
        ([("birthdate", "le1950-03-04")], ["p1"]),
        ([("birthdate", "ne1988")], ["p1", "p3"]),
        ([("birthdate", "sa1988")], ["p3"]),
        ([("birthdate", "eb1988")], ["p1"]),
        ([("birthdate", "ap1988-05")], ["p2"]),
        ([("birthdate", "ge1980"), ("birthdate", "le1990")], ["p2"]),
        ([("address-postalcode", "021")], ["p1"]),
        ([("phone", "555-0202")], ["p2"]),
        ([("phone", "m@x.org")], []),  # e-mail is not a phone
        ([("_id", "p1,p3")], ["p1", "p3"]),
        ([("telecom:missing", "true")], ["p3"]),
        ([("shoe-size", "9")], None),
    ],
)
def test_patient_parameters(loaded, params, expected):
    if expected is None:
        with pytest.raises(InvalidSearch, match="no search parameter 'shoe-size'"):
            loaded.search("Patient", params)
        return
    assert ids(loaded, "Patient", *params) == expected


@pytest.mark.parametrize(
    ("rtype", "params", "expected"),
    [
        ("Encounter", [("patient", "Patient/p1")], ["e1"]),
        ("Encounter", [("patient", "p2")], ["e2"]),
        # a list of references: grouped by type into one IN; bare ids and other types mixed in
        ("Encounter", [("patient", "Patient/p1,Patient/p2,Patient/nobody")], ["e1", "e2"]),
        ("Encounter", [("patient", "Patient/p1,p2")], ["e1", "e2"]),
        ("Encounter", [("subject", "Patient/p2,Group/g1")], ["e2"]),
        ("Encounter", [("subject:Patient", "Patient/p1,Group/p2")], ["e1"]),
        ("Encounter", [("class", "IMP")], ["e1"]),
        ("Encounter", [("status", "finished")], ["e1"]),
        ("Encounter", [("date", "2024-01-12")], []),  # eq: the stay is not within that day
        ("Encounter", [("date", "ap2024-01-12")], ["e1"]),
        ("Encounter", [("date", "ge2024-02-01")], ["e2"]),  # open-ended period
        ("Encounter", [("date", "lt2024-03-01T12:00:00Z")], ["e1"]),  # -05:00 is 14:00Z
        ("Encounter", [("date", "le2024-03-01T14:00:00Z")], ["e1", "e2"]),
        ("Condition", [("code", f"{ICD10}|E11.9")], ["c1"]),
        ("Condition", [("onset-date", "2015")], ["c1"]),
        ("Condition", [("onset", "lt2015-06-15")], ["c1"]),
        ("Condition", [("patient", "Patient/p2")], []),
        ("Observation", [("code", f"{LOINC}|2345-7")], ["o1", "o2"]),
        ("Observation", [("category", "laboratory")], ["o1"]),
        ("Observation", [("date", "2024-01")], ["o1"]),
        ("Observation", [("value-quantity", "5.4")], ["o1"]),
        ("Observation", [("value-quantity", "5.38")], []),
        ("Observation", [("value-quantity", "gt10")], ["o2"]),
        ("Observation", [("value-quantity", "le5.4|http://unitsofmeasure.org|mmol/L")], ["o1"]),
        ("Observation", [("value-quantity", "ap11")], ["o2"]),
        ("Observation", [("value-quantity", "lt20||mg/dL")], []),
        ("DiagnosticReport", [("code", "24323-8"), ("patient", "Patient/p1")], ["d1"]),
        ("DiagnosticReport", [("category", "LAB"), ("date", "2024-01-11")], ["d1"]),
        ("DiagnosticReport", [("result", "Observation/o1")], ["d1"]),
        ("Procedure", [("code", "80146002"), ("date", "2024-01-12")], ["pr1"]),
        ("Procedure", [("patient", "Patient/p1")], ["pr1"]),
        ("DocumentReference", [("type", f"{LOINC}|18842-5"), ("status", "current")], ["doc1"]),
        ("DocumentReference", [("date", "ge2024-01-14"), ("patient", "Patient/p1")], ["doc1"]),
        ("MedicationRequest", [("code", "860975"), ("patient", "Patient/p1")], ["m1"]),
        ("Claim", [("patient", "Patient/p1"), ("created", "2024-01")], ["cl1"]),
        ("Claim", [("created", "lt2024")], []),
    ],
)
def test_clinical_parameters(loaded, rtype, params, expected):
    assert ids(loaded, rtype, *params) == expected


def test_missing_modifier(loaded):
    assert ids(loaded, "Patient", ("phone:missing", "true")) == ["p3"]
    assert ids(loaded, "Patient", ("phone:missing", "false")) == ["p1", "p2"]


def test_last_updated(loaded):
    assert ids(loaded, "Patient", ("_lastUpdated", "gt2000-01-01")) == ["p1", "p2", "p3"]
    assert ids(loaded, "Patient", ("_lastUpdated", "lt2000-01-01")) == []


def test_paging_is_stable_and_complete(repo):
    with repo.transaction() as tx:
        tx.put_many(
            [
                PutItem(
                    {
                        "resourceType": "Patient",
                        "id": f"pt{n:03}",
                        "gender": "other",
                        "birthDate": f"19{50 + n % 3}",
                    }
                )
                for n in range(25)
            ]
        )
    seen: list[str] = []
    offset = 0
    while offset is not None:
        page = repo.search(
            "Patient",
            [
                ("gender", "other"),
                ("_sort", "birthdate"),
                ("_count", "7"),
                ("_offset", str(offset)),
            ],
        )
        assert page.total == 25
        seen += [r["id"] for r in page.resources]
        offset = page.next_offset
    assert len(seen) == 25 and len(set(seen)) == 25
    births = [repo.read("Patient", i)["birthDate"] for i in seen]
    assert births == sorted(births)
    newest_first = repo.search("Patient", [("_sort", "-birthdate,_id"), ("_count", "3")]).resources
    assert [r["birthDate"] for r in newest_first] == ["1952"] * 3
    assert repo.search("Patient", [("_count", "0")]).resources == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ([("birthdate", "yesterday")], "not a FHIR date"),
        ([("_count", "-1")], "whole number"),
        ([("value-quantity", "abc")], "not a number"),
        ([("family:fuzzy", "x")], "not supported"),
        ([("_sort", "value-quantity")], "cannot sort"),
        ([("family", "")], "empty value"),
    ],
)
def test_bad_queries_say_what_is_wrong(loaded, params, message):
    rtype = "Observation" if params[0][0].startswith(("value", "_sort")) else "Patient"
    with pytest.raises(InvalidSearch, match=message):
        loaded.search(rtype, params)
