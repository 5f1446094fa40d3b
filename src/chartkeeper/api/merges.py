"""Patient merge and unmerge over HTTP, for the HIM staff who keep one record per person.

Thin over `chartkeeper.quality.merge` / `unmerge`, the same functions ADT^A40 and the CLI
use. Only the patient-index worklist's roles (`policy.WORKLISTS`: HIM, admin) may merge: a
merge retires a record as surely as a deletion, and it is audited the same way.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from chartkeeper.errors import BadRequest
from chartkeeper.privacy.users import User
from chartkeeper.quality.merge import get_merge, merge_patients, merges_of
from chartkeeper.quality.unmerge import unmerge_patients

from .auth import store, works
from .bodies import RowId, json_object
from .outcomes import FHIRResponse

Indexer = Annotated[User, Depends(works("patient-index"))]
router = APIRouter(tags=["patient index"], include_in_schema=False)


async def _fields(request: Request, *names: str) -> list[str]:
    """JSON {"source": …} or a FHIR Parameters resource with valueString/valueReference."""
    body = await json_object(request)
    for p in body.get("parameter", []):
        value = p.get("valueString") or p.get("valueReference", {}).get("reference", "")
        body.setdefault(p.get("name"), value.removeprefix("Patient/"))
    missing = [n for n in names if not body.get(n)]
    if missing:
        raise BadRequest(f"missing: {', '.join(missing)}")
    return [str(body[n]) for n in names]


def _record(record) -> dict:
    return {
        "id": record.id,
        "source": f"Patient/{record.source_id}",
        "survivor": f"Patient/{record.survivor_id}",
        "merged": record.merged,
        "mergedBy": record.merged_by,
        "reason": record.reason,
        "changed": [f"{c.resource_type}/{c.id}" for c in record.changes],
        "unmerged": record.unmerged,
    }


@router.post("/fhir/Patient/$merge")
async def merge(request: Request, user: Indexer):
    source, survivor, reason = await _fields(request, "source", "survivor", "reason")
    with store(request).transaction() as tx:
        result = merge_patients(tx, source, survivor, reason=reason, by=user.username)
        record = get_merge(tx, result.merge_id)
    return FHIRResponse(_record(record), media_type="application/json")


@router.post("/merges/{merge_id}/$unmerge")
async def unmerge(request: Request, merge_id: RowId, user: Indexer):
    (reason,) = await _fields(request, "reason")
    with store(request).transaction() as tx:
        unmerge_patients(tx, merge_id, reason=reason, by=user.username)
        record = get_merge(tx, merge_id)
    return FHIRResponse(_record(record), media_type="application/json")


@router.get("/merges")
def merges(request: Request, patient: str, _user: Indexer):
    with store(request).reading() as tx:
        records = merges_of(tx, patient.removeprefix("Patient/"))
    return FHIRResponse([_record(r) for r in records], media_type="application/json")


@router.get("/merges/{merge_id}")
def merge_record(request: Request, merge_id: RowId, _user: Indexer):
    with store(request).reading() as tx:
        record = get_merge(tx, merge_id)
    return FHIRResponse(_record(record), media_type="application/json")
