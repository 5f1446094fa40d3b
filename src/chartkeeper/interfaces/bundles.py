"""FHIR bundle and NDJSON import, and NDJSON export.

Import is two steps. `prepare` (pure, run in worker processes) parses a file, validates
every resource, gives each entry its id and rewrites `urn:uuid:` references to `Type/id`.
`write_unit` (in the writing process) resolves what needs the database (conditional
references and creates, references to stored resources) and writes the unit in one
transaction: a bad bundle is reported with file, entry and path, and leaves nothing behind.

Ids are kept, as a bulk load should: a resource's own id, else the uuid of its `urn:uuid:`
fullUrl, else one derived from the file and entry. So re-importing the same files finds
every resource unchanged and writes no new versions. Bundle types: `transaction` is
all-or-nothing; `batch` entries stand alone (FHIR says so), a bad entry is reported and the
rest are written; `collection`, `searchset` and `history` are sets of resources to store;
`document` and `message` bundles are records in their own right and stored whole.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from chartkeeper.errors import (
    BadRequest,
    BundleError,
    ChartkeeperError,
    DanglingReference,
    InvalidResource,
)
from chartkeeper.fhir.references import iter_references, parse_relative, rewrite_references
from chartkeeper.fhir.validation import validate
from chartkeeper.fhir.wire import parse_json, version_from_etag
from chartkeeper.store import PutItem, Repository, Transaction
from chartkeeper.store.bulk import (
    BulkLoad,
    BulkRows,
    bulk_rows,
    inputs_key,
    store_holds_resources,
    unit_key,
)
from chartkeeper.store.engine import refresh_statistics
from chartkeeper.store.repository import StoreForm, store_form

NDJSON_CHUNK = 1000  # lines per transaction when loading NDJSON
_ID_NAMESPACE = uuid.UUID("6f1c8a52-6a55-4c43-9d0e-5b2f1c9e7a10")
ENTRY_BUNDLES = {"transaction", "batch", "collection", "searchset", "history"}


@dataclass
class Entry:
    index: int
    # PUT (create or update) | POST (create unless that id is stored already) |
    # CREATE (conditional create, ifNoneExist) | DELETE | SKIP
    method: str
    resource: dict | None
    key: tuple[str, str] | None  # (type, id) once known
    condition: str | None = None  # ifNoneExist, or the query of a conditional PUT/DELETE
    full_url: str | None = None
    # Found while preparing, so the writing process need not walk the resource again:
    targets: set[tuple[str, str]] = field(default_factory=set)  # relative references out
    conditional_refs: bool = False  # holds `Type?query` references, resolved at write time
    stored: StoreForm | None = None
    if_match: int | None = None  # request.ifMatch: the version the sender last saw
    # Set by write_unit: created | updated | unchanged | deleted | exists (conditional
    # create that matched) and the stored resource, for a transaction-response.
    outcome: str | None = None
    result: dict | None = None


@dataclass
class Unit:
    """What is written in one transaction: a bundle, a single resource or an NDJSON chunk."""

    source: str
    kind: str  # transaction | batch | collection | resource | ndjson | document | message
    entries: list[Entry] = field(default_factory=list)
    error: BundleError | None = None  # set by prepare when the unit cannot be written at all
    entry_errors: list[BundleError] = field(default_factory=list)  # batch entries refused
    reads: list[tuple[int, str]] = field(default_factory=list)  # GET entries: (index, url)


# A load that writes this many resources refreshes the planner's statistics when it ends
# (PostgreSQL would otherwise plan the next searches as if the store were still empty).
STATISTICS_AFTER = 200


@dataclass
class ImportReport:
    units: int = 0
    failed_units: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    resumed: int = 0  # units a killed bulk load had committed, skipped when it was resumed
    errors: list[BundleError] = field(default_factory=list)

    @property
    def resources(self) -> int:
        return self.created + self.updated + self.unchanged + self.deleted

    @property
    def ok(self) -> bool:
        return not self.errors


# --- finding the work -------------------------------------------------------------------


def discover(paths: Iterable[Path]) -> list[Path]:
    """Files to import, in load order: shared practitioners and organisations first."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            # A manifest (Bulk Data export, chartkeeper synth) describes files; it is not data.
            found.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.suffix in (".json", ".ndjson")
                    and p.name != "manifest.json"
                    and not p.is_dir()
                )
            )
        elif path.exists():
            found.append(path)
        else:
            raise ChartkeeperError(f"{path}: no such file or directory")
    # Synthea writes hospital and practitioner bundles that patient bundles point into.
    return sorted(found, key=lambda p: 0 if _is_shared(p) else 1)


