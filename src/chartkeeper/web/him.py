"""HIM worklists: chart deficiencies, the duplicate-patient review (link and merge, or not
the same person), merge history with unmerge, release of information (log, validate,
fulfil with the packet PDF, deny), the accounting of disclosures, and amendment requests.
Thin views over `quality.deficiencies`, `quality.mpi`, `quality.merge`/`unmerge` and
`privacy.disclosures`/`amendments`, through the guarded store."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from chartkeeper.errors import BadRequest
from chartkeeper.privacy import amendments, disclosures
from chartkeeper.privacy.people import People, compare_identities, human_name, mrn_of
from chartkeeper.quality import deficiencies as dq
from chartkeeper.quality.merge import get_merge, merges_of
from chartkeeper.quality.mpi import decide, get_review, list_reviews
from chartkeeper.quality.unmerge import unmerge_patients

from .render import redirect, render, secure
from .session import check_csrf, current_session, require_work, store

router = APIRouter(prefix="/him", include_in_schema=False)


def _desk(request: Request):
    """The store for a desk's own worklist rows (ROI requests, amendments): the page's
    worklist check authorised the reader; records themselves go through `store`."""
    return request.app.state.repo


def _worker(request: Request, worklist: str):
    session = current_session(request)
    require_work(request, session.user, worklist)
    return session


# --- deficiencies ----------------------------------------------------------------------------


@router.get("/deficiencies")
def deficiencies(request: Request, status: str = "open", assignee: str = "") -> Response:
    _worker(request, "deficiencies")
    repo = store(request)
    found = dq.list_deficiencies(repo, status=status, assignee=assignee or None, limit=500)
    people = People(
        repo,
        [f"Patient/{d.patient_id}" for d in found]
        + [d.assignee for d in found]
        + [d.responsible for d in found],
    )
    rows = [
        {
            "d": d,
            "patient": people.patient(d.patient_id),
            "assignee": people.name(d.assignee),
            "age": d.age_days(),
        }
        for d in found
    ]
    summary = dq.report(repo)
    assignees = sorted(
        {(d.responsible, people.name(d.responsible)) for d in found if d.responsible},
        key=lambda x: x[1],
    )
    return render(
        request,
        "deficiencies.html",
        rows=rows,
        status=status,
        assignee=assignee,
        summary=summary,
        assignees=assignees,
    )


@router.get("/deficiencies/ageing.png")
def ageing_chart(request: Request) -> Response:
    _worker(request, "deficiencies")
    response = Response(dq.plot_ageing(store(request)), media_type="image/png")
    response.headers["Cache-Control"] = "no-store"
    return secure(response)


@router.post("/deficiencies/{deficiency_id}/assign")
async def assign(request: Request, deficiency_id: int) -> Response:
    session = _worker(request, "deficiencies")
    form = await check_csrf(request, session)
    assignee = str(form.get("assignee", "")).strip() or None
    dq.reassign(
        store(request),
        deficiency_id,
        assignee,
        by=session.user.username,
        reason=str(form.get("reason", "")),
    )
    return redirect("/him/deficiencies")


# --- master patient index --------------------------------------------------------------------


@router.get("/mpi")
def mpi_queue(request: Request, status: str = "open") -> Response:
    _worker(request, "patient-index")
    repo = store(request)
    items = list_reviews(repo, status=status, limit=200)
    people = People(repo, [r for i in items for r in (i.a, i.b)])
    rows = [{"item": i, "a": people.patient(i.a), "b": people.patient(i.b)} for i in items]
    return render(request, "mpi_queue.html", rows=rows, status=status)


@router.get("/mpi/{item_id}")
def mpi_review(request: Request, item_id: int) -> Response:
    _worker(request, "patient-index")
    repo = store(request)
    item = get_review(repo, item_id)
    people = People(repo, [item.a, item.b])
    fields = compare_identities(people.found.get(item.a), people.found.get(item.b))
    return render(
        request,
        "mpi_review.html",
        item=item,
        fields=fields,
        a=people.patient(item.a),
        b=people.patient(item.b),
        evidence=item.evidence,
    )


@router.post("/mpi/{item_id}/decision")
async def mpi_decide(request: Request, item_id: int) -> Response:
    """ "Same person": the two records merge into the chosen survivor, in the one transaction
    that records the verdict (`quality.mpi.decide`); "not the same": remembered, so later
    scans leave the pair alone."""
    session = _worker(request, "patient-index")
    form = await check_csrf(request, session)
    verdict, note = str(form.get("verdict", "")), str(form.get("note", "")).strip()
    survivor = str(form.get("survivor", "")) if verdict == "linked" else None
    decide(
        store(request),
        item_id,
        verdict,
        reviewer=session.user.username,
        note=note,
        survivor=survivor or None,
    )
    if verdict == "linked" and survivor:
        return redirect(f"/him/merges/{survivor.removeprefix('Patient/')}")
    return redirect("/him/mpi")


@router.get("/merges/{patient_id}")
def merge_history(request: Request, patient_id: str) -> Response:
    _worker(request, "patient-index")
    repo = store(request)
    with repo.reading() as tx:
        records = merges_of(tx, patient_id)
    people = People(
        repo,
        [f"Patient/{patient_id}"]
        + [f"Patient/{r.source_id}" for r in records]
        + [f"Patient/{r.survivor_id}" for r in records],
    )
    rows = [
        {"r": r, "source": people.patient(r.source_id), "survivor": people.patient(r.survivor_id)}
        for r in records
    ]
    return render(request, "merges.html", rows=rows, patient=people.patient(patient_id))


@router.post("/merges/{patient_id}/{merge_id}/unmerge")
async def unmerge(request: Request, patient_id: str, merge_id: int) -> Response:
    session = _worker(request, "patient-index")
    form = await check_csrf(request, session)
    reason = str(form.get("reason", "")).strip()
    if not reason:
        raise BadRequest("say why the merge is undone")
    with store(request).transaction() as tx:
        get_merge(tx, merge_id)  # NotFound before anything is undone
        unmerge_patients(tx, merge_id, reason=reason, by=session.user.username)
    return redirect(f"/him/merges/{patient_id}")


# --- release of information ------------------------------------------------------------------


@router.get("/roi")
def roi_list(request: Request, status: str = "") -> Response:
    _worker(request, "release-of-information")
    found = disclosures.list_requests(_desk(request), status=status or None)
    found.sort(key=lambda r: (r.status in ("fulfilled", "denied"), -r.id))
    people = People(store(request), [f"Patient/{r.patient_id}" for r in found])
    rows = [{"r": r, "patient": people.patient(r.patient_id)} for r in found]
    return render(request, "roi_list.html", rows=rows, status=status, purposes=disclosures.PURPOSES)


@router.get("/roi/new/{patient_id}")
def roi_new(request: Request, patient_id: str) -> Response:
    _worker(request, "release-of-information")
    repo = store(request)
    patient = repo.read("Patient", patient_id)
    docs = repo.search(
        "DocumentReference", [("patient", f"Patient/{patient_id}"), ("_count", "200")]
    ).resources
    # Consent has no patient search parameter in the store: the authorizations on file
    # offered are the patient's documents (a scanned, signed form is a DocumentReference).
    on_file = [
        (
            f"DocumentReference/{d['id']}",
            f"{((d.get('type') or {}).get('coding') or [{}])[0].get('display', 'Document')} {d.get('date', '')[:10]}",
        )
        for d in docs
    ]
    return render(
        request,
        "roi_new.html",
        patient={
            "id": patient_id,
            "name": human_name(patient),
            "mrn": mrn_of(patient),
            "birth": patient.get("birthDate", ""),
        },
        purposes=disclosures.PURPOSES,
        bases=disclosures.BASES,
        on_file=on_file,
    )


def _types(text: str) -> list[str]:
    return [t.strip() for t in text.replace(";", ",").split(",") if t.strip()]


@router.post("/roi/new/{patient_id}")
async def roi_log(request: Request, patient_id: str) -> Response:
    session = _worker(request, "release-of-information")
    form = await check_csrf(request, session)
    f = {k: str(v).strip() for k, v in form.items()}
    spec = {
        "patient": patient_id,
        "purpose": f.get("purpose", ""),
        "requester": {k: f.get(f"requester_{k}", "") for k in ("name", "organization", "address")},
        "authorization": {
            "reference": f.get("auth_reference", ""),
            "basis": f.get("auth_basis", "authorization"),
            "signed": f.get("auth_signed") or None,
            "expires": f.get("auth_expires") or None,
            "covers": {
                "types": _types(f.get("covers_types", "")),
                "start": f.get("covers_start") or None,
                "end": f.get("covers_end") or None,
            },
        },
        "asked": {
            "types": _types(f.get("asked_types", "")),
            "start": f.get("asked_start") or None,
            "end": f.get("asked_end") or None,
        },
    }
    made = disclosures.log_request(store(request), spec, by=session.user.username)
    return redirect(f"/him/roi/{made.id}")


@router.get("/roi/{request_id}")
def roi_one(request: Request, request_id: int) -> Response:
    _worker(request, "release-of-information")
    return _roi_page(request, request_id)


def _roi_page(request: Request, request_id: int, problems=(), status_code: int = 200) -> Response:
    req = disclosures.get_request(_desk(request), request_id)
    people = People(store(request), [f"Patient/{req.patient_id}"])
    return render(
        request,
        "roi_one.html",
        r=req,
        patient=people.patient(req.patient_id),
        purpose=disclosures.PURPOSES[req.purpose],
        problems=problems,
        status_code=status_code,
    )


def _disclosing(request: Request, request_id: int):
    purpose = disclosures.get_request(_desk(request), request_id).purpose
    return store(request, purpose=disclosures.PURPOSES[purpose].of_use)


@router.post("/roi/{request_id}/{action}")
async def roi_act(request: Request, request_id: int, action: str) -> Response:
    session = _worker(request, "release-of-information")
    form = await check_csrf(request, session)
    by = session.user.username
    if action == "validate":
        try:
            disclosures.validate_request(store(request), request_id, by=by)
        except disclosures.Refused as refused:
            # The request stays logged; show what to fix beside it, every problem at once.
            return _roi_page(request, request_id, refused.issues, 422)
    elif action == "deny":
        disclosures.deny_request(
            store(request), request_id, reason=str(form.get("reason", "")), by=by
        )
    elif action == "fulfil":
        disclosures.fulfil(
            _disclosing(request, request_id),
            request_id,
            by=by,
            out_dir=request.app.state.settings.data_dir / "roi",
            base_url=str(request.base_url).rstrip("/") + "/fhir",
        )
    else:
        raise BadRequest(f"unknown action {action!r}")
    return redirect(f"/him/roi/{request_id}")


@router.get("/roi/{request_id}/packet.pdf")
def roi_packet(request: Request, request_id: int) -> Response:
    _worker(request, "release-of-information")
    path = disclosures.packet_file(store(request), request_id, "pdf")
    return secure(
        FileResponse(path, media_type="application/pdf", filename=f"release-{request_id}.pdf")
    )


@router.get("/accounting/{patient_id}")
def accounting(request: Request, patient_id: str, include_exempt: bool = False) -> Response:
    _worker(request, "release-of-information")
    records = disclosures.accounting(_desk(request), patient_id, include_exempt=include_exempt)
    people = People(store(request), [f"Patient/{patient_id}"])
    return render(
        request,
        "accounting.html",
        records=records,
        patient=people.patient(patient_id),
        include_exempt=include_exempt,
    )


# --- amendments ------------------------------------------------------------------------------


@router.get("/amendments")
def amendment_list(request: Request, status: str = "requested") -> Response:
    _worker(request, "release-of-information")
    found = amendments.list_amendments(_desk(request), status=status or None)
    people = People(store(request), [f"Patient/{a.patient_id}" for a in found])
    rows = [{"a": a, "patient": people.patient(a.patient_id)} for a in found]
    return render(request, "amendments.html", rows=rows, status=status)


@router.post("/amendments/{amendment_id}/{action}")
async def amendment_act(request: Request, amendment_id: int, action: str) -> Response:
    session = _worker(request, "release-of-information")
    form = await check_csrf(request, session)
    by, reason = session.user.username, str(form.get("reason", ""))
    if action == "accept":
        amendments.accept(store(request), amendment_id, by=by)
    elif action == "deny":
        amendments.deny(store(request), amendment_id, reason=reason, by=by)
    elif action == "extend":
        amendments.extend(store(request), amendment_id, reason=reason, by=by)
    else:
        raise BadRequest(f"unknown action {action!r}")
    return redirect("/him/amendments")
