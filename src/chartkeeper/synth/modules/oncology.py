"""Oncology: cancer cases (about 5% of patients) and benign colon polyps, with pathology.

Owns the neoplasm timeline: work-up finding, biopsy visit, pathology report (Specimen,
DiagnosticReport with category LP7839-6/PAT and a text presentedForm, and a pathology
DocumentReference), the cancer Problem, an oncology consult, resection with its own
pathology report, and follow-up visits. Each case is also emitted as ground truth on the
``cancer_cases`` side stream for registry casefinding tests.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from ..catalog import DX
from ..facility import HOSPITAL, Practitioner
from ..fhirutil import concept, dt, text_attachment
from ..model import Chart, Person, PlannedProc, Problem, Visit
from ..module import ChartContext, SynthModule
from ..orders import Proc
from ..terminology import NOTE_TYPE, PATHOLOGY_CATEGORY, snomed
from .documents import document_reference
from .pathology import (
    POLYPECTOMY,
    SITES,
    Case,
    Site,
    benign_polyp_case,
    draw_case,
    registry_truth,
)
from .pathreport import report_text
from .visits import acute_problem, add_visit, care_window, clinic_time

_TISSUE = snomed("119376003", "Tissue specimen (specimen)")


def _risk(age: int) -> float:
    # Diagnosed within the ~4-year window; tuned so about 5% of all patients have a case.
    return 0.004 if age < 30 else 0.035 if age < 50 else 0.12 if age < 65 else 0.17


def _pick_site(rng: random.Random, person: Person, age: int, smoker: bool) -> Site | None:
    sites = [s for s in SITES if age >= s.min_age and s.sex in (None, person.sex)]
    if not sites:
        return None
    weights = [s.weight * (3 if smoker and s.key.startswith("lung") else 1) for s in sites]
    return rng.choices(sites, weights=weights)[0]


def _clinic_visit(
    ctx: ChartContext,
    when: datetime,
    doc: Practitioner,
    reasons: list[Problem],
    kind: str,
    minutes: tuple[int, int],
) -> Visit:
    start = clinic_time(ctx.rng, when)
    return Visit(
        ctx.new_id(),
        "AMB",
        kind,
        start,
        start + timedelta(minutes=ctx.rng.randint(*minutes)),
        doc,
        ctx.facility.organizations[HOSPITAL],
        reasons,
    )


def _procedure_visit(
    ctx: ChartContext, when: datetime, proc: Proc, reasons: list[Problem]
) -> Visit:
    rng = ctx.rng
    doc = rng.choice(ctx.facility.by_specialty(proc.specialty))
    v = _clinic_visit(ctx, when, doc, reasons, "procedure", (60, 120))
    begin = v.start + timedelta(minutes=rng.randint(10, 25))
    v.procedures.append(
        PlannedProc(
            proc,
            begin,
            begin + timedelta(minutes=rng.randint(*proc.minutes)),
            doc,
            reasons[0] if reasons else None,
        )
    )
    return v


def _resection_stay(
    ctx: ChartContext, chart: Chart, when: datetime, site: Site, cancer: Problem
) -> Visit:
    rng = ctx.rng
    proc = site.resection
    surgeon = rng.choice(ctx.facility.by_specialty(proc.specialty))
    start = when.replace(hour=6, minute=rng.choice((0, 15, 30)), second=0)
    end = (start + timedelta(days=rng.randint(*site.los))).replace(hour=rng.randint(10, 15))
    v = Visit(
        ctx.new_id(),
        "IMP",
        "surgical",
        start,
        end,
        surgeon,
        ctx.facility.organizations[HOSPITAL],
        [cancer],
    )
    v.secondary = [p for p in chart.chronic_problems(start) if p is not cancer][:8]
    v.admit_source, v.disposition, v.panels = "outp", "home", ["cbc", "bmp"]
    begin = start + timedelta(hours=rng.randint(1, 3))
    v.procedures.append(
        PlannedProc(
            proc, begin, begin + timedelta(minutes=rng.randint(*proc.minutes)), surgeon, cancer
        )
    )
    return v


def _specimen(
    ctx: ChartContext, chart: Chart, planned: PlannedProc, organ: str, accession: str
) -> dict:
    return {
        "resourceType": "Specimen",
        "id": ctx.new_id(),
        "accessionIdentifier": {"value": accession},
        "status": "available",
        "type": concept(_TISSUE, text=f"{organ}, {planned.proc.name}"),
        "subject": {"reference": chart.patient_ref},
        "receivedTime": dt(planned.end),
        "collection": {
            "collector": {"reference": planned.performer.ref},
            "collectedDateTime": dt(planned.start),
            "bodySite": {"text": organ},
        },
    }


def _pathology(
    ctx: ChartContext, chart: Chart, visit: Visit, case: Case, *, resection: bool, history: str
) -> dict:
    """Specimen + pathology DiagnosticReport + DocumentReference for the visit's procedure."""
    rng = ctx.rng
    planned = visit.procedures[0]
    reported = (planned.end + timedelta(days=rng.randint(2, 5))).replace(
        hour=rng.randint(9, 17), minute=rng.randrange(60)
    )
    pathologist: Practitioner = ctx.facility.by_specialty("pathology")[0]
    accession = f"SP-{planned.start:%y}-{rng.randrange(1, 99999):05d}"
    text = report_text(
        rng,
        case,
        chart.person,
        resection=resection,
        procedure=planned.proc.name.split(" of ")[0],
        accession=accession,
        collected=planned.start,
        reported=reported,
        pathologist=pathologist,
        surgeon=planned.performer,
        history=history,
    )
    specimen_ref = chart.add(_specimen(ctx, chart, planned, case.site.organ, accession))
    report = {
        "resourceType": "DiagnosticReport",
        "id": ctx.new_id(),
        "status": "final",
        "category": [concept(*PATHOLOGY_CATEGORY, text="Pathology")],
        "code": concept(NOTE_TYPE["pathology"]),
        "subject": {"reference": chart.patient_ref},
        "encounter": {"reference": visit.ref},
        "effectiveDateTime": dt(planned.start),
        "issued": dt(reported),
        "performer": [{"reference": ctx.facility.organizations[HOSPITAL].ref}],
        "resultsInterpreter": [{"reference": pathologist.ref, "display": pathologist.display}],
        "specimen": [{"reference": specimen_ref}],
        "conclusion": f"{case.histology}, {case.site.organ}; {case.grade}.",
        "presentedForm": [text_attachment(text, "Surgical pathology report", reported)],
    }
    chart.add(report)
    doc = document_reference(ctx, chart, visit, "pathology", text, reported, pathologist)
    return {"diagnostic_report": report["id"], "document": doc["id"], "accession": accession}


