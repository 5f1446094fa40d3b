"""The HTTP rules of FHIR R4 REST (https://hl7.org/fhir/R4/http.html) that are not one
interaction: content negotiation (406), `Prefer: return=`, ETag and Last-Modified,
conditional reads (304).

- `negotiate` (a router dependency): we serve FHIR JSON only. `_format` naming anything
  else (xml, ttl, text/html...) and an Accept header that admits no JSON type are answered
  406 Not Acceptable, rather than JSON under 200 that an XML client cannot read.
- `written`: the answer to create, update and patch, honouring `Prefer: return=minimal`
  (headers only), `representation` (the resource, the default) and `OperationOutcome`.
- `conditional_read`: If-None-Match (a version ETag, or *) and If-Modified-Since make a
  read or vread answer 304 Not Modified when the client's copy is current; If-None-Match
  wins when both are sent (RFC 9110 13.2.2).
- Last-Modified is an HTTP date (RFC 9110 5.6.7, `Tue, 03 Dec 2026 10:15:00 GMT`), as
  http.html asks; `meta.lastUpdated` keeps the precise instant.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from fastapi import Request, Response

from chartkeeper.errors import ChartkeeperError
from chartkeeper.fhir.outcome import operation_outcome

from .outcomes import FHIRResponse

# What `_format` may say for JSON (http.html#mime-type: json, the MIME types, and the
# pre-R4 application/json+fhir that clients still send).
_JSON_FORMATS = frozenset(
    {"json", "application/json", "application/fhir+json", "application/json+fhir"}
)
_JSON_MEDIA = _JSON_FORMATS | {"*/*", "application/*"}


class NotAcceptable(ChartkeeperError):
    code = "not-supported"
    http_status = 406


def _accepts_json(accept: str) -> bool:
    for item in accept.split(","):
        media, *params = (p.strip() for p in item.split(";"))
        quality = next((p[2:] for p in params if p.lower().startswith("q=")), "1")
        try:
            wanted = float(quality) > 0
        except ValueError:
            wanted = True
        if wanted and media.lower() in _JSON_MEDIA:
            return True
    return False


def negotiate(request: Request) -> None:
    """406 unless the client can take FHIR JSON."""
    fmt = request.query_params.get("_format")
    if fmt is not None and fmt.split(";")[0].strip().lower() not in _JSON_FORMATS:
        raise NotAcceptable(
            f"_format={fmt[:60]} is not served; this server speaks FHIR JSON only "
            "(_format=json or application/fhir+json)"
        )
    accept = request.headers.get("accept", "").strip()
    if accept and not _accepts_json(accept):
        raise NotAcceptable(
            f"Accept: {accept[:80]} admits no JSON; this server answers application/fhir+json"
        )


def http_date(instant: str) -> str:
    """An R4 instant (`2026-12-04T07:00:00.123456Z`) as an HTTP date."""
    when = datetime.fromisoformat(instant.replace("Z", "+00:00")).astimezone(UTC)
    return format_datetime(when, usegmt=True)


def resource_headers(res: dict) -> dict[str, str]:
    meta = res["meta"]
    return {"ETag": f'W/"{meta["versionId"]}"', "Last-Modified": http_date(meta["lastUpdated"])}


def preferred_return(request: Request) -> str:
    """`Prefer: return=...`: minimal, representation (the default) or OperationOutcome."""
    for part in request.headers.get("prefer", "").split(","):
        for token in part.split(";"):
            name, _, value = token.strip().partition("=")
            if name.strip().lower() == "return":
                value = value.strip().strip('"')
                if value in ("minimal", "representation", "OperationOutcome"):
                    return value
    return "representation"


def written(
    request: Request, res: dict, status: int, headers: dict[str, str], note: str
) -> Response:
    """The answer to a write: the resource, nothing, or an OperationOutcome saying what
    happened, as the client prefers."""
    choice = preferred_return(request)
    if choice == "minimal":
        return Response(status_code=status, headers=headers)
    if choice == "OperationOutcome":
        outcome = operation_outcome("informational", note, severity="information")
        return FHIRResponse(outcome, status, headers=headers)
    return FHIRResponse(res, status, headers=headers)


def _etag_versions(header: str) -> set[str] | None:
    """The versions an If-None-Match lists; None for `*` (any)."""
    if header.strip() == "*":
        return None
    versions = set()
    for tag in header.split(","):
        tag = tag.strip().removeprefix("W/").strip('"')
        if tag:
            versions.add(tag)
    return versions


def not_modified(request: Request, res: dict) -> bool:
    """Whether the client's copy (If-None-Match, else If-Modified-Since) is current."""
    meta = res["meta"]
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        versions = _etag_versions(if_none_match)
        return versions is None or str(meta["versionId"]) in versions
    since = request.headers.get("if-modified-since")
    if since:
        try:
            client = parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False  # an unreadable date is ignored (RFC 9110 13.1.3)
        if client.tzinfo is None:
            client = client.replace(tzinfo=UTC)
        updated = datetime.fromisoformat(meta["lastUpdated"].replace("Z", "+00:00"))
        # HTTP dates have whole seconds: a change within the second is not "after".
        return updated.replace(microsecond=0) <= client
    return False


def conditional_read(request: Request, res: dict) -> Response:
    headers = resource_headers(res)
    if not_modified(request, res):
        return Response(status_code=304, headers=headers)
    return FHIRResponse(res, 200, headers=headers)
