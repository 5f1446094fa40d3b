"""ADT events that change who a record is (HL7 v2 chapter 3, 3.3.40 to 3.3.47): A40 merge
patient, A45 move visit information, A47 change patient identifier list.

This module owns identity corrections. Patients and visits have ids derived from their
primary identifier and visit number (patient.py), so an identifier cannot simply be edited
in place: a later message quoting the new identifier must find the record.

- A40 (ADT_A39: PID, MRG repeating): the MRG-1 patient is merged into the PID patient,
  through quality.merge.merge_patients (a replaced-by / replaces link).
- A45 (ADT_A45: PID, then MERGE_INFO groups of MRG and PV1): the visit MRG-5 names moves
  from the MRG-1 patient to the PID patient; its Encounter's subject is repointed. Results
  and documents that reference the Encounter keep their own subject for now, as a merge
  leaves references alone (quality.merge says why).
- A47 (ADT_A30: PID, MRG): the MRG-1 identifier was wrong and PID-3 is right. The Patient
  takes PID-3 as its identifiers; when that changes its primary identifier, and so its id,
  the record continues under the new id (what the old one held, PID over it) and the old
  record is linked to it as replaced, as a merge does, so messages quoting either find it.
"""

from __future__ import annotations

from functools import partial

from chartkeeper.interfaces.hl7v2.build import Build
from chartkeeper.interfaces.hl7v2.errors import (
    REQUIRED_FIELD,
    SEGMENT_SEQUENCE,
    UNKNOWN_KEY,
    Location,
    error,
)
from chartkeeper.interfaces.hl7v2.parser import Segment
from chartkeeper.interfaces.hl7v2.patient import (
    merge_encounter,
    merge_patient,
    patient_key,
    put_encounter,
    put_patient,
    visit_key,
)

EVENTS = frozenset({"A40", "A45", "A47"})
# Elements of a Patient that belong to the record rather than to the person: a record
# carried over to a new id does not take them along.
_RECORD_ONLY = frozenset({"id", "meta", "identifier", "link", "active", "text"})


def handle_move(build: Build) -> None:
    event = build.message.event
    if event == "A45":
        _move_visits(build)
        return
    for pid, mrg in _pairs(build):
        if event == "A40":
            _merge(build, pid, mrg)
        else:
            _change_identifiers(build, pid, mrg)


def _pairs(build: Build) -> list[tuple[Segment, Segment]]:
    """The PATIENT groups of ADT_A39 (A40) and ADT_A30 (A47): PID [PD1] MRG [PV1]."""
    pairs: list[tuple[Segment, Segment]] = []
    pid: Segment | None = None
    for segment in build.message.segments:
        if segment.name == "PID":
            pid = segment
        elif segment.name == "MRG":
            if pid is None:
                raise error(segment.loc(), SEGMENT_SEQUENCE, "MRG without the PID it belongs to")
            pairs.append((pid, segment))
            pid = None
    if not pairs:
        build.require("PID")
        what = f"ADT^{build.message.event}"
        raise error(Location("MRG"), SEGMENT_SEQUENCE, f"{what} requires an MRG segment")
    return pairs


def _prior_patient(build: Build, mrg: Segment) -> tuple[str, list[dict]]:
    reps = [r for r in mrg.reps(1) if r.get(1)]
    if not reps:
        raise error(mrg.loc(1), REQUIRED_FIELD, "MRG-1 prior patient identifier list is required")
    return patient_key(reps, build.sender_system)


def _merge(build: Build, pid: Segment, mrg: Segment) -> None:
    survivor_id = put_patient(build, pid)
    source_id, identifiers = _prior_patient(build, mrg)
    if source_id != survivor_id and not build.is_known("Patient", source_id):
        # The sender knew the prior record even if we never saw it: keep it, linked, so
        # a later message quoting the old number finds where it went.
        source = {"resourceType": "Patient", "id": source_id, "identifier": identifiers}
        build.put({**source, "active": True}, mrg.loc())
    build.merge(source_id, survivor_id, mrg.loc(1))


