"""Merging two Patient records that turned out to be one person: the one merge function.

Every path that learns of a duplicate (an HL7 ADT^A40 or A47 message today; the API's
$merge and the master patient index later) calls `merge_patients`, so there is one
definition of what a merge does. In the caller's transaction, all or nothing, it

1. checks the pair: not a patient into itself, both live, no chain (the survivor was not
   itself merged away, the source was not merged into someone else);
2. finds every resource that refers to the source (`find_references`) and repoints each
   unversioned reference `Patient/<source>` (or `<base>/Patient/<source>`) to the
   survivor, wherever it sits: subject, patient, Provenance.target, Patient.link of a
   third record, extensions' valueReference, contained resources. Versioned references
   (`Patient/<source>/_history/3`) name exact content and are left alone, and so are the
   records of past events: AuditEvents and the Provenances of earlier merges;
3. marks the source `active = false` with a `link` of type `replaced-by`, and gives the
   survivor a `link` of type `replaces` (https://hl7.org/fhir/R4/patient.html#links),
   plus `replaces` links for whatever the source itself had replaced, so no chain remains;
4. records it: a row in `patient_merge` (who, when, why, and every resource written as
   (type, id, version before, version after), which is what `quality.unmerge` restores),
   a Provenance (activity ISO 21089 `merge`, targets the new versions, agent, reason),
   and an audit entry `merge` through `tx.note` when the store is guarded.

Merging a pair that is already merged this way changes nothing (an HL7 message sent
twice). Merges made before merge records existed (a plain link) have no record, so they
cannot be undone by `unmerge_patients`.

Finding the references. The search index (`idx_reference`) only holds references in
elements that are search parameters of the types that have any, so `referencing()` misses
a Provenance.target, a RelatedPerson.patient, an extension or a contained resource.
`find_references` therefore also scans the current content of every live resource for the
text `Patient/<id>"` (a LIKE over the JSON, then a real parse of each hit to find actual
references). That scan is complete but reads every live resource: about 0.6 s per
200,000 resources of 700 bytes on SQLite and on PostgreSQL alike, so about 3 s per million,
growing with the size of the store, not of the chart (see `find_references`). A merge is
rare and must be complete; an index of every reference (not only search parameters) kept
by the repository would make this O(references).

Under a guard the role policy still applies to every write (a role that may not write
some type cannot merge a patient who has one), but the scan reads content directly: a
resource with a security label the caller may not see is repointed too, or it would stay
attached to a record that is no longer active. Its id, not its content, is in the audit.
"""

from __future__ import annotations

import copy
import logging
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import orjson

from chartkeeper.errors import ChartkeeperError, Forbidden, Gone, Hidden, NotFound
from chartkeeper.fhir.references import rewrite_references
from chartkeeper.fhir.search_params import utc_now
from chartkeeper.store import PutItem, Transaction
from chartkeeper.store.chart import current_versions, find_references
from chartkeeper.store.merges import get_merge_row, insert_merge, merge_rows_of

log = logging.getLogger(__name__)

LIFECYCLE = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"
PARTICIPANT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
MERGE_SYSTEM = "urn:chartkeeper:patient-merge"  # identifies a merge record in Provenance
_CHUNK = 500  # keys per IN (...) list, as in the repository
# Records of what happened: rewriting them would falsify the past, not fix a reference.
_EVENT_RECORDS = frozenset({"AuditEvent"})


class MergeError(ChartkeeperError):
    """A merge that would make the record wrong: into itself, or along a merge chain."""

    code = "business-rule"
    http_status = 422


@dataclass(frozen=True)
class Change:
    """One resource a merge or unmerge wrote: its version before and the one it wrote."""

    resource_type: str
    id: str
    before: int
    after: int

    @property
    def key(self) -> tuple[str, str]:
        return self.resource_type, self.id

    def as_json(self) -> list:
        return [self.resource_type, self.id, self.before, self.after]