def _is_shared(path: Path) -> bool:
    return path.name == "facility.json" or path.name.startswith(
        ("hospitalInformation", "practitionerInformation")
    )


def read_units(path: Path) -> Iterator[tuple[str, bytes, str]]:
    """(source label, raw bytes, format) for each unit a file holds; a file that cannot be
    read is one unit that fails with the reason (the rest of the import goes on)."""
    try:
        yield from _read_units(path)
    except OSError as exc:
        yield str(path), (exc.strerror or str(exc)).encode(), "unreadable"


def _read_units(path: Path) -> Iterator[tuple[str, bytes, str]]:
    if path.suffix == ".ndjson":
        with path.open("rb") as handle:
            chunk: list[bytes] = []
            first = 1
            for number, line in enumerate(handle, 1):
                chunk.append(line)
                if len(chunk) == NDJSON_CHUNK:
                    yield f"{path}:{first}-{number}", b"".join(chunk), f"ndjson:{first}"
                    chunk, first = [], number + 1
            if chunk:
                yield f"{path}:{first}-{first + len(chunk) - 1}", b"".join(chunk), f"ndjson:{first}"
    else:
        yield str(path), path.read_bytes(), "json"


# --- prepare: pure, runs in worker processes ---------------------------------------------


def prepare(source: str, raw: bytes, fmt: str) -> Unit:
    """Parse, validate and resolve in-bundle references; never touches the database."""
    if fmt == "unreadable":
        return Unit(
            source, "invalid", error=BundleError(source, None, f"cannot read: {raw.decode()}")
        )
    try:
        if fmt.startswith("ndjson"):
            return _prepare_ndjson(source, raw, int(fmt.split(":")[1]))
        return _prepare_json(source, raw)
    except BundleError as exc:
        return Unit(source, "invalid", error=exc)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        # A shape no check above foresaw: this unit fails with its reason; the import goes
        # on with the others (a bulk load must never stop on one odd file).
        reason = f"cannot be read as FHIR ({type(exc).__name__}: {exc})"
        return Unit(source, "invalid", error=BundleError(source, None, reason))


def _parse(source: str, raw: bytes, entry: int | None = None) -> object:
    try:
        return parse_json(raw, "the document")
    except BadRequest as exc:
        raise BundleError(source, entry, exc.message) from None


def _prepare_ndjson(source: str, raw: bytes, first_line: int) -> Unit:
    unit = Unit(source, "ndjson")
    for offset, line in enumerate(raw.splitlines()):
        if not line.strip():
            continue
        number = first_line + offset
        res = _parse(source, line, number)
        if not isinstance(res, dict):
            raise BundleError(source, number, "line is not a JSON object")
        _validated(source, number, res)
        unit.entries.append(
            Entry(number, "PUT", res, (res["resourceType"], _need_id(source, number, res)))
        )
    _resolve_in_bundle(unit)
    return unit


def _prepare_json(source: str, raw: bytes) -> Unit:
    return prepare_document(source, _parse(source, raw.removeprefix(b"\xef\xbb\xbf")))


def prepare_document(source: str, doc: object, *, server_ids: bool = False) -> Unit:
    """Prepare a parsed bundle or resource. `server_ids`: POST entries get new ids, as a
    FHIR server's create does (the REST API), instead of keeping theirs (a bulk load)."""
    if not isinstance(doc, dict) or "resourceType" not in doc:
        raise BundleError(source, None, "not a FHIR resource or Bundle (no resourceType)")
    kind = doc.get("type") if doc["resourceType"] == "Bundle" else "resource"
    if not isinstance(kind, str):
        kind = "resource"  # validated as a resource below, which names the bad Bundle.type
    if kind not in ENTRY_BUNDLES:
        unit = Unit(source, "resource" if kind == "resource" else str(kind))
        _validated(source, None, doc)
        rid = doc.get("id") or str(uuid.uuid5(_ID_NAMESPACE, source))
        unit.entries.append(Entry(0, "PUT", {**doc, "id": rid}, (doc["resourceType"], rid)))
        _resolve_in_bundle(unit)
        return unit
    unit = Unit(source, kind)
    raw_entries = doc.get("entry") or []
    if not isinstance(raw_entries, list):
        raise BundleError(source, None, "Bundle.entry must be a list of entries", "entry")
    for index, raw_entry in enumerate(raw_entries):
        try:
            entry = _prepare_entry(source, index, raw_entry, kind, server_ids)
        except BundleError as exc:
            if kind != "batch":
                raise
            unit.entry_errors.append(exc)
            continue
        if isinstance(entry, Entry):
            unit.entries.append(entry)
        elif entry is not None:
            unit.reads.append((index, entry))
    _resolve_in_bundle(unit)
    return unit


