"""FHIR Bulk Data export (https://hl7.org/fhir/uv/bulkdata/export.html).

Kick-off (`GET /fhir/$export`, `GET /fhir/Patient/$export`) answers 202 with a status URL
in Content-Location; the status URL answers 202 with X-Progress while the job runs and
200 with the manifest when done; the NDJSON files are served to the same signed-in user
(`requiresAccessToken: true`). DELETE on the status URL cancels and removes the files.
Jobs are rows in the database, run by the app's export worker over the same export function
the CLI uses (`interfaces.export_jobs`); a job survives a restart of the server.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse

from chartkeeper.errors import BadRequest, Forbidden, Gone, NotFound
from chartkeeper.fhir.resource_types import RESOURCE_TYPES
from chartkeeper.fhir.search_params import parse_date_range
from chartkeeper.interfaces import export_jobs
from chartkeeper.privacy import policy
from chartkeeper.privacy.users import User

from .auth import authorized, client_address
from .outcomes import FHIRResponse

router = APIRouter(prefix="/fhir", tags=["FHIR bulk data"], include_in_schema=False)


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
    job = export_jobs.submit(
        request.app.state.repo,
        user,
        request_url=str(request.url),
        exports_dir=request.app.state.settings.data_dir / "exports",
        types=types,
        since=since,
        patient_compartment=patient_compartment,
        purpose=request.headers.get("X-Purpose-Of-Use", "TREAT"),
        source=client_address(request),
    )
    request.app.state.export_worker.wake()
    status_url = f"{str(request.base_url).rstrip('/')}/fhir/$export-status/{job.id}"
    return Response(status_code=202, headers={"Content-Location": status_url})


@router.get("/$export")
def export_system(request: Request, user: Annotated[User, Depends(authorized("export", "system"))]):
    return _kick_off(request, user, patient_compartment=False)


@router.get("/Patient/$export")
def export_patients(request: Request, user: Annotated[User, Depends(authorized("export"))]):
    return _kick_off(request, user, patient_compartment=True)


def _own_job(request: Request, job_id: str, user: User) -> export_jobs.ExportJob:
    job = export_jobs.get_job(request.app.state.repo, job_id)
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
            status_code=202,
            headers={"X-Progress": f"{job.status}: {job.exported} resources written"},
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
    export_jobs.cancel(request.app.state.repo, job.id)
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
    if job.status != "done" or path.parent != job.folder or not path.is_file():
        raise Gone(f"{name} is not (or no longer) part of export {job_id}")
    return FileResponse(path, media_type="application/fhir+ndjson")
