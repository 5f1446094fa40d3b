"""SIU^S12-S26 (HL7 v2 chapter 10, scheduling: notifications about an appointment booking) to
Appointment.

This module owns appointments, per the v2-to-FHIR SCH, AIS, AIG, AIL and AIP
[Appointment] maps. The id derives from the filler appointment id (SCH-2), the scheduling
system's own, else the placer's (SCH-1), so later notifications about the booking update
one resource. Mapped: SCH-1/2 identifiers, SCH-7 reason (table 0276), SCH-8 type (table
0277), SCH-9/10 duration, SCH-12/16/20 placer contact, filler contact and enterer as
participants, SCH-25 filler status (table 0278) to status, SCH-26/27 order numbers to
basedOn; TQ1-7/8 (else SCH-11.4/.5, else the resources' times) start and end; NTE as the
comment; PID as the patient participant; AIS-3 service type; AIG, AIL and AIP as the
equipment, location and personnel participants, each with its period (start, or the
appointment start plus offset; plus duration) and status (AI*-filler status).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from chartkeeper.interfaces.hl7v2.build import Build
from chartkeeper.interfaces.hl7v2.coded import code_system, cwe_concept
from chartkeeper.interfaces.hl7v2.datatypes import (
    ei_identifier,
    pl_display,
    resource_id,
    to_datetime,
    to_instant,
    to_number,
    xcn_reference,
)
from chartkeeper.interfaces.hl7v2.errors import (
    REQUIRED_FIELD,
    SEGMENT_SEQUENCE,
    TABLE_VALUE,
    Location,
    error,
)
from chartkeeper.interfaces.hl7v2.observations import text_lines_of
from chartkeeper.interfaces.hl7v2.parser import Segment
from chartkeeper.interfaces.hl7v2.patient import put_encounter, put_patient

EVENTS = frozenset(f"S{n}" for n in range(12, 27))
# What each trigger event (10.3) says of the booking when SCH-25 does not: S12 new, S13
# rescheduled, S15 cancelled, S16 discontinued, S17 deleted, S26 no-show. S14 and the
# resource-level events S18-S25 change details, not the booking's status.
_EVENT_STATUS = {
    "S12": "booked",
    "S13": "booked",
    "S15": "cancelled",
    "S16": "cancelled",
    "S17": "entered-in-error",
    "S26": "noshow",
}
# Table 0278 filler status -> appointmentstatus (v2-to-FHIR FillerStatusCodes[Appointment]).
# Discontinued, Blocked and Overbook have no equivalent there.
_STATUS = {
    "PENDING": "pending",
    "WAITLIST": "waitlist",
    "BOOKED": "booked",
    "STARTED": "checked-in",
    "COMPLETE": "fulfilled",
    "CANCELLED": "cancelled",
    "DELETED": "entered-in-error",
    "NOSHOW": "noshow",
}
# appointmentstatus -> participationstatus of a resource with that filler status: the guide
# maps AIP-12 to participant.status without a table, so this one is ours.
_PARTICIPATION = {
    "booked": "accepted",
    "checked-in": "accepted",
    "fulfilled": "accepted",
    "arrived": "accepted",
    "pending": "tentative",
    "waitlist": "tentative",
    "proposed": "needs-action",
    "cancelled": "declined",
    "entered-in-error": "declined",
    "noshow": "declined",
}
# Duration units (SCH-10, AI*-units: CNE, ISO+/ANSI+ or UCUM spellings) in seconds.
_SECONDS = {"S": 1, "SEC": 1, "MIN": 60, "H": 3600, "HR": 3600, "D": 86400, "WK": 604800}
_PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"


@dataclass(frozen=True)
class _Fields:
    """Where one resource segment keeps its times and status (10.6.3-10.6.6)."""

    start: int
    offset: int
    duration: int
    status: int


_RESOURCES = {
    "AIS": _Fields(4, 5, 7, 10),
    "AIG": _Fields(8, 9, 11, 14),
    "AIL": _Fields(6, 7, 9, 12),
    "AIP": _Fields(6, 7, 9, 12),
}
# The segments whose NTEs are notes on the appointment: the schedule and its resources.
_NOTED = frozenset({"SCH", "TQ1", "TQ2", "RGS", *_RESOURCES})


def handle_siu(build: Build) -> None:
    sch = build.require("SCH")
    appointment_id, identifiers = _key(build, sch)
    stored = build.existing("Appointment", appointment_id)
    status = _status(build, sch)
    if status is None:
        event = build.message.event
        kept = stored.get("status") if stored else None
        status = _EVENT_STATUS.get(event) or kept or "booked"
    start, end = _times(build, sch)
    appointment: dict = {
        "resourceType": "Appointment",
        "id": appointment_id,
        "identifier": identifiers,
        "status": status,
    }
    participants = []
    pid = build.message.first("PID")
    if pid is not None:
        patient_id = put_patient(build, pid)
        actor = {"reference": f"Patient/{patient_id}", "type": "Patient"}
        participants.append({"actor": actor, "status": _PARTICIPATION.get(status, "accepted")})
        pv1 = build.message.first("PV1")
        if pv1 is not None:
            put_encounter(build, pv1, patient_id, status=None, required=False)
    services, periods, resources = _resources(build, start, status)
    participants += resources
    if not participants and stored and stored.get("participant"):
        # A cancellation or update naming only the booking: who attends stays as stored.
        appointment["participant"] = stored["participant"]
    elif not participants:  # the contacts arrange the appointment; they do not attend it
        event = f"SIU^{build.message.event}"
        text = f"{event} names no one who attends: no patient (PID) and no AIG, AIL or AIP"
        raise error(Location("PID"), SEGMENT_SEQUENCE, text)
    else:
        appointment["participant"] = participants + _contacts(sch)
    if services:
        appointment["serviceType"] = services
    _schedule(build, sch, appointment, start, end, periods)
    build.put(appointment, sch.loc())


def _key(build: Build, sch: Segment) -> tuple[str, list[dict]]:
    identifiers = [
        (kind, ei_identifier(sch.rep(n), build.sender_system, kind))
        for kind, n in (("FILL", 2), ("PLAC", 1))
        if sch.get(n)
    ]
    if not identifiers:
        raise error(
            sch.loc(2),
            REQUIRED_FIELD,
            "SCH-2 filler (or SCH-1 placer) appointment id is needed to identify the appointment",
        )
    kind, main = identifiers[0]
    appointment_id = resource_id("Appointment", kind, main.get("system", ""), main["value"])
    return appointment_id, [ident for _, ident in reversed(identifiers)]


def _status(build: Build, sch: Segment) -> str | None:
    """SCH-25, else the first AIS-10 (the guide maps both to status); None when neither
    says (the trigger event then does)."""
    ais = build.message.first("AIS")
    for segment, n in ((sch, 25), (ais, 10)):
        code = segment.get(n) if segment is not None else ""
        if code.upper() in _STATUS:
            return _STATUS[code.upper()]
        if code:
            text = f"{code!r} is not a table 0278 status with a FHIR equivalent"
            build.warn(segment.loc(n), text, TABLE_VALUE)
    return None


def _times(build: Build, sch: Segment) -> tuple[str | None, str | None]:
    """Start and end from TQ1-7/8 (v2.5+), else SCH-11.4/.5 (TQ, kept for compatibility)."""
    tq1 = build.message.first("TQ1")
    if tq1 is not None and tq1.get(7):
        return to_instant(tq1.get(7), tq1.loc(7), build.tz), to_instant(
            tq1.get(8), tq1.loc(8), build.tz
        )
    timing = sch.rep(11)
    return to_instant(timing.get(4), timing.loc_of(4), build.tz), to_instant(
        timing.get(5), timing.loc_of(5), build.tz
    )


def _contacts(sch: Segment) -> list[dict]:
    """SCH-12 placer contact, SCH-16 filler contact, SCH-20 entered by. The guide's codes
    for the contacts are placeholders, so their role is said in words."""
    roles = (
        (12, {"text": "placer contact person"}),
        (16, {"text": "filler contact person"}),
        (20, {"coding": [{"system": _PARTICIPANT_TYPE, "code": "enterer"}]}),
    )
    found = []
    for n, role in roles:
        actor = xcn_reference(sch.rep(n))
        if actor:
            actor = {**actor, "type": "Practitioner"}
            found.append({"type": [role], "actor": actor, "status": "accepted"})
    return found


def _resources(build: Build, start: str | None, status: str) -> tuple[list, list, list]:
    """AIS service types; the period of every resource segment; and the AIG, AIL and AIP
    participants (10.6.3-10.6.6). AIS is the service booked, not a participant."""
    services: list[dict] = []
    periods: list[dict] = []
    participants: list[dict] = []
    for seg in build.message.segments:
        fields = _RESOURCES.get(seg.name)
        if fields is None or seg.get(2).upper() == "D":  # segment action D (table 0206)
            continue
        period = _period(build, seg, fields, start)
        if period:
            periods.append(period)
        if seg.name == "AIS":
            service = cwe_concept(seg.rep(3))
            if service is None:
                text = "AIS-3 universal service identifier is required"
                raise error(seg.loc(3), REQUIRED_FIELD, text)
            services.append(service)
            continue
        participant = _participant(seg, fields, status)
        if participant is None:
            build.warn(seg.loc(3), f"{seg.name} names no resource; left out")
            continue
        if period:
            participant["period"] = period
        participants.append(participant)
    return services, periods, participants


def _participant(seg: Segment, fields: _Fields, status: str) -> dict | None:
    """AIG-3/4 (resource id, type), AIL-3 (location), AIP-3/4 (person, role)."""
    participant: dict = {}
    if seg.name == "AIG":
        resource = seg.rep(3)
        actor: dict | None = {}
        if resource.get(1):
            system = code_system(resource.get(3))
            ident = {"system": system, "value": resource.get(1)} if system else {}
            actor = {"identifier": ident or {"value": resource.get(1)}}
        if resource.get(2):
            actor["display"] = resource.get(2)
        kind = cwe_concept(seg.rep(4))
    elif seg.name == "AIL":
        place = pl_display(seg.rep(3))
        actor, kind = ({"type": "Location", "display": place} if place else None), None
    else:
        actor, kind = xcn_reference(seg.rep(3)), cwe_concept(seg.rep(4))
        if actor:
            actor["type"] = "Practitioner"
    if actor:
        participant["actor"] = actor
    if kind:
        participant["type"] = [kind]
    if not participant:
        return None
    own = _STATUS.get(seg.get(fields.status).upper())
    participant["status"] = _PARTICIPATION.get(own or status, "accepted")
    return participant


def _period(build: Build, seg: Segment, fields: _Fields, start: str | None) -> dict:
    """Start (or the appointment's start plus the offset) and end (start plus duration)."""
    begin = to_datetime(seg.get(fields.start), seg.loc(fields.start), build.tz)
    if not begin and start and seg.get(fields.offset):
        seconds = _seconds(build, seg, fields.offset)
        begin = _plus(start, seconds) if seconds is not None else None
    period = {"start": begin} if begin else {}
    if begin and seg.get(fields.duration):
        seconds = _seconds(build, seg, fields.duration)
        end = _plus(begin, seconds) if seconds is not None else None
        if end:
            period["end"] = end
    return period


def _seconds(build: Build, seg: Segment, n: int) -> float | None:
    """An NM amount of time in field n, in the units of field n + 1 (minutes if none)."""
    amount = to_number(seg.get(n), seg.loc(n))
    unit = seg.get(n + 1).upper() or "MIN"
    if unit not in _SECONDS:
        build.warn(seg.loc(n + 1), f"time unit {unit!r} is not known; the time is left out")
        return None
    return amount * _SECONDS[unit]


def _plus(when: str, seconds: float) -> str | None:
    """A FHIR dateTime plus some seconds, in the same zone; None for a date without time."""
    if "T" not in when:
        return None
    moved = datetime.fromisoformat(when.replace("Z", "+00:00")) + timedelta(seconds=seconds)
    text = moved.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _schedule(
    build: Build, sch: Segment, appointment: dict, start: str | None, end: str | None, periods
) -> None:
    """Times, duration, reason, type, comment and the orders the booking is for."""
    duration = _seconds(build, sch, 9) if sch.get(9) else None
    if not start and periods:
        # No appointment time given: the resources' times span the appointment.
        starts = [p["start"] for p in periods if "T" in p.get("start", "")]
        ends = [p["end"] for p in periods if "end" in p]
        start = min(starts, key=_instant) if starts else None
        end = max(ends, key=_instant) if ends and start else None
    if start and not end and duration is not None:
        end = _plus(start, duration)
    if start and end:  # app-2: both or neither
        appointment["start"], appointment["end"] = start, end
    elif appointment["status"] not in ("proposed", "cancelled", "waitlist"):
        build.warn(sch.loc(11), "no start and end time found (TQ1-7/8, SCH-11, AIS-4...)")
    if duration is not None and duration >= 60 and duration % 60 == 0:
        appointment["minutesDuration"] = int(duration // 60)
    for key, n, table in (("reasonCode", 7, "0276"), ("appointmentType", 8, "0277")):
        concept = cwe_concept(sch.rep(n), table)
        if concept:
            appointment[key] = [concept] if key == "reasonCode" else concept
    comment = _comment(build)
    if comment:
        appointment["comment"] = comment
    based_on = [
        {"type": "ServiceRequest", "identifier": ei_identifier(ei, build.sender_system, kind)}
        for kind, n in (("PLAC", 26), ("FILL", 27))
        for ei in sch.reps(n)
        if ei.get(1)
    ]
    if based_on:
        appointment["basedOn"] = based_on


def _instant(when: str) -> datetime:
    return datetime.fromisoformat(when.replace("Z", "+00:00"))


def _comment(build: Build) -> str:
    """The NTEs on the schedule and its resources, one after another (the guide
    concatenates them into Appointment.comment)."""
    lines: list[str] = []
    owner = ""
    for seg in build.message.segments:
        if seg.name != "NTE":
            owner = seg.name
        elif owner in _NOTED:
            lines.extend(text_lines_of(seg, 3))
    return "\n".join(line for line in lines if line.strip())
