"""Reading request bodies: one place that turns a malformed body into a clear 4xx.

- `BodyLimit` (ASGI middleware) refuses a body over `Settings.max_request_mb` with 413
  before it is held in memory: first by its Content-Length, then by counting what arrives.
- `json_object` and `fhir_resource` take only JSON media types (415 otherwise), parse
  strictly with a bounded depth (`fhir.wire`) and check the shape.
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import Path, Query, Request

from chartkeeper.errors import BadRequest, ChartkeeperError
from chartkeeper.fhir.outcome import operation_outcome
from chartkeeper.fhir.wire import MAX_INT32, parse_json

# application/json is what generic HTTP clients send; FHIR's own is application/fhir+json.
JSON_TYPES = frozenset({"application/fhir+json", "application/json"})


class UnsupportedMediaType(ChartkeeperError):
    code = "not-supported"
    http_status = 415


class PayloadTooLarge(ChartkeeperError):
    code = "too-costly"
    http_status = 413


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def json_body(request: Request) -> object:
    """The parsed body; an empty body is {} (actions that take no arguments)."""
    raw = await request.body()
    if not raw.strip():
        return {}
    kind = media_type(request)
    if kind not in JSON_TYPES:
        shown = f"it is {kind[:60]}" if kind else "it has no Content-Type"
        raise UnsupportedMediaType(
            f"the body must be application/fhir+json or application/json; {shown}"
        )
    return parse_json(raw)


async def json_object(request: Request) -> dict:
    """The body as a JSON object; an empty body is {}."""
    body = await json_body(request)
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


async def fhir_resource(request: Request, resource_type: str | None = None) -> dict:
    """The body as a FHIR resource, of `resource_type` when the URL names one."""
    if not (await request.body()).strip():
        raise BadRequest("the request has no body; send a FHIR resource as JSON")
    body = await json_body(request)
    kind = body.get("resourceType") if isinstance(body, dict) else None
    if not isinstance(kind, str):
        raise BadRequest("the request body is not a FHIR resource (no resourceType)")
    if resource_type and kind != resource_type:
        raise BadRequest(f"the body is a {kind[:64]}, the URL says {resource_type}")
    return body


class BodyLimit:
    """ASGI middleware: 413 for a request body over `max_bytes`, without holding it.

    A body declared too large by Content-Length is refused before a byte is read; a
    chunked one is counted as it arrives and refused once it passes the limit."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared:
            if not declared.isdigit() or len(declared) > 18:
                await self._refuse(send, 400, "invalid", "Content-Length is not a number")
                return
            if int(declared) > self.max_bytes:
                await self._too_large(send)
                return
        chunks, size = [], 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect as usual

        await self.app(scope, replay, send)

    async def _too_large(self, send) -> None:
        mb = self.max_bytes / 1_048_576
        await self._refuse(
            send,
            413,
            "too-costly",
            f"the request body is over the {mb:g} MB limit (CHARTKEEPER_MAX_REQUEST_MB); "
            "split a large load into several bundles or use `chartkeeper import`",
        )

    @staticmethod
    async def _refuse(send, status: int, code: str, message: str) -> None:
        body = orjson.dumps(operation_outcome(code, message))
        headers = [
            (b"content-type", b"application/fhir+json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


# Numbers in paths and queries: bounded like the INTEGER columns they are looked up in, so
# a 20-digit id is a 400 from validation, not an overflow in the database.
RowId = Annotated[int, Path(ge=1, le=MAX_INT32, description="A row id (1 to 2147483647).")]
Limit = Annotated[int, Query(ge=1, le=1000, description="How many rows (1-1000).")]
Offset = Annotated[int, Query(ge=0, le=MAX_INT32, description="Rows to skip.")]
