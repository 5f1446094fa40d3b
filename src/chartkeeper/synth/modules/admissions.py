"""Hospital stays: when a patient is admitted, why, for how long, and what is done.

Owns inpatient (IMP) visit planning for the encounters module: principal and secondary
diagnoses (comorbidities carried onto the stay as coders would see them), the attending,
inpatient procedures with ICD-10-PCS codes, admit source and discharge disposition. A share
of deceased patients die in the hospital, on a stay that ends with disposition "expired".
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from ..catalog import INPATIENT, TERMINAL, Inpatient
from ..facility import HOSPITAL, Practitioner
from ..model import Chart, Problem, Visit
from ..module import ChartContext
from ..orders import PROCEDURES
from .visits import acute_problem, any_time, arrivals, plan_procedure

_MAJOR = ("hf", "copd", "ckd3a", "ckd3b", "ckd4", "cad", "t2dm", "t2dm_hyper", "t2dm_ckd")


def _rate(age: int, chart: Chart) -> float:
    base = 0.01 if age < 18 else 0.02 if age < 45 else 0.04 if age < 65 else 0.10
    major = sum(1 for p in chart.chronic_problems() if p.dx.key in _MAJOR)
    return min(base + 0.03 * major, 0.5)


def _eligible(chart: Chart, age: int, keys: tuple[str, ...] | None = None) -> list[Inpatient]:
    return [
        s
        for s in INPATIENT
        if age >= s.min_age
        and (not s.requires or chart.has(*s.requires))
        and (keys is None or s.key in keys)
    ]


def _principal(
    ctx: ChartContext, chart: Chart, spec: Inpatient, start: datetime, end: datetime
) -> Problem:
    for p in chart.chronic_problems():
        if p.dx.key == spec.principal:
            return p  # an elective stay for a known chronic problem (knee arthritis)
    return acute_problem(ctx, spec.principal, start, end)


def _secondary(
    ctx: ChartContext,
    chart: Chart,
    spec: Inpatient,
    principal: Problem,
    start: datetime,
    end: datetime,
) -> list[Problem]:
    rng = ctx.rng
    out = [acute_problem(ctx, key, start, end) for key, p in spec.secondary if rng.random() < p]
    comorbid = [p for p in chart.chronic_problems(start) if p is not principal]
    return out + comorbid[:8]


def _attending(ctx: ChartContext, spec: Inpatient) -> Practitioner:
    if spec.surgical and spec.procedures:
        return ctx.rng.choice(ctx.facility.by_specialty(PROCEDURES[spec.procedures[0]].specialty))
    return ctx.rng.choice(ctx.facility.by_specialty("hospitalist"))


def stay(
    ctx: ChartContext,
    chart: Chart,
    spec: Inpatient,
    when: datetime,
    dies_at: datetime | None = None,
) -> Visit:
    """One hospital stay of kind `spec` starting around `when` (ending at death if given)."""
    rng = ctx.rng
    elective = spec.key.startswith("tka")
    los = rng.randint(*spec.los)
    if dies_at is not None:
        start, end = dies_at - timedelta(days=los, hours=rng.randint(1, 12)), dies_at
    else:
        start = (
            datetime.combine(when.date(), time(6, rng.choice((0, 15, 30))))
            if elective
            else any_time(rng, when)
        )
        end = datetime.combine(
            start.date() + timedelta(days=los), time(rng.randint(10, 15), rng.randrange(60))
        )
    attending = _attending(ctx, spec)
    principal = _principal(ctx, chart, spec, start, end)
    v = Visit(
        ctx.new_id(),
        "IMP",
        "surgical" if spec.surgical else "admission",
        start,
        end,
        attending,
        ctx.facility.organizations[HOSPITAL],
        [principal],
    )
    v.secondary = _secondary(ctx, chart, spec, principal, start, end)
    v.admit_source = "outp" if elective else "emd"
    names, weights = zip(*spec.disposition, strict=True)
    v.disposition = "exp" if dies_at else rng.choices(names, weights=weights)[0]
    v.febrile, v.panels = spec.febrile, list(spec.panels)
    v.detail["inpatient"] = spec.key
    keys = list(spec.procedures)
    if any(p.dx.key == "resp_failure" for p in v.secondary):
        keys.append("intubation")
    for key in keys:
        proc = PROCEDURES[key]
        who = rng.choice(ctx.facility.by_specialty(proc.specialty)) if proc.specialty else attending
        v.procedures.append(plan_procedure(rng, v, key, who))
    return v


def plan(ctx: ChartContext, chart: Chart, start: datetime, end: datetime) -> list[Visit]:
    rng, person = ctx.rng, ctx.person
    stays: list[Visit] = []
    last_end = start
    for when in arrivals(rng, _rate(person.age_at(end), chart), start, end):
        specs = _eligible(chart, person.age_at(when))
        if when <= last_end or not specs:
            continue
        spec = rng.choices(specs, weights=[s.weight for s in specs])[0]
        v = stay(ctx, chart, spec, when)
        if v.end >= end:
            continue
        stays.append(v)
        last_end = v.end + timedelta(days=3)
    if person.deceased and person.deceased <= end and rng.random() < 0.5:
        specs = _eligible(chart, person.age_at(person.deceased), TERMINAL)
        if specs:
            v = stay(ctx, chart, rng.choice(specs), person.deceased, dies_at=person.deceased)
            stays = [s for s in stays if s.end < v.start] + [v]
    return stays
