"""Amendment of a patient's record at the patient's request (45 CFR 164.526).

A request names one resource, the change asked for (text, and optionally a proposed new
version of the resource), who asked and when. It is `requested` until decided, within 60
days of receipt, once extendable by 30 with a stated reason (164.526(b)(2)); `due` shows the
deadline in force and `overdue` whether it has passed.

Accepting writes the new version through the Repository (history keeps the old one), on
top of the version the patient asked about: if the record changed meanwhile, the store's
version check refuses it (VersionConflict) rather than overwrite the newer content. The
new version is linked to its request two ways (164.526(c)(1): identify the record and link
the amendment): a `meta.tag` in AMENDMENT_TAG whose code is the request id, which travels
with the resource wherever it goes, and a Provenance whose target is the new version,
whose entity is the version it revises, and whose reason is "patient requested" (PATRQT).

Denying keeps the reason (164.526(d)(1)). The patient may then file a statement of
disagreement, and the provider a rebuttal (164.526(d)(1)(iii), (d)(3)). From then on (or
at once, if the patient asked for it) the request, the denial, the statement and the
rebuttal travel with every later disclosure of the record (164.526(d)(5)): `travelling`
gives them to the release-of-information packet.

Amendments are reviewed by people who must see the record: reads and writes go through
the caller's guard, so a record behind a label the caller may not see cannot be amended.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, timedelta

from chartkeeper.errors import BadRequest, Conflict, NotFound
from chartkeeper.fhir.search_params import utc_now
from chartkeeper.fhir.validation import validate
from chartkeeper.privacy.access import patient_of
from chartkeeper.store import Repository, Transaction
from chartkeeper.store import amendments as store

AMENDMENT_TAG = "urn:chartkeeper:amendment-request"
ACT_DAYS, EXTENSION_DAYS = 60, 30  # 164.526(b)(2)(i) and (ii)
_ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"


@dataclass(frozen=True)
class Amendment:
    id: int
    patient_id: str
    resource_type: str
    resource_id: str
    base_version: int
    requested_change: str
    proposed: dict | None
    requested_by: str
    received: str
    logged_by: str
    status: str  # requested | accepted | denied
    extended: str | None
    extended_by: str | None
    extension_reason: str | None
    decided: str | None
    decided_by: str | None
    new_version: int | None
    provenance_id: str | None
    denial_reason: str | None
    include_in_disclosures: bool
    disagreement: str | None
    disagreement_received: str | None
    rebuttal: str | None
    rebuttal_by: str | None

    @property
    def ref(self) -> str:
        return f"{self.resource_type}/{self.resource_id}"

    @property
    def due(self) -> str:
        days = ACT_DAYS + (EXTENSION_DAYS if self.extended else 0)
        return (date.fromisoformat(self.received[:10]) + timedelta(days=days)).isoformat()

    @property
    def overdue(self) -> bool:
        return self.status == "requested" and utc_now()[:10] > self.due

    def as_json(self) -> dict:
        return {**asdict(self), "due": self.due, "overdue": self.overdue}


def _from_row(row) -> Amendment:
    values = dict(row._mapping)
    values["proposed"] = json.loads(values["proposed"]) if values["proposed"] else None
    values["include_in_disclosures"] = bool(values["include_in_disclosures"])
    return Amendment(**values)


def _load(tx: Transaction, amendment_id: int, *, lock: bool = False) -> Amendment:
    row = store.get_amendment(tx, amendment_id, lock=lock)
    if row is None:
        raise NotFound(f"there is no amendment request {amendment_id}")
    return _from_row(row)


def _allowed(item: Amendment, allowed: tuple[str, ...], verb: str) -> None:
    if item.status not in allowed:
        raise Conflict(
            f"amendment request {item.id} is {item.status}: only a {' or '.join(allowed)} "
            f"request can be {verb}"
        )


def _change(
    tx: Transaction, item: Amendment, allowed: tuple[str, ...], verb: str, **values
) -> None:
    """Update one request if it is still in a state that allows `verb`; else say why not."""
    _allowed(item, allowed, verb)
    if not store.move_amendment(tx, item.id, item.status, values):
        raise Conflict(f"amendment request {item.id} was changed by someone else meanwhile")


def _text(value: str | None, what: str) -> str:
    if not value or not value.strip():
        raise BadRequest(f"{what} is required")
    return value.strip()


def request_amendment(
    repo: Repository,
    resource_ref: str,
    *,
    change: str,
    requested_by: str,
    by: str,
    proposed: dict | None = None,
) -> Amendment:
    """Record a patient's request to amend one resource ("Type/id").

    `change`: the change asked for, in the patient's words; `proposed`: optionally the
    resource as the patient would have it (same type and id); `requested_by`: the patient
    or their personal representative; `by`: the HIM user logging it.
    """
    rtype, _, rid = resource_ref.partition("/")
    if not rtype or not rid or "/" in rid:
        raise BadRequest(f"'{resource_ref}' does not name one resource as Type/id")
    change = _text(change, "the requested change")
    requested_by = _text(requested_by, "who asked")
    if proposed is not None:
        if (proposed.get("resourceType"), proposed.get("id")) != (rtype, rid):
            raise BadRequest(f"the proposed version must be {resource_ref} itself")
        validate(proposed)
    with repo.transaction() as tx:
        current = tx.read(rtype, rid)
        patient = patient_of(current)
        if patient is None:
            raise BadRequest(f"{resource_ref} is not about a patient; nothing to amend for one")
        new_id = store.add_amendment(
            tx,
            patient_id=patient,
            resource_type=rtype,
            resource_id=rid,
            base_version=int(current["meta"]["versionId"]),
            requested_change=change,
            proposed=json.dumps(proposed) if proposed else None,
            requested_by=requested_by,
            received=utc_now(),
            logged_by=by,
            status="requested",
            include_in_disclosures=False,
        )
        return _load(tx, new_id)


def extend(repo: Repository, amendment_id: int, *, reason: str, by: str) -> Amendment:
    """The one 30-day extension, stated before the 60 days run out (164.526(b)(2)(ii))."""
    reason = _text(reason, "the reason for the delay")
    with repo.transaction() as tx:
        item = _load(tx, amendment_id, lock=True)
        if item.extended:
            raise Conflict(
                f"amendment request {item.id} was extended already; only once is allowed"
            )
        if utc_now()[:10] > item.due:
            raise Conflict(f"amendment request {item.id} was due on {item.due}: too late to extend")
        _change(
            tx,
            item,
            ("requested",),
            "extended",
            extended=utc_now(),
            extended_by=by,
            extension_reason=reason,
        )
        return _load(tx, amendment_id)


def _provenance(item: Amendment, new_version: int, by: str, stamp: str) -> dict:
    return {
        "resourceType": "Provenance",
        "target": [{"reference": f"{item.ref}/_history/{new_version}"}],
        "recorded": stamp,
        "activity": {"coding": [{"system": _OPERATION, "code": "UPDATE"}]},
        "reason": [
            {"coding": [{"system": _ACT_REASON, "code": "PATRQT", "display": "patient requested"}]}
        ],
        "agent": [{"who": {"display": by}}],
        "entity": [
            {"role": "revision", "what": {"reference": f"{item.ref}/_history/{item.base_version}"}},
            {
                "role": "source",
                "what": {
                    "identifier": {"system": AMENDMENT_TAG, "value": str(item.id)},
                    "display": f"amendment request {item.id} (45 CFR 164.526)",
                },
            },
        ],
    }


def accept(
    repo: Repository, amendment_id: int, *, by: str, resource: dict | None = None
) -> Amendment:
    """Make the amendment: `resource` (or the patient's proposed version) becomes the next
    version of the record, tagged with the request and described by a Provenance."""
    with repo.transaction() as tx:
        item = _load(tx, amendment_id, lock=True)
        _allowed(item, ("requested",), "accepted")
        amended = resource or item.proposed
        if amended is None:
            raise BadRequest("give the amended resource: the patient proposed none")
        if (amended.get("resourceType"), amended.get("id")) != (
            item.resource_type,
            item.resource_id,
        ):
            raise BadRequest(f"the amended resource must be {item.ref} itself")
        meta = {
            k: v
            for k, v in amended.get("meta", {}).items()
            if k not in ("versionId", "lastUpdated")
        }
        tag = {
            "system": AMENDMENT_TAG,
            "code": str(item.id),
            "display": "amended at the patient's request",
        }
        meta["tag"] = [*meta.get("tag", []), tag]
        written = tx.update({**amended, "meta": meta}, if_match=item.base_version).resource
        stamp, version = utc_now(), int(written["meta"]["versionId"])
        provenance = tx.create(_provenance(item, version, by, stamp))
        _change(
            tx,
            item,
            ("requested",),
            "accepted",
            status="accepted",
            decided=stamp,
            decided_by=by,
            new_version=version,
            provenance_id=provenance["id"],
        )
        tx.note("amendment", [written], f"amendment request {item.id} accepted")
        return _load(tx, amendment_id)


def deny(
    repo: Repository,
    amendment_id: int,
    *,
    reason: str,
    by: str,
    include_in_disclosures: bool = False,
) -> Amendment:
    """Deny with its reason. `include_in_disclosures`: the patient asked that the request and
    the denial go with later disclosures even without a statement (164.526(d)(5)(ii))."""
    reason = _text(reason, "the reason for the denial")
    with repo.transaction() as tx:
        item = _load(tx, amendment_id, lock=True)
        _change(
            tx,
            item,
            ("requested",),
            "denied",
            status="denied",
            decided=utc_now(),
            decided_by=by,
            denial_reason=reason,
            include_in_disclosures=include_in_disclosures,
        )
        tx.note(
            "amendment",
            [{"resourceType": "Patient", "id": item.patient_id}],
            f"amendment request {item.id} of {item.ref} denied",
        )
        return _load(tx, amendment_id)


def disagree(repo: Repository, amendment_id: int, *, statement: str) -> Amendment:
    """File the patient's statement of disagreement with a denial (164.526(d)(1)(iii))."""
    statement = _text(statement, "the statement of disagreement")
    with repo.transaction() as tx:
        item = _load(tx, amendment_id, lock=True)
        if item.disagreement:
            raise Conflict(f"amendment request {item.id} has its statement of disagreement already")
        _change(
            tx,
            item,
            ("denied",),
            "disagreed with",
            disagreement=statement,
            disagreement_received=utc_now(),
            include_in_disclosures=True,
        )
        return _load(tx, amendment_id)


def rebut(repo: Repository, amendment_id: int, *, rebuttal: str, by: str) -> Amendment:
    """The provider's rebuttal of a statement of disagreement (164.526(d)(3))."""
    rebuttal = _text(rebuttal, "the rebuttal")
    with repo.transaction() as tx:
        item = _load(tx, amendment_id, lock=True)
        if not item.disagreement:
            raise Conflict(f"amendment request {item.id} has no statement of disagreement to rebut")
        _change(tx, item, ("denied",), "rebutted", rebuttal=rebuttal, rebuttal_by=by)
        return _load(tx, amendment_id)


def get_amendment(repo: Repository, amendment_id: int) -> Amendment:
    """One request, read past the guard: the caller's route authorised the reader."""
    with repo.trusted().reading() as tx:
        return _load(tx, amendment_id)


def list_amendments(
    repo: Repository, *, patient_id: str | None = None, status: str | None = None
) -> list[Amendment]:
    with repo.trusted().reading() as tx:
        found = store.find_amendments(tx, patient_id=patient_id or None, status=status or None)
        return [_from_row(r) for r in found]


def travelling(tx: Transaction, refs: list[str]) -> dict[str, list[Amendment]]:
    """The denied amendments that must go with a disclosure of these records ("Type/id"):
    those with a statement of disagreement, or whose patient asked (164.526(d)(5))."""
    keys = [tuple(ref.split("/", 1)) for ref in refs]
    found: dict[str, list[Amendment]] = {}
    for row in store.travelling_rows(tx, keys):
        item = _from_row(row)
        found.setdefault(item.ref, []).append(item)
    return found
