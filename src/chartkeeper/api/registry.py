"""The cancer registry over HTTP, under /registry: thin routes over `chartkeeper.registry`
and `interfaces.naaccr`.

Who may use it (`policy.WORKLISTS["cancer-registry"]`): registrars, HIM and admin; any
other role gets 403, audited; no token gets 401. The record is read through the guarded
store (`store(request)`), and every registry case read or written is audited in the same
transaction (`store.registry`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from chartkeeper.errors import BadRequest
from chartkeeper.interfaces import naaccr
from chartkeeper.privacy.users import User
from chartkeeper.registry import abstract, casefinding, edits, followup, survival
from chartkeeper.registry.classify import classify

from .auth import store, works
from .bodies import RowId, json_object

router = APIRouter(prefix="/registry", tags=["cancer registry"])
Registrar = Annotated[User, Depends(works("cancer-registry"))]


def _text(body: dict, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"'{name}' (text) is required in the body")
    return value


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"'{name}' must be a date, YYYY-MM-DD") from None


@router.post("/classify", summary="Primary site, morphology, laterality, grade of a report")
async def classify_report(request: Request, _user: Registrar) -> dict:
    return classify(_text(await json_object(request), "text")).as_json()


@router.post("/screen", summary="Is this report text reportable (negation, ambiguous terms)?")
async def screen(request: Request, _user: Registrar) -> dict:
    return casefinding.screen_text(_text(await json_object(request), "text")).as_json()


@router.post("/casefinding", summary="Screen the record; new suspected cases to the worklist")
def run_casefinding(request: Request, user: Registrar) -> dict:
    return casefinding.run(store(request), by=user.username).as_json()


@router.get("/cases", summary="Registry cases by status, with patient name, MRN, evidence")
def cases(request: Request, _user: Registrar, status: str = "suspected") -> list[dict]:
    return casefinding.worklist(store(request), status)


@router.get("/cases/{case_id}", summary="One case: its abstract, failing edits and activity")
def case(request: Request, case_id: RowId, _user: Registrar) -> dict:
    found = casefinding.get(store(request), case_id)
    items = abstract.public_items(found)
    return {
        **{k: v for k, v in found.items() if k != "items"},
        "items": items,
        "edits": [e.as_json() for e in edits.run(items, found["overrides"])],
    }


@router.post("/cases/{case_id}/accept", summary="Accept a suspected case; abstract prefilled")
def accept(request: Request, case_id: RowId, user: Registrar) -> dict:
    done = casefinding.accept(store(request), case_id, by=user.username)
    return {"id": case_id, "status": done["status"], "items": abstract.public_items(done)}


@router.post("/cases/{case_id}/dismiss", summary="Dismiss a suspected case ({'reason'})")
async def dismiss(request: Request, case_id: RowId, user: Registrar) -> dict:
    reason = _text(await json_object(request), "reason")
    done = casefinding.dismiss(store(request), case_id, by=user.username, reason=reason)
    return {"id": case_id, "status": done["status"]}


@router.patch("/cases/{case_id}/items", summary="Edit abstract items ({naaccrId: value})")
async def edit_items(request: Request, case_id: RowId, user: Registrar) -> dict:
    body = await json_object(request)
    done = abstract.edit_items(store(request), case_id, body, by=user.username)
    items = abstract.public_items(done)
    return {
        "id": case_id,
        "items": items,
        "edits": [e.as_json() for e in edits.run(items, done["overrides"])],
    }


@router.post("/cases/{case_id}/overrides", summary="Override an edit ({'edit', 'reason'})")
async def override(request: Request, case_id: RowId, user: Registrar) -> dict:
    body = await json_object(request)
    done = abstract.override(
        store(request), case_id, _text(body, "edit"), _text(body, "reason"), by=user.username
    )
    return {"id": case_id, "overrides": done["overrides"]}


@router.post("/cases/{case_id}/complete", summary="Complete the abstract (edits pass)")
def complete(request: Request, case_id: RowId, user: Registrar) -> dict:
    done = abstract.complete(store(request), case_id, by=user.username)
    return {"id": case_id, "status": done["status"]}


@router.get("/followup", summary="Follow-up due list and CoC follow-up rates")
def follow_up(
    request: Request, _user: Registrar, today: str | None = None, reference_date: str | None = None
) -> dict:
    repo, as_of = store(request), _day(today, "today")
    return {
        "due": [r.as_json() for r in followup.due_list(repo, today=as_of)],
        "rates": followup.rates(
            repo, today=as_of, reference_date=_day(reference_date, "reference_date")
        ),
    }


@router.get("/survival", summary="Kaplan-Meier observed survival: 1/3/5 years with 95% CI")
def survival_table(request: Request, _user: Registrar, by: str = "site") -> list[dict]:
    found = survival.from_registry(store(request), by=by)
    return [g.as_json() for g in survival.kaplan_meier(found)] if found else []


@router.get("/survival.png", summary="Kaplan-Meier curves as a PNG")
def survival_plot(request: Request, _user: Registrar, by: str = "site") -> Response:
    found = survival.from_registry(store(request), by=by)
    if not found:
        raise BadRequest("no cases with a diagnosis date and a last contact yet")
    return Response(survival.plot(found, f"Observed survival by {by}"), media_type="image/png")


@router.get("/export.xml", summary="Completed cases as NAACCR XML v26 (record type A or I)")
def export(
    request: Request, _user: Registrar, record_type: str = "A", registry_id: str | None = None
) -> Response:
    repo = store(request)
    content, count = naaccr.export_cases(repo, record_type=record_type, registry_id=registry_id)
    with repo.transaction() as tx:
        tx.note("registry-export", [], f"NAACCR XML record type {record_type}: {count} tumours")
    return Response(
        content,
        media_type="application/xml",
        headers={"Content-Disposition": 'attachment; filename="naaccr.xml"'},
    )


@router.post("/import", summary="Read NAACCR XML v26 into registry cases")
async def import_xml(request: Request, user: Registrar) -> dict:
    content = await request.body()
    if not content:
        raise BadRequest("send the NAACCR XML document as the request body")
    return naaccr.import_cases(store(request), content, by=user.username, source="API upload")