def _prepare_entry(
    source: str, index: int, raw_entry: object, kind: str, server_ids: bool = False
) -> Entry | str | None:
    """The entry to write, or for a GET its url, or None when there is nothing to do."""
    request, method, url, full_url = _entry_shape(source, index, raw_entry, kind)
    if method == "GET":
        return url or None  # reads answer the caller of a REST transaction
    if method == "DELETE":
        target = parse_relative(url)
        return Entry(index, "DELETE", None, target, None if target else url, full_url)
    res = raw_entry.get("resource")
    if not isinstance(res, dict):
        raise BundleError(source, index, f"{method} entry has no resource", "resource")
    _validated(source, index, res)
    rtype = res["resourceType"]
    rid = res.get("id") or _id_from(full_url) or _id_from_url(url, rtype)
    if server_ids and method == "POST":
        rid = str(uuid.uuid4())
    if method == "PUT" and url and "?" not in url:
        target = parse_relative(url)
        if target is None or target[0] != rtype:
            raise BundleError(
                source, index, f"PUT url '{url}' does not name a {rtype}", "request.url"
            )
        if res.get("id") and res["id"] != target[1]:
            raise BundleError(
                source, index, f"resource id '{res['id']}' differs from url '{url}'", "resource.id"
            )
        rid = target[1]
    rid = rid or str(uuid.uuid5(_ID_NAMESPACE, f"{source}#{index}"))
    condition = None
    if method == "POST" and request.get("ifNoneExist"):
        condition = request["ifNoneExist"]
    elif method == "PUT" and "?" in url:
        condition = url.split("?", 1)[1]
    # POST is a create: when the id is stored already (an earlier load of the same file, or
    # Synthea's practitioners repeated in every patient bundle) the stored one stands.
    entry_method = ("CREATE" if condition else "POST") if method == "POST" else "PUT"
    entry = Entry(index, entry_method, {**res, "id": rid}, (rtype, rid), condition, full_url)
    entry.if_match = _version_of(request.get("ifMatch"), source, index)
    return entry


_METHODS = ("GET", "POST", "PUT", "DELETE")


def _entry_shape(
    source: str, index: int, raw_entry: object, kind: str
) -> tuple[dict, str, str, str | None]:
    """Check an entry's shape before anything uses it: (request, method, url, fullUrl).

    R4 Bundle.entry.request is an object whose method and url are strings; a client that
    sends `"request": "x"` or a numeric url gets the entry and element named, not a crash."""
    if not isinstance(raw_entry, dict):
        raise BundleError(source, index, "entry is not an object")
    full_url = raw_entry.get("fullUrl")
    if full_url is not None and not isinstance(full_url, str):
        raise BundleError(source, index, "fullUrl must be a string", "fullUrl")
    request = raw_entry.get("request")
    if request is None:
        if kind in ("transaction", "batch"):
            raise BundleError(source, index, f"a {kind} entry needs a request", "request")
        return {}, "PUT", "", full_url
    if not isinstance(request, dict):
        raise BundleError(source, index, "request must be an object", "request")
    for name in ("url", "ifMatch", "ifNoneExist", "ifNoneMatch", "ifModifiedSince"):
        value = request.get(name)
        if value is not None and not isinstance(value, str):
            raise BundleError(source, index, f"request.{name} must be a string", f"request.{name}")
    if kind not in ("transaction", "batch"):
        return request, "PUT", request.get("url") or "", full_url
    method = request.get("method")
    if method not in _METHODS:
        shown = repr(method) if method is not None else "missing"
        raise BundleError(
            source,
            index,
            f"request.method is {shown}; expected one of {', '.join(_METHODS)}",
            "request.method",
        )
    url = request.get("url")
    if not url:
        raise BundleError(source, index, f"a {method} entry needs request.url", "request.url")
    return request, method, url, full_url


