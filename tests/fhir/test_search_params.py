"""The search parameter definitions: all of R4's, and the compiled expressions agree with
fhirpathpy (the FHIRPath engine) on real resources."""

from __future__ import annotations

import json
import re
from collections import Counter
from decimal import Decimal

import fhirpathpy
import pytest
from fhirpathpy.models import models

from chartkeeper.fhir import search_params as sp
from chartkeeper.fhir.resource_types import RESOURCE_TYPES
from chartkeeper.fhir.search_params_r4 import R4_SEARCH_PARAMETERS
from support import shared_data


def test_every_r4_definition_with_an_expression_is_searchable():
    defined = {
        (rtype, code)
        for rtype, params in R4_SEARCH_PARAMETERS.items()
        if rtype not in ("Resource", "DomainResource")
        for code in params
    }
    assert len(defined) > 1300  # R4 4.0.1 has ~1,400 (1,375 definitions, some on many types)
    # Types the store keeps (R4 less the few R4B dropped, which it cannot store either)
    missing = {(t, c) for t, c in defined if t in RESOURCE_TYPES and sp.lookup(t, c) is None}
    assert not missing
    assert sp.lookup("Observation", "_security") and sp.lookup("Condition", "_tag")
    # patient on Observation is subject restricted to Patient: answered from subject's rows
    patient = sp.lookup("Observation", "patient")
    assert (patient.index_as, patient.target_type) == ("subject", "Patient")


def _as_of_type(expression: str) -> str:
    """R4's `(X as T)` on a collection is an error for a strict engine; servers (and our
    compiled steps) read it as ofType(T)."""
    expression = re.sub(r"\(([A-Za-z.]+) as ([A-Za-z]+)\)", r"\1.ofType(\2)", expression)
    return re.sub(r"\.as\(([A-Za-z]+)\)", r".ofType(\1)", expression)


def _engine(resource: dict, expression: str) -> list:
    rewritten = sp._RESOLVE_IS.sub(r".where(reference.startsWith('\1/'))", expression)
    return fhirpathpy.evaluate(resource, _as_of_type(rewritten), model=models["r4"])


def _bag(values) -> Counter:
    return Counter(
        json.dumps(
            v, sort_keys=True, default=lambda d: float(d) if isinstance(d, Decimal) else str(d)
        )
        for v in values
    )


def _samples() -> list[dict]:
    folder = shared_data("fhir-r4", "spec-examples")
    found = [
        json.loads(p.read_text()) for p in sorted(folder.glob("*.json")) if "Bundle-" not in p.name
    ]
    synthea = sorted(shared_data("fhir-r4", "synthea").glob("*.json"))[0]
    entries = json.loads(synthea.read_text())["entry"]
    seen: set[str] = set()
    for entry in entries:  # one resource of each type keeps the engine's share short
        res = entry["resource"]
        if res["resourceType"] not in seen:
            seen.add(res["resourceType"])
            found.append(res)
    return found


def test_compiled_expressions_agree_with_the_fhirpath_engine():
    compared, disagree = 0, []
    for res in _samples():
        rtype = res["resourceType"]
        for param in sp.params_for(rtype).values():
            if param.type == sp.COMPOSITE or sp.uses_fhirpath_engine(param.expression, rtype):
                continue
            ours = [v for v, _t in sp.compiled(param.expression, rtype)(res)]
            theirs = _engine(res, param.expression)
            compared += 1
            if _bag(ours) != _bag(theirs):
                disagree.append(f"{rtype}/{res['id']} {param.name}: {ours[:2]} != {theirs[:2]}")
    assert compared > 1000
    assert not disagree, "\n".join(disagree[:10])


@pytest.mark.parametrize(
    ("patient", "expected"),
    [
        ({"deceasedBoolean": True}, "true"),
        ({"deceasedDateTime": "2020-01-01"}, "true"),
        ({"deceasedBoolean": False}, "false"),
        ({}, "false"),
    ],
)
def test_deceased_is_evaluated_by_the_engine(patient, expected):
    """`Patient.deceased.exists() and Patient.deceased != false` is not a path: fhirpathpy
    evaluates it, so a date of death counts as deceased."""
    param = sp.lookup("Patient", "deceased")
    assert sp.uses_fhirpath_engine(param.expression, "Patient")
    rows = sp.extract({"resourceType": "Patient", "id": "x", **patient})
    assert ("deceased", expected, "") in rows.token


def test_modifier_rows_are_kept_beside_the_values():
    rows = sp.extract(
        {
            "resourceType": "Observation",
            "id": "o",
            "status": "final",
            "code": {
                "coding": [{"system": "http://loinc.org", "code": "8480-6", "display": "Systolic"}]
            },
            "subject": {
                "reference": "Patient/p",
                "identifier": {"system": "urn:mrn", "value": "42"},
            },
            "valueQuantity": {
                "value": 120,
                "system": "http://unitsofmeasure.org",
                "code": "mm[Hg]",
            },
        }
    )
    assert ("code", "8480-6", "http://loinc.org") in rows.token
    assert ("code:text", "systolic", "Systolic") in rows.string
    assert ("subject:identifier", "42", "urn:mrn") in rows.token
    assert ("subject", "Patient", "p") in rows.reference
    assert not [r for r in rows.reference if r[0] == "patient"]  # read from subject's rows
    assert ("value-quantity", 120.0, "http://unitsofmeasure.org", "mm[Hg]") in rows.quantity
    # a composite occurrence is indexed only when every component has a value
    assert ("code-value-quantity$0", "8480-6", "http://loinc.org") in rows.token
    assert not [r for r in rows.token if r[0].startswith("code-value-concept")]
