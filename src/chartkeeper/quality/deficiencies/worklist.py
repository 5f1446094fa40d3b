"""The HIM worklist: stored deficiencies as `Deficiency` records, listed, read, reassigned
and annotated.

Reads and changes go through the caller's Repository; a guarded one (the API's) writes an
audit entry naming the patients shown or changed, in the same transaction. Closing is not
done here: a deficiency closes when the record is fixed (see engine.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import orjson

from chartkeeper.errors import BadRequest, NotFound
from chartkeeper.store import Repository, Transaction
from chartkeeper.store import deficiencies as store

from .chart import instant, stamp

STATUSES = ("open", "closed", "all")
UNASSIGNED = "unassigned"  # the assignee filter for the HIM pool (assignee NULL)


@dataclass
class Deficiency:
    id: int
    rule_id: str
    rule_set: str
    severity: str
    patient_id: str
    encounter_id: str | None
    resource: str
    responsible_role: str
    responsible: str | None  # Practitioner reference from the record
    assignee: str | None  # None: the HIM pool
    detail: str
    discharged: str | None
    opened: str
    detected: str
    status: str
    closed: str | None
    closed_reason: str | None
    notes: list[dict] = field(default_factory=list)

    def age_days(self, now: datetime | None = None) -> int:
        """Days open: to `now` while open, to the closing when closed."""
        end = instant(self.closed) if self.closed else (now or datetime.now(UTC))
        return max(0, (end - instant(self.opened)).days)

    def as_json(self, now: datetime | None = None) -> dict:
        return {**asdict(self), "age_days": self.age_days(now)}


def _from_row(row) -> Deficiency:
    data = {name: getattr(row, name) for name in Deficiency.__dataclass_fields__}
    data["notes"] = orjson.loads(row.notes)
    return Deficiency(**data)


def _audit(tx: Transaction, action: str, found: list[Deficiency], detail: str) -> None:
    patients = sorted({d.patient_id for d in found})
    tx.note(action, [{"resourceType": "Patient", "id": p} for p in patients], detail)


def list_deficiencies(
    repo: Repository,
    *,
    assignee: str | None = None,
    status: str = "open",
    patient: str | None = None,
    rule: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[Deficiency]:
    """The worklist, oldest first. `assignee="unassigned"`: the HIM pool."""
    if status not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    with repo.reading() as tx:
        rows = store.list_rows(
            tx,
            status=None if status == "all" else status,
            assignee=assignee,
            unassigned=assignee == UNASSIGNED,
            patient=patient.removeprefix("Patient/") if patient else None,
            rule=rule,
            limit=min(limit, 1000),
            offset=offset,
        )
        found = [_from_row(r) for r in rows]
        _audit(tx, "deficiency-list", found, f"status={status} assignee={assignee or ''}")
    return found


def _get(tx: Transaction, deficiency_id: int) -> Deficiency:
    row = store.get_row(tx, deficiency_id)
    if row is None:
        raise NotFound(f"deficiency {deficiency_id} does not exist")
    return _from_row(row)


def get_deficiency(repo: Repository, deficiency_id: int) -> Deficiency:
    with repo.reading() as tx:
        found = _get(tx, deficiency_id)
        _audit(tx, "deficiency-read", [found], f"deficiency {deficiency_id}")
    return found


def _append_note(tx: Transaction, found: Deficiency, entry: dict, **changes) -> Deficiency:
    notes = [*found.notes, entry]
    store.update_deficiency(tx, found.id, notes=orjson.dumps(notes).decode(), **changes)
    return _get(tx, found.id)


def reassign(
    repo: Repository, deficiency_id: int, assignee: str | None, *, by: str, reason: str = ""
) -> Deficiency:
    """Give the deficiency to someone else (a Practitioner reference or a username; None
    or "unassigned" returns it to the HIM pool). The move is kept in its notes."""
    if assignee in ("", UNASSIGNED):
        assignee = None
    if assignee is not None and (not isinstance(assignee, str) or len(assignee) > 129):
        raise BadRequest("assignee must be a Practitioner reference or a username")
    with repo.transaction() as tx:
        found = _get(tx, deficiency_id)
        entry = {
            "at": stamp(datetime.now(UTC)),
            "by": by,
            "kind": "reassign",
            "text": f"{found.assignee or UNASSIGNED} -> {assignee or UNASSIGNED}"
            + (f": {reason}" if reason else ""),
        }
        changed = _append_note(tx, found, entry, assignee=assignee)
        _audit(tx, "deficiency-assign", [changed], f"deficiency {deficiency_id}")
    return changed


def add_note(repo: Repository, deficiency_id: int, text: str, *, by: str) -> Deficiency:
    """Add a worklist note (a query sent to the physician, a promise to sign)."""
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("a note needs text")
    with repo.transaction() as tx:
        found = _get(tx, deficiency_id)
        entry = {"at": stamp(datetime.now(UTC)), "by": by, "kind": "note", "text": text.strip()}
        changed = _append_note(tx, found, entry)
        _audit(tx, "deficiency-note", [changed], f"deficiency {deficiency_id}")
    return changed