def _version_of(etag: str | None, source: str, index: int) -> int | None:
    """`W/"3"` (an ETag as FHIR writes it) or `3` -> 3."""
    if not etag:
        return None
    try:
        return version_from_etag(etag, "request.ifMatch")
    except BadRequest as exc:
        raise BundleError(source, index, exc.message, "request.ifMatch") from None


def _validated(source: str, index: int | None, res: dict) -> None:
    try:
        validate(res)
    except InvalidResource as exc:
        first = exc.issues[0] if exc.issues else None
        detail = "; ".join(str(i) for i in exc.issues[:5])
        raise BundleError(
            source, index, f"invalid {exc.resource_type}: {detail}", first.path if first else ""
        ) from None


def _need_id(source: str, index: int, res: dict) -> str:
    if not res.get("id"):
        raise BundleError(source, index, "NDJSON resource has no id", "id")
    return res["id"]


def _id_from(full_url: str | None) -> str | None:
    if full_url and full_url.startswith("urn:uuid:"):
        return full_url[9:]
    target = parse_relative(full_url) if full_url else None
    return target[1] if target else None


def _id_from_url(url: str, rtype: str) -> str | None:
    target = parse_relative(url) if url and "?" not in url else None
    return target[1] if target and target[0] == rtype else None


def _resolve_in_bundle(unit: Unit) -> None:
    """Point references at fullUrls (`urn:uuid:…` or absolute) to the entry's `Type/id`,
    and note each entry's references out of the unit, in one walk of each resource."""
    by_url = {e.full_url: f"{e.key[0]}/{e.key[1]}" for e in unit.entries if e.full_url and e.key}
    here = {e.key for e in unit.entries if e.key and e.method != "DELETE"}
    for entry in unit.entries:
        if entry.resource is None:
            continue
        dangling: list[str] = []

        def replace(ref: str, entry: Entry = entry, dangling: list[str] = dangling) -> str | None:
            if ref in by_url:
                return by_url[ref]
            if ref.startswith(("urn:uuid:", "urn:oid:")):
                dangling.append(ref)
            elif "?" in ref and not ref.startswith(("http:", "https:")):
                entry.conditional_refs = True
            elif not ref.startswith(("http:", "https:", "#")):
                target = parse_relative(ref)
                if target and target not in here:
                    entry.targets.add(target)
            return None

        rewrite_references(entry.resource, replace)
        if dangling:
            raise BundleError(
                unit.source,
                entry.index,
                f"reference '{dangling[0]}' points to no entry in the bundle",
                _path_of(entry.resource, dangling[0]),
            )
        if not entry.conditional_refs and entry.method != "DELETE":
            entry.stored = store_form(entry.resource)


def _path_of(res: dict, reference: str) -> str:
    path = next((p for p, r in iter_references(res) if r == reference), "")
    return f"resource.{path}" if path else "resource"


# --- write: one transaction per unit ------------------------------------------------------


def write_unit(
    repo: Repository,
    unit: Unit,
    *,
    check_references: bool = True,
    known: frozenset[tuple[str, str]] = frozenset(),
) -> ImportReport:
    """Write one prepared unit in one transaction and report what happened. `known`:
    resources the rest of this import declares, accepted as reference targets."""
    report = ImportReport(units=1, errors=list(unit.entry_errors))
    if unit.error:
        report.failed_units, report.errors = 1, [unit.error]
        return report
    try:
        with repo.transaction() as tx:
            _write_entries(tx, unit, report, check_references, known)
    except BundleError as exc:
        report = ImportReport(units=1, failed_units=1, errors=[exc])
    except ChartkeeperError as exc:
        error = BundleError(unit.source, None, str(exc))
        error.cause = exc  # the REST API answers with the underlying status (409, 412…)
        report = ImportReport(units=1, failed_units=1, errors=[error])
    return report


