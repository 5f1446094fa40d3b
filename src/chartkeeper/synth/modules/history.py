"""History: the person's health profile and chronic problems, before any visit exists.

Owns `Chart.profile` (primary care provider, smoking, body size, baseline vitals, allergies,
family history) and the chronic `Problem`s with their onset dates. Facts about the human are
drawn from `ctx.person_rng`, so every registration of the same person agrees on them.
Nothing is emitted as FHIR here; later modules turn problems into Conditions.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from ..catalog import CHRONIC, DX, Chronic
from ..model import HISTORY_END, Chart, Person, Problem, Profile
from ..module import ChartContext, SynthModule

ALLERGIES = (
    "penicillin (hives)",
    "sulfa drugs (rash)",
    "codeine (nausea and vomiting)",
    "shellfish (anaphylaxis)",
    "latex (contact dermatitis)",
    "amoxicillin (rash)",
)
FAMILY_HISTORY = (
    ("father", "coronary artery disease"),
    ("mother", "type 2 diabetes mellitus"),
    ("mother", "breast cancer"),
    ("father", "colon cancer"),
    ("sister", "breast cancer"),
    ("father", "prostate cancer"),
    ("mother", "hypertension"),
    ("brother", "lung cancer"),
    ("mother", "stroke"),
    ("maternal grandmother", "ovarian cancer"),
)
ALCOHOL = (
    "denies alcohol use",
    "drinks socially, 1-2 drinks per week",
    "drinks 1 glass of wine most evenings",
    "quit drinking alcohol several years ago",
)


def _band(age: int) -> int:
    return 0 if age < 18 else 1 if age < 40 else 2 if age < 65 else 3


def _smoking(rng: random.Random, age: int) -> str:
    if age < 15:
        return "never"
    r = rng.random()
    former = 0.30 if age >= 65 else 0.18
    return "current" if r < 0.13 else "former" if r < 0.13 + former else "never"


def _odds(spec: Chronic, person: Person, age: int, smoking: str, keys: set[str]) -> float:
    p = spec.prevalence[_band(age)]
    if spec.sex and spec.sex != person.sex:
        p *= 0.3
    if spec.key == "copd":
        p *= 3.0 if smoking != "never" else 0.3
    for other, factor in spec.boosted_by:
        if other in keys:
            p *= factor
    return min(p, 0.9)


def _variant(rng: random.Random, key: str, keys: set[str]) -> str:
    if key == "t2dm":
        if "ckd" in keys:
            return "t2dm_ckd"
        return "t2dm_hyper" if rng.random() < 0.35 else "t2dm"
    if key == "ckd":
        return rng.choices(("ckd3a", "ckd3b", "ckd4"), weights=(0.55, 0.3, 0.15))[0]
    if key == "oa":
        return rng.choices(("oa_right", "oa_left", "oa_both"), weights=(0.35, 0.3, 0.35))[0]
    return key


def _onset(rng: random.Random, person: Person, latest: datetime) -> datetime:
    earliest = datetime.combine(person.birth_date, datetime.min.time()) + timedelta(days=400)
    span = max(1, min((latest - earliest).days, 15 * 365))
    when = latest - timedelta(days=rng.randrange(span))
    return when.replace(hour=0, minute=0, second=0)


def _profile(ctx: ChartContext, person: Person, age: int) -> Profile:
    rng = ctx.person_rng
    smoking = _smoking(rng, age)
    # Adult height; children grow into it (see observations), their BMI runs lower.
    height = rng.gauss(176, 7) if person.sex == "male" else rng.gauss(162, 6.5)
    if age >= 18:
        bmi = min(max(rng.gauss(28.5, 5.5), 17.0), 55.0)
    else:
        bmi = min(max(rng.gauss(17.5 + 0.2 * age, 2.5), 13.5), 35.0)
    systolic = (
        112 + 0.35 * max(0, age - 30) + rng.gauss(0, 7) if age >= 18 else 100 + rng.gauss(0, 6)
    )
    diastolic = 72 + rng.gauss(0, 5) if age >= 18 else 62 + rng.gauss(0, 4)
    heart_rate = rng.gauss(74, 8) if age >= 18 else 105 - 2 * age + rng.gauss(0, 6)
    allergies = [] if rng.random() < 0.75 else rng.sample(ALLERGIES, rng.choice((1, 1, 2)))
    family = rng.sample(FAMILY_HISTORY, rng.choice((0, 1, 1, 2, 2, 3)))
    clinic_staff = (
        ctx.facility.by_specialty("pediatrics") if age < 18 else ctx.facility.primary_care
    )
    return Profile(
        pcp=ctx.rng.choice(clinic_staff),
        smoking=smoking,
        height_cm=round(height, 1),
        bmi=bmi,
        systolic=systolic,
        diastolic=diastolic,
        heart_rate=heart_rate,
        allergies=allergies,
        family_history=family,
        alcohol=rng.choice(ALCOHOL) if age >= 18 else "denies alcohol use",
    )


def _chronic_keys(rng: random.Random, person: Person, age: int, profile: Profile) -> list[str]:
    keys: set[str] = set()
    chosen: list[str] = []
    for spec in CHRONIC:
        if rng.random() < _odds(spec, person, age, profile.smoking, keys):
            keys.add(spec.key)
            chosen.append(spec.key)
    dx_keys = [_variant(rng, k, keys) for k in chosen]
    if age >= 18 and profile.bmi >= 30:
        dx_keys.append("obesity3" if profile.bmi >= 40 else "obesity")
        if "t2dm" not in keys and age >= 35 and rng.random() < 0.25:
            dx_keys.append("prediabetes")
    if profile.smoking == "current":
        dx_keys.append("smoker")
    elif profile.smoking == "former":
        dx_keys.append("former_smoker")
    return dx_keys


class History(SynthModule):
    name = "history"

    def chart(self, ctx: ChartContext, person: Person, chart: Chart) -> None:
        age = person.age_at(HISTORY_END)
        chart.profile = _profile(ctx, person, age)
        rng = ctx.person_rng
        latest = min(HISTORY_END, person.deceased or HISTORY_END) - timedelta(days=30)
        for key in _chronic_keys(rng, person, age, chart.profile):
            chart.problems.append(
                Problem(ctx.new_id(), DX[key], _onset(rng, person, latest), chronic=True)
            )
        if chart.patient is not None:
            pcp = chart.profile.pcp
            chart.patient["generalPractitioner"] = [{"reference": pcp.ref, "display": pcp.display}]
