"""Procedures: emits a Procedure for every procedure planned on a visit.

Owns the Procedure resources. Codes are SNOMED CT and, for hospital stays, ICD-10-PCS as a
second coding (what an inpatient coder assigns); outpatient procedures carry no PCS code.
Short procedures get performedDateTime, longer ones performedPeriod.
"""

from __future__ import annotations

from ..fhirutil import coding, dt
from ..model import Chart, Person, PlannedProc, Visit
from ..module import ChartContext, SynthModule
from ..terminology import PRIMARY_PERFORMER


def procedure_resource(pid: str, planned: PlannedProc, visit: Visit, patient_ref: str) -> dict:
    proc = planned.proc
    codes = [c for c in (proc.snomed, proc.pcs if visit.klass == "IMP" else None) if c]
    res: dict = {
        "resourceType": "Procedure",
        "id": pid,
        "status": "completed",
        "code": {"coding": [coding(c) for c in codes], "text": proc.name},
        "subject": {"reference": patient_ref},
        "encounter": {"reference": visit.ref},
    }
    if (planned.end - planned.start).total_seconds() > 1800:
        res["performedPeriod"] = {"start": dt(planned.start), "end": dt(planned.end)}
    else:
        res["performedDateTime"] = dt(planned.start)
    res["performer"] = [
        {
            "function": {"coding": [coding(PRIMARY_PERFORMER)]},
            "actor": {"reference": planned.performer.ref, "display": planned.performer.display},
        }
    ]
    if planned.reason is not None and planned.reason.resource is not None:
        res["reasonReference"] = [{"reference": f"urn:uuid:{planned.reason.resource['id']}"}]
    return res


class Procedures(SynthModule):
    name = "procedures"

    def chart(self, ctx: ChartContext, person: Person, chart: Chart) -> None:
        for visit in chart.sorted_visits():
            for planned in visit.procedures:
                if planned.resource is None and (planned.proc.snomed or planned.proc.pcs):
                    planned.resource = procedure_resource(
                        ctx.new_id(), planned, visit, chart.patient_ref
                    )
                    chart.add(planned.resource)
