"""FHIR R4 REST interactions under /fhir: read, vread, create, update, patch, delete,
conditional update/patch/delete, history (paged, `_since`, `_at`), search (with
_include/_revinclude and paging links), transaction/batch, $validate and $everything.

Each route authenticates and checks the role policy through `authorized(action)`, then
calls the store, whose guard hides what the user may not see: a patch, conditional update
or delete aimed at a hidden record answers exactly as for a record that does not exist.
Versions travel as ETags (`W/"3"`); If-Match makes an update, patch or delete conditional
on the version the client last saw; If-None-Match and If-Modified-Since give 304 on reads.
The HTTP rules shared by the routes (406, Prefer, Last-Modified) are in `http_rules`.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Header, Request, Response

from chartkeeper.errors import (
    AmbiguousMatch,
    BadRequest,
    InvalidResource,
    InvalidSearch,
    NotFound,
    VersionConflict,
)
from chartkeeper.fhir import search_params as sp
from chartkeeper.fhir.outcome import operation_outcome
from chartkeeper.fhir.patch import apply_fhirpath_patch, apply_json_patch, apply_merge_patch
from chartkeeper.fhir.resource_types import RESOURCE_TYPES
from chartkeeper.fhir.rules import check_rules
from chartkeeper.fhir.summary import SUMMARY_MODES, summarized, with_elements
from chartkeeper.fhir.validation import validate
from chartkeeper.fhir.wire import is_id, parse_json, version_from_etag, whole_number
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
from .bodies import UnsupportedMediaType, fhir_resource, media_type
from .http_rules import conditional_read, negotiate, resource_headers, written
from .outcomes import FHIRResponse

router = APIRouter(
    prefix="/fhir", tags=["FHIR"], include_in_schema=False, dependencies=[Depends(negotiate)]
)
# Parameters about the answer's format, not the search (http.html#mime-type).
_FORMAT_PARAMS = ("_format", "_pretty")
# A conditional delete removes at most this many resources; more is a 412.
MAX_CONDITIONAL_DELETE = 100


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


def _written(request: Request, res: dict, status: int, what: str) -> Response:
    """The answer to a create, update or patch, as `Prefer: return=` asks."""
    headers = resource_headers(res)
    version = res["meta"]["versionId"]
    location = f"{_base(request)}/{res['resourceType']}/{res['id']}/_history/{version}"
    if status == 201:
        headers["Location"] = location
    else:
        headers["Content-Location"] = location
    note = f"{what} {res['resourceType']}/{res['id']}, version {version}"
    return written(request, res, status, headers, note)


def _query(request: Request) -> str:
    """The search part of a conditional interaction's URL, without format parameters."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in _FORMAT_PARAMS]
    if not params:
        raise BadRequest(
            "a conditional interaction needs search criteria in the URL "
            "(e.g. ?identifier=system|value); to name one resource use its id"
        )
    return urlencode(params)


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
    return _written(request, res, 201 if created else 200, "created" if created else "found")


@router.get("/{resource_type}/_history")
def type_history(
    request: Request, resource_type: str, _user: Annotated[User, Depends(authorized("read"))]
):
    return FHIRResponse(_history_bundle(request, _known(resource_type), None))


@router.put("/{resource_type}")
async def conditional_update(
    request: Request, resource_type: str, _user: Annotated[User, Depends(authorized("write"))]
):
    """PUT Type?criteria: no match creates, one match is updated, more is 412."""
    body = await fhir_resource(request, _known(resource_type))
    query = _query(request)
    with _repo(request).transaction() as tx:  # the match and the write in one transaction
        ids = tx.matching_ids(resource_type, query, limit=2)
        if len(ids) > 1:
            raise AmbiguousMatch(
                f"'{query}' matches more than one {resource_type}; nothing was updated"
            )
        if ids and body.get("id") not in (None, ids[0]):
            raise BadRequest(
                f"the body's id {body['id']!r} is not the id of the {resource_type} the "
                "criteria match"
            )
        refuse_dangling(tx, body)
        if ids:
            result = tx.update({**body, "id": ids[0]})
            res, status, what = result.resource, 200, result.outcome
        elif body.get("id"):  # no match: the client's id names the new resource
            result = tx.update(body)
            res, status, what = result.resource, 201, "created"
        else:
            res, status, what = tx.create(body), 201, "created"
    return _written(request, res, status, what)


