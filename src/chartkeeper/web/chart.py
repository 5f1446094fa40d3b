"""The chart view: find a patient (by name, birth date or MRN, sent by POST so nothing
identifying lands in a URL or a log), then demographics, encounters, problems, medications,
results with trend plots, and documents, all read through the guarded store. Records with a
sensitivity label the role may not see are filtered out by the store itself; break-the-glass
(with a stated reason) opens them for a while, and is audited as such."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from chartkeeper.coding.cac import note_text
from chartkeeper.coding.workflow import USER_SYSTEM
from chartkeeper.errors import BadRequest
from chartkeeper.fhir import results as fhir_results
from chartkeeper.fhir.results import LOINC, clinical_time, concept
from chartkeeper.privacy import policy
from chartkeeper.privacy.access import break_glass
from chartkeeper.privacy.people import People, human_name, mrn_of, ref_id

from .plots import trend_png
from .render import redirect, render, secure
from .session import check_csrf, client_address, current_session, store

router = APIRouter(prefix="/chart", include_in_schema=False)


def _require_charts(request: Request):
    session = current_session(request)
    policy.check(session.user, "search", "Patient")
    return session


@router.get("")
def search_form(request: Request) -> Response:
    _require_charts(request)
    return render(request, "chart_search.html", query=None, results=None)


@router.post("/search")
async def search(request: Request) -> Response:
    session = _require_charts(request)
    form = await check_csrf(request, session)
    query = {k: str(form.get(k, "")).strip() for k in ("name", "birthdate", "mrn")}
    params = [("_count", "50")]
    if query["name"]:
        params.append(("name", query["name"]))
    if query["birthdate"]:
        params.append(("birthdate", query["birthdate"]))
    if query["mrn"]:
        params.append(("identifier", query["mrn"]))
    if len(params) == 1:
        raise BadRequest("Give a name, a birth date or an MRN to search for.")
    page = store(request).search("Patient", params)
    results = [
        {
            "id": p["id"],
            "name": human_name(p),
            "mrn": mrn_of(p),
            "birth": p.get("birthDate", ""),
            "gender": p.get("gender", ""),
            "merged": any(link.get("type") == "replaced-by" for link in p.get("link", [])),
        }
        for p in page.resources
    ]
    results.sort(key=lambda r: (r["merged"], r["name"]))
    return render(request, "chart_search.html", query=query, results=results, total=page.total)


def _by_patient(repo, rtype: str, patient_id: str, count: int = 500) -> list[dict]:
    return repo.search(
        rtype, [("patient", f"Patient/{patient_id}"), ("_count", str(count))]
    ).resources


@router.get("/{patient_id}")
def chart(request: Request, patient_id: str) -> Response:
    session = _require_charts(request)
    repo = store(request)
    patient = repo.read("Patient", patient_id)
    encounters = sorted(_by_patient(repo, "Encounter", patient_id), key=clinical_time, reverse=True)
    conditions = sorted(_by_patient(repo, "Condition", patient_id), key=clinical_time, reverse=True)
    meds = sorted(
        _by_patient(repo, "MedicationRequest", patient_id), key=clinical_time, reverse=True
    )
    observations = _by_patient(repo, "Observation", patient_id, 1000)
    documents = sorted(
        _by_patient(repo, "DocumentReference", patient_id), key=clinical_time, reverse=True
    )
    people = People(repo, [p.get("reference") for p in patient.get("generalPractitioner", [])])
    results = fhir_results.result_series(observations)
    notes = [
        {
            "id": d["id"],
            "title": concept(d.get("type"))[2] or "Document",
            "date": d.get("date", ""),
            "status": d.get("docStatus", ""),
            "signed": bool(d.get("authenticator")) and d.get("docStatus") != "preliminary",
            "text": note_text(d),
            "encounter": ref_id(
                ((d.get("context") or {}).get("encounter") or [{}])[0].get("reference")
            ),
        }
        for d in documents
    ]
    return render(
        request,
        "chart.html",
        patient=patient,
        name=human_name(patient),
        mrn=mrn_of(patient),
        gp=[
            people.name(p.get("reference")) or p.get("display", "")
            for p in patient.get("generalPractitioner", [])
        ],
        encounters=[_encounter_row(e) for e in encounters],
        conditions=[
            {
                "code": concept(c.get("code")),
                "status": concept(c.get("clinicalStatus"))[1],
                "when": clinical_time(c),
            }
            for c in conditions
        ],
        meds=[
            {
                "what": concept(m.get("medicationCodeableConcept"))[2]
                or (m.get("medicationReference") or {}).get("display", ""),
                "status": m.get("status", ""),
                "when": clinical_time(m),
            }
            for m in meds
        ],
        results=results,
        notes=notes,
        may_break_glass=bool(policy.hidden_labels_for(session.user.role)),
        may_sign=policy.allows(session.user, "write", "DocumentReference"),
        may_index=session.user.role in policy.WORKLISTS["patient-index"],
        may_release=session.user.role in policy.WORKLISTS["release-of-information"],
        may_audit=policy.allows(session.user, "search", "AuditEvent"),
    )


def _encounter_row(e: dict) -> dict:
    period = e.get("period") or {}
    return {
        "id": e["id"],
        "class": (e.get("class") or {}).get("display") or (e.get("class") or {}).get("code", ""),
        "type": concept((e.get("type") or [{}])[0])[2],
        "start": period.get("start", ""),
        "end": period.get("end", ""),
        "status": e.get("status", ""),
        "reason": concept((e.get("reasonCode") or [{}])[0])[2],
    }


@router.get("/{patient_id}/trend/{code}.png")
def trend_plot(request: Request, patient_id: str, code: str) -> Response:
    _require_charts(request)
    found = (
        store(request)
        .search(
            "Observation",
            [("patient", f"Patient/{patient_id}"), ("code", f"{LOINC}|{code}"), ("_count", "1000")],
        )
        .resources
    )
    found_trend = fhir_results.trend(found, code)
    if not found_trend["points"]:
        raise BadRequest("no numeric results to plot")
    png = trend_png(
        found_trend["title"],
        found_trend["unit"],
        found_trend["points"],
        found_trend["low"],
        found_trend["high"],
    )
    response = Response(png, media_type="image/png")
    response.headers["Cache-Control"] = "no-store"
    return secure(response)


@router.post("/{patient_id}/break-glass")
async def open_in_emergency(request: Request, patient_id: str) -> Response:
    session = _require_charts(request)
    form = await check_csrf(request, session)
    store(request).read("Patient", patient_id)  # the patient must exist; audited
    break_glass(
        request.app.state.repo.engine,
        request.app.state.audit_key,
        session.user,
        patient_id,
        str(form.get("reason", "")),
        minutes=request.app.state.settings.break_glass_minutes,
        source=client_address(request),
    )
    return redirect(f"/chart/{patient_id}")


@router.post("/{patient_id}/documents/{document_id}/sign")
async def sign_note(request: Request, patient_id: str, document_id: str) -> Response:
    """Authenticate a note: the signer becomes its authenticator and the note final. The
    store's write hook re-checks the chart, so a deficiency for the unsigned note closes."""
    session = _require_charts(request)
    await check_csrf(request, session)
    repo = store(request)
    with repo.transaction() as tx:
        doc = tx.read("DocumentReference", document_id)
        signer = {
            "identifier": {"system": USER_SYSTEM, "value": session.user.username},
            "display": session.user.username,
        }
        doc = {**doc, "authenticator": signer, "docStatus": "final"}
        version = int(doc["meta"]["versionId"])
        tx.update(doc, if_match=version)
    return redirect(f"/chart/{patient_id}#doc-{document_id}")