def _change_identifiers(build: Build, pid: Segment, mrg: Segment) -> None:
    old_id, old_identifiers = _prior_patient(build, mrg)
    reps = [r for r in pid.reps(3) if r.get(1)]
    new_id = patient_key(reps, build.sender_system)[0] if reps else None
    old = build.existing("Patient", old_id) if new_id and old_id != new_id else None
    if old is not None and not build.is_known("Patient", new_id):
        # The record moves to the id of its corrected identifier: carry over what it held;
        # the PID, put next, wins wherever it says something.
        carried = {k: v for k, v in old.items() if k not in _RECORD_ONLY}
        build.put({**carried, "resourceType": "Patient", "id": new_id}, pid.loc(), merge_patient)
    put_patient(build, pid)  # PID-3 is the whole identifier list now: MRG-1's is gone
    if old is not None:
        build.merge(old_id, new_id, mrg.loc(1))
    elif old_id != new_id and not build.is_known("Patient", old_id):
        # Not a record of its own; but it may be a secondary identifier of this patient.
        held = build.existing("Patient", new_id) or {}
        held_ids = {(i.get("system"), i.get("value")) for i in held.get("identifier", [])}
        if not any((i.get("system"), i["value"]) in held_ids for i in old_identifiers):
            value = old_identifiers[0]["value"]
            text = f"no patient with prior identifier {value!r} is on record; PID stored as sent"
            build.warn(mrg.loc(1), text, UNKNOWN_KEY)


def _visit_groups(build: Build) -> list[tuple[Segment, Segment | None]]:
    """ADT_A45's MERGE_INFO groups: MRG and the PV1 that follows it, if any."""
    groups: list[tuple[Segment, Segment | None]] = []
    for segment in build.message.segments:
        if segment.name == "MRG":
            groups.append((segment, None))
        elif segment.name == "PV1" and groups and groups[-1][1] is None:
            groups[-1] = (groups[-1][0], segment)
    if not groups:
        raise error(Location("MRG"), SEGMENT_SEQUENCE, "ADT^A45 requires an MRG segment")
    return groups


def _move_visits(build: Build) -> None:
    patient_id = put_patient(build, build.require("PID"))
    subject = {"reference": f"Patient/{patient_id}"}
    for mrg, pv1 in _visit_groups(build):
        prior = mrg.rep(5)
        if not prior.get(1):
            raise error(
                mrg.loc(5),
                REQUIRED_FIELD,
                "MRG-5 prior visit number is required: it names the visit",
            )
        encounter_id, identifier = visit_key(build, prior)
        stored = build.existing("Encounter", encounter_id)
        moved: dict = {"resourceType": "Encounter", "id": encounter_id, "subject": subject}
        if stored is None:
            moved["identifier"] = [identifier]
            text = f"visit {identifier['value']!r} was not on record; recorded for the PID patient"
            build.warn(mrg.loc(5), text, UNKNOWN_KEY)
        else:
            _check_owner(build, mrg, stored, patient_id)
        build.put(moved, mrg.loc(), merge=partial(merge_encounter, status=None))
        if pv1 is not None:  # the visit as it now is, under its (maybe new) number
            put_encounter(build, pv1, patient_id, status=None, required=False)


def _check_owner(build: Build, mrg: Segment, stored: dict, patient_id: str) -> None:
    """The sender says the visit was MRG-1's; say so when our record disagrees."""
    if not any(r.get(1) for r in mrg.reps(1)):
        return
    prior_id = _prior_patient(build, mrg)[0]
    owner = stored.get("subject", {}).get("reference")
    if owner not in (f"Patient/{prior_id}", f"Patient/{patient_id}"):
        text = f"the visit was recorded for {owner}, not the MRG-1 patient; moved all the same"
        build.warn(mrg.loc(1), text, UNKNOWN_KEY)
