"""privacy.people: worklist rows get the patient's name, MRN and birth date and the
provider's name beside the ids, keeping every field they had."""

from __future__ import annotations

from chartkeeper.privacy.people import People, compare_identities, named
from chartkeeper.store import PutItem

PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "name": [{"family": "Okafor", "given": ["Ben"]}],
    "birthDate": "1950-02-03",
    "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": "M-1"}],
}


def test_named_adds_people_beside_the_ids(repo):
    with repo.transaction() as tx:
        tx.put_many([PutItem(PATIENT), PutItem({"resourceType": "Practitioner", "id": "dr1",
                                                 "name": [{"family": "Lee"}]})])  # fmt: skip
    rows = [
        {"id": 1, "patient_id": "p1", "responsible": "Practitioner/dr1"},
        {"id": 2, "patient_id": "gone", "responsible": None},
    ]
    named(repo, rows, providers=("responsible",))
    assert rows[0] == {
        "id": 1,
        "patient_id": "p1",
        "responsible": "Practitioner/dr1",
        "patient_name": "Okafor, Ben",
        "patient_mrn": "M-1",
        "patient_birth_date": "1950-02-03",
        "responsible_name": "Lee",
    }
    # A record not in the store (or not to be shown) is never named, and nothing breaks.
    assert rows[1]["patient_name"] == "(record not shown)" and rows[1]["patient_mrn"] == ""
    assert rows[1]["responsible_name"] is None

    # The MPI queue's pair: each side named under its own field name.
    [pair] = named(repo, [{"a": "Patient/p1", "b": "Patient/gone"}], patients=("a", "b"))
    assert pair["a_name"] == "Okafor, Ben" and pair["b_name"] == "(record not shown)"

    assert People(repo, ["Patient/p1"]).label("p1") == "Okafor, Ben  MRN M-1  born 1950-02-03"


def test_compare_identities_shows_fields_side_by_side_and_masks_the_ssn():
    a = {
        **PATIENT,
        "gender": "male",
        "identifier": [
            *PATIENT["identifier"],
            {"system": "http://hl7.org/fhir/sid/us-ssn", "value": "123-45-6789"},
        ],
        "address": [{"line": ["1 Elm St"], "city": "Dayton", "state": "OH"}],
        "telecom": [{"system": "phone", "value": "555-0100"}, {"system": "email", "value": "x"}],
    }
    b = {**a, "name": [{"family": "Okafor", "given": ["Benn"]}, {"family": "Oka", "given": []}]}
    fields = {f["field"]: f for f in compare_identities(a, b)}
    assert fields["Name"] == {
        "field": "Name",
        "a": "Okafor, Ben",
        "b": "Okafor, Benn",
        "same": False,
    }
    assert fields["Other names"]["b"] == "Oka, " and not fields["Other names"]["same"]
    assert fields["SSN (last 4)"]["a"] == "6789" and fields["SSN (last 4)"]["same"]
    assert "123-45" not in str(fields)  # never the whole number
    assert fields["Address"]["a"] == "1 Elm St, Dayton, OH"
    assert fields["Phone"]["a"] == "555-0100"
    assert [f["field"] for f in compare_identities(None, {})][:3] == [
        "Name",
        "Other names",
        "Birth date",
    ]
    assert all(f["same"] for f in compare_identities(None, {}))