@router.delete("/{resource_type}")
def conditional_delete(
    request: Request, resource_type: str, _user: Annotated[User, Depends(authorized("delete"))]
):
    """DELETE Type?criteria: every match deleted (at most MAX_CONDITIONAL_DELETE, else 412
    and nothing deleted); no match is not an error."""
    query = _query(request)
    with _repo(request).transaction() as tx:
        ids = tx.matching_ids(_known(resource_type), query, limit=MAX_CONDITIONAL_DELETE + 1)
        if len(ids) > MAX_CONDITIONAL_DELETE:
            raise AmbiguousMatch(
                f"'{query}' matches more than {MAX_CONDITIONAL_DELETE} {resource_type} "
                "resources; narrow the criteria (nothing was deleted)"
            )
        for resource_id in ids:
            tx.delete(resource_type, resource_id)
    if len(ids) <= 1:
        return Response(status_code=204)
    note = f"deleted {len(ids)} {resource_type} resources matching {query}"
    return FHIRResponse(operation_outcome("informational", note, severity="information"))


async def _patch_document(request: Request) -> tuple[str, object]:
    """(kind, document): "json" (JSON Patch), "fhirpath" (FHIRPath Patch Parameters) or
    "merge" (JSON Merge Patch), from the Content-Type and the body's shape."""
    kind = media_type(request)
    raw = await request.body()
    if not raw.strip():
        raise BadRequest("the PATCH has no body: send a JSON Patch or a FHIRPath Patch")
    if kind == "application/json-patch+json":
        return "json", parse_json(raw)
    if kind == "application/merge-patch+json":
        return "merge", parse_json(raw)
    if kind in ("application/fhir+json", "application/json"):
        doc = parse_json(raw)
        if isinstance(doc, list):
            return "json", doc
        if isinstance(doc, dict) and doc.get("resourceType") == "Parameters":
            return "fhirpath", doc
        return "merge", doc
    raise UnsupportedMediaType(
        "PATCH takes application/json-patch+json (JSON Patch), application/fhir+json (a "
        "FHIRPath Patch Parameters) or application/merge-patch+json; this body is "
        f"{kind[:60] or 'untyped'}"
    )


def _patched(tx, current: dict, kind: str, document: object, if_match: str | None) -> dict:
    version = int(current["meta"]["versionId"])
    expected = _version(if_match)
    if expected is not None and expected != version:
        raise VersionConflict(
            f"{current['resourceType']}/{current['id']} is at version {version}, not {expected}"
        )
    apply = {
        "json": apply_json_patch,
        "fhirpath": apply_fhirpath_patch,
        "merge": apply_merge_patch,
    }[kind]
    patched = apply(current, document)
    refuse_dangling(tx, patched)
    # Written only over the version patched: a concurrent change is a 412, not lost.
    return tx.update(patched, if_match=version).resource


@router.patch("/{resource_type}")
async def conditional_patch(
    request: Request,
    resource_type: str,
    _user: Annotated[User, Depends(authorized("write"))],
    if_match: Annotated[str | None, Header()] = None,
):
    """PATCH Type?criteria: the one match patched; none is 404, more is 412."""
    kind, document = await _patch_document(request)
    query = _query(request)
    with _repo(request).transaction() as tx:
        ids = tx.matching_ids(_known(resource_type), query, limit=2)
        if not ids:
            raise NotFound(f"no {resource_type} matches '{query}'")
        if len(ids) > 1:
            raise AmbiguousMatch(f"'{query}' matches more than one {resource_type}")
        res = _patched(tx, tx.read(resource_type, ids[0]), kind, document, if_match)
    return _written(request, res, 200, "patched")