def _write_entries(
    tx: Transaction,
    unit: Unit,
    report: ImportReport,
    check: bool,
    known: frozenset[tuple[str, str]] = frozenset(),
) -> None:
    _resolve_conditions(tx, unit)
    if check:
        _check_targets(tx, unit, known)
    for entry in unit.entries:
        if entry.method == "DELETE" and entry.key:
            entry.outcome = "deleted" if tx.delete(*entry.key, if_match=entry.if_match) else None
            report.deleted += entry.outcome is not None
        elif entry.method == "SKIP":
            entry.outcome = "exists"
    creates = [e.key for e in unit.entries if e.method == "POST" and e.key]
    present = tx.live_keys(creates) if creates else set()
    writes = [
        e
        for e in unit.entries
        if e.resource and (e.method == "PUT" or (e.method == "POST" and e.key not in present))
    ]
    for entry in unit.entries:
        if entry.method == "POST" and entry.key in present:
            entry.outcome = "unchanged"
            report.unchanged += 1
    items = [PutItem(e.resource, if_match=e.if_match, stored=e.stored) for e in writes]
    for entry, result in zip(writes, tx.put_many(items, validated=True), strict=True):
        entry.outcome, entry.result = result.outcome, result.resource
        setattr(report, result.outcome, getattr(report, result.outcome) + 1)


def _resolve_conditions(tx: Transaction, unit: Unit) -> None:
    """Conditional creates, updates and deletes, and `Type?query` references."""
    renamed: dict[str, str] = {}
    for entry in unit.entries:
        if not entry.condition:
            continue
        rtype = entry.key[0] if entry.key else entry.condition.split("?")[0]
        query = entry.condition.split("?", 1)[-1]
        matches = _matches(tx, unit, entry.index, rtype, query)
        if len(matches) > 1:
            raise BundleError(
                unit.source,
                entry.index,
                f"condition '{query}' matches {len(matches)} {rtype}s",
                "request",
            )
        if entry.method == "DELETE":
            entry.key = (rtype, matches[0]) if matches else None
        elif matches:
            old = f"{entry.key[0]}/{entry.key[1]}"
            renamed[old] = f"{rtype}/{matches[0]}"
            if entry.method == "CREATE":  # it exists already: nothing to create
                entry.method, entry.resource = "SKIP", None
                entry.key = (rtype, matches[0])
            else:
                entry.key = (rtype, matches[0])
                entry.resource = {**entry.resource, "id": matches[0]}
        elif entry.method == "CREATE":
            entry.method = "PUT"
    for entry in unit.entries:
        if entry.resource is not None and (entry.conditional_refs or renamed):
            changed = rewrite_references(
                entry.resource, lambda ref, e=entry: _conditional_ref(tx, unit, e, ref, renamed)
            )
            if changed or entry.conditional_refs:
                entry.stored = None  # the content changed: the store computes its form afresh


def _conditional_ref(tx: Transaction, unit: Unit, entry: Entry, ref: str, renamed: dict[str, str]):
    if ref in renamed:
        return renamed[ref]
    if "?" not in ref or ref.startswith(("http:", "https:")):
        return None
    rtype, query = ref.split("?", 1)
    matches = _matches(tx, unit, entry.index, rtype, query)
    if len(matches) != 1:
        raise BundleError(
            unit.source,
            entry.index,
            f"conditional reference '{ref}' matches {len(matches)} resources",
            "resource",
        )
    return f"{rtype}/{matches[0]}"


def _matches(tx: Transaction, unit: Unit, index: int, rtype: str, query: str) -> list[str]:
    try:
        return tx.matching_ids(rtype, query)
    except ChartkeeperError as exc:
        raise BundleError(
            unit.source, index, f"cannot evaluate condition '{query}': {exc}", "request"
        ) from None


def _check_targets(
    tx: Transaction, unit: Unit, known: frozenset[tuple[str, str]] = frozenset()
) -> None:
    """Every relative reference must name an entry of this unit, a stored resource or one
    the rest of the import declares (`known`, checked again when the import ends)."""
    wanted: dict[tuple[str, str], Entry] = {}
    for entry in unit.entries:
        for target in entry.targets:
            if target not in known:
                wanted.setdefault(target, entry)
    missing = sorted(set(wanted) - tx.live_keys(wanted)) if wanted else []
    if missing:
        rtype, rid = missing[0]
        entry = wanted[missing[0]]
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise DanglingReference(
            unit.source,
            entry.index,
            f"reference '{rtype}/{rid}' points to nothing in the bundle or the store{more}",
            _path_of(entry.resource or {}, f"{rtype}/{rid}"),
        )


