"""The duplicate-patient review queue over HTTP, for HIM staff (thin over quality.mpi)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from chartkeeper.privacy.people import People, compare_identities, named
from chartkeeper.privacy.users import User
from chartkeeper.quality.mpi import decide, get_review, list_reviews

from .auth import store, works
from .bodies import Limit, Offset, RowId, json_object
from .outcomes import FHIRResponse

router = APIRouter(prefix="/mpi", tags=["patient index"], include_in_schema=False)
ReviewerDependency = Annotated[User, Depends(works("patient-index"))]


def _json(data) -> FHIRResponse:
    return FHIRResponse(data, media_type="application/json")


@router.get("/reviews")
def reviews(
    request: Request,
    _user: ReviewerDependency,
    status: str = "open",
    limit: Limit = 100,
    offset: Offset = 0,
):
    repo = store(request)
    items = list_reviews(repo, status=status, limit=min(limit, 1000), offset=offset)
    return _json(named(repo, [asdict(i) for i in items], patients=("a", "b")))


@router.get("/reviews/{item_id}")
def review(request: Request, item_id: RowId, _user: ReviewerDependency):
    """The pair, its matcher's evidence, and the two records' identifying fields side by
    side (`fields`: the comparison the workbench's review screen shows)."""
    repo = store(request)
    item = get_review(repo, item_id)
    people = People(repo, [item.a, item.b])
    fields = compare_identities(people.found.get(item.a), people.found.get(item.b))
    return _json({**asdict(item), "fields": fields})


@router.post("/reviews/{item_id}/decision")
async def decision(request: Request, item_id: RowId, user: ReviewerDependency):
    body = await json_object(request)
    item = decide(
        store(request),
        item_id,
        body.get("verdict", ""),
        reviewer=user.username,
        note=body.get("note", ""),
        survivor=body.get("survivor"),
    )
    return _json(asdict(item))
