"""Search over the R4 definitions: deceased, chains, _has, composites, the token, reference
and uri modifiers, and that hidden records never answer through a chain or _has.

One store per backend, many queries against it (a store per query would cost more than
the queries)."""

from __future__ import annotations

import pytest

from chartkeeper.errors import InvalidSearch
from chartkeeper.store import PutItem
from chartkeeper.store.guard import HiddenLabels
from chartkeeper.store.search import search

LOINC = "http://loinc.org"
V2 = "http://terminology.hl7.org/CodeSystem/v2-0203"
MRN = "urn:oid:1.2.3.4"
ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ETH = {"system": ACT, "code": "ETH"}


def _records() -> list[dict]:
    def patient(pid, family, **extra):
        return {"resourceType": "Patient", "id": pid, "name": [{"family": family}], **extra}

    def bp(oid, pid, systolic, diastolic, **extra):
        return {
            "resourceType": "Observation",
            "id": oid,
            "status": "final",
            "subject": {"reference": f"Patient/{pid}"},
            "code": {"coding": [{"system": LOINC, "code": "85354-9"}], "text": "Blood pressure"},
            "component": [
                {
                    "code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
                    "valueQuantity": {
                        "value": systolic,
                        "system": "http://unitsofmeasure.org",
                        "code": "mm[Hg]",
                    },
                },
                {
                    "code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
                    "valueQuantity": {
                        "value": diastolic,
                        "system": "http://unitsofmeasure.org",
                        "code": "mm[Hg]",
                    },
                },
            ],
            **extra,
        }

    return [
        patient(
            "alive",
            "Lind",
            identifier=[
                {
                    "type": {"coding": [{"system": V2, "code": "MR"}], "text": "Medical record"},
                    "system": MRN,
                    "value": "A-1",
                }
            ],
            generalPractitioner=[{"reference": "Practitioner/dr"}],
        ),
        patient("dead-flag", "Moss", deceasedBoolean=True),
        patient("dead-date", "Moss", deceasedDateTime="2020-05-01T10:00:00Z"),
        patient("not-dead", "Noor", deceasedBoolean=False),
        patient("secret", "Hidden", meta={"security": [ETH]}),
        {"resourceType": "Practitioner", "id": "dr", "name": [{"family": "Osler"}]},
        bp("bp-high", "alive", 150, 95),
        bp("bp-mixed", "dead-flag", 150, 70),
        bp("bp-secret", "secret", 150, 95),
        bp("bp-labelled", "alive", 160, 100, meta={"security": [ETH]}),
        {
            "resourceType": "Encounter",
            "id": "enc",
            "status": "finished",
            "class": {"system": ACT, "code": "AMB"},
            "subject": {"reference": "Patient/alive"},
            "participant": [{"individual": {"reference": "Practitioner/dr"}}],
        },
        {
            "resourceType": "Immunization",
            "id": "imm",
            "status": "completed",
            "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "140"}]},
            "patient": {"reference": "Patient/dead-date"},
            "occurrenceDateTime": "2019-10-01",
            "encounter": {"reference": "Encounter/enc"},
        },
        {
            "resourceType": "DocumentReference",
            "id": "doc",
            "status": "current",
            "subject": {"identifier": {"system": MRN, "value": "A-1"}},
            "content": [{"attachment": {"url": "http://example.org/docs/letters/1"}}],
        },
        {
            "resourceType": "ValueSet",
            "id": "vs",
            "status": "active",
            "url": "http://acme.org/fhir/ValueSet/123",
        },
    ]


@pytest.fixture
def loaded(repo):
    with repo.transaction() as tx:
        tx.put_many([PutItem(r) for r in _records()])
    return repo


def _ids(repo, rtype, params, hidden=None) -> list[str]:
    with repo.reading() as tx:
        page = search(tx.conn, rtype, params, hidden=hidden)
    return sorted(r["id"] for r in page.resources)