def refuse_dangling(tx: Transaction, res: dict) -> None:
    """The REST API's single-resource writes refuse, as import does, a relative reference
    to a resource that is not stored (a reference to the resource itself is fine)."""
    own = (res.get("resourceType"), res.get("id"))
    targets: dict[tuple[str, str], str] = {}
    for path, ref in iter_references(res):
        if ref.startswith(("http:", "https:", "#", "urn:")) or "?" in ref:
            continue
        target = parse_relative(ref)
        if target and target != own:
            targets.setdefault(target, path)
    missing = sorted(set(targets) - tx.live_keys(targets))
    if missing:
        rtype, rid = missing[0]
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise DanglingReference(
            f"{own[0]}/{own[1] or '(new)'}",
            None,
            f"reference '{rtype}/{rid}' points to nothing in the store{more}",
            targets[missing[0]],
        )


# --- driving a whole import ---------------------------------------------------------------

WorkItem = tuple[str, bytes, str]  # (source label, raw bytes, format), as read_units yields


def import_paths(
    repo: Repository,
    paths: Iterable[Path],
    *,
    workers: int = 0,
    check_references: bool = True,
    on_unit: Callable[[ImportReport], None] | None = None,
    bulk: bool | None = False,
    bulk_batch: int = 20000,
) -> ImportReport:
    """Import files and directories; each unit in its own transaction.

    Shared bundles (practitioners, organisations) go first. With `workers` > 0 the rest
    are imported by that many processes, each preparing and writing whole units: the
    database serialises the commits while preparation overlaps, and no parsed resource
    has to cross a process boundary. Units whose only fault is a reference to something
    not loaded yet (files in the wrong order, or a race between workers) are retried
    once the rest are in. References across files that form a cycle (an export's
    Encounter.ndjson and Condition.ndjson point into each other) have no order that
    works: those units are then written accepting targets the import itself declares,
    and when the import ends every such target is checked to be stored.

    `bulk`: load in bulk (see _bulk_import; None: when the store holds no resource yet),
    about `bulk_batch` resources per transaction.
    """
    files = discover(paths)
    if bulk is None:
        bulk = not store_holds_resources(repo)
    total = ImportReport()
    deferred: list[WorkItem] = []

    def record(item: WorkItem, report: ImportReport, *, final: bool = False) -> None:
        if not final and check_references and report.errors and _only_dangling(report):
            deferred.append(item)
            return
        _add(total, report)
        if on_unit:
            on_unit(report)

    shared = [f for f in files if _is_shared(f)]
    for item in (u for f in shared for u in read_units(f)):
        record(item, _import_one(repo, item, check_references))
    rest = (u for f in files if not _is_shared(f) for u in read_units(f))
    if bulk:
        load = BulkLoad(repo, inputs_key(str(f.resolve()) for f in files))
        _bulk_import(repo, load, rest, workers, check_references, bulk_batch, record, total)
    else:
        load = None
        for item, report in _imported(repo, rest, workers, check_references):
            record(item, report)
    known: frozenset[tuple[str, str]] = frozenset()
    promised: dict[tuple[str, str], str] = {}  # target accepted on promise -> unit source
    on_promise = False
    while deferred:
        retry, deferred = deferred, []
        for item in retry:
            unit = prepare(*item)
            report = write_unit(repo, unit, check_references=check_references, known=known)
            if known and report.ok:
                promised.update(
                    (t, unit.source) for e in unit.entries for t in e.targets if t in known
                )
            record(item, report)
        if len(deferred) == len(retry):
            if not on_promise:  # no order works: accept what the rest of the import declares
                # A flag, not `known`'s truth: the declared set may be empty, and testing
                # it again would retry the same units for ever.
                on_promise = True
                known = frozenset(_declared(repo, deferred))
                continue
            for item in deferred:  # no progress even so: report them as they stand
                record(item, _import_one(repo, item, check_references), final=True)
            break
    _check_promises(repo, promised, total)
    if load is not None:
        load.finish()
    if total.created + total.updated >= STATISTICS_AFTER:
        refresh_statistics(repo.engine)
    return total


# --- bulk load ---------------------------------------------------------------------------


def _bulk_able(unit: Unit) -> bool:
    """A unit the bulk path can write: plain creates and updates by id, nothing that needs
    the database to resolve (conditions, conditional references, If-Match, deletes)."""
    return not unit.entry_errors and all(
        e.method in ("PUT", "POST")
        and e.resource is not None
        and e.stored is not None
        and not e.condition
        and not e.conditional_refs
        and e.if_match is None
        for e in unit.entries
    )


# What a worker answers for one unit: its rows for the bulk path and the references that
# leave it, or None for a unit the normal path writes (or reports: it is invalid).
BulkAnswer = tuple[BulkRows, frozenset[tuple[str, str]]] | None