@dataclass(frozen=True)
class MergeResult:
    source: dict  # the source Patient as stored after the merge
    survivor: dict
    changed: bool  # False when the two were already merged this way
    reason: str
    merge_id: int | None = None  # the patient_merge row; None when nothing changed
    provenance: dict | None = None
    changes: tuple[Change, ...] = ()  # every resource written, the two patients first

    @property
    def repointed(self) -> tuple[Change, ...]:
        """The resources whose references moved to the survivor (not the two patients)."""
        patients = {("Patient", self.source["id"]), ("Patient", self.survivor["id"])}
        return tuple(c for c in self.changes if c.key not in patients)


@dataclass(frozen=True)
class MergeRecord:
    """A row of `patient_merge`."""

    id: int
    source_id: str
    survivor_id: str
    merged: str
    merged_by: str
    reason: str
    provenance_id: str
    changes: tuple[Change, ...]
    unmerged: str | None = None
    unmerged_by: str | None = None
    unmerge_reason: str | None = None
    unmerge_provenance_id: str | None = None
    unmerge_changes: tuple[Change, ...] = ()


# --- reading merge records -----------------------------------------------------------------


def _changes(text: str | None) -> tuple[Change, ...]:
    return tuple(Change(t, i, b, a) for t, i, b, a in orjson.loads(text)) if text else ()


def _record(row) -> MergeRecord:
    return MergeRecord(
        id=row.id,
        source_id=row.source_id,
        survivor_id=row.survivor_id,
        merged=row.merged,
        merged_by=row.merged_by,
        reason=row.reason,
        provenance_id=row.provenance_id,
        changes=_changes(row.changes),
        unmerged=row.unmerged,
        unmerged_by=row.unmerged_by,
        unmerge_reason=row.unmerge_reason,
        unmerge_provenance_id=row.unmerge_provenance_id,
        unmerge_changes=_changes(row.unmerge_changes),
    )


def get_merge(tx: Transaction, merge_id: int, *, lock: bool = False) -> MergeRecord:
    row = get_merge_row(tx, merge_id, lock=lock)
    if row is None:
        raise NotFound(f"there is no patient merge {merge_id}")
    return _record(row)


def merges_of(tx: Transaction, patient_id: str) -> list[MergeRecord]:
    """The merges a patient took part in, as source or survivor, oldest first."""
    return [_record(row) for row in merge_rows_of(tx, patient_id)]


# --- references ------------------------------------------------------------------------------


def points_to(reference: str, patient_id: str) -> bool:
    """An unversioned reference to Patient/patient_id, relative or absolute. The base of an
    absolute one is not checked: the store's own index (`parse_relative`) ignores it too."""
    tail = f"Patient/{patient_id}"
    return reference == tail or reference.endswith(f"/{tail}")


def repoint(node: dict | list, source_id: str, survivor_id: str) -> int:
    """Rewrite, in place, every unversioned reference to the source so it names the
    survivor, keeping its form (relative stays relative, a base stays). Returns the count."""
    cut = len(source_id)

    def replace(ref: str) -> str | None:
        return ref[:-cut] + survivor_id if points_to(ref, source_id) else None

    return rewrite_references(node, replace)


def reference_nodes(node: object, path: tuple = ()) -> Iterator[tuple[tuple, dict]]:
    """Every Reference object (a dict with a string `reference`), contained resources
    included, with its path of keys and indices; two resources of the same shape yield
    their references in the same order, which is how unmerge lines versions up."""
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            yield path, node
        for key, value in node.items():
            if isinstance(value, (dict, list)):
                yield from reference_nodes(value, (*path, key))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            if isinstance(item, (dict, list)):
                yield from reference_nodes(item, (*path, i))


def is_merge_provenance(res: dict) -> bool:
    """A Provenance written by a merge or an unmerge: a record of the past, never repointed."""
    if res.get("resourceType") != "Provenance":
        return False
    codings = res.get("activity", {}).get("coding", [])
    return any(
        c.get("system") == LIFECYCLE and c.get("code") in ("merge", "unmerge") for c in codings
    )


