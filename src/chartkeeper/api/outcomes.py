"""Errors as FHIR OperationOutcome, with the HTTP status derived from the error.

One handler renders every failure, so a client always gets the same shape: for a
ChartkeeperError its issue code and located issues, for a malformed request 400, for an
unexpected crash 500 without internals.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from chartkeeper.errors import ChartkeeperError
from chartkeeper.fhir.outcome import operation_outcome

FHIR_JSON = "application/fhir+json"
log = logging.getLogger("chartkeeper.api")

# Starlette's own HTTP errors (unknown route, wrong method) mapped to FHIR issue codes.
_HTTP_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    410: "deleted",
    412: "conflict",
    415: "not-supported",
    422: "processing",
}


class FHIRResponse(JSONResponse):
    media_type = FHIR_JSON


def error_response(
    status: int, code: str, diagnostics: str, issues=(), headers=None
) -> FHIRResponse:
    return FHIRResponse(operation_outcome(code, diagnostics, issues), status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(ChartkeeperError)
    async def _domain(_request: Request, exc: ChartkeeperError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
        return error_response(exc.http_status, exc.code, exc.message, exc.issues, headers)

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, exc: HTTPException):
        code = _HTTP_CODES.get(exc.status_code, "exception")
        return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _request(_request: Request, exc: RequestValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]
        )
        return error_response(400, "invalid", f"malformed request: {problems}")

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception):
        from .auth import audit_error  # auth builds on this module's responses

        log.exception("unhandled error", exc_info=exc)
        audit_error(request, exc)
        return error_response(500, "exception", "internal error; the server log has details")
