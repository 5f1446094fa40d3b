"""The fast structural validator, on real FHIR R4 content and against fhir.resources.

The sample data (Synthea bundles, the R4 spec examples) lives in ../shared/data; tests that
need it skip when it is absent. The differential tests mutate real resources and require
that both our validator and the fhir.resources reference reject each mutation, and that
ours names where.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from fhir.resources.R4B import get_fhir_model_class

from chartkeeper.errors import InvalidResource
from chartkeeper.fhir import validation
from chartkeeper.fhir.validation import known_resource_types, validate

FHIR_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fhir-r4"
XHTML = '<div xmlns="http://www.w3.org/1999/xhtml">text</div>'


def _folder(name: str) -> Path:
    folder = FHIR_DATA / name
    if not folder.is_dir():
        pytest.skip(f"sample data not present: {folder}")
    return folder


@pytest.fixture(scope="module")
def synthea_bundles() -> list[dict]:
    return [orjson.loads(p.read_bytes()) for p in sorted(_folder("synthea").glob("*.json"))]


@pytest.fixture(scope="module")
def spec_examples() -> list[dict]:
    """Every spec example file, then every resource inside the example Bundles."""
    files = [orjson.loads(p.read_bytes()) for p in sorted(_folder("spec-examples").glob("*.json"))]
    inner = [
        e.get("resource")
        for f in files
        if f["resourceType"] == "Bundle"
        for e in f.get("entry", [])
    ]
    return files + [r for r in inner if r]


@pytest.fixture(scope="module")
def samples(synthea_bundles: list[dict], spec_examples: list[dict]) -> list[dict]:
    """A few dozen real resources: up to three of each type."""
    picked: dict[str, list[dict]] = {}
    resources = [e["resource"] for b in synthea_bundles[:3] for e in b["entry"]] + spec_examples
    for resource in resources:
        if resource["resourceType"] != "Bundle":
            same = picked.setdefault(resource["resourceType"], [])
            if len(same) < 3:
                same.append(resource)
    return [r for same in picked.values() for r in same]


def problems(resource: dict) -> list[tuple[str, str]]:
    with pytest.raises(InvalidResource) as caught:
        validate(resource)
    return [(i.path, i.problem) for i in caught.value.issues]


def reference_rejects(resource_type: str, resource: dict) -> bool:
    try:
        get_fhir_model_class(resource_type).model_validate(resource)
    except ValueError:  # pydantic's ValidationError is one
        return True
    return False


# --- real content passes ---------------------------------------------------------------------


def test_every_synthea_resource_and_bundle_validates(synthea_bundles: list[dict]) -> None:
    failures = []
    for bundle in synthea_bundles:
        for entry in bundle["entry"]:
            try:
                validate(entry["resource"])
            except InvalidResource as exc:
                failures.append(str(exc))
        validate(bundle)
    assert not failures, failures[:5]
    assert sum(len(b["entry"]) for b in synthea_bundles) > 5000


def test_every_spec_example_validates(spec_examples: list[dict]) -> None:
    failures = []
    for resource in spec_examples:
        try:
            validate(resource)
        except InvalidResource as exc:
            failures.append(str(exc))
    assert not failures, failures[:5]


def test_valid_samples_pass_both_validators(samples: list[dict]) -> None:
    assert len(samples) >= 30
    for resource in samples:
        validate(resource)
        assert not reference_rejects(resource["resourceType"], resource), resource["id"]


def test_valid_content_takes_the_fast_path(synthea_bundles: list[dict]) -> None:
    # The slow path would accept them too, at half the speed: a fast path that wrongly said
    # no would show only as a lost benchmark.
    bundle = synthea_bundles[0]
    for entry in bundle["entry"]:
        resource = entry["resource"]
        table = validation._resource_table(resource["resourceType"])
        assert validation._conforms(resource, table), resource["resourceType"]


# --- differential: each mutation is rejected by both, and ours says where ------------------


@dataclass(frozen=True)
class Mutation:
    name: str
    applies: Callable[[dict], bool]
    mutate: Callable[[dict], None]
    path: str  # "{rt}" stands for the resource type
    problem: str  # a part of the expected problem text


def _any(r: dict) -> bool:
    return True


def _type(*names: str) -> Callable[[dict], bool]:
    return lambda r: r["resourceType"] in names


def _set(**changes: object) -> Callable[[dict], None]:
    return lambda r: r.update(copy.deepcopy(changes))


def _drop(*names: str) -> Callable[[dict], None]:
    def mutate(r: dict) -> None:
        for name in names:
            r.pop(name, None)

    return mutate


def _first_name_given_as_string(r: dict) -> None:
    r["name"][0]["given"] = "Ana"


def _quantity_value_as_text(r: dict) -> None:
    r["valueQuantity"]["value"] = "abc"


def _empty_code(r: dict) -> None:
    # Not the empty `system`: fhir.resources lets an empty uri through.
    r["code"]["coding"][0]["code"] = ""


def _no_such_day(r: dict) -> None:
    _drop("effectivePeriod", "effectiveInstant")(r)
    r["effectiveDateTime"] = "2021-02-30T10:00:00Z"


def _both_medications(r: dict) -> None:
    r["medicationReference"] = {"reference": "Medication/m1"}
    r["medicationCodeableConcept"] = {"text": "aspirin"}


MUTATIONS = [
    Mutation("unknown element", _any, _set(foo="bar"), "{rt}.foo", "unknown element 'foo'"),
    Mutation("bad id", _any, _set(id="not an id!"), "{rt}.id", "is not a valid id"),
    Mutation(
        "wrong resourceType",
        _any,
        _set(resourceType="Foo"),
        "resourceType",
        "unknown resource type 'Foo'",
    ),
    Mutation(
        "list for single",
        _any,
        _set(language=["en"]),
        "{rt}.language",
        "expected a single value, not a list",
    ),
    Mutation("empty string", _any, _set(language=""), "{rt}.language", "empty string not allowed"),
    Mutation(
        "bad instant",
        _any,
        _set(meta={"lastUpdated": "2020-01-01"}),
        "{rt}.meta.lastUpdated",
        "is not a valid instant",
    ),
    Mutation(
        "missing nested required",
        _type("Patient", "Observation", "Encounter"),
        _set(text={"div": XHTML}),
        "{rt}.text.status",
        "required element missing",
    ),
    Mutation(
        "bad contained resource",
        _type("Patient", "Observation", "Condition"),
        _set(contained=[{"resourceType": "Organization", "id": "o1", "name": ["x"]}]),
        "{rt}.contained[0].name",
        "expected a single value, not a list",
    ),
    Mutation(
        "bad date",
        _type("Patient"),
        _set(birthDate="2020-13-45"),
        "Patient.birthDate",
        "'2020-13-45' is not a valid date",
    ),
    Mutation(
        "bad boolean",
        _type("Patient"),
        _set(active="maybe"),
        "Patient.active",
        "expected a boolean",
    ),
    Mutation(
        "single for list",
        _type("Patient"),
        _set(name={"family": "Nguyen"}),
        "Patient.name",
        "expected a list",
    ),
    Mutation(
        "string for list",
        lambda r: r["resourceType"] == "Patient" and "name" in r,
        _first_name_given_as_string,
        "Patient.name[0].given",
        "expected a list",
    ),
    Mutation(
        "two choice variants",
        _type("Patient"),
        _set(deceasedBoolean=False, deceasedDateTime="2020-01-01"),
        "Patient.deceased[x]",
        "only one of deceasedBoolean, deceasedDateTime",
    ),
    Mutation(
        "bad integer",
        _type("Patient"),
        _set(multipleBirthInteger="two"),
        "Patient.multipleBirthInteger",
        "expected an integer",
    ),
    Mutation(
        "missing status",
        _type("Observation"),
        _drop("status"),
        "Observation.status",
        "required element missing",
    ),
    Mutation(
        "missing code",
        _type("Observation"),
        _drop("code"),
        "Observation.code",
        "required element missing",
    ),
    Mutation(
        "two values",
        lambda r: r["resourceType"] == "Observation" and "valueQuantity" in r,
        _set(valueString="high"),
        "Observation.value[x]",
        "only one of valueQuantity, valueString may be present",
    ),
    Mutation(
        "wrong nested type",
        _type("Observation"),
        _set(code="abc"),
        "Observation.code",
        "expected an object",
    ),
    Mutation(
        "text for decimal",
        lambda r: r["resourceType"] == "Observation" and "valueQuantity" in r,
        _quantity_value_as_text,
        "Observation.valueQuantity.value",
        "expected a number",
    ),
    Mutation(
        "no such day",
        _type("Observation"),
        _no_such_day,
        "Observation.effectiveDateTime",
        "'2021-02-30T10:00:00Z' is not a valid dateTime",
    ),
    Mutation(
        "time without zone",
        _type("Observation"),
        _set(effectiveDateTime="2020-01-01T10:00:00"),
        "Observation.effectiveDateTime",
        "is not a valid dateTime",
    ),
    Mutation(
        "empty nested string",
        lambda r: r["resourceType"] == "Observation" and "code" in r["code"]["coding"][0],
        _empty_code,
        "Observation.code.coding[0].code",
        "empty string not allowed",
    ),
    Mutation(
        "missing Encounter.class",
        _type("Encounter"),
        _drop("class"),
        "Encounter.class",
        "required element missing",
    ),
    Mutation(
        "missing required choice",
        _type("MedicationRequest"),
        _drop("medicationCodeableConcept", "medicationReference"),
        "MedicationRequest.medication[x]",
        "required element missing",
    ),
    Mutation(
        "two required choices",
        _type("MedicationRequest"),
        _both_medications,
        "MedicationRequest.medication[x]",
        "only one of",
    ),
    Mutation(
        "missing occurrence",
        _type("Immunization"),
        _drop("occurrenceDateTime", "occurrenceString"),
        "Immunization.occurrence[x]",
        "required element missing",
    ),
]


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.name)
def test_mutation_rejected_by_both(mutation: Mutation, samples: list[dict]) -> None:
    applied = 0
    for original in filter(mutation.applies, samples):
        resource = copy.deepcopy(original)
        mutation.mutate(resource)
        rt = original["resourceType"]
        expected_path = mutation.path.format(rt=rt)
        found = problems(resource)
        assert any(
            path == expected_path and mutation.problem in problem for path, problem in found
        ), (original.get("id"), found)
        assert reference_rejects(rt, resource), (mutation.name, original.get("id"))
        applied += 1
    assert applied, f"no sample resource to apply {mutation.name!r} to"


# --- reporting ----------------------------------------------------------------------------


def test_message_names_type_id_and_path() -> None:
    with pytest.raises(InvalidResource) as caught:
        validate({"resourceType": "Patient", "id": "p1", "birthDate": "2020-13-45"})
    assert caught.value.resource_type == "Patient"
    assert caught.value.resource_id == "p1"
    assert str(caught.value) == (
        "invalid Patient/p1: Patient.birthDate: '2020-13-45' is not a valid date"
    )


def test_every_problem_is_reported() -> None:
    patient = {
        "resourceType": "Patient",
        "id": "p1",
        "active": "yes",
        "name": [{"family": "Nguyen", "given": ["Ana", ""]}, {"use": "bogus value "}],
        "gender": ["female"],
        "shoeSize": 42,
        "contained": [{"resourceType": "Observation", "status": "final"}],
    }
    assert problems(patient) == [
        ("Patient.active", "expected a boolean"),
        ("Patient.name[0].given[1]", "empty string not allowed"),
        ("Patient.name[1].use", "'bogus value ' is not a valid code"),
        ("Patient.gender", "expected a single value, not a list"),
        ("Patient.shoeSize", "unknown element 'shoeSize'"),
        ("Patient.contained[0].code", "required element missing"),
    ]


def test_resources_inside_resources_are_dispatched_on_their_type() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": {"resourceType": "Patient", "birthDate": "1970"}},
            {"resource": {"resourceType": "Patient", "status": "final"}},
            {"resource": {"resourceType": "Nonsense"}},
            {
                "resource": {
                    "resourceType": "Parameters",
                    "parameter": [
                        {"name": "p", "resource": {"resourceType": "Patient", "gender": 1}},
                    ],
                }
            },
        ],
    }
    assert problems(bundle) == [
        ("Bundle.entry[1].resource.status", "unknown element 'status'"),
        ("Bundle.entry[2].resource.resourceType", "unknown resource type 'Nonsense'"),
        ("Bundle.entry[3].resource.parameter[0].resource.gender", "expected a string"),
    ]


def test_primitive_extensions() -> None:
    # A required primitive may be replaced by an extension saying why it is absent.
    absent = {
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                "valueCode": "unknown",
            }
        ]
    }
    validate({"resourceType": "Observation", "_status": absent, "code": {"text": "x"}})
    # In repeating primitives, null holds a place for the extension at the same index.
    name = {"given": ["Ana", None], "_given": [None, absent]}
    validate({"resourceType": "Patient", "name": [name], "_birthDate": absent})
    assert problems({"resourceType": "Patient", "name": [{"given": ["Ana", None]}]}) == [
        ("Patient.name[0].given[1]", "null not allowed"),
    ]
    assert problems(
        {"resourceType": "Patient", "name": [{"given": ["A"], "_given": [None, absent]}]}
    ) == [
        ("Patient.name[0]._given", "must have as many items as given"),
    ]
    assert problems({"resourceType": "Patient", "_birthDate": {}}) == [
        ("Patient._birthDate", "empty object not allowed"),
    ]


@pytest.mark.parametrize(
    ("resource", "issue"),
    [
        ({"id": "x"}, ("resourceType", "required element missing")),
        ({"resourceType": "Quantity"}, ("resourceType", "unknown resource type 'Quantity'")),
        (
            {"resourceType": "DomainResource"},
            ("resourceType", "unknown resource type 'DomainResource'"),
        ),
        ({"resourceType": ["Patient"]}, ("resourceType", "expected a single value, not a list")),
        ({"resourceType": "Patient", "name": []}, ("Patient.name", "empty array not allowed")),
        ({"resourceType": "Patient", "gender": None}, ("Patient.gender", "null not allowed")),
        (
            {"resourceType": "Patient", "photo": [{"data": "not base64!"}]},
            ("Patient.photo[0].data", "'not base64!' is not valid base64Binary"),
        ),
        (
            {"resourceType": "Patient", "multipleBirthInteger": True},
            ("Patient.multipleBirthInteger", "expected an integer"),
        ),
        (
            {"resourceType": "Patient", "multipleBirthInteger": 2**31},
            ("Patient.multipleBirthInteger", "2147483648 is out of range for integer"),
        ),
        (
            {"resourceType": "Patient", "birthDate": "2023-02-29"},
            ("Patient.birthDate", "'2023-02-29' is not a valid date"),
        ),
        (
            {"resourceType": "Patient", "deceasedDateTime": "2024-02-29T24:00:00Z"},
            ("Patient.deceasedDateTime", "'2024-02-29T24:00:00Z' is not a valid dateTime"),
        ),
        (
            {"resourceType": "Patient", "fhir_comments": ["hi"]},
            ("Patient.fhir_comments", "unknown element 'fhir_comments'"),
        ),
    ],
)
def test_structural_rules(resource: dict, issue: tuple[str, str]) -> None:
    assert issue in problems(resource)


def test_leap_days_and_leap_seconds_are_dates() -> None:
    validate({"resourceType": "Patient", "birthDate": "2024-02-29"})
    validate({"resourceType": "Patient", "deceasedDateTime": "2016-12-31T23:59:60Z"})


def test_not_an_object() -> None:
    with pytest.raises(InvalidResource, match="expected a JSON object"):
        validate(["Patient"])  # type: ignore[arg-type]


def test_known_resource_types_all_compile() -> None:
    known = known_resource_types()
    assert {"Patient", "Observation", "Bundle", "Parameters"} <= known
    assert not known & {"Resource", "DomainResource", "Quantity", "Element"}
    for resource_type in known:
        # Compiling every type proves every annotation shape in the models is understood.
        assert validation._resource_table(resource_type) is not None, resource_type


def test_required_primitive_needs_an_extension_to_be_absent() -> None:
    observation = {"resourceType": "Observation", "_status": {"id": "s"}, "code": {"text": "x"}}
    assert problems(observation) == [("Observation.status", "required element missing")]
    assert reference_rejects("Observation", observation)


def test_deep_nesting_is_reported_not_raised() -> None:
    extension: dict = {"url": "http://example.org/leaf", "valueString": "x"}
    for _ in range(5000):
        extension = {"url": "http://example.org/branch", "extension": [extension]}
    found = problems({"resourceType": "Patient", "id": "deep", "extension": [extension]})
    assert found == [("Patient", "nested too deeply to validate")]