# --- merging ---------------------------------------------------------------------------------


def _read(tx: Transaction, patient_id: str, role: str) -> dict:
    try:
        return tx.read("Patient", patient_id)
    except (NotFound, Gone) as exc:
        raise type(exc)(f"cannot merge: the {role} Patient/{patient_id} {_why(exc)}") from exc


def _why(exc: Exception) -> str:
    return "was deleted" if isinstance(exc, Gone) else "is not in the store"


def _link_target(patient: dict, link_type: str) -> list[str]:
    return [
        link.get("other", {}).get("reference", "")
        for link in patient.get("link", [])
        if link.get("type") == link_type
    ]


def _with_link(patient: dict, other_ref: str, link_type: str) -> dict:
    link = {"other": {"reference": other_ref}, "type": link_type}
    links = list(patient.get("link", []))
    if link not in links:
        links.append(link)
    return {**patient, "link": links}


def who(tx: Transaction, by: str | None) -> str:
    """The agent of a merge: as given, else the guarded caller, else the system itself."""
    if by:
        return by
    user = getattr(tx.guard, "user", None)
    return getattr(user, "username", None) or "system"


def _version(res: dict) -> int:
    return int(res["meta"]["versionId"])


def lifecycle_provenance(
    activity: str,
    targets: Sequence[dict],
    *,
    by: str,
    reason: str,
    stamp: str,
    entities: Sequence[dict],
) -> dict:
    """The Provenance of a merge or unmerge (ISO 21089 record lifecycle event)."""
    return {
        "resourceType": "Provenance",
        "id": str(uuid.uuid4()),
        "target": [
            {"reference": f"{r['resourceType']}/{r['id']}/_history/{r['meta']['versionId']}"}
            for r in targets
        ],
        "recorded": stamp,
        "activity": {
            "coding": [
                {
                    "system": LIFECYCLE,
                    "code": activity,
                    "display": f"{activity.capitalize()} Record Lifecycle Event",
                }
            ],
            "text": activity.upper(),
        },
        "reason": [{"text": reason}],
        "agent": [
            {
                "type": {
                    "coding": [{"system": PARTICIPANT, "code": "author", "display": "Author"}]
                },
                "who": {"display": by},
            }
        ],
        "entity": list(entities),
    }