@router.post("/{resource_type}/$validate")
async def validate_type(
    request: Request, resource_type: str, _user: Annotated[User, Depends(authorized("write"))]
):
    """$validate for a create (or, with mode=update and an id, an update)."""
    resource, mode = await _validate_input(request, _known(resource_type))
    if mode not in ("create", "update"):
        raise BadRequest(f"mode {mode!r} needs an instance: POST {resource_type}/[id]/$validate")
    if resource is None:
        raise BadRequest("$validate needs the resource (the body, or a 'resource' parameter)")
    return FHIRResponse(_validation_outcome(resource_type, resource, mode, None))


@router.post("/{resource_type}/{resource_id}/$validate")
async def validate_instance(
    request: Request,
    resource_type: str,
    resource_id: str,
    _user: Annotated[User, Depends(authorized("write"))],
):
    """$validate for an update or delete of this resource (mode update is the default)."""
    resource_id = _known_id(resource_type, resource_id)
    resource, mode = await _validate_input(request, _known(resource_type), default="update")
    repo = _repo(request)
    with repo.reading() as tx:
        tx.read(resource_type, resource_id)  # 404/410 as for a read; hidden reads as absent
        referrers = referencing(tx, resource_type, resource_id) if mode == "delete" else []
    if mode == "delete":
        issues = [
            _issue("information", "informational", f"{resource_type}/{resource_id} can be deleted")
        ]
        if referrers:
            text = f"{len(referrers)} resource(s) refer to it and would be left with a reference to a deleted resource"
            issues.insert(0, _issue("warning", "business-rule", text))
        return FHIRResponse({"resourceType": "OperationOutcome", "issue": issues})
    if resource is None:
        raise BadRequest("$validate needs the resource (the body, or a 'resource' parameter)")
    return FHIRResponse(_validation_outcome(resource_type, resource, mode, resource_id))


async def _validate_input(
    request: Request, resource_type: str, default: str = "create"
) -> tuple[dict | None, str]:
    """The resource and mode from the body: the resource itself, or Parameters with
    `resource`, `mode` and `profile` (only the base R4 profile is checked)."""
    raw = await request.body()
    mode = request.query_params.get("mode", default)
    if not raw.strip():
        return None, mode
    body = await fhir_resource(request)
    if body.get("resourceType") != "Parameters" or resource_type == "Parameters":
        return body, mode
    resource = None
    for parameter in body.get("parameter", []):
        name = parameter.get("name") if isinstance(parameter, dict) else None
        if name == "resource":
            resource = parameter.get("resource")
        elif name == "mode":
            mode = parameter.get("valueCode", mode)
        elif name == "profile":
            profile = parameter.get("valueUri") or parameter.get("valueCanonical")
            base = f"http://hl7.org/fhir/StructureDefinition/{resource_type}"
            if profile != base:
                raise BadRequest(f"profile {profile!r} is not supported; only {base}")
    return resource, mode


def _issue(severity: str, code: str, text: str, path: str = "") -> dict:
    issue = {"severity": severity, "code": code, "diagnostics": text}
    if path:
        issue["expression"] = [path]
    return issue


def _validation_outcome(
    resource_type: str, resource: object, mode: str, resource_id: str | None
) -> dict:
    """Every problem as an issue; 200 whether or not the resource is valid (the
    operation worked; the outcome says what it found)."""
    issues: list[dict] = []
    if not isinstance(resource, dict) or resource.get("resourceType") != resource_type:
        found = resource.get("resourceType") if isinstance(resource, dict) else None
        issues.append(_issue("error", "structure", f"expected a {resource_type}, got {found!r}"))
    else:
        if mode == "update" and resource.get("id") != resource_id:
            text = f"an update needs the id {resource_id!r} in the resource; it has {resource.get('id')!r}"
            issues.append(_issue("error", "required", text, f"{resource_type}.id"))
        try:
            validate(resource)
        except InvalidResource as exc:
            issues += [_issue("error", exc.code, i.problem, i.path) for i in exc.issues]
        else:  # valid: what the R4 rules only advise (dom-6, a narrative) as warnings
            issues += [
                _issue("warning", p.code, f"{p.text} [{p.rule}]", p.path)
                for p in check_rules(resource, warnings=True)
                if p.severity != "error"
            ]
    if not any(i["severity"] == "error" for i in issues):
        issues.insert(0, _issue("information", "informational", "no errors found"))
    return {"resourceType": "OperationOutcome", "issue": issues}


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
    return conditional_read(request, _repo(request).read(_known(resource_type), resource_id))


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
    created = result.outcome == "created"
    return _written(request, result.resource, 201 if created else 200, result.outcome)