def _history_line(person: Person, site: Site, age: int) -> str:
    who = f"{age}-year-old {'woman' if person.sex == 'female' else 'man'}"
    return {
        "abnormal_mammogram": f"{who} with an irregular mass on screening mammography, BI-RADS 4C.",
        "lung_nodule": f"{who} with a spiculated upper lobe nodule on CT of the chest.",
        "elevated_psa": f"{who} with a rising PSA, most recently 7.8 ng/mL.",
        "colon_screening": f"{who} undergoing screening colonoscopy; sigmoid lesion seen.",
    }[site.finding]


class Oncology(SynthModule):
    name = "oncology"

    def chart(self, ctx: ChartContext, person: Person, chart: Chart) -> None:
        start, end = care_window(person)
        if (end - start).days < 240 or chart.profile is None:
            return
        rng = ctx.person_rng
        age = person.age_at(end)
        if rng.random() < _risk(age):
            site = _pick_site(rng, person, age, chart.profile.smoking != "never")
            if site is not None:
                add_cancer_case(ctx, chart, site, draw_case(rng, site), start, end)
        elif 45 <= age <= 75 and rng.random() < 0.06:
            _benign_polyp(ctx, chart, start, end)


def _benign_polyp(ctx: ChartContext, chart: Chart, start: datetime, end: datetime) -> None:
    rng = ctx.rng
    when = start + timedelta(days=rng.randrange((end - start).days - 30))
    screening = Problem(ctx.new_id(), DX["colon_screening"], when, chronic=False)
    visit = _procedure_visit(ctx, when, POLYPECTOMY, [screening])
    screening.onset, screening.abated = visit.start, visit.end
    polyp = acute_problem(ctx, "colon_adenoma", visit.start, visit.end)
    visit.secondary.append(polyp)
    add_visit(chart, visit)
    _pathology(
        ctx,
        chart,
        visit,
        benign_polyp_case(),
        resection=False,
        history="Screening colonoscopy; 6 mm sessile polyp in the sigmoid colon.",
    )


