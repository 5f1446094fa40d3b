"""`GET /coding/search`: the encoder over HTTP. Code sets hold no PHI, so any signed-in role
may search, but a bearer token is still required: `current_user` (no role policy)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from chartkeeper.api.auth import current_user
from chartkeeper.coding import search
from chartkeeper.fhir.wire import year_or_date
from chartkeeper.privacy import users

router = APIRouter(prefix="/coding", tags=["coding"])


@router.get("/search", summary="Rank billable ICD-10-CM codes for a diagnostic statement")
def coding_search(
    request: Request,
    user: Annotated[users.User, Depends(current_user)],
    q: Annotated[str, Query(min_length=1, max_length=500)],
    fy: Annotated[str | None, Query(description="fiscal year (2026) or date of service")] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    system: str = "icd10cm",
) -> dict:
    when = year_or_date(fy, "fy") if fy else None
    data_dir = request.app.state.settings.data_dir
    hits = search.find(q, fy=when, limit=limit, system=system, data_dir=data_dir)
    return {"query": q, "codes": [h.to_json() for h in hits]}