def _bulk_prepare(items: list[tuple[str, WorkItem]]) -> list[BulkAnswer]:
    answers: list[BulkAnswer] = []
    for key, item in items:
        unit = prepare(*item)
        if unit.error or not _bulk_able(unit):
            answers.append(None)
            continue
        rows = bulk_rows(key, [(e.resource, e.stored) for e in unit.entries])
        answers.append((rows, frozenset(t for e in unit.entries for t in e.targets)))
    return answers


def _bulk_answers(
    work: Iterator[tuple[str, WorkItem]], workers: int, chunk: int = 16
) -> Iterator[tuple[str, WorkItem, BulkAnswer]]:
    """Each unit with its worker's answer, in input order; the pool's queue is bounded."""

    def chunks() -> Iterator[list[tuple[str, WorkItem]]]:
        part: list[tuple[str, WorkItem]] = []
        for pair in work:
            part.append(pair)
            if len(part) == chunk:
                yield part
                part = []
        if part:
            yield part

    if workers <= 0:
        for part in chunks():
            for (key, item), answer in zip(part, _bulk_prepare(part), strict=True):
                yield key, item, answer
        return
    from collections import deque
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers) as pool:
        pending: deque = deque()
        for part in chunks():
            pending.append((part, pool.submit(_bulk_prepare, part)))
            while len(pending) >= workers * 3:
                done, future = pending.popleft()
                yield from ((k, i, a) for (k, i), a in zip(done, future.result(), strict=True))
        while pending:
            done, future = pending.popleft()
            yield from ((k, i, a) for (k, i), a in zip(done, future.result(), strict=True))


def _bulk_import(
    repo: Repository,
    load: BulkLoad,
    work: Iterator[WorkItem],
    workers: int,
    check: bool,
    batch_size: int,
    record: Callable[..., None],
    total: ImportReport,
) -> None:
    """The bulk path: workers prepare units into rows; this process writes them in
    batches of about `batch_size` resources (store.bulk). Units the bulk path cannot
    take go through the normal path in their turn, so the order of writes to any one
    resource is the order of the input either way. Units a resumed job committed
    already are skipped (counted in `ImportReport.resumed`)."""
    batch: list[tuple[WorkItem, BulkRows, frozenset[tuple[str, str]]]] = []
    size = 0

    def flush() -> None:
        nonlocal batch, size
        if batch:
            _bulk_flush(repo, load, batch, check, record)
        batch, size = [], 0

    def keyed() -> Iterator[tuple[str, WorkItem]]:
        for item in work:
            key = unit_key(item[0], item[1])
            if key in load.done:
                total.units += 1
                total.resumed += 1
                continue
            yield key, item

    for key, item, answer in _bulk_answers(keyed(), workers):
        if answer is None:  # written (or refused) by the normal path, after what precedes it
            flush()
            report = _import_one(repo, item, check)
            if report.ok:
                load.mark_done([key])
            record(item, report)
            continue
        batch.append((item, *answer))
        size += len(answer[0].keys)
        if size >= batch_size:
            flush()
    flush()


def _bulk_flush(
    repo: Repository,
    load: BulkLoad,
    batch: list[tuple[WorkItem, BulkRows, frozenset[tuple[str, str]]]],
    check: bool,
    record: Callable[..., None],
) -> None:
    by_key = {rows.unit: (item, rows) for item, rows, _targets in batch}
    if check:  # a unit pointing at what is neither stored nor in the batch waits (as ever)
        waiting = _dangling_units(repo, batch)
        for item, rows, _targets in batch:
            if rows.unit in waiting:
                record(item, ImportReport(units=1, failed_units=1, errors=[_dangling(item)]))
        batch = [b for b in batch if b[1].unit not in waiting]
    result = load.write([rows for _item, rows, _targets in batch])
    for key in result.written:
        item, rows = by_key[key]
        record(item, ImportReport(units=1, created=len(rows.keys)))
    for key in result.handed_back:
        item, _rows = by_key[key]
        report = _import_one(repo, item, check)
        if report.ok:
            load.mark_done([key])
        record(item, report)


