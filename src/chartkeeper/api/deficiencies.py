"""The deficiency worklist over HTTP, under /deficiencies: thin routes over
`chartkeeper.quality.deficiencies`.

Who may use it: the roles `policy.WORKLISTS["deficiencies"]` names (HIM works the worklist,
clinicians see and answer what is assigned to them, admin). Any other role gets 403, and the refusal is audited;
every read and change is audited through the guarded store (`store(request)`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from chartkeeper.errors import BadRequest
from chartkeeper.privacy.people import named
from chartkeeper.privacy.users import User
from chartkeeper.quality import deficiencies as dq

from .auth import store, works
from .bodies import Limit, Offset, RowId, json_object

router = APIRouter(prefix="/deficiencies", tags=["deficiencies"])
Worker = Annotated[User, Depends(works("deficiencies"))]


@router.get("", summary="The worklist: by assignee ('unassigned': HIM pool), status, patient")
def worklist(
    request: Request,
    _user: Worker,
    assignee: str | None = None,
    status: str = "open",
    patient: str | None = None,
    rule: str | None = None,
    limit: Limit = 200,
    offset: Offset = 0,
) -> list[dict]:
    repo = store(request)
    found = dq.list_deficiencies(
        repo,
        assignee=assignee,
        status=status,
        patient=patient,
        rule=rule,
        limit=limit,
        offset=offset,
    )
    return named(repo, [d.as_json() for d in found], providers=("responsible",))


@router.get("/report", summary="Counts, ageing, delinquent records and completeness")
def report(request: Request, _user: Worker) -> dict:
    return dq.report(store(request))


@router.get("/ageing.png", summary="Open deficiencies by age and severity, as a PNG chart")
def ageing_chart(request: Request, _user: Worker) -> Response:
    return Response(dq.plot_ageing(store(request)), media_type="image/png")


@router.post("/reevaluate", summary="Re-check one chart now ({'target': 'Patient/x'})")
async def reevaluate(request: Request, _user: Worker) -> dict:
    target = (await json_object(request)).get("target")
    if not isinstance(target, str) or not target:
        raise BadRequest("'target' (Patient/x or Encounter/y) is required in the body")
    result = dq.reevaluate(store(request), target)
    return result.__dict__


@router.get("/{deficiency_id}", summary="One deficiency, with its notes")
def get_one(request: Request, deficiency_id: RowId, _user: Worker) -> dict:
    return dq.get_deficiency(store(request), deficiency_id).as_json()


@router.post("/{deficiency_id}/assign", summary="Reassign ({'assignee': ..., 'reason': ...})")
async def assign(request: Request, deficiency_id: RowId, user: Worker) -> dict:
    body = await json_object(request)
    if "assignee" not in body:
        raise BadRequest("'assignee' is required (a Practitioner reference, a username or null)")
    reason = body.get("reason") or ""
    if not isinstance(reason, str):
        raise BadRequest("'reason' must be text")
    done = dq.reassign(
        store(request), deficiency_id, body["assignee"], by=user.username, reason=reason
    )
    return done.as_json()


@router.post("/{deficiency_id}/notes", summary="Add a note ({'text': ...})")
async def add_note(request: Request, deficiency_id: RowId, user: Worker) -> dict:
    text = (await json_object(request)).get("text")
    if not isinstance(text, str):
        raise BadRequest("'text' is required in the body")
    return dq.add_note(store(request), deficiency_id, text, by=user.username).as_json()
