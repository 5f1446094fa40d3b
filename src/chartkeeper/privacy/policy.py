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


# Worklists are work, not just reads and writes: who may work each one. The store still
# checks every resource those functions read or write against POLICY above.
WORKLISTS: dict[str, set[str]] = {
    "release-of-information": {"him", "admin"},
    "deficiencies": {"him", "clinician", "admin"},
    "patient-index": {"him", "admin"},  # merges and the duplicate review queue
    "coding": {"coder", "him", "admin"},
    "physician-queries": {"coder", "him", "admin", "clinician"},
    "cancer-registry": {"registrar", "him", "admin"},  # casefinding, abstracts, follow-up
    "paper-records": {"him", "admin"},  # chart tracking, legal holds, retention, destruction
    "user-accounts": {"admin"},  # list, add, disable, enable, unlock, reset passwords
}


def check_work(user: User, worklist: str) -> None:
    if user.role not in WORKLISTS[worklist]:
        raise Forbidden(f"role '{user.role}' may not work the {worklist} worklist")


# Types that "every type" does not include: only these roles reach them at all.
RESTRICTED_TYPES: dict[str, set[str]] = {"AuditEvent": {"auditor", "him", "admin"}}


# Types no role writes or deletes, through REST or inside a transaction: the audit trail
# writes AuditEvents itself (a stored one would be a forgery planted beside it).
READ_ONLY_TYPES = {"AuditEvent"}


def allows(user: User, action: str, resource_type: str) -> bool:
    if user.role not in RESTRICTED_TYPES.get(resource_type, {user.role}):
        return False
    if resource_type in READ_ONLY_TYPES and action in ("write", "delete"):
        return False
    types = POLICY.get(user.role, {}).get(action, set())
    return ALL in types or resource_type in types


def check(user: User, action: str, resource_type: str) -> None:
    if not allows(user, action, resource_type):
        what = "every kind of resource" if resource_type == ALL else f"{resource_type} resources"
        raise Forbidden(f"role '{user.role}' may not {action} {what}")


def check_any(user: User, action: str) -> None:
    if not POLICY.get(user.role, {}).get(action):
        raise Forbidden(f"role '{user.role}' may not {action} any resources")


# --- sensitive records -------------------------------------------------------------------
# Security labels from HL7 v3 ActCode (information sensitivity) and Confidentiality. A
# resource carrying one is shown only to roles allowed that category, or under an active
# break-the-glass grant for its patient. 42 CFR Part 2 (ETH) and psychotherapy notes
# (PSYTHPN, 45 CFR 164.508(a)(2)) are the strictest: no role sees them by default.
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
SENSITIVE_LABELS: dict[tuple[str, str], str] = {
    (ACT_CODE, "PSY"): "psychiatric",
    (ACT_CODE, "PSYTHPN"): "psychotherapy notes",
    (ACT_CODE, "ETH"): "substance use treatment (42 CFR Part 2)",
    (ACT_CODE, "HIV"): "HIV/AIDS",
    (ACT_CODE, "GDIS"): "genetic disease",
    (ACT_CODE, "SDV"): "sexual and domestic violence",
    (ACT_CODE, "STD"): "sexually transmitted disease",
    (ACT_CODE, "SICKLE"): "sickle cell",
    (CONFIDENTIALITY, "R"): "restricted",
    (CONFIDENTIALITY, "V"): "very restricted",
}
_CLINICAL = {"PSY", "HIV", "GDIS", "SDV", "STD", "SICKLE", "R"}
ROLE_LABELS: dict[str, set[str]] = {
    "clinician": _CLINICAL,
    "him": _CLINICAL,  # release of information and amendments need the whole legal record
    "coder": {"HIV", "STD", "SICKLE", "GDIS"},  # these change codes and DRGs
    "registrar": {"GDIS"},  # hereditary cancer syndromes
    "auditor": set(),
    "admin": set(),
}


# Break-the-glass lifts the other labels for an emergency (42 CFR 2.51 allows a Part 2
# disclosure in a medical emergency), never psychotherapy notes: HIPAA's authorization
# rule for them (45 CFR 164.508(a)(2)) has no emergency exception.
SEALED_LABELS: frozenset[tuple[str, str]] = frozenset({(ACT_CODE, "PSYTHPN")})


def hidden_labels_for(role: str) -> frozenset[tuple[str, str]]:
    allowed = ROLE_LABELS.get(role, set())
    return frozenset(label for label in SENSITIVE_LABELS if label[1] not in allowed)