def add_cancer_case(
    ctx: ChartContext, chart: Chart, site: Site, case: Case, start: datetime, end: datetime
) -> None:
    """Work-up, biopsy, pathology, consult, resection and follow-up of one cancer.

    The diagnosis falls between `start` and 200 days before `end`, which leaves room for
    treatment; plugin modules adding cases (with `draw_case`) call this too.
    """
    rng, person = ctx.rng, chart.person
    when = start + timedelta(days=rng.randrange(max(1, (end - start).days - 200)))
    finding = acute_problem(ctx, site.finding, when, when)
    biopsy = add_visit(chart, _procedure_visit(ctx, when, site.biopsy, [finding]))
    history = _history_line(person, site, person.age_at(when))
    dx_key = site.in_situ if case.behavior == "in situ" and site.in_situ else site.cancer
    cancer = Problem(
        ctx.new_id(), DX[dx_key], biopsy.procedures[0].start, chronic=True, detail={"case": case}
    )
    chart.problems.append(cancer)
    reports = [_pathology(ctx, chart, biopsy, case, resection=False, history=history)]
    surgeon = rng.choice(ctx.facility.by_specialty(site.resection.specialty))
    consult = add_visit(
        chart,
        _clinic_visit(
            ctx,
            biopsy.start + timedelta(days=rng.randint(9, 18)),
            surgeon,
            [cancer],
            "oncology",
            (30, 50),
        ),
    )
    last = consult.end
    if not case.metastatic:
        when = consult.start + timedelta(days=rng.randint(14, 35))
        surgery = (
            _resection_stay(ctx, chart, when, site, cancer)
            if site.resection_inpatient
            else _procedure_visit(ctx, when, site.resection, [cancer])
        )
        if surgery.end < end - timedelta(days=7):
            add_visit(chart, surgery)
            reports.append(_pathology(ctx, chart, surgery, case, resection=True, history=history))
            last = surgery.end
    _follow_ups(ctx, chart, cancer, case, last, end)
    ctx.emit(
        "cancer_cases",
        {
            "patient_id": person.patient_id,
            "mrn": person.mrn,
            "site": site.key,
            "icd10cm": cancer.dx.icd,
            "histology": case.histology,
            "behavior": case.behavior,
            "grade": case.grade,
            "diagnosis_date": biopsy.start.date().isoformat(),
            "reports": reports,
            "registry": registry_truth(case),
        },
    )


def _follow_ups(
    ctx: ChartContext, chart: Chart, cancer: Problem, case: Case, after: datetime, end: datetime
) -> None:
    rng, person = ctx.rng, chart.person
    oncologist = ctx.facility.by_specialty("oncology")[0]
    when = after + timedelta(days=rng.randint(21, 45))
    for _ in range(rng.randint(1, 4)):
        if when >= end - timedelta(days=1):
            return
        visit = add_visit(
            chart, _clinic_visit(ctx, when, oncologist, [cancer], "oncology", (20, 40))
        )
        if (
            case.site.key.startswith("breast")
            and "positive" in case.markers.split(";")[0]
            and person.age_at(visit.start) >= 50
            and not cancer.detail.get("orders")
        ):
            cancer.detail["orders"] = [("anastrozole", visit)]
        when += timedelta(days=rng.randint(80, 100))
