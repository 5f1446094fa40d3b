"""The audit trail as FHIR AuditEvent (read-only for everyone), and break-the-glass.

AuditEvent is served from the audit log, not the resource store; there is no route that
writes or deletes one, for any role: the trail cannot be silenced from the API.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from chartkeeper.errors import InvalidSearch, NotFound
from chartkeeper.fhir.wire import whole_number
from chartkeeper.privacy import audit
from chartkeeper.privacy.access import break_glass
from chartkeeper.privacy.users import User

from .auth import audit_alone, authorized, client_address
from .bodies import json_object
from .fhir import ignored_outcome, supported_params
from .outcomes import FHIRResponse, error_response

router = APIRouter(prefix="/fhir", tags=["audit"], include_in_schema=False)
# What `audit.entries` can answer; anything else is refused as the FHIR search router does.
AUDIT_EVENT_PARAMS = frozenset({"patient", "agent", "subtype", "date", "_count", "_offset"})


def _engine(request: Request):
    return request.app.state.repo.engine


def _audit_access(request: Request, user: User, action: str, **what) -> None:
    """Reading the audit trail is itself an access worth recording."""
    audit_alone(
        request,
        audit.AuditEntry(
            action=action,
            username=user.username,
            role=user.role,
            source=client_address(request),
            **what,
        ),
    )


@router.get("/AuditEvent")
def audit_events(request: Request, user: Annotated[User, Depends(authorized("search"))]):
    known, ignored = supported_params(
        request, "AuditEvent", list(request.query_params.multi_items()), AUDIT_EVENT_PARAMS
    )
    params = dict(known)
    count = whole_number(params.get("_count", "100"), "_count", error=InvalidSearch)
    offset = whole_number(params.get("_offset", "0"), "_offset", error=InvalidSearch)
    patient = params.get("patient", "").removeprefix("Patient/") or None
    rows = audit.entries(
        _engine(request),
        patient=patient,
        username=params.get("agent") or None,
        action=params.get("subtype") or None,
        since=params.get("date", "").removeprefix("ge") or None,
        limit=min(count, 1000),
        offset=offset,
    )
    _audit_access(request, user, "search", detail=f"AuditEvent?{request.url.query}")
    entries = [{"resource": audit.as_audit_event(r)} for r in rows]
    return FHIRResponse(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(entries),
            "entry": entries + ignored_outcome(ignored),
        }
    )


@router.get("/AuditEvent/{seq}")
def audit_event(request: Request, seq: str, user: Annotated[User, Depends(authorized("read"))]):
    number = whole_number(seq, "AuditEvent id", minimum=1, maximum=2**62, error=NotFound)
    row = next((r for r in audit.entries(_engine(request), seq=number)), None)
    if row is None:
        raise NotFound(f"AuditEvent/{seq} is not in the audit trail")
    _audit_access(request, user, "read", resources=(f"AuditEvent/{seq}",))
    return FHIRResponse(audit.as_audit_event(row))


@router.api_route("/AuditEvent", methods=["POST"])
@router.api_route("/AuditEvent/{seq}", methods=["PUT", "DELETE", "PATCH"])
def audit_is_append_only(request: Request, _user: Annotated[User, Depends(authorized("read"))]):
    return error_response(
        405,
        "not-supported",
        "the audit trail is append-only: nobody can write, change or delete an AuditEvent",
    )


@router.post("/Patient/{patient_id}/$break-the-glass")
async def open_in_emergency(
    request: Request, patient_id: str, user: Annotated[User, Depends(authorized("read"))]
):
    """Body: {"reason": "..."} or a Parameters resource with a `reason` string."""
    body = await json_object(request)
    reason = body.get("reason") or next(
        (p.get("valueString") for p in body.get("parameter", []) if p.get("name") == "reason"), ""
    )
    # The patient must exist; a labelled one the caller cannot see yet is exactly what
    # break-the-glass is for, so this asks the store itself, not the caller's view of it.
    with request.app.state.repo.reading() as tx:
        if not tx.exists("Patient", patient_id):
            raise NotFound(f"Patient/{patient_id} is not in the store")
    expires = break_glass(
        _engine(request),
        request.app.state.audit_key,
        user,
        patient_id,
        reason,
        minutes=request.app.state.settings.break_glass_minutes,
        source=client_address(request),
    )
    return FHIRResponse(
        {
            "resourceType": "Parameters",
            "parameter": [
                {"name": "patient", "valueReference": {"reference": f"Patient/{patient_id}"}},
                {"name": "expires", "valueInstant": expires},
            ],
        }
    )