@router.patch("/{resource_type}/{resource_id}")
async def patch(
    request: Request,
    resource_type: str,
    resource_id: str,
    _user: Annotated[User, Depends(authorized("write"))],
    if_match: Annotated[str | None, Header()] = None,
):
    """JSON Patch or FHIRPath Patch of one resource, as a new version."""
    resource_id = _known_id(resource_type, resource_id)
    kind, document = await _patch_document(request)
    with _repo(request).transaction() as tx:
        current = tx.read(_known(resource_type), resource_id)  # hidden: 404 as if absent
        res = _patched(tx, current, kind, document, if_match)
    return _written(request, res, 200, "patched")


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
    narrowed = any(k in request.query_params for k in ("_offset", "_since", "_at"))
    if not bundle["entry"] and not narrowed:
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
    res = _repo(request).vread(
        _known(resource_type), _known_id(resource_type, resource_id), version
    )
    return conditional_read(request, res)


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
    params = [(k, v) for k, v in params if k not in _FORMAT_PARAMS]
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


def _history_instant(name: str, value: str) -> tuple[str, str]:
    """A _since/_at value (an R4 date, dateTime or instant) as the first and last
    instants it covers, in the store's form."""
    try:
        start, end = sp.parse_date_range(value)
    except ValueError as exc:
        raise InvalidSearch(f"{name}: {exc}") from None
    return start + "Z", end + "Z"


def _history_bundle(request: Request, resource_type: str | None, resource_id: str | None) -> dict:
    """A page of versions, newest first: `_count` per page (at most 1000), `_since`
    (written from then on), `_at` (current at some point in that time), and a next link
    while more remain (http.html#history)."""
    params = dict(request.query_params)
    unknown = set(params) - {"_count", "_offset", "_since", "_at", *_FORMAT_PARAMS}
    if unknown:
        raise InvalidSearch(
            f"_history does not take {', '.join(sorted(unknown))}; it takes _count, _since, _at"
        )
    count = min(whole_number(params.get("_count", "100"), "_count", error=InvalidSearch), 1000)
    offset = whole_number(params.get("_offset", "0"), "_offset", error=InvalidSearch)
    since = _history_instant("_since", params["_since"])[0] if params.get("_since") else None
    at = _history_instant("_at", params["_at"]) if params.get("_at") else None
    versions = _repo(request).history(
        resource_type, resource_id, since=since, at=at, count=count + 1, offset=offset
    )
    more = len(versions) > count
    versions = versions[:count]
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
    path = "/".join(p for p in (base, resource_type, resource_id, "_history") if p)
    kept = [(k, v) for k, v in params.items() if k in ("_since", "_at")]

    def url(start: int) -> str:
        return f"{path}?{urlencode([*kept, ('_count', count), ('_offset', start)])}"

    links = [{"relation": "self", "url": url(offset)}]
    if offset > 0:
        links.append({"relation": "previous", "url": url(max(0, offset - count))})
    if more:
        links.append({"relation": "next", "url": url(offset + count)})
    bundle = {"resourceType": "Bundle", "type": "history", "link": links, "entry": entries}
    if not more and offset == 0:  # the whole history is on this page: its size is known
        bundle["total"] = len(entries)
    return bundle
