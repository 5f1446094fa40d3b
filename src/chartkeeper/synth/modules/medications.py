"""Medications: RxNorm MedicationRequests for chronic problems.

Owns `Chart.prescriptions` and the MedicationRequest resources. A drug is ordered at the
visit where its problem was recorded, with the problem-list Condition as reason. Orders of
patients who died are "stopped"; others stay "active". `prescribe` is public so other
modules can order drugs the same way, or list ``(med key, visit)`` pairs in
``problem.detail["orders"]`` for this module to order (oncology's endocrine therapy does).
"""

from __future__ import annotations

from ..fhirutil import concept, dt, quantity
from ..model import Chart, Person, Prescription, Problem, Visit
from ..module import ChartContext, SynthModule
from ..orders import MEDS, Med
from ..terminology import MED_CATEGORY, Code

_COMMUNITY = Code(MED_CATEGORY, "community", "Community")

# Dx key -> candidate drugs with the chance each is on the list.
REGIMENS: dict[str, tuple[tuple[str, float], ...]] = {
    "htn": (("lisinopril", 0.7), ("amlodipine", 0.4), ("hctz", 0.25)),
    "t2dm": (("metformin", 0.85),),
    "t2dm_hyper": (("metformin", 0.95),),
    "t2dm_ckd": (("metformin", 0.5),),
    "hld": (("atorvastatin", 0.75),),
    "cad": (("aspirin", 0.9), ("atorvastatin", 0.8)),
    "hf": (("furosemide", 0.9), ("metoprolol", 0.8)),
    "afib": (("apixaban", 0.85), ("metoprolol", 0.6)),
    "asthma": (("albuterol", 0.95),),
    "copd": (("albuterol", 0.95),),
    "hypothyroid": (("levothyroxine", 0.95),),
    "depression": (("sertraline", 0.6),),
    "anxiety": (("sertraline", 0.5),),
    "gerd": (("omeprazole", 0.6),),
}


def _dosage(med: Med) -> dict:
    dosage: dict = {"sequence": 1, "text": med.sig}
    if med.per_day:
        dosage["timing"] = {"repeat": {"frequency": med.per_day, "period": 1, "periodUnit": "d"}}
        dosage["doseAndRate"] = [
            {"doseQuantity": quantity(1, med.dose_unit, "{" + med.dose_unit + "}")}
        ]
    else:
        dosage["asNeededBoolean"] = True
    return dosage


def prescribe(
    ctx: ChartContext, chart: Chart, med: Med, visit: Visit, reason: Problem | None
) -> Prescription:
    """Order `med` at `visit` (authored at the visit start) and record the prescription."""
    res: dict = {
        "resourceType": "MedicationRequest",
        "id": ctx.new_id(),
        "status": "stopped" if ctx.person.deceased else "active",
        "intent": "order",
        "category": [concept(_COMMUNITY)],
        "medicationCodeableConcept": concept(med.code),
        "subject": {"reference": chart.patient_ref},
        "encounter": {"reference": visit.ref},
        "authoredOn": dt(visit.start),
        "requester": {"reference": visit.practitioner.ref, "display": visit.practitioner.display},
    }
    if reason is not None and reason.resource is not None:
        res["reasonReference"] = [{"reference": reason.ref}]
    res["dosageInstruction"] = [_dosage(med)]
    res["dispenseRequest"] = {
        "numberOfRepeatsAllowed": 3,
        "expectedSupplyDuration": quantity(90, "days", "d"),
    }
    rx = Prescription(med, visit.start, reason, res)
    chart.prescriptions.append(rx)
    chart.add(res)
    return rx


class Medications(SynthModule):
    name = "medications"

    def chart(self, ctx: ChartContext, person: Person, chart: Chart) -> None:
        ordered: set[str] = {rx.med.key for rx in chart.prescriptions}
        for problem in chart.chronic_problems():
            visit = problem.detail.get("recorded_visit")
            if visit is None:
                continue
            for key, chance in REGIMENS.get(problem.dx.key, ()):
                if key not in ordered and ctx.person_rng.random() < chance:
                    ordered.add(key)
                    prescribe(ctx, chart, MEDS[key], visit, problem)
        # Other modules ask for specific orders through problem.detail["orders"].
        for problem in chart.problems:
            for key, visit in problem.detail.get("orders", ()):
                if key not in ordered:
                    ordered.add(key)
                    prescribe(ctx, chart, MEDS[key], visit, problem)
