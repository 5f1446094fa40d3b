"""`chartkeeper audit patient ID`: the patient's access report names only that patient's
records, even for an access (a search) that showed several patients at once."""

from __future__ import annotations

import json

from chartkeeper.privacy import audit
from chartkeeper.privacy.access import UserGuard
from chartkeeper.privacy.access_report import patient_access_report
from chartkeeper.privacy.users import User

KEY = audit.AuditKey(b"test key, not a secret")


def test_the_report_names_only_this_patients_records(repo):
    clerk = repo.guarded(UserGuard(repo.engine, KEY, User("clerk", "him")))
    for pid in ("ann", "bob"):
        clerk.update({"resourceType": "Patient", "id": pid, "name": [{"family": "Ng"}]})
        clerk.update(
            {
                "resourceType": "Observation",
                "id": f"{pid}-pulse",
                "status": "final",
                "code": {"text": "pulse"},
                "subject": {"reference": f"Patient/{pid}"},
            }
        )
    clerk.search("Observation", [("status", "final")])  # shows both patients' records
    clerk.read("Observation", "bob-pulse")

    rows = patient_access_report(repo, "ann")
    named = {r for row in rows for r in json.loads(row["resources"])}
    assert named == {"Patient/ann", "Observation/ann-pulse"}
    search = next(row for row in rows if row["action"] == "search")
    assert search["others"] == 1 and "bob" not in json.dumps(search)
    assert all(row["action"] != "read" or "bob" not in row["resources"] for row in rows)
    assert {
        r for row in patient_access_report(repo, "bob") for r in json.loads(row["resources"])
    } == {
        "Patient/bob",
        "Observation/bob-pulse",
    }
