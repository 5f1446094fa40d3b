"""FHIR R4 REST interactions under /fhir: read, vread, create, update, delete, history,
search (with _include/_revinclude and paging links), transaction/batch and $everything.

Each route authenticates and checks the role policy through `authorized(action)`, then
calls the store. Versions travel as ETags (`W/"3"`); If-Match makes an update or delete
conditional on the version the client last saw.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Header, Request, Response

from chartkeeper.errors import BadRequest, InvalidSearch, NotFound
from chartkeeper.fhir import search_params as sp
from chartkeeper.fhir.outcome import operation_outcome
from chartkeeper.fhir.resource_types import RESOURCE_TYPES
from chartkeeper.fhir.summary import SUMMARY_MODES, summarized, with_elements
from chartkeeper.fhir.wire import is_id, version_from_etag, whole_number
from chartkeeper.interfaces.bundles import refuse_dangling
from chartkeeper.interfaces.transaction import process_bundle
from chartkeeper.privacy.users import User
from chartkeeper.store import Repository
from chartkeeper.store.search import (
    RESULT_PARAMS,
    include_targets,
    referencing,
    revinclude_sources,
)

from .auth import authorized, store
from .bodies import fhir_resource
from .outcomes import FHIRResponse

router = APIRouter(prefix="/fhir", tags=["FHIR"], include_in_schema=False)


def _repo(request: Request) -> Repository:
    return store(request)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"


def _known(resource_type: str) -> str:
    if resource_type not in RESOURCE_TYPES:
        raise NotFound(f"'{resource_type}' is not a FHIR R4 resource type")
    return resource_type


def _version(etag: str | None) -> int | None:
    return version_from_etag(etag) if etag else None


def _known_id(resource_type: str, resource_id: str) -> str:
    """A path id that cannot be an R4 id names nothing: 404, as for any missing record."""
    if not is_id(resource_id):
        raise NotFound(
            f"'{resource_id[:80]}' is not a {resource_type} id (1-64 of A-Z a-z 0-9 - .)"
        )
    return resource_id


def _resource_response(
    res: dict, status: int = 200, request: Request | None = None
) -> FHIRResponse:
    version = res["meta"]["versionId"]
    headers = {"ETag": f'W/"{version}"', "Last-Modified": res["meta"]["lastUpdated"]}
    if request is not None and status == 201:
        headers["Location"] = (
            f"{_base(request)}/{res['resourceType']}/{res['id']}/_history/{version}"
        )
    return FHIRResponse(res, status, headers=headers)


# --- whole-system interactions ------------------------------------------------------------


@router.post("")
@router.post("/")
async def transaction(request: Request, user: Annotated[User, Depends(authorized("write", "any"))]):
    """Transaction (atomic) or batch Bundle."""
    bundle = await fhir_resource(request, "Bundle")
    repo = _repo(request)

    def read(url: str) -> dict:
        path, _, query = url.partition("?")
        parts = path.strip("/").split("/")
        if len(parts) == 2:
            return repo.read(_known(parts[0]), parts[1])
        params = parse_qsl(query, keep_blank_values=True)
        return _searchset(request, repo, _known(parts[0]), params)  # type: ignore[arg-type]

    result = process_bundle(repo, bundle, read=read)
    return FHIRResponse(result)


@router.get("/_history")
def system_history(request: Request, _user: Annotated[User, Depends(authorized("read", "system"))]):
    return FHIRResponse(_history_bundle(request, None, None))


# --- one type -------------------------------------------------------------------------


@router.get("/{resource_type}")
def search(
    request: Request, resource_type: str, _user: Annotated[User, Depends(authorized("search"))]
):
    params = list(request.query_params.multi_items())
    return FHIRResponse(_searchset(request, _repo(request), _known(resource_type), params))


@router.post("/{resource_type}/_search")
async def search_post(
    request: Request, resource_type: str, _user: Annotated[User, Depends(authorized("search"))]
):
    form = await request.form()
    params = [*request.query_params.multi_items(), *((k, str(v)) for k, v in form.multi_items())]
    return FHIRResponse(_searchset(request, _repo(request), _known(resource_type), params))


@router.post("/{resource_type}")
async def create(
    request: Request,
    resource_type: str,
    _user: Annotated[User, Depends(authorized("write"))],
    if_none_exist: Annotated[str | None, Header()] = None,
):
    body = await fhir_resource(request, _known(resource_type))
    with _repo(request).transaction() as tx:  # the match and the create in one transaction
        refuse_dangling(tx, body)
        if if_none_exist:
            res, created = tx.create_unless_exists(body, if_none_exist)
        else:
            res, created = tx.create(body), True
    return _resource_response(res, 201 if created else 200, request)


@router.get("/{resource_type}/_history")
def type_history(
    request: Request, resource_type: str, _user: Annotated[User, Depends(authorized("read"))]
):
    return FHIRResponse(_history_bundle(request, _known(resource_type), None))


# --- one resource ----------------------------------------------------------------------


@router.get("/Patient/{resource_id}/$everything")
def everything(
    request: Request, resource_id: str, _user: Annotated[User, Depends(authorized("read"))]
):
    """The patient and every resource that refers to them (their compartment)."""
    repo = _repo(request)
    with repo.reading() as tx:
        patient = tx.read("Patient", _known_id("Patient", resource_id))
        keys = referencing(tx, "Patient", resource_id)
        related = tx.read_many(keys)  # the guard leaves out what the role may not read
    base = _base(request)
    entries = [{"fullUrl": f"{base}/Patient/{resource_id}", "resource": patient}]
    entries += [
        {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r} for r in related
    ]
    return FHIRResponse(
        {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}
    )


@router.get("/{resource_type}/{resource_id}")
def read(
    request: Request,
    resource_type: str,
    resource_id: str,
    _user: Annotated[User, Depends(authorized("read"))],
):
    resource_id = _known_id(resource_type, resource_id)
    return _resource_response(_repo(request).read(_known(resource_type), resource_id))


@router.put("/{resource_type}/{resource_id}")
async def update(
    request: Request,
    resource_type: str,
    resource_id: str,
    _user: Annotated[User, Depends(authorized("write"))],
    if_match: Annotated[str | None, Header()] = None,
):
    body = await fhir_resource(request, _known(resource_type))
    if body.get("id") != resource_id:
        raise BadRequest(f"the body's id {body.get('id')!r} differs from the URL's {resource_id!r}")
    with _repo(request).transaction() as tx:
        refuse_dangling(tx, body)
        result = tx.update(body, if_match=_version(if_match))
    return _resource_response(result.resource, 201 if result.outcome == "created" else 200, request)


@router.delete("/{resource_type}/{resource_id}")
def delete(
    request: Request,
    resource_type: str,
    resource_id: str,
    _user: Annotated[User, Depends(authorized("delete"))],
    if_match: Annotated[str | None, Header()] = None,
):
    resource_id = _known_id(resource_type, resource_id)
    version = _repo(request).delete(_known(resource_type), resource_id, if_match=_version(if_match))
    headers = {"ETag": f'W/"{version}"'} if version else None
    return Response(status_code=204, headers=headers)


@router.get("/{resource_type}/{resource_id}/_history")
def instance_history(
    request: Request,
    resource_type: str,
    resource_id: str,
    _user: Annotated[User, Depends(authorized("read"))],
):
    resource_id = _known_id(resource_type, resource_id)
    bundle = _history_bundle(request, _known(resource_type), resource_id)
    if not bundle["entry"]:
        raise NotFound(f"{resource_type}/{resource_id} has no history")
    return FHIRResponse(bundle)


@router.get("/{resource_type}/{resource_id}/_history/{version_id}")
def vread(
    request: Request,
    resource_type: str,
    resource_id: str,
    version_id: str,
    _user: Annotated[User, Depends(authorized("read"))],
):
    version = whole_number(version_id, "the version in the URL", minimum=1, error=NotFound)
    return _resource_response(
        _repo(request).vread(_known(resource_type), _known_id(resource_type, resource_id), version)
    )


# --- bundles ---------------------------------------------------------------------------


def supported_params(
    request: Request, resource_type: str, params: list, only: frozenset[str] | None = None
) -> tuple[list, list[str]]:
    """Unknown or unsupported parameters are refused with a 400 naming them all: ignoring
    one (`Immunization?patient=X`) would answer with every patient's records. A client
    that sends `Prefer: handling=lenient` gets them ignored and reported in the Bundle.
    (A known parameter with a bad modifier, chain or value is refused by the store with
    a 400 saying what is wrong, lenient or not.)

    `only`: the parameters a type served outside the resource store understands (the
    audit trail's AuditEvent); otherwise the store's search parameters for the type."""
    if only is None:
        supported = set(sp.params_for(resource_type)) | set(sp.COMMON_PARAMS)

        def accepts(name: str) -> bool:
            bare = re.split(r"[:.]", name, maxsplit=1)[0]
            if bare in RESULT_PARAMS or (bare == "_has" and name.startswith("_has:")):
                return True
            return sp.lookup(resource_type, bare) is not None
    else:  # no modifiers there either
        supported, accepts = only, only.__contains__
    known, ignored = [], []
    for name, value in params:
        if accepts(name):
            known.append((name, value))
        else:
            ignored.append(name)
    if ignored and "handling=lenient" not in request.headers.get("prefer", ""):
        raise InvalidSearch(
            f"{resource_type} does not support the search parameter(s) "
            f"{', '.join(sorted(set(ignored)))}; supported: {', '.join(sorted(supported))} "
            "(send 'Prefer: handling=lenient' to have unknown parameters ignored)"
        )
    return known, ignored


def ignored_outcome(ignored: list[str]) -> list[dict]:
    """The searchset entry that tells a lenient client what was ignored (none if nothing)."""
    if not ignored:
        return []
    note = f"ignored unknown search parameters: {', '.join(sorted(set(ignored)))}"
    return [
        {
            "resource": operation_outcome("not-supported", note, severity="warning"),
            "search": {"mode": "outcome"},
        }
    ]


def _summary_mode(params: list) -> str:
    modes = {v for k, v in params if k == "_summary"}
    if len(modes) > 1 or modes - set(SUMMARY_MODES):
        raise InvalidSearch(
            f"_summary={','.join(sorted(modes))}: expected one of {', '.join(SUMMARY_MODES)}"
        )
    return modes.pop() if modes else "false"


def _searchset(request: Request, repo: Repository, resource_type: str, params: list) -> dict:
    params, ignored = supported_params(request, resource_type, params)
    includes = [(k, v) for k, v in params if k.split(":")[0] == "_include"]
    revincludes = [(k, v) for k, v in params if k.split(":")[0] == "_revinclude"]
    for k, _v in includes + revincludes:
        if k.partition(":")[2] not in ("", "iterate", "recurse"):
            raise InvalidSearch(f"{k}: the only modifier of _include/_revinclude is :iterate")
    mode = _summary_mode(params)
    elements = [e.strip() for k, v in params if k == "_elements" for e in v.split(",")]
    if elements and mode != "false":
        raise InvalidSearch("use _summary or _elements, not both")
    if mode == "count":  # the total alone: no resource leaves the store
        params = [(k, v) for k, v in params if k not in ("_count", "_total")]
        params.append(("_count", "0"))
        includes = revincludes = []
    with repo.reading() as tx:
        page = tx.search(resource_type, params)
        extra = _included(tx, page.resources, includes, revincludes)
    shown = page.resources + extra
    if elements:
        shown = [with_elements(r, elements) for r in shown]
    elif mode in ("true", "text", "data"):
        shown = [summarized(r, mode) for r in shown]
    base = _base(request)
    entries = [
        {
            "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
            "resource": r,
            "search": {"mode": "match" if n < len(page.resources) else "include"},
        }
        for n, r in enumerate(shown)
    ]
    entries += ignored_outcome(ignored)
    bundle = {"resourceType": "Bundle", "type": "searchset"}
    if page.total is not None:
        bundle["total"] = page.total
    bundle["link"] = _paging_links(base, resource_type, params, page)
    bundle["entry"] = entries
    return bundle


_MAX_ITERATIONS = 10  # :iterate stops here even if the graph goes on (a cycle ends sooner)


def _included(
    tx, matches: list[dict], includes: list[tuple[str, str]], revincludes: list[tuple[str, str]]
) -> list[dict]:
    """`_include`/`_revinclude` (with `*` and `:iterate`): what the matches point to, and
    what points at them; `:iterate` ones are applied again to what was added, until
    nothing new comes. Everything is read through the guarded transaction, so a record
    the caller may not see is never added."""
    if not matches or not (includes or revincludes):
        return []
    seen = {(r["resourceType"], r["id"]) for r in matches}
    added: list[dict] = []
    frontier = matches
    for round_ in range(_MAX_ITERATIONS):
        keys: set[tuple[str, str]] = set()
        for name, value in includes:
            if round_ == 0 or name.endswith((":iterate", ":recurse")):
                keys |= _include_keys(tx, frontier, value)
        for name, value in revincludes:
            if round_ == 0 or name.endswith((":iterate", ":recurse")):
                keys |= _revinclude_keys(tx, frontier, value)
        keys -= seen
        if not keys:
            break
        seen |= keys
        frontier = tx.read_many(keys)  # the guard leaves out what the caller may not see
        added += frontier
    return added


def _by_type(resources: list[dict]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for r in resources:
        found.setdefault(r["resourceType"], []).append(r["id"])
    return found


def _reference_names(resource_type: str, name: str) -> list[str]:
    """The reference parameters `name` stands for (`*`: all the type's own)."""
    if name != "*":
        return [name]
    params = sp.params_for(resource_type).values()
    return [p.name for p in params if p.type == sp.REFERENCE and not p.index_as]


def _include_keys(tx, frontier: list[dict], value: str) -> set[tuple[str, str]]:
    if value == "*":
        value = "*:*"
    source, _, rest = value.partition(":")
    name, _, target = rest.partition(":")
    if not name or (source != "*" and source not in RESOURCE_TYPES):
        raise InvalidSearch(f"_include={value}: expected <Type>:<parameter>[:<target type>] or *")
    keys: set[tuple[str, str]] = set()
    for rtype, ids in _by_type(frontier).items():
        if source not in ("*", rtype):
            continue
        for param in _reference_names(rtype, name):
            found = include_targets(tx, rtype, param, ids)
            keys |= {k for k in found if not target or k[0] == target}
    return keys


def _revinclude_keys(tx, frontier: list[dict], value: str) -> set[tuple[str, str]]:
    source, _, rest = value.partition(":")
    name = rest.split(":")[0]
    if source not in RESOURCE_TYPES or not name:
        raise InvalidSearch(f"_revinclude={value}: expected <Type>:<parameter> or <Type>:*")
    targets = [(r["resourceType"], r["id"]) for r in frontier]
    keys: set[tuple[str, str]] = set()
    for param in _reference_names(source, name):
        keys |= revinclude_sources(tx, source, param, targets)
    return keys


def _paging_links(base: str, resource_type: str, params: list, page) -> list[dict]:
    kept = [(k, v) for k, v in params if k not in ("_offset", "_count")]

    def url(offset: int) -> str:
        query = urlencode([*kept, ("_count", page.count), ("_offset", offset)])
        return f"{base}/{resource_type}?{query}"

    links = [{"relation": "self", "url": url(page.offset)}]
    if page.count and page.offset > 0:
        links.append({"relation": "previous", "url": url(max(0, page.offset - page.count))})
    if page.next_offset is not None:
        links.append({"relation": "next", "url": url(page.next_offset)})
    return links


def _history_bundle(request: Request, resource_type: str | None, resource_id: str | None) -> dict:
    params = dict(request.query_params)
    count = whole_number(params.get("_count", "100"), "_count", error=InvalidSearch)
    since = params.get("_since")
    if since:
        try:
            since = sp.parse_date_range(since)[0] + "Z"
        except ValueError as exc:
            raise InvalidSearch(f"_since: {exc}") from None
    versions = _repo(request).history(
        resource_type, resource_id, since=since, count=min(count, 1000)
    )
    base = _base(request)
    entries = []
    for v in versions:
        url = f"{v['resource_type']}/{v['id']}"
        method = {"create": "POST", "update": "PUT", "delete": "DELETE"}[v["method"]]
        entry = {
            "fullUrl": f"{base}/{url}",
            "request": {"method": method, "url": v["resource_type"] if method == "POST" else url},
            "response": {
                "status": {"POST": "201 Created", "PUT": "200 OK", "DELETE": "204 No Content"}[
                    method
                ],
                "etag": f'W/"{v["version_id"]}"',
                "lastModified": v["last_updated"],
            },
        }
        if v["resource"] is not None:
            entry["resource"] = v["resource"]
        entries.append(entry)
    return {"resourceType": "Bundle", "type": "history", "total": len(entries), "entry": entries}
