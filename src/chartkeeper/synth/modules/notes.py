"""Notes: the clinical documents of each visit, as signed DocumentReferences.

Owns progress notes (clinic visits, and day 2 of longer hospital stays), emergency
department notes, history and physicals, operative notes and discharge summaries. All are
written complete and signed; the `gaps` module then introduces realistic deficiencies
(unsigned, late, missing), so the two concerns stay separate.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..model import Chart, Person, Visit
from ..module import ChartContext, SynthModule
from . import notetext as t
from .documents import document_reference


def _depressed(chart: Chart) -> bool:
    return chart.has("depression")


def progress_note(
    ctx: ChartContext, chart: Chart, visit: Visit, when: datetime, title: str = "Progress note"
) -> str:
    author = visit.practitioner.display
    reasons = [*visit.reasons]
    if visit.kind == "wellness":
        reasons += chart.chronic_problems(visit.start)[:4]
    cc = visit.reasons[0].dx.phrase if visit.reasons else "follow-up"
    lines = t.header(title, chart, visit, author, when)
    lines += [
        f"CHIEF COMPLAINT: {cc.capitalize()}.",
        "",
        "HISTORY OF PRESENT ILLNESS:",
        t.hpi(ctx.rng, chart, visit),
        "",
    ]
    lines += t.history_sections(chart, visit)
    lines += [
        "REVIEW OF SYSTEMS:",
        *t.ros(visit, _depressed(chart)),
        "",
        f"VITAL SIGNS: {t.vitals_line(visit)}",
        "",
        "PHYSICAL EXAM:",
        *t.exam(visit, chart),
        "",
        f"RESULTS: {t.results(visit)}",
        "",
    ]
    lines += t.assessment(visit, [*reasons, *visit.secondary])
    lines += ["", f"Electronically signed by {author}"]
    return "\n".join(lines)


def discharge_summary(ctx: ChartContext, chart: Chart, visit: Visit, when: datetime) -> str:
    author = visit.practitioner.display
    principal = visit.reasons[0]
    procs = [f"- {p.proc.name} ({p.start:%m/%d/%Y})" for p in visit.procedures] or ["- None"]
    meds = [f"- {rx.med.name}" for rx in chart.prescriptions if rx.start <= visit.end]
    course = [t.plan_line(q, visit) for q in [*visit.reasons, *visit.secondary[:3]]]
    lines = t.header("Discharge summary", chart, visit, author, when)
    lines += [
        f"Admission date: {visit.start:%m/%d/%Y}    Discharge date: {visit.end:%m/%d/%Y}",
        f"Attending physician: {author}",
        "",
        f"PRINCIPAL DIAGNOSIS: {principal.dx.phrase.capitalize()}",
        "",
        "SECONDARY DIAGNOSES:",
        *([f"- {q.dx.phrase.capitalize()}" for q in visit.secondary] or ["- None"]),
        "",
        "PROCEDURES:",
        *procs,
        "",
        "HISTORY OF PRESENT ILLNESS:",
        t.hpi(ctx.rng, chart, visit),
        "",
        "HOSPITAL COURSE:",
        " ".join(course),
        "",
        f"DISPOSITION: {t.disposition_text(visit)}",
        "",
    ]
    if visit.disposition != "exp":
        lines += [
            "DISCHARGE MEDICATIONS:",
            *(meds or ["- None"]),
            "",
            "FOLLOW-UP: Primary care provider in 1 week. Return for fever, chest pain or "
            "shortness of breath.",
            "",
        ]
    lines.append(f"Electronically signed by {author}")
    return "\n".join(lines)


def operative_note(chart: Chart, visit: Visit, planned, when: datetime) -> str:
    surgeon = planned.performer.display
    dx = planned.reason.dx.phrase.capitalize() if planned.reason else "See H&P"
    lines = t.header("Operative note", chart, visit, surgeon, when)
    lines += [
        f"PREOPERATIVE DIAGNOSIS: {dx}",
        f"POSTOPERATIVE DIAGNOSIS: {dx}",
        f"PROCEDURE: {planned.proc.name.capitalize()}",
        f"SURGEON: {surgeon}",
        "ANESTHESIA: General endotracheal",
        "ESTIMATED BLOOD LOSS: Minimal",
        "COMPLICATIONS: None",
        "",
        "DESCRIPTION OF PROCEDURE:",
        t.operative_text(planned.proc.name),
        "",
        f"Electronically signed by {surgeon}",
    ]
    return "\n".join(lines)


def _inpatient(ctx: ChartContext, chart: Chart, visit: Visit) -> None:
    rng = ctx.rng
    doc = visit.practitioner
    hp_at = visit.start + timedelta(hours=rng.randint(1, 8), minutes=rng.randrange(60))
    document_reference(
        ctx,
        chart,
        visit,
        "hp",
        progress_note(ctx, chart, visit, hp_at, "History and physical"),
        hp_at,
        doc,
    )
    for planned in visit.procedures:
        if planned.proc.operative:
            at = planned.end + timedelta(minutes=rng.randint(10, 90))
            document_reference(
                ctx,
                chart,
                visit,
                "operative",
                operative_note(chart, visit, planned, at),
                at,
                planned.performer,
            )
    if (visit.end - visit.start).days >= 2:
        at = (visit.start + timedelta(days=1)).replace(hour=rng.randint(8, 11))
        document_reference(
            ctx,
            chart,
            visit,
            "progress",
            progress_note(ctx, chart, visit, at, "Hospital progress note"),
            at,
            doc,
        )
    ds_at = visit.end + timedelta(hours=rng.randint(1, 20))
    document_reference(
        ctx, chart, visit, "discharge", discharge_summary(ctx, chart, visit, ds_at), ds_at, doc
    )


class Notes(SynthModule):
    name = "notes"

    def chart(self, ctx: ChartContext, person: Person, chart: Chart) -> None:
        if chart.profile is None:
            return
        rng = ctx.rng
        for visit in chart.sorted_visits():
            if visit.klass == "IMP":
                _inpatient(ctx, chart, visit)
                continue
            at = visit.end + timedelta(minutes=rng.randint(5, 240))
            kind = "ed" if visit.klass == "EMER" else "progress"
            title = "Emergency department note" if kind == "ed" else "Progress note"
            document_reference(
                ctx,
                chart,
                visit,
                kind,
                progress_note(ctx, chart, visit, at, title),
                at,
                visit.practitioner,
            )
            for planned in visit.procedures:
                if planned.proc.operative:
                    op_at = planned.end + timedelta(minutes=rng.randint(10, 60))
                    document_reference(
                        ctx,
                        chart,
                        visit,
                        "operative",
                        operative_note(chart, visit, planned, op_at),
                        op_at,
                        planned.performer,
                    )
