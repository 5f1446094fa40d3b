"""The file room's screens, under /fileroom: the chart locator (scan a volume's barcode,
or type an MRN, to see where each paper chart is and where it has been; the overdue list
beside it), the indexing queue (thumbnails of scanned pages nobody could file, each
assigned to a patient and document type), and retention and legal holds (records past
retention, holds by patient and by case, placing and releasing a case hold).

Thin views over `chartkeeper.paper` (the same functions the /paper API and `chartkeeper
paper` call), through the guarded store, so every chart, page and hold read or written is
audited. Who may work here is `policy.WORKLISTS["paper-records"]`. The API owns /paper;
the screens live at /fileroom.
"""

from __future__ import annotations

import re
from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response

from chartkeeper.errors import BadRequest, NotFound
from chartkeeper.paper import indexing, retention, scanning, tracking
from chartkeeper.privacy.people import People

from .render import redirect, render, secure
from .session import check_csrf, current_session, require_work, store

router = APIRouter(prefix="/fileroom", include_in_schema=False)

WORKLIST = "paper-records"
BARCODE = re.compile(r"^V[0-9A-F]{10}-\d{2}$")


def _clerk(request: Request):
    session = current_session(request)
    require_work(request, session.user, WORKLIST)
    return session


def _patients_for(repo, q: str) -> list[str]:
    """Patient ids for what was typed: an MRN (any identifier) first, else an id."""
    found = repo.search("Patient", [("identifier", q), ("_count", "20")]).resources
    if found:
        return [p["id"] for p in found]
    try:
        return [repo.read("Patient", q)["id"]]
    except (NotFound, BadRequest):
        return []


@router.get("")
def locator(request: Request, q: str = "") -> Response:
    """The chart locator: a barcode shows that volume and its custody; an MRN or patient id
    shows every volume of that patient and where it is."""
    _clerk(request)
    repo = store(request)
    q = q.strip()
    volume, volumes, message = None, [], ""
    if q and BARCODE.match(q.upper()):
        volume = tracking.history(repo, q)
    elif q:
        for pid in _patients_for(repo, q):
            volumes.extend(tracking.volumes(repo, pid))
        if not volumes:
            message = f"No paper chart found for “{q}”."
    overdue = tracking.overdue(repo, today=date.today())
    shown = [v["patient_id"] for v in [*volumes, *overdue]] + (
        [volume["patient_id"]] if volume else []
    )
    people = People(repo, [f"Patient/{p}" for p in shown])
    return render(
        request,
        "paper/locator.html",
        q=q,
        volume=volume,
        volumes=volumes,
        overdue=overdue,
        message=message,
        patient=people.patient,
    )


@router.get("/queue")
def queue(request: Request, assigned: str = "") -> Response:
    _clerk(request)
    pages = indexing.queue(store(request))
    return render(
        request,
        "paper/queue.html",
        pages=pages,
        types=scanning.DOCUMENT_TYPES,
        assigned=assigned,
    )


@router.get("/pages/{page_id}.png")
def page_image(request: Request, page_id: int) -> Response:
    _clerk(request)
    return secure(Response(indexing.page_image(store(request), page_id), media_type="image/png"))


@router.post("/queue/assign")
async def assign(request: Request) -> Response:
    session = _clerk(request)
    form = await check_csrf(request, session)
    try:
        pages = [int(p) for p in form.getlist("page")]
    except ValueError:
        raise BadRequest("page numbers must be whole numbers") from None
    patient = str(form.get("patient") or "").strip()
    if not patient:
        raise BadRequest("choose the patient these pages belong to")
    repo = store(request)
    pids = _patients_for(repo, patient)
    if len(pids) != 1:
        raise NotFound(f"no single patient with MRN or id “{patient}”")
    doc = indexing.assign(
        repo,
        pages,
        patient_id=pids[0],
        doc_type=str(form.get("type") or ""),
        encounter_id=str(form.get("encounter") or "").strip() or None,
        by=session.user.username,
    )
    return redirect(f"/fileroom/queue?assigned={doc['id']}")


@router.get("/retention")
def retention_page(request: Request) -> Response:
    _clerk(request)
    repo = store(request)
    holds = retention.holds(repo)
    past = retention.eligible(repo, as_of=date.today())
    people = People(repo, [f"Patient/{h['patient_id']}" for h in holds])
    cases: dict[str, list[dict]] = {}
    for hold in holds:
        cases.setdefault(hold["case_ref"] or "", []).append(hold)
    return render(
        request,
        "paper/retention.html",
        cases=cases,
        past=past,
        patient=people.patient,
        today=date.today().isoformat(),
    )


@router.post("/holds/case")
async def hold_case(request: Request) -> Response:
    session = _clerk(request)
    form = await check_csrf(request, session)
    repo = store(request)
    typed = [p.strip() for p in re.split(r"[,\s]+", str(form.get("patients") or "")) if p.strip()]
    ids = []
    for value in typed:
        found = _patients_for(repo, value)
        if len(found) != 1:
            raise NotFound(f"no single patient with MRN or id “{value}”")
        ids.extend(found)
    retention.hold_case(
        repo,
        str(form.get("case") or ""),
        ids,
        reason=str(form.get("reason") or ""),
        by=session.user.username,
    )
    return redirect("/fileroom/retention")


@router.post("/holds/case/release")
async def release_case(request: Request) -> Response:
    session = _clerk(request)
    form = await check_csrf(request, session)
    retention.release_case(
        store(request),
        str(form.get("case") or ""),
        reason=str(form.get("reason") or ""),
        by=session.user.username,
    )
    return redirect("/fileroom/retention")
