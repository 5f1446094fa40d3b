"""Vitals and labs: vital-sign Observations at every visit, lab panels with DiagnosticReports.

Owns the Observation (vital-signs and laboratory) and lab DiagnosticReport resources, and
fills `Visit.vitals` / `Visit.labs` so notes can quote the numbers. Values follow the
patient's profile and problems (a diabetic's HbA1c is high, CKD raises creatinine, a febrile
visit has a fever and a raised white count); flags come from the reference ranges.
"""

from __future__ import annotations

import random
from datetime import timedelta
from functools import cache
from itertools import pairwise

from ..facility import HOSPITAL
from ..fhirutil import concept, dt, quantity
from ..measures import BP_PANEL, DIASTOLIC, LABS, PANELS, SYSTOLIC, VITALS, Measure
from ..model import Chart, Person, Visit
from ..module import ChartContext, SynthModule
from ..terminology import INTERPRETATIONS, LAB_SECTION, LABORATORY, VITAL_SIGNS
from .labvalues import lab_value

_GROWTH = ((2, 0.50), (5, 0.62), (10, 0.78), (14, 0.92), (17, 1.0))


def _height(target: float, age: int) -> float:
    if age >= 17:
        return target
    for (a0, f0), (a1, f1) in pairwise(_GROWTH):
        if age <= a1:
            frac = f0 + (f1 - f0) * (max(age, a0) - a0) / (a1 - a0)
            return target * frac
    return target


def vitals_for(rng: random.Random, chart: Chart, visit: Visit) -> dict[str, float]:
    assert chart.profile is not None
    prof, person = chart.profile, chart.person
    age = person.age_at(visit.start)
    height = _height(prof.height_cm, age)
    weight = prof.bmi * (height / 100) ** 2 * rng.uniform(0.97, 1.03)
    htn = chart.has("htn") and rng.random() < 0.6
    sick = visit.klass != "AMB" or visit.febrile
    keys = {p.dx.key for p in [*visit.reasons, *visit.secondary]}
    low_o2 = bool(keys & {"pneumonia", "resp_failure", "copd_exac", "hf_acute"})
    out = {
        "height": round(height, 1),
        "weight": round(weight, 1),
        "hr": round(prof.heart_rate + rng.gauss(0, 5) + (14 if sick else 0)),
        "rr": round((16 if age >= 12 else 24) + rng.gauss(0, 1.5) + (4 if low_o2 else 0)),
        "temp": round(rng.uniform(38.1, 39.4) if visit.febrile else rng.uniform(36.4, 37.2), 1),
        "spo2": round(
            rng.uniform(86, 91)
            if low_o2
            else rng.uniform(91, 95)
            if chart.has("copd")
            else rng.uniform(96, 99.5)
        ),
        "systolic": round(prof.systolic + (16 if htn else 0) + rng.gauss(0, 7)),
        "diastolic": round(prof.diastolic + (8 if htn else 0) + rng.gauss(0, 5)),
    }
    out["bmi"] = round(out["weight"] / (out["height"] / 100) ** 2, 1)
    return out


# Shared, never-mutated pieces: building them once per resource was a fifth of the run
# time at a million patients. Subject and encounter references are shared per visit,
# which is harmless since every resource of a visit points at the same two targets.
_VITAL_CATEGORY = [concept(VITAL_SIGNS)]
_LAB_CATEGORY = [concept(LABORATORY)]
_INTERPRETATION = {flag: [concept(code)] for flag, code in INTERPRETATIONS.items()}
_ALL = ("hr", "rr", "temp", "spo2", "weight", "height", "bmi")
# Height (and so BMI) is measured at well visits, admissions and for children, not at
# every sick visit, as in real ambulatory records.
_SHORT = ("hr", "rr", "temp", "spo2", "weight")