CASES = [
    # deceased is `deceased.exists() and deceased != false`: a date of death counts too
    ("Patient", [("deceased", "true")], ["dead-date", "dead-flag"]),
    ("Patient", [("deceased", "false")], ["alive", "not-dead", "secret"]),
    ("Patient", [("death-date", "2020")], ["dead-date"]),
    # the patient parameter on a type that names it `patient`, not `subject`
    ("Immunization", [("patient", "Patient/dead-date")], ["imm"]),
    ("Immunization", [("patient", "alive")], []),
    # chains, with and without the type modifier, two levels deep
    ("Observation", [("subject:Patient.family", "Lind")], ["bp-high", "bp-labelled"]),
    ("Observation", [("subject.family", "moss")], ["bp-mixed"]),
    ("Observation", [("patient.general-practitioner.family", "Osler")], ["bp-high", "bp-labelled"]),
    ("Encounter", [("participant.family", "Osler")], ["enc"]),
    ("Immunization", [("patient.deceased", "true")], ["imm"]),
    # reverse chains, nested
    ("Patient", [("_has:Observation:patient:code", "85354-9")], ["alive", "dead-flag", "secret"]),
    ("Patient", [("_has:Immunization:patient:vaccine-code", "140")], ["dead-date"]),
    (
        "Practitioner",
        [("_has:Patient:general-practitioner:_has:Observation:patient:status", "final")],
        ["dr"],
    ),
    ("Patient", [("_has:Observation:subject:code", "nope")], []),
    # composites: both parts must be met by the same component
    (
        "Observation",
        [("component-code-value-quantity", f"{LOINC}|8462-4$gt90")],
        ["bp-high", "bp-labelled", "bp-secret"],
    ),
    (
        "Observation",
        [("component-code-value-quantity", "8480-6$gt90")],
        ["bp-high", "bp-labelled", "bp-mixed", "bp-secret"],
    ),
    ("Observation", [("component-code-value-quantity", "8480-6$lt90")], []),
    ("Observation", [("component-code-value-quantity", "8462-4$lt80")], ["bp-mixed"]),
    # token modifiers
    ("Observation", [("code:text", "blood")], ["bp-high", "bp-labelled", "bp-mixed", "bp-secret"]),
    (
        "Observation",
        [("code:text", "pressure")],
        ["bp-high", "bp-labelled", "bp-mixed", "bp-secret"],
    ),
    ("Observation", [("code:text", "sugar")], []),
    ("Patient", [("identifier:of-type", f"{V2}|MR|A-1")], ["alive"]),
    ("Patient", [("identifier:of-type", f"{V2}|SS|A-1")], []),
    ("Patient", [("identifier:text", "medical")], ["alive"]),
    ("Patient", [("family:exact", "Moss")], ["dead-date", "dead-flag"]),
    ("Patient", [("family:exact", "moss")], []),
    ("Patient", [("family:contains", "os")], ["dead-date", "dead-flag"]),
    ("Patient", [("death-date:missing", "false")], ["dead-date"]),
    # reference modifiers
    ("DocumentReference", [("subject:identifier", f"{MRN}|A-1")], ["doc"]),
    ("Observation", [("subject:Patient", "alive")], ["bp-high", "bp-labelled"]),
    ("Observation", [("subject:Group", "alive")], []),
    # uri modifiers
    ("ValueSet", [("url", "http://acme.org/fhir/ValueSet/123")], ["vs"]),
    ("ValueSet", [("url", "http://acme.org/fhir/ValueSet")], []),
    ("ValueSet", [("url:below", "http://acme.org/fhir")], ["vs"]),
    ("ValueSet", [("url:above", "http://acme.org/fhir/ValueSet/123/_history/5")], ["vs"]),
    ("ValueSet", [("url:above", "http://acme.org/other/ValueSet/123")], []),
    # the common ones every type has
    ("Observation", [("_security", f"{ACT}|ETH")], ["bp-labelled"]),
]


def test_r4_parameters_answer_as_the_spec_says(loaded):
    wrong = []
    for rtype, params, expected in CASES:
        got = _ids(loaded, rtype, params)
        if got != expected:
            wrong.append(f"{rtype}?{params}: {got} != {expected}")
    assert not wrong, "\n".join(wrong)


