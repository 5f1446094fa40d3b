"""ADT (HL7 v2 chapter 3, patient administration) to Patient and Encounter.

This module owns what each ADT trigger event means for the record. Every event updates the
Patient from PID. The visit events set the Encounter's status as the v2-to-FHIR guide's
Event[EncounterStatus] map says: A01 admit and A02 transfer in-progress, A03 discharge
finished, A04 register and A05 pre-admit planned, A11 cancel admit cancelled, A13 cancel
discharge in-progress again (the discharge time is removed); A06/A07 (class change), A12
(cancel transfer) and A22 (return from leave) in-progress, A14 (pending admit) planned,
A21 (leave of absence) onleave, A38 (cancel pre-admit) cancelled. A08, A09 and A10 update
patient and visit without changing the visit's status. A28/A31 (add/update person) touch the Patient only.
A40 (merge patient), A45 (move visit) and A47 (change patient identifier list) correct
who a record is; moves.py handles them.
"""

from __future__ import annotations

from chartkeeper.interfaces.hl7v2 import moves
from chartkeeper.interfaces.hl7v2.build import Build
from chartkeeper.interfaces.hl7v2.patient import put_encounter, put_patient

_VISIT_STATUS = {
    "A01": "in-progress",
    "A02": "in-progress",
    "A03": "finished",
    "A04": "planned",
    "A05": "planned",
    "A11": "cancelled",
    "A13": "in-progress",
    "A06": "in-progress",  # outpatient becomes inpatient
    "A07": "in-progress",  # inpatient becomes outpatient
    "A12": "in-progress",  # cancel transfer: still in the stay
    "A14": "planned",  # pending admit
    "A21": "onleave",  # leave of absence out
    "A22": "in-progress",  # back from leave
    "A38": "cancelled",  # cancel pre-admit
}
_PERSON_EVENTS = {"A28", "A31"}
# Events that update patient and visit without saying the visit's state: A08 update,
# A09/A10 patient departing/arriving (tracking).
_UPDATE_EVENTS = {"A08", "A09", "A10"}
EVENTS = frozenset({*_VISIT_STATUS, *_UPDATE_EVENTS, *_PERSON_EVENTS, *moves.EVENTS})


def handle_adt(build: Build) -> None:
    event = build.message.event
    if event in moves.EVENTS:
        moves.handle_move(build)
        return
    patient_id = put_patient(build, build.require("PID"))
    if event in _PERSON_EVENTS:
        return
    if event in _UPDATE_EVENTS:
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
