"""The coding workflow over HTTP, under /coding: thin routes over `coding.workflow` and
`coding.cac`.

Who may use it (`policy.WORKLISTS`): coders and HIM (and admin) work the queue, see suggestions, assign codes,
raise queries and see productivity. Clinicians may also list and answer physician queries
(they are the ones asked). Any other role gets 403, audited; no token gets 401. Every read
and write of the record goes through the guarded store (`store(request)`), so it is audited.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from chartkeeper.coding import cac, workflow
from chartkeeper.errors import BadRequest
from chartkeeper.privacy.people import named
from chartkeeper.privacy.users import User

from .auth import store, works
from .bodies import RowId, json_object

router = APIRouter(prefix="/coding", tags=["coding workflow"])
Coder = Annotated[User, Depends(works("coding"))]
QueryUser = Annotated[User, Depends(works("physician-queries"))]


def _text(body: dict, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"'{name}' (text) is required in the body")
    return value


@router.get("/queue", summary="Encounters ready to code: finished, every note final and signed")
def coding_queue(request: Request, _user: Coder) -> list[dict]:
    repo = store(request)
    return named(repo, [dict(item.__dict__) for item in workflow.queue(repo)])


@router.get("/encounters/{encounter_id}/suggestions", summary="Codes suggested from the notes")
def suggestions(request: Request, encounter_id: str, _user: Coder) -> dict:
    data_dir = request.app.state.settings.data_dir
    found = cac.suggest(store(request), encounter_id, data_dir=data_dir)
    return {"encounter": encounter_id, "suggestions": [s.as_json() for s in found]}


@router.post("/encounters/{encounter_id}/codes", summary="Assign codes; the encounter is coded")
async def assign(request: Request, encounter_id: str, user: Coder) -> dict:
    body = await json_object(request)
    codes = body.get("codes")
    if not isinstance(codes, list):
        raise BadRequest("'codes' (a list of codes or {code, kind, poa}) is required")
    principal = body.get("principal")
    if principal is not None and not isinstance(principal, str):
        raise BadRequest("'principal' must be a code")
    done = workflow.assign_codes(
        store(request),
        encounter_id,
        codes,
        coder=user.username,
        principal=principal,
        data_dir=request.app.state.settings.data_dir,
    )
    return done.as_json()


@router.post("/queries", summary="Ask a provider ({'encounter', 'practitioner', 'question'})")
async def ask(request: Request, user: Coder) -> dict:
    body = await json_object(request)
    query = workflow.open_query(
        store(request),
        _text(body, "encounter").removeprefix("Encounter/"),
        _text(body, "practitioner"),
        _text(body, "question"),
        asked_by=user.username,
    )
    return query.as_json()


@router.get("/queries", summary="Physician queries, by status, encounter or practitioner")
def queries(
    request: Request,
    _user: QueryUser,
    status: str | None = None,
    encounter: str | None = None,
    practitioner: str | None = None,
) -> list[dict]:
    repo = store(request)
    found = workflow.list_queries(
        repo, status=status, encounter_id=encounter, practitioner=practitioner
    )
    return named(repo, [q.as_json() for q in found], providers=("practitioner",))


@router.post("/queries/{query_id}/answer", summary="Answer a query ({'answer': ...})")
async def answer(request: Request, query_id: RowId, user: QueryUser) -> dict:
    text = _text(await json_object(request), "answer")
    return workflow.answer_query(store(request), query_id, text, by=user.username).as_json()


@router.post("/queries/{query_id}/withdraw", summary="Withdraw an open query")
def withdraw(request: Request, query_id: RowId, user: Coder) -> dict:
    return workflow.withdraw_query(store(request), query_id, by=user.username).as_json()


@router.get("/dnfb", summary="Discharged, not final billed: days per encounter and in total")
def dnfb(request: Request, _user: Coder) -> dict:
    return workflow.dnfb(store(request))


@router.get("/productivity", summary="Encounters coded per coder per day; discharge-to-coded")
def productivity(request: Request, _user: Coder) -> dict:
    return workflow.productivity(store(request))


@router.get("/productivity.png", summary="Coder productivity as a PNG chart")
def productivity_chart(request: Request, _user: Coder) -> Response:
    png = workflow.plot_productivity(workflow.productivity(store(request)))
    return Response(png, media_type="image/png")
