"""Encounters: schedules the routine care of the history window and emits the Encounters.

Owns well visits, chronic follow-ups, acute sick visits, emergency department visits and
hospital stays (the latter planned in `admissions`). Acute problems seen at a visit are
created here as `Problem`s; chronic ones come from `history`. Visits that would fall inside a
hospital stay are dropped, and nothing is scheduled after death.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..catalog import ACUTE, CHRONIC, DX, Acute
from ..facility import CLINIC, HOSPITAL, Practitioner
from ..model import Chart, Person, Problem, Visit
from ..module import ChartContext, SynthModule
from . import admissions
from .visits import (
    acute_problem,
    add_visit,
    any_time,
    arrivals,
    care_window,
    clinic_time,
    plan_procedure,
)

# Problems worth a follow-up visit of their own (others ride along at well visits).
_FOLLOWED = {c.key for c in CHRONIC} - {"allergic_rhinitis", "vitd", "adhd", "oa"} | {
    "t2dm_hyper",
    "t2dm_ckd",
    "ckd3a",
    "ckd3b",
    "ckd4",
}
_PANELS = {c.key: c.panels for c in CHRONIC}
_PANELS.update(
    {
        "t2dm_hyper": _PANELS["t2dm"],
        "t2dm_ckd": _PANELS["t2dm"],
        "ckd3a": _PANELS["ckd"],
        "ckd3b": _PANELS["ckd"],
        "ckd4": _PANELS["ckd"],
    }
)


def _clinician(ctx: ChartContext, chart: Chart) -> Practitioner:
    assert chart.profile is not None
    if ctx.rng.random() < 0.85:
        return chart.profile.pcp
    return ctx.rng.choice(ctx.facility.primary_care)


def _office_visit(
    ctx: ChartContext, chart: Chart, kind: str, when: datetime, reasons: list[Problem]
) -> Visit:
    rng = ctx.rng
    start = clinic_time(rng, when)
    minutes = {"wellness": (30, 45), "followup": (15, 30)}.get(kind, (15, 25))
    return Visit(
        ctx.new_id(),
        "AMB",
        kind,
        start,
        start + timedelta(minutes=rng.randint(*minutes)),
        _clinician(ctx, chart),
        ctx.facility.organizations[CLINIC],
        reasons,
    )


def _wellness(ctx: ChartContext, chart: Chart, start: datetime, end: datetime) -> list[Visit]:
    rng, person = ctx.rng, ctx.person
    visits = []
    for year in range(start.year, end.year + 1):
        when = datetime(year, 1, 1) + timedelta(days=rng.randrange(365))
        if not start <= when < end or rng.random() > (0.8 if person.age_at(when) < 18 else 0.7):
            continue
        age = person.age_at(when)
        dx_key = (
            "exam_child" if age < 18 else rng.choice(("exam_adult",) * 8 + ("exam_adult_abn",) * 2)
        )
        exam = Problem(ctx.new_id(), DX[dx_key], when, chronic=False)
        v = _office_visit(ctx, chart, "wellness", when, [exam])
        exam.onset, exam.abated = v.start, v.end  # a visit reason, over when the visit is
        if age >= 18:
            v.panels = [
                p
                for p, share in (("bmp", 0.5), ("cbc", 0.4), ("lipid", 0.3))
                if rng.random() < share
            ]
        if person.sex == "female" and 50 <= age <= 74 and rng.random() < 0.5:
            v.procedures.append(plan_procedure(rng, v, "screening_mammo", v.practitioner))
        visits.append(v)
    return visits


def _followups(ctx: ChartContext, chart: Chart, start: datetime, end: datetime) -> list[Visit]:
    rng = ctx.rng
    followed = [p for p in chart.chronic_problems() if p.dx.key in _FOLLOWED]
    visits = []
    for when in arrivals(rng, min(3.0, 0.6 * len(followed)), start, end):
        active = [p for p in followed if p.onset <= when]
        if not active:
            continue
        reasons = rng.sample(active, min(len(active), rng.randint(1, 3)))
        v = _office_visit(ctx, chart, "followup", when, reasons)
        v.panels = sorted(
            {pn for p in reasons for pn in _PANELS.get(p.dx.key, ()) if rng.random() < 0.7}
        )
        visits.append(v)
    return visits


def _eligible(specs: tuple[Acute, ...], person: Person, age: int) -> list[Acute]:
    return [
        a for a in specs if a.min_age <= age <= a.max_age and (a.sex is None or a.sex == person.sex)
    ]


def _acute(
    ctx: ChartContext, chart: Chart, start: datetime, end: datetime, setting: str, per_year: float
) -> list[Visit]:
    rng, person = ctx.rng, ctx.person
    visits = []
    specs = tuple(a for a in ACUTE if a.setting == setting)
    for when in arrivals(rng, per_year, start, end):
        choices = _eligible(specs, person, person.age_at(when))
        if not choices:
            continue
        spec = rng.choices(choices, weights=[a.weight for a in choices])[0]
        if setting == "AMB":
            v = _office_visit(ctx, chart, "acute", when, [])
        else:
            v = _ed_visit(ctx, when)
        v.reasons = [acute_problem(ctx, spec.key, v.start, v.end)]
        v.febrile, v.panels = spec.febrile, list(spec.panels)
        v.procedures = [plan_procedure(rng, v, key, v.practitioner) for key in spec.procedures]
        visits.append(v)
    return visits


def _ed_visit(ctx: ChartContext, when: datetime) -> Visit:
    rng = ctx.rng
    start = any_time(rng, when)
    end = start + timedelta(minutes=rng.randint(120, 480))
    doc = rng.choice(ctx.facility.by_specialty("emergency"))
    return Visit(
        ctx.new_id(), "EMER", "ed", start, end, doc, ctx.facility.organizations[HOSPITAL], []
    )


def _drop_overlaps(visits: list[Visit]) -> list[Visit]:
    """Hospital stays win: no clinic or ED visit while the patient is admitted."""
    stays = [(v.start - timedelta(hours=12), v.end) for v in visits if v.klass == "IMP"]
    kept = []
    for v in sorted(visits, key=lambda v: v.start):
        if v.klass != "IMP" and any(a <= v.start <= b for a, b in stays):
            continue
        kept.append(v)
    return kept


class Encounters(SynthModule):
    name = "encounters"

    def chart(self, ctx: ChartContext, person: Person, chart: Chart) -> None:
        start, end = care_window(person)
        if start >= end or chart.profile is None:
            return
        age = person.age_at(end)
        chronic = len(chart.chronic_problems())
        planned = _wellness(ctx, chart, start, end)
        planned += _followups(ctx, chart, start, end)
        planned += _acute(ctx, chart, start, end, "AMB", 0.7 if age < 18 else 0.35)
        planned += _acute(ctx, chart, start, end, "EMER", min(0.35, 0.10 + 0.03 * chronic))
        planned += admissions.plan(ctx, chart, start, end)
        for visit in _drop_overlaps(planned):
            add_visit(chart, visit)
