"""The access guard for one signed-in caller, and break-the-glass.

`UserGuard` implements the store's Guard: the role policy decides which actions on which
types, security labels hide sensitive records (in SQL, so no route leaks them: reads,
searches, includes, $everything and exports all go through the store), and every access,
allowed or refused, is written to the audit trail, allowed ones in the same transaction.

Break-the-glass (ONC 170.315(d)(6)): a user states an emergency reason and, for a limited
time, sees that patient's labelled records. The grant and every access under it are
flagged in the audit trail and listed by `btg_report` for the privacy officer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from chartkeeper.errors import BadRequest, Forbidden, Hidden
from chartkeeper.fhir.search_params import utc_now
from chartkeeper.privacy import audit, policy
from chartkeeper.privacy.users import User
from chartkeeper.store import Connection, Engine
from chartkeeper.store import break_glass as grants
from chartkeeper.store.engine import writing
from chartkeeper.store.guard import HiddenLabels

MIN_REASON = 10  # characters: "emergency" alone does not explain anything


def patient_of(resource: dict) -> str | None:
    """The patient a resource is about: itself, or its subject/patient reference."""
    if resource.get("resourceType") == "Patient":
        return resource.get("id")
    for element in ("subject", "patient"):
        ref = (resource.get(element) or {}).get("reference", "")
        if ref.startswith("Patient/"):
            return ref.split("/", 1)[1]
    return None


def _labels(resource: dict) -> set[tuple[str, str]]:
    return {
        (s.get("system", ""), s.get("code", ""))
        for s in resource.get("meta", {}).get("security", [])
    }


class UserGuard:
    def __init__(
        self,
        engine: Engine,
        key: audit.AuditKey,
        user: User,
        *,
        source: str | None = None,
        purpose: str | None = "TREAT",
    ):
        self.engine, self.key, self.user = engine, key, user
        self.source, self.purpose = source, purpose
        self.grants = active_grants(engine, user.username)
        self._hidden = policy.hidden_labels_for(user.role)
        self._pending: tuple[str, str] = ("access", "*")

    def check(self, action: str, resource_type: str) -> None:
        self._pending = (action, resource_type)
        policy.check(self.user, action, resource_type)

    def hidden_labels(self) -> HiddenLabels | None:
        if not self._hidden:
            return None
        return HiddenLabels(
            self._hidden, frozenset(self.grants), self._hidden & policy.SEALED_LABELS
        )

    def visible(self, resource: dict) -> bool:
        """The role may read this type, and any sensitive label on it is one the role may
        see or is lifted by break-the-glass (psychotherapy notes never are). Included and $everything resources come
        through here, so neither can show a type or a label the role may not read."""
        if not policy.allows(self.user, "read", resource.get("resourceType", "")):
            return False
        hidden = _labels(resource) & self._hidden
        if not hidden:
            return True
        return not (hidden & policy.SEALED_LABELS) and patient_of(resource) in self.grants

    def audit(
        self, conn: Connection, action: str, resources: Sequence[dict], detail: str = ""
    ) -> None:
        patients = {p for p in map(patient_of, resources) if p}
        audit.record(
            conn,
            self.key,
            self._entry(
                action,
                "success",
                resources,
                patients,
                detail,
                break_glass=bool(patients & self.grants),
            ),
        )

    def failed(self, error: Exception) -> None:
        action, rtype = self._pending
        outcome = "denied" if isinstance(error, Forbidden | Hidden) else "failure"
        # A hidden record answered "not in the store"; the trail says why.
        detail = f"{rtype}: {error}" + (f" [{error.reason}]" if isinstance(error, Hidden) else "")
        audit.record_alone(self.engine, self.key, self._entry(action, outcome, [], set(), detail))

    def _entry(
        self, action, outcome, resources, patients, detail, break_glass=False
    ) -> audit.AuditEntry:
        return audit.AuditEntry(
            action=action,
            outcome=outcome,
            username=self.user.username,
            role=self.user.role,
            resources=tuple(f"{r['resourceType']}/{r['id']}" for r in resources if "id" in r),
            patients=tuple(sorted(patients)),
            source=self.source,
            purpose="ETREAT" if break_glass else self.purpose,
            break_glass=break_glass,
            detail=detail,
        )


def active_grants(engine: Engine, username: str) -> set[str]:
    return grants.active_patients(engine, username, utc_now())


def break_glass(
    engine: Engine,
    key: audit.AuditKey,
    user: User,
    patient_id: str,
    reason: str,
    *,
    minutes: int = 60,
    source: str | None = None,
) -> str:
    """Open a patient's sensitive records to this user for `minutes`; returns the expiry."""
    if len(reason.strip()) < MIN_REASON:
        raise BadRequest(f"state the emergency: a reason of at least {MIN_REASON} characters")
    if not 1 <= minutes <= 24 * 60:
        raise BadRequest("break-the-glass lasts between 1 minute and 24 hours")
    granted = datetime.now(UTC)
    expires = (granted + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with writing(engine) as conn:  # the grant and its audit row commit together
        grants.add_grant(
            conn,
            username=user.username,
            patient_id=patient_id,
            reason=reason.strip(),
            granted=utc_now(),
            expires=expires,
        )
        audit.record(
            conn,
            key,
            audit.AuditEntry(
                action="break-glass",
                username=user.username,
                role=user.role,
                resources=(f"Patient/{patient_id}",),
                patients=(patient_id,),
                source=source,
                purpose="ETREAT",
                break_glass=True,
                detail=f"until {expires}: {reason.strip()}",
            ),
        )
    return expires


def btg_report(engine: Engine, since: str | None = None) -> list[dict]:
    """Every break-the-glass grant and every access made under one, newest first."""
    return audit.entries(engine, since=since, break_glass=True, limit=100_000)
