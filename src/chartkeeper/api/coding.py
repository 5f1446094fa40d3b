"""`GET /coding/search`: the encoder over HTTP. Code sets hold no PHI, so any signed-in role
may search, but a bearer token is still required: `current_user` (no role policy)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from chartkeeper.api.auth import current_user
from chartkeeper.coding import search
from chartkeeper.errors import BadRequest
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
    when: int | date | None = None
    if fy:
        try:
            when = int(fy) if fy.isdigit() else date.fromisoformat(fy)
        except ValueError as exc:
            raise BadRequest(f"fy: a year or a YYYY-MM-DD date, not {fy!r}") from exc
    data_dir = request.app.state.settings.data_dir
    hits = search.find(q, fy=when, limit=limit, system=system, data_dir=data_dir)
    return {"query": q, "codes": [h.to_json() for h in hits]}
