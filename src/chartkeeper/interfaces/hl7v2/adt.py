"""ADT (HL7 v2 chapter 3, patient administration) to Patient and Encounter.

This module owns what each ADT trigger event means for the record. Every event updates the
Patient from PID. The visit events set the Encounter's status as the v2-to-FHIR guide's
Event[EncounterStatus] map says: A01 admit and A02 transfer in-progress, A03 discharge
finished, A04 register and A05 pre-admit planned, A11 cancel admit cancelled, A13 cancel
discharge in-progress again (the discharge time is removed). A08 updates patient and visit
without changing the visit's status. A28/A31 (add/update person) touch the Patient only.
A40 (merge patient, 3.3.40) hands each PID/MRG pair to quality.merge.merge_patients.
"""

from __future__ import annotations

from chartkeeper.interfaces.hl7v2.build import Build
from chartkeeper.interfaces.hl7v2.errors import REQUIRED_FIELD, SEGMENT_SEQUENCE, Location, error
from chartkeeper.interfaces.hl7v2.parser import Segment
from chartkeeper.interfaces.hl7v2.patient import patient_key, put_encounter, put_patient

_VISIT_STATUS = {
    "A01": "in-progress",
    "A02": "in-progress",
    "A03": "finished",
    "A04": "planned",
    "A05": "planned",
    "A11": "cancelled",
    "A13": "in-progress",
}
_PERSON_EVENTS = {"A28", "A31"}
EVENTS = frozenset({*_VISIT_STATUS, "A08", *_PERSON_EVENTS, "A40"})


def handle_adt(build: Build) -> None:
    event = build.message.event
    if event == "A40":
        _merge(build)
        return
    patient_id = put_patient(build, build.require("PID"))
    if event in _PERSON_EVENTS:
        return
    if event == "A08":
        pv1 = build.message.first("PV1")
        if pv1 is not None:
            put_encounter(build, pv1, patient_id, status=None, required=False)
        return
    put_encounter(
        build,
        build.require("PV1"),
        patient_id,
        status=_VISIT_STATUS[event],
        required=True,
        reopen=event == "A13",
    )


def _pairs(build: Build) -> list[tuple[Segment, Segment]]:
    """The PATIENT groups of ADT_A39 (A40 uses it): PID [PD1] MRG [PV1], repeating."""
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
        raise error(Location("MRG"), SEGMENT_SEQUENCE, "ADT^A40 requires an MRG segment")
    return pairs


def _merge(build: Build) -> None:
    for pid, mrg in _pairs(build):
        survivor_id = put_patient(build, pid)
        reps = [r for r in mrg.reps(1) if r.get(1)]
        if not reps:
            raise error(
                mrg.loc(1), REQUIRED_FIELD, "MRG-1 prior patient identifier list is required"
            )
        source_id, identifiers = patient_key(reps, build.sender_system)
        if source_id != survivor_id and not build.is_known("Patient", source_id):
            # The sender knew the prior record even if we never saw it: keep it, linked, so
            # a later message quoting the old number finds where it went.
            source = {"resourceType": "Patient", "id": source_id, "identifier": identifiers}
            build.put({**source, "active": True}, mrg.loc())
        build.merge(source_id, survivor_id, mrg.loc(1))
