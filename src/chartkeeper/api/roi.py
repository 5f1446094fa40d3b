"""Release of information and amendments over HTTP, under /roi: thin routes over
`chartkeeper.privacy.disclosures` (45 CFR 164.508, 164.524, 164.528) and
`chartkeeper.privacy.amendments` (164.526).

ROI work is the HIM department's: every route requires the right to export every resource
type, which the role policy gives to `him` and `admin` only; any other role gets 403, and
the refusal is audited. Errors come back as OperationOutcome (a rule the request breaks is
422 business-rule, a move its state does not allow is 409).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse

from chartkeeper.errors import BadRequest
from chartkeeper.privacy import amendments, disclosures
from chartkeeper.privacy.people import named
from chartkeeper.privacy.users import User
from chartkeeper.store import Repository

from .auth import store, works
from .bodies import RowId, json_object
from .outcomes import FHIRResponse

router = APIRouter(prefix="/roi", tags=["release of information"])
HimUser = Annotated[User, Depends(works("release-of-information"))]


def _desk(request: Request):
    """The store for the ROI desk's own worklist (the route's role check authorised it)."""
    return request.app.state.repo


def _text(body: dict, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise BadRequest(f"'{name}' (text) is required in the body")
    return value


def _disclosing(request: Request, request_id: RowId) -> Repository:
    """The store for a disclosure, audited under the request's purpose of use rather than
    the caller's X-Purpose-Of-Use header: the audit trail then says why records left."""
    purpose = disclosures.get_request(_desk(request), request_id).purpose
    return store(request, purpose=disclosures.PURPOSES[purpose].of_use)


# --- release of information ------------------------------------------------------------------


@router.post("/requests", status_code=201, summary="Log a release-of-information request")
async def create_request(request: Request, user: HimUser) -> dict:
    spec = await json_object(request)
    return disclosures.log_request(store(request), spec, by=user.username).as_json()


@router.get("/requests", summary="List requests, by patient and/or status")
def list_requests(
    request: Request, _user: HimUser, patient: str | None = None, status: str | None = None
) -> list[dict]:
    found = disclosures.list_requests(_desk(request), patient_id=patient, status=status)
    # Named through the user's own (guarded, audited) store, not the desk's.
    return named(store(request), [r.as_json() for r in found])


@router.get("/requests/{request_id}", summary="One request, with its history and worksheet")
def get_request(request: Request, request_id: RowId, _user: HimUser) -> dict:
    return disclosures.get_request(_desk(request), request_id).as_json()


@router.post("/requests/{request_id}/validate", summary="Check it against the authorization")
def validate_request(request: Request, request_id: RowId, user: HimUser) -> dict:
    return disclosures.validate_request(store(request), request_id, by=user.username).as_json()


@router.post("/requests/{request_id}/deny", summary="Deny, with the reason")
async def deny_request(request: Request, request_id: RowId, user: HimUser) -> dict:
    reason = _text(await json_object(request), "reason")
    repo = store(request)
    return disclosures.deny_request(repo, request_id, reason=reason, by=user.username).as_json()


@router.post("/requests/{request_id}/fulfil", summary="Disclose: returns the packet Bundle")
def fulfil(request: Request, request_id: RowId, user: HimUser) -> FHIRResponse:
    done = disclosures.fulfil(
        _disclosing(request, request_id),
        request_id,
        by=user.username,
        out_dir=request.app.state.settings.data_dir / "roi",
        base_url=str(request.base_url).rstrip("/") + "/fhir",
    )
    return FHIRResponse(done.bundle)


@router.get("/requests/{request_id}/packet", summary="The packet Bundle, as disclosed")
def packet_bundle(request: Request, request_id: RowId, _user: HimUser) -> FHIRResponse:
    path = disclosures.packet_file(store(request), request_id, "json")
    return FHIRResponse(orjson.loads(path.read_bytes()))


@router.get("/requests/{request_id}/packet.pdf", summary="The packet PDF, as disclosed")
def packet_pdf(request: Request, request_id: RowId, _user: HimUser) -> FileResponse:
    path = disclosures.packet_file(store(request), request_id, "pdf")
    return FileResponse(path, media_type="application/pdf", filename=path.name)


@router.get("/accounting/{patient_id}", summary="Accounting of disclosures (164.528)")
def accounting(
    request: Request,
    patient_id: str,
    _user: HimUser,
    as_of: datetime | None = None,
    include_exempt: bool = False,
) -> list[dict]:
    records = disclosures.accounting(
        _desk(request), patient_id, as_of=as_of, include_exempt=include_exempt
    )
    return [asdict(r) for r in records]


# --- amendments ------------------------------------------------------------------------------


@router.post("/amendments", status_code=201, summary="Log a patient's amendment request")
async def create_amendment(request: Request, user: HimUser) -> dict:
    body = await json_object(request)
    proposed = body.get("proposed")
    if proposed is not None and not isinstance(proposed, dict):
        raise BadRequest("'proposed' must be a FHIR resource")
    made = amendments.request_amendment(
        store(request),
        _text(body, "resource"),
        change=_text(body, "change"),
        requested_by=_text(body, "requested_by"),
        by=user.username,
        proposed=proposed,
    )
    return made.as_json()


@router.get("/amendments", summary="List amendment requests, by patient and/or status")
def list_amendments(
    request: Request, _user: HimUser, patient: str | None = None, status: str | None = None
) -> list[dict]:
    found = amendments.list_amendments(_desk(request), patient_id=patient, status=status)
    return named(store(request), [a.as_json() for a in found])


@router.get("/amendments/{amendment_id}", summary="One amendment request, with its deadline")
def get_amendment(request: Request, amendment_id: RowId, _user: HimUser) -> dict:
    return amendments.get_amendment(_desk(request), amendment_id).as_json()


@router.post("/amendments/{amendment_id}/extend", summary="The one 30-day extension")
async def extend_amendment(request: Request, amendment_id: RowId, user: HimUser) -> dict:
    reason = _text(await json_object(request), "reason")
    repo = store(request)
    return amendments.extend(repo, amendment_id, reason=reason, by=user.username).as_json()


@router.post("/amendments/{amendment_id}/accept", summary="Amend the record")
async def accept_amendment(request: Request, amendment_id: RowId, user: HimUser) -> dict:
    resource = (await json_object(request)).get("resource")
    if resource is not None and not isinstance(resource, dict):
        raise BadRequest("'resource' must be the amended FHIR resource")
    repo = store(request)
    return amendments.accept(repo, amendment_id, by=user.username, resource=resource).as_json()


@router.post("/amendments/{amendment_id}/deny", summary="Deny, with the reason")
async def deny_amendment(request: Request, amendment_id: RowId, user: HimUser) -> dict:
    body = await json_object(request)
    done = amendments.deny(
        store(request),
        amendment_id,
        reason=_text(body, "reason"),
        by=user.username,
        include_in_disclosures=bool(body.get("include_in_disclosures", False)),
    )
    return done.as_json()


@router.post("/amendments/{amendment_id}/disagree", summary="File the statement of disagreement")
async def disagree(request: Request, amendment_id: RowId, _user: HimUser) -> dict:
    statement = _text(await json_object(request), "statement")
    return amendments.disagree(store(request), amendment_id, statement=statement).as_json()


@router.post("/amendments/{amendment_id}/rebut", summary="The provider's rebuttal")
async def rebut(request: Request, amendment_id: RowId, user: HimUser) -> dict:
    rebuttal = _text(await json_object(request), "rebuttal")
    repo = store(request)
    return amendments.rebut(repo, amendment_id, rebuttal=rebuttal, by=user.username).as_json()
