"""Composes the text of clinical notes from a chart and a visit.

Each note mentions the visit's coded conditions in its assessment and plan, lists the
history and medications, and carries pertinent negatives ("Denies chest pain") and family
history ("Family history of colon cancer in father") so computer-assisted coding has to
tell asserted, negated and family-history mentions apart.
"""

from __future__ import annotations

import random
from datetime import date, datetime

from ..model import Chart, Problem, Visit
from ..terminology import DISPOSITION
from .notephrases import EXAM, HPI, OPERATIVE, PLAN, ROS


def pronouns(sex: str) -> dict[str, str]:
    male = sex == "male"
    return {
        "he": "he" if male else "she",
        "He": "He" if male else "She",
        "his": "his" if male else "her",
        "His": "His" if male else "Her",
    }


def mdy(d: date | datetime) -> str:
    """MM/DD/YYYY, as US notes write dates (strftime is slow in this hot path)."""
    return f"{d.month:02d}/{d.day:02d}/{d.year}"


def header(title: str, chart: Chart, visit: Visit, author: str, when: datetime) -> list[str]:
    p = chart.person
    return [
        title.upper(),
        f"Patient: {p.display_name}    MRN: {p.mrn}    DOB: {mdy(p.birth_date)}",
        f"Date of service: {mdy(visit.start)}    Location: {visit.organization.name}",
        f"Author: {author}    Written: {mdy(when)} {when.hour:02d}:{when.minute:02d}",
        "",
    ]


def _fmt(value: tuple[float, str] | None, label: str, unit: str) -> str:
    if value is None:
        return f"{label} not checked today"
    flag = "" if value[1] == "N" else f" ({value[1]})"
    return f"{label} {value[0]} {unit}{flag}"


def plan_line(problem: Problem, visit: Visit) -> str:
    v, labs = visit.vitals, visit.labs
    fill = {
        "bp": f"{v.get('systolic', '--')}/{v.get('diastolic', '--')}",
        "bmi": v.get("bmi", "--"),
        "a1c": _fmt(labs.get("a1c"), "HbA1c", "%"),
        "creatinine": _fmt(labs.get("creatinine"), "creatinine", "mg/dL"),
        "ldl": _fmt(labs.get("ldl"), "LDL", "mg/dL"),
    }
    case = problem.detail.get("case")
    if case is not None:
        return (
            f"{case.histology} of the {case.site.organ}, {case.grade.lower()}. "
            "Reviewed pathology and treatment plan; follow up with oncology."
        )
    text = PLAN.get(problem.dx.key, "Stable. Continue current management.")
    return text.format(**fill)


def hpi(rng: random.Random, chart: Chart, visit: Visit) -> str:
    p = chart.person
    pr = pronouns(p.sex)
    age = p.age_at(visit.start)
    noun = (
        ("boy" if p.sex == "male" else "girl")
        if age < 18
        else ("man" if p.sex == "male" else "woman")
    )
    history = [q.dx.phrase for q in chart.chronic_problems(visit.start) if q not in visit.reasons][
        :5
    ]
    reason = visit.reasons[0] if visit.reasons else None
    article = "an" if age in (8, 11, 18) or 80 <= age <= 89 else "a"
    lead = f"{p.given[0]} {p.family} is {article} {age}-year-old {noun}"
    if history:
        lead += f" with a history of {', '.join(history)}"
    elif visit.kind not in ("followup", "oncology"):
        lead += " with no significant past medical history"
    if visit.kind == "wellness":
        return f"{lead} who presents for an annual preventive visit. {pr['He']} feels well."
    if visit.kind in ("followup", "oncology") and reason is not None:
        topics = " and ".join(q.dx.phrase for q in visit.reasons)
        return (
            f"{lead} who presents for follow-up of {topics}. {pr['He']} reports "
            "adherence to medications and no new concerns."
        )
    story = HPI.get(reason.dx.key, "{He} presents for evaluation.") if reason else ""
    return f"{lead} who presents for evaluation. " + story.format(n=rng.randint(2, 6), **pr)


