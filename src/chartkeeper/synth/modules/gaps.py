"""Documentation gaps: the chart deficiencies an HIM department chases.

Owns deliberate imperfections of the documents the notes module wrote: unsigned notes
(many more among recent ones, as in a real backlog), discharge summaries dictated late or
not yet at all, and hospital stays without a history and physical. Every gap is emitted on
the ``documentation_gaps`` side stream so deficiency tracking can be tested against truth.
Pathology reports are never touched: they are signed by the lab system.
"""

from __future__ import annotations

from datetime import timedelta

from ..fhirutil import dt
from ..model import AS_OF, Chart, Person, Visit
from ..module import ChartContext, SynthModule
from .documents import redate, unsign


def _kind(doc: dict) -> str:
    return doc["type"]["coding"][0]["code"]


class DocumentationGaps(SynthModule):
    name = "gaps"

    def __init__(
        self,
        unsigned: float = 0.05,
        unsigned_recent: float = 0.45,
        late_discharge: float = 0.08,
        missing_hp: float = 0.04,
    ):
        self.unsigned = unsigned
        self.unsigned_recent = unsigned_recent
        self.late_discharge = late_discharge
        self.missing_hp = missing_hp

    def chart(self, ctx: ChartContext, person: Person, chart: Chart) -> None:
        for visit in chart.sorted_visits():
            if visit.klass == "IMP":
                self._inpatient(ctx, chart, visit)
            self._signatures(ctx, chart, visit)

    def _gap(
        self,
        ctx: ChartContext,
        chart: Chart,
        visit: Visit,
        kind: str,
        doc: dict | None = None,
        **detail: object,
    ) -> None:
        ctx.emit(
            "documentation_gaps",
            {
                "patient_id": chart.person.patient_id,
                "mrn": chart.person.mrn,
                "encounter_id": visit.id,
                "document_id": doc["id"] if doc else None,
                "gap": kind,
                **detail,
            },
        )

    def _signatures(self, ctx: ChartContext, chart: Chart, visit: Visit) -> None:
        rng = ctx.rng
        for doc in visit.documents:
            if _kind(doc) == "11526-1" or doc["docStatus"] != "final":
                continue
            written = doc["date"]
            recent = visit.end >= AS_OF - timedelta(days=21)
            if rng.random() < (self.unsigned_recent if recent else self.unsigned):
                unsign(doc)
                self._gap(ctx, chart, visit, "unsigned", doc, written=written)

    def _inpatient(self, ctx: ChartContext, chart: Chart, visit: Visit) -> None:
        rng = ctx.rng
        docs = {_kind(d): d for d in visit.documents}
        hp, ds = docs.get("34117-2"), docs.get("18842-5")
        if hp is not None and rng.random() < self.missing_hp:
            self._drop(chart, visit, hp)
            self._gap(ctx, chart, visit, "missing_history_and_physical")
        if ds is None:
            return
        if visit.end >= AS_OF - timedelta(days=30) and rng.random() < 0.3:
            self._drop(chart, visit, ds)  # recent discharge, not dictated yet
            self._gap(ctx, chart, visit, "missing_discharge_summary")
        elif rng.random() < self.late_discharge:
            when = visit.end + timedelta(days=rng.randint(3, 45), hours=rng.randint(1, 9))
            if when >= AS_OF:
                self._drop(chart, visit, ds)
                self._gap(ctx, chart, visit, "missing_discharge_summary")
            else:
                redate(ds, when)
                self._gap(
                    ctx,
                    chart,
                    visit,
                    "late_discharge_summary",
                    ds,
                    written=dt(when),
                    days_after_discharge=(when - visit.end).days,
                )

    def _drop(self, chart: Chart, visit: Visit, doc: dict) -> None:
        visit.documents = [d for d in visit.documents if d is not doc]
        chart.remove(doc)
