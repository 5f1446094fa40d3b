"""Undoing a patient merge: every resource the merge wrote gets its pre-merge content back.

`unmerge_patients(tx, merge_id, reason=...)` reads the merge's record (`patient_merge`,
written by `quality.merge.merge_patients`): the list of (type, id, version before, version
after) of every resource the merge wrote. Each is restored as a NEW version (history is
never rewritten), in the caller's transaction, with a Provenance (ISO 21089 `unmerge`)
and an audit entry `unmerge`; the merge row is stamped, so a second unmerge is refused.

A resource still at the version the merge wrote gets the content of the version before
it, exactly (only `meta.versionId` and `meta.lastUpdated` differ). A resource changed
since is not reset, which would lose that change; instead the merge's own edits are
undone on top of the current content, and only where that is unambiguous:

- a repointed resource: the references the merge moved go back to the source, provided
  the references to the survivor are exactly those the merge left (same elements, same
  Reference objects). When a later edit touched them (removed one, added another, or a
  later merge moved more references to the survivor), nobody can tell which belong to
  whom, and the unmerge is refused naming the resource;
- the two patients: the `link`s the merge added are removed and the source's `active`
  restored (unless it was changed since); refused if an added link is gone.

Also refused, with a clear error: a merge that was already undone; a merge whose survivor
was later merged away itself (undo that later merge first); a patient of the merge that
was deleted since. A repointed resource deleted since is left deleted and reported.
Resources created after the merge that refer to the survivor stay with the survivor:
nothing records whose they were.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import orjson

from chartkeeper.errors import Conflict, Forbidden, Hidden
from chartkeeper.fhir.search_params import utc_now
from chartkeeper.quality.merge import (
    MERGE_SYSTEM,
    Change,
    MergeError,
    MergeRecord,
    get_merge,
    lifecycle_provenance,
    merges_of,
    points_to,
    reference_nodes,
    who,
)
from chartkeeper.store import PutItem, Transaction
from chartkeeper.store.chart import current_versions, version_content
from chartkeeper.store.merges import stamp_unmerge


class UnmergeConflict(Conflict):
    """The record changed since the merge in a way an unmerge cannot reconcile."""


@dataclass(frozen=True)
class UnmergeResult:
    merge_id: int
    source: dict  # the source Patient as stored after the unmerge
    survivor: dict
    provenance: dict
    changes: tuple[Change, ...]  # what the unmerge wrote: version it found, version written
    reconciled: tuple[tuple[str, str], ...] = ()  # changed since the merge; the change kept
    left_deleted: tuple[tuple[str, str], ...] = ()  # deleted since the merge; not restored


def _name(key: tuple[str, str]) -> str:
    return f"{key[0]}/{key[1]}"


def _undo_patient(before: dict, after: dict, now: dict) -> dict | str:
    """The merge's edits to a patient (links added, `active`) undone on `now`; or why not."""
    added = [link for link in after.get("link", []) if link not in before.get("link", [])]
    links = list(now.get("link", []))
    for link in added:
        if link not in links:
            return f"its {link['type']} link to {link['other']['reference']} was removed since"
        links.remove(link)
    undone = {k: v for k, v in now.items() if k != "link"}
    if links:
        undone["link"] = links
    if before.get("active") != after.get("active") and now.get("active") == after.get("active"):
        if "active" in before:
            undone["active"] = before["active"]
        else:
            undone.pop("active", None)
    # Keep the element order of the current version: a restored link list stays in place.
    return {k: undone[k] for k in [*now, *undone] if k in undone}


def _undo_references(before: dict, after: dict, now: dict, survivor_id: str) -> dict | str:
    """The references the merge moved, moved back on `now`; or why that is ambiguous."""
    moved = [
        (path, old["reference"])
        for (path, old), (_, new) in zip(
            reference_nodes(before), reference_nodes(after), strict=True
        )
        if old["reference"] != new["reference"]
    ]

    def to_survivor(res: dict) -> dict:
        return {p: n for p, n in reference_nodes(res) if points_to(n["reference"], survivor_id)}

    if to_survivor(now) != to_survivor(after):
        return (
            f"its references to Patient/{survivor_id} were edited since, so which of them "
            "came from the merge is no longer known"
        )
    undone = copy.deepcopy(now)
    for path, reference in moved:
        node = undone
        for step in path:
            node = node[step]
        node["reference"] = reference
    return undone