def _dangling_units(
    repo: Repository, batch: list[tuple[WorkItem, BulkRows, frozenset[tuple[str, str]]]]
) -> set[str]:
    """Units of a batch with a reference to a resource neither stored nor written by a
    unit of the batch that can itself be written."""
    wanted = set().union(*(targets for _i, _r, targets in batch))
    in_batch = {k for _i, rows, _t in batch for k in rows.keys}
    outside = wanted - in_batch
    if outside:
        with repo.reading() as tx:
            live = tx.live_keys(outside)
    else:
        live = set()
    waiting: set[str] = set()
    while True:
        keys = {k for _i, rows, _t in batch if rows.unit not in waiting for k in rows.keys}
        more = {
            rows.unit
            for _i, rows, targets in batch
            if rows.unit not in waiting and targets - keys - live
        }
        if not more:
            return waiting
        waiting |= more


def _dangling(item: WorkItem) -> DanglingReference:
    """Placeholder error that sends a unit to the retry queue (it is prepared and
    checked again there, and any lasting error is reported by the normal path)."""
    return DanglingReference(item[0], None, "a reference waits for a later unit")


def _declared(repo: Repository, items: list[WorkItem]) -> set[tuple[str, str]]:
    """The (type, id) of every resource these units would write, leaving out units that
    point at something neither stored nor declared (and, in turn, units that need
    those): a unit is only written on the promise of units that can themselves be."""
    units = [prepare(*item) for item in items]
    keys = [{e.key for e in u.entries if e.key and e.resource} for u in units]
    targets = [{t for e in u.entries for t in e.targets} for u in units]
    with repo.reading() as tx:
        live = tx.live_keys(set().union(*targets))
    able = set(range(len(units)))
    while True:
        declared = set().union(*(keys[i] for i in able))
        unable = {i for i in able if targets[i] - live - declared}
        if not unable:
            return declared
        able -= unable


def _check_promises(
    repo: Repository, promised: dict[tuple[str, str], str], total: ImportReport
) -> None:
    """A unit written on the promise of a target elsewhere in the import: if that target's
    own unit failed after all, say so (the unit is stored; its reference dangles)."""
    if not promised:
        return
    with repo.reading() as tx:
        missing = sorted(set(promised) - tx.live_keys(promised))
    for rtype, rid in missing:
        total.errors.append(
            DanglingReference(
                promised[(rtype, rid)],
                None,
                f"reference '{rtype}/{rid}' was to be imported from another file, which failed",
            )
        )


def _import_one(repo: Repository, item: WorkItem, check_references: bool) -> ImportReport:
    return write_unit(repo, prepare(*item), check_references=check_references)


def _only_dangling(report: ImportReport) -> bool:
    return all(isinstance(e, DanglingReference) for e in report.errors)


def _add(total: ImportReport, report: ImportReport) -> None:
    for name in ("units", "failed_units", "created", "updated", "unchanged", "deleted", "resumed"):
        setattr(total, name, getattr(total, name) + getattr(report, name))
    total.errors.extend(report.errors)


def _imported(
    repo: Repository, work: Iterator[WorkItem], workers: int, check: bool
) -> Iterator[tuple[WorkItem, ImportReport]]:
    if workers <= 0:
        for item in work:
            yield item, _import_one(repo, item, check)
        return
    import multiprocessing
    from collections import deque
    from concurrent.futures import ProcessPoolExecutor

    url = repo.engine.url.render_as_string(hide_password=False)
    # SQLite has one writer at a time and its busy handler polls with sleeps of up to
    # 100 ms; a lock of our own hands the database over the moment a commit ends.
    lock = multiprocessing.Lock() if repo.engine.dialect.name == "sqlite" else None
    with ProcessPoolExecutor(workers, initializer=_start_worker, initargs=(url, lock)) as pool:
        pending: deque = deque()  # bounded, so a million files never sit in memory at once
        for item in work:
            pending.append((item, pool.submit(_worker_import, item, check)))
            if len(pending) >= workers * 4:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()


_worker_repo: Repository | None = None
_write_lock = None


def _start_worker(url: str, lock) -> None:
    global _worker_repo, _write_lock
    from chartkeeper.store.engine import make_engine

    _worker_repo, _write_lock = Repository(make_engine(url)), lock


def _worker_import(item: WorkItem, check: bool) -> ImportReport:
    assert _worker_repo is not None, "worker started without a store"
    unit = prepare(*item)
    if _write_lock is None:
        return write_unit(_worker_repo, unit, check_references=check)
    with _write_lock:
        return write_unit(_worker_repo, unit, check_references=check)