def _emit_vitals(ctx: ChartContext, chart: Chart, visit: Visit, full: bool) -> None:
    vitals = visit.vitals = vitals_for(ctx.rng, chart, visit)
    when = dt(visit.start + timedelta(minutes=ctx.rng.randint(2, 12)))
    subject, encounter = {"reference": chart.patient_ref}, {"reference": visit.ref}
    new_id, add = ctx.new_id, chart.add
    for key in _ALL if full else _SHORT:
        m = VITALS[key]
        add(
            {
                "resourceType": "Observation",
                "id": new_id(),
                "status": "final",
                "category": _VITAL_CATEGORY,
                "code": concept(m.code),
                "subject": subject,
                "encounter": encounter,
                "effectiveDateTime": when,
                "valueQuantity": quantity(vitals[key], m.unit),
            }
        )
    add(
        {
            "resourceType": "Observation",
            "id": new_id(),
            "status": "final",
            "category": _VITAL_CATEGORY,
            "code": concept(BP_PANEL),
            "subject": subject,
            "encounter": encounter,
            "effectiveDateTime": when,
            "component": [
                {
                    "code": concept(SYSTOLIC),
                    "valueQuantity": quantity(vitals["systolic"], "mm[Hg]"),
                },
                {
                    "code": concept(DIASTOLIC),
                    "valueQuantity": quantity(vitals["diastolic"], "mm[Hg]"),
                },
            ],
        }
    )


@cache
def _reference_range(key: str, sex: str) -> list[dict]:
    m = LABS[key]
    low, high = m.range_for(sex)
    ref_range: dict = {}
    if low is not None:
        ref_range["low"] = quantity(low, m.unit)
    if high is not None:
        ref_range["high"] = quantity(high, m.unit)
    return [ref_range]


def _flag(m: Measure, value: float, sex: str) -> str:
    low, high = m.range_for(sex)
    if m.critical_low is not None and value < m.critical_low:
        return "LL"
    if m.critical_high is not None and value > m.critical_high:
        return "HH"
    if low is not None and value < low:
        return "L"
    if high is not None and value > high:
        return "H"
    return "N"


def _emit_panel(ctx: ChartContext, chart: Chart, visit: Visit, panel_key: str) -> None:
    rng = ctx.rng
    panel = PANELS[panel_key]
    drawn_at = visit.start + timedelta(minutes=rng.randint(10, 50))
    drawn, resulted = dt(drawn_at), dt(drawn_at + timedelta(minutes=rng.randint(40, 360)))
    subject, encounter = {"reference": chart.patient_ref}, {"reference": visit.ref}
    sex = chart.person.sex
    refs = []
    for key in panel.tests:
        m = LABS[key]
        value = round(lab_value(rng, key, chart, visit), m.decimals)
        value = int(value) if m.decimals == 0 else value
        flag = _flag(m, value, sex)
        visit.labs[key] = (value, flag)
        obs = {
            "resourceType": "Observation",
            "id": ctx.new_id(),
            "status": "final",
            "category": _LAB_CATEGORY,
            "code": concept(m.code),
            "subject": subject,
            "encounter": encounter,
            "effectiveDateTime": drawn,
            "issued": resulted,
            "valueQuantity": quantity(value, m.unit),
            "interpretation": _INTERPRETATION[flag],
            "referenceRange": _reference_range(key, sex),
        }
        refs.append({"reference": chart.add(obs)})
    chart.add(
        {
            "resourceType": "DiagnosticReport",
            "id": ctx.new_id(),
            "status": "final",
            "category": [concept(LAB_SECTION)],
            "code": concept(panel.code),
            "subject": {"reference": chart.patient_ref},
            "encounter": {"reference": visit.ref},
            "effectiveDateTime": drawn,
            "issued": resulted,
            "performer": [{"reference": ctx.facility.organizations[HOSPITAL].ref}],
            "result": refs,
        }
    )


class VitalsAndLabs(SynthModule):
    name = "vitals_labs"

    def chart(self, ctx: ChartContext, person: Person, chart: Chart) -> None:
        if chart.profile is None:
            return
        for i, visit in enumerate(chart.sorted_visits()):
            full = (
                i == 0
                or visit.kind in ("wellness", "admission", "surgical")
                or person.age_at(visit.start) < 18
            )
            _emit_vitals(ctx, chart, visit, full)
            for panel_key in visit.panels:
                _emit_panel(ctx, chart, visit, panel_key)