def unmerge_patients(
    tx: Transaction, merge_id: int, *, reason: str, by: str | None = None
) -> UnmergeResult:
    """Undo patient merge `merge_id` in the caller's transaction (see the module docstring).

    Raises NotFound for an unknown merge, UnmergeConflict when it was undone already or a
    resource changed since in a way that cannot be reconciled, MergeError when the survivor
    was merged away later (undo that merge first)."""
    record = get_merge(tx, merge_id, lock=True)
    if record.unmerged:
        raise UnmergeConflict(
            f"patient merge {merge_id} was undone already, on {record.unmerged} by "
            f"{record.unmerged_by}"
        )
    _refuse_later_merges(tx, record)
    keys = [c.key for c in record.changes]
    stored = current_versions(tx, keys)
    patients = {("Patient", record.source_id), ("Patient", record.survivor_id)}
    items: list[PutItem] = []
    befores: list[int] = []
    reconciled, left_deleted, problems = [], [], []
    for change in record.changes:
        version, now = stored.get(change.key, (0, None))
        if now is None:
            if change.key in patients:
                problems.append(f"{_name(change.key)} was deleted after the merge")
            else:
                left_deleted.append(change.key)
            continue
        before = version_content(tx, change.key, change.before)
        if version == change.after:
            restored: dict | str = before
        else:
            after = version_content(tx, change.key, change.after)
            if change.key in patients:
                restored = _undo_patient(before, after, now)
            else:
                restored = _undo_references(before, after, now, record.survivor_id)
            reconciled.append(change.key)
        if isinstance(restored, str):
            problems.append(f"{_name(change.key)} (version {version}): {restored}")
            continue
        items.append(PutItem(restored, if_match=version))
        befores.append(version)
    if problems:
        raise UnmergeConflict(
            f"cannot undo patient merge {merge_id} (Patient/{record.source_id} into "
            f"Patient/{record.survivor_id}): " + "; ".join(problems)
        )

    agent, stamp = who(tx, by), utc_now()
    # Each content was valid when stored, and a reconciled one only changed references.
    # Like a merge, it moves only what the guarded caller may see (see merge_patients).
    try:
        written = tx.put_many(items, validated=True)
    except Hidden as exc:
        raise Forbidden(
            f"undoing merge {merge_id} would move records your role may not see; someone "
            "allowed to see them must do it (or break the glass for this patient)"
        ) from exc
    changes = tuple(
        Change(
            w.resource["resourceType"],
            w.resource["id"],
            before,
            int(w.resource["meta"]["versionId"]),
        )
        for before, w in zip(befores, written, strict=True)
        if w.outcome != "unchanged"
    )
    provenance = lifecycle_provenance(
        "unmerge",
        [w.resource for w in written if w.outcome != "unchanged"],
        by=agent,
        reason=reason,
        stamp=stamp,
        entities=[
            {"role": "source", "what": {"reference": f"Provenance/{record.provenance_id}"}},
            {
                "role": "source",
                "what": {
                    "identifier": {"system": MERGE_SYSTEM, "value": str(merge_id)},
                    "display": f"patient merge {merge_id}",
                },
            },
        ],
    )
    provenance = tx.put_many([PutItem(provenance, create_only=True)])[0].resource
    stamped = stamp_unmerge(
        tx,
        merge_id,
        unmerged=stamp,
        unmerged_by=agent[:64],
        unmerge_reason=reason,
        unmerge_provenance_id=provenance["id"],
        unmerge_changes=orjson.dumps([c.as_json() for c in changes]).decode(),
    )
    if not stamped:
        raise UnmergeConflict(f"patient merge {merge_id} was undone by someone else just now")
    by_key = {(w.resource["resourceType"], w.resource["id"]): w.resource for w in written}
    source = by_key.get(("Patient", record.source_id)) or tx.read("Patient", record.source_id)
    survivor = by_key.get(("Patient", record.survivor_id)) or tx.read("Patient", record.survivor_id)
    tx.note(
        "unmerge",
        [
            source,
            survivor,
            provenance,
            *({"resourceType": t, "id": i} for t, i in by_key if (t, i) not in patients),
        ],
        f"patient merge {merge_id} undone: Patient/{record.source_id} split from "
        f"Patient/{record.survivor_id}, {len(changes)} resources restored; reason: {reason}",
    )
    return UnmergeResult(
        merge_id,
        source,
        survivor,
        provenance,
        changes,
        tuple(reconciled),
        tuple(left_deleted),
    )


def _refuse_later_merges(tx: Transaction, record: MergeRecord) -> None:
    """A survivor merged away later carries this merge's references onward: the later merge
    has to be undone first, or they would be split between three records."""
    later = [
        m
        for m in merges_of(tx, record.survivor_id)
        if m.id > record.id and m.source_id == record.survivor_id and not m.unmerged
    ]
    if later:
        raise MergeError(
            f"cannot undo patient merge {record.id}: Patient/{record.survivor_id} was merged "
            f"into Patient/{later[0].survivor_id} afterwards (merge {later[0].id}); undo that "
            "merge first"
        )
