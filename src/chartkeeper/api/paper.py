"""Paper records over HTTP, under /paper: thin routes over `chartkeeper.paper`.

Who may use it (`policy.WORKLISTS["paper-records"]`): HIM and admin; any other role gets
403, audited. Everything goes through the guarded store (`store(request)`) and is audited
in the same transaction (`store.paper`). Destruction is a dry run unless the body says
`"execute": true`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from chartkeeper.errors import BadRequest
from chartkeeper.paper import indexing, retention, scanning, tracking
from chartkeeper.privacy.users import User

from .auth import store, works
from .bodies import json_object

router = APIRouter(prefix="/paper", tags=["paper records"])
FileRoom = Annotated[User, Depends(works("paper-records"))]


def _day(value: object, name: str) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise BadRequest(f"'{name}' must be a date, YYYY-MM-DD") from None


def _texts(body: dict, name: str) -> list[str]:
    value = body.get(name)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"'{name}' (a list of text) is required in the body")
    return value


def _day_or_none(body: dict, name: str) -> date | None:
    return None if body.get(name) is None else _day(body[name], name)


def _text(body: dict, name: str, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"'{name}' (text) is required in the body")
    return value


@router.get("/retention", summary="Records past retention (eligible unless held)")
def eligible(
    request: Request, _user: FileRoom, as_of: str | None = None, jurisdiction: str | None = None
) -> list[dict]:
    day = _day(as_of, "as_of")
    found = retention.eligible(store(request), as_of=day, jurisdiction=jurisdiction)
    return [g.as_json() for g in found]


@router.post("/destruction", summary="Destroy records past retention (dry run by default)")
async def destroy(request: Request, user: FileRoom) -> dict:
    body = await json_object(request)
    execute = body.get("execute", False)
    if not isinstance(execute, bool):
        raise BadRequest("'execute' must be true or false")
    return retention.destroy(
        store(request),
        by=user.username,
        method=_text(body, "method"),
        as_of=_day(body.get("as_of"), "as_of"),
        dry_run=not execute,
        jurisdiction=_text(body, "jurisdiction", required=False),
    ).as_json()


@router.get("/destruction", summary="Destruction certificates")
def certificates(request: Request, _user: FileRoom) -> list[dict]:
    return retention.certificates(store(request))


@router.get("/destruction/{number}", summary="One destruction certificate")
def certificate(request: Request, _user: FileRoom, number: int) -> dict:
    return retention.certificate(store(request), number)


@router.get("/holds", summary="Legal holds (of one case with ?case=)")
def holds(
    request: Request, _user: FileRoom, all: bool = False, case: str | None = None
) -> list[dict]:
    return retention.holds(store(request), active_only=not all, case_ref=case)


@router.post("/holds/cases", summary="Place a legal hold by case on the patients it names",
             status_code=201)  # fmt: skip
async def hold_case(request: Request, user: FileRoom) -> list[dict]:
    body = await json_object(request)
    return retention.hold_case(
        store(request),
        _text(body, "case"),
        _texts(body, "patients"),
        reason=_text(body, "reason"),
        by=user.username,
    )


@router.post("/holds/cases/{case}/release", summary="Release every hold of a case")
async def release_case(request: Request, user: FileRoom, case: str) -> list[dict]:
    body = await json_object(request)
    return retention.release_case(
        store(request), case, reason=_text(body, "reason"), by=user.username
    )


@router.post("/holds", summary="Place a legal hold on a patient", status_code=201)
async def place_hold(request: Request, user: FileRoom) -> dict:
    body = await json_object(request)
    return retention.place_hold(
        store(request),
        _text(body, "patient"),
        reason=_text(body, "reason"),
        by=user.username,
        case_ref=_text(body, "case", required=False),
    )


@router.post("/holds/{hold_id}/release", summary="Release a legal hold")
async def release_hold(request: Request, user: FileRoom, hold_id: int) -> dict:
    body = await json_object(request)
    return retention.release_hold(
        store(request), hold_id, reason=_text(body, "reason"), by=user.username
    )


# --- chart tracking ---------------------------------------------------------------------


def _due(body: dict) -> date:
    if body.get("due") is None:
        raise BadRequest("'due' (YYYY-MM-DD) is required in the body")
    return _day(body["due"], "due")


@router.post("/volumes", summary="Start a paper chart volume for a patient", status_code=201)
async def new_volume(request: Request, user: FileRoom) -> dict:
    body = await json_object(request)
    return tracking.create_volume(
        store(request), _text(body, "patient"), location=_text(body, "location"), by=user.username
    )


@router.get("/volumes", summary="A patient's chart volumes")
def patient_volumes(request: Request, _user: FileRoom, patient: str) -> list[dict]:
    return tracking.volumes(store(request), patient)


@router.get("/volumes/overdue", summary="Chart volumes out past their due date")
def overdue(request: Request, _user: FileRoom, today: str | None = None) -> list[dict]:
    return tracking.overdue(store(request), today=_day(today, "today"))


@router.get("/volumes/pull-list", summary="Charts to pull for a clinic day's appointments")
def pull_list(request: Request, _user: FileRoom, day: str) -> list[dict]:
    return tracking.pull_list(store(request), _day(day, "day"))


@router.get("/volumes/{barcode}", summary="A volume and its custody history")
def volume_history(request: Request, _user: FileRoom, barcode: str) -> dict:
    return tracking.history(store(request), barcode)


@router.get("/volumes/{barcode}/label", summary="The volume's barcode label (PDF)")
def volume_label(request: Request, _user: FileRoom, barcode: str) -> Response:
    pdf = tracking.label_pdf(store(request), [barcode])
    return Response(pdf, media_type="application/pdf")


@router.post("/volumes/{barcode}/{action}", summary="check-out, transfer or check-in")
async def move_volume(request: Request, user: FileRoom, barcode: str, action: str) -> dict:
    body = await json_object(request)
    repo = store(request)
    if action == "check-in":
        return tracking.check_in(repo, barcode, location=_text(body, "location"), by=user.username)
    moves = {"check-out": tracking.check_out, "transfer": tracking.transfer}
    if action not in moves:
        raise BadRequest(f"unknown action {action!r}: check-out, transfer or check-in")
    return moves[action](
        repo,
        barcode,
        to=_text(body, "to"),
        location=_text(body, "location"),
        due=_due(body),
        by=user.username,
    )


# --- scanning and indexing --------------------------------------------------------------


@router.post("/cover-sheets", summary="Scanning cover sheets (PDF) for a patient's documents")
async def cover_sheets(request: Request, _user: FileRoom) -> Response:
    body = await json_object(request)
    pdf = scanning.cover_sheet_pdf(
        store(request),
        _text(body, "patient"),
        doc_types=_texts(body, "types"),
        encounter_id=_text(body, "encounter", required=False),
        day=_day_or_none(body, "date"),
    )
    return Response(pdf, media_type="application/pdf")


@router.get("/document-types", summary="Document types a cover sheet can name (LOINC)")
def document_types(_user: FileRoom) -> dict[str, str]:
    return scanning.DOCUMENT_TYPES


@router.post("/scans", summary="Import scanned files (multipart, field 'file', repeatable)")
async def scan(request: Request, user: FileRoom) -> dict:
    form = await request.form()
    uploads = [f for f in form.getlist("file") if isinstance(f, UploadFile)]
    if not uploads:
        raise BadRequest("send the scanned files as multipart form field 'file'")
    files = [(u.filename or f"upload-{i}", await u.read()) for i, u in enumerate(uploads, 1)]
    repo = store(request)
    result = await run_in_threadpool(scanning.scan_bytes, repo, files, by=user.username)
    return result.as_json()


@router.get("/queue", summary="The indexing queue: scanned pages waiting for a person")
def queue(request: Request, _user: FileRoom) -> list[dict]:
    return indexing.queue(store(request))


@router.post("/queue/assign", summary="File queued pages as one document of a patient")
async def assign(request: Request, user: FileRoom) -> dict:
    body = await json_object(request)
    pages = body.get("pages")
    if not isinstance(pages, list) or not all(type(p) is int for p in pages):
        raise BadRequest("'pages' (a list of page numbers) is required in the body")
    return indexing.assign(
        store(request),
        pages,
        patient_id=_text(body, "patient"),
        doc_type=_text(body, "type"),
        encounter_id=_text(body, "encounter", required=False),
        day=_day_or_none(body, "date"),
        by=user.username,
    )


@router.get("/pages/{page_id}/image", summary="A scanned page's image (PNG)")
def page_image(request: Request, _user: FileRoom, page_id: int) -> Response:
    return Response(indexing.page_image(store(request), page_id), media_type="image/png")


@router.get("/documents", summary="Scanned documents whose OCR text holds every word")
def documents(
    request: Request, _user: FileRoom, content: str, patient: str | None = None
) -> list[dict]:
    return indexing.find_documents(store(request), content, patient_id=patient)


@router.post("/documents/{document_id}/move", summary="Correct a misfiled document")
async def move(request: Request, user: FileRoom, document_id: str) -> dict:
    body = await json_object(request)
    return indexing.move_document(
        store(request),
        document_id,
        patient_id=_text(body, "patient"),
        encounter_id=_text(body, "encounter", required=False),
        reason=_text(body, "reason"),
        by=user.username,
    ).as_json()


@router.get("/misfiles", summary="Misfile corrections (?disclosed=true: sent out first)")
def misfiles(request: Request, _user: FileRoom, disclosed: bool = False) -> list[dict]:
    return indexing.misfiles(store(request), disclosed_only=disclosed)