HIDE_ETH = HiddenLabels(frozenset({(ETH["system"], ETH["code"])}))


def test_hidden_records_never_answer_through_chains_or_has(loaded):
    """A caller who may not see ETH records cannot learn of them by asking around them:
    not through a chain to a hidden patient, a _has over hidden observations, nor a
    composite or :text match on a hidden record."""
    cases = [
        # chain to the hidden patient: the observation itself is plain, the target is not
        ("Observation", [("subject:Patient.family", "Hidden")], [], ["bp-secret"]),
        (
            "Observation",
            [("subject:Patient.family", "Lind")],
            ["bp-high"],
            ["bp-high", "bp-labelled"],
        ),
        # _has over a hidden observation must not reveal its patient's existence
        (
            "Patient",
            [("_has:Observation:patient:_security", f"{ACT}|ETH")],
            [],
            ["alive"],
        ),
        ("Patient", [("_has:Observation:patient:code", "85354-9")], ["alive", "dead-flag"], None),
        (
            "Patient",
            [("_has:Observation:patient:component-code-value-quantity", "8480-6$gt155")],
            [],
            ["alive"],
        ),
        # the labelled observation is left out; its unlabelled sibling of the labelled
        # patient is not itself labelled, so policy shows it
        ("Observation", [("code:text", "blood")], ["bp-high", "bp-mixed", "bp-secret"], None),
    ]
    wrong = []
    for rtype, params, hidden_answer, open_answer in cases:
        got = _ids(loaded, rtype, params, hidden=HIDE_ETH)
        if got != hidden_answer:
            wrong.append(f"hidden {rtype}?{params}: {got} != {hidden_answer}")
        if open_answer is not None and _ids(loaded, rtype, params) != open_answer:
            wrong.append(f"open {rtype}?{params}: {_ids(loaded, rtype, params)} != {open_answer}")
    assert not wrong, "\n".join(wrong)
    exempt = HiddenLabels(HIDE_ETH.codes, frozenset({"secret"}))  # break-the-glass on one patient
    assert _ids(loaded, "Observation", [("subject:Patient.family", "Hidden")], exempt) == [
        "bp-secret"
    ]


@pytest.mark.parametrize(
    ("rtype", "params", "message"),
    [
        ("Patient", [("family:fuzzy", "x")], "modifier ':fuzzy' is not supported"),
        ("Patient", [("birthdate:text", "1990")], "not supported on a date"),
        ("Patient", [("gender:Patient", "x")], "not supported on a token"),
        ("Observation", [("subject:Patient.shoe-size", "9")], "no search parameter 'shoe-size'"),
        ("Observation", [("status.family", "x")], "only references chain"),
        ("Observation", [("subject:Banana.family", "x")], "not a type"),
        ("Patient", [("_has:Observation:code:status", "final")], "no reference parameter 'code'"),
        ("Patient", [("_has:Observation", "x")], "expected _has"),
        ("Patient", [("_has:Banana:patient:code", "x")], "not a resource type"),
        ("Practitioner", [("_has:Immunization:patient:status", "x")], "never refers to"),
        ("Observation", [("component-code-value-quantity", "8480-6")], "joined by '\\$'"),
        ("Patient", [("identifier:of-type", "MR|A-1")], "of-type"),
        ("Patient", [("deceased:missing", "maybe")], "true or false"),
        ("Patient", [("_total", "some")], "_total"),
    ],
)
def test_bad_r4_queries_are_refused(repo, rtype, params, message):
    with repo.reading() as tx, pytest.raises(InvalidSearch, match=message):
        search(tx.conn, rtype, params)


def test_total_none_still_pages(loaded):
    with loaded.reading() as tx:
        page = search(tx.conn, "Observation", [("_total", "none"), ("_count", "2")])
        assert page.total is None and len(page.resources) == 2 and page.next_offset == 2
        last = search(
            tx.conn, "Observation", [("_total", "none"), ("_count", "2"), ("_offset", "2")]
        )
        assert len(last.resources) == 2 and last.next_offset is None
