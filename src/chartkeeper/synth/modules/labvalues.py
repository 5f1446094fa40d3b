"""Plausible laboratory values given who the patient is and why they are being seen."""

from __future__ import annotations

import random

from ..model import Chart, Visit


def _visit_keys(visit: Visit) -> set[str]:
    return {p.dx.key for p in [*visit.reasons, *visit.secondary]}


def _clip(x: float, lo: float, hi: float) -> float:
    return min(max(x, lo), hi)


def _glucose_a1c(rng: random.Random, key: str, chart: Chart) -> float:
    uncontrolled = chart.has("t2dm_hyper")
    diabetic = uncontrolled or chart.has("t2dm", "t2dm_ckd")
    if key == "a1c":
        if uncontrolled:
            return rng.uniform(8.2, 11.5)
        if diabetic:
            return rng.uniform(6.3, 7.9)
        return rng.uniform(5.7, 6.4) if chart.has("prediabetes") else rng.uniform(4.6, 5.6)
    if diabetic:
        return _clip(rng.gauss(185 if uncontrolled else 140, 35), 70, 480)
    return rng.gauss(106, 6) if chart.has("prediabetes") else rng.gauss(90, 8)


def _kidney(rng: random.Random, key: str, chart: Chart, visit: Visit) -> float:
    person = chart.person
    age = person.age_at(visit.start)
    if chart.has("ckd4"):
        cr = rng.uniform(2.5, 3.8)
    elif chart.has("ckd3b", "t2dm_ckd"):
        cr = rng.uniform(1.7, 2.4)
    elif chart.has("ckd3a"):
        cr = rng.uniform(1.3, 1.7)
    elif age < 14:
        cr = rng.uniform(0.3, 0.6)
    else:
        cr = rng.gauss(0.95, 0.13) if person.sex == "male" else rng.gauss(0.78, 0.11)
    if "aki" in _visit_keys(visit):
        cr *= rng.uniform(1.6, 2.5)
    if key == "creatinine":
        return cr
    return _clip(cr * 13 + rng.gauss(0, 3), 5, 90)  # BUN tracks creatinine


def _blood(rng: random.Random, key: str, chart: Chart, visit: Visit) -> float:
    keys = _visit_keys(visit)
    if key == "hgb":
        if "gi_bleed" in keys:
            return rng.uniform(6.6, 9.4)
        if chart.has("anemia", "ckd3b", "ckd4"):
            return rng.uniform(9.2, 11.6)
        return rng.gauss(14.8, 0.9) if chart.person.sex == "male" else rng.gauss(13.3, 0.8)
    if key == "wbc":
        if visit.febrile or keys & {"sepsis", "pneumonia", "appendicitis", "cholecystitis"}:
            return rng.uniform(11.5, 19.5)
        return _clip(rng.gauss(7.2, 1.5), 3.8, 11.5)
    return _clip(rng.gauss(255, 50), 120, 450)


def _chemistry(rng: random.Random, key: str, chart: Chart, visit: Visit) -> float:
    if key == "sodium":
        if "hyponatremia" in _visit_keys(visit):
            return rng.uniform(123, 131)
        return _clip(rng.gauss(139.5, 1.8), 134, 146)
    if key == "potassium":
        ckd = chart.has("ckd3a", "ckd3b", "ckd4", "t2dm_ckd")
        return _clip(rng.gauss(4.8 if ckd else 4.2, 0.35), 3.2, 6.0)
    if key == "chloride":
        return _clip(rng.gauss(102, 2.3), 95, 110)
    return _clip(rng.gauss(25, 1.8), 19, 31)  # total CO2


def _lipids(rng: random.Random, key: str, chart: Chart, visit: Visit) -> float:
    values = visit.detail.get("lipids")
    if values is None:  # drawn once per visit so LDL agrees with the Friedewald formula
        high = chart.has("hld")
        chol = rng.gauss(228 if high else 182, 22)
        hdl = _clip(rng.gauss(50, 10), 25, 95)
        tg = _clip(rng.gauss(170 if high else 120, 45), 40, 600)
        values = {"chol": chol, "hdl": hdl, "tg": tg, "ldl": max(chol - hdl - tg / 5, 30)}
        visit.detail["lipids"] = values
    return values[key]


def lab_value(rng: random.Random, key: str, chart: Chart, visit: Visit) -> float:
    if key in ("glucose", "a1c"):
        return _glucose_a1c(rng, key, chart)
    if key in ("creatinine", "bun"):
        return _kidney(rng, key, chart, visit)
    if key in ("hgb", "wbc", "plt"):
        return _blood(rng, key, chart, visit)
    if key in ("chol", "hdl", "tg", "ldl"):
        return _lipids(rng, key, chart, visit)
    return _chemistry(rng, key, chart, visit)