def ros(visit: Visit, depressed: bool) -> list[str]:
    keys = {q.dx.key for q in [*visit.reasons, *visit.secondary]}
    lines = []
    for system, negative, positives in ROS:
        hit = bool(keys & positives) or (system == "Constitutional" and visit.febrile)
        lines.append(f"{system}: {'Positive as per HPI.' if hit else negative}")
    if depressed:
        lines.append("Psychiatric: Reports low mood at times; denies suicidal ideation.")
    else:
        lines.append("Psychiatric: Denies depressed mood or anxiety.")
    return lines


def exam(visit: Visit, chart: Chart) -> list[str]:
    keys = {q.dx.key for q in [*visit.reasons, *visit.secondary]}
    if chart.has("afib"):
        keys.add("afib")
    lines = []
    for system, normal, abnormal in EXAM:
        finding = next((text for key, text in abnormal.items() if key in keys), normal)
        lines.append(f"{system}: {finding}")
    return lines


def vitals_line(visit: Visit) -> str:
    v = visit.vitals
    if not v:
        return "Vital signs not recorded."
    return (
        f"BP {v['systolic']}/{v['diastolic']} mmHg, HR {v['hr']}, RR {v['rr']}, "
        f"Temp {v['temp']} C, SpO2 {v['spo2']}% on room air, Wt {v['weight']} kg, "
        f"BMI {v['bmi']}"
    )


def results(visit: Visit) -> str:
    if not visit.labs:
        return "No labs today."
    return "; ".join(
        f"{k.upper() if len(k) <= 4 else k.capitalize()} {val}{'' if flag == 'N' else f' ({flag})'}"
        for k, (val, flag) in visit.labs.items()
    )


def history_sections(chart: Chart, visit: Visit) -> list[str]:
    prof = chart.profile
    assert prof is not None
    pmh = [f"- {q.dx.phrase.capitalize()}" for q in chart.chronic_problems(visit.start)]
    meds = [f"- {rx.med.name}" for rx in chart.prescriptions if rx.start <= visit.start]
    allergies = ", ".join(prof.allergies) if prof.allergies else "No known drug allergies."
    smoking = {
        "current": "Current every-day smoker, about one pack per day.",
        "former": "Former smoker; quit more than 5 years ago.",
        "never": "Never smoker.",
    }[prof.smoking]
    family = [f"Family history of {cond} in {rel}." for rel, cond in prof.family_history]
    if not any("coronary" in cond for _, cond in prof.family_history):
        family.append("No family history of premature coronary artery disease.")
    return [
        "PAST MEDICAL HISTORY:",
        *(pmh or ["- None"]),
        "",
        "MEDICATIONS:",
        *(meds or ["- None"]),
        "",
        f"ALLERGIES: {allergies}",
        "",
        f"SOCIAL HISTORY: {smoking} {prof.alcohol.capitalize()}.",
        "",
        "FAMILY HISTORY: " + " ".join(family),
        "",
    ]


def assessment(visit: Visit, problems: list[Problem]) -> list[str]:
    lines = ["ASSESSMENT AND PLAN:"]
    for i, problem in enumerate(problems, start=1):
        lines.append(f"{i}. {problem.dx.phrase.capitalize()}: {plan_line(problem, visit)}")
    return lines


def disposition_text(visit: Visit) -> str:
    if visit.disposition == "exp":
        return (
            f"The patient expired on {visit.end:%m/%d/%Y} at {visit.end:%H:%M}. "
            "Family was at the bedside."
        )
    where = DISPOSITION[visit.disposition or "home"].display.lower()
    return f"Discharged to {where} in stable condition."


def operative_text(procedure: str) -> str:
    return OPERATIVE.format(procedure=procedure)