def merge_patients(
    tx: Transaction, source_id: str, survivor_id: str, *, reason: str, by: str | None = None
) -> MergeResult:
    """Merge Patient/source_id into Patient/survivor_id in the caller's transaction (see
    the module docstring for what that writes). `by` names the agent; by default the
    guarded caller's user name, or "system". Idempotent: merging the same pair again
    changes nothing.

    Raises MergeError for a merge into itself or along a chain (the survivor was itself
    merged away, or the source already merged into a different patient), and NotFound or
    Gone when either patient is missing.
    """
    if source_id == survivor_id:
        raise MergeError(f"cannot merge Patient/{source_id} into itself")
    source = _read(tx, source_id, "source")
    survivor = _read(tx, survivor_id, "surviving")
    replaced_by = _link_target(survivor, "replaced-by")
    if replaced_by:
        raise MergeError(
            f"cannot merge into Patient/{survivor_id}: it was itself merged into "
            f"{replaced_by[0]}; merge into the surviving record instead"
        )
    already = _link_target(source, "replaced-by")
    elsewhere = [r for r in already if not points_to(r, survivor_id)]
    if elsewhere:
        raise MergeError(
            f"cannot merge Patient/{source_id} into Patient/{survivor_id}: it was already "
            f"merged into {elsewhere[0]}"
        )
    if already:  # merged this way before: a resent message
        return MergeResult(source, survivor, False, reason)

    agent, stamp = who(tx, by), utc_now()
    patients = {("Patient", source_id), ("Patient", survivor_id)}
    candidates = sorted(find_references(tx, source_id) - patients)
    stored = current_versions(tx, candidates)
    repointed: list[tuple[int, dict]] = []
    for key in candidates:
        version, content = stored.get(key, (0, None))
        if content is None or key[0] in _EVENT_RECORDS or is_merge_provenance(content):
            continue
        moved = copy.deepcopy(content)
        if repoint(moved, source_id, survivor_id):
            repointed.append((version, moved))

    new_source = {**_with_link(source, f"Patient/{survivor_id}", "replaced-by"), "active": False}
    new_survivor = _with_link(survivor, f"Patient/{source_id}", "replaces")
    for ref in _link_target(source, "replaces"):  # what the source replaced, the survivor does
        if not points_to(ref, survivor_id):
            new_survivor = _with_link(new_survivor, ref, "replaces")
    # Conditional on the versions read, so a concurrent edit fails the merge, not lost.
    written = tx.put_many(
        [
            PutItem(new_source, if_match=_version(source)),
            PutItem(new_survivor, if_match=_version(survivor)),
        ]
    )
    # Only reference strings changed, and those resources were valid when stored. A guarded
    # caller moves only what they may see: a record hidden by a label is refused like any
    # other write to it, so the merge waits for someone allowed (or break-the-glass).
    try:
        written += tx.put_many([PutItem(r, if_match=v) for v, r in repointed], validated=True)
    except Hidden as exc:
        raise Forbidden(
            f"merging Patient/{source_id} would move records your role may not see; "
            "someone allowed to see them must do it (or break the glass for this patient)"
        ) from exc
    befores = [_version(source), _version(survivor), *(v for v, _ in repointed)]
    changes = tuple(
        Change(w.resource["resourceType"], w.resource["id"], before, _version(w.resource))
        for before, w in zip(befores, written, strict=True)
        if w.outcome != "unchanged"
    )

    provenance_id = str(uuid.uuid4())
    merge_id = insert_merge(
        tx,
        source_id=source_id,
        survivor_id=survivor_id,
        merged=stamp,
        merged_by=agent[:64],
        reason=reason,
        provenance_id=provenance_id,
        changes=orjson.dumps([c.as_json() for c in changes]).decode(),
    )
    provenance = lifecycle_provenance(
        "merge",
        [w.resource for w in written if w.outcome != "unchanged"],
        by=agent,
        reason=reason,
        stamp=stamp,
        entities=[
            {
                "role": "revision",
                "what": {"reference": f"Patient/{source_id}/_history/{befores[0]}"},
            },
            {
                "role": "revision",
                "what": {"reference": f"Patient/{survivor_id}/_history/{befores[1]}"},
            },
            {
                "role": "source",
                "what": {
                    "identifier": {"system": MERGE_SYSTEM, "value": str(merge_id)},
                    "display": f"patient merge {merge_id}",
                },
            },
        ],
    )
    provenance["id"] = provenance_id
    provenance = tx.put_many([PutItem(provenance, create_only=True)])[0].resource
    moved = [c for c in changes if c.key not in patients]
    tx.note(
        "merge",
        [written[0].resource, written[1].resource, provenance, *_keys(moved)],
        f"patient merge {merge_id}: Patient/{source_id} into Patient/{survivor_id}, "
        f"{len(moved)} resources repointed; reason: {reason}",
    )
    log.info(
        "merge %s: Patient/%s into Patient/%s (%d resources repointed): %s",
        merge_id,
        source_id,
        survivor_id,
        len(moved),
        reason,
    )
    return MergeResult(
        written[0].resource, written[1].resource, True, reason, merge_id, provenance, changes
    )


def _keys(changes: Sequence[Change]) -> list[dict]:
    # The audit names resources; it never needs (or should hold) their content.
    return [{"resourceType": c.resource_type, "id": c.id} for c in changes]
