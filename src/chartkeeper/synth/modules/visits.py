"""Shared helpers for modules that create visits: care window, clock times, Encounter resource.

`add_visit` is the one way to put a visit on a chart: it stores the `Visit` and emits its
FHIR Encounter, so plugin modules (e.g. a cancer follow-up module) create visits the same
way the default ones do. Later modules (conditions, notes) read `chart.visits`.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from ..catalog import DX
from ..facility import Practitioner
from ..fhirutil import coding, concept, dt
from ..model import HISTORY_END, HISTORY_START, Chart, Person, PlannedProc, Problem, Visit
from ..module import ChartContext
from ..orders import PROCEDURES
from ..terminology import ADMIT, ATTENDER, DISPOSITION, ENCOUNTER_CLASS, ENCOUNTER_TYPE


def care_window(person: Person) -> tuple[datetime, datetime]:
    """When this registration can have visits: the history window, after birth, until death."""
    born = datetime.combine(person.birth_date, time()) + timedelta(days=30)
    start = max(HISTORY_START, born)
    window = person.attrs.get("window")  # a plugin may narrow a registration's window
    if window:
        start = max(start, window[0])
    end = min(HISTORY_END, person.deceased or HISTORY_END)
    if window:
        end = min(end, window[1])
    return start, end


def arrivals(rng: random.Random, per_year: float, start: datetime, end: datetime) -> list[datetime]:
    """Poisson event times between start and end."""
    out: list[datetime] = []
    if per_year <= 0:
        return out
    t = start
    while True:
        t += timedelta(days=rng.expovariate(per_year) * 365.25)
        if t >= end:
            return out
        out.append(t)


def clinic_time(rng: random.Random, when: datetime | date) -> datetime:
    """A weekday office slot on or after `when`'s date."""
    d = when.date() if isinstance(when, datetime) else when
    while d.weekday() >= 5:
        d += timedelta(days=1)
    slot = rng.randrange(16)  # 8:00 to 15:30 in half hours
    return datetime.combine(d, time(8 + slot // 2, 30 * (slot % 2), rng.randrange(60)))


def any_time(rng: random.Random, when: datetime | date) -> datetime:
    d = when.date() if isinstance(when, datetime) else when
    return datetime.combine(d, time(rng.randrange(24), rng.randrange(60), rng.randrange(60)))


def acute_problem(ctx: ChartContext, dx_key: str, at: datetime, end: datetime) -> Problem:
    """A self-limited problem first seen at `at`, resolved a week or two after `end`."""
    rng = ctx.rng
    onset = (at - timedelta(days=rng.randint(0, 4), hours=rng.randint(1, 20))).replace(second=0)
    abated = end + timedelta(days=rng.randint(5, 21))
    deceased = ctx.person.deceased
    if deceased and abated > deceased:
        abated = None
    return Problem(ctx.new_id(), DX[dx_key], onset, chronic=False, abated=abated)


def plan_procedure(rng: random.Random, v: Visit, key: str, performer: Practitioner) -> PlannedProc:
    """Schedule procedure `key` within visit `v` (first half of the visit)."""
    proc = PROCEDURES[key]
    half = max(1, int((v.end - v.start).total_seconds() // 120))
    begin = v.start + timedelta(minutes=rng.randint(0, half))
    end = min(begin + timedelta(minutes=rng.randint(*proc.minutes)), v.end)
    return PlannedProc(proc, begin, end, performer, v.reasons[0] if v.reasons else None)


def encounter_resource(v: Visit, patient_ref: str) -> dict:
    period = {"start": dt(v.start), "end": dt(v.end)}
    res: dict = {
        "resourceType": "Encounter",
        "id": v.id,
        "status": "finished",
        "class": coding(ENCOUNTER_CLASS[v.klass]),
        "type": [concept(ENCOUNTER_TYPE[v.kind])],
        "subject": {"reference": patient_ref},
        "participant": [
            {
                "type": [concept(ATTENDER)],
                "period": period,
                "individual": {"reference": v.practitioner.ref, "display": v.practitioner.display},
            }
        ],
        "period": period,
    }
    if v.reasons:
        res["reasonCode"] = [concept(p.dx.code) for p in v.reasons]
    if v.klass == "IMP":
        res["hospitalization"] = {
            "admitSource": concept(ADMIT[v.admit_source or "emd"]),
            "dischargeDisposition": concept(DISPOSITION[v.disposition or "home"]),
        }
    res["serviceProvider"] = {"reference": v.organization.ref, "display": v.organization.name}
    return res


def add_visit(chart: Chart, visit: Visit) -> Visit:
    visit.resource = encounter_resource(visit, chart.patient_ref)
    chart.visits.append(visit)
    chart.add(visit.resource)
    return visit
