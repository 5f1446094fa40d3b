"""Merging two Patient records that turned out to be one person: the one merge function.

Every path that learns of a duplicate (an HL7 ADT^A40 message today; the API's
$merge and the master patient index later) calls `merge_patients`, so there is one
definition of what a merge does.

For now a merge is a link, as FHIR describes for a merged record
(https://hl7.org/fhir/R4/patient.html#links): the survivor gets a `link` of type `replaces`
to the source, the source gets `active = false` and a `link` of type `replaced-by` to the
survivor. Nothing else changes: the source's encounters, results and documents still
point at it, and readers follow the link. The master patient index work will make this a
full merge (repoint every reference from the source to the survivor through
`chartkeeper.fhir.references.rewrite_references`, and record a Provenance with the
reason); callers keep this signature and get that behaviour without changing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from chartkeeper.errors import ChartkeeperError, Gone, NotFound
from chartkeeper.store import PutItem, Transaction

log = logging.getLogger(__name__)


class MergeError(ChartkeeperError):
    """A merge that would make the record wrong: into itself, or along a merge chain."""

    code = "business-rule"
    http_status = 422


@dataclass(frozen=True)
class MergeResult:
    source: dict  # the source Patient as stored after the merge
    survivor: dict
    changed: bool  # False when the two were already merged this way
    reason: str


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


def _with_link(patient: dict, other_id: str, link_type: str) -> dict:
    link = {"other": {"reference": f"Patient/{other_id}"}, "type": link_type}
    links = list(patient.get("link", []))
    if link not in links:
        links.append(link)
    return {**patient, "link": links}


def merge_patients(
    tx: Transaction, source_id: str, survivor_id: str, *, reason: str
) -> MergeResult:
    """Mark Patient/source_id as replaced by Patient/survivor_id, in the caller's
    transaction. Idempotent: merging the same pair again changes nothing.

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
    elsewhere = [r for r in _link_target(source, "replaced-by") if r != f"Patient/{survivor_id}"]
    if elsewhere:
        raise MergeError(
            f"cannot merge Patient/{source_id} into Patient/{survivor_id}: it was already "
            f"merged into {elsewhere[0]}"
        )
    new_source = {**_with_link(source, survivor_id, "replaced-by"), "active": False}
    new_survivor = _with_link(survivor, source_id, "replaces")
    written = tx.put_many([PutItem(new_source), PutItem(new_survivor)])
    changed = any(w.outcome != "unchanged" for w in written)
    if changed:
        log.info("merged Patient/%s into Patient/%s: %s", source_id, survivor_id, reason)
    return MergeResult(written[0].resource, written[1].resource, changed, reason)
