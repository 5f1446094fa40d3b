"""Reading request bodies: one place that turns a malformed body into a clear 400."""

from __future__ import annotations

import orjson
from fastapi import Request

from chartkeeper.errors import BadRequest


async def json_object(request: Request) -> dict:
    """The body as a JSON object; an empty body is {}."""
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body
