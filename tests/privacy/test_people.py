"""privacy.people: worklist rows get the patient's name, MRN and birth date and the
provider's name beside the ids, keeping every field they had."""

from __future__ import annotations

from chartkeeper.privacy.people import People, named
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
