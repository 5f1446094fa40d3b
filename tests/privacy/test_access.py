"""The guard's one visibility rule: the role may read the type, and may see its labels."""

from __future__ import annotations

import pytest

from chartkeeper.privacy import audit, policy
from chartkeeper.privacy.access import UserGuard
from chartkeeper.privacy.users import User

KEY = audit.AuditKey(b"test key")
HIV = {"system": policy.ACT_CODE, "code": "HIV"}


@pytest.mark.parametrize(
    ("role", "resource", "shown"),
    [
        ("him", {"resourceType": "Observation", "id": "o"}, True),
        ("auditor", {"resourceType": "Observation", "id": "o"}, False),  # type not readable
        ("auditor", {"resourceType": "AuditEvent", "id": "1"}, True),
        ("coder", {"resourceType": "AuditEvent", "id": "1"}, False),  # restricted type
        (
            "registrar",
            {"resourceType": "Observation", "id": "o", "meta": {"security": [HIV]}},
            False,
        ),
        (
            "clinician",
            {"resourceType": "Observation", "id": "o", "meta": {"security": [HIV]}},
            True,
        ),
    ],
)
def test_visible(repo, role, resource, shown):
    guard = UserGuard(repo.engine, KEY, User(role, role))
    assert guard.visible(resource) is shown


def test_included_resources_of_unreadable_types_are_left_out(repo):
    repo.update({"resourceType": "Patient", "id": "p"})
    repo.update(
        {
            "resourceType": "Observation",
            "id": "o",
            "status": "final",
            "code": {"text": "x"},
            "subject": {"reference": "Patient/p"},
        }
    )
    auditor = repo.guarded(UserGuard(repo.engine, KEY, User("eve", "auditor")))
    with auditor.transaction() as tx:
        assert tx.read_many([("Patient", "p"), ("Observation", "o")]) == []


@pytest.mark.parametrize(
    ("role", "worklist", "allowed"),
    [
        ("him", "release-of-information", True),
        ("clinician", "release-of-information", False),
        ("clinician", "physician-queries", True),
        ("clinician", "coding", False),
        ("coder", "coding", True),
        ("coder", "patient-index", False),
        ("auditor", "deficiencies", False),
    ],
)
def test_worklists_are_policy_data(role, worklist, allowed):
    from chartkeeper.errors import Forbidden

    user = User(role, role)
    if allowed:
        policy.check_work(user, worklist)
    else:
        with pytest.raises(Forbidden, match=worklist):
            policy.check_work(user, worklist)
