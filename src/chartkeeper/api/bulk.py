"""FHIR Bulk Data export (https://hl7.org/fhir/uv/bulkdata/export.html).

Kick-off (`GET /fhir/$export`, `GET /fhir/Patient/$export`) answers 202 with a status URL
in Content-Location; the status URL answers 202 with X-Progress while the job runs and
200 with the manifest when done; the NDJSON files are served to the same signed-in user
(`requiresAccessToken: true`). DELETE on the status URL cancels and removes the files.
Jobs run in a thread over the same export function the CLI uses.
"""

from __future__ import annotations

import shutil
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse

from chartkeeper.errors import BadRequest, Forbidden, Gone, NotFound
from chartkeeper.fhir.resource_types import RESOURCE_TYPES
from chartkeeper.fhir.search_params import parse_date_range, utc_now
from chartkeeper.interfaces.export import export_ndjson
from chartkeeper.privacy import policy
from chartkeeper.privacy.users import User

from .auth import authorized, store
from .outcomes import FHIRResponse

router = APIRouter(prefix="/fhir", tags=["FHIR bulk data"], include_in_schema=False)


@dataclass
class ExportJob:
    id: str
    owner: str
    request_url: str
    folder: Path
    transaction_time: str
    done: bool = False
    error: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    exported: int = 0


def _jobs(request: Request) -> dict[str, ExportJob]:
    return request.app.state.export_jobs


def _kick_off(request: Request, user: User, *, patient_compartment: bool) -> Response:
    params = request.query_params
    if params.get("_outputFormat", "application/fhir+ndjson") not in (
        "application/fhir+ndjson",
        "application/ndjson",
        "ndjson",
    ):
        raise BadRequest("only _outputFormat=application/fhir+ndjson is supported")
    types = [t for t in params.get("_type", "").split(",") if t]
    unknown = [t for t in types if t not in RESOURCE_TYPES]
    if unknown:
        raise BadRequest(f"_type names unknown resource types: {', '.join(unknown)}")
    for rtype in types:
        policy.check(user, "export", rtype)
    since = params.get("_since")
    if since:
        try:
            since = parse_date_range(since)[0] + "Z"
        except ValueError as exc:
            raise BadRequest(f"_since: {exc}") from None
    job = ExportJob(
        id=uuid.uuid4().hex,
        owner=user.username,
        request_url=str(request.url),
        folder=request.app.state.settings.data_dir / "exports",
        transaction_time=utc_now(),
    )
    job.folder = job.folder / job.id
    _jobs(request)[job.id] = job
    repo = store(request)

    def run() -> None:
        try:
            wanted = types or [t for t in _types(request) if policy.allows(user, "export", t)]

            def tick() -> None:
                job.exported += 1

            job.counts = export_ndjson(
                repo, job.folder, wanted, tick, since=since, patient_compartment=patient_compartment
            )
        except Exception as exc:  # the manifest reports it; the server keeps running
            job.error = str(exc)
        job.done = True

    threading.Thread(target=run, name=f"export-{job.id}", daemon=True).start()
    status_url = f"{str(request.base_url).rstrip('/')}/fhir/$export-status/{job.id}"
    return Response(status_code=202, headers={"Content-Location": status_url})


def _types(request: Request) -> list[str]:
    with request.app.state.repo.reading() as tx:  # which types exist: no patient data
        return tx.resource_types()


@router.get("/$export")
def export_system(request: Request, user: Annotated[User, Depends(authorized("export", "system"))]):
    return _kick_off(request, user, patient_compartment=False)


@router.get("/Patient/$export")
def export_patients(request: Request, user: Annotated[User, Depends(authorized("export"))]):
    return _kick_off(request, user, patient_compartment=True)


def _own_job(request: Request, job_id: str, user: User) -> ExportJob:
    job = _jobs(request).get(job_id)
    if job is None:
        raise NotFound(f"no export job {job_id}")
    if job.owner != user.username:
        raise Forbidden("this export belongs to another user")
    return job


@router.get("/$export-status/{job_id}")
def export_status(
    request: Request, job_id: str, user: Annotated[User, Depends(authorized("export", "any"))]
):
    job = _own_job(request, job_id, user)
    if not job.done:
        return Response(
            status_code=202, headers={"X-Progress": f"{job.exported} resources written"}
        )
    if job.error:
        raise BadRequest(f"export failed: {job.error}")
    base = f"{str(request.base_url).rstrip('/')}/fhir/$export-file/{job.id}"
    manifest = {
        "transactionTime": job.transaction_time,
        "request": job.request_url,
        "requiresAccessToken": True,
        "output": [
            {"type": t, "url": f"{base}/{t}.ndjson", "count": n}
            for t, n in sorted(job.counts.items())
        ],
        "error": [],
    }
    return FHIRResponse(manifest, media_type="application/json")


@router.delete("/$export-status/{job_id}")
def export_cancel(
    request: Request, job_id: str, user: Annotated[User, Depends(authorized("export", "any"))]
):
    job = _own_job(request, job_id, user)
    del _jobs(request)[job_id]
    shutil.rmtree(job.folder, ignore_errors=True)
    return Response(status_code=202)


@router.get("/$export-file/{job_id}/{name}")
def export_file(
    request: Request,
    job_id: str,
    name: str,
    user: Annotated[User, Depends(authorized("export", "any"))],
):
    job = _own_job(request, job_id, user)
    path = job.folder / name
    if not job.done or path.parent != job.folder or not path.is_file():
        raise Gone(f"{name} is not (or no longer) part of export {job_id}")
    return FileResponse(path, media_type="application/fhir+ndjson")
