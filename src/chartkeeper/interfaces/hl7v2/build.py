"""What one HL7 v2 message turns into, collected first and written at the end.

This module owns the step between mapping and the store: the mappers `put` resources
(each with the Location of the segment it came from) and queue patient merges; `write`
then folds each resource into the version already stored, validates it, and writes all of
them in the caller's transaction. A resource that fails validation is reported at its
segment, and since nothing is written before everything has mapped and validated, a bad
message leaves the store as it was.

Updates follow HL7 v2's snapshot semantics at the element level: what the message carries
replaces what is stored, what it leaves out is kept (a demographics update without phone
numbers does not erase them), and elements that only other processes set, like a merged
patient's `link` and `active`, survive every update.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from chartkeeper.errors import ChartkeeperError, Gone, InvalidResource, NotFound, RuleViolation
from chartkeeper.fhir.validation import validate
from chartkeeper.interfaces.hl7v2.datatypes import hd_system, offset_of
from chartkeeper.interfaces.hl7v2.errors import (
    DATA_TYPE,
    INTERNAL,
    REQUIRED_FIELD,
    SEGMENT_SEQUENCE,
    UNKNOWN_KEY,
    Hl7Error,
    Location,
    Problem,
    error,
)
from chartkeeper.interfaces.hl7v2.parser import Message, Segment
from chartkeeper.quality.merge import merge_patients
from chartkeeper.store import PutItem, Transaction

Merge = Callable[[dict | None, dict], dict]


# Choice elements ([x]) the mappers write: a new variant replaces the stored one (a result
# corrected from a number to text, a death indicator followed by the date of death).
_CHOICE = re.compile(
    r"(value|effective|deceased|onset|abatement|occurrence|multipleBirth|performed|"
    r"medication|reported|recorded|serviced|timing|entered)(?=[A-Z])"
)


def overlay(old: dict | None, new: dict, deep: Iterable[str] = ()) -> dict:
    """`new` over `old`: top-level elements replaced, those named in `deep` merged one
    level down (an Encounter.period whose end arrives in a later message keeps its start);
    one variant of a choice element replaces any other."""
    if old is None:
        return new
    merged = dict(old)
    for key in new:
        choice = _CHOICE.match(key)
        if choice:
            for stale in [k for k in merged if k != key and _CHOICE.match(k)]:
                if _CHOICE.match(stale)[1] == choice[1]:
                    del merged[stale]
    for key, value in new.items():
        if key in deep and isinstance(value, dict) and isinstance(old.get(key), dict):
            merged[key] = {**old[key], **value}
        else:
            merged[key] = value
    return merged


@dataclass
class _Pending:
    resource: dict
    location: Location
    merge: Merge | None


class Build:
    """The resources, merges and warnings one message produces."""

    def __init__(self, message: Message, tx: Transaction):
        self.message = message
        self.tx = tx
        self.pending: dict[tuple[str, str], _Pending] = {}
        self.merges: list[tuple[str, str, Location]] = []
        self.warnings: list[Problem] = list(message.warnings)
        self.touched: list[str] = []  # every version the message wrote or left as it was
        msh = message.msh
        # A DTM without an offset is in the sender's local time (2A.22); MSH-7 says which.
        self.tz = offset_of(msh.get(7))
        # Identifiers without an assigning authority are local to the sending facility.
        self.sender_system = hd_system(msh.rep(4)) or hd_system(msh.rep(3))

    # --- reading the message ------------------------------------------------------------

    def require(self, name: str) -> Segment:
        segment = self.message.first(name)
        if segment is None:
            what = f"{self.message.type}^{self.message.event}"
            raise error(Location(name), SEGMENT_SEQUENCE, f"{what} requires a {name} segment")
        return segment

    def require_value(self, segment: Segment, n: int, what: str) -> str:
        value = segment.get(n)
        if not value:
            raise error(segment.loc(n), REQUIRED_FIELD, f"{segment.name}-{n} {what} is required")
        return value

    def warn(self, location: Location, text: str, code: int = SEGMENT_SEQUENCE) -> None:
        self.warnings.append(Problem(location, code, text, "W"))

    def distinct_warnings(self) -> list[Problem]:
        """The warnings once each (a value read twice is reported once)."""
        return list(dict.fromkeys(self.warnings))

    # --- collecting -------------------------------------------------------------------------

    def existing(self, resource_type: str, resource_id: str) -> dict | None:
        try:
            return self.tx.read(resource_type, resource_id)
        except (NotFound, Gone):
            return None

    def is_known(self, resource_type: str, resource_id: str) -> bool:
        return (resource_type, resource_id) in self.pending or self.tx.exists(
            resource_type, resource_id
        )

    def put(self, resource: dict, location: Location, merge: Merge | None = None) -> str:
        """Queue a resource; a second put of the same resource in one message folds into
        the first. Returns its relative reference."""
        key = (resource["resourceType"], resource["id"])
        earlier = self.pending.get(key)
        if earlier is not None:
            earlier.resource = overlay(earlier.resource, resource)
        else:
            self.pending[key] = _Pending(resource, location, merge)
        return f"{key[0]}/{key[1]}"

    def merge(self, source_id: str, survivor_id: str, location: Location) -> None:
        self.merges.append((source_id, survivor_id, location))

    # --- writing ----------------------------------------------------------------------------

    def write(self) -> list[str]:
        """Validate and store everything; returns "Type/id/_history/n" of what changed."""
        final: list[dict] = []
        for (rtype, rid), pending in self.pending.items():
            old = self.existing(rtype, rid)
            merge = pending.merge or overlay
            resource = merge(old, pending.resource)
            try:
                validate(resource)
            except RuleViolation as exc:
                # Structurally sound but breaking an R4 rule (an appointment without times,
                # a code outside a required value set): kept, with a warning naming the rule,
                # since refusing would lose the clinical data the message carries.
                for issue in exc.issues:
                    self.warn(pending.location, f"{issue.path}: {issue.problem}", DATA_TYPE)
            except InvalidResource as exc:
                raise error(pending.location, DATA_TYPE, f"{pending.location}: {exc}") from exc
            final.append(resource)
        # validated=True: checked above, rule violations already turned into warnings.
        results = self.tx.put_many([PutItem(r) for r in final], validated=True)
        written = {_version_ref(r.resource): None for r in results if r.outcome != "unchanged"}
        self.touched = [_version_ref(r.resource) for r in results]
        for source_id, survivor_id, location in self.merges:
            reason = f"HL7 {self.message.type}^{self.message.event} {self.message.control_id}"
            try:
                outcome = merge_patients(self.tx, source_id, survivor_id, reason=reason)
            except ChartkeeperError as exc:
                code = UNKNOWN_KEY if isinstance(exc, NotFound | Gone) else INTERNAL
                raise Hl7Error("AE", [Problem(location, code, str(exc))]) from exc
            if outcome.changed:
                written.update({_version_ref(outcome.source): None})
                written.update({_version_ref(outcome.survivor): None})
                self.touched += [_version_ref(outcome.source), _version_ref(outcome.survivor)]
        return list(written)


def _version_ref(resource: dict) -> str:
    return f"{resource['resourceType']}/{resource['id']}/_history/{resource['meta']['versionId']}"
