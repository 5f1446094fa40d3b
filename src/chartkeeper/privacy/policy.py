"""Which role may do what: the access policy, kept as data, and the one check that applies it.

Actions are FHIR-level: read (read, vread, history), search, write (create, update),
delete, export. A role's entry maps each action to the resource types it covers; "*" means
every type. The minimum-necessary refinements (sensitive labels, the coder's queue, the
registrar's cases) extend this check; they never bypass it.
"""

from __future__ import annotations

from chartkeeper.errors import Forbidden
from chartkeeper.privacy.users import User

ACTIONS = ("read", "search", "write", "delete", "export")
ALL = "*"
# The audit trail is for auditors; clinical records are not (HIPAA minimum necessary).
POLICY: dict[str, dict[str, set[str]]] = {
    "admin": {action: {ALL} for action in ACTIONS},
    "him": {action: {ALL} for action in ACTIONS},
    "clinician": {"read": {ALL}, "search": {ALL}, "write": {ALL}},
    "coder": {"read": {ALL}, "search": {ALL}, "write": {"Condition", "Procedure", "Claim"}},
    "registrar": {"read": {ALL}, "search": {ALL}, "write": {"Condition", "Observation"}},
    "auditor": {"read": {"AuditEvent"}, "search": {"AuditEvent"}, "export": {"AuditEvent"}},
}


def allows(user: User, action: str, resource_type: str) -> bool:
    types = POLICY.get(user.role, {}).get(action, set())
    return ALL in types or resource_type in types


def check(user: User, action: str, resource_type: str) -> None:
    if not allows(user, action, resource_type):
        what = "every kind of resource" if resource_type == ALL else f"{resource_type} resources"
        raise Forbidden(f"role '{user.role}' may not {action} {what}")


def check_any(user: User, action: str) -> None:
    if not POLICY.get(user.role, {}).get(action):
        raise Forbidden(f"role '{user.role}' may not {action} any resources")
