"""FHIR REST transaction and batch bundles (https://hl7.org/fhir/R4/http.html#transaction).

A transaction is all-or-nothing in one database transaction; a batch runs each entry on
its own and reports each outcome. Creates get server-assigned ids. Both answer with a
`transaction-response` / `batch-response` Bundle whose entries say status, location and
ETag in request order. The same prepare/write steps as bulk import do the work.
"""

from __future__ import annotations

from collections.abc import Callable

from chartkeeper.errors import BadRequest, BundleError, ChartkeeperError
from chartkeeper.fhir.outcome import operation_outcome
from chartkeeper.interfaces.bundles import Entry, Unit, prepare_document, write_unit
from chartkeeper.store import Repository

_STATUS = {
    "created": "201 Created",
    "updated": "200 OK",
    "unchanged": "200 OK",
    "exists": "200 OK",
    "deleted": "204 No Content",
    None: "204 No Content",  # a delete of something already gone
}


class BundleFailure(ChartkeeperError):
    """A transaction that was refused as a whole; carries the status the cause implies."""

    def __init__(self, error: BundleError):
        cause = error.cause
        super().__init__(str(error), error.issues)
        self.code = cause.code if cause else error.code
        self.http_status = cause.http_status if cause else 400


def process_bundle(
    repo: Repository,
    bundle: dict,
    *,
    read: Callable[[str], dict],
) -> dict:
    """Run a transaction or batch Bundle through `repo` (guarded for the caller, so each
    entry is checked and audited there); `read(url)` answers a GET entry as the API would."""
    kind = bundle.get("type") if isinstance(bundle, dict) else None
    if kind not in ("transaction", "batch"):
        raise BadRequest(f"POST to the base takes a transaction or batch Bundle, not {kind!r}")
    unit = prepare_document("Bundle", bundle, server_ids=True)
    if unit.error:
        raise BundleFailure(unit.error)
    if kind == "transaction":
        return _transaction(repo, unit, read)
    return _batch(repo, unit, bundle, read)


def _transaction(repo: Repository, unit: Unit, read: Callable[[str], dict]) -> dict:
    report = write_unit(repo, unit, check_references=True)
    if report.errors:
        raise BundleFailure(report.errors[0])
    responses = {e.index: _response(e) for e in unit.entries}
    for index, url in unit.reads:
        responses[index] = {"resource": read(url), "response": {"status": "200 OK"}}
    return _response_bundle("transaction-response", responses)


def _batch(repo: Repository, unit: Unit, bundle: dict, read: Callable[[str], dict]) -> dict:
    responses: dict[int, dict] = {}
    for error in unit.entry_errors:
        responses[error.entry] = _failure(error, 400)
    for entry in unit.entries:
        report = write_unit(repo, Unit(unit.source, "batch", [entry]), check_references=True)
        if report.errors:
            cause = report.errors[0].cause
            responses[entry.index] = _failure(report.errors[0], cause.http_status if cause else 400)
        else:
            responses[entry.index] = _response(entry)
    for index, url in unit.reads:
        try:
            responses[index] = {"resource": read(url), "response": {"status": "200 OK"}}
        except ChartkeeperError as exc:
            responses[index] = _failure(exc, exc.http_status)
    return _response_bundle("batch-response", responses)


def _response(entry: Entry) -> dict:
    answer: dict = {"status": _STATUS.get(entry.outcome, "200 OK")}
    res = entry.result
    if res is not None:
        version = res["meta"]["versionId"]
        answer |= {
            "location": f"{res['resourceType']}/{res['id']}/_history/{version}",
            "etag": f'W/"{version}"',
            "lastModified": res["meta"]["lastUpdated"],
        }
        return {
            "fullUrl": f"{res['resourceType']}/{res['id']}",
            "resource": res,
            "response": answer,
        }
    if entry.outcome == "exists" and entry.key:
        answer["location"] = f"{entry.key[0]}/{entry.key[1]}"
    return {"response": answer}


def _failure(error: ChartkeeperError, status: int) -> dict:
    return {
        "response": {
            "status": str(status),
            "outcome": operation_outcome(error.code, str(error), error.issues),
        }
    }


def _response_bundle(kind: str, responses: dict[int, dict]) -> dict:
    return {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [responses[i] for i in sorted(responses)],
    }
