"""Conditions: turns problems into FHIR Conditions and links them to encounters.

Owns two kinds of Condition: one problem-list item per chronic problem, recorded at the
first visit on or after its onset, and one encounter diagnosis per (visit, problem) coded
for that visit (reason first, then secondary diagnoses). It also fills
`Encounter.diagnosis` with rank 1 for the principal/first-listed diagnosis.
"""

from __future__ import annotations

from ..fhirutil import concept, dt
from ..model import Chart, Person, Problem, Visit
from ..module import ChartContext, SynthModule
from ..terminology import (
    COND_CLINICAL,
    COND_VERIFICATION,
    DIAGNOSIS_ROLE,
    ENCOUNTER_DX,
    PROBLEM_LIST,
    Code,
)

_ACTIVE = Code(COND_CLINICAL, "active", "Active")
_RESOLVED = Code(COND_CLINICAL, "resolved", "Resolved")
_CONFIRMED = Code(COND_VERIFICATION, "confirmed", "Confirmed")
_ROLE = {
    "AMB": Code(DIAGNOSIS_ROLE, "billing", "Billing"),
    "EMER": Code(DIAGNOSIS_ROLE, "DD", "Discharge diagnosis"),
    "IMP": Code(DIAGNOSIS_ROLE, "DD", "Discharge diagnosis"),
}


def condition_resource(
    cid: str, problem: Problem, category: Code, visit: Visit, patient_ref: str
) -> dict:
    resolved = problem.abated is not None and not problem.chronic
    res: dict = {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": concept(_RESOLVED if resolved else _ACTIVE),
        "verificationStatus": concept(_CONFIRMED),
        "category": [concept(category)],
        "code": concept(problem.dx.code),
        "subject": {"reference": patient_ref},
        "encounter": {"reference": visit.ref},
        "onsetDateTime": dt(problem.onset),
    }
    if resolved:
        res["abatementDateTime"] = dt(problem.abated)
    res["recordedDate"] = dt(visit.start)
    res["recorder"] = {"reference": visit.practitioner.ref, "display": visit.practitioner.display}
    return res


def _problem_list(ctx: ChartContext, chart: Chart, visits: list[Visit]) -> None:
    for problem in chart.problems:
        if not problem.chronic or problem.resource is not None:
            continue
        first = next((v for v in visits if v.start >= problem.onset), None)
        if first is None:
            continue  # onset after the last visit: nobody has recorded it yet
        problem.detail["recorded_visit"] = first
        problem.resource = condition_resource(
            problem.id, problem, PROBLEM_LIST, first, chart.patient_ref
        )
        chart.add(problem.resource)


def _encounter_diagnoses(ctx: ChartContext, chart: Chart, visit: Visit) -> None:
    diagnosis = []
    for rank, problem in enumerate([*visit.reasons, *visit.secondary], start=1):
        if problem.chronic:
            cid = ctx.new_id()
        elif problem.resource is None:
            cid = problem.id  # an acute episode is the encounter diagnosis itself
        else:
            continue
        res = condition_resource(cid, problem, ENCOUNTER_DX, visit, chart.patient_ref)
        if not problem.chronic:
            problem.resource = res
        chart.add(res)
        diagnosis.append(
            {
                "condition": {"reference": f"urn:uuid:{cid}"},
                "use": concept(_ROLE[visit.klass]),
                "rank": rank,
            }
        )
    if diagnosis and visit.resource is not None:
        visit.resource["diagnosis"] = diagnosis


class Conditions(SynthModule):
    name = "conditions"

    def chart(self, ctx: ChartContext, person: Person, chart: Chart) -> None:
        visits = chart.sorted_visits()
        _problem_list(ctx, chart, visits)
        for visit in visits:
            _encounter_diagnoses(ctx, chart, visit)
